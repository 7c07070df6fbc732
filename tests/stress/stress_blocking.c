/*
 * stress_blocking.c — blocking pops under concurrency against a real kvsd ($KVSD_BIN).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is
 * instrumented and a race report makes it fail). For --seconds S (default 3):
 *  - producers push unique elements ("<producer>:<seq>") onto a few lists (LPUSH / RPUSH,
 *    one or several per command) and sorted sets (ZADD);
 *  - consumers pop them with BLPOP / BRPOP / BLMPOP ... COUNT n over all the lists, and
 *    BZPOPMIN over all the sorted sets, with short timeouts (many expire) or none; some
 *    send a blocking pop and disconnect before the reply (at most COUNT elements may be
 *    lost with such a connection: the allowed loss); an unblocker thread CLIENT UNBLOCKs
 *    random consumers (TIMEOUT or ERROR), one in four times inside MULTI/EXEC (an
 *    exclusive transaction while serves run: no deadlock);
 *  - movers run BLMOVE around a ring of three lists seeded with elements nobody else
 *    touches.
 * At the end every element produced is checked one by one: delivered at most once
 * (consumers' replies plus what is left in the keys), none unknown, and the missing ones
 * fewer than the budget of the dropped connections (none at all with --drop-every 0); the
 * ring holds exactly its seed.
 * Without list commands in the server (LPUSH unknown) only the sorted-set part runs.
 * Prints one summary line; exits 1 with a message on the first violation.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define KEYS	   3
#define PRODUCERS  3
#define CONSUMERS  8
#define MOVERS	   3
#define RING_SEED  60
#define MAX_SEQ	   (1 << 20)
#define SLOT_EMPTY 0

static struct kvsd_proc srv;
static long long deadline_ms;
static atomic_int failed, producing = 1, consuming = 1;
static int have_lists;
static int drop_every = 16; /* --drop-every N: one blocking pop in N disconnects; 0: none */
static atomic_llong produced_n, consumed_n, timeouts_n, unblocked_n, dropped_n, budget_n;
static atomic_llong moves_n;
/* consumers' connection ids, for the unblocker (0: none) */
static _Atomic long long consumer_ids[CONSUMERS];
/* the last seq each producer pushed + 1 */
static long long produced_upto[PRODUCERS];

struct elog {
	uint64_t *v;
	size_t n, cap;
};
static struct elog consumed_log[CONSUMERS];

static void fail(const char *what, const char *detail)
{
	if (!atomic_exchange(&failed, 1))
		fprintf(stderr, "stress_blocking: FAIL: %s%s%s\n", what, detail ? ": " : "",
			detail ? detail : "");
}

static void elog_add(struct elog *l, uint64_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = x;
}

/* "<p>:<seq>" -> p << 32 | seq; UINT64_MAX when malformed */
static uint64_t elem_code(const char *s, size_t len)
{
	char buf[64];
	unsigned p;
	unsigned long long q;

	if (len == 0 || len >= sizeof(buf))
		return UINT64_MAX;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%u:%llu", &p, &q) != 2 || p >= PRODUCERS || q >= MAX_SEQ)
		return UINT64_MAX;
	return ((uint64_t)p << 32) | q;
}

static void record(int ci, const redisReply *e)
{
	uint64_t x;

	if (e->type != REDIS_REPLY_STRING) {
		fail("element is not a string", NULL);
		return;
	}
	x = elem_code(e->str, e->len);
	if (x == UINT64_MAX) {
		fail("unknown element", e->str);
		return;
	}
	elog_add(&consumed_log[ci], x);
	atomic_fetch_add(&consumed_n, 1);
}

static void *producer(void *arg)
{
	int pi = (int)(intptr_t)arg;
	unsigned seed = 1000u + (unsigned)pi;
	redisContext *c = kvsd_connect(&srv);
	long long seq = 0;

	if (!c) {
		fail("connect", NULL);
		return NULL;
	}
	while (atomic_load(&producing) && !atomic_load(&failed) && seq + 4 < MAX_SEQ) {
		int k = rand_r(&seed) % KEYS,
		    n = 1 + (rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 3 : 0);
		bool list = have_lists && rand_r(&seed) % 3 != 0;
		char el[3][32];
		const char *argv[8];
		size_t argl[8];
		int argc = 0;
		redisReply *r;

		if (list) {
			argv[argc++] = rand_r(&seed) % 2 ? "LPUSH" : "RPUSH";
			argv[argc++] = k == 0 ? "q0" : k == 1 ? "q1" : "q2";
		} else {
			argv[argc++] = "ZADD";
			argv[argc++] = k == 0 ? "z0" : k == 1 ? "z1" : "z2";
			n = 1;
		}
		for (int i = 0; i < n; i++) {
			snprintf(el[i], sizeof(el[i]), "%d:%lld", pi, seq + i);
			if (!list)
				argv[argc++] = "1";
			argv[argc++] = el[i];
		}
		for (int i = 0; i < argc; i++)
			argl[i] = strlen(argv[i]);
		r = redisCommandArgv(c, argc, argv, argl);
		if (!r || r->type != REDIS_REPLY_INTEGER) {
			fail("push", r ? r->str : c->errstr);
			if (r)
				freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
		seq += n;
		produced_upto[pi] = seq;
		atomic_fetch_add(&produced_n, n);
		if (rand_r(&seed) % 8 == 0)
			usleep(200);
	}
	redisFree(c);
	return NULL;
}

static long long client_id(redisContext *c)
{
	redisReply *r = redisCommand(c, "CLIENT ID");
	long long id = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;

	if (r)
		freeReplyObject(r);
	return id;
}

static void *consumer(void *arg)
{
	int ci = (int)(intptr_t)arg;
	unsigned seed = 2000u + (unsigned)ci;
	redisContext *c = NULL;

	while (atomic_load(&consuming) && !atomic_load(&failed)) {
		int op = rand_r(&seed) % (have_lists ? 4 : 1), count = 1;
		const char *timeout = rand_r(&seed) % 8 == 0 ? "0" : "0.05";
		redisReply *r;

		if (!have_lists)
			op = 3;
		if (!c) {
			c = kvsd_connect(&srv);
			if (!c) {
				fail("connect", NULL);
				break;
			}
			atomic_store(&consumer_ids[ci], client_id(c));
		}
		if (op == 2)
			count = 1 + rand_r(&seed) % 4;
		if (drop_every > 0 && rand_r(&seed) % (unsigned)drop_every == 0) {
			/* send, then drop the connection while (probably) blocked */
			int done = 0;

			atomic_store(&consumer_ids[ci], 0);
			if (op == 0)
				redisAppendCommand(c, "BLPOP q0 q1 q2 0");
			else if (op == 1)
				redisAppendCommand(c, "BRPOP q0 q1 q2 0");
			else if (op == 2)
				redisAppendCommand(c, "BLMPOP 0 3 q0 q1 q2 LEFT COUNT %d", count);
			else
				redisAppendCommand(c, "BZPOPMIN z0 z1 z2 0");
			while (!done && redisBufferWrite(c, &done) == REDIS_OK)
				;
			usleep((useconds_t)(rand_r(&seed) % 3000));
			redisFree(c);
			c = NULL;
			atomic_fetch_add(&dropped_n, 1);
			atomic_fetch_add(&budget_n, count);
			continue;
		}
		if (op == 0)
			r = redisCommand(c, "BLPOP q0 q1 q2 %s", timeout);
		else if (op == 1)
			r = redisCommand(c, "BRPOP q0 q1 q2 %s", timeout);
		else if (op == 2)
			r = redisCommand(c, "BLMPOP %s 3 q0 q1 q2 LEFT COUNT %d", timeout, count);
		else
			r = redisCommand(c, "BZPOPMIN z0 z1 z2 %s", timeout);
		if (!r) {
			fail("blocking pop: connection lost", c->errstr);
			break;
		}
		if (r->type == REDIS_REPLY_NIL) {
			atomic_fetch_add(&timeouts_n, 1);
		} else if (r->type == REDIS_REPLY_ERROR) {
			if (strncmp(r->str, "UNBLOCKED", 9) != 0)
				fail("blocking pop error", r->str);
			atomic_fetch_add(&unblocked_n, 1);
		} else if (r->type != REDIS_REPLY_ARRAY) {
			fail("blocking pop: not an array", NULL);
		} else if (op == 0 || op == 1) {
			if (r->elements != 2)
				fail("BLPOP/BRPOP: not [key, element]", NULL);
			else
				record(ci, r->element[1]);
		} else if (op == 2) {
			if (r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY ||
			    r->element[1]->elements < 1 || r->element[1]->elements > (size_t)count)
				fail("BLMPOP: not [key, [1..COUNT elements]]", NULL);
			else
				for (size_t i = 0; i < r->element[1]->elements; i++)
					record(ci, r->element[1]->element[i]);
		} else {
			if (r->elements != 3)
				fail("BZPOPMIN: not [key, member, score]", NULL);
			else
				record(ci, r->element[1]);
		}
		freeReplyObject(r);
	}
	atomic_store(&consumer_ids[ci], 0);
	if (c)
		redisFree(c);
	return NULL;
}

static void *unblocker(void *arg)
{
	unsigned seed = 3000u;
	redisContext *c = kvsd_connect(&srv);

	(void)arg;
	if (!c) {
		fail("connect", NULL);
		return NULL;
	}
	while (atomic_load(&consuming) && !atomic_load(&failed)) {
		long long id = atomic_load(&consumer_ids[rand_r(&seed) % CONSUMERS]);
		redisReply *r;

		usleep(2000);
		if (id == 0)
			continue;
		if (rand_r(&seed) % 4 == 0) {
			/* inside MULTI: an exclusive transaction, while serves run */
			r = redisCommand(c, "MULTI");
			if (r)
				freeReplyObject(r);
			r = redisCommand(c, "CLIENT UNBLOCK %lld", id);
			if (r)
				freeReplyObject(r);
			r = redisCommand(c, "EXEC");
			if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
			    r->element[0]->type != REDIS_REPLY_INTEGER)
				fail("MULTI CLIENT UNBLOCK EXEC", r ? r->str : c->errstr);
			if (r)
				freeReplyObject(r);
			continue;
		}
		r = redisCommand(c, "CLIENT UNBLOCK %lld %s", id,
				 rand_r(&seed) % 2 ? "TIMEOUT" : "ERROR");
		if (!r || r->type != REDIS_REPLY_INTEGER)
			fail("CLIENT UNBLOCK", r ? r->str : c->errstr);
		if (r)
			freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static void *mover(void *arg)
{
	int mi = (int)(intptr_t)arg;
	unsigned seed = 4000u + (unsigned)mi;
	redisContext *c = kvsd_connect(&srv);

	if (!c) {
		fail("connect", NULL);
		return NULL;
	}
	while (atomic_load(&consuming) && !atomic_load(&failed)) {
		int from = rand_r(&seed) % 3;
		redisReply *r = redisCommand(c, "BLMOVE r%d r%d %s %s 0.05", from, (from + 1) % 3,
					     rand_r(&seed) % 2 ? "LEFT" : "RIGHT",
					     rand_r(&seed) % 2 ? "LEFT" : "RIGHT");

		if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL))
			fail("BLMOVE", r ? r->str : c->errstr);
		else if (r->type == REDIS_REPLY_STRING)
			atomic_fetch_add(&moves_n, 1);
		if (r)
			freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Adds what is left in the keys to *all. */
static void collect_left(redisContext *c, struct elog *all)
{
	for (int k = 0; k < KEYS; k++) {
		redisReply *r = have_lists ? redisCommand(c, "LRANGE q%d 0 -1", k) : NULL;

		if (r && r->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i < r->elements; i++)
				elog_add(all, elem_code(r->element[i]->str, r->element[i]->len));
		if (r)
			freeReplyObject(r);
		r = redisCommand(c, "ZRANGE z%d 0 -1", k);
		if (r && r->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i < r->elements; i++)
				elog_add(all, elem_code(r->element[i]->str, r->element[i]->len));
		if (r)
			freeReplyObject(r);
	}
}

static void check_ring(redisContext *c)
{
	int seen[RING_SEED] = {0}, total = 0;

	for (int k = 0; k < 3; k++) {
		redisReply *r = redisCommand(c, "LRANGE r%d 0 -1", k);

		if (!r || r->type != REDIS_REPLY_ARRAY) {
			fail("LRANGE ring", NULL);
			if (r)
				freeReplyObject(r);
			return;
		}
		for (size_t i = 0; i < r->elements; i++) {
			int x = atoi(r->element[i]->str + 1);

			if (x < 0 || x >= RING_SEED || seen[x]++)
				fail("ring: an element twice or unknown", r->element[i]->str);
			total++;
		}
		freeReplyObject(r);
	}
	if (total != RING_SEED)
		fail("ring: elements lost", NULL);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	pthread_t prod[PRODUCERS], cons[CONSUMERS], movers[MOVERS], unb;
	redisContext *c;
	redisReply *r;
	struct elog all = {0};
	long long missing = 0, dups = 0;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--drop-every"))
			drop_every = atoi(argv[i + 1]);
	rc = kvsd_start(&srv, (const char *const[]){"--threads", "4", NULL});
	if (rc != 0) {
		fprintf(stderr, "stress_blocking: cannot start kvsd (%d)\n", rc);
		return 1;
	}
	c = kvsd_connect(&srv);
	if (!c) {
		fprintf(stderr, "stress_blocking: cannot connect\n");
		kvsd_kill(&srv);
		return 1;
	}
	r = redisCommand(c, "LPUSH probe x");
	have_lists = r && r->type == REDIS_REPLY_INTEGER;
	if (r)
		freeReplyObject(r);
	if (have_lists) {
		r = redisCommand(c, "DEL probe");
		freeReplyObject(r);
		for (int i = 0; i < RING_SEED; i++) {
			r = redisCommand(c, "RPUSH r%d s%d", i % 3, i);
			freeReplyObject(r);
		}
	}
	deadline_ms = kvsd_now_ms() + (long long)(seconds * 1000);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_create(&cons[i], NULL, consumer, (void *)(intptr_t)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, producer, (void *)(intptr_t)i);
	for (int i = 0; have_lists && i < MOVERS; i++)
		pthread_create(&movers[i], NULL, mover, (void *)(intptr_t)i);
	pthread_create(&unb, NULL, unblocker, NULL);
	while (kvsd_now_ms() < deadline_ms && !atomic_load(&failed))
		usleep(10000);
	atomic_store(&producing, 0);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	/* let the consumers drain a little, then stop them: the ones blocked
	 * forever are released by pushes of a sentinel-free kind — CLIENT UNBLOCK */
	usleep(100000);
	atomic_store(&consuming, 0);
	for (int round = 0; round < 500; round++) {
		int live = 0;

		for (int i = 0; i < CONSUMERS; i++) {
			long long id = atomic_load(&consumer_ids[i]);

			if (id) {
				live = 1;
				r = redisCommand(c, "CLIENT UNBLOCK %lld", id);
				if (r)
					freeReplyObject(r);
			}
		}
		if (!live)
			break;
		usleep(10000);
	}
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(cons[i], NULL);
	for (int i = 0; have_lists && i < MOVERS; i++)
		pthread_join(movers[i], NULL);
	pthread_join(unb, NULL);
	/* dropped connections may still be closing: wait until none is blocked */
	for (int i = 0; i < 300; i++) {
		r = redisCommand(c, "INFO clients");
		if (r && r->type == REDIS_REPLY_STRING && strstr(r->str, "blocked_clients:0\r\n")) {
			freeReplyObject(r);
			break;
		}
		if (r)
			freeReplyObject(r);
		usleep(10000);
	}

	/* every element, one by one */
	for (int i = 0; i < CONSUMERS; i++)
		for (size_t j = 0; j < consumed_log[i].n; j++)
			elog_add(&all, consumed_log[i].v[j]);
	collect_left(c, &all);
	qsort(all.v, all.n, sizeof(*all.v), cmp_u64);
	for (size_t j = 0; j < all.n; j++) {
		if (all.v[j] == UINT64_MAX) {
			fail("unknown element left in a key", NULL);
			break;
		}
		if (j > 0 && all.v[j] == all.v[j - 1]) {
			char b[64];

			snprintf(b, sizeof(b), "%u:%u", (unsigned)(all.v[j] >> 32),
				 (unsigned)(all.v[j] & 0xffffffffu));
			fail("element delivered twice", b);
			dups++;
		}
	}
	{
		size_t j = 0;

		for (int p = 0; p < PRODUCERS; p++)
			for (long long q = 0; q < produced_upto[p]; q++) {
				uint64_t x = ((uint64_t)p << 32) | (uint64_t)q;

				while (j < all.n && all.v[j] < x)
					j++;
				if (j >= all.n || all.v[j] != x)
					missing++;
			}
	}
	if (missing > atomic_load(&budget_n)) {
		char b[96];

		snprintf(b, sizeof(b), "%lld missing, at most %lld may be (dropped connections)",
			 missing, (long long)atomic_load(&budget_n));
		fail("elements lost", b);
	}
	if (have_lists)
		check_ring(c);
	redisFree(c);
	rc = kvsd_stop(&srv, 20000);
	if (rc != 0)
		fail("kvsd exit status", rc == -110 ? "timeout" : "non-zero");
	printf("stress_blocking: %s lists=%d produced=%lld consumed=%lld timeouts=%lld "
	       "unblocked=%lld dropped=%lld missing=%lld/%lld dups=%lld moves=%lld\n",
	       atomic_load(&failed) ? "FAIL" : "ok", have_lists, (long long)produced_n,
	       (long long)consumed_n, (long long)timeouts_n, (long long)unblocked_n,
	       (long long)dropped_n, missing, (long long)budget_n, dups, (long long)moves_n);
	for (int i = 0; i < CONSUMERS; i++)
		free(consumed_log[i].v);
	free(all.v);
	return atomic_load(&failed) ? 1 : 0;
}
