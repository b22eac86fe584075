#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The tracepoint backend kills a blocked image "before its first
instruction": a payload whose very first instruction is ud2 (SIGILL if it
ever runs) must die of SIGKILL, and one whose first system call writes a mark
to a pipe must leave none. Run with nothing attached and under allow first,
to show that the payloads do leave their marks when they run."""

import fcntl
import os
import signal

from fltest import Daemon, ensure_bpffs, run_cases

HELPERS = os.environ.get('FL_HELPERS', os.path.join(os.path.dirname(os.environ.get('FL_EXEC', '')), ''))


def run_payload(path):
    """Execs a memfd copy of PATH through /proc/self/fd in a child with a
    pipe at fd 3; returns (the signal that ended it or None, its exit code,
    what it wrote to the pipe)."""
    with open(path, 'rb') as f:
        image = f.read()
    try:
        fd = os.memfd_create('fl-first', MFD_EXEC)  # vm.memfd_noexec=1 would seal it noexec
    except OSError:
        fd = os.memfd_create('fl-first', 0)  # before 6.3, no MFD_EXEC and no such sysctl
    os.write(fd, image)
    # Above 3, where the pipe must go: the mark payload writes to fd 3.
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    fd = high
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 3)
        try:
            os.execv(f'/proc/self/fd/{fd}', ['fl-first'])
        finally:
            os._exit(127)
    os.close(w)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    mark = os.read(r, 64)
    os.close(r)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return sig, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, mark


MFD_EXEC = 0x10
UD2 = os.path.join(HELPERS, 'fl-first-ud2')
MARK = os.path.join(HELPERS, 'fl-first-mark')


def check(tap, what, expect_sig, expect_mark):
    sig, code, mark = run_payload(UD2)
    tap.ok(sig == expect_sig, f'{what}: the ud2 payload ends by {signal.Signals(expect_sig).name}',
           (sig, code))
    sig, code, mark = run_payload(MARK)
    if expect_mark:
        tap.ok(mark == b'MARK' and code == 0, f'{what}: the mark payload writes its mark', (sig, code, mark))
    else:
        tap.ok(mark == b'' and sig == signal.SIGKILL, f'{what}: the mark payload leaves no mark, killed',
               (sig, code, mark))


def test_first_instruction(tap):
    ensure_bpffs()
    check(tap, 'nothing attached', signal.SIGILL, True)
    d = Daemon(tap)
    tap.require(d.start('--profile=allow', '--backend=tracepoint'), 'daemon ready (allow, tracepoint)')
    check(tap, 'allow', signal.SIGILL, True)
    d.stop()
    tap.require(d.start('--profile=restricted', '--backend=tracepoint'), 'restarted restricted')
    check(tap, 'restricted', signal.SIGKILL, False)
    evs = d.wait_event(lambda e: e.get('FILELESS_FILE_NAME') == 'memfd:fl-first' and
                       e.get('FILELESS_ACTION') == 'killed')
    tap.ok(len(evs) >= 2, 'both kills are reported', evs)
    d.stop()


if __name__ == '__main__':
    run_cases('first-instruction', globals())
