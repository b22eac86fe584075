/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "event-fields.h"

/* The body of an org.bpflock.Fileless1.Event signal: an a{sv} with one entry
 * for each field of event_field_table[] that R has, under its D-Bus key and
 * type. Pure message building, no bus I/O, so the fuzzers run exactly this. */
int bus_event_append(sd_bus_message *m, const EventRecord *r);

/* The inverse, for clients: reads the a{sv} the message is positioned on.
 * Unknown keys are skipped (a newer daemon may send more); a known key with
 * another type is an error. */
int bus_event_read(sd_bus_message *m, EventRecord *ret);

/* The InvalidArgs error for a profile name that is not one. VALUE is the
 * caller's string: escaped and cut in the message. */
int bus_error_invalid_profile(sd_bus_error *error, const char *value);
