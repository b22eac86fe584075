/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* conf_parse() on the [Fileless] section: keys, values, comments, white
 * space and the exact errors. [Scope] and TrustedExecutable= are in
 * test-conf-scope.c, conf_load() in test-conf-load.c, the D-Bus drop-in in
 * test-conf-dropin.c. */

#include "conf-test.h"

static void test_valid(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=restricted\nBackend=lsm\n", &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_LSM);

        /* no newline at the end of the file */
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(parse("[Fileless]\nBackend=tracepoint", &s, &err), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_TRACEPOINT);

        /* every accepted profile and backend name */
        static const struct {
                const char *value;
                int profile;
        } profiles[] = {
                { "allow", FL_PROFILE_ALLOW },           { "none", FL_PROFILE_ALLOW },
                { "privileged", FL_PROFILE_ALLOW },      { "baseline", FL_PROFILE_BASELINE },
                { "restricted", FL_PROFILE_RESTRICTED },
        };
        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
                char buf[64];

                snprintf(buf, sizeof(buf), "[Fileless]\nProfile=%s\n", profiles[i].value);
                s = (Settings) { .profile = 0, .backend = FL_BACKEND_CHOICE_LSM };
                ASSERT_INT_EQ(parse(buf, &s, &err), 0);
                ASSERT_SETTINGS(s, profiles[i].profile, FL_BACKEND_CHOICE_LSM);
        }
        static const struct {
                const char *value;
                int backend;
        } backends[] = {
                { "auto", FL_BACKEND_CHOICE_AUTO },
                { "lsm", FL_BACKEND_CHOICE_LSM },
                { "tracepoint", FL_BACKEND_CHOICE_TRACEPOINT },
                { "fmod_ret", FL_BACKEND_CHOICE_FMOD_RET },
        };
        for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
                char buf[64];

                snprintf(buf, sizeof(buf), "[Fileless]\nBackend=%s\n", backends[i].value);
                s = (Settings) { .profile = FL_PROFILE_RESTRICTED, .backend = -1 };
                ASSERT_INT_EQ(parse(buf, &s, &err), 0);
                ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, backends[i].backend);
        }
        ASSERT_NULL(err);
}

static void test_unset_keeps_value(void) {
        Settings s = { .profile = FL_PROFILE_ALLOW, .backend = FL_BACKEND_CHOICE_TRACEPOINT };

        /* only Profile set: Backend keeps what it had */
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=restricted\n", &s, NULL), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_TRACEPOINT);

        /* an empty file, a file of comments, a bare section change nothing */
        s = (Settings) { .profile = FL_PROFILE_ALLOW, .backend = FL_BACKEND_CHOICE_LSM };
        ASSERT_INT_EQ(parse("\n", &s, NULL), 0);
        ASSERT_INT_EQ(parse("# nothing\n", &s, NULL), 0);
        ASSERT_INT_EQ(parse("[Fileless]\n", &s, NULL), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);

        FILE *f = fopen("/dev/null", "re");
        ASSERT_NOT_NULL(f);
        ASSERT_INT_EQ(conf_parse(f, "/dev/null", &s, NULL), 0);
        fclose(f);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);

        /* later assignments win, the section may be repeated */
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=restricted\nProfile=baseline\n[Fileless]\nBackend=lsm\nBackend=auto\n",
                            &s, NULL), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
}

static void test_comments_and_blank_lines(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        ASSERT_INT_EQ(parse("# leading comment\n"
                            "; semicolon comment\n"
                            "\n"
                            "   \n"
                            "\t\n"
                            "[Fileless]\n"
                            "  # indented comment with Profile=allow\n"
                            "\t; Backend=lsm\n"
                            "#Profile=allow\n"
                            ";Backend=lsm\n"
                            "Profile=restricted\n"
                            "\n"
                            "# trailing comment",
                            &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_AUTO);

        /* comments are fine outside of a section, and may hold anything */
        ASSERT_INT_EQ(parse("# [Nope]\n; no equals sign here\n# \x1b\x7f\xff\n", &s, &err), 0);
        ASSERT_NULL(err);
}

static void test_whitespace(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        ASSERT_INT_EQ(parse("  [Fileless]  \n"
                            "  Profile  =  restricted  \n"
                            "\tBackend\t=\ttracepoint\t\r\n",
                            &s, &err), 0);
        ASSERT_NULL(err);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_TRACEPOINT);

        /* CRLF line endings */
        s = SETTINGS_DEFAULT;
        ASSERT_INT_EQ(parse("[Fileless]\r\nProfile=allow\r\nBackend=lsm\r\n", &s, &err), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_ALLOW, FL_BACKEND_CHOICE_LSM);
        ASSERT_NULL(err);
}

static void test_empty_value_resets(void) {
        Settings s = { .profile = FL_PROFILE_RESTRICTED, .backend = FL_BACKEND_CHOICE_LSM };

        ASSERT_INT_EQ(parse("[Fileless]\nProfile=\nBackend=   \n", &s, NULL), 0);
        ASSERT_SETTINGS(s, SETTINGS_DEFAULT.profile, SETTINGS_DEFAULT.backend);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);

        /* a reset followed by an assignment */
        s = (Settings) { .profile = FL_PROFILE_ALLOW, .backend = FL_BACKEND_CHOICE_TRACEPOINT };
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=\nProfile=restricted\nBackend=lsm\nBackend=\n", &s, NULL), 0);
        ASSERT_SETTINGS(s, FL_PROFILE_RESTRICTED, FL_BACKEND_CHOICE_AUTO);
}

static void test_errors(void) {
        assert_parse_error("[Fileless]\nProfile=allow\n[Other]\nProfile=allow\n",
                           UNKNOWN_SECTION(3, "Other"));
        assert_parse_error("[fileless]\n", UNKNOWN_SECTION(1, "fileless"));
        assert_parse_error("[]\n", UNKNOWN_SECTION(1, ""));

        assert_parse_error("Profile=restricted\n",
                           "test.conf:1: assignment outside of a section, expected [Fileless] first");
        assert_parse_error("# comment\n\nBackend=lsm\n[Fileless]\n",
                           "test.conf:3: assignment outside of a section, expected [Fileless] first");

        assert_parse_error("[Fileless]\nProfile restricted\n",
                           "test.conf:2: expected Key=Value, got \"Profile restricted\"");
        assert_parse_error("[Fileless]\nProfile=allow\nBackend\n",
                           "test.conf:3: expected Key=Value, got \"Backend\"");

        assert_parse_error("[Fileless]\nProfile=Restricted\n",
                           "test.conf:2: invalid Profile=\"Restricted\", valid profiles are " VALID_PROFILES);
        assert_parse_error("[Fileless]\nProfile=privilege\n",
                           "test.conf:2: invalid Profile=\"privilege\", valid profiles are " VALID_PROFILES);
        /* only the value's surrounding whitespace is stripped */
        assert_parse_error("[Fileless]\n Profile = very restricted \n",
                           "test.conf:2: invalid Profile=\"very restricted\", valid profiles are " VALID_PROFILES);

        assert_parse_error("[Fileless]\nBackend=bpf\n",
                           "test.conf:2: invalid Backend=\"bpf\", valid backends are " VALID_BACKENDS);
        assert_parse_error("[Fileless]\nBackend=LSM\n",
                           "test.conf:2: invalid Backend=\"LSM\", valid backends are " VALID_BACKENDS);

        assert_parse_error("[Fileless]\nProfil=restricted\n",
                           UNKNOWN_KEY(2, "Profil"));
        assert_parse_error("[Fileless]\nprofile=restricted\n",
                           UNKNOWN_KEY(2, "profile"));
        assert_parse_error("[Fileless]\n=restricted\n",
                           UNKNOWN_KEY(2, ""));

        static const char nul[] = "[Fileless]\nProfile=allow\0restricted\nBackend=lsm\n";
        assert_parse_error_n(nul, sizeof(nul) - 1, "test.conf:2: line contains a NUL byte");
        static const char nul2[] = "[Fileless]\n\0\n";
        assert_parse_error_n(nul2, sizeof(nul2) - 1, "test.conf:2: line contains a NUL byte");

        assert_parse_error("[Fileless\nProfile=allow\n", "test.conf:1: invalid section header \"[Fileless\"");
        assert_parse_error("[\n", "test.conf:1: invalid section header \"[\"");
        assert_parse_error("[Fileless] # comment\n",
                           "test.conf:1: invalid section header \"[Fileless] # comment\"");

        /* line numbers count comments and blank lines */
        assert_parse_error("# one\n\n; three\n[Fileless]\n\nFoo=1\n",
                           UNKNOWN_KEY(6, "Foo"));
}

static void test_error_applies_nothing(void) {
        /* good assignments before the bad line must not leak out */
        assert_parse_error("[Fileless]\nProfile=restricted\nBackend=lsm\nBackend=nope\n",
                           "test.conf:4: invalid Backend=\"nope\", valid backends are " VALID_BACKENDS);
        assert_parse_error("[Fileless]\nProfile=\nBackend=\nX=1\n",
                           UNKNOWN_KEY(4, "X"));
}

static void test_error_replaces_previous(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = strdup("stale error");

        ASSERT_NOT_NULL(err);
        ASSERT_INT_EQ(parse("[Nope]\n", &s, &err), -EINVAL);
        ASSERT_STREQ(err, UNKNOWN_SECTION(1, "Nope"));
        free(err);
}

static void test_error_escapes_control_characters(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        /* ANSI escape sequence in a value */
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=\x1b[31mred\x1b[0m\n", &s, &err), -EINVAL);
        ASSERT_STARTSWITH(err, "test.conf:2: invalid Profile=\"");
        ASSERT_CONTAINS(err, "\\x1b[31mred\\x1b[0m");
        ASSERT_NOT_CONTAINS(err, "\x1b");
        assert_printable(err);
        free(err), err = NULL;

        /* carriage return, vertical tab, DEL, a high byte, a quote and a
         * backslash (the last two were \x22 and \x5c before escape_excerpt()) */
        ASSERT_INT_EQ(parse("[Fileless]\nBackend=a\rb\vc\x7f" "d\xff" "e\"f\\g\n", &s, &err), -EINVAL);
        ASSERT_STREQ(err, "test.conf:2: invalid Backend=\"a\\x0db\\x0bc\\x7fd\\xffe\\\"f\\\\g\", valid backends are "
                          VALID_BACKENDS);
        assert_printable(err);
        free(err), err = NULL;

        /* a bell inside a key, a form feed inside a section name */
        ASSERT_INT_EQ(parse("[Fileless]\nPro\afile=allow\n", &s, &err), -EINVAL);
        ASSERT_STARTSWITH(err, "test.conf:2: unknown key \"Pro\\x07file\"");
        assert_printable(err);
        free(err), err = NULL;
        ASSERT_INT_EQ(parse("[File\fless]\n", &s, &err), -EINVAL);
        ASSERT_STREQ(err, UNKNOWN_SECTION(1, "File\\x0cless"));
        free(err), err = NULL;

        /* a line without '=' holding control characters */
        ASSERT_INT_EQ(parse("[Fileless]\n\x1b]0;title\a\n", &s, &err), -EINVAL);
        ASSERT_STREQ(err, "test.conf:2: expected Key=Value, got \"\\x1b]0;title\\x07\"");
        free(err), err = NULL;

        /* a long value is truncated, not copied whole */
        char buf[1100] = "[Fileless]\nProfile=";
        size_t n = strlen(buf);
        memset(buf + n, 'x', 1000);
        buf[n + 1000] = 0;
        ASSERT_INT_EQ(parse(buf, &s, &err), -EINVAL);
        ASSERT_STARTSWITH(err, "test.conf:2: invalid Profile=\"xxxxxxxx");
        ASSERT_CONTAINS(err, "...\", valid profiles are " VALID_PROFILES);
        ASSERT_TRUE(strlen(err) < 300);
        /* exactly 64 bytes of it, then "..." */
        {
                char expected[200];

                memset(expected, 'x', 64);
                expected[64] = 0;
                strcat(expected, "...\", valid profiles are " VALID_PROFILES);
                ASSERT_STREQ(err + strlen("test.conf:2: invalid Profile=\""), expected);
        }
        free(err), err = NULL;

        /* the cut counts bytes of the value, not of its escapes */
        memset(buf + n, '\x1b', 100);
        buf[n + 100] = 0;
        ASSERT_INT_EQ(parse(buf, &s, &err), -EINVAL);
        ASSERT_INT_EQ(strlen(err), strlen("test.conf:2: invalid Profile=\"\", valid profiles are " VALID_PROFILES) +
                                           64 * 4 + 3);
        assert_printable(err);
        free(err), err = NULL;

        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
}

/* Since escape_excerpt(): valid UTF-8 is shown as it is, deceptive code
 * points as \uXXXX. */
static void test_error_shows_text(void) {
        assert_parse_error("[Fileless]\nProfile=caf\xc3\xa9\n",
                           "test.conf:2: invalid Profile=\"caf\xc3\xa9\", valid profiles are " VALID_PROFILES);
        assert_parse_error("[Fileless]\nProfile=allow\xe2\x80\xae\n",
                           "test.conf:2: invalid Profile=\"allow\\u202e\", valid profiles are " VALID_PROFILES);
        assert_parse_error("[Fileless]\nBackend=\xc2\x9b" "2J\xef\xbb\xbflsm\n",
                           "test.conf:2: invalid Backend=\"\\u009b2J\\ufefflsm\", valid backends are " VALID_BACKENDS);
        /* a zero-width space makes no other key */
        assert_parse_error("[Fileless]\nProfile\xe2\x80\x8b=allow\n",
                           UNKNOWN_KEY(2, "Profile\\u200b"));
        /* a value cut inside a sequence: its bytes escaped, then ... */
        {
                char data[128] = "[Fileless]\nProfile=", expected[256] = "test.conf:2: invalid Profile=\"";

                memset(data + strlen(data), 'x', 63);
                strcat(data, "\xc3\xa9\n");
                memset(expected + strlen(expected), 'x', 63);
                strcat(expected, "\\xc3...\", valid profiles are " VALID_PROFILES);
                assert_parse_error(data, expected);
        }
}

static void test_rate_limit(void) {
        Settings s = SETTINGS_DEFAULT;
        char *err = NULL;

        ASSERT_INT_EQ(s.rate_limit_interval_usec, 10000000);
        ASSERT_INT_EQ(s.rate_limit_burst, 100);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitIntervalSec=30\nRateLimitBurst=5\n", &s, &err), 0);
        ASSERT_INT_EQ(s.rate_limit_interval_usec, 30000000);
        ASSERT_INT_EQ(s.rate_limit_burst, 5);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitIntervalSec=500ms\n", &s, &err), 0);
        ASSERT_INT_EQ(s.rate_limit_interval_usec, 500000);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitIntervalSec=2min\nRateLimitBurst=0\n", &s, &err), 0);
        ASSERT_INT_EQ(s.rate_limit_interval_usec, 120000000);
        ASSERT_INT_EQ(s.rate_limit_burst, 0);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitIntervalSec=0s\nRateLimitBurst=1000000\n", &s, &err), 0);
        ASSERT_INT_EQ(s.rate_limit_interval_usec, 0);
        ASSERT_INT_EQ(s.rate_limit_burst, 1000000);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitIntervalSec=\nRateLimitBurst=\n", &s, &err), 0);
        ASSERT_INT_EQ(s.rate_limit_interval_usec, 10000000);
        ASSERT_INT_EQ(s.rate_limit_burst, 100);
        ASSERT_NULL(err);

        assert_parse_error("[Fileless]\nRateLimitIntervalSec=10 s\n",
                           "test.conf:2: invalid RateLimitIntervalSec=\"10 s\", expected a time such as 30s, 500ms "
                           "or 2min (at most a day), or 0 for no limit");
        assert_parse_error("[Fileless]\nRateLimitIntervalSec=-1\n",
                           "test.conf:2: invalid RateLimitIntervalSec=\"-1\", expected a time such as 30s, 500ms "
                           "or 2min (at most a day), or 0 for no limit");
        assert_parse_error("[Fileless]\nRateLimitIntervalSec=2d\n",
                           "test.conf:2: invalid RateLimitIntervalSec=\"2d\", expected a time such as 30s, 500ms "
                           "or 2min (at most a day), or 0 for no limit");
        assert_parse_error("[Fileless]\nRateLimitIntervalSec=1441min\n",
                           "test.conf:2: invalid RateLimitIntervalSec=\"1441min\", expected a time such as 30s, 500ms "
                           "or 2min (at most a day), or 0 for no limit");
        assert_parse_error("[Fileless]\nRateLimitIntervalSec=99999999999999999999999\n",
                           "test.conf:2: invalid RateLimitIntervalSec=\"99999999999999999999999\", expected a time "
                           "such as 30s, 500ms or 2min (at most a day), or 0 for no limit");
        assert_parse_error("[Fileless]\nRateLimitBurst=1000001\n",
                           "test.conf:2: invalid RateLimitBurst=\"1000001\", expected a number of events from 0 "
                           "(no limit) to 1000000");
        assert_parse_error("[Fileless]\nRateLimitBurst=ten\n",
                           "test.conf:2: invalid RateLimitBurst=\"ten\", expected a number of events from 0 "
                           "(no limit) to 1000000");
        assert_parse_error("[Fileless]\nRateLimitBurst=5x\n",
                           "test.conf:2: invalid RateLimitBurst=\"5x\", expected a number of events from 0 "
                           "(no limit) to 1000000");
}

/* A number is a number with leading zeros too, as it was at 6294eef (a loop
 * over digits) and as systemd's own parsers take it; filelesslockd.conf(5)
 * says "a number". 5c285e6 refused them (parse_uint64() does), 672f029 takes
 * them again, and the bound still holds after them. */
static void test_rate_limit_burst_leading_zeros(void) {
        Settings s = SETTINGS_DEFAULT;

        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitBurst=0100\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.rate_limit_burst, 100);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitBurst=00\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.rate_limit_burst, 0);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitBurst=0001000000\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.rate_limit_burst, 1000000);
        ASSERT_INT_EQ(parse("[Fileless]\nRateLimitBurst=000000000000000000000000000000007\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.rate_limit_burst, 7);

        /* the error shows the value as written */
        assert_parse_error("[Fileless]\nRateLimitBurst=01000001\n",
                           "test.conf:2: invalid RateLimitBurst=\"01000001\", expected a number of events from 0 "
                           "(no limit) to 1000000");
        assert_parse_error("[Fileless]\nRateLimitBurst=0x10\n",
                           "test.conf:2: invalid RateLimitBurst=\"0x10\", expected a number of events from 0 "
                           "(no limit) to 1000000");
        assert_parse_error("[Fileless]\nRateLimitBurst=-0\n",
                           "test.conf:2: invalid RateLimitBurst=\"-0\", expected a number of events from 0 "
                           "(no limit) to 1000000");
        assert_parse_error("[Fileless]\nRateLimitBurst=+5\n",
                           "test.conf:2: invalid RateLimitBurst=\"+5\", expected a number of events from 0 "
                           "(no limit) to 1000000");
}

/* TracepointMappings= (57a38bd): a boolean, off by default. */
static void test_tracepoint_mappings(void) {
        static const struct {
                const char *value;
                int expected;
        } cases[] = {
                { "yes", 1 }, { "true", 1 }, { "on", 1 }, { "1", 1 },
                { "no", 0 },  { "false", 0 }, { "off", 0 }, { "0", 0 },
        };
        Settings s = SETTINGS_DEFAULT;

        ASSERT_INT_EQ(s.tracepoint_mappings, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];

                snprintf(buf, sizeof(buf), "[Fileless]\nTracepointMappings = %s \n", cases[i].value);
                s = SETTINGS_DEFAULT;
                s.tracepoint_mappings = !cases[i].expected;
                ASSERT_INT_EQ(parse(buf, &s, NULL), 0);
                ASSERT_INT_EQ(s.tracepoint_mappings, cases[i].expected);
                /* nothing else changes */
                ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        }

        /* an empty value resets the default: off */
        s.tracepoint_mappings = 1;
        ASSERT_INT_EQ(parse("[Fileless]\nTracepointMappings=\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.tracepoint_mappings, 0);
        /* unset keeps the value */
        s.tracepoint_mappings = 1;
        ASSERT_INT_EQ(parse("[Fileless]\nProfile=allow\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.tracepoint_mappings, 1);
        /* the last one wins */
        ASSERT_INT_EQ(parse("[Fileless]\nTracepointMappings=yes\nTracepointMappings=no\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.tracepoint_mappings, 0);

        static const char *const bad[] = { "Yes", "YES", "y", "n", "2", "01", "enable", "yes please", "tru", "on\"" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char buf[64], expected[160];

                snprintf(buf, sizeof(buf), "[Fileless]\nTracepointMappings=%s\n", bad[i]);
                snprintf(expected, sizeof(expected),
                         "test.conf:2: invalid TracepointMappings=\"%s\", expected yes or no",
                         strcmp(bad[i], "on\"") == 0 ? "on\\\"" : bad[i]);
                assert_parse_error(buf, expected);
        }
}

/* Seal= (issue 16): a boolean, off by default; a bad value is an error,
 * never "not sealed" in silence. */
static void test_seal(void) {
        Settings s = SETTINGS_DEFAULT;

        ASSERT_INT_EQ(s.seal, 0);
        ASSERT_INT_EQ(parse("[Fileless]\nSeal=yes\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.seal, 1);
        ASSERT_SETTINGS(s, FL_PROFILE_BASELINE, FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(parse("[Fileless]\nSeal=\n", &s, NULL), 0);
        ASSERT_INT_EQ(s.seal, 0);
        assert_parse_error("[Fileless]\nSeal=sealed\n", "test.conf:2: invalid Seal=\"sealed\", expected yes or no");
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_valid);
        TEST(test_unset_keeps_value);
        TEST(test_comments_and_blank_lines);
        TEST(test_whitespace);
        TEST(test_empty_value_resets);
        TEST(test_errors);
        TEST(test_error_applies_nothing);
        TEST(test_error_replaces_previous);
        TEST(test_error_escapes_control_characters);
        TEST(test_error_shows_text);
        TEST(test_rate_limit);
        TEST(test_rate_limit_burst_leading_zeros);
        TEST(test_tracepoint_mappings);
        TEST(test_seal);
        return test_finish();
}
