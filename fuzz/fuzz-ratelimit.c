/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The rate limit of src/ratelimit.c under a hostile event stream: the exec
 * path (and so the source) is the attacker's choice. The input is a limit
 * (first two bytes) and then a sequence of 4-byte operations, as the manager
 * makes them: an event checked at a monotonic time that only moves forward, a
 * housekeeping flush (or a forced one, as at exit), or a reload that changes
 * the limits in place. Paths come from a small set so that sources repeat, and
 * long enough a set to overflow the 128-entry source table; some are 256 bytes
 * without a NUL and differ only in their last byte. Most events come from
 * uids 0-3; one operation takes uids 4-259, enough to overflow the 64-entry
 * uid table.
 *
 * Two budgets (ratelimit.h): each source may log BURST events per window of
 * its own, and all sources of one uid together BURST * RATELIMIT_UID_FACTOR
 * per window of that uid's budget. A window starts at the first check (or
 * flush) at which the previous one is an interval old, and a forced flush ends
 * it. The uid budgets are modelled here, independently of rl->uids: window,
 * count, pending suppressions, when last seen, and whether the table holds the
 * uid at all (an entry is evicted, least recently seen first, when a new uid
 * finds the table full). Invariants:
 *  - with the limit off every event is logged, and neither table changes;
 *  - an event is logged exactly when its source has logged fewer than BURST
 *    in its window (its count as the table had it before, or 0 for a new
 *    source or an ended window) and its uid fewer than
 *    BURST * RATELIMIT_UID_FACTOR in the model's window of that uid: so one
 *    uid logs at most that many per window however many paths it uses, and
 *    a uid that has logged nothing yet in its window is never refused for
 *    what other uids did;
 *  - a refused event is charged to its source when the source is over its
 *    own burst, else to its uid's budget; a source whose event the uid budget
 *    refused need not be over its own burst (it is not);
 *  - after each check the source and the uid are each in their table exactly
 *    once, were seen now, and count the logged event (≤ BURST, ≤ the budget);
 *  - a new uid evicts, when the table is full, an entry seen least recently;
 *  - every suppressed event is reported exactly once, by a summary of its
 *    source or of its uid's budget (uid_budget set, only for entries of
 *    rl->uids): at every step reported + pending = refused for each of the
 *    two, their sum is suppressed_total and the number of checks that
 *    returned false; a uid's summary comes exactly when the model's window of
 *    that uid ends with events pending, or the uid is evicted with events
 *    pending, with the model's count and window start; after the final
 *    flush(force) everything is reported and both tables are empty;
 *  - the rl->uids table is the model's: the same uids, windows, counts,
 *    pending events and last-seen times;
 *  - a flush forgets exactly the sources and uids idle for a whole interval,
 *    and ends every window that is an interval old;
 *  - neither table ever holds more than its maximum, each source path
 *    NUL-terminated, and escape_string() of a stored path (as
 *    on_suppressed() in manager-events.c does it) is printable. */

#include "escape.h"
#include "fuzz-common.h"
#include "ratelimit.h"

#define N_MODEL_UIDS 260U

/* The model of one uid's budget. */
typedef struct ModelUid {
        bool present; /* in rl->uids */
        uint64_t start, last_seen, logged, pending;
} ModelUid;

/* A uid summary the model expects in the current operation. */
typedef struct Expected {
        uint32_t uid;
        uint64_t count, start;
        bool seen;
} Expected;

typedef struct State {
        RateLimit *rl;
        uint64_t now;

        uint64_t checks_refused;             /* checks that returned false */
        uint64_t refused_source, refused_uid; /* of those, charged to the source, to the uid's budget */
        uint64_t reported_source, reported_uid;

        ModelUid uids[N_MODEL_UIDS];

        /* The uid summaries due in the current operation. */
        Expected due[N_MODEL_UIDS + 1];
        size_t n_due;
        /* Set while a check may evict a uid entry: its summary is matched
         * after the fact, when the table shows which one went. */
        bool eviction_possible;
        Expected evicted;
        unsigned n_evicted_summaries;
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

static const RateSource *find_uid(const RateLimit *rl, uint32_t uid, size_t *ret_count) {
        const RateSource *found = NULL;
        size_t count = 0;

        for (size_t i = 0; i < rl->n_uids; i++)
                if (rl->uids[i].uid == uid) {
                        found = &rl->uids[i];
                        count++;
                }
        if (ret_count)
                *ret_count = count;
        return found;
}

static uint64_t uid_budget(const RateLimit *rl) {
        return (uint64_t) rl->burst * RATELIMIT_UID_FACTOR;
}

static size_t model_present(const State *st) {
        size_t n = 0;

        for (uint32_t u = 0; u < N_MODEL_UIDS; u++)
                n += st->uids[u].present;
        return n;
}

static void expect_summary(State *st, uint32_t uid, uint64_t count, uint64_t start) {
        FUZZ_ASSERT(st->n_due < sizeof(st->due) / sizeof(st->due[0]));
        st->due[st->n_due++] = (Expected) { .uid = uid, .count = count, .start = start };
}

/* Ends the model's window of UID if it is an interval old (or FORCE), and
 * expects its summary in this operation when events are pending. */
static void model_uid_roll(State *st, uint32_t uid, bool force) {
        ModelUid *m = &st->uids[uid];

        if (!m->present || (!force && st->now - m->start < st->rl->interval_usec))
                return;
        if (m->pending > 0)
                expect_summary(st, uid, m->pending, m->start);
        m->start = st->now;
        m->logged = 0;
        m->pending = 0;
}

static void check_table(const State *st) {
        const RateLimit *rl = st->rl;
        uint64_t pending = 0, pending_uid = 0;

        FUZZ_ASSERT(rl->n_sources <= RATELIMIT_SOURCES_MAX);
        for (size_t i = 0; i < rl->n_sources; i++) {
                const RateSource *s = &rl->sources[i];

                FUZZ_ASSERT(!s->uid_budget);
                FUZZ_ASSERT(memchr(s->path, 0, sizeof(s->path)));
                FUZZ_ASSERT(s->window_start <= st->now && s->last_seen <= st->now);
                pending += s->suppressed;
        }

        FUZZ_ASSERT(rl->n_uids <= RATELIMIT_UIDS_MAX);
        FUZZ_ASSERT(rl->n_uids == model_present(st));
        for (size_t i = 0; i < rl->n_uids; i++) {
                const RateSource *s = &rl->uids[i];
                const ModelUid *m;
                size_t count;

                FUZZ_ASSERT(s->uid_budget);
                FUZZ_ASSERT(s->uid < N_MODEL_UIDS);
                FUZZ_ASSERT(s->path[0] == 0);
                (void) find_uid(rl, s->uid, &count);
                FUZZ_ASSERT(count == 1);
                m = &st->uids[s->uid];
                FUZZ_ASSERT(m->present);
                if (s->window_start != m->start || s->n != m->logged || s->suppressed != m->pending ||
                    s->last_seen != m->last_seen)
                        FUZZ_FAIL("uid %u: window %llu, logged %u, pending %llu, last seen %llu; the model: %llu, %llu, "
                                  "%llu, %llu",
                                  s->uid, (unsigned long long) s->window_start, s->n,
                                  (unsigned long long) s->suppressed, (unsigned long long) s->last_seen,
                                  (unsigned long long) m->start, (unsigned long long) m->logged,
                                  (unsigned long long) m->pending, (unsigned long long) m->last_seen);
                pending_uid += s->suppressed;
        }

        if (st->reported_source + pending != st->refused_source || st->reported_uid + pending_uid != st->refused_uid ||
            rl->suppressed_total != st->checks_refused || st->checks_refused != st->refused_source + st->refused_uid)
                FUZZ_FAIL("per source: reported %llu + pending %llu, refused %llu; per uid: reported %llu + pending "
                          "%llu, refused %llu; suppressed_total %llu, checks that returned false %llu",
                          (unsigned long long) st->reported_source, (unsigned long long) pending,
                          (unsigned long long) st->refused_source, (unsigned long long) st->reported_uid,
                          (unsigned long long) pending_uid, (unsigned long long) st->refused_uid,
                          (unsigned long long) rl->suppressed_total, (unsigned long long) st->checks_refused);
}

/* After each operation: every uid summary the model expected came, once. */
static void end_operation(State *st) {
        for (size_t i = 0; i < st->n_due; i++)
                if (!st->due[i].seen)
                        FUZZ_FAIL("no summary for uid %u, whose window (started at %llu) ended with %llu events "
                                  "pending", st->due[i].uid, (unsigned long long) st->due[i].start,
                                  (unsigned long long) st->due[i].count);
        st->n_due = 0;
        check_table(st);
}

static void on_summary(const RateSource *s, uint64_t now, void *userdata) {
        State *st = userdata;
        RateLimit *rl = st->rl;
        char *escaped;

        FUZZ_ASSERT(now == st->now && s->window_start <= now);
        FUZZ_ASSERT(s->suppressed > 0);

        if (s >= rl->uids && s < rl->uids + RATELIMIT_UIDS_MAX) {
                FUZZ_ASSERT(s < rl->uids + rl->n_uids);
                FUZZ_ASSERT(s->uid_budget);
                for (size_t i = 0; i < st->n_due; i++)
                        if (st->due[i].uid == s->uid && !st->due[i].seen) {
                                if (s->suppressed != st->due[i].count || s->window_start != st->due[i].start)
                                        FUZZ_FAIL("uid %u's summary reports %llu events of the window started at "
                                                  "%llu, the model %llu of the window started at %llu",
                                                  s->uid, (unsigned long long) s->suppressed,
                                                  (unsigned long long) s->window_start,
                                                  (unsigned long long) st->due[i].count,
                                                  (unsigned long long) st->due[i].start);
                                st->due[i].seen = true;
                                st->reported_uid += s->suppressed;
                                return;
                        }
                /* Not a window that ended: an entry evicted to make room,
                 * matched against the table after the check. */
                if (!st->eviction_possible || st->n_evicted_summaries > 0)
                        FUZZ_FAIL("a summary of %llu events of uid %u that the model does not expect",
                                  (unsigned long long) s->suppressed, s->uid);
                st->evicted = (Expected) { .uid = s->uid, .count = s->suppressed, .start = s->window_start };
                st->n_evicted_summaries++;
                st->reported_uid += s->suppressed;
                return;
        }

        FUZZ_ASSERT(s >= rl->sources && s < rl->sources + rl->n_sources);
        FUZZ_ASSERT(!s->uid_budget);
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
                /* UTF-8, controls, a bidi override: the stored copy is
                 * escaped in summaries */
                snprintf(path, FL_PATH_LEN, "/dev/shm/\xc3\xa9\t\xe2\x80\xae%u\n", sel);
        else {
                memset(path, 'A', FL_PATH_LEN);
                path[FL_PATH_LEN - 1] = (char) sel;
        }
}

static void do_check(State *st, const struct fl_event *e) {
        RateLimit *rl = st->rl;
        ModelUid *mu = &st->uids[e->uid];
        const RateSource *s, *u;
        RateSource sources_before[RATELIMIT_SOURCES_MAX], uids_before[RATELIMIT_UIDS_MAX];
        uint64_t own_suppressed = 0, budget;
        unsigned own_n = 0;
        size_t n_sources = rl->n_sources, n_uids = rl->n_uids, found;
        bool logged, own_over, uid_over, was_present = mu->present;

        if (rl->interval_usec == 0 || rl->burst == 0) {
                memcpy(sources_before, rl->sources, sizeof(sources_before));
                memcpy(uids_before, rl->uids, sizeof(uids_before));
                logged = ratelimit_check(rl, e, st->now, on_summary, st);
                FUZZ_ASSERT(logged);
                FUZZ_ASSERT(rl->n_sources == n_sources && rl->n_uids == n_uids);
                FUZZ_ASSERT(memcmp(rl->sources, sources_before, sizeof(sources_before)) == 0);
                FUZZ_ASSERT(memcmp(rl->uids, uids_before, sizeof(uids_before)) == 0);
                return;
        }

        /* What the event's source has logged in its window so far. */
        s = find_source(rl, e, NULL);
        if (s && st->now - s->window_start < rl->interval_usec) {
                own_n = s->n;
                own_suppressed = s->suppressed;
        }
        own_over = own_n >= rl->burst;

        /* The uid's budget: its window ends now if it is an interval old; a
         * uid the table does not hold starts afresh, making room first if
         * the table is full. */
        model_uid_roll(st, e->uid, false);
        st->eviction_possible = !mu->present && model_present(st) == RATELIMIT_UIDS_MAX;
        st->n_evicted_summaries = 0;
        if (!mu->present)
                *mu = (ModelUid) { .present = true, .start = st->now };
        budget = uid_budget(rl);
        uid_over = mu->logged >= budget;
        if (mu->logged == 0)
                /* nothing logged for this uid in its window: whatever the
                 * others did, only its own source's burst can refuse it */
                FUZZ_ASSERT(!uid_over);

        logged = ratelimit_check(rl, e, st->now, on_summary, st);

        if (logged && own_over)
                FUZZ_FAIL("logged, but its source had logged %u of its burst of %u in this window", own_n, rl->burst);
        if (logged && uid_over)
                FUZZ_FAIL("logged, but uid %u had logged %llu in this window: more than BURST * "
                          "RATELIMIT_UID_FACTOR = %llu per interval",
                          e->uid, (unsigned long long) mu->logged, (unsigned long long) budget);
        if (!logged && !own_over && !uid_over)
                FUZZ_FAIL("refused, but its source had logged %u of %u and uid %u %llu of %llu in their windows",
                          own_n, rl->burst, e->uid, (unsigned long long) mu->logged, (unsigned long long) budget);

        /* Which uid made room, if one had to. */
        if (st->eviction_possible) {
                uint64_t oldest = UINT64_MAX;
                uint32_t gone = UINT32_MAX;

                for (uint32_t v = 0; v < N_MODEL_UIDS; v++)
                        if (v != e->uid && st->uids[v].present && st->uids[v].last_seen < oldest)
                                oldest = st->uids[v].last_seen;
                for (uint32_t v = 0; v < N_MODEL_UIDS; v++)
                        if (v != e->uid && st->uids[v].present && !find_uid(rl, v, NULL)) {
                                FUZZ_ASSERT(gone == UINT32_MAX);
                                gone = v;
                        }
                if (gone == UINT32_MAX)
                        FUZZ_FAIL("uid %u is new and the uid table was full, but no entry made room", e->uid);
                if (st->uids[gone].last_seen != oldest)
                        FUZZ_FAIL("uid %u (last seen %llu) made room, but another was seen at %llu", gone,
                                  (unsigned long long) st->uids[gone].last_seen, (unsigned long long) oldest);
                if (st->uids[gone].pending > 0) {
                        if (st->n_evicted_summaries != 1 || st->evicted.uid != gone ||
                            st->evicted.count != st->uids[gone].pending || st->evicted.start != st->uids[gone].start)
                                FUZZ_FAIL("uid %u made room with %llu events pending, and its summary did not come "
                                          "as it should", gone, (unsigned long long) st->uids[gone].pending);
                } else
                        FUZZ_ASSERT(st->n_evicted_summaries == 0);
                st->uids[gone] = (ModelUid) {};
        } else {
                FUZZ_ASSERT(st->n_evicted_summaries == 0);
                FUZZ_ASSERT(rl->n_uids == n_uids + !was_present);
        }
        st->eviction_possible = false;

        s = find_source(rl, e, &found);
        FUZZ_ASSERT(found == 1);
        FUZZ_ASSERT(s->last_seen == st->now);
        u = find_uid(rl, e->uid, &found);
        FUZZ_ASSERT(found == 1);
        FUZZ_ASSERT(u->last_seen == st->now);
        mu->last_seen = st->now;
        if (logged) {
                mu->logged++;
                FUZZ_ASSERT(mu->logged <= budget);
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
                /* Refused by the uid's budget: the source is under its own
                 * burst, and the uid's summary reports the event. */
                st->refused_uid++;
                mu->pending++;
                FUZZ_ASSERT(s->n < rl->burst);
                if (s->suppressed != own_suppressed)
                        FUZZ_FAIL("refused by the uid's budget, but charged to its source too (suppressed %llu, was "
                                  "%llu)",
                                  (unsigned long long) s->suppressed, (unsigned long long) own_suppressed);
        }
}

static void do_flush(State *st, bool force) {
        RateLimit *rl = st->rl;
        size_t keep = 0;

        for (size_t i = 0; i < rl->n_sources; i++)
                keep += !force && st->now - rl->sources[i].last_seen < rl->interval_usec;
        for (uint32_t u = 0; u < N_MODEL_UIDS; u++)
                model_uid_roll(st, u, force);

        ratelimit_flush(rl, st->now, force, on_summary, st);

        for (uint32_t u = 0; u < N_MODEL_UIDS; u++)
                if (st->uids[u].present && (force || st->now - st->uids[u].last_seen >= rl->interval_usec))
                        st->uids[u] = (ModelUid) {};

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
        State *st;

        if (size < 2)
                return 0;
        st = calloc(1, sizeof(State));
        if (!st)
                abort();
        st->now = 1000000000ULL;
        st->rl = malloc(sizeof(RateLimit));
        if (!st->rl)
                abort();
        ratelimit_init(st->rl, intervals[data[0] & 7], bursts[data[1] & 7]);
        data += 2, size -= 2;

        for (; size >= 4; data += 4, size -= 4) {
                unsigned op = data[0] & 7;

                st->now += (uint64_t) data[3] << ((data[0] >> 3) & 31);

                if (op == 6)
                        /* housekeeping; bit 0 of the second byte: as at exit */
                        do_flush(st, data[1] & 1);
                else if (op == 7) {
                        /* manager_reload(): "Counts in progress are kept; the new limits apply from now." */
                        st->rl->interval_usec = intervals[data[1] & 7];
                        st->rl->burst = bursts[data[2] & 7];
                } else if (op == 5) {
                        /* many uids: 4 + the third byte, a few paths */
                        struct fl_event e = {
                                .uid = 4U + data[2],
                                .kind = data[1] & 7,
                                .action = (data[1] >> 3) & 3,
                        };

                        make_path(e.path, data[1] >> 5);
                        do_check(st, &e);
                } else {
                        struct fl_event e = {
                                .uid = data[1] & 3,
                                .kind = (data[1] >> 2) & 7,
                                .action = (data[1] >> 5) & 3,
                        };

                        make_path(e.path, data[2]);
                        do_check(st, &e);
                }
                end_operation(st);
        }

        do_flush(st, true);
        end_operation(st);
        FUZZ_ASSERT(st->rl->n_sources == 0 && st->rl->n_uids == 0);
        FUZZ_ASSERT(st->reported_source == st->refused_source && st->reported_uid == st->refused_uid);
        free(st->rl);
        free(st);
        return 0;
}
