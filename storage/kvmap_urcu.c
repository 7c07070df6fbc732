/*
 * kvmap_urcu.c — the KVMAP_URCU backend: liburcu's cds_lfht, a lock-free
 * resizable hash table built on split-ordered lists (Shalev & Shavit 2006),
 * with the QSBR flavour of RCU for reclamation.
 *
 * Layout: the cds_lfht node, the rcu_head and the hash live in the
 * KV_PREFIX_BYTES prefix that kv_entry_new() puts in front of every entry
 * while an URCU map exists (struct urcu_node), so an entry is still one
 * allocation; kvsd's own map does without it.
 * The table is created with cds_lfht_new_flavor(&urcu_qsbr_flavor): its
 * resize worker registers with, and waits for grace periods of, the same
 * QSBR domain that kvmap_thread_register() joins, so an online worker thread
 * holding an entry pointer keeps it alive across a resize.
 *
 * Updates map one-to-one onto cds_lfht: insert = add_unique, set =
 * add_replace, replace (CAS) = lookup + "is it still `expected`?" +
 * cds_lfht_replace, which fails if expected was removed or replaced since the
 * lookup (its next pointer carries the removal flag, so the cmpxchg in
 * cds_lfht_replace cannot succeed on a stale node); remove = cds_lfht_del on
 * expected's own node. Whatever leaves the table is retired with call_rcu()
 * and freed by the callback after a grace period.
 *
 * SCAN: cds_lfht keeps all nodes in one list sorted by the bit-reversed hash
 * (the split-order key); resizes only add or remove bucket sentinels, so the
 * order of entries never changes. The cursor is therefore the reversed hash
 * at which to resume: an entry present for the whole scan is either before
 * the cursor (already visited) or at/after it (visited later). cds_lfht has no
 * seek, so every call walks from cds_lfht_first() and skips entries below
 * the cursor: O(N) per call. Entries sharing one reversed hash are visited in
 * the same call (even past `count`), so a cursor never splits them.
 *
 * RANDOM: without a seek there is no O(1) uniform pick either. We skip
 * rnd % min(count, URCU_RANDOM_WINDOW) entries from the head of the list.
 * Honest bias: only the first URCU_RANDOM_WINDOW entries in split order (those
 * whose keyed hash has the longest run of low zero bits, a pseudo-random set
 * fixed by the seed) can be returned; every key can be returned only while
 * the map has at most that many. Cost: at most URCU_RANDOM_WINDOW steps.
 */
#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "concurrency/util.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"

#define URCU_DEFAULT_BUCKETS 64
#define URCU_RANDOM_WINDOW   128

struct urcu_node {
	struct cds_lfht_node node; /* in the table; its next word survives removal for readers */
	union {
		struct rcu_head rcu;	    /* after removal: queued for reclamation */
		struct kv_entry *dead_next; /* kvmap_destroy only: entries to free */
	};
};

static_assert(sizeof(struct urcu_node) + 2 * sizeof(uint64_t) == KV_PREFIX_BYTES,
	      "cds_lfht node + rcu_head + hash + expiry word make the entry prefix");
static_assert(alignof(struct urcu_node) <= 8, "the prefix is 8-aligned");
static_assert(sizeof(unsigned long) == sizeof(uint64_t), "cds_lfht hashes are unsigned long");

struct urcu_map {
	struct kvmap base; /* first: kvmap.c's counters and ops */
	struct cds_lfht *ht;
};

struct urcu_key {
	const void *key;
	size_t klen;
	unsigned space;
};

static inline struct urcu_map *urcu_map(struct kvmap *m)
{
	return (struct urcu_map *)m;
}

/* The prefix of an entry; the backend alone writes it. */
static inline struct urcu_node *urcu_node_of(const struct kv_entry *e)
{
	KV_ASSERT(e->prefix); /* built while no URCU map existed: create the map first */
	return (struct urcu_node *)(void *)((char *)(uintptr_t)e - KV_PREFIX_BYTES);
}

static inline uint64_t urcu_hash(const struct kv_entry *e)
{
	return *kv_entry_prefix_hash(e);
}

/* An entry the table handed us: the only way kvsd's code reaches a published entry. */
static inline struct kv_entry *urcu_entry_of(struct cds_lfht_node *n)
{
	struct kv_entry *e = (struct kv_entry *)(void *)((char *)n + KV_PREFIX_BYTES);

	/* the same address kvmap_tsan_publish() released: the entry, not its node */
	kvmap_tsan_consume(e);
	return e;
}

static int urcu_match(struct cds_lfht_node *n, const void *arg)
{
	const struct kv_entry *e = urcu_entry_of(n);
	const struct urcu_key *k = arg;

	return e->klen == k->klen && e->space == k->space &&
	       memcmp(kv_entry_key(e), k->key, k->klen) == 0;
}

static void urcu_free_cb(struct rcu_head *head)
{
	struct urcu_node *un = caa_container_of(head, struct urcu_node, rcu);
	struct kv_entry *e = urcu_entry_of(&un->node);

	kvmap_tsan_reclaim(); /* a grace period separates every reader's use from here */
	kvmap_pending_add(-(int64_t)kv_entry_size(e));
	kv_entry_free_retired(e);
}

/* e has left the table; free it once every reader that may hold it is quiescent. */
static void urcu_retire(const struct kv_entry *e)
{
	kvmap_pending_add((int64_t)kv_entry_size(e));
	call_rcu(&urcu_node_of(e)->rcu, urcu_free_cb);
}

static struct kvmap *urcu_create(size_t initial_buckets)
{
	unsigned long size = 1;
	struct urcu_map *um;

	if (initial_buckets == 0)
		initial_buckets = URCU_DEFAULT_BUCKETS;
	while (size < initial_buckets && size < (1UL << 30))
		size <<= 1;
	um = (struct urcu_map *)kvmap_base_alloc(sizeof(*um), &kvmap_urcu_ops);
	/* min_nr_alloc_buckets 1 lets a cleared map shrink; max 0 = unbounded */
	um->ht = cds_lfht_new_flavor(size, 1, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				     &urcu_qsbr_flavor, NULL);
	if (!um->ht) {
		kvmap_base_free(&um->base);
		return NULL;
	}
	/* relaxed: read by kv_entry_new() of this thread or of threads the
	 * caller starts (or tells) afterwards, which orders it */
	atomic_fetch_add_explicit(&kvmap_urcu_maps, 1, memory_order_relaxed);
	return &um->base;
}

static void urcu_destroy(struct kvmap *m)
{
	struct urcu_map *um = urcu_map(m);
	struct cds_lfht_iter iter;
	struct cds_lfht_node *n;
	struct kv_entry *dead = NULL;
	bool was_online = kvmap_thread_is_online();

	/* No other thread uses the map: unlink everything, free after the table is gone. */
	cds_lfht_for_each(um->ht, &iter, n)
	{
		if (cds_lfht_del(um->ht, n) == 0) {
			struct kv_entry *e = urcu_entry_of(n);
			urcu_node_of(e)->dead_next = dead;
			dead = e;
		}
	}
	/* cds_lfht_destroy waits for a queued resize, whose worker waits for a
	 * grace period: under QSBR an online caller would deadlock it. */
	if (was_online)
		kvmap_thread_offline();
	int rc = cds_lfht_destroy(um->ht, NULL);
	KV_ASSERT(rc == 0);
	if (was_online)
		kvmap_thread_online();
	while (dead) {
		struct kv_entry *next = urcu_node_of(dead)->dead_next;
		kv_entry_free_retired(dead);
		dead = next;
	}
	kvmap_base_free(m);
	/* relaxed: see urcu_create() */
	atomic_fetch_sub_explicit(&kvmap_urcu_maps, 1, memory_order_relaxed);
}

static const struct kv_entry *urcu_get(struct kvmap *m, const void *key, size_t klen, uint64_t hash)
{
	struct urcu_key k = {key, klen, kv_hash_space(hash)};
	struct cds_lfht_iter iter;

	cds_lfht_lookup(urcu_map(m)->ht, hash, urcu_match, &k, &iter);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&iter);
	return n ? urcu_entry_of(n) : NULL;
}

static int urcu_insert(struct kvmap *m, struct kv_entry *e, const struct kv_entry **existing)
{
	struct urcu_key k = {kv_entry_key(e), e->klen, e->space};
	struct cds_lfht_node *mine = &urcu_node_of(e)->node;
	struct cds_lfht_node *got;

	kvmap_tsan_publish(e);
	got = cds_lfht_add_unique(urcu_map(m)->ht, urcu_hash(e), urcu_match, &k, mine);
	if (got != mine) {
		if (existing)
			*existing = urcu_entry_of(got);
		return -EEXIST;
	}
	kvmap_count_add(m, 1);
	return 0;
}

static int urcu_set(struct kvmap *m, struct kv_entry *e)
{
	struct urcu_key k = {kv_entry_key(e), e->klen, e->space};
	struct cds_lfht_node *old;

	kvmap_tsan_publish(e);
	old = cds_lfht_add_replace(urcu_map(m)->ht, urcu_hash(e), urcu_match, &k,
				   &urcu_node_of(e)->node);
	if (old) {
		urcu_retire(urcu_entry_of(old));
		return 1;
	}
	kvmap_count_add(m, 1);
	return 0;
}

static int urcu_replace(struct kvmap *m, const struct kv_entry *expected, struct kv_entry *e)
{
	struct cds_lfht *ht = urcu_map(m)->ht;
	struct urcu_key k = {kv_entry_key(expected), expected->klen, expected->space};
	struct cds_lfht_iter iter;

	KV_ASSERT(urcu_hash(e) == urcu_hash(expected) && e->klen == expected->klen);
	cds_lfht_lookup(ht, urcu_hash(expected), urcu_match, &k, &iter);
	if (cds_lfht_iter_get_node(&iter) != &urcu_node_of(expected)->node)
		return -EAGAIN;
	kvmap_tsan_publish(e);
	/* Fails with -ENOENT if expected was removed or replaced after the lookup. */
	int rc = cds_lfht_replace(ht, &iter, urcu_hash(e), urcu_match, &k, &urcu_node_of(e)->node);
	if (rc != 0) {
		KV_ASSERT(rc == -ENOENT);
		return -EAGAIN;
	}
	urcu_retire(expected);
	return 0;
}

static int urcu_remove(struct kvmap *m, const struct kv_entry *expected)
{
	if (cds_lfht_del(urcu_map(m)->ht, &urcu_node_of(expected)->node) != 0)
		return -ENOENT;
	kvmap_count_add(m, -1);
	urcu_retire(expected);
	return 0;
}

static size_t urcu_clear(struct kvmap *m)
{
	struct cds_lfht *ht = urcu_map(m)->ht;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *n;
	size_t removed = 0;

	cds_lfht_for_each(ht, &iter, n)
	{
		if (cds_lfht_del(ht, n) == 0) {
			removed++;
			urcu_retire(urcu_entry_of(n));
		}
	}
	kvmap_count_add(m, -(int64_t)removed);
	return removed;
}

static uint64_t urcu_scan(struct kvmap *m, uint64_t cursor, size_t count, kvmap_visit_fn fn,
			  void *arg)
{
	struct cds_lfht *ht = urcu_map(m)->ht;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *n;
	size_t visited = 0;
	uint64_t last = 0;

	if (count == 0)
		count = 1;
	/* No seek in cds_lfht: walk from the head past everything below the cursor. O(N). */
	cds_lfht_first(ht, &iter);
	while ((n = cds_lfht_iter_get_node(&iter)) &&
	       kvmap_rev64(urcu_hash(urcu_entry_of(n))) < cursor)
		cds_lfht_next(ht, &iter);
	for (; (n = cds_lfht_iter_get_node(&iter)); cds_lfht_next(ht, &iter)) {
		const struct kv_entry *e = urcu_entry_of(n);
		uint64_t rh = kvmap_rev64(urcu_hash(e));
		/* Stop only between distinct split-order keys: rh > last >= 0, never 0. */
		if (visited >= count && rh != last)
			return rh;
		fn(e, arg);
		visited++;
		last = rh;
	}
	return 0;
}

/* kvmap_walk_stripe (kvmap.h): the split order sorts by reversed hash, in
 * which a stripe (bits under bit 32) is scattered: the whole list, filtered. */
static size_t urcu_walk_stripe(struct kvmap *m, unsigned space, uint64_t stripe, unsigned bits,
			       kvmap_stripe_fn fn, void *arg)
{
	struct cds_lfht *ht = urcu_map(m)->ht;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *n;
	size_t visited = 0;

	for (cds_lfht_first(ht, &iter); (n = cds_lfht_iter_get_node(&iter));
	     cds_lfht_next(ht, &iter)) {
		const struct kv_entry *e = urcu_entry_of(n);
		uint64_t h = urcu_hash(e);

		if (kvmap_stripe_of(h, bits) == stripe && e->space == space) {
			fn(e, h, arg);
			visited++;
		}
	}
	return visited;
}

static const struct kv_entry *urcu_random(struct kvmap *m, uint64_t rnd)
{
	struct cds_lfht *ht = urcu_map(m)->ht;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *pick;
	size_t n = kvmap_count(m);
	size_t window = n < URCU_RANDOM_WINDOW ? n : URCU_RANDOM_WINDOW;
	size_t skip = window > 1 ? (size_t)(rnd % window) : 0;

	cds_lfht_first(ht, &iter);
	pick = cds_lfht_iter_get_node(&iter);
	if (!pick)
		return NULL;
	/* The count may be stale: stop at the last entry rather than wrap. */
	for (size_t i = 0; i < skip; i++) {
		cds_lfht_next(ht, &iter);
		struct cds_lfht_node *next = cds_lfht_iter_get_node(&iter);
		if (!next)
			break;
		pick = next;
	}
	return urcu_entry_of(pick);
}

const struct kvmap_ops kvmap_urcu_ops = {
    .name = "urcu-lfht",
    .create = urcu_create,
    .destroy = urcu_destroy,
    .get = urcu_get,
    .insert = urcu_insert,
    .set = urcu_set,
    .replace = urcu_replace,
    .remove = urcu_remove,
    .clear = urcu_clear,
    .scan = urcu_scan,
    .random = urcu_random,
    .walk_stripe = urcu_walk_stripe,
    .walk_linear = true,
    .maintain = NULL,
};
