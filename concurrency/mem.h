/*
 * mem.h — kvsd's allocator front end and its used_memory accounting.
 *
 * Every allocation that belongs to the data set or to client buffers goes
 * through mem_alloc()/mem_free() so that INFO's used_memory (which drives
 * eviction) is exact in every build: each thread keeps its own running byte
 * count (the allocator's usable size, as Redis's zmalloc does), and
 * mem_used() sums them. In normal builds the allocator is jemalloc and
 * mem_jemalloc_allocated() reads its "stats.allocated" so tests can prove the
 * counters agree; sanitizer builds link without jemalloc (sanitizers replace
 * malloc) and use libc's malloc_usable_size(). Blocks of the 88-byte pool
 * (epool.h) count 88 bytes each through mem_count(). mem.c sets jemalloc's
 * options (malloc_conf: larger per-thread caches of small blocks; the
 * environment's MALLOC_CONF overrides them).
 *
 * Threads: all functions may be called from any thread. A thread's counter is
 * created on its first allocation and folded into a global remainder when the
 * thread exits, so no bytes are lost from the total.
 * Ordering: counters are statistics; they publish nothing (relaxed).
 * Progress: mem_alloc/mem_free are as blocking as the allocator; mem_used()
 * takes a registry lock (rare callers: INFO, tests).
 * Errors: mem_alloc panics on out-of-memory (as Redis does): a server that
 * cannot allocate a reply buffer cannot answer anyway.
 * Pairing: a block from any mem_ allocator is freed with mem_free() only, and
 * mem_free() takes nothing else (the count would drift). What stays outside,
 * on purpose: this module's own per-thread records (they hold the counts);
 * memory that libraries allocate and free themselves (libevent's evbuffers,
 * hiredis replies in tests); and the config module's strings (server/config.h:
 * set at start-up or by CONFIG SET, freed with free() by their callers).
 */
#ifndef KVSD_MEM_H
#define KVSD_MEM_H

#include <stddef.h>
#include <stdint.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t size);
/* size bytes aligned to align (a power of two, e.g. a cache line); mem_free() it. */
void *mem_alloc_aligned(size_t align, size_t size);
void mem_free(void *p);
/*
 * Sized free, for hot paths that know the block's size: size is any value
 * from the size passed to mem_alloc (or mem_calloc's n * size, mem_realloc's
 * last size) up to the block's usable size (mem_usable, mem_size_class of
 * the request). With jemalloc the accounting is mem_size_class(size) and the
 * block goes back through sdallocx(): no lookup of the pointer in jemalloc's
 * radix tree, where mem_free() makes two (malloc_usable_size, free), each
 * a likely cache miss. Without jemalloc (sanitizer builds) it is mem_free(),
 * so the sanitizers see every free. A size outside the range mis-accounts
 * used_memory and may corrupt jemalloc's bins: debug and sanitizer builds
 * (KVSD_MEM_CHECK) check it against the block and panic. NULL is a no-op.
 * Not for mem_alloc_aligned blocks (their class depends on the alignment).
 */
void mem_free_sized(void *p, size_t size);
/* The usable size mem_alloc(n) gives, without allocating: jemalloc's size
 * class of n (arithmetic, nallocx); n itself without jemalloc. */
size_t mem_size_class(size_t n);
char *mem_strndup(const char *s, size_t n);
/* Usable size of a block from mem_alloc (>= requested). */
size_t mem_usable(void *p);

/*
 * Blocks of MEM_BLOCK bytes (the persistent B+tree's nodes, storage/ptree.c)
 * through a per-thread cache of free ones: a write to a large collection
 * allocates a few nodes and the epoch reclaimer frees the replaced ones in
 * bursts of thousands, which overflow jemalloc's small per-thread cache for
 * this size class, so without it most of those allocations and frees take
 * jemalloc's slow paths (bin locks, slab bitmaps: ~40% of the instructions
 * of an HSET to a 2M-field hash, callgrind). A cached block counts as freed
 * in mem_used(); the cache holds at most MEM_BLOCK_CACHE blocks (8 MB) per
 * thread (more are returned to jemalloc) and is freed when the thread exits.
 * Without jemalloc (sanitizer builds) both are plain mem_alloc / mem_free,
 * so the sanitizers see every free. A block from mem_block_alloc may also be
 * freed with mem_free, and mem_block_free takes mem_alloc(MEM_BLOCK) blocks.
 * Threads: any; a thread's cache is its own (wctx).
 */
#define MEM_BLOCK	768
#define MEM_BLOCK_CACHE ((8 << 20) / MEM_BLOCK)
void *mem_block_alloc(void);
void mem_block_free(void *p);

/* Adds delta to the calling thread's count: for concurrency/'s own pools
 * (epool.c), whose blocks count their size while in use. */
void mem_count(int64_t delta);

/* Bytes currently allocated through this module, over all threads. */
int64_t mem_used(void);
/* Peak of mem_used() as observed by mem_used() calls. */
int64_t mem_peak(void);
/* Name of the allocator linked in: "jemalloc-5.3.0" or "libc". */
const char *mem_allocator_name(void);
/* jemalloc's stats.allocated (refreshed; flushes the calling thread's tcache
 * first), or -1 when jemalloc is not linked. */
int64_t mem_jemalloc_allocated(void);
/* Resident set size of this process in bytes, from /proc/self/statm (0 if unknown). */
int64_t mem_rss(void);

/* jemalloc's stats.allocated / active / resident (refreshed), for MEMORY
 * STATS. 0, or -ENOTSUP when jemalloc is not linked (sanitizer builds). */
struct mem_allocator_stats {
	int64_t allocated, active, resident;
};
int mem_allocator_stats(struct mem_allocator_stats *s);
/* Returns unused dirty pages of every arena to the OS (MEMORY PURGE), after
 * the calling thread's cached MEM_BLOCK blocks:
 * 0, -ENOTSUP without jemalloc, -EIO if jemalloc refused. */
int mem_purge(void);
/* jemalloc's malloc_stats_print() text (MEMORY MALLOC-STATS), NUL-terminated,
 * length in *len; free with mem_free(). NULL without jemalloc. */
char *mem_malloc_stats_text(size_t *len);

#endif
