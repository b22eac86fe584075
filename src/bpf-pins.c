/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "bpf-pins.h"
#include "log.h"
#include "util.h"

#define BPFFS_MOUNT_HINT "mount -t bpf -o mode=700 bpf /sys/fs/bpf"

/* An existing component of the pin path that anybody but root could change
 * would let them replace or remove what we pin below it. */
static int check_component(const char *p) {
        struct stat st;

        if (lstat(p, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return log_error_errno(EUCLEAN, "Pin path component %s is a symbolic link: refusing to pin below it.",
                                       p);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "Pin path component %s is not a directory.", p);
        if (st.st_uid != 0)
                return log_error_errno(EUCLEAN,
                                       "Pin path component %s is owned by uid %u, not root: anybody who owns it "
                                       "could remove the pins. Remove it, or use another --pin-path=.",
                                       p, (unsigned) st.st_uid);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return log_error_errno(EUCLEAN,
                                       "Pin path component %s is writable by %s (mode %04o): an unprivileged "
                                       "user could put their own directory in our place first. Mount bpffs "
                                       "for root only (" BPFFS_MOUNT_HINT ", as systemd does) or chmod it.",
                                       p, st.st_mode & S_IWOTH ? "everyone" : "its group",
                                       (unsigned) (st.st_mode & 07777));
        return 0;
}

/* The deepest existing ancestor must be on bpffs, so that a typo never
 * litters another filesystem. */
static int check_on_bpffs(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        struct statfs sfs;
        char *slash;

        if (!p)
                return log_oom();
        for (;;) {
                if (statfs(p, &sfs) >= 0)
                        break;
                if (errno != ENOENT)
                        return log_error_errno(errno, "Failed to look at %s: %m", p);
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return log_error_errno(ENOENT, "No bpf filesystem above %s: is bpffs mounted? ("
                                               BPFFS_MOUNT_HINT ")", path);
                *slash = 0;
        }
        if (sfs.f_type != BPF_FS_MAGIC)
                return log_error_errno(ENOTDIR, "%s is not on a bpf filesystem: is bpffs mounted at /sys/fs/bpf? ("
                                       BPFFS_MOUNT_HINT ")", p);
        return 0;
}

int pin_dir_prepare(const char *path) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (path[0] != '/')
                return log_error_errno(EINVAL, "Pin path \"%s\" is not absolute.", path);
        r = check_on_bpffs(path);
        if (r < 0)
                return r;

        /* Top down: check what exists, create what does not (0700 whatever
         * the umask), and check what we created like the rest. */
        p = strdup(path);
        if (!p)
                return log_oom();
        for (char *s = p + 1;; s++) {
                bool end = *s == 0;

                if (*s != '/' && !end)
                        continue;
                *s = 0;
                if (mkdir(p, 0700) >= 0)
                        (void) chmod(p, 0700);
                else if (errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", p);
                r = check_component(p);
                if (r < 0)
                        return r;
                if (end)
                        break;
                *s = '/';
        }
        return 0;
}

static int pin_name(const char *dir, const char *name, const char *suffix, char **ret) {
        return asprintf(ret, "%s/%s%s", dir, name, suffix) < 0 ? -ENOMEM : 0;
}

int pin_object(const char *dir, const char *name, int fd) {
        _cleanup_free_ char *p = NULL, *tmp = NULL;

        /* bpffs refuses dots in names. */
        if (pin_name(dir, name, "", &p) < 0 || pin_name(dir, name, "_new", &tmp) < 0)
                return log_oom();
        (void) unlink(tmp);
        if (bpf_obj_pin(fd, tmp) < 0)
                return log_error_errno(errno, "Failed to pin %s: %m", tmp);
        if (rename(tmp, p) < 0) {
                int r = -errno;

                (void) unlink(tmp);
                return log_error_errno(r, "Failed to rename %s to %s: %m", tmp, p);
        }
        return 0;
}

int pin_open(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;
        int fd;

        if (pin_name(dir, name, "", &p) < 0)
                return -ENOMEM;
        fd = bpf_obj_get(p);
        return fd < 0 ? -errno : fd;
}

int pin_remove(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL, *tmp = NULL;

        if (pin_name(dir, name, "", &p) < 0 || pin_name(dir, name, "_new", &tmp) < 0)
                return -ENOMEM;
        (void) unlink(tmp);
        if (unlink(p) < 0)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to remove %s: %m", p);
        return 1;
}

uint32_t bpf_object_id(int fd) {
        /* The info of maps, programs and links alike starts with type and id;
         * the kernel fills in as much as we ask for. */
        struct {
                uint32_t type, id;
        } info = {};
        uint32_t len = sizeof(info);

        return bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ? 0 : info.id;
}
