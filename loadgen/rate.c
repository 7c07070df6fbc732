/*
 * rate.c — open-loop due times (see rate.h). Everything is derived from the
 * request number k, so rounding never accumulates: the k-th due time is
 * within one nanosecond of the exact start + (g + kN) / R.
 */
#include "loadgen/rate.h"

#include <errno.h>

int rate_init(struct rate *s, uint64_t start_ns, double rate, uint64_t g, uint64_t n)
{
	if (!(rate > 0) || n == 0 || g >= n)
		return -EINVAL;
	s->start_ns = start_ns;
	s->period_ns = 1e9 / rate;
	s->g = g;
	s->n = n;
	s->k = 0;
	return 0;
}

uint64_t rate_backlog(const struct rate *s, uint64_t now_ns)
{
	double slots;
	uint64_t total;

	if (now_ns < rate_due(s))
		return 0;
	/* requests j with g + j*N <= (now - start) / period */
	slots = (double)(now_ns - s->start_ns) / s->period_ns;
	total = (uint64_t)((slots - (double)s->g) / (double)s->n) + 1;
	return total > s->k ? total - s->k : 0;
}
