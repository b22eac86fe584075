/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "event-format.h"
#include "fileless.h"

/* The body of an org.bpflock.Fileless1.Event signal: the a{sv} of event E,
 * its strings taken from F (event_format()'s escaped fields, valid UTF-8
 * whatever bytes the attacker chose). Pure message building, no bus I/O, so
 * the fuzzers run exactly this. */
int bus_event_append(sd_bus_message *s, const struct fl_event *e, const EventFields *f, uint64_t realtime_usec);

/* The InvalidArgs error for a profile name that is not one. VALUE is the
 * caller's string: escaped and cut in the message. */
int bus_error_invalid_profile(sd_bus_error *error, const char *value);
