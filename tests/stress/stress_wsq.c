/*
 * stress_wsq.c — time-boxed torture test of concurrency/wsq: every pushed
 * element is removed exactly once, by the owner or by exactly one thief,
 * and the owner's writes before a push are visible to whoever removes it.
 *
 * Rounds: the owner pushes a burst of items (each a struct whose payload
 * the owner writes just before pushing), takes some back, pushes more, and
 * drains; thieves steal continuously. Each removal checks the payload and
 * marks the item (an atomic counter per item: a second removal is a
 * violation). After each round every item of the round must be marked
 * exactly once. The small deque (64 slots) makes -ENOSPC and index wrap
 * frequent. ThreadSanitizer sees any payload read not ordered after the
 * owner's write.
 *
 * Usage: stress_wsq [--seconds S] [--thieves N]
 * Exits 0 with one summary line, or 1 with a message on a violation.
 */
#include "concurrency/wsq.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUND_ITEMS 4096
#define MAX_THIEVES 16

struct item {
	uint64_t payload; /* written by the owner before the push, plain */
	_Atomic int taken;
};

static struct wsq q;
static struct item items[ROUND_ITEMS];
static _Atomic int stop, failed;
static _Atomic uint64_t stolen, failed_steals;

static void take_item(struct item *it, uint64_t round)
{
	if (it->payload != round * 1000003u + (uint64_t)(it - items)) {
		fprintf(stderr, "stress_wsq: bad payload on item %zu\n", (size_t)(it - items));
		atomic_store_explicit(&failed, 1, memory_order_relaxed);
	}
	/* relaxed: the count is checked by the owner after joining the round
	 * through the round barrier below (seq_cst counters) */
	if (atomic_fetch_add_explicit(&it->taken, 1, memory_order_relaxed) != 0) {
		fprintf(stderr, "stress_wsq: item %zu removed twice\n", (size_t)(it - items));
		atomic_store_explicit(&failed, 1, memory_order_relaxed);
	}
}

static _Atomic uint64_t cur_round;
static _Atomic uint64_t removed_in_round;

static void *thief(void *arg)
{
	uint64_t mine = 0, fails = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		void *x;
		int rc = wsq_steal(&q, &x);

		if (rc == 0) {
			take_item(x, atomic_load_explicit(&cur_round, memory_order_relaxed));
			mine++;
			/* seq_cst: the owner waits for the round's count to reach
			 * ROUND_ITEMS before reusing items */
			atomic_fetch_add_explicit(&removed_in_round, 1, memory_order_seq_cst);
		} else if (rc == -EAGAIN) {
			fails++;
		}
	}
	atomic_fetch_add_explicit(&stolen, mine, memory_order_relaxed);
	atomic_fetch_add_explicit(&failed_steals, fails, memory_order_relaxed);
	return NULL;
}

static int parse_int(int argc, char **argv, const char *name, int def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return atoi(argv[i + 1]);
	return def;
}

int main(int argc, char **argv)
{
	int seconds = parse_int(argc, argv, "--seconds", 3);
	int nthieves = parse_int(argc, argv, "--thieves", 3);
	pthread_t th[MAX_THIEVES];
	struct timespec t0, now;
	uint64_t rounds = 0, owner_taken = 0;
	unsigned seed = 12345;

	if (nthieves < 1 || nthieves > MAX_THIEVES)
		nthieves = 3;
	if (wsq_init(&q, 64) != 0)
		return 1;
	for (int i = 0; i < nthieves; i++)
		pthread_create(&th[i], NULL, thief, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		uint64_t r = ++rounds;
		int next = 0;

		/* relaxed: thieves read it only after acquiring an item of this
		 * round, whose push released it */
		atomic_store_explicit(&cur_round, r, memory_order_relaxed);
		for (int i = 0; i < ROUND_ITEMS; i++) {
			items[i].payload = r * 1000003u + (uint64_t)i;
			atomic_store_explicit(&items[i].taken, 0, memory_order_relaxed);
		}
		atomic_store_explicit(&removed_in_round, 0, memory_order_seq_cst);
		while (next < ROUND_ITEMS) {
			int burst = 1 + (int)(rand_r(&seed) % 80);

			for (int k = 0; k < burst && next < ROUND_ITEMS; k++) {
				if (wsq_push(&q, &items[next]) == -ENOSPC)
					break;
				next++;
			}
			for (int k = (int)(rand_r(&seed) % 8); k > 0; k--) {
				struct item *it = wsq_take(&q);

				if (it == NULL)
					break;
				take_item(it, r);
				owner_taken++;
				atomic_fetch_add_explicit(&removed_in_round, 1,
							  memory_order_seq_cst);
			}
		}
		for (struct item *it; (it = wsq_take(&q)) != NULL;) {
			take_item(it, r);
			owner_taken++;
			atomic_fetch_add_explicit(&removed_in_round, 1, memory_order_seq_cst);
		}
		/* thieves may still hold items they stole: wait for every removal */
		while (atomic_load_explicit(&removed_in_round, memory_order_seq_cst) < ROUND_ITEMS)
			;
		for (int i = 0; i < ROUND_ITEMS; i++)
			if (atomic_load_explicit(&items[i].taken, memory_order_relaxed) != 1) {
				fprintf(
				    stderr, "stress_wsq: round %llu item %d removed %d times\n",
				    (unsigned long long)r, i,
				    atomic_load_explicit(&items[i].taken, memory_order_relaxed));
				atomic_store_explicit(&failed, 1, memory_order_relaxed);
			}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!atomic_load_explicit(&failed, memory_order_relaxed) &&
		 now.tv_sec - t0.tv_sec < seconds);
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (int i = 0; i < nthieves; i++)
		pthread_join(th[i], NULL);
	wsq_deinit(&q);
	printf("stress_wsq: %llu rounds, %llu items, owner took %llu, thieves stole %llu "
	       "(%llu lost races), %s\n",
	       (unsigned long long)rounds, (unsigned long long)rounds * ROUND_ITEMS,
	       (unsigned long long)owner_taken, (unsigned long long)stolen,
	       (unsigned long long)failed_steals, failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
