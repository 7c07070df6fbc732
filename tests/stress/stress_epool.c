/*
 * stress_epool.c — time-boxed torture test of concurrency/epool: blocks
 * freed by threads that do not own them (as the epoch reclaimer does with
 * entries) come back to their owners, no block is handed out twice, and
 * slabs are returned when empty.
 *
 * Workers allocate blocks, stamp them (owner, sequence, a checksum over the
 * 88 bytes) and exchange them into a shared table of atomic slots; whatever
 * a worker gets out of a slot it validates and frees, so most frees are
 * remote. A quarter of the blocks a worker frees itself at once. Worker
 * threads exit and new ones start now and then (a heap parked and
 * adopted), so blocks are also freed after their owner exited. At the end
 * every block is freed and mem_used() must balance. A block handed out
 * twice shows as a bad checksum; ThreadSanitizer sees any access to a block
 * that is not ordered after its previous user's (the remote stack's
 * release / acquire), AddressSanitizer any use of a freed block.
 *
 * Usage: stress_epool [--seconds S] [--threads N]
 * Exits 0 and prints one summary line, or 1 with a message on a violation.
 */
#include "concurrency/epool.h"
#include "concurrency/mem.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS	4096
#define WORDS	(EPOOL_BLOCK / 8)
#define MAX_THR 32
#define ROUND	20000 /* operations before a worker thread exits */

static void *_Atomic slots[SLOTS];
static atomic_bool stop;
static atomic_int failed;
static _Atomic uint64_t ops, remote_frees;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void stamp(uint64_t *w, uint64_t id)
{
	uint64_t sum = 0;

	for (int i = 0; i < WORDS - 1; i++) {
		w[i] = mix(id + (uint64_t)i);
		sum ^= w[i];
	}
	w[WORDS - 1] = sum;
}

static bool valid(const uint64_t *w)
{
	uint64_t sum = 0;

	for (int i = 0; i < WORDS - 1; i++)
		sum ^= w[i];
	return sum == w[WORDS - 1];
}

static void check_free(void *b, bool remote)
{
	if (!valid(b)) {
		fprintf(stderr, "stress_epool: block %p corrupt (handed out twice?)\n", b);
		atomic_store_explicit(&failed, 1, memory_order_relaxed);
	}
	memset(b, 0xdd, EPOOL_BLOCK);
	epool_free(b);
	if (remote)
		atomic_fetch_add_explicit(&remote_frees, 1, memory_order_relaxed);
}

struct worker {
	unsigned id;
	uint64_t rng;
};

static void *run(void *arg)
{
	struct worker *wk = arg;
	uint64_t seq = 0, n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed) && n < ROUND) {
		uint64_t r = wk->rng = mix(wk->rng + 0x9e3779b97f4a7c15ull);
		uint64_t *b = epool_alloc();

		stamp(b, ((uint64_t)wk->id << 48) | seq++);
		if ((r & 3) == 0) {
			check_free(b, false); /* the owner's own free */
		} else {
			/* acq_rel: our stamp before the slot holds it; the previous
			 * occupant's stamp (another thread's) before we read it */
			void *old = atomic_exchange_explicit(&slots[(r >> 8) % SLOTS], b,
							     memory_order_acq_rel);
			if (old)
				check_free(old, true);
		}
		n++;
	}
	atomic_fetch_add_explicit(&ops, n, memory_order_relaxed);
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int nthr = 4;
	pthread_t t[MAX_THR];
	struct worker wk[MAX_THR];
	int64_t u0 = mem_used();
	struct timespec t0, now;
	unsigned gen = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthr = atoi(argv[i + 1]);
	}
	if (nthr < 2 || nthr > MAX_THR) {
		fprintf(stderr, "usage: stress_epool [--seconds S] [--threads 2..%d]\n", MAX_THR);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nthr; i++) {
		wk[i] = (struct worker){.id = gen++, .rng = (uint64_t)i + 1};
		pthread_create(&t[i], NULL, run, &wk[i]);
	}
	/* restart each worker when it finishes its round (heaps parked and
	 * adopted) until the time is up */
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el =
		    (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= seconds || atomic_load_explicit(&failed, memory_order_relaxed))
			break;
		for (int i = 0; i < nthr; i++) {
			pthread_join(t[i], NULL);
			wk[i] = (struct worker){.id = gen++, .rng = wk[i].rng};
			pthread_create(&t[i], NULL, run, &wk[i]);
		}
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < nthr; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++) {
		void *b = atomic_exchange_explicit(&slots[i], NULL, memory_order_acquire);

		if (b)
			check_free(b, true);
	}
	int64_t du = mem_used() - u0;

	printf("stress_epool: %d threads, %u thread starts, %" PRIu64 " allocations, %" PRIu64
	       " remote frees, %" PRId64 " slabs left, used_memory delta %" PRId64 "\n",
	       nthr, gen, atomic_load(&ops), atomic_load(&remote_frees), epool_slabs(), du);
	if (du != 0) {
		fprintf(stderr, "stress_epool: used_memory off by %" PRId64 " bytes\n", du);
		return 1;
	}
	return atomic_load(&failed) ? 1 : 0;
}
