/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --stats=ID[,ID...] for the benchmark helpers: the run_time_ns and run_cnt
 * of these BPF programs, read through bpf(2) just before (stats_read(-1)) and
 * just after (stats_read(1)) a loop, so that the helper's own exec and a tool
 * reading the statistics are not counted. kernel.bpf_stats_enabled must be
 * on. Printed by stats_print() as "stats=ID:NS:RUNS,... ".
 */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STATS_MAX 16

typedef struct Stats {
        int n;
        uint32_t id[STATS_MAX];
        int fd[STATS_MAX];
        uint64_t ns[STATS_MAX], runs[STATS_MAX];
} Stats;

static Stats stats;

static int stats_parse(const char *list) {
        char *end;

        while (*list && stats.n < STATS_MAX) {
                union bpf_attr attr = {};

                stats.id[stats.n] = (uint32_t) strtoul(list, &end, 10);
                if (end == list)
                        return -1;
                attr.prog_id = stats.id[stats.n];
                stats.fd[stats.n] = (int) syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
                if (stats.fd[stats.n] < 0) {
                        fprintf(stderr, "bench-exec: BPF program %u: %s\n", stats.id[stats.n], strerror(errno));
                        return -1;
                }
                stats.n++;
                list = *end == ',' ? end + 1 : end;
        }
        return 0;
}

/* SIGN -1 before the loop, +1 after: leaves the deltas. */
static void stats_read(int sign) {
        for (int i = 0; i < stats.n; i++) {
                struct bpf_prog_info info = {};
                union bpf_attr attr = {};

                attr.info.bpf_fd = (uint32_t) stats.fd[i];
                attr.info.info_len = sizeof(info);
                attr.info.info = (uint64_t) (uintptr_t) &info;
                if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) < 0)
                        continue;
                stats.ns[i] += (uint64_t) sign * info.run_time_ns;
                stats.runs[i] += (uint64_t) sign * info.run_cnt;
        }
}

static void stats_print(void) {
        if (stats.n == 0)
                return;
        printf("stats=");
        for (int i = 0; i < stats.n; i++)
                printf("%s%u:%" PRIu64 ":%" PRIu64, i ? "," : "", stats.id[i], stats.ns[i], stats.runs[i]);
        printf(" ");
}
