/*
 * stress_db.c — SWAPDB and FLUSHDB/FLUSHALL (storage/db.h: db_swap,
 * db_flush, db_flush_all) while other threads read and write both
 * databases: every read sees one database or the other, never a mix.
 * A plain, time-boxed program (also under ThreadSanitizer and ASan/LSan).
 *
 * The check can fail. Every write is an MSET-like transaction that sets all
 * KEYS keys of database 0 or 1 to one new value (unique per write), so at
 * every instant each database's keys all hold the same value, or are all
 * absent (after a flush). SWAPDB exchanges the two databases whole and a
 * flush empties one whole, so the invariant survives them — if they are
 * atomic for readers. Readers read all KEYS keys of a database as MGET does
 * (a read-only transaction, validated at its commit) and fail the run if
 * the values differ: a read that resolved some keys through the table
 * before a SWAPDB and some after, or that saw part of a flush, or a write
 * that landed half in each database, shows up as two different values.
 * --unsafe-reads reads the keys one by one through plain views (each key
 * at its own instant, as a non-atomic client would): that run must fail
 * (meson expects it to), which shows the checker sees mixes.
 *
 * At the end, after the background purge finished, the map must hold
 * exactly the keys the databases hold (no key left in a dropped key space)
 * and the sanitizers check that nothing leaked.
 *
 * Usage: stress_db [--seconds S] [--unsafe-reads]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/db.h"
#include "storage/kvmap.h"

#define KEYS	8
#define WRITERS 2
#define READERS 2
#define VAL_MAX 32

static struct db *db;
static _Atomic bool stop;
static _Atomic unsigned long long reads, writes, swaps, flushes, mixes;
static bool unsafe_reads;

static void fail(const char *what)
{
	fprintf(stderr, "stress_db: FAIL: %s\n", what);
	exit(1);
}

static const char *key_name(int i)
{
	static const char *const names[KEYS] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};

	return names[i];
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* MSET k0..k7 v in database d, one transaction (as multi_atomic runs it). */
static void mset_all(struct db_txn *t, int d, const char *v, size_t vlen)
{
	for (;;) {
		db_txn_select(t, d);
		const struct db_view *view = db_txn_begin(t, NULL, 0, false);

		for (int i = 0; i < KEYS; i++) {
			const struct kv_entry *old = db_lookup(view, key_name(i), 2, 0, NULL, 0);
			struct kv_entry *e = kv_entry_new(key_name(i), 2, v, vlen, 0);

			if (db_put(view, old, e) != 0)
				fail("overlay write failed");
		}
		if (db_txn_commit(t) == 0)
			return;
	}
}

/* Reads k0..k7 of database d; 1 if they agree (all equal or all absent). */
static int mget_all(struct db_txn *t, int d)
{
	char first[VAL_MAX + 1];
	int firstlen = -2, ok;

	if (unsafe_reads) {
		struct db_view v;

		ok = 1;
		db_view_init(db, d, &v);
		for (int i = 0; i < KEYS; i++) {
			const struct kv_entry *e = db_lookup(&v, key_name(i), 2, 0, NULL, 0);
			int len = e ? (int)e->vlen : -1;

			if (i == 0) {
				firstlen = len;
				if (e)
					memcpy(first, kv_entry_val(e), e->vlen);
			} else if (len != firstlen ||
				   (e && memcmp(first, kv_entry_val(e), e->vlen) != 0)) {
				ok = 0;
			}
			/* a new instant for the next key, as separate GETs */
			kvmap_quiescent();
		}
		return ok;
	}
	for (;;) {
		db_txn_select(t, d);
		const struct db_view *view = db_txn_begin(t, NULL, 0, false);

		ok = 1;
		for (int i = 0; i < KEYS; i++) {
			const struct kv_entry *e = db_lookup(view, key_name(i), 2, 0, NULL, 0);
			int len = e ? (int)e->vlen : -1;

			if (i == 0) {
				firstlen = len;
				if (e)
					memcpy(first, kv_entry_val(e), e->vlen);
			} else if (len != firstlen ||
				   (e && memcmp(first, kv_entry_val(e), e->vlen) != 0)) {
				ok = 0;
			}
		}
		if (db_txn_commit(t) == 0)
			return ok; /* a committed read: what it saw is one state */
	}
}

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
	struct db_txn *t;
	unsigned long long n = 0;

	kvmap_thread_register();
	t = db_txn_create(db);
	/* relaxed: a stop flag; publishes nothing */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		char v[VAL_MAX];
		int len = snprintf(v, sizeof(v), "w%d-%llu", id, n++);

		mset_all(t, (int)(rnd(&s) & 1), v, (size_t)len);
		kvmap_quiescent();
	}
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&writes, n, memory_order_relaxed);
	db_txn_destroy(&t);
	kvmap_thread_unregister();
	return NULL;
}

static void *reader(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t s = 0xbf58476d1ce4e5b9ULL * (uint64_t)(id + 1);
	struct db_txn *t;
	unsigned long long n = 0;

	kvmap_thread_register();
	t = db_txn_create(db);
	/* relaxed: a stop flag */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (!mget_all(t, (int)(rnd(&s) & 1))) {
			/* relaxed: a counter the main thread reads after join */
			atomic_fetch_add_explicit(&mixes, 1, memory_order_relaxed);
			if (!unsafe_reads)
				fail("a read saw two databases mixed");
		}
		n++;
		kvmap_quiescent();
	}
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&reads, n, memory_order_relaxed);
	db_txn_destroy(&t);
	kvmap_thread_unregister();
	return NULL;
}

/* SWAPDB 0 1 mostly; FLUSHDB (either database) and now and then FLUSHALL. */
static void *swapper(void *arg)
{
	uint64_t s = 12345;
	struct db_view v;
	unsigned long long ns = 0, nf = 0;

	(void)arg;
	kvmap_thread_register();
	/* relaxed: a stop flag */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t r = rnd(&s) % 64;

		db_view_init(db, (int)(r & 1), &v);
		if (r < 56) {
			db_swap(&v, 0, 1);
			ns++;
		} else if (r < 63) {
			db_flush(&v, (r & 2) != 0);
			nf++;
		} else {
			db_flush_all(&v, false);
			nf++;
		}
		kvmap_quiescent();
	}
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&swaps, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&flushes, nf, memory_order_relaxed);
	kvmap_thread_unregister();
	return NULL;
}

/* The server's hz timer: the background purge of dropped key spaces. */
static void *cron(void *arg)
{
	(void)arg;
	kvmap_thread_register();
	/* relaxed: a stop flag */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct timespec ts = {0, 2000000};

		db_cron(db, 0);
		kvmap_thread_offline();
		nanosleep(&ts, NULL);
		kvmap_thread_online();
	}
	kvmap_thread_unregister();
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	pthread_t w[WRITERS], r[READERS], sw, cr;
	struct timespec ts;
	long long in_dbs = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--unsafe-reads") == 0)
			unsafe_reads = true;
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: stress_db [--seconds S] [--unsafe-reads]\n");
			return 2;
		}
	}
	kvmap_setup();
	kvmap_thread_register();
	db = db_create(KVMAP_KVSD);
	if (!db)
		fail("db_create");
	if (db_set_databases(db, 16) != 0)
		fail("db_set_databases");
	kvmap_thread_offline();
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, (void *)(intptr_t)i);
	pthread_create(&sw, NULL, swapper, NULL);
	pthread_create(&cr, NULL, cron, NULL);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	/* relaxed: the joins below order everything */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(sw, NULL);
	pthread_join(cr, NULL);

	kvmap_thread_online();
	/* finish the purge: grace periods end as this (only) thread passes
	 * quiescent states */
	for (int i = 0; i < 1000; i++) {
		db_cron(db, 0);
		kvmap_quiescent();
	}
	for (int i = 0; i < db_databases(db); i++)
		in_dbs += db_size_of(db, i);
	if ((long long)kvmap_count(db_map(db)) != in_dbs) {
		fprintf(stderr, "stress_db: map holds %zu keys, the databases %lld\n",
			kvmap_count(db_map(db)), in_dbs);
		fail("keys left in dropped key spaces");
	}
	db_destroy(&db);
	kvmap_thread_unregister();
	kvmap_teardown();
	/* relaxed: after the joins */
	printf("stress_db: %s: reads=%llu writes=%llu swaps=%llu flushes=%llu mixed=%llu\n",
	       unsafe_reads ? "unsafe reads" : "ok", atomic_load(&reads), atomic_load(&writes),
	       atomic_load(&swaps), atomic_load(&flushes), atomic_load(&mixes));
	if (unsafe_reads && atomic_load_explicit(&mixes, memory_order_relaxed) > 0)
		return 1; /* the checker saw mixes: what the should_fail run expects */
	if (atomic_load_explicit(&reads, memory_order_relaxed) == 0 ||
	    atomic_load_explicit(&swaps, memory_order_relaxed) == 0)
		fail("no read or no swap ran");
	return 0;
}
