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
#include "conf-private.h"

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

int conf_error(char **ret_error, const char *fname, unsigned line, const char *format, ...) {
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

        /* Leading zeros, as strtoul() and systemd take them. */
        while (value[0] == '0' && value[1])
                value++;
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
        { "Seal", parse_bool, SETTING(seal), "expected yes or no" },
};

static const ConfKey *conf_key_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++)
                if (streq(conf_keys[i].name, name))
                        return &conf_keys[i];
        return NULL;
}

void settings_done(Settings *s) {
        for (size_t i = 0; i < s->n_scopes; i++)
                free(s->scopes[i].unit);
        free(s->scopes);
        for (size_t i = 0; i < s->n_trusted; i++) {
                free(s->trusted[i].path);
                free(s->trusted[i].source);
        }
        free(s->trusted);
        s->scopes = NULL;
        s->trusted = NULL;
        s->n_scopes = s->n_trusted = 0;
}

int settings_copy(Settings *dst, const Settings *src) {
        Settings c = *src;

        c.scopes = NULL;
        c.trusted = NULL;
        c.n_scopes = c.n_trusted = 0;
        for (size_t i = 0; i < src->n_scopes; i++)
                if (settings_set_scope(&c, src->scopes[i].unit, src->scopes[i].profile) < 0)
                        goto oom;
        if (src->n_trusted > 0) {
                c.trusted = new0(TrustedSetting, src->n_trusted);
                if (!c.trusted)
                        goto oom;
                for (; c.n_trusted < src->n_trusted; c.n_trusted++) {
                        TrustedSetting *t = &c.trusted[c.n_trusted];

                        t->path = strdup(src->trusted[c.n_trusted].path);
                        t->source = strdup(strempty(src->trusted[c.n_trusted].source));
                        if (!t->path || !t->source) {
                                c.n_trusted++;
                                goto oom;
                        }
                }
        }
        *dst = c;
        return 0;
oom:
        settings_done(&c);
        return -ENOMEM;
}

int settings_scope_profile(const Settings *s, const char *unit) {
        for (size_t i = 0; i < s->n_scopes; i++)
                if (streq(s->scopes[i].unit, unit))
                        return s->scopes[i].profile;
        return 0;
}

/* A removal is kept as profile 0 while parsing, so that a later file can
 * remove what an earlier one set; conf_load() drops those at the end. */
int settings_set_scope(Settings *s, const char *unit, int profile) {
        ScopeSetting *v;

        for (size_t i = 0; i < s->n_scopes; i++)
                if (streq(s->scopes[i].unit, unit)) {
                        s->scopes[i].profile = profile;
                        return 0;
                }
        v = realloc(s->scopes, (s->n_scopes + 1) * sizeof(ScopeSetting));
        if (!v)
                return -ENOMEM;
        s->scopes = v;
        v[s->n_scopes] = (ScopeSetting) { .unit = strdup(unit), .profile = profile };
        if (!v[s->n_scopes].unit)
                return -ENOMEM;
        s->n_scopes++;
        return 0;
}

static void settings_drop_removed_scopes(Settings *s) {
        size_t j = 0;

        for (size_t i = 0; i < s->n_scopes; i++)
                if (s->scopes[i].profile > 0)
                        s->scopes[j++] = s->scopes[i];
                else
                        free(s->scopes[i].unit);
        s->n_scopes = j;
}

static int trusted_add(Settings *s, const char *path, const char *fname, unsigned line) {
        TrustedSetting *v, *t;

        v = realloc(s->trusted, (s->n_trusted + 1) * sizeof(TrustedSetting));
        if (!v)
                return -ENOMEM;
        s->trusted = v;
        t = &v[s->n_trusted];
        *t = (TrustedSetting) { .path = strdup(path) };
        if (!t->path || asprintf(&t->source, "%s:%u", fname, line) < 0) {
                free(t->path);
                return -ENOMEM;
        }
        s->n_trusted++;
        return 0;
}

static void trusted_reset(Settings *s) {
        for (size_t i = 0; i < s->n_trusted; i++) {
                free(s->trusted[i].path);
                free(s->trusted[i].source);
        }
        s->n_trusted = 0;
}

/* The parser's state within one file. */
typedef enum Section {
        SECTION_NONE,
        SECTION_FILELESS,
        SECTION_SCOPE,
} Section;

typedef struct Parser {
        Settings s;
        const char *fname;
        char **ret_error;
        Section section;
        unsigned section_line;
        char *scope_unit;  /* [Scope]: Unit= so far */
        int scope_profile; /* -1: no Profile= yet; 0: empty, the scope is removed */
} Parser;

/* FORMAT has one %s, for VALUE, escaped and cut: the file may hold anything,
 * the terminal or journal showing the error must not receive it raw. */
static int parser_error(Parser *p, unsigned line, const char *format, const char *value) {
        _cleanup_free_ char *q = escape_excerpt(value, VALUE_SHOWN_MAX), *msg = NULL;

        if (!q)
                return -ENOMEM;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (asprintf(&msg, format, q) < 0)
                return -ENOMEM;
#pragma GCC diagnostic pop
        return conf_error(p->ret_error, p->fname, line, "%s", msg);
}

/* The end of a [Scope] section: both keys given, then it takes effect. */
static int scope_finish(Parser *p) {
        int r;

        if (p->section != SECTION_SCOPE)
                return 0;
        if (!p->scope_unit || p->scope_profile < 0)
                r = conf_error(p->ret_error, p->fname, p->section_line, "[Scope] needs Unit= and Profile= "
                               "(an empty Profile= removes the unit's scope)");
        else
                r = settings_set_scope(&p->s, p->scope_unit, p->scope_profile);
        p->scope_unit = mfree(p->scope_unit);
        p->scope_profile = -1;
        return r;
}

static int parse_scope_key(Parser *p, unsigned line, const char *key, const char *value) {
        int v;

        if (streq(key, "Unit")) {
                if (!unit_name_is_scope(value))
                        return parser_error(p, line,
                                            "invalid Unit=\"%s\", expected the name of a systemd unit with "
                                            "processes (" SCOPE_UNIT_SUFFIXES "), such as nginx.service or "
                                            "user.slice", value);
                free(p->scope_unit);
                p->scope_unit = strdup(value);
                return p->scope_unit ? 0 : -ENOMEM;
        }
        if (streq(key, "Profile")) {
                v = isempty(value) ? 0 : profile_from_string(value);
                if (v < 0)
                        return parser_error(p, line, "invalid Profile=\"%s\", valid profiles are "
                                            PROFILE_VALID_NAMES, value);
                p->scope_profile = v;
                return 0;
        }
        return parser_error(p, line, "unknown key \"%s\" in section [Scope], known keys are Unit, Profile", key);
}

/* Absolute, and no "//", "." or ".." component anywhere (nor a trailing one). */
static bool path_is_normalized(const char *p) {
        if (p[0] != '/')
                return false;
        for (const char *c = p; *c; c++) {
                size_t n;

                if (*c != '/')
                        continue;
                n = strcspn(c + 1, "/");
                if ((n == 0 && c[1] == '/') || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
                        return false;
        }
        return true;
}

static int parse_fileless_key(Parser *p, unsigned line, const char *key, const char *value) {
        static const Settings defaults = SETTINGS_DEFAULT;
        const ConfKey *k;

        /* Repeatable, a list as in systemd's own files: an empty value resets it. */
        if (streq(key, "TrustedExecutable")) {
                if (isempty(value)) {
                        trusted_reset(&p->s);
                        return 0;
                }
                if (!path_is_normalized(value))
                        return parser_error(p, line, "invalid TrustedExecutable=\"%s\", expected an absolute, "
                                            "normalized path", value);
                return trusted_add(&p->s, value, p->fname, line);
        }
        k = conf_key_find(key);
        if (!k)
                /* Unknown keys are errors, not warnings: a misspelt
                 * "Profil=restricted" ignored would leave the machine less
                 * protected than its administrator believes. */
                return parser_error(p, line,
                                    "unknown key \"%s\" in section [" CONF_SECTION "], known keys are Profile, "
                                    "Backend, RateLimitIntervalSec, RateLimitBurst, TracepointMappings, "
                                    "Seal, TrustedExecutable", key);
        if (isempty(value)) {
                memcpy((char *) &p->s + k->offset, (const char *) &defaults + k->offset, k->size);
                return 0;
        }
        if (k->parse(value, (char *) &p->s + k->offset) < 0) {
                _cleanup_free_ char *format = NULL;

                if (asprintf(&format, "invalid %s=\"%%s\", %s", k->name, k->expected) < 0)
                        return -ENOMEM;
                return parser_error(p, line, format, value);
        }
        return 0;
}

static int parse_section(Parser *p, unsigned line, char *l) {
        size_t len = strlen(l);
        int r;

        if (l[len - 1] != ']')
                return parser_error(p, line, "invalid section header \"%s\"", l);
        l[len - 1] = 0;
        r = scope_finish(p);
        if (r < 0)
                return r;
        if (streq(l + 1, CONF_SECTION))
                p->section = SECTION_FILELESS;
        else if (streq(l + 1, "Scope"))
                p->section = SECTION_SCOPE;
        else
                return parser_error(p, line, "unknown section [%s], expected [" CONF_SECTION "] or [Scope]", l + 1);
        p->section_line = line;
        return 0;
}

static int parse_line(Parser *p, unsigned line, char *l) {
        char *eq, *key, *value;

        if (*l == '[')
                return parse_section(p, line, l);
        eq = strchr(l, '=');
        if (!eq)
                return parser_error(p, line, "expected Key=Value, got \"%s\"", l);
        if (p->section == SECTION_NONE)
                return conf_error(p->ret_error, p->fname, line,
                                  "assignment outside of a section, expected [" CONF_SECTION "] first");
        *eq = 0;
        key = strstrip(l);
        value = strstrip(eq + 1);
        return p->section == SECTION_SCOPE ? parse_scope_key(p, line, key, value)
                                           : parse_fileless_key(p, line, key, value);
}

int conf_parse(FILE *f, const char *fname, Settings *settings, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        Parser p = { .fname = fname, .ret_error = ret_error, .scope_profile = -1 };
        size_t size = 0;
        unsigned line = 0;
        ssize_t n;
        int r;

        r = settings_copy(&p.s, settings);
        if (r < 0)
                return r;
        while ((n = getline(&buf, &size, f)) >= 0) {
                char *l;

                line++;
                if (strlen(buf) != (size_t) n) {
                        r = conf_error(ret_error, fname, line, "line contains a NUL byte");
                        goto finish;
                }
                l = strstrip(buf);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;
                r = parse_line(&p, line, l);
                if (r < 0)
                        goto finish;
        }
        if (ferror(f))
                r = conf_error(ret_error, fname, line + 1, "read error: %s", strerror(errno));
        else
                r = scope_finish(&p);
finish:
        free(p.scope_unit);
        if (r < 0) {
                settings_done(&p.s);
                return r;
        }
        settings_done(settings);
        *settings = p.s;
        return 0;
}

int conf_parse_path(const char *path, Settings *settings, char **ret_error, bool missing_ok) {
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

int conf_dropins_foreach(const char *path, int (*fn)(const char *dropin, const char *name, void *userdata),
                         void *userdata, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        int n, r = 0;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        n = scandir(dir, &list, dropin_filter, alphasort);
        if (n < 0) {
                r = -errno;
                if (r == -ENOENT || r == -ENOTDIR)
                        return 0;
                (void) conf_error(ret_error, dir, 0, "cannot read directory: %s", strerror(-r));
                return r;
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
        LoadState st = { .ret_error = ret_error };
        int r;

        r = settings_copy(&st.settings, settings);
        if (r < 0)
                return r;
        r = conf_parse_path(path, &st.settings, ret_error, true);
        if (r >= 0)
                r = conf_dropins_foreach(path, load_one, &st, ret_error);
        if (r < 0) {
                settings_done(&st.settings);
                return r;
        }
        settings_drop_removed_scopes(&st.settings);
        settings_done(settings);
        *settings = st.settings;
        return 0;
}
