#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Lints man pages with mandoc and groff, printing TAP: two tests per page.
# A test fails when its tool exits non-zero or prints anything at all.
# Usage: lint-man.sh PAGE...
set -uo pipefail

export LC_ALL=C.UTF-8

if (($# == 0)); then
    echo "usage: $0 PAGE..." >&2
    exit 2
fi

echo "1..$(($# * 2))"
n=0
failed=0

# check DESCRIPTION COMMAND...: one TAP line for COMMAND's combined output and status.
check() {
    local desc=$1 out rc
    shift
    n=$((n + 1))
    out=$("$@" 2>&1)
    rc=$?
    if ((rc == 0)) && [[ -z $out ]]; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        [[ -n $out ]] && sed 's/^/# /' <<<"$out"
        echo "# exit status $rc"
        failed=$((failed + 1))
    fi
}

for page in "$@"; do
    name=$(basename "$page")
    if command -v mandoc >/dev/null; then
        check "mandoc lint $name" mandoc -Tlint -W warning "$page"
    else
        check "mandoc lint $name" sh -c 'echo "mandoc not found (apt-get install mandoc)"; exit 127'
    fi
    if command -v groff >/dev/null; then
        check "groff lint $name" groff -man -ww -z "$page"
    else
        check "groff lint $name" sh -c 'echo "groff not found (apt-get install groff-base)"; exit 127'
    fi
done

((failed == 0))
