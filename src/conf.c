/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>

#include "conf.h"
#include "event-format.h"
#include "names.h"
#include "util.h"

#define CONF_SECTION "Fileless"

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

static int parse_burst(const char *s, unsigned *ret) {
        unsigned long n = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                n = n * 10 + (unsigned long) (*s - '0');
                if (n > RATE_LIMIT_BURST_MAX)
                        return -ERANGE;
        }
        if (*s)
                return -EINVAL;
        *ret = (unsigned) n;
        return 0;
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
                fname = name;
                free(*ret_error);
                /* Line 0: the problem is with the file as a whole. */
                if ((line > 0 ? asprintf(ret_error, "%s:%u: %s", fname, line, msg)
                              : asprintf(ret_error, "%s: %s", fname, msg)) < 0) {
                        *ret_error = NULL;
                        return -ENOMEM;
                }
        }
        return -EINVAL;
}

/* Printable rendering of a user-supplied value for an error message: the
 * file may hold anything, the terminal or journal showing the error must not
 * receive it raw. Truncated, since it is only there to be recognised. */
static void quote_value(const char *s, char *buf, size_t size) {
        size_t n = 0;

        /* Room for one escape, the ellipsis and the NUL. */
        for (; *s && n + 4 + 3 + 1 <= size; s++) {
                unsigned char c = *s;

                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        n += snprintf(buf + n, size - n, "\\x%02x", c);
                else
                        buf[n++] = c;
        }
        if (*s)
                n += snprintf(buf + n, size - n, "...");
        buf[n] = 0;
}

int conf_parse(FILE *f, const char *fname, Settings *settings, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        Settings s = *settings;
        bool in_section = false;
        char q[96];
        size_t size = 0;
        unsigned line = 0;
        ssize_t n;

        while ((n = getline(&buf, &size, f)) >= 0) {
                char *l, *eq, *key, *value;
                int v;

                line++;
                if (strlen(buf) != (size_t) n)
                        return conf_error(ret_error, fname, line, "line contains a NUL byte");

                l = strstrip(buf);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;

                if (*l == '[') {
                        size_t len = strlen(l);

                        if (l[len - 1] != ']') {
                                quote_value(l, q, sizeof(q));
                                return conf_error(ret_error, fname, line, "invalid section header \"%s\"", q);
                        }
                        l[len - 1] = 0;
                        if (!streq(l + 1, CONF_SECTION)) {
                                quote_value(l + 1, q, sizeof(q));
                                return conf_error(ret_error, fname, line,
                                                  "unknown section [%s], expected [" CONF_SECTION "]", q);
                        }
                        in_section = true;
                        continue;
                }

                eq = strchr(l, '=');
                if (!eq) {
                        quote_value(l, q, sizeof(q));
                        return conf_error(ret_error, fname, line, "expected Key=Value, got \"%s\"", q);
                }
                if (!in_section)
                        return conf_error(ret_error, fname, line,
                                          "assignment outside of a section, expected [" CONF_SECTION "] first");

                *eq = 0;
                key = strstrip(l);
                value = strstrip(eq + 1);

                /* An empty assignment resets the key to its default, as in systemd's
                 * own configuration files. */
                if (streq(key, "Profile")) {
                        if (isempty(value)) {
                                s.profile = SETTINGS_DEFAULT.profile;
                                continue;
                        }
                        v = profile_from_string(value);
                        if (v < 0) {
                                quote_value(value, q, sizeof(q));
                                return conf_error(ret_error, fname, line,
                                                  "invalid Profile=\"%s\", valid profiles are " PROFILE_VALID_NAMES, q);
                        }
                        s.profile = v;
                } else if (streq(key, "Backend")) {
                        if (isempty(value)) {
                                s.backend = SETTINGS_DEFAULT.backend;
                                continue;
                        }
                        v = backend_choice_from_string(value);
                        if (v < 0) {
                                quote_value(value, q, sizeof(q));
                                return conf_error(ret_error, fname, line,
                                                  "invalid Backend=\"%s\", valid backends are " BACKEND_VALID_NAMES, q);
                        }
                        s.backend = v;
                } else if (streq(key, "RateLimitIntervalSec")) {
                        if (isempty(value)) {
                                s.rate_limit_interval_usec = SETTINGS_DEFAULT.rate_limit_interval_usec;
                                continue;
                        }
                        if (parse_interval(value, &s.rate_limit_interval_usec) < 0) {
                                quote_value(value, q, sizeof(q));
                                return conf_error(ret_error, fname, line,
                                                  "invalid RateLimitIntervalSec=\"%s\", expected a time such as "
                                                  "30s, 500ms or 2min (at most a day), or 0 for no limit", q);
                        }
                } else if (streq(key, "RateLimitBurst")) {
                        if (isempty(value)) {
                                s.rate_limit_burst = SETTINGS_DEFAULT.rate_limit_burst;
                                continue;
                        }
                        if (parse_burst(value, &s.rate_limit_burst) < 0) {
                                quote_value(value, q, sizeof(q));
                                return conf_error(ret_error, fname, line,
                                                  "invalid RateLimitBurst=\"%s\", expected a number of events "
                                                  "from 0 (no limit) to %u", q, RATE_LIMIT_BURST_MAX);
                        }
                } else {
                        /* Unknown keys are errors, not warnings: a misspelt
                         * "Profil=restricted" ignored would leave the machine less
                         * protected than its administrator believes. */
                        quote_value(key, q, sizeof(q));
                        return conf_error(ret_error, fname, line,
                                          "unknown key \"%s\" in section [" CONF_SECTION "], known keys are Profile, Backend, RateLimitIntervalSec, RateLimitBurst", q);
                }
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

int conf_load(const char *path, Settings *settings, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        Settings s = *settings;
        int n, r = 0;

        r = conf_parse_path(path, &s, ret_error, true);
        if (r < 0)
                return r;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;

        n = scandir(dir, &list, dropin_filter, alphasort);
        if (n < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return conf_error(ret_error, dir, 0, "cannot read directory: %s", strerror(errno));
                n = 0;
        }

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (r >= 0) {
                        if (asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0)
                                r = -ENOMEM;
                        else
                                r = conf_parse_path(p, &s, ret_error, false);
                }
                free(list[i]);
        }
        free(list);
        if (r < 0)
                return r;

        *settings = s;
        return 0;
}
