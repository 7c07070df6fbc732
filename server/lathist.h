/*
 * lathist.h — per-command latency histograms, Redis 7.0's latency tracking
 * (LATENCY HISTOGRAM, INFO latencystats), recorded in nanoseconds as Redis
 * does (a command's duration in microseconds times 1000, clamped to
 * [1 ns, 1 s]) into buckets laid out as Redis's HdrHistogram with 2
 * significant digits (concurrency/loghist.h), so percentiles and the
 * power-of-two CDF come out with Redis's precision.
 *
 * Each recording thread has its own block (hung on its worker context,
 * wctx.h) with one histogram per command index, allocated on the command's
 * first recording on that thread, one power of two (1 KB) at a time as
 * samples reach it (Redis's per-command HdrHistogram is 24 KB at once):
 * recording is two relaxed load/store pairs on lines no other thread writes. Readers merge the blocks under the registry lock.
 * CONFIG RESETSTAT (lathist_reset) bumps a generation instead of writing
 * other threads' counters: a block whose generation is old is skipped by
 * readers and zeroed by its owner before its next recording.
 *
 * Threads: lathist_setup / lathist_teardown on the main thread while no
 * command runs; lathist_record from any thread with its own context;
 * lathist_get / lathist_reset from any thread.
 * Ordering: counters are statistics (relaxed); a block's generation is
 * published with release after its owner zeroed it (see lathist.c).
 */
#ifndef KVSD_LATHIST_H
#define KVSD_LATHIST_H

#include "concurrency/loghist.h"

#include <stddef.h>
#include <stdint.h>

struct wctx;

#define LATHIST_MIN_NS	1ull	      /* Redis's LATENCY_HISTOGRAM_MIN_VALUE */
#define LATHIST_MAX_NS	1000000000ull /* LATENCY_HISTOGRAM_MAX_VALUE: 1 s */
#define LATHIST_SHIFT	22	      /* buckets up to 2^30 - 1 ns >= 1 s */
#define LATHIST_BUCKETS LOGHIST_BUCKETS(LATHIST_SHIFT)

/* A merged histogram of one command. */
struct lathist_snap {
	uint64_t total;
	uint64_t counts[LATHIST_BUCKETS];
};

/* names[i] (static storage, e.g. "get", "config|get") is command index i. */
void lathist_setup(const char *const *names, size_t n);
void lathist_teardown(void);

/* Records one call of command idx that took usec microseconds. */
void lathist_record(struct wctx *w, size_t idx, uint64_t usec);
/* Forgets every histogram (CONFIG RESETSTAT). */
void lathist_reset(void);

size_t lathist_count(void);
const char *lathist_name(size_t idx);
/* Index of the command named name[0..len) (case-insensitive, "config|get"
 * for a subcommand), or -1. */
long lathist_lookup(const char *name, size_t len);
/* Merges command idx's histograms into s; returns s->total (0: Redis has no
 * histogram for the command). */
uint64_t lathist_get(size_t idx, struct lathist_snap *s);

/* The value at percentile p (0..100) in nanoseconds, as HdrHistogram's
 * hdr_value_at_percentile: the highest value equivalent to the bucket holding
 * the (p% of total, rounded)-th sample. 0 for an empty histogram. */
uint64_t lathist_percentile(const struct lathist_snap *s, double p);
/*
 * The cumulative distribution LATENCY HISTOGRAM prints (Redis's
 * fillCommandCDF: HdrHistogram's log iteration from 1024 ns, base 2): for
 * each power-of-two bucket whose cumulative count grew, fn(upper bound in
 * microseconds (2^k * 1024 - 1) / 1000, cumulative count). Returns how many
 * times fn was called; fn may be NULL to count.
 */
int lathist_cdf(const struct lathist_snap *s, void (*fn)(long long usec, long long cum, void *arg),
		void *arg);

/* The "# Latencystats" body, as Redis's genRedisInfoStringLatencyStats():
 * "latency_percentiles_usec_<cmd>:p50=1.003,p99=..." for every command with
 * samples, percentiles from latency-tracking-info-percentiles; empty when
 * latency-tracking is off. Caller frees with mem_free(). */
char *lathist_info(size_t *len);

#endif
