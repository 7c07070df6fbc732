/*
 * stress_migration_target_full.c — regression test for the crash
 * "kvsd map: migration target full" (storage/kvmap_kvsd.c, copy_into()).
 *
 * The bug: a migration read the entry count, sized its target from it and
 * only then published `next`; writers that saw no `next` in between kept
 * adding keys to the old table — single-key inserts for as long as the
 * sizing thread was preempted, and an MSET (one MWCAS through storage/txn.c)
 * thousands at once — so the copy overflowed the target and the server
 * panicked. The fix seals the table before counting (see "Sizing the
 * target" in kvmap_kvsd.c).
 *
 * The test makes the map grow and shrink all the time while keys pour in:
 *  - MSET threads (ids 0, 3, 6, ...) commit --keys new keys "m<t>:<j>" per round in
 *    one transaction (kvtxn_begin / kvtxn_set / kvtxn_commit, re-run on
 *    -EAGAIN), check that every key holds the round's value, then delete
 *    them in one transaction (a multi-key DEL). They never start a shrink
 *    themselves (only single-key deletes check), so while a shrinker is
 *    between sizing and publishing nothing else replaces its target.
 *  - insert threads (the others) insert --keys/8 keys "i<t>:<j>" one by one,
 *    then remove them one by one (a shrink check every 64 deletes), calling
 *    kvmap_maintain() now and then: they shrink the table whenever the MSET
 *    keys are gone, sizing the target from a small count.
 * Every round takes the table from near empty to thousands of keys and
 * back, so shrinks and tombstone purges start while other threads' inserts
 * and MSETs run.
 *  - a preemption injector (main thread) sends SIGUSR1 to a random worker
 *    every --signal-us µs; the handler sleeps --delay-us µs. This is the
 *    scheduler preempting a thread at an arbitrary instruction, made
 *    frequent: a sizer caught between reading the count and publishing its
 *    target stays there while the others keep writing. Without it the
 *    window is a few µs and the old code survives most runs; with it the
 *    old code panics within a second or two (--signal-us 0 turns it off).
 * The old code dies with the panic (or loses keys); the fixed code must run
 * clean. At the end the map must be empty and its count 0.
 * Plain program (not Criterion), so it also runs under TSan and ASan.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/kvmap.h"
#include "storage/txn.h"

#define MAX_THREADS 16

static struct kvmap *map;
/* set by main when time is up; relaxed: a stale read only delays a thread's
 * exit by a round */
static atomic_bool stop;
static int opt_keys = 2000;
static int opt_delay_us = 300;

struct thread_stats {
	pthread_t tid;
	int id;
	uint64_t rounds, keys, retries;
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("stress_migration_target_full: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	_exit(1);
}

/*
 * Delay injection at the allocation of a new table: kvsd's map allocates a
 * migration target with calloc (mem_calloc) after it has sized it. The old
 * code read the count *before* that and published the table after it, so a
 * slow allocation (a page fault, a preemption, an mmap) held its window open;
 * this makes every large calloc that slow (--calloc-delay-us). The fixed
 * code allocates after sealing, so the delay only slows migrations down.
 * Implemented with malloc + memset so that it needs no dlsym. Not under
 * ThreadSanitizer, whose runtime calls calloc before it is initialised (the
 * preemption injector below still runs there).
 */
static int opt_calloc_delay_us = 200;

#ifndef __SANITIZE_THREAD__

void *calloc(size_t n, size_t size)
{
	size_t bytes = n * size;

	if (size && bytes / size != n)
		return NULL;
	void *p = malloc(bytes ? bytes : 1);
	if (p)
		memset(p, 0, bytes);
	if (bytes >= 512 && opt_calloc_delay_us > 0) {
		struct timespec ts = {0, (long)opt_calloc_delay_us * 1000};
		nanosleep(&ts, NULL);
	}
	return p;
}
#endif

/* The injected "preemption": sleep without touching anything shared. */
static void on_sigusr1(int sig)
{
	int saved = errno;
	struct timespec ts = {0, (long)opt_delay_us * 1000};

	(void)sig;
	nanosleep(&ts, NULL); /* async-signal-safe */
	errno = saved;
}

static bool stopping(void)
{
	/* relaxed: see `stop` */
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

static int key_of(char *buf, size_t len, char kind, int t, int j)
{
	return snprintf(buf, len, "%c%d:%d", kind, t, j);
}

static const struct kv_entry *get(const char *k, size_t klen)
{
	return kvmap_get(map, k, klen, kvmap_hash(k, klen));
}

/* The round number stored as the value of every key of a round. */
static struct kv_entry *make(const char *k, size_t klen, uint64_t round)
{
	return kv_entry_new(k, klen, &round, sizeof(round), 0);
}

static void check(const char *k, size_t klen, uint64_t round)
{
	const struct kv_entry *e = get(k, klen);
	uint64_t v;

	if (!e)
		fail("key %.*s missing after its round-%llu insert", (int)klen, k,
		     (unsigned long long)round);
	if (e->vlen != sizeof(v))
		fail("key %.*s: value of %u bytes", (int)klen, k, (unsigned)e->vlen);
	memcpy(&v, kv_entry_val(e), sizeof(v));
	if (v != round)
		fail("key %.*s holds round %llu, expected %llu", (int)klen, k,
		     (unsigned long long)v, (unsigned long long)round);
}

static void remove_one(const char *k, size_t klen)
{
	for (;;) {
		const struct kv_entry *e = get(k, klen);
		if (!e)
			fail("key %.*s vanished before its delete", (int)klen, k);
		if (kvmap_remove(map, e) == 0)
			return;
		/* only this thread writes the key: a failed remove is a bug */
		fail("remove of %.*s failed", (int)klen, k);
	}
}

/* One transaction writing (round != 0) or deleting (round == 0) all keys. */
static void txn_all(struct thread_stats *st, struct kvtxn *tx, uint64_t round)
{
	char k[48];

	for (;;) {
		kvtxn_begin(tx, NULL, 0);
		for (int j = 0; j < opt_keys; j++) {
			size_t kl = (size_t)key_of(k, sizeof(k), 'm', st->id, j);
			if (round) {
				kvtxn_set(tx, make(k, kl, round));
			} else {
				const struct kv_entry *e = kvtxn_get(tx, k, kl, kvmap_hash(k, kl));
				if (!e || kvtxn_remove(tx, e) != 0)
					fail("txn delete of %s: key missing", k);
			}
		}
		int rc = kvtxn_commit(tx, NULL);
		if (rc == 0)
			return;
		if (rc != -EAGAIN)
			fail("kvtxn_commit: %d", rc);
		st->retries++;
	}
}

static void mset_round(struct thread_stats *st, struct kvtxn *tx, uint64_t round)
{
	char k[48];

	txn_all(st, tx, round);
	for (int j = 0; j < opt_keys; j++) {
		size_t kl = (size_t)key_of(k, sizeof(k), 'm', st->id, j);
		check(k, kl, round);
	}
	txn_all(st, tx, 0);
	st->keys += (uint64_t)opt_keys;
}

static void insert_round(struct thread_stats *st, uint64_t round)
{
	char k[48];
	int nkeys = opt_keys / 8 > 0 ? opt_keys / 8 : 1;

	for (int j = 0; j < nkeys; j++) {
		size_t kl = (size_t)key_of(k, sizeof(k), 'i', st->id, j);
		if (kvmap_insert(map, make(k, kl, round), NULL) != 0)
			fail("insert of %s: key already present", k);
		if (j % 256 == 255)
			kvmap_quiescent();
	}
	for (int j = 0; j < nkeys; j++) {
		size_t kl = (size_t)key_of(k, sizeof(k), 'i', st->id, j);
		check(k, kl, round);
		remove_one(k, kl);
		if (j % 64 == 63)
			kvmap_maintain(map);
		if (j % 256 == 255)
			kvmap_quiescent();
	}
	st->keys += (uint64_t)nkeys;
}

static void *thread_main(void *arg)
{
	struct thread_stats *st = arg;
	struct kvtxn *tx = kvtxn_create(map);

	kvmap_thread_register();
	for (uint64_t round = 1; !stopping(); round++) {
		if (st->id % 3 == 0)
			mset_round(st, tx, round);
		else
			insert_round(st, round);
		st->rounds++;
		kvmap_quiescent(); /* between rounds this thread holds nothing */
	}
	kvtxn_destroy(&tx);
	kvmap_thread_unregister();
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: stress_migration_target_full [--seconds S] [--threads 2..%d] "
		"[--keys N] [--signal-us N] [--delay-us N] [--calloc-delay-us N]\n",
		MAX_THREADS);
	exit(2);
}

int main(int argc, char **argv)
{
	struct thread_stats st[MAX_THREADS];
	double seconds = 3;
	int nthreads = 3, signal_us = 200;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--keys") == 0)
			opt_keys = atoi(argv[++i]);
		else if (strcmp(argv[i], "--signal-us") == 0)
			signal_us = atoi(argv[++i]);
		else if (strcmp(argv[i], "--delay-us") == 0)
			opt_delay_us = atoi(argv[++i]);
		else if (strcmp(argv[i], "--calloc-delay-us") == 0)
			opt_calloc_delay_us = atoi(argv[++i]);
		else
			usage();
	}
	if (nthreads < 2 || nthreads > MAX_THREADS || seconds <= 0 || opt_keys < 1 ||
	    signal_us < 0 || opt_delay_us < 0 || opt_delay_us >= 1000000 ||
	    opt_calloc_delay_us < 0 || opt_calloc_delay_us >= 1000000)
		usage();

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		fail("sigaction");

	kvmap_setup();
	kvmap_thread_register();
	map = kvmap_create(KVMAP_KVSD, 1); /* smallest table: every round resizes */
	kvmap_thread_offline();		   /* main only sleeps while the others run */

	memset(st, 0, sizeof(st));
	for (int i = 0; i < nthreads; i++) {
		st[i].id = i;
		if (pthread_create(&st[i].tid, NULL, thread_main, &st[i]) != 0)
			fail("pthread_create");
	}
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)seconds;
	end.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	uint64_t rnd = 0x9e3779b97f4a7c15ull, signals = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		if (signal_us == 0) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		if (signal_us >= 100) {
			struct timespec ts = {0, (long)signal_us * 1000};
			nanosleep(&ts, NULL);
		} else { /* below the timer slack: wait on the clock */
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			do
				clock_gettime(CLOCK_MONOTONIC, &t1);
			while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) <
			       signal_us * 1000L);
		}
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17; /* xorshift64 */
		pthread_kill(st[rnd % (uint64_t)nthreads].tid, SIGUSR1);
		signals++;
	}
	/* relaxed: see `stop` */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < nthreads; i++)
		pthread_join(st[i].tid, NULL);
	kvmap_thread_online();

	uint64_t rounds = 0, keys = 0, retries = 0;
	for (int i = 0; i < nthreads; i++) {
		rounds += st[i].rounds;
		keys += st[i].keys;
		retries += st[i].retries;
	}
	if (kvmap_count(map) != 0)
		fail("count %zu at the end, expected 0", kvmap_count(map));
	if (kvmap_random(map, 1) != NULL)
		fail("map not empty at the end");
	if (rounds == 0)
		fail("no round finished: raise --seconds");
	kvmap_destroy(&map);
	kvmap_thread_unregister();
	kvmap_teardown();
	if (kvmap_pending_bytes() != 0)
		fail("%lld retired bytes never freed", (long long)kvmap_pending_bytes());
	printf("stress_migration_target_full: ok: threads=%d keys=%d seconds=%g rounds=%llu "
	       "keys_written=%llu txn_retries=%llu preemptions=%llu\n",
	       nthreads, opt_keys, seconds, (unsigned long long)rounds, (unsigned long long)keys,
	       (unsigned long long)retries, (unsigned long long)signals);
	return 0;
}
