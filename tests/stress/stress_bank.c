/*
 * stress_bank.c — transactions under contention against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is instrumented
 * too and a race report makes it fail). For --seconds S (default 3):
 *  - tellers move random amounts between ACCOUNTS balance keys, half with WATCH a b / GET /
 *    MULTI DECRBY INCRBY EXEC retried until EXEC succeeds, half with a bare MULTI/EXEC;
 *  - auditors sum every balance with MGET inside MULTI (also led by CLIENT SETNAME, which
 *    makes EXEC run exclusively) and with a bare MGET: the total never changes;
 *  - movers run a RENAMENX storm over SLOTS keys holding TOKENS distinct tokens, and MSET /
 *    DEL pairs; auditors check in MULTI that exactly TOKENS slots exist and hold distinct
 *    tokens (a RENAME never loses or duplicates a key), and that each MSET pair is whole.
 * At the end: the total and the token set are exact, SIGTERM, exit status 0.
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

#include "kvsd_proc.h"

#define ACCOUNTS 16
#define INITIAL	 1000
#define SLOTS	 24
#define TOKENS	 8

static struct kvsd_proc srv;
static long long deadline_ms;
static atomic_int failed;
static atomic_llong transfers, watch_aborts, audits, moves;

static void fail(const char *what, const char *detail)
{
	if (!atomic_exchange(&failed, 1))
		fprintf(stderr, "stress_bank: FAIL: %s%s%s\n", what, detail ? ": " : "",
			detail ? detail : "");
}

static int running(void)
{
	return !atomic_load(&failed) && kvsd_now_ms() < deadline_ms;
}

static redisContext *connect_or_fail(void)
{
	redisContext *c = kvsd_connect(&srv);
	if (!c)
		fail("connect", NULL);
	return c;
}

static redisReply *cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		fail("connection lost", c->errstr);
	else if (r->type == REDIS_REPLY_ERROR)
		fail("error reply", r->str);
	return r;
}

static void *teller(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = connect_or_fail();

	while (c && running()) {
		int a = rand_r(&seed) % ACCOUNTS, b = rand_r(&seed) % ACCOUNTS,
		    x = rand_r(&seed) % 50;
		redisReply *r;
		if (a == b)
			continue;
		if (seed & 1) { /* optimistic: WATCH, read, write if unchanged */
			for (;;) {
				freeReplyObject(cmd(c, "WATCH bal:%d bal:%d", a, b));
				r = cmd(c, "GET bal:%d", a);
				long long va = r && r->str ? atoll(r->str) : 0;
				freeReplyObject(r);
				if (va < x) { /* never overdraw: read-dependent write */
					freeReplyObject(cmd(c, "UNWATCH"));
					break;
				}
				freeReplyObject(cmd(c, "MULTI"));
				freeReplyObject(cmd(c, "DECRBY bal:%d %d", a, x));
				freeReplyObject(cmd(c, "INCRBY bal:%d %d", b, x));
				r = cmd(c, "EXEC");
				int ok = r && r->type == REDIS_REPLY_ARRAY;
				int null =
				    r && (r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_NIL);
				freeReplyObject(r);
				if (ok) {
					atomic_fetch_add(&transfers, 1);
					break;
				}
				if (!null || atomic_load(&failed))
					break;
				atomic_fetch_add(&watch_aborts, 1);
			}
		} else {
			redisAppendCommand(c, "MULTI");
			redisAppendCommand(c, "DECRBY bal:%d %d", a, x);
			redisAppendCommand(c, "INCRBY bal:%d %d", b, x);
			redisAppendCommand(c, "EXEC");
			for (int i = 0; i < 4; i++) {
				if (redisGetReply(c, (void **)&r) != REDIS_OK) {
					fail("connection lost", c->errstr);
					break;
				}
				if (i == 3 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))
					fail("EXEC without WATCH did not run", NULL);
				freeReplyObject(r);
			}
			atomic_fetch_add(&transfers, 1);
		}
		seed = seed * 1103515245u + 12345u;
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *mover(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = connect_or_fail();

	for (long i = 0; c && running(); i++) {
		int s = rand_r(&seed) % SLOTS, d = rand_r(&seed) % SLOTS;
		redisReply *r = redisCommand(c, "RENAMENX slot:%d slot:%d", s, d);
		if (!r)
			fail("connection lost", c->errstr);
		else if (r->type == REDIS_REPLY_ERROR && strcmp(r->str, "ERR no such key") != 0)
			fail("RENAMENX", r->str);
		freeReplyObject(r);
		atomic_fetch_add(&moves, 1);
		/* an MSET pair that auditors must always see whole, and its removal */
		if (i % 4 == 0)
			freeReplyObject(cmd(c, "MSET pair:a %ld pair:b %ld", i, i));
		else if (i % 4 == 2)
			freeReplyObject(cmd(c, "DEL pair:a pair:b"));
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* The checks of one audit: the three MGET replies (balances, slots, pair). */
static void check_audit(redisReply **mg)
{
	char buf[64];
	long long sum = 0;

	for (size_t k = 0; k < mg[0]->elements; k++)
		sum += mg[0]->element[k]->str ? atoll(mg[0]->element[k]->str) : 0;
	if (sum != (long long)ACCOUNTS * INITIAL) {
		snprintf(buf, sizeof(buf), "total %lld", sum);
		fail("bank total changed", buf);
	}
	int seen[TOKENS] = {0}, n = 0;
	for (size_t k = 0; k < mg[1]->elements; k++) {
		const char *v = mg[1]->element[k]->str;
		if (!v)
			continue;
		int t = atoi(v + 4); /* "tok:N" */
		n++;
		if (t < 0 || t >= TOKENS || seen[t]++)
			fail("token duplicated or foreign", v);
	}
	if (n != TOKENS) {
		snprintf(buf, sizeof(buf), "%d tokens", n);
		fail("RENAMENX lost or duplicated a key", buf);
	}
	redisReply *pa = mg[2]->element[0], *pb = mg[2]->element[1];
	if ((pa->str == NULL) != (pb->str == NULL) || (pa->str && strcmp(pa->str, pb->str) != 0))
		fail("half an MSET/DEL pair seen", pa->str ? pa->str : pb->str);
}

/*
 * One audit, in one of three forms (by `form`): the three MGETs in one
 * MULTI; the same MULTI led by CLIENT SETNAME, a command with an effect
 * outside the map, so that EXEC runs exclusively (storage/db.h); or three
 * bare MGETs, each of which must read one state by itself.
 */
static void audit(redisContext *c, int form)
{
	redisReply *r, *mg[3] = {NULL, NULL, NULL};
	int bare = form == 2, named = form == 1;
	int nreplies = bare ? 3 : 5 + named;

	if (!bare)
		redisAppendCommand(c, "MULTI");
	if (named)
		redisAppendCommand(c, "CLIENT SETNAME auditor");
	redisAppendCommand(c, "MGET bal:0 bal:1 bal:2 bal:3 bal:4 bal:5 bal:6 bal:7 bal:8 bal:9 "
			      "bal:10 bal:11 bal:12 bal:13 bal:14 bal:15");
	redisAppendCommand(c, "MGET slot:0 slot:1 slot:2 slot:3 slot:4 slot:5 slot:6 slot:7 "
			      "slot:8 slot:9 slot:10 slot:11 slot:12 slot:13 slot:14 slot:15 "
			      "slot:16 slot:17 slot:18 slot:19 slot:20 slot:21 slot:22 slot:23");
	redisAppendCommand(c, "MGET pair:a pair:b");
	if (!bare)
		redisAppendCommand(c, "EXEC");
	for (int i = 0; i < nreplies; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			fail("connection lost", c->errstr);
			return;
		}
		if (bare) {
			if (r->type != REDIS_REPLY_ARRAY)
				fail("MGET reply", NULL);
			mg[i] = r;
			continue;
		}
		if (i < nreplies - 1) {
			freeReplyObject(r);
			continue;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)(3 + named)) {
			fail("EXEC reply", NULL);
			freeReplyObject(r);
			return;
		}
		check_audit(r->element + named);
		freeReplyObject(r);
	}
	if (bare) {
		check_audit(mg);
		for (int i = 0; i < 3; i++)
			freeReplyObject(mg[i]);
	}
	atomic_fetch_add(&audits, 1);
}

static void *auditor(void *arg)
{
	redisContext *c = connect_or_fail();

	(void)arg;
	for (int form = 0; c && running(); form = (form + 1) % 3)
		audit(c, form);
	if (c)
		redisFree(c);
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = 3, tellers = 4, st;
	pthread_t th[16];
	int nth = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tellers") == 0)
			tellers = atoi(argv[i + 1]);
	}
	if (tellers < 1 || tellers > 10)
		tellers = 4;
	signal(SIGPIPE, SIG_IGN);
	setenv("TSAN_OPTIONS", "exitcode=66", 0);
	srv.keep_log = 1;
	if (kvsd_start(&srv,
		       kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", "3", NULL})) {
		fprintf(stderr, "stress_bank: FAIL: kvsd did not start\n");
		return 1;
	}
	redisContext *c = kvsd_connect(&srv);
	if (!c) {
		kvsd_kill(&srv);
		return 1;
	}
	for (int i = 0; i < ACCOUNTS; i++)
		freeReplyObject(redisCommand(c, "SET bal:%d %d", i, INITIAL));
	for (int i = 0; i < TOKENS; i++)
		freeReplyObject(redisCommand(c, "SET slot:%d tok:%d", i, i));
	deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < tellers; i++)
		pthread_create(&th[nth++], NULL, teller, (void *)(uintptr_t)(2 * i + 1 + (i & 1)));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, mover, (void *)(uintptr_t)(100 + i));
	for (int i = 0; i < 2; i++)
		pthread_create(&th[nth++], NULL, auditor, NULL);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (!atomic_load(&failed))
		audit(c, 0);
	redisFree(c);
	st = kvsd_stop(&srv, 30000);
	if (st != 0) {
		kvsd_dump_log(&srv);
		fail("server exit status", NULL);
	}
	kvsd_kill(&srv);
	printf("stress_bank: %s: %lld transfers (%lld WATCH aborts retried), %lld audits, "
	       "%lld renames in %ds\n",
	       atomic_load(&failed) ? "FAIL" : "ok", (long long)transfers, (long long)watch_aborts,
	       (long long)audits, (long long)moves, seconds);
	return atomic_load(&failed) ? 1 : 0;
}
