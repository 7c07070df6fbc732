/*
 * wsq.h — a bounded Chase–Lev work-stealing deque of pointers.
 *
 * One owner thread pushes and takes at the bottom (LIFO); any number of
 * thieves steal at the top (FIFO). The algorithm and every memory ordering
 * are those of Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
 * Work-Stealing for Weak Memory Models" (PPoPP 2013), with the fix CDSChecker
 * found later (steal loads bottom with acquire). The array is fixed: instead
 * of growing, wsq_push() reports -ENOSPC and the caller overflows elsewhere
 * (kvsd's workers put the task on their MPSC inbox). A fixed array needs no
 * resize and therefore no reclamation of old arrays — the part of Chase–Lev
 * that is both the slowest and where the published bugs were.
 *
 * Threads:
 *   owner only:  wsq_push, wsq_take
 *   any thread:  wsq_steal, wsq_size_approx
 *   one thread, no concurrent use: wsq_init, wsq_deinit
 * Ownership: the deque stores the pointers it is given; it never frees them.
 * Ordering: a successful wsq_steal() or wsq_take() of x happens-after the
 *   wsq_push(x): everything the owner wrote before pushing is visible to the
 *   thread that gets x. Each element is returned by exactly one take/steal.
 * Progress: push and take are wait-free; steal is lock-free (it fails with
 *   -EAGAIN when it loses a race, and a retry can then succeed).
 * Errors: wsq_init -ENOMEM / -EINVAL (capacity not a power of two);
 *   wsq_push -ENOSPC when full; wsq_steal -ENOENT (empty) or -EAGAIN (lost
 *   a race with another thief or the owner).
 */
#ifndef KVSD_WSQ_H
#define KVSD_WSQ_H

#include "concurrency/util.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct wsq {
	/* next index to steal; written by thieves (CAS) and by the owner taking the
	 * last element (CAS); read by everyone */
	_Atomic int64_t top KV_ALIGNED;
	/* next free index; written by the owner only, read by thieves */
	_Atomic int64_t bottom KV_ALIGNED;
	int64_t mask KV_ALIGNED; /* capacity - 1; immutable after init */
	_Atomic(void *) *slots;	 /* relaxed; published by the release store of bottom */
};

int wsq_init(struct wsq *q, size_t capacity);
void wsq_deinit(struct wsq *q);

/* Owner: appends x at the bottom. 0, or -ENOSPC when the deque is full. */
int wsq_push(struct wsq *q, void *x);
/* Owner: removes the newest element, or NULL when empty. */
void *wsq_take(struct wsq *q);
/* Any thread: removes the oldest element into *out. 0, -ENOENT, -EAGAIN. */
int wsq_steal(struct wsq *q, void **out);
/* Any thread: a snapshot of the size, possibly stale; never negative. */
size_t wsq_size_approx(struct wsq *q);

#endif
