/*
 * kvmap.h — the key-value map every command runs against, and its entries.
 *
 * An entry (struct kv_entry) is one allocation holding the expiry time (only
 * when it has one), the key and the value (an 8-byte header, then the bytes;
 * no terminator) — or,
 * for a large value the network layer read into an allocation of its own,
 * the key and that allocation's address (kv_entry_new_adopt: no copy). Once
 * published in a map it is immutable: a write builds a new entry and swaps it
 * in (kvmap_set / kvmap_replace), so a reader never sees a torn value, and
 * read-modify-write commands are CAS loops on kvmap_replace(). Removed or
 * replaced entries are retired to the reclaimer and freed only when no thread
 * can still hold them.
 *
 * Backends:
 *  - KVMAP_KVSD (default), kvsd's own map (kvmap_kvsd.c): open addressing over
 *    cache-line buckets of eight 64-bit slot words (16-bit hash tag | entry
 *    pointer | flags), bucketized linear probing, in-place CAS updates, and
 *    online cooperative chunked migration for grow / shrink / tombstone purge
 *    (forwarding by freezing slots, as in Java's ConcurrentHashMap and Maier,
 *    Sanders & Dementiev's growt). Reclamation: epochs (concurrency/ebr.h).
 *  - KVMAP_URCU, liburcu's cds_lfht (QSBR flavour, auto-resize, split-ordered
 *    lists; Shalev & Shavit 2006): the reference the first is tested and
 *    measured against. Its node, rcu_head and the hash live in a 40-byte
 *    prefix that kv_entry_new() adds in front of an entry while any URCU map
 *    exists in the process; kvsd's map needs no per-entry header.
 *
 * Threads: every thread that calls a kvmap function registers once with
 * kvmap_thread_register() and is then "online" (for both reclaimers). Pointers
 * returned by lookups and passed to visitors are valid until the calling
 * thread next calls kvmap_quiescent() or kvmap_thread_offline(): copy what you
 * need first. A thread must go offline (or unregister) before it blocks for
 * long (epoll), or reclamation stalls for everyone. kvmap_create/destroy are
 * not concurrent with anything else on that map.
 * Ordering: a successful insert/set/replace releases the entry's bytes; a
 * lookup that returns it acquires them.
 * Progress: lookups are wait-free (KVSD: at most one pass over the probe
 * sequence plus one more in the next table after a finished migration; no
 * store); updates are lock-free CAS loops; a writer that meets a migration
 * helps it, and may re-copy a chunk another helper is slow to finish, so it
 * never waits for one thread. Retire never blocks.
 * Errors: 0 / -errno.
 */
#ifndef KVSD_KVMAP_H
#define KVSD_KVMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Largest value: 1 GiB - 1 (Redis caps values at 512 MB). */
#define KV_LEN_MAX ((1u << 30) - 1)
/* Largest key: 2 MiB - 1. The key word's other bits hold the entry's key
 * space (8), so sixteen databases cost no byte per key (db.h,
 * "Databases"), and three flags of how the value is held. Redis takes keys
 * up to proto-max-bulk-len; kvsd refuses longer keys at dispatch. */
#define KV_KEY_MAX ((1u << 21) - 1)

/*
 * Key spaces. A key is (space, bytes): the same bytes in two spaces are two
 * keys. The space is the entry's 8-bit `space` field, and it also travels
 * in the key's hash (kvmap_key_hash): bits KV_SPACE_SHIFT.. of the hash are
 * the space, the rest is SipHash of the bytes salted per space. So kvmap's
 * calls keep their (key, klen, hash) arguments: the map compares an entry's
 * space with the hash's (kv_hash_space). KV_SPACES spaces; the db layer
 * maps database indexes to them.
 */
#define KV_SPACES      256
#define KV_SPACE_SHIFT 40

/*
 * The header is 8 bytes. The expiry time, when the entry has one, is the
 * 8-byte word just before it in the same allocation (`ttl` set): an entry
 * without a TTL saves the word, and the key stays at a fixed offset from
 * the header, so key compares do not depend on the flag. Entries are
 * immutable once published, so the layout is fixed by kv_entry_new();
 * read the time with kv_entry_expire().
 */
struct kv_entry {
	/* word 0: the key (its length and space) and how the entry is laid out */
	uint32_t klen : 21;  /* key bytes (<= KV_KEY_MAX) */
	uint32_t space : 8;  /* key space (see above); part of the key */
	uint32_t prefix : 1; /* allocation starts earlier (URCU node + expiry word); entry.c only */
	uint32_t ext : 1;    /* the value is elsewhere: data holds its address after the key */
	uint32_t ttl : 1;    /* an expiry word precedes the header (kv_entry_expire) */
	/* word 1: the value */
	uint32_t vlen : 30; /* value bytes */
	/* how Redis would encode this string (enum kv_enc): set by the server's
	 * string commands, kept by copies that keep the value (EXPIRE, RENAME);
	 * the map never reads it. In the vlen word's 2 spare bits: no byte more. */
	uint32_t enc : 2;
	char data[]; /* klen key bytes, then vlen value bytes (no terminator) */
};

/* The entry's absolute expiry time in unix ms; 0 = none. */
static inline int64_t kv_entry_expire(const struct kv_entry *e)
{
	int64_t t;

	if (!e->ttl)
		return 0;
	memcpy(&t, (const char *)e - sizeof(t), sizeof(t));
	return t;
}

/* kv_entry.enc: OBJECT ENCODING's answer, Redis's rules (server/cmd_object.c). */
enum kv_enc {
	KV_ENC_AUTO = 0,  /* as tryObjectEncoding() decides: int, embstr or raw */
	KV_ENC_RAW = 1,	  /* raw whatever the bytes (APPEND / SETRANGE results) */
	KV_ENC_NOINT = 2, /* embstr or raw by length, never int (INCRBYFLOAT) */
	/* not a string: the value starts with its type and encoding bytes
	 * (storage/coll.h) */
	KV_ENC_TYPED = 3,
};

static inline unsigned kv_hash_space(uint64_t hash)
{
	return (unsigned)(hash >> KV_SPACE_SHIFT) & (KV_SPACES - 1);
}

static inline const char *kv_entry_key(const struct kv_entry *e)
{
	return e->data;
}

/* An ext value's address with bit 0 set goes to the recycler when the entry
 * is freed (kv_entry_set_recycle); values are at least 2-aligned. */
#define KV_EXT_RECYCLE ((uintptr_t)1)

static inline const char *kv_entry_val(const struct kv_entry *e)
{
	const char *v = e->data + e->klen;

	if (e->ext) {
		uintptr_t a;

		memcpy(&a, v, sizeof(a)); /* unaligned after the key */
		v = (const char *)(a & ~KV_EXT_RECYCLE);
	}
	return v;
}

enum kvmap_backend {
	KVMAP_URCU = 0,
	KVMAP_KVSD = 1,
};

struct kvmap;

/* ---- process set-up: call once before anything else, from the main thread. */
/* Seeds the keyed hash from getrandom() and creates the epoch domain. Idempotent. */
void kvmap_setup(void);
/* Frees every retired entry and table (call after the other threads stopped). */
void kvmap_teardown(void);

/* ---- hashing: SipHash-1-2 keyed with a per-process random 128-bit seed.
 * kvmap_hash: the hash of key in space 0 (kvmap_key_hash(0, ...)). */
uint64_t kvmap_hash(const void *key, size_t len);
/* The hash of key in `space` (see "Key spaces"): what every kvmap call takes. */
uint64_t kvmap_key_hash(unsigned space, const void *key, size_t len);
/* kvmap_key_hash of e's key and space. */
uint64_t kv_entry_hash(const struct kv_entry *e);

/* ---- per-thread reclamation state. */
void kvmap_thread_register(void);
void kvmap_thread_unregister(void);
/* This thread holds no entry pointer from now on. Cheap; call between tasks.
 * Every few KB this thread retired it also tries to free them (two epoch
 * advances): the entries' free hooks may run here. */
void kvmap_quiescent(void);
/* Before blocking (poll): this thread holds nothing and will not until online. */
void kvmap_thread_offline(void);
void kvmap_thread_online(void);

/* ---- entries. */
/* Builds an unpublished entry (klen <= KV_KEY_MAX, vlen <= KV_LEN_MAX) in
 * space 0 (the db layer stamps the view's space on it before publishing:
 * db_put). value may be NULL:
 * the vlen bytes are left for the caller to fill through kv_entry_mutval()
 * before publishing (no byte follows them: values are not terminated). */
struct kv_entry *kv_entry_new(const void *key, size_t klen, const void *val, size_t vlen,
			      int64_t expire_ms);
static inline char *kv_entry_mutval(struct kv_entry *e)
{
	return e->data + e->klen;
}
/* Builds an unpublished entry around `val`, an allocation (mem_alloc) whose
 * first vlen bytes are the value: no copy, for large values. A published
 * entry owns val (kv_entry_free frees both); one never published is freed
 * with kv_entry_free_shell(), which leaves val to whoever owned it. */
struct kv_entry *kv_entry_new_adopt(const void *key, size_t klen, char *val, size_t vlen,
				    int64_t expire_ms);
/* Moves an unpublished entry to key space `space` (< KV_SPACES). */
void kv_entry_respace(struct kv_entry *e, unsigned space);
static inline void kv_entry_set_space(struct kv_entry *e, unsigned space)
{
	if (e->space != space)
		kv_entry_respace(e, space);
}
/* Frees an entry that was never published (or that a failed CAS did not take). */
void kv_entry_free(struct kv_entry *e);
/* Frees an entry that was published, once no reader can hold it (the
 * reclaimers' callbacks, map teardown): kv_entry_free plus the typed-value
 * hook, which frees what a typed value owns (storage/coll.h). */
void kv_entry_free_retired(struct kv_entry *e);
typedef void (*kv_typed_free_fn)(struct kv_entry *e);
/* Set once at start-up (coll_setup), before any typed entry exists. */
void kv_entry_set_typed_free(kv_typed_free_fn fn);
/*
 * Value recycling: an adopted (ext) value whose entry is marked with
 * kv_entry_set_recycle() (a tag bit in the stored address) is
 * handed to fn(val, vlen) by kv_entry_free() instead of being freed — for a
 * retired entry that is after its grace period, when no reader can hold it,
 * so its owner (server/bitpool.c) may write into it again. Set once at
 * start-up, before any marked entry exists; fn runs on any thread.
 */
typedef void (*kv_value_recycle_fn)(char *val, size_t vlen);
void kv_entry_set_recycler(kv_value_recycle_fn fn);
/* Marks an unpublished ext entry's value for the recycler. */
void kv_entry_set_recycle(struct kv_entry *e);
/* Whether e is an ext entry whose value goes to the recycler. */
static inline int kv_entry_recycles(const struct kv_entry *e)
{
	uintptr_t a;

	if (!e->ext)
		return 0;
	memcpy(&a, e->data + e->klen, sizeof(a));
	return (a & KV_EXT_RECYCLE) != 0;
}
/*
 * Gives an unpublished entry the expiry time expire_ms (0 = none). Written
 * in place when e's layout has room for it (or needs none); otherwise
 * returns a copy laid out for it (same key, space, value, encoding; an ext
 * copy takes over the value) and frees e's block. Use the result, not e.
 */
struct kv_entry *kv_entry_with_expire(struct kv_entry *e, int64_t expire_ms);
/* Frees an unpublished kv_entry_new_adopt() entry but not its value. */
void kv_entry_free_shell(struct kv_entry *e);
/* Bytes this entry occupies: its block's usable size (EPOOL_BLOCK for a
 * block of the 88-byte pool, else the allocator's), plus an ext value's. */
size_t kv_entry_size(const struct kv_entry *e);

/* ---- the map. */
/* initial_buckets: a sizing hint (0 = default); rounded up to a power of two. */
struct kvmap *kvmap_create(enum kvmap_backend backend, size_t initial_buckets);
/* Frees the map and every entry in it. No other thread may use it. */
void kvmap_destroy(struct kvmap **m);
const char *kvmap_backend_name(const struct kvmap *m);

/* The entry whose key equals key[0..klen) (hash = kvmap_hash(key, klen)), or NULL.
 * Expired entries are returned too: expiry is the caller's policy. */
const struct kv_entry *kvmap_get(struct kvmap *m, const void *key, size_t klen, uint64_t hash);

/*
 * Validated reads (a read-only transaction's commit, txn.h). kvmap_get_witness
 * is kvmap_get that also returns a witness of its answer; kvmap_unchanged
 * repeats the lookup and returns 1 if it gives the same answer with the same
 * witness. Then the key held that answer during the whole interval between
 * the two lookups (taken inside one epoch section), so reads of several keys
 * that all pass kvmap_unchanged, each checked after every first read, saw
 * one state: the state at the last first read.
 * Why it holds on kvsd's map: an entry, once replaced or removed, never
 * becomes current again (entries are immutable and retired), so an equal
 * pointer cannot be an ABA. The witness is the address of the slot where
 * the lookup's probe ended: the entry's (kvmap_unchanged first checks that
 * it still holds the entry, unflagged: one load), or for an absent key —
 * the one case where the answer (NULL) can recur — a NULL slot, or one
 * claimed by an undecided MWCAS.
 * Slots never return to NULL and every insert of the key claims the first
 * NULL slot of its probe sequence, so while that slot is still the end of
 * the probe, in the same table, no insert of the key can have happened.
 * The cds_lfht backend offers no witness for absence (a constant): there,
 * as for its MWCAS, multi-key reads are atomic only against each other.
 * Witness 0 means "unknown": kvmap_unchanged then fails for an absent key.
 */
const struct kv_entry *kvmap_get_witness(struct kvmap *m, const void *key, size_t klen,
					 uint64_t hash, uintptr_t *witness);
int kvmap_unchanged(struct kvmap *m, const void *key, size_t klen, uint64_t hash,
		    const struct kv_entry *e, uintptr_t witness);

/* Publishes e if no entry with its key exists: 0. Otherwise -EEXIST, e is not
 * taken, and *existing (if non-NULL) is the current entry. */
int kvmap_insert(struct kvmap *m, struct kv_entry *e, const struct kv_entry **existing);

/* Publishes e, replacing any entry with the same key (which is retired).
 * Returns 1 if it replaced one, 0 if it inserted. Never fails. */
int kvmap_set(struct kvmap *m, struct kv_entry *e);

/* Compare-and-swap: if `expected` is still the current entry for its key,
 * publish e in its place, retire expected, and return 0. Otherwise return
 * -EAGAIN and leave e with the caller. e must have expected's key. */
int kvmap_replace(struct kvmap *m, const struct kv_entry *expected, struct kv_entry *e);

/* Removes `expected` if it is still current: 0 (and retires it); else -ENOENT. */
int kvmap_remove(struct kvmap *m, const struct kv_entry *expected);

/* Approximate number of entries (exact when quiescent). */
size_t kvmap_count(const struct kvmap *m);
/* Approximate number of entries of one key space, and of those with a TTL
 * (expire_ms != 0): per-thread relaxed counters kept by every successful
 * write (insert, set, replace, remove, MWCAS, clear), exact when quiescent. */
int64_t kvmap_count_space(const struct kvmap *m, unsigned space);
int64_t kvmap_expires_space(const struct kvmap *m, unsigned space);

/* Removes every entry (FLUSHALL). Concurrent writers may leave entries that
 * were inserted after their slot was passed. Returns how many it removed. */
size_t kvmap_clear(struct kvmap *m);

typedef void (*kvmap_visit_fn)(const struct kv_entry *e, void *arg);

/*
 * SCAN: visits about `count` entries starting at `cursor` (0 = start) and
 * returns the cursor to continue from (0 when the scan is complete). Every
 * entry present for the whole scan is visited at least once; entries may be
 * visited twice. Cost: kvsd's map walks home buckets in its hash order
 * (the hash's halves swapped, for any table size; the cursor is a position
 * in that order), O(COUNT) per call (at most 10*COUNT empty
 * buckets), and the guarantee holds while the table grows, shrinks or
 * migrates between or during calls. The cds_lfht backend has no seek by hash,
 * so resuming at a cursor walks the list from its head — O(N) per call.
 */
uint64_t kvmap_scan(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn, void *arg);

/*
 * The stripe of a hash among 2^bits stripes (bits <= 32): its `bits` bits
 * just under bit 32 (bits 32-bits .. 31), the top of kvsd's map's hash
 * order (kvmap_kvsd.c, "Table size"), so that a stripe is one run of
 * consecutive buckets there; bits 32.. are the key space and the tag.
 */
static inline uint64_t kvmap_stripe_of(uint64_t hash, unsigned bits)
{
	return bits ? (hash >> (32 - bits)) & ((1ull << bits) - 1) : 0;
}

/*
 * Stripe walk (snapshots: storage/snap.h): calls fn(e, hash, arg) for the
 * live entries of key space `space` whose stripe is `stripe`
 * (kvmap_stripe_of(hash, bits) == stripe; bits <= 32), hash being e's
 * (kv_entry_hash). Returns how many it visited.
 * Guarantee: an entry that is its key's current entry for the whole call is
 * visited exactly once; entries written during the call (a key's previous
 * or next entry) may each be visited or not, so a key written during the
 * call may be visited zero, one or two times — the caller must not rely on
 * what it gets for such keys. No entry of another space or stripe is
 * visited. Nothing is stored to the map; fn must not write it.
 * KVSD: one table, the one current at the call's start: the stripe is one
 * contiguous range of the hash order (whose top bits are the stripe's), so
 * its home buckets are consecutive (for a table of fewer buckets than
 * stripes, one bucket), and the walk reads them and the rest of the last
 * one's probe run once each, filtered by stripe (kvmap_kvsd.c). Why one
 * table is enough and nothing repeats: a
 * migrating table's frozen slots still hold every key present (see SCAN in
 * kvmap_kvsd.c), a table that finished migrating during the call still
 * holds the final word of every key that nobody wrote since, and a key has
 * at most one slot per table. Cost: O(buckets / 2^bits) home buckets plus
 * the last one's probe run, one SipHash per same-space entry met.
 * URCU: walks all of cds_lfht's split-ordered list, filtered by stripe:
 * O(N) per call — the reference backend.
 * Threads: any registered thread, inside its epoch section; entries passed
 * to fn are valid until its next quiescent state.
 */
typedef void (*kvmap_stripe_fn)(const struct kv_entry *e, uint64_t hash, void *arg);
size_t kvmap_walk_stripe(struct kvmap *m, unsigned space, uint64_t stripe, unsigned bits,
			 kvmap_stripe_fn fn, void *arg);
/* 1 if a stripe walk costs O(N) whatever the stripe's size (URCU), so that
 * a caller picks few stripes; 0 for kvsd's map. */
int kvmap_walk_stripe_linear(const struct kvmap *m);

/* An entry chosen with the help of rnd (uniform enough for RANDOMKEY), or NULL if empty. */
const struct kv_entry *kvmap_random(struct kvmap *m, uint64_t rnd);

/* A sizing hint for a bulk load (an RDB file's RESIZEDB): grows the table
 * now, while it is small, so that it holds `keys` entries in all without
 * migrating again (a migration rehashes and moves every entry present).
 * The map may shrink again later as usual (deletes, kvmap_maintain) if
 * the keys do not come. KVSD: a migration to the smallest table whose
 * growth threshold (3/4 of its slots) is above `keys`, the size growth
 * alone would reach; nothing when the table is that large already.
 * URCU: nothing (cds_lfht resizes itself). Any registered thread, concurrent
 * with anything. */
void kvmap_reserve(struct kvmap *m, size_t keys);

/* Bulk loading. kvmap_insert_hashed: kvmap_insert (no *existing) of e
 * whose hash (kvmap_key_hash of its space and key) the caller computed
 * already, so it is not hashed again. kvmap_prefetch: starts fetching
 * the memory an insert or lookup of `hash` reads first (KVSD: the home
 * bucket; a hint, nothing is read or written), so that a loader that
 * hashes a few keys ahead finds their buckets in cache. */
int kvmap_insert_hashed(struct kvmap *m, struct kv_entry *e, uint64_t hash);
void kvmap_prefetch(struct kvmap *m, uint64_t hash);

/* Periodic upkeep (the server's hz timer; any registered thread): shrinks a
 * KVSD table whose load fell below 1/8, helps a migration in progress and
 * collects epoch garbage of parked threads. No-op work for URCU. */
void kvmap_maintain(struct kvmap *m);

/* Runs fn(p) once no registered thread can still be inside an epoch section
 * that began before this call (a grace period), on some storage thread.
 * Call from a registered thread. */
void kvmap_defer(void *p, size_t bytes, void (*fn)(void *));

/* Frees what this thread retired that no reader can hold any more (the
 * epoch reclaimer: tries to advance the epoch first). For a thread over a
 * memory limit, so garbage it made goes before more keys are evicted.
 * Registered threads, online; a no-op for URCU. */
void kvmap_collect(void);

/* Retired-but-not-yet-freed bytes (both reclaimers), for INFO. */
int64_t kvmap_pending_bytes(void);
/* kvmap_pending_bytes plus the reclaimers' bookkeeping for them (the memory
 * garbage holds: maxmemory while a snapshot holds it back). */
int64_t kvmap_pending_cost(void);
/* The epoch reclaimer's global epoch, for INFO (ebr_epoch). */
uint64_t kvmap_epoch(void);

/* ---- multi-key atomicity (kvmap_mwcas) and WATCH stripes.
 *
 * kvmap_mwcas() is a multi-word compare-and-swap over keys: if, for every
 * item, the current entry of item.key is item.old (NULL = the key is absent),
 * then every item with .write set is published at once: its key becomes
 * item.neww (NULL = deleted); compare-only items are left as they are. No
 * thread ever observes some of the writes without the others.
 *
 * KVSD backend — Harris, Fraser & Pratt's MWCAS ("A practical multi-word
 * compare-and-swap operation", 2002) over slot words: the keys' slots (for
 * an absent key, the NULL slot an insert of it would claim) are located,
 * sorted by address, and a descriptor word is CAS-installed in each in that
 * order; one CAS on the descriptor's status commits; then each slot gets its
 * final word. A reader that meets a descriptor reads around it (old entry
 * unless the status says committed: one more load, no store, no wait);
 * writers, migration and other MWCAS help it to completion. No RDCSS is
 * needed: a slot's expected word cannot recur while a helper is inside its
 * epoch section (entries are immutable and retired, slots never go back to
 * NULL), except a compare word restored after a failure, where a late
 * install is undone by the same helper before it returns.
 * Progress: lock-free (a failed MWCAS means another operation succeeded or
 * a migration advanced). Cost to single-key operations: GET reads a
 * descriptor only when one is installed in a slot it examines; every write
 * bumps one counter stripe (one uncontended-in-general atomic add).
 * URCU backend: blocking and NOT isolated — MWCAS calls are serialised by a
 * process-wide mutex and validate-then-apply, so they are atomic with
 * respect to each other but concurrent single-key readers and writers can
 * observe or interleave with a half-applied one. Isolation is a KVSD property.
 *
 * Stripes: every write to a key (insert, replace, remove, clear, MWCAS)
 * increments the stripe counter selected by the key's hash before it
 * becomes visible, and an entry is retired only after that increment. A
 * WATCH records (entry pointer, kvmap_stripe()) — pointer first — and
 * passes the stripe to kvmap_mwcas() as a watch: the MWCAS commits only if
 * no watched stripe moved. This makes WATCH ABA-safe across epochs (an
 * entry address reused for the same key implies a retire, hence an
 * increment) at the price of false positives: a write to another key of
 * the same stripe (1 in KVMAP_STRIPES) also counts as a touch.
 */
#define KVMAP_STRIPES 16384

struct kvmap_mw {
	const char *key; /* the key bytes (need not stay valid after the call) */
	size_t klen;
	uint64_t hash;		    /* kvmap_hash(key, klen) */
	const struct kv_entry *old; /* expected current entry; NULL = absent */
	struct kv_entry *neww;	    /* published if write; NULL = delete */
	int write;		    /* 0: compare only */
};

struct kvmap_mw_watch {
	uint64_t hash;	 /* the watched key's hash (selects the stripe) */
	uint64_t stripe; /* kvmap_stripe() when it was watched */
};

/* Items must name distinct keys; each neww must have its item's key. Inside
 * the caller's epoch section. Returns 0: every write is published, the maps
 * owns the new entries and the replaced ones are retired; -EAGAIN: some
 * item's key no longer holds .old, or a watched stripe moved (or, rarely, a
 * helper lost a race): nothing changed and the new entries are still the
 * caller's. */
int kvmap_mwcas(struct kvmap *m, struct kvmap_mw *items, size_t n,
		const struct kvmap_mw_watch *watch, size_t nwatch);

/* The stripe counter of hash (acquire: read it after reading the entry). */
uint64_t kvmap_stripe(struct kvmap *m, uint64_t hash);

#endif
