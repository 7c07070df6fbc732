/*
 * clock.h — the tree's one clock helper.
 *
 * Monotonic time (CLOCK_MONOTONIC) for every duration, deadline, budget and
 * rate: it never jumps when the wall clock is set. Wall-clock time
 * (CLOCK_REALTIME) only where Redis's semantics are calendar time: key
 * expiry times (EXPIREAT, PEXPIRETIME), TIME, INFO's timestamps, SLOWLOG and
 * MONITOR timestamps, CLIENT LIST ages, CLIENT PAUSE's end, LRU/LFU clocks.
 *
 * Threads: any thread. No state; each call is one clock_gettime (vDSO).
 */
#ifndef KVSD_CLOCK_H
#define KVSD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns_(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic: for durations and deadlines only (the origin is arbitrary). */
static inline int64_t clock_mono_ns(void)
{
	return clock_ns_(CLOCK_MONOTONIC);
}

static inline int64_t clock_mono_us(void)
{
	return clock_mono_ns() / 1000;
}

static inline int64_t clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

/* Wall clock, since the Unix epoch: for times a client sees or sets. */
static inline int64_t clock_wall_us(void)
{
	return clock_ns_(CLOCK_REALTIME) / 1000;
}

static inline int64_t clock_wall_ms(void)
{
	return clock_ns_(CLOCK_REALTIME) / 1000000;
}

#endif
