/*
 * hll.c — HyperLogLog on byte buffers, Redis 7.0's representation and
 * algorithms (see hll.h for the layout). The sparse update follows Redis's
 * hllSparseSet step for step — find the opcode covering the register, split
 * it into at most three opcodes, merge equal neighbouring VALs in a window of
 * five opcodes from the one before — because the bytes it leaves are what
 * GET returns, and they must be Redis's. Any other way to the same registers
 * could leave a different (equally valid) code.
 */
#include "server/hll.h"

#include "concurrency/mem.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SEED 0xadc83b19ULL

/* Sparse opcodes */
#define SP_XZERO_BIT	0x40
#define SP_VAL_BIT	0x80
#define SP_VAL_MAX	32
#define SP_VAL_MAX_LEN	4
#define SP_ZERO_MAX_LEN 64
#define SP_XZERO_MAX	16384

/* 0.5 / ln(2): the estimator's constant at infinity */
#define HLL_ALPHA_INF 0.721347520444481703680

static inline bool op_is_zero(uint8_t b)
{
	return (b & 0xc0) == 0;
}
static inline bool op_is_xzero(uint8_t b)
{
	return (b & 0xc0) == SP_XZERO_BIT;
}
static inline bool op_is_val(uint8_t b)
{
	return (b & SP_VAL_BIT) != 0;
}
static inline unsigned zero_len(uint8_t b)
{
	return (b & 0x3fu) + 1;
}
/* b1 is the second byte, or 0 past the end (Redis reads its sds NUL) */
static inline unsigned xzero_len(uint8_t b0, uint8_t b1)
{
	return (((b0 & 0x3fu) << 8) | b1) + 1;
}
static inline unsigned val_value(uint8_t b)
{
	return ((b >> 2) & 0x1fu) + 1;
}
static inline unsigned val_len(uint8_t b)
{
	return (b & 0x3u) + 1;
}
static inline uint8_t val_op(unsigned v, unsigned len)
{
	return (uint8_t)(((v - 1) << 2) | (len - 1) | SP_VAL_BIT);
}
/* writes ZERO or XZERO for len zero registers; returns the bytes written */
static size_t zero_op(uint8_t *p, unsigned len)
{
	if (len > SP_ZERO_MAX_LEN) {
		p[0] = (uint8_t)(((len - 1) >> 8) | SP_XZERO_BIT);
		p[1] = (uint8_t)((len - 1) & 0xff);
		return 2;
	}
	p[0] = (uint8_t)(len - 1);
	return 1;
}

/* The byte at p if before end, else the NUL Redis's sds has there. */
static inline uint8_t byte_or0(const uint8_t *p, const uint8_t *end)
{
	return p < end ? *p : 0;
}

uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed)
{
	const uint64_t m = 0xc6a4a7935bd1e995ULL;
	const int r = 47;
	/* Redis takes the length as an int: the same truncation */
	int ilen = (int)len;
	uint64_t h = seed ^ ((uint64_t)(int64_t)ilen * m);
	const uint8_t *data = key;
	size_t n = (size_t)(unsigned)ilen;
	const uint8_t *end = data + (n - (n & 7));

	while (data != end) {
		uint64_t k;

		memcpy(&k, data, sizeof(k)); /* little endian, as Redis on x86/arm */
		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
		data += 8;
	}
	switch (n & 7) {
	case 7:
		h ^= (uint64_t)data[6] << 48; /* fall through */
	case 6:
		h ^= (uint64_t)data[5] << 40; /* fall through */
	case 5:
		h ^= (uint64_t)data[4] << 32; /* fall through */
	case 4:
		h ^= (uint64_t)data[3] << 24; /* fall through */
	case 3:
		h ^= (uint64_t)data[2] << 16; /* fall through */
	case 2:
		h ^= (uint64_t)data[1] << 8; /* fall through */
	case 1:
		h ^= (uint64_t)data[0];
		h *= m;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	return h;
}

int hll_pat_len(const void *ele, size_t len, unsigned *reg)
{
	uint64_t hash = hll_murmur64a(ele, len, SEED);

	*reg = (unsigned)(hash & (HLL_REGISTERS - 1));
	hash >>= HLL_P;
	hash |= (uint64_t)1 << HLL_Q; /* the count is at most Q + 1 */
	return __builtin_ctzll(hash) + 1;
}

bool hll_is_valid(const void *p, size_t len)
{
	const uint8_t *h = p;

	if (len < HLL_HDR_SIZE || memcmp(h, "HYLL", 4) != 0 || h[4] > HLL_ENC_SPARSE)
		return false;
	return h[4] != HLL_ENC_DENSE || len == HLL_DENSE_SIZE;
}

/* ---- dense registers */

unsigned hll_dense_get(const uint8_t *regs, unsigned i)
{
	unsigned byte = i * HLL_BITS / 8, fb = i * HLL_BITS & 7;
	unsigned v = regs[byte] >> fb;

	if (fb > 8 - HLL_BITS) /* the register spills into the next byte */
		v |= (unsigned)regs[byte + 1] << (8 - fb);
	return v & HLL_REGISTER_MAX;
}

void hll_dense_set(uint8_t *regs, unsigned i, unsigned v)
{
	unsigned byte = i * HLL_BITS / 8, fb = i * HLL_BITS & 7;

	regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | (v << fb));
	if (fb > 8 - HLL_BITS) {
		unsigned fb8 = 8 - fb;

		regs[byte + 1] =
		    (uint8_t)((regs[byte + 1] & ~(HLL_REGISTER_MAX >> fb8)) | (v >> fb8));
	}
}

/* ---- the cached cardinality */

bool hll_cache_valid(const uint8_t *hll)
{
	return (hll[15] & 0x80) == 0;
}

uint64_t hll_cache_get(const uint8_t *hll)
{
	uint64_t c = 0;

	for (int i = 7; i >= 0; i--)
		c = c << 8 | hll[8 + i];
	return c;
}

void hll_cache_set(uint8_t *hll, uint64_t card)
{
	for (int i = 0; i < 8; i++)
		hll[8 + i] = (uint8_t)(card >> (8 * i));
}

void hll_cache_invalidate(uint8_t *hll)
{
	hll[15] |= 0x80;
}

/* ---- the estimator (Ertl) */

static double hll_sigma(double x)
{
	if (x == 1.)
		return INFINITY;
	double zp, y = 1, z = x;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (zp != z);
	return z;
}

static double hll_tau(double x)
{
	if (x == 0. || x == 1.)
		return 0.;
	double zp, y = 1.0, z = 1 - x;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= pow(1 - x, 2) * y;
	} while (zp != z);
	return z / 3;
}

static uint64_t count_histo(const int *histo)
{
	double m = HLL_REGISTERS;
	double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);

	for (int j = HLL_Q; j >= 1; --j) {
		z += histo[j];
		z *= 0.5;
	}
	z += m * hll_sigma(histo[0] / m);
	return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

static void dense_histo(const uint8_t *regs, int *histo)
{
	/* four registers per three bytes */
	for (unsigned j = 0; j < HLL_REGISTERS / 4; j++, regs += 3) {
		unsigned w = regs[0] | (unsigned)regs[1] << 8 | (unsigned)regs[2] << 16;

		histo[w & 63]++;
		histo[(w >> 6) & 63]++;
		histo[(w >> 12) & 63]++;
		histo[(w >> 18) & 63]++;
	}
}

/* Redis's hllSparseRegHisto: sets *invalid unless exactly 16384 registers */
static void sparse_histo(const uint8_t *p, const uint8_t *end, bool *invalid, int *histo)
{
	long idx = 0;

	while (p < end) {
		uint8_t b = *p;
		unsigned run;

		if (op_is_zero(b)) {
			run = zero_len(b);
			histo[0] += (int)run;
			p++;
		} else if (op_is_xzero(b)) {
			run = xzero_len(b, byte_or0(p + 1, end));
			histo[0] += (int)run;
			p += 2;
		} else {
			run = val_len(b);
			histo[val_value(b)] += (int)run;
			p++;
		}
		idx += run;
	}
	if (idx != HLL_REGISTERS && invalid)
		*invalid = true;
}

uint64_t hll_count(const uint8_t *hll, size_t len, bool *invalid)
{
	int histo[64] = {0};

	if (hll[4] == HLL_ENC_DENSE)
		dense_histo(hll + HLL_HDR_SIZE, histo);
	else
		sparse_histo(hll + HLL_HDR_SIZE, hll + len, invalid, histo);
	return count_histo(histo);
}

uint64_t hll_count_raw(const uint8_t *max)
{
	int histo[64] = {0};

	for (unsigned i = 0; i < HLL_REGISTERS; i++)
		histo[max[i] & 63]++;
	return count_histo(histo);
}

int hll_merge(uint8_t *max, const uint8_t *hll, size_t len)
{
	if (hll[4] == HLL_ENC_DENSE) {
		const uint8_t *r = hll + HLL_HDR_SIZE;

		for (unsigned j = 0; j < HLL_REGISTERS / 4; j++, r += 3, max += 4) {
			unsigned w = r[0] | (unsigned)r[1] << 8 | (unsigned)r[2] << 16;

			for (unsigned k = 0; k < 4; k++, w >>= 6)
				if ((w & 63) > max[k])
					max[k] = (uint8_t)(w & 63);
		}
		return 0;
	}
	const uint8_t *p = hll + HLL_HDR_SIZE, *end = hll + len;
	long i = 0;

	while (p < end) {
		uint8_t b = *p;

		if (op_is_zero(b)) {
			i += zero_len(b);
			p++;
		} else if (op_is_xzero(b)) {
			i += xzero_len(b, byte_or0(p + 1, end));
			p += 2;
		} else {
			unsigned run = val_len(b), v = val_value(b);

			if (run + i > HLL_REGISTERS)
				return -1; /* overflow */
			while (run--) {
				if (v > max[i])
					max[i] = (uint8_t)v;
				i++;
			}
			p++;
		}
	}
	return i == HLL_REGISTERS ? 0 : -1;
}

/*
 * The walk to a register, eight bytes at a time. Opcodes are parsed one
 * after the other because an XZERO's second byte can look like any opcode;
 * a byte-at-a-time walk pays a branch (often mispredicted) per opcode, and
 * PFADD of an element already counted in a sparse HLL is nothing but this
 * walk. Here each 8-byte chunk is summed at once (SWAR): the bytes 01xxxxxx
 * are found with bit arithmetic; which of them are XZERO second bytes (a
 * run of such bytes alternates first / second) comes from second_bytes[],
 * indexed by that mask and by whether the chunk starts with the second byte
 * of an XZERO begun in the chunk before (the carry); every other byte is a
 * ZERO or a VAL opcode. Only the carry links one chunk to the next, so the
 * chunks' loads and arithmetic overlap. The chunk holding the register is
 * then walked byte by byte from its first opcode.
 */
static const uint64_t second_bytes[512] = {
    0x0000000000000000ULL, 0x000000000000ff00ULL, 0x0000000000ff0000ULL, 0x000000000000ff00ULL,
    0x00000000ff000000ULL, 0x00000000ff00ff00ULL, 0x0000000000ff0000ULL, 0x00000000ff00ff00ULL,
    0x000000ff00000000ULL, 0x000000ff0000ff00ULL, 0x000000ff00ff0000ULL, 0x000000ff0000ff00ULL,
    0x00000000ff000000ULL, 0x00000000ff00ff00ULL, 0x000000ff00ff0000ULL, 0x00000000ff00ff00ULL,
    0x0000ff0000000000ULL, 0x0000ff000000ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff000000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff00ff00ff00ULL,
    0x000000ff00000000ULL, 0x000000ff0000ff00ULL, 0x000000ff00ff0000ULL, 0x000000ff0000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x000000ff00ff0000ULL, 0x0000ff00ff00ff00ULL,
    0x00ff000000000000ULL, 0x00ff00000000ff00ULL, 0x00ff000000ff0000ULL, 0x00ff00000000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff000000ff0000ULL, 0x00ff0000ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff0000ff00ff00ULL,
    0x0000ff0000000000ULL, 0x0000ff000000ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff000000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff00ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0x0000ff00ff00ff00ULL,
    0xff00000000000000ULL, 0xff0000000000ff00ULL, 0xff00000000ff0000ULL, 0xff0000000000ff00ULL,
    0xff000000ff000000ULL, 0xff000000ff00ff00ULL, 0xff00000000ff0000ULL, 0xff000000ff00ff00ULL,
    0xff0000ff00000000ULL, 0xff0000ff0000ff00ULL, 0xff0000ff00ff0000ULL, 0xff0000ff0000ff00ULL,
    0xff000000ff000000ULL, 0xff000000ff00ff00ULL, 0xff0000ff00ff0000ULL, 0xff000000ff00ff00ULL,
    0xff00ff0000000000ULL, 0xff00ff000000ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff000000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff00ff00ff00ULL,
    0xff0000ff00000000ULL, 0xff0000ff0000ff00ULL, 0xff0000ff00ff0000ULL, 0xff0000ff0000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0xff0000ff00ff0000ULL, 0xff00ff00ff00ff00ULL,
    0x00ff000000000000ULL, 0x00ff00000000ff00ULL, 0x00ff000000ff0000ULL, 0x00ff00000000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff000000ff0000ULL, 0x00ff0000ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff0000ff00ff00ULL,
    0xff00ff0000000000ULL, 0xff00ff000000ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff000000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff00ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0xff00ff00ff00ff00ULL,
    0x0000000000000000ULL, 0x000000000000ff00ULL, 0x0000000000ff0000ULL, 0x000000000000ff00ULL,
    0x00000000ff000000ULL, 0x00000000ff00ff00ULL, 0x0000000000ff0000ULL, 0x00000000ff00ff00ULL,
    0x000000ff00000000ULL, 0x000000ff0000ff00ULL, 0x000000ff00ff0000ULL, 0x000000ff0000ff00ULL,
    0x00000000ff000000ULL, 0x00000000ff00ff00ULL, 0x000000ff00ff0000ULL, 0x00000000ff00ff00ULL,
    0x0000ff0000000000ULL, 0x0000ff000000ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff000000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff00ff00ff00ULL,
    0x000000ff00000000ULL, 0x000000ff0000ff00ULL, 0x000000ff00ff0000ULL, 0x000000ff0000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x000000ff00ff0000ULL, 0x0000ff00ff00ff00ULL,
    0x00ff000000000000ULL, 0x00ff00000000ff00ULL, 0x00ff000000ff0000ULL, 0x00ff00000000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff000000ff0000ULL, 0x00ff0000ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff0000ff00ff00ULL,
    0x0000ff0000000000ULL, 0x0000ff000000ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff000000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x0000ff0000ff0000ULL, 0x0000ff00ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0x0000ff00ff000000ULL, 0x0000ff00ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0x0000ff00ff00ff00ULL,
    0xff00000000000000ULL, 0xff0000000000ff00ULL, 0xff00000000ff0000ULL, 0xff0000000000ff00ULL,
    0xff000000ff000000ULL, 0xff000000ff00ff00ULL, 0xff00000000ff0000ULL, 0xff000000ff00ff00ULL,
    0xff0000ff00000000ULL, 0xff0000ff0000ff00ULL, 0xff0000ff00ff0000ULL, 0xff0000ff0000ff00ULL,
    0xff000000ff000000ULL, 0xff000000ff00ff00ULL, 0xff0000ff00ff0000ULL, 0xff000000ff00ff00ULL,
    0xff00ff0000000000ULL, 0xff00ff000000ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff000000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff00ff00ff00ULL,
    0xff0000ff00000000ULL, 0xff0000ff0000ff00ULL, 0xff0000ff00ff0000ULL, 0xff0000ff0000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0xff0000ff00ff0000ULL, 0xff00ff00ff00ff00ULL,
    0x00ff000000000000ULL, 0x00ff00000000ff00ULL, 0x00ff000000ff0000ULL, 0x00ff00000000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff000000ff0000ULL, 0x00ff0000ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0x00ff0000ff000000ULL, 0x00ff0000ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff0000ff00ff00ULL,
    0xff00ff0000000000ULL, 0xff00ff000000ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff000000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0xff00ff0000ff0000ULL, 0xff00ff00ff00ff00ULL,
    0x00ff00ff00000000ULL, 0x00ff00ff0000ff00ULL, 0x00ff00ff00ff0000ULL, 0x00ff00ff0000ff00ULL,
    0xff00ff00ff000000ULL, 0xff00ff00ff00ff00ULL, 0x00ff00ff00ff0000ULL, 0xff00ff00ff00ff00ULL,
    0x00000000000000ffULL, 0x00000000000000ffULL, 0x0000000000ff00ffULL, 0x0000000000ff00ffULL,
    0x00000000ff0000ffULL, 0x00000000ff0000ffULL, 0x0000000000ff00ffULL, 0x0000000000ff00ffULL,
    0x000000ff000000ffULL, 0x000000ff000000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x00000000ff0000ffULL, 0x00000000ff0000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x0000ff00000000ffULL, 0x0000ff00000000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x000000ff000000ffULL, 0x000000ff000000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x00ff0000000000ffULL, 0x00ff0000000000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x0000ff00000000ffULL, 0x0000ff00000000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0xff000000000000ffULL, 0xff000000000000ffULL, 0xff00000000ff00ffULL, 0xff00000000ff00ffULL,
    0xff000000ff0000ffULL, 0xff000000ff0000ffULL, 0xff00000000ff00ffULL, 0xff00000000ff00ffULL,
    0xff0000ff000000ffULL, 0xff0000ff000000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0xff000000ff0000ffULL, 0xff000000ff0000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0xff00ff00000000ffULL, 0xff00ff00000000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0xff0000ff000000ffULL, 0xff0000ff000000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0x00ff0000000000ffULL, 0x00ff0000000000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0xff00ff00000000ffULL, 0xff00ff00000000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x00000000000000ffULL, 0x00000000000000ffULL, 0x0000000000ff00ffULL, 0x0000000000ff00ffULL,
    0x00000000ff0000ffULL, 0x00000000ff0000ffULL, 0x0000000000ff00ffULL, 0x0000000000ff00ffULL,
    0x000000ff000000ffULL, 0x000000ff000000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x00000000ff0000ffULL, 0x00000000ff0000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x0000ff00000000ffULL, 0x0000ff00000000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x000000ff000000ffULL, 0x000000ff000000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x000000ff00ff00ffULL, 0x000000ff00ff00ffULL,
    0x00ff0000000000ffULL, 0x00ff0000000000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x0000ff00000000ffULL, 0x0000ff00000000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x0000ff0000ff00ffULL, 0x0000ff0000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x0000ff00ff0000ffULL, 0x0000ff00ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0xff000000000000ffULL, 0xff000000000000ffULL, 0xff00000000ff00ffULL, 0xff00000000ff00ffULL,
    0xff000000ff0000ffULL, 0xff000000ff0000ffULL, 0xff00000000ff00ffULL, 0xff00000000ff00ffULL,
    0xff0000ff000000ffULL, 0xff0000ff000000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0xff000000ff0000ffULL, 0xff000000ff0000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0xff00ff00000000ffULL, 0xff00ff00000000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0xff0000ff000000ffULL, 0xff0000ff000000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0xff0000ff00ff00ffULL, 0xff0000ff00ff00ffULL,
    0x00ff0000000000ffULL, 0x00ff0000000000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff000000ff00ffULL, 0x00ff000000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0x00ff0000ff0000ffULL, 0x00ff0000ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0xff00ff00000000ffULL, 0xff00ff00000000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0xff00ff0000ff00ffULL, 0xff00ff0000ff00ffULL,
    0x00ff00ff000000ffULL, 0x00ff00ff000000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
    0xff00ff00ff0000ffULL, 0xff00ff00ff0000ffULL, 0x00ff00ff00ff00ffULL, 0x00ff00ff00ff00ffULL,
};

#define B_LOW1	0x0101010101010101ULL
#define B_HIGH1 0x8080808080808080ULL
#define B_LOW6	0x3f3f3f3f3f3f3f3fULL
#define B_LOW2	0x0303030303030303ULL

/* the sum of the 8 bytes of v */
static inline uint64_t bytes_sum(uint64_t v)
{
	const uint64_t f = 0x00ff00ff00ff00ffULL;

	return (((v & f) + ((v >> 8) & f)) * 0x0001000100010001ULL) >> 48;
}

/*
 * Registers covered by the chunk w (8 payload bytes, little endian) whose
 * byte 0 is an XZERO's second byte when *carry is set: the second byte's
 * share of that XZERO, every whole opcode, and of an XZERO begun at byte 7
 * its first byte's share (then *carry is set for the next chunk and *pend
 * receives that share).
 */
static inline uint64_t chunk_span(uint64_t w, unsigned *carry, uint64_t *pend)
{
	uint64_t t = ~w & (w << 1) & B_HIGH1; /* bit 7 of each 01xxxxxx byte */
	unsigned m = (unsigned)(((t >> 7) * 0x0102040810204080ULL) >> 56);
	uint64_t second = second_bytes[*carry << 8 | m];
	uint64_t xzero = ((t >> 7) * 0xff) & ~second;
	uint64_t val = (((w >> 7) & B_LOW1) * 0xff) & ~second;
	uint64_t zero = ~(val | xzero | second);
	uint64_t low = (w & second) | (((w & B_LOW6) + B_LOW1) & zero) |
		       (((w & B_LOW2) + B_LOW1) & val) | (B_LOW1 & xzero);
	uint64_t high = w & B_LOW6 & xzero;

	*carry = (unsigned)(xzero >> 63);
	*pend = (((w >> 56) & 0x3f) << 8) + 1;
	return bytes_sum(low) + (bytes_sum(high) << 8);
}

/*
 * Advances *pp and *firstp (an opcode and the register it starts at) over
 * whole chunks that end before register idx, to an opcode at or before the
 * one covering it. With one_back, it stops at the first opcode of the last
 * chunk it passed instead, so that the opcode before the covering one is
 * still ahead (hllSparseSet's merge window starts there).
 */
static void sparse_skip(const uint8_t **pp, const uint8_t *end, long *firstp, unsigned idx,
			bool one_back)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint8_t *p = *pp, *bp = p;
	long first = *firstp, bfirst = first;
	unsigned carry = 0;
	uint64_t pend = 0;

	while (end - p >= 8) {
		uint64_t w, pend_next;
		unsigned carry_next = carry;

		memcpy(&w, p, sizeof(w));
		long sum = (long)chunk_span(w, &carry_next, &pend_next);
		if (idx < first + sum)
			break;
		/* the chunk's first opcode: an XZERO begun before it, if any */
		bp = p - carry;
		bfirst = first - (carry ? (long)pend : 0);
		first += sum;
		p += 8;
		carry = carry_next;
		pend = pend_next;
	}
	if (one_back) {
		p = bp;
		first = bfirst;
	} else if (carry) { /* back to the XZERO begun in the last chunk passed */
		p--;
		first -= (long)pend;
	}
	*pp = p;
	*firstp = first;
#else
	(void)pp, (void)end, (void)firstp, (void)idx, (void)one_back;
#endif
}

/* The value of register idx in a sparse payload, or -1 if it is not covered. */
static int sparse_get(const uint8_t *p, const uint8_t *end, unsigned idx)
{
	long first = 0;

	sparse_skip(&p, end, &first, idx, false);

	while (p < end) {
		uint8_t b = *p;
		long span;

		if (op_is_zero(b)) {
			span = zero_len(b);
			p++;
		} else if (op_is_val(b)) {
			span = val_len(b);
			p++;
		} else {
			span = xzero_len(b, byte_or0(p + 1, end));
			p += 2;
		}
		if (idx <= first + span - 1)
			return op_is_val(b) ? (int)val_value(b) : 0;
		first += span;
	}
	return -1;
}

int hll_would_change(const uint8_t *hll, size_t len, const void *ele, size_t elen)
{
	unsigned idx;
	int count = hll_pat_len(ele, elen, &idx);

	if (hll[4] == HLL_ENC_DENSE)
		return count > (int)hll_dense_get(hll + HLL_HDR_SIZE, idx);
	int old = sparse_get(hll + HLL_HDR_SIZE, hll + len, idx);
	if (old < 0)
		return -1;
	return count > old;
}

/* ---- modification */

static void buf_reserve(struct hll_buf *b, size_t room)
{
	if (b->len + room + 1 <= b->cap)
		return;
	size_t cap = b->cap * 2;
	if (cap < b->len + room + 1)
		cap = b->len + room + 1;
	b->p = mem_realloc(b->p, cap);
	b->cap = cap;
}

void hll_buf_init(struct hll_buf *b, const void *src, size_t len)
{
	if (!src) {
		static const uint8_t empty[HLL_EMPTY_SIZE] = {
		    'H',
		    'Y',
		    'L',
		    'L',
		    HLL_ENC_SPARSE,
		    0,
		    0,
		    0,
		    0,
		    0,
		    0,
		    0,
		    0,
		    0,
		    0,
		    0,
		    (uint8_t)(SP_XZERO_BIT | ((SP_XZERO_MAX - 1) >> 8)),
		    (SP_XZERO_MAX - 1) & 0xff};
		src = empty;
		len = sizeof(empty);
	}
	/* a sparse HLL grows by a few bytes an update: leave room for some */
	b->cap = len + 64;
	b->p = mem_alloc(b->cap);
	memcpy(b->p, src, len);
	b->p[len] = 0;
	b->len = len;
}

void hll_buf_free(struct hll_buf *b)
{
	mem_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int hll_to_dense(struct hll_buf *b)
{
	if (b->p[4] == HLL_ENC_DENSE)
		return 0;
	uint8_t *d = mem_calloc(1, HLL_DENSE_SIZE + 1);
	uint8_t *regs = d + HLL_HDR_SIZE;
	const uint8_t *p = b->p + HLL_HDR_SIZE, *end = b->p + b->len;
	long idx = 0;

	memcpy(d, b->p, HLL_HDR_SIZE); /* magic and cached cardinality */
	d[4] = HLL_ENC_DENSE;
	while (p < end) {
		uint8_t op = *p;

		if (op_is_zero(op)) {
			idx += zero_len(op);
			p++;
		} else if (op_is_xzero(op)) {
			idx += xzero_len(op, byte_or0(p + 1, end));
			p += 2;
		} else {
			unsigned run = val_len(op), v = val_value(op);

			if (run + idx > HLL_REGISTERS) {
				mem_free(d);
				return -1; /* overflow */
			}
			while (run--)
				hll_dense_set(regs, (unsigned)idx++, v);
			p++;
		}
	}
	if (idx != HLL_REGISTERS) {
		mem_free(d);
		return -1;
	}
	mem_free(b->p);
	b->p = d;
	b->len = HLL_DENSE_SIZE;
	b->cap = HLL_DENSE_SIZE + 1;
	return 0;
}

static int dense_set(uint8_t *regs, unsigned idx, unsigned count)
{
	if (count <= hll_dense_get(regs, idx))
		return 0;
	hll_dense_set(regs, idx, count);
	return 1;
}

/*
 * Deletes the byte at q: Redis's memmove(p, p+1, end-p) then sdsIncrLen(-1),
 * which carries the terminator along.
 */
static void buf_delete1(struct hll_buf *b, uint8_t *q)
{
	uint8_t *end = b->p + b->len;

	memmove(q, q + 1, (size_t)(end - q));
	b->len--;
	b->p[b->len] = 0;
}

static int promote(struct hll_buf *b, unsigned idx, unsigned count)
{
	if (hll_to_dense(b) != 0)
		return -1;
	/* a promotion happens only for a register that grows */
	return dense_set(b->p + HLL_HDR_SIZE, idx, count);
}

/* Redis's hllSparseSet (see the file comment). */
static int sparse_set(struct hll_buf *b, unsigned idx, unsigned count, long long sparse_max)
{
	if (count > SP_VAL_MAX)
		return promote(b, idx, count);
	buf_reserve(b, 3); /* at most XZERO -> XZERO VAL XZERO */

	uint8_t *sparse = b->p + HLL_HDR_SIZE, *p = sparse, *end = b->p + b->len;
	uint8_t *prev = NULL, *next;
	long first = 0, span = 0;

	/* Step 1: the opcode covering idx (and the one before it) */
	const uint8_t *from = p;
	sparse_skip(&from, end, &first, idx, true);
	p += from - p;
	while (p < end) {
		long oplen = 1;

		if (op_is_zero(*p)) {
			span = zero_len(*p);
		} else if (op_is_val(*p)) {
			span = val_len(*p);
		} else {
			span = xzero_len(p[0], p[1]); /* p[1]: byte or the NUL */
			oplen = 2;
		}
		if (idx <= first + span - 1)
			break;
		prev = p;
		p += oplen;
		first += span;
	}
	if (span == 0 || p >= end)
		return -1; /* invalid payload */

	next = op_is_xzero(*p) ? p + 2 : p + 1;
	if (next >= end)
		next = NULL;

	bool is_zero = op_is_zero(*p), is_xzero = op_is_xzero(*p), is_val = op_is_val(*p);

	/* Step 2: the trivial cases, then the split */
	if (is_val) {
		if (val_value(*p) >= count)
			return 0;
		if (val_len(*p) == 1) {
			*p = val_op(count, 1);
			goto updated;
		}
	}
	if (is_zero && zero_len(*p) == 1) {
		*p = val_op(count, 1);
		goto updated;
	}

	uint8_t seq[5], *n = seq;
	long last = first + span - 1;

	if (is_zero || is_xzero) {
		if (idx != first)
			n += zero_op(n, (unsigned)(idx - first));
		*n++ = val_op(count, 1);
		if (idx != last)
			n += zero_op(n, (unsigned)(last - idx));
	} else {
		unsigned cur = val_value(*p);

		if (idx != first)
			*n++ = val_op(cur, (unsigned)(idx - first));
		*n++ = val_op(count, 1);
		if (idx != last)
			*n++ = val_op(cur, (unsigned)(last - idx));
	}

	/* Step 3: the new sequence in place of the old opcode */
	long seqlen = n - seq, oldlen = is_xzero ? 2 : 1, delta = seqlen - oldlen;

	if (delta > 0 && (long long)b->len + delta > sparse_max)
		return promote(b, idx, count);
	if (delta && next)
		memmove(next + delta, next, (size_t)(end - next));
	/* Redis terminates, then copies: an XZERO cut in half at the end loses
	 * the last byte of its replacement to the terminator's place */
	b->len = (size_t)((long)b->len + delta);
	b->p[b->len] = 0;
	memcpy(p, seq, (size_t)seqlen);
	end += delta;

updated:
	/* Step 4: merge equal adjacent VALs, up to five opcodes from prev */
	p = prev ? prev : sparse;
	for (int scan = 5; p < end && scan--;) {
		if (op_is_xzero(*p)) {
			p += 2;
			continue;
		}
		if (op_is_zero(*p)) {
			p++;
			continue;
		}
		if (p + 1 < end && op_is_val(p[1])) {
			unsigned v1 = val_value(p[0]), v2 = val_value(p[1]);
			unsigned len = val_len(p[0]) + val_len(p[1]);

			if (v1 == v2 && len <= SP_VAL_MAX_LEN) {
				p[1] = val_op(v1, len);
				buf_delete1(b, p);
				end--;
				continue; /* try the merged one with its right neighbour */
			}
		}
		p++;
	}
	hll_cache_invalidate(b->p);
	return 1;
}

int hll_set(struct hll_buf *b, unsigned idx, unsigned count, long long sparse_max)
{
	if (b->p[4] == HLL_ENC_DENSE)
		return dense_set(b->p + HLL_HDR_SIZE, idx, count);
	return sparse_set(b, idx, count, sparse_max);
}

int hll_add(struct hll_buf *b, const void *ele, size_t elen, long long sparse_max)
{
	unsigned idx;
	int count = hll_pat_len(ele, elen, &idx);

	return hll_set(b, idx, (unsigned)count, sparse_max);
}

/* ---- PFDEBUG DECODE */

char *hll_decode(const uint8_t *hll, size_t len, size_t *outlen)
{
	const uint8_t *p = hll + HLL_HDR_SIZE, *end = hll + len;
	/* each opcode prints at most "v:32,4 " or "Z:16384 " */
	size_t cap = (len - HLL_HDR_SIZE) * 8 + 1, n = 0;
	char *s = mem_alloc(cap);

	while (p < end) {
		uint8_t b = *p;

		if (op_is_zero(b)) {
			n += (size_t)snprintf(s + n, cap - n, "z:%u ", zero_len(b));
			p++;
		} else if (op_is_xzero(b)) {
			n += (size_t)snprintf(s + n, cap - n, "Z:%u ",
					      xzero_len(b, byte_or0(p + 1, end)));
			p += 2;
		} else {
			n += (size_t)snprintf(s + n, cap - n, "v:%u,%u ", val_value(b), val_len(b));
			p++;
		}
	}
	if (n)
		n--; /* the trailing space (sdstrim) */
	s[n] = '\0';
	*outlen = n;
	return s;
}

/* ---- PFSELFTEST */

const char *hll_selftest(uint64_t (*rnd)(void *), void *arg, long long sparse_max, char *buf,
			 size_t n)
{
	uint8_t *regs = mem_calloc(1, HLL_DENSE_SIZE);
	uint8_t *bytes = mem_alloc(HLL_REGISTERS);
	struct hll_buf o;
	const char *err = NULL;

	/* Test 1: every register keeps its value without touching its neighbours */
	for (int j = 0; j < 1000 && !err; j++) {
		for (unsigned i = 0; i < HLL_REGISTERS; i++) {
			unsigned r = (unsigned)rnd(arg) & HLL_REGISTER_MAX;

			bytes[i] = (uint8_t)r;
			hll_dense_set(regs, i, r);
		}
		for (unsigned i = 0; i < HLL_REGISTERS; i++) {
			unsigned v = hll_dense_get(regs, i);

			if (v != bytes[i]) {
				snprintf(buf, n, "TESTFAILED Register %u should be %u but is %u", i,
					 bytes[i], v);
				err = buf;
				break;
			}
		}
	}
	mem_free(bytes);
	if (err) {
		mem_free(regs);
		return err;
	}

	/* Test 2: the estimate stays within 6 standard errors, and the dense and
	 * the sparse HLL fed the same elements agree */
	uint8_t hdr[HLL_HDR_SIZE] = {'H', 'Y', 'L', 'L', HLL_ENC_DENSE};
	struct hll_buf d = {regs, HLL_DENSE_SIZE, HLL_DENSE_SIZE};
	double relerr = 1.04 / sqrt(HLL_REGISTERS);
	int64_t checkpoint = 1;
	uint64_t seed = rnd(arg);

	memset(regs, 0, HLL_DENSE_SIZE);
	memcpy(regs, hdr, sizeof(hdr));
	hll_buf_init(&o, NULL, 0);
	for (int64_t j = 1; j <= 10000000; j++) {
		uint64_t ele = (uint64_t)j ^ seed;

		hll_add(&d, &ele, sizeof(ele), sparse_max);
		hll_add(&o, &ele, sizeof(ele), sparse_max);
		if (j != checkpoint)
			continue;
		if (j < sparse_max / 2 && o.p[4] != HLL_ENC_SPARSE) {
			err = "TESTFAILED sparse encoding not used";
			break;
		}
		uint64_t cd = hll_count(d.p, d.len, NULL);
		if (cd != hll_count(o.p, o.len, NULL)) {
			err = "TESTFAILED dense/sparse disagree";
			break;
		}
		int64_t abserr = checkpoint - (int64_t)cd;
		uint64_t maxerr = (uint64_t)ceil(relerr * 6 * (double)checkpoint);

		if (j == 10)
			maxerr = 1; /* collisions make larger errors likely at 10 */
		if (abserr < 0)
			abserr = -abserr;
		if (abserr > (int64_t)maxerr) {
			snprintf(buf, n, "TESTFAILED Too big error. card:%llu abserr:%llu",
				 (unsigned long long)checkpoint, (unsigned long long)abserr);
			err = buf;
			break;
		}
		checkpoint *= 10;
	}
	hll_buf_free(&o);
	mem_free(d.p);
	return err;
}
