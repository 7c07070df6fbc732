/*
 * test_latency.c — the per-command latency histograms (lathist.c: bucket
 * layout, Redis's percentiles and LATENCY HISTOGRAM's power-of-two CDF,
 * per-thread recording summed on read, reset by generation) and the latency
 * monitor's history (latency.c: one sample per second keeping the worst,
 * 160 samples, reset by name) and the error-code counters (errorstats.c:
 * Redis's code extraction, byte order, reset by baseline).
 */
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "server/errorstats.h"
#include "server/lathist.h"
#include "server/latency.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

static const char *const names[] = {"config", "config|get", "get", "set"};

static void setup(void)
{
	lathist_setup(names, 4);
}

static void teardown(void)
{
	lathist_teardown();
}

TestSuite(lathist, .init = setup, .fini = teardown);

Test(lathist, buckets_are_hdrhistogram_two_digits)
{
	/* exact below 256, then 128 buckets per power of two */
	cr_expect_eq(loghist_high(loghist_index(255)), 255);
	cr_expect_eq(loghist_high(loghist_index(1000)), 1003); /* Redis prints 1.003 */
	cr_expect_eq(loghist_low(loghist_index(1024)), 1024);
	cr_expect_eq(loghist_high(loghist_index(1024)), 1031);
	cr_expect_eq(loghist_high(loghist_index(32768)), 33023); /* LATENCY HISTOGRAM's 33 */
	cr_expect_lt(loghist_index(LATHIST_MAX_NS), LATHIST_BUCKETS);
	for (uint64_t v = 1; v < LATHIST_MAX_NS; v = v * 3 + 1) {
		unsigned i = loghist_index(v);

		cr_expect(loghist_low(i) <= v && v <= loghist_high(i), "value %llu",
			  (unsigned long long)v);
	}
}

Test(lathist, percentiles_as_redis)
{
	struct lathist_snap *s = mem_alloc(sizeof(*s));
	struct wctx *w = wctx_self();

	for (int i = 0; i < 98; i++)
		lathist_record(w, 2, 1); /* 1 us = 1000 ns */
	lathist_record(w, 2, 10);
	lathist_record(w, 2, 5000000); /* clamped to 1 s */
	cr_assert_eq(lathist_get(2, s), 100);
	cr_expect_eq(lathist_percentile(s, 50), 1003);
	cr_expect_eq(lathist_percentile(s, 99), 10047);
	cr_expect_geq(lathist_percentile(s, 100), LATHIST_MAX_NS);
	cr_expect_eq(lathist_get(3, s), 0, "set was never recorded");
	mem_free(s);
}

struct cdf {
	long long key[32], cum[32];
	int n;
};

static void cdf_cb(long long usec, long long cum, void *arg)
{
	struct cdf *c = arg;

	c->key[c->n] = usec;
	c->cum[c->n++] = cum;
}

Test(lathist, cdf_keys_are_redis_powers_of_two)
{
	struct lathist_snap *s = mem_alloc(sizeof(*s));
	struct wctx *w = wctx_self();
	struct cdf c = {.n = 0};

	lathist_record(w, 2, 0);  /* 1 ns: the first bucket (key 1) */
	lathist_record(w, 2, 1);  /* 1000 ns: still below 1024 */
	lathist_record(w, 2, 7);  /* key 8 */
	lathist_record(w, 2, 30); /* key 33 */
	lathist_get(2, s);
	cr_assert_eq(lathist_cdf(s, cdf_cb, &c), 3);
	cr_expect_eq(c.key[0], 1);
	cr_expect_eq(c.cum[0], 2);
	cr_expect_eq(c.key[1], 8);
	cr_expect_eq(c.cum[1], 3);
	cr_expect_eq(c.key[2], 33);
	cr_expect_eq(c.cum[2], 4);
	mem_free(s);
}

static void *record_many(void *arg)
{
	struct wctx *w = wctx_register(-1);

	(void)arg;
	for (int i = 0; i < 10000; i++)
		lathist_record(w, 3, (uint64_t)(i % 100));
	return NULL;
}

Test(lathist, threads_record_apart_and_sum_on_read)
{
	struct lathist_snap *s = mem_alloc(sizeof(*s));
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, record_many, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(lathist_get(3, s), 40000);
	mem_free(s);
}

Test(lathist, a_thread_keeps_only_the_runs_its_samples_reach)
{
	struct wctx *w = wctx_self();
	int64_t before;

	lathist_record(w, 0, 1); /* the thread's block and the command's first run */
	before = mem_used();
	for (int i = 0; i < 1000; i++)
		lathist_record(w, 0, 1); /* same run */
	cr_expect_eq(mem_used(), before, "no allocation for samples in a run it has");
	lathist_record(w, 0, 100); /* one more power of two: one 1 KB run */
	cr_expect_leq(mem_used() - before, 1024 + 64, "grew by %lld bytes",
		      (long long)(mem_used() - before));
}

Test(lathist, reset_forgets_and_recording_resumes)
{
	struct lathist_snap *s = mem_alloc(sizeof(*s));
	struct wctx *w = wctx_self();

	lathist_record(w, 0, 5);
	cr_expect_eq(lathist_get(0, s), 1);
	lathist_reset();
	cr_expect_eq(lathist_get(0, s), 0, "a stale block is not summed");
	lathist_record(w, 1, 5);
	cr_expect_eq(lathist_get(0, s), 0, "the owner zeroed its block");
	cr_expect_eq(lathist_get(1, s), 1);
	cr_expect_eq(lathist_lookup("CONFIG|GET", 10), 1);
	cr_expect_eq(lathist_lookup("nosuch", 6), -1);
	mem_free(s);
}

Test(latency, one_sample_per_second_keeps_the_worst)
{
	int64_t times[LATENCY_TS_LEN];
	uint64_t lat[LATENCY_TS_LEN], max = 0;

	latency_reset(NULL, 0);
	latency_add_sample("command", 5, 1000);
	latency_add_sample("command", 9, 1000);
	latency_add_sample("command", 3, 1000);
	latency_add_sample("command", 2, 1001);
	cr_assert_eq(latency_samples("command", times, lat, LATENCY_TS_LEN, &max), 2);
	cr_expect_eq(times[0], 1000);
	cr_expect_eq(lat[0], 9);
	cr_expect_eq(times[1], 1001);
	cr_expect_eq(lat[1], 2);
	cr_expect_eq(max, 9);
	cr_expect_eq(latency_samples("fast-command", times, lat, LATENCY_TS_LEN, &max), -1);
}

Test(latency, history_keeps_the_last_160_seconds)
{
	int64_t times[LATENCY_TS_LEN];
	uint64_t lat[LATENCY_TS_LEN], max = 0;

	latency_reset(NULL, 0);
	for (int i = 0; i < 200; i++)
		latency_add_sample("expire-cycle", (uint64_t)i + 1, 5000 + i);
	cr_assert_eq(latency_samples("expire-cycle", times, lat, LATENCY_TS_LEN, &max),
		     LATENCY_TS_LEN);
	cr_expect_eq(times[0], 5040, "the oldest 40 were overwritten");
	cr_expect_eq(times[LATENCY_TS_LEN - 1], 5199);
	cr_expect_eq(max, 200);
	cr_expect_eq(latency_reset("EXPIRE-CYCLE", 12), 1, "reset matches case-insensitively");
	cr_expect_eq(latency_reset(NULL, 0), 0);
}

/* ---- errorstats.c --------------------------------------------------------- */

static void es_setup(void)
{
	errorstats_setup();
}

static void es_teardown(void)
{
	errorstats_teardown();
}

TestSuite(errorstats, .init = es_setup, .fini = es_teardown);

static void count(const char *s)
{
	errorstats_count(s, strlen(s));
}

Test(errorstats, code_is_the_first_word_within_31_bytes)
{
	size_t len;
	char *info;

	count("ERR syntax error");
	count("WRONGTYPE Operation against a key holding the wrong kind of value");
	count("ERR value is not an integer or out of range");
	count("NOAUTH Authentication required.");
	/* a first word of 31 bytes or more: Redis files it under ERR */
	count("ABCDEFGHIJABCDEFGHIJABCDEFGHIJA x");
	count("ABCDEFGHIJABCDEFGHIJABCDEFGHIJ x"); /* 30 bytes: its own code */
	count("NOSPACE");
	info = errorstats_info(&len);
	cr_expect_str_eq(info, "errorstat_ABCDEFGHIJABCDEFGHIJABCDEFGHIJ:count=1\r\n"
			       "errorstat_ERR:count=4\r\n"
			       "errorstat_NOAUTH:count=1\r\n"
			       "errorstat_WRONGTYPE:count=1\r\n");
	cr_expect_eq(len, strlen(info));
	mem_free(info);
	errorstats_reset();
	info = errorstats_info(&len);
	cr_expect_str_eq(info, "", "RESETSTAT leaves nothing to print");
	mem_free(info);
	count("WRONGTYPE again");
	info = errorstats_info(&len);
	cr_expect_str_eq(info, "errorstat_WRONGTYPE:count=1\r\n");
	mem_free(info);
}
