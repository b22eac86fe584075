#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""filelesslockd as users get it: `meson install` into a DESTDIR, that tree
put into a throwaway machine where a real systemd is PID 1 (with a real
dbus-daemon, polkitd and journald), and the unit driven with systemctl,
busctl, journalctl and filelesslockctl, each step asserted.

The machine is booted by sysns.py: its own namespaces over an overlay of
/, so nothing here touches the host's /etc, /run or bpffs. Its BPF programs
do see the host kernel's execs, as every test tier's do; the tests run one at
a time."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

import sysns  # noqa: E402
from fltest import TAP, on_exit  # noqa: E402

BUILD = os.environ['FL_BUILD_DIR']
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
FL_EXEC = os.environ['FL_EXEC']
NAME = 'org.bpflock.Fileless1'
PATH = '/org/bpflock/Fileless1'
UNIT = 'filelesslockd.service'
ACTION = 'org.bpflock.fileless1.set-profile'
MSG_EXEC = '44f1fd78380e403f9427638d2ffb0464'
IN_FL_EXEC = '/usr/local/libexec/fl-exec'
PIN = '/sys/fs/bpf/bpflock/filelesslock'

# One user polkit allows, one it refuses outright, one it would ask for the
# administrator's password (the action's default, auth_admin_keep).
USERS = {'fltest-allowed': 61001, 'fltest-denied': 61002, 'fltest-other': 61003}
RULES = f'''// Written by test-service.py
polkit.addRule(function(action, subject) {{
    if (action.id != "{ACTION}")
        return polkit.Result.NOT_HANDLED;
    if (subject.user == "fltest-allowed")
        return polkit.Result.YES;
    if (subject.user == "fltest-denied")
        return polkit.Result.NO;
    return polkit.Result.NOT_HANDLED;
}});
'''

tap = TAP('integration-service')


def install(dest):
    p = subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--quiet', '--destdir', dest],
                       capture_output=True, text=True)
    return p


def main():
    tmp = tempfile.mkdtemp(prefix='fl-service-')
    on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    dest = os.path.join(tmp, 'dest')

    if os.environ.get('FL_PREFIX', '/usr') != '/usr':
        tap.ok(False, 'the build is configured with --prefix=/usr',
               f'prefix is {os.environ["FL_PREFIX"]}: dbus-daemon and polkitd read only /usr/share '
               '(tools/run-tests.sh configures build-tests with --prefix=/usr)')
        return
    p = install(dest)
    if not tap.ok(p.returncode == 0, 'meson install --destdir succeeds', p.stdout + p.stderr):
        return
    expected = ['usr/sbin/filelesslockd', 'usr/bin/filelesslockctl',
                'usr/lib/systemd/system/filelesslockd.service',
                'usr/lib/systemd/catalog/filelesslock.catalog',
                'usr/share/dbus-1/system.d/org.bpflock.Fileless1.conf',
                'usr/share/dbus-1/system-services/org.bpflock.Fileless1.service',
                'usr/share/polkit-1/actions/org.bpflock.fileless1.policy',
                'etc/filelesslock/filelesslockd.conf',
                'usr/share/man/man8/filelesslockd.8', 'usr/share/man/man5/filelesslockd.conf.5',
                'usr/share/man/man5/org.bpflock.Fileless1.5', 'usr/share/man/man1/filelesslockctl.1']
    missing = [f for f in expected if not os.path.exists(os.path.join(dest, f))]
    tap.ok(not missing, 'installed where Debian\'s systemd, dbus, polkit and man read them', f'missing: {missing}')

    # The test's own tools, beside the installed project; a drop-in starts
    # it with profile allow (the machine is a pid namespace: baseline would
    # stop everything in it).
    os.makedirs(os.path.join(dest, 'usr/local/libexec'), exist_ok=True)
    shutil.copy(FL_EXEC, os.path.join(dest, IN_FL_EXEC.lstrip('/')))
    extra = {'/etc/polkit-1/rules.d/50-fltest.rules': RULES,
             '/etc/filelesslock/filelesslockd.conf.d/50-fltest.conf': '[Fileless]\nProfile=allow\n'}

    m = sysns.Machine(destdir=dest, extra_files=extra)
    on_exit(m.shutdown)
    for user, uid in USERS.items():
        m.add_user(user, uid)
    t0 = time.monotonic()
    m.boot(timeout=60)
    tap.note(f'machine booted in {time.monotonic() - t0:.1f} s')
    tap.diag_on_failure.append(lambda: m.diagnostics())

    def run(args, **kw):
        return m.run(args, **kw)

    def prop(name):
        r = run(['busctl', 'get-property', NAME, PATH, NAME, name])
        return r.stdout.strip().split(' ', 1)[1].strip('"') if r.returncode == 0 else None

    def show(*props):
        r = run(['systemctl', 'show', UNIT, *[f'-p{p}' for p in props]])
        return dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)

    def exec_memfd(*extra_args):
        r = run([IN_FL_EXEC, *extra_args, 'memfd', 'proc-self'])
        m_ = re.search(r'result=(\w+)', r.stdout)
        return m_.group(1) if m_ else f'rc={r.returncode} {r.stdout} {r.stderr}'

    # The catalog is indexed by the package's post-install step, as here.
    r = run(['journalctl', '--update-catalog'])
    tap.ok(r.returncode == 0, 'journalctl --update-catalog accepts the catalog', r.stderr)
    with open(os.path.join(SRC, 'src', 'message-ids.h')) as f:
        ids = re.findall(r'#define FL_MESSAGE_\w+ "([0-9a-f]{32})"', f.read())
    listed = run(['journalctl', '--list-catalog']).stdout
    missing = [i for i in ids if i not in listed]
    tap.ok(len(ids) >= 6 and not missing, f'the catalog explains all {len(ids)} MESSAGE_IDs of src/message-ids.h',
           missing)

    r = run(['systemd-analyze', 'verify', '/usr/lib/systemd/system/' + UNIT])
    tap.ok(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
           'systemd-analyze verify filelesslockd.service is clean', r.stdout + r.stderr)
    r = run(['systemd-analyze', 'security', '--no-pager', UNIT])
    mexp = re.search(r'Overall exposure level for \S+: ([0-9.]+)', r.stdout)
    tap.ok(mexp is not None, 'systemd-analyze security rates the unit', r.stdout[-500:] + r.stderr)
    if mexp:
        tap.note(f'systemd-analyze security: exposure {mexp.group(1)}')
        tap.ok(float(mexp.group(1)) <= 2.0, f'exposure {mexp.group(1)} is at most 2.0')

    # enable --now
    r = run(['systemctl', 'enable', '--now', UNIT], timeout=60)
    tap.ok(r.returncode == 0, 'systemctl enable --now filelesslockd', r.stderr)
    s = show('ActiveState', 'SubState', 'StatusText', 'MainPID', 'NRestarts')
    if not tap.ok(s.get('ActiveState') == 'active' and s.get('SubState') == 'running',
                  'the unit is active (running)', s):
        return  # everything below needs it
    tap.ok('allow' in s.get('StatusText', '') and 'tracepoint' in s.get('StatusText', ''),
           f'StatusText names profile and backend: {s.get("StatusText")!r}')
    r = run(['systemctl', 'is-enabled', UNIT])
    tap.ok(r.stdout.strip() == 'enabled', 'systemctl is-enabled says enabled', r.stdout + r.stderr)
    r = run(['systemctl', 'status', '--no-pager', UNIT])
    tap.note('systemctl status filelesslockd:\n' + r.stdout)

    # A memfd exec in a unit of its own: the journal entry comes from our
    # unit and names the exec'ing unit.
    r = run(['systemd-run', '--wait', '--pipe', '--quiet', '--unit=fltest-memfd', IN_FL_EXEC,
             '--name', 'fltest-journal', 'memfd', 'proc-self'], timeout=60)
    tap.ok('result=ran' in r.stdout, 'under allow, a memfd exec runs', r.stdout + r.stderr)
    entry = None
    for _ in range(50):
        r = run(['journalctl', '-t', 'filelesslock', '-o', 'json', f'MESSAGE_ID={MSG_EXEC}',
                 'FILELESS_FILE_NAME=memfd:fltest-journal'])
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        if lines:
            entry = lines[-1]
            break
        time.sleep(0.1)
    tap.ok(entry is not None, 'journalctl -t filelesslock -o json has the entry', r.stderr)
    entry = entry or {}
    tap.ok(entry.get('_SYSTEMD_UNIT') == UNIT, f'_SYSTEMD_UNIT={entry.get("_SYSTEMD_UNIT")}')
    for k, v in {'FILELESS_KIND': 'memfd', 'FILELESS_ACTION': 'allowed', 'FILELESS_PROFILE': 'allow',
                 'FILELESS_BACKEND': 'tracepoint', 'FILELESS_UNIT': 'fltest-memfd.service',
                 'FILELESS_EXEC_PATH': '/proc/self/fd/3'}.items():
        tap.ok(entry.get(k) == v, f'{k}={entry.get(k)!r} (expected {v!r})')
    r = run(['journalctl', '-x', '--no-pager', '-t', 'filelesslock', f'MESSAGE_ID={MSG_EXEC}',
             'FILELESS_FILE_NAME=memfd:fltest-journal'])
    tap.ok('Subject: Fileless execution allowed: memfd:fltest-journal (memfd)' in r.stdout and
           'Defined-By: filelesslock' in r.stdout,
           'journalctl -x explains the entry with the catalog text', r.stdout[-1500:])
    tap.note('journalctl -x for that event:\n' + r.stdout)

    # filelesslockctl over the real bus and journal.
    r = run(['filelesslockctl', 'events', '--json', '-n', '5'])
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    tap.ok(r.returncode == 0 and any(e.get('FileName') == 'memfd:fltest-journal' or
                                     e.get('FILELESS_FILE_NAME') == 'memfd:fltest-journal' for e in evs),
           'filelesslockctl events --json lists the event from the journal', r.stdout + r.stderr)
    r = run(['filelesslockctl', 'status', '--json'])
    try:
        st = json.loads(r.stdout)
    except ValueError:
        st = {}
    tap.ok(st.get('Profile') == 'allow' and st.get('Backend') == 'tracepoint',
           'filelesslockctl status --json reads the running service', r.stdout + r.stderr)

    # busctl set-property as root, then the next exec is stopped.
    r = run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'restricted'])
    tap.ok(r.returncode == 0, 'busctl set-property Profile s restricted as root', r.stderr)
    tap.ok(prop('Profile') == 'restricted', 'busctl get-property reads restricted')
    tap.ok(exec_memfd() == 'killed', 'the next memfd exec is killed')

    # polkit's rules decide for unprivileged users.
    r = run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'allow'], user='fltest-allowed')
    tap.ok(r.returncode == 0 and prop('Profile') == 'allow',
           'a user allowed by a polkit rule sets the profile with busctl', r.stderr)

    def dbus_send_set(user, value):
        return run(['dbus-send', '--system', '--print-reply', f'--dest={NAME}', PATH,
                    'org.freedesktop.DBus.Properties.Set', f'string:{NAME}', 'string:Profile',
                    f'variant:string:{value}'], user=user)

    r = dbus_send_set('fltest-denied', 'restricted')
    tap.ok('org.freedesktop.DBus.Error.AccessDenied' in r.stderr and ACTION in r.stderr,
           'a user the rule refuses gets org.freedesktop.DBus.Error.AccessDenied naming the action', r.stderr)
    tap.ok(prop('Profile') == 'allow', 'the refused write left the profile unchanged')
    r = dbus_send_set('fltest-other', 'restricted')
    tap.ok('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired' in r.stderr,
           'a user polkit would ask for a password, calling without interaction, gets '
           'InteractiveAuthorizationRequired', r.stderr)
    r = run(['filelesslockctl', '--no-ask-password', 'set-profile', 'restricted'], user='fltest-other')
    tap.ok(r.returncode == 4, f'filelesslockctl --no-ask-password set-profile as that user exits 4 ({r.returncode})',
           r.stderr)
    r = run(['filelesslockctl', 'set-profile', 'restricted'], user='fltest-denied')
    tap.ok(r.returncode == 4 and ACTION in r.stderr, 'filelesslockctl set-profile refused by polkit exits 4',
           r.stderr)
    tap.ok(prop('Profile') == 'allow', 'the profile is still allow')
    r = run(['journalctl', '-o', 'json', '-t', 'filelesslock', 'MESSAGE_ID=2a177f4778444548bebf1b418e405416',
             f'FILELESS_CALLER_UID={USERS["fltest-allowed"]}'])
    tap.ok('"FILELESS_OLD_PROFILE":"restricted"' in r.stdout.replace(' ', ''),
           'the change is logged with the caller\'s uid and the old profile', r.stdout[-800:])

    # D-Bus activation.
    r = run(['systemctl', 'stop', UNIT], timeout=60)
    tap.ok(run(['systemctl', 'is-active', UNIT]).stdout.strip() == 'inactive', 'systemctl stop: inactive')
    tap.ok(prop('Profile') == 'allow', 'busctl get-property on the stopped service activates it')
    tap.ok(run(['systemctl', 'is-active', UNIT]).stdout.strip() == 'active', 'the unit is active again')

    # No gap: restricted while a loop of execs runs through a restart and a SIGKILL.
    run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'restricted'])
    tap.ok(prop('Profile') == 'restricted', 'profile restricted for the restart checks')

    def loop_during(action_args, wait_for):
        """Runs fl-exec over and over while ACTION runs; returns (results, ok)."""
        full, env = m.command(f'while [ ! -e /run/fltest-stop ]; do {IN_FL_EXEC} memfd proc-self; done')
        loop = subprocess.Popen(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.3)
        r_ = run(action_args, timeout=60)
        ok = wait_for()
        time.sleep(0.3)
        run(['touch', '/run/fltest-stop'])
        out, _ = loop.communicate(timeout=60)
        run(['rm', '-f', '/run/fltest-stop'])
        return re.findall(r'result=(\w+)', out), r_, ok

    pid0 = show('MainPID')['MainPID']
    res, r, ok = loop_during(['systemctl', 'restart', UNIT],
                             lambda: show('ActiveState')['ActiveState'] == 'active')
    tap.ok(r.returncode == 0 and ok and show('MainPID')['MainPID'] != pid0, 'systemctl restart', r.stderr)
    tap.ok(res and set(res) == {'killed'}, f'every exec during the restart was killed ({len(res)} tries)', res)

    n0 = int(show('NRestarts')['NRestarts'])
    pid0 = show('MainPID')['MainPID']

    def restarted():
        for _ in range(100):
            s_ = show('NRestarts', 'ActiveState', 'MainPID')
            if int(s_['NRestarts']) > n0 and s_['ActiveState'] == 'active' and s_['MainPID'] not in ('0', pid0):
                return True
            time.sleep(0.1)
        return False
    res, r, ok = loop_during(['systemctl', 'kill', '-s', 'KILL', UNIT], restarted)
    tap.ok(r.returncode == 0 and ok, 'after systemctl kill -s KILL, systemd restarts it', show('NRestarts', 'Result'))
    tap.ok(res and set(res) == {'killed'}, f'every exec while it was dead was killed ({len(res)} tries)', res)
    tap.ok(prop('Profile') == 'restricted', 'the restarted daemon reports the profile it kept')

    # The watchdog: a frozen daemon is killed and restarted.
    dropin = '/run/systemd/system/filelesslockd.service.d/50-fltest-watchdog.conf'
    run(['mkdir', '-p', os.path.dirname(dropin)])
    m.write_file(dropin, '[Service]\nWatchdogSec=2s\n')
    run(['systemctl', 'daemon-reload'])
    run(['systemctl', 'restart', UNIT], timeout=60)
    n0 = int(show('NRestarts')['NRestarts'])
    pid0 = show('MainPID')['MainPID']
    run(['kill', '-STOP', pid0])
    ok = False
    for _ in range(150):
        s_ = show('NRestarts', 'ActiveState', 'MainPID')
        if int(s_['NRestarts']) > n0 and s_['ActiveState'] == 'active' and s_['MainPID'] != pid0:
            ok = True
            break
        time.sleep(0.1)
    r = run(['journalctl', '-u', UNIT, '--no-pager', '-o', 'cat'])
    tap.ok(ok and 'Watchdog timeout' in r.stdout, 'a daemon that stops pinging the watchdog is restarted',
           r.stdout[-800:])
    run(['rm', '-f', dropin])
    run(['systemctl', 'daemon-reload'])

    # Reload applies an edited config; a broken one keeps the profile.
    m.write_file('/etc/filelesslock/filelesslockd.conf.d/95-fltest.conf', '[Fileless]\nProfile=baseline\n')
    r = run(['systemctl', 'reload', UNIT], timeout=60)
    tap.ok(r.returncode == 0 and prop('Profile') == 'baseline', 'systemctl reload applies an edited config',
           r.stderr)
    cursor = run(['journalctl', '--show-cursor', '-n0', '-q']).stdout.strip().split('cursor: ')[-1]
    m.write_file('/etc/filelesslock/filelesslockd.conf.d/95-fltest.conf', '[Fileless]\nProfile=restrictd\n')
    r = run(['systemctl', 'reload', UNIT], timeout=60)
    time.sleep(0.5)
    log = run(['journalctl', '-u', UNIT, '--no-pager', '-o', 'cat', f'--after-cursor={cursor}']).stdout
    tap.ok(prop('Profile') == 'baseline' and show('ActiveState')['ActiveState'] == 'active',
           'a broken config on reload keeps the running profile')
    tap.ok('95-fltest.conf:2' in log and 'restrictd' in log, 'and the journal says which line is wrong', log)

    # Stop and disable: nothing stays attached or pinned.
    r = run(['systemctl', 'stop', UNIT], timeout=60)
    tap.ok(run(['test', '-d', PIN]).returncode == 0, 'after systemctl stop the pins remain (enforcement held)')
    r = run(['filelesslockd', '--disable'])
    tap.ok(r.returncode == 0, 'filelesslockd --disable', r.stderr)
    r = run(['ls', '-A', '/sys/fs/bpf'])
    tap.ok(run(['test', '-e', PIN]).returncode != 0, 'no pin is left', r.stdout)
    r = run([IN_FL_EXEC, 'memfd', 'proc-self'])
    tap.ok('result=ran' in r.stdout, 'and a memfd exec runs again: nothing is attached', r.stdout)


if __name__ == '__main__':
    try:
        main()
    finally:
        tap.done()
