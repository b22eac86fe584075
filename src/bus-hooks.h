/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* MeasureHooks(u seconds) -> a(stt): for each attached program, its name,
 * runs and nanoseconds spent in it during those seconds. */
int method_measure_hooks(sd_bus_message *message, void *userdata, sd_bus_error *error);
