/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal assertions for the unit tests: on failure print where and what,
 * then exit(1). Each evaluates its arguments exactly once.
 *
 * A test program runs every case given to TEST() in main(), or with one
 * argument only the case of that name: meson registers one test per case
 * (tests/unit/meson.build reads the TEST() lines). */

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_FAIL(...)                                                  \
        do {                                                            \
                fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, __func__); \
                fprintf(stderr, __VA_ARGS__);                           \
                fputc('\n', stderr);                                    \
                exit(EXIT_FAILURE);                                     \
        } while (0)

#define ASSERT_TRUE(expr)                                               \
        do {                                                            \
                if (!(expr))                                            \
                        TEST_FAIL("assertion failed: %s", #expr);       \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_INT_EQ(a, b)                                             \
        do {                                                            \
                intmax_t _a_ = (intmax_t) (a), _b_ = (intmax_t) (b);    \
                if (_a_ != _b_)                                         \
                        TEST_FAIL("%s == %s failed: %jd != %jd", #a, #b, _a_, _b_); \
        } while (0)

/* NULL on either side compares equal only to NULL. */
#define ASSERT_STREQ(a, b)                                              \
        do {                                                            \
                const char *_a_ = (a), *_b_ = (b);                      \
                if (!_a_ || !_b_ ? _a_ != _b_ : strcmp(_a_, _b_) != 0)  \
                        TEST_FAIL("%s == %s failed: \"%s\" != \"%s\"", #a, #b, \
                                  _a_ ?: "(null)", _b_ ?: "(null)");    \
        } while (0)

#define ASSERT_NULL(p)                                                  \
        do {                                                            \
                const void *_p_ = (p);                                  \
                if (_p_)                                                \
                        TEST_FAIL("%s is not NULL", #p);                \
        } while (0)

#define ASSERT_NOT_NULL(p)                                              \
        do {                                                            \
                if (!(p))                                               \
                        TEST_FAIL("%s is NULL", #p);                    \
        } while (0)

static inline bool startswith(const char *s, const char *prefix) {
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

#define ASSERT_STARTSWITH(s, prefix)                                    \
        do {                                                            \
                const char *_s_ = (s), *_p_ = (prefix);                 \
                if (!startswith(_s_, _p_))                              \
                        TEST_FAIL("\"%s\" does not start with \"%s\"", _s_ ?: "(null)", _p_); \
        } while (0)

#define ASSERT_CONTAINS(s, needle)                                      \
        do {                                                            \
                const char *_s_ = (s), *_n_ = (needle);                 \
                if (!_s_ || !strstr(_s_, _n_))                          \
                        TEST_FAIL("\"%s\" does not contain \"%s\"", _s_ ?: "(null)", _n_); \
        } while (0)

#define ASSERT_NOT_CONTAINS(s, needle)                                  \
        do {                                                            \
                const char *_s_ = (s), *_n_ = (needle);                 \
                if (!_s_ || strstr(_s_, _n_))                           \
                        TEST_FAIL("\"%s\" contains \"%s\"", _s_ ?: "(null)", _n_); \
        } while (0)

static const char *test_only;
static unsigned test_count;

/* Runs a static void test function, unless another case was asked for, and
 * reports it. */
#define TEST(fn)                                                        \
        do {                                                            \
                if (!test_only || strcmp(test_only, #fn) == 0) {        \
                        fn();                                           \
                        test_count++;                                   \
                        printf("ok %s\n", #fn);                         \
                }                                                       \
        } while (0)

/* At the start of main(): takes the one case to run, if any. */
static inline void test_setup(int argc, char **argv) {
        if (argc > 2) {
                fprintf(stderr, "usage: %s [TEST_CASE]\n", argv[0]);
                exit(EXIT_FAILURE);
        }
        test_only = argc == 2 ? argv[1] : NULL;
}

/* At the end of main(): a case asked for that does not exist is a failure,
 * not an empty success. */
static inline int test_finish(void) {
        if (test_count == 0) {
                fprintf(stderr, "no test case %s\n", test_only ?: "at all");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* ---- Text as the journal, D-Bus and terminals get it ---- */

/* An independent UTF-8 decoder after the Unicode standard's table of
 * well-formed byte sequences (Table 3-7), not after src/escape.c. Returns the
 * length of the sequence at S and its code point, or 0. */
static inline size_t ref_utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        unsigned char lo = 0x80, hi = 0xbf;
        uint32_t cp;
        size_t k;

        if (n == 0)
                return 0;
        if (s[0] <= 0x7f) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                k = 1, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                k = 2, cp = s[0] & 0x0f;
                if (s[0] == 0xe0)
                        lo = 0xa0;
                else if (s[0] == 0xed)
                        hi = 0x9f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                k = 3, cp = s[0] & 0x07;
                if (s[0] == 0xf0)
                        lo = 0x90;
                else if (s[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < k + 1 || s[1] < lo || s[1] > hi)
                return 0;
        cp = cp << 6 | (s[1] & 0x3f);
        for (size_t i = 2; i <= k; i++) {
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        *ret_cp = cp;
        return k + 1;
}

static inline bool utf8_valid(const char *str) {
        const unsigned char *s = (const unsigned char *) str;
        size_t n = strlen(str);

        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k = ref_utf8_decode(s + i, n - i, &cp);

                if (k == 0)
                        return false;
                i += k;
        }
        return true;
}

/* The code points the escaper must show as \uXXXX, written from its
 * documentation (the list in escape.h and the commit that added it), not from
 * escape.c: C1 controls, ALM, the Mongolian vowel separator, zero-width and
 * direction marks, line and paragraph separators, embeddings and overrides,
 * word joiner and invisible operators, isolates, and the BOM. */
static inline bool ref_cp_is_deceptive(uint32_t cp) {
        static const struct {
                uint32_t lo, hi;
        } ranges[] = {
                { 0x0080, 0x009f }, { 0x061c, 0x061c }, { 0x180e, 0x180e }, { 0x200b, 0x200f },
                { 0x2028, 0x202e }, { 0x2060, 0x2069 }, { 0xfeff, 0xfeff },
        };

        for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
                if (cp >= ranges[i].lo && cp <= ranges[i].hi)
                        return true;
        return false;
}

/* U+FDD0..U+FDEF and U+xxFFFE/U+xxFFFF: sd-bus refuses them in a string. */
static inline bool ref_cp_is_noncharacter(uint32_t cp) {
        return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/* S is what the daemon may show: valid UTF-8 on one line, without C0
 * controls, DEL, deceptive code points or noncharacters. */
#define assert_text(what, s) assert_text_at(__FILE__, __LINE__, (what), (s))
static inline void assert_text_at(const char *file, int line, const char *what, const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n;

        if (!s) {
                fprintf(stderr, "%s:%d: %s is NULL\n", file, line, what);
                exit(EXIT_FAILURE);
        }
        n = strlen(s);
        for (size_t i = 0; i < n;) {
                const char *problem = NULL;
                uint32_t cp = 0;
                size_t k = ref_utf8_decode(p + i, n - i, &cp);

                if (k == 0)
                        problem = "a byte that is not valid UTF-8";
                else if (cp < 0x20 || cp == 0x7f)
                        problem = "a control character";
                else if (ref_cp_is_deceptive(cp))
                        problem = "a deceptive code point";
                else if (ref_cp_is_noncharacter(cp))
                        problem = "a noncharacter";
                if (problem) {
                        fprintf(stderr, "%s:%d: %s holds %s (0x%02x, U+%04X) at offset %zu: \"%s\"\n", file, line,
                                what, problem, p[i], (unsigned) cp, i, s);
                        exit(EXIT_FAILURE);
                }
                i += k;
        }
}
