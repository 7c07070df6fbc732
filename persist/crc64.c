/*
 * crc64.c — Redis's CRC-64 (crc64.h), eight bytes per step ("slicing by
 * eight": Intel's slice-by-8, as Redis's crcspeed): eight 256-entry tables,
 * where table k maps a byte to its CRC contribution k bytes further on, so
 * one 64-bit load and eight independent lookups advance the CRC by eight
 * bytes. The reflected form of the Jones polynomial is 0x95ac9329ac4bc9b5.
 * The tables are filled once, on first use (pthread_once orders the fill
 * before every reader). A big-endian host takes the bytewise loop.
 *
 * Long buffers on an x86-64 with PCLMULQDQ (checked at run time) are first
 * folded with carry-less multiplies (Gopal et al., "Fast CRC Computation
 * for Generic Polynomials Using PCLMULQDQ Instruction", Intel 2009): a
 * 16-byte block A followed by 16k bytes is replaced by A * x^(128k) mod P,
 * xored into the block 16k bytes on, which leaves the CRC unchanged (the
 * CRC is the message times x^64 mod P, and the two differ by a multiple of
 * P). Four blocks at a time are folded 64 bytes on, then onto each other,
 * then each remaining block 16 bytes on, down to one block plus fewer than
 * 16 bytes, whose CRC the tables finish. That is the whole trick: no
 * Barrett reduction, and the tables stay the reference. A CRC to continue
 * from is xored into the first 8 bytes (a reflected CRC with no final xor
 * is its register's pending input). About 16 bytes per cycle where the
 * tables do one: at the end of a save the writer's 1 MB buffer went through
 * the tables in ~10% of the save's instructions (docs/BENCHMARKS.md,
 * saver15).
 *
 * Why the constants are what they are. In the reflected order bit j of a
 * little-endian 64-bit word is the coefficient of x^(63-j) within it, and
 * bit m of a 128-bit block that of x^(127-m). The carry-less product of
 * words a and b, read as a 128-bit block, is x * a(x) * b(x) (the bit
 * indices add, the exponents add to 126 - m). So folding a block's first
 * word by x^(128k+64) and its second by x^(128k) takes the constants
 * x^(128k+63) mod P and x^(128k-1) mod P (xpow below, computed at the
 * tables' fill, never typed in).
 */
#include "persist/crc64.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CRC64_CLMUL 1
#endif

#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

#ifdef CRC64_CLMUL
#define CLMUL_MIN 128 /* shorter buffers: the tables (the fold's fixed cost) */
static bool clmul_ok;
/* fold constants, low word for a block's first 8 bytes: 64 and 16 bytes on */
static uint64_t k64[2], k16[2];
#endif

/* x^d mod P, reflected (bit j: the coefficient of x^(63-j)). */
static uint64_t xpow(unsigned d)
{
	uint64_t r = 1ull << 63; /* x^0 */

	while (d--) /* times x: each coefficient one place up; x^64 = P - x^64 */
		r = (r & 1) ? (r >> 1) ^ CRC64_POLY_REFLECTED : r >> 1;
	return r;
}

static void table_fill(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
		table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
#ifdef CRC64_CLMUL
	__builtin_cpu_init();
	clmul_ok = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
	k64[0] = xpow(4 * 128 + 63);
	k64[1] = xpow(4 * 128 - 1);
	k16[0] = xpow(128 + 63);
	k16[1] = xpow(128 - 1);
#else
	(void)xpow;
#endif
}

uint64_t crc64_bytewise(uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	(void)pthread_once(&table_once, table_fill);
	for (size_t i = 0; i < n; i++)
		crc = table[0][(crc ^ s[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

static uint64_t crc64_tables(uint64_t crc, const unsigned char *s, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, s, 8); /* unaligned-safe; one load */
		crc ^= w;
		crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^
		      table[5][(crc >> 16) & 0xff] ^ table[4][(crc >> 24) & 0xff] ^
		      table[3][(crc >> 32) & 0xff] ^ table[2][(crc >> 40) & 0xff] ^
		      table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
		s += 8;
		n -= 8;
	}
#endif
	return crc64_bytewise(crc, s, n);
}

#ifdef CRC64_CLMUL
/* Block x folded onto the block y 16k bytes on (k's constants in kk). */
__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i x, __m128i kk, __m128i y)
{
	return _mm_xor_si128(
	    _mm_xor_si128(_mm_clmulepi64_si128(x, kk, 0x00), _mm_clmulepi64_si128(x, kk, 0x11)), y);
}

/* n >= CLMUL_MIN (64 at least): see the top of the file. */
__attribute__((target("pclmul,sse2"))) static uint64_t crc64_clmul(uint64_t crc,
								   const unsigned char *s, size_t n)
{
	const __m128i c64 = _mm_set_epi64x((long long)k64[1], (long long)k64[0]);
	const __m128i c16 = _mm_set_epi64x((long long)k16[1], (long long)k16[0]);
	__m128i x0 = _mm_loadu_si128((const __m128i *)s);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(s + 16));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(s + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(s + 48));
	unsigned char last[16];

	x0 = _mm_xor_si128(x0, _mm_set_epi64x(0, (long long)crc)); /* the CRC so far */
	s += 64;
	n -= 64;
	for (; n >= 64; s += 64, n -= 64) {
		x0 = fold(x0, c64, _mm_loadu_si128((const __m128i *)s));
		x1 = fold(x1, c64, _mm_loadu_si128((const __m128i *)(s + 16)));
		x2 = fold(x2, c64, _mm_loadu_si128((const __m128i *)(s + 32)));
		x3 = fold(x3, c64, _mm_loadu_si128((const __m128i *)(s + 48)));
	}
	x1 = fold(x0, c16, x1);
	x2 = fold(x1, c16, x2);
	x3 = fold(x2, c16, x3);
	for (; n >= 16; s += 16, n -= 16)
		x3 = fold(x3, c16, _mm_loadu_si128((const __m128i *)s));
	_mm_storeu_si128((__m128i *)last, x3);
	return crc64_tables(crc64_tables(0, last, 16), s, n);
}
#endif

uint64_t crc64(uint64_t crc, const void *p, size_t n)
{
	(void)pthread_once(&table_once, table_fill);
#ifdef CRC64_CLMUL
	if (n >= CLMUL_MIN && clmul_ok)
		return crc64_clmul(crc, p, n);
#endif
	return crc64_tables(crc, p, n);
}
