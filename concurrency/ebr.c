/*
 * ebr.c — epoch-based reclamation (see ebr.h for the contract).
 *
 * One global epoch counter; one cache-line-padded record per registered
 * thread holding its announced epoch and an online bit in one atomic word;
 * a registry of records that only grows (records of unregistered threads are
 * reused, never freed before ebr_destroy), so advancers walk it without a
 * lock. Each thread keeps its garbage in a limbo list of 4 KiB chunks of
 * (pointer, free function, bytes, epoch) entries; entries are appended
 * untagged and *sealed* — tagged with the global epoch read after a full
 * fence — in batches (when a chunk fills, when the thread announces a new
 * epoch, goes offline or collects), so retiring costs no fence per object.
 * An entry tagged G is freed once the global epoch is at least G + 2.
 *
 * Garbage of a parked thread: ebr_offline() publishes a non-empty limbo list
 * in the record's `donated` slot with one exchange; the owner takes it back
 * when it comes online if nobody adopted it meanwhile; any collector may
 * adopt it (exchange to NULL) into the domain's orphan list, where the
 * leftovers of unregistered threads also go. Each chunk's entries are in
 * retire order with non-decreasing tags, so a chunk is freed from its front;
 * lists are scanned chunk by chunk, so splicing lists in any order is safe.
 *
 * The epoch advances only inside ebr_collect(): from ebr_retire() when the
 * thread's limbo is over the cap, from kvsd's hz timer, or on demand.
 */
#include "concurrency/ebr.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EBR_DEFAULT_CAP ((size_t)1 << 20)
/* A small size class (jemalloc: 3584), not a page: 4 KB blocks are all
 * page aligned (see struct ebr_chunk). */
#define EBR_CHUNK_BYTES 3584
#define EBR_UNSEALED	UINT64_MAX

struct ebr_entry {
	void *p;
	ebr_free_fn fn;
	size_t bytes;
	uint64_t epoch; /* global epoch read after the fence that sealed it */
};

/* Entries per chunk: the chunk less 64 bytes for the fields after them. */
#define EBR_CHUNK_CAP ((EBR_CHUNK_BYTES - 64) / sizeof(struct ebr_entry))

/* Owned by one thread at a time (its limbo, an adopting collector, or the
 * orphan list under the domain lock): plain fields. The entries come first
 * and the counts last: a chunk may start a page (region 0 of its slab), and
 * the counts, read and written by every retire, would share that L1 set
 * with every other page-aligned hot line. */
struct ebr_chunk {
	struct ebr_entry ent[EBR_CHUNK_CAP];
	struct ebr_chunk *next;
	uint32_t start;	  /* entries before start have been freed */
	uint32_t nsealed; /* entries before nsealed carry their epoch tag */
	uint32_t n;	  /* entries appended */
	uint32_t pad;
	size_t bytes; /* object bytes of entries [start, n) */
	/* Valid in the first chunk of a donated list only (written by the donor
	 * before its release store): the list's last chunk and its limbo_bytes,
	 * so that taking a donation back or adopting it costs O(1), not a walk
	 * of the list (a walk per offline/online made a long limbo quadratic). */
	struct ebr_chunk *ltail;
	size_t lcost;
};

#define EBR_ENTRY_COST sizeof(struct ebr_entry)

struct ebr_list {
	struct ebr_chunk *head, *tail;
};

struct ebr_thread {
	/* Owner-private lines (in_use: under dom->lock). head first: the
	 * inline ebr_quiescent() reads it through a cast. */
	struct ebr_thread_head head;
	struct ebr *dom; /* immutable */
	bool online;
	bool in_use;
	struct ebr_list limbo;
	struct ebr_chunk *spare; /* one emptied chunk kept for reuse */
	size_t collect_at;	 /* limbo_bytes at which ebr_retire collects */
	/* Statistics, written by the owner only (load + store, no RMW); read
	 * relaxed by ebr_pending_bytes: they publish nothing. */
	_Atomic int64_t retired_bytes;
	_Atomic int64_t freed_bytes;	    /* bytes this thread freed, anyone's */
	_Atomic int64_t retired_n, freed_n; /* the same in entries (ebr_pending_cost) */

	/* Own line, read by every advancer and collector. */
	/* epoch << 1 | online. Written by the owner only; read by try_advance(). */
	_Atomic uint64_t state KV_ALIGNED;
	/* A limbo list published by the owner at ebr_offline (release); taken
	 * (exchange to NULL, acquire) by the owner at ebr_online or by any
	 * collector. */
	struct ebr_chunk *_Atomic donated;
	struct ebr_thread *next; /* registry link: immutable once published */
};

static_assert(offsetof(struct ebr_thread, head) == 0, "ebr_quiescent() casts to the head");
static_assert(offsetof(struct ebr_thread, state) % KV_CACHELINE == 0, "shared line apart");
static_assert(sizeof(struct ebr_thread) % KV_CACHELINE == 0, "records padded to lines");
static_assert(EBR_CHUNK_CAP >= 64, "chunk too small");
static_assert(sizeof(struct ebr_chunk) <= EBR_CHUNK_BYTES, "chunk fields fit");

struct ebr {
	/* Global epoch: CAS by try_advance(), read by everyone. Own line. */
	_Atomic uint64_t epoch KV_ALIGNED;
	/* Registry head: pushed under lock (release), walked without it (acquire). */
	struct ebr_thread *_Atomic records KV_ALIGNED;
	pthread_mutex_t lock;	 /* registry pushes, in_use, orphans */
	struct ebr_list orphans; /* under lock */
	/* Under lock: no orphan entry is freeable at a global epoch <= this
	 * (each list spliced in was collected at an epoch >= it; 0 after an
	 * unregister's uncollected leftovers), so a collector at such an
	 * epoch leaves the list alone: while one thread holds the epoch back,
	 * collects do not walk the whole orphan list again and again. */
	uint64_t orphans_g;
	/* Hint that orphans is non-empty, so collectors skip the lock; written
	 * under lock, read relaxed (a stale value delays freeing by one call). */
	atomic_bool has_orphans;
	size_t cap;
};

static void stat_add(_Atomic int64_t *c, int64_t v)
{
	/* relaxed: single writer, statistic only */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

struct ebr *ebr_create(size_t limbo_cap_bytes)
{
	struct ebr *e = mem_alloc_aligned(KV_CACHELINE, sizeof(*e));

	memset(e, 0, sizeof(*e));
	atomic_init(&e->epoch, 1);
	atomic_init(&e->records, NULL);
	atomic_init(&e->has_orphans, false);
	pthread_mutex_init(&e->lock, NULL);
	e->cap = limbo_cap_bytes ? limbo_cap_bytes : EBR_DEFAULT_CAP;
	return e;
}

/* --- chunks and lists ------------------------------------------------- */

static struct ebr_chunk *chunk_new(struct ebr_thread *t)
{
	struct ebr_chunk *c = t->spare;

	if (c != NULL) {
		t->spare = NULL;
	} else {
		c = mem_alloc(EBR_CHUNK_BYTES);
	}
	c->next = NULL;
	c->start = c->nsealed = c->n = 0;
	c->bytes = 0;
	return c;
}

static void chunk_release(struct ebr_thread *t, struct ebr_chunk *c)
{
	if (t != NULL && t->spare == NULL)
		t->spare = c;
	else
		mem_free(c);
}

/* Appends the list head..tail (tail known: no walk) to l. */
static void list_splice(struct ebr_list *l, struct ebr_chunk *head, struct ebr_chunk *tail)
{
	if (head == NULL)
		return;
	if (l->tail != NULL)
		l->tail->next = head;
	else
		l->head = head;
	l->tail = tail;
}

/* Frees the entries of l tagged at most g - 2, front of each chunk first, at
 * most max of them;
 * unlinks emptied chunks (the tail is kept, emptied, when keep_tail: the owner
 * appends to it). Adds object bytes to *bytes and entries to the return.
 * own: l is a thread's own limbo, whose tags never decrease along the list
 * (entries are sealed in retire order with the then global epoch, and a
 * donation taken back goes in front: it is older), so the walk stops at
 * the first chunk it cannot empty — without that, every over-cap collect
 * walked the whole limbo, quadratic while one thread held the epoch back
 * for long (a snapshot's saver: storage/snap.h). Spliced lists (orphans,
 * adoptions) are in no order and are walked whole. */
static KV_HOT size_t list_collect(struct ebr_list *l, uint64_t g, int64_t *bytes,
				  struct ebr_thread *t, bool keep_tail, bool own, size_t max)
{
	struct ebr_chunk *c, *prev = NULL, *next;
	size_t n = 0;

	for (c = l->head; c != NULL; c = next) {
		next = c->next;
		while (c->start < c->nsealed && c->ent[c->start].epoch + 2 <= g && n < max) {
			struct ebr_entry *x = &c->ent[c->start++];

			c->bytes -= x->bytes;
			*bytes += (int64_t)x->bytes;
			n++;
			x->fn(x->p);
		}
		if (n >= max)
			break; /* the budget: the rest at the next call (c stays linked) */
		if (c->start < c->n) {
			if (own)
				break; /* later chunks hold later tags */
			prev = c;
			continue;
		}
		if (keep_tail && next == NULL) {
			c->start = c->nsealed = c->n = 0;
			break;
		}
		if (prev != NULL)
			prev->next = next;
		else
			l->head = next;
		if (l->tail == c)
			l->tail = prev;
		chunk_release(t, c);
	}
	return n;
}

/* Calls every free function of l regardless of tags, frees the chunks. */
static void list_drain(struct ebr_chunk *c)
{
	struct ebr_chunk *next;

	for (; c != NULL; c = next) {
		next = c->next;
		for (uint32_t i = c->start; i < c->n; i++)
			c->ent[i].fn(c->ent[i].p);
		mem_free(c);
	}
}

/* --- the hard part ---------------------------------------------------- */

/*
 * Why freeing an entry tagged G at global epoch G + 2 is safe.
 *
 * Operations (all on the global epoch are seq_cst, so they sit in the single
 * total order S together with the seq_cst fences):
 *   writer T:   unlink p (any store/CAS); FENCE F_T; load epoch -> G (the tag)
 *   reader R:   load epoch -> e; store state (e, online) [release];
 *               FENCE F_R; ...loads of shared pointers...   (announce())
 *               ...; store state (e', .) [release]  (next announce/offline)
 *   advancer C: load epoch -> E; FENCE F_C; load every state [acquire];
 *               CAS epoch E -> E + 1 [acq_rel]              (try_advance())
 *   freer:      load epoch -> g >= G + 2 [acquire]; free p.
 *
 * The global epoch reached G + 2, so some advancer C moved it from G + 1 to
 * G + 2: C loaded E = G + 1 and, after F_C, found every record offline or
 * announcing G + 1. T's tag load read G, which precedes the store of G + 1 in
 * the epoch's modification order, so T's load precedes in S every seq_cst
 * load that read G + 1 or later; with sequenced-before: F_T < (T's load) <
 * (C's load) < F_C in S. Take any reader R that loaded p:
 *
 *  1. C saw R online at G + 1. R's announcement loaded G + 1 (or R loaded it
 *     when announcing an earlier section, stayed at G + 1 with no store since
 *     then, and every later load of R is after the same F_R). That load
 *     follows T's tag load in S, so F_T < F_R. By the fence rule (the unlink
 *     is sequenced before F_T, R's pointer load after F_R) R's load sees the
 *     unlink or a later store: R never loaded p in a section that started at
 *     G + 1. So R loaded p in an earlier section, which ended with a release
 *     store of its state, read (or a later state read) by C with acquire:
 *     R's uses of p happen-before C's CAS, which the freer's acquire load
 *     reads (directly, or through the release sequence of later CASes).
 *  2. C saw R offline, and it is R's latest state at C's load: R's uses of p
 *     happened before that release store of offline — as in 1.
 *  3. C saw R offline but R had already stored online (stale read): then
 *     F_C < F_R in S (otherwise C's load after F_C would see R's store, which
 *     is sequenced before F_R — Dekker), so F_T < F_C < F_R and, as in 1, R's
 *     loads after F_R see the unlink: R holds no p.
 *
 * Sealing late is always safe (a later fence and load only raise the tag);
 * a stale relaxed read in ebr_quiescent's fast path only delays announcing.
 * Freeing at G + 1 is not safe: R may have announced G + 1 from a load that
 * preceded T's unlink in S and still be using p.
 *
 * ThreadSanitizer ignores the fences; it does not need them: every free is
 * ordered after every access of p that actually happened by the
 * release/acquire chain above (cases 1 and 2); case 3 is about which value a
 * load returns, which TSan observes rather than models.
 */

/* Tags the entries of the tail chunk appended since the last seal. Caller:
 * the owner, after a seq_cst fence that follows their unlinks. */
static void seal_after_fence(struct ebr_thread *t)
{
	struct ebr_chunk *c = t->limbo.tail;
	/* seq_cst: T's tag load in the proof; S-ordered before loads of G + 1 */
	uint64_t g = atomic_load_explicit(&t->dom->epoch, memory_order_seq_cst);

	for (uint32_t i = c->nsealed; i < c->n; i++)
		c->ent[i].epoch = g;
	c->nsealed = c->n;
}

static bool has_unsealed(const struct ebr_thread *t)
{
	return t->limbo.tail != NULL && t->limbo.tail->nsealed != t->limbo.tail->n;
}

static void seal(struct ebr_thread *t)
{
	if (!has_unsealed(t))
		return;
	/* F_T: orders the unlinks of the entries before the tag load */
	atomic_thread_fence(memory_order_seq_cst);
	seal_after_fence(t);
}

/* Announces the current global epoch: the thread holds nothing from before. */
static void announce(struct ebr_thread *t)
{
	/* seq_cst: R's epoch load in the proof; follows in S every tag load of an
	 * older epoch */
	uint64_t g = atomic_load_explicit(&t->dom->epoch, memory_order_seq_cst);

	t->head.local = g;
	t->online = true;
	/* release: the thread's loads of shared objects so far happen-before any
	 * advance that reads this; pairs with the acquire in try_advance() */
	atomic_store_explicit(&t->state, g << 1 | 1, memory_order_release);
	/* F_R: announcement and epoch load before every later shared load
	 * (Dekker with F_C in try_advance(); F_T < F_R in the proof) */
	atomic_thread_fence(memory_order_seq_cst);
	if (has_unsealed(t))
		seal_after_fence(t); /* F_R follows these unlinks too */
}

static bool try_advance(struct ebr *e)
{
	/* seq_cst: C's epoch load in the proof (case 3 needs it in S) */
	uint64_t g = atomic_load_explicit(&e->epoch, memory_order_seq_cst);
	struct ebr_thread *r;

	/* F_C: Dekker with F_R — a thread coming online either is seen here or
	 * sees every unlink sealed before this advance */
	atomic_thread_fence(memory_order_seq_cst);
	/* acquire: records are initialised before being pushed (ebr_register) */
	for (r = atomic_load_explicit(&e->records, memory_order_acquire); r != NULL; r = r->next) {
		/* acquire: the owner's loads before its announcement or offline
		 * happen-before our CAS; pairs with the releases in announce() and
		 * ebr_offline() */
		uint64_t s = atomic_load_explicit(&r->state, memory_order_acquire);

		if ((s & 1) && (s >> 1) != g)
			return false;
	}
	/* acq_rel: release publishes the scan's acquisitions to freers, whose
	 * acquire load of the epoch reads this CAS or a later one in its release
	 * sequence; acquire keeps the chain through earlier CASes */
	return atomic_compare_exchange_strong_explicit(&e->epoch, &g, g + 1, memory_order_acq_rel,
						       memory_order_relaxed);
}

/* --- donation --------------------------------------------------------- */

/* Takes back the list donated at the last ebr_offline, if nobody adopted it. */
static void take_back(struct ebr_thread *t)
{
	/* acquire: pairs with the release in donate(); our own writes, but an
	 * adopter may have handled the slot in between */
	struct ebr_chunk *c = atomic_exchange_explicit(&t->donated, NULL, memory_order_acquire);

	if (c == NULL)
		return;
	t->head.limbo_bytes += c->lcost;
	/* the donated list goes first: its entries are older */
	if (t->limbo.head != NULL) {
		c->ltail->next = t->limbo.head;
		t->limbo.head = c;
	} else {
		t->limbo.head = c;
		t->limbo.tail = c->ltail;
	}
}

/* Publishes the (sealed) limbo list for adoption by collectors. */
static void donate(struct ebr_thread *t)
{
	if (t->limbo.head == NULL)
		return;
	take_back(t); /* merge with an earlier donation nobody adopted */
	t->limbo.head->ltail = t->limbo.tail;
	t->limbo.head->lcost = t->head.limbo_bytes;
	/* release: chunk contents before the pointer; pairs with the acquire
	 * exchange in adopt() and take_back(). Only the owner stores non-NULL,
	 * and the slot is NULL after take_back(), so a store suffices. */
	atomic_store_explicit(&t->donated, t->limbo.head, memory_order_release);
	t->limbo.head = t->limbo.tail = NULL;
	t->head.limbo_bytes = 0;
	t->head.qs_collect_at = 0;
}

/* Moves every donation into l. */
static void adopt(struct ebr *e, struct ebr_list *l)
{
	struct ebr_thread *r;

	/* acquire: records are initialised before being pushed */
	for (r = atomic_load_explicit(&e->records, memory_order_acquire); r != NULL; r = r->next) {
		/* relaxed: a hint; the exchange below is what takes the list */
		if (atomic_load_explicit(&r->donated, memory_order_relaxed) == NULL)
			continue;
		/* acquire: pairs with the release in donate() */
		struct ebr_chunk *c =
		    atomic_exchange_explicit(&r->donated, NULL, memory_order_acquire);

		if (c != NULL)
			list_splice(l, c, c->ltail);
	}
}

/* --- public API ------------------------------------------------------- */

struct ebr_thread *ebr_register(struct ebr *e)
{
	struct ebr_thread *t;

	pthread_mutex_lock(&e->lock);
	/* relaxed: pushes happen under the lock we hold */
	for (t = atomic_load_explicit(&e->records, memory_order_relaxed); t != NULL; t = t->next)
		if (!t->in_use)
			break;
	if (t == NULL) {
		t = mem_alloc_aligned(KV_CACHELINE, sizeof(*t));
		memset(t, 0, sizeof(*t));
		t->dom = e;
		t->head.global = &e->epoch;
		atomic_init(&t->state, 0);
		atomic_init(&t->donated, NULL);
		atomic_init(&t->retired_bytes, 0);
		atomic_init(&t->freed_bytes, 0);
		atomic_init(&t->retired_n, 0);
		atomic_init(&t->freed_n, 0);
		t->next = atomic_load_explicit(&e->records, memory_order_relaxed);
		/* release: the record's fields before it is reachable; pairs with
		 * the acquire loads of the head in try_advance() and adopt() */
		atomic_store_explicit(&e->records, t, memory_order_release);
	}
	t->in_use = true;
	t->online = false;
	t->head.local = 0;
	t->limbo.head = t->limbo.tail = NULL;
	t->head.limbo_bytes = 0;
	t->head.qs_collect_at = 0;
	t->collect_at = e->cap;
	pthread_mutex_unlock(&e->lock);
	return t;
}

void ebr_unregister(struct ebr_thread *t)
{
	struct ebr *e = t->dom;
	struct ebr_list l = {NULL, NULL};
	struct ebr_chunk *c;

	if (t->online)
		ebr_offline(t);
	seal(t);
	pthread_mutex_lock(&e->lock);
	/* acquire: pairs with the release in donate() */
	c = atomic_exchange_explicit(&t->donated, NULL, memory_order_acquire);

	if (c != NULL)
		list_splice(&l, c, c->ltail);
	list_splice(&l, t->limbo.head, t->limbo.tail);
	if (l.head != NULL) {
		list_splice(&e->orphans, l.head, l.tail);
		e->orphans_g = 0; /* not collected: the next collector walks it */
		/* relaxed: a hint; the list itself is under the lock */
		atomic_store_explicit(&e->has_orphans, true, memory_order_relaxed);
	}
	t->limbo.head = t->limbo.tail = NULL;
	t->head.limbo_bytes = 0;
	t->head.qs_collect_at = 0;
	t->in_use = false;
	pthread_mutex_unlock(&e->lock);
}

void ebr_online(struct ebr_thread *t)
{
	announce(t);
	/* relaxed: a hint; take_back() exchanges */
	if (atomic_load_explicit(&t->donated, memory_order_relaxed) != NULL)
		take_back(t);
}

void ebr_offline(struct ebr_thread *t)
{
	seal(t);
	t->online = false;
	/* release: the thread's loads of shared objects happen-before any advance
	 * that sees it offline; pairs with the acquire in try_advance() */
	atomic_store_explicit(&t->state, t->head.local << 1, memory_order_release);
	donate(t);
}

void ebr_quiescent_slow(struct ebr_thread *t)
{
	announce(t);
}

static size_t collect(struct ebr_thread *t, size_t max);
static size_t collect_orphans(struct ebr_thread *t, uint64_t g, int64_t *bytes, size_t max);

void ebr_retire(struct ebr_thread *t, void *p, size_t bytes, ebr_free_fn fn)
{
	struct ebr_chunk *c = t->limbo.tail;

	if (kv_unlikely(c == NULL || c->n == EBR_CHUNK_CAP)) {
		seal(t); /* one fence per chunk: only the tail holds unsealed entries */
		c = chunk_new(t);
		if (t->limbo.tail != NULL)
			t->limbo.tail->next = c;
		else
			t->limbo.head = c;
		t->limbo.tail = c;
	}
	c->ent[c->n++] = (struct ebr_entry){p, fn, bytes, EBR_UNSEALED};
	c->bytes += bytes;
	t->head.limbo_bytes += bytes + EBR_ENTRY_COST;
	stat_add(&t->retired_bytes, (int64_t)bytes);
	stat_add(&t->retired_n, 1);
	if (kv_unlikely(!t->online)) {
		seal(t);
		donate(t);
	} else if (kv_unlikely(t->head.limbo_bytes >= t->collect_at)) {
		/* no budget: this collect is what bounds a bulk retirer's limbo
		 * (a purge, a big DEL); after a long grace period the quiescent
		 * states' slices drain the backlog long before the limbo grows
		 * another half cap */
		collect(t, SIZE_MAX);
	}
}

/* The epoch up to which a collector may free. */
static uint64_t epoch_for_freeing(const struct ebr *e)
{
	/* acquire: pairs with the acq_rel CAS in try_advance(); every release
	 * an advancer scanned happens-before the frees that follow */
	return atomic_load_explicit(&e->epoch, memory_order_acquire);
}

/* Frees what t's own limbo holds that is safe at epoch g (read by
 * epoch_for_freeing), at most max objects; adds the bytes to *bytes,
 * returns the number freed. Owner only. */
static size_t collect_own(struct ebr_thread *t, uint64_t g, int64_t *bytes, size_t max)
{
	size_t n = list_collect(&t->limbo, g, bytes, t, true, true, max);

	t->head.limbo_bytes -= (size_t)*bytes + n * EBR_ENTRY_COST;
	return n;
}

/* After a collect: the limbo size at which ebr_retire collects again. */
static void set_collect_at(struct ebr_thread *t)
{
	t->collect_at = t->head.limbo_bytes + t->dom->cap / 2;
	if (t->collect_at < t->dom->cap)
		t->collect_at = t->dom->cap;
}

/* noinline: the inline caller runs at every command boundary; keep it small */
__attribute__((noinline)) KV_HOT size_t ebr_quiescent_collect_slow(struct ebr_thread *t,
								   size_t min_bytes)
{
	int64_t bytes = 0;
	size_t n;
	uint64_t g;
	/* Everything retired since the last quiescent state is tagged with the
	 * epoch G this thread announced (seal), and is freeable at G + 2. The
	 * first advance (G -> G + 1) needs every online thread at G; then this
	 * thread, holding nothing, announces G + 1, so a second advance only
	 * waits for the others: with no other thread online (one busy worker)
	 * the whole limbo is freed here, while its lines are still in cache. */
	seal(t);
	if (!try_advance(t->dom)) {
		/* another thread holds the epoch: try again min_bytes later
		 * (not at every quiescent state: each try costs two fences) */
		t->head.qs_collect_at = t->head.limbo_bytes + min_bytes;
		return 0;
	}
	announce(t);
	try_advance(t->dom);
	g = epoch_for_freeing(t->dom);
	n = collect_own(t, g, &bytes, EBR_FREE_BUDGET);
	/* what parked threads left (a lending or polling worker's donated
	 * limbo that another thread adopted) drains here too, a slice at a
	 * time, not in one ebr_collect of a cron tick */
	if (n < EBR_FREE_BUDGET)
		n += collect_orphans(t, g, &bytes, EBR_FREE_BUDGET - n);
	stat_add(&t->freed_bytes, bytes);
	stat_add(&t->freed_n, (int64_t)n);
	set_collect_at(t);
	/* a spent budget may have left freeable objects: the next quiescent
	 * state frees the next slice of them */
	t->head.qs_collect_at = n < EBR_FREE_BUDGET ? t->head.limbo_bytes + min_bytes : 0;
	return n;
}

/* Frees what is safe at epoch g in the orphan list and in the donations of
 * parked threads, at most max objects: takes them out, frees without the
 * lock (free functions may be slow), puts the rest back. Adds the bytes to
 * *bytes, returns the number freed. */
static size_t collect_orphans(struct ebr_thread *t, uint64_t g, int64_t *bytes, size_t max)
{
	struct ebr *e = t->dom;
	struct ebr_list work = {NULL, NULL};
	size_t n = 0;

	if (atomic_load_explicit(&e->has_orphans, memory_order_relaxed)) {
		pthread_mutex_lock(&e->lock);
		if (e->orphans_g < g) { /* else nothing in it can be freed yet */
			work = e->orphans;
			e->orphans.head = e->orphans.tail = NULL;
			/* relaxed: under the lock; a hint for lock-free readers */
			atomic_store_explicit(&e->has_orphans, false, memory_order_relaxed);
		}
		pthread_mutex_unlock(&e->lock);
	}
	adopt(e, &work);
	if (work.head != NULL) {
		n = list_collect(&work, g, bytes, t, false, false, max);
		if (work.head != NULL) {
			pthread_mutex_lock(&e->lock);
			if (n >= max)
				e->orphans_g = 0; /* the budget stopped it: some may be freeable */
			/* else work was collected at g: nothing in it is freeable at g */
			else if (e->orphans.head == NULL || e->orphans_g > g)
				e->orphans_g = g;
			list_splice(&e->orphans, work.head, work.tail);
			atomic_store_explicit(&e->has_orphans, true, memory_order_relaxed);
			pthread_mutex_unlock(&e->lock);
		}
	}
	return n;
}

/* ebr_collect's body, freeing at most max objects (own limbo first). */
static size_t collect(struct ebr_thread *t, size_t max)
{
	int64_t bytes = 0;
	size_t n;
	uint64_t g;

	seal(t);
	if (try_advance(t->dom))
		try_advance(t->dom);
	g = epoch_for_freeing(t->dom);
	n = collect_own(t, g, &bytes, max);
	if (n < max)
		n += collect_orphans(t, g, &bytes, max - n);
	if (n >= max)
		t->head.qs_collect_at = 0; /* more may be freeable: the next quiescent state */
	stat_add(&t->freed_bytes, bytes);
	stat_add(&t->freed_n, (int64_t)n);
	set_collect_at(t);
	return n;
}

size_t ebr_collect(struct ebr_thread *t)
{
	return collect(t, SIZE_MAX);
}

size_t ebr_collect_some(struct ebr_thread *t, size_t max)
{
	return collect(t, max);
}

int ebr_synchronize(struct ebr *e, bool (*cancel)(void *), void *arg)
{
	uint64_t g;

	/* F_T of the proof: the caller's stores before it (its "unlink") are
	 * ordered before the epoch load below */
	atomic_thread_fence(memory_order_seq_cst);
	/* seq_cst: T's tag load in the proof */
	g = atomic_load_explicit(&e->epoch, memory_order_seq_cst);
	/* acquire: pairs with the acq_rel CAS in try_advance(), as a freer's
	 * load: every release an advancer scanned happens-before our return */
	while (atomic_load_explicit(&e->epoch, memory_order_acquire) < g + 2) {
		struct timespec ts = {0, 100 * 1000};

		if (try_advance(e))
			continue;
		if (cancel && cancel(arg))
			return -1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

uint64_t ebr_epoch(const struct ebr *e)
{
	/* relaxed: statistic */
	return atomic_load_explicit(&((struct ebr *)e)->epoch, memory_order_relaxed);
}

int64_t ebr_pending_bytes(const struct ebr *e)
{
	struct ebr *d = (struct ebr *)e;
	int64_t freed = 0, retired = 0;
	struct ebr_thread *r, *head;

	/* acquire: records are initialised before being pushed */
	head = atomic_load_explicit(&d->records, memory_order_acquire);
	/* freed first, then retired: both only grow, so the difference read this
	 * way errs high, never below the truth at the first read */
	for (r = head; r != NULL; r = r->next)
		freed += atomic_load_explicit(&r->freed_bytes, memory_order_relaxed);
	for (r = head; r != NULL; r = r->next)
		retired += atomic_load_explicit(&r->retired_bytes, memory_order_relaxed);
	return retired > freed ? retired - freed : 0;
}

int64_t ebr_pending_cost(const struct ebr *e)
{
	struct ebr *d = (struct ebr *)e;
	int64_t freed = 0, retired = 0;
	struct ebr_thread *r, *head;

	/* acquire: records are initialised before being pushed */
	head = atomic_load_explicit(&d->records, memory_order_acquire);
	/* as ebr_pending_bytes: freed first, so the difference errs high */
	for (r = head; r != NULL; r = r->next)
		/* relaxed: statistics */
		freed += atomic_load_explicit(&r->freed_n, memory_order_relaxed);
	for (r = head; r != NULL; r = r->next)
		retired += atomic_load_explicit(&r->retired_n, memory_order_relaxed);
	return ebr_pending_bytes(e) +
	       (retired > freed ? retired - freed : 0) * (int64_t)EBR_ENTRY_COST;
}

void ebr_destroy(struct ebr **ep)
{
	struct ebr *e = *ep;
	struct ebr_thread *r, *next;

	if (e == NULL)
		return;
	/* relaxed: single-threaded by contract */
	for (r = atomic_load_explicit(&e->records, memory_order_relaxed); r != NULL; r = next) {
		next = r->next;
		list_drain(atomic_load_explicit(&r->donated, memory_order_relaxed));
		list_drain(r->limbo.head);
		mem_free(r->spare);
		mem_free(r);
	}
	list_drain(e->orphans.head);
	pthread_mutex_destroy(&e->lock);
	mem_free(e);
	*ep = NULL;
}
