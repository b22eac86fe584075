/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "ratelimit.h"

void ratelimit_init(RateLimit *rl, uint64_t interval_usec, unsigned burst) {
        memset(rl, 0, sizeof(*rl));
        rl->interval_usec = interval_usec;
        rl->burst = burst;
        rl->all.all = true;
}

static bool source_matches(const RateSource *s, const struct fl_event *e) {
        return s->uid == e->uid && s->kind == e->kind && s->action == e->action &&
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

static RateSource *source_get(RateLimit *rl, const struct fl_event *e, uint64_t now, ratelimit_summary_t summary,
                              void *userdata) {
        RateSource *s, *oldest = NULL;

        for (size_t i = 0; i < rl->n_sources; i++) {
                s = &rl->sources[i];
                if (source_matches(s, e))
                        return s;
                if (!oldest || s->last_seen < oldest->last_seen)
                        oldest = s;
        }

        /* A table of fixed size: an attacker varying the path cannot grow our
         * memory, only make us report the least recently seen source early. */
        if (rl->n_sources < RATELIMIT_SOURCES_MAX)
                s = &rl->sources[rl->n_sources++];
        else {
                s = oldest;
                source_report(s, now, summary, userdata);
        }

        *s = (RateSource) {
                .uid = e->uid,
                .kind = e->kind,
                .action = e->action,
                .window_start = now,
        };
        memcpy(s->path, e->path, sizeof(s->path));
        s->path[sizeof(s->path) - 1] = 0;
        return s;
}

bool ratelimit_check(RateLimit *rl, const struct fl_event *e, uint64_t now, ratelimit_summary_t summary,
                     void *userdata) {
        RateSource *s;

        if (rl->interval_usec == 0 || rl->burst == 0)
                return true;

        s = source_get(rl, e, now, summary, userdata);
        window_roll(rl, s, now, false, summary, userdata);
        window_roll(rl, &rl->all, now, false, summary, userdata);
        s->last_seen = now;

        if (s->n >= rl->burst)
                s->suppressed++;
        else if (rl->all.n >= (uint64_t) rl->burst * RATELIMIT_ALL_FACTOR)
                rl->all.suppressed++;
        else {
                s->n++;
                rl->all.n++;
                return true;
        }
        rl->suppressed_total++;
        return false;
}

void ratelimit_flush(RateLimit *rl, uint64_t now, bool force, ratelimit_summary_t summary, void *userdata) {
        size_t i = 0;

        while (i < rl->n_sources) {
                RateSource *s = &rl->sources[i];

                window_roll(rl, s, now, force, summary, userdata);
                /* Idle for a whole interval: nothing to remember. */
                if (force || now - s->last_seen >= rl->interval_usec) {
                        *s = rl->sources[--rl->n_sources];
                        continue;
                }
                i++;
        }
        window_roll(rl, &rl->all, now, force, summary, userdata);
}
