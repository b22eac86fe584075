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
        ASSERT_NULL(kind_to_string(_FL_KIND_MAX));
        ASSERT_NULL(kind_to_string(-1));
        ASSERT_NULL(kind_to_string(200));
}

static void test_action_to_string(void) {
        ASSERT_STREQ(action_to_string(FL_ACTION_ALLOWED), "allowed");
        ASSERT_STREQ(action_to_string(FL_ACTION_DENIED), "denied");
        ASSERT_STREQ(action_to_string(FL_ACTION_KILLED), "killed");
        ASSERT_STREQ(action_to_string(FL_ACTION_KILL_FAILED), "kill-failed");
        ASSERT_INT_EQ(_FL_ACTION_MAX, 4);
        ASSERT_NULL(action_to_string(_FL_ACTION_MAX));
        ASSERT_NULL(action_to_string(-1));
        ASSERT_NULL(action_to_string(200));
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
        return test_finish();
}
