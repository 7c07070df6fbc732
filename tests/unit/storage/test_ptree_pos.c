/*
 * test_ptree_pos.c — storage/ptree.c's positional mode (lists) against a
 * reference model (an array of weighted elements).
 *
 * Random sequences of pt_insert_at (at the ends, mostly, and at random
 * boundaries), pt_set_at (weight changes included), pt_del_at (at the ends,
 * mostly) run in edits of a few dozen operations; after every edit the tree
 * is compared with the model through every reader: pt_count (sum of
 * weights), pt_find_at and pt_at for every unit of some elements, whole
 * forward and backward iteration, and pt_iter_seek_at from random units.
 * Edits are dropped (the base must read as before), published with the old
 * version kept readable (re-checked after later edits), or retired for real,
 * so the ASan build's leak check covers the ownership rules in this mode too.
 * Element sizes cover inline records and out-of-line ones (list chunks).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "storage/kvmap.h"
#include "storage/ptree.h"

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

TestSuite(ptree_pos, .init = setup, .fini = teardown);

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct pe {
	uint64_t w;
	size_t len;
	unsigned char *b;
};

struct model {
	struct pe *v;
	size_t n, cap;
};

static size_t model_units(const struct model *m)
{
	size_t s = 0;
	for (size_t i = 0; i < m->n; i++)
		s += m->v[i].w;
	return s;
}

/* index of the element covering unit u; *start its first unit */
static size_t model_cover(const struct model *m, size_t u, size_t *start)
{
	size_t acc = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (u < acc + m->v[i].w) {
			*start = acc;
			return i;
		}
		acc += m->v[i].w;
	}
	cr_assert_fail("unit %zu beyond %zu", u, acc);
	return 0;
}

static size_t model_start(const struct model *m, size_t idx)
{
	size_t acc = 0;
	for (size_t i = 0; i < idx; i++)
		acc += m->v[i].w;
	return acc;
}

static struct model model_clone(const struct model *m)
{
	struct model c = {0};
	c.cap = c.n = m->n;
	c.v = malloc((c.cap ? c.cap : 1) * sizeof(*c.v));
	for (size_t i = 0; i < m->n; i++) {
		c.v[i] = m->v[i];
		c.v[i].b = malloc(m->v[i].len + 1);
		memcpy(c.v[i].b, m->v[i].b, m->v[i].len);
	}
	return c;
}

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].b);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static unsigned max_len = 40;

static struct pe gen_elem(void)
{
	struct pe e;
	e.w = 1 + rnd() % 4;
	unsigned r = (unsigned)(rnd() % 100);
	e.len = r < 5 ? 0 : r < 90 ? rnd() % max_len : 200 + rnd() % 900;
	e.b = malloc(e.len + 1);
	for (size_t i = 0; i < e.len; i++)
		e.b[i] = (unsigned char)rnd();
	return e;
}

static void expect_same(const struct pt_elem *t, const struct pe *m, const char *what)
{
	cr_assert_eq(t->key, m->w, "%s: weight", what);
	cr_assert_eq(t->alen, 0, "%s: alen", what);
	cr_assert_eq(t->blen, m->len, "%s: len %zu vs %zu", what, t->blen, m->len);
	cr_assert(m->len == 0 || memcmp(t->b, m->b, m->len) == 0, "%s: bytes", what);
}

static void check(const struct pt_node *root, const struct model *m)
{
	size_t units = model_units(m);
	cr_assert_eq(pt_count(root), units);
	struct pt_iter it;
	struct pt_elem e;
	pt_iter_seek_at(&it, root, 0, NULL);
	for (size_t i = 0; i < m->n; i++) {
		cr_assert(pt_iter_next(&it, &e));
		expect_same(&e, &m->v[i], "forward");
	}
	cr_assert_not(pt_iter_next(&it, &e));
	if (units) {
		size_t st;
		pt_iter_seek_at(&it, root, units - 1, &st);
		cr_assert_eq(st, units - m->v[m->n - 1].w);
		for (size_t i = m->n; i-- > 0;) {
			cr_assert(pt_iter_prev(&it, &e));
			expect_same(&e, &m->v[i], "backward");
		}
		cr_assert_not(pt_iter_prev(&it, &e));
	}
	for (int k = 0; k < 8 && units; k++) {
		size_t u = rnd() % units, st, mst;
		size_t idx = model_cover(m, u, &mst);
		cr_assert(pt_find_at(root, u, &e, &st));
		cr_assert_eq(st, mst);
		expect_same(&e, &m->v[idx], "find_at");
		cr_assert(pt_at(root, u, &e));
		expect_same(&e, &m->v[idx], "at");
		pt_iter_seek_at(&it, root, u, &st);
		cr_assert_eq(st, mst);
		for (size_t i = idx; i < m->n && i < idx + 40; i++) {
			cr_assert(pt_iter_next(&it, &e));
			expect_same(&e, &m->v[i], "walk");
		}
	}
	cr_assert_not(pt_find_at(root, units, &e, NULL));
}

#define KEEP 4
struct version {
	struct pt_node *root;
	struct model snap;
	void **old;
	size_t nold;
};

static void free_old(void **old, size_t n)
{
	pt_old_free(old, n); /* entries are tagged (ptree.h) */
}

/* one random positional op on (ed, m); ends: percentage of ops at the ends */
static void one_op(struct pt_edit *ed, struct model *m, unsigned ins_pct, unsigned ends)
{
	unsigned op = (unsigned)(rnd() % 100);
	bool end = rnd() % 100 < ends;
	if (op < ins_pct || m->n == 0) {
		size_t idx = end ? (rnd() % 2 ? m->n : 0) : rnd() % (m->n + 1);
		struct pe x = gen_elem();
		struct pt_elem e = {x.w, NULL, 0, (const char *)x.b, x.len};
		pt_insert_at(ed, 0, model_start(m, idx), &e);
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 16;
			m->v = realloc(m->v, m->cap * sizeof(*m->v));
		}
		memmove(m->v + idx + 1, m->v + idx, (m->n - idx) * sizeof(*m->v));
		m->v[idx] = x;
		m->n++;
	} else if (op < ins_pct + 15) {
		size_t idx = rnd() % m->n;
		size_t st = model_start(m, idx);
		struct pe x = gen_elem();
		struct pt_elem e = {x.w, NULL, 0, (const char *)x.b, x.len};
		pt_set_at(ed, 0, st + rnd() % m->v[idx].w, &e);
		free(m->v[idx].b);
		m->v[idx] = x;
	} else if (op < ins_pct + 20) {
		/* replace an element with a copy of itself read from the tree */
		size_t idx = rnd() % m->n;
		struct pt_elem e;
		cr_assert(pt_find_at(ed->root[0], model_start(m, idx), &e, NULL));
		pt_set_at(ed, 0, model_start(m, idx), &e);
	} else {
		size_t idx = end ? (rnd() % 2 ? m->n - 1 : 0) : rnd() % m->n;
		size_t st = model_start(m, idx);
		cr_assert_eq(pt_del_at(ed, 0, st + rnd() % m->v[idx].w), m->v[idx].w);
		free(m->v[idx].b);
		memmove(m->v + idx, m->v + idx + 1, (m->n - idx - 1) * sizeof(*m->v));
		m->n--;
	}
}

static void run(uint64_t seed, size_t ops, size_t batch, unsigned ends)
{
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	struct model m = {0};
	struct pt_node *root = NULL;
	struct version hist[KEEP];
	size_t nhist = 0, done = 0;
	while (done < ops) {
		struct pt_edit ed;
		pt_edit_begin(&ed, root, NULL);
		struct model before = model_clone(&m);
		unsigned phase = (unsigned)(done / (ops / 6 + 1));
		unsigned ins_pct = phase % 3 == 2 ? 25 : 60;
		for (size_t k = 0; k < batch; k++, done++)
			one_op(&ed, &m, ins_pct, ends);
		if (rnd() % 30 == 0) { /* drain to empty from the ends */
			while (m.n) {
				bool head = rnd() % 2;
				size_t idx = head ? 0 : m.n - 1;
				cr_assert_eq(pt_del_at(&ed, 0, head ? 0 : model_units(&m) - 1),
					     m.v[idx].w);
				free(m.v[idx].b);
				memmove(m.v + idx, m.v + idx + 1, (m.n - idx - 1) * sizeof(*m.v));
				m.n--;
			}
			cr_assert_null(ed.root[0]);
		}
		check(ed.root[0], &m);
		unsigned fate = (unsigned)(rnd() % 100);
		if (fate < 15) {
			pt_edit_drop(&ed);
			model_free(&m);
			m = before;
			check(root, &m);
		} else if (fate < 30) {
			for (size_t h = 0; h < nhist; h++) {
				free_old(hist[h].old, hist[h].nold);
				model_free(&hist[h].snap);
			}
			nhist = 0;
			root = ed.root[0];
			pt_edit_retire(&ed);
			kvmap_quiescent();
			model_free(&before);
		} else {
			if (nhist == KEEP) {
				free_old(hist[0].old, hist[0].nold);
				model_free(&hist[0].snap);
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
		model_free(&hist[h].snap);
	}
	check(root, &m);
	pt_free(root);
	model_free(&m);
}

Test(ptree_pos, random_anywhere)
{
	max_len = 40;
	for (uint64_t s = 1; s <= 3; s++)
		run(s, 6000, 40, 0);
}

Test(ptree_pos, random_mostly_ends)
{
	max_len = 60;
	for (uint64_t s = 4; s <= 6; s++)
		run(s, 8000, 60, 90);
}

Test(ptree_pos, random_fat)
{
	max_len = 250;
	run(7, 4000, 30, 50);
}

/* A queue: push at the tail, pop at the head, many times over: the tree
 * stays shallow and small, and pops never merge (the edge leaf empties). */
Test(ptree_pos, queue_and_deque)
{
	struct pt_edit ed;
	pt_edit_begin(&ed, NULL, NULL);
	char b[24]; /* %015zu of a size_t may need 20 digits (-Wformat-truncation); ours fit 15 */
	size_t head = 0, tail = 0;
	for (int round = 0; round < 200000; round++) {
		snprintf(b, sizeof(b), "%015zu", tail++);
		struct pt_elem e = {1, NULL, 0, b, 15};
		pt_insert_at(&ed, 0, pt_count(ed.root[0]), &e);
		if (round % 3 != 0 || round < 1000) {
			/* keep about 1000..67000 elements */
		} else {
			continue;
		}
		if (pt_count(ed.root[0]) > 1000) {
			struct pt_elem x;
			cr_assert(pt_at(ed.root[0], 0, &x));
			snprintf(b, sizeof(b), "%015zu", head++);
			cr_assert(x.blen == 15 && memcmp(x.b, b, 15) == 0);
			cr_assert_eq(pt_del_at(&ed, 0, 0), 1);
		}
	}
	cr_assert_eq(pt_count(ed.root[0]), tail - head);
	struct pt_iter it;
	struct pt_elem x;
	pt_iter_seek_at(&it, ed.root[0], 0, NULL);
	for (size_t i = head; i < tail; i++) {
		cr_assert(pt_iter_next(&it, &x));
		snprintf(b, sizeof(b), "%015zu", i);
		cr_assert(memcmp(x.b, b, 15) == 0);
	}
	cr_expect_leq(it.depth, 3);
	size_t bytes = pt_bytes(ed.root[0]);
	fprintf(stderr, "ptree positional queue: %zu elements, %.1f bytes/element\n", tail - head,
		(double)bytes / (double)(tail - head));
	/* pops from the head only: every leaf but the edge one is full */
	cr_expect_lt(bytes / (tail - head), 40);
	/* and drain it from both ends */
	while (pt_count(ed.root[0]))
		pt_del_at(&ed, 0, (pt_count(ed.root[0]) & 1) ? 0 : pt_count(ed.root[0]) - 1);
	cr_assert_null(ed.root[0]);
	pt_edit_retire(&ed);
}
