/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#include "escape.h"
#include "tests.h"
#include "unescape.h"

/* The result is exactly EXPECTED, and text the daemon may show (tests.h). */
#define ASSERT_ESCAPE(in, maxlen, expected)                             \
        do {                                                            \
                char *_r_ = escape_string((in), (maxlen));              \
                ASSERT_NOT_NULL(_r_);                                   \
                ASSERT_STREQ(_r_, (expected));                          \
                assert_text("escape_string", _r_);                      \
                ASSERT_TRUE(utf8_valid(_r_));                           \
                free(_r_);                                              \
        } while (0)

#define ESC(in, expected) ASSERT_ESCAPE((in), SIZE_MAX, (expected))

/* CP in UTF-8 into BUF (at least 5 bytes), NUL-terminated; returns the length. */
static size_t utf8_encode(uint32_t cp, char *buf) {
        size_t n;

        if (cp < 0x80)
                buf[0] = (char) cp, n = 1;
        else if (cp < 0x800) {
                buf[0] = (char) (0xc0 | cp >> 6);
                buf[1] = (char) (0x80 | (cp & 0x3f));
                n = 2;
        } else if (cp < 0x10000) {
                buf[0] = (char) (0xe0 | cp >> 12);
                buf[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                buf[2] = (char) (0x80 | (cp & 0x3f));
                n = 3;
        } else {
                buf[0] = (char) (0xf0 | cp >> 18);
                buf[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
                buf[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
                buf[3] = (char) (0x80 | (cp & 0x3f));
                n = 4;
        }
        buf[n] = 0;
        return n;
}

static void test_escape_plain(void) {
        ESC("", "");
        ESC("hello", "hello");
        ESC("memfd:x (deleted) /dev/shm/a-b_c.d ~!@#$%^&*()[]{}<>?,;'`|=+", "memfd:x (deleted) /dev/shm/a-b_c.d ~!@#$%^&*()[]{}<>?,;'`|=+");
}

static void test_escape_specials(void) {
        ESC("a\nb", "a\\nb");
        ESC("a\tb", "a\\tb");
        ESC("a\\b", "a\\\\b");
        ESC("a\"b", "a\\\"b");
        ESC("\n\t\\\"", "\\n\\t\\\\\\\"");
        ESC("\x01", "\\x01");
        ESC("\x1b[31m", "\\x1b[31m");
        ESC("\r", "\\x0d");
        ESC("\x1f", "\\x1f");
        ESC("\x7f", "\\x7f");
        ESC(" ~", " ~");
        /* a literal escape in the input stays distinguishable */
        ESC("\\x41", "\\\\x41");
}

static void test_escape_all_bytes(void) {
        for (unsigned b = 1; b < 256; b++) {
                char in[2] = { (char) b, 0 }, expected[8];

                if (b == '\n')
                        strcpy(expected, "\\n");
                else if (b == '\t')
                        strcpy(expected, "\\t");
                else if (b == '\\' || b == '"')
                        snprintf(expected, sizeof(expected), "\\%c", b);
                else if (b < 0x20 || b >= 0x7f)
                        snprintf(expected, sizeof(expected), "\\x%02x", b);
                else
                        snprintf(expected, sizeof(expected), "%c", b);
                ESC(in, expected);
        }
}

static void test_escape_valid_utf8(void) {
        ESC("\xc2\xa0", "\xc2\xa0");                 /* U+00A0, first after the C1 controls */
        ESC("caf\xc3\xa9", "caf\xc3\xa9");           /* é */
        ESC("\xdf\xbf", "\xdf\xbf");                 /* U+07FF */
        ESC("\xe0\xa0\x80", "\xe0\xa0\x80");         /* U+0800, shortest 3-byte */
        ESC("\xe2\x82\xac", "\xe2\x82\xac");         /* € */
        ESC("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
        ESC("\xee\x80\x80", "\xee\x80\x80");         /* U+E000, just above */
        ESC("\xef\xbf\xbd", "\xef\xbf\xbd");         /* U+FFFD */
        ESC("\xef\xb7\x8f", "\xef\xb7\x8f");         /* U+FDCF, just below the noncharacters */
        ESC("\xef\xb7\xb0", "\xef\xb7\xb0");         /* U+FDF0, just above */
        ESC("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"); /* U+10000, shortest 4-byte */
        ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* 😀 */
        ESC("\xf4\x8f\xbf\xbd", "\xf4\x8f\xbf\xbd"); /* U+10FFFD, the last one not a noncharacter */
        ESC("a\xc3\xa9\n\xe2\x82\xac\"", "a\xc3\xa9\\n\xe2\x82\xac\\\"");
}

static void test_escape_invalid_utf8(void) {
        ESC("\x80", "\\x80");                               /* lone continuation */
        ESC("a\xbf" "b", "a\\xbfb");
        ESC("\xc0\x80", "\\xc0\\x80");                      /* overlong NUL */
        ESC("\xc1\xbf", "\\xc1\\xbf");                      /* overlong 2-byte */
        ESC("\xe0\x80\xaf", "\\xe0\\x80\\xaf");             /* overlong 3-byte '/' */
        ESC("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");             /* overlong U+07FF */
        ESC("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");    /* overlong 4-byte */
        ESC("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");    /* overlong U+FFFF */
        ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");             /* U+D800 surrogate */
        ESC("\xed\xbf\xbf", "\\xed\\xbf\\xbf");             /* U+DFFF */
        ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");    /* U+110000 */
        ESC("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
        ESC("\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf");
        ESC("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
        ESC("\xfe\xff", "\\xfe\\xff");
        /* truncated at the end of the string */
        ESC("\xc3", "\\xc3");
        ESC("a\xe2\x82", "a\\xe2\\x82");
        ESC("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
        /* truncated by a following non-continuation byte */
        ESC("\xe2\x82" "A", "\\xe2\\x82A");
        ESC("\xc3\n", "\\xc3\\n");
        ESC("\xe2\xe2\x82\xac", "\\xe2\xe2\x82\xac");
}

/* Valid UTF-8 that must not pass as is: C1 controls drive terminals (CSI is
 * U+009B), and sd-bus refuses noncharacters in strings (one would cost the
 * whole Event signal). Found by fuzz-escape and fuzz-dbus-event. C1 controls
 * used to be escaped byte by byte (\xc2\x80); since they became deceptive
 * code points (5c285e6) they are one \uXXXX. */
static void test_escape_c1_and_noncharacters(void) {
        ESC("\xc2\x80", "\\u0080");                          /* U+0080 */
        ESC("x\xc2\x9b" "2J", "x\\u009b2J");                 /* CSI 2J: clear screen */
        ESC("\xc2\x9f", "\\u009f");                          /* U+009F */
        ESC("\xc2\x85\xc2\x8d", "\\u0085\\u008d");           /* NEL, RI */
        ESC("\xef\xb7\x90", "\\xef\\xb7\\x90");          /* U+FDD0 */
        ESC("\xef\xb7\xaf", "\\xef\\xb7\\xaf");          /* U+FDEF */
        ESC("\xef\xbf\xbe", "\\xef\\xbf\\xbe");          /* U+FFFE */
        ESC("\xef\xbf\xbf", "\\xef\\xbf\\xbf");          /* U+FFFF */
        ESC("\xf0\x9f\xbf\xbe", "\\xf0\\x9f\\xbf\\xbe");  /* U+1FFFE */
        ESC("\xf4\x8f\xbf\xbe", "\\xf4\\x8f\\xbf\\xbe");  /* U+10FFFE */
        ESC("\xf4\x8f\xbf\xbf", "\\xf4\\x8f\\xbf\\xbf");  /* U+10FFFF */
        ASSERT_INT_EQ(utf8_sequence_length((const unsigned char *) "\xef\xbf\xbe", 3), 0);
        ASSERT_INT_EQ(utf8_sequence_length((const unsigned char *) "\xc2\x9b", 2), 2);
}

static void test_escape_maxlen(void) {
        ASSERT_ESCAPE("abcdef", 3, "abc");
        ASSERT_ESCAPE("abcdef", 0, "");
        ASSERT_ESCAPE("ab\0cd", 10, "ab");
        ASSERT_ESCAPE("\n\n\n", 2, "\\n\\n");
        /* a sequence cut by maxlen is no longer valid */
        ASSERT_ESCAPE("\xe2\x82\xac", 2, "\\xe2\\x82");
        ASSERT_ESCAPE("\xe2\x82\xac", 3, "\xe2\x82\xac");

        /* no NUL within maxlen: exactly maxlen bytes are read (ASan checks) */
        char *buf = malloc(4);
        ASSERT_NOT_NULL(buf);
        memcpy(buf, "ab\x01\xc3", 4);
        ASSERT_ESCAPE(buf, 4, "ab\\x01\\xc3");
        free(buf);
}

static void test_escape_random_round_trip(void) {
        uint32_t x = 0x12345678;

        for (unsigned iter = 0; iter < 20000; iter++) {
                char in[64], back[64];
                size_t len = iter % sizeof(in);
                char *r;
                ssize_t n;

                for (size_t i = 0; i < len; i++) {
                        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                        /* bias towards interesting bytes */
                        in[i] = (char) ((x >> 8) & 1 ? 0x80 | (x & 0x7f) : (x & 0xff));
                        if (in[i] == 0)
                                in[i] = 0x01;
                }

                r = escape_string(in, len);
                ASSERT_NOT_NULL(r);
                assert_text("random", r);
                ASSERT_TRUE(utf8_valid(r));
                ASSERT_TRUE(strlen(r) <= len * 4);
                n = unescape_string(r, back);
                ASSERT_INT_EQ(n, (ssize_t) len);
                ASSERT_TRUE(memcmp(in, back, len) == 0);
                free(r);
        }
}


/* ---- utf8_decode() and unichar_is_deceptive() ---- */

static void test_utf8_decode(void) {
        static const struct {
                const char *s;
                size_t n, len;
                uint32_t cp;
        } cases[] = {
                { "A", 1, 1, 'A' },
                { "\x7f", 1, 1, 0x7f },
                { "\xc2\x80", 2, 2, 0x80 },
                { "\xc3\xa9", 2, 2, 0xe9 },
                { "\xdf\xbf", 2, 2, 0x7ff },
                { "\xe0\xa0\x80", 3, 3, 0x800 },
                { "\xe2\x80\xae", 3, 3, 0x202e },
                { "\xed\x9f\xbf", 3, 3, 0xd7ff },
                { "\xee\x80\x80", 3, 3, 0xe000 },
                { "\xef\xbb\xbf", 3, 3, 0xfeff },
                { "\xef\xbf\xbd", 3, 3, 0xfffd },
                { "\xf0\x90\x80\x80", 4, 4, 0x10000 },
                { "\xf4\x8f\xbf\xbd", 4, 4, 0x10fffd },
                /* only the first sequence counts */
                { "\xc3\xa9xyz", 5, 2, 0xe9 },
                /* NUL is a character like any other here */
                { "\0a", 2, 1, 0 },
                /* rejected: 0 */
                { "", 0, 0, 0 },
                { "\xc3\xa9", 1, 0, 0 },          /* cut by N */
                { "\xe2\x82\xac", 2, 0, 0 },
                { "\xf0\x9f\x98\x80", 3, 0, 0 },
                { "\x80", 1, 0, 0 },              /* continuation byte */
                { "\xc0\x80", 2, 0, 0 },          /* overlong */
                { "\xc1\xbf", 2, 0, 0 },
                { "\xe0\x9f\xbf", 3, 0, 0 },
                { "\xf0\x8f\xbf\xbf", 4, 0, 0 },
                { "\xed\xa0\x80", 3, 0, 0 },      /* surrogates */
                { "\xed\xbf\xbf", 3, 0, 0 },
                { "\xf4\x90\x80\x80", 4, 0, 0 },  /* above U+10FFFF */
                { "\xf8\x88\x80\x80\x80", 5, 0, 0 },
                { "\xc3" "A", 2, 0, 0 },          /* not a continuation */
                { "\xef\xb7\x90", 3, 0, 0 },      /* noncharacters */
                { "\xef\xb7\xaf", 3, 0, 0 },
                { "\xef\xbf\xbe", 3, 0, 0 },
                { "\xef\xbf\xbf", 3, 0, 0 },
                { "\xf0\x9f\xbf\xbf", 4, 0, 0 },
                { "\xf4\x8f\xbf\xbe", 4, 0, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint32_t cp = 0xdeadbeef;
                size_t len = utf8_decode((const unsigned char *) cases[i].s, cases[i].n, &cp);

                if (len != cases[i].len)
                        TEST_FAIL("case %zu: utf8_decode() = %zu, expected %zu", i, len, cases[i].len);
                if (len > 0 && cp != cases[i].cp)
                        TEST_FAIL("case %zu: code point U+%04X, expected U+%04X", i, (unsigned) cp,
                                  (unsigned) cases[i].cp);
                ASSERT_INT_EQ(utf8_sequence_length((const unsigned char *) cases[i].s, cases[i].n), len);
        }
}

/* Every code point, encoded: utf8_decode() gives it back unless it is a
 * surrogate or a noncharacter, and agrees with the independent decoder on
 * every two-byte prefix too. */
static void test_utf8_decode_all(void) {
        for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
                char buf[5];
                size_t n = utf8_encode(cp, buf), len, ref;
                uint32_t got = 0, ref_cp = 0;
                bool valid = !(cp >= 0xd800 && cp <= 0xdfff) && !ref_cp_is_noncharacter(cp);

                len = utf8_decode((const unsigned char *) buf, n, &got);
                if (len != (valid ? n : 0) || (valid && got != cp))
                        TEST_FAIL("U+%04X: utf8_decode() = %zu (U+%04X)", (unsigned) cp, len, (unsigned) got);
                ref = ref_utf8_decode((const unsigned char *) buf, n, &ref_cp);
                ASSERT_INT_EQ(ref, (cp >= 0xd800 && cp <= 0xdfff) ? 0 : n);
                /* one byte short is never a sequence */
                if (n > 1)
                        ASSERT_INT_EQ(utf8_decode((const unsigned char *) buf, n - 1, &got), 0);
        }
}

static void test_unichar_is_deceptive(void) {
        /* Against the list written in tests.h from the documentation, over
         * every code point. */
        for (uint32_t cp = 0; cp <= 0x10ffff; cp++)
                if (unichar_is_deceptive(cp) != ref_cp_is_deceptive(cp))
                        TEST_FAIL("unichar_is_deceptive(U+%04X) = %d", (unsigned) cp, unichar_is_deceptive(cp));

        /* The edges, spelt out. */
        ASSERT_FALSE(unichar_is_deceptive(0x7f));
        ASSERT_TRUE(unichar_is_deceptive(0x80));
        ASSERT_TRUE(unichar_is_deceptive(0x9f));
        ASSERT_FALSE(unichar_is_deceptive(0xa0));
        ASSERT_FALSE(unichar_is_deceptive(0x61b));
        ASSERT_TRUE(unichar_is_deceptive(0x61c));
        ASSERT_FALSE(unichar_is_deceptive(0x61d));
        ASSERT_TRUE(unichar_is_deceptive(0x180e));
        ASSERT_FALSE(unichar_is_deceptive(0x200a));
        ASSERT_TRUE(unichar_is_deceptive(0x200b));
        ASSERT_TRUE(unichar_is_deceptive(0x200f));
        ASSERT_FALSE(unichar_is_deceptive(0x2010));
        ASSERT_FALSE(unichar_is_deceptive(0x2027));
        ASSERT_TRUE(unichar_is_deceptive(0x2028));
        ASSERT_TRUE(unichar_is_deceptive(0x202e));
        ASSERT_FALSE(unichar_is_deceptive(0x202f));
        ASSERT_FALSE(unichar_is_deceptive(0x205f));
        ASSERT_TRUE(unichar_is_deceptive(0x2060));
        ASSERT_TRUE(unichar_is_deceptive(0x2069));
        ASSERT_FALSE(unichar_is_deceptive(0x206a));
        ASSERT_FALSE(unichar_is_deceptive(0xfefe));
        ASSERT_TRUE(unichar_is_deceptive(0xfeff));
        ASSERT_FALSE(unichar_is_deceptive(0xe0001)); /* language tag: not on the list */
}

/* ---- deceptive code points in escape_string() ---- */

static void test_escape_deceptive(void) {
        ESC("\xd8\x9c", "\\u061c");                          /* ARABIC LETTER MARK */
        ESC("\xe1\xa0\x8e", "\\u180e");                      /* MONGOLIAN VOWEL SEPARATOR */
        ESC("a\xe2\x80\x8b" "b", "a\\u200bb");               /* ZERO WIDTH SPACE */
        ESC("\xe2\x80\x8f", "\\u200f");                      /* RIGHT-TO-LEFT MARK */
        ESC("x\xe2\x80\xa8y", "x\\u2028y");                  /* LINE SEPARATOR */
        ESC("\xe2\x80\xa9", "\\u2029");                      /* PARAGRAPH SEPARATOR */
        ESC("\xe2\x81\xa0", "\\u2060");                      /* WORD JOINER */
        ESC("\xe2\x81\xa9", "\\u2069");                      /* POP DIRECTIONAL ISOLATE */
        ESC("\xef\xbb\xbf" "x", "\\ufeffx");                 /* BOM, lower-case hex */
        /* "invoice_\u202Efdp.exe" reads "invoice_exe.pdf" */
        ESC("invoice_\xe2\x80\xae" "fdp.exe", "invoice_\\u202efdp.exe");
        /* neighbours pass as they are */
        ESC("\xd8\x9b\xd8\x9d", "\xd8\x9b\xd8\x9d");         /* U+061B, U+061D */
        ESC("\xe2\x80\x8a\xe2\x80\x90", "\xe2\x80\x8a\xe2\x80\x90"); /* U+200A, U+2010 */
        ESC("\xe2\x80\xa7\xe2\x80\xaf", "\xe2\x80\xa7\xe2\x80\xaf"); /* U+2027, U+202F */
        ESC("\xe2\x81\x9f\xe2\x81\xaa", "\xe2\x81\x9f\xe2\x81\xaa"); /* U+205F, U+206A */
        ESC("\xef\xbb\xbe", "\xef\xbb\xbe");                 /* U+FEFE */
        /* a deceptive sequence cut by MAXLEN is escaped byte by byte */
        ASSERT_ESCAPE("\xe2\x80\xae", 2, "\\xe2\\x80");
}

/* Every code point, alone and between two letters: escaped as the lists say,
 * nothing else, and back by unescaping. */
static void test_escape_every_code_point(void) {
        for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
                char in[8], expected[32], back[32];
                size_t n;
                char *r;

                in[0] = 'a';
                n = utf8_encode(cp, in + 1) + 1;
                in[n++] = 'z';
                in[n] = 0;

                if (cp >= 0xd800 && cp <= 0xdfff) /* not encodable: covered by the invalid cases */
                        continue;
                if (cp == '\n')
                        strcpy(expected, "a\\nz");
                else if (cp == '\t')
                        strcpy(expected, "a\\tz");
                else if (cp == '\\' || cp == '"')
                        snprintf(expected, sizeof(expected), "a\\%cz", (char) cp);
                else if (cp < 0x20 || cp == 0x7f)
                        snprintf(expected, sizeof(expected), "a\\x%02xz", (unsigned) cp);
                else if (ref_cp_is_deceptive(cp))
                        snprintf(expected, sizeof(expected), "a\\u%04xz", (unsigned) cp);
                else if (ref_cp_is_noncharacter(cp)) {
                        size_t k = 1;

                        strcpy(expected, "a");
                        for (size_t i = 1; i < n - 1; i++, k += 4)
                                snprintf(expected + k, sizeof(expected) - k, "\\x%02x", (unsigned char) in[i]);
                        strcat(expected, "z");
                } else
                        strcpy(expected, in);

                r = escape_string(in, SIZE_MAX);
                ASSERT_NOT_NULL(r);
                if (strcmp(r, expected) != 0)
                        TEST_FAIL("U+%04X: escape_string() = \"%s\", expected \"%s\"", (unsigned) cp, r, expected);
                assert_text("escape_string", r);
                ASSERT_INT_EQ(unescape_string(r, back), (long) n);
                ASSERT_TRUE(memcmp(back, in, n) == 0);
                free(r);
        }
}

/* ---- escape_excerpt() ---- */

#define ASSERT_EXCERPT(in, show, expected)                              \
        do {                                                            \
                char *_r_ = escape_excerpt((in), (show));               \
                ASSERT_NOT_NULL(_r_);                                   \
                ASSERT_STREQ(_r_, (expected));                          \
                assert_text("escape_excerpt", _r_);                     \
                free(_r_);                                              \
        } while (0)

static void test_escape_excerpt(void) {
        char in[200], expected[300];

        ASSERT_EXCERPT("", 64, "");
        ASSERT_EXCERPT("restricted", 64, "restricted");
        /* escaped like escape_string(), quotes and backslashes included */
        ASSERT_EXCERPT("a\"b\\c\n\x1b[2J\xc2\x9b\xe2\x80\xae\xff", 64, "a\\\"b\\\\c\\n\\x1b[2J\\u009b\\u202e\\xff");

        /* up to SHOW bytes whole, one more is cut and marked */
        memset(in, 'x', 64);
        in[64] = 0;
        ASSERT_EXCERPT(in, 64, in);
        in[64] = 'y', in[65] = 0;
        memcpy(expected, in, 64);
        strcpy(expected + 64, "...");
        ASSERT_EXCERPT(in, 64, expected);
        ASSERT_EXCERPT("abcdef", 3, "abc...");
        ASSERT_EXCERPT("abc", 3, "abc");
        ASSERT_EXCERPT("abcd", 0, "...");
        ASSERT_EXCERPT("", 0, "");

        /* SHOW counts input bytes: the escapes may make it longer */
        ASSERT_EXCERPT("\n\n\n\n", 2, "\\n\\n...");
        /* a sequence cut by SHOW is escaped byte by byte, not lost */
        ASSERT_EXCERPT("ab\xe2\x82\xac", 3, "ab\\xe2...");
        ASSERT_EXCERPT("ab\xe2\x82\xac", 5, "ab\xe2\x82\xac");

        /* reads at most SHOW + 1 bytes (ASan checks) */
        char *buf = malloc(5);
        ASSERT_NOT_NULL(buf);
        memcpy(buf, "\x01\x02\"\\z", 5);
        ASSERT_EXCERPT(buf, 4, "\\x01\\x02\\\"\\\\...");
        free(buf);

        /* a long value: 64 bytes of escapes at most */
        memset(in, '\x1b', sizeof(in) - 1);
        in[sizeof(in) - 1] = 0;
        {
                char *r = escape_excerpt(in, 64);

                ASSERT_NOT_NULL(r);
                ASSERT_INT_EQ(strlen(r), 64 * 4 + 3);
                ASSERT_STARTSWITH(r, "\\x1b\\x1b");
                ASSERT_TRUE(strcmp(r + 64 * 4, "...") == 0);
                free(r);
        }
}

/* ---- escape_display() ---- */

#define ASSERT_DISPLAY(in, expected)                                    \
        do {                                                            \
                char *_r_ = escape_display(in);                         \
                ASSERT_NOT_NULL(_r_);                                   \
                ASSERT_STREQ(_r_, (expected));                          \
                assert_text("escape_display", _r_);                     \
                free(_r_);                                              \
        } while (0)

static void test_escape_display(void) {
        ASSERT_DISPLAY("", "");
        ASSERT_DISPLAY("plain text, caf\xc3\xa9", "plain text, caf\xc3\xa9");
        /* already escaped text stays as it is: backslash and quote pass */
        ASSERT_DISPLAY("memfd:x\\nMESSAGE=\\\"y\\\"\\x1b\\u202e", "memfd:x\\nMESSAGE=\\\"y\\\"\\x1b\\u202e");
        ASSERT_DISPLAY("\"\\", "\"\\");
        /* what a forged journal entry might carry raw is still escaped */
        ASSERT_DISPLAY("a\nb\tc\x1b[2J\x7f", "a\\nb\\tc\\x1b[2J\\x7f");
        ASSERT_DISPLAY("\xc2\x9b" "1m\xe2\x80\xae\xef\xbb\xbf", "\\u009b1m\\u202e\\ufeff");
        ASSERT_DISPLAY("\xff\xc0\x80\xed\xa0\x80\xef\xbf\xbe", "\\xff\\xc0\\x80\\xed\\xa0\\x80\\xef\\xbf\\xbe");

        /* the same as escape_string() wherever there is no \ or " */
        for (unsigned b = 1; b < 256; b++) {
                char in[2] = { (char) b, 0 };
                char *d, *s;

                if (b == '\\' || b == '"')
                        continue;
                d = escape_display(in);
                s = escape_string(in, SIZE_MAX);
                ASSERT_NOT_NULL(d);
                ASSERT_NOT_NULL(s);
                ASSERT_STREQ(d, s);
                free(d);
                free(s);
        }
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_escape_plain);
        TEST(test_escape_specials);
        TEST(test_escape_all_bytes);
        TEST(test_escape_valid_utf8);
        TEST(test_escape_invalid_utf8);
        TEST(test_escape_c1_and_noncharacters);
        TEST(test_escape_maxlen);
        TEST(test_escape_random_round_trip);
        TEST(test_utf8_decode);
        TEST(test_utf8_decode_all);
        TEST(test_unichar_is_deceptive);
        TEST(test_escape_deceptive);
        TEST(test_escape_every_code_point);
        TEST(test_escape_excerpt);
        TEST(test_escape_display);
        return test_finish();
}
