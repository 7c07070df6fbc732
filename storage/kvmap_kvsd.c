/*
 * kvmap_kvsd.c — the KVMAP_KVSD backend: kvsd's own lock-free hash map.
 *
 * Table: an array of 64-byte buckets (any number of them: see "Table
 * size"), each eight atomic 64-bit slot words. A word is  tag (16 high hash bits) << 48 | entry
 * pointer (x86-64 user pointers fit in 48 bits, entries are 8-aligned) | flags: 0 NULL: never used
 *   tag | e                a live entry
 *   tag | e | TOMB         deleted (tag and pointer kept: see "late helpers")
 *   ... | FROZEN           the slot was migrated; its value is final here
 * One CAS publishes tag and pointer together, so a GET compares the tags of
 * a bucket's eight slots in one cache line and dereferences only entries
 * whose tag matches; it makes no store.
 *
 * Probing: home bucket = t_home(hash), then the following buckets in order,
 * wrapping at the end (bucketized linear probing). Every slot goes NULL -> live -> (live')* ->
 * TOMB and never back; tombstones are not reused, only a migration drops
 * them. An insert claims the FIRST NULL slot of its probe sequence, having
 * examined every earlier slot for its key; a lookup stops at the first NULL.
 * A slot's key never changes once set (replace = CAS to an entry with the
 * same key), so two racing inserts of one key cannot both succeed: they race
 * for the same first NULL slot (or the loser passes the winner's slot, which
 * it can only do once that copy is a tombstone, i.e. deleted). Hence at most
 * one live entry per key, lying before the first NULL of its sequence.
 *
 * Migration (grow, shrink, same-size purge of tombstones) is cooperative
 * and chunked, with forwarding by freezing, as in Java's ConcurrentHashMap
 * and growt (Maier, Sanders, Dementiev: "Concurrent hash tables: fast and
 * general?!", 2016): the initiator seals t and installs t->next with one
 * CAS (see "Sizing the target"); helpers take
 * chunks of CHUNK buckets with fetch_add, freeze every slot (CAS set FROZEN;
 * a frozen slot's value can never change again) and copy live entries into
 * next with an insert-if-absent by key. Writers never write a table whose
 * `next` is set without first helping: a writer that loses a CAS to a
 * freeze (or sees `next`) helps and retries on the new table. Once every
 * chunk is marked copied, any helper publishes: cur = next, then done = 1,
 * and the CAS winner on cur retires the old table through the epoch
 * reclaimer. Readers never help and never wait: a lookup that met a FROZEN
 * slot loads the table's `done`; if still 0 nothing has been written to
 * `next` yet, so the frozen values are current; if 1 it repeats on `next`.
 *
 * Lock-freedom: a helper that finds every chunk claimed re-copies any chunk
 * not yet marked copied instead of waiting for its owner, so a preempted
 * helper delays nobody. Copying twice is harmless: the copy is
 * insert-if-absent by key over live *and tombstoned* slots of `next`.
 * Late helpers: a helper descheduled mid-chunk may copy after `done`, when
 * writers already changed `next`; it finds the key's first copy in `next`
 * (live, replaced, or a tombstone — which is why tombstones keep their
 * pointer) and stops there, so it cannot resurrect a deleted key. It may
 * dereference a tombstone's entry: that entry was retired after `cur` moved
 * to `next`, which is after the helper's epoch section began (it loaded the
 * old table from `cur` in that section), so it is not yet freed. A helper
 * that meets a FROZEN slot in `next` stops: `next` itself is migrating, so
 * the old table is long finished.
 *
 * Table size: the hash order is x = the hash with its 32-bit halves swapped
 * (hash_order: one rotate). A table of nb buckets, 2^(k-1) < nb <= 2^k,
 * reads x's top k bits u and makes bucket i home to the u in [ceil(i * 2^k
 * / nb), ceil((i+1) * 2^k / nb)): home = u * nb >> k (t_bucket_at: a mask
 * and one multiply), so nb need not be a power of two, each bucket is a
 * contiguous range of the order (one or two u each), and every bucket
 * starts at a multiple of 2^(64-k), which keeps SCAN's cursors small. x's top bits are the
 * hash's bits under 32, so a snapshot stripe (kvmap_stripe_of) is a run of
 * consecutive buckets; the tag (the hash's top 16 bits) is x's bits 16-31:
 * no part of the home for tables under 2^32 buckets, so it still tells
 * apart the keys of a bucket.
 * A power of two would keep 1M keys in 2^21 slots (48% full, 16.8 bytes per
 * key); this sizing keeps every table between 3/5 and 7/8 full (9.1 to 13.3
 * bytes per key) at the price of 1.46x steps instead of 2x ones (about 2.2
 * copies per key over a fill from empty instead of 1-2).
 *
 * Load factor without a contended counter: each thread counts the NULL slots
 * it claims and adds them to the table's `used` word in batches (up to 32);
 * `used` >= 7/8 of the slots (t_full) starts a migration sized from the
 * entry count (itself sharded per thread): target slots = 5/3 * live + 64,
 * so a grown table is at most 3/5 full and tombstones are purged. An insert that
 * probed more than PROBE_GROW buckets also starts one: with a keyed SipHash an
 * attacker who does not know the seed cannot aim keys at one run, so long
 * probes only come from load or tombstones, which the migration removes.
 * That is a backstop only (`used` counts every claim, tombstones and MWCAS
 * claims included), so PROBE_GROW sits above the longest probe the load
 * alone makes: linear probing's runs are long near 7/8 (simulated, random
 * homes, a fill to 7/8: the longest insert probe was 71-95 buckets at 150K
 * buckets, 99-155 at 1.5M, 118-120 at 12M). At 64 it fired by chance on
 * most large fills, so a table grew at a random load between 4/5 and 7/8,
 * and a 1M-key load ended in 1.19M or 1.82M slots depending on the seed.
 * Shrink: when live < slots/8 (checked every 64 deletes per thread and by
 * kvmap_maintain).
 *
 * Sizing the target (why copy_into() never finds it full). A target sized
 * from a count read *before* writers stop entering the old table can be too
 * small by any amount: while the sizer is preempted, writers that see no
 * `next` keep inserting, and an MSET commits thousands of keys in one MWCAS.
 * So a migration seals first and counts after, and every new key is counted
 * before it checks the seal:
 *   sizer:  exchange(t->sealed, 1); live = sum of count shards; size, CAS next
 *   writer: count += k; if (t->sealed) { count -= k; help; retry elsewhere }
 *           ... only then can its NULL-slot claim land (the insert's CAS,
 *           or the MWCAS's decision, which follows the check)
 * every access seq_cst (count_claim, count_add_sc, count_sc, mw_help).
 * Claim: each entry copied into n was counted in the sizer's `live`.
 *  1. Keys enter t only by an insert's NULL-slot CAS or by an MWCAS that
 *     commits a claimed NULL slot (copies from t's predecessor finished
 *     before t was published; late copies find the key's first copy and
 *     take no slot; replaces keep the slot's key; slots never become NULL).
 *  2. Dekker: in the single total order S, a writer whose seal load read 0
 *     precedes the seal, so its increment precedes the sizer's shard loads,
 *     which return it or a later value of that shard. For an MWCAS the
 *     check may be a helper's: the owner's increment is sequenced before its
 *     release install that the helper acquired before loading, so the
 *     increment strongly happens before the check and precedes it in S.
 *     A sizer that did not seal itself first loads `sealed` seq_cst and
 *     reads 1: its shard loads also follow the seal in S.
 *  3. Every decrement the sizer reads is of an entry whose increment it
 *     reads too (the remover acquired the slot word that the counted insert
 *     released, or it is a thread taking back its own increment in its own
 *     shard), and that entry left t before its slot froze (a remove after
 *     the freeze fails on t and retries on n, after publish(): it happens
 *     after the sizer's loads and is invisible to them), so it is not copied.
 *  Hence live >= the entries copied, and target slots >= 2 * live + 64 >
 *  live: copy_into() claims a NULL slot only for a key absent from n and
 *  probes all of n, so it always finds one. No bound on the number of
 *  writers, the MSET size or the sizer's delay is assumed; the +64 is only
 *  head-room. Sealing never blocks: a writer that finds t sealed without a
 *  `next` sizes one itself (install_next; any sizer reads after the seal)
 *  and the losers of the CAS free theirs, so the migration stays lock-free.
 *
 * SCAN: the cursor is a position x of the hash order, bit-reversed (as
 * Redis's dictScan's cursor is, for power-of-two tables only), so that it
 * is below 2^k (clients such as node-redis parse cursors as doubles, exact
 * below 2^53): a call visits home bucket t_bucket_at(x) and the ones after
 * it, and returns the first position of the next unvisited bucket (0 after
 * the last bucket), exactly: a quiet table's scan visits each key once.
 * Visiting home bucket i = every live entry whose home is i, found between
 * bucket i and the first NULL slot after it (SipHash is recomputed per
 * entry; nothing per entry is stored). Invariant: every key present since
 * the scan began whose x is below the cursor's was returned. A key keeps
 * its x whatever the table, and the bucket that holds the cursor's position
 * in a table of any size starts at or before it, so visiting that bucket
 * returns every such key at or after the cursor up to the bucket's end: a
 * table grown or shrunk (by any factor) between calls never makes the scan
 * skip one. Keys before the cursor may be returned twice, as Redis's may.
 * Each call uses the table current at its start; during a migration that
 * table's frozen slots still hold every key present, so one table suffices.
 *
 * Reclamation: replaced and removed entries and old tables go to the epoch
 * reclaimer (kvmap_retire); every public call runs inside the caller's epoch
 * section.
 *
 * Multi-word CAS (kvmap_mwcas; Harris, Fraser & Pratt 2002). A fourth kind
 * of word, tag | &slot_record | DESC, says "this slot takes part in an MWCAS
 * whose record holds its expected (old), committed (new) and aborted (fail)
 * words". Protocol, run by the owner and by any helper (mw_help):
 *  1. install: for each slot in address order, CAS old -> DESC; meeting
 *     another descriptor, help it first; meeting anything else (a change, a
 *     FROZEN word) decides FAILED;
 *  2. decide: with every slot installed and no watched stripe moved, CAS
 *     status UNDECIDED -> CHECKED; then bump the written keys' stripes and
 *     CAS CHECKED -> SUCCEEDED (the linearisation point). CHECKED exists so
 *     that the stripe check is made once: helpers that see it only bump
 *     (extra bumps are harmless false positives for watchers) and commit;
 *  3. cleanup: CAS each DESC -> new (SUCCEEDED) or fail (FAILED) word.
 * Address order makes helping acyclic: a helper meeting descriptor d2 at
 * address x helps d2 at addresses above x only, so recursion is bounded.
 * Why no RDCSS: HFP need it so that a delayed helper's install cannot land
 * after the operation finished. Here an expected word cannot reappear while
 * that helper is inside its epoch section — entries are immutable and
 * retired, a claimed NULL slot never becomes NULL again — except a compare
 * (or failed) slot restored to the same old word; a late install there
 * resolves to that same word for readers, and the helper that made it runs
 * cleanup before it returns.
 * An absent key is claimed by installing the descriptor in the NULL slot an
 * insert of it would take (the first NULL of its probe sequence that another
 * item of the same MWCAS does not claim); unless that becomes a live entry,
 * the slot ends as a tombstone of `ghost`, a static entry no key matches.
 * Readers (table_find, scan, random) never help: they read the status
 * (one acquire load) and use the old, new or fail word. Writers, migration
 * (before freezing a slot) and clear help. Migration and MWCAS: an MWCAS
 * lives in one table; a slot frozen before its install, or a sealed table
 * at its decision, makes it fail, and the owner retries on the new table.
 */
#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"

#define KVSD_SLOTS	     8
#define KVSD_MIN_BUCKETS     8
#define KVSD_DEFAULT_BUCKETS 64
#define KVSD_CHUNK	     256 /* buckets per migration chunk (16 KiB) */
#define KVSD_PROBE_GROW	     256 /* buckets an insert may probe before it migrates */
#define KVSD_SHRINK_EVERY    64	 /* deletes per thread between shrink checks */
#define KVSD_GROW_NUM	     7	 /* a table with this many eighths of its slots */
#define KVSD_GROW_DEN	     8	 /* claimed migrates (t_full) */
#define KVSD_HUGE_PAGE	     (2u << 20)
#define KVSD_HUGE_TABLE	     (8u << 20) /* tables from this size ask for huge pages */
#define KVSD_RELEASE_TABLE   (1u << 20) /* retired tables from this size return their pages */
#define KVSD_PAGE	     4096u

#define W_TOMB	   1ull
#define W_FROZEN   2ull
#define W_DESC	   4ull
#define W_PTR	   0x0000fffffffffff8ull
#define W_TAGSHIFT 48

struct kvsd_bucket {
	_Atomic uint64_t s[KVSD_SLOTS];
};
static_assert(sizeof(struct kvsd_bucket) == KV_CACHELINE, "a bucket is one cache line");

struct kvsd_table {
	/* Immutable after creation. */
	size_t nb;	/* buckets (any number >= KVSD_MIN_BUCKETS) */
	unsigned k;	/* the least k with 2^k >= nb ("Table size") */
	uint64_t keep;	/* the top k bits: ~0 << (64 - k) */
	size_t nchunks; /* ceil(buckets / KVSD_CHUNK) */
	size_t batch;	/* claims a thread adds to `used` at once */
	void *base;	/* the allocation */
	size_t bytes;	/* its usable size, for the reclaimer's accounting */
	/* Per chunk: 0 until some helper copied it (then 1, by CAS). */
	_Atomic uint8_t *copied;
	/* Written once (CAS NULL -> new table) by whichever sizer wins (see
	 * "Sizing the target"); acquire-loaded by writers and helpers:
	 * publishes the new table's zeroed buckets. */
	_Atomic(struct kvsd_table *) next;
	/* 0 -> 1 once (seq_cst exchange) by a migration's initiator, before it
	 * reads the entry count; seq_cst-loaded by every insert and MWCAS
	 * decision after they counted their new keys (the Dekker pair of
	 * "Sizing the target"). Once 1, nothing new enters this table. */
	_Atomic int sealed;

	/* Migration progress: helpers write, helpers and readers read. */
	alignas(KV_CACHELINE) _Atomic size_t claim; /* next chunk to hand out */
	_Atomic size_t chunks_done;		    /* chunks marked copied */
	/* Set (release) after m->cur moved to next; a reader that met a frozen
	 * slot acquires it: 1 = frozen values may be stale, read `next`. */
	_Atomic int done;

	/* Slots claimed from NULL (approximate, batched); inserters only. */
	alignas(KV_CACHELINE) _Atomic size_t used;

	alignas(KV_CACHELINE) struct kvsd_bucket b[];
};

struct kvsd_map {
	struct kvmap base; /* first: kvmap.c's counters and ops */
	/* The current table. Written by the helper that finishes a migration
	 * (CAS, release: publishes the copied slots); every operation
	 * acquire-loads it. */
	alignas(KV_CACHELINE) _Atomic(struct kvsd_table *) cur;
};

static inline struct kvsd_map *kvsd_map(struct kvmap *m)
{
	return (struct kvsd_map *)m;
}

static inline struct kv_entry *w_entry(uint64_t w)
{
	return (struct kv_entry *)(uintptr_t)(w & W_PTR);
}

static inline bool w_live(uint64_t w)
{
	return (w & W_PTR) && !(w & (W_TOMB | W_DESC));
}

/* ---- MWCAS records (the protocol is described at the top of the file). */

enum mw_status { MW_UNDECIDED, MW_CHECKED, MW_SUCCEEDED, MW_FAILED };

struct mw_desc;

/* One slot of an MWCAS; DESC words point here. Immutable once published. */
struct mw_slot {
	struct mw_desc *d;
	_Atomic uint64_t *addr;
	uint64_t oldw;	/* expected word; 0 = a NULL slot claimed for an absent key */
	uint64_t neww;	/* final word if SUCCEEDED */
	uint64_t failw; /* final word if FAILED */
	uint64_t hash;	/* the key's hash (stripe bumps) */
	bool write;
};

struct mw_desc {
	/* enum mw_status; CAS by owner and helpers (acq_rel), acquire-loaded by
	 * readers: SUCCEEDED makes every new word current at once */
	_Atomic int status;
	struct kvmap *m;
	struct kvsd_table *t; /* the table of every slot */
	size_t n, nwatch;
	size_t bytes;
	struct kvmap_mw_watch *watch; /* copies, after s[] */
	struct mw_slot s[];
};

/* Tombstones need a pointer (late migration helpers compare its key): the
 * slots an MWCAS claimed for an absent key that stays absent point here. */
static struct kv_entry ghost = {.klen = KV_KEY_MAX, .space = KV_SPACES - 1};

static inline struct mw_slot *w_mw(uint64_t w)
{
	return (struct mw_slot *)(uintptr_t)(w & W_PTR);
}

static inline uint64_t w_desc(uint64_t tag_word, const struct mw_slot *ms)
{
	return (tag_word & ~W_PTR & ~(W_TOMB | W_FROZEN | W_DESC)) | (uint64_t)(uintptr_t)ms |
	       W_DESC;
}

/* The word a reader acts on for a DESC word: no store, no wait. */
static inline uint64_t mw_resolve(uint64_t w)
{
	const struct mw_slot *ms = w_mw(w);
	/* acquire: pairs with the status CAS; SUCCEEDED orders every install
	 * (hence every other slot of the MWCAS) before this reader's next loads */
	int st = atomic_load_explicit(&ms->d->status, memory_order_acquire);

	return st == MW_SUCCEEDED ? ms->neww : st == MW_FAILED ? ms->failw : ms->oldw;
}

static void mw_help(struct mw_desc *d);

/*
 * The probe loops' shared step for writers (insert, replace, remove, clear,
 * migration, MWCAS locate): given w, a word just read from slot s, returns a
 * word of s that holds no MWCAS descriptor. While w is a descriptor, helps
 * its MWCAS to completion (mw_help runs cleanup, which replaces the
 * descriptor by the final word) and reloads s. Any other word is returned as
 * is, so the caller may pass the word its own load or failed CAS produced.
 * Readers never call this: they read around a descriptor (mw_resolve).
 * Not for mw_install(): it must recognise its own descriptor, not help it.
 * Calling context: inside an epoch section (the descriptor's record stays
 * valid while we help it). Ordering: the caller's load of w must be acquire
 * (a descriptor's record is read through it); each reload here is acquire
 * too, so the returned word orders its entry's bytes as the caller's did.
 * Progress: lock-free (helping is bounded: see "Address order").
 */
static inline uint64_t slot_settle(_Atomic uint64_t *s, uint64_t w)
{
	while (w & W_DESC) {
		mw_help(w_mw(w)->d);
		/* acquire: the final word cleanup released (its entry's bytes),
		 * or a newer descriptor's record, helped next */
		w = atomic_load_explicit(s, memory_order_acquire);
	}
	return w;
}

static inline uint64_t w_make(uint64_t h, const struct kv_entry *e)
{
	uint64_t p = (uint64_t)(uintptr_t)e;

	KV_ASSERT((p & ~W_PTR) == 0); /* 8-aligned and below 2^48 */
	return (h >> W_TAGSHIFT) << W_TAGSHIFT | p;
}

/* Whether e is the key (key, klen) of the space that hash h carries. */
static inline bool key_eq(const struct kv_entry *e, const void *key, size_t klen, uint64_t h)
{
	return e->klen == klen && e->space == kv_hash_space(h) &&
	       kv_bytes_eq(kv_entry_key(e), key, klen);
}

/* Whether a and b have the same key (space and bytes). */
static inline bool entry_key_eq(const struct kv_entry *a, const struct kv_entry *b)
{
	return a->klen == b->klen && a->space == b->space &&
	       kv_bytes_eq(kv_entry_key(a), kv_entry_key(b), a->klen);
}

static inline uint64_t entry_hash(const struct kv_entry *e)
{
	return kv_entry_hash(e);
}

static inline size_t t_slots(const struct kvsd_table *t)
{
	return t->nb * KVSD_SLOTS;
}

/* The bucket of position x of the hash order (see "Table size"): of x's
 * top k bits u, u * nb / 2^k. */
static inline size_t t_bucket_at(const struct kvsd_table *t, uint64_t x)
{
	return (size_t)(((unsigned __int128)(x & t->keep) * t->nb) >> 64);
}

/* The first position of the hash order whose bucket is bi (0 < bi < nb):
 * u = ceil(bi * 2^k / nb) in the top k bits. */
static inline uint64_t t_bucket_start(const struct kvsd_table *t, size_t bi)
{
	return (uint64_t)((((unsigned __int128)bi << t->k) + t->nb - 1) / t->nb) << (64 - t->k);
}

/* The position of hash h in the hash order: its halves swapped, so that
 * the stripe bits (kvmap_stripe_of: just under bit 32) lead. */
static inline uint64_t hash_order(uint64_t h)
{
	return h >> 32 | h << 32;
}

/* The home bucket of hash h. */
static inline size_t t_home(const struct kvsd_table *t, uint64_t h)
{
	return t_bucket_at(t, hash_order(h));
}

/* The bucket after bi in probe order (wrapping). */
static inline size_t t_next(const struct kvsd_table *t, size_t bi)
{
	return bi + 1 == t->nb ? 0 : bi + 1;
}

/* ---- tables. */

static struct kvsd_table *table_new(size_t nbuckets)
{
	size_t nchunks = (nbuckets + KVSD_CHUNK - 1) / KVSD_CHUNK;
	size_t size = sizeof(struct kvsd_table) + nbuckets * sizeof(struct kvsd_bucket) + nchunks;
	/* calloc: jemalloc hands out fresh pages for big tables without a memset */
	char *base = mem_calloc(1, size + KV_CACHELINE - 1);
	struct kvsd_table *t = (struct kvsd_table *)(((uintptr_t)base + KV_CACHELINE - 1) &
						     ~(uintptr_t)(KV_CACHELINE - 1));

	t->nb = nbuckets;
	t->k = 64 - (unsigned)__builtin_clzll((unsigned long long)nbuckets - 1); /* nb >= 8 */
	t->keep = ~0ull << (64 - t->k);
	t->nchunks = nchunks;
	t->base = base;
	t->bytes = mem_usable(base);
	t->copied = (_Atomic uint8_t *)(void *)&t->b[nbuckets];
	size_t batch = nbuckets * KVSD_SLOTS / 256;
	t->batch = batch < 1 ? 1 : batch > 32 ? 32 : batch;
	return t;
}

/*
 * Frees a table. A big one's bucket pages go back to the OS first
 * (MADV_DONTNEED) rather than wait in the allocator's dirty pages for its
 * decay (jemalloc: 10 s): growth by 1.46x steps retires about 2.2 times the
 * final table over a fill, which would otherwise stay in RSS. Safe: nobody
 * reads a table the reclaimer frees, and the allocator keeps no data inside
 * a large block. Tables never published take the same path.
 */
static void table_free(void *p)
{
	struct kvsd_table *t = p;
	void *base = t->base;

#ifdef MADV_DONTNEED
	if (t->bytes >= KVSD_RELEASE_TABLE) {
		uintptr_t lo = ((uintptr_t)&t->b[0] + KVSD_PAGE - 1) & ~(uintptr_t)(KVSD_PAGE - 1);
		uintptr_t hi = (uintptr_t)&t->b[t->nb] & ~(uintptr_t)(KVSD_PAGE - 1);
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* a hint */
	}
#endif
	mem_free(base);
}

static KV_HOT void entry_free_cb(void *p)
{
	kv_entry_free_retired(p);
}

static void retire_entry(const struct kv_entry *e)
{
	struct kv_entry *x = (struct kv_entry *)(uintptr_t)e;

	kvmap_retire(x, kv_entry_size(x), entry_free_cb);
}

/* Adds d to this thread's count shard as part of the sizing protocol.
 * seq_cst: the increment must precede, in the single total order, the
 * caller's later seq_cst load of `sealed` ("Sizing the target"). */
static void count_add_sc(struct kvmap *m, int64_t d)
{
	atomic_fetch_add_explicit(&m->count[kvmap_thread_shard()].v, d, memory_order_seq_cst);
}

/*
 * Counts a new key about to enter t (a NULL-slot claim). false: t is sealed;
 * the count is taken back and the caller must help the migration instead.
 */
static bool count_claim(struct kvmap *m, struct kvsd_table *t)
{
	count_add_sc(m, 1);
	/* seq_cst: after our increment in the total order; pairs with the
	 * exchange in start_migration() (Dekker: we see the seal, or the sizer
	 * sees our increment) */
	if (!atomic_load_explicit(&t->sealed, memory_order_seq_cst))
		return true;
	/* relaxed: taking back our own increment; same shard, so no reader
	 * sees the decrement without it */
	atomic_fetch_add_explicit(&m->count[kvmap_thread_shard()].v, -1, memory_order_relaxed);
	return false;
}

/* Whether `used` claimed slots make t due for a migration ("Table size"). */
static inline bool t_full(const struct kvsd_table *t, size_t used)
{
	return used * KVSD_GROW_DEN >= t_slots(t) * KVSD_GROW_NUM;
}

/* Buckets for a table holding `live` entries at most 3/5 full, plus slack
 * so that a small table is not full again at once (not needed for safety:
 * see "Sizing the target"). */
static size_t target_buckets(size_t live)
{
	size_t slots = live / 3 * 5 + live % 3 * 2 + 64; /* >= live * 5/3 + 64 */
	size_t nb = (slots + KVSD_SLOTS - 1) / KVSD_SLOTS;

	return nb < KVSD_MIN_BUCKETS ? KVSD_MIN_BUCKETS : nb;
}

/* ---- lookup. */

/* The live entry for key in t, or NULL; *frozen is set if a FROZEN slot was
 * read; *end is the slot where the probe ended (kvmap_unchanged): the
 * entry's, or the one that ended the sequence (NULL if it ran through the
 * whole table). */
static const struct kv_entry *table_find(const struct kvsd_table *t, const void *key, size_t klen,
					 uint64_t h, bool *frozen, const void **end)
{
	uint64_t tag = h >> W_TAGSHIFT;
	size_t bi = t_home(t, h);

	for (size_t p = 0; p < t->nb; p++, bi = t_next(t, bi)) {
		const struct kvsd_bucket *b = &t->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: pairs with the release CAS that published the
			 * entry, so its bytes are visible before the key compare */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
			if (w & W_FROZEN)
				*frozen = true;
			if ((w >> W_TAGSHIFT) != tag) {
				/* the common case first: another key's slot (live,
				 * tombstone or descriptor, whatever its outcome: all
				 * carry their key's tag), or NULL */
				if (w & W_PTR)
					continue;
				*end = &b->s[i];
				return NULL; /* NULL (frozen or not): end of the sequence */
			}
			if (w & W_DESC)
				w = mw_resolve(w); /* read around: old or new */
			if (!(w & W_PTR)) {
				*end = &b->s[i];
				return NULL; /* NULL (frozen or not): end of the sequence */
			}
			if ((w & W_TOMB) || (w >> W_TAGSHIFT) != tag)
				continue;
			const struct kv_entry *e = w_entry(w);
			if (key_eq(e, key, klen, h)) {
				*end = &b->s[i];
				return e;
			}
		}
	}
	*end = NULL;
	return NULL;
}

static KV_HOT const struct kv_entry *kvsd_get_witness(struct kvmap *m, const void *key, size_t klen,
						      uint64_t h, uintptr_t *witness)
{
	/* acquire: pairs with the release CAS that installed the table */
	struct kvsd_table *t = atomic_load_explicit(&kvsd_map(m)->cur, memory_order_acquire);

	for (;;) {
		bool frozen = false;
		const void *end = NULL;
		const struct kv_entry *e = table_find(t, key, klen, h, &frozen, &end);
		/* acquire: pairs with the release store of done after the last
		 * copy; 0 means nothing was written to next yet */
		if (!frozen || !atomic_load_explicit(&t->done, memory_order_acquire)) {
			/* a slot address names its table: t cannot be freed and
			 * reused while the caller's epoch section lasts */
			*witness = (uintptr_t)end;
			if (e) { /* for swap(): see kvsd_hash_memo */
				kvsd_memo.e = e;
				kvsd_memo.h = h;
			}
			return e;
		}
		/* acquire: the new table's slots as the copiers left them */
		t = atomic_load_explicit(&t->next, memory_order_acquire);
	}
}

/* kvmap_unchanged: a present entry still in the slot where it was found,
 * with no flag (not frozen by a migration, no MWCAS installed), is still
 * current: one load instead of a lookup. Anything else: a lookup. */
static int kvsd_unchanged(struct kvmap *m, const void *key, size_t klen, uint64_t h,
			  const struct kv_entry *e, uintptr_t witness)
{
	uintptr_t now;

	/* acquire: as a lookup's load of the slot */
	if (e && witness &&
	    atomic_load_explicit((_Atomic uint64_t *)witness, memory_order_acquire) == w_make(h, e))
		return 1;
	if (kvsd_get_witness(m, key, klen, h, &now) != e)
		return 0;
	return e != NULL || (witness != 0 && now == witness);
}

static KV_HOT const struct kv_entry *kvsd_get(struct kvmap *m, const void *key, size_t klen,
					      uint64_t h)
{
	uintptr_t witness;

	return kvsd_get_witness(m, key, klen, h, &witness);
}

/* ---- migration. */

enum copy_rc { COPY_OK, COPY_STALE };

/* Insert-if-absent of e (hash h) into n by key, over live and tombstoned slots. */
static enum copy_rc copy_into(struct kvsd_table *n, struct kv_entry *e, uint64_t h)
{
	uint64_t mine = w_make(h, e);
	uint64_t tag = h >> W_TAGSHIFT;
	size_t bi = t_home(n, h);

	for (size_t p = 0; p < n->nb; p++, bi = t_next(n, bi)) {
		struct kvsd_bucket *b = &n->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: another helper's (or a late writer's) entry bytes */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
		again:
			w = slot_settle(&b->s[i], w); /* the slot's final word */
			if (w & W_FROZEN)
				return COPY_STALE; /* n is migrating: our source is long done */
			if (w == 0) {
				/* release: publishes e's slot for the readers of n;
				 * acquire on failure: the winner's entry bytes */
				if (atomic_compare_exchange_strong_explicit(&b->s[i], &w, mine,
									    memory_order_release,
									    memory_order_acquire))
					return COPY_OK;
				goto again;
			}
			if ((w >> W_TAGSHIFT) != tag)
				continue;
			if (w_entry(w) == e || entry_key_eq(w_entry(w), e))
				return COPY_OK; /* first copy already there (maybe since changed) */
		}
	}
	KV_PANIC("kvsd map: migration target full (%zu buckets)", n->nb);
}

static void publish(struct kvsd_map *km, struct kvsd_table *t, struct kvsd_table *n)
{
	struct kvsd_table *expect = t;

	/* release: every copy (ours and, through the chunks_done RMW chain, the
	 * other helpers') happens-before a writer that acquires the new cur */
	if (atomic_compare_exchange_strong_explicit(&km->cur, &expect, n, memory_order_release,
						    memory_order_relaxed))
		kvmap_retire(t, t->bytes, table_free);
	/* release: after cur moved; a reader acquiring done = 1 may read next */
	atomic_store_explicit(&t->done, 1, memory_order_release);
}

/* Freezes and copies chunk c of t into n. Returns false if the help is moot. */
static bool migrate_chunk(struct kvsd_map *km, struct kvsd_table *t, struct kvsd_table *n, size_t c)
{
	size_t lo = c * KVSD_CHUNK, hi = lo + KVSD_CHUNK, copied = 0;

	if (hi > t->nb)
		hi = t->nb;
	for (size_t bi = lo; bi < hi; bi++) {
		struct kvsd_bucket *b = &t->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: the entry bytes of the value we copy */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
			for (;;) {
				/* settle the MWCAS before freezing */
				w = slot_settle(&b->s[i], w);
				/* acq_rel: the freeze must not be reordered with our
				 * copy; a writer's CAS on this slot now fails */
				if ((w & W_FROZEN) ||
				    atomic_compare_exchange_weak_explicit(
					&b->s[i], &w, w | W_FROZEN, memory_order_acq_rel,
					memory_order_acquire))
					break;
			}
			if (!w_live(w))
				continue;
			struct kv_entry *e = w_entry(w);
			if (copy_into(n, e, entry_hash(e)) == COPY_STALE)
				return false;
			copied++;
		}
	}
	uint8_t zero = 0;
	/* acq_rel: our copies before the mark; whoever publishes acquires all */
	if (atomic_compare_exchange_strong_explicit(&t->copied[c], &zero, 1, memory_order_acq_rel,
						    memory_order_acquire)) {
		/* relaxed: statistic feeding the next resize decision */
		atomic_fetch_add_explicit(&n->used, copied, memory_order_relaxed);
		/* acq_rel: chains every helper's copies to the one that sees the total */
		size_t d = atomic_fetch_add_explicit(&t->chunks_done, 1, memory_order_acq_rel) + 1;
		if (d == t->nchunks)
			publish(km, t, n);
	}
	return true;
}

/* The live-entry count as the sizing protocol needs it: every shard
 * seq_cst-loaded (after the caller's seq_cst access that saw the seal). */
static size_t count_sc(const struct kvmap *m)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < KVMAP_SHARDS; i++)
		/* seq_cst: after the seal in the total order, so every increment
		 * of a writer that did not see the seal is included */
		sum += atomic_load_explicit(&m->count[i].v, memory_order_seq_cst);
	return sum > 0 ? (size_t)sum : 0;
}

/*
 * t->next for a sealed t: installs a target of at least `want` buckets sized
 * from the count read now (after the seal), unless another sizer already
 * did. Any thread may call it: a sealer that is preempted between sealing and
 * installing delays nobody (lock-freedom).
 */
static struct kvsd_table *install_next(struct kvsd_map *km, struct kvsd_table *t, size_t want)
{
	/* acquire: an installed target's zeroed buckets */
	struct kvsd_table *n = atomic_load_explicit(&t->next, memory_order_acquire);

	if (n)
		return n;
	/* seq_cst: reads the seal (callers saw it), which places our shard
	 * loads below after the seal in the total order even if another thread
	 * sealed */
	KV_ASSERT(atomic_load_explicit(&t->sealed, memory_order_seq_cst));
	size_t nb = target_buckets(count_sc(&km->base));
	n = table_new(nb > want ? nb : want);
	struct kvsd_table *cur = NULL;
	/* release: n's zeroed buckets before anyone copies into it; acquire on
	 * failure: the winner's buckets */
	if (atomic_compare_exchange_strong_explicit(&t->next, &cur, n, memory_order_release,
						    memory_order_acquire))
		return n;
	table_free(n); /* never published */
	return cur;
}

/* Helps the migration out of t until it is done (or our help is moot). */
static void help(struct kvsd_map *km, struct kvsd_table *t)
{
	/* acquire: pairs with install_next()'s CAS: n's zeroed buckets */
	struct kvsd_table *n = atomic_load_explicit(&t->next, memory_order_acquire);

	if (!n) {
		/* relaxed: a hint; install_next() re-reads it seq_cst */
		if (!atomic_load_explicit(&t->sealed, memory_order_relaxed))
			return;
		n = install_next(km, t, 0); /* the sealer has not sized it yet */
	}
	for (;;) {
		/* acquire: pairs with publish(); nothing left to do */
		if (atomic_load_explicit(&t->done, memory_order_acquire))
			return;
		/* relaxed: only hands out distinct chunk numbers */
		size_t c = atomic_fetch_add_explicit(&t->claim, 1, memory_order_relaxed);
		if (c >= t->nchunks)
			break;
		if (!migrate_chunk(km, t, n, c))
			return;
	}
	/* All chunks are claimed: re-copy whatever is not marked yet rather than
	 * wait for a slow owner (lock-freedom; copying twice is harmless). */
	while (!atomic_load_explicit(&t->done, memory_order_acquire)) {
		for (size_t c = 0; c < t->nchunks; c++) {
			/* acquire: a marked chunk's copies are visible */
			if (atomic_load_explicit(&t->copied[c], memory_order_acquire))
				continue;
			if (!migrate_chunk(km, t, n, c))
				return;
		}
		/* acquire: the last marker's copies; publish is idempotent */
		if (atomic_load_explicit(&t->chunks_done, memory_order_acquire) == t->nchunks)
			publish(km, t, n);
	}
}

/*
 * Starts a migration of t into a table of at least nbuckets (unless one
 * runs) and helps it: seal first, then size from the count (install_next),
 * so the count includes every key that can still enter t.
 */
static void start_migration(struct kvsd_map *km, struct kvsd_table *t, size_t nbuckets)
{
	/* seq_cst: the seal precedes our count loads in the total order; pairs
	 * with count_claim() and mw_help()'s load (Dekker) */
	atomic_exchange_explicit(&t->sealed, 1, memory_order_seq_cst);
	install_next(km, t, nbuckets);
	help(km, t);
}

/* The slot claim accounting of an insert into t that probed `probed` buckets. */
static void note_claim(struct kvsd_map *km, struct kvsd_table *t, size_t probed)
{
	struct wctx *w = wctx_self(); /* claim batching is per thread */
	size_t used = 0;

	if (w->claim_table != t) {
		w->claim_table = t; /* claims pending for an old table are dropped: approximate */
		w->claims = 0;
	}
	if (++w->claims >= t->batch) {
		/* relaxed: a statistic deciding when to resize; publishes nothing */
		used = atomic_fetch_add_explicit(&t->used, w->claims, memory_order_relaxed) +
		       w->claims;
		w->claims = 0;
	}
	if (t_full(t, used) || probed >= KVSD_PROBE_GROW) {
		size_t live = kvmap_count(&km->base);
		size_t nb = target_buckets(live);
		if (probed >= KVSD_PROBE_GROW && nb <= t->nb && live * 4 > t_slots(t))
			nb = 2 * t->nb;
		start_migration(km, t, nb);
	}
}

/* Every 64 deletes of a thread: shrink t if it is below 1/8 full. */
static void maybe_shrink(struct kvsd_map *km, struct kvsd_table *t, bool now)
{
	if (!now && ++wctx_self()->deletes % KVSD_SHRINK_EVERY != 0)
		return;
	if (t->nb <= KVSD_MIN_BUCKETS)
		return;
	size_t live = kvmap_count(&km->base);
	if (live * 8 >= t_slots(t))
		return;
	size_t nb = target_buckets(live);
	if (nb < t->nb)
		start_migration(km, t, nb);
}

/* The current table, after helping any migration out of it. */
static struct kvsd_table *writable_table(struct kvsd_map *km)
{
	for (;;) {
		/* acquire: pairs with publish()'s release CAS */
		struct kvsd_table *t = atomic_load_explicit(&km->cur, memory_order_acquire);
		/* relaxed: a hint; inserts re-check it seq_cst (count_claim) and
		 * help() acquires next itself */
		if (!atomic_load_explicit(&t->sealed, memory_order_relaxed))
			return t;
		help(km, t);
	}
}

/* ---- updates. */

enum put_mode { PUT_INSERT, PUT_SET };

/*
 * Inserts e into t (or, for PUT_SET, replaces the live entry of its key).
 * 0: inserted into a NULL slot; 1: replaced *old; -EEXIST: *old exists
 * (insert); -EAGAIN: met a frozen slot or t is sealed (help, retry);
 * -ENOSPC: no NULL slot. *counted: this call (or an earlier one with the
 * same flag) added 1 to the count for a new key (count_claim).
 */
static int table_put(struct kvmap *m, struct kvsd_table *t, struct kv_entry *e, uint64_t h,
		     enum put_mode mode, const struct kv_entry **old, size_t *probed, bool *counted)
{
	uint64_t mine = w_make(h, e);
	uint64_t tag = h >> W_TAGSHIFT;
	size_t bi = t_home(t, h);

	for (size_t p = 0; p < t->nb; p++, bi = t_next(t, bi)) {
		struct kvsd_bucket *b = &t->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: a matching entry's key bytes */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
		again:
			w = slot_settle(&b->s[i], w);
			if (w & W_FROZEN)
				return -EAGAIN;
			if (w == 0) {
				/* counted before the claim can land ("Sizing the
				 * target"); kept across a lost CAS, taken back by
				 * put() unless we insert */
				if (!*counted && !(*counted = count_claim(m, t)))
					return -EAGAIN;	 /* sealed: help, retry */
				kvmap_stripe_bump(m, h); /* WATCH: before it is visible */
				/* release: publishes e's bytes with the slot; acquire
				 * on failure: the winner's entry, examined next */
				if (atomic_compare_exchange_strong_explicit(&b->s[i], &w, mine,
									    memory_order_release,
									    memory_order_acquire)) {
					*probed = p;
					return 0;
				}
				goto again;
			}
			if ((w & W_TOMB) || (w >> W_TAGSHIFT) != tag)
				continue;
			const struct kv_entry *x = w_entry(w);
			if (!entry_key_eq(x, e))
				continue;
			*old = x;
			if (mode == PUT_INSERT)
				return -EEXIST;
			kvmap_stripe_bump(m, h); /* WATCH: before it is visible */
			/* release: publishes e; acquire on failure: the new value */
			if (atomic_compare_exchange_strong_explicit(
				&b->s[i], &w, mine, memory_order_release, memory_order_acquire))
				return 1;
			goto again;
		}
	}
	return -ENOSPC;
}

static int put(struct kvsd_map *km, struct kv_entry *e, enum put_mode mode,
	       const struct kv_entry **old, uint64_t h)
{
	for (;;) {
		struct kvsd_table *t = writable_table(km);
		size_t probed = 0;
		bool counted = false;
		int rc = table_put(&km->base, t, e, h, mode, old, &probed, &counted);
		if (counted && rc != 0)
			/* relaxed: our own increment taken back (same shard) */
			atomic_fetch_add_explicit(&km->base.count[kvmap_thread_shard()].v, -1,
						  memory_order_relaxed);
		if (rc == -EAGAIN) {
			help(km, t);
			continue;
		}
		if (rc == -ENOSPC) {
			start_migration(km, t, 2 * t->nb);
			continue;
		}
		if (rc == 0)
			note_claim(km, t, probed); /* counted by table_put */
		return rc;
	}
}

static int kvsd_insert(struct kvmap *m, struct kv_entry *e, const struct kv_entry **existing)
{
	const struct kv_entry *old = NULL;
	int rc = put(kvsd_map(m), e, PUT_INSERT, &old, entry_hash(e));

	if (rc == -EEXIST && existing)
		*existing = old;
	return rc;
}

static int kvsd_insert_hashed(struct kvmap *m, struct kv_entry *e, uint64_t h)
{
	const struct kv_entry *old = NULL;

	return put(kvsd_map(m), e, PUT_INSERT, &old, h);
}

static void kvsd_prefetch(struct kvmap *m, uint64_t h)
{
	/* acquire: as every operation's load of the current table */
	const struct kvsd_table *t = atomic_load_explicit(&kvsd_map(m)->cur, memory_order_acquire);

	__builtin_prefetch(&t->b[t_home(t, h)], 1);
}

static int kvsd_set(struct kvmap *m, struct kv_entry *e)
{
	const struct kv_entry *old = NULL;
	int rc = put(kvsd_map(m), e, PUT_SET, &old, entry_hash(e));

	if (rc == 1)
		retire_entry(old);
	return rc;
}

/*
 * CAS of the live slot holding `expected` (searched from hash h) to `neww`.
 * 0 done; -ENOENT expected is not live in t; -EAGAIN met expected frozen.
 */
static int table_swap(struct kvmap *m, struct kvsd_table *t, uint64_t h,
		      const struct kv_entry *expected, uint64_t neww)
{
	uint64_t want = w_make(h, expected);
	size_t bi = t_home(t, h);

	for (size_t p = 0; p < t->nb; p++, bi = t_next(t, bi)) {
		struct kvsd_bucket *b = &t->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: a descriptor's record (else we compare words only) */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
			w = slot_settle(&b->s[i], w);
			if (!(w & W_PTR))
				return -ENOENT;
			if ((w & ~W_FROZEN) != want)
				continue; /* another entry, or a tombstone */
			if (w & W_FROZEN)
				return -EAGAIN;
			kvmap_stripe_bump(m, h); /* WATCH: before the change is visible */
			/* release: publishes the new entry (if any); relaxed on
			 * failure: the slot is re-examined by the retry */
			if (atomic_compare_exchange_strong_explicit(
				&b->s[i], &w, neww, memory_order_release, memory_order_relaxed))
				return 0;
			/* Changed under us: frozen (help) or no longer expected. */
			return (w & ~W_FROZEN) == want || (w & W_DESC) ? -EAGAIN : -ENOENT;
		}
	}
	return -ENOENT;
}

_Thread_local struct kvsd_hash_memo kvsd_memo;

static KV_HOT int swap(struct kvsd_map *km, const struct kv_entry *expected, struct kv_entry *e)
{
	bool memo = kvsd_memo.e == expected;
	uint64_t h = memo ? kvsd_memo.h : entry_hash(expected);

	for (;;) {
		struct kvsd_table *t = writable_table(km);
		uint64_t neww = e ? w_make(h, e) : w_make(h, expected) | W_TOMB;
		int rc = table_swap(&km->base, t, h, expected, neww);
		if (rc == -EAGAIN) {
			help(km, t);
			continue;
		}
		if (rc == -ENOENT && memo) {
			/* not found under the memo's hash: look again under the
			 * entry's own before answering (a stale memo would be a
			 * reclamation bug; this keeps even that harmless) */
			memo = false;
			h = entry_hash(expected);
			continue;
		}
		if (rc == 0 && !e)
			maybe_shrink(km, t, false);
		return rc;
	}
}

static KV_HOT int kvsd_replace(struct kvmap *m, const struct kv_entry *expected, struct kv_entry *e)
{
	KV_ASSERT(e->klen == expected->klen && e->space == expected->space);
	if (swap(kvsd_map(m), expected, e) != 0)
		return -EAGAIN;
	retire_entry(expected);
	return 0;
}

static int kvsd_remove(struct kvmap *m, const struct kv_entry *expected)
{
	if (swap(kvsd_map(m), expected, NULL) != 0)
		return -ENOENT;
	kvmap_count_add(m, -1);
	retire_entry(expected);
	return 0;
}

static size_t kvsd_clear(struct kvmap *m)
{
	struct kvsd_map *km = kvsd_map(m);
	size_t removed = 0;
	struct kvsd_table *t;

restart:
	t = writable_table(km);
	for (size_t bi = 0; bi < t->nb; bi++) {
		for (int i = 0; i < KVSD_SLOTS; i++) {
			_Atomic uint64_t *s = &t->b[bi].s[i];
			/* acquire: retiring reads the entry's header (its size) */
			uint64_t w = atomic_load_explicit(s, memory_order_acquire);
			for (;;) {
				w = slot_settle(s, w);
				if (!w_live(w) || (w & W_FROZEN))
					break;
				/* WATCH (FLUSHALL touches present keys): the tag
				 * selects the stripe */
				kvmap_stripe_bump(m, w);
				/* acq_rel: release carries the bump to whoever
				 * acquires the tombstone; acquire on failure: the
				 * newer entry's header, which we retire instead */
				if (atomic_compare_exchange_weak_explicit(s, &w, w | W_TOMB,
									  memory_order_acq_rel,
									  memory_order_acquire)) {
					kvmap_count_add(m, -1);
					retire_entry(w_entry(w));
					removed++;
					break;
				}
			}
			if (w & W_FROZEN) {
				help(km, t);
				goto restart;
			}
		}
	}
	maybe_shrink(km, t, true);
	return removed;
}

/* ---- scan and random. */

/* Visits every live entry of t whose home bucket is `home`; returns how many. */
static size_t visit_home(const struct kvsd_table *t, size_t home, kvmap_visit_fn fn, void *arg)
{
	size_t n = 0;

	size_t bi = home;

	for (size_t p = 0; p < t->nb; p++, bi = t_next(t, bi)) {
		const struct kvsd_bucket *b = &t->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: the entry's bytes (key hashed, visitor reads it) */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
			if (w & W_DESC)
				w = mw_resolve(w);
			if (!(w & W_PTR))
				return n;
			if (w & W_TOMB)
				continue;
			const struct kv_entry *e = w_entry(w);
			if (t_home(t, entry_hash(e)) == home) {
				fn(e, arg);
				n++;
			}
		}
	}
	return n;
}

static uint64_t kvsd_scan(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn,
			  void *arg)
{
	/* acquire: pairs with publish() */
	const struct kvsd_table *t = atomic_load_explicit(&kvsd_map(m)->cur, memory_order_acquire);
	size_t visited = 0, empty = 0, empty_max;

	if (count == 0)
		count = 1;
	empty_max = count > SIZE_MAX / 10 ? SIZE_MAX : count * 10;
	size_t home = t_bucket_at(t, kvmap_rev64(cursor));
	do {
		size_t n = visit_home(t, home, fn, arg);
		visited += n;
		empty += n == 0;
	} while (++home < t->nb && visited < count && empty < empty_max);
	/* the next bucket's first position, reversed (0 after the last
	 * bucket): one division per call, not per bucket (KEYS walks them all) */
	return home == t->nb ? 0 : kvmap_rev64(t_bucket_start(t, home));
}

/* Starts fetching the entries of bucket b (a stripe walk reads each one's
 * key next, and at a million keys or more each is a cache miss). */
/* How many buckets ahead a stripe walk fetches entries: hashing one
 * bucket's few entries takes less than a miss to memory, so one bucket
 * ahead left the walk waiting; 4 cut the saver's CPU per key 10-22% at 1M
 * keys, 8 no further (bench/save-cpu.py, docs/BENCHMARKS.md save15d). */
#define WALK_AHEAD 4
static inline void prefetch_entries(const struct kvsd_bucket *b)
{
	for (int i = 0; i < KVSD_SLOTS; i++) {
		/* relaxed: a hint; the walk's own load of the slot orders */
		uint64_t w = atomic_load_explicit(&b->s[i], memory_order_relaxed);

		if (!(w & W_PTR))
			break;
		if (!(w & (W_DESC | W_TOMB)))
			__builtin_prefetch(w_entry(w));
	}
}

/*
 * kvmap_walk_stripe (kvmap.h): one table; the stripe's home buckets are
 * first..last (consecutive: "Table size"), and its entries lie in their
 * homes' probe runs, which together are first .. the first bucket from
 * last on that has a NULL slot. So the walk reads each of those buckets
 * once (a home bucket whatever its NULLs; past `last`, up to the first
 * NULL) and keeps the entries of its space and stripe: an entry of the
 * stripe found there is in its home's run, and nothing is visited twice
 * (one slot per key per table). Visiting each home's run separately, as
 * SCAN does, hashed each entry about 2.6 times at 1M keys (callgrind,
 * docs/BENCHMARKS.md saver15), the runs of consecutive homes overlapping.
 * An entry present for the whole call is found: every slot on its probe
 * path before its own was non-NULL when it was inserted and stays so
 * (slots never return to NULL; a claimed one that resolves to NULL is an
 * MWCAS in flight, which the entry's insert would have helped to its end
 * first), so the walk does not stop before it. The entries WALK_AHEAD buckets on
 * are prefetched while this one's are hashed, and an entry's second cache
 * line while the walk goes on (the caller encodes its value after the walk).
 */
static size_t kvsd_walk_stripe(struct kvmap *m, unsigned space, uint64_t stripe, unsigned bits,
			       kvmap_stripe_fn fn, void *arg)
{
	/* acquire: pairs with publish() */
	const struct kvsd_table *t = atomic_load_explicit(&kvsd_map(m)->cur, memory_order_acquire);
	/* the stripe's positions in the hash order: its bits on top */
	uint64_t lo = bits ? stripe << (64 - bits) : 0, hi = lo | (bits ? ~0ull >> bits : ~0ull);
	size_t first = t_bucket_at(t, lo), homes = t_bucket_at(t, hi) - first + 1;
	size_t n = 0, bi = first, ahead = first;

	for (int d = 0; d < WALK_AHEAD; d++, ahead = t_next(t, ahead))
		prefetch_entries(&t->b[ahead]);
	for (size_t p = 0; p < t->nb; p++, bi = t_next(t, bi)) {
		const struct kvsd_bucket *b = &t->b[bi];
		int i;

		prefetch_entries(&t->b[ahead]);
		ahead = t_next(t, ahead);
		for (i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: the entry's bytes (key hashed, fn reads it) */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
			if (w & W_DESC)
				w = mw_resolve(w);
			if (!(w & W_PTR))
				break; /* the bucket's first NULL */
			if (w & W_TOMB)
				continue;
			const struct kv_entry *e = w_entry(w);
			if (e->space != space)
				continue;
			uint64_t h = entry_hash(e);
			if (kvmap_stripe_of(h, bits) != stripe)
				continue;
			size_t end = ((uintptr_t)e & (KV_CACHELINE - 1)) + sizeof(*e) + e->klen +
				     (e->ext ? sizeof(char *) : e->vlen);
			if (end > KV_CACHELINE)
				__builtin_prefetch((const char *)e + KV_CACHELINE);
			fn(e, h, arg);
			n++;
		}
		if (i < KVSD_SLOTS && p + 1 >= homes)
			break; /* past the last home bucket: its run's first NULL */
	}
	return n;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A uniformly chosen live entry of bucket b, or NULL. */
static const struct kv_entry *bucket_pick(const struct kvsd_bucket *b, uint64_t r)
{
	uint64_t live[KVSD_SLOTS];
	unsigned n = 0;

	for (int i = 0; i < KVSD_SLOTS; i++) {
		/* acquire: the entry we may return */
		uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
		if (w & W_DESC)
			w = mw_resolve(w);
		if (w_live(w))
			live[n++] = w;
	}
	return n ? w_entry(live[r % n]) : NULL;
}

static const struct kv_entry *kvsd_random(struct kvmap *m, uint64_t rnd)
{
	/* acquire: pairs with publish() */
	const struct kvsd_table *t = atomic_load_explicit(&kvsd_map(m)->cur, memory_order_acquire);
	const struct kv_entry *e;
	uint64_t r = rnd;

	/* A random bucket, then a random live slot of it: cheap while the table
	 * is at least 1/8 full; bias follows bucket occupancy (as Redis's). */
	for (int i = 0; i < 32; i++) {
		r = mix64(r);
		if ((e = bucket_pick(&t->b[t_bucket_at(t, r)], r >> 32)))
			return e;
	}
	/* Sparse table (a concurrent clear): walk from a random bucket. */
	for (size_t p = 0, bi = t_bucket_at(t, r); p < t->nb; p++, bi = t_next(t, bi))
		if ((e = bucket_pick(&t->b[bi], r >> 32)))
			return e;
	return NULL;
}

/* ---- multi-word CAS (see the top of the file). */

static void mw_free(void *p)
{
	mem_free(p);
}

/* Installs d's descriptor in slot ms. false: the slot holds neither its
 * expected word nor our descriptor (the MWCAS must fail). Also true once d is
 * decided: the caller's decision CAS then fails and cleanup follows. */
static bool mw_install(struct mw_desc *d, struct mw_slot *ms)
{
	uint64_t mine = w_desc(ms->oldw ? ms->oldw : ms->failw, ms);

	for (;;) {
		/* acquire: a decided status ends the installs early */
		if (atomic_load_explicit(&d->status, memory_order_acquire) != MW_UNDECIDED)
			return true;
		/* acquire: another descriptor's record, or the expected entry */
		uint64_t w = atomic_load_explicit(ms->addr, memory_order_acquire);
		if (w == mine)
			return true;
		if (w & W_DESC) {
			/* another MWCAS at a lower-or-equal address of ours: its
			 * remaining slots lie above this one (acyclic) */
			mw_help(w_mw(w)->d);
			continue;
		}
		if (w != ms->oldw)
			return false; /* changed, or frozen by a migration */
		/* acq_rel: release publishes the record (and the new entry) to
		 * readers that resolve it; acquire orders our later stripe loads */
		if (atomic_compare_exchange_strong_explicit(
			ms->addr, &w, mine, memory_order_acq_rel, memory_order_acquire))
			return true;
	}
}

static bool mw_watch_ok(const struct mw_desc *d)
{
	for (size_t i = 0; i < d->nwatch; i++)
		if (kvmap_stripe(d->m, d->watch[i].hash) != d->watch[i].stripe)
			return false;
	return true;
}

/* Runs d to completion: installs, decision, cleanup. Any registered thread. */
static void mw_help(struct mw_desc *d)
{
	int st;

	/* acquire: pairs with the decision CAS */
	if (atomic_load_explicit(&d->status, memory_order_acquire) == MW_UNDECIDED) {
		bool ok = true;
		int expect = MW_UNDECIDED;

		for (size_t i = 0; ok && i < d->n; i++)
			ok = mw_install(d, &d->s[i]);
		/* the stripes are read after every slot word was seen installed:
		 * an ABA on a watched slot implies a bump visible here */
		if (ok)
			ok = mw_watch_ok(d);
		/* No commit into a sealed table: its target may be sized
		 * without our inserts. seq_cst: the owner counted them before
		 * publishing d (our acquire of an install makes that increment
		 * strongly happen before this load); pairs with the seal
		 * exchange in start_migration() ("Sizing the target") */
		if (ok && atomic_load_explicit(&d->t->sealed, memory_order_seq_cst))
			ok = false;
		/* acq_rel: every install before the decision; pairs with the
		 * acquire loads of readers and helpers */
		atomic_compare_exchange_strong_explicit(&d->status, &expect,
							ok ? MW_CHECKED : MW_FAILED,
							memory_order_acq_rel, memory_order_acquire);
	}
	/* acquire: as above */
	st = atomic_load_explicit(&d->status, memory_order_acquire);
	if (st == MW_CHECKED) {
		int expect = MW_CHECKED;

		for (size_t i = 0; i < d->n; i++)
			if (d->s[i].write)
				kvmap_stripe_bump(d->m, d->s[i].hash);
		/* acq_rel: the bumps before the commit (release); the commit is
		 * the MWCAS's linearisation point */
		atomic_compare_exchange_strong_explicit(&d->status, &expect, MW_SUCCEEDED,
							memory_order_acq_rel, memory_order_acquire);
		st = MW_SUCCEEDED;
	}
	for (size_t i = 0; i < d->n; i++) {
		struct mw_slot *ms = &d->s[i];
		uint64_t mine = w_desc(ms->oldw ? ms->oldw : ms->failw, ms);
		/* release: the final word's entry bytes (and the stripe bumps,
		 * through the status we acquired) for whoever acquires it */
		atomic_compare_exchange_strong_explicit(ms->addr, &mine,
							st == MW_SUCCEEDED ? ms->neww : ms->failw,
							memory_order_release, memory_order_relaxed);
	}
}

/*
 * Sorts d's slots by address (the install order). Every slot lies in one
 * table, so an address is the table's base plus 8 * slot number: a large
 * MWCAS (an MSET of 100k keys) sorts its slot numbers with an LSD radix sort
 * in O(n) passes of 11 bits, then permutes the records; a small one uses
 * insertion sort.
 */
struct mw_rank {
	uint64_t slot; /* slot number in the table */
	size_t i;      /* index in d->s */
};

static void mw_sort(struct mw_desc *d, const struct kvsd_table *t)
{
	size_t n = d->n;

	if (n < 32) {
		for (size_t i = 1; i < n; i++) {
			struct mw_slot x = d->s[i];
			size_t j = i;
			for (; j > 0 && d->s[j - 1].addr > x.addr; j--)
				d->s[j] = d->s[j - 1];
			d->s[j] = x;
		}
		return;
	}
	struct mw_rank *a = mem_alloc(2 * n * sizeof(*a)), *b = a + n;
	struct mw_slot *copy = mem_alloc(n * sizeof(*copy));
	uint64_t base = (uint64_t)(uintptr_t)&t->b[0].s[0];
	uint64_t top = t_slots(t);

	for (size_t i = 0; i < n; i++)
		a[i] = (struct mw_rank){((uint64_t)(uintptr_t)d->s[i].addr - base) / 8, i};
	for (unsigned shift = 0; shift == 0 || (top >> shift) != 0; shift += 11) {
		size_t count[2048 + 1] = {0};
		for (size_t i = 0; i < n; i++)
			count[((a[i].slot >> shift) & 2047) + 1]++;
		for (size_t k = 1; k <= 2048; k++)
			count[k] += count[k - 1];
		for (size_t i = 0; i < n; i++)
			b[count[(a[i].slot >> shift) & 2047]++] = a[i];
		struct mw_rank *x = a;
		a = b;
		b = x;
	}
	memcpy(copy, d->s, n * sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		d->s[i] = copy[a[i].i];
	mem_free(a < b ? a : b); /* the allocation starts at the lower one */
	mem_free(copy);
}

/*
 * The NULL slots an MWCAS attempt claims for its absent keys: an open
 * addressing set of slot addresses, so that locating n items costs O(n)
 * expected and not O(n^2) (each NULL slot met is checked against the claims
 * of the earlier items). Private to the attempt.
 */
struct mw_claims {
	uintptr_t *a; /* 0 = empty */
	size_t mask;
	uintptr_t small[64];
};

static void claims_init(struct mw_claims *c, size_t nabsent)
{
	size_t cap = 64;

	while (cap < 2 * nabsent)
		cap <<= 1;
	c->a = cap == 64 ? c->small : mem_alloc(cap * sizeof(*c->a));
	c->mask = cap - 1;
	memset(c->a, 0, cap * sizeof(*c->a));
}

static void claims_reset(struct mw_claims *c)
{
	memset(c->a, 0, (c->mask + 1) * sizeof(*c->a));
}

static void claims_free(struct mw_claims *c)
{
	if (c->a != c->small)
		mem_free(c->a);
}

static inline size_t claims_at(const struct mw_claims *c, uintptr_t a)
{
	return (size_t)(((uint64_t)a >> 3) * 0x9e3779b97f4a7c15ULL >> 32) & c->mask;
}

static bool claims_has(const struct mw_claims *c, const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	for (size_t i = claims_at(c, a);; i = (i + 1) & c->mask) {
		if (c->a[i] == a)
			return true;
		if (c->a[i] == 0)
			return false;
	}
}

static void claims_add(struct mw_claims *c, const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	size_t i = claims_at(c, a);

	while (c->a[i] != 0)
		i = (i + 1) & c->mask;
	c->a[i] = a;
}

/*
 * Locates item it in t and fills ms. 0; -EAGAIN: the key does not hold
 * it->old; -ESTALE: met a frozen slot; -ENOSPC: no NULL slot. `claims` holds
 * the NULL slots earlier items of the attempt claim; a claim is added.
 */
static int mw_locate(struct kvsd_table *t, const struct kvmap_mw *it, struct mw_slot *ms,
		     struct mw_claims *claims)
{
	uint64_t h = it->hash, tag = h >> W_TAGSHIFT;
	size_t bi = t_home(t, h);

	for (size_t p = 0; p < t->nb; p++, bi = t_next(t, bi)) {
		struct kvsd_bucket *b = &t->b[bi];
		for (int i = 0; i < KVSD_SLOTS; i++) {
			/* acquire: a matching entry's key bytes */
			uint64_t w = atomic_load_explicit(&b->s[i], memory_order_acquire);
			w = slot_settle(&b->s[i], w);
			if (w & W_FROZEN)
				return -ESTALE;
			if (w == 0) {
				if (it->old)
					return -EAGAIN; /* the key is gone */
				if (claims_has(claims, &b->s[i]))
					continue;
				ms->addr = &b->s[i];
				ms->oldw = 0;
				claims_add(claims, ms->addr);
				return 0;
			}
			if ((w & W_TOMB) || (w >> W_TAGSHIFT) != tag)
				continue;
			if (!key_eq(w_entry(w), it->key, it->klen, it->hash))
				continue;
			if (w_entry(w) != it->old)
				return -EAGAIN;
			ms->addr = &b->s[i];
			ms->oldw = w;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * The owner's side of an MWCAS. The new keys it may insert are counted once,
 * before the first attempt ("Sizing the target": before any install can
 * publish a descriptor), and stay counted across attempts, so that every
 * sizer — a grow started by anyone, and the shrink check of the hz cron —
 * makes room for them while the attempt locates its slots. (Counting them
 * only just before the installs let a cron shrink the table sized for a
 * large MSET while its slots were being located; each retry then grew it
 * again and the two never converged.) A table without room for the new keys
 * at the 3/4 load bound is grown before locating, not probed until full.
 */
static int kvsd_mwcas(struct kvmap *m, struct kvmap_mw *items, size_t n,
		      const struct kvmap_mw_watch *watch, size_t nwatch)
{
	struct kvsd_map *km = kvsd_map(m);
	size_t bytes = sizeof(struct mw_desc) + n * sizeof(struct mw_slot) +
		       nwatch * sizeof(struct kvmap_mw_watch);
	int64_t ins = 0;
	size_t nabsent = 0;
	struct mw_claims claims;
	int rc;

	for (size_t i = 0; i < n; i++) {
		ins += items[i].write && !items[i].old && items[i].neww;
		nabsent += !items[i].old;
	}
	if (ins)
		count_add_sc(m, ins); /* before the first install publishes a descriptor */
	claims_init(&claims, nabsent);
	for (;;) {
		struct kvsd_table *t = writable_table(km);
		struct mw_desc *d;

		/* relaxed: the load statistic, as in note_claim() */
		if (nabsent &&
		    t_full(t, atomic_load_explicit(&t->used, memory_order_relaxed) + nabsent)) {
			size_t nb = target_buckets(kvmap_count(m) + nabsent - (size_t)ins);
			start_migration(km, t, nb > t->nb ? nb : 2 * t->nb);
			continue;
		}
		d = mem_alloc(bytes);
		rc = 0;
		/* relaxed: d is published by the release CAS of its first install */
		atomic_store_explicit(&d->status, MW_UNDECIDED, memory_order_relaxed);
		d->m = m;
		d->t = t;
		d->n = n;
		d->nwatch = nwatch;
		d->bytes = bytes;
		d->watch = (struct kvmap_mw_watch *)(void *)&d->s[n];
		if (nwatch)
			memcpy(d->watch, watch, nwatch * sizeof(*watch));
		if (nabsent)
			claims_reset(&claims);
		for (size_t i = 0; i < n && rc == 0; i++) {
			const struct kvmap_mw *it = &items[i];
			struct mw_slot *ms = &d->s[i];
			uint64_t ghostw = w_make(it->hash, &ghost) | W_TOMB;

			rc = mw_locate(t, it, ms, &claims);
			if (rc != 0)
				break;
			ms->d = d;
			ms->hash = it->hash;
			ms->write = it->write && it->neww != it->old;
			ms->failw = ms->oldw ? ms->oldw : ghostw;
			if (!ms->write)
				ms->neww = ms->failw;
			else if (it->neww)
				ms->neww = w_make(it->hash, it->neww);
			else
				ms->neww = ms->oldw ? ms->oldw | W_TOMB : ghostw;
		}
		if (rc != 0) {
			mem_free(d); /* never published */
			if (rc == -EAGAIN)
				break;
			if (rc == -ENOSPC) {
				size_t nb = target_buckets(kvmap_count(m));
				start_migration(km, t, nb > 2 * t->nb ? nb : 2 * t->nb);
			} else {
				help(km, t);
			}
			continue;
		}
		mw_sort(d, t);
		mw_help(d);
		/* acquire: pairs with the decision; the outcome is final */
		int st = atomic_load_explicit(&d->status, memory_order_acquire);
		size_t claimed = 0;
		for (size_t i = 0; i < n; i++)
			claimed += d->s[i].oldw == 0;
		kvmap_retire(d, bytes, mw_free); /* helpers may still hold it */
		for (size_t i = 0; i < claimed; i++)
			note_claim(km, t, 0);
		if (st == MW_SUCCEEDED) {
			int64_t delta = 0;
			for (size_t i = 0; i < n; i++) {
				const struct kvmap_mw *it = &items[i];
				if (!it->write || it->neww == it->old)
					continue;
				delta -= it->old && !it->neww; /* inserts were counted */
				if (it->old)
					retire_entry(it->old);
			}
			if (delta)
				kvmap_count_add(m, delta);
			claims_free(&claims);
			return 0;
		}
		rc = -EAGAIN;
		/* relaxed: a migration started under us is a reason to retry
		 * here; help() synchronises with it itself */
		if (!atomic_load_explicit(&t->sealed, memory_order_relaxed))
			break;
		help(km, t);
		/* the keys may still hold the expected entries in the new table */
	}
	if (ins)
		kvmap_count_add(m, -ins);
	claims_free(&claims);
	return rc;
}

/* ---- lifecycle. */

static void kvsd_maintain(struct kvmap *m)
{
	struct kvsd_map *km = kvsd_map(m);
	struct kvsd_table *t = writable_table(km);

	maybe_shrink(km, t, true);
}

/* Buckets of a table in which `keys` entries stay below the growth
 * threshold of note_claim() (t_full: 7/8 of the slots), at most 4/5 full so
 * that the load's probes stay short. */
static size_t reserve_buckets(size_t keys)
{
	size_t max = ((size_t)1 << 40) / sizeof(struct kvsd_bucket); /* 1 TiB of table */
	size_t slots = keys / 4 * 5 + keys % 4 * 2 + KVSD_SLOTS;     /* > keys * 5/4 */
	size_t nb = (slots + KVSD_SLOTS - 1) / KVSD_SLOTS;

	nb = nb < max ? nb : max;
	return nb < KVSD_MIN_BUCKETS ? KVSD_MIN_BUCKETS : nb;
}

/*
 * A big table is read at random, one bucket per operation: with 4 KiB pages
 * nearly every access of a table of millions of buckets also misses the TLB
 * (a 10M-key load spent a quarter of its time there). Asks for transparent
 * huge pages (Linux's default THP mode, "madvise", gives them only on
 * request) for a table a reserve just made, whose pages are still
 * untouched, so the load's faults get them. Only there: a migration under
 * client load keeps 4 KiB pages, as a huge-page fault may compact memory
 * synchronously. A hint: errors ignored.
 */
static void table_hugepages(struct kvsd_table *t)
{
#ifdef MADV_HUGEPAGE
	uintptr_t lo = ((uintptr_t)t->base + KVSD_HUGE_PAGE - 1) & ~(uintptr_t)(KVSD_HUGE_PAGE - 1);
	uintptr_t hi = ((uintptr_t)t->base + t->bytes) & ~(uintptr_t)(KVSD_HUGE_PAGE - 1);

	if (t->bytes >= KVSD_HUGE_TABLE && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)t;
#endif
}

static void kvsd_reserve(struct kvmap *m, size_t keys)
{
	struct kvsd_map *km = kvsd_map(m);
	struct kvsd_table *t = writable_table(km);
	size_t nb = reserve_buckets(keys);

	if (nb <= t->nb)
		return;
	start_migration(km, t, nb);
	/* the new table (or a bigger one a concurrent writer made) */
	t = writable_table(km);
	if (t->nb >= nb)
		table_hugepages(t);
}

static struct kvmap *kvsd_create(size_t initial_buckets)
{
	size_t nb = initial_buckets ? initial_buckets : KVSD_DEFAULT_BUCKETS;
	struct kvsd_map *km;

	if (nb < KVSD_MIN_BUCKETS)
		nb = KVSD_MIN_BUCKETS;
	km = (struct kvsd_map *)kvmap_base_alloc(sizeof(*km), &kvmap_kvsd_ops);
	/* relaxed: no other thread can see the map before create returns */
	atomic_store_explicit(&km->cur, table_new(nb), memory_order_relaxed);
	return &km->base;
}

static void kvsd_destroy(struct kvmap *m)
{
	struct kvsd_map *km = kvsd_map(m);
	/* relaxed: single-threaded by contract */
	struct kvsd_table *t = atomic_load_explicit(&km->cur, memory_order_relaxed);
	struct kvsd_table *n = atomic_load_explicit(&t->next, memory_order_relaxed);

	/* Every helper returns only when the migration is done, so n is an
	 * unfinished target at most: its entries are also in t; free them once. */
	for (size_t bi = 0; bi < t->nb; bi++)
		for (int i = 0; i < KVSD_SLOTS; i++) {
			uint64_t w = atomic_load_explicit(&t->b[bi].s[i], memory_order_relaxed);
			if (w_live(w))
				kv_entry_free_retired(w_entry(w));
		}
	if (n)
		table_free(n);
	table_free(t);
	kvmap_base_free(m);
}

/* ---- test hooks (kvmap_internal.h). */

size_t kvmap_kvsd_buckets(struct kvmap *m)
{
	/* acquire: pairs with publish() */
	return atomic_load_explicit(&kvsd_map(m)->cur, memory_order_acquire)->nb;
}

void kvmap_kvsd_migrate_partial(struct kvmap *m, size_t nbuckets, size_t chunks)
{
	struct kvsd_map *km = kvsd_map(m);
	struct kvsd_table *t = writable_table(km);
	struct kvsd_table *n = table_new(nbuckets < KVSD_MIN_BUCKETS ? KVSD_MIN_BUCKETS : nbuckets);
	struct kvsd_table *none = NULL;

	/* seq_cst: as in start_migration() (here single-threaded) */
	atomic_exchange_explicit(&t->sealed, 1, memory_order_seq_cst);
	/* release: as in install_next() */
	KV_ASSERT(atomic_compare_exchange_strong_explicit(&t->next, &none, n, memory_order_release,
							  memory_order_relaxed));
	for (size_t i = 0; i < chunks; i++) {
		/* relaxed: as in help() */
		size_t c = atomic_fetch_add_explicit(&t->claim, 1, memory_order_relaxed);
		if (c < t->nchunks)
			(void)migrate_chunk(km, t, n, c);
	}
}

const struct kvmap_ops kvmap_kvsd_ops = {
    .name = "kvsd",
    .create = kvsd_create,
    .destroy = kvsd_destroy,
    .get = kvsd_get,
    .get_witness = kvsd_get_witness,
    .unchanged = kvsd_unchanged,
    .insert = kvsd_insert,
    .set = kvsd_set,
    .replace = kvsd_replace,
    .remove = kvsd_remove,
    .clear = kvsd_clear,
    .scan = kvsd_scan,
    .random = kvsd_random,
    .walk_stripe = kvsd_walk_stripe,
    .maintain = kvsd_maintain,
    .reserve = kvsd_reserve,
    .insert_hashed = kvsd_insert_hashed,
    .prefetch = kvsd_prefetch,
    .mwcas = kvsd_mwcas,
    .bumps_stripes = true,
};
