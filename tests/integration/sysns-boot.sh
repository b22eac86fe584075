#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs as PID 1 of fresh pid/mount/uts/ipc/net/cgroup namespaces (started by
# sysns.py through `unshare ... --fork`), builds a throwaway root on an overlay
# of the host's / and execs systemd in it. Everything mounted here lives only in
# this mount namespace and goes away with it: nothing is mounted on the host.
#
# Input (environment, all set by sysns.py):
#   SYSNS_WORK      host scratch directory (holds the mount point "mnt")
#   SYSNS_PIDFILE   this process's host pid is written there
#   SYSNS_DESTDIR   a `meson install` DESTDIR to copy into the root (may be empty)
#   SYSNS_STAGE     a tree copied into the root after the DESTDIR (extra files,
#                   masks, machine-id, passwd...)
#   SYSNS_CONSOLE   a pty slave of the host, bind-mounted as /dev/console
#   SYSNS_HOSTNAME  hostname of the UTS namespace
#   SYSNS_UNIT      the unit systemd boots into
#   SYSNS_SYSTEMD_ARGS  extra arguments for systemd (word-split)

set -euo pipefail

: "${SYSNS_WORK:?}" "${SYSNS_PIDFILE:?}" "${SYSNS_STAGE:?}" "${SYSNS_CONSOLE:?}"
: "${SYSNS_HOSTNAME:=flns}" "${SYSNS_UNIT:=multi-user.target}" "${SYSNS_DESTDIR:=}"

# The host's /proc is still mounted: /proc/self names this shell by its host pid.
# `read` is a builtin, so the redirection is opened by this very process.
read -r hostpid _ </proc/self/stat
echo "$hostpid" >"$SYSNS_PIDFILE.tmp"
mv "$SYSNS_PIDFILE.tmp" "$SYSNS_PIDFILE"

if [ "$$" != 1 ]; then
        echo "sysns-boot: not PID 1 of a new pid namespace" >&2
        exit 1
fi

# unshare already made everything private; say it again, nothing here may
# propagate to the host.
mount --make-rprivate /

layers=$SYSNS_WORK/mnt
mount -t tmpfs -o mode=0755 sysns-layers "$layers"
mkdir "$layers/upper" "$layers/work" "$layers/root"
R=$layers/root
mount -t overlay -o "lowerdir=/,upperdir=$layers/upper,workdir=$layers/work" sysns-root "$R"

# /proc of the new pid namespace; the kernel-wide knobs read-only.
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
for p in sys sysrq-trigger; do
        [ -e "$R/proc/$p" ] || continue
        mount --bind "$R/proc/$p" "$R/proc/$p"
        mount -o remount,bind,ro,nosuid,nodev,noexec "$R/proc/$p"
done

# /sys read-only, with the writable file systems systemd and the daemon need.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
# cgroup2 of the new cgroup namespace: rooted at our own cgroup.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
# A new bpffs instance: pins made inside vanish with the namespace.
mount -t bpf -o nosuid,nodev,noexec,mode=0700 bpf "$R/sys/fs/bpf"
mount -t securityfs -o nosuid,nodev,noexec securityfs "$R/sys/kernel/security" || true

# A minimal /dev.
mount -t tmpfs -o nosuid,mode=0755,size=4m sysns-dev "$R/dev"
for d in null zero full random urandom tty; do
        touch "$R/dev/$d"
        mount --bind "/dev/$d" "$R/dev/$d"
done
touch "$R/dev/console"
mount --bind "$SYSNS_CONSOLE" "$R/dev/console"
mkdir -m 0755 "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue" "$R/dev/hugepages"
chmod 1777 "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o nosuid,nodev,mode=1777 sysns-shm "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
ln -s /proc/kcore "$R/dev/core"

mount -t tmpfs -o nosuid,nodev,mode=0755 sysns-run "$R/run"
mount -t tmpfs -o nosuid,nodev,mode=1777 sysns-tmp "$R/tmp"

hostname "$SYSNS_HOSTNAME"

# What to copy in, reachable after pivot_root (on /run, a tmpfs: nothing of it
# ends up in the overlay).
imp=$R/run/sysns-import
mkdir -p "$imp/stage" "$imp/dest"
mount --bind -o ro "$SYSNS_STAGE" "$imp/stage"
if [ -n "$SYSNS_DESTDIR" ]; then
        mount --bind -o ro "$SYSNS_DESTDIR" "$imp/dest"
fi

cd "$R"
pivot_root . .
umount -l .
cd /

# Copied after pivot_root so that symbolic links of the new root (/lib ->
# usr/lib, /var/run -> /run, ...) resolve inside it and are kept, not replaced.
imp=/run/sysns-import
for t in dest stage; do
        if [ -n "$(ls -A "$imp/$t")" ]; then
                tar -C "$imp/$t" -cf - . | tar -C / -xf - --keep-directory-symlink --no-overwrite-dir
        fi
        umount "$imp/$t" 2>/dev/null || true
done
rm -rf "$imp"

# shellcheck disable=SC2086
exec env -i container=other TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /lib/systemd/systemd --system --unit="$SYSNS_UNIT" --show-status=1 ${SYSNS_SYSTEMD_ARGS:-}
