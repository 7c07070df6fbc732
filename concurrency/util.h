/*
 * util.h — small shared definitions for every kvsd module: cache-line size,
 * branch hints, and the invariant macros KV_ASSERT / KV_PANIC that report
 * file and line before aborting.
 *
 * Threads: everything here is stateless and callable from any thread.
 * Progress: KV_PANIC never returns.
 */
#ifndef KVSD_UTIL_H
#define KVSD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_CACHELINE 64
#define KV_ALIGNED   __attribute__((aligned(KV_CACHELINE)))

#define kv_likely(x)   __builtin_expect(!!(x), 1)
#define kv_unlikely(x) __builtin_expect(!!(x), 0)

/* On the definitions of the per-request path's functions (parse, dispatch, the
 * map, the list's push/pop, replies, reclamation): gcc places them in
 * .text.hot, which the linker lays out together, so the path's code is a few
 * KB of consecutive lines instead of ~100 lines scattered over the binary that
 * conflict in the 64 sets of a 32 KB L1i. List the function where it is
 * defined, not where it is declared. */
#define KV_HOT __attribute__((hot))

/* memcmp(a, b, n) == 0, inline for the short strings of the per-request path
 * (command names, keys): two overlapping loads per side for 4-16 bytes, where
 * a call to memcmp costs ~18 instructions and an I1 line. */
static inline bool kv_bytes_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	if (n >= 8) {
		uint64_t a0, a1, b0, b1;

		if (n > 16)
			return memcmp(p, q, n) == 0;
		memcpy(&a0, p, 8);
		memcpy(&a1, p + n - 8, 8);
		memcpy(&b0, q, 8);
		memcpy(&b1, q + n - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n >= 4) {
		uint32_t a0, a1, b0, b1;

		memcpy(&a0, p, 4);
		memcpy(&a1, p + n - 4, 4);
		memcpy(&b0, q, 4);
		memcpy(&b1, q + n - 4, 4);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] != q[i])
			return false;
	return true;
}

/* memcpy(d, p, n) for the short strings of the per-request path (reply
 * values, keys), without a call: two overlapping loads and stores cover
 * 1..16 bytes. */
static inline void kv_copy_short(char *d, const char *p, size_t n)
{
	if (n >= 8 && n <= 16) {
		uint64_t a, b;

		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;

		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n > 0 && n < 4) {
		d[0] = p[0];
		d[n / 2] = p[n / 2];
		d[n - 1] = p[n - 1];
	} else if (n > 16) {
		memcpy(d, p, n);
	}
}

#define KV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define KV_PANIC(...)                                                                              \
	do {                                                                                       \
		fprintf(stderr, "kvsd: panic at %s:%d: ", __FILE__, __LINE__);                     \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* Invariants stay checked in release builds: a broken invariant in a store must stop it. */
#define KV_ASSERT(cond)                                                                            \
	do {                                                                                       \
		if (kv_unlikely(!(cond)))                                                          \
			KV_PANIC("assertion failed: %s", #cond);                                   \
	} while (0)

#endif
