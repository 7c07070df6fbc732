/*
 * db_internal.h — what db.c, expire.c and evict.c share: struct db, its
 * per-thread counter slots, and the LRU/LFU side table with its accessors.
 *
 * The side table ("touch table") holds one 16-bit word per hash bucket
 * (index: the high bits of the key's SipHash), so the access data costs no
 * byte in the entry. Its meaning depends on the policy it was built for:
 *  - LRU: the access clock in units of DB_LRU_UNIT_MS, modulo 2^16;
 *  - LFU: high byte = minutes of the last decrement modulo 2^8, low byte =
 *    Redis's logarithmic access counter (LFU_INIT_VAL 5, log factor 10,
 *    decay 1 per minute).
 * db_cron() sweeps the table so that no word lags the clock by more than half
 * its range: idle times saturate (at ~54 minutes for LRU) instead of wrapping.
 * If the entry header later gains a spare byte, the accessors below are the
 * only code that changes.
 *
 * Threads: words are relaxed atomics written by any thread that looks a key
 * up (only when the value changes), by db_put for new keys and by the cron;
 * a lost update between two of them is a less precise statistic, nothing
 * more. The table pointer is published with release and read with acquire.
 */
#ifndef KVSD_DB_INTERNAL_H
#define KVSD_DB_INTERNAL_H

#include "concurrency/util.h"
#include "storage/db.h"
#include "storage/snap.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DB_SLOTS 64

struct db_slot {
	/* single writer (the slot's thread); summed by INFO: relaxed statistics */
	_Atomic int64_t expires;
	_Atomic uint64_t hits, misses, expired, evicted;
	_Atomic uint64_t txn_conflicts, txn_exclusive; /* failed attempts, exclusive runs */
	/* plain writes: failed CASes, and writes that took a hot key's stripe
	 * lock (db.c, "Hot keys") */
	_Atomic uint64_t put_retries, hot_fallbacks;
	/* map writes in progress by the slot's threads (db.c, "Exclusive
	 * transactions"): each thread adds 1 around a write, seq_cst; an
	 * exclusive transaction waits for 0 after closing the gate */
	_Atomic uint32_t writers;
} KV_ALIGNED;

#define DB_LRU_UNIT_MS 100
#define DB_LFU_INIT    5
#define DB_LFU_FACTOR  10

struct db_touch {
	bool lfu;
	uint64_t mask;		/* words - 1 (a power of two minus one) */
	int bits;		/* log2(words) */
	struct db_touch *older; /* replaced tables, freed by db_destroy */
	_Atomic uint16_t w[];
};

/* The eviction pool: the best candidates seen so far (Redis's EVPOOL). */
#define DB_EVPOOL 16
struct db_evcand {
	uint64_t idle; /* larger = better to evict; 0 = empty */
	size_t klen, cap;
	unsigned space;
	char *key;
};

/*
 * The database table (db.c, "Databases"): database index -> key space.
 * Immutable once published in db->table; replaced whole (SWAPDB, FLUSHDB,
 * FLUSHALL) by the holder of the exclusive gate and retired through the
 * epoch reclaimer, so a reader inside its epoch section may keep using the
 * pointer it loaded.
 */
struct db_table {
	int n;
	uint8_t space[DB_COUNT_MAX];
};

/* 256 bits, one per key space */
struct db_spaces {
	_Atomic uint64_t w[KV_SPACES / 64];
};

struct db_snap;

struct db {
	struct kvmap *map;
	struct db_view plain; /* {this db, NULL, database 0} */
	struct db_slot slots[DB_SLOTS];

	/* ---- databases (db.c, "Databases"). table: written (release) only
	 * while the exclusive gate is held, read (acquire) by every view call.
	 * free: spaces no table names and no purge owns (fetch_and to take,
	 * release fetch_or to give back after a purge). purge: spaces whose
	 * grace period passed, to be emptied (release fetch_or by the
	 * reclaimer's callback, acquire exchange by the purger). The purge
	 * state below belongs to whoever holds purge_busy (db_cron, or a
	 * flusher short of free spaces). */
	_Atomic(const struct db_table *) table;
	struct db_spaces free, purge;
	_Atomic int purge_busy;		  /* the purge's lock (try-only) */
	uint64_t purging[KV_SPACES / 64]; /* under purge_busy */
	uint64_t purge_cursor;		  /* under purge_busy */
	/* per space: bumped (release) each time a purge gives it back; FLUSHDB
	 * SYNC waits for the spaces it dropped to move (acquire) */
	_Atomic uint32_t gen[KV_SPACES];

	/* ---- memory limit: written by db_set_memory_policy (any thread), read
	 * relaxed by every command (a limit seen a moment late is harmless) */
	_Atomic long long maxmemory;
	_Atomic int policy;
	_Atomic int samples;
	_Atomic int64_t evict_limit_us; /* one pass's time limit; < 0: none */
	_Atomic bool evict_cut;		/* the last pass stopped on its time limit */
	/* acquire/release: the table's words are initialised before publication */
	_Atomic(struct db_touch *) touch;
	struct db_touch *retired_touch; /* under touch_lock */
	_Atomic int touch_lock;

	/* used-memory estimate: refreshed by whichever thread first sees a new
	 * millisecond (CAS on used_at_ms), lowered by evictors; relaxed: a
	 * statistic that gates eviction, publishes nothing */
	_Atomic int64_t used_est;
	_Atomic int64_t used_at_ms;
	/* one evictor at a time: acquire on taking it, release on leaving, so the
	 * next evictor sees the pool and cursor the previous one left */
	_Atomic int evicting;
	_Atomic int evict_failed;	  /* relaxed: last eviction found nothing to evict */
	struct db_evcand pool[DB_EVPOOL]; /* under `evicting` */
	uint64_t rnd;			  /* under `evicting` */

	/* drop hooks (db.h): set once (release) before workers serve, read
	 * (acquire) at each removal: the struct's bytes */
	_Atomic(const struct db_drop_hooks *) drop_hooks;

	/* ---- exclusive transactions (db.c). gate: 1 while one runs; set
	 * (seq_cst) by the holder of the current ticket, read by every map
	 * writer (seq_cst, the Dekker pair with slots[].writers). Tickets make
	 * the holders FIFO: excl_next is taken (relaxed RMW, only distinctness
	 * matters) by a contender, excl_serving advanced (release) by the
	 * holder leaving, acquire-loaded by the next one. */
	alignas(KV_CACHELINE) _Atomic int gate;
	alignas(KV_CACHELINE) _Atomic uint32_t excl_next;
	_Atomic uint32_t excl_serving;

	/* ---- active expiry: fields below only touched by the expiring thread,
	 * except the statistics, which INFO reads relaxed */
	uint64_t expire_cursor;
	void *expire_scratch; /* expire.c's per-cycle buffer, freed by db_destroy */
	size_t scan_batch;    /* keys per SCAN call: large when the backend seeks in O(N) */
	uint64_t touch_sweep;
	_Atomic uint64_t stale_perc_x1e4; /* expired_stale_perc * 100, fixed point */
	_Atomic uint64_t time_cap_reached, cycle_us, cycles;
	_Atomic long long avg_ttl; /* written by the expiring thread only */
	/* set by db_flush() once the keys are gone; the expiring thread then
	 * restarts avg_ttl from 0 (Redis's emptyDb resets it) and clears it;
	 * db_get_stats() reports 0 while it is set */
	_Atomic int avg_ttl_stale;

	/* ---- the active snapshot (snap.c), or NULL. Written only with the
	 * exclusive gate held (db_snap_begin, db_snap_end), so a writer inside
	 * its write bracket (or an exclusive run) reads it relaxed: the gate's
	 * seq_cst handshake orders the store before the bracket, and the
	 * snapshot is freed only after the gate closed again on its end */
	_Atomic(struct db_snap *) snap;
	/* 1 from db_snap_begin's claim to db_snap_end (one snapshot at a time;
	 * taken before the gate, so a second begin fails instead of waiting):
	 * acq_rel CAS to take, release store to give back */
	_Atomic int snap_busy;
	/* bytes of the active snapshot's records (relaxed adds by touches, a
	 * store of 0 at its end): maxmemory leaves them out (evict.c) */
	_Atomic int64_t snap_bytes;
};

/* The exclusive gate (db.c, "Exclusive transactions") for snap.c: enter
 * waits for its ticket and for the writes in progress (announcing quiescent
 * states while it waits: the caller holds no entry); no other thread
 * writes the map until exit. The current database table (acquire). */
void db_excl_enter(struct db *db);
void db_excl_exit(struct db *db);
const struct db_table *db_table_now(struct db *db);

/* snap_touch (snap.h) for a published entry e that the caller is about to
 * replace or remove, inside its write bracket or exclusive run. Costs one
 * relaxed load (db_internal.h's `snap`) while no snapshot is active. */
static inline void db_snap_touch_entry(struct db *db, const struct kv_entry *e)
{
	/* relaxed: see `snap` in struct db */
	if (kv_unlikely(atomic_load_explicit(&db->snap, memory_order_relaxed) != NULL))
		snap_touch(db, e->space, kv_entry_key(e), e->klen, kv_entry_hash(e));
}

/* The background purge of flushed databases' key spaces (db.c); from
 * db_cron, one thread at a time. */
void db_purge(struct db *db);

/* This thread's counter slot. */
struct db_slot *db_my_slot(struct db *db);

static inline void db_count(_Atomic uint64_t *c, uint64_t n)
{
	/* relaxed: statistic, publishes nothing */
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void db_count_expires(struct db *db, int64_t d)
{
	if (d)
		/* relaxed: statistic, publishes nothing */
		atomic_fetch_add_explicit(&db_my_slot(db)->expires, d, memory_order_relaxed);
}

/* Monotonic microseconds (cycle budgets). */

/* db_write_enter (db.h) that does not wait: false (and not entered) while
 * an exclusive transaction runs. For writes that can be skipped: lazy and
 * active expiry. */
bool db_write_try(struct db *db);
/* The drop hooks around one removal (db.h, "keys the db layer removes by
 * itself"): db_drop_claim fills d from e and asks the hook (true without
 * one); db_drop_done reports the outcome after a true claim. */
bool db_drop_claim(struct db *db, const struct kv_entry *e, int index, bool evicted, bool txn,
		   struct db_drop *d);
void db_drop_done(struct db *db, struct db_drop *d, bool removed);

/* ---- side table accessors (evict.c) */

static inline _Atomic uint16_t *db_touch_word(struct db_touch *t, uint64_t hash)
{
	/* high bits: the map indexes buckets with the low ones; bits 40..47
	 * are the key space (kvmap.h), the same for a whole database, so the
	 * 24 others above bit 31 make the index */
	uint64_t x = ((hash >> 32) & 0xff) | (hash >> 48) << 8;

	_Static_assert(KV_SPACE_SHIFT == 40 && KV_SPACES == 256,
		       "the touch index skips the space byte");
	return &t->w[x & t->mask];
}

static inline uint16_t db_lru_now(int64_t now_ms)
{
	return (uint16_t)(now_ms / DB_LRU_UNIT_MS);
}

/* Records an access to the key with this hash (called by db_lookup when a
 * table exists). Stores only when the word's value changes. */
void db_touch_access(struct db_touch *t, uint64_t hash, int64_t now_ms);
/* Initialises the word of a newly inserted key. */
void db_touch_new(struct db_touch *t, uint64_t hash, int64_t now_ms);

#endif
