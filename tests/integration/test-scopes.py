#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unit scopes (issue 13) under a real systemd: the units, slices, sessions
and delegated subtrees are systemd's own, made by systemd 252 as PID 1 of a
throwaway machine (sysns.py), with the real dbus-daemon, polkitd and
journald. The machine is a cgroup namespace, as a container is: its units
live deep in the kernel's cgroup tree, below the machine's root.

Each test_* function is a case with a machine of its own booted from a fresh
install (test-service.py's Machine: the test users, the polkit rule, the
machine-wide profile allow, since the machine is a pid namespace):
test-scopes.py [CASE...]. tests/meson.build registers each as
integration-scopes-CASE."""

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

import sysns  # noqa: E402
from fltest import MSG_EXEC, MSG_STOPPED, on_exit, run_cases  # noqa: E402

_spec = importlib.util.spec_from_file_location('test_service', os.path.join(HERE, 'test-service.py'))
service = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(service)

NAME, PATH, UNIT, ACTION = service.NAME, service.PATH, service.UNIT, service.ACTION
IN_MEMFD_MAIN = '/usr/local/libexec/fl-memfd-main'
DROPIN = '/etc/filelesslock/filelesslockd.conf.d/60-fltest-scopes.conf'
SAVED = '/etc/filelesslock/filelesslockd.conf.d/90-set-profile.conf'
RESTARTS = 100
CLD_KILLED = '2'


class Machine(service.Machine):
    """test-service.py's machine, with fl-memfd-main: a main process whose
    first act is a memfd exec of /bin/true (it exits 0 when that runs)."""

    def __init__(self, tap):
        super().__init__(tap)
        with open(os.environ['FL_MEMFD_MAIN'], 'rb') as f:
            self.m.write_file(IN_MEMFD_MAIN, f.read(), 0o755)

    def unit(self, name, text):
        self.m.write_file(f'/etc/systemd/system/{name}', text)
        self.run(['systemctl', 'daemon-reload'], timeout=60)

    def show_unit(self, name, *props):
        r = self.run(['systemctl', 'show', name, *[f'-p{p}' for p in props]])
        return dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)

    def events(self, *matches):
        """Our exec entries (journal json) with MATCHES."""
        r = self.run(['journalctl', '-t', 'filelesslock', '-o', 'json', f'MESSAGE_ID={MSG_EXEC}', *matches],
                     timeout=60)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def wait_events(self, n, *matches, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events(*matches)
            if len(evs) >= n or time.monotonic() > deadline:
                return evs
            time.sleep(0.2)

    def run_oneshot(self, name):
        """Starts the oneshot unit NAME (waits for its end); its main
        process's fate as 'ran' (exit 0), 'killed' (SIGKILL) or what else."""
        self.run(['systemctl', 'restart', name], timeout=60)
        s = self.show_unit(name, 'ExecMainCode', 'ExecMainStatus')
        if s.get('ExecMainCode') == CLD_KILLED:
            return 'killed' if s.get('ExecMainStatus') == '9' else f'signal {s.get("ExecMainStatus")}'
        return 'ran' if s.get('ExecMainStatus') == '0' else f'code {s}'


def oneshot(cmd, extra='', memfd=None):
    """A oneshot unit running CMD; fl-memfd-main there calls its memfd
    MEMFD, so that its events are told apart without a journal cursor (the
    daemon logs asynchronously: an entry of an earlier unit can land after
    a cursor taken once that unit ended)."""
    # No start rate limit: a case restarts it a hundred times in a row.
    env = f'Environment=FL_MEMFD_NAME={memfd}\n' if memfd else ''
    return f'[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nType=oneshot\nExecStart={cmd}\n{env}{extra}'


def test_restart_100(tap, f):
    """A unit whose main process execs a memfd as its first act, restarted a
    hundred times under its [Scope]: every start stopped, every event names
    the unit and its scope, though each start's cgroup is new (and gone by
    the time the daemon reads most events)."""
    f.m.write_file(DROPIN, '[Fileless]\nRateLimitBurst=0\n\n[Scope]\nUnit=fltest-first.service\n'
                           'Profile=restricted\n')
    f.unit('fltest-first.service', oneshot(IN_MEMFD_MAIN, memfd='fltest-first'))
    f.unit('fltest-control.service', oneshot(IN_MEMFD_MAIN, memfd='fltest-control'))
    f.start(tap)
    tap.ok(f.run_oneshot('fltest-control.service') == 'ran',
           'control: the same program in a unit without a scope runs (machine-wide allow)')

    fates = [f.run_oneshot('fltest-first.service') for _ in range(RESTARTS)]
    killed = fates.count('killed')
    tap.ok(killed == RESTARTS, f'{killed} of {RESTARTS} starts of fltest-first.service were killed at their '
                               'first exec', [x for x in fates if x != 'killed'][:10])
    evs = f.wait_events(RESTARTS, 'FILELESS_FILE_NAME=memfd:fltest-first')
    tap.ok(len(evs) == RESTARTS, f'{len(evs)} events for {RESTARTS} starts')
    tap.ok(all(e.get('FILELESS_ACTION') == 'killed' for e in evs), 'every one killed',
           sorted({e.get('FILELESS_ACTION') for e in evs}))
    scoped = sum(e.get('FILELESS_SCOPE') == 'fltest-first.service' for e in evs)
    tap.ok(scoped == len(evs), f'FILELESS_SCOPE=fltest-first.service in {scoped} of {len(evs)}')
    named = sum(e.get('FILELESS_UNIT') == 'fltest-first.service' for e in evs)
    tap.ok(named == len(evs) and evs, f'FILELESS_UNIT=fltest-first.service in {named} of {len(evs)} (100 %)',
           [e.get('FILELESS_UNIT') for e in evs if e.get('FILELESS_UNIT') != 'fltest-first.service'][:10])
    cgroups = {e.get('FILELESS_CGROUP_ID') for e in evs}
    tap.ok(len(cgroups) == len(evs), f'each start in a cgroup of its own ({len(cgroups)} cgroup ids)')
    tap.ok(f.run_oneshot('fltest-control.service') == 'ran', 'and the control unit still runs')


def test_delegated_subtree_spoof(tap, f):
    """A unit with Delegate=yes makes a cgroup called nginx.service in its
    own subtree while a [Scope] for nginx.service is set: an exec there is
    not under nginx's scope; one in the real nginx.service is."""
    f.m.write_file(DROPIN, '[Scope]\nUnit=nginx.service\nProfile=restricted\n')
    f.unit('nginx.service', oneshot(IN_MEMFD_MAIN, memfd='fltest-nginx'))
    # The delegated unit makes the child, moves itself in, then execs.
    f.m.write_file('/usr/local/libexec/fltest-delegate', f'''#!/bin/sh
set -e
cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
mkdir "$cg/nginx.service"
echo $$ >"$cg/nginx.service/cgroup.procs"
sed -n 's/^0:://p' /proc/self/cgroup >/run/fltest-delegate.cgroup
exec {IN_MEMFD_MAIN}
''', 0o755)
    f.unit('fltest-delegate.service', oneshot('/usr/local/libexec/fltest-delegate', 'Delegate=yes\n',
                                              memfd='fltest-delegate'))
    f.start(tap)
    tap.ok(f.run_oneshot('nginx.service') == 'killed', 'the real nginx.service is under its scope: killed')
    fate = f.run_oneshot('fltest-delegate.service')
    where = f.run(['cat', '/run/fltest-delegate.cgroup']).stdout.strip()
    tap.ok(where.endswith('/fltest-delegate.service/nginx.service'),
           f'the exec ran from the delegated child cgroup ({where})')
    tap.ok(fate == 'ran', f'an exec from a delegated cgroup named nginx.service is not under nginx\'s scope ({fate})')
    evs = f.wait_events(1, 'FILELESS_FILE_NAME=memfd:fltest-delegate')
    e = evs[0] if len(evs) == 1 else {}
    tap.ok(e.get('FILELESS_ACTION') == 'allowed' and 'FILELESS_SCOPE' not in e and
           e.get('FILELESS_UNIT') == 'fltest-delegate.service',
           'its event: allowed by the machine-wide profile, no scope, unit fltest-delegate.service',
           {k: e.get(k) for k in ('FILELESS_ACTION', 'FILELESS_SCOPE', 'FILELESS_UNIT', 'FILELESS_PROFILE')})



class Monitor:
    """dbus-monitor on the machine's system bus, for PropertiesChanged of our
    object; stop() returns what it printed."""

    def __init__(self, f):
        full, env = f.m.command(['dbus-monitor', '--system', "type='signal',member='PropertiesChanged',"
                                                             f"path='{PATH}'"])
        self.p = subprocess.Popen(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True)
        on_exit(lambda: self.p.poll() is None and sysns._kill_nsenter(self.p))
        time.sleep(0.5)  # until it has subscribed

    def stop(self):
        time.sleep(0.5)  # until a signal sent has arrived
        for pid in sysns._pgrp_members(self.p.pid):
            if pid != self.p.pid:
                os.kill(pid, signal.SIGTERM)
        return self.p.communicate(timeout=10)[0]


def set_unit_profile(f, user, unit, profile):
    return f.run(['busctl', 'call', NAME, PATH, NAME, 'SetUnitProfile', 'ssb', unit, profile, 'false'], user=user)


def unit_profiles(f):
    return f.run(['busctl', 'get-property', NAME, PATH, NAME, 'UnitProfiles']).stdout.strip()


def test_set_unit_profile(tap, f):
    """SetUnitProfile over the real bus, decided by the real polkitd's rules:
    an allowed user's call applies, announces, persists; a refused user's
    changes nothing."""
    web = 'fltest-web.service'
    f.unit(web, oneshot(IN_MEMFD_MAIN, memfd='fltest-web'))
    f.start(tap)
    tap.ok(f.run_oneshot(web) == 'ran', f'before: {web} runs its memfd (no scope, machine-wide allow)')

    mon = Monitor(f)
    r = set_unit_profile(f, 'fltest-allowed', web, 'restricted')
    tap.ok(r.returncode == 0, f'busctl call SetUnitProfile ssb {web} restricted false, as a user a polkit rule '
                              'allows', r.stderr)
    signals = mon.stop()
    want = f'a(ss) 1 "{web}" "restricted"'
    tap.ok(unit_profiles(f) == want, f'UnitProfiles reads {want}', unit_profiles(f))
    tap.ok(re.search(r'member=PropertiesChanged.*string "UnitProfiles".*string "fltest-web.service"\s+'
                     r'string "restricted"', signals, re.S),
           'PropertiesChanged announced UnitProfiles with the new scope', signals)
    tap.ok(f.run_oneshot(web) == 'killed', f'{web} is now killed at its first exec')
    saved = f.m.read_file(SAVED)
    tap.ok(re.search(r'\[Scope\]\nUnit=fltest-web\.service\nProfile=restricted\n', saved),
           f'saved in {SAVED}', saved)

    r = f.run(['systemctl', 'restart', UNIT], timeout=60)
    tap.ok(r.returncode == 0 and unit_profiles(f) == want, 'after systemctl restart filelesslockd the scope is '
                                                           'still there', (r.stderr, unit_profiles(f)))
    tap.ok(f.run_oneshot(web) == 'killed', f'and {web} is still killed')

    mon = Monitor(f)
    r = set_unit_profile(f, 'fltest-denied', web, 'allow')
    tap.ok(r.returncode != 0 and 'Access denied' in r.stderr,
           'busctl call SetUnitProfile as a user the polkit rule refuses fails: access denied', r.stderr)
    r = f.run(['dbus-send', '--system', '--print-reply', f'--dest={NAME}', PATH, f'{NAME}.SetUnitProfile',
               f'string:{web}', 'string:allow', 'boolean:false'], user='fltest-denied')
    tap.ok('org.freedesktop.DBus.Error.AccessDenied' in r.stderr and ACTION in r.stderr,
           'the error is org.freedesktop.DBus.Error.AccessDenied naming the polkit action', r.stderr)
    signals = mon.stop()
    tap.ok('PropertiesChanged' not in signals, 'no PropertiesChanged for the refused calls', signals)
    tap.ok(unit_profiles(f) == want and f.m.read_file(SAVED) == saved,
           'UnitProfiles and the saved drop-in are unchanged', unit_profiles(f))
    tap.ok(f.run_oneshot(web) == 'killed', f'{web} is still killed')


def readme_recipe():
    """The commands of the README's section for administrators."""
    with open(os.path.join(HERE, '..', '..', 'README.md')) as fh:
        text = fh.read()
    section = text.split('### Protecting host services while containers keep running', 1)[1]
    block = re.search(r'```sh\n(.*?)```', section, re.S).group(1)
    return [l for l in block.splitlines() if l.strip() and not l.lstrip().startswith('#')]


def test_admin_recipe(tap, f):
    """The README's three commands for administrators, run as they are
    written on a machine with the stock machine-wide profile (baseline):
    a service and a user's login session are stopped, a container's scope
    under machine.slice runs its runtime's fileless exec, and the container's
    own processes (a pid namespace below) are still stopped by baseline."""
    recipe = readme_recipe()
    tap.ok(len(recipe) == 3, f'the README\'s recipe is three commands: {recipe}')
    # The test machine's own drop-in says allow; a stock install says baseline.
    f.m.write_file(DROPIN, '[Fileless]\nProfile=baseline\n')
    f.unit('fltest-svc.service', oneshot(IN_MEMFD_MAIN, memfd='fltest-svc'))
    f.start(tap)
    tap.ok(f.prop('Profile') == 'baseline', 'the machine-wide profile is baseline')
    tap.ok(f.run_oneshot('fltest-svc.service') == 'ran', 'before: a service runs a memfd (baseline, host side)')

    for cmd in recipe:
        r = f.run(['sh', '-c', cmd])
        tap.ok(r.returncode == 0, f'$ {cmd}', r.stdout + r.stderr)
        tap.note(f'$ {cmd}\n{r.stdout}')
    status = f.run(['filelesslockctl', 'status']).stdout
    tap.ok('system.slice' in status and 'user.slice' in status, 'filelesslockctl status lists both scopes', status)

    tap.ok(f.run_oneshot('fltest-svc.service') == 'killed', 'a service in system.slice is killed at its memfd exec')
    r = f.run(['runuser', '-l', 'fltest-other', '-c',
               f'sed -n "s/^0:://p" /proc/self/cgroup; FL_MEMFD_NAME=fltest-session {IN_MEMFD_MAIN}'])
    tap.ok(re.search(r'^/user\.slice/user-61003\.slice/session-\w+\.scope$', r.stdout, re.M),
           f'runuser -l opens a login session (logind): {r.stdout.strip()}', r.stderr)
    tap.ok(r.returncode == 128 + 9, f'the session\'s memfd exec is killed (exit {r.returncode})', r.stderr)
    tap.ok(f.run(['runuser', '-l', 'fltest-other', '-c', '/bin/true']).returncode == 0,
           'control: an ordinary exec in a session runs')

    r = f.run(['systemd-run', '--quiet', '--scope', '--slice=machine.slice', '--unit=fltest-container',
               '--setenv=FL_MEMFD_NAME=fltest-runtime', IN_MEMFD_MAIN], timeout=60)
    tap.ok(r.returncode == 0, 'a scope under machine.slice (a container runtime\'s own fileless re-exec) runs',
           r.stderr)
    r = f.run(['systemd-run', '--quiet', '--scope', '--slice=machine.slice', '--unit=fltest-container-init',
               '--setenv=FL_MEMFD_NAME=fltest-in-container', 'unshare', '--pid', '--fork', IN_MEMFD_MAIN],
              timeout=60)
    # unshare reports its child's SIGKILL as it can (re-raising it fails
    # here: exit 1); the event below says what happened.
    tap.ok(r.returncode != 0, f'inside it, in the container\'s pid namespace, baseline still kills '
                              f'(exit {r.returncode})', r.stderr)

    want = {'fltest-svc': ('killed', 'restricted', 'system.slice', 'fltest-svc.service'),
            'fltest-session': ('killed', 'restricted', 'user.slice', None),
            'fltest-runtime': ('allowed', 'baseline', None, 'fltest-container.scope'),
            'fltest-in-container': ('killed', 'baseline', None, 'fltest-container-init.scope')}
    for name, (action, profile, scope, unit) in want.items():
        evs = [e for e in f.wait_events(1, f'FILELESS_FILE_NAME=memfd:{name}', f'FILELESS_ACTION={action}')]
        e = evs[-1] if evs else {}
        got = (e.get('FILELESS_ACTION'), e.get('FILELESS_PROFILE'), e.get('FILELESS_SCOPE'),
               e.get('FILELESS_UNIT') if unit else None)
        tap.ok(got == (action, profile, scope, unit), f'event of memfd:{name}: {action}, profile {profile}, '
                                                      f'scope {scope}, unit {unit}', got)
    e = f.events('FILELESS_FILE_NAME=memfd:fltest-session')
    unit = e[-1].get('FILELESS_UNIT', '') if e else ''
    tap.ok(re.fullmatch(r'session-\w+\.scope', unit), f'the session\'s event names its unit ({unit})')

    # The pins outlive the daemon, and the scopes with them: the stop
    # message must say so.
    r = f.run(['systemctl', 'stop', UNIT], timeout=60)
    tap.ok(r.returncode == 0, 'systemctl stop filelesslockd', r.stderr)
    r = f.run(['journalctl', '-o', 'json', '-t', 'filelesslock', f'MESSAGE_ID={MSG_STOPPED}'])
    stops = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    msg = stops[-1].get('MESSAGE', '') if stops else ''
    tap.ok('keep enforcing profile baseline and the 2 unit scopes (system.slice=restricted, '
           'user.slice=restricted)' in msg and stops[-1].get('FILELESS_SCOPES') == '2',
           f'the stop message says the unit scopes stay enforced: {msg!r}')
    tap.ok(f.run_oneshot('fltest-svc.service') == 'killed', 'and they do: the service is killed with the daemon '
                                                            'stopped')


HOLDER = """#!/bin/sh
# A package upgrade's effect on a pinned executable: opened, then deleted.
set -e
cp /bin/true /var/lib/fltest-executor
exec 3</var/lib/fltest-executor
rm /var/lib/fltest-executor
exec sleep infinity
"""


def test_executor_standin(tap, f):
    """The systemd >= 255 executor after a package upgrade, as close as
    systemd 252 allows: there the manager's forked child execs
    systemd-executor through an fd it pinned, a deleted file once the
    package replaced it. Here the forked child of the real manager (its
    executable still /usr/lib/systemd/systemd) execs a deleted file through
    an fd: StandardInput=file:/proc/PID/fd/3 of a holder that opened and then
    deleted it, and ExecStart=/proc/self/fd/0. Killed with no trust; run,
    logged allowed-trusted, with TrustedExecutable=/usr/lib/systemd/systemd
    and the manager re-executed since the daemon started."""
    unit = 'fltest-executor.service'
    f.m.write_file(DROPIN, f'[Fileless]\nTrustedExecutable=\n\n[Scope]\nUnit={unit}\nProfile=restricted\n')
    f.m.write_file('/usr/local/libexec/fltest-holder', HOLDER, 0o755)
    f.start(tap)
    r = f.run(['systemd-run', '--quiet', '--unit=fltest-holder', '/usr/local/libexec/fltest-holder'])
    tap.require(r.returncode == 0, 'precondition: the holder runs', r.stderr)
    pid = ''
    for _ in range(50):
        pid = f.run(['systemctl', 'show', '-pMainPID', '--value', 'fltest-holder']).stdout.strip()
        fd = f.run(['readlink', f'/proc/{pid}/fd/3']).stdout.strip()
        if fd == '/var/lib/fltest-executor (deleted)':
            break
        time.sleep(0.1)
    tap.require(fd == '/var/lib/fltest-executor (deleted)', f'precondition: the holder pins a deleted file ({fd})')
    f.unit(unit, oneshot('/proc/self/fd/0', f'StandardInput=file:/proc/{pid}/fd/3\n'))

    tap.ok(f.run_oneshot(unit) == 'killed', 'no trust: the manager\'s exec of the deleted pinned file is killed')
    e = f.wait_events(1, 'FILELESS_FILE_NAME=fltest-executor', 'FILELESS_ACTION=killed')
    e = e[-1] if e else {}
    tap.ok((e.get('FILELESS_KIND'), e.get('FILELESS_PROGRAM'), e.get('FILELESS_SCOPE'), e.get('FILELESS_UNIT')) ==
           ('deleted', 'systemd', unit, unit),
           'its event: kind deleted, by program systemd (the manager\'s child), scope and unit ' + unit,
           {k: v for k, v in e.items() if k.startswith('FILELESS_')})

    f.m.write_file(DROPIN.replace('60-', '61-'), '[Fileless]\nTrustedExecutable=/usr/lib/systemd/systemd\n')
    r = f.run(['systemctl', 'reload', UNIT], timeout=60)
    tap.ok(r.returncode == 0, 'TrustedExecutable=/usr/lib/systemd/systemd, systemctl reload filelesslockd', r.stderr)
    # Trust holds for an image the daemon saw start (without LD_* and the
    # like): PID 1 started before it. A package upgrade of systemd re-executes
    # the manager, as this does.
    r = f.run(['systemctl', 'daemon-reexec'], timeout=60)
    tap.ok(r.returncode == 0, 'systemctl daemon-reexec (what an upgrade of systemd runs)', r.stderr)
    tap.ok(f.run_oneshot(unit) == 'ran', 'with the manager trusted the same start runs')
    e = f.wait_events(1, 'FILELESS_FILE_NAME=fltest-executor', 'FILELESS_ACTION=allowed-trusted')
    e = e[-1] if e else {}
    tap.ok(e.get('FILELESS_KIND') == 'deleted' and e.get('FILELESS_PROGRAM') == 'systemd' and
           e.get('PRIORITY') == '6', 'its event: allowed-trusted, kind deleted, program systemd, priority info',
           {k: v for k, v in e.items() if k.startswith('FILELESS_') or k == 'PRIORITY'})


if __name__ == '__main__':
    run_cases('integration-scopes', globals(), setup=Machine)
