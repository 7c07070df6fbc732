/*
 * park.c — eventcount on a futex (Vyukov; as in Eigen's and folly's).
 *
 * The futex waits on the epoch half of the 64-bit word (the high 32 bits:
 * offset 4 on little-endian, 0 on big-endian). A waiter's key is the epoch
 * it saw when it prepared; park_notify bumps the epoch before waking, so a
 * waiter that had not yet reached futex_wait finds the epoch changed and
 * does not sleep at all.
 */
#include "concurrency/park.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WAITER_MASK 0xffffffffull
#define EPOCH_ONE   (1ull << 32)

static uint32_t *epoch_addr(struct park_ec *ec)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t *)&ec->word + 1;
#else
	return (uint32_t *)&ec->word;
#endif
}

void park_init(struct park_ec *ec)
{
	atomic_init(&ec->word, 0);
}

uint32_t park_prepare(struct park_ec *ec)
{
	/* seq_cst: the waiter count is raised before the caller re-checks for
	 * work; pairs with the fence in park_notify() / park_has_waiters() */
	uint64_t w = atomic_fetch_add_explicit(&ec->word, 1, memory_order_seq_cst);

	return (uint32_t)(w >> 32);
}

void park_cancel(struct park_ec *ec)
{
	/* relaxed: withdrawing publishes nothing; at worst a notifier wakes
	 * nobody in vain */
	atomic_fetch_sub_explicit(&ec->word, 1, memory_order_relaxed);
}

void park_wait(struct park_ec *ec, uint32_t key)
{
	/* acquire: pairs with the epoch bump in park_notify(), so the notifier's
	 * published work is visible once we see the new epoch */
	while ((uint32_t)(atomic_load_explicit(&ec->word, memory_order_acquire) >> 32) == key) {
		long rc =
		    syscall(SYS_futex, epoch_addr(ec), FUTEX_WAIT_PRIVATE, key, NULL, NULL, 0);

		(void)rc; /* EAGAIN (epoch moved), EINTR, spurious: re-check */
	}
	atomic_fetch_sub_explicit(&ec->word, 1, memory_order_relaxed);
}

uint32_t park_has_waiters(struct park_ec *ec)
{
	/* seq_cst: the caller's published work is ordered before this load;
	 * pairs with the seq_cst fetch_add in park_prepare() */
	atomic_thread_fence(memory_order_seq_cst);
	return (uint32_t)(atomic_load_explicit(&ec->word, memory_order_relaxed) & WAITER_MASK);
}

uint32_t park_notify(struct park_ec *ec, int n)
{
	uint32_t waiters = park_has_waiters(ec);

	if (waiters == 0)
		return 0;
	/* release: the published work happens-before a waiter's acquire load of
	 * the new epoch in park_wait() */
	atomic_fetch_add_explicit(&ec->word, EPOCH_ONE, memory_order_release);
	syscall(SYS_futex, epoch_addr(ec), FUTEX_WAKE_PRIVATE, n < 0 ? INT_MAX : n, NULL, NULL, 0);
	return waiters;
}
