#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian package as administrators take it: debian/ built with
`dpkg-buildpackage -us -uc -b`, checked by lintian, and installed with
`apt-get install ./filelesslock_*.deb` into throwaway machines where a real
systemd 252 is PID 1 with its dbus-daemon, polkitd and journald (sysns.py).

How apt and dpkg run there: the machine's root is an overlay whose lower
layer is the host's /, so it starts with the host's Debian 12 system, its
dpkg database and apt lists, and every write (dpkg's database, /etc, /usr,
the enable symlinks, the catalog index) goes to the machine's own upper
layer, a tmpfs. apt-get, dpkg, the maintainer scripts debhelper generated
and the triggers of systemd (journalctl --update-catalog), dbus (reload),
man-db and polkitd's directory watch run for real, against the machine's
running systemd and buses; the host's files and dpkg database stay as they
were. The machine has no network: the package's dependencies must already be
installed on the host (tools/install-deps.sh --tests installs them), as the
package's own files must not be (checked first). Two things of the host image
that a Debian system has not are undone in the machine, each said when done:
Docker's /usr/sbin/policy-rc.d (it forbids starting services) and a dpkg
path-exclude of the man pages.

The .deb files are built once into the build directory (FL_BUILD_DIR/deb)
and reused while the sources they came from are unchanged: a copy of the
tracked and untracked, not ignored, files of the source tree, built as
version V from debian/changelog, then, for the upgrade, with one changelog
entry more, V+fltest.upgrade1, without cleaning (the same compiled objects,
packaged again: a higher version dpkg upgrades to, replacing every file).

Each test_* function is a case with a machine of its own:
test-package.py [CASE...]; tests/meson.build registers each as
integration-package-CASE. The machine's BPF programs see the host kernel's
execs, as every test tier's do: the cases run one at a time."""

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

import sysns  # noqa: E402
from fltest import MESSAGE_IDS, MSG_EXEC, MSG_STARTED, on_exit, run_cases  # noqa: E402

SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD = os.environ['FL_BUILD_DIR']
FL_EXEC = os.environ['FL_EXEC']
DEBDIR = os.path.join(BUILD, 'deb')
UPGRADE_SUFFIX = '+fltest.upgrade1'
PKG = 'filelesslock'
COCKPIT_PKG = 'cockpit-filelesslock'
DEB_KEYS = ('deb1', 'deb2', 'cockpit1', 'changes1')
NAME = 'org.bpflock.Fileless1'
OBJ = '/org/bpflock/Fileless1'
UNIT = 'filelesslockd.service'
PIN = '/sys/fs/bpf/bpflock/filelesslock'
CONF_DIR = '/etc/filelesslock'
DROPIN = CONF_DIR + '/filelesslockd.conf.d/90-set-profile.conf'
IN_FL_EXEC = '/usr/local/libexec/fl-exec'
IN_DEBS = '/var/tmp/fltest-debs'  # not /tmp: systemd-tmpfiles empties it at boot
USER = ('fltest-pkg', 61011)

# What the package must hold, as the machine sees it (/lib is /usr/lib on
# Debian 12, merged /usr).
PACKAGE_FILES = ['/usr/sbin/filelesslockd', '/usr/bin/filelesslockctl',
                 '/lib/systemd/system/filelesslockd.service',
                 '/usr/lib/systemd/catalog/filelesslock.catalog',
                 '/usr/share/dbus-1/system.d/org.bpflock.Fileless1.conf',
                 '/usr/share/dbus-1/system-services/org.bpflock.Fileless1.service',
                 '/usr/share/dbus-1/interfaces/org.bpflock.Fileless1.xml',
                 '/usr/share/polkit-1/actions/org.bpflock.fileless1.policy',
                 CONF_DIR + '/filelesslockd.conf']
MAN_PAGES = {'filelesslockd': '8', 'filelesslockd.conf': '5', 'org.bpflock.Fileless1': '5',
             'filelesslockctl': '1'}


# --- building the .deb files, once ------------------------------------------------

def source_files():
    """The source tree's files as git sees them (tracked, and untracked but
    not ignored: what a commit of the working tree would hold), relative."""
    r = subprocess.run(['git', '-C', SRC, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'git ls-files in {SRC} failed (the package is built from a git checkout): {r.stderr}')
    build = os.path.relpath(os.path.realpath(BUILD), os.path.realpath(SRC)) + os.sep
    return sorted(p for p in set(r.stdout.split('\0'))
                  if p and not p.startswith(build) and os.path.lexists(os.path.join(SRC, p)))


def source_digest(files):
    """What the .deb files are built from. Not tests/: debian/rules
    configures with -Dtests=false, so editing a test does not rebuild them."""
    h = hashlib.sha256()
    for p in files:
        if p.startswith('tests/'):
            continue
        full = os.path.join(SRC, p)
        st = os.lstat(full)
        h.update(p.encode() + b'\0' + oct(st.st_mode).encode() + b'\0')
        if stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(full).encode())
        else:
            with open(full, 'rb') as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def build_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(('MESON', 'MALLOC_', 'ASAN_', 'UBSAN_'))}
    env.update(LANG='C.UTF-8', LC_ALL='C.UTF-8', DEBIAN_FRONTEND='noninteractive')
    return env


def dpkg_buildpackage(tree, log, *extra):
    t0 = time.monotonic()
    with open(log, 'w') as f:
        r = subprocess.run(['dpkg-buildpackage', '-us', '-uc', '-b', *extra], cwd=tree, stdout=f,
                           stderr=subprocess.STDOUT, env=build_env())
    return r.returncode, time.monotonic() - t0


def changelog_version(tree):
    return subprocess.run(['dpkg-parsechangelog', '-S', 'Version'], cwd=tree, capture_output=True,
                          text=True, check=True).stdout.strip()


def add_changelog_entry(tree, version):
    """A changelog entry on top, as dch would write it."""
    path = os.path.join(tree, 'debian', 'changelog')
    with open(path) as f:
        old = f.read()
    trailer = re.search(r'^ -- .*$', old, re.M).group(0)
    maint = re.match(r' -- (.*?>)', trailer).group(1)
    date = subprocess.run(['date', '-R'], capture_output=True, text=True, check=True).stdout.strip()
    entry = (f'{PKG} ({version}) unstable; urgency=medium\n\n'
             '  * Test build for the upgrade of tests/integration/test-package.py.\n\n'
             f' -- {maint}  {date}\n\n')
    with open(path, 'w') as f:
        f.write(entry + old)


class Debs:
    """The two builds: .v1/.v2 (versions), .deb1/.deb2 (paths of
    filelesslock), .cockpit1 (cockpit-filelesslock of the first build),
    .changes1, .obj (the package's meson build directory), .note (how they
    came)."""

    def __init__(self, d):
        self.__dict__.update(d)


def build_debs():
    """Builds both versions into DEBDIR unless a build of the same sources is
    there. Returns Debs; raises RuntimeError naming the log on failure."""
    os.makedirs(DEBDIR, exist_ok=True)
    with open(os.path.join(DEBDIR, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files = source_files()
        digest = source_digest(files)
        stamp = os.path.join(DEBDIR, 'stamp.json')
        try:
            with open(stamp) as f:
                info = json.load(f)
            if info.get('digest') == digest and all(os.path.exists(info[k]) for k in DEB_KEYS):
                info['note'] = f'reused the .deb files in {DEBDIR} (built from the same sources)'
                return Debs(info)
        except (OSError, ValueError, KeyError):
            pass

        for name in os.listdir(DEBDIR):
            if name != '.lock':
                p = os.path.join(DEBDIR, name)
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
        tree = os.path.join(DEBDIR, 'src', PKG)
        for p in files:
            dst = os.path.join(tree, p)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(SRC, p), dst, follow_symlinks=False)
        out = os.path.dirname(tree)

        v1 = changelog_version(tree)
        rc, t1 = dpkg_buildpackage(tree, os.path.join(DEBDIR, 'build-1.log'))
        if rc != 0:
            raise RuntimeError(f'dpkg-buildpackage of {v1} failed ({rc}): see {DEBDIR}/build-1.log')
        v2 = v1 + UPGRADE_SUFFIX
        add_changelog_entry(tree, v2)
        rc, t2 = dpkg_buildpackage(tree, os.path.join(DEBDIR, 'build-2.log'), '--no-pre-clean')
        if rc != 0:
            raise RuntimeError(f'dpkg-buildpackage of {v2} failed ({rc}): see {DEBDIR}/build-2.log')
        arch = subprocess.run(['dpkg', '--print-architecture'], capture_output=True, text=True).stdout.strip()
        objs = [d for d in os.listdir(tree) if d.startswith('obj-')]
        info = {'digest': digest, 'v1': v1, 'v2': v2,
                'deb1': os.path.join(out, f'{PKG}_{v1}_{arch}.deb'),
                'deb2': os.path.join(out, f'{PKG}_{v2}_{arch}.deb'),
                'cockpit1': os.path.join(out, f'{COCKPIT_PKG}_{v1}_all.deb'),
                'changes1': os.path.join(out, f'{PKG}_{v1}_{arch}.changes'),
                'obj': os.path.join(tree, objs[0]) if objs else None,
                'built': f'dpkg-buildpackage -us -uc -b: {v1} in {t1:.0f} s, {v2} (--no-pre-clean) in {t2:.0f} s'}
        with open(stamp + '.new', 'w') as f:
            json.dump(info, f)
        os.rename(stamp + '.new', stamp)
        info['note'] = f'built in {DEBDIR}: ' + info['built']
        return Debs(info)


# --- a machine to install it in ---------------------------------------------------

class Fixture:
    def __init__(self, tap):
        self.tap = tap
        self.m = None
        try:
            self.debs = build_debs()
        except RuntimeError as e:
            tap.require(False, 'the .deb files are built', str(e))
        tap.note(self.debs.note)

    def boot(self):
        """A machine with both .deb files in IN_DEBS, fl-exec and a user,
        checked to hold nothing of the package yet."""
        tap = self.tap
        extra = {IN_FL_EXEC: (open(FL_EXEC, 'rb').read(), 0o755)}
        for k in ('deb1', 'deb2', 'cockpit1'):
            with open(getattr(self.debs, k), 'rb') as f:
                extra[f'{IN_DEBS}/{os.path.basename(getattr(self.debs, k))}'] = (f.read(), 0o644)
        self.m = sysns.Machine(extra_files=extra)
        on_exit(self.m.shutdown)
        self.m.add_user(*USER)
        t0 = time.monotonic()
        self.m.boot(timeout=60)
        tap.note(f'machine booted in {time.monotonic() - t0:.1f} s')
        tap.diag_on_failure.append(self.m.diagnostics)
        tap.logs_on_failure.append(lambda: (f'journal of {UNIT} in the machine', self.m.journal(unit=UNIT)))

        if self.run(['test', '-e', '/usr/sbin/policy-rc.d']).returncode == 0:
            self.run(['rm', '-f', '/usr/sbin/policy-rc.d'])
            tap.note('removed /usr/sbin/policy-rc.d in the machine: the host is a Docker-derived image, whose '
                     'policy-rc.d forbids starting services (a Debian system has none)')
        r = self.run(['sh', '-c', 'grep -l "^path-exclude.*/usr/share/man" /etc/dpkg/dpkg.cfg.d/* 2>/dev/null'])
        for cfg in r.stdout.split():
            self.run(['sed', '-i', '/^path-exclude.*\\/usr\\/share\\/man/d', cfg])
            tap.note(f'removed the path-exclude of man pages from {cfg} in the machine (a minimal image\'s, not '
                     'Debian\'s)')

        present = [p for p in PACKAGE_FILES + [CONF_DIR, PIN] if self.run(['test', '-e', p]).returncode == 0]
        r = self.run(['dpkg-query', '-W', '-f=${Status}', PKG])
        tap.require(not present and 'installed' not in r.stdout,
                    'precondition: nothing of the package is on the machine before it is installed',
                    f'present: {present}; dpkg: {r.stdout}{r.stderr} (the host has filelesslock installed '
                    'outside this test: remove it there)')
        return self.m

    def run(self, args, **kw):
        return self.m.run(args, **kw)

    def apt(self, *args, timeout=300):
        r = self.m.run(['apt-get', '-y', '-o', 'Dpkg::Use-Pty=0', *args], timeout=timeout,
                       env={'DEBIAN_FRONTEND': 'noninteractive'})
        self.tap.note(f'$ apt-get {" ".join(args)}   (exit {r.returncode})\n' + r.stdout + r.stderr)
        return r

    def install(self, which='deb1', desc=None, also=()):
        """apt-get install ./filelesslock_V_ARCH.deb (and the .deb files of
        ALSO, keys of Debs); a precondition unless DESC names it as a
        subtest."""
        path, *others = [f'{IN_DEBS}/{os.path.basename(getattr(self.debs, k))}' for k in (which, *also)]
        t0 = time.monotonic()
        r = self.apt('install', path, *others)
        took = time.monotonic() - t0
        version = self.debs.v1 if which == 'deb1' else self.debs.v2
        ok = r.returncode == 0 and self.installed_version() == version
        msg = f'apt-get install {path} ({took:.1f} s)'
        (self.tap.ok if desc else self.tap.require)(ok, desc or 'precondition: ' + msg,
                                                    (self.installed_version(), r.stderr[-2000:]))
        return r

    def installed_version(self):
        r = self.run(['dpkg-query', '-W', '-f=${Status} ${Version}', PKG])
        st = r.stdout.split()
        return st[-1] if r.returncode == 0 and st[:3] == ['install', 'ok', 'installed'] else None

    def show(self, *props):
        r = self.run(['systemctl', 'show', UNIT, *[f'-p{p}' for p in props]])
        return dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)

    def prop(self, name, user=None):
        r = self.run(['busctl', 'get-property', NAME, OBJ, NAME, name], user=user)
        return r.stdout.strip().split(' ', 1)[1] if r.returncode == 0 else None

    def wait_prop(self, name, timeout=15):
        """The property once the daemon answers on the bus (None if never),
        and how long that took."""
        t0 = time.monotonic()
        while True:
            v = self.prop(name)
            if v is not None or time.monotonic() - t0 > timeout:
                return v, time.monotonic() - t0
            time.sleep(0.1)

    def exec_memfd(self, name='fltest-pkg'):
        # From a pid namespace below the machine's, as in a container: the
        # daemon's own pid namespace (the machine's) is the host side, which
        # baseline allows.
        r = self.run(['unshare', '--pid', '--fork', IN_FL_EXEC, '--name', name, 'memfd', 'proc-self'])
        mt = re.search(r'result=(\w+)', r.stdout)
        return mt.group(1) if mt else f'rc={r.returncode} {r.stdout} {r.stderr}'

    def pins(self):
        """{name: inode} of the pin directory (None if it is not there)."""
        r = self.run(['sh', '-c', f'cd {PIN} && ls -i1'])
        if r.returncode != 0:
            return None
        return {name: ino for ino, name in (l.split(None, 1) for l in r.stdout.splitlines() if l.strip())}

    def require_running(self, desc):
        s = self.show('ActiveState', 'SubState', 'UnitFileState')
        self.tap.require(s.get('ActiveState') == 'active' and s.get('SubState') == 'running', desc, s)


def run_in_machine_loop(f, action):
    """fl-exec's memfd exec over and over in the machine while ACTION (a
    callable) runs; returns ([(wall clock time, result)], ACTION's return
    value). The output is read as it comes: a loop writing into a pipe nobody
    reads stops at the first full pipe buffer (64 KiB, some 240 execs), and
    would then try nothing more."""
    full, env = f.m.command(f'while [ ! -e /run/fltest-stop ]; do unshare --pid --fork {IN_FL_EXEC} --name fltest-loop memfd proc-self; '
                            'done')
    loop = subprocess.Popen(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    on_exit(lambda: loop.poll() is None and (loop.kill(), loop.wait()))
    results = []

    def reader():
        for line in loop.stdout:
            mt = re.search(r'result=(\w+)', line)
            if mt:
                results.append((time.time(), mt.group(1)))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.5)
    try:
        ret = action()
        time.sleep(0.5)
    finally:
        f.run(['touch', '/run/fltest-stop'])
    loop.wait(timeout=60)
    t.join(10)
    f.run(['rm', '-f', '/run/fltest-stop'])
    return results, ret


def journal_since(f, cursor, **fields):
    """[(wall clock time, MESSAGE)] of the journal entries since CURSOR
    with these FIELDS. Matched here, not by journalctl: journalctl 252 with
    --after-cursor and a match skips the first matching entry when the
    cursor's own entry does not match."""
    r = f.run(['journalctl', '-o', 'json', '--no-pager', f'--after-cursor={cursor}'])
    out = []
    for l in r.stdout.splitlines():
        e = json.loads(l)
        if all(e.get(k) == v for k, v in fields.items()) and isinstance(e.get('MESSAGE'), str):
            out.append((int(e['__REALTIME_TIMESTAMP']) / 1e6, e['MESSAGE']))
    return out


# --- the cases ---------------------------------------------------------------------

def test_build(tap, f):
    """Both builds hold what meson installs, with the maintainer scripts."""
    d = f.debs
    r = subprocess.run(['dpkg', '--compare-versions', d.v2, 'gt', d.v1])
    tap.ok(r.returncode == 0, f'the upgrade build\'s version {d.v2} is higher than {d.v1}')
    listing = {}
    for k in ('deb1', 'deb2', 'cockpit1'):
        r = subprocess.run(['dpkg-deb', '-c', getattr(d, k)], capture_output=True, text=True)
        listing[k] = {l.split()[-1].lstrip('.') for l in r.stdout.splitlines() if not l.startswith('d')}
        tap.ok(r.returncode == 0 and listing[k], f'dpkg-deb -c {os.path.basename(getattr(d, k))}', r.stderr)
    tap.note('contents of the package:\n' + '\n'.join(sorted(listing['deb1'])))
    with open(os.path.join(SRC, 'meson.build')) as fh:
        upstream = re.search(r"version\s*:\s*'([^']+)'", fh.read()).group(1)
    tap.ok(d.v1 == upstream, f'debian/changelog\'s version {d.v1} is meson\'s project version {upstream} (the '
           'daemon\'s Version property)')

    # Everything meson installs is in the package (and so whatever a part of
    # the project adds to the install, e.g. a Cockpit page), man pages
    # compressed by dh_compress.
    planned = []
    if d.obj:
        r = subprocess.run(['meson', 'introspect', '--installed', d.obj], capture_output=True, text=True)
        planned = sorted(set(json.loads(r.stdout).values())) if r.returncode == 0 else []
    tap.require(len(planned) >= len(PACKAGE_FILES), 'meson introspect --installed of the package\'s build',
                planned)
    both = listing['deb1'] | listing['cockpit1']
    missing = [p for p in planned if p not in both and p + '.gz' not in both]
    tap.ok(not missing, f'all {len(planned)} files meson installs are in the two packages', missing)
    page = [p for p in planned if p.startswith('/usr/share/cockpit/')]
    tap.ok(page and all(p in listing['cockpit1'] for p in page) and not (listing['deb1'] & set(page)),
           f'the Cockpit page ({len(page)} files) is in {COCKPIT_PKG} alone', page)
    r = subprocess.run(['dpkg-deb', '-f', d.cockpit1, 'Depends'], capture_output=True, text=True)
    tap.ok('cockpit-bridge' in r.stdout and f'{PKG} (>= {d.v1})' in r.stdout,
           f'{COCKPIT_PKG} Depends: {r.stdout.strip()}')
    want = PACKAGE_FILES + [f'/usr/share/man/man{s}/{p}.{s}.gz' for p, s in MAN_PAGES.items()]
    tap.ok(all(p in listing['deb1'] for p in want), 'the package holds daemon, ctl, unit, bus policy, activation '
           'file, interface, polkit action, catalog, configuration and man pages',
           [p for p in want if p not in listing['deb1']])
    tap.ok(listing['deb1'] == listing['deb2'], 'the upgrade build holds the same files',
           listing['deb1'] ^ listing['deb2'])

    r = subprocess.run(['dpkg-deb', '-f', d.deb1, 'Depends'], capture_output=True, text=True)
    tap.ok('libbpf1' in r.stdout and 'libsystemd0' in r.stdout, f'Depends: {r.stdout.strip()}')
    tmp = os.path.join(DEBDIR, 'control-1')
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(['dpkg-deb', '-e', d.deb1, tmp], check=True)

    def read(name):
        try:
            with open(os.path.join(tmp, name)) as fh:
                return fh.read()
        except OSError:
            return ''
    tap.ok(read('conffiles').split() == [CONF_DIR + '/filelesslockd.conf'],
           'the default configuration is the one conffile', read('conffiles'))
    postinst, prerm, postrm = read('postinst'), read('prerm'), read('postrm')
    tap.ok('deb-systemd-helper enable' in postinst and '_dh_action=restart' in postinst,
           'postinst enables the unit, starts it on installation and restarts it on upgrade')
    tap.ok('deb-systemd-invoke stop' in prerm and prerm.index('deb-systemd-invoke stop') <
           prerm.index('filelesslockd --disable'),
           'prerm stops the unit on removal, then removes the pins')
    # Each command of prerm that stops the unit or removes the pins, and the
    # condition of the `if` it is in: only removal, never upgrade.
    lines = prerm.splitlines()
    conds = []
    for i, l in enumerate(lines):
        if re.match(r'\s*(if\s+)?(deb-systemd-invoke stop|filelesslockd --disable)', l):
            conds.append(next((c for c in reversed(lines[:i]) if c.lstrip().startswith('if ')), ''))
    tap.ok(len(conds) == 2 and all('"$1" = remove' in c and 'upgrade' not in c for c in conds),
           'prerm stops the unit and removes the pins only on removal, not on upgrade', conds)
    tap.ok('purge' in postrm and DROPIN in postrm, 'postrm purges what the daemon wrote in /etc')


def test_lintian(tap, f):
    """lintian: no error, no warning; the information and pedantic tags
    are listed."""
    t0 = time.monotonic()
    r = subprocess.run(['lintian', '--pedantic', '--display-info', '--show-overrides', f.debs.changes1],
                       capture_output=True, text=True, env=build_env())
    tags = [l for l in r.stdout.splitlines() if re.match(r'[EWIPXO]: ', l)]
    tap.note(f'lintian --pedantic --display-info --show-overrides ({time.monotonic() - t0:.0f} s):\n' +
             ('\n'.join(tags) or '(no tags)'))
    tap.ok(r.returncode == 0, f'lintian exits 0 ({r.returncode})', r.stderr[-2000:])
    tap.ok(not [t for t in tags if t.startswith(('E:', 'W:'))], 'lintian reports no error and no warning '
           '(overrides, O:, each say why in debian/*.lintian-overrides)', tags)


def test_install(tap, f):
    """apt-get install: enabled, running with the default profile, bus policy
    live, catalog indexed, man pages there."""
    f.boot()
    r = f.run(['journalctl', '--list-catalog'])
    tap.require(MSG_STARTED not in r.stdout, 'precondition: journalctl --list-catalog does not know our messages '
                'yet', r.stdout[-500:])
    f.install('deb1', f'apt-get install ./filelesslock_*.deb ./{COCKPIT_PKG}_*.deb', also=('cockpit1',))

    r = f.run(['systemctl', 'is-enabled', UNIT])
    tap.ok(r.stdout.strip() == 'enabled', f'the unit is enabled ({r.stdout.strip()})', r.stderr)
    r = f.run(['systemctl', 'is-enabled', 'dbus-org.bpflock.Fileless1.service'])
    tap.ok(r.stdout.strip() in ('enabled', 'alias'), 'and its D-Bus alias too, for activation', r.stdout + r.stderr)
    s = f.show('ActiveState', 'SubState', 'StatusText', 'NRestarts', 'MainPID')
    tap.ok(s.get('ActiveState') == 'active' and s.get('SubState') == 'running' and s.get('NRestarts') == '0',
           'the unit was started by the installation and runs', s)
    tap.ok('baseline' in s.get('StatusText', ''), f'with the default profile: {s.get("StatusText")!r}')

    v, took = f.wait_prop('Profile')
    tap.ok(v == '"baseline"', f'busctl get-property {NAME} Profile answers "baseline" as root, {took:.1f} s after '
           'the installation: the bus policy is live without a reboot', v)
    v = f.prop('Version', user=USER[0])
    tap.ok(v == f'"{f.debs.v1}"', f'and to an unprivileged user: Version {v}')
    tap.ok(f.prop('Pinned', user=USER[0]) == 'true', 'Pinned true')
    r = f.run(['filelesslockctl', 'status'])
    tap.ok(r.returncode == 0 and 'baseline' in r.stdout, 'filelesslockctl status reads the running service',
           r.stdout + r.stderr)
    r = f.run(['pkaction', '--action-id', 'org.bpflock.fileless1.set-profile'])
    tap.ok(r.returncode == 0, 'polkitd knows the action org.bpflock.fileless1.set-profile', r.stdout + r.stderr)

    # Baseline stops fileless execution in a pid namespace below the
    # daemon's (a container's).
    res = f.exec_memfd('fltest-pkg-install')
    tap.ok(res == 'killed', f'baseline enforces: a memfd exec in a pid namespace below the machine\'s is {res}')

    r = f.run(['journalctl', '--list-catalog'])
    missing = [i for i in MESSAGE_IDS.values() if i not in r.stdout]
    tap.ok(not missing, f'the installation indexed the catalog: --list-catalog has all {len(MESSAGE_IDS)} ids',
           missing)
    r = f.run(['journalctl', '-x', '--no-pager', '-u', UNIT, f'MESSAGE_ID={MSG_STARTED}'])
    tap.ok('Subject: filelesslockd enforces profile baseline with backend tracepoint' in r.stdout and
           'Defined-By: filelesslock' in r.stdout, 'journalctl -x explains the start entry with the catalog text',
           r.stdout[-1500:])
    tap.note('journalctl -x -u filelesslockd:\n' + r.stdout)
    entry = ''
    for _ in range(50):
        entry = f.run(['journalctl', '-x', '--no-pager', f'MESSAGE_ID={MSG_EXEC}',
                       'FILELESS_FILE_NAME=memfd:fltest-pkg-install']).stdout
        if 'Subject:' in entry:
            break
        time.sleep(0.1)
    tap.ok('Subject: Fileless execution killed: memfd:fltest-pkg-install (memfd)' in entry,
           'and the event of that exec', entry[-1500:])

    for page, section in MAN_PAGES.items():
        r = f.run(['man', '-w', f'{section}', page])
        tap.ok(r.returncode == 0 and r.stdout.strip() == f'/usr/share/man/man{section}/{page}.{section}.gz',
               f'man -w {section} {page}: {r.stdout.strip()}', r.stderr)
    r = f.run(['sh', '-c', 'MANWIDTH=80 man 8 filelesslockd | head -n 5'])
    tap.ok('filelesslockd' in r.stdout, 'man 8 filelesslockd renders', r.stdout + r.stderr)
    r = f.run(['cockpit-bridge', '--packages'])
    tap.ok(re.search(r'^filelesslock\s.*\s/usr/share/cockpit/filelesslock$', r.stdout, re.M) is not None,
           'cockpit-bridge --packages lists the page', r.stdout + r.stderr)


def test_upgrade(tap, f):
    """apt-get install of the higher version: a memfd exec tried all through
    the upgrade is never allowed; the profile and unit scope set over D-Bus
    stay; the new daemon takes the pins over."""
    f.boot()
    f.install('deb1')
    f.require_running('precondition: the unit runs')
    v, _ = f.wait_prop('Profile')
    tap.require(v == '"baseline"', 'precondition: the daemon answers on the bus', v)
    r = f.run(['busctl', 'set-property', NAME, OBJ, NAME, 'Profile', 's', 'restricted'])
    tap.ok(r.returncode == 0 and f.prop('Profile') == '"restricted"', 'profile restricted set over D-Bus',
           r.stderr)
    r = f.run(['busctl', 'call', NAME, OBJ, NAME, 'SetUnitProfile', 'ssb', 'fltest-scope.service', 'allow',
               'false'])
    scopes = f.prop('UnitProfiles')
    tap.ok(r.returncode == 0 and 'fltest-scope.service' in (scopes or ''), f'a unit scope set over D-Bus: {scopes}',
           r.stderr)
    tap.require(f.exec_memfd() == 'killed', 'precondition: a memfd exec is killed')
    pid0 = f.show('MainPID')['MainPID']
    pins0 = f.pins()
    tap.require(bool(pins0), 'precondition: the programs are pinned', pins0)
    cursor = f.run(['journalctl', '--show-cursor', '-n0', '-q']).stdout.strip().split('cursor: ')[-1]

    def upgrade():
        r_ = f.install('deb2', f'apt-get install ./filelesslock_{f.debs.v2}_*.deb upgrades the package')
        # Until the new daemon is up, in case it still starts after apt.
        for _ in range(100):
            s_ = f.show('ActiveState', 'MainPID')
            if s_.get('ActiveState') == 'active' and s_.get('MainPID') not in ('0', pid0):
                break
            time.sleep(0.1)
        return r_

    samples, r = run_in_machine_loop(f, upgrade)
    tap.ok('Preparing to unpack' in r.stdout and f.installed_version() == f.debs.v2,
           f'dpkg upgraded {f.debs.v1} to {f.installed_version()}', r.stdout[-1500:])
    res = [x for _, x in samples]
    counts = {k: res.count(k) for k in sorted(set(res))}
    allowed = [(t, x) for t, x in samples if x != 'killed']
    tap.ok(len(res) >= 10 and not allowed,
           f'no gap: every memfd exec tried during the upgrade was killed ({counts})', allowed)
    # The loop really ran while no daemon did: from systemd's "Stopping"
    # of the old daemon to the "Started" (READY=1) of the new one.
    msgs = journal_since(f, cursor, _PID='1', UNIT=UNIT)
    t_stop = next((t for t, m in msgs if m.startswith('Stopping ')), None)
    t_ready = next((t for t, m in msgs if m.startswith('Started ') and t_stop and t > t_stop), None)
    inside = [x for t, x in samples if t_stop and t_ready and t_stop <= t <= t_ready]
    steps = [b - a for (a, _), (b, _) in zip(samples, samples[1:])]
    tap.ok(t_stop and t_ready and len(inside) >= 3,
           f'{len(inside)} of them between the old daemon\'s stop and the new one\'s READY=1 '
           f'({(t_ready or 0) - (t_stop or 0):.3f} s; one try every {1000 * max(steps or [0]):.0f} ms at most)',
           msgs)

    s = f.show('ActiveState', 'SubState', 'MainPID', 'NRestarts')
    tap.ok(s.get('ActiveState') == 'active' and s.get('SubState') == 'running' and s.get('MainPID') != pid0,
           f'the upgrade restarted the daemon (MainPID {pid0} -> {s.get("MainPID")})', s)
    exe = f.run(['readlink', f'/proc/{s.get("MainPID")}/exe']).stdout.strip()
    tap.ok(exe == '/usr/sbin/filelesslockd', f'and it runs the new file ({exe}), not the old one deleted')
    # How the new daemon got to enforce: by taking the pins over, under the
    # unit's bounding set (no CAP_SYS_ADMIN: every object is reached through
    # a pin), so the counters go on and events still in the ring buffer are
    # read; not by attaching anew and replacing them.
    how = [m for _, m in journal_since(f, cursor, _SYSTEMD_UNIT=UNIT)
           if 'taking over' in m or 'Took over' in m or ' pins in ' in m]
    tap.ok(f'Took over the tracepoint programs pinned in {PIN}: enforcement never stopped.' in how
           and f.pins() == pins0, 'the new daemon took the pins over: the same pinned objects',
           (how, pins0, f.pins()))
    tap.ok(f.prop('Profile') == '"restricted"', 'the profile set over D-Bus is kept', f.prop('Profile'))
    scopes = f.prop('UnitProfiles')
    tap.ok('fltest-scope.service' in (scopes or '') and '"allow"' in (scopes or ''),
           f'and the unit scope: {scopes}')
    r = f.run(['cat', DROPIN])
    tap.ok('restricted' in r.stdout, f'{DROPIN} is still there', r.stdout + r.stderr)
    tap.ok(f.exec_memfd() == 'killed', 'a memfd exec after the upgrade is killed')


def test_remove(tap, f):
    """apt-get remove: the service stops, the pins go, the configuration stays."""
    f.boot()
    f.install('deb1')
    f.require_running('precondition: the unit runs')
    tap.require(f.pins() and f.exec_memfd() == 'killed', 'precondition: pinned and enforcing')
    r = f.run(['busctl', 'set-property', NAME, OBJ, NAME, 'Profile', 's', 'restricted'])
    tap.require(r.returncode == 0, 'precondition: profile set over D-Bus', r.stderr)
    r = f.apt('remove', PKG)
    tap.ok(r.returncode == 0, 'apt-get remove filelesslock', r.stderr[-1500:])
    r_ = f.run(['dpkg-query', '-W', '-f=${db:Status-Abbrev}', PKG])
    tap.ok(r_.stdout.strip() == 'rc', f'dpkg: removed, configuration kept ({r_.stdout.strip()})')
    tap.ok(not re.search(f'^{PKG}: ', r.stdout + r.stderr, re.M), 'the maintainer scripts report no failure',
           r.stdout + r.stderr)
    s = f.show('ActiveState', 'LoadState')
    tap.ok(s.get('ActiveState') in ('inactive', 'failed') and s.get('LoadState') == 'not-found',
           'the service is stopped and its unit gone', s)
    r = f.run(['pgrep', '-x', 'filelesslockd'])
    tap.ok(r.returncode == 1, 'no filelesslockd process', r.stdout)
    tap.ok(f.pins() is None and f.run(['test', '-e', os.path.dirname(PIN)]).returncode != 0,
           f'{PIN} and its parent are removed', f.run(['ls', '-lAR', '/sys/fs/bpf']).stdout)
    res = f.exec_memfd()
    tap.ok(res == 'ran', f'nothing enforces any more: a memfd exec {res}')
    r = f.run(['busctl', 'get-property', NAME, OBJ, NAME, 'Profile'])
    tap.ok(r.returncode != 0 and 'was not provided by any .service files' in r.stderr,
           'the bus name is gone and no longer activatable', r.stdout + r.stderr)
    r = f.run(['journalctl', '--list-catalog'])
    tap.ok(MSG_STARTED not in r.stdout, 'the catalog index no longer has our messages')
    present = [p for p in (CONF_DIR + '/filelesslockd.conf', DROPIN) if f.run(['test', '-e', p]).returncode == 0]
    tap.ok(len(present) == 2, 'the configuration stays until purge, the profile set over D-Bus too', present)


def test_purge(tap, f):
    """apt-get purge: the configuration goes, what the daemon wrote too."""
    f.boot()
    f.install('deb1')
    f.require_running('precondition: the unit runs')
    r = f.run(['busctl', 'set-property', NAME, OBJ, NAME, 'Profile', 's', 'restricted'])
    tap.require(r.returncode == 0 and f.run(['test', '-e', DROPIN]).returncode == 0,
                'precondition: profile set over D-Bus, saved in ' + DROPIN, r.stderr)
    r = f.apt('purge', PKG)
    tap.ok(r.returncode == 0 and 'not empty' not in r.stdout + r.stderr, 'apt-get purge filelesslock',
           r.stdout[-1500:] + r.stderr[-1500:])
    r = f.run(['dpkg-query', '-W', '-f=${db:Status-Abbrev}', PKG])
    tap.ok(r.returncode != 0 or r.stdout.strip() in ('un', 'pn', ''), f'dpkg forgot the package ({r.stdout.strip()})')
    r = f.run(['ls', '-lAR', CONF_DIR])
    tap.ok(f.run(['test', '-e', CONF_DIR]).returncode != 0, f'{CONF_DIR} is gone', r.stdout)
    r = f.run(['sh', '-c', 'ls /etc/systemd/system/*/filelesslockd.service '
               '/etc/systemd/system/dbus-org.bpflock.Fileless1.service 2>/dev/null'])
    tap.ok(not r.stdout.strip(), 'no enable symlink is left', r.stdout)
    tap.ok(f.pins() is None and f.run(['pgrep', '-x', 'filelesslockd']).returncode == 1,
           'no daemon and no pins')


if __name__ == '__main__':
    run_cases('integration-package', globals(), setup=Fixture)
