/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "names.h"
#include "tests.h"

static void test_profile_from_string(void) {
        ASSERT_INT_EQ(profile_from_string("allow"), FL_PROFILE_ALLOW);
        ASSERT_INT_EQ(profile_from_string("baseline"), FL_PROFILE_BASELINE);
        ASSERT_INT_EQ(profile_from_string("restricted"), FL_PROFILE_RESTRICTED);
        /* aliases */
        ASSERT_INT_EQ(profile_from_string("none"), FL_PROFILE_ALLOW);
        ASSERT_INT_EQ(profile_from_string("privileged"), FL_PROFILE_ALLOW);
}

static void test_profile_from_string_invalid(void) {
        static const char *const bad[] = {
                "Allow", "ALLOW", "restricted ", " restricted", "", "baseline\n", "privilege",
                "privileged2", "None", "allowx", "unknown", "1", "0", "auto", "lsm",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = profile_from_string(bad[i]);
                if (r != -EINVAL)
                        TEST_FAIL("profile_from_string(\"%s\") = %d, expected -EINVAL", bad[i], r);
        }
        ASSERT_INT_EQ(profile_from_string(NULL), -EINVAL);
}

static void test_profile_to_string(void) {
        ASSERT_STREQ(profile_to_string(FL_PROFILE_ALLOW), "allow");
        ASSERT_STREQ(profile_to_string(FL_PROFILE_BASELINE), "baseline");
        ASSERT_STREQ(profile_to_string(FL_PROFILE_RESTRICTED), "restricted");

        /* round trip over every valid profile */
        for (int p = FL_PROFILE_ALLOW; p < _FL_PROFILE_MAX; p++) {
                const char *s = profile_to_string(p);
                ASSERT_NOT_NULL(s);
                ASSERT_INT_EQ(profile_from_string(s), p);
        }

        /* aliases map to the canonical name */
        ASSERT_STREQ(profile_to_string(profile_from_string("none")), "allow");
        ASSERT_STREQ(profile_to_string(profile_from_string("privileged")), "allow");

        ASSERT_NULL(profile_to_string(0));
        ASSERT_NULL(profile_to_string(_FL_PROFILE_MAX));
        ASSERT_NULL(profile_to_string(4));
        ASSERT_NULL(profile_to_string(-1));
        ASSERT_NULL(profile_to_string(-EINVAL));
        ASSERT_NULL(profile_to_string(255));
}

static void test_backend_choice(void) {
        ASSERT_INT_EQ(backend_choice_from_string("auto"), FL_BACKEND_CHOICE_AUTO);
        ASSERT_INT_EQ(backend_choice_from_string("lsm"), FL_BACKEND_CHOICE_LSM);
        ASSERT_INT_EQ(backend_choice_from_string("tracepoint"), FL_BACKEND_CHOICE_TRACEPOINT);
        ASSERT_INT_EQ(backend_choice_from_string("fmod_ret"), FL_BACKEND_CHOICE_FMOD_RET);
        ASSERT_INT_EQ(FL_BACKEND_CHOICE_LSM, FL_BACKEND_LSM);
        ASSERT_INT_EQ(FL_BACKEND_CHOICE_TRACEPOINT, FL_BACKEND_TRACEPOINT);
        ASSERT_INT_EQ(FL_BACKEND_CHOICE_FMOD_RET, FL_BACKEND_FMOD_RET);

        ASSERT_INT_EQ(backend_choice_from_string(NULL), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string(""), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("LSM"), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("Auto"), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("tracepoint "), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("trace"), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("bpf"), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("fmod-ret"), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("fmod_ret "), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("FMOD_RET"), -EINVAL);
        ASSERT_INT_EQ(backend_choice_from_string("fmod"), -EINVAL);

        ASSERT_STREQ(backend_choice_to_string(FL_BACKEND_CHOICE_AUTO), "auto");
        ASSERT_STREQ(backend_choice_to_string(FL_BACKEND_CHOICE_LSM), "lsm");
        ASSERT_STREQ(backend_choice_to_string(FL_BACKEND_CHOICE_TRACEPOINT), "tracepoint");
        /* 3 was no backend before fmod_ret became one */
        ASSERT_STREQ(backend_choice_to_string(3), "fmod_ret");
        ASSERT_NULL(backend_choice_to_string(4));
        ASSERT_NULL(backend_choice_to_string(_FL_BACKEND_MAX));
        ASSERT_NULL(backend_choice_to_string(-1));

        /* round trip */
        static const char *const names[] = { "auto", "lsm", "tracepoint", "fmod_ret" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                ASSERT_STREQ(backend_choice_to_string(backend_choice_from_string(names[i])), names[i]);
}

static void test_backend_to_string(void) {
        ASSERT_STREQ(backend_to_string(FL_BACKEND_LSM), "lsm");
        ASSERT_STREQ(backend_to_string(FL_BACKEND_TRACEPOINT), "tracepoint");
        ASSERT_STREQ(backend_to_string(FL_BACKEND_FMOD_RET), "fmod_ret");
        ASSERT_INT_EQ(_FL_BACKEND_MAX, 4);
        /* 0 is "auto" only as a choice, never as the backend in use */
        ASSERT_NULL(backend_to_string(0));
        ASSERT_NULL(backend_to_string(_FL_BACKEND_MAX));
        ASSERT_NULL(backend_to_string(-1));
}

static void test_kind_to_string(void) {
        ASSERT_STREQ(kind_to_string(FL_KIND_ORDINARY), "ordinary");
        ASSERT_STREQ(kind_to_string(FL_KIND_MEMFD), "memfd");
        ASSERT_STREQ(kind_to_string(FL_KIND_SHM), "shm");
        ASSERT_STREQ(kind_to_string(FL_KIND_TMPFILE), "tmpfile");
        ASSERT_STREQ(kind_to_string(FL_KIND_DELETED), "deleted");
        /* since 4a6569f: a user namespace's own tmpfs, a tmpfs behind a
         * mount no path reaches */
        ASSERT_STREQ(kind_to_string(FL_KIND_USERNS), "userns");
        ASSERT_STREQ(kind_to_string(FL_KIND_DETACHED), "detached");
        ASSERT_INT_EQ(_FL_KIND_MAX, 7);
        ASSERT_NULL(kind_to_string(_FL_KIND_MAX));
        ASSERT_NULL(kind_to_string(-1));
        ASSERT_NULL(kind_to_string(200));
}

static void test_action_to_string(void) {
        ASSERT_STREQ(action_to_string(FL_ACTION_ALLOWED), "allowed");
        ASSERT_STREQ(action_to_string(FL_ACTION_DENIED), "denied");
        ASSERT_STREQ(action_to_string(FL_ACTION_KILLED), "killed");
        ASSERT_STREQ(action_to_string(FL_ACTION_KILL_FAILED), "kill-failed");
        /* since 568e4a2: the task's own executable is a trusted one */
        ASSERT_STREQ(action_to_string(FL_ACTION_TRUSTED), "allowed-trusted");
        ASSERT_INT_EQ(_FL_ACTION_MAX, 5);
        ASSERT_NULL(action_to_string(_FL_ACTION_MAX));
        ASSERT_NULL(action_to_string(-1));
        ASSERT_NULL(action_to_string(200));
}

static void test_op_to_string(void) {
        ASSERT_STREQ(op_to_string(FL_OP_EXEC), "exec");
        ASSERT_STREQ(op_to_string(FL_OP_MMAP), "mmap");
        ASSERT_STREQ(op_to_string(FL_OP_MPROTECT), "mprotect");
        /* 0 is an exec: a record of a backend that knows no mappings */
        ASSERT_INT_EQ(FL_OP_EXEC, 0);
        ASSERT_INT_EQ(_FL_OP_MAX, 3);
        ASSERT_NULL(op_to_string(_FL_OP_MAX));
        ASSERT_NULL(op_to_string(-1));
        ASSERT_NULL(op_to_string(255));
}

/* Every name of the tables is distinct within its table. */
static void test_names_distinct(void) {
        for (int i = 0; i < _FL_KIND_MAX; i++)
                for (int j = 0; j < i; j++)
                        ASSERT_TRUE(strcmp(kind_to_string(i), kind_to_string(j)) != 0);
        for (int i = 0; i < _FL_ACTION_MAX; i++)
                for (int j = 0; j < i; j++)
                        ASSERT_TRUE(strcmp(action_to_string(i), action_to_string(j)) != 0);
        for (int i = 0; i < _FL_OP_MAX; i++)
                for (int j = 0; j < i; j++)
                        ASSERT_TRUE(strcmp(op_to_string(i), op_to_string(j)) != 0);
}

/* unit_name_is_scope(), from names.h: NAME.service, .socket, .mount, .swap,
 * .slice or .scope, NAME of letters, digits and ":-_.@\\", at most 255
 * characters, no template. */
static void assert_scope(const char *s, bool expected) {
        if (unit_name_is_scope(s) != expected)
                TEST_FAIL("unit_name_is_scope(\"%s\") is %s", s ?: "(null)", expected ? "false" : "true");
}

static void test_unit_name_is_scope(void) {
        static const char *const good[] = {
                "nginx.service", "user.slice", "-.slice", "system-getty.slice", "user-1000.slice",
                "session-3.scope", "docker-0123abcd.scope", "init.scope", "foo.socket", "run-r1.mount",
                "dev-sda2.swap", "a.service", "A.service", "0.service", "getty@tty1.service", "user@1000.service",
                "systemd-fsck@dev-disk-by\\x2duuid-1234.service", "a:b.service", "a_b.service", "a.b.c.service",
                "x@y.z.scope",
        };
        static const char *const bad[] = {
                "", ".service", ".slice", "service", "nginx", "nginx.", "nginx.target", "nginx.timer",
                "nginx.path", "nginx.device", "nginx.automount", "nginx.Service", "nginx.SERVICE",
                "nginx.services", "nginx.service.d", "nginx.servic", "nginx.service ", " nginx.service",
                "nginx .service", "nginx.service\n", "ngi/nx.service", "../nginx.service", "nginx;.service",
                "nginx\".service", "nginx'.service", "nginx$.service", "nginx*.service", "nginx=x.service",
                "nginx,x.service", "nginx%.service", "nginx+.service", "nginx~.service", "caf\xc3\xa9.service",
                "nginx\xe2\x80\xae.service", "nginx\x1b.service", "nginx\x7f.service", "nginx\xff.service",
                /* templates have no processes */
                "foo@.service", "getty@.service", "@.service", "user@.slice", "a@b@.scope",
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_scope(good[i], true);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_scope(bad[i], false);
        assert_scope(NULL, false);
}

/* Each suffix the error messages list (SCOPE_UNIT_SUFFIXES) is taken, and
 * only those. */
static void test_unit_name_is_scope_suffixes(void) {
        static const char *const suffixes[] = { ".service", ".socket", ".mount", ".swap", ".slice", ".scope" };
        char listed[128] = "", name[64];

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                snprintf(name, sizeof(name), "x%s", suffixes[i]);
                assert_scope(name, true);
                /* a suffix alone is no name, a template has no processes */
                assert_scope(suffixes[i], false);
                snprintf(name, sizeof(name), "x@%s", suffixes[i]);
                assert_scope(name, false);
                snprintf(name, sizeof(name), "x@i%s", suffixes[i]);
                assert_scope(name, true);
                strcat(listed, i ? ", " : "");
                strcat(listed, suffixes[i]);
        }
        ASSERT_STREQ(SCOPE_UNIT_SUFFIXES, listed);
        /* units without processes of their own */
        static const char *const others[] = { ".target", ".timer", ".path", ".device", ".automount", ".snapshot" };
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
                snprintf(name, sizeof(name), "x%s", others[i]);
                assert_scope(name, false);
        }
}

/* Every byte inside a name: the allowed ones only. */
static void test_unit_name_is_scope_chars(void) {
        for (int c = 1; c < 256; c++) {
                char name[32];
                bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                               c == ':' || c == '-' || c == '_' || c == '.' || c == '@' || c == '\\';

                snprintf(name, sizeof(name), "a%cb.service", c);
                assert_scope(name, allowed);
                /* first, too (a leading '@' is left out: systemd
                 * refuses it, names.h does not say) */
                if (c == '@')
                        continue;
                snprintf(name, sizeof(name), "%cb.slice", c);
                assert_scope(name, allowed);
        }
}

/* At most 255 characters in all (FL_UNIT_LEN with its NUL). */
static void test_unit_name_is_scope_length(void) {
        char name[FL_UNIT_LEN + 8];

        ASSERT_INT_EQ(FL_UNIT_LEN, 256);
        memset(name, 'x', sizeof(name));
        strcpy(name + 255 - strlen(".service"), ".service");
        ASSERT_INT_EQ(strlen(name), 255);
        assert_scope(name, true);
        memset(name, 'x', sizeof(name));
        strcpy(name + 256 - strlen(".service"), ".service");
        ASSERT_INT_EQ(strlen(name), 256);
        assert_scope(name, false);
        memset(name, 'x', sizeof(name));
        strcpy(name + FL_UNIT_LEN + 1, ".scope");
        assert_scope(name, false);
}

/* The kernel's LSM list and mount options: an item, never a part of one. */
static void test_comma_list_has(void) {
        ASSERT_TRUE(comma_list_has("lockdown,capability,landlock,bpf", "bpf"));
        ASSERT_TRUE(comma_list_has("bpf", "bpf"));
        ASSERT_TRUE(comma_list_has("bpf,yama", "bpf"));
        ASSERT_TRUE(comma_list_has("rw,nosuid,nodev,noexec,relatime", "noexec"));
        ASSERT_TRUE(comma_list_has(",,noexec,", "noexec"));
        ASSERT_FALSE(comma_list_has("lockdown,capability,landlock,yama,apparmor", "bpf"));
        ASSERT_FALSE(comma_list_has("bpfx,xbpf,bp", "bpf"));
        ASSERT_FALSE(comma_list_has("rw,nosuid,exec", "noexec"));
        ASSERT_FALSE(comma_list_has("", "bpf"));
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_profile_from_string);
        TEST(test_profile_from_string_invalid);
        TEST(test_profile_to_string);
        TEST(test_backend_choice);
        TEST(test_backend_to_string);
        TEST(test_kind_to_string);
        TEST(test_action_to_string);
        TEST(test_op_to_string);
        TEST(test_names_distinct);
        TEST(test_unit_name_is_scope);
        TEST(test_unit_name_is_scope_suffixes);
        TEST(test_unit_name_is_scope_chars);
        TEST(test_unit_name_is_scope_length);
        TEST(test_comma_list_has);
        return test_finish();
}
