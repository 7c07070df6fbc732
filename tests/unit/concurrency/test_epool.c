/*
 * test_epool.c — the 88-byte block pool (concurrency/epool.h): blocks are
 * distinct, 8-aligned and writable; mem_used() counts 88 bytes per block in
 * use; slabs are released when their blocks all come back, whether freed by
 * the owner or by other threads (before or after the owner exited); under
 * ASan a freed block is poisoned.
 */
#include "concurrency/epool.h"
#include "concurrency/mem.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define N 5000 /* several slabs (743 blocks each) */

static void *blk[N];

Test(epool, blocks_distinct_aligned_counted_released)
{
	int64_t u0 = mem_used(), s0 = epool_slabs();

	for (int i = 0; i < N; i++) {
		blk[i] = epool_alloc();
		cr_assert_eq((uintptr_t)blk[i] % 8, 0);
		memset(blk[i], i & 0xff, EPOOL_BLOCK);
	}
	cr_assert_eq(mem_used() - u0, (int64_t)N * EPOOL_BLOCK);
	cr_assert_geq(epool_slabs() - s0, N / ((EPOOL_SLAB - 128) / EPOOL_BLOCK));
	for (int i = 0; i < N; i++) {
		unsigned char *b = blk[i];

		for (int k = 0; k < EPOOL_BLOCK; k++)
			cr_assert_eq(b[k], (unsigned char)(i & 0xff), "block %d overlaps another",
				     i);
	}
	/* free every other block, then the rest: slabs go back only at the end */
	for (int i = 0; i < N; i += 2)
		epool_free(blk[i]);
	cr_assert_eq(mem_used() - u0, (int64_t)(N / 2) * EPOOL_BLOCK);
	for (int i = 1; i < N; i += 2)
		epool_free(blk[i]);
	cr_assert_eq(mem_used(), u0);
	/* all but the current slab are returned */
	cr_assert_leq(epool_slabs() - s0, 1);
	epool_free(NULL);
}

Test(epool, reuse_after_free)
{
	void *a = epool_alloc();

	epool_free(a);
	void *b = epool_alloc();
	cr_assert_eq(a, b, "the owner reuses its last freed block first");
	epool_free(b);
}

static void *free_half(void *arg)
{
	int start = (int)(intptr_t)arg;

	for (int i = start; i < N; i += 2)
		epool_free(blk[i]);
	return NULL;
}

static void *alloc_all(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		blk[i] = epool_alloc();
		memset(blk[i], 0x5a, EPOOL_BLOCK);
	}
	return NULL;
}

/* Remote frees: the owner frees half, two other threads the other half;
 * the owner's next allocations take the remote blocks back, and every slab
 * but the current one is released. */
Test(epool, remote_frees_come_back)
{
	int64_t u0 = mem_used(), s0 = epool_slabs();
	pthread_t t;

	for (int i = 0; i < N; i++)
		blk[i] = epool_alloc();
	pthread_create(&t, NULL, free_half, (void *)(intptr_t)1);
	free_half((void *)(intptr_t)0);
	pthread_join(t, NULL);
	cr_assert_eq(mem_used(), u0);
	/* the remote half is on the slabs' remote stacks until the owner looks */
	for (int i = 0; i < N; i++)
		blk[i] = epool_alloc();
	cr_assert_leq(epool_slabs() - s0, N / ((EPOOL_SLAB - 128) / EPOOL_BLOCK) + 2,
		      "remote blocks were reused, not leaked");
	for (int i = 0; i < N; i++)
		epool_free(blk[i]);
	cr_assert_eq(mem_used(), u0);
}

/* A thread allocates and exits; its blocks are freed here afterwards (the
 * heap was parked, not freed); a new thread adopts the heap and collects. */
Test(epool, owner_exited)
{
	int64_t u0 = mem_used();
	pthread_t t;

	pthread_create(&t, NULL, alloc_all, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < N; i++) {
		unsigned char *b = blk[i];

		cr_assert_eq(b[EPOOL_BLOCK - 1], 0x5a);
		epool_free(blk[i]);
	}
	cr_assert_eq(mem_used(), u0);
	int64_t s1 = epool_slabs();
	pthread_create(&t, NULL, alloc_all, NULL);
	pthread_join(t, NULL);
	cr_assert_leq(epool_slabs(), s1 + 1, "the parked heap's free blocks were reused");
	for (int i = 0; i < N; i++)
		epool_free(blk[i]);
	cr_assert_eq(mem_used(), u0);
}

#ifdef TEST_ASAN
Test(epool, freed_block_is_poisoned)
{
	char *p = epool_alloc();

	cr_assert(!__asan_region_is_poisoned(p, EPOOL_BLOCK));
	epool_free(p);
	cr_assert(__asan_address_is_poisoned(p));
	cr_assert(__asan_address_is_poisoned(p + EPOOL_BLOCK - 1));
	char *q = epool_alloc();
	cr_assert_eq(q, p, "the owner reuses its last freed block first");
	cr_assert(!__asan_region_is_poisoned(q, EPOOL_BLOCK));
	epool_free(q);
}
#endif
