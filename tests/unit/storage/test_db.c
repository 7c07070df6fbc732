/*
 * test_db.c — the db layer's views and transactions (storage/db.h): the
 * plain and transactional views give the same answers, a transaction's
 * writes stay private until its commit, read-only attempts are validated
 * (also for keys that were absent), conflicts are reported, and after
 * DB_TXN_OPTIMISTIC failed attempts the next one runs exclusively: a
 * writer on another thread waits for its commit, which cannot fail.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "storage/db.h"

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

static struct kv_entry *mk(const char *k, const char *v)
{
	return kv_entry_new(k, strlen(k), v, strlen(v), 0);
}

static bool val_is(const struct kv_entry *e, const char *v)
{
	return e && e->vlen == strlen(v) && memcmp(kv_entry_val(e), v, e->vlen) == 0;
}

/* Sets k to v through view v (the commands' CAS loop). */
static void put(const struct db_view *v, const char *k, const char *val)
{
	struct kv_entry *e = mk(k, val);

	while (db_put(v, look(v, k), e) != 0)
		;
}

Test(db, views, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);
	struct db_txn *t = db_txn_create(db);

	cr_expect(!db_in_txn(p));
	put(p, "a", "1");
	const struct db_view *v = db_txn_begin(t, NULL, 0, false);
	cr_expect(db_in_txn(v));
	put(v, "a", "2");
	put(v, "b", "1");
	cr_expect(val_is(look(v, "a"), "2") && val_is(look(v, "b"), "1"));
	cr_expect(val_is(look(p, "a"), "1") && !look(p, "b")); /* private until commit */
	cr_expect_eq(db_size(v), 2);
	cr_expect_eq(db_size(p), 1);
	cr_expect_eq(db_txn_commit(t), 0);
	cr_expect(val_is(look(p, "a"), "2") && val_is(look(p, "b"), "1"));
	db_txn_destroy(&t);
}

Test(db, read_only_validation, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);
	struct db_txn *t = db_txn_create(db);
	const struct db_view *v;

	put(p, "x", "1");
	/* nothing changed: commits without a write */
	v = db_txn_begin(t, NULL, 0, false);
	cr_expect(val_is(look(v, "x"), "1") && !look(v, "y"));
	cr_expect_eq(db_txn_commit(t), 0);
	/* a present key replaced meanwhile */
	v = db_txn_begin(t, NULL, 0, false);
	cr_expect(val_is(look(v, "x"), "1"));
	put(p, "x", "2");
	cr_expect_eq(db_txn_commit(t), -EAGAIN);
	/* an absent key created and deleted again meanwhile: same answer
	 * (absent), but not the same state throughout */
	v = db_txn_begin(t, NULL, 0, false);
	cr_expect(!look(v, "y"));
	put(p, "y", "1");
	cr_expect_eq(db_put(p, look(p, "y"), NULL), 0);
	cr_expect(!look(p, "y"));
	cr_expect_eq(db_txn_commit(t), -EAGAIN);
	db_txn_destroy(&t);
}

static atomic_bool writer_done;

static void *writer(void *arg)
{
	(void)arg;
	kvmap_thread_register();
	put(db_plain(db), "k", "writer");
	/* seq_cst: read by the test thread after its commit */
	atomic_store(&writer_done, true);
	kvmap_thread_unregister();
	return NULL;
}

Test(db, bounded_retries_then_exclusive, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);
	struct db_txn *t = db_txn_create(db);
	struct db_stats s;
	pthread_t th;
	int i;

	put(p, "k", "0");
	for (i = 0; i < DB_TXN_OPTIMISTIC; i++) {
		const struct db_view *v = db_txn_begin(t, NULL, 0, false);

		cr_assert(look(v, "k"));
		put(v, "other", "x");
		put(p, "k", "conflict"); /* another writer got there first */
		cr_assert_eq(db_txn_commit(t), -EAGAIN, "attempt %d", i);
	}
	db_get_stats(db, &s);
	cr_expect_eq(s.txn_conflicts, DB_TXN_OPTIMISTIC);
	cr_expect_eq(s.txn_exclusive, 0);

	/* the next attempt runs exclusively: a plain writer waits for it */
	const struct db_view *v = db_txn_begin(t, NULL, 0, false);
	db_get_stats(db, &s);
	cr_expect_eq(s.txn_exclusive, 1);
	atomic_store(&writer_done, false);
	cr_assert_eq(pthread_create(&th, NULL, writer, NULL), 0);
	nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
	cr_expect(!atomic_load(&writer_done), "a writer overlapped an exclusive attempt");
	cr_expect(val_is(look(v, "k"), "conflict"));
	put(v, "k", "txn");
	cr_expect_eq(db_txn_commit(t), 0);
	pthread_join(th, NULL);
	cr_expect(atomic_load(&writer_done));
	cr_expect(val_is(look(p, "k"), "writer")); /* it ran after the commit */

	/* asked for: exclusive from the first attempt, then optimistic again */
	db_txn_begin(t, NULL, 0, true);
	cr_expect_eq(db_txn_commit(t), 0);
	db_txn_begin(t, NULL, 0, false);
	cr_expect_eq(db_txn_commit(t), 0);
	db_get_stats(db, &s);
	cr_expect_eq(s.txn_exclusive, 2);
	db_txn_destroy(&t);
}

/* ---- drop hooks (db.h, "keys the db layer removes by itself") */

static struct {
	bool allow;
	int claims, dones, removed, index;
	char key[16];
} dh;

static bool dh_claim(struct db *d, struct db_drop *x)
{
	(void)d;
	dh.claims++;
	dh.index = x->index;
	memcpy(dh.key, x->key, x->klen < 15 ? x->klen : 15);
	x->state = 7;
	return dh.allow;
}

static void dh_done(struct db *d, struct db_drop *x, bool removed)
{
	(void)d;
	cr_expect_eq(x->state, 7); /* the claim's state reaches done */
	dh.dones++;
	dh.removed += removed;
}

static const struct db_drop_hooks dh_hooks = {.claim = dh_claim, .done = dh_done};

/* A lazy expiry asks the hook first: refused, the key stays in the map
 * (still reported missing) and done is not called; allowed, it is removed
 * and done reports it, with the view's database and the key's bytes. */
Test(db, drop_hooks_lazy_expiry, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);
	struct kv_entry *e = mk("ttl", "v");

	memset(&dh, 0, sizeof(dh));
	e = kv_entry_with_expire(e, 1000);
	cr_assert_eq(db_put(p, NULL, e), 0);
	db_set_drop_hooks(db, &dh_hooks);
	cr_expect_null(db_lookup(p, "ttl", 3, 2000, NULL, 0));
	cr_expect_eq(dh.claims, 1);
	cr_expect_eq(dh.dones, 0);
	cr_expect_eq(db_size(p), 1, "a refused claim removed the key");
	dh.allow = true;
	cr_expect_null(db_lookup(p, "ttl", 3, 2000, NULL, 0));
	cr_expect_eq(dh.claims, 2);
	cr_expect_eq(dh.dones, 1);
	cr_expect_eq(dh.removed, 1);
	cr_expect_eq(dh.index, 0);
	cr_expect_str_eq(dh.key, "ttl");
	cr_expect_eq(db_size(p), 0);
	/* a live key never reaches the hook */
	put(p, "live", "v");
	cr_expect_not_null(look(p, "live"));
	cr_expect_eq(dh.claims, 2);
	db_set_drop_hooks(db, NULL);
}
