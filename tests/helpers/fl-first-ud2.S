/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program whose very first instruction is ud2: if it ever runs, the
 * process dies of SIGILL. Killed before its first instruction, it dies of
 * SIGKILL instead. Static, no libc, no dynamic loader: _start is the entry. */
        .text
        .globl _start
_start:
        ud2
        .section .note.GNU-stack,"",@progbits
