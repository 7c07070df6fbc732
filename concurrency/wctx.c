/*
 * wctx.c — creation, registry and thread-exit of the per-thread contexts
 * (wctx.h).
 *
 * A context is allocated with libc (not mem_alloc: the accounting lives in
 * it) on one cache line boundary, so its owner-written fields share no line
 * with another thread's. A pthread key's destructor runs at thread exit and
 * retires the context; wctx_tls is the one thread-local pointer of the tree.
 */
#include "concurrency/wctx.h"
#include "concurrency/epool.h"
#include "concurrency/clock.h"
#include "concurrency/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

__thread struct wctx *wctx_tls;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wctx *registry;	 /* under registry_lock */
static int64_t retired_mem;	 /* under registry_lock: mem_used of exited threads */
static _Atomic unsigned tickets; /* next ticket */
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void wctx_exit(void *arg)
{
	struct wctx *w = arg;

	pthread_mutex_lock(&registry_lock);
	/* relaxed: a statistic; the lock orders the fold against readers */
	retired_mem += atomic_load_explicit(&w->mem_used, memory_order_relaxed);
	if (w->prev)
		w->prev->next = w->next;
	else
		registry = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&registry_lock);
	/* mem.c's cached blocks: malloc'd, already out of mem_used */
	while (w->mem_blocks) {
		void *b = w->mem_blocks;

		memcpy(&w->mem_blocks, b, sizeof(void *));
		free(b);
	}
	epool_thread_exit(w->epool);
	wctx_tls = NULL;
	free(w);
}

static void key_init(void)
{
	if (pthread_key_create(&exit_key, wctx_exit) != 0)
		KV_PANIC("pthread_key_create failed");
}

/* splitmix64 finaliser: a well-mixed, nonzero RNG seed from weak inputs. */
static uint64_t seed(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	x ^= x >> 31;
	return x ? x : 1;
}

struct wctx *wctx_self_slow(void)
{
	struct wctx *w;

	pthread_once(&key_once, key_init);
	w = aligned_alloc(KV_CACHELINE,
			  (sizeof(*w) + KV_CACHELINE - 1) & ~(size_t)(KV_CACHELINE - 1));
	if (w == NULL)
		KV_PANIC("out of memory");
	memset(w, 0, sizeof(*w));
	w->index = -1;
	/* relaxed: only the distinctness of the ticket matters */
	w->ticket = atomic_fetch_add_explicit(&tickets, 1, memory_order_relaxed);
	w->rng = seed((uint64_t)(uintptr_t)w ^ (uint64_t)clock_mono_ns() ^ w->ticket);
	pthread_mutex_lock(&registry_lock);
	w->next = registry;
	if (registry)
		registry->prev = w;
	registry = w;
	pthread_mutex_unlock(&registry_lock);
	pthread_setspecific(exit_key, w);
	wctx_tls = w;
	return w;
}

struct wctx *wctx_register(int index)
{
	struct wctx *w = wctx_self();

	w->index = index;
	return w;
}

int64_t wctx_mem_total(void)
{
	int64_t sum;

	pthread_mutex_lock(&registry_lock);
	sum = retired_mem;
	for (struct wctx *w = registry; w; w = w->next)
		/* relaxed: statistics */
		sum += atomic_load_explicit(&w->mem_used, memory_order_relaxed);
	pthread_mutex_unlock(&registry_lock);
	return sum;
}
