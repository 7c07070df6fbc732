/*
 * txn.c — the transaction overlay (txn.h) and its commit through
 * kvmap_mwcas(). It uses only kvmap's public calls: the map knows nothing of
 * transactions.
 *
 * The overlay is an array of records, one per key the attempt touched, each
 * with the entry first seen in the map (or NULL) and, once written, the
 * pending entry (or NULL for a delete), found through an open-addressing
 * index of record numbers keyed by the key's hash: O(1) expected per access,
 * so an MSET or an EXEC of 100k keys costs O(n), not O(n^2). Key bytes are
 * copied into an arena (a few large blocks reused across attempts) rather
 * than allocated one by one. Pending entries that a later write of the same
 * attempt supersedes are kept until the attempt ends, because the command
 * that replaced them may still reply from them (GETSET). Entries are never
 * published before the commit, so freeing them after a failed one needs no
 * grace period. After a large attempt the arrays are given back, so an idle
 * connection does not keep the memory of its largest transaction.
 */
#include "storage/txn.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"

struct txn_key {
	uint64_t hash;
	const struct kv_entry *seen; /* in the map at the first read; NULL = absent */
	uintptr_t witness;	     /* of that read (kvmap_unchanged) */
	struct kv_entry *pend;	     /* the attempt's value if written (NULL = deleted) */
	const char *key;	     /* a copy, in the arena */
	size_t klen;
	uint32_t slot; /* its index slot (reset clears only the used ones) */
	bool written;
};

/* Key copies: blocks of ARENA_BLOCK bytes (a longer key gets its own block). */
#define ARENA_BLOCK 65536
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

/* Above these sizes, reset() frees the arrays instead of keeping them. */
#define KEEP_KEYS 4096

struct kvtxn {
	struct kvmap *m;
	struct txn_key *k;
	size_t n, cap;
	size_t last; /* the record load() returned last (load_entry's guess) */
	/* 2 * cap slots, each the key's hash bits 32..63 << 32 | record number
	 * + 1 (0 = empty): a probe compares hash bits before it touches a record */
	uint64_t *idx;
	size_t idx_mask;
	struct arena_block *arena; /* newest first */
	struct kv_entry **dead;	   /* superseded pending entries */
	size_t nd, capd;
	const struct kvtxn_watch *w;
	size_t nw;
	size_t nwritten;   /* records with a pending write */
	int64_t delta;	   /* entries added minus removed (kvtxn_count_delta) */
	int64_t ttl_delta; /* entries with a TTL added minus removed */
	int poll;	   /* kvtxn_poll()'s next answer */
	bool exclusive;	   /* kvtxn_begin_exclusive: its commit cannot conflict */
	struct kvmap_mw *items;
	size_t capi;
	struct kvmap_mw_watch *mww;
	size_t capw;
	kvtxn_publish_fn on_publish; /* kvtxn_set_publish_hook */
	void *on_publish_arg;
	kvtxn_touch_fn on_touch; /* kvtxn_set_touch_hook */
	void *on_touch_arg;
};

static const char *arena_copy(struct kvtxn *t, const void *key, size_t klen)
{
	struct arena_block *b = t->arena;
	char *p;

	if (!b || b->cap - b->used < klen) {
		size_t cap = klen > ARENA_BLOCK ? klen : ARENA_BLOCK;
		b = mem_alloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = t->arena;
		t->arena = b;
	}
	p = b->data + b->used;
	memcpy(p, key, klen);
	b->used += klen;
	return p;
}

/* Frees every arena block but the newest standard one, which is emptied. */
static void arena_reset(struct kvtxn *t, bool all)
{
	struct arena_block *keep = NULL, *b = t->arena;

	while (b) {
		struct arena_block *next = b->next;
		if (!all && !keep && b->cap == ARENA_BLOCK) {
			keep = b;
			keep->used = 0;
			keep->next = NULL;
		} else {
			mem_free(b);
		}
		b = next;
	}
	t->arena = keep;
}

struct kvtxn *kvtxn_create(struct kvmap *m)
{
	struct kvtxn *t = mem_calloc(1, sizeof(*t));

	t->m = m;
	return t;
}

static void reset(struct kvtxn *t, bool published)
{
	for (size_t i = 0; i < t->n && !published; i++) {
		struct txn_key *k = &t->k[i];
		if (k->written && k->pend && k->pend != k->seen)
			kv_entry_free(k->pend);
	}
	for (size_t i = 0; i < t->nd; i++)
		kv_entry_free(t->dead[i]);
	if (t->cap > KEEP_KEYS) {
		mem_free(t->k);
		mem_free(t->idx);
		mem_free(t->items);
		t->k = NULL;
		t->idx = NULL;
		t->items = NULL;
		t->cap = t->capi = 0;
		t->idx_mask = 0;
	} else {
		for (size_t i = 0; i < t->n; i++)
			t->idx[t->k[i].slot] = 0;
	}
	if (t->capd > KEEP_KEYS) {
		mem_free(t->dead);
		t->dead = NULL;
		t->capd = 0;
	}
	arena_reset(t, false);
	t->n = 0;
	t->nd = 0;
	t->nwritten = 0;
	t->delta = 0;
	t->ttl_delta = 0;
}

void kvtxn_destroy(struct kvtxn **pt)
{
	struct kvtxn *t = *pt;

	if (!t)
		return;
	reset(t, false);
	arena_reset(t, true);
	mem_free(t->k);
	mem_free(t->idx);
	mem_free(t->dead);
	mem_free(t->items);
	mem_free(t->mww);
	mem_free(t);
	*pt = NULL;
}

void kvtxn_begin(struct kvtxn *t, const struct kvtxn_watch *w, size_t nw)
{
	reset(t, false);
	t->w = w;
	t->nw = nw;
	t->poll = 0;
	t->exclusive = false;
}

void kvtxn_begin_exclusive(struct kvtxn *t, const struct kvtxn_watch *w, size_t nw)
{
	kvtxn_begin(t, w, nw);
	t->exclusive = true;
}

static inline size_t idx_home(const struct kvtxn *t, uint64_t h)
{
	return (size_t)h & t->idx_mask; /* SipHash: the low bits are uniform */
}

static inline uint64_t idx_word(uint64_t h, size_t rec)
{
	return (h & 0xffffffff00000000ull) | (uint64_t)(rec + 1);
}

static struct txn_key *find(struct kvtxn *t, const void *key, size_t klen, uint64_t h)
{
	if (!t->idx)
		return NULL;
	for (size_t i = idx_home(t, h);; i = (i + 1) & t->idx_mask) {
		uint64_t w = t->idx[i];
		if (w == 0)
			return NULL;
		if ((w ^ h) >> 32)
			continue;
		struct txn_key *k = &t->k[(uint32_t)w - 1];
		if (k->hash == h && k->klen == klen && memcmp(k->key, key, klen) == 0)
			return k;
	}
}

static void idx_put(struct kvtxn *t, size_t rec)
{
	size_t i = idx_home(t, t->k[rec].hash);

	while (t->idx[i] != 0)
		i = (i + 1) & t->idx_mask;
	t->idx[i] = idx_word(t->k[rec].hash, rec);
	t->k[rec].slot = (uint32_t)i;
}

/* Room for one more record (and its index slot, at most half full). */
static void grow(struct kvtxn *t)
{
	if (t->n < t->cap)
		return;
	t->cap = t->cap ? 2 * t->cap : 16;
	KV_ASSERT(t->cap < UINT32_MAX);
	t->k = mem_realloc(t->k, t->cap * sizeof(*t->k));
	mem_free(t->idx);
	t->idx_mask = 2 * t->cap - 1;
	t->idx = mem_calloc(t->idx_mask + 1, sizeof(*t->idx));
	for (size_t i = 0; i < t->n; i++)
		idx_put(t, i);
}

/* The overlay's record of key, reading the map on first use. */
static struct txn_key *load(struct kvtxn *t, const void *key, size_t klen, uint64_t h)
{
	struct txn_key *k = find(t, key, klen, h);

	if (k) {
		t->last = (size_t)(k - t->k);
		return k;
	}
	grow(t);
	t->last = t->n;
	k = &t->k[t->n];
	k->hash = h;
	k->seen = kvmap_get_witness(t->m, key, klen, h, &k->witness);
	k->pend = NULL;
	k->written = false;
	k->klen = klen;
	k->key = arena_copy(t, key, klen);
	idx_put(t, t->n++);
	return k;
}

/* The record of e's key. Commands write the key they just read (the CAS
 * step: lookup, then put), so the last record loaded is tried first, which
 * saves hashing the key again and probing the index. */
static struct txn_key *load_entry(struct kvtxn *t, const struct kv_entry *e)
{
	if (t->last < t->n) {
		struct txn_key *k = &t->k[t->last];
		if (k->klen == e->klen && kv_hash_space(k->hash) == e->space &&
		    memcmp(k->key, kv_entry_key(e), e->klen) == 0)
			return k;
	}
	return load(t, kv_entry_key(e), e->klen, kv_entry_hash(e));
}

static inline const struct kv_entry *cur(const struct txn_key *k)
{
	return k->written ? k->pend : k->seen;
}

static void set_pend(struct kvtxn *t, struct txn_key *k, struct kv_entry *e)
{
	if (k->written && k->pend && k->pend != k->seen) {
		if (t->nd == t->capd) {
			t->capd = t->capd ? 2 * t->capd : 16;
			t->dead = mem_realloc(t->dead, t->capd * sizeof(*t->dead));
		}
		t->dead[t->nd++] = k->pend;
	}
	t->delta += (e != NULL) - (cur(k) != NULL);
	t->ttl_delta += (e && kv_entry_expire(e)) - (cur(k) && kv_entry_expire(cur(k)));
	t->nwritten += !k->written;
	k->pend = e;
	k->written = true;
}

const struct kv_entry *kvtxn_get(struct kvtxn *t, const void *key, size_t klen, uint64_t h)
{
	return cur(load(t, key, klen, h));
}

int kvtxn_insert(struct kvtxn *t, struct kv_entry *e, const struct kv_entry **existing)
{
	struct txn_key *k = load_entry(t, e);

	if (cur(k)) {
		if (existing)
			*existing = cur(k);
		return -EEXIST;
	}
	set_pend(t, k, e);
	return 0;
}

int kvtxn_set(struct kvtxn *t, struct kv_entry *e)
{
	struct txn_key *k = load_entry(t, e);
	int had = cur(k) != NULL;

	set_pend(t, k, e);
	return had;
}

int kvtxn_replace(struct kvtxn *t, const struct kv_entry *expected, struct kv_entry *e)
{
	struct txn_key *k = load_entry(t, expected);

	if (cur(k) != expected)
		return -EAGAIN;
	set_pend(t, k, e);
	return 0;
}

int kvtxn_remove(struct kvtxn *t, const struct kv_entry *expected)
{
	struct txn_key *k = load_entry(t, expected);

	if (cur(k) != expected)
		return -ENOENT;
	set_pend(t, k, NULL);
	return 0;
}

void kvtxn_abort(struct kvtxn *t)
{
	reset(t, false);
	t->poll = 0;
}

size_t kvtxn_key_hashes(const struct kvtxn *t, size_t from, uint64_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = from; i < t->n && n < cap; i++)
		out[n++] = t->k[i].hash;
	return n;
}

int64_t kvtxn_count_delta(const struct kvtxn *t)
{
	return t->delta;
}

int64_t kvtxn_count_delta_space(const struct kvtxn *t, unsigned space)
{
	int64_t d = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct txn_key *k = &t->k[i];

		if (k->written && kv_hash_space(k->hash) == space)
			d += (k->pend != NULL) - (k->seen != NULL);
	}
	return d;
}

void kvtxn_drop_space(struct kvtxn *t, unsigned space)
{
	for (size_t i = 0; i < t->n; i++) {
		struct txn_key *k = &t->k[i];

		if (kv_hash_space(k->hash) == space && cur(k) != NULL)
			set_pend(t, k, NULL);
	}
}

/*
 * The commit of a read-only attempt without watches (MGET, EXISTS, a MULTI of
 * reads): no MWCAS, no store. Every key is looked up again; if each still
 * gives the answer the attempt read (kvmap_unchanged), every key held its
 * value from its first read to this check, so all of them held them together
 * at the last first read: the attempt's linearisation point.
 */
static int validate_reads(struct kvtxn *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct txn_key *k = &t->k[i];

		if (!kvmap_unchanged(t->m, k->key, k->klen, k->hash, k->seen, k->witness))
			return -EAGAIN;
	}
	return 0;
}

/*
 * The commit of an exclusive attempt (no other writer can run: db.h). The
 * watches are checked against the map as it is now (it cannot change any
 * more); the reads need no validation; the writes are published with one
 * MWCAS expecting the entries now current — which are the ones the attempt
 * read. Should some writer not honour the exclusion, the MWCAS is repeated
 * with the entries then current: the attempt's commands never run twice.
 */
/* The first n items were published: tell the owner (typed values' edits). */
static void published(struct kvtxn *t, size_t n)
{
	if (t->on_publish && n)
		t->on_publish(t->on_publish_arg, t->items, n);
}

void kvtxn_set_publish_hook(struct kvtxn *t, kvtxn_publish_fn fn, void *arg)
{
	t->on_publish = fn;
	t->on_publish_arg = arg;
}

void kvtxn_set_touch_hook(struct kvtxn *t, kvtxn_touch_fn fn, void *arg)
{
	t->on_touch = fn;
	t->on_touch_arg = arg;
}

/* Before an MWCAS of items[0..n): tell the owner (snapshots' touches). */
static void touching(struct kvtxn *t, size_t n)
{
	if (t->on_touch && n)
		t->on_touch(t->on_touch_arg, t->items, n);
}

static int commit_exclusive(struct kvtxn *t)
{
	size_t n;
	int rc;

	for (size_t i = 0; i < t->nw; i++) {
		const struct kvtxn_watch *w = &t->w[i];
		const struct txn_key *k = find(t, w->key, w->klen, w->hash);

		if ((k && k->seen != w->ptr) ||
		    kvmap_get(t->m, w->key, w->klen, w->hash) != w->ptr ||
		    kvmap_stripe(t->m, w->hash) != w->stripe)
			return -ESTALE;
	}
	if (t->nwritten == 0)
		return 0;
	if (t->capi < t->n) {
		t->capi = t->n;
		t->items = mem_realloc(t->items, t->capi * sizeof(*t->items));
	}
	do {
		n = 0;
		for (size_t i = 0; i < t->n; i++) {
			const struct txn_key *k = &t->k[i];
			const struct kv_entry *now;

			if (!k->written)
				continue;
			now = kvmap_get(t->m, k->key, k->klen, k->hash);
			if (now == k->pend)
				continue;
			t->items[n++] = (struct kvmap_mw){.key = k->key,
							  .klen = k->klen,
							  .hash = k->hash,
							  .old = now,
							  .neww = k->pend,
							  .write = 1};
		}
		touching(t, n);
		rc = n ? kvmap_mwcas(t->m, t->items, n, NULL, 0) : 0;
	} while (rc != 0);
	published(t, n);
	return 0;
}

int kvtxn_watches_stale(struct kvtxn *t)
{
	for (size_t i = 0; i < t->nw; i++) {
		const struct kvtxn_watch *w = &t->w[i];

		if (kvmap_get(t->m, w->key, w->klen, w->hash) != w->ptr ||
		    kvmap_stripe(t->m, w->hash) != w->stripe)
			return 1;
	}
	return 0;
}

/* One MWCAS of the overlay (and the watches, if any are still pending). */
static int commit_overlay(struct kvtxn *t)
{
	size_t n = 0, nw = 0;
	int rc;

	if (t->exclusive)
		return commit_exclusive(t);
	if (t->nwritten == 0 && t->nw == 0)
		return validate_reads(t);

	if (t->capi < t->n + t->nw) {
		t->capi = t->n + t->nw;
		t->items = mem_realloc(t->items, t->capi * sizeof(*t->items));
	}
	if (t->capw < t->nw) {
		t->capw = t->nw;
		t->mww = mem_realloc(t->mww, t->capw * sizeof(*t->mww));
	}
	for (size_t i = 0; i < t->n; i++) {
		struct txn_key *k = &t->k[i];
		t->items[n++] = (struct kvmap_mw){.key = k->key,
						  .klen = k->klen,
						  .hash = k->hash,
						  .old = k->seen,
						  .neww = k->pend,
						  .write = k->written && k->pend != k->seen};
	}
	for (size_t i = 0; i < t->nw; i++) {
		const struct kvtxn_watch *w = &t->w[i];
		struct txn_key *k = find(t, w->key, w->klen, w->hash);

		if (k && k->seen != w->ptr)
			return -ESTALE; /* read a newer entry than the watched one */
		if (!k)
			t->items[n++] = (struct kvmap_mw){
			    .key = w->key, .klen = w->klen, .hash = w->hash, .old = w->ptr};
		t->mww[nw++] = (struct kvmap_mw_watch){.hash = w->hash, .stripe = w->stripe};
	}
	if (n == 0 && nw == 0)
		return 0;
	touching(t, n);
	rc = kvmap_mwcas(t->m, t->items, n, t->mww, nw);
	if (rc == 0) {
		published(t, n);
		return 0;
	}
	/* Stripes only grow, and a writer bumps before its change is visible:
	 * a moved watched stripe is final (the EXEC must not run). */
	for (size_t i = 0; i < t->nw; i++)
		if (kvmap_stripe(t->m, t->w[i].hash) != t->w[i].stripe)
			return -ESTALE;
	return -EAGAIN;
}

int kvtxn_commit(struct kvtxn *t, int64_t *ttl_delta)
{
	int rc = t->poll < 0 ? t->poll : commit_overlay(t);

	if (ttl_delta)
		*ttl_delta = rc == 0 ? t->ttl_delta : 0;
	reset(t, rc == 0);
	t->w = NULL;
	t->nw = 0;
	return rc;
}

size_t kvtxn_clear(struct kvtxn *t)
{
	int rc;

	if (t->poll < 0)
		return 0; /* already failed: the attempt is re-run anyway */
	rc = commit_overlay(t);
	reset(t, rc == 0);
	if (rc != 0) {
		t->poll = rc;
		return 0;
	}
	t->w = NULL; /* the watches were checked by this first segment */
	t->nw = 0;
	t->poll = 1;
	return kvmap_clear(t->m);
}

int kvtxn_poll(struct kvtxn *t)
{
	int p = t->poll;

	if (p > 0)
		t->poll = 0;
	return p;
}
