/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Seal() and the properties of sealed mode. */

#include "bpf-seal.h"
#include "bus.h"
#include "bus-seal.h"
#include "log.h"
#include "polkit.h"

typedef struct SealRequest {
        Manager *manager;
        sd_bus_message *message;
} SealRequest;

static SealRequest *seal_request_free(SealRequest *req) {
        if (!req)
                return NULL;
        sd_bus_message_unref(req->message);
        return mfree(req);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SealRequest *, seal_request_free);

static int seal_apply(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        ProfileChange c = { .how = "over D-Bus", .has_caller = true, .uid = (uid_t) -1 };

        if (sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_UNIT |
                                                       SD_BUS_CREDS_AUGMENT, &creds) >= 0) {
                (void) sd_bus_creds_get_euid(creds, &c.uid);
                (void) sd_bus_creds_get_pid(creds, &c.pid);
                (void) sd_bus_creds_get_unit(creds, &c.unit);
        }
        return manager_seal(m, &c, error);
}

static void on_polkit_result(int result, const sd_bus_error *perr, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(seal_request_freep) SealRequest *req = userdata;

        if (result == POLKIT_AUTHORIZED) {
                if (seal_apply(req->manager, req->message, &error) >= 0) {
                        (void) sd_bus_reply_method_return(req->message, "s",
                                                          manager_tamper_resistance(req->manager));
                        return;
                }
        } else
                polkit_result_to_error(result, perr, ACTION_SEAL, "seal", &error);
        (void) sd_bus_reply_method_error(req->message, &error);
}

int method_seal(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(seal_request_freep) SealRequest *req = NULL;
        Manager *m = userdata;
        int interactive, r;

        r = sd_bus_message_read(message, "b", &interactive);
        if (r < 0)
                return r;
        interactive = interactive || sd_bus_message_get_allow_interactive_authorization(message) > 0;
        /* Already sealed: nothing to authorize, the answer is the same. */
        if (m->bpf->sealed)
                return sd_bus_reply_method_return(message, "s", manager_tamper_resistance(m));

        req = new0(SealRequest, 1);
        if (!req)
                return -ENOMEM;
        *req = (SealRequest) { .manager = m, .message = sd_bus_message_ref(message) };
        r = bus_polkit_check(m, message, ACTION_SEAL, interactive, on_polkit_result, req);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit: %m");
        TAKE_PTR(req);
        return 1;
}

int property_get_sealed(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t stats[_FL_STAT_MAX], tampered = 0;
        int r;

        if (streq(property, "Sealed"))
                return sd_bus_message_append(reply, "b", m->bpf->sealed);
        if (streq(property, "TamperResistance"))
                return sd_bus_message_append(reply, "s", manager_tamper_resistance(m));
        /* TamperAttempts: what the guard refused, counted by the kernel in
         * a map frozen on the syscall side (only BPF adds to it). */
        if (m->bpf->sealed) {
                r = fl_seal_read_stats(m->bpf, stats, &tampered);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to read the counters: %m");
        }
        return sd_bus_message_append(reply, "t", tampered);
}
