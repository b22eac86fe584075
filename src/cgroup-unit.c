/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdio.h>

#include "cgroup-unit.h"
#include "util.h"

/* FILEID_KERNFS (include/linux/exportfs.h): kernfs, and so cgroupfs, accepts
 * its 64-bit node id as a file handle. */
#define FILEID_KERNFS 0xfe

int cgroup2_open(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mounts", "re");
        char dev[256], dir[4096], type[64];
        int fd;

        if (!f)
                return -errno;
        while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
                if (streq(type, "cgroup2")) {
                        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        return fd < 0 ? -errno : fd;
                }
        return -ENOENT;
}

static bool is_unit_name(const char *s, size_t n) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap", ".timer" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);

                if (n > k && memcmp(s + n - k, suffixes[i], k) == 0)
                        return true;
        }
        return false;
}

char *cgroup_id_to_unit(int cgroup2_fd, uint64_t id) {
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS }, .id = id };
        _cleanup_close_ int fd = -1;
        char link[64], path[4096];
        const char *unit = NULL, *p;
        size_t unit_len = 0;
        ssize_t n;

        if (cgroup2_fd < 0)
                return NULL;
        fd = open_by_handle_at(cgroup2_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        snprintf(link, sizeof(link), "/proc/self/fd/%i", fd);
        n = readlink(link, path, sizeof(path) - 1);
        if (n < 0)
                return NULL;
        path[n] = 0;

        /* The innermost unit: a service's sub-cgroups (".../foo.service/payload")
         * still belong to foo.service. */
        for (p = path; *p;) {
                size_t len = strcspn(p, "/");

                if (is_unit_name(p, len)) {
                        unit = p;
                        unit_len = len;
                }
                p += len;
                p += strspn(p, "/");
        }
        return unit ? strndup(unit, unit_len) : NULL;
}
