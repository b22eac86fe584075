#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Posture property and filelesslockctl posture under the shipped unit
(ProcSubset=pid, ProtectProc=invisible, its own mount namespace), in a
machine with a real systemd as PID 1 (test-service.py's Machine). Each item
is changed in the machine and must follow: vm.memfd_noexec raised in the
machine's pid namespace, noexec and exec tmpfs mounted on /tmp, /dev/shm and
below /run/user (a user's runtime directory mounted by systemd's own
user-runtime-dir@.service, as at a login), TracepointMappings= on and off, scopes and
trusted executables set and cleared.

Each test_* function is a case with a machine of its own: test-posture.py
[CASE...]. tests/meson.build registers each as integration-posture-CASE."""

import importlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

from fltest import MSG_STARTED, run_cases  # noqa: E402

service = importlib.import_module('test-service')
NAME, PATH, UNIT, USERS = service.NAME, service.PATH, service.UNIT, service.USERS


def posture(f):
    r = f.run(['busctl', '--json=short', 'get-property', NAME, PATH, NAME, 'Posture'])
    return dict(json.loads(r.stdout)['data']) if r.returncode == 0 else {'error': r.stderr}


def restart(tap, f, dropin=None, content=None):
    if dropin:
        f.m.write_file(f'/etc/filelesslock/filelesslockd.conf.d/{dropin}', content)
    r = f.run(['systemctl', 'restart', UNIT], timeout=60)
    tap.require(r.returncode == 0, f'precondition: systemctl restart {UNIT}', r.stderr)


def test_memfd_noexec(tap, f):
    """vm.memfd_noexec as the daemon's pid namespace has it, found although
    the unit's ProcSubset=pid hides /proc/sys from the daemon."""
    f.start(tap)
    tap.ok(f.show('ProcSubset').get('ProcSubset') == 'pid', 'the unit runs the daemon with ProcSubset=pid')
    pid = f.show('MainPID')['MainPID']
    r = f.run(['nsenter', '-t', pid, '-m', 'test', '-e', '/proc/sys'])
    tap.ok(r.returncode == 1, 'and /proc/sys does not exist in its mount namespace')

    def check(what):
        want = f.run(['cat', '/proc/sys/vm/memfd_noexec']).stdout.strip()
        got = posture(f).get('vm.memfd_noexec', '')
        tap.ok(want and got.startswith(want + ' (') and 'probed with memfd_create()' in got and
               'ProcSubset=pid' in got, f'{what}: vm.memfd_noexec {want}, probed, and the report says why', got)
        return want, got

    value, _ = check('as the machine has it')
    # The setting is per pid namespace and can only be raised there: raise
    # the machine's (writing the host's /proc/sys from a process in the
    # machine's pid namespace), never the host's.
    for v in ('1', '2'):
        if int(v) <= int(value):
            tap.note(f'vm.memfd_noexec is {value} already: {v} not set')
            continue
        r = subprocess.run(['nsenter', '-t', str(f.m.pid1), '-p', '--', 'sh', '-c',
                            f'echo {v} >/proc/sys/vm/memfd_noexec'], capture_output=True, text=True)
        tap.require(r.returncode == 0, f'precondition: vm.memfd_noexec={v} in the machine\'s pid namespace', r.stderr)
        _, got = check(f'raised to {v}')
        if v == '2':
            tap.ok('MFD_EXEC is refused' in got, 'and says what 2 means', got)
    with open('/proc/sys/vm/memfd_noexec') as fh:
        tap.ok(fh.read().strip() == value, f'the host\'s own vm.memfd_noexec is still {value}')


def test_mounts(tap, f):
    """/tmp, /dev/shm and each /run/user/UID: the mount that holds it in
    PID 1's mount namespace, noexec or not."""
    f.start(tap)

    def expect(desc, want):
        got = {k: v for k, v in posture(f).items() if k.startswith('/')}
        tap.ok(got == want, desc, {'got': got, 'want': want})

    base = {'/dev/shm': 'exec (tmpfs mounted there)', '/tmp': 'exec (tmpfs mounted there)',
            '/run/user/*': 'none (nothing is mounted below /run/user)'}
    expect('as the machine boots: exec tmpfs on /dev/shm and /tmp, nothing below /run/user', base)
    f.run(['mount', '-t', 'tmpfs', '-o', 'noexec,nosuid,nodev', 'fltest-tmp', '/tmp'], check=True)
    expect('a noexec tmpfs mounted over /tmp: noexec', {**base, '/tmp': 'noexec (tmpfs mounted there)'})
    f.run(['umount', '/tmp'], check=True)
    f.run(['umount', '/tmp'], check=True)
    expect('both /tmp mounts gone: exec, on the root\'s overlay',
           {**base, '/tmp': 'exec (no mount of its own: on /, overlay)'})
    f.run(['mount', '-o', 'remount,noexec', '/dev/shm'], check=True)
    expect('/dev/shm remounted noexec: noexec', {**base, '/dev/shm': 'noexec (tmpfs mounted there)',
                                                  '/tmp': 'exec (no mount of its own: on /, overlay)'})
    f.run(['mount', '-o', 'remount,exec', '/dev/shm'], check=True)
    f.run(['mount', '-t', 'tmpfs', '-o', 'nosuid,nodev', 'fltest-tmp', '/tmp'], check=True)

    uid, uid2 = USERS['fltest-allowed'], USERS['fltest-denied']
    # What logind starts at a login: the user's manager, which pulls in
    # user-runtime-dir@UID (it stops again at once when started alone).
    r = f.run(['systemctl', 'start', f'user@{uid}.service'], timeout=60)
    tap.require(r.returncode == 0, f'precondition: user@{uid}.service, whose user-runtime-dir@{uid} mounts '
                f'/run/user/{uid}', r.stderr)
    base = {'/dev/shm': 'exec (tmpfs mounted there)', '/tmp': 'exec (tmpfs mounted there)'}
    expect('a user\'s runtime directory as systemd mounts it: exec',
           {**base, f'/run/user/{uid}': 'exec (tmpfs mounted there)'})
    f.run(['sh', '-c', f'mkdir -p /run/user/{uid2} && mount -t tmpfs -o noexec fltest-user /run/user/{uid2}'],
          check=True)
    f.run(['mount', '-o', 'remount,bind,noexec', f'/run/user/{uid}'], check=True)
    f.run(['mkdir', '-p', f'/run/user/{uid2}/sub'], check=True)
    f.run(['mount', '-t', 'tmpfs', 'fltest-sub', f'/run/user/{uid2}/sub'], check=True)
    expect('each user\'s mount on its own, noexec or not, the mounts deeper down not counted',
           {**base, f'/run/user/{uid}': 'noexec (tmpfs mounted there)',
            f'/run/user/{uid2}': 'noexec (tmpfs mounted there)'})


def test_kernel_and_backend(tap, f):
    """The BPF LSM as the kernel lists it; the backend, why, what it cannot
    see (following TracepointMappings=) and how it blocks."""
    f.start(tap)
    p = posture(f)
    lsm = f.run(['cat', '/sys/kernel/security/lsm']).stdout.strip()
    state = 'active' if 'bpf' in lsm.split(',') else 'not active'
    tap.ok(lsm and p.get('BPF LSM', '').startswith(f'{state} (lsm={lsm}'), f'BPF LSM: {state}, with the lsm= list',
           (lsm, p.get('BPF LSM')))
    backend = f.prop('Backend')
    tap.ok(p.get('backend') == backend, f'backend: {backend}, as the Backend property says', p)
    if backend == 'tracepoint':
        tap.ok('fmod_ret' in p.get('backend chosen', '') and 'lsm' in p.get('BPF LSM', '') and
               (state == 'not active' or 'not used by the backend in force' in p['BPF LSM']),
               'why: the refusals of lsm and fmod_ret, and an active BPF LSM said to be unused', p)
        tap.ok(p.get('blocking', '').startswith('SIGKILL after the exec\'s point of no return'),
               'blocking: SIGKILL after the point of no return', p.get('blocking'))
    else:
        tap.ok(p.get('blocking', '').startswith('EPERM'), 'blocking: EPERM', p.get('blocking'))
    kernel = tuple(int(x) for x in os.uname().release.split('.')[:2])

    def unseen():
        r = f.run(['journalctl', '-o', 'json', '-u', UNIT, f'MESSAGE_ID={MSG_STARTED}'])
        starts = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        return starts[-1].get('FILELESS_UNSEEN') if starts else None

    got = posture(f).get('backend cannot see', '')
    if backend == 'tracepoint':
        tap.ok(got.startswith('executable mappings made by system calls') and unseen().startswith('mappings'),
               'TracepointMappings=no: executable mappings are unseen, as the start entry says', (got, unseen()))
        restart(tap, f, '60-fltest-mappings.conf', '[Fileless]\nTracepointMappings=yes\n')
        got = posture(f).get('backend cannot see', '')
        if kernel >= (6, 10):
            tap.ok(got.startswith('none (') and unseen() == 'none',
                   'TracepointMappings=yes on Linux 6.10 or later: nothing unseen, as the start entry says', got)
        else:
            tap.ok(got.startswith('the program that did an exec') and unseen() == 'exec-program',
                   'TracepointMappings=yes before Linux 6.10: the exec\'s program unseen', got)
    else:
        tap.ok(got.startswith('none (') and unseen() == 'none', 'lsm and fmod_ret see everything', got)


def test_trust_and_scopes(tap, f):
    """The trusted executables as resolved, and the unit scopes in force."""
    f.start(tap)
    p = posture(f)
    runc = f.run(['stat', '-L', '-c', '%i', '/usr/sbin/runc'])
    want = f'/usr/sbin/runc (inode {runc.stdout.strip()})' if runc.returncode == 0 else \
        '/usr/sbin/runc (missing: trusted once it appears)'
    crun = f.run(['test', '-e', '/usr/bin/crun']).returncode == 0
    got = p.get('trusted executables', '')
    tap.ok(got.startswith(want + ', /usr/bin/crun (') and crun != ('/usr/bin/crun (missing' in got),
           'the shipped TrustedExecutable= paths, each with its inode or missing', (want, got))
    tap.ok(p.get('unit scopes') == 'none (the machine-wide profile allow applies everywhere)', 'no unit scope',
           p.get('unit scopes'))
    for unit, profile in (('fltest-posture.service', 'restricted'), ('user.slice', 'baseline')):
        r = f.run(['filelesslockctl', '--no-ask-password', f'--unit={unit}', 'set-profile', profile])
        tap.require(r.returncode == 0, f'precondition: scope {unit} {profile}', r.stderr)
    got = posture(f).get('unit scopes')
    tap.ok(got == '2 (fltest-posture.service restricted, user.slice baseline; elsewhere the machine-wide profile '
           'allow)', 'two scopes, each with its profile', got)
    f.m.write_file('/etc/filelesslock/filelesslockd.conf.d/60-fltest-trust.conf', '[Fileless]\nTrustedExecutable=\n')
    r = f.run(['systemctl', 'reload', UNIT], timeout=60)
    got = posture(f).get('trusted executables')
    tap.ok(r.returncode == 0 and got == 'none', 'an empty TrustedExecutable= and a reload: none', got)


def test_filelesslockctl(tap, f):
    """filelesslockctl posture, for a human and as JSON, for any user."""
    f.start(tap)
    p = posture(f)
    r = f.run(['filelesslockctl', 'posture', '--json'])
    try:
        got = json.loads(r.stdout)
    except ValueError:
        got = None
    tap.ok(r.returncode == 0 and got == p and len(p) >= 11, 'posture --json: the property as one object', r.stdout)
    r = f.run(['filelesslockctl', 'posture'], user='fltest-other')
    lines = {l.split(': ', 1)[0].strip(): l.split(': ', 1)[1] for l in r.stdout.splitlines() if ': ' in l}
    tap.ok(r.returncode == 0 and lines == p, 'posture for a human, one "item: value" line each, as any user',
           r.stdout + r.stderr)
    tap.note('filelesslockctl posture in the machine:\n' + r.stdout)
    r = f.run(['filelesslockctl', 'status'])
    tap.ok(r.returncode == 0 and 'Posture: backend: ' in r.stdout and 'vm.memfd_noexec: ' in r.stdout,
           'status shows the posture too', r.stdout)


if __name__ == '__main__':
    run_cases('integration-posture', globals(), setup=service.Machine)
