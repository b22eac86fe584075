/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* conf_load(): the main file, then PATH.d/ *.conf in lexical order, all or
 * nothing; scopes overridden and removed across the files (removals dropped
 * at the end), the TrustedExecutable= list across them, and the errors. */

#include "conf-test.h"

static void test_load_missing(void) {
        char *d = make_dir("missing"), *main_path = join(d, "fileless.conf"), *err = NULL;
        Settings s = { .profile = FL_PROFILE_RESTRICTED, .backend = FL_BACKEND_CHOICE_LSM };

        /* neither the file nor the directory exists */
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_LSM);

        /* file only */
        write_file(d, "fileless.conf", "[Fileless]\nProfile=allow\n");
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);

        /* PATH.d is a regular file, not a directory: treated as missing */
        write_file(d, "fileless.conf.d", "[Fileless]\nProfile=restricted\n");
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);

        free(main_path);
        free(d);
}

static void test_load_dropins_only(void) {
        char *d = make_dir("dropins-only"), *main_path = join(d, "fileless.conf"), *err = NULL;
        Settings s = SETTINGS_DEFAULT;

        free(make_dir("dropins-only/fileless.conf.d"));
        char *dd = join(d, "fileless.conf.d");
        write_file(dd, "50-x.conf", "[Fileless]\nBackend=tracepoint\n");

        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_TRACEPOINT);

        /* an empty drop-in directory changes nothing */
        char *d2 = make_dir("empty-dropins");
        char *main2 = join(d2, "fileless.conf");
        free(make_dir("empty-dropins/fileless.conf.d"));
        write_file(d2, "fileless.conf", "[Fileless]\nProfile=restricted\n");
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(conf_load(main2, &s, &err), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_AUTO);

        free(main2);
        free(d2);
        free(dd);
        free(main_path);
        free(d);
}

static void test_load_order(void) {
        char *d = make_dir("order"), *main_path = join(d, "fileless.conf"), *err = NULL;
        Settings s = SETTINGS_DEFAULT;

        write_file(d, "fileless.conf", "[Fileless]\nProfile=allow\nBackend=lsm\n");
        free(make_dir("order/fileless.conf.d"));
        char *dd = join(d, "fileless.conf.d");

        /* created out of order: the order must come from the names */
        write_file(dd, "20-b.conf", "[Fileless]\nProfile=restricted\n");
        write_file(dd, "10-a.conf", "[Fileless]\nProfile=baseline\nBackend=tracepoint\n");
        /* lexical, not numeric: "10-a" < "20-b" < "9-z" */
        write_file(dd, "9-z.conf", "[Fileless]\nBackend=auto\n");

        /* not drop-ins; each would fail to parse if it were read */
        write_file(dd, "30-c.conf.bak", "garbage\n");
        write_file(dd, "40-d.conf~", "garbage\n");
        write_file(dd, "50-e.CONF", "garbage\n");
        write_file(dd, "README", "garbage\n");
        write_file(dd, "conf", "garbage\n");
        write_file(dd, ".conf", "garbage\n");
        write_file(dd, ".60-hidden.conf", "garbage\n");
        write_file(dd, ".#99-editor.conf", "garbage\n");

        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_AUTO);

        /* the drop-ins override the main file even where it comes later alphabetically */
        write_file(dd, "00-first.conf", "[Fileless]\nProfile=allow\n");
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_AUTO);

        /* an empty assignment in a later drop-in resets to the default */
        write_file(dd, "99-reset.conf", "[Fileless]\nProfile=\n");
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        ASSERT_NULL(err);

        free(dd);
        free(main_path);
        free(d);
}

static void test_load_errors(void) {
        char *d = make_dir("errors"), *main_path = join(d, "fileless.conf"), *err = NULL, *expected;
        Settings s = { .profile = FL_PROFILE_ALLOW, .backend = FL_BACKEND_CHOICE_LSM };

        write_file(d, "fileless.conf", "[Fileless]\nProfile=restricted\n");
        free(make_dir("errors/fileless.conf.d"));
        char *dd = join(d, "fileless.conf.d");
        write_file(dd, "10-good.conf", "[Fileless]\nBackend=tracepoint\n");
        write_file(dd, "20-bad.conf", "# bad\n[Fileless]\nProfile=paranoid\n");
        write_file(dd, "30-good.conf", "[Fileless]\nProfile=baseline\n");

        /* the second drop-in is bad after a good first one: nothing is applied */
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), -EINVAL);
        ASSERT_TRUE(asprintf(&expected,
                             "%s/20-bad.conf:3: invalid Profile=\"paranoid\", valid profiles are " VALID_PROFILES,
                             dd) >= 0);
        ASSERT_STREQ(err, expected);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);
        free(expected);
        free(err), err = NULL;

        /* the main file is bad: it is named, the drop-ins do not matter */
        write_file(d, "fileless.conf", "[Fileless]\nBackend=lsm\nBackend=ebpf\n");
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), -EINVAL);
        ASSERT_TRUE(asprintf(&expected, "%s:3: invalid Backend=\"ebpf\", valid backends are " VALID_BACKENDS,
                             main_path) >= 0);
        ASSERT_STREQ(err, expected);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);
        free(expected);
        free(err), err = NULL;

        /* main file is a directory: an error, settings untouched */
        char *d2 = make_dir("errors-dir");
        char *main2 = make_dir("errors-dir/fileless.conf");
        ASSERT_TRUE(conf_load(main2, &s, &err) < 0);
        ASSERT_STARTSWITH(err, main2);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);
        free(err), err = NULL;

        /* and again without an error string */
        ASSERT_INT_EQ(conf_load(main_path, &s, NULL), -EINVAL);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);

        /* a drop-in whose name holds an escape sequence is named escaped */
        write_file(d, "fileless.conf", "[Fileless]\n");
        unlink_in(dd, "20-bad.conf");
        write_file(dd, "25-\x1b[2J.conf", "[Fileless]\nProfil=allow\n");
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), -EINVAL);
        ASSERT_TRUE(asprintf(&expected, "%s/25-\\x1b[2J.conf:2: unknown key \"Profil\"", dd) >= 0);
        ASSERT_STARTSWITH(err, expected);
        assert_printable(err);
        free(expected);
        free(err), err = NULL;

        free(main2);
        free(d2);
        free(dd);
        free(main_path);
        free(d);
}


static void assert_scopes(const Settings *s, const char *const *expected) {
        size_t n = 0;

        for (; expected[n]; n += 2) {
                if (n / 2 >= s->n_scopes)
                        TEST_FAIL("scope %s missing", expected[n]);
                ASSERT_STREQ(s->scopes[n / 2].unit, expected[n]);
                ASSERT_INT_EQ(s->scopes[n / 2].profile, profile_from_string(expected[n + 1]));
        }
        ASSERT_INT_EQ(s->n_scopes, n / 2);
}

/* A drop-in overrides an earlier file's scope, an empty Profile= removes
 * one, a later file may set it again; what is removed in the end is not in
 * the result (no scope of profile 0). */
static void test_load_scopes(void) {
        char *d = make_dir("scopes"), *main_path = join(d, "fileless.conf"), *dd = make_dir("scopes/fileless.conf.d");
        Settings s;

        write_file(d, "fileless.conf",
                   "[Fileless]\nProfile=baseline\n"
                   "[Scope]\nUnit=a.service\nProfile=restricted\n"
                   "[Scope]\nUnit=b.slice\nProfile=allow\n"
                   "[Scope]\nUnit=c.scope\nProfile=allow\n");
        load_ok(main_path, &s);
        assert_scopes(&s, (const char *const[]) { "a.service", "restricted", "b.slice", "allow", "c.scope", "allow",
                                                  NULL });
        settings_done(&s);

        write_file(dd, "10-a.conf", "[Scope]\nUnit=a.service\nProfile=baseline\n");
        write_file(dd, "20-remove-b.conf", "[Scope]\nUnit=b.slice\nProfile=\n");
        /* removing what nobody set is no error, and leaves nothing */
        write_file(dd, "30-remove-x.conf", "[Scope]\nUnit=x.service\nProfile=\n");
        write_file(dd, "40-c.conf", "[Scope]\nUnit=c.scope\nProfile=\n[Scope]\nUnit=d.socket\nProfile=restricted\n");
        load_ok(main_path, &s);
        assert_scopes(&s, (const char *const[]) { "a.service", "baseline", "d.socket", "restricted", NULL });
        ASSERT_INT_EQ(settings_scope_profile(&s, "b.slice"), 0);
        ASSERT_INT_EQ(s.profile, FL_PROFILE_BASELINE);
        settings_done(&s);

        /* removed, then set again by a later drop-in */
        write_file(dd, "50-b-again.conf", "[Scope]\nUnit=b.slice\nProfile=none\n");
        load_ok(main_path, &s);
        assert_scopes(&s, (const char *const[]) { "a.service", "baseline", "b.slice", "allow", "d.socket",
                                                  "restricted", NULL });
        settings_done(&s);

        /* a removal drops a scope the settings had before the load too */
        write_file(dd, "60-a-gone.conf", "[Scope]\nUnit=a.service\nProfile=\n");
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(settings_set_scope(&s, "a.service", FL_PROFILE_ALLOW), 0);
        ASSERT_INT_EQ(settings_set_scope(&s, "e.service", FL_PROFILE_ALLOW), 0);
        ASSERT_INT_EQ(conf_load(main_path, &s, NULL), 0);
        assert_scopes(&s, (const char *const[]) { "e.service", "allow", "b.slice", "allow", "d.socket", "restricted",
                                                  NULL });
        settings_done(&s);

        free(dd);
        free(main_path);
        free(d);
}

/* A broken [Scope] in a drop-in: named by the drop-in and the line, and
 * nothing of any file applies. */
static void test_load_scope_errors(void) {
        char *d = make_dir("scope-errors"), *main_path = join(d, "fileless.conf"),
             *dd = make_dir("scope-errors/fileless.conf.d"), *err = NULL, *expected;
        Settings s;

        write_file(d, "fileless.conf", "[Scope]\nUnit=a.service\nProfile=restricted\n");
        write_file(dd, "10-good.conf", "[Scope]\nUnit=b.service\nProfile=allow\n");
        write_file(dd, "20-bad.conf", "# no profile\n\n[Scope]\nUnit=c.service\n");
        settings_with_lists(&s);
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), -EINVAL);
        ASSERT_TRUE(asprintf(&expected, "%s/20-bad.conf:3: [Scope] needs Unit= and Profile= (an empty Profile= "
                                        "removes the unit's scope)", dd) > 0);
        ASSERT_STREQ(err, expected);
        free(expected);
        free(err), err = NULL;
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_TRACEPOINT);
        assert_lists_untouched(&s);

        write_file(dd, "20-bad.conf", "[Scope]\nUnit=c.target\nProfile=allow\n");
        ASSERT_INT_EQ(conf_load(main_path, &s, &err), -EINVAL);
        ASSERT_TRUE(asprintf(&expected, "%s/20-bad.conf:2: invalid Unit=\"c.target\", expected the name of a systemd "
                                        "unit with processes (.service, .socket, .mount, .swap, .slice, .scope), "
                                        "such as nginx.service or user.slice", dd) > 0);
        ASSERT_STREQ(err, expected);
        free(expected);
        free(err), err = NULL;
        assert_lists_untouched(&s);
        settings_done(&s);

        free(dd);
        free(main_path);
        free(d);
}

/* TrustedExecutable= across the files: each appends, an empty one resets
 * what came before it, in any file; each entry names its file and line. */
static void test_load_trusted(void) {
        char *d = make_dir("trusted"), *main_path = join(d, "fileless.conf"), *dd = make_dir("trusted/fileless.conf.d"),
             *source;
        Settings s;

        write_file(d, "fileless.conf", "[Fileless]\nTrustedExecutable=/usr/bin/a\n");
        write_file(dd, "10-b.conf", "# b\n[Fileless]\nTrustedExecutable=/usr/bin/b\n");
        load_ok(main_path, &s);
        ASSERT_INT_EQ(s.n_trusted, 2);
        ASSERT_STREQ(s.trusted[0].path, "/usr/bin/a");
        source = join(d, "fileless.conf:2");
        ASSERT_STREQ(s.trusted[0].source, source);
        free(source);
        ASSERT_STREQ(s.trusted[1].path, "/usr/bin/b");
        source = join(dd, "10-b.conf:3");
        ASSERT_STREQ(s.trusted[1].source, source);
        free(source);
        settings_done(&s);

        write_file(dd, "20-reset.conf", "[Fileless]\nTrustedExecutable=\nTrustedExecutable=/usr/bin/c\n");
        load_ok(main_path, &s);
        ASSERT_INT_EQ(s.n_trusted, 1);
        ASSERT_STREQ(s.trusted[0].path, "/usr/bin/c");
        source = join(dd, "20-reset.conf:3");
        ASSERT_STREQ(s.trusted[0].source, source);
        free(source);
        settings_done(&s);

        /* a later drop-in of other keys keeps the list */
        write_file(dd, "30-other.conf", "[Fileless]\nProfile=restricted\n");
        load_ok(main_path, &s);
        ASSERT_INT_EQ(s.n_trusted, 1);
        ASSERT_INT_EQ(s.profile, FL_PROFILE_RESTRICTED);
        settings_done(&s);

        free(dd);
        free(main_path);
        free(d);
}

static char *unreadable_main;

static void load_unreadable(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL, *expected;

        ASSERT_TRUE(asprintf(&expected, "%s.d: cannot read directory: %s", unreadable_main, strerror(EACCES)) > 0);
        ASSERT_INT_EQ(conf_load(unreadable_main, &s, &err), -EACCES);
        ASSERT_STREQ(err, expected);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(conf_load(unreadable_main, &s, NULL), -EACCES);
        free(expected);
        free(err);
}

/* A drop-in directory that cannot be read is an error that keeps its errno
 * (672f029; it was conf_error()'s -EINVAL), not a missing directory. */
static void test_load_unreadable_dropins(void) {
        char *d = make_dir("load-ro"), *dd = make_dir("load-ro/fileless.conf.d");

        unreadable_main = join(d, "fileless.conf");
        write_file(d, "fileless.conf", "[Fileless]\nProfile=allow\n");
        write_file(dd, "99-late.conf", "[Fileless]\nProfile=restricted\n");
        ASSERT_INT_EQ(chmod(tmp_root, 0755), 0);
        ASSERT_INT_EQ(chmod(dd, 0), 0);
        run_unprivileged(load_unreadable);
        ASSERT_INT_EQ(chmod(dd, 0755), 0);

        free(unreadable_main);
        free(dd);
        free(d);
}

int main(int argc, char **argv) {
        char tmpl[] = "/tmp/test-conf-load-XXXXXX";

        test_setup(argc, argv);
        tmp_setup(tmpl);
        TEST(test_load_missing);
        TEST(test_load_dropins_only);
        TEST(test_load_order);
        TEST(test_load_errors);
        TEST(test_load_scopes);
        TEST(test_load_scope_errors);
        TEST(test_load_trusted);
        TEST(test_load_unreadable_dropins);
        tmp_finish(tmpl);
        return test_finish();
}
