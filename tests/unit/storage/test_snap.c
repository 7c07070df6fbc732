/*
 * test_snap.c — point-in-time snapshots (storage/snap.h): a quiet db's
 * snapshot yields exactly its keys, database by database; counts at the cut;
 * one snapshot per db at a time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/snap.h"

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

static void put(const struct db_view *v, const char *k, const char *val, int64_t exp)
{
	struct kv_entry *e = kv_entry_new(k, strlen(k), val, strlen(val), exp);

	while (db_put(v, look(v, k), e) != 0)
		;
}

/* What a database's walk yielded: "key=value" strings, sorted. */
struct got {
	char s[4096][48];
	int n;
};

static void got_fn(void *arg, const struct kv_entry *e)
{
	struct got *g = arg;

	cr_assert_lt(g->n, 4096);
	snprintf(g->s[g->n++], sizeof(g->s[0]), "%.*s=%.*s", (int)e->klen, kv_entry_key(e),
		 (int)e->vlen, kv_entry_val(e));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void walk(struct db_snap *s, int index, struct got *g)
{
	g->n = 0;
	while (db_snap_next(s, index, got_fn, g))
		;
	qsort(g->s, (size_t)g->n, sizeof(g->s[0]), str_cmp);
	for (int i = 1; i < g->n; i++)
		cr_assert_str_neq(g->s[i - 1], g->s[i], "yielded twice: %s", g->s[i]);
}

static bool has(const struct got *g, const char *kv)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->s[i], kv) == 0)
			return true;
	return false;
}

static struct got g;

Test(snap, quiet_db_yields_exactly_its_keys, .init = init, .fini = fini)
{
	struct db_view v0, v3;
	char k[32], val[32];
	int err;

	db_view_init(db, 0, &v0);
	db_view_init(db, 3, &v3);
	for (int i = 0; i < 3000; i++) { /* enough to grow the table a few times */
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		put(&v0, k, val, i % 10 == 0 ? 4000000000000LL : 0);
	}
	put(&v3, "k1", "other", 0);
	put(&v3, "only3", "x", 0);
	struct db_snap *s = db_snap_begin(db, &err);
	cr_assert_not_null(s);
	cr_assert_eq(err, 0);
	cr_assert_eq(db_snap_databases(s), DB_COUNT_DEFAULT);
	cr_assert_eq(db_snap_keys(s, 0), 3000);
	cr_assert_eq(db_snap_expires(s, 0), 300);
	cr_assert_eq(db_snap_keys(s, 3), 2);
	cr_assert_eq(db_snap_keys(s, 1), 0);
	cr_assert_null(db_snap_begin(db, &err));
	cr_assert_eq(err, -EBUSY);
	for (int i = 0; i < DB_COUNT_DEFAULT; i++) {
		walk(s, i, &g);
		if (i == 0) {
			cr_assert_eq(g.n, 3000);
			for (int j = 0; j < 3000; j++) {
				snprintf(k, sizeof(k), "k%d=v%d", j, j);
				cr_assert(has(&g, k), "missing %s", k);
			}
		} else if (i == 3) {
			cr_assert_eq(g.n, 2);
			cr_assert(has(&g, "k1=other") && has(&g, "only3=x"));
		} else {
			cr_assert_eq(g.n, 0, "database %d yielded %d", i, g.n);
		}
	}
	db_snap_end(&s);
	cr_assert_null(s);
	/* a second snapshot after the first ended */
	s = db_snap_begin(db, &err);
	cr_assert_not_null(s);
	db_snap_end(&s);
}
