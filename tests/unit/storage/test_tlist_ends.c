/*
 * test_tlist_ends.c — a large list's end chunks and their claim
 * (storage/tlist.c, "End chunks"): pushes append in place into the end
 * chunk shared by successive versions, so what must hold is that no
 * version's bytes are ever written again. Sessions are started from the
 * same published version as concurrent commands would (a second coll_ctx
 * stands for another thread's), and every version involved — published,
 * superseded but still held, or built and never published — is read back
 * whole (length, index, iteration both ways, digest) against a model:
 *  - two pushes from one version: the first claims the chunk's free bytes
 *    and appends in place, the second finds the claim moved and copies;
 *    both results and the base version read right, and the loser's result
 *    is dropped as a lost CAS drops it (its claimed bytes stay wasted: the
 *    next push from the base version copies too);
 *  - pop then push in one session, and push after a published pop: the
 *    popped bytes are not overwritten (the older version still reads its
 *    last items), the push copies;
 *  - at the head end the same (a head chunk fills downward);
 *  - an old version held (no quiescent state) while thousands of pushes
 *    and pops at both ends, through the db's CAS path, publish newer ones:
 *    it reads exactly as it did.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "server/sha1.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "db_fixture.h"
#include "storage/tlist.h"

static void setup_types(void)
{
	tlist_setup(sha1);
}

static void init(void)
{
	db_fixture_open(setup_types);
}

static void fini(void)
{
	db_fixture_close();
}

TestSuite(tlist_ends, .init = init, .fini = fini);

#define MAXN 20000

/* a model: items are "i<id>" strings, ids kept in list order */
struct model {
	long long v[MAXN];
	size_t n;
};

static size_t item(long long id, char *buf)
{
	return (size_t)snprintf(buf, 32, "i%lld", id);
}

static void m_push(struct model *m, enum tlist_end end, long long id)
{
	cr_assert_lt(m->n, MAXN);
	if (end == TLIST_HEAD) {
		memmove(m->v + 1, m->v, m->n * sizeof(*m->v));
		m->v[0] = id;
	} else {
		m->v[m->n] = id;
	}
	m->n++;
}

static long long m_pop(struct model *m, enum tlist_end end)
{
	long long id = end == TLIST_HEAD ? m->v[0] : m->v[m->n - 1];
	if (end == TLIST_HEAD)
		memmove(m->v, m->v + 1, (m->n - 1) * sizeof(*m->v));
	m->n--;
	return id;
}

static void expect(const char *p, size_t len, long long id, const char *what, size_t i)
{
	char b[32];
	size_t l = item(id, b);
	cr_assert(len == l && memcmp(p, b, l) == 0, "%s %zu: '%.*s' vs '%s'", what, i, (int)len, p,
		  b);
}

/* Reads the version e whole against m. */
static void check(const struct kv_entry *e, const struct model *m, const char *what)
{
	const char *p;
	size_t len;
	struct tlist_iter it;

	cr_assert_not_null(e, "%s: no entry", what);
	cr_assert_eq(tlist_len(e), m->n, "%s: length %zu vs %zu", what, tlist_len(e), m->n);
	tlist_iter_init(&it, e, 0, true);
	for (size_t i = 0; i < m->n; i++) {
		cr_assert(tlist_iter_next(&it, &p, &len), "%s: forward ends at %zu", what, i);
		expect(p, len, m->v[i], what, i);
	}
	cr_assert_not(tlist_iter_next(&it, &p, &len));
	tlist_iter_done(&it);
	tlist_iter_init(&it, e, m->n - 1, false);
	for (size_t i = m->n; i-- > 0;) {
		cr_assert(tlist_iter_next(&it, &p, &len), "%s: backward ends at %zu", what, i);
		expect(p, len, m->v[i], what, i);
	}
	tlist_iter_done(&it);
	for (size_t i = 0; i < m->n; i += 1 + m->n / 97) {
		cr_assert(tlist_index(e, i, &p, &len));
		expect(p, len, m->v[i], what, i);
	}
	cr_assert(tlist_index(e, m->n - 1, &p, &len));
	expect(p, len, m->v[m->n - 1], what, m->n - 1);
	unsigned char d[20], w[20];
	coll_ops(KV_LIST)->digest(e, d);
	memset(w, 0, 20);
	for (size_t i = 0; i < m->n; i++) {
		char b[32];
		uint8_t h[20];
		sha1(b, item(m->v[i], b), h);
		for (int j = 0; j < 20; j++)
			w[j] ^= h[j];
		sha1(w, 20, w);
	}
	cr_assert(memcmp(d, w, 20) == 0, "%s: digest", what);
}

static const struct kv_entry *look(void)
{
	return db_lookup(&view, "L", 1, 0, NULL, 0);
}

static long long next_id = 1;

static void db_push(struct model *m, enum tlist_end end)
{
	char b[32];
	long long id = next_id++;
	const char *p = b;
	size_t l = item(id, b);
	cr_assert_gt(tlist_push(&view, "L", 1, end, 1, &p, &l, true, 0), 0);
	db_coll_end();
	m_push(m, end, id);
}

static void db_pop(struct model *m, enum tlist_end end)
{
	struct tlist_popped out;
	cr_assert_eq(tlist_pop(&view, "L", 1, end, 1, 0, &out), 1);
	db_coll_end();
	long long id = m_pop(m, end);
	expect(out.elem[0], out.len[0], id, "popped", 0);
	tlist_popped_free(&out);
}

/* A large list whose `end` chunk can take a push in place and already
 * holds many items (room well below a chunk's). */
static bool ready(enum tlist_end end)
{
	size_t room = 0;
	return tlist_end_appendable(look(), end, &room) && room >= 64 && room <= 600;
}

static void build(struct model *m, enum tlist_end end)
{
	for (int i = 0; i < 3000; i++)
		db_push(m, i % 2 ? TLIST_HEAD : TLIST_TAIL);
	for (int i = 0; i < 600 && !ready(end); i++)
		db_push(m, end);
	cr_assert(ready(end), "no end chunk with room after 600 pushes");
}

/* One push of id at `end` from version `from` in context c, unpublished. */
static struct kv_entry *push_from(struct coll_ctx *c, const struct kv_entry *from,
				  enum tlist_end end, long long id)
{
	char b[32];
	const char *p = b;
	size_t l = item(id, b);
	struct tlist_w *w = tlist_w_begin(c, from);
	tlist_w_push(w, end, 1, &p, &l);
	return tlist_w_finish(w, "L", 1, kv_entry_expire(from));
}

static void race(enum tlist_end end)
{
	struct model base = {0}, ma, mb;
	build(&base, end);
	const struct kv_entry *v0 = look();
	struct coll_ctx *other = coll_ctx_create();
	size_t room;

	/* B (another thread's session) claims first: in place */
	struct kv_entry *eb = push_from(other, v0, end, 900001);
	cr_assert(tlist_end_appendable(eb, end, &room), "the winner appended in place");
	cr_assert_not(tlist_end_appendable(v0, end, &room), "the base's claim moved on");
	/* A, from the same base: the claim is gone, so it copies */
	struct kv_entry *ea = push_from(db_coll_ctx(&view), v0, end, 900002);
	cr_assert(tlist_end_appendable(ea, end, &room), "the copy is A's own");
	ma = base;
	m_push(&ma, end, 900002);
	mb = base;
	m_push(&mb, end, 900001);
	check(v0, &base, "base after two pushes");
	check(eb, &mb, "B's version");
	check(ea, &ma, "A's version");
	/* A wins the map's CAS; B's result is dropped as a lost CAS drops it */
	cr_assert_eq(db_put(&view, v0, ea), 0);
	db_coll_end();
	kv_entry_free(eb);
	coll_ctx_fail(other);
	coll_ctx_destroy(&other);
	check(look(), &ma, "published A");
	check(v0, &base, "base after the publish");
	/* a third session from the base: B's wasted claim still forces a copy */
	struct kv_entry *ec = push_from(db_coll_ctx(&view), v0, end, 900003);
	struct model mc = base;
	m_push(&mc, end, 900003);
	check(ec, &mc, "C from the base");
	check(look(), &ma, "published A after C");
	kv_entry_free(ec);
	coll_ctx_fail(db_coll_ctx(&view));
	db_coll_end();
	/* the published version goes on appending in place */
	cr_assert(tlist_end_appendable(look(), end, &room));
	db_push(&ma, end);
	check(look(), &ma, "A then a push");
	kvmap_quiescent();
}

Test(tlist_ends, race_at_tail)
{
	race(TLIST_TAIL);
}

Test(tlist_ends, race_at_head)
{
	race(TLIST_HEAD);
}

static void pop_then_push(enum tlist_end end)
{
	struct model m = {0};
	size_t room;
	build(&m, end);
	const struct kv_entry *v1 = look();
	struct model m1 = m;

	/* pop then push in one session: the push must not reuse the popped bytes */
	struct tlist_popped out = {0};
	char b[32];
	const char *p = b;
	size_t l = item(800001, b);
	struct tlist_w *w = tlist_w_begin(db_coll_ctx(&view), v1);
	cr_assert_eq(tlist_w_pop(w, end, 2, &out), 2);
	tlist_w_push(w, end, 1, &p, &l);
	struct kv_entry *e = tlist_w_finish(w, "L", 1, 0);
	tlist_popped_free(&out);
	struct model m2 = m;
	m_pop(&m2, end);
	m_pop(&m2, end);
	m_push(&m2, end, 800001);
	check(e, &m2, "pop+push session");
	check(v1, &m1, "the version popped from");
	cr_assert_eq(db_put(&view, v1, e), 0);
	db_coll_end();
	check(v1, &m1, "the version popped from, superseded");

	/* a published pop, then a push from it: copies (claim != its edge) */
	db_pop(&m2, end);
	const struct kv_entry *v3 = look();
	struct model m3 = m2;
	cr_assert_not(tlist_end_appendable(v3, end, &room), "a pop leaves the claim behind");
	db_push(&m2, end);
	check(look(), &m2, "push after pop");
	check(v3, &m3, "the popped version after the push");
	check(v1, &m1, "v1 at the end");
	kvmap_quiescent();
}

Test(tlist_ends, pop_then_push_tail)
{
	pop_then_push(TLIST_TAIL);
}

Test(tlist_ends, pop_then_push_head)
{
	pop_then_push(TLIST_HEAD);
}

/* An old version held across many newer pushes and pops at both ends. */
Test(tlist_ends, old_version_unchanged)
{
	static struct model m, old;
	build(&m, TLIST_TAIL);
	old = m;
	const struct kv_entry *v = look();
	uint64_t r = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 4000; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		enum tlist_end end = r & 1 ? TLIST_HEAD : TLIST_TAIL;
		if ((r >> 1) % 3 == 0 && m.n > 1)
			db_pop(&m, end);
		else
			db_push(&m, end);
		if (i % 500 == 0)
			check(v, &old, "held version");
	}
	check(v, &old, "held version at the end");
	check(look(), &m, "current");
	kvmap_quiescent();
	/* drain from both ends: refills from the tree, then the last chunk */
	while (m.n)
		db_pop(&m, m.n % 2 ? TLIST_HEAD : TLIST_TAIL);
	cr_assert_null(look());
}
