/*
 * stress_ptree.c — storage/ptree.c's versions under concurrent readers, a
 * plain time-boxed program so that it also runs under ThreadSanitizer and
 * AddressSanitizer.
 *
 * One writer keeps publishing versions of one tree through an _Atomic root
 * pointer, as the entry CAS does in the server: each round begins an edit on
 * the current root, puts and deletes a few random elements (some of them out
 * of line, many sharing a key so `a` decides their order), rewrites the
 * version element (key 0, empty a: always rank 0, b = the version number),
 * records the version's element count and checksum in a side table, and
 * then publishes the root (release) and retires the edit (kvmap_defer), or
 * now and then drops it unpublished (pt_edit_drop). Every few rounds it
 * starts a new "lineage" from scratch and pt_free()s the old one through
 * kvmap_defer, as coll.c retires a deleted key.
 *
 * Readers (--readers, default 2) load the root (acquire) inside their epoch
 * section and check what they see is one whole version: the version element
 * names it, and the count, a full in-order walk (strictly increasing (key,
 * a), every element's b derived from its key and a), the checksum over the
 * walk and a backward walk all agree with the side table's entry for that
 * version; random pt_at / pt_rank / pt_get probes agree with each other. A
 * node freed too early, written in place after publishing, or torn shows up
 * as a mismatch (or as an ASan / TSan report). Any violation prints a
 * message and exits 1; success prints one summary line.
 *
 * --positional runs the same over a positional tree (ptree.h: lists): the
 * writer inserts at random boundaries and at the ends, replaces and deletes
 * elements (weights 1..4 in the key, a unique id in a, b derived from
 * both), and rewrites the version element at unit 0 with pt_set_at; the
 * readers check the count of units, the walk's element checksums both ways,
 * and that pt_find_at and pt_iter_seek_at agree on the element covering a
 * random unit and where it starts.
 */
#include <errno.h>
#include <pthread.h>
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
#include "storage/ptree.h"

#define MAX_READERS  8
#define MAX_VERSIONS (1u << 20)

/* The published version: written by the writer (release), read by readers (acquire). */
static _Atomic(struct pt_node *) published;
/* set by main when time is up; relaxed: a stale read only delays a thread's exit by a round */
static atomic_bool stop;
/* --positional (set before the threads start) */
static bool positional;

/* Per version: element count (without the version element) and checksum.
 * The writer fills entry v before publishing version v (the release store of
 * `published` orders them); readers read it after the acquire load. Each entry
 * is written once. */
struct vinfo {
	uint64_t count, sum;
};
static struct vinfo *vtab;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("stress_ptree: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	_exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

/* b of element (key, a): its length and bytes follow from (key, a), so a
 * reader can check every element it meets. */
static size_t make_b(uint64_t key, const char *a, size_t alen, char *b)
{
	uint64_t h = fnv(fnv(0xcbf29ce484222325ULL, &key, 8), a, alen);
	size_t n = (h % 16 == 0) ? 300 + h % 700 : h % 20; /* one in 16 out of line */
	for (size_t i = 0; i < n; i++)
		b[i] = (char)(h >> (i % 8 * 8)) ^ (char)i;
	return n;
}

static uint64_t elem_sum(const struct pt_elem *e)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, &e->key, 8);
	h = fnv(h, e->a, e->alen);
	return fnv(h, e->b, e->blen);
}

static void check_b(const struct pt_elem *e)
{
	char b[1024];
	size_t n = make_b(e->key, e->a, e->alen, b);
	if (n != e->blen || memcmp(b, e->b, n) != 0)
		fail("element key %llu: b does not match its (key, a)", (unsigned long long)e->key);
}

static int cmp(const struct pt_elem *x, const struct pt_elem *y)
{
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	size_t m = x->alen < y->alen ? x->alen : y->alen;
	int c = m ? memcmp(x->a, y->a, m) : 0;
	if (c)
		return c;
	return x->alen < y->alen ? -1 : x->alen > y->alen;
}

/* ---- the writer */

static void free_version(void *root)
{
	pt_free(root);
}

struct wstats {
	uint64_t versions, drops, lineages, ops;
};

static void rand_a(uint64_t *s, char *a, size_t *alen, uint64_t *key)
{
	*key = 1 + rng_next(s) % 300; /* few keys: a decides the order */
	*alen = rng_next(s) % 6;
	if (rng_next(s) % 64 == 0)
		*alen = 260 + rng_next(s) % 100; /* out of line by its a */
	for (size_t i = 0; i < *alen; i++)
		a[i] = (char)(rng_next(s) % 3);
}

static void *writer_main(void *arg)
{
	struct wstats *ws = arg;
	uint64_t s = 12345;
	uint64_t count = 0, sum = 0, version = 0;
	struct pt_node *root = NULL;
	kvmap_thread_register();
	char a[512], b[1024];
	while (!atomic_load_explicit(&stop, memory_order_relaxed) && version + 1 < MAX_VERSIONS) {
		struct pt_edit ed;
		bool fresh = version % 250 == 249; /* a new lineage now and then */
		pt_edit_begin(&ed, fresh ? NULL : root, NULL);
		uint64_t ncount = fresh ? 0 : count, nsum = fresh ? 0 : sum;
		unsigned nops = 1 + (unsigned)(rng_next(&s) % 40);
		unsigned put_pct = ncount < 2000 ? 70 : 45;
		for (unsigned i = 0; i < nops; i++) {
			uint64_t key;
			size_t alen;
			rand_a(&s, a, &alen, &key);
			struct pt_elem old;
			bool had = pt_get(ed.root[0], key, a, alen, &old);
			uint64_t oldsum = had ? elem_sum(&old) : 0;
			if (rng_next(&s) % 100 < put_pct) {
				size_t blen = make_b(key, a, alen, b);
				struct pt_elem e = {key, a, alen, b, blen};
				if (pt_put(&ed, 0, &e) == had)
					fail("writer: pt_put's answer disagrees with pt_get");
				nsum += elem_sum(&e) - oldsum;
				ncount += !had;
			} else {
				if (pt_del(&ed, 0, key, a, alen) != had)
					fail("writer: pt_del's answer disagrees with pt_get");
				nsum -= oldsum;
				ncount -= had;
			}
			ws->ops++;
		}
		if (rng_next(&s) % 10 == 0) { /* lost the CAS: never published */
			pt_edit_drop(&ed);
			ws->drops++;
			kvmap_quiescent();
			continue;
		}
		version++;
		uint64_t vb = version;
		struct pt_elem ve = {0, "", 0, (const char *)&vb, sizeof(vb)};
		pt_put(&ed, 0, &ve);
		vtab[version] = (struct vinfo){ncount, nsum};
		/* release: the version's nodes and vtab[version] before the root; pairs
		 * with the readers' acquire load */
		atomic_store_explicit(&published, ed.root[0], memory_order_release);
		struct pt_node *prev = root;
		root = ed.root[0];
		pt_edit_retire(&ed);
		if (fresh && prev) { /* the old lineage: nobody reaches it after a grace period */
			kvmap_defer(prev, pt_bytes(prev), free_version);
			ws->lineages++;
		}
		count = ncount;
		sum = nsum;
		ws->versions++;
		kvmap_quiescent();
	}
	kvmap_thread_unregister();
	return root; /* the last version: main frees it after the readers stopped */
}

/* The positional writer: units 1.. are elements of weight 1..4 with a unique
 * 8-byte id in a; unit 0 is the version element. */
static void *writer_pos_main(void *arg)
{
	struct wstats *ws = arg;
	uint64_t s = 54321, id = 0;
	uint64_t count = 0, sum = 0, version = 0;
	struct pt_node *root = NULL;
	kvmap_thread_register();
	char b[1024];
	while (!atomic_load_explicit(&stop, memory_order_relaxed) && version + 1 < MAX_VERSIONS) {
		struct pt_edit ed;
		bool fresh = version % 250 == 249;
		pt_edit_begin(&ed, fresh ? NULL : root, NULL);
		uint64_t ncount = fresh ? 0 : count, nsum = fresh ? 0 : sum;
		unsigned nops = 1 + (unsigned)(rng_next(&s) % 40);
		unsigned ins_pct = ncount < 3000 ? 60 : 35;
		uint64_t v0 = 0;
		struct pt_elem ve = {1, "", 0, (const char *)&v0, sizeof(v0)};
		if (!ed.root[0]) /* the version element's place, rewritten below */
			pt_insert_at(&ed, 0, 0, &ve);
		for (unsigned i = 0; i < nops; i++) {
			uint64_t r = rng_next(&s) % 100;
			uint64_t units = pt_count(ed.root[0]); /* with the version element */
			bool end = rng_next(&s) % 2 == 0;
			struct pt_elem old;
			size_t st = 1;
			if (units > 1) {
				uint64_t u = end ? (rng_next(&s) % 2 ? 1 : units - 1)
						 : 1 + rng_next(&s) % (units - 1);
				if (!pt_find_at(ed.root[0], u, &old, &st) || st < 1 || st > u ||
				    u >= st + old.key)
					fail("writer: pt_find_at(%llu) is wrong",
					     (unsigned long long)u);
			}
			if (units <= 1 || r < ins_pct || r >= ins_pct + 30) {
				char a[8];
				uint64_t nid = ++id;
				memcpy(a, &nid, 8);
				uint64_t w = 1 + rng_next(&s) % 4;
				size_t blen = make_b(w, a, 8, b);
				struct pt_elem e = {w, a, 8, b, blen};
				if (units <= 1 || r < ins_pct) {
					/* before the element found, or at the end */
					uint64_t at =
					    units <= 1 || (end && rng_next(&s) % 2) ? units : st;
					pt_insert_at(&ed, 0, at, &e);
					ncount += w;
					nsum += elem_sum(&e);
				} else {
					uint64_t oldsum = elem_sum(&old), oldw = old.key;
					pt_set_at(&ed, 0, st + rng_next(&s) % oldw, &e);
					ncount += w - oldw;
					nsum += elem_sum(&e) - oldsum;
				}
			} else {
				uint64_t oldsum = elem_sum(&old), oldw = old.key;
				if (pt_del_at(&ed, 0, st + rng_next(&s) % oldw) != oldw)
					fail(
					    "writer: pt_del_at's weight disagrees with pt_find_at");
				ncount -= oldw;
				nsum -= oldsum;
			}
			ws->ops++;
		}
		if (rng_next(&s) % 10 == 0) {
			pt_edit_drop(&ed);
			ws->drops++;
			kvmap_quiescent();
			continue;
		}
		version++;
		uint64_t vb = version;
		ve.b = (const char *)&vb;
		pt_set_at(&ed, 0, 0, &ve);
		vtab[version] = (struct vinfo){ncount, nsum};
		/* release: pairs with the readers' acquire load (see writer_main) */
		atomic_store_explicit(&published, ed.root[0], memory_order_release);
		struct pt_node *prev = root;
		root = ed.root[0];
		pt_edit_retire(&ed);
		if (fresh && prev) {
			kvmap_defer(prev, pt_bytes(prev), free_version);
			ws->lineages++;
		}
		count = ncount;
		sum = nsum;
		ws->versions++;
		kvmap_quiescent();
	}
	kvmap_thread_unregister();
	return root;
}

/* ---- readers */

struct rstats {
	pthread_t tid;
	uint64_t reads, elems, seed;
};

static void read_pos_once(struct rstats *rs)
{
	/* acquire: pairs with the writer's release store */
	const struct pt_node *root = atomic_load_explicit(&published, memory_order_acquire);
	if (!root)
		return;
	struct pt_elem ve, e;
	if (!pt_at(root, 0, &ve) || ve.key != 1 || ve.alen != 0 || ve.blen != 8)
		fail("reader: no version element at unit 0");
	uint64_t v;
	memcpy(&v, ve.b, 8);
	if (v == 0 || v >= MAX_VERSIONS)
		fail("reader: bad version %llu", (unsigned long long)v);
	struct vinfo want = vtab[v];
	size_t n = pt_count(root);
	if (n != want.count + 1)
		fail("reader: version %llu has %zu units, expected %llu", (unsigned long long)v, n,
		     (unsigned long long)want.count + 1);
	struct pt_iter it;
	uint64_t sum = 0, units = 1, back = 0, bsum = 0;
	size_t st;
	pt_iter_seek_at(&it, root, 1, &st);
	while (pt_iter_next(&it, &e)) {
		check_b(&e);
		sum += elem_sum(&e);
		units += e.key;
	}
	if (units != n || sum != want.sum)
		fail("reader: version %llu: walked %llu units of %zu, checksum %s",
		     (unsigned long long)v, (unsigned long long)units, n,
		     sum == want.sum ? "ok" : "wrong");
	pt_iter_seek_at(&it, root, n - 1, &st);
	while (pt_iter_prev(&it, &e)) {
		if (e.alen)
			bsum += elem_sum(&e);
		back += e.key;
	}
	if (back != n || bsum != want.sum)
		fail("reader: version %llu: backward walk differs", (unsigned long long)v);
	for (int q = 0; q < 8; q++) {
		size_t u = rng_next(&rs->seed) % n, s1, s2;
		struct pt_elem f;
		if (!pt_find_at(root, u, &e, &s1) || s1 > u || u >= s1 + e.key)
			fail("reader: pt_find_at(%zu) of %zu is wrong", u, n);
		pt_iter_seek_at(&it, root, u, &s2);
		if (!pt_iter_next(&it, &f) || s2 != s1 || f.b != e.b)
			fail("reader: pt_iter_seek_at disagrees with pt_find_at at %zu", u);
	}
	rs->elems += n;
	rs->reads++;
}

static void read_once(struct rstats *rs)
{
	if (positional) {
		read_pos_once(rs);
		return;
	}
	/* acquire: pairs with the writer's release store; the nodes and vtab entry are visible */
	const struct pt_node *root = atomic_load_explicit(&published, memory_order_acquire);
	if (!root)
		return;
	struct pt_elem ve;
	if (!pt_at(root, 0, &ve) || ve.key != 0 || ve.alen != 0 || ve.blen != 8)
		fail("reader: no version element at rank 0");
	uint64_t v;
	memcpy(&v, ve.b, 8);
	if (v == 0 || v >= MAX_VERSIONS)
		fail("reader: bad version %llu", (unsigned long long)v);
	struct vinfo want = vtab[v];
	size_t n = pt_count(root);
	if (n != want.count + 1)
		fail("reader: version %llu has count %zu, expected %llu", (unsigned long long)v, n,
		     (unsigned long long)want.count + 1);
	struct pt_iter it;
	struct pt_elem e, prev = ve;
	uint64_t sum = 0;
	size_t seen = 1;
	pt_iter_seek(&it, root, 1);
	while (pt_iter_next(&it, &e)) {
		if (cmp(&prev, &e) >= 0)
			fail("reader: version %llu out of order at rank %zu", (unsigned long long)v,
			     seen);
		check_b(&e);
		sum += elem_sum(&e);
		prev = e;
		seen++;
	}
	if (seen != n || sum != want.sum)
		fail("reader: version %llu: walked %zu elements (count %zu), checksum %s",
		     (unsigned long long)v, seen, n, sum == want.sum ? "ok" : "wrong");
	/* backwards, and random probes */
	pt_iter_seek(&it, root, n - 1);
	size_t back = 0;
	uint64_t bsum = 0;
	while (pt_iter_prev(&it, &e)) {
		if (e.key != 0)
			bsum += elem_sum(&e);
		back++;
	}
	if (back != n || bsum != want.sum)
		fail("reader: version %llu: backward walk differs", (unsigned long long)v);
	for (int q = 0; q < 8; q++) {
		size_t i = rng_next(&rs->seed) % n;
		if (!pt_at(root, i, &e))
			fail("reader: pt_at(%zu) of %zu failed", i, n);
		if (pt_rank(root, e.key, e.a, e.alen) != i)
			fail("reader: pt_rank disagrees with pt_at at %zu", i);
		struct pt_elem g;
		if (!pt_get(root, e.key, e.a, e.alen, &g) || g.b != e.b)
			fail("reader: pt_get disagrees with pt_at at %zu", i);
		if (pt_rank_key_le(root, e.key) <= i)
			fail("reader: pt_rank_key_le too small at %zu", i);
	}
	rs->elems += n;
	rs->reads++;
}

static void *reader_main(void *arg)
{
	struct rstats *rs = arg;
	kvmap_thread_register();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		read_once(rs);
		kvmap_quiescent(); /* holds no node from here */
	}
	kvmap_thread_unregister();
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress_ptree [--seconds N] [--readers 1..%d] [--positional]\n",
		MAX_READERS);
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int nreaders = 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--positional") == 0) {
			positional = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--readers") == 0)
			nreaders = atoi(argv[++i]);
		else
			usage();
	}
	if (seconds <= 0 || nreaders < 1 || nreaders > MAX_READERS)
		usage();
	kvmap_setup();
	vtab = calloc(MAX_VERSIONS, sizeof(*vtab));
	if (!vtab)
		fail("calloc");

	struct wstats ws = {0};
	struct rstats rs[MAX_READERS];
	memset(rs, 0, sizeof(rs));
	pthread_t wt;
	if (pthread_create(&wt, NULL, positional ? writer_pos_main : writer_main, &ws) != 0)
		fail("pthread_create");
	for (int i = 0; i < nreaders; i++) {
		rs[i].seed = 777 + (uint64_t)i;
		if (pthread_create(&rs[i].tid, NULL, reader_main, &rs[i]) != 0)
			fail("pthread_create");
	}
	struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	/* relaxed: see `stop` */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	void *last;
	pthread_join(wt, &last);
	uint64_t reads = 0, elems = 0;
	for (int i = 0; i < nreaders; i++) {
		pthread_join(rs[i].tid, NULL);
		reads += rs[i].reads;
		elems += rs[i].elems;
	}
	kvmap_teardown();
	pt_free(last);
	if (kvmap_pending_bytes() != 0)
		fail("%lld retired bytes never freed", (long long)kvmap_pending_bytes());
	if (ws.versions == 0 || reads == 0)
		fail("too little progress (versions %llu, reads %llu): raise --seconds",
		     (unsigned long long)ws.versions, (unsigned long long)reads);
	free(vtab);
	printf("stress_ptree: ok:%s seconds=%g readers=%d versions=%llu drops=%llu lineages=%llu "
	       "ops=%llu reads=%llu elements_read=%llu\n",
	       positional ? " positional" : "", seconds, nreaders, (unsigned long long)ws.versions,
	       (unsigned long long)ws.drops, (unsigned long long)ws.lineages,
	       (unsigned long long)ws.ops, (unsigned long long)reads, (unsigned long long)elems);
	return 0;
}
