/*
 * rdb_value.c — the RDB value codec (rdb_value.h): Redis 7.0.15's
 * rdbSaveObject / rdbLoadObject for the types kvsd holds, over kvsd's type
 * modules.
 *
 * Layout of this file: the output buffer and Redis's length / string
 * encodings; a listpack writer (Redis's listpack.c entry encodings, so
 * hashes, sorted sets and quicklist nodes come out as Redis writes them) and
 * a validating listpack reader; the per-type encoders; the bounded input
 * reader and the per-type decoders; the DUMP framing.
 *
 * The reader never trusts a length: every read checks the bytes left first,
 * an LZF string's declared size is bounded by what its compressed length can
 * expand to, and a listpack or intset is walked entry by entry against its
 * own header before a single element is used.
 */
#include "persist/rdb_value.h"

#include <lzf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "persist/crc64.h"
#include "storage/kvmap.h"
#include "storage/thash.h"
#include "storage/tlist.h"
#include "storage/tset.h"
#include "storage/tzset.h"

/* ---- the output buffer */

void rdb_buf_init(struct rdb_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void rdb_buf_free(struct rdb_buf *b)
{
	mem_free(b->p);
	rdb_buf_init(b);
}

static void buf_reserve(struct rdb_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;

	while (cap < b->len + n)
		cap *= 2;
	b->p = mem_realloc(b->p, cap);
	b->cap = cap;
}

void rdb_buf_put(struct rdb_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_byte(struct rdb_buf *b, unsigned char c)
{
	rdb_buf_put(b, &c, 1);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- Redis's length and string encodings (rdbSaveLen, rdbSaveRawString) */

#define RDB_6BITLEN   0
#define RDB_14BITLEN  1
#define RDB_32BITLEN  0x80
#define RDB_64BITLEN  0x81
#define RDB_ENCVAL    3
#define RDB_ENC_INT8  0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF   3

void rdb_put_len(struct rdb_buf *b, uint64_t len)
{
	unsigned char h[9];

	if (len < (1 << 6)) {
		buf_byte(b, (unsigned char)((len & 0xff) | (RDB_6BITLEN << 6)));
	} else if (len < (1 << 14)) {
		h[0] = (unsigned char)(((len >> 8) & 0xff) | (RDB_14BITLEN << 6));
		h[1] = (unsigned char)(len & 0xff);
		rdb_buf_put(b, h, 2);
	} else if (len <= UINT32_MAX) {
		h[0] = RDB_32BITLEN;
		for (int i = 0; i < 4; i++)
			h[1 + i] = (unsigned char)(len >> (8 * (3 - i)));
		rdb_buf_put(b, h, 5);
	} else {
		h[0] = RDB_64BITLEN;
		for (int i = 0; i < 8; i++)
			h[1 + i] = (unsigned char)(len >> (8 * (7 - i)));
		rdb_buf_put(b, h, 9);
	}
}

/* rdbTryIntegerEncoding + rdbEncodeInteger: a canonical decimal that fits
 * 32 bits, in 2, 3 or 5 bytes. */
static bool put_int_encoded(struct rdb_buf *b, const char *s, size_t n)
{
	long long v;
	unsigned char h[5];

	if (!tset_str2ll(s, n, &v))
		return false;
	if (v >= -(1 << 7) && v <= (1 << 7) - 1) {
		h[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT8;
		h[1] = (unsigned char)(v & 0xff);
		rdb_buf_put(b, h, 2);
	} else if (v >= -(1 << 15) && v <= (1 << 15) - 1) {
		h[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT16;
		put_le(h + 1, (uint64_t)v, 2);
		rdb_buf_put(b, h, 3);
	} else if (v >= -((long long)1 << 31) && v <= ((long long)1 << 31) - 1) {
		h[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT32;
		put_le(h + 1, (uint64_t)v, 4);
		rdb_buf_put(b, h, 5);
	} else {
		return false;
	}
	return true;
}

/*
 * Whether s[0..n) holds some 3-byte sequence twice (3 <= n <= TRI_MAX). LZF
 * cannot shorten a string that does not: its only way to save bytes is a
 * back-reference, which copies at least 3 bytes that occurred before (the
 * format's shortest match), so without a repeated 3-byte sequence the
 * output is every byte as a literal plus a header per 32 of them, longer
 * than the input, and lzf_compress fails (put_lzf gives it n - 4 bytes).
 * So a string this check clears is one where lzf_compress would return 0,
 * whatever its hash table holds: skipping the attempt writes the same
 * bytes. Values of random or already compressed bytes almost never repeat
 * a 3-byte sequence at these sizes (62 random letters: about 1 in 150 at
 * 60 bytes), and for them the attempt was most of a save's CPU
 * (docs/BENCHMARKS.md, saver15).
 *
 * The set of sequences seen is an open-addressed table of TRI_SLOTS words
 * (the sequence, and in the top byte the call's stamp: a slot of another
 * stamp is empty), per thread, so nothing is cleared per call (all of it
 * once every 255 calls) and it stays in L1: 4 KB where liblzf's hash table
 * is 256 KB, touched at random by every attempt. At most TRI_MAX - 2
 * sequences in TRI_SLOTS slots: probes stay short.
 */
#define TRI_MAX	  256
#define TRI_SLOTS 1024

struct tri_set {
	uint32_t slot[TRI_SLOTS];
	uint32_t stamp; /* this call's, in the top byte; 0 never (cleared) */
};
static _Thread_local struct tri_set tri;

/* The 3 bytes at p as a number (p[0] lowest). */
static inline uint32_t tri_at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* Adds sequence v (24 bits) to the set of this call's stamp; true if it
 * was there. A slot xored with the stamp is below 2^24 when it is this
 * call's, and then it is the sequence it holds. */
static inline bool tri_seen(uint32_t *slot, uint32_t stamp, uint32_t v)
{
	unsigned h = (v * 2654435761u) >> 22;
	uint32_t y = slot[h] ^ stamp;

	while (kv_unlikely(y < (1u << 24))) {
		if (y == v)
			return true;
		h = (h + 1) & (TRI_SLOTS - 1);
		y = slot[h] ^ stamp;
	}
	slot[h] = stamp | v;
	return false;
}

static bool repeats_trigram(const unsigned char *s, size_t n)
{
	struct tri_set *t = &tri;

	/* the address in a register: gcc otherwise recomputes the TLS address
	 * at every probe and spills the loop's variables */
	__asm__("" : "+r"(t));
	uint32_t *slot = t->slot;
	uint32_t stamp = t->stamp += 1u << 24;
	size_t i = 0;

	if (stamp == 0) { /* the stamp wrapped: every slot could look current */
		memset(slot, 0, sizeof(t->slot));
		stamp = t->stamp = 1u << 24;
	}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* one 4-byte load per sequence while one fits: tri_at's number */
	for (; i + 3 < n; i++) {
		uint32_t w;

		memcpy(&w, s + i, 4);
		if (tri_seen(slot, stamp, w & 0xffffff))
			return true;
	}
#endif
	for (; i + 2 < n; i++)
		if (tri_seen(slot, stamp, tri_at(s + i)))
			return true;
	return false;
}

/* rdbSaveLzfStringObject: worth it only when it saves 4 bytes or more. */
#define LZF_STACK 1024

static bool put_lzf(struct rdb_buf *b, const char *s, size_t n)
{
	size_t outlen = n - 4;
	unsigned char stack[LZF_STACK], *out;
	unsigned int clen;

	if (n <= TRI_MAX && !repeats_trigram((const unsigned char *)s, n))
		return false; /* lzf_compress would fail: see repeats_trigram */
	out = outlen + 1 <= sizeof(stack) ? stack : mem_alloc(outlen + 1);
	clen = lzf_compress(s, (unsigned int)n, out, (unsigned int)outlen);
	if (clen != 0) {
		buf_byte(b, (RDB_ENCVAL << 6) | RDB_ENC_LZF);
		rdb_put_len(b, clen);
		rdb_put_len(b, n);
		rdb_buf_put(b, out, clen);
	}
	if (out != stack)
		mem_free(out);
	return clen != 0;
}

void rdb_put_string(struct rdb_buf *b, const void *s, size_t n, bool compress)
{
	if (n <= 11 && put_int_encoded(b, s, n))
		return;
	if (compress && n > 20 && n <= UINT32_MAX && put_lzf(b, s, n))
		return;
	rdb_put_len(b, n);
	rdb_buf_put(b, s, n);
}

/* ---- listpack writer (listpack.c's encodings) */

#define LP_HDR 6
#define LP_EOF 0xff

static void lp_begin(struct rdb_buf *lp)
{
	static const unsigned char hdr[LP_HDR];

	rdb_buf_init(lp);
	rdb_buf_put(lp, hdr, LP_HDR);
}

/* lpEncodeBacklen: l's bytes, written so they read backwards. */
static size_t lp_backlen(unsigned char *buf, uint64_t l)
{
	if (l <= 127) {
		buf[0] = (unsigned char)l;
		return 1;
	} else if (l < 16383) {
		buf[0] = (unsigned char)(l >> 7);
		buf[1] = (unsigned char)((l & 127) | 128);
		return 2;
	} else if (l < 2097151) {
		buf[0] = (unsigned char)(l >> 14);
		buf[1] = (unsigned char)(((l >> 7) & 127) | 128);
		buf[2] = (unsigned char)((l & 127) | 128);
		return 3;
	} else if (l < 268435455) {
		buf[0] = (unsigned char)(l >> 21);
		buf[1] = (unsigned char)(((l >> 14) & 127) | 128);
		buf[2] = (unsigned char)(((l >> 7) & 127) | 128);
		buf[3] = (unsigned char)((l & 127) | 128);
		return 4;
	}
	buf[0] = (unsigned char)(l >> 28);
	buf[1] = (unsigned char)(((l >> 21) & 127) | 128);
	buf[2] = (unsigned char)(((l >> 14) & 127) | 128);
	buf[3] = (unsigned char)(((l >> 7) & 127) | 128);
	buf[4] = (unsigned char)((l & 127) | 128);
	return 5;
}

static void lp_put_int(struct rdb_buf *lp, long long v)
{
	unsigned char e[9 + 5];
	size_t n;

	if (v >= 0 && v <= 127) {
		e[0] = (unsigned char)v;
		n = 1;
	} else if (v >= -4096 && v <= 4095) {
		uint64_t u = v < 0 ? (uint64_t)((1 << 13) + v) : (uint64_t)v;

		e[0] = (unsigned char)((u >> 8) | 0xc0);
		e[1] = (unsigned char)(u & 0xff);
		n = 2;
	} else if (v >= -32768 && v <= 32767) {
		e[0] = 0xf1;
		put_le(e + 1, (uint64_t)v, 2);
		n = 3;
	} else if (v >= -8388608 && v <= 8388607) {
		e[0] = 0xf2;
		put_le(e + 1, (uint64_t)v, 3);
		n = 4;
	} else if (v >= -2147483648LL && v <= 2147483647LL) {
		e[0] = 0xf3;
		put_le(e + 1, (uint64_t)v, 4);
		n = 5;
	} else {
		e[0] = 0xf4;
		put_le(e + 1, (uint64_t)v, 8);
		n = 9;
	}
	n += lp_backlen(e + n, n);
	rdb_buf_put(lp, e, n);
}

/* lpAppend of a string: integer-looking strings are stored as integers. */
static void lp_put_str(struct rdb_buf *lp, const char *s, size_t len)
{
	unsigned char h[5], bl[5];
	size_t hn;
	long long v;

	if (tset_str2ll(s, len, &v)) {
		lp_put_int(lp, v);
		return;
	}
	if (len < 64) {
		h[0] = (unsigned char)(0x80 | len);
		hn = 1;
	} else if (len < 4096) {
		h[0] = (unsigned char)(0xe0 | (len >> 8));
		h[1] = (unsigned char)(len & 0xff);
		hn = 2;
	} else {
		h[0] = 0xf0;
		put_le(h + 1, len, 4);
		hn = 5;
	}
	rdb_buf_put(lp, h, hn);
	rdb_buf_put(lp, s, len);
	rdb_buf_put(lp, bl, lp_backlen(bl, hn + len));
}

/* Terminates the listpack and fills its header. */
static void lp_finish(struct rdb_buf *lp, size_t count)
{
	buf_byte(lp, LP_EOF);
	put_le(lp->p, lp->len, 4);
	put_le(lp->p + 4, count < 65535 ? count : 65535, 2);
}

/* d2string of Redis 7.0 (util.c): how a listpack sorted set stores a score. */
static size_t d2string(char *buf, size_t len, double v)
{
	int n;

	if (isnan(v))
		n = snprintf(buf, len, "nan");
	else if (isinf(v))
		n = snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
	else if (v == 0)
		n = snprintf(buf, len, "%s", signbit(v) ? "-0" : "0");
	else if (v > -4503599627370495.0 && v < 4503599627370496.0 && v == (double)(long long)v)
		n = snprintf(buf, len, "%lld", (long long)v);
	else
		n = snprintf(buf, len, "%.17g", v);
	return (size_t)n;
}

/* ---- encoders */

static void enc_list(struct rdb_buf *b, const struct kv_entry *e, bool compress)
{
	/* quicklist node limits (_quicklistNodeExceedsLimit) */
	static const size_t level[] = {4096, 8192, 16384, 32768, 65536};
	long long fill = coll_limit(COLL_LIST_MAX_SIZE);
	struct rdb_buf *nodes = NULL;
	size_t nnodes = 0, cap = 0, count = 0;
	struct tlist_iter it;
	const char *p;
	size_t len;

	tlist_iter_init(&it, e, 0, true);
	while (tlist_iter_next(&it, &p, &len)) {
		bool room = nnodes > 0;

		if (room) {
			size_t new_sz = nodes[nnodes - 1].len + 1 + len + 8;

			if (fill >= 0)
				room = new_sz <= 8192 && (long long)count + 1 <= (fill ? fill : 1);
			else
				room = new_sz <= level[(-fill - 1) < 5 ? (-fill - 1) : 4];
		}
		if (!room) {
			if (nnodes > 0)
				lp_finish(&nodes[nnodes - 1], count);
			if (nnodes == cap) {
				cap = cap ? cap * 2 : 4;
				nodes = mem_realloc(nodes, cap * sizeof(*nodes));
			}
			lp_begin(&nodes[nnodes++]);
			count = 0;
		}
		lp_put_str(&nodes[nnodes - 1], p, len);
		count++;
	}
	tlist_iter_done(&it);
	if (nnodes > 0)
		lp_finish(&nodes[nnodes - 1], count);
	buf_byte(b, RDB_TYPE_LIST_QUICKLIST_2);
	rdb_put_len(b, nnodes);
	for (size_t i = 0; i < nnodes; i++) {
		rdb_put_len(b, 2); /* QUICKLIST_NODE_CONTAINER_PACKED */
		rdb_put_string(b, nodes[i].p, nodes[i].len, compress);
		rdb_buf_free(&nodes[i]);
	}
	mem_free(nodes);
}

static void enc_set(struct rdb_buf *b, const struct kv_entry *e, bool compress)
{
	struct tset_src s;

	tset_src_of(e, &s);
	if (!s.big) {
		size_t n = s.n, blen = 8 + n * s.width;
		unsigned char *blob = mem_alloc(blen);

		put_le(blob, s.width, 4);
		put_le(blob + 4, n, 4);
		for (size_t i = 0; i < n; i++)
			put_le(blob + 8 + i * s.width, (uint64_t)tset_src_int(&s, i), (int)s.width);
		buf_byte(b, RDB_TYPE_SET_INTSET);
		rdb_put_string(b, blob, blen, compress);
		mem_free(blob);
		return;
	}
	struct tset_iter it;
	const char *m;
	size_t len;

	buf_byte(b, RDB_TYPE_SET);
	rdb_put_len(b, tset_src_count(&s));
	tset_iter_init(&it, &s, 0);
	while (tset_iter_next(&it, &m, &len))
		rdb_put_string(b, m, len, compress);
}

static void enc_hash(struct rdb_buf *b, const struct kv_entry *e, bool compress)
{
	struct thash_iter it;
	struct pt_elem el;

	thash_iter_init(&it, e);
	if (coll_entry_enc(e) == COLL_LISTPACK) {
		struct rdb_buf lp;
		size_t n = 0;

		lp_begin(&lp);
		while (thash_iter_next(&it, &el)) {
			lp_put_str(&lp, el.a, el.alen);
			lp_put_str(&lp, el.b, el.blen);
			n += 2;
		}
		lp_finish(&lp, n);
		buf_byte(b, RDB_TYPE_HASH_LISTPACK);
		rdb_put_string(b, lp.p, lp.len, compress);
		rdb_buf_free(&lp);
		return;
	}
	buf_byte(b, RDB_TYPE_HASH);
	rdb_put_len(b, thash_count(e));
	while (thash_iter_next(&it, &el)) {
		rdb_put_string(b, el.a, el.alen, compress);
		rdb_put_string(b, el.b, el.blen, compress);
	}
}

static void enc_zset(struct rdb_buf *b, const struct kv_entry *e, bool compress)
{
	size_t n = tzset_count(e);
	struct tzset_iter it;
	struct tz_item item;

	if (coll_entry_enc(e) == COLL_LISTPACK) {
		struct rdb_buf lp;
		char sb[64];

		lp_begin(&lp);
		tzset_iter_init(&it, e, 0, false);
		while (tzset_iter_next(&it, &item)) {
			lp_put_str(&lp, item.m, item.mlen);
			lp_put_str(&lp, sb, d2string(sb, sizeof(sb), item.score));
		}
		lp_finish(&lp, 2 * n);
		buf_byte(b, RDB_TYPE_ZSET_LISTPACK);
		rdb_put_string(b, lp.p, lp.len, compress);
		rdb_buf_free(&lp);
		return;
	}
	/* greatest first, as Redis walks its skiplist from the tail */
	buf_byte(b, RDB_TYPE_ZSET_2);
	rdb_put_len(b, n);
	if (n == 0)
		return;
	tzset_iter_init(&it, e, n - 1, true);
	while (tzset_iter_next(&it, &item)) {
		unsigned char d[8];
		uint64_t bits;

		rdb_put_string(b, item.m, item.mlen, compress);
		memcpy(&bits, &item.score, 8);
		put_le(d, bits, 8);
		rdb_buf_put(b, d, 8);
	}
}

void rdb_value_encode(struct rdb_buf *b, const struct kv_entry *e, bool compress)
{
	switch (kv_entry_type(e)) {
	case KV_STRING:
		buf_byte(b, RDB_TYPE_STRING);
		rdb_put_string(b, kv_entry_val(e), e->vlen, compress);
		break;
	case KV_LIST:
		enc_list(b, e, compress);
		break;
	case KV_SET:
		enc_set(b, e, compress);
		break;
	case KV_HASH:
		enc_hash(b, e, compress);
		break;
	case KV_ZSET:
		enc_zset(b, e, compress);
		break;
	default:
		KV_PANIC("rdb_value_encode: unknown type");
	}
}

/* ---- the bounded reader */

struct rd {
	const unsigned char *p, *end;
};

/* Strings a decode made (LZF output, formatted integers), freed at its end. */
struct arena {
	char **v;
	size_t n, cap;
};

static char *arena_alloc(struct arena *a, size_t n)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = mem_realloc(a->v, a->cap * sizeof(*a->v));
	}
	return a->v[a->n++] = mem_alloc(n ? n : 1);
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		mem_free(a->v[i]);
	mem_free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static bool rd_bytes(struct rd *r, size_t n, const unsigned char **out)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	*out = r->p;
	r->p += n;
	return true;
}

/* rdbLoadLenByRef: *enc set for an encoded-string marker (then *len is the
 * RDB_ENC_* kind). */
static bool rd_len(struct rd *r, uint64_t *len, bool *enc)
{
	const unsigned char *h;

	if (enc)
		*enc = false;
	if (!rd_bytes(r, 1, &h))
		return false;
	switch (h[0] >> 6) {
	case RDB_6BITLEN:
		*len = h[0] & 0x3f;
		return true;
	case RDB_14BITLEN: {
		const unsigned char *x;

		if (!rd_bytes(r, 1, &x))
			return false;
		*len = ((uint64_t)(h[0] & 0x3f) << 8) | x[0];
		return true;
	}
	case RDB_ENCVAL:
		if (!enc)
			return false;
		*enc = true;
		*len = h[0] & 0x3f;
		return true;
	default: {
		const unsigned char *x;
		int n = h[0] == RDB_32BITLEN ? 4 : h[0] == RDB_64BITLEN ? 8 : 0;

		if (n == 0 || !rd_bytes(r, (size_t)n, &x))
			return false;
		*len = 0;
		for (int i = 0; i < n; i++)
			*len = (*len << 8) | x[i];
		return true;
	}
	}
}

/* A string, any of its encodings: *s points into the input or the arena. */
static bool rd_string(struct rd *r, struct arena *a, const char **s, size_t *slen)
{
	uint64_t len;
	bool enc;
	const unsigned char *x;

	if (!rd_len(r, &len, &enc))
		return false;
	if (!enc) {
		if (!rd_bytes(r, len, &x))
			return false;
		*s = (const char *)x;
		*slen = len;
		return true;
	}
	if (len <= RDB_ENC_INT32) {
		int n = len == RDB_ENC_INT8 ? 1 : len == RDB_ENC_INT16 ? 2 : 4;
		long long v;
		char *out;

		if (!rd_bytes(r, (size_t)n, &x))
			return false;
		v = n == 1 ? (int8_t)x[0] : n == 2 ? (int16_t)get_le(x, 2) : (int32_t)get_le(x, 4);
		out = arena_alloc(a, 24);
		*slen = (size_t)snprintf(out, 24, "%lld", v);
		*s = out;
		return true;
	}
	if (len == RDB_ENC_LZF) {
		uint64_t clen, ulen;
		char *out;

		if (!rd_len(r, &clen, NULL) || !rd_len(r, &ulen, NULL))
			return false;
		/* an LZF back reference of 2-3 bytes expands to at most 264:
		 * anything claiming more is corrupt, and is refused before the
		 * allocation it would cost */
		if (clen == 0 || ulen == 0 || clen > UINT32_MAX || ulen > clen * 132 ||
		    ulen > UINT32_MAX || !rd_bytes(r, clen, &x))
			return false;
		out = arena_alloc(a, ulen);
		if (lzf_decompress(x, (unsigned int)clen, out, (unsigned int)ulen) != ulen)
			return false;
		*s = out;
		*slen = ulen;
		return true;
	}
	return false;
}

/* ---- validating listpack reader (lpValidateIntegrity, deep) */

struct lp_el {
	const char *s; /* NULL: an integer */
	size_t len;
	long long v;
};

/* The entry at p (p < end, not the terminator): its element and its total
 * size (encoding, data, backlen), or 0 when it is malformed. */
static size_t lp_entry(const unsigned char *p, const unsigned char *end, struct lp_el *el)
{
	size_t avail = (size_t)(end - p), hdr, dlen = 0, used;
	unsigned char c = p[0], bl[5];
	uint64_t u;

	el->s = NULL;
	el->len = 0;
	el->v = 0;
	if (c < 0x80) {
		hdr = 1;
		el->v = c;
	} else if ((c & 0xc0) == 0x80) {
		hdr = 1;
		dlen = c & 0x3f;
	} else if ((c & 0xe0) == 0xc0) {
		if (avail < 2)
			return 0;
		hdr = 2;
		u = ((uint64_t)(c & 0x1f) << 8) | p[1];
		el->v = u >= (1 << 12) ? (long long)u - (1 << 13) : (long long)u;
	} else if ((c & 0xf0) == 0xe0) {
		if (avail < 2)
			return 0;
		hdr = 2;
		dlen = ((size_t)(c & 0x0f) << 8) | p[1];
	} else if (c == 0xf0) {
		if (avail < 5)
			return 0;
		hdr = 5;
		dlen = get_le(p + 1, 4);
	} else if (c >= 0xf1 && c <= 0xf4) {
		int n = c == 0xf1 ? 2 : c == 0xf2 ? 3 : c == 0xf3 ? 4 : 8;

		if (avail < (size_t)n + 1)
			return 0;
		hdr = (size_t)n + 1;
		u = get_le(p + 1, n);
		if (n == 2)
			el->v = (int16_t)u;
		else if (n == 3)
			el->v = u >= (1 << 23) ? (long long)u - (1 << 24) : (long long)u;
		else if (n == 4)
			el->v = (int32_t)u;
		else
			el->v = (long long)u;
	} else {
		return 0; /* 0xf5..0xfe are no encoding; 0xff ends the listpack */
	}
	if ((c & 0xc0) == 0x80 || (c & 0xf0) == 0xe0 || c == 0xf0) {
		if (dlen > avail - hdr)
			return 0;
		el->s = (const char *)p + hdr;
		el->len = dlen;
	}
	used = hdr + dlen;
	size_t bn = lp_backlen(bl, used);

	if (bn > avail - used || memcmp(p + used, bl, bn) != 0)
		return 0;
	return used + bn;
}

/* Checks a whole listpack; *count receives its elements. */
static bool lp_validate(const unsigned char *lp, size_t n, size_t *count)
{
	const unsigned char *p, *end;
	size_t c = 0, hc;
	struct lp_el el;

	if (n < LP_HDR + 1 || get_le(lp, 4) != n || lp[n - 1] != LP_EOF)
		return false;
	hc = get_le(lp + 4, 2);
	p = lp + LP_HDR;
	end = lp + n - 1;
	while (p < end) {
		size_t sz = lp_entry(p, end, &el);

		if (sz == 0)
			return false;
		p += sz;
		c++;
	}
	if (hc != 65535 && hc != c)
		return false;
	*count = c;
	return true;
}

/* The element at *p as bytes (an integer formatted into the arena). */
static void lp_next(const unsigned char **p, const unsigned char *end, struct arena *a,
		    const char **s, size_t *len)
{
	struct lp_el el;

	*p += lp_entry(*p, end, &el);
	if (el.s) {
		*s = el.s;
		*len = el.len;
	} else {
		char *out = arena_alloc(a, 24);

		*len = (size_t)snprintf(out, 24, "%lld", el.v);
		*s = out;
	}
}

/* ---- decoders */

struct dec {
	struct rd r;
	struct arena a;
	struct coll_ctx *ctx;
	const void *key;
	size_t klen;
	int64_t expire_ms;
};

/* Reads a listpack string and checks it: the elements start at *first. */
static bool rd_listpack(struct dec *d, const unsigned char **first, const unsigned char **end,
			size_t *count)
{
	const char *s;
	size_t len;

	if (!rd_string(&d->r, &d->a, &s, &len) ||
	    !lp_validate((const unsigned char *)s, len, count))
		return false;
	*first = (const unsigned char *)s + LP_HDR;
	*end = (const unsigned char *)s + len - 1;
	return true;
}

struct items {
	const char **p;
	size_t *len;
	size_t n, cap;
};

static void items_add(struct items *it, const char *p, size_t len)
{
	if (it->n == it->cap) {
		it->cap = it->cap ? it->cap * 2 : 16;
		it->p = mem_realloc(it->p, it->cap * sizeof(*it->p));
		it->len = mem_realloc(it->len, it->cap * sizeof(*it->len));
	}
	it->p[it->n] = p;
	it->len[it->n++] = len;
}

static void items_free(struct items *it)
{
	mem_free(it->p);
	mem_free(it->len);
}

/* ---- the older compact forms 7.0 still loads (ziplist, zipmap) */

#define ZL_HDR 10

/* The ziplist entry at p (p < end): its element, the previous entry's
 * length it records, and its total size, or 0 when malformed. */
static size_t zl_entry(const unsigned char *p, const unsigned char *end, struct lp_el *el,
		       size_t *prevlen)
{
	size_t avail = (size_t)(end - p), pl, hdr, dlen = 0;
	unsigned char e;

	el->s = NULL;
	el->len = 0;
	el->v = 0;
	if (p[0] < 254) {
		pl = 1;
		*prevlen = p[0];
	} else if (p[0] == 254 && avail >= 5) {
		pl = 5;
		*prevlen = get_le(p + 1, 4);
	} else {
		return 0;
	}
	if (avail < pl + 1)
		return 0;
	p += pl;
	avail -= pl;
	e = p[0];
	if ((e >> 6) == 0) {
		hdr = 1;
		dlen = e & 0x3f;
	} else if ((e >> 6) == 1) {
		if (avail < 2)
			return 0;
		hdr = 2;
		dlen = ((size_t)(e & 0x3f) << 8) | p[1];
	} else if (e == 0x80) {
		if (avail < 5)
			return 0;
		hdr = 5;
		dlen = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
	} else {
		int n;

		switch (e) {
		case 0xc0:
			n = 2;
			break;
		case 0xd0:
			n = 4;
			break;
		case 0xe0:
			n = 8;
			break;
		case 0xf0:
			n = 3;
			break;
		case 0xfe:
			n = 1;
			break;
		default:
			if (e >= 0xf1 && e <= 0xfd) {
				el->v = (e & 0x0f) - 1;
				return pl + 1;
			}
			return 0;
		}
		if (avail < (size_t)n + 1)
			return 0;
		uint64_t u = get_le(p + 1, n);

		el->v = n == 1	 ? (int8_t)u
			: n == 2 ? (int16_t)u
			: n == 3 ? (u >= (1 << 23) ? (long long)u - (1 << 24) : (long long)u)
			: n == 4 ? (int32_t)u
				 : (long long)u;
		return pl + 1 + (size_t)n;
	}
	if (dlen > avail - hdr)
		return 0;
	el->s = (const char *)p + hdr;
	el->len = dlen;
	return pl + hdr + dlen;
}

static void el_add(struct items *it, struct arena *a, const struct lp_el *el)
{
	if (el->s) {
		items_add(it, el->s, el->len);
	} else {
		char *out = arena_alloc(a, 24);

		items_add(it, out, (size_t)snprintf(out, 24, "%lld", el->v));
	}
}

/* ziplistValidateIntegrity (deep): header, every entry's bounds and
 * prevlen, the tail offset and the count; the elements go to it. */
static bool zl_items(const char *s, size_t n, struct arena *a, struct items *it)
{
	const unsigned char *zl = (const unsigned char *)s, *p, *end, *last = NULL;
	size_t prev = 0, c = 0, hc;

	if (n < ZL_HDR + 1 || get_le(zl, 4) != n || zl[n - 1] != 0xff)
		return false;
	hc = get_le(zl + 8, 2);
	p = zl + ZL_HDR;
	end = zl + n - 1;
	while (p < end) {
		struct lp_el el;
		size_t prevlen, sz = zl_entry(p, end, &el, &prevlen);

		if (sz == 0 || prevlen != prev)
			return false;
		el_add(it, a, &el);
		last = p;
		prev = sz;
		p += sz;
		c++;
	}
	if ((size_t)((last ? last : zl + ZL_HDR) - zl) != get_le(zl + 4, 4))
		return false;
	return hc == 65535 || hc == c;
}

/* zipmapValidateIntegrity: <zmlen> then (len key len free value pad)...,
 * 0xff; the keys and values go to it. */
static bool zm_items(const char *s, size_t n, struct arena *a, struct items *it)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t c = 0;

	(void)a;
	if (n < 2 || p[n - 1] != 0xff)
		return false;
	p++;
	while (p < end && *p != 0xff) {
		for (int half = 0; half < 2; half++) {
			size_t len, fr = 0;

			if (p >= end)
				return false;
			if (p[0] < 254) {
				len = p[0];
				p += 1;
			} else if (p[0] == 254 && end - p >= 5) {
				len = get_le(p + 1, 4);
				p += 5;
			} else {
				return false;
			}
			if (half == 1) {
				if (p >= end)
					return false;
				fr = *p++;
			}
			if ((size_t)(end - p) < len + fr)
				return false;
			items_add(it, (const char *)p, len);
			p += len + fr;
		}
		c++;
	}
	return p == end - 1;
}

static enum rdb_err dec_list(struct dec *d, int type, struct kv_entry **out)
{
	struct items it = {0};
	uint64_t n;
	enum rdb_err err = RDB_EBADFMT;

	if (type == RDB_TYPE_LIST_ZIPLIST) {
		n = 1;
	} else if (!rd_len(&d->r, &n, NULL)) {
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		const char *s;
		size_t len;

		if (type == RDB_TYPE_LIST_ZIPLIST || type == RDB_TYPE_LIST_QUICKLIST) {
			/* one ziplist; a quicklist of them (an empty one is skipped) */
			if (!rd_string(&d->r, &d->a, &s, &len) || !zl_items(s, len, &d->a, &it))
				goto out;
			continue;
		}
		if (type == RDB_TYPE_LIST) {
			if (!rd_string(&d->r, &d->a, &s, &len))
				goto out;
			items_add(&it, s, len);
			continue;
		}
		uint64_t container;
		const unsigned char *p, *end;
		size_t count;

		if (!rd_len(&d->r, &container, NULL))
			goto out;
		if (container == 1) { /* PLAIN: one element */
			if (!rd_string(&d->r, &d->a, &s, &len))
				goto out;
			items_add(&it, s, len);
			continue;
		}
		if (container != 2 || !rd_listpack(d, &p, &end, &count))
			goto out;
		while (p < end) { /* an empty node is skipped, as Redis does */
			lp_next(&p, end, &d->a, &s, &len);
			items_add(&it, s, len);
		}
	}
	if (it.n == 0)
		goto out;
	struct tlist_w *w = tlist_w_begin(d->ctx, NULL);

	tlist_w_push(w, TLIST_TAIL, it.n, it.p, it.len);
	*out = tlist_w_finish(w, d->key, d->klen, d->expire_ms);
	err = *out ? RDB_OK : RDB_EBADFMT;
out:
	items_free(&it);
	return err;
}

static enum rdb_err set_finish(struct dec *d, struct tset_build *b, bool ok, struct kv_entry **out)
{
	if (ok && tset_build_count(b) > 0)
		*out = tset_build_entry(b, d->key, d->klen, d->expire_ms);
	tset_build_done(b);
	return *out ? RDB_OK : RDB_EBADFMT;
}

static enum rdb_err dec_set(struct dec *d, struct kv_entry **out)
{
	struct tset_build b;
	uint64_t n;
	bool ok = rd_len(&d->r, &n, NULL);

	tset_build_init(&b, d->ctx);
	for (uint64_t i = 0; ok && i < n; i++) {
		const char *s;
		size_t len;

		/* a duplicate member is corruption (Redis refuses it too) */
		ok = rd_string(&d->r, &d->a, &s, &len) && tset_build_add(&b, s, len);
	}
	return set_finish(d, &b, ok, out);
}

static enum rdb_err dec_intset(struct dec *d, struct kv_entry **out)
{
	struct tset_build b;
	const char *s;
	size_t len, w = 0, n = 0;
	bool ok = rd_string(&d->r, &d->a, &s, &len);
	const unsigned char *p = (const unsigned char *)s;

	/* intsetValidateIntegrity: a known width, the size its count
	 * implies, strictly ascending */
	if (ok) {
		w = len >= 8 ? get_le(p, 4) : 0;
		n = len >= 8 ? get_le(p + 4, 4) : 0;
		ok = (w == 2 || w == 4 || w == 8) && n > 0 && len - 8 == n * w;
	}
	tset_build_init(&b, d->ctx);
	long long prev = 0;

	for (size_t i = 0; ok && i < n; i++) {
		uint64_t u = get_le(p + 8 + i * w, (int)w);
		long long v = w == 2 ? (int16_t)u : w == 4 ? (int32_t)u : (long long)u;
		char buf[24];
		int bl = snprintf(buf, sizeof(buf), "%lld", v);

		ok = (i == 0 || v > prev) && tset_build_add(&b, buf, (size_t)bl);
		prev = v;
	}
	return set_finish(d, &b, ok, out);
}

static enum rdb_err hash_finish(struct dec *d, struct thash_op *ops, size_t n,
				struct kv_entry **out)
{
	size_t added = 0;
	struct kv_entry *e;

	if (n == 0)
		return RDB_EBADFMT;
	e = thash_apply(d->ctx, NULL, d->key, d->klen, d->expire_ms, ops, n, &added, NULL);
	if (e && added != n) { /* a duplicate field */
		kv_entry_free(e);
		e = NULL;
	}
	*out = e;
	return e ? RDB_OK : RDB_EBADFMT;
}

/* A hash given as a flat element list (the old forms). */
static enum rdb_err hash_from_items(struct dec *d, const struct items *it, struct kv_entry **out)
{
	struct thash_op *ops;
	enum rdb_err err;
	size_t n = it->n / 2;

	if (it->n % 2 != 0)
		return RDB_EBADFMT;
	ops = mem_alloc((n + 1) * sizeof(*ops));
	for (size_t i = 0; i < n; i++)
		ops[i] = (struct thash_op){it->p[2 * i], it->len[2 * i], it->p[2 * i + 1],
					   it->len[2 * i + 1], false};
	err = hash_finish(d, ops, n, out);
	mem_free(ops);
	return err;
}

static enum rdb_err dec_hash(struct dec *d, int type, struct kv_entry **out)
{
	struct thash_op *ops = NULL;
	size_t n = 0;
	enum rdb_err err = RDB_EBADFMT;

	if (type == RDB_TYPE_HASH_ZIPLIST || type == RDB_TYPE_HASH_ZIPMAP) {
		struct items it = {0};
		const char *s;
		size_t len;

		if (rd_string(&d->r, &d->a, &s, &len) &&
		    (type == RDB_TYPE_HASH_ZIPLIST ? zl_items(s, len, &d->a, &it)
						   : zm_items(s, len, &d->a, &it)))
			err = hash_from_items(d, &it, out);
		items_free(&it);
		return err;
	}
	if (type == RDB_TYPE_HASH_LISTPACK) {
		const unsigned char *p, *end;
		size_t count;

		if (!rd_listpack(d, &p, &end, &count) || count % 2 != 0)
			goto out;
		ops = mem_alloc((count / 2 + 1) * sizeof(*ops));
		for (; n < count / 2; n++) {
			ops[n].del = false;
			lp_next(&p, end, &d->a, &ops[n].f, &ops[n].flen);
			lp_next(&p, end, &d->a, &ops[n].v, &ops[n].vlen);
		}
	} else {
		uint64_t len;

		/* every pair costs at least 2 bytes: a count the input cannot
		 * hold is refused before its array is allocated */
		if (!rd_len(&d->r, &len, NULL) || len > (size_t)(d->r.end - d->r.p) / 2)
			goto out;
		ops = mem_alloc((len + 1) * sizeof(*ops));
		for (; n < len; n++) {
			ops[n].del = false;
			if (!rd_string(&d->r, &d->a, &ops[n].f, &ops[n].flen) ||
			    !rd_string(&d->r, &d->a, &ops[n].v, &ops[n].vlen))
				goto out;
		}
	}
	err = hash_finish(d, ops, n, out);
out:
	mem_free(ops);
	return err;
}

static int item_cmp(const void *a, const void *b)
{
	const struct tz_item *x = a, *y = b;

	return tz_memcmp(x->m, x->mlen, y->m, y->mlen);
}

static enum rdb_err zset_finish(struct dec *d, struct tz_item *items, size_t n,
				struct kv_entry **out)
{
	struct tz_item *sorted;
	bool dup = false;

	if (n == 0)
		return RDB_EBADFMT;
	sorted = mem_alloc(n * sizeof(*sorted));
	memcpy(sorted, items, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), item_cmp);
	for (size_t i = 1; i < n && !dup; i++)
		dup = item_cmp(&sorted[i - 1], &sorted[i]) == 0;
	mem_free(sorted);
	if (dup)
		return RDB_EBADFMT;
	*out = tzset_build(d->ctx, d->key, d->klen, items, n, d->expire_ms);
	return *out ? RDB_OK : RDB_EBADFMT;
}

/* A score as text (type 3 and listpacks), read as Redis's zzlStrtod does
 * (strtod of the bytes, whatever follows the number), but never NaN. */
static bool parse_score(const char *s, size_t len, double *out)
{
	char buf[128];

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return !isnan(*out);
}

static enum rdb_err dec_zset(struct dec *d, int type, struct kv_entry **out)
{
	struct tz_item *items = NULL;
	size_t n = 0;
	enum rdb_err err = RDB_EBADFMT;

	if (type == RDB_TYPE_ZSET_ZIPLIST) {
		struct items it = {0};
		const char *s;
		size_t len;
		bool ok = rd_string(&d->r, &d->a, &s, &len) && zl_items(s, len, &d->a, &it) &&
			  it.n % 2 == 0;

		items = mem_alloc((it.n / 2 + 1) * sizeof(*items));
		for (; ok && n < it.n / 2; n++) {
			items[n].m = it.p[2 * n];
			items[n].mlen = it.len[2 * n];
			ok = parse_score(it.p[2 * n + 1], it.len[2 * n + 1], &items[n].score);
		}
		items_free(&it);
		if (!ok)
			goto out;
	} else if (type == RDB_TYPE_ZSET_LISTPACK) {
		const unsigned char *p, *end;
		size_t count;

		if (!rd_listpack(d, &p, &end, &count) || count % 2 != 0)
			goto out;
		items = mem_alloc((count / 2 + 1) * sizeof(*items));
		for (; n < count / 2; n++) {
			const char *s;
			size_t len;

			lp_next(&p, end, &d->a, &items[n].m, &items[n].mlen);
			lp_next(&p, end, &d->a, &s, &len);
			if (!parse_score(s, len, &items[n].score))
				goto out;
		}
	} else {
		uint64_t len;

		if (!rd_len(&d->r, &len, NULL) || len > (size_t)(d->r.end - d->r.p) / 2)
			goto out;
		items = mem_alloc((len + 1) * sizeof(*items));
		for (; n < len; n++) {
			const unsigned char *x;

			if (!rd_string(&d->r, &d->a, &items[n].m, &items[n].mlen))
				goto out;
			if (type == RDB_TYPE_ZSET_2) {
				uint64_t bits;

				if (!rd_bytes(&d->r, 8, &x))
					goto out;
				bits = get_le(x, 8);
				memcpy(&items[n].score, &bits, 8);
				if (isnan(items[n].score))
					goto out;
			} else { /* rdbLoadDoubleValue */
				if (!rd_bytes(&d->r, 1, &x))
					goto out;
				if (x[0] == 253)
					goto out; /* NaN */
				if (x[0] == 254 || x[0] == 255) {
					items[n].score = x[0] == 254 ? INFINITY : -INFINITY;
					continue;
				}
				size_t sl = x[0];

				if (!rd_bytes(&d->r, sl, &x) ||
				    !parse_score((const char *)x, sl, &items[n].score))
					goto out;
			}
		}
	}
	err = zset_finish(d, items, n, out);
out:
	mem_free(items);
	return err;
}

enum rdb_err rdb_value_decode(struct coll_ctx *ctx, const void *p, size_t n, const void *key,
			      size_t klen, int64_t expire_ms, struct kv_entry **out, size_t *used)
{
	enum rdb_err err;

	*out = NULL;
	*used = 0;
	if (n == 0)
		return RDB_EBADFMT;
	err = rdb_value_decode_as(ctx, ((const unsigned char *)p)[0], (const unsigned char *)p + 1,
				  n - 1, key, klen, expire_ms, out, used);
	*used += 1;
	return err;
}

enum rdb_err rdb_value_decode_as(struct coll_ctx *ctx, int type, const void *p, size_t n,
				 const void *key, size_t klen, int64_t expire_ms,
				 struct kv_entry **out, size_t *used)
{
	struct dec d = {.r = {p, (const unsigned char *)p + n},
			.ctx = ctx,
			.key = key,
			.klen = klen,
			.expire_ms = expire_ms};
	const unsigned char tb = (unsigned char)type, *t = &tb;
	enum rdb_err err;

	*out = NULL;
	switch (t[0]) {
	case RDB_TYPE_STRING: {
		const char *s;
		size_t len;

		err = RDB_EBADFMT;
		if (rd_string(&d.r, &d.a, &s, &len)) {
			*out = kv_entry_new(key, klen, s, len, expire_ms);
			err = RDB_OK;
		}
		break;
	}
	case RDB_TYPE_LIST:
	case RDB_TYPE_LIST_ZIPLIST:
	case RDB_TYPE_LIST_QUICKLIST:
	case RDB_TYPE_LIST_QUICKLIST_2:
		err = dec_list(&d, t[0], out);
		break;
	case RDB_TYPE_SET:
		err = dec_set(&d, out);
		break;
	case RDB_TYPE_SET_INTSET:
		err = dec_intset(&d, out);
		break;
	case RDB_TYPE_HASH:
	case RDB_TYPE_HASH_ZIPMAP:
	case RDB_TYPE_HASH_ZIPLIST:
	case RDB_TYPE_HASH_LISTPACK:
		err = dec_hash(&d, t[0], out);
		break;
	case RDB_TYPE_ZSET:
	case RDB_TYPE_ZSET_ZIPLIST:
	case RDB_TYPE_ZSET_2:
	case RDB_TYPE_ZSET_LISTPACK:
		err = dec_zset(&d, t[0], out);
		break;
	case RDB_TYPE_STREAM_LISTPACKS:
	case RDB_TYPE_STREAM_LISTPACKS_2:
	case 6: /* RDB_TYPE_MODULE */
	case 7: /* RDB_TYPE_MODULE_2 */
		err = RDB_EUNSUPPORTED;
		break;
	default:
		err = RDB_EBADFMT;
		break;
	}
	arena_free(&d.a);
	if (err != RDB_OK && *out) {
		kv_entry_free(*out);
		*out = NULL;
	}
	*used = (size_t)(d.r.p - (const unsigned char *)p);
	return err;
}

/* ---- skipping a value without building it (the parallel file loader) */

static bool skip_str(struct rd *r)
{
	uint64_t len, clen, ulen;
	bool enc;
	const unsigned char *x;

	if (!rd_len(r, &len, &enc))
		return false;
	if (!enc)
		return rd_bytes(r, len, &x);
	if (len <= RDB_ENC_INT32)
		return rd_bytes(r, len == RDB_ENC_INT8 ? 1 : len == RDB_ENC_INT16 ? 2 : 4, &x);
	return len == RDB_ENC_LZF && rd_len(r, &clen, NULL) && rd_len(r, &ulen, NULL) &&
	       rd_bytes(r, clen, &x);
}

bool rdb_value_skip(int type, const void *p, size_t n, size_t *used)
{
	struct rd r = {p, (const unsigned char *)p + n};
	const unsigned char *x;
	uint64_t cnt, c;

	switch (type) {
	case RDB_TYPE_STRING:
	case RDB_TYPE_HASH_ZIPMAP:
	case RDB_TYPE_LIST_ZIPLIST:
	case RDB_TYPE_SET_INTSET:
	case RDB_TYPE_ZSET_ZIPLIST:
	case RDB_TYPE_HASH_ZIPLIST:
	case RDB_TYPE_HASH_LISTPACK:
	case RDB_TYPE_ZSET_LISTPACK:
		if (!skip_str(&r))
			return false;
		break;
	case RDB_TYPE_LIST:
	case RDB_TYPE_SET:
	case RDB_TYPE_HASH:
	case RDB_TYPE_LIST_QUICKLIST:
	case RDB_TYPE_LIST_QUICKLIST_2:
	case RDB_TYPE_ZSET:
	case RDB_TYPE_ZSET_2:
		if (!rd_len(&r, &cnt, NULL))
			return false;
		for (uint64_t i = 0; i < cnt; i++) {
			if (r.p == r.end)
				return false; /* every element takes a byte at least */
			if (type == RDB_TYPE_LIST_QUICKLIST_2 && !rd_len(&r, &c, NULL))
				return false;
			if (!skip_str(&r))
				return false;
			if (type == RDB_TYPE_HASH && !skip_str(&r))
				return false;
			if (type == RDB_TYPE_ZSET_2 && !rd_bytes(&r, 8, &x))
				return false;
			if (type == RDB_TYPE_ZSET) {
				if (!rd_bytes(&r, 1, &x))
					return false;
				if (x[0] < 253 && !rd_bytes(&r, x[0], &x))
					return false;
			}
		}
		break;
	default:
		return false;
	}
	*used = (size_t)(r.p - (const unsigned char *)p);
	return true;
}

/* ---- lengths and strings for the file loader */

size_t rdb_get_len(const void *p, size_t n, uint64_t *len)
{
	struct rd r = {p, (const unsigned char *)p + n};

	return rd_len(&r, len, NULL) ? (size_t)(r.p - (const unsigned char *)p) : 0;
}

size_t rdb_get_string(const void *p, size_t n, struct rdb_buf *out)
{
	struct rd r = {p, (const unsigned char *)p + n};
	struct arena a = {0};
	const char *s;
	size_t slen, used = 0;

	out->len = 0;
	if (rd_string(&r, &a, &s, &slen)) {
		rdb_buf_put(out, s, slen);
		used = (size_t)(r.p - (const unsigned char *)p);
	}
	arena_free(&a);
	return used;
}

/* ---- DUMP framing (dumpCommand / verifyDumpPayload) */

void rdb_dump_payload(struct rdb_buf *b, const struct kv_entry *e)
{
	unsigned char f[8];

	rdb_value_encode(b, e, true);
	put_le(f, RDB_VERSION, 2);
	rdb_buf_put(b, f, 2);
	put_le(f, crc64(0, b->p, b->len), 8);
	rdb_buf_put(b, f, 8);
}

bool rdb_dump_verify(const void *p, size_t n, size_t *vlen)
{
	const unsigned char *s = p;

	if (n < 10)
		return false;
	if (get_le(s + n - 10, 2) > RDB_VERSION)
		return false;
	if (crc64(0, s, n - 8) != get_le(s + n - 8, 8))
		return false;
	*vlen = n - 10;
	return true;
}
