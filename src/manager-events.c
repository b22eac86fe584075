/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* From the kernel's ring buffer to the journal and the bus, and the
 * housekeeping that keeps both honest: lost events, suppressed bursts, pins
 * that went away. */

#include <inttypes.h>
#include <sys/epoll.h>
#include <time.h>

#include "bpf-seal.h"
#include "bus.h"
#include "cgroup-unit.h"
#include "escape.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "names.h"

#define HOUSEKEEPING_USEC (5 * 1000000ULL)

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static const char *interval_to_string(uint64_t usec, char *buf, size_t size) {
        if (usec % 60000000ULL == 0)
                snprintf(buf, size, "%" PRIu64 " min", (uint64_t) (usec / 60000000ULL));
        else if (usec % 1000000ULL == 0)
                snprintf(buf, size, "%" PRIu64 " s", (uint64_t) (usec / 1000000ULL));
        else
                snprintf(buf, size, "%" PRIu64 " ms", (uint64_t) (usec / 1000ULL));
        return buf;
}

/* The end of a burst: how many of a source's events were not logged. */
static void on_suppressed(const RateSource *s, uint64_t now, void *userdata) {
        _cleanup_free_ char *path = NULL;
        const char *kind = kind_to_string(s->kind) ?: "unknown", *action = action_to_string(s->action) ?: "unknown";
        char span[32];

        interval_to_string(now - s->window_start, span, sizeof(span));
        if (s->uid_budget) {
                /* No figure for the budget: a reload may have changed it
                 * since this window began. */
                (void) journal_struct(LOG_WARNING, FL_MESSAGE_EVENTS_SUPPRESSED,
                                      "FILELESS_SUPPRESSED=%" PRIu64, s->suppressed, "FILELESS_UID=%u", s->uid,
                                      MESSAGE("Suppressed %" PRIu64 " fileless execution events of uid %u from "
                                              "many sources in %s, over the budget of one uid (%u times "
                                              "RateLimitBurst=); they were enforced and counted, only not logged "
                                              "one by one.",
                                              s->suppressed, s->uid, span, RATELIMIT_UID_FACTOR),
                                      NULL);
                return;
        }

        path = escape_string(s->path, sizeof(s->path));
        if (!path) {
                log_oom();
                return;
        }
        (void) journal_struct(LOG_WARNING, FL_MESSAGE_EVENTS_SUPPRESSED,
                              "FILELESS_SUPPRESSED=%" PRIu64, s->suppressed, "FILELESS_UID=%u", s->uid,
                              "FILELESS_KIND=%s", kind, "FILELESS_ACTION=%s", action, "FILELESS_EXEC_PATH=%s", path,
                              MESSAGE("Suppressed %" PRIu64 " similar fileless execution events of uid %u (%s, %s, "
                                      "via \"%s\") in %s; they were enforced and counted, only not logged one by "
                                      "one.",
                                      s->suppressed, s->uid, kind, action, isempty(path) ? "-" : path, span),
                              NULL);
}

static void event_send(Manager *m, const struct fl_event *e) {
        _cleanup_free_ char *unit = NULL, *user_unit = NULL, *scope = NULL;
        _cleanup_(event_record_done) EventRecord rec = {};
        EventContext ctx;
        int r;

        /* The kernel stamps events with CLOCK_BOOTTIME, which keeps counting
         * through suspend; translate now rather than once, since the wall clock
         * may have been set since. */
        ctx = (EventContext) {
                .realtime_usec = now_usec(CLOCK_REALTIME) - now_usec(CLOCK_BOOTTIME) + e->boot_ns / 1000,
                .shm_dir = fl_bpf_shm_dir(m->bpf, e->dev),
        };
        if (cgroup_id_units(m->cgroup2_fd, m->cgroup2_mount, e->cgroup_id, &unit, &user_unit) < 0)
                log_oom();
        /* The unit as the kernel named it at the exec: a unit killed at its
         * first exec often has no cgroup left to look up by now. */
        if (memchr(e->unit, 0, sizeof(e->unit)) && unit_name_is_scope(e->unit) && !streq_ptr(unit, e->unit)) {
                free(unit);
                unit = strdup(e->unit);
                if (!unit)
                        log_oom();
        }
        ctx.unit = unit;
        ctx.user_unit = user_unit;
        /* A scope removed since the event was raised is named by its id. */
        if (e->scope_id != 0 && !(scope = fl_bpf_scope_name(m->bpf, e->scope_id)) &&
            asprintf(&scope, "#%u", e->scope_id) < 0)
                scope = NULL;
        ctx.scope = scope;

        r = event_record_from_kernel(e, &ctx, &rec);
        if (r < 0) {
                log_error_errno(r, "Failed to format event: %m");
                return;
        }
        (void) journal_send_event(&rec);
        r = bus_emit_event(m, &rec);
        if (r >= 0)
                return;
        /* Loud once: listeners miss events. Then quiet, so that a broken bus
         * cannot flood the journal in turn. */
        if (!m->event_signal_failed)
                log_warning_errno(r, "Failed to send an Event signal (%m); D-Bus listeners miss this event. "
                                     "Further failures are logged at debug level.");
        else
                log_debug_errno(r, "Failed to send an Event signal, ignoring: %m");
        m->event_signal_failed = true;
}

static int handle_event(void *userdata, void *data, size_t size) {
        Manager *m = userdata;
        const struct fl_event *e = data;

        if (size < sizeof(*e)) {
                log_warning("Ignoring short event record (%zu bytes, expected %zu).", size, sizeof(*e));
                return 0;
        }
        /* A flood from one source is summarized, not logged event by event:
         * the journal and the bus must not pay for every exec of a loop. */
        if (ratelimit_check(&m->ratelimit, e, now_usec(CLOCK_MONOTONIC), on_suppressed, NULL))
                event_send(m, e);
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
        uint64_t stats[_FL_STAT_MAX], n;

        if (fl_bpf_read_stats(m->bpf, stats) < 0 || stats[FL_STAT_LOST] <= m->lost_reported)
                return;
        n = stats[FL_STAT_LOST] - m->lost_reported;
        m->lost_reported = stats[FL_STAT_LOST];
        (void) journal_struct(LOG_WARNING, FL_MESSAGE_EVENTS_LOST, "FILELESS_EVENTS_LOST=%" PRIu64, n,
                              MESSAGE("%" PRIu64 " fileless execution events were lost because the ring buffer "
                                      "was full (%" PRIu64 " in all); enforcement was not affected.",
                                      n, stats[FL_STAT_LOST]),
                              NULL);
}

static void check_pins(Manager *m) {
        bool intact = fl_bpf_pins_intact(m->bpf) > 0;

        if (!intact && !m->pins_missing && m->bpf->sealed) {
                static const ProfileChange seen = { .how = "seen by filelesslockd" };

                manager_tamper_refused(m, FL_TAMPER_PINS_GONE, "the pins were removed", &seen);
        }
        if (!intact && !m->pins_missing)
                log_warning("The pins in %s are gone or were replaced: enforcement continues while filelesslockd "
                            "runs, and stops when it exits.", m->pin_path);
        else if (intact && m->pins_missing)
                log_notice("The pins in %s are back.", m->pin_path);
        m->pins_missing = !intact;
}

static int on_housekeeping(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        report_lost(m);
        ratelimit_flush(&m->ratelimit, now_usec(CLOCK_MONOTONIC), false, on_suppressed, NULL);
        check_pins(m);
        return sd_event_source_set_time_relative(s, HOUSEKEEPING_USEC);
}

int manager_events_start(Manager *m) {
        int r;

        ratelimit_init(&m->ratelimit, m->settings.rate_limit_interval_usec, m->settings.rate_limit_burst);
        m->rb = ring_buffer__new(m->bpf->map_fds[FL_MAP_EVENTS], handle_event, m, NULL);
        if (!m->rb)
                return log_error_errno(errno, "Failed to set up the event ring buffer: %m");
        r = sd_event_add_io(m->event, &m->rb_source, ring_buffer__epoll_fd(m->rb), EPOLLIN, on_ring_buffer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the event ring buffer: %m");
        return 0;
}

int manager_housekeeping_start(Manager *m) {
        int r;

        /* Lost events that happened before we started are announced with the
         * first round. */
        r = sd_event_add_time_relative(m->event, &m->timer_source, CLOCK_MONOTONIC, HOUSEKEEPING_USEC, 0,
                                       on_housekeeping, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the housekeeping timer: %m");
        return 0;
}

/* Whatever is still queued is delivered before we go. */
void manager_events_stop(Manager *m) {
        (void) ring_buffer__consume(m->rb);
        report_lost(m);
        ratelimit_flush(&m->ratelimit, now_usec(CLOCK_MONOTONIC), true, on_suppressed, NULL);
}
