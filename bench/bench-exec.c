/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-exec: the load generator of the benchmarks in this directory.
 *
 *   bench-exec loop N PATH
 *       N times: fork(), execve(PATH) in the child, waitpid() in the parent.
 *   bench-exec storm SECONDS PAYLOAD [--via=execveat|proc-self] [--uid=UID] [--name=NAME] [--count=N]
 *       Copies PAYLOAD into a memfd and executes it from there (fileless) as
 *       fast as one process can, vfork() + exec + waitpid(), for SECONDS,
 *       or until N execs were made (whichever comes first).
 *
 * Both take --stats=ID[,ID...]: the run_time_ns and run_cnt of these BPF
 * programs (kernel.bpf_stats_enabled must be on) are read just before and
 * just after the loop, so that only the loop's execs (and whatever else runs
 * on the machine meanwhile) are counted, not this helper's own exec or a
 * tool's that reads the statistics; printed as stats=ID:NS:RUNS,...
 *
 * Prints one line of key=value pairs on stdout:
 *   execs=  attempts made
 *   ok=     children that ran and exited 0
 *   killed= children killed by SIGKILL (a tracepoint backend enforcing a
 *           blocking profile, e.g. another test's "restricted")
 *   denied= execs that failed with EPERM (the lsm backend blocking)
 *   other=  anything else
 *   ns=     wall time of the loop in nanoseconds (CLOCK_MONOTONIC)
 *   med_ns= (loop only) the median of the single execs' wall times, which a
 *           burst of load from other processes moves far less than the total
 *   p10_ns= (loop only) their 10th percentile
 *   cpu_ns= CPU time (user + system) of this process and its children
 *           during the loop: what the execs cost, without the time spent
 *           waiting for a CPU that another process had
 *
 * Build: cc -O2 -Wall -o bench-exec bench-exec.c
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* The child reports an exec failure through its exit status. */
#define EXIT_EXEC_EPERM 126
#define EXIT_EXEC_OTHER 127

#include "bench-stats.h"

typedef struct Counts {
        uint64_t execs, ok, killed, denied, other;
} Counts;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t cpu_ns(void) {
        struct rusage self, children;

        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &children);
        return ((uint64_t) self.ru_utime.tv_sec + (uint64_t) self.ru_stime.tv_sec + (uint64_t) children.ru_utime.tv_sec +
                (uint64_t) children.ru_stime.tv_sec) * 1000000000ULL +
               ((uint64_t) self.ru_utime.tv_usec + (uint64_t) self.ru_stime.tv_usec +
                (uint64_t) children.ru_utime.tv_usec + (uint64_t) children.ru_stime.tv_usec) * 1000ULL;
}

static void account(Counts *c, int status) {
        c->execs++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                c->ok++;
        else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                c->killed++;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_EXEC_EPERM)
                c->denied++;
        else
                c->other++;
}

static void print_counts(const Counts *c, uint64_t ns, uint64_t cpu) {
        printf("execs=%" PRIu64 " ok=%" PRIu64 " killed=%" PRIu64 " denied=%" PRIu64 " other=%" PRIu64
               " ns=%" PRIu64 " cpu_ns=%" PRIu64 "\n",
               c->execs, c->ok, c->killed, c->denied, c->other, ns, cpu);
        fflush(stdout);
}

static int wait_child(pid_t pid, int *status) {
        for (;;) {
                if (waitpid(pid, status, 0) == pid)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static int do_loop(unsigned long n, const char *path) {
        char *const argv[] = { (char *) "bench-true", NULL };
        char *const envp[] = { NULL };
        Counts c = {};
        uint64_t t0, t1, c0, cpu, *single;

        single = calloc(n, sizeof(uint64_t));
        if (!single) {
                perror("bench-exec: calloc");
                return 1;
        }
        stats_read(-1);
        c0 = cpu_ns();
        t0 = now_ns();
        for (unsigned long i = 0; i < n; i++) {
                int status;
                uint64_t s0 = now_ns();
                pid_t pid = fork();

                if (pid < 0) {
                        perror("bench-exec: fork");
                        return 1;
                }
                if (pid == 0) {
                        execve(path, argv, envp);
                        _exit(errno == EPERM ? EXIT_EXEC_EPERM : EXIT_EXEC_OTHER);
                }
                if (wait_child(pid, &status) < 0) {
                        perror("bench-exec: waitpid");
                        return 1;
                }
                account(&c, status);
                single[i] = now_ns() - s0;
        }
        t1 = now_ns();
        cpu = cpu_ns() - c0;
        stats_read(1);
        stats_print();
        qsort(single, n, sizeof(uint64_t), cmp_u64);
        printf("med_ns=%" PRIu64 " p10_ns=%" PRIu64 " ", single[n / 2], single[n / 10]);
        print_counts(&c, t1 - t0, cpu);
        free(single);
        return 0;
}

static int memfd_with(const char *name, const char *payload) {
        char buf[65536];
        ssize_t n;
        int in, fd;

        in = open(payload, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
                fprintf(stderr, "bench-exec: %s: %s\n", payload, strerror(errno));
                return -1;
        }
        fd = (int) syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_EXEC);
        if (fd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
                fd = (int) syscall(SYS_memfd_create, name, MFD_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "bench-exec: memfd_create: %s\n", strerror(errno));
                close(in);
                return -1;
        }
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write(fd, buf, (size_t) n) != n) {
                        fprintf(stderr, "bench-exec: write to memfd: %s\n", strerror(errno));
                        close(in);
                        close(fd);
                        return -1;
                }
        close(in);
        return fd;
}

static int drop_to(uid_t uid) {
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0) {
                fprintf(stderr, "bench-exec: cannot become uid %u: %s\n", (unsigned) uid, strerror(errno));
                return -1;
        }
        return 0;
}

static int do_storm(double seconds, const char *payload, bool via_proc, long uid, const char *name,
                    unsigned long count) {
        char *const argv[] = { (char *) name, NULL };
        char *const envp[] = { NULL };
        char path[64];
        uint64_t t0, t1, c0, deadline;
        Counts c = {};
        int fd;

        fd = memfd_with(name, payload);
        if (fd < 0)
                return 1;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (uid >= 0 && drop_to((uid_t) uid) < 0)
                return 1;

        stats_read(-1);
        c0 = cpu_ns();
        t0 = now_ns();
        deadline = t0 + (uint64_t) (seconds * 1e9);
        do {
                int status;
                pid_t pid = vfork();

                if (pid < 0) {
                        perror("bench-exec: vfork");
                        return 1;
                }
                if (pid == 0) {
                        if (via_proc)
                                execve(path, argv, envp);
                        else
                                syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
                        _exit(errno == EPERM ? EXIT_EXEC_EPERM : EXIT_EXEC_OTHER);
                }
                if (wait_child(pid, &status) < 0) {
                        perror("bench-exec: waitpid");
                        return 1;
                }
                account(&c, status);
                t1 = now_ns();
        } while (t1 < deadline && (count == 0 || c.execs < count));
        stats_read(1);
        stats_print();
        print_counts(&c, t1 - t0, cpu_ns() - c0);
        return 0;
}

static void usage(void) {
        fprintf(stderr, "usage: bench-exec loop N PATH [--stats=ID,...]\n"
                        "       bench-exec storm SECONDS PAYLOAD [--via=execveat|proc-self] [--uid=UID] [--name=NAME] "
                        "[--count=N] [--stats=ID,...]\n");
}

int main(int argc, char *argv[]) {
        if ((argc == 4 || argc == 5) && strcmp(argv[1], "loop") == 0) {
                char *end;
                unsigned long n = strtoul(argv[2], &end, 10);

                if (*end || n == 0 || (argc == 5 && (strncmp(argv[4], "--stats=", 8) != 0 ||
                                                     stats_parse(argv[4] + 8) < 0))) {
                        usage();
                        return 2;
                }
                return do_loop(n, argv[3]);
        }
        if (argc >= 4 && strcmp(argv[1], "storm") == 0) {
                const char *name = "flbench-storm";
                bool via_proc = false;
                long uid = -1;
                unsigned long count = 0;
                char *end;
                double seconds = strtod(argv[2], &end);

                if (*end || seconds <= 0) {
                        usage();
                        return 2;
                }
                for (int i = 4; i < argc; i++) {
                        if (strcmp(argv[i], "--via=execveat") == 0)
                                via_proc = false;
                        else if (strcmp(argv[i], "--via=proc-self") == 0)
                                via_proc = true;
                        else if (strncmp(argv[i], "--uid=", 6) == 0)
                                uid = strtol(argv[i] + 6, NULL, 10);
                        else if (strncmp(argv[i], "--name=", 7) == 0)
                                name = argv[i] + 7;
                        else if (strncmp(argv[i], "--count=", 8) == 0)
                                count = strtoul(argv[i] + 8, NULL, 10);
                        else if (strncmp(argv[i], "--stats=", 8) == 0) {
                                if (stats_parse(argv[i] + 8) < 0)
                                        return 2;
                        }
                        else {
                                usage();
                                return 2;
                        }
                }
                return do_storm(seconds, argv[3], via_proc, uid, name, count);
        }
        usage();
        return 2;
}
