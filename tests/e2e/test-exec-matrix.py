#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every row of threats.md under one profile and backend: a real exec in a
child, its outcome, and the event the daemon wrote for it (or, for the
controls, that it wrote none).

usage: test-exec-matrix.py --backend lsm|tracepoint --profile allow|baseline|restricted
"""

import argparse
import os
import subprocess
import tempfile

from fltest import TAP, Daemon, ensure_bpffs, fl_exec, lsm_available, on_exit

# (fl-exec kind, via, script) -> the kind the daemon must report
FILELESS = []
for script in (False, True):
    for via in ('proc-self', 'dev-fd', 'execveat', 'fexecve', 'proc-pid'):
        FILELESS.append(('memfd', via, script))
    for kind, via in (('shm', 'path'), ('shm', 'proc-self'), ('shm', 'execveat'),
                      ('shm-unlinked', 'proc-self'), ('shm-unlinked', 'execveat'),
                      ('tmpfile', 'proc-self'), ('tmpfile', 'dev-fd'), ('tmpfile', 'execveat'),
                      ('tmpfile', 'proc-pid'),
                      ('deleted', 'proc-self'), ('deleted', 'execveat'), ('deleted', 'proc-pid')):
        FILELESS.append((kind, via, script))
FILELESS += [('memfd-hugetlb', 'proc-self', True), ('memfd-hugetlb', 'execveat', True)]

CONTROLS = []
for script in (False, True):
    CONTROLS += [('ordinary', 'path', script),
                 ('tmpfile-linked', 'path', script), ('tmpfile-linked', 'proc-self', script),
                 ('tmp-linked', 'path', script), ('tmp-linked', 'proc-self', script),
                 ('tmp-linked-tmpfs', 'path', script), ('tmp-linked-tmpfs', 'proc-self', script)]

REPORTED_KIND = {'memfd-hugetlb': 'memfd', 'shm-unlinked': 'shm'}


def hugepages_reserve():
    """MFD_HUGETLB needs reserved huge pages; reserve a few and put the
    setting back afterwards. Returns False when the kernel has none to give."""
    path = '/proc/sys/vm/nr_hugepages'
    try:
        with open(path) as f:
            old = f.read().strip()
        if int(old) < 4:
            with open(path, 'w') as f:
                f.write('4')
            on_exit(lambda: open(path, 'w').write(old))
        with open(path) as f:
            return int(f.read()) > 0
    except OSError:
        return False


def tmpfs_dir():
    """A still-linked file on a tmpfs that is not /dev/shm is no fileless exec."""
    d = tempfile.mkdtemp(prefix='fltest-tmpfs-')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', d], check=True)
    on_exit(lambda: (subprocess.run(['umount', '-l', d]), os.rmdir(d)))
    return d


def expected_file_name(kind, r, name):
    k = REPORTED_KIND.get(kind, kind)
    if k == 'memfd':
        return f'memfd:{name}'
    if k == 'shm':
        return f'/dev/shm/{name}'
    if k == 'tmpfile':
        return f'#{r["ino"]}'
    return name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--backend', required=True, choices=('lsm', 'tracepoint'))
    ap.add_argument('--profile', required=True, choices=('allow', 'baseline', 'restricted'))
    a = ap.parse_args()

    tap = TAP(f'exec-matrix {a.backend} {a.profile}')
    ensure_bpffs()
    if a.backend == 'lsm' and not lsm_available():
        # Only the qemu tier (tests/vm) runs this with lsm; there the LSM is live.
        tap.ok(False, 'the BPF LSM is active on this kernel (run the lsm matrix in the qemu tier)')
        tap.done()

    in_vm = os.environ.get('FILELESSLOCK_IN_VM') == '1'
    # On 6.1 the guest's root is an overlay, which refuses O_TMPFILE.
    workdir = '/run' if in_vm else '/tmp'
    tmpfs = tmpfs_dir()
    huge = hugepages_reserve()

    d = Daemon(tap)
    ready = d.start(f'--profile={a.profile}', f'--backend={a.backend}')
    tap.ok(ready, f'daemon ready with --profile={a.profile} --backend={a.backend}')
    if not ready:
        tap.done()
    status = d.notify_value('STATUS') or ''
    tap.ok(a.profile in status and a.backend in status, 'STATUS= names the profile and the backend', status)

    blocked = 'denied' if a.backend == 'lsm' else 'killed'
    # Baseline allows the initial pid namespace and blocks the others: run
    # each case from both. The other profiles do not look at namespaces.
    origins = [('host', ())]
    if a.profile == 'baseline':
        origins.append(('pidns', ('unshare', '--pid', '--fork', '--mount-proc')))

    seq = 0
    for origin, prefix in origins:
        expect_action = {'allow': 'allowed', 'restricted': blocked,
                         'baseline': 'allowed' if origin == 'host' else blocked}[a.profile]
        expect_result = 'ran' if expect_action == 'allowed' else expect_action

        for kind, via, script in FILELESS:
            seq += 1
            name = f'fltest-{os.getpid()}-{seq}'
            desc = f'{origin}: {kind} via {via}{" (#! script)" if script else ""}'
            if kind == 'memfd-hugetlb' and not huge:
                tap.skip(desc, 'no huge pages can be reserved on this kernel')
                continue
            seen = len(d.events())
            r = fl_exec(kind, via, script=script, name=name, directory=workdir, prefix=prefix)
            if r['rc'] == 77:
                tap.skip(desc, r['stderr'])
                continue
            if not tap.ok(r['rc'] == 0 and r.get('result') == expect_result,
                          f'{desc}: exec {expect_result}', r):
                continue
            # The tracepoint backend knows a #! script run by its /dev/shm path
            # only by that path (see fileless-tp.bpf.c): no inode, no device.
            by_path = a.backend == 'tracepoint' and script and via == 'path'
            if by_path:
                evs = d.wait_event(lambda e: e.get('FILELESS_EXEC_PATH') == r['path'], after=seen)
            else:
                evs = d.wait_event(lambda e: e.get('FILELESS_INODE') == r['ino'] and e.get('FILELESS_DEVICE') == r['dev'],
                                   after=seen)
            if not tap.ok(len(evs) == 1, f'{desc}: exactly one event', evs):
                continue
            e = evs[0]
            want = {
                'FILELESS_ACTION': expect_action,
                'FILELESS_KIND': REPORTED_KIND.get(kind, kind),
                'FILELESS_PROFILE': a.profile,
                'FILELESS_BACKEND': a.backend,
                'FILELESS_SCRIPT': '1' if script else '0',
                'FILELESS_UID': str(os.getuid()),
                'FILELESS_FILE_NAME': r['path'] if by_path else expected_file_name(kind, r, name),
                'PRIORITY': '5' if expect_action == 'allowed' else '4',
            }
            if origin == 'host':
                want['FILELESS_PID'] = r['child']
                want['FILELESS_PID_NAMESPACE_LEVEL'] = '0'
            else:
                want['FILELESS_PID_NAMESPACE_LEVEL'] = '1'
            if r['path']:
                want['FILELESS_EXEC_PATH'] = r['path']
            bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
            tap.ok(not bad, f'{desc}: event fields', bad)

        for kind, via, script in CONTROLS:
            seq += 1
            name = f'fltest-{os.getpid()}-{seq}'
            desc = f'{origin}: control {kind} via {via}{" (#! script)" if script else ""}'
            directory = tmpfs if kind == 'tmp-linked-tmpfs' else workdir
            fkind = 'tmp-linked' if kind == 'tmp-linked-tmpfs' else kind
            seen = len(d.events())
            r = fl_exec(fkind, via, script=script, name=name, directory=directory, prefix=prefix)
            if not tap.ok(r['rc'] == 0 and r.get('result') == 'ran', f'{desc}: runs', r):
                continue
            # Events arrive in order: once a later fileless exec has been
            # reported, an event for the control would have been too.
            s = fl_exec('memfd', 'proc-self', name=f'sentinel-{seq}', prefix=prefix)
            d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == f'memfd:sentinel-{seq}', after=seen)
            evs = [e for e in d.events()[seen:] if not e.get('FILELESS_FILE_NAME', '').startswith('memfd:sentinel-')]
            tap.ok(not evs, f'{desc}: not reported', evs)

    tap.ok(d.proc.poll() is None, 'daemon still running at the end')
    rc = d.stop()
    tap.ok(rc == 0, 'SIGTERM: clean exit', rc)
    tap.done()


if __name__ == '__main__':
    main()
