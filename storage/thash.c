/*
 * thash.c — the hash type's two encodings and the write that converts
 * between them (see thash.h).
 *
 * A write to a compact hash is planned on a scratch array of the pairs
 * (pointers into the old blob and the command's arguments) with an
 * open-addressed index by field, so a command of k updates over n pairs
 * costs O(n + k), not O(n * k) (a 1M-argument HSET stays linear). The plan
 * either fits the listpack thresholds — then one new blob is written — or
 * it does not, and the old pairs and the ops go into a new tree instead,
 * in Redis's order of events (the conversion happens at the first
 * too-long string or the first field past the entry limit; the end result
 * is the same hashtable whichever point that was).
 */
#include "storage/thash.h"
#include "storage/kvmap.h"
#include "concurrency/mem.h"
#include "storage/varint.h"

#include <stdlib.h>
#include <string.h>

static void (*digest_sha1)(const void *p, size_t n, uint8_t out[20]);

static bool is_big(const struct kv_entry *e)
{
	return coll_enc_is_big(coll_entry_enc(e));
}

/* The listpack's first pair and its count. */
static const char *lp_first(const struct kv_entry *e, size_t *count, const char **end)
{
	size_t len;
	const char *p = coll_blob(e, &len);

	*end = p + len;
	return varint_get(p, count);
}

static const char *lp_pair(const char *p, struct pt_elem *out)
{
	p = varint_get(p, &out->alen);
	out->a = p;
	p += out->alen;
	p = varint_get(p, &out->blen);
	out->b = p;
	return p + out->blen;
}

/* ---- readers */

size_t thash_count(const struct kv_entry *e)
{
	size_t n;
	const char *end;

	if (is_big(e))
		return pt_count(coll_big_of(e)->root[0]);
	lp_first(e, &n, &end);
	return n;
}

bool thash_get(const struct kv_entry *e, const void *f, size_t flen, const char **v, size_t *vlen)
{
	struct pt_elem el;

	if (is_big(e)) {
		if (!pt_get(coll_big_of(e)->root[0], kvmap_hash(f, flen), f, flen, &el))
			return false;
	} else {
		size_t n;
		const char *end, *p = lp_first(e, &n, &end);

		for (;;) {
			if (n-- == 0)
				return false;
			p = lp_pair(p, &el);
			if (el.alen == flen && memcmp(el.a, f, flen) == 0)
				break;
		}
	}
	*v = el.b;
	*vlen = el.blen;
	return true;
}

void thash_iter_init(struct thash_iter *it, const struct kv_entry *e)
{
	it->big = is_big(e);
	if (it->big)
		pt_iter_seek(&it->it, coll_big_of(e)->root[0], 0);
	else
		it->p = lp_first(e, &it->left, &it->end);
}

bool thash_iter_next(struct thash_iter *it, struct pt_elem *out)
{
	if (it->big)
		return pt_iter_next(&it->it, out);
	if (it->left == 0)
		return false;
	it->left--;
	it->p = lp_pair(it->p, out);
	out->key = 0;
	return true;
}

bool thash_at(const struct kv_entry *e, size_t i, struct pt_elem *out)
{
	struct thash_iter it;

	if (is_big(e))
		return pt_at(coll_big_of(e)->root[0], i, out);
	thash_iter_init(&it, e);
	do {
		if (!thash_iter_next(&it, out))
			return false;
	} while (i--);
	return true;
}

/* ---- the write plan of a compact hash */

struct plan_pair {
	const char *f, *v;
	size_t flen, vlen;
	bool dead; /* deleted by an op (its index slot now finds nothing live) */
};

struct plan {
	struct plan_pair *pairs;
	size_t n, cap, live;
	uint32_t *slots; /* 1 + index into pairs; 0 = empty */
	size_t mask;
};

static void plan_grow_index(struct plan *pl);

static void plan_init(struct plan *pl, size_t expect)
{
	size_t sz = 16;

	while (sz < 2 * expect + 2)
		sz <<= 1;
	pl->cap = expect + 8;
	pl->pairs = mem_alloc(pl->cap * sizeof(*pl->pairs));
	pl->n = pl->live = 0;
	pl->slots = mem_calloc(sz, sizeof(*pl->slots));
	pl->mask = sz - 1;
}

static void plan_free(struct plan *pl)
{
	mem_free(pl->pairs);
	mem_free(pl->slots);
}

/* The slot of field f: the one holding it, or the empty one it would go in. */
static size_t plan_slot(const struct plan *pl, const char *f, size_t flen)
{
	size_t i = (size_t)kvmap_hash(f, flen) & pl->mask;

	for (;;) {
		uint32_t s = pl->slots[i];

		if (s == 0)
			return i;
		const struct plan_pair *pp = &pl->pairs[s - 1];
		if (pp->flen == flen && memcmp(pp->f, f, flen) == 0)
			return i;
		i = (i + 1) & pl->mask;
	}
}

/* Appends a live pair (its field not in the index) and indexes it. */
static void plan_append(struct plan *pl, size_t slot, const char *f, size_t flen, const char *v,
			size_t vlen)
{
	if (pl->n == pl->cap) {
		pl->cap *= 2;
		pl->pairs = mem_realloc(pl->pairs, pl->cap * sizeof(*pl->pairs));
	}
	pl->pairs[pl->n] = (struct plan_pair){f, v, flen, vlen, false};
	pl->slots[slot] = (uint32_t)(pl->n + 1);
	pl->n++;
	pl->live++;
	if (2 * pl->n + 2 > pl->mask + 1)
		plan_grow_index(pl);
}

static void plan_grow_index(struct plan *pl)
{
	size_t sz = (pl->mask + 1) * 2;

	mem_free(pl->slots);
	pl->slots = mem_calloc(sz, sizeof(*pl->slots));
	pl->mask = sz - 1;
	/* index only the latest pair of each field: a dead pair's field may
	 * come again later in the array */
	for (size_t k = pl->n; k-- > 0;) {
		const struct plan_pair *pp = &pl->pairs[k];
		size_t s = plan_slot(pl, pp->f, pp->flen);

		if (pl->slots[s] == 0)
			pl->slots[s] = (uint32_t)(k + 1);
	}
}

/*
 * Applies one op to the plan. Returns false when the listpack would
 * exceed the entry limit (the caller converts).
 */
static bool plan_op(struct plan *pl, const struct thash_op *op, long long max_entries,
		    size_t *added, size_t *removed)
{
	size_t s = plan_slot(pl, op->f, op->flen);
	struct plan_pair *pp = pl->slots[s] ? &pl->pairs[pl->slots[s] - 1] : NULL;

	if (pp && pp->dead)
		pp = NULL;
	if (op->del) {
		if (pp) {
			pp->dead = true;
			pl->live--;
			(*removed)++;
		}
		return true;
	}
	if (pp) {
		pp->v = op->v;
		pp->vlen = op->vlen;
		return true;
	}
	if ((long long)pl->live + 1 > max_entries)
		return false;
	/* a field deleted earlier in the same command goes last, as in a
	 * listpack; its slot now points at the new pair */
	plan_append(pl, s, op->f, op->flen, op->v, op->vlen);
	(*added)++;
	return true;
}

static struct kv_entry *plan_build(const struct plan *pl, const void *key, size_t klen,
				   int64_t expire_ms)
{
	size_t len = varint_len(pl->live);

	for (size_t k = 0; k < pl->n; k++) {
		const struct plan_pair *pp = &pl->pairs[k];

		if (!pp->dead)
			len += varint_len(pp->flen) + pp->flen + varint_len(pp->vlen) + pp->vlen;
	}
	struct kv_entry *e =
	    coll_new_compact(key, klen, KV_HASH, COLL_LISTPACK, NULL, len, expire_ms);
	char *p = varint_put(coll_blob_mut(e), pl->live);

	for (size_t k = 0; k < pl->n; k++) {
		const struct plan_pair *pp = &pl->pairs[k];

		if (pp->dead)
			continue;
		p = varint_put(p, pp->flen);
		memcpy(p, pp->f, pp->flen);
		p += pp->flen;
		p = varint_put(p, pp->vlen);
		memcpy(p, pp->v, pp->vlen);
		p += pp->vlen;
	}
	return e;
}

/* ---- writes */

static void put_pair(struct pt_edit *ed, const char *f, size_t flen, const char *v, size_t vlen,
		     size_t *added)
{
	struct pt_elem el = {kvmap_hash(f, flen), f, flen, v, vlen};

	if (pt_put(ed, 0, &el) && added)
		(*added)++;
}

/* The large path: old's tree edited, or a new tree holding old's pairs. */
static struct kv_entry *apply_big(struct coll_ctx *c, const struct kv_entry *old, const void *key,
				  size_t klen, int64_t expire_ms, const struct thash_op *ops,
				  size_t n, size_t *added, size_t *removed)
{
	uint64_t lin;
	bool was_compact = old && !is_big(old);
	struct pt_edit *ed = coll_edit(c, was_compact ? NULL : old, &lin);

	*added = *removed = 0; /* a compact plan may have counted before it gave up */

	if (was_compact) {
		struct thash_iter it;
		struct pt_elem el;

		thash_iter_init(&it, old);
		while (thash_iter_next(&it, &el))
			put_pair(ed, el.a, el.alen, el.b, el.blen, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		const struct thash_op *op = &ops[i];

		if (op->del) {
			if (pt_del(ed, 0, kvmap_hash(op->f, op->flen), op->f, op->flen))
				(*removed)++;
		} else {
			put_pair(ed, op->f, op->flen, op->v, op->vlen, added);
		}
	}
	if (pt_count(ed->root[0]) == 0)
		return NULL;
	return coll_new_big(key, klen, KV_HASH, COLL_HASHTABLE, lin, ed->root[0], ed->root[1],
			    expire_ms);
}

struct kv_entry *thash_apply(struct coll_ctx *c, const struct kv_entry *old, const void *key,
			     size_t klen, int64_t expire_ms, const struct thash_op *ops, size_t n,
			     size_t *added, size_t *removed)
{
	size_t add = 0, rem = 0;
	struct kv_entry *e;

	if (!added)
		added = &add;
	if (!removed)
		removed = &rem;
	*added = *removed = 0;
	if (old && is_big(old))
		return apply_big(c, old, key, klen, expire_ms, ops, n, added, removed);

	/* hashTypeTryConversion / hashTypeSet: a string written longer than
	 * hash-max-listpack-value converts before anything is inserted */
	long long maxv = coll_limit(COLL_HASH_MAX_VALUE);
	for (size_t i = 0; i < n; i++)
		if (!ops[i].del && ((long long)ops[i].flen > maxv || (long long)ops[i].vlen > maxv))
			return apply_big(c, old, key, klen, expire_ms, ops, n, added, removed);

	long long maxe = coll_limit(COLL_HASH_MAX_ENTRIES);
	size_t oldn = old ? thash_count(old) : 0;
	struct plan pl;

	plan_init(&pl, oldn + (n < 1024 ? n : 1024));
	if (old) {
		struct thash_iter it;
		struct pt_elem el;

		thash_iter_init(&it, old);
		while (thash_iter_next(&it, &el))
			plan_append(&pl, plan_slot(&pl, el.a, el.alen), el.a, el.alen, el.b,
				    el.blen);
	}
	for (size_t i = 0; i < n; i++) {
		if (!plan_op(&pl, &ops[i], maxe, added, removed)) {
			plan_free(&pl);
			return apply_big(c, old, key, klen, expire_ms, ops, n, added, removed);
		}
	}
	e = pl.live ? plan_build(&pl, key, klen, expire_ms) : NULL;
	plan_free(&pl);
	return e;
}

/* ---- the type row */

/* xorObjectDigest's hash part: for each pair, eledigest = mix(mix(0,
 * field), value), and xorDigest(digest, eledigest) xors SHA1(eledigest) in
 * (mix(d, p): d ^= SHA1(p), then d = SHA1(d)). Checked against
 * redis-server's DEBUG DIGEST-VALUE. */
void thash_digest(const struct kv_entry *e, unsigned char out[20])
{
	struct thash_iter it;
	struct pt_elem el;

	memset(out, 0, 20);
	thash_iter_init(&it, e);
	while (thash_iter_next(&it, &el)) {
		uint8_t d[20] = {0}, h[20];

		digest_sha1(el.a, el.alen, h);
		for (int i = 0; i < 20; i++)
			d[i] ^= h[i];
		digest_sha1(d, 20, d);
		digest_sha1(el.b, el.blen, h);
		for (int i = 0; i < 20; i++)
			d[i] ^= h[i];
		digest_sha1(d, 20, d);
		digest_sha1(d, 20, h);
		for (int i = 0; i < 20; i++)
			out[i] ^= h[i];
	}
}

size_t thash_memory(const struct kv_entry *e, long long samples)
{
	(void)samples;
	if (is_big(e))
		return pt_bytes(coll_big_of(e)->root[0]);
	return 0; /* the blob is inside the entry */
}

void thash_foreach(const struct kv_entry *e,
		   void (*fn)(const char *a, size_t alen, const char *b, size_t blen, void *arg),
		   void *arg)
{
	struct thash_iter it;
	struct pt_elem el;

	thash_iter_init(&it, e);
	while (thash_iter_next(&it, &el))
		fn(el.a, el.alen, el.b, el.blen, arg);
}

struct kv_entry *thash_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
			    size_t klen, int64_t expire_ms)
{
	size_t len;
	const char *blob;

	if (!is_big(e)) {
		blob = coll_blob(e, &len);
		return coll_new_compact(key, klen, KV_HASH, COLL_LISTPACK, blob, len, expire_ms);
	}
	uint64_t lin;
	struct pt_edit *ed = coll_edit(c, NULL, &lin);
	struct pt_iter it;
	struct pt_elem el;

	pt_iter_seek(&it, coll_big_of(e)->root[0], 0);
	while (pt_iter_next(&it, &el))
		pt_put(ed, 0, &el);
	return coll_new_big(key, klen, KV_HASH, COLL_HASHTABLE, lin, ed->root[0], ed->root[1],
			    expire_ms);
}

static const struct coll_type_ops thash_ops = {
    .name = "hash",
    .count = thash_count,
    .digest = thash_digest,
    .memory = thash_memory,
    .foreach = thash_foreach,
    .copy = thash_copy,
};

void thash_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]))
{
	digest_sha1 = sha1;
	coll_register(KV_HASH, &thash_ops);
}
