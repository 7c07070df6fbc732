/*
 * park.h — an eventcount: lets threads sleep until "something changed"
 * without losing a wake-up, and lets producers skip every system call when
 * nobody sleeps.
 *
 * The design is Vyukov's eventcount as in Eigen and folly: one 64-bit word,
 * a wake epoch in the high half and the number of prepared waiters in the
 * low half. A waiter announces itself (park_prepare: seq_cst fetch_add),
 * re-checks its condition, and then either cancels (park_cancel) or sleeps
 * (park_wait: futex on the epoch while it is unchanged). A notifier first
 * publishes its change, then calls park_notify: a seq_cst fence, one load,
 * and — only if some waiter is prepared — an epoch bump and a futex wake.
 * The two seq_cst operations form a Dekker pair: either the waiter's
 * re-check sees the change, or the notifier sees the waiter.
 *
 * Threads that block somewhere other than the futex (kvsd's workers block in
 * their event loop's epoll) use the same counting with park_prepare /
 * park_cancel and ask park_has_waiters() whether anyone must be woken; the
 * wake itself then goes through that event loop (event_active → eventfd).
 *
 * Threads: every function from any thread. A thread must pair each
 *   park_prepare with exactly one park_cancel or park_wait.
 * Ordering: park_notify / park_has_waiters order the caller's earlier writes
 *   before the waiter check (seq_cst fence); a waiter's re-check after
 *   park_prepare sees them or the notifier sees the waiter.
 * Progress: prepare/cancel/has_waiters are wait-free; park_notify makes a
 *   system call only when a waiter is prepared; park_wait blocks.
 * Errors: none.
 */
#ifndef KVSD_PARK_H
#define KVSD_PARK_H

#include <stdatomic.h>
#include <stdint.h>

struct park_ec {
	/* epoch << 32 | prepared waiters; see park.c */
	_Atomic uint64_t word;
};

void park_init(struct park_ec *ec);
/* Announces a waiter; returns the key to pass to park_wait. */
uint32_t park_prepare(struct park_ec *ec);
/* Withdraws a prepared waiter that found work on its re-check. */
void park_cancel(struct park_ec *ec);
/* Sleeps until a park_notify after the matching park_prepare, then withdraws. */
void park_wait(struct park_ec *ec, uint32_t key);
/* Wakes up to n futex sleepers (n < 0: all) if any waiter is prepared.
 * Returns the number of prepared waiters seen (0: nothing was done). */
uint32_t park_notify(struct park_ec *ec, int n);
/* seq_cst fence, then the number of prepared waiters (no wake). */
uint32_t park_has_waiters(struct park_ec *ec);

#endif
