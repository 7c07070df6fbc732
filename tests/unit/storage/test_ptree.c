/*
 * test_ptree.c — storage/ptree.c against a reference model (a sorted array).
 *
 * Random operation sequences (puts, replaces, deletes of present and absent
 * elements) run in edits of a few hundred operations each; after every edit
 * the tree is compared with the model through every reader: count, get,
 * rank (with and without a), pt_rank_key_le, pt_at, whole forward and
 * backward iteration, and short walks from random ranks. The element mix
 * covers what the users put in: few distinct keys (hash collisions, equal
 * scores) so `a` decides the order, empty a, binary bytes with NULs, long
 * common prefixes (long separators), and elements above PT_INLINE_MAX (out
 * of line).
 *
 * Versions: an edit is either dropped (pt_edit_drop: the base must read as
 * before), published and kept readable (its `old` list is held back, as the
 * epoch reclaimer would while readers remain, and every kept version is
 * re-checked against its own snapshot of the model after later edits), or
 * published and retired for real (pt_edit_retire -> kvmap_defer) when no
 * older version is kept. Everything is freed at the end (kvmap_teardown
 * flushes the deferred frees), so the ASan build's leak check covers the
 * ownership rules. A 1M-element build checks the depth and prints the bytes
 * per element of the two shapes the types use. Sanitizer builds run each random
 * configuration under its first seed only (tests/unit/sanitized.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "storage/kvmap.h"
#include "storage/ptree.h"
#include "tests/unit/sanitized.h"

static void setup(void)
{
	kvmap_setup();
	kvmap_thread_register();
}

static void teardown(void)
{
	kvmap_teardown();
	kvmap_thread_unregister();
}

TestSuite(ptree, .init = setup, .fini = teardown);

/* ---- the model */

struct relem {
	uint64_t key;
	unsigned char *a, *b;
	size_t alen, blen;
};

struct ref {
	struct relem *v;
	size_t n, cap;
};

static int rcmp(uint64_t k1, const void *a1, size_t l1, uint64_t k2, const void *a2, size_t l2)
{
	if (k1 != k2)
		return k1 < k2 ? -1 : 1;
	size_t m = l1 < l2 ? l1 : l2;
	int c = m ? memcmp(a1, a2, m) : 0;
	if (c)
		return c;
	return l1 < l2 ? -1 : l1 > l2;
}

static size_t ref_lower(const struct ref *r, uint64_t key, const void *a, size_t alen)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct relem *e = &r->v[mid];
		if (rcmp(e->key, e->a, e->alen, key, a, alen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool ref_has(const struct ref *r, size_t i, uint64_t key, const void *a, size_t alen)
{
	return i < r->n && rcmp(r->v[i].key, r->v[i].a, r->v[i].alen, key, a, alen) == 0;
}

static unsigned char *dup(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	if (n)
		memcpy(d, p, n);
	return d;
}

static bool ref_put(struct ref *r, const struct pt_elem *e)
{
	size_t i = ref_lower(r, e->key, e->a, e->alen);
	if (ref_has(r, i, e->key, e->a, e->alen)) {
		free(r->v[i].b);
		r->v[i].b = dup(e->b, e->blen);
		r->v[i].blen = e->blen;
		return false;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
	}
	memmove(r->v + i + 1, r->v + i, (r->n - i) * sizeof(*r->v));
	r->v[i] = (struct relem){e->key, dup(e->a, e->alen), dup(e->b, e->blen), e->alen, e->blen};
	r->n++;
	return true;
}

static bool ref_del(struct ref *r, uint64_t key, const void *a, size_t alen)
{
	size_t i = ref_lower(r, key, a, alen);
	if (!ref_has(r, i, key, a, alen))
		return false;
	free(r->v[i].a);
	free(r->v[i].b);
	memmove(r->v + i, r->v + i + 1, (r->n - i - 1) * sizeof(*r->v));
	r->n--;
	return true;
}

static struct ref ref_clone(const struct ref *r)
{
	struct ref c = {malloc((r->n ? r->n : 1) * sizeof(*r->v)), r->n, r->n};
	for (size_t i = 0; i < r->n; i++) {
		c.v[i] = r->v[i];
		c.v[i].a = dup(r->v[i].a, r->v[i].alen);
		c.v[i].b = dup(r->v[i].b, r->v[i].blen);
	}
	return c;
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].a);
		free(r->v[i].b);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- random elements */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

struct mix {
	uint64_t keys;	  /* keys drawn from [0, keys) (0: any 64-bit) */
	unsigned maxa;	  /* a: up to this many bytes ... */
	unsigned prefix;  /* ... after this many common bytes, on half the elements */
	unsigned big_pct; /* elements made larger than PT_INLINE_MAX */
	bool fat;	  /* a + b at or near PT_INLINE_MAX (fullest inline records) */
};

static unsigned char abuf[2048], bbuf[2048];

static void gen(const struct mix *m, struct pt_elem *e)
{
	e->key = m->keys ? rnd() % m->keys : rnd();
	if (rnd() % 50 == 0)
		e->key = (rnd() & 1) ? UINT64_MAX : 0;
	size_t pre = (m->prefix && (rnd() & 1)) ? m->prefix : 0;
	memset(abuf, 'p', pre);
	size_t alen = pre + rnd() % (m->maxa + 1);
	/* a small alphabet with NULs: equal prefixes and ties are common */
	for (size_t i = pre; i < alen; i++)
		abuf[i] = (unsigned char)(rnd() % 4);
	size_t blen = rnd() % 24;
	if (rnd() % 100 < m->big_pct) {
		if (rnd() & 1)
			blen = 200 + rnd() % 1500;
		else
			while (alen < 300)
				abuf[alen++] = (unsigned char)(rnd() % 4);
	}
	if (m->fat) {
		while (alen < 256 && rnd() % 8)
			abuf[alen++] = (unsigned char)(rnd() % 4);
		size_t want = PT_INLINE_MAX - rnd() % 4 + (rnd() % 8 == 0); /* 253 .. 257 */
		blen = want > alen ? want - alen : 0;
	}
	for (size_t i = 0; i < blen; i++)
		bbuf[i] = (unsigned char)rnd();
	e->a = (const char *)abuf;
	e->alen = alen;
	e->b = (const char *)bbuf;
	e->blen = blen;
}

/* ---- checking a tree against the model */

static void expect_elem(const struct pt_elem *e, const struct relem *r, const char *what, size_t i)
{
	cr_assert(e->key == r->key && e->alen == r->alen && e->blen == r->blen &&
		      !memcmp(e->a, r->a, r->alen) && !memcmp(e->b, r->b, r->blen),
		  "%s: element %zu differs", what, i);
}

/* The prefetch walks (pt_descend, pt_descend_at: server/prefetch.c) end on
 * the leaf that holds what pt_get and pt_at find, in as many steps as the
 * tree is deep. A subtree's node is a root for the readers. */
static void check_descend(const struct pt_node *root, const struct ref *r, size_t i, int depth)
{
	const struct relem *x = &r->v[i];
	const struct pt_node *n = root, *ch;
	struct pt_elem e;
	int steps = 0;

	pt_prefetch(root);
	while ((ch = pt_descend(n, x->key, x->a, x->alen)) != NULL) {
		n = ch;
		steps++;
	}
	cr_assert_eq(steps, depth - 1, "pt_descend: %d steps, depth %d", steps, depth);
	cr_assert(pt_get(n, x->key, x->a, x->alen, &e), "pt_descend's leaf lacks %zu", i);
	expect_elem(&e, x, "pt_descend", i);
	size_t at = i;
	n = root;
	steps = 0;
	while ((ch = pt_descend_at(n, &at)) != NULL) {
		n = ch;
		steps++;
	}
	cr_assert_eq(steps, depth - 1, "pt_descend_at: %d steps, depth %d", steps, depth);
	cr_assert_lt(at, pt_count(n));
	cr_assert(pt_at(n, at, &e));
	expect_elem(&e, x, "pt_descend_at", i);
}

static void check(const struct pt_node *root, const struct ref *r)
{
	cr_assert_eq(pt_count(root), r->n);
	struct pt_iter it;
	struct pt_elem e;
	pt_iter_seek(&it, root, 0);
	for (size_t i = 0; i < r->n; i++) {
		cr_assert(pt_iter_next(&it, &e), "forward iteration ended at %zu of %zu", i, r->n);
		expect_elem(&e, &r->v[i], "next", i);
	}
	cr_assert(!pt_iter_next(&it, &e));
	pt_iter_seek(&it, root, r->n);
	cr_assert(!pt_iter_next(&it, &e));
	cr_assert(!pt_iter_prev(&it, &e));
	if (r->n) {
		pt_iter_seek(&it, root, r->n - 1);
		for (size_t i = r->n; i-- > 0;) {
			cr_assert(pt_iter_prev(&it, &e), "backward iteration ended at %zu", i);
			expect_elem(&e, &r->v[i], "prev", i);
		}
		cr_assert(!pt_iter_prev(&it, &e));
	}
	size_t step = r->n > 4000 ? r->n / 2000 : 1;
	for (size_t i = 0; i < r->n; i += step) {
		const struct relem *x = &r->v[i];
		cr_assert(pt_at(root, i, &e));
		expect_elem(&e, x, "pt_at", i);
		cr_assert(pt_get(root, x->key, x->a, x->alen, &e), "get %zu", i);
		expect_elem(&e, x, "pt_get", i);
		cr_assert_eq(pt_rank(root, x->key, x->a, x->alen), i);
		cr_assert_eq(pt_rank(root, x->key, NULL, 0), ref_lower(r, x->key, NULL, 0));
		size_t le = x->key == UINT64_MAX ? r->n : ref_lower(r, x->key + 1, NULL, 0);
		cr_assert_eq(pt_rank_key_le(root, x->key), le);
	}
	cr_assert(!pt_at(root, r->n, &e));
	if (r->n) { /* balanced: all leaves at one depth, O(log n) of them */
		pt_iter_seek(&it, root, r->n / 2);
		int depth = it.depth + 1, bound = 2;
		for (size_t x = r->n; x > 1; x /= 4)
			bound++;
		cr_assert_leq(depth, bound, "depth %d for %zu elements", depth, r->n);
		for (size_t i = 0; i < r->n; i += step)
			check_descend(root, r, i, depth);
		check_descend(root, r, r->n - 1, depth);
	}
	/* short walks from random ranks, both ways */
	for (int w = 0; w < 8 && r->n; w++) {
		size_t i0 = rnd() % r->n;
		pt_iter_seek(&it, root, i0);
		for (size_t i = i0; i < r->n && i < i0 + 50; i++) {
			cr_assert(pt_iter_next(&it, &e));
			expect_elem(&e, &r->v[i], "walk next", i);
		}
		pt_iter_seek(&it, root, i0);
		for (size_t i = i0 + 1; i-- > 0 && i + 50 > i0;) {
			cr_assert(pt_iter_prev(&it, &e));
			expect_elem(&e, &r->v[i], "walk prev", i);
		}
	}
	/* absent and random lookups */
	struct mix any = {64, 6, 0, 0, false};
	for (int q = 0; q < 64; q++) {
		struct pt_elem g;
		gen(&any, &g);
		size_t i = ref_lower(r, g.key, g.a, g.alen);
		bool has = ref_has(r, i, g.key, g.a, g.alen);
		cr_assert_eq(pt_get(root, g.key, g.a, g.alen, NULL), has);
		cr_assert_eq(pt_rank(root, g.key, g.a, g.alen), i);
		size_t le = g.key == UINT64_MAX ? r->n : ref_lower(r, g.key + 1, NULL, 0);
		cr_assert_eq(pt_rank_key_le(root, g.key), le);
	}
}

/* ---- versions kept readable */

#define KEEP 4
struct version {
	struct pt_node *root;
	struct ref snap;
	void **old; /* nodes of this version the next one replaced */
	size_t nold;
};

static void free_old(void **old, size_t n)
{
	pt_old_free(old, n); /* entries are tagged (ptree.h) */
}

static void run(uint64_t seed, const struct mix *m, size_t ops, size_t batch)
{
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	struct ref r = {0};
	struct pt_node *root = NULL;
	struct version hist[KEEP];
	size_t nhist = 0;
	size_t done = 0;
	while (done < ops) {
		struct pt_edit ed;
		pt_edit_begin(&ed, root, NULL);
		struct ref before = ref_clone(&r);
		unsigned phase = (unsigned)(done / (ops / 8 + 1)); /* grow, churn, shrink... */
		unsigned put_pct = (phase % 4 == 3) ? 25 : 60;
		bool wipe = rnd() % 40 == 0;
		for (size_t k = 0; k < batch; k++, done++) {
			struct pt_elem e;
			unsigned op = (unsigned)(rnd() % 100);
			if (op < put_pct) {
				gen(m, &e);
				cr_assert_eq(pt_put(&ed, 0, &e), ref_put(&r, &e));
			} else if (op < put_pct + 30 && r.n) {
				const struct relem *x = &r.v[rnd() % r.n];
				uint64_t key = x->key;
				unsigned char *a = dup(x->a, x->alen);
				size_t alen = x->alen;
				cr_assert(pt_del(&ed, 0, key, a, alen));
				cr_assert(ref_del(&r, key, a, alen));
				free(a);
			} else {
				gen(m, &e);
				cr_assert_eq(pt_del(&ed, 0, e.key, e.a, e.alen),
					     ref_del(&r, e.key, e.a, e.alen));
			}
		}
		if (wipe) { /* one edit that ends empty */
			while (r.n) {
				struct relem x = r.v[rnd() % r.n];
				unsigned char *a = dup(x.a, x.alen);
				cr_assert(pt_del(&ed, 0, x.key, a, x.alen));
				cr_assert(ref_del(&r, x.key, a, x.alen));
				free(a);
			}
			cr_assert_null(ed.root[0]);
		}
		check(ed.root[0], &r);
		unsigned fate = (unsigned)(rnd() % 100);
		if (fate < 15) { /* never published */
			pt_edit_drop(&ed);
			ref_free(&r);
			r = before;
			check(root, &r);
		} else if (fate < 30) { /* published, retired for real */
			/* readers of the kept versions are gone: let them go first */
			for (size_t h = 0; h < nhist; h++) {
				free_old(hist[h].old, hist[h].nold);
				ref_free(&hist[h].snap);
			}
			nhist = 0;
			root = ed.root[0];
			pt_edit_retire(&ed);
			kvmap_quiescent();
			ref_free(&before);
		} else { /* published; the old version stays readable */
			if (nhist == KEEP) {
				free_old(hist[0].old, hist[0].nold);
				ref_free(&hist[0].snap);
				memmove(hist, hist + 1, (KEEP - 1) * sizeof(hist[0]));
				nhist--;
			}
			hist[nhist++] = (struct version){root, before, ed.old, ed.nold};
			root = ed.root[0];
			for (size_t h = 0; h < nhist; h++)
				check(hist[h].root, &hist[h].snap);
		}
	}
	for (size_t h = 0; h < nhist; h++) {
		check(hist[h].root, &hist[h].snap);
		free_old(hist[h].old, hist[h].nold);
		ref_free(&hist[h].snap);
	}
	check(root, &r);
	pt_free(root);
	ref_free(&r);
}

Test(ptree, random_wide_keys)
{
	struct mix m = {0, 12, 0, 2, false};
	for (uint64_t s = 1; s <= TEST_SEEDS(3); s++)
		run(s, &m, 100000, 500);
}

Test(ptree, random_colliding_keys)
{
	struct mix m = {8, 10, 0, 3, false};
	for (uint64_t s = 11; s < 11 + TEST_SEEDS(3); s++)
		run(s, &m, 100000, 300);
}

Test(ptree, random_long_prefixes)
{
	struct mix m = {2, 8, 120, 5, false};
	for (uint64_t s = 21; s < 21 + TEST_SEEDS(2); s++)
		run(s, &m, 100000, 300);
}

Test(ptree, random_big_elements)
{
	struct mix m = {1000, 20, 0, 40, false};
	run(31, &m, 50000, 200);
}

Test(ptree, random_fat_records)
{
	struct mix m = {3, 30, 0, 0, true};
	for (uint64_t s = 51; s < 51 + TEST_SEEDS(2); s++)
		run(s, &m, 40000, 200);
}

Test(ptree, inline_boundary)
{
	static char a[300], b[300];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	struct {
		size_t alen, blen;
	} c[] = {{0, 0},   {0, 256}, {256, 0}, {128, 128}, {129, 128}, {254, 2},
		 {254, 3}, {255, 0}, {255, 1}, {1, 255},   {300, 300}};
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		a[0] = (char)('A' + i);
		struct pt_elem e = {7, a, c[i].alen, b, c[i].blen};
		if (!c[i].alen)
			e.key = 6 - i;
		cr_assert(pt_put(&ed, 0, &e));
	}
	struct pt_node *root = ed.root[0];
	pt_edit_retire(&ed);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		a[0] = (char)('A' + i);
		struct pt_elem e;
		cr_assert(pt_get(root, c[i].alen ? 7 : 6 - i, a, c[i].alen, &e), "case %zu", i);
		cr_assert(e.alen == c[i].alen && e.blen == c[i].blen && !memcmp(e.a, a, e.alen) &&
			  !memcmp(e.b, b, e.blen));
	}
	pt_free(root);
}

/* Writes whose arguments point into the tree being written (ZINCRBY puts
 * back the member it read; ZREMRANGEBYRANK deletes what pt_at returned). */
Test(ptree, arguments_from_the_tree)
{
	rng = 61;
	struct mix m = {4, 10, 0, 20, false};
	struct ref r = {0};
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	for (int i = 0; i < 3000; i++) {
		struct pt_elem e;
		gen(&m, &e);
		pt_put(&ed, 0, &e);
		ref_put(&r, &e);
	}
	struct pt_node *root = ed.root[0];
	pt_edit_retire(&ed);
	for (int round = 0; round < 6; round++) {
		pt_edit_begin(&ed, root, NULL);
		for (int i = 0; i < 400 && r.n; i++) {
			struct pt_elem e;
			size_t at = rnd() % r.n;
			cr_assert(pt_at(ed.root[0], at, &e));
			if (i % 3 == 0) {
				cr_assert(pt_del(&ed, 0, e.key, e.a, e.alen));
				cr_assert(ref_del(&r, r.v[at].key, r.v[at].a, r.v[at].alen));
				continue;
			}
			/* same (key, a), b from the tree too, or a new b that turns it
			 * out of line and back */
			struct pt_elem n = e;
			if (i % 3 == 2) {
				n.b = (const char *)bbuf;
				n.blen = (e.blen > 100) ? 5 : 400;
				memset(bbuf, 'q' + i % 5, n.blen);
			}
			cr_assert(!ref_put(&r, &n)); /* first: the put may move n's bytes */
			cr_assert(!pt_put(&ed, 0, &n));
		}
		check(ed.root[0], &r);
		root = ed.root[0];
		pt_edit_retire(&ed);
		kvmap_quiescent();
	}
	pt_free(root);
	ref_free(&r);
}

Test(ptree, single_key_empty_a)
{
	/* one key, a of length 0..2 over {0..3}: at most 21 elements */
	struct mix m = {1, 2, 0, 0, false};
	run(41, &m, 20000, 50);
}

Test(ptree, drop_keeps_base)
{
	rng = 7;
	struct mix m = {0, 14, 0, 1, false};
	struct ref r = {0};
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	for (int i = 0; i < 20000; i++) {
		struct pt_elem e;
		gen(&m, &e);
		pt_put(&ed, 0, &e);
		ref_put(&r, &e);
	}
	struct pt_node *base = ed.root[0];
	pt_edit_retire(&ed);
	/* an edit that rewrites, deletes everything, refills, then is dropped */
	pt_edit_begin(&ed, base, NULL);
	for (size_t i = 0; i < r.n; i += 3) {
		struct pt_elem e = {r.v[i].key, (const char *)r.v[i].a, r.v[i].alen, "x", 1};
		cr_assert(!pt_put(&ed, 0, &e));
	}
	for (size_t i = 0; i < r.n; i++)
		cr_assert(pt_del(&ed, 0, r.v[i].key, r.v[i].a, r.v[i].alen));
	cr_assert_null(ed.root[0]);
	for (int i = 0; i < 5000; i++) {
		struct pt_elem e;
		gen(&m, &e);
		pt_put(&ed, 0, &e);
	}
	pt_edit_drop(&ed);
	check(base, &r);
	/* an edit that deletes everything and is published */
	pt_edit_begin(&ed, base, NULL);
	for (size_t i = 0; i < r.n; i++)
		cr_assert(pt_del(&ed, 0, r.v[i].key, r.v[i].a, r.v[i].alen));
	cr_assert_null(ed.root[0]);
	pt_edit_retire(&ed);
	ref_free(&r);
}

Test(ptree, two_trees_one_edit)
{
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	for (uint64_t i = 0; i < 3000; i++) {
		char a[16];
		int n = snprintf(a, sizeof(a), "m%llu", (unsigned long long)i);
		struct pt_elem e0 = {pt_score_key((double)i / 3), a, (size_t)n, NULL, 0};
		struct pt_elem e1 = {i * 0x9E3779B97F4A7C15ULL, a, (size_t)n, "s", 1};
		cr_assert(pt_put(&ed, 0, &e0));
		cr_assert(pt_put(&ed, 1, &e1));
	}
	cr_assert_eq(pt_count(ed.root[0]), 3000);
	cr_assert_eq(pt_count(ed.root[1]), 3000);
	struct pt_elem e;
	cr_assert(pt_at(ed.root[0], 2999, &e));
	cr_assert_eq(pt_key_score(e.key), 2999.0 / 3);
	struct pt_node *r0 = ed.root[0], *r1 = ed.root[1];
	pt_edit_retire(&ed);
	pt_free(r0);
	/* the background freer's slices */
	struct pt_freeing *f = pt_free_start(r1);
	size_t steps = 0;
	while (f) {
		f = pt_free_step(f, 3);
		steps++;
	}
	cr_assert_gt(steps, 2);
	cr_assert_null(pt_free_start(NULL));
}

Test(ptree, score_keys)
{
	double v[] = {-__builtin_inf(), -1e308, -2.5, -1,    -1e-300,	     -0.0, 0.0,
		      1e-300,		1,	2.5,  1e308, __builtin_inf()};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i] != 0)
			cr_expect_eq(pt_key_score(pt_score_key(v[i])), v[i]);
		for (size_t j = 0; j < sizeof(v) / sizeof(v[0]); j++) {
			uint64_t a = pt_score_key(v[i]), b = pt_score_key(v[j]);
			cr_expect_eq(v[i] < v[j], a < b, "%g vs %g", v[i], v[j]);
			cr_expect_eq(v[i] == v[j], a == b, "%g vs %g", v[i], v[j]);
		}
	}
	cr_expect_eq(pt_key_score(pt_score_key(-0.0)), 0.0);
	uint64_t g1 = pt_gen_next(), g2 = pt_gen_next();
	cr_expect_neq(g1, 0);
	cr_expect_gt(g2, g1);
}

static void big_build(const char *what, size_t n, size_t blen, size_t *bytes, int *depth)
{
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	rng = 99;
	char a[16], b[16];
	memset(b, 'v', sizeof(b));
	for (size_t i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "field:%08zu", i); /* 14 bytes */
		struct pt_elem e = {rnd(), a, 14, b, blen};
		pt_put(&ed, 0, &e);
	}
	struct pt_node *root = ed.root[0];
	pt_edit_retire(&ed);
	cr_assert_eq(pt_count(root), n);
	struct pt_iter it;
	pt_iter_seek(&it, root, n / 2);
	*depth = it.depth + 1;
	*bytes = pt_bytes(root);
	fprintf(stderr, "ptree %s: %zu elements, %.1f bytes/element, depth %d\n", what, n,
		(double)*bytes / (double)n, *depth);
	/* delete most of it in edits of 1000: depth must come down */
	for (size_t i = 0; i < n - 1000; i += 1000) {
		pt_edit_begin(&ed, root, NULL);
		for (size_t j = 0; j < 1000; j++) {
			struct pt_elem e;
			cr_assert(pt_at(ed.root[0], pt_count(ed.root[0]) / 2, &e));
			uint64_t key = e.key;
			char ab[16];
			memcpy(ab, e.a, 14);
			cr_assert(pt_del(&ed, 0, key, ab, 14));
		}
		root = ed.root[0];
		pt_edit_retire(&ed);
		kvmap_quiescent();
	}
	cr_assert_eq(pt_count(root), 1000);
	pt_iter_seek(&it, root, 0);
	cr_expect_leq(it.depth + 1, 3, "depth %d for 1000 elements", it.depth + 1);
	cr_expect_lt(pt_bytes(root), 1000 * 100);
	pt_free(root);
}

Test(ptree, million_hash_like, .timeout = 120)
{
	size_t bytes;
	int depth;
	size_t n = TEST_OPS(1000000); /* half a million under a sanitizer */

	big_build("hash-like (a 14 B, b 3 B)", n, 3, &bytes, &depth);
	cr_expect_lt(bytes / n, 60);
	cr_expect_leq(depth, 5);
}

Test(ptree, million_zset_dict_like, .timeout = 120)
{
	size_t bytes;
	int depth;
	size_t n = TEST_OPS(1000000); /* half a million under a sanitizer */

	big_build("zset-dict-like (a 14 B, b 8 B)", n, 8, &bytes, &depth);
	cr_expect_lt(bytes / n, 66);
	cr_expect_leq(depth, 5);
}

Test(ptree, sequential_fill)
{
	/* ascending keys (increasing scores): leaves stay full */
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	for (size_t i = 0; i < 200000; i++) {
		struct pt_elem e = {pt_score_key((double)i), "member:00000", 12, NULL, 0};
		pt_put(&ed, 0, &e);
	}
	struct pt_node *root = ed.root[0];
	pt_edit_retire(&ed);
	size_t bytes = pt_bytes(root);
	fprintf(stderr, "ptree ascending: %.1f bytes/element\n", (double)bytes / 200000);
	cr_expect_lt(bytes / 200000, 45);
	/* and descending */
	pt_edit_begin(&ed, root, NULL);
	for (size_t i = 0; i < 200000; i++) {
		struct pt_elem e = {pt_score_key(-(double)i - 1), "member:00000", 12, NULL, 0};
		pt_put(&ed, 0, &e);
	}
	root = ed.root[0];
	pt_edit_retire(&ed);
	cr_assert_eq(pt_count(root), 400000);
	struct pt_elem e;
	cr_assert(pt_at(root, 0, &e));
	cr_expect_eq(pt_key_score(e.key), -200000.0);
	cr_assert(pt_at(root, 399999, &e));
	cr_expect_eq(pt_key_score(e.key), 199999.0);
	pt_free(root);
}
