/*
 * stress_list_compress.c — lists with list-compress-depth on, written and read at once,
 * against a real kvsd ($KVSD_BIN, started with --list-compress-depth 1 --threads 3).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is instrumented
 * too and a race report makes it fail). Every element carries its own check: "e:<id>:" then
 * a padding derived from the id (compressible), so a reader that met a torn or half-written
 * chunk would see a malformed element. For --seconds S (default 3), at once:
 *  - 2 editors change a long list (ring, RING elements, many inner chunks compressed) without
 *    changing its length: LSET at random indexes, rotations (RPOPLPUSH / LMOVE of the list onto
 *    itself) and LINSERT + LREM pairs inside MULTI/EXEC;
 *  - 3 readers read it with LRANGE 0 -1 (exactly RING well-formed elements, each time), LRANGE
 *    of a middle slice, LINDEX and LPOS, all while chunks are being compressed, decompressed
 *    and replaced;
 *  - a producer RPUSHes increasing ids onto a queue and a consumer LPOPs them with COUNT: the
 *    ids come out in order, none lost or doubled (the queue grows long enough for its inner
 *    chunks to be compressed, so pops reach compressed chunks);
 *  - a toggler switches list-compress-depth between 1, 2 and 0 now and then (a change applies
 *    to a list as it is next modified).
 * Then: the ring still has RING well-formed elements, the queue drains in order, SIGTERM,
 * exit status 0. Prints one summary line; exits 1 with a message on the first violation.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "hr_stress.h"
#include "kvsd_proc.h"

#define RING	3000
#define EDITORS 2
#define READERS 3

static struct kvsd_proc srv;
/* statistics only, summed by threads and read after they are joined (pthread_join orders
 * them); relaxed: they publish nothing */
static atomic_llong edits, reads, queued, dequeued, toggles;
/* written by the producer only; the consumer reads it after joining */
static long long produced;

/* An element for id: "e:<id>:" then 24..87 bytes of a pattern fixed by the id. */
static int make_elem(char *buf, size_t cap, long long id)
{
	int n = snprintf(buf, cap, "e:%lld:", id);
	int pad = 24 + (int)(id % 64);
	for (int i = 0; i < pad && (size_t)n + 1 < cap; i++)
		buf[n++] = "abcd"[(id + i / 8) % 4];
	buf[n] = '\0';
	return n;
}

static int elem_ok(const char *p, size_t len)
{
	char want[128];
	long long id;

	if (len < 4 || len >= sizeof(want) || p[0] != 'e' || p[1] != ':')
		return 0;
	id = atoll(p + 2);
	return (size_t)make_elem(want, sizeof(want), id) == len && memcmp(want, p, len) == 0;
}

static void check_elems(const redisReply *r, size_t want, const char *what)
{
	char buf[160];

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		hs_fail(what, "not an array");
		return;
	}
	if (want && r->elements != want) {
		snprintf(buf, sizeof(buf), "%zu elements, expected %zu", r->elements, want);
		hs_fail(what, buf);
		return;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_STRING || !elem_ok(e->str, e->len)) {
			snprintf(buf, sizeof(buf), "element %zu malformed: %.60s", i,
				 e->type == REDIS_REPLY_STRING ? e->str : "(not a string)");
			hs_fail(what, buf);
			return;
		}
	}
}

static void *editor(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);
	char el[128], el2[128];

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		long long id = 1000000 + rand_r(&seed) % 100000;
		int n = make_elem(el, sizeof(el), id);
		redisReply *r;
		switch (rand_r(&seed) % 4) {
		case 0:
			r = hs_cmd(c, "LSET ring %d %b", rand_r(&seed) % RING, el, (size_t)n);
			break;
		case 1:
			r = hs_cmd(c, "RPOPLPUSH ring ring");
			break;
		case 2:
			r = hs_cmd(c, "LMOVE ring ring LEFT RIGHT");
			break;
		default: {
			/* a fresh pivot put at a random index, an element inserted after it,
			 * then both removed again: the length is back where it was */
			long long pid = 2000000 + rand_r(&seed) % 100000;
			int pn = make_elem(el2, sizeof(el2), pid);
			redisAppendCommand(c, "MULTI");
			redisAppendCommand(c, "LSET ring %d %b", rand_r(&seed) % RING, el2,
					   (size_t)pn);
			redisAppendCommand(c, "LINSERT ring AFTER %b %b", el2, (size_t)pn, el,
					   (size_t)n);
			redisAppendCommand(c, "LREM ring 1 %b", el, (size_t)n);
			redisAppendCommand(c, "EXEC");
			for (int i = 0; i < 5; i++) {
				if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
					hs_fail("connection lost", c->errstr);
					break;
				}
				if (i == 4 && (r->type != REDIS_REPLY_ARRAY || r->elements != 3))
					hs_fail("EXEC reply", NULL);
				freeReplyObject(r);
			}
			r = NULL;
		}
		}
		freeReplyObject(r);
		atomic_fetch_add_explicit(&edits, 1, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);
	char el[128];

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		redisReply *r;
		int k = rand_r(&seed) % 4;
		if (k == 0) {
			r = hs_cmd(c, "LRANGE ring 0 -1");
			check_elems(r, RING, "LRANGE ring 0 -1");
		} else if (k == 1) {
			int a = rand_r(&seed) % RING;
			r = hs_cmd(c, "LRANGE ring %d %d", a, a + 200);
			check_elems(r, 0, "LRANGE slice");
		} else if (k == 2) {
			r = hs_cmd(c, "LINDEX ring %d", rand_r(&seed) % RING);
			if (r && (r->type != REDIS_REPLY_STRING || !elem_ok(r->str, r->len)))
				hs_fail("LINDEX", r->type == REDIS_REPLY_STRING ? r->str : "type");
		} else {
			int n = make_elem(el, sizeof(el), rand_r(&seed) % RING);
			r = hs_cmd(c, "LPOS ring %b COUNT 0", el, (size_t)n);
			if (r && r->type != REDIS_REPLY_ARRAY)
				hs_fail("LPOS", NULL);
		}
		freeReplyObject(r);
		atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *producer(void *arg)
{
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		/* a batch of ten, in order */
		const char *v[12];
		size_t l[12];
		char store[10][128];
		v[0] = "RPUSH";
		l[0] = 5;
		v[1] = "queue";
		l[1] = 5;
		for (int i = 0; i < 10; i++) {
			l[i + 2] = (size_t)make_elem(store[i], sizeof(store[i]), produced + i);
			v[i + 2] = store[i];
		}
		redisReply *r = redisCommandArgv(c, 12, v, l);
		if (!r || r->type != REDIS_REPLY_INTEGER)
			hs_fail("RPUSH queue", r && r->type == REDIS_REPLY_ERROR ? r->str : NULL);
		freeReplyObject(r);
		produced += 10;
		atomic_fetch_add_explicit(&queued, 10, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static long long next_id; /* the consumer's and then main's: the next id due */
static long long maxq;	  /* the consumer's, then main's: the longest queue seen */

static int consume(redisContext *c, int count)
{
	char buf[160];
	redisReply *r = hs_cmd(c, "LPOP queue %d", count);
	int got = 0;

	if (r && r->type == REDIS_REPLY_ARRAY) {
		check_elems(r, 0, "LPOP queue");
		for (size_t i = 0; i < r->elements && !hs_has_failed(); i++) {
			long long id = atoll(r->element[i]->str + 2);
			if (id != next_id) {
				snprintf(buf, sizeof(buf), "id %lld, expected %lld", id, next_id);
				hs_fail("queue order", buf);
			}
			next_id++;
			got++;
		}
	} else if (r && r->type != REDIS_REPLY_NIL) {
		hs_fail("LPOP queue reply type", NULL);
	}
	freeReplyObject(r);
	return got;
}

static void *consumer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	redisContext *c = kvsd_connect(&srv);

	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		/* small bites while the queue is short (it grows long enough for inner
		 * chunks to be compressed), big ones through the compressed middle once it
		 * is long */
		redisReply *r = hs_cmd(c, "LLEN queue");
		long long len = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
		freeReplyObject(r);
		int n = consume(c, len > 1000 ? 300 + rand_r(&seed) % 600 : 1 + rand_r(&seed) % 5);
		if (len > maxq)
			maxq = len;
		atomic_fetch_add_explicit(&dequeued, n, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void *toggler(void *arg)
{
	redisContext *c = kvsd_connect(&srv);
	static const char *const depths[] = {"2", "1", "0", "1"};
	int i = 0;

	(void)arg;
	if (!c)
		hs_fail("connect", NULL);
	while (c && hs_running()) {
		struct timespec ts = {0, 300 * 1000 * 1000};
		nanosleep(&ts, NULL);
		freeReplyObject(hs_cmd(c, "CONFIG SET list-compress-depth %s", depths[i++ % 4]));
		atomic_fetch_add_explicit(&toggles, 1, memory_order_relaxed);
	}
	if (c)
		redisFree(c);
	return NULL;
}

static void fill_ring(redisContext *c)
{
	char el[128];
	for (int i = 0; i < RING; i++) {
		int n = make_elem(el, sizeof(el), i);
		freeReplyObject(redisCommand(c, "RPUSH ring %b", el, (size_t)n));
	}
}

int main(int argc, char **argv)
{
	int seconds = 3, st;
	pthread_t th[EDITORS + READERS + 3];
	int nth = 0;

	hs_name = "stress_list_compress";
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
	signal(SIGPIPE, SIG_IGN);
	setenv("TSAN_OPTIONS", "exitcode=66", 0);
	srv.keep_log = 1;
	if (kvsd_start(&srv,
		       (const char *[]){"--list-compress-depth", "1", "--threads", "3", NULL})) {
		fprintf(stderr, "stress_list_compress: FAIL: kvsd did not start\n");
		return 1;
	}
	redisContext *c = kvsd_connect(&srv);
	if (!c) {
		kvsd_kill(&srv);
		return 1;
	}
	fill_ring(c);
	hs_deadline_ms = kvsd_now_ms() + seconds * 1000LL;
	for (int i = 0; i < EDITORS; i++)
		pthread_create(&th[nth++], NULL, editor, (void *)(uintptr_t)(7 * i + 1));
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[nth++], NULL, reader, (void *)(uintptr_t)(100 + i));
	pthread_create(&th[nth++], NULL, producer, NULL);
	pthread_create(&th[nth++], NULL, consumer, (void *)(uintptr_t)55);
	pthread_create(&th[nth++], NULL, toggler, NULL);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (!hs_has_failed()) {
		redisReply *r = hs_cmd(c, "LRANGE ring 0 -1");
		check_elems(r, RING, "final LRANGE ring");
		freeReplyObject(r);
		while (!hs_has_failed() && consume(c, 500) > 0)
			;
		if (!hs_has_failed() && next_id != produced) {
			char buf[96];
			snprintf(buf, sizeof(buf), "%lld consumed, %lld produced", next_id,
				 produced);
			hs_fail("queue drained", buf);
		}
	}
	redisFree(c);
	st = kvsd_stop(&srv, 30000);
	if (st != 0) {
		kvsd_dump_log(&srv);
		hs_fail("server exit status", NULL);
	}
	kvsd_kill(&srv);
	printf("stress_list_compress: %s: %lld edits, %lld reads, %lld queued, %lld dequeued, "
	       "%lld depth changes, queue up to %lld in %ds\n",
	       hs_has_failed() ? "FAIL" : "ok",
	       (long long)atomic_load_explicit(&edits, memory_order_relaxed),
	       (long long)atomic_load_explicit(&reads, memory_order_relaxed),
	       (long long)atomic_load_explicit(&queued, memory_order_relaxed),
	       (long long)atomic_load_explicit(&dequeued, memory_order_relaxed),
	       (long long)atomic_load_explicit(&toggles, memory_order_relaxed), maxq, seconds);
	return hs_has_failed() ? 1 : 0;
}
