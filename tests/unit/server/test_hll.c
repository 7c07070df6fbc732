/*
 * test_hll.c — server/hll.c against Redis 7.0.15's HyperLogLog.
 *
 * The hash vectors come from an independent MurmurHash64A (the Python one in
 * tests/integration/py/test_diff_hll.py); the DECODE text and the estimate of
 * e0..e999 were read from redis-server 7.0.15 (PFDEBUG DECODE, PFCOUNT).
 */
#include "server/hll.h"
#include "concurrency/mem.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define SPARSE_MAX 3000

static const uint8_t empty_hll[HLL_EMPTY_SIZE] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0,    0,
						  0,   0,   0,	 0,   0, 0, 0, 0x7f, 0xff};

static uint64_t test_rand(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void add_str(struct hll_buf *b, const char *s, long long max)
{
	cr_assert_geq(hll_add(b, s, strlen(s), max), 0);
}

/* every register of an HLL, through the merge into zeroed bytes */
static void registers(const struct hll_buf *b, uint8_t *max)
{
	memset(max, 0, HLL_REGISTERS);
	cr_assert_eq(hll_merge(max, b->p, b->len), 0);
}

Test(hll, murmur_vectors)
{
	cr_assert_eq(hll_murmur64a("", 0, 0xadc83b19), 0xd8dfea6585bc9732ULL);
	cr_assert_eq(hll_murmur64a("a", 1, 0xadc83b19), 0x53d2470a9b43b1a7ULL);
	cr_assert_eq(hll_murmur64a("hello", 5, 0xadc83b19), 0x0f656f01eecfe400ULL);
	cr_assert_eq(hll_murmur64a("12345678", 8, 0xadc83b19), 0x95ebb86389132953ULL);
	cr_assert_eq(hll_murmur64a("123456789abcdef", 15, 0xadc83b19), 0x0a295e5895af07b9ULL);
}

Test(hll, empty_is_redis_bytes)
{
	struct hll_buf b;

	hll_buf_init(&b, NULL, 0);
	cr_assert_eq(b.len, HLL_EMPTY_SIZE);
	cr_assert_arr_eq(b.p, empty_hll, HLL_EMPTY_SIZE);
	cr_assert(hll_is_valid(b.p, b.len));
	cr_assert(hll_cache_valid(b.p));
	bool invalid = false;
	cr_assert_eq(hll_count(b.p, b.len, &invalid), 0);
	cr_assert(!invalid);
	hll_buf_free(&b);
}

Test(hll, decode_matches_redis)
{
	struct hll_buf b;
	size_t n;

	hll_buf_init(&b, NULL, 0);
	add_str(&b, "a", SPARSE_MAX);
	add_str(&b, "b", SPARSE_MAX);
	add_str(&b, "c", SPARSE_MAX);
	char *s = hll_decode(b.p, b.len, &n);
	cr_assert_str_eq(s, "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
	cr_assert_eq(n, strlen(s));
	mem_free(s);
	cr_assert(!hll_cache_valid(b.p));
	cr_assert_eq(hll_count(b.p, b.len, NULL), 3);
	hll_buf_free(&b);
}

Test(hll, estimate_matches_redis)
{
	struct hll_buf b;
	char e[16];

	hll_buf_init(&b, NULL, 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(e, sizeof(e), "e%d", i);
		add_str(&b, e, SPARSE_MAX);
	}
	cr_assert_eq(hll_count(b.p, b.len, NULL), 1008);
	hll_buf_free(&b);
}

Test(hll, dense_registers_are_independent)
{
	uint8_t *regs = mem_calloc(1, HLL_DENSE_SIZE - HLL_HDR_SIZE);

	for (unsigned i = 0; i < HLL_REGISTERS; i++)
		hll_dense_set(regs, i, (i * 7 + 3) & HLL_REGISTER_MAX);
	for (unsigned i = 0; i < HLL_REGISTERS; i++)
		cr_assert_eq(hll_dense_get(regs, i), (i * 7 + 3) & HLL_REGISTER_MAX, "reg %u", i);
	hll_dense_set(regs, 5, 0);
	cr_assert_eq(hll_dense_get(regs, 4), (4 * 7 + 3) & HLL_REGISTER_MAX);
	cr_assert_eq(hll_dense_get(regs, 6), (6 * 7 + 3) & HLL_REGISTER_MAX);
	mem_free(regs);
}

/* sparse and dense fed the same elements hold the same registers and
 * estimate the same; the sparse one turns dense past the limit */
Test(hll, sparse_and_dense_agree)
{
	struct hll_buf s, d;
	uint8_t *ms = mem_alloc(HLL_REGISTERS), *md = mem_alloc(HLL_REGISTERS);
	char e[32];

	hll_buf_init(&s, NULL, 0);
	hll_buf_init(&d, NULL, 0);
	cr_assert_eq(hll_to_dense(&d), 0);
	cr_assert_eq(d.len, HLL_DENSE_SIZE);
	for (int i = 0; i < 5000; i++) {
		snprintf(e, sizeof(e), "x%d", i);
		add_str(&s, e, SPARSE_MAX);
		add_str(&d, e, SPARSE_MAX);
		if (i % 97 == 0 || i == 4999) {
			registers(&s, ms);
			registers(&d, md);
			cr_assert_arr_eq(ms, md, HLL_REGISTERS, "after %d", i);
			cr_assert_eq(hll_count(s.p, s.len, NULL), hll_count(d.p, d.len, NULL));
			if (s.p[4] == HLL_ENC_SPARSE)
				cr_assert_leq(s.len, SPARSE_MAX);
		}
	}
	cr_assert_eq(s.p[4], HLL_ENC_DENSE);
	cr_assert_eq(hll_count_raw(md), hll_count(d.p, d.len, NULL));
	hll_buf_free(&s);
	hll_buf_free(&d);
	mem_free(ms);
	mem_free(md);
}

Test(hll, small_limit_promotes_early)
{
	struct hll_buf b;

	hll_buf_init(&b, NULL, 0);
	add_str(&b, "a", 0); /* the XZERO split grows it past 0 bytes */
	cr_assert_eq(b.p[4], HLL_ENC_DENSE);
	cr_assert_eq(hll_count(b.p, b.len, NULL), 1);
	hll_buf_free(&b);
}

Test(hll, would_change_is_exact)
{
	struct hll_buf b;
	char e[16];

	hll_buf_init(&b, NULL, 0);
	for (int i = 0; i < 300; i++) {
		snprintf(e, sizeof(e), "w%d", i % 150);
		int will = hll_would_change(b.p, b.len, e, strlen(e));
		cr_assert_eq(hll_add(&b, e, strlen(e), SPARSE_MAX), will, "element %s", e);
	}
	hll_buf_free(&b);
}

static uint8_t *sparse_of(const uint8_t *ops, size_t n, size_t *len)
{
	uint8_t *p = mem_alloc(HLL_HDR_SIZE + n + 1);

	memcpy(p, empty_hll, HLL_HDR_SIZE);
	memcpy(p + HLL_HDR_SIZE, ops, n);
	*len = HLL_HDR_SIZE + n;
	return p;
}

/* payloads that do not describe exactly 16384 registers */
Test(hll, corrupt_sparse_is_reported)
{
	static const uint8_t short_xzero[] = {0x7f, 0xfe};	/* 16383 */
	static const uint8_t long_xzero[] = {0x7f, 0xff, 0x00}; /* 16385 */
	static const uint8_t val_over[] = {0x7f, 0xff, 0x80};	/* VAL past the end */
	static const uint8_t half_xzero[] = {0x7f};		/* reads a 0 past the end */
	const struct {
		const uint8_t *ops;
		size_t n;
	} cases[] = {
	    {short_xzero, 2}, {long_xzero, 3}, {val_over, 3}, {half_xzero, 1}, {short_xzero, 0}};
	uint8_t *max = mem_calloc(1, HLL_REGISTERS);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		uint8_t *p = sparse_of(cases[i].ops, cases[i].n, &len);
		struct hll_buf b;
		bool invalid = false;

		cr_assert(hll_is_valid(p, len));
		hll_count(p, len, &invalid);
		cr_assert(invalid, "case %zu", i);
		cr_assert_eq(hll_merge(max, p, len), -1, "case %zu", i);
		hll_buf_init(&b, p, len);
		cr_assert_eq(hll_to_dense(&b), -1, "case %zu", i);
		cr_assert_eq(b.len, len); /* unchanged */
		hll_buf_free(&b);
		mem_free(p);
	}
	mem_free(max);
}

Test(hll, not_an_hll)
{
	uint8_t dense[HLL_DENSE_SIZE] = {'H', 'Y', 'L', 'L', 0};

	cr_assert(!hll_is_valid("HYLL", 4));
	cr_assert(!hll_is_valid("hello world, not an hll", 23));
	cr_assert(hll_is_valid(dense, sizeof(dense)));
	cr_assert(!hll_is_valid(dense, sizeof(dense) - 1));
	dense[4] = 2;
	cr_assert(!hll_is_valid(dense, sizeof(dense)));
}

Test(hll, cache_round_trip)
{
	uint8_t h[HLL_EMPTY_SIZE];

	memcpy(h, empty_hll, sizeof(h));
	hll_cache_set(h, 0x0102030405060708ULL);
	cr_assert(hll_cache_valid(h));
	cr_assert_eq(hll_cache_get(h), 0x0102030405060708ULL);
	cr_assert_eq(h[8], 0x08);
	hll_cache_invalidate(h);
	cr_assert(!hll_cache_valid(h));
}

Test(hll, selftest_passes, .timeout = 60)
{
	uint64_t seed = 88172645463325252ULL;
	char buf[128];

	cr_assert_null(hll_selftest(test_rand, &seed, SPARSE_MAX, buf, sizeof(buf)));
}

/* A random valid sparse payload of every opcode kind, XZEROs of any length
 * and at any alignment (not the canonical form Redis writes, which the
 * commands must read all the same). */
static size_t random_sparse(uint8_t *out, uint64_t *s)
{
	size_t n = 0;
	unsigned left = HLL_REGISTERS;

	while (left) {
		unsigned kind = (unsigned)(test_rand(s) % 3), len;

		if (kind == 0) {
			len = 1 + (unsigned)(test_rand(s) % 64);
			len = len > left ? left : len;
			out[n++] = (uint8_t)(len - 1);
		} else if (kind == 1) {
			len = 1 + (unsigned)(test_rand(s) % (test_rand(s) & 1 ? 300 : 4));
			len = len > left ? left : len;
			out[n++] = (uint8_t)(0x40 | ((len - 1) >> 8));
			out[n++] = (uint8_t)((len - 1) & 0xff);
		} else {
			len = 1 + (unsigned)(test_rand(s) % 4);
			len = len > left ? left : len;
			out[n++] = (uint8_t)(0x80 | ((test_rand(s) % 32) << 2) | (len - 1));
		}
		left -= len;
	}
	return n;
}

/* PFADD's read-only test on a sparse payload (the 8-byte chunked walk)
 * against the same registers in dense form */
Test(hll, would_change_sparse_walk)
{
	uint64_t seed = 12345;
	uint8_t *ops = mem_alloc(2 * HLL_REGISTERS);
	char e[16];

	for (int round = 0; round < 40; round++) {
		size_t n = round == 0 ? 0 : random_sparse(ops, &seed), len;

		if (round == 0) /* XZEROs of one register at odd offsets */
			for (ops[n++] = 0; n < 2 * HLL_REGISTERS - 1; n += 2)
				ops[n] = 0x40, ops[n + 1] = 0;
		uint8_t *p = sparse_of(ops, n, &len);
		struct hll_buf d;

		hll_buf_init(&d, p, len);
		cr_assert_eq(hll_to_dense(&d), 0, "round %d", round);
		for (int i = 0; i < 3000; i++) {
			snprintf(e, sizeof(e), "s%d", i);
			cr_assert_eq(hll_would_change(p, len, e, strlen(e)),
				     hll_would_change(d.p, d.len, e, strlen(e)),
				     "round %d element %s", round, e);
		}
		hll_buf_free(&d);
		mem_free(p);
	}
	mem_free(ops);
}
