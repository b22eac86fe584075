#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs last in the sanitizer build's test run: every process of the earlier
# tests (the daemon above all) wrote its AddressSanitizer, LeakSanitizer or
# UndefinedBehaviorSanitizer reports into DIR (ASAN_OPTIONS and UBSAN_OPTIONS
# log_path=, set by tools/run-tests.sh). None may have written anything.
dir=${1:?usage: check-sanitizer-logs.sh DIR}
echo "1..2"
if [ -d "$dir" ]; then
    echo "ok 1 - the sanitizer log directory $dir exists"
else
    echo "not ok 1 - the sanitizer log directory $dir exists (was ASAN_OPTIONS log_path set?)"
fi
reports=$(find "$dir" -type f 2>/dev/null | sort)
if [ -z "$reports" ]; then
    echo "ok 2 - no sanitizer report from any process"
    exit 0
fi
echo "not ok 2 - no sanitizer report from any process"
for f in $reports; do
    echo "# $f:"
    head -n 40 "$f" | sed 's/^/#   /'
done
exit 1
