/*
 * test_persist.c — persist/: the CRC-64 check value, Redis's string
 * encodings byte for byte (integer forms, LZF, raw), round trips of every
 * type in both its encodings through the RDB value codec (decode builds the
 * encoding kvsd and Redis choose, encode writes the matching RDB type), the
 * DUMP framing, and malformed input: every truncation of every payload and
 * random byte flips are refused or decoded, never read past (run under
 * ASan in CI).
 */
#include <criterion/criterion.h>
#include <lzf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/crc64.h"
#include "persist/rdb_value.h"
#include "server/sha1.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "../storage/db_fixture.h"
#include "storage/thash.h"
#include "storage/tlist.h"
#include "storage/tset.h"
#include "storage/tzset.h"

static void setup_types(void)
{
	thash_setup(sha1);
	tset_setup(sha1);
	tzset_setup(sha1);
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

Test(crc64, check_value)
{
	cr_assert_eq(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
	/* incremental = one shot */
	cr_assert_eq(crc64(crc64(0, "1234", 4), "56789", 5), 0xe9c6d914c4b8d9caULL);
	cr_assert_eq(crc64(0, "", 0), 0);
	cr_assert_eq(crc64_bytewise(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
}

/* Redis's crc64.c self-test vector: the text with its terminating NUL. */
Test(crc64, lorem_vector)
{
	static const char li[] =
	    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
	    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
	    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute "
	    "irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla "
	    "pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia "
	    "deserunt mollit anim id est laborum.";

	cr_assert_eq(crc64(0, li, sizeof(li)), 0xc7794709e69683b3ULL);
	cr_assert_eq(crc64_bytewise(0, li, sizeof(li)), 0xc7794709e69683b3ULL);
}

/* The eight-byte steps against the bytewise reference: every length 0..300,
 * every start offset 0..7 (unaligned loads), and every split point of an
 * incremental computation (a tail of 1..7 bytes then 8-byte steps again). */
Test(crc64, sliced_matches_bytewise)
{
	unsigned char buf[320];
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	for (size_t at = 0; at < 8; at++)
		for (size_t n = 0; n + at <= 300; n++)
			cr_assert_eq(crc64(0, buf + at, n), crc64_bytewise(0, buf + at, n),
				     "offset %zu length %zu", at, n);
	for (size_t cut = 0; cut <= 300; cut++)
		cr_assert_eq(crc64(crc64(0x1234, buf, cut), buf + cut, 300 - cut),
			     crc64_bytewise(0x1234, buf, 300), "split at %zu", cut);
}

/* Long buffers (folded with carry-less multiplies where the CPU has them,
 * persist/crc64.c) against the bytewise reference: every length up to 4 KB
 * past the fold's threshold (every tail after the 64-byte and 16-byte
 * steps), unaligned starts, CRCs continued from random values, and one
 * 1 MB buffer, the size the RDB writer hands over. */
Test(crc64, long_buffers_match_bytewise)
{
	size_t big = 1u << 20;
	unsigned char *buf = malloc(big);
	uint64_t x = 0x2545f4914f6cdd1dULL;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < big; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	for (size_t n = 100; n <= 4200; n++) {
		size_t at = n % 16;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		cr_assert_eq(crc64(x, buf + at, n), crc64_bytewise(x, buf + at, n),
			     "offset %zu length %zu", at, n);
	}
	cr_assert_eq(crc64(0, buf, big), crc64_bytewise(0, buf, big));
	cr_assert_eq(crc64(crc64(7, buf, 333333), buf + 333333, big - 333333),
		     crc64_bytewise(7, buf, big));
	free(buf);
}

/* Decodes p[0..n) as key k: the entry or NULL (the error in *err). */
static struct kv_entry *decode(const void *p, size_t n, enum rdb_err *err)
{
	struct kv_entry *e = NULL;
	size_t used;

	*err = rdb_value_decode(db_coll_ctx(&view), p, n, "k", 1, 0, &e, &used);
	if (*err == RDB_OK)
		cr_assert_leq(used, n);
	return e;
}

/* Publishes e under "k" (dropping what was there), so its trees are owned. */
static const struct kv_entry *publish(struct kv_entry *e)
{
	const struct kv_entry *old = db_lookup(&view, "k", 1, 0, NULL, 0);

	cr_assert_eq(db_put(&view, old, e), 0);
	return db_lookup(&view, "k", 1, 0, NULL, 0);
}

static void encode(const struct kv_entry *e, struct rdb_buf *b)
{
	rdb_buf_init(b);
	rdb_value_encode(b, e, true);
}

static void digest(const struct kv_entry *e, unsigned char out[20])
{
	memset(out, 0, 20);
	if (kv_entry_type(e) == KV_STRING)
		sha1(kv_entry_val(e), e->vlen, out);
	else
		coll_ops(kv_entry_type(e))->digest(e, out);
}

/* Every prefix of b (shorter than what the value needs) and a sweep of
 * single-byte flips: no crash, no overread, no entry from a truncation. */
static void abuse(const struct rdb_buf *b)
{
	enum rdb_err err;
	struct kv_entry *e;
	unsigned char *copy = malloc(b->len);

	/* every prefix of a small payload; of a large one the first 256 and
	 * about 200 more spread over it */
	size_t step = b->len > 4096 ? b->len / 200 : 1;

	for (size_t n = 0; n < b->len; n = n < 256 ? n + 1 : n + step) {
		memcpy(copy, b->p, n);
		e = decode(copy, n, &err);
		cr_assert_null(e, "a %zu-byte prefix of %zu decoded", n, b->len);
		cr_assert_neq(err, RDB_OK);
		coll_ctx_abort(db_coll_ctx(&view));
	}
	step = b->len > 400 ? b->len / 400 : 1;
	for (size_t i = 0; i < b->len; i += step) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(copy, b->p, b->len);
			copy[i] ^= (unsigned char)(1 << bit);
			e = decode(copy, b->len, &err);
			if (e)
				kv_entry_free(e);
			coll_ctx_abort(db_coll_ctx(&view));
		}
	}
	free(copy);
}

/* Round trip of a published entry: type byte, decode gives the same
 * content in encoding want_enc (-1: a string), and re-encoding is stable. */
static void round_trip(const struct kv_entry *e, int want_type, int want_enc)
{
	struct rdb_buf b, b2;
	enum rdb_err err;
	unsigned char d1[20], d2[20];
	struct kv_entry *x;
	const struct kv_entry *y;

	digest(e, d1);
	encode(e, &b);
	cr_assert_eq(b.p[0], want_type, "type byte %d, want %d", b.p[0], want_type);
	x = decode(b.p, b.len, &err);
	cr_assert_not_null(x, "decode failed: %d", err);
	y = publish(x);
	digest(y, d2);
	cr_assert_arr_eq(d1, d2, 20);
	if (want_enc >= 0)
		cr_assert_eq(coll_entry_enc(y), (enum coll_enc)want_enc);
	encode(y, &b2);
	cr_assert_eq(b.len, b2.len);
	cr_assert_arr_eq(b.p, b2.p, b.len);
	abuse(&b);
	rdb_buf_free(&b);
	rdb_buf_free(&b2);
}

/* The entry a payload decodes to, published. */
static const struct kv_entry *load(const void *p, size_t n)
{
	enum rdb_err err;
	struct kv_entry *e = decode(p, n, &err);

	cr_assert_not_null(e, "decode failed: %d", err);
	return publish(e);
}

static void put_str(struct rdb_buf *b, const char *s)
{
	rdb_put_len(b, strlen(s));
	rdb_buf_put(b, s, strlen(s));
}

static void expect_string_bytes(const char *s, const void *want, size_t n)
{
	struct rdb_buf b;

	rdb_buf_init(&b);
	rdb_put_string(&b, s, strlen(s), true);
	cr_assert_eq(b.len, n, "'%s': %zu bytes, want %zu", s, b.len, n);
	cr_assert_arr_eq(b.p, want, n, "'%s' encodes differently", s);
	rdb_buf_free(&b);
}

Test(rdb, string_encodings, .init = init, .fini = fini)
{
	expect_string_bytes("123", "\xc0\x7b", 2);
	expect_string_bytes("-128", "\xc0\x80", 2);
	expect_string_bytes("1000", "\xc1\xe8\x03", 3);
	expect_string_bytes("100000", "\xc2\xa0\x86\x01\x00", 5);
	expect_string_bytes("-2147483648", "\xc2\x00\x00\x00\x80", 5);
	/* not canonical, or beyond 32 bits: raw */
	expect_string_bytes("007",
			    "\x03"
			    "007",
			    4);
	expect_string_bytes("2147483648",
			    "\x0a"
			    "2147483648",
			    11);
	expect_string_bytes("", "\x00", 1);
	/* 14-bit length */
	{
		char s[101];
		struct rdb_buf b;

		for (int i = 0; i < 100; i++)
			s[i] = (char)('!' + (i * 37) % 90);
		s[100] = '\0';
		rdb_buf_init(&b);
		rdb_put_string(&b, s, 100, false);
		cr_assert_eq(b.len, 102);
		cr_assert_eq(b.p[0], 0x40);
		cr_assert_eq(b.p[1], 100);
		rdb_buf_free(&b);
	}
	/* LZF: 0xc3, compressed length, length, data */
	{
		char s[200];
		struct rdb_buf b;

		memset(s, 'a', sizeof(s));
		rdb_buf_init(&b);
		rdb_put_string(&b, s, sizeof(s), true);
		cr_assert_eq(b.p[0], 0xc3);
		cr_assert_lt(b.len, 20);
		rdb_buf_free(&b);
	}
}

/* rdbSaveRawString as Redis 7.0 writes it: an LZF attempt on every string
 * over 20 bytes (kept if it saves 4 bytes), else the raw form; no integer
 * forms (the strings below are never decimal integers). */
static void reference_string(struct rdb_buf *b, const unsigned char *s, size_t n)
{
	unsigned char out[600];
	unsigned int clen =
	    n > 20 ? lzf_compress(s, (unsigned int)n, out, (unsigned int)(n - 4)) : 0;

	if (clen) {
		unsigned char c = 0xc3;

		rdb_buf_put(b, &c, 1);
		rdb_put_len(b, clen);
		rdb_put_len(b, n);
		rdb_buf_put(b, out, clen);
	} else {
		rdb_put_len(b, n);
		rdb_buf_put(b, s, n);
	}
}

/* The encoder skips LZF attempts that cannot succeed (a string with no
 * repeated 3-byte sequence): the bytes must be those of an attempt on
 * every string, for strings that repeat one and strings that do not, over
 * alphabets from 2 to 256 symbols, at the lengths the check covers and
 * past them. */
Test(rdb, lzf_skip_writes_the_same_bytes, .init = init, .fini = fini)
{
	static const unsigned alphabets[] = {2, 4, 16, 62, 200, 256};
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	unsigned char s[520];
	size_t lzf = 0, raw = 0;

	for (size_t a = 0; a < sizeof(alphabets) / sizeof(alphabets[0]); a++) {
		for (size_t n = 21; n <= sizeof(s); n += n < 300 ? 1 : 37) {
			for (int rep = 0; rep < 4; rep++) {
				struct rdb_buf got, want;

				for (size_t i = 0; i < n; i++) {
					x ^= x << 13, x ^= x >> 7, x ^= x << 17;
					s[i] = (unsigned char)('0' + x % alphabets[a]);
				}
				if (rep == 3) /* one repeated run: compressible at any size */
					memcpy(s + n / 2, s, n / 2 < 12 ? n / 2 : 12);
				rdb_buf_init(&got);
				rdb_buf_init(&want);
				rdb_put_string(&got, s, n, true);
				reference_string(&want, s, n);
				cr_assert_eq(got.len, want.len,
					     "alphabet %u, %zu bytes: %zu, want %zu", alphabets[a],
					     n, got.len, want.len);
				cr_assert_arr_eq(got.p, want.p, got.len,
						 "alphabet %u, %zu bytes: other bytes",
						 alphabets[a], n);
				if (got.p[0] == 0xc3)
					lzf++;
				else
					raw++;
				rdb_buf_free(&got);
				rdb_buf_free(&want);
			}
		}
	}
	/* both outcomes were exercised */
	cr_assert_gt(lzf, 100);
	cr_assert_gt(raw, 100);
}

Test(rdb, strings_round_trip, .init = init, .fini = fini)
{
	const char *vals[] = {
	    "",
	    "x",
	    "123",
	    "-7",
	    "12345678901",
	    "hello world, this is long",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct kv_entry *e = kv_entry_new("k", 1, vals[i], strlen(vals[i]), 0);

		round_trip(publish(e), RDB_TYPE_STRING, -1);
	}
}

/* A set payload (type 2) of n members "prefix<i>". */
static void set_payload(struct rdb_buf *b, int n, const char *prefix)
{
	char m[64];

	rdb_buf_init(b);
	rdb_buf_put(b, "\x02", 1);
	rdb_put_len(b, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		snprintf(m, sizeof(m), "%s%d", prefix, i * 7 - 3);
		put_str(b, m);
	}
}

Test(rdb, sets, .init = init, .fini = fini)
{
	struct rdb_buf b;

	set_payload(&b, 10, "");
	round_trip(load(b.p, b.len), RDB_TYPE_SET_INTSET, COLL_INTSET);
	rdb_buf_free(&b);
	set_payload(&b, 600, ""); /* past set-max-intset-entries */
	round_trip(load(b.p, b.len), RDB_TYPE_SET, COLL_HASHTABLE);
	rdb_buf_free(&b);
	set_payload(&b, 5, "m");
	round_trip(load(b.p, b.len), RDB_TYPE_SET, COLL_HASHTABLE);
	rdb_buf_free(&b);
	/* the intset blob is Redis's: width, count, ascending little-endian */
	set_payload(&b, 2, "");
	{
		const struct kv_entry *e = load(b.p, b.len);
		struct rdb_buf o;

		encode(e, &o);
		cr_assert_eq(o.len, 2 + 8 + 4);
		cr_assert_arr_eq(o.p, "\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\xfd\xff\x04\x00",
				 14);
		rdb_buf_free(&o);
	}
	rdb_buf_free(&b);
}

static void hash_payload(struct rdb_buf *b, int n, size_t vlen)
{
	char f[32], v[256];

	rdb_buf_init(b);
	rdb_buf_put(b, "\x04", 1);
	rdb_put_len(b, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		memset(v, 'a' + i % 26, vlen);
		v[vlen] = '\0';
		if (i % 3 == 0)
			snprintf(v, sizeof(v), "%d", i * 1000 - 50000);
		put_str(b, f);
		put_str(b, v);
	}
}

Test(rdb, hashes, .init = init, .fini = fini)
{
	struct rdb_buf b;

	hash_payload(&b, 20, 10);
	round_trip(load(b.p, b.len), RDB_TYPE_HASH_LISTPACK, COLL_LISTPACK);
	rdb_buf_free(&b);
	hash_payload(&b, 600, 10);
	round_trip(load(b.p, b.len), RDB_TYPE_HASH, COLL_HASHTABLE);
	rdb_buf_free(&b);
	hash_payload(&b, 4, 100); /* a value past hash-max-listpack-value */
	round_trip(load(b.p, b.len), RDB_TYPE_HASH, COLL_HASHTABLE);
	rdb_buf_free(&b);
}

static void zset_payload(struct rdb_buf *b, int n)
{
	char m[32];

	rdb_buf_init(b);
	rdb_buf_put(b, "\x05", 1);
	rdb_put_len(b, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		double s = i % 4 == 0 ? i : i % 4 == 1 ? -i * 0.25 : i % 4 == 2 ? 1e300 : 1.0 / 3;
		unsigned char d[8];

		snprintf(m, sizeof(m), "m%d", i);
		put_str(b, m);
		memcpy(d, &s, 8);
		rdb_buf_put(b, d, 8);
	}
}

Test(rdb, zsets, .init = init, .fini = fini)
{
	struct rdb_buf b;

	zset_payload(&b, 30);
	round_trip(load(b.p, b.len), RDB_TYPE_ZSET_LISTPACK, COLL_LISTPACK);
	rdb_buf_free(&b);
	zset_payload(&b, 300);
	round_trip(load(b.p, b.len), RDB_TYPE_ZSET_2, COLL_SKIPLIST);
	rdb_buf_free(&b);
}

static void list_payload(struct rdb_buf *b, int n, size_t len)
{
	char v[512];

	rdb_buf_init(b);
	rdb_buf_put(b, "\x01", 1); /* the old list of strings */
	rdb_put_len(b, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		if (i % 5 == 0) {
			snprintf(v, sizeof(v), "%d", i * 100003 - 7);
		} else {
			memset(v, 'a' + i % 26, len);
			v[len] = '\0';
		}
		put_str(b, v);
	}
}

Test(rdb, lists, .init = init, .fini = fini)
{
	struct rdb_buf b;

	list_payload(&b, 10, 10);
	round_trip(load(b.p, b.len), RDB_TYPE_LIST_QUICKLIST_2, COLL_QUICKLIST);
	rdb_buf_free(&b);
	list_payload(&b, 2000, 100); /* many quicklist nodes */
	round_trip(load(b.p, b.len), RDB_TYPE_LIST_QUICKLIST_2, COLL_QUICKLIST_BIG);
	rdb_buf_free(&b);
}

Test(rdb, refused, .init = init, .fini = fini)
{
	static const struct {
		const char *p;
		size_t n;
	} bad[] = {
	    {"", 0},
	    {"\x63", 1},     /* unknown type */
	    {"\x02\x00", 2}, /* empty set */
	    {"\x02\x02\x01"
	     "a"
	     "\x01"
	     "a",
	     7}, /* duplicate member */
	    {"\x04\x01\x01"
	     "a",
	     4},					 /* hash pair cut */
	    {"\x0b\x04\x01\x00\x00\x00", 6},		 /* intset too short */
	    {"\x00\xc3\x05\x64\x00\x00\x00\x00\x00", 9}, /* LZF claiming too much */
	    {"\x00\xc4", 2},				 /* no such encoding */
	    {"\x00\x82\x00\x00\x00\x01", 6},		 /* no such length form */
	    {"\x0f\x00", 2},				 /* a stream */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum rdb_err err;
		struct kv_entry *e = decode(bad[i].p, bad[i].n, &err);

		cr_assert_null(e, "case %zu decoded", i);
		cr_assert_neq(err, RDB_OK);
		coll_ctx_abort(db_coll_ctx(&view));
	}
	{
		enum rdb_err err;

		cr_assert_null(decode("\x0f\x00", 2, &err));
		cr_assert_eq(err, RDB_EUNSUPPORTED);
	}
	/* an intset out of order */
	{
		static const unsigned char p[] = {0x0b, 12, 2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 4, 0};
		enum rdb_err err;

		cr_assert_null(decode(p, sizeof(p), &err));
	}
}

Test(rdb, dump_framing, .init = init, .fini = fini)
{
	struct kv_entry *e = kv_entry_new("k", 1, "hello", 5, 0);
	const struct kv_entry *p = publish(e);
	struct rdb_buf b;
	size_t vlen;

	rdb_buf_init(&b);
	rdb_dump_payload(&b, p);
	/* what redis-server 7.0.15 answers to DUMP of "hello" */
	cr_assert_eq(b.len, 17);
	cr_assert_arr_eq(b.p, "\x00\x05hello\x0a\x00", 9);
	cr_assert(rdb_dump_verify(b.p, b.len, &vlen));
	cr_assert_eq(vlen, 7);
	b.p[3] ^= 1;
	cr_assert(!rdb_dump_verify(b.p, b.len, &vlen));
	b.p[3] ^= 1;
	b.p[7] = 11; /* a newer RDB version */
	cr_assert(!rdb_dump_verify(b.p, b.len, &vlen));
	cr_assert(!rdb_dump_verify(b.p, 9, &vlen));
	rdb_buf_free(&b);
}

/* A ziplist of el[0..n): small integers as the immediate form (0..12) or
 * int8, everything else as a 6-bit string; one-byte prevlens. */
static size_t zl_make(unsigned char *out, const char *const *el, int n)
{
	size_t pos = 10, prev = 0, last = 10;

	for (int i = 0; i < n; i++) {
		size_t start = pos, len = strlen(el[i]);
		long long v;

		out[pos++] = (unsigned char)prev;
		if (tset_str2ll(el[i], len, &v) && v >= 0 && v <= 12) {
			out[pos++] = (unsigned char)(0xf1 + v);
		} else if (tset_str2ll(el[i], len, &v) && v >= -128 && v <= 127) {
			out[pos++] = 0xfe;
			out[pos++] = (unsigned char)(int8_t)v;
		} else {
			out[pos++] = (unsigned char)len;
			memcpy(out + pos, el[i], len);
			pos += len;
		}
		prev = pos - start;
		last = start;
	}
	out[pos++] = 0xff;
	for (int i = 0; i < 4; i++) {
		out[i] = (unsigned char)(pos >> (8 * i));
		out[4 + i] = (unsigned char)(last >> (8 * i));
	}
	out[8] = (unsigned char)n;
	out[9] = 0;
	return pos;
}

/* type byte + one string holding blob[0..n) */
static void wrap(struct rdb_buf *b, unsigned char type, const void *blob, size_t n)
{
	rdb_buf_init(b);
	rdb_buf_put(b, &type, 1);
	rdb_put_len(b, n);
	rdb_buf_put(b, blob, n);
}

static void abuse_and_free(struct rdb_buf *b)
{
	abuse(b);
	rdb_buf_free(b);
}

Test(rdb, old_forms, .init = init, .fini = fini)
{
	static const char *const hash[] = {"a", "1", "bb", "xyz", "c", "-100", "d", "12"};
	static const char *const zset[] = {"m", "1.5", "n", "7", "o", "-3"};
	static const char *const list[] = {"x", "0", "yy", "-5", "zzz"};
	unsigned char zl[256];
	struct rdb_buf b;
	const struct kv_entry *e;
	const char *v;
	size_t vlen;
	double score;

	/* 13: hash ziplist */
	wrap(&b, RDB_TYPE_HASH_ZIPLIST, zl, zl_make(zl, hash, 8));
	e = load(b.p, b.len);
	cr_assert_eq(kv_entry_type(e), KV_HASH);
	cr_assert_eq(coll_entry_enc(e), COLL_LISTPACK);
	cr_assert_eq(thash_count(e), 4);
	cr_assert(thash_get(e, "c", 1, &v, &vlen) && vlen == 4 && memcmp(v, "-100", 4) == 0);
	cr_assert(thash_get(e, "d", 1, &v, &vlen) && vlen == 2 && memcmp(v, "12", 2) == 0);
	abuse_and_free(&b);
	/* 12: zset ziplist */
	wrap(&b, RDB_TYPE_ZSET_ZIPLIST, zl, zl_make(zl, zset, 6));
	e = load(b.p, b.len);
	cr_assert_eq(kv_entry_type(e), KV_ZSET);
	cr_assert(tzset_score(e, "m", 1, &score) && score == 1.5);
	cr_assert(tzset_score(e, "o", 1, &score) && score == -3);
	abuse_and_free(&b);
	/* 10: list ziplist */
	wrap(&b, RDB_TYPE_LIST_ZIPLIST, zl, zl_make(zl, list, 5));
	e = load(b.p, b.len);
	cr_assert_eq(tlist_len(e), 5);
	cr_assert(tlist_index(e, 3, &v, &vlen) && vlen == 2 && memcmp(v, "-5", 2) == 0);
	abuse_and_free(&b);
	/* 14: quicklist of ziplists (an empty one skipped) */
	{
		size_t n1 = zl_make(zl, list, 5), n0;
		unsigned char empty[16];

		n0 = zl_make(empty, list, 0);
		rdb_buf_init(&b);
		rdb_buf_put(&b, "\x0e\x03", 2);
		for (int i = 0; i < 2; i++) {
			rdb_put_len(&b, n1);
			rdb_buf_put(&b, zl, n1);
		}
		rdb_put_len(&b, n0);
		rdb_buf_put(&b, empty, n0);
		e = load(b.p, b.len);
		cr_assert_eq(tlist_len(e), 10);
		cr_assert(tlist_index(e, 9, &v, &vlen) && vlen == 3 && memcmp(v, "zzz", 3) == 0);
		abuse_and_free(&b);
	}
	/* 9: zipmap: zmlen, (len key len free value pad)..., end */
	{
		static const unsigned char zm[] = {2, 1, 'a', 1,   0,	'v', 2,	  'b', 'c',
						   3, 2, 'w', 'x', 'y', '!', '!', 0xff};

		wrap(&b, RDB_TYPE_HASH_ZIPMAP, zm, sizeof(zm));
		e = load(b.p, b.len);
		cr_assert_eq(thash_count(e), 2);
		cr_assert(thash_get(e, "bc", 2, &v, &vlen) && vlen == 3 &&
			  memcmp(v, "wxy", 3) == 0);
		abuse_and_free(&b);
	}
	/* a ziplist whose tail offset or prevlen lies is refused */
	{
		size_t n = zl_make(zl, list, 5);
		enum rdb_err err;

		zl[4]++;
		wrap(&b, RDB_TYPE_LIST_ZIPLIST, zl, n);
		cr_assert_null(decode(b.p, b.len, &err));
		rdb_buf_free(&b);
		zl[4]--;
		zl[10 + 2 + 1]++; /* the second entry's prevlen */
		wrap(&b, RDB_TYPE_LIST_ZIPLIST, zl, n);
		cr_assert_null(decode(b.p, b.len, &err));
		rdb_buf_free(&b);
	}
}
