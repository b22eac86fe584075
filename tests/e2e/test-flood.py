#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Floods: the journal entries of one source (uid, kind, exec path, outcome)
are rate-limited with a summary of what was suppressed, while enforcement in
the kernel and the counters stay exact, and other sources are not affected."""

import time

from fltest import MSG_EVENTS_SUPPRESSED, Daemon, ensure_bpffs, fl_exec, lsm_available, pinned_stats, run_cases

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


if __name__ == '__main__':
    run_cases('flood', globals())
