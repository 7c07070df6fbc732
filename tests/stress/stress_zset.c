/*
 * stress_zset.c — sorted sets under concurrent writes against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is instrumented
 * too and a race report makes it fail). For --seconds S (default 3):
 *  - writers ZADD / ZREM / ZINCRBY random members, and ZPOPMIN, of a sorted set of about
 *    1000 members (a skiplist, whose low-end pops leave stale by-member records for a
 *    sweep: the readers' ZSCORE check below sees a popped member read back), and of a small
 *    one that ZADD grows past the listpack threshold and ZRANGESTORE small small 0 N
 *    rebuilds (a listpack again when N < 128), so it changes encoding back and forth;
 *  - readers run ZRANGE key 0 -1 WITHSCORES and check that it is sorted by (score, member),
 *    without a duplicate member, and, inside MULTI, that ZCARD agrees and that ZSCORE of
 *    some members returned equals the score ZRANGE gave them;
 *  - hot writers ZINCRBY one member of a third key by 1, from several connections: the final
 *    score equals the number of increments answered (no lost update, no livelock).
 * At the end: the hot total is exact, SIGTERM, exit status 0.
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

#define MEMBERS 1200 /* pool; about 1000 present */

static struct kvsd_proc srv;
static atomic_llong writes, reads, hot_incrs;

static void *writer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		const char *key = rand_r(&seed) % 4 ? "zs" : "small";
		int pool = key[0] == 'z' ? MEMBERS : 160;
		int m = rand_r(&seed) % pool, op = rand_r(&seed) % 11;
		redisReply *r;

		if (op < 4)
			r = hs_cmd(c, "ZADD %s %d.%d m%d", key, rand_r(&seed) % 2000 - 1000,
				   rand_r(&seed) % 10, m);
		else if (op < 6)
			r = hs_cmd(c, "ZREM %s m%d m%d", key, m, rand_r(&seed) % pool);
		else if (op < 9)
			r = hs_cmd(c, "ZINCRBY %s %d m%d", key, rand_r(&seed) % 21 - 10, m);
		else if (op == 10)
			/* from the low end: popped members' by-member records
			 * stay until a sweep, and must read as gone */
			r = hs_cmd(c, "ZPOPMIN %s %d", key, 1 + rand_r(&seed) % 2);
		else if (key[0] == 's')
			r = hs_cmd(c, "ZRANGESTORE small small 0 %d", 100 + rand_r(&seed) % 60);
		else
			r = hs_cmd(c, "ZADD zs -0 m%d 0 m%d", m, rand_r(&seed) % pool);
		freeReplyObject(r);
		atomic_fetch_add(&writes, 1);
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* (score, member) order: scores as doubles, then memcmp, the shorter first */
static int before(double sa, const redisReply *ma, double sb, const redisReply *mb)
{
	size_t n = ma->len < mb->len ? ma->len : mb->len;
	int c;

	if (sa != sb)
		return sa < sb;
	c = memcmp(ma->str, mb->str, n);
	return c ? c < 0 : ma->len < mb->len;
}

static int cmp_member(const void *x, const void *y)
{
	const redisReply *a = *(redisReply *const *)x, *b = *(redisReply *const *)y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, n);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* A ZRANGE ... WITHSCORES reply (RESP2: flat) is sorted and has no duplicate. */
static int check_range(const redisReply *r, const char *key)
{
	char buf[160];
	size_t n;
	redisReply **ms;

	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		hs_fail("ZRANGE shape", key);
		return 0;
	}
	n = r->elements / 2;
	for (size_t i = 1; i < n; i++) {
		double a = strtod(r->element[2 * i - 1]->str, NULL);
		double b = strtod(r->element[2 * i + 1]->str, NULL);

		if (!before(a, r->element[2 * i - 2], b, r->element[2 * i])) {
			snprintf(buf, sizeof(buf), "%s: %s %s then %s %s", key,
				 r->element[2 * i - 2]->str, r->element[2 * i - 1]->str,
				 r->element[2 * i]->str, r->element[2 * i + 1]->str);
			hs_fail("ZRANGE not sorted", buf);
			return 0;
		}
	}
	ms = malloc((n ? n : 1) * sizeof(*ms));
	for (size_t i = 0; i < n; i++)
		ms[i] = r->element[2 * i];
	qsort(ms, n, sizeof(*ms), cmp_member);
	for (size_t i = 1; i < n; i++) {
		if (cmp_member(&ms[i - 1], &ms[i]) == 0) {
			snprintf(buf, sizeof(buf), "%s: %s", key, ms[i]->str);
			hs_fail("ZRANGE duplicate member", buf);
			free(ms);
			return 0;
		}
	}
	free(ms);
	return 1;
}

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		const char *key = rand_r(&seed) % 3 ? "zs" : "small";
		redisReply *r;

		if (rand_r(&seed) % 2) {
			r = hs_cmd(c, "ZRANGE %s 0 -1 WITHSCORES", key);
			if (r && r->type == REDIS_REPLY_ARRAY)
				check_range(r, key);
			freeReplyObject(r);
		} else {
			/* one snapshot: the range, its size, and ZSCORE of three of its
			 * members (picked from the pool: present or not) */
			int m[3];

			for (int i = 0; i < 3; i++)
				m[i] = rand_r(&seed) % (key[0] == 'z' ? MEMBERS : 160);
			redisAppendCommand(c, "MULTI");
			redisAppendCommand(c, "ZRANGE %s 0 -1 WITHSCORES", key);
			redisAppendCommand(c, "ZCARD %s", key);
			for (int i = 0; i < 3; i++)
				redisAppendCommand(c, "ZSCORE %s m%d", key, m[i]);
			redisAppendCommand(c, "EXEC");
			for (int i = 0; i < 6; i++) {
				void *q = NULL;
				if (redisGetReply(c, &q) != REDIS_OK) {
					hs_fail("connection lost", c->errstr);
					break;
				}
				freeReplyObject(q);
			}
			void *rv = NULL;
			if (hs_has_failed() || redisGetReply(c, &rv) != REDIS_OK) {
				hs_fail("connection lost", c->errstr);
				break;
			}
			r = rv;
			if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
				hs_fail("EXEC shape", key);
			} else if (check_range(r->element[0], key)) {
				redisReply *rg = r->element[0];
				char name[16], buf[200];

				if ((size_t)r->element[1]->integer != rg->elements / 2)
					hs_fail("ZCARD differs from ZRANGE's count in one MULTI",
						key);
				for (int i = 0; i < 3; i++) {
					redisReply *s = r->element[2 + i];
					const char *found = NULL;
					int len = snprintf(name, sizeof(name), "m%d", m[i]);

					for (size_t j = 0; j < rg->elements; j += 2)
						if (rg->element[j]->len == (size_t)len &&
						    memcmp(rg->element[j]->str, name,
							   (size_t)len) == 0)
							found = rg->element[j + 1]->str;
					if ((s->type == REDIS_REPLY_NIL) != (found == NULL) ||
					    (found && strcmp(found, s->str) != 0)) {
						snprintf(
						    buf, sizeof(buf), "%s %s: ZRANGE %s, ZSCORE %s",
						    key, name, found ? found : "(absent)",
						    s->type == REDIS_REPLY_NIL ? "(nil)" : s->str);
						hs_fail("ZSCORE differs from ZRANGE in one MULTI",
							buf);
					}
				}
			}
			freeReplyObject(r);
		}
		atomic_fetch_add(&reads, 1);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *hot(void *arg)
{
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		redisReply *r = hs_cmd(c, "ZINCRBY hot 1 counter");

		if (r && r->type == REDIS_REPLY_STRING)
			atomic_fetch_add(&hot_incrs, 1);
		freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = 3, hots = 6, st;
	pthread_t th[80];
	int nth = 0;
	redisReply *r;

	hs_name = "stress_zset";

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--hot") == 0)
			hots = atoi(argv[i + 1]);
	}
	if (hots < 1 || hots > 64)
		hots = 6;
	signal(SIGPIPE, SIG_IGN);
	setenv("TSAN_OPTIONS", "exitcode=66", 0);
	srv.keep_log = 1;
	if (kvsd_start(&srv,
		       kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", "3", NULL})) {
		fprintf(stderr, "stress_zset: FAIL: kvsd did not start\n");
		return 1;
	}
	redisContext *c = kvsd_connect(&srv);
	if (!c) {
		kvsd_kill(&srv);
		return 1;
	}
	for (int i = 0; i < 1000; i++)
		freeReplyObject(redisCommand(c, "ZADD zs %d m%d", i, i));
	for (int i = 0; i < 100; i++)
		freeReplyObject(redisCommand(c, "ZADD small %d m%d", i % 7, i));
	/* a few members with 70-byte names make zs's member tree hold
	 * out-of-line elements too */
	freeReplyObject(redisCommand(c, "ZADD zs 5 %070d 6 %071d", 1, 2));
	freeReplyObject(redisCommand(c, "ZADD hot 0 other 0 counter"));
	hs_deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < 3; i++)
		pthread_create(&th[nth++], NULL, writer, (void *)(uintptr_t)(7 * i + 1));
	for (int i = 0; i < 3; i++)
		pthread_create(&th[nth++], NULL, reader, (void *)(uintptr_t)(100 + i));
	for (int i = 0; i < hots; i++)
		pthread_create(&th[nth++], NULL, hot, NULL);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	r = redisCommand(c, "ZSCORE hot counter");
	if (!hs_has_failed() &&
	    (!r || r->type != REDIS_REPLY_STRING || atoll(r->str) != atomic_load(&hot_incrs))) {
		char buf[96];

		snprintf(buf, sizeof(buf), "score %s, %lld increments answered",
			 r && r->str ? r->str : "?", (long long)atomic_load(&hot_incrs));
		hs_fail("hot ZINCRBY lost an update", buf);
	}
	freeReplyObject(r);
	r = redisCommand(c, "ZRANGE zs 0 -1 WITHSCORES");
	if (!hs_has_failed() && r)
		check_range(r, "zs (final)");
	freeReplyObject(r);
	redisFree(c);
	st = kvsd_stop(&srv, 30000);
	if (st != 0) {
		kvsd_dump_log(&srv);
		hs_fail("server exit status", NULL);
	}
	kvsd_kill(&srv);
	printf("stress_zset: %s: %lld writes, %lld reads, %lld hot ZINCRBYs in %ds\n",
	       hs_has_failed() ? "FAIL" : "ok", (long long)writes, (long long)reads,
	       (long long)hot_incrs, seconds);
	return hs_has_failed() ? 1 : 0;
}
