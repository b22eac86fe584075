/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fileless.h"

#define EVENT_FIELDS_MAX 32

/* An event rendered as journal fields ("NAME=value", every value printable
 * and valid UTF-8) plus a readable message. */
typedef struct EventFields {
        size_t n;
        char *fields[EVENT_FIELDS_MAX];
        char *message; /* without the "MESSAGE=" prefix */
        int priority;
} EventFields;

typedef struct EventContext {
        uint64_t realtime_usec;  /* the event's boot_ns translated to CLOCK_REALTIME */
        const char *shm_dir;     /* mount point of the shm superblock of the event's file, if any */
        const char *unit;        /* systemd unit of the exec'ing task's cgroup, if any */
} EventContext;

/* Length of the valid UTF-8 sequence at S (N bytes available), or 0. Rejects
 * overlong forms, surrogates, code points above U+10FFFF and noncharacters
 * (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF), as sd-bus does. */
size_t utf8_sequence_length(const unsigned char *s, size_t n);

/* Escapes S (at most MAXLEN bytes, stopping at NUL) so that the result is
 * printable, valid UTF-8 and one line: control characters (C0, DEL and C1),
 * backslash, double quote and bytes that are not part of valid UTF-8 (or
 * encode a noncharacter) become C escapes. */
char *escape_string(const char *s, size_t maxlen);

int event_format(const struct fl_event *e, const EventContext *ctx, EventFields *ret);
void event_fields_done(EventFields *f);

/* One line for stderr: MESSAGE, then every field as NAME="value". */
int event_format_line(const EventFields *f, char **ret);
