/*
 * stress_park.c — time-boxed torture test of concurrency/park (eventcount)
 * with concurrency/mpscq: no wake-up is lost and no node is lost.
 *
 * Producers push nodes onto one MPSC queue in small bursts with random
 * pauses and call park_notify() after each push; the consumer drains the
 * queue and, when it finds it empty, prepares, re-checks and sleeps on the
 * eventcount. A lost wake-up leaves the consumer asleep with nodes queued:
 * a watchdog fails the test if nodes stay unconsumed for 2 s. At the end
 * every node must have been consumed once, each producer's in order. Also
 * counts how many notifies found no waiter (the no-syscall fast path).
 *
 * Usage: stress_park [--seconds S] [--producers N]
 */
#include "concurrency/mpscq.h"
#include "concurrency/park.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROD 16

struct msg {
	struct mpscq_node node;
	int producer;
	uint64_t seq;
};

static struct mpscq q;
static struct park_ec ec;
static _Atomic int stop, producers_done, failed;
static _Atomic uint64_t produced, consumed, fast_notifies, sleeps;

static void *producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned seed = (unsigned)id * 7919u + 1;
	uint64_t seq = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int burst = 1 + (int)(rand_r(&seed) % 16);

		for (int i = 0; i < burst; i++) {
			struct msg *m = malloc(sizeof(*m));

			m->producer = id;
			m->seq = seq++;
			mpscq_push(&q, &m->node);
			/* relaxed: statistics */
			atomic_fetch_add_explicit(&produced, 1, memory_order_relaxed);
			if (park_notify(&ec, 1) == 0)
				atomic_fetch_add_explicit(&fast_notifies, 1, memory_order_relaxed);
		}
		if (rand_r(&seed) % 4 == 0)
			usleep(rand_r(&seed) % 200);
	}
	/* release: this producer's pushes are complete */
	atomic_fetch_add_explicit(&producers_done, 1, memory_order_release);
	park_notify(&ec, 1);
	return NULL;
}

static int nprod;

static void *consumer(void *arg)
{
	uint64_t next[MAX_PROD] = {0};

	(void)arg;
	for (;;) {
		struct mpscq_node *n = mpscq_take_all(&q);

		if (n == NULL) {
			uint32_t key;

			/* acquire: pairs with the producers' release increment */
			if (atomic_load_explicit(&producers_done, memory_order_acquire) == nprod &&
			    mpscq_empty(&q))
				break;
			key = park_prepare(&ec);
			if (!mpscq_empty(&q) ||
			    atomic_load_explicit(&producers_done, memory_order_acquire) == nprod) {
				park_cancel(&ec);
				continue;
			}
			atomic_fetch_add_explicit(&sleeps, 1, memory_order_relaxed);
			park_wait(&ec, key);
			continue;
		}
		while (n) {
			struct msg *m = (struct msg *)n;

			n = n->next;
			if (m->seq != next[m->producer]) {
				fprintf(stderr, "stress_park: producer %d: got %llu want %llu\n",
					m->producer, (unsigned long long)m->seq,
					(unsigned long long)next[m->producer]);
				atomic_store_explicit(&failed, 1, memory_order_relaxed);
			}
			next[m->producer] = m->seq + 1;
			free(m);
			atomic_fetch_add_explicit(&consumed, 1, memory_order_relaxed);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = 3;
	pthread_t pt[MAX_PROD], ct;
	uint64_t last_consumed = 0;
	int stuck_ms = 0;

	nprod = 3;
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--producers"))
			nprod = atoi(argv[i + 1]);
	}
	if (nprod < 1 || nprod > MAX_PROD)
		nprod = 3;
	mpscq_init(&q);
	park_init(&ec);
	pthread_create(&ct, NULL, consumer, NULL);
	for (int i = 0; i < nprod; i++)
		pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i);
	for (int ms = 0; ms < seconds * 1000 && !atomic_load(&failed); ms += 10) {
		uint64_t c = atomic_load_explicit(&consumed, memory_order_relaxed);
		uint64_t p = atomic_load_explicit(&produced, memory_order_relaxed);

		usleep(10000);
		if (c == last_consumed && p > c) {
			stuck_ms += 10;
			if (stuck_ms >= 2000) {
				fprintf(stderr,
					"stress_park: consumer stuck with %llu queued "
					"(lost wake-up)\n",
					(unsigned long long)(p - c));
				_exit(1);
			}
		} else {
			stuck_ms = 0;
		}
		last_consumed = c;
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (int i = 0; i < nprod; i++)
		pthread_join(pt[i], NULL);
	pthread_join(ct, NULL);
	printf("stress_park: %llu produced, %llu consumed, %llu consumer sleeps, %llu notifies "
	       "without a waiter (no syscall), %s\n",
	       (unsigned long long)produced, (unsigned long long)consumed,
	       (unsigned long long)sleeps, (unsigned long long)fast_notifies,
	       failed || produced != consumed ? "FAILED" : "ok");
	return failed || produced != consumed ? 1 : 0;
}
