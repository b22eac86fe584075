#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""filelesslockd as users get it: `meson install` into a DESTDIR, that tree
put into a throwaway machine where a real systemd is PID 1 (with a real
dbus-daemon, polkitd and journald), and the unit driven with systemctl,
busctl, journalctl and filelesslockctl, each step asserted.

The machine is booted by sysns.py: its own namespaces over an overlay of
/, so nothing here touches the host's /etc, /run or bpffs. Its BPF programs
do see the host kernel's execs, as every test tier's do; the tests run one at
a time.

Each test_* function is a case, with a machine of its own booted from a
fresh install: test-service.py [CASE...] (all without arguments; --list
names them). tests/meson.build registers each as integration-service-CASE."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

import flmachine  # noqa: E402
import sysns  # noqa: E402
from fltest import MSG_EXEC, MSG_PROFILE_CHANGED, MESSAGE_IDS, on_exit, run_cases  # noqa: E402

NAME = 'org.bpflock.Fileless1'
PATH = '/org/bpflock/Fileless1'
UNIT = 'filelesslockd.service'
ACTION = 'org.bpflock.fileless1.set-profile'
IN_FL_EXEC = flmachine.IN_FL_EXEC
PIN = '/sys/fs/bpf/bpflock/filelesslock'

# One user polkit allows, one it refuses outright, one it would ask for the
# administrator's password (the action's default, auth_admin_keep).
USERS = {'fltest-allowed': 61001, 'fltest-denied': 61002, 'fltest-other': 61003}
RULES = sysns.polkit_rule(ACTION, allowed=['fltest-allowed'], refused=['fltest-denied'])

EXPECTED_FILES = ['usr/sbin/filelesslockd', 'usr/bin/filelesslockctl',
                  'usr/lib/systemd/system/filelesslockd.service',
                  'usr/lib/systemd/catalog/filelesslock.catalog',
                  'usr/share/dbus-1/system.d/org.bpflock.Fileless1.conf',
                  'usr/share/dbus-1/system-services/org.bpflock.Fileless1.service',
                  'usr/share/polkit-1/actions/org.bpflock.fileless1.policy',
                  'etc/filelesslock/filelesslockd.conf',
                  'usr/share/man/man8/filelesslockd.8', 'usr/share/man/man5/filelesslockd.conf.5',
                  'usr/share/man/man5/org.bpflock.Fileless1.5', 'usr/share/man/man1/filelesslockctl.1']


class Machine:
    """This build installed into a DESTDIR, booted in a machine of its own
    with the test users, the polkit rule and a drop-in for profile allow
    (the machine is a pid namespace: baseline would stop everything in it)."""

    def __init__(self, tap):
        self.tap = tap
        self.m, self.dest = flmachine.boot_installed(
                tap, 'service', {u: {'uid': uid} for u, uid in USERS.items()},
                {'/etc/polkit-1/rules.d/50-fltest.rules': RULES})
        tap.logs_on_failure.append(lambda: (f'journal of {UNIT} in the machine', self.m.journal(unit=UNIT)))
        # What the package's post-install step does (test_catalog checks it).
        r = self.run(['journalctl', '--update-catalog'])
        tap.require(r.returncode == 0, 'precondition: journalctl --update-catalog', r.stderr)

    def run(self, args, **kw):
        return self.m.run(args, **kw)

    def prop(self, name):
        r = self.run(['busctl', 'get-property', NAME, PATH, NAME, name])
        return r.stdout.strip().split(' ', 1)[1].strip('"') if r.returncode == 0 else None

    def show(self, *props):
        r = self.run(['systemctl', 'show', UNIT, *[f'-p{p}' for p in props]])
        return dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)

    def exec_memfd(self, *extra_args):
        r = self.run([IN_FL_EXEC, *extra_args, 'memfd', 'proc-self'])
        m_ = re.search(r'result=(\w+)', r.stdout)
        return m_.group(1) if m_ else f'rc={r.returncode} {r.stdout} {r.stderr}'

    def start(self, tap):
        """A precondition: the unit enabled and running."""
        r = self.run(['systemctl', 'enable', '--now', UNIT], timeout=60)
        s = self.show('ActiveState', 'SubState')
        tap.require(r.returncode == 0 and s.get('ActiveState') == 'active' and s.get('SubState') == 'running',
                    'precondition: systemctl enable --now filelesslockd: active (running)', (r.stderr, s))

    def set_profile(self, tap, profile):
        """A precondition: PROFILE set as root."""
        r = self.run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', profile])
        tap.require(r.returncode == 0 and self.prop('Profile') == profile, f'precondition: profile {profile}',
                    r.stderr)


def test_installed_files(tap, f):
    missing = [p for p in EXPECTED_FILES if not os.path.exists(os.path.join(f.dest, p))]
    tap.ok(not missing, 'installed where Debian\'s systemd, dbus, polkit and man read them', f'missing: {missing}')


def test_catalog(tap, f):
    # The catalog is indexed by the package's post-install step, as here.
    r = f.run(['journalctl', '--update-catalog'])
    tap.ok(r.returncode == 0, 'journalctl --update-catalog accepts the catalog', r.stderr)
    ids = list(MESSAGE_IDS.values())
    r = f.run(['journalctl', '--list-catalog'])
    missing = [i for i in ids if i not in r.stdout]
    tap.ok(r.returncode == 0 and len(ids) >= 6 and not missing,
           f'the catalog explains all {len(ids)} MESSAGE_IDs of src/message-ids.h', (missing, r.stderr))


def test_unit_file(tap, f):
    r = f.run(['systemd-analyze', 'verify', '/usr/lib/systemd/system/' + UNIT])
    tap.ok(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
           'systemd-analyze verify filelesslockd.service is clean', r.stdout + r.stderr)
    r = f.run(['systemd-analyze', 'security', '--no-pager', UNIT])
    mexp = re.search(r'Overall exposure level for \S+: ([0-9.]+)', r.stdout)
    tap.require(mexp is not None, 'systemd-analyze security rates the unit', r.stdout[-500:] + r.stderr)
    tap.note(f'systemd-analyze security: exposure {mexp.group(1)}')
    tap.ok(float(mexp.group(1)) <= 2.0, f'exposure {mexp.group(1)} is at most 2.0')


def test_enable_now(tap, f):
    r = f.run(['systemctl', 'enable', '--now', UNIT], timeout=60)
    tap.ok(r.returncode == 0, 'systemctl enable --now filelesslockd', r.stderr)
    s = f.show('ActiveState', 'SubState', 'StatusText', 'MainPID', 'NRestarts')
    tap.require(s.get('ActiveState') == 'active' and s.get('SubState') == 'running', 'the unit is active (running)', s)
    tap.ok('allow' in s.get('StatusText', '') and 'tracepoint' in s.get('StatusText', ''),
           f'StatusText names profile and backend: {s.get("StatusText")!r}')
    r = f.run(['systemctl', 'is-enabled', UNIT])
    tap.ok(r.stdout.strip() == 'enabled', 'systemctl is-enabled says enabled', r.stdout + r.stderr)
    r = f.run(['systemctl', 'status', '--no-pager', UNIT])
    tap.note('systemctl status filelesslockd:\n' + r.stdout)


def memfd_in_unit(tap, f):
    """A memfd exec in a unit of its own; returns its journal entry (the
    journal's json) or {}."""
    r = f.run(['systemd-run', '--wait', '--pipe', '--quiet', '--unit=fltest-memfd', IN_FL_EXEC,
               '--name', 'fltest-journal', 'memfd', 'proc-self'], timeout=60)
    tap.ok('result=ran' in r.stdout, 'under allow, a memfd exec runs', r.stdout + r.stderr)
    entry = None
    for _ in range(50):
        r = f.run(['journalctl', '-t', 'filelesslock', '-o', 'json', f'MESSAGE_ID={MSG_EXEC}',
                   'FILELESS_FILE_NAME=memfd:fltest-journal'])
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        if lines:
            entry = lines[-1]
            break
        time.sleep(0.1)
    tap.ok(entry is not None, 'journalctl -t filelesslock -o json has the entry', r.stderr)
    return entry or {}


def test_journal_entry(tap, f):
    """The journal entry comes from our unit and names the exec'ing unit."""
    f.start(tap)
    entry = memfd_in_unit(tap, f)
    tap.ok(entry.get('_SYSTEMD_UNIT') == UNIT, f'_SYSTEMD_UNIT={entry.get("_SYSTEMD_UNIT")}')
    for k, v in {'FILELESS_KIND': 'memfd', 'FILELESS_ACTION': 'allowed', 'FILELESS_PROFILE': 'allow',
                 'FILELESS_BACKEND': 'tracepoint', 'FILELESS_UNIT': 'fltest-memfd.service',
                 'FILELESS_EXEC_PATH': '/proc/self/fd/3'}.items():
        tap.ok(entry.get(k) == v, f'{k}={entry.get(k)!r} (expected {v!r})')
    r = f.run(['journalctl', '-x', '--no-pager', '-t', 'filelesslock', f'MESSAGE_ID={MSG_EXEC}',
               'FILELESS_FILE_NAME=memfd:fltest-journal'])
    tap.ok('Subject: Fileless execution allowed: memfd:fltest-journal (memfd)' in r.stdout and
           'Defined-By: filelesslock' in r.stdout,
           'journalctl -x explains the entry with the catalog text', r.stdout[-1500:])
    tap.note('journalctl -x for that event:\n' + r.stdout)


def test_filelesslockctl(tap, f):
    """filelesslockctl over the real bus and journal."""
    f.start(tap)
    memfd_in_unit(tap, f)
    r = f.run(['filelesslockctl', 'events', '--json', '-n', '5'])
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    tap.ok(r.returncode == 0 and any(e.get('FileName') == 'memfd:fltest-journal' or
                                     e.get('FILELESS_FILE_NAME') == 'memfd:fltest-journal' for e in evs),
           'filelesslockctl events --json lists the event from the journal', r.stdout + r.stderr)
    r = f.run(['filelesslockctl', 'status', '--json'])
    try:
        st = json.loads(r.stdout)
    except ValueError:
        st = {}
    tap.ok(st.get('Profile') == 'allow' and st.get('Backend') == 'tracepoint',
           'filelesslockctl status --json reads the running service', r.stdout + r.stderr)


def test_set_profile_as_root(tap, f):
    """busctl set-property as root, then the next exec is stopped."""
    f.start(tap)
    r = f.run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'restricted'])
    tap.ok(r.returncode == 0, 'busctl set-property Profile s restricted as root', r.stderr)
    tap.ok(f.prop('Profile') == 'restricted', 'busctl get-property reads restricted')
    tap.ok(f.exec_memfd() == 'killed', 'the next memfd exec is killed')


def test_polkit_rules(tap, f):
    """polkit's rules decide for unprivileged users."""
    f.start(tap)
    f.set_profile(tap, 'restricted')
    r = f.run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'allow'], user='fltest-allowed')
    tap.ok(r.returncode == 0 and f.prop('Profile') == 'allow',
           'a user allowed by a polkit rule sets the profile with busctl', r.stderr)

    def dbus_send_set(user, value):
        return f.run(['dbus-send', '--system', '--print-reply', f'--dest={NAME}', PATH,
                      'org.freedesktop.DBus.Properties.Set', f'string:{NAME}', 'string:Profile',
                      f'variant:string:{value}'], user=user)

    r = dbus_send_set('fltest-denied', 'restricted')
    tap.ok('org.freedesktop.DBus.Error.AccessDenied' in r.stderr and ACTION in r.stderr,
           'a user the rule refuses gets org.freedesktop.DBus.Error.AccessDenied naming the action', r.stderr)
    tap.ok(f.prop('Profile') == 'allow', 'the refused write left the profile unchanged')
    r = dbus_send_set('fltest-other', 'restricted')
    tap.ok('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired' in r.stderr,
           'a user polkit would ask for a password, calling without interaction, gets '
           'InteractiveAuthorizationRequired', r.stderr)
    r = f.run(['filelesslockctl', '--no-ask-password', 'set-profile', 'restricted'], user='fltest-other')
    tap.ok(r.returncode == 4, f'filelesslockctl --no-ask-password set-profile as that user exits 4 ({r.returncode})',
           r.stderr)
    r = f.run(['filelesslockctl', 'set-profile', 'restricted'], user='fltest-denied')
    tap.ok(r.returncode == 4 and ACTION in r.stderr, 'filelesslockctl set-profile refused by polkit exits 4',
           r.stderr)
    tap.ok(f.prop('Profile') == 'allow', 'the profile is still allow')
    r = f.run(['journalctl', '-o', 'json', '-t', 'filelesslock', f'MESSAGE_ID={MSG_PROFILE_CHANGED}',
               f'FILELESS_CALLER_UID={USERS["fltest-allowed"]}'])
    tap.ok('"FILELESS_OLD_PROFILE":"restricted"' in r.stdout.replace(' ', ''),
           'the change is logged with the caller\'s uid and the old profile', r.stdout[-800:])


def test_dbus_activation(tap, f):
    f.start(tap)
    f.run(['systemctl', 'stop', UNIT], timeout=60)
    tap.ok(f.run(['systemctl', 'is-active', UNIT]).stdout.strip() == 'inactive', 'systemctl stop: inactive')
    tap.ok(f.prop('Profile') == 'allow', 'busctl get-property on the stopped service activates it')
    tap.ok(f.run(['systemctl', 'is-active', UNIT]).stdout.strip() == 'active', 'the unit is active again')


def loop_during(f, action_args, wait_for):
    """Runs fl-exec over and over while ACTION runs; returns (results, ok)."""
    full, env = f.m.command(f'while [ ! -e /run/fltest-stop ]; do {IN_FL_EXEC} memfd proc-self; done')
    loop = subprocess.Popen(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    on_exit(lambda: loop.poll() is None and (loop.kill(), loop.wait()))
    time.sleep(0.3)
    r_ = f.run(action_args, timeout=60)
    ok = wait_for()
    time.sleep(0.3)
    f.run(['touch', '/run/fltest-stop'])
    out, _ = loop.communicate(timeout=60)
    f.run(['rm', '-f', '/run/fltest-stop'])
    return re.findall(r'result=(\w+)', out), r_, ok


def test_restart_and_kill(tap, f):
    """No gap: restricted while a loop of execs runs through a restart and a SIGKILL."""
    f.start(tap)
    f.run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'restricted'])
    tap.ok(f.prop('Profile') == 'restricted', 'profile restricted for the restart checks')

    for _ in range(3):
        f.exec_memfd()
    count0 = int(f.prop('FilelessExecutions') or 0)
    tap.ok(count0 >= 3, f'FilelessExecutions counts the execs before the restart ({count0})')

    pid0 = f.show('MainPID')['MainPID']
    cursor = f.run(['journalctl', '--show-cursor', '-n0', '-q']).stdout.strip().split('cursor: ')[-1]
    res, r, ok = loop_during(f, ['systemctl', 'restart', UNIT],
                             lambda: f.show('ActiveState')['ActiveState'] == 'active')
    tap.ok(r.returncode == 0 and ok and f.show('MainPID')['MainPID'] != pid0, 'systemctl restart', r.stderr)
    tap.ok(res and set(res) == {'killed'}, f'every exec during the restart was killed ({len(res)} tries)', res)
    # Under the shipped unit (no CAP_SYS_ADMIN) the new daemon takes the
    # pins over: the counters and the ring buffer go on.
    log = f.run(['journalctl', '-u', UNIT, '--no-pager', '-o', 'cat', f'--after-cursor={cursor}']).stdout
    tap.ok(f'Took over the tracepoint programs pinned in {PIN}: enforcement never stopped.' in log and
           'Not taking over' not in log, 'the restarted daemon took over the pins', log[-1500:])
    count1 = int(f.prop('FilelessExecutions') or 0)
    tap.ok(count1 >= count0 + len(res),
           f'FilelessExecutions kept its value: {count1} >= {count0} + {len(res)} execs during the restart')

    n0 = int(f.show('NRestarts')['NRestarts'])
    pid0 = f.show('MainPID')['MainPID']

    def restarted():
        for _ in range(100):
            s_ = f.show('NRestarts', 'ActiveState', 'MainPID')
            if int(s_['NRestarts']) > n0 and s_['ActiveState'] == 'active' and s_['MainPID'] not in ('0', pid0):
                return True
            time.sleep(0.1)
        return False
    res, r, ok = loop_during(f, ['systemctl', 'kill', '-s', 'KILL', UNIT], restarted)
    tap.ok(r.returncode == 0 and ok, 'after systemctl kill -s KILL, systemd restarts it',
           f.show('NRestarts', 'Result'))
    tap.ok(res and set(res) == {'killed'}, f'every exec while it was dead was killed ({len(res)} tries)', res)
    tap.ok(f.prop('Profile') == 'restricted', 'the restarted daemon reports the profile it kept')


def test_watchdog(tap, f):
    """The watchdog: a frozen daemon is killed and restarted."""
    dropin = '/run/systemd/system/filelesslockd.service.d/50-fltest-watchdog.conf'
    f.run(['mkdir', '-p', os.path.dirname(dropin)])
    f.m.write_file(dropin, '[Service]\nWatchdogSec=2s\n')
    f.run(['systemctl', 'daemon-reload'])
    f.start(tap)
    n0 = int(f.show('NRestarts')['NRestarts'])
    pid0 = f.show('MainPID')['MainPID']
    f.run(['kill', '-STOP', pid0])
    ok = False
    for _ in range(150):
        s_ = f.show('NRestarts', 'ActiveState', 'MainPID')
        if int(s_['NRestarts']) > n0 and s_['ActiveState'] == 'active' and s_['MainPID'] != pid0:
            ok = True
            break
        time.sleep(0.1)
    r = f.run(['journalctl', '-u', UNIT, '--no-pager', '-o', 'cat'])
    tap.ok(ok and 'Watchdog timeout' in r.stdout, 'a daemon that stops pinging the watchdog is restarted',
           r.stdout[-800:])


def test_reload(tap, f):
    """Reload applies an edited config; a broken one keeps the profile."""
    f.start(tap)
    f.m.write_file('/etc/filelesslock/filelesslockd.conf.d/95-fltest.conf', '[Fileless]\nProfile=baseline\n')
    r = f.run(['systemctl', 'reload', UNIT], timeout=60)
    tap.ok(r.returncode == 0 and f.prop('Profile') == 'baseline', 'systemctl reload applies an edited config',
           r.stderr)
    cursor = f.run(['journalctl', '--show-cursor', '-n0', '-q']).stdout.strip().split('cursor: ')[-1]
    f.m.write_file('/etc/filelesslock/filelesslockd.conf.d/95-fltest.conf', '[Fileless]\nProfile=restrictd\n')
    r = f.run(['systemctl', 'reload', UNIT], timeout=60)
    time.sleep(0.5)
    log = f.run(['journalctl', '-u', UNIT, '--no-pager', '-o', 'cat', f'--after-cursor={cursor}']).stdout
    tap.ok(f.prop('Profile') == 'baseline' and f.show('ActiveState')['ActiveState'] == 'active',
           'a broken config on reload keeps the running profile')
    tap.ok('95-fltest.conf:2' in log and 'restrictd' in log, 'and the journal says which line is wrong', log)


def test_stop_and_disable(tap, f):
    """Stop and disable: nothing stays attached or pinned."""
    f.start(tap)
    f.run(['systemctl', 'stop', UNIT], timeout=60)
    tap.ok(f.run(['test', '-d', PIN]).returncode == 0, 'after systemctl stop the pins remain (enforcement held)')
    r = f.run(['filelesslockd', '--disable'])
    tap.ok(r.returncode == 0, 'filelesslockd --disable', r.stderr)
    r = f.run(['ls', '-A', '/sys/fs/bpf'])
    tap.ok(f.run(['test', '-e', PIN]).returncode != 0, 'no pin is left', r.stdout)
    r = f.run([IN_FL_EXEC, 'memfd', 'proc-self'])
    tap.ok('result=ran' in r.stdout, 'and a memfd exec runs again: nothing is attached', r.stdout)


if __name__ == '__main__':
    run_cases('integration-service', globals(), setup=Machine)
