/*
 * epool.c — the 88-byte block pool (see epool.h for the contract).
 *
 * A slab is EPOOL_SLAB bytes aligned to EPOOL_SLAB: a two-line header (the
 * owner's fields, then the line remote threads write), then EPOOL_NBLOCKS
 * blocks. Blocks never handed out are past `bump`; freed ones are linked
 * through their first word on the local free list (owner only) or on the
 * remote stack (pushed by other threads, taken whole by the owner).
 *
 * The owner's view of a slab: `used` counts the blocks out minus those it
 * has seen come back (its own frees, and remote stacks it took). A slab is
 * on its heap's `avail` list when it is not the current slab and has local
 * free blocks; a full slab is on no list until a block comes back. The
 * owner takes a slab's remote stack only while draining its heap's pending
 * stack, and a remote free queues the slab there exactly when its push
 * found the remote stack empty, so a slab is on the pending stack at most
 * once, and only while its remote stack is non-empty or about to be taken.
 * A slab is released when `used` drops to 0 and it is not current: then no
 * block of it is out, so its remote stack is empty and no thread will push
 * to it or queue it again.
 */
#include "concurrency/epool.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"

#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define EPOOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EPOOL_ASAN 1
#endif
#endif
#ifdef EPOOL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define EPOOL_HDR     (2 * KV_CACHELINE)
#define EPOOL_NBLOCKS ((EPOOL_SLAB - EPOOL_HDR) / EPOOL_BLOCK)

struct epool_heap;

struct epool_slab {
	/* line 0: the owner's (the thread whose heap is `heap`) */
	struct epool_heap *heap;	/* set at creation, read by every free */
	void *free;			/* local free list */
	uint32_t used;			/* blocks out, as the owner knows */
	uint32_t bump;			/* blocks [bump, EPOOL_NBLOCKS) never handed out */
	struct epool_slab *prev, *next; /* the heap's avail list */
	bool on_avail;
	/* line 1: remote frees. Blocks other threads freed, linked through
	 * their first word; pushed by any thread, taken whole by the owner. */
	alignas(KV_CACHELINE) _Atomic(void *) remote;
	/* The pending stack's link: written by the thread whose push found
	 * `remote` empty, before it queues the slab; read by the owner after
	 * taking the pending stack, before it takes `remote` (which is what
	 * lets the next pusher queue the slab and write this again). */
	struct epool_slab *pnext;
};
static_assert(sizeof(struct epool_slab) <= EPOOL_HDR, "the slab header fits its two lines");
static_assert(EPOOL_HDR % 8 == 0 && EPOOL_BLOCK % 8 == 0, "blocks are 8-aligned");

struct epool_heap {
	/* the owner's */
	struct epool_slab *cur;		/* allocations come from here first */
	struct epool_slab *avail;	/* other slabs with local free blocks */
	struct epool_heap *parked_next; /* under park_lock while parked */
	/* Slabs whose remote stack became non-empty since the owner last
	 * looked: pushed by any thread, taken whole by the owner. */
	alignas(KV_CACHELINE) _Atomic(struct epool_slab *) pending;
};

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
/* under park_lock: heaps no thread owns (their threads exited, or set them
 * aside for a parked one: epool_alloc's slow path) */
static struct epool_heap *parked;
static _Atomic int nparked;    /* heaps on `parked`: written under park_lock, read as a hint */
static _Atomic int64_t nslabs; /* statistic only */

static inline struct epool_slab *slab_of(void *p)
{
	return (struct epool_slab *)((uintptr_t)p & ~(uintptr_t)(EPOOL_SLAB - 1));
}

static inline char *block_at(struct epool_slab *s, uint32_t i)
{
	return (char *)s + EPOOL_HDR + (size_t)i * EPOOL_BLOCK;
}

/* A free block's link word; the block stays poisoned around the access. */
static inline void *link_get(void *b)
{
	void *n;

	UNPOISON(b, sizeof(n));
	memcpy(&n, b, sizeof(n));
	POISON(b, sizeof(n));
	return n;
}

static inline void link_set(void *b, void *n)
{
	UNPOISON(b, sizeof(n));
	memcpy(b, &n, sizeof(n));
	POISON(b, sizeof(n));
}

static void avail_add(struct epool_heap *h, struct epool_slab *s)
{
	s->prev = NULL;
	s->next = h->avail;
	if (h->avail)
		h->avail->prev = s;
	h->avail = s;
	s->on_avail = true;
}

static void avail_del(struct epool_heap *h, struct epool_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->avail = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->on_avail = false;
}

static struct epool_slab *slab_new(struct epool_heap *h)
{
	struct epool_slab *s = aligned_alloc(EPOOL_SLAB, EPOOL_SLAB);

	if (s == NULL)
		KV_PANIC("out of memory allocating a %d-byte slab", EPOOL_SLAB);
	memset(s, 0, sizeof(*s));
	s->heap = h;
	atomic_init(&s->remote, NULL);
	POISON(block_at(s, 0), (size_t)EPOOL_NBLOCKS * EPOOL_BLOCK);
	/* relaxed: statistic only; publishes nothing */
	atomic_fetch_add_explicit(&nslabs, 1, memory_order_relaxed);
	return s;
}

static void slab_release(struct epool_heap *h, struct epool_slab *s)
{
	if (s->on_avail)
		avail_del(h, s);
	UNPOISON(block_at(s, 0), (size_t)EPOOL_NBLOCKS * EPOOL_BLOCK);
	/* relaxed: statistic only; publishes nothing */
	atomic_fetch_sub_explicit(&nslabs, 1, memory_order_relaxed);
	free(s);
}

/* Blocks came back to s (owner): release it if all are, else make it
 * available. */
static void slab_returned(struct epool_heap *h, struct epool_slab *s)
{
	if (s == h->cur)
		return;
	if (s->used == 0)
		slab_release(h, s);
	else if (!s->on_avail)
		avail_add(h, s);
}

/* Takes every block other threads freed into h's slabs (owner). */
static void collect(struct epool_heap *h)
{
	/* acquire: pairs with the release of the pending push in free_remote(), so each
	 * slab's pnext is read after its pusher wrote it */
	struct epool_slab *s = atomic_exchange_explicit(&h->pending, NULL, memory_order_acquire);

	while (s) {
		struct epool_slab *next = s->pnext; /* before taking remote: see pnext */
		/* acq_rel: acquire pairs with the release of each remote push, so
		 * the blocks' link words (and their last contents) are visible;
		 * release orders the pnext read above before the next pusher's
		 * acquiring CAS, which may then write pnext again */
		void *b = atomic_exchange_explicit(&s->remote, NULL, memory_order_acq_rel);
		uint32_t n = 0;

		while (b) {
			void *nb = link_get(b);

			link_set(b, s->free);
			s->free = b;
			n++;
			b = nb;
		}
		KV_ASSERT(n <= s->used);
		s->used -= n;
		slab_returned(h, s);
		s = next;
	}
}

void epool_thread_exit(struct epool_heap *h)
{
	if (h == NULL)
		return;
	collect(h); /* returns the slabs that emptied meanwhile */
	pthread_mutex_lock(&park_lock);
	h->parked_next = parked;
	parked = h;
	/* relaxed: a hint for epool_alloc's slow path; the lock orders the list */
	atomic_fetch_add_explicit(&nparked, 1, memory_order_relaxed);
	pthread_mutex_unlock(&park_lock);
}

static inline void *take(struct epool_slab *s)
{
	void *b = s->free;

	if (b) {
		s->free = link_get(b);
	} else if (s->bump < EPOOL_NBLOCKS) {
		b = block_at(s, s->bump++);
	} else {
		return NULL;
	}
	s->used++;
	UNPOISON(b, EPOOL_BLOCK);
	return b;
}

/* A block from h's slabs once its current one ran dry: blocks other
 * threads freed, then another slab with free blocks. NULL if none (owner). */
static void *take_heap(struct epool_heap *h)
{
	struct epool_slab *s;
	void *b;

	collect(h);
	if (h->cur && (b = take(h->cur)) != NULL)
		return b;
	s = h->avail;
	if (s == NULL)
		return NULL;
	avail_del(h, s);
	/* the old current slab is full (nothing local): it comes back to
	 * avail when a block of it does */
	h->cur = s;
	return take(s);
}

static struct epool_heap *heap_new(void)
{
	struct epool_heap *h = aligned_alloc(KV_CACHELINE, sizeof(*h));

	if (h == NULL)
		KV_PANIC("out of memory allocating a block pool heap");
	memset(h, 0, sizeof(*h));
	atomic_init(&h->pending, NULL);
	return h;
}

/*
 * Before a new slab, a parked heap may have free blocks (an exited
 * thread's, e.g. the loader's, whose keys were deleted or overwritten
 * since): the thread swaps its heap for it, so those blocks are reused and
 * that heap's emptied slabs released, and parks its own (full) heap for the
 * next thread that runs dry. A thread owns one heap at a time, so the
 * owner test in epool_free stays a comparison with the thread's own
 * pointer. At most one swap per new slab (one lock per EPOOL_NBLOCKS
 * allocations at worst).
 */
static void *alloc_slow(struct wctx *w)
{
	struct epool_heap *h = w->epool, *g = NULL;
	void *b;

	if (h && (b = take_heap(h)) != NULL)
		return b;
	/* relaxed: a hint; the list itself is read under the lock */
	if (atomic_load_explicit(&nparked, memory_order_relaxed) > 0) {
		pthread_mutex_lock(&park_lock);
		g = parked;
		if (g) {
			parked = g->parked_next;
			if (h) {
				h->parked_next = parked;
				parked = h;
			} else {
				/* relaxed: as in epool_thread_exit */
				atomic_fetch_sub_explicit(&nparked, 1, memory_order_relaxed);
			}
		}
		pthread_mutex_unlock(&park_lock);
		if (g) {
			w->epool = h = g;
			if ((b = take_heap(h)) != NULL)
				return b;
		}
	}
	if (h == NULL)
		w->epool = h = heap_new();
	h->cur = slab_new(h); /* the old one, if any, is full: as in take_heap */
	return take(h->cur);
}

KV_HOT void *epool_alloc(void)
{
	struct wctx *w = wctx_self();
	struct epool_heap *h = w->epool;
	void *b = h && h->cur ? take(h->cur) : NULL;

	if (kv_unlikely(b == NULL))
		b = alloc_slow(w);
	mem_count(EPOOL_BLOCK);
	return b;
}

/* A free from a thread that does not own s's heap. */
static void free_remote(struct epool_slab *s, void *p)
{
	/* relaxed: only the CAS below publishes, and it re-reads the head */
	void *top = atomic_load_explicit(&s->remote, memory_order_relaxed);

	POISON(p, EPOOL_BLOCK);
	do
		link_set(p, top);
	/* release: the link word (and the block's last contents) before the
	 * push; pairs with the owner's acq_rel exchange in collect(). Acquire:
	 * when top was NULL, pairs with that exchange's release, so the owner
	 * has read pnext before the push onto the pending stack below writes it */
	while (!atomic_compare_exchange_weak_explicit(&s->remote, &top, p, memory_order_acq_rel,
						      memory_order_relaxed));
	if (top != NULL)
		return; /* already queued, and not yet taken: the owner will see p */

	struct epool_heap *h = s->heap;
	/* relaxed: only the CAS below publishes, and it re-reads the head */
	struct epool_slab *ptop = atomic_load_explicit(&h->pending, memory_order_relaxed);

	do
		s->pnext = ptop;
	/* release: pnext before the slab is visible; pairs with the acquire
	 * exchange in collect(). s cannot be released before this: p counts
	 * in s->used until the owner takes remote, which it does only after
	 * finding s on this stack */
	while (!atomic_compare_exchange_weak_explicit(&h->pending, &ptop, s, memory_order_release,
						      memory_order_relaxed));
}

KV_HOT void epool_free(void *p)
{
	struct epool_slab *s;
	struct wctx *w;

	if (p == NULL)
		return;
	s = slab_of(p);
	w = wctx_self();
	mem_count(-(int64_t)EPOOL_BLOCK);
	if (s->heap != w->epool) {
		free_remote(s, p);
		return;
	}
	POISON(p, EPOOL_BLOCK);
	link_set(p, s->free);
	s->free = p;
	KV_ASSERT(s->used > 0);
	s->used--;
	if (s->used == 0 || !s->on_avail)
		slab_returned(s->heap, s);
}

int64_t epool_slabs(void)
{
	/* relaxed: statistic only */
	return atomic_load_explicit(&nslabs, memory_order_relaxed);
}
