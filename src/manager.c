/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "bus.h"
#include "cgroup-unit.h"
#include "event-format.h"
#include "journal-event.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "names.h"

#define HOUSEKEEPING_USEC (5 * 1000000ULL)

int manager_new(Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cmdline_backend = -1;
        m->settings = SETTINGS_DEFAULT;
        m->polkit_timeout_usec = 25 * 1000000ULL;
        m->cgroup2_fd = cgroup2_open();

        r = sd_event_default(&m->event);
        if (r < 0) {
                free(m);
                return r;
        }
        *ret = m;
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
        fl_bpf_free(m->bpf);
        closep(&m->cgroup2_fd);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->pin_path);
        free(m);
        return NULL;
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
        *ret = s;
        return 0;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static const char *interval_to_string(uint64_t usec, char *buf, size_t size) {
        if (usec % 60000000ULL == 0)
                snprintf(buf, size, "%llu min", (unsigned long long) (usec / 60000000ULL));
        else if (usec % 1000000ULL == 0)
                snprintf(buf, size, "%llu s", (unsigned long long) (usec / 1000000ULL));
        else
                snprintf(buf, size, "%llu ms", (unsigned long long) (usec / 1000ULL));
        return buf;
}

/* The end of a burst: how many of a source's events were not logged. */
static void on_suppressed(const RateSource *s, uint64_t now, void *userdata) {
        _cleanup_free_ char *path = NULL, *f_path = NULL;
        char f_n[64], f_uid[64], f_kind[64], f_action[64], span[32];
        const char *kind = kind_to_string(s->kind) ?: "unknown", *action = action_to_string(s->action) ?: "unknown";

        interval_to_string(now - s->window_start, span, sizeof(span));
        snprintf(f_n, sizeof(f_n), "FILELESS_SUPPRESSED=%llu", (unsigned long long) s->suppressed);

        if (s->all) {
                const char *extra[] = { f_n, NULL };

                /* No figure for the budget: a reload may have changed it
                 * since this window began. */
                (void) journal_send_message(FL_MESSAGE_EVENTS_SUPPRESSED, LOG_WARNING, extra,
                                            "Suppressed %llu fileless execution events from many sources in %s, over "
                                            "the budget of all sources together (%u times RateLimitBurst=); they "
                                            "were enforced and counted, only not logged one by one.",
                                            (unsigned long long) s->suppressed, span, RATELIMIT_ALL_FACTOR);
                return;
        }

        /* The escaped path may be four times the raw one: no fixed buffer. */
        path = escape_string(s->path, sizeof(s->path));
        if (!path || asprintf(&f_path, "FILELESS_EXEC_PATH=%s", path) < 0) {
                log_oom();
                return;
        }
        snprintf(f_uid, sizeof(f_uid), "FILELESS_UID=%u", s->uid);
        snprintf(f_kind, sizeof(f_kind), "FILELESS_KIND=%s", kind);
        snprintf(f_action, sizeof(f_action), "FILELESS_ACTION=%s", action);
        (void) journal_send_message(FL_MESSAGE_EVENTS_SUPPRESSED, LOG_WARNING,
                                    (const char *[]) { f_n, f_uid, f_kind, f_action, f_path, NULL },
                                    "Suppressed %llu similar fileless execution events (%s, %s, uid %u, via %s) "
                                    "in %s; they were enforced and counted, only not logged one by one.",
                                    (unsigned long long) s->suppressed, kind, action, s->uid,
                                    isempty(path) ? "-" : path, span);
}

static int handle_event(void *userdata, void *data, size_t size) {
        Manager *m = userdata;
        const struct fl_event *e = data;
        _cleanup_free_ char *unit = NULL;
        EventFields f;
        EventContext ctx;
        int r;

        if (size < sizeof(*e)) {
                log_warning("Ignoring short event record (%zu bytes, expected %zu).", size, sizeof(*e));
                return 0;
        }

        /* A flood from one source is summarized, not logged event by event:
         * the journal and the bus must not pay for every exec of a loop. */
        if (!ratelimit_check(&m->ratelimit, e, now_usec(CLOCK_MONOTONIC), on_suppressed, NULL))
                return 0;

        /* The kernel stamps events with CLOCK_BOOTTIME, which keeps counting
         * through suspend; translate now rather than once, since the wall clock
         * may have been set since. */
        ctx = (EventContext) {
                .realtime_usec = now_usec(CLOCK_REALTIME) - now_usec(CLOCK_BOOTTIME) + e->boot_ns / 1000,
                .shm_dir = fl_bpf_shm_dir(m->bpf, e->dev),
        };

        unit = cgroup_id_to_unit(m->cgroup2_fd, e->cgroup_id);
        ctx.unit = unit;

        r = event_format(e, &ctx, &f);
        if (r < 0) {
                log_error_errno(r, "Failed to format event: %m");
                return 0;
        }
        (void) journal_send_event(&f);
        r = bus_emit_event(m, e, &f, ctx.realtime_usec);
        if (r < 0) {
                /* Loud once: listeners miss events. Then quiet, so that a
                 * broken bus cannot flood the journal in turn. */
                if (!m->event_signal_failed)
                        log_warning_errno(r, "Failed to send an Event signal (%m); D-Bus listeners miss this event. "
                                             "Further failures are logged at debug level.");
                else
                        log_debug_errno(r, "Failed to send an Event signal, ignoring: %m");
                m->event_signal_failed = true;
        }
        event_fields_done(&f);
        return 0;
}

static int on_ring_buffer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = ring_buffer__consume(m->rb);
        if (r < 0)
                log_warning_errno(r, "Failed to consume events, ignoring: %m");
        return 0;
}

static void report_lost(Manager *m) {
        uint64_t stats[_FL_STAT_MAX];
        char field[64];
        const char *extra[] = { field, NULL };
        uint64_t n;

        if (fl_bpf_read_stats(m->bpf, stats) < 0)
                return;
        if (stats[FL_STAT_LOST] <= m->lost_reported)
                return;

        n = stats[FL_STAT_LOST] - m->lost_reported;
        m->lost_reported = stats[FL_STAT_LOST];
        snprintf(field, sizeof(field), "FILELESS_EVENTS_LOST=%llu", (unsigned long long) n);
        (void) journal_send_message(FL_MESSAGE_EVENTS_LOST, LOG_WARNING, extra,
                                    "%llu fileless execution events were lost because the ring buffer was full "
                                    "(%llu in all); enforcement was not affected.",
                                    (unsigned long long) n, (unsigned long long) stats[FL_STAT_LOST]);
}

static void check_pins(Manager *m) {
        int r = fl_bpf_check_pins(m->bpf);

        if (r < 0 && !m->pins_missing)
                log_warning("The pins in %s are gone: enforcement continues while filelesslockd runs, "
                            "and stops when it exits.", m->pin_path);
        else if (r >= 0 && m->pins_missing)
                log_notice("The pins in %s are back.", m->pin_path);
        m->pins_missing = r < 0;
}

static int on_housekeeping(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        report_lost(m);
        ratelimit_flush(&m->ratelimit, now_usec(CLOCK_MONOTONIC), false, on_suppressed, NULL);
        check_pins(m);
        return sd_event_source_set_time_relative(s, HOUSEKEEPING_USEC);
}

static void notify_status(Manager *m) {
        const char *profile = profile_to_string(m->settings.profile);
        const char *backend = backend_to_string(m->bpf->backend);

        (void) sd_notifyf(false, "STATUS=Profile %s%s, backend %s.", profile,
                          m->settings.profile == FL_PROFILE_ALLOW ? " (logging only)" : "", backend);
}

void manager_profile_changed(Manager *m) {
        notify_status(m);
        (void) bus_emit_profile_changed(m);
}

static int manager_reload(Manager *m) {
        char f_old[64], f_new[64];
        const char *extra[] = { f_old, f_new, NULL };
        Settings s;
        int r;

        (void) sd_notify(false, "RELOADING=1");
        r = manager_load_settings(m, &s);
        if (r < 0) {
                log_error("Keeping the running profile %s.", profile_to_string(m->settings.profile));
                goto finish;
        }
        if (s.backend != m->settings.backend)
                log_notice("Backend=%s takes effect at the next start, keeping %s.",
                           backend_choice_to_string(s.backend), backend_to_string(m->bpf->backend));
        s.backend = m->settings.backend;

        if (s.rate_limit_interval_usec != m->settings.rate_limit_interval_usec ||
            s.rate_limit_burst != m->settings.rate_limit_burst) {
                char span[32];

                /* Counts in progress are kept; the new limits apply from now. */
                m->ratelimit.interval_usec = m->settings.rate_limit_interval_usec = s.rate_limit_interval_usec;
                m->ratelimit.burst = m->settings.rate_limit_burst = s.rate_limit_burst;
                if (s.rate_limit_interval_usec == 0 || s.rate_limit_burst == 0)
                        log_info("Rate limit of fileless execution events now off.");
                else
                        log_info("Rate limit of fileless execution events now %u per %s per source, %llu for all "
                                 "sources together.", s.rate_limit_burst,
                                 interval_to_string(s.rate_limit_interval_usec, span, sizeof(span)),
                                 (unsigned long long) s.rate_limit_burst * RATELIMIT_ALL_FACTOR);
        }

        if (s.profile == m->settings.profile) {
                log_info("Configuration reloaded, profile %s unchanged.", profile_to_string(s.profile));
                goto finish;
        }

        r = fl_bpf_set_profile(m->bpf, s.profile);
        if (r < 0) {
                log_error_errno(r, "Failed to apply profile %s, keeping %s: %m", profile_to_string(s.profile),
                                profile_to_string(m->settings.profile));
                goto finish;
        }

        snprintf(f_old, sizeof(f_old), "FILELESS_OLD_PROFILE=%s", profile_to_string(m->settings.profile));
        snprintf(f_new, sizeof(f_new), "FILELESS_PROFILE=%s", profile_to_string(s.profile));
        (void) journal_send_message(FL_MESSAGE_PROFILE_CHANGED, LOG_NOTICE, extra,
                                    "Fileless execution profile changed from %s to %s by a configuration reload.",
                                    profile_to_string(m->settings.profile), profile_to_string(s.profile));
        m->settings = s;
        (void) bus_emit_profile_changed(m);

finish:
        notify_status(m);
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

int manager_start(Manager *m) {
        char f_profile[64], f_backend[64], f_pins[64];
        const char *extra[] = { f_profile, f_backend, f_pins, NULL };
        sigset_t mask;
        int r;

        ratelimit_init(&m->ratelimit, m->settings.rate_limit_interval_usec, m->settings.rate_limit_burst);

        r = fl_bpf_setup(m->pin_path, m->settings.backend, m->settings.profile, &m->bpf);
        if (r < 0)
                return r;

        m->rb = ring_buffer__new(m->bpf->events_fd, handle_event, m, NULL);
        if (!m->rb)
                return log_error_errno(errno, "Failed to set up the event ring buffer: %m");
        r = sd_event_add_io(m->event, &m->rb_source, ring_buffer__epoll_fd(m->rb), EPOLLIN, on_ring_buffer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the event ring buffer: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_signal, m)) < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = sd_event_add_time_relative(m->event, &m->timer_source, CLOCK_MONOTONIC, HOUSEKEEPING_USEC, 0,
                                       on_housekeeping, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the housekeeping timer: %m");

        r = bus_setup(m);
        if (r < 0)
                return r;

        /* sd-event pings the watchdog by itself when WATCHDOG_USEC is set. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        /* Lost events that happened before we started are announced with the
         * first housekeeping round. */
        snprintf(f_profile, sizeof(f_profile), "FILELESS_PROFILE=%s", profile_to_string(m->settings.profile));
        snprintf(f_backend, sizeof(f_backend), "FILELESS_BACKEND=%s", backend_to_string(m->bpf->backend));
        snprintf(f_pins, sizeof(f_pins), "FILELESS_PINS=%s", m->bpf->reused ? "reused" : "created");
        (void) journal_send_message(FL_MESSAGE_STARTED, LOG_INFO, extra,
                                    "filelesslockd is enforcing profile %s with backend %s (%s pins in %s).",
                                    profile_to_string(m->settings.profile), backend_to_string(m->bpf->backend),
                                    m->bpf->reused ? "reused" : "new", m->pin_path);

        /* Loading parsed the kernel's BTF (megabytes) on the heap; a daemon
         * that idles for months should not keep those pages. */
        (void) malloc_trim(0);

        notify_status(m);
        (void) sd_notify(false, "READY=1");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        /* Whatever is still queued is delivered before we go; the kernel keeps
         * enforcing from the pins after that. */
        (void) ring_buffer__consume(m->rb);
        report_lost(m);
        ratelimit_flush(&m->ratelimit, now_usec(CLOCK_MONOTONIC), true, on_suppressed, NULL);
        (void) journal_send_message(FL_MESSAGE_STOPPED, LOG_INFO, NULL,
                                    "filelesslockd stopped; the pinned programs in %s keep enforcing profile %s.",
                                    m->pin_path, profile_to_string(m->settings.profile));
        return 0;
}
