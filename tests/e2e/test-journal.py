#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Journal output against a real systemd-journald, private to this test: it
runs in a mount and pid namespace of its own with a tmpfs on /run, so the
host's /run and any journal it has are untouched.

Each test_* function is a case, with a journald and a restricted daemon of
its own: test-journal.py [CASE...] (all without arguments; --list names them)."""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

from fltest import SRC, MSG_EXEC, MSG_STARTED, Daemon, ensure_bpffs, fl_exec, lsm_available, on_exit, run_cases
from flbus import IFACE, NAME, PATH, PrivateBus, wait_owner

JOURNALD = '/lib/systemd/systemd-journald'
SOCKET = '/run/systemd/journal/socket'
FORGED_ID = '0123456789abcdef0123456789abcdef'
BLOCKED = 'denied' if lsm_available() else 'killed'
CTL = os.environ.get('FILELESSLOCKCTL', os.path.join(SRC, 'build', 'src', 'filelesslockctl'))
NOBODY = 65534


def start_journald():
    # A socket left by a killed journald would look like a live one.
    for f in ('socket', 'stdout', 'dev-log'):
        try:
            os.unlink(f'/run/systemd/journal/{f}')
        except FileNotFoundError:
            pass
    p = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    for _ in range(200):
        if os.path.exists(SOCKET):
            return p
        time.sleep(0.02)
    return p


def journalctl(*args):
    """(exit status, entries, stderr) of journalctl -o json ARGS. One entry
    a line, split at newlines only: splitlines() would also split at a raw
    U+2028 in a value."""
    p = subprocess.run(['journalctl', '--no-pager', '-o', 'json', *args], capture_output=True, text=True)
    return p.returncode, [json.loads(l) for l in p.stdout.split('\n') if l.strip()], p.stderr


def journal(*args):
    """The entries journalctl -o json ARGS prints; a failing journalctl is an
    error, never an empty journal."""
    rc, entries, err = journalctl(*args)
    if rc != 0:
        raise RuntimeError(f'journalctl {" ".join(args)} exited {rc}: {err.strip()}')
    return entries


def wait_journal(pred, *args, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in journal(*args) if pred(e)]
        if found:
            return found
        time.sleep(0.1)
    return []


class Fixture:
    def __init__(self, tap):
        ensure_bpffs()
        shutil.rmtree('/run/log/journal', ignore_errors=True)  # an earlier case's entries
        self.jd = start_journald()
        tap.require(os.path.exists(SOCKET), 'a private systemd-journald is listening')
        self.d = Daemon(tap)
        tap.require(self.d.start('--profile=restricted'), 'daemon ready')


def test_journal_entry(tap, f):
    started = wait_journal(lambda e: e.get('MESSAGE_ID') == MSG_STARTED, '-t', 'filelesslock')
    tap.ok(len(started) == 1 and started[0].get('FILELESS_PROFILE') == 'restricted',
           'the start is logged with its own MESSAGE_ID and the profile', started)

    # A memfd whose name tries to forge fields and lines. Through
    # sd_journal_sendv() a value is one iovec, so this cannot split it; the
    # stderr line is where escaping matters (test_stderr_when_journald_is_gone).
    evil = f'x\nMESSAGE_ID={FORGED_ID}\nPRIORITY=0\n=\x1b[31m'
    r = fl_exec('memfd', 'proc-self', name=evil)
    tap.ok(r.get('result') == BLOCKED, f'memfd exec {BLOCKED}', r)
    evs = wait_journal(lambda e: e.get('MESSAGE_ID') == MSG_EXEC, '-t', 'filelesslock')
    tap.ok(len(evs) == 1, 'exactly one journal entry for it', evs)
    if evs:
        e = evs[0]
        want = {
            'SYSLOG_IDENTIFIER': 'filelesslock',
            'PRIORITY': '4',
            'FILELESS_KIND': 'memfd',
            'FILELESS_ACTION': BLOCKED,
            'FILELESS_PROFILE': 'restricted',
            'FILELESS_PID_NAMESPACE_LEVEL': '1',
            'FILELESS_INODE': r['ino'],
            'FILELESS_EXEC_PATH': r['path'],
            'FILELESS_FILE_NAME': f'memfd:x\\nMESSAGE_ID={FORGED_ID}\\nPRIORITY=0\\n=\\x1b[31m',
        }
        bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
        # Pids are as the initial pid namespace sees them; this test runs in
        # a namespace of its own, so the child's pid here is another number.
        if not (e.get('FILELESS_PID', '').isdigit() and e.get('OBJECT_PID') == e.get('FILELESS_PID')):
            bad['OBJECT_PID'] = (e.get('OBJECT_PID'), e.get('FILELESS_PID'))
        tap.ok(not bad, 'the entry carries the event as FILELESS_* fields, names escaped', bad)
        for k in ('FILELESS_PPID', 'FILELESS_UID', 'FILELESS_GID', 'FILELESS_COMM', 'FILELESS_PARENT_COMM',
                  'FILELESS_DEVICE', 'FILELESS_PID_NAMESPACE', 'FILELESS_CGROUP_ID', 'FILELESS_TIMESTAMP',
                  'FILELESS_BACKEND', 'FILELESS_SCRIPT'):
            tap.ok(isinstance(e.get(k), str) and e.get(k) != '', f'the entry has {k}', e.get(k))
        ts = int(e.get('FILELESS_TIMESTAMP', '0'))
        tap.ok(abs(ts / 1e6 - time.time()) < 60, 'FILELESS_TIMESTAMP is wall-clock µs of the exec', ts)
        tap.ok(all('\n' not in v for v in e.values() if isinstance(v, str)), 'no field value contains a newline')
    rc, forged, err = journalctl(f'MESSAGE_ID={FORGED_ID}')
    tap.ok(rc == 0 and not forged, 'the name forged no entry and no field (journalctl exit 0)', (rc, err, forged))
    rc, forged, err = journalctl('-t', 'filelesslock', 'PRIORITY=0')
    tap.ok(rc == 0 and not forged, 'the name forged no priority (journalctl exit 0)', (rc, err, forged))


def test_stderr_when_journald_is_gone(tap, f):
    """journald goes away: enforcement goes on and the events go to stderr,
    one line each, where a name could forge fields or lines if escaping
    failed; journald comes back: the events go to the journal again."""
    f.jd.kill()
    f.jd.wait()
    r = fl_exec('memfd', 'proc-self', name='no-journald')
    tap.ok(r.get('result') == BLOCKED, f'journald gone: a memfd exec is still {BLOCKED}', r)
    evs = f.d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:no-journald')
    tap.ok(len(evs) == 1, 'journald gone: the event is written to stderr', f.d.output_since_start())
    tap.ok('Cannot write to the journal' in f.d.output_since_start(), 'journald gone: the daemon says so')

    # Quotes, a backslash and a newline followed by what a whole stderr
    # entry looks like.
    evil = f'q" MESSAGE_ID="{FORGED_ID}" PRIORITY="0\nfilelesslock: forged MESSAGE_ID="{FORGED_ID}"\\'
    r = fl_exec('memfd', 'proc-self', name=evil)
    tap.ok(r.get('result') == BLOCKED, f'a memfd with a name forging stderr fields and lines: {BLOCKED}', r)
    evs = f.d.wait_event(lambda e: e.get('FILELESS_INODE') == r.get('ino'))
    want = {
        'MESSAGE_ID': MSG_EXEC,
        'PRIORITY': '4',
        'FILELESS_FILE_NAME': (f'memfd:q\\" MESSAGE_ID=\\"{FORGED_ID}\\" PRIORITY=\\"0\\nfilelesslock: forged '
                               f'MESSAGE_ID=\\"{FORGED_ID}\\"\\\\'),
        'FILELESS_KIND': 'memfd',
        'FILELESS_ACTION': BLOCKED,
    }
    bad = {k: (evs[0].get(k), v) for k, v in want.items() if evs[0].get(k) != v} if len(evs) == 1 else evs
    tap.ok(len(evs) == 1 and not bad, 'its stderr entry is one line with its own fields, the name escaped', bad)
    entries = f.d.entries()
    forged = [e for e in entries if e.get('MESSAGE_ID') == FORGED_ID or e.get('PRIORITY') == '0']
    tap.ok(entries and not forged, 'the name forged no stderr entry, MESSAGE_ID or PRIORITY', forged)
    lines = [l for l in f.d.output().splitlines() if l.startswith('filelesslock: forged')]
    tap.ok(not lines, 'and started no line of its own', lines)

    f.jd = start_journald()
    r = fl_exec('memfd', 'proc-self', name='journald-back')
    evs = wait_journal(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:journald-back', '-t', 'filelesslock')
    tap.ok(len(evs) == 1, 'journald back: events go to the journal again', evs)
    tap.ok('The journal is reachable again' in f.d.output_since_start(), 'journald back: the daemon says so')


# Characters that hide or reorder text, and a C1 control (CSI), each as the
# \uXXXX escape that must stand for it wherever a name is shown.
DECEPTIVE = {'\u202e': '\\u202e', '\u2066': '\\u2066', '\u200b': '\\u200b', '\u2028': '\\u2028',
             '\ufeff': '\\ufeff', '\u009b': '\\u009b'}
FORMAT_NAME = 'fmt-' + ''.join(f'{c}{i}' for i, c in enumerate(DECEPTIVE))
FORMAT_ESCAPED = 'fmt-' + ''.join(f'{e}{i}' for i, e in enumerate(DECEPTIVE.values()))


def raw_chars(text):
    """The deceptive characters (or C1 controls) that TEXT holds unescaped."""
    return sorted({f'U+{ord(c):04X}' for c in text if c in DECEPTIVE or 0x80 <= ord(c) <= 0x9f})


def with_bus(tap, f):
    """Restarts the fixture's daemon on a private system bus of its own."""
    f.d.stop()
    bus = PrivateBus().start()
    tap.require(f.d.start('--profile=restricted'), 'the daemon restarts on a private system bus')
    tap.require(wait_owner(bus.address), f'it owns {NAME}')
    return bus


class Monitor:
    """filelesslockctl monitor, its stdout read as bytes."""

    def __init__(self, *args):
        self.p = subprocess.Popen([CTL, 'monitor', *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        on_exit(lambda: self.p.poll() is None and (self.p.kill(), self.p.wait()))
        self.out = b''
        time.sleep(0.5)  # subscribed

    def wait_line(self, marker, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.out.split(b'\n')[:-1]:
                if marker in line:
                    return line
            if select.select([self.p.stdout], [], [], 0.2)[0]:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.out += chunk
        return None


def test_unicode_format_characters(tap, f):
    """Security review (issue 9): Unicode format and separator characters
    (bidi overrides and isolates, zero-width characters, line separators,
    U+FEFF) and C1 controls in a memfd name are escaped as \\uXXXX in the
    journal entry, in the Event signal and in filelesslockctl monitor and
    events; none reaches a terminal raw. filelesslockctl escapes on its own
    too: raw ones in an entry or a signal it reads do not get through."""
    bus = with_bus(tap, f)
    got = []
    conn = dbus.bus.BusConnection(bus.address)
    conn.add_signal_receiver(lambda ev: got.append(ev), 'Event', IFACE, NAME, PATH)
    mon = Monitor()
    r = fl_exec('memfd', 'proc-self', name=FORMAT_NAME)
    tap.ok(r.get('result') == BLOCKED, f'a memfd named with format characters: {BLOCKED}', r)

    evs = wait_journal(lambda e: e.get('FILELESS_INODE') == r.get('ino'), '-t', 'filelesslock')
    tap.ok(len(evs) == 1 and evs[0].get('FILELESS_FILE_NAME') == f'memfd:{FORMAT_ESCAPED}',
           'journal: FILELESS_FILE_NAME has each one as \\uXXXX', [e.get('FILELESS_FILE_NAME') for e in evs])
    # journalctl -o json gives a value it cannot print as an array of bytes.
    raw = raw_chars(''.join(bytes(v).decode('utf-8', 'replace') if isinstance(v, list) else str(v)
                            for v in evs[0].values())) if evs else ['no entry']
    tap.ok(not raw and FORMAT_ESCAPED in (evs[0].get('MESSAGE') or ''),
           'journal: MESSAGE and every other field hold none of them raw', raw)

    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not [e for e in got if int(e.get('Inode', 0)) == int(r['ino'])]:
        ctx.iteration(False)
        time.sleep(0.01)
    mine = [e for e in got if int(e.get('Inode', 0)) == int(r['ino'])]
    tap.ok(len(mine) == 1 and str(mine[0].get('FileName')) == f'memfd:{FORMAT_ESCAPED}',
           'D-Bus: the Event signal\'s FileName has each one as \\uXXXX', [str(e.get('FileName')) for e in mine])
    tap.ok(mine and not raw_chars(''.join(str(v) for v in mine[0].values())), 'D-Bus: no string of it holds one raw',
           mine and dict(mine[0]))

    line = mon.wait_line(b'fmt-')
    text = line.decode('utf-8', 'replace') if line else ''
    tap.ok(FORMAT_ESCAPED in text and not raw_chars(text),
           'filelesslockctl monitor prints the name escaped, no character raw', line)
    p = subprocess.run([CTL, 'events'], capture_output=True, timeout=30)
    lines = [l for l in p.stdout.split(b'\n') if b'fmt-' in l]
    text = lines[-1].decode('utf-8', 'replace') if lines else ''
    tap.ok(p.returncode == 0 and len(lines) == 1 and FORMAT_ESCAPED in text and not raw_chars(text),
           'filelesslockctl events prints it escaped, no character raw', (p.returncode, lines, p.stderr))

    # filelesslockctl on its own: raw characters in an entry of the
    # daemon's (root, comm filelesslockd) ...
    tmp = tempfile.mkdtemp(prefix='fltest-ctl-')
    on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    fake = os.path.join(tmp, 'filelesslockd')
    shutil.copy('/usr/bin/logger', fake)
    fields = os.path.join(tmp, 'fields')
    with open(fields, 'w') as fh:
        fh.write(f'SYSLOG_IDENTIFIER=filelesslock\nMESSAGE_ID={MSG_EXEC}\nMESSAGE=raw\nPRIORITY=4\n'
                 f'FILELESS_ACTION=killed\nFILELESS_KIND=memfd\nFILELESS_FILE_NAME=memfd:raw-{FORMAT_NAME}\n'
                 f'FILELESS_COMM=raw-{FORMAT_NAME[:4]}\u202e\nFILELESS_EXEC_PATH=/proc/self/fd/3\n')
    p = subprocess.run([fake, f'--journald={fields}'], capture_output=True, text=True)
    tap.require(p.returncode == 0 and wait_journal(lambda e: e.get('MESSAGE') == 'raw', '-t', 'filelesslock'),
                'an entry with raw format characters is written as root by a process named filelesslockd', p.stderr)
    p = subprocess.run([CTL, 'events'], capture_output=True, timeout=30)
    lines = [l for l in p.stdout.split(b'\n') if b'raw-' in l]
    text = lines[-1].decode('utf-8', 'replace') if lines else ''
    tap.ok(p.returncode == 0 and len(lines) == 1 and FORMAT_ESCAPED in text and not raw_chars(text),
           'filelesslockctl events escapes raw ones itself', (p.returncode, lines, p.stderr))

    # ... and in an Event signal from the owner of the daemon's name.
    template = mine[0] if mine else None
    tap.require(template is not None, 'an Event signal to copy')
    f.d.stop()
    conn.request_name(NAME)
    tap.require(str(conn.get_name_owner(NAME)) == conn.get_unique_name(), f'the test owns {NAME} now')
    mon2 = Monitor()
    ev = dbus.Dictionary(template, signature='sv')
    ev['FileName'] = dbus.String(f'memfd:raw-{FORMAT_NAME}', variant_level=1)
    ev['Comm'] = dbus.String('c\u202e\u009bd', variant_level=1)
    msg = dbus.lowlevel.SignalMessage(PATH, IFACE, 'Event')
    msg.append(ev, signature='a{sv}')
    conn.send_message(msg)
    conn.flush()
    line = mon2.wait_line(b'raw-')
    text = line.decode('utf-8', 'replace') if line else ''
    tap.ok(FORMAT_ESCAPED in text and '\\u202e' in text and not raw_chars(text),
           'filelesslockctl monitor escapes raw ones in a signal itself', line)
    conn.release_name(NAME)


def test_events_only_from_the_daemon(tap, f):
    """Security review (issue 9): filelesslockctl events reads only what the
    daemon wrote (_UID=0, and _COMM=filelesslockd or its unit, fields
    journald takes from the kernel), not entries anybody can write with its
    SYSLOG_IDENTIFIER and MESSAGE_ID: not one from an unprivileged user's
    program named filelesslockd, not one from root's logger."""
    r = fl_exec('memfd', 'proc-self', name='real-event')
    tap.require(wait_journal(lambda e: e.get('FILELESS_INODE') == r.get('ino'), '-t', 'filelesslock'),
                'the daemon logged a real event')
    tmp = tempfile.mkdtemp(prefix='fltest-forge-')
    os.chmod(tmp, 0o755)
    on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    fake = os.path.join(tmp, 'filelesslockd')
    shutil.copy('/usr/bin/logger', fake)
    os.chmod(fake, 0o755)

    def forge(who, cmd):
        fields = os.path.join(tmp, f'fields-{who}')
        with open(fields, 'w') as fh:
            fh.write(f'SYSLOG_IDENTIFIER=filelesslock\nMESSAGE_ID={MSG_EXEC}\nPRIORITY=4\n'
                     f'MESSAGE=Killed fileless execution by pid 1 ("systemd"), uid 0: forged-by-{who}\n'
                     f'FILELESS_ACTION=killed\nFILELESS_KIND=memfd\nFILELESS_FILE_NAME=memfd:forged-by-{who}\n'
                     f'FILELESS_PID=1\nFILELESS_UID=0\nFILELESS_COMM=systemd\nFILELESS_EXEC_PATH=/proc/self/fd/3\n')
        os.chmod(fields, 0o644)
        return subprocess.run([*cmd, f'--journald={fields}'], capture_output=True, text=True)

    p = forge('nobody', ['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups', fake])
    q = forge('root-logger', ['logger'])
    tap.require(p.returncode == 0 and q.returncode == 0, 'two entries are forged', (p.stderr, q.stderr))
    forged = {}
    for who in ('nobody', 'root-logger'):
        found = wait_journal(lambda e: e.get('FILELESS_FILE_NAME') == f'memfd:forged-by-{who}', '-t', 'filelesslock')
        forged[who] = {k: found[0].get(k) for k in ('_UID', '_COMM', 'MESSAGE_ID')} if found else None
    tap.ok(forged['nobody'] == {'_UID': str(NOBODY), '_COMM': 'filelesslockd', 'MESSAGE_ID': MSG_EXEC}
           and forged['root-logger'] == {'_UID': '0', '_COMM': 'logger', 'MESSAGE_ID': MSG_EXEC},
           f'the journal has them: uid {NOBODY} as comm filelesslockd, root as comm logger, with the exec MESSAGE_ID',
           forged)
    for args in ((), ('--json',)):
        p = subprocess.run([CTL, 'events', *args], capture_output=True, text=True, timeout=30)
        how = ' '.join(['filelesslockctl events', *args])
        tap.ok(p.returncode == 0 and 'memfd:real-event' in p.stdout, f'{how} shows the daemon\'s real event',
               (p.returncode, p.stdout, p.stderr))
        tap.ok('forged-by' not in p.stdout, f'{how} shows neither forged entry', p.stdout)


if __name__ == '__main__':
    if os.environ.get('FL_JOURNAL_NS') != '1':
        # Re-run ourselves in private namespaces; the daemon, journald and the
        # execs all live in there and die with it.
        os.execvp('unshare', ['unshare', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
                              'env', 'FL_JOURNAL_NS=1', sys.executable, *sys.argv])
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', '/run'], check=True)
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    run_cases('journal', globals(), setup=Fixture)
