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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
