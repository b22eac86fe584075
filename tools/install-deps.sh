#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages needed to build filelesslock; with
# --package, also to build its Debian package (dpkg-buildpackage -us -uc -b,
# see debian/) and check it with lintian; with --tests, to run its test suite
# (which builds the package too). Installs only what is missing.
set -euo pipefail

build=(meson ninja-build pkg-config gcc libc6-dev clang llvm bpftool
       libbpf-dev libelf-dev zlib1g-dev libsystemd-dev)
tests=(python3 util-linux mount systemd systemd-journal-remote openssl iproute2 bpftool dbus-daemon python3-dbus python3-dbusmock python3-gi polkitd libxml2-utils
       qemu-system-x86 busybox-static xz-utils mandoc groff-base valgrind runc
       libclang-rt-14-dev strace
       cockpit-ws cockpit-bridge cockpit-system chromium-headless-shell sudo)
# debian/control's Build-Depends beyond the above (mandoc and groff-base run
# the man page lint of dh_auto_test), and the tools.
package=(build-essential dpkg-dev debhelper lintian mandoc groff-base)

pkgs=("${build[@]}")
case ${1:-} in
    --tests) pkgs+=("${tests[@]}" "${package[@]}") ;;
    --package) pkgs+=("${package[@]}") ;;
    '') ;;
    *) echo "usage: $0 [--tests|--package]" >&2; exit 2 ;;
esac

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
