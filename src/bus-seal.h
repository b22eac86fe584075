/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

#define ACTION_SEAL "org.bpflock.fileless1.seal"

/* Seal(b interactive) -> s tamper_resistance, behind polkit action
 * ACTION_SEAL; and the Sealed, TamperResistance and TamperAttempts
 * properties. */
int method_seal(sd_bus_message *message, void *userdata, sd_bus_error *error);
int property_get_sealed(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error);
