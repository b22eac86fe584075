#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the binary seeds: for fuzz-event-fields and fuzz-dbus-event a
struct fl_event (bpf/fileless.h, x86-64/little-endian layout), then an
optional selector byte and unit names, as fuzz/fuzz-event-input.h reads them;
for fuzz-ratelimit a limit and a sequence of operations (fuzz-ratelimit.c).
Run from anywhere; rewrites fuzz/corpus/fuzz-{event-fields,dbus-event}/event-*
and regress-*, and fuzz/corpus/fuzz-ratelimit/ratelimit-* and regress-*."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# boot_ns inode dev cgroup_id prog_inode prog_dev | pidns pidns_level pid ppid
# uid gid flags scope_id | kind action profile backend op pad[3] | comm
# exec_comm parent_comm program name path (since 4a6569f and 568e4a2) unit
# (the cgroup's name the BPF side read at the exec, since 813acd4)
FL_EVENT = struct.Struct('<6Q8I5B3x16s16s16s64s256s256s256s')
assert FL_EVENT.size == 968, FL_EVENT.size

KIND = dict(ordinary=0, memfd=1, shm=2, tmpfile=3, deleted=4, userns=5, detached=6)
ACTION = {'allowed': 0, 'denied': 1, 'killed': 2, 'kill-failed': 3, 'allowed-trusted': 4}
OP = dict(exec=0, mmap=1, mprotect=2)
PROFILE = dict(allow=1, baseline=2, restricted=3)
BACKEND = dict(lsm=1, tracepoint=2, fmod_ret=3)
SCRIPT, BY_PATH = 0x1, 0x4  # 0x2 was FL_EVENT_VIA_FDPATH, removed in 5c285e6
SHM_NONE, SHM_DEV, SHM_RUN = 0, 1, 2
SEL_UNIT, SEL_USER_UNIT, SEL_SCOPE, SEL_NO_CTX = 0x04, 0x08, 0x10, 0x80


def kdev(major, minor):
    return major << 20 | minor


def event(kind, action, profile, backend, comm, pcomm, name, path, flags=0,
          pid=4242, ppid=4241, uid=1000, gid=1000, inode=12345, dev=kdev(0, 1),
          pidns=4026531836, level=0, cgroup=7777, boot_ns=123456789000,
          exec_comm=b'', sel=None, unit=b'', user_unit=b'', scope=b'', scope_id=0, op=OP['exec'],
          program=b'', prog_inode=54321, prog_dev=kdev(8, 1), kunit=None):
    rec = FL_EVENT.pack(boot_ns, inode, dev, cgroup, prog_inode, prog_dev, pidns, level, pid, ppid, uid, gid,
                        flags, scope_id, kind, action, profile, backend, op, comm, exec_comm, pcomm,
                        program or comm, name, path, unit if kunit is None else kunit)
    if sel is None:
        return rec
    # each string up to its NUL (fuzz-event-input.h)
    tail = [s for bit, s in ((SEL_UNIT, unit), (SEL_USER_UNIT, user_unit), (SEL_SCOPE, scope)) if sel & bit]
    return rec + bytes([sel]) + b'\0'.join(tail)


SEEDS = {
    # python3 -c 'os.memfd_create(...); os.execv("/proc/self/fd/3")' in a user
    # session: the tracepoint backend knows the new image's name
    'event-memfd-allowed': event(KIND['memfd'], ACTION['allowed'], PROFILE['allow'], BACKEND['tracepoint'],
                                 b'python3', b'bash', b'memfd:demo', b'/proc/self/fd/3', exec_comm=b'3',
                                 dev=kdev(0, 1), sel=SEL_UNIT | SEL_USER_UNIT, unit=b'user@1000.service',
                                 user_unit=b'app-gnome-term-42.scope'),
    # a shm object run by its path, killed
    'event-shm-killed': event(KIND['shm'], ACTION['killed'], PROFILE['restricted'], BACKEND['tracepoint'],
                              b'payload', b'sh', b'payload', b'/dev/shm/payload', exec_comm=b'payload',
                              dev=kdev(0, 25), sel=SHM_DEV | SEL_UNIT, unit=b'sshd.service'),
    # the kill that bpf_send_signal() could not deliver
    'event-kill-failed': event(KIND['memfd'], ACTION['kill-failed'], PROFILE['restricted'], BACKEND['tracepoint'],
                               b'bash', b'sshd', b'memfd:', b'/proc/self/fd/4', exec_comm=b'4',
                               sel=SEL_UNIT, unit=b'session-3.scope'),
    # a #! script in an O_TMPFILE file, denied by the LSM in a container
    'event-tmpfile-script-denied': event(KIND['tmpfile'], ACTION['denied'], PROFILE['baseline'], BACKEND['lsm'],
                                         b'sh', b'runc:[2:INIT]', b'#1234', b'/dev/fd/5',
                                         flags=SCRIPT, pidns=4026532301, level=1,
                                         sel=SHM_RUN | SEL_UNIT, unit=b'docker-0123abcd.scope'),
    # denied by the fmod_ret backend
    'event-fmod-ret-denied': event(KIND['memfd'], ACTION['denied'], PROFILE['restricted'], BACKEND['fmod_ret'],
                                   b'perl', b'cron', b'memfd:x', b'/proc/self/fd/3', sel=SHM_DEV),
    # deceptive code points: a right-to-left override in the memfd name, a
    # zero-width space and a C1 control in the new image's name, a BOM and a
    # line separator in the user unit (a delegated subtree's choice)
    'event-deceptive': event(KIND['memfd'], ACTION['killed'], PROFILE['restricted'], BACKEND['tracepoint'],
                             b'sh', b'bash', b'memfd:invoice_\xe2\x80\xaefdp.exe', b'/proc/self/fd/3',
                             exec_comm=b'a\xe2\x80\x8bb\xc2\x85', sel=SEL_UNIT | SEL_USER_UNIT,
                             unit=b'user@1000.service', user_unit=b'\xef\xbb\xbfx\xe2\x80\xa8.service'),
    # a deleted script the tracepoint backend knows only by its exec path
    'event-deleted-by-path': event(KIND['deleted'], ACTION['killed'], PROFILE['restricted'], BACKEND['tracepoint'],
                                   b'bash', b'sshd', b'', b'/proc/1234/fd/7', flags=SCRIPT | BY_PATH,
                                   inode=0, dev=0, sel=SHM_NONE),
    # forgery attempts: a newline and a field in comm, quotes in the name, a
    # tab in the path, UTF-8 and bytes that are not UTF-8, no context
    'event-hostile-strings': event(KIND['memfd'], ACTION['allowed'], PROFILE['allow'], BACKEND['lsm'],
                                   b'a\nFILELESS_UID=0', b'\xc3\xa9t\xc3\xa9\xff\xfe',
                                   b'memfd:x" FILELESS_UID="0\\', b'/proc/self/fd/3\tMESSAGE=x',
                                   sel=SEL_NO_CTX),
    # full-length strings without a terminating NUL
    'event-unterminated': event(KIND['memfd'], ACTION['denied'], PROFILE['baseline'], BACKEND['lsm'],
                                b'c' * 16, b'p' * 16, b'memfd:' + b'n' * 250, b'/' + b'q' * 255,
                                exec_comm=b'e' * 16, sel=SEL_UNIT, unit=b'\xe2\x82\xac.service'),
    # Regressions: the first findings of these targets (see fuzz/README.md),
    # fixed in commit 9249250 and kept as regression guards.
    # U+009B (CSI, a C1 control) in comm passed escape_string() unescaped.
    'regress-c1-comm': event(KIND['memfd'], ACTION['allowed'], PROFILE['allow'], BACKEND['tracepoint'],
                             b'x\xc2\x9b2J', b'bash', b'memfd:x', b'/proc/self/fd/3', sel=SHM_NONE),
    # U+FFFE (a noncharacter) in the memfd name: sd-bus refused the Event signal.
    'regress-nonchar-name': event(KIND['memfd'], ACTION['allowed'], PROFILE['allow'], BACKEND['tracepoint'],
                                  b'python3', b'bash', b'memfd:\xef\xbf\xbe', b'/proc/self/fd/3', sel=SHM_NONE),
    # values the daemon does not know
    'event-unknown-enums': event(9, 7, 0, 0, b'x', b'y', b'z', b'', flags=0xfffffffa,
                                 dev=(1 << 64) - 1, pid=0xffffffff, op=9, scope_id=0xffffffff),
    # Since 4a6569f: a loader mapping a memfd privately with PROT_EXEC (no exec
    # path), denied by the LSM; PROT_EXEC added by mprotect, killed by the
    # tracepoint backend (TracepointMappings=yes); both in a user namespace's
    # own tmpfs or behind a detached mount
    'event-mmap-denied': event(KIND['memfd'], ACTION['denied'], PROFILE['restricted'], BACKEND['lsm'],
                               b'python3', b'bash', b'memfd:payload', b'', op=OP['mmap'],
                               program=b'ld-linux-x86-64.so.2', sel=SEL_UNIT, unit=b'cron.service'),
    'event-mprotect-killed-userns': event(KIND['userns'], ACTION['killed'], PROFILE['baseline'],
                                          BACKEND['tracepoint'], b'node', b'sh', b'lib.so', b'',
                                          op=OP['mprotect'], program=b'node', level=1, sel=SHM_NONE),
    'event-detached-kill-failed': event(KIND['detached'], ACTION['kill-failed'], PROFILE['restricted'],
                                        BACKEND['tracepoint'], b'sh', b'init', b'x', b'/proc/self/fd/5',
                                        sel=SEL_UNIT | SEL_SCOPE, unit=b'nginx.service',
                                        scope=b'nginx.service', scope_id=2),
    # Since 568e4a2: a trusted executable's JIT, allowed in a restricted scope
    # that a slice above the unit set; a scope removed since the event, named
    # by its id
    'event-trusted-jit': event(KIND['memfd'], ACTION['allowed-trusted'], PROFILE['restricted'], BACKEND['lsm'],
                               b'java', b'systemd', b'memfd:jit', b'', op=OP['mmap'], program=b'java',
                               sel=SEL_UNIT | SEL_SCOPE, unit=b'app.service', scope=b'apps.slice', scope_id=7),
    'event-scope-removed': event(KIND['memfd'], ACTION['denied'], PROFILE['baseline'], BACKEND['fmod_ret'],
                                 b'sh', b'bash', b'memfd:x', b'/proc/self/fd/3', sel=SEL_SCOPE, scope=b'#12',
                                 scope_id=12),
    # a program named to forge who did it, a scope with quotes, a bidi
    # override and a newline, every string present
    'event-hostile-program': event(KIND['memfd'], ACTION['killed'], PROFILE['restricted'], BACKEND['tracepoint'],
                                   b'sh', b'bash', b'memfd:x', b'/proc/self/fd/3',
                                   program=b'x"), uid 0: "\\' + b'g' * 40, exec_comm=b'3',
                                   sel=SEL_UNIT | SEL_USER_UNIT | SEL_SCOPE, unit=b'user@1000.service',
                                   user_unit=b'a.service', scope=b's"\xe2\x80\xae\n.slice'),
    # Regression: a name ending in " NAME=" put a field opening into the
    # stderr line's message (fixed in 672f029: the message is escaped there)
    'regress-line-field-in-name': event(KIND['memfd'], ACTION['killed'], PROFILE['restricted'],
                                        BACKEND['tracepoint'], b'x FILELESS_UID=', b'bash',
                                        b'memfd:x FILELESS_UID=', b'/proc/self/fd/3 A="', sel=SHM_NONE),
    # Regression: FILELESS_SCRIPT=47 parsed as a boolean (parse_uint64()'s
    # bound wrapped below 9; fixed in 672f029): the unit string is tried as
    # every field's value
    'regress-bool-digits': event(KIND['memfd'], ACTION['allowed'], PROFILE['allow'], BACKEND['lsm'],
                                 b'sh', b'bash', b'memfd:x', b'/proc/self/fd/3', sel=SEL_UNIT, unit=b'47'),
}


# fuzz-ratelimit: limit selectors (interval, burst) then 4-byte operations
# [op | time shift << 3, event bits or new interval, path or new burst, time]
# (fuzz/fuzz-ratelimit.c); op 0-4 check an event of uid 0-3, 5 one of uid
# 4 + the third byte, 6 flush, 7 reload.
CHECK, CHECK_UID, FLUSH, RELOAD = 0, 5, 6, 7
INTERVAL_1S, INTERVAL_10S = 4, 5
BURST_1, BURST_3, BURST_5 = 1, 3, 4
FORCE = 1  # second byte of a FLUSH: as at exit


def ops(*o):
    return b''.join(bytes([a, b, c, d]) for a, b, c, d in o)


RATELIMIT_SEEDS = {
    # one source flooding past its burst, the window ending, a flush
    'ratelimit-flood': bytes([INTERVAL_1S, BURST_3]) +
    ops(*[(CHECK | 10 << 3, 0x05, 3, 1)] * 8, (CHECK | 20 << 3, 0x05, 3, 1), (FLUSH | 21 << 3, 0, 0, 1)),
    # more distinct paths than the table holds, then the first one again
    'ratelimit-table-full': bytes([INTERVAL_1S, 1]) +
    ops(*[(CHECK, 0x01, p % 200, 1) for p in range(140)], (CHECK, 0x01, 0, 1), (CHECK, 0x01, 0, 1)),
    # 256-byte paths without a NUL that differ only in their last byte
    'ratelimit-long-paths': bytes([INTERVAL_1S, 1]) + ops((CHECK, 0, 240, 1), (CHECK, 0, 241, 1), (CHECK, 0, 242, 1)),
    # a uid's budget (burst 1: 10 per interval) spent by 15 sources, the
    # window ending an interval later with its summary, a flush
    'ratelimit-uid-budget': bytes([INTERVAL_1S, BURST_1]) +
    ops(*[(CHECK, 0x01, p, 1) for p in range(15)], (CHECK | 20 << 3, 0x01, 20, 1), (CHECK, 0x01, 21, 1),
        (FLUSH | 20 << 3, 0, 0, 1)),
    # burst 3 (30 per uid): one source over its own burst, then enough others
    # that the uid's budget refuses sources under theirs; forced flush
    'ratelimit-uid-and-own': bytes([INTERVAL_1S, BURST_3]) +
    ops(*[(CHECK, 0x02, 0, 1)] * 5, *[(CHECK, 0x02, 1 + p // 3, 1) for p in range(36)],
        (CHECK, 0x02, 0, 1), (FLUSH, FORCE, 0, 1)),
    # uid 1 floods 100 paths (burst 3: 30 logged); uids 2 and 3 then log their
    # first 3 each, uid 3 on the flooder's own first path
    'ratelimit-uid-flood-spares-others': bytes([INTERVAL_10S, BURST_3]) +
    ops(*[(CHECK, 0x01, p, 1) for p in range(100)], *[(CHECK, 0x02, 7, 1)] * 4, *[(CHECK, 0x03, 0, 1)] * 4,
        (FLUSH | 24 << 3, 0, 0, 1)),
    # uid 0 over its budget (burst 1: 10 of 15), then 64 uids more than the
    # 64-entry table holds with it: uid 0, seen least recently, is reported
    # and makes room; uid 0 again on a fresh budget; forced flush
    'ratelimit-uid-table-full': bytes([INTERVAL_10S, BURST_1]) +
    ops(*[(CHECK, 0x00, p, 1) for p in range(15)], *[(CHECK_UID, 0x00, u, 1) for u in range(64)],
        *[(CHECK, 0x00, 100 + p, 1) for p in range(3)], (FLUSH, FORCE, 0, 1)),
    # Regression: finding 3 (fuzz/README.md). One uid cycling through more
    # paths than the table holds got a fresh burst from every evicted source
    # and was never limited; now all its sources together get 50 per 10 s.
    'regress-path-cycling': bytes([INTERVAL_10S, BURST_5]) +
    ops(*[(CHECK, 0x01, p % 130, 1) for p in range(390)], (FLUSH | 24 << 3, 0, 0, 1)),
    # a reload that lowers the burst, then turns the limit off
    'ratelimit-reload': bytes([INTERVAL_1S, 5]) +
    ops(*[(CHECK, 0x02, 7, 1)] * 4, (RELOAD, INTERVAL_1S, 1, 1), (CHECK, 0x02, 7, 1), (RELOAD, 0, 0, 1),
        (CHECK, 0x02, 7, 1), (FLUSH | 20 << 3, 0, 0, 1)),
}


def main():
    d = os.path.join(HERE, 'corpus', 'fuzz-ratelimit')
    os.makedirs(d, exist_ok=True)
    for name, data in RATELIMIT_SEEDS.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)

    for target in ('fuzz-event-fields', 'fuzz-dbus-event'):
        d = os.path.join(HERE, 'corpus', target)
        os.makedirs(d, exist_ok=True)
        for name, data in SEEDS.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
        # and a record the ring buffer cut short (in the middle of program)
        with open(os.path.join(d, 'event-truncated'), 'wb') as f:
            f.write(SEEDS['event-memfd-allowed'][:150])


if __name__ == '__main__':
    main()
