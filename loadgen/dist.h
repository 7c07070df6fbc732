/*
 * dist.h — random numbers and key distributions for the load generator.
 *
 *  - dist_rng: xoshiro256** (Blackman & Vigna), seeded through splitmix64;
 *    fast, 2^256 - 1 period, good enough for choosing keys and operations.
 *  - key choosers over [0, n):
 *      uniform    — Lemire's multiply-shift range reduction (no modulo bias
 *                   worth measuring at these sizes);
 *      zipf       — YCSB's ZipfianGenerator, i.e. Gray et al., "Quickly
 *                   generating billion-record synthetic databases" (SIGMOD
 *                   1994): P(rank k) proportional to 1 / (k+1)^theta,
 *                   0 < theta < 1; rank 0 is the hottest key. Setup computes
 *                   zeta(n, theta) in O(n) once; each draw is O(1);
 *      sequential — start, start+1, ... wrapping at n (per caller state).
 *
 * Threads: a struct dist_rng belongs to one thread. A struct dist is read-only
 * after dist_init() and may be shared; the sequential cursor lives in the
 * caller's struct dist_seq.
 * Ownership: caller storage; no allocation.
 * Errors: dist_parse() and dist_init() return 0 / -EINVAL.
 */
#ifndef KVSD_LOADGEN_DIST_H
#define KVSD_LOADGEN_DIST_H

#include <stdint.h>

struct dist_rng {
	uint64_t s[4];
};

void dist_rng_seed(struct dist_rng *r, uint64_t seed);

static inline uint64_t dist_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t dist_rng_next(struct dist_rng *r)
{
	uint64_t *s = r->s, res = dist_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = dist_rotl(s[3], 45);
	return res;
}

/* Uniform in [0, n). */
static inline uint64_t dist_rng_below(struct dist_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)dist_rng_next(r) * n) >> 64);
}

/* Uniform double in [0, 1). */
static inline double dist_rng_double(struct dist_rng *r)
{
	return (double)(dist_rng_next(r) >> 11) * 0x1.0p-53;
}

enum dist_kind { DIST_UNIFORM, DIST_ZIPF, DIST_SEQUENTIAL };

struct dist {
	enum dist_kind kind;
	uint64_t n;
	double theta;
	/* zipf constants (Gray et al.) */
	double alpha, zetan, eta, half_pow_theta;
};

struct dist_seq {
	uint64_t next;
};

/* Parse "uniform", "zipf", "zipf:THETA" (default 0.99) or "sequential" into
 * kind / theta (n is set by dist_init). */
int dist_parse(const char *s, enum dist_kind *kind, double *theta);
/* Prepare a chooser over [0, n); O(n) for zipf. -EINVAL if n == 0 or theta
 * is outside (0, 1). */
int dist_init(struct dist *d, enum dist_kind kind, uint64_t n, double theta);
/* zeta(n, theta) = sum_{i=1..n} 1 / i^theta. */
double dist_zeta(uint64_t n, double theta);
/* Next key index in [0, n). seq is used only by DIST_SEQUENTIAL. */
uint64_t dist_next(const struct dist *d, struct dist_rng *r, struct dist_seq *seq);

#endif
