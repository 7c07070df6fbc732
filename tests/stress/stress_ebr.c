/*
 * stress_ebr.c — time-boxed torture test of concurrency/ebr: no object is
 * freed while a reader can hold it, and garbage stays bounded and is
 * reclaimed even from threads that park with garbage pending.
 *
 * A table of atomic slots holds objects carrying a magic number and a
 * checksum. Every worker runs batches of operations inside one section:
 * reads (load a slot, validate, keep up to HOLD pointers and validate them
 * again at the end of the batch) and writes (build an object, exchange it
 * into a slot, retire the old one). Between batches a worker announces a
 * quiescent state (half the time with ebr_quiescent_collect, as kvsd
 * does), and now and then goes offline for a while (parking). Thread 0 also
 * parks for long with garbage pending and checks that other threads free
 * it while it sleeps; the last thread sometimes unregisters and registers
 * again (orphans). The main thread samples ebr_pending_bytes and
 * collects every 10 ms, as kvsd's hz timer does. The free function poisons
 * an object before freeing it, so a use after free shows as a bad magic even
 * without AddressSanitizer; ThreadSanitizer sees any free that is not ordered
 * after a reader's accesses.
 *
 * Usage: stress_ebr [--seconds S] [--threads N] [--cap BYTES]
 *                   [--max-pending BYTES]
 * Exits 0 and prints one summary line, or 1 with a message on a violation.
 */
#include "concurrency/ebr.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS	  256
#define HOLD	  4
#define WORDS	  6
#define MAGIC	  0x6b7673646f626a31ull /* "kvsdobj1" */
#define POISON	  0xdeaddeaddeaddeadull
#define MAX_THR	  64
#define SLEEP_MS  100 /* thread 0's long park */
#define RECLAIM_S 5   /* how long thread 0 waits for others to free its garbage */

struct obj {
	uint64_t magic;
	uint64_t id;
	uint32_t owner;
	uint32_t pad;
	uint64_t w[WORDS];
	uint64_t sum;
};

static struct ebr *dom;
static struct obj *_Atomic slots[SLOTS];
static atomic_bool stop;
static atomic_int failed;
/* objects retired per thread; freed_by[0]: objects retired by thread 0 and freed */
static _Atomic uint64_t retired_by[MAX_THR], freed_by[1];
static _Atomic uint64_t total_ops, total_reads, total_retires, parks, reregs;
static _Atomic uint64_t allocated, freed_total;

static void fail(const char *fmt, uint64_t a, uint64_t b)
{
	/* relaxed: only the first message matters; exit() follows */
	if (atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed) == 0) {
		fprintf(stderr, "stress_ebr: VIOLATION: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
		fflush(stderr);
	}
	_exit(1);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint64_t checksum(const struct obj *o)
{
	uint64_t h = o->id * 0x9e3779b97f4a7c15ull ^ o->owner;

	for (int i = 0; i < WORDS; i++)
		h = (h ^ o->w[i]) * 0x100000001b3ull;
	return h;
}

static struct obj *obj_new(uint32_t owner, uint64_t id, uint64_t *rs)
{
	struct obj *o = malloc(sizeof(*o));

	if (o == NULL)
		fail("out of memory (%" PRIu64 " %" PRIu64 ")", 0, 0);
	o->magic = MAGIC;
	o->id = id;
	o->owner = owner;
	o->pad = 0;
	for (int i = 0; i < WORDS; i++)
		o->w[i] = rnd(rs);
	o->sum = checksum(o);
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&allocated, 1, memory_order_relaxed);
	return o;
}

static void obj_free(void *p)
{
	struct obj *o = p;

	if (o->magic != MAGIC)
		fail("double free or corrupt object (magic %#" PRIx64 ", id %" PRIu64 ")", o->magic,
		     o->id);
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&freed_total, 1, memory_order_relaxed);
	o->magic = POISON;
	o->sum = POISON;
	memset(o->w, 0xdd, sizeof(o->w));
	free(o);
}

/* Objects retired by thread 0 are counted apart: thread 0 checks that others
 * free them while it is parked. */
static void obj_free0(void *p)
{
	/* relaxed: statistic, polled by thread 0 */
	atomic_fetch_add_explicit(&freed_by[0], 1, memory_order_relaxed);
	obj_free(p);
}

static void check(const struct obj *o)
{
	if (o->magic != MAGIC)
		fail("use after free: magic %#" PRIx64 " (object id %" PRIu64 ")", o->magic, o->id);
	if (o->sum != checksum(o))
		fail("corrupt object: checksum %#" PRIx64 " (id %" PRIu64 ")", o->sum, o->id);
}

struct worker {
	pthread_t tid;
	uint32_t idx;
	int nthreads;
};

static void park(struct ebr_thread *t, uint64_t *rs)
{
	ebr_offline(t);
	if (rnd(rs) % 4 == 0)
		usleep((useconds_t)(rnd(rs) % 200));
	else
		sched_yield();
	ebr_online(t);
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&parks, 1, memory_order_relaxed);
}

/* Thread 0: retire some garbage, park for long, and require others to have
 * freed everything it retired before it parked. */
static void long_park(struct ebr_thread *t, uint32_t me)
{
	/* relaxed: only this thread counts its retirements; frees are polled */
	uint64_t want = atomic_load_explicit(&retired_by[me], memory_order_relaxed);
	int waited_ms = 0;

	ebr_offline(t);
	usleep(SLEEP_MS * 1000);
	while (atomic_load_explicit(&freed_by[me], memory_order_relaxed) < want) {
		if (waited_ms >= RECLAIM_S * 1000)
			fail("garbage of a parked thread not reclaimed: %" PRIu64 " of %" PRIu64
			     " freed",
			     atomic_load_explicit(&freed_by[me], memory_order_relaxed), want);
		usleep(5000);
		waited_ms += 5;
		if (atomic_load_explicit(&stop, memory_order_relaxed) && waited_ms > 1000)
			break; /* others stopped working; the final checks cover it */
	}
	ebr_online(t);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rs = 0x243f6a8885a308d3ull ^ ((uint64_t)w->idx + 1) * 0x9e3779b97f4a7c15ull;
	struct ebr_thread *t = ebr_register(dom);
	uint64_t next_id = (uint64_t)w->idx << 40, ops = 0, reads = 0, retires = 0;
	struct timespec last_long, now;

	if (t == NULL)
		fail("ebr_register failed (%" PRIu64 " %" PRIu64 ")", 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &last_long);
	ebr_online(t);
	/* relaxed: a flag polled between batches */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		const struct obj *held[HOLD];
		int nheld = 0, n = 1 + (int)(rnd(&rs) % 64);

		for (int i = 0; i < n; i++) {
			_Atomic(struct obj *) *slot = (void *)&slots[rnd(&rs) % SLOTS];

			if (rnd(&rs) % 100 < 25) {
				struct obj *o = obj_new(w->idx, next_id++, &rs);
				/* acq_rel: release publishes o's fields to readers; acquire
				 * makes the old object's fields ours before we retire it */
				struct obj *old =
				    atomic_exchange_explicit(slot, o, memory_order_acq_rel);

				check(old);
				/* relaxed: statistics, read after joins or polled */
				atomic_fetch_add_explicit(&retired_by[w->idx], 1,
							  memory_order_relaxed);
				ebr_retire(t, old, sizeof(*old),
					   w->idx == 0 ? obj_free0 : obj_free);
				retires++;
			} else {
				/* acquire: pairs with the writer's release exchange */
				const struct obj *o =
				    atomic_load_explicit(slot, memory_order_acquire);

				check(o);
				if (nheld < HOLD)
					held[nheld++] = o;
				reads++;
			}
			ops++;
		}
		for (int i = 0; i < nheld; i++)
			check(held[i]); /* still valid at the end of the section */
		if (rnd(&rs) % 2)
			ebr_quiescent(t);
		else /* kvsd's command boundary (storage/kvmap.c) */
			ebr_quiescent_collect(t, 256);
		if (rnd(&rs) % 32 == 0)
			park(t, &rs);
		if (w->idx == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - last_long.tv_sec) * 1000 +
				(now.tv_nsec - last_long.tv_nsec) / 1000000 >
			    300) {
				long_park(t, w->idx);
				clock_gettime(CLOCK_MONOTONIC, &last_long);
			}
		}
		if (w->idx == (uint32_t)w->nthreads - 1 && w->nthreads > 1 &&
		    rnd(&rs) % 2048 == 0) {
			ebr_unregister(t); /* goes offline; garbage to the orphans */
			t = ebr_register(dom);
			if (t == NULL)
				fail("ebr_register failed (%" PRIu64 " %" PRIu64 ")", 0, 0);
			ebr_online(t);
			atomic_fetch_add_explicit(&reregs, 1, memory_order_relaxed);
		}
	}
	ebr_offline(t);
	ebr_unregister(t);
	atomic_fetch_add_explicit(&total_ops, ops, memory_order_relaxed);
	atomic_fetch_add_explicit(&total_reads, reads, memory_order_relaxed);
	atomic_fetch_add_explicit(&total_retires, retires, memory_order_relaxed);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int nthreads = 4;
	size_t cap = 64 * 1024;
	int64_t max_pending_allowed = 256ll << 20, max_pending = 0;
	struct worker w[MAX_THR];
	struct ebr_thread *me;
	uint64_t rs = 42, e0;
	double t0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cap") && i + 1 < argc)
			cap = (size_t)atoll(argv[++i]);
		else if (!strcmp(argv[i], "--max-pending") && i + 1 < argc)
			max_pending_allowed = atoll(argv[++i]);
		else {
			fprintf(stderr,
				"usage: %s [--seconds S] [--threads N] [--cap BYTES] "
				"[--max-pending BYTES]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > MAX_THR - 1)
		nthreads = 4;
	dom = ebr_create(cap);
	if (dom == NULL)
		return 1;
	for (int i = 0; i < SLOTS; i++)
		atomic_init(&slots[i], obj_new(MAX_THR - 1, (uint64_t)i, &rs));
	e0 = ebr_epoch(dom);
	me = ebr_register(dom); /* the hz timer: offline, collects */
	for (int i = 0; i < nthreads; i++) {
		w[i].idx = (uint32_t)i;
		w[i].nthreads = nthreads;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	t0 = now_s();
	for (int tick = 0; now_s() - t0 < seconds; tick++) {
		int64_t p = ebr_pending_bytes(dom);

		if (p > max_pending)
			max_pending = p;
		if (p > max_pending_allowed)
			fail("pending bytes %" PRIu64 " over the bound %" PRIu64, (uint64_t)p,
			     (uint64_t)max_pending_allowed);
		if (tick % 10 == 0)
			ebr_collect(me);
		usleep(1000);
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);

	/* everyone is offline: a few collects free everything retired */
	for (int i = 0; i < 4; i++)
		ebr_collect(me);
	if (ebr_pending_bytes(dom) != 0)
		fail("%" PRIu64 " bytes still pending after all threads went offline (%" PRIu64 ")",
		     (uint64_t)ebr_pending_bytes(dom), 0);
	if (atomic_load_explicit(&retired_by[0], memory_order_relaxed) !=
	    atomic_load_explicit(&freed_by[0], memory_order_relaxed))
		fail("thread 0 retired %" PRIu64 " objects, %" PRIu64 " freed",
		     atomic_load_explicit(&retired_by[0], memory_order_relaxed),
		     atomic_load_explicit(&freed_by[0], memory_order_relaxed));
	uint64_t epochs = ebr_epoch(dom) - e0;

	ebr_unregister(me);
	for (int i = 0; i < SLOTS; i++)
		obj_free(atomic_load_explicit(&slots[i], memory_order_relaxed));
	ebr_destroy(&dom);
	if (atomic_load_explicit(&allocated, memory_order_relaxed) !=
	    atomic_load_explicit(&freed_total, memory_order_relaxed))
		fail("allocated %" PRIu64 " objects, freed %" PRIu64,
		     atomic_load_explicit(&allocated, memory_order_relaxed),
		     atomic_load_explicit(&freed_total, memory_order_relaxed));
	printf("ebr-stress: OK threads=%d seconds=%.1f ops=%" PRIu64 " reads=%" PRIu64
	       " retires=%" PRIu64 " parks=%" PRIu64 " reregisters=%" PRIu64 " epochs=%" PRIu64
	       " max_pending_bytes=%" PRId64 "\n",
	       nthreads, seconds, atomic_load(&total_ops), atomic_load(&total_reads),
	       atomic_load(&total_retires), atomic_load(&parks), atomic_load(&reregs), epochs,
	       max_pending);
	return 0;
}
