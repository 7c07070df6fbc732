/*
 * stress_ebr_held.c — epoch reclamation while one thread holds its epoch for
 * seconds (a snapshot's saver stays online from db_snap_begin to
 * db_snap_end: storage/snap.h). Retirers keep retiring; nothing retired
 * after the holder's announcement may be freed while it holds; once it
 * lets go, everything is freed. Each retirer retires up to --max objects
 * (memory: ~50 bytes each are held until the hold ends) and prints its
 * rate for each block of BLOCK retires: with a collect that walked the
 * whole limbo on every over-cap retire the rate fell as the limbo grew
 * (quadratic), and so did collects that re-walked the orphan list (donated
 * limbos of parked threads, adopted by collectors: the retirers park every
 * 4096 retires); now it stays flat. The figures are printed, not asserted
 * (no timed asserts). Runs under TSan and ASan too.
 *
 * Usage: stress_ebr_held [--seconds S] [--retirers N] [--max N]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concurrency/ebr.h"
#include "concurrency/mem.h"

struct obj {
	uint64_t magic;
	_Atomic int *holding; /* the hold flag at retire time, if it was set */
};

#define MAGIC 0x5ea1ed0b1ec7ULL

static struct ebr *dom;
static _Atomic int holding; /* 1 while the holder holds (set after its announce) */
static _Atomic bool stop;
static _Atomic long long freed_during_hold, freed;
static double seconds = 5;
static int retirers = 2;
static long long max_retires = 1500000;
#define BLOCK  250000
#define BLOCKS 64

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void obj_free(void *p)
{
	struct obj *o = p;

	if (o->magic != MAGIC) {
		fprintf(stderr, "stress_ebr_held: FAIL: double free or corruption\n");
		exit(1);
	}
	/* relaxed: the flag is only set and cleared by the holder; an object
	 * retired while it was set is freed only after it cleared it, which
	 * this load must then see (the grace period orders it) */
	if (o->holding && atomic_load_explicit(o->holding, memory_order_relaxed))
		/* relaxed: counters read after the joins */
		atomic_fetch_add_explicit(&freed_during_hold, 1, memory_order_relaxed);
	o->magic = 0;
	atomic_fetch_add_explicit(&freed, 1, memory_order_relaxed);
	mem_free(o);
}

static void *retirer(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct ebr_thread *t = ebr_register(dom);
	int64_t at[BLOCKS + 1];
	long long n = 0;
	int nb = 0;

	ebr_online(t);
	at[0] = now_ms();
	/* relaxed: a flag */
	while (!atomic_load_explicit(&stop, memory_order_relaxed) && n < max_retires) {
		struct obj *o = mem_alloc(sizeof(*o));

		o->magic = MAGIC;
		/* acquire: a hold flag seen set was set after the holder announced */
		o->holding = atomic_load_explicit(&holding, memory_order_acquire) ? &holding : NULL;
		ebr_retire(t, o, 64, obj_free);
		ebr_quiescent(t);
		if (++n % BLOCK == 0 && nb < BLOCKS)
			at[++nb] = now_ms();
		if (n % 4096 == 0) { /* park: the limbo is donated, others adopt it */
			ebr_offline(t);
			ebr_online(t);
		}
	}
	ebr_offline(t);
	ebr_unregister(t);
	printf("stress_ebr_held: retirer %d: %lld retires; k retires/s per block of %d:", id, n,
	       BLOCK);
	for (int i = 1; i <= nb; i++)
		printf(" %lld", (long long)BLOCK / (at[i] - at[i - 1] + 1));
	printf("\n");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[16];
	struct ebr_thread *h;
	struct timespec ts;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--retirers") == 0 && i + 1 < argc)
			retirers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
			max_retires = atoll(argv[++i]);
		else {
			fprintf(stderr,
				"usage: stress_ebr_held [--seconds S] [--retirers N] [--max N]\n");
			return 2;
		}
	}
	if (retirers < 1 || retirers > 16 || seconds <= 0 || seconds > 60)
		return 2;
	dom = ebr_create(0);
	h = ebr_register(dom);
	ebr_online(h); /* the hold begins: no quiescent state until it ends */
	/* release: after the announcement */
	atomic_store_explicit(&holding, 1, memory_order_release);
	for (int i = 0; i < retirers; i++)
		pthread_create(&th[i], NULL, retirer, (void *)(intptr_t)i);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	/* relaxed: ebr_quiescent's announcement orders it before later frees */
	atomic_store_explicit(&holding, 0, memory_order_relaxed);
	ebr_quiescent(h); /* the hold ends */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < retirers; i++)
		pthread_join(th[i], NULL);
	ebr_offline(h);
	ebr_unregister(h);
	ebr_destroy(&dom);
	printf("stress_ebr_held: freed %lld, during the hold %lld\n",
	       atomic_load_explicit(&freed, memory_order_relaxed),
	       atomic_load_explicit(&freed_during_hold, memory_order_relaxed));
	if (atomic_load_explicit(&freed_during_hold, memory_order_relaxed) != 0) {
		fprintf(stderr, "stress_ebr_held: FAIL: freed while the epoch was held\n");
		return 1;
	}
	return 0;
}
