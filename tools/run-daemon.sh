#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds filelesslockd and runs it in the foreground with the allow profile
# (every fileless exec is logged, none is stopped), from build/run-daemon.conf;
# a profile set over D-Bus is saved next to it, in build/run-daemon.conf.d/. Ctrl-C stops it; the
# pinned programs keep logging until "build/src/filelesslockd --disable".
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
[[ -d build ]] || meson setup build >/dev/null
ninja -C build >/dev/null
# bpffs for root only, as systemd mounts it: the daemon refuses to pin below a
# directory others can write to.
if grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
    if [[ $(stat -c %a /sys/fs/bpf) != 700 ]]; then
        echo "run-daemon: making /sys/fs/bpf root's only (chmod 700), as systemd mounts it" >&2
        chmod 700 /sys/fs/bpf
    fi
else
    mount -t bpf -o mode=700 bpf /sys/fs/bpf
fi
# The profile in a configuration of the build's own, not --profile=allow:
# that would win at every reload, and D-Bus changes would be refused.
conf=build/run-daemon.conf
[[ -e $conf ]] || printf '[Fileless]\nProfile=allow\n' >"$conf"
exec build/src/filelesslockd --config="$conf" "$@"
