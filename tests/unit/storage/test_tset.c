/*
 * test_tset.c — the set type's encodings (storage/tset.h): which members are
 * integers (Redis's string2ll), the intset's widths (upgraded on insert,
 * never narrowed), its ascending order, the conversions to hashtable (past
 * set-max-intset-entries, on a non-integer) and back only through a fresh
 * builder, reads of both encodings, and the per-type row (count, foreach,
 * copy into a new lineage). Entries are published through a db view, as the
 * commands do, so ASan checks the trees' lifetimes too.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "storage/coll.h"
#include "storage/db.h"
#include "db_fixture.h"
#include "storage/tset.h"
#include "server/sha1.h"

static void setup_types(void)
{
	tset_setup(sha1);
}

static void init(void)
{
	db_fixture_open(setup_types);
}

static void fini(void)
{
	db_fixture_close();
}

TestSuite(tset, .init = init, .fini = fini);

static const struct kv_entry *look(const char *k)
{
	return db_lookup(db_plain(db), k, strlen(k), 0, NULL, 0);
}

/* SADD's loop: adds the NUL-terminated members to set k. */
static void sadd(const char *k, const char *const *ms, size_t n)
{
	const struct db_view *v = db_plain(db);

	for (;;) {
		const struct kv_entry *old = look(k);
		struct tset_build b;

		tset_build_from(&b, db_coll_ctx(v), old);
		for (size_t i = 0; i < n; i++)
			tset_build_add(&b, ms[i], strlen(ms[i]));
		struct kv_entry *e = tset_build_entry(&b, k, strlen(k), 0);

		tset_build_done(&b);
		if (db_put(v, old, e) == 0)
			break;
		kv_entry_free(e);
	}
	db_coll_end();
}

static void sadd1(const char *k, const char *m)
{
	sadd(k, &m, 1);
}

static void sadd_ints(const char *k, long long from, long long to)
{
	char buf[32];

	for (long long i = from; i < to; i++) {
		snprintf(buf, sizeof(buf), "%lld", i);
		sadd1(k, buf);
	}
}

static void srem1(const char *k, const char *m)
{
	const struct db_view *v = db_plain(db);
	const struct kv_entry *old = look(k);
	struct tset_build b;

	tset_build_from(&b, db_coll_ctx(v), old);
	cr_assert(tset_build_del(&b, m, strlen(m)));
	struct kv_entry *e = tset_build_count(&b) ? tset_build_entry(&b, k, strlen(k), 0) : NULL;

	tset_build_done(&b);
	cr_assert_eq(db_put(v, old, e), 0);
	db_coll_end();
}

static unsigned width_of(const struct kv_entry *e)
{
	size_t len;

	cr_assert_eq(coll_entry_enc(e), COLL_INTSET);
	return (unsigned char)coll_blob(e, &len)[0];
}

Test(tset, str2ll_is_redis_string2ll)
{
	long long v;
	const char *yes[] = {"0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808"};
	const char *no[] = {"",
			    "-0",
			    "007",
			    "+5",
			    " 1",
			    "1 ",
			    "1e3",
			    "0x10",
			    "-",
			    "9223372036854775808",
			    "-9223372036854775809",
			    "1.0",
			    "00"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(tset_str2ll(yes[i], strlen(yes[i]), &v), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert(!tset_str2ll(no[i], strlen(no[i]), &v), "%s", no[i]);
	cr_assert(tset_str2ll("-9223372036854775808", 20, &v) && v == INT64_MIN);
}

Test(tset, intset_widths_upgrade_and_never_narrow)
{
	sadd1("s", "1");
	cr_assert_eq(width_of(look("s")), 2);
	sadd1("s", "-32768");
	cr_assert_eq(width_of(look("s")), 2);
	sadd1("s", "32768");
	cr_assert_eq(width_of(look("s")), 4);
	sadd1("s", "-2147483649");
	cr_assert_eq(width_of(look("s")), 8);
	/* memory counts: 1 width byte + n * width */
	size_t len;

	coll_blob(look("s"), &len);
	cr_assert_eq(len, 1 + 4 * 8);
	srem1("s", "-2147483649");
	srem1("s", "32768");
	cr_assert_eq(width_of(look("s")), 8); /* as Redis: no downgrade */
	cr_assert_eq(tset_count(look("s")), 2);
	cr_assert(tset_ismember(look("s"), "-32768", 6));
	cr_assert(!tset_ismember(look("s"), "32768", 5));
	cr_assert(!tset_ismember(look("s"), "01", 2));
}

struct collect {
	char buf[4096];
	size_t len;
};

static void collect_fn(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct collect *c = arg;

	(void)b;
	(void)blen;
	memcpy(c->buf + c->len, a, alen);
	c->len += alen;
	c->buf[c->len++] = ' ';
	c->buf[c->len] = '\0';
}

Test(tset, intset_iterates_ascending)
{
	const char *ms[] = {"5", "-3", "100000", "0", "-9223372036854775808", "7", "5"};
	struct collect c = {.len = 0};

	sadd("s", ms, 7);
	cr_assert_eq(tset_count(look("s")), 6);
	coll_ops(KV_SET)->foreach (look("s"), collect_fn, &c);
	cr_assert_str_eq(c.buf, "-9223372036854775808 -3 0 5 7 100000 ");
}

Test(tset, converts_past_the_limit)
{
	long long lim = coll_limit(COLL_SET_MAX_INTSET);

	cr_assert_eq(lim, 512);
	sadd_ints("s", 0, lim);
	cr_assert_eq(coll_entry_enc(look("s")), COLL_INTSET);
	sadd1("s", "0"); /* present: no conversion */
	cr_assert_eq(coll_entry_enc(look("s")), COLL_INTSET);
	sadd_ints("s", lim, lim + 1);
	cr_assert_eq(coll_entry_enc(look("s")), COLL_HASHTABLE);
	cr_assert_eq(tset_count(look("s")), (size_t)lim + 1);
	for (long long i = 0; i <= lim; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", i);
		cr_assert(tset_ismember(look("s"), buf, strlen(buf)));
	}
	/* removals never convert back */
	srem1("s", "0");
	srem1("s", "1");
	cr_assert_eq(coll_entry_enc(look("s")), COLL_HASHTABLE);
	cr_assert_eq(tset_count(look("s")), (size_t)lim - 1);
}

Test(tset, converts_on_a_non_integer)
{
	sadd_ints("s", 0, 10);
	sadd1("s", "-0");
	cr_assert_eq(coll_entry_enc(look("s")), COLL_HASHTABLE);
	cr_assert(tset_ismember(look("s"), "-0", 2));
	cr_assert(tset_ismember(look("s"), "9", 1));
	cr_assert(!tset_ismember(look("s"), "0x", 2));
	sadd1("t", "abc");
	cr_assert_eq(coll_entry_enc(look("t")), COLL_HASHTABLE);
	srem1("s", "-0");
	cr_assert_eq(coll_entry_enc(look("s")), COLL_HASHTABLE);
}

Test(tset, fresh_builder_returns_to_intset)
{
	/* a hashtable of integers copied into a fresh builder (SPOP's case 3,
	 * the S*STORE results) is an intset again when it fits */
	sadd_ints("s", 0, 600);
	cr_assert_eq(coll_entry_enc(look("s")), COLL_HASHTABLE);

	struct tset_src s;
	struct tset_iter it;
	struct tset_build nb;
	const char *m;
	size_t len, n = 0;

	tset_src_of(look("s"), &s);
	tset_build_init(&nb, NULL);
	tset_iter_init(&it, &s, 0);
	while (tset_iter_next(&it, &m, &len) && n++ < 100)
		tset_build_add(&nb, m, len);
	cr_assert(!nb.big);
	cr_assert_eq(tset_build_count(&nb), 100);
	struct kv_entry *e = tset_build_entry(&nb, "d", 1, 0);

	cr_assert_eq(coll_entry_enc(e), COLL_INTSET);
	kv_entry_free(e);
	tset_build_done(&nb);

	/* a private builder that converted frees its tree (ASan: no leak) */
	tset_build_init(&nb, NULL);
	tset_build_add(&nb, "x", 1);
	tset_build_add(&nb, "1", 1);
	cr_assert(nb.big);
	cr_assert(!tset_build_add(&nb, "x", 1));
	cr_assert(tset_build_del(&nb, "1", 1));
	cr_assert_eq(tset_build_count(&nb), 1);
	tset_build_done(&nb);
}

Test(tset, random_and_positions)
{
	char buf[TSET_LL_MAX];
	const char *m;
	size_t len;

	sadd_ints("i", 10, 20);
	sadd_ints("h", 0, 1000);
	for (int i = 0; i < 100; i++) {
		tset_random(look("i"), (uint64_t)i * 7919, buf, &m, &len);
		cr_assert(tset_ismember(look("i"), m, len));
		tset_random(look("h"), (uint64_t)i * 104729, buf, &m, &len);
		cr_assert(tset_ismember(look("h"), m, len));
	}
	struct tset_src s;

	tset_src_of(look("i"), &s);
	tset_src_at(&s, 0, buf, &m, &len);
	cr_assert(len == 2 && memcmp(m, "10", 2) == 0);
	tset_src_at(&s, 9, buf, &m, &len);
	cr_assert(len == 2 && memcmp(m, "19", 2) == 0);
}

Test(tset, copy_is_deep_and_a_new_lineage)
{
	const struct coll_type_ops *ops = coll_ops(KV_SET);
	const struct db_view *v = db_plain(db);

	cr_assert_str_eq(ops->name, "set");
	sadd_ints("h", 0, 700);
	sadd_ints("i", 0, 7);
	const struct kv_entry *h = look("h");
	struct kv_entry *c = ops->copy(db_coll_ctx(v), h, "c", 1, 0);

	cr_assert_neq(coll_big_of(c)->lineage, coll_big_of(h)->lineage);
	cr_assert_eq(db_put(v, NULL, c), 0);
	db_coll_end();
	cr_assert_eq(ops->count(look("c")), 700);
	srem1("h", "5");
	cr_assert(tset_ismember(look("c"), "5", 1));
	cr_assert_eq(ops->count(look("h")), 699);
	cr_assert_gt(ops->memory(look("c"), 0), 0);

	struct kv_entry *ci = ops->copy(db_coll_ctx(v), look("i"), "ci", 2, 0);

	cr_assert_eq(db_put(v, NULL, ci), 0);
	db_coll_end();
	cr_assert_eq(coll_entry_enc(look("ci")), COLL_INTSET);
	cr_assert_eq(ops->count(look("ci")), 7);
	cr_assert_eq(ops->memory(look("ci"), 0), 0);
}

/* DEBUG DIGEST-VALUE = SHA1(SHA1(htonl(OBJ_SET))) xor the row's digest: the
 * figures are redis-server 7.0.15's for the same SADDs. */
static void check_digest(const char *k, const char *want)
{
	uint8_t d[20] = {0}, h[20], be[4] = {0, 0, 0, KV_SET};
	unsigned char part[20];
	char hex[41];

	sha1(be, 4, h);
	for (int i = 0; i < 20; i++)
		d[i] ^= h[i];
	sha1(d, 20, d);
	coll_ops(KV_SET)->digest(look(k), part);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i] ^ part[i]);
	cr_assert_str_eq(hex, want, "%s", k);
}

Test(tset, digest_is_redis_debug_digest_value)
{
	const char *im[] = {"1", "2", "3", "-70000"};
	const char *hm[] = {"a", "b", "1", ""};

	sadd("i", im, 4);
	sadd("h", hm, 4);
	cr_assert_eq(coll_entry_enc(look("i")), COLL_INTSET);
	cr_assert_eq(coll_entry_enc(look("h")), COLL_HASHTABLE);
	check_digest("i", "3f29aef9686ab7640c6e79734f56219f6f27dcac");
	check_digest("h", "32ca885544b2f45e4eddd831da79e6594fd92e64");
}
