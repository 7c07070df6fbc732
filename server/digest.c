/*
 * digest.c — the dataset digest of DEBUG DIGEST / DIGEST-VALUE, as
 * Redis 7.0's debug.c computes it (see digest.h for the recipe).
 */
#include "server/digest.h"
#include "server/sha1.h"
#include "storage/db.h"

#include <string.h>

/* OBJ_STRING: the type Redis mixes in, as 4 big-endian bytes. */
#define OBJ_STRING_TYPE 0u

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

void digest_value(const struct kv_entry *e, uint8_t d[DIGEST_LEN])
{
	mix_u32(d, OBJ_STRING_TYPE);
	mix_digest(d, kv_entry_val(e), e->vlen);
	if (e->expire_ms)
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
