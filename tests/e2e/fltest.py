# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared pieces of the end-to-end tests: a TAP reporter, the daemon under
test with its own pin directory and notify socket, and the fl-exec helper.

Every test owns its pin directory below /sys/fs/bpf and removes it (and so
detaches its programs) on exit, whatever happened."""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get('FL_BUILD_DIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build'))
DAEMON = os.environ.get('FILELESSLOCKD', os.path.join(BUILD, 'src', 'filelesslockd'))
FL_EXEC = os.environ.get('FL_EXEC', os.path.join(BUILD, 'tests', 'helpers', 'fl-exec'))
BPFFS = '/sys/fs/bpf'
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def parse_message_ids(path=os.path.join(SRC, 'src', 'message-ids.h')):
    """{'FILELESS_EXEC': '44f1...', ...} from the FL_MESSAGE_* defines of
    src/message-ids.h: the tests never repeat an id as a literal."""
    with open(path) as f:
        ids = dict(re.findall(r'^#define FL_MESSAGE_(\w+) "([0-9a-f]{32})"', f.read(), re.M))
    if not ids:
        raise RuntimeError(f'no FL_MESSAGE_* id in {path}')
    return ids


MESSAGE_IDS = parse_message_ids()
MSG_EXEC = MESSAGE_IDS['FILELESS_EXEC']
MSG_STARTED = MESSAGE_IDS['STARTED']
MSG_PROFILE_CHANGED = MESSAGE_IDS['PROFILE_CHANGED']
MSG_EVENTS_LOST = MESSAGE_IDS['EVENTS_LOST']
MSG_STOPPED = MESSAGE_IDS['STOPPED']
MSG_EVENTS_SUPPRESSED = MESSAGE_IDS['EVENTS_SUPPRESSED']

_cleanups = []


def _run_cleanups(mark=0):
    """Runs, newest first, the cleanups registered since there were MARK."""
    while len(_cleanups) > mark:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # cleanup must go on
            print(f'# cleanup failed: {e}', flush=True)


atexit.register(_run_cleanups)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, lambda s, f: (_run_cleanups(), os._exit(128 + s)))


def on_exit(fn):
    _cleanups.append(fn)
    return fn


def cancel_on_exit(fn):
    """Undoes on_exit(FN) once FN is no longer needed."""
    if fn in _cleanups:
        _cleanups.remove(fn)


def ensure_bpffs():
    """bpffs at /sys/fs/bpf, writable by root only, as systemd mounts it: the
    daemon refuses a pin directory below one that others can write to (a
    bpffs mounted by hand has mode 1777). A mode changed here is put back at
    exit."""
    with open('/proc/self/mounts') as f:
        mounted = any(l.split()[1] == BPFFS and l.split()[2] == 'bpf' for l in f)
    if not mounted:
        subprocess.run(['mount', '-t', 'bpf', '-o', 'mode=700', 'bpf', BPFFS], check=True)
        return
    mode = os.stat(BPFFS).st_mode & 0o7777
    if mode & 0o022:
        os.chmod(BPFFS, mode & ~0o022)
        on_exit(lambda: os.chmod(BPFFS, mode))


class Abort(Exception):
    """Ends the current case (see TAP.require); its failure is already recorded."""


# A skip of a subtest or of a whole test is only acceptable when this tier
# lacks a kernel feature another tier has: tools/run-tests.sh fails the run
# for any other skip. The reason must read
#   kernel feature: <what is missing>; covered by <meson test or suite>
KERNEL_FEATURE_SKIP = 'kernel feature: '


def kernel_feature_skip(feature, covered_by):
    """The skip reason for FEATURE missing here, covered by the meson test or
    suite COVERED_BY."""
    return f'{KERNEL_FEATURE_SKIP}{feature}; covered by {covered_by}'


class TAP:
    """Prints TAP (meson counts every line as a subtest) and a summary line.
    The plan comes last; tools/run-tests.sh keeps a minimum count per test
    (tests/tap-minimum.txt), so a test that stops early fails the run."""

    def __init__(self, name):
        self.name = name
        self.n = 0
        self.failed = 0
        self.skipped = 0
        self.diag_on_failure = []
        # Called once at the end of a failing case, each returning a
        # (title, text) pair: the whole log of every daemon the case started.
        self.logs_on_failure = []

    def ok(self, cond, desc, diag=None):
        self.n += 1
        desc = ' '.join(str(desc).split())  # one line, whatever the description holds
        if cond:
            print(f'ok {self.n} - {desc}', flush=True)
        else:
            self.failed += 1
            print(f'not ok {self.n} - {desc}', flush=True)
            if diag is not None:
                self.comment(diag, '#   ')
            for fn in list(self.diag_on_failure):
                try:
                    self.comment(fn(), '#   ')
                except Exception as e:  # a diagnostic must not end the test
                    self.comment(f'(diagnostics failed: {e!r})', '#   ')
        return cond

    def require(self, cond, desc, diag=None):
        """ok(), and if COND is false, ends the current case (raises Abort):
        for a step everything after it depends on."""
        if not self.ok(cond, desc, diag):
            raise Abort(desc)
        return cond

    def exception(self, desc):
        """Records the exception being handled as a failing subtest."""
        etype, value, _ = sys.exc_info()
        self.ok(False, f'{desc}: {etype.__name__}: {value}', traceback.format_exc())

    def skip(self, desc, reason):
        self.n += 1
        self.skipped += 1
        reason = ' '.join(str(reason).split())
        print(f'ok {self.n} - {desc} # SKIP {reason}', flush=True)

    @staticmethod
    def comment(text, prefix='# '):
        for line in str(text).splitlines():
            print(f'{prefix}{line}', flush=True)

    def note(self, text):
        self.comment(text)

    def print_logs(self, case):
        for fn in list(self.logs_on_failure):
            try:
                title, text = fn()
            except Exception as e:
                title, text = 'a log', f'(could not be read: {e!r})'
            if text is None:
                continue
            lines = text.splitlines()
            if len(lines) > LOG_LINES_MAX:
                title += f', last {LOG_LINES_MAX} of {len(lines)} lines'
                lines = lines[-LOG_LINES_MAX:]
            print(f'# ---- {case} failed: {title} ----', flush=True)
            self.comment('\n'.join(l[:1000] for l in lines), '#   ')
            print(f'# ---- end of {title} ----', flush=True)

    def done(self):
        print(f'1..{self.n}', flush=True)
        print(f'# {self.name}: {self.n - self.failed - self.skipped} passed, {self.failed} failed, '
              f'{self.skipped} skipped', flush=True)
        _run_cleanups()
        sys.exit(1 if self.failed or self.n == 0 else 0)


LOG_LINES_MAX = 400


def case_names(module_globals):
    """The test_* functions of a test file, in the order they are defined."""
    return [(n[len('test_'):], f) for n, f in module_globals.items()
            if n.startswith('test_') and callable(f)]


def run_cases(name, module_globals, argv=None, setup=None):
    """Runs the test_* functions of a test file as one TAP stream: all of
    them, or those named in ARGV (as 'event_signal', 'event-signal' or
    'test_event_signal'; --list prints the names). tests/meson.build
    registers each as a meson test of its own, which runs it alone.

    Each case is called as case(tap), or case(tap, setup(tap)) with SETUP.
    What a case (or its setup) registers with on_exit() is undone when it
    ends, so the next case starts from a clean machine. An exception in a
    case is a failing subtest naming it, never a silent end; when a case
    fails, the whole log of every daemon it started is printed.
    Never returns."""
    argv = sys.argv[1:] if argv is None else argv
    cases = case_names(module_globals)
    if argv == ['--list']:
        print('\n'.join(n for n, _ in cases))
        sys.exit(0)
    by_name = dict(cases)
    selected = []
    for a in argv:
        key = a.replace('-', '_')
        key = key[len('test_'):] if key.startswith('test_') else key
        if key not in by_name:
            print(f'{sys.argv[0]}: no case "{a}"; cases: {", ".join(by_name)}', file=sys.stderr)
            sys.exit(2)
        selected.append((key, by_name[key]))
    tap = TAP(name)
    for case, fn in selected or cases:
        tap.note(f'case {case}')
        failed = tap.failed
        mark = len(_cleanups)
        logs = len(tap.logs_on_failure)
        diags = len(tap.diag_on_failure)
        try:
            if setup is None:
                fn(tap)
            else:
                fn(tap, setup(tap))
        except Abort:
            pass
        except Exception:
            tap.exception(f'{case}: the case ended with an exception')
        if tap.failed > failed:
            tap.print_logs(case)
        del tap.logs_on_failure[logs:]
        del tap.diag_on_failure[diags:]
        _run_cleanups(mark)
    tap.done()


FIELD_RE = re.compile(r' ([A-Z_]+)="((?:[^"\\]|\\.)*)"')


def parse_stderr_entry(line):
    """'filelesslock: MESSAGE FIELD="v" ...' -> dict with MESSAGE and fields."""
    if not line.startswith('filelesslock: '):
        return None
    body = line[len('filelesslock: '):].rstrip('\n')
    m = FIELD_RE.search(body)
    entry = {'MESSAGE': body[:m.start()] if m else body}
    if m:
        for k, v in FIELD_RE.findall(body[m.start():]):
            entry[k] = v
    return entry


_daemon_counter = 0


def _die_with_parent():
    """In a child before its exec: SIGTERM when the test process dies, so
    that a test that crashes (no atexit handler runs) leaves no daemon
    enforcing its profile on the host."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Daemon:
    """filelesslockd with its own pin directory, config file and notify socket.
    Events are read from its stderr (no journald on the host tier)."""

    def __init__(self, tap, pin=None):
        global _daemon_counter
        _daemon_counter += 1
        self.tap = tap
        self.tmp = tempfile.mkdtemp(prefix='fltest-')
        os.chmod(self.tmp, 0o755)  # readable for the unprivileged-start test
        self.pin = pin or f'{BPFFS}/filelesslock-test-{os.getpid()}-{_daemon_counter}'
        self.config = os.path.join(self.tmp, 'filelesslockd.conf')
        self.log_path = os.path.join(self.tmp, 'daemon.log')
        self.proc = None
        self.status = []
        self.runs = 0
        on_exit(self.cleanup)
        tap.diag_on_failure.append(self.log_tail)
        tap.logs_on_failure.append(self.full_log)

    def write_config(self, text, name=None):
        path = self.config if name is None else os.path.join(self.config + '.d', name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    def _notify_socket(self):
        path = os.path.join(self.tmp, f'notify-{self.runs}')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        return s, path

    def start(self, *args, wait_ready=True, env=None, timeout=30, user=None, wrapper=()):
        """Starts the daemon (under WRAPPER, e.g. valgrind, if given); returns
        True once it sent READY=1, False if it exited first
        (self.proc.returncode then tells how)."""
        self.runs += 1
        self.sock, sock_path = self._notify_socket()
        e = dict(os.environ, NOTIFY_SOCKET=sock_path)
        e.pop('JOURNAL_STREAM', None)
        if env:
            e.update(env)
        if TEST_BACKEND and not any(a.startswith('--backend') for a in args):
            args = (*args, f'--backend={TEST_BACKEND}')
        cmd = [*wrapper, DAEMON, f'--pin-path={self.pin}', f'--config={self.config}', *args]
        if user:
            cmd = ['setpriv', f'--reuid={user}', f'--regid={user}', '--clear-groups', '--inh-caps=-all'] + cmd
        self.log = open(self.log_path, 'a')
        self.log.write(f'--- run {self.runs}: {" ".join(cmd)}\n')
        self.log.flush()
        self.log_offset = self.log.tell()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=e, preexec_fn=_die_with_parent)
        self.status = []
        if not wait_ready:
            return None
        return self.wait_notify('READY=1', timeout)

    def wait_notify(self, what, timeout=30):
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                if self.proc.poll() is not None:
                    return False
                continue
            for line in msg.splitlines():
                self.status.append(line)
                if line == what:
                    return True
        return False

    def drain_notify(self):
        """Collects what the daemon sent before it exited."""
        self.sock.setblocking(False)
        while True:
            try:
                self.status += self.sock.recv(4096).decode().splitlines()
            except BlockingIOError:
                return

    def notify_value(self, key):
        vals = [l.split('=', 1)[1] for l in self.status if l.startswith(key + '=')]
        return vals[-1] if vals else None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def output_since_start(self):
        with open(self.log_path, errors='replace') as f:
            f.seek(self.log_offset)
            return f.read()

    def log_tail(self):
        try:
            lines = self.output().splitlines()
        except OSError:
            return ''
        return 'daemon log (last 8 lines):\n' + '\n'.join(l[:400] for l in lines[-8:])

    def full_log(self):
        try:
            return f'daemon log {self.log_path}', self.output()
        except OSError:
            return f'daemon log {self.log_path}', None

    def entries(self):
        return [e for e in map(parse_stderr_entry, self.output().splitlines()) if e]

    def events(self):
        return [e for e in self.entries() if e.get('MESSAGE_ID') == MSG_EXEC]

    def wait_event(self, pred, timeout=10, after=0):
        """Waits for events matching pred among those after the first AFTER;
        returns all that match (so a test can insist on exactly one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events()[after:] if pred(e)]
            if found:
                return found
            time.sleep(0.05)
        return []

    def disable(self):
        return subprocess.run([DAEMON, '--disable', f'--pin-path={self.pin}'], capture_output=True, text=True)

    def cleanup(self):
        self.stop(signal.SIGKILL)
        if os.path.exists(self.pin):
            self.disable()
            shutil.rmtree(self.pin, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


# The link of each backend's exec program, pinned as link_<program name>.
EXEC_LINKS = ('link_fl_bprm_check', 'link_fl_sched_exec')


def exec_link(pin):
    """The path of the pinned link of the exec program, or None."""
    for name in EXEC_LINKS:
        if os.path.exists(os.path.join(pin, name)):
            return os.path.join(pin, name)
    return None


def pinned_map(pin, name):
    """The entries of the map pinned as PIN/NAME (bpftool -j, with BTF), or None."""
    p = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned', f'{pin}/{name}'], capture_output=True, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else None


def pinned_stats(pin):
    """The pinned kernel counters: [fileless, blocked, lost]."""
    d = pinned_map(pin, 'stats')
    return [e['formatted']['value'] for e in sorted(d, key=lambda e: e['formatted']['key'])] if d else None


def cgroup2_dir():
    with open('/proc/self/mounts') as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == 'cgroup2':
                return mnt
    return None


def fl_exec(kind, via, script=False, name=None, directory=None, prefix=(), cgroup=None, creds=False, comm=None):
    """Runs one experiment; returns the dict fl-exec printed (plus 'rc').
    With CGROUP (a cgroup2 directory), fl-exec runs in that cgroup. With
    CREDS, also 'parent_pid' and 'child_pid': the pids of fl-exec and of its
    child as this process's pid namespace sees them, told by the kernel
    (SO_PASSCRED), whatever pid namespace PREFIX puts them in. With COMM,
    the child names itself so (PR_SET_NAME) before its exec."""
    cmd = [*prefix, FL_EXEC]
    if script:
        cmd.append('--script')
    if name:
        cmd += ['--name', name]
    if directory:
        cmd += ['--dir', directory]
    if comm:
        cmd += ['--comm', comm]
    pass_fds = ()
    if creds:
        rx, tx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        cmd += ['--cred-fd', str(tx.fileno())]
        pass_fds = (tx.fileno(),)
    cmd += [kind, via]

    def enter_cgroup():
        with open(os.path.join(cgroup, 'cgroup.procs'), 'w') as f:
            f.write(str(os.getpid()))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, pass_fds=pass_fds,
                           preexec_fn=enter_cgroup if cgroup else None)
    finally:
        if creds:
            tx.close()
    out = {'rc': p.returncode, 'stderr': p.stderr.strip(), 'stdout': p.stdout.strip()}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', p.stdout):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace('\\\\', '\\')
        out[m.group(1)] = v
    if creds:
        rx.setblocking(False)
        with rx:
            while True:
                try:
                    data, anc, _, _ = rx.recvmsg(64, socket.CMSG_SPACE(struct.calcsize('iII')))
                except BlockingIOError:
                    break
                for level, typ, cdata in anc:
                    if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                        out[f'{data.decode()}_pid'] = str(struct.unpack('iII', cdata[:12])[0])
    return out


def lsm_available():
    try:
        with open('/sys/kernel/security/lsm') as f:
            return 'bpf' in f.read().strip().split(',')
    except OSError:
        return False


def in_vm():
    return os.environ.get('FILELESSLOCK_IN_VM') == '1'


def auto_backend():
    """What --backend=auto must pick here: lsm where the BPF LSM is active,
    else fmod_ret where the kernel has BPF trampolines (the qemu guests' Debian
    kernels have them; this host's kernel refuses them, see testing.md),
    else tracepoint."""
    if lsm_available():
        return 'lsm'
    return 'fmod_ret' if in_vm() else 'tracepoint'


# A test tier may force a backend on every daemon a test starts without
# --backend= (the qemu tier runs the daemon tests once per backend).
TEST_BACKEND = os.environ.get('FL_TEST_BACKEND') or None


def backend_under_test():
    """The backend the daemons of this test run with."""
    return TEST_BACKEND or auto_backend()


def blocked_action(backend=None):
    """What a stopped exec is called on BACKEND (default: backend_under_test())."""
    return 'killed' if (backend or backend_under_test()) == 'tracepoint' else 'denied'
