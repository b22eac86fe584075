#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unit scopes and trusted executables, on the real kernel: a profile for the
processes of one unit or slice, read from the cgroup tree at the moment of
the exec; trust by the file's identity and name, never by a name a process
chooses. The cgroups are made here, as systemd would lay them out: the
root's chain of *.slice, then a unit."""

import ctypes
import os
import shutil
import signal
import subprocess
import time

from fltest import (FL_EXEC, Daemon, backend_under_test, blocked_action, cgroup2_dir, ensure_bpffs, fl_exec, on_exit,
                    run_cases)

BLOCKED = blocked_action()

RUNC_LIKE = r'''
import ctypes, os
ctypes.CDLL(None).prctl(15, b"runc", 0, 0, 0)   # PR_SET_NAME
fd = os.memfd_create("runc_cloned:/proc/self/exe", 0)
os.write(fd, open("/bin/true", "rb").read())
pid = os.fork()
if pid == 0:
    try:
        os.execv(f"/proc/self/fd/{fd}", ["runc", "init"])
    except OSError as e:
        os._exit(100 + e.errno)
_, st = os.waitpid(pid, 0)
print(f"signal {os.WTERMSIG(st)}" if os.WIFSIGNALED(st) else f"errno {os.WEXITSTATUS(st) - 100}")
'''
N = os.getpid()


def cgroup(*parts):
    """Makes the cgroup ROOT/parts... (and its parents), removed at exit."""
    root = cgroup2_dir()
    path = root
    for p in parts:
        path = os.path.join(path, p)
        if not os.path.isdir(path):
            os.mkdir(path)
            on_exit(lambda d=path: os.rmdir(d) if os.path.isdir(d) else None)
    return path


def start(tap, config):
    d = Daemon(tap)
    d.write_config(config)
    tap.require(d.start(), 'daemon ready', d.log_tail())
    return d


def event_for(d, r):
    evs = d.wait_event(lambda e: e.get('FILELESS_INODE') == r.get('ino') and e.get('FILELESS_DEVICE') == r.get('dev'))
    return evs[0] if len(evs) == 1 else {}


def setup(tap):
    ensure_bpffs()
    tap.require(cgroup2_dir() is not None, 'a cgroup2 hierarchy is mounted')


def test_scope_of_a_unit(tap, _):
    unit = f'fltest-{N}.scope'
    d = start(tap, f'[Fileless]\nProfile=allow\n\n[Scope]\nUnit={unit}\nProfile=restricted\n')
    tap.ok('1 unit scope' in (d.notify_value('STATUS') or ''), 'STATUS= counts the scope', d.notify_value('STATUS'))
    r = fl_exec('memfd', 'proc-self', name='in-scope', cgroup=cgroup(unit))
    tap.ok(r.get('result') == BLOCKED, f'in {unit}: {BLOCKED} under its scope', r)
    e = event_for(d, r)
    tap.ok(e.get('FILELESS_SCOPE') == unit and e.get('FILELESS_PROFILE') == 'restricted',
           'the event names the scope that decided and its profile', e)
    r = fl_exec('memfd', 'proc-self', name='outside')
    tap.ok(r.get('result') == 'ran', 'outside it: the machine-wide allow', r)
    e = event_for(d, r)
    tap.ok(e and 'FILELESS_SCOPE' not in e and e.get('FILELESS_PROFILE') == 'allow',
           'no scope field where the machine-wide profile decided', e)


def test_nearest_scope_wins(tap, _):
    outer, inner, unit = f'fltest{N}.slice', f'fltest{N}-inner.slice', f'fltest-{N}-a.scope'
    d = start(tap, f'[Fileless]\nProfile=allow\n\n[Scope]\nUnit={outer}\nProfile=restricted\n\n'
                   f'[Scope]\nUnit={unit}\nProfile=allow\n')
    r = fl_exec('memfd', 'proc-self', name='nearest-unit', cgroup=cgroup(outer, inner, unit))
    tap.ok(r.get('result') == 'ran' and event_for(d, r).get('FILELESS_SCOPE') == unit,
           'a unit scope below a restricted slice wins: allowed', r)
    r = fl_exec('memfd', 'proc-self', name='nearest-slice', cgroup=cgroup(outer, inner, f'fltest-{N}-b.scope'))
    tap.ok(r.get('result') == BLOCKED and event_for(d, r).get('FILELESS_SCOPE') == outer,
           'another unit of the slice gets the slice\'s scope', r)


def test_no_scope_below_a_unit(tap, _):
    """A cgroup below a unit (a delegated subtree) never names a scope, even
    one called like a unit."""
    unit = f'fltest-{N}-d.scope'
    d = start(tap, f'[Fileless]\nProfile=allow\n\n[Scope]\nUnit={unit}\nProfile=restricted\n\n'
                   '[Scope]\nUnit=sshd.service\nProfile=allow\n')
    r = fl_exec('memfd', 'proc-self', name='delegated', cgroup=cgroup(unit, 'sshd.service'))
    e = event_for(d, r)
    tap.ok(r.get('result') == BLOCKED and e.get('FILELESS_SCOPE') == unit and e.get('FILELESS_UNIT') == unit,
           'a child cgroup called sshd.service gets neither sshd.service\'s scope nor its name', (r, e))


def test_new_cgroup_no_window(tap, _):
    """A unit restarted gets a new cgroup: its first exec is already under
    the scope, 100 times in a row."""
    unit = f'fltest-{N}-r.scope'
    start(tap, f'[Fileless]\nProfile=allow\n\n[Scope]\nUnit={unit}\nProfile=restricted\n')
    root = cgroup2_dir()
    stopped = 0
    for i in range(100):
        path = os.path.join(root, unit)
        os.mkdir(path)
        try:
            r = fl_exec('memfd', 'proc-self', name=f'restart-{i}', cgroup=path)
            stopped += r.get('result') == BLOCKED
        finally:
            os.rmdir(path)
    tap.ok(stopped == 100, f'{stopped} of 100 first execs in a new cgroup of the unit were {BLOCKED}')


def fs_type(path):
    return subprocess.run(['stat', '-f', '-c', '%T', path], capture_output=True, text=True).stdout.strip()


def root_dir(tap, what):
    """A directory only root can change, on a disk file system: not /tmp or
    /var/tmp (anybody may write there), not /run (a tmpfs on a normal host,
    which TrustedExecutable= refuses). Removed at exit."""
    d = f'/var/lib/fltest-{what}-{N}'
    os.makedirs(d, mode=0o755, exist_ok=True)
    os.chmod(d, 0o755)
    on_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    tap.require(fs_type(d) not in ('tmpfs', 'ramfs'), f'{d} is not on a tmpfs', fs_type(d))
    return d


def trusted_copy(tap, name='fl-exec', source=FL_EXEC):
    """A copy of SOURCE where only root can change it."""
    path = os.path.join(root_dir(tap, 'trust'), name)
    shutil.copy2(source, path)
    os.chmod(path, 0o755)
    return path


def loader_free_env():
    """This environment without the variables that deny trust (meson test
    sets LD_LIBRARY_PATH for the build's libraries)."""
    return {k: v for k, v in os.environ.items() if not k.startswith('LD_') and k != 'GCONV_PATH'}


def fl_exec_as(binary, *args, prefix=()):
    p = subprocess.run([*prefix, binary, *args], capture_output=True, text=True, timeout=60, env=loader_free_env())
    out = dict(kv.split('=', 1) for kv in p.stdout.split() if '=' in kv)
    return {k: v.strip('"') for k, v in out.items()}


def test_trusted_executable(tap, _):
    exe = trusted_copy(tap)
    d = start(tap, f'[Fileless]\nProfile=restricted\nTrustedExecutable={exe}\n')
    tap.ok(f'Trusting {exe}' in d.output(), 'the daemon says whom it trusts', d.log_tail())
    r = fl_exec_as(exe, 'memfd', 'proc-self')
    tap.ok(r.get('result') == 'ran', 'its processes run a memfd under restricted', r)
    e = event_for(d, r)
    tap.ok(e.get('FILELESS_ACTION') == 'allowed-trusted' and e.get('PRIORITY') == '6',
           'logged as allowed-trusted at priority info', e)

    copy = os.path.join(os.path.dirname(exe), 'a-copy')
    shutil.copy2(exe, copy)
    r = fl_exec_as(copy, 'memfd', 'proc-self')
    tap.ok(r.get('result') == BLOCKED, 'a copy of it is not trusted', r)
    link = os.path.join(os.path.dirname(exe), 'a-hard-link')
    os.link(exe, link)
    r = fl_exec_as(link, 'memfd', 'proc-self')
    tap.ok(r.get('result') == BLOCKED, 'a hard link to it under another name is not trusted', r)
    r = fl_exec_as(exe, 'memfd', 'proc-self', prefix=('unshare', '--pid', '--fork'))
    tap.ok(r.get('result') == BLOCKED, 'in another pid namespace it is not trusted', r)
    # runc's own memfd name and comm, chosen by the caller: no trust.
    p = subprocess.run(['python3', '-c', RUNC_LIKE], capture_output=True, text=True, timeout=60)
    tap.ok(p.stdout.strip() == f'signal {signal.SIGKILL.value}' if BLOCKED == 'killed' else 'errno 1',
           'a memfd named runc_cloned:/proc/self/exe, exec\'d by a process called runc, is not trusted', p)


FL_PRELOAD_EXEC = os.environ.get('FL_PRELOAD_EXEC', os.path.join(os.path.dirname(FL_EXEC), '..', 'fl-preload-exec'))
FL_PRELOAD_LIB = os.environ.get('FL_PRELOAD_LIB', os.path.join(os.path.dirname(FL_PRELOAD_EXEC),
                                                              'libfl-preload-exec.so'))
NOBODY = ('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all')
RUNC = '/usr/sbin/runc'


def preload_exec(d, prefix, cmd, env=()):
    """Runs CMD (fl-preload-exec, or a program with its library preloaded)
    under PREFIX (setpriv, strace), with ENV (VAR=VALUE...) set for CMD
    alone; returns what it printed and the one event of its memfd exec (an
    empty dict if there is not exactly one)."""
    seen = len(d.events())
    r = fl_exec_as(*prefix, 'env', *env, *cmd)
    evs = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:fl-preload-payload', after=seen)
    return r, evs[0] if len(evs) == 1 else {}


def test_trust_hijack(tap, _):
    """Trust is for the trusted program as it was installed, run by root:
    never for a user's process, code an ld.so variable loaded into it, or a
    process under ptrace. The payload exec is made by a forked child, so the
    control also shows that trust goes from parent to child at fork."""
    exe = trusted_copy(tap, 'fl-preload-exec', FL_PRELOAD_EXEC)
    trusted = [exe] + ([RUNC] if os.path.exists(RUNC) else [])
    d = start(tap, '[Fileless]\nProfile=restricted\n' + ''.join(f'TrustedExecutable={t}\n' for t in trusted))
    tap.ok('rootless' in d.output() and 'LD_PRELOAD' in d.output(),
           'the start log says whom trust is not for (rootless runtimes, ld.so variables)', d.log_tail())
    preload = (f'LD_PRELOAD={FL_PRELOAD_LIB}',)

    r, e = preload_exec(d, (), [exe])
    tap.ok(r.get('result') == 'ran' and r.get('how') == 'program' and e.get('FILELESS_ACTION') == 'allowed-trusted',
           'control: root runs the trusted program, its child\'s memfd exec is allowed-trusted', (r, e))
    for who, prefix, env, why in (
            ('root', (), preload, 'LD_PRELOAD'),
            ('root', (), (f'LD_AUDIT={FL_PRELOAD_LIB}',), 'LD_AUDIT'),
            ('root', (), ('LD_LIBRARY_PATH=/nonexistent',), 'LD_LIBRARY_PATH alone (the program itself execs)'),
            ('root', (), ('GCONV_PATH=/nonexistent',), 'GCONV_PATH alone'),
            ('nobody', NOBODY, (), 'no ld.so variable'),
            ('nobody', NOBODY, preload, 'LD_PRELOAD (the reported hijack)'),
            ('root', ('strace', '-f', '-qq', '-o', '/dev/null'), (), 'under ptrace (strace -f)')):
        r, e = preload_exec(d, prefix, [exe], env)
        tap.ok(r.get('result') == BLOCKED and e.get('FILELESS_ACTION') == BLOCKED,
               f'{who}, {why}: {BLOCKED}, not trusted', (r, e))
    if os.path.exists(RUNC):
        for who, prefix in (('root', ()), ('nobody', NOBODY)):
            r, e = preload_exec(d, prefix, [RUNC, '--version'], preload)
            tap.ok(r.get('result') == BLOCKED and r.get('how') == 'library' and e.get('FILELESS_PROGRAM') == 'runc'
                   and e.get('FILELESS_ACTION') == BLOCKED,
                   f'{who}: a library preloaded into the real, trusted {RUNC} is {BLOCKED}', (r, e))
    else:
        tap.ok(False, f'{RUNC} is installed (tools/install-deps.sh --tests installs runc)')
    r, e = preload_exec(d, (), [exe])
    tap.ok(r.get('result') == 'ran' and e.get('FILELESS_ACTION') == 'allowed-trusted',
           'control again: the clean program is still trusted', (r, e))


def kernel_has_prepare_exec():
    """The sched_prepare_exec tracepoint (6.10), by its type in the kernel's BTF."""
    with open('/sys/kernel/btf/vmlinux', 'rb') as f:
        return b'btf_trace_sched_prepare_exec\0' in f.read()


def test_trust_rules_logged(tap, _):
    """The daemon says at start whom trust is for, or, on the tracepoint
    backend of a kernel without sched_prepare_exec, that it trusts nobody:
    and there the trusted program's exec is stopped like any other."""
    exe = trusted_copy(tap, 'fl-preload-exec', FL_PRELOAD_EXEC)
    d = start(tap, f'[Fileless]\nProfile=restricted\nTrustedExecutable={exe}\n')
    none = backend_under_test() == 'tracepoint' and not kernel_has_prepare_exec()
    tap.ok(('TrustedExecutable= has no effect here' in d.output()) == none and
           ('rootless runtime' in d.output()) == (not none),
           'trusts nothing (tracepoint, no sched_prepare_exec)' if none else
           'the rules of trust, rootless runtimes not trusted', d.log_tail())
    r, e = preload_exec(d, (), [exe])
    want = BLOCKED if none else 'allowed-trusted'
    tap.ok(e.get('FILELESS_ACTION') == want and r.get('result') == (BLOCKED if none else 'ran'),
           f'the clean trusted program, run by root: {want}', (r, e))


def test_trusted_file_replaced(tap, _):
    exe = trusted_copy(tap)
    d = start(tap, f'[Fileless]\nProfile=restricted\nTrustedExecutable={exe}\n')
    old_ino = os.stat(exe).st_ino
    new = exe + '.new'
    shutil.copy2(FL_EXEC, new)
    os.rename(new, exe)  # what a package upgrade does
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and f'(inode {os.stat(exe).st_ino})' not in d.output():
        time.sleep(0.1)
    tap.ok(f'(inode {os.stat(exe).st_ino})' in d.output(), 'the replacement is noticed and trusted',
           d.log_tail())
    r = fl_exec_as(exe, 'memfd', 'proc-self')
    tap.ok(r.get('result') == 'ran', 'the new file\'s processes run a memfd', r)
    tap.ok(os.stat(exe).st_ino != old_ino, 'it is another inode', (old_ino, os.stat(exe).st_ino))


def own_mount_namespace(tap):
    """Moves this test (and the daemons it starts) into a mount namespace of
    its own, so that its mounts vanish with it whatever happens; they are
    also unmounted at the end of the case."""
    libc = ctypes.CDLL(None, use_errno=True)
    tap.require(libc.unshare(0x00020000) == 0, 'a mount namespace of its own (CLONE_NEWNS)',
                os.strerror(ctypes.get_errno()))
    subprocess.run(['mount', '--make-rprivate', '/'], check=True)


def mount(tap, *args):
    p = subprocess.run(['mount', *args], capture_output=True, text=True)
    tap.require(p.returncode == 0, f'mount {" ".join(args)}', p.stderr)
    on_exit(lambda: subprocess.run(['umount', '-l', args[-1]], capture_output=True))


def test_trusted_on_overlay(tap, _):
    """A trusted file on an overlay whose layers are on different file
    systems (xino off): stat() shows the real file's device, the kernel the
    overlay's. The identity must be the kernel's, or trust never applies."""
    own_mount_namespace(tap)
    base = root_dir(tap, 'overlay')
    lower, rw, merged = (os.path.join(base, n) for n in ('lower', 'rw', 'merged'))
    for p in (lower, rw, merged):
        os.mkdir(p, 0o755)
    shutil.copy2(FL_PRELOAD_EXEC, os.path.join(lower, 'fl-preload-exec'))
    mount(tap, '-t', 'tmpfs', '-o', 'mode=0755', 'fltest', rw)
    for p in ('upper', 'work'):
        os.mkdir(os.path.join(rw, p), 0o755)
    mount(tap, '-t', 'overlay', '-o', f'lowerdir={lower},upperdir={rw}/upper,workdir={rw}/work,xino=off',
          'fltest', merged)
    exe = os.path.join(merged, 'fl-preload-exec')
    st, top = os.stat(exe), os.stat(merged)
    tap.ok(st.st_dev != top.st_dev and fs_type(merged) == 'overlayfs',
           'stat() of the file shows another device than the overlay\'s own (the one the kernel knows it by)',
           (st, top))
    d = start(tap, f'[Fileless]\nProfile=restricted\nTrustedExecutable={exe}\n')
    tap.ok(f'Trusting {exe}' in d.output(), 'the daemon trusts it', d.log_tail())
    r, e = preload_exec(d, (), [exe])
    tap.ok(r.get('result') == 'ran' and e.get('FILELESS_ACTION') == 'allowed-trusted',
           'its memfd exec is allowed-trusted: the identity is the one the kernel sees', (r, e))
    r, e = preload_exec(d, (), [os.path.join(lower, 'fl-preload-exec')])
    tap.ok(r.get('result') == BLOCKED, 'the same file run from the lower directory (another name) is not trusted',
           (r, e))


def test_trusted_bind_mount(tap, _):
    """A single file bind-mounted over another name: the kernel knows it by
    its source's directory and name, which is not what the daemon checked.
    Refused with a clear error; trusting the source works, by whichever path
    the file is run."""
    own_mount_namespace(tap)
    base = root_dir(tap, 'bind')
    src, dst = os.path.join(base, 'src'), os.path.join(base, 'dst')
    os.mkdir(src, 0o755)
    os.mkdir(dst, 0o755)
    source = os.path.join(src, 'fl-preload-exec')
    shutil.copy2(FL_PRELOAD_EXEC, source)
    target = os.path.join(dst, 'runc')
    open(target, 'w').close()
    mount(tap, '--bind', source, target)
    d = Daemon(tap)
    d.write_config(f'[Fileless]\nProfile=restricted\nTrustedExecutable={target}\n')
    tap.ok(d.start(wait_ready=False) is None and d.wait_exit() == 6 and
           f'filelesslockd.conf:3: TrustedExecutable={target}' in d.output() and 'bind mount' in d.output(),
           'a trusted path that is a file bind-mounted there: exit 6, FILE:LINE, naming the file and why',
           d.output())
    d = start(tap, f'[Fileless]\nProfile=restricted\nTrustedExecutable={source}\n')
    r, e = preload_exec(d, (), [target])
    tap.ok(r.get('result') == 'ran' and e.get('FILELESS_ACTION') == 'allowed-trusted',
           'the source trusted: run through the bind mount it is the same file to the kernel', (r, e))


def test_trusted_refused(tap, _):
    d = Daemon(tap)
    bad = f'/run/fltest-untrusted-{N}'
    os.makedirs(bad, exist_ok=True)
    on_exit(lambda: shutil.rmtree(bad, ignore_errors=True))
    shutil.copy2(FL_EXEC, os.path.join(bad, 'x'))
    os.chmod(bad, 0o777)
    d.write_config(f'[Fileless]\n\nTrustedExecutable={bad}/x\n')
    tap.ok(d.start(wait_ready=False) is None and d.wait_exit() == 6 and
           f'filelesslockd.conf:3: TrustedExecutable={bad}/x' in d.output() and 'writable by everyone' in d.output(),
           'a trusted file in a directory anybody can write to: exit 6, FILE:LINE and why', d.output())
    d.write_config(f'[Fileless]\nTrustedExecutable=/dev/shm/fltest-{N}\n')
    shutil.copy2(FL_EXEC, f'/dev/shm/fltest-{N}')
    on_exit(lambda: os.unlink(f'/dev/shm/fltest-{N}'))
    tap.ok(d.start(wait_ready=False) is None and d.wait_exit() == 6 and 'tmpfs' in d.output_since_start(),
           'a trusted file on a tmpfs: exit 6, saying so', d.output_since_start())


def test_scope_config_errors(tap, _):
    for config, want in (('[Scope]\nProfile=restricted\n', ':1: [Scope] needs Unit='),
                         ('[Scope]\nUnit=nginx\nProfile=restricted\n', ':2: invalid Unit="nginx"'),
                         ('[Scope]\nUnit=foo@.service\nProfile=allow\n', ':2: invalid Unit="foo@.service"'),
                         ('[Scope]\nUnit=a.service\nProfile=restrictd\n', ':3: invalid Profile="restrictd"'),
                         ('[Scope]\nUnit=a.service\nPolicy=allow\n', ':3: unknown key "Policy" in section [Scope]')):
        d = Daemon(tap)
        d.write_config(config)
        d.start(wait_ready=False)
        tap.ok(d.wait_exit() == 6 and want in d.output(), f'{want.split(": ", 1)[1]}: exit 6, FILE:LINE',
               d.output())


if __name__ == '__main__':
    run_cases('scopes', globals(), setup=setup)
