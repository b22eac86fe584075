/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The inverse of escape_string() (src/escape.h), for the unit tests and the
 * fuzzers: \n \t \\ \" \xNN and \uXXXX (lower-case hex; \u for a code point
 * of U+0080..U+FFFF that is not a surrogate, given back in UTF-8). A bare
 * quote, a lone backslash or any other escape is an error. OUT needs
 * strlen(S) bytes. Returns the length written, or -1. */

#include <stddef.h>
#include <stdint.h>

static inline int unescape_hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* The code point of the 4 hex digits at S, or -1. */
static inline long unescape_u4(const char *s) {
        long cp = 0;

        for (int i = 0; i < 4; i++) {
                int v = unescape_hexval(s[i]);

                if (v < 0)
                        return -1;
                cp = cp << 4 | v;
        }
        return cp;
}

static inline long unescape_string(const char *s, char *out) {
        size_t n = 0;
        long cp;

        while (*s) {
                if (*s == '"')
                        return -1;
                if (*s != '\\') {
                        out[n++] = *s++;
                        continue;
                }
                s++;
                switch (*s) {
                case 'n':
                        out[n++] = '\n';
                        s++;
                        break;
                case 't':
                        out[n++] = '\t';
                        s++;
                        break;
                case '\\':
                case '"':
                        out[n++] = *s++;
                        break;
                case 'x':
                        if (unescape_hexval(s[1]) < 0 || unescape_hexval(s[2]) < 0)
                                return -1;
                        out[n++] = (char) (unescape_hexval(s[1]) << 4 | unescape_hexval(s[2]));
                        s += 3;
                        break;
                case 'u':
                        /* "\uXXXX" is 6 bytes, its UTF-8 at most 3: OUT is
                         * big enough. */
                        cp = unescape_u4(s + 1);
                        if (cp < 0x80 || (cp >= 0xd800 && cp <= 0xdfff))
                                return -1;
                        if (cp < 0x800) {
                                out[n++] = (char) (0xc0 | cp >> 6);
                                out[n++] = (char) (0x80 | (cp & 0x3f));
                        } else {
                                out[n++] = (char) (0xe0 | cp >> 12);
                                out[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                                out[n++] = (char) (0x80 | (cp & 0x3f));
                        }
                        s += 5;
                        break;
                default:
                        return -1;
                }
        }
        return (long) n;
}
