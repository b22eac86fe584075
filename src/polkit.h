/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "util.h"

enum {
        POLKIT_DENIED = 0,
        POLKIT_AUTHORIZED = 1,
        POLKIT_CHALLENGE = 2, /* would be authorized after interactive authentication */
};

/* RESULT is one of the above or a negative errno (polkit unreachable, timed
 * out, cancelled); ERROR is polkit's D-Bus error if it sent one. */
typedef void (*polkit_callback_t)(int result, const sd_bus_error *error, void *userdata);

/* Asks polkitd whether the sender of REQUEST may perform ACTION, without
 * blocking: CALLBACK runs exactly once, from the event loop. */
int polkit_check_async(sd_bus *bus, sd_bus_message *request, const char *action, bool interactive,
                       uint64_t timeout_usec, polkit_callback_t callback, void *userdata);

/* The D-Bus error for a RESULT other than POLKIT_AUTHORIZED: what the caller
 * was not authorized to do (WHAT, "set the profile"), naming ACTION. */
void polkit_result_to_error(int result, const sd_bus_error *perr, const char *action, const char *what,
                            sd_bus_error *error);
