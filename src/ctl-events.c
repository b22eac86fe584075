/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Events as they happen (Event signals) and as the journal kept them. */

#include <signal.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "bus-event.h"
#include "ctl-print.h"
#include "ctl.h"
#include "message-ids.h"

#define SYSLOG_IDENTIFIER "filelesslock"
#define DAEMON_COMM "filelesslockd"
#define DAEMON_UNIT "filelesslockd.service"

static int on_event(sd_bus_message *m, _unused_ void *userdata, _unused_ sd_bus_error *ret_error) {
        _cleanup_(event_record_done) EventRecord r = {};
        int k;

        k = bus_event_read(m, &r);
        if (k < 0) {
                log_warning_errno(k, "Failed to parse an Event signal, ignoring: %m");
                return 0;
        }
        print_event(&r);
        return 0;
}

static int on_exit_signal(sd_event_source *s, _unused_ const struct signalfd_siginfo *si, _unused_ void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), EXIT_SUCCESS);
}

static int event_loop_new(sd_bus *bus, sd_event **ret) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");
        if ((r = sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, NULL)) < 0)
                return log_error_errno(r, "Failed to watch SIGINT/SIGTERM: %m");
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        /* Leave the loop with EXIT_FAILURE when the bus goes away. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit on disconnect: %m");
        *ret = TAKE_PTR(event);
        return 0;
}

int verb_monitor(sd_bus *bus, _unused_ char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r, has_owner = 0;

        r = event_loop_new(bus, &event);
        if (r < 0)
                return r;

        /* The sender is part of the match: on the system bus anybody may send
         * a signal with our path and interface, only the daemon may send it
         * from its name. The broker resolves the name at each delivery, so
         * this survives a restart of the daemon. */
        r = sd_bus_match_signal(bus, &slot, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Event", on_event, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to Event signals: %m");

        /* Not an error: the monitor may well be started before the daemon. */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", BUS_NAME);
        if (r >= 0 && sd_bus_message_read(reply, "b", &has_owner) >= 0 && !has_owner)
                log_warning("filelesslockd is not running; waiting for it.");

        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (r != EXIT_SUCCESS) {
                log_error("Lost the connection to the bus.");
                return EXIT_FAILURE;
        }
        return 0;
}

/* A journal entry back into an event. Fields that do not parse as their type
 * make the entry invalid: the matches already keep other senders out, so
 * this is a damaged entry. */
static int record_from_journal(sd_journal *j, EventRecord *ret) {
        _cleanup_(event_record_done) EventRecord r = {};
        uint64_t t;
        int k;

        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                _cleanup_free_ char *value = NULL;
                size_t len, flen = strlen(event_field_table[f].journal);
                const void *data;

                k = sd_journal_get_data(j, event_field_table[f].journal, &data, &len);
                if (k == -ENOENT)
                        continue;
                if (k < 0)
                        return k;
                if (len <= flen)
                        continue;
                /* Journal data is not NUL-terminated and could hold a NUL. */
                value = strndup((const char *) data + flen + 1, len - flen - 1);
                if (!value)
                        return -ENOMEM;
                k = event_value_parse(&r, f, value);
                if (k < 0)
                        return k;
        }

        /* Without the daemon's own timestamp, the journal's is close enough. */
        if (!r.values[EVENT_TIMESTAMP].set && sd_journal_get_realtime_usec(j, &t) >= 0)
                event_record_set_number(&r, EVENT_TIMESTAMP, t);

        *ret = r;
        r = (EventRecord) {};
        return 0;
}

static void show_journal_entry(sd_journal *j) {
        _cleanup_(event_record_done) EventRecord r = {};
        uint64_t t;
        int k;

        if (arg_since && sd_journal_get_realtime_usec(j, &t) >= 0 && t < arg_since_usec)
                return;

        k = record_from_journal(j, &r);
        if (k < 0) {
                log_warning_errno(k, "Failed to read a journal entry, skipping: %m");
                return;
        }
        print_event(&r);
}

/* Only what the daemon wrote: anybody can log with our identifier and
 * MESSAGE_ID, but _UID and _COMM or _SYSTEMD_UNIT are journald's own,
 * taken from the kernel. */
static int add_matches(sd_journal *j) {
        static const char *const origin[] = { "_COMM=" DAEMON_COMM, "_SYSTEMD_UNIT=" DAEMON_UNIT };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(origin); i++) {
                if (i > 0 && (r = sd_journal_add_disjunction(j)) < 0)
                        return r;
                if ((r = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=" SYSLOG_IDENTIFIER, 0)) < 0 ||
                    (r = sd_journal_add_match(j, "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC, 0)) < 0 ||
                    (r = sd_journal_add_match(j, "_UID=0", 0)) < 0 || (r = sd_journal_add_match(j, origin[i], 0)) < 0)
                        return r;
        }
        return 0;
}

static int show_tail(sd_journal *j) {
        int r;

        /* The last N entries; show_journal_entry() drops those before --since. */
        r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous_skip(j, arg_lines);
        if (r <= 0)
                return r;
        do
                show_journal_entry(j);
        while ((r = sd_journal_next(j)) > 0);
        return r;
}

static int show_all(sd_journal *j) {
        int r;

        r = arg_since ? sd_journal_seek_realtime_usec(j, arg_since_usec) : sd_journal_seek_head(j);
        if (r < 0)
                return r;
        while ((r = sd_journal_next(j)) > 0)
                show_journal_entry(j);
        return r;
}

int verb_events(_unused_ sd_bus *bus, _unused_ char **args) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        int r;

        if (arg_directory)
                r = sd_journal_open_directory(&j, arg_directory, 0);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return log_error_errno(r, "Failed to open the journal: %m");

        r = add_matches(j);
        if (r < 0)
                return log_error_errno(r, "Failed to add journal match: %m");

        if (arg_lines == 0)
                return 0;
        r = arg_lines != UINT64_MAX ? show_tail(j) : show_all(j);
        if (r < 0)
                return log_error_errno(r, "Failed to read the journal: %m");
        return 0;
}
