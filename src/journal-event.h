/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "event-format.h"
#include "util.h"

#define FL_SYSLOG_IDENTIFIER "filelesslock"

/* Sends the fields to journald under SYSLOG_IDENTIFIER=filelesslock. When
 * journald cannot be reached the same detail goes to stderr as one line,
 * and the switch in either direction is announced once. */
int journal_send_event(const EventFields *f);

/* A daemon-level entry (start, profile change, lost events) with its own
 * MESSAGE_ID, the message, and extra "NAME=value" fields (NULL-terminated). */
int journal_send_message(const char *message_id, int priority, const char *const *extra, const char *format, ...)
        _printf_(4, 5);
