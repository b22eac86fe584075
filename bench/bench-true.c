/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest program that can be executed: a static ELF without libc whose
 * entry point calls exit(0). Executing it costs the kernel's execve() and
 * nothing else, so any per-exec overhead added by a BPF program is as large
 * as it can be relative to the whole exec.
 *
 * Build: cc -O2 -static -nostdlib -fno-stack-protector -o bench-true bench-true.c
 * With -DDYNAMIC it is an ordinary dynamically linked "true" (ld.so + libc):
 *        cc -O2 -DDYNAMIC -o bench-true-dyn bench-true.c
 */

#ifdef DYNAMIC

int main(void) {
        return 0;
}

#else

void _start(void) __attribute__((noreturn, used));

void _start(void) {
#if defined(__x86_64__)
        __asm__ volatile("mov $60, %%eax\n\t"   /* SYS_exit */
                         "xor %%edi, %%edi\n\t"
                         "syscall" ::: "memory");
#elif defined(__aarch64__)
        __asm__ volatile("mov x8, #93\n\t"      /* SYS_exit */
                         "mov x0, #0\n\t"
                         "svc #0" ::: "memory");
#else
#error "bench-true: add the exit system call of this architecture"
#endif
        __builtin_unreachable();
}

#endif
