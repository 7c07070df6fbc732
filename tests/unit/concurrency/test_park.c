/*
 * test_park.c — the eventcount: notify without waiters does nothing and
 * reports 0; prepare + cancel leaves no waiter; a notify between prepare and
 * wait makes wait return at once (no lost wake-up); a sleeping thread is
 * woken by a notify after it published nothing else.
 */
#include "concurrency/park.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

Test(park, notify_without_waiters_is_free)
{
	struct park_ec ec;

	park_init(&ec);
	cr_expect_eq(park_notify(&ec, 1), 0);
	cr_expect_eq(park_has_waiters(&ec), 0);
	(void)park_prepare(&ec);
	cr_expect_eq(park_has_waiters(&ec), 1);
	park_cancel(&ec);
	cr_expect_eq(park_has_waiters(&ec), 0);
	cr_expect_eq(park_notify(&ec, 1), 0);
}

Test(park, notify_before_wait_is_not_lost)
{
	struct park_ec ec;
	uint32_t key;

	park_init(&ec);
	key = park_prepare(&ec);
	cr_expect_eq(park_notify(&ec, 1), 1);
	park_wait(&ec, key); /* must return at once */
	cr_expect_eq(park_has_waiters(&ec), 0);
}

static struct park_ec shared_ec;
static _Atomic int flag, woke;

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		uint32_t key = park_prepare(&shared_ec);

		/* acquire: pairs with the main thread's release store of flag */
		if (atomic_load_explicit(&flag, memory_order_acquire)) {
			park_cancel(&shared_ec);
			break;
		}
		park_wait(&shared_ec, key);
	}
	atomic_store_explicit(&woke, 1, memory_order_release);
	return NULL;
}

Test(park, sleeper_is_woken)
{
	pthread_t t;

	park_init(&shared_ec);
	pthread_create(&t, NULL, sleeper, NULL);
	usleep(20000);
	atomic_store_explicit(&flag, 1, memory_order_release);
	park_notify(&shared_ec, -1);
	pthread_join(t, NULL);
	cr_expect(atomic_load_explicit(&woke, memory_order_acquire));
}
