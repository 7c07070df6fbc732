/*
 * test_wsq.c — the Chase–Lev deque, single-threaded semantics: LIFO take,
 * FIFO steal, -ENOSPC when full and reuse of slots after wrap-around, empty
 * results, and the capacity check. Concurrency is covered by
 * tests/stress/stress_wsq.c (also under TSan) and by the interleaving
 * enumeration in test_wsq_interleave.c.
 */
#include "concurrency/wsq.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

static struct wsq q;

static void setup(void)
{
	cr_assert_eq(wsq_init(&q, 8), 0);
}

static void teardown(void)
{
	wsq_deinit(&q);
}

#define P(i) ((void *)(uintptr_t)(i))

TestSuite(wsq, .init = setup, .fini = teardown);

Test(wsq, init_rejects_non_power_of_two)
{
	struct wsq x;

	cr_expect_eq(wsq_init(&x, 6), -EINVAL);
	cr_expect_eq(wsq_init(&x, 1), -EINVAL);
}

Test(wsq, take_is_lifo)
{
	for (int i = 1; i <= 5; i++)
		cr_assert_eq(wsq_push(&q, P(i)), 0);
	cr_expect_eq(wsq_size_approx(&q), 5);
	for (int i = 5; i >= 1; i--)
		cr_expect_eq(wsq_take(&q), P(i));
	cr_expect_null(wsq_take(&q));
	cr_expect_eq(wsq_size_approx(&q), 0);
}

Test(wsq, steal_is_fifo)
{
	void *x;

	for (int i = 1; i <= 5; i++)
		cr_assert_eq(wsq_push(&q, P(i)), 0);
	for (int i = 1; i <= 5; i++) {
		cr_assert_eq(wsq_steal(&q, &x), 0);
		cr_expect_eq(x, P(i));
	}
	cr_expect_eq(wsq_steal(&q, &x), -ENOENT);
}

Test(wsq, full_then_reuse_after_wrap)
{
	void *x;

	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 8; i++)
			cr_assert_eq(wsq_push(&q, P(round * 100 + i + 1)), 0);
		cr_expect_eq(wsq_push(&q, P(999)), -ENOSPC);
		/* steal 3 from the top, take the rest from the bottom */
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(wsq_steal(&q, &x), 0);
			cr_expect_eq(x, P(round * 100 + i + 1));
		}
		for (int i = 7; i >= 3; i--)
			cr_expect_eq(wsq_take(&q), P(round * 100 + i + 1));
		cr_expect_null(wsq_take(&q));
	}
}

Test(wsq, mixed_take_and_steal_last_element)
{
	void *x;

	cr_assert_eq(wsq_push(&q, P(1)), 0);
	cr_expect_eq(wsq_take(&q), P(1));
	cr_expect_eq(wsq_steal(&q, &x), -ENOENT);
	cr_assert_eq(wsq_push(&q, P(2)), 0);
	cr_assert_eq(wsq_steal(&q, &x), 0);
	cr_expect_eq(x, P(2));
	cr_expect_null(wsq_take(&q));
	cr_expect_eq(wsq_size_approx(&q), 0);
}
