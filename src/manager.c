/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "cgroup-unit.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "names.h"

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = new0(Manager, 1);
        if (!m)
                return -ENOMEM;
        *m = (Manager) {
                .cmdline_backend = -1,
                .settings = SETTINGS_DEFAULT,
                .polkit_timeout_usec = 25 * 1000000ULL,
                .cgroup2_fd = -1,
        };
        m->cgroup2_fd = cgroup2_open(&m->cgroup2_mount);

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* The bus first: answering pending polkit queries needs the rest. */
        sd_bus_flush_close_unref(m->bus);
        sd_event_source_disable_unref(m->reconnect_source);
        sd_event_source_disable_unref(m->rb_source);
        sd_event_source_disable_unref(m->timer_source);
        ring_buffer__free(m->rb);
        manager_trust_done(m);
        fl_bpf_free(m->bpf);
        settings_done(&m->settings);
        closep(&m->cgroup2_fd);
        free(m->cgroup2_mount);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->pin_path);
        return mfree(m);
}

int manager_load_settings(Manager *m, Settings *ret) {
        _cleanup_free_ char *error = NULL;
        Settings s = SETTINGS_DEFAULT;
        int r;

        r = conf_load(m->config_path, &s, &error);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid configuration: %s", error);

        if (m->cmdline_profile > 0)
                s.profile = m->cmdline_profile;
        if (m->cmdline_backend >= 0)
                s.backend = m->cmdline_backend;
        settings_done(ret);
        *ret = s;
        return 0;
}

static void apply_rate_limit(Manager *m, const Settings *s) {
        if (s->rate_limit_interval_usec == m->settings.rate_limit_interval_usec &&
            s->rate_limit_burst == m->settings.rate_limit_burst)
                return;
        /* Counts in progress are kept; the new limits apply from now. */
        m->ratelimit.interval_usec = m->settings.rate_limit_interval_usec = s->rate_limit_interval_usec;
        m->ratelimit.burst = m->settings.rate_limit_burst = s->rate_limit_burst;
        if (s->rate_limit_interval_usec == 0 || s->rate_limit_burst == 0)
                log_info("Rate limit of fileless execution events now off.");
        else
                log_info("Rate limit of fileless execution events now %u per %" PRIu64 " ms per source, %" PRIu64
                         " for all sources of one uid together.",
                         s->rate_limit_burst, s->rate_limit_interval_usec / 1000,
                         (uint64_t) s->rate_limit_burst * RATELIMIT_UID_FACTOR);
}

static int manager_reload(Manager *m) {
        _cleanup_(settings_done) Settings s = {};

        (void) sd_notify(false, "RELOADING=1");
        if (manager_load_settings(m, &s) < 0 || manager_trust_reload(m, &s) < 0)
                log_error("Keeping the running profile %s and its scopes.", profile_to_string(m->settings.profile));
        else {
                if (s.backend != m->settings.backend)
                        log_notice("Backend=%s takes effect at the next start, keeping %s.",
                                   backend_choice_to_string(s.backend), backend_to_string(m->bpf->backend));
                if (s.tracepoint_mappings != m->settings.tracepoint_mappings)
                        log_notice("TracepointMappings=%s takes effect at the next start.",
                                   s.tracepoint_mappings ? "yes" : "no");
                apply_rate_limit(m, &s);
                manager_apply_profiles(m, &s);
                if (s.seal && !m->bpf->sealed) {
                        static const ProfileChange reload = { .how = "by a configuration reload (Seal=yes)" };

                        (void) manager_seal(m, &reload, NULL);
                }
                m->settings.seal = s.seal;
        }
        manager_notify_status(m);
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP)
                return manager_reload(m);

        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static int signals_setup(Manager *m) {
        static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = sd_event_add_signal(m->event, NULL, signals[i], on_signal, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch signals: %m");
        }
        return 0;
}

/* What the backend in force cannot see, said at every start: in the log and
 * as a field of the start entry. */
static const char *manager_unseen(Manager *m) {
        bool maps = m->bpf->sees_mappings, prep = m->bpf->sees_prepare_exec;

        if (!maps)
                log_warning("Backend %s does not see executable mappings of fileless files made by system calls "
                            "(the dynamic loader run as a program, dlopen(), LD_PRELOAD, LD_AUDIT; a fileless "
                            "PT_INTERP is judged at the exec all the same): TracepointMappings=yes turns that on, "
                            "at a cost on every system call.",
                            backend_to_string(m->bpf->backend));
        if (!prep)
                log_notice("This kernel has no sched_prepare_exec tracepoint (it came with 6.10): backend %s cannot "
                           "name the program that did an exec, and finds a #! script's own file only while its "
                           "release is pending, which io_uring can cut short (then only the exec path remains).",
                           backend_to_string(m->bpf->backend));
        return !maps && !prep ? "mappings,exec-program" : !maps ? "mappings" : !prep ? "exec-program" : "none";
}

/* Unit scopes name systemd's units below the root of our cgroup namespace
 * (a daemon in a container sees the units of the container's systemd, laid
 * out below a cgroup deep in the kernel's tree): the BPF programs match
 * below the cgroup with this id. Said at every start when it cannot work. */
static uint64_t scope_root(Manager *m) {
        uint64_t id = 0;
        int r;

        if (m->cgroup2_fd < 0) {
                if (cgroup_ns_is_initial() == 0)
                        log_error("filelesslockd runs in a cgroup namespace with no cgroup2 hierarchy mounted: unit "
                                  "scopes are matched from the kernel's root cgroup, where the units this daemon "
                                  "names are not, so they are NOT enforced. Mount cgroup2 "
                                  "(mount -t cgroup2 cgroup2 /sys/fs/cgroup) and restart.");
                return 0;
        }
        r = cgroup2_root_id(m->cgroup2_fd, m->cgroup2_mount, &id);
        if (r == -EXDEV)
                log_error("The cgroup2 hierarchy at %s is a subtree, not the root of filelesslockd's cgroup "
                          "namespace: unit scopes are matched below that subtree only, units elsewhere get the "
                          "machine-wide profile.",
                          m->cgroup2_mount);
        else if (r < 0) {
                log_error_errno(r, "Failed to find the cgroup id of %s (%m): unit scopes are matched from the "
                                   "kernel's root cgroup, and are NOT enforced if filelesslockd runs in a cgroup "
                                   "namespace.",
                                m->cgroup2_mount);
                return 0;
        }
        if (cgroup_ns_is_initial() == 0)
                log_notice("filelesslockd runs in a cgroup namespace: unit scopes name the units below its root "
                           "(cgroup %" PRIu64 ", %s); processes outside it get the machine-wide profile.",
                           id, m->cgroup2_mount);
        return id;
}

int manager_start(Manager *m) {
        _cleanup_free_ FlScope *scopes = NULL;
        const char *profile, *backend, *pins, *unseen;
        int r;

        scopes = new0(FlScope, m->settings.n_scopes + 1);
        if (!scopes)
                return log_oom();
        for (size_t i = 0; i < m->settings.n_scopes; i++)
                scopes[i] = (FlScope) { m->settings.scopes[i].unit, m->settings.scopes[i].profile };
        r = fl_bpf_setup(m->pin_path, m->settings.backend, m->settings.profile,
                         &(FlOptions) { .tracepoint_mappings = m->settings.tracepoint_mappings,
                                        .scopes = scopes,
                                        .n_scopes = m->settings.n_scopes,
                                        .cgroup_root_id = scope_root(m) },
                         &m->bpf);
        if (r < 0)
                return r;
        unseen = m->unseen = manager_unseen(m);
        if ((r = manager_trust_start(m)) < 0 || (r = manager_events_start(m)) < 0 ||
            (r = manager_seal_start(m)) < 0 || (r = signals_setup(m)) < 0 ||
            (r = manager_housekeeping_start(m)) < 0 || (r = bus_setup(m)) < 0)
                return r;

        /* sd-event pings the watchdog by itself when WATCHDOG_USEC is set. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        profile = profile_to_string(m->settings.profile);
        backend = backend_to_string(m->bpf->backend);
        pins = m->bpf->reused ? "reused" : "created";
        (void) journal_struct(LOG_INFO, FL_MESSAGE_STARTED, "FILELESS_PROFILE=%s", profile, "FILELESS_BACKEND=%s",
                              backend, "FILELESS_PINS=%s", pins, "FILELESS_UNSEEN=%s", unseen,
                              MESSAGE("filelesslockd is enforcing profile %s with backend %s (%s pins in %s).",
                                      profile, backend, m->bpf->reused ? "reused" : "new", m->pin_path),
                              NULL);

        /* Loading parsed the kernel's BTF (megabytes) on the heap; a daemon
         * that idles for months should not keep those pages. */
        (void) malloc_trim(0);

        manager_notify_status(m);
        (void) sd_notify(false, "READY=1");
        return 0;
}

/* "the N unit scopes (a=p, b=p, ...)" for the stop message: the pins keep
 * enforcing the scopes too, and an administrator must not believe that
 * stopping the daemon lifted them. */
#define SCOPES_LISTED 8
static char *scopes_to_string(const Settings *s) {
        _cleanup_free_ char *list = NULL;
        size_t size = 0;
        FILE *f;

        if (s->n_scopes == 0)
                return strdup("no unit scope");
        f = open_memstream(&list, &size);
        if (!f)
                return NULL;
        fprintf(f, "the %zu unit scope%s (", s->n_scopes, s->n_scopes == 1 ? "" : "s");
        for (size_t i = 0; i < s->n_scopes && i < SCOPES_LISTED; i++)
                fprintf(f, "%s%s=%s", i > 0 ? ", " : "", s->scopes[i].unit, profile_to_string(s->scopes[i].profile));
        if (s->n_scopes > SCOPES_LISTED)
                fprintf(f, ", and %zu more", s->n_scopes - SCOPES_LISTED);
        fputc(')', f);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(list);
}

int manager_run(Manager *m) {
        _cleanup_free_ char *scopes = NULL;
        const char *profile;
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        manager_events_stop(m);
        profile = profile_to_string(m->settings.profile);
        scopes = scopes_to_string(&m->settings);
        if (!scopes)
                return log_oom();
        if (fl_bpf_pins_intact(m->bpf) > 0)
                (void) journal_struct(LOG_INFO, FL_MESSAGE_STOPPED, "FILELESS_PINS=intact",
                                      "FILELESS_SCOPES=%zu", m->settings.n_scopes,
                                      MESSAGE("filelesslockd stopped; the pinned programs in %s keep enforcing "
                                              "profile %s and %s until \"filelesslockd --disable\".",
                                              m->pin_path, profile, scopes),
                                      NULL);
        else
                (void) journal_struct(LOG_WARNING, FL_MESSAGE_STOPPED, "FILELESS_PINS=gone",
                                      "FILELESS_SCOPES=%zu", m->settings.n_scopes,
                                      MESSAGE("filelesslockd stopped, and the pins in %s are gone or were "
                                              "replaced: profile %s and %s are NOT enforced any more.",
                                              m->pin_path, profile, scopes),
                                      NULL);
        return 0;
}
