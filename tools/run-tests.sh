#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds filelesslock and runs every test tier: unit tests, the host
# end-to-end tests (tracepoint backend, real kernel), the integration tier
# (systemd booted in a namespace) and the qemu tier (lsm, fmod_ret and
# tracepoint backends on Debian's 6.1 and a 6.12 kernel in guests). Ends with
# "N passed, N failed", counting every TAP subtest and every plain test; the
# line before it counts the skips, each of which names the tier covering it.
#
#   tools/run-tests.sh [MESON TEST ARGS...]   e.g. host-dbus-persistence, --suite host-dbus
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh --tests

# Debian's layout (/usr, /etc): the integration tier installs this build into
# a DESTDIR and boots systemd on it.
opts=(--prefix=/usr)
[[ ${CI:-} == true ]] && opts+=(-Dwerror=true)
if [[ -d build-tests ]]; then
    meson setup --reconfigure build-tests "${opts[@]}" >/dev/null
else
    meson setup build-tests "${opts[@]}" >/dev/null
fi
ninja -C build-tests

# Fetch the guest kernel before the clock of the first vm test starts.
tests/vm/vm-run.sh --setup-only >/dev/null

rc=0
meson test -C build-tests --print-errorlogs "$@" || rc=$?

# The unit and host tiers again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer; every process's reports go to one directory,
# which the last test (sanitizer-reports) requires to be empty.
if (($# == 0)); then
    if [[ -d build-asan ]]; then
        meson setup --reconfigure build-asan "${opts[@]}" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
    else
        meson setup build-asan "${opts[@]}" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
    fi
    ninja -C build-asan
    rm -rf build-asan/sanitizer-logs && mkdir -p build-asan/sanitizer-logs
    san_logs=$PWD/build-asan/sanitizer-logs
    ASAN_OPTIONS=log_path=$san_logs/asan:detect_leaks=1 \
    UBSAN_OPTIONS=log_path=$san_logs/ubsan:print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --suite unit --suite host || rc=$?

    # The libFuzzer targets (clang), each for a bounded time from its seeds;
    # fuzz/run-long.sh runs them longer.
    if [[ -d build-fuzz ]]; then
        CC=clang meson setup --reconfigure build-fuzz "${opts[@]}" -Dfuzzers=true -Dtests=false >/dev/null
    else
        CC=clang meson setup build-fuzz "${opts[@]}" -Dfuzzers=true -Dtests=false >/dev/null
    fi
    ninja -C build-fuzz
    meson test -C build-fuzz --print-errorlogs --suite fuzz || rc=$?
fi

# Count every TAP subtest and every plain test; fail what meson lets pass (a
# TAP test with no subtest or fewer than its minimum, a skip that names no
# missing kernel feature covered by another tier): see tests/tap-results.py.
builds=(build-tests)
count=(--minimum tests/tap-minimum.txt)
if (($# == 0)); then
    count+=(--full)
    for b in build-asan build-fuzz; do
        if [[ -f $b/meson-logs/testlog.json ]]; then builds+=("$b"); fi
    done
fi
/usr/bin/python3 tests/tap-results.py "${count[@]}" "${builds[@]}" || rc=1
exit $rc
