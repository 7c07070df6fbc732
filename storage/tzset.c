/*
 * tzset.c — the sorted-set value: listpack blob and the two-tree skiplist
 * encoding, their reads, the writer commands build new versions with, and
 * tzset_build for stored results. Layout and rules: tzset.h.
 *
 * The listpack blob is walked linearly, as Redis walks a listpack: at most
 * zset-max-listpack-entries elements (128 by default). A write decodes it
 * into an array of items pointing into the old blob and the caller's bytes,
 * edits the array and encodes a new blob at finish.
 */
#include "storage/tzset.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "storage/kvmap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ ordering */

int tz_memcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int item_cmp(double as, const char *am, size_t alen, double bs, const char *bm, size_t blen)
{
	if (as < bs)
		return -1;
	if (as > bs)
		return 1;
	return tz_memcmp(am, alen, bm, blen);
}

static int item_qcmp(const void *x, const void *y)
{
	const struct tz_item *a = x, *b = y;

	return item_cmp(a->score, a->m, a->mlen, b->score, b->m, b->mlen);
}

/* -------------------------------------------------------------- ranges */

/* strtod over the argument up to its first NUL, consumed whole, not NaN */
static int range_item(const char *s, size_t len, double *v, bool *ex)
{
	char small[128], *buf = small, *p, *end;
	size_t n = strnlen(s, len);
	int ok;

	if (n >= sizeof(small))
		buf = mem_alloc(n + 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	p = buf;
	*ex = false;
	if (p[0] == '(') {
		*ex = true;
		p++;
	}
	*v = strtod(p, &end);
	ok = end[0] == '\0' && !isnan(*v);
	if (buf != small)
		mem_free(buf);
	return ok;
}

int tz_range_parse(const char *min, size_t minlen, const char *max, size_t maxlen,
		   struct tz_range *out)
{
	return range_item(min, minlen, &out->min, &out->minex) &&
	       range_item(max, maxlen, &out->max, &out->maxex);
}

bool tz_range_gte_min(double v, const struct tz_range *r)
{
	return r->minex ? v > r->min : v >= r->min;
}

bool tz_range_lte_max(double v, const struct tz_range *r)
{
	return r->maxex ? v < r->max : v <= r->max;
}

int tz_lex_parse(const char *arg, size_t len, struct tz_lex *out)
{
	if (len == 0)
		return 0;
	switch (arg[0]) {
	case '+':
	case '-':
		if (len > 1 && arg[1] != '\0')
			return 0;
		out->kind = arg[0] == '+' ? TZ_LEX_PLUS : TZ_LEX_MINUS;
		out->s = NULL;
		out->len = 0;
		out->ex = true;
		return 1;
	case '(':
	case '[':
		out->kind = TZ_LEX_STR;
		out->s = arg + 1;
		out->len = len - 1;
		out->ex = arg[0] == '(';
		return 1;
	default:
		return 0;
	}
}

/* sdscmplex of a member with a bound */
static int lex_cmp(const char *m, size_t mlen, const struct tz_lex *b)
{
	if (b->kind == TZ_LEX_PLUS)
		return -1;
	if (b->kind == TZ_LEX_MINUS)
		return 1;
	return tz_memcmp(m, mlen, b->s, b->len);
}

bool tz_lex_gte_min(const char *m, size_t mlen, const struct tz_lex *min)
{
	int c = lex_cmp(m, mlen, min);

	return min->ex ? c > 0 : c >= 0;
}

bool tz_lex_lte_max(const char *m, size_t mlen, const struct tz_lex *max)
{
	int c = lex_cmp(m, mlen, max);

	return max->ex ? c < 0 : c <= 0;
}

bool tz_lex_empty(const struct tz_lex *min, const struct tz_lex *max)
{
	int c;

	if (min->kind == max->kind && min->kind != TZ_LEX_STR)
		c = 0;
	else if (min->kind == TZ_LEX_MINUS || max->kind == TZ_LEX_PLUS)
		c = -1;
	else if (min->kind == TZ_LEX_PLUS || max->kind == TZ_LEX_MINUS)
		c = 1;
	else
		c = tz_memcmp(min->s, min->len, max->s, max->len);
	return c > 0 || (c == 0 && (min->ex || max->ex));
}

/* ------------------------------------------------------- listpack blob */

static uint32_t rd32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static size_t lenf_size(size_t l)
{
	return l < 255 ? 1 : 5;
}

static size_t rec_size(size_t l)
{
	return 2 * lenf_size(l) + l + 8;
}

/* Decodes the record at p into *it; returns the next record's start. */
static const char *lp_decode(const char *p, struct tz_item *it)
{
	size_t l = (unsigned char)p[0];

	if (l == 255) {
		l = rd32(p + 1);
		p += 5;
	} else {
		p += 1;
	}
	it->m = p;
	it->mlen = l;
	memcpy(&it->score, p + l, 8);
	return p + l + 8 + lenf_size(l);
}

/* The start of the record that ends at q. */
static const char *lp_back(const char *q)
{
	size_t l = (unsigned char)q[-1];
	size_t lb = 1;

	if (l == 255) {
		l = rd32(q - 5);
		lb = 5;
	}
	return q - lb - 8 - l - lenf_size(l);
}

static char *lp_encode(char *p, const struct tz_item *it)
{
	size_t l = it->mlen;

	if (l < 255) {
		*p++ = (char)l;
	} else {
		*p++ = (char)0xff;
		wr32(p, (uint32_t)l);
		p += 4;
	}
	double score = it->score == 0 ? 0.0 : it->score; /* d2string(-0.0) is "0" */

	if (l) /* an empty member may come with a NULL pointer */
		memcpy(p, it->m, l);
	p += l;
	memcpy(p, &score, 8);
	p += 8;
	if (l < 255) {
		*p++ = (char)l;
	} else {
		wr32(p, (uint32_t)l);
		p += 4;
		*p++ = (char)0xff;
	}
	return p;
}

static const char *lp_blob(const struct kv_entry *e, size_t *n)
{
	size_t len;
	const char *b = coll_blob(e, &len);

	*n = rd32(b);
	return b + 4;
}

static bool is_big(const struct kv_entry *e)
{
	return coll_entry_enc(e) == COLL_SKIPLIST;
}

static struct kv_entry *lp_build(const void *key, size_t klen, const struct tz_item *items,
				 size_t n, int64_t expire_ms)
{
	size_t len = 4;
	struct kv_entry *e;
	char *p;

	for (size_t i = 0; i < n; i++)
		len += rec_size(items[i].mlen);
	e = coll_new_compact(key, klen, KV_ZSET, COLL_LISTPACK, NULL, len, expire_ms);
	p = coll_blob_mut(e);
	wr32(p, (uint32_t)n);
	p += 4;
	for (size_t i = 0; i < n; i++)
		p = lp_encode(p, &items[i]);
	return e;
}

/* ------------------------------------------------------- skiplist trees */

static const double neg_zero = -0.0;

static double elem_score(const struct pt_elem *el)
{
	double s;

	if (el->blen == 8) {
		memcpy(&s, el->b, 8);
		return s;
	}
	return pt_key_score(el->key);
}

static void elem_item(const struct pt_elem *el, struct tz_item *out)
{
	out->m = el->a;
	out->mlen = el->alen;
	out->score = elem_score(el);
}

static bool tree_score(const struct pt_node *bymember, const char *m, size_t mlen, double *score)
{
	struct pt_elem el;

	if (!pt_get(bymember, kvmap_hash(m, mlen), m, mlen, &el))
		return false;
	memcpy(score, el.b, 8);
	return true;
}

/* ------------------------------------------- deferred by-member deletes */

/* Stale records may stay while (stale + popped) * LAZY_RATIO <= the live
 * count after the pop; each write owes the sweep LAZY_DEBT records (a pop
 * of k elements k times), and a write sweeps once LAZY_SWEEP are owed. A
 * run of pops then settles near one stale record in LAZY_DEBT, a few per
 * leaf, so a sweep's leaf copy removes several; LAZY_RATIO bounds the
 * backlog at half the live count. Reading the sweep's leaves is its cost:
 * a quarter of the pop's time with LAZY_DEBT 8, when the sweep then found
 * one stale record in eight (bench/types.py ZPOPMIN: 0.91-0.98x redis at 8,
 * 1.11-1.26x at 4; no sweep-ahead prefetch: 0.92-0.98x). */
#define LAZY_RATIO 2
#define LAZY_DEBT  4
#define LAZY_SWEEP 64
/* about the leaves LAZY_SWEEP by-member records fill (~15 a leaf) */
#define LAZY_SWEEP_LEAVES 8

/* The version's state (zero for a version built without one). */
static void lazy_get(const struct kv_entry *e, struct tzset_lazy *lz)
{
	if (coll_big_ext_len(e) >= sizeof(*lz))
		memcpy(lz, coll_big_ext(e), sizeof(*lz));
	else
		memset(lz, 0, sizeof(*lz));
}

/* Whether the by-member record (m, score) is stale in the version whose
 * by-score tree is byscore. */
static bool rec_stale(const struct pt_node *byscore, const struct tzset_lazy *lz, const char *m,
		      size_t mlen, double score)
{
	return lz->stale && score <= lz->wmark &&
	       !pt_get(byscore, pt_score_key(score), m, mlen, NULL);
}

/* tree_score, live records only. */
static bool live_score(const struct pt_node *byscore, const struct pt_node *bymember,
		       const struct tzset_lazy *lz, const char *m, size_t mlen, double *score)
{
	return tree_score(bymember, m, mlen, score) && !rec_stale(byscore, lz, m, mlen, *score);
}

static bool big_score(const struct kv_entry *e, const char *m, size_t mlen, double *score)
{
	const struct coll_big *b = coll_big_of(e);
	struct tzset_lazy lz;

	lazy_get(e, &lz);
	return live_score(b->root[0], b->root[1], &lz, m, mlen, score);
}

bool tzset_stale(const struct kv_entry *e, const char *m, size_t mlen, double score)
{
	struct tzset_lazy lz;

	lazy_get(e, &lz);
	return rec_stale(coll_big_of(e)->root[0], &lz, m, mlen, score);
}

/* -------------------------------------------------------------- reads */

size_t tzset_count(const struct kv_entry *e)
{
	size_t n;

	if (is_big(e))
		return pt_count(coll_big_of(e)->root[0]);
	lp_blob(e, &n);
	return n;
}

bool tzset_score(const struct kv_entry *e, const char *m, size_t mlen, double *score)
{
	struct tz_item it;
	const char *p;
	size_t n;

	if (is_big(e))
		return big_score(e, m, mlen, score);
	p = lp_blob(e, &n);
	for (size_t i = 0; i < n; i++) {
		p = lp_decode(p, &it);
		if (it.mlen == mlen && memcmp(it.m, m, mlen) == 0) {
			*score = it.score;
			return true;
		}
	}
	return false;
}

long long tzset_rank(const struct kv_entry *e, const char *m, size_t mlen)
{
	struct tz_item it;
	const char *p;
	size_t n;
	double s;

	if (is_big(e)) {
		if (!big_score(e, m, mlen, &s))
			return -1;
		return (long long)pt_rank(coll_big_of(e)->root[0], pt_score_key(s), m, mlen);
	}
	p = lp_blob(e, &n);
	for (size_t i = 0; i < n; i++) {
		p = lp_decode(p, &it);
		if (it.mlen == mlen && memcmp(it.m, m, mlen) == 0)
			return (long long)i;
	}
	return -1;
}

bool tzset_at(const struct kv_entry *e, size_t i, struct tz_item *out)
{
	struct pt_elem el;
	const char *p;
	size_t n;

	if (is_big(e)) {
		if (!pt_at(coll_big_of(e)->root[0], i, &el))
			return false;
		elem_item(&el, out);
		return true;
	}
	p = lp_blob(e, &n);
	if (i >= n)
		return false;
	for (size_t j = 0; j <= i; j++)
		p = lp_decode(p, out);
	return true;
}

static size_t count_below(const struct kv_entry *e, double s, bool le)
{
	struct tz_item it;
	const char *p;
	size_t n, c = 0;

	if (is_big(e)) {
		const struct pt_node *r = coll_big_of(e)->root[0];

		return le ? pt_rank_key_le(r, pt_score_key(s))
			  : pt_rank(r, pt_score_key(s), NULL, 0);
	}
	p = lp_blob(e, &n);
	for (size_t i = 0; i < n; i++) {
		p = lp_decode(p, &it);
		if (le ? it.score > s : it.score >= s)
			break;
		c++;
	}
	return c;
}

size_t tzset_count_lt(const struct kv_entry *e, double s)
{
	return count_below(e, s, false);
}

size_t tzset_count_le(const struct kv_entry *e, double s)
{
	return count_below(e, s, true);
}

/* zslIsInLexRange: not empty, last >= min, first <= max */
static bool lex_in_range(const struct kv_entry *e, size_t n, const struct tz_lex *min,
			 const struct tz_lex *max)
{
	struct tz_item it;

	if (n == 0 || tz_lex_empty(min, max))
		return false;
	tzset_at(e, n - 1, &it);
	if (!tz_lex_gte_min(it.m, it.mlen, min))
		return false;
	tzset_at(e, 0, &it);
	return tz_lex_lte_max(it.m, it.mlen, max);
}

long long tzset_lex_first(const struct kv_entry *e, const struct tz_lex *min,
			  const struct tz_lex *max)
{
	size_t n = tzset_count(e), lo = 0, hi;
	struct tz_item it;

	if (!lex_in_range(e, n, min, max))
		return -1;
	if (is_big(e)) {
		/* first rank >= min (binary search: members ordered when the
		 * scores are equal, as Redis's skiplist search assumes) */
		hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			tzset_at(e, mid, &it);
			if (tz_lex_gte_min(it.m, it.mlen, min))
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo == n)
			return -1;
		tzset_at(e, lo, &it);
	} else {
		const char *p = lp_blob(e, &n);

		for (lo = 0; lo < n; lo++) {
			p = lp_decode(p, &it);
			if (tz_lex_gte_min(it.m, it.mlen, min))
				break;
		}
		if (lo == n)
			return -1;
	}
	return tz_lex_lte_max(it.m, it.mlen, max) ? (long long)lo : -1;
}

long long tzset_lex_last(const struct kv_entry *e, const struct tz_lex *min,
			 const struct tz_lex *max)
{
	size_t n = tzset_count(e);
	long long i;
	struct tz_item it;

	if (!lex_in_range(e, n, min, max))
		return -1;
	if (is_big(e)) {
		/* last rank <= max: lo = how many are <= max */
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			tzset_at(e, mid, &it);
			if (tz_lex_lte_max(it.m, it.mlen, max))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return -1;
		i = (long long)lo - 1;
		tzset_at(e, (size_t)i, &it);
	} else {
		struct tzset_iter iter;

		tzset_iter_init(&iter, e, n - 1, true);
		for (i = (long long)n - 1; i >= 0; i--) {
			tzset_iter_next(&iter, &it);
			if (tz_lex_lte_max(it.m, it.mlen, max))
				break;
		}
		if (i < 0)
			return -1;
	}
	return tz_lex_gte_min(it.m, it.mlen, min) ? i : -1;
}

void tzset_random(const struct kv_entry *e, uint64_t rnd, struct tz_item *out)
{
	tzset_at(e, rnd % tzset_count(e), out);
}

void tzset_iter_init(struct tzset_iter *it, const struct kv_entry *e, size_t i, bool reverse)
{
	size_t n = tzset_count(e);

	it->reverse = reverse;
	it->big = is_big(e);
	if (i >= n) {
		/* forward past the end; reverse from past the end: nothing */
		it->left = 0;
		it->p = NULL;
		return;
	}
	it->left = reverse ? i + 1 : n - i;
	if (it->big) {
		pt_iter_seek(&it->it, coll_big_of(e)->root[0], i);
		return;
	}
	const char *p = lp_blob(e, &n);
	struct tz_item tmp;

	for (size_t j = 0; j < i; j++)
		p = lp_decode(p, &tmp);
	if (reverse)
		p = lp_decode(p, &tmp); /* the byte after record i */
	it->p = p;
}

bool tzset_iter_next(struct tzset_iter *it, struct tz_item *out)
{
	struct pt_elem el;

	if (it->left == 0)
		return false;
	it->left--;
	if (it->big) {
		if (!(it->reverse ? pt_iter_prev(&it->it, &el) : pt_iter_next(&it->it, &el)))
			return false;
		elem_item(&el, out);
		return true;
	}
	if (it->reverse) {
		it->p = lp_back(it->p);
		lp_decode(it->p, out);
	} else {
		it->p = lp_decode(it->p, out);
	}
	return true;
}

/* ------------------------------------------------------------- writer */

static void items_reserve(struct tzset_w *w, size_t n)
{
	if (n <= w->cap)
		return;
	size_t cap = w->cap ? w->cap * 2 : 16;

	while (cap < n)
		cap *= 2;
	struct tz_item *ni = mem_alloc(cap * sizeof(*ni));

	if (w->n)
		memcpy(ni, w->items, w->n * sizeof(*ni));
	mem_free(w->items);
	w->items = ni;
	w->cap = cap;
}

void tzset_w_begin(struct tzset_w *w, struct coll_ctx *ctx, const struct kv_entry *old)
{
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->old = old;
	if (old && is_big(old)) {
		/* the edit starts at the first write (a command that changes
		 * nothing starts none) */
		w->big = true;
		lazy_get(old, &w->lz);
		return;
	}
	if (old) {
		size_t n;
		const char *p = lp_blob(old, &n);

		items_reserve(w, n + 1);
		for (size_t i = 0; i < n; i++)
			p = lp_decode(p, &w->items[i]);
		w->n = n;
	}
}

/* The tree t of a skiplist writer's current state. */
static struct pt_node *w_root(const struct tzset_w *w, int t)
{
	return w->ed ? w->ed->root[t] : coll_big_of(w->old)->root[t];
}

/* The skiplist writer's edit, started on first use. */
static struct pt_edit *w_edit(struct tzset_w *w)
{
	if (!w->ed)
		w->ed = coll_edit(w->ctx, w->old, &w->lineage);
	return w->ed;
}

size_t tzset_w_count(const struct tzset_w *w)
{
	return w->big ? pt_count(w_root(w, 0)) : w->n;
}

static long lp_find(const struct tzset_w *w, const char *m, size_t mlen)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->items[i].mlen == mlen && memcmp(w->items[i].m, m, mlen) == 0)
			return (long)i;
	return -1;
}

bool tzset_w_score(const struct tzset_w *w, const char *m, size_t mlen, double *score)
{
	long i;

	if (w->big)
		return live_score(w_root(w, 0), w_root(w, 1), &w->lz, m, mlen, score);
	i = lp_find(w, m, mlen);
	if (i < 0)
		return false;
	*score = w->items[i].score;
	return true;
}

static void tree_put(struct pt_edit *ed, const char *m, size_t mlen, double score)
{
	struct pt_elem el = {.key = pt_score_key(score), .a = m, .alen = mlen};

	if (score == 0 && signbit(score)) {
		el.b = (const char *)&neg_zero;
		el.blen = 8;
	}
	pt_put(ed, 0, &el);
	el.key = kvmap_hash(m, mlen);
	el.b = (const char *)&score;
	el.blen = 8;
	pt_put(ed, 1, &el);
}

static void to_big(struct tzset_w *w)
{
	w->ed = coll_edit(w->ctx, w->old, &w->lineage);
	for (size_t i = 0; i < w->n; i++)
		tree_put(w->ed, w->items[i].m, w->items[i].mlen, w->items[i].score);
	w->big = true;
	w->n = 0;
}

/* the index where (score, m) goes in the sorted array */
static size_t lp_pos(const struct tzset_w *w, const char *m, size_t mlen, double score)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tz_item *it = &w->items[mid];

		if (item_cmp(it->score, it->m, it->mlen, score, m, mlen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void lp_remove(struct tzset_w *w, size_t i)
{
	memmove(&w->items[i], &w->items[i + 1], (w->n - i - 1) * sizeof(w->items[0]));
	w->n--;
}

bool tzset_w_put(struct tzset_w *w, const char *m, size_t mlen, double score)
{
	if (w->big) {
		double old;
		bool had = tree_score(w_root(w, 1), m, mlen, &old);
		bool stale = had && rec_stale(w_root(w, 0), &w->lz, m, mlen, old);
		struct pt_edit *ed = w_edit(w);

		if (had && !stale) /* a live record: the score tree has it too */
			pt_del_present(ed, 0, pt_score_key(old), m, mlen);
		tree_put(ed, m, mlen, score); /* a stale record is overwritten */
		if (stale)
			w->lz.stale--;
		return !had || stale;
	}
	long i = lp_find(w, m, mlen);

	if (i >= 0) {
		lp_remove(w, (size_t)i);
	} else if ((long long)w->n + 1 > coll_limit(COLL_ZSET_MAX_ENTRIES) ||
		   (long long)mlen > coll_limit(COLL_ZSET_MAX_VALUE)) {
		to_big(w);
		tree_put(w->ed, m, mlen, score);
		return true;
	}
	/* a listpack keeps d2string's text, and d2string prints -0 as "0" */
	if (score == 0)
		score = 0.0;
	items_reserve(w, w->n + 1);
	size_t pos = lp_pos(w, m, mlen, score);

	memmove(&w->items[pos + 1], &w->items[pos], (w->n - pos) * sizeof(w->items[0]));
	w->items[pos] = (struct tz_item){.m = m, .mlen = mlen, .score = score};
	w->n++;
	return i < 0;
}

void tzset_w_update(struct tzset_w *w, const char *m, size_t mlen, double old, double score)
{
	if (!w->big) {
		(void)tzset_w_put(w, m, mlen, score);
		return;
	}
	struct pt_edit *ed = w_edit(w);

	pt_del_present(ed, 0, pt_score_key(old), m, mlen);
	tree_put(ed, m, mlen, score);
}

bool tzset_w_del(struct tzset_w *w, const char *m, size_t mlen)
{
	if (w->big) {
		double old;

		if (!live_score(w_root(w, 0), w_root(w, 1), &w->lz, m, mlen, &old))
			return false;
		struct pt_edit *ed = w_edit(w);

		pt_del_present(ed, 0, pt_score_key(old), m, mlen);
		pt_del_present(ed, 1, kvmap_hash(m, mlen), m, mlen);
		return true;
	}
	long i = lp_find(w, m, mlen);

	if (i < 0)
		return false;
	lp_remove(w, (size_t)i);
	return true;
}

size_t tzset_w_del_ranks(struct tzset_w *w, size_t start, size_t end)
{
	size_t n = tzset_w_count(w);

	if (end > n)
		end = n;
	if (start >= end)
		return 0;
	if (!w->big) {
		memmove(&w->items[start], &w->items[end], (w->n - end) * sizeof(w->items[0]));
		w->n -= end - start;
		return end - start;
	}
	/* copy the members out first: a write invalidates element pointers */
	size_t cnt = end - start, bytes = 0;
	struct pt_iter it;
	struct pt_elem el;
	/* ZPOPMIN / ZPOPMAX of one member: no allocation, and one seek (the
	 * sizes are counted first only when the stack buffers may not do) */
	struct tz_item sv[4];
	char sbuf[512];
	struct tz_item *v = cnt <= 4 ? sv : mem_alloc(cnt * sizeof(*v));
	char *buf = sbuf, *p;

	if (cnt > 1) {
		pt_iter_seek(&it, w_root(w, 0), start);
		for (size_t i = 0; i < cnt && pt_iter_next(&it, &el); i++)
			bytes += el.alen;
		if (bytes > sizeof(sbuf))
			buf = mem_alloc(bytes);
	}
	p = buf;
	pt_iter_seek(&it, w_root(w, 0), start);
	for (size_t i = 0; i < cnt && pt_iter_next(&it, &el); i++) {
		if (cnt == 1 && el.alen > sizeof(sbuf))
			buf = p = mem_alloc(el.alen);
		memcpy(p, el.a, el.alen);
		v[i] = (struct tz_item){.m = p, .mlen = el.alen, .score = elem_score(&el)};
		p += el.alen;
	}
	struct pt_edit *ed = w_edit(w);
	/* from the low end: the by-member records may stay, stale (see
	 * "Deferred deletes"), scores up to the last one popped */
	bool lazy = start == 0 && (w->lz.stale + cnt) * LAZY_RATIO <= n - cnt;

	for (size_t i = 0; i < cnt; i++) {
		/* read from the tree above (both trees hold every live member) */
		pt_del_present(ed, 0, pt_score_key(v[i].score), v[i].m, v[i].mlen);
		if (!lazy)
			pt_del_present(ed, 1, kvmap_hash(v[i].m, v[i].mlen), v[i].m, v[i].mlen);
	}
	if (lazy) {
		double top = v[cnt - 1].score;

		w->lz.wmark = w->lz.stale && w->lz.wmark > top ? w->lz.wmark : top;
		w->lz.stale += cnt;
		/* LAZY_DEBT per element; tzset_w_finish adds the command's one */
		w->lz.debt += LAZY_DEBT * (cnt - 1);
	}
	if (buf != sbuf)
		mem_free(buf);
	if (v != sv)
		mem_free(v);
	return cnt;
}

bool tzset_w_at(const struct tzset_w *w, size_t i, struct tz_item *out)
{
	struct pt_elem el;

	if (w->big) {
		if (!pt_at(w_root(w, 0), i, &el))
			return false;
		elem_item(&el, out);
		return true;
	}
	if (i >= w->n)
		return false;
	*out = w->items[i];
	return true;
}

/* A stale record the sweep found: its key and a copy of its member. */
struct swept {
	uint64_t key;
	char *m;
	size_t mlen;
};

/* Removes the stale records among the next lz.debt (at least) by-member
 * records from the cursor, in key order, wrapping at the end; stops at a
 * key boundary, so records sharing a key are never split between sweeps. */
static void sweep(struct tzset_w *w)
{
	struct pt_edit *ed = w_edit(w);
	const struct pt_node *bymember = ed->root[1];
	struct pt_iter it;
	struct pt_elem el;
	struct swept *v = NULL;
	size_t nv = 0, cap = 0, seen = 0;
	uint64_t last = 0, next = 0;

	pt_prefetch_run(bymember, w->lz.cursor, LAZY_SWEEP_LEAVES);
	pt_iter_seek(&it, bymember, pt_rank(bymember, w->lz.cursor, NULL, 0));
	while (pt_iter_next(&it, &el)) {
		double score;

		if (seen >= w->lz.debt && el.key != last) {
			next = el.key;
			break;
		}
		seen++;
		last = el.key;
		memcpy(&score, el.b, 8);
		if (!rec_stale(ed->root[0], &w->lz, el.a, el.alen, score))
			continue;
		if (nv == cap) {
			cap = cap ? 2 * cap : 8;
			v = mem_realloc(v, cap * sizeof(*v));
		}
		v[nv].key = el.key;
		v[nv].mlen = el.alen;
		v[nv].m = mem_alloc(el.alen ? el.alen : 1);
		memcpy(v[nv].m, el.a, el.alen);
		nv++;
	}
	/* next == 0: the walk reached the end (a key of 0 starts over too) */
	w->lz.cursor = next;
	w->lz.debt = 0;
	for (size_t i = 0; i < nv; i++) {
		pt_del_present(ed, 1, v[i].key, v[i].m, v[i].mlen);
		mem_free(v[i].m);
	}
	w->lz.stale -= nv;
	mem_free(v);
	/* the next sweep's leaves, a few commands ahead: cached by then */
	if (w->lz.stale)
		pt_prefetch_run(ed->root[1], w->lz.cursor, LAZY_SWEEP_LEAVES);
}

struct kv_entry *tzset_w_finish(struct tzset_w *w, const void *key, size_t klen, int64_t expire_ms)
{
	if (w->big) {
		struct pt_edit *ed = w_edit(w);
		struct kv_entry *e;

		if (pt_count(ed->root[0]) == 0)
			return NULL; /* stale records go with the trees */
		if (w->lz.stale) {
			/* every write pays toward the sweep, so a backlog left
			 * by pops is cleared by whatever writes come next */
			w->lz.debt += LAZY_DEBT;
			if (w->lz.debt >= LAZY_SWEEP)
				sweep(w);
		}
		if (!w->lz.stale)
			w->lz = (struct tzset_lazy){0};
		e = coll_new_big_ext(key, klen, KV_ZSET, COLL_SKIPLIST, w->lineage, ed->root[0],
				     ed->root[1], sizeof(w->lz), expire_ms);
		memcpy(coll_big_ext(e), &w->lz, sizeof(w->lz));
		return e;
	}
	if (w->n == 0)
		return NULL;
	return lp_build(key, klen, w->items, w->n, expire_ms);
}

void tzset_w_end(struct tzset_w *w)
{
	mem_free(w->items);
	w->items = NULL;
	w->n = w->cap = 0;
}

struct kv_entry *tzset_build(struct coll_ctx *ctx, const void *key, size_t klen,
			     const struct tz_item *items, size_t n, int64_t expire_ms)
{
	bool small = (long long)n <= coll_limit(COLL_ZSET_MAX_ENTRIES);
	struct kv_entry *e;

	if (n == 0)
		return NULL;
	for (size_t i = 0; small && i < n; i++)
		if ((long long)items[i].mlen > coll_limit(COLL_ZSET_MAX_VALUE))
			small = false;
	if (!small) {
		uint64_t lin;
		struct pt_edit *ed = coll_edit(ctx, NULL, &lin);

		for (size_t i = 0; i < n; i++)
			tree_put(ed, items[i].m, items[i].mlen, items[i].score);
		return coll_new_big(key, klen, KV_ZSET, COLL_SKIPLIST, lin, ed->root[0],
				    ed->root[1], expire_ms);
	}
	struct tz_item *v = mem_alloc(n * sizeof(*v));

	memcpy(v, items, n * sizeof(*v));
	qsort(v, n, sizeof(*v), item_qcmp);
	e = lp_build(key, klen, v, n, expire_ms);
	mem_free(v);
	return e;
}

/* ------------------------------------------------------ the type's row */

size_t tzset_memory(const struct kv_entry *e, long long samples)
{
	(void)samples;
	/* a listpack lives in the entry itself */
	if (is_big(e))
		return pt_bytes(coll_big_of(e)->root[0]) + pt_bytes(coll_big_of(e)->root[1]);
	return 0;
}

void tzset_foreach(const struct kv_entry *e,
		   void (*fn)(const char *a, size_t alen, const char *b, size_t blen, void *arg),
		   void *arg)
{
	struct tzset_iter it;
	struct tz_item x;
	char buf[64];

	tzset_iter_init(&it, e, 0, false);
	while (tzset_iter_next(&it, &x)) {
		int n = snprintf(buf, sizeof(buf), "%.17g", x.score);

		fn(x.m, x.mlen, buf, (size_t)n, arg);
	}
}

struct kv_entry *tzset_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
			    size_t klen, int64_t expire_ms)
{
	struct tzset_iter it;
	struct tz_item x;
	uint64_t lin;
	struct pt_edit *ed;

	if (!is_big(e)) {
		size_t len;
		const char *b = coll_blob(e, &len);

		return coll_new_compact(key, klen, KV_ZSET, COLL_LISTPACK, b, len, expire_ms);
	}
	ed = coll_edit(c, NULL, &lin);
	tzset_iter_init(&it, e, 0, false);
	while (tzset_iter_next(&it, &x))
		tree_put(ed, x.m, x.mlen, x.score);
	return coll_new_big(key, klen, KV_ZSET, COLL_SKIPLIST, lin, ed->root[0], ed->root[1],
			    expire_ms);
}

static void (*digest_sha1)(const void *p, size_t n, uint8_t out[20]);

static void xor_sha1(uint8_t d[20], const void *p, size_t n)
{
	uint8_t h[20];

	digest_sha1(p, n, h);
	for (int i = 0; i < 20; i++)
		d[i] ^= h[i];
}

void tzset_digest(const struct kv_entry *e, unsigned char out[20])
{
	struct tzset_iter it;
	struct tz_item x;
	char buf[64];

	memset(out, 0, 20);
	tzset_iter_init(&it, e, 0, false);
	while (tzset_iter_next(&it, &x)) {
		uint8_t d[20] = {0};
		int n = snprintf(buf, sizeof(buf), "%.17g", x.score);

		xor_sha1(d, x.m, x.mlen); /* mixDigest(d, member) */
		digest_sha1(d, 20, d);
		xor_sha1(d, buf, (size_t)n); /* mixDigest(d, score) */
		digest_sha1(d, 20, d);
		xor_sha1(out, d, 20); /* xorDigest(out, d) */
	}
}

static const struct coll_type_ops zset_ops = {
    .name = "zset",
    .count = tzset_count,
    .digest = tzset_digest,
    .memory = tzset_memory,
    .foreach = tzset_foreach,
    .copy = tzset_copy,
};

void tzset_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]))
{
	digest_sha1 = sha1;
	coll_register(KV_ZSET, &zset_ops);
}

/* ---------------------------------------------------------- statistics */

#define TZ_SHARDS 64
static struct {
	/* written by the threads whose wctx ticket picks the shard, summed by
	 * tzset_stats(): a statistic, publishes nothing (relaxed) */
	_Atomic long long retries;
	char pad[64 - sizeof(long long)];
} tz_shards[TZ_SHARDS];

void tzset_count_retry(void)
{
	unsigned s = wctx_self()->ticket % TZ_SHARDS;

	/* relaxed: statistic only */
	atomic_fetch_add_explicit(&tz_shards[s].retries, 1, memory_order_relaxed);
}

void tzset_stats(struct tzset_stats *out)
{
	long long t = 0;

	for (int i = 0; i < TZ_SHARDS; i++)
		/* relaxed: statistic only */
		t += atomic_load_explicit(&tz_shards[i].retries, memory_order_relaxed);
	out->cas_retries = t;
}
