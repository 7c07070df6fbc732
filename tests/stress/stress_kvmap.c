/*
 * stress_kvmap.c — time-boxed multi-threaded torture of the kvmap interface,
 * a plain program (not Criterion) so that it also runs under ThreadSanitizer
 * and AddressSanitizer.
 *
 * Roles (--threads 2..4): half the threads (at least one) are writers, the
 * rest checkers; every thread also runs INCR-style CAS loops on a few shared
 * counter keys.
 *  - writer t owns keys "w<t>:<i>" and runs rounds: insert all (each must be
 *    new: a deleted key that reappears would make insert fail), find all with
 *    this round's generation (no lost insert), overwrite the even ones with
 *    kvmap_set (must report a replacement), remove every third and check it
 *    stays gone (no resurrected delete), check the survivors, remove the rest.
 *    The table grows and shrinks by --keys entries per writer each round, so
 *    resizes run all the time.
 *  - checkers read random keys of every kind, kvmap_random() entries and
 *    SCAN pages, and validate every entry they are handed: the key is the one
 *    asked for, and the value carries a checksum of the key, a generation and
 *    a filler derived from both, so a freed, reused or torn entry is caught
 *    (especially with sanitizers). Each full SCAN pass must return every
 *    "s:<i>" key: those are inserted before the threads start and never
 *    touched, so they are present for the whole scan while the map resizes.
 *  - counters "ctr:<j>" hold decimal values; each thread counts its
 *    successful kvmap_replace() increments; at the end each value must equal
 *    the sum of those counts (no lost or doubled CAS).
 * --map kvsd|urcu picks the backend (default kvsd). kvsd's map starts from
 * its smallest table (8 buckets) and checkers call kvmap_maintain() now and
 * then, so grow, shrink and tombstone-purge migrations run constantly, also
 * in the middle of SCAN passes and CAS loops.
 * Every thread is a registered kvmap thread and announces quiescent states
 * every few operations. The main thread finally checks the map's contents and
 * count, destroys it, waits for the reclaimer and checks that no retired
 * bytes remain. Any violation prints a message and exits 1; success prints
 * one summary line.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/kvmap.h"

#define MAX_THREADS 4
#define STABLE_KEYS 2000
#define COUNTERS    4
#define SCAN_COUNT  200

static struct kvmap *map;
/* set by main when time is up; relaxed: a stale read only delays a thread's exit by a round */
static atomic_bool stop;
static int opt_keys = 10000;

struct thread_stats {
	pthread_t tid;
	int id;
	bool writer;
	uint64_t ops, cas_retries, rounds, scans, incs[COUNTERS];
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("stress_kvmap: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	_exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t fnv64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
	return h;
}

/* Value of a checked entry: "<fnv(key) hex16>:<gen hex8>:" + filler. */
static struct kv_entry *make_entry(const char *key, uint32_t gen)
{
	size_t klen = strlen(key);
	uint64_t h = fnv64(key, klen);
	size_t fill = (size_t)(h % 48);
	char head[32];
	int hl = snprintf(head, sizeof(head), "%016llx:%08x:", (unsigned long long)h, gen);
	struct kv_entry *e = kv_entry_new(key, klen, NULL, (size_t)hl + fill, 0);
	char *v = kv_entry_mutval(e);

	memcpy(v, head, (size_t)hl);
	memset(v + hl, 'a' + (int)((h + gen) % 26), fill);
	return e;
}

/* Validates a checked entry; returns its generation. */
static uint32_t check_value(const struct kv_entry *e)
{
	const char *k = kv_entry_key(e), *v = kv_entry_val(e);
	uint64_t h = fnv64(k, e->klen);
	size_t fill = (size_t)(h % 48);
	char head[32];
	unsigned long long vh;
	unsigned gen;

	if (e->vlen != 26 + fill)
		fail("entry %.*s: bad value length %u", (int)e->klen, k, e->vlen);
	memcpy(head, v, 26);
	head[26] = '\0';
	if (sscanf(head, "%16llx:%8x:", &vh, &gen) != 2 || vh != h)
		fail("entry %.*s: value checksum mismatch (%.26s)", (int)e->klen, k, v);
	for (size_t i = 0; i < fill; i++)
		if (v[26 + i] != 'a' + (int)((h + gen) % 26))
			fail("entry %.*s: torn filler at %zu", (int)e->klen, k, i);
	return gen;
}

static void check_counter(const struct kv_entry *e)
{
	const char *v = kv_entry_val(e);

	if (e->vlen == 0 || e->vlen > 20)
		fail("counter %.*s: bad length %u", (int)e->klen, kv_entry_key(e), e->vlen);
	for (uint32_t i = 0; i < e->vlen; i++)
		if (v[i] < '0' || v[i] > '9')
			fail("counter %.*s: non-digit value", (int)e->klen, kv_entry_key(e));
}

/* Any entry the map hands out, by its key's kind. */
static void check_any(const struct kv_entry *e)
{
	const char *k = kv_entry_key(e);

	if (e->klen >= 4 && memcmp(k, "ctr:", 4) == 0)
		check_counter(e);
	else if (e->klen >= 2 && (k[0] == 's' || k[0] == 'w'))
		check_value(e);
	else
		fail("unknown key %.*s", (int)e->klen, k);
}

/* A counter's value (values carry no terminator). */
static unsigned long long counter_value(const struct kv_entry *e)
{
	char buf[24];

	memcpy(buf, kv_entry_val(e), e->vlen);
	buf[e->vlen] = '\0';
	return strtoull(buf, NULL, 10);
}

static const struct kv_entry *get(const char *k)
{
	size_t n = strlen(k);
	const struct kv_entry *e = kvmap_get(map, k, n, kvmap_hash(k, n));

	if (e && (e->klen != n || memcmp(kv_entry_key(e), k, n) != 0))
		fail("get(%s) returned key %.*s", k, (int)e->klen, kv_entry_key(e));
	return e;
}

static void incr(struct thread_stats *st, uint64_t *rng)
{
	int j = (int)(rng_next(rng) % COUNTERS);
	char k[16], v[24];

	snprintf(k, sizeof(k), "ctr:%d", j);
	for (;;) {
		const struct kv_entry *cur = get(k);
		if (!cur)
			fail("counter %s vanished", k);
		check_counter(cur);
		unsigned long long n = counter_value(cur);
		int vl = snprintf(v, sizeof(v), "%llu", n + 1);
		struct kv_entry *e = kv_entry_new(k, strlen(k), v, (size_t)vl, 0);
		int rc = kvmap_replace(map, cur, e);
		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			fail("replace(%s) = %d", k, rc);
		kv_entry_free(e);
		st->cas_retries++;
	}
	st->incs[j]++;
}

/* Per-op housekeeping: shared-counter increments and quiescent states. */
static void tick(struct thread_stats *st, uint64_t *rng)
{
	st->ops++;
	if (st->ops % 16 == 0)
		incr(st, rng);
	if (st->ops % 8 == 0)
		kvmap_quiescent();
}

static void wkey(char *buf, size_t n, int t, int i)
{
	snprintf(buf, n, "w%d:%d", t, i);
}

static void writer_round(struct thread_stats *st, uint64_t *rng)
{
	uint32_t g0 = (uint32_t)st->rounds * 2, g1 = g0 + 1;
	char k[32];
	const struct kv_entry *e;

	for (int i = 0; i < opt_keys; i++) {
		wkey(k, sizeof(k), st->id, i);
		const struct kv_entry *old = NULL;
		if (kvmap_insert(map, make_entry(k, g0), &old) != 0)
			fail("insert %s: key exists (resurrected delete?) gen %u", k,
			     old ? check_value(old) : 0);
		tick(st, rng);
	}
	for (int i = 0; i < opt_keys; i++) {
		wkey(k, sizeof(k), st->id, i);
		if (!(e = get(k)))
			fail("lost insert: %s", k);
		if (check_value(e) != g0)
			fail("%s: generation %u, expected %u", k, check_value(e), g0);
		tick(st, rng);
	}
	for (int i = 0; i < opt_keys; i += 2) {
		wkey(k, sizeof(k), st->id, i);
		if (kvmap_set(map, make_entry(k, g1)) != 1)
			fail("set %s did not replace", k);
		tick(st, rng);
	}
	for (int i = 0; i < opt_keys; i += 3) {
		wkey(k, sizeof(k), st->id, i);
		if (!(e = get(k)))
			fail("lost insert before remove: %s", k);
		if (kvmap_remove(map, e) != 0)
			fail("remove %s failed", k);
		if (get(k))
			fail("resurrected delete: %s right after remove", k);
		tick(st, rng);
	}
	for (int i = 0; i < opt_keys; i++) {
		wkey(k, sizeof(k), st->id, i);
		e = get(k);
		if (i % 3 == 0) {
			if (e)
				fail("resurrected delete: %s", k);
		} else {
			if (!e)
				fail("lost key: %s", k);
			uint32_t want = i % 2 == 0 ? g1 : g0;
			if (check_value(e) != want)
				fail("%s: generation %u, expected %u", k, check_value(e), want);
			if (kvmap_remove(map, e) != 0)
				fail("remove %s failed", k);
		}
		tick(st, rng);
	}
	for (int i = 0; i < opt_keys; i++) {
		wkey(k, sizeof(k), st->id, i);
		if (get(k))
			fail("resurrected delete after round: %s", k);
		tick(st, rng);
	}
	st->rounds++;
}

struct scan_state {
	uint64_t cursor;
	unsigned char seen[STABLE_KEYS];
};

static void scan_visit(const struct kv_entry *e, void *arg)
{
	struct scan_state *ss = arg;
	const char *k = kv_entry_key(e);
	char buf[32];
	int i;

	check_any(e);
	if (e->klen < sizeof(buf) && k[0] == 's') {
		memcpy(buf, k, e->klen);
		buf[e->klen] = '\0';
		if (sscanf(buf, "s:%d", &i) == 1 && i >= 0 && i < STABLE_KEYS)
			ss->seen[i] = 1;
	}
}

static void checker_step(struct thread_stats *st, uint64_t *rng, struct scan_state *ss,
			 int nwriters)
{
	char k[32];
	const struct kv_entry *e;

	for (int n = 0; n < 100; n++) {
		uint64_t r = rng_next(rng);
		switch (r % 4) {
		case 0:
			snprintf(k, sizeof(k), "s:%d", (int)((r >> 8) % STABLE_KEYS));
			if (!(e = get(k)))
				fail("stable key %s missing", k);
			check_value(e);
			break;
		case 1:
			if ((e = kvmap_random(map, r >> 8)) == NULL)
				fail("kvmap_random returned NULL on a non-empty map");
			check_any(e);
			break;
		default:
			wkey(k, sizeof(k), (int)((r >> 8) % (uint64_t)nwriters),
			     (int)((r >> 16) % (uint64_t)opt_keys));
			if ((e = get(k)))
				check_value(e);
			break;
		}
		tick(st, rng);
	}
	if (rng_next(rng) % 8 == 0)
		kvmap_maintain(map); /* shrink checks, as the server's hz timer does */
	ss->cursor = kvmap_scan(map, ss->cursor, SCAN_COUNT, scan_visit, ss);
	if (ss->cursor == 0) {
		for (int i = 0; i < STABLE_KEYS; i++)
			if (!ss->seen[i])
				fail("scan pass %llu missed s:%d, present throughout",
				     (unsigned long long)st->scans, i);
		memset(ss->seen, 0, sizeof(ss->seen));
		st->scans++;
	}
	kvmap_quiescent(); /* the cursor is a number: valid across grace periods */
}

static int nwriters;

static void *thread_main(void *arg)
{
	struct thread_stats *st = arg;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(st->id + 1);
	struct scan_state *ss = calloc(1, sizeof(*ss));

	kvmap_thread_register();
	/* Every thread completes at least one round or SCAN pass, however loaded
	 * the machine is, so each invariant is exercised. relaxed: see `stop`. */
	while (!atomic_load_explicit(&stop, memory_order_relaxed) ||
	       (st->writer ? st->rounds == 0 : st->scans == 0)) {
		if (st->writer)
			writer_round(st, &rng);
		else
			checker_step(st, &rng, ss, nwriters);
	}
	kvmap_thread_unregister();
	free(ss);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress_kvmap [--seconds N] [--threads 2..4] [--keys N] "
			"[--map kvsd|urcu]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int nthreads = 4;
	enum kvmap_backend backend = KVMAP_KVSD;
	struct thread_stats st[MAX_THREADS];
	char k[32];

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--keys") == 0)
			opt_keys = atoi(argv[++i]);
		else if (strcmp(argv[i], "--map") == 0) {
			i++;
			if (strcmp(argv[i], "kvsd") == 0)
				backend = KVMAP_KVSD;
			else if (strcmp(argv[i], "urcu") == 0)
				backend = KVMAP_URCU;
			else
				usage();
		} else
			usage();
	}
	if (nthreads < 2 || nthreads > MAX_THREADS || seconds <= 0 || opt_keys < 1)
		usage();
	nwriters = nthreads / 2;

	kvmap_setup();
	kvmap_thread_register();
	/* small: make it grow while checkers scan */
	map = kvmap_create(backend, backend == KVMAP_KVSD ? 1 : 16);
	for (int i = 0; i < STABLE_KEYS; i++) {
		snprintf(k, sizeof(k), "s:%d", i);
		if (kvmap_insert(map, make_entry(k, 7), NULL) != 0)
			fail("setup insert %s", k);
	}
	for (int j = 0; j < COUNTERS; j++) {
		snprintf(k, sizeof(k), "ctr:%d", j);
		kvmap_insert(map, kv_entry_new(k, strlen(k), "0", 1, 0), NULL);
	}
	kvmap_thread_offline(); /* main only sleeps while the others run */

	memset(st, 0, sizeof(st));
	for (int i = 0; i < nthreads; i++) {
		st[i].id = i;
		st[i].writer = i < nwriters;
		if (pthread_create(&st[i].tid, NULL, thread_main, &st[i]) != 0)
			fail("pthread_create");
	}
	struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	/* relaxed: see `stop` */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < nthreads; i++)
		pthread_join(st[i].tid, NULL);
	kvmap_thread_online();

	uint64_t ops = 0, retries = 0, rounds = 0, scans = 0;
	for (int i = 0; i < nthreads; i++) {
		ops += st[i].ops;
		retries += st[i].cas_retries;
		rounds += st[i].rounds;
		scans += st[i].scans;
	}
	for (int j = 0; j < COUNTERS; j++) {
		uint64_t want = 0;
		for (int i = 0; i < nthreads; i++)
			want += st[i].incs[j];
		snprintf(k, sizeof(k), "ctr:%d", j);
		const struct kv_entry *e = get(k);
		if (!e)
			fail("counter %s missing at the end", k);
		check_counter(e);
		unsigned long long got = counter_value(e);
		if (got != want)
			fail("counter %s = %llu, but %llu increments succeeded", k, got,
			     (unsigned long long)want);
	}
	for (int i = 0; i < STABLE_KEYS; i++) {
		snprintf(k, sizeof(k), "s:%d", i);
		const struct kv_entry *e = get(k);
		if (!e || check_value(e) != 7)
			fail("stable key %s lost or changed", k);
	}
	for (int t = 0; t < nwriters; t++)
		for (int i = 0; i < opt_keys; i++) {
			wkey(k, sizeof(k), t, i);
			if (get(k))
				fail("writer key %s left behind", k);
		}
	if (kvmap_count(map) != STABLE_KEYS + COUNTERS)
		fail("count %zu, expected %d", kvmap_count(map), STABLE_KEYS + COUNTERS);
	if (rounds == 0 || scans == 0)
		fail("too little progress (rounds %llu, scans %llu): raise --seconds",
		     (unsigned long long)rounds, (unsigned long long)scans);

	kvmap_destroy(&map);
	kvmap_thread_unregister();
	kvmap_teardown();
	if (kvmap_pending_bytes() != 0)
		fail("%lld retired bytes never freed", (long long)kvmap_pending_bytes());
	printf(
	    "stress_kvmap: ok: map=%s threads=%d writers=%d seconds=%g ops=%llu cas_retries=%llu "
	    "rounds=%llu scans=%llu\n",
	    backend == KVMAP_KVSD ? "kvsd" : "urcu", nthreads, nwriters, seconds,
	    (unsigned long long)ops, (unsigned long long)retries, (unsigned long long)rounds,
	    (unsigned long long)scans);
	return 0;
}
