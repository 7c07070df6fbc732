/*
 * test_mpscq.c — the MPSC queue: FIFO order from one producer, the
 * was-empty result of push, take_all on an empty queue, and several
 * producer threads whose nodes all arrive exactly once, each producer's in
 * its own order.
 */
#include "concurrency/mpscq.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

struct item {
	struct mpscq_node node;
	int producer, seq;
};

Test(mpscq, fifo_and_was_empty)
{
	struct mpscq q;
	struct item it[4];
	struct mpscq_node *n;
	int i = 0;

	mpscq_init(&q);
	cr_expect(mpscq_empty(&q));
	cr_expect_null(mpscq_take_all(&q));
	for (int k = 0; k < 4; k++) {
		it[k].seq = k;
		cr_expect_eq(mpscq_push(&q, &it[k].node), k == 0);
	}
	cr_expect(!mpscq_empty(&q));
	for (n = mpscq_take_all(&q); n; n = n->next, i++)
		cr_expect_eq(((struct item *)n)->seq, i);
	cr_expect_eq(i, 4);
	cr_expect(mpscq_empty(&q));
}

#define PRODUCERS 4
#define PER	  20000

static struct mpscq shared_q;

static void *producer(void *arg)
{
	struct item *items = arg;

	for (int i = 0; i < PER; i++)
		mpscq_push(&shared_q, &items[i].node);
	return NULL;
}

Test(mpscq, many_producers_each_in_order)
{
	pthread_t t[PRODUCERS];
	struct item *items = calloc(PRODUCERS * PER, sizeof(*items));
	int next[PRODUCERS] = {0}, got = 0;

	mpscq_init(&shared_q);
	for (int p = 0; p < PRODUCERS; p++) {
		for (int i = 0; i < PER; i++) {
			items[p * PER + i].producer = p;
			items[p * PER + i].seq = i;
		}
		pthread_create(&t[p], NULL, producer, &items[p * PER]);
	}
	while (got < PRODUCERS * PER) {
		for (struct mpscq_node *n = mpscq_take_all(&shared_q); n; n = n->next) {
			struct item *it = (struct item *)n;

			cr_assert_eq(it->seq, next[it->producer], "producer %d out of order",
				     it->producer);
			next[it->producer]++;
			got++;
		}
	}
	for (int p = 0; p < PRODUCERS; p++)
		pthread_join(t[p], NULL);
	cr_expect_null(mpscq_take_all(&shared_q));
	free(items);
}
