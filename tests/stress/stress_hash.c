/*
 * stress_hash.c — hash writes under contention against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is instrumented
 * too and a race report makes it fail). For --seconds S (default 3), at once:
 *  - 8 incrementers HINCRBY shared fields of a small hash (listpack) and of a large one
 *    (hashtable, 600 other fields), counting the increments acknowledged: at the end each
 *    field holds exactly its count (no lost update on either encoding);
 *  - 2 tellers move random amounts between fields of two hashes (one listpack, one
 *    hashtable) in MULTI/EXEC; 2 auditors read every account with HGET inside MULTI and
 *    check that the sum never changes;
 *  - a churner HSETs and HDELs other fields of the large hashes, so the transfers and the
 *    increments race path-copying writes of the same trees.
 * Then: the totals are exact, SIGTERM, exit status 0.
 * Prints one summary line; exits 1 with a message on the first violation.
 */
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "hr_stress.h"
#include "kvsd_proc.h"

#define INCRERS	 8
#define SHARED	 4 /* fields each incrementer hits, in each of small and big */
#define ACCOUNTS 4 /* per bank hash */
#define INITIAL	 1000
#define FILLER	 600

static struct kvsd_proc srv;
/* per-field acknowledged increments, summed by threads and read after they are joined
 * (pthread_join orders them); relaxed: counters only */
static atomic_llong incs[2][SHARED];
static atomic_llong transfers, audits, churns;

static const char *const hkey[2] = {"small", "big"};

static void *incrementer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		int h = rand_r(&seed) & 1, f = rand_r(&seed) % SHARED;
		redisReply *r = hs_cmd(c, "HINCRBY %s c%d 1", hkey[h], f);

		if (r && r->type == REDIS_REPLY_INTEGER)
			atomic_fetch_add_explicit(&incs[h][f], 1, memory_order_relaxed);
		else if (r && r->type != REDIS_REPLY_ERROR)
			hs_fail("HINCRBY reply type", NULL);
		freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *teller(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		int a = rand_r(&seed) % ACCOUNTS, b = rand_r(&seed) % ACCOUNTS,
		    x = rand_r(&seed) % 50 - 10;
		int dir = rand_r(&seed) & 1;
		redisReply *r;

		redisAppendCommand(c, "MULTI");
		redisAppendCommand(c, "HINCRBY %s a%d %d", dir ? "bankA" : "bankB", a, -x);
		redisAppendCommand(c, "HINCRBY %s a%d %d", dir ? "bankB" : "bankA", b, x);
		redisAppendCommand(c, "EXEC");
		for (int i = 0; i < 4; i++) {
			if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
				hs_fail("connection lost", c->errstr);
				break;
			}
			if (i == 3 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))
				hs_fail("EXEC reply", r->type == REDIS_REPLY_ERROR ? r->str : NULL);
			freeReplyObject(r);
		}
		atomic_fetch_add_explicit(&transfers, 1, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* The sum of every account, read in one MULTI/EXEC (mid-run) or plainly (at the end). */
static long long bank_sum(redisContext *c, int in_multi)
{
	long long sum = 0;
	redisReply *r;
	int n = 2 * ACCOUNTS;

	if (in_multi)
		redisAppendCommand(c, "MULTI");
	for (int i = 0; i < n; i++)
		redisAppendCommand(c, "HGET %s a%d", i < ACCOUNTS ? "bankA" : "bankB",
				   i % ACCOUNTS);
	if (in_multi)
		redisAppendCommand(c, "EXEC");
	int replies = in_multi ? n + 2 : n;
	for (int i = 0; i < replies; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
			hs_fail("connection lost", c->errstr);
			return LLONG_MIN;
		}
		redisReply *vals = NULL;
		if (!in_multi)
			vals = r;
		else if (i == replies - 1) {
			if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n)
				hs_fail("audit EXEC reply", NULL);
			else
				for (int k = 0; k < n; k++)
					sum += r->element[k]->type == REDIS_REPLY_STRING
						   ? atoll(r->element[k]->str)
						   : LLONG_MIN / 4;
		}
		if (vals)
			sum += vals->type == REDIS_REPLY_STRING ? atoll(vals->str) : LLONG_MIN / 4;
		freeReplyObject(r);
	}
	return sum;
}

static void *auditor(void *arg)
{
	redisContext *c = kvsd_connect(&srv);
	char buf[64];

	(void)arg;
	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		long long s = bank_sum(c, 1);

		if (s != 2LL * ACCOUNTS * INITIAL && !hs_has_failed()) {
			snprintf(buf, sizeof(buf), "%lld, expected %lld", s,
				 2LL * ACCOUNTS * INITIAL);
			hs_fail("bank sum inside MULTI", buf);
		}
		atomic_fetch_add_explicit(&audits, 1, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *churner(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		const char *k = (rand_r(&seed) & 1) ? "big" : "bankB";
		int f = rand_r(&seed) % (2 * FILLER);
		redisReply *r = (rand_r(&seed) % 3)
				    ? hs_cmd(c, "HSET %s x%d %d y%d %d", k, f, f, f + 1, f)
				    : hs_cmd(c, "HDEL %s x%d y%d", k, f, f - 1);
		freeReplyObject(r);
		atomic_fetch_add_explicit(&churns, 1, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void fill(redisContext *c, const char *key, int filler)
{
	for (int i = 0; i < filler; i++)
		freeReplyObject(redisCommand(c, "HSET %s x%d v%d", key, i, i));
}

static void check_totals(redisContext *c)
{
	char buf[128];

	for (int h = 0; h < 2; h++)
		for (int f = 0; f < SHARED; f++) {
			redisReply *r = hs_cmd(c, "HGET %s c%d", hkey[h], f);
			long long want = atomic_load_explicit(&incs[h][f], memory_order_relaxed);
			long long got = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;

			if (r && r->type == REDIS_REPLY_NIL && want == 0)
				got = 0;
			if (got != want) {
				snprintf(buf, sizeof(buf), "%s c%d = %lld, expected %lld", hkey[h],
					 f, got, want);
				hs_fail("HINCRBY total", buf);
			}
			freeReplyObject(r);
		}
	long long s = bank_sum(c, 0);
	if (s != 2LL * ACCOUNTS * INITIAL) {
		snprintf(buf, sizeof(buf), "%lld", s);
		hs_fail("final bank sum", buf);
	}
	/* the encodings the run was meant to exercise (once OBJECT knows hashes) */
	redisReply *r = redisCommand(c, "OBJECT ENCODING small");
	if (r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "hashtable") == 0)
		hs_fail("small hash converted", NULL);
	freeReplyObject(r);
	r = hs_cmd(c, "HLEN big");
	if (r && (r->type != REDIS_REPLY_INTEGER || r->integer <= 512))
		hs_fail("big hash is not past the listpack limit", NULL);
	freeReplyObject(r);
}

static long long total_incs(void)
{
	long long t = 0;

	for (int h = 0; h < 2; h++)
		for (int f = 0; f < SHARED; f++)
			t += atomic_load_explicit(&incs[h][f], memory_order_relaxed);
	return t;
}

int main(int argc, char **argv)
{
	int seconds = 3, st;
	pthread_t th[INCRERS + 8];
	int nth = 0;

	hs_name = "stress_hash";

	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
	signal(SIGPIPE, SIG_IGN);
	setenv("TSAN_OPTIONS", "exitcode=66", 0);
	srv.keep_log = 1;
	if (kvsd_start(&srv,
		       kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", "3", NULL})) {
		fprintf(stderr, "stress_hash: FAIL: kvsd did not start\n");
		return 1;
	}
	redisContext *c = kvsd_connect(&srv);
	if (!c) {
		kvsd_kill(&srv);
		return 1;
	}
	fill(c, "big", FILLER);
	fill(c, "bankB", FILLER);
	for (int i = 0; i < ACCOUNTS; i++) {
		freeReplyObject(redisCommand(c, "HSET bankA a%d %d", i, INITIAL));
		freeReplyObject(redisCommand(c, "HSET bankB a%d %d", i, INITIAL));
	}
	hs_deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < INCRERS; i++)
		pthread_create(&th[nth++], NULL, incrementer, (void *)(uintptr_t)(7 * i + 1));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, teller, (void *)(uintptr_t)(100 + i));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, auditor, NULL);
	pthread_create(&th[nth++], NULL, churner, (void *)(uintptr_t)999);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (!hs_has_failed())
		check_totals(c);
	redisFree(c);
	st = kvsd_stop(&srv, 30000);
	if (st != 0) {
		kvsd_dump_log(&srv);
		hs_fail("server exit status", NULL);
	}
	kvsd_kill(&srv);
	printf("stress_hash: %s: %lld increments, %lld transfers, %lld audits, %lld churn writes "
	       "in %ds\n",
	       hs_has_failed() ? "FAIL" : "ok", total_incs(),
	       (long long)atomic_load_explicit(&transfers, memory_order_relaxed),
	       (long long)atomic_load_explicit(&audits, memory_order_relaxed),
	       (long long)atomic_load_explicit(&churns, memory_order_relaxed), seconds);
	return hs_has_failed() ? 1 : 0;
}
