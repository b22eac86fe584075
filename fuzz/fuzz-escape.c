/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The escaper (src/escape.c) on arbitrary bytes. The input is handed over as
 * it is, without a terminating NUL, so that reading past MAXLEN is an
 * AddressSanitizer report. Invariants (escape.h: "the result is printable,
 * valid UTF-8 and one line: control characters and bytes that are not valid
 * UTF-8 become \xNN, deceptive code points \uXXXX, backslash and double quote
 * \\ and \""):
 *  - escape_string()'s result is valid UTF-8, printable and has no newline,
 *    no C1 control, no other deceptive code point and no noncharacter
 *    (fuzz-common.h);
 *  - at most 4 bytes out per byte in (the size escape_string() allocates);
 *  - every double quote in it is escaped, so it can be put between quotes;
 *  - it is reversible: unescaping gives back the input up to MAXLEN or the
 *    first NUL, byte for byte;
 *  - exactly what the header lists is escaped, nothing more: walking input
 *    and result side by side, a well-formed sequence that is neither a
 *    deceptive code point nor a noncharacter, and any printable ASCII but '\'
 *    and '"', is copied as it is; a deceptive code point is one \uXXXX of its
 *    own, in lower-case hex; every other byte is one escape of its own;
 *  - utf8_decode() agrees at every offset with a decoder written from the
 *    Unicode standard's table of well-formed sequences, length and code
 *    point, minus the noncharacters, which its contract rejects ("as sd-bus
 *    accepts it"); unichar_is_deceptive() agrees with the documented list on
 *    every code point decoded;
 *  - escape_excerpt(S, SHOW) is escape_string() of S's first SHOW bytes, then
 *    "..." exactly when S is longer, reading at most SHOW + 1 bytes;
 *  - escape_display() is escape_string() with backslash and double quote
 *    left as they are. */

#include "escape.h"
#include "fuzz-common.h"

/* What utf8_decode() promises, from the Unicode table: the length of the
 * well-formed sequence at S, 0 for none or for a noncharacter. */
static size_t ref_sequence_length(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        size_t k = fuzz_utf8_decode(s, n, ret_cp);

        return k > 0 && fuzz_cp_is_noncharacter(*ret_cp) ? 0 : k;
}

/* Length of the one-byte escape at S (a backslash and what follows), or 0. */
static size_t escape_length(const char *s) {
        if (s[0] != '\\')
                return 0;
        if (s[1] == 'n' || s[1] == 't' || s[1] == '\\' || s[1] == '"')
                return 2;
        if (s[1] == 'x' && unescape_hexval(s[2]) >= 0 && unescape_hexval(s[3]) >= 0)
                return 4;
        return 0;
}

/* R must copy raw exactly what needs no escape, show each deceptive code
 * point as one \uXXXX and escape every other byte, one escape per byte (the
 * values are checked by the round trip). */
static void check_escaped_exactly(const uint8_t *data, size_t n, const char *r) {
        size_t i = 0, j = 0;

        while (i < n) {
                uint32_t cp = 0;
                size_t k = ref_sequence_length(data + i, n - i, &cp), e;
                bool raw = k > 1 ? !fuzz_cp_is_deceptive(cp)
                                 : k == 1 && cp >= 0x20 && cp != 0x7f && cp != '\\' && cp != '"';

                if (raw) {
                        if (strncmp(r + j, (const char *) data + i, k) != 0) {
                                fuzz_dump("input from here", data + i, n - i);
                                fuzz_dump("result from here", r + j, strlen(r + j));
                                FUZZ_FAIL("input offset %zu: %zu bytes that need no escape (U+%04X) are not copied as "
                                          "they are", i, k, (unsigned) cp);
                        }
                        i += k, j += k;
                        continue;
                }
                if (k > 1) {
                        char expected[8];

                        snprintf(expected, sizeof(expected), "\\u%04x", (unsigned) cp);
                        if (strncmp(r + j, expected, 6) != 0) {
                                fuzz_dump("input from here", data + i, n - i);
                                fuzz_dump("result from here", r + j, strlen(r + j));
                                FUZZ_FAIL("input offset %zu: the deceptive code point U+%04X is not shown as %s", i,
                                          (unsigned) cp, expected);
                        }
                        i += k, j += 6;
                        continue;
                }
                e = escape_length(r + j);
                if (e == 0) {
                        fuzz_dump("input from here", data + i, n - i);
                        fuzz_dump("result from here", r + j, strlen(r + j));
                        FUZZ_FAIL("input offset %zu: byte 0x%02x (%s) is not escaped", i, data[i],
                                  k == 0 ? "not a well-formed sequence or a noncharacter"
                                         : "a control character, '\\' or '\"'");
                }
                i++, j += e;
        }
        if (r[j] != 0) {
                fuzz_dump("trailing result", r + j, strlen(r + j));
                FUZZ_FAIL("escape_string() wrote more than the input accounts for");
        }
}

static void check_escape(const uint8_t *data, size_t maxlen) {
        size_t n = strnlen((const char *) data, maxlen);
        char *r = escape_string((const char *) data, maxlen);

        FUZZ_ASSERT(r);
        fuzz_check_text("escape_string() result", r);
        if (strlen(r) > 4 * n) {
                fuzz_dump("result", r, strlen(r));
                FUZZ_FAIL("escape_string() wrote %zu bytes for %zu", strlen(r), n);
        }
        FUZZ_ASSERT_STR(fuzz_no_bare_quote(r), "escape_string() result", r);
        fuzz_check_round_trip("escape_string() result", r, data, n);
        check_escaped_exactly(data, n, r);
        free(r);
}

/* escape_excerpt(DATA, SHOW), DATA being SIZE bytes without a terminator:
 * SHOW + 1 bytes are all it may read, so only that much is passed when the
 * input is longer. */
static void check_excerpt(const uint8_t *data, size_t size, size_t show) {
        size_t avail = size < show + 1 ? size : show + 1, n = strnlen((const char *) data, avail);
        char *copy, *r, *head, *expected;

        /* a private copy: terminated when the input ends before SHOW + 1,
         * unterminated (ASan checks the read) otherwise */
        copy = malloc(avail + (avail == show + 1 ? 0 : 1));
        FUZZ_ASSERT(copy);
        memcpy(copy, data, avail);
        if (avail < show + 1)
                copy[avail] = 0;

        r = escape_excerpt(copy, show);
        FUZZ_ASSERT(r);
        head = escape_string(copy, n < show ? n : show);
        FUZZ_ASSERT(head);
        expected = malloc(strlen(head) + 4);
        FUZZ_ASSERT(expected);
        strcpy(expected, head);
        if (n > show)
                strcat(expected, "...");
        if (strcmp(r, expected) != 0) {
                fuzz_dump("input", data, avail);
                fuzz_dump("escape_excerpt()", r, strlen(r));
                fuzz_dump("expected", expected, strlen(expected));
                FUZZ_FAIL("escape_excerpt(input, %zu) is not escape_string() of the first %zu bytes%s", show, show,
                          n > show ? " and \"...\"" : "");
        }
        fuzz_check_text("escape_excerpt() result", r);
        free(expected);
        free(head);
        free(r);
        free(copy);
}

/* escape_display(S) must be escape_string(S) with \\ and \" written as \ and
 * ", every other escape the same. */
static void check_display(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size), *d, *r, *expected, *p;

        FUZZ_ASSERT(s);
        d = escape_display(s);
        r = escape_string(s, SIZE_MAX);
        FUZZ_ASSERT(d && r);
        expected = p = malloc(strlen(r) + 1);
        FUZZ_ASSERT(expected);
        for (const char *q = r; *q;) {
                if (q[0] == '\\' && (q[1] == '\\' || q[1] == '"')) {
                        *p++ = q[1];
                        q += 2;
                } else if (q[0] == '\\') {
                        size_t e = q[1] == 'u' ? 6 : escape_length(q);

                        FUZZ_ASSERT(e > 0);
                        memcpy(p, q, e);
                        p += e, q += e;
                } else
                        *p++ = *q++;
        }
        *p = 0;
        if (strcmp(d, expected) != 0) {
                fuzz_dump("input", s, strlen(s));
                fuzz_dump("escape_display()", d, strlen(d));
                fuzz_dump("expected", expected, strlen(expected));
                FUZZ_FAIL("escape_display() is not escape_string() with \\ and \" left alone");
        }
        free(expected);
        free(r);
        free(d);
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (size_t i = 0; i < size; i++) {
                uint32_t cp = 0, ref_cp = 0;
                size_t theirs = utf8_decode(data + i, size - i, &cp),
                       ours = ref_sequence_length(data + i, size - i, &ref_cp);

                if (theirs != ours || (ours > 0 && cp != ref_cp)) {
                        fuzz_dump("bytes", data + i, size - i < 4 ? size - i : 4);
                        FUZZ_FAIL("utf8_decode() = %zu (U+%04X) at offset %zu, expected %zu (U+%04X) (the Unicode "
                                  "table%s)", theirs, (unsigned) cp, i, ours, (unsigned) ref_cp,
                                  fuzz_utf8_decode(data + i, size - i, &ref_cp) > 0 && fuzz_cp_is_noncharacter(ref_cp)
                                          ? " says well-formed, but a noncharacter must be rejected" : "");
                }
                FUZZ_ASSERT(utf8_sequence_length(data + i, size - i) == theirs);
                if (ours > 0 && unichar_is_deceptive(cp) != fuzz_cp_is_deceptive(cp))
                        FUZZ_FAIL("unichar_is_deceptive(U+%04X) = %d, the documented list says %d", (unsigned) cp,
                                  unichar_is_deceptive(cp), fuzz_cp_is_deceptive(cp));
        }

        check_escape(data, size);
        /* A limit inside the input, possibly in the middle of a sequence. */
        if (size > 0) {
                check_escape(data, data[0] % (size + 1));
                check_excerpt(data, size, data[0] % 80);
        }
        check_excerpt(data, size, 64);
        check_display(data, size);
        return 0;
}
