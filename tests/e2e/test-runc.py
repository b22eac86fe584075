#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's runc running a busybox container under restricted, on each of
the ways runc 1.1.5 re-executes itself from a copy of its binary
(CVE-2019-5736), with runc trusted and not; and the look-alikes that must
not get its trust.

runc init, before it enters any namespace, re-executes itself from the first
of these that works (libcontainer/nsenter/cloned_binary.c of runc 1.1.5;
the files are made in its state directory, `runc --root`/ID):

  bind     /proc/self/exe bind-mounted read-only over a temp file, opened O_PATH,
           lazily unmounted: /usr/sbin/runc itself on a detached mount,
           an ordinary file. Refused: mount(MS_BIND) fails.
  memfd    memfd_create("runc_cloned:/proc/self/exe"). runc goes on only
           if that fails with ENOSYS or EINVAL (any other error ends it).
  tmpfile  open(STATEDIR, O_TMPFILE). runc goes on only after EISDIR (a
           kernel without O_TMPFILE), or if the file has a link.
  deleted  mkostemp() in STATEDIR, unlinked at once.

Each path is forced by a seccomp filter the test puts on runc (inherited
by runc init) that fails the calls of the paths before it, as an old kernel
or a refused mount would. The fileless paths must fail without trust (no
container, one event of that kind) and run with runc trusted, as the
shipped filelesslockd.conf does (one allowed-trusted event of that kind);
the bind path runs either way, with no event. The kind and file name in
the event prove the path: a case cannot pass on another one.

The profile: restricted for a slice of the test's own (runc, the
containers' cgroups and the look-alikes are in it), allow for the rest of
the machine, so the test stops nobody else's fileless execs."""

import ctypes
import errno
import itertools
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import tempfile

from fltest import (SRC, Daemon, blocked_action, cancel_on_exit, cgroup2_dir, ensure_bpffs, fl_exec, on_exit,
                    run_cases)

RUNC = '/usr/sbin/runc'
BUSYBOX = '/bin/busybox'  # busybox-static: needs nothing else in the rootfs
N = os.getpid()
SLICE = f'fltest-runc-{N}.slice'
MARK = 'runc-container-42'  # what the container prints: $((6*7)) is sh's work
BLOCKED = blocked_action()
_containers = itertools.count()


# ---------------------------------------------------------------------------
# A seccomp filter (classic BPF over struct seccomp_data, x86_64 numbers)
# that fails chosen system calls with a chosen errno: one rule is
# (syscall nr, argument index or None, 'eq' or 'set', value, errno); with an
# argument, its low 32 bits must equal VALUE ('eq') or have a bit of it set.

AUDIT_ARCH_X86_64 = 0xc000003e
NR_OPEN, NR_MOUNT, NR_OPENAT, NR_MEMFD_CREATE = 2, 165, 257, 319
MS_BIND = 0x1000
O_TMPFILE_BIT = 0o20000000  # __O_TMPFILE (O_TMPFILE is it with O_DIRECTORY)

NO_BIND_MOUNT = (NR_MOUNT, 3, 'eq', MS_BIND, errno.EPERM)  # flags exactly MS_BIND: runc's first mount
NO_MEMFD = (NR_MEMFD_CREATE, None, None, 0, errno.ENOSYS)
NO_MEMFD_AT_ALL = (NR_MEMFD_CREATE, None, None, 0, errno.EPERM)  # runc gives up after this errno
NO_TMPFILE = ((NR_OPENAT, 2, 'set', O_TMPFILE_BIT, errno.EISDIR),
              (NR_OPEN, 1, 'set', O_TMPFILE_BIT, errno.EISDIR))

# What each path needs to fail before it, and how its exec shows in events.
CLONE_PATHS = {
    'bind': (),
    'memfd': (NO_BIND_MOUNT,),
    'tmpfile': (NO_BIND_MOUNT, NO_MEMFD),
    'deleted': (NO_BIND_MOUNT, NO_MEMFD, *NO_TMPFILE),
}

BPF_LD_W_ABS, BPF_JEQ_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x45, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7fff0000, 0x00050000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def seccomp_program(rules):
    """The filter as (code, jt, jf, k) instructions."""
    prog = [(BPF_LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    arch_check = len(prog)
    prog.append(None)  # to the final allow on another architecture, below
    for nr, arg, test, value, err in rules:
        prog.append((BPF_LD_W_ABS, 0, 0, 0))  # seccomp_data.nr
        if arg is None:
            prog += [(BPF_JEQ_K, 0, 1, nr), (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | err)]
            continue
        prog += [(BPF_JEQ_K, 0, 3, nr),
                 (BPF_LD_W_ABS, 0, 0, 16 + 8 * arg),  # seccomp_data.args[arg], low half
                 (BPF_JEQ_K if test == 'eq' else BPF_JSET_K, 0, 1, value),
                 (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | err)]
    prog.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    prog[arch_check] = (BPF_JEQ_K, 0, len(prog) - arch_check - 2, AUDIT_ARCH_X86_64)
    return prog


def install_seccomp(rules):
    """Puts the filter on the calling process (root: no no_new_privs needed);
    its children and the programs it execs keep it."""
    prog = seccomp_program(rules)
    code = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *i) for i in prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_SECCOMP)')


# ---------------------------------------------------------------------------

class Ctx:
    """A busybox bundle, runc's state directory and the test's cgroups."""

    def __init__(self, tap):
        self.tmp = tempfile.mkdtemp(prefix='fltest-runc-')
        on_exit(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.state = os.path.join(self.tmp, 'state')
        self.bundle = os.path.join(self.tmp, 'bundle')
        rootfs = os.path.join(self.bundle, 'rootfs')
        os.makedirs(os.path.join(rootfs, 'bin'))
        shutil.copy2(BUSYBOX, os.path.join(rootfs, 'bin', 'busybox'))
        os.symlink('busybox', os.path.join(rootfs, 'bin', 'sh'))
        p = subprocess.run([RUNC, 'spec'], cwd=self.bundle, capture_output=True, text=True)
        tap.require(p.returncode == 0, 'runc spec writes a bundle config', p.stderr)
        path = os.path.join(self.bundle, 'config.json')
        with open(path) as f:
            config = json.load(f)
        config['process']['terminal'] = False
        config['process']['args'] = ['/bin/sh', '-c', 'echo runc-container-$((6*7))']
        # runc masks these by bind-mounting /dev/null with MS_BIND alone,
        # which the filter forcing the later paths refuses.
        config['linux']['maskedPaths'] = []
        self.config, self.config_path = config, path
        # runc and the look-alikes each in a unit of the slice, and each
        # container in a cgroup of its own in the slice (runc's default, a
        # cgroup named after the container next to runc's own, is at the
        # root of the unified hierarchy in a hybrid layout). runc init
        # clones itself after runc moved it there, or before, in runc.scope:
        # the slice's profile either way.
        self.runc_cgroup = make_cgroup(SLICE, 'runc.scope')
        self.spoof_cgroup = make_cgroup(SLICE, 'spoof.scope')
        on_exit(remove_v1_slices)
        self.sentinels = itertools.count()

    def write_config(self, cid):
        self.config['linux']['cgroupsPath'] = f'/{SLICE}/{cid}'
        with open(self.config_path, 'w') as f:
            json.dump(self.config, f)


def make_cgroup(*parts):
    """The cgroup2 directory ROOT/parts..., made with its parents; at exit
    it is removed with whatever runc left below it."""
    path = cgroup2_dir()
    for p in parts:
        path = os.path.join(path, p)
        if not os.path.isdir(path):
            os.mkdir(path)
            on_exit(lambda d=path: remove_cgroup_tree(d))
    return path


def remove_cgroup_tree(top):
    if not os.path.isdir(top):
        return
    for d, _, _ in os.walk(top, topdown=False):
        os.rmdir(d)


def remove_v1_slices():
    """The slice's directories that runc made in cgroup v1 hierarchies
    (a hybrid layout): runc removes a container's own, not its parents."""
    with open('/proc/self/mounts') as f:
        mounts = [l.split()[1] for l in f if l.split()[2] == 'cgroup']
    for m in mounts:
        remove_cgroup_tree(os.path.join(m, SLICE))


def enter_cgroup(path):
    with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
        f.write(str(os.getpid()))


def run_container(ctx, rules, runtime=RUNC):
    """`runtime run` of the bundle in the slice, under a seccomp filter of
    RULES; the container is deleted after. Returns the CompletedProcess."""
    cid = f'fltest-{N}-{next(_containers)}'
    ctx.write_config(cid)

    def child():
        enter_cgroup(ctx.runc_cgroup)
        if rules:
            install_seccomp(rules)

    def delete():
        subprocess.run([RUNC, '--root', ctx.state, 'delete', '--force', cid], capture_output=True, timeout=60)

    # As a container manager runs it: nothing that loads other code into
    # runc (trust is not for a process that might run someone else's).
    env = {k: v for k, v in os.environ.items() if k not in ('LD_PRELOAD', 'LD_AUDIT', 'LD_LIBRARY_PATH')}
    on_exit(delete)
    try:
        return subprocess.run([runtime, '--root', ctx.state, 'run', '--bundle', ctx.bundle, cid],
                              capture_output=True, text=True, timeout=60, preexec_fn=child, env=env)
    finally:
        delete()
        cancel_on_exit(delete)


def start_daemon(tap, trust):
    """The daemon with the shipped filelesslockd.conf (which trusts
    /usr/sbin/runc) and a drop-in: allow machine-wide, restricted in the
    test's slice, and without TRUST an empty TrustedExecutable=."""
    d = Daemon(tap)
    with open(os.path.join(SRC, 'src', 'filelesslockd.conf')) as f:
        d.write_config(f.read())
    d.write_config('[Fileless]\nProfile=allow\n' + ('' if trust else 'TrustedExecutable=\n') +
                   f'\n[Scope]\nUnit={SLICE}\nProfile=restricted\n', name='50-fltest.conf')
    tap.require(d.start(), 'daemon ready', d.log_tail())
    trusting = re.search(rf'^Trusting {re.escape(RUNC)} \(inode \d+\)', d.output(), re.M)
    if trust:
        tap.ok(trusting, f'the shipped configuration trusts {RUNC}', d.log_tail())
    else:
        tap.ok(not trusting, f'with TrustedExecutable= empty, {RUNC} is not trusted', d.log_tail())
    return d


def events_since(ctx, d, since):
    """The events from the test's slice after the first SINCE, once a
    sentinel (a memfd exec in the slice, done now) has come: any event of
    what ran before is then in, since the kernel hands events over in
    order."""
    r = fl_exec('memfd', 'execveat', name=f'fltest-sentinel-{next(ctx.sentinels)}', cgroup=ctx.spoof_cgroup)
    got = d.wait_event(lambda e: e.get('FILELESS_INODE') == r.get('ino') and e.get('FILELESS_DEVICE') == r.get('dev'),
                       after=since)
    if not got:
        raise RuntimeError(f'the sentinel exec was never reported: {r}')
    evs = d.events()[since:]
    end = evs.index(got[0])
    return [e for e in evs[:end] if e.get('FILELESS_SCOPE') == SLICE]


def file_name_of(kind):
    """What FILELESS_FILE_NAME must be for runc's copy made on path KIND."""
    return {'memfd': r'memfd:runc_cloned:/proc/self/exe',
            'tmpfile': r'#\d+',
            'deleted': r'runc\.\w{6}'}[kind]


def check_run(tap, ctx, d, what, kind, rules, trusted, runtime=RUNC):
    """Runs the container on the clone path KIND (forced by RULES) and checks
    the outcome and the one event."""
    since = len(d.events())
    p = run_container(ctx, rules, runtime)
    evs = events_since(ctx, d, since)
    out = (p.returncode, p.stdout, p.stderr[-2000:])
    runs = trusted or kind == 'bind'
    if runs:
        tap.ok(p.returncode == 0 and MARK in p.stdout, f'{what}: the container runs', out)
    else:
        tap.ok(p.returncode != 0 and MARK not in p.stdout, f'{what}: no container', out)
    if kind == 'bind':
        tap.ok(evs == [], f'{what}: no fileless event (runc ran from its own file)', evs)
        return
    e = evs[0] if len(evs) == 1 else {}
    # The program is named by its file's name and inode (the name alone is
    # runc's for the copy and the hard link too).
    want = {'FILELESS_KIND': kind, 'FILELESS_OPERATION': 'exec',
            'FILELESS_ACTION': 'allowed-trusted' if trusted else BLOCKED,
            'FILELESS_PROGRAM': os.path.basename(runtime), 'FILELESS_PROGRAM_INODE': str(os.stat(runtime).st_ino),
            'FILELESS_PROFILE': 'restricted', 'FILELESS_SCOPE': SLICE}
    tap.ok(len(evs) == 1 and all(e.get(k) == v for k, v in want.items()) and
           re.fullmatch(file_name_of(kind), e.get('FILELESS_FILE_NAME', '')),
           f'{what}: one event, {kind} {want["FILELESS_ACTION"]}, by {runtime} (inode '
           f'{want["FILELESS_PROGRAM_INODE"]}), file name {file_name_of(kind)}', evs)


def setup(tap):
    ensure_bpffs()
    tap.require(platform.machine() == 'x86_64', 'x86_64 (the seccomp filter has its system call numbers)')
    tap.require(cgroup2_dir() is not None, 'a cgroup2 hierarchy is mounted')
    p = subprocess.run([RUNC, '--version'], capture_output=True, text=True) if os.path.exists(RUNC) else None
    tap.require(p is not None and re.match(r'runc version 1\.1\.', p.stdout),
                f'{RUNC} is runc 1.1 (the clone paths forced here are 1.1\'s; tools/install-deps.sh --tests '
                'installs Debian 12\'s runc)', p and p.stdout)
    return Ctx(tap)


def stop_daemon(tap, d):
    """Stops D and detaches its programs, so that the next one alone decides."""
    d.stop()
    r = d.disable()
    tap.require(r.returncode == 0, 'the daemon stopped and its programs detached', r.stderr)


def clone_path_case(tap, ctx, kind):
    rules = CLONE_PATHS[kind]
    d = start_daemon(tap, trust=False)
    check_run(tap, ctx, d, f'{kind} path, runc not trusted', kind, rules, trusted=False)
    stop_daemon(tap, d)
    d = start_daemon(tap, trust=True)
    check_run(tap, ctx, d, f'{kind} path, runc trusted', kind, rules, trusted=True)
    stop_daemon(tap, d)


def test_bind(tap, ctx):
    clone_path_case(tap, ctx, 'bind')
    # The bind mount is runc's way even when every copy would fail: a memfd
    # refused with EPERM ends runc's fallbacks, and the container still runs.
    d = start_daemon(tap, trust=False)
    check_run(tap, ctx, d, 'bind path with no copy possible, runc not trusted', 'bind', (NO_MEMFD_AT_ALL,),
              trusted=False)


def test_memfd(tap, ctx):
    clone_path_case(tap, ctx, 'memfd')


def test_tmpfile(tap, ctx):
    clone_path_case(tap, ctx, 'tmpfile')


def test_deleted(tap, ctx):
    clone_path_case(tap, ctx, 'deleted')


# ---------------------------------------------------------------------------
# Look-alikes, with the shipped configuration (runc trusted). Each case first
# shows the real runc trusted on its memfd path in the same daemon.

def spoof_daemon(tap, ctx):
    d = start_daemon(tap, trust=True)
    check_run(tap, ctx, d, 'control: the real runc on its memfd path', 'memfd', CLONE_PATHS['memfd'], trusted=True)
    return d


def spoof_dir(tap, *parts):
    """A root-only directory in /usr/lib (the file system of /usr/sbin,
    not a tmpfs), removed at exit."""
    base = f'/usr/lib/fltest-runc-{N}'
    path = os.path.join(base, *parts)
    if not os.path.isdir(base):
        on_exit(lambda: shutil.rmtree(base, ignore_errors=True))
    os.makedirs(path, mode=0o755, exist_ok=True)
    fs = subprocess.run(['stat', '-f', '-c', '%T', path], capture_output=True, text=True).stdout.strip()
    tap.require(fs not in ('tmpfs', 'ramfs', ''), f'{path} is on a disk file system ({fs})')
    return path


def runtime_spoof(tap, ctx, runtime):
    d = spoof_daemon(tap, ctx)
    check_run(tap, ctx, d, f'{runtime}: bind path (a working runc)', 'bind', (), trusted=False, runtime=runtime)
    check_run(tap, ctx, d, f'{runtime}: memfd path', 'memfd', CLONE_PATHS['memfd'], trusted=False, runtime=runtime)


def test_spoof_copy(tap, ctx):
    copy = os.path.join(spoof_dir(tap, 'copy'), 'runc')
    shutil.copy2(RUNC, copy)
    runtime_spoof(tap, ctx, copy)


def test_spoof_hard_link(tap, ctx):
    link = os.path.join(spoof_dir(tap, 'link'), 'runc')
    os.link(RUNC, link)
    st, lst = os.stat(RUNC), os.stat(link)
    tap.require((st.st_dev, st.st_ino) == (lst.st_dev, lst.st_ino), f'{link} is {RUNC}\'s inode')
    runtime_spoof(tap, ctx, link)


def memfd_spoof(tap, ctx, what, comm=None):
    d = spoof_daemon(tap, ctx)
    r = fl_exec('memfd', 'execveat', name='runc_cloned:/proc/self/exe', comm=comm, cgroup=ctx.spoof_cgroup)
    tap.ok(r.get('result') == BLOCKED, f'{what}: {BLOCKED}', r)
    evs = d.wait_event(lambda e: e.get('FILELESS_INODE') == r.get('ino') and e.get('FILELESS_DEVICE') == r.get('dev'))
    e = evs[0] if len(evs) == 1 else {}
    tap.ok(e.get('FILELESS_ACTION') == BLOCKED and e.get('FILELESS_FILE_NAME') == 'memfd:runc_cloned:/proc/self/exe' and
           e.get('FILELESS_COMM') == (comm or 'fl-exec') and e.get('FILELESS_SCOPE') == SLICE,
           f'{what}: one event, {BLOCKED}, the memfd\'s name and comm {comm or "fl-exec"} in it', evs)


def test_spoof_memfd_name(tap, ctx):
    memfd_spoof(tap, ctx, 'a memfd named runc_cloned:/proc/self/exe')


def test_spoof_comm(tap, ctx):
    memfd_spoof(tap, ctx, 'a process named runc exec\'ing a memfd named runc_cloned:/proc/self/exe', comm='runc')


if __name__ == '__main__':
    run_cases('runc', globals(), setup=setup)
