# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared pieces of the benchmarks in bench/: the daemon under measurement
with its own pin directory, config and notify socket; the C helpers, compiled
into a temporary directory; bpftool and /proc readers; tables and the final
RESULT line.

Everything a benchmark creates (daemon, pin directory, temporary files, the
bpf_stats_enabled sysctl) is undone on exit, on an exception and on SIGINT,
SIGTERM and SIGHUP."""

import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BPFFS = '/sys/fs/bpf'

# Names of the daemon's BPF programs (bpf/fileless-*.bpf.c): the exec
# programs of each backend, then the tracepoint backend's helpers at the exec
# (sched_prepare_exec, or task_rename before 6.10) and its optional raw system
# call programs (TracepointMappings=yes), then the mapping hooks of lsm and
# fmod_ret.
EXEC_PROG_NAMES = ('fl_sched_exec', 'fl_bprm_check')
FL_PROG_NAMES = EXEC_PROG_NAMES + ('fl_prepare_exec', 'fl_task_rename', 'fl_sys_enter', 'fl_sys_exit',
                                   'fl_mmap_file', 'fl_file_mprotect')
BACKENDS = ('auto', 'tracepoint', 'lsm', 'fmod_ret')


def build_dir():
    if os.environ.get('FL_BUILD_DIR'):
        return os.environ['FL_BUILD_DIR']
    for d in ('build-bench', 'build'):
        if os.path.exists(os.path.join(ROOT, d, 'src', 'filelesslockd')):
            return os.path.join(ROOT, d)
    return os.path.join(ROOT, 'build-bench')


DAEMON = os.environ.get('FILELESSLOCKD') or os.path.join(build_dir(), 'src', 'filelesslockd')

# ---------------------------------------------------------------------------
# Cleanup, bpffs and pinned maps: the end-to-end tests' own (tests/e2e/fltest.py)

sys.path.insert(0, os.path.join(ROOT, 'tests', 'e2e'))
from fltest import cancel_on_exit, exec_link, on_exit, pinned_stats  # noqa: E402
# The MESSAGE_IDs, read from src/message-ids.h.
from fltest import MSG_EXEC, MSG_STARTED, MSG_STOPPED  # noqa: E402,F401
from fltest import MSG_EVENTS_LOST as MSG_LOST, MSG_EVENTS_SUPPRESSED as MSG_SUPPRESSED  # noqa: E402,F401
from fltest import ensure_bpffs  # noqa: E402,F401 (the scripts call bl.ensure_bpffs())


def die(msg, code=1):
    print(f'{os.path.basename(sys.argv[0])}: {msg}', file=sys.stderr, flush=True)
    sys.exit(code)


HOST_LOCK = '/tmp/filelesslock-host.lock'


def host_lock():
    """Takes HOST_LOCK (flock) for as long as this process lives: every
    test on this machine that starts the daemon or attaches BPF programs
    holds it, so that none of them runs while another's restricted profile
    (or this benchmark's load) is attached. Nothing to do in the qemu guest,
    or when the lock file is already open in this process (the caller ran us
    under flock(1), whose descriptor we inherited: taking it again on a new
    descriptor would wait forever)."""
    import fcntl
    if in_vm_guest() or os.environ.get('FL_BENCH_NO_LOCK') == '1':
        return
    for fd in os.listdir('/proc/self/fd'):
        try:
            if os.readlink(f'/proc/self/fd/{fd}') == HOST_LOCK:
                return
        except OSError:
            pass
    f = open(HOST_LOCK, 'a')
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f'waiting for {HOST_LOCK} (another test is using the daemon or BPF on this machine)')
        t0 = time.monotonic()
        fcntl.flock(f, fcntl.LOCK_EX)
        log(f'got {HOST_LOCK} after {time.monotonic() - t0:.0f} s')
    global _host_lock_file
    _host_lock_file = f  # held until exit


_host_lock_file = None


def require_root(lock=True):
    """Root, the daemon, bpftool and cc; then the host lock (LOCK false: a
    side that only starts the qemu guest)."""
    if os.geteuid() != 0:
        die('must run as root (loads BPF programs)', 77)
    if not os.access(DAEMON, os.X_OK):
        die(f'no daemon at {DAEMON}: build first (meson setup build-bench --prefix=/usr; ninja -C build-bench) '
            'or set FILELESSLOCKD=', 77)
    for tool in ('bpftool', 'cc'):
        if not shutil.which(tool):
            die(f'{tool} not found', 77)
    if lock:
        host_lock()


def mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    on_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def log(msg):
    print(f'# {msg}', flush=True)


# ---------------------------------------------------------------------------
# C helpers

def build_helpers():
    """Compiles bench-exec, bench-true (static, no libc), bench-true-dyn and,
    if clang and libbpf are there, bench-calib and bench-calib.bpf.o into a
    temporary directory; or uses FL_BENCH_HELPERS (a directory the host
    filled, for the qemu guest, where compiling is slow)."""
    pre = os.environ.get('FL_BENCH_HELPERS')
    if pre:
        paths = {n: os.path.join(pre, n) for n in HELPERS + OPTIONAL_HELPERS}
        missing = [n for n in HELPERS if not os.path.exists(paths[n])]
        if missing:
            die(f'FL_BENCH_HELPERS={pre} lacks {", ".join(missing)}')
        return {n: p for n, p in paths.items() if os.path.exists(p)}
    out = mkdtemp('flbench-bin-')
    return compile_helpers(out)


HELPERS = ('bench-exec', 'bench-true', 'bench-true-dyn', 'bench-syscall')
OPTIONAL_HELPERS = ('bench-calib', 'bench-calib.bpf.o')


def bpf_arch():
    return {'x86_64': 'x86', 'aarch64': 'arm64', 'ppc64le': 'powerpc', 's390x': 's390',
            'riscv64': 'riscv'}.get(os.uname().machine, 'x86')


def compile_helpers(out):
    """Returns {name: path}; the optional BPF calibration helpers are left
    out (with a note) when clang or libbpf's headers are missing."""
    cc = os.environ.get('CC', 'cc')
    multiarch = subprocess.run([cc, '-print-multiarch'], capture_output=True, text=True).stdout.strip()
    steps = [
        ('bench-exec', [cc, '-O2', '-Wall', '-o', os.path.join(out, 'bench-exec'), os.path.join(HERE, 'bench-exec.c')]),
        ('bench-true', [cc, '-O2', '-static', '-nostdlib', '-fno-stack-protector', '-fno-pie', '-no-pie', '-o',
                        os.path.join(out, 'bench-true'), os.path.join(HERE, 'bench-true.c')]),
        ('bench-true-dyn', [cc, '-O2', '-DDYNAMIC', '-o', os.path.join(out, 'bench-true-dyn'),
                            os.path.join(HERE, 'bench-true.c')]),
        ('bench-syscall', [cc, '-O2', '-Wall', '-o', os.path.join(out, 'bench-syscall'),
                           os.path.join(HERE, 'bench-syscall.c')]),
        ('bench-calib', [cc, '-O2', '-Wall', '-o', os.path.join(out, 'bench-calib'),
                         os.path.join(HERE, 'bench-calib.c'), '-lbpf']),
        ('vmlinux.h', ['sh', '-c', f'bpftool btf dump file /sys/kernel/btf/vmlinux format c > {out}/vmlinux.h']),
        ('bench-calib.bpf.o', ['clang', '-target', 'bpf', '-O2', '-g', f'-D__TARGET_ARCH_{bpf_arch()}', f'-I{out}',
                               *([f'-I/usr/include/{multiarch}'] if multiarch else []),
                               '-c', os.path.join(HERE, 'bench-calib.bpf.c'), '-o',
                               os.path.join(out, 'bench-calib.bpf.o')]),
    ]
    paths = {}
    for name, cmd in steps:
        if name == 'bench-calib.bpf.o' and 'vmlinux.h' not in paths:
            continue
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError as e:
            p = subprocess.CompletedProcess(cmd, 127, '', str(e))
        if p.returncode != 0:
            if name in OPTIONAL_HELPERS or name == 'vmlinux.h':
                log(f'{name} not built ({p.stderr.strip().splitlines()[-1:]}): no BPF calibration program')
                continue
            die(f'compiling {name} failed:\n{p.stderr}')
        paths[name] = os.path.join(out, name)
    return paths


class CalibProgram:
    """One program of bench-calib.bpf.c, attached while this object lives
    (no pins: the link goes with the loader process)."""

    def __init__(self, helpers, name):
        self.proc = None
        self.id = None
        self.name = name
        if 'bench-calib' not in helpers or 'bench-calib.bpf.o' not in helpers:
            return
        self.proc = subprocess.Popen([helpers['bench-calib'], helpers['bench-calib.bpf.o'], name],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        on_exit(self.close)
        line = self.proc.stdout.readline()
        m = re.match(r'prog_id=(\d+)', line)
        if not m:
            log(f'calibration program {name} not attached: {self.proc.stderr.read().strip()}')
            self.close()
            return
        self.id = int(m.group(1))

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse_kv(text):
    out = {}
    for k, v in re.findall(r'(\w+)=(\S+)', text):
        if v.isdigit():
            v = int(v)
        elif re.fullmatch(r'-?\d+\.\d*', v):
            v = float(v)
        out[k] = v
    return out


def run_helper(args, timeout=None):
    """Runs a helper to its end; killed with us if we are interrupted."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def kill():
        if p.poll() is None:
            p.kill()
            p.wait()
    on_exit(kill)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill()
        die(f'{" ".join(args)} timed out')
    cancel_on_exit(kill)
    if p.returncode != 0:
        die(f'{" ".join(args)} failed ({p.returncode}): {err.strip()}')
    return parse_kv(out)


# ---------------------------------------------------------------------------
# The daemon

class Daemon:
    """filelesslockd with its own pin directory, config file and notify
    socket; stderr (where events go without journald) to a file."""

    def __init__(self, tag='flbench', pin=None, config='', backend=None, profile='allow', env=None, prefix=()):
        self.tmp = mkdtemp(f'{tag}-')
        self.pin = pin or f'{BPFFS}/{tag}-{os.getpid()}'
        self.config = os.path.join(self.tmp, 'filelesslockd.conf')
        self.log_path = os.path.join(self.tmp, 'daemon.log')
        self.backend = backend
        self.profile = profile
        self.env = env or {}
        self.prefix = list(prefix)  # e.g. valgrind: runs the daemon in the same process
        self.proc = None
        self.runs = 0
        self.write_config(config)
        on_exit(self.cleanup)

    def write_config(self, text):
        with open(self.config, 'w') as f:
            f.write(text)

    def start(self, timeout=60):
        """Starts the daemon and waits for READY=1. Returns the seconds from
        just before the fork to READY=1; dies if it never comes."""
        self.runs += 1
        sock_path = os.path.join(self.tmp, f'notify-{self.runs}')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(sock_path)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        env.pop('JOURNAL_STREAM', None)
        env.pop('WATCHDOG_USEC', None)
        # No system bus unless a benchmark brings its own: a host bus would
        # make the figures depend on what else runs here.
        env.setdefault('DBUS_SYSTEM_BUS_ADDRESS', 'unix:path=/nonexistent/flbench-no-bus')
        env.update(self.env)
        cmd = self.prefix + [DAEMON, f'--pin-path={self.pin}', f'--config={self.config}', f'--profile={self.profile}']
        if self.backend:
            cmd.append(f'--backend={self.backend}')
        self.log = open(self.log_path, 'a')
        self.log.write(f'--- run {self.runs}: {" ".join(cmd)}\n')
        self.log.flush()
        self.log_offset = self.log.tell()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=env)
        self.sock.settimeout(0.05)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                if self.proc.poll() is not None:
                    break
                continue
            if 'READY=1' in msg.splitlines():
                return time.monotonic() - t0
        self.stop()
        die(f'filelesslockd did not get ready (exit {self.proc.returncode}); log:\n{self.tail()}')

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.running():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.sock.close()
        return self.proc.returncode if self.proc else None

    def disable(self):
        subprocess.run([DAEMON, '--disable', f'--pin-path={self.pin}'], capture_output=True)
        if os.path.exists(self.pin):
            shutil.rmtree(self.pin, ignore_errors=True)

    def cleanup(self):
        if self.running():
            self.stop(signal.SIGKILL)
        self.disable()

    def output(self, since_start=False):
        with open(self.log_path, errors='replace') as f:
            if since_start:
                f.seek(self.log_offset)
            return f.read()

    def tail(self, n=10):
        return '\n'.join(self.output().splitlines()[-n:])

    # Kernel side

    def stats(self):
        s = pinned_stats(self.pin)
        return dict(zip(('fileless', 'blocked', 'lost'), s)) if s else None

    def prog_id(self):
        """The id of the exec program (fl_sched_exec or fl_bprm_check)."""
        link = exec_link(self.pin)
        out = bpftool('link', 'show', 'pinned', link) if link else None
        return out['prog_id'] if out else None

    def prog_ids(self):
        """Every attached program of this daemon, {program name: id}, from
        its pinned links (PIN/link_<program name>)."""
        ids = {}
        try:
            names = sorted(os.listdir(self.pin))
        except OSError:
            return ids
        for n in names:
            if n.startswith('link_'):
                out = bpftool('link', 'show', 'pinned', os.path.join(self.pin, n))
                if out:
                    ids[n[len('link_'):]] = out['prog_id']
        return ids


# ---------------------------------------------------------------------------
# A private system bus

POLICY = os.path.join(ROOT, 'dbus', 'org.bpflock.Fileless1.conf')

DBUS_CLIENT = r'''
import signal, sys, dbus, dbus.mainloop.glib
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
n = [0]
def on_event(ev):
    n[0] += 1
bus.add_signal_receiver(on_event, 'Event', 'org.bpflock.Fileless1', None, '/org/bpflock/Fileless1')
def tick():
    print(f'count={n[0]}', flush=True)
    return True
print('ready', flush=True)
GLib.timeout_add(200, tick)
loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, lambda *a: (loop.quit(), False)[1])
loop.run()
print(f'count={n[0]}', flush=True)
'''


def dbus_available():
    if not shutil.which('dbus-daemon') or not os.path.exists('/usr/share/dbus-1/system.conf'):
        return 'no dbus-daemon'
    p = subprocess.run(['/usr/bin/python3', '-c', 'import dbus, dbus.mainloop.glib; from gi.repository import GLib'],
                       capture_output=True)
    if p.returncode != 0:
        return 'no python3-dbus/python3-gi for /usr/bin/python3'
    return None


class PrivateBus:
    """A dbus-daemon configured like Debian's system bus with the project's
    bus policy and no service activation."""

    def __init__(self):
        self.tmp = mkdtemp('flbench-bus-')
        sock = os.path.join(self.tmp, 'system_bus_socket')
        with open('/usr/share/dbus-1/system.conf') as f:
            conf = f.read()
        conf = re.sub(r'<listen>.*?</listen>', f'<listen>unix:path={sock}</listen>', conf)
        conf = re.sub(r'<pidfile>.*?</pidfile>|<user>.*?</user>|<standard_system_servicedirs/>|'
                      r'<servicehelper>.*?</servicehelper>|<includedir>.*?</includedir>|<include [^>]*>.*?</include>',
                      '', conf)
        conf = conf.replace('</busconfig>', f'<include>{POLICY}</include>\n</busconfig>')
        path = os.path.join(self.tmp, 'bus.conf')
        with open(path, 'w') as f:
            f.write(conf)
        self.proc = subprocess.Popen(['dbus-daemon', f'--config-file={path}', '--nofork', '--nopidfile'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        on_exit(self.stop)
        for _ in range(250):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        self.address = f'unix:path={sock}'
        self.client = None

    def start_client(self):
        self.client = subprocess.Popen(['/usr/bin/python3', '-u', '-c', DBUS_CLIENT, self.address],
                                       stdout=subprocess.PIPE, text=True)
        on_exit(self.stop_client)
        if self.client.stdout.readline().strip() != 'ready':
            die('the D-Bus client did not start')
        self.count = 0

    def poll_count(self, timeout=0.25):
        """The client's latest count (it prints one every 200 ms)."""
        while select.select([self.client.stdout], [], [], timeout)[0]:
            line = self.client.stdout.readline()
            if not line:
                break
            m = re.match(r'count=(\d+)', line)
            if m:
                self.count = int(m.group(1))
            timeout = 0
        return self.count

    def stop_client(self):
        if self.client and self.client.poll() is None:
            self.client.send_signal(signal.SIGTERM)
            out = self.client.communicate(timeout=30)[0]
            for m in re.finditer(r'count=(\d+)', out):
                self.count = int(m.group(1))
        return getattr(self, 'count', 0)

    def stop(self):
        self.stop_client()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------
# Events in the daemon's stderr

FIELD_RE = re.compile(r' ([A-Z_]+)="((?:[^"\\]|\\.)*)"')


def parse_entries(text):
    """The 'filelesslock: MESSAGE FIELD="v" ...' lines as dicts."""
    out = []
    for line in text.splitlines():
        if not line.startswith('filelesslock: '):
            continue
        body = line[len('filelesslock: '):]
        m = FIELD_RE.search(body)
        e = {'MESSAGE': body[:m.start()] if m else body}
        if m:
            e.update(FIELD_RE.findall(body[m.start():]))
        out.append(e)
    return out


def count_event_lines(path):
    """Fast count of one-by-one event lines in a daemon log file."""
    n = 0
    needle = f'MESSAGE_ID="{MSG_EXEC}"'
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('filelesslock: ') and needle in line:
                n += 1
    return n


# ---------------------------------------------------------------------------
# bpftool

def bpftool(*args):
    p = subprocess.run(['bpftool', '-j', *args], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def _id_set(ids):
    if ids is None:
        return set()
    if isinstance(ids, int):
        return {ids}
    if isinstance(ids, dict):
        return set(ids.values())
    return set(ids)


def exec_hook_links(exclude_prog=None):
    """Links of the daemon's programs (anyone's) attached right now:
    {link_id: prog_name}, without those running EXCLUDE_PROG (an id, or a
    collection or {name: id} dict of ids)."""
    exclude = _id_set(exclude_prog)
    links = bpftool('link', 'show') or []
    progs = {p['id']: p.get('name', '') for p in (bpftool('prog', 'show') or [])}
    found = {}
    for l in links:
        name = progs.get(l.get('prog_id'), '')
        if name in FL_PROG_NAMES and l.get('prog_id') not in exclude:
            found[l['id']] = name
    return found


def measure_programs(ids, argv):
    """Runs the helper ARGV (bench-exec loop or storm) with
    kernel.bpf_stats_enabled=1 and --stats= for the programs in IDS ({key:
    program id}): the helper reads their statistics just before and after its
    loop, so its own exec and bpftool's are not counted. Returns (the
    helper's result, {key: (ns, runs)} during the loop)."""
    by_id = {}
    for k, i in ids.items():
        by_id.setdefault(i, []).append(k)
    with BpfStats():
        r = run_helper(list(argv) + ['--stats=' + ','.join(str(i) for i in by_id)])
    out = {}
    for item in str(r.get('stats', '')).split(','):
        if item.count(':') == 2:
            i, ns, runs = (int(x) for x in item.split(':'))
            for k in by_id.get(i, []):
                out[k] = (ns, runs)
    return r, out


PROFILE_NAMES = {1: 'allow', 2: 'baseline', 3: 'restricted'}


def in_initial_pidns():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('NSpid:'):
                return len(line.split()) == 2
    return True


def foreign_blockers(exclude_prog=None):
    """Programs of the daemon attached by someone else with a profile that
    would stop our fileless execs: [(prog_id, profile name)]. Baseline stops
    only execs outside the initial pid namespace; any value the daemon did not
    write stops everything (the BPF side fails closed)."""
    out = []
    exclude = _id_set(exclude_prog)
    init_ns = in_initial_pidns()
    progs = {p['id']: p for p in (bpftool('prog', 'show') or [])}
    for l in bpftool('link', 'show') or []:
        p = progs.get(l.get('prog_id'))
        if not p or p.get('name') not in EXEC_PROG_NAMES or p['id'] in exclude:
            continue
        for map_id in p.get('map_ids', []):
            m = bpftool('map', 'show', 'id', str(map_id))
            if not m or m.get('name') != 'fl_config':
                continue
            dump = bpftool('map', 'dump', 'id', str(map_id)) or []
            profile = None
            for e in dump:
                if 'formatted' in e:
                    profile = e['formatted']['value'].get('profile')
                else:
                    profile = int(e['value'][4], 16)
            if profile == 1 or (profile == 2 and init_ns):
                continue
            out.append((p['id'], PROFILE_NAMES.get(profile, f'unknown {profile}')))
    return out


def wait_no_blockers(exclude_prog=None, timeout=300):
    """Waits until no foreign blocking profile is attached. Returns the
    seconds waited, or None if one still was at the timeout."""
    t0 = time.monotonic()
    said = False
    while True:
        b = foreign_blockers(exclude_prog)
        if not b:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        if not said:
            log(f'waiting for a blocking profile attached by someone else to go: {b}')
            said = True
        time.sleep(0.5)


class BpfStats:
    """kernel.bpf_stats_enabled=1 while in use; the previous value is put
    back at exit, whatever happens."""

    PATH = '/proc/sys/kernel/bpf_stats_enabled'

    def __enter__(self):
        with open(self.PATH) as f:
            self.old = f.read().strip()
        on_exit(self._restore)
        with open(self.PATH, 'w') as f:
            f.write('1')
        return self

    def _restore(self):
        with open(self.PATH, 'w') as f:
            f.write(self.old)

    def __exit__(self, *exc):
        self._restore()
        cancel_on_exit(self._restore)
        return False


# ---------------------------------------------------------------------------
# /proc

CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    """CPU time of PID (all its threads) in seconds: the scheduler's exact
    sum_exec_runtime from /proc/PID/task/*/schedstat where the kernel has it,
    else utime + stime, which are sampled at clock ticks (10 ms)."""
    total = 0
    try:
        for tid in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _kb_fields(path):
    """The "Name: N kB" lines of a /proc file, as {Name: N}."""
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(':')
            v = v.split()
            if len(v) == 2 and v[1] == 'kB':
                out[k] = int(v[0])
    return out


def proc_status(pid):
    """The kB values of /proc/PID/status."""
    return _kb_fields(f'/proc/{pid}/status')


def reset_peak_rss(pid):
    """VmHWM := VmRSS (proc(5), clear_refs value 5); False if refused."""
    try:
        with open(f'/proc/{pid}/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def smaps_rollup(pid):
    return _kb_fields(f'/proc/{pid}/smaps_rollup')


def smaps(pid):
    """Per mapping: [(name, perms, size_kB, {field: kB})]."""
    maps = []
    cur = None
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            parts = line.split()
            if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
                start, end = (int(x, 16) for x in parts[0].split('-'))
                name = ' '.join(parts[5:]) if len(parts) > 5 else '[anon]'
                cur = {'name': name, 'perms': parts[1], 'size': (end - start) // 1024}
                maps.append(cur)
            elif cur is not None and len(parts) == 3 and parts[2] == 'kB':
                cur[parts[0].rstrip(':')] = int(parts[1])
    return maps


def smaps_by_object(pid):
    """Rss, Pss, private dirty (kB) grouped by what is mapped: each library
    (all its segments), [heap], [stack], the BPF ring buffer, other anonymous
    memory. Sorted by Rss."""
    groups = {}
    for m in smaps(pid):
        name = m['name']
        if name.startswith('/'):
            key = os.path.basename(name)
        elif 'bpf' in name:
            key = f'{name} ({m["perms"]})'
        else:
            key = name
        g = groups.setdefault(key, {'Size': 0, 'Rss': 0, 'Pss': 0, 'Private_Dirty': 0, 'Shared_Clean': 0,
                                     'Private_Clean': 0, 'Anonymous': 0, 'n': 0})
        g['n'] += 1
        g['Size'] += m['size']
        for k in ('Rss', 'Pss', 'Private_Dirty', 'Shared_Clean', 'Private_Clean', 'Anonymous'):
            g[k] += m.get(k, 0)
    return sorted(groups.items(), key=lambda kv: -kv[1]['Rss'])


# ---------------------------------------------------------------------------
# Output

def median(xs):
    return statistics.median(xs) if xs else float('nan')


def table(headers, rows, title=None):
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    if title:
        print(f'\n{title}')
    line = '  '.join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip())
    print('  '.join('-' * w for w in widths))
    for r in rows:
        # Numbers right-aligned, text left-aligned.
        cells = [c.rjust(w) if re.match(r'^[-+]?[\d.,]+( ?[%a-zA-Zµ/]+)?$', c) else c.ljust(w) for c, w in zip(r, widths)]
        print('  '.join(cells).rstrip())
    sys.stdout.flush()


def result(name_values):
    """The final machine-readable line."""
    parts = []
    for k, v in name_values.items():
        if isinstance(v, float):
            v = f'{v:.0f}' if abs(v) >= 1000 else f'{v:.6g}'
        parts.append(f'{k}={v}')
    print(f'# load average at the end: {loadavg()}')
    print('RESULT ' + ' '.join(parts), flush=True)


def kib(n):
    return f'{n / 1024:.2f} MiB' if n >= 1024 else f'{n} KiB'


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown'


def in_vm_guest():
    return os.environ.get('FILELESSLOCK_IN_VM') == '1'


def vm_kernel():
    """In the guest: (kernel series, BPF LSM active) as vm-run.sh says."""
    return os.environ.get('FILELESSLOCK_VM_KERNEL', '?'), os.environ.get('FILELESSLOCK_VM_LSM_BPF', '?')


def strip_vm_args(argv, drop_with_value=('--vm-timeout', '--kernel', '--lsm-bpf'), drop=('--vm',)):
    """ARGV without the options that only the host side uses."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in drop_with_value:
            skip = True
        elif a in drop or any(a.startswith(o + '=') for o in drop_with_value):
            continue
        else:
            out.append(a)
    return out


def run_in_vm(script, argv, timeout=1800, kernel=None, lsm_bpf=None):
    """Builds the helpers here (compiling under TCG is slow), then runs
    SCRIPT ARGV in the qemu guest of tests/vm/vm-run.sh (the guest sees the
    host's root, /tmp and the build included, read-only with a tmpfs on top);
    exits with its status. No host lock: nothing is attached on the host."""
    helpers_dir = mkdtemp('flbench-vm-bin-')
    compile_helpers(helpers_dir)
    cmd = [os.path.join(ROOT, 'tests', 'vm', 'vm-run.sh'), '--timeout', str(timeout)]
    if kernel:
        cmd += ['--kernel', kernel]
    if lsm_bpf:
        cmd += ['--lsm-bpf', lsm_bpf]
    cmd += ['--', 'env', f'FL_BENCH_HELPERS={helpers_dir}', f'FILELESSLOCKD={DAEMON}',
            '/usr/bin/python3', '-u', os.path.abspath(script), *argv]
    log('running in the qemu guest: ' + ' '.join(cmd))
    p = subprocess.Popen(cmd, cwd=ROOT)

    def stop():  # vm-run.sh's own trap kills qemu
        if p.poll() is None:
            p.terminate()
            p.wait()
    on_exit(stop)
    rc = p.wait()
    if rc == 125:
        log('the qemu guest itself failed (vm-run.sh exit status 125)')
    sys.exit(rc)


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def header(title):
    print(f'== {title} ==')
    print(f'# kernel {os.uname().release}, {os.cpu_count()} CPUs ({cpu_model()}), load average {loadavg()}, '
          f'daemon {DAEMON}' + (' [qemu TCG guest: absolute times are emulated]' if in_vm_guest() else ''),
          flush=True)
