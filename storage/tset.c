/*
 * tset.c — the set type's encodings (see tset.h): Redis 7.0's intset as an
 * immutable blob, the hashtable as a persistent tree, and the builder that
 * moves between them by t_set.c's rules.
 */
#include "storage/tset.h"

#include "concurrency/mem.h"
#include "storage/kvmap.h"
#include "concurrency/util.h"

#include <limits.h>
#include <string.h>

/* Redis caps set-max-intset-entries at 1G (intset's 32-bit length). */
#define INTSET_CAP (1LL << 30)

static void (*digest_sha1)(const void *p, size_t n, uint8_t out[20]);

bool tset_str2ll(const char *s, size_t slen, long long *value)
{
	const char *p = s;
	size_t plen = 0;
	bool negative = false;
	unsigned long long v;

	/* util.c's LONG_STR_SIZE: 21 bytes or more is never a long long */
	if (slen == 0 || slen >= 21)
		return false;
	if (slen == 1 && p[0] == '0') {
		*value = 0;
		return true;
	}
	if (p[0] == '-') {
		negative = true;
		p++;
		plen++;
		if (plen == slen)
			return false;
	}
	if (p[0] >= '1' && p[0] <= '9') {
		v = (unsigned long long)(p[0] - '0');
		p++;
		plen++;
	} else {
		return false;
	}
	while (plen < slen && p[0] >= '0' && p[0] <= '9') {
		if (v > ULLONG_MAX / 10)
			return false;
		v *= 10;
		if (v > ULLONG_MAX - (unsigned long long)(p[0] - '0'))
			return false;
		v += (unsigned long long)(p[0] - '0');
		p++;
		plen++;
	}
	if (plen < slen)
		return false;
	if (negative) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*value = (long long)(0ULL - v);
	} else {
		if (v > LLONG_MAX)
			return false;
		*value = (long long)v;
	}
	return true;
}

static size_t ll2str(char *dst, long long v)
{
	char tmp[TSET_LL_MAX];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		dst[i++] = '-';
	while (n)
		dst[i++] = tmp[--n];
	return i;
}

unsigned tset_int_width(long long v)
{
	if (v < INT32_MIN || v > INT32_MAX)
		return 8;
	if (v < INT16_MIN || v > INT16_MAX)
		return 4;
	return 2;
}

/* ---- intset blob access */

static long long is_get(const char *p, unsigned w, size_t i)
{
	if (w == 2) {
		int16_t x;
		memcpy(&x, p + i * 2, 2);
		return x;
	}
	if (w == 4) {
		int32_t x;
		memcpy(&x, p + i * 4, 4);
		return x;
	}
	int64_t x;
	memcpy(&x, p + i * 8, 8);
	return x;
}

static void is_put(char *p, unsigned w, size_t i, long long v)
{
	if (w == 2) {
		int16_t x = (int16_t)v;
		memcpy(p + i * 2, &x, 2);
	} else if (w == 4) {
		int32_t x = (int32_t)v;
		memcpy(p + i * 4, &x, 4);
	} else {
		int64_t x = v;
		memcpy(p + i * 8, &x, 8);
	}
}

/* Binary search in the blob: true if found; *pos is where v is or would go. */
static bool is_search(const struct tset_src *s, long long v, size_t *pos)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long long x = is_get(s->blob, s->width, mid);

		if (x == v) {
			*pos = mid;
			return true;
		}
		if (x < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

/* ---- reading */

void tset_src_of(const struct kv_entry *e, struct tset_src *s)
{
	memset(s, 0, sizeof(*s));
	if (!e)
		return;
	if (coll_entry_enc(e) == COLL_HASHTABLE) {
		s->big = true;
		s->root = coll_big_of(e)->root[0];
		return;
	}
	size_t len;
	const char *b = coll_blob(e, &len);

	s->width = (unsigned char)b[0];
	s->blob = b + 1;
	s->n = (len - 1) / s->width;
}

size_t tset_src_count(const struct tset_src *s)
{
	return s->big ? pt_count(s->root) : s->n;
}

bool tset_src_has(const struct tset_src *s, const char *m, size_t len)
{
	if (s->big) {
		struct pt_elem el;

		return pt_get(s->root, kvmap_hash(m, len), m, len, &el);
	}
	long long v;
	size_t pos;

	if (s->n == 0 || !tset_str2ll(m, len, &v))
		return false;
	/* a value wider than the blob cannot be in it (intsetFind) */
	if (tset_int_width(v) > s->width)
		return false;
	return is_search(s, v, &pos);
}

long long tset_src_int(const struct tset_src *s, size_t i)
{
	return is_get(s->blob, s->width, i);
}

void tset_src_at(const struct tset_src *s, size_t i, char buf[TSET_LL_MAX], const char **m,
		 size_t *len)
{
	if (s->big) {
		struct pt_elem el;

		if (!pt_at(s->root, i, &el))
			KV_PANIC("tset: rank past the end");
		*m = el.a;
		*len = el.alen;
		return;
	}
	*len = ll2str(buf, is_get(s->blob, s->width, i));
	*m = buf;
}

void tset_iter_init(struct tset_iter *it, const struct tset_src *s, size_t from)
{
	it->s = s;
	it->i = from;
	if (s->big)
		pt_iter_seek(&it->pit, s->root, from);
}

bool tset_iter_next(struct tset_iter *it, const char **m, size_t *len)
{
	if (it->s->big) {
		struct pt_elem el;

		if (!pt_iter_next(&it->pit, &el))
			return false;
		*m = el.a;
		*len = el.alen;
		return true;
	}
	if (it->i >= it->s->n)
		return false;
	*len = ll2str(it->buf, is_get(it->s->blob, it->s->width, it->i++));
	*m = it->buf;
	return true;
}

size_t tset_count(const struct kv_entry *e)
{
	struct tset_src s;

	tset_src_of(e, &s);
	return tset_src_count(&s);
}

bool tset_ismember(const struct kv_entry *e, const char *m, size_t len)
{
	struct tset_src s;

	tset_src_of(e, &s);
	return tset_src_has(&s, m, len);
}

void tset_random(const struct kv_entry *e, uint64_t rnd, char buf[TSET_LL_MAX], const char **m,
		 size_t *len)
{
	struct tset_src s;

	tset_src_of(e, &s);
	tset_src_at(&s, tset_pick_pos(rnd, tset_src_count(&s)), buf, m, len);
}

/* ---- the builder */

static size_t intset_limit(void)
{
	long long l = coll_limit(COLL_SET_MAX_INTSET);

	if (l > INTSET_CAP)
		l = INTSET_CAP;
	return l < 0 ? 0 : (size_t)l;
}

void tset_build_init(struct tset_build *b, struct coll_ctx *ctx)
{
	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->width = 2;
}

void tset_build_from(struct tset_build *b, struct coll_ctx *ctx, const struct kv_entry *e)
{
	struct tset_src s;

	tset_build_init(b, ctx);
	tset_src_of(e, &s);
	if (s.big) {
		b->big = true;
		b->ed = coll_edit(ctx, e, &b->lineage);
		return;
	}
	if (!e)
		return;
	b->width = s.width;
	b->cap = s.n ? s.n + 1 : 4;
	b->v = mem_alloc(b->cap * sizeof(*b->v));
	for (size_t i = 0; i < s.n; i++)
		b->v[i] = is_get(s.blob, s.width, i);
	b->n = s.n;
}

static void put_member(struct pt_edit *ed, const char *m, size_t len, bool *inserted)
{
	struct pt_elem el = {.key = kvmap_hash(m, len), .a = m, .alen = len, .b = "", .blen = 0};
	bool ins = pt_put(ed, 0, &el);

	if (inserted)
		*inserted = ins;
}

/* setTypeConvert(OBJ_ENCODING_HT): every integer into a tree. */
static void convert_big(struct tset_build *b)
{
	char buf[TSET_LL_MAX];

	if (b->ctx) {
		b->ed = coll_edit(b->ctx, NULL, &b->lineage);
	} else {
		pt_edit_begin(&b->own, NULL, NULL);
		b->ed = &b->own;
	}
	for (size_t i = 0; i < b->n; i++)
		put_member(b->ed, buf, ll2str(buf, b->v[i]), NULL);
	mem_free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
	b->big = true;
}

bool tset_build_add(struct tset_build *b, const char *m, size_t len)
{
	long long v;

	if (!b->big) {
		if (!tset_str2ll(m, len, &v)) {
			convert_big(b);
		} else {
			size_t lo = 0, hi = b->n;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (b->v[mid] == v)
					return false;
				if (b->v[mid] < v)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (b->n == b->cap) {
				b->cap = b->cap ? b->cap * 2 : 8;
				b->v = mem_realloc(b->v, b->cap * sizeof(*b->v));
			}
			memmove(b->v + lo + 1, b->v + lo, (b->n - lo) * sizeof(*b->v));
			b->v[lo] = v;
			b->n++;
			if (tset_int_width(v) > b->width)
				b->width = tset_int_width(v);
			if (b->n > intset_limit())
				convert_big(b);
			return true;
		}
	}
	/* a member already present is not rewritten (no path copy) */
	struct pt_elem el;
	bool ins;

	if (pt_get(b->ed->root[0], kvmap_hash(m, len), m, len, &el))
		return false;
	put_member(b->ed, m, len, &ins);
	return ins;
}

void tset_build_del_present(struct tset_build *b, const char *m, size_t len)
{
	if (b->big)
		pt_del_present(b->ed, 0, kvmap_hash(m, len), m, len);
	else
		(void)tset_build_del(b, m, len);
}

bool tset_build_del(struct tset_build *b, const char *m, size_t len)
{
	if (b->big)
		return pt_del(b->ed, 0, kvmap_hash(m, len), m, len);

	long long v;
	size_t lo = 0, hi = b->n;

	if (!tset_str2ll(m, len, &v))
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->v[mid] == v) {
			memmove(b->v + mid, b->v + mid + 1, (b->n - mid - 1) * sizeof(*b->v));
			b->n--;
			return true;
		}
		if (b->v[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

size_t tset_build_count(const struct tset_build *b)
{
	return b->big ? pt_count(b->ed->root[0]) : b->n;
}

/* The builder's intsets are arrays of int64; a src reads them as width 8. */
void tset_build_src(const struct tset_build *b, struct tset_src *s)
{
	memset(s, 0, sizeof(*s));
	if (b->big) {
		s->big = true;
		s->root = b->ed->root[0];
		return;
	}
	s->blob = (const char *)b->v;
	s->width = 8;
	s->n = b->n;
}

struct kv_entry *tset_build_entry(struct tset_build *b, const void *key, size_t klen,
				  int64_t expire_ms)
{
	if (b->big)
		return coll_new_big(key, klen, KV_SET, COLL_HASHTABLE, b->lineage, b->ed->root[0],
				    NULL, expire_ms);

	size_t len = 1 + b->n * b->width;
	struct kv_entry *e = coll_new_compact(key, klen, KV_SET, COLL_INTSET, NULL, len, expire_ms);
	char *p = coll_blob_mut(e);

	p[0] = (char)b->width;
	for (size_t i = 0; i < b->n; i++)
		is_put(p + 1, b->width, i, b->v[i]);
	return e;
}

void tset_build_done(struct tset_build *b)
{
	mem_free(b->v);
	b->v = NULL;
	if (b->big && !b->ctx)
		pt_edit_drop(&b->own);
	b->big = false;
	b->ed = NULL;
}

/* ---- the coll_type_ops row */

size_t tset_memory(const struct kv_entry *e)
{
	if (coll_entry_enc(e) != COLL_HASHTABLE)
		return 0; /* the intset is inside the entry */
	return pt_bytes(coll_big_of(e)->root[0]);
}

static size_t ops_count(const struct kv_entry *e)
{
	return tset_count(e);
}

/* xorObjectDigest's set part: SHA1 of every member xored in, so the order
 * does not matter. */
static void ops_digest(const struct kv_entry *e, unsigned char out[20])
{
	struct tset_src s;
	struct tset_iter it;
	const char *m;
	size_t len;

	memset(out, 0, 20);
	tset_src_of(e, &s);
	tset_iter_init(&it, &s, 0);
	while (tset_iter_next(&it, &m, &len)) {
		uint8_t h[20];

		digest_sha1(m, len, h);
		for (int i = 0; i < 20; i++)
			out[i] ^= h[i];
	}
}

static size_t ops_memory(const struct kv_entry *e, long long samples)
{
	(void)samples;
	return tset_memory(e);
}

static void ops_foreach(const struct kv_entry *e,
			void (*fn)(const char *a, size_t alen, const char *b, size_t blen,
				   void *arg),
			void *arg)
{
	struct tset_src s;
	struct tset_iter it;
	const char *m;
	size_t len;

	tset_src_of(e, &s);
	tset_iter_init(&it, &s, 0);
	while (tset_iter_next(&it, &m, &len))
		fn(m, len, NULL, 0, arg);
}

static struct kv_entry *ops_copy(struct coll_ctx *c, const struct kv_entry *e, const void *key,
				 size_t klen, int64_t expire_ms)
{
	if (coll_entry_enc(e) != COLL_HASHTABLE) {
		size_t len;
		const char *blob = coll_blob(e, &len);

		return coll_new_compact(key, klen, KV_SET, COLL_INTSET, blob, len, expire_ms);
	}
	uint64_t lin;
	struct pt_edit *ed = coll_edit(c, NULL, &lin);
	struct pt_iter it;
	struct pt_elem el;

	pt_iter_seek(&it, coll_big_of(e)->root[0], 0);
	while (pt_iter_next(&it, &el))
		(void)pt_put(ed, 0, &el);
	return coll_new_big(key, klen, KV_SET, COLL_HASHTABLE, lin, ed->root[0], NULL, expire_ms);
}

static const struct coll_type_ops set_ops = {
    .name = "set",
    .count = ops_count,
    .digest = ops_digest,
    .memory = ops_memory,
    .foreach = ops_foreach,
    .copy = ops_copy,
};

void tset_setup(void (*sha1)(const void *p, size_t n, uint8_t out[20]))
{
	digest_sha1 = sha1;
	coll_register(KV_SET, &set_ops);
}
