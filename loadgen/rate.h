/*
 * rate.h — the open-loop rate scheduler: when each request is meant to go.
 *
 * A total rate R (requests per second) is shared by N connections. Request k
 * of connection g (0 <= g < N) is due at start + (g + k * N) / R seconds, so
 * the merged stream of all connections is evenly spaced at 1 / R and each
 * connection sends every N / R seconds (wrk2's constant-throughput model).
 * Due times are absolute (computed from k, never accumulated), so lateness
 * does not drift the rate: a connection that fell behind sends its backlog
 * as soon as it can, and each request's latency is measured from its due
 * time, which is how coordinated omission is corrected.
 *
 * Threads: a struct rate belongs to the thread that owns its connection.
 * Ownership: caller storage. Errors: rate_init() returns -EINVAL for a
 * rate <= 0 or g >= N.
 */
#ifndef KVSD_LOADGEN_RATE_H
#define KVSD_LOADGEN_RATE_H

#include <stdint.h>

struct rate {
	uint64_t start_ns;
	double period_ns; /* 1e9 / R: spacing of the merged stream */
	uint64_t g, n;	  /* this connection's index and the connection count */
	uint64_t k;	  /* requests already taken from this schedule */
};

int rate_init(struct rate *s, uint64_t start_ns, double rate, uint64_t g, uint64_t n);

/* Due time (ns, same clock as start_ns) of the next request. */
static inline uint64_t rate_due(const struct rate *s)
{
	return s->start_ns + (uint64_t)((double)(s->g + s->k * s->n) * s->period_ns);
}

/* Take the next request: returns its due time and advances. */
static inline uint64_t rate_take(struct rate *s)
{
	uint64_t t = rate_due(s);

	s->k++;
	return t;
}

/* Number of requests of this connection due at or before now (not yet taken). */
uint64_t rate_backlog(const struct rate *s, uint64_t now_ns);

#endif
