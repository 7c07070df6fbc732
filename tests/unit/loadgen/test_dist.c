/*
 * Unit tests for loadgen/dist.c: option parsing, uniform coverage, the zipf
 * chooser's rank frequencies against the exact 1 / (k+1)^theta / zeta law,
 * and sequential wrap-around.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "loadgen/dist.h"

Test(dist, parse)
{
	enum dist_kind k;
	double th;

	cr_assert_eq(dist_parse("uniform", &k, &th), 0);
	cr_assert_eq(k, DIST_UNIFORM);
	cr_assert_eq(dist_parse("zipf", &k, &th), 0);
	cr_assert_eq(k, DIST_ZIPF);
	cr_assert_float_eq(th, 0.99, 1e-12);
	cr_assert_eq(dist_parse("zipf:0.5", &k, &th), 0);
	cr_assert_float_eq(th, 0.5, 1e-12);
	cr_assert_eq(dist_parse("sequential", &k, &th), 0);
	cr_assert_eq(k, DIST_SEQUENTIAL);
	cr_assert_eq(dist_parse("zipf:1", &k, &th), -EINVAL);
	cr_assert_eq(dist_parse("zipf:", &k, &th), -EINVAL);
	cr_assert_eq(dist_parse("zipf:0.5x", &k, &th), -EINVAL);
	cr_assert_eq(dist_parse("gauss", &k, &th), -EINVAL);
}

Test(dist, uniform_covers_range_evenly)
{
	enum { N = 100, DRAWS = 200000 };
	static unsigned cnt[N];
	struct dist d;
	struct dist_rng r;
	struct dist_seq seq = {0};

	dist_rng_seed(&r, 1);
	cr_assert_eq(dist_init(&d, DIST_UNIFORM, N, 0), 0);
	for (int i = 0; i < DRAWS; i++) {
		uint64_t k = dist_next(&d, &r, &seq);

		cr_assert_lt(k, N);
		cnt[k]++;
	}
	for (int i = 0; i < N; i++)
		cr_assert(cnt[i] > DRAWS / N * 0.9 && cnt[i] < DRAWS / N * 1.1, "key %d: %u", i,
			  cnt[i]);
}

Test(dist, zipf_follows_the_law)
{
	enum { N = 1000, DRAWS = 1000000 };
	static unsigned cnt[N];
	const double theta = 0.99;
	double zeta = dist_zeta(N, theta);
	struct dist d;
	struct dist_rng r;
	struct dist_seq seq = {0};

	dist_rng_seed(&r, 2);
	cr_assert_eq(dist_init(&d, DIST_ZIPF, N, theta), 0);
	for (int i = 0; i < DRAWS; i++) {
		uint64_t k = dist_next(&d, &r, &seq);

		cr_assert_lt(k, N);
		cnt[k]++;
	}
	/* ranks 0 and 1 are exact in Gray's method; others approximate the law */
	for (int k = 0; k < 2; k++) {
		double want = DRAWS / pow(k + 1, theta) / zeta;

		cr_assert(fabs(cnt[k] - want) < 0.02 * want, "rank %d: %u vs %.0f", k, cnt[k],
			  want);
	}
	/* the hottest 10% of keys get the share the law gives them, within 5% */
	{
		double want = 0, got = 0;

		for (int k = 0; k < N / 10; k++) {
			want += DRAWS / pow(k + 1, theta) / zeta;
			got += cnt[k];
		}
		cr_assert(fabs(got - want) < 0.05 * want, "top 10%%: %.0f vs %.0f", got, want);
	}
	cr_assert_gt(cnt[0], cnt[10]);
	cr_assert_gt(cnt[10], cnt[500]);
}

Test(dist, zipf_rejects_bad_theta)
{
	struct dist d;

	cr_assert_eq(dist_init(&d, DIST_ZIPF, 10, 1.0), -EINVAL);
	cr_assert_eq(dist_init(&d, DIST_ZIPF, 10, 0.0), -EINVAL);
	cr_assert_eq(dist_init(&d, DIST_UNIFORM, 0, 0), -EINVAL);
}

Test(dist, sequential_wraps)
{
	struct dist d;
	struct dist_rng r;
	struct dist_seq seq = {.next = 8};

	dist_rng_seed(&r, 3);
	cr_assert_eq(dist_init(&d, DIST_SEQUENTIAL, 10, 0), 0);
	cr_assert_eq(dist_next(&d, &r, &seq), 8);
	cr_assert_eq(dist_next(&d, &r, &seq), 9);
	cr_assert_eq(dist_next(&d, &r, &seq), 0);
	cr_assert_eq(dist_next(&d, &r, &seq), 1);
}

Test(dist, rng_double_in_unit_interval)
{
	struct dist_rng r;
	double sum = 0;

	dist_rng_seed(&r, 4);
	for (int i = 0; i < 100000; i++) {
		double u = dist_rng_double(&r);

		cr_assert(u >= 0 && u < 1);
		sum += u;
	}
	cr_assert_float_eq(sum / 100000, 0.5, 0.01);
}
