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
 * Counters (keys with a TTL, hits, misses, expired, evicted) live in
 * per-thread slots padded to a cache line, so they are not one contended
 * word; readers sum the slots. Each slot has one writer at a time: the thread
 * that claimed it.
 */
#include "storage/db.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/db_internal.h"
#include "storage/txn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic unsigned slot_next;
static __thread int slot_self = -1;

struct db_slot *db_my_slot(struct db *db)
{
	if (kv_unlikely(slot_self < 0))
		/* relaxed: only spreads threads over slots; a shared slot stays correct
		 * because every update below is an atomic read-modify-write */
		slot_self = (int)(atomic_fetch_add_explicit(&slot_next, 1, memory_order_relaxed) %
				  DB_SLOTS);
	return &db->slots[slot_self];
}

int64_t db_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct db *db_create(enum kvmap_backend backend)
{
	struct db *db = aligned_alloc(KV_CACHELINE, sizeof(*db));

	if (db == NULL)
		return NULL;
	memset(db, 0, sizeof(*db));
	db->samples = 5;
	db->policy = DB_NOEVICTION;
	/* cds_lfht has no seek by hash: each SCAN call walks from the head, so
	 * active expiry takes fewer, larger steps there */
	db->scan_batch = backend == KVMAP_URCU ? 1024 : 0;
	db->map = kvmap_create(backend, 0);
	if (db->map == NULL) {
		free(db);
		return NULL;
	}
	db->plain = (struct db_view){.db = db, .txn = NULL};
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
	free(db);
	*pdb = NULL;
}

struct kvmap *db_map(struct db *db)
{
	return db->map;
}

int64_t db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct db_view *db_plain(struct db *db)
{
	return &db->plain;
}

struct db *db_of(const struct db_view *v)
{
	return v->db;
}

int db_in_txn(const struct db_view *v)
{
	return v->txn != NULL;
}

const struct kv_entry *db_lookup(const struct db_view *v, const void *key, size_t klen,
				 int64_t now_ms, uint64_t *hashp, int count_stats)
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
		} else if (kvmap_remove(db->map, e) == 0) {
			db_count(&db_my_slot(db)->expired, 1);
			db_count_expires(db, -1);
		}
		e = NULL;
	}
	if (e) {
		/* acquire: pairs with the release in db_set_memory_policy(); NULL
		 * (no LRU/LFU policy) in the common case: no store at all */
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);

		if (kv_unlikely(t != NULL))
			db_touch_access(t, h, now_ms);
	}
	if (count_stats)
		db_count(e ? &db_my_slot(db)->hits : &db_my_slot(db)->misses, 1);
	return e;
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

	if (old == NULL) {
		rc = kvmap_insert(db->map, e, NULL);
		if (rc == -EEXIST)
			return -EAGAIN;
	} else if (e == NULL) {
		rc = kvmap_remove(db->map, old);
		if (rc == -ENOENT)
			return -EAGAIN;
	} else {
		rc = kvmap_replace(db->map, old, e);
	}
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
			db_touch_new(t, kvmap_hash(kv_entry_key(e), e->klen), db_now_ms());
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
	size_t n = v->txn ? kvtxn_clear(v->txn) : kvmap_clear(db->map);

	/* Keys with a TTL are gone too. Concurrent TTL writers may leave the sum off
	 * by what they add meanwhile; it is a statistic. */
	for (int i = 0; i < DB_SLOTS; i++)
		atomic_store_explicit(&db->slots[i].expires, 0, memory_order_relaxed);
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
	struct db_view view; /* {db, the overlay} */
};

struct db_txn *db_txn_create(struct db *db)
{
	struct db_txn *t = mem_alloc(sizeof(*t));

	t->view = (struct db_view){.db = db, .txn = kvtxn_create(db->map)};
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

const struct db_view *db_txn_begin(struct db_txn *t, const struct kvtxn_watch *w, size_t nw)
{
	kvtxn_begin(t->view.txn, w, nw);
	return &t->view;
}

int db_txn_commit(struct db_txn *t)
{
	int64_t ttl = 0;
	int rc = kvtxn_commit(t->view.txn, &ttl);

	if (rc == 0)
		db_count_expires(t->view.db, ttl);
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
	}
	s->expired_stale_perc =
	    (double)atomic_load_explicit(&db->stale_perc_x1e4, memory_order_relaxed) / 100.0;
	s->expired_time_cap_reached =
	    atomic_load_explicit(&db->time_cap_reached, memory_order_relaxed);
	s->expire_cycle_us = atomic_load_explicit(&db->cycle_us, memory_order_relaxed);
	s->expire_cycles = atomic_load_explicit(&db->cycles, memory_order_relaxed);
	s->avg_ttl_ms = atomic_load_explicit(&db->avg_ttl, memory_order_relaxed);
}

void db_reset_stats(struct db *db)
{
	for (int i = 0; i < DB_SLOTS; i++) {
		atomic_store_explicit(&db->slots[i].hits, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].misses, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].expired, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].evicted, 0, memory_order_relaxed);
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
