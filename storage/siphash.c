/*
 * siphash.c — SipHash-c-d from the specification (Aumasson & Bernstein 2012).
 *
 * The 128-bit key initialises four 64-bit lanes xored with "somepseudorandom-
 * lygeneratedbytes"; each 8-byte little-endian message word is xored into v3,
 * mixed by c SipRounds and xored into v0. The last word carries the remaining
 * bytes and the length modulo 256 in its top byte. Finalisation xors 0xff into
 * v2, runs d SipRounds and folds the lanes. One static inline body serves both
 * variants; the compiler specialises it for the constant c and d.
 */
#include "storage/siphash.h"

#include <string.h>

static inline uint64_t sip_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Little-endian load that does not care about alignment or host byte order. */
static inline uint64_t sip_load64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = sip_rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = sip_rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = sip_rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = sip_rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = sip_rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = sip_rotl(s->v2, 32);
}

static inline void sip_compress(struct sip_state *s, uint64_t m, int c)
{
	s->v3 ^= m;
	for (int i = 0; i < c; i++)
		sip_round(s);
	s->v0 ^= m;
}

static inline uint64_t sip_hash(const uint8_t key[16], const void *in, size_t len, int c, int d)
{
	const uint8_t *p = in;
	uint64_t k0 = sip_load64(key);
	uint64_t k1 = sip_load64(key + 8);
	struct sip_state s = {
	    .v0 = k0 ^ 0x736f6d6570736575ULL,
	    .v1 = k1 ^ 0x646f72616e646f6dULL,
	    .v2 = k0 ^ 0x6c7967656e657261ULL,
	    .v3 = k1 ^ 0x7465646279746573ULL,
	};
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8)
		sip_compress(&s, sip_load64(p + i), c);

	/* Last block: the 0..7 trailing bytes, then len mod 256 in the top byte
	 * (assembled in a register: no call to memcpy for a short key). */
	/* len 0 may come with in == NULL: no arithmetic on it (UB) */
	const uint8_t *t = len ? p + full : p;
	uint64_t last = (uint64_t)(uint8_t)len << 56;

	if (len & 4) {
		size_t r = len & 3;
		uint64_t lo = (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 |
			      (uint64_t)t[3] << 24;

		for (size_t i = 0; i < r; i++)
			lo |= (uint64_t)t[4 + i] << (32 + 8 * i);
		last |= lo;
	} else {
		for (size_t i = 0; i < (len & 3); i++)
			last |= (uint64_t)t[i] << (8 * i);
	}
	sip_compress(&s, last, c);

	s.v2 ^= 0xff;
	for (int i = 0; i < d; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t siphash_1_2(const uint8_t key[16], const void *in, size_t len)
{
	return sip_hash(key, in, len, 1, 2);
}

uint64_t siphash_2_4(const uint8_t key[16], const void *in, size_t len)
{
	return sip_hash(key, in, len, 2, 4);
}
