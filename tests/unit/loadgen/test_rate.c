/*
 * Unit tests for loadgen/rate.c, the open-loop scheduler: due times of one
 * connection, the merged stream of many connections (evenly spaced at 1/R),
 * absence of drift over many requests, and the backlog count after a stall.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "loadgen/rate.h"

Test(rate, rejects_bad_arguments)
{
	struct rate r;

	cr_assert_eq(rate_init(&r, 0, 0, 0, 1), -EINVAL);
	cr_assert_eq(rate_init(&r, 0, -5, 0, 1), -EINVAL);
	cr_assert_eq(rate_init(&r, 0, 100, 2, 2), -EINVAL);
}

Test(rate, single_connection_spacing)
{
	struct rate r;

	cr_assert_eq(rate_init(&r, 1000, 2000, 0, 1), 0);
	cr_assert_eq(rate_take(&r), 1000);
	cr_assert_eq(rate_take(&r), 1000 + 500000);
	cr_assert_eq(rate_take(&r), 1000 + 1000000);
	cr_assert_eq(rate_due(&r), 1000 + 1500000);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(rate, merged_stream_is_evenly_spaced)
{
	enum { CONNS = 7, PER = 1000 };
	static uint64_t t[CONNS * PER];
	struct rate r[CONNS];
	const double rate = 12345.0, gap = 1e9 / rate;

	for (int g = 0; g < CONNS; g++)
		cr_assert_eq(rate_init(&r[g], 5000, rate, (uint64_t)g, CONNS), 0);
	for (int k = 0; k < PER; k++)
		for (int g = 0; g < CONNS; g++)
			t[k * CONNS + g] = rate_take(&r[g]);
	qsort(t, CONNS * PER, sizeof(t[0]), cmp_u64);
	for (int i = 1; i < CONNS * PER; i++) {
		double d = (double)(t[i] - t[i - 1]);

		cr_assert(d > gap - 1.5 && d < gap + 1.5, "gap %d: %f", i, d);
	}
}

Test(rate, no_drift_over_a_long_run)
{
	struct rate r;
	uint64_t last = 0;

	cr_assert_eq(rate_init(&r, 0, 3000, 0, 1), 0);
	for (int i = 0; i < 3000 * 3600; i++) /* one hour at 3,000/s */
		last = rate_take(&r);
	/* request 10,799,999 is due at 10,799,999 / 3000 s, to the nanosecond */
	cr_assert_lt(llabs((long long)last - (long long)(10799999ULL * 1000000000ULL / 3000)), 2);
}

Test(rate, backlog_after_a_stall)
{
	struct rate r;

	cr_assert_eq(rate_init(&r, 0, 2000, 1, 4), 0); /* one of 4 connections: every 2 ms */
	cr_assert_eq(rate_backlog(&r, 0), 0);
	cr_assert_eq(rate_due(&r), 500000);
	cr_assert_eq(rate_backlog(&r, 500000), 1);
	/* a 200 ms stall: 100 of this connection's requests are due */
	cr_assert_eq(rate_backlog(&r, 500000 + 199000000), 100);
	rate_take(&r);
	cr_assert_eq(rate_backlog(&r, 500000 + 199000000), 99);
}
