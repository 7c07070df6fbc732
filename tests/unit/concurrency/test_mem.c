/*
 * test_mem.c — used_memory accounting: per-thread counters balance across
 * threads, and (with jemalloc linked) agree with jemalloc's stats.allocated.
 */
#include "concurrency/mem.h"
#include "kvsd_build.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

Test(mem, alloc_free_balances)
{
	int64_t before = mem_used();
	void *p[100];

	for (int i = 0; i < 100; i++)
		p[i] = mem_alloc((size_t)(i * 37 + 1));
	cr_assert_gt(mem_used(), before + 100 * 37 / 2);
	for (int i = 0; i < 100; i++)
		p[i] = mem_realloc(p[i], (size_t)(i * 91 + 5));
	for (int i = 0; i < 100; i++)
		mem_free(p[i]);
	cr_assert_eq(mem_used(), before);
}

static void *alloc_many(void *arg)
{
	void **out = arg;

	for (int i = 0; i < 1000; i++)
		out[i] = mem_alloc(64);
	return NULL;
}

Test(mem, free_on_other_thread_after_exit)
{
	static void *blocks[1000];
	int64_t before = mem_used();
	pthread_t t;

	pthread_create(&t, NULL, alloc_many, blocks);
	pthread_join(t, NULL);
	/* the allocating thread has exited: its count must survive in the total */
	cr_assert_geq(mem_used(), before + 1000 * 64);
	for (int i = 0; i < 1000; i++)
		mem_free(blocks[i]);
	cr_assert_eq(mem_used(), before);
}

Test(mem, agrees_with_jemalloc)
{
	int64_t je0 = mem_jemalloc_allocated(), u0 = mem_used(), je1, u1;
	enum { N = 20000 };
	static void *p[N];

	if (je0 < 0) {
		/* Sanitizer build: no jemalloc linked, nothing to compare against. The
		 * allocator name says so; the balance tests above still ran. */
		cr_assert_str_eq(mem_allocator_name(), "libc");
		return;
	}
	for (int i = 0; i < N; i++)
		p[i] = mem_alloc(100 + (size_t)(i % 300));
	je1 = mem_jemalloc_allocated();
	u1 = mem_used();
	/* Everything this thread allocated went through mem_alloc; allow 2% for
	 * jemalloc's own metadata and tcache effects. */
	cr_assert_lt(llabs((long long)((je1 - je0) - (u1 - u0))), (u1 - u0) / 50,
		     "jemalloc grew %lld, counters grew %lld", (long long)(je1 - je0),
		     (long long)(u1 - u0));
	for (int i = 0; i < N; i++)
		mem_free(p[i]);
	cr_assert_eq(mem_used(), u0);
}

/* mem_free_sized with the requested size, or the usable size, balances the
 * counters exactly and (with jemalloc) jemalloc agrees: the sized path
 * accounts what mem_free would have. */
Test(mem, free_sized_balances)
{
	enum { N = 4000 };
	static void *p[N];
	int64_t u0 = mem_used(), je0 = mem_jemalloc_allocated();

	for (int i = 0; i < N; i++)
		p[i] = mem_alloc((size_t)(i % 700));
	for (int i = 0; i < N; i++)
		cr_assert_geq(mem_size_class((size_t)(i % 700)), (size_t)(i % 700));
	for (int i = 0; i < N; i++) {
		size_t n = (size_t)(i % 700);
		/* half with the request, half with the usable size */
		mem_free_sized(p[i], i % 2 ? n : mem_usable(p[i]));
	}
	mem_free_sized(NULL, 10);
	cr_assert_eq(mem_used(), u0);
	if (je0 >= 0)
		cr_assert_lt(llabs((long long)(mem_jemalloc_allocated() - je0)), 64 * 1024,
			     "jemalloc moved %lld after sized frees",
			     (long long)(mem_jemalloc_allocated() - je0));
}

#if KVSD_MEM_CHECK
/* A size of another class than the block's is caught, not mis-accounted. */
Test(mem, free_sized_wrong_size_panics, .signal = SIGABRT)
{
	void *p = mem_alloc(100);

	mem_free_sized(p, 4096);
}
#endif

/* mem_size_class(n) is what mem_alloc(n) gives: with jemalloc its size
 * class (mem.c computes it by arithmetic, checked against nallocx at
 * start-up), without it n (the sanitizers' allocators report the request). */
Test(mem, size_class_is_usable_size)
{
	for (size_t n = 1; n < 300000; n += n < 4096 ? 1 : n / 7) {
		void *p = mem_alloc(n);

		cr_assert_eq(mem_size_class(n), mem_usable(p), "n %zu: class %zu, usable %zu", n,
			     mem_size_class(n), mem_usable(p));
		mem_free_sized(p, n);
	}
}
