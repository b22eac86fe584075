#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.bpflock.Fileless1 on a private system bus (a real dbus-daemon with
the project's bus policy), polkit played by python-dbusmock's polkitd
template, and a client on another D-Bus library (python-dbus) than the
daemon's sd-bus."""

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import json
import select

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

from fltest import TAP, Daemon, cgroup2_dir, ensure_bpffs, fl_exec, lsm_available, on_exit

from flbus import ACTION, IFACE, NAME, PATH, SRC, Polkit, PrivateBus, call_error

XML = os.path.join(SRC, 'dbus', 'org.bpflock.Fileless1.xml')
CTL = os.environ.get('FILELESSLOCKCTL', os.path.join(SRC, 'build', 'src', 'filelesslockctl'))


def ctl(*args, timeout=30):
    return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=timeout)

EVENT_KEYS = {'Timestamp': 't', 'Action': 's', 'Kind': 's', 'Profile': 's', 'Backend': 's', 'Pid': 'u',
              'PPid': 'u', 'Uid': 'u', 'Gid': 'u', 'Comm': 's', 'ParentComm': 's', 'FileName': 's',
              'ExecPath': 's', 'Inode': 't', 'Device': 't', 'PidNamespace': 't', 'CgroupId': 't'}
DBUS_TYPES = {'t': dbus.UInt64, 'u': dbus.UInt32, 's': dbus.String}


def main():
    tap = TAP('dbus')
    ensure_bpffs()
    blocked = 'denied' if lsm_available() else 'killed'
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    address = PrivateBus().start().address

    pk = Polkit(address)
    pk.start()

    d = Daemon(tap)
    tap.ok(d.start('--profile=allow', env={'FILELESSLOCK_POLKIT_TIMEOUT_SEC': '4'}), 'daemon ready')
    bus = dbus.bus.BusConnection(address)
    for _ in range(100):
        if bus.name_has_owner(NAME):
            break
        time.sleep(0.05)
    tap.ok(bus.name_has_owner(NAME), f'the daemon owns {NAME}')
    obj = bus.get_object(NAME, PATH)
    props = dbus.Interface(obj, 'org.freedesktop.DBus.Properties')
    fl = dbus.Interface(obj, IFACE)

    def get(p):
        return props.Get(IFACE, p)

    tap.ok(get('Profile') == 'allow', 'Profile reads allow', get('Profile'))
    tap.ok(get('Backend') == ('lsm' if lsm_available() else 'tracepoint'), 'Backend', get('Backend'))
    tap.ok(re.match(r'^\d+\.\d+', get('Version')) is not None, 'Version', get('Version'))
    tap.ok(get('Pinned') is True or get('Pinned') == 1, 'Pinned is true', get('Pinned'))

    # Introspection equals the documented XML (the interface element).
    live = ET.fromstring(str(dbus.Interface(obj, 'org.freedesktop.DBus.Introspectable').Introspect()))
    doc = ET.parse(XML).getroot()

    def canon(node):
        iface = [i for i in node.iter('interface') if i.get('name') == IFACE][0]
        return sorted((c.tag, c.get('name'), c.get('type'), c.get('access'),
                       tuple(sorted((a.tag, a.get('name'), a.get('type'), a.get('direction'), a.get('value'))
                                    for a in c))) for c in iface)
    tap.ok(canon(live) == canon(doc), 'live introspection equals dbus/org.bpflock.Fileless1.xml',
           f'live={canon(live)}\ndoc={canon(doc)}')

    # Events over D-Bus, for a real memfd exec.
    events = []
    bus.add_signal_receiver(lambda ev: events.append(ev), 'Event', IFACE, NAME, PATH)

    def pump(pred, timeout=5):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not pred():
            ctx.iteration(False)
            time.sleep(0.01)
        return pred()

    r = fl_exec('memfd', 'proc-self', name=b'dbus-\xff\x01-evil')
    got = pump(lambda: any(e.get('Inode') == int(r['ino']) for e in events))
    ev = [e for e in events if e.get('Inode') == int(r['ino'])]
    tap.ok(got and len(ev) == 1, 'an Event signal for a real memfd exec', events)
    if ev:
        e = ev[0]
        bad = {k: type(e.get(k)).__name__ for k, t in EVENT_KEYS.items() if not isinstance(e.get(k), DBUS_TYPES[t])}
        tap.ok(not bad, 'every documented key with its type', bad)
        tap.ok(e.get('Kind') == 'memfd' and e.get('Action') == 'allowed' and e.get('Pid') == int(r['child']),
               'Kind, Action and Pid are right', dict(e))
        # Our own cgroup's unit, if we are in one at all (on these machines: none).
        with open('/proc/self/cgroup') as f:
            own = [l.split('::', 1)[1].strip() for l in f if l.startswith('0::')]
        units = [c for c in (own[0] if own else '').split('/')
                 if re.search(r'\.(service|scope|socket|mount|swap|timer)$', c)]
        tap.ok(e.get('Unit') == (units[-1] if units else None), 'Unit is our own unit, or absent outside any unit',
               (e.get('Unit'), units))
        tap.ok(str(e.get('FileName')) == 'memfd:dbus-\\xff\\x01-evil',
               'a name with invalid UTF-8 (a raw 0xff) and a control byte arrives as valid, escaped UTF-8',
               e.get('FileName'))

    # The comm is the new image's name: a file whose name is not UTF-8.
    events.clear()
    r = fl_exec('shm', 'path', name=b'c\xff\x01\xc3m')
    pump(lambda: any(e.get('Inode') == int(r.get('ino', -1)) for e in events))
    ev = [e for e in events if e.get('Inode') == int(r.get('ino', -1))]
    tap.ok(len(ev) == 1 and str(ev[0].get('Comm')) == 'c\\xff\\x01\\xc3m' and
           str(ev[0].get('FileName')) == '/dev/shm/c\\xff\\x01\\xc3m',
           'a comm with invalid UTF-8 arrives on D-Bus as valid UTF-8, escaped', [dict(e) for e in ev] or r)

    # A process in a unit's cgroup: the event names the unit.
    root = cgroup2_dir()
    unit = f'fltest-{os.getpid()}.scope'
    cg = os.path.join(root, unit)
    os.mkdir(cg)
    on_exit(lambda: os.rmdir(cg))
    events.clear()
    r = fl_exec('memfd', 'proc-self', name='in-a-unit', cgroup=cg)
    pump(lambda: any(e.get('Inode') == int(r['ino']) for e in events))
    ev = [e for e in events if e.get('Inode') == int(r['ino'])]
    tap.ok(len(ev) == 1 and ev[0].get('Unit') == unit, f'Unit is {unit} for a process in its cgroup',
           [dict(e) for e in ev])
    jev = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:in-a-unit')
    tap.ok(len(jev) == 1 and jev[0].get('FILELESS_UNIT') == unit, 'and the journal entry has FILELESS_UNIT', jev)

    # An unprivileged user outside adm and systemd-journal receives no Event.
    listener = subprocess.Popen(
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', f'''
import dbus, dbus.mainloop.glib, time
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection({address!r})
got = []
bus.add_signal_receiver(lambda ev: got.append(ev), 'Event', {IFACE!r}, {NAME!r}, {PATH!r})
print('listening', flush=True)
ctx = GLib.MainContext.default()
end = time.monotonic() + 3
while time.monotonic() < end:
    ctx.iteration(False); time.sleep(0.01)
print('got', len(got), flush=True)
'''], stdout=subprocess.PIPE, text=True)
    listener.stdout.readline()
    events.clear()
    fl_exec('memfd', 'proc-self', name='for-root-only')
    pump(lambda: len(events) > 0)
    out = listener.communicate(timeout=20)[0]
    tap.ok(len(events) == 1 and 'got 0' in out, 'uid 65534 receives no Event while root does', (out, len(events)))

    # polkit says no: AccessDenied naming the action, profile unchanged.
    pk.mock.SetAllowed(dbus.Array([], signature='s'))
    e = call_error(props.Set, IFACE, 'Profile', 'restricted')
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied' and ACTION in str(e),
           'polkit denies: AccessDenied naming the action', e)
    tap.ok(get('Profile') == 'allow', 'denied: profile unchanged')

    # polkit says yes.
    pk.mock.SetAllowed([ACTION])
    changed = []
    bus.add_signal_receiver(lambda i, c, inv: changed.append(dict(c)), 'PropertiesChanged',
                            'org.freedesktop.DBus.Properties', NAME, PATH)
    e = call_error(props.Set, IFACE, 'Profile', 'restricted')
    tap.ok(e is None and get('Profile') == 'restricted', 'Properties.Set Profile=restricted authorized by polkit', e)
    tap.ok(pump(lambda: any(c.get('Profile') == 'restricted' for c in changed)), 'PropertiesChanged announced it',
           changed)
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == blocked, f'the new profile is enforced: memfd exec {blocked}', r)
    dropin = d.config + '.d/90-set-profile.conf'
    tap.ok(os.path.exists(dropin) and 'Profile=restricted' in open(dropin).read(), 'the change is persisted', dropin)
    tap.ok(re.search(r'changed from allow to restricted over D-Bus by uid 0', d.output()) is not None,
           'the change is logged with the caller', d.output_since_start()[-2000:])

    e = call_error(fl.SetProfile, 'privileged', False)
    tap.ok(e is None and get('Profile') == 'allow', 'SetProfile("privileged") stores allow', e)
    e = call_error(props.Set, IFACE, 'Profile', 'none')
    tap.ok(e is None and get('Profile') == 'allow', 'Profile=none is allow (unchanged, no-op)', e)

    # Bad writes: each gets its error and changes nothing.
    for desc, value in (('empty', ''), ('unknown', 'restrictd'), ('64 KiB', 'r' * 65536),
                        ('wrong case', 'Restricted')):
        e = call_error(props.Set, IFACE, 'Profile', value)
        tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs'
               and 'valid profiles are' in str(e) and get('Profile') == 'allow',
               f'{desc} profile: InvalidArgs naming the valid ones, profile unchanged', e)
    e = call_error(props.Set, IFACE, 'Profile', dbus.Int32(3))
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs' and get('Profile') == 'allow',
           'wrong type: InvalidArgs, profile unchanged', e)
    e = call_error(props.Set, IFACE, 'Backend', 'lsm')
    tap.ok(e is not None and get('Backend') != 'x', 'Backend is read-only', e)
    p = subprocess.run(['busctl', 'call', NAME, PATH, IFACE, 'SetProfile', 's', 'restricted'],
                       capture_output=True, text=True, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address))
    tap.ok(p.returncode != 0 and get('Profile') == 'allow', 'SetProfile with a missing argument fails', p.stderr)

    # A slow polkit: the daemon keeps answering and delivering events meanwhile.
    pk.mock.SetDelay(dbus.Double(2.0))
    results = []
    props.Set(IFACE, 'Profile', 'baseline', reply_handler=lambda: results.append('ok'),
              error_handler=lambda err: results.append(err))
    t0 = time.monotonic()
    v = get('Profile')
    fast = time.monotonic() - t0
    tap.ok(v == 'allow' and fast < 1.0, f'Get answered in {fast:.3f} s while polkit is slow', v)
    events.clear()
    fl_exec('memfd', 'proc-self', name='during-slow-polkit')
    tap.ok(pump(lambda: len(events) > 0, timeout=1.5) and not results, 'Event signals flow while polkit is slow',
           (events, results))
    pump(lambda: results, timeout=10)
    tap.ok(results == ['ok'] and get('Profile') == 'baseline', 'the slow authorization completes', results)
    pk.mock.SetDelay(dbus.Double(0))

    # A hanging polkit: other calls go on, and the hung call ends denied.
    pk.mock.SimulateHang(True)
    results = []
    props.Set(IFACE, 'Profile', 'restricted', reply_handler=lambda: results.append('ok'),
              error_handler=lambda err: results.append(err), timeout=60)
    tap.ok(get('Profile') == 'baseline', 'Get answered while polkit hangs')
    pump(lambda: results, timeout=15)
    tap.ok(len(results) == 1 and not isinstance(results[0], str)
           and results[0].get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied'
           and get('Profile') == 'baseline', 'the hung authorization ends AccessDenied, profile unchanged', results)
    pk.mock.SimulateHang(False)

    # filelesslockctl against the running daemon.
    p = ctl('status')
    tap.ok(p.returncode == 0 and re.search(r'Profile: baseline', p.stdout) and 'Backend:' in p.stdout,
           'filelesslockctl status shows the profile and backend', p.stdout + p.stderr)
    p = ctl('status', '--json')
    try:
        st = json.loads(p.stdout)
    except ValueError:
        st = {}
    tap.ok(p.returncode == 0 and st.get('Profile') == 'baseline' and isinstance(st.get('FilelessExecutions'), int),
           'filelesslockctl status --json parses, with the counters as numbers', p.stdout + p.stderr)
    pk.mock.SetAllowed([ACTION])
    p = ctl('--no-ask-password', 'set-profile', 'restricted')
    tap.ok(p.returncode == 0 and get('Profile') == 'restricted', 'filelesslockctl set-profile restricted',
           p.stdout + p.stderr)
    p = ctl('--no-ask-password', 'set-profile', 'restrictd')
    tap.ok(p.returncode == 2 and 'restrictd' in p.stderr and get('Profile') == 'restricted',
           'filelesslockctl set-profile with a typo: exit 2 naming it', p.stdout + p.stderr)
    pk.mock.SetAllowed(dbus.Array([], signature='s'))
    p = ctl('--no-ask-password', 'set-profile', 'allow')
    tap.ok(p.returncode == 4 and get('Profile') == 'restricted', 'filelesslockctl set-profile refused: exit 4',
           p.stdout + p.stderr)
    pk.mock.SetAllowed([ACTION])
    ctl('--no-ask-password', 'set-profile', 'baseline')
    mon = subprocess.Popen([CTL, 'monitor', '--json'], stdout=subprocess.PIPE, text=True)
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

    # No polkit at all: writes are denied with a clear error, reads work.
    pk.stop()
    e = call_error(props.Set, IFACE, 'Profile', 'allow')
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied'
           and 'polkit could not be asked' in str(e) and get('Profile') == 'baseline',
           'no polkit: AccessDenied saying polkit could not be asked; reads work', e)

    d.stop()
    p = ctl('status')
    tap.ok(p.returncode == 3 and 'not running' in p.stderr, 'filelesslockctl status without the daemon: exit 3',
           p.stdout + p.stderr)
    # The persisted profile is what a restart applies.
    tap.ok(d.start(env={'FILELESSLOCK_POLKIT_TIMEOUT_SEC': '4'}), 'restarts')
    tap.ok('profile baseline' in (d.notify_value('STATUS') or '').lower(),
           'the profile set over D-Bus survives the restart', d.notify_value('STATUS'))
    d.stop()
    tap.done()


if __name__ == '__main__':
    main()
