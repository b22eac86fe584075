#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Code run from a fileless file without an exec of it (ld.so run as a
program, dlopen, LD_PRELOAD, LD_AUDIT, a PT_INTERP the kernel maps itself,
mmap and mprotect by hand), execs of the less obvious fileless kinds (a
container's /dev/shm, a user namespace's tmpfs, a detached mount, an overlay
file deleted in its upper layer), and the controls that must keep working
(the JIT double mapping, an ordinary dynamic program, a ctypes callback):
each one a real experiment by tests/helpers/fl-load.c, as root and as an
unprivileged user, under one profile and backend, with the event the daemon
wrote for it (or, for a control, that it wrote none).

usage: test-loaders.py [--fl-load PATH] [--tracepoint-mappings yes|no]
                       --backend lsm|fmod_ret|tracepoint
                       --profile allow|baseline|restricted

Every case prints a line "# outcome backend=B kernel=K profile=P user=U
origin=O technique=T result=R event=OP:ACTION:KIND [program=...]";
    test-loaders.py --table LOG...
turns those lines (of any number of logs) into the technique x backend x
profile table, in Markdown.
"""

import argparse
import os
import re
import subprocess
import sys

import fltest
from fltest import TAP, Daemon, ensure_bpffs, fl_exec, kernel_feature_skip, lsm_available

CONTROLS = ('jit', 'ordinary-dynamic', 'ctypes')

# How a stopped case ends, per backend. lsm and fmod_ret refuse the exec or
# the mapping with EPERM ("denied"), except for a PT_INTERP: the kernel maps
# the interpreter after exec's point of no return, where a failure can only
# kill the new image (SIGSEGV, fs/exec.c bprm_execve). The tracepoint backend
# kills the task (SIGKILL) before the code runs.
def stopped(backend, technique):
    if backend == 'tracepoint':
        return 'killed', 'SIGKILL'
    if technique == 'interp':
        return 'killed', 'SIGSEGV'
    return 'denied', 'none'


def fl_load(exe, technique, name, prefix=(), user_arg=None, directory=None, timeout=120):
    """Runs one fl-load experiment; returns its key=value facts (plus rc,
    stdout, stderr)."""
    cmd = [*prefix, exe]
    if user_arg:
        cmd += ['--user', user_arg]
    cmd += ['--name', name]
    if directory:
        cmd += ['--dir', directory]
    cmd.append(technique)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = {'rc': p.returncode, 'stderr': p.stderr.strip(), 'stdout': p.stdout.strip(), 'cmd': ' '.join(cmd)}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', p.stdout):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace('\\\\', '\\')
        out[m.group(1)] = v
    return out


def skip_reason(stderr, covered_by):
    """fl-load's "kernel feature: ..." line (exit 77), with the tier that
    covers the case (tests/tap-results.py requires one)."""
    what = None
    for line in stderr.splitlines():
        m = re.search(r'skip: kernel feature: (.*)', line)
        if m:
            what = m.group(1)
    if what is None:
        what = stderr.splitlines()[-1] if stderr else 'fl-load exited 77'
    return kernel_feature_skip(what, covered_by)


def techniques(exe):
    p = subprocess.run([exe, '--list'], capture_output=True, text=True, check=True)
    return p.stdout.split()


def expected_kind(r):
    """What FILELESS_KIND must say. Without root, fl-load makes its mounts in
    a user namespace of its own (as a rootless container runtime does); the
    daemon then ranks the kinds (bpf/fileless-common.bpf.h classify()):
    shm (a tmpfs at /dev/shm) and deleted come before userns, which comes
    before detached."""
    if r.get('userns') == '1' and r['kind'] == 'detached':
        return 'userns'
    return r['kind']


OUTCOME_RE = re.compile(r'^# outcome (.*)$')
RUN_RE = re.compile(r'^# loaders-run (.*)$')
KV_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
NOT_OK_RE = re.compile(r'^not ok \d+ - (\w+)/(\w+): ([\w-]+): ')


def table(paths):
    """The technique x backend x profile table from test logs: one column per
    backend, kernel and profile, one row per technique; a cell lists what
    each user/origin measured (result [event]), marked FAIL where the test
    said "not ok" for that case."""
    cells, columns, techniques_seen = {}, [], []
    for path in paths:
        # A log may hold several runs (meson's testlog.txt): "# loaders-run"
        # starts each, and says which column its "not ok" lines belong to.
        failed = set()
        outcomes = []
        run = None
        with open(path, errors='replace') as f:
            for line in f:
                m = RUN_RE.search(line)
                if m:
                    run = tuple(dict(KV_RE.findall(m.group(1))).get(k) for k in ('backend', 'kernel', 'profile'))
                m = NOT_OK_RE.match(line)
                if m:
                    failed.add((run, *m.groups()))
                m = OUTCOME_RE.search(line)
                if m:
                    outcomes.append({k: v.strip('"') for k, v in KV_RE.findall(m.group(1))})
        for o in outcomes:
            col = (o['backend'], o['kernel'], o['profile'])
            if col not in columns:
                columns.append(col)
            if o['technique'] not in techniques_seen:
                techniques_seen.append(o['technique'])
            text = o['result']
            if o['result'] == 'skip':
                text = 'skip'
            elif o.get('event') not in (None, 'none'):
                text += f' [{o["event"]}]'
            if (col, o['user'], o['origin'], o['technique']) in failed:
                text = '**FAIL** ' + text
            cells.setdefault((o['technique'], col), []).append((f'{o["user"]}/{o["origin"]}', text))

    def cell(entries):
        groups = {}
        for who, text in entries:
            groups.setdefault(text, []).append(who)
        if len(groups) == 1:
            return next(iter(groups))
        return '; '.join(f'{", ".join(who)}: {text}' for text, who in groups.items())

    # One table per profile; backends and kernels that measured the same
    # share a column.
    for profile in dict.fromkeys(p for _, _, p in columns):
        merged = []     # [(label parts, representative column)]
        for col in (c for c in columns if c[2] == profile):
            same = next((m for m in merged if all(cell(cells.get((t, m[1]), [])) == cell(cells.get((t, col), []))
                                                  for t in techniques_seen)), None)
            if same:
                same[0].append(col)
            else:
                merged.append(([col], col))

        def label(cols):
            by_backend = {}
            for b, k, _ in cols:
                by_backend.setdefault(b, []).append(k)
            return ', '.join(f'{b} {"/".join(ks)}' for b, ks in by_backend.items())

        print(f'\n**{profile}**\n')
        print('| technique | ' + ' | '.join(label(cols) for cols, _ in merged) + ' |')
        print('|---|' + '---|' * len(merged))
        for t in techniques_seen:
            print(f'| {t} | ' + ' | '.join(cell(cells.get((t, rep), [])) for _, rep in merged) + ' |')


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--table':
        table(sys.argv[2:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument('--backend', required=True, choices=('lsm', 'fmod_ret', 'tracepoint'))
    ap.add_argument('--profile', required=True, choices=('allow', 'baseline', 'restricted'))
    ap.add_argument('--tracepoint-mappings', choices=('yes', 'no'), default='yes',
                    help='TracepointMappings= for the tracepoint backend (default yes)')
    ap.add_argument('--fl-load', default=os.environ.get('FL_LOAD', os.path.join(os.path.dirname(fltest.FL_EXEC), 'fl-load')))
    a = ap.parse_args()

    tap = TAP(f'loaders {a.backend} {a.profile}')
    ensure_bpffs()
    if a.backend == 'lsm' and not lsm_available():
        tap.ok(False, 'the BPF LSM is active on this kernel (run the lsm tests in the qemu tier)')
        tap.done()

    in_vm = os.environ.get('FILELESSLOCK_IN_VM') == '1'
    kernel = '.'.join(os.uname().release.split('.')[:2])
    # Where a case this tier cannot do is done: the guests cannot run the
    # tracepoint tier's kernel, the host cannot run the BPF LSM.
    other_tier = f'host-loaders-tracepoint-{a.profile}' if in_vm else f'vm-6.1-lsm-loaders-{a.profile}'
    # The table's column: the backend, and for tracepoint whether it maps.
    column = a.backend
    if a.backend == 'tracepoint':
        column += '' if a.tracepoint_mappings == 'yes' else '(TracepointMappings=no)'
    all_techniques = techniques(a.fl_load)
    if in_vm:
        tap.note(f'guest kernel {os.uname().release}, lsm-bpf={os.environ.get("FILELESSLOCK_VM_LSM_BPF")}')

    tap.note(f'loaders-run backend={column} kernel={kernel} profile={a.profile}')
    d = Daemon(tap)
    # Every case and sentinel is an event of the same uid: no rate limit.
    conf = '[Fileless]\nRateLimitBurst=0\n'
    if a.backend == 'tracepoint':
        conf += f'TracepointMappings={a.tracepoint_mappings}\n'
    d.write_config(conf)
    ready = d.start(f'--profile={a.profile}', f'--backend={a.backend}')
    tap.ok(ready, f'daemon ready with --profile={a.profile} --backend={a.backend}'
                  f'{" TracepointMappings=" + a.tracepoint_mappings if a.backend == "tracepoint" else ""}')
    if not ready:
        tap.done()
    status = d.notify_value('STATUS') or ''
    tap.ok(a.profile in status and a.backend in status, 'STATUS= names the profile and the backend', status)

    # What the backend does not see, it says at start (FILELESS_UNSEEN= of
    # the start entry): such cases must run unseen, and are skipped with
    # that as the reason; anything else it must stop.
    starts = [e for e in d.entries() if 'FILELESS_UNSEEN' in e]
    tap.ok(len(starts) == 1, 'the start entry has FILELESS_UNSEEN=', d.entries()[:5])
    unseen_field = starts[0]['FILELESS_UNSEEN'] if starts else 'none'
    unseen = set(unseen_field.split(',')) - {'none', ''}
    if a.backend == 'tracepoint':
        tap.ok(('mappings' in unseen) == (a.tracepoint_mappings == 'no'),
               f'TracepointMappings={a.tracepoint_mappings}: FILELESS_UNSEEN={unseen_field}')
    else:
        tap.ok('mappings' not in unseen, f'{a.backend} sees mappings: FILELESS_UNSEEN={unseen_field}')

    # Unprivileged runs: setpriv, like any user's process. The qemu guest runs
    # its command chrooted, and only root can leave a chroot to make the user
    # namespaces the mount techniques need: there fl-load starts as root and
    # drops to the user (uid, gid, no groups, no capabilities) in its child.
    setpriv = ('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all')
    users = [('root', 0, (), None),
             ('nobody', 65534, () if in_vm else setpriv, 'nobody' if in_vm else None)]
    origins = [('host', ())]
    if a.profile == 'baseline':
        origins.append(('pidns', ('unshare', '--pid', '--fork', '--mount-proc')))

    seq = 0
    sentinel_seq = 0

    def sentinel(seen):
        """A fileless exec after the case: once its event is in, every event
        the case caused is too (the ring buffer keeps order). Returns the
        events of the case."""
        nonlocal sentinel_seq
        sentinel_seq += 1
        name = f'sentinel-{os.getpid()}-{sentinel_seq}'
        fl_exec('memfd', 'proc-self', name=name)
        got = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == f'memfd:{name}', after=seen)
        evs = [e for e in d.events()[seen:] if not e.get('FILELESS_FILE_NAME', '').startswith('memfd:sentinel-')]
        return bool(got), evs

    for user, uid, uprefix, user_arg in users:
        for origin, oprefix in origins:
            prefix = (*oprefix, *uprefix)
            allowed = a.profile == 'allow' or (a.profile == 'baseline' and origin == 'host')
            for technique in all_techniques:
                seq += 1
                name = f'fll-{os.getpid()}-{seq}'
                desc = f'{user}/{origin}: {technique}'
                case = (f'backend={column} kernel={kernel} profile={a.profile} user={user} origin={origin} '
                        f'technique={technique}')
                control = technique in CONTROLS
                seen = len(d.events())
                r = fl_load(a.fl_load, technique, name, prefix=prefix, user_arg=user_arg)
                if r['rc'] == 77:
                    reason = skip_reason(r['stderr'], other_tier)
                    tap.skip(desc, reason)
                    tap.note(f'outcome {case} result=skip event=- reason="{reason}"')
                    continue

                # A program interpreter is judged at the exec on every backend
                # (the tracepoint backend finds it at AT_BASE): seen even
                # where system-call mappings are not.
                if (not control and r.get('operation') in ('mmap', 'mprotect') and 'mappings' in unseen and
                        technique != 'interp'):
                    got_sentinel, evs = sentinel(seen)
                    mine = [e for e in evs if e.get('FILELESS_INODE') == r.get('ino')]
                    tap.ok(got_sentinel and r['rc'] == 0 and r.get('result') == 'ran' and not mine,
                           f'{desc}: runs unseen, as the daemon said at start (FILELESS_UNSEEN={unseen_field})',
                           {'fl-load': r, 'events': evs})
                    reason = kernel_feature_skip(f'backend {a.backend} does not see executable mappings here '
                                                 f'(FILELESS_UNSEEN={unseen_field})',
                                                 f'host-loaders-tracepoint-{a.profile}'
                                                 if a.backend == 'tracepoint' and a.tracepoint_mappings == 'no'
                                                 else f'vm-6.1-lsm-loaders-{a.profile}')
                    tap.skip(f'{desc}: stopped', reason)
                    tap.note(f'outcome {case} result={r.get("result")} event=unseen reason="{reason}"')
                    continue

                if control or allowed:
                    want_result, want_signal, want_action = 'ran', 'none', 'allowed'
                else:
                    want_result, want_signal = stopped(a.backend, technique)
                    want_action = 'denied' if a.backend != 'tracepoint' else 'killed'

                ok_run = r['rc'] == 0 and r.get('result') == want_result and (
                    want_result != 'killed' or r.get('signal') == want_signal)
                got_sentinel, evs = sentinel(seen)
                tap.ok(got_sentinel, f'{desc}: the sentinel exec after it was reported')

                if control:
                    tap.ok(ok_run, f'{desc}: runs (control)', r)
                    tap.ok(not evs, f'{desc}: not reported', evs)
                    tap.note(f'outcome {case} result={r.get("result")} '
                             f'event={"none" if not evs else "+".join(e.get("FILELESS_OPERATION", "?") + ":" + e.get("FILELESS_ACTION", "?") + ":" + e.get("FILELESS_KIND", "?") for e in evs)}')
                    continue

                tap.ok(ok_run, f'{desc}: {want_result}{"" if want_result != "killed" else " (" + want_signal + ")"}', r)
                mine = [e for e in evs if e.get('FILELESS_INODE') == r.get('ino') and e.get('FILELESS_DEVICE') == r.get('dev')]
                tap.note(f'outcome {case} result={r.get("result")}'
                         f'{"/" + r["signal"] if r.get("signal") not in (None, "none") else ""} '
                         f'event={"+".join(e.get("FILELESS_OPERATION", "?") + ":" + e.get("FILELESS_ACTION", "?") + ":" + e.get("FILELESS_KIND", "?") for e in mine) or "none"}'
                         f'{" program=" + ",".join(e.get("FILELESS_PROGRAM", "?") for e in mine) if mine else ""}')
                others = [e for e in evs if e not in mine]
                tap.ok(len(mine) == 1 and not others, f'{desc}: exactly one event, for the file (ino {r.get("ino")} dev {r.get("dev")})',
                       {'events for the file': mine, 'other events': others, 'fl-load': r})
                if len(mine) != 1:
                    continue
                e = mine[0]
                want = {
                    'FILELESS_OPERATION': r['operation'],
                    'FILELESS_KIND': expected_kind(r),
                    'FILELESS_ACTION': want_action,
                    'FILELESS_PROFILE': a.profile,
                    'FILELESS_BACKEND': a.backend,
                    'FILELESS_UID': str(uid),
                    'FILELESS_PID_NAMESPACE_LEVEL': '0' if origin == 'host' else '1',
                    'PRIORITY': '5' if want_action == 'allowed' else '4',
                }
                if origin == 'host':
                    want['FILELESS_PID'] = r['child']
                # The acting task's own executable (for an exec: before it;
                # a kernel without sched_prepare_exec cannot say).
                if r['operation'] != 'exec' or 'exec-program' not in unseen:
                    want['FILELESS_PROGRAM'] = r['program']
                bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
                tap.ok(not bad, f'{desc}: event fields', bad)

    tap.ok(d.proc.poll() is None, 'daemon still running at the end')
    rc = d.stop()
    tap.ok(rc == 0, 'SIGTERM: clean exit', rc)
    tap.done()


if __name__ == '__main__':
    main()
