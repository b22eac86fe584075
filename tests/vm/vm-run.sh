#!/bin/bash
# Run one command inside a throwaway qemu guest booted with one of Debian 12's
# stock kernels (CONFIG_BPF_LSM=y), on a copy-on-write view of the host's root.
#
#   vm-run.sh [OPTIONS] [--timeout SECS] [--share DIR] -- COMMAND [ARGS...]
#   vm-run.sh [--cache DIR] [--kernel SERIES] --setup-only
#   vm-run.sh [OPTIONS] [--timeout SECS] --check
#
#   --kernel 6.1|6.12   (env FILELESSLOCK_VM_KERNEL, default 6.1)
#       6.1:  what Debian 12's linux-image-amd64 depends on;
#       6.12: what Debian 12's linux-image-6.12-amd64 depends on (bookworm-security).
#       --setup-only without --kernel (and without the variable) prepares both.
#   --lsm-bpf yes|no    (env FILELESSLOCK_VM_LSM_BPF, default yes)
#       no: boot with bpf left out of lsm=, like Ubuntu's or RHEL's kernels
#       (BPF LSM built in but inactive, BPF trampolines still available).
#
# The command sees FILELESSLOCK_VM_KERNEL (6.1 or 6.12) and
# FILELESSLOCK_VM_LSM_BPF (yes or no) describing the guest it runs in; the
# guest refuses to run it (exit 125) if its active LSM list disagrees.
#
# Exit status: COMMAND's, or 125 when the VM itself failed (the reason is
# printed to stderr on a line starting with "vm-run: infrastructure failure:").
# See /work/shared/notes/testing.md, section 2, for the measurements behind this.

set -Eeuo pipefail

readonly INFRA=125
# The modules the guest's init needs; their dependencies (read from each
# module's .modinfo) are added in load order. What the kernel has built in is
# skipped: 6.12 builds the virtio core in and has fscache inside netfs, which
# 9pnet needs there, so no fixed list fits both kernels.
readonly MODULES=(virtio_pci 9pnet_virtio 9p overlay)
readonly KERNEL_SERIES=(6.1 6.12)
readonly LSM_BASE=lockdown,capability,landlock,yama
readonly GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

cache=${FILELESSLOCK_VM_CACHE:-/var/cache/filelesslock-vm}
timeout_secs=300
share=
mode=run
memory=${FILELESSLOCK_VM_MEMORY:-1G}
series=${FILELESSLOCK_VM_KERNEL:-}
lsm_bpf=${FILELESSLOCK_VM_LSM_BPF:-yes}

usage() {
    cat <<'EOF'
usage: vm-run.sh [--cache DIR] [--kernel 6.1|6.12] [--lsm-bpf yes|no]
                 [--timeout SECS] [--share DIR] -- COMMAND [ARGS...]
       vm-run.sh [--cache DIR] [--kernel 6.1|6.12] --setup-only
       vm-run.sh [--cache DIR] [--kernel 6.1|6.12] [--lsm-bpf yes|no]
                 [--timeout SECS] [--share DIR] --check
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
        --kernel) (($# >= 2)) || die_usage "--kernel needs a value"; series=$2; shift 2 ;;
        --kernel=*) series=${1#*=}; shift ;;
        --lsm-bpf) (($# >= 2)) || die_usage "--lsm-bpf needs a value"; lsm_bpf=$2; shift 2 ;;
        --lsm-bpf=*) lsm_bpf=${1#*=}; shift ;;
        --setup-only) mode=setup; shift ;;
        --check) mode=check; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        -*) die_usage "unknown option: $1" ;;
        *) break ;;
    esac
done

[[ $timeout_secs =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout must be a positive integer"
case $series in
    6.1 | 6.12) series_list=("$series") ;;
    "") if [[ $mode == setup ]]; then series_list=("${KERNEL_SERIES[@]}"); else series_list=(6.1); fi ;;
    *) die_usage "--kernel (FILELESSLOCK_VM_KERNEL) must be 6.1 or 6.12, not '$series'" ;;
esac
case $lsm_bpf in
    yes) lsm_list=$LSM_BASE,bpf ;;
    no) lsm_list=$LSM_BASE ;;
    *) die_usage "--lsm-bpf (FILELESSLOCK_VM_LSM_BPF) must be yes or no, not '$lsm_bpf'" ;;
esac
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
    # 6.12's bzImage and modules may be zstd-compressed.
    command -v zstd >/dev/null || missing+=(zstd)
    ((${#missing[@]})) || return 0

    log "installing host packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}" >&2; then
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "${missing[@]}" >&2
    fi
}

# The Debian 12 metapackage whose one dependency is the series' current ABI
# package (linux-image-6.1.0-N-amd64, linux-image-6.12.N+deb12-amd64).
metapackage() {
    case $1 in
        6.1) echo linux-image-amd64 ;;
        6.12) echo linux-image-6.12-amd64 ;;
    esac
}

# 6.1.0-57-amd64 -> 6.1, 6.12.117+deb12-amd64 -> 6.12
series_of() {
    [[ $1 =~ ^([0-9]+\.[0-9]+)[-.+] ]] && echo "${BASH_REMATCH[1]}"
}

resolve_kernel_package() {
    local line
    while read -r line; do
        if [[ $line =~ ^Depends:\ (linux-image-[0-9][^[:space:]]*-amd64)$ ]]; then
            echo "${BASH_REMATCH[1]}"
            return 0
        fi
    done < <(apt-cache depends "$(metapackage "$1")" 2>/dev/null || true)
    return 1
}

# The bzImage's header says where its compressed payload is (boot protocol
# 2.08: payload_offset at 0x248, payload_length at 0x24c, counted from the
# protected-mode code after the setup sectors). The payload ends with the
# 4-byte uncompressed size, which neither xz nor zstd accepts as trailing data.
extract_vmlinux() {
    local bzimage=$1 out=$2 setup_sects off len magic unpack
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bzimage" | tr -d ' ')
    off=$(od -An -tu4 -j $((0x248)) -N4 "$bzimage" | tr -d ' ')
    len=$(od -An -tu4 -j $((0x24c)) -N4 "$bzimage" | tr -d ' ')
    [[ $setup_sects =~ ^[0-9]+$ && $off =~ ^[0-9]+$ && $len =~ ^[0-9]+$ ]] && ((len > 4)) || return 1
    ((setup_sects)) || setup_sects=4
    off=$(((setup_sects + 1) * 512 + off))
    magic=$(od -An -tx1 -j "$off" -N6 "$bzimage" | tr -d ' \n')
    case $magic in
        fd377a585a00) unpack=(xz -dc) ;;
        28b52ffd*) unpack=(zstd -qdc) ;;
        *) return 1 ;;
    esac
    if dd if="$bzimage" iflag=skip_bytes,count_bytes skip="$off" count="$((len - 4))" bs=1M status=none |
        "${unpack[@]}" >"$out.tmp" 2>/dev/null &&
        [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
        mv -f "$out.tmp" "$out"
        return 0
    fi
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

: >/mnt/ctl/started
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
    while read -r m; do
        cp "$kdir/modules/$m.ko" "$stage/lib/modules/"
    done <"$kdir/modules/load-order"
    cp "$kdir/modules/load-order" "$stage/modules.order"
    cp "$kdir/init" "$stage/init"
    chmod 0755 "$stage/init"
    (cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) >"$kdir/initrd.cpio.tmp"
    mv -f "$kdir/initrd.cpio.tmp" "$kdir/initrd.cpio"
    rm -rf "$stage"
}

# Copies module $1 of the unpacked tree $2 into $3 after its dependencies,
# appending each to $3/load-order; built-in modules are skipped. The ones
# already handled are in the caller's associative array "seen".
add_module() {
    local m=$1 tree=$2 out=$3 f dep deps
    [[ -z ${seen[$m]-} ]] || return 0
    seen[$m]=1
    # File names may spell the module name's underscores as dashes.
    f=$(find "$tree" \( -name "$m.ko" -o -name "$m.ko.*" -o -name "${m//_/-}.ko" -o -name "${m//_/-}.ko.*" \) \
        -print -quit)
    case $f in
        "")
            if grep -Eq "/($m|${m//_/-})\.ko\$" "$tree/modules.builtin"; then
                return 0
            fi
            log "module $m is neither a file nor built in"
            return 1 ;;
        *.ko) cp "$f" "$out/$m.ko" ;;
        *.ko.xz) xz -dc "$f" >"$out/$m.ko" ;;
        *.ko.gz) gzip -dc "$f" >"$out/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$out/$m.ko" ;;
        *) log "unknown module format: $f"; return 1 ;;
    esac || return 1
    deps=$(tr '\0' '\n' <"$out/$m.ko" | sed -n 's/^depends=//p')
    deps=${deps%%$'\n'*}
    for dep in ${deps//,/ }; do
        add_module "$dep" "$tree" "$out" || return 1
    done
    echo "$m" >>"$out/load-order"
}

# Downloads the package into $cache/debs unless it is there; fails (without
# side effects) when apt cannot fetch it, e.g. an ABI that left the mirror.
download_kernel() {
    local pkg=$1
    mkdir -p "$cache/debs"
    [[ -z $(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit) ]] || return 0
    log "downloading $pkg"
    (cd "$cache/debs" && apt-get download -q "$pkg" >&2) || return 1
    [[ -n $(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit) ]]
}

setup_kernel() {
    local kver=$1 pkg=linux-image-$1 kdir=$cache/$1 deb tree m
    local -A seen=()
    mkdir -p "$kdir"
    rm -f "$kdir/initrd.cpio"

    deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    [[ -n $deb ]]

    # The unpacked package is about 400 MB: keep the .deb and what we use from it.
    tree=$(mktemp -d "$kdir/.extract.XXXXXX")
    log "extracting $(basename "$deb")"
    dpkg-deb -x "$deb" "$tree" || { rm -f "$deb"; false; }
    cp "$tree/boot/vmlinuz-$kver" "$kdir/vmlinuz"
    cp "$tree/boot/config-$kver" "$kdir/config"

    log "extracting vmlinux from the bzImage"
    rm -f "$kdir/vmlinux"
    extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux" || log "cannot decompress the bzImage's payload, will boot the bzImage"

    rm -rf "$kdir/modules"
    mkdir -p "$kdir/modules.tmp"
    : >"$kdir/modules.tmp/load-order"
    for m in "${MODULES[@]}"; do
        add_module "$m" "$tree/lib/modules/$kver" "$kdir/modules.tmp"
    done
    echo "${MODULES[*]}" >"$kdir/modules.tmp/wanted"
    mv "$kdir/modules.tmp" "$kdir/modules"
    rm -rf "$tree"
    log "prepared kernel $kver and its modules ($(paste -sd ' ' "$kdir/modules/load-order")) in $kdir"
}

kernel_ready() {
    local kdir=$cache/$1
    local m wanted
    [[ -s $kdir/vmlinuz && -r $kdir/modules/load-order && -r $kdir/modules/wanted ]] || return 1
    read -r wanted <"$kdir/modules/wanted" || return 1
    [[ $wanted == "${MODULES[*]}" ]] || return 1
    while read -r m; do
        [[ -e $kdir/modules/$m.ko ]] || return 1
    done <"$kdir/modules/load-order"
}

initramfs_fresh() {
    local kdir=$cache/$1
    [[ -s $kdir/initrd.cpio && -s $kdir/init && $kdir/initrd.cpio -nt /bin/busybox &&
        ! $kdir/modules/load-order -nt $kdir/initrd.cpio ]] || return 1
    cmp -s "$kdir/init" <(write_init /dev/stdout)
}

# The series' kernel recorded in $cache/current-SERIES (6.1 also accepts the
# single-kernel cache's $cache/current).
recorded_kernel() {
    local f k
    for f in "$cache/current-$1" "$cache/current"; do
        [[ -r $f ]] && read -r k <"$f" && [[ $(series_of "$k") == "$1" ]] && { echo "$k"; return 0; }
    done
    return 1
}

# Resolves the series' ABI package; runs apt-get update when $2 is "update"
# or when the package lists do not know the metapackage.
resolve_kernel() {
    local series=$1 meta pkg
    meta=$(metapackage "$series")
    if [[ ${2-} == update ]] || ! pkg=$(resolve_kernel_package "$series"); then
        log "running apt-get update to resolve $meta"
        apt-get update >&2 || { log "apt-get update failed"; return 1; }
        pkg=$(resolve_kernel_package "$series") || {
            log "apt-cache knows no $meta dependency (Debian 12's main or security suite missing from the apt sources?)"
            return 1
        }
    fi
    [[ $(series_of "${pkg#linux-image-}") == "$series" ]] || {
        log "$meta depends on $pkg, not a $series kernel"
        return 1
    }
    echo "$pkg"
}

# Sets $kver, the kernel of series $1 to boot. Warm runs read
# $cache/current-SERIES and never talk to apt; only a missing or broken cache
# resolves the package again. Called as a plain command so that set -e covers
# every step.
setup() {
    local series=$1 pkg old
    kver=$(recorded_kernel "$series") || kver=
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
        pkg=$(resolve_kernel "$series")
        kver=${pkg#linux-image-}
        if kernel_ready "$kver"; then
            log "kernel $kver already cached"
        else
            if ! download_kernel "$pkg"; then
                # Stale package lists name an ABI package that left the mirror.
                log "cannot download $pkg, updating the package lists"
                pkg=$(resolve_kernel "$series" update)
                kver=${pkg#linux-image-}
                download_kernel "$pkg" || { log "cannot download $pkg"; false; }
            fi
            kernel_ready "$kver" || setup_kernel "$kver"
        fi
        echo "$kver" >"$cache/current-$series.tmp"
        mv -f "$cache/current-$series.tmp" "$cache/current-$series"
        # One kernel per series: older ABIs of the same series go.
        for old in "$cache"/*/; do
            old=$(basename "$old")
            [[ $old == "$kver" || ! -e $cache/$old/vmlinuz || $(series_of "$old") != "$series" ]] && continue
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
for s in "${series_list[@]}"; do
    setup "$s"
    [[ $mode != setup ]] || log "cache ready for $s: $cache/$kver (vmlinux, modules/, initrd.cpio)"
done
trap - ERR
[[ $mode != setup ]] || exit 0
series=${series_list[0]}
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
    set -- sh -c 'echo "kernel: $(uname -r) (FILELESSLOCK_VM_KERNEL=$FILELESSLOCK_VM_KERNEL)"
echo "lsm: $(cat /sys/kernel/security/lsm) (FILELESSLOCK_VM_LSM_BPF=$FILELESSLOCK_VM_LSM_BPF)"
bpftool feature probe kernel 2>/dev/null | grep "program_type lsm" || true'
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
    printf 'export FILELESSLOCK_VM_KERNEL=%q FILELESSLOCK_VM_LSM_BPF=%q\n' "$series" "$lsm_bpf"
    # A kernel that ignored lsm= or lacks the BPF LSM would make tests pass or
    # fail for the wrong reason.
    # shellcheck disable=SC2016  # expanded by the guest's shell
    printf '%s\n' 'vm_lsm= && read -r vm_lsm </sys/kernel/security/lsm || :  # no trailing newline' \
        'case ,$vm_lsm, in *,bpf,*) vm_lsm_bpf=yes ;; *) vm_lsm_bpf=no ;; esac' \
        "[[ \$vm_lsm_bpf == \$FILELESSLOCK_VM_LSM_BPF ]] || { echo \"vm-run: infrastructure failure: the guest's LSM list is '\$vm_lsm', asked for lsm-bpf=\$FILELESSLOCK_VM_LSM_BPF\" >&2; exit $INFRA; }" \
        'unset vm_lsm vm_lsm_bpf'
    printf 'exec --'
    printf ' %q' "$@"
    printf '\n'
} >"$ctl/cmd.sh"

kernel=$kdir/vmlinux
[[ -s $kernel ]] || kernel=$kdir/vmlinuz

# One boot. A guest that dies before the test command starts (a kernel
# oops during boot under TCG was seen once in 44 boots: a panic in
# sched_clock_cpu 7 s in, no test code had run) is booted once more, and
# says so; a failure once the command has started is never retried.
boot() {
    rm -f "$ctl/rc" "$ctl/started" "$ctl/console.log"
    timeout -k 10 "$timeout_secs" qemu-system-x86_64 \
        -accel tcg -cpu max -m "$memory" -smp 2 \
        -nodefaults -no-user-config -display none -no-reboot \
        -serial "file:$ctl/console.log" -serial stdio \
        -kernel "$kernel" -initrd "$kdir/initrd.cpio" \
        -append "console=ttyS0 lsm=$lsm_list panic=-1 rdinit=/init quiet loglevel=3" \
        -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=${ctl//,/,,},mount_tag=ctl,security_model=none" \
        -virtfs "local,path=${share//,/,,},mount_tag=share,security_model=none" \
        </dev/null &
    qemu_pid=$!
    qemu_rc=0
    wait "$qemu_pid" || qemu_rc=$?
    qemu_pid=

    rc=
    reason=
    [[ -r $ctl/rc ]] && read -r rc <"$ctl/rc"
    if [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
        reason="qemu timed out after ${timeout_secs}s"
    elif [[ ! $rc =~ ^[0-9]+$ ]]; then
        reason="the guest wrote no exit code (qemu exit status $qemu_rc)"
    fi
    if [[ -n $reason ]] && [[ -s $ctl/console.log ]]; then
        echo "vm-run: last guest console lines:" >&2
        tail -n 60 "$ctl/console.log" | sed 's/^/  | /' >&2
    fi
    [[ -z $reason ]]
}

if ! boot && [[ ! -e $ctl/started && $qemu_rc != 124 && $qemu_rc != 137 ]]; then
    echo "vm-run: the guest failed before the test command started ($reason); booting it once more" >&2
    boot || true
fi
[[ -z $reason ]] || infra_fail "$reason"
exit "$rc"
