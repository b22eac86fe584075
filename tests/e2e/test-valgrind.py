#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon under valgrind's memcheck, through a run that handles events
(one by one and rate-limited), D-Bus reads, allowed and refused profile
writes, Event signals, a reload and a clean stop: no memory error and no
leak. tests/valgrind.supp lists the only suppressions, in libbpf."""

import os
import re
import shutil
import signal
import time

import dbus

from fltest import Daemon, ensure_bpffs, fl_exec, run_cases
from flbus import ACTION, IFACE, NAME, SRC, Polkit, PrivateBus, call_error, wait_owner

SUPP = os.path.join(SRC, 'tests', 'valgrind.supp')


def test_memcheck(tap):
    ensure_bpffs()
    if not shutil.which('valgrind'):
        tap.require(False, 'valgrind is installed (tools/install-deps.sh --tests installs it)')
    bus = PrivateBus().start()
    pk = Polkit(bus.address)
    pk.start()

    d = Daemon(tap)
    vglog = os.path.join(d.tmp, 'valgrind.log')
    # The profile from the configuration, not --profile=: the command line wins
    # at every reload, so the daemon refuses a D-Bus write it would undo.
    d.write_config('[Fileless]\nProfile=allow\nRateLimitIntervalSec=1s\nRateLimitBurst=2\n')
    wrapper = ['valgrind', '--quiet', '--leak-check=full', '--show-leak-kinds=definite,indirect,possible',
               '--errors-for-leak-kinds=definite,indirect,possible', '--track-fds=no', f'--suppressions={SUPP}',
               '--error-exitcode=99', f'--log-file={vglog}']
    tap.ok(d.start(wrapper=wrapper, timeout=120), 'the daemon starts under valgrind')
    tap.ok(wait_owner(bus.address, timeout=30), f'and owns {NAME}')

    props = bus.properties()
    tap.ok(props.Get(IFACE, 'Profile') == 'allow', 'Profile reads allow')
    allp = props.GetAll(IFACE)
    tap.ok({'Profile', 'Backend', 'FilelessExecutions', 'EventsSuppressed', 'Pinned'} <= set(allp), 'GetAll answers',
           dict(allp))

    # Events: more than the burst, so some are suppressed and summarized.
    for i in range(6):
        fl_exec('memfd', 'proc-self', name=f'vg-{i}')
    tap.ok(len(d.wait_event(lambda e: e.get('FILELESS_FILE_NAME', '').startswith('memfd:vg-'), timeout=30)) >= 1,
           'events are handled')

    # A refused write, an invalid one, an allowed one.
    pk.mock.SetAllowed(dbus.Array([], signature='s'))
    e = call_error(props.Set, IFACE, 'Profile', 'restricted', timeout=60)
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.AccessDenied', 'a refused write', e)
    e = call_error(props.Set, IFACE, 'Profile', 'restrictd', timeout=60)
    tap.ok(e is not None and e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs', 'an invalid write', e)
    pk.mock.SetAllowed([ACTION])
    e = call_error(props.Set, IFACE, 'Profile', 'baseline', timeout=60)
    tap.ok(e is None and props.Get(IFACE, 'Profile') == 'baseline', 'an allowed write', e)

    # A reload, then the rate limit's window ends and its summary is written.
    d.proc.send_signal(signal.SIGHUP)
    tap.ok(d.wait_notify('READY=1', timeout=60), 'a reload')
    time.sleep(7)

    rc = d.stop(timeout=120)
    with open(vglog) as f:
        log = f.read()
    tap.ok(rc == 0, f'the daemon exits 0 under valgrind (99 means memcheck found something): {rc}', log[-3000:])
    tap.ok(not re.search(r'==\d+== (Invalid|Conditional|Syscall param|Mismatched|Source and destination)', log),
           'no memory error', log[-3000:])
    tap.ok(not re.search(r'(definitely|indirectly|possibly) lost: [1-9]|are (definitely|indirectly|possibly) lost', log),
           'no leak', log[-3000:])
    d.disable()
    bus.close()


if __name__ == '__main__':
    run_cases('valgrind', globals())
