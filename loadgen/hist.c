/*
 * hist.c — the log-linear histogram of hist.h.
 *
 * Bucket layout: concurrency/loghist.h's (HdrHistogram's with 2 significant
 * digits). Indexes are dense and ordered like the values, which is all
 * percentile iteration needs.
 */
#include "loadgen/hist.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t hist_bucket_low(unsigned i)
{
	return loghist_low(i);
}

uint64_t hist_bucket_high(unsigned i)
{
	return loghist_high(i);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->total)
		return;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->total)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	want = (uint64_t)ceil(p / 100.0 * (double)h->total);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t v = hist_bucket_high(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

/* HdrHistogram's percentile iterator: the step halves each time the distance
 * to 100% halves, with `ticks` reports per half distance. */
static double next_level(double level, int ticks)
{
	double half = floor(log2(100.0 / (100.0 - level))) + 1;

	return level + 100.0 / (ticks * pow(2.0, half));
}

int hist_write_hgrm(const struct hist *h, FILE *f, double scale)
{
	double level = 0.0, sq = 0.0, mean = hist_mean(h);
	uint64_t seen = 0;

	fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
		"1/(1-Percentile)");
	for (unsigned i = 0; i < HIST_BUCKETS && seen < h->total; i++) {
		uint64_t hi;

		if (!h->counts[i])
			continue;
		seen += h->counts[i];
		hi = hist_bucket_high(i);
		if (hi > h->max)
			hi = h->max;
		sq +=
		    (double)h->counts[i] * pow((double)(hist_bucket_low(i) + hi) / 2.0 - mean, 2.0);
		while (seen < h->total && 100.0 * (double)seen / (double)h->total >= level) {
			fprintf(f, "%12.3f %14.12f %10llu %14.2f\n", (double)hi / scale,
				level / 100.0, (unsigned long long)seen,
				1.0 / (1.0 - level / 100.0));
			level = next_level(level, 5);
		}
		if (seen == h->total)
			fprintf(f, "%12.3f %14.12f %10llu\n", (double)hi / scale, 1.0,
				(unsigned long long)seen);
	}
	fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean / scale,
		h->total ? sqrt(sq / (double)h->total) / scale : 0.0);
	fprintf(f, "#[Max     = %12.3f, Total count    = %12llu]\n", (double)h->max / scale,
		(unsigned long long)h->total);
	fprintf(f, "#[Buckets = %12d, SubBuckets     = %12u]\n", HIST_MAX_SHIFT + 2,
		2 * HIST_SUB_COUNT);
	return ferror(f) ? -EIO : 0;
}
