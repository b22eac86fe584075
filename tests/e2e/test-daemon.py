#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's life: backend choice, pins that outlive it, restarts that
take them over, reloads, --disable, and every way to start it wrongly.

  test-daemon.py [--expect-backend=lsm|tracepoint] [CASE...]

--expect-backend is a promise the test keeps: vm-lsm-daemon passes lsm, and
the run fails if the kernel does not offer that backend, rather than testing
another one. Without it, the backend is the one this kernel offers. Each
test_* function is a case (all without CASE; --list names them)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

from fltest import (BPFFS, DAEMON, MSG_PROFILE_CHANGED, Daemon, auto_backend, backend_under_test, blocked_action,
                    ensure_bpffs, exec_link, fl_exec, lsm_available, on_exit, run_cases)

BACKEND = backend_under_test()
EXPECTED = None  # --expect-backend


def blocked():
    return blocked_action(BACKEND)


def link_id(pin):
    link = exec_link(pin)
    if not link:
        return None
    p = subprocess.run(['bpftool', '-j', 'link', 'show', 'pinned', link], capture_output=True, text=True)
    return json.loads(p.stdout)['id'] if p.returncode == 0 else None


def link_exists(lid):
    return subprocess.run(['bpftool', 'link', 'show', 'id', str(lid)], capture_output=True).returncode == 0


def setup(tap):
    ensure_bpffs()
    if EXPECTED is not None:
        tap.require(BACKEND == EXPECTED, f'this kernel offers the {EXPECTED} backend the test promises '
                    f'(it offers {BACKEND})')


def test_backend_choice(tap, _):
    d = Daemon(tap)
    auto = auto_backend()
    tap.ok(d.start('--profile=allow', '--backend=auto'), 'starts with --backend=auto')
    status = d.notify_value('STATUS') or ''
    tap.ok(f'backend {auto},' in status, f'auto picks {auto} on this kernel', status)
    tap.ok(f'Using backend {auto}: ' in d.output(), 'the choice and its reason are logged', d.output())
    if auto != 'lsm':
        tap.ok('the BPF LSM is not active' in d.output() or 'cannot read /sys/kernel/security/lsm' in d.output(),
               'the log says why not lsm', d.output())
    if auto == 'tracepoint':
        tap.ok('fmod_ret programs on security_bprm_check() failed to load' in d.output(),
               'and why not fmod_ret', d.output())
    d.stop()


def test_pins_outlive_the_daemon(tap, _):
    d = Daemon(tap)
    tap.ok(d.start('--profile=restricted'), 'starts restricted')
    lid = link_id(d.pin)
    tap.ok(lid is not None, 'the program link is pinned', lid)
    d.stop(signal.SIGKILL)
    r = fl_exec('memfd', 'proc-self', name='while-down')
    tap.ok(r.get('result') == blocked(), f'daemon killed -9: a memfd exec is still {blocked()}', r)

    tap.ok(d.start('--profile=restricted'), 'restarts over the pins')
    tap.ok(link_id(d.pin) == lid, 'the restart reuses the pinned link (no second attach)', (lid, link_id(d.pin)))
    tap.ok('Took over' in d.output_since_start(), 'the takeover is logged', d.output_since_start())
    evs = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:while-down')
    tap.ok(len(evs) == 1 and evs[0].get('FILELESS_ACTION') == blocked(),
           'the event raised while the daemon was down is delivered after the restart', evs)
    d.stop()

    tap.ok(d.start('--profile=allow'), 'restarts over the pins with another profile')
    r = fl_exec('memfd', 'proc-self', name='after-restart')
    tap.ok(r.get('result') == 'ran', 'the configured profile is applied on takeover', r)
    d.stop()

    res = d.disable()
    tap.ok(res.returncode == 0 and not os.path.exists(d.pin), '--disable removes the pins', res)
    tap.ok(not link_exists(lid), 'and the program is detached once nobody holds it', lid)
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == 'ran', 'after --disable a memfd exec runs', r)
    res = d.disable()
    tap.ok(res.returncode == 0 and 'Nothing pinned' in res.stderr, '--disable twice says there is nothing', res)


def test_config_and_reload(tap, _):
    d = Daemon(tap)
    d.write_config('[Fileless]\nProfile=allow\n')
    d.write_config('[Fileless]\nProfile=restricted\n', name='50-strict.conf')
    tap.require(d.start(), 'starts from a config file with a drop-in')
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == blocked(), 'the drop-in overrides the main file', r)

    os.unlink(d.config + '.d/50-strict.conf')
    d.proc.send_signal(signal.SIGHUP)
    tap.ok(d.wait_notify('READY=1'), 'SIGHUP: reloads and notifies READY=1 again')
    tap.ok('RELOADING=1' in d.status, 'SIGHUP: RELOADING=1 was sent first', d.status)
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == 'ran', 'the reloaded profile (allow) is in force', r)
    changed = [e for e in d.entries() if e.get('MESSAGE_ID') == MSG_PROFILE_CHANGED]
    tap.ok(len(changed) == 1 and changed[0].get('FILELESS_OLD_PROFILE') == 'restricted'
           and changed[0].get('FILELESS_PROFILE') == 'allow', 'the profile change is logged with old and new', changed)

    d.write_config('[Fileless]\nProfile=restrictd\n')
    d.proc.send_signal(signal.SIGHUP)
    tap.ok(d.wait_notify('READY=1'), 'SIGHUP with a broken config: still running')
    out = d.output_since_start()
    tap.ok(f'{d.config}:2: invalid Profile="restrictd"' in out and 'Keeping the running profile allow' in out,
           'the broken config is reported as file:line and the old profile kept', out)
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == 'ran', 'and the old profile is still enforced', r)
    d.stop()


def test_command_line_wins(tap, _):
    d = Daemon(tap)
    d.write_config('[Fileless]\nProfile=allow\n')
    tap.ok(d.start('--profile=restricted'), 'starts with --profile over a config file')
    r = fl_exec('memfd', 'proc-self')
    tap.ok(r.get('result') == blocked(), 'the command line wins over the config file', r)
    d.stop()


def bad_start(tap, desc, args=(), config=None, want_rc=None, want_msg=(), user=None, prefix=None, no_pins=True):
    d = Daemon(tap)
    if config is not None:
        d.write_config(config)
    if prefix:
        d.runs += 1
        d.sock, sock_path = d._notify_socket()
        p = subprocess.run(prefix + [DAEMON, f'--pin-path={d.pin}', f'--config={d.config}', *args],
                           capture_output=True, text=True, env=dict(os.environ, NOTIFY_SOCKET=sock_path), timeout=60)
        rc, out = p.returncode, p.stdout + p.stderr
    else:
        d.start(*args, wait_ready=False, user=user)
        rc, out = d.wait_exit(), d.output_since_start()
        d.drain_notify()
    ok = rc == want_rc and all(m in out for m in want_msg)
    tap.ok(ok, f'{desc}: exit {want_rc} with a message naming the problem', f'rc={rc}\n{out}')
    if no_pins:
        tap.ok(exec_link(d.pin) is None, f'{desc}: nothing attached or pinned')
    return d


def test_bad_command_line(tap, _):
    bad_start(tap, 'misspelt --profile', ['--profile=restrictd'], want_rc=2,
              want_msg=['Invalid --profile="restrictd"', 'baseline'])
    bad_start(tap, 'misspelt --backend', ['--backend=ebpf'], want_rc=2, want_msg=['Invalid --backend="ebpf"'])
    bad_start(tap, 'unknown option', ['--frobnicate'], want_rc=2, want_msg=['unrecognized option'])
    bad_start(tap, 'stray argument', ['restricted'], want_rc=2, want_msg=['no positional arguments', '"restricted"'])


def test_bad_config(tap, _):
    bad_start(tap, 'misspelt Profile= in the config', config='[Fileless]\n\nProfile=restrictd\n', want_rc=6,
              want_msg=[':3: invalid Profile="restrictd"'])
    bad_start(tap, 'misspelt key in the config', config='[Fileless]\nProfil=restricted\n', want_rc=6,
              want_msg=[':2: unknown key "Profil"'])
    bad_start(tap, 'wrong section in the config', config='[Filesless]\nProfile=allow\n', want_rc=6,
              want_msg=[':1: unknown section [Filesless]'])
    bad_start(tap, 'line without = in the config', config='[Fileless]\nrestricted\n', want_rc=6,
              want_msg=[':2: expected Key=Value'])
    d = bad_start(tap, 'an invalid config', config='[Fileless]\nBackend=bpf\n', want_rc=6,
                  want_msg=['invalid Backend="bpf"', 'auto, lsm, fmod_ret, tracepoint'])
    status = d.notify_value('STATUS') or ''
    tap.ok('invalid configuration' in status and d.notify_value('ERRNO') == '22',
           'an invalid config is reported to systemd with STATUS= and ERRNO=', d.status)


def test_bad_environment(tap, _):
    bad_start(tap, 'not root', ['--profile=allow'], user='65534', want_rc=4,
              want_msg=['CAP_BPF', 'run it as root', 'NOT enforcing'])
    bad_start(tap, 'pin path outside bpffs', ['--pin-path=/tmp/filelesslock-not-bpffs'], want_rc=1,
              want_msg=['not on a bpf filesystem', 'NOT enforcing'], no_pins=False)
    tap.ok(not os.path.exists('/tmp/filelesslock-not-bpffs'), 'pin path outside bpffs: nothing created there')
    bad_start(tap, 'no kernel BTF', ['--profile=allow'], want_rc=1,
              want_msg=['Kernel BTF is not available', 'CONFIG_DEBUG_INFO_BTF', 'NOT enforcing'],
              prefix=['unshare', '--mount', 'sh', '-c',
                      'mount -t tmpfs tmpfs /sys/kernel/btf && exec "$@"', 'sh'])
    if lsm_available():
        d = Daemon(tap)
        tap.ok(d.start('--backend=lsm', '--profile=allow'), '--backend=lsm starts where the BPF LSM is active')
        d.stop()
    else:
        bad_start(tap, '--backend=lsm without the BPF LSM', ['--backend=lsm', '--profile=allow'], want_rc=1,
                  want_msg=['Backend lsm was requested, but', 'would attach and never run', 'NOT enforcing'])
    if auto_backend() == 'tracepoint':
        bad_start(tap, '--backend=fmod_ret without BPF trampolines', ['--backend=fmod_ret', '--profile=allow'],
                  want_rc=1, want_msg=['The kernel refused the fmod_ret programs', 'BPF trampolines', 'NOT enforcing'])


def remove_pin_dir(path):
    """Removes PATH, and what a daemon that should have refused to pin below
    it pinned there (PATH/pins)."""
    if os.path.isdir(os.path.join(path, 'pins')):
        subprocess.run([DAEMON, '--disable', f'--pin-path={path}/pins'], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def test_pin_directory(tap, _):
    """Security review (issue 9): every existing component of the pin path
    must be root's, writable by nobody else and no symbolic link, or
    anybody who could write there first could remove the pins (and, after a
    restart, run their payload). Refused before anything is attached, with
    exit 1, "NOT enforcing", and the path and what is wrong with it."""
    uid = 65534
    owned = f'{BPFFS}/fltest-owned-{os.getpid()}'
    os.mkdir(owned, 0o700)
    on_exit(lambda: remove_pin_dir(owned))
    os.chown(owned, uid, uid)
    bad_start(tap, f'a pin path component owned by uid {uid}', [f'--pin-path={owned}/pins', '--profile=allow'],
              want_rc=1, want_msg=[f'{owned} is owned by uid {uid}', 'NOT enforcing'], no_pins=False)
    tap.ok(os.listdir(owned) == [], f'{owned}: nothing created or pinned below it', os.listdir(owned))

    real = f'{BPFFS}/fltest-real-{os.getpid()}'
    link = f'{BPFFS}/fltest-symlink-{os.getpid()}'
    os.mkdir(real, 0o700)
    on_exit(lambda: remove_pin_dir(real))
    os.symlink(real, link)
    on_exit(lambda: os.unlink(link))
    bad_start(tap, 'a pin path component that is a symbolic link', [f'--pin-path={link}/pins', '--profile=allow'],
              want_rc=1, want_msg=[f'{link} is a symbolic link', 'NOT enforcing'], no_pins=False)
    tap.ok(os.listdir(real) == [], 'nothing created or pinned below the link', os.listdir(real))

    # A bpffs mounted by hand, without mode=: 1777, like /tmp. A private one,
    # in a mount namespace of its own, so the host's stays as it is.
    bad_start(tap, 'a bpffs mounted without mode= (1777)', [f'--pin-path={BPFFS}/fltest-1777/pins', '--profile=allow'],
              want_rc=1, want_msg=[f'{BPFFS} is writable by everyone (mode 1777)', '-o mode=700', 'NOT enforcing'],
              prefix=['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                      f'mount -t bpf bpf {BPFFS} && exec "$@"', 'sh'], no_pins=False)


def test_tracepoint_comm(tap, _):
    """Security review (issue 9): FILELESS_COMM is the name the task had
    before the exec on every backend ("fl-exec" here). The tracepoint runs
    after the exec renamed the task, so it also reports the new image's name
    (for /proc/self/fd/N: "N") as FILELESS_EXEC_COMM; the lsm backend judges
    the exec before the rename and has no such field."""
    d = Daemon(tap)
    tap.require(d.start('--profile=allow'), 'starts with profile allow')
    for via in ('proc-self', 'dev-fd'):
        r = fl_exec('memfd', via, name=f'comm-{via}')
        evs = d.wait_event(lambda e: e.get('FILELESS_INODE') == r.get('ino'))
        tap.require(len(evs) == 1, f'{via}: one event for the exec', (r, evs))
        e = evs[0]
        tap.ok(e.get('FILELESS_COMM') == 'fl-exec', f'{via}: FILELESS_COMM is the name before the exec, "fl-exec"',
               e.get('FILELESS_COMM'))
        if BACKEND == 'tracepoint':
            # exec names the task after the last component of the path it
            # ran: /proc/self/fd/N or /dev/fd/N gives "N".
            path = e.get('FILELESS_EXEC_PATH', '')
            tap.ok(path == r['path'] and re.fullmatch(r'\d+', os.path.basename(path)) is not None
                   and e.get('FILELESS_EXEC_COMM') == os.path.basename(path),
                   f'{via}: FILELESS_EXEC_COMM is the new image\'s name, the last component of {r["path"]}',
                   (path, e.get('FILELESS_EXEC_COMM'), r.get('path')))
        else:
            tap.ok('FILELESS_EXEC_COMM' not in e, f'{via}: no FILELESS_EXEC_COMM where the exec is judged before '
                   'it renames the task', e)
    d.stop()


def test_message_attribution_first(tap, _):
    """Security review (issue 9): the memfd name is the caller's choice, so
    MESSAGE names the real pid and uid first and quotes the name: a name
    such as "x by pid 1 (systemd), uid 0" cannot make the line read as if
    another process did it. Run by uid 65534, so that no part of the
    name can pass for its uid."""
    uid = 65534
    d = Daemon(tap)
    tap.require(d.start('--profile=allow'), 'starts with profile allow')
    name = 'x by pid 1 (systemd), uid 0'
    r = fl_exec('memfd', 'proc-self', name=name,
                prefix=('setpriv', f'--reuid={uid}', f'--regid={uid}', '--clear-groups'))
    evs = d.wait_event(lambda e: e.get('FILELESS_INODE') == r.get('ino'))
    tap.require(len(evs) == 1, 'one event for the exec', (r, evs))
    msg = re.sub(r'\\(["\\])', r'\1', evs[0].get('MESSAGE', ''))  # the stderr line escapes quotes
    pid = r['child']
    m = re.match(r'^\w+(?: \(.*?\))? fileless execution by pid (\d+) \((.*?)\), uid (\d+): ', msg)
    tap.ok(m is not None and m.group(1) == pid and m.group(3) == str(uid),
           f'MESSAGE starts with the verb, then the real pid {pid} and uid {uid}', msg)
    tap.ok(m is not None and '"fl-exec"' in m.group(2), 'and the comm, quoted, in the attribution', msg)
    quoted = f'"memfd:{name}"'
    tap.ok(msg.count(quoted) == 1 and name not in msg.replace(quoted, ''),
           'the memfd name appears once, only inside quotes', msg)
    tap.ok('pid 1 (' not in msg.replace(quoted, ''), 'outside the quotes nothing reads "pid 1 (systemd)"', msg)
    d.stop()


if __name__ == '__main__':
    argv = []
    for a in sys.argv[1:]:
        if a.startswith('--expect-backend='):
            EXPECTED = a.split('=', 1)[1]
            if EXPECTED not in ('lsm', 'fmod_ret', 'tracepoint'):
                sys.exit(f'{sys.argv[0]}: --expect-backend must be lsm, fmod_ret or tracepoint')
        else:
            argv.append(a)
    run_cases('daemon', globals(), argv=argv, setup=setup)
