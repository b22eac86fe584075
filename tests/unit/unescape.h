/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The inverse of escape_string() (src/event-format.h), for the unit tests
 * and the fuzzers: \n \t \\ \" \xNN (lower-case hex). A bare quote, a lone
 * backslash or any other escape is an error. OUT needs strlen(S) bytes.
 * Returns the length written, or -1. */

#include <stddef.h>

static inline int unescape_hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static inline long unescape_string(const char *s, char *out) {
        size_t n = 0;

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
                default:
                        return -1;
                }
        }
        return (long) n;
}
