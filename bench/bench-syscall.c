/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-syscall: system call loops for bench/syscall-overhead, the cost of
 * the raw sys_enter/sys_exit programs (TracepointMappings=yes) on every
 * system call.
 *
 *   bench-syscall getppid N
 *       N getppid(): the cheapest system call there is, so what a traced
 *       entry and exit add shows as much as it can.
 *   bench-syscall kill N
 *       N kill(getppid(), SIGCONT): the task_kill hook of sealed mode's
 *       guard, on a target that is not the daemon (its common case).
 *   bench-syscall bpf N
 *       N BPF_MAP_UPDATE_ELEM on an array map of its own: the bpf hook of
 *       the guard, which resolves the map fd of every update.
 *   bench-syscall mmap N FILE [--exec]
 *   (either with --stats=ID,... last: see bench-stats.h)
 *       N times mmap() of the first page of FILE, MAP_PRIVATE, PROT_READ
 *       (with --exec PROT_READ|PROT_EXEC, the case the programs judge: a
 *       private executable file mapping, as the dynamic loader makes), then
 *       munmap(). A "call" is the pair.
 *
 * The loop runs in chunks of N/50 calls; prints one line of key=value pairs:
 *   calls=   calls made
 *   ns=      wall time of the loop (CLOCK_MONOTONIC)
 *   med_ns=  the median chunk's ns per call, which a burst of load from
 *            another process on this 2-CPU machine moves far less than ns/calls
 *   min_ns=  the fastest chunk's ns per call
 *   cpu_ns=  user + system time of the loop
 *
 * Build: cc -O2 -Wall -o bench-syscall bench-syscall.c
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench-stats.h"

#define CHUNKS 50

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t cpu_ns(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return ((uint64_t) ru.ru_utime.tv_sec + (uint64_t) ru.ru_stime.tv_sec) * 1000000000ULL +
               ((uint64_t) ru.ru_utime.tv_usec + (uint64_t) ru.ru_stime.tv_usec) * 1000ULL;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        bool is_mmap, is_kill, is_bpf, exec_prot = false;
        uint32_t key = 0;
        uint64_t value = 0;
        unsigned long n, per_chunk;
        double chunk[CHUNKS];
        uint64_t t0, t1, c0;
        int fd = -1, prot;
        char *end;

        if (argc < 3 || (strcmp(argv[1], "getppid") != 0 && strcmp(argv[1], "mmap") != 0 &&
                         strcmp(argv[1], "kill") != 0 && strcmp(argv[1], "bpf") != 0)) {
                fprintf(stderr, "usage: bench-syscall getppid|kill|bpf N\n       bench-syscall mmap N FILE [--exec]\n");
                return 2;
        }
        is_mmap = strcmp(argv[1], "mmap") == 0;
        is_kill = strcmp(argv[1], "kill") == 0;
        is_bpf = strcmp(argv[1], "bpf") == 0;
        if (is_bpf) {
                union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8,
                                     .max_entries = 1 };

                fd = (int) syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
                if (fd < 0) {
                        perror("bench-syscall: BPF_MAP_CREATE");
                        return 1;
                }
        }
        n = strtoul(argv[2], &end, 10);
        if (*end || n < CHUNKS || (is_mmap && argc < 4)) {
                fprintf(stderr, "bench-syscall: bad arguments (N must be at least %d)\n", CHUNKS);
                return 2;
        }
        if (strncmp(argv[argc - 1], "--stats=", 8) == 0) {
                if (stats_parse(argv[argc - 1] + 8) < 0)
                        return 2;
                argc--;
        }
        if (is_mmap) {
                exec_prot = argc > 4 && strcmp(argv[4], "--exec") == 0;
                fd = open(argv[3], O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        perror("bench-syscall: open");
                        return 1;
                }
        }
        prot = PROT_READ | (exec_prot ? PROT_EXEC : 0);
        per_chunk = n / CHUNKS;

        stats_read(-1);
        c0 = cpu_ns();
        t0 = now_ns();
        for (int c = 0; c < CHUNKS; c++) {
                uint64_t s0 = now_ns();

                for (unsigned long i = 0; i < per_chunk; i++) {
                        if (is_mmap) {
                                void *p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);

                                if (p == MAP_FAILED) {
                                        perror("bench-syscall: mmap");
                                        return 1;
                                }
                                munmap(p, 4096);
                        } else if (is_kill)
                                (void) kill(getppid(), SIGCONT);
                        else if (is_bpf) {
                                union bpf_attr a = { .map_fd = (uint32_t) fd, .key = (uint64_t) (uintptr_t) &key,
                                                     .value = (uint64_t) (uintptr_t) &value };

                                if (syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) < 0) {
                                        perror("bench-syscall: BPF_MAP_UPDATE_ELEM");
                                        return 1;
                                }
                        } else
                                (void) syscall(SYS_getppid); /* never cached by libc */
                }
                chunk[c] = (double) (now_ns() - s0) / (double) per_chunk;
        }
        t1 = now_ns();
        stats_read(1);
        stats_print();
        qsort(chunk, CHUNKS, sizeof(double), cmp_double);
        printf("calls=%lu ns=%" PRIu64 " med_ns=%.2f min_ns=%.2f cpu_ns=%" PRIu64 "\n", per_chunk * CHUNKS, t1 - t0,
               (chunk[CHUNKS / 2 - 1] + chunk[CHUNKS / 2]) / 2, chunk[0], cpu_ns() - c0);
        return 0;
}
