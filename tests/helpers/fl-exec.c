/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fl-exec: perform exactly one "fileless" exec experiment in a child process and
 * print one line on stdout describing what happened to it (ran, killed by the
 * tracepoint backend, denied by the BPF LSM backend, ...).
 *
 * Build: gcc -std=gnu11 -Wall -Wextra -Werror -o fl-exec fl-exec.c
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define EXIT_USAGE 2
#define EXIT_SKIP 77
#define CHILD_EXEC_FAILED 127
#define PAYLOAD_EXIT 42
#define TIMEOUT_MSEC 10000
#define DEFAULT_DIR "/tmp"

static const char script_text[] = "#!/bin/sh\nexit 42\n";
static char *const elf_argv[] = { "sh", "-c", "exit 42", NULL };
static char *const script_argv[] = { "script", NULL };

typedef enum Kind {
        KIND_MEMFD,
        KIND_MEMFD_HUGETLB,
        KIND_SHM,
        KIND_SHM_UNLINKED,
        KIND_TMPFILE,
        KIND_TMPFILE_LINKED,
        KIND_DELETED,
        KIND_TMP_LINKED,
        KIND_ORDINARY,
        _KIND_MAX,
} Kind;

typedef enum Via {
        VIA_PROC_SELF,
        VIA_DEV_FD,
        VIA_EXECVEAT,
        VIA_FEXECVE,
        VIA_PROC_PID,
        VIA_PATH,
        VIA_DSLASH,     /* //proc/self/fd/N */
        VIA_PROC_TASK,  /* /proc/self/task/TID/fd/N */
        VIA_SYMLINK,    /* a symlink to /proc/self/fd/N */
        VIA_DIRFD,      /* execveat(open("/proc/self/fd"), "N", 0) */
        VIA_RELATIVE,   /* chdir("/proc/self/fd"), then execve("N") */
        _VIA_MAX,
} Via;

static const char *const kind_table[_KIND_MAX] = {
        [KIND_MEMFD]          = "memfd",
        [KIND_MEMFD_HUGETLB]  = "memfd-hugetlb",
        [KIND_SHM]            = "shm",
        [KIND_SHM_UNLINKED]   = "shm-unlinked",
        [KIND_TMPFILE]        = "tmpfile",
        [KIND_TMPFILE_LINKED] = "tmpfile-linked",
        [KIND_DELETED]        = "deleted",
        [KIND_TMP_LINKED]     = "tmp-linked",
        [KIND_ORDINARY]       = "ordinary",
};

static const char *const via_table[_VIA_MAX] = {
        [VIA_PROC_SELF] = "proc-self",
        [VIA_DEV_FD]    = "dev-fd",
        [VIA_EXECVEAT]  = "execveat",
        [VIA_FEXECVE]   = "fexecve",
        [VIA_PROC_PID]  = "proc-pid",
        [VIA_PATH]      = "path",
        [VIA_DSLASH]    = "dslash",
        [VIA_PROC_TASK] = "proc-task",
        [VIA_SYMLINK]   = "symlink",
        [VIA_DIRFD]     = "dirfd",
        [VIA_RELATIVE]  = "relative",
};

/* Kinds whose payload has a path that can be passed to execve() directly. */
static const bool kind_has_path[_KIND_MAX] = {
        [KIND_SHM]            = true,
        [KIND_TMPFILE_LINKED] = true,
        [KIND_TMP_LINKED]     = true,
        [KIND_ORDINARY]       = true,
};

typedef struct Experiment {
        Kind kind;
        Via via;
        bool script;
        const char *name;
        const char *dir;
        const char *comm;       /* --comm: the child's name before its exec, or NULL */

        /* The payload fd is never close-on-exec (no MFD_CLOEXEC; shm_open()'s O_CLOEXEC
         * is dropped by reopen_readonly()): a #! script reached through an fd path is
         * handed to its interpreter as "/dev/fd/N" or "/proc/.../fd/N", which must still
         * be open after exec, and execveat(AT_EMPTY_PATH) refuses a script behind a
         * close-on-exec fd (ENOENT). ELF runs do not need it; one rule keeps the runs
         * comparable. */
        int fd;
        int cred_fd;            /* --cred-fd, or -1 */
        char *path;             /* path of the payload, for VIA_PATH */
        char *shm_name;         /* "/NAME" while the shm object is linked */
        char *unlink_path;      /* a file we linked, removed in experiment_done() */
        bool skip;              /* setup failed for an environmental reason */
} Experiment;

typedef struct Outcome {
        const char *result;
        int status;             /* as returned by waitpid() */
        int exec_errno;
        pid_t child;
} Outcome;

static int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int log_errno(int r, const char *fmt, ...) {
        va_list ap;

        fputs("fl-exec: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(-r));
        return r;
}

static int log_skip(Experiment *e, int r, const char *what) {
        fprintf(stderr, "skip: %s: %s\n", what, strerror(-r));
        e->skip = true;
        return r;
}

static int lookup(const char *const *table, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

static char *fd_path(char *buf, size_t n, const char *prefix, int fd) {
        snprintf(buf, n, "%s/%d", prefix, fd);
        return buf;
}

static int loop_write(int fd, const void *buf, size_t n) {
        const uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int copy_shell(int dst) {
        char real[PATH_MAX], buf[64 * 1024];
        int src, r = 0;

        if (!realpath("/bin/sh", real))
                return log_errno(-errno, "realpath(/bin/sh)");

        src = open(real, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return log_errno(-errno, "open(%s)", real);

        for (;;) {
                ssize_t k = read(src, buf, sizeof(buf));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = log_errno(-errno, "read(%s)", real);
                        break;
                }
                if (k == 0)
                        break;
                r = loop_write(dst, buf, (size_t) k);
                if (r < 0) {
                        log_errno(r, "write(payload)");
                        break;
                }
        }

        close(src);
        return r;
}

/* Write the content (a copy of /bin/sh, or the script) and make it executable. */
static int fill_payload(const Experiment *e, int fd) {
        int r;

        if (e->script) {
                r = loop_write(fd, script_text, strlen(script_text));
                if (r < 0)
                        return log_errno(r, "write(payload)");
        } else {
                r = copy_shell(fd);
                if (r < 0)
                        return r;
        }

        if (fchmod(fd, 0700) < 0)
                return log_errno(-errno, "fchmod(payload)");

        return 0;
}

/* Swap the writable payload fd for a read-only one (not O_CLOEXEC): execve() refuses
 * with ETXTBSY a file that is open for writing anywhere (memfds excepted, see
 * setup_memfd()). */
static int reopen_readonly(int *fd) {
        char p[64];
        int nfd;

        nfd = open(fd_path(p, sizeof(p), "/proc/self/fd", *fd), O_RDONLY);
        if (nfd < 0)
                return log_errno(-errno, "open(%s, O_RDONLY)", p);

        close(*fd);
        *fd = nfd;
        return 0;
}

static int make_path(char **ret, const char *dir, const char *name) {
        if (asprintf(ret, "%s/%s", dir, name) < 0) {
                *ret = NULL;
                return log_errno(-ENOMEM, "asprintf");
        }
        return 0;
}

static int setup_memfd(Experiment *e) {
        /* MFD_EXEC keeps vm.memfd_noexec=1 from sealing the memfd non-executable;
         * kernels before 6.3 reject the flag, so retry without it. */
        e->fd = memfd_create(e->name, MFD_EXEC);
        if (e->fd < 0 && errno == EINVAL)
                e->fd = memfd_create(e->name, 0);
        if (e->fd < 0)
                return log_errno(-errno, "memfd_create(%s)", e->name);

        /* Unlike the other kinds the writable fd is executed as is (what droppers do):
         * memfd_create() makes a pseudo file that never takes write access, so exec
         * does not see it as busy. */
        return fill_payload(e, e->fd);
}

static int setup_memfd_hugetlb(Experiment *e) {
        struct stat st;
        void *m;

        e->fd = memfd_create(e->name, MFD_HUGETLB | MFD_EXEC);
        if (e->fd < 0 && errno == EINVAL)
                e->fd = memfd_create(e->name, MFD_HUGETLB);
        if (e->fd < 0)
                return log_skip(e, -errno, "memfd_create(MFD_HUGETLB)");

        /* hugetlbfs has no write(): size the file to one huge page (hugetlbfs reports
         * the page size as st_blksize) and store the script through a shared map. */
        if (fstat(e->fd, &st) < 0)
                return log_errno(-errno, "fstat(memfd)");

        if (ftruncate(e->fd, st.st_blksize) < 0)
                return log_skip(e, -errno, "ftruncate(MFD_HUGETLB)");

        m = mmap(NULL, (size_t) st.st_blksize, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
        if (m == MAP_FAILED)
                return log_skip(e, -errno, "mmap(MFD_HUGETLB)");

        memcpy(m, script_text, strlen(script_text));
        munmap(m, (size_t) st.st_blksize);

        if (fchmod(e->fd, 0700) < 0)
                return log_errno(-errno, "fchmod(payload)");

        return 0;
}

static int setup_shm(Experiment *e) {
        int r;

        if (asprintf(&e->shm_name, "/%s", e->name) < 0) {
                e->shm_name = NULL;
                return log_errno(-ENOMEM, "asprintf");
        }

        e->fd = shm_open(e->shm_name, O_RDWR | O_CREAT | O_EXCL, 0700);
        if (e->fd < 0) {
                r = log_errno(-errno, "shm_open(%s)", e->shm_name);
                free(e->shm_name);
                e->shm_name = NULL;
                return r;
        }

        r = fill_payload(e, e->fd);
        if (r < 0)
                return r;

        /* shm_open() always sets O_CLOEXEC; the reopened fd does not have it. */
        r = reopen_readonly(&e->fd);
        if (r < 0)
                return r;

        r = make_path(&e->path, "/dev/shm", e->name);
        if (r < 0)
                return r;

        if (e->kind == KIND_SHM_UNLINKED) {
                if (shm_unlink(e->shm_name) < 0)
                        return log_errno(-errno, "shm_unlink(%s)", e->shm_name);
                free(e->shm_name);
                e->shm_name = NULL;
        }

        return 0;
}

static int open_tmpfile(Experiment *e) {
        static const char *const fallback[] = { "/dev/shm", "/run" };
        int fd;

        fd = open(e->dir, O_TMPFILE | O_RDWR, 0700);
        for (size_t i = 0; fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR) && i < 2; i++) {
                fprintf(stderr, "fl-exec: O_TMPFILE in %s: %s, using %s instead\n",
                        e->dir, strerror(errno), fallback[i]);
                e->dir = fallback[i];
                fd = open(e->dir, O_TMPFILE | O_RDWR, 0700);
        }
        if (fd < 0)
                return log_errno(-errno, "open(%s, O_TMPFILE)", e->dir);

        return fd;
}

static int setup_tmpfile(Experiment *e) {
        char p[64];
        int r;

        e->fd = open_tmpfile(e);
        if (e->fd < 0)
                return e->fd;

        r = fill_payload(e, e->fd);
        if (r < 0)
                return r;

        if (e->kind == KIND_TMPFILE_LINKED) {
                r = make_path(&e->path, e->dir, e->name);
                if (r < 0)
                        return r;

                /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (ENOENT without it);
                 * linking the /proc magic link does not. */
                if (linkat(e->fd, "", AT_FDCWD, e->path, AT_EMPTY_PATH) < 0) {
                        if (errno != ENOENT && errno != EPERM)
                                return log_errno(-errno, "linkat(%d, \"\", %s, AT_EMPTY_PATH)",
                                                 e->fd, e->path);
                        fd_path(p, sizeof(p), "/proc/self/fd", e->fd);
                        if (linkat(AT_FDCWD, p, AT_FDCWD, e->path, AT_SYMLINK_FOLLOW) < 0)
                                return log_errno(-errno, "linkat(%s, %s, AT_SYMLINK_FOLLOW)",
                                                 p, e->path);
                }
                e->unlink_path = strdup(e->path);
                if (!e->unlink_path)
                        return log_errno(-ENOMEM, "strdup");
        }

        return reopen_readonly(&e->fd);
}

/* A regular file in DIR: KIND_DELETED unlinks it after opening, KIND_TMP_LINKED
 * (and KIND_ORDINARY with --script) keeps it. */
static int setup_regular(Experiment *e) {
        int r;

        r = make_path(&e->path, e->dir, e->name);
        if (r < 0)
                return r;

        e->fd = open(e->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0700);
        if (e->fd < 0)
                return log_errno(-errno, "open(%s)", e->path);

        e->unlink_path = strdup(e->path);
        if (!e->unlink_path)
                return log_errno(-ENOMEM, "strdup");

        r = fill_payload(e, e->fd);
        if (r < 0)
                return r;

        r = reopen_readonly(&e->fd);
        if (r < 0)
                return r;

        if (e->kind == KIND_DELETED) {
                if (unlink(e->unlink_path) < 0)
                        return log_errno(-errno, "unlink(%s)", e->unlink_path);
                free(e->unlink_path);
                e->unlink_path = NULL;
        }

        return 0;
}

static int setup_ordinary(Experiment *e) {
        if (e->script)
                return setup_regular(e);

        /* No copy: the fd only serves to report what is executed. */
        e->path = strdup("/bin/sh");
        if (!e->path)
                return log_errno(-ENOMEM, "strdup");

        e->fd = open(e->path, O_RDONLY | O_CLOEXEC);
        if (e->fd < 0)
                return log_errno(-errno, "open(%s)", e->path);

        return 0;
}

static int (*const setup_table[_KIND_MAX])(Experiment *e) = {
        [KIND_MEMFD]          = setup_memfd,
        [KIND_MEMFD_HUGETLB]  = setup_memfd_hugetlb,
        [KIND_SHM]            = setup_shm,
        [KIND_SHM_UNLINKED]   = setup_shm,
        [KIND_TMPFILE]        = setup_tmpfile,
        [KIND_TMPFILE_LINKED] = setup_tmpfile,
        [KIND_DELETED]        = setup_regular,
        [KIND_TMP_LINKED]     = setup_regular,
        [KIND_ORDINARY]       = setup_ordinary,
};

static void experiment_done(Experiment *e) {
        if (e->shm_name && shm_unlink(e->shm_name) < 0)
                log_errno(-errno, "shm_unlink(%s)", e->shm_name);
        if (e->unlink_path && unlink(e->unlink_path) < 0)
                log_errno(-errno, "unlink(%s)", e->unlink_path);
        if (e->fd >= 0)
                close(e->fd);

        free(e->shm_name);
        free(e->unlink_path);
        free(e->path);
        e->shm_name = e->unlink_path = e->path = NULL;
        e->fd = -1;
}

static int exec_path(const Experiment *e, char *buf, size_t n) {
        switch (e->via) {
        case VIA_PROC_SELF:
                fd_path(buf, n, "/proc/self/fd", e->fd);
                break;
        case VIA_DEV_FD:
                fd_path(buf, n, "/dev/fd", e->fd);
                break;
        case VIA_PROC_PID:
                snprintf(buf, n, "/proc/%d/fd/%d", (int) getpid(), e->fd);
                break;
        case VIA_PATH:
                if (strlen(e->path) >= n)
                        return log_errno(-ENAMETOOLONG, "%s", e->path);
                strcpy(buf, e->path);
                break;
        case VIA_DSLASH:
                fd_path(buf, n, "//proc/self/fd", e->fd);
                break;
        case VIA_RELATIVE:
                snprintf(buf, n, "%d", e->fd);
                break;
        default:
                /* VIA_PROC_TASK and VIA_SYMLINK name the child itself, so
                 * the child makes its path (child_path()). */
                buf[0] = '\0';
        }
        return 0;
}

/* In the child: the paths that name the child's own thread or a symlink it
 * makes. Returns the path to exec, or NULL. */
static const char *child_path(const Experiment *e, char *buf, size_t n) {
        char target[64], link[64];

        switch (e->via) {
        case VIA_PROC_TASK:
                snprintf(buf, n, "/proc/self/task/%ld/fd/%d", (long) syscall(SYS_gettid), e->fd);
                return buf;
        case VIA_SYMLINK:
                snprintf(target, sizeof(target), "/proc/self/fd/%d", e->fd);
                snprintf(link, sizeof(link), "/tmp/fl-exec-link-%d", (int) getpid());
                (void) unlink(link);
                if (symlink(target, link) < 0)
                        return NULL;
                snprintf(buf, n, "%s", link);
                return buf;
        default:
                return NULL;
        }
}

/* One datagram on --cred-fd: a receiver with SO_PASSCRED gets our pid as its
 * own pid namespace sees it, which is how the initial namespace learns the
 * pids of a run inside `unshare --pid`. */
static void send_cred(const Experiment *e, const char *who) {
        if (e->cred_fd >= 0 && send(e->cred_fd, who, strlen(who), 0) < 0)
                log_errno(-errno, "send(--cred-fd)");
}

static _Noreturn void child_exec(const Experiment *e, const char *path, int errpipe) {
        char *const *argv = e->script ? script_argv : elf_argv;
        int r;

        /* Only the parent (another live process) holds the payload for proc-pid: the
         * kernel must resolve /proc/<ppid>/fd/N, not a descriptor of our own. */
        if (e->via == VIA_PROC_PID)
                close(e->fd);

        send_cred(e, "child");

        if (e->comm && prctl(PR_SET_NAME, e->comm) < 0) {
                r = errno;
                (void) !write(errpipe, &r, sizeof(r));
                _exit(CHILD_EXEC_FAILED);
        }

        switch (e->via) {
        case VIA_EXECVEAT:
                syscall(SYS_execveat, e->fd, "", argv, environ, AT_EMPTY_PATH);
                break;
        case VIA_FEXECVE:
                fexecve(e->fd, argv, environ);
                break;
        case VIA_DIRFD: {
                /* Not close-on-exec: the kernel would refuse a script then. */
                int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
                char name[16];

                snprintf(name, sizeof(name), "%d", e->fd);
                if (dfd >= 0)
                        syscall(SYS_execveat, dfd, name, argv, environ, 0);
                break;
        }
        case VIA_RELATIVE:
                if (chdir("/proc/self/fd") >= 0)
                        execve(path, argv, environ);
                break;
        case VIA_PROC_TASK:
        case VIA_SYMLINK: {
                char own[128];
                const char *p = child_path(e, own, sizeof(own));

                if (p)
                        execve(p, argv, environ);
                break;
        }
        default:
                execve(path, argv, environ);
        }

        r = errno;
        (void) !write(errpipe, &r, sizeof(r));
        _exit(CHILD_EXEC_FAILED);
}

static int64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_child(const Experiment *e, const char *path, Outcome *o) {
        int64_t deadline = now_msec() + TIMEOUT_MSEC;
        struct pollfd pfd;
        int pipefd[2], r, err = 0;
        bool timed_out = false;
        pid_t pid;
        ssize_t k;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return log_errno(-errno, "pipe2");

        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                r = log_errno(-errno, "fork");
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0)
                child_exec(e, path, pipefd[1]);

        close(pipefd[1]);
        o->child = pid;

        /* EOF on the CLOEXEC pipe means the exec went past the point of no return. */
        pfd = (struct pollfd) { .fd = pipefd[0], .events = POLLIN };
        for (;;) {
                int64_t left = deadline - now_msec();

                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                r = poll(&pfd, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        r = log_errno(-errno, "poll");
                        break;
                }
                if (r == 0)
                        continue;

                k = read(pipefd[0], &err, sizeof(err));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k != (ssize_t) sizeof(err))
                        err = 0;
                break;
        }
        close(pipefd[0]);

        while (!timed_out) {
                r = waitpid(pid, &o->status, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0 && errno != EINTR)
                        return log_errno(-errno, "waitpid");
                if (now_msec() >= deadline)
                        timed_out = true;
                else
                        usleep(10 * 1000);
        }

        if (e->via == VIA_SYMLINK) {
                char link[64];

                /* The child made it (child_path()); a #! interpreter opens it
                 * by that name after the exec, so only now is it done with. */
                snprintf(link, sizeof(link), "/tmp/fl-exec-link-%d", (int) pid);
                (void) unlink(link);
        }

        if (timed_out) {
                fprintf(stderr, "fl-exec: child %d still running after %d ms, killing it\n",
                        (int) pid, TIMEOUT_MSEC);
                kill(pid, SIGKILL);
                while (waitpid(pid, &o->status, 0) < 0)
                        if (errno != EINTR)
                                return log_errno(-errno, "waitpid");
                o->result = "timeout";
                o->exec_errno = err;
                return 0;
        }

        o->exec_errno = err;
        if (err == EPERM)
                o->result = "denied";
        else if (err != 0) {
                o->result = "failed";
                fprintf(stderr, "fl-exec: exec failed: %s\n", strerror(err));
        } else if (WIFEXITED(o->status) && WEXITSTATUS(o->status) == PAYLOAD_EXIT)
                o->result = "ran";
        else if (WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGKILL)
                o->result = "killed";
        else {
                o->result = "failed";
                if (WIFSIGNALED(o->status))
                        fprintf(stderr, "fl-exec: payload killed by SIG%s\n",
                                sigabbrev_np(WTERMSIG(o->status)) ?: "?");
                else
                        fprintf(stderr, "fl-exec: payload exited with %d, expected %d\n",
                                WEXITSTATUS(o->status), PAYLOAD_EXIT);
        }

        return 0;
}

static void print_quoted(const char *s) {
        putchar('"');
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20 || c >= 0x7f)
                        printf("\\x%02x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

static const char *self_comm(void) {
        static char comm[17];

        if (prctl(PR_GET_NAME, comm) < 0)
                return "";
        return comm;
}

/* The inode of our pid namespace ("pid:[4026531836]"), 0 if unknown. */
static uintmax_t self_pidns(void) {
        char buf[64];
        uintmax_t ino = 0;
        ssize_t k;

        k = readlink("/proc/self/ns/pid", buf, sizeof(buf) - 1);
        if (k < 0)
                return 0;
        buf[k] = '\0';
        if (sscanf(buf, "pid:[%ju]", &ino) != 1)
                return 0;
        return ino;
}

static void print_outcome(const Experiment *e, const Outcome *o, const char *file,
                          const char *path, const struct stat *st) {
        char status[32];
        const char *errname = "0";

        if (WIFSIGNALED(o->status))
                snprintf(status, sizeof(status), "SIG%s", sigabbrev_np(WTERMSIG(o->status)) ?: "?");
        else
                snprintf(status, sizeof(status), "%d", WEXITSTATUS(o->status));

        if (o->exec_errno != 0)
                errname = strerrorname_np(o->exec_errno) ?: "?";

        printf("result=%s status=%s errno=%s kind=%s via=%s script=%d file=",
               o->result, status, errname, kind_table[e->kind], via_table[e->via], e->script);
        print_quoted(file);
        fputs(" path=", stdout);
        print_quoted(path);
        printf(" ino=%ju dev=%u:%u child=%d", (uintmax_t) st->st_ino, major(st->st_dev), minor(st->st_dev),
               (int) o->child);
        /* Facts about ourselves, the parent of the exec'ing child, to compare
         * an event's PPID, GID, PARENT_COMM and PID_NAMESPACE with. */
        printf(" pid=%d gid=%u comm=", (int) getpid(), (unsigned) getgid());
        print_quoted(self_comm());
        printf(" pidns=%ju\n", self_pidns());
        fflush(stdout);
}

static void help(FILE *f) {
        fputs("Usage: fl-exec [--script] [--name NAME] [--dir DIR] [--comm COMM] [--cred-fd FD] KIND VIA\n"
              "\n"
              "Perform one fileless exec experiment in a child and report the outcome.\n"
              "\n"
              "  --script      execute \"#!/bin/sh\\nexit 42\\n\" instead of a copy of /bin/sh\n"
              "  --name NAME   name of the memfd, shm object or file (default fl-exec-<pid>;\n"
              "                a memfd's may hold '/', as runc's runc_cloned:/proc/self/exe)\n"
              "  --dir DIR     directory for tmpfile, tmpfile-linked, deleted, tmp-linked\n"
              "                and ordinary --script (default /tmp)\n"
              "  --comm COMM   the child names itself COMM (PR_SET_NAME) before its exec\n"
              "  --cred-fd FD  send one datagram \"parent\" from this process and one \"child\"\n"
              "                from the child before its exec on the socket FD (the receiver's\n"
              "                SO_PASSCRED then tells their pids in its own pid namespace)\n"
              "  -h, --help    show this help\n"
              "\n"
              "KIND: memfd memfd-hugetlb shm shm-unlinked tmpfile tmpfile-linked\n"
              "      deleted tmp-linked ordinary\n"
              "VIA:  proc-self dev-fd execveat fexecve proc-pid path dslash proc-task\n"
              "      symlink dirfd relative\n"
              "      (path only for shm, tmpfile-linked, tmp-linked, ordinary;\n"
              "       ordinary only via path; memfd-hugetlb only with --script)\n"
              "\n"
              "Prints one line: result=<ran|killed|denied|failed|timeout> status= errno=\n"
              "kind= via= script= file= path= ino= dev= child= pid= gid= comm= pidns=\n"
              "Exit status: 0 experiment ran, 1 setup failure, 2 usage error, 77 skipped.\n",
              f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("fl-exec: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nUsage: fl-exec [--script] [--name NAME] [--dir DIR] [--comm COMM] [--cred-fd FD] KIND VIA\n", stderr);
        return -EINVAL;
}

static int parse_argv(int argc, char *argv[], Experiment *e) {
        static const struct option options[] = {
                { "script", no_argument,       NULL, 's' },
                { "name",   required_argument, NULL, 'n' },
                { "dir",    required_argument, NULL, 'd' },
                { "comm",   required_argument, NULL, 'C' },
                { "cred-fd", required_argument, NULL, 'c' },
                { "help",   no_argument,       NULL, 'h' },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        e->script = true;
                        break;
                case 'n':
                        e->name = optarg;
                        break;
                case 'd':
                        e->dir = optarg;
                        break;
                case 'C':
                        e->comm = optarg;
                        break;
                case 'c': {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX ||
                            fcntl((int) v, F_SETFD, FD_CLOEXEC) < 0)
                                return usage_error("invalid --cred-fd '%s'", optarg);
                        e->cred_fd = (int) v;
                        break;
                }
                case 'h':
                        help(stdout);
                        return 0;
                default:
                        return usage_error("invalid option");
                }

        if (argc - optind != 2)
                return usage_error("expected KIND and VIA, got %d argument(s)", argc - optind);

        r = lookup(kind_table, _KIND_MAX, argv[optind]);
        if (r < 0)
                return usage_error("unknown KIND '%s'", argv[optind]);
        e->kind = (Kind) r;

        r = lookup(via_table, _VIA_MAX, argv[optind + 1]);
        if (r < 0)
                return usage_error("unknown VIA '%s'", argv[optind + 1]);
        e->via = (Via) r;

        if (e->via == VIA_PATH && !kind_has_path[e->kind])
                return usage_error("VIA 'path' is not valid for KIND '%s'", kind_table[e->kind]);
        if (e->kind == KIND_ORDINARY && e->via != VIA_PATH)
                return usage_error("VIA '%s' is not valid for KIND 'ordinary' (path only)",
                                   via_table[e->via]);
        if (e->kind == KIND_MEMFD_HUGETLB && !e->script)
                return usage_error("KIND 'memfd-hugetlb' requires --script");

        /* Other kinds make a path of the name; a memfd's is only a label. */
        if (e->name && (e->name[0] == '\0' || strlen(e->name) > 200 ||
                        (strchr(e->name, '/') && e->kind != KIND_MEMFD && e->kind != KIND_MEMFD_HUGETLB)))
                return usage_error("invalid --name '%s' (1-200 characters, no '/' but for a memfd)", e->name);
        if (e->comm && (e->comm[0] == '\0' || strlen(e->comm) > 15))
                return usage_error("invalid --comm '%s' (1-15 characters)", e->comm);
        if (e->dir && e->dir[0] == '\0')
                return usage_error("invalid --dir ''");

        return 1;
}

int main(int argc, char *argv[]) {
        Experiment e = { .fd = -1, .cred_fd = -1, .dir = DEFAULT_DIR };
        Outcome o = {};
        char path[PATH_MAX], file[PATH_MAX], p[64], *default_name = NULL;
        struct stat st;
        ssize_t k;
        int r;

        r = parse_argv(argc, argv, &e);
        if (r < 0)
                return EXIT_USAGE;
        if (r == 0)
                return EXIT_SUCCESS;

        if (!e.name) {
                if (asprintf(&default_name, "fl-exec-%d", (int) getpid()) < 0) {
                        log_errno(-ENOMEM, "asprintf");
                        return EXIT_FAILURE;
                }
                e.name = default_name;
        }

        r = setup_table[e.kind](&e);
        if (r < 0)
                goto finish;

        if (fstat(e.fd, &st) < 0) {
                r = log_errno(-errno, "fstat(payload)");
                goto finish;
        }

        k = readlink(fd_path(p, sizeof(p), "/proc/self/fd", e.fd), file, sizeof(file) - 1);
        if (k < 0) {
                r = log_errno(-errno, "readlink(%s)", p);
                goto finish;
        }
        file[k] = '\0';

        r = exec_path(&e, path, sizeof(path));
        if (r < 0)
                goto finish;

        send_cred(&e, "parent");
        r = run_child(&e, path, &o);
        if (r < 0)
                goto finish;

        print_outcome(&e, &o, file, path, &st);

finish:
        experiment_done(&e);
        free(default_name);
        if (r >= 0)
                return EXIT_SUCCESS;
        return e.skip ? EXIT_SKIP : EXIT_FAILURE;
}
