#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Journal output against a real systemd-journald, private to this test: it
runs in a mount and pid namespace of its own with a tmpfs on /run, so the
host's /run and any journal it has are untouched.

Each test_* function is a case, with a journald and a restricted daemon of
its own: test-journal.py [CASE...] (all without arguments; --list names them)."""

import json
import os
import shutil
import subprocess
import sys
import time

from fltest import MSG_EXEC, MSG_STARTED, Daemon, ensure_bpffs, fl_exec, lsm_available, on_exit, run_cases

JOURNALD = '/lib/systemd/systemd-journald'
SOCKET = '/run/systemd/journal/socket'
FORGED_ID = '0123456789abcdef0123456789abcdef'
BLOCKED = 'denied' if lsm_available() else 'killed'


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
    """(exit status, entries, stderr) of journalctl -o json ARGS."""
    p = subprocess.run(['journalctl', '--no-pager', '-o', 'json', *args], capture_output=True, text=True)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p.stderr


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


if __name__ == '__main__':
    if os.environ.get('FL_JOURNAL_NS') != '1':
        # Re-run ourselves in private namespaces; the daemon, journald and the
        # execs all live in there and die with it.
        os.execvp('unshare', ['unshare', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
                              'env', 'FL_JOURNAL_NS=1', sys.executable, *sys.argv])
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', '/run'], check=True)
    run_cases('journal', globals(), setup=Fixture)
