/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup-unit.h"
#include "util.h"

/* FILEID_KERNFS (include/linux/exportfs.h): kernfs, and so cgroupfs, accepts
 * its 64-bit node id as a file handle. */
#define FILEID_KERNFS 0xfe

int cgroup2_open(char **ret_mount) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mounts", "re");
        char dev[256], dir[4096], type[64];
        int fd;

        if (!f)
                return -errno;
        while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
                if (streq(type, "cgroup2")) {
                        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0)
                                return -errno;
                        *ret_mount = strdup(dir);
                        if (!*ret_mount) {
                                close(fd);
                                return -ENOMEM;
                        }
                        return fd;
                }
        return -ENOENT;
}

/* The initial cgroup namespace's inode (PROC_CGROUP_INIT_INO, include/linux/proc_ns.h). */
#define CGROUP_NS_INIT_INO 0xEFFFFFFBU

int cgroup_ns_is_initial(void) {
        struct stat st;

        if (stat("/proc/self/ns/cgroup", &st) < 0)
                return -errno;
        return st.st_ino == CGROUP_NS_INIT_INO;
}

/* Is the cgroup2 mount at MOUNT the root of our cgroup namespace? In
 * mountinfo a cgroup mount's root is shown relative to the reader's
 * namespace root. */
static int cgroup2_mount_is_ns_root(const char *mount) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char root[4096], dir[4096], rest[4096];
        int found = -ENOENT;

        if (!f)
                return -errno;
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - TYPE SOURCE OPTIONS */
        while (fscanf(f, "%*s %*s %*s %4095s %4095s %4095[^\n]", root, dir, rest) == 3)
                if (streq(dir, mount) && strstr(rest, " - cgroup2 "))
                        found = streq(root, "/"); /* the last mount on top wins */
        return found;
}

int cgroup2_root_id(int cgroup2_fd, const char *mount, uint64_t *ret) {
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh = { .handle_bytes = sizeof(uint64_t) } };
        int mount_id, r;

        if (name_to_handle_at(cgroup2_fd, "", &h.fh, &mount_id, AT_EMPTY_PATH) < 0)
                return -errno;
        if (h.fh.handle_type != FILEID_KERNFS || h.fh.handle_bytes != sizeof(uint64_t))
                return -EPROTO;
        r = cgroup2_mount_is_ns_root(mount);
        if (r < 0)
                return r;
        *ret = h.id;
        return r ? 0 : -EXDEV;
}

static bool has_suffix(const char *s, size_t n, const char *suffix) {
        size_t k = strlen(suffix);

        return n > k && memcmp(s + n - k, suffix, k) == 0;
}

static bool is_unit_name(const char *s, size_t n) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap", ".timer" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (has_suffix(s, n, suffixes[i]))
                        return true;
        return false;
}

/* The first component of P below its leading slices, if it is a unit name;
 * *ret_rest points after it. */
static const char *unit_below_slices(const char *p, size_t *ret_len, const char **ret_rest) {
        for (;;) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        return NULL;
                if (!has_suffix(p, len, ".slice")) {
                        *ret_len = len;
                        *ret_rest = p + len;
                        return is_unit_name(p, len) ? p : NULL;
                }
                p += len;
        }
}

int cgroup_path_units(const char *path, char **ret_unit, char **ret_user_unit) {
        _cleanup_free_ char *unit = NULL, *user_unit = NULL;
        const char *u, *rest;
        size_t len = 0;

        u = unit_below_slices(path, &len, &rest);
        if (u) {
                unit = strndup(u, len);
                if (!unit)
                        return -ENOMEM;
                if (strncmp(unit, "user@", 5) == 0 && has_suffix(unit, len, ".service")) {
                        u = unit_below_slices(rest, &len, &rest);
                        if (u && !(user_unit = strndup(u, len)))
                                return -ENOMEM;
                }
        }
        *ret_unit = TAKE_PTR(unit);
        *ret_user_unit = TAKE_PTR(user_unit);
        return 0;
}

int cgroup_id_units(int cgroup2_fd, const char *mount, uint64_t id, char **ret_unit, char **ret_user_unit) {
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS }, .id = id };
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *path = NULL;
        char link[64];
        ssize_t n;

        *ret_unit = *ret_user_unit = NULL;
        if (cgroup2_fd < 0)
                return 0;
        fd = open_by_handle_at(cgroup2_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        path = malloc(PATH_MAX);
        if (!path)
                return -ENOMEM;
        snprintf(link, sizeof(link), "/proc/self/fd/%i", fd);
        n = readlink(link, path, PATH_MAX - 1);
        if (n < 0)
                return 0;
        path[n] = 0;
        /* The path is in our mount namespace: take the part below the hierarchy's root. */
        n = (ssize_t) strlen(mount);
        if (strncmp(path, mount, n) != 0 || (path[n] != '/' && path[n] != 0))
                return 0;
        return cgroup_path_units(path + n, ret_unit, ret_user_unit);
}
