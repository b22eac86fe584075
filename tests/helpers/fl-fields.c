/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Prints the event table, event_field_table[] of src/event-fields.c, as one
 * JSON object for tests/doc-fields.py: for each row its journal field, its
 * key in the D-Bus Event signal and that key's type letter, whether it may
 * be left out, and its description. The table is what the daemon sends, so
 * the documentation is checked against it rather than against a copy. */

#include <stdio.h>

#include "event-fields.h"

static void json_string(const char *s) {
        putchar('"');
        for (const unsigned char *p = (const unsigned char *) (s ?: ""); *p; p++)
                if (*p == '"' || *p == '\\')
                        printf("\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        printf("\\u%04x", *p);
                else
                        putchar(*p);
        putchar('"');
}

int main(void) {
        fputs("{\"fields\":[", stdout);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                const EventFieldInfo *info = &event_field_table[f];
                char sig[2] = { event_type_bus_signature(info->type), 0 };

                fputs(f > 0 ? ",\n{\"journal\":" : "\n{\"journal\":", stdout);
                json_string(info->journal);
                fputs(",\"bus\":", stdout);
                json_string(info->bus);
                fputs(",\"signature\":", stdout);
                json_string(sig);
                printf(",\"optional\":%s,\"description\":", info->optional ? "true" : "false");
                json_string(info->description);
                putchar('}');
        }
        fputs("\n]}\n", stdout);
        return ferror(stdout) || fflush(stdout) != 0 ? 1 : 0;
}
