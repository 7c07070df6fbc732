/*
 * hr_stress — the failure flag, deadline and command wrapper every hiredis stress program
 * (tests/stress/stress_*.c) runs its threads by.
 *
 * A program sets hs_name and hs_deadline_ms before it starts threads; each thread loops while
 * hs_running() and reports with hs_fail(), whose first call prints the message; main exits
 * non-zero when hs_has_failed(). hs_cmd() is redisCommand() that fails the run on a lost
 * connection or an error reply (and still returns what it got, NULL or the error).
 *
 * Threads: any. One program includes this header once (its state is the program's).
 */
#ifndef KVSD_TEST_HR_STRESS_H
#define KVSD_TEST_HR_STRESS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

static const char *hs_name = "stress";
/* written by main before threads start (pthread_create orders it) */
static long long hs_deadline_ms;
/* set once by the first failure, read by every thread's loop; relaxed: a flag that publishes
 * nothing (the thread that sets it prints the message itself; main reads it after joining) */
static atomic_int hs_failed;

static inline void hs_fail(const char *what, const char *detail)
{
	if (!atomic_exchange_explicit(&hs_failed, 1, memory_order_relaxed))
		fprintf(stderr, "%s: FAIL: %s%s%s\n", hs_name, what, detail ? ": " : "",
			detail ? detail : "");
}

static inline int hs_has_failed(void)
{
	return atomic_load_explicit(&hs_failed, memory_order_relaxed);
}

static inline int hs_running(void)
{
	return !hs_has_failed() && kvsd_now_ms() < hs_deadline_ms;
}

static inline redisReply *hs_cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		hs_fail("connection lost", c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		hs_fail("error reply", r->str);
	return r;
}

#endif
