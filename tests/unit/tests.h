/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal assertions for the unit tests: on failure print where and what,
 * then exit(1). Each evaluates its arguments exactly once. */

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

/* Runs a static void test function and reports it. */
#define TEST(fn)                                                        \
        do {                                                            \
                fn();                                                   \
                printf("ok %s\n", #fn);                                 \
        } while (0)
