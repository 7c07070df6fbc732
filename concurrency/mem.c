/*
 * mem.c — per-thread allocation counters behind mem_alloc()/mem_free().
 *
 * Each thread's count is the mem_used field of its context (wctx.h). Only
 * the owner writes it; mem_used() sums all of them. At thread exit the
 * context folds its count into a remainder so frees done later by other
 * threads (reclamation, shutdown) still balance.
 */
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "kvsd_build.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if KVSD_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static _Atomic int64_t peak;

#if KVSD_HAVE_JEMALLOC
/*
 * jemalloc's per-thread cache, larger for small size classes: each write
 * retires the entry it replaces and the epoch reclaimer frees retired
 * entries in bursts of hundreds, which overflowed the default cache (2
 * slabs' worth per class, at most 200 blocks) so that most frees of a burst
 * took the flush path (bin locks, slab bitmaps) and the allocations after it
 * the refill path. 8 slabs' worth, at most 1024 blocks (680 of the 48-byte
 * class of a small SET's entry): about 1.4 MB per thread if every small
 * class filled up, against 0.9 MB by default; jemalloc's incremental GC
 * still drains what a thread stops using. Measured with callgrind (SET and
 * LPUSH at pipeline 16, one thread): the allocator's instructions per
 * request fell by about a quarter and its D1 misses by about half. Cached
 * blocks are free for mem_used() and allocated for stats.allocated, as
 * before (mem_jemalloc_allocated() flushes the caller's cache).
 *
 * Slabs of 16 pages for the classes of 48 to 256 bytes, where the entries
 * of small strings live (a 16-byte header, the key, the value): jemalloc
 * keeps about 140 bytes of metadata per slab (its extent record and radix
 * tree leaves), and its default slabs are small (1 to 7 pages: 128 of the
 * 96-byte class, 32 of the 128-byte one, 16 of the 256-byte one), so that
 * metadata cost 1.1 B per 96-byte entry (1M keys: jemalloc's base grew
 * 1.1 MB) and 4-8 B per 128- or 256-byte one; with 16 pages, 0.2-0.4 B.
 * Larger slabs also raise these classes' per-thread cache to its cap of
 * 1024 blocks (at most about 0.5 MB more per thread if all of them fill).
 * A slab is returned only when all its blocks are free, as before; after
 * random deletes few slabs of either size empty.
 * MALLOC_CONF in the environment still overrides all of it.
 */
const char *malloc_conf = "tcache_nslots_small_max:1024,lg_tcache_nslots_mul:3,"
			  "slab_sizes:48-256:16";
#endif

#if KVSD_HAVE_JEMALLOC
/*
 * jemalloc's size classes by arithmetic: nallocx() costs ~35 instructions a
 * call (it fetches the thread's state first), and every mem_alloc and sized
 * free asks it. Its classes (lg quantum 16 bytes, four per doubling): 8,
 * then multiples of 16 up to 128, then for 2^k < n <= 2^(k+1) multiples of
 * 2^(k-2) (160, 192, 224, 256, 320, ...), small and large alike. A jemalloc
 * built otherwise would differ, so class_formula() is compared with nallocx
 * at start-up over every size to 64 KB and every class boundary to 2 GB, and
 * used only if they all agree. Written once before main(); read-only after.
 */
#define CLASS_FORMULA_MAX ((size_t)1 << 31)
static bool class_formula_ok;

static inline size_t class_formula(size_t n)
{
	if (n <= 8)
		return 8;
	if (n <= 128)
		return (n + 15) & ~(size_t)15;
	size_t delta = (size_t)1 << (63 - __builtin_clzll((unsigned long long)(n - 1)) - 2);

	return (n + delta - 1) & ~(delta - 1);
}

__attribute__((constructor)) static void class_formula_check(void)
{
	for (size_t n = 1; n <= 65536; n++)
		if (class_formula(n) != nallocx(n, 0))
			return;
	for (size_t c = 65536; c < CLASS_FORMULA_MAX; c = class_formula(c + 1))
		if (class_formula(c) != nallocx(c, 0) || class_formula(c + 1) != nallocx(c + 1, 0))
			return;
	class_formula_ok = true;
}

static inline size_t je_class(size_t n)
{
	if (kv_likely(class_formula_ok && n <= CLASS_FORMULA_MAX))
		return class_formula(n ? n : 1);
	return nallocx(n ? n : 1, 0);
}
#endif

static inline void account(int64_t delta)
{
	struct wctx *w = wctx_self();
	int64_t v = atomic_load_explicit(&w->mem_used, memory_order_relaxed);

	/* relaxed: single writer; the value is a statistic and publishes nothing */
	atomic_store_explicit(&w->mem_used, v + delta, memory_order_relaxed);
}

void mem_count(int64_t delta)
{
	account(delta);
}

size_t mem_usable(void *p)
{
	return malloc_usable_size(p);
}

/* What malloc(size) gives, as malloc_usable_size() on the result would
 * answer: jemalloc's size class (arithmetic on the size, no lookup of the
 * pointer), else the pointer's usable size. */
static inline size_t alloc_usable(void *p, size_t size)
{
#if KVSD_HAVE_JEMALLOC
	(void)p;
	return je_class(size);
#else
	(void)size;
	return malloc_usable_size(p);
#endif
}

KV_HOT void *mem_alloc(size_t size)
{
	size_t n = size ? size : 1;
	void *p = malloc(n);

	if (kv_unlikely(p == NULL))
		KV_PANIC("out of memory allocating %zu bytes", size);
	account((int64_t)alloc_usable(p, n));
	return p;
}

void *mem_alloc_aligned(size_t align, size_t size)
{
	/* C11 wants the size a multiple of the alignment */
	size_t rounded = size ? (size + align - 1) & ~(align - 1) : align;
	void *p = aligned_alloc(align, rounded);

	if (kv_unlikely(p == NULL))
		KV_PANIC("out of memory allocating %zu bytes", size);
	account((int64_t)malloc_usable_size(p));
	return p;
}

void *mem_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (kv_unlikely(p == NULL))
		KV_PANIC("out of memory allocating %zu bytes", n * size);
	account((int64_t)malloc_usable_size(p));
	return p;
}

void *mem_realloc(void *p, size_t size)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q = realloc(p, size ? size : 1);

	if (kv_unlikely(q == NULL))
		KV_PANIC("out of memory allocating %zu bytes", size);
	account((int64_t)malloc_usable_size(q) - (int64_t)old);
	return q;
}

void mem_free(void *p)
{
	if (p == NULL)
		return;
	account(-(int64_t)malloc_usable_size(p));
	free(p);
}

size_t mem_size_class(size_t n)
{
#if KVSD_HAVE_JEMALLOC
	return je_class(n);
#else
	return n;
#endif
}

void mem_free_sized(void *p, size_t size)
{
	if (p == NULL)
		return;
#if KVSD_MEM_CHECK
	{
		size_t u = malloc_usable_size(p);

#if KVSD_HAVE_JEMALLOC
		/* every size from the request to the usable size has the block's class */
		if (nallocx(size ? size : 1, 0) != u || je_class(size) != u)
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
		/* the sanitizers' allocators report the requested size exactly */
		if (size != u && !(size == 0 && u <= 1))
#else
		if (size > u)
#endif
			KV_PANIC("mem_free_sized(%p, %zu): the block's usable size is %zu", p, size,
				 u);
	}
#endif
#if KVSD_HAVE_JEMALLOC
	size = size ? size : 1;
	account(-(int64_t)je_class(size));
	sdallocx(p, size, 0); /* the size is known: no lookup of the pointer */
#else
	mem_free(p);
#endif
}

void *mem_block_alloc(void)
{
#if KVSD_HAVE_JEMALLOC
	struct wctx *w = wctx_self();
	void *p = w->mem_blocks;

	if (p) {
		memcpy(&w->mem_blocks, p, sizeof(void *));
		w->mem_nblocks--;
		account(MEM_BLOCK); /* nallocx(MEM_BLOCK) == MEM_BLOCK: a size class */
		return p;
	}
#endif
	return mem_alloc(MEM_BLOCK);
}

void mem_block_free(void *p)
{
#if KVSD_HAVE_JEMALLOC
	struct wctx *w = wctx_self();

	account(-(int64_t)MEM_BLOCK);
	if (w->mem_nblocks < MEM_BLOCK_CACHE) {
		memcpy(p, &w->mem_blocks, sizeof(void *));
		w->mem_blocks = p;
		w->mem_nblocks++;
	} else {
		sdallocx(p, MEM_BLOCK, 0); /* the size is known: no lookup of the pointer */
	}
#else
	mem_free(p);
#endif
}

char *mem_strndup(const char *s, size_t n)
{
	char *d = mem_alloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int64_t mem_used(void)
{
	int64_t sum = wctx_mem_total(), p;

	p = atomic_load_explicit(&peak, memory_order_relaxed);
	while (sum > p && !atomic_compare_exchange_weak_explicit(
			      &peak, &p, sum, memory_order_relaxed, memory_order_relaxed))
		;
	return sum;
}

int64_t mem_peak(void)
{
	mem_used();
	return atomic_load_explicit(&peak, memory_order_relaxed);
}

const char *mem_allocator_name(void)
{
#if KVSD_HAVE_JEMALLOC
	static char name[64];
	const char *v = NULL;
	size_t sz = sizeof(v);

	if (name[0] == '\0') {
		if (mallctl("version", &v, &sz, NULL, 0) == 0 && v) {
			char ver[32];
			size_t i;

			for (i = 0; v[i] && v[i] != '-' && i < sizeof(ver) - 1; i++)
				ver[i] = v[i];
			ver[i] = '\0';
			snprintf(name, sizeof(name), "jemalloc-%s", ver);
		} else {
			snprintf(name, sizeof(name), "jemalloc");
		}
	}
	return name;
#else
	return "libc";
#endif
}

int64_t mem_jemalloc_allocated(void)
{
#if KVSD_HAVE_JEMALLOC
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	size_t allocated = 0, asz = sizeof(allocated);

	/* Objects parked in this thread's cache count as allocated to jemalloc but
	 * not to us: flush it so the two figures are comparable. */
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	mallctl("epoch", &epoch, &sz, &epoch, sz);
	if (mallctl("stats.allocated", &allocated, &asz, NULL, 0) != 0)
		return -1;
	return (int64_t)allocated;
#else
	return -1;
#endif
}

int64_t mem_rss(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

int mem_allocator_stats(struct mem_allocator_stats *s)
{
#if KVSD_HAVE_JEMALLOC
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch), v, vsz = sizeof(v);

	mallctl("epoch", &epoch, &sz, &epoch, sz);
	s->allocated = mallctl("stats.allocated", &v, &vsz, NULL, 0) == 0 ? (int64_t)v : 0;
	s->active = mallctl("stats.active", &v, &vsz, NULL, 0) == 0 ? (int64_t)v : 0;
	s->resident = mallctl("stats.resident", &v, &vsz, NULL, 0) == 0 ? (int64_t)v : 0;
	return 0;
#else
	s->allocated = s->active = s->resident = 0;
	return -ENOTSUP;
#endif
}

int mem_purge(void)
{
#if KVSD_HAVE_JEMALLOC
	char name[48];
	struct wctx *w = wctx_self();

	/* the calling thread's cached blocks go back first (already out of
	 * mem_used); other threads keep theirs */
	while (w->mem_blocks) {
		void *b = w->mem_blocks;

		memcpy(&w->mem_blocks, b, sizeof(void *));
		sdallocx(b, MEM_BLOCK, 0);
	}
	w->mem_nblocks = 0;
	/* MALLCTL_ARENAS_ALL: every arena */
	snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	return mallctl(name, NULL, NULL, NULL, 0) == 0 ? 0 : -EIO;
#else
	return -ENOTSUP;
#endif
}

#if KVSD_HAVE_JEMALLOC
struct stats_text {
	char *p;
	size_t len, cap;
};

static void stats_append(void *arg, const char *s)
{
	struct stats_text *t = arg;
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = mem_realloc(t->p, t->cap);
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}
#endif

char *mem_malloc_stats_text(size_t *len)
{
#if KVSD_HAVE_JEMALLOC
	struct stats_text t = {mem_alloc(4096), 0, 4096};

	t.p[0] = '\0';
	malloc_stats_print(stats_append, &t, NULL);
	*len = t.len;
	return t.p;
#else
	*len = 0;
	return NULL;
#endif
}
