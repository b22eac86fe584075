/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.bpflock.Fileless1: a thin surface. Handlers parse, ask polkit and call
 * the manager; the manager changes, logs and announces. */

#include <syslog.h>

#include "bus-event.h"
#include "bus-hooks.h"
#include "bus-seal.h"
#include "bus.h"
#include "escape.h"
#include "config.h"
#include "log.h"
#include "names.h"
#include "polkit.h"
#include "posture.h"

#define BUS_NAME "org.bpflock.Fileless1"
#define BUS_PATH "/org/bpflock/Fileless1"
#define BUS_INTERFACE "org.bpflock.Fileless1"
#define ACTION_SET_PROFILE "org.bpflock.fileless1.set-profile"

#define POLKIT_INTERACTIVE_TIMEOUT_USEC (120 * 1000000ULL)


/* Asks polkit for ACTION on behalf of MESSAGE's sender: an interactive
 * request may wait for the user's answer, any other one waits at most the
 * configured polkit timeout. */
int bus_polkit_check(Manager *m, sd_bus_message *message, const char *action, bool interactive,
                     polkit_callback_t callback, void *userdata) {
        return polkit_check_async(m->bus, message, action, interactive,
                                  interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : m->polkit_timeout_usec, callback,
                                  userdata);
}
static int property_get_profile(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", profile_to_string(m->settings.profile));
}

static int property_get_backend(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", backend_to_string(m->bpf->backend));
}

static int property_get_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        static const char *const names[_FL_STAT_MAX] = {
                [FL_STAT_FILELESS] = "FilelessExecutions",
                [FL_STAT_BLOCKED] = "Blocked",
                [FL_STAT_LOST] = "EventsLost",
        };
        Manager *m = userdata;
        uint64_t stats[_FL_STAT_MAX];
        int r;

        /* Read from the pinned map, so the figures include what happened
         * while no daemon ran. */
        r = fl_bpf_read_stats(m->bpf, stats);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the counters: %m");
        for (size_t i = 0; i < _FL_STAT_MAX; i++)
                if (streq(property, names[i]))
                        return sd_bus_message_append(reply, "t", stats[i]);
        return -EINVAL;
}

static int property_get_unit_profiles(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < m->settings.n_scopes; i++)
                r = sd_bus_message_append(reply, "(ss)", m->settings.scopes[i].unit,
                                          profile_to_string(m->settings.scopes[i].profile));
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_posture(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Posture p;
        int r;

        r = posture_read(m, &p);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < p.n; i++)
                r = sd_bus_message_append(reply, "(ss)", p.v[i].item, p.v[i].value);
        posture_done(&p);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_pinned(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", fl_bpf_pins_intact(m->bpf) > 0);
}

/* Writes go through object_callback() before sd-bus would call a setter:
 * a setter must answer at once, and polkit may take as long as a password
 * prompt. This one is only reached if that interception were bypassed. */
static int property_set_profile_refuse(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *value, void *userdata, sd_bus_error *error) {
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized (" ACTION_SET_PROFILE ").");
}

/* A profile change waiting for polkit's answer. */
typedef struct ProfileRequest {
        Manager *manager;
        sd_bus_message *message;
        char *unit; /* NULL: the machine-wide profile */
        int profile;
} ProfileRequest;

static ProfileRequest *profile_request_free(ProfileRequest *req) {
        if (!req)
                return NULL;
        sd_bus_message_unref(req->message);
        free(req->unit);
        return mfree(req);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ProfileRequest *, profile_request_free);

static int profile_change_apply(Manager *m, sd_bus_message *message, const char *unit, int profile,
                                sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        ProfileChange c = { .how = "over D-Bus", .persist = true, .has_caller = true, .uid = (uid_t) -1 };

        if (sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_UNIT |
                                                       SD_BUS_CREDS_AUGMENT, &creds) >= 0) {
                (void) sd_bus_creds_get_euid(creds, &c.uid);
                (void) sd_bus_creds_get_pid(creds, &c.pid);
                (void) sd_bus_creds_get_unit(creds, &c.unit);
        }
        return manager_set_profile(m, unit, profile, &c, error);
}

static void on_polkit_result(int result, const sd_bus_error *perr, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(profile_request_freep) ProfileRequest *req = userdata;

        if (result == POLKIT_AUTHORIZED) {
                if (profile_change_apply(req->manager, req->message, req->unit, req->profile, &error) >= 0) {
                        (void) sd_bus_reply_method_return(req->message, NULL);
                        return;
                }
        } else
                polkit_result_to_error(result, perr, ACTION_SET_PROFILE, "set the profile", &error);

        (void) sd_bus_reply_method_error(req->message, &error);
}

/* validate, no-op if unchanged, authorize, then the manager changes, logs
 * and emits, and we reply: shared by the Profile property, SetProfile() and
 * SetUnitProfile() (UNIT not NULL; an empty VALUE removes the scope).
 * Returns 1 when it replied or will reply. */
static int handle_set_profile(Manager *m, sd_bus_message *message, const char *unit, const char *value,
                              bool interactive, sd_bus_error *error) {
        _cleanup_(profile_request_freep) ProfileRequest *req = NULL;
        int profile, current, r;

        if (unit && !unit_name_is_scope(unit)) {
                _cleanup_free_ char *shown = escape_excerpt(unit, 64);

                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid unit \"%s\": expected the name of a systemd unit with processes "
                                         "(" SCOPE_UNIT_SUFFIXES "), such as nginx.service or user.slice.",
                                         strempty(shown));
        }
        profile = unit && isempty(value) ? 0 : profile_from_string(value);
        if (profile < 0)
                return bus_error_invalid_profile(error, value);

        current = unit ? settings_scope_profile(&m->settings, unit) : m->settings.profile;
        if (profile == current)
                return sd_bus_reply_method_return(message, NULL);

        req = new0(ProfileRequest, 1);
        if (!req)
                return -ENOMEM;
        *req = (ProfileRequest) { .manager = m, .message = sd_bus_message_ref(message), .profile = profile };
        if (unit && !(req->unit = strdup(unit)))
                return -ENOMEM;

        /* Root is not exempted here: polkit decides, and its default rules
         * allow root. */
        r = bus_polkit_check(m, message, ACTION_SET_PROFILE, interactive, on_polkit_result, req);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit: %m");
        TAKE_PTR(req);
        return 1;
}

static int method_set_profile(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *profile;
        int interactive, r;

        r = sd_bus_message_read(message, "sb", &profile, &interactive);
        if (r < 0)
                return r;
        return handle_set_profile(userdata, message, NULL, profile,
                                  interactive || sd_bus_message_get_allow_interactive_authorization(message) > 0,
                                  error);
}

static int method_set_unit_profile(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *unit, *profile;
        int interactive, r;

        r = sd_bus_message_read(message, "ssb", &unit, &profile, &interactive);
        if (r < 0)
                return r;
        return handle_set_profile(userdata, message, unit, profile,
                                  interactive || sd_bus_message_get_allow_interactive_authorization(message) > 0,
                                  error);
}

/* Intercepts Properties.Set of Profile before the vtable: see
 * property_set_profile_refuse(). Everything else goes on to the vtable. */
static int object_callback(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *interface, *property, *contents, *value;
        int r;

        if (!sd_bus_message_is_method_call(message, "org.freedesktop.DBus.Properties", "Set"))
                return 0;

        r = sd_bus_message_read(message, "ss", &interface, &property);
        if (r < 0 || !streq(interface, BUS_INTERFACE) || !streq(property, "Profile")) {
                (void) sd_bus_message_rewind(message, true);
                return 0;
        }

        r = sd_bus_message_peek_type(message, NULL, &contents);
        if (r < 0)
                return r;
        if (!streq_ptr(contents, "s"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Profile is a string (signature \"s\"), got signature \"%s\".",
                                         strempty(contents));
        r = sd_bus_message_read(message, "v", "s", &value);
        if (r < 0)
                return r;

        return handle_set_profile(userdata, message, NULL, value,
                                  sd_bus_message_get_allow_interactive_authorization(message) > 0, error);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("Profile", "s", property_get_profile, property_set_profile_refuse, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("UnitProfiles", "a(ss)", property_get_unit_profiles, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Backend", "s", property_get_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Manager, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("FilelessExecutions", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("Blocked", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("EventsLost", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("EventsSuppressed", "t", NULL, offsetof(Manager, ratelimit.suppressed_total), 0),
        SD_BUS_PROPERTY("Pinned", "b", property_get_pinned, 0, 0),
        SD_BUS_PROPERTY("Posture", "a(ss)", property_get_posture, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("PinPath", "s", NULL, offsetof(Manager, pin_path), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("SetProfile", SD_BUS_ARGS("s", profile, "b", interactive), SD_BUS_NO_RESULT,
                                method_set_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetUnitProfile", SD_BUS_ARGS("s", unit, "s", profile, "b", interactive),
                                SD_BUS_NO_RESULT, method_set_unit_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MeasureHooks", SD_BUS_ARGS("u", seconds), SD_BUS_RESULT("a(stt)", hooks),
                                method_measure_hooks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Sealed", "b", property_get_sealed, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TamperResistance", "s", property_get_sealed, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TamperAttempts", "t", property_get_sealed, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Seal", SD_BUS_ARGS("b", interactive), SD_BUS_RESULT("s", tamper_resistance),
                                method_seal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Event", SD_BUS_ARGS("a{sv}", event), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Tamper", SD_BUS_ARGS("a{sv}", attempt), 0),
        SD_BUS_VTABLE_END,
};

int bus_emit_event(Manager *m, const EventRecord *rec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        if (!m->bus)
                return 0;

        r = sd_bus_message_new_signal(m->bus, &s, BUS_PATH, BUS_INTERFACE, "Event");
        if (r < 0)
                return r;
        r = bus_event_append(s, rec);
        if (r < 0)
                return r;

        return sd_bus_send(m->bus, s, NULL);
}

int bus_emit_properties_changed(Manager *m, const char *property) {
        if (!m->bus)
                return 0;
        return sd_bus_emit_properties_changed(m->bus, BUS_PATH, BUS_INTERFACE, property, NULL);
}

static int bus_connect(Manager *m);

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->reconnect_source = sd_event_source_disable_unref(m->reconnect_source);
        m->bus = sd_bus_flush_close_unref(m->bus);
        if (bus_connect(m) < 0)
                return sd_event_add_time_relative(m->event, &m->reconnect_source, CLOCK_MONOTONIC,
                                                  5 * 1000000ULL, 0, on_reconnect, m);
        log_notice("Reconnected to the system bus.");
        return 0;
}

static int on_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        /* Enforcement lives in the kernel and is not affected; the bus
         * interface comes back when the bus does. */
        log_warning("Lost the system bus connection; enforcement continues, reconnecting.");
        if (m->reconnect_source)
                return 0;
        /* Not here: the bus must not be freed from inside its own callback. */
        return sd_event_add_time_relative(m->event, &m->reconnect_source, CLOCK_MONOTONIC, 1000000ULL, 0,
                                          on_reconnect, m);
}

static int bus_connect(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;

        if ((r = sd_bus_add_object(bus, NULL, BUS_PATH, object_callback, m)) < 0 ||
            (r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_INTERFACE, manager_vtable, m)) < 0 ||
            (r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                           "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, NULL,
                                           m)) < 0 ||
            (r = sd_bus_request_name_async(bus, NULL, BUS_NAME, 0, NULL, NULL)) < 0 ||
            (r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL)) < 0)
                return r;

        m->bus = TAKE_PTR(bus);
        return 0;
}

int bus_setup(Manager *m) {
        int r;

        if (!m->version)
                m->version = PACKAGE_VERSION;
        r = bus_connect(m);
        if (r < 0) {
                /* The core job, enforcement and logging, needs no bus; the
                 * interface appears once the bus does. */
                log_warning_errno(r, "Cannot connect to the system bus (%m): running without the " BUS_NAME
                                     " interface until it can, retrying every 5 s.");
                r = sd_event_add_time_relative(m->event, &m->reconnect_source, CLOCK_MONOTONIC, 5 * 1000000ULL, 0,
                                               on_reconnect, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the reconnection timer: %m");
        }
        return 0;
}
