/*
 * test_lend.c — concurrency/lend.h: when a worker lends its core to a
 * background thread (no beat for LEND_PERIOD_NS since the last check or
 * loan), that at most one worker per period checks, that a beat cancels
 * the loan, that unused loans back off and a used one resets the backoff,
 * and the statistics per kind. Driven with synthetic clock values (the
 * worker's `now`); lend_run really sleeps LEND_NS.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "concurrency/clock.h"
#include "concurrency/lend.h"

static void stats(enum lend_kind k, uint64_t *lends, uint64_t *used)
{
	struct lend_stats s;

	lend_stats(k, &s);
	*lends = s.lends;
	*used = s.used;
}

Test(lend, nothing_wanted_nothing_due)
{
	cr_assert(!lend_due(clock_mono_ns() + 1000 * LEND_PERIOD_NS));
}

Test(lend, starving_thread_gets_a_loan_once_per_period)
{
	int64_t t0 = clock_mono_ns();
	uint64_t lends, used;
	int64_t end;

	lend_begin(LEND_RDB);
	cr_assert(!lend_due(t0 - LEND_PERIOD_NS), "not before a period has passed");
	/* a period without a beat: starving; one worker takes the check */
	end = t0 + 10 * LEND_PERIOD_NS;
	cr_assert(lend_due(end));
	cr_assert(!lend_due(end), "a second worker in the same period does not lend");
	lend_run(clock_mono_ns());
	stats(LEND_RDB, &lends, &used);
	cr_assert_eq(lends, 1);
	cr_assert_eq(used, 0, "no beat during the loan");
	/* an unused loan doubles the wait before the next check (or more: a
	 * loan that overran on a busy machine backs off all the way) */
	end = clock_mono_ns();
	cr_assert(!lend_due(end + LEND_PERIOD_NS + LEND_PERIOD_NS / 2));
	cr_assert(lend_due(end + (LEND_PERIOD_NS << LEND_BACKOFF_MAX) + LEND_NS));
	lend_end();
	cr_assert(!lend_due(end + 1000 * LEND_PERIOD_NS), "nobody wants lending any more");
}

/* Beats once, 20 us after it starts: inside the caller's loan, unless the
 * machine delays it past the loan's end (the test then tries again). */
static void *beater(void *arg)
{
	struct timespec ts = {0, 20000};

	(void)arg;
	nanosleep(&ts, NULL);
	lend_beat();
	return NULL;
}

Test(lend, progress_cancels_loans_and_used_loans_reset_backoff)
{
	int64_t t0 = clock_mono_ns(), t1 = 0;
	uint64_t lends, used, l0, u0;
	pthread_t th;
	int tries = 0;

	lend_begin(LEND_AOF);
	stats(LEND_AOF, &l0, &u0);
	lend_beat();
	cr_assert(!lend_due(t0 + 2 * LEND_PERIOD_NS), "it beat since the last check");
	do { /* a loan the thread uses: it beats meanwhile */
		stats(LEND_AOF, &l0, &u0);
		t1 = clock_mono_ns() + 1000 * LEND_PERIOD_NS;
		/* false once if the last try's beat came after its loan */
		cr_assert(lend_due(t1) || lend_due(t1 + 1000 * LEND_PERIOD_NS));
		cr_assert_eq(pthread_create(&th, NULL, beater, NULL), 0);
		lend_run(clock_mono_ns());
		pthread_join(th, NULL);
		t1 = clock_mono_ns();
		stats(LEND_AOF, &lends, &used);
		cr_assert_eq(lends - l0, 1);
	} while (used == u0 && ++tries < 50);
	cr_assert_eq(used - u0, 1, "the thread beat during one of 50 loans");
	/* backoff reset: the next check is one period after the loan, and no
	 * beat came since, so it lends */
	cr_assert(lend_due(t1 + LEND_PERIOD_NS));
	lend_end();
}
