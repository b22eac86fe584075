#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Journal output against a real systemd-journald, private to this test: it
runs in a mount and pid namespace of its own with a tmpfs on /run, so the
host's /run and any journal it has are untouched."""

import json
import os
import subprocess
import sys
import time

from fltest import TAP, Daemon, ensure_bpffs, fl_exec, lsm_available

JOURNALD = '/lib/systemd/systemd-journald'
SOCKET = '/run/systemd/journal/socket'
MSG_EXEC = '44f1fd78380e403f9427638d2ffb0464'
MSG_STARTED = '1bd6ad36d98a429187ad58b0c1fca7bb'


def start_journald():
    # A socket left by a killed journald would look like a live one.
    for f in ('socket', 'stdout', 'dev-log'):
        try:
            os.unlink(f'/run/systemd/journal/{f}')
        except FileNotFoundError:
            pass
    p = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(SOCKET):
            return p
        time.sleep(0.02)
    return p


def journal(*args):
    p = subprocess.run(['journalctl', '--no-pager', '-o', 'json', *args], capture_output=True, text=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def wait_journal(pred, *args, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in journal(*args) if pred(e)]
        if found:
            return found
        time.sleep(0.1)
    return []


def main():
    if os.environ.get('FL_JOURNAL_NS') != '1':
        # Re-run ourselves in private namespaces; the daemon, journald and the
        # execs all live in there and die with it.
        os.execvp('unshare', ['unshare', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
                              'env', 'FL_JOURNAL_NS=1', sys.executable, *sys.argv])

    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', '/run'], check=True)
    tap = TAP('journal')
    ensure_bpffs()
    blocked = 'denied' if lsm_available() else 'killed'

    jd = start_journald()
    tap.ok(os.path.exists(SOCKET), 'a private systemd-journald is listening')

    d = Daemon(tap)
    tap.ok(d.start('--profile=restricted'), 'daemon ready')
    started = wait_journal(lambda e: e.get('MESSAGE_ID') == MSG_STARTED, '-t', 'filelesslock')
    tap.ok(len(started) == 1 and started[0].get('FILELESS_PROFILE') == 'restricted',
           'the start is logged with its own MESSAGE_ID and the profile', started)

    # A memfd whose name tries to forge fields and lines.
    evil = 'x\nMESSAGE_ID=0123456789abcdef0123456789abcdef\nPRIORITY=0\n=\x1b[31m'
    r = fl_exec('memfd', 'proc-self', name=evil)
    tap.ok(r.get('result') == blocked, f'memfd exec {blocked}', r)
    evs = wait_journal(lambda e: e.get('MESSAGE_ID') == MSG_EXEC, '-t', 'filelesslock')
    tap.ok(len(evs) == 1, 'exactly one journal entry for it', evs)
    if evs:
        e = evs[0]
        want = {
            'SYSLOG_IDENTIFIER': 'filelesslock',
            'PRIORITY': '4',
            'FILELESS_KIND': 'memfd',
            'FILELESS_ACTION': blocked,
            'FILELESS_PROFILE': 'restricted',
            'FILELESS_PID_NAMESPACE_LEVEL': '1',
            'FILELESS_INODE': r['ino'],
            'FILELESS_EXEC_PATH': r['path'],
            'FILELESS_FILE_NAME': 'memfd:x\\nMESSAGE_ID=0123456789abcdef0123456789abcdef\\nPRIORITY=0\\n=\\x1b[31m',
        }
        bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
        # Pids are as the initial pid namespace sees them; this test runs in
        # a namespace of its own, so the child's pid here is another number.
        if not (e.get('FILELESS_PID', '').isdigit() and e.get('OBJECT_PID') == e.get('FILELESS_PID')):
            bad['OBJECT_PID'] = (e.get('OBJECT_PID'), e.get('FILELESS_PID'))
        tap.ok(not bad, 'the entry carries the event as FILELESS_* fields, names escaped', bad)
        for f in ('FILELESS_PPID', 'FILELESS_UID', 'FILELESS_GID', 'FILELESS_COMM', 'FILELESS_PARENT_COMM',
                  'FILELESS_DEVICE', 'FILELESS_PID_NAMESPACE', 'FILELESS_CGROUP_ID', 'FILELESS_TIMESTAMP',
                  'FILELESS_BACKEND', 'FILELESS_SCRIPT'):
            tap.ok(isinstance(e.get(f), str) and e.get(f) != '', f'the entry has {f}', e.get(f))
        ts = int(e.get('FILELESS_TIMESTAMP', '0'))
        tap.ok(abs(ts / 1e6 - time.time()) < 60, 'FILELESS_TIMESTAMP is wall-clock µs of the exec', ts)
        tap.ok(all('\n' not in v for v in e.values() if isinstance(v, str)), 'no field value contains a newline')
    forged = journal('MESSAGE_ID=0123456789abcdef0123456789abcdef')
    tap.ok(not forged, 'the name forged no entry and no field', forged)
    tap.ok(not journal('-t', 'filelesslock', 'PRIORITY=0'), 'the name forged no priority')

    # journald goes away: enforcement goes on and the events go to stderr.
    jd.kill()
    jd.wait()
    r = fl_exec('memfd', 'proc-self', name='no-journald')
    tap.ok(r.get('result') == blocked, f'journald gone: a memfd exec is still {blocked}', r)
    evs = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:no-journald')
    tap.ok(len(evs) == 1, 'journald gone: the event is written to stderr', d.output_since_start())
    tap.ok('Cannot write to the journal' in d.output_since_start(), 'journald gone: the daemon says so')

    jd = start_journald()
    r = fl_exec('memfd', 'proc-self', name='journald-back')
    evs = wait_journal(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:journald-back', '-t', 'filelesslock')
    tap.ok(len(evs) == 1, 'journald back: events go to the journal again', evs)
    tap.ok('The journal is reachable again' in d.output_since_start(), 'journald back: the daemon says so')
    d.stop()
    jd.kill()
    tap.done()


if __name__ == '__main__':
    main()
