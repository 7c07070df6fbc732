/*
 * test_mwcas.c — kvmap_mwcas() and the transaction overlay (txn.h): atomic
 * multi-key insert / replace / delete, conflicts that leave the map
 * untouched, compare-only items (present and absent keys), MWCAS across a
 * half-done migration and a growing table, stripe watches, the overlay's
 * read-your-writes and validation, and a short multi-threaded check that
 * readers never see half of an MWCAS (both backends' single-threaded
 * semantics; the concurrent check on kvsd's map only).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"
#include "storage/txn.h"

static struct kvmap *m;

static void init_kvsd(void)
{
	kvmap_setup();
	kvmap_thread_register();
	m = kvmap_create(KVMAP_KVSD, 1);
}

static void init_urcu(void)
{
	kvmap_setup();
	kvmap_thread_register();
	m = kvmap_create(KVMAP_URCU, 1);
}

static void fini(void)
{
	kvmap_destroy(&m);
	kvmap_teardown();
	kvmap_thread_unregister();
}

static struct kv_entry *mk(const char *k, const char *v)
{
	return kv_entry_new(k, strlen(k), v, strlen(v), 0);
}

static const struct kv_entry *get(const char *k)
{
	return kvmap_get(m, k, strlen(k), kvmap_hash(k, strlen(k)));
}

static int val_is(const char *k, const char *v)
{
	const struct kv_entry *e = get(k);
	return e && e->vlen == strlen(v) && memcmp(kv_entry_val(e), v, e->vlen) == 0;
}

static struct kvmap_mw item(const char *k, const struct kv_entry *old, struct kv_entry *neww,
			    int write)
{
	return (struct kvmap_mw){.key = k,
				 .klen = strlen(k),
				 .hash = kvmap_hash(k, strlen(k)),
				 .old = old,
				 .neww = neww,
				 .write = write};
}

static void basics(void)
{
	struct kvmap_mw it[3] = {item("a", NULL, mk("a", "1"), 1), item("b", NULL, mk("b", "2"), 1),
				 item("c", NULL, NULL, 0)};

	cr_assert_eq(kvmap_mwcas(m, it, 3, NULL, 0), 0);
	cr_expect(val_is("a", "1") && val_is("b", "2") && !get("c"));
	cr_expect_eq(kvmap_count(m), 2);

	/* a stale expectation changes nothing */
	struct kv_entry *na = mk("a", "x"), *nb = mk("b", "y");
	struct kvmap_mw bad[2] = {item("a", get("a"), na, 1), item("b", NULL, nb, 1)};
	cr_expect_eq(kvmap_mwcas(m, bad, 2, NULL, 0), -EAGAIN);
	cr_expect(val_is("a", "1") && val_is("b", "2"));
	kv_entry_free(na);
	kv_entry_free(nb);

	/* replace one, delete one, insert one, compare one */
	cr_assert_eq(kvmap_set(m, mk("d", "4")), 0);
	struct kvmap_mw mix[4] = {item("a", get("a"), mk("a", "10"), 1),
				  item("b", get("b"), NULL, 1), item("c", NULL, mk("c", "3"), 1),
				  item("d", get("d"), NULL, 0)};
	cr_assert_eq(kvmap_mwcas(m, mix, 4, NULL, 0), 0);
	cr_expect(val_is("a", "10") && !get("b") && val_is("c", "3") && val_is("d", "4"));
	cr_expect_eq(kvmap_count(m), 3);

	/* compare-only of an absent key fails once the key exists */
	struct kvmap_mw absent[1] = {item("b", NULL, NULL, 0)};
	cr_expect_eq(kvmap_mwcas(m, absent, 1, NULL, 0), 0);
	cr_assert_eq(kvmap_set(m, mk("b", "5")), 0);
	cr_expect_eq(kvmap_mwcas(m, absent, 1, NULL, 0), -EAGAIN);

	/* watches: a write to the watched key's stripe fails the MWCAS */
	uint64_t hb = kvmap_hash("b", 1);
	struct kvmap_mw_watch w = {.hash = hb, .stripe = kvmap_stripe(m, hb)};
	cr_expect_eq(kvmap_mwcas(m, NULL, 0, &w, 1), 0);
	cr_assert_eq(kvmap_set(m, mk("b", "6")), 1);
	cr_expect_eq(kvmap_mwcas(m, NULL, 0, &w, 1), -EAGAIN);
	/* a failed insert does not touch the stripe (SETNX on an existing key) */
	w.stripe = kvmap_stripe(m, hb);
	struct kv_entry *dup = mk("b", "7");
	cr_expect_eq(kvmap_insert(m, dup, NULL), -EEXIST);
	kv_entry_free(dup);
	cr_expect_eq(kvmap_mwcas(m, NULL, 0, &w, 1), 0);
	/* nor does a read */
	(void)get("b");
	cr_expect_eq(kvmap_mwcas(m, NULL, 0, &w, 1), 0);
	/* the MWCAS bumps the stripes of what it writes */
	struct kvmap_mw wb[1] = {item("b", get("b"), mk("b", "8"), 1)};
	cr_assert_eq(kvmap_mwcas(m, wb, 1, NULL, 0), 0);
	cr_expect_eq(kvmap_mwcas(m, NULL, 0, &w, 1), -EAGAIN);
	/* FLUSHALL touches present keys */
	w.stripe = kvmap_stripe(m, hb);
	(void)kvmap_clear(m);
	cr_expect_eq(kvmap_mwcas(m, NULL, 0, &w, 1), -EAGAIN);
	cr_expect_eq(kvmap_count(m), 0);
}

Test(mwcas_kvsd, basics, .init = init_kvsd, .fini = fini)
{
	basics();
}

Test(mwcas_urcu, basics, .init = init_urcu, .fini = fini)
{
	basics();
}

/* Many absent keys at once: claims in the same buckets, and table growth. */
Test(mwcas_kvsd, many_inserts_and_growth, .init = init_kvsd, .fini = fini)
{
	enum { N = 300 };
	static char keys[N][16];
	struct kvmap_mw it[N];

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(keys[i], sizeof(keys[i]), "k%d-%d", round, i);
			it[i] = item(keys[i], NULL, mk(keys[i], keys[i]), 1);
		}
		cr_assert_eq(kvmap_mwcas(m, it, N, NULL, 0), 0);
		for (int i = 0; i < N; i++)
			cr_assert(val_is(keys[i], keys[i]));
	}
	cr_expect_eq(kvmap_count(m), 4 * N);
	/* delete them all at once, then the table still works */
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(keys[i], sizeof(keys[i]), "k%d-%d", round, i);
			it[i] = item(keys[i], get(keys[i]), NULL, 1);
		}
		cr_assert_eq(kvmap_mwcas(m, it, N, NULL, 0), 0);
	}
	cr_expect_eq(kvmap_count(m), 0);
	cr_expect(!get("k0-0"));
	cr_expect_eq(kvmap_set(m, mk("k0-0", "z")), 0);
	cr_expect(val_is("k0-0", "z"));
}

Test(mwcas_kvsd, across_a_half_done_migration, .init = init_kvsd, .fini = fini)
{
	char k[32];

	for (int i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "m%d", i);
		cr_assert_eq(kvmap_set(m, mk(k, "v")), 0);
	}
	kvmap_kvsd_migrate_partial(m, 4 * kvmap_kvsd_buckets(m), 1);
	struct kvmap_mw it[3] = {item("m1", get("m1"), mk("m1", "w"), 1),
				 item("m2999", get("m2999"), NULL, 1),
				 item("new", NULL, mk("new", "n"), 1)};
	cr_assert_eq(kvmap_mwcas(m, it, 3, NULL, 0), 0);
	cr_expect(val_is("m1", "w") && !get("m2999") && val_is("new", "n"));
	cr_expect_eq(kvmap_count(m), 3000);
	for (int i = 2; i < 2999; i++) {
		snprintf(k, sizeof(k), "m%d", i);
		cr_assert(val_is(k, "v"), "%s", k);
	}
}

static const struct kv_entry *tget(struct kvtxn *t, const char *k)
{
	return kvtxn_get(t, k, strlen(k), kvmap_hash(k, strlen(k)));
}

static bool tval_is(struct kvtxn *t, const char *k, const char *v)
{
	const struct kv_entry *e = tget(t, k);

	return e && e->vlen == strlen(v) && memcmp(kv_entry_val(e), v, e->vlen) == 0;
}

/* The overlay is an explicit object: kvtxn_* act on it, kvmap_* on the map. */
static void overlay(void)
{
	struct kvtxn *t = kvtxn_create(m);
	int64_t ttl = -1;

	cr_assert_eq(kvmap_set(m, mk("x", "1")), 0);
	kvtxn_begin(t, NULL, 0);
	cr_expect(tval_is(t, "x", "1"));
	cr_expect_eq(kvtxn_replace(t, tget(t, "x"), mk("x", "2")), 0);
	cr_expect(tval_is(t, "x", "2")); /* reads its own writes */
	cr_expect_eq(kvtxn_insert(t, mk("y", "1"), NULL), 0);
	cr_expect_eq(kvtxn_count_delta(t), 1);
	cr_expect(val_is("x", "1") && !get("y")); /* nothing is visible outside */
	cr_expect_eq(kvtxn_commit(t, &ttl), 0);
	cr_expect_eq(ttl, 0);
	cr_expect(val_is("x", "2") && val_is("y", "1"));

	/* a conflicting write between read and commit: -EAGAIN, nothing published */
	kvtxn_begin(t, NULL, 0);
	cr_expect(tval_is(t, "x", "2"));
	cr_expect_eq(kvtxn_remove(t, tget(t, "y")), 0);
	cr_assert_eq(kvmap_set(m, mk("x", "3")), 1);
	cr_expect_eq(kvtxn_commit(t, NULL), -EAGAIN);
	cr_expect(val_is("x", "3") && val_is("y", "1"));

	/* watches */
	uint64_t hx = kvmap_hash("x", 1);
	struct kvtxn_watch w = {.key = "x", .klen = 1, .hash = hx, .ptr = get("x")};
	w.stripe = kvmap_stripe(m, hx);
	kvtxn_begin(t, &w, 1);
	cr_expect_eq(kvtxn_set(t, mk("z", "1")), 0);
	cr_expect_eq(kvtxn_commit(t, NULL), 0);
	kvtxn_begin(t, &w, 1);
	cr_assert_eq(kvmap_set(m, mk("x", "4")), 1);
	cr_expect_eq(kvtxn_set(t, mk("z", "2")), 1);
	cr_expect_eq(kvtxn_commit(t, NULL), -ESTALE);
	cr_expect(val_is("z", "1"));
	kvtxn_destroy(&t);
}

Test(mwcas_kvsd, overlay, .init = init_kvsd, .fini = fini)
{
	overlay();
}

Test(mwcas_urcu, overlay, .init = init_urcu, .fini = fini)
{
	overlay();
}

/*
 * Writers set pairs (a_i, b_i) to the same increasing number with one MWCAS;
 * readers read one key of a pair then the other: the second read is never
 * older than the first. Non-atomic pairs fail this in either read order.
 */
enum { PAIRS = 8, WRITERS = 2, READERS = 2 };
static _Atomic int stop;
static _Atomic long violations, commits;

static void pair_keys(int i, char *a, char *b)
{
	snprintf(a, 16, "a%d", i);
	snprintf(b, 16, "b%d", i);
}

static long num(const struct kv_entry *e)
{
	char buf[32];
	size_t n = e->vlen < sizeof(buf) - 1 ? e->vlen : sizeof(buf) - 1;
	memcpy(buf, kv_entry_val(e), n);
	buf[n] = 0;
	return atol(buf);
}

static void *writer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	kvmap_thread_register();
	while (!atomic_load(&stop)) {
		int i = rand_r(&seed) % PAIRS;
		char a[16], b[16], v[32];
		pair_keys(i, a, b);
		const struct kv_entry *ea = get(a), *eb = get(b);
		long n = num(ea) > num(eb) ? num(ea) : num(eb);
		snprintf(v, sizeof(v), "%ld", n + 1);
		struct kvmap_mw it[2] = {item(a, ea, mk(a, v), 1), item(b, eb, mk(b, v), 1)};
		if (kvmap_mwcas(m, it, 2, NULL, 0) == 0)
			atomic_fetch_add(&commits, 1);
		else {
			kv_entry_free(it[0].neww);
			kv_entry_free(it[1].neww);
		}
		/* churn the table so migrations run under the MWCAS */
		snprintf(v, sizeof(v), "junk%d", rand_r(&seed) % 2000);
		const struct kv_entry *j = get(v);
		if (j)
			(void)kvmap_remove(m, j);
		else
			(void)kvmap_set(m, mk(v, "j"));
		kvmap_quiescent();
	}
	kvmap_thread_unregister();
	return NULL;
}

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	kvmap_thread_register();
	while (!atomic_load(&stop)) {
		int i = rand_r(&seed) % PAIRS;
		char a[16], b[16];
		pair_keys(i, a, b);
		int flip = rand_r(&seed) & 1;
		long first = num(get(flip ? a : b));
		long second = num(get(flip ? b : a));
		if (second < first)
			atomic_fetch_add(&violations, 1);
		kvmap_quiescent();
	}
	kvmap_thread_unregister();
	return NULL;
}

Test(mwcas_kvsd, readers_never_see_half, .init = init_kvsd, .fini = fini, .timeout = 30)
{
	pthread_t th[WRITERS + READERS];

	for (int i = 0; i < PAIRS; i++) {
		char a[16], b[16];
		pair_keys(i, a, b);
		kvmap_set(m, mk(a, "0"));
		kvmap_set(m, mk(b, "0"));
	}
	kvmap_thread_offline();
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[WRITERS + i], NULL, reader, (void *)(uintptr_t)(i + 100));
	struct timespec ts = {0, 700 * 1000 * 1000};
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < WRITERS + READERS; i++)
		pthread_join(th[i], NULL);
	kvmap_thread_online();
	cr_expect_eq(atomic_load(&violations), 0);
	cr_expect_gt(atomic_load(&commits), 100);
	for (int i = 0; i < PAIRS; i++) {
		char a[16], b[16];
		pair_keys(i, a, b);
		cr_expect_eq(num(get(a)), num(get(b)));
	}
}
