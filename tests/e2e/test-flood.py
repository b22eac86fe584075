#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Floods: the journal entries of one source (uid, kind, exec path, outcome)
are rate-limited with a summary of what was suppressed, while enforcement in
the kernel and the counters stay exact, and other sources are not affected."""

import re
import subprocess
import time

from fltest import (FL_EXEC, MSG_EVENTS_SUPPRESSED, Daemon, ensure_bpffs, fl_exec, lsm_available, pinned_stats,
                    run_cases)

NOBODY = 65534


def burst(n, name, prefix=()):
    return [fl_exec('memfd', 'proc-self', name=f'{name}-{i}', prefix=prefix).get('result') for i in range(n)]


def test_rate_limit(tap):
    ensure_bpffs()
    blocked = 'denied' if lsm_available() else 'killed'

    d = Daemon(tap)
    d.write_config('[Fileless]\nRateLimitIntervalSec=2s\nRateLimitBurst=3\n')
    tap.ok(d.start('--profile=restricted'), 'starts restricted with a burst of 3 per 2 s')
    before = pinned_stats(d.pin)

    results = burst(10, 'flood-a')
    tap.ok(results == [blocked] * 10, f'enforcement is not rate-limited: all 10 execs {blocked}', results)
    time.sleep(0.5)
    evs = [e for e in d.events() if e.get('FILELESS_FILE_NAME', '').startswith('memfd:flood-a-')]
    tap.ok(len(evs) == 3, f'3 of the 10 are logged one by one ({len(evs)})', [e.get('FILELESS_FILE_NAME') for e in evs])
    tap.ok([e['FILELESS_FILE_NAME'] for e in evs] == [f'memfd:flood-a-{i}' for i in range(3)],
           'the first 3 of the burst, in order')

    # Another source (another uid) has its own allowance.
    results = burst(2, 'flood-nobody', prefix=('setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups'))
    tap.ok(results == [blocked] * 2, 'an unprivileged user\'s execs are stopped too', results)
    time.sleep(0.5)
    evs_n = [e for e in d.events() if e.get('FILELESS_FILE_NAME', '').startswith('memfd:flood-nobody-')]
    tap.ok(len(evs_n) == 2 and all(e.get('FILELESS_UID') == str(NOBODY) for e in evs_n),
           'another uid is another source: both of its events are logged', evs_n)

    # The burst ends: one summary with the exact count, within the interval
    # plus one housekeeping round.
    summary = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not summary:
        summary = [e for e in d.entries() if e.get('MESSAGE_ID') == MSG_EVENTS_SUPPRESSED]
        time.sleep(0.2)
    tap.ok(len(summary) == 1, 'one "suppressed" summary when the burst ends', summary)
    s = summary[0] if summary else {}
    tap.ok(s.get('FILELESS_SUPPRESSED') == '7', f'it counts the 7 suppressed events ({s.get("FILELESS_SUPPRESSED")})')
    tap.ok(s.get('FILELESS_UID') == '0' and s.get('FILELESS_KIND') == 'memfd' and
           s.get('FILELESS_ACTION') == blocked and s.get('FILELESS_EXEC_PATH') == '/proc/self/fd/3',
           'it names the source: uid, kind, outcome and exec path', s)
    tap.ok('Suppressed 7 similar fileless execution events' in s.get('MESSAGE', ''), 'and says so in words',
           s.get('MESSAGE'))

    # After the window, the source logs again.
    results = burst(1, 'flood-after')
    evs = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:flood-after-0', timeout=5)
    tap.ok(results == [blocked] and len(evs) == 1, 'after the window the same source is logged again', evs)

    # The kernel's counters are exact whatever was suppressed.
    after = pinned_stats(d.pin)
    tap.ok(before and after and after[0] - before[0] == 13 and after[1] - before[1] == 13,
           'the kernel counted all 13 fileless execs and 13 blocked, suppressed or not', (before, after))
    d.stop()

    # A burst still pending at exit is summarized before the daemon goes.
    d.write_config('[Fileless]\nRateLimitIntervalSec=60s\nRateLimitBurst=1\n')
    tap.ok(d.start('--profile=restricted'), 'restarts with a burst of 1 per minute')
    burst(4, 'flood-exit')
    time.sleep(0.5)
    d.stop()
    out = d.output_since_start()
    entries = [e for e in d.entries() if e.get('MESSAGE_ID') == MSG_EVENTS_SUPPRESSED and e.get('FILELESS_SUPPRESSED') == '3']
    tap.ok(len(entries) == 1, 'stopping reports the 3 suppressed events of the pending burst', out[-800:])

    # Rate limiting off.
    d.write_config('[Fileless]\nRateLimitBurst=0\n')
    tap.ok(d.start('--profile=restricted'), 'restarts with RateLimitBurst=0')
    burst(30, 'flood-off')
    time.sleep(0.5)
    evs = [e for e in d.events() if e.get('FILELESS_FILE_NAME', '').startswith('memfd:flood-off-')]
    tap.ok(len(evs) == 30, f'with the limit off all 30 are logged ({len(evs)})')
    d.stop()
    d.disable()


def test_per_uid_rate_limit(tap):
    """Security review (issue 9): each uid has its own budget for all its
    sources together (10 times RateLimitBurst= per interval), so a flood
    from one uid over many exec paths never suppresses another uid's first
    events. Uid A floods with 70 execs, each through a path of its own
    (/proc/PID/fd/N, PID the caller's); then uid B's and root's first events
    are all logged, and A's excess is summarized in an entry of its own."""
    ensure_bpffs()
    blocked = 'denied' if lsm_available() else 'killed'
    uid_a, uid_b, per_source, n = NOBODY, NOBODY - 1, 5, 70
    budget = 10 * per_source

    d = Daemon(tap)
    d.write_config(f'[Fileless]\nRateLimitIntervalSec=60s\nRateLimitBurst={per_source}\n')
    tap.require(d.start('--profile=restricted'), f'starts restricted with a burst of {per_source} per minute')
    before = pinned_stats(d.pin)

    p = subprocess.run(['setpriv', f'--reuid={uid_a}', f'--regid={uid_a}', '--clear-groups', 'sh', '-c',
                        f'i=0; while [ $i -lt {n} ]; do {FL_EXEC} --name flood-a-$i memfd proc-pid; '
                        'i=$((i+1)); done'], capture_output=True, text=True, timeout=600)
    results = [l.split()[0] for l in p.stdout.splitlines()]
    paths = {m for m in re.findall(r'path="([^"]*)"', p.stdout)}
    tap.ok(results == [f'result={blocked}'] * n and len(paths) == n,
           f'uid {uid_a}: {n} memfd execs, each through an exec path of its own, all {blocked}',
           ({r: results.count(r) for r in set(results)}, len(paths), p.stderr[-500:]))
    as_b = ('setpriv', f'--reuid={uid_b}', f'--regid={uid_b}', '--clear-groups')
    results = burst(per_source, 'flood-b', prefix=as_b)
    results += burst(per_source, 'flood-root')
    tap.ok(results == [blocked] * 2 * per_source, f'then uid {uid_b} and root: {per_source} execs each, {blocked}',
           results)

    def logged(prefix):
        return [e for e in d.events() if e.get('FILELESS_FILE_NAME', '').startswith(f'memfd:{prefix}-')]
    # Root's execs came last: once all of them are logged, or after 10 s,
    # the daemon has read everything.
    d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == f'memfd:flood-root-{per_source - 1}')
    a, b, root = logged('flood-a'), logged('flood-b'), logged('flood-root')
    tap.ok(len(a) == budget and all(e.get('FILELESS_UID') == str(uid_a) for e in a),
           f'uid {uid_a}: its budget of {budget} (10 x RateLimitBurst={per_source}) is logged ({len(a)})')
    tap.ok(len(b) == per_source and all(e.get('FILELESS_UID') == str(uid_b) for e in b),
           f'uid {uid_b}: all {per_source} of its first events are logged after the flood ({len(b)})',
           [e.get('FILELESS_FILE_NAME') for e in b])
    tap.ok(len(root) == per_source,
           f'root: all {per_source} of its first events are logged after the flood ({len(root)})',
           [e.get('FILELESS_FILE_NAME') for e in root])

    d.stop()  # reports the windows still open
    summaries = [e for e in d.entries() if e.get('MESSAGE_ID') == MSG_EVENTS_SUPPRESSED]
    mine = [e for e in summaries if e.get('FILELESS_UID') == str(uid_a)]
    tap.ok(len(mine) == 1 and mine[0].get('FILELESS_SUPPRESSED') == str(n - budget),
           f'uid {uid_a}\'s excess is summarized in one entry with FILELESS_UID={uid_a}: {n - budget} suppressed',
           summaries)
    tap.ok(all(e.get('FILELESS_UID') == str(uid_a) for e in summaries), 'no other uid had anything suppressed',
           summaries)
    after = pinned_stats(d.pin)
    tap.ok(after[0] - before[0] == n + 2 * per_source and after[1] - before[1] == n + 2 * per_source,
           f'the kernel counted and blocked all {n + 2 * per_source}', (before, after))
    d.disable()


if __name__ == '__main__':
    run_cases('flood', globals())
