/*
 * ebr.h — epoch-based reclamation for long-lived worker threads.
 *
 * Follows Fraser's EBR ("Practical lock-freedom", 2004) in the quiescent-state
 * style of liburcu-qsbr and ck_epoch, with crossbeam-epoch's sealing rule: a
 * thread that is *online* may hold pointers to shared objects; between tasks
 * it announces a quiescent state (ebr_quiescent: it holds nothing), and while
 * it blocks (event loop poll) it is *offline* and ignored. The global epoch E
 * moves to E+1 once every online thread has announced E. A retired object is
 * tagged with the global epoch G read after it was unlinked and is freed once
 * the global epoch reaches G+2 — so no reader can still hold it (the proof is
 * in ebr.c).
 *
 * Retired objects go to per-thread limbo lists (chunked arrays of pointer,
 * byte count, free function and epoch; no per-object header, no allocation
 * per retire in the steady state). A thread whose limbo holds more than the
 * cap passed to ebr_create() tries to advance the epoch and frees what is old
 * enough, from inside ebr_retire(). Garbage of a thread that then parks is
 * reclaimed by others: ebr_offline() donates a non-empty limbo list to its
 * record (one atomic exchange), and ebr_collect() — called on the hz timer by
 * any thread, or by any thread over its cap — adopts donations and the
 * leftovers of unregistered threads and frees them when safe.
 *
 * A thread that stalls *online* (inside a section, or online and never
 * calling ebr_quiescent) stops the epoch from advancing: from then on nothing
 * retired by anyone is freed, and garbage grows without bound until it
 * announces a quiescent state or goes offline. kvsd's workers never block
 * while online (they go offline around the event loop's poll), so the stall is
 * bounded by one task's run time.
 *
 * Threads:
 *   single-threaded: ebr_create, ebr_destroy (after every thread unregistered
 *     or stopped using the domain)
 *   any thread: ebr_register, ebr_unregister (its own record), ebr_epoch,
 *     ebr_pending_bytes
 *   the owning thread only: ebr_online, ebr_offline, ebr_quiescent,
 *     ebr_retire, ebr_collect
 *   A thread registers offline; every function may run concurrently with every
 *   other thread's calls.
 * Ownership: after ebr_retire(p) the reclaimer owns p and calls fn(p) exactly
 * once, on some thread (the retiring one, another collecting one, or the one
 * calling ebr_destroy), later; fn must not call back into ebr. Records are kept by the domain for
 * reuse until ebr_destroy; ebr_destroy frees everything still pending. Ordering:
 * ebr_quiescent/ebr_offline release every load the thread made of shared pointers before them;
 * fn(p) runs after (happens-after) every such release by every thread that could have loaded p, so
 * frees cannot overtake a reader's last use. ebr_online and ebr_quiescent end with a full fence:
 * loads after them see every unlink whose retire can be freed before the
 * thread's next quiescent state.
 * Progress: ebr_quiescent is wait-free (one load and a compare when the epoch
 * did not move; a store and a fence when it did); ebr_online/ebr_offline are
 * wait-free; ebr_retire is wait-free amortised except when over the cap, where
 * it collects; ebr_collect takes the domain lock briefly (orphans) and runs
 * free functions; ebr_register/unregister take the domain lock.
 * Statistics (ebr_epoch, ebr_pending_bytes) are relaxed reads: exact when no
 * thread is retiring or freeing, approximate otherwise.
 * Errors: none reported; out of memory panics (the domain, records and limbo
 * chunks come from concurrency/mem.h and count in used_memory).
 */
#ifndef KVSD_EBR_H
#define KVSD_EBR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ebr;
struct ebr_thread;

typedef void (*ebr_free_fn)(void *p);

/* Creates a domain. limbo_cap_bytes: per-thread bytes in limbo (retired bytes
 * plus 32 bytes of bookkeeping per object) above which ebr_retire() collects;
 * 0 selects the default (1 MiB). Returns NULL on out-of-memory. */
struct ebr *ebr_create(size_t limbo_cap_bytes);
/* Frees every object still pending (calling its free function), every record
 * and the domain; sets *e to NULL. No thread may use the domain any more. */
void ebr_destroy(struct ebr **e);

/* Returns a record for the calling thread, offline, or NULL on out-of-memory.
 * Reuses the record of an unregistered thread when there is one. */
struct ebr_thread *ebr_register(struct ebr *e);
/* Goes offline if needed, hands this thread's pending garbage to the domain's
 * orphan list (freed by later ebr_collect calls of any thread, or by
 * ebr_destroy) and returns the record to the domain for reuse. */
void ebr_unregister(struct ebr_thread *t);

/* Offline -> online: the thread may load shared pointers after this returns.
 * Full fence inside (pairs with the fence in the advancer's scan). */
void ebr_online(struct ebr_thread *t);
/* Online -> offline: the thread holds no shared pointer any more. Donates a
 * non-empty limbo list so other threads can free it while this one parks. */
void ebr_offline(struct ebr_thread *t);

/* Online or offline: p has been unlinked (no new reader can reach it); fn(p)
 * runs once no reader can hold it. bytes counts towards the cap and
 * ebr_pending_bytes (give the usable size). */
void ebr_retire(struct ebr_thread *t, void *p, size_t bytes, ebr_free_fn fn);

/* Tries to advance the epoch (up to twice) and frees what is safe: t's own
 * limbo, donations of offline threads and orphans, all of it (as does the
 * collect ebr_retire makes when t's limbo passes the cap). Returns the
 * number of objects freed.
 * Callable online (even inside a section: it does not announce a quiescent
 * state for t) or offline. */
size_t ebr_collect(struct ebr_thread *t);
/* As ebr_collect, freeing at most max objects (t's own first, then the
 * orphans'); one that spent max makes t's next ebr_quiescent_collect try
 * again whatever its min_bytes. For periodic upkeep (a cron tick) that must
 * not free a long backlog between two commands. */
size_t ebr_collect_some(struct ebr_thread *t, size_t max);

/* The most objects a thread frees in one quiescent collect
 * (ebr_quiescent_collect; kvmap's cron upkeep uses 16 of it through
 * ebr_collect_some), its own limbo first, then
 * orphans and parked threads' donations; the rest at its next quiescent
 * states, a slice each. One thread that held the epoch back for long (a
 * snapshot's saver stays online for a whole BGSAVE: storage/snap.h) left
 * the others everything retired meanwhile (in their limbo, or adopted from
 * a lending worker's donation into the orphans), and the first collect
 * after it freed all of it at once between two commands: at 10M keys under
 * a 20%-SET load, a request waited 130-185 ms (bench/persist.py's max while
 * saving, 17 ms quiet); 64 ms with the budget on the own limbo alone, 35 ms
 * (21 ms quiet) with the orphans' too. 512 cold objects cost tens of microseconds;
 * a worker passing ~100k quiescent states a second frees ~50M objects a
 * second that way, far above any retire rate. */
#define EBR_FREE_BUDGET 512

/* The owner-private head of every record, public only so that the fast path
 * of ebr_quiescent() inlines (one load and a compare, like liburcu-qsbr's
 * rcu_quiescent_state()). The fields belong to ebr.c: do not touch them. */
struct ebr_thread_head {
	_Atomic uint64_t *global; /* the domain's epoch */
	uint64_t local;		  /* epoch the owner announced last */
	size_t limbo_bytes;	  /* bytes + bookkeeping per entry, in limbo */
	size_t qs_collect_at;	  /* limbo_bytes at which ebr_quiescent_collect tries */
};

/* Announces the current epoch; the slow half of ebr_quiescent(). */
void ebr_quiescent_slow(struct ebr_thread *t);
/* The slow half of ebr_quiescent_collect(), past the announcement. */
size_t ebr_quiescent_collect_slow(struct ebr_thread *t, size_t min_bytes);

/* Online only: the thread holds no shared pointer at this point. Cost: one
 * load and a compare unless the epoch moved since the last announcement. */
static inline void ebr_quiescent(struct ebr_thread *t)
{
	const struct ebr_thread_head *h = (const struct ebr_thread_head *)(void *)t;

	/* relaxed: a stale epoch only delays the announcement (proof in ebr.c) */
	if (__builtin_expect(atomic_load_explicit(h->global, memory_order_relaxed) == h->local, 1))
		return;
	ebr_quiescent_slow(t);
}
/* Online only, at a quiescent state (as ebr_quiescent, which it includes):
 * once t retired min_bytes (ebr_retire's count: object bytes plus the
 * bookkeeping) since its last try, tries to advance the epoch twice,
 * announcing in between, and frees what t's own limbo then allows, then
 * what orphans and parked threads' donations allow, up to EBR_FREE_BUDGET
 * objects in all; a call that spent the budget makes the next one try
 * again whatever min_bytes. With no other thread online that is
 * everything t retired before this call (up to the budget), freed while its
 * lines are still in the core's cache (the cap's collect, from inside a
 * section, advances at most once per call and frees a cap's worth later).
 * Does nothing more when the first advance fails (another thread holds the
 * epoch). Returns the number of objects freed. Owner only; wait-free
 * except for the free functions and, while orphans wait, the domain lock. */
static inline size_t ebr_quiescent_collect(struct ebr_thread *t, size_t min_bytes)
{
	const struct ebr_thread_head *h = (const struct ebr_thread_head *)(void *)t;

	ebr_quiescent(t);
	if (__builtin_expect(h->limbo_bytes < h->qs_collect_at, 1))
		return 0;
	return ebr_quiescent_collect_slow(t, min_bytes);
}

/* A grace period without retiring anything (liburcu's synchronize_rcu):
 * returns 0 once every thread that was online in e when it was called has
 * announced a quiescent state or gone offline since; so every load a thread
 * made before that point happened-before the return, and every load a
 * thread makes after its next announcement sees the caller's stores made
 * before the call. The caller must not be online in e (it would wait for
 * itself); it needs no record. Polls (100 us sleeps) while it cannot
 * advance the epoch; returns -1 early once cancel(arg) (polled between
 * attempts; cancel may be NULL) returns true. Any thread; blocking. */
int ebr_synchronize(struct ebr *e, bool (*cancel)(void *), void *arg);
/* Current global epoch (starts at 1). */
uint64_t ebr_epoch(const struct ebr *e);
/* Bytes retired and not yet freed, over all threads. */
int64_t ebr_pending_bytes(const struct ebr *e);
/* ebr_pending_bytes plus the limbo entries that track them: the memory that
 * retired-but-unfreed objects hold (maxmemory during a snapshot). */
int64_t ebr_pending_cost(const struct ebr *e);

#endif
