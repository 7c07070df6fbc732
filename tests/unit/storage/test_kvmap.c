/*
 * test_kvmap.c — single-threaded semantics of the kvmap interface, every
 * test run on both backends (suites kvmap_urcu and kvmap_kvsd through
 * MAP_TEST): entry layout, get/insert/set/replace/remove, count, clear, scan
 * (including its guarantee while the map grows and shrinks between calls),
 * random, and retired bytes going back to zero once the reclaimer has run.
 * Backend-specific tests follow (cds_lfht's equal split-order keys; kvsd's
 * resize both ways, tombstone purge, lookups and scans in a half-done
 * migration) — see test_kvmap_kvsd.c for the latter. Criterion runs each test
 * in its own process, so the process-wide pending-byte counters start at 0.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "concurrency/mem.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"

static struct kvmap *m;
static enum kvmap_backend backend;

static void map_init(void)
{
	kvmap_setup();
	kvmap_thread_register();
	m = kvmap_create(backend, 0);
	cr_assert_not_null(m);
}

static void urcu_init(void)
{
	backend = KVMAP_URCU;
	map_init();
}

static void kvsd_init(void)
{
	backend = KVMAP_KVSD;
	map_init();
}

static void map_fini(void)
{
	kvmap_destroy(&m);
	cr_expect_null(m);
	kvmap_teardown();
	kvmap_thread_unregister();
}

TestSuite(kvmap_urcu, .init = urcu_init, .fini = map_fini);
TestSuite(kvmap_kvsd, .init = kvsd_init, .fini = map_fini);

/* One body, a test in each suite. */
#define MAP_TEST(name)                                                                             \
	static void body_##name(void);                                                             \
	Test(kvmap_urcu, name)                                                                     \
	{                                                                                          \
		body_##name();                                                                     \
	}                                                                                          \
	Test(kvmap_kvsd, name)                                                                     \
	{                                                                                          \
		body_##name();                                                                     \
	}                                                                                          \
	static void body_##name(void)

static struct kv_entry *mk(const char *k, const char *v)
{
	return kv_entry_new(k, strlen(k), v, v ? strlen(v) : 0, 0);
}

static const struct kv_entry *get(const char *k)
{
	return kvmap_get(m, k, strlen(k), kvmap_hash(k, strlen(k)));
}

static struct kv_entry *mkf(const char *fmt, int i)
{
	char k[64];
	snprintf(k, sizeof(k), fmt, i);
	return mk(k, k);
}

static const struct kv_entry *getf(const char *fmt, int i)
{
	char k[64];
	snprintf(k, sizeof(k), fmt, i);
	return get(k);
}

MAP_TEST(entry_layout)
{
	struct kv_entry *e = kv_entry_new("key", 3, "value", 5, 1234);
	cr_expect_eq(sizeof(struct kv_entry), 8);
	cr_expect(e->ttl);
	cr_expect_eq(e->klen, 3);
	cr_expect_eq(e->vlen, 5);
	cr_expect_eq(kv_entry_expire(e), 1234);
	/* The URCU prefix exists exactly while an URCU map does. */
	cr_expect_eq(e->prefix, backend == KVMAP_URCU);
	if (backend == KVMAP_URCU)
		cr_expect_eq(*kv_entry_prefix_hash(e), kvmap_hash("key", 3));
	cr_expect_eq(memcmp(kv_entry_key(e), "key", 3), 0);
	cr_expect_eq(memcmp(kv_entry_val(e), "value", 5), 0);
	cr_expect_eq(kv_entry_key(e) + 3, kv_entry_val(e));
	cr_expect_geq(kv_entry_size(e), sizeof(struct kv_entry) + 3 + 5);
	kv_entry_free(e);

	/* NULL value: the caller fills it (no terminator). */
	e = kv_entry_new("k", 1, NULL, 4, 0);
	memcpy(kv_entry_mutval(e), "abcd", 4);
	cr_expect_eq(memcmp(kv_entry_val(e), "abcd", 4), 0);
	kv_entry_free(e);

	/* Binary-safe, empty key and value. */
	e = kv_entry_new("a\0b", 3, "", 0, 0);
	cr_expect_eq(e->klen, 3);
	cr_expect_eq(e->vlen, 0);
	kv_entry_free(e);

	/* Large lengths survive the 30-bit fields. */
	e = kv_entry_new("k", 1, NULL, (1u << 29) + 3, 0);
	cr_expect_eq(e->vlen, (1u << 29) + 3);
	kv_entry_free(e);
}

/* The expiry word exists only when the entry has a TTL (or an URCU prefix,
 * which ends with it): no TTL, 8 bytes less; kv_entry_with_expire() moves an
 * unpublished entry between the layouts keeping everything else. */
MAP_TEST(entry_ttl_layout)
{
	struct kv_entry *e = kv_entry_new("key", 3, "value", 5, 0);
	struct kv_entry *t = kv_entry_new("key", 3, "value", 5, 77);

	cr_expect_eq(e->ttl, backend == KVMAP_URCU);
	cr_expect_eq(kv_entry_expire(e), 0);
	cr_expect_eq(kv_entry_expire(t), 77);
	if (backend == KVMAP_KVSD)
		cr_expect_eq(mem_usable((char *)t - 8), kv_entry_size(t));
	kv_entry_free(t);

	kv_entry_set_space(e, 5);
	e->enc = KV_ENC_RAW;
	e = kv_entry_with_expire(e, 123); /* gains the word: a copy */
	cr_expect_eq(kv_entry_expire(e), 123);
	cr_expect(e->ttl);
	cr_expect_eq(e->space, 5);
	cr_expect_eq(e->enc, KV_ENC_RAW);
	cr_expect_eq(kv_entry_hash(e), kvmap_key_hash(5, "key", 3));
	cr_expect_eq(memcmp(kv_entry_key(e), "key", 3), 0);
	cr_expect_eq(memcmp(kv_entry_val(e), "value", 5), 0);
	e = kv_entry_with_expire(e, 456); /* in place */
	cr_expect_eq(kv_entry_expire(e), 456);
	e = kv_entry_with_expire(e, 0); /* loses it */
	cr_expect_eq(kv_entry_expire(e), 0);
	cr_expect_eq(e->ttl, backend == KVMAP_URCU);
	cr_expect_eq(e->vlen, 5);
	cr_expect_eq(memcmp(kv_entry_val(e), "value", 5), 0);
	kv_entry_free(e);

	/* ext: the copy takes over the value and its recycle mark */
	char *v = mem_alloc(64);
	memcpy(v, "big", 3);
	e = kv_entry_new_adopt("k", 1, v, 3, 0);
	cr_expect(!kv_entry_recycles(e));
	e = kv_entry_with_expire(e, 9);
	cr_expect(e->ext);
	cr_expect_eq(kv_entry_val(e), v);
	cr_expect_eq(kv_entry_expire(e), 9);
	kv_entry_free(e); /* frees v too (no recycler registered) */
}

MAP_TEST(backend_name)
{
	cr_expect_str_eq(kvmap_backend_name(m), backend == KVMAP_URCU ? "urcu-lfht" : "kvsd");
}

MAP_TEST(insert_get)
{
	struct kv_entry *a = mk("a", "1");
	const struct kv_entry *existing = NULL;

	cr_expect_null(get("a"));
	cr_expect_eq(kvmap_insert(m, a, NULL), 0);
	cr_expect_eq(get("a"), a);
	cr_expect_null(get("b"));

	struct kv_entry *dup = mk("a", "2");
	cr_expect_eq(kvmap_insert(m, dup, &existing), -EEXIST);
	cr_expect_eq(existing, a);
	cr_expect_eq(kvmap_insert(m, dup, NULL), -EEXIST);
	kv_entry_free(dup);
	cr_expect_eq(get("a"), a);
	cr_expect_eq(kvmap_count(m), 1);

	/* Keys that differ only in length or in a NUL byte are distinct. */
	struct kv_entry *b = kv_entry_new("a\0", 2, "x", 1, 0);
	cr_expect_eq(kvmap_insert(m, b, NULL), 0);
	cr_expect_eq(kvmap_get(m, "a\0", 2, kvmap_hash("a\0", 2)), b);
	cr_expect_eq(get("a"), a);
	cr_expect_eq(kvmap_count(m), 2);
}

MAP_TEST(set)
{
	struct kv_entry *a1 = mk("a", "1"), *a2 = mk("a", "2");

	cr_expect_eq(kvmap_set(m, a1), 0);
	cr_expect_eq(get("a"), a1);
	cr_expect_eq(kvmap_set(m, a2), 1);
	cr_expect_eq(get("a"), a2);
	cr_expect_eq(memcmp(kv_entry_val(get("a")), "2", 1), 0);
	cr_expect_eq(kvmap_count(m), 1);
}

MAP_TEST(replace_is_a_cas)
{
	struct kv_entry *e1 = mk("k", "1"), *e2 = mk("k", "2"), *e3 = mk("k", "3");

	cr_expect_eq(kvmap_insert(m, e1, NULL), 0);
	cr_expect_eq(kvmap_replace(m, e1, e2), 0);
	cr_expect_eq(get("k"), e2);
	/* e1 is stale now: the CAS must fail and leave e3 with us. */
	cr_expect_eq(kvmap_replace(m, e1, e3), -EAGAIN);
	cr_expect_eq(get("k"), e2);
	cr_expect_eq(kvmap_replace(m, e2, e3), 0);
	cr_expect_eq(get("k"), e3);
	cr_expect_eq(kvmap_count(m), 1);

	/* Absent key: the CAS fails too. */
	struct kv_entry *e4 = mk("k", "4");
	cr_expect_eq(kvmap_remove(m, e3), 0);
	cr_expect_eq(kvmap_replace(m, e3, e4), -EAGAIN);
	cr_expect_null(get("k"));
	kv_entry_free(e4);
}

MAP_TEST(remove)
{
	struct kv_entry *a = mk("a", "1"), *b = mk("a", "2");

	cr_expect_eq(kvmap_insert(m, a, NULL), 0);
	cr_expect_eq(kvmap_set(m, b), 1);
	cr_expect_eq(kvmap_remove(m, a), -ENOENT); /* replaced, no longer current */
	cr_expect_eq(get("a"), b);
	cr_expect_eq(kvmap_remove(m, b), 0);
	cr_expect_null(get("a"));
	cr_expect_eq(kvmap_remove(m, b), -ENOENT);
	cr_expect_eq(kvmap_count(m), 0);
}

MAP_TEST(count_and_growth)
{
	for (int i = 0; i < 20000; i++)
		cr_assert_eq(kvmap_insert(m, mkf("key:%d", i), NULL), 0);
	cr_expect_eq(kvmap_count(m), 20000);
	for (int i = 0; i < 20000; i++) {
		const struct kv_entry *e = getf("key:%d", i);
		cr_assert_not_null(e, "key:%d lost", i);
		cr_assert_eq(memcmp(kv_entry_key(e), kv_entry_val(e), e->klen), 0);
	}
	for (int i = 0; i < 20000; i += 2)
		cr_assert_eq(kvmap_remove(m, getf("key:%d", i)), 0);
	cr_expect_eq(kvmap_count(m), 10000);
	for (int i = 0; i < 20000; i++)
		cr_assert_eq(getf("key:%d", i) != NULL, i % 2 == 1);
}

MAP_TEST(clear)
{
	for (int i = 0; i < 1000; i++)
		kvmap_insert(m, mkf("key:%d", i), NULL);
	cr_expect_eq(kvmap_clear(m), 1000);
	cr_expect_eq(kvmap_count(m), 0);
	cr_expect_null(getf("key:%d", 7));
	cr_expect_eq(kvmap_clear(m), 0);
	cr_expect_eq(kvmap_insert(m, mkf("key:%d", 7), NULL), 0);
	cr_expect_eq(kvmap_count(m), 1);
}

/* ---- scan. */

#define SCAN_KEYS 3000

struct seen {
	unsigned char hit[SCAN_KEYS];
	size_t calls, visits;
};

static void mark(const struct kv_entry *e, void *arg)
{
	struct seen *s = arg;
	int i;
	char k[64];

	s->visits++;
	cr_assert_lt(e->klen, sizeof(k));
	memcpy(k, kv_entry_key(e), e->klen);
	k[e->klen] = '\0';
	if (sscanf(k, "a:%d", &i) == 1 && i >= 0 && i < SCAN_KEYS)
		s->hit[i]++;
}

MAP_TEST(scan_quiet_map_visits_each_once)
{
	static struct seen s;
	uint64_t cur = 0;

	for (int i = 0; i < SCAN_KEYS; i++)
		kvmap_insert(m, mkf("a:%d", i), NULL);
	do {
		cur = kvmap_scan(m, cur, 10, mark, &s);
		s.calls++;
	} while (cur != 0);
	for (int i = 0; i < SCAN_KEYS; i++)
		cr_assert_eq(s.hit[i], 1, "a:%d visited %d times", i, s.hit[i]);
	cr_expect_geq(s.calls, SCAN_KEYS / 40); /* kvsd finishes whole buckets */
	cr_expect_eq(kvmap_scan(m, 0, 0, mark, &s), kvmap_scan(m, 0, 1, mark, &s));

	struct kvmap *empty = kvmap_create(backend, 4);
	cr_expect_eq(kvmap_scan(empty, 0, 10, mark, &s), 0);
	kvmap_destroy(&empty);
}

MAP_TEST(scan_sees_stable_keys_while_map_grows_and_shrinks)
{
	static struct seen s;
	uint64_t cur = 0;
	int next_b = 0, removed_b = 0;

	for (int i = 0; i < 1000; i++)
		kvmap_insert(m, mkf("a:%d", i), NULL);
	do {
		cur = kvmap_scan(m, cur, 100, mark, &s);
		s.calls++;
		/* Between calls: grow by 300 keys (forcing several resizes), drop some. */
		for (int j = 0; j < 300; j++)
			kvmap_insert(m, mkf("b:%d", next_b++), NULL);
		for (int j = 0; j < 50; j++, removed_b++)
			kvmap_remove(m, getf("b:%d", removed_b));
		kvmap_quiescent();
	} while (cur != 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_geq(s.hit[i], 1, "a:%d never visited", i);
	/* The map grew several-fold while the scan ran. */
	cr_expect_gt(kvmap_count(m), 4000);

	/* Now shrink between calls: drop every b key during a second scan. */
	memset(&s, 0, sizeof(s));
	cur = 0;
	do {
		cur = kvmap_scan(m, cur, 50, mark, &s);
		for (int j = 0; j < 400 && removed_b < next_b; j++, removed_b++)
			kvmap_remove(m, getf("b:%d", removed_b));
		kvmap_maintain(m);
		kvmap_quiescent();
	} while (cur != 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_geq(s.hit[i], 1, "a:%d never visited while shrinking", i);
	cr_expect_eq(kvmap_count(m), 1000);
}

static void count_visits(const struct kv_entry *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
}

Test(kvmap_urcu, scan_keeps_equal_split_keys_together)
{
	size_t n = 0;
	struct kv_entry *e;

	/* Five distinct keys forced onto one hash: one split-order key. */
	for (int i = 0; i < 5; i++) {
		e = mkf("c:%d", i);
		*kv_entry_prefix_hash(e) = 42;
		cr_assert_eq(kvmap_insert(m, e, NULL), 0);
	}
	for (int i = 0; i < 5; i++) {
		char k[16];
		snprintf(k, sizeof(k), "c:%d", i);
		cr_assert_not_null(kvmap_get(m, k, strlen(k), 42));
	}
	cr_expect_eq(kvmap_scan(m, 0, 1, count_visits, &n), 0);
	cr_expect_eq(n, 5);

	/* Hash 0 reverses to 0 and hash 1<<63 to 1: the cursor after the first is 1, not 0. */
	kvmap_clear(m);
	e = mk("zero", "z");
	*kv_entry_prefix_hash(e) = 0;
	kvmap_insert(m, e, NULL);
	e = mk("top", "t");
	*kv_entry_prefix_hash(e) = 1ULL << 63;
	kvmap_insert(m, e, NULL);
	n = 0;
	uint64_t cur = kvmap_scan(m, 0, 1, count_visits, &n);
	cr_expect_eq(cur, 1);
	cr_expect_eq(n, 1);
	cr_expect_eq(kvmap_scan(m, cur, 1, count_visits, &n), 0);
	cr_expect_eq(n, 2);
}

/* ---- random. */

MAP_TEST(random)
{
	cr_expect_null(kvmap_random(m, 0));
	cr_expect_null(kvmap_random(m, 12345));

	struct kv_entry *a = mk("a", "1"), *b = mk("b", "2");
	kvmap_insert(m, a, NULL);
	for (uint64_t r = 0; r < 10; r++)
		cr_expect_eq(kvmap_random(m, r), a);
	kvmap_insert(m, b, NULL);
	int seen_a = 0, seen_b = 0;
	for (uint64_t r = 0; r < 100; r++) {
		const struct kv_entry *e = kvmap_random(m, r * 0x9e3779b97f4a7c15ULL);
		cr_assert(e == a || e == b);
		seen_a += e == a;
		seen_b += e == b;
	}
	cr_expect(seen_a > 0 && seen_b > 0);

	for (int i = 0; i < 5000; i++)
		kvmap_insert(m, mkf("r:%d", i), NULL);
	for (uint64_t r = 0; r < 1000; r++) {
		const struct kv_entry *e = kvmap_random(m, r * 0x9e3779b97f4a7c15ULL);
		cr_assert_not_null(e);
		cr_assert_eq(
		    kvmap_get(m, kv_entry_key(e), e->klen, kvmap_hash(kv_entry_key(e), e->klen)),
		    e);
	}
	kvmap_clear(m);
	cr_expect_null(kvmap_random(m, 1));
}

/* ---- reclamation. */

MAP_TEST(pending_bytes_drain_after_grace_period)
{
	cr_expect_eq(kvmap_pending_bytes(), 0);
	struct kv_entry *a1 = mk("a", "1"), *a2 = mk("a", "2");
	size_t sz = kv_entry_size(a1);

	kvmap_set(m, a1);
	kvmap_set(m, a2); /* retires a1 */
	/* This thread is online and has not been quiescent: a1 cannot be freed yet. */
	cr_expect_eq(kvmap_pending_bytes(), (int64_t)sz);
	kvmap_remove(m, a2);
	cr_expect_gt(kvmap_pending_bytes(), (int64_t)sz);
	for (int i = 0; i < 100; i++)
		kvmap_insert(m, mkf("p:%d", i), NULL);
	cr_expect_eq(kvmap_clear(m), 100);

	kvmap_quiescent();
	kvmap_teardown(); /* rcu_barrier / epoch collection: every queued free has run */
	cr_expect_eq(kvmap_pending_bytes(), 0);
	/* The thread is still usable afterwards. */
	cr_expect_eq(kvmap_insert(m, mk("b", "1"), NULL), 0);
	cr_expect_not_null(get("b"));
}

MAP_TEST(offline_online_roundtrip)
{
	kvmap_insert(m, mk("a", "1"), NULL);
	kvmap_thread_offline();
	kvmap_thread_offline(); /* idempotent */
	kvmap_teardown();
	kvmap_thread_online();
	cr_expect_not_null(get("a"));
}

/* ---- counters from several threads. */

struct worker_arg {
	int id;
};

static void *count_worker(void *p)
{
	struct worker_arg *w = p;
	char k[32];

	kvmap_thread_register();
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "t%d:%d", w->id, i);
		if (kvmap_insert(m, kv_entry_new(k, strlen(k), "v", 1, 0), NULL) != 0)
			return (void *)1;
		if (i % 3 == 0 &&
		    kvmap_remove(m, kvmap_get(m, k, strlen(k), kvmap_hash(k, strlen(k)))) != 0)
			return (void *)1;
		if (i % 64 == 0)
			kvmap_quiescent();
	}
	kvmap_thread_unregister();
	return NULL;
}

MAP_TEST(count_is_exact_after_threads_stop)
{
	pthread_t t[3];
	struct worker_arg a[3];

	kvmap_thread_offline(); /* the main thread does nothing while they run */
	for (int i = 0; i < 3; i++) {
		a[i].id = i;
		pthread_create(&t[i], NULL, count_worker, &a[i]);
	}
	for (int i = 0; i < 3; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		cr_expect_null(rc);
	}
	kvmap_thread_online();
	cr_expect_eq(kvmap_count(m), 3 * (2000 - 667));
}
