/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <bpf/libbpf.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bpf-loader.h"
#include "conf.h"
#include "ratelimit.h"

typedef struct Manager {
        sd_event *event;
        sd_event_source *rb_source;
        sd_event_source *timer_source;
        sd_event_source *reconnect_source;
        struct ring_buffer *rb;
        FlBpf *bpf;
        sd_bus *bus;             /* NULL while there is no system bus */
        int cgroup2_fd;          /* for the unit of an event's cgroup id; -1 if none */
        char *cgroup2_mount;
        const char *version;     /* for the Version property */
        uint64_t polkit_timeout_usec;

        char *config_path;
        char *pin_path;
        Settings settings;       /* in force: configuration with the command line on top */
        int cmdline_profile;     /* 0 if not given */
        int cmdline_backend;     /* -1 if not given */

        uint64_t lost_reported;  /* FL_STAT_LOST already announced */
        RateLimit ratelimit;     /* of journal entries and Event signals */
        bool event_signal_failed; /* warned that an Event signal could not be sent */
        bool pins_missing;       /* warned that the pins were removed */

        bool measuring;          /* a MeasureHooks() is under way */
        const char *unseen;      /* what the backend in force cannot see, as FILELESS_UNSEEN= says */
        struct Trust *trust;     /* manager-trust.c */
        sd_event_source *trust_source;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Reads the configuration files and applies the command line on top. */
int manager_load_settings(Manager *m, Settings *ret);
int manager_start(Manager *m);
int manager_run(Manager *m);

/* Who asks for a profile change, for the log and for what is done. */
typedef struct ProfileChange {
        const char *how;   /* "over D-Bus", "by a configuration reload" */
        bool persist;      /* save it in the drop-in, so that it survives a restart */
        bool has_caller;   /* the rest describes a D-Bus caller */
        uid_t uid;
        pid_t pid;
        const char *unit;
} ProfileChange;

/* The one way a profile in force changes, the machine-wide one (UNIT NULL)
 * or a unit's scope (PROFILE 0 removes it): applied to the kernel (and read
 * back), saved if asked, rolled back if saving fails, logged once, announced
 * in STATUS= and with PropertiesChanged. On failure ERROR (if not NULL) says
 * why and what is reported is what the kernel enforces. */
int manager_set_profile(Manager *m, const char *unit, int profile, const ProfileChange *change,
                        sd_bus_error *error);

/* A reload's new profile and scopes, each change through manager_set_profile(). */
void manager_apply_profiles(Manager *m, const Settings *s);
void manager_notify_status(Manager *m);

/* manager-trust.c: TrustedExecutable= resolved to identities, in the kernel,
 * and followed when a package upgrade replaces a file. */
int manager_trust_check(const Settings *s); /* before the kernel is touched: a bad one is a bad config */
int manager_trust_start(Manager *m);
int manager_trust_reload(Manager *m, const Settings *s);
void manager_trust_done(Manager *m);
/* Each trusted path and whether a file is trusted under it now, or "none";
 * NULL when out of memory. For the posture. */
char *manager_trust_describe(Manager *m);

/* manager-events.c: the ring buffer, the journal and the Event signals. */
int manager_events_start(Manager *m);
void manager_events_stop(Manager *m);
int manager_housekeeping_start(Manager *m);
