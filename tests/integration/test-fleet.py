#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fleet collection with systemd's own transport: a host running
filelesslockd ships its journal with systemd-journal-upload over HTTPS to a
collector running systemd-journal-remote, and there the fileless events are
queried by their FILELESS_* fields, with the catalog and with
filelesslockctl events -D.

Two machines (sysns.py), each a real systemd as PID 1 with this build
installed by `meson install --destdir`: the sender "flsender" (filelesslockd
enabled, profile allow then restricted) and the collector "flcollector"
(systemd-journal-remote.socket, the catalog, no daemon). They are joined by a
veth pair created straight into their network namespaces (nothing appears in
the host's). The TLS keys are made here with openssl: a CA, a server
certificate for flcollector, a client certificate for flsender. The
configuration is the README's ("Collecting events from a fleet"), with
flcollector for the collector's name: FLEET_* below.

Each test_* function is a case with a fresh pair: test-fleet.py [CASE...].
tests/meson.build registers each as integration-fleet-CASE."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))

import sysns  # noqa: E402
from fltest import MSG_EXEC, MSG_STARTED, on_exit, run_cases  # noqa: E402

BUILD = os.environ['FL_BUILD_DIR']
FL_EXEC = os.environ['FL_EXEC']
FL_FIELDS = os.environ['FL_FIELDS']
IN_FL_EXEC = '/usr/local/libexec/fl-exec'
NAME = 'org.bpflock.Fileless1'
PATH = '/org/bpflock/Fileless1'
UNIT = 'filelesslockd.service'
REMOTE_DIR = '/var/log/journal/remote'
SENDER, COLLECTOR = 'flsender', 'flcollector'
SENDER_ADDR, COLLECTOR_ADDR = '192.168.251.2', '192.168.251.1'

# The README's configuration (the collector named flcollector).
FLEET_UPLOAD_CONF = '''[Upload]
URL=https://flcollector:19532
ServerKeyFile=/etc/filelesslock/fleet/upload.key
ServerCertificateFile=/etc/filelesslock/fleet/upload.crt
TrustedCertificateFile=/etc/filelesslock/fleet/ca.crt
'''
FLEET_REMOTE_CONF = '''[Remote]
SplitMode=host
ServerKeyFile=/etc/filelesslock/fleet/remote.key
ServerCertificateFile=/etc/filelesslock/fleet/remote.crt
TrustedCertificateFile=/etc/filelesslock/fleet/ca.crt
'''


def openssl(*args, cwd):
    subprocess.run(['openssl', *args], cwd=cwd, check=True, capture_output=True)


def make_keys(d):
    """A CA, and a certificate signed by it for each side (the name each is
    reached by as its subjectAltName). Returns {file name: bytes}."""
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=fleet test CA',
            '-keyout', 'ca.key', '-out', 'ca.crt', cwd=d)
    for name, host in (('remote', COLLECTOR), ('upload', SENDER)):
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', f'/CN={host}', '-keyout', f'{name}.key',
                '-out', f'{name}.csr', cwd=d)
        with open(os.path.join(d, f'{name}.ext'), 'w') as f:
            f.write(f'subjectAltName=DNS:{host}\n')
        openssl('x509', '-req', '-in', f'{name}.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
                '-days', '2', '-extfile', f'{name}.ext', '-out', f'{name}.crt', cwd=d)
    out = {}
    for n in ('ca.crt', 'remote.key', 'remote.crt', 'upload.key', 'upload.crt'):
        with open(os.path.join(d, n), 'rb') as f:
            out[n] = f.read()
    return out


def table_fields():
    """The journal fields of the event table (src/event-fields.c), as
    fl-fields prints it: {name: optional}."""
    rows = json.loads(subprocess.run([FL_FIELDS], check=True, capture_output=True, text=True).stdout)['fields']
    return {r['journal']: r['optional'] for r in rows}


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


class Fleet:
    """The two machines, joined, the collector listening, the sender's
    daemon enforcing allow; one memfd exec allowed, then under restricted
    one killed; the upload started. Waits until both events are in the
    collector's files."""

    def __init__(self, tap):
        self.tap = tap
        tap.require(os.environ.get('FL_PREFIX', '/usr') == '/usr', 'the build is configured with --prefix=/usr',
                    f'prefix is {os.environ.get("FL_PREFIX")}')
        tmp = tempfile.mkdtemp(prefix='fl-fleet-')
        on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
        dest = os.path.join(tmp, 'dest')
        p = subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--quiet', '--destdir', dest],
                           capture_output=True, text=True)
        tap.require(p.returncode == 0, 'meson install --destdir succeeds', p.stdout + p.stderr)
        os.makedirs(os.path.join(dest, 'usr/local/libexec'), exist_ok=True)
        shutil.copy(FL_EXEC, os.path.join(dest, IN_FL_EXEC.lstrip('/')))
        keys_dir = os.path.join(tmp, 'keys')
        os.mkdir(keys_dir, 0o700)
        keys = make_keys(keys_dir)
        with open('/etc/hosts') as f:
            hosts = f.read() + f'{COLLECTOR_ADDR} {COLLECTOR}\n{SENDER_ADDR} {SENDER}\n'
        fleet = '/etc/filelesslock/fleet/'
        common = {'/etc/hosts': hosts, fleet + 'ca.crt': keys['ca.crt']}
        self.collector = sysns.Machine(destdir=dest, hostname=COLLECTOR, extra_files={
            **common,
            '/etc/systemd/journal-remote.conf.d/fleet.conf': FLEET_REMOTE_CONF,
            fleet + 'remote.crt': keys['remote.crt'],
            fleet + 'remote.key': (keys['remote.key'], 0o640),
        })
        self.sender = sysns.Machine(destdir=dest, hostname=SENDER, extra_files={
            **common,
            '/etc/systemd/journal-upload.conf.d/fleet.conf': FLEET_UPLOAD_CONF,
            fleet + 'upload.crt': keys['upload.crt'],
            fleet + 'upload.key': (keys['upload.key'], 0o640),
            # The machine is a pid namespace: baseline would stop everything in it.
            '/etc/filelesslock/filelesslockd.conf.d/50-fltest.conf': '[Fileless]\nProfile=allow\n',
        })
        for m in (self.collector, self.sender):
            on_exit(m.shutdown)
            t0 = time.monotonic()
            m.boot(timeout=60)
            tap.note(f'{m.hostname} booted in {time.monotonic() - t0:.1f} s')
            tap.diag_on_failure.append(m.diagnostics)
        tap.logs_on_failure.append(lambda: ('journal of the collector\'s systemd-journal-remote',
                                            self.collector.journal(unit='systemd-journal-remote.service')))
        tap.logs_on_failure.append(lambda: ('journal of the sender\'s systemd-journal-upload',
                                            self.sender.journal(unit='systemd-journal-upload.service')))

        # One veth pair, each end created in its machine's network namespace.
        r = subprocess.run(['ip', 'link', 'add', 'fleet0', 'netns', str(self.collector.pid1), 'type', 'veth',
                            'peer', 'name', 'fleet0', 'netns', str(self.sender.pid1)], capture_output=True, text=True)
        tap.require(r.returncode == 0, 'precondition: a veth pair between the two machines', r.stderr)
        for m, addr in ((self.collector, COLLECTOR_ADDR), (self.sender, SENDER_ADDR)):
            r = m.run(['sh', '-c', f'ip addr add {addr}/24 dev fleet0 && ip link set fleet0 up'])
            tap.require(r.returncode == 0, f'precondition: {m.hostname} has {addr}', r.stderr)

        # The keys readable by the services' users, as the README says.
        c, s = self.collector, self.sender
        r = c.run(['sh', '-c', 'chgrp systemd-journal-remote /etc/filelesslock/fleet/remote.key && '
                   'journalctl --update-catalog && systemctl enable --now systemd-journal-remote.socket'])
        tap.require(r.returncode == 0, 'collector: systemd-journal-remote.socket listening, catalog installed',
                    r.stderr)
        r = s.run(['sh', '-c', 'chgrp systemd-journal /etc/filelesslock/fleet/upload.key && '
                   'systemctl enable --now filelesslockd.service'], timeout=60)
        tap.require(r.returncode == 0, 'sender: filelesslockd enabled and running', r.stderr)

        self.allowed = self.exec_in_unit('fleet-allowed')
        tap.require('result=ran' in self.allowed, 'sender: under allow, a memfd exec runs', self.allowed)
        r = s.run(['busctl', 'set-property', NAME, PATH, NAME, 'Profile', 's', 'restricted'])
        tap.require(r.returncode == 0, 'sender: profile restricted', r.stderr)
        self.killed = self.exec_in_unit('fleet-killed')
        tap.require('result=killed' in self.killed, 'sender: under restricted, a memfd exec is killed', self.killed)

        r = s.run(['systemctl', 'enable', '--now', 'systemd-journal-upload.service'], timeout=60)
        tap.require(r.returncode == 0, 'sender: systemd-journal-upload enabled and started', r.stderr)
        self.remote = {}
        for _ in range(300):
            r = c.run(['journalctl', '-D', REMOTE_DIR, '-o', 'json', f'MESSAGE_ID={MSG_EXEC}'])
            self.remote = {e.get('FILELESS_FILE_NAME'): e for e in json_lines(r.stdout)}
            if {'memfd:fleet-allowed', 'memfd:fleet-killed'} <= set(self.remote):
                break
            time.sleep(0.1)
        tap.require({'memfd:fleet-allowed', 'memfd:fleet-killed'} <= set(self.remote),
                    'both events reach the collector\'s journal files', r.stdout[-2000:] + r.stderr)

    def exec_in_unit(self, name):
        r = self.sender.run(['systemd-run', '--wait', '--pipe', '--quiet', f'--unit={name}', IN_FL_EXEC,
                             '--name', name, 'memfd', 'proc-self'], timeout=60)
        return r.stdout + r.stderr

    def local_entry(self, name):
        r = self.sender.run(['journalctl', '-o', 'json', f'MESSAGE_ID={MSG_EXEC}', f'FILELESS_FILE_NAME=memfd:{name}'])
        lines = json_lines(r.stdout)
        return lines[-1] if lines else {}

    def remote_query(self, *matches, args=()):
        r = self.collector.run(['journalctl', '-D', REMOTE_DIR, '--no-pager', *args, *matches])
        return r


def test_fields(tap, f):
    """Every FILELESS_* field arrives intact: the collector's entry equals
    the sender's own, field by field, and has every row of the event
    table."""
    table = table_fields()
    for name in ('fleet-allowed', 'fleet-killed'):
        local, remote = f.local_entry(name), f.remote[f'memfd:{name}']
        fields = sorted(k for k in local if k.startswith('FILELESS_'))
        differ = {k: (local.get(k), remote.get(k)) for k in set(fields) | {k for k in remote if k.startswith('FILELESS_')}
                  if local.get(k) != remote.get(k)}
        tap.ok(fields and not differ, f'{name}: all {len(fields)} FILELESS_* fields equal on sender and collector',
               differ)
        missing = [k for k, optional in table.items() if not optional and k not in remote]
        tap.ok(not missing, f'{name}: the collector\'s entry has every required row of the event table', missing)
        same = ['MESSAGE', 'MESSAGE_ID', 'PRIORITY', 'SYSLOG_IDENTIFIER', 'OBJECT_PID', '_SYSTEMD_UNIT', '_UID',
                '_COMM', '_HOSTNAME', '_MACHINE_ID', '__REALTIME_TIMESTAMP']
        differ = {k: (local.get(k), remote.get(k)) for k in same if local.get(k) != remote.get(k) or k not in local}
        tap.ok(not differ, f'{name}: message, MESSAGE_ID, priority and the trusted fields arrive unchanged', differ)
    remote = f.remote['memfd:fleet-allowed']
    tap.ok(remote.get('_HOSTNAME') == SENDER and f.collector.run(['hostname']).stdout.strip() == COLLECTOR,
           'the entry names the sender\'s host, not the collector\'s', remote.get('_HOSTNAME'))
    expect = {'FILELESS_KIND': 'memfd', 'FILELESS_ACTION': 'allowed', 'FILELESS_PROFILE': 'allow',
              'FILELESS_UNIT': 'fleet-allowed.service', 'FILELESS_EXEC_PATH': '/proc/self/fd/3', 'PRIORITY': '5'}
    got = {k: remote.get(k) for k in expect}
    tap.ok(got == expect, 'the collected allowed exec says what happened', got)
    killed = f.remote['memfd:fleet-killed']
    got = {k: killed.get(k) for k in ('FILELESS_ACTION', 'FILELESS_PROFILE', 'PRIORITY')}
    tap.ok(got == {'FILELESS_ACTION': 'killed', 'FILELESS_PROFILE': 'restricted', 'PRIORITY': '4'},
           'the collected killed exec says what happened', got)


def test_queries(tap, f):
    """The README's queries on the collector."""
    r = f.remote_query('FILELESS_KIND=memfd', '-o', 'json')
    names = sorted(e.get('FILELESS_FILE_NAME') for e in json_lines(r.stdout))
    tap.ok(r.returncode == 0 and names == ['memfd:fleet-allowed', 'memfd:fleet-killed'],
           'journalctl -D … FILELESS_KIND=memfd -o json: exactly the two memfd events', (names, r.stderr))
    r = f.remote_query('FILELESS_ACTION=killed', 'FILELESS_ACTION=denied', f'_HOSTNAME={SENDER}', '-o', 'json')
    names = [e.get('FILELESS_FILE_NAME') for e in json_lines(r.stdout)]
    tap.ok(r.returncode == 0 and names == ['memfd:fleet-killed'],
           'FILELESS_ACTION=killed FILELESS_ACTION=denied _HOSTNAME=flsender: the blocked one only', names)
    r = f.remote_query('FILELESS_UNIT=fleet-allowed.service', '-o', 'json')
    names = [e.get('FILELESS_FILE_NAME') for e in json_lines(r.stdout)]
    tap.ok(names == ['memfd:fleet-allowed'], 'FILELESS_UNIT=fleet-allowed.service: by the unit that did it', names)
    r = f.remote_query(args=['-F', 'FILELESS_ACTION'])
    tap.ok(sorted(r.stdout.split()) == ['allowed', 'killed'], 'journalctl -D … -F FILELESS_ACTION lists the outcomes',
           r.stdout)
    r = f.remote_query(f'MESSAGE_ID={MSG_STARTED}', '-o', 'json')
    starts = json_lines(r.stdout)
    tap.ok(starts and starts[-1].get('FILELESS_BACKEND') == 'tracepoint' and 'FILELESS_UNSEEN' in starts[-1],
           'the start entry (backend, what it cannot see) is collected too',
           [{k: v for k, v in e.items() if k.startswith('FILELESS_')} for e in starts])
    r = f.collector.run(['filelesslockctl', 'events', '-D', REMOTE_DIR, '--json'])
    evs = json_lines(r.stdout) if r.returncode == 0 else []
    names = sorted(e.get('FileName') for e in evs)
    tap.ok(names == ['memfd:fleet-allowed', 'memfd:fleet-killed'],
           'filelesslockctl events -D on the collector lists the sender\'s events', (names, r.stdout, r.stderr))
    r = f.collector.run(['filelesslockctl', 'events', '-D', REMOTE_DIR])
    tap.ok(r.returncode == 0 and 'killed memfd memfd:fleet-killed' in r.stdout,
           'and prints them for a human', r.stdout + r.stderr)
    tap.note('collector: journalctl -D ' + REMOTE_DIR + ' FILELESS_KIND=memfd -o json (first entry):\n' +
             json.dumps(f.remote['memfd:fleet-allowed'], indent=1, sort_keys=True))


def test_catalog(tap, f):
    """journalctl -x on the collector explains the collected entries with
    this project's catalog, installed there."""
    r = f.remote_query(f'MESSAGE_ID={MSG_EXEC}', 'FILELESS_FILE_NAME=memfd:fleet-killed', args=['-x'])
    tap.ok('Subject: Fileless execution killed: memfd:fleet-killed (memfd)' in r.stdout and
           'Defined-By: filelesslock' in r.stdout,
           'journalctl -D … -x shows the catalog text, with the entry\'s own fields filled in', r.stdout[-1500:])
    tap.note('collector: journalctl -D ' + REMOTE_DIR + ' -x …:\n' + r.stdout)
    # The text comes from the reading host's catalog, not from the entry:
    # the sender never ran journalctl --update-catalog, and shows none.
    r = f.sender.run(['journalctl', '-x', '--no-pager', f'MESSAGE_ID={MSG_EXEC}',
                      'FILELESS_FILE_NAME=memfd:fleet-killed'])
    tap.ok('Killed fileless execution' in r.stdout and 'Subject: Fileless execution' not in r.stdout,
           'the sender, whose catalog index lacks it, shows the entry without the text: the collector needs the '
           'catalog installed', r.stdout[-800:])


if __name__ == '__main__':
    run_cases('integration-fleet', globals(), setup=Fleet)
