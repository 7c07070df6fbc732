/*
 * kvmap_bench.c — build/bench/kvmap-bench: throughput of kvsd's map against
 * liburcu's cds_lfht and Concurrency Kit's ck_hs, in one process and one run.
 *
 *   kvmap-bench --map kvsd,urcu,ck --threads T --keys K --read-pct R
 *               --dist uniform|zipf[:theta] --duration S [--json FILE]
 *
 * Each listed map in turn: create, prefill K keys (16-byte keys, 64-byte
 * values) from the main thread, measure the growth of jemalloc's
 * stats.allocated per key (table included, once the tables that growth
 * replaced have been reclaimed: bytes_per_entry), then T threads
 * run for S seconds, each op a GET (R%) or a SET of a fresh entry over an
 * existing key (the rest), keys drawn uniform or zipfian (YCSB's generator,
 * Gray et al. 1994, theta default 0.99, ranks scattered over the key space).
 * cds_lfht is created with one bucket per key (its steady-state size); kvsd's
 * map and ck_hs grow from their defaults during the prefill.
 * Threads announce a quiescent state every 64 ops, as kvsd's workers do
 * between tasks. Prints Mops/s per map and the ratio to urcu (when urcu ran).
 *
 * ck: ck_hs in SPMC mode (one writer at a time, lock-free readers) behind a
 * pthread mutex for writers; replaced entries and ck_hs's old tables are
 * retired through the same epoch reclaimer kvsd's map uses. Every contender
 * allocates through jemalloc (the binary links it; liburcu and ck call malloc).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ck_hs.h>

#include "concurrency/mem.h"
#include "storage/kvmap.h"
#include "storage/kvmap_internal.h"

#define KLEN 16
#define VLEN 64

struct opts {
	int threads;
	size_t keys;
	int read_pct;
	bool zipf;
	double theta;
	double duration;
	const char *json;
};

static struct opts o = {.threads = 2, .keys = 100000, .read_pct = 90, .theta = 0.99, .duration = 1};
static char (*keys)[KLEN];
static uint64_t *hashes;
static char value[VLEN];

/* ---- the contenders behind one small interface. */

struct ck_map {
	ck_hs_t hs;
	pthread_mutex_t wlock;
	struct kv_entry **probe; /* key-only entries used as lookup keys */
};

struct contender {
	const char *name;
	struct kvmap *m;
	struct ck_map *ck;
};

static unsigned long ck_hash(const void *obj, unsigned long seed)
{
	const struct kv_entry *e = obj;
	(void)seed;
	return (unsigned long)kvmap_hash(kv_entry_key(e), e->klen);
}

static bool ck_cmp(const void *a, const void *b)
{
	const struct kv_entry *x = a, *y = b;
	return x->klen == y->klen && memcmp(kv_entry_key(x), kv_entry_key(y), x->klen) == 0;
}

static void *ck_malloc_fn(size_t n)
{
	return malloc(n);
}

static void ck_free_now(void *p)
{
	free(p);
}

static void ck_free_fn(void *p, size_t n, bool defer)
{
	if (defer)
		kvmap_retire(p, n, ck_free_now);
	else
		free(p);
}

static void *ck_realloc_fn(void *p, size_t old, size_t n, bool defer)
{
	(void)old;
	(void)defer;
	return realloc(p, n);
}

static struct ck_malloc ck_alloc = {
    .malloc = ck_malloc_fn, .realloc = ck_realloc_fn, .free = ck_free_fn};

static void entry_free_cb(void *p)
{
	kv_entry_free(p);
}

static const struct kv_entry *c_get(struct contender *c, size_t i)
{
	if (c->m)
		return kvmap_get(c->m, keys[i], KLEN, hashes[i]);
	return ck_hs_get(&c->ck->hs, (unsigned long)hashes[i], c->ck->probe[i]);
}

static void c_set(struct contender *c, size_t i)
{
	struct kv_entry *e = kv_entry_new(keys[i], KLEN, value, VLEN, 0);

	if (c->m) {
		kvmap_set(c->m, e);
		return;
	}
	void *prev = NULL;
	pthread_mutex_lock(&c->ck->wlock);
	bool ok = ck_hs_set(&c->ck->hs, (unsigned long)hashes[i], e, &prev);
	pthread_mutex_unlock(&c->ck->wlock);
	if (!ok)
		KV_PANIC("ck_hs_set failed");
	if (prev)
		kvmap_retire(prev, kv_entry_size(prev), entry_free_cb);
}

static void c_create(struct contender *c)
{
	if (strcmp(c->name, "kvsd") == 0)
		c->m = kvmap_create(KVMAP_KVSD, 0);
	else if (strcmp(c->name, "urcu") == 0)
		/* Sized for the keys up front (one bucket per key, the chain length
		 * its auto-resize aims for): its lazy resizes run in a helper
		 * thread and lag a one-thread prefill by whole seconds. */
		c->m = kvmap_create(KVMAP_URCU, o.keys);
	else {
		c->ck = calloc(1, sizeof(*c->ck));
		pthread_mutex_init(&c->ck->wlock, NULL);
		if (!ck_hs_init(&c->ck->hs, CK_HS_MODE_OBJECT | CK_HS_MODE_SPMC, ck_hash, ck_cmp,
				&ck_alloc, 1024, 0))
			KV_PANIC("ck_hs_init failed");
	}
}

static void c_destroy(struct contender *c)
{
	if (c->m) {
		kvmap_destroy(&c->m);
		return;
	}
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	void *p;
	while (ck_hs_next(&c->ck->hs, &it, &p))
		kv_entry_free(p);
	ck_hs_destroy(&c->ck->hs);
	for (size_t i = 0; i < o.keys; i++)
		kv_entry_free(c->ck->probe[i]);
	free(c->ck->probe);
	pthread_mutex_destroy(&c->ck->wlock);
	free(c->ck);
	c->ck = NULL;
}

/* ---- key choice. */

struct zipf {
	double theta, alpha, zetan, eta;
	size_t n;
};
static struct zipf zg;

static double zeta(size_t n, double theta)
{
	double s = 0;
	for (size_t i = 1; i <= n; i++)
		s += 1.0 / pow((double)i, theta);
	return s;
}

static void zipf_init(size_t n, double theta)
{
	double zeta2 = zeta(2, theta);

	zg.n = n;
	zg.theta = theta;
	zg.zetan = zeta(n, theta);
	zg.alpha = 1.0 / (1.0 - theta);
	zg.eta = (1 - pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / zg.zetan);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t pick(uint64_t *rng)
{
	uint64_t r = rng_next(rng);

	if (!o.zipf)
		return (size_t)(r % o.keys);
	double u = (double)(r >> 11) / 9007199254740992.0;
	double uz = u * zg.zetan;
	size_t rank;
	if (uz < 1.0)
		rank = 0;
	else if (uz < 1.0 + pow(0.5, zg.theta))
		rank = 1;
	else
		rank = (size_t)((double)zg.n * pow(zg.eta * u - zg.eta + 1, zg.alpha));
	if (rank >= o.keys)
		rank = o.keys - 1;
	/* scatter hot ranks over the key space (and so over the table) */
	return (size_t)((rank * 0x9e3779b97f4a7c15ULL) % o.keys);
}

/* ---- the run. */

static atomic_bool go, stop;
static struct contender *running;

struct worker {
	pthread_t tid;
	int id;
	uint64_t ops;
	char pad[64];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x51ed2701u * (uint64_t)(w->id + 1), ops = 0, sink = 0;

	kvmap_thread_register();
	/* relaxed: start/stop flags only; the data is published by the map */
	while (!atomic_load_explicit(&go, memory_order_relaxed))
		;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			size_t k = pick(&rng);
			if ((int)(rng_next(&rng) % 100) < o.read_pct) {
				const struct kv_entry *e = c_get(running, k);
				sink += e ? (unsigned char)kv_entry_val(e)[0] : 0;
			} else {
				c_set(running, k);
			}
		}
		ops += 64;
		kvmap_quiescent();
	}
	kvmap_thread_unregister();
	w->ops = ops + (sink == 1); /* keep the reads */
	return NULL;
}

struct result {
	const char *map;
	double mops, bytes_per_entry;
};

static struct result run_one(const char *name)
{
	struct contender c = {.name = name};
	struct result r = {.map = name};
	struct worker *w = calloc((size_t)o.threads, sizeof(*w));

	int64_t before = mem_jemalloc_allocated();
	c_create(&c);
	if (c.ck) {
		c.ck->probe = malloc(o.keys * sizeof(*c.ck->probe));
		for (size_t i = 0; i < o.keys; i++)
			c.ck->probe[i] = kv_entry_new(keys[i], KLEN, NULL, 0, 0);
		before = mem_jemalloc_allocated(); /* lookup keys are the bench's, not the map's */
	}
	for (size_t i = 0; i < o.keys; i++) {
		c_set(&c, i);
		/* cds_lfht resizes in its call_rcu thread, which waits for our
		 * quiescent states: announce them as a server worker would */
		if (i % 1024 == 0)
			kvmap_quiescent();
	}
	/* Steady state: tables replaced by growth are freed before we measure. */
	kvmap_quiescent();
	kvmap_teardown();
	int64_t after = mem_jemalloc_allocated();
	r.bytes_per_entry = before >= 0 ? (double)(after - before) / (double)o.keys : -1;

	running = &c;
	atomic_store(&go, false);
	atomic_store(&stop, false);
	kvmap_thread_offline();
	for (int i = 0; i < o.threads; i++) {
		w[i].id = i;
		pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
	}
	struct timespec t0, t1,
	    d = {(time_t)o.duration, (long)((o.duration - (time_t)o.duration) * 1e9)};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&go, true);
	nanosleep(&d, NULL);
	atomic_store(&stop, true);
	uint64_t ops = 0;
	for (int i = 0; i < o.threads; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kvmap_thread_online();
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	r.mops = (double)ops / secs / 1e6;

	c_destroy(&c);
	kvmap_teardown();
	free(w);
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: kvmap-bench [--map kvsd,urcu,ck] [--threads T] [--keys K] "
			"[--read-pct R] [--dist uniform|zipf[:theta]] [--duration S] "
			"[--json FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *maps = "kvsd,urcu,ck";
	char dist[32] = "uniform";

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		const char *a = argv[i], *v = argv[++i];
		if (strcmp(a, "--map") == 0)
			maps = v;
		else if (strcmp(a, "--threads") == 0)
			o.threads = atoi(v);
		else if (strcmp(a, "--keys") == 0)
			o.keys = (size_t)atoll(v);
		else if (strcmp(a, "--read-pct") == 0)
			o.read_pct = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			o.duration = atof(v);
		else if (strcmp(a, "--json") == 0)
			o.json = v;
		else if (strcmp(a, "--dist") == 0) {
			if (strcmp(v, "uniform") == 0)
				o.zipf = false;
			else if (strncmp(v, "zipf", 4) == 0) {
				o.zipf = true;
				if (v[4] == ':')
					o.theta = atof(v + 5);
				else if (v[4])
					usage();
				if (o.theta <= 0 || o.theta >= 1)
					usage();
			} else
				usage();
			snprintf(dist, sizeof(dist), "%s", o.zipf ? "zipf" : "uniform");
			if (o.zipf)
				snprintf(dist, sizeof(dist), "zipf:%.2f", o.theta);
		} else
			usage();
	}
	if (o.threads < 1 || o.keys < 1 || o.read_pct < 0 || o.read_pct > 100 || o.duration <= 0)
		usage();

	kvmap_setup();
	kvmap_thread_register();
	keys = malloc(o.keys * KLEN);
	hashes = malloc(o.keys * sizeof(*hashes));
	for (size_t i = 0; i < o.keys; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "key:%012zu", i % 1000000000000u);
		memcpy(keys[i], buf, KLEN);
		hashes[i] = kvmap_hash(keys[i], KLEN);
	}
	memset(value, 'v', sizeof(value));
	if (o.zipf)
		zipf_init(o.keys, o.theta);

	struct result res[8];
	int n = 0;
	char list[256];
	snprintf(list, sizeof(list), "%s", maps);
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < 8;
	     t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "kvsd") && strcmp(t, "urcu") && strcmp(t, "ck"))
			usage();
		res[n++] = run_one(t);
	}
	double urcu = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(res[i].map, "urcu") == 0)
			urcu = res[i].mops;

	FILE *j = o.json ? fopen(o.json, "w") : NULL;
	if (o.json && !j) {
		perror(o.json);
		return 1;
	}
	if (j)
		fputs("[\n", j);
	printf("kvmap-bench: threads=%d keys=%zu read_pct=%d dist=%s duration=%gs allocator=%s\n",
	       o.threads, o.keys, o.read_pct, dist, o.duration, mem_allocator_name());
	for (int i = 0; i < n; i++) {
		char ratio[32] = "null";
		if (urcu > 0)
			snprintf(ratio, sizeof(ratio), "%.3f", res[i].mops / urcu);
		printf("  %-5s %8.3f Mops/s  ratio_vs_urcu %-6s  bytes_per_entry %.1f\n",
		       res[i].map, res[i].mops, ratio, res[i].bytes_per_entry);
		if (j)
			fprintf(
			    j,
			    "  {\"map\": \"%s\", \"threads\": %d, \"keys\": %zu, \"read_pct\": %d, "
			    "\"dist\": \"%s\", \"duration\": %g, \"mops\": %.4f, "
			    "\"ratio_vs_urcu\": %s, \"bytes_per_entry\": %.2f}%s\n",
			    res[i].map, o.threads, o.keys, o.read_pct, dist, o.duration,
			    res[i].mops, ratio, res[i].bytes_per_entry, i + 1 < n ? "," : "");
	}
	if (j) {
		fputs("]\n", j);
		fclose(j);
	}
	kvmap_thread_unregister();
	kvmap_teardown();
	free(keys);
	free(hashes);
	return 0;
}
