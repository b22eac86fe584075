/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fl-preload-exec: one exec of a memfd, made from inside a program, to test
 * who gets the trust of a trusted executable. Built twice from this source:
 *
 *   fl-preload-exec          a program: main() does it (a trusted copy of it
 *                            is the control: trusted, nothing foreign loaded)
 *   libfl-preload-exec.so    a library: its constructor does it inside
 *                            whatever program it was preloaded into
 *                            (LD_PRELOAD, LD_AUDIT), which then exits
 *                            before its own main() runs
 *
 * A forked child execs a memfd holding a copy of /bin/true, with an empty
 * environment (so the library is not preloaded into the payload as well),
 * and one line on stdout says what became of it:
 *
 *   result=ran|denied|killed|failed how=program|library errno=N signal=N
 *
 * Never sanitized: the library must load into any program, and the program
 * is copied to where the daemon trusts it.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAYLOAD "/bin/true"
#define ERRNO_BASE 100

static int payload_memfd(void) {
        char buf[65536];
        ssize_t n;
        int in, fd;

        fd = memfd_create("fl-preload-payload", 0);
        in = open(PAYLOAD, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || in < 0)
                return -1;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write(fd, buf, (size_t) n) != n)
                        return -1;
        close(in);
        return n < 0 ? -1 : fd;
}

static void run(const char *how) {
        char *const argv[] = { "fl-preload-payload", NULL };
        char *const envp[] = { NULL };
        int fd, st;
        pid_t pid;

        fd = payload_memfd();
        if (fd < 0) {
                printf("result=failed how=%s errno=%d\n", how, errno);
                return;
        }
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                printf("result=failed how=%s errno=%d\n", how, errno);
                return;
        }
        if (pid == 0) {
                syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
                _exit(ERRNO_BASE + errno);
        }
        close(fd);
        if (waitpid(pid, &st, 0) < 0)
                printf("result=failed how=%s errno=%d\n", how, errno);
        else if (WIFSIGNALED(st))
                printf("result=%s how=%s signal=%d\n", WTERMSIG(st) == SIGKILL ? "killed" : "failed", how,
                       WTERMSIG(st));
        else if (WEXITSTATUS(st) == 0)
                printf("result=ran how=%s\n", how);
        else if (WEXITSTATUS(st) == ERRNO_BASE + EPERM)
                printf("result=denied how=%s errno=%d\n", how, EPERM);
        else
                printf("result=failed how=%s status=%d\n", how, WEXITSTATUS(st));
        fflush(stdout);
}

#ifdef FL_PRELOAD_PROGRAM
int main(void) {
        run("program");
        return 0;
}
#else
__attribute__((constructor)) static void fl_preload_exec_init(void) {
        run("library");
        _exit(0);
}
#endif
