/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* conf_parse() on arbitrary bytes as the contents of a configuration file
 * (through fmemopen(), NUL bytes included). Invariants, from conf.h and the
 * README:
 *  - the result is 0 or -EINVAL;
 *  - success: *ret_error is left alone, the settings are valid enum values,
 *    and what the file does not set keeps the value it had: the file is
 *    parsed twice, from two different starting settings (with scopes and
 *    trusted executables of their own), and each result is what the
 *    reference parser below gives from that start, lists included (scopes
 *    in order, set or replaced, an empty Profile= kept as a removal of
 *    profile 0; trusted executables in order, each with "FILE:LINE", an
 *    empty value resetting the list);
 *  - failure: the settings are untouched, lists included ("Nothing is
 *    applied to *settings unless the whole file is valid"), *ret_error is
 *    "FILE:LINE: problem" with LINE a line of the input, printable valid
 *    UTF-8 without deceptive code points (user bytes go through
 *    escape_excerpt() since 5c285e6: valid UTF-8 stays, the rest is \xNN or
 *    \uXXXX; it was all \xNN before), bounded in length (a value is cut at
 *    64 bytes), the same for both runs; an error string already there is
 *    replaced, not leaked;
 *  - the second run's file name is a drop-in's an attacker with write access
 *    to the directory might choose (escape sequence, newline, quote, C1
 *    control, bidi override, invalid byte): FILE is it escaped (conf_error(),
 *    since commit 9249250), as written out by hand here;
 *  - the outcome (which error on which line, or which settings) is what a
 *    reference parser written here from the README's description gives:
 *    sections [Fileless] and [Scope] (since f59016a); in [Fileless] the keys
 *    Profile=, Backend= (fmod_ret since 5c285e6), RateLimitIntervalSec=,
 *    RateLimitBurst=, TracepointMappings= (yes/no, true/false, on/off, 1/0)
 *    and TrustedExecutable= (an absolute, normalized path; a list) only, an
 *    empty value resets the default; in [Scope] Unit= (a unit with
 *    processes, names.h) and Profile= (empty: the scope is removed), both
 *    required, a missing one reported on the section header's line when the
 *    section ends (at the next valid-looking header or the end of the file),
 *    a bad value on its own line; names exact and case-sensitive, '#' and
 *    ';' comments, surrounding white space ignored, a NUL byte is an error.
 *    A key added to conf.c without being added here shows up as a
 *    disagreement: add it.
 * LeakSanitizer checks that nothing leaks on either path. */

#include <errno.h>

#include "conf.h"
#include "fuzz-common.h"
#include "util.h"

#define FNAME "fuzz.conf"
/* A drop-in name with ESC [2J, a newline, a quote, CSI (U+009B), an RLO
 * (U+202E), UTF-8 and 0xff. */
#define FNAME2 "conf.d/50-\x1b[2J\n\"x\xc2\x9b\xe2\x80\xae\xc3\xa9\xff.conf"
/* How errors must show it (escape.h): control characters and invalid bytes
 * as \xNN, deceptive code points as \uXXXX, backslash and quote escaped,
 * other UTF-8 as it is. */
#define FNAME2_SHOWN "conf.d/50-\\x1b[2J\\n\\\"x\\u009b\\u202e\xc3\xa9\\xff.conf"
/* The longest message conf.c writes is about 200 bytes (the Unit= error)
 * and ":LINE: ", plus a quoted key or value of at most 64 bytes, each escaped
 * in at most 4, and "...": anything longer means the cut broke. */
#define ERROR_MAX(shown) (sizeof(shown) + 12 + 200 + 64 * 4 + 3)

static bool ref_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* [*b, *e) without the white space on either side. */
static void ref_strip(const char **b, const char **e) {
        while (*b < *e && ref_space(**b))
                (*b)++;
        while (*e > *b && ref_space((*e)[-1]))
                (*e)--;
}

static bool ref_eq(const char *b, const char *e, const char *s) {
        return (size_t) (e - b) == strlen(s) && memcmp(b, s, e - b) == 0;
}

/* filelesslockd.conf(5): "a number of seconds, optionally followed by s,
 * sec, ms or min, at most a day". */
static bool ref_interval(const char *b, const char *e, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = { { "", 1000000 }, { "s", 1000000 }, { "sec", 1000000 }, { "ms", 1000 }, { "min", 60000000 } };
        uint64_t n = 0;
        bool big = false;

        if (b == e || *b < '0' || *b > '9')
                return false;
        for (; b < e && *b >= '0' && *b <= '9'; b++) {
                n = n * 10 + (uint64_t) (*b - '0');
                if (n > 100000000000ULL)
                        big = true, n = 100000000000ULL;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (ref_eq(b, e, units[i].suffix)) {
                        if (big || n * units[i].usec > 86400ULL * 1000000ULL)
                                return false;
                        *ret = n * units[i].usec;
                        return true;
                }
        return false;
}

/* "a number from 0 to 1000000", leading zeros taken (as before 5c285e6 and
 * again since 672f029). */
static bool ref_burst(const char *b, const char *e, unsigned *ret) {
        uint64_t n = 0;

        if (b == e)
                return false;
        for (; b < e; b++) {
                if (*b < '0' || *b > '9')
                        return false;
                n = n * 10 + (uint64_t) (*b - '0');
                if (n > 1000000)
                        return false;
        }
        *ret = (unsigned) n;
        return true;
}

static bool ref_profile(const char *b, const char *e, int *ret) {
        if (ref_eq(b, e, "allow") || ref_eq(b, e, "none") || ref_eq(b, e, "privileged"))
                *ret = FL_PROFILE_ALLOW;
        else if (ref_eq(b, e, "baseline"))
                *ret = FL_PROFILE_BASELINE;
        else if (ref_eq(b, e, "restricted"))
                *ret = FL_PROFILE_RESTRICTED;
        else
                return false;
        return true;
}

static bool ref_bool(const char *b, const char *e, int *ret) {
        if (ref_eq(b, e, "yes") || ref_eq(b, e, "true") || ref_eq(b, e, "on") || ref_eq(b, e, "1"))
                *ret = 1;
        else if (ref_eq(b, e, "no") || ref_eq(b, e, "false") || ref_eq(b, e, "off") || ref_eq(b, e, "0"))
                *ret = 0;
        else
                return false;
        return true;
}

/* names.h: "NAME.service, .socket, .mount, .swap, .slice or .scope, NAME
 * made of letters, digits and ":-_.@\\", at most 255 characters in all; a
 * template (foo@.service) has no processes". */
static bool ref_unit(const char *b, const char *e) {
        static const char *const suffixes[] = { ".service", ".socket", ".mount", ".swap", ".slice", ".scope" };
        size_t n = (size_t) (e - b);

        if (n == 0 || n > 255)
                return false;
        for (const char *p = b; p < e; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      (*p && strchr(":-_.@\\", *p))))
                        return false;
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                size_t k = strlen(suffixes[i]);

                if (n > k && memcmp(e - k, suffixes[i], k) == 0)
                        return e[-(ptrdiff_t) k - 1] != '@';
        }
        return false;
}

/* "an absolute, normalized path": from '/', no empty, "." or ".."
 * component; a trailing '/' is no component (as in systemd's
 * path_is_normalized()). */
static bool ref_normalized(const char *b, const char *e) {
        if (b == e || *b != '/')
                return false;
        for (const char *c = b + 1; c < e;) {
                const char *end = memchr(c, '/', e - c);

                if (!end)
                        end = e;
                if (end == c) /* "//" */
                        return false;
                if (ref_eq(c, end, ".") || ref_eq(c, end, "..")) /* anywhere, the last one too */
                        return false;
                c = end + 1;
        }
        return true;
}

/* Settings, as the reference parser keeps them: its own lists. */
typedef struct RefScope {
        char *unit;
        int profile;
} RefScope;

typedef struct RefTrusted {
        char *path;
        char *source;
} RefTrusted;

typedef struct Ref {
        int r;
        unsigned line; /* on error */
        Settings s;    /* the scalar fields only */
        RefScope *scopes;
        size_t n_scopes;
        RefTrusted *trusted;
        size_t n_trusted;
} Ref;

static void ref_done(Ref *ref) {
        for (size_t i = 0; i < ref->n_scopes; i++)
                free(ref->scopes[i].unit);
        for (size_t i = 0; i < ref->n_trusted; i++) {
                free(ref->trusted[i].path);
                free(ref->trusted[i].source);
        }
        free(ref->scopes);
        free(ref->trusted);
        *ref = (Ref) {};
}

static void ref_set_scope(Ref *ref, const char *unit, int profile) {
        for (size_t i = 0; i < ref->n_scopes; i++)
                if (streq(ref->scopes[i].unit, unit)) {
                        ref->scopes[i].profile = profile;
                        return;
                }
        ref->scopes = realloc(ref->scopes, (ref->n_scopes + 1) * sizeof(RefScope));
        if (!ref->scopes)
                abort();
        ref->scopes[ref->n_scopes++] = (RefScope) { .unit = strdup(unit), .profile = profile };
        if (!ref->scopes[ref->n_scopes - 1].unit)
                abort();
}

static void ref_add_trusted(Ref *ref, const char *b, const char *e, const char *source) {
        ref->trusted = realloc(ref->trusted, (ref->n_trusted + 1) * sizeof(RefTrusted));
        if (!ref->trusted)
                abort();
        ref->trusted[ref->n_trusted++] = (RefTrusted) { .path = strndup(b, e - b), .source = strdup(source) };
        if (!ref->trusted[ref->n_trusted - 1].path || !ref->trusted[ref->n_trusted - 1].source)
                abort();
}

static void ref_reset_trusted(Ref *ref) {
        for (size_t i = 0; i < ref->n_trusted; i++) {
                free(ref->trusted[i].path);
                free(ref->trusted[i].source);
        }
        ref->n_trusted = 0;
}

/* The starting settings of the two runs, with lists of their own. */
typedef struct Start {
        Settings s;
        const char *const *scopes; /* unit, profile name, ..., NULL */
        const char *const *trusted; /* path, source, ..., NULL */
} Start;

static const Start starts[2] = {
        { .s = { .profile = FL_PROFILE_ALLOW, .backend = FL_BACKEND_CHOICE_LSM, .rate_limit_interval_usec = 1,
                 .rate_limit_burst = 1, .tracepoint_mappings = 0 },
          .scopes = (const char *const[]) { "a.service", "allow", NULL },
          .trusted = (const char *const[]) { "/start/one", "start:1", NULL } },
        { .s = { .profile = FL_PROFILE_RESTRICTED, .backend = FL_BACKEND_CHOICE_TRACEPOINT,
                 .rate_limit_interval_usec = 2, .rate_limit_burst = 2, .tracepoint_mappings = 1 },
          .scopes = (const char *const[]) { "b.slice", "restricted", "a.service", "baseline", NULL },
          .trusted = (const char *const[]) { "/start/two", "start:7", "/start/three", "start:8", NULL } },
};

static void start_settings(const Start *st, Settings *ret) {
        size_t n = 0;

        *ret = st->s;
        for (const char *const *p = st->scopes; *p; p += 2)
                if (settings_set_scope(ret, p[0], profile_from_string(p[1])) < 0)
                        abort();
        for (const char *const *p = st->trusted; *p; p += 2)
                n++;
        ret->trusted = calloc(n, sizeof(TrustedSetting));
        if (!ret->trusted)
                abort();
        for (const char *const *p = st->trusted; *p; p += 2) {
                ret->trusted[ret->n_trusted++] = (TrustedSetting) { .path = strdup(p[0]), .source = strdup(p[1]) };
                if (!ret->trusted[ret->n_trusted - 1].path || !ret->trusted[ret->n_trusted - 1].source)
                        abort();
        }
}

static void ref_parse(const char *data, size_t size, const char *fname, const Start *st, Ref *ret) {
        static const Settings defaults = SETTINGS_DEFAULT;
        const char *p = data, *end = data + size;
        enum { NONE, FILELESS, SCOPE } section = NONE;
        char *scope_unit = NULL;
        int scope_profile = -1;
        unsigned line = 0, section_line = 0;
        Ref ref = { .r = -EINVAL, .s = st->s };

        for (const char *const *q = st->scopes; *q; q += 2)
                ref_set_scope(&ref, q[0], profile_from_string(q[1]));
        for (const char *const *q = st->trusted; *q; q += 2)
                ref_add_trusted(&ref, q[0], q[0] + strlen(q[0]), q[1]);

/* The end of a [Scope] section: both keys, or an error on its header's line. */
#define REF_SCOPE_END()                                                          \
        do {                                                                     \
                if (section == SCOPE) {                                          \
                        if (!scope_unit || scope_profile < 0) {                  \
                                line = section_line;                             \
                                goto fail;                                       \
                        }                                                        \
                        ref_set_scope(&ref, scope_unit, scope_profile);          \
                        free(scope_unit);                                        \
                        scope_unit = NULL;                                       \
                        scope_profile = -1;                                      \
                }                                                                \
        } while (0)

        while (p < end) {
                const char *nl = memchr(p, '\n', end - p), *b = p, *e = nl ? nl + 1 : end, *eq;
                const char *kb, *ke, *vb, *ve;

                line++;
                p = e;
                if (memchr(b, 0, e - b))
                        goto fail;
                ref_strip(&b, &e);
                if (b == e || *b == '#' || *b == ';')
                        continue;
                if (*b == '[') {
                        if (e[-1] != ']')
                                goto fail;
                        REF_SCOPE_END();
                        if (e - b >= 2 && ref_eq(b + 1, e - 1, "Fileless"))
                                section = FILELESS;
                        else if (e - b >= 2 && ref_eq(b + 1, e - 1, "Scope"))
                                section = SCOPE, section_line = line;
                        else
                                goto fail;
                        continue;
                }
                eq = memchr(b, '=', e - b);
                if (!eq || section == NONE)
                        goto fail;
                kb = b, ke = eq, vb = eq + 1, ve = e;
                ref_strip(&kb, &ke);
                ref_strip(&vb, &ve);
                if (section == SCOPE) {
                        if (ref_eq(kb, ke, "Unit")) {
                                if (!ref_unit(vb, ve))
                                        goto fail;
                                free(scope_unit);
                                scope_unit = strndup(vb, ve - vb);
                                if (!scope_unit)
                                        abort();
                        } else if (ref_eq(kb, ke, "Profile")) {
                                if (vb == ve)
                                        scope_profile = 0;
                                else if (!ref_profile(vb, ve, &scope_profile))
                                        goto fail;
                        } else
                                goto fail;
                        continue;
                }
                if (ref_eq(kb, ke, "TrustedExecutable")) {
                        char *source;

                        if (vb == ve) {
                                ref_reset_trusted(&ref);
                                continue;
                        }
                        if (!ref_normalized(vb, ve))
                                goto fail;
                        if (asprintf(&source, "%s:%u", fname, line) < 0)
                                abort();
                        ref_add_trusted(&ref, vb, ve, source);
                        free(source);
                } else if (ref_eq(kb, ke, "Profile")) {
                        if (vb == ve)
                                ref.s.profile = defaults.profile;
                        else if (!ref_profile(vb, ve, &ref.s.profile))
                                goto fail;
                } else if (ref_eq(kb, ke, "Backend")) {
                        if (vb == ve || ref_eq(vb, ve, "auto"))
                                ref.s.backend = FL_BACKEND_CHOICE_AUTO;
                        else if (ref_eq(vb, ve, "lsm"))
                                ref.s.backend = FL_BACKEND_CHOICE_LSM;
                        else if (ref_eq(vb, ve, "tracepoint"))
                                ref.s.backend = FL_BACKEND_CHOICE_TRACEPOINT;
                        else if (ref_eq(vb, ve, "fmod_ret"))
                                ref.s.backend = FL_BACKEND_CHOICE_FMOD_RET;
                        else
                                goto fail;
                } else if (ref_eq(kb, ke, "RateLimitIntervalSec")) {
                        if (vb == ve)
                                ref.s.rate_limit_interval_usec = 10 * 1000000ULL;
                        else if (!ref_interval(vb, ve, &ref.s.rate_limit_interval_usec))
                                goto fail;
                } else if (ref_eq(kb, ke, "RateLimitBurst")) {
                        if (vb == ve)
                                ref.s.rate_limit_burst = 100;
                        else if (!ref_burst(vb, ve, &ref.s.rate_limit_burst))
                                goto fail;
                } else if (ref_eq(kb, ke, "TracepointMappings")) {
                        if (vb == ve)
                                ref.s.tracepoint_mappings = 0;
                        else if (!ref_bool(vb, ve, &ref.s.tracepoint_mappings))
                                goto fail;
                } else
                        goto fail;
        }
        line++; /* the end of the file, for the last section */
        REF_SCOPE_END();
#undef REF_SCOPE_END
        ref.r = 0;
        *ret = ref;
        return;
fail:
        free(scope_unit);
        ref_done(&ref);
        *ret = (Ref) { .r = -EINVAL, .line = line };
}

static bool scalars_equal(const Settings *a, const Settings *b) {
        return a->profile == b->profile && a->backend == b->backend &&
               a->rate_limit_interval_usec == b->rate_limit_interval_usec &&
               a->rate_limit_burst == b->rate_limit_burst && a->tracepoint_mappings == b->tracepoint_mappings;
}

/* S is REF, lists included. */
static void check_settings(const char *what, const Settings *s, const Ref *ref, const char *data, size_t size) {
        if (!scalars_equal(s, &ref->s)) {
                fuzz_dump("input", data, size);
                FUZZ_FAIL("%s: conf_parse() gives profile %d backend %d interval %llu burst %u mappings %d, the "
                          "reference parser %d %d %llu %u %d",
                          what, s->profile, s->backend, (unsigned long long) s->rate_limit_interval_usec,
                          s->rate_limit_burst, s->tracepoint_mappings, ref->s.profile, ref->s.backend,
                          (unsigned long long) ref->s.rate_limit_interval_usec, ref->s.rate_limit_burst,
                          ref->s.tracepoint_mappings);
        }
        if (s->n_scopes != ref->n_scopes) {
                fuzz_dump("input", data, size);
                FUZZ_FAIL("%s: %zu scopes, the reference parser has %zu", what, s->n_scopes, ref->n_scopes);
        }
        for (size_t i = 0; i < s->n_scopes; i++)
                if (!streq(s->scopes[i].unit, ref->scopes[i].unit) || s->scopes[i].profile != ref->scopes[i].profile) {
                        fuzz_dump("input", data, size);
                        fuzz_dump("unit", s->scopes[i].unit, strlen(s->scopes[i].unit));
                        fuzz_dump("reference unit", ref->scopes[i].unit, strlen(ref->scopes[i].unit));
                        FUZZ_FAIL("%s: scope %zu has profile %d, the reference parser's %d", what, i,
                                  s->scopes[i].profile, ref->scopes[i].profile);
                }
        if (s->n_trusted != ref->n_trusted) {
                fuzz_dump("input", data, size);
                FUZZ_FAIL("%s: %zu trusted executables, the reference parser has %zu", what, s->n_trusted,
                          ref->n_trusted);
        }
        for (size_t i = 0; i < s->n_trusted; i++)
                if (!streq(s->trusted[i].path, ref->trusted[i].path) ||
                    !streq(s->trusted[i].source, ref->trusted[i].source)) {
                        fuzz_dump("input", data, size);
                        fuzz_dump("path", s->trusted[i].path, strlen(s->trusted[i].path));
                        fuzz_dump("source", s->trusted[i].source, strlen(s->trusted[i].source));
                        fuzz_dump("reference path", ref->trusted[i].path, strlen(ref->trusted[i].path));
                        fuzz_dump("reference source", ref->trusted[i].source, strlen(ref->trusted[i].source));
                        FUZZ_FAIL("%s: trusted executable %zu differs from the reference parser's", what, i);
                }
}

static int run(const char *copy, size_t size, const char *fname, Settings *s, char **error) {
        FILE *f = fmemopen((void *) copy, size, "r");
        int r;

        if (!f)
                abort();
        r = conf_parse(f, fname, s, error);
        fclose(f);
        return r;
}

/* ERROR must be "SHOWN:LINE: problem"; returns where ":LINE" starts. */
static const char *check_error(const char *error, const char *shown, size_t error_max, const Ref *ref,
                               const char *data, size_t size) {
        const char *after = error + strlen(shown);
        unsigned long line;
        char *end;

        FUZZ_ASSERT(error);
        fuzz_check_text("error", error);
        FUZZ_ASSERT_STR(strlen(error) <= error_max, "error", error);
        if (strncmp(error, shown, strlen(shown)) != 0 || *after != ':') {
                fuzz_dump("error", error, strlen(error));
                fuzz_dump("expected file name", shown, strlen(shown));
                FUZZ_FAIL("the error does not start with the file name, escaped, and a colon");
        }
        line = strtoul(after + 1, &end, 10);
        FUZZ_ASSERT_STR(end > after + 1 && strncmp(end, ": ", 2) == 0 && end[2], "error", error);
        if (line != ref->line) {
                fuzz_dump("input", data, size);
                fuzz_dump("error", error, strlen(error));
                FUZZ_FAIL("error on line %lu, the reference parser fails on line %u", line, ref->line);
        }
        return after;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Settings s1, s2;
        char *copy, *error1 = NULL, *error2, *stale;
        const char *rest1, *rest2;
        Ref ref1, ref2;
        int r1, r2;

        /* A private copy: conf_parse() must not need the input to outlive it. */
        copy = malloc(size + 1);
        stale = error2 = strdup("stale error");
        if (!copy || !error2)
                abort();
        memcpy(copy, data, size);
        start_settings(&starts[0], &s1);
        start_settings(&starts[1], &s2);

        r1 = run(copy, size, FNAME, &s1, &error1);
        r2 = run(copy, size, FNAME2, &s2, &error2);
        ref_parse(copy, size, FNAME, &starts[0], &ref1);
        ref_parse(copy, size, FNAME2, &starts[1], &ref2);

        FUZZ_ASSERT(r1 == 0 || r1 == -EINVAL);
        FUZZ_ASSERT(r1 == r2);
        FUZZ_ASSERT(ref1.r == ref2.r && ref1.line == ref2.line);
        if (r1 != ref1.r) {
                fuzz_dump("input", copy, size);
                if (error1)
                        fuzz_dump("error", error1, strlen(error1));
                FUZZ_FAIL("conf_parse() = %d, the reference parser says %d (line %u)", r1, ref1.r, ref1.line);
        }

        if (r1 == 0) {
                FUZZ_ASSERT(!error1);
                FUZZ_ASSERT(error2 == stale);
                FUZZ_ASSERT(profile_to_string(s1.profile) && profile_to_string(s2.profile));
                FUZZ_ASSERT(backend_choice_to_string(s1.backend) && backend_choice_to_string(s2.backend));
                FUZZ_ASSERT(s1.rate_limit_burst <= RATE_LIMIT_BURST_MAX);
                FUZZ_ASSERT(s1.rate_limit_interval_usec <= 86400ULL * 1000000ULL);
                FUZZ_ASSERT(s1.tracepoint_mappings == 0 || s1.tracepoint_mappings == 1);
                for (size_t i = 0; i < s1.n_scopes; i++)
                        FUZZ_ASSERT(s1.scopes[i].profile == 0 || profile_to_string(s1.scopes[i].profile));
                check_settings("first run", &s1, &ref1, copy, size);
                check_settings("second run", &s2, &ref2, copy, size);
        } else {
                Ref untouched1, untouched2;

                /* the starting settings, as the reference parser has them
                 * for an empty file */
                ref_parse("", 0, FNAME, &starts[0], &untouched1);
                ref_parse("", 0, FNAME2, &starts[1], &untouched2);
                check_settings("first run, failed", &s1, &untouched1, copy, size);
                check_settings("second run, failed", &s2, &untouched2, copy, size);
                ref_done(&untouched1);
                ref_done(&untouched2);
                rest1 = check_error(error1, FNAME, ERROR_MAX(FNAME), &ref1, copy, size);
                /* The stale string was replaced (ASan: no double free, LSan: no
                 * leak): it does not start with the file name. */
                FUZZ_ASSERT(error2);
                rest2 = check_error(error2, FNAME2_SHOWN, ERROR_MAX(FNAME2_SHOWN), &ref1, copy, size);
                FUZZ_ASSERT_STR(strcmp(rest1, rest2) == 0, "second error", error2);
        }

        settings_done(&s1);
        settings_done(&s2);
        ref_done(&ref1);
        ref_done(&ref2);
        free(error1);
        free(error2);
        free(copy);
        return 0;
}
