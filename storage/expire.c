/*
 * expire.c — active expiry: keys with a TTL are removed without being read.
 *
 * Redis samples its separate expires dict; kvsd has no such index (it would
 * cost memory per key), so a cycle walks the map itself with a SCAN cursor
 * that persists between cycles. A "loop" scans until it has seen
 * keys_per_loop keys with a TTL (20 at effort 1) or visit_floor keys in all,
 * removes those that expired (kvmap_remove, a CAS on the exact entry, so a
 * newer value written meanwhile is never removed), and the cycle repeats
 * loops while more than `stale`% (10% at effort 1) of the TTL keys sampled in
 * the loop were expired — the adaptive part: a keyspace full of dead keys
 * gets up to the whole time budget, a healthy one a single loop. Bounds:
 * (25 + 2 * (effort - 1))% of the hz period of CPU time per cycle (checked
 * every loop), and at most one full pass over the table per cycle.
 *
 * When the keyspace has no key with a TTL (db_expires() == 0) a cycle does
 * nothing. With few TTL keys among many, a cycle visits at most visit_floor
 * keys per loop, so a full pass takes size / visit_floor cycles (a 1M-key map
 * at hz 10: about 50 s) — the price of having no expires index.
 *
 * Statistics follow Redis: expired_stale_perc is a running average (weight
 * 5%) of the share of expired keys among sampled TTL keys; avg_ttl a running
 * average of the remaining TTLs seen, restarted when FLUSHALL / FLUSHDB empty
 * the keyspace (as Redis's emptyDb does); expire_cycle_cpu_milliseconds the time
 * spent in cycles; expired_time_cap_reached_count the cycles that hit the
 * budget.
 */
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/db.h"
#include "storage/db_internal.h"

#include <stdatomic.h>

#define EXPIRE_KEYS_PER_LOOP 20
#define EXPIRE_VISIT_FLOOR   2000
#define EXPIRE_COLLECT_MAX   1024

/* Per-db scratch, kept between cycles and between the slices of one. */
struct expire_ctx {
	/* the cycle in progress (begun at an hz tick, run in slices) */
	bool active, capped;
	int64_t budget_us, spent_us;
	size_t keys_per_loop, visit_floor, batch, size, cycle_visited;
	uint64_t stale, sampled, expired;
	/* the loop in progress */
	size_t loop_ttl, loop_visited, loop_exp;
	/* one scan batch */
	int64_t now_ms;
	size_t visited, with_ttl, nexp;
	long long ttl_sum;
	const struct kv_entry *exp[EXPIRE_COLLECT_MAX];
};

/*
 * FLUSHALL / FLUSHDB emptied the keyspace since the last look: restart the
 * TTL average from nothing. Returns true if it did, and the caller drops the
 * sample it holds (it may count keys the flush removed).
 */
static bool avg_ttl_restart(struct db *db)
{
	/* acquire: pairs with the release in db_flush(): the flushed keys are
	 * gone from what this thread scans next */
	if (!atomic_load_explicit(&db->avg_ttl_stale, memory_order_acquire))
		return false;
	/* relaxed: avg_ttl has one writer, this thread */
	atomic_store_explicit(&db->avg_ttl, 0, memory_order_relaxed);
	/* release: the 0 above is stored before the flag clears; pairs with the
	 * acquire in db_get_stats(), which reports 0 while the flag is set */
	atomic_store_explicit(&db->avg_ttl_stale, 0, memory_order_release);
	return true;
}

static void expire_visit(const struct kv_entry *e, void *arg)
{
	struct expire_ctx *x = arg;

	x->visited++;
	if (kv_entry_expire(e) == 0)
		return;
	x->with_ttl++;
	if (kv_entry_expire(e) <= x->now_ms) {
		/* removed after the scan returns: the map's visitor must not mutate */
		if (x->nexp < EXPIRE_COLLECT_MAX)
			x->exp[x->nexp++] = e;
	} else {
		/* TTLs near LLONG_MAX ms are legal: sum modulo 2^64 (unsigned, no
		 * UB), which is what Redis's long long sum gives in practice */
		x->ttl_sum = (long long)((unsigned long long)x->ttl_sum +
					 (unsigned long long)(kv_entry_expire(e) - x->now_ms));
	}
}

/* Ends the cycle in progress: its statistics. */
static void cycle_end(struct db *db, struct expire_ctx *x)
{
	x->active = false;
	/* relaxed: statistics with one writer (the expiring thread) */
	if (x->capped)
		atomic_fetch_add_explicit(&db->time_cap_reached, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->cycle_us, (uint64_t)x->spent_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->cycles, 1, memory_order_relaxed);
	if (x->sampled) {
		uint64_t cur = x->expired * 10000 / x->sampled;
		uint64_t old = atomic_load_explicit(&db->stale_perc_x1e4, memory_order_relaxed);

		atomic_store_explicit(&db->stale_perc_x1e4, (cur * 5 + old * 95) / 100,
				      memory_order_relaxed);
	}
}

/* One scan batch from the cursor: removes what it found expired, feeds the
 * TTL average. Returns true if the cursor wrapped. */
static bool expire_batch(struct db *db, struct expire_ctx *x)
{
	x->now_ms = clock_wall_ms();
	x->visited = x->with_ttl = x->nexp = 0;
	x->ttl_sum = 0;
	db->expire_cursor = kvmap_scan(db->map, db->expire_cursor, x->batch, expire_visit, x);
	/* an exclusive transaction runs: its keys stay as they are; lookups
	 * still see them expired */
	if (x->nexp && !db_write_try(db))
		x->nexp = 0;
	for (size_t i = 0; i < x->nexp; i++) {
		struct db_drop d;
		bool gone;

		if (!db_drop_claim(db, x->exp[i], -1, false, false, &d))
			continue; /* the AOF cannot order it now: a later cycle will */
		db_snap_touch_entry(db, x->exp[i]);
		gone = kvmap_remove(db->map, x->exp[i]) == 0;
		if (gone) {
			db_count(&db_my_slot(db)->expired, 1);
			db_count_expires(db, -1);
			x->loop_exp++;
		}
		db_drop_done(db, &d, gone);
	}
	if (x->nexp)
		db_write_exit(db);
	if (!avg_ttl_restart(db) && x->with_ttl > x->nexp) {
		long long avg = x->ttl_sum / (long long)(x->with_ttl - x->nexp);
		long long old = atomic_load_explicit(&db->avg_ttl, memory_order_relaxed);

		/* Redis's running average: 2% weight per sample batch, the first
		 * batch seeding it (relaxed: statistic; one writer, the expiring
		 * thread) */
		if (old == 0)
			old = avg;
		atomic_store_explicit(&db->avg_ttl, old / 50 * 49 + avg / 50, memory_order_relaxed);
	}
	x->loop_ttl += x->with_ttl;
	x->loop_visited += x->visited;
	/* the entries the batch saw are no longer held */
	kvmap_quiescent();
	return db->expire_cursor == 0;
}

bool db_active_expire(struct db *db, int hz, int effort, int64_t slice_us)
{
	struct expire_ctx *x = db->expire_scratch;

	if (hz < 1)
		hz = 1;
	if (hz > 500)
		hz = 500;
	if (effort < DB_EXPIRE_EFFORT_MIN)
		effort = DB_EXPIRE_EFFORT_MIN;
	if (effort > DB_EXPIRE_EFFORT_MAX)
		effort = DB_EXPIRE_EFFORT_MAX;
	if (x != NULL && x->active)
		cycle_end(db, x); /* its slices did not get to finish before this tick */
	avg_ttl_restart(db);
	if (db_expires(db) == 0) {
		/* as Redis: no key with a TTL, no average (relaxed: statistic; one
		 * writer, this thread) */
		atomic_store_explicit(&db->avg_ttl, 0, memory_order_relaxed);
		return false;
	}
	if (x == NULL) {
		/* kept until db_destroy: a cycle runs every 1/hz s */
		x = mem_calloc(1, sizeof(*x));
		db->expire_scratch = x;
	}
	x->active = true;
	x->capped = false;
	x->keys_per_loop = EXPIRE_KEYS_PER_LOOP + EXPIRE_KEYS_PER_LOOP / 4 * (size_t)(effort - 1);
	x->visit_floor = EXPIRE_VISIT_FLOOR * (size_t)effort;
	x->stale = (uint64_t)(10 - (effort - 1));
	x->budget_us = 1000000 / hz * (25 + 2 * (effort - 1)) / 100;
	x->spent_us = 0;
	x->batch = db->scan_batch ? db->scan_batch : x->keys_per_loop;
	x->size = kvmap_count(db->map);
	x->cycle_visited = 0;
	x->sampled = x->expired = 0;
	x->loop_ttl = x->loop_visited = x->loop_exp = 0;
	return db_active_expire_more(db, slice_us);
}

bool db_active_expire_more(struct db *db, int64_t slice_us)
{
	struct expire_ctx *x = db->expire_scratch;
	int64_t start = clock_mono_us(), elapsed;

	if (x == NULL || !x->active)
		return false;
	if (db_expires(db) == 0) {
		cycle_end(db, x);
		return false;
	}
	for (;;) {
		bool wrapped = expire_batch(db, x);

		elapsed = clock_mono_us() - start;
		if (wrapped || x->loop_ttl >= x->keys_per_loop ||
		    x->loop_visited >= x->visit_floor) {
			/* a loop ended: another only while it found enough expired */
			bool again = x->loop_ttl > 0 && x->loop_exp * 100 > x->loop_ttl * x->stale;

			x->sampled += x->loop_ttl;
			x->expired += x->loop_exp;
			x->cycle_visited += x->loop_visited;
			x->loop_ttl = x->loop_visited = x->loop_exp = 0;
			/* at most one full pass per cycle */
			if (x->cycle_visited >= x->size + x->keys_per_loop ||
			    (wrapped && x->cycle_visited >= x->size))
				again = false;
			if (!again) {
				x->spent_us += elapsed;
				cycle_end(db, x);
				return false;
			}
		}
		if (x->spent_us + elapsed > x->budget_us) {
			x->spent_us += elapsed;
			x->capped = true;
			cycle_end(db, x);
			return false;
		}
		if (elapsed >= slice_us) {
			x->spent_us += elapsed;
			return true;
		}
	}
}
