/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The kernel's copy of the unit scopes and trusted executables. */

#include <bpf/bpf.h>

#include "bpf-loader.h"
#include "bpf-seal.h"
#include "log.h"
#include "names.h"

int fl_scope_key(const char *unit, struct fl_scope_key *ret) {
        size_t n = strlen(unit);

        if (n == 0 || n >= sizeof(ret->name))
                return -EINVAL;
        *ret = (struct fl_scope_key) {};
        memcpy(ret->name, unit, n);
        return 0;
}

/* Ids are never reused while a daemon runs: an event still in the ring
 * buffer names the scope that decided, not one set since. */
static uint32_t scope_next_id(int fd) {
        struct fl_scope_key k, next;
        struct fl_scope v;
        uint32_t max = 0;
        void *prev = NULL;

        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
                if (bpf_map_lookup_elem(fd, &next, &v) == 0 && v.id > max)
                        max = v.id;
                k = next;
                prev = &k;
        }
        return max + 1;
}

int fl_bpf_set_scope(FlBpf *b, const char *unit, int profile) {
        int fd = b->map_fds[FL_MAP_SCOPES];
        struct fl_scope_key k;
        struct fl_scope v;
        int r;

        if (b->sealed)
                return fl_seal_set_scope(b, unit, profile);
        r = fl_scope_key(unit, &k);
        if (r < 0)
                return r;
        if (profile == 0)
                return bpf_map_delete_elem(fd, &k) < 0 && errno != ENOENT ? -errno : 0;
        if (bpf_map_lookup_elem(fd, &k, &v) < 0)
                v.id = MAX(scope_next_id(fd), b->scope_next_id);
        v.profile = profile;
        if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0)
                return -errno;
        b->scope_next_id = MAX(b->scope_next_id, v.id + 1);
        return (int) v.id;
}

int fl_bpf_get_scope(FlBpf *b, const char *unit) {
        struct fl_scope_key k;
        struct fl_scope v;

        if (b->sealed)
                return fl_seal_get_scope(b, unit);
        if (fl_scope_key(unit, &k) < 0 || bpf_map_lookup_elem(b->map_fds[FL_MAP_SCOPES], &k, &v) < 0)
                return 0;
        return (int) v.profile;
}

static bool scopes_have(const FlScope *scopes, size_t n, const char *unit) {
        for (size_t i = 0; i < n; i++)
                if (streq(scopes[i].unit, unit))
                        return true;
        return false;
}

int fl_bpf_sync_scopes(FlBpf *b, const FlScope *scopes, size_t n) {
        int fd = b->map_fds[FL_MAP_SCOPES], r;
        struct fl_scope_key k, next;
        void *prev = NULL;

        /* Set first, remove after: a unit moved from one profile to another
         * never passes through none. Sealed, nothing is removed (and what
         * would loosen is refused, by the manager and by the kernel). */
        for (size_t i = 0; i < n; i++) {
                r = fl_bpf_set_scope(b, scopes[i].unit, scopes[i].profile);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the scope of %s: %m", scopes[i].unit);
        }
        if (b->sealed)
                return 0;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
                next.name[sizeof(next.name) - 1] = 0;
                if (!scopes_have(scopes, n, next.name)) {
                        if (bpf_map_delete_elem(fd, &next) < 0)
                                return log_error_errno(errno, "Failed to remove the scope of %s: %m", next.name);
                        continue; /* the walk starts over from PREV */
                }
                k = next;
                prev = &k;
        }
        return 0;
}

char *fl_bpf_scope_name(FlBpf *b, uint32_t id) {
        int fd = b->map_fds[FL_MAP_SCOPES];
        struct fl_scope_key k, next;
        struct fl_scope v;
        void *prev = NULL;

        if (b->sealed)
                return fl_seal_scope_name(b, id);
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
                if (bpf_map_lookup_elem(fd, &next, &v) == 0 && v.id == id)
                        return strndup(next.name, sizeof(next.name));
                k = next;
                prev = &k;
        }
        return NULL;
}

static bool exes_have(const FlExe *exes, size_t n, const struct fl_exe_key *k) {
        for (size_t i = 0; i < n; i++)
                if (exes[i].kdev == k->dev && exes[i].inode == k->inode)
                        return true;
        return false;
}

int fl_bpf_sync_trusted(FlBpf *b, const FlExe *exes, size_t n) {
        int fd = b->map_fds[FL_MAP_TRUSTED];
        struct fl_exe_key k, next;
        struct fl_exe_where w;
        void *prev = NULL;

        /* The trusted executables are frozen with the rest: none added,
         * none removed (a package upgrade's new file is not followed),
         * until reboot. Not an error: enforcement is as it was. */
        if (b->sealed) {
                log_notice("Sealed: the trusted executables stay as they were when sealed until reboot; "
                           "changes to them are ignored.");
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                k = (struct fl_exe_key) { .dev = exes[i].kdev, .inode = exes[i].inode };
                w = (struct fl_exe_where) { .dir_inode = exes[i].dir_inode };
                memcpy(w.name, exes[i].name, sizeof(w.name));
                if (bpf_map_update_elem(fd, &k, &w, BPF_ANY) < 0)
                        return -errno;
        }
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
                if (!exes_have(exes, n, &next)) {
                        if (bpf_map_delete_elem(fd, &next) < 0)
                                return -errno;
                        continue;
                }
                k = next;
                prev = &k;
        }
        return 0;
}
