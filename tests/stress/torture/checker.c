/*
 * checker.c — the clients that must not notice the torture.
 *
 * Checker n connects at its start time (n = 0 before any abuse starts, the others later, so
 * that round-robin assignment likely gives them other workers), names itself "checker-<n>"
 * (torture connections are named "torture-...", and the killer aims only at those), registers
 * its CLIENT ID with the killer's guard, and then runs rounds over keys only it touches:
 *
 *   SET chk:n:s <value of round seq>   +OK
 *   GET chk:n:s                        that value
 *   INCR chk:n:n                       the previous value + 1
 *   MSET chk:n:a A chk:n:b B chk:n:c C +OK (A, B, C change every round)
 *   MGET chk:n:a chk:n:b chk:n:c chk:n:none   A, B, C, nil
 *   PING                               +PONG
 *
 * Every reply must be exactly that (anything else is a failure), and arrive within
 * tt.latency_ms of the request being sent (a slower one is a violation: counted, the first
 * few recorded as failures with their time, the worst reported), not counting the time kvsd's
 * threads or the checker itself waited for a CPU while other processes ran (main.c). No reply
 * within 5 s, or a closed connection, is a failure: the checker reconnects, re-reads its counter
 * and goes on, and its keys are no longer compared exactly at the end. Rounds are paced (1 ms
 * apart) so the checkers measure latency rather than compete for throughput.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "torture.h"

#define CK_TIMEOUT_MS	     5000
#define CK_RECORD_VIOLATIONS 5

size_t tt_checker_value(char *buf, size_t cap, int n, long seq)
{
	int len = snprintf(buf, cap, "v%d:%ld:", n, seq);
	size_t pad = (size_t)(seq % 97);

	if (len < 0 || (size_t)len + pad + 1 > cap)
		return 0;
	for (size_t i = 0; i < pad; i++)
		buf[(size_t)len + i] = (char)('a' + (seq + (long)i) % 26);
	buf[(size_t)len + pad] = '\0';
	return (size_t)len + pad;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct ck {
	struct tt_checker *k;
	redisContext *c;
	int n;
	int statfd; /* this thread's /proc/thread-self/schedstat */
};

static int ck_open(struct ck *ck)
{
	struct tt_checker *k = ck->k;
	redisReply *r1 = NULL, *r2 = NULL;
	int rc = -1;

	ck->c = tt_connect(&k->t, CK_TIMEOUT_MS);
	if (!ck->c)
		return -1;
	redisAppendCommand(ck->c, "CLIENT SETNAME checker-%d", ck->n);
	redisAppendCommand(ck->c, "CLIENT ID");
	if (redisGetReply(ck->c, (void **)&r1) == REDIS_OK &&
	    redisGetReply(ck->c, (void **)&r2) == REDIS_OK &&
	    tt_reply_is(r1, REDIS_REPLY_STATUS, "OK") && r2 && r2->type == REDIS_REPLY_INTEGER) {
		tt_checker_id_add(r2->integer);
		k->id = r2->integer;
		rc = 0;
	} else if (tt_running()) {
		tt_fail("checker %d: CLIENT SETNAME / CLIENT ID answered %s", ck->n,
			r1 ? tt_show(r1) : ck->c->errstr);
	}
	if (r1)
		freeReplyObject(r1);
	if (r2)
		freeReplyObject(r2);
	if (rc != 0) {
		redisFree(ck->c);
		ck->c = NULL;
	}
	return rc;
}

/* The checker's counter as the server has it now (after a reconnect). */
static int ck_resync(struct ck *ck)
{
	redisReply *r = redisCommand(ck->c, "GET chk:%d:n", ck->n);
	int rc = -1;

	if (r && r->type == REDIS_REPLY_STRING) {
		ck->k->incr = strtoll(r->str, NULL, 10);
		rc = 0;
	} else if (r && r->type == REDIS_REPLY_NIL) {
		ck->k->incr = 0;
		rc = 0;
	}
	if (r)
		freeReplyObject(r);
	return rc;
}

/* After a lost connection: a new one, and the counter as the server has it. The outcome of
 * the lost command is unknown, so the final comparison of this checker's keys is skipped. */
static void ck_reconnect(struct ck *ck)
{
	redisFree(ck->c);
	ck->c = NULL;
	ck->k->lost = 1;
	if (tt_running() && ck_open(ck) == 0 && ck_resync(ck) == 0) {
		ck->k->reconnects++;
	} else if (ck->c) {
		redisFree(ck->c);
		ck->c = NULL;
	}
}

/* Send one command, time it, and return the reply; NULL when the connection failed (then the
 * checker has reconnected, or ck->c is NULL when it could not). */
static redisReply *ck_cmd(struct ck *ck, const char *name, int argc, const char **argv,
			  const size_t *lens)
{
	struct tt_checker *k = ck->k;
	long long w0 = tt_schedstat_wait_ns(ck->statfd), w1;
	double t0 = mono_ms(), dt;
	redisReply *r = redisCommandArgv(ck->c, argc, argv, lens);

	dt = mono_ms() - t0;
	w1 = tt_schedstat_wait_ns(ck->statfd);
	k->commands++;
	if (!r) {
		tt_fail("checker %d (id %lld): %s: no reply after %.0f ms (%s)", ck->n, k->id, name,
			dt, ck->c->errstr);
		redisFree(ck->c);
		ck->c = NULL;
		k->lost = 1;
		if (tt_running() && ck_open(ck) == 0 && ck_resync(ck) == 0)
			k->reconnects++;
		else if (ck->c) {
			redisFree(ck->c);
			ck->c = NULL;
		}
		return NULL;
	}
	if (dt > k->worst_ms) {
		k->worst_ms = dt;
		snprintf(k->worst_cmd, sizeof(k->worst_cmd), "%s", name);
		k->worst_at = tt_elapsed();
	}
	if (dt > tt.latency_ms) {
		double end = tt_elapsed(), start = end - dt / 1000;
		double own = w0 >= 0 && w1 >= w0 ? (double)(w1 - w0) / 1e6 : 0;
		double srv = tt_server_wait_ms(start, end);

		if (dt - own - srv <= tt.latency_ms)
			k->excused++;
		else if (k->violations++ < CK_RECORD_VIOLATIONS)
			tt_fail_since(
			    start,
			    "checker %d (id %lld): %s answered after %.1f ms (bound %d ms; "
			    "of it, kvsd's threads all waited %.0f ms for a CPU (or the "
			    "host took it) and this "
			    "checker %.0f ms)",
			    ck->n, k->id, name, dt, tt.latency_ms, srv, own);
	}
	return r;
}

static void ck_wrong(struct ck *ck, const char *what, const redisReply *r, const char *want)
{
	tt_fail("checker %d (id %lld): %s: got %s, want %s", ck->n, ck->k->id, what, tt_show(r),
		want);
}

static void ck_round(struct ck *ck)
{
	struct tt_checker *k = ck->k;
	char key_s[32], key_n[32], key_a[32], key_b[32], key_c[32], key_x[32];
	char val[256], va[32], vb[32], vc[32], want[128];
	const char *argv[9];
	size_t lens[9], vlen;
	long seq = k->seq + 1;
	redisReply *r;

	snprintf(key_s, sizeof(key_s), "chk:%d:s", ck->n);
	snprintf(key_n, sizeof(key_n), "chk:%d:n", ck->n);
	snprintf(key_a, sizeof(key_a), "chk:%d:a", ck->n);
	snprintf(key_b, sizeof(key_b), "chk:%d:b", ck->n);
	snprintf(key_c, sizeof(key_c), "chk:%d:c", ck->n);
	snprintf(key_x, sizeof(key_x), "chk:%d:none", ck->n);
	vlen = tt_checker_value(val, sizeof(val), ck->n, seq);

	argv[0] = "SET", argv[1] = key_s, argv[2] = val;
	lens[0] = 3, lens[1] = strlen(key_s), lens[2] = vlen;
	if (!(r = ck_cmd(ck, "SET", 3, argv, lens)))
		return;
	if (!tt_reply_is(r, REDIS_REPLY_STATUS, "OK"))
		ck_wrong(ck, "SET", r, "+OK");
	else
		k->seq = seq;
	freeReplyObject(r);

	argv[0] = "GET", lens[0] = 3;
	if (!(r = ck_cmd(ck, "GET", 2, argv, lens)))
		return;
	if (!(r->type == REDIS_REPLY_STRING && r->len == vlen && memcmp(r->str, val, vlen) == 0))
		ck_wrong(ck, "GET", r, val);
	freeReplyObject(r);

	argv[0] = "INCR", lens[0] = 4, argv[1] = key_n, lens[1] = strlen(key_n);
	if (!(r = ck_cmd(ck, "INCR", 2, argv, lens)))
		return;
	if (r->type != REDIS_REPLY_INTEGER || r->integer != k->incr + 1) {
		snprintf(want, sizeof(want), "(integer) %lld", k->incr + 1);
		ck_wrong(ck, "INCR", r, want);
		if (r->type == REDIS_REPLY_INTEGER)
			k->incr = r->integer; /* resync: report each wrong answer once */
	} else {
		k->incr++;
	}
	freeReplyObject(r);

	snprintf(va, sizeof(va), "a%ld", seq);
	snprintf(vb, sizeof(vb), "b%ld-%d", seq * 7, ck->n);
	snprintf(vc, sizeof(vc), "c%ld", seq % 13 ? seq * 31 : 0);
	argv[0] = "MSET", lens[0] = 4;
	argv[1] = key_a, argv[2] = va, argv[3] = key_b, argv[4] = vb, argv[5] = key_c, argv[6] = vc;
	for (int i = 1; i <= 6; i++)
		lens[i] = strlen(argv[i]);
	if (!(r = ck_cmd(ck, "MSET", 7, argv, lens)))
		return;
	if (!tt_reply_is(r, REDIS_REPLY_STATUS, "OK"))
		ck_wrong(ck, "MSET", r, "+OK");
	freeReplyObject(r);

	argv[0] = "MGET", lens[0] = 4;
	argv[1] = key_a, argv[2] = key_b, argv[3] = key_c, argv[4] = key_x;
	for (int i = 1; i <= 4; i++)
		lens[i] = strlen(argv[i]);
	if (!(r = ck_cmd(ck, "MGET", 5, argv, lens)))
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
	    !tt_reply_is(r->element[0], REDIS_REPLY_STRING, va) ||
	    !tt_reply_is(r->element[1], REDIS_REPLY_STRING, vb) ||
	    !tt_reply_is(r->element[2], REDIS_REPLY_STRING, vc) ||
	    r->element[3]->type != REDIS_REPLY_NIL) {
		snprintf(want, sizeof(want), "[%s %s %s nil]", va, vb, vc);
		ck_wrong(ck, "MGET",
			 r->type == REDIS_REPLY_ARRAY && r->elements == 4 ? r->element[0] : r,
			 want);
	}
	freeReplyObject(r);

	argv[0] = "PING", lens[0] = 4;
	if (!(r = ck_cmd(ck, "PING", 1, argv, lens)))
		return;
	if (!tt_reply_is(r, REDIS_REPLY_STATUS, "PONG"))
		ck_wrong(ck, "PING", r, "+PONG");
	freeReplyObject(r);
	k->rounds++;
}

void *tt_checker_main(void *arg)
{
	struct tt_checker *k = arg;
	struct ck ck = {.k = k, .n = k->t.index};
	redisReply *r;

	ck.statfd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	while (tt_running() && kvsd_now_ms() < tt.t0_ms + k->start_at_ms)
		kvsd_sleep_ms(5);
	if (!tt_running())
		goto out;
	if (ck_open(&ck) != 0) {
		tt_fail("checker %d: cannot connect", ck.n);
		goto out;
	}
	r = redisCommand(ck.c, "SET chk:%d:n 0", ck.n);
	if (!tt_reply_is(r, REDIS_REPLY_STATUS, "OK"))
		tt_fail("checker %d: SET chk:%d:n 0 answered %s", ck.n, ck.n,
			r ? tt_show(r) : ck.c->errstr);
	if (r)
		freeReplyObject(r);
	else
		ck_reconnect(&ck);
	k->start_at_ms = kvsd_now_ms() - tt.t0_ms;
	/* relaxed: see struct tt_checker */
	atomic_store_explicit(&k->connected, 1, memory_order_relaxed);
	while (ck.c && tt_running()) {
		ck_round(&ck);
		kvsd_sleep_ms(1);
	}
out:
	if (ck.c)
		redisFree(ck.c);
	if (ck.statfd >= 0)
		close(ck.statfd);
	return NULL;
}
