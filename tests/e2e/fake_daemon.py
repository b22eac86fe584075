#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for filelesslockd's D-Bus API, and the tests of filelesslockctl
that run against it.

As a python-dbusmock template (DBusTestCase.spawn_server_template(__file__))
it puts org.bpflock.Fileless1 on the bus with the daemon's properties and
SetProfile(), plus two remote controls on org.freedesktop.DBus.Mock:

  EmitEvent(a{sv} overrides)     emit an Event signal: a complete event with
                                 OVERRIDES merged in
  SetError(s name, s message)    make SetProfile() fail with that D-Bus error
                                 until called again with an empty name

Run as a program, it starts a private system bus (filelesslockctl finds it
through DBUS_SYSTEM_BUS_ADDRESS), spawns itself there and checks
filelesslockctl against it, printing TAP:

  fake_daemon.py [--ctl PATH]     (default: $FILELESSLOCKCTL, build/src/filelesslockctl)

Needs python3-dbus and python3-dbusmock (Debian), run with /usr/bin/python3."""

import dbus
import dbus.service
from dbusmock import MOCK_IFACE

BUS_NAME = 'org.bpflock.Fileless1'
MAIN_OBJ = '/org/bpflock/Fileless1'
MAIN_IFACE = 'org.bpflock.Fileless1'
SYSTEM_BUS = True

PROFILES = {'allow': 'allow', 'none': 'allow', 'privileged': 'allow',
            'baseline': 'baseline', 'restricted': 'restricted'}


def default_event():
    return {
        'Timestamp': dbus.UInt64(1714557296123456),
        'Action': dbus.String('killed'),
        'Kind': dbus.String('memfd'),
        'Profile': dbus.String('restricted'),
        'Backend': dbus.String('tracepoint'),
        'Pid': dbus.UInt32(4242),
        'PPid': dbus.UInt32(4241),
        'Uid': dbus.UInt32(1000),
        'Gid': dbus.UInt32(1000),
        'Comm': dbus.String('demo'),
        'ParentComm': dbus.String('python3'),
        'FileName': dbus.String('memfd:demo'),
        'ExecPath': dbus.String('/proc/self/fd/3'),
        'Inode': dbus.UInt64(123456),
        'Device': dbus.UInt64(1),
        'PidNamespace': dbus.UInt64(4026531836),
        'CgroupId': dbus.UInt64(18446744073709551615),
        'Unit': dbus.String('session-1.scope'),
    }


def load(mock, parameters):
    mock.fake_error = None
    mock.last_interactive_flag = None
    props = {
        'Profile': dbus.String('baseline'),
        'Backend': dbus.String('tracepoint'),
        'Version': dbus.String('0.1.0'),
        'FilelessExecutions': dbus.UInt64(12),
        'Blocked': dbus.UInt64(3),
        'EventsLost': dbus.UInt64(0),
        'Pinned': dbus.Boolean(True),
        'PinPath': dbus.String('/sys/fs/bpf/bpflock/filelesslock'),
    }
    for k, v in parameters.items():
        if k in props:
            props[k] = type(props[k])(v)
    mock.AddProperties(MAIN_IFACE, dbus.Dictionary(props, signature='sv'))


@dbus.service.method(MAIN_IFACE, in_signature='sb', out_signature='', message_keyword='dbus_message')
def SetProfile(self, profile, interactive, dbus_message=None):
    if dbus_message is not None:
        self.last_interactive_flag = bool(dbus_message.get_allow_interactive_authorization())
    if self.fake_error:
        raise dbus.exceptions.DBusException(self.fake_error[1], name=self.fake_error[0])
    if profile not in PROFILES:
        raise dbus.exceptions.DBusException(
            f"Invalid profile '{profile}': expected allow (or its aliases none, privileged), baseline, restricted",
            name='org.freedesktop.DBus.Error.InvalidArgs')
    self.Set(MAIN_IFACE, 'Profile', dbus.String(PROFILES[profile]))


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='b')
def GetInteractiveFlag(self):
    """Whether the last SetProfile() call carried ALLOW_INTERACTIVE_AUTHORIZATION."""
    return bool(self.last_interactive_flag)


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='')
def SetError(self, name, message):
    self.fake_error = (str(name), str(message)) if name else None


@dbus.service.method(MOCK_IFACE, in_signature='a{sv}', out_signature='')
def EmitEvent(self, overrides):
    event = default_event()
    event.update(overrides)
    self.EmitSignal(MAIN_IFACE, 'Event', 'a{sv}', [dbus.Dictionary(event, signature='sv')])


# ---- the tests, when run as a program ----

def _main():
    import json
    import os
    import re
    import select
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    import dbusmock

    ctl = os.environ.get('FILELESSLOCKCTL',
                         os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build', 'src',
                                      'filelesslockctl'))
    if len(sys.argv) == 3 and sys.argv[1] == '--ctl':
        ctl = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit(f'usage: {sys.argv[0]} [--ctl PATH]')

    n = failed = 0

    def ok(cond, desc, diag=None):
        nonlocal n, failed
        n += 1
        print(f'{"ok" if cond else "not ok"} {n} - {desc}', flush=True)
        if not cond:
            failed += 1
            for line in str(diag or '').splitlines():
                print(f'#   {line}', flush=True)
        return cond

    def run(*args, **kw):
        return subprocess.run([ctl, *args], capture_output=True, text=True, timeout=30, **kw)

    def show(p):
        return f'rc={p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}'

    class Bus(dbusmock.DBusTestCase):
        pass

    Bus.start_system_bus()
    procs = []

    def cleanup():
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        Bus.tearDownClass()

    try:
        bus = Bus.get_dbus(system_bus=True)

        # Nobody owns the name yet.
        p = run('status')
        ok(p.returncode == 3 and 'not running' in p.stderr, 'status without a daemon exits 3', show(p))
        p = run('set-profile', 'restricted', '--no-ask-password')
        ok(p.returncode == 3, 'set-profile without a daemon exits 3', show(p))

        daemon, obj = Bus.spawn_server_template(os.path.abspath(__file__), {}, subprocess.DEVNULL)
        procs.append(daemon)
        mock = dbus.Interface(obj, dbusmock.MOCK_IFACE)

        def prop(name):
            return obj.Get(MAIN_IFACE, name, dbus_interface=dbus.PROPERTIES_IFACE)

        p = run()
        lines = p.stdout.splitlines()
        ok(p.returncode == 0 and '            Profile: baseline' in lines
           and 'Fileless executions: 12' in lines and '            Blocked: 3' in lines
           and '        Events lost: 0' in lines and '            Backend: tracepoint' in lines
           and '            Version: 0.1.0' in lines
           and '             Pinned: yes (/sys/fs/bpf/bpflock/filelesslock)' in lines,
           'status (the default command) shows every property, aligned', show(p))

        p = run('status', '--json')
        try:
            st = json.loads(p.stdout)
        except ValueError as e:
            st = {'error': str(e)}
        ok(p.returncode == 0 and st.get('Profile') == 'baseline' and st.get('FilelessExecutions') == 12
           and st.get('Pinned') is True, 'status --json', show(p))

        p = run('set-profile', 'restricted', '--no-ask-password')
        ok(p.returncode == 0 and prop('Profile') == 'restricted', 'set-profile restricted', show(p))
        calls = mock.GetMethodCalls('SetProfile')
        ok(calls and list(calls[-1][1]) == ['restricted', False] and not mock.GetInteractiveFlag(),
           'with --no-ask-password: interactive=false and no ALLOW_INTERACTIVE_AUTHORIZATION', calls)

        p = run('set-profile', 'none')
        calls = mock.GetMethodCalls('SetProfile')
        ok(p.returncode == 0 and prop('Profile') == 'allow' and list(calls[-1][1]) == ['none', True]
           and mock.GetInteractiveFlag(),
           'set-profile none (alias): interactive=true and ALLOW_INTERACTIVE_AUTHORIZATION', show(p))

        p = run('set-profile', 'strict')
        ok(p.returncode == 2 and "Invalid profile 'strict'" in p.stderr and p.stderr.startswith('filelesslockctl: ')
           and prop('Profile') == 'allow', 'an invalid profile exits 2 with the daemon\'s message', show(p))

        mock.SetError('org.freedesktop.DBus.Error.AccessDenied', 'Not authorized: org.bpflock.fileless1.set-profile')
        p = run('set-profile', 'baseline', '--no-ask-password')
        ok(p.returncode == 4 and 'Not authorized' in p.stderr, 'AccessDenied exits 4', show(p))

        mock.SetError('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', 'Interactive authentication required.')
        p = run('set-profile', 'baseline', '--no-ask-password')
        ok(p.returncode == 4 and 'Interactive authentication required.' in p.stderr
           and '--no-ask-password' in p.stderr, 'InteractiveAuthorizationRequired exits 4 with a hint', show(p))

        mock.SetError('org.bpflock.Fileless1.Error.Busy', 'Busy.')
        p = run('set-profile', 'baseline')
        ok(p.returncode == 1 and 'Busy.' in p.stderr, 'another D-Bus error exits 1', show(p))
        mock.SetError('', '')

        # monitor: nothing tells us when its match is in place, so emit until a line comes.
        def start_monitor(*args):
            m = subprocess.Popen([ctl, 'monitor', *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(m)
            return m

        def read_line(m, timeout=5.0, emit=None):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if emit:
                    emit()
                r, _, _ = select.select([m.stdout], [], [], 0.2)
                if r:
                    return m.stdout.readline()
            return None

        nasty = 'a "b"\\c\n\x01\x1b[31m ü \u2603'
        mon = start_monitor('--json')
        line = read_line(mon, emit=lambda: mock.EmitEvent({'Comm': dbus.String(nasty)}))
        try:
            ev = json.loads(line)
        except (TypeError, ValueError) as e:
            ev = {'error': str(e)}
        ok(set(ev) == set(default_event()) and ev['Comm'] == nasty and ev['Pid'] == 4242
           and ev['Timestamp'] == 1714557296123456 and ev['CgroupId'] == 18446744073709551615
           and ev['Kind'] == 'memfd' and line.count('\n') == 1,
           'monitor --json: every key, typed, strings escaped, one line', line)

        # Drain what the retries left, then: a signal from another sender is ignored.
        while read_line(mon, timeout=0.5):
            pass
        spoof = dbus.lowlevel.SignalMessage(MAIN_OBJ, MAIN_IFACE, 'Event')
        fake = default_event()
        fake['Comm'] = 'SPOOF'
        spoof.append(dbus.Dictionary(fake, signature='sv'), signature='a{sv}')
        bus.send_message(spoof)
        bus.flush()
        mock.EmitEvent({'Comm': 'after'})
        line = read_line(mon)
        ok(line and json.loads(line)['Comm'] == 'after', 'monitor ignores an Event from another sender', line)

        # The daemon restarts: the match follows the name.
        daemon.terminate()
        daemon.wait()
        daemon, obj = Bus.spawn_server_template(os.path.abspath(__file__), {}, subprocess.DEVNULL)
        procs.append(daemon)
        mock = dbus.Interface(obj, dbusmock.MOCK_IFACE)
        line = read_line(mon, emit=lambda: mock.EmitEvent({'Comm': 'restarted'}))
        ok(line and json.loads(line)['Comm'] == 'restarted', 'monitor follows a restarted daemon', line)

        mon.send_signal(signal.SIGTERM)
        try:
            rc = mon.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0, 'monitor exits 0 on SIGTERM', f'rc={rc} stderr={mon.stderr.read() if rc is not None else ""}')

        mon = start_monitor()
        line = read_line(mon, emit=lambda: mock.EmitEvent({'FileName': 'memfd:x y'}))
        ok(line is not None and re.fullmatch(
            r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} killed memfd memfd:x y pid 4242 \(demo\) uid 1000 via /proc/self/fd/3\n',
            line), 'monitor: human form', line)
        mock.EmitEvent({'Comm': dbus.String('x\x1b]0;pwned\x07')})
        while True:
            line = read_line(mon, timeout=1)
            if line is None or 'pwned' in line:
                break
        ok(line and '\x1b' not in line and '\\x1b]0;pwned\\x07' in line,
           'monitor: control characters are escaped in the human form', repr(line))
        mon.send_signal(signal.SIGINT)
        try:
            rc = mon.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0, 'monitor exits 0 on SIGINT', f'rc={rc}')

        # events: an empty journal directory gives nothing, successfully.
        with tempfile.TemporaryDirectory() as d:
            p = run('events', '--json', '-D', d, '--since=-1h', '-n', '5')
            ok(p.returncode == 0 and p.stdout == '', 'events on an empty journal prints nothing', show(p))
        p = run('events', '--since=yesterday')
        ok(p.returncode == 2 and "--since='yesterday'" in p.stderr, 'a bad --since exits 2 naming it', show(p))

        # usage errors
        for args in (['frobnicate'], ['set-profile'], ['--bogus'], ['status', 'extra'], ['-n', 'x', 'events'],
                     ['set-profile', 'allow', '--json'], ['-H', 'a', '-M', 'b']):
            p = run(*args)
            ok(p.returncode == 2 and p.stderr.startswith('filelesslockctl: '), f'usage error exits 2: {args}', show(p))

        p = run('status', env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS='unix:path=/nonexistent/bus'))
        ok(p.returncode == 1 and 'system bus' in p.stderr, 'no bus at all exits 1', show(p))
    finally:
        cleanup()

    print(f'1..{n}', flush=True)
    print(f'# filelesslockctl: {n - failed} passed, {failed} failed', flush=True)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    _main()
