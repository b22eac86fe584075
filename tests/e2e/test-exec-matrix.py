#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every row of threats.md under one profile and backend: a real exec in a
child, its outcome, and the event the daemon wrote for it (or, for the
controls, that it wrote none).

usage: test-exec-matrix.py --backend lsm|tracepoint --profile allow|baseline|restricted

Not tested here: an exec the tracepoint could not kill (bpf_send_signal()
failing) must be logged as kill-failed, never as killed (issue 9). Nothing in
user space can make bpf_send_signal() fail on this kernel: it refuses the
global init (pid 1 of the initial pid namespace), kernel threads and exiting
tasks, none of which a test can make do a fileless exec, and returns EBUSY
when the one signal per CPU it defers to an irq_work is still pending, a
window of microseconds no test can aim at reliably. The daemon's side of it
(kill-failed, priority and message) is covered by
tests/unit/test-event-fields.c (record_priority) and test-event-table.c
(kernel_record).
"""

import argparse
import os
import subprocess
import tempfile

from fltest import Daemon, blocked_action, ensure_bpffs, fl_exec, kernel_feature_skip, lsm_available, on_exit, run_cases

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
# The path spellings a security review found around the tracepoint backend's
# old path parsing: every backend must judge the file itself.
for script in (False, True):
    for via in ('dslash', 'proc-task', 'symlink', 'dirfd', 'relative'):
        FILELESS.append(('memfd', via, script))
    FILELESS += [('deleted', 'dirfd', script), ('tmpfile', 'symlink', script)]

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


# Cases the profiles stop, run with nothing of ours attached: they run (so a
# "killed" or "denied" in the matrix is our program's doing) and raise no
# event.
UNATTACHED = [('memfd', 'proc-self', False), ('memfd', 'execveat', True), ('tmpfile', 'execveat', False),
              ('shm-unlinked', 'proc-self', False), ('deleted', 'proc-self', True)]


def unattached_controls(tap, when, workdir, seq):
    names = []
    for kind, via, script in UNATTACHED:
        name = f'fltest-unattached-{os.getpid()}-{seq}-{len(names)}'
        names.append(name)
        r = fl_exec(kind, via, script=script, name=name, directory=workdir)
        tap.ok(r['rc'] == 0 and r.get('result') == 'ran',
               f'{when}: {kind} via {via}{" (#! script)" if script else ""} runs with nothing attached', r)
    return names


class Sentinel:
    """A later fileless exec whose event shows that every event raised
    before it has been delivered: events arrive in order."""

    def __init__(self, d, prefix):
        self.d = d
        self.prefix = prefix
        self.n = 0
        self.missed = 0

    def timeout(self):
        """How long to wait for an event: once one sentinel went missing,
        events are not being delivered, and every row fails quickly rather
        than the whole test timing out."""
        return 1 if self.missed else 10

    def __call__(self, after):
        self.n += 1
        name = f'sentinel-{os.getpid()}-{self.n}'
        fl_exec('memfd', 'proc-self', name=name, prefix=self.prefix)
        seen = bool(self.d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == f'memfd:{name}', after=after,
                                      timeout=self.timeout()))
        self.missed += not seen
        return seen


def truth(r, origin):
    """The fields fl-exec's own facts predict, for every origin: the pids as
    the initial pid namespace sees them (SO_PASSCRED), fl-exec's gid, comm
    and pid namespace (the exec'ing child's parent, in the same namespace)."""
    return {
        'FILELESS_PID': r.get('child_pid'),
        'OBJECT_PID': r.get('child_pid'),
        'FILELESS_PPID': r.get('parent_pid'),
        'FILELESS_GID': r.get('gid'),
        'FILELESS_PARENT_COMM': r.get('comm'),
        'FILELESS_PID_NAMESPACE': r.get('pidns'),
        'FILELESS_PID_NAMESPACE_LEVEL': '0' if origin == 'host' else '1',
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--backend', required=True, choices=('lsm', 'fmod_ret', 'tracepoint'))
    ap.add_argument('--profile', required=True, choices=('allow', 'baseline', 'restricted'))
    a = ap.parse_args()
    run_cases(f'exec-matrix {a.backend} {a.profile}', {'test_matrix': lambda tap: matrix(tap, a)}, argv=[])


def matrix(tap, a):
    ensure_bpffs()
    # Only the qemu tier (tests/vm) runs this with lsm; there the LSM is live.
    tap.require(a.backend != 'lsm' or lsm_available(),
                'the BPF LSM is active on this kernel (run the lsm matrix in the qemu tier)')

    in_vm = os.environ.get('FILELESSLOCK_IN_VM') == '1'
    no_prepare_exec = os.environ.get('FILELESSLOCK_VM_KERNEL') == '6.1'
    # On 6.1 the guest's root is an overlay, which refuses O_TMPFILE.
    workdir = '/run' if in_vm else '/tmp'
    tmpfs = tmpfs_dir()
    huge = hugepages_reserve()

    d = Daemon(tap)
    tap.require(not os.path.exists(d.pin), f'nothing is pinned at {d.pin} yet')
    unattached = unattached_controls(tap, 'before the daemon', workdir, 'before')

    ready = d.start(f'--profile={a.profile}', f'--backend={a.backend}')
    tap.require(ready, f'daemon ready with --profile={a.profile} --backend={a.backend}')
    status = d.notify_value('STATUS') or ''
    tap.ok(a.profile in status and a.backend in status, 'STATUS= names the profile and the backend', status)

    blocked = blocked_action(a.backend)
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
        sentinel = Sentinel(d, prefix)

        for kind, via, script in FILELESS:
            seq += 1
            name = f'fltest-{os.getpid()}-{seq}'
            desc = f'{origin}: {kind} via {via}{" (#! script)" if script else ""}'
            if kind == 'memfd-hugetlb' and not huge:
                tap.skip(desc, kernel_feature_skip('huge pages to reserve for MFD_HUGETLB', 'vm'))
                continue
            seen = len(d.events())
            r = fl_exec(kind, via, script=script, name=name, directory=workdir, prefix=prefix, creds=True)
            if r['rc'] == 77 and kind == 'memfd-hugetlb':  # fl-exec: the kernel refused a huge page
                tap.skip(desc, kernel_feature_skip(f'MFD_HUGETLB memory ({r["stderr"]})', 'vm'))
                continue
            if not tap.ok(r['rc'] == 0 and r.get('result') == expect_result,
                          f'{desc}: exec {expect_result}', r):
                continue
            # Every backend knows the file itself, a #! script's too (the
            # tracepoint backend from its pending release): inode and device.
            def pred(e):
                return e.get('FILELESS_INODE') == r['ino'] and e.get('FILELESS_DEVICE') == r['dev']
            first = d.wait_event(pred, after=seen, timeout=sentinel.timeout())
            # A duplicate would come before a later exec's event.
            later = sentinel(seen)
            evs = [e for e in d.events()[seen:] if pred(e)]
            if not tap.ok(first and later and len(evs) == 1,
                          f'{desc}: exactly one event, counted once a later exec\'s event arrived', (later, evs)):
                continue
            e = evs[0]
            want = {
                'FILELESS_ACTION': expect_action,
                'FILELESS_KIND': REPORTED_KIND.get(kind, kind),
                'FILELESS_PROFILE': a.profile,
                'FILELESS_BACKEND': a.backend,
                'FILELESS_SCRIPT': '1' if script else '0',
                'FILELESS_UID': str(os.getuid()),
                'FILELESS_FILE_NAME': expected_file_name(kind, r, name),
                'FILELESS_OPERATION': 'exec',
                # The name and program before the exec; the tracepoint
                # backend has the program only from 6.10 (sched_prepare_exec).
                'FILELESS_COMM': 'fl-exec',
                'FILELESS_PROGRAM': '' if a.backend == 'tracepoint' and no_prepare_exec else 'fl-exec',
                'PRIORITY': '5' if expect_action == 'allowed' else '4',
                **truth(r, origin),
            }
            if origin == 'host':
                want['FILELESS_PID'] = r['child']
            if r['path']:
                want['FILELESS_EXEC_PATH'] = r['path']
            bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v or v is None}
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
            later = sentinel(seen)
            evs = [e for e in d.events()[seen:] if not e.get('FILELESS_FILE_NAME', '').startswith('memfd:sentinel-')]
            tap.ok(later and not evs, f'{desc}: not reported (a later exec\'s event arrived, none for it)',
                   (later, evs))

    evs = [e for e in d.events() if any(n in e.get('FILELESS_FILE_NAME', '') for n in unattached)]
    tap.ok(not evs, 'the execs run before the daemon started raised no event', evs)
    tap.ok(d.proc.poll() is None, 'daemon still running at the end')
    rc = d.stop()
    tap.ok(rc == 0, 'SIGTERM: clean exit', rc)
    res = d.disable()
    tap.ok(res.returncode == 0 and not os.path.exists(d.pin), '--disable removes the pins', res)
    unattached_controls(tap, 'after --disable', workdir, 'after')


if __name__ == '__main__':
    main()
