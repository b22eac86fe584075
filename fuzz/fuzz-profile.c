/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The name tables of src/names.c: the string functions get the input as a
 * NUL-terminated copy (what --profile=, Profile= and the D-Bus Profile
 * property hand them), the int functions its first four bytes. Invariants:
 *  - *_from_string() returns -EINVAL or a valid value, and only for an exact,
 *    case-sensitive name or documented alias (README: "An unknown profile
 *    anywhere is an error, never a fallback");
 *  - a parsed value round-trips: *_to_string() gives its canonical name,
 *    which parses to the same value;
 *  - *_to_string() of any int is NULL or a name that parses back to it;
 *  - kind, action and operation names are distinct lower-case words (a
 *    hyphen inside allowed: kill-failed, allowed-trusted);
 *  - unit_name_is_scope() takes exactly what names.h describes: NAME.service,
 *    .socket, .mount, .swap, .slice or .scope, NAME of letters, digits and
 *    ":-_.@\\", 255 characters at most, no template (NAME ending in '@'). */

#include <errno.h>

#include "fuzz-common.h"
#include "names.h"
#include "util.h"

/* The accepted spellings, from the README rather than from names.c. */
static const struct {
        const char *name;
        int value;
        bool canonical;
} profile_names[] = {
        { "allow", FL_PROFILE_ALLOW, true },
        { "none", FL_PROFILE_ALLOW, false },
        { "privileged", FL_PROFILE_ALLOW, false },
        { "baseline", FL_PROFILE_BASELINE, true },
        { "restricted", FL_PROFILE_RESTRICTED, true },
}, backend_names[] = {
        { "auto", FL_BACKEND_CHOICE_AUTO, true },
        { "lsm", FL_BACKEND_CHOICE_LSM, true },
        { "tracepoint", FL_BACKEND_CHOICE_TRACEPOINT, true },
        { "fmod_ret", FL_BACKEND_CHOICE_FMOD_RET, true },
};

/* unit_name_is_scope() as names.h describes it, written from that. */
static bool ref_unit_name_is_scope(const char *s) {
        static const char *const suffixes[] = { ".service", ".socket", ".mount", ".swap", ".slice", ".scope" };
        size_t n = strlen(s);

        if (n == 0 || n > 255)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(":-_.@\\", *p)))
                        return false;
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                size_t k = strlen(suffixes[i]);

                if (n > k && strcmp(s + n - k, suffixes[i]) == 0)
                        return s[n - k - 1] != '@';
        }
        return false;
}

static void check_unit_name(const char *s) {
        bool v = unit_name_is_scope(s), expected = ref_unit_name_is_scope(s);

        if (v != expected) {
                fuzz_dump("input", s, strlen(s));
                FUZZ_FAIL("unit_name_is_scope() = %d, names.h says %d", v, expected);
        }
}

static bool is_lower_name(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (; *s; s++)
                if ((*s < 'a' || *s > 'z') && *s != '-')
                        return false;
        return true;
}

static void check_profile_string(const char *s) {
        int v = profile_from_string(s), expected = -EINVAL;
        const char *name;

        for (size_t i = 0; i < sizeof(profile_names) / sizeof(profile_names[0]); i++)
                if (strcmp(s, profile_names[i].name) == 0)
                        expected = profile_names[i].value;
        if (v != expected) {
                fuzz_dump("input", s, strlen(s));
                FUZZ_FAIL("profile_from_string() = %d, expected %d", v, expected);
        }
        if (v < 0)
                return;
        FUZZ_ASSERT(v >= FL_PROFILE_ALLOW && v < _FL_PROFILE_MAX);
        name = profile_to_string(v);
        FUZZ_ASSERT(name);
        FUZZ_ASSERT(profile_from_string(name) == v);
        for (size_t i = 0; i < sizeof(profile_names) / sizeof(profile_names[0]); i++)
                if (profile_names[i].canonical && profile_names[i].value == v)
                        FUZZ_ASSERT_STR(strcmp(name, profile_names[i].name) == 0, "canonical name", name);
}

static void check_backend_string(const char *s) {
        int v = backend_choice_from_string(s), expected = -EINVAL;
        const char *name;

        for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
                if (strcmp(s, backend_names[i].name) == 0)
                        expected = backend_names[i].value;
        if (v != expected) {
                fuzz_dump("input", s, strlen(s));
                FUZZ_FAIL("backend_choice_from_string() = %d, expected %d", v, expected);
        }
        if (v < 0)
                return;
        name = backend_choice_to_string(v);
        FUZZ_ASSERT(name);
        FUZZ_ASSERT_STR(strcmp(name, s) == 0, "canonical name", name);
        FUZZ_ASSERT(backend_choice_from_string(name) == v);
        /* auto is a choice, not a backend */
        FUZZ_ASSERT(streq_ptr(backend_to_string(v), v == FL_BACKEND_CHOICE_AUTO ? NULL : name));
}

static void check_ints(int i) {
        const char *s;

        s = profile_to_string(i);
        FUZZ_ASSERT(!s == !(i >= FL_PROFILE_ALLOW && i < _FL_PROFILE_MAX));
        if (s)
                FUZZ_ASSERT(profile_from_string(s) == i);

        s = backend_choice_to_string(i);
        FUZZ_ASSERT(!s == !(i >= FL_BACKEND_CHOICE_AUTO && i <= FL_BACKEND_CHOICE_FMOD_RET));
        if (s)
                FUZZ_ASSERT(backend_choice_from_string(s) == i);

        s = backend_to_string(i);
        FUZZ_ASSERT(!s == !(i >= FL_BACKEND_LSM && i < _FL_BACKEND_MAX));
        if (s)
                FUZZ_ASSERT(backend_choice_from_string(s) == i);

        /* No parser for these: a short lower-case name, different per value. */
        s = kind_to_string(i);
        FUZZ_ASSERT(!s == !(i >= FL_KIND_ORDINARY && i < _FL_KIND_MAX));
        if (s) {
                FUZZ_ASSERT_STR(is_lower_name(s), "kind", s);
                for (int j = FL_KIND_ORDINARY; j < _FL_KIND_MAX; j++)
                        FUZZ_ASSERT(j == i || !streq(s, kind_to_string(j)));
        }
        s = action_to_string(i);
        FUZZ_ASSERT(!s == !(i >= FL_ACTION_ALLOWED && i < _FL_ACTION_MAX));
        if (s) {
                FUZZ_ASSERT_STR(is_lower_name(s), "action", s);
                for (int j = FL_ACTION_ALLOWED; j < _FL_ACTION_MAX; j++)
                        FUZZ_ASSERT(j == i || !streq(s, action_to_string(j)));
        }
        s = op_to_string(i);
        FUZZ_ASSERT(!s == !(i >= FL_OP_EXEC && i < _FL_OP_MAX));
        if (s) {
                FUZZ_ASSERT_STR(is_lower_name(s), "operation", s);
                for (int j = FL_OP_EXEC; j < _FL_OP_MAX; j++)
                        FUZZ_ASSERT(j == i || !streq(s, op_to_string(j)));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        int i = 0;

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;

        check_profile_string(s);
        check_backend_string(s);
        check_unit_name(s);

        memcpy(&i, data, size < sizeof(i) ? size : sizeof(i));
        check_ints(i);
        /* and the neighbourhood of the valid values, whatever the input */
        check_ints(size > 0 ? (int) (data[0] & 0x0f) - 4 : -4);

        free(s);
        return 0;
}
