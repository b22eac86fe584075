/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "event-fields.h"
#include "manager.h"
#include "polkit.h"

/* org.bpflock.Fileless1 on the system bus. Without a bus the daemon still
 * enforces and logs; it says so and goes on. */
int bus_setup(Manager *m);

int bus_emit_event(Manager *m, const EventRecord *rec);
int bus_emit_properties_changed(Manager *m, const char *property);
int bus_polkit_check(Manager *m, sd_bus_message *message, const char *action, bool interactive,
                     polkit_callback_t callback, void *userdata);
