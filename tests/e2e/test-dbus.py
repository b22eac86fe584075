#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.bpflock.Fileless1 on a private system bus (a real dbus-daemon with
the project's bus policy), polkit played by python-dbusmock's polkitd
template, and a client on another D-Bus library (python-dbus) than the
daemon's sd-bus.

Each test_* function is a case; every case gets a bus, polkit (allowing
nothing) and a daemon started with --profile=allow of its own.
  test-dbus.py [CASE...]    (all cases without arguments; --list names them)"""

import grp
import json
import os
import re
import select
import stat
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

from fltest import Daemon, cgroup2_dir, ensure_bpffs, fl_exec, lsm_available, on_exit, pinned_map, run_cases

from flbus import ACTION, IFACE, NAME, PATH, SRC, Polkit, PrivateBus, call_error

XML = os.path.join(SRC, 'dbus', 'org.bpflock.Fileless1.xml')
CTL = os.environ.get('FILELESSLOCKCTL', os.path.join(SRC, 'build', 'src', 'filelesslockctl'))
POLKIT_TIMEOUT = {'FILELESSLOCK_POLKIT_TIMEOUT_SEC': '4'}

EVENT_KEYS = {'Timestamp': 't', 'Action': 's', 'Kind': 's', 'Profile': 's', 'Backend': 's', 'Pid': 'u',
              'PPid': 'u', 'Uid': 'u', 'Gid': 'u', 'Comm': 's', 'ParentComm': 's', 'FileName': 's',
              'ExecPath': 's', 'Inode': 't', 'Device': 't', 'PidNamespace': 't', 'CgroupId': 't'}
DBUS_TYPES = {'t': dbus.UInt64, 'u': dbus.UInt32, 's': dbus.String}
BLOCKED = 'denied' if lsm_available() else 'killed'
NOBODY = 65534
OVERRIDDEN = 'org.bpflock.Fileless1.Error.Overridden'
FAILED = 'org.freedesktop.DBus.Error.Failed'
PROFILES = {1: 'allow', 2: 'baseline', 3: 'restricted'}


def ctl(*args, timeout=30, env=None):
    return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=timeout, env=env)


def pump(pred, timeout=5):
    """Runs the GLib main loop (signals arrive through it) until PRED holds."""
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not pred():
        ctx.iteration(False)
        time.sleep(0.01)
    return pred()


class Fixture:
    """A private bus, polkit allowing nothing, the daemon at profile allow,
    and a client connection with its proxies."""

    def __init__(self, tap):
        ensure_bpffs()
        self.address = PrivateBus().start().address
        self.pk = Polkit(self.address)
        self.pk.start()
        self.d = Daemon(tap)
        # The profile in a drop-in sorting before the one D-Bus changes are
        # saved in, not --profile=: that would win at every reload, and the
        # daemon refuses D-Bus changes it would undo.
        self.d.write_config('[Fileless]\nProfile=allow\n', name='10-fltest.conf')
        tap.require(self.d.start(env=POLKIT_TIMEOUT), 'daemon ready')
        self.bus = dbus.bus.BusConnection(self.address)
        for _ in range(100):
            if self.bus.name_has_owner(NAME):
                break
            time.sleep(0.05)
        tap.require(self.bus.name_has_owner(NAME), f'the daemon owns {NAME}')
        self.obj = self.bus.get_object(NAME, PATH)
        self.props = dbus.Interface(self.obj, 'org.freedesktop.DBus.Properties')
        self.fl = dbus.Interface(self.obj, IFACE)
        self.events = []
        self.bus.add_signal_receiver(lambda ev: self.events.append(ev), 'Event', IFACE, NAME, PATH)

    def get(self, p):
        return self.props.Get(IFACE, p)

    def events_for(self, r):
        return [e for e in self.events if e.get('Inode') == int(r.get('ino', -1))]

    def use(self, tap, d, *args, **kw):
        """Stops the daemon in use and starts D (with ARGS) on the same bus in
        its place; the proxies follow it."""
        if self.d is not d:
            # Its pins would go on enforcing its profile.
            self.d.stop()
            self.d.disable()
        self.d = d
        tap.require(d.start(*args, env=POLKIT_TIMEOUT, **kw), 'the daemon for this case is ready')
        for _ in range(100):
            if self.bus.name_has_owner(NAME):
                break
            time.sleep(0.05)
        tap.require(self.bus.name_has_owner(NAME), f'it owns {NAME}')
        self.obj = self.bus.get_object(NAME, PATH)
        self.props = dbus.Interface(self.obj, 'org.freedesktop.DBus.Properties')
        self.fl = dbus.Interface(self.obj, IFACE)

    def kernel_profile(self):
        """The machine-wide profile in the pinned config map, by name."""
        d = pinned_map(self.d.pin, 'config')
        return PROFILES.get(d[0]['formatted']['value']['profile']) if d else None

    def enforced(self):
        """The profile a memfd exec meets: allow (it runs) or restricted."""
        r = fl_exec('memfd', 'proc-self', name='which-profile')
        return 'allow' if r.get('result') == 'ran' else 'restricted' if r.get('result') == BLOCKED else r

    def set_profile(self, tap, profile):
        """Sets PROFILE over D-Bus with polkit allowing it (a precondition)."""
        self.pk.mock.SetAllowed([ACTION])
        e = call_error(self.props.Set, IFACE, 'Profile', profile)
        tap.require(e is None and self.get('Profile') == profile, f'precondition: profile set to {profile}', e)


def test_properties(tap, f):
    tap.ok(f.get('Profile') == 'allow', 'Profile reads allow', f.get('Profile'))
    tap.ok(f.get('Backend') == ('lsm' if lsm_available() else 'tracepoint'), 'Backend', f.get('Backend'))
    tap.ok(re.match(r'^\d+\.\d+', f.get('Version')) is not None, 'Version', f.get('Version'))
    tap.ok(f.get('Pinned') is True or f.get('Pinned') == 1, 'Pinned is true', f.get('Pinned'))

    # Introspection equals the documented XML (the interface element).
    live = ET.fromstring(str(dbus.Interface(f.obj, 'org.freedesktop.DBus.Introspectable').Introspect()))
    doc = ET.parse(XML).getroot()

    def canon(node):
        iface = [i for i in node.iter('interface') if i.get('name') == IFACE][0]
        return sorted((c.tag, c.get('name'), c.get('type'), c.get('access'),
                       tuple(sorted((a.tag, a.get('name'), a.get('type'), a.get('direction'), a.get('value'))
                                    for a in c))) for c in iface)
    tap.ok(canon(live) == canon(doc), 'live introspection equals dbus/org.bpflock.Fileless1.xml',
           f'live={canon(live)}\ndoc={canon(doc)}')


def test_event_signal(tap, f):
    """Events over D-Bus, for a real memfd exec."""
    r = fl_exec('memfd', 'proc-self', name=b'dbus-\xff\x01-evil')
    got = pump(lambda: f.events_for(r))
    ev = f.events_for(r)
    tap.ok(got and len(ev) == 1, 'an Event signal for a real memfd exec', f.events)
    if not ev:
        return
    e = ev[0]
    bad = {k: type(e.get(k)).__name__ for k, t in EVENT_KEYS.items() if not isinstance(e.get(k), DBUS_TYPES[t])}
    tap.ok(not bad, 'every documented key with its type', bad)
    tap.ok(e.get('Kind') == 'memfd' and e.get('Action') == 'allowed' and e.get('Pid') == int(r['child']),
           'Kind, Action and Pid are right', dict(e))
    # Our own cgroup's unit, if we are in one at all (on these machines: none).
    with open('/proc/self/cgroup') as fh:
        own = [l.split('::', 1)[1].strip() for l in fh if l.startswith('0::')]
    units = [c for c in (own[0] if own else '').split('/')
             if re.search(r'\.(service|scope|socket|mount|swap|timer)$', c)]
    tap.ok(e.get('Unit') == (units[-1] if units else None), 'Unit is our own unit, or absent outside any unit',
           (e.get('Unit'), units))
    tap.ok(str(e.get('FileName')) == 'memfd:dbus-\\xff\\x01-evil',
           'a name with invalid UTF-8 (a raw 0xff) and a control byte arrives as valid, escaped UTF-8',
           e.get('FileName'))


def test_comm_not_utf8(tap, f):
    """A file whose name is not UTF-8, run by its path: the new image's name
    (ExecComm, tracepoint backend) and the file name arrive escaped, and Comm
    is the name the process had before the exec on every backend."""
    r = fl_exec('shm', 'path', name=b'c\xff\x01\xc3m')
    pump(lambda: f.events_for(r))
    ev = f.events_for(r)
    tap.ok(len(ev) == 1 and str(ev[0].get('FileName')) == '/dev/shm/c\\xff\\x01\\xc3m',
           'a file name with invalid UTF-8 arrives on D-Bus as valid UTF-8, escaped', [dict(e) for e in ev] or r)
    tap.ok(len(ev) == 1 and str(ev[0].get('Comm')) == 'fl-exec', 'Comm is the name before the exec',
           [dict(e) for e in ev])
    if not lsm_available():
        tap.ok(len(ev) == 1 and str(ev[0].get('ExecComm')) == 'c\\xff\\x01\\xc3m',
               "ExecComm, the new image's name, arrives escaped", [dict(e) for e in ev])
    else:
        tap.ok(len(ev) == 1 and 'ExecComm' not in ev[0], 'no ExecComm where the exec is judged before it renames',
               [dict(e) for e in ev])


def test_unit(tap, f):
    """A process in a unit's cgroup: the event names the unit."""
    root = cgroup2_dir()
    tap.require(root is not None, 'a cgroup2 hierarchy is mounted')
    unit = f'fltest-{os.getpid()}.scope'
    cg = os.path.join(root, unit)
    os.mkdir(cg)
    on_exit(lambda: os.rmdir(cg))
    r = fl_exec('memfd', 'proc-self', name='in-a-unit', cgroup=cg)
    pump(lambda: f.events_for(r))
    ev = f.events_for(r)
    tap.ok(len(ev) == 1 and ev[0].get('Unit') == unit, f'Unit is {unit} for a process in its cgroup',
           [dict(e) for e in ev])
    jev = f.d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:in-a-unit')
    tap.ok(len(jev) == 1 and jev[0].get('FILELESS_UNIT') == unit, 'and the journal entry has FILELESS_UNIT', jev)


LISTENER = '''
import dbus, dbus.mainloop.glib, sys, time
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
address, iface, name, path = sys.argv[1:5]
bus = dbus.bus.BusConnection(address)
got = []
bus.add_signal_receiver(lambda ev: got.append(str(ev.get('FileName'))), 'Event', iface, name, path)
print('listening', flush=True)
ctx = GLib.MainContext.default()
end = time.monotonic() + 3
while time.monotonic() < end:
    ctx.iteration(False); time.sleep(0.01)
print('got', len(got), ' '.join(got), flush=True)
'''


def test_event_privacy(tap, f):
    """Event signals are as private as the journal: root and the members of
    adm and systemd-journal receive them, other users do not (the policy in
    dbus/org.bpflock.Fileless1.conf; dbus-daemon reads the caller's groups
    from the kernel, SO_PEERGROUPS)."""
    listeners = {}
    for label, groups in (('in neither group', ['--clear-groups']),
                          ('in adm', [f'--groups={grp.getgrnam("adm").gr_gid}']),
                          ('in systemd-journal', [f'--groups={grp.getgrnam("systemd-journal").gr_gid}'])):
        p = subprocess.Popen(['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', *groups,
                              '/usr/bin/python3', '-c', LISTENER, f.address, IFACE, NAME, PATH],
                             stdout=subprocess.PIPE, text=True)
        on_exit(lambda p=p: p.poll() is None and (p.kill(), p.wait()))
        listeners[label] = p
    for p in listeners.values():
        p.stdout.readline()
    fl_exec('memfd', 'proc-self', name='for-privileged-only')
    pump(lambda: any(str(e.get('FileName')) == 'memfd:for-privileged-only' for e in f.events))
    out = {label: p.communicate(timeout=20)[0].strip() for label, p in listeners.items()}
    mine = [e for e in f.events if str(e.get('FileName')) == 'memfd:for-privileged-only']
    tap.ok(len(mine) == 1 and out['in neither group'] == 'got 0',
           f'uid {NOBODY} in neither adm nor systemd-journal receives no Event while root does', (out, len(mine)))
    for label in ('in adm', 'in systemd-journal'):
        tap.ok(out[label] == 'got 1 memfd:for-privileged-only', f'uid {NOBODY} {label} receives the Event',
               out[label])


def test_polkit_denied(tap, f):
    """polkit says no: AccessDenied naming the action, profile unchanged."""
    f.pk.mock.SetAllowed(dbus.Array([], signature='s'))
    e = call_error(f.props.Set, IFACE, 'Profile', 'restricted')
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied' and ACTION in str(e),
           'polkit denies: AccessDenied naming the action', e)
    tap.ok(f.get('Profile') == 'allow', 'denied: profile unchanged')


def test_polkit_allowed(tap, f):
    f.pk.mock.SetAllowed([ACTION])
    changed = []
    f.bus.add_signal_receiver(lambda i, c, inv: changed.append(dict(c)), 'PropertiesChanged',
                              'org.freedesktop.DBus.Properties', NAME, PATH)
    e = call_error(f.props.Set, IFACE, 'Profile', 'restricted')
    tap.ok(e is None and f.get('Profile') == 'restricted', 'Properties.Set Profile=restricted authorized by polkit', e)
    tap.ok(pump(lambda: any(c.get('Profile') == 'restricted' for c in changed)), 'PropertiesChanged announced it',
           changed)
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == BLOCKED, f'the new profile is enforced: memfd exec {BLOCKED}', r)
    dropin = f.d.config + '.d/90-set-profile.conf'
    tap.ok(os.path.exists(dropin) and 'Profile=restricted' in open(dropin).read(), 'the change is persisted', dropin)
    tap.ok(re.search(r'changed from allow to restricted over D-Bus by uid 0', f.d.output()) is not None,
           'the change is logged with the caller', f.d.output_since_start()[-2000:])

    e = call_error(f.fl.SetProfile, 'privileged', False)
    tap.ok(e is None and f.get('Profile') == 'allow', 'SetProfile("privileged") stores allow', e)
    e = call_error(f.props.Set, IFACE, 'Profile', 'none')
    tap.ok(e is None and f.get('Profile') == 'allow', 'Profile=none is allow (unchanged, no-op)', e)


def test_bad_writes(tap, f):
    """Bad writes: each gets its error and changes nothing, though polkit
    would allow a good one."""
    f.pk.mock.SetAllowed([ACTION])
    for desc, value in (('empty', ''), ('unknown', 'restrictd'), ('64 KiB', 'r' * 65536),
                        ('wrong case', 'Restricted')):
        e = call_error(f.props.Set, IFACE, 'Profile', value)
        tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs'
               and 'valid profiles are' in str(e) and f.get('Profile') == 'allow',
               f'{desc} profile: InvalidArgs naming the valid ones, profile unchanged', e)
    e = call_error(f.props.Set, IFACE, 'Profile', dbus.Int32(3))
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs'
           and f.get('Profile') == 'allow', 'wrong type: InvalidArgs, profile unchanged', e)
    # Another valid backend than the one in use: only read-only-ness refuses it.
    backend = str(f.get('Backend'))
    other = {'lsm': 'tracepoint', 'tracepoint': 'lsm'}.get(backend)
    tap.require(other is not None, f'Backend is lsm or tracepoint ({backend})')
    e = call_error(f.props.Set, IFACE, 'Backend', other)
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.PropertyReadOnly'
           and f.get('Backend') == backend,
           f'Backend is read-only: setting it to {other} is PropertyReadOnly and it stays {backend}',
           (e, f.get('Backend')))
    p = subprocess.run(['busctl', 'call', NAME, PATH, IFACE, 'SetProfile', 's', 'restricted'],
                       capture_output=True, text=True, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f.address))
    tap.ok(p.returncode != 0 and f.get('Profile') == 'allow', 'SetProfile with a missing argument fails', p.stderr)


def test_slow_polkit(tap, f):
    """A slow polkit: the daemon keeps answering and delivering events meanwhile."""
    f.pk.mock.SetAllowed([ACTION])
    f.pk.mock.SetDelay(dbus.Double(2.0))
    results = []
    f.props.Set(IFACE, 'Profile', 'baseline', reply_handler=lambda: results.append('ok'),
                error_handler=lambda err: results.append(err))
    t0 = time.monotonic()
    v = f.get('Profile')
    fast = time.monotonic() - t0
    tap.ok(v == 'allow' and fast < 1.0, f'Get answered in {fast:.3f} s while polkit is slow', v)
    f.events.clear()
    fl_exec('memfd', 'proc-self', name='during-slow-polkit')
    tap.ok(pump(lambda: len(f.events) > 0, timeout=1.5) and not results, 'Event signals flow while polkit is slow',
           (f.events, results))
    pump(lambda: results, timeout=10)
    tap.ok(results == ['ok'] and f.get('Profile') == 'baseline', 'the slow authorization completes', results)


def test_hanging_polkit(tap, f):
    """A hanging polkit: other calls go on, and the hung call ends denied."""
    f.pk.mock.SetAllowed([ACTION])
    f.pk.mock.SimulateHang(True)
    results = []
    f.props.Set(IFACE, 'Profile', 'restricted', reply_handler=lambda: results.append('ok'),
                error_handler=lambda err: results.append(err), timeout=60)
    tap.ok(f.get('Profile') == 'allow', 'Get answered while polkit hangs')
    pump(lambda: results, timeout=15)
    tap.ok(len(results) == 1 and not isinstance(results[0], str)
           and results[0].get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied'
           and f.get('Profile') == 'allow', 'the hung authorization ends AccessDenied, profile unchanged', results)


def test_filelesslockctl(tap, f):
    """filelesslockctl against the running daemon."""
    p = ctl('status')
    tap.ok(p.returncode == 0 and re.search(r'Profile: allow', p.stdout) and 'Backend:' in p.stdout,
           'filelesslockctl status shows the profile and backend', p.stdout + p.stderr)
    p = ctl('status', '--json')
    try:
        st = json.loads(p.stdout)
    except ValueError:
        st = {}
    tap.ok(p.returncode == 0 and st.get('Profile') == 'allow' and isinstance(st.get('FilelessExecutions'), int),
           'filelesslockctl status --json parses, with the counters as numbers', p.stdout + p.stderr)
    f.pk.mock.SetAllowed([ACTION])
    p = ctl('--no-ask-password', 'set-profile', 'restricted')
    tap.ok(p.returncode == 0 and f.get('Profile') == 'restricted', 'filelesslockctl set-profile restricted',
           p.stdout + p.stderr)
    p = ctl('--no-ask-password', 'set-profile', 'restrictd')
    tap.ok(p.returncode == 2 and 'restrictd' in p.stderr and f.get('Profile') == 'restricted',
           'filelesslockctl set-profile with a typo: exit 2 naming it', p.stdout + p.stderr)
    f.pk.mock.SetAllowed(dbus.Array([], signature='s'))
    p = ctl('--no-ask-password', 'set-profile', 'allow')
    tap.ok(p.returncode == 4 and f.get('Profile') == 'restricted', 'filelesslockctl set-profile refused: exit 4',
           p.stdout + p.stderr)
    f.pk.mock.SetAllowed([ACTION])
    p = ctl('--no-ask-password', 'set-profile', 'baseline')
    tap.ok(p.returncode == 0 and f.get('Profile') == 'baseline', 'filelesslockctl set-profile baseline',
           p.stdout + p.stderr)
    mon = subprocess.Popen([CTL, 'monitor', '--json'], stdout=subprocess.PIPE, text=True)
    on_exit(lambda: mon.poll() is None and (mon.kill(), mon.wait()))
    time.sleep(0.5)
    r = fl_exec('memfd', 'proc-self', name='ctl-monitor')
    line = ''
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and 'ctl-monitor' not in line:
        if select.select([mon.stdout], [], [], 0.2)[0]:
            line = mon.stdout.readline()
    mon.terminate()
    mon.wait(timeout=10)
    try:
        ev = json.loads(line)
    except ValueError:
        ev = {}
    tap.ok(ev.get('FileName') == 'memfd:ctl-monitor' and ev.get('Inode') == int(r['ino']) and ev.get('Kind') == 'memfd',
           'filelesslockctl monitor --json prints the event as one JSON object', line)
    tap.ok(mon.returncode == 0, 'filelesslockctl monitor exits 0 on SIGTERM', mon.returncode)


def test_no_polkit(tap, f):
    """No polkit at all: writes are denied with a clear error, reads work."""
    f.pk.stop()
    e = call_error(f.props.Set, IFACE, 'Profile', 'restricted')
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied'
           and 'polkit could not be asked' in str(e) and f.get('Profile') == 'allow',
           'no polkit: AccessDenied saying polkit could not be asked; reads work', e)


def test_no_daemon(tap, f):
    f.d.stop()
    p = ctl('status')
    tap.ok(p.returncode == 3 and 'not running' in p.stderr, 'filelesslockctl status without the daemon: exit 3',
           p.stdout + p.stderr)


def test_posture(tap, f):
    """Posture: what else affects fileless execution, as the machine has it
    (integration-posture-* changes each item under the shipped unit)."""
    posture = {str(k): str(v) for k, v in f.get('Posture')}
    tap.ok(posture.get('backend') == f.get('Backend') and 'backend cannot see' in posture and
           'backend chosen' in posture and 'blocking' in posture,
           'Posture names the backend, why, what it cannot see and how it blocks', posture)
    with open('/proc/1/mountinfo') as fh:
        mounts = [l.split() for l in fh]
    for path in ('/dev/shm', '/tmp'):
        # The last of the mounts whose mount point is the longest prefix.
        best = None
        for m in mounts:
            if (m[4] == '/' or path == m[4] or path.startswith(m[4] + '/')) and \
                    (best is None or len(m[4]) >= len(best[4])):
                best = m
        if best is None:
            want = 'unknown (no mount holds it)'
        else:
            state, fstype = 'noexec' if 'noexec' in best[5].split(',') else 'exec', best[best.index('-') + 1]
            want = f'{state} ({fstype} mounted there)' if best[4] == path else \
                f'{state} (no mount of its own: on {best[4]}, {fstype})'
        tap.ok(posture.get(path) == want, f'{path}: {want}, as /proc/1/mountinfo says', posture)
    try:
        memfd = open('/proc/sys/vm/memfd_noexec').read().strip()
    except OSError:
        memfd = None
    got = posture.get('vm.memfd_noexec', '')
    tap.ok(got.startswith(f'{memfd} (') and got.endswith('read from /proc/sys/vm/memfd_noexec)')
           if memfd is not None else got.startswith('absent'), 'vm.memfd_noexec as /proc/sys says', posture)
    # The host has no securityfs mounted and runs the tracepoint backend; the
    # guests vm-6.12-lsm-posture (BPF LSM active, backend lsm) and
    # vm-6.12-fmod_ret-posture (left out of lsm=) give the other answers.
    try:
        with open('/sys/kernel/security/lsm') as fh:
            lsm = fh.read().strip()
    except OSError:
        lsm = None
    backend, got = f.get('Backend'), posture.get('BPF LSM', '')
    if lsm is None:
        tap.ok(got.startswith('unknown (cannot read /sys/kernel/security/lsm'), 'BPF LSM: unknown without securityfs',
               got)
    else:
        state = 'active' if 'bpf' in lsm.split(',') else 'not active'
        tap.ok(got.startswith(f'{state} (lsm={lsm}') and
               ('not used by the backend in force' in got) == (state == 'active' and backend != 'lsm'),
               f'BPF LSM: {state} as the kernel lists it, used by backend {backend} or not', got)
    blocking = 'SIGKILL' if backend == 'tracepoint' else 'EPERM'
    tap.ok(posture.get('blocking', '').startswith(blocking) and
           posture.get('backend cannot see', '').startswith('none (') == (backend != 'tracepoint'),
           f'backend {backend}: blocking by {blocking}, and what it cannot see', posture)
    out = ctl('status', env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f.address)).stdout
    tap.ok('Posture: ' in out and '/dev/shm: ' in out, 'filelesslockctl status shows the posture', out)
    r = ctl('posture', '--json', env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f.address))
    try:
        got = json.loads(r.stdout)
    except ValueError:
        got = None
    tap.ok(r.returncode == 0 and got == {str(k): str(v) for k, v in f.get('Posture')},
           'filelesslockctl posture --json: the property as one object', r.stdout + r.stderr)


def test_measure_hooks(tap, f):
    """MeasureHooks: the kernel's statistics for each attached program, only
    while asked; filelesslockctl measure prints them."""
    before = open('/proc/sys/kernel/bpf_stats_enabled').read().strip()
    done = []

    def execs():
        # Fileless execs while the measurement runs: the exec program runs.
        for i in range(5):
            fl_exec('memfd', 'proc-self', name=f'measured-{i}')
    p = subprocess.Popen([CTL, 'measure', '2', '--json'], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f.address))
    time.sleep(0.5)
    execs()
    out, _ = p.communicate(timeout=30)
    hooks = json.loads(out) if p.returncode == 0 else []
    names = {h['hook']: h for h in hooks}
    exec_prog = 'fl_bprm_check' if 'fl_bprm_check' in names else 'fl_sched_exec'
    tap.ok(p.returncode == 0 and exec_prog in names and names[exec_prog]['runs'] >= 5 and names[exec_prog]['ns'] > 0,
           'filelesslockctl measure: the exec program ran and its time was counted', out)
    tap.ok(open('/proc/sys/kernel/bpf_stats_enabled').read().strip() == before,
           'the statistics are off again afterwards (as they were)', before)
    e = call_error(f.fl.MeasureHooks, dbus.UInt32(0))
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs',
           'MeasureHooks(0) is InvalidArgs', e)


def test_persistence(tap, f):
    """The profile set over D-Bus is what a restart applies. restricted,
    because the built-in default (baseline) would pass without the drop-in."""
    f.set_profile(tap, 'restricted')
    f.d.stop()
    tap.ok(not os.path.exists(f.d.config), 'no main config file: only the saved drop-in names a profile',
           f.d.config)
    tap.require(f.d.start(env=POLKIT_TIMEOUT), 'restarts without --profile')
    tap.ok('profile restricted' in (f.d.notify_value('STATUS') or '').lower(),
           'the profile set over D-Bus survives the restart (STATUS=)', f.d.notify_value('STATUS'))
    bus = dbus.bus.BusConnection(f.address)
    for _ in range(100):
        if bus.name_has_owner(NAME):
            break
        time.sleep(0.05)
    props = dbus.Interface(bus.get_object(NAME, PATH), 'org.freedesktop.DBus.Properties')
    tap.ok(props.Get(IFACE, 'Profile') == 'restricted', 'and Profile reads restricted after the restart',
           props.Get(IFACE, 'Profile'))
    r = fl_exec('memfd', 'proc-self', name='after-persisted-restart')
    tap.ok(r.get('result') == BLOCKED, f'and it is enforced: a memfd exec is {BLOCKED}', r)


def test_dropin_directory_missing(tap, f):
    """Security review (issue 9), a defect a new user hits: the drop-in
    directory missing (a fresh install under another prefix). SetProfile
    creates it, root-owned and 0755 whatever the umask, and saves the
    drop-in there. A configuration directory that cannot be written: the
    error names the path and why, and the profile is unchanged."""
    f.pk.mock.SetAllowed([ACTION])
    d = Daemon(tap)
    d.write_config('[Fileless]\nProfile=allow\n')
    dropins = d.config + '.d'
    tap.require(not os.path.exists(dropins), f'precondition: {dropins} does not exist')
    f.use(tap, d, wrapper=('sh', '-c', 'umask 077 && exec "$@"', 'sh'))
    e = call_error(f.fl.SetProfile, 'restricted', False)
    tap.ok(e is None and f.get('Profile') == 'restricted', 'SetProfile("restricted") succeeds', e)
    st = os.lstat(dropins) if os.path.lexists(dropins) else None
    tap.ok(st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and st.st_gid == 0
           and stat.S_IMODE(st.st_mode) == 0o755,
           f'it created {dropins}: a directory, root-owned, 0755 (the daemon ran with umask 077)',
           st and (oct(st.st_mode), st.st_uid, st.st_gid))
    saved = os.path.join(dropins, '90-set-profile.conf')
    text = open(saved).read() if os.path.exists(saved) else ''
    tap.ok('Profile=restricted' in text, 'and the drop-in in it, with the new profile', text)
    tap.ok(f.enforced() == 'restricted', 'the new profile is enforced')

    # A configuration directory on a read-only mount (only the daemon's
    # mount namespace sees it so).
    d2 = Daemon(tap)
    d2.write_config('[Fileless]\nProfile=allow\n')
    ro = ('unshare', '--mount', '--propagation', 'private', 'sh', '-c',
          f'mount --bind {d2.tmp} {d2.tmp} && mount -o remount,bind,ro {d2.tmp} && exec "$@"', 'sh')
    f.use(tap, d2, wrapper=ro)
    e = call_error(f.fl.SetProfile, 'restricted', False)
    tap.ok(e is not None and e.get_dbus_name() == FAILED and f'{d2.config}.d' in str(e)
           and 'Read-only file system' in str(e),
           f'a read-only configuration directory: {FAILED} naming {d2.config}.d and why', e)
    tap.ok(f.get('Profile') == 'allow' and f.kernel_profile() == 'allow' and f.enforced() == 'allow',
           'the profile is unchanged: Profile, the kernel and enforcement are allow',
           (f.get('Profile'), f.kernel_profile()))
    tap.ok(f'{d2.config}.d' in d2.output_since_start() and 'Read-only file system' in d2.output_since_start(),
           'and the daemon logs the path and why', d2.output_since_start()[-1500:])


def test_unit_forgery(tap, f):
    """Security review (issue 9): FILELESS_UNIT is resolved as systemd does,
    the outermost unit below the slices, so a cgroup named like a unit
    inside a delegated subtree (sshd.service below a user's scope) forges
    nothing; a user manager's unit is reported in a field of its own."""
    root = cgroup2_dir()
    tap.require(root is not None, 'a cgroup2 hierarchy is mounted')

    def make(*parts):
        path = root
        for p in parts:
            path = os.path.join(path, p)
            if not os.path.isdir(path):
                os.mkdir(path)
                on_exit(lambda path=path: os.rmdir(path))
        return path

    scope = f'fltest-{os.getpid()}.scope'
    for name, parts, unit, user_unit in (
            ('forged-unit', (scope, 'sshd.service'), scope, None),
            ('user-unit', ('user.slice', 'user-4242.slice', 'user@4242.service', 'app.slice', 'foo.service'),
             'user@4242.service', 'foo.service')):
        r = fl_exec('memfd', 'proc-self', name=name, cgroup=make(*parts))
        pump(lambda: f.events_for(r))
        ev = f.events_for(r)
        where = '/' + '/'.join(parts)
        tap.ok(len(ev) == 1 and ev[0].get('Unit') == unit and ev[0].get('UserUnit') == user_unit,
               f'a process in {where}: Unit is {unit}, UserUnit {user_unit or "absent"} (D-Bus)',
               [(e.get('Unit'), e.get('UserUnit')) for e in ev])
        jev = f.d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == f'memfd:{name}')
        tap.ok(len(jev) == 1 and jev[0].get('FILELESS_UNIT') == unit and jev[0].get('FILELESS_USER_UNIT') == user_unit,
               f'and in the log: FILELESS_UNIT={unit}, FILELESS_USER_UNIT {user_unit or "absent"}',
               [(e.get('FILELESS_UNIT'), e.get('FILELESS_USER_UNIT')) for e in jev])


def test_failed_profile_change_reports_the_truth(tap, f):
    """Security review (issue 9): when a profile change fails half-way and
    cannot be rolled back, Profile reads what the kernel enforces, not what
    the daemon hoped. The change reaches the kernel, saving it stalls (a
    FIFO where the drop-in's temporary file goes), the pinned config map is
    frozen meanwhile so the rollback fails, then saving fails (fsync() of a
    FIFO: EINVAL). Then, with the map still frozen, a change fails at once."""
    f.pk.mock.SetAllowed([ACTION])
    fifo = os.path.join(f.d.config + '.d', '.90-set-profile.conf.tmp')
    os.mkfifo(fifo)
    on_exit(lambda: os.path.lexists(fifo) and os.unlink(fifo))
    results = []
    f.fl.SetProfile('restricted', False, reply_handler=lambda: results.append('ok'),
                    error_handler=results.append, timeout=60)
    tap.require(pump(lambda: f.kernel_profile() == 'restricted', timeout=15),
                'the change reached the kernel; the daemon waits to save it', f.kernel_profile())
    p = subprocess.run(['bpftool', 'map', 'freeze', 'pinned', f'{f.d.pin}/config'], capture_output=True, text=True)
    tap.require(p.returncode == 0, 'the pinned config map is frozen: no rollback can be written', p.stderr)
    fd = os.open(fifo, os.O_RDONLY)  # the daemon is blocked opening it for writing
    with os.fdopen(fd, 'rb') as r:
        written = r.read()
    tap.note(f'the daemon wrote {len(written)} bytes into the FIFO')
    pump(lambda: results, timeout=15)
    e = results[0] if results else None
    tap.ok(e is not None and not isinstance(e, str) and e.get_dbus_name() == FAILED,
           f'SetProfile fails with {FAILED}', results)
    tap.ok(f.kernel_profile() == 'restricted' and f.enforced() == 'restricted',
           'the kernel still enforces restricted (the rollback was refused)', f.kernel_profile())
    tap.ok(f.get('Profile') == 'restricted', 'and Profile reads restricted, what the kernel enforces',
           f.get('Profile'))
    out = f.d.output_since_start()
    tap.ok('enforces profile restricted' in out, 'the daemon logs what the kernel enforces now', out[-1500:])

    # The map still frozen: the next change fails before anything changed.
    e = call_error(f.fl.SetProfile, 'allow', False)
    tap.ok(e is not None and e.get_dbus_name() == FAILED, f'with the map frozen, SetProfile("allow") fails: {FAILED}',
           e)
    tap.ok(f.get('Profile') == 'restricted' and f.kernel_profile() == 'restricted' and f.enforced() == 'restricted',
           'Profile, the kernel and enforcement still agree on restricted', (f.get('Profile'), f.kernel_profile()))


def test_set_profile_overridden(tap, f):
    """Security review (issue 9): a change saved in the daemon's drop-in that
    a later drop-in or --profile= would undo at the next reload is refused
    (org.bpflock.Fileless1.Error.Overridden, naming what wins), and nothing
    changes; the same for SetUnitProfile and a later drop-in's [Scope]."""
    f.pk.mock.SetAllowed([ACTION])
    saved = f.d.config + '.d/90-set-profile.conf'
    later = f.d.config + '.d/95-x.conf'
    with open(later, 'w') as fh:
        fh.write('[Fileless]\nProfile=allow\n')
    for how, call in (('SetProfile', lambda: f.fl.SetProfile('restricted', False)),
                      ('Properties.Set', lambda: f.props.Set(IFACE, 'Profile', 'restricted'))):
        e = call_error(call)
        tap.ok(e is not None and e.get_dbus_name() == OVERRIDDEN and later in str(e),
               f'{how} with 95-x.conf setting Profile= after the saved drop-in: {OVERRIDDEN} naming it', e)
    tap.ok(f.get('Profile') == 'allow' and f.kernel_profile() == 'allow' and f.enforced() == 'allow',
           'the profile is unchanged (Profile, the kernel, enforcement)', (f.get('Profile'), f.kernel_profile()))
    tap.ok(not os.path.exists(saved) or 'restricted' not in open(saved).read(), 'and nothing was saved')

    unit = f'fltest-{os.getpid()}.service'
    with open(later, 'w') as fh:
        fh.write(f'[Scope]\nUnit={unit}\nProfile=allow\n')
    e = call_error(f.fl.SetUnitProfile, unit, 'restricted', False)
    tap.ok(e is not None and e.get_dbus_name() == OVERRIDDEN and later in str(e) and unit in str(e),
           f'SetUnitProfile({unit}) with 95-x.conf holding its [Scope]: {OVERRIDDEN} naming both', e)
    tap.ok(list(f.get('UnitProfiles')) == [], 'no scope was set', f.get('UnitProfiles'))
    other = f'fltest-other-{os.getpid()}.service'
    e = call_error(f.fl.SetUnitProfile, other, 'restricted', False)
    tap.ok(e is None and [tuple(map(str, p)) for p in f.get('UnitProfiles')] == [(other, 'restricted')],
           'control: SetUnitProfile of a unit no later drop-in names succeeds', (e, f.get('UnitProfiles')))

    # --profile= wins at every reload and restart.
    os.unlink(later)
    d = Daemon(tap)
    f.use(tap, d, '--profile=allow')
    e = call_error(f.fl.SetProfile, 'restricted', False)
    tap.ok(e is not None and e.get_dbus_name() == OVERRIDDEN and '--profile=allow' in str(e),
           f'started with --profile=allow, SetProfile("restricted"): {OVERRIDDEN} naming --profile=', e)
    tap.ok(f.get('Profile') == 'allow' and f.kernel_profile() == 'allow' and f.enforced() == 'allow',
           'the profile is unchanged', (f.get('Profile'), f.kernel_profile()))


class Trace:
    """openat() and fsync() of one process, from a tracefs instance of our
    own (tracefs mounted in a directory of ours if it is not already)."""

    def __init__(self, tap, pid):
        tracefs = None
        with open('/proc/self/mounts') as fh:
            for line in fh:
                if line.split()[2] == 'tracefs':
                    tracefs = line.split()[1]
                    break
        if tracefs is None:
            tracefs = tempfile.mkdtemp(prefix='fltest-tracefs-')
            subprocess.run(['mount', '-t', 'tracefs', 'nodev', tracefs], check=True)
            on_exit(lambda: (subprocess.run(['umount', tracefs]), os.rmdir(tracefs)))
        self.dir = os.path.join(tracefs, 'instances', f'fltest-{os.getpid()}')
        os.mkdir(self.dir)
        on_exit(lambda: os.rmdir(self.dir))
        self.events = ['sys_enter_openat', 'sys_exit_openat', 'sys_enter_fsync']
        for ev in self.events:
            self.write(f'events/syscalls/{ev}/filter', f'common_pid == {pid}')
        on_exit(self.stop)

    def write(self, name, value):
        with open(os.path.join(self.dir, name), 'w') as fh:
            fh.write(value)

    def start(self):
        for ev in self.events:
            self.write(f'events/syscalls/{ev}/enable', '1')

    def stop(self):
        for ev in self.events:
            self.write(f'events/syscalls/{ev}/enable', '0')

    def fsyncs(self):
        """(file fsyncs, directory fsyncs): by whether the fd came from an
        openat() with O_DIRECTORY."""
        with open(os.path.join(self.dir, 'trace')) as fh:
            text = fh.read()
        dirs, files, flags, fds = 0, 0, None, {}
        # Numbers are hexadecimal (0x...), or decimal when small.
        for m in re.finditer(r'sys_openat\(.*?flags: (\w+)|sys_openat -> (\w+)|sys_fsync\(fd: (\w+)\)', text):
            if m.group(1):
                flags = int(m.group(1), 0)
            elif m.group(2):
                fds[int(m.group(2), 0)] = flags
            elif (fds.get(int(m.group(3), 0)) or 0) & os.O_DIRECTORY:
                dirs += 1
            else:
                files += 1
        return files, dirs


def test_dropin_writer_durable(tap, f):
    """Security review (issue 9): the drop-in writer leaked an fd when
    fdopen() failed and did not fsync the directory after the rename. 20
    changes over D-Bus: the daemon holds no more fds than before, and each
    synced the file and then the directory (seen by tracing its fsync()
    calls)."""
    f.pk.mock.SetAllowed([ACTION])
    for p in ('restricted', 'allow'):  # whatever the first change opens for good
        tap.require(call_error(f.fl.SetProfile, p, False) is None, f'precondition: SetProfile("{p}")')
    pid = f.d.proc.pid

    def fds():
        return sorted(os.listdir(f'/proc/{pid}/fd'), key=int)
    before = fds()
    trace = Trace(tap, pid)
    trace.start()
    errors = []
    for i in range(20):
        # Each change sends STATUS= to the notify socket, whose queue holds
        # only net.unix.max_dgram_qlen datagrams (10 here): a full one
        # blocks the daemon in sd_notify().
        f.d.drain_notify()
        e = call_error(f.fl.SetProfile, 'restricted' if i % 2 == 0 else 'allow', False)
        if e is not None:
            errors.append(e)
    trace.stop()
    tap.ok(not errors and f.get('Profile') == 'allow', '20 profile changes over D-Bus succeed', errors)
    after = fds()
    tap.ok(len(after) <= len(before), f'the daemon holds no more fds than before ({len(before)}, then {len(after)})',
           (before, after))
    files, dirs = trace.fsyncs()
    tap.ok(files >= 20 and dirs >= 20, f'each change fsynced the drop-in and its directory ({files} file and {dirs} '
           'directory fsyncs)')
    saved = f.d.config + '.d/90-set-profile.conf'
    tap.ok(open(saved).read().count('Profile=allow') == 1, 'the drop-in holds the last profile, whole',
           open(saved).read())
    leftovers = [n for n in os.listdir(f.d.config + '.d') if n.startswith('.')]
    tap.ok(not leftovers, 'no temporary file is left behind', leftovers)


if __name__ == '__main__':
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    run_cases('dbus', globals(), setup=Fixture)
