/*
 * stress_set.c — sets under concurrency against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is instrumented
 * too and a race report makes it fail). Two phases:
 *  1. for --seconds S (default 3): 8 movers SMOVE random members between SETS sets (members
 *     are integers and a few strings, so sets change between intset and hashtable as they
 *     grow past 512 or meet a string); auditors read SCARD of every set inside MULTI, and
 *     SMEMBERS of every set inside MULTI: the total is always MEMBERS, and no member is in
 *     two sets or missing. A mover's SMOVE answers 1 or 0, never an error. Meanwhile a
 *     scanner runs full SSCANs of a hashtable set whose other members churn: every member
 *     present throughout is returned.
 *  2. a set of --big N members (default 1,000,000) built with SADD batches of 10,000, one
 *     SADD of N arguments into another key, then bad input against the big set (SPOP and
 *     SRANDMEMBER with huge counts, a huge negative SRANDMEMBER count) and a DEL of it,
 *     while reader clients keep reading other keys (GET and SISMEMBER): every reply is the
 *     exact value, and the worst wait for one is reported and must stay under --latency-ms
 *     (default 5000; a hang, not a speed target).
 * At the end: the totals are exact, the server exits 0 on SIGTERM.
 * Prints one summary line; exits 1 with a message on the first violation.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "hr_stress.h"
#include "kvsd_proc.h"

#define SETS	4
#define MEMBERS 1200 /* more than set-max-intset-entries: some sets convert */
#define MOVERS	8

static struct kvsd_proc srv;
static atomic_int phase2_done;
static atomic_llong moves, audits, reads, worst_wait_ms, scans;

static void member_name(int i, char *buf, size_t n)
{
	if (i % 97 == 0)
		snprintf(buf, n, "m%d", i); /* a string: its set becomes a hashtable */
	else
		snprintf(buf, n, "%d", i);
}

static void *mover(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);
	char m[32];

	while (c && !c->err && hs_running()) {
		int a = rand_r(&seed) % SETS, b = rand_r(&seed) % SETS;
		member_name(rand_r(&seed) % MEMBERS, m, sizeof(m));
		redisReply *r = hs_cmd(c, "SMOVE set:%d set:%d %s", a, b, m);
		if (r && r->type != REDIS_REPLY_INTEGER)
			hs_fail("SMOVE reply", "not an integer");
		freeReplyObject(r);
		atomic_fetch_add_explicit(&moves, 1, memory_order_relaxed); /* statistic */
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* SCARD of every set in one MULTI, then SMEMBERS of every set in one MULTI. */
static void audit(redisContext *c)
{
	char detail[128];
	redisReply *r;

	freeReplyObject(hs_cmd(c, "MULTI"));
	for (int i = 0; i < SETS; i++)
		freeReplyObject(hs_cmd(c, "SCARD set:%d", i));
	r = hs_cmd(c, "EXEC");
	if (!r)
		return;
	long long total = 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != SETS)
		hs_fail("EXEC reply", "not an array of SETS");
	else
		for (size_t i = 0; i < r->elements; i++)
			total += r->element[i]->integer;
	freeReplyObject(r);
	if (total != MEMBERS) {
		snprintf(detail, sizeof(detail), "SCARD total %lld, want %d", total, MEMBERS);
		hs_fail("members lost or duplicated", detail);
		return;
	}
	freeReplyObject(hs_cmd(c, "MULTI"));
	for (int i = 0; i < SETS; i++)
		freeReplyObject(hs_cmd(c, "SMEMBERS set:%d", i));
	r = hs_cmd(c, "EXEC");
	if (!r)
		return;
	static _Thread_local unsigned char seen[MEMBERS];
	memset(seen, 0, sizeof(seen));
	size_t n = 0;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		redisReply *s = r->element[i];
		for (size_t j = 0; s->type == REDIS_REPLY_ARRAY && j < s->elements; j++) {
			const char *p = s->element[j]->str;
			int v = atoi(p[0] == 'm' ? p + 1 : p);
			if (v < 0 || v >= MEMBERS || seen[v]++) {
				hs_fail("SMEMBERS", "a member twice or unknown");
				break;
			}
			n++;
		}
	}
	freeReplyObject(r);
	if (n != MEMBERS)
		hs_fail("SMEMBERS", "total differs");
	atomic_fetch_add_explicit(&audits, 1, memory_order_relaxed); /* statistic */
}

/* SSCAN's cursor survives writes: a full scan of "scan" (STABLE members that stay, while a
 * churner adds and removes others) returns every stable member at least once. */
#define STABLE 1000

static void *churner(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	while (c && !c->err && hs_running()) {
		int x = rand_r(&seed) % 2000;
		freeReplyObject(
		    hs_cmd(c, (rand_r(&seed) & 1) ? "SADD scan x%d" : "SREM scan x%d", x));
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *scanner(void *arg)
{
	redisContext *c = kvsd_connect(&srv);
	static unsigned char seen[STABLE];

	(void)arg;
	while (c && !c->err && hs_running()) {
		char cursor[32] = "0";
		int calls = 0;

		memset(seen, 0, sizeof(seen));
		do {
			redisReply *r = hs_cmd(c, "SSCAN scan %s COUNT 17", cursor);
			if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
				hs_fail("SSCAN reply", "not [cursor, members]");
				freeReplyObject(r);
				break;
			}
			snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
			for (size_t j = 0; j < r->element[1]->elements; j++) {
				const char *m = r->element[1]->element[j]->str;
				if (m[0] != 'x')
					seen[atoi(m + 1)] = 1;
			}
			freeReplyObject(r);
		} while (strcmp(cursor, "0") != 0 && ++calls < 100000);
		for (int i = 0; i < STABLE && !hs_has_failed(); i++)
			if (!seen[i])
				hs_fail("SSCAN under writes",
					"a member present throughout was missed");
		atomic_fetch_add_explicit(&scans, 1, memory_order_relaxed); /* statistic */
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *auditor(void *arg)
{
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	while (c && !c->err && hs_running())
		audit(c);
	if (c)
		redisFree(c);
	return NULL;
}

/* Phase 2's readers: other keys answer exactly, and promptly. */
static void *reader(void *arg)
{
	int id = (int)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	while (c && !c->err && !atomic_load_explicit(&phase2_done, memory_order_relaxed) &&
	       !hs_has_failed()) {
		long long t0 = kvsd_now_ms();
		redisReply *r =
		    (id & 1) ? hs_cmd(c, "GET str:%d", id) : hs_cmd(c, "SISMEMBER small 7");
		long long w = kvsd_now_ms() - t0;

		if (r && (id & 1) && (r->type != REDIS_REPLY_STRING || strcmp(r->str, "value")))
			hs_fail("GET during the big set's life", "wrong value");
		if (r && !(id & 1) && (r->type != REDIS_REPLY_INTEGER || r->integer != 1))
			hs_fail("SISMEMBER during the big set's life", "wrong answer");
		freeReplyObject(r);
		long long prev = atomic_load_explicit(&worst_wait_ms, memory_order_relaxed);
		while (w > prev && !atomic_compare_exchange_weak_explicit(
				       &worst_wait_ms, &prev, w, memory_order_relaxed,
				       memory_order_relaxed)) /* a maximum: publishes nothing */
			;
		atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed); /* statistic */
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* SADD key with members [from, from + n) in one command. */
static void sadd_range(redisContext *c, const char *key, long long from, long long n)
{
	size_t argc = (size_t)n + 2;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *argl = malloc(argc * sizeof(*argl));
	char *buf = malloc((size_t)n * 24);

	argv[0] = "SADD";
	argl[0] = 4;
	argv[1] = key;
	argl[1] = strlen(key);
	for (long long i = 0; i < n; i++) {
		char *p = buf + i * 24;
		argl[i + 2] = (size_t)snprintf(p, 24, "%lld", from + i);
		argv[i + 2] = p;
	}
	redisReply *r = redisCommandArgv(c, (int)argc, argv, argl);
	if (!r)
		hs_fail("SADD batch", c->errstr);
	else if (r->type != REDIS_REPLY_INTEGER || r->integer != n)
		hs_fail("SADD batch", "wrong count");
	freeReplyObject(r);
	free(buf);
	free(argl);
	free(argv);
}

static void expect_int(redisContext *c, long long want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != want) {
		char d[96];
		snprintf(d, sizeof(d), "%s: want %lld, got %s %lld", fmt, want,
			 r ? (r->type == REDIS_REPLY_ERROR ? r->str : "") : "nothing",
			 r ? r->integer : -1);
		hs_fail("phase 2", d);
	}
	freeReplyObject(r);
}

static void phase2(redisContext *c, long long big, long long latency_ms)
{
	pthread_t th[4];
	redisReply *r;
	long long batch = 10000;

	freeReplyObject(hs_cmd(c, "SADD small 1 2 3 7"));
	for (int i = 0; i < 4; i++)
		freeReplyObject(hs_cmd(c, "SET str:%d value", i));
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)i);
	/* the big set from SADD batches */
	for (long long i = 0; i < big && !hs_has_failed(); i += batch)
		sadd_range(c, "big", i, i + batch <= big ? batch : big - i);
	expect_int(c, big, "SCARD big");
	/* bad input: one SADD with `big` arguments (a long command: the readers
	 * keep being served by the other workers) */
	sadd_range(c, "huge", -big / 2, big);
	expect_int(c, big, "SCARD huge");
	expect_int(c, 1, "SISMEMBER huge %lld", -big / 2);
	expect_int(c, 1, "DEL huge");
	/* bad input: huge counts */
	r = hs_cmd(c, "SRANDMEMBER big 9223372036854775807");
	if (r && (r->type != REDIS_REPLY_ARRAY || (long long)r->elements != big))
		hs_fail("SRANDMEMBER huge count", "not the whole set");
	freeReplyObject(r);
	if (!kvsd_bin_is_redis()) { /* Redis would build the reply until memory runs out */
		r = redisCommand(c, "SRANDMEMBER big -9223372036854775807");
		if (!r || r->type != REDIS_REPLY_ERROR)
			hs_fail("SRANDMEMBER huge negative count", "no error");
		freeReplyObject(r);
	}
	r = hs_cmd(c, "SRANDMEMBER big -100000");
	if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != 100000))
		hs_fail("SRANDMEMBER -100000", "wrong length");
	freeReplyObject(r);
	r = hs_cmd(c, "SPOP big 3");
	freeReplyObject(r);
	expect_int(c, big - 3, "SCARD big");
	expect_int(c, 1, "DEL big");
	expect_int(c, 0, "EXISTS big");
	/* a fresh big set popped whole with a huge count */
	sadd_range(c, "big", 0, 50000);
	r = hs_cmd(c, "SPOP big 9223372036854775807");
	if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != 50000))
		hs_fail("SPOP huge count", "not the whole set");
	freeReplyObject(r);
	expect_int(c, 0, "EXISTS big");
	atomic_store_explicit(&phase2_done, 1, memory_order_relaxed); /* a flag, no data */
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if (atomic_load_explicit(&worst_wait_ms, memory_order_relaxed) > latency_ms) {
		char d[64];
		snprintf(d, sizeof(d), "%lld ms", (long long)worst_wait_ms);
		hs_fail("a reader waited too long", d);
	}
}

int main(int argc, char **argv)
{
	int seconds = 3, st;
	long long big = 1000000, latency_ms = 5000;
	pthread_t th[MOVERS + 4];
	int nth = 0;
	char m[32];

	hs_name = "stress_set";

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--big") == 0)
			big = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--latency-ms") == 0)
			latency_ms = atoll(argv[i + 1]);
	}
	if (big < 100000)
		big = 100000;
	signal(SIGPIPE, SIG_IGN);
	setenv("TSAN_OPTIONS", "exitcode=66", 0);
	srv.keep_log = 1;
	if (kvsd_start(&srv,
		       kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", "3", NULL})) {
		fprintf(stderr, "stress_set: FAIL: kvsd did not start\n");
		return 1;
	}
	redisContext *c = kvsd_connect(&srv);
	if (!c || c->err) {
		kvsd_kill(&srv);
		return 1;
	}
	for (int i = 0; i < MEMBERS; i++) {
		member_name(i, m, sizeof(m));
		freeReplyObject(hs_cmd(c, "SADD set:%d %s", i % SETS, m));
	}
	for (int i = 0; i < STABLE; i++)
		freeReplyObject(hs_cmd(c, "SADD scan s%d", i));
	hs_deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	pthread_create(&th[nth++], NULL, churner, (void *)(uintptr_t)77);
	pthread_create(&th[nth++], NULL, scanner, NULL);
	for (int i = 0; i < MOVERS; i++)
		pthread_create(&th[nth++], NULL, mover, (void *)(uintptr_t)(2 * i + 1));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, auditor, NULL);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (!hs_has_failed())
		audit(c);
	long long t0 = kvsd_now_ms();
	if (!hs_has_failed())
		phase2(c, big, latency_ms);
	long long t2 = kvsd_now_ms() - t0;
	redisFree(c);
	st = kvsd_stop(&srv, 60000);
	if (st != 0) {
		kvsd_dump_log(&srv);
		hs_fail("server exit status", NULL);
	}
	kvsd_kill(&srv);
	printf("stress_set: %s: %lld SMOVEs, %lld audits, %lld full SSCANs in %ds; big set of %lld "
	       "built, abused "
	       "and deleted in %lld ms while readers made %lld reads (worst wait %lld ms)\n",
	       hs_has_failed() ? "FAIL" : "ok", (long long)moves, (long long)audits,
	       (long long)scans, seconds, big, t2, (long long)reads, (long long)worst_wait_ms);
	return hs_has_failed() ? 1 : 0;
}
