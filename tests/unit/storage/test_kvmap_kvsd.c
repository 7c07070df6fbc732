/*
 * test_kvmap_kvsd.c — what only kvsd's own map (KVMAP_KVSD) has: a compact
 * entry, growth from a tiny table, shrinking on kvmap_maintain(), tombstone
 * purge by same-size rehash under insert/delete churn, lookups, updates and
 * scans against a half-done migration, SCAN's O(COUNT) bound, SCAN and
 * stripe walks over tables of any size (not powers of two); and the
 * differential test: long random operation sequences applied to cds_lfht and
 * to kvsd's map give identical results (ops: insert, set, replace, remove,
 * get, full scan compared as sets, count).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"

static struct kvmap *m;

static void init(void)
{
	kvmap_setup();
	kvmap_thread_register();
	m = kvmap_create(KVMAP_KVSD, 1);
	cr_assert_not_null(m);
}

static void fini(void)
{
	kvmap_destroy(&m);
	kvmap_teardown();
	kvmap_thread_unregister();
}

TestSuite(kvsd, .init = init, .fini = fini);

static struct kv_entry *mkf(const char *fmt, int i)
{
	char k[64];
	int n = snprintf(k, sizeof(k), fmt, i);
	return kv_entry_new(k, (size_t)n, k, (size_t)n, 0);
}

static const struct kv_entry *getf(const char *fmt, int i)
{
	char k[64];
	int n = snprintf(k, sizeof(k), fmt, i);
	return kvmap_get(m, k, (size_t)n, kvmap_hash(k, (size_t)n));
}

/* 16-byte keys and 64-byte values: 88 bytes without a TTL (a block of the
 * 88-byte pool with jemalloc, which would round it to 96), 96 with one. */
Test(kvsd, entry_is_88_bytes_for_16_byte_keys_and_64_byte_values)
{
	char key[16] = "0123456789abcdef", val[64];
	memset(val, 'v', sizeof(val));
	struct kv_entry *e = kv_entry_new(key, 16, val, 64, 0);
	struct kv_entry *t = kv_entry_new(key, 16, val, 64, 1000);

	cr_expect_eq(e->prefix, 0);
	cr_expect_eq(kv_entry_size(e), 88);
	cr_expect_eq(kv_entry_size(t), 96);
	kv_entry_free(e);
	kv_entry_free(t);
}

Test(kvsd, grows_from_a_tiny_table_and_shrinks_on_maintain)
{
	cr_expect_eq(kvmap_kvsd_buckets(m), 8);
	for (int i = 0; i < 50000; i++)
		cr_assert_eq(kvmap_insert(m, mkf("g:%d", i), NULL), 0);
	size_t grown = kvmap_kvsd_buckets(m);
	/* below 7/8 full (t_full), at least 3/5 full less the +64 slack: no
	 * power-of-two rounding */
	cr_expect_geq(grown * 8 * 7, 50000 * 8, "table of %zu buckets for 50000 keys", grown);
	cr_expect_leq(grown * 8, 50000 * 5 / 3 + 64 + 8, "table of %zu buckets for 50000 keys",
		      grown);
	for (int i = 0; i < 50000; i++)
		cr_assert_not_null(getf("g:%d", i), "g:%d lost by growth", i);
	for (int i = 10; i < 50000; i++)
		cr_assert_eq(kvmap_remove(m, getf("g:%d", i)), 0);
	kvmap_maintain(m);
	cr_expect_leq(kvmap_kvsd_buckets(m), 16, "still %zu buckets", kvmap_kvsd_buckets(m));
	cr_expect_eq(kvmap_count(m), 10);
	for (int i = 0; i < 50000; i++)
		cr_assert_eq(getf("g:%d", i) != NULL, i < 10);
	kvmap_quiescent();
}

/* kvmap_reserve (an RDB load's RESIZEDB): one growth up front to the table
 * growth alone would end with, then no migration while the keys arrive
 * (inserted with kvmap_insert_hashed after a prefetch, as the loader
 * does); a smaller reserve does nothing. */
Test(kvsd, reserve_grows_once_then_inserts_do_not_migrate)
{
	size_t reserved;

	kvmap_reserve(m, 100000);
	reserved = kvmap_kvsd_buckets(m);
	/* 100000 keys at 4/5 of the slots (+ one bucket): 15626 buckets */
	cr_assert_eq(reserved, 15626, "%zu buckets", reserved);
	kvmap_reserve(m, 10);
	cr_assert_eq(kvmap_kvsd_buckets(m), reserved);
	for (int i = 0; i < 100000; i++) {
		char k[32];
		int n = snprintf(k, sizeof(k), "r:%d", i);
		uint64_t h = kvmap_hash(k, (size_t)n);

		kvmap_prefetch(m, h);
		cr_assert_eq(kvmap_insert_hashed(m, kv_entry_new(k, (size_t)n, k, (size_t)n, 0), h),
			     0);
		if (i % 1000 == 0)
			kvmap_quiescent();
	}
	cr_assert_eq(kvmap_kvsd_buckets(m), reserved, "migrated to %zu buckets",
		     kvmap_kvsd_buckets(m));
	cr_assert_eq(kvmap_count(m), 100000);
	for (int i = 0; i < 100000; i++)
		cr_assert_not_null(getf("r:%d", i), "r:%d lost", i);
	{
		struct kv_entry *dup = mkf("r:%d", 7);

		cr_assert_eq(kvmap_insert_hashed(m, dup, kvmap_hash("r:7", 3)), -EEXIST);
		kv_entry_free(dup);
	}
	kvmap_quiescent();
}

Test(kvsd, churn_purges_tombstones_without_growing)
{
	/* 200 live keys, 100000 distinct insert/delete pairs: tombstones fill
	 * the table unless same-size rehashes purge them. */
	for (int i = 0; i < 200; i++)
		kvmap_insert(m, mkf("live:%d", i), NULL);
	for (int i = 0; i < 100000; i++) {
		cr_assert_eq(kvmap_insert(m, mkf("c:%d", i), NULL), 0);
		cr_assert_eq(kvmap_remove(m, getf("c:%d", i)), 0);
		if (i % 1000 == 0)
			kvmap_quiescent();
	}
	cr_expect_leq(kvmap_kvsd_buckets(m), 128, "%zu buckets", kvmap_kvsd_buckets(m));
	cr_expect_eq(kvmap_count(m), 200);
	for (int i = 0; i < 200; i++)
		cr_assert_not_null(getf("live:%d", i));
}

static void count_visit(const struct kv_entry *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
}

struct hits {
	unsigned char h[5000];
};

static void hit_visit(const struct kv_entry *e, void *arg)
{
	struct hits *h = arg;
	char k[32];
	int i;

	memcpy(k, kv_entry_key(e), e->klen);
	k[e->klen] = 0;
	if (sscanf(k, "h:%d", &i) == 1)
		h->h[i]++;
}

Test(kvsd, half_done_migration)
{
	for (int i = 0; i < 5000; i++)
		kvmap_insert(m, mkf("h:%d", i), NULL);
	size_t nb = kvmap_kvsd_buckets(m);
	cr_assert_geq(nb, 512, "need several chunks; have %zu buckets", nb);

	/* Grow: copy one chunk of several, leave the rest. */
	kvmap_kvsd_migrate_partial(m, nb * 2, 1);
	cr_expect_eq(kvmap_kvsd_buckets(m), nb, "not published yet");
	for (int i = 0; i < 5000; i++)
		cr_assert_not_null(getf("h:%d", i), "h:%d invisible mid-migration", i);
	cr_expect_null(getf("h:%d", 5000));

	/* A scan over the half-migrated table sees every key. */
	static struct hits h;
	uint64_t cur = 0;
	do
		cur = kvmap_scan(m, cur, 37, hit_visit, &h);
	while (cur);
	for (int i = 0; i < 5000; i++)
		cr_assert_geq(h.h[i], 1, "h:%d missed by scan mid-migration", i);

	/* A writer helps the migration to its end, then writes the new table. */
	const struct kv_entry *old = getf("h:%d", 7);
	cr_expect_eq(kvmap_replace(m, old, mkf("h:%d", 7)), 0);
	cr_expect_eq(kvmap_kvsd_buckets(m), nb * 2);
	cr_expect_neq(getf("h:%d", 7), old);
	cr_expect_eq(kvmap_remove(m, getf("h:%d", 8)), 0);
	cr_expect_null(getf("h:%d", 8));
	cr_expect_eq(kvmap_count(m), 4999);

	/* Shrink half-done, then a delete finishes it. */
	kvmap_kvsd_migrate_partial(m, nb, 2);
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(getf("h:%d", i) != NULL, i != 8);
	cr_expect_eq(kvmap_insert(m, mkf("h:%d", 8), NULL), 0);
	cr_expect_eq(kvmap_kvsd_buckets(m), nb);
	for (int i = 0; i < 5000; i++)
		cr_assert_not_null(getf("h:%d", i));
	kvmap_quiescent();
}

Test(kvsd, scan_is_bounded_by_count)
{
	size_t n = 0;

	for (int i = 0; i < 20000; i++)
		kvmap_insert(m, mkf("s:%d", i), NULL);
	uint64_t cur = kvmap_scan(m, 0, 10, count_visit, &n);
	cr_expect_neq(cur, 0);
	cr_expect_leq(n, 40, "one call visited %zu", n);
	/* Mostly empty table: the empty-bucket budget ends the call. */
	kvmap_clear(m);
	kvmap_insert(m, mkf("s:%d", 1), NULL);
	n = 0;
	(void)kvmap_scan(m, 0, 1, count_visit, &n);
	cr_expect_leq(n, 1);
	/* KEYS-style: one call with an unbounded count sees everything. */
	n = 0;
	cr_expect_eq(kvmap_scan(m, 0, SIZE_MAX, count_visit, &n), 0);
	cr_expect_eq(n, 1);
}

/* ---- tables of any size (kvmap_kvsd.c, "Table size"). */

#define ODD_KEYS 3000

struct odd_hits {
	unsigned char h[ODD_KEYS];
	uint64_t stripe;
	unsigned bits;
	int bad;
};

static void odd_visit(const struct kv_entry *e, void *arg)
{
	struct odd_hits *o = arg;
	char k[32];
	int i;

	memcpy(k, kv_entry_key(e), e->klen);
	k[e->klen] = 0;
	if (sscanf(k, "o:%d", &i) == 1 && i >= 0 && i < ODD_KEYS)
		o->h[i]++;
	else
		o->bad = 1;
}

static void odd_stripe_visit(const struct kv_entry *e, uint64_t hash, void *arg)
{
	struct odd_hits *o = arg;

	if (kvmap_stripe_of(hash, o->bits) != o->stripe || hash != kv_entry_hash(e))
		o->bad = 1;
	odd_visit(e, arg);
}

/* Moves m to a table of exactly nb buckets (every chunk copied, published). */
static void migrate_to(size_t nb)
{
	/* every chunk of the current table (256 buckets each) */
	kvmap_kvsd_migrate_partial(m, nb, kvmap_kvsd_buckets(m) / 256 + 1);
	cr_assert_eq(kvmap_kvsd_buckets(m), nb);
	kvmap_quiescent();
}

/* SCAN's cursor is a position of the hash order (reversed: small), so it
 * survives a table of any size replacing the one it came from, by any
 * factor, growing or shrinking (including a table whose last bucket's run
 * wraps to bucket 0); and a stripe walk visits each key of its stripe once
 * in a table of any size, with fewer or more stripes than buckets. */
Test(kvsd, scan_and_stripe_walk_over_tables_of_any_size)
{
	static const size_t sizes[] = {1000, 509, 2999, 613, 4001, 383, 777, 64};
	static struct odd_hits o;
	uint64_t cur = 0;
	size_t calls = 0;

	for (int i = 0; i < ODD_KEYS; i++)
		cr_assert_eq(kvmap_insert(m, mkf("o:%d", i), NULL), 0);
	migrate_to(777);
	do {
		cur = kvmap_scan(m, cur, 40, odd_visit, &o);
		/* below 2^k for tables of at most 2^k buckets (4001: k = 12), as
		 * Redis's are: clients parse cursors as doubles */
		cr_assert_lt(cur, 4096, "cursor %llu", (unsigned long long)cur);
		migrate_to(sizes[calls++ % (sizeof(sizes) / sizeof(sizes[0]) - 1)]);
	} while (cur && calls < 100000);
	cr_assert_eq(cur, 0, "the scan did not end");
	cr_assert_eq(o.bad, 0);
	for (int i = 0; i < ODD_KEYS; i++)
		cr_assert_geq(o.h[i], 1, "o:%d missed by a scan across table sizes", i);

	static const unsigned bits[] = {0, 1, 5, 9};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		if (sizes[s] * 8 < ODD_KEYS + ODD_KEYS / 4)
			continue; /* too small to hold them */
		migrate_to(sizes[s]);
		for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
			memset(&o, 0, sizeof(o));
			o.bits = bits[b];
			size_t n = 0;
			for (o.stripe = 0; o.stripe < (1ull << bits[b]); o.stripe++)
				n += kvmap_walk_stripe(m, 0, o.stripe, bits[b], odd_stripe_visit,
						       &o);
			cr_assert_eq(n, ODD_KEYS, "%zu buckets, %u bits: %zu visits", sizes[s],
				     bits[b], n);
			cr_assert_eq(o.bad, 0);
			for (int i = 0; i < ODD_KEYS; i++)
				cr_assert_eq(o.h[i], 1, "o:%d: %u visits (%zu buckets, %u bits)", i,
					     o.h[i], sizes[s], bits[b]);
		}
	}
	/* an empty key space's walk visits nothing */
	cr_assert_eq(kvmap_walk_stripe(m, 3, 0, 0, odd_stripe_visit, &o), 0);
}

/* ---- differential test against cds_lfht. */

#define DIFF_KEYS 512
#define DIFF_OPS  200000

struct keyset {
	unsigned char in[DIFF_KEYS];
	int bad;
};

static int key_index(const struct kv_entry *e)
{
	char k[32];
	int i;

	memcpy(k, kv_entry_key(e), e->klen);
	k[e->klen] = 0;
	return sscanf(k, "d:%d", &i) == 1 ? i : -1;
}

static void set_visit(const struct kv_entry *e, void *arg)
{
	struct keyset *s = arg;
	int i = key_index(e);
	if (i < 0 || s->in[i])
		s->bad = 1; /* a quiet map's full scan visits each key once */
	else
		s->in[i] = 1;
}

static int same_value(const struct kv_entry *a, const struct kv_entry *b)
{
	if (!a || !b)
		return a == b;
	return a->vlen == b->vlen && kv_entry_expire(a) == kv_entry_expire(b) &&
	       memcmp(kv_entry_val(a), kv_entry_val(b), a->vlen) == 0;
}

Test(kvsd, differential_against_cds_lfht)
{
	struct kvmap *u = kvmap_create(KVMAP_URCU, 0);
	struct kvmap *k;
	uint64_t rng = 0x1234567;
	char key[32], val[32];

	/* Entries need the URCU prefix while u exists; kvsd's map accepts both. */
	kvmap_destroy(&m);
	k = kvmap_create(KVMAP_KVSD, 1);
	for (int op = 0; op < DIFF_OPS; op++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t r = rng >> 33;
		int ki = (int)(r % DIFF_KEYS);
		int kn = snprintf(key, sizeof(key), "d:%d", ki);
		int vn = snprintf(val, sizeof(val), "%d", op);
		uint64_t h = kvmap_hash(key, (size_t)kn);
		const struct kv_entry *gu = kvmap_get(u, key, (size_t)kn, h);
		const struct kv_entry *gk = kvmap_get(k, key, (size_t)kn, h);
		cr_assert(same_value(gu, gk), "op %d: get %s differs", op, key);
		switch ((r >> 20) % 6) {
		case 0: { /* insert */
			struct kv_entry *eu = kv_entry_new(key, kn, val, vn, op);
			struct kv_entry *ek = kv_entry_new(key, kn, val, vn, op);
			int ru = kvmap_insert(u, eu, NULL), rk = kvmap_insert(k, ek, NULL);
			cr_assert_eq(ru, rk, "op %d: insert %s: %d vs %d", op, key, ru, rk);
			if (ru) {
				kv_entry_free(eu);
				kv_entry_free(ek);
			}
			break;
		}
		case 1: { /* set */
			int ru = kvmap_set(u, kv_entry_new(key, kn, val, vn, op));
			int rk = kvmap_set(k, kv_entry_new(key, kn, val, vn, op));
			cr_assert_eq(ru, rk, "op %d: set %s", op, key);
			break;
		}
		case 2: { /* replace the current entry (a successful CAS) */
			if (!gu)
				break;
			int ru = kvmap_replace(u, gu, kv_entry_new(key, kn, val, vn, op));
			int rk = kvmap_replace(k, gk, kv_entry_new(key, kn, val, vn, op));
			cr_assert_eq(ru, 0);
			cr_assert_eq(rk, 0);
			/* ...and a stale one now fails on both */
			struct kv_entry *xu = kv_entry_new(key, kn, "x", 1, 0);
			struct kv_entry *xk = kv_entry_new(key, kn, "x", 1, 0);
			cr_assert_eq(kvmap_replace(u, gu, xu), -EAGAIN);
			cr_assert_eq(kvmap_replace(k, gk, xk), -EAGAIN);
			kv_entry_free(xu);
			kv_entry_free(xk);
			break;
		}
		case 3:
		case 4: { /* remove (twice as likely, so the maps shrink too) */
			if (!gu)
				break;
			cr_assert_eq(kvmap_remove(u, gu), 0);
			cr_assert_eq(kvmap_remove(k, gk), 0);
			cr_assert_eq(kvmap_remove(k, gk), -ENOENT);
			break;
		}
		case 5:
			if (r % 97 == 0) { /* full scans as sets; occasional maintenance */
				static struct keyset su, sk;
				memset(&su, 0, sizeof(su));
				memset(&sk, 0, sizeof(sk));
				uint64_t c = 0;
				do
					c = kvmap_scan(u, c, 1 + r % 50, set_visit, &su);
				while (c);
				do
					c = kvmap_scan(k, c, 1 + r % 50, set_visit, &sk);
				while (c);
				cr_assert(!su.bad && !sk.bad, "op %d: duplicate in a quiet scan",
					  op);
				cr_assert_eq(memcmp(su.in, sk.in, sizeof(su.in)), 0,
					     "op %d: scans differ", op);
				kvmap_maintain(k);
			}
			cr_assert_eq(kvmap_count(u), kvmap_count(k), "op %d: counts differ", op);
			break;
		}
		if (op % 256 == 0)
			kvmap_quiescent();
	}
	/* Drain to empty: both agree all the way down, and kvsd's table shrinks. */
	for (int ki = 0; ki < DIFF_KEYS; ki++) {
		int kn = snprintf(key, sizeof(key), "d:%d", ki);
		uint64_t h = kvmap_hash(key, (size_t)kn);
		const struct kv_entry *gu = kvmap_get(u, key, (size_t)kn, h);
		const struct kv_entry *gk = kvmap_get(k, key, (size_t)kn, h);
		cr_assert(same_value(gu, gk));
		if (gu) {
			cr_assert_eq(kvmap_remove(u, gu), 0);
			cr_assert_eq(kvmap_remove(k, gk), 0);
		}
	}
	kvmap_maintain(k);
	cr_expect_eq(kvmap_count(k), 0);
	cr_expect_leq(kvmap_kvsd_buckets(k), 16);
	kvmap_destroy(&k);
	kvmap_destroy(&u);
	m = kvmap_create(KVMAP_KVSD, 0);
}
