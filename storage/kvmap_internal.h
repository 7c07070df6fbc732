/*
 * kvmap_internal.h — what kvmap.c (dispatch, hashing, thread state, counters)
 * and entry.c share with the map backends (kvmap_urcu.c, kvmap_kvsd.c).
 *
 * A backend embeds struct kvmap as the first member of its own map struct and
 * fills a struct kvmap_ops; kvmap.c forwards the public calls to it. Entry
 * counts are kept by kvmap.c in per-thread shards (kvmap_count_add), so that
 * kvmap_count() is O(shards) and no update contends on one atomic; retired
 * bytes go through kvmap_pending_add() the same way.
 *
 * kvmap_retire() hands an object to the epoch reclaimer (kvsd's map).
 *
 * Threads: kvmap_count_add / kvmap_pending_add may be called from any thread,
 * registered or not (the reclaimer's callback thread is not); kvmap_retire
 * only from registered threads.
 * Ordering: the counters are statistics; they publish nothing (relaxed).
 */
#ifndef KVSD_KVMAP_INTERNAL_H
#define KVSD_KVMAP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "concurrency/util.h"
#include "storage/kvmap.h"

/* Counter shards; threads map onto them by their context's ticket (wctx.h). A power of two. */
#define KVMAP_SHARDS 64

struct kvmap_shard {
	/* written by the threads that map to this shard, read by kvmap_count() */
	_Atomic int64_t v;
} KV_ALIGNED;

struct kvmap_ops {
	const char *name;
	struct kvmap *(*create)(size_t initial_buckets);
	void (*destroy)(struct kvmap *m);
	const struct kv_entry *(*get)(struct kvmap *m, const void *key, size_t klen, uint64_t hash);
	/* kvmap_get_witness and kvmap_unchanged (kvmap.h); NULL: get, and
	 * absence has no witness */
	const struct kv_entry *(*get_witness)(struct kvmap *m, const void *key, size_t klen,
					      uint64_t hash, uintptr_t *witness);
	int (*unchanged)(struct kvmap *m, const void *key, size_t klen, uint64_t hash,
			 const struct kv_entry *e, uintptr_t witness);
	int (*insert)(struct kvmap *m, struct kv_entry *e, const struct kv_entry **existing);
	int (*set)(struct kvmap *m, struct kv_entry *e);
	int (*replace)(struct kvmap *m, const struct kv_entry *expected, struct kv_entry *e);
	int (*remove)(struct kvmap *m, const struct kv_entry *expected);
	size_t (*clear)(struct kvmap *m);
	uint64_t (*scan)(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn,
			 void *arg);
	const struct kv_entry *(*random)(struct kvmap *m, uint64_t rnd);
	size_t (*walk_stripe)(struct kvmap *m, unsigned space, uint64_t stripe, unsigned bits,
			      kvmap_stripe_fn fn, void *arg);
	void (*maintain)(struct kvmap *m);	       /* may be NULL */
	void (*reserve)(struct kvmap *m, size_t keys); /* may be NULL: no-op */
	/* kvmap_insert_hashed, kvmap_prefetch (kvmap.h); may be NULL: insert,
	 * and no prefetch */
	int (*insert_hashed)(struct kvmap *m, struct kv_entry *e, uint64_t hash);
	void (*prefetch)(struct kvmap *m, uint64_t hash);
	/* NULL: kvmap.c's serialised validate-then-apply fallback (not isolated) */
	int (*mwcas)(struct kvmap *m, struct kvmap_mw *items, size_t n,
		     const struct kvmap_mw_watch *watch, size_t nwatch);
	/* whether the backend bumps stripes itself (else kvmap.c's wrappers do) */
	bool bumps_stripes;
	/* whether walk_stripe costs O(N) whatever the stripe (kvmap_walk_stripe_linear) */
	bool walk_linear;
};

/* The part of every map that kvmap.c owns. Allocate with kvmap_base_alloc(). */
struct kvmap {
	const struct kvmap_ops *ops;
	struct kvmap_shard count[KVMAP_SHARDS];
	/* KVMAP_STRIPES write counters (kvmap.h "Stripes"): bumped (relaxed RMW)
	 * by every writer before its publishing CAS, read by WATCH and by the
	 * MWCAS decision after the slot words they validate. */
	_Atomic uint64_t *stripes;
	/* per key space: entries and entries with a TTL, in KVMAP_SPACE_SHARDS
	 * per-thread shards (kvmap_count_space); relaxed statistics */
	_Atomic int64_t (*spc)[KV_SPACES][2];
};
#define KVMAP_SPACE_SHARDS 16

static inline size_t kvmap_stripe_idx(uint64_t hash)
{
	/* the tag bits (kvmap_kvsd.c keeps them in every slot word), so that a
	 * clear can find the stripe of a slot without hashing its key */
	return (size_t)(hash >> 48) & (KVMAP_STRIPES - 1);
}

static inline void kvmap_stripe_bump(struct kvmap *m, uint64_t hash)
{
	/* relaxed: sequenced before the writer's release CAS (and its retire),
	 * which carries it to whoever acquires the new word */
	atomic_fetch_add_explicit(&m->stripes[kvmap_stripe_idx(hash)], 1, memory_order_relaxed);
}

extern const struct kvmap_ops kvmap_urcu_ops;
extern const struct kvmap_ops kvmap_kvsd_ops;

/*
 * The URCU backend's per-entry prefix: cds_lfht node (16), rcu_head (16),
 * the hash (8) and the entry's expiry word (8: such entries always have
 * `ttl` set), in front of struct kv_entry in the same allocation.
 * kv_entry_new() adds it while kvmap_urcu_maps > 0 (an URCU map exists), and
 * marks the entry (kv_entry.prefix) so that kv_entry_free() finds the start.
 */
#define KV_PREFIX_BYTES 48
/* Live URCU maps; written by create/destroy, read relaxed by kv_entry_new. */
extern _Atomic int kvmap_urcu_maps;

static inline uint64_t *kv_entry_prefix_hash(const struct kv_entry *e)
{
	return (uint64_t *)(void *)((char *)(uintptr_t)e - 2 * sizeof(uint64_t));
}

/*
 * The KVSD backend's hash memo: the last entry a lookup on this thread found
 * and its key's hash, so that replacing or removing that entry (usually in
 * the same command) does not hash the key again. An entry cannot be
 * reclaimed before this thread's next quiescent state or offline period
 * (EBR), so until then its address names the same entry; kvmap.c forgets the
 * memo at each of them (kvmap_kvsd_memo_forget).
 */
struct kvsd_hash_memo {
	const struct kv_entry *e;
	uint64_t h;
};
extern _Thread_local struct kvsd_hash_memo kvsd_memo;

static inline void kvmap_kvsd_memo_forget(void)
{
	kvsd_memo.e = NULL;
}

/* Test hooks of the KVSD backend (single-threaded use): buckets of the
 * current table; and a migration to nbuckets started and left after `chunks`
 * chunks (of 256 buckets), so tests can observe a half-done migration. */
size_t kvmap_kvsd_buckets(struct kvmap *m);
void kvmap_kvsd_migrate_partial(struct kvmap *m, size_t nbuckets, size_t chunks);

/* Hands p (bytes long) to the epoch reclaimer: fn(p) runs once no thread can
 * hold it. The calling thread must be registered. */
void kvmap_retire(void *p, size_t bytes, void (*fn)(void *));

/* A cache-line-aligned, zeroed block of `size` bytes whose start is a struct
 * kvmap bound to ops; freed with kvmap_base_free(). */
struct kvmap *kvmap_base_alloc(size_t size, const struct kvmap_ops *ops);
void kvmap_base_free(struct kvmap *m);

/* This thread's counter shard (assigned on first use). */
unsigned kvmap_thread_shard(void);

static inline void kvmap_count_add(struct kvmap *m, int64_t d)
{
	/* relaxed: statistic only; publishes nothing */
	atomic_fetch_add_explicit(&m->count[kvmap_thread_shard()].v, d, memory_order_relaxed);
}

/* x with its 64 bits in reverse order: SCAN's reverse-bit cursor (both
 * backends, as Redis's dictScan) and cds_lfht's split-order key (the
 * bit-reversed hash it stores in node.reverse_hash). */
static inline uint64_t kvmap_rev64(uint64_t x)
{
	x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
	x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
	x = ((x >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((x & 0x0f0f0f0f0f0f0f0fULL) << 4);
	return __builtin_bswap64(x);
}

/* Adds d (may be negative) to the retired-but-unfreed byte count. */
void kvmap_pending_add(int64_t d);

/* Whether the calling thread is registered and online (a QSBR reader). */
bool kvmap_thread_is_online(void);

/*
 * ThreadSanitizer annotations. liburcu is not built with TSan, so the
 * happens-before edges it provides are invisible to it: the release of an
 * entry's bytes by the cmpxchg that publishes it, the dependent load that
 * finds it, and the grace period between a reader's last use of an entry and
 * the callback that frees it. These calls state exactly those edges (they
 * are annotations, not suppressions: a missing edge in kvsd's own code is
 * still reported) and compile to nothing outside TSan builds.
 *  - kvmap_tsan_publish(e) before e is handed to the table;
 *    kvmap_tsan_consume(e) when a traversal hands e to kvsd's code.
 *  - kvmap_tsan_quiescent() when a thread announces a quiescent state or goes
 *    offline; kvmap_tsan_reclaim() in the reclamation callback before a free.
 */
#if defined(__SANITIZE_THREAD__)
#define KVMAP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KVMAP_TSAN 1
#endif
#endif

#ifdef KVMAP_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char kvmap_tsan_grace;
#endif

static inline void kvmap_tsan_publish(const void *e)
{
#ifdef KVMAP_TSAN
	__tsan_release((void *)e);
#else
	(void)e;
#endif
}

static inline void kvmap_tsan_consume(const void *e)
{
#ifdef KVMAP_TSAN
	__tsan_acquire((void *)e);
#else
	(void)e;
#endif
}

static inline void kvmap_tsan_quiescent(void)
{
#ifdef KVMAP_TSAN
	__tsan_release(&kvmap_tsan_grace);
#endif
}

static inline void kvmap_tsan_reclaim(void)
{
#ifdef KVMAP_TSAN
	__tsan_acquire(&kvmap_tsan_grace);
#endif
}

#endif
