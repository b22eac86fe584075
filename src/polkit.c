/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "log.h"
#include "polkit.h"

typedef struct PolkitQuery {
        polkit_callback_t callback;
        void *userdata;
        bool done;
} PolkitQuery;

static void query_destroy(void *userdata) {
        PolkitQuery *q = userdata;

        /* The slot went away without an answer (bus closed at exit): the request
         * is still owed one. */
        if (!q->done)
                q->callback(-ECANCELED, NULL, q->userdata);
        free(q);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        q->done = true;
        e = sd_bus_message_get_error(reply);
        if (e) {
                q->callback(-sd_bus_message_get_errno(reply) ?: -EACCES, e, q->userdata);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                sd_bus_error err = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_INVALID_ARGS, "Malformed reply from polkit");

                q->callback(-EBADMSG, &err, q->userdata);
                return 0;
        }

        q->callback(authorized ? POLKIT_AUTHORIZED : challenge ? POLKIT_CHALLENGE : POLKIT_DENIED, NULL, q->userdata);
        return 0;
}

int polkit_check_async(sd_bus *bus, sd_bus_message *request, const char *action, bool interactive,
                       uint64_t timeout_usec, polkit_callback_t callback, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus_slot *slot = NULL;
        const char *sender;
        PolkitQuery *q;
        int r;

        sender = sd_bus_message_get_sender(request);
        if (!sender)
                return -EBADMSG;

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;

        /* The subject is the caller's unique bus name: polkitd resolves it to
         * a process and user itself, so nothing the caller claims is trusted. */
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender, action, 0,
                                  (uint32_t) (interactive ? 1 : 0), "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->callback = callback;
        q->userdata = userdata;

        r = sd_bus_call_async(bus, &slot, call, on_reply, q, timeout_usec);
        if (r < 0) {
                free(q);
                return r;
        }
        /* Floating: the bus owns the slot until the answer or the timeout. */
        sd_bus_slot_set_destroy_callback(slot, query_destroy);
        sd_bus_slot_set_floating(slot, true);
        sd_bus_slot_unref(slot);
        return 0;
}

void polkit_result_to_error(int result, const sd_bus_error *perr, const char *action, const char *what,
                            sd_bus_error *error) {
        if (result == POLKIT_CHALLENGE)
                sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Interactive authentication required to %s (%s).", what, action);
        else if (result == POLKIT_DENIED)
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized to %s (%s).", what, action);
        else
                /* No polkit, no answer in time, or cancelled: deny, and say why. */
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Not authorized to %s (%s): polkit could not be asked (%s%s%s).", what, action,
                                  perr && perr->name ? perr->name : strerror(-result),
                                  perr && perr->message ? ": " : "", perr && perr->message ? perr->message : "");
}
