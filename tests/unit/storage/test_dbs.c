/*
 * test_dbs.c — the sixteen databases' storage primitives: key spaces in the
 * entry and the hash (kvmap.h, "Key spaces"), per-space counts, the
 * database table (db.h: db_view_init, db_swap, db_flush, db_flush_all,
 * db_size_of), transactions across databases (db_view_derive, DBSIZE of a
 * transaction per database), WATCH across SWAPDB, the background purge of
 * dropped key spaces, and the in-place fallback when no space is free.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/db.h"
#include "storage/kvmap.h"

static struct db *db;

static void init(void)
{
	kvmap_setup();
	kvmap_thread_register();
	db = db_create(KVMAP_KVSD);
}

static void fini(void)
{
	db_destroy(&db);
	kvmap_teardown();
	kvmap_thread_unregister();
}

static const struct kv_entry *look(const struct db_view *v, const char *k)
{
	return db_lookup(v, k, strlen(k), 0, NULL, 0);
}

static bool val_is(const struct kv_entry *e, const char *v)
{
	return e && e->vlen == strlen(v) && memcmp(kv_entry_val(e), v, e->vlen) == 0;
}

static void put(const struct db_view *v, const char *k, const char *val)
{
	struct kv_entry *e = kv_entry_new(k, strlen(k), val, strlen(val), 0);

	while (db_put(v, look(v, k), e) != 0)
		;
}

/* Lets grace periods end and the purge run (this is the only thread). */
static void settle(void)
{
	for (int i = 0; i < 50; i++) {
		db_cron(db, 0);
		kvmap_quiescent();
	}
}

Test(dbs, key_spaces_in_the_map, .init = init, .fini = fini)
{
	struct kvmap *m = db_map(db);
	struct kv_entry *a = kv_entry_new("k", 1, "a", 1, 0);
	struct kv_entry *b = kv_entry_new("k", 1, "b", 1, 0);
	uint64_t h3 = kvmap_key_hash(3, "k", 1), h4 = kvmap_key_hash(4, "k", 1);

	cr_expect_eq(kv_hash_space(h3), 3);
	cr_expect_eq(kv_hash_space(kvmap_hash("k", 1)), 0);
	cr_expect_eq(kvmap_hash("k", 1), kvmap_key_hash(0, "k", 1));
	cr_expect_neq(h3 & 0xffffffffffULL, h4 & 0xffffffffffULL, "spaces are salted");
	kv_entry_set_space(a, 3);
	kv_entry_set_space(b, 4);
	cr_expect_eq(kv_entry_hash(a), h3);
	cr_assert_eq(kvmap_insert(m, a, NULL), 0);
	cr_assert_eq(kvmap_insert(m, b, NULL), 0, "the same bytes in another space");
	cr_expect_eq(kvmap_get(m, "k", 1, h3), a);
	cr_expect_eq(kvmap_get(m, "k", 1, h4), b);
	cr_expect_null(kvmap_get(m, "k", 1, kvmap_hash("k", 1)));
	cr_expect_eq(kvmap_count_space(m, 3), 1);
	cr_expect_eq(kvmap_count_space(m, 4), 1);
	cr_expect_eq(kvmap_count_space(m, 0), 0);
	cr_expect_eq(kvmap_remove(m, a), 0);
	cr_expect_eq(kvmap_count_space(m, 3), 0);
	cr_expect_eq(kvmap_get(m, "k", 1, h4), b);
}

Test(dbs, databases_are_separate, .init = init, .fini = fini)
{
	struct db_view v0, v1;

	cr_assert_eq(db_databases(db), DB_COUNT_DEFAULT);
	cr_expect_eq(db_set_databases(db, 0), -EINVAL);
	cr_expect_eq(db_set_databases(db, DB_COUNT_MAX + 1), -EINVAL);
	db_view_init(db, 0, &v0);
	db_view_init(db, 1, &v1);
	put(&v0, "k", "zero");
	put(&v1, "k", "one");
	put(&v1, "only1", "x");
	cr_expect(val_is(look(&v0, "k"), "zero"));
	cr_expect(val_is(look(&v1, "k"), "one"));
	cr_expect_null(look(&v0, "only1"));
	cr_expect_eq(db_size(&v0), 1);
	cr_expect_eq(db_size(&v1), 2);
	cr_expect_eq(db_size_of(db, 1), 2);
	cr_expect_eq(db_size_of(db, 2), 0);
	cr_expect_eq(db_view_index(&v1), 1);
}

Test(dbs, swap_and_flush, .init = init, .fini = fini)
{
	struct db_view v0, v1;

	db_view_init(db, 0, &v0);
	db_view_init(db, 1, &v1);
	put(&v0, "a", "in0");
	put(&v1, "b", "in1");
	cr_expect_eq(db_swap(&v0, 0, 1), 0);
	cr_expect(val_is(look(&v0, "b"), "in1"));
	cr_expect(val_is(look(&v1, "a"), "in0"));
	cr_expect_null(look(&v0, "a"));
	db_flush(&v1, false); /* database 1 (holding "a") */
	cr_expect_null(look(&v1, "a"), "empty at once");
	cr_expect(val_is(look(&v0, "b"), "in1"), "the other database is kept");
	cr_expect_eq(db_size(&v1), 0);
	cr_expect_eq(kvmap_count(db_map(db)), 2, "the old key waits for its purge");
	settle();
	cr_expect_eq(kvmap_count(db_map(db)), 1, "purged after the grace period");
	put(&v1, "c", "new");
	put(&v0, "d", "new");
	db_flush_all(&v0, true);
	cr_expect_eq(db_size(&v0) + db_size(&v1), 0);
	cr_expect_eq(kvmap_count(db_map(db)), 0, "SYNC: purged before it returned");
}

Test(dbs, flush_without_free_spaces_empties_in_place, .init = init, .fini = fini)
{
	struct db_view v;

	db_view_init(db, 5, &v);
	/* no purge runs (no settle): every flush of a non-empty database takes
	 * a fresh space, until none is free; then it must empty in place.
	 * spaces_wait() gives up after its bound only if nothing can be
	 * purged, so this also covers the wait. */
	for (int i = 0; i < 300; i++) {
		put(&v, "k", "v");
		put(&v, "j", "w");
		db_flush(&v, false);
		cr_assert_null(look(&v, "k"), "round %d", i);
		cr_assert_null(look(&v, "j"), "round %d", i);
	}
	settle();
	cr_expect_eq(kvmap_count(db_map(db)), 0);
}

Test(dbs, transaction_across_databases, .init = init, .fini = fini)
{
	struct db_txn *t = db_txn_create(db);
	struct db_view v0, v2, d2;
	const struct db_view *tv;

	db_view_init(db, 0, &v0);
	db_view_init(db, 2, &v2);
	put(&v0, "m", "moved");
	db_txn_select(t, 0);
	tv = db_txn_begin(t, NULL, 0, false);
	db_view_derive(tv, 2, &d2);
	{
		const struct kv_entry *src = look(tv, "m");
		struct kv_entry *e = kv_entry_new("m", 1, "moved", 5, 0);

		cr_assert_not_null(src);
		cr_assert_eq(db_put(tv, src, NULL), 0);
		cr_assert_eq(db_put(&d2, NULL, e), 0);
	}
	cr_expect_eq(db_size(tv), 0, "DBSIZE of db 0 in the attempt");
	cr_expect_eq(db_size(&d2), 1, "DBSIZE of db 2 in the attempt");
	cr_expect(val_is(look(&v0, "m"), "moved"), "private until the commit");
	cr_assert_eq(db_txn_commit(t), 0);
	cr_expect_null(look(&v0, "m"));
	cr_expect(val_is(look(&v2, "m"), "moved"));
	db_txn_destroy(&t);
}

Test(dbs, swap_conflicts_with_an_attempt, .init = init, .fini = fini)
{
	struct db_txn *t = db_txn_create(db);
	struct db_view v0;
	const struct db_view *tv;

	db_view_init(db, 0, &v0);
	db_txn_select(t, 0);
	tv = db_txn_begin(t, NULL, 0, false);
	cr_expect_null(look(tv, "x"));
	/* the attempt resolved database 0 through the table; a SWAPDB now */
	cr_assert_eq(db_swap(&v0, 0, 1), 0);
	put(&v0, "other", "1");
	cr_expect_eq(db_txn_commit(t), -EAGAIN, "a stale table is a conflict");
	/* a SWAPDB inside an optimistic attempt asks for an exclusive one */
	tv = db_txn_begin(t, NULL, 0, false);
	cr_assert_eq(db_swap(tv, 0, 1), 0);
	cr_expect_eq(db_txn_poll(t), -EAGAIN);
	cr_expect_eq(db_txn_commit(t), -EAGAIN);
	tv = db_txn_begin(t, NULL, 0, false); /* runs exclusively */
	cr_assert_eq(db_swap(tv, 0, 1), 0);
	cr_expect_eq(db_txn_poll(t), 0);
	cr_expect(val_is(look(tv, "other"), "1") == false, "db 0 is the old db 1 again");
	cr_expect_eq(db_txn_commit(t), 0);
	cr_expect_null(look(&v0, "other"));
	db_txn_destroy(&t);
}

Test(dbs, watch_across_swapdb, .init = init, .fini = fini)
{
	struct db_txn *t = db_txn_create(db);
	struct db_view v1, v0;
	struct kvtxn_watch w;

	/* a name whose write counter (stripe) differs between the databases:
	 * a write in the same stripe counts as a touch (kvmap.h, 1 in
	 * KVMAP_STRIPES, by the per-process seed), which this test is not about */
	static char k[8];
	struct kvtxn_watch w0;

	db_view_init(db, 0, &v0);
	db_view_init(db, 1, &v1);
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		db_watch(&v1, k, strlen(k), 0, &w);
		put(&v0, k, "probe");
		db_watch(&v1, k, strlen(k), 0, &w0);
		if (w0.stripe == w.stripe)
			break; /* db 0's write left db 1's counter alone */
	}
	put(&v1, k, "v");
	db_watch(&v1, k, strlen(k), 0, &w);
	put(&v0, k, "elsewhere"); /* another database: not a touch */
	db_txn_select(t, 1);
	(void)db_txn_begin(t, &w, 1, false);
	cr_expect_eq(db_txn_commit(t), 0);
	db_watch(&v1, k, strlen(k), 0, &w);
	cr_assert_eq(db_swap(&v0, 0, 1), 0); /* k existed: touched (Redis) */
	db_txn_select(t, 1);
	(void)db_txn_begin(t, &w, 1, false);
	cr_expect_eq(db_txn_commit(t), -ESTALE);
	db_txn_destroy(&t);
}

Test(dbs, flush_in_exclusive_attempts_without_free_spaces, .init = init, .fini = fini)
{
	struct db_txn *t = db_txn_create(db);
	struct db_view v;

	db_view_init(db, 5, &v);
	/* no quiescent state, no cron: dropped spaces are never purged, so
	 * after ~240 flushes none is free and FLUSHDB empties in place,
	 * dropping the attempt's own pending writes of that database */
	for (int i = 0; i < 300; i++) {
		const struct db_view *tv;

		db_txn_select(t, 5);
		tv = db_txn_begin(t, NULL, 0, true);
		put(tv, "k", "before");
		put(tv, "old", "x");
		cr_assert_eq(db_flush(tv, false), 0);
		cr_assert_null(look(tv, "k"), "round %d", i);
		put(tv, "k", "after");
		cr_assert_eq(db_txn_commit(t), 0);
		cr_assert(val_is(look(&v, "k"), "after"), "round %d", i);
		cr_assert_null(look(&v, "old"), "round %d", i);
		cr_assert_eq(db_size(&v), 1, "round %d", i);
	}
	settle();
	cr_expect_eq(kvmap_count(db_map(db)), 1, "only db 5's k is left");
	db_txn_destroy(&t);
}
