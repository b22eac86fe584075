/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* TrustedExecutable=: a file by its identity (device, inode), never by a
 * name a process can choose. The identity is resolved at start and again
 * whenever the file's directory says it changed: a package upgrade renames a
 * new file over the old one. The old identity stays trusted for the
 * processes still running it, for as long as we hold the old inode open, so
 * that its number cannot be reused by another file meanwhile. */

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "escape.h"
#include "log.h"
#include "manager.h"
#include "names.h"

#define TRUST_OLD_MAX 4

typedef struct TrustEntry {
        char *path;
        char *source;                /* FILE:LINE of the setting */
        int fd;                      /* O_PATH of the file trusted now; -1 while it is missing */
        FlExe exe;
        int old_fds[TRUST_OLD_MAX];  /* files it replaced, still trusted */
        FlExe old[TRUST_OLD_MAX];
        size_t n_old;
        int wd;                      /* inotify watch of its directory */
} TrustEntry;

typedef struct Trust {
        int inotify_fd;
        TrustEntry *v;
        size_t n;
} Trust;

static void entry_done(TrustEntry *e) {
        free(e->path);
        free(e->source);
        closep(&e->fd);
        for (size_t i = 0; i < e->n_old; i++)
                closep(&e->old_fds[i]);
}

static void trust_free(Trust *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                entry_done(&t->v[i]);
        free(t->v);
        closep(&t->inotify_fd);
        free(t);
}

void manager_trust_done(Manager *m) {
        m->trust_source = sd_event_source_disable_unref(m->trust_source);
        trust_free(m->trust);
        m->trust = NULL;
}

/* Only root may be able to change what we trust: the file, and every
 * directory on the way to it (a writable one lets anybody rename another
 * file into its place). */
static int check_owner(const char *p, const struct stat *st, char **why) {
        if (st->st_uid != 0)
                return asprintf(why, "%s is owned by uid %u, not root", p, (unsigned) st->st_uid) < 0 ? -ENOMEM
                                                                                                    : -EPERM;
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return asprintf(why, "%s is writable by %s", p, st->st_mode & S_IWOTH ? "everyone" : "its group") < 0
                               ? -ENOMEM
                               : -EPERM;
        return 0;
}

static int check_path(const char *real, char **why) {
        _cleanup_free_ char *p = strdup(real);
        struct stat st;
        char *slash;
        int r;

        if (!p)
                return -ENOMEM;
        while ((slash = strrchr(p, '/'))) {
                slash[slash == p ? 1 : 0] = 0;
                if (stat(p, &st) < 0)
                        return -errno;
                r = check_owner(p, &st, why);
                if (r < 0 || slash == p)
                        return r;
        }
        return 0;
}

/* What the kernel itself says of the open file FD: the number of its mount
 * and its inode number (i_ino), from /proc/self/fdinfo. Not stat(): on an
 * overlay whose layers are on different file systems, and on btrfs
 * subvolumes, stat() reports a device other than the superblock's s_dev,
 * which is all the BPF programs can read. */
static int fd_kernel_info(int fd, int *ret_mnt_id, uint64_t *ret_ino) {
        _cleanup_fclose_ FILE *f = NULL;
        char path[64], *line = NULL;
        bool have_mnt = false, have_ino = false;
        size_t size = 0;

        (void) snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &size, f) > 0) {
                unsigned long long ino;

                if (sscanf(line, "mnt_id: %d", ret_mnt_id) == 1)
                        have_mnt = true;
                else if (sscanf(line, "ino: %llu", &ino) == 1) {
                        *ret_ino = ino;
                        have_ino = true;
                }
        }
        free(line);
        /* "ino:" came with 5.14; the BPF programs need newer kernels. */
        return have_mnt && have_ino ? 0 : -ENODATA;
}

/* The s_dev of the superblock of mount MNT_ID, in the kernel's encoding, as
 * /proc/self/mountinfo shows it. */
static int mount_kdev(int mnt_id, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char *line = NULL;
        size_t size = 0;
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (r == -ENOENT && getline(&line, &size, f) > 0) {
                unsigned ma, mi;
                int id;

                /* id parent major:minor root mount-point ... */
                if (sscanf(line, "%d %*d %u:%u", &id, &ma, &mi) == 3 && id == mnt_id) {
                        *ret = kdev_from_major_minor(ma, mi);
                        r = 0;
                }
        }
        free(line);
        return r;
}

/* The identity the BPF programs will read for the file FD in directory
 * DIR_FD: the superblock's s_dev, the inode's i_ino, the directory's i_ino.
 * A file that is a mount of its own (a single file bind-mounted over PATH)
 * is refused: to the kernel it is its source, under the source's directory
 * and name, none of which the checks above looked at. */
static int kernel_identity(const char *path, int fd, int dir_fd, FlExe *exe, char **why) {
        int mnt_id, dir_mnt_id, r;
        uint64_t dir_ino;

        r = fd_kernel_info(fd, &mnt_id, &exe->inode);
        if (r >= 0)
                r = fd_kernel_info(dir_fd, &dir_mnt_id, &dir_ino);
        if (r >= 0)
                r = mount_kdev(mnt_id, &exe->kdev);
        if (r < 0)
                return asprintf(why, "%s: cannot read its identity as the kernel sees it (/proc/self/fdinfo, "
                                     "/proc/self/mountinfo): %s", path, strerror(-r)) < 0 ? -ENOMEM : -EINVAL;
        if (mnt_id != dir_mnt_id)
                return asprintf(why, "%s is a mount point of its own (a bind mount of a single file): the kernel "
                                     "knows the file by its source's directory and name, which were not checked; "
                                     "trust the source's path instead", path) < 0 ? -ENOMEM : -EINVAL;
        exe->dir_inode = dir_ino;
        return 0;
}

/* Resolves PATH to an open file and its identity. -ENOENT: not there (yet);
 * other errors with *WHY set: not trustworthy. */
static int trust_resolve(const char *path, int *ret_fd, FlExe *ret_exe, char **why) {
        _cleanup_free_ char *real = NULL;
        _cleanup_close_ int fd = -1, dir_fd = -1;
        struct statfs sfs;
        struct stat st;
        char *slash;
        int r;

        real = realpath(path, NULL);
        if (!real)
                return errno == ENOENT ? -ENOENT : (asprintf(why, "%s: %s", path, strerror(errno)) < 0 ? -ENOMEM : -EINVAL);
        fd = open(real, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return asprintf(why, "%s is not an executable file", real) < 0 ? -ENOMEM : -EINVAL;
        if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC || st.st_nlink == 0)
                return asprintf(why, "%s is on a %s: nothing on a disk holds it", real,
                                st.st_nlink == 0 ? "file system without a name for it" : "tmpfs") < 0 ? -ENOMEM
                                                                                                      : -EINVAL;
        r = check_owner(real, &st, why);
        if (r >= 0)
                r = check_path(real, why);
        if (r < 0)
                return r;
        /* Trusted under its name in its directory (realpath's, symlinks
         * resolved): the name a process of it shows the kernel. */
        slash = strrchr(real, '/');
        if (strlen(slash + 1) >= sizeof(ret_exe->name))
                return asprintf(why, "%s: the name is too long", path) < 0 ? -ENOMEM : -EINVAL;
        *ret_exe = (FlExe) {};
        strcpy(ret_exe->name, slash + 1);
        *slash = 0;
        dir_fd = open(slash == real ? "/" : real, O_PATH | O_DIRECTORY | O_CLOEXEC);
        *slash = '/';
        if (dir_fd < 0)
                return -errno;
        r = kernel_identity(real, fd, dir_fd, ret_exe, why);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int manager_trust_check(const Settings *s) {
        for (size_t i = 0; i < s->n_trusted; i++) {
                _cleanup_free_ char *why = NULL;
                _cleanup_close_ int fd = -1;
                FlExe exe;
                int r;

                r = trust_resolve(s->trusted[i].path, &fd, &exe, &why);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Invalid configuration: %s: TrustedExecutable=%s: %s.",
                                               s->trusted[i].source, s->trusted[i].path, why ?: strerror(-r));
        }
        return 0;
}

static int trust_sync(Manager *m) {
        _cleanup_free_ FlExe *exes = NULL;
        size_t n = 0;
        int r;

        exes = new0(FlExe, m->trust->n * (TRUST_OLD_MAX + 1) + 1);
        if (!exes)
                return log_oom();
        for (size_t i = 0; i < m->trust->n; i++) {
                TrustEntry *e = &m->trust->v[i];

                if (e->fd >= 0)
                        exes[n++] = e->exe;
                for (size_t j = 0; j < e->n_old; j++)
                        exes[n++] = e->old[j];
        }
        r = fl_bpf_sync_trusted(m->bpf, exes, n);
        if (r < 0)
                return log_error_errno(r, "Failed to update the trusted executables in the kernel: %m");
        return 0;
}

/* Resolves E anew; a replaced file stays trusted while processes may run it. */
static void entry_refresh(TrustEntry *e) {
        _cleanup_free_ char *why = NULL;
        int fd = -1, r;
        FlExe exe;

        r = trust_resolve(e->path, &fd, &exe, &why);
        if (r >= 0 && e->fd >= 0 && exe.kdev == e->exe.kdev && exe.inode == e->exe.inode &&
            exe.dir_inode == e->exe.dir_inode && streq(exe.name, e->exe.name)) {
                close(fd);
                return;
        }
        if (e->fd >= 0) {
                if (e->n_old == TRUST_OLD_MAX) {
                        closep(&e->old_fds[0]);
                        memmove(e->old_fds, e->old_fds + 1, (TRUST_OLD_MAX - 1) * sizeof(int));
                        memmove(e->old, e->old + 1, (TRUST_OLD_MAX - 1) * sizeof(FlExe));
                        e->n_old--;
                }
                e->old_fds[e->n_old] = TAKE_FD(e->fd);
                e->old[e->n_old++] = e->exe;
        }
        if (r >= 0) {
                e->fd = fd;
                e->exe = exe;
                log_notice("Trusting %s (inode %" PRIu64 ") on device %u:%u as the kernel sees it, from %s.", e->path,
                           exe.inode, kdev_major(exe.kdev), kdev_minor(exe.kdev), e->source);
        } else if (r == -ENOENT)
                log_notice("TrustedExecutable=%s (%s) does not exist (now); trusted once it does.", e->path,
                           e->source);
        else
                log_error("No longer trusting %s (%s): %s.", e->path, e->source, why ?: strerror(-r));
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        n = read(fd, buf, sizeof(buf));
        if (n <= 0)
                return 0;
        /* Which entry does not matter much: a few stats. Refresh all. */
        for (size_t i = 0; i < m->trust->n; i++)
                entry_refresh(&m->trust->v[i]);
        return trust_sync(m);
}

static int trust_build(Manager *m, const Settings *s, Trust **ret) {
        Trust *t;

        t = new0(Trust, 1);
        if (!t)
                return log_oom();
        t->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        t->v = new0(TrustEntry, s->n_trusted + 1);
        if (t->inotify_fd < 0 || !t->v) {
                trust_free(t);
                return log_error_errno(errno ?: ENOMEM, "Failed to watch the trusted executables: %m");
        }
        for (size_t i = 0; i < s->n_trusted; i++) {
                TrustEntry *e = &t->v[t->n++];
                _cleanup_free_ char *dir = strdup(s->trusted[i].path);
                char *slash;

                *e = (TrustEntry) { .path = strdup(s->trusted[i].path), .source = strdup(s->trusted[i].source),
                                    .fd = -1, .wd = -1 };
                if (!e->path || !e->source || !dir) {
                        trust_free(t);
                        return log_oom();
                }
                slash = strrchr(dir, '/');
                slash[slash == dir ? 1 : 0] = 0;
                e->wd = inotify_add_watch(t->inotify_fd, dir, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                                                    IN_ATTRIB | IN_CLOSE_WRITE | IN_DONT_FOLLOW);
                if (e->wd < 0)
                        log_warning_errno(errno, "Cannot watch %s for changes of %s (%m): a replaced file is "
                                                 "trusted only after a reload.", dir, e->path);
                entry_refresh(e);
        }
        *ret = t;
        return 0;
}

static int trust_install(Manager *m, Trust *t) {
        int r;

        manager_trust_done(m);
        m->trust = t;
        r = sd_event_add_io(m->event, &m->trust_source, t->inotify_fd, EPOLLIN, on_inotify, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the trusted executables: %m");
        return trust_sync(m);
}

int manager_trust_start(Manager *m) {
        Trust *t;
        int r;

        if (m->settings.n_trusted > 0 && !m->bpf->sees_prepare_exec)
                log_warning("TrustedExecutable= has no effect here: backend %s trusts nothing on a kernel without "
                            "the sched_prepare_exec tracepoint (Linux 6.10), which alone tells which program "
                            "did an exec.", backend_to_string(m->bpf->backend));
        else if (m->settings.n_trusted > 0)
                log_notice("Trusted executables are trusted only in processes of the initial pid namespace, with "
                           "real and effective user ID 0 (a rootless runtime, runc or podman run by a user, is "
                           "not trusted), not under ptrace, whose program was started without LD_PRELOAD, "
                           "LD_AUDIT, LD_LIBRARY_PATH, any other LD_* variable or GCONV_PATH in its environment, "
                           "and after these programs were attached.");

        r = trust_build(m, &m->settings, &t);
        return r < 0 ? r : trust_install(m, t);
}

int manager_trust_reload(Manager *m, const Settings *s) {
        Trust *t;
        int r;

        r = manager_trust_check(s);
        if (r < 0)
                return r;
        r = trust_build(m, s, &t);
        return r < 0 ? r : trust_install(m, t);
}

char *manager_trust_describe(Manager *m) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!m->trust || m->trust->n == 0)
                return strdup("none");
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < m->trust->n; i++) {
                const TrustEntry *e = &m->trust->v[i];
                _cleanup_free_ char *path = escape_string(e->path, SIZE_MAX);

                fprintf(f, "%s%s (", i > 0 ? ", " : "", path ?: "?");
                if (e->fd >= 0)
                        fprintf(f, "inode %" PRIu64, e->exe.inode);
                else
                        fputs("missing: trusted once it appears", f);
                if (e->n_old > 0)
                        fprintf(f, "; %zu replaced file%s still trusted", e->n_old, e->n_old > 1 ? "s" : "");
                fputc(')', f);
        }
        if (fclose(f) < 0)
                return NULL;
        return TAKE_PTR(buf);
}
