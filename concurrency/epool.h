/*
 * epool.h — a pool of 88-byte blocks, for the entries jemalloc would round
 * up to 96 bytes.
 *
 * jemalloc's size classes near there are 80 and 96 (a 16-byte quantum, fixed
 * when it is built), and an entry without a TTL holding a 16-byte key and a
 * 64-byte value is 88 bytes (storage/entry.c): 8 bytes a key lost to
 * rounding. This pool serves exactly 88-byte blocks from slabs of its own:
 * EPOOL_SLAB bytes, aligned to their size (a block's slab is its address
 * masked), each owned by the thread that created it. The design is
 * mimalloc's (Leijen, Zorn & de Moura, "Mimalloc: Free List Sharding in
 * Action", 2019), cut down to one size: the owner allocates from the slab's
 * local free list with no atomic operation; a free from another thread (the
 * epoch reclaimer runs free callbacks on whichever thread collects) pushes
 * the block onto the slab's atomic remote stack, and the first such push
 * after the owner last looked also queues the slab on the owner's pending
 * stack, which the owner takes whole with one exchange when its current slab
 * runs dry. A slab whose blocks are all free is returned to the allocator
 * (unless it is the owner's current one), so memory goes back as jemalloc's
 * does for its own slabs.
 *
 * Threads: epool_alloc from any thread (it allocates from the calling
 * thread's heap); epool_free from any thread, for any block. A thread's
 * heap outlives it: at thread exit it is parked and the next thread that
 * allocates adopts it, so blocks freed after their owner exited are never
 * lost and slabs never dangle (heaps are never freed; their slabs are
 * reachable from them, which keeps LeakSanitizer quiet about live blocks).
 * Ownership: a block belongs to its caller from epool_alloc to epool_free.
 * Ordering: epool_free releases the block's last contents to whichever
 * thread allocates it next (the remote stack's release / acquire pair), so
 * a freed block is never written by two threads at once.
 * Progress: epool_alloc is lock-free (it takes a lock only to adopt a
 * parked heap, on a thread's first call); epool_free is lock-free (a CAS
 * loop on one slab's or one heap's stack head).
 * Limits: blocks other threads free go back to their owner's slabs only
 * when the owner next runs dry (or, once it exited, when another thread
 * adopts its heap), so a thread that allocated many entries and then stops
 * allocating keeps their slabs until then (RSS, not used_memory); kvsd's
 * workers allocate all the time. A periodic collect by idle owners would
 * bound this; not built.
 * Accounting: each block in use counts EPOOL_BLOCK bytes in mem_used() (as
 * jemalloc's usable size counts for its blocks); a slab's header and free
 * blocks count nothing, as jemalloc's free regions do not.
 * Sanitizers: under ASan a free block is poisoned (ASAN_POISON_MEMORY_REGION)
 * so a use after free is still reported. storage/entry.c uses the pool only
 * when jemalloc is linked (sanitizer builds keep every entry visible to the
 * sanitizers' allocator); tests call it directly in every build.
 * Errors: epool_alloc panics on out-of-memory, as mem_alloc does.
 */
#ifndef KVSD_EPOOL_H
#define KVSD_EPOOL_H

#include <stddef.h>
#include <stdint.h>

#define EPOOL_BLOCK 88
#define EPOOL_SLAB  (64 * 1024)

/* An EPOOL_BLOCK-byte block, 8-aligned. */
void *epool_alloc(void);
/* Returns a block from epool_alloc (any thread). NULL is a no-op. */
void epool_free(void *p);

/* wctx.c, at thread exit: parks the thread's heap for the next thread. */
struct epool_heap;
void epool_thread_exit(struct epool_heap *h);

/* Statistics for tests: slabs currently allocated by the pool (all threads). */
int64_t epool_slabs(void);

#endif
