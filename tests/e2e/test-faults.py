#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults around the daemon: the system bus going away and coming back (or
absent at start), the pins removed or bpffs read-only while it runs, SIGKILL
in the middle of profile changes, and events raised while it is down that
overflow the pinned ring buffer. In each, enforcement must hold and the
daemon must say what happened.

Each test_* function is a case: test-faults.py [CASE...] (all without
arguments; --list names them)."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time

import dbus

from fltest import (BPFFS, DAEMON, FL_EXEC, MSG_EVENTS_LOST, MSG_STOPPED, Daemon, ensure_bpffs, exec_link, fl_exec,
                    lsm_available, on_exit, parse_stderr_entry, pinned_map, pinned_stats, run_cases)
from flbus import ACTION, IFACE, NAME, PATH, Polkit, PrivateBus, wait_owner


def pinned_profile(pin):
    """The profile in the pinned config map, by name (1 allow, 2 baseline, 3 restricted)."""
    d = pinned_map(pin, 'config')
    if not d:
        return None
    return {1: 'allow', 2: 'baseline', 3: 'restricted'}.get(d[0]['formatted']['value']['profile'])


def wait_for(pred, timeout=10, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_bus(tap, blocked):
    bus = PrivateBus()

    # No bus at start: the daemon runs, and owns its name once the bus is up.
    d = Daemon(tap)
    tap.ok(d.start('--profile=allow'), 'starts while there is no system bus')
    tap.ok('retrying every 5 s' in d.output_since_start(), 'and says it runs without the interface until there is one',
           d.output_since_start())
    bus.start()
    Polkit(bus.address).start()
    tap.ok(wait_owner(bus.address, timeout=12), f'once the bus is up the daemon owns {NAME}')
    tap.ok('Reconnected to the system bus' in d.output_since_start(), 'and says so')

    # The bus dies: enforcement and logging go on; it comes back: re-owned.
    bus.stop()
    r = fl_exec('memfd', 'proc-self', name='bus-gone')
    tap.ok(r.get('result') == 'ran', 'bus gone: a memfd exec under allow runs', r)
    tap.ok(d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:bus-gone'),
           'bus gone: its event is still logged')
    tap.ok(wait_for(lambda: 'Lost the system bus connection' in d.output_since_start()),
           'bus gone: the daemon says so', d.output_since_start())
    tap.ok(d.proc.poll() is None, 'bus gone: the daemon keeps running')
    bus.start()
    tap.ok(wait_owner(bus.address, timeout=15), f'bus back: the daemon owns {NAME} again')
    tap.ok(bus.properties().Get(IFACE, 'Profile') == 'allow', 'bus back: Profile reads allow')
    d.stop()
    d.disable()
    bus.close()


def test_pins(tap, blocked):
    # The pin directory removed while running.
    d = Daemon(tap)
    tap.ok(d.start('--profile=restricted'), 'starts restricted')
    shutil.rmtree(d.pin)
    tap.ok(wait_for(lambda: 'are gone' in d.output_since_start(), timeout=12),
           'pins removed: the daemon reports it within a housekeeping round', d.output_since_start())
    r = fl_exec('memfd', 'proc-self', name='pins-gone')
    tap.ok(r.get('result') == blocked, f'pins removed: a memfd exec is still {blocked} while the daemon runs', r)
    tap.ok(d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:pins-gone'), 'and logged')
    d.stop()
    r = fl_exec('memfd', 'proc-self', name='pins-gone-stopped')
    tap.ok(r.get('result') == 'ran', 'pins removed, daemon stopped: enforcement ends, as it said', r)

    # bpffs read-only: a private bpffs in a mount namespace of its own,
    # remounted read-only under the running daemon, then a restart over it.
    tmp = tempfile.mkdtemp(prefix='fltest-robpf-')
    on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    script = os.path.join(tmp, 'run.sh')
    with open(script, 'w') as f:
        f.write(f'''set -e
mount -t bpf -o mode=700 bpf {BPFFS}
echo ready > {tmp}/mounted
exec {DAEMON} --profile=restricted --pin-path={BPFFS}/ro-test --config=/nonexistent
''')
    holder = subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sh', script],
                              stdout=open(os.path.join(tmp, 'log'), 'w'), stderr=subprocess.STDOUT)
    on_exit(lambda: (holder.poll() is None and holder.kill(), holder.wait()))
    ok = wait_for(lambda: 'enforcing profile restricted' in open(os.path.join(tmp, 'log')).read(), timeout=20)
    tap.ok(ok, 'a daemon with pins in a private bpffs starts', open(os.path.join(tmp, 'log')).read())
    ns = ['nsenter', '-t', str(holder.pid), '-m']
    rr = subprocess.run(ns + ['mount', '-o', 'remount,ro', BPFFS], capture_output=True, text=True)
    tap.ok(rr.returncode == 0, 'its bpffs is remounted read-only', rr.stderr)
    r = fl_exec('memfd', 'proc-self', name='ro-bpffs')
    tap.ok(r.get('result') == blocked, f'bpffs read-only: a memfd exec is still {blocked}', r)
    holder.send_signal(signal.SIGTERM)
    holder.wait(15)
    log = open(os.path.join(tmp, 'log')).read()
    tap.ok('memfd:ro-bpffs' in log, 'and logged', log[-600:])
    # The mount namespace died with the daemon: the private bpffs and its
    # pins are released (the kernel may take a moment), so nothing stays
    # attached.
    tap.ok(wait_for(lambda: fl_exec('memfd', 'proc-self', name='ro-bpffs-after').get('result') == 'ran', timeout=10,
                    step=0.5), 'its private bpffs gone, nothing stays attached')

    # Restart over read-only pins: takes them over without writing.
    d = Daemon(tap)
    tap.ok(d.start('--profile=restricted'), 'starts restricted (pins for the read-only restart)')
    d.stop()
    tmp2 = tempfile.mkdtemp(prefix='fltest-robind-')
    on_exit(lambda: shutil.rmtree(tmp2, ignore_errors=True))
    log2 = os.path.join(tmp2, 'log')
    with open(os.path.join(tmp2, 'run.sh'), 'w') as f:
        f.write(f'''set -e
mount --bind {BPFFS} {BPFFS}
mount -o remount,bind,ro {BPFFS}
exec {DAEMON} --profile=restricted --pin-path={d.pin} --config={d.config}
''')
    p = subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sh', os.path.join(tmp2, 'run.sh')],
                         stdout=open(log2, 'w'), stderr=subprocess.STDOUT)
    on_exit(lambda: (p.poll() is None and p.kill(), p.wait()))
    ok = wait_for(lambda: 'enforcing profile restricted' in open(log2).read() or p.poll() is not None, timeout=20)
    out = open(log2).read()
    tap.ok(ok and p.poll() is None and 'Took over' in out, 'restart with bpffs read-only: takes over the pins', out[-800:])
    r = fl_exec('memfd', 'proc-self', name='ro-restart')
    tap.ok(r.get('result') == blocked, f'and enforcement holds: a memfd exec is {blocked}', r)
    p.send_signal(signal.SIGTERM)
    p.wait(15)
    d.disable()


# busctl's error when the daemon died before it answered (or before the call
# reached it): any other error (AccessDenied, InvalidArgs, ...) is a failure.
GONE = re.compile(r'Remote peer disconnected|disconnected from message bus without replying|NoReply|No reply|'
                  r'Connection reset|not activatable|'
                  r'was not provided by any \.service files|ServiceUnknown|NameHasNoOwner|has no owner')


def test_kill_during_change(tap, blocked):
    """SIGKILL at random moments of profile changes over D-Bus: after the
    restart the profile is one of the two, and the kernel, the daemon and
    the saved configuration agree; a change busctl saw succeed was made.
    The kills are aimed at the moment a change is made: the delay from
    starting busctl starts at the time a whole change takes, shrinks after a
    round whose change was made and grows after one that was cut, so the
    rounds must include both."""
    bus = PrivateBus().start()
    pk = Polkit(bus.address)
    pk.start()
    pk.mock.SetAllowed([ACTION])

    d = Daemon(tap)
    rng = random.Random(4242)
    bad = []
    rounds = 12
    d.write_config('[Fileless]\nProfile=allow\n')
    tap.require(d.start(), 'starts for the SIGKILL rounds')
    tap.require(wait_owner(bus.address), f'owns {NAME}')

    def set_profile(new):
        return subprocess.Popen(['busctl', f'--address={bus.address}', 'set-property', NAME, PATH, IFACE,
                                 'Profile', 's', new], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # One change without a kill: it succeeds, and tells how long one takes.
    t0 = time.monotonic()
    caller = set_profile('restricted')
    out, err = caller.communicate(timeout=30)
    took = time.monotonic() - t0
    tap.ok(caller.returncode == 0 and bus.properties().Get(IFACE, 'Profile') == 'restricted',
           f'a change without a kill succeeds ({took * 1000:.0f} ms)', (caller.returncode, err))
    current = str(bus.properties().Get(IFACE, 'Profile'))

    outcomes = []
    delay = took
    for i in range(rounds):
        if not wait_owner(bus.address):
            bad.append((i, 'name not owned'))
            break
        new = 'restricted' if current == 'allow' else 'allow'
        caller = set_profile(new)
        time.sleep(delay * rng.uniform(0.8, 1.2))
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        out, err = caller.communicate(timeout=30)
        if not d.start():  # no --profile: the configuration decides
            bad.append((i, 'restart failed'))
            break
        wait_owner(bus.address)
        reported = str(bus.properties().Get(IFACE, 'Profile'))
        kernel = pinned_profile(d.pin)
        r = fl_exec('memfd', 'proc-self', name=f'kill-{i}')
        enforced = 'allow' if r.get('result') == 'ran' else 'restricted' if r.get('result') == blocked else None
        outcomes.append((i, round(delay * 1000), caller.returncode, reported == new))
        delay *= 0.8 if reported == new else 1.25
        if reported not in (current, new) or kernel != reported or enforced != reported:
            bad.append((i, current, new, reported, kernel, enforced))
        elif caller.returncode == 0 and reported != new:
            bad.append((i, f'busctl succeeded but the profile is still {reported}'))
        elif caller.returncode != 0 and not GONE.search(err):
            bad.append((i, f'busctl failed otherwise than by the daemon going away: {err.strip()}'))
        current = reported
    tap.note('rounds (round, delay ms, busctl exit status, changed): ' + ' '.join(map(str, outcomes)))
    tap.ok(not bad, f'{rounds} SIGKILLs during profile changes: D-Bus, the pinned map and enforcement agree '
           'on the old or the new profile; busctl succeeded only where the change was made', bad)
    changed = sum(1 for o in outcomes if o[3])
    tap.ok(len(outcomes) == rounds and 0 < changed < rounds,
           f'changes were made in {changed} of the {rounds} rounds, and cut by the kill in the others', outcomes)
    saved = os.path.join(d.config + '.d', '90-set-profile.conf')
    text = open(saved).read() if os.path.exists(saved) else ''
    tap.ok(f'Profile={current}' in text and text.endswith('\n'), 'the saved drop-in is whole and agrees', text)
    d.stop()
    d.disable()
    bus.close()


def test_overflow_while_down(tap, blocked):
    d = Daemon(tap)
    d.write_config('[Fileless]\nRateLimitBurst=0\n')
    tap.ok(d.start('--profile=restricted'), 'starts restricted, rate limit off')
    before = pinned_stats(d.pin)
    d.stop(signal.SIGKILL)
    n = 1500
    p = subprocess.run(['sh', '-c', f'i=0; while [ $i -lt {n} ]; do {FL_EXEC} --name down-$i memfd proc-self; '
                        f'i=$((i+1)); done'], capture_output=True, text=True, timeout=600)
    outcomes = [l.split()[0] for l in p.stdout.splitlines()]
    tap.ok(outcomes.count(f'result={blocked}') == n, f'daemon down: all {n} memfd execs {blocked}',
           {o: outcomes.count(o) for o in set(outcomes)})
    after_down = pinned_stats(d.pin)
    tap.ok(before and after_down and after_down[0] - before[0] == n, f'the kernel counted {n} while the daemon was down',
           (before, after_down))
    lost = after_down[2] - before[2] if before and after_down else -1
    tap.ok(lost > 0, f'the ring buffer overflowed: {lost} events counted lost')

    tap.ok(d.start('--profile=restricted'), 'restarts')
    tap.ok(wait_for(lambda: any(e.get('MESSAGE_ID') == MSG_EVENTS_LOST for e in d.entries()), timeout=12),
           'the loss is reported within a housekeeping round')
    time.sleep(0.5)
    delivered = [e for e in d.events() if e.get('FILELESS_FILE_NAME', '').startswith('memfd:down-')]
    reported = sum(int(e.get('FILELESS_EVENTS_LOST', 0)) for e in d.entries() if e.get('MESSAGE_ID') == MSG_EVENTS_LOST)
    tap.note(f'{n} execs while down: {len(delivered)} delivered after the restart, {lost} lost, {reported} reported lost')
    tap.ok(len(delivered) + lost == n, f'none vanished: {len(delivered)} delivered + {lost} lost = {n}')
    tap.ok(reported == lost, f'the journal reports exactly the {lost} lost', reported)
    names = [int(e['FILELESS_FILE_NAME'].split('-')[-1]) for e in delivered]
    tap.ok(names == sorted(names) and names and names[0] == 0,
           'the delivered ones are the oldest, in order (the buffer kept what fitted)', names[:5])
    d.stop()
    d.disable()


def pin_ids(pin):
    """{pin name: kernel object id} of every pin in PIN."""
    ids = {}
    for name in sorted(os.listdir(pin)) if os.path.isdir(pin) else ():
        kind = 'link' if name.startswith('link') else 'prog' if name.startswith('prog_') else 'map'
        p = subprocess.run(['bpftool', '-j', kind, 'show', 'pinned', f'{pin}/{name}'], capture_output=True, text=True)
        if p.returncode == 0:
            ids[name] = json.loads(p.stdout)['id']
    return ids


def map_show(path):
    p = subprocess.run(['bpftool', '-j', 'map', 'show', 'pinned', path], capture_output=True, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else {}


def entries_since_start(d):
    return [e for e in map(parse_stderr_entry, d.output_since_start().splitlines()) if e]


def counters(bus):
    """The counters read over D-Bus: {name: value}, or the error."""
    try:
        props = bus.properties()
        return {k: int(props.Get(IFACE, k)) for k in ('FilelessExecutions', 'Blocked', 'EventsLost')}
    except dbus.exceptions.DBusException as e:
        return e


def test_pinned_maps_checked_before_use(tap, blocked):
    """Security review (issue 9): a pinned map is checked (type, key and
    value size, entries) before the daemon reads it into its own structs,
    and the pinned links' programs must use exactly the pinned maps. A
    config map with a 4096-byte value, a stats map with one, and a set
    pieced together from two instances are not taken over: the daemon says
    why, replaces the pins and enforces, and never crashes."""
    bus = PrivateBus().start()
    Polkit(bus.address).start()

    # A config map of another shape, pinned before the first start.
    d = Daemon(tap)
    os.mkdir(d.pin, 0o700)
    p = subprocess.run(['bpftool', 'map', 'create', f'{d.pin}/config', 'type', 'array', 'key', '4', 'value', '4096',
                        'entries', '1', 'name', 'fl_config'], capture_output=True, text=True)
    tap.require(p.returncode == 0, 'a config map with a 4096-byte value is pinned', p.stderr)
    tap.ok(d.start('--profile=restricted'), 'the daemon starts over it (no crash)')
    out = d.output_since_start()
    tap.ok('Not taking over the pins' in out and 'value size 4096' in out,
           'it says it does not take the pins over, naming the value size 4096', out[-1500:])
    tap.ok(map_show(f'{d.pin}/config').get('bytes_value') not in (None, 4096) and exec_link(d.pin) is not None,
           'the pins are replaced by its own', map_show(f'{d.pin}/config'))
    r = fl_exec('memfd', 'proc-self', name='bad-config-map')
    tap.ok(r.get('result') == blocked, f'and it enforces: a memfd exec is {blocked}', r)
    tap.ok(wait_owner(bus.address), f'it owns {NAME}')
    c = counters(bus)
    tap.ok(isinstance(c, dict) and c['FilelessExecutions'] >= 1 and c['Blocked'] >= 1,
           'the counters read fine over D-Bus', c)
    d.stop()
    d.disable()

    # A stats map of another shape in the place of the real one, under a
    # stopped daemon: a restart must not take it over (nor read the
    # counters into a u64 from a 4096-byte value).
    d = Daemon(tap)
    tap.require(d.start('--profile=restricted'), 'another daemon starts restricted')
    d.stop()
    real = map_show(f'{d.pin}/stats')
    tap.require(real, 'the stopped daemon left its stats map pinned')
    p = subprocess.run(['bpftool', 'map', 'create', f'{d.pin}/stats_forged', 'type', real['type'], 'key', '4',
                        'value', '4096', 'entries', str(real['max_entries']), 'name', 'fl_stats'],
                       capture_output=True, text=True)
    tap.require(p.returncode == 0, 'a stats map with a 4096-byte value is pinned', p.stderr)
    os.rename(f'{d.pin}/stats_forged', f'{d.pin}/stats')
    tap.ok(d.start('--profile=restricted'), 'the daemon restarts over it (no crash)')
    out = d.output_since_start()
    tap.ok('Not taking over the pins' in out and 'value size 4096' in out,
           'it does not take the pins over, naming the value size 4096', out[-1500:])
    tap.ok(map_show(f'{d.pin}/stats').get('bytes_value') not in (None, 4096), 'its own stats map is pinned',
           map_show(f'{d.pin}/stats'))
    tap.ok(wait_owner(bus.address), f'it owns {NAME}')
    c = counters(bus)
    tap.ok(isinstance(c, dict) and d.proc.poll() is None, 'the counters read fine over D-Bus; the daemon runs', c)
    r = fl_exec('memfd', 'proc-self', name='bad-stats-map')
    tap.ok(r.get('result') == blocked, f'and it enforces: a memfd exec is {blocked}', r)
    d.stop()
    d.disable()

    # Pins of two instances pieced together: one of B's maps replaced by
    # A's. B restarts restricted over them, and must not write its profile
    # to a map its programs do not read, nor count and report A's events.
    for name in ('config', 'stats'):
        a, b = Daemon(tap), Daemon(tap)
        tap.require(a.start('--profile=allow') and b.start('--profile=allow'), 'two daemons with pins of their own')
        a.stop()
        b.stop()
        before = pin_ids(b.pin)
        os.rename(f'{a.pin}/{name}', f'{b.pin}/{name}')
        tap.ok(b.start('--profile=restricted'), f'B restarts over its pins with A\'s {name} map among them')
        out = b.output_since_start()
        tap.ok('Not taking over the pins' in out and 'Took over' not in out,
               f'it does not take over a set pieced together from two instances (A\'s {name} map)', out[-1500:])
        after = pin_ids(b.pin)
        tap.ok(after.get(name) not in (None, before.get(name)) and exec_link(b.pin) is not None
               and all(after.get(n) != i for n, i in before.items() if n.startswith('link')),
               f'the pins are replaced: a new {name} map and new links', (before, after))
        r = fl_exec('memfd', 'proc-self', name=f'pieced-{name}')
        tap.ok(r.get('result') == blocked, f'and restricted is enforced: a memfd exec is {blocked}', r)
        b.stop()
        b.disable()
        a.disable()
    bus.close()


def test_program_pins_checked_on_takeover(tap, blocked):
    """A restart takes the links over through the programs pinned next to
    them (prog_*) and the object's other maps (map_*), never by id, which
    needs CAP_SYS_ADMIN. Pins of the older layout, without those, and a
    link whose program is not the one pinned next to it are not taken over:
    the daemon says why, replaces the pins and enforces. --disable removes
    the new pins too."""
    d = Daemon(tap)
    tap.require(d.start('--profile=restricted'), 'starts restricted')
    d.stop()
    names = sorted(os.listdir(d.pin))
    aux = [n for n in names if n.startswith(('prog_', 'map_'))]
    links = [n for n in names if n.startswith('link_')]
    tap.ok(links and sorted(n.replace('link_', 'prog_', 1) for n in links) ==
           sorted(n for n in aux if n.startswith('prog_')) and any(n.startswith('map_') for n in aux),
           'each linked program is pinned as prog_<name>, the other maps as map_<name>', names)
    tap.require(d.start('--profile=restricted'), 'restarts over its own pins')
    tap.ok('Took over' in d.output_since_start() and 'Not taking over' not in d.output_since_start(),
           'and takes them over', d.output_since_start()[-1500:])
    d.stop()

    # The layout of earlier versions: links and daemon maps only.
    before = pin_ids(d.pin)
    for n in aux:
        os.unlink(os.path.join(d.pin, n))
    tap.ok(d.start('--profile=restricted'), 'restarts over pins without prog_* and map_*')
    out = d.output_since_start()
    tap.ok(re.search(r'Not taking over the pins in \S+: (prog|map)_\w+: No such file or directory\. '
                     r'Replacing them\.', out) and 'Took over' not in out,
           'it does not take them over, naming the missing pin', out[-1500:])
    after = pin_ids(d.pin)
    tap.ok(sorted(after) == names and all(after.get(n) != i for n, i in before.items() if n.startswith('link')),
           'they are replaced by a complete set with new links', (before, after))
    r = fl_exec('memfd', 'proc-self', name='old-layout')
    tap.ok(r.get('result') == blocked, f'and restricted is enforced: a memfd exec is {blocked}', r)
    d.stop()

    # A's exec program pinned next to B's link of the same name.
    a = Daemon(tap)
    tap.require(a.start('--profile=allow'), 'a second daemon with pins of its own')
    a.stop()
    prog = exec_link(d.pin).rsplit('/', 1)[1].replace('link_', 'prog_', 1)
    os.rename(f'{a.pin}/{prog}', f'{d.pin}/{prog}')
    tap.ok(d.start('--profile=restricted'), f'B restarts with A\'s {prog} among its pins')
    out = d.output_since_start()
    tap.ok(f'not the one pinned as {prog}' in out and 'Took over' not in out,
           'it does not take over a link whose program is not the one pinned next to it', out[-1500:])
    r = fl_exec('memfd', 'proc-self', name='foreign-prog-pin')
    tap.ok(r.get('result') == blocked, f'and restricted is enforced: a memfd exec is {blocked}', r)
    d.stop()
    r = d.disable()
    tap.ok(r.returncode == 0 and not os.path.exists(d.pin), '--disable removes every pin and the directory',
           (r.stderr, os.listdir(d.pin) if os.path.exists(d.pin) else None))
    a.disable()


def test_pinned_backend_outside_the_enum(tap, blocked):
    """Security review (issue 9): a pinned config naming a backend that does
    not exist (99) is not taken over (it would later be printed as a NULL
    string): the daemon says so, replaces the pins and enforces, and its
    Backend property names a real backend."""
    bus = PrivateBus().start()
    Polkit(bus.address).start()
    d = Daemon(tap)
    tap.require(d.start('--profile=restricted'), 'starts restricted')
    d.stop()
    before = pin_ids(d.pin)
    key = ['0'] * 4
    p = subprocess.run(['bpftool', '-j', 'map', 'lookup', 'pinned', f'{d.pin}/config', 'key', *key],
                       capture_output=True, text=True)
    tap.require(p.returncode == 0, 'the stopped daemon\'s config map is read', p.stderr)
    value = [int(b, 16) for b in json.loads(p.stdout)['value']]
    # struct fl_config: abi, profile, backend, n_shm_devs (u32 each), shm_devs[4] (u64)
    value[8:12] = list((99).to_bytes(4, 'little'))
    p = subprocess.run(['bpftool', 'map', 'update', 'pinned', f'{d.pin}/config', 'key', *key,
                        'value', *map(str, value)], capture_output=True, text=True)
    tap.require(p.returncode == 0, 'its backend is set to 99', p.stderr)
    d2 = pinned_map(d.pin, 'config')
    tap.require(d2 and d2[0]['formatted']['value']['backend'] == 99, 'the pinned config names backend 99', d2)

    tap.ok(d.start('--profile=restricted'), 'the daemon restarts over it')
    out = d.output_since_start()
    tap.ok('backend 99, which does not exist' in out and 'Took over' not in out,
           'it does not take the pins over: "backend 99, which does not exist"', out[-1500:])
    after = pin_ids(d.pin)
    cfg = pinned_map(d.pin, 'config')
    tap.ok(after.get('config') != before.get('config') and cfg and cfg[0]['formatted']['value']['backend'] != 99,
           'the pins are replaced', (before, after, cfg))
    r = fl_exec('memfd', 'proc-self', name='backend-99')
    tap.ok(r.get('result') == blocked, f'and it enforces: a memfd exec is {blocked}', r)
    tap.ok(wait_owner(bus.address), f'it owns {NAME}')
    try:
        backend = str(bus.properties().Get(IFACE, 'Backend'))
    except dbus.exceptions.DBusException as e:
        backend = e
    tap.ok(backend == ('lsm' if lsm_available() else 'tracepoint'), 'Backend names the real backend', backend)
    d.stop()
    d.disable()
    bus.close()


def test_stop_message_checks_the_pins(tap, blocked):
    """Security review (issue 9): the stop entry says what is true of the
    pins: with them in place they keep enforcing (FILELESS_PINS=intact);
    removed while the daemon ran, the profile is NOT enforced any more
    (FILELESS_PINS=gone)."""
    d = Daemon(tap)
    tap.require(d.start('--profile=restricted'), 'starts restricted')
    d.stop()
    stopped = [e for e in entries_since_start(d) if e.get('MESSAGE_ID') == MSG_STOPPED]
    tap.ok(len(stopped) == 1 and stopped[0].get('FILELESS_PINS') == 'intact'
           and 'keep enforcing' in stopped[0].get('MESSAGE', ''),
           'pins in place: the stop entry says they keep enforcing, FILELESS_PINS=intact', stopped)
    r = fl_exec('memfd', 'proc-self', name='stopped-intact')
    tap.ok(r.get('result') == blocked, f'and so they do: a memfd exec is {blocked}', r)

    tap.require(d.start('--profile=restricted'), 'restarts')
    shutil.rmtree(d.pin)
    d.stop()
    stopped = [e for e in entries_since_start(d) if e.get('MESSAGE_ID') == MSG_STOPPED]
    tap.ok(len(stopped) == 1 and stopped[0].get('FILELESS_PINS') == 'gone'
           and 'NOT enforced' in stopped[0].get('MESSAGE', '') and stopped[0].get('PRIORITY') == '4',
           'pins removed: the stop entry, a warning, says the profile is NOT enforced any more, FILELESS_PINS=gone',
           stopped)
    r = fl_exec('memfd', 'proc-self', name='stopped-gone')
    tap.ok(r.get('result') == 'ran', 'and so it is not: a memfd exec runs', r)


def setup(tap):
    ensure_bpffs()
    return 'denied' if lsm_available() else 'killed'


if __name__ == '__main__':
    run_cases('faults', globals(), setup=setup)
