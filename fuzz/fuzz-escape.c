/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* escape_string() and utf8_sequence_length() on arbitrary bytes. The input is
 * handed over as it is, without a terminating NUL, so that reading past MAXLEN
 * is an AddressSanitizer report. Invariants (event-format.h: "the result is
 * printable, valid UTF-8 and one line: control characters (C0, DEL and C1),
 * backslash, double quote and bytes that are not part of valid UTF-8 (or
 * encode a noncharacter) become C escapes"):
 *  - the result is valid UTF-8, printable and has no newline, no C1 control
 *    and no noncharacter (fuzz-common.h);
 *  - at most 4 bytes out per byte in (the size escape_string() allocates);
 *  - every double quote in it is escaped, so it can be put between quotes;
 *  - it is reversible: unescaping gives back the input up to MAXLEN or the
 *    first NUL, byte for byte;
 *  - exactly what the header lists is escaped, nothing more: walking input
 *    and result side by side, a well-formed sequence that is neither a C1
 *    control nor a noncharacter, and any printable ASCII but '\' and '"',
 *    is copied as it is; every other byte is one escape of its own;
 *  - utf8_sequence_length() agrees at every offset with a decoder written
 *    from the Unicode standard's table of well-formed sequences, minus the
 *    noncharacters, which its contract rejects (event-format.h, "as sd-bus
 *    does"); C1 controls are well-formed and accepted there, only
 *    escape_string() escapes them. */

#include "event-format.h"
#include "fuzz-common.h"

/* What utf8_sequence_length() promises, from the Unicode table: the length of
 * the well-formed sequence at S, 0 for none or for a noncharacter. */
static size_t ref_sequence_length(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        size_t k = fuzz_utf8_decode(s, n, ret_cp);

        return k > 0 && fuzz_cp_is_noncharacter(*ret_cp) ? 0 : k;
}

/* Length of the escape at S (a backslash and what follows), or 0. */
static size_t escape_length(const char *s) {
        if (s[0] != '\\')
                return 0;
        if (s[1] == 'n' || s[1] == 't' || s[1] == '\\' || s[1] == '"')
                return 2;
        if (s[1] == 'x' && unescape_hexval(s[2]) >= 0 && unescape_hexval(s[3]) >= 0)
                return 4;
        return 0;
}

/* R must copy raw exactly what needs no escape and escape every other byte,
 * one escape per byte (its value is checked by the round trip). */
static void check_escaped_exactly(const uint8_t *data, size_t n, const char *r) {
        size_t i = 0, j = 0;

        while (i < n) {
                uint32_t cp;
                size_t k = ref_sequence_length(data + i, n - i, &cp), e;
                bool raw = k > 1 ? !fuzz_cp_is_c1(cp) : k == 1 && cp >= 0x20 && cp != 0x7f && cp != '\\' && cp != '"';

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
                e = escape_length(r + j);
                if (e == 0) {
                        fuzz_dump("input from here", data + i, n - i);
                        fuzz_dump("result from here", r + j, strlen(r + j));
                        FUZZ_FAIL("input offset %zu: byte 0x%02x (%s) is not escaped", i, data[i],
                                  k == 0 ? "not a well-formed sequence or a noncharacter" :
                                  k > 1  ? "starts a C1 control" :
                                           "a control character, '\\' or '\"'");
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (size_t i = 0; i < size; i++) {
                uint32_t cp = 0;
                size_t theirs = utf8_sequence_length(data + i, size - i), ours = ref_sequence_length(data + i, size - i, &cp);

                if (theirs != ours) {
                        fuzz_dump("bytes", data + i, size - i < 4 ? size - i : 4);
                        FUZZ_FAIL("utf8_sequence_length() = %zu at offset %zu, expected %zu (the Unicode table%s)",
                                  theirs, i, ours,
                                  fuzz_utf8_decode(data + i, size - i, &cp) > 0 && fuzz_cp_is_noncharacter(cp) ?
                                          " says well-formed, but a noncharacter must be rejected" : "");
                }
        }

        check_escape(data, size);
        /* A limit inside the input, possibly in the middle of a sequence. */
        if (size > 0)
                check_escape(data, data[0] % (size + 1));
        return 0;
}
