/*
 * Unit tests for loadgen/hist.c: bucket layout, ~1% precision over the whole
 * range, percentiles against an exact sort, merge, and the .hgrm format.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/dist.h"
#include "loadgen/hist.h"

static struct hist h1, h2;

Test(hist, index_is_dense_and_monotonic)
{
	for (unsigned i = 0; i + 1 < HIST_BUCKETS; i++) {
		cr_assert_eq(hist_bucket_high(i) + 1, hist_bucket_low(i + 1), "bucket %u", i);
		cr_assert_eq(hist_index(hist_bucket_low(i)), i);
		cr_assert_eq(hist_index(hist_bucket_high(i)), i);
	}
	cr_assert_eq(hist_index(HIST_MAX_VALUE), HIST_BUCKETS - 1);
	cr_assert_eq(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}

Test(hist, precision_within_one_percent)
{
	for (uint64_t v = 1; v < HIST_MAX_VALUE / 2; v = v * 3 / 2 + 1) {
		unsigned i = hist_index(v);
		uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);

		cr_assert(lo <= v && v <= hi);
		cr_assert_leq((double)(hi - lo), 0.01 * (double)v, "v=%llu", (unsigned long long)v);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(hist, percentiles_match_exact_within_precision)
{
	enum { N = 100000 };
	static uint64_t v[N];
	static const double ps[] = {1, 10, 50, 90, 99, 99.9, 99.99};
	struct dist_rng r;

	dist_rng_seed(&r, 7);
	hist_init(&h1);
	for (int i = 0; i < N; i++) {
		/* log-uniform from 100 ns to about 100 ms */
		v[i] = (uint64_t)(100.0 * __builtin_exp2(dist_rng_double(&r) * 20));
		hist_record(&h1, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	for (unsigned k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		uint64_t exact = v[(size_t)__builtin_ceil(ps[k] / 100.0 * N) - 1];
		uint64_t got = hist_percentile(&h1, ps[k]);

		cr_assert(got >= exact && (double)got <= (double)exact * 1.01, "p%g: %llu vs %llu",
			  ps[k], (unsigned long long)got, (unsigned long long)exact);
	}
	cr_assert_eq(hist_percentile(&h1, 100), v[N - 1]);
	cr_assert_eq(hist_percentile(&h1, 0), v[0]);
	cr_assert_eq(h1.total, N);
}

Test(hist, empty_and_single)
{
	hist_init(&h1);
	cr_assert_eq(hist_percentile(&h1, 99), 0);
	hist_record(&h1, 123456789);
	cr_assert_eq(hist_percentile(&h1, 50), 123456789); /* capped at the exact max */
	cr_assert_eq(h1.min, 123456789);
}

Test(hist, merge_adds_counts_and_extremes)
{
	hist_init(&h1);
	hist_init(&h2);
	for (uint64_t i = 1; i <= 1000; i++)
		hist_record(&h1, i);
	for (uint64_t i = 1001; i <= 2000; i++)
		hist_record(&h2, i * 1000);
	hist_merge(&h1, &h2);
	cr_assert_eq(h1.total, 2000);
	cr_assert_eq(h1.min, 1);
	cr_assert_eq(h1.max, 2000000);
	cr_assert(hist_percentile(&h1, 50) >= 1000 && hist_percentile(&h1, 50) <= 1010);
	cr_assert_eq(hist_percentile(&h1, 100), 2000000);
}

Test(hist, hgrm_format)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	double last_p = -1;
	unsigned long long last_c = 0;
	int rows = 0;

	hist_init(&h1);
	for (uint64_t i = 1; i <= 10000; i++)
		hist_record(&h1, i * 1000); /* 1 us .. 10 ms */
	cr_assert_eq(hist_write_hgrm(&h1, f, 1000.0), 0);
	fclose(f);
	cr_assert(strstr(buf, "Value     Percentile TotalCount 1/(1-Percentile)"));
	cr_assert(strstr(buf, "#[Max     =    10000.000, Total count    =        10000]"));
	for (char *line = strchr(buf, '\n') + 2; *line && *line != '#';
	     line = strchr(line, '\n') + 1) {
		double val, p;
		unsigned long long c;

		cr_assert_geq(sscanf(line, "%lf %lf %llu", &val, &p, &c), 3, "line: %s", line);
		cr_assert_geq(p, last_p);
		cr_assert_geq(c, last_c);
		last_p = p;
		last_c = c;
		rows++;
	}
	cr_assert_eq(last_p, 1.0);
	cr_assert_eq(last_c, 10000);
	cr_assert_gt(rows, 30);
	free(buf);
}
