/*
 * fuzz_util.h — small helpers for kvsd's libFuzzer targets: a deterministic
 * random stream seeded from the input (so a crash replays exactly) and a
 * check macro that aborts with file and line, which libFuzzer reports as a
 * crash.
 *
 * Threads: none. Ownership: nothing allocated. Errors: FUZZ_CHECK aborts.
 */
#ifndef KVSD_FUZZ_UTIL_H
#define KVSD_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz check failed at %s:%d: %s\n", __FILE__, __LINE__,    \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* FNV-1a of the input: the seed of the piece sizes. */
static inline uint64_t fuzz_seed(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h | 1;
}

/* xorshift64 */
static inline uint64_t fuzz_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Fills cuts[] with ascending cut points in (0, size) for random-sized
 * pieces (mostly small, sometimes large); returns how many.
 */
static inline size_t fuzz_cuts(uint64_t *seed, size_t size, size_t *cuts, size_t max)
{
	size_t n = 0, at = 0;

	while (n < max) {
		uint64_t r = fuzz_rand(seed);
		size_t step =
		    (r & 3) == 0 ? 1 + (size_t)(r >> 8) % (size + 1) : 1 + (size_t)(r >> 8) % 8;

		at += step;
		if (at >= size)
			break;
		cuts[n++] = at;
	}
	return n;
}

#endif
