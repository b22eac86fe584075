/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "bus-event.h"
#include "config.h"
#include "journal-event.h"
#include "log.h"
#include "message-ids.h"
#include "names.h"
#include "polkit.h"

#define BUS_NAME "org.bpflock.Fileless1"
#define BUS_PATH "/org/bpflock/Fileless1"
#define BUS_INTERFACE "org.bpflock.Fileless1"
#define ACTION_SET_PROFILE "org.bpflock.fileless1.set-profile"
#define PERSIST_DROPIN "90-set-profile.conf"

#define POLKIT_TIMEOUT_USEC (25 * 1000000ULL)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (120 * 1000000ULL)

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
        Manager *m = userdata;
        uint64_t stats[_FL_STAT_MAX];
        int r;

        /* Read from the pinned map, so the figures include what happened
         * while no daemon ran. */
        r = fl_bpf_read_stats(m->bpf, stats);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the counters: %m");

        return sd_bus_message_append(reply, "t",
                                     streq(property, "FilelessExecutions") ? stats[FL_STAT_FILELESS]
                                     : streq(property, "Blocked")          ? stats[FL_STAT_BLOCKED]
                                                                           : stats[FL_STAT_LOST]);
}

static int property_get_suppressed(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "t", m->ratelimit.suppressed_total);
}

static int property_get_pinned(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", fl_bpf_check_pins(m->bpf) >= 0);
}

static int property_get_pin_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->pin_path);
}

/* Writes go through object_callback() before sd-bus would call a setter:
 * a setter must answer at once, and polkit may take as long as a password
 * prompt. This one is only reached if that interception were bypassed. */
static int property_set_profile_refuse(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *value, void *userdata, sd_bus_error *error) {
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized (" ACTION_SET_PROFILE ").");
}

typedef struct ProfileRequest {
        Manager *manager;
        sd_bus_message *message;
        int profile;
} ProfileRequest;

/* The configuration drop-in is the one source of truth: a profile set over
 * D-Bus is written there, so it survives restarts and reboots and a later
 * "systemctl reload" reads the same value back. */
static int persist_profile(Manager *m, int profile) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_fclose_ FILE *f = NULL;

        if (asprintf(&dir, "%s.d", m->config_path) < 0 || asprintf(&path, "%s/" PERSIST_DROPIN, dir) < 0 ||
            asprintf(&tmp, "%s/." PERSIST_DROPIN ".tmp", dir) < 0)
                return -ENOMEM;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        f = fdopen(TAKE_FD(fd), "w");
        if (!f)
                return -errno;
        fprintf(f,
                "# Written by filelesslockd when the profile was set over D-Bus\n"
                "# (org.bpflock.Fileless1.Profile). Drop-ins sorting after this one win.\n"
                "[Fileless]\nProfile=%s\n",
                profile_to_string(profile));
        if (fflush(f) != 0 || fsync(fileno(f)) < 0 || rename(tmp, path) < 0) {
                int r = -errno;

                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static void log_profile_change(Manager *m, sd_bus_message *message, int old, int new) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        char f_old[64], f_new[64], f_uid[64], f_pid[64], f_unit[300];
        const char *extra[] = { f_old, f_new, f_uid, f_pid, f_unit, NULL };
        const char *unit = NULL;
        uid_t uid = (uid_t) -1;
        pid_t pid = 0;

        if (sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_UNIT |
                                                       SD_BUS_CREDS_AUGMENT, &creds) >= 0) {
                (void) sd_bus_creds_get_euid(creds, &uid);
                (void) sd_bus_creds_get_pid(creds, &pid);
                (void) sd_bus_creds_get_unit(creds, &unit);
        }

        snprintf(f_old, sizeof(f_old), "FILELESS_OLD_PROFILE=%s", profile_to_string(old));
        snprintf(f_new, sizeof(f_new), "FILELESS_PROFILE=%s", profile_to_string(new));
        snprintf(f_uid, sizeof(f_uid), "FILELESS_CALLER_UID=%i", (int) uid);
        snprintf(f_pid, sizeof(f_pid), "FILELESS_CALLER_PID=%i", (int) pid);
        snprintf(f_unit, sizeof(f_unit), "FILELESS_CALLER_UNIT=%s", strempty(unit));
        (void) journal_send_message(FL_MESSAGE_PROFILE_CHANGED, LOG_NOTICE, extra,
                                    "Fileless execution profile changed from %s to %s over D-Bus by uid %i, pid %i%s%s.",
                                    profile_to_string(old), profile_to_string(new), (int) uid, (int) pid,
                                    unit ? ", unit " : "", strempty(unit));
}

static int apply_profile(Manager *m, sd_bus_message *message, int profile, sd_bus_error *error) {
        int old = m->settings.profile, r;

        r = fl_bpf_set_profile(m->bpf, profile);
        if (r < 0)
                /* Not the caller's fault: a plain failure, never an errno-derived
                 * name such as AccessDenied, which would blame polkit. */
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to apply profile %s: %s",
                                         profile_to_string(profile), strerror(-r));

        r = persist_profile(m, profile);
        if (r < 0) {
                /* Not saved means not changed: a profile that silently reverted at
                 * the next boot would be worse than an error now. */
                (void) fl_bpf_set_profile(m->bpf, old);
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to save profile %s to %s.d/: %s",
                                         profile_to_string(profile), m->config_path, strerror(-r));
        }

        m->settings.profile = profile;
        log_profile_change(m, message, old, profile);
        manager_profile_changed(m);
        return 0;
}

static void on_polkit_result(int result, const sd_bus_error *perr, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        ProfileRequest *req = userdata;
        Manager *m = req->manager;
        int r;

        if (result == POLKIT_AUTHORIZED) {
                r = apply_profile(m, req->message, req->profile, &error);
                if (r >= 0)
                        (void) sd_bus_reply_method_return(req->message, NULL);
        } else if (result == POLKIT_CHALLENGE)
                sd_bus_error_set(&error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                 "Interactive authentication required to set the profile (" ACTION_SET_PROFILE ").");
        else if (result == POLKIT_DENIED)
                sd_bus_error_set(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "Not authorized to set the profile (" ACTION_SET_PROFILE ").");
        else
                /* No polkit, no answer in time, or cancelled: deny, and say why. */
                sd_bus_error_setf(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Not authorized to set the profile (" ACTION_SET_PROFILE "): polkit could not "
                                  "be asked (%s%s%s).",
                                  perr && perr->name ? perr->name : strerror(-result),
                                  perr && perr->message ? ": " : "", perr && perr->message ? perr->message : "");

        if (sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_error(req->message, &error);

        sd_bus_message_unref(req->message);
        free(req);
}

/* validate, no-op if unchanged, authorize, change, log, emit, reply: shared
 * by the Profile property and SetProfile(). Returns 1 when it replied or will
 * reply. */
static int handle_set_profile(Manager *m, sd_bus_message *message, const char *value, bool interactive,
                              sd_bus_error *error) {
        ProfileRequest *req;
        int profile, r;

        profile = profile_from_string(value);
        if (profile < 0)
                return bus_error_invalid_profile(error, value);

        if (profile == m->settings.profile)
                return sd_bus_reply_method_return(message, NULL);

        req = calloc(1, sizeof(*req));
        if (!req)
                return -ENOMEM;
        req->manager = m;
        req->message = sd_bus_message_ref(message);
        req->profile = profile;

        /* Root is not exempted here: polkit decides, and its default rules
         * allow root. */
        r = polkit_check_async(m->bus, message, ACTION_SET_PROFILE, interactive,
                               interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : m->polkit_timeout_usec,
                               on_polkit_result, req);
        if (r < 0) {
                sd_bus_message_unref(req->message);
                free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit: %m");
        }
        return 1;
}

static int method_set_profile(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *profile;
        int interactive, r;

        r = sd_bus_message_read(message, "sb", &profile, &interactive);
        if (r < 0)
                return r;
        return handle_set_profile(userdata, message, profile,
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

        return handle_set_profile(userdata, message, value,
                                  sd_bus_message_get_allow_interactive_authorization(message) > 0, error);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("Profile", "s", property_get_profile, property_set_profile_refuse, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Backend", "s", property_get_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Manager, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("FilelessExecutions", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("Blocked", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("EventsLost", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("EventsSuppressed", "t", property_get_suppressed, 0, 0),
        SD_BUS_PROPERTY("Pinned", "b", property_get_pinned, 0, 0),
        SD_BUS_PROPERTY("PinPath", "s", property_get_pin_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("SetProfile", SD_BUS_ARGS("s", profile, "b", interactive), SD_BUS_NO_RESULT,
                                method_set_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Event", SD_BUS_ARGS("a{sv}", event), 0),
        SD_BUS_VTABLE_END,
};

int bus_emit_event(Manager *m, const struct fl_event *e, const EventFields *f, uint64_t realtime_usec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        if (!m->bus)
                return 0;

        r = sd_bus_message_new_signal(m->bus, &s, BUS_PATH, BUS_INTERFACE, "Event");
        if (r < 0)
                return r;
        r = bus_event_append(s, e, f, realtime_usec);
        if (r < 0)
                return r;

        return sd_bus_send(m->bus, s, NULL);
}

int bus_emit_profile_changed(Manager *m) {
        if (!m->bus)
                return 0;
        return sd_bus_emit_properties_changed(m->bus, BUS_PATH, BUS_INTERFACE, "Profile", NULL);
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
