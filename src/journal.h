/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "event-fields.h"
#include "util.h"

#define FL_SYSLOG_IDENTIFIER "filelesslock"

/* A structured entry: "NAME=value" strings, one of them MESSAGE=. */
typedef struct JournalFields {
        char **v;
        size_t n;
} JournalFields;

int journal_fields_add(JournalFields *f, const char *format, ...) _printf_(2, 3);
void journal_fields_done(JournalFields *f);

/* The event as the journal gets it: MESSAGE, MESSAGE_ID, PRIORITY, OBJECT_PID
 * and one FILELESS_ field for each field of event_field_table[] that is set. */
int journal_fields_from_event(const EventRecord *r, JournalFields *ret);

/* One line for stderr: the message (its quotes and backslashes escaped),
 * then every other field as NAME="value". The values are escaped already, so
 * quoting keeps the line parseable. */
int journal_fields_line(const JournalFields *f, char **ret);

/* Sends F to journald under SYSLOG_IDENTIFIER=filelesslock. When journald
 * cannot be reached, the same entry goes to stderr as one line, and the switch
 * in either direction is announced once. */
int journal_send(const JournalFields *f);
int journal_send_event(const EventRecord *r);

/* The shape of sd_journal_send(): a MESSAGE_ID and a priority, then pairs of
 * "NAME=format", arguments..., ended by NULL. MESSAGE(...) is the message. */
int journal_struct(int priority, const char *message_id, const char *format, ...) _sentinel_;
#define MESSAGE(fmt, ...) "MESSAGE=" fmt, ##__VA_ARGS__
