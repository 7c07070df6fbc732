/*
 * mpscq.h — an intrusive multi-producer, single-consumer queue.
 *
 * Producers push nodes onto a lock-free LIFO (a Treiber stack: one CAS on
 * the head); the consumer takes the whole stack with one exchange and
 * reverses it, so it receives nodes in push order per producer and overall
 * in the order the CASes succeeded. Taking everything at once means the
 * consumer never reads a node another thread may still link, so there is no
 * ABA problem and no stub node (unlike Vyukov's MPSC list, a preempted
 * producer never hides later nodes from the consumer).
 *
 * Threads:
 *   any thread:     mpscq_push, mpscq_empty
 *   consumer only:  mpscq_take_all
 * Ownership: nodes are embedded in the caller's objects; the queue links them
 *   and never frees them. A node may be in one queue at a time.
 * Ordering: push releases what the producer wrote before it (including the
 *   object around the node); take_all acquires it.
 * Progress: push is lock-free; take_all and empty are wait-free.
 * Errors: none.
 */
#ifndef KVSD_MPSCQ_H
#define KVSD_MPSCQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct mpscq_node {
	struct mpscq_node *next; /* written by the pushing producer before its CAS */
};

struct mpscq {
	/* newest node; CAS by producers, exchanged to NULL by the consumer */
	_Atomic(struct mpscq_node *) head;
};

void mpscq_init(struct mpscq *q);
/* Pushes n. Returns true if the queue was empty before (the consumer may need
 * waking). */
bool mpscq_push(struct mpscq *q, struct mpscq_node *n);
/* Removes every node; returns them oldest first as a NULL-terminated list
 * linked through next, or NULL. */
struct mpscq_node *mpscq_take_all(struct mpscq *q);
/* A snapshot: true if nothing was queued at the moment of the load. */
bool mpscq_empty(struct mpscq *q);

#endif
