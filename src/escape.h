/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The one escaper of the project: every string an attacker may choose (comm,
 * memfd and file names, paths, cgroup names, configuration values, bus
 * arguments) goes through it before it reaches the journal, a D-Bus message,
 * an error message or a terminal. */

/* Decodes the UTF-8 sequence at S (N bytes available) into *RET_CP and returns
 * its length, or returns 0 for anything that is not valid UTF-8 as sd-bus
 * accepts it: overlong forms, surrogates, code points above U+10FFFF and
 * noncharacters (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF). */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp);

static inline size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t cp;

        return utf8_decode(s, n, &cp);
}

/* Code points that are valid but change how the text around them reads
 * without showing themselves: C1 controls, bidirectional embeddings,
 * overrides and isolates, zero-width characters, the line and paragraph
 * separators and the byte order mark. */
bool unichar_is_deceptive(uint32_t cp);

/* Escapes S (at most MAXLEN bytes, stopping at NUL) so that the result is
 * printable, valid UTF-8 and one line: control characters and bytes that are
 * not valid UTF-8 become \xNN, deceptive code points \uXXXX, backslash and
 * double quote \\ and \". Returns NULL when out of memory. */
char *escape_string(const char *s, size_t maxlen);

/* Like escape_string(), for showing a value in a message: at most SHOW bytes
 * of S are escaped, and "..." marks a cut. */
char *escape_excerpt(const char *s, size_t show);

/* For a terminal, of text that may be escaped already (an event read back
 * from the journal): like escape_string() but backslash and double quote
 * stay as they are. */
char *escape_display(const char *s);
