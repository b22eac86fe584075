/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fileless.h"

/* The one description of what an event carries. The journal entry, the stderr
 * line, the D-Bus Event signal, filelesslockctl's decoding of both and the
 * tests all walk event_field_table[]: adding a field is adding a row. */

typedef enum EventFieldType {
        EVENT_TYPE_STRING, /* escaped, printable UTF-8 */
        EVENT_TYPE_U32,
        EVENT_TYPE_U64,
        EVENT_TYPE_BOOL,   /* journal 0/1 */
        EVENT_TYPE_DEVICE, /* journal "major:minor", D-Bus a dev_t as stat() returns it */
        _EVENT_TYPE_MAX,
} EventFieldType;

typedef enum EventField {
        EVENT_ACTION,
        EVENT_OPERATION,
        EVENT_KIND,
        EVENT_PROFILE,
        EVENT_SCOPE,
        EVENT_BACKEND,
        EVENT_SCRIPT,
        EVENT_PID,
        EVENT_PPID,
        EVENT_UID,
        EVENT_GID,
        EVENT_COMM,
        EVENT_EXEC_COMM,
        EVENT_PARENT_COMM,
        EVENT_PROGRAM,
        EVENT_PROGRAM_INODE,
        EVENT_FILE_NAME,
        EVENT_EXEC_PATH,
        EVENT_INODE,
        EVENT_DEVICE,
        EVENT_PID_NAMESPACE,
        EVENT_PID_NAMESPACE_LEVEL,
        EVENT_CGROUP_ID,
        EVENT_UNIT,
        EVENT_USER_UNIT,
        EVENT_TIMESTAMP,
        _EVENT_FIELD_MAX,
        _EVENT_FIELD_INVALID = -1,
} EventField;

typedef struct EventValue {
        bool set;
        char *str;    /* EVENT_TYPE_STRING */
        uint64_t num; /* the others; a device in the kernel's encoding */
} EventValue;

/* What the kernel's record does not say: filled in by the daemon. */
typedef struct EventContext {
        uint64_t realtime_usec; /* the event's boot_ns translated to CLOCK_REALTIME */
        const char *shm_dir;    /* mount point of the shm superblock of the event's file, if any */
        const char *unit;       /* systemd unit of the exec'ing task's cgroup, if any */
        const char *user_unit;  /* unit of a user's service manager inside that unit, if any */
        const char *scope;      /* the unit or slice whose profile decided, NULL for the machine-wide one */
} EventContext;

typedef struct EventFieldInfo {
        const char *journal;     /* the journal field, FILELESS_... */
        const char *bus;         /* the key in the D-Bus Event signal */
        EventFieldType type;
        bool optional;           /* left out when there is nothing to say */
        /* Raw members of struct fl_event are read at OFFSET (SIZE bytes); the
         * others are derived by GET, which returns 0 with nothing set, 1 when
         * it set the value, or a negative errno. */
        size_t offset, size;
        int (*get)(const struct fl_event *e, const EventContext *ctx, EventValue *ret);
        const char *description; /* one line, for documentation checks and --help-like listings */
} EventFieldInfo;

extern const EventFieldInfo event_field_table[_EVENT_FIELD_MAX];

/* 's', 'u', 't' or 'b'. */
char event_type_bus_signature(EventFieldType t);
EventField event_field_from_journal(const char *name);
EventField event_field_from_bus(const char *key);

typedef struct EventRecord {
        EventValue values[_EVENT_FIELD_MAX];
        char *message; /* without MESSAGE= */
        int priority;
} EventRecord;

void event_record_done(EventRecord *r);

/* Sets a string field from S (at most MAXLEN bytes), escaped. */
int event_record_set_string(EventRecord *r, EventField f, const char *s, size_t maxlen);
void event_record_set_number(EventRecord *r, EventField f, uint64_t v);
const char *event_record_string(const EventRecord *r, EventField f);
bool event_record_number(const EventRecord *r, EventField f, uint64_t *ret);

/* A field as the journal shows it. */
int event_value_format(const EventRecord *r, EventField f, char **ret);
/* The inverse, for values read back from the journal: -EINVAL when VALUE does
 * not have the field's type (a forged or foreign entry). */
int event_value_parse(EventRecord *r, EventField f, const char *value);

/* Fills R from the kernel's record E and the daemon's context: every field of
 * the table, the message and the priority. */
int event_record_from_kernel(const struct fl_event *e, const EventContext *ctx, EventRecord *ret);
