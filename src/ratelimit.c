/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "ratelimit.h"

void ratelimit_init(RateLimit *rl, uint64_t interval_usec, unsigned burst) {
        memset(rl, 0, sizeof(*rl));
        rl->interval_usec = interval_usec;
        rl->burst = burst;
}

static bool source_matches(const RateSource *s, const struct fl_event *e) {
        if (s->uid != e->uid)
                return false;
        if (s->uid_budget)
                return true;
        return s->kind == e->kind && s->action == e->action &&
               /* The stored copy is cut to leave room for its NUL. */
               strncmp(s->path, e->path, sizeof(s->path) - 1) == 0;
}

static void source_report(RateSource *s, uint64_t now, ratelimit_summary_t summary, void *userdata) {
        if (s->suppressed > 0 && summary)
                summary(s, now, userdata);
        s->suppressed = 0;
}

/* Starts a new window for S if its last one ended by NOW, reporting it. */
static void window_roll(RateLimit *rl, RateSource *s, uint64_t now, bool force, ratelimit_summary_t summary,
                        void *userdata) {
        if (!force && now - s->window_start < rl->interval_usec)
                return;
        source_report(s, now, summary, userdata);
        s->window_start = now;
        s->n = 0;
}

/* E's entry in the table V of *N entries (at most MAX), made (in a free slot or that of the least recently seen
 * entry, which is reported first) if there is none. */
static RateSource *table_get(RateSource *v, size_t *n, size_t max, bool uid_budget, const struct fl_event *e, uint64_t now,
                             ratelimit_summary_t summary, void *userdata) {
        RateSource *s, *oldest = NULL;

        for (size_t i = 0; i < *n; i++) {
                s = &v[i];
                if (source_matches(s, e))
                        return s;
                if (!oldest || s->last_seen < oldest->last_seen)
                        oldest = s;
        }

        /* A table of fixed size: an attacker varying the path cannot grow our
         * memory, only make us report the least recently seen entry early. */
        if (*n < max)
                s = &v[(*n)++];
        else {
                s = oldest;
                source_report(s, now, summary, userdata);
        }

        *s = (RateSource) {
                .uid_budget = uid_budget,
                .uid = e->uid,
                .window_start = now,
        };
        if (!uid_budget) {
                s->kind = e->kind;
                s->action = e->action;
                memcpy(s->path, e->path, sizeof(s->path));
                s->path[sizeof(s->path) - 1] = 0;
        }
        return s;
}

bool ratelimit_check(RateLimit *rl, const struct fl_event *e, uint64_t now, ratelimit_summary_t summary,
                     void *userdata) {
        RateSource *s, *u;

        if (rl->interval_usec == 0 || rl->burst == 0)
                return true;

        s = table_get(rl->sources, &rl->n_sources, RATELIMIT_SOURCES_MAX, false, e, now, summary, userdata);
        u = table_get(rl->uids, &rl->n_uids, RATELIMIT_UIDS_MAX, true, e, now, summary, userdata);
        window_roll(rl, s, now, false, summary, userdata);
        window_roll(rl, u, now, false, summary, userdata);
        s->last_seen = u->last_seen = now;

        if (s->n >= rl->burst)
                s->suppressed++;
        else if (u->n >= (uint64_t) rl->burst * RATELIMIT_UID_FACTOR)
                u->suppressed++;
        else {
                s->n++;
                u->n++;
                return true;
        }
        rl->suppressed_total++;
        return false;
}

static void table_flush(RateLimit *rl, RateSource *v, size_t *n, uint64_t now, bool force, ratelimit_summary_t summary,
                        void *userdata) {
        size_t i = 0;

        while (i < *n) {
                RateSource *s = &v[i];

                window_roll(rl, s, now, force, summary, userdata);
                /* Idle for a whole interval: nothing to remember. */
                if (force || now - s->last_seen >= rl->interval_usec) {
                        *s = v[--(*n)];
                        continue;
                }
                i++;
        }
}

void ratelimit_flush(RateLimit *rl, uint64_t now, bool force, ratelimit_summary_t summary, void *userdata) {
        table_flush(rl, rl->sources, &rl->n_sources, now, force, summary, userdata);
        table_flush(rl, rl->uids, &rl->n_uids, now, force, summary, userdata);
}
