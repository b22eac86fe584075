#!/bin/bash
# Run one command inside a throwaway qemu guest booted with Debian's stock
# kernel (CONFIG_BPF_LSM=y), on a copy-on-write view of the host's root.
#
#   vm-run.sh [--cache DIR] [--timeout SECS] [--share DIR] -- COMMAND [ARGS...]
#   vm-run.sh [--cache DIR] --setup-only
#   vm-run.sh [--cache DIR] [--timeout SECS] --check
#
# Exit status: COMMAND's, or 125 when the VM itself failed (the reason is
# printed to stderr on a line starting with "vm-run: infrastructure failure:").
# See /work/shared/notes/testing.md, section 2, for the measurements behind this.

set -Eeuo pipefail

readonly INFRA=125
readonly MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
    9pnet 9pnet_virtio netfs fscache 9p overlay)
readonly GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

cache=${FILELESSLOCK_VM_CACHE:-/var/cache/filelesslock-vm}
timeout_secs=300
share=
mode=run
memory=${FILELESSLOCK_VM_MEMORY:-1G}

usage() {
    cat <<'EOF'
usage: vm-run.sh [--cache DIR] [--timeout SECS] [--share DIR] -- COMMAND [ARGS...]
       vm-run.sh [--cache DIR] --setup-only
       vm-run.sh [--cache DIR] [--timeout SECS] [--share DIR] --check
EOF
}

die_usage() {
    echo "vm-run: $*" >&2
    usage >&2
    exit 2
}

infra_fail() {
    echo "vm-run: infrastructure failure: $*" >&2
    exit "$INFRA"
}

# Setup progress goes to stdout for --setup-only and to stderr otherwise, so a
# cold cache never pollutes the command's output.
log() {
    echo "vm-run: $*" >&3
}

while (($#)); do
    case $1 in
        --cache) (($# >= 2)) || die_usage "--cache needs a value"; cache=$2; shift 2 ;;
        --cache=*) cache=${1#*=}; shift ;;
        --timeout) (($# >= 2)) || die_usage "--timeout needs a value"; timeout_secs=$2; shift 2 ;;
        --timeout=*) timeout_secs=${1#*=}; shift ;;
        --share) (($# >= 2)) || die_usage "--share needs a value"; share=$2; shift 2 ;;
        --share=*) share=${1#*=}; shift ;;
        --setup-only) mode=setup; shift ;;
        --check) mode=check; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        -*) die_usage "unknown option: $1" ;;
        *) break ;;
    esac
done

[[ $timeout_secs =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout must be a positive integer"
case $mode in
    run) (($#)) || die_usage "no command given" ;;
    *) (($# == 0)) || die_usage "no command is allowed with --$mode" ;;
esac
[[ $cache == /* ]] || cache=$PWD/$cache
if [[ $mode == setup ]]; then exec 3>&1; else exec 3>&2; fi

# ---------------------------------------------------------------------------
# Host setup: packages, kernel, modules, initramfs. All of it lands in $cache.

ensure_host_packages() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    # The initramfs needs a static busybox; a dynamic one would not run there.
    [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true) == "install ok installed" ]] ||
        missing+=(busybox-static)
    command -v xz >/dev/null || missing+=(xz-utils)
    ((${#missing[@]})) || return 0

    log "installing host packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}" >&2; then
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}" >&2
    fi
}

resolve_kernel_package() {
    local line
    while read -r line; do
        if [[ $line =~ ^Depends:\ (linux-image-[0-9][^[:space:]]*-amd64)$ ]]; then
            echo "${BASH_REMATCH[1]}"
            return 0
        fi
    done < <(apt-cache depends linux-image-amd64 2>/dev/null || true)
    return 1
}

# The bzImage's payload is an xz stream; the first offset whose stream
# decompresses to an ELF file is the kernel proper.
extract_vmlinux() {
    local bzimage=$1 out=$2 off offsets
    offsets=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bzimage" | cut -d: -f1) || true
    for off in $offsets; do
        if xz -dc --single-stream <(tail -c "+$((off + 1))" "$bzimage") >"$out.tmp" 2>/dev/null &&
            [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
            mv -f "$out.tmp" "$out"
            return 0
        fi
    done
    rm -f "$out.tmp"
    return 1
}

write_init() {
    cat >"$1" <<'EOF'
#!/bin/busybox sh
# PID 1 of the vm-run.sh guest. Console output goes to the host's log file;
# only the command's output goes to ttyS1, the host's stdout.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

halt_now() {
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    sleep 10
}

fail() {
    echo "vm-run-init: $*"
    halt_now
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r m; do
    insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </modules.order

p9=trans=virtio,version=9p2000.L,msize=262144
mkdir -p /mnt/lower /mnt/rw /mnt/ctl /mnt/cwd
R=/mnt/root
mkdir -p "$R"
# The host root is treated as frozen while the guest runs: cache=loose makes
# exec and lookups much faster (python3 starts in 0.75 s instead of 1.2 s).
mount -t 9p -o "ro,cache=loose,$p9" hostroot /mnt/lower || fail "cannot mount the host root"
mount -t 9p -o "$p9" ctl /mnt/ctl || fail "cannot mount the control folder"
mount -t tmpfs -o mode=0755 rw /mnt/rw
mkdir /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay "$R" ||
    fail "cannot mount the overlay"

IFS= read -r share </mnt/ctl/share
IFS= read -r cwd </mnt/ctl/cwd

# Keep a working directory below a soon-to-be tmpfs reachable in the guest.
cwd_bound=
case $cwd in
    /run | /run/* | /dev/shm | /dev/shm/*)
        if [ -d "$R$cwd" ] && mount -o bind "$R$cwd" /mnt/cwd; then cwd_bound=1; fi ;;
esac

mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t devtmpfs devtmpfs "$R/dev"
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
# What udev or systemd would create: exec via /dev/fd/N needs it.
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
# /tmp stays the host's (through the overlay): a clone or build tree there
# must be visible. O_TMPFILE, which overlayfs refuses on 6.1, goes to /run.
mount -t securityfs securityfs "$R/sys/kernel/security"
mount -t bpf -o mode=0700 bpf "$R/sys/fs/bpf"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
mount -t debugfs debugfs "$R/sys/kernel/debug" 2>/dev/null
mount -t tracefs tracefs "$R/sys/kernel/tracing" 2>/dev/null

if [ -n "$cwd_bound" ]; then
    mkdir -p "$R$cwd" && mount -o bind /mnt/cwd "$R$cwd"
fi
mkdir -p "$R$share" && mount -t 9p -o "$p9" share "$R$share" || fail "cannot mount the share folder"

stty -F /dev/ttyS1 raw -echo
# A pipe, not the tty itself, so the command sees what it would see in CI.
mkfifo /out
cat /out >/dev/ttyS1 &
drain=$!

env -i PATH="$(cat /mnt/ctl/path)" HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
    TERM=dumb LANG=C.UTF-8 FILELESSLOCK_IN_VM=1 \
    /bin/busybox chroot "$R" /bin/bash -c "$(cat /mnt/ctl/cmd.sh)" </dev/null >/out 2>&1
echo $? >/mnt/ctl/rc

# A background process still holding the pipe must not keep the guest up.
(sleep 3; kill $drain) 2>/dev/null &
killer=$!
wait $drain
kill $killer 2>/dev/null
halt_now
EOF
}

build_initramfs() {
    local kdir=$1 stage m f
    stage=$(mktemp -d "$kdir/.initrd.XXXXXX")
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt,lib/modules}
    cp /bin/busybox "$stage/bin/busybox"
    while read -r f; do
        [[ $f == bin/busybox || -e $stage/$f ]] || ln -s /bin/busybox "$stage/$f"
    done < <("$stage/bin/busybox" --list-full)
    : >"$stage/modules.order"
    for m in "${MODULES[@]}"; do
        [[ -e $kdir/modules/$m.ko ]] || continue
        cp "$kdir/modules/$m.ko" "$stage/lib/modules/"
        echo "$m" >>"$stage/modules.order"
    done
    cp "$kdir/init" "$stage/init"
    chmod 0755 "$stage/init"
    (cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) >"$kdir/initrd.cpio.tmp"
    mv -f "$kdir/initrd.cpio.tmp" "$kdir/initrd.cpio"
    rm -rf "$stage"
}

setup_kernel() {
    local kver=$1 pkg=linux-image-$1 kdir=$cache/$1 deb tree m f
    mkdir -p "$cache/debs" "$kdir"

    deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    if [[ -z $deb ]]; then
        log "downloading $pkg"
        (cd "$cache/debs" && apt-get download -q "$pkg" >&2) || return 1
        deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
        [[ -n $deb ]] || return 1
    fi

    # The unpacked package is about 400 MB: keep the .deb and what we use from it.
    tree=$(mktemp -d "$kdir/.extract.XXXXXX")
    log "extracting $(basename "$deb")"
    dpkg-deb -x "$deb" "$tree" || { rm -f "$deb"; false; }
    cp "$tree/boot/vmlinuz-$kver" "$kdir/vmlinuz"
    cp "$tree/boot/config-$kver" "$kdir/config"

    log "extracting vmlinux from the bzImage"
    extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux" || log "no xz payload found, will boot the bzImage"

    rm -rf "$kdir/modules"
    mkdir -p "$kdir/modules.tmp"
    for m in "${MODULES[@]}"; do
        f=$(find "$tree/lib/modules/$kver" \( -name "$m.ko" -o -name "$m.ko.*" \) -print -quit)
        case $f in
            "")
                if grep -q "/$m.ko\$" "$tree/lib/modules/$kver/modules.builtin"; then
                    : >"$kdir/modules.tmp/$m.builtin"
                    continue
                fi
                log "module $m not found in $pkg"
                return 1 ;;
            *.ko) cp "$f" "$kdir/modules.tmp/$m.ko" ;;
            *.ko.xz) xz -dc "$f" >"$kdir/modules.tmp/$m.ko" ;;
            *.ko.gz) gzip -dc "$f" >"$kdir/modules.tmp/$m.ko" ;;
            *.ko.zst) zstd -qdc "$f" >"$kdir/modules.tmp/$m.ko" ;;
            *) log "unknown module format: $f"; return 1 ;;
        esac
    done
    mv "$kdir/modules.tmp" "$kdir/modules"
    rm -rf "$tree"
    log "prepared kernel $kver and ${#MODULES[@]} modules in $kdir"
}

kernel_ready() {
    local kdir=$cache/$1
    local m
    [[ -s $kdir/vmlinuz ]] || return 1
    for m in "${MODULES[@]}"; do
        [[ -e $kdir/modules/$m.ko || -e $kdir/modules/$m.builtin ]] || return 1
    done
}

initramfs_fresh() {
    local kdir=$cache/$1
    [[ -s $kdir/initrd.cpio && -s $kdir/init && $kdir/initrd.cpio -nt /bin/busybox ]] || return 1
    cmp -s "$kdir/init" <(write_init /dev/stdout)
}

# Sets $kver, the kernel to boot. Warm runs read $cache/current and never
# talk to apt; only a missing or broken cache resolves the package again.
# Called as a plain command so that set -e covers every step.
setup() {
    local pkg old
    kver=
    if [[ -r $cache/current ]]; then
        read -r kver <"$cache/current" || true
    fi
    if [[ $mode != setup && -n $kver ]] && kernel_ready "$kver" && initramfs_fresh "$kver"; then
        return 0
    fi

    ensure_host_packages
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    # Leftovers of an interrupted setup; nobody else uses them while we hold the lock.
    rm -rf "$cache"/*/.extract.* "$cache"/*/.initrd.* "$cache"/*/modules.tmp

    if ! { [[ -n $kver ]] && kernel_ready "$kver"; }; then
        if ! pkg=$(resolve_kernel_package); then
            log "apt-cache knows no linux-image-amd64 dependency, running apt-get update"
            apt-get update >&2
            pkg=$(resolve_kernel_package) || { log "cannot resolve linux-image-amd64"; false; }
        fi
        kver=${pkg#linux-image-}
        if kernel_ready "$kver"; then
            log "kernel $kver already cached"
        else
            setup_kernel "$kver"
        fi
        echo "$kver" >"$cache/current.tmp"
        mv -f "$cache/current.tmp" "$cache/current"
        for old in "$cache"/*/; do
            old=$(basename "$old")
            [[ $old == "$kver" || ! -e $cache/$old/vmlinuz ]] && continue
            log "removing the outdated kernel $old"
            rm -rf "${cache:?}/$old" "$cache/debs/linux-image-${old}_"*.deb
        done
    else
        log "kernel $kver already cached"
    fi

    if initramfs_fresh "$kver"; then
        log "initramfs up to date: $cache/$kver/initrd.cpio"
    else
        write_init "$cache/$kver/init"
        build_initramfs "$cache/$kver"
        log "built initramfs $cache/$kver/initrd.cpio"
    fi
    flock -u 9
    exec 9>&-
}

# ---------------------------------------------------------------------------

trap 'infra_fail "setting up the VM cache in $cache failed"' ERR
setup
trap - ERR
if [[ $mode == setup ]]; then
    log "cache ready: $cache/$kver (vmlinux, modules/, initrd.cpio)"
    exit 0
fi
kdir=$cache/$kver

ctl=$(mktemp -d /tmp/vm-run-ctl.XXXXXX)
own_share=
qemu_pid=
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null
    rm -rf "$ctl"
    [[ -n $own_share ]] && rm -rf "$share"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z $share ]]; then
    share=$(mktemp -d /tmp/vm-run-share.XXXXXX)
    own_share=1
fi
mkdir -p "$share"
share=$(realpath "$share")
[[ $share != *$'\n'* && $PWD != *$'\n'* ]] || infra_fail "paths with newlines are not supported"

if [[ $mode == check ]]; then
    # shellcheck disable=SC2016  # expanded by the guest's shell
    set -- sh -c 'echo "lsm: $(cat /sys/kernel/security/lsm)"
bpftool feature probe kernel 2>/dev/null | grep -i lsm
grep -qw bpf /sys/kernel/security/lsm'
fi

printf '%s\n' "$share" >"$ctl/share"
printf '%s\n' "$PWD" >"$ctl/cwd"
printf '%s\n' "$GUEST_PATH" >"$ctl/path"
{
    printf 'cd -- %q 2>/dev/null || { echo "vm-run: infrastructure failure: working directory %q is not available in the guest" >&2; exit %d; }\n' \
        "$PWD" "$PWD" "$INFRA"
    # Forward the project's own knobs so tests can tune themselves in the guest.
    while read -r name; do
        [[ $name == FILELESSLOCK_IN_VM ]] && continue
        printf 'export %s=%q\n' "$name" "${!name}"
    done < <(compgen -e | grep '^FILELESSLOCK_' || true)
    printf 'exec --'
    printf ' %q' "$@"
    printf '\n'
} >"$ctl/cmd.sh"

kernel=$kdir/vmlinux
[[ -s $kernel ]] || kernel=$kdir/vmlinuz

timeout -k 10 "$timeout_secs" qemu-system-x86_64 \
    -accel tcg -cpu max -m "$memory" -smp 2 \
    -nodefaults -no-user-config -display none -no-reboot \
    -serial "file:$ctl/console.log" -serial stdio \
    -kernel "$kernel" -initrd "$kdir/initrd.cpio" \
    -append "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 rdinit=/init quiet loglevel=3" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=${ctl//,/,,},mount_tag=ctl,security_model=none" \
    -virtfs "local,path=${share//,/,,},mount_tag=share,security_model=none" \
    </dev/null &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=

rc=
[[ -r $ctl/rc ]] && read -r rc <"$ctl/rc"
if [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
    reason="qemu timed out after ${timeout_secs}s"
elif [[ ! $rc =~ ^[0-9]+$ ]]; then
    reason="the guest wrote no exit code (qemu exit status $qemu_rc)"
fi
if [[ -n ${reason-} ]]; then
    if [[ -s $ctl/console.log ]]; then
        echo "vm-run: last guest console lines:" >&2
        tail -n 20 "$ctl/console.log" | sed 's/^/  | /' >&2
    fi
    infra_fail "$reason"
fi
exit "$rc"
