/*
 * stress_list_ends.c — large lists' end chunks under concurrent pushes and
 * pops at both ends (storage/tlist.c, "End chunks": in-place appends behind
 * an atomic claim), with readers holding old versions: a plain, time-boxed
 * program, also run under ThreadSanitizer (where a write into bytes an old
 * version can read, or an unordered publish, is reported as a race).
 *
 * KEYS large lists (list-max-listpack-size 2: a list of three items is
 * already a tree with end chunks) are prefilled. For --seconds S:
 *  - WRITERS threads LPUSH / RPUSH unique items ("w<thread>:<seq>", in
 *    batches of 1..3) and LPOP / RPOP (COUNT 1..3) on random keys through
 *    tlist_push / tlist_pop (the plain view's CAS loop, as the handlers),
 *    keeping every item they popped;
 *  - READERS threads take a key's current version, read it whole (items
 *    copied), then keep holding it (no quiescent state) while the writers
 *    go on, and read it again a few times: it must read exactly the same,
 *    and every item must be well-formed and unique within the version.
 * Then: the items popped plus the items left in the lists are exactly the
 * items pushed, each once (element conservation). Prints one summary line;
 * exits 1 with a message on the first violation.
 *
 * Usage: stress_list_ends [--seconds S]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concurrency/mem.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/tlist.h"

#define KEYS	  3
#define WRITERS	  3
#define READERS	  2
#define PREFILL	  3000
#define MAX_ITEMS (1 << 22)

static struct db *db;
/* set by main after the deadline; relaxed: a flag polled in loops, it
 * publishes nothing (pthread_join orders what the threads wrote) */
static atomic_bool stop;
static atomic_llong reads_checked;

/* per writer: items pushed (count) and popped (ids), read after join */
struct wstate {
	long long pushed;
	long long *popped;
	size_t npopped, cap;
};
static struct wstate ws[WRITERS + 1]; /* [WRITERS]: the prefill */

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "stress_list_ends: FAIL: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static const char *key_name(int k)
{
	static const char *const n[KEYS] = {"K0", "K1", "K2"};
	return n[k];
}

/* an item: "w<thread>:<seq>" padded to 8..39 bytes with a pattern of seq */
static size_t make_item(char *buf, int t, long long seq)
{
	int n = snprintf(buf, 64, "w%d:%lld:", t, seq);
	int pad = 8 + (int)(seq % 32) - n;
	for (int i = 0; i < pad; i++)
		buf[n++] = (char)('a' + (seq + i) % 26);
	buf[n] = '\0';
	return (size_t)n;
}

/* parses an item back; false if malformed */
static bool parse_item(const char *p, size_t len, int *t, long long *seq)
{
	char b[64], want[64];
	if (len == 0 || len >= sizeof(b) || p[0] != 'w')
		return false;
	memcpy(b, p, len);
	b[len] = '\0';
	if (sscanf(b, "w%d:%lld:", t, seq) != 2 || *t < 0 || *t > WRITERS || *seq < 0 ||
	    *seq >= MAX_ITEMS)
		return false;
	return make_item(want, *t, *seq) == len && memcmp(want, p, len) == 0;
}

static void record_pop(struct wstate *w, const char *p, size_t len)
{
	int t;
	long long seq;
	if (!parse_item(p, len, &t, &seq))
		fail("popped a malformed item", NULL);
	if (w->npopped == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->popped = realloc(w->popped, w->cap * sizeof(*w->popped));
	}
	w->popped[w->npopped++] = (long long)t * MAX_ITEMS + seq;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void push(int t, int k, enum tlist_end end, int n)
{
	char bufs[3][64];
	const char *p[3];
	size_t l[3];
	for (int i = 0; i < n; i++) {
		l[i] = make_item(bufs[i], t, ws[t].pushed++);
		p[i] = bufs[i];
	}
	if (tlist_push(db_plain(db), key_name(k), 2, end, (size_t)n, p, l, true, 0) <= 0)
		fail("push", key_name(k));
	db_coll_end();
}

static void *writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t r = 0x1234567u + (uint64_t)t * 104729;

	kvmap_thread_register();
	/* relaxed: see `stop` */
	for (long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		uint64_t x = rng_next(&r);
		int k = (int)(x % KEYS);
		enum tlist_end end = (x >> 8) & 1 ? TLIST_HEAD : TLIST_TAIL;
		int n = 1 + (int)((x >> 16) % 3);
		if ((x >> 24) % 2 == 0 && ws[t].pushed + 3 < MAX_ITEMS) {
			push(t, k, end, n);
		} else {
			struct tlist_popped out;
			int rc = tlist_pop(db_plain(db), key_name(k), 2, end, n, 0, &out);
			db_coll_end();
			if (rc < 0)
				fail("pop: wrong type", NULL);
			for (size_t j = 0; rc == 1 && j < out.n; j++)
				record_pop(&ws[t], out.elem[j], out.len[j]);
			if (rc == 1)
				tlist_popped_free(&out);
		}
		if (i % 64 == 0)
			kvmap_quiescent();
	}
	kvmap_quiescent();
	kvmap_thread_unregister();
	return NULL;
}

/* a version's items, copied */
struct snap {
	char **p;
	size_t *len, n;
};

static void snap_take(const struct kv_entry *e, struct snap *s)
{
	struct tlist_iter it;
	const char *p;
	size_t len;
	s->n = tlist_len(e);
	s->p = malloc((s->n + 1) * sizeof(*s->p));
	s->len = malloc((s->n + 1) * sizeof(*s->len));
	size_t i = 0;
	tlist_iter_init(&it, e, 0, true);
	while (tlist_iter_next(&it, &p, &len)) {
		if (i == s->n)
			fail("reader", "more items than tlist_len");
		s->p[i] = malloc(len + 1);
		memcpy(s->p[i], p, len);
		s->len[i++] = len;
	}
	tlist_iter_done(&it);
	if (i != s->n)
		fail("reader", "fewer items than tlist_len");
}

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->p[i]);
	free(s->p);
	free(s->len);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* the held version reads as it did: forward, backward, by index */
static void snap_check(const struct kv_entry *e, const struct snap *s)
{
	struct tlist_iter it;
	const char *p;
	size_t len, i = 0;
	if (tlist_len(e) != s->n)
		fail("held version", "length changed");
	tlist_iter_init(&it, e, 0, true);
	for (; tlist_iter_next(&it, &p, &len); i++)
		if (i >= s->n || len != s->len[i] || memcmp(p, s->p[i], len) != 0)
			fail("held version", "forward read changed");
	tlist_iter_done(&it);
	if (i != s->n)
		fail("held version", "forward count changed");
	if (s->n) {
		tlist_iter_init(&it, e, s->n - 1, false);
		for (i = s->n; tlist_iter_next(&it, &p, &len);) {
			i--;
			if (len != s->len[i] || memcmp(p, s->p[i], len) != 0)
				fail("held version", "backward read changed");
		}
		tlist_iter_done(&it);
		for (size_t j = 0; j < s->n; j += 1 + s->n / 31)
			if (!tlist_index(e, j, &p, &len) || len != s->len[j] ||
			    memcmp(p, s->p[j], len) != 0)
				fail("held version", "index read changed");
	}
}

static void *reader(void *arg)
{
	uint64_t r = 0x777u + (uint64_t)(intptr_t)arg;

	kvmap_thread_register();
	/* relaxed: see `stop` */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int k = (int)(rng_next(&r) % KEYS);
		const struct kv_entry *e = db_lookup(db_plain(db), key_name(k), 2, 0, NULL, 0);
		if (!e) {
			kvmap_quiescent();
			continue;
		}
		struct snap s;
		snap_take(e, &s);
		/* well-formed and unique within the version */
		long long *ids = malloc((s.n + 1) * sizeof(*ids));
		for (size_t i = 0; i < s.n; i++) {
			int t;
			long long seq;
			if (!parse_item(s.p[i], s.len[i], &t, &seq))
				fail("reader", "malformed item");
			ids[i] = (long long)t * MAX_ITEMS + seq;
		}
		qsort(ids, s.n, sizeof(*ids), cmp_ll);
		for (size_t i = 1; i < s.n; i++)
			if (ids[i] == ids[i - 1])
				fail("reader", "an item twice in one version");
		free(ids);
		/* hold it (online, no quiescent state) while writers go on */
		for (int round = 0; round < 4; round++) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
			snap_check(e, &s);
		}
		snap_free(&s);
		/* relaxed: statistics only */
		atomic_fetch_add_explicit(&reads_checked, 1, memory_order_relaxed);
		kvmap_quiescent();
	}
	kvmap_thread_unregister();
	return NULL;
}

static void dummy_sha1(const void *p, size_t n, uint8_t out[20])
{
	(void)p;
	(void)n;
	memset(out, 0, 20);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	pthread_t w[WRITERS], rd[READERS];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: stress_list_ends [--seconds S]\n");
			return 2;
		}
	}
	kvmap_setup();
	coll_setup();
	tlist_setup(dummy_sha1);
	coll_set_limit(COLL_LIST_MAX_SIZE, 2);
	kvmap_thread_register();
	db = db_create(KVMAP_KVSD);
	if (!db)
		fail("db_create", NULL);
	for (int k = 0; k < KEYS; k++)
		for (int i = 0; i < PREFILL; i += 3)
			push(WRITERS, k, i % 2 ? TLIST_HEAD : TLIST_TAIL, 3);
	kvmap_quiescent();
	kvmap_thread_offline();
	for (int t = 0; t < WRITERS; t++)
		pthread_create(&w[t], NULL, writer, (void *)(intptr_t)t);
	for (int t = 0; t < READERS; t++)
		pthread_create(&rd[t], NULL, reader, (void *)(intptr_t)t);
	struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
	/* relaxed: see `stop` */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int t = 0; t < WRITERS; t++)
		pthread_join(w[t], NULL);
	for (int t = 0; t < READERS; t++)
		pthread_join(rd[t], NULL);
	kvmap_thread_online();

	/* conservation: popped + left == pushed, each item once */
	size_t total = 0, n = 0;
	for (int t = 0; t <= WRITERS; t++)
		total += (size_t)ws[t].pushed;
	long long *all = malloc((total + 1) * sizeof(*all));
	for (int t = 0; t <= WRITERS; t++)
		for (size_t i = 0; i < ws[t].npopped; i++) {
			if (n == total)
				fail("conservation", "more items popped than pushed");
			all[n++] = ws[t].popped[i];
		}
	size_t popped = n;
	for (int k = 0; k < KEYS; k++) {
		struct tlist_popped out;
		while (tlist_pop(db_plain(db), key_name(k), 2, TLIST_HEAD, 1000, 0, &out) == 1) {
			for (size_t j = 0; j < out.n; j++) {
				int t;
				long long seq;
				if (!parse_item(out.elem[j], out.len[j], &t, &seq))
					fail("drain", "malformed item");
				if (n == total)
					fail("conservation", "more items than pushed");
				all[n++] = (long long)t * MAX_ITEMS + seq;
			}
			tlist_popped_free(&out);
		}
		db_coll_end();
	}
	if (n != total)
		fail("conservation", "items lost");
	qsort(all, n, sizeof(*all), cmp_ll);
	for (size_t i = 0; i < n; i++) {
		if (i && all[i] == all[i - 1])
			fail("conservation", "an item delivered twice");
		if (all[i] % MAX_ITEMS >= ws[all[i] / MAX_ITEMS].pushed)
			fail("conservation", "an item never pushed");
	}
	free(all);
	for (int t = 0; t <= WRITERS; t++)
		free(ws[t].popped);
	kvmap_quiescent();
	db_destroy(&db);
	db_coll_thread_exit();
	kvmap_thread_unregister();
	kvmap_teardown();
	coll_drain();
	coll_teardown();
	/* relaxed: the readers were joined */
	printf("stress_list_ends: ok: pushed=%zu popped=%zu held-version checks=%lld\n", total,
	       popped, atomic_load_explicit(&reads_checked, memory_order_relaxed));
	return 0;
}
