/*
 * loghist.h — the bucket arithmetic of a log-linear histogram laid out as
 * HdrHistogram lays out one with 2 significant digits (Gil Tene's
 * HdrHistogram; sub_bucket_count 256): values below 256 each have a bucket;
 * above, every power of two [2^k, 2^(k+1)) is split into 128 equal buckets,
 * so a bucket's width is under 1/128 of any value in it. Bucket boundaries
 * fall on every power of two, which is what Redis's LATENCY HISTOGRAM (a
 * log-2 iteration from 1024 ns) and its percentiles rely on.
 *
 * Index layout: index i < 256 holds exactly the value i. A value v whose
 * highest set bit is msb >= 8 lies in the run of 128 buckets of
 * shift = msb - 7: index shift * 128 + (v >> shift), whose sub-bucket part
 * (v >> shift) is in [128, 256). Consecutive runs abut, so indexes are dense
 * and ordered like the values.
 *
 * Users: loadgen/hist.c (per-thread histograms of request latency) and
 * server/lathist.c (per-command latency for LATENCY HISTOGRAM and INFO
 * latencystats). Both keep their own counters and clamp values to their own
 * maximum; this header only maps values to buckets and back.
 * Threads: pure functions. Progress: O(1), one count-leading-zeros.
 */
#ifndef KVSD_LOGHIST_H
#define KVSD_LOGHIST_H

#include <stdint.h>

#define LOGHIST_SUB_BITS  7 /* 2^7 = 128 sub-buckets per power of two above 256 */
#define LOGHIST_SUB_COUNT (1u << LOGHIST_SUB_BITS)

/* Number of buckets needed for values up to 2^(LOGHIST_SUB_BITS + 1 +
 * max_shift) - 1. */
#define LOGHIST_BUCKETS(max_shift) (((max_shift) + 1) * LOGHIST_SUB_COUNT + LOGHIST_SUB_COUNT)
/* Largest value those buckets hold. */
#define LOGHIST_MAX_VALUE(max_shift) ((UINT64_C(1) << ((max_shift) + LOGHIST_SUB_BITS + 1)) - 1)

/* Bucket of v; the caller clamps v to its maximum first. */
static inline unsigned loghist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * LOGHIST_SUB_COUNT)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - LOGHIST_SUB_BITS;
	return shift * LOGHIST_SUB_COUNT + (unsigned)(v >> shift);
}

/* Smallest value counted in bucket i. */
static inline uint64_t loghist_low(unsigned i)
{
	unsigned shift;

	if (i < 2 * LOGHIST_SUB_COUNT)
		return i;
	shift = i / LOGHIST_SUB_COUNT - 1;
	return (uint64_t)(i - shift * LOGHIST_SUB_COUNT) << shift;
}

/* Largest value counted in bucket i (HdrHistogram's highest equivalent value). */
static inline uint64_t loghist_high(unsigned i)
{
	unsigned shift;

	if (i < 2 * LOGHIST_SUB_COUNT)
		return i;
	shift = i / LOGHIST_SUB_COUNT - 1;
	return loghist_low(i) + ((UINT64_C(1) << shift) - 1);
}

#endif
