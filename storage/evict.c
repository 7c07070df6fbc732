/*
 * evict.c — maxmemory: keeping used memory under the limit by evicting keys,
 * following Redis's approximated algorithms (evict.c in Redis).
 *
 * Used memory: mem_used(), the allocation accounting behind INFO's
 * used_memory, including entries already retired to the epoch reclaimer but
 * not yet freed (the limit is on used_memory as INFO reports it). mem_used()
 * takes a lock, so the figure is cached: the first thread to see a new
 * millisecond refreshes it, and an evictor lowers it by what it evicted, so
 * a burst of commands in one millisecond does not evict twice for the same
 * excess. A thread that finds memory over the limit first announces a
 * quiescent state (it holds no entry between commands) and, once per
 * millisecond, collects its own retired entries (kvmap_maintain): otherwise
 * they wait for the reclaimer's per-thread cap (4 MB) or the hz timer, and
 * every byte of them would be evicted a second time from live keys.
 *
 * Eviction runs before a command, in the thread that found memory over the
 * limit; one thread at a time (a try-flag): the others go on with their
 * commands meanwhile, as Redis's clients do while it evicts in a time-limited
 * loop. Per call it evicts until the excess is gone or 500 us have passed.
 *
 * Choosing a victim, as Redis does: sample maxmemory-samples keys with
 * kvmap_random() (volatile-* policies skip keys without a TTL, up to ten
 * draws per sample), score each (LRU: idle time; LFU: 255 minus the decayed
 * counter; volatile-ttl: sooner expiry scores higher), merge them into a pool
 * of the 16 best candidates kept across calls (the pool holds key copies:
 * entry pointers die at the next quiescent state), and evict the best one
 * still present. *-random policies evict a sampled key directly. A sampled
 * key found already expired is removed as expired, not evicted.
 *
 * The LRU/LFU data is the side table described in db_internal.h.
 *
 * During a snapshot (snap.h) the garbage retired since its cut cannot be
 * freed before it ends; used memory leaves it out (kvmap_pending_cost: the
 * garbage and its limbo entries) together with the snapshot's records
 * (db->snap_bytes), and the evictor does not wait for reclamation. Without
 * that, every overwrite during a save would evict a live key, and every
 * eviction, whose own garbage cannot go either, one more: all of them.
 */
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "storage/db.h"
#include "storage/db_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#define TOUCH_MIN_BITS 16
#define TOUCH_MAX_BITS 24
#define TOUCH_SWEEP    4096

/* ---- LRU / LFU words ---------------------------------------------------- */

/* The calling thread's pseudo-random sequence (its context's). */
static uint64_t rnd_next(void)
{
	return wctx_rand64(wctx_self());
}

static inline uint8_t lfu_minutes(int64_t now_ms)
{
	return (uint8_t)(now_ms / 60000);
}

/* Redis's LFUDecrAndReturn: one off per minute since the last decrement. */
static inline uint8_t lfu_decayed(uint16_t w, int64_t now_ms)
{
	uint8_t counter = (uint8_t)(w & 0xff);
	uint8_t elapsed = (uint8_t)(lfu_minutes(now_ms) - (uint8_t)(w >> 8));

	return elapsed > counter ? 0 : (uint8_t)(counter - elapsed);
}

/* Redis's LFULogIncr: the more accesses, the less likely an increment. */
static inline uint8_t lfu_incr(uint8_t counter)
{
	double r, base, p;

	if (counter == 255)
		return 255;
	r = (double)(rnd_next() >> 11) / (double)(1ULL << 53);
	base = counter > DB_LFU_INIT ? (double)(counter - DB_LFU_INIT) : 0.0;
	p = 1.0 / (base * DB_LFU_FACTOR + 1);
	return r < p ? (uint8_t)(counter + 1) : counter;
}

void db_touch_access(struct db_touch *t, uint64_t hash, int64_t now_ms)
{
	_Atomic uint16_t *w = db_touch_word(t, hash);
	/* relaxed: an approximate statistic; a lost update only blurs it */
	uint16_t old = atomic_load_explicit(w, memory_order_relaxed), nw;

	if (!t->lfu) {
		nw = db_lru_now(now_ms);
	} else {
		uint8_t c = lfu_incr(lfu_decayed(old, now_ms));

		nw = (uint16_t)(lfu_minutes(now_ms) << 8 | c);
	}
	if (nw != old) /* the common case for a hot key stores nothing */
		atomic_store_explicit(w, nw, memory_order_relaxed);
}

int db_key_access(struct db *db, uint64_t hash, int64_t now_ms, uint64_t *idle_ms, unsigned *freq)
{
	/* acquire: pairs with the release in db_set_memory_policy() */
	struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);
	uint16_t w;

	if (t == NULL)
		return 0;
	/* relaxed: see db_touch_access() */
	w = atomic_load_explicit(db_touch_word(t, hash), memory_order_relaxed);
	if (t->lfu) {
		*freq = lfu_decayed(w, now_ms);
		return 2;
	}
	*idle_ms = (uint64_t)(uint16_t)(db_lru_now(now_ms) - w) * DB_LRU_UNIT_MS;
	return 1;
}

void db_key_set_access(struct db *db, uint64_t hash, int64_t now_ms, long long idle_s,
		       long long freq)
{
	/* acquire: pairs with the release in db_set_memory_policy() */
	struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);
	uint16_t nw;

	if (t == NULL)
		return;
	if (t->lfu) {
		if (freq < 0)
			return;
		nw = (uint16_t)(lfu_minutes(now_ms) << 8 | (uint8_t)freq);
	} else {
		uint64_t units;

		if (idle_s < 0)
			return;
		units = idle_s > 65535LL * DB_LRU_UNIT_MS / 1000
			    ? 65535
			    : (uint64_t)idle_s * 1000 / DB_LRU_UNIT_MS;
		nw = (uint16_t)(db_lru_now(now_ms) - units);
	}
	/* relaxed: see db_touch_access() */
	atomic_store_explicit(db_touch_word(t, hash), nw, memory_order_relaxed);
}

void db_touch_new(struct db_touch *t, uint64_t hash, int64_t now_ms)
{
	uint16_t nw =
	    t->lfu ? (uint16_t)(lfu_minutes(now_ms) << 8 | DB_LFU_INIT) : db_lru_now(now_ms);

	/* relaxed: see db_touch_access() */
	atomic_store_explicit(db_touch_word(t, hash), nw, memory_order_relaxed);
}

static struct db_touch *touch_create(bool lfu, int bits, int64_t now_ms)
{
	size_t n = (size_t)1 << bits;
	struct db_touch *t = mem_alloc(sizeof(*t) + n * sizeof(t->w[0]));
	uint16_t init =
	    lfu ? (uint16_t)(lfu_minutes(now_ms) << 8 | DB_LFU_INIT) : db_lru_now(now_ms);

	t->lfu = lfu;
	t->bits = bits;
	t->mask = n - 1;
	t->older = NULL;
	for (size_t i = 0; i < n; i++)
		atomic_init(&t->w[i], init);
	return t;
}

static bool policy_lfu(int p)
{
	return p == DB_ALLKEYS_LFU || p == DB_VOLATILE_LFU;
}

static bool policy_volatile(int p)
{
	return p <= DB_VOLATILE_TTL;
}

/* log2 of the side table's words: about one word per key the limit can hold
 * (64 bytes a key), at least the keys present, within [2^16, 2^24]. */
static int touch_bits(struct db *db, long long maxmemory)
{
	size_t want = kvmap_count(db->map);
	int bits = TOUCH_MIN_BITS;

	if (maxmemory > 0 && (size_t)(maxmemory / 64) > want)
		want = (size_t)(maxmemory / 64);
	while (bits < TOUCH_MAX_BITS && ((size_t)1 << bits) < want)
		bits++;
	return bits;
}

void db_set_memory_policy(struct db *db, long long maxmemory, enum db_policy policy, int samples)
{
	/* every policy keeps access data: LRU clocks unless LFU counters
	 * (OBJECT IDLETIME / FREQ, as Redis's per-object lru field) */
	bool want = true;
	struct db_touch *cur, *nt = NULL;
	int64_t now = clock_wall_ms();

	if (samples < DB_SAMPLES_MIN)
		samples = DB_SAMPLES_MIN;
	if (samples > DB_SAMPLES_USED)
		samples = DB_SAMPLES_USED;
	/* relaxed: settings read by each command; seeing them a moment late is harmless */
	atomic_store_explicit(&db->maxmemory, maxmemory, memory_order_relaxed);
	atomic_store_explicit(&db->policy, (int)policy, memory_order_relaxed);
	atomic_store_explicit(&db->samples, samples, memory_order_relaxed);
	atomic_store_explicit(&db->evict_failed, 0, memory_order_relaxed);
	atomic_store_explicit(&db->used_at_ms, 0, memory_order_relaxed);

	/* acquire: serialises configuration changes (rare; CONFIG SET); pairs with
	 * the release below */
	while (atomic_exchange_explicit(&db->touch_lock, 1, memory_order_acquire))
		;
	cur = atomic_load_explicit(&db->touch, memory_order_relaxed);
	if (want) {
		int bits = touch_bits(db, maxmemory);

		if (cur == NULL || cur->lfu != policy_lfu((int)policy) || cur->bits + 2 <= bits)
			nt = touch_create(policy_lfu((int)policy), bits, now);
		else
			nt = cur;
	}
	if (nt != cur) {
		/* release: the words are initialised before any reader sees the table;
		 * pairs with the acquire in db_lookup() and db_put() */
		atomic_store_explicit(&db->touch, nt, memory_order_release);
		if (cur) {
			/* readers may still hold it: freed only by db_destroy */
			cur->older = db->retired_touch;
			db->retired_touch = cur;
		}
	}
	/* release: pairs with the acquire above */
	atomic_store_explicit(&db->touch_lock, 0, memory_order_release);
}

void db_cron(struct db *db, int64_t now_ms)
{
	/* acquire: pairs with the release in db_set_memory_policy() */
	struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);
	uint64_t i = db->touch_sweep;

	/* the map's own upkeep (shrinking after mass expiry or eviction, garbage
	 * of parked threads) runs on the same timer */
	kvmap_maintain(db->map);
	db_purge(db);
	if (t == NULL)
		return;
	/* Keep every word within half its range of the clock, so idle times
	 * saturate instead of wrapping (LRU: ~54 min; LFU: 128 min of decay). */
	for (int k = 0; k < TOUCH_SWEEP; k++, i++) {
		_Atomic uint16_t *w = &t->w[i & t->mask];
		/* relaxed: see db_touch_access() */
		uint16_t v = atomic_load_explicit(w, memory_order_relaxed);

		if (!t->lfu) {
			uint16_t now = db_lru_now(now_ms);

			if ((uint16_t)(now - v) > 0x8000)
				atomic_store_explicit(w, (uint16_t)(now - 0x8000),
						      memory_order_relaxed);
		} else if ((uint8_t)(lfu_minutes(now_ms) - (uint8_t)(v >> 8)) > 0x80) {
			atomic_store_explicit(
			    w, (uint16_t)(lfu_minutes(now_ms) << 8 | lfu_decayed(v, now_ms)),
			    memory_order_relaxed);
		}
	}
	db->touch_sweep = i & t->mask;
}

/* ---- used memory ------------------------------------------------------- */

static int64_t used_estimate(struct db *db, int64_t now_ms)
{
	/* relaxed throughout: a cached statistic that gates eviction */
	int64_t at = atomic_load_explicit(&db->used_at_ms, memory_order_relaxed);

	if (at != now_ms &&
	    atomic_compare_exchange_strong_explicit(&db->used_at_ms, &at, now_ms,
						    memory_order_relaxed, memory_order_relaxed)) {
		int64_t v = mem_used();

		/* a snapshot holds every entry retired since its cut (snap.h):
		 * that garbage is the save's copy-on-write, not the dataset, so it
		 * is not counted against maxmemory while the save runs — else each
		 * overwrite during a save would evict a live key (as Redis does not
		 * count a fork child's copied pages in used_memory) */
		if (atomic_load_explicit(&db->snap, memory_order_relaxed) != NULL) {
			int64_t held = kvmap_pending_cost() +
				       atomic_load_explicit(&db->snap_bytes, memory_order_relaxed);
			v = v > held ? v - held : 0;
		}
		atomic_store_explicit(&db->used_est, v, memory_order_relaxed);
		return v;
	}
	return atomic_load_explicit(&db->used_est, memory_order_relaxed);
}

/* ---- victims ----------------------------------------------------------- */

/* Removes e (still current) as evicted or, if it had expired, as expired.
 * Returns the bytes it accounted for, 0 if it was no longer current. */
static size_t drop(struct db *db, const struct kv_entry *e, int64_t now_ms)
{
	size_t sz = kv_entry_size(e) + sizeof(void *);
	bool expired = kv_entry_expire(e) && kv_entry_expire(e) <= now_ms;
	bool ttl = kv_entry_expire(e) != 0;
	struct db_drop d;
	bool gone;

	if (!db_drop_claim(db, e, -1, !expired, false, &d))
		return 0; /* the AOF cannot order it now: another victim */
	db_snap_touch_entry(db, e);
	gone = kvmap_remove(db->map, e) == 0;
	db_drop_done(db, &d, gone);
	if (!gone)
		return 0;
	db_count(expired ? &db_my_slot(db)->expired : &db_my_slot(db)->evicted, 1);
	if (ttl)
		db_count_expires(db, -1);
	return sz;
}

/* A random key (with a TTL for volatile policies), or NULL. */
static const struct kv_entry *sample(struct db *db, bool vol)
{
	for (int tries = 0; tries < (vol ? 10 : 1); tries++) {
		const struct kv_entry *e = kvmap_random(db->map, rnd_next());

		if (e == NULL)
			return NULL;
		if (!vol || kv_entry_expire(e))
			return e;
	}
	return NULL;
}

static uint64_t score(struct db_touch *t, int policy, const struct kv_entry *e, int64_t now_ms)
{
	uint16_t w;

	if (policy == DB_VOLATILE_TTL)
		return UINT64_MAX - (uint64_t)kv_entry_expire(e);
	if (t == NULL || t->lfu != policy_lfu(policy))
		return 1; /* the table is being replaced: all alike */
	/* relaxed: see db_touch_access() */
	w = atomic_load_explicit(db_touch_word(t, kv_entry_hash(e)), memory_order_relaxed);
	if (t->lfu)
		return 256 - (uint64_t)lfu_decayed(w, now_ms);
	return 1 + (uint64_t)(uint16_t)(db_lru_now(now_ms) - w) * DB_LRU_UNIT_MS;
}

/* Inserts a candidate into the pool (ascending idle; the best is last). */
static void pool_insert(struct db *db, const struct kv_entry *e, uint64_t idle)
{
	struct db_evcand *p = db->pool, tmp;
	int k = 0;

	for (int i = 0; i < DB_EVPOOL; i++)
		if (p[i].idle && p[i].klen == e->klen && p[i].space == e->space &&
		    !memcmp(p[i].key, kv_entry_key(e), e->klen))
			return; /* already a candidate */
	while (k < DB_EVPOOL && p[k].idle && p[k].idle < idle)
		k++;
	if (k == 0 && p[DB_EVPOOL - 1].idle)
		return; /* worse than every candidate of a full pool */
	if (k < DB_EVPOOL && p[k].idle == 0) {
		tmp = p[k]; /* a hole: take it as it is */
	} else if (p[DB_EVPOOL - 1].idle == 0) {
		/* free room on the right: shift [k, end) right by one */
		tmp = p[DB_EVPOOL - 1];
		memmove(&p[k + 1], &p[k], sizeof(p[0]) * (size_t)(DB_EVPOOL - 1 - k));
	} else {
		/* full: drop the worst (leftmost), shift [1, k) left */
		k--;
		tmp = p[0];
		memmove(&p[0], &p[1], sizeof(p[0]) * (size_t)k);
	}
	p[k] = tmp; /* reuse the dropped slot's key buffer */
	if (p[k].cap < e->klen) {
		mem_free(p[k].key);
		p[k].cap = e->klen < 32 ? 32 : e->klen;
		p[k].key = mem_alloc(p[k].cap);
	}
	memcpy(p[k].key, kv_entry_key(e), e->klen);
	p[k].klen = e->klen;
	p[k].space = e->space;
	p[k].idle = idle;
}

/* Evicts one key. Returns the bytes freed, 0 if nothing could be evicted. */
static size_t evict_one(struct db *db, int policy, int samples, int64_t now_ms)
{
	bool vol = policy_volatile(policy);

	if (vol && db_expires(db) == 0)
		return 0;
	if (policy == DB_ALLKEYS_RANDOM || policy == DB_VOLATILE_RANDOM) {
		for (int i = 0; i < samples; i++) {
			const struct kv_entry *e = sample(db, vol);
			size_t sz;

			if (e && (sz = drop(db, e, now_ms)) > 0)
				return sz;
		}
		return 0;
	}
	for (int round = 0; round < 8; round++) {
		/* acquire: pairs with the release in db_set_memory_policy() */
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);

		for (int i = 0; i < samples; i++) {
			const struct kv_entry *e = sample(db, vol);
			size_t sz;

			if (e == NULL)
				continue;
			if (kv_entry_expire(e) && kv_entry_expire(e) <= now_ms) {
				if ((sz = drop(db, e, now_ms)) > 0)
					return sz;
				continue;
			}
			pool_insert(db, e, score(t, policy, e, now_ms));
		}
		for (int k = DB_EVPOOL - 1; k >= 0; k--) {
			struct db_evcand *c = &db->pool[k];
			const struct kv_entry *e;
			size_t sz;

			if (c->idle == 0)
				continue;
			c->idle = 0;
			e = kvmap_get(db->map, c->key, c->klen,
				      kvmap_key_hash(c->space, c->key, c->klen));
			if (e && (!vol || kv_entry_expire(e)) && (sz = drop(db, e, now_ms)) > 0)
				return sz;
		}
	}
	return 0;
}

/*
 * Evicted entries are retired, not freed: they leave used_memory only after
 * their grace period, so a writer that evicts faster than epochs advance
 * keeps used_memory above the limit by the garbage it made (seen at 5-9% of
 * an 8 MB limit under CPU contention). When the garbage waiting is more
 * than 1/64 of the limit, the evictor helps the epoch along for a bounded
 * moment (each collect advances it once every thread has announced a
 * quiescent state; other workers announce between commands) before going
 * on, as Redis's eviction waits for its lazy-free thread to make progress.
 */
#define RECLAIM_WAIT_US 1000
/* The wait follows the pass's time limit, but is this long at most (tenacity
 * 100 has no limit, 99 about two minutes): a thread inside one long command
 * announces nothing until it ends. */
#define RECLAIM_WAIT_MAX_US 1000000

static void reclaim_evicted(long long max, int64_t wait_us)
{
	int64_t start = 0;

	for (int i = 0; kvmap_pending_bytes() > max / 64; i++) {
		if (i == 0)
			start = clock_mono_us();
		else if (clock_mono_us() - start > wait_us)
			break;
		kvmap_quiescent();
		kvmap_collect();
		if (i >= 3)
			sched_yield(); /* a peer that must announce may need the CPU */
	}
}

void db_evict_cron(struct db *db, int64_t now_ms)
{
	/* relaxed: a hint; a pass missed now runs at the next write or tick */
	if (atomic_load_explicit(&db->evict_cut, memory_order_relaxed))
		(void)db_check_memory(db, now_ms);
}

void db_set_eviction_tenacity(struct db *db, int tenacity)
{
	int64_t us = -1; /* 100: no limit */

	if (tenacity < DB_TENACITY_MIN)
		tenacity = DB_TENACITY_MIN;
	if (tenacity <= 10)
		us = 50 * (int64_t)tenacity; /* linear up to Redis's default 500 us */
	else if (tenacity < DB_TENACITY_MAX) {
		double d = 500.0; /* 15% more per step above 10: ~2 min at 99 */

		for (int i = 10; i < tenacity; i++)
			d *= 1.15;
		us = (int64_t)d;
	}
	/* relaxed: a setting read by each pass; seen a moment late is harmless */
	atomic_store_explicit(&db->evict_limit_us, us, memory_order_relaxed);
}

static __attribute__((noinline)) int check_memory_set(struct db *db, int64_t now_ms, long long max)
{
	int policy, samples;
	int64_t used, excess, freed = 0, start, limit_us;
	size_t n = 0;
	bool cut = false;

	used = used_estimate(db, now_ms);
	if (used <= max)
		return 0;
	/* retired entries may be what is over the limit: let them go first
	 * (this thread's garbage at every check: the cached estimate is up to
	 * a millisecond old and a busy writer retires fast) */
	kvmap_quiescent();
	kvmap_collect();
	if (wctx_self()->collect_ms != now_ms) {
		wctx_self()->collect_ms = now_ms;
		kvmap_maintain(db->map);
	}
	policy = atomic_load_explicit(&db->policy, memory_order_relaxed);
	if (policy == DB_NOEVICTION)
		return -ENOMEM;
	/* acquire: the pool and random state the previous evictor left; pairs
	 * with the release below */
	if (atomic_exchange_explicit(&db->evicting, 1, memory_order_acquire))
		/* relaxed: a hint from the running evictor */
		return atomic_load_explicit(&db->evict_failed, memory_order_relaxed) ? -ENOMEM : 0;
	samples = atomic_load_explicit(&db->samples, memory_order_relaxed);
	/* relaxed: a setting, like samples */
	limit_us = atomic_load_explicit(&db->evict_limit_us, memory_order_relaxed);
	excess = used - max;
	start = clock_mono_us();
	db_write_enter(db); /* waits while an exclusive transaction runs */
	while (freed < excess) {
		size_t sz = evict_one(db, policy, samples, now_ms);

		if (sz == 0)
			break;
		freed += (int64_t)sz;
		if ((++n & 15) == 0 && limit_us >= 0 && clock_mono_us() - start > limit_us) {
			cut = true;
			break;
		}
	}
	db_write_exit(db);
	/* relaxed: a hint; during a save nothing retired can be freed */
	if (atomic_load_explicit(&db->snap, memory_order_relaxed) == NULL)
		reclaim_evicted(max,
				limit_us < 0 || limit_us > RECLAIM_WAIT_MAX_US
				    ? RECLAIM_WAIT_MAX_US
				    : (limit_us > RECLAIM_WAIT_US ? limit_us : RECLAIM_WAIT_US));
	/* relaxed: a hint for db_evict_cron */
	atomic_store_explicit(&db->evict_cut, cut, memory_order_relaxed);
	/* relaxed: statistic that gates eviction (see used_estimate) */
	atomic_fetch_sub_explicit(&db->used_est, freed, memory_order_relaxed);
	atomic_store_explicit(&db->evict_failed, freed == 0, memory_order_relaxed);
	/* release: pairs with the acquire above */
	atomic_store_explicit(&db->evicting, 0, memory_order_release);
	return freed == 0 ? -ENOMEM : 0;
}

/* Every command calls this: without maxmemory it is one load and a compare,
 * small enough to inline into the dispatch (the work above saves and restores
 * six registers and cost ~20 instructions and an I1 line per command). */
KV_HOT int db_check_memory(struct db *db, int64_t now_ms)
{
	/* relaxed: settings (see db_set_memory_policy) */
	long long max = atomic_load_explicit(&db->maxmemory, memory_order_relaxed);

	if (max <= 0)
		return 0;
	return check_memory_set(db, now_ms, max);
}
