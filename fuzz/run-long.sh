#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Long fuzzing runs, one target after the other, with a corpus that persists
# between runs (seeded from fuzz/corpus/ on first use).
#
#   fuzz/run-long.sh [-t SECONDS] [-b BUILD_DIR] [-w WORK_DIR] [TARGET...] [-- LIBFUZZER_ARGS...]
#
#   -t  seconds per target (default 600)
#   -b  a build directory set up with -Dfuzzers=true (default build-fuzz,
#       relative to the source root); it is set up with CC=clang if missing
#   -w  where corpora, reproducers and logs go (default /var/tmp/filelesslock-fuzz)
#   TARGET  any of the fuzz-* targets (default all)
#
# Ends with one line per target: executions per second, coverage (libFuzzer's
# cov: and ft:), corpus size and the outcome; the exit status is 1 when any
# target found something. A finding's reproducer is WORK_DIR/artifacts/TARGET-*;
# replay it with BUILD_DIR/fuzz/TARGET FILE.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
seconds=600
build='build-fuzz'
work=/var/tmp/filelesslock-fuzz
all=(fuzz-conf fuzz-profile fuzz-escape fuzz-event-fields fuzz-dbus-event fuzz-ratelimit)
targets=()
extra=()

usage() {
    sed -n '3,17s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case $1 in
        -t) seconds=${2:?}; shift 2 ;;
        -b) build=${2:?}; shift 2 ;;
        -w) work=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        --) shift; extra=("$@"); break ;;
        -*) usage ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
[[ $seconds =~ ^[0-9]+$ ]] || usage
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target $t (known: ${all[*]})" >&2; exit 2; }
done

cd "$src"
if [[ ! -f $build/build.ninja ]]; then
    CC=clang meson setup "$build" -Dfuzzers=true -Dtests=false
fi
ninja -C "$build" "${targets[@]/#/fuzz/}"

mkdir -p "$work/artifacts" "$work/logs"
summary=()
rc=0
for t in "${targets[@]}"; do
    corpus=$work/corpus/$t
    log=$work/logs/$t.log
    mkdir -p "$corpus"
    cp -Rn "fuzz/corpus/$t/." "$corpus/"
    args=(-max_total_time="$seconds" -timeout=5 -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1
          -artifact_prefix="$work/artifacts/$t-")
    [[ -f fuzz/dict/$t.dict ]] && args+=(-dict="fuzz/dict/$t.dict")

    echo "== $t: $seconds s, corpus $corpus, log $log"
    outcome=ok
    "$build/fuzz/$t" "${args[@]}" "${extra[@]}" "$corpus" >"$log" 2>&1 || { outcome="FOUND SOMETHING (exit $?)"; rc=1; }

    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1 || true)
    if [[ $outcome != ok ]]; then
        grep -m1 -E 'INVARIANT VIOLATED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" >&2 || true
        # shellcheck disable=SC2012 # libFuzzer names them TARGET-KIND-<sha1>
        outcome+=": $(ls -t "$work/artifacts/$t-"* 2>/dev/null | head -n 1)"
    fi
    summary+=("$(printf '%-18s %8s exec/s  %-40s %s' "$t" "${execs:-?}" "${cov:-?}" "$outcome")")
done

echo
printf '%s\n' "${summary[@]}"
exit $rc
