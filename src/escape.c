/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        uint32_t cp;
        size_t len;

        if (n == 0)
                return 0;
        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        /* Noncharacters: sd-bus refuses them in a string, so one in a memfd
         * name would cost the whole Event signal. */
        if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
                return 0;
        *ret_cp = cp;
        return len;
}

bool unichar_is_deceptive(uint32_t cp) {
        /* C1 controls drive terminals as C0 ones do; U+061C and U+200E/F mark
         * direction; U+202A..E and U+2066..9 embed, override and isolate it
         * (a name that reads "exe.txt" but is "txt.exe"); U+200B..D and U+2060..4
         * are invisible; U+2028/9 break lines where a reader expects none;
         * U+FEFF is a zero-width no-break space. */
        return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
               (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

static size_t escape_into(char *r, const unsigned char *p, size_t n, bool quotes) {
        size_t j = 0;

        for (size_t i = 0; i < n;) {
                uint32_t cp = 0;
                size_t len = utf8_decode(p + i, n - i, &cp);
                unsigned char c = p[i];

                if (len > 1) {
                        if (unichar_is_deceptive(cp))
                                j += sprintf(r + j, "\\u%04x", (unsigned) cp);
                        else {
                                memcpy(r + j, p + i, len);
                                j += len;
                        }
                        i += len;
                        continue;
                }
                i++;
                switch (c) {
                case '\n':
                        r[j++] = '\\', r[j++] = 'n';
                        break;
                case '\t':
                        r[j++] = '\\', r[j++] = 't';
                        break;
                case '\\':
                case '"':
                        if (quotes)
                                r[j++] = '\\';
                        r[j++] = c;
                        break;
                default:
                        if (len == 0 || c < 0x20 || c == 0x7f)
                                j += sprintf(r + j, "\\x%02x", c);
                        else
                                r[j++] = c;
                }
        }
        r[j] = 0;
        return j;
}

char *escape_string(const char *s, size_t maxlen) {
        size_t n = strnlen(s, maxlen);
        char *r;

        /* Worst case: every byte becomes \xNN; a 3-byte sequence becomes the
         * six of \uXXXX. */
        r = malloc(n * 4 + 1);
        if (!r)
                return NULL;
        escape_into(r, (const unsigned char *) s, n, true);
        return r;
}

char *escape_excerpt(const char *s, size_t show) {
        size_t n = strnlen(s, show + 1);
        bool cut = n > show;
        char *r;

        if (cut)
                n = show;
        r = malloc(n * 4 + 4);
        if (!r)
                return NULL;
        n = escape_into(r, (const unsigned char *) s, n, true);
        if (cut)
                strcpy(r + n, "...");
        return r;
}

char *escape_display(const char *s) {
        size_t n = strlen(s);
        char *r = malloc(n * 4 + 1);

        if (!r)
                return NULL;
        escape_into(r, (const unsigned char *) s, n, false);
        return r;
}
