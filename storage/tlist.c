/*
 * tlist.c — the list type's two encodings and the write session over them
 * (see tlist.h).
 *
 * A compact session decodes the blob into an array of item views (pointers
 * into the old blob, which stays valid until the caller's next quiescent
 * state, or into the caller's arguments), edits the array, and writes one
 * new blob at the end — or converts, when the result no longer fits one
 * quicklist node. A large session edits the tree directly, one chunk at a
 * time: a chunk is decoded into views, changed, and re-encoded into a
 * scratch buffer (a copy: the views may point into the chunk being
 * replaced) before the tree is touched; a result longer than a chunk is
 * split into several (packed from the left, or for pushes at the head from
 * the right, so the full chunks stay full and the new partial one is at the
 * end being pushed to).
 */
#include "storage/tlist.h"

#include <limits.h>
#include <lzf.h>
#include <pthread.h>
#include <string.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/db.h"
#include "storage/varint.h"

static void (*digest_sha1)(const void *p, size_t n, uint8_t out[20]);

static bool is_big(const struct kv_entry *e)
{
	return coll_entry_enc(e) == COLL_QUICKLIST_BIG;
}

/* ---- End chunks
 *
 * A large list is three parts: the head chunk's window, the tree, the tail
 * chunk's window (tlist.h). An end chunk is one allocation (1 KB for a
 * TLIST_CHUNK_MAX buffer) shared by the successive versions that use it,
 * each of which names its own window [off, off + len) holding cnt items in
 * the item format. A tail chunk fills its buffer upward from 0, a head
 * chunk downward from cap, so a push at either end only adds bytes next to
 * the window, outside it.
 *
 * The claim. Bytes of a chunk past the windows of all its versions are
 * free; `claim` is their boundary (tail chunk: [claim, cap) is free; head
 * chunk: [0, claim)). A session that pushes onto its version's window CASes
 * the claim from exactly that window's edge to the edge after the new bytes
 * and only then writes them. Why that is enough:
 *  - two sessions from the same version (or from versions whose windows
 *    end at the same edge) race for the same bytes: one CAS wins; the loser
 *    finds claim != its edge and copies its window into a chunk of its own;
 *  - a pop narrows a window but leaves the claim where it is, so a later
 *    push from the popped version finds claim != its edge and copies: bytes
 *    an older version (a snapshot, a reader still iterating) can read are
 *    never written again, and no byte is written twice;
 *  - a session whose result is never published (lost CAS, aborted
 *    transaction) leaves its claimed bytes unused: wasted, not reused.
 * Readers read only inside their version's window, whose bytes were
 * written before the version was published (the entry CAS releases them).
 * A chunk is private to the edit whose gen it carries: still reachable from
 * no published version (freed by the edit's drop); the claim rule holds for
 * it too, so private and published chunks take the same path.
 */
struct tlist_chunk {
	uint64_t gen; /* the edit that allocated it (ptree.h's private rule) */
	/* tail chunk: bytes [0, claim) are taken; head chunk: [claim, cap).
	 * Written by pushing sessions (CAS, any thread), read by them only. */
	_Atomic uint32_t claim;
	uint32_t cap;
	/* tail chunks: ix[j] is the offset of the chunk's j-th item (in buffer
	 * order), so a pop at the tail finds the last items without walking
	 * the window. Slot j is written with item j's bytes, by the session
	 * that claimed them, and never again (the claim covers it); a reader
	 * reads the slots of its window's items only. NULL in head chunks
	 * (their pops at the head need none). TLIST_CHUNK_MAX slots: an item
	 * takes at least a byte, and a chunk larger than that holds one. */
	uint16_t *ix;
	char buf[];
};

/* One end's part of a version: the chunk (NULL: none, cnt 0) and the
 * window: bytes [off, off + len) of buf hold cnt items, the first of them
 * the chunk's item number `first` (tail chunks: its ix slot). */
struct tlist_win {
	struct tlist_chunk *c;
	uint32_t off, len, cnt, first;
};

/* A large list entry's extension (coll_big_ext). */
struct tlist_ext {
	struct tlist_win end[2];
};

static const struct tlist_ext *ext_of(const struct kv_entry *e)
{
	return coll_big_ext(e);
}

static size_t big_len(const struct kv_entry *e)
{
	const struct tlist_ext *x = ext_of(e);
	return pt_count(coll_big_of(e)->root[0]) + x->end[0].cnt + x->end[1].cnt;
}

static const char *win(const struct tlist_win *x)
{
	return x->c->buf + x->off;
}

/* ---- chunk compression (Redis's quicklist LZF of inner nodes)
 *
 * A large list's chunk is a positional tree element (ptree.h) whose weight
 * is its item count and whose b holds its items in the item format: a
 * raw chunk has no a (alen 0). A compressed chunk's b holds the LZF of
 * those bytes and its a the varint of their length (alen 1 to 10), so one
 * load of alen tells them apart and the readers need nothing else.
 * Compression never changes a published chunk: like any write it builds a
 * new element through the session's edit (a path copy), so a lock-free
 * reader of the previous version keeps reading the bytes it found, whole,
 * and decompresses into a buffer of its own (its iterator's, or its
 * thread's for tlist_index).
 *
 * Which chunks (Redis's __quicklistCompress): with depth d =
 * list-compress-depth > 0, the first d and the last d chunks stay raw and
 * every chunk between them is compressed when tlist_lzf_pack accepts it.
 * A session keeps that true for what it touches: every chunk it writes is
 * settled (compressed or not) where it lands, and at the end
 * (settle_ends) the first and last d + ins + 1 chunks are settled, ins
 * being the chunks the session inserted. That suffices: a chunk's distance
 * (in chunks) from an end only grows by inserts between it and that end, so
 * a raw chunk that was within d of an end when it was last settled (or when
 * the session began) is now within d + ins; and a compressed one that came
 * within d of an end (deletes) is in the walked region too. So a push or pop
 * at an end touches only the raw end chunks plus the O(d) settling walk,
 * as in Redis. Depth 0 settles nothing (chunks written are raw; compressed
 * ones from an earlier setting stay so until they are rewritten), and a
 * setting changed at run time applies to a list as it is next modified.
 */

size_t tlist_lzf_pack(const char *raw, size_t len, char *out)
{
	if (len < TLIST_MIN_COMPRESS_BYTES || len > UINT_MAX)
		return 0;
	unsigned c = lzf_compress(raw, (unsigned)len, out, (unsigned)len);
	if (c == 0 || c + TLIST_MIN_COMPRESS_IMPROVE >= len)
		return 0;
	return c;
}

bool tlist_lzf_unpack(const char *in, size_t inlen, char *out, size_t rawlen)
{
	if (inlen > UINT_MAX || rawlen > UINT_MAX || rawlen == 0)
		return false;
	return lzf_decompress(in, (unsigned)inlen, out, (unsigned)rawlen) == rawlen;
}

struct zbuf {
	char *p;
	size_t cap;
};

static char *zbuf_get(struct zbuf *z, size_t n)
{
	if (n > z->cap) {
		mem_free(z->p);
		z->cap = n < 1024 ? 1024 : n;
		z->p = mem_alloc(z->cap);
	}
	return z->p;
}

static void zbuf_free(struct zbuf *z)
{
	mem_free(z->p);
	z->p = NULL;
	z->cap = 0;
}

/* A chunk's item bytes: its own when raw, else decompressed into z (valid
 * until z's next use). */
static const char *chunk_raw(const struct pt_elem *el, struct zbuf *z, size_t *len)
{
	if (el->alen == 0) {
		*len = el->blen;
		return el->b;
	}
	size_t raw;
	varint_get(el->a, &raw);
	char *out = zbuf_get(z, raw);
	bool ok = tlist_lzf_unpack(el->b, el->blen, out, raw);
	KV_ASSERT(ok);
	*len = raw;
	return out;
}

static size_t compress_depth(void)
{
	long long d = coll_limit(COLL_LIST_COMPRESS);
	return d > 0 ? (size_t)d : 0;
}

/* Units covered by the first k chunks of r (all of them if fewer). */
static size_t head_units(const struct pt_node *r, size_t k)
{
	struct pt_iter it;
	struct pt_elem el;
	size_t u = 0;

	if (!r || !pt_count(r))
		return 0;
	pt_iter_seek_at(&it, r, 0, NULL);
	for (size_t i = 0; i < k && pt_iter_next(&it, &el); i++)
		u += el.key;
	return u;
}

/* The first unit of the last k chunks of r (0 if there are no more). */
static size_t tail_start(const struct pt_node *r, size_t k)
{
	struct pt_iter it;
	struct pt_elem el;
	size_t u = pt_count(r);

	if (!u)
		return 0;
	pt_iter_seek_at(&it, r, u - 1, NULL);
	for (size_t i = 0; i < k && pt_iter_prev(&it, &el); i++)
		u -= el.key;
	return u;
}

/* Whether a chunk's state is the one depth d asks (d > 0). */
static bool chunk_settled(const struct pt_elem *el, bool inner, struct zbuf *z)
{
	if (!inner)
		return el->alen == 0;
	return el->alen != 0 || tlist_lzf_pack(el->b, el->blen, zbuf_get(z, el->blen)) == 0;
}

/* ---- item arrays */

struct items {
	struct tlist_item *v;
	size_t n, cap;
};

static void items_reserve(struct items *a, size_t n)
{
	if (n <= a->cap)
		return;
	size_t c = a->cap ? a->cap : 16;
	while (c < n)
		c *= 2;
	a->v = mem_realloc(a->v, c * sizeof(*a->v));
	a->cap = c;
}

/* Decodes `count` items of the item format at p into a (replacing it). */
static KV_HOT void decode(const char *p, size_t count, struct items *a)
{
	items_reserve(a, count);
	for (size_t i = 0; i < count; i++) {
		p = varint_get(p, &a->v[i].len);
		a->v[i].p = p;
		p += a->v[i].len;
	}
	a->n = count;
}

static size_t items_bytes(const struct tlist_item *v, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += varint_len(v[i].len) + v[i].len;
	return s;
}

static char *encode(char *p, const struct tlist_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p = varint_put(p, v[i].len);
		if (v[i].len)
			memcpy(p, v[i].p, v[i].len);
		p += v[i].len;
	}
	return p;
}

/* ---- Redis's quicklist node limit (list-max-listpack-size) */

/* string2ll's strictness: what a listpack stores as an integer */
static bool as_int(const char *p, size_t len, long long *out)
{
	if (len == 0 || len > 20)
		return false;
	size_t i = 0;
	bool neg = p[0] == '-';
	if (neg)
		i = 1;
	if (i == len || p[i] < '0' || p[i] > '9' || (p[i] == '0' && len > 1))
		return false;
	unsigned long long v = 0;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = (long long)(0 - v);
	} else {
		if (v > LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

/* Bytes of one listpack entry (encoding, data, backlen), as lpInsert. */
static size_t lp_entry_bytes(const char *p, size_t len)
{
	long long v;
	size_t x;
	if (as_int(p, len, &v)) {
		if (v >= 0 && v <= 127)
			x = 1;
		else if (v >= -4096 && v <= 4095)
			x = 2;
		else if (v >= -32768 && v <= 32767)
			x = 3;
		else if (v >= -8388608 && v <= 8388607)
			x = 4;
		else if (v >= -2147483648LL && v <= 2147483647LL)
			x = 5;
		else
			x = 9;
	} else {
		x = len + (len < 64 ? 1 : len < 4096 ? 2 : 5);
	}
	return x + (x <= 127 ? 1 : x < 16383 ? 2 : x < 2097151 ? 3 : x < 268435455 ? 4 : 5);
}

/* Whether items fit one quicklist node (quicklistSetFill clamps the
 * setting to -5 .. 32767; a node always takes its first item). */
static bool fits_node(const struct tlist_item *v, size_t n)
{
	static const size_t level[] = {4096, 8192, 16384, 32768, 65536};
	long long fill = coll_limit(COLL_LIST_MAX_SIZE);
	if (fill < -5)
		fill = -5;
	if (fill > 32767)
		fill = 32767;
	if (n <= 1)
		return true;
	if (fill >= 0 && (long long)n > fill)
		return false;
	size_t limit = fill < 0 ? level[-fill - 1] : 8192;
	size_t sz = 7; /* listpack header and end byte */
	for (size_t i = 0; i < n; i++) {
		sz += lp_entry_bytes(v[i].p, v[i].len);
		if (sz > limit)
			return false;
	}
	return true;
}

/* ---- per-thread buffers */

/* Buffers larger than this are not kept (the spare's, tlist_index's). */
#define W_KEEP_BYTES (64 * 1024)

/* One finished session per thread is kept with its buffers for the next
 * command (a push or pop then allocates nothing of its own but the new
 * chunk and entry). A slot, not a pool: a session begun while another is
 * open simply allocates. */
static _Thread_local struct tlist_w *w_spare;
/* tlist_index's decompressed chunk */
static _Thread_local struct zbuf tl_rbuf;
/* set once the thread registered with the key, whose destructor frees the
 * spare and the buffer when the thread ends */
static _Thread_local bool w_spare_keyed;
static pthread_key_t w_spare_key;
static pthread_once_t w_spare_once = PTHREAD_ONCE_INIT;
static void w_release(struct tlist_w *w);

static void w_spare_free(void *unused)
{
	(void)unused;
	if (w_spare) {
		struct tlist_w *w = w_spare;
		w_spare = NULL;
		w_release(w);
	}
	zbuf_free(&tl_rbuf);
}

static void w_spare_key_init(void)
{
	int rc = pthread_key_create(&w_spare_key, w_spare_free);
	KV_ASSERT(rc == 0);
}

/* Registers the thread's spare and buffer for freeing at thread exit. */
static void tl_keyed(void)
{
	if (!w_spare_keyed) {
		pthread_once(&w_spare_once, w_spare_key_init);
		/* any non-NULL value: the destructor runs when the thread ends */
		pthread_setspecific(w_spare_key, &w_spare_keyed);
		w_spare_keyed = true;
	}
}

/* ---- readers */

size_t tlist_len(const struct kv_entry *e)
{
	if (is_big(e))
		return big_len(e);
	size_t len, n;
	varint_get(coll_blob(e, &len), &n);
	return n;
}

/* The k-th item of the item format at p. */
static void skip_to(const char *p, size_t k, const char **ip, size_t *ilen)
{
	size_t l;
	for (;;) {
		p = varint_get(p, &l);
		if (k-- == 0)
			break;
		p += l;
	}
	*ip = p;
	*ilen = l;
}

bool tlist_index(const struct kv_entry *e, size_t i, const char **p, size_t *len)
{
	if (i >= tlist_len(e))
		return false;
	if (is_big(e)) {
		const struct tlist_ext *x = ext_of(e);
		const struct pt_node *r = coll_big_of(e)->root[0];
		if (i < x->end[0].cnt) {
			skip_to(win(&x->end[0]), i, p, len);
			return true;
		}
		i -= x->end[0].cnt;
		if (i >= pt_count(r)) {
			skip_to(win(&x->end[1]), i - pt_count(r), p, len);
			return true;
		}
		struct pt_elem el;
		size_t st;
		if (!pt_find_at(r, i, &el, &st))
			return false;
		size_t rl;
		if (tl_rbuf.cap > W_KEEP_BYTES) /* the last call's item is no longer valid */
			zbuf_free(&tl_rbuf);
		skip_to(chunk_raw(&el, &tl_rbuf, &rl), i - st, p, len);
		tl_keyed();
		return true;
	}
	size_t bl, n;
	const char *b = varint_get(coll_blob(e, &bl), &n);
	skip_to(b, i, p, len);
	return true;
}

/* Decodes tree chunk el into the iterator's item array (*a, whose storage
 * it then keeps), through its decompression buffer. */
static void iter_decode_chunk(struct tlist_iter *it, const struct pt_elem *el, struct items *a)
{
	struct zbuf z = {it->zb, it->zcap};
	size_t rl;

	decode(chunk_raw(el, &z, &rl), el->key, a);
	it->zb = z.p;
	it->zcap = z.cap;
	it->v = a->v;
	it->cap = a->cap;
	it->n = a->n;
}

/* Large: positions the iterator at unit u of part `part` (0 the head
 * window, 1 the tree, 2 the tail window), the chunk holding it decoded;
 * false if the part is empty. */
static bool iter_enter(struct tlist_iter *it, int part, size_t u)
{
	struct items a = {it->v, 0, it->cap};
	const struct tlist_ext *x = ext_of(it->e);
	size_t st = 0;

	it->part = part;
	if (part != 1) {
		const struct tlist_win *en = &x->end[part / 2];
		if (!en->cnt)
			return false;
		decode(win(en), en->cnt, &a);
	} else {
		const struct pt_node *r = coll_big_of(it->e)->root[0];
		struct pt_elem el;
		if (!pt_count(r))
			return false;
		pt_iter_seek_at(&it->pit, r, u, &st);
		if (it->fwd)
			pt_iter_next(&it->pit, &el);
		else
			pt_iter_prev(&it->pit, &el);
		iter_decode_chunk(it, &el, &a);
	}
	it->v = a.v;
	it->cap = a.cap;
	it->n = a.n;
	it->pos = it->fwd ? u - st : u - st + 1;
	return true;
}

/* Large: the next non-empty part in the iterator's direction, entered at
 * its first (forward) or last unit; false at the end of the list. */
static bool iter_next_part(struct tlist_iter *it)
{
	const struct tlist_ext *x = ext_of(it->e);
	for (int p = it->part + (it->fwd ? 1 : -1); p >= 0 && p <= 2; p += it->fwd ? 1 : -1) {
		size_t n = p == 1 ? pt_count(coll_big_of(it->e)->root[0]) : x->end[p / 2].cnt;
		if (n && iter_enter(it, p, it->fwd ? 0 : n - 1))
			return true;
	}
	return false;
}

void tlist_iter_init(struct tlist_iter *it, const struct kv_entry *e, size_t i, bool forward)
{
	struct items a = {0};
	it->big = is_big(e);
	it->fwd = forward;
	it->e = e;
	it->part = 0;
	it->v = NULL;
	it->n = it->cap = it->pos = 0;
	it->zb = NULL;
	it->zcap = 0;
	if (i >= tlist_len(e)) {
		it->big = false;
		return;
	}
	if (it->big) {
		const struct tlist_ext *x = ext_of(e);
		size_t h = x->end[0].cnt, tn = pt_count(coll_big_of(e)->root[0]);
		bool ok;
		if (i < h)
			ok = iter_enter(it, 0, i);
		else if (i - h < tn)
			ok = iter_enter(it, 1, i - h);
		else
			ok = iter_enter(it, 2, i - h - tn);
		KV_ASSERT(ok);
		return;
	}
	size_t bl, n;
	const char *b = varint_get(coll_blob(e, &bl), &n);
	decode(b, n, &a);
	it->v = a.v;
	it->n = a.n;
	it->cap = a.cap;
	it->pos = forward ? i : i + 1;
}

bool tlist_iter_next(struct tlist_iter *it, const char **p, size_t *len)
{
	if (it->fwd ? it->pos >= it->n : it->pos == 0) {
		struct pt_elem el;
		if (!it->big)
			return false;
		bool more = false;
		if (it->part == 1 &&
		    (it->fwd ? pt_iter_next(&it->pit, &el) : pt_iter_prev(&it->pit, &el))) {
			struct items a = {it->v, 0, it->cap};

			iter_decode_chunk(it, &el, &a);
			it->pos = it->fwd ? 0 : a.n;
			more = true;
		} else {
			more = iter_next_part(it);
		}
		if (!more) {
			it->big = false;
			it->n = it->pos = 0;
			return false;
		}
	}
	const struct tlist_item *x = &it->v[it->fwd ? it->pos++ : --it->pos];
	*p = x->p;
	*len = x->len;
	return true;
}

void tlist_iter_done(struct tlist_iter *it)
{
	mem_free(it->v);
	mem_free(it->zb);
	it->v = NULL;
	it->zb = NULL;
	it->n = it->cap = it->pos = it->zcap = 0;
}

/* ---- write sessions */

struct tlist_w {
	struct coll_ctx *c;
	bool big;
	struct items a; /* compact: the list; large: the chunk at hand */
	struct pt_edit *ed;
	uint64_t lin;
	char *scratch;
	size_t scap;
	struct items tmp;	 /* combined views for chunk writes */
	struct zbuf z;		 /* the decompressed chunk w->a's views point into */
	struct zbuf cz;		 /* compression output; tlist_w_get's chunk */
	size_t ins;		 /* chunks inserted (settle_ends) */
	struct tlist_win end[2]; /* large: the result's end chunks */
	bool use_ends;		 /* large: pushes and pops go through end chunks */
};

/* Large: the end chunk leaves the session's result. */
static void chunk_dispose(struct tlist_w *w, struct tlist_chunk *c)
{
	pt_edit_dispose(w->ed, c, c->gen == w->ed->gen);
}

/* Large: a new chunk of `cap` bytes private to the session's edit, for the
 * head (filled downward) or the tail; its window is empty, at its fill
 * side. Replaces nothing: the caller disposed of the old one. */
static void chunk_new(struct tlist_w *w, enum tlist_end end, size_t cap)
{
	size_t ixo = (cap + 1) & ~(size_t)1; /* ix after buf, 2-aligned */
	struct tlist_chunk *c = mem_alloc(
	    sizeof(*c) + ixo + (end == TLIST_TAIL ? TLIST_CHUNK_MAX * sizeof(uint16_t) : 0));
	c->gen = w->ed->gen;
	c->cap = (uint32_t)cap;
	c->ix = end == TLIST_TAIL ? (uint16_t *)(void *)(c->buf + ixo) : NULL;
	uint32_t edge = end == TLIST_HEAD ? (uint32_t)cap : 0;
	/* relaxed: not yet visible to any other thread */
	atomic_store_explicit(&c->claim, edge, memory_order_relaxed);
	pt_edit_adopt(w->ed, c);
	w->end[end] = (struct tlist_win){c, edge, 0, 0, 0};
}

/* Large: the end chunk just made (chunk_new) receives `len` bytes of
 * `cnt` items as its window, placed at its fill side (its ix filled). */
static void chunk_fill(struct tlist_w *w, enum tlist_end end, const char *p, size_t len, size_t cnt)
{
	struct tlist_win *x = &w->end[end];
	struct tlist_chunk *c = x->c;
	uint32_t off = end == TLIST_HEAD ? c->cap - (uint32_t)len : 0;
	memcpy(c->buf + off, p, len);
	if (c->ix) {
		const char *q = c->buf;
		for (size_t j = 0; j < cnt; j++) {
			size_t l;
			c->ix[j] = (uint16_t)(q - c->buf);
			q = varint_get(q, &l) + l;
		}
	}
	/* relaxed: the chunk is private (unpublished) */
	atomic_store_explicit(&c->claim, end == TLIST_HEAD ? off : (uint32_t)len,
			      memory_order_relaxed);
	*x = (struct tlist_win){c, off, (uint32_t)len, (uint32_t)cnt, 0};
}

/* Large: moves the end chunk's window into the tree (a copy of its bytes
 * as a tree element at that end) and disposes of the chunk. */
static void chunk_spill(struct tlist_w *w, enum tlist_end end)
{
	struct tlist_win *x = &w->end[end];
	if (!x->c)
		return;
	if (x->cnt) {
		struct pt_elem el = {x->cnt, NULL, 0, win(x), x->len};
		pt_insert_at(w->ed, 0, end == TLIST_HEAD ? 0 : pt_count(w->ed->root[0]), &el);
		w->ins++;
	}
	chunk_dispose(w, x->c);
	*x = (struct tlist_win){0};
}

/* Large: the whole list into the tree (for the edits that work on the tree
 * alone: LSET, LINSERT, LREM, LTRIM, and every write under
 * list-compress-depth > 0). */
static void fold(struct tlist_w *w)
{
	chunk_spill(w, TLIST_HEAD);
	chunk_spill(w, TLIST_TAIL);
}

KV_HOT struct tlist_w *tlist_w_begin(struct coll_ctx *c, const struct kv_entry *old)
{
	struct tlist_w *w = w_spare;

	if (w) {
		w_spare = NULL;
		w->a.n = w->tmp.n = 0;
		w->big = false;
		w->ed = NULL;
		w->lin = 0;
		w->ins = 0;
	} else {
		w = mem_alloc(sizeof(*w));
		memset(w, 0, sizeof(*w));
	}
	w->c = c;
	memset(w->end, 0, sizeof(w->end));
	/* list-compress-depth > 0: the tree alone (its settling counts chunks) */
	w->use_ends = compress_depth() == 0;
	if (old && is_big(old)) {
		w->big = true;
		w->ed = coll_edit(c, old, &w->lin);
		memcpy(w->end, ext_of(old)->end, sizeof(w->end));
		if (!w->use_ends)
			fold(w);
	} else if (old) {
		size_t bl, n;
		const char *b = varint_get(coll_blob(old, &bl), &n);
		decode(b, n, &w->a);
	}
	return w;
}

size_t tlist_w_len(const struct tlist_w *w)
{
	return w->big ? pt_count(w->ed->root[0]) + w->end[0].cnt + w->end[1].cnt : w->a.n;
}

static char *scratch(struct tlist_w *w, size_t n)
{
	if (n > w->scap) {
		mem_free(w->scratch);
		w->scap = n < 4096 ? 4096 : n;
		w->scratch = mem_alloc(w->scap);
	}
	return w->scratch;
}

/* Large: brings the chunks that start in units [from, to) (and the one
 * covering `from`) to the state depth d asks — inner ones compressed when
 * LZF accepts them, the first and last d raw. d == 0: nothing to do. */
static void settle(struct tlist_w *w, size_t d, size_t from, size_t to)
{
	size_t n = pt_count(w->ed->root[0]);
	if (d == 0 || n == 0)
		return;
	size_t h = head_units(w->ed->root[0], d), t = tail_start(w->ed->root[0], d);
	if (to > n)
		to = n;
	for (size_t u = from; u < to;) {
		struct pt_elem el;
		size_t st;
		bool ok = pt_find_at(w->ed->root[0], u, &el, &st);
		KV_ASSERT(ok);
		bool inner = st >= h && st < t;
		if (inner && el.alen == 0) {
			char *out = zbuf_get(&w->cz, el.blen);
			size_t c = tlist_lzf_pack(el.b, el.blen, out);
			if (c) {
				char a[10];
				size_t al = (size_t)(varint_put(a, el.blen) - a);
				struct pt_elem ne = {el.key, a, al, out, c};
				pt_set_at(w->ed, 0, st, &ne);
			}
		} else if (!inner && el.alen) {
			size_t rl;
			const char *raw = chunk_raw(&el, &w->cz, &rl);
			struct pt_elem ne = {el.key, NULL, 0, raw, rl};
			pt_set_at(w->ed, 0, st, &ne);
		}
		u = st + el.key;
	}
}

/* Large, at the end of a session: settles the first and last
 * depth + ins + 1 chunks (see "Which chunks" above). */
static void settle_ends(struct tlist_w *w)
{
	size_t d = compress_depth();
	if (!w->big || d == 0 || !pt_count(w->ed->root[0]))
		return;
	size_t k = d + w->ins + 1;
	size_t hu = head_units(w->ed->root[0], k), ts = tail_start(w->ed->root[0], k);
	if (ts <= hu) {
		settle(w, d, 0, pt_count(w->ed->root[0]));
		return;
	}
	settle(w, d, 0, hu);
	settle(w, d, ts, pt_count(w->ed->root[0]));
}

/* chunk_write's cut array, doubled (it starts on the stack). */
static size_t *grow_cuts(size_t *cut, const size_t *local, size_t *cap)
{
	size_t *n = mem_alloc((2 * *cap + 1) * sizeof(*n));
	memcpy(n, cut, (*cap + 1) * sizeof(*n));
	if (cut != local)
		mem_free(cut);
	*cap *= 2;
	return n;
}

/*
 * Large: replaces the chunk starting at unit u of weight `old_w` (0: none,
 * u is a boundary to insert at) with the items v[0..n), packed into chunks
 * of at most TLIST_CHUNK_MAX bytes (a single longer item gets its own),
 * from the left or (from_right) from the right. v may point into the tree.
 */
static void chunk_write(struct tlist_w *w, size_t u, uint64_t old_w, const struct tlist_item *v,
			size_t n, bool from_right)
{
	if (n == 0) {
		if (old_w)
			pt_del_at(w->ed, 0, u);
		return;
	}
	size_t total = items_bytes(v, n);
	char *buf = scratch(w, total);
	encode(buf, v, n);
	/* piece boundaries: cut[k] .. cut[k + 1] items, bytes from boff */
	size_t pieces = 0, cap = 15;
	size_t cut_local[16];
	size_t *cut = cut_local;
	if (!from_right) {
		size_t i = 0;
		cut[0] = 0;
		while (i < n) {
			size_t b = 0, j = i;
			while (j < n &&
			       (j == i || b + varint_len(v[j].len) + v[j].len <= TLIST_CHUNK_MAX)) {
				b += varint_len(v[j].len) + v[j].len;
				j++;
			}
			if (pieces + 1 >= cap)
				cut = grow_cuts(cut, cut_local, &cap);
			cut[++pieces] = j;
			i = j;
		}
	} else {
		/* cuts from the right, then reversed */
		size_t j = n;
		cut[0] = n;
		while (j > 0) {
			size_t b = 0, i = j;
			while (i > 0 && (i == j || b + varint_len(v[i - 1].len) + v[i - 1].len <=
						       TLIST_CHUNK_MAX)) {
				b += varint_len(v[i - 1].len) + v[i - 1].len;
				i--;
			}
			if (pieces + 1 >= cap)
				cut = grow_cuts(cut, cut_local, &cap);
			cut[++pieces] = i;
			j = i;
		}
		for (size_t a = 0, b = pieces; a < b; a++, b--) {
			size_t t = cut[a];
			cut[a] = cut[b];
			cut[b] = t;
		}
	}
	size_t off = 0, at = u;
	for (size_t k = 0; k < pieces; k++) {
		size_t cnt = cut[k + 1] - cut[k];
		size_t bytes = items_bytes(v + cut[k], cnt);
		struct pt_elem el = {cnt, NULL, 0, buf + off, bytes};
		if (k == 0 && old_w) {
			pt_set_at(w->ed, 0, at, &el);
		} else {
			pt_insert_at(w->ed, 0, at, &el);
			w->ins++;
		}
		off += bytes;
		at += cnt;
	}
	if (cut != cut_local)
		mem_free(cut);
	/* the pieces were written raw: compress those that landed inside */
	settle(w, compress_depth(), u, at);
}

/* Large: the chunk covering unit i, decoded into w->a; its start and weight. */
static void chunk_get(struct tlist_w *w, size_t i, size_t *start, uint64_t *weight)
{
	struct pt_elem el;
	bool ok = pt_find_at(w->ed->root[0], i, &el, start);
	KV_ASSERT(ok);
	*weight = el.key;
	size_t rl;
	decode(chunk_raw(&el, &w->z, &rl), el.key, &w->a);
}

/* Compact: the array as the new list's items, converted to large when it
 * has outgrown one node. */
static void maybe_convert(struct tlist_w *w)
{
	if (w->big || fits_node(w->a.v, w->a.n))
		return;
	w->ed = coll_edit(w->c, NULL, &w->lin);
	w->big = true;
	chunk_write(w, 0, 0, w->a.v, w->a.n, false);
	w->a.n = 0;
}

/* Large: a copy of the end chunk's window in a new chunk (another session
 * claimed the bytes next to it, or this version popped from that side). */
static void chunk_copy(struct tlist_w *w, enum tlist_end end)
{
	struct tlist_win old = w->end[end];
	chunk_new(w, end, TLIST_CHUNK_MAX);
	chunk_fill(w, end, win(&old), old.len, old.cnt);
	chunk_dispose(w, old.c);
}

/* Large: pushes a prefix of the n items (at least one) at `end` through
 * the end chunk ("End chunks": claim, write, widen the window); returns
 * how many. */
static size_t end_push(struct tlist_w *w, enum tlist_end end, size_t n, const char *const *elems,
		       const size_t *lens)
{
	struct tlist_win *x = &w->end[end];
	size_t first = varint_len(lens[0]) + lens[0];
	for (;;) {
		if (x->c) {
			struct tlist_chunk *c = x->c;
			size_t room = end == TLIST_HEAD ? x->off : c->cap - (x->off + x->len);
			size_t k = 0, nb = 0;
			while (k < n && nb + varint_len(lens[k]) + lens[k] <= room) {
				nb += varint_len(lens[k]) + lens[k];
				k++;
			}
			if (k) {
				uint32_t edge = end == TLIST_HEAD ? x->off : x->off + x->len;
				uint32_t to =
				    end == TLIST_HEAD ? edge - (uint32_t)nb : edge + (uint32_t)nb;
				/* relaxed: the claim only decides which session may
				 * write the bytes past the windows; those bytes are
				 * published by the entry's CAS (release), and a
				 * session that loses reads nothing through it */
				if (atomic_compare_exchange_strong_explicit(&c->claim, &edge, to,
									    memory_order_relaxed,
									    memory_order_relaxed)) {
					char *p = c->buf + (end == TLIST_HEAD ? to : edge);
					for (size_t j = 0; j < k; j++) {
						size_t i = end == TLIST_HEAD ? k - 1 - j : j;
						if (c->ix)
							c->ix[x->first + x->cnt + j] =
							    (uint16_t)(p - c->buf);
						p = varint_put(p, lens[i]);
						if (lens[i])
							memcpy(p, elems[i], lens[i]);
						p += lens[i];
					}
					if (end == TLIST_HEAD)
						x->off = to;
					x->len += (uint32_t)nb;
					x->cnt += (uint32_t)k;
					return k;
				}
				if (x->len + first <= TLIST_CHUNK_MAX) {
					chunk_copy(w, end);
					continue;
				}
			}
			chunk_spill(w, end);
		}
		chunk_new(w, end, first > TLIST_CHUNK_MAX ? first : TLIST_CHUNK_MAX);
	}
}

KV_HOT void tlist_w_push(struct tlist_w *w, enum tlist_end end, size_t n, const char *const *elems,
			 const size_t *lens)
{
	if (n == 0)
		return;
	if (!w->big) {
		items_reserve(&w->a, w->a.n + n);
		if (end == TLIST_HEAD) {
			memmove(w->a.v + n, w->a.v, w->a.n * sizeof(*w->a.v));
			for (size_t i = 0; i < n; i++)
				w->a.v[n - 1 - i] = (struct tlist_item){elems[i], lens[i]};
		} else {
			for (size_t i = 0; i < n; i++)
				w->a.v[w->a.n + i] = (struct tlist_item){elems[i], lens[i]};
		}
		w->a.n += n;
		return;
	}
	if (w->use_ends) {
		for (size_t i = 0; i < n;)
			i += end_push(w, end, n - i, elems + i, lens + i);
		return;
	}
	size_t len = pt_count(w->ed->root[0]);
	size_t st = 0;
	uint64_t k = 0;

	if (len) {
		/* the common case: the items fit in the end chunk, whose bytes
		 * are extended as they are (no decoding); an end chunk is raw
		 * unless list-compress-depth was 0 when it became the end */
		struct pt_elem el;
		size_t nb = 0;
		bool ok = pt_find_at(w->ed->root[0], end == TLIST_HEAD ? 0 : len - 1, &el, &st);
		KV_ASSERT(ok);
		for (size_t i = 0; i < n && el.blen + nb <= TLIST_CHUNK_MAX; i++)
			nb += varint_len(lens[i]) + lens[i];
		if (el.alen == 0 && el.blen + nb <= TLIST_CHUNK_MAX) {
			char *buf = scratch(w, el.blen + nb), *p = buf;
			if (end == TLIST_HEAD) {
				for (size_t i = n; i-- > 0;) {
					p = varint_put(p, lens[i]);
					if (lens[i])
						memcpy(p, elems[i], lens[i]);
					p += lens[i];
				}
				memcpy(p, el.b, el.blen);
			} else {
				memcpy(p, el.b, el.blen);
				p += el.blen;
				for (size_t i = 0; i < n; i++) {
					p = varint_put(p, lens[i]);
					if (lens[i])
						memcpy(p, elems[i], lens[i]);
					p += lens[i];
				}
			}
			struct pt_elem ne = {el.key + n, NULL, 0, buf, el.blen + nb};
			pt_set_at(w->ed, 0, st, &ne);
			return;
		}
	}
	/* the new items in list order, then around the end chunk */

	if (len) {
		chunk_get(w, end == TLIST_HEAD ? 0 : len - 1, &st, &k);
		size_t first = end == TLIST_HEAD ? n - 1 : 0; /* the item next to the chunk */
		if (items_bytes(w->a.v, w->a.n) + varint_len(lens[first]) + lens[first] >
		    TLIST_CHUNK_MAX)
			k = 0; /* the end chunk is full: leave it, start new ones */
	}
	struct items *t = &w->tmp;
	t->n = 0;
	items_reserve(t, n + (k ? w->a.n : 0));
	if (end == TLIST_HEAD) {
		for (size_t i = 0; i < n; i++)
			t->v[t->n++] = (struct tlist_item){elems[n - 1 - i], lens[n - 1 - i]};
		if (k) {
			memcpy(t->v + t->n, w->a.v, w->a.n * sizeof(*t->v));
			t->n += w->a.n;
		}
		chunk_write(w, 0, k, t->v, t->n, true);
	} else {
		if (k) {
			memcpy(t->v, w->a.v, w->a.n * sizeof(*t->v));
			t->n = w->a.n;
		}
		for (size_t i = 0; i < n; i++)
			t->v[t->n++] = (struct tlist_item){elems[i], lens[i]};
		chunk_write(w, k ? st : len, k, t->v, t->n, false);
	}
}

static KV_HOT void popped_add(struct tlist_popped *out, const char *p, size_t len)
{
	if (out->n == 0 && len <= sizeof(out->b0)) {
		/* a short first item: into the struct, no allocation */
		kv_copy_short(out->b0, p, len);
		out->e0 = out->b0;
		out->l0 = len;
		out->elem = &out->e0;
		out->len = &out->l0;
		out->local0 = true;
		out->n = 1;
		return;
	}
	if (out->n == 0) {
		/* the first item shares the arrays' allocation: a pop of one
		 * item costs one allocation (tlist_popped_free knows) */
		char **ne = mem_alloc(sizeof(*out->elem) + sizeof(*out->len) + (len ? len : 1));
		size_t *nl = (size_t *)(void *)(ne + 1);
		char *c = (char *)(nl + 1);

		if (len)
			memcpy(c, p, len);
		out->elem = ne;
		out->len = nl;
		ne[0] = c;
		nl[0] = len;
		out->inline0 = true;
		out->n = 1;
		return;
	}
	if ((out->n & (out->n - 1)) == 0) { /* 1, 2, 4, ...: grow to the next power */
		/* one allocation for both arrays (len after elem) */
		size_t c = 2 * out->n;
		char **ne = mem_alloc(c * (sizeof(*out->elem) + sizeof(*out->len)));
		size_t *nl = (size_t *)(void *)(ne + c);

		memcpy(ne, out->elem, out->n * sizeof(*ne));
		memcpy(nl, out->len, out->n * sizeof(*nl));
		if (out->inline0 || out->local0) { /* the first item moves out */
			ne[0] = mem_alloc(nl[0] ? nl[0] : 1);
			memcpy(ne[0], out->elem[0], nl[0]);
			out->inline0 = false;
		}
		if (out->local0)
			out->local0 = false; /* its arrays were the struct's */
		else
			mem_free(out->elem);
		out->elem = ne;
		out->len = nl;
	}
	char *c = mem_alloc(len ? len : 1);
	if (len)
		memcpy(c, p, len);
	out->elem[out->n] = c;
	out->len[out->n] = len;
	out->n++;
}

/* The first popped item as its own allocation (the caller's), and p freed. */
static char *popped_take0(struct tlist_popped *p)
{
	char *e = p->elem[0];

	if (p->local0) {
		e = mem_alloc(p->l0 ? p->l0 : 1);
		memcpy(e, p->b0, p->l0);
		tlist_popped_init(p);
		return e;
	}
	if (p->inline0) {
		e = mem_alloc(p->len[0] ? p->len[0] : 1);
		memcpy(e, p->elem[0], p->len[0]);
		p->inline0 = false;
	} else {
		for (size_t i = 1; i < p->n; i++)
			mem_free(p->elem[i]);
	}
	mem_free(p->elem); /* and len (one allocation) */
	tlist_popped_init(p);
	return e;
}

/* Large: the tree's element at `end` becomes that end's chunk (its end
 * chunk is empty). */
static void chunk_refill(struct tlist_w *w, enum tlist_end end)
{
	size_t tn = pt_count(w->ed->root[0]), st, rl;
	struct pt_elem el;
	bool ok = pt_find_at(w->ed->root[0], end == TLIST_HEAD ? 0 : tn - 1, &el, &st);
	KV_ASSERT(ok);
	const char *raw = chunk_raw(&el, &w->z, &rl);
	chunk_new(w, end, rl > TLIST_CHUNK_MAX ? rl : TLIST_CHUNK_MAX);
	chunk_fill(w, end, raw, rl, el.key);
	pt_del_at(w->ed, 0, st);
}

/* Large: pops through the end chunks: the window narrows (nothing
 * copied); an emptied chunk is disposed of and refilled from the tree. */
static size_t end_pop(struct tlist_w *w, enum tlist_end end, size_t count, struct tlist_popped *out)
{
	size_t done = 0;
	while (done < count) {
		struct tlist_win *x = &w->end[end];
		if (!x->c) {
			if (pt_count(w->ed->root[0]))
				chunk_refill(w, end);
			else if (w->end[end == TLIST_HEAD ? TLIST_TAIL : TLIST_HEAD].c)
				x = &w->end[end == TLIST_HEAD ? TLIST_TAIL : TLIST_HEAD];
			else
				break;
		}
		size_t m = count - done < x->cnt ? count - done : x->cnt, l;
		const char *b = win(x), *p = b;
		if (end == TLIST_HEAD) {
			for (size_t i = 0; i < m; i++) {
				p = varint_get(p, &l);
				popped_add(out, p, l);
				p += l;
			}
			x->off += (uint32_t)(p - b);
			x->len -= (uint32_t)(p - b);
			x->first += (uint32_t)m;
		} else {
			if (x->c->ix) { /* the first item popped, by its ix slot */
				p = x->c->buf + x->c->ix[x->first + x->cnt - m];
			} else {
				for (size_t i = 0; i < x->cnt - m; i++) {
					p = varint_get(p, &l);
					p += l;
				}
			}
			if (m == 1) { /* RPOP: the one item, not decoded into w->a */
				const char *q = varint_get(p, &l);
				popped_add(out, q, l);
			} else {
				decode(p, m, &w->a);
				for (size_t i = m; i-- > 0;)
					popped_add(out, w->a.v[i].p, w->a.v[i].len);
			}
			x->len = (uint32_t)(p - b);
		}
		x->cnt -= (uint32_t)m;
		if (!x->cnt) {
			chunk_dispose(w, x->c);
			*x = (struct tlist_win){0};
		}
		done += m;
	}
	return done;
}

KV_HOT size_t tlist_w_pop(struct tlist_w *w, enum tlist_end end, size_t count,
			  struct tlist_popped *out)
{
	size_t done = 0;
	if (!w->big) {
		size_t m = count < w->a.n ? count : w->a.n;
		for (size_t i = 0; i < m; i++) {
			const struct tlist_item *x =
			    &w->a.v[end == TLIST_HEAD ? i : w->a.n - 1 - i];
			popped_add(out, x->p, x->len);
		}
		if (end == TLIST_HEAD)
			memmove(w->a.v, w->a.v + m, (w->a.n - m) * sizeof(*w->a.v));
		w->a.n -= m;
		return m;
	}
	if (w->use_ends)
		return end_pop(w, end, count, out);
	while (done < count) {
		size_t len = pt_count(w->ed->root[0]), st;
		struct pt_elem el;
		if (len == 0)
			break;
		bool ok = pt_find_at(w->ed->root[0], end == TLIST_HEAD ? 0 : len - 1, &el, &st);
		KV_ASSERT(ok);
		size_t k = (size_t)el.key, m = count - done < k ? count - done : k;
		size_t l, blen;
		/* a compressed chunk only when the pops reach past the raw ends */
		const char *b = chunk_raw(&el, &w->z, &blen), *p = b, *cut;
		/* copies of what goes first (the write may free the chunk); the
		 * rest of the chunk is a slice of its bytes: no re-encoding */
		if (end == TLIST_HEAD) {
			for (size_t i = 0; i < m; i++) {
				p = varint_get(p, &l);
				popped_add(out, p, l);
				p += l;
			}
			cut = p;
		} else {
			for (size_t i = 0; i < k - m; i++) {
				p = varint_get(p, &l);
				p += l;
			}
			cut = p;
			decode(cut, m, &w->a);
			for (size_t i = m; i-- > 0;)
				popped_add(out, w->a.v[i].p, w->a.v[i].len);
		}
		if (m == k) {
			pt_del_at(w->ed, 0, st);
		} else {
			struct pt_elem ne = {k - m, NULL, 0, NULL, 0};
			if (end == TLIST_HEAD) {
				ne.b = cut;
				ne.blen = (size_t)(b + blen - cut);
			} else {
				ne.b = b;
				ne.blen = (size_t)(cut - b);
			}
			pt_set_at(w->ed, 0, st, &ne);
		}
		done += m;
	}
	return done;
}

bool tlist_w_get(struct tlist_w *w, size_t i, const char **p, size_t *len)
{
	if (i >= tlist_w_len(w))
		return false;
	if (w->big)
		fold(w);
	if (!w->big) {
		*p = w->a.v[i].p;
		*len = w->a.v[i].len;
		return true;
	}
	struct pt_elem el;
	size_t st;
	pt_find_at(w->ed->root[0], i, &el, &st);
	size_t rl;
	skip_to(chunk_raw(&el, &w->cz, &rl), i - st, p, len);
	return true;
}

void tlist_w_set(struct tlist_w *w, size_t i, const char *p, size_t len)
{
	KV_ASSERT(i < tlist_w_len(w));
	if (!w->big) {
		w->a.v[i] = (struct tlist_item){p, len};
		return;
	}
	fold(w);
	size_t st;
	uint64_t k;
	chunk_get(w, i, &st, &k);
	w->a.v[i - st] = (struct tlist_item){p, len};
	chunk_write(w, st, k, w->a.v, w->a.n, false);
}

void tlist_w_insert(struct tlist_w *w, size_t i, const char *p, size_t len)
{
	size_t n = tlist_w_len(w);
	KV_ASSERT(i <= n);
	if (i == 0 || i == n) {
		tlist_w_push(w, i == 0 && n ? TLIST_HEAD : TLIST_TAIL, 1, &p, &len);
		return;
	}
	if (!w->big) {
		items_reserve(&w->a, w->a.n + 1);
		memmove(w->a.v + i + 1, w->a.v + i, (w->a.n - i) * sizeof(*w->a.v));
		w->a.v[i] = (struct tlist_item){p, len};
		w->a.n++;
		return;
	}
	fold(w);
	size_t st;
	uint64_t k;
	chunk_get(w, i, &st, &k);
	items_reserve(&w->a, w->a.n + 1);
	memmove(w->a.v + (i - st) + 1, w->a.v + (i - st), (w->a.n - (i - st)) * sizeof(*w->a.v));
	w->a.v[i - st] = (struct tlist_item){p, len};
	w->a.n++;
	chunk_write(w, st, k, w->a.v, w->a.n, false);
}

static bool same(const struct tlist_item *x, const char *p, size_t len)
{
	return x->len == len && (len == 0 || memcmp(x->p, p, len) == 0);
}

/* Removes matches from a[0..n) in place, up to `limit` (0: all), from the
 * left or the right; returns how many. */
static size_t filter(struct tlist_item *a, size_t *n, size_t limit, bool from_right, const char *p,
		     size_t len)
{
	size_t removed = 0;
	if (!from_right) {
		size_t o = 0;
		for (size_t i = 0; i < *n; i++) {
			if ((!limit || removed < limit) && same(&a[i], p, len))
				removed++;
			else
				a[o++] = a[i];
		}
		*n = o;
	} else {
		size_t o = *n;
		for (size_t i = *n; i-- > 0;) {
			if ((!limit || removed < limit) && same(&a[i], p, len))
				removed++;
			else
				a[--o] = a[i];
		}
		memmove(a, a + o, (*n - o) * sizeof(*a));
		*n -= o;
	}
	return removed;
}

size_t tlist_w_rem(struct tlist_w *w, long long count, const char *p, size_t len)
{
	size_t limit = count < 0 ? (size_t)(-(count + 1)) + 1 : (size_t)count;
	bool from_right = count < 0;
	if (!w->big)
		return filter(w->a.v, &w->a.n, limit, from_right, p, len);
	fold(w);
	size_t removed = 0;
	if (!from_right) {
		size_t u = 0;
		while (u < pt_count(w->ed->root[0]) && (!limit || removed < limit)) {
			size_t st;
			uint64_t k;
			chunk_get(w, u, &st, &k);
			size_t n = w->a.n;
			size_t r = filter(w->a.v, &n, limit ? limit - removed : 0, false, p, len);
			if (r)
				chunk_write(w, st, k, w->a.v, n, false);
			removed += r;
			u = st + n;
		}
	} else {
		size_t u = pt_count(w->ed->root[0]); /* items before u are left to look at */
		while (u > 0 && (!limit || removed < limit)) {
			size_t st;
			uint64_t k;
			chunk_get(w, u - 1, &st, &k);
			size_t n = w->a.n;
			size_t r = filter(w->a.v, &n, limit ? limit - removed : 0, true, p, len);
			if (r)
				chunk_write(w, st, k, w->a.v, n, false);
			removed += r;
			u = st;
		}
	}
	return removed;
}

void tlist_w_trim(struct tlist_w *w, size_t start, size_t stop)
{
	if (w->big)
		fold(w);
	size_t n = tlist_w_len(w);
	if (start > stop || start >= n) {
		if (!w->big) {
			w->a.n = 0;
			return;
		}
		start = 0;
		stop = 0;
		/* everything goes: chunk by chunk from the tail (each O(log n)) */
		while (pt_count(w->ed->root[0]))
			pt_del_at(w->ed, 0, pt_count(w->ed->root[0]) - 1);
		return;
	}
	if (stop >= n)
		stop = n - 1;
	if (!w->big) {
		memmove(w->a.v, w->a.v + start, (stop - start + 1) * sizeof(*w->a.v));
		w->a.n = stop - start + 1;
		return;
	}
	while ((n = pt_count(w->ed->root[0])) > stop + 1) {
		size_t st;
		uint64_t k;
		chunk_get(w, n - 1, &st, &k);
		if (st >= stop + 1)
			pt_del_at(w->ed, 0, st);
		else
			chunk_write(w, st, k, w->a.v, stop + 1 - st, false);
	}
	while (start > 0) {
		size_t st;
		uint64_t k;
		chunk_get(w, 0, &st, &k);
		if (k <= start) {
			pt_del_at(w->ed, 0, 0);
			start -= k;
		} else {
			chunk_write(w, 0, k, w->a.v + start, k - start, false);
			start = 0;
		}
	}
}

static KV_HOT void w_free(struct tlist_w *w)
{
	if (w->a.cap * sizeof(*w->a.v) > W_KEEP_BYTES) {
		mem_free(w->a.v);
		w->a.v = NULL;
		w->a.cap = 0;
	}
	if (w->tmp.cap * sizeof(*w->tmp.v) > W_KEEP_BYTES) {
		mem_free(w->tmp.v);
		w->tmp.v = NULL;
		w->tmp.cap = 0;
	}
	if (w->scap > W_KEEP_BYTES) {
		mem_free(w->scratch);
		w->scratch = NULL;
		w->scap = 0;
	}
	if (w->z.cap > W_KEEP_BYTES)
		zbuf_free(&w->z);
	if (w->cz.cap > W_KEEP_BYTES)
		zbuf_free(&w->cz);
	if (!w_spare) {
		tl_keyed();
		w_spare = w;
		return;
	}
	w_release(w);
}

static void w_release(struct tlist_w *w)
{
	mem_free(w->a.v);
	mem_free(w->tmp.v);
	mem_free(w->scratch);
	zbuf_free(&w->z);
	zbuf_free(&w->cz);
	mem_free(w);
}

KV_HOT struct kv_entry *tlist_w_finish(struct tlist_w *w, const void *key, size_t klen,
				       int64_t expire_ms)
{
	struct kv_entry *e = NULL;
	maybe_convert(w);
	settle_ends(w);
	if (w->big) {
		/* an end window with items answers without counting the tree */
		if (w->end[0].cnt || w->end[1].cnt || pt_count(w->ed->root[0])) {
			e = coll_new_big_ext(key, klen, KV_LIST, COLL_QUICKLIST_BIG, w->lin,
					     w->ed->root[0], NULL, sizeof(struct tlist_ext),
					     expire_ms);
			struct tlist_ext *x = coll_big_ext(e);
			memcpy(x->end, w->end, sizeof(w->end));
		}
	} else if (w->a.n) {
		size_t bytes = varint_len(w->a.n) + items_bytes(w->a.v, w->a.n);
		e = coll_new_compact(key, klen, KV_LIST, COLL_QUICKLIST, NULL, bytes, expire_ms);
		char *p = varint_put(coll_blob_mut(e), w->a.n);
		encode(p, w->a.v, w->a.n);
	}
	w_free(w);
	return e;
}

void tlist_w_abort(struct tlist_w *w)
{
	w_free(w);
}

/* ---- whole commands */

/* Whether a compact list of `count` items taking `bytes` of item format
 * surely fits one node (fits_node's answer without looking at the items).
 * A listpack entry (lp_entry_bytes) against the item format here (a length
 * varint, then the bytes): a string shorter than 64 bytes takes 1 byte more
 * (a 1-byte header and a 1-byte backlen against a 1-byte varint); a longer
 * one at most 6 more (its header, 2 or 5 bytes, and its backlen grow with
 * the length as the varint does); an integer never more than its string.
 * An item of 64 bytes or more takes at least 65 bytes of item format, so at
 * most bytes / 65 of them are long, and the listpack is at most
 * 7 + bytes + count + 5 * (bytes / 65). (A flat 6 per item kept lists of
 * short items on the decoding path from half their node's worth on: for
 * 3-byte items, the last 820 of the 1,637 pushes before a conversion.) */
static bool surely_fits(size_t count, size_t bytes)
{
	static const size_t level[] = {4096, 8192, 16384, 32768, 65536};
	long long fill = coll_limit(COLL_LIST_MAX_SIZE);
	if (fill < -5)
		fill = -5;
	if (fill > 32767)
		fill = 32767;
	if (count <= 1)
		return true;
	if (fill >= 0 && (long long)count > fill)
		return false;
	size_t limit = fill < 0 ? level[-fill - 1] : 8192;
	return 7 + bytes + count + 5 * (bytes / 65) <= limit;
}

/* LPUSH / RPUSH onto a compact list that surely stays compact: the new blob
 * from the old one's bytes and the new items, nothing decoded. NULL when
 * that does not apply (the caller takes the session path). */
static struct kv_entry *compact_push(const struct kv_entry *old, const void *key, size_t klen,
				     enum tlist_end end, size_t n, const char *const *elems,
				     const size_t *lens, size_t *newlen)
{
	size_t bl, count, nb = 0;
	const char *blob = coll_blob(old, &bl);
	const char *items = varint_get(blob, &count);
	size_t ib = bl - (size_t)(items - blob);

	for (size_t i = 0; i < n; i++)
		nb += varint_len(lens[i]) + lens[i];
	if (!surely_fits(count + n, ib + nb))
		return NULL;
	size_t bytes = varint_len(count + n) + ib + nb;
	struct kv_entry *e =
	    coll_new_compact(key, klen, KV_LIST, COLL_QUICKLIST, NULL, bytes, kv_entry_expire(old));
	char *p = varint_put(coll_blob_mut(e), count + n);
	if (end == TLIST_TAIL) {
		memcpy(p, items, ib);
		p += ib;
	}
	for (size_t j = 0; j < n; j++) {
		size_t i = end == TLIST_HEAD ? n - 1 - j : j;
		p = varint_put(p, lens[i]);
		if (lens[i])
			memcpy(p, elems[i], lens[i]);
		p += lens[i];
	}
	if (end == TLIST_HEAD)
		memcpy(p, items, ib);
	*newlen = count + n;
	return e;
}

/* LPOP / RPOP of a compact list: copies of the popped items, and the new
 * blob as a slice of the old one (NULL when the list empties). */
static struct kv_entry *compact_pop(const struct kv_entry *old, const void *key, size_t klen,
				    enum tlist_end end, size_t count, struct tlist_popped *out)
{
	size_t bl, n, l;
	const char *blob = coll_blob(old, &bl);
	const char *items = varint_get(blob, &n), *p = items, *cut;
	size_t m = count < n ? count : n;

	if (end == TLIST_HEAD) {
		for (size_t i = 0; i < m; i++) {
			p = varint_get(p, &l);
			popped_add(out, p, l);
			p += l;
		}
		cut = p;
	} else {
		for (size_t i = 0; i < n - m; i++) {
			p = varint_get(p, &l);
			p += l;
		}
		cut = p;
		if (m == 1) { /* RPOP: the last item, no item array */
			p = varint_get(cut, &l);
			popped_add(out, p, l);
		} else {
			struct items a = {0};
			decode(cut, m, &a);
			for (size_t i = m; i-- > 0;)
				popped_add(out, a.v[i].p, a.v[i].len);
			mem_free(a.v);
		}
	}
	if (m == n)
		return NULL;
	const char *from = end == TLIST_HEAD ? cut : items;
	size_t ib = end == TLIST_HEAD ? (size_t)(blob + bl - cut) : (size_t)(cut - items);
	struct kv_entry *e = coll_new_compact(key, klen, KV_LIST, COLL_QUICKLIST, NULL,
					      varint_len(n - m) + ib, kv_entry_expire(old));
	char *q = varint_put(coll_blob_mut(e), n - m);
	memcpy(q, from, ib);
	return e;
}

KV_HOT void tlist_popped_free(struct tlist_popped *p)
{
	if (!p->local0) {
		for (size_t i = p->inline0 ? 1 : 0; i < p->n; i++)
			mem_free(p->elem[i]);
		mem_free(p->elem); /* len is in the same allocation */
	}
	tlist_popped_init(p);
}

/* ---- one item at an end of a large list, without a write session
 *
 * The common LPUSH / RPUSH / LPOP / RPOP of one item on a large list in a
 * plain view only moves an end window: a push claims the bytes next to its
 * version's window and writes the item there (the claim of "End chunks",
 * exactly as end_push does), a pop narrows the window and leaves at least
 * one item in it (no chunk is allocated, spilled, refilled or disposed of).
 * The new version is then the old one's entry with one window changed: no
 * tree node and no chunk changes hands, so no edit (coll_edit) is needed,
 * and db_put's publish only disowns the old version (same lineage). Anything
 * else (a claim lost, a full or emptied end chunk, list-compress-depth > 0,
 * a transaction, a write context already editing) returns NULL and the
 * caller takes the session path, which handles every case. */

/* The new version: old's entry with `end`'s window replaced by *x. */
static KV_HOT struct kv_entry *end_version(const struct kv_entry *old, const void *key, size_t klen,
					   enum tlist_end end, const struct tlist_win *x)
{
	const struct coll_big *b = coll_big_of(old);
	struct kv_entry *e =
	    coll_new_big_ext(key, klen, KV_LIST, COLL_QUICKLIST_BIG, b->lineage, b->root[0], NULL,
			     sizeof(struct tlist_ext), kv_entry_expire(old));
	struct tlist_ext *nx = coll_big_ext(e);
	memcpy(nx->end, ext_of(old)->end, sizeof(nx->end));
	nx->end[end] = *x;
	return e;
}

/* Whether the one-item paths may take this version in view v. */
static KV_HOT bool end_fast_ok(const struct db_view *v, const struct kv_entry *old)
{
	return v->txn == NULL && is_big(old) && compress_depth() == 0 &&
	       !coll_ctx_busy(db_coll_ctx(v));
}

/* LPUSH / RPUSH of one item: the new version, or NULL (session path). */
static KV_HOT struct kv_entry *end_push1(const struct kv_entry *old, const void *key, size_t klen,
					 enum tlist_end end, const char *p, size_t len)
{
	struct tlist_win x = ext_of(old)->end[end];
	struct tlist_chunk *c = x.c;
	size_t nb = varint_len(len) + len;
	if (!c || nb > (end == TLIST_HEAD ? x.off : c->cap - (x.off + x.len)))
		return NULL;
	uint32_t edge = end == TLIST_HEAD ? x.off : x.off + x.len;
	uint32_t to = end == TLIST_HEAD ? edge - (uint32_t)nb : edge + (uint32_t)nb;
	/* relaxed: as end_push's claim */
	if (!atomic_compare_exchange_strong_explicit(&c->claim, &edge, to, memory_order_relaxed,
						     memory_order_relaxed))
		return NULL;
	char *q = c->buf + (end == TLIST_HEAD ? to : edge);
	if (c->ix)
		c->ix[x.first + x.cnt] = (uint16_t)(q - c->buf);
	q = varint_put(q, len);
	kv_copy_short(q, p, len);
	if (end == TLIST_HEAD)
		x.off = to;
	x.len += (uint32_t)nb;
	x.cnt++;
	return end_version(old, key, klen, end, &x);
}

/* LPOP / RPOP of one item from an end window that keeps at least one: the
 * item copied into out and the new version, or NULL (session path). */
static KV_HOT struct kv_entry *end_pop1(const struct kv_entry *old, const void *key, size_t klen,
					enum tlist_end end, struct tlist_popped *out)
{
	struct tlist_win x = ext_of(old)->end[end];
	size_t l;
	if (x.cnt < 2)
		return NULL;
	const char *b = win(&x), *p;
	if (end == TLIST_HEAD) {
		p = varint_get(b, &l);
		popped_add(out, p, l);
		uint32_t nb = (uint32_t)(p + l - b);
		x.off += nb;
		x.len -= nb;
		x.first++;
	} else {
		if (!x.c->ix)
			return NULL;
		const char *it = x.c->buf + x.c->ix[x.first + x.cnt - 1];
		p = varint_get(it, &l);
		popped_add(out, p, l);
		x.len = (uint32_t)(it - b);
	}
	x.cnt--;
	return end_version(old, key, klen, end, &x);
}

KV_HOT int tlist_pop(const struct db_view *v, const void *key, size_t klen, enum tlist_end end,
		     long long count, int64_t now_ms, struct tlist_popped *out)
{
	tlist_popped_init(out);
	KV_ASSERT(count >= 1);
	for (;;) {
		const struct kv_entry *old = db_lookup(v, key, klen, now_ms, NULL, 0);
		if (!old)
			return 0;
		if (kv_entry_type(old) != KV_LIST)
			return -1;
		int64_t exp = kv_entry_expire(old);
		struct kv_entry *e;
		if (!is_big(old)) {
			e = compact_pop(old, key, klen, end, (size_t)count, out);
		} else if (count == 1 && end_fast_ok(v, old) &&
			   (e = end_pop1(old, key, klen, end, out)) != NULL) {
			/* one item from an end window: no session */
		} else {
			struct tlist_w *w = tlist_w_begin(db_coll_ctx(v), old);
			tlist_w_pop(w, end, (size_t)count, out);
			e = tlist_w_finish(w, key, klen, exp);
		}
		if (db_put(v, old, e) == 0)
			return 1;
		if (e)
			kv_entry_free(e);
		tlist_popped_free(out);
	}
}

KV_HOT long long tlist_push(const struct db_view *v, const void *key, size_t klen,
			    enum tlist_end end, size_t n, const char *const *elems,
			    const size_t *lens, bool create, int64_t now_ms)
{
	for (;;) {
		const struct kv_entry *old = db_lookup(v, key, klen, now_ms, NULL, 0);
		if (old && kv_entry_type(old) != KV_LIST)
			return -1;
		if (!old && !create)
			return 0;
		int64_t exp = old ? kv_entry_expire(old) : 0;
		size_t fast_len = 0;
		struct kv_entry *e = old && !is_big(old) ? compact_push(old, key, klen, end, n,
									elems, lens, &fast_len)
							 : NULL;
		long long len = (long long)fast_len;
		if (!e && n == 1 && old && end_fast_ok(v, old) &&
		    (e = end_push1(old, key, klen, end, elems[0], lens[0])) != NULL)
			len = (long long)big_len(old) + 1;
		if (!e) {
			struct tlist_w *w = tlist_w_begin(db_coll_ctx(v), old);
			tlist_w_push(w, end, n, elems, lens);
			len = (long long)tlist_w_len(w);
			e = tlist_w_finish(w, key, klen, exp);
		}
		if (!e) /* n == 0 on an absent key: nothing to write */
			return len;
		if (db_put(v, old, e) == 0)
			return len;
		kv_entry_free(e);
	}
}

int tlist_move(const struct db_view *v, const void *src, size_t slen, const void *dst, size_t dlen,
	       enum tlist_end from, enum tlist_end to, int64_t now_ms, char **elem, size_t *len)
{
	for (;;) {
		const struct kv_entry *so = db_lookup(v, src, slen, now_ms, NULL, 0);
		if (!so)
			return 0;
		if (kv_entry_type(so) != KV_LIST)
			return -1;
		bool one = slen == dlen && memcmp(src, dst, slen) == 0;
		const struct kv_entry *dobj = one ? so : db_lookup(v, dst, dlen, now_ms, NULL, 0);
		if (dobj && kv_entry_type(dobj) != KV_LIST)
			return -2;
		struct tlist_popped pp = {0};
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(v), so);
		tlist_w_pop(w, from, 1, &pp);
		KV_ASSERT(pp.n == 1);
		if (one) {
			const char *p = pp.elem[0];
			tlist_w_push(w, to, 1, &p, &pp.len[0]);
			struct kv_entry *e = tlist_w_finish(w, src, slen, kv_entry_expire(so));
			if (db_put(v, so, e) == 0) {
				*len = pp.len[0];
				*elem = popped_take0(&pp);
				return 1;
			}
			kv_entry_free(e);
			tlist_popped_free(&pp);
			continue;
		}
		struct kv_entry *se = tlist_w_finish(w, src, slen, kv_entry_expire(so));
		if (db_put(v, so, se) != 0) {
			if (se)
				kv_entry_free(se);
			tlist_popped_free(&pp);
			continue;
		}
		/* the pop is published: in a transactional view the push below
		 * lands in the same commit; in a plain one only a retry of the
		 * push is left (another writer may have changed dst) */
		const char *p = pp.elem[0];
		long long r = tlist_push(v, dst, dlen, to, 1, &p, &pp.len[0], true, now_ms);
		KV_ASSERT(r != 0);
		if (r < 0) { /* dst changed type between the check and the push (plain view) */
			tlist_popped_free(&pp);
			return -2;
		}
		*len = pp.len[0];
		*elem = popped_take0(&pp);
		return 1;
	}
}

void tlist_node_info(const struct kv_entry *e, size_t *nodes, size_t *bytes)
{
	struct items a = {0};

	*nodes = 0;
	*bytes = 0;
	if (!is_big(e)) {
		size_t bl, n;
		const char *b = varint_get(coll_blob(e, &bl), &n);
		decode(b, n, &a);
		*nodes = 1;
		*bytes = 7;
		for (size_t i = 0; i < a.n; i++)
			*bytes += lp_entry_bytes(a.v[i].p, a.v[i].len);
		mem_free(a.v);
		return;
	}
	struct pt_iter it;
	struct pt_elem el;
	struct zbuf z = {NULL, 0};
	size_t rl;
	const struct tlist_ext *x = ext_of(e);
	pt_iter_seek_at(&it, coll_big_of(e)->root[0], 0, NULL);
	for (int part = 0; part < 3; part++) {
		if (part != 1 && !x->end[part / 2].cnt)
			continue;
		if (part != 1)
			decode(win(&x->end[part / 2]), x->end[part / 2].cnt, &a);
		else if (pt_iter_next(&it, &el))
			decode(chunk_raw(&el, &z, &rl), el.key, &a);
		else
			continue;
		(*nodes)++;
		*bytes += 7;
		for (size_t i = 0; i < a.n; i++)
			*bytes += lp_entry_bytes(a.v[i].p, a.v[i].len);
		if (part == 1)
			part--; /* the tree's next chunk */
	}
	mem_free(a.v);
	zbuf_free(&z);
}

void tlist_chunk_stats(const struct kv_entry *e, size_t *chunks, size_t *compressed,
		       size_t *misplaced)
{
	struct pt_iter it;
	struct pt_elem el;
	struct zbuf z = {NULL, 0};
	size_t d = compress_depth(), k = 0, c = 0, bad = 0, total = 0;

	if (is_big(e)) {
		/* end chunks are raw, and first and last when present */
		const struct tlist_ext *x = ext_of(e);
		size_t h = x->end[0].cnt != 0;
		total = h + (x->end[1].cnt != 0);
		pt_iter_seek_at(&it, coll_big_of(e)->root[0], 0, NULL);
		while (pt_iter_next(&it, &el))
			total++;
		k = h;
		pt_iter_seek_at(&it, coll_big_of(e)->root[0], 0, NULL);
		for (; pt_iter_next(&it, &el); k++) {
			c += el.alen != 0;
			if (d && !chunk_settled(&el, k >= d && k + d < total, &z))
				bad++;
		}
	}
	zbuf_free(&z);
	*chunks = is_big(e) ? total : 1;
	*compressed = c;
	if (misplaced)
		*misplaced = bad;
}

bool tlist_end_appendable(const struct kv_entry *e, enum tlist_end end, size_t *room)
{
	*room = 0;
	if (!is_big(e) || !ext_of(e)->end[end].c)
		return false;
	const struct tlist_win *x = &ext_of(e)->end[end];
	uint32_t edge = end == TLIST_HEAD ? x->off : x->off + x->len;
	/* relaxed: a test's look at the boundary; orders nothing */
	if (atomic_load_explicit(&x->c->claim, memory_order_relaxed) != edge)
		return false;
	*room = end == TLIST_HEAD ? edge : x->c->cap - edge;
	return true;
}

/* ---- the type row */

/* xorObjectDigest's list part: for each item, mixDigest(digest, item):
 * digest ^= SHA1(item), then digest = SHA1(digest). */
void tlist_digest(const struct kv_entry *e, unsigned char out[20])
{
	struct tlist_iter it;
	const char *p;
	size_t len;

	memset(out, 0, 20);
	tlist_iter_init(&it, e, 0, true);
	while (tlist_iter_next(&it, &p, &len)) {
		uint8_t h[20];
		digest_sha1(p, len, h);
		for (int i = 0; i < 20; i++)
			out[i] ^= h[i];
		digest_sha1(out, 20, out);
	}
	tlist_iter_done(&it);
}

size_t tlist_memory(const struct kv_entry *e, long long samples)
{
	(void)samples;
	if (is_big(e)) {
		const struct tlist_ext *x = ext_of(e);
		size_t b = pt_bytes(coll_big_of(e)->root[0]);
		for (int i = 0; i < 2; i++)
			if (x->end[i].c)
				b += sizeof(struct tlist_chunk) + x->end[i].c->cap +
				     (x->end[i].c->ix ? TLIST_CHUNK_MAX * sizeof(uint16_t) : 0);
		return b;
	}
	return 0; /* the blob is inside the entry */
}

void tlist_foreach(const struct kv_entry *e,
		   void (*fn)(const char *a, size_t alen, const char *b, size_t blen, void *arg),
		   void *arg)
{
	struct tlist_iter it;
	const char *p;
	size_t len;

	tlist_iter_init(&it, e, 0, true);
	while (tlist_iter_next(&it, &p, &len))
		fn(p, len, NULL, 0, arg);
	tlist_iter_done(&it);
}

struct kv_entry *tlist_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
			    size_t klen, int64_t expire_ms)
{
	if (!is_big(e)) {
		size_t len;
		const char *blob = coll_blob(e, &len);
		return coll_new_compact(key, klen, KV_LIST, COLL_QUICKLIST, blob, len, expire_ms);
	}
	uint64_t lin;
	struct pt_edit *ed = coll_edit(c, NULL, &lin);
	struct pt_iter it;
	struct pt_elem el;
	size_t at = 0;

	const struct tlist_ext *x = ext_of(e);

	/* the end windows become tree elements of the copy */
	if (x->end[0].cnt) {
		struct pt_elem h = {x->end[0].cnt, NULL, 0, win(&x->end[0]), x->end[0].len};
		pt_insert_at(ed, 0, at, &h);
		at += h.key;
	}
	pt_iter_seek_at(&it, coll_big_of(e)->root[0], 0, NULL);
	while (pt_iter_next(&it, &el)) {
		pt_insert_at(ed, 0, at, &el);
		at += el.key;
	}
	if (x->end[1].cnt) {
		struct pt_elem t = {x->end[1].cnt, NULL, 0, win(&x->end[1]), x->end[1].len};
		pt_insert_at(ed, 0, at, &t);
	}
	return coll_new_big_ext(key, klen, KV_LIST, COLL_QUICKLIST_BIG, lin, ed->root[0], NULL,
				sizeof(struct tlist_ext), expire_ms);
}

/* The lineage's last version was retired: its end chunks go with it. */
static void tlist_release(const struct kv_entry *e)
{
	const struct tlist_ext *x = ext_of(e);
	mem_free(x->end[0].c);
	mem_free(x->end[1].c);
}

static const struct coll_type_ops tlist_ops = {
    .name = "list",
    .count = tlist_len,
    .digest = tlist_digest,
    .memory = tlist_memory,
    .foreach = tlist_foreach,
    .copy = tlist_copy,
    .release = tlist_release,
};

void tlist_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]))
{
	digest_sha1 = sha1;
	coll_register(KV_LIST, &tlist_ops);
}
