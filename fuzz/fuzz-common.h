/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the libFuzzer targets: invariant checks that abort() with a
 * readable diagnosis (libFuzzer then saves the input as crash-<sha1>), an
 * independent UTF-8 decoder and the reverse of escape_string().
 *
 * "Printable" follows systemd, which is what reads our output: journalctl
 * shows a field as "[N blob data]" unless utf8_is_printable() accepts it
 * (no C0 control but tab and newline, no DEL, no C1 control U+0080..U+009F),
 * and sd-bus refuses a string that is not valid per unichar_is_valid() (no
 * surrogate, no noncharacter U+FDD0..U+FDEF or U+xFFFE/U+xFFFF). Newline and
 * tab are refused here as well, since our output must be one line, and so
 * are the other deceptive code points (bidi controls, zero-width characters,
 * line and paragraph separators, BOM), which show nothing and change how the
 * text around them reads. escape_string() (src/escape.h) promises all of
 * this: C1 and noncharacters since commit 9249250, which fixed those findings
 * of these targets, the other deceptive code points since 5c285e6. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unescape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Bytes shown as C string contents: the diagnosis itself stays one line. */
static inline void fuzz_dump(const char *what, const void *p, size_t n) {
        const unsigned char *s = p;

        fprintf(stderr, "  %s (%zu bytes): \"", what, n);
        for (size_t i = 0; i < n; i++)
                if (s[i] == '"' || s[i] == '\\')
                        fprintf(stderr, "\\%c", s[i]);
                else if (s[i] >= 0x20 && s[i] < 0x7f)
                        fputc(s[i], stderr);
                else
                        fprintf(stderr, "\\x%02x", s[i]);
        fputs("\"\n", stderr);
}

#define FUZZ_FAIL(...)                                                          \
        do {                                                                    \
                fprintf(stderr, "\n%s:%d: INVARIANT VIOLATED: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                                   \
                fputc('\n', stderr);                                            \
                abort();                                                        \
        } while (0)

#define FUZZ_ASSERT(expr)                                                       \
        do {                                                                    \
                if (!(expr))                                                    \
                        FUZZ_FAIL("%s", #expr);                                 \
        } while (0)

/* As FUZZ_ASSERT, with the string the assertion is about shown first. */
#define FUZZ_ASSERT_STR(expr, what, s)                                          \
        do {                                                                    \
                if (!(expr)) {                                                  \
                        const char *_s_ = (s);                                  \
                        if (_s_)                                                \
                                fuzz_dump((what), _s_, strlen(_s_));            \
                        FUZZ_FAIL("%s", #expr);                                 \
                }                                                               \
        } while (0)

/* The well-formed byte sequences of the Unicode standard (version 15, table
 * 3-7), written from the table rather than from escape.c so that the two
 * check each other. Returns the length of the sequence at S and its code point,
 * or 0 when S (N > 0 bytes available) does not start with one. */
static inline size_t fuzz_utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp) {
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

static inline bool fuzz_cp_is_c1(uint32_t cp) {
        return cp >= 0x80 && cp <= 0x9f;
}

/* The code points escape_string() shows as \uXXXX, from its documentation
 * (escape.h and commit 5c285e6), not from escape.c: the C1 controls, ALM,
 * the Mongolian vowel separator, zero-width and direction marks, line and
 * paragraph separators, embeddings and overrides, word joiner and invisible
 * operators, isolates, and the BOM. */
static inline bool fuzz_cp_is_deceptive(uint32_t cp) {
        return fuzz_cp_is_c1(cp) || cp == 0x061c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
               (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* The 66 noncharacters; systemd's unichar_is_valid() refuses them, and with it
 * sd_bus_message_append() for any string holding one. */
static inline bool fuzz_cp_is_noncharacter(uint32_t cp) {
        return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/* S must be valid UTF-8, one line and printable (see the top of this file). */
#define fuzz_check_text(what, s) fuzz_check_text_at(__FILE__, __LINE__, (what), (s))
static inline void fuzz_check_text_at(const char *file, int line, const char *what, const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        const char *problem = NULL;
        size_t n, i;

        if (!s) {
                fprintf(stderr, "\n%s:%d: INVARIANT VIOLATED: %s is NULL\n", file, line, what);
                abort();
        }
        n = strlen(s);
        for (i = 0; i < n && !problem;) {
                uint32_t cp;
                size_t k = fuzz_utf8_decode(p + i, n - i, &cp);

                if (k == 0)
                        problem = "not valid UTF-8";
                else if (cp == '\n')
                        problem = "a newline";
                else if (cp < 0x20 || cp == 0x7f)
                        problem = "a C0 control character or DEL";
                else if (fuzz_cp_is_c1(cp))
                        problem = "a C1 control character (U+0080..U+009F): not printable for journalctl";
                else if (fuzz_cp_is_deceptive(cp))
                        problem = "a deceptive code point (bidi, zero-width, separator or BOM)";
                else if (fuzz_cp_is_noncharacter(cp))
                        problem = "a Unicode noncharacter: sd-bus refuses the string";
                else
                        i += k;
        }
        if (problem) {
                fuzz_dump(what, s, n);
                fprintf(stderr, "%s:%d: INVARIANT VIOLATED: %s holds %s at byte offset %zu\n", file, line, what,
                        problem, i);
                abort();
        }
}

/* True when every '"' in S is escaped by a backslash (as escape_string()
 * writes them), i.e. S can sit between double quotes. */
static inline bool fuzz_no_bare_quote(const char *s) {
        for (; *s; s++) {
                if (*s == '\\') {
                        if (!s[1])
                                return false;
                        s++;
                } else if (*s == '"')
                        return false;
        }
        return true;
}


/* ESCAPED must unescape to exactly the N bytes at ORIG. */
#define fuzz_check_round_trip(what, escaped, orig, n) \
        fuzz_check_round_trip_at(__FILE__, __LINE__, (what), (escaped), (orig), (n))
static inline void fuzz_check_round_trip_at(const char *file, int line, const char *what, const char *escaped,
                                            const void *orig, size_t n) {
        char *back = malloc(strlen(escaped) + 1);
        long k;

        if (!back)
                abort();
        k = unescape_string(escaped, back);
        if (k < 0 || (size_t) k != n || memcmp(back, orig, n) != 0) {
                fuzz_dump("original", orig, n);
                fuzz_dump(what, escaped, strlen(escaped));
                if (k >= 0)
                        fuzz_dump("unescaped", back, (size_t) k);
                fprintf(stderr, "%s:%d: INVARIANT VIOLATED: %s does not unescape to the original (%s)\n", file,
                        line, what, k < 0 ? "malformed escape" : "different bytes");
                abort();
        }
        free(back);
}
