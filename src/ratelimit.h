/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fileless.h"

/* Rate limiting of the journal entries and Event signals, per source: the
 * same uid doing the same kind of fileless exec through the same exec path
 * with the same outcome. Each source may log BURST events per INTERVAL; the
 * rest are counted, and when the interval ends a summary reports how many were
 * suppressed. Enforcement happens in the kernel and is never limited here, nor
 * are the kernel's counters.
 *
 * Varying the exec path (/proc/self/fd/N is the caller's choice) makes new
 * sources, so each uid also has a budget for all its sources together. It is
 * per uid so that one user's flood never suppresses another user's first
 * events: a uid seen for the first time always starts with a full budget.
 * Memory is bounded by the two fixed tables: when one is full, the least
 * recently seen entry is reported early and reused. */

#define RATELIMIT_SOURCES_MAX 128U
#define RATELIMIT_UIDS_MAX 64U
/* All sources of one uid together may log this many times one source's burst
 * per interval. */
#define RATELIMIT_UID_FACTOR 10U

typedef struct RateSource {
        bool uid_budget;         /* the budget of all sources of UID, not one source */
        uint32_t uid;
        uint8_t kind, action;
        char path[FL_PATH_LEN];
        uint64_t window_start;   /* usec, monotonic */
        uint64_t last_seen;
        unsigned n;              /* events logged in this window */
        uint64_t suppressed;     /* events not logged in this window */
} RateSource;

typedef struct RateLimit {
        uint64_t interval_usec;  /* 0: no limit */
        unsigned burst;          /* 0: no limit */
        size_t n_sources, n_uids;
        RateSource sources[RATELIMIT_SOURCES_MAX];
        RateSource uids[RATELIMIT_UIDS_MAX];
        uint64_t suppressed_total;
} RateLimit;

/* Called with a source or uid budget whose window ended (or which is
 * evicted) after some of its events were suppressed. */
typedef void (*ratelimit_summary_t)(const RateSource *s, uint64_t now, void *userdata);

void ratelimit_init(RateLimit *rl, uint64_t interval_usec, unsigned burst);

/* Whether event E, seen at NOW, may be logged. May first report a summary
 * (through SUMMARY) of an earlier window or of an evicted entry. */
bool ratelimit_check(RateLimit *rl, const struct fl_event *e, uint64_t now, ratelimit_summary_t summary,
                     void *userdata);

/* Reports the summaries of the windows that ended by NOW and forgets idle
 * entries; with FORCE, reports every pending summary (at exit). */
void ratelimit_flush(RateLimit *rl, uint64_t now, bool force, ratelimit_summary_t summary, void *userdata);
