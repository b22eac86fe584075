/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include "conf.h"
#include "escape.h"
#include "names.h"
#include "util.h"

#define CONF_SECTION "Fileless"
#define VALUE_SHOWN_MAX 64

static char *strstrip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

int parse_interval(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "", 1000000ULL }, { "s", 1000000ULL }, { "sec", 1000000ULL },
                { "ms", 1000ULL },  { "min", 60000000ULL },
        };
        uint64_t n = 0;
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                n = n * 10 + (uint64_t) (*p - '0');
                if (n > 86400ULL * 1000ULL)
                        return -ERANGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(p, units[i].suffix)) {
                        if (n * units[i].usec > 86400ULL * 1000000ULL)
                                return -ERANGE;
                        *ret_usec = n * units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

_printf_(4, 5) static int conf_error(char **ret_error, const char *fname, unsigned line, const char *format, ...) {
        _cleanup_free_ char *msg = NULL, *name = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (ret_error) {
                /* A drop-in's name is printed too: escaped like the values. */
                name = escape_string(fname, SIZE_MAX);
                if (!name)
                        return -ENOMEM;
                free(*ret_error);
                /* Line 0: the problem is with the file as a whole. */
                if ((line > 0 ? asprintf(ret_error, "%s:%u: %s", name, line, msg)
                              : asprintf(ret_error, "%s: %s", name, msg)) < 0) {
                        *ret_error = NULL;
                        return -ENOMEM;
                }
        }
        return -EINVAL;
}

/* One [Fileless] key: PARSE turns VALUE into the setting at OFFSET of
 * Settings, or returns a negative errno; EXPECTED completes "invalid
 * Key=\"value\", " in the error. An empty value resets the default, as in
 * systemd's own configuration files. */
typedef struct ConfKey {
        const char *name;
        int (*parse)(const char *value, void *ret);
        size_t offset, size;
        const char *expected;
} ConfKey;

#define SETTING(member) offsetof(Settings, member), sizeof(((Settings *) NULL)->member)

static int parse_profile(const char *value, void *ret) {
        int v = profile_from_string(value);

        if (v < 0)
                return v;
        *(int *) ret = v;
        return 0;
}

static int parse_backend(const char *value, void *ret) {
        int v = backend_choice_from_string(value);

        if (v < 0)
                return v;
        *(int *) ret = v;
        return 0;
}

static int parse_interval_key(const char *value, void *ret) {
        return parse_interval(value, ret);
}

static int parse_burst(const char *value, void *ret) {
        uint64_t n;

        if (!parse_uint64(value, RATE_LIMIT_BURST_MAX, &n))
                return -EINVAL;
        *(unsigned *) ret = (unsigned) n;
        return 0;
}

static int parse_bool(const char *value, void *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(value, yes[i]))
                        return *(int *) ret = 1, 0;
                if (streq(value, no[i]))
                        return *(int *) ret = 0, 0;
        }
        return -EINVAL;
}

_Static_assert(RATE_LIMIT_BURST_MAX == 1000000U, "the error message below quotes it");

static const ConfKey conf_keys[] = {
        { "Profile", parse_profile, SETTING(profile), "valid profiles are " PROFILE_VALID_NAMES },
        { "Backend", parse_backend, SETTING(backend), "valid backends are " BACKEND_VALID_NAMES },
        { "RateLimitIntervalSec", parse_interval_key, SETTING(rate_limit_interval_usec),
          "expected a time such as 30s, 500ms or 2min (at most a day), or 0 for no limit" },
        { "RateLimitBurst", parse_burst, SETTING(rate_limit_burst),
          "expected a number of events from 0 (no limit) to 1000000" },
        { "TracepointMappings", parse_bool, SETTING(tracepoint_mappings), "expected yes or no" },
};

static const ConfKey *conf_key_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++)
                if (streq(conf_keys[i].name, name))
                        return &conf_keys[i];
        return NULL;
}

static int conf_assign(Settings *s, char *l, const char *fname, unsigned line, char **ret_error) {
        static const Settings defaults = SETTINGS_DEFAULT;
        _cleanup_free_ char *q = NULL;
        char *eq = strchr(l, '='), *key, *value;
        const ConfKey *k;

        if (!eq) {
                q = escape_excerpt(l, VALUE_SHOWN_MAX);
                return q ? conf_error(ret_error, fname, line, "expected Key=Value, got \"%s\"", q) : -ENOMEM;
        }
        *eq = 0;
        key = strstrip(l);
        value = strstrip(eq + 1);

        k = conf_key_find(key);
        if (!k) {
                /* Unknown keys are errors, not warnings: a misspelt
                 * "Profil=restricted" ignored would leave the machine less
                 * protected than its administrator believes. */
                q = escape_excerpt(key, VALUE_SHOWN_MAX);
                return q ? conf_error(ret_error, fname, line,
                                      "unknown key \"%s\" in section [" CONF_SECTION "], known keys are Profile, "
                                      "Backend, RateLimitIntervalSec, RateLimitBurst, TracepointMappings", q)
                         : -ENOMEM;
        }
        if (isempty(value)) {
                memcpy((char *) s + k->offset, (const char *) &defaults + k->offset, k->size);
                return 0;
        }
        if (k->parse(value, (char *) s + k->offset) < 0) {
                q = escape_excerpt(value, VALUE_SHOWN_MAX);
                return q ? conf_error(ret_error, fname, line, "invalid %s=\"%s\", %s", k->name, q, k->expected)
                         : -ENOMEM;
        }
        return 0;
}

static int conf_section(char *l, const char *fname, unsigned line, char **ret_error) {
        _cleanup_free_ char *q = NULL;
        size_t len = strlen(l);

        if (l[len - 1] != ']') {
                q = escape_excerpt(l, VALUE_SHOWN_MAX);
                return q ? conf_error(ret_error, fname, line, "invalid section header \"%s\"", q) : -ENOMEM;
        }
        l[len - 1] = 0;
        if (!streq(l + 1, CONF_SECTION)) {
                q = escape_excerpt(l + 1, VALUE_SHOWN_MAX);
                return q ? conf_error(ret_error, fname, line, "unknown section [%s], expected [" CONF_SECTION "]", q)
                         : -ENOMEM;
        }
        return 0;
}

int conf_parse(FILE *f, const char *fname, Settings *settings, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        Settings s = *settings;
        bool in_section = false;
        size_t size = 0;
        unsigned line = 0;
        ssize_t n;
        int r;

        while ((n = getline(&buf, &size, f)) >= 0) {
                char *l;

                line++;
                if (strlen(buf) != (size_t) n)
                        return conf_error(ret_error, fname, line, "line contains a NUL byte");

                l = strstrip(buf);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        r = conf_section(l, fname, line, ret_error);
                        if (r < 0)
                                return r;
                        in_section = true;
                        continue;
                }
                if (!in_section && strchr(l, '='))
                        return conf_error(ret_error, fname, line,
                                          "assignment outside of a section, expected [" CONF_SECTION "] first");
                r = conf_assign(&s, l, fname, line, ret_error);
                if (r < 0)
                        return r;
        }
        if (ferror(f))
                return conf_error(ret_error, fname, line + 1, "read error: %s", strerror(errno));

        *settings = s;
        return 0;
}

static int conf_parse_path(const char *path, Settings *settings, char **ret_error, bool missing_ok) {
        _cleanup_fclose_ FILE *f = NULL;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && missing_ok)
                        return 0;
                return conf_error(ret_error, path, 0, "cannot open: %s", strerror(errno));
        }
        return conf_parse(f, path, settings, ret_error);
}

static int dropin_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

/* Calls FN for each drop-in of PATH.d in lexical order, until FN returns
 * non-zero. */
static int dropins_foreach(const char *path, int (*fn)(const char *dropin, const char *name, void *userdata),
                           void *userdata, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        int n, r = 0;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        n = scandir(dir, &list, dropin_filter, alphasort);
        if (n < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return conf_error(ret_error, dir, 0, "cannot read directory: %s", strerror(errno));
                return 0;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (r == 0) {
                        if (asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0)
                                r = -ENOMEM;
                        else
                                r = fn(p, list[i]->d_name, userdata);
                }
                free(list[i]);
        }
        free(list);
        return r;
}

typedef struct LoadState {
        Settings settings;
        char **ret_error;
} LoadState;

static int load_one(const char *dropin, _unused_ const char *name, void *userdata) {
        LoadState *st = userdata;

        return conf_parse_path(dropin, &st->settings, st->ret_error, false);
}

int conf_load(const char *path, Settings *settings, char **ret_error) {
        LoadState st = { .settings = *settings, .ret_error = ret_error };
        int r;

        r = conf_parse_path(path, &st.settings, ret_error, true);
        if (r < 0)
                return r;
        r = dropins_foreach(path, load_one, &st, ret_error);
        if (r < 0)
                return r;
        *settings = st.settings;
        return 0;
}

typedef struct OverrideState {
        char *found;
} OverrideState;

static int find_override(const char *dropin, const char *name, void *userdata) {
        OverrideState *st = userdata;
        Settings s = { .profile = 0 };
        int r;

        if (strcmp(name, CONF_PROFILE_DROPIN) <= 0)
                return 0;
        /* A broken file is for conf_load() to report; here it overrides nothing. */
        r = conf_parse_path(dropin, &s, NULL, true);
        if (r < 0 || s.profile == 0)
                return 0;
        free(st->found);
        st->found = strdup(dropin);
        return st->found ? 0 : -ENOMEM;
}

int conf_profile_overridden(const char *path, char **ret_path) {
        OverrideState st = {};
        int r;

        r = dropins_foreach(path, find_override, &st, NULL);
        if (r < 0) {
                free(st.found);
                return r;
        }
        *ret_path = st.found;
        return !!st.found;
}

static int write_file_atomic(const char *dir, const char *name, const char *contents, char **ret_error) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        size_t len = strlen(contents);

        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
                int r = -errno;

                conf_error(ret_error, tmp, 0, "cannot create: %s", strerror(-r));
                return r;
        }
        errno = 0;
        if (write(fd, contents, len) != (ssize_t) len || fsync(fd) < 0 || rename(tmp, path) < 0) {
                int r = errno ? -errno : -EIO;

                (void) unlink(tmp);
                conf_error(ret_error, path, 0, "cannot write: %s", strerror(-r));
                return r;
        }
        /* The rename is durable only once the directory is. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0) {
                int r = -errno;

                conf_error(ret_error, dir, 0, "cannot sync: %s", strerror(-r));
                return r;
        }
        return 0;
}

int conf_write_profile_dropin(const char *path, int profile, char **ret_error) {
        _cleanup_free_ char *dir = NULL, *contents = NULL;
        struct stat st;

        if (asprintf(&dir, "%s.d", path) < 0 ||
            asprintf(&contents,
                     "# Written by filelesslockd when the profile was set over D-Bus\n"
                     "# (org.bpflock.Fileless1.Profile). Drop-ins sorting after this one win.\n"
                     "[Fileless]\nProfile=%s\n",
                     profile_to_string(profile)) < 0)
                return -ENOMEM;

        /* A fresh install under another prefix may lack the directory. */
        if (mkdir(dir, 0755) >= 0)
                (void) chmod(dir, 0755); /* whatever the umask */
        else if (errno != EEXIST) {
                int r = -errno;

                conf_error(ret_error, dir, 0, "cannot create the drop-in directory: %s", strerror(-r));
                return r;
        }
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                int r = errno ? -errno : -ENOTDIR;

                conf_error(ret_error, dir, 0, "not a directory");
                return r;
        }
        return write_file_atomic(dir, CONF_PROFILE_DROPIN, contents, ret_error);
}
