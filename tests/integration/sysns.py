# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real systemd as PID 1 of throwaway namespaces, for integration tests.

    m = Machine(destdir='/tmp/x/dest', extra_files={'/etc/foo': 'text'})
    m.add_user('fltest-allowed', 4711)
    m.boot(timeout=30)
    r = m.run(['systemctl', 'status', 'dbus'], user='fltest-allowed')
    m.shutdown()

The machine is systemd booted on an overlay of the host's / (upper layer on a
tmpfs) in new pid, mount, uts, ipc, net and cgroup namespaces, with a fresh
/proc (/proc/sys read-only), read-only /sys, its own cgroup2 and bpffs, a
minimal /dev and tmpfs /run, /tmp and /dev/shm (see sysns-boot.sh). The
DESTDIR tree (`DESTDIR=... meson install`) and the extra files are copied
into it before systemd starts. Nothing is mounted on the host: every mount
lives in the machine's mount namespace and disappears with its last process.
On the host it leaves only a scratch directory ($TMPDIR/sysns-<pid>-<n>-*)
and a cgroup (<cgroup2>/sysns-<pid>-<n>), both removed by shutdown(), which
also runs at exit and on SIGTERM/SIGINT/SIGHUP. If the test process is
SIGKILLed, the machine dies with it (PDEATHSIG) and the next boot() removes
the leftover directory and cgroup.

Run as root, with /usr/bin/python3 (standard library only)."""

import atexit
import fcntl
import os
import re
import secrets
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT_SCRIPT = os.path.join(HERE, 'sysns-boot.sh')
HOSTNAME = 'flns'
PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# Units masked in every machine, and why. Without any mask the boot still
# reaches `running` (in 4.3 s instead of 1.2 s), nothing fails; but then it
# starts the host's postgresql, a getty on the console, mounts debugfs and
# tracefs and runs modprobe and modules-load against the host's kernel:
# kernel-wide state the namespaces do not isolate. None of these units is
# needed for D-Bus, journald, polkit or the daemon. Unmask with unmask=[...].
DEFAULT_MASK = {
    # Kernel-wide state that namespaces do not isolate.
    'systemd-modules-load.service': 'loads modules into the host kernel (CAP_SYS_MODULE)',
    'kmod-static-nodes.service': 'host kernel modules; no kmod here',
    'systemd-sysctl.service': 'host sysctls (skipped anyway: /proc/sys is read-only)',
    'systemd-binfmt.service': 'host binfmt_misc',
    'proc-sys-fs-binfmt_misc.automount': 'host binfmt_misc',
    'proc-sys-fs-binfmt_misc.mount': 'host binfmt_misc',
    'systemd-timesyncd.service': 'would set the host clock (skipped in a container anyway)',
    'systemd-random-seed.service': 'reads the host seed and feeds the host RNG',
    'systemd-pstore.service': 'host pstore',
    'sys-kernel-debug.mount': 'host debugfs',
    'sys-kernel-tracing.mount': 'host tracefs',
    'sys-kernel-config.mount': 'host configfs',
    'sys-fs-fuse-connections.mount': 'host fusectl',
    'dev-hugepages.mount': 'hugetlbfs, not needed',
    'modprobe@.service': 'loads modules into the host kernel (all instances)',
    # Host services enabled on these machines: heavy or pointless here.
    'postgresql.service': 'enabled on the host, heavy, not needed',
    'e2scrub_reap.service': 'enabled on the host: scans LVM snapshots',
    'e2scrub_all.timer': 'host timer',
    'apt-daily.timer': 'host timer',
    'apt-daily-upgrade.timer': 'host timer',
    'dpkg-db-backup.timer': 'host timer',
    'fstrim.timer': 'host timer',
    'man-db.timer': 'host timer',
    'logrotate.timer': 'host timer',
    'systemd-tmpfiles-clean.timer': 'ages files; pointless in a throwaway root',
    # Terminals: the machine has none (its console is a pty read by sysns).
    'getty@tty1.service': 'no virtual terminals',
    'getty.target': 'no virtual terminals',
    'console-getty.service': 'the console is a log',
    'serial-getty@.service': 'no serial lines',
}

_SIGRTMIN_4 = signal.SIGRTMIN + 4


class SysnsError(Exception):
    pass


class BootError(SysnsError):
    """Boot did not reach `running`. .state is the last state seen
    ('degraded', 'timeout', 'exited', ...), .failed the failed units,
    .details status output and the console tail."""

    def __init__(self, msg, state=None, failed=(), details=''):
        super().__init__(msg + ('\n' + details if details else ''))
        self.state = state
        self.failed = list(failed)
        self.details = details


# --- cleanup at exit and on signals -------------------------------------------

_machines = []
_prev_handlers = {}
_handlers_installed = False


def shutdown_all():
    """Shuts down every machine this process booted (idempotent)."""
    for m in list(_machines):
        try:
            m.shutdown()
        except Exception as e:  # cleanup must go on
            print(f'# sysns: shutdown failed: {e}', flush=True)


def _on_signal(sig, frame):
    shutdown_all()
    prev = _prev_handlers.get(sig)
    if callable(prev):
        prev(sig, frame)
    elif prev != signal.SIG_IGN:
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)


def _install_handlers():
    """Installed when the first machine is created (not at import), so that a
    handler another module set before (fltest.py's) is chained, not lost."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(shutdown_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        _prev_handlers[sig] = signal.getsignal(sig)
        signal.signal(sig, _on_signal)


# --- cgroups -------------------------------------------------------------------

def cgroup2_mount():
    """Where the host's cgroup2 hierarchy is mounted: /sys/fs/cgroup on a
    unified host, /sys/fs/cgroup/unified on a hybrid one."""
    found = []
    with open('/proc/self/mounts') as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == 'cgroup2':
                found.append(mnt)
    if not found:
        raise SysnsError('no cgroup2 hierarchy mounted on the host')
    for pref in ('/sys/fs/cgroup', '/sys/fs/cgroup/unified'):
        if pref in found:
            return pref
    return found[0]


def _cg_procs(path):
    pids = []
    for d, _, _ in os.walk(path):
        try:
            with open(os.path.join(d, 'cgroup.procs')) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def _cg_populated(path):
    try:
        with open(os.path.join(path, 'cgroup.events')) as f:
            return 'populated 1' in f.read()
    except FileNotFoundError:
        return False


def _cg_kill(path):
    """Kills every process in the subtree (cgroup.kill, or one by one)."""
    try:
        with open(os.path.join(path, 'cgroup.kill'), 'w') as f:
            f.write('1')
    except OSError:
        pass
    for pid in _cg_procs(path):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _cg_remove(path, timeout=10):
    """Kills what is left in the subtree and removes it, deepest first."""
    if not os.path.isdir(path):
        return True
    deadline = time.monotonic() + timeout
    while _cg_populated(path) and time.monotonic() < deadline:
        _cg_kill(path)
        time.sleep(0.05)
    ok = True
    for d, _, _ in sorted(os.walk(path), key=lambda t: -t[0].count('/')):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:  # EBUSY: a process is still being reaped
                time.sleep(0.05)
        else:
            ok = False
    return ok


def _owner_dead(pid):
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False


def sweep_stale():
    """Removes the cgroups and scratch directories of test processes that
    died without cleaning up (SIGKILL): their machines died with them
    (PDEATHSIG), those stay. Called by every boot()."""
    try:
        base = cgroup2_mount()
        for name in os.listdir(base):
            mt = re.fullmatch(r'sysns-(\d+)-\d+', name)
            if mt and _owner_dead(int(mt.group(1))):
                _cg_remove(os.path.join(base, name), timeout=2)
    except (OSError, SysnsError):
        pass
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        mt = re.fullmatch(r'sysns-(\d+)-\d+-[^/]+', name)
        path = os.path.join(tmp, name)
        # Nothing was mounted there on the host: the mounts were in the
        # machine's mount namespace.
        if mt and _owner_dead(int(mt.group(1))) and os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)


# --- passwd files ----------------------------------------------------------------

def _read_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _names(lines):
    return {l.split(':', 1)[0] for l in lines if l and not l.startswith('#')}


def _ids(lines, field=2):
    ids = set()
    for l in lines:
        parts = l.split(':')
        if len(parts) > field and parts[field].isdigit():
            ids.add(int(parts[field]))
    return ids


ACCOUNT_FILES = ('passwd', 'group', 'shadow', 'gshadow')


def _add_accounts(files, users):
    """FILES: {'passwd': [lines], 'group': ..., 'shadow': ..., 'gshadow': ...};
    adds USERS [(name, uid, gid, groups, home, shell)] to them in place."""
    for name, uid, gid, groups, home, shell in users:
        if name in _names(files['passwd']):
            raise SysnsError(f'user {name} exists already')
        if uid in _ids(files['passwd']):
            raise SysnsError(f'uid {uid} is taken')
        if name not in _names(files['group']):
            if gid in _ids(files['group']):
                raise SysnsError(f'gid {gid} is taken')
            files['group'].append(f'{name}:x:{gid}:')
            files['gshadow'].append(f'{name}:!::')
        files['passwd'].append(f'{name}:x:{uid}:{gid}:{name}:{home}:{shell}')
        files['shadow'].append(f'{name}:!:19000:0:99999:7:::')
        for g in groups:
            for key in ('group', 'gshadow'):
                lines = files[key]
                for i, l in enumerate(lines):
                    parts = l.split(':')
                    if parts[0] == g and len(parts) > 3:
                        members = [x for x in parts[3].split(',') if x]
                        if name not in members:
                            members.append(name)
                        parts[3] = ','.join(members)
                        lines[i] = ':'.join(parts)
                        break
                else:
                    if key == 'group':
                        raise SysnsError(f'group {g} does not exist')


def polkit_rule(action, allowed=(), refused=()):
    """A polkit rules.d file (JavaScript) that decides ACTION by user name:
    YES for the users in ALLOWED, NO for those in REFUSED, the action's
    defaults for everybody else."""
    lines = [f'polkit.addRule(function(action, subject) {{',
             f'    if (action.id != "{action}")',
             '        return polkit.Result.NOT_HANDLED;']
    for users, result in ((allowed, 'YES'), (refused, 'NO')):
        for u in users:
            lines += [f'    if (subject.user == "{u}")', f'        return polkit.Result.{result};']
    lines += ['    return polkit.Result.NOT_HANDLED;', '});', '']
    return '\n'.join(lines)


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name (state first), or
    None if the process is gone."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(')') + 2:].split()


def _pgrp_members(pgid):
    pids = []
    for p in os.listdir('/proc'):
        fields = proc_stat(p) if p.isdigit() else None
        if fields and int(fields[2]) == pgid:
            pids.append(int(p))
    return pids


def _kill_nsenter(p):
    """Kills a command started through nsenter (Popen P, its own process
    group). The command inside is killed first, so that nsenter reaps it:
    killed together, the command's zombie would go to the host's init."""
    for pid in _pgrp_members(p.pid):
        if pid != p.pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()


_counter = 0


class Machine:
    """One booted systemd. See the module docstring.

    destdir      a DESTDIR tree copied over / (None: nothing)
    extra_files  {absolute path: str | bytes | (str | bytes, mode)} written
                 after the DESTDIR (mode 0644 unless given; parents 0755)
    units_dir    a directory whose content is copied to /etc/systemd/system
    hostname     of the machine ('flns')
    target       the unit systemd boots into ('multi-user.target')
    mask         more units to mask (names); unmask: DEFAULT_MASK entries to keep
    systemd_args extra arguments for systemd (e.g. ['--log-level=debug'])
    keep         keep the scratch directory (console log) after shutdown;
                 also when SYSNS_KEEP=1 is in the environment
    """

    def __init__(self, destdir=None, extra_files=None, units_dir=None, *, hostname=HOSTNAME,
                 target='multi-user.target', mask=(), unmask=(), systemd_args=(), keep=None):
        global _counter
        _counter += 1
        self.id = f'sysns-{os.getpid()}-{_counter}'
        if destdir is not None and not os.path.isdir(destdir):
            raise SysnsError(f'destdir {destdir} is not a directory')
        self.destdir = os.path.abspath(destdir) if destdir else None
        self.extra_files = dict(extra_files or {})
        self.units_dir = units_dir
        self.hostname = hostname
        self.target = target
        self.masked = {u: r for u, r in DEFAULT_MASK.items() if u not in set(unmask)}
        for u in mask:
            self.masked.setdefault(u, 'masked by the test')
        self.systemd_args = list(systemd_args)
        self.keep = keep if keep is not None else os.environ.get('SYSNS_KEEP') == '1'
        self.users = []
        self.pid1 = None
        self.boot_time = None
        self.state = None
        self.failed_units = []
        self.work = None
        self.console_log = None
        self.cgroup = None
        self._proc = None
        self._pidfd = None
        self._pty = None
        self._console_thread = None
        self._console_stop = threading.Event()
        self._console_text = None
        self._booted = False
        self._down = False

    # -- before boot

    def add_user(self, name, uid, groups=(), gid=None, home='/nonexistent', shell='/bin/sh'):
        """An account (with its own group, gid = uid unless given, and a locked
        password) in the machine's passwd/group/shadow; GROUPS are existing
        supplementary groups. Before boot it is staged; after boot the live
        files are edited. The host's files are never touched."""
        u = (name, int(uid), int(uid if gid is None else gid), list(groups), home, shell)
        if self._booted and not self._down:
            files = {}
            for n in ACCOUNT_FILES:
                r = self.run(['cat', '/etc/' + n])
                files[n] = r.stdout.splitlines() if r.returncode == 0 else None
            have = {n: v for n, v in files.items() if v is not None}
            _add_accounts({n: have.get(n, []) for n in ACCOUNT_FILES}, [u])
            for n, lines in have.items():
                self._replace_file('/etc/' + n, '\n'.join(lines) + '\n')
        self.users.append(u)

    # -- boot

    def boot(self, timeout=30, allow_degraded=False):
        """Boots and waits for `systemctl is-system-running --wait`. Returns
        the state ('running', or 'degraded' with ALLOW_DEGRADED); otherwise
        raises BootError naming the failed units, and shuts down."""
        if self._booted:
            raise SysnsError('a Machine boots once')
        self._booted = True
        _install_handlers()
        _machines.append(self)
        sweep_stale()
        t0 = time.monotonic()
        try:
            self._prepare()
            self._start()
            state = self._wait_booted(t0 + timeout)
        except BaseException:
            self._console_text = self.console_output()
            self.shutdown()
            raise
        self.boot_time = time.monotonic() - t0
        self.state = state
        if state != 'running':
            self.failed_units = self._failed()
        if state == 'running' or (state == 'degraded' and allow_degraded):
            return state
        details = self._failure_details(self.failed_units)
        self._console_text = self.console_output()
        self.shutdown()
        raise BootError(f'{self.id}: boot ended {state}, failed units: {" ".join(self.failed_units) or "-"}',
                        state, self.failed_units, details)

    def _prepare(self):
        self.work = tempfile.mkdtemp(prefix=f'{self.id}-')
        os.chmod(self.work, 0o700)
        os.mkdir(os.path.join(self.work, 'mnt'))
        self.console_log = os.path.join(self.work, 'console.log')
        stage = os.path.join(self.work, 'stage')
        os.mkdir(stage, 0o755)

        def put(path, content, mode=0o644):
            """Writes below the stage, never through a symbolic link there
            (the masks point to /dev/null: of the host, here)."""
            dst = os.path.join(stage, path.lstrip('/'))
            d = stage
            for part in os.path.dirname(path).strip('/').split('/'):
                d = os.path.join(d, part)
                if os.path.islink(d):
                    raise SysnsError(f'extra file {path}: {d} is a symbolic link in the stage')
                if not os.path.isdir(d):
                    os.mkdir(d, 0o755)
            if os.path.lexists(dst):
                os.unlink(dst)
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with open(fd, 'wb') as f:
                f.write(content.encode() if isinstance(content, str) else content)
                os.fchmod(f.fileno(), mode)
            return dst

        put('/etc/machine-id', secrets.token_hex(16) + '\n', 0o444)
        put('/etc/hostname', self.hostname + '\n')
        unitdir = os.path.join(stage, 'etc/systemd/system')
        os.makedirs(unitdir, mode=0o755, exist_ok=True)
        if self.units_dir:
            shutil.copytree(self.units_dir, unitdir, symlinks=True, dirs_exist_ok=True)
        for unit in self.masked:
            p = os.path.join(unitdir, unit)
            if not os.path.lexists(p):
                os.symlink('/dev/null', p)

        # Accounts: the DESTDIR's files if it has any, else the host's.
        src_etc = '/etc'
        if self.destdir and os.path.exists(os.path.join(self.destdir, 'etc/passwd')):
            src_etc = os.path.join(self.destdir, 'etc')
        users = list(self.users)
        if 'polkitd' not in _names(_read_lines(os.path.join(src_etc, 'passwd'))):
            taken = _ids(_read_lines(os.path.join(src_etc, 'passwd'))) | _ids(_read_lines(os.path.join(src_etc, 'group')))
            uid = next(i for i in range(999, 100, -1) if i not in taken)
            users.insert(0, ('polkitd', uid, uid, [], '/nonexistent', '/usr/sbin/nologin'))
        if users:
            files = {n: _read_lines(os.path.join(src_etc, n)) for n in ACCOUNT_FILES}
            _add_accounts(files, users)
            for n, lines in files.items():
                src = os.path.join(src_etc, n)
                if not os.path.exists(src):
                    continue
                dst = put('/etc/' + n, '\n'.join(lines) + '\n', os.stat(src).st_mode & 0o7777)
                os.chown(dst, os.stat(src).st_uid, os.stat(src).st_gid)

        for path, content in self.extra_files.items():
            if not path.startswith('/'):
                raise SysnsError(f'extra file {path}: not an absolute path')
            if isinstance(content, tuple):
                put(path, *content)
            else:
                put(path, content)

    def _start(self):
        cg2 = cgroup2_mount()
        self.cgroup = os.path.join(cg2, self.id)
        os.mkdir(self.cgroup)
        # Delegate what controllers there are (pure cgroup2 hosts); best effort.
        try:
            with open(os.path.join(self.cgroup, 'cgroup.controllers')) as f:
                ctrls = f.read().split()
            for c in ctrls:
                try:
                    with open(os.path.join(self.cgroup, 'cgroup.subtree_control'), 'w') as f:
                        f.write('+' + c)
                except OSError:
                    pass
        except OSError:
            pass
        os.mkdir(os.path.join(self.cgroup, 'machine'))  # the machine's cgroup root
        os.mkdir(os.path.join(self.cgroup, 'ctl'))      # unshare and nsenter helpers

        master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # no \n -> \r\n in the log
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        # Wide enough that systemd does not shorten unit names in its status.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 250, 0, 0))
        self._pty = (master, slave)
        pidfile = os.path.join(self.work, 'pid1')
        env = {
            'PATH': PATH,
            'LANG': 'C.UTF-8',
            'SYSNS_WORK': self.work,
            'SYSNS_PIDFILE': pidfile,
            'SYSNS_DESTDIR': self.destdir or '',
            'SYSNS_STAGE': os.path.join(self.work, 'stage'),
            'SYSNS_CONSOLE': os.ttyname(slave),
            'SYSNS_HOSTNAME': self.hostname,
            'SYSNS_UNIT': self.target,
            'SYSNS_SYSTEMD_ARGS': ' '.join(self.systemd_args),
        }
        # sh joins the cgroup and execs setpriv, which makes the kernel kill
        # unshare if we die, and unshare kills the machine's PID 1 if it dies.
        cmd = ['/bin/sh', '-c', 'echo $$ >"$0/cgroup.procs" && exec "$@"', os.path.join(self.cgroup, 'machine'),
               'setpriv', '--pdeathsig', 'KILL', '--',
               'unshare', '--pid', '--mount', '--uts', '--ipc', '--net', '--cgroup', '--fork',
               '--propagation', 'private', '--kill-child=SIGKILL',
               '/bin/bash', BOOT_SCRIPT]
        with open(self.console_log, 'ab') as log:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                          start_new_session=True, close_fds=True)
        self._console_thread = threading.Thread(target=self._console_reader, daemon=True)
        self._console_thread.start()

        deadline = time.monotonic() + 10
        while not os.path.exists(pidfile):
            if self._proc.poll() is not None:
                raise BootError(f'{self.id}: the boot script exited with {self._proc.returncode}',
                                'exited', details=self.console_tail())
            if time.monotonic() > deadline:
                raise BootError(f'{self.id}: the boot script did not start', 'timeout', details=self.console_tail())
            time.sleep(0.01)
        with open(pidfile) as f:
            self.pid1 = int(f.read())
        self._pidfd = os.pidfd_open(self.pid1)
        # The cgroup namespace is rooted at machine/ now: move unshare out of
        # it so that systemd finds its root cgroup free of foreign processes.
        try:
            with open(os.path.join(self.cgroup, 'ctl', 'cgroup.procs'), 'w') as f:
                f.write(str(self._proc.pid))
        except OSError:
            pass

    def _console_reader(self):
        master = self._pty[0]
        with open(self.console_log, 'ab', buffering=0) as log:
            while not self._console_stop.is_set():
                r, _, _ = select.select([master], [], [], 0.2)
                if not r:
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:
                    time.sleep(0.1)
                    continue
                if data:
                    log.write(data.replace(b'\r', b''))

    def _is_systemd(self):
        try:
            with open(f'/proc/{self.pid1}/comm') as f:
                return f.read().strip() == 'systemd'
        except OSError:
            return False

    def _wait_booted(self, deadline):
        state = 'initializing'
        while True:
            left = deadline - time.monotonic()
            if self._proc.poll() is not None:
                raise BootError(f'{self.id}: PID 1 exited ({self._proc.returncode}) during boot', 'exited',
                                details=self.console_tail())
            if left <= 0:
                failed = self._failed() if self._is_systemd() else []
                jobs = self.run(['systemctl', 'list-jobs', '--no-legend', '--plain'], timeout=5).stdout \
                    if self._is_systemd() else ''
                raise BootError(f'{self.id}: boot not finished after the timeout (state {state})', 'timeout',
                                failed, f'jobs:\n{jobs}\n' + self._failure_details(failed))
            if not self._is_systemd():  # still the boot script
                time.sleep(0.02)
                continue
            try:
                r = self.run(['systemctl', 'is-system-running', '--wait'], timeout=max(left, 0.5))
            except subprocess.TimeoutExpired:
                continue
            out = r.stdout.strip()
            if out:
                state = out
            if state in ('running', 'degraded', 'maintenance', 'stopping'):
                return state
            time.sleep(0.05)  # the manager's bus is not up yet

    def _failed(self):
        r = self.run(['systemctl', 'list-units', '--failed', '--no-legend', '--plain', '--all'], timeout=10)
        return [l.split()[0] for l in r.stdout.splitlines() if l.strip()]

    def _failure_details(self, failed):
        out = []
        for u in failed:
            r = self.run(['systemctl', 'status', '--no-pager', '-n', '15', u], timeout=10)
            out.append(r.stdout + r.stderr)
        out.append(self.console_tail())
        return '\n'.join(out)

    # -- using it

    @property
    def root(self):
        """Host path of the machine's root (/proc/PID1/root: its merged
        overlay). Beware: an absolute symbolic link met below it resolves on
        the host (/etc/systemd/system/x.service -> /dev/null is the host's
        /dev/null). Fine for reading plain files and lstat(); read_file() and
        write_file() work inside the machine instead."""
        if self.pid1 is None or self._down:
            raise SysnsError('the machine is not running')
        return f'/proc/{self.pid1}/root'

    def path(self, p):
        """Host path of the machine's path P (see root)."""
        return os.path.join(self.root, p.lstrip('/'))

    def _run_bytes(self, cmd, data=None, timeout=30):
        full, e = self.command(cmd)
        p = subprocess.Popen(full, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, start_new_session=True)
        try:
            out, err = p.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_nsenter(p)
            raise
        if p.returncode != 0:
            raise SysnsError(f'{cmd[:3]}...: {err.decode(errors="replace").strip()}')
        return out

    def read_file(self, p, binary=False):
        """Content of the machine's file P (read inside it)."""
        out = self._run_bytes(['cat', '--', p])
        return out if binary else out.decode(errors='replace')

    def write_file(self, p, content, mode=0o644):
        """Writes the machine's file P, inside it, creating parent
        directories (0755). P is replaced (renamed over), so a symbolic link
        there (a mask: -> /dev/null) is replaced, not followed."""
        data = content.encode() if isinstance(content, str) else content
        self._run_bytes(['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && t="$1.sysns-new" && cat >"$t" && '
                         'chmod "$2" -- "$t" && mv -fT -- "$t" "$1"', 'sh', p, f'{mode:o}'], data)

    def _replace_file(self, p, content):
        """Replaces P atomically, keeping its mode and owner."""
        data = content.encode() if isinstance(content, str) else content
        self._run_bytes(['sh', '-c', 't="$1.sysns-new" && cat >"$t" && chmod --reference="$1" -- "$t" && '
                         'chown --reference="$1" -- "$t" && mv -fT -- "$t" "$1"', 'sh', p], data)

    def _account(self, user):
        """(uid, gid, home) of USER (name or uid) in the machine."""
        for l in self.read_file('/etc/passwd').splitlines():
            parts = l.split(':')
            if len(parts) >= 7 and (parts[0] == str(user) or parts[2] == str(user)):
                return parts[0], int(parts[2]), int(parts[3]), parts[5]
        raise SysnsError(f'no user {user} in the machine')

    def command(self, cmd, user=None, env=None):
        """The host command line that runs CMD (list, or str for /bin/sh -c)
        in the machine, and its environment."""
        if isinstance(cmd, str):
            cmd = ['/bin/sh', '-c', cmd]
        e = {'PATH': PATH, 'LANG': 'C.UTF-8', 'TERM': 'dumb', 'SYSTEMD_PAGER': '', 'PAGER': 'cat',
             'SYSTEMD_COLORS': '0', 'SYSTEMD_LOG_COLOR': '0', 'HOME': '/root', 'USER': 'root', 'LOGNAME': 'root'}
        if user is not None and user not in ('root', 0):
            name, uid, gid, home = self._account(user)
            e.update(HOME=home, USER=name, LOGNAME=name)
            cmd = ['setpriv', f'--reuid={uid}', f'--regid={gid}', '--init-groups', '--'] + list(cmd)
        if env:
            e.update(env)
        full = ['/bin/sh', '-c', 'echo $$ >"$0/cgroup.procs" 2>/dev/null; exec "$@"', os.path.join(self.cgroup, 'ctl'),
                'nsenter', '-t', str(self.pid1), '-a', '--wd=/'] + list(cmd)
        return full, e

    def run(self, cmd, user=None, check=False, timeout=30, input=None, env=None):
        """Runs CMD in the machine (nsenter -t PID1 -a: all its namespaces and
        its root, as root, or as USER (name or uid, with its groups) through
        setpriv). A clean environment (PATH, LANG, HOME, USER, no pager, no
        colours) plus ENV. Returns CompletedProcess with text stdout/stderr;
        on timeout kills it (nsenter and the command inside) and raises
        subprocess.TimeoutExpired; CHECK raises CalledProcessError."""
        if self.pid1 is None or self._down:
            raise SysnsError('the machine is not running')
        full, e = self.command(cmd, user, env)
        p = subprocess.Popen(full, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, text=True,
                             start_new_session=True)
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_nsenter(p)
            raise
        r = subprocess.CompletedProcess(cmd, p.returncode, out, err)
        if check:
            r.check_returncode()
        return r

    def systemctl(self, *args, **kw):
        return self.run(['systemctl', '--no-pager', *args], **kw)

    def journal(self, *args, unit=None, lines=None, timeout=30):
        """journalctl output (--no-pager -o short-monotonic), for a unit or all."""
        cmd = ['journalctl', '--no-pager', '-o', 'short-monotonic']
        if unit:
            cmd += ['-u', unit]
        if lines is not None:
            cmd += ['-n', str(lines)]
        return self.run(cmd + list(args), timeout=timeout).stdout

    def wait_for(self, cmd, timeout=10, interval=0.1, **kw):
        """Runs CMD until it exits 0; returns the last CompletedProcess."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.run(cmd, **kw)
            if r.returncode == 0 or time.monotonic() > deadline:
                return r
            time.sleep(interval)

    # -- diagnostics

    def console_output(self):
        """Everything systemd and the boot script printed (the console)."""
        if self._console_text is not None:
            return self._console_text
        try:
            with open(self.console_log, errors='replace') as f:
                return f.read()
        except (OSError, TypeError):
            return ''

    def console_tail(self, n=40):
        lines = self.console_output().splitlines()
        return f'console of {self.id} (last {n} lines):\n' + '\n'.join(lines[-n:])

    def diagnostics(self, n=40):
        """Failed units, the journal tail and the console tail, for a failed
        test (e.g. TAP.diag_on_failure.append(m.diagnostics))."""
        parts = []
        if self.pid1 is not None and not self._down:
            try:
                parts.append('failed units: ' + (' '.join(self._failed()) or '-'))
                parts.append(f'journal (last {n} lines):\n' + self.journal(lines=n, timeout=10))
            except Exception as e:
                parts.append(f'(no journal: {e})')
        parts.append(self.console_tail(n))
        return '\n'.join(parts)

    # -- shutdown

    def shutdown(self, timeout=20):
        """Asks systemd to power off (SIGRTMIN+4), waits up to TIMEOUT, then
        kills whatever is left of the machine, removes its cgroup and scratch
        directory. Idempotent. Returns True if systemd stopped by itself."""
        if self._down:
            return self._clean_stop
        self._down = True
        self._clean_stop = False
        proc = self._proc
        if proc is not None and proc.poll() is None and self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, _SIGRTMIN_4)
                proc.wait(timeout)
                self._clean_stop = True
            except (ProcessLookupError, OSError):
                pass
            except subprocess.TimeoutExpired:
                print(f'# sysns: {self.id} did not stop in {timeout} s, killing it', flush=True)
        if proc is not None and proc.poll() is None:
            if self._pidfd is not None:
                try:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                except OSError:
                    pass
            proc.kill()
            proc.wait()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self.cgroup and not _cg_remove(self.cgroup):
            print(f'# sysns: could not remove cgroup {self.cgroup}', flush=True)
        if self._console_thread is not None:
            self._console_stop.set()
            self._console_thread.join(2)
        if self._console_text is None:
            self._console_text = self.console_output()
        if self._pty:
            for fd in self._pty:
                os.close(fd)
            self._pty = None
        if self.work:
            if self.keep:
                print(f'# sysns: kept {self.work}', flush=True)
            else:
                # Nothing is mounted there on the host (the mounts were in the
                # machine's namespace), so this removes only our own files.
                shutil.rmtree(self.work, ignore_errors=True)
        if self in _machines:
            _machines.remove(self)
        return self._clean_stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
