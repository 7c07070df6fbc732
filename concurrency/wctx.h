/*
 * wctx.h — the per-thread worker context: one struct per thread holding what
 * the modules keep per thread (worker index, counter-shard ticket, RNG,
 * allocation counter, epoch record, the map's and the statistics' per-thread
 * state), created and registered once, in the thread-start path.
 *
 * Registration: a thread calls wctx_register(index) once when it starts (net/
 * worker threads with their index; the main thread, tests and benchmarks with
 * -1). A thread that never registers gets a context on first use through
 * wctx_self() (index -1): allocation from a library's thread, a test's helper
 * thread. At thread exit the context is unlinked and freed; its allocation
 * count is folded into a remainder so wctx_mem_total() loses nothing.
 *
 * Passing: code that has a request or a worker at hand passes the context
 * down (server/'s struct cmd_req carries it; cmdstat takes it as an
 * argument). Code below that (the allocator's accounting in every mem_alloc,
 * the map's reclamation and counters) reaches it through wctx_self(): one
 * thread-local pointer, the only thread-local in concurrency/, storage/,
 * net/ and server/. No module keeps a thread-local of its own.
 *
 * Ownership of the fields: the owning thread writes every field; other
 * threads only read mem_used (through wctx_mem_total) and the registry links
 * (under the registry lock). Each field names the module that owns it; the
 * others leave it alone. The upper layers' state is opaque here (a pointer to
 * a type concurrency/ does not define, or plain scalars), so dependencies
 * still point down.
 */
#ifndef KVSD_WCTX_H
#define KVSD_WCTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ebr_thread;
struct epool_heap;
struct cmdstat_tls;
struct lathist_tls;
struct errstat_tls;
struct aof_locks;
struct ntf_buf;
struct script_worker;

struct wctx {
	int index;	 /* net/'s worker index; -1 on any other thread */
	unsigned ticket; /* distinct, in creation order: picks each module's counter shard */
	uint64_t rng;	 /* wctx_rand64() state; never 0 */

	/* concurrency/mem.c: bytes this thread allocated minus freed. Written by
	 * the owner only; summed by wctx_mem_total(). A statistic: relaxed. */
	_Atomic int64_t mem_used;
	/* concurrency/mem.c: the cache of free MEM_BLOCK blocks (linked through
	 * their first word; not counted in mem_used), owner only; wctx.c frees
	 * them at thread exit. */
	void *mem_blocks;
	unsigned mem_nblocks;
	/* concurrency/epool.c: this thread's heap of 88-byte blocks (NULL until
	 * its first epool_alloc); parked for the next thread at exit. */
	struct epool_heap *epool;

	/* storage/kvmap.c: reclamation state while registered with the map. */
	struct ebr_thread *ebr;
	bool kv_registered, kv_online;
	/* storage/kvmap_kvsd.c: batching of claimed slots, shrink check pacing. */
	const void *claim_table;
	size_t claims;
	unsigned deletes;
	/* storage/evict.c: when this thread last ran kvmap_maintain(). */
	int64_t collect_ms;
	/* storage/db.c: successful writes through views by this thread (db_put,
	 * flushes, SWAPDB): the per-thread share of Redis's server.dirty, which
	 * server/ compares around a command to see whether it changed anything. */
	uint64_t db_writes;

	/* server/aof.c: the command this thread runs while the AOF is written
	 * (set by aof_before_cmd, cleared by aof_finish_cmd), so that a key the
	 * db layer expires during it is logged in its record (aof_drop.c). */
	struct aof_locks *aof_cmd;
	/* server/aof.c: this worker's record in the domain of command
	 * boundaries that switching appendonly on waits for (aof.h). */
	struct ebr_thread *aof_qs;
	/* server/aof_writer.c: this worker appended AOF records since it last
	 * ended a batch (aof.h, "Group commit"); its own thread only. */
	bool aof_unkicked;
	/* server/notify.c: the keyspace events of the command this thread
	 * runs (ntf_begin .. ntf_end), published after it completed; NULL
	 * outside a command (events are then published at once). */
	struct ntf_buf *ntf;

	/* server/cmdstat.c: this thread's command counters (opaque here). */
	struct cmdstat_tls *stats;
	/* server/lathist.c, server/errorstats.c: this thread's latency
	 * histograms and error-code counters (opaque here). */
	struct lathist_tls *lathist;
	/* server/lathist.c: the generation `lathist` was last zeroed for, the
	 * owner's copy of the block's own (which readers load), so recording
	 * does not read the block's header: that line is page-aligned, in the
	 * L1 set every page-aligned hot line shares. */
	uint64_t lathist_gen;
	/* server/script.c: this thread's Lua state and script transaction
	 * (opaque here), created on its first script. */
	struct script_worker *script;
	struct errstat_tls *errstat;

	struct wctx *next, *prev; /* registry: under wctx.c's lock */
};

/* The thread-start call: returns the calling thread's context (creating it
 * if needed) with its worker index set (-1 for a non-worker thread). Panics
 * on out-of-memory. */
struct wctx *wctx_register(int index);

/* The calling thread's context, created (index -1) on first use. */
struct wctx *wctx_self_slow(void);
extern __thread struct wctx *wctx_tls;
static inline struct wctx *wctx_self(void)
{
	struct wctx *w = wctx_tls;

	return __builtin_expect(w != NULL, 1) ? w : wctx_self_slow();
}

/* xorshift64*: the context's pseudo-random sequence (not for secrets). */
/* One step of the generator on a state (xorshift64*): wctx_rand64's, and a
 * caller's copy of w->rng to see the values to come without drawing them
 * (server/prefetch.c: the members the next SPOPs will pick). */
static inline uint64_t wctx_rand64_step(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t wctx_rand64(struct wctx *w)
{
	return wctx_rand64_step(&w->rng);
}

/* Sum of every context's mem_used plus those of exited threads. Takes the
 * registry lock (rare callers: INFO, tests, eviction checks via mem_used). */
int64_t wctx_mem_total(void);

#endif
