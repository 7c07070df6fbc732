/*
 * test_tlist.c — the list value (storage/tlist.h) against a model (an array
 * of strings): random sequences of pushes (both ends, many items at once),
 * pops with counts, LSET, LINSERT, LREM (both directions, limited and not),
 * LTRIM, LMOVE (tlist_move, one key and two) through the db's CAS path
 * (tlist_pop / tlist_push) and through write sessions, under several
 * list-max-listpack-size settings so both encodings and the conversion
 * between them are crossed (entry counts 1..128, byte limits -1 and -2),
 * with items from empty to several KB (chunks of one long item, integers
 * the listpack estimate encodes short). After every command the key is
 * compared with the model through every reader: tlist_len, tlist_index,
 * forward and backward iteration from random indexes, the type row's
 * foreach and digest (equal for equal lists whatever their encodings), and
 * COPY (tlist_copy). The same runs with list-compress-depth 1 and 2 also
 * check, after every command, that every chunk is stored as the depth asks
 * (tlist_chunk_stats: ends raw, inner ones compressed when LZF shrinks
 * them enough); and the chunk codec itself (tlist_lzf_pack / _unpack) is
 * checked against Redis's thresholds, incompressible data staying raw.
 */
#include <criterion/criterion.h>
#include <lzf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "server/sha1.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "db_fixture.h"
#include "tests/unit/sanitized.h"
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
	coll_set_limit(COLL_LIST_MAX_SIZE, -2);
	coll_set_limit(COLL_LIST_COMPRESS, 0);
	db_fixture_close();
}

TestSuite(tlist, .init = init, .fini = fini);

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct str {
	char *p;
	size_t len;
	uint8_t h[20]; /* sha1 of p: model_digest's per-item step, done once per item */
};

struct model {
	struct str *v;
	size_t n, cap;
};

static void m_insert(struct model *m, size_t i, const char *p, size_t len)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
	}
	memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
	m->v[i].p = malloc(len + 1);
	memcpy(m->v[i].p, p, len);
	m->v[i].len = len;
	sha1(m->v[i].p, len, m->v[i].h);
	m->n++;
}

static void m_remove(struct model *m, size_t i)
{
	free(m->v[i].p);
	memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
	m->n--;
}

static void m_free(struct model *m)
{
	while (m->n)
		m_remove(m, m->n - 1);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static const struct kv_entry *look(const char *k)
{
	return db_lookup(&view, k, strlen(k), 0, NULL, 0);
}

static unsigned maxlen = 30;
static size_t compressed_seen; /* compressed chunks met by check() */

/* a random item: mostly short strings, some integers, some long */
static size_t gen(char *buf)
{
	unsigned r = (unsigned)(rnd() % 100);
	if (r < 15)
		return (size_t)snprintf(buf, 32, "%lld", (long long)(rnd() % 100000) - 50000);
	if (r < 20)
		return 0;
	size_t len = r < 97 ? rnd() % maxlen : 900 + rnd() % 3000;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + rnd() % 4); /* few letters: LREM finds matches */
	return len;
}

static void collect(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct model *m = arg;
	cr_assert_null(b);
	cr_assert_eq(blen, 0);
	m_insert(m, m->n, a, alen);
}

static void model_digest(const struct model *m, unsigned char out[20])
{
	memset(out, 0, 20);
	for (size_t i = 0; i < m->n; i++) {
		const uint8_t *h = m->v[i].h;
		for (int j = 0; j < 20; j++)
			out[j] ^= h[j];
		sha1(out, 20, out);
	}
}

static void expect_item(const char *p, size_t len, const struct str *s, const char *what, size_t i)
{
	cr_assert_eq(len, s->len, "%s %zu: len %zu vs %zu", what, i, len, s->len);
	cr_assert(len == 0 || memcmp(p, s->p, len) == 0, "%s %zu: bytes", what, i);
}

static void check(const char *k, const struct model *m)
{
	const struct kv_entry *e = look(k);
	if (m->n == 0) {
		cr_assert_null(e, "an empty list leaves no key");
		return;
	}
	cr_assert_not_null(e);
	cr_assert_eq(kv_entry_type(e), KV_LIST);
	cr_assert_str_eq(coll_enc_name(coll_entry_enc(e)), "quicklist");
	cr_assert_eq(tlist_len(e), m->n);
	const char *p;
	size_t len;
	struct tlist_iter it;
	tlist_iter_init(&it, e, 0, true);
	for (size_t i = 0; i < m->n; i++) {
		cr_assert(tlist_iter_next(&it, &p, &len));
		expect_item(p, len, &m->v[i], "forward", i);
	}
	cr_assert_not(tlist_iter_next(&it, &p, &len));
	tlist_iter_done(&it);
	for (int t = 0; t < 4; t++) {
		size_t i0 = rnd() % m->n;
		cr_assert(tlist_index(e, i0, &p, &len));
		expect_item(p, len, &m->v[i0], "index", i0);
		tlist_iter_init(&it, e, i0, false);
		for (size_t i = i0 + 1; i-- > 0;) {
			cr_assert(tlist_iter_next(&it, &p, &len));
			expect_item(p, len, &m->v[i], "backward", i);
		}
		cr_assert_not(tlist_iter_next(&it, &p, &len));
		tlist_iter_done(&it);
		tlist_iter_init(&it, e, i0, true);
		for (size_t i = i0; i < m->n && i < i0 + 50; i++) {
			cr_assert(tlist_iter_next(&it, &p, &len));
			expect_item(p, len, &m->v[i], "forward from", i);
		}
		tlist_iter_done(&it);
	}
	cr_assert_not(tlist_index(e, m->n, &p, &len));
	struct model f = {0};
	coll_ops(KV_LIST)->foreach (e, collect, &f);
	cr_assert_eq(f.n, m->n);
	m_free(&f);
	unsigned char d1[20], d2[20];
	coll_ops(KV_LIST)->digest(e, d1);
	model_digest(m, d2);
	cr_assert(memcmp(d1, d2, 20) == 0, "digest");
	size_t chunks, comp, bad;
	tlist_chunk_stats(e, &chunks, &comp, &bad);
	cr_assert_eq(bad, 0, "%zu of %zu chunks not as depth %lld asks", bad, chunks,
		     coll_limit(COLL_LIST_COMPRESS));
	if (coll_limit(COLL_LIST_COMPRESS) == 0)
		cr_assert_eq(comp, 0);
	else
		compressed_seen += comp;
}

/* one session command through the CAS loop */
enum wop { W_SET, W_INSERT, W_REM, W_TRIM };

static void session(const char *k, struct model *m, enum wop op)
{
	char buf[4096];
	size_t len = gen(buf);
	long long cnt = (long long)(rnd() % 5) - 2;
	size_t a = m->n ? rnd() % m->n : 0, b = m->n ? rnd() % m->n : 0;
	size_t pick = m->n ? rnd() % m->n : 0;
	if (op == W_REM && m->n && rnd() % 2) { /* remove something present */
		memcpy(buf, m->v[pick].p, m->v[pick].len);
		len = m->v[pick].len;
	}
	size_t removed = 0;
	for (;;) {
		const struct kv_entry *old = look(k);
		if (!old)
			return;
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(&view), old);
		cr_assert_eq(tlist_w_len(w), m->n);
		switch (op) {
		case W_SET:
			tlist_w_set(w, pick, buf, len);
			break;
		case W_INSERT:
			tlist_w_insert(w, pick + rnd() % 2, buf, len);
			break;
		case W_REM:
			removed = tlist_w_rem(w, cnt, buf, len);
			break;
		case W_TRIM:
			tlist_w_trim(w, a, b);
			break;
		}
		struct kv_entry *e = tlist_w_finish(w, k, strlen(k), kv_entry_expire(old));
		if (db_put(&view, old, e) == 0)
			break;
		if (e)
			kv_entry_free(e);
	}
	/* the model */
	switch (op) {
	case W_SET:
		free(m->v[pick].p);
		m->v[pick].p = malloc(len + 1);
		memcpy(m->v[pick].p, buf, len);
		m->v[pick].len = len;
		sha1(m->v[pick].p, len, m->v[pick].h);
		break;
	case W_INSERT:
		break; /* handled by the caller: needs the position; see below */
	case W_REM: {
		size_t limit = cnt < 0 ? (size_t)-cnt : (size_t)cnt, r = 0;
		if (cnt >= 0) {
			for (size_t i = 0; i < m->n && (!limit || r < limit);)
				if (m->v[i].len == len && memcmp(m->v[i].p, buf, len) == 0) {
					m_remove(m, i);
					r++;
				} else {
					i++;
				}
		} else {
			for (size_t i = m->n; i-- > 0 && r < limit;)
				if (m->v[i].len == len && memcmp(m->v[i].p, buf, len) == 0) {
					m_remove(m, i);
					r++;
				}
		}
		cr_assert_eq(removed, r);
		break;
	}
	case W_TRIM:
		if (a > b) {
			while (m->n)
				m_remove(m, m->n - 1);
		} else {
			while (m->n > b + 1)
				m_remove(m, m->n - 1);
			for (size_t i = 0; i < a; i++)
				m_remove(m, 0);
		}
		break;
	}
}

static void insert_cmd(const char *k, struct model *m)
{
	char buf[4096];
	size_t len = gen(buf);
	size_t at = m->n ? rnd() % (m->n + 1) : 0;
	for (;;) {
		const struct kv_entry *old = look(k);
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(&view), old);
		tlist_w_insert(w, at, buf, len);
		struct kv_entry *e =
		    tlist_w_finish(w, k, strlen(k), old ? kv_entry_expire(old) : 0);
		if (db_put(&view, old, e) == 0)
			break;
		kv_entry_free(e);
	}
	m_insert(m, at, buf, len);
}

/* ops: the stream's length, halved under a sanitizer (TEST_OPS: every list is checked whole
 * after each operation) */
static void run(uint64_t seed, long long fill, unsigned mlen, size_t ops)
{
	ops = TEST_OPS(ops);
	rng = seed * 0x9E3779B97F4A7C15ULL + 7;
	maxlen = mlen;
	coll_set_limit(COLL_LIST_MAX_SIZE, fill);
	struct model m[2] = {{0}, {0}};
	const char *keys[2] = {"a", "b"};
	for (size_t op = 0; op < ops; op++) {
		int ki = (int)(rnd() % 2);
		const char *k = keys[ki];
		struct model *mm = &m[ki];
		unsigned r = (unsigned)(rnd() % 100);
		unsigned grow = (op / 300) % 3 == 2 ? 20 : 45;
		if (r < grow) {
			size_t n = 1 + (rnd() % 4 == 0 ? rnd() % 200 : rnd() % 3);
			char **el = malloc(n * sizeof(*el));
			size_t *ln = malloc(n * sizeof(*ln));
			for (size_t i = 0; i < n; i++) {
				el[i] = malloc(4096);
				ln[i] = gen(el[i]);
			}
			enum tlist_end end = rnd() % 2 ? TLIST_TAIL : TLIST_HEAD;
			long long got =
			    tlist_push(&view, k, 1, end, n, (const char *const *)el, ln, true, 0);
			for (size_t i = 0; i < n; i++)
				m_insert(mm, end == TLIST_HEAD ? 0 : mm->n, el[i], ln[i]);
			cr_assert_eq(got, (long long)mm->n);
			for (size_t i = 0; i < n; i++)
				free(el[i]);
			free(el);
			free(ln);
		} else if (r < grow + 25) {
			struct tlist_popped pp;
			enum tlist_end end = rnd() % 2 ? TLIST_TAIL : TLIST_HEAD;
			long long cnt = 1 + (rnd() % 3 == 0 ? (long long)(rnd() % 100) : 0);
			int rc = tlist_pop(&view, k, 1, end, cnt, 0, &pp);
			cr_assert_eq(rc, mm->n ? 1 : 0);
			size_t want = mm->n < (size_t)cnt ? mm->n : (size_t)cnt;
			cr_assert_eq(pp.n, rc ? want : 0);
			for (size_t i = 0; i < pp.n; i++) {
				size_t at = end == TLIST_HEAD ? 0 : mm->n - 1;
				expect_item(pp.elem[i], pp.len[i], &mm->v[at], "pop", i);
				m_remove(mm, at);
			}
			if (rc)
				tlist_popped_free(&pp);
		} else if (r < grow + 30 && mm->n) {
			session(k, mm, W_SET);
		} else if (r < grow + 35) {
			insert_cmd(k, mm);
		} else if (r < grow + 42 && mm->n) {
			session(k, mm, W_REM);
		} else if (r < grow + 44 && mm->n) {
			session(k, mm, W_TRIM);
		} else if (r < grow + 50) {
			/* LMOVE between the keys, or a rotation of one */
			int to = (int)(rnd() % 2);
			enum tlist_end from = rnd() % 2 ? TLIST_TAIL : TLIST_HEAD;
			enum tlist_end te = rnd() % 2 ? TLIST_TAIL : TLIST_HEAD;
			char *el = NULL;
			size_t len = 0;
			int rc = tlist_move(&view, k, 1, keys[to], 1, from, te, 0, &el, &len);
			cr_assert_eq(rc, mm->n ? 1 : 0);
			if (rc) {
				size_t at = from == TLIST_HEAD ? 0 : mm->n - 1;
				expect_item(el, len, &mm->v[at], "move", at);
				m_remove(mm, at);
				m_insert(&m[to], te == TLIST_HEAD ? 0 : m[to].n, el, len);
				mem_free(el);
			}
		} else {
			/* COPY, then the copy read back and deleted */
			const struct kv_entry *e = look(k);
			if (e) {
				struct kv_entry *c = tlist_copy(db_coll_ctx(&view), e, "c", 1, 0);
				cr_assert_eq(db_put(&view, NULL, c), 0);
				check("c", mm);
				cr_assert_eq(db_put(&view, look("c"), NULL), 0);
			}
		}
		db_coll_end();
		kvmap_quiescent();
		check("a", &m[0]);
		check("b", &m[1]);
	}
	for (int i = 0; i < 2; i++) {
		const struct kv_entry *e = look(keys[i]);
		if (e)
			cr_assert_eq(db_put(&view, e, NULL), 0);
		m_free(&m[i]);
	}
}

Test(tlist, random_default_fill)
{
	run(1, -2, 30, 800);
}

Test(tlist, random_tiny_nodes)
{
	run(2, 4, 20, 600); /* four entries per node: most lists are large */
	run(3, 1, 40, 300);
}

Test(tlist, random_long_items)
{
	run(4, -1, 300, 500);
	run(5, 128, 600, 300);
}

/* list-compress-depth: the same mixes with the inner chunks compressed; the
 * checks after every command also look at each chunk's state. */
Test(tlist, random_compress_depth)
{
	compressed_seen = 0;
	coll_set_limit(COLL_LIST_COMPRESS, 1);
	run(11, -2, 30, 400);
	run(12, 4, 20, 200);
	cr_assert_gt(compressed_seen, 0, "some chunks were compressed");
	coll_set_limit(COLL_LIST_COMPRESS, 2);
	run(13, -2, 30, 300);
	run(14, -1, 300, 150);
	/* a changed setting applies as the lists are next modified */
	coll_set_limit(COLL_LIST_COMPRESS, 3);
	run(15, 1, 40, 150);
}

/* The codec: Redis's MIN_COMPRESS_BYTES (48) and MIN_COMPRESS_IMPROVE (8),
 * round trips, incompressible bytes left raw. */
Test(tlist, chunk_codec)
{
	char raw[4096], out[4096], back[4096];
	/* compressible: below 48 bytes stays raw, from 48 compresses */
	memset(raw, 'x', sizeof(raw));
	cr_assert_eq(tlist_lzf_pack(raw, 47, out), 0);
	size_t c = tlist_lzf_pack(raw, 48, out);
	cr_assert(c > 0 && c + 8 < 48);
	cr_assert(tlist_lzf_unpack(out, c, back, 48));
	cr_assert(memcmp(raw, back, 48) == 0);
	cr_assert_not(tlist_lzf_unpack(out, c, back, 47), "a wrong length is refused");
	/* incompressible (xorshift bytes) stays raw */
	rng = 99;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (char)rnd();
	cr_assert_eq(tlist_lzf_pack(raw, 1008, out), 0);
	/* mixed: a compressible run of r bytes then noise; the rule is
	 * exactly Redis's (compressed only when it saves >= 8 bytes) */
	size_t accepted = 0, refused = 0;
	for (size_t len = 40; len <= 1100; len += 7) {
		for (size_t run = 0; run <= len; run += 1 + len / 16) {
			for (size_t i = 0; i < len; i++)
				raw[i] = i < run ? 'a' : (char)rnd();
			char ref[4096];
			unsigned rc = lzf_compress(raw, (unsigned)len, ref, (unsigned)len);
			bool want = len >= 48 && rc != 0 && rc + 8 < len;
			size_t got = tlist_lzf_pack(raw, len, out);
			cr_assert_eq(got != 0, want, "len %zu run %zu: lzf %u", len, run, rc);
			if (got) {
				accepted++;
				cr_assert_eq(got, rc);
				memset(back, 0, len);
				cr_assert(tlist_lzf_unpack(out, got, back, len));
				cr_assert(memcmp(raw, back, len) == 0);
			} else {
				refused++;
			}
		}
	}
	cr_assert(accepted > 0 && refused > 0);
}

/* A long compressible list: with depth 1 every chunk but the two ends is
 * compressed, reads see the same items, MEMORY USAGE shrinks, and pops and
 * pushes at the ends leave the inner chunks alone. */
Test(tlist, compressed_long_list)
{
	char item[64];
	size_t n = 10000;
	size_t mem[2];
	for (int depth = 0; depth < 2; depth++) {
		coll_set_limit(COLL_LIST_COMPRESS, depth);
		for (size_t i = 0; i < n; i++) {
			int l =
			    snprintf(item, sizeof(item), "element:%zu:padding-padding", i % 100);
			const char *p = item;
			size_t len = (size_t)l;
			tlist_push(&view, "L", 1, TLIST_TAIL, 1, &p, &len, true, 0);
			db_coll_end();
			if (i % 1024 == 0)
				kvmap_quiescent();
		}
		const struct kv_entry *e = look("L");
		size_t chunks, comp, bad;
		tlist_chunk_stats(e, &chunks, &comp, &bad);
		cr_assert_eq(bad, 0);
		cr_assert_eq(comp, depth ? chunks - 2 : 0, "%zu chunks, %zu compressed", chunks,
			     comp);
		mem[depth] = tlist_memory(e, 0);
		for (size_t i = 0; i < n; i += 997) {
			const char *p;
			size_t len;
			int l =
			    snprintf(item, sizeof(item), "element:%zu:padding-padding", i % 100);
			cr_assert(tlist_index(e, i, &p, &len));
			cr_assert(len == (size_t)l && memcmp(p, item, len) == 0);
		}
		/* pop from the head through the compressed chunks */
		for (size_t i = 0; i < n / 2; i++) {
			struct tlist_popped pp;
			cr_assert_eq(tlist_pop(&view, "L", 1, TLIST_HEAD, 1, 0, &pp), 1);
			int l =
			    snprintf(item, sizeof(item), "element:%zu:padding-padding", i % 100);
			cr_assert(pp.len[0] == (size_t)l &&
				  memcmp(pp.elem[0], item, pp.len[0]) == 0);
			tlist_popped_free(&pp);
			db_coll_end();
			if (i % 1024 == 0)
				kvmap_quiescent();
		}
		e = look("L");
		tlist_chunk_stats(e, &chunks, &comp, &bad);
		cr_assert_eq(bad, 0);
		cr_assert_eq(db_put(&view, e, NULL), 0);
		db_coll_end();
		kvmap_quiescent();
	}
	fprintf(stderr, "tlist: %zu compressible items: %zu B at depth 0, %zu B at depth 1\n", n,
		mem[0], mem[1]);
	cr_assert_lt(mem[1], mem[0] / 2);
}

/* The conversion point: entry counts and byte sizes (list-max-listpack-size). */
static bool is_large(const char *k)
{
	return coll_entry_enc(look(k)) == COLL_QUICKLIST_BIG;
}

static void push_n(const char *k, size_t n, size_t len)
{
	char buf[64];
	memset(buf, 'x', sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		const char *p = buf;
		tlist_push(&view, k, strlen(k), TLIST_TAIL, 1, &p, &len, true, 0);
	}
}

Test(tlist, conversion_thresholds)
{
	coll_set_limit(COLL_LIST_MAX_SIZE, 5);
	push_n("k", 5, 10);
	cr_assert_not(is_large("k"));
	push_n("k", 1, 10);
	cr_assert(is_large("k"));
	/* never back */
	struct tlist_popped pp;
	cr_assert_eq(tlist_pop(&view, "k", 1, TLIST_HEAD, 5, 0, &pp), 1);
	tlist_popped_free(&pp);
	cr_assert(is_large("k"));
	cr_assert_eq(tlist_len(look("k")), 1);
	/* -1: 4096 bytes of listpack: 6 + 1 + n * (1 + 50 + 1) */
	coll_set_limit(COLL_LIST_MAX_SIZE, -1);
	push_n("s", 78, 50); /* 7 + 78 * 52 = 4063 */
	cr_assert_not(is_large("s"));
	push_n("s", 1, 50); /* 4115 */
	cr_assert(is_large("s"));
	/* one item of any size stays compact */
	coll_set_limit(COLL_LIST_MAX_SIZE, 0);
	push_n("one", 1, 60);
	cr_assert_not(is_large("one"));
	push_n("one", 1, 60);
	cr_assert(is_large("one"));
	const char *keys[] = {"k", "s", "one"};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(db_put(&view, look(keys[i]), NULL), 0);
}

/* Bytes per item of a long list of 16-byte items (the memory target is
 * Redis's 18.2 B), and of a queue that pushes at the tail and pops at the
 * head. */
Test(tlist, long_list_memory)
{
	char item[17];
	size_t n = 200000;
	for (size_t i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "item:%011zu", i);
		const char *p = item;
		size_t len = 16;
		tlist_push(&view, "big", 3, TLIST_TAIL, 1, &p, &len, true, 0);
		db_coll_end();
		if (i % 1024 == 0)
			kvmap_quiescent();
	}
	const struct kv_entry *e = look("big");
	cr_assert_eq(tlist_len(e), n);
	size_t bytes = tlist_memory(e, 0);
	fprintf(stderr, "tlist: %zu items of 16 B, %.2f B/item\n", n, (double)bytes / (double)n);
	cr_expect_lt((double)bytes / (double)n, 18.2);
	const char *p;
	size_t len;
	cr_assert(tlist_index(e, 123456, &p, &len));
	cr_assert(len == 16 && memcmp(p, "item:00000123456", 16) == 0);
	for (size_t i = 0; i < n / 2; i++) {
		struct tlist_popped pp;
		cr_assert_eq(tlist_pop(&view, "big", 3, TLIST_HEAD, 1, 0, &pp), 1);
		snprintf(item, sizeof(item), "item:%011zu", i);
		cr_assert(pp.len[0] == 16 && memcmp(pp.elem[0], item, 16) == 0);
		tlist_popped_free(&pp);
		db_coll_end();
		if (i % 1024 == 0)
			kvmap_quiescent();
	}
	cr_assert_eq(db_put(&view, look("big"), NULL), 0);
}
