/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The D-Bus layer of the configuration: one drop-in that holds what was set
 * over D-Bus, so that it survives restarts and a reload reads it back. */

#include <fcntl.h>
#include <sys/stat.h>

#include "conf-private.h"
#include "names.h"

static int dropin_path(const char *path, char **ret_dir, char **ret_file) {
        if (asprintf(ret_dir, "%s.d", path) < 0)
                return -ENOMEM;
        if (asprintf(ret_file, "%s/" CONF_PROFILE_DROPIN, *ret_dir) < 0) {
                free(*ret_dir);
                return -ENOMEM;
        }
        return 0;
}

int conf_read_dropin(const char *path, Settings *ret, char **ret_error) {
        _cleanup_free_ char *dir = NULL, *file = NULL;
        Settings s = { .profile = 0 };
        int r;

        r = dropin_path(path, &dir, &file);
        if (r < 0)
                return r;
        r = conf_parse_path(file, &s, ret_error, true);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static int write_file_atomic(const char *dir, const char *name, const char *contents, char **ret_error) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        size_t len = strlen(contents);
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
                r = -errno;
                conf_error(ret_error, tmp, 0, "cannot create: %s", strerror(-r));
                return r;
        }
        (void) fchmod(fd, 0644); /* whatever the umask: it is configuration anybody may read */
        errno = 0;
        if (write(fd, contents, len) != (ssize_t) len || fsync(fd) < 0 || rename(tmp, path) < 0) {
                r = errno ? -errno : -EIO;
                (void) unlink(tmp);
                conf_error(ret_error, path, 0, "cannot write: %s", strerror(-r));
                return r;
        }
        /* The rename is durable only once the directory is. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0) {
                r = -errno;
                conf_error(ret_error, dir, 0, "cannot sync: %s", strerror(-r));
                return r;
        }
        return 0;
}

static int make_dir(const char *dir, char **ret_error) {
        _cleanup_free_ char *parent = strdup(dir);
        struct stat st;
        char *slash;
        int r;

        if (!parent)
                return -ENOMEM;
        /* A fresh install under another prefix (meson's /usr/local) may lack
         * the configuration directory itself: make the missing parents too. */
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                if (access(parent, F_OK) < 0 && errno == ENOENT) {
                        r = make_dir(parent, ret_error);
                        if (r < 0)
                                return r;
                }
        }
        if (mkdir(dir, 0755) >= 0)
                (void) chmod(dir, 0755); /* whatever the umask */
        else if (errno != EEXIST) {
                r = -errno;
                conf_error(ret_error, dir, 0, "cannot create the drop-in directory: %s", strerror(-r));
                return r;
        }
        if (lstat(dir, &st) < 0) {
                r = -errno;
                conf_error(ret_error, dir, 0, "cannot look at the drop-in directory: %s", strerror(-r));
                return r;
        }
        if (!S_ISDIR(st.st_mode)) {
                conf_error(ret_error, dir, 0, "not a directory");
                return -ENOTDIR;
        }
        return 0;
}

static char *dropin_contents(const Settings *layer) {
        _cleanup_free_ char *s = NULL;
        char *n;

        if (asprintf(&s,
                     "# Written by filelesslockd for what was set over D-Bus (org.bpflock.Fileless1:\n"
                     "# Profile, SetProfile, SetUnitProfile). Drop-ins sorting after this one win.\n") < 0)
                return NULL;
        if (layer->profile > 0) {
                if (asprintf(&n, "%s[Fileless]\nProfile=%s\n", s, profile_to_string(layer->profile)) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        /* A removal is written as an empty Profile=: it must also undo a
         * scope that the main file or an earlier drop-in sets. */
        for (size_t i = 0; i < layer->n_scopes; i++) {
                int p = layer->scopes[i].profile;

                if (asprintf(&n, "%s\n[Scope]\nUnit=%s\nProfile=%s\n", s, layer->scopes[i].unit,
                             p > 0 ? profile_to_string(p) : "") < 0)
                        return NULL;
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

int conf_write_dropin(const char *path, const Settings *layer, char **ret_error) {
        _cleanup_free_ char *dir = NULL, *file = NULL, *contents = NULL;
        int r;

        r = dropin_path(path, &dir, &file);
        if (r < 0)
                return r;
        contents = dropin_contents(layer);
        if (!contents)
                return -ENOMEM;
        r = make_dir(dir, ret_error);
        if (r < 0)
                return r;
        return write_file_atomic(dir, CONF_PROFILE_DROPIN, contents, ret_error);
}

typedef struct OverrideState {
        const char *unit;
        char *found;
} OverrideState;

static int find_override(const char *dropin, const char *name, void *userdata) {
        OverrideState *st = userdata;
        Settings s = { .profile = 0 };
        bool sets;
        int r;

        if (strcmp(name, CONF_PROFILE_DROPIN) <= 0)
                return 0;
        /* A broken file is for conf_load() to report; here it overrides nothing. */
        r = conf_parse_path(dropin, &s, NULL, true);
        if (r < 0)
                return 0;
        /* For a unit, a removal (an empty Profile=) in a later file counts
         * too: conf_parse() keeps those as profile 0. */
        sets = !st->unit && s.profile != 0;
        for (size_t i = 0; st->unit && i < s.n_scopes; i++)
                sets = sets || streq(s.scopes[i].unit, st->unit);
        settings_done(&s);
        if (!sets)
                return 0;
        free(st->found);
        st->found = strdup(dropin);
        return st->found ? 0 : -ENOMEM;
}

int conf_overridden(const char *path, const char *unit, char **ret_path) {
        OverrideState st = { .unit = unit };
        int r;

        r = conf_dropins_foreach(path, find_override, &st, NULL);
        if (r < 0) {
                free(st.found);
                return r;
        }
        *ret_path = st.found;
        return !!st.found;
}
