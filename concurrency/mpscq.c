/*
 * mpscq.c — MPSC queue as a Treiber stack drained whole and reversed.
 */
#include "concurrency/mpscq.h"

void mpscq_init(struct mpscq *q)
{
	atomic_init(&q->head, NULL);
}

bool mpscq_push(struct mpscq *q, struct mpscq_node *n)
{
	/* relaxed: only the CAS below publishes n */
	struct mpscq_node *h = atomic_load_explicit(&q->head, memory_order_relaxed);

	do {
		n->next = h;
		/* release: n->next and the object around n are written before n is
		 * reachable; pairs with the acquire exchange in mpscq_take_all() */
	} while (!atomic_compare_exchange_weak_explicit(&q->head, &h, n, memory_order_release,
							memory_order_relaxed));
	return h == NULL;
}

struct mpscq_node *mpscq_take_all(struct mpscq *q)
{
	/* acquire: pairs with the release CAS of every push whose node we take */
	struct mpscq_node *h = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
	struct mpscq_node *rev = NULL;

	while (h) {
		struct mpscq_node *next = h->next;

		h->next = rev;
		rev = h;
		h = next;
	}
	return rev;
}

bool mpscq_empty(struct mpscq *q)
{
	/* relaxed: a hint; the caller takes with acquire before using anything */
	return atomic_load_explicit(&q->head, memory_order_relaxed) == NULL;
}
