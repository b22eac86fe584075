# SPDX-License-Identifier: LGPL-2.1-or-later
"""This build as users get it, for the integration tests: `meson install`
into a DESTDIR, fl-exec beside it, both booted in a throwaway machine with a
real systemd (sysns.py) and profile allow (the machine is a pid namespace:
baseline would stop every fileless exec in it).

    m, dest = flmachine.boot_installed(tap, 'service', {'fltest-x': {'uid': 61001}},
                                       {'/etc/polkit-1/rules.d/50-fltest.rules': rules})"""

import os
import shutil
import subprocess
import tempfile
import time

import sysns
from fltest import on_exit

IN_FL_EXEC = '/usr/local/libexec/fl-exec'


def boot_installed(tap, name, users, extra_files=None):
    """Installs the build of $FL_BUILD_DIR into a scratch DESTDIR (removed at
    the end of the case), adds $FL_EXEC as IN_FL_EXEC, boots it with the
    accounts USERS ({name: keyword arguments of sysns.Machine.add_user}) and
    EXTRA_FILES; returns (machine, destdir). Each step is a required subtest."""
    tap.require(os.environ.get('FL_PREFIX', '/usr') == '/usr', 'the build is configured with --prefix=/usr',
                f'prefix is {os.environ.get("FL_PREFIX")}: dbus-daemon, polkitd and cockpit-bridge read only '
                '/usr/share (tools/run-tests.sh configures build-tests with --prefix=/usr)')
    tmp = tempfile.mkdtemp(prefix=f'fl-{name}-')
    on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    dest = os.path.join(tmp, 'dest')
    p = subprocess.run(['meson', 'install', '-C', os.environ['FL_BUILD_DIR'], '--no-rebuild', '--quiet',
                        '--destdir', dest], capture_output=True, text=True)
    tap.require(p.returncode == 0, 'meson install --destdir succeeds', p.stdout + p.stderr)

    # The test's own tools, beside the installed project.
    os.makedirs(os.path.join(dest, 'usr/local/libexec'), exist_ok=True)
    shutil.copy(os.environ['FL_EXEC'], os.path.join(dest, IN_FL_EXEC.lstrip('/')))
    extra = {'/etc/filelesslock/filelesslockd.conf.d/50-fltest.conf': '[Fileless]\nProfile=allow\n'}
    extra.update(extra_files or {})
    m = sysns.Machine(destdir=dest, extra_files=extra)
    on_exit(m.shutdown)
    for user, kw in users.items():
        m.add_user(user, **kw)
    t0 = time.monotonic()
    m.boot(timeout=60)
    tap.note(f'machine booted in {time.monotonic() - t0:.1f} s')
    tap.diag_on_failure.append(m.diagnostics)
    return m, dest
