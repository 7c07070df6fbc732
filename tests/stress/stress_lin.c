/*
 * stress_lin.c — linearizability check of recorded concurrent histories on
 * a few keys of a kvmap, in the style of Wing & Gong ("Testing and verifying
 * concurrent objects", 1993): a plain, time-boxed program (also under
 * ThreadSanitizer).
 *
 * Each round, --threads recorder threads (2..4) start together at a barrier
 * and each run OPS operations on KEYS keys, picked at random: GET, SET v,
 * INSERT v (if absent), DEL (get + kvmap_remove, retried on a lost race),
 * INCR (get + kvmap_replace CAS loop; absent counts as 0). Every operation
 * records an invocation and a response stamp from one shared atomic counter
 * (so "a responded before b was invoked" is exact) and its result. Values
 * written by SET / INSERT are unique per round, so results identify writes.
 * After the round, one thread checks each key's history (at most
 * threads * OPS operations): a depth-first search for an order that respects
 * real time (only an operation no pending one responded before may come
 * next) and that the sequential model — a register holding an integer or
 * "absent" — accepts with exactly the recorded results. Per-key checking is
 * sound because linearizability is local (Herlihy & Wing 1990). A failed
 * search prints the history and exits 1.
 *
 * Meanwhile a churn thread inserts and deletes thousands of unrelated keys,
 * so that kvsd's map (started at its smallest table) migrates constantly
 * under the recorded operations: histories then cross grows, shrinks and
 * purges.
 *
 * Usage: stress_lin [--seconds S] [--threads 2..4] [--map kvsd|urcu]
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/kvmap.h"

#define MAX_THREADS 4
#define KEYS	    2
#define OPS	    4 /* per thread and round: <= 16 ops per round, ~8 per key */
#define MAX_HIST    (MAX_THREADS * OPS)
#define CHURN_KEYS  3000

enum op_kind { OP_GET, OP_SET, OP_INSERT, OP_DEL, OP_INCR, OP_KINDS };
static const char *op_name[] = {"get", "set", "insert", "del", "incr"};

struct op {
	enum op_kind kind;
	int key;
	int64_t arg;	   /* value written (set, insert) */
	int64_t res;	   /* value read / returned; -1 = absent */
	int rc;		   /* insert: 0 or -EEXIST; set: 0 inserted / 1 replaced */
	uint64_t inv, rsp; /* stamps from `clock_` */
};

static struct kvmap *map;
static int nthreads = 3;
static _Atomic uint64_t clock_; /* seq_cst: stamps must order with the map's own operations */
static atomic_bool stop, churn_stop;
static pthread_barrier_t round_start, round_end;
static struct op hist[MAX_THREADS][OPS];
static uint64_t rounds_checked;
static struct timespec deadline; /* written by main before the threads start */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "stress_lin: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int key_name(char *buf, int key)
{
	return sprintf(buf, "lin:%d", key);
}

static const struct kv_entry *lookup(int key)
{
	char k[16];
	int n = key_name(k, key);
	return kvmap_get(map, k, (size_t)n, kvmap_hash(k, (size_t)n));
}

static int64_t value_of(const struct kv_entry *e)
{
	int64_t v;

	if (!e)
		return -1;
	if (e->vlen != sizeof(v))
		fail("entry with a %u-byte value", e->vlen);
	memcpy(&v, kv_entry_val(e), sizeof(v));
	return v;
}

static struct kv_entry *make(int key, int64_t v)
{
	char k[16];
	int n = key_name(k, key);
	return kv_entry_new(k, (size_t)n, &v, sizeof(v), 0);
}

/* Runs one operation against the map, filling res / rc. */
static void run_op(struct op *o)
{
	const struct kv_entry *e;
	struct kv_entry *n;

	switch (o->kind) {
	case OP_GET:
		o->res = value_of(lookup(o->key));
		break;
	case OP_SET:
		o->rc = kvmap_set(map, make(o->key, o->arg));
		break;
	case OP_INSERT:
		n = make(o->key, o->arg);
		o->rc = kvmap_insert(map, n, &e);
		if (o->rc) {
			o->res = value_of(e);
			kv_entry_free(n);
		}
		break;
	case OP_DEL:
		for (;;) {
			e = lookup(o->key);
			o->res = value_of(e);
			if (!e || kvmap_remove(map, e) == 0)
				break;
		}
		break;
	case OP_INCR:
		for (;;) {
			e = lookup(o->key);
			int64_t v = e ? value_of(e) + 1 : 1;
			n = make(o->key, v);
			o->res = v;
			if (e ? kvmap_replace(map, e, n) == 0 : kvmap_insert(map, n, NULL) == 0)
				break;
			kv_entry_free(n);
		}
		break;
	default:
		break;
	}
}

/* ---- the checker. */

struct history {
	const struct op *op[MAX_HIST];
	int n;
};

/* Applies o to the model state *s if o's recorded result is what the
 * sequential register returns; returns whether it did. */
static bool model_step(const struct op *o, int64_t *s)
{
	switch (o->kind) {
	case OP_GET:
		return o->res == *s;
	case OP_SET:
		if (o->rc != (*s != -1))
			return false;
		*s = o->arg;
		return true;
	case OP_INSERT:
		if (*s == -1) {
			if (o->rc != 0)
				return false;
			*s = o->arg;
			return true;
		}
		return o->rc == -EEXIST && o->res == *s;
	case OP_DEL:
		if (o->res != *s)
			return false;
		*s = -1;
		return true;
	case OP_INCR:
		if (o->res != (*s == -1 ? 1 : *s + 1))
			return false;
		*s = o->res;
		return true;
	default:
		return false;
	}
}

static bool search(const struct history *h, uint32_t done, int64_t state)
{
	if (done == (1u << h->n) - 1)
		return true;
	/* The earliest response among pending ops bounds who may go next. */
	uint64_t min_rsp = UINT64_MAX;
	for (int i = 0; i < h->n; i++)
		if (!(done & (1u << i)) && h->op[i]->rsp < min_rsp)
			min_rsp = h->op[i]->rsp;
	for (int i = 0; i < h->n; i++) {
		if ((done & (1u << i)) || h->op[i]->inv > min_rsp)
			continue;
		int64_t s = state;
		if (model_step(h->op[i], &s) && search(h, done | (1u << i), s))
			return true;
	}
	return false;
}

static void check_round(void)
{
	for (int key = 0; key < KEYS; key++) {
		struct history h = {.n = 0};
		for (int t = 0; t < nthreads; t++)
			for (int i = 0; i < OPS; i++)
				if (hist[t][i].key == key)
					h.op[h.n++] = &hist[t][i];
		if (search(&h, 0, -1))
			continue;
		fprintf(stderr, "non-linearizable history on lin:%d:\n", key);
		for (int i = 0; i < h.n; i++) {
			const struct op *o = h.op[i];
			fprintf(stderr, "  [%llu, %llu] %s(%lld) -> res %lld rc %d\n",
				(unsigned long long)o->inv, (unsigned long long)o->rsp,
				op_name[o->kind], (long long)o->arg, (long long)o->res, o->rc);
		}
		fail("round %llu", (unsigned long long)rounds_checked);
	}
	rounds_checked++;
}

/* The checker rejects a stale read and accepts an overlapping one. */
static void self_test(void)
{
	struct op set = {.kind = OP_SET, .arg = 5, .rc = 0, .inv = 0, .rsp = 1};
	struct op get = {.kind = OP_GET, .res = -1, .inv = 2, .rsp = 3};
	struct history h = {.op = {&set, &get}, .n = 2};

	if (search(&h, 0, -1))
		fail("self-test: a read after a completed set returned absent and passed");
	get.inv = 0; /* overlapping the set: absent is a legal answer */
	if (!search(&h, 0, -1))
		fail("self-test: an overlapping read was rejected");
}

/* ---- threads. */

static void *recorder(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = 0x12345u + (uint64_t)id * 7919;
	int64_t seq = 0;

	kvmap_thread_register();
	for (;;) {
		kvmap_thread_offline(); /* no thread blocks online */
		pthread_barrier_wait(&round_start);
		kvmap_thread_online();
		/* relaxed: thread 0 sets it only between round_end and round_start,
		 * when every recorder is between them; the barrier orders it */
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			break;
		for (int i = 0; i < OPS; i++) {
			struct op *o = &hist[id][i];
			uint64_t r = rng_next(&rng);
			memset(o, 0, sizeof(*o));
			o->kind = (enum op_kind)(r % OP_KINDS);
			o->key = (int)((r >> 8) % KEYS);
			o->arg = (int64_t)id << 40 | ++seq << 8; /* unique; far from incr values */
			o->res = -1;
			o->inv = atomic_fetch_add_explicit(&clock_, 1, memory_order_seq_cst);
			run_op(o);
			o->rsp = atomic_fetch_add_explicit(&clock_, 1, memory_order_seq_cst);
		}
		kvmap_quiescent();
		kvmap_thread_offline();
		pthread_barrier_wait(&round_end);
		kvmap_thread_online();
		if (id == 0) {
			check_round();
			for (int key = 0; key < KEYS; key++) {
				const struct kv_entry *e;
				while ((e = lookup(key)) && kvmap_remove(map, e) != 0)
					;
			}
			kvmap_quiescent();
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				/* relaxed: see the load above */
				atomic_store_explicit(&stop, true, memory_order_relaxed);
		}
	}
	kvmap_thread_unregister();
	return NULL;
}

static void *churn(void *arg)
{
	uint64_t rng = 99;
	char k[32];
	(void)arg;

	kvmap_thread_register();
	/* relaxed: a stale read only delays the exit by one operation */
	while (!atomic_load_explicit(&churn_stop, memory_order_relaxed)) {
		int i = (int)(rng_next(&rng) % CHURN_KEYS);
		int n = snprintf(k, sizeof(k), "churn:%d", i);
		const struct kv_entry *e = kvmap_get(map, k, (size_t)n, kvmap_hash(k, (size_t)n));
		if (e)
			(void)kvmap_remove(map, e);
		else
			(void)kvmap_set(map, kv_entry_new(k, (size_t)n, "x", 1, 0));
		if (i % 16 == 0)
			kvmap_quiescent();
		if (i % 512 == 0)
			kvmap_maintain(map);
	}
	kvmap_thread_unregister();
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress_lin [--seconds S] [--threads 2..4] [--map kvsd|urcu]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	enum kvmap_backend backend = KVMAP_KVSD;
	pthread_t rec[MAX_THREADS], ch;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--map") == 0) {
			i++;
			if (strcmp(argv[i], "kvsd") == 0)
				backend = KVMAP_KVSD;
			else if (strcmp(argv[i], "urcu") == 0)
				backend = KVMAP_URCU;
			else
				usage();
		} else
			usage();
	}
	if (nthreads < 2 || nthreads > MAX_THREADS || seconds <= 0)
		usage();

	self_test();
	kvmap_setup();
	kvmap_thread_register();
	map = kvmap_create(backend, 1);
	kvmap_thread_offline();
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)seconds;
	deadline.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_barrier_init(&round_start, NULL, (unsigned)nthreads);
	pthread_barrier_init(&round_end, NULL, (unsigned)nthreads);
	pthread_create(&ch, NULL, churn, NULL);
	for (int t = 0; t < nthreads; t++)
		pthread_create(&rec[t], NULL, recorder, (void *)(intptr_t)t);

	for (int t = 0; t < nthreads; t++)
		pthread_join(rec[t], NULL);
	atomic_store_explicit(&churn_stop, true, memory_order_relaxed);
	pthread_join(ch, NULL);

	kvmap_thread_online();
	kvmap_destroy(&map);
	kvmap_thread_unregister();
	kvmap_teardown();
	if (rounds_checked == 0)
		fail("no round completed");
	printf("stress_lin: ok: map=%s threads=%d rounds=%llu histories=%llu\n",
	       backend == KVMAP_KVSD ? "kvsd" : "urcu", nthreads,
	       (unsigned long long)rounds_checked, (unsigned long long)rounds_checked * KEYS);
	return 0;
}
