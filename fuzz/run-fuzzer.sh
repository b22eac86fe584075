#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-fuzzer.sh FUZZER SEED_DIR SECONDS ARTIFACT_DIR [DICT]
# One bounded libFuzzer run (the meson test of suite 'fuzz'): the seeds are
# copied to a temporary corpus so that the source tree is never written, and
# the reproducer of a crash, leak or timeout is kept as
# ARTIFACT_DIR/<fuzzer>-crash-<sha1> (or -leak-, -timeout-).
set -eu

[ $# -ge 4 ] || { echo "usage: $0 FUZZER SEED_DIR SECONDS ARTIFACT_DIR [DICT]" >&2; exit 2; }
fuzzer=$1 seeds=$2 seconds=$3 artifacts=$4 dict=${5:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/filelesslock-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/corpus" "$artifacts"
cp -R "$seeds"/. "$tmp/corpus/"

# libFuzzer's own exit status for a finding is 77, which meson reads as
# "skipped": make every finding a failure.
set -- -max_total_time="$seconds" -timeout=5 -print_final_stats=1 \
       -error_exitcode=1 -timeout_exitcode=1 \
       -artifact_prefix="$artifacts/$(basename "$fuzzer")-"
[ -n "$dict" ] && set -- "$@" -dict="$dict"

rc=0
"$fuzzer" "$@" "$tmp/corpus" || rc=$?
exit $rc
