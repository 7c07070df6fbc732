/*
 * test_thash.c — the hash value (storage/thash.h): listpack order (updates
 * in place, a re-added field last), lookups, deletes down to an empty hash,
 * Redis 7.0's conversion thresholds from both sides (entries 512/513, a
 * repeated field counted once, strings 64/65 in a field or a value, deletes
 * never converting and a hashtable never going back), configurable limits,
 * a random op sequence against a model (the write plan's index), and the
 * type row: count, foreach, copy (a new lineage), digest (independent of
 * the encoding and order).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "storage/coll.h"
#include "storage/db.h"
#include "db_fixture.h"
#include "storage/thash.h"
#include "server/sha1.h"

static bool real_digest;

/* A stand-in digest (the real one is server/sha1.c): FNV-1a spread over
 * 20 bytes, enough to see the row's mixing is order-independent. */
static void fake_sha1(const void *p, size_t n, uint8_t out[20])
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
	for (int i = 0; i < 20; i++) {
		h = (h ^ (uint64_t)i) * 1099511628211ull;
		out[i] = (uint8_t)(h >> 56);
	}
}

static void setup_types(void)
{
	thash_setup(real_digest ? sha1 : fake_sha1);
}

static void init(void)
{
	db_fixture_open(setup_types);
}

static void fini(void)
{
	db_fixture_close();
}

static const struct kv_entry *look(const char *k)
{
	return db_lookup(&view, k, strlen(k), 0, NULL, 0);
}

/* The commands' CAS loop: ops applied to key k; returns fields added. */
static size_t apply(const char *k, const struct thash_op *ops, size_t n, size_t *removed)
{
	size_t added, rem;

	for (;;) {
		const struct kv_entry *old = look(k);
		struct kv_entry *e =
		    thash_apply(db_coll_ctx(&view), old, k, strlen(k),
				old ? kv_entry_expire(old) : 0, ops, n, &added, &rem);
		if (!e && !old)
			break;
		if (db_put(&view, old, e) == 0)
			break;
		if (e)
			kv_entry_free(e);
	}
	if (removed)
		*removed = rem;
	return added;
}

static size_t set1(const char *k, const char *f, const char *v)
{
	struct thash_op op = {f, strlen(f), v, strlen(v), false};

	return apply(k, &op, 1, NULL);
}

static size_t del1(const char *k, const char *f)
{
	struct thash_op op = {f, strlen(f), NULL, 0, true};
	size_t rem;

	apply(k, &op, 1, &rem);
	return rem;
}

/* n fields f<from>.. with value v<i>, in one write */
static size_t set_range(const char *k, int from, int n)
{
	static char buf[2][1024][16];
	struct thash_op ops[1024];

	cr_assert(n <= 1024);
	for (int i = 0; i < n; i++) {
		snprintf(buf[0][i], 16, "f%d", from + i);
		snprintf(buf[1][i], 16, "v%d", from + i);
		ops[i] = (struct thash_op){buf[0][i], strlen(buf[0][i]), buf[1][i],
					   strlen(buf[1][i]), false};
	}
	return apply(k, ops, (size_t)n, NULL);
}

static enum coll_enc enc(const char *k)
{
	const struct kv_entry *e = look(k);

	cr_assert(e != NULL);
	cr_assert_eq(kv_entry_type(e), KV_HASH);
	return coll_entry_enc(e);
}

static bool get(const char *k, const char *f, char *out, size_t cap)
{
	const char *v;
	size_t vlen;
	const struct kv_entry *e = look(k);

	if (!e || !thash_get(e, f, strlen(f), &v, &vlen))
		return false;
	cr_assert(vlen < cap);
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return true;
}

/* The fields in iteration order, joined by ',' */
static void order(const char *k, char *out, size_t cap)
{
	struct thash_iter it;
	struct pt_elem el;
	size_t n = 0;

	out[0] = '\0';
	thash_iter_init(&it, look(k));
	while (thash_iter_next(&it, &el)) {
		cr_assert(n + el.alen + 2 < cap);
		if (n)
			out[n++] = ',';
		memcpy(out + n, el.a, el.alen);
		n += el.alen;
		out[n] = '\0';
	}
}

Test(thash, listpack_order_updates_deletes, .init = init, .fini = fini)
{
	char buf[256];

	cr_expect_eq(set1("h", "a", "1"), 1);
	cr_expect_eq(set1("h", "b", "2"), 1);
	cr_expect_eq(set1("h", "c", "3"), 1);
	cr_expect_eq(set1("h", "a", "10"), 0); /* update: stays first */
	order("h", buf, sizeof(buf));
	cr_expect_str_eq(buf, "a,b,c");
	cr_expect(get("h", "a", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "10");
	cr_expect_not(get("h", "zz", buf, sizeof(buf)));
	cr_expect_eq(del1("h", "a"), 1);
	cr_expect_eq(del1("h", "a"), 0);
	cr_expect_eq(set1("h", "a", "again"), 1); /* re-added: last */
	order("h", buf, sizeof(buf));
	cr_expect_str_eq(buf, "b,c,a");
	cr_expect_eq(thash_count(look("h")), 3);
	cr_expect_eq(enc("h"), COLL_LISTPACK);
	struct pt_elem el;
	cr_expect(thash_at(look("h"), 2, &el) && el.alen == 1 && el.a[0] == 'a');
	/* empty strings are fields and values like any other */
	cr_expect_eq(set1("h", "", ""), 1);
	cr_expect(get("h", "", buf, sizeof(buf)) && buf[0] == '\0');
	/* one command: delete then re-add inside it moves the field last */
	struct thash_op ops[] = {{"b", 1, NULL, 0, true},
				 {"b", 1, "B", 1, false},
				 {"x", 1, "1", 1, false},
				 {"x", 1, "2", 1, false}};
	size_t rem;
	cr_expect_eq(apply("h", ops, 4, &rem), 2);
	cr_expect_eq(rem, 1);
	order("h", buf, sizeof(buf));
	cr_expect_str_eq(buf, "c,a,,b,x");
	cr_expect(get("h", "x", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "2");
	/* deleting every field deletes the key */
	struct thash_op all[] = {{"c", 1, NULL, 0, true}, {"a", 1, NULL, 0, true},
				 {"", 0, NULL, 0, true},  {"b", 1, NULL, 0, true},
				 {"x", 1, NULL, 0, true}, {"nope", 4, NULL, 0, true}};
	apply("h", all, 6, &rem);
	cr_expect_eq(rem, 5);
	cr_expect_null(look("h"));
}

Test(thash, entries_threshold, .init = init, .fini = fini)
{
	cr_expect_eq(set_range("a", 0, 512), 512);
	cr_expect_eq(enc("a"), COLL_LISTPACK);
	cr_expect_eq(set1("a", "f0", "updated"), 0); /* an update adds nothing */
	cr_expect_eq(enc("a"), COLL_LISTPACK);
	cr_expect_eq(set1("a", "new", "x"), 1); /* the 513th field */
	cr_expect_eq(enc("a"), COLL_HASHTABLE);
	cr_expect_eq(thash_count(look("a")), 513);
	char buf[64];
	cr_expect(get("a", "f0", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "updated");
	cr_expect(get("a", "f511", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "v511");
	/* deletes never convert back */
	for (int i = 0; i < 512; i++) {
		snprintf(buf, sizeof(buf), "f%d", i);
		cr_expect_eq(del1("a", buf), 1);
	}
	cr_expect_eq(enc("a"), COLL_HASHTABLE);
	cr_expect_eq(thash_count(look("a")), 1);
	cr_expect_eq(del1("a", "new"), 1);
	cr_expect_null(look("a"));

	cr_expect_eq(set_range("b", 0, 511), 511);
	cr_expect_eq(enc("b"), COLL_LISTPACK);
	cr_expect_eq(set_range("c", 0, 513), 513);
	cr_expect_eq(enc("c"), COLL_HASHTABLE);
	/* a field repeated in one write counts once */
	struct thash_op rep[600];
	for (int i = 0; i < 600; i++)
		rep[i] = (struct thash_op){"same", 4, "v", 1, false};
	cr_expect_eq(apply("d", rep, 600, NULL), 1);
	cr_expect_eq(enc("d"), COLL_LISTPACK);
}

Test(thash, length_threshold, .init = init, .fini = fini)
{
	char s64[65], s65[66];

	memset(s64, 'x', 64);
	s64[64] = '\0';
	memset(s65, 'y', 65);
	s65[65] = '\0';
	set1("f64", s64, "v");
	cr_expect_eq(enc("f64"), COLL_LISTPACK);
	set1("v64", "f", s64);
	cr_expect_eq(enc("v64"), COLL_LISTPACK);
	set1("f65", "a", "1");
	set1("f65", s65, "v");
	cr_expect_eq(enc("f65"), COLL_HASHTABLE);
	cr_expect_eq(thash_count(look("f65")), 2);
	set1("v65", "a", "1");
	set1("v65", "b", s65);
	cr_expect_eq(enc("v65"), COLL_HASHTABLE);
	char buf[128];
	cr_expect(get("v65", "a", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "1");
	/* deleting a long field name is no write of a long string */
	set1("d", "a", "1");
	cr_expect_eq(del1("d", s65), 0);
	cr_expect_eq(enc("d"), COLL_LISTPACK);
	/* a long value in the middle of a write converts the whole write */
	struct thash_op ops[] = {
	    {"p", 1, "1", 1, false}, {"q", 1, s65, 65, false}, {"r", 1, "3", 1, false}};
	cr_expect_eq(apply("m", ops, 3, NULL), 3);
	cr_expect_eq(enc("m"), COLL_HASHTABLE);
}

Test(thash, configured_limits, .init = init, .fini = fini)
{
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 2);
	coll_set_limit(COLL_HASH_MAX_VALUE, 3);
	set1("h", "a", "123");
	set1("h", "b", "2");
	cr_expect_eq(enc("h"), COLL_LISTPACK);
	set1("h", "c", "3");
	cr_expect_eq(enc("h"), COLL_HASHTABLE);
	set1("g", "abcd", "1");
	cr_expect_eq(enc("g"), COLL_HASHTABLE);
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 0);
	set1("z", "a", "1");
	cr_expect_eq(enc("z"), COLL_HASHTABLE);
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 512);
	coll_set_limit(COLL_HASH_MAX_VALUE, 64);
}

/* Random writes of up to 40 ops over 150 fields (listpack, with every op
 * kind in one write) and over 800 fields (hashtable) against a model: an
 * insertion-ordered array. */
Test(thash, random_against_model, .init = init, .fini = fini)
{
	enum { F = 800 };
	static char names[F][8], vals[64][8];
	static int mval[2][F];	  /* -1 absent */
	static long morder[2][F]; /* insertion stamp */
	long stamp = 0;
	uint64_t rng = 88172645463325252ull;

	for (int i = 0; i < F; i++)
		snprintf(names[i], 8, "k%d", i);
	for (int i = 0; i < 64; i++)
		snprintf(vals[i], 8, "%d", i);
	memset(mval, 0xff, sizeof(mval));
	for (int round = 0; round < 400; round++) {
		int w = round & 1, space = w ? F : 150;
		const char *key = w ? "big" : "small";
		struct thash_op ops[40];
		int n = 1 + (int)((rng >> 33) % 40);

		for (int i = 0; i < n; i++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			int f = (int)((rng >> 20) % (uint64_t)space), v = (int)(rng % 64);
			bool del = (rng >> 50) % 3 == 0;
			ops[i] = (struct thash_op){names[f], strlen(names[f]), del ? NULL : vals[v],
						   del ? 0 : strlen(vals[v]), del};
			if (del) {
				mval[w][f] = -1;
			} else {
				if (mval[w][f] < 0)
					morder[w][f] = stamp++;
				mval[w][f] = v;
			}
		}
		apply(key, ops, (size_t)n, NULL);
		const struct kv_entry *e = look(key);
		size_t cnt = 0;
		for (int f = 0; f < space; f++)
			cnt += mval[w][f] >= 0;
		cr_assert_eq(e ? thash_count(e) : 0, cnt, "round %d", round);
		if (!e)
			continue;
		if (!w)
			cr_assert_eq(coll_entry_enc(e), COLL_LISTPACK);
		struct thash_iter it;
		struct pt_elem el;
		long last = -1;
		thash_iter_init(&it, e);
		while (thash_iter_next(&it, &el)) {
			int f = 0;
			for (size_t k = 1; k < el.alen; k++) /* not NUL-terminated */
				f = f * 10 + (el.a[k] - '0');
			cr_assert_lt(f, space);
			cr_assert(mval[w][f] >= 0);
			cr_assert_eq((int)el.blen, (int)strlen(vals[mval[w][f]]));
			cr_assert(memcmp(el.b, vals[mval[w][f]], el.blen) == 0);
			if (!w) { /* listpack: insertion order */
				cr_assert_gt(morder[w][f], last, "round %d", round);
				last = morder[w][f];
			}
		}
	}
}

static void count_cb(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	(void)a, (void)alen, (void)b, (void)blen;
	++*(size_t *)arg;
}

Test(thash, row_copy_digest, .init = init, .fini = fini)
{
	const struct coll_type_ops *ops = coll_ops(KV_HASH);
	unsigned char d1[20], d2[20], d3[20];
	size_t n = 0;

	cr_assert(ops != NULL);
	cr_expect_str_eq(ops->name, "hash");
	set_range("lp", 0, 100);
	/* the same fields in another order, as a hashtable */
	for (int i = 99; i >= 0; i--)
		set_range("ht", i, 1);
	set1("ht", "zzz", "1");
	del1("ht", "zzz");
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 10);
	set_range("ht2", 0, 100);
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 512);
	cr_assert_eq(enc("ht2"), COLL_HASHTABLE);
	ops->digest(look("lp"), d1);
	ops->digest(look("ht2"), d2);
	ops->digest(look("ht"), d3);
	cr_expect(memcmp(d1, d2, 20) == 0);
	cr_expect(memcmp(d1, d3, 20) == 0);
	set1("ht2", "f5", "changed");
	ops->digest(look("ht2"), d2);
	cr_expect(memcmp(d1, d2, 20) != 0);
	cr_expect_eq(ops->count(look("ht2")), 100);
	ops->foreach (look("ht2"), count_cb, &n);
	cr_expect_eq(n, 100);
	cr_expect_gt(ops->memory(look("ht2"), 0), 0);

	/* COPY: a deep copy with a new lineage; writes to either leave the
	 * other alone */
	const struct kv_entry *src = look("ht2");
	struct kv_entry *c = ops->copy(db_coll_ctx(&view), src, "cp", 2, 0);
	cr_expect_neq(coll_big_of(c)->lineage, coll_big_of(src)->lineage);
	cr_assert_eq(db_put(&view, NULL, c), 0);
	set1("cp", "f6", "mine");
	char buf[32];
	cr_expect(get("ht2", "f6", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "v6");
	cr_expect(get("cp", "f5", buf, sizeof(buf)));
	cr_expect_str_eq(buf, "changed");
	struct kv_entry *lc = ops->copy(db_coll_ctx(&view), look("lp"), "lc", 2, 0);
	cr_assert_eq(db_put(&view, NULL, lc), 0);
	ops->digest(look("lc"), d2);
	cr_expect(memcmp(d1, d2, 20) == 0);
}

static void init_real(void)
{
	real_digest = true;
	init();
}

/* With the real SHA-1: Redis 7.0.15's DEBUG DIGEST-VALUE of
 * HSET dg a 1 bb hello c -42 "" "" is 6836db6d...: the type mixed in
 * (mix(0, htonl(OBJ_HASH)) = SHA1(SHA1(00 00 00 04))) xor the row's
 * digest. The same for both encodings. */
Test(thash, digest_matches_redis, .init = init_real, .fini = fini)
{
	static const char *const want = "6836db6d225e831ed4b37eabcccb137c8f894d1d";
	struct thash_op ops[] = {{"a", 1, "1", 1, false},
				 {"bb", 2, "hello", 5, false},
				 {"c", 1, "-42", 3, false},
				 {"", 0, "", 0, false}};
	const unsigned char be4[4] = {0, 0, 0, 4};
	uint8_t t[20], d[20];
	char hex[41];

	apply("lp", ops, 4, NULL);
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 1);
	apply("ht", ops, 4, NULL);
	coll_set_limit(COLL_HASH_MAX_ENTRIES, 512);
	cr_assert_eq(enc("lp"), COLL_LISTPACK);
	cr_assert_eq(enc("ht"), COLL_HASHTABLE);
	sha1(be4, 4, t);
	sha1(t, 20, t);
	for (int k = 0; k < 2; k++) {
		thash_digest(look(k ? "ht" : "lp"), d);
		for (int i = 0; i < 20; i++)
			d[i] ^= t[i];
		sha1_hex(d, hex);
		cr_expect_str_eq(hex, want, "%s", k ? "hashtable" : "listpack");
	}
}
