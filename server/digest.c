/*
 * digest.c — the dataset digest of DEBUG DIGEST / DIGEST-VALUE, as
 * Redis 7.0's debug.c computes it (see digest.h for the recipe).
 *
 * Hashes, sets and sorted sets: xorObjectDigest xors one contribution per
 * element into the running digest, so the element order (which differs
 * between kvsd's trees and Redis's dicts) does not matter. The elements
 * come from the type's foreach (storage/coll.h), which hands a sorted set's
 * score already printed as Redis prints it ("%.17g", what 7.0's digest
 * mixes too). One implementation for the three types: the digest cannot
 * drift from Redis's in one type's module.
 */
#include "server/digest.h"
#include "server/sha1.h"
#include "storage/coll.h"
#include "storage/db.h"

#include <string.h>

static void xor_digest(uint8_t d[DIGEST_LEN], const void *p, size_t n)
{
	uint8_t h[SHA1_DIGEST_LEN];

	sha1(p, n, h);
	for (int i = 0; i < DIGEST_LEN; i++)
		d[i] ^= h[i];
}

static void mix_digest(uint8_t d[DIGEST_LEN], const void *p, size_t n)
{
	xor_digest(d, p, n);
	sha1(d, DIGEST_LEN, d);
}

static void mix_u32(uint8_t d[DIGEST_LEN], uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	mix_digest(d, be, sizeof(be));
}

struct elems {
	uint8_t acc[DIGEST_LEN]; /* xor of the elements' contributions */
	enum kv_type type;
};

/* One element: a set member is xored in (its SHA1); a hash field and its
 * value, a sorted-set member and its score, are mixed into a zeroed
 * eledigest first, which is then xored in (the SHA1 of those 20 bytes). */
static void elem_visit(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct elems *x = arg;
	uint8_t ed[DIGEST_LEN] = {0};

	if (x->type == KV_SET) {
		xor_digest(x->acc, a, alen);
		return;
	}
	mix_digest(ed, a, alen);
	mix_digest(ed, b, blen);
	xor_digest(x->acc, ed, DIGEST_LEN); /* xorDigest(digest, eledigest, 20) */
}

/* A list element: mixDigest(digest, element), in list order. */
static void list_visit(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	(void)b;
	(void)blen;
	mix_digest(arg, a, alen);
}

void digest_coll_elements(const struct kv_entry *e, uint8_t out[DIGEST_LEN])
{
	struct elems x = {.type = kv_entry_type(e)};
	const struct coll_type_ops *ops = coll_ops(x.type);

	if (ops && ops->foreach)
		ops->foreach (e, elem_visit, &x);
	memcpy(out, x.acc, DIGEST_LEN);
}

void digest_value(const struct kv_entry *e, uint8_t d[DIGEST_LEN])
{
	enum kv_type t = kv_entry_type(e);

	mix_u32(d, (uint32_t)t); /* htonl(o->type) */
	if (t == KV_STRING) {
		mix_digest(d, kv_entry_val(e), e->vlen);
	} else if (t == KV_LIST) {
		/* an ordered type: each element is mixed into the key's digest */
		const struct coll_type_ops *ops = coll_ops(t);

		if (ops && ops->foreach)
			ops->foreach (e, list_visit, d);
	} else {
		uint8_t x[DIGEST_LEN];

		digest_coll_elements(e, x);
		for (int i = 0; i < DIGEST_LEN; i++)
			d[i] ^= x[i];
	}
	if (kv_entry_expire(e))
		xor_digest(d, "!!expire!!", 10);
}

struct walk {
	uint8_t acc[DIGEST_LEN]; /* xor of every key's digest */
	long long n;
};

static void visit(const struct kv_entry *e, void *arg)
{
	struct walk *w = arg;
	uint8_t d[DIGEST_LEN] = {0};

	mix_digest(d, kv_entry_key(e), e->klen);
	digest_value(e, d);
	xor_digest(w->acc, d, DIGEST_LEN); /* xorDigest(final, digest, 20) */
	w->n++;
}

long long digest_db(const struct db_view *v, int id, uint8_t final[DIGEST_LEN])
{
	struct walk w = {.n = 0};
	uint64_t cursor = 0;

	do
		cursor = db_scan(v, cursor, 1024, visit, &w);
	while (cursor != 0);
	if (w.n == 0)
		return 0; /* Redis skips an empty database, id included */
	mix_u32(final, (uint32_t)id);
	for (int i = 0; i < DIGEST_LEN; i++)
		final[i] ^= w.acc[i];
	return w.n;
}

void digest_dataset(const struct db_view *v, uint8_t final[DIGEST_LEN])
{
	int n = db_databases(v->db);

	memset(final, 0, DIGEST_LEN);
	for (int id = 0; id < n; id++) {
		struct db_view dv;

		db_view_derive(v, id, &dv);
		digest_db(&dv, id, final);
	}
}

void digest_hex(const uint8_t d[DIGEST_LEN], char out[2 * DIGEST_LEN + 1])
{
	sha1_hex(d, out);
}
