#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds filelesslockd and runs it in the foreground with the allow profile
# (every fileless exec is logged, none is stopped). Ctrl-C stops it; the
# pinned programs keep logging until "build/src/filelesslockd --disable".
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
[[ -d build ]] || meson setup build >/dev/null
ninja -C build >/dev/null
grep -qs ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
exec build/src/filelesslockd --profile=allow "$@"
