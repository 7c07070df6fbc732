/*
 * hist.h — a log-linear latency histogram in the manner of HdrHistogram
 * (Gil Tene's HdrHistogram, 2 significant digits): values below 256 are
 * counted exactly; above, every power of two is split into 128 equal
 * sub-buckets, so any recorded value is known to within 1/128 (0.78%) of
 * itself. Values are nanoseconds up to HIST_MAX_VALUE (about 36 minutes);
 * larger ones are clamped to it, and the exact minimum and maximum are kept
 * beside the buckets.
 *
 * Threads: a histogram belongs to one thread; hist_merge() adds another
 * (quiescent) histogram into it. No internal locking.
 * Ownership: struct hist is plain caller storage (about 35 KB); no allocation.
 * Progress: recording is O(1) (one count-leading-zeros); percentiles are one
 * pass over the buckets.
 * Errors: hist_write_hgrm() returns 0 / -errno.
 */
#ifndef KVSD_LOADGEN_HIST_H
#define KVSD_LOADGEN_HIST_H

#include "concurrency/loghist.h"

#include <stdint.h>
#include <stdio.h>

/* The bucket layout is concurrency/loghist.h's, shared with the server's
 * per-command latency histograms. */
#define HIST_SUB_BITS  LOGHIST_SUB_BITS
#define HIST_SUB_COUNT LOGHIST_SUB_COUNT
#define HIST_MAX_SHIFT 33 /* values up to 2^(33+8) - 1 ns */
#define HIST_BUCKETS   LOGHIST_BUCKETS(HIST_MAX_SHIFT)
#define HIST_MAX_VALUE LOGHIST_MAX_VALUE(HIST_MAX_SHIFT)

struct hist {
	uint64_t total;
	uint64_t min, max; /* exact; min is UINT64_MAX while empty */
	double sum;	   /* for the mean */
	uint64_t counts[HIST_BUCKETS];
};

void hist_init(struct hist *h);
/* Bucket of value v (clamped to HIST_MAX_VALUE). */
static inline unsigned hist_index(uint64_t v)
{
	return loghist_index(v > HIST_MAX_VALUE ? HIST_MAX_VALUE : v);
}
/* Smallest and largest value counted in bucket i. */
uint64_t hist_bucket_low(unsigned i);
uint64_t hist_bucket_high(unsigned i);

static inline void hist_record(struct hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	h->total++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}
void hist_merge(struct hist *dst, const struct hist *src);
/*
 * Value at percentile p (0..100): the highest value equivalent to the bucket
 * holding the ceil(p% * total)-th smallest sample (HdrHistogram's
 * convention), never above the exact maximum. 0 for an empty histogram.
 */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);
/*
 * Write the percentile distribution in HdrHistogram's .hgrm text format
 * (outputPercentileDistribution with 5 ticks per half distance), values
 * divided by `scale` (1000.0 turns nanoseconds into microseconds).
 */
int hist_write_hgrm(const struct hist *h, FILE *f, double scale);

#endif
