/*
 * test_snap.c — point-in-time snapshots (storage/snap.h): a quiet db's
 * snapshot yields exactly its keys, database by database; counts at the cut;
 * one snapshot per db at a time; writes after the cut (replace, delete,
 * create, lazy and active expiry, transactions, SWAPDB, FLUSHDB, FLUSHALL)
 * leave the snapshot as it was at the cut. And kvmap_walk_stripe (kvmap.h):
 * the stripes of a table, also while it migrates, visit every key once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"
#include "storage/snap.h"

static struct db *db;

static void init(void)
{
	kvmap_setup();
	kvmap_thread_register();
	db = db_create(KVMAP_KVSD);
}

static void init_urcu(void)
{
	kvmap_setup();
	kvmap_thread_register();
	db = db_create(KVMAP_URCU);
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

static void del(const struct db_view *v, const char *k)
{
	while (db_put(v, look(v, k), NULL) != 0)
		;
}

/* The writes after the cut (on their own thread). */
static void *mutate(void *arg)
{
	enum kvmap_backend backend = (enum kvmap_backend)(intptr_t)arg;
	struct db_view v0, v3;
	char k[32];
	bool bad = false;

	kvmap_thread_register();
	db_view_init(db, 0, &v0);
	db_view_init(db, 3, &v3);
	put(&v0, "replaced", "new", 0);
	del(&v0, "deleted");
	put(&v0, "created", "new", 0);
	if (db_lookup(&v0, "expires", 7, 2000, NULL, 0)) /* lazy expiry */
		bad = true;
	/* active expiry */
	for (int i = 0; i < 50 && db_lookup(&v0, "expires2", 8, 0, NULL, 0); i++)
		db_active_expire(db, 10, 10, 100000);
	if (backend == KVMAP_KVSD && db_lookup(&v0, "expires2", 8, 0, NULL, 0))
		bad = true;
	/* a transaction writes two keys */
	struct db_txn *t = db_txn_create(db);
	const struct db_view *tv;
	do {
		tv = db_txn_begin(t, NULL, 0, false);
		put(tv, "txn", "new", 0);
		put(tv, "txn-created", "new", 0);
	} while (db_txn_commit(t) == -EAGAIN);
	/* an exclusive one */
	do {
		tv = db_txn_begin(t, NULL, 0, true);
		put(tv, "k7", "excl", 0);
		del(tv, "k8");
	} while (db_txn_commit(t) == -EAGAIN);
	db_txn_destroy(&t);
	for (int i = 100; i < 200; i++) { /* a batch of replaces */
		snprintf(k, sizeof(k), "k%d", i);
		put(&v0, k, "later", 0);
	}
	db_swap(&v0, 0, 1);
	db_flush(&v3, false);
	put(&v3, "three", "after", 0);
	db_flush_all(&v0, false);
	put(&v0, "after-flushall", "x", 0);
	kvmap_thread_unregister();
	return (void *)(intptr_t)(bad ? 0 : 1);
}

static void after_cut(enum kvmap_backend backend)
{
	struct db_view v0, v1, v3;
	char k[32], val[32];
	int err;

	db_view_init(db, 0, &v0);
	db_view_init(db, 1, &v1);
	db_view_init(db, 3, &v3);
	for (int i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		put(&v0, k, val, 0);
	}
	put(&v0, "replaced", "cut", 0);
	put(&v0, "deleted", "cut", 0);
	put(&v0, "expires", "cut", 1000); /* expires at 1000 ms */
	put(&v0, "expires2", "cut", 1000);
	put(&v0, "txn", "cut", 0);
	put(&v1, "one", "1", 0);
	put(&v3, "three", "3", 0);
	struct db_snap *s = db_snap_begin(db, &err);
	cr_assert_not_null(s);
	/* the writes run on another thread: the saving thread must not
	 * announce quiescent states (snap.h), which expiry, SWAPDB and FLUSHDB
	 * do while they wait */
	pthread_t th;
	void *ok;
	pthread_create(&th, NULL, mutate, (void *)(intptr_t)backend);
	pthread_join(th, &ok);
	cr_assert_eq((intptr_t)ok, 1, "a check on the writing thread failed");

	struct db_snap_stats st;
	db_snap_stats(s, &st);
	cr_assert_geq(st.records, 4, "records %llu", (unsigned long long)st.records);
	for (int i = 0; i < DB_COUNT_DEFAULT; i++) {
		walk(s, i, &g);
		if (i == 0) {
			cr_assert_eq(g.n, 505, "db 0 yielded %d", g.n);
			cr_assert(has(&g, "replaced=cut"));
			cr_assert(has(&g, "deleted=cut"));
			cr_assert(has(&g, "expires=cut"));
			cr_assert(has(&g, "expires2=cut"));
			cr_assert(has(&g, "txn=cut"));
			cr_assert(has(&g, "k7=v7") && has(&g, "k8=v8") && has(&g, "k150=v150"));
			cr_assert(!has(&g, "created=new"));
		} else if (i == 1) {
			cr_assert_eq(g.n, 1);
			cr_assert(has(&g, "one=1"));
		} else if (i == 3) {
			cr_assert_eq(g.n, 1);
			cr_assert(has(&g, "three=3"));
		} else {
			cr_assert_eq(g.n, 0, "database %d yielded %d", i, g.n);
		}
	}
	db_snap_stats(s, &st);
	cr_assert_eq(st.yielded, 507);
	db_snap_end(&s);
	/* the map now: only what was written after the FLUSHALL */
	cr_assert(look(&v0, "after-flushall"));
	cr_assert_null(look(&v0, "k1"));
}

Test(snap, writes_after_the_cut_change_nothing, .init = init, .fini = fini)
{
	after_cut(KVMAP_KVSD);
}

Test(snap, writes_after_the_cut_change_nothing_urcu, .init = init_urcu, .fini = fini)
{
	after_cut(KVMAP_URCU);
}

/* Writes after a stripe was saved are not in the snapshot and do not
 * disturb the rest: the walk interleaved with writes, stripe by stripe. */
static int interleave_n;
static struct db_view iv;

static void interleave_fn(void *arg, const struct kv_entry *e)
{
	(void)arg;
	(void)e;
	interleave_n++;
}

Test(snap, writes_between_batches, .init = init, .fini = fini)
{
	char k[32];
	int err, rounds = 0;
	bool more;

	db_view_init(db, 0, &iv);
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		put(&iv, k, "cut", 0);
	}
	struct db_snap *s = db_snap_begin(db, &err);
	do {
		more = db_snap_next(s, 0, interleave_fn, NULL);
		/* between batches: delete some, replace some, add many (the table grows) */
		for (int i = 0; i < 200; i++) {
			snprintf(k, sizeof(k), "k%d", rounds * 200 + i);
			if (i % 2)
				del(&iv, k);
			else
				put(&iv, k, "new", 0);
			snprintf(k, sizeof(k), "n%d-%d", rounds, i);
			put(&iv, k, "new", 0);
		}
		rounds++;
	} while (more);
	cr_assert_eq(interleave_n, 20000, "yielded %d", interleave_n);
	db_snap_end(&s);
}

struct stripe_count {
	unsigned char seen[8192];
	unsigned space;
	uint64_t stripe, bits;
};

static void stripe_fn(const struct kv_entry *e, uint64_t hash, void *arg)
{
	struct stripe_count *c = arg;
	char k[16];

	cr_assert_lt(e->klen, sizeof(k));
	memcpy(k, kv_entry_key(e), e->klen);
	k[e->klen] = 0;
	int i = atoi(k + 1);

	cr_assert_eq(e->space, c->space);
	cr_assert_eq(hash, kv_entry_hash(e));
	cr_assert_eq(kvmap_stripe_of(hash, c->bits), c->stripe);
	c->seen[i]++;
}

static void stripes_once(struct kvmap *m, unsigned bits, int n)
{
	static struct stripe_count c;

	memset(&c, 0, sizeof(c));
	c.space = 5;
	c.bits = bits;
	for (uint64_t st = 0; st < (1ull << bits); st++) {
		c.stripe = st;
		kvmap_walk_stripe(m, 5, st, bits, stripe_fn, &c);
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(c.seen[i], 1, "key %d seen %d times (bits %u)", i, c.seen[i], bits);
}

static void walk_stripe_test(enum kvmap_backend backend)
{
	struct kvmap *m = kvmap_create(backend, 0);
	char k[32];
	const int n = 5000;

	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		struct kv_entry *e = kv_entry_new(k, strlen(k), "v", 1, 0);
		kv_entry_set_space(e, 5);
		cr_assert_eq(kvmap_insert(m, e, NULL), 0);
		e = kv_entry_new(k, strlen(k), "v", 1, 0); /* same bytes, another space */
		kv_entry_set_space(e, 6);
		cr_assert_eq(kvmap_insert(m, e, NULL), 0);
	}
	stripes_once(m, 0, n);
	stripes_once(m, 3, n);
	stripes_once(m, 12, n);
	if (backend == KVMAP_KVSD) {
		/* more stripes than buckets (URCU has none: each of its stripe
		 * walks reads the whole list, 2^16 of them would take seconds) */
		stripes_once(m, 16, n);
		/* half-migrated, to a larger and to a smaller table */
		kvmap_kvsd_migrate_partial(m, kvmap_kvsd_buckets(m) * 4, 2);
		stripes_once(m, 12, n);
		stripes_once(m, 4, n);
	}
	kvmap_destroy(&m);
}

Test(snap, walk_stripe_visits_each_key_once, .init = init, .fini = fini)
{
	walk_stripe_test(KVMAP_KVSD);
}

Test(snap, walk_stripe_visits_each_key_once_urcu, .init = init, .fini = fini)
{
	walk_stripe_test(KVMAP_URCU);
}

Test(snap, walk_stripe_half_shrunk, .init = init, .fini = fini)
{
	struct kvmap *m = kvmap_create(KVMAP_KVSD, 8192);
	char k[32];

	for (int i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		struct kv_entry *e = kv_entry_new(k, strlen(k), "v", 1, 0);
		kv_entry_set_space(e, 5);
		cr_assert_eq(kvmap_insert(m, e, NULL), 0);
	}
	kvmap_kvsd_migrate_partial(m, 1024, 3);
	stripes_once(m, 12, 3000);
	stripes_once(m, 7, 3000);
	kvmap_destroy(&m);
}

/* maxmemory during a save: the garbage a save holds back (entries replaced
 * after the cut) is not live data, so overwriting keys with values of the
 * same size evicts nothing while a snapshot runs. */
static void *overwrite(void *arg)
{
	char k[32], val[256];
	struct db_view v;

	(void)arg;
	kvmap_thread_register();
	db_view_init(db, 0, &v);
	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = 0;
	for (int round = 0; round < 20; round++)
		for (int i = 0; i < 2000; i++) {
			snprintf(k, sizeof(k), "k%d", i);
			val[0] = (char)('a' + round);
			db_check_memory(db, clock_wall_ms());
			put(&v, k, val, 0);
		}
	kvmap_thread_unregister();
	return NULL;
}

Test(snap, overwrites_during_a_save_evict_nothing, .init = init, .fini = fini)
{
	char k[32], val[256];
	struct db_view v;
	pthread_t th;
	int err;

	db_view_init(db, 0, &v);
	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		put(&v, k, val, 0);
	}
	for (int i = 0; i < 50; i++) { /* let garbage of the set-up go */
		kvmap_quiescent();
		kvmap_collect();
	}
	/* the limit: what is used now plus 2 MB; the overwrites below retire
	 * 20 x 2000 x ~300 bytes (~12 MB) that the save holds */
	db_set_memory_policy(db, (long long)mem_used() + (2 << 20), DB_ALLKEYS_RANDOM, 5);
	struct db_snap *s = db_snap_begin(db, &err);
	cr_assert_not_null(s);
	pthread_create(&th, NULL, overwrite, NULL);
	pthread_join(th, NULL);
	struct db_stats st;
	db_get_stats(db, &st);
	cr_assert_eq(st.evicted_keys, 0, "evicted %llu keys during the save",
		     (unsigned long long)st.evicted_keys);
	cr_assert_eq(db_size(&v), 2000);
	db_snap_end(&s);
}
