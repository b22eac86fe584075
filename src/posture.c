/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What else on this machine affects fileless execution, for the Posture
 * property: read when asked, never changed. */

#include <stdio.h>

#include "posture.h"
#include "util.h"

static char *read_line(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char buf[512];

        if (!f || !fgets(buf, sizeof(buf), f))
                return NULL;
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}

/* "noexec", "exec", or "not a mount" for MOUNT_POINT in PID 1's mount
 * namespace (the machine's, not the daemon's private one); for a prefix
 * ending in '/', the mounts below it: "N of M noexec". */
static char *mount_noexec(const char *mount_point) {
        _cleanup_fclose_ FILE *f = fopen("/proc/1/mountinfo", "re");
        size_t plen = strlen(mount_point), n = 0, noexec = 0;
        bool prefix = mount_point[plen - 1] == '/';
        char *line = NULL, *r = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        while (getline(&line, &size, f) > 0) {
                char mp[4096], opts[1024];

                /* id parent major:minor root mount-point options ... */
                if (sscanf(line, "%*s %*s %*s %*s %4095s %1023s", mp, opts) != 2)
                        continue;
                if (prefix ? strncmp(mp, mount_point, plen) != 0 || strchr(mp + plen, '/') : !streq(mp, mount_point))
                        continue;
                n++;
                noexec += !!strstr(opts, "noexec");
        }
        free(line);
        if (prefix)
                (void) asprintf(&r, "%zu of %zu mounts noexec", noexec, n);
        else
                r = strdup(n == 0 ? "not a mount point" : noexec ? "noexec" : "exec allowed");
        return r;
}

static int add(PostureItem **v, size_t *n, const char *item, char *value) {
        PostureItem *w = realloc(*v, (*n + 1) * sizeof(PostureItem));

        if (!w) {
                free(value);
                return -ENOMEM;
        }
        *v = w;
        w[*n] = (PostureItem) { .item = item, .value = value ?: strdup("unknown") };
        if (!w[*n].value)
                return -ENOMEM;
        (*n)++;
        return 0;
}

int posture_read(const char *backend, const char *unseen, PostureItem **ret, size_t *ret_n) {
        PostureItem *v = NULL;
        size_t n = 0;
        char *lsm = read_line("/sys/kernel/security/lsm");
        int r = 0;

        if ((r = add(&v, &n, "backend", strdup(backend))) < 0 ||
            (r = add(&v, &n, "backend cannot see", strdup(unseen))) < 0 ||
            (r = add(&v, &n, "BPF LSM", strdup(!lsm ? "unknown (securityfs not mounted)"
                                                     : strstr(lsm, "bpf") ? "active" : "not active"))) < 0 ||
            (r = add(&v, &n, "vm.memfd_noexec", read_line("/proc/sys/vm/memfd_noexec") ?:
                                                     strdup("absent (kernel before 6.3)"))) < 0 ||
            (r = add(&v, &n, "/dev/shm", mount_noexec("/dev/shm"))) < 0 ||
            (r = add(&v, &n, "/tmp", mount_noexec("/tmp"))) < 0 ||
            (r = add(&v, &n, "/run/user/*", mount_noexec("/run/user/"))) < 0)
                posture_free(v, n), v = NULL, n = 0;
        free(lsm);
        *ret = v;
        *ret_n = n;
        return r;
}

void posture_free(PostureItem *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].value);
        free(v);
}
