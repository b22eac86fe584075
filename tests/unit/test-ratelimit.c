/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "ratelimit.h"
#include "tests.h"

#define SEC 1000000ULL

typedef struct Summaries {
        unsigned calls;
        uint64_t total;
        uint32_t last_uid;
        bool last_uid_budget;
        uint8_t last_kind, last_action;
        char last_path[FL_PATH_LEN];
        uint64_t uid_budget_total; /* of total, reported by uid budgets */
} Summaries;

static void on_summary(const RateSource *s, uint64_t now, void *userdata) {
        Summaries *sum = userdata;

        sum->calls++;
        sum->total += s->suppressed;
        sum->last_uid = s->uid;
        sum->last_uid_budget = s->uid_budget;
        sum->last_kind = s->kind;
        sum->last_action = s->action;
        snprintf(sum->last_path, sizeof(sum->last_path), "%s", s->path);
        if (s->uid_budget)
                sum->uid_budget_total += s->suppressed;
        /* reported with the count of its window, and only when there is one */
        ASSERT_TRUE(s->suppressed > 0);
        ASSERT_TRUE(s->window_start <= now);
}

static struct fl_event event(uint32_t uid, const char *path) {
        struct fl_event e = { .uid = uid, .kind = FL_KIND_MEMFD, .action = FL_ACTION_ALLOWED };

        snprintf(e.path, sizeof(e.path), "%s", path);
        return e;
}

static void test_burst_then_suppressed(void) {
        static RateLimit rl;
        Summaries sum = {};
        struct fl_event e = event(1000, "/proc/self/fd/3");
        unsigned logged = 0;

        ratelimit_init(&rl, 10 * SEC, 5);
        for (unsigned i = 0; i < 100; i++)
                logged += ratelimit_check(&rl, &e, 1 * SEC + i, on_summary, &sum);
        ASSERT_INT_EQ(logged, 5);
        ASSERT_INT_EQ(rl.suppressed_total, 95);
        ASSERT_INT_EQ(sum.calls, 0); /* the burst has not ended yet */

        /* The window ends: one summary with the exact count, then a new burst. */
        ratelimit_flush(&rl, 11 * SEC + 99, false, on_summary, &sum);
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_INT_EQ(sum.total, 95);
        ASSERT_INT_EQ(sum.last_uid, 1000);
        ASSERT_STREQ(sum.last_path, "/proc/self/fd/3");
        ASSERT_FALSE(sum.last_uid_budget);
        ASSERT_INT_EQ(sum.last_kind, FL_KIND_MEMFD);
        ASSERT_INT_EQ(sum.last_action, FL_ACTION_ALLOWED);
        ASSERT_TRUE(ratelimit_check(&rl, &e, 12 * SEC, on_summary, &sum));

        /* Nothing pending: a later flush reports nothing more. */
        ratelimit_flush(&rl, 40 * SEC, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_INT_EQ(rl.n_sources, 0);
        ASSERT_INT_EQ(rl.n_uids, 0);
}

static void test_sources_are_separate(void) {
        static RateLimit rl;
        Summaries sum = {};
        struct fl_event a = event(1000, "/proc/self/fd/3"), b = event(1001, "/proc/self/fd/3"),
                        c = event(1000, "/dev/shm/x");
        unsigned la = 0, lb = 0, lc = 0;

        ratelimit_init(&rl, 10 * SEC, 3);
        for (unsigned i = 0; i < 10; i++) {
                la += ratelimit_check(&rl, &a, SEC, on_summary, &sum);
                lb += ratelimit_check(&rl, &b, SEC, on_summary, &sum);
                lc += ratelimit_check(&rl, &c, SEC, on_summary, &sum);
        }
        ASSERT_INT_EQ(la, 3);
        ASSERT_INT_EQ(lb, 3);
        ASSERT_INT_EQ(lc, 3);
        ASSERT_INT_EQ(rl.n_sources, 3);

        /* A different outcome is a different source. */
        a.action = FL_ACTION_KILLED;
        ASSERT_TRUE(ratelimit_check(&rl, &a, SEC, on_summary, &sum));

        /* The next event of a source after its window reports its summary first. */
        a.action = FL_ACTION_ALLOWED;
        ASSERT_TRUE(ratelimit_check(&rl, &a, 20 * SEC, on_summary, &sum));
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_INT_EQ(sum.total, 7);

        ratelimit_flush(&rl, 21 * SEC, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.total, 21);
}

static void test_table_is_bounded(void) {
        static RateLimit rl;
        Summaries sum = {};
        char path[32];
        uint64_t suppressed = 0, n = 0;

        /* Far more sources than the table holds, each over its burst: memory
         * stays fixed and every suppressed event is still reported. */
        ratelimit_init(&rl, 10 * SEC, 1);
        for (unsigned i = 0; i < 10 * RATELIMIT_SOURCES_MAX; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/tmp/x%u", i);
                e = event(0, path);
                for (unsigned k = 0; k < 3; k++, n++)
                        suppressed += !ratelimit_check(&rl, &e, SEC + i, on_summary, &sum);
                ASSERT_TRUE(rl.n_sources <= RATELIMIT_SOURCES_MAX);
        }
        /* Varying the path buys no more than the budget of the uid (before
         * 5c285e6, of all sources: the same for a single uid). */
        ASSERT_INT_EQ(n - suppressed, RATELIMIT_UID_FACTOR);
        ASSERT_INT_EQ(rl.n_uids, 1);
        ratelimit_flush(&rl, SEC + 10 * RATELIMIT_SOURCES_MAX, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.total, suppressed);
        ASSERT_INT_EQ(rl.suppressed_total, suppressed);
}

static void test_budget_of_one_uid(void) {
        static RateLimit rl;
        Summaries sum = {};
        char path[32];
        unsigned logged = 0;

        /* An attacker choosing /proc/self/fd/N afresh for each exec: one new
         * source each time, a fresh allowance each time, but all sources of
         * the uid together get BURST x RATELIMIT_UID_FACTOR per interval, and
         * the rest comes back as one summary, not one per source. */
        ratelimit_init(&rl, 10 * SEC, 100);
        for (unsigned i = 0; i < 100000; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/proc/self/fd/%u", i);
                e = event(1000, path);
                logged += ratelimit_check(&rl, &e, SEC + i, on_summary, &sum);
        }
        ASSERT_INT_EQ(logged, 100 * RATELIMIT_UID_FACTOR);
        ASSERT_INT_EQ(sum.calls, 0);
        ASSERT_TRUE(rl.n_sources <= RATELIMIT_SOURCES_MAX);
        ratelimit_flush(&rl, 11 * SEC + 100000, false, on_summary, &sum);
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_TRUE(sum.last_uid_budget);
        ASSERT_INT_EQ(sum.last_uid, 1000);
        ASSERT_STREQ(sum.last_path, "");
        ASSERT_INT_EQ(sum.total, 100000 - logged);
        ASSERT_INT_EQ(sum.uid_budget_total, sum.total);
        ASSERT_INT_EQ(rl.suppressed_total, 100000 - logged);

        /* A new interval, a new budget. */
        ASSERT_TRUE(ratelimit_check(&rl, &(struct fl_event) { .uid = 1 }, 12 * SEC, on_summary, &sum));
}

static void test_disabled(void) {
        static RateLimit rl;
        struct fl_event e = event(0, "/proc/self/fd/3");

        ratelimit_init(&rl, 0, 10);
        for (unsigned i = 0; i < 1000; i++)
                ASSERT_TRUE(ratelimit_check(&rl, &e, i, NULL, NULL));
        ratelimit_init(&rl, 10 * SEC, 0);
        for (unsigned i = 0; i < 1000; i++)
                ASSERT_TRUE(ratelimit_check(&rl, &e, i, NULL, NULL));
        ASSERT_INT_EQ(rl.suppressed_total, 0);
}

static void test_unterminated_path(void) {
        static RateLimit rl;
        struct fl_event e = {};

        /* The kernel's path need not be NUL-terminated within the record. */
        memset(e.path, 'a', sizeof(e.path));
        ratelimit_init(&rl, 10 * SEC, 1);
        ASSERT_TRUE(ratelimit_check(&rl, &e, SEC, NULL, NULL));
        ASSERT_FALSE(ratelimit_check(&rl, &e, SEC, NULL, NULL));
        ASSERT_INT_EQ(rl.n_sources, 1);
        ASSERT_INT_EQ(strlen(rl.sources[0].path), sizeof(e.path) - 1);
}

/* The point of a budget per uid: one user's flood, however many paths it
 * uses, never suppresses another user's first events, a burst's worth of
 * them for each source. */
static void test_flood_spares_other_uids(void) {
        static RateLimit rl;
        Summaries sum = {};
        char path[64];
        unsigned flood_logged = 0;

        ratelimit_init(&rl, 10 * SEC, 5);
        for (unsigned i = 0; i < 50000; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/proc/self/fd/%u", i);
                e = event(1000, path);
                flood_logged += ratelimit_check(&rl, &e, SEC + i, on_summary, &sum);

                /* now and then a user who has not been heard of, with the
                 * flooder's own path even */
                if (i % 997 == 0) {
                        struct fl_event other = event(2000 + i / 997, path);

                        for (unsigned k = 0; k < 5; k++)
                                if (!ratelimit_check(&rl, &other, SEC + i, on_summary, &sum))
                                        TEST_FAIL("uid %u's event %u was suppressed during uid 1000's flood",
                                                  other.uid, k);
                        ASSERT_FALSE(ratelimit_check(&rl, &other, SEC + i, on_summary, &sum));
                }
        }
        ASSERT_INT_EQ(flood_logged, 5 * RATELIMIT_UID_FACTOR);

        /* and after it, in the same window: a new uid, then one of the uids
         * seen during the flood with another path */
        struct fl_event late = event(1001, "/proc/self/fd/3"), again = event(2001, "/dev/shm/x");
        for (unsigned k = 0; k < 5; k++) {
                ASSERT_TRUE(ratelimit_check(&rl, &late, 2 * SEC, on_summary, &sum));
                ASSERT_TRUE(ratelimit_check(&rl, &again, 2 * SEC, on_summary, &sum));
        }
        ASSERT_FALSE(ratelimit_check(&rl, &late, 2 * SEC, on_summary, &sum));
        ASSERT_TRUE(rl.n_sources <= RATELIMIT_SOURCES_MAX);
        ASSERT_TRUE(rl.n_uids <= RATELIMIT_UIDS_MAX);

        /* every suppressed event is reported, the flood's under its uid */
        ratelimit_flush(&rl, 12 * SEC, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.total, rl.suppressed_total);
}

/* The same, with the flood and the other users interleaved at random: each
 * other uid's source logs its first BURST events in a window, whatever the
 * flood did meanwhile. */
static void test_flood_spares_other_uids_random(void) {
        static RateLimit rl;
        uint32_t x = 0x2545f491;
        unsigned logged_by[8] = {}, others = 0;
        uint64_t now = SEC;
        Summaries sum = {};

        ratelimit_init(&rl, 10 * SEC, 3);
        for (unsigned i = 0; i < 200000; i++) {
                char path[64];
                struct fl_event e;

                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                now += x % 3;
                if (i % 20000 == 0) {
                        /* a new window for everyone */
                        now += 10 * SEC;
                        memset(logged_by, 0, sizeof(logged_by));
                }
                if (x % 16 != 0) {
                        /* the flooder: uid 0, a fresh path most of the time */
                        snprintf(path, sizeof(path), "/proc/self/fd/%u", (x >> 8) % 5000);
                        e = event(0, path);
                        (void) ratelimit_check(&rl, &e, now, on_summary, &sum);
                        continue;
                }
                /* uids 1..8, one path each, at most BURST events per window */
                unsigned u = (x >> 4) % 8;
                if (logged_by[u] >= 3)
                        continue;
                e = event(1 + u, "/usr/bin/true");
                if (!ratelimit_check(&rl, &e, now, on_summary, &sum))
                        TEST_FAIL("uid %u's event %u (at %" PRIu64 ") suppressed", 1 + u, logged_by[u], now);
                logged_by[u]++;
                others++;
        }
        /* the other uids were heard, in every window */
        ASSERT_TRUE(others > 10 * 8 * 3 / 2);
}

static void test_uid_budgets_are_separate(void) {
        static RateLimit rl;
        Summaries sum = {};
        unsigned logged[3] = {};
        char path[64];

        /* three uids varying paths side by side: each gets its own budget */
        ratelimit_init(&rl, 10 * SEC, 2);
        for (unsigned i = 0; i < 300; i++)
                for (unsigned u = 0; u < 3; u++) {
                        struct fl_event e;

                        snprintf(path, sizeof(path), "/memfd:%u", i);
                        e = event(u, path);
                        logged[u] += ratelimit_check(&rl, &e, SEC, on_summary, &sum);
                }
        for (unsigned u = 0; u < 3; u++)
                ASSERT_INT_EQ(logged[u], 2 * RATELIMIT_UID_FACTOR);
        ASSERT_INT_EQ(rl.n_uids, 3);
        ratelimit_flush(&rl, 11 * SEC, false, on_summary, &sum);
        ASSERT_INT_EQ(sum.calls, 3);
        ASSERT_INT_EQ(sum.uid_budget_total, 3 * (300 - 2 * RATELIMIT_UID_FACTOR));
}

static void test_uid_budget_window(void) {
        static RateLimit rl;
        Summaries sum = {};
        char path[64];
        unsigned logged = 0;

        ratelimit_init(&rl, 10 * SEC, 1);
        for (unsigned i = 0; i < 30; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/p/%u", i);
                e = event(7, path);
                logged += ratelimit_check(&rl, &e, SEC, on_summary, &sum);
        }
        ASSERT_INT_EQ(logged, RATELIMIT_UID_FACTOR);

        /* not yet an interval later: still spent */
        struct fl_event e = event(7, "/p/new");
        ASSERT_FALSE(ratelimit_check(&rl, &e, 11 * SEC - 1, on_summary, &sum));
        ASSERT_INT_EQ(sum.calls, 0);

        /* an interval later: the next event reports the window that ended, with
         * its uid and count, and is logged on a fresh budget */
        struct fl_event f = event(7, "/p/newer");
        ASSERT_TRUE(ratelimit_check(&rl, &f, 11 * SEC, on_summary, &sum));
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_TRUE(sum.last_uid_budget);
        ASSERT_INT_EQ(sum.last_uid, 7);
        ASSERT_INT_EQ(sum.total, 30 - RATELIMIT_UID_FACTOR + 1);
        ASSERT_INT_EQ(rl.suppressed_total, sum.total);
}

static bool has_uid(const RateLimit *rl, uint32_t uid) {
        for (size_t i = 0; i < rl->n_uids; i++)
                if (rl->uids[i].uid == uid)
                        return true;
        return false;
}

/* More uids than the table holds: it stays bounded, the least recently seen
 * entry makes room and reports what it suppressed first, and a uid that comes
 * back starts with a full budget. */
static void test_uid_table_is_bounded(void) {
        static RateLimit rl;
        Summaries sum = {};
        char path[64];
        unsigned logged = 0;

        ratelimit_init(&rl, 100 * SEC, 1);
        for (unsigned i = 0; i < 20; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/a/%u", i);
                e = event(0, path);
                logged += ratelimit_check(&rl, &e, SEC, on_summary, &sum);
        }
        ASSERT_INT_EQ(logged, RATELIMIT_UID_FACTOR);

        /* RATELIMIT_UIDS_MAX - 1 more uids fill the table, seen later */
        for (unsigned u = 1; u < RATELIMIT_UIDS_MAX; u++)
                ASSERT_TRUE(ratelimit_check(&rl, &(struct fl_event) { .uid = u }, 2 * SEC + u, on_summary, &sum));
        ASSERT_INT_EQ(rl.n_uids, RATELIMIT_UIDS_MAX);
        ASSERT_INT_EQ(sum.calls, 0);

        /* one more: uid 0, seen least recently, is reported and replaced */
        ASSERT_TRUE(ratelimit_check(&rl, &(struct fl_event) { .uid = 5000 }, 3 * SEC, on_summary, &sum));
        ASSERT_INT_EQ(rl.n_uids, RATELIMIT_UIDS_MAX);
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_TRUE(sum.last_uid_budget);
        ASSERT_INT_EQ(sum.last_uid, 0);
        ASSERT_INT_EQ(sum.total, 20 - RATELIMIT_UID_FACTOR);
        for (size_t i = 0; i < rl.n_uids; i++)
                ASSERT_TRUE(rl.uids[i].uid != 0);

        /* uid 0 again, a new path: a full budget (and uid 1 makes room) */
        logged = 0;
        for (unsigned i = 0; i < 20; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/b/%u", i);
                e = event(0, path);
                logged += ratelimit_check(&rl, &e, 4 * SEC, on_summary, &sum);
                ASSERT_TRUE(rl.n_uids <= RATELIMIT_UIDS_MAX);
        }
        ASSERT_INT_EQ(logged, RATELIMIT_UID_FACTOR);
        ASSERT_TRUE(!has_uid(&rl, 1) && has_uid(&rl, 2));

        /* least recently seen, not first made: uid 2 seen again, uid 3 goes */
        struct fl_event again = event(2, "/again");
        ASSERT_TRUE(ratelimit_check(&rl, &again, 4 * SEC, on_summary, &sum));
        ASSERT_TRUE(ratelimit_check(&rl, &(struct fl_event) { .uid = 5001 }, 4 * SEC, on_summary, &sum));
        ASSERT_TRUE(has_uid(&rl, 2) && !has_uid(&rl, 3) && has_uid(&rl, 4) && has_uid(&rl, 5001));

        /* many uids at once, over and over: bounded, nothing lost */
        for (unsigned i = 0; i < 10000; i++) {
                struct fl_event e = event(10000 + i % 500, "/x");

                (void) ratelimit_check(&rl, &e, 5 * SEC + i, on_summary, &sum);
                (void) ratelimit_check(&rl, &e, 5 * SEC + i, on_summary, &sum);
                ASSERT_TRUE(rl.n_uids <= RATELIMIT_UIDS_MAX);
                ASSERT_TRUE(rl.n_sources <= RATELIMIT_SOURCES_MAX);
        }
        ratelimit_flush(&rl, 6 * SEC, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.total, rl.suppressed_total);
        ASSERT_INT_EQ(rl.n_uids, 0);
        ASSERT_INT_EQ(rl.n_sources, 0);
}

/* A flush forgets sources and uids idle for an interval, and keeps the
 * others with their counts. */
static void test_flush_forgets_idle(void) {
        static RateLimit rl;
        Summaries sum = {};
        struct fl_event a = event(1, "/a"), b = event(2, "/b");

        ratelimit_init(&rl, 10 * SEC, 1);
        ASSERT_TRUE(ratelimit_check(&rl, &a, SEC, on_summary, &sum));
        ASSERT_FALSE(ratelimit_check(&rl, &a, SEC, on_summary, &sum));
        ASSERT_TRUE(ratelimit_check(&rl, &b, 5 * SEC, on_summary, &sum));
        ASSERT_INT_EQ(rl.n_sources, 2);
        ASSERT_INT_EQ(rl.n_uids, 2);

        ratelimit_flush(&rl, 11 * SEC, false, on_summary, &sum);
        /* a: idle for an interval, its summary reported, forgotten */
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_INT_EQ(sum.last_uid, 1);
        ASSERT_FALSE(sum.last_uid_budget);
        ASSERT_INT_EQ(rl.n_sources, 1);
        ASSERT_INT_EQ(rl.n_uids, 1);
        ASSERT_INT_EQ(rl.sources[0].uid, 2);
        ASSERT_INT_EQ(rl.uids[0].uid, 2);
        ASSERT_TRUE(rl.uids[0].uid_budget);
        /* b: its window runs on, still spent */
        ASSERT_FALSE(ratelimit_check(&rl, &b, 12 * SEC, on_summary, &sum));
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_burst_then_suppressed);
        TEST(test_sources_are_separate);
        TEST(test_table_is_bounded);
        TEST(test_budget_of_one_uid);
        TEST(test_disabled);
        TEST(test_unterminated_path);
        TEST(test_flood_spares_other_uids);
        TEST(test_flood_spares_other_uids_random);
        TEST(test_uid_budgets_are_separate);
        TEST(test_uid_budget_window);
        TEST(test_uid_table_is_bounded);
        TEST(test_flush_forgets_idle);
        return test_finish();
}
