#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sealed mode (issue 16): every attack of tamper-resistance.md's list,
first unsealed (each one works: the control), then sealed under restricted
(each one is refused, logged once with its fields, and a memfd exec right
after it is still stopped).

  test-seal.py attacks   the lsm and fmod_ret backends (qemu guests): the
                         guard denies. Sealing cannot be undone before
                         reboot, so this case runs once per guest boot.
  test-seal.py evident   the tracepoint backend (this host): nothing can
                         deny; the maps are frozen, loosening is refused,
                         and what can be seen is logged.
  test-seal.py dbus      Seal() and loosening over D-Bus (private bus)."""

import ctypes
import errno
import json
import os
import signal
import struct
import subprocess
import sys
import time

from fltest import (BPFFS, DAEMON, Daemon, MESSAGE_IDS, backend_under_test, blocked_action, ensure_bpffs, fl_exec,
                    on_exit, run_cases)

MSG_TAMPER = MESSAGE_IDS['TAMPER']
MSG_SEALED = MESSAGE_IDS['SEALED']
BLOCKED = blocked_action()

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_bpf = 321  # x86_64
BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET = 1, 2, 7
BPF_OBJ_GET_INFO_BY_FD = 15


def map_value_size(fd):
    """The value size of map FD, from the kernel (struct bpf_map_info:
    type, id, key_size, value_size, ...), so that a buffer always fits."""
    info = ctypes.create_string_buffer(80)
    r = bpf(BPF_OBJ_GET_INFO_BY_FD, struct.pack('IIQ', fd, len(info), ctypes.addressof(info)))
    return struct.unpack_from('I', info, 12)[0] if r >= 0 else r


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_bpf, cmd, buf, 128)
    return r if r >= 0 else -ctypes.get_errno()


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    return bpf(BPF_OBJ_GET, struct.pack('QII', ctypes.addressof(p), 0, 0))


def config_write_profile(fd, profile):
    """Writes PROFILE into the config map through FD: 0 or -errno."""
    size = map_value_size(fd)
    if size < 0:
        return size
    key = ctypes.create_string_buffer(4)
    value = ctypes.create_string_buffer(size)
    r = bpf(BPF_MAP_LOOKUP_ELEM, struct.pack('IIQQQ', fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0))
    if r < 0:
        return r
    struct.pack_into('I', value, 4, profile)
    return bpf(BPF_MAP_UPDATE_ELEM, struct.pack('IIQQQ', fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0))


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def bpftool_id(kind, path):
    p = run('bpftool', '-j', kind, 'show', 'pinned', path)
    return json.loads(p.stdout)['id'] if p.returncode == 0 else None


def still_stopped(tap, what):
    r = fl_exec('memfd', 'proc-self', name='after-attack')
    tap.ok(r.get('result') == BLOCKED, f'{what}: a memfd exec right after it is still {BLOCKED}', r)


def tampers(d, op, after):
    return [e for e in d.entries()[after:] if e.get('MESSAGE_ID') == MSG_TAMPER and e.get('TAMPER_OP') == op]


def wait_tampers(d, op, after, want=1, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = tampers(d, op, after)
        if len(found) >= want:
            time.sleep(0.3)  # a second entry for the same attempt would be a bug: let it arrive
            return tampers(d, op, after)
        time.sleep(0.05)
    return tampers(d, op, after)


def logged_once(tap, d, op, after, what, pid=None, comm=None):
    found = wait_tampers(d, op, after)
    tap.ok(len(found) == 1, f'{what}: logged once as TAMPER_OP={op}', found)
    if found and pid is not None:
        e = found[0]
        tap.ok(e.get('OFFENDER_PID') == str(pid) and e.get('OFFENDER_UID') == '0' and
               (comm is None or e.get('OFFENDER_COMM') == comm),
               f'{what}: the entry names the offender (pid {pid}, uid 0{", comm " + comm if comm else ""})', e)


def mark(d):
    return len(d.entries())


def attacker(*cmd):
    """Runs CMD; returns (returncode, pid, stderr)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=60)
    return p.returncode, p.pid, err


def py_attack(code):
    """Runs CODE in a python3 child that prints the errno its attempt got."""
    p = subprocess.Popen(['/usr/bin/python3', '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=60)
    return out.strip(), p.pid, err


KILL = '''
import os, sys, signal
try:
    os.kill(int(sys.argv[1]) if len(sys.argv) > 1 else {pid}, {sig}); print(0)
except OSError as e:
    print(e.errno)
'''

PTRACE = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, {pid}, 0, 0)  # PTRACE_ATTACH
e = ctypes.get_errno()
if r == 0:
    os.waitpid({pid}, 0); libc.ptrace(17, {pid}, 0, 0)  # PTRACE_DETACH
print(0 if r == 0 else e)
'''

MEM = '''
try:
    open('/proc/{pid}/mem', 'rb').close(); print(0)
except OSError as e:
    print(e.errno)
'''


def seal_by_reload(d, profile):
    """Seals D with Seal=yes and a reload (SIGHUP); returns the "sealed" entries."""
    m = mark(d)
    d.write_config(f'[Fileless]\nProfile={profile}\nSeal=yes\n')
    os.kill(d.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not [x for x in d.entries()[m:] if x.get('MESSAGE_ID') == MSG_SEALED]:
        time.sleep(0.05)
    return [x for x in d.entries()[m:] if x.get('MESSAGE_ID') == MSG_SEALED]


def remember_ids(tap, d):
    """The ids of D's config map, exec link and program, read while unsealed."""
    link = f'{d.pin}/link_fl_bprm_check'
    d.config_id = bpftool_id('map', f'{d.pin}/config')
    d.link_id = bpftool_id('link', link)
    p = run('bpftool', '-j', 'link', 'show', 'pinned', link)
    d.prog_id = json.loads(p.stdout).get('prog_id') if p.returncode == 0 else None
    tap.require(None not in (d.config_id, d.link_id, d.prog_id), 'precondition: the ids of our config map, link '
                'and program', (d.config_id, d.link_id, d.prog_id))


def attack_set(tap, d, sealed):
    """The attacks that can be undone or that a later one needs unchanged,
    in an order that keeps the daemon's set usable for the next. Each one
    is refused and logged when SEALED, and works (the control) when not."""
    pid = d.proc.pid
    ok = 'refused' if sealed else 'works (unsealed)'
    link = f'{d.pin}/link_fl_bprm_check'
    lid, prog_id = d.link_id, d.prog_id

    # The object's own maps pinned for takeover (map_*: the trust marks among
    # them): no new fd once sealed.
    aux = sorted(n for n in os.listdir(d.pin) if n.startswith('map_'))
    got = {n: obj_get(f'{d.pin}/{n}') for n in aux}
    for fd in got.values():
        if fd >= 0:
            os.close(fd)
    tap.ok(aux and all((fd == -errno.EPERM) if sealed else (fd >= 0) for fd in got.values()),
           f'a new fd of each map_* pin ({", ".join(aux)}) {ok}', got)

    # bpftool map update pinned (BPF_OBJ_GET read-write) and by id.
    m = mark(d)
    rc, apid, err = attacker('bpftool', 'map', 'update', 'pinned', f'{d.pin}/scopes', 'key', *(['0'] * 256),
                             'value', '3', '0', '0', '0', '1', '0', '0', '0')
    tap.ok((rc != 0) == sealed, f'bpftool map update pinned scopes {ok}', (rc, err))
    if sealed:
        logged_once(tap, d, 'map-fd', m, 'bpftool map update pinned', apid, 'bpftool')
        still_stopped(tap, 'bpftool map update pinned')
    else:
        run('bpftool', 'map', 'delete', 'pinned', f'{d.pin}/scopes', 'key', *(['0'] * 256))

    m = mark(d)
    rc, apid, err = attacker('bpftool', 'map', 'show', 'id', str(d.config_id))
    tap.ok((rc != 0) == sealed, f'bpftool map show id (a map fd by id) {ok}', (rc, err))
    if sealed:
        logged_once(tap, d, 'map-fd', m, 'a map fd by id', apid, 'bpftool')

    m = mark(d)
    rc, apid, err = attacker('bpftool', 'prog', 'show', 'id', str(prog_id))
    tap.ok((rc != 0) == sealed, f'bpftool prog show id (a program fd by id) {ok}', (rc, err))
    if sealed:
        logged_once(tap, d, 'prog-fd', m, 'a program fd by id', apid, 'bpftool')

    m = mark(d)
    rc, apid, err = attacker('bpftool', 'link', 'show', 'id', str(lid))
    tap.ok((rc != 0) == sealed, f'bpftool link show id (a link fd by id) {ok}', (rc, err))
    if sealed:
        logged_once(tap, d, 'link-fd', m, 'a link fd by id', apid, 'bpftool')
        rc, _, err = attacker('bpftool', 'link', 'detach', 'id', str(lid))
        tap.ok(rc != 0 and os.path.exists(link), 'bpftool link detach id refused, the link stays', (rc, err))
        still_stopped(tap, 'link fds by id')

    # Reading the profile stays possible, through seal_ctl (the pin that is
    # not guarded), which is what a restarted daemon does.
    rc, _, err = attacker('bpftool', 'prog', 'show', 'pinned', f'{d.pin}/seal_ctl')
    tap.ok(rc == 0 or not sealed, 'bpftool prog show pinned seal_ctl works', err)

    # The fd opened before sealing (d.early_fd).
    m = mark(d)
    r = config_write_profile(d.early_fd, 1)
    tap.ok((r != 0) == sealed, f'a write to config through an fd opened before sealing {ok}',
           errno.errorcode.get(-r, r))
    if sealed:
        logged_once(tap, d, 'map-write', m, 'a write through an old fd', os.getpid())
        still_stopped(tap, 'a write through an old fd')
    else:
        config_write_profile(d.early_fd, 3)

    # Signals: STOP then CONT (undone in the control); KILL last, below.
    m = mark(d)
    out, apid, _ = py_attack(KILL.format(pid=pid, sig=int(signal.SIGSTOP)))
    tap.ok((out != '0') == sealed, f'kill -STOP of the daemon {ok}', out)
    if sealed:
        logged_once(tap, d, 'kill', m, 'kill -STOP', apid, 'python3')
    else:
        os.kill(pid, signal.SIGCONT)
    out, _, _ = py_attack(KILL.format(pid=pid, sig=0))
    tap.ok(out == '0', 'kill -0 (a probe) of the daemon works', out)

    # ptrace and /proc/PID/mem.
    m = mark(d)
    out, apid, _ = py_attack(PTRACE.format(pid=pid))
    tap.ok((out != '0') == sealed, f'ptrace attach to the daemon {ok}', out)
    if sealed:
        logged_once(tap, d, 'ptrace', m, 'ptrace attach', apid, 'python3')
    m = mark(d)
    out, apid, _ = py_attack(MEM.format(pid=pid))
    tap.ok((out != '0') == sealed, f'opening /proc/PID/mem of the daemon {ok}', out)
    if sealed:
        logged_once(tap, d, 'ptrace', m, '/proc/PID/mem', apid, 'python3')
        tap.ok(os.path.exists(f'/proc/{pid}/status') and open(f'/proc/{pid}/status').read(),
               '/proc/PID/status stays readable')
        still_stopped(tap, 'ptrace')


def removal_set(tap, d, sealed):
    """Renames, removals, --disable, kill -9: the control loses the set."""
    ok = 'refused' if sealed else 'works (unsealed)'
    pid = d.proc.pid

    m = mark(d)
    r = run(DAEMON, '--disable', f'--pin-path={d.pin}')
    tap.ok((r.returncode != 0) == sealed, f'filelesslockd --disable {ok}', r.stderr)
    if sealed:
        tap.ok(os.path.exists(f'{d.pin}/link_fl_bprm_check'), '--disable: the pins are still there')
        still_stopped(tap, '--disable')
        m = mark(d)
        try:
            os.rename(f'{d.pin}/stats', f'{d.pin}/config')
            e = 0
        except OSError as x:
            e = x.errno
        tap.ok(e == errno.EPERM, 'rename of a pin over another: EPERM', e)
        logged_once(tap, d, 'rename', m, 'rename over a pin', os.getpid())
        m = mark(d)
        try:
            os.rename(d.pin, d.pin + '-moved')
            e = 0
        except OSError as x:
            e = x.errno
        tap.ok(e == errno.EPERM, 'rename of the pin directory: EPERM', e)
        logged_once(tap, d, 'rename', m, 'rename of the directory', os.getpid())
        m = mark(d)
        names = sorted(os.listdir(d.pin))
        refused = 0
        for n in names:
            try:
                os.unlink(f'{d.pin}/{n}')
            except OSError as x:
                refused += x.errno == errno.EPERM
        tap.ok(refused == len(names), f'unlink of each of the {len(names)} pins: EPERM', refused)
        found = wait_tampers(d, 'unlink', m, want=len(names))
        tap.ok(len(found) == len(names), f'each unlink logged once ({len(names)} entries)', len(found))
        m = mark(d)
        try:
            os.rmdir(d.pin)
            e = 0
        except OSError as x:
            e = x.errno
        tap.ok(e == errno.EPERM, 'rmdir of the pin directory: EPERM (not ENOTEMPTY)', e)
        logged_once(tap, d, 'rmdir', m, 'rmdir', os.getpid())
        still_stopped(tap, 'pin removal')

        m = mark(d)
        r = run('umount', BPFFS)
        tap.ok(r.returncode != 0, 'umount of the bpffs holding the pins refused', r.stderr)
        r = run('umount', '-l', BPFFS)
        tap.ok(r.returncode != 0, 'umount -l of it refused', r.stderr)
        found = wait_tampers(d, 'umount', m, want=2)
        tap.ok(len(found) == 2, 'both unmounts logged, once each', found)
        still_stopped(tap, 'umount')

        m = mark(d)
        out, apid, _ = py_attack(KILL.format(pid=pid, sig=int(signal.SIGKILL)))
        tap.ok(out == str(errno.EPERM) and d.proc.poll() is None, 'kill -9 of the daemon: EPERM, it lives', out)
        logged_once(tap, d, 'kill', m, 'kill -9', apid, 'python3')
        still_stopped(tap, 'kill -9')
    else:
        tap.ok(not os.path.exists(d.pin), '--disable removed the pins')


def loosen_set(tap, d):
    """Sealed under restricted: a reload and a restart asking for less."""
    m = mark(d)
    d.write_config('[Fileless]\nProfile=allow\nSeal=no\n')
    os.kill(d.proc.pid, signal.SIGHUP)
    logged_once(tap, d, 'loosen', m, 'a reload asking for allow')
    still_stopped(tap, 'a reload asking for allow')


def test_attacks(tap):
    ensure_bpffs()
    backend = backend_under_test()
    tap.require(backend in ('lsm', 'fmod_ret'), f'a backend that can deny ({backend})')

    # Control: the same attacks on an unsealed daemon all work.
    c = Daemon(tap)
    c.write_config('[Fileless]\nProfile=restricted\n')
    tap.require(c.start(), 'control: daemon ready, unsealed, restricted')
    remember_ids(tap, c)
    c.early_fd = obj_get(f'{c.pin}/config')
    attack_set(tap, c, sealed=False)
    m = mark(c)
    out, _, _ = py_attack(KILL.format(pid=c.proc.pid, sig=int(signal.SIGKILL)))
    tap.ok(out == '0', 'control: kill -9 of the daemon works', out)
    removal_set(tap, c, sealed=False)
    tap.ok(not tampers(c, 'map-fd', 0), 'control: nothing logged as tampering')
    os.close(c.early_fd)
    # The control's umount, last: it drops every pin on the bpffs.
    r = run('umount', BPFFS)
    tap.ok(r.returncode == 0, 'control: umount of bpffs works unsealed', r.stderr)
    ensure_bpffs()

    # Sealed under restricted by a reload with Seal=yes, after an fd of its
    # config was opened (as an attacker would have kept one).
    e = Daemon(tap)
    e.write_config('[Fileless]\nProfile=restricted\n')
    tap.require(e.start(), 'daemon ready, unsealed')
    remember_ids(tap, e)
    e.early_fd = obj_get(f'{e.pin}/config')
    tap.require(e.early_fd >= 0, 'an fd of its config, opened before sealing', e.early_fd)
    sealed = seal_by_reload(e, 'restricted')
    tap.ok(len(sealed) == 1 and sealed[0].get('TAMPER_RESISTANCE') == 'denied',
           'sealed by a reload with Seal=yes; tamper resistance "denied"', sealed)
    tap.ok(obj_get(f'{e.pin}/config') == -errno.EPERM, 'a new fd of config is refused once sealed')
    still_stopped(tap, 'sealing')
    attack_set(tap, e, sealed=True)
    loosen_set(tap, e)

    removal_set(tap, e, sealed=True)

    # A second daemon on the same pins, as a restart would start, asking
    # for less: it takes the sealed set over without a write fd, and stays
    # at the floor.
    r = Daemon(tap, pin=e.pin)
    r.write_config('[Fileless]\nProfile=allow\n')
    tap.ok(r.start(), 'a restarted daemon asking for allow starts')
    tap.ok('Took over the sealed' in r.output(), 'it took the sealed pins over', r.output()[-2000:])
    logged_once(tap, r, 'loosen', 0, 'a restart asking for allow')
    still_stopped(tap, 'a restart asking for allow')


    # Sealed at start (Seal=yes in the configuration, as from boot).
    d = Daemon(tap)
    d.write_config('[Fileless]\nProfile=baseline\nSeal=yes\n')
    tap.require(d.start(), 'a daemon with Seal=yes is ready')
    sealed = [x for x in d.entries() if x.get('MESSAGE_ID') == MSG_SEALED]
    tap.ok(len(sealed) == 1 and d.entries().index(sealed[0]) < len(d.entries()) and
           any(l == 'READY=1' for l in d.status), 'Seal=yes: sealed before READY=1', sealed)
    tap.ok(obj_get(f'{d.pin}/config') == -errno.EPERM, 'Seal=yes: a new fd of its config is refused')


def test_evident(tap):
    ensure_bpffs()
    d = Daemon(tap)
    d.write_config('[Fileless]\nProfile=restricted\n')
    tap.require(d.start('--backend=tracepoint'), 'daemon ready, unsealed')
    early = obj_get(f'{d.pin}/config')
    tap.require(early >= 0, 'an fd of config opened before sealing')
    on_exit(lambda: os.close(early))
    sealed = seal_by_reload(d, 'restricted')
    tap.ok(len(sealed) == 1 and sealed[0].get('TAMPER_RESISTANCE') == 'evident',
           'sealed; the tracepoint backend says "evident"', sealed)
    tap.ok(sealed and 'EVIDENT' in sealed[0].get('MESSAGE', ''), 'the message says what root can still do',
           sealed)

    # Kernel-enforced on every backend: the freeze.
    r = config_write_profile(early, 1)
    tap.ok(r == -errno.EPERM, 'a write through an fd opened before sealing: EPERM (frozen)', r)
    fd = obj_get(f'{d.pin}/config')
    r = config_write_profile(fd, 1) if fd >= 0 else fd
    tap.ok(r == -errno.EPERM, 'a write through a new fd: EPERM (frozen)', r)
    if fd >= 0:
        os.close(fd)
    still_stopped(tap, 'writes to the frozen config')

    # Loosening by reload and by restart: refused and logged.
    m = mark(d)
    d.write_config('[Fileless]\nProfile=allow\n')
    os.kill(d.proc.pid, signal.SIGHUP)
    logged_once(tap, d, 'loosen', m, 'a reload asking for allow')
    still_stopped(tap, 'a reload asking for allow')
    r = run(DAEMON, '--disable', f'--pin-path={d.pin}')
    tap.ok(r.returncode == 1 and 'sealed until reboot' in r.stderr, '--disable refused (exit 1)', r)
    tap.ok(any(x.get('TAMPER_OP') == 'disable' for x in map(__import__('fltest').parse_stderr_entry,
                                                             r.stderr.splitlines()) if x),
           '--disable logged as TAMPER_OP=disable', r.stderr)
    d.stop()
    m = mark(d)
    tap.require(d.start('--backend=tracepoint', '--profile=allow'), 'restart with --profile=allow')
    logged_once(tap, d, 'loosen', m, 'a restart asking for allow')
    tap.ok('reused' in d.output_since_start() and 'sealed' in d.output_since_start(),
           'the restart took the sealed pins over')
    still_stopped(tap, 'a restart asking for allow')

    # Evident only: root removes a pin; the daemon sees it and says so.
    m = mark(d)
    os.unlink(f'{d.pin}/stats')
    found = wait_tampers(d, 'pins-gone', m, timeout=15)
    tap.ok(len(found) == 1 and found[0].get('PRIORITY') == '1', 'a removed pin is seen and logged (alert)', found)


def test_cmdline(tap):
    ensure_bpffs()
    cmdline = os.path.join(os.environ.get('TMPDIR', '/tmp'), f'fltest-cmdline-{os.getpid()}')
    on_exit(lambda: os.path.exists(cmdline) and os.unlink(cmdline))
    for line, sealed in (('BOOT_IMAGE=/vmlinuz root=/dev/sda1 filelesslock.seal=1 quiet\n', True),
                         ('BOOT_IMAGE=/vmlinuz filelesslock.seal=0 xfilelesslock.seal=1\n', False)):
        with open(cmdline, 'w') as f:
            f.write(line)
        d = Daemon(tap)
        d.write_config('[Fileless]\nProfile=baseline\nSeal=no\n')
        tap.require(d.start('--backend=tracepoint', env={'FILELESSLOCK_PROC_CMDLINE': cmdline}), 'daemon ready')
        found = [x for x in d.entries() if x.get('MESSAGE_ID') == MSG_SEALED]
        if sealed:
            tap.ok(len(found) == 1 and 'kernel command line' in found[0].get('MESSAGE', ''),
                   'filelesslock.seal=1 on the command line seals, with Seal=no in the configuration', found)
        else:
            tap.ok(not found, 'filelesslock.seal=0 or another word does not seal', found)
        d.stop()
        d.cleanup()


def test_dbus(tap):
    import dbus
    from dbus.mainloop.glib import DBusGMainLoop
    from flbus import IFACE, NAME, PATH, Polkit, PrivateBus, call_error
    DBusGMainLoop(set_as_default=True)
    ensure_bpffs()
    address = PrivateBus().start().address
    pk = Polkit(address)
    pk.start()
    d = Daemon(tap)
    d.write_config('[Fileless]\nProfile=baseline\n', name='10-fltest.conf')
    tap.require(d.start('--backend=tracepoint', env={'FILELESSLOCK_POLKIT_TIMEOUT_SEC': '5'}), 'daemon ready')
    bus = dbus.bus.BusConnection(address)
    for _ in range(100):
        if bus.name_has_owner(NAME):
            break
        time.sleep(0.05)
    obj = bus.get_object(NAME, PATH)
    props = dbus.Interface(obj, 'org.freedesktop.DBus.Properties')
    fl = dbus.Interface(obj, IFACE)
    tap.ok(props.Get(IFACE, 'Sealed') == 0 and props.Get(IFACE, 'TamperResistance') == 'none',
           'unsealed: Sealed false, TamperResistance none')

    pk.mock.SetAllowed(['org.bpflock.fileless1.set-profile'])
    e = call_error(fl.Seal, False)
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied' and
           'org.bpflock.fileless1.seal' in e.get_dbus_message(),
           'Seal() needs its own polkit action (set-profile is not enough)', e)
    tap.ok(props.Get(IFACE, 'Sealed') == 0, 'still unsealed')
    # Unsealed, every admin path of today works: a profile change down.
    e = call_error(fl.SetProfile, 'allow', False)
    tap.ok(e is None and props.Get(IFACE, 'Profile') == 'allow', 'unsealed: SetProfile(allow) works', e)
    e = call_error(fl.SetProfile, 'baseline', False)

    pk.mock.SetAllowed(['org.bpflock.fileless1.set-profile', 'org.bpflock.fileless1.seal'])
    tampers_seen = []
    bus.add_signal_receiver(lambda a: tampers_seen.append(a), 'Tamper', IFACE, NAME, PATH)
    ctl = subprocess.run([os.environ.get('FILELESSLOCKCTL', 'filelesslockctl'), '--no-ask-password', 'seal'],
                         capture_output=True, text=True, timeout=60)
    tap.ok(ctl.returncode == 0 and 'EVIDENT' in ctl.stdout and 'remove the pins' in ctl.stdout,
           'filelesslockctl seal: sealed, and it says the tracepoint backend is only evident', ctl)
    level = None
    try:
        level = fl.Seal(False)
    except dbus.exceptions.DBusException as x:
        tap.ok(False, 'Seal()', x)
    tap.ok(level == 'evident', 'Seal() again: no error, it answers the level, "evident" here', level)
    status = subprocess.run([os.environ.get('FILELESSLOCKCTL', 'filelesslockctl'), 'status'], capture_output=True,
                            text=True, timeout=60)
    tap.ok('Sealed: yes' in status.stdout and 'Tamper resistance: evident' in status.stdout,
           'filelesslockctl status says sealed and evident', status.stdout)
    tap.ok(props.Get(IFACE, 'Sealed') == 1 and props.Get(IFACE, 'TamperResistance') == 'evident',
           'Sealed true, TamperResistance evident')

    m = mark(d)
    e = call_error(fl.SetProfile, 'allow', False)
    tap.ok(e is not None and e.get_dbus_name() == 'org.bpflock.Fileless1.Error.Sealed',
           'SetProfile(allow) refused with Error.Sealed', e)
    tap.ok(props.Get(IFACE, 'Profile') == 'baseline', 'the profile stays baseline')
    logged_once(tap, d, 'loosen', m, 'SetProfile(allow) over D-Bus')
    from gi.repository import GLib
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not tampers_seen:
        ctx.iteration(False)
        time.sleep(0.01)
    tap.ok(tampers_seen and tampers_seen[0].get('Op') == 'loosen', 'a Tamper signal with Op=loosen', tampers_seen)

    e = call_error(fl.SetUnitProfile, 'foo.service', 'restricted', False)
    tap.ok(e is None, 'a new unit scope at least as strict as everything: allowed', e)
    e = call_error(fl.SetUnitProfile, 'foo.service', 'baseline', False)
    tap.ok(e is not None and e.get_dbus_name() == 'org.bpflock.Fileless1.Error.Sealed',
           'lowering that scope: refused', e)
    e = call_error(fl.SetUnitProfile, 'foo.service', '', False)
    tap.ok(e is not None and e.get_dbus_name() == 'org.bpflock.Fileless1.Error.Sealed',
           'removing that scope: refused', e)
    e = call_error(fl.SetUnitProfile, 'bar.service', 'allow', False)
    tap.ok(e is not None and e.get_dbus_name() == 'org.bpflock.Fileless1.Error.Sealed',
           'a new scope looser than the machine: refused', e)
    e = call_error(fl.SetProfile, 'restricted', False)
    tap.ok(e is None and props.Get(IFACE, 'Profile') == 'restricted', 'SetProfile(restricted): tightening works', e)
    still_stopped(tap, 'tightening')
    e = call_error(fl.SetProfile, 'baseline', False)
    tap.ok(e is not None and e.get_dbus_name() == 'org.bpflock.Fileless1.Error.Sealed',
           'then SetProfile(baseline): refused', e)
    r = fl_exec('memfd', 'proc-self', name='after-tighten')
    tap.ok(r.get('result') == BLOCKED, 'restricted enforced', r)


if __name__ == '__main__':
    run_cases('test-seal', globals())
