/*
 * wsq.c — bounded Chase–Lev deque with the C11 orderings of Lê et al.
 *
 * Indices are signed 64-bit and never wrap in practice. Elements live in
 * slots[i & mask] for top <= i < bottom.
 *
 * Why it is correct (sketch, following the paper's proof):
 * - push writes the slot, then bottom with release: a thief that reads the
 *   new bottom with acquire sees the slot.
 * - take first lowers bottom, then a seq_cst fence, then reads top; steal
 *   reads top, a seq_cst fence, then bottom. The two fences order the two
 *   store→load pairs (Dekker), so owner and thief cannot both believe they
 *   own the last element without meeting at the CAS on top.
 * - Only a CAS on top removes the element at index top; owner and thieves
 *   race for the last element through that same CAS, so each index goes to
 *   exactly one of them.
 * - Fixed array: push refuses when bottom - top would exceed the capacity.
 *   Slot b & mask last held index b - cap, already removed (top > b - cap).
 *   A thief that took index b - cap read the slot before its CAS, and push
 *   read top with acquire after that CAS, so the slot is not overwritten
 *   while a thief still reads it — and a thief whose CAS fails discards what
 *   it read.
 *
 * The shared accesses go through wsq_atomic.h: plain C11 atomics here, the
 * scheduling points of a model checker in test_wsq_interleave, which explores
 * every interleaving of this code (with delayed stores) for small programs.
 */
#include "concurrency/wsq.h"
#include "concurrency/mem.h"
#include "concurrency/wsq_atomic.h"

#include <errno.h>

int wsq_init(struct wsq *q, size_t capacity)
{
	if (capacity < 2 || (capacity & (capacity - 1)) != 0)
		return -EINVAL;
	q->slots = mem_calloc(capacity, sizeof(*q->slots));
	if (q->slots == NULL)
		return -ENOMEM;
	q->mask = (int64_t)capacity - 1;
	atomic_init(&q->top, 0);
	atomic_init(&q->bottom, 0);
	for (size_t i = 0; i < capacity; i++)
		atomic_init(&q->slots[i], NULL);
	return 0;
}

void wsq_deinit(struct wsq *q)
{
	mem_free((void *)q->slots);
	q->slots = NULL;
}

int wsq_push(struct wsq *q, void *x)
{
	/* relaxed: only the owner writes bottom */
	int64_t b = WSQ_LOAD(&q->bottom, memory_order_relaxed);
	/* acquire: pairs with the thieves' CAS on top, so a slot is reused only
	 * after the thief that removed its last occupant finished reading it */
	int64_t t = WSQ_LOAD(&q->top, memory_order_acquire);

	if (b - t > q->mask)
		return -ENOSPC;
	/* relaxed: published by the release store of bottom below */
	WSQ_STORE(&q->slots[b & q->mask], x, memory_order_relaxed);
	/* release: the slot (and whatever the owner wrote into *x) is written
	 * before bottom; pairs with the acquire load of bottom in wsq_steal().
	 * The paper has a release fence and a relaxed store; a release store gives
	 * the same pairing, costs the same on x86 and ARMv8, and is modelled by
	 * ThreadSanitizer, which ignores fences. */
	WSQ_STORE(&q->bottom, b + 1, memory_order_release);
	return 0;
}

void *wsq_take(struct wsq *q)
{
	/* relaxed: only the owner writes bottom */
	int64_t b = WSQ_LOAD(&q->bottom, memory_order_relaxed) - 1;
	int64_t t;
	void *x = NULL;

	WSQ_STORE(&q->bottom, b, memory_order_relaxed);
	/* seq_cst: the lowered bottom is visible before top is read; pairs with
	 * the seq_cst fence in wsq_steal() (store→load ordering both ways) */
	WSQ_FENCE(memory_order_seq_cst);
	t = WSQ_LOAD(&q->top, memory_order_relaxed);
	if (t <= b) {
		x = WSQ_LOAD(&q->slots[b & q->mask], memory_order_relaxed);
		if (t == b) {
			/* last element: race the thieves for it through top.
			 * seq_cst on success orders it with the thieves' CAS; relaxed
			 * on failure, since a loser reads nothing through it */
			if (!WSQ_CAS(&q->top, &t, t + 1, memory_order_seq_cst,
				     memory_order_relaxed))
				x = NULL;
			WSQ_STORE(&q->bottom, b + 1, memory_order_relaxed);
		}
	} else {
		/* empty: restore bottom */
		WSQ_STORE(&q->bottom, b + 1, memory_order_relaxed);
	}
	return x;
}

int wsq_steal(struct wsq *q, void **out)
{
	/* acquire: pairs with the CAS of a previous thief, so what it removed is
	 * not read again as current */
	int64_t t = WSQ_LOAD(&q->top, memory_order_acquire);
	int64_t b;
	void *x;

	/* seq_cst: top is read before bottom; pairs with the fence in wsq_take() */
	WSQ_FENCE(memory_order_seq_cst);
	/* acquire: pairs with the release store in wsq_push(): the slot below the
	 * bottom we read is written (the CDSChecker fix: not relaxed) */
	b = WSQ_LOAD(&q->bottom, memory_order_acquire);
	if (t >= b)
		return -ENOENT;
	x = WSQ_LOAD(&q->slots[t & q->mask], memory_order_relaxed);
	/* seq_cst on success: orders with the owner's CAS for the last element;
	 * relaxed on failure: x is discarded */
	if (!WSQ_CAS(&q->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
		return -EAGAIN;
	*out = x;
	return 0;
}

size_t wsq_size_approx(struct wsq *q)
{
	/* relaxed: a hint for victim selection and statistics only */
	int64_t b = WSQ_LOAD(&q->bottom, memory_order_relaxed);
	int64_t t = WSQ_LOAD(&q->top, memory_order_relaxed);

	return b > t ? (size_t)(b - t) : 0;
}
