/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fl-load: run code from a fileless file WITHOUT exec'ing that file (mapped by
 * ld.so, dlopen(), LD_PRELOAD, LD_AUDIT, the kernel's ELF loader, or by hand),
 * or exec a file of one of the kinds that are fileless although they have a
 * path (a container's /dev/shm, a user namespace's tmpfs, a detached mount, an
 * overlay file deleted in its upper layer); plus the controls that must keep
 * working. One experiment per run, in a forked child; one line on stdout:
 *
 *   result=ran|denied|killed|failed|timeout status=N signal=NAME errno=NAME
 *   technique=T kind=K operation=OP file="..." ino=N dev=MAJ:MIN child=PID
 *   program="..." userns=0|1 mark="..." [upper_ino=N upper_dev=MAJ:MIN]
 *
 * "ran" is measured: the payload (fl-payload, or a few bytes of x86-64 code)
 * writes a line to the pipe named by $FL_MARK_FD, and only its arrival says
 * "ran". "denied": no mark, and the operation failed with EPERM or EACCES
 * (the child's own syscall, dlopen()'s error, exec's errno, or ld.so's error
 * message). "killed": no mark, the child died of a signal. kind, operation and
 * program are what the daemon is expected to report for the file (see
 * technique_table); ino/dev are the fileless file's as fstat() sees them
 * (overlay-deleted: the overlay's file; upper_ino/upper_dev are the unlinked
 * upper-layer inode behind it). program is the basename of the acting task's
 * own executable when it execs or maps the file: fl-load for an exec or a
 * dlopen() of its own, ld.so, true or the patched program for the others.
 *
 * Exit status: 0 after printing the line, 1 setup failure, 2 usage error,
 * 77 when this kernel or environment cannot do the experiment at all (the
 * reason on stderr, starting with "kernel feature:").
 *
 * Build: gcc -std=gnu11 -Wall -Wextra -Werror -o fl-load fl-load.c -ldl
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
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
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

#define EXIT_USAGE 2
#define EXIT_SKIP 77
#define CHILD_OP_FAILED 126     /* the operation failed; its errno was reported */
#define TIMEOUT_MSEC 30000      /* python3 takes seconds in a TCG guest */
#define DEFAULT_DIR "/var/tmp"
#define DEFAULT_SHM_DIR "/dev/shm"
#define PYTHON "/usr/bin/python3"
#define TRUE_PROGRAM "/bin/true"
#define CAPTURE_MAX (64 * 1024)
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

typedef enum Technique {
        T_MMAP,
        T_MPROTECT,
        T_JIT,
        T_LDSO,
        T_DLOPEN,
        T_PRELOAD,
        T_AUDIT,
        T_INTERP,
        T_ORDINARY_DYNAMIC,
        T_CTYPES,
        T_SHM_CONTAINER,
        T_SHM_CONTAINER_DLOPEN,
        T_SHM_CONTAINER_DEV,
        T_USERNS,
        T_USERNS_EXECVEAT,
        T_USERNS_DLOPEN,
        T_DETACHED,
        T_DETACHED_TREE,
        T_DETACHED_DLOPEN,
        T_OVERLAY_DELETED,
        T_OVERLAY_DELETED_DLOPEN,
        _T_MAX,
} Technique;

/* What each technique does to the fileless file, and so what the daemon is
 * expected to report: its FILELESS_KIND and FILELESS_OPERATION ("none" for a
 * control, which must not be reported at all). */
typedef enum Mount {
        MOUNT_NONE,     /* no mount needed */
        MOUNT_PRIV,     /* mounts: as root in a private mount namespace, else in a user namespace */
        MOUNT_USERNS,   /* always in a new user namespace */
} Mount;

typedef struct TechniqueInfo {
        const char *name;
        const char *kind;
        const char *operation;
        Mount mount;
        bool library;   /* the payload is libfl-payload.so, not fl-payload */
        const char *help;
} TechniqueInfo;

static const TechniqueInfo technique_table[_T_MAX] = {
        [T_MMAP] = { "mmap", "memfd", "mmap", MOUNT_NONE, false,
                     "x86-64 code in a memfd, mmap(PROT_READ|PROT_EXEC, MAP_PRIVATE), called" },
        [T_MPROTECT] = { "mprotect", "memfd", "mprotect", MOUNT_NONE, false,
                         "the same code mapped PROT_READ, then mprotect() adds PROT_EXEC, called" },
        [T_JIT] = { "jit", "memfd", "none", MOUNT_NONE, false,
                    "control: a memfd mapped MAP_SHARED twice (RW and RX), code written and called" },
        [T_LDSO] = { "ldso", "memfd", "mmap", MOUNT_NONE, false,
                     "ld.so run as a program on /proc/self/fd/N, a memfd copy of fl-payload" },
        [T_DLOPEN] = { "dlopen", "memfd", "mmap", MOUNT_NONE, true,
                       "dlopen(\"/proc/self/fd/N\") of a memfd copy of libfl-payload.so" },
        [T_PRELOAD] = { "preload", "shm", "mmap", MOUNT_NONE, true,
                        "LD_PRELOAD=<copy of libfl-payload.so in /dev/shm> /bin/true" },
        [T_AUDIT] = { "audit", "shm", "mmap", MOUNT_NONE, true,
                      "LD_AUDIT=<copy of libfl-payload.so in /dev/shm> /bin/true" },
        [T_INTERP] = { "interp", "memfd", "mmap", MOUNT_NONE, false,
                       "a disk copy of fl-payload whose PT_INTERP is /proc/self/fd/N, a memfd copy of ld.so" },
        [T_ORDINARY_DYNAMIC] = { "ordinary-dynamic", "ordinary", "none", MOUNT_NONE, false,
                                 "control: exec fl-payload from disk" },
        [T_CTYPES] = { "ctypes", "ordinary", "none", MOUNT_NONE, false,
                       "control: python3 ctypes CFUNCTYPE callback (a libffi closure) writes the mark" },
        [T_SHM_CONTAINER] = { "shm-container", "shm", "exec", MOUNT_PRIV, false,
                              "new mount namespace, a fresh tmpfs mounted over the /dev/shm mount; exec a copy there by path" },
        [T_SHM_CONTAINER_DLOPEN] = { "shm-container-dlopen", "shm", "mmap", MOUNT_PRIV, true,
                                     "the same /dev/shm; dlopen() a library copy there by path" },
        [T_SHM_CONTAINER_DEV] = { "shm-container-dev", "shm", "exec", MOUNT_PRIV, false,
                                  "the layout runc makes: a tmpfs on a new .../dev, one on .../dev/shm below it; exec by path" },
        [T_USERNS] = { "userns", "userns", "exec", MOUNT_USERNS, false,
                       "unshare(CLONE_NEWUSER|CLONE_NEWNS), tmpfs mounted there; exec a copy by path" },
        [T_USERNS_EXECVEAT] = { "userns-execveat", "userns", "exec", MOUNT_USERNS, false,
                                "the same tmpfs; execveat(fd, \"\", AT_EMPTY_PATH)" },
        [T_USERNS_DLOPEN] = { "userns-dlopen", "userns", "mmap", MOUNT_USERNS, true,
                              "the same tmpfs; dlopen() a library copy there by path" },
        [T_DETACHED] = { "detached", "detached", "exec", MOUNT_PRIV, false,
                         "tmpfs in a private mount namespace, file opened, umount2(MNT_DETACH), execveat(fd)" },
        [T_DETACHED_TREE] = { "detached-tree", "detached", "exec", MOUNT_PRIV, false,
                              "an open_tree(OPEN_TREE_CLONE) clone of a tmpfs, the original unmounted, execveat(fd)" },
        [T_DETACHED_DLOPEN] = { "detached-dlopen", "detached", "mmap", MOUNT_PRIV, true,
                                "the lazily unmounted tmpfs; dlopen(\"/proc/self/fd/N\") of a library copy" },
        [T_OVERLAY_DELETED] = { "overlay-deleted", "deleted", "exec", MOUNT_PRIV, false,
                                "overlay on a tmpfs, file made through it, unlinked in the upper layer, execveat(fd)" },
        [T_OVERLAY_DELETED_DLOPEN] = { "overlay-deleted-dlopen", "deleted", "mmap", MOUNT_PRIV, true,
                                       "the same; dlopen(\"/proc/self/fd/N\")" },
};

typedef struct Context {
        Technique technique;
        const char *name;
        const char *dir;
        const char *shm_dir;
        const char *user;
        char self[NAME_MAX + 1];        /* basename of our own executable, found before any namespace change */
        char payload_program[PATH_MAX];
        char payload_library[PATH_MAX];
        int mark_fd;            /* the child's write end; not close-on-exec */
        int info_fd;            /* key=value lines to the parent; close-on-exec */
} Context;

/* x86-64: write(rdi, msg, len); ret. Called as void f(int fd). */
static const uint8_t code_template[] = {
        0xb8, 0x01, 0x00, 0x00, 0x00,                   /* mov eax, 1 (write) */
        0x48, 0x8d, 0x35, 0x08, 0x00, 0x00, 0x00,       /* lea rsi, [rip + 8] -> msg */
        0xba, 0x0d, 0x00, 0x00, 0x00,                   /* mov edx, 13 */
        0x0f, 0x05,                                     /* syscall */
        0xc3,                                           /* ret */
        'f', 'l', '-', 'l', 'o', 'a', 'd', ' ', 'c', 'o', 'd', 'e', '\n',
};

/* ---------------------------------------------------------------------------
 * Small utilities */

static int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int log_errno(int r, const char *fmt, ...) {
        va_list ap;

        fputs("fl-load: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(-r));
        return r;
}

static void info(const Context *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(const Context *c, const char *fmt, ...) {
        char buf[PATH_MAX + 64];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof(buf) - 2)
                n = (int) sizeof(buf) - 2;
        buf[n++] = '\n';
        (void) !write(c->info_fd, buf, (size_t) n);
}

/* The experiment cannot be done here: say why, and exit 77. */
static _Noreturn void child_skip(const Context *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void child_skip(const Context *c, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        fputs("fl-load: skip: kernel feature: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(saved));
        info(c, "skip=1");
        _exit(EXIT_SKIP);
}

static _Noreturn void child_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void child_fail(int r, const char *fmt, ...) {
        va_list ap;

        fputs("fl-load: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(-r));
        _exit(EXIT_FAILURE);
}

/* The operation under test failed: report its errno and exit. */
static _Noreturn void child_op_failed(const Context *c, int err, const char *what) {
        fprintf(stderr, "fl-load: %s: %s\n", what, strerror(err));
        info(c, "errno=%d", err);
        _exit(CHILD_OP_FAILED);
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

static int copy_file_to_fd(const char *src, int dst) {
        char buf[64 * 1024];
        int fd, r = 0;

        fd = open(src, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_errno(-errno, "open(%s)", src);
        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = log_errno(-errno, "read(%s)", src);
                        break;
                }
                if (k == 0)
                        break;
                r = loop_write(dst, buf, (size_t) k);
                if (r < 0) {
                        log_errno(r, "write(copy of %s)", src);
                        break;
                }
        }
        close(fd);
        return r;
}

static const char *basename_of(const char *path) {
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* The basename of the file a path finally resolves to: what the kernel shows
 * as a task's executable (ld-linux-x86-64.so.2, true, python3.11). */
static void real_basename(const char *path, char *buf, size_t n) {
        char real[PATH_MAX];
        const char *b = basename_of(realpath(path, real) ? real : path);
        size_t l = strlen(b);

        if (l >= n)
                l = n - 1;
        memcpy(buf, b, l);
        buf[l] = '\0';
}

static void fd_path(char *buf, size_t n, int fd) {
        snprintf(buf, n, "/proc/self/fd/%d", fd);
}

static int make_memfd(const Context *c) {
        /* MFD_EXEC keeps vm.memfd_noexec=1 from sealing the memfd non-executable;
         * kernels before 6.3 reject the flag. No MFD_CLOEXEC: ld.so and the kernel
         * reach it as /proc/self/fd/N after the exec. */
        int fd = memfd_create(c->name, MFD_EXEC);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create(c->name, 0);
        if (fd < 0)
                child_fail(-errno, "memfd_create(%s)", c->name);
        return fd;
}

static int memfd_copy_of(const Context *c, const char *src) {
        int fd = make_memfd(c), r;

        r = copy_file_to_fd(src, fd);
        if (r < 0)
                _exit(EXIT_FAILURE);
        if (fchmod(fd, 0755) < 0)
                child_fail(-errno, "fchmod(memfd)");
        return fd;
}

/* A new file PATH holding a copy of SRC, mode 0755, closed (exec refuses a file
 * open for writing with ETXTBSY); returns a read-only descriptor of it. */
static int file_copy_of(const char *src, const char *path, bool cloexec) {
        int fd, r;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
        if (fd < 0)
                child_fail(-errno, "open(%s)", path);
        r = copy_file_to_fd(src, fd);
        if (r < 0)
                _exit(EXIT_FAILURE);
        if (fchmod(fd, 0755) < 0)
                child_fail(-errno, "fchmod(%s)", path);
        close(fd);

        fd = open(path, O_RDONLY | (cloexec ? O_CLOEXEC : 0));
        if (fd < 0)
                child_fail(-errno, "open(%s, O_RDONLY)", path);
        return fd;
}

/* Tells the parent which file this is (ino, dev, the name /proc shows). */
static void report_file(const Context *c, int fd) {
        char p[64], file[PATH_MAX];
        struct stat st;
        ssize_t k;

        if (fstat(fd, &st) < 0)
                child_fail(-errno, "fstat");
        fd_path(p, sizeof(p), fd);
        k = readlink(p, file, sizeof(file) - 1);
        if (k < 0)
                child_fail(-errno, "readlink(%s)", p);
        file[k] = '\0';
        info(c, "file=%s", file);
        info(c, "ino=%ju", (uintmax_t) st.st_ino);
        info(c, "dev=%u:%u", major(st.st_dev), minor(st.st_dev));
}

static void report_program(const Context *c, const char *path) {
        char b[NAME_MAX + 1];

        real_basename(path, b, sizeof(b));
        info(c, "program=%s", b);
}

/* Ourselves: /proc/self/exe does not resolve once a chrooted task has
 * entered a mount namespace of its own. */
static void report_self(const Context *c) {
        info(c, "program=%s", c->self);
}

static void set_mark_env(const Context *c) {
        char v[16];

        snprintf(v, sizeof(v), "%d", c->mark_fd);
        if (setenv("FL_MARK_FD", v, 1) < 0)
                child_fail(-errno, "setenv");
}

static _Noreturn void do_execve(const Context *c, const char *path, char *const argv[]) {
        execve(path, argv, environ);
        child_op_failed(c, errno, "execve");
}

static _Noreturn void do_execveat(const Context *c, int fd, char *const argv[]) {
        syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
        child_op_failed(c, errno, "execveat(AT_EMPTY_PATH)");
}

/* dlopen() says why it failed only in words; map the two refusals we look
 * for back to their errno. */
static _Noreturn void do_dlopen(const Context *c, const char *path) {
        const char *err;
        int saved;

        if (dlopen(path, RTLD_NOW | RTLD_LOCAL))
                _exit(EXIT_SUCCESS);    /* the constructor has written the mark */

        saved = errno;
        err = dlerror() ?: "?";
        fprintf(stderr, "fl-load: dlopen(%s): %s\n", path, err);
        if (strstr(err, strerror(EPERM)))
                info(c, "errno=%d", EPERM);
        else if (strstr(err, strerror(EACCES)))
                info(c, "errno=%d", EACCES);
        else if (strstr(err, "failed to map segment") && (saved == EPERM || saved == EACCES))
                /* glibc drops the errno of a failed segment mmap() from the
                 * message; errno still holds it. */
                info(c, "errno=%d", saved);
        _exit(CHILD_OP_FAILED);
}

/* ---------------------------------------------------------------------------
 * ELF: the program interpreter of the payload */

typedef struct Interp {
        uint64_t offset;        /* of the PT_INTERP string in the file */
        uint64_t size;          /* p_filesz, NUL included */
        char path[PATH_MAX];
} Interp;

static int read_interp(const char *file, Interp *ret) {
        Elf64_Ehdr eh;
        int fd, r = -ENOEXEC;

        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_errno(-errno, "open(%s)", file);
        if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t) sizeof(eh) ||
            memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_phentsize != sizeof(Elf64_Phdr))
                goto out;

        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;

                if (pread(fd, &ph, sizeof(ph), (off_t) (eh.e_phoff + i * sizeof(ph))) != (ssize_t) sizeof(ph))
                        goto out;
                if (ph.p_type != PT_INTERP)
                        continue;
                if (ph.p_filesz < 2 || ph.p_filesz > sizeof(ret->path))
                        goto out;
                if (pread(fd, ret->path, ph.p_filesz, (off_t) ph.p_offset) != (ssize_t) ph.p_filesz ||
                    ret->path[ph.p_filesz - 1] != '\0')
                        goto out;
                ret->offset = ph.p_offset;
                ret->size = ph.p_filesz;
                r = 0;
                goto out;
        }
out:
        close(fd);
        if (r < 0)
                fprintf(stderr, "fl-load: %s: no PT_INTERP\n", file);
        return r;
}

/* The dynamic loader: the payload's PT_INTERP, else /lib64's. */
static void find_ldso(const Context *c, Interp *interp) {
        if (read_interp(c->payload_program, interp) < 0 || access(interp->path, X_OK) < 0) {
                snprintf(interp->path, sizeof(interp->path), "/lib64/ld-linux-x86-64.so.2");
                if (access(interp->path, X_OK) < 0)
                        child_skip(c, "no dynamic loader (PT_INTERP of %s, or %s)",
                                   c->payload_program, interp->path);
        }
}

/* ---------------------------------------------------------------------------
 * Namespaces and mounts */

static int write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, text, strlen(text)) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* Can this process create a user namespace? A forked probe, so nothing changes here. */
static bool userns_possible(void) {
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return false;
        if (pid == 0)
                _exit(unshare(CLONE_NEWUSER) < 0 ? 1 : 0);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return false;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The kernel refuses user namespaces to a chrooted process (the qemu tier's
 * guest runs its command chrooted into an overlay). As root, leave the chroot
 * the way switch_root enters one: in a private mount namespace, walk up to the
 * real root, then move the old root's mount on top of it. Paths do not change. */
static void leave_chroot(const Context *c) {
        struct stat root_st, st;
        char line[4096], found[PATH_MAX] = "";
        FILE *f;
        int rootfd;

        if (geteuid() != 0 || userns_possible())
                return;

        if (stat("/", &root_st) < 0)
                child_fail(-errno, "stat(/)");
        if (unshare(CLONE_NEWNS) < 0)
                child_skip(c, "unshare(CLONE_NEWNS) to leave the chroot");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(-errno, "mount(/, MS_REC|MS_PRIVATE)");

        rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                child_fail(-errno, "open(/)");
        if (chroot("/proc") < 0 || fchdir(rootfd) < 0)
                child_fail(-errno, "chroot(/proc)");
        for (int i = 0; i < 256; i++)
                if (chdir("..") < 0)
                        child_fail(-errno, "chdir(..)");
        if (chroot(".") < 0)
                child_fail(-errno, "chroot(.)");
        close(rootfd);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(-errno, "mount(/, MS_REC|MS_PRIVATE)");

        /* The old root is the mount point (seen from the real root) that shows its inode. */
        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                child_fail(-errno, "fopen(/proc/self/mountinfo)");
        while (fgets(line, sizeof(line), f)) {
                char mp[PATH_MAX], *s, *d;

                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                for (s = d = mp; *s; d++)       /* \040 and friends */
                        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
                                *d = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                                s += 4;
                        } else
                                *d = *s++;
                *d = '\0';
                if (strcmp(mp, "/") == 0 || stat(mp, &st) < 0)
                        continue;
                if (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino) {
                        snprintf(found, sizeof(found), "%s", mp);
                        break;
                }
        }
        fclose(f);
        if (!found[0])
                child_skip(c, "chrooted, and the old root is no mount point to move");

        if (chdir(found) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
                child_fail(-errno, "moving %s onto / to leave the chroot", found);
        fprintf(stderr, "fl-load: left the chroot at %s (private mount namespace) to create user namespaces\n",
                found);
}

static void enter_userns(const Context *c) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64];
        int r;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                child_skip(c, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");

        r = write_file("/proc/self/setgroups", "deny");
        if (r < 0 && r != -ENOENT)
                child_fail(r, "write(/proc/self/setgroups)");
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) uid);
        r = write_file("/proc/self/uid_map", map);
        if (r < 0)
                child_fail(r, "write(/proc/self/uid_map, %s)", map);
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) gid);
        r = write_file("/proc/self/gid_map", map);
        if (r < 0)
                child_fail(r, "write(/proc/self/gid_map, %s)", map);
        info(c, "userns=1");
}

/* A private mount namespace: as root directly, otherwise inside a new user
 * namespace (what a rootless container runtime does). */
static void enter_mountns(const Context *c, Mount m) {
        if (m == MOUNT_USERNS || geteuid() != 0)
                enter_userns(c);
        else if (unshare(CLONE_NEWNS) < 0)
                child_skip(c, "unshare(CLONE_NEWNS)");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(-errno, "mount(/, MS_REC|MS_PRIVATE)");
}

static void mount_tmpfs(const Context *c, const char *where, const char *mode) {
        char opts[64];

        snprintf(opts, sizeof(opts), "mode=%s,size=64m", mode);
        if (mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                child_skip(c, "mount(tmpfs on %s)", where);
}

/* An empty directory below --dir, made before any namespace is entered so the
 * parent (same file system) can remove it afterwards. */
static void make_dir(const Context *c, char *buf, size_t n) {
        snprintf(buf, n, "%s/fl-load-XXXXXX", c->dir);
        if (!mkdtemp(buf))
                child_fail(-errno, "mkdtemp(%s)", buf);
        if (chmod(buf, 0755) < 0)
                child_fail(-errno, "chmod(%s)", buf);
        info(c, "cleanup_dir=%s", buf);
}

static void join_path(char *buf, size_t n, const char *dir, const char *name) {
        if ((size_t) snprintf(buf, n, "%s/%s", dir, name) >= n)
                child_fail(-ENAMETOOLONG, "%s/%s", dir, name);
}

/* ---------------------------------------------------------------------------
 * The techniques. Each runs in the forked child and never returns. */

static const char *payload_of(const Context *c) {
        return technique_table[c->technique].library ? c->payload_library : c->payload_program;
}

static _Noreturn void run_code(const Context *c) {
        long ps = sysconf(_SC_PAGESIZE);
        void (*fn)(int);
        int fd = make_memfd(c);
        void *p;

        if (loop_write(fd, code_template, sizeof(code_template)) < 0 || ftruncate(fd, ps) < 0)
                child_fail(-errno, "filling the memfd");
        report_file(c, fd);
        report_self(c);

        switch (c->technique) {
        case T_MMAP:
                p = mmap(NULL, (size_t) ps, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
                if (p == MAP_FAILED)
                        child_op_failed(c, errno, "mmap(PROT_READ|PROT_EXEC, MAP_PRIVATE)");
                break;

        case T_MPROTECT:
                p = mmap(NULL, (size_t) ps, PROT_READ, MAP_PRIVATE, fd, 0);
                if (p == MAP_FAILED)
                        child_fail(-errno, "mmap(PROT_READ, MAP_PRIVATE)");
                if (mprotect(p, (size_t) ps, PROT_READ | PROT_EXEC) < 0)
                        child_op_failed(c, errno, "mprotect(PROT_READ|PROT_EXEC)");
                break;

        case T_JIT: {
                /* .NET's W^X double mapping, libffi's closures: one file, two shared
                 * views; the code is written through one and run through the other. */
                void *rw;

                rw = mmap(NULL, (size_t) ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (rw == MAP_FAILED)
                        child_fail(-errno, "mmap(PROT_READ|PROT_WRITE, MAP_SHARED)");
                p = mmap(NULL, (size_t) ps, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
                if (p == MAP_FAILED)
                        child_op_failed(c, errno, "mmap(PROT_READ|PROT_EXEC, MAP_SHARED)");
                memset(rw, 0xcc, (size_t) ps);
                memcpy(rw, code_template, sizeof(code_template));
                __builtin___clear_cache((char *) p, (char *) p + ps);
                break;
        }
        default:
                abort();
        }

        fn = (void (*)(int)) p;
        fn(c->mark_fd);
        _exit(EXIT_SUCCESS);
}

static _Noreturn void run_ldso(const Context *c) {
        char p[64], ldso_name[NAME_MAX + 1];
        Interp interp;
        int fd;

        find_ldso(c, &interp);
        fd = memfd_copy_of(c, c->payload_program);
        report_file(c, fd);
        report_program(c, interp.path);
        fd_path(p, sizeof(p), fd);
        real_basename(interp.path, ldso_name, sizeof(ldso_name));
        do_execve(c, interp.path, (char *[]) { ldso_name, p, NULL });
}

static _Noreturn void run_dlopen(const Context *c) {
        char p[64];
        int fd;

        fd = memfd_copy_of(c, c->payload_library);
        report_file(c, fd);
        report_self(c);
        fd_path(p, sizeof(p), fd);
        do_dlopen(c, p);
}

/* LD_PRELOAD / LD_AUDIT of a library in /dev/shm (--shm-dir), for /bin/true. */
static _Noreturn void run_preload(const Context *c) {
        char path[PATH_MAX];
        int fd;

        join_path(path, sizeof(path), c->shm_dir, c->name);
        info(c, "cleanup=%s", path);
        fd = file_copy_of(c->payload_library, path, true);
        report_file(c, fd);
        report_program(c, TRUE_PROGRAM);
        if (strcmp(c->shm_dir, "/dev/shm") != 0 && strcmp(c->shm_dir, "/run/shm") != 0)
                info(c, "kind=ordinary");
        if (setenv(c->technique == T_AUDIT ? "LD_AUDIT" : "LD_PRELOAD", path, 1) < 0)
                child_fail(-errno, "setenv");
        do_execve(c, TRUE_PROGRAM, (char *[]) { "true", NULL });
}

/* A copy of fl-payload on disk whose PT_INTERP names a memfd copy of ld.so:
 * the kernel opens and maps the interpreter itself, with no exec check on it. */
static _Noreturn void run_interp(const Context *c) {
        char path[PATH_MAX], p[64], name[PATH_MAX];
        Interp interp, ours;
        int ldso, fd;

        find_ldso(c, &interp);
        if (read_interp(c->payload_program, &ours) < 0)
                child_skip(c, "%s has no PT_INTERP to patch", c->payload_program);

        ldso = memfd_copy_of(c, interp.path);
        fd_path(p, sizeof(p), ldso);
        if (strlen(p) + 1 > ours.size)
                child_fail(-ENAMETOOLONG, "%s does not fit in PT_INTERP (%ju bytes)", p, (uintmax_t) ours.size);

        join_path(path, sizeof(path), c->dir, c->name);
        info(c, "cleanup=%s", path);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
        if (fd < 0)
                child_fail(-errno, "open(%s)", path);
        if (copy_file_to_fd(c->payload_program, fd) < 0)
                _exit(EXIT_FAILURE);
        memset(name, 0, sizeof(name));
        memcpy(name, p, strlen(p));
        if (pwrite(fd, name, ours.size, (off_t) ours.offset) != (ssize_t) ours.size)
                child_fail(-errno, "patching PT_INTERP of %s", path);
        close(fd);

        report_file(c, ldso);
        report_program(c, path);
        do_execve(c, path, (char *[]) { (char *) c->name, NULL });
}

static _Noreturn void run_ordinary(const Context *c) {
        int fd = open(c->payload_program, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                child_fail(-errno, "open(%s)", c->payload_program);
        report_file(c, fd);
        report_program(c, c->payload_program);
        do_execve(c, c->payload_program, (char *[]) { "fl-payload", NULL });
}

static _Noreturn void run_ctypes(const Context *c) {
        static const char script[] =
                "import ctypes, os\n"
                "fd = int(os.environ['FL_MARK_FD'])\n"
                "CB = ctypes.CFUNCTYPE(None)\n"
                "cb = CB(lambda: os.write(fd, b'ctypes callback pid=%d\\n' % os.getpid()))\n"
                "cb()\n";
        int fd = open(PYTHON, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                child_skip(c, "no %s", PYTHON);
        report_file(c, fd);
        report_program(c, PYTHON);
        do_execve(c, PYTHON, (char *[]) { "python3", "-c", (char *) script, NULL });
}

/* Execute (or dlopen) the payload copy on a kind of file that has a path. */
static _Noreturn void run_payload(const Context *c, const char *path, int fd, bool by_fd) {
        char p[64];

        fd_path(p, sizeof(p), fd);
        report_self(c);
        if (technique_table[c->technique].library)
                do_dlopen(c, by_fd ? p : path);
        if (by_fd)
                do_execveat(c, fd, (char *[]) { (char *) c->name, NULL });
        do_execve(c, path, (char *[]) { (char *) c->name, NULL });
}

static _Noreturn void run_shm_container(const Context *c) {
        char path[PATH_MAX];
        int fd;

        enter_mountns(c, MOUNT_PRIV);
        mount_tmpfs(c, "/dev/shm", "1777");
        join_path(path, sizeof(path), "/dev/shm", c->name);
        fd = file_copy_of(payload_of(c), path, true);
        report_file(c, fd);
        run_payload(c, path, fd, false);
}

/* Not stacked on the host's /dev/shm: a container's own /dev (a tmpfs) with
 * its own /dev/shm tmpfs, as runc mounts them, below a directory of ours. */
static _Noreturn void run_shm_container_dev(const Context *c) {
        char dir[PATH_MAX], dev[PATH_MAX + 8], shm[PATH_MAX + 16], path[2 * PATH_MAX];
        int fd;

        make_dir(c, dir, sizeof(dir));
        snprintf(dev, sizeof(dev), "%s/dev", dir);
        if (mkdir(dev, 0755) < 0)
                child_fail(-errno, "mkdir(%s)", dev);
        info(c, "cleanup_dir=%s", dev);
        enter_mountns(c, MOUNT_PRIV);
        mount_tmpfs(c, dev, "0755");
        snprintf(shm, sizeof(shm), "%s/shm", dev);
        if (mkdir(shm, 01777) < 0)
                child_fail(-errno, "mkdir(%s)", shm);
        mount_tmpfs(c, shm, "1777");
        join_path(path, sizeof(path), shm, c->name);
        fd = file_copy_of(payload_of(c), path, true);
        report_file(c, fd);
        run_payload(c, path, fd, false);
}

static _Noreturn void run_userns(const Context *c) {
        char dir[PATH_MAX], path[PATH_MAX];
        int fd;

        make_dir(c, dir, sizeof(dir));
        enter_mountns(c, MOUNT_USERNS);
        mount_tmpfs(c, dir, "0755");
        join_path(path, sizeof(path), dir, c->name);
        fd = file_copy_of(payload_of(c), path, false);
        report_file(c, fd);
        run_payload(c, path, fd, c->technique == T_USERNS_EXECVEAT);
}

static _Noreturn void run_detached(const Context *c) {
        char dir[PATH_MAX], path[PATH_MAX];
        int fd, tree = -1;

        make_dir(c, dir, sizeof(dir));
        enter_mountns(c, MOUNT_PRIV);
        mount_tmpfs(c, dir, "0755");
        join_path(path, sizeof(path), dir, c->name);
        fd = file_copy_of(payload_of(c), path, false);

        if (c->technique == T_DETACHED_TREE) {
                /* Only the clone (an anonymous mount namespace's) reaches the file. */
                close(fd);
                tree = (int) syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (tree < 0)
                        child_skip(c, "open_tree(%s, OPEN_TREE_CLONE)", dir);
                if (umount2(dir, MNT_DETACH) < 0)
                        child_fail(-errno, "umount2(%s, MNT_DETACH)", dir);
                fd = openat(tree, c->name, O_RDONLY);
                if (fd < 0)
                        child_fail(-errno, "openat(tree, %s)", c->name);
        } else if (umount2(dir, MNT_DETACH) < 0)
                child_fail(-errno, "umount2(%s, MNT_DETACH)", dir);

        report_file(c, fd);
        run_payload(c, path, fd, true);
}

static _Noreturn void run_overlay_deleted(const Context *c) {
        char base[PATH_MAX], lower[PATH_MAX + 8], upper[PATH_MAX + 8], work[PATH_MAX + 8],
                merged[PATH_MAX + 8], opts[4 * PATH_MAX], path[2 * PATH_MAX], upper_path[2 * PATH_MAX];
        struct stat st;
        int fd;

        make_dir(c, base, sizeof(base));
        enter_mountns(c, MOUNT_PRIV);
        mount_tmpfs(c, base, "0755");
        snprintf(lower, sizeof(lower), "%s/lower", base);
        snprintf(upper, sizeof(upper), "%s/upper", base);
        snprintf(work, sizeof(work), "%s/work", base);
        snprintf(merged, sizeof(merged), "%s/merged", base);
        if (mkdir(lower, 0755) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 || mkdir(merged, 0755) < 0)
                child_fail(-errno, "mkdir below %s", base);
        snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        if (mount("overlay", merged, "overlay", 0, opts) < 0)
                child_skip(c, "mount(overlay on %s)", merged);

        /* Made through the overlay, so it lives in the upper layer. */
        join_path(path, sizeof(path), merged, c->name);
        join_path(upper_path, sizeof(upper_path), upper, c->name);
        fd = file_copy_of(payload_of(c), path, false);
        if (stat(upper_path, &st) < 0)
                child_fail(-errno, "stat(%s): not in the upper layer", upper_path);

        /* Removed behind the overlay's back: the overlay inode keeps nlink 1. */
        if (unlink(upper_path) < 0)
                child_fail(-errno, "unlink(%s)", upper_path);

        /* ino/dev: the overlay's file, as fstat() shows it (and as exec and mmap
         * get it); upper_ino/upper_dev: the real inode behind it, now unlinked. */
        report_file(c, fd);
        info(c, "upper_ino=%ju", (uintmax_t) st.st_ino);
        info(c, "upper_dev=%u:%u", major(st.st_dev), minor(st.st_dev));
        run_payload(c, path, fd, true);
}

static _Noreturn void child_main(Context *c) {
        Mount m = technique_table[c->technique].mount;

        if (c->user) {
                /* Set up what only root can (leaving the qemu guest's chroot), then
                 * run the experiment as USER, like setpriv would. */
                struct passwd *pw = getpwnam(c->user);

                if (!pw)
                        child_fail(-ENOENT, "getpwnam(%s)", c->user);
                if (m != MOUNT_NONE)
                        leave_chroot(c);
                if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
                    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                        child_fail(-errno, "dropping to user %s", c->user);
                /* Credentials changed: /proc/self would be root's otherwise (uid_map). */
                if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                        child_fail(-errno, "prctl(PR_SET_DUMPABLE)");
        } else if (m == MOUNT_USERNS)
                leave_chroot(c);

        set_mark_env(c);

        switch (c->technique) {
        case T_MMAP:
        case T_MPROTECT:
        case T_JIT:
#ifdef __x86_64__
                run_code(c);
#else
                errno = ENOEXEC;
                child_skip(c, "the machine-code payload is x86-64 only");
#endif
        case T_LDSO:
                run_ldso(c);
        case T_DLOPEN:
                run_dlopen(c);
        case T_PRELOAD:
        case T_AUDIT:
                run_preload(c);
        case T_INTERP:
                run_interp(c);
        case T_ORDINARY_DYNAMIC:
                run_ordinary(c);
        case T_CTYPES:
                run_ctypes(c);
        case T_SHM_CONTAINER:
        case T_SHM_CONTAINER_DLOPEN:
                run_shm_container(c);
        case T_SHM_CONTAINER_DEV:
                run_shm_container_dev(c);
        case T_USERNS:
        case T_USERNS_EXECVEAT:
        case T_USERNS_DLOPEN:
                run_userns(c);
        case T_DETACHED:
        case T_DETACHED_TREE:
        case T_DETACHED_DLOPEN:
                run_detached(c);
        case T_OVERLAY_DELETED:
        case T_OVERLAY_DELETED_DLOPEN:
                run_overlay_deleted(c);
        default:
                abort();
        }
}

/* ---------------------------------------------------------------------------
 * The parent: collect the mark, the child's facts and its stderr; judge. */

typedef struct Buffer {
        char *data;
        size_t len;
        bool eof;
} Buffer;

static void buffer_read(int fd, Buffer *b) {
        char tmp[4096];
        ssize_t k = read(fd, tmp, sizeof(tmp));

        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (k <= 0) {
                b->eof = true;
                return;
        }
        if (b->len + (size_t) k > CAPTURE_MAX)
                k = (ssize_t) (CAPTURE_MAX - b->len);
        if (k > 0) {
                char *n = realloc(b->data, b->len + (size_t) k + 1);
                if (!n)
                        abort();
                b->data = n;
                memcpy(b->data + b->len, tmp, (size_t) k);
                b->len += (size_t) k;
                b->data[b->len] = '\0';
        }
}

/* The last value of KEY in the child's "key=value" lines, or NULL. */
static const char *info_get(const Buffer *b, const char *key, char *buf, size_t n) {
        const char *found = NULL, *s = b->data;
        size_t kl = strlen(key);

        if (!s)
                return NULL;
        for (const char *line = s; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);

                if (len > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
                        size_t vl = len - kl - 1;
                        if (vl >= n)
                                vl = n - 1;
                        memcpy(buf, line + kl + 1, vl);
                        buf[vl] = '\0';
                        found = buf;
                }
                line = nl ? nl + 1 : NULL;
        }
        return found;
}

/* Removes what the child said it made (KEY=PATH lines), the last first: a
 * directory made inside another goes before it. */
static void cleanup_all(const Buffer *b, const char *key, bool dir) {
        const char *lines[64];
        size_t n = 0, kl = strlen(key);

        for (const char *line = b->data; line && *line && n < ELEMENTSOF(lines);) {
                const char *nl = strchr(line, '\n');

                if (strncmp(line, key, kl) == 0 && line[kl] == '=')
                        lines[n++] = line;
                line = nl ? nl + 1 : NULL;
        }
        while (n > 0) {
                const char *line = lines[--n], *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                char p[PATH_MAX];

                snprintf(p, sizeof(p), "%.*s", (int) (len - kl - 1), line + kl + 1);
                if ((dir ? rmdir(p) : unlink(p)) < 0 && errno != ENOENT)
                        log_errno(-errno, "removing %s", p);
        }
}

static int64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_quoted(const char *s) {
        putchar('"');
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;

                if (ch == '"' || ch == '\\')
                        printf("\\%c", ch);
                else if (ch < 0x20 || ch >= 0x7f)
                        printf("\\x%02x", ch);
                else
                        putchar(ch);
        }
        putchar('"');
}

/* ld.so's own refusals (ld.so run as a program, LD_PRELOAD, LD_AUDIT) exist
 * only as messages, and glibc 2.36 leaves the errno of a failed segment
 * mmap() out of them ("failed to map segment from shared object"): errno is
 * then "unknown"; the daemon's event says who refused. */
static int loader_refusal(const Buffer *err, bool *refused) {
        const char *s = err->data ?: "";

        *refused = strstr(s, "failed to map segment from shared object") ||
                   (strstr(s, "ld.so") && strstr(s, "cannot be preloaded")) ||
                   strstr(s, "cannot be loaded as audit interface") ||
                   strstr(s, "error while loading shared libraries");
        if (!*refused)
                return 0;
        if (strstr(s, strerror(EPERM)))
                return EPERM;
        if (strstr(s, strerror(EACCES)))
                return EACCES;
        return 0;
}

static int run(Context *c) {
        const TechniqueInfo *t = &technique_table[c->technique];
        int mark[2], inf[2], err[2], status = 0, op_errno = 0, r;
        Buffer bm = {}, bi = {}, be = {};
        int64_t deadline;
        bool timed_out = false, refused = false;
        const char *result;
        char v[PATH_MAX], sig[32], errname[32];
        pid_t pid;

        if (pipe2(mark, O_CLOEXEC) < 0 || pipe2(inf, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
                return log_errno(-errno, "pipe2");

        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return log_errno(-errno, "fork");
        if (pid == 0) {
                close(mark[0]);
                close(inf[0]);
                close(err[0]);
                /* The payload inherits the mark's write end (and nothing else of ours). */
                if (fcntl(mark[1], F_SETFD, 0) < 0)
                        child_fail(-errno, "fcntl(F_SETFD)");
                if (dup2(err[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
                        child_fail(-errno, "dup2");
                close(err[1]);
                c->mark_fd = mark[1];
                c->info_fd = inf[1];
                child_main(c);
        }
        close(mark[1]);
        close(inf[1]);
        close(err[1]);

        deadline = now_msec() + TIMEOUT_MSEC;
        while (!(bm.eof && bi.eof && be.eof)) {
                struct pollfd pfd[3] = {
                        { .fd = bm.eof ? -1 : mark[0], .events = POLLIN },
                        { .fd = bi.eof ? -1 : inf[0], .events = POLLIN },
                        { .fd = be.eof ? -1 : err[0], .events = POLLIN },
                };
                int64_t left = deadline - now_msec();

                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                r = poll(pfd, 3, (int) left);
                if (r < 0 && errno != EINTR)
                        return log_errno(-errno, "poll");
                if (r <= 0)
                        continue;
                if (pfd[0].revents)
                        buffer_read(mark[0], &bm);
                if (pfd[1].revents)
                        buffer_read(inf[0], &bi);
                if (pfd[2].revents)
                        buffer_read(err[0], &be);
        }
        if (timed_out) {
                fprintf(stderr, "fl-load: child %d still running after %d ms, killing it\n",
                        (int) pid, TIMEOUT_MSEC);
                kill(pid, SIGKILL);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_errno(-errno, "waitpid");
        close(mark[0]);
        close(inf[0]);
        close(err[0]);

        /* The child's (and payload's) words go to our stderr, for the log. */
        if (be.len)
                fwrite(be.data, 1, be.len, stderr);

        cleanup_all(&bi, "cleanup", false);
        cleanup_all(&bi, "cleanup_dir", true);

        if (info_get(&bi, "skip", v, sizeof(v)) && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP)
                return -EXIT_SKIP;
        if (!bm.len && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FAILURE && !info_get(&bi, "file", v, sizeof(v))) {
                fprintf(stderr, "fl-load: the experiment could not be set up\n");
                return -EXIT_FAILURE;
        }

        if (info_get(&bi, "errno", v, sizeof(v)))
                op_errno = atoi(v);
        if (op_errno == 0)
                op_errno = loader_refusal(&be, &refused);

        if (bm.len > 0)
                result = "ran";
        else if (timed_out)
                result = "timeout";
        else if (WIFSIGNALED(status))
                result = "killed";
        else if (op_errno == EPERM || op_errno == EACCES || refused)
                result = "denied";
        else
                result = "failed";

        if (WIFSIGNALED(status))
                snprintf(sig, sizeof(sig), "SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
        else
                snprintf(sig, sizeof(sig), "none");
        if (op_errno)
                snprintf(errname, sizeof(errname), "%s", strerrorname_np(op_errno) ?: "?");
        else
                snprintf(errname, sizeof(errname), refused ? "unknown" : "0");

        printf("result=%s status=%d signal=%s errno=%s technique=%s kind=%s operation=%s file=",
               result, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), sig, errname,
               t->name, info_get(&bi, "kind", v, sizeof(v)) ?: t->kind, t->operation);
        print_quoted(info_get(&bi, "file", v, sizeof(v)) ?: "");
        printf(" ino=%s", info_get(&bi, "ino", v, sizeof(v)) ?: "0");
        printf(" dev=%s", info_get(&bi, "dev", v, sizeof(v)) ?: "0:0");
        printf(" child=%d program=", (int) pid);
        print_quoted(info_get(&bi, "program", v, sizeof(v)) ?: "");
        printf(" userns=%s mark=", info_get(&bi, "userns", v, sizeof(v)) ?: "0");
        if (bm.len && bm.data[bm.len - 1] == '\n')
                bm.data[--bm.len] = '\0';
        print_quoted(bm.data ?: "");
        if (info_get(&bi, "upper_ino", v, sizeof(v))) {
                printf(" upper_ino=%s", v);
                printf(" upper_dev=%s", info_get(&bi, "upper_dev", v, sizeof(v)) ?: "0:0");
        }
        putchar('\n');
        fflush(stdout);

        free(bm.data);
        free(bi.data);
        free(be.data);
        return 0;
}

/* ---------------------------------------------------------------------------
 * Command line */

static void help(FILE *f) {
        fputs("Usage: fl-load [--name NAME] [--dir DIR] [--shm-dir DIR] [--user USER] TECHNIQUE\n"
              "\n"
              "Run code from a fileless file without exec'ing it, or exec a file of a\n"
              "less obvious fileless kind, in a child; report the measured outcome.\n"
              "\n"
              "  --name NAME     memfd / file name (default fl-load-<pid>)\n"
              "  --dir DIR       where on-disk copies and mount points go (default " DEFAULT_DIR ")\n"
              "  --shm-dir DIR   where preload/audit put the library (default " DEFAULT_SHM_DIR ")\n"
              "  --user USER     (root) run the experiment as USER; set up first what only\n"
              "                  root can (leaving a chroot so user namespaces can be made)\n"
              "  --list          print the techniques, one per line, and exit\n"
              "  -h, --help      show this help\n"
              "\n"
              "Payloads: fl-payload and libfl-payload.so next to this program, or\n"
              "$FL_PAYLOAD and $FL_PAYLOAD_LIB.\n"
              "\n"
              "TECHNIQUE:\n", f);
        for (int i = 0; i < _T_MAX; i++)
                fprintf(f, "  %-24s %s\n", technique_table[i].name, technique_table[i].help);
        fputs("\n"
              "Prints one line: result=<ran|denied|killed|failed|timeout> status= signal=\n"
              "errno= technique= kind= operation= file= ino= dev= child= program= userns=\n"
              "mark= [upper_ino= upper_dev=]\n"
              "Exit status: 0 printed, 1 setup failure, 2 usage error, 77 cannot be done here.\n", f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("fl-load: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nUsage: fl-load [--name NAME] [--dir DIR] [--shm-dir DIR] [--user USER] TECHNIQUE\n", stderr);
        return -EINVAL;
}

static int find_payloads(Context *c) {
        char self[PATH_MAX], *dir;
        const char *p = getenv("FL_PAYLOAD"), *l = getenv("FL_PAYLOAD_LIB");
        ssize_t k;

        k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (k < 0)
                return log_errno(-errno, "readlink(/proc/self/exe)");
        self[k] = '\0';
        snprintf(c->self, sizeof(c->self), "%.*s", (int) sizeof(c->self) - 1, basename_of(self));
        dir = dirname(self);
        if (p)
                snprintf(c->payload_program, sizeof(c->payload_program), "%s", p);
        else
                snprintf(c->payload_program, sizeof(c->payload_program), "%s/fl-payload", dir);
        if (l)
                snprintf(c->payload_library, sizeof(c->payload_library), "%s", l);
        else
                snprintf(c->payload_library, sizeof(c->payload_library), "%s/libfl-payload.so", dir);

        if (access(c->payload_program, R_OK) < 0)
                return log_errno(-errno, "payload program %s", c->payload_program);
        if (access(c->payload_library, R_OK) < 0)
                return log_errno(-errno, "payload library %s", c->payload_library);
        return 0;
}

static int parse_argv(int argc, char *argv[], Context *c) {
        static const struct option options[] = {
                { "name",    required_argument, NULL, 'n' },
                { "dir",     required_argument, NULL, 'd' },
                { "shm-dir", required_argument, NULL, 's' },
                { "user",    required_argument, NULL, 'u' },
                { "list",    no_argument,       NULL, 'l' },
                { "help",    no_argument,       NULL, 'h' },
                {}
        };
        int ch, i;

        while ((ch = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (ch) {
                case 'n':
                        c->name = optarg;
                        break;
                case 'd':
                        c->dir = optarg;
                        break;
                case 's':
                        c->shm_dir = optarg;
                        break;
                case 'u':
                        c->user = optarg;
                        break;
                case 'l':
                        for (i = 0; i < _T_MAX; i++)
                                printf("%s\n", technique_table[i].name);
                        return 0;
                case 'h':
                        help(stdout);
                        return 0;
                default:
                        return usage_error("invalid option");
                }

        if (argc - optind != 1)
                return usage_error("expected one TECHNIQUE, got %d argument(s)", argc - optind);
        for (i = 0; i < _T_MAX; i++)
                if (strcmp(technique_table[i].name, argv[optind]) == 0)
                        break;
        if (i == _T_MAX)
                return usage_error("unknown TECHNIQUE '%s' (see --list)", argv[optind]);
        c->technique = (Technique) i;

        if (c->name && (c->name[0] == '\0' || strchr(c->name, '/') || strchr(c->name, '\n') ||
                        strlen(c->name) > 200))
                return usage_error("invalid --name '%s' (1-200 characters, no '/')", c->name);
        if (c->dir[0] != '/' || c->shm_dir[0] != '/')
                return usage_error("--dir and --shm-dir must be absolute paths");
        if (c->user && geteuid() != 0)
                return usage_error("--user needs root");
        return 1;
}

int main(int argc, char *argv[]) {
        Context c = { .dir = DEFAULT_DIR, .shm_dir = DEFAULT_SHM_DIR, .mark_fd = -1, .info_fd = -1 };
        char default_name[64];
        int r;

        r = parse_argv(argc, argv, &c);
        if (r < 0)
                return EXIT_USAGE;
        if (r == 0)
                return EXIT_SUCCESS;
        if (!c.name) {
                snprintf(default_name, sizeof(default_name), "fl-load-%d", (int) getpid());
                c.name = default_name;
        }
        if (find_payloads(&c) < 0)
                return EXIT_FAILURE;

        r = run(&c);
        if (r == -EXIT_SKIP)
                return EXIT_SKIP;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
