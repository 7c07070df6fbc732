/*
 * test_concurrency.c — many connections at once against one kvsd with several workers.
 *
 * INCR: 8 threads, each on its own connection, increment 4 shared keys 2,000 times in total;
 * the final counts must be exact (read-modify-write is a CAS loop in the server) and each
 * thread must see its own increments strictly increase per key. Torn values: writers SET
 * self-describing values (key, seed, length, body generated from the seed, checksum) of
 * widely varying sizes while readers GET the same keys and check every value is one whole
 * write — never half of one and half of another, never another key's value.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hr_test.h"

static struct kvsd_proc srv;

static void conc_setup(void)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = kvsd_start(&srv, NULL);
	cr_assert(rc == 0, "kvsd_start: %s", strerror(-rc));
}

static void conc_teardown(void)
{
	int st = kvsd_stop(&srv, 15000);

	cr_expect(st == 0, "server exit status after SIGTERM: %d (want 0)", st);
}

TestSuite(concurrency, .init = conc_setup, .fini = conc_teardown, .timeout = 120);

#define INCR_THREADS 8
#define INCR_PER     2000
#define INCR_KEYS    4

struct incr_arg {
	int id;
	char err[512];
};

static void *incr_worker(void *p)
{
	struct incr_arg *a = p;
	long long last[INCR_KEYS] = {0};
	redisContext *c = kvsd_connect(&srv);

	if (!c || c->err) {
		snprintf(a->err, sizeof(a->err), "connect: %s", c ? c->errstr : "oom");
		goto out;
	}
	for (int i = 0; i < INCR_PER; i++) {
		int k = (i + a->id) % INCR_KEYS;
		redisReply *r = redisCommand(c, "INCR cnt:%d", k);

		if (!r) {
			snprintf(a->err, sizeof(a->err), "thread %d INCR %d: %s", a->id, i,
				 c->errstr);
			goto out;
		}
		if (r->type != REDIS_REPLY_INTEGER || r->integer <= last[k])
			snprintf(a->err, sizeof(a->err), "thread %d INCR cnt:%d: %s after %lld",
				 a->id, k, hr_show(r), last[k]);
		else
			last[k] = r->integer;
		freeReplyObject(r);
		if (a->err[0])
			goto out;
	}
out:
	if (c)
		redisFree(c);
	return NULL;
}

Test(concurrency, incr_totals_exact)
{
	struct incr_arg args[INCR_THREADS];
	pthread_t th[INCR_THREADS];
	redisContext *c;

	for (int t = 0; t < INCR_THREADS; t++) {
		args[t] = (struct incr_arg){.id = t};
		cr_assert(pthread_create(&th[t], NULL, incr_worker, &args[t]) == 0);
	}
	for (int t = 0; t < INCR_THREADS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < INCR_THREADS; t++)
		cr_assert(args[t].err[0] == '\0', "%s", args[t].err);
	c = HR_CONNECT(&srv);
	for (int k = 0; k < INCR_KEYS; k++) {
		char want[32];

		snprintf(want, sizeof(want), "%d", INCR_THREADS * INCR_PER / INCR_KEYS);
		HR_STR(HR_CMD(c, "GET cnt:%d", k), want);
	}
	redisFree(c);
}

#define TORN_KEYS    8
#define TORN_WRITERS 4
#define TORN_READERS 4
#define TORN_SETS    600

static atomic_int torn_writers_left;

struct torn_arg {
	int id;
	long checked;
	char err[512];
};

static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static void torn_body(char *out, size_t len, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[i] = (char)('a' + x % 26);
	}
}

/* "<key>|<seed>|<len>|<body>|<fnv1a of everything before>"; returns its length. */
static size_t torn_make(char *buf, const char *key, uint32_t seed, size_t len)
{
	size_t n = (size_t)sprintf(buf, "%s|%08" PRIx32 "|%zu|", key, seed, len);

	torn_body(buf + n, len, seed);
	n += len;
	n += (size_t)sprintf(buf + n, "|%08" PRIx32, fnv1a(buf, n));
	return n;
}

/* 0 if v is a whole value written for key, else a description in err. */
static int torn_check(const char *key, const char *v, size_t vlen, char *err, size_t errcap,
		      char *scratch)
{
	char k[32];
	unsigned seed;
	size_t len;
	int hdr = 0;

	if (sscanf(v, "%31[^|]|%8x|%zu|%n", k, &seed, &len, &hdr) != 3 || hdr == 0) {
		snprintf(err, errcap, "GET %s: malformed header: %.60s", key, v);
		return -1;
	}
	if (strcmp(k, key) != 0) {
		snprintf(err, errcap, "GET %s returned a value written for %s", key, k);
		return -1;
	}
	if (vlen != (size_t)hdr + len + 9) {
		snprintf(err, errcap, "GET %s: length %zu, header says %zu", key, vlen,
			 (size_t)hdr + len + 9);
		return -1;
	}
	if (torn_make(scratch, key, seed, len) != vlen || memcmp(scratch, v, vlen) != 0) {
		snprintf(err, errcap, "GET %s: torn value (seed %08x, %zu bytes)", key, seed, vlen);
		return -1;
	}
	return 0;
}

static void *torn_writer(void *p)
{
	struct torn_arg *a = p;
	redisContext *c = kvsd_connect(&srv);
	char *buf = malloc(70000);
	uint32_t rng = 0x9e3779b9u * (uint32_t)(a->id + 1);

	if (!c || c->err || !buf) {
		snprintf(a->err, sizeof(a->err), "writer setup: %s", c ? c->errstr : "oom");
		goto out;
	}
	for (int i = 0; i < TORN_SETS; i++) {
		char key[32];
		size_t len, n;
		redisReply *r;

		rng = rng * 1664525u + 1013904223u;
		snprintf(key, sizeof(key), "tv:%u", (rng >> 8) % TORN_KEYS);
		/* Mostly small, sometimes up to 64 KB, so one value spans several reads. */
		len = (rng >> 20) % 16 == 0 ? (rng >> 4) % 65000 : (rng >> 4) % 300;
		n = torn_make(buf, key, rng, len);
		r = redisCommand(c, "SET %s %b", key, buf, n);
		if (!r || r->type != REDIS_REPLY_STATUS) {
			snprintf(a->err, sizeof(a->err), "writer %d SET %s: %s", a->id, key,
				 r ? hr_show(r) : c->errstr);
			if (r)
				freeReplyObject(r);
			goto out;
		}
		freeReplyObject(r);
		a->checked++;
	}
out:
	/* relaxed: a stop flag for the readers; it publishes no data */
	atomic_fetch_sub_explicit(&torn_writers_left, 1, memory_order_relaxed);
	free(buf);
	if (c)
		redisFree(c);
	return NULL;
}

static void *torn_reader(void *p)
{
	struct torn_arg *a = p;
	redisContext *c = kvsd_connect(&srv);
	char *scratch = malloc(70000);
	unsigned i = (unsigned)a->id;

	if (!c || c->err || !scratch) {
		snprintf(a->err, sizeof(a->err), "reader setup: %s", c ? c->errstr : "oom");
		goto out;
	}
	/* relaxed: pairs with nothing; the readers only need to stop eventually */
	while (atomic_load_explicit(&torn_writers_left, memory_order_relaxed) > 0) {
		char key[32];
		redisReply *r;

		snprintf(key, sizeof(key), "tv:%u", i++ % TORN_KEYS);
		r = redisCommand(c, "GET %s", key);
		if (!r) {
			snprintf(a->err, sizeof(a->err), "reader %d GET %s: %s", a->id, key,
				 c->errstr);
			goto out;
		}
		if (r->type == REDIS_REPLY_STRING) {
			torn_check(key, r->str, r->len, a->err, sizeof(a->err), scratch);
			a->checked++;
		} else if (r->type != REDIS_REPLY_NIL) {
			snprintf(a->err, sizeof(a->err), "reader GET %s: %s", key, hr_show(r));
		}
		freeReplyObject(r);
		if (a->err[0])
			goto out;
	}
out:
	free(scratch);
	if (c)
		redisFree(c);
	return NULL;
}

Test(concurrency, no_torn_values)
{
	struct torn_arg args[TORN_WRITERS + TORN_READERS];
	pthread_t th[TORN_WRITERS + TORN_READERS];
	long reads = 0;

	/* relaxed: pthread_create orders this store before every thread's first load */
	atomic_store_explicit(&torn_writers_left, TORN_WRITERS, memory_order_relaxed);
	for (int t = 0; t < TORN_WRITERS + TORN_READERS; t++) {
		args[t] = (struct torn_arg){.id = t};
		cr_assert(pthread_create(&th[t], NULL, t < TORN_WRITERS ? torn_writer : torn_reader,
					 &args[t]) == 0);
	}
	for (int t = 0; t < TORN_WRITERS + TORN_READERS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < TORN_WRITERS + TORN_READERS; t++) {
		cr_assert(args[t].err[0] == '\0', "%s", args[t].err);
		if (t >= TORN_WRITERS)
			reads += args[t].checked;
	}
	cr_assert(reads > 0, "readers checked no values");
	cr_log_info("no_torn_values: %ld values verified", reads);
}
