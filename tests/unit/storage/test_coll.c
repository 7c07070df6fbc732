/*
 * test_coll.c — typed values' lifetime rules (storage/coll.h): every node of
 * a large value is freed exactly once, whichever way its versions end —
 * published and replaced, deleted, lost a CAS, edited then deleted in one
 * transaction, renamed, aborted. The ASan build (scripts/test.sh) turns a
 * double free into a crash and a forgotten node into a leak report at exit,
 * so these tests check the rules by running them; they also check what
 * readers see (old versions intact while new ones are built).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/coll.h"
#include "storage/db.h"
#include "db_fixture.h"

static void init(void)
{
	db_fixture_open(NULL);
}

static void fini(void)
{
	db_fixture_close();
}

static const struct kv_entry *look(const struct db_view *v, const char *k)
{
	return db_lookup(v, k, strlen(k), 0, NULL, 0);
}

static uint64_t fkey(const char *f)
{
	return kvmap_hash(f, strlen(f));
}

/* Adds fields f<from>..f<to-1> to k's large value (creating it) through v:
 * the commands' CAS loop. */
static void add_fields(const struct db_view *v, const char *k, int from, int to)
{
	for (;;) {
		const struct kv_entry *old = look(v, k);
		uint64_t lin;
		struct pt_edit *ed = coll_edit(db_coll_ctx(v), old, &lin);
		char f[32];

		for (int i = from; i < to; i++) {
			snprintf(f, sizeof(f), "f%d", i);
			struct pt_elem el = {
			    .key = fkey(f), .a = f, .alen = strlen(f), .b = "v", .blen = 1};
			pt_put(ed, 0, &el);
		}
		struct kv_entry *e =
		    coll_new_big(k, strlen(k), KV_HASH, COLL_HASHTABLE, lin, ed->root[0], NULL,
				 old ? kv_entry_expire(old) : 0);
		if (db_put(v, old, e) == 0)
			return;
		kv_entry_free(e);
	}
}

static size_t fields(const struct db_view *v, const char *k)
{
	const struct kv_entry *e = look(v, k);

	if (!e)
		return 0;
	cr_assert_eq(kv_entry_type(e), KV_HASH);
	return pt_count(coll_big_of(e)->root[0]);
}

static bool has(const struct db_view *v, const char *k, const char *f)
{
	const struct kv_entry *e = look(v, k);
	struct pt_elem el;

	return e && pt_get(coll_big_of(e)->root[0], fkey(f), f, strlen(f), &el);
}

static void del(const struct db_view *v, const char *k)
{
	const struct kv_entry *old;

	while ((old = look(v, k)) && db_put(v, old, NULL) != 0)
		;
}

Test(coll, types_and_names, .init = init, .fini = fini)
{
	struct kv_entry *s = kv_entry_new("k", 1, "v", 1, 0);
	struct kv_entry *c = coll_new_compact("k", 1, KV_SET, COLL_INTSET, "\1\2", 2, 0);
	size_t len;

	cr_expect_eq(kv_entry_type(s), KV_STRING);
	cr_expect_str_eq(coll_type_name(s), "string");
	cr_expect_eq(kv_entry_type(c), KV_SET);
	cr_expect_eq(coll_entry_enc(c), COLL_INTSET);
	cr_expect_str_eq(coll_type_name(c), "set");
	cr_expect_str_eq(coll_enc_name(coll_entry_enc(c)), "intset");
	cr_expect(memcmp(coll_blob(c, &len), "\1\2", 2) == 0 && len == 2);
	kv_entry_free(s);
	kv_entry_free(c);
}

/* Every key length gives an 8-aligned struct coll_big, and a clone under
 * another key keeps the lineage and roots. */
Test(coll, big_layout_and_clone, .init = init, .fini = fini)
{
	char key[40];

	for (size_t kl = 0; kl < sizeof(key); kl++) {
		memset(key, 'k', kl);
		struct kv_entry *e =
		    coll_new_big(key, kl, KV_ZSET, COLL_SKIPLIST, 7, NULL, NULL, 0);
		cr_assert_eq((uintptr_t)coll_big_of(e) & 7, 0);
		cr_expect_eq(coll_big_of(e)->lineage, 7);
		struct kv_entry *c = coll_clone(e, "other", 5, 99);
		cr_expect_eq(coll_big_of(c)->lineage, 7);
		cr_expect_eq(kv_entry_type(c), KV_ZSET);
		cr_expect_eq(coll_entry_enc(c), COLL_SKIPLIST);
		cr_expect_eq(kv_entry_expire(c), 99);
		kv_entry_free(c);
		kv_entry_free(e);
	}
}

/* Plain writes: versions replace versions (the replaced nodes retire),
 * an old version read before a write still reads whole, DEL frees the
 * last version's trees. */
Test(coll, plain_versions, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);

	add_fields(p, "h", 0, 2000);
	const struct kv_entry *v1 = look(p, "h");
	add_fields(p, "h", 2000, 2100);
	cr_expect_eq(fields(p, "h"), 2100);
	/* v1 is still readable until this thread's next quiescent state */
	cr_expect_eq(pt_count(coll_big_of(v1)->root[0]), 2000);
	kvmap_quiescent();
	del(p, "h");
	cr_expect_eq(fields(p, "h"), 0);
	add_fields(p, "h2", 0, 5000); /* left for teardown to free */
}

/* A lost CAS drops the edit: its private nodes are freed, the published
 * version is untouched. */
Test(coll, lost_cas, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);

	add_fields(p, "h", 0, 500);
	const struct kv_entry *old = look(p, "h");
	add_fields(p, "h", 500, 501); /* another write wins first (old stays readable)... */
	uint64_t lin;
	struct pt_edit *ed = coll_edit(db_coll_ctx(p), old, &lin);
	struct pt_elem el = {.key = fkey("x"), .a = "x", .alen = 1, .b = "v", .blen = 1};
	pt_put(ed, 0, &el);
	struct kv_entry *e =
	    coll_new_big("h", 1, KV_HASH, COLL_HASHTABLE, lin, ed->root[0], NULL, 0);
	cr_expect_eq(db_put(p, old, e), -EAGAIN); /* ...so this CAS fails */
	kv_entry_free(e);
	cr_expect_eq(fields(p, "h"), 501);
	cr_expect(!has(p, "h", "x"));
	/* an edit never put is dropped at the command's end */
	old = look(p, "h");
	ed = coll_edit(db_coll_ctx(p), old, &lin);
	pt_put(ed, 0, &el);
	db_coll_end();
	cr_expect(!coll_ctx_busy(db_coll_ctx(p)));
	cr_expect(!has(p, "h", "x"));
}

/* Transactions: several edits of one key in one attempt, an edit then a
 * DEL of the same key (the base version's trees are freed once, by its
 * retired hook, not also by the edit), a rename-like move, and an abort. */
Test(coll, transactions, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);
	struct db_txn *t = db_txn_create(db);
	const struct db_view *v;

	add_fields(p, "a", 0, 1000);
	add_fields(p, "b", 0, 1000);
	add_fields(p, "c", 0, 1000);

	v = db_txn_begin(t, NULL, 0, false);
	add_fields(v, "a", 1000, 1010);
	add_fields(v, "a", 1010, 1020); /* the same edit, in place */
	add_fields(v, "b", 1000, 1010);
	del(v, "b"); /* edited, then deleted */
	{	     /* c moves to d: the same lineage under another key */
		const struct kv_entry *c = look(v, "c");
		struct kv_entry *d = coll_clone(c, "d", 1, 0);
		cr_assert_eq(db_put(v, NULL, d), 0);
		cr_assert_eq(db_put(v, c, NULL), 0);
	}
	add_fields(v, "d", 1000, 1001);
	cr_expect_eq(fields(p, "a"), 1000); /* private until the commit */
	cr_expect_eq(db_txn_commit(t), 0);
	cr_expect_eq(fields(p, "a"), 1020);
	cr_expect_eq(fields(p, "b"), 0);
	cr_expect_eq(fields(p, "c"), 0);
	cr_expect_eq(fields(p, "d"), 1001);

	/* an attempt that loses: its edits are dropped, nothing changes */
	v = db_txn_begin(t, NULL, 0, false);
	add_fields(v, "a", 2000, 2100);
	add_fields(p, "a", 3000, 3001); /* a plain write moves a under it */
	cr_expect_eq(db_txn_commit(t), -EAGAIN);
	cr_expect_eq(fields(p, "a"), 1021);
	cr_expect(!has(p, "a", "f2000"));
	db_txn_destroy(&t);
	kvmap_quiescent();
}

/* A large value deleted goes to the background freer; coll_drain waits
 * for it. */
Test(coll, lazyfree, .init = init, .fini = fini)
{
	const struct db_view *p = db_plain(db);

	add_fields(p, "big", 0, 50000);
	del(p, "big");
	for (int i = 0; i < 4; i++) /* grace periods: the retired hook runs */
		kvmap_quiescent();
	kvmap_teardown();
	coll_drain();
	cr_expect_eq(coll_lazyfree_pending(), 0);
}
