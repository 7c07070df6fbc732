/*
 * blocking.c — the waiter registry, serving, the timeout timer and CLIENT
 * UNBLOCK (blocking.h explains the model and the lock order).
 *
 * Structures, each under its own lock:
 *  - BLK_SHARDS shards, each a mutex and a chained hash of queues, one queue
 *    per (database, key) with waiters, FIFO (a node per waiter and key);
 *  - the timer: a min-heap of deadlines (CLOCK_MONOTONIC), a mutex and a
 *    condvar; its thread sleeps until the earliest deadline (no polling);
 *  - the id table: blocked waiters by connection id, for CLIENT UNBLOCK.
 *
 * No lost wakeup. A blocking client B links its waiter, raises `waiters`
 * (seq_cst), runs a seq_cst fence and then serves its own keys once. A
 * writer P that creates a list or sorted set publishes it by CAS, runs a
 * seq_cst fence and loads `waiters` (storage/db.c, ready_signal). These are
 * the two sides of the store-buffering pattern: with both fences, P reads
 * B's increment or B's re-check reads P's key (or both). If B's re-check
 * reads it, B serves it itself. If P reads the increment, P serves the key
 * at the end of its command under the key's shard lock: either B's linking
 * (under the same lock) came first and P sees B's waiter, or P's serve came
 * first — then P's key creation happens before B's link and so before B's
 * re-check, which sees it. A serve is idempotent under races (claims are
 * CASes, pops are atomic db writes), so both serving is harmless. A waiter
 * on several keys that a server on key A is deciding on (SERVING) is waited
 * for by a server on key B, never passed by (claim_for_serve).
 *
 * The guard (blocking.h, "Redis's order"): the guard of a command on a key
 * with waiters holds the key's shard lock from before the command's first
 * step until after its last, and serves the key first, so it runs as if
 * after the serve of every earlier push. The fast path: a relaxed load of
 * blk_waiters (nobody blocked: nothing more); else the key's hash and a
 * relaxed load of its bucket's queue count.
 *
 * Lifetime. A waiter is referenced only through structures it is linked
 * in: shard queues, the timer heap, the id table. Each waker calls
 * conn_wake while holding that structure's lock, after winning the CAS from
 * WAITING. The close hook first moves the waiter out of WAITING (waiting,
 * without holding any lock, for a serve in progress to finish — a serve
 * never waits for the closer), then unlinks it from every structure under
 * their locks: once that returns no thread holds a pointer to the waiter or
 * can call conn_wake for its connection.
 */
#include "server/blocking.h"
#include "server/aof.h"
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/cmd_docs.h"
#include "server/keyspec.h"
#include "server/multi.h"
#include "server/session.h"
#include "server/strutil.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/siphash.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <assert.h>
#include <string.h>
#include <time.h>

#define BLK_SHARDS  64
#define BLK_BUCKETS 256 /* per shard */
#define BLK_IDS	    1024

struct blk_queue {
	struct blk_queue *next; /* bucket chain */
	uint64_t h;
	int db;
	size_t len;
	struct blk_node *head, *tail;
	char key[];
};

struct blk_node {
	struct blk_node *prev, *next;
	struct blk_queue *q; /* NULL once unlinked */
	struct blk_waiter *w;
	int k; /* the key's index in w->keys */
};

struct blk_shard {
	pthread_mutex_t mu;
	struct blk_queue *b[BLK_BUCKETS];
	/* queues per bucket: written under mu (a queue created or freed),
	 * read without it by blk_guard_enter (relaxed: a hint; a waiter
	 * linking concurrently re-checks its keys itself, "No lost wakeup") */
	_Atomic uint32_t nq[BLK_BUCKETS];
} __attribute__((aligned(64)));

static struct db *g_db;
static struct blk_shard shards[BLK_SHARDS];
static const uint8_t hash_key[16] = {0x6b, 0x76, 0x73, 0x64, 0x62, 0x6c, 0x6b, 0x31,
				     0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a, 0x7c, 0x15};

/* Linked waiters: raised by blk_block, lowered when unlinked. seq_cst: the
 * store-buffering pair described above (storage/db.c's ready_signal loads
 * it after its fence); it also answers INFO blocked_clients, and
 * blk_guard_armed's relaxed load (blocking.h). */
_Atomic long blk_waiters;
#define waiters blk_waiters

/* The shards this thread's guard holds (bit i: shards[i].mu), so that the
 * command it guards (a blocking command linking its waiter, SWAPDB's
 * blk_note_db inside EXEC) and the serves it runs do not lock them again.
 * Per thread as the ready list: it describes locks this thread holds. */
static _Thread_local uint64_t held;
static_assert(BLK_SHARDS <= 64, "held is a 64-bit mask");

/* the timer */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct blk_waiter **heap;
	long n, cap;
	bool stop, started;
	pthread_t thread;
} tm = {.mu = PTHREAD_MUTEX_INITIALIZER};
/* tm.n mirrored for INFO (clients_in_timeout_table): relaxed, a statistic */
static _Atomic long tm_count;

/* the id table */
static struct {
	pthread_mutex_t mu;
	struct blk_waiter *b[BLK_IDS];
} ids = {.mu = PTHREAD_MUTEX_INITIALIZER};

/*
 * The ready keys of this thread's command (the db hook appends, the end of
 * the command serves). Per thread because it is the writing thread's own
 * step: a thread-local buffer, not a mode — no call's meaning depends on it.
 */
struct ready_key {
	int db;
	size_t len;
	char *p;
};
static _Thread_local struct {
	struct ready_key *v;
	size_t n, cap, next; /* next: first not yet served */
} ready;

/* ------------------------------------------------------------ results */

void blk_result_add(struct blk_result *res, const char *p, size_t len, double score)
{
	if (res->bytes + len > res->bytes_cap) {
		size_t cap = res->bytes_cap ? 2 * res->bytes_cap : 64;
		char *nb;

		if (cap < res->bytes + len)
			cap = res->bytes + len;
		nb = mem_realloc(res->buf, cap);
		/* re-point the items (consecutive in the buffer) into it */
		for (size_t i = 0, off = 0; i < res->n; off += res->items[i].len, i++)
			res->items[i].p = nb + off;
		res->buf = nb;
		res->bytes_cap = cap;
	}
	if (res->n == res->cap) {
		res->cap = res->cap ? 2 * res->cap : 4;
		res->items = mem_realloc(res->items, res->cap * sizeof(*res->items));
	}
	memcpy(res->buf + res->bytes, p, len);
	res->items[res->n++] =
	    (struct blk_item){.p = res->buf + res->bytes, .len = len, .score = score};
	res->bytes += len;
}

void blk_result_free(struct blk_result *res)
{
	mem_free(res->items);
	mem_free(res->buf);
	memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------ queues */

static uint64_t key_hash(int db, const char *p, size_t len)
{
	return siphash_1_2(hash_key, p, len) ^ ((uint64_t)(unsigned)db * 0x9e3779b97f4a7c15ULL);
}

static struct blk_shard *shard_of(uint64_t h)
{
	return &shards[h % BLK_SHARDS];
}

static uint32_t bucket_of(uint64_t h)
{
	return (uint32_t)((h / BLK_SHARDS) % BLK_BUCKETS);
}

static bool shard_held(const struct blk_shard *sh)
{
	return (held >> (sh - shards)) & 1;
}

/* Locks sh; a busy one is waited for offline (as the AOF's stripes are):
 * its holder may be a guard running a command that waits for a grace
 * period (FLUSHALL SYNC inside EXEC). Callers hold no entry: the end of a
 * command, a handler's last step (blk_block), the runner, the closer. */
static void shard_lock_offline(struct blk_shard *sh)
{
	if (pthread_mutex_trylock(&sh->mu) == 0)
		return;
	kvmap_thread_offline();
	pthread_mutex_lock(&sh->mu);
	kvmap_thread_online();
}

/* Locks sh unless this thread's guard holds it; true if it locked. */
static bool shard_lock(struct blk_shard *sh)
{
	if (shard_held(sh))
		return false;
	shard_lock_offline(sh);
	return true;
}

/* Shard lock held. */
static struct blk_queue **q_slot(struct blk_shard *sh, int db, const char *p, size_t len,
				 uint64_t h)
{
	struct blk_queue **pp = &sh->b[bucket_of(h)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->h == h && (*pp)->db == db && (*pp)->len == len &&
		    memcmp((*pp)->key, p, len) == 0)
			break;
	return pp;
}

/* Shard lock held: unlinks n from its queue, freeing the queue when empty. */
static void node_unlink(struct blk_shard *sh, struct blk_node *n)
{
	struct blk_queue *q = n->q;

	if (q == NULL)
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		q->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		q->tail = n->prev;
	n->q = NULL;
	n->prev = n->next = NULL;
	if (q->head == NULL) {
		struct blk_queue **pp = q_slot(sh, q->db, q->key, q->len, q->h);

		*pp = q->next;
		/* relaxed: a hint for blk_guard_enter (struct blk_shard) */
		atomic_fetch_sub_explicit(&sh->nq[bucket_of(q->h)], 1, memory_order_relaxed);
		mem_free(q);
	}
}

static void note_ready(int db, const char *p, size_t len);

/*
 * Claims w for a serve (WAITING -> SERVING). A waiter another server is
 * deciding on (SERVING, through another of its keys) is waited for, not
 * passed by: if that server gives it back, w is still first here (Redis's
 * order: a client blocked on several keys is not passed by a later one).
 * The wait is short and cannot cycle: a server in SERVING only pops for w
 * (db writes, which wait for nothing but an exclusive transaction, and no
 * thread holding the db's gate waits for a shard lock or a waiter).
 * Shard lock held.
 */
static bool claim_for_serve(struct blk_waiter *w)
{
	for (;;) {
		int st = BLK_WAITING;

		/* acq_rel: acquire the waiter's set-up (also ordered by the shard
		 * lock it was linked under) and the previous serve's writes */
		if (atomic_compare_exchange_strong_explicit(
			&w->state, &st, BLK_SERVING, memory_order_acq_rel, memory_order_acquire))
			return true;
		if (st != BLK_SERVING)
			return false;
		sched_yield();
	}
}

/* Nothing for w here: back to WAITING. Shard lock held (so w, linked on
 * this key, cannot be freed). */
static void give_back(struct blk_waiter *w)
{
	/* release: the serve's writes to the next claimer (its acq_rel CAS) */
	atomic_store_explicit(&w->state, BLK_WAITING, memory_order_release);
}

/*
 * Serves the waiters of (db, key) in FIFO order (blocking.h, "Serving").
 * The caller holds no shard lock and is outside any transaction.
 */
static void serve_key(int db, const char *p, size_t len, bool have_stripes)
{
	uint64_t h = key_hash(db, p, len);
	struct blk_shard *sh = shard_of(h);
	struct blk_queue *q;
	struct db_view v;
	int64_t now = clock_wall_ms();
	/* the AOF's order (aof.h): a serve's pop (and BLMOVE's push, to a key
	 * known only per waiter) is logged under every stripe, taken before
	 * the shard lock — dispatch takes stripes before shard locks too
	 * (blk_block) — unless the blocking command serving here already
	 * holds its keys' stripes */
	bool mine = shard_held(sh); /* the guard holds it, and the AOF's lock */
	bool locked = !have_stripes && !mine && aof_serve_lock();

	if (!mine)
		shard_lock_offline(sh);
	q = *q_slot(sh, db, p, len, h);
	db_view_init(g_db, db, &v);
	for (struct blk_node *n = q ? q->head : NULL, *next; n; n = next) {
		struct blk_waiter *w = n->w;
		enum blk_serve_rc rc;

		next = n->next;
		if (!claim_for_serve(w))
			continue; /* finished or cancelled: never served */
		rc = w->serve(w, &v, n->k, now);
		db_coll_end();
		if (rc == BLK_SERVED) {
			w->res.key = n->k;
			/* the queue goes away with its last node; then next is
			 * NULL (read before), so the loop touches it no more */
			node_unlink(sh, n);
			/* release: the result before DONE; pairs with the acquire
			 * load in blk_resume() */
			atomic_store_explicit(&w->state, BLK_DONE, memory_order_release);
			conn_wake(w->c);
			continue;
		}
		give_back(w);
		if (rc == BLK_EMPTY)
			break;
	}
	if (!mine)
		pthread_mutex_unlock(&sh->mu);
	if (locked)
		aof_serve_unlock();
}

/* ------------------------------------------------------------ ready keys */

/* db layer's hook (storage/db.h): on the writing thread. */
static void note_ready(int db, const char *p, size_t len)
{
	for (size_t i = ready.next; i < ready.n; i++)
		if (ready.v[i].db == db && ready.v[i].len == len &&
		    memcmp(ready.v[i].p, p, len) == 0)
			return; /* already pending in this step */
	if (ready.n == ready.cap) {
		ready.cap = ready.cap ? 2 * ready.cap : 8;
		ready.v = mem_realloc(ready.v, ready.cap * sizeof(*ready.v));
	}
	ready.v[ready.n].db = db;
	ready.v[ready.n].len = len;
	ready.v[ready.n].p = mem_alloc(len ? len : 1);
	memcpy(ready.v[ready.n].p, p, len);
	ready.n++;
}

void blk_note_db(int db)
{
	/* relaxed: a hint; a client blocking meanwhile re-checks its keys */
	if (atomic_load_explicit(&waiters, memory_order_relaxed) == 0)
		return;
	for (int i = 0; i < BLK_SHARDS; i++) {
		bool lk = shard_lock(&shards[i]); /* EXEC's guard may hold it */

		for (int b = 0; b < BLK_BUCKETS; b++)
			for (struct blk_queue *q = shards[i].b[b]; q; q = q->next)
				if (q->db == db)
					note_ready(db, q->key, q->len);
		if (lk)
			pthread_mutex_unlock(&shards[i].mu);
	}
}

bool blk_have_ready(void)
{
	return ready.n != 0;
}

void blk_serve_ready(void)
{
	/* serving may add keys (BLMOVE's destination): they are served in turn */
	while (ready.next < ready.n) {
		struct ready_key k = ready.v[ready.next];

		serve_key(k.db, k.p, k.len, false);
		ready.next++;
		mem_free(k.p);
	}
	ready.n = ready.next = 0;
	if (ready.cap > 64) {
		mem_free(ready.v);
		ready.v = NULL;
		ready.cap = 0;
	}
}

void blk_thread_exit(void)
{
	for (size_t i = ready.next; i < ready.n; i++)
		mem_free(ready.v[i].p);
	mem_free(ready.v);
	ready.v = NULL;
	ready.n = ready.next = ready.cap = 0;
}

/* ------------------------------------------------------------ the guard */

struct guard_keys {
	struct {
		int db;
		const char *p;
		size_t len;
	} * v; /* the keys with waiters: served first */
	size_t n, cap;
	uint64_t mask; /* the shards of the keys with waiters */
	uint64_t all;  /* the shards of every key */
};

/*
 * Notes (db, key): its shard in gk->all; and when it has waiters (its
 * bucket's count, then its queue, looked up under the shard lock: a bucket
 * shared with another key's queue is no reason to hold the lock across the
 * command) in gk->v and gk->mask. A waiter linking after the look-up
 * blocked concurrently with the command, not before it.
 */
static void guard_note(struct guard_keys *gk, int db, const char *p, size_t len)
{
	uint64_t h = key_hash(db, p, len);
	struct blk_shard *sh = shard_of(h);
	uint64_t bit = 1ULL << (sh - shards);
	bool has;

	gk->all |= bit;
	/* relaxed: a hint (struct blk_shard) */
	if (atomic_load_explicit(&sh->nq[bucket_of(h)], memory_order_relaxed) == 0)
		return;
	shard_lock_offline(sh);
	has = *q_slot(sh, db, p, len, h) != NULL;
	pthread_mutex_unlock(&sh->mu);
	if (!has)
		return;
	if (gk->n == gk->cap) {
		gk->cap = gk->cap ? 2 * gk->cap : 8;
		gk->v = mem_realloc(gk->v, gk->cap * sizeof(*gk->v));
	}
	gk->v[gk->n].db = db;
	gk->v[gk->n].p = p;
	gk->v[gk->n].len = len;
	gk->n++;
	gk->mask |= bit;
}

/* The keys of one command (its key specs, as the AOF's stripes find them). */
static void guard_cmd_keys(struct guard_keys *gk, int db, const struct cmd_def *d, int argc,
			   const char *const *argv, const size_t *argl)
{
	const struct cmd_doc *doc = cmd_docs_find(d->name);
	struct keyspec_key stack[64], *keys = stack;
	int cap, n;

	if (doc == NULL || !keyspec_has_keys(doc))
		return;
	cap = argc * (doc->nkeyspecs + 1);
	if (cap > 64)
		keys = mem_alloc((size_t)cap * sizeof(*keys));
	n = keyspec_find(doc, argc, argv, argl, keys, cap);
	for (int i = 0; i < n; i++)
		guard_note(gk, db, argv[keys[i].pos], argl[keys[i].pos]);
	if (keys != stack)
		mem_free(keys);
}

struct guard_exec {
	struct guard_keys *gk;
	int db; /* followed through the queue's SELECTs */
	bool swapdb;
};

static void guard_queued(void *arg, const struct cmd_def *d, int argc, const char *const *argv,
			 const size_t *argl)
{
	struct guard_exec *ge = arg;

	if (strcmp(d->name, "swapdb") == 0) {
		/* blk_note_db walks every shard: all of them, in order */
		ge->gk->all = ~0ULL >> (64 - BLK_SHARDS);
		ge->swapdb = true;
		return;
	}
	if (strcmp(d->name, "select") == 0 && argc == 2) {
		long v = 0;
		size_t i;

		/* SELECT's own check runs later; a bad index fails it there */
		for (i = 0; i < argl[1] && i < 9 && argv[1][i] >= '0' && argv[1][i] <= '9'; i++)
			v = v * 10 + (argv[1][i] - '0');
		if (i == argl[1] && i > 0)
			ge->db = (int)v;
		return;
	}
	guard_cmd_keys(ge->gk, ge->db, d, argc, argv, argl);
}

void blk_guard_enter(struct blk_guard *g, struct conn *c, const struct cmd_def *d, int argc,
		     const char *const *argv, const size_t *argl, bool have_stripes)
{
	struct guard_keys gk = {0};
	/* a command that takes shard locks itself while guarded holds the
	 * shards of all its keys (of every key: SWAPDB in EXEC), since locking
	 * one more inside the guard would break the increasing order: a
	 * blocking command links its waiter and re-checks each of its keys */
	bool all = false;

	g->mask = 0;
	g->aof = false;
	if (multi_is_exec(d)) {
		struct guard_exec ge = {.gk = &gk, .db = conn_db(c)};

		multi_each_queued(c, guard_queued, &ge);
		all = ge.swapdb;
	} else {
		guard_cmd_keys(&gk, conn_db(c), d, argc, argv, argl);
		all = d->acl && strstr(d->acl, "blocking");
	}
	if (gk.mask == 0)
		goto out; /* no key with waiters */
	if (all)
		gk.mask |= gk.all;
	/* the AOF's order first (serve_key's): a command holding none of its
	 * stripes (a read) takes them all, as a serve does */
	g->aof = !have_stripes && aof_serve_lock();
	/* shards in increasing order (the only thread taking several); a busy
	 * one is waited for offline, as the AOF's stripes are: the holder may
	 * run a command that waits for a grace period */
	for (int i = 0; i < BLK_SHARDS; i++) {
		if (!((gk.mask >> i) & 1))
			continue;
		shard_lock_offline(&shards[i]);
	}
	g->mask = gk.mask;
	held |= gk.mask;
	/* the pushes before this command are served before it runs */
	for (size_t i = 0; i < gk.n; i++)
		serve_key(gk.v[i].db, gk.v[i].p, gk.v[i].len, true);
out:
	mem_free(gk.v);
}

void blk_guard_exit(struct blk_guard *g)
{
	for (int i = BLK_SHARDS; i-- > 0;)
		if ((g->mask >> i) & 1)
			pthread_mutex_unlock(&shards[i].mu);
	held &= ~g->mask;
	g->mask = 0;
	if (g->aof)
		aof_serve_unlock();
	g->aof = false;
}

/* ------------------------------------------------------------ the timer */

static bool heap_less(long a, long b)
{
	return tm.heap[a]->deadline_us < tm.heap[b]->deadline_us;
}

static void heap_swap(long a, long b)
{
	struct blk_waiter *t = tm.heap[a];

	tm.heap[a] = tm.heap[b];
	tm.heap[b] = t;
	tm.heap[a]->heap_idx = a;
	tm.heap[b]->heap_idx = b;
}

static void heap_up(long i)
{
	while (i > 0 && heap_less(i, (i - 1) / 2)) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(long i)
{
	for (;;) {
		long l = 2 * i + 1, r = l + 1, m = i;

		if (l < tm.n && heap_less(l, m))
			m = l;
		if (r < tm.n && heap_less(r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

/* tm.mu held */
static void heap_remove(struct blk_waiter *w)
{
	long i = w->heap_idx;

	if (i < 0)
		return;
	w->heap_idx = -1;
	tm.n--;
	if (i != tm.n) {
		tm.heap[i] = tm.heap[tm.n];
		tm.heap[i]->heap_idx = i;
		heap_down(i);
		heap_up(i);
	}
	/* relaxed: statistic */
	atomic_store_explicit(&tm_count, tm.n, memory_order_relaxed);
}

/* tm.mu held */
static void heap_insert(struct blk_waiter *w)
{
	if (tm.n == tm.cap) {
		tm.cap = tm.cap ? 2 * tm.cap : 64;
		tm.heap = mem_realloc(tm.heap, (size_t)tm.cap * sizeof(*tm.heap));
	}
	tm.heap[tm.n] = w;
	w->heap_idx = tm.n;
	tm.n++;
	heap_up(tm.n - 1);
	/* relaxed: statistic */
	atomic_store_explicit(&tm_count, tm.n, memory_order_relaxed);
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tm.mu);
	while (!tm.stop) {
		struct blk_waiter *w;
		int64_t now;
		int st = BLK_WAITING;

		if (tm.n == 0) {
			pthread_cond_wait(&tm.cv, &tm.mu);
			continue;
		}
		w = tm.heap[0];
		now = clock_mono_us();
		if (w->deadline_us > now) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)((w->deadline_us - now) / 1000000);
			ts.tv_nsec += (long)((w->deadline_us - now) % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&tm.cv, &tm.mu, &ts);
			continue;
		}
		/* acq_rel: claims the waiter against serves and cancels */
		if (atomic_compare_exchange_strong_explicit(
			&w->state, &st, BLK_TIMEDOUT, memory_order_acq_rel, memory_order_relaxed)) {
			heap_remove(w);
			conn_wake(w->c); /* under tm.mu: see "Lifetime" */
		} else if (st == BLK_SERVING) {
			/* a serve is deciding: look again in a millisecond (if it
			 * served, the runner takes the waiter out meanwhile) */
			w->deadline_us = now + 1000;
			heap_down(0);
		} else {
			heap_remove(w); /* finished otherwise */
		}
	}
	pthread_mutex_unlock(&tm.mu);
	return NULL;
}

/* ------------------------------------------------------------ ids */

/* ids.mu held */
static struct blk_waiter **id_slot(uint64_t id)
{
	struct blk_waiter **pp = &ids.b[id % BLK_IDS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->id_next;
	return pp;
}

/* ------------------------------------------------------------ set-up */

void blk_setup(struct db *db)
{
	pthread_condattr_t ca;

	g_db = db;
	for (int i = 0; i < BLK_SHARDS; i++)
		pthread_mutex_init(&shards[i].mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tm.cv, &ca);
	pthread_condattr_destroy(&ca);
	tm.stop = false;
	if (pthread_create(&tm.thread, NULL, timer_main, NULL) == 0)
		tm.started = true;
	db_set_ready_hook(note_ready, &waiters);
}

void blk_stop(void)
{
	if (tm.started) {
		pthread_mutex_lock(&tm.mu);
		tm.stop = true;
		pthread_cond_signal(&tm.cv);
		pthread_mutex_unlock(&tm.mu);
		pthread_join(tm.thread, NULL);
		tm.started = false;
	}
}

void blk_teardown(void)
{
	blk_stop();
	mem_free(tm.heap);
	tm.heap = NULL;
	tm.n = tm.cap = 0;
	pthread_cond_destroy(&tm.cv);
	for (int i = 0; i < BLK_SHARDS; i++)
		pthread_mutex_destroy(&shards[i].mu);
	db_set_ready_hook(NULL, NULL);
}

/* ------------------------------------------------------------ blocking */

int blk_parse_timeout(struct cmd_req *r, int i, int64_t *deadline_us)
{
	long double ft;
	long long ms;

	if (!su_str2ld(r->argv[i], r->argl[i], &ft)) {
		reply_error(r->c, "ERR timeout is not a float or out of range");
		return 0;
	}
	/* Redis: (long long)(ftval * 1000.0); a value no long long holds is
	 * undefined there and LLONG_MIN on x86 (so "negative") */
	ft *= 1000.0L;
	if (!(ft > (long double)LLONG_MIN && ft < (long double)LLONG_MAX))
		ms = LLONG_MIN;
	else
		ms = (long long)ft;
	if (ms < 0) {
		reply_error(r->c, "ERR timeout is negative");
		return 0;
	}
	/* Redis 7.0 has no upper bound (its deadline overflows): a deadline
	 * beyond what CLOCK_MONOTONIC reaches is forever */
	if (ms == 0) {
		*deadline_us = 0;
	} else {
		int64_t now = clock_mono_us();

		*deadline_us = ms > (INT64_MAX - now) / 1000 ? INT64_MAX : now + ms * 1000;
	}
	return 1;
}

static struct blk_waiter *waiter_of(struct conn *c)
{
	struct session *s = session_of(c);

	if (s->blk == NULL) {
		s->blk = mem_calloc(1, sizeof(*s->blk));
		atomic_init(&s->blk->state, BLK_IDLE);
		s->blk->heap_idx = -1;
	}
	return s->blk;
}

static void keys_free(struct blk_waiter *w)
{
	for (int k = 0; k < w->nkeys; k++)
		mem_free(w->keys[k].p);
	mem_free(w->keys);
	mem_free(w->nodes);
	mem_free(w->dst.p);
	w->keys = NULL;
	w->nodes = NULL;
	w->dst.p = NULL;
	w->nkeys = 0;
}

struct blk_waiter *blk_waiter_prepare(struct cmd_req *r, const int *key_args, int n)
{
	struct blk_waiter *w = waiter_of(r->c);

	/* relaxed: the runner's own last store */
	KV_ASSERT(atomic_load_explicit(&w->state, memory_order_relaxed) == BLK_IDLE);
	keys_free(w);
	blk_result_free(&w->res);
	w->c = r->c;
	w->id = conn_id(r->c);
	w->db = conn_db(r->c);
	w->keys = mem_calloc((size_t)n, sizeof(*w->keys));
	w->nodes = mem_calloc((size_t)n, sizeof(*w->nodes));
	w->nkeys = 0;
	for (int k = 0; k < n; k++) {
		const char *p = r->argv[key_args[k]];
		size_t len = r->argl[key_args[k]];
		bool dup = false;

		/* the same key twice is queued once (its first position) */
		for (int j = 0; j < w->nkeys && !dup; j++)
			dup = w->keys[j].len == len && memcmp(w->keys[j].p, p, len) == 0;
		if (dup)
			continue;
		w->keys[w->nkeys].p = mem_alloc(len ? len : 1);
		memcpy(w->keys[w->nkeys].p, p, len);
		w->keys[w->nkeys].len = len;
		w->nkeys++;
	}
	w->serve = NULL;
	w->reply = NULL;
	w->where = w->whereto = 0;
	w->count = 1;
	w->deadline_us = 0;
	return w;
}

void blk_set_dst(struct blk_waiter *w, const char *p, size_t len)
{
	mem_free(w->dst.p);
	w->dst.p = mem_alloc(len ? len : 1);
	memcpy(w->dst.p, p, len);
	w->dst.len = len;
}

void blk_block(struct cmd_req *r, struct blk_waiter *w)
{
	/* relaxed: published to servers by the shard locks it is linked under,
	 * to the timer and CLIENT UNBLOCK by theirs */
	atomic_store_explicit(&w->state, BLK_WAITING, memory_order_relaxed);
	for (int k = 0; k < w->nkeys; k++) {
		struct blk_node *n = &w->nodes[k];
		uint64_t h = key_hash(w->db, w->keys[k].p, w->keys[k].len);
		struct blk_shard *sh = shard_of(h);
		struct blk_queue **pp, *q;

		bool lk;

		n->w = w;
		n->k = k;
		lk = shard_lock(sh); /* the command's guard may hold it */
		pp = q_slot(sh, w->db, w->keys[k].p, w->keys[k].len, h);
		q = *pp;
		if (q == NULL) {
			q = mem_alloc(sizeof(*q) + w->keys[k].len);
			q->next = NULL;
			q->h = h;
			q->db = w->db;
			q->len = w->keys[k].len;
			q->head = q->tail = NULL;
			memcpy(q->key, w->keys[k].p, q->len);
			*pp = q;
			/* relaxed: a hint for blk_guard_enter (struct blk_shard) */
			atomic_fetch_add_explicit(&sh->nq[bucket_of(h)], 1, memory_order_relaxed);
		}
		n->q = q;
		n->prev = q->tail;
		n->next = NULL;
		if (q->tail)
			q->tail->next = n;
		else
			q->head = n;
		q->tail = n;
		if (lk)
			pthread_mutex_unlock(&sh->mu);
	}
	pthread_mutex_lock(&ids.mu);
	{
		struct blk_waiter **pp = id_slot(w->id);

		if (*pp == NULL) {
			w->id_next = NULL;
			*pp = w;
			w->in_ids = true;
		}
	}
	pthread_mutex_unlock(&ids.mu);
	if (w->deadline_us) {
		pthread_mutex_lock(&tm.mu);
		heap_insert(w);
		if (w->heap_idx == 0)
			pthread_cond_signal(&tm.cv);
		pthread_mutex_unlock(&tm.mu);
	}
	/* seq_cst: the increment, then the fence, then the re-check below —
	 * the blocking side of the store-buffering pair ("No lost wakeup") */
	atomic_fetch_add_explicit(&waiters, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	conn_block(r->c);
	for (int k = 0; k < w->nkeys; k++)
		serve_key(w->db, w->keys[k].p, w->keys[k].len, true);
}

/* Unlinks w from every structure (holding no lock; w is not WAITING nor
 * SERVING any more). */
static void unlink_all(struct blk_waiter *w)
{
	bool linked = false;

	for (int k = 0; k < w->nkeys; k++) {
		struct blk_node *n = &w->nodes[k];
		uint64_t h = key_hash(w->db, w->keys[k].p, w->keys[k].len);
		struct blk_shard *sh = shard_of(h);

		bool lk = shard_lock(sh);

		node_unlink(sh, n);
		if (lk)
			pthread_mutex_unlock(&sh->mu);
	}
	pthread_mutex_lock(&tm.mu);
	heap_remove(w);
	pthread_mutex_unlock(&tm.mu);
	pthread_mutex_lock(&ids.mu);
	if (w->in_ids) {
		struct blk_waiter **pp = id_slot(w->id);

		if (*pp == w)
			*pp = w->id_next;
		w->in_ids = false;
		linked = true;
	}
	pthread_mutex_unlock(&ids.mu);
	if (linked)
		/* seq_cst: the count's other side; nothing orders after it */
		atomic_fetch_sub_explicit(&waiters, 1, memory_order_seq_cst);
}

bool blk_resume(struct conn *c)
{
	struct session *s = session_of(c);
	struct blk_waiter *w = s ? s->blk : NULL;
	int st;

	if (w == NULL)
		return true;
	/* acquire: pairs with the release store of DONE in serve_key() (the
	 * result), and with the claims' acq_rel CASes */
	st = atomic_load_explicit(&w->state, memory_order_acquire);
	if (st == BLK_WAITING || st == BLK_SERVING)
		return false;
	if (st == BLK_IDLE)
		return true;
	unlink_all(w);
	if (w->res.aof_lsn)
		aof_note_lsn(c, w->res.aof_lsn);
	if (st == BLK_UNBLOCKED_ERROR)
		reply_error(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
	else
		w->reply(c, w);
	blk_result_free(&w->res);
	/* relaxed: nobody else references w now */
	atomic_store_explicit(&w->state, BLK_IDLE, memory_order_relaxed);
	return true;
}

/* Moves w out of WAITING into `to`; waits while a serve decides. Returns
 * the state it found (WAITING if it won). */
static int claim(struct blk_waiter *w, int to, bool may_wait)
{
	for (;;) {
		int st = BLK_WAITING;

		/* acq_rel: against the serves' and the timer's claims */
		if (atomic_compare_exchange_strong_explicit(
			&w->state, &st, to, memory_order_acq_rel, memory_order_acquire))
			return BLK_WAITING;
		if (st != BLK_SERVING || !may_wait)
			return st;
		sched_yield(); /* a serve holds a shard lock and ends soon */
	}
}

void blk_conn_close(struct conn *c, void *session)
{
	struct session *s = session;
	struct blk_waiter *w = s ? s->blk : NULL;

	(void)c;
	if (w == NULL)
		return;
	/* acquire: a finished waiter's result (as blk_resume) before it is freed */
	if (atomic_load_explicit(&w->state, memory_order_acquire) != BLK_IDLE) {
		(void)claim(w, BLK_CANCELLED, true);
		unlink_all(w);
	}
	blk_result_free(&w->res);
	keys_free(w);
	mem_free(w);
	s->blk = NULL;
}

int blk_unblock(uint64_t id, bool error, bool in_txn)
{
	for (;;) {
		struct blk_waiter *w;
		int st = BLK_IDLE;

		pthread_mutex_lock(&ids.mu);
		w = *id_slot(id);
		if (w) {
			st = claim(w, error ? BLK_UNBLOCKED_ERROR : BLK_UNBLOCKED, false);
			if (st == BLK_WAITING)
				conn_wake(w->c); /* under ids.mu: see "Lifetime" */
		}
		pthread_mutex_unlock(&ids.mu);
		if (st != BLK_SERVING || in_txn)
			return st == BLK_WAITING;
		/* a serve is deciding: wait for it without holding ids.mu (a
		 * CLIENT UNBLOCK inside an exclusive transaction takes ids.mu,
		 * and the serve may be waiting for that transaction), then look
		 * the id up again */
		sched_yield();
	}
}

long blk_blocked_clients(void)
{
	/* relaxed: a statistic */
	return atomic_load_explicit(&waiters, memory_order_relaxed);
}

long blk_timeout_clients(void)
{
	/* relaxed: a statistic */
	return atomic_load_explicit(&tm_count, memory_order_relaxed);
}
