/*
 * db.c — the keyspace: a kvmap, lazy expiry, and keyspace statistics.
 *
 * Lazy expiry: a lookup that finds an entry whose expire_ms has passed
 * removes exactly that entry (kvmap_remove is itself a CAS on the entry, so
 * a concurrent writer's newer entry is never removed by mistake) and reports
 * the key missing. Writers go through db_put(), one CAS step.
 *
 * Counters (keys with a TTL, hits, misses, expired) live in per-thread slots
 * padded to a cache line, so they are not one contended word; readers sum
 * the slots. Each slot has one writer at a time: the thread that claimed it.
 */
#include "storage/db.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_SLOTS 64

struct db_slot {
	/* single writer (the slot's thread); summed by INFO: relaxed statistics */
	_Atomic int64_t expires;
	_Atomic uint64_t hits, misses, expired;
} KV_ALIGNED;

struct db {
	struct kvmap *map;
	struct db_slot slots[DB_SLOTS];
};

static _Atomic unsigned slot_next;
static __thread int slot_self = -1;

static struct db_slot *my_slot(struct db *db)
{
	if (kv_unlikely(slot_self < 0))
		/* relaxed: only spreads threads over slots; a shared slot stays correct
		 * because every update below is an atomic read-modify-write */
		slot_self = (int)(atomic_fetch_add_explicit(&slot_next, 1, memory_order_relaxed) %
				  DB_SLOTS);
	return &db->slots[slot_self];
}

struct db *db_create(enum kvmap_backend backend)
{
	struct db *db = aligned_alloc(KV_CACHELINE, sizeof(*db));

	if (db == NULL)
		return NULL;
	memset(db, 0, sizeof(*db));
	db->map = kvmap_create(backend, 0);
	if (db->map == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void db_destroy(struct db **pdb)
{
	struct db *db = *pdb;

	if (db == NULL)
		return;
	kvmap_destroy(&db->map);
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

static inline void count(_Atomic uint64_t *c)
{
	/* relaxed: statistic, publishes nothing */
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline void count_expires(struct db *db, int64_t d)
{
	if (d)
		/* relaxed: statistic, publishes nothing */
		atomic_fetch_add_explicit(&my_slot(db)->expires, d, memory_order_relaxed);
}

const struct kv_entry *db_lookup(struct db *db, const void *key, size_t klen, int64_t now_ms,
				 uint64_t *hashp, int count_stats)
{
	uint64_t h = kvmap_hash(key, klen);
	const struct kv_entry *e;

	if (hashp)
		*hashp = h;
	e = kvmap_get(db->map, key, klen, h);
	if (e && e->expire_ms && e->expire_ms <= now_ms) {
		if (kvmap_remove(db->map, e) == 0) {
			count(&my_slot(db)->expired);
			count_expires(db, -1);
		}
		e = NULL;
	}
	if (count_stats)
		count(e ? &my_slot(db)->hits : &my_slot(db)->misses);
	return e;
}

int db_put(struct db *db, const struct kv_entry *old, struct kv_entry *e)
{
	int rc;

	if (old == NULL) {
		if (e == NULL)
			return 0;
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
		count_expires(db, (e && e->expire_ms ? 1 : 0) - (old && old->expire_ms ? 1 : 0));
	return rc;
}

long long db_size(struct db *db)
{
	return (long long)kvmap_count(db->map);
}

long long db_expires(struct db *db)
{
	int64_t n = 0;

	for (int i = 0; i < DB_SLOTS; i++)
		n += atomic_load_explicit(&db->slots[i].expires, memory_order_relaxed);
	return n < 0 ? 0 : n;
}

long long db_flush(struct db *db)
{
	size_t n = kvmap_clear(db->map);

	/* Keys with a TTL are gone too. Concurrent TTL writers may leave the sum off
	 * by what they add meanwhile; it is a statistic. */
	for (int i = 0; i < DB_SLOTS; i++)
		atomic_store_explicit(&db->slots[i].expires, 0, memory_order_relaxed);
	return (long long)n;
}

void db_get_stats(struct db *db, struct db_stats *s)
{
	s->hits = s->misses = s->expired_keys = 0;
	for (int i = 0; i < DB_SLOTS; i++) {
		s->hits += atomic_load_explicit(&db->slots[i].hits, memory_order_relaxed);
		s->misses += atomic_load_explicit(&db->slots[i].misses, memory_order_relaxed);
		s->expired_keys += atomic_load_explicit(&db->slots[i].expired, memory_order_relaxed);
	}
}

void db_reset_stats(struct db *db)
{
	for (int i = 0; i < DB_SLOTS; i++) {
		atomic_store_explicit(&db->slots[i].hits, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].misses, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].expired, 0, memory_order_relaxed);
	}
}
