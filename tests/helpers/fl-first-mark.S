/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program whose first system call, after only the register setup it
 * needs, writes "MARK" to fd 3 (a pipe its parent reads), then exits 0. */
        .text
        .globl _start
_start:
        mov     $1, %eax                /* write */
        mov     $3, %edi
        lea     mark(%rip), %rsi
        mov     $4, %edx
        syscall
        mov     $60, %eax               /* exit */
        xor     %edi, %edi
        syscall
mark:
        .ascii  "MARK"
        .section .note.GNU-stack,"",@progbits
