/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the test-conf*.c programs: parsing a string as a configuration
 * file, the exact errors, and a temporary directory for conf_load() and the
 * D-Bus drop-in. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* conf.h's SETTINGS_DEFAULT uses the enums from names.h. */
#include "names.h"
#include "conf.h"
#include "tests.h"

#define VALID_PROFILES "allow (or its aliases none, privileged), baseline, restricted"
#define VALID_BACKENDS "auto, lsm, fmod_ret, tracepoint"
/* The error for an unknown key in [Fileless]: the wording of 5c285e6, the
 * keys of 57a38bd and f59016a added. */
#define KNOWN_KEYS                                                                              \
        " in section [Fileless], known keys are Profile, Backend, RateLimitIntervalSec, "      \
        "RateLimitBurst, TracepointMappings, Seal, TrustedExecutable"
#define UNKNOWN_KEY(line, key) "test.conf:" #line ": unknown key \"" key "\"" KNOWN_KEYS
/* Likewise for a section: [Scope] is one since f59016a. */
#define UNKNOWN_SECTION(line, name) "test.conf:" #line ": unknown section [" name "], expected [Fileless] or [Scope]"

#define ASSERT_SETTINGS(s, p, b)                                        \
        do {                                                            \
                ASSERT_INT_EQ((s).profile, (p));                        \
                ASSERT_INT_EQ((s).backend, (b));                        \
        } while (0)

/* Parses LEN bytes of DATA as file "test.conf". */
static inline int parse_n(const char *data, size_t len, Settings *s, char **err) {
        FILE *f;
        int r;

        f = fmemopen((void *) data, len, "r");
        ASSERT_NOT_NULL(f);
        r = conf_parse(f, "test.conf", s, err);
        fclose(f);
        return r;
}

static inline int parse(const char *data, Settings *s, char **err) {
        return parse_n(data, strlen(data), s, err);
}

/* The message must be printable: nothing below 0x20, no DEL. */
static inline void assert_printable(const char *msg) {
        for (const unsigned char *p = (const unsigned char *) msg; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        TEST_FAIL("raw byte 0x%02x at offset %zu in \"%s\"", *p,
                                  (size_t) (p - (const unsigned char *) msg), msg);
}

/* Settings with one scope and one trusted executable already, as a file
 * parsed before leaves them. */
static inline void settings_with_lists(Settings *s) {
        *s = (Settings) { .profile = FL_PROFILE_ALLOW, .backend = FL_BACKEND_CHOICE_TRACEPOINT };
        ASSERT_INT_EQ(settings_set_scope(s, "keep.service", FL_PROFILE_RESTRICTED), 0);
        s->trusted = calloc(1, sizeof(TrustedSetting));
        ASSERT_NOT_NULL(s->trusted);
        s->trusted[0].path = strdup("/usr/bin/keep");
        s->trusted[0].source = strdup("before.conf:1");
        ASSERT_TRUE(s->trusted[0].path && s->trusted[0].source);
        s->n_trusted = 1;
}

static inline void assert_lists_untouched(const Settings *s) {
        ASSERT_INT_EQ(s->n_scopes, 1);
        ASSERT_STREQ(s->scopes[0].unit, "keep.service");
        ASSERT_INT_EQ(s->scopes[0].profile, FL_PROFILE_RESTRICTED);
        ASSERT_INT_EQ(s->n_trusted, 1);
        ASSERT_STREQ(s->trusted[0].path, "/usr/bin/keep");
        ASSERT_STREQ(s->trusted[0].source, "before.conf:1");
}

/* Parses DATA, expecting -EINVAL with exactly EXPECTED as the error and
 * *settings untouched, its lists included. */
static inline void assert_parse_error_n_at(const char *file, int line, const char *data, size_t len,
                                           const char *expected) {
        Settings s;
        char *err = NULL;
        int r;

        settings_with_lists(&s);
        r = parse_n(data, len, &s, &err);
        if (r != -EINVAL)
                TEST_FAIL("%s:%d: conf_parse() = %d, expected -EINVAL (%s)", file, line, r, expected);
        if (!err || strcmp(err, expected) != 0)
                TEST_FAIL("%s:%d: error \"%s\", expected \"%s\"", file, line, err ?: "(null)", expected);
        assert_printable(err);
        assert_text("error", err);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_TRACEPOINT);
        assert_lists_untouched(&s);
        free(err);

        /* also without an error string */
        ASSERT_INT_EQ(parse_n(data, len, &s, NULL), -EINVAL);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_TRACEPOINT);
        assert_lists_untouched(&s);
        settings_done(&s);
}
#define assert_parse_error_n(data, len, expected) \
        assert_parse_error_n_at(__FILE__, __LINE__, (data), (len), (expected))
#define assert_parse_error(data, expected) assert_parse_error_n_at(__FILE__, __LINE__, (data), strlen(data), (expected))

/* ---- A temporary directory, removed at exit ---- */

static char *tmp_root;

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

static inline void cleanup_tmp(void) {
        if (tmp_root) {
                nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(tmp_root);
                tmp_root = NULL;
        }
}

/* Makes the temporary root; TEMPLATE is a mkdtemp() template the caller
 * owns, checked by tmp_finish(). */
static inline void tmp_setup(char *template) {
        if (!mkdtemp(template))
                TEST_FAIL("mkdtemp: %m");
        tmp_root = strdup(template);
        ASSERT_NOT_NULL(tmp_root);
        atexit(cleanup_tmp);
}

static inline void tmp_finish(const char *template) {
        cleanup_tmp();
        if (access(template, F_OK) == 0)
                TEST_FAIL("%s was not removed", template);
}

/* Returns a fresh directory under the test's temporary root. */
static inline char *make_dir(const char *name) {
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", tmp_root, name) >= 0);
        if (mkdir(p, 0755) < 0)
                TEST_FAIL("mkdir %s: %m", p);
        return p;
}

static inline void write_file(const char *dir, const char *name, const char *content) {
        char *p;
        FILE *f;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) >= 0);
        f = fopen(p, "we");
        if (!f)
                TEST_FAIL("fopen %s: %m", p);
        ASSERT_TRUE(fputs(content, f) >= 0);
        ASSERT_INT_EQ(fclose(f), 0);
        free(p);
}

static inline void unlink_in(const char *dir, const char *name) {
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) >= 0);
        if (unlink(p) < 0)
                TEST_FAIL("unlink %s: %m", p);
        free(p);
}

static inline char *join(const char *a, const char *b) {
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", a, b) >= 0);
        return p;
}

static inline char *read_file(const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re");
        int c;

        if (!f)
                TEST_FAIL("fopen %s: %m", path);
        FILE *out = open_memstream(&buf, &size);
        ASSERT_NOT_NULL(out);
        while ((c = fgetc(f)) != EOF)
                fputc(c, out);
        fclose(f);
        ASSERT_INT_EQ(fclose(out), 0);
        return buf;
}

/* The names in DIR, sorted, comma-separated. */
static inline char *list_dir(const char *dir) {
        struct dirent **list = NULL;
        char *names = NULL;
        size_t size = 0;
        bool first = true;
        FILE *out;
        int n;

        n = scandir(dir, &list, NULL, alphasort);
        if (n < 0)
                TEST_FAIL("scandir %s: %m", dir);
        out = open_memstream(&names, &size);
        ASSERT_NOT_NULL(out);
        for (int i = 0; i < n; i++) {
                if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) {
                        fprintf(out, "%s%s", first ? "" : ",", list[i]->d_name);
                        first = false;
                }
                free(list[i]);
        }
        free(list);
        ASSERT_INT_EQ(fclose(out), 0);
        return names;
}

/* conf_load() of MAIN_PATH from the defaults, which must succeed. */
static inline void load_ok(const char *main_path, Settings *ret) {
        char *err = NULL;

        *ret = SETTINGS_DEFAULT;
        if (conf_load(main_path, ret, &err) < 0)
                TEST_FAIL("conf_load: %s", err);
        ASSERT_NULL(err);
}

static inline int load_profile(const char *main_path) {
        Settings s;
        int p;

        load_ok(main_path, &s);
        p = s.profile;
        settings_done(&s);
        return p;
}

/* Runs FN in a child without root's privileges: as nobody (65534) when we are
 * root, as we are otherwise, and returns its wait status. The child must not
 * clean up the parent's temporary directory on its way out. */
static inline int run_unprivileged_status(void (*fn)(void)) {
        int status;
        pid_t pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                tmp_root = NULL;
                if (geteuid() == 0) {
                        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                            setresuid(65534, 65534, 65534) < 0)
                                TEST_FAIL("cannot become nobody: %m");
                        /* LeakSanitizer traces the process at exit */
                        (void) prctl(PR_SET_DUMPABLE, 1);
                }
                ASSERT_TRUE(geteuid() != 0);
                fn();
                fflush(stdout);
                _exit(EXIT_SUCCESS);
        }
        ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
        return status;
}

static inline void run_unprivileged(void (*fn)(void)) {
        int status = run_unprivileged_status(fn);

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                TEST_FAIL("the unprivileged child failed (status 0x%x)", status);
}
