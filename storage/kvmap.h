/*
 * kvmap.h — the key-value map every command runs against, and its entries.
 *
 * An entry (struct kv_entry) is one allocation holding the key, the value and
 * the absolute expiry time. Once published in a map it is immutable: a write
 * builds a new entry and swaps it in (kvmap_set / kvmap_replace), so a reader
 * never sees a torn value, and read-modify-write commands are CAS loops on
 * kvmap_replace(). Removed or replaced entries are retired to the reclaimer and
 * freed only when no thread can still hold them.
 *
 * Backends: KVMAP_URCU is liburcu's cds_lfht (QSBR flavour, auto-resize,
 * split-ordered lists; Shalev & Shavit 2006). kvsd's own map arrives as a
 * second backend (issue "own map"); the interface is the contract both keep.
 *
 * Threads: every thread that calls a kvmap function registers once with
 * kvmap_thread_register() and is then "online". Pointers returned by lookups
 * and passed to visitors are valid until the calling thread next calls
 * kvmap_quiescent() or kvmap_thread_offline(): copy what you need first.
 * A thread must go offline (or unregister) before it blocks for long (epoll),
 * or reclamation stalls for everyone. kvmap_create/destroy are not concurrent
 * with anything else on that map.
 * Ordering: a successful insert/set/replace releases the entry's bytes; a
 * lookup that returns it acquires them (through the backend's publication).
 * Progress: lookups are wait-free (cds_lfht under QSBR); updates are
 * lock-free CAS loops inside the backend; retire never blocks.
 * Errors: 0 / -errno.
 */
#ifndef KVSD_KVMAP_H
#define KVSD_KVMAP_H

#include <stddef.h>
#include <stdint.h>

enum kv_type {
	KV_STRING = 0,
};

struct kv_entry {
	/* reserved for the backend (cds_lfht node + rcu_head); never touched by callers */
	void *backend[4];
	uint64_t hash;
	int64_t expire_ms; /* absolute unix time in ms; 0 = no expiry */
	uint32_t klen;
	uint32_t vlen;
	uint8_t type;
	char data[]; /* klen key bytes, then vlen value bytes, then a NUL */
};

static inline const char *kv_entry_key(const struct kv_entry *e)
{
	return e->data;
}

static inline const char *kv_entry_val(const struct kv_entry *e)
{
	return e->data + e->klen;
}

enum kvmap_backend {
	KVMAP_URCU = 0,
};

struct kvmap;

/* ---- process set-up: call once before anything else, from the main thread. */
/* Seeds the keyed hash from getrandom(). Idempotent. */
void kvmap_setup(void);
/* Waits for all retired entries to be freed (call after threads stopped). */
void kvmap_teardown(void);

/* ---- hashing: SipHash-1-2 keyed with a per-process random 128-bit seed. */
uint64_t kvmap_hash(const void *key, size_t len);

/* ---- per-thread reclamation state. */
void kvmap_thread_register(void);
void kvmap_thread_unregister(void);
/* This thread holds no entry pointer from now on. Cheap; call between tasks. */
void kvmap_quiescent(void);
/* Before blocking (poll): this thread holds nothing and will not until online. */
void kvmap_thread_offline(void);
void kvmap_thread_online(void);

/* ---- entries. */
/* Builds an unpublished entry. value may be NULL (bytes left uninitialised for
 * the caller to fill through kv_entry_mutval() before publishing). */
struct kv_entry *kv_entry_new(const void *key, size_t klen, const void *val, size_t vlen,
			      int64_t expire_ms);
static inline char *kv_entry_mutval(struct kv_entry *e)
{
	return e->data + e->klen;
}
/* Frees an entry that was never published (or that a failed CAS did not take). */
void kv_entry_free(struct kv_entry *e);
/* Bytes this entry occupies (allocator usable size). */
size_t kv_entry_size(const struct kv_entry *e);

/* ---- the map. */
struct kvmap *kvmap_create(enum kvmap_backend backend, size_t initial_buckets);
/* Frees the map and every entry in it. No other thread may use it. */
void kvmap_destroy(struct kvmap **m);
const char *kvmap_backend_name(const struct kvmap *m);

/* The entry whose key equals key[0..klen) (hash = kvmap_hash(key, klen)), or NULL.
 * Expired entries are returned too: expiry is the caller's policy. */
const struct kv_entry *kvmap_get(struct kvmap *m, const void *key, size_t klen, uint64_t hash);

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

/* Removes every entry (FLUSHALL). Concurrent writers may leave entries that
 * were inserted after their slot was passed. Returns how many it removed. */
size_t kvmap_clear(struct kvmap *m);

typedef void (*kvmap_visit_fn)(const struct kv_entry *e, void *arg);

/*
 * SCAN: visits about `count` entries starting at `cursor` (0 = start) and
 * returns the cursor to continue from (0 when the scan is complete). Every
 * entry present for the whole scan is visited at least once; entries may be
 * visited twice. Cost: the cds_lfht backend has no seek by hash, so resuming
 * at a cursor walks the list from its head — O(N) per call, O(N^2/COUNT) for a
 * whole scan. kvsd's own map gives O(COUNT).
 */
uint64_t kvmap_scan(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn, void *arg);

/* An entry chosen with the help of rnd (uniform enough for RANDOMKEY), or NULL if empty. */
const struct kv_entry *kvmap_random(struct kvmap *m, uint64_t rnd);

/* Retired-but-not-yet-freed bytes, for INFO. */
int64_t kvmap_pending_bytes(void);

#endif
