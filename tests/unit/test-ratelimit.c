/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "ratelimit.h"
#include "tests.h"

#define SEC 1000000ULL

typedef struct Summaries {
        unsigned calls;
        uint64_t total;
        uint32_t last_uid;
        bool last_all;
        char last_path[FL_PATH_LEN];
} Summaries;

static void on_summary(const RateSource *s, uint64_t now, void *userdata) {
        Summaries *sum = userdata;

        sum->calls++;
        sum->total += s->suppressed;
        sum->last_uid = s->uid;
        sum->last_all = s->all;
        snprintf(sum->last_path, sizeof(sum->last_path), "%s", s->path);
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
        ASSERT_TRUE(ratelimit_check(&rl, &e, 12 * SEC, on_summary, &sum));

        /* Nothing pending: a later flush reports nothing more. */
        ratelimit_flush(&rl, 40 * SEC, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_INT_EQ(rl.n_sources, 0);
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
        /* Varying the path buys no more than the budget of all sources. */
        ASSERT_INT_EQ(n - suppressed, RATELIMIT_ALL_FACTOR);
        ratelimit_flush(&rl, SEC, true, on_summary, &sum);
        ASSERT_INT_EQ(sum.total, suppressed);
        ASSERT_INT_EQ(rl.suppressed_total, suppressed);
}

static void test_budget_of_all_sources(void) {
        static RateLimit rl;
        Summaries sum = {};
        char path[32];
        unsigned logged = 0;

        /* An attacker choosing /proc/self/fd/N afresh for each exec: one new
         * source each time, a fresh allowance each time, but all together
         * get BURST x RATELIMIT_ALL_FACTOR per interval, and the rest comes
         * back as one summary, not one per source. */
        ratelimit_init(&rl, 10 * SEC, 100);
        for (unsigned i = 0; i < 100000; i++) {
                struct fl_event e;

                snprintf(path, sizeof(path), "/proc/self/fd/%u", i);
                e = event(1000, path);
                logged += ratelimit_check(&rl, &e, SEC + i, on_summary, &sum);
        }
        ASSERT_INT_EQ(logged, 100 * RATELIMIT_ALL_FACTOR);
        ASSERT_INT_EQ(sum.calls, 0);
        ratelimit_flush(&rl, 11 * SEC + 100000, false, on_summary, &sum);
        ASSERT_INT_EQ(sum.calls, 1);
        ASSERT_TRUE(sum.last_all);
        ASSERT_INT_EQ(sum.total, 100000 - logged);

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

int main(void) {
        TEST(test_burst_then_suppressed);
        TEST(test_sources_are_separate);
        TEST(test_table_is_bounded);
        TEST(test_budget_of_all_sources);
        TEST(test_disabled);
        TEST(test_unterminated_path);
        return 0;
}
