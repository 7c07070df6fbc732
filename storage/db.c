/*
 * db.c — the keyspace: a kvmap, its views (plain and transactional), lazy
 * expiry, and keyspace statistics.
 *
 * Views: every call below routes on its view's txn field — NULL: the map
 * (kvmap.h), else the transaction's overlay (txn.h) — and nowhere else; the
 * TTL count of a transaction's writes is applied when its commit publishes
 * them (kvtxn_commit's ttl_delta), not at each overlay write.
 *
 * Lazy expiry: a lookup that finds an entry whose expire_ms has passed
 * removes exactly that entry (kvmap_remove is itself a CAS on the entry, so
 * a concurrent writer's newer entry is never removed by mistake) and reports
 * the key missing. Writers go through db_put(), one CAS step. Active expiry
 * lives in expire.c, the memory limit and eviction in evict.c.
 *
 * Exclusive transactions. An optimistic transaction re-runs when another
 * writer changed what it read; under steady conflicting writes it could
 * re-run forever, and a transaction with effects outside the map (CONFIG
 * SET, CLIENT KILL) must not re-run at all. So after DB_TXN_OPTIMISTIC
 * failed attempts, or from the start when the caller asks, an attempt runs
 * exclusively: no other thread writes to the map while it runs, so it reads
 * a state nobody changes and its commit cannot conflict (kvtxn_begin_exclusive).
 * Readers are not stopped: they keep reading the map lock-free and see the
 * commit as one MWCAS, as any other.
 *  - Every map write outside an exclusive transaction — a plain-view
 *    db_put or db_flush, an optimistic commit, lazy and active expiry,
 *    eviction — runs inside a write bracket: the thread adds 1 to its slot's
 *    `writers` (seq_cst), then loads `gate` (seq_cst); if the gate is
 *    closed it takes the 1 back and waits until it opens (lazy and active
 *    expiry skip their removal instead). db_write_exit subtracts 1
 *    (release: the writes before it happen-before the exclusive run).
 *  - The exclusive side takes a ticket (FIFO among exclusive contenders),
 *    waits for its turn, closes the gate (seq_cst store), then waits until
 *    every slot's `writers` is 0 (seq_cst loads). In the single total order
 *    of seq_cst operations, either a writer's load of `gate` follows the
 *    store and it backs off, or the writer's increment precedes the
 *    holder's load of its slot and the holder waits for its exit (Dekker):
 *    no write can overlap the exclusive run. Leaving, it opens the gate and
 *    advances the ticket.
 * Progress: a transaction commits after at most DB_TXN_OPTIMISTIC failed
 * attempts plus the wait for the exclusive runs queued before it, each of
 * which runs once and cannot fail; waiting exclusive contenders are served
 * in ticket order, so none starves. Writers are blocked only while an
 * exclusive run lasts. Between attempts and while waiting for its turn the
 * thread announces quiescent states, so reclamation never stalls on it.
 * The cost to an ordinary write is one uncontended RMW pair on the
 * thread's own slot line and a load of the read-mostly gate line.
 *
 * Counters (keys with a TTL, hits, misses, expired, evicted) live in
 * per-thread slots padded to a cache line, so they are not one contended
 * word; readers sum the slots. Each slot has one writer at a time: the thread
 * that claimed it.
 */
#include "storage/db.h"
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "storage/db_internal.h"
#include "storage/txn.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct db_slot *db_my_slot(struct db *db)
{
	/* The context's ticket only spreads threads over slots; a shared slot
	 * stays correct because every update is an atomic read-modify-write. */
	return &db->slots[wctx_self()->ticket % DB_SLOTS];
}

/* ---- write brackets and the exclusive gate (see "Exclusive transactions") */

void db_write_enter(struct db *db)
{
	struct db_slot *s = db_my_slot(db);

	for (;;) {
		/* seq_cst: Dekker with excl_enter(): our increment and its gate
		 * store are ordered in the single total order */
		atomic_fetch_add_explicit(&s->writers, 1, memory_order_seq_cst);
		/* seq_cst: the other half of the pair */
		if (kv_likely(!atomic_load_explicit(&db->gate, memory_order_seq_cst)))
			return;
		/* relaxed: taking back an increment that published nothing */
		atomic_fetch_sub_explicit(&s->writers, 1, memory_order_relaxed);
		/* relaxed: only a hint when to try again (the loop re-checks) */
		while (atomic_load_explicit(&db->gate, memory_order_relaxed))
			sched_yield(); /* the caller may hold entries: no quiescent state */
	}
}

bool db_write_try(struct db *db)
{
	struct db_slot *s = db_my_slot(db);

	/* seq_cst: as in db_write_enter() */
	atomic_fetch_add_explicit(&s->writers, 1, memory_order_seq_cst);
	/* seq_cst: as in db_write_enter() */
	if (kv_likely(!atomic_load_explicit(&db->gate, memory_order_seq_cst)))
		return true;
	/* relaxed: taking back an increment that published nothing */
	atomic_fetch_sub_explicit(&s->writers, 1, memory_order_relaxed);
	return false;
}

void db_write_exit(struct db *db)
{
	/* release: our writes happen-before an exclusive run that sees 0 */
	atomic_fetch_sub_explicit(&db_my_slot(db)->writers, 1, memory_order_release);
}

/* Waiting for an exclusive turn: the caller holds no entry, so it lets
 * reclamation go on, and yields the CPU to whoever it waits for. */
static void excl_pause(void)
{
	kvmap_quiescent();
	sched_yield();
}

static void excl_enter(struct db *db)
{
	/* relaxed: a ticket; only its distinctness matters */
	uint32_t me = atomic_fetch_add_explicit(&db->excl_next, 1, memory_order_relaxed);

	/* acquire: pairs with the release in excl_exit(): the previous
	 * exclusive run's writes happen-before ours */
	while (atomic_load_explicit(&db->excl_serving, memory_order_acquire) != me)
		excl_pause();
	/* seq_cst: Dekker with db_write_enter() (see above) */
	atomic_store_explicit(&db->gate, 1, memory_order_seq_cst);
	for (int i = 0; i < DB_SLOTS; i++)
		/* seq_cst: the other half of the pair; synchronises with the
		 * release of db_write_exit() */
		while (atomic_load_explicit(&db->slots[i].writers, memory_order_seq_cst) != 0)
			excl_pause();
}

static void excl_exit(struct db *db)
{
	/* release: our commit before the writers that see the gate open */
	atomic_store_explicit(&db->gate, 0, memory_order_release);
	/* release: pairs with the acquire of the next ticket's holder */
	atomic_fetch_add_explicit(&db->excl_serving, 1, memory_order_release);
}

struct db *db_create(enum kvmap_backend backend)
{
	struct db *db = mem_alloc_aligned(KV_CACHELINE, sizeof(*db));

	memset(db, 0, sizeof(*db));
	db->samples = 5;
	db->policy = DB_NOEVICTION;
	/* cds_lfht has no seek by hash: each SCAN call walks from the head, so
	 * active expiry takes fewer, larger steps there */
	db->scan_batch = backend == KVMAP_URCU ? 1024 : 0;
	db->map = kvmap_create(backend, 0);
	if (db->map == NULL) {
		mem_free(db);
		return NULL;
	}
	db->plain = (struct db_view){.db = db, .txn = NULL, .exclusive = false};
	return db;
}

void db_destroy(struct db **pdb)
{
	struct db *db = *pdb;

	if (db == NULL)
		return;
	kvmap_destroy(&db->map);
	for (int i = 0; i < DB_EVPOOL; i++)
		mem_free(db->pool[i].key);
	mem_free(db->expire_scratch);
	{
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_relaxed);

		if (t) {
			t->older = db->retired_touch;
			db->retired_touch = t;
		}
		while (db->retired_touch) {
			t = db->retired_touch;
			db->retired_touch = t->older;
			mem_free(t);
		}
	}
	mem_free(db);
	*pdb = NULL;
}

struct kvmap *db_map(struct db *db)
{
	return db->map;
}

const struct db_view *db_plain(struct db *db)
{
	return &db->plain;
}

int db_in_txn(const struct db_view *v)
{
	return v->txn != NULL;
}

/* db_lookup, and db_lookup_notouch when touch is false. */
static const struct kv_entry *lookup(const struct db_view *v, const void *key, size_t klen,
				     int64_t now_ms, uint64_t *hashp, int count_stats, bool touch)
{
	struct db *db = v->db;
	uint64_t h = kvmap_hash(key, klen);
	const struct kv_entry *e;

	if (hashp)
		*hashp = h;
	e = v->txn ? kvtxn_get(v->txn, key, klen, h) : kvmap_get(db->map, key, klen, h);
	if (e && e->expire_ms && e->expire_ms <= now_ms) {
		if (v->txn) {
			if (kvtxn_remove(v->txn, e) == 0) /* TTL count: at commit */
				db_count(&db_my_slot(db)->expired, 1);
		} else if (db_write_try(db)) { /* an exclusive run: leave it there */
			if (kvmap_remove(db->map, e) == 0) {
				db_count(&db_my_slot(db)->expired, 1);
				db_count_expires(db, -1);
			}
			db_write_exit(db);
		}
		e = NULL;
	}
	if (e && touch) {
		/* acquire: pairs with the release in db_set_memory_policy(); NULL
		 * only under an LFU-less, LRU-less build of the table (see db.h) */
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);

		if (kv_unlikely(t != NULL))
			db_touch_access(t, h, now_ms);
	}
	if (count_stats)
		db_count(e ? &db_my_slot(db)->hits : &db_my_slot(db)->misses, 1);
	return e;
}

const struct kv_entry *db_lookup(const struct db_view *v, const void *key, size_t klen,
				 int64_t now_ms, uint64_t *hashp, int count_stats)
{
	return lookup(v, key, klen, now_ms, hashp, count_stats, true);
}

const struct kv_entry *db_lookup_notouch(const struct db_view *v, const void *key, size_t klen,
					 int64_t now_ms, uint64_t *hashp, int count_stats)
{
	return lookup(v, key, klen, now_ms, hashp, count_stats, false);
}

/* One CAS step on the overlay: it cannot lose a race, but a stale `old`
 * (not the overlay's current entry) fails as on the map. */
static int txn_put(struct kvtxn *t, const struct kv_entry *old, struct kv_entry *e)
{
	if (old == NULL)
		return kvtxn_insert(t, e, NULL) == 0 ? 0 : -EAGAIN;
	if (e == NULL)
		return kvtxn_remove(t, old) == 0 ? 0 : -EAGAIN;
	return kvtxn_replace(t, old, e);
}

static int map_put(struct db *db, const struct kv_entry *old, struct kv_entry *e)
{
	int rc;

	db_write_enter(db);
	if (old == NULL) {
		rc = kvmap_insert(db->map, e, NULL);
		if (rc == -EEXIST)
			rc = -EAGAIN;
	} else if (e == NULL) {
		rc = kvmap_remove(db->map, old);
		if (rc == -ENOENT)
			rc = -EAGAIN;
	} else {
		rc = kvmap_replace(db->map, old, e);
	}
	db_write_exit(db);
	if (rc == 0)
		db_count_expires(db, (e && e->expire_ms ? 1 : 0) - (old && old->expire_ms ? 1 : 0));
	return rc;
}

int db_put(const struct db_view *v, const struct kv_entry *old, struct kv_entry *e)
{
	struct db *db = v->db;
	int rc;

	if (old == NULL && e == NULL)
		return 0;
	rc = v->txn ? txn_put(v->txn, old, e) : map_put(db, old, e);
	if (rc == 0 && old == NULL) {
		/* acquire: pairs with the release in db_set_memory_policy() */
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);

		if (t)
			db_touch_new(t, kvmap_hash(kv_entry_key(e), e->klen), clock_wall_ms());
	}
	return rc;
}

long long db_size(const struct db_view *v)
{
	long long n = (long long)kvmap_count(v->db->map);

	if (v->txn)
		n += kvtxn_count_delta(v->txn);
	return n > 0 ? n : 0;
}

long long db_expires(struct db *db)
{
	int64_t n = 0;

	for (int i = 0; i < DB_SLOTS; i++)
		n += atomic_load_explicit(&db->slots[i].expires, memory_order_relaxed);
	return n < 0 ? 0 : n;
}

long long db_flush(const struct db_view *v)
{
	struct db *db = v->db;
	size_t n;

	if (!v->exclusive)
		db_write_enter(db);
	n = v->txn ? kvtxn_clear(v->txn) : kvmap_clear(db->map);
	if (!v->exclusive)
		db_write_exit(db);

	/* Keys with a TTL are gone too. Concurrent TTL writers may leave the sum off
	 * by what they add meanwhile; it is a statistic. */
	for (int i = 0; i < DB_SLOTS; i++)
		atomic_store_explicit(&db->slots[i].expires, 0, memory_order_relaxed);
	/* avg_ttl described the keys just removed: the expiring thread restarts
	 * it (its only writer). Release: the removals happen before the flag;
	 * pairs with the acquire in expire.c's avg_ttl_restart(), so samples
	 * taken after the restart see none of the flushed keys */
	atomic_store_explicit(&db->avg_ttl_stale, 1, memory_order_release);
	return (long long)n;
}

uint64_t db_scan(const struct db_view *v, uint64_t cursor, size_t count, kvmap_visit_fn fn,
		 void *arg)
{
	return kvmap_scan(v->db->map, cursor, count, fn, arg);
}

const struct kv_entry *db_random(const struct db_view *v, uint64_t rnd)
{
	return kvmap_random(v->db->map, rnd);
}

void db_watch(const struct db_view *v, const char *key, size_t klen, int64_t now_ms,
	      struct kvtxn_watch *w)
{
	uint64_t h;

	/* the entry first (lazy expiry removes a dead one), then the stripe:
	 * kvmap.h's order for an ABA-safe watch */
	w->ptr = db_lookup(v, key, klen, now_ms, &h, 0);
	w->key = key;
	w->klen = klen;
	w->hash = h;
	w->stripe = kvmap_stripe(v->db->map, h);
}

/* ---- transactions */

struct db_txn {
	struct db_view view; /* {db, the overlay, exclusive} */
	unsigned failed;     /* attempts that failed in a row */
};

struct db_txn *db_txn_create(struct db *db)
{
	struct db_txn *t = mem_alloc(sizeof(*t));

	t->view = (struct db_view){.db = db, .txn = kvtxn_create(db->map), .exclusive = false};
	t->failed = 0;
	return t;
}

void db_txn_destroy(struct db_txn **pt)
{
	struct db_txn *t = *pt;

	if (!t)
		return;
	kvtxn_destroy(&t->view.txn);
	mem_free(t);
	*pt = NULL;
}

const struct db_view *db_txn_begin(struct db_txn *t, const struct kvtxn_watch *w, size_t nw,
				   bool exclusive)
{
	if (t->failed > 0) {
		/* between attempts: nothing of the last one is held (db.h) */
		kvmap_quiescent();
		if (t->failed > 2)
			sched_yield(); /* let the conflicting writers finish */
	}
	t->view.exclusive = exclusive || t->failed >= DB_TXN_OPTIMISTIC;
	if (t->view.exclusive) {
		db_count(&db_my_slot(t->view.db)->txn_exclusive, 1);
		excl_enter(t->view.db);
		kvtxn_begin_exclusive(t->view.txn, w, nw);
	} else {
		kvtxn_begin(t->view.txn, w, nw);
	}
	return &t->view;
}

int db_txn_commit(struct db_txn *t)
{
	struct db *db = t->view.db;
	int64_t ttl = 0;
	int rc;

	if (t->view.exclusive) {
		rc = kvtxn_commit(t->view.txn, &ttl);
		excl_exit(db);
		t->view.exclusive = false;
	} else {
		db_write_enter(db);
		rc = kvtxn_commit(t->view.txn, &ttl);
		db_write_exit(db);
	}
	t->failed = rc == -EAGAIN ? t->failed + 1 : 0;
	if (rc == -EAGAIN)
		db_count(&db_my_slot(db)->txn_conflicts, 1);
	if (rc == 0)
		db_count_expires(db, ttl);
	return rc;
}

int db_txn_poll(struct db_txn *t)
{
	return kvtxn_poll(t->view.txn);
}

/* relaxed loads and stores below: statistics, they publish nothing */
void db_get_stats(struct db *db, struct db_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < DB_SLOTS; i++) {
		s->hits += atomic_load_explicit(&db->slots[i].hits, memory_order_relaxed);
		s->misses += atomic_load_explicit(&db->slots[i].misses, memory_order_relaxed);
		s->expired_keys +=
		    atomic_load_explicit(&db->slots[i].expired, memory_order_relaxed);
		s->evicted_keys +=
		    atomic_load_explicit(&db->slots[i].evicted, memory_order_relaxed);
		s->txn_conflicts +=
		    atomic_load_explicit(&db->slots[i].txn_conflicts, memory_order_relaxed);
		s->txn_exclusive +=
		    atomic_load_explicit(&db->slots[i].txn_exclusive, memory_order_relaxed);
	}
	s->expired_stale_perc =
	    (double)atomic_load_explicit(&db->stale_perc_x1e4, memory_order_relaxed) / 100.0;
	s->expired_time_cap_reached =
	    atomic_load_explicit(&db->time_cap_reached, memory_order_relaxed);
	s->expire_cycle_us = atomic_load_explicit(&db->cycle_us, memory_order_relaxed);
	s->expire_cycles = atomic_load_explicit(&db->cycles, memory_order_relaxed);
	/* acquire: pairs with the release in expire.c's avg_ttl_restart(), so a
	 * cleared flag is never read with the average from before the flush */
	if (atomic_load_explicit(&db->avg_ttl_stale, memory_order_acquire))
		s->avg_ttl_ms = 0;
	else
		s->avg_ttl_ms = atomic_load_explicit(&db->avg_ttl, memory_order_relaxed);
}

void db_reset_stats(struct db *db)
{
	for (int i = 0; i < DB_SLOTS; i++) {
		atomic_store_explicit(&db->slots[i].hits, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].misses, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].expired, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].evicted, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].txn_conflicts, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].txn_exclusive, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&db->stale_perc_x1e4, 0, memory_order_relaxed);
	atomic_store_explicit(&db->time_cap_reached, 0, memory_order_relaxed);
	atomic_store_explicit(&db->cycle_us, 0, memory_order_relaxed);
	atomic_store_explicit(&db->cycles, 0, memory_order_relaxed);
}

long long db_key_memory(const struct db_view *v, const void *key, size_t klen, int64_t now_ms)
{
	/* no db_lookup: MEMORY USAGE neither touches the key nor counts a hit */
	uint64_t h = kvmap_hash(key, klen);
	const struct kv_entry *e =
	    v->txn ? kvtxn_get(v->txn, key, klen, h) : kvmap_get(v->db->map, key, klen, h);

	if (e == NULL || (e->expire_ms && e->expire_ms <= now_ms))
		return -1;
	/* the entry's allocation plus its slot word in the map's table */
	return (long long)(kv_entry_size(e) + sizeof(void *));
}
