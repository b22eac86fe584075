/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* conf_parse() on what f59016a added: repeatable [Scope] sections (Unit=,
 * Profile=, both required, an empty Profile= removes the scope), the
 * TrustedExecutable= list of [Fileless] (an empty value resets it, each entry
 * remembers "FILE:LINE"), and the Settings helpers that own those lists. */

#include "conf-test.h"

#define SCOPE_NEEDS "[Scope] needs Unit= and Profile= (an empty Profile= removes the unit's scope)"
#define INVALID_UNIT(line, value)                                                                           \
        "test.conf:" #line ": invalid Unit=\"" value "\", expected the name of a systemd unit with processes " \
        "(.service, .socket, .mount, .swap, .slice, .scope), such as nginx.service or user.slice"
#define INVALID_TRUSTED(line, value) \
        "test.conf:" #line ": invalid TrustedExecutable=\"" value "\", expected an absolute, normalized path"

static void assert_scope(const Settings *s, size_t i, const char *unit, int profile) {
        if (i >= s->n_scopes)
                TEST_FAIL("scope %zu missing, expected %s", i, unit);
        ASSERT_STREQ(s->scopes[i].unit, unit);
        ASSERT_INT_EQ(s->scopes[i].profile, profile);
}

static void assert_trusted(const Settings *s, size_t i, const char *path, const char *source) {
        if (i >= s->n_trusted)
                TEST_FAIL("trusted executable %zu missing, expected %s", i, path);
        ASSERT_STREQ(s->trusted[i].path, path);
        ASSERT_STREQ(s->trusted[i].source, source);
}

static void test_scope_valid(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        ASSERT_INT_EQ(parse("[Scope]\nUnit=nginx.service\nProfile=restricted\n", &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_INT_EQ(s.n_scopes, 1);
        assert_scope(&s, 0, "nginx.service", FL_PROFILE_RESTRICTED);
        /* the machine-wide settings are [Fileless]'s */
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(settings_scope_profile(&s, "nginx.service"), FL_PROFILE_RESTRICTED);
        ASSERT_INT_EQ(settings_scope_profile(&s, "other.service"), 0);
        settings_done(&s);

        /* repeated, interleaved with [Fileless], keys in any order, white
         * space and comments, aliases, the same unit twice (the later wins) */
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(parse("# scopes\n"
                            "[Scope]\n"
                            "Profile = allow\n"
                            "  Unit =  user.slice  \n"
                            "[Fileless]\n"
                            "Profile=restricted\n"
                            "\n"
                            "[Scope]\n"
                            "; a comment\n"
                            "Unit=getty@tty1.service\n"
                            "Profile=none\n"
                            "[Scope]\r\n"
                            "Unit=user.slice\r\n"
                            "Profile=baseline\r\n"
                            "[Scope]\n"
                            "Unit=x.service\n"
                            "Unit=docker-1.scope\n"
                            "Profile=privileged\n",
                            &s, &err),
                      0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(s.n_scopes, 3);
        assert_scope(&s, 0, "user.slice", FL_PROFILE_BASELINE);
        assert_scope(&s, 1, "getty@tty1.service", FL_PROFILE_ALLOW);
        /* a second Unit= in one section replaces the first */
        assert_scope(&s, 2, "docker-1.scope", FL_PROFILE_ALLOW);
        ASSERT_INT_EQ(settings_scope_profile(&s, "x.service"), 0);
        settings_done(&s);
        ASSERT_INT_EQ(s.n_scopes, 0);
        ASSERT_NULL(s.scopes);

        /* every unit type with processes */
        static const char *const units[] = { "a.service", "a.socket", "a.mount", "a.swap", "-.slice", "a.scope" };
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                char buf[128];

                snprintf(buf, sizeof(buf), "[Scope]\nUnit=%s\nProfile=allow\n", units[i]);
                s = SETTINGS_DEFAULT;
                ASSERT_INT_EQ(parse(buf, &s, NULL), 0);
                ASSERT_INT_EQ(s.n_scopes, 1);
                assert_scope(&s, 0, units[i], FL_PROFILE_ALLOW);
                settings_done(&s);
        }
}

/* An empty Profile= removes the unit's scope: within a file it is kept as
 * profile 0, so that it can undo what an earlier file set (conf_load()
 * drops those at the end: test-conf-load.c). */
static void test_scope_removal(void) {
        Settings s = SETTINGS_DEFAULT;

        ASSERT_INT_EQ(parse("[Scope]\nUnit=a.service\nProfile=\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_scopes, 1);
        assert_scope(&s, 0, "a.service", 0);
        ASSERT_INT_EQ(settings_scope_profile(&s, "a.service"), 0);
        settings_done(&s);

        /* set, then removed later in the same file; white space only is empty */
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(parse("[Scope]\nUnit=a.service\nProfile=restricted\n[Scope]\nProfile =   \nUnit=a.service\n",
                            &s, NULL),
                      0);
        ASSERT_INT_EQ(s.n_scopes, 1);
        assert_scope(&s, 0, "a.service", 0);

        /* and set again by a later file */
        ASSERT_INT_EQ(parse("[Scope]\nUnit=a.service\nProfile=baseline\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_scopes, 1);
        assert_scope(&s, 0, "a.service", FL_PROFILE_BASELINE);
        settings_done(&s);
}

/* A later file overrides an earlier one's scope, adds its own, and leaves
 * the others alone. */
static void test_scope_override(void) {
        Settings s;

        settings_with_lists(&s);
        ASSERT_INT_EQ(parse("[Scope]\nUnit=b.service\nProfile=allow\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_scopes, 2);
        assert_scope(&s, 0, "keep.service", FL_PROFILE_RESTRICTED);
        assert_scope(&s, 1, "b.service", FL_PROFILE_ALLOW);
        ASSERT_INT_EQ(parse("[Scope]\nUnit=keep.service\nProfile=baseline\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_scopes, 2);
        assert_scope(&s, 0, "keep.service", FL_PROFILE_BASELINE);
        assert_scope(&s, 1, "b.service", FL_PROFILE_ALLOW);
        ASSERT_INT_EQ(parse("[Scope]\nUnit=keep.service\nProfile=\n", &s, NULL), 0);
        assert_scope(&s, 0, "keep.service", 0);
        /* a file of [Fileless] keys only keeps both lists */
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=restricted\nBackend=lsm\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_scopes, 2);
        assert_scope(&s, 1, "b.service", FL_PROFILE_ALLOW);
        ASSERT_INT_EQ(s.n_trusted, 1);
        assert_trusted(&s, 0, "/usr/bin/keep", "before.conf:1");
        settings_done(&s);
}

/* Errors name the line: of the section header when a key is missing (found
 * at the next section or the end of the file), of the key for a bad value. */
static void test_scope_errors(void) {
        assert_parse_error("[Scope]\nUnit=a.service\n", "test.conf:1: " SCOPE_NEEDS);
        assert_parse_error("[Fileless]\nProfile=allow\n\n[Scope]\nProfile=allow\n", "test.conf:4: " SCOPE_NEEDS);
        assert_parse_error("[Scope]\n", "test.conf:1: " SCOPE_NEEDS);
        assert_parse_error("# c\n[Scope]\n# nothing here\n\n", "test.conf:2: " SCOPE_NEEDS);
        assert_parse_error("[Scope]\nUnit=a.service\n[Fileless]\nProfile=allow\n", "test.conf:1: " SCOPE_NEEDS);
        assert_parse_error("[Scope]\n[Scope]\nUnit=a.service\nProfile=allow\n", "test.conf:1: " SCOPE_NEEDS);
        assert_parse_error("[Scope]\nUnit=a.service\nProfile=allow\n[Scope]\nUnit=b.service\n",
                           "test.conf:4: " SCOPE_NEEDS);
        assert_parse_error("[Scope]\nUnit=a.service\nProfile=allow\n\n[Scope]\nProfile=\n[Scope]\n",
                           "test.conf:5: " SCOPE_NEEDS);
        /* without a newline at the end */
        assert_parse_error("[Fileless]\n[Scope]\nProfile=restricted", "test.conf:2: " SCOPE_NEEDS);

        /* a bad value: the key's line, found at once */
        assert_parse_error("[Scope]\nUnit=nginx\nProfile=allow\n", INVALID_UNIT(2, "nginx"));
        assert_parse_error("[Scope]\nProfile=allow\nUnit=\n", INVALID_UNIT(3, ""));
        assert_parse_error("[Scope]\nUnit=getty@.service\nProfile=allow\n", INVALID_UNIT(2, "getty@.service"));
        assert_parse_error("[Scope]\nUnit=graphical.target\nProfile=allow\n", INVALID_UNIT(2, "graphical.target"));
        assert_parse_error("[Scope]\nUnit=a b.service\nProfile=allow\n", INVALID_UNIT(2, "a b.service"));
        assert_parse_error("[Scope]\nUnit=\x1b[2J\"x\".service\n", INVALID_UNIT(2, "\\x1b[2J\\\"x\\\".service"));
        assert_parse_error("[Scope]\nUnit=a.service\nProfile=paranoid\n",
                           "test.conf:3: invalid Profile=\"paranoid\", valid profiles are " VALID_PROFILES);
        assert_parse_error("[Scope]\nUnit=a.service\nProfile=Allow\n",
                           "test.conf:3: invalid Profile=\"Allow\", valid profiles are " VALID_PROFILES);
        /* ... before the missing key of the same section */
        assert_parse_error("[Scope]\nUnit=nginx\n", INVALID_UNIT(2, "nginx"));

        /* each section has its own keys */
        assert_parse_error("[Scope]\nUnit=a.service\nBackend=lsm\n",
                           "test.conf:3: unknown key \"Backend\" in section [Scope], known keys are Unit, Profile");
        assert_parse_error("[Scope]\nunit=a.service\nProfile=allow\n",
                           "test.conf:2: unknown key \"unit\" in section [Scope], known keys are Unit, Profile");
        assert_parse_error("[Fileless]\nUnit=a.service\n", UNKNOWN_KEY(2, "Unit"));
        assert_parse_error("[Scope]\nUnit=a.service\nProfile=allow\nTrustedExecutable=/usr/bin/x\n",
                           "test.conf:4: unknown key \"TrustedExecutable\" in section [Scope], known keys are Unit, "
                           "Profile");
        assert_parse_error("[scope]\n", UNKNOWN_SECTION(1, "scope"));
        assert_parse_error("[Scope ]\n", UNKNOWN_SECTION(1, "Scope "));
        assert_parse_error("Unit=a.service\n[Scope]\n",
                           "test.conf:1: assignment outside of a section, expected [Fileless] first");

        /* good sections before the bad one apply nothing (the lists of
         * *settings are checked untouched) */
        assert_parse_error("[Scope]\nUnit=a.service\nProfile=allow\n[Scope]\nUnit=keep.service\nProfile=x\n",
                           "test.conf:6: invalid Profile=\"x\", valid profiles are " VALID_PROFILES);
}

static void test_trusted(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        ASSERT_INT_EQ(s.n_trusted, 0);
        ASSERT_INT_EQ(parse("[Fileless]\n"
                            "TrustedExecutable=/usr/bin/java\n"
                            "# the JIT of an app\n"
                            "  TrustedExecutable =  /opt/My App/bin/app  \n"
                            "[Scope]\nUnit=a.service\nProfile=allow\n"
                            "[Fileless]\n"
                            "TrustedExecutable=/usr/lib/jvm/bin/java\n",
                            &s, &err),
                      0);
        ASSERT_NULL(err);
        ASSERT_INT_EQ(s.n_trusted, 3);
        /* in order, each with the file and line it came from */
        assert_trusted(&s, 0, "/usr/bin/java", "test.conf:2");
        assert_trusted(&s, 1, "/opt/My App/bin/app", "test.conf:4");
        assert_trusted(&s, 2, "/usr/lib/jvm/bin/java", "test.conf:9");
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);

        /* a later file appends */
        ASSERT_INT_EQ(parse("[Fileless]\nTrustedExecutable=/usr/bin/node\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_trusted, 4);
        assert_trusted(&s, 3, "/usr/bin/node", "test.conf:2");
        assert_trusted(&s, 0, "/usr/bin/java", "test.conf:2");

        /* an empty value resets the list, earlier files' entries included;
         * what follows it in the file is the list */
        ASSERT_INT_EQ(parse("[Fileless]\nTrustedExecutable=/a\nTrustedExecutable=\nTrustedExecutable=/b\n", &s, NULL),
                      0);
        ASSERT_INT_EQ(s.n_trusted, 1);
        assert_trusted(&s, 0, "/b", "test.conf:4");
        ASSERT_INT_EQ(parse("[Fileless]\nTrustedExecutable=  \n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_trusted, 0);
        /* and a list reset then grown again */
        ASSERT_INT_EQ(parse("[Fileless]\nTrustedExecutable=/c\nTrustedExecutable=/d\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.n_trusted, 2);
        assert_trusted(&s, 1, "/d", "test.conf:3");
        settings_done(&s);
        ASSERT_INT_EQ(s.n_trusted, 0);
        ASSERT_NULL(s.trusted);

        /* a drop-in's name is recorded as the file */
        {
                static const char data[] = "[Fileless]\nTrustedExecutable=/x\n";
                FILE *f = fmemopen((void *) data, strlen(data), "r");

                ASSERT_NOT_NULL(f);
                s = SETTINGS_DEFAULT;
                ASSERT_INT_EQ(conf_parse(f, "/etc/filelesslock/filelesslockd.conf.d/50-jit.conf", &s, NULL), 0);
                fclose(f);
                assert_trusted(&s, 0, "/x", "/etc/filelesslock/filelesslockd.conf.d/50-jit.conf:2");
                settings_done(&s);
        }
}

static void test_trusted_errors(void) {
        assert_parse_error("[Fileless]\nTrustedExecutable=usr/bin/java\n", INVALID_TRUSTED(2, "usr/bin/java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=java\n", INVALID_TRUSTED(2, "java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=./java\n", INVALID_TRUSTED(2, "./java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=~/bin/app\n", INVALID_TRUSTED(2, "~/bin/app"));
        assert_parse_error("[Fileless]\nTrustedExecutable=/usr/./bin/java\n", INVALID_TRUSTED(2, "/usr/./bin/java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=/usr/../bin/java\n", INVALID_TRUSTED(2, "/usr/../bin/java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=/../usr/bin/java\n", INVALID_TRUSTED(2, "/../usr/bin/java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=//usr/bin/java\n", INVALID_TRUSTED(2, "//usr/bin/java"));
        assert_parse_error("[Fileless]\nTrustedExecutable=/usr//bin/java\n", INVALID_TRUSTED(2, "/usr//bin/java"));
        /* the bad one is named, after good ones that then apply nothing */
        assert_parse_error("[Fileless]\nTrustedExecutable=/usr/bin/a\nTrustedExecutable=\nTrustedExecutable=b\n",
                           INVALID_TRUSTED(4, "b"));
        /* escaped in the error */
        assert_parse_error("[Fileless]\nTrustedExecutable=\x1b]0;x\a\n", INVALID_TRUSTED(2, "\\x1b]0;x\\x07"));
}

/* "Normalized" as its error says: no "." or ".." component, at the end
 * either (systemd's path_is_normalized(), Python's os.path.normpath()). */
static void test_trusted_errors_trailing_dots(void) {
        assert_parse_error("[Fileless]\nTrustedExecutable=/usr/bin/..\n", INVALID_TRUSTED(2, "/usr/bin/.."));
        assert_parse_error("[Fileless]\nTrustedExecutable=/usr/bin/java/.\n", INVALID_TRUSTED(2, "/usr/bin/java/."));
        assert_parse_error("[Fileless]\nTrustedExecutable=/..\n", INVALID_TRUSTED(2, "/.."));
}

/* settings_set_scope(), settings_scope_profile(), settings_copy() and
 * settings_done(): the lists are owned, a copy is deep. */
static void test_settings_lists(void) {
        Settings s = SETTINGS_DEFAULT, c;

        ASSERT_INT_EQ(settings_set_scope(&s, "a.service", FL_PROFILE_ALLOW), 0);
        ASSERT_INT_EQ(settings_set_scope(&s, "b.slice", FL_PROFILE_RESTRICTED), 0);
        ASSERT_INT_EQ(settings_set_scope(&s, "a.service", FL_PROFILE_BASELINE), 0);
        ASSERT_INT_EQ(s.n_scopes, 2);
        assert_scope(&s, 0, "a.service", FL_PROFILE_BASELINE);
        ASSERT_INT_EQ(settings_scope_profile(&s, "b.slice"), FL_PROFILE_RESTRICTED);
        ASSERT_INT_EQ(settings_scope_profile(&s, "b.service"), 0);
        /* a removal stays in the list as 0 */
        ASSERT_INT_EQ(settings_set_scope(&s, "b.slice", 0), 0);
        ASSERT_INT_EQ(s.n_scopes, 2);
        ASSERT_INT_EQ(settings_scope_profile(&s, "b.slice"), 0);
        ASSERT_INT_EQ(parse("[Fileless]\nTrustedExecutable=/usr/bin/x\nRateLimitBurst=7\nTracepointMappings=yes\n"
                            "TrustedExecutable=/usr/bin/y\n",
                            &s, NULL),
                      0);

        ASSERT_INT_EQ(settings_copy(&c, &s), 0);
        ASSERT_SETTINGS(c, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(c.rate_limit_burst, 7);
        ASSERT_INT_EQ(c.tracepoint_mappings, 1);
        ASSERT_INT_EQ(c.n_scopes, 2);
        ASSERT_TRUE(c.scopes != s.scopes && c.scopes[0].unit != s.scopes[0].unit);
        assert_scope(&c, 0, "a.service", FL_PROFILE_BASELINE);
        assert_scope(&c, 1, "b.slice", 0);
        ASSERT_INT_EQ(c.n_trusted, 2);
        ASSERT_TRUE(c.trusted != s.trusted && c.trusted[0].path != s.trusted[0].path &&
                    c.trusted[0].source != s.trusted[0].source);
        assert_trusted(&c, 0, "/usr/bin/x", "test.conf:2");
        assert_trusted(&c, 1, "/usr/bin/y", "test.conf:5");

        /* changing one leaves the other alone (ASan: no shared pointer) */
        ASSERT_INT_EQ(settings_set_scope(&c, "a.service", FL_PROFILE_ALLOW), 0);
        assert_scope(&s, 0, "a.service", FL_PROFILE_BASELINE);
        settings_done(&s);
        assert_scope(&c, 0, "a.service", FL_PROFILE_ALLOW);
        assert_trusted(&c, 0, "/usr/bin/x", "test.conf:2");
        settings_done(&c);
        /* done twice is harmless */
        settings_done(&c);
        ASSERT_INT_EQ(c.n_scopes + c.n_trusted, 0);

        /* a copy of nothing; a trusted entry without a source gets "" */
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(settings_copy(&c, &s), 0);
        ASSERT_NULL(c.scopes);
        ASSERT_NULL(c.trusted);
        s.trusted = calloc(1, sizeof(TrustedSetting));
        ASSERT_NOT_NULL(s.trusted);
        s.trusted[0].path = strdup("/y");
        ASSERT_NOT_NULL(s.trusted[0].path);
        s.n_trusted = 1;
        ASSERT_INT_EQ(settings_copy(&c, &s), 0);
        assert_trusted(&c, 0, "/y", "");
        settings_done(&c);
        settings_done(&s);
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_scope_valid);
        TEST(test_scope_removal);
        TEST(test_scope_override);
        TEST(test_scope_errors);
        TEST(test_trusted);
        TEST(test_trusted_errors);
        TEST(test_trusted_errors_trailing_dots);
        TEST(test_settings_lists);
        return test_finish();
}
