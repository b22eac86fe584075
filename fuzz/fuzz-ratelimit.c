/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The rate limit of src/ratelimit.c under a hostile event stream: the exec
 * path (and so the source) is the attacker's choice. The input is a limit
 * (first two bytes) and then a sequence of 4-byte operations, as the manager
 * makes them: an event checked at a monotonic time that only moves forward, a
 * housekeeping flush (or a forced one, as at exit), or a reload that changes
 * the limits in place. Paths come from a small set so that sources repeat, and
 * long enough a set to overflow the 128-entry table; some are 256 bytes without
 * a NUL and differ only in their last byte.
 *
 * Two budgets (ratelimit.h): each source may log BURST events per window of
 * its own, and all sources together BURST * RATELIMIT_ALL_FACTOR per window of
 * the all-sources budget. A window starts at the first check (or flush) at
 * which the previous one is an interval old, and a forced flush ends it. The
 * all-sources window is modelled here, independently of rl->all: that is the
 * budget an attacker who varies the path runs into. Invariants:
 *  - with the limit off every event is logged, and neither a source nor the
 *    all-sources budget is touched;
 *  - an event is logged exactly when its source has logged fewer than BURST in
 *    its window (its count as the table had it before, or 0 for a new source
 *    or an ended window) and all sources together fewer than
 *    BURST * RATELIMIT_ALL_FACTOR in the model's window: so at most that many
 *    are logged per all-sources window, however many sources;
 *  - a refused event is charged to its source when the source is over its
 *    own burst, else to the all-sources budget; a source whose event the
 *    all-sources budget refused need not be over its own burst (it is not);
 *  - after each check the source is in the table exactly once, was seen now,
 *    and counts the logged event (≤ BURST);
 *  - every suppressed event is reported exactly once, by a summary of its
 *    source or by the all-sources summary (s->all, and only for &rl->all): at
 *    every step reported + pending = refused for each of the two, their sum
 *    is suppressed_total and the number of checks that returned false; the
 *    all-sources summary comes exactly when the model's window ends with
 *    events pending, with the number and window start of the model; after the
 *    final flush(force) everything is reported and the table is empty;
 *  - a flush forgets exactly the sources idle for a whole interval, and ends
 *    every window that is an interval old;
 *  - the table never holds more than RATELIMIT_SOURCES_MAX sources, each path
 *    NUL-terminated, and escape_string() of a stored path (as on_suppressed()
 *    in manager.c does it) is printable. */

#include "event-format.h"
#include "fuzz-common.h"
#include "ratelimit.h"

typedef struct State {
        RateLimit *rl;
        uint64_t now;

        uint64_t checks_refused;             /* checks that returned false */
        uint64_t refused_source, refused_all; /* of those, charged to the source, to all sources */
        uint64_t reported_source, reported_all;

        /* The model of the all-sources window. */
        uint64_t all_start, all_logged, all_pending;

        /* The all-sources summary due in the current operation, if any. */
        bool all_summary_due;
        uint64_t all_summary_count, all_summary_start;
        unsigned all_summaries; /* made in the current operation */
} State;

static const uint64_t intervals[8] = { 0, 1, 1000, 50000, 1000000, 10000000, 60000000, 86400000000ULL };
static const unsigned bursts[8] = { 0, 1, 2, 3, 5, 100, 1000, 1000000 };

static bool same_source(const RateSource *s, const struct fl_event *e) {
        return s->uid == e->uid && s->kind == e->kind && s->action == e->action &&
               memcmp(s->path, e->path, strnlen(e->path, FL_PATH_LEN - 1)) == 0 &&
               strlen(s->path) == strnlen(e->path, FL_PATH_LEN - 1);
}

static const RateSource *find_source(const RateLimit *rl, const struct fl_event *e, size_t *ret_count) {
        const RateSource *found = NULL;
        size_t count = 0;

        for (size_t i = 0; i < rl->n_sources; i++)
                if (same_source(&rl->sources[i], e)) {
                        found = &rl->sources[i];
                        count++;
                }
        if (ret_count)
                *ret_count = count;
        return found;
}

static uint64_t all_budget(const RateLimit *rl) {
        return (uint64_t) rl->burst * RATELIMIT_ALL_FACTOR;
}

/* Ends the model's all-sources window if it is an interval old (or FORCE),
 * and expects its summary in this operation when events are pending. */
static void model_all_roll(State *st, bool force) {
        if (!force && st->now - st->all_start < st->rl->interval_usec)
                return;
        if (st->all_pending > 0) {
                FUZZ_ASSERT(!st->all_summary_due);
                st->all_summary_due = true;
                st->all_summary_count = st->all_pending;
                st->all_summary_start = st->all_start;
        }
        st->all_start = st->now;
        st->all_logged = 0;
        st->all_pending = 0;
}

static void check_table(const State *st) {
        const RateLimit *rl = st->rl;
        uint64_t pending = 0;

        FUZZ_ASSERT(rl->n_sources <= RATELIMIT_SOURCES_MAX);
        for (size_t i = 0; i < rl->n_sources; i++) {
                const RateSource *s = &rl->sources[i];

                FUZZ_ASSERT(!s->all);
                FUZZ_ASSERT(memchr(s->path, 0, sizeof(s->path)));
                FUZZ_ASSERT(s->window_start <= st->now && s->last_seen <= st->now);
                pending += s->suppressed;
        }
        FUZZ_ASSERT(rl->all.all);
        if (rl->all.window_start != st->all_start)
                FUZZ_FAIL("the all-sources window started at %llu, the model's at %llu",
                          (unsigned long long) rl->all.window_start, (unsigned long long) st->all_start);
        if (st->reported_source + pending != st->refused_source || st->reported_all + rl->all.suppressed != st->refused_all ||
            rl->all.suppressed != st->all_pending || rl->suppressed_total != st->checks_refused ||
            st->checks_refused != st->refused_source + st->refused_all)
                FUZZ_FAIL("per source: reported %llu + pending %llu, refused %llu; all sources: reported %llu + "
                          "pending %llu (model %llu), refused %llu; suppressed_total %llu, checks that returned "
                          "false %llu",
                          (unsigned long long) st->reported_source, (unsigned long long) pending,
                          (unsigned long long) st->refused_source, (unsigned long long) st->reported_all,
                          (unsigned long long) rl->all.suppressed, (unsigned long long) st->all_pending,
                          (unsigned long long) st->refused_all, (unsigned long long) rl->suppressed_total,
                          (unsigned long long) st->checks_refused);
}

/* After each operation: the all-sources summary came if and only if due. */
static void end_operation(State *st) {
        if (st->all_summaries != (st->all_summary_due ? 1U : 0U))
                FUZZ_FAIL("%u all-sources summaries in this operation, the model expects %s", st->all_summaries,
                          st->all_summary_due ? "one (its window ended with events pending)" : "none");
        st->all_summary_due = false;
        st->all_summaries = 0;
        check_table(st);
}

static void on_summary(const RateSource *s, uint64_t now, void *userdata) {
        State *st = userdata;
        char *escaped;

        FUZZ_ASSERT(now == st->now && s->window_start <= now);
        FUZZ_ASSERT(s->suppressed > 0);

        if (s == &st->rl->all) {
                FUZZ_ASSERT(s->all);
                if (!st->all_summary_due || st->all_summaries > 0)
                        FUZZ_FAIL("an all-sources summary of %llu events that the model does not expect",
                                  (unsigned long long) s->suppressed);
                if (s->suppressed != st->all_summary_count || s->window_start != st->all_summary_start)
                        FUZZ_FAIL("the all-sources summary reports %llu events of the window started at %llu, the "
                                  "model %llu of the window started at %llu",
                                  (unsigned long long) s->suppressed, (unsigned long long) s->window_start,
                                  (unsigned long long) st->all_summary_count,
                                  (unsigned long long) st->all_summary_start);
                st->all_summaries++;
                st->reported_all += s->suppressed;
                return;
        }

        FUZZ_ASSERT(s >= st->rl->sources && s < st->rl->sources + st->rl->n_sources);
        FUZZ_ASSERT(!s->all);
        FUZZ_ASSERT(memchr(s->path, 0, sizeof(s->path)));
        escaped = escape_string(s->path, sizeof(s->path));
        FUZZ_ASSERT(escaped);
        fuzz_check_text("summary path", escaped);
        free(escaped);
        st->reported_source += s->suppressed;
}

static void make_path(char *path, unsigned sel) {
        memset(path, 0, FL_PATH_LEN);
        if (sel < 200)
                snprintf(path, FL_PATH_LEN, "/proc/self/fd/%u", sel);
        else if (sel < 240)
                /* UTF-8 and controls: the stored copy is escaped in summaries */
                snprintf(path, FL_PATH_LEN, "/dev/shm/\xc3\xa9\t%u\n", sel);
        else {
                memset(path, 'A', FL_PATH_LEN);
                path[FL_PATH_LEN - 1] = (char) sel;
        }
}

static void do_check(State *st, const struct fl_event *e) {
        RateLimit *rl = st->rl;
        const RateSource *s;
        RateSource all_before;
        uint64_t own_suppressed = 0, budget;
        unsigned own_n = 0;
        size_t before = rl->n_sources, found;
        bool logged, own_over, all_over;

        if (rl->interval_usec == 0 || rl->burst == 0) {
                all_before = rl->all;
                logged = ratelimit_check(rl, e, st->now, on_summary, st);
                FUZZ_ASSERT(logged);
                FUZZ_ASSERT(rl->n_sources == before);
                FUZZ_ASSERT(memcmp(&rl->all, &all_before, sizeof(all_before)) == 0);
                return;
        }

        /* What the event's source has logged in its window so far. */
        s = find_source(rl, e, NULL);
        if (s && st->now - s->window_start < rl->interval_usec) {
                own_n = s->n;
                own_suppressed = s->suppressed;
        }
        own_over = own_n >= rl->burst;
        model_all_roll(st, false);
        budget = all_budget(rl);
        all_over = st->all_logged >= budget;

        logged = ratelimit_check(rl, e, st->now, on_summary, st);

        if (logged && own_over)
                FUZZ_FAIL("logged, but its source had logged %u of its burst of %u in this window", own_n, rl->burst);
        if (logged && all_over)
                FUZZ_FAIL("logged, but all sources had logged %llu in this window: more than BURST * "
                          "RATELIMIT_ALL_FACTOR = %llu per interval",
                          (unsigned long long) st->all_logged, (unsigned long long) budget);
        if (!logged && !own_over && !all_over)
                FUZZ_FAIL("refused, but its source had logged %u of %u and all sources %llu of %llu in their windows",
                          own_n, rl->burst, (unsigned long long) st->all_logged, (unsigned long long) budget);

        s = find_source(rl, e, &found);
        FUZZ_ASSERT(found == 1);
        FUZZ_ASSERT(s->last_seen == st->now);
        if (logged) {
                st->all_logged++;
                FUZZ_ASSERT(st->all_logged <= budget);
                FUZZ_ASSERT(s->n == own_n + 1 && s->n <= rl->burst);
                FUZZ_ASSERT(s->suppressed == own_suppressed);
                return;
        }

        st->checks_refused++;
        FUZZ_ASSERT(s->n == own_n);
        if (own_over) {
                /* Its own flood: its own summary reports it. */
                st->refused_source++;
                FUZZ_ASSERT(s->n >= rl->burst);
                if (s->suppressed != own_suppressed + 1)
                        FUZZ_FAIL("refused over its own burst, but its source's suppressed went from %llu to %llu",
                                  (unsigned long long) own_suppressed, (unsigned long long) s->suppressed);
        } else {
                /* Refused by the all-sources budget: the source is under its
                 * own burst, and the all-sources summary reports the event. */
                st->refused_all++;
                st->all_pending++;
                FUZZ_ASSERT(s->n < rl->burst);
                if (s->suppressed != own_suppressed)
                        FUZZ_FAIL("refused by the all-sources budget, but charged to its source too (suppressed "
                                  "%llu, was %llu)",
                                  (unsigned long long) s->suppressed, (unsigned long long) own_suppressed);
        }
}

static void do_flush(State *st, bool force) {
        RateLimit *rl = st->rl;
        size_t keep = 0;

        for (size_t i = 0; i < rl->n_sources; i++)
                keep += !force && st->now - rl->sources[i].last_seen < rl->interval_usec;
        model_all_roll(st, force);

        ratelimit_flush(rl, st->now, force, on_summary, st);

        if (rl->n_sources != keep)
                FUZZ_FAIL("the flush kept %zu sources, %zu were seen within the interval", rl->n_sources, keep);
        for (size_t i = 0; i < rl->n_sources; i++) {
                const RateSource *s = &rl->sources[i];

                FUZZ_ASSERT(st->now - s->last_seen < rl->interval_usec);
                /* an ended window was reported and restarted */
                FUZZ_ASSERT(st->now - s->window_start < rl->interval_usec);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        State st = { .now = 1000000000ULL };

        if (size < 2)
                return 0;
        st.rl = malloc(sizeof(RateLimit));
        if (!st.rl)
                abort();
        ratelimit_init(st.rl, intervals[data[0] & 7], bursts[data[1] & 7]);
        /* ratelimit_init() zeroes rl->all: its first window runs from time 0. */
        st.all_start = 0;
        data += 2, size -= 2;

        for (; size >= 4; data += 4, size -= 4) {
                unsigned op = data[0] & 7;

                st.now += (uint64_t) data[3] << ((data[0] >> 3) & 31);

                if (op == 6)
                        /* housekeeping; bit 0 of the second byte: as at exit */
                        do_flush(&st, data[1] & 1);
                else if (op == 7) {
                        /* manager_reload(): "Counts in progress are kept; the new limits apply from now." */
                        st.rl->interval_usec = intervals[data[1] & 7];
                        st.rl->burst = bursts[data[2] & 7];
                } else {
                        struct fl_event e = {
                                .uid = data[1] & 3,
                                .kind = (data[1] >> 2) & 7,
                                .action = (data[1] >> 5) & 3,
                        };

                        make_path(e.path, data[2]);
                        do_check(&st, &e);
                }
                end_operation(&st);
        }

        do_flush(&st, true);
        end_operation(&st);
        FUZZ_ASSERT(st.rl->n_sources == 0);
        FUZZ_ASSERT(st.reported_source == st.refused_source && st.reported_all == st.refused_all);
        FUZZ_ASSERT(st.rl->all.suppressed == 0);
        free(st.rl);
        return 0;
}
