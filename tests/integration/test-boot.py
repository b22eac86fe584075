#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test of sysns.py: a real systemd boots in throwaway namespaces with
the system bus, journald and polkitd, runs commands as root and as test
users, and leaves nothing behind on the host (processes, mounts, cgroups,
files), also when the test process is terminated or killed."""

import os
import select
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (tests/e2e is not ours)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))
import sysns  # noqa: E402
from fltest import TAP, on_exit  # noqa: E402

RULES = '/etc/polkit-1/rules.d/50-sysns-test.rules'
RULES_TEXT = textwrap.dedent('''\
    // sysns test: fltest-allowed may manage units, nobody else
    polkit.addRule(function(action, subject) {
        if (action.id == "org.freedesktop.systemd1.manage-units" &&
            subject.user == "fltest-allowed")
            return polkit.Result.YES;
    });
    ''')
UNIT = textwrap.dedent('''\
    [Unit]
    Description=sysns test unit from the DESTDIR

    [Service]
    Type=oneshot
    RemainAfterExit=yes
    ExecStart=/bin/echo sysns-dest-unit-ran
    ''')
OVERRIDE = textwrap.dedent('''\
    [Service]
    Environment=SYSNS_FROM_UNITS_DIR=yes
    ''')


def host_mounts():
    with open('/proc/self/mounts') as f:
        return f.read()


def ns_inode(pid, ns):
    try:
        return os.readlink(f'/proc/{pid}/ns/{ns}')
    except OSError:
        return None


def ticks():
    """Now, in the unit of /proc/PID/stat's starttime."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf('SC_CLK_TCK'))


def proc_desc(pid):
    try:
        with open(f'/proc/{pid}/comm') as f:
            comm = f.read().strip()
        with open(f'/proc/{pid}/cgroup') as f:
            cg = [l.split(':', 2)[2] for l in f.read().splitlines() if l.startswith('0::')]
        return f'{pid} {comm} {cg}'
    except OSError:
        return f'{pid} (gone)'


def procs_in_ns(ns, ident, started_before):
    """Host pids whose namespace NS is IDENT (e.g. 'pid:[4026532...]') and
    that started before STARTED_BEFORE (ticks). Namespace inode numbers are
    reused at once: a namespace made after ours died (by a parallel test)
    may get its number, but not a process that started while ours lived."""
    found = []
    for p in os.listdir('/proc'):
        if not p.isdigit() or ns_inode(p, ns) != ident:
            continue
        fields = sysns.proc_stat(p)
        if fields and int(fields[19]) <= started_before:
            found.append(int(p))
    return found


def exited(pidfd):
    r, _, _ = select.select([pidfd], [], [], 0)
    return bool(r)


def leftovers(info):
    """What a machine left on the host; INFO from snapshot() while it ran
    (with 'until': the ticks just before it was shut down or killed)."""
    left = []
    if not exited(info['pidfd']):
        left.append(f'PID 1 ({info["pid1"]}) still runs')
    for ns in ('pid', 'mnt'):
        pids = procs_in_ns(ns, info[ns], info['until'])
        if pids:
            left.append(f'processes in its {ns} namespace: ' + ', '.join(map(proc_desc, pids)))
    mounts = [l for l in host_mounts().splitlines() if info['work'] in l or 'sysns-' in l]
    if mounts:
        left.append(f'host mounts: {mounts}')
    # rmdir of a cgroup fails while a process is in it: gone means empty.
    if os.path.exists(info['cgroup']):
        left.append(f'cgroup {info["cgroup"]} exists, with {sysns._cg_procs(info["cgroup"])}')
    if os.path.exists(info['work']):
        left.append(f'scratch directory {info["work"]} exists')
    return left


def snapshot(pid1, cgroup, work):
    info = {'pid1': pid1, 'pidfd': os.pidfd_open(pid1), 'pid': ns_inode(pid1, 'pid'),
            'mnt': ns_inode(pid1, 'mnt'), 'cgroup': cgroup, 'work': work}
    on_exit(lambda: os.close(info['pidfd']))
    return info


CHILD = textwrap.dedent('''\
    import sys, time
    sys.path.insert(0, %r)
    import sysns
    m = sysns.Machine()
    m.boot(timeout=60)
    print(m.pid1, m.cgroup, m.work, flush=True)
    time.sleep(120)
    ''') % HERE


def child_machine(tap, sig):
    """Boots a machine in a child python, sends it SIG; returns the info of
    the machine (or None if it did not boot)."""
    p = subprocess.Popen(['/usr/bin/python3', '-c', CHILD], stdout=subprocess.PIPE, text=True)
    on_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    line = p.stdout.readline().split()
    if len(line) != 3:
        p.kill()
        p.wait()
        return None
    info = snapshot(int(line[0]), line[1], line[2])
    info['until'] = ticks()
    p.send_signal(sig)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return info


def wait_gone(info, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        left = leftovers(info)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def main():
    tap = TAP('integration/boot')
    mounts_before = host_mounts()
    host_name = os.uname().nodename

    dest = tempfile.mkdtemp(prefix='sysns-test-dest-')
    on_exit(lambda: subprocess.run(['rm', '-rf', dest]))
    units = tempfile.mkdtemp(prefix='sysns-test-units-')
    on_exit(lambda: subprocess.run(['rm', '-rf', units]))
    # Installed under /lib (a symlink to usr/lib here): must land in the
    # machine's /usr/lib without replacing the symlink.
    os.makedirs(os.path.join(dest, 'lib/systemd/system'))
    with open(os.path.join(dest, 'lib/systemd/system/sysns-dest.service'), 'w') as f:
        f.write(UNIT)
    os.makedirs(os.path.join(units, 'sysns-dest.service.d'))
    with open(os.path.join(units, 'sysns-dest.service.d/override.conf'), 'w') as f:
        f.write(OVERRIDE)

    devnull = os.stat('/dev/null')
    m = sysns.Machine(destdir=dest, units_dir=units, mask=['sysns-masked.service'],
                      extra_files={RULES: RULES_TEXT, '/etc/systemd/system/sysns-masked.service': UNIT})
    on_exit(m.shutdown)
    tap.diag_on_failure.append(m.diagnostics)
    m.add_user('fltest-allowed', 4711)
    m.add_user('fltest-denied', 4712, groups=['users'])

    try:
        state = m.boot(timeout=60)
    except sysns.BootError as e:
        tap.ok(False, 'systemd boots to running', e)
        tap.done()
    tap.note(f'boot took {m.boot_time:.2f} s')
    tap.ok(state == 'running', 'systemd boots to running', state)
    info = snapshot(m.pid1, m.cgroup, m.work)
    tap.ok(info['pid'] != ns_inode('self', 'pid') and info['mnt'] != ns_inode('self', 'mnt'),
           'PID 1 is in its own pid and mount namespaces')

    r = m.run(['systemctl', 'is-system-running'])
    tap.ok(r.stdout.strip() == 'running', 'systemctl is-system-running says running', r.stdout + r.stderr)

    r = m.run(['cat', '/proc/1/comm'])
    tap.ok(r.stdout.strip() == 'systemd', 'commands run in the machine (its /proc/1 is systemd)', r)
    r = m.run(['hostname'])
    tap.ok(r.stdout.strip() == 'flns', 'hostname is flns', r.stdout)
    tap.ok(os.uname().nodename == host_name, 'the host keeps its hostname', os.uname().nodename)

    r = m.run(['busctl', 'status'])
    tap.ok(r.returncode == 0 and 'BusScope=system' in r.stdout, 'busctl status: the system bus is up',
           r.stdout[-500:] + r.stderr)

    r = m.run(['busctl', 'call', 'org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
               'org.freedesktop.DBus.Properties', 'Get', 'ss', 'org.freedesktop.PolicyKit1.Authority',
               'BackendName'])
    tap.ok(r.returncode == 0 and r.stdout.startswith('v s '), 'polkitd is activated on the bus and answers',
           r.stdout + r.stderr)
    r = m.run(['systemctl', 'is-active', 'polkit.service'])
    tap.ok(r.stdout.strip() == 'active', 'polkit.service is active', r.stdout + r.stderr)

    r = m.run(['journalctl', '-n1', '--no-pager'])
    tap.ok(r.returncode == 0 and r.stdout.strip() != '', 'journalctl -n1 works', r.stdout + r.stderr)
    m.run(['logger', '-t', 'sysns-test', 'hello from the test'])
    r = m.wait_for(['sh', '-c', 'journalctl -t sysns-test --no-pager -o cat | grep -qx "hello from the test"'])
    tap.ok(r.returncode == 0, 'a syslog message reaches the journal', r.stdout + r.stderr)

    r = m.run(['id', 'fltest-allowed'])
    tap.ok(r.returncode == 0 and 'uid=4711(fltest-allowed)' in r.stdout, 'user fltest-allowed exists inside',
           r.stdout + r.stderr)
    r = m.run(['id', '-nG', 'fltest-denied'])
    tap.ok(r.stdout.split() == ['fltest-denied', 'users'], 'fltest-denied has its supplementary group',
           r.stdout + r.stderr)
    r = m.run(['id', '-u', 'polkitd'])
    tap.ok(r.returncode == 0, 'the polkitd user exists', r.stdout + r.stderr)
    with open('/etc/passwd') as f:
        tap.ok('fltest-' not in f.read(), "the host's /etc/passwd is untouched")

    r = m.run(['sh', '-c', 'id -u; id -g; echo $HOME $USER'], user='fltest-allowed')
    tap.ok(r.stdout.split() == ['4711', '4711', '/nonexistent', 'fltest-allowed'],
           'run(user=) runs as the user', r.stdout + r.stderr)
    r = m.run(['cat', '/etc/shadow'], user='fltest-allowed')
    tap.ok(r.returncode != 0, 'and without root privileges', r.stdout + r.stderr)

    tap.ok(m.read_file(RULES) == RULES_TEXT, 'the rules.d file from extra_files is in the machine')
    tap.ok(not os.path.exists(RULES), '... and not on the host')
    results = {}
    for user in ('fltest-allowed', 'fltest-denied'):
        results[user] = m.run(['sh', '-c', 'pkcheck --action-id org.freedesktop.systemd1.manage-units --process $$'],
                              user=user)
    tap.ok(results['fltest-allowed'].returncode == 0, 'polkit applies the rule: fltest-allowed is authorized',
           results['fltest-allowed'])
    tap.ok(results['fltest-denied'].returncode in (1, 2), 'fltest-denied is not (needs authentication)',
           results['fltest-denied'])

    tap.ok(os.path.islink(m.path('/lib')) and os.path.exists(m.path('/usr/lib/systemd/system/sysns-dest.service')),
           'DESTDIR files under lib/ land in /usr/lib, /lib stays a symlink')
    r = m.run(['systemctl', 'start', 'sysns-dest.service'])
    tap.ok(r.returncode == 0, 'a unit from the DESTDIR starts', r.stdout + r.stderr)
    r = m.run(['systemctl', 'show', '-P', 'Environment', 'sysns-dest.service'])
    tap.ok('SYSNS_FROM_UNITS_DIR=yes' in r.stdout, 'a drop-in from units_dir applies', r.stdout + r.stderr)
    out = m.journal(unit='sysns-dest.service')
    tap.ok('sysns-dest-unit-ran' in out, 'its output is in the journal', out[-500:])

    r = m.run(['systemctl', 'is-enabled', 'postgresql.service', 'modprobe@loop.service', 'getty.target'])
    tap.ok(r.stdout.split() == ['masked'] * 3, 'host services and host-kernel units are masked', r.stdout)
    r = m.run(['systemctl', 'show', '-P', 'LoadState', 'sysns-masked.service'])
    tap.ok(r.stdout.strip() == 'loaded', 'an extra file replaces a mask', r.stdout + r.stderr)
    m.write_file('/etc/systemd/system/postgresql.service', UNIT, 0o600)
    r = m.run(['stat', '-c', '%F %a', '/etc/systemd/system/postgresql.service'])
    tap.ok(r.stdout.strip() == 'regular file 600', 'write_file() replaces a mask symlink', r.stdout + r.stderr)
    m.add_user('fltest-late', 4713)
    r = m.run(['id', '-u'], user='fltest-late')
    tap.ok(r.stdout.strip() == '4713', 'add_user() after boot works too', r.stdout + r.stderr)
    r = m.run(['stat', '-c', '%a %U %G', '/etc/passwd', '/etc/shadow'])
    tap.ok(r.stdout.split('\n')[:2] == ['644 root root', '640 root shadow'], '... and keeps the files\' modes',
           r.stdout)
    with open('/etc/passwd') as f:
        tap.ok('fltest-late' not in f.read(), "... in the machine only")
    st = os.stat('/dev/null')
    tap.ok((st.st_mode, st.st_rdev) == (devnull.st_mode, devnull.st_rdev), "the host's /dev/null is intact",
           oct(st.st_mode))

    try:
        m.run(['sleep', '30'], timeout=0.5)
        tap.ok(False, 'run() times out')
    except subprocess.TimeoutExpired:
        r = m.run(['ps', '-eo', 'pid,ppid,stat,comm'])
        tap.ok(' sleep' not in r.stdout, 'run() timeout kills the command inside (no zombie either)', r.stdout)

    tap.diag_on_failure.remove(m.diagnostics)
    info['until'] = ticks()
    clean = m.shutdown()
    console = m.console_output()
    tap.ok(clean, 'systemd powers off on SIGRTMIN+4', console[-2000:])
    tap.ok('Reached target' in console and 'Powering off' in console, 'the console log has the boot and the power-off',
           console[-1000:])
    left = wait_gone(info)
    tap.ok(not left, 'nothing left on the host after shutdown', '\n'.join(left))
    tap.ok(host_mounts() == mounts_before or not [l for l in host_mounts().splitlines()
                                                   if l not in mounts_before.splitlines()],
           'no new mount on the host')
    tap.ok(m.shutdown() == clean, 'shutdown() is idempotent')

    info = child_machine(tap, signal.SIGTERM)
    if info is None:
        tap.ok(False, 'a test process terminated by SIGTERM shuts its machine down')
    else:
        left = wait_gone(info)
        tap.ok(not left, 'a test process terminated by SIGTERM shuts its machine down', '\n'.join(left))

    info = child_machine(tap, signal.SIGKILL)
    if info is None:
        tap.ok(False, 'a killed test process takes its machine with it')
    else:
        t0 = time.monotonic()
        while True:
            left = [l for l in leftovers(info) if not l.startswith(('cgroup', 'scratch'))]
            if not left or time.monotonic() > t0 + 20:
                break
            time.sleep(0.1)
        tap.ok(not left and not sysns._cg_populated(info['cgroup']),
               'a killed test process takes its machine with it (PDEATHSIG)',
               '\n'.join(left + [f'in its cgroup: {sysns._cg_procs(info["cgroup"])}']))
        tap.note(f'its machine was gone {time.monotonic() - t0:.2f} s after the kill')
        sysns.sweep_stale()
        tap.ok(not os.path.exists(info['cgroup']) and not os.path.exists(info['work']),
               'the next boot removes its stale cgroup and scratch directory')

    tap.done()


if __name__ == '__main__':
    main()
