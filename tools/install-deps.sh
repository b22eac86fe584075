#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages needed to build filelesslock (and, with
# --tests, to run its test suite). Installs only what is missing.
set -euo pipefail

build=(meson ninja-build pkg-config gcc libc6-dev clang llvm bpftool
       libbpf-dev libelf-dev zlib1g-dev libsystemd-dev)
tests=(python3 util-linux mount systemd systemd-journal-remote openssl iproute2 bpftool dbus-daemon python3-dbus python3-dbusmock python3-gi polkitd libxml2-utils
       qemu-system-x86 busybox-static xz-utils mandoc groff-base valgrind runc
       libclang-rt-14-dev strace)

pkgs=("${build[@]}")
[[ ${1:-} == --tests ]] && pkgs+=("${tests[@]}")

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
