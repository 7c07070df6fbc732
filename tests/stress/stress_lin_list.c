/*
 * stress_lin_list.c — linearizability check of recorded concurrent histories
 * of list commands on two keys (storage/tlist.h), the approach of
 * stress_lin.c (Wing & Gong): a plain, time-boxed program, also run under
 * ThreadSanitizer.
 *
 * Each round, --threads recorder threads (2..4) start together at a barrier
 * and each run OPS operations, picked at random, on the keys L0 and L1
 * exactly as the server's handlers run them: LPUSH of one or two unique
 * elements and RPOP (tlist_push / tlist_pop in the plain view: a CAS loop),
 * LLEN (a plain read), LMOVE src dst RIGHT LEFT between the two keys (in a
 * transaction, as multi_atomic runs it, re-run on conflict) and LMOVE of a
 * key onto itself (a rotation: one key, the plain view). Every operation
 * records invocation and response stamps from one shared atomic counter and
 * its result (the new length, the element popped or moved, nil). After the
 * round one thread searches (depth first, failed prefixes memoised by
 * done-set and state) for an order that respects real time and that the
 * sequential model — two lists — accepts with exactly the recorded results;
 * LMOVE couples the keys, so both are checked together. A failed search
 * prints the history and exits 1.
 *
 * Rounds alternate list-max-listpack-size between the default (-2: lists
 * stay one packed blob) and 2 (a list of three elements is already a tree
 * of chunks), so both encodings and the conversion are crossed. The
 * self-test checks that the checker rejects a history where an element is
 * popped twice and one where LLEN sees half of an LMOVE.
 *
 * Usage: stress_lin_list [--seconds S] [--threads 2..4]
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

#include "concurrency/mem.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/tlist.h"

#define MAX_THREADS 4
#define OPS	    5
#define MAX_HIST    (MAX_THREADS * OPS)
#define MAX_ELEMS   (2 * MAX_HIST)
#define MEMO_BITS   16

enum op_kind { OP_LPUSH, OP_RPOP, OP_LLEN, OP_LMOVE, OP_ROTATE, OP_KINDS };

struct op {
	enum op_kind kind;
	int key;	   /* LMOVE: source (the destination is the other key) */
	int n;		   /* LPUSH: elements */
	int64_t arg[2];	   /* LPUSH: the elements */
	int64_t res;	   /* length, element, or -1 (nil) */
	uint64_t inv, rsp; /* stamps */
};

static struct db *db;
static struct db_txn *txns[MAX_THREADS];
static struct op hist[MAX_THREADS][OPS];
static int nthreads = 3;
static pthread_barrier_t round_start, round_end;
/* one total order of stamps: seq_cst (the checker relies on "responded
 * before invoked" being exact across threads) */
static _Atomic uint64_t clock_ = 1;
/* set by thread 0 between round_end and round_start (the barriers order it):
 * relaxed */
static atomic_bool stop;
static struct timespec deadline;
static unsigned long long rounds_checked;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "stress_lin_list: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char *key_name(int k)
{
	return k ? "L1" : "L0";
}

/* ---- running the operations */

static int64_t elem_value(const char *p, size_t len)
{
	int64_t v;
	if (len != sizeof(v))
		fail("an element of %zu bytes", len);
	memcpy(&v, p, sizeof(v));
	return v;
}

static void run_op(struct op *o, struct db_txn *tx)
{
	const struct db_view *plain = db_plain(db);
	const char *k = key_name(o->key);
	struct tlist_popped p;
	char buf[2][8];
	const char *el[2] = {buf[0], buf[1]};
	size_t len[2] = {8, 8};
	char *moved = NULL;
	size_t mlen = 0;
	int rc;

	switch (o->kind) {
	case OP_LPUSH:
		memcpy(buf[0], &o->arg[0], 8);
		memcpy(buf[1], &o->arg[1], 8);
		o->res = tlist_push(plain, k, 2, TLIST_HEAD, (size_t)o->n, el, len, true, 0);
		break;
	case OP_RPOP:
		rc = tlist_pop(plain, k, 2, TLIST_TAIL, 1, 0, &p);
		if (rc < 0)
			fail("rpop: wrong type");
		o->res = -1;
		if (rc == 1) {
			o->res = elem_value(p.elem[0], p.len[0]);
			tlist_popped_free(&p);
		}
		break;
	case OP_LLEN: {
		const struct kv_entry *e = db_lookup(plain, k, 2, 0, NULL, 0);
		o->res = e ? (int64_t)tlist_len(e) : 0;
		break;
	}
	case OP_LMOVE:
		do {
			const struct db_view *v = db_txn_begin(tx, NULL, 0, false);
			rc = tlist_move(v, k, 2, key_name(1 - o->key), 2, TLIST_TAIL, TLIST_HEAD, 0,
					&moved, &mlen);
			if (rc < 0)
				fail("lmove: wrong type");
			o->res = -1;
			if (rc == 1) {
				o->res = elem_value(moved, mlen);
				mem_free(moved);
			}
		} while (db_txn_commit(tx) == -EAGAIN);
		break;
	case OP_ROTATE:
		rc = tlist_move(plain, k, 2, k, 2, TLIST_TAIL, TLIST_HEAD, 0, &moved, &mlen);
		if (rc < 0)
			fail("rotate: wrong type");
		o->res = -1;
		if (rc == 1) {
			o->res = elem_value(moved, mlen);
			mem_free(moved);
		}
		break;
	default:
		break;
	}
	db_coll_end();
}

/* ---- the checker */

struct model {
	int n[2];
	int64_t v[2][MAX_ELEMS]; /* head first */
};

static void m_push_head(struct model *m, int k, int64_t x)
{
	memmove(m->v[k] + 1, m->v[k], (size_t)m->n[k] * sizeof(int64_t));
	m->v[k][0] = x;
	m->n[k]++;
}

/* Applies o if the model gives its recorded result. */
static bool apply(struct model *m, const struct op *o)
{
	int k = o->key;
	int64_t x;

	switch (o->kind) {
	case OP_LPUSH:
		for (int i = 0; i < o->n; i++)
			m_push_head(m, k, o->arg[i]);
		return o->res == m->n[k];
	case OP_RPOP:
		if (m->n[k] == 0)
			return o->res == -1;
		x = m->v[k][--m->n[k]];
		return o->res == x;
	case OP_LLEN:
		return o->res == m->n[k];
	case OP_LMOVE:
	case OP_ROTATE:
		if (m->n[k] == 0)
			return o->res == -1;
		x = m->v[k][--m->n[k]];
		m_push_head(m, o->kind == OP_LMOVE ? 1 - k : k, x);
		return o->res == x;
	default:
		return false;
	}
}

static uint64_t model_hash(const struct model *m)
{
	uint64_t h = 1469598103934665603ull;
	for (int k = 0; k < 2; k++) {
		h = (h ^ (uint64_t)m->n[k]) * 1099511628211ull;
		for (int i = 0; i < m->n[k]; i++)
			h = (h ^ (uint64_t)m->v[k][i]) * 1099511628211ull;
	}
	return h;
}

struct search {
	const struct op *op[MAX_HIST];
	int n;
	unsigned filled;
	uint64_t memo[1u << MEMO_BITS]; /* failed (done, state) pairs; 0 = empty */
};

static bool memo_has(struct search *s, uint64_t key)
{
	for (uint64_t i = key;; i++) {
		uint64_t x = s->memo[i & ((1u << MEMO_BITS) - 1)];
		if (x == 0)
			return false;
		if (x == key)
			return true;
	}
}

static void memo_add(struct search *s, uint64_t key)
{
	if (s->filled > (1u << MEMO_BITS) / 2)
		return; /* full enough: stop memoising (still correct) */
	for (uint64_t i = key;; i++) {
		uint64_t *x = &s->memo[i & ((1u << MEMO_BITS) - 1)];
		if (*x == 0) {
			*x = key;
			s->filled++;
			return;
		}
	}
}

static bool dfs(struct search *s, uint32_t done, const struct model *m)
{
	if (done == (1u << s->n) - 1)
		return true;
	uint64_t key = model_hash(m) ^ ((uint64_t)done * 0x9E3779B97F4A7C15ull);
	if (key == 0) /* 0 marks an empty slot */
		key = 1;
	if (memo_has(s, key))
		return false;
	/* the earliest response among pending operations bounds who may go next */
	uint64_t minrsp = UINT64_MAX;
	for (int i = 0; i < s->n; i++)
		if (!(done & (1u << i)) && s->op[i]->rsp < minrsp)
			minrsp = s->op[i]->rsp;
	for (int i = 0; i < s->n; i++) {
		if ((done & (1u << i)) || s->op[i]->inv > minrsp)
			continue;
		struct model next = *m;
		if (apply(&next, s->op[i]) && dfs(s, done | (1u << i), &next))
			return true;
	}
	memo_add(s, key);
	return false;
}

static const char *kind_name(enum op_kind k)
{
	static const char *const names[] = {"LPUSH", "RPOP", "LLEN", "LMOVE", "ROTATE"};
	return names[k];
}

static bool check(const struct op *const *ops, int n, bool print)
{
	static struct search s;
	struct model m = {{0, 0}, {{0}}};
	memset(s.memo, 0, sizeof(s.memo));
	s.filled = 0;
	s.n = n;
	for (int i = 0; i < n; i++)
		s.op[i] = ops[i];
	bool ok = dfs(&s, 0, &m);
	if (!ok && print) {
		for (int i = 0; i < n; i++) {
			const struct op *o = ops[i];
			fprintf(stderr, "  [%llu, %llu] %s L%d", (unsigned long long)o->inv,
				(unsigned long long)o->rsp, kind_name(o->kind), o->key);
			for (int j = 0; o->kind == OP_LPUSH && j < o->n; j++)
				fprintf(stderr, " %llx", (unsigned long long)o->arg[j]);
			fprintf(stderr, " -> %llx\n", (unsigned long long)o->res);
		}
	}
	return ok;
}

static void check_round(void)
{
	const struct op *ops[MAX_HIST];
	int n = 0;
	for (int t = 0; t < nthreads; t++)
		for (int i = 0; i < OPS; i++)
			ops[n++] = &hist[t][i];
	if (!check(ops, n, true))
		fail("round %llu: no linearization of the history above", rounds_checked);
	rounds_checked++;
}

/* The checker must reject what a broken list would do. */
static void self_test(void)
{
	struct op a = {
	    .kind = OP_LPUSH, .key = 0, .n = 1, .arg = {7}, .res = 1, .inv = 1, .rsp = 2};
	struct op b = {.kind = OP_RPOP, .key = 0, .res = 7, .inv = 3, .rsp = 4};
	struct op c = {.kind = OP_RPOP, .key = 0, .res = 7, .inv = 3, .rsp = 5};
	const struct op *twice[] = {&a, &b, &c};
	if (check(twice, 3, false))
		fail("self-test: an element popped twice was accepted");
	/* an LLEN of both keys between an LMOVE's start and end may see it
	 * before or after, never with the element in neither list */
	struct op p = {
	    .kind = OP_LPUSH, .key = 0, .n = 1, .arg = {9}, .res = 1, .inv = 1, .rsp = 2};
	struct op mv = {.kind = OP_LMOVE, .key = 0, .res = 9, .inv = 3, .rsp = 10};
	struct op l0 = {.kind = OP_LLEN, .key = 0, .res = 0, .inv = 4, .rsp = 5};
	struct op l1 = {.kind = OP_LLEN, .key = 1, .res = 0, .inv = 6, .rsp = 7};
	const struct op *half[] = {&p, &mv, &l0, &l1};
	if (check(half, 4, false))
		fail("self-test: half of an LMOVE was accepted");
	const struct op *fine[] = {&a, &b};
	if (!check(fine, 2, false))
		fail("self-test: a sequential history was rejected");
}

/* ---- threads */

static void clear_keys(void)
{
	for (int k = 0; k < 2; k++) {
		const struct kv_entry *e;
		while ((e = db_lookup(db_plain(db), key_name(k), 2, 0, NULL, 0)) &&
		       db_put(db_plain(db), e, NULL) != 0)
			;
	}
	db_coll_end();
}

static void *recorder(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = 0x5151u + (uint64_t)id * 7919;
	int64_t seq = 0;

	kvmap_thread_register();
	for (;;) {
		kvmap_thread_offline(); /* no thread blocks online */
		pthread_barrier_wait(&round_start);
		kvmap_thread_online();
		/* relaxed: see `stop` */
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			break;
		for (int i = 0; i < OPS; i++) {
			struct op *o = &hist[id][i];
			uint64_t r = rng_next(&rng);
			memset(o, 0, sizeof(*o));
			unsigned pick = (unsigned)(r % 16);
			o->kind = pick < 6    ? OP_LPUSH
				  : pick < 10 ? OP_RPOP
				  : pick < 12 ? OP_LLEN
				  : pick < 15 ? OP_LMOVE
					      : OP_ROTATE;
			o->key = (int)((r >> 8) % 2);
			o->n = 1 + (int)((r >> 16) % 2);
			for (int j = 0; j < 2; j++)
				o->arg[j] = (int64_t)id << 40 | ++seq << 4 | j; /* unique */
			o->inv = atomic_fetch_add_explicit(&clock_, 1, memory_order_seq_cst);
			run_op(o, txns[id]);
			o->rsp = atomic_fetch_add_explicit(&clock_, 1, memory_order_seq_cst);
		}
		kvmap_quiescent();
		kvmap_thread_offline();
		pthread_barrier_wait(&round_end);
		kvmap_thread_online();
		if (id == 0) {
			check_round();
			clear_keys();
			/* the next round's encoding: packed, or a tree from 3 elements */
			coll_set_limit(COLL_LIST_MAX_SIZE, rounds_checked % 2 ? 2 : -2);
			kvmap_quiescent();
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				/* relaxed: see `stop` */
				atomic_store_explicit(&stop, true, memory_order_relaxed);
		}
	}
	kvmap_thread_unregister();
	return NULL;
}

static void no_sha1(const void *p, size_t n, uint8_t out[20])
{
	(void)p;
	(void)n;
	memset(out, 0, 20);
}

static void usage(void)
{
	fprintf(stderr, "usage: stress_lin_list [--seconds S] [--threads 2..4]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	pthread_t rec[MAX_THREADS];

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else
			usage();
	}
	if (nthreads < 2 || nthreads > MAX_THREADS || seconds <= 0)
		usage();
	self_test();
	kvmap_setup();
	coll_setup();
	tlist_setup(no_sha1); /* the list row: its release hook frees end chunks */
	kvmap_thread_register();
	db = db_create(KVMAP_KVSD);
	if (!db)
		fail("db_create");
	for (int t = 0; t < nthreads; t++)
		txns[t] = db_txn_create(db);
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
	for (int t = 0; t < nthreads; t++)
		pthread_create(&rec[t], NULL, recorder, (void *)(intptr_t)t);
	for (int t = 0; t < nthreads; t++)
		pthread_join(rec[t], NULL);

	kvmap_thread_online();
	clear_keys();
	for (int t = 0; t < nthreads; t++)
		db_txn_destroy(&txns[t]);
	db_destroy(&db);
	db_coll_thread_exit();
	kvmap_thread_unregister();
	kvmap_teardown();
	coll_drain();
	coll_teardown();
	if (rounds_checked == 0)
		fail("no round completed");
	printf("stress_lin_list: ok: threads=%d rounds=%llu\n", nthreads, rounds_checked);
	return 0;
}
