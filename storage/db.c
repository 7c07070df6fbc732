/*
 * db.c — the keyspace: a kvmap, its views (plain and transactional), lazy
 * expiry, and keyspace statistics.
 *
 * Views: every call below routes on its view's txn field — NULL: the map
 * (kvmap.h), else the transaction's overlay (txn.h) — and nowhere else; the
 * TTL count of a transaction's writes is applied when its commit publishes
 * them (kvtxn_commit's ttl_delta), not at each overlay write.
 *
 * Lazy expiry: a lookup that finds an entry whose expire_ms has passed
 * removes exactly that entry (kvmap_remove is itself a CAS on the entry, so
 * a concurrent writer's newer entry is never removed by mistake) and reports
 * the key missing. Writers go through db_put(), one CAS step. Active expiry
 * lives in expire.c, the memory limit and eviction in evict.c.
 *
 * Exclusive transactions. An optimistic transaction re-runs when another
 * writer changed what it read; under steady conflicting writes it could
 * re-run forever, and a transaction with effects outside the map (CONFIG
 * SET, CLIENT KILL) must not re-run at all. So after DB_TXN_OPTIMISTIC
 * failed attempts, or from the start when the caller asks, an attempt runs
 * exclusively: no other thread writes to the map while it runs, so it reads
 * a state nobody changes and its commit cannot conflict (kvtxn_begin_exclusive).
 * Readers are not stopped: they keep reading the map lock-free and see the
 * commit as one MWCAS, as any other.
 *  - Every map write outside an exclusive transaction — a plain-view
 *    db_put or db_flush, an optimistic commit, lazy and active expiry,
 *    eviction — runs inside a write bracket: the thread adds 1 to its slot's
 *    `writers` (seq_cst), then loads `gate` (seq_cst); if the gate is
 *    closed it takes the 1 back and waits until it opens (lazy and active
 *    expiry skip their removal instead). db_write_exit subtracts 1
 *    (release: the writes before it happen-before the exclusive run).
 *  - The exclusive side takes a ticket (FIFO among exclusive contenders),
 *    waits for its turn, closes the gate (seq_cst store), then waits until
 *    every slot's `writers` is 0 (seq_cst loads). In the single total order
 *    of seq_cst operations, either a writer's load of `gate` follows the
 *    store and it backs off, or the writer's increment precedes the
 *    holder's load of its slot and the holder waits for its exit (Dekker):
 *    no write can overlap the exclusive run. Leaving, it opens the gate and
 *    advances the ticket.
 * Progress: a transaction commits after at most DB_TXN_OPTIMISTIC failed
 * attempts plus the wait for the exclusive runs queued before it, each of
 * which runs once and cannot fail; waiting exclusive contenders are served
 * in ticket order, so none starves. Writers are blocked only while an
 * exclusive run lasts. Between attempts and while waiting for its turn the
 * thread announces quiescent states, so reclamation never stalls on it.
 * The cost to an ordinary write is one uncontended RMW pair on the
 * thread's own slot line and a load of the read-mostly gate line.
 *
 * Databases. db->table (struct db_table: index -> key space) is replaced,
 * never changed: table_change() copies it, edits the copy (SWAPDB swaps two
 * entries; FLUSHDB/FLUSHALL give a non-empty database a space taken from
 * the free bitmap) and publishes it with one release store while holding
 * the exclusive gate, so no map write is in progress (every plain write
 * resolves its space inside its write bracket and every optimistic commit
 * re-checks the table inside its bracket: a write never lands in a space
 * its database no longer names). The old table and a ticket per dropped
 * space go to the epoch reclaimer (kvmap_defer); when the ticket fires no
 * thread can hold the old table any more, so nothing can add a key to the
 * dropped space, and db_cron's purge removes its keys with one pass of
 * SCAN (every entry present for the whole pass is visited) before the
 * space returns to the free bitmap. Readers are never stopped: a plain
 * lookup reads the table, looks the key up, and re-reads the table,
 * retrying if it changed (one load of a read-mostly line). Free spaces run
 * out only if flushes outpace the purge: a plain flush first waits (bounded)
 * for purges, helping them; failing that, or inside an exclusive
 * transaction, it empties the database in place, with the gate held.
 *
 * Counters (keys with a TTL, hits, misses, expired, evicted) live in
 * per-thread slots padded to a cache line, so they are not one contended
 * word; readers sum the slots. Each slot has one writer at a time: the thread
 * that claimed it.
 */
#include "storage/db.h"
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "storage/db_internal.h"
#include "storage/txn.h"
#include "storage/coll.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_slot *db_my_slot(struct db *db)
{
	/* The context's ticket only spreads threads over slots; a shared slot
	 * stays correct because every update is an atomic read-modify-write. */
	return &db->slots[wctx_self()->ticket % DB_SLOTS];
}

/* ---- write brackets and the exclusive gate (see "Exclusive transactions") */

/* A writer's n-th wait for the gate: yields, and after a few yields
 * sleeps 20 us each time: the holder may be a SCHED_IDLE saver (snap.h's
 * cut and end) preempted on this core, and yielding to an idle-class
 * thread hands the core straight back to the yielder. */
static void gate_wait(unsigned n)
{
	if (n < 16) {
		sched_yield();
	} else {
		struct timespec ts = {0, 20000};

		nanosleep(&ts, NULL);
	}
}

KV_HOT void db_write_enter(struct db *db)
{
	struct db_slot *s = db_my_slot(db);

	for (;;) {
		/* seq_cst: Dekker with excl_enter(): our increment and its gate
		 * store are ordered in the single total order */
		atomic_fetch_add_explicit(&s->writers, 1, memory_order_seq_cst);
		/* seq_cst: the other half of the pair */
		if (kv_likely(!atomic_load_explicit(&db->gate, memory_order_seq_cst)))
			return;
		/* relaxed: taking back an increment that published nothing */
		atomic_fetch_sub_explicit(&s->writers, 1, memory_order_relaxed);
		/* relaxed: only a hint when to try again (the loop re-checks) */
		for (unsigned n = 0; atomic_load_explicit(&db->gate, memory_order_relaxed); n++)
			gate_wait(n); /* the caller may hold entries: no quiescent state */
	}
}

bool db_write_try(struct db *db)
{
	struct db_slot *s = db_my_slot(db);

	/* seq_cst: as in db_write_enter() */
	atomic_fetch_add_explicit(&s->writers, 1, memory_order_seq_cst);
	/* seq_cst: as in db_write_enter() */
	if (kv_likely(!atomic_load_explicit(&db->gate, memory_order_seq_cst)))
		return true;
	/* relaxed: taking back an increment that published nothing */
	atomic_fetch_sub_explicit(&s->writers, 1, memory_order_relaxed);
	return false;
}

void db_write_exit(struct db *db)
{
	/* release: our writes happen-before an exclusive run that sees 0 */
	atomic_fetch_sub_explicit(&db_my_slot(db)->writers, 1, memory_order_release);
}

/* Waiting for an exclusive turn: the caller holds no entry, so it lets
 * reclamation go on, and yields the CPU to whoever it waits for. */
static void excl_pause(void)
{
	kvmap_quiescent();
	sched_yield();
}

static void excl_enter(struct db *db)
{
	/* relaxed: a ticket; only its distinctness matters */
	uint32_t me = atomic_fetch_add_explicit(&db->excl_next, 1, memory_order_relaxed);

	/* acquire: pairs with the release in excl_exit(): the previous
	 * exclusive run's writes happen-before ours */
	while (atomic_load_explicit(&db->excl_serving, memory_order_acquire) != me)
		excl_pause();
	/* seq_cst: Dekker with db_write_enter() (see above) */
	atomic_store_explicit(&db->gate, 1, memory_order_seq_cst);
	for (int i = 0; i < DB_SLOTS; i++)
		/* seq_cst: the other half of the pair; synchronises with the
		 * release of db_write_exit() */
		while (atomic_load_explicit(&db->slots[i].writers, memory_order_seq_cst) != 0)
			excl_pause();
}

static void excl_exit(struct db *db)
{
	/* release: our commit before the writers that see the gate open */
	atomic_store_explicit(&db->gate, 0, memory_order_release);
	/* release: pairs with the acquire of the next ticket's holder */
	atomic_fetch_add_explicit(&db->excl_serving, 1, memory_order_release);
}

void db_excl_enter(struct db *db)
{
	excl_enter(db);
}

void db_excl_exit(struct db *db)
{
	excl_exit(db);
}

struct db_txn {
	struct db_view view; /* {db, the overlay, exclusive, index, this} */
	unsigned failed;     /* attempts that failed in a row */
	/* the database table the attempt resolves through: the first one it
	 * saw (NULL until then), or the one its own SWAPDB/FLUSHDB published;
	 * the commit fails if another replaced it */
	const struct db_table *table;
	/* a SWAPDB/FLUSHDB met in an optimistic attempt: run it exclusively */
	bool need_excl;
	/* an exclusive attempt whose watches failed at its start: it will
	 * answer -ESTALE, so its table changes are not applied */
	bool stale;
	const struct kvtxn_watch *w; /* the attempt's watches (the caller's) */
	size_t nw;
	struct coll_ctx *coll; /* typed values' edits of the attempt */
};

/* ---- databases (see "Databases" above) */

static const struct db_table *table_now(struct db *db)
{
	/* acquire: pairs with the release in table_publish(): the table's bytes */
	return atomic_load_explicit(&db->table, memory_order_acquire);
}

static unsigned view_space(const struct db_view *v);

const struct db_table *db_table_now(struct db *db)
{
	return table_now(db);
}

int db_space_index(struct db *db, unsigned space)
{
	const struct db_table *t = table_now(db);

	for (int i = 0; i < t->n; i++)
		if (t->space[i] == space)
			return i;
	return -1;
}

void db_set_drop_hooks(struct db *db, const struct db_drop_hooks *h)
{
	/* release: the hooks' bytes before the pointer; pairs with the acquire
	 * in db_drop_claim() */
	atomic_store_explicit(&db->drop_hooks, h, memory_order_release);
}

bool db_drop_claim(struct db *db, const struct kv_entry *e, int index, bool evicted, bool txn,
		   struct db_drop *d)
{
	/* acquire: pairs with the release in db_set_drop_hooks() */
	const struct db_drop_hooks *h = atomic_load_explicit(&db->drop_hooks, memory_order_acquire);

	*d = (struct db_drop){.key = kv_entry_key(e),
			      .klen = e->klen,
			      .space = e->space,
			      .index = index,
			      .evicted = evicted,
			      .txn = txn};
	return h == NULL || h->claim(db, d);
}

void db_drop_done(struct db *db, struct db_drop *d, bool removed)
{
	/* acquire: as in db_drop_claim (the same pointer: set once) */
	const struct db_drop_hooks *h = atomic_load_explicit(&db->drop_hooks, memory_order_acquire);

	if (h)
		h->done(db, d, removed);
}

static void db_spaces_init(struct db *db)
{
	for (int i = 0; i < KV_SPACES / 64; i++) {
		/* relaxed: set-up, before any other thread sees db */
		atomic_store_explicit(&db->free.w[i], ~0ULL, memory_order_relaxed);
		atomic_store_explicit(&db->purge.w[i], 0, memory_order_relaxed);
		db->purging[i] = 0;
	}
}

/* Takes a free key space: its number, or -1 if none is free. */
static int space_take(struct db *db)
{
	for (int i = 0; i < KV_SPACES / 64; i++) {
		/* acquire: pairs with the release in space_give(): the purge's
		 * removals happen-before the space is used again */
		uint64_t w = atomic_load_explicit(&db->free.w[i], memory_order_acquire);

		while (w) {
			uint64_t bit = w & -w;
			/* acquire: as above */
			uint64_t was =
			    atomic_fetch_and_explicit(&db->free.w[i], ~bit, memory_order_acquire);
			if (was & bit)
				return i * 64 + __builtin_ctzll(bit);
			w = was & ~bit;
		}
	}
	return -1;
}

static void space_give(struct db *db, unsigned space)
{
	/* release: the purge's removals before a FLUSH SYNC waiting for them
	 * returns; pairs with the acquire in flush_wait() */
	atomic_fetch_add_explicit(&db->gen[space], 1, memory_order_release);

	/* release: the purge's removals before the space is taken again */
	atomic_fetch_or_explicit(&db->free.w[space / 64], 1ULL << (space % 64),
				 memory_order_release);
}

struct purge_ticket {
	struct db *db;
	unsigned space;
};

/* The reclaimer's callback: the grace period after a space left the table
 * has passed, so no command can still write it; db_cron empties it. */
static void purge_ready(void *p)
{
	struct purge_ticket *pt = p;

	/* release: pairs with the acquire in db_purge_step() */
	atomic_fetch_or_explicit(&pt->db->purge.w[pt->space / 64], 1ULL << (pt->space % 64),
				 memory_order_release);
	mem_free(pt);
}

static void table_free(void *p)
{
	mem_free(p);
}

/* Publishes nt in place of the current table, with the exclusive gate held
 * (or before any other thread runs); `dropped` spaces are purged after a
 * grace period. */
static void table_publish(struct db *db, struct db_table *nt, const unsigned *dropped,
			  size_t ndropped)
{
	const struct db_table *old = table_now(db);

	/* release: the table's bytes before its pointer; pairs with table_now() */
	atomic_store_explicit(&db->table, nt, memory_order_release);
	if (old)
		kvmap_defer((void *)(uintptr_t)old, sizeof(*old), table_free);
	for (size_t i = 0; i < ndropped; i++) {
		struct purge_ticket *pt = mem_alloc(sizeof(*pt));

		pt->db = db;
		pt->space = dropped[i];
		kvmap_defer(pt, sizeof(*pt), purge_ready);
	}
}

int db_set_databases(struct db *db, int n)
{
	struct db_table *nt;
	const struct db_table *old = table_now(db);

	if (n < 1 || n > DB_COUNT_MAX)
		return -EINVAL;
	nt = mem_calloc(1, sizeof(*nt));
	nt->n = n;
	for (int i = 0; i < n; i++) {
		if (old && i < old->n) {
			nt->space[i] = old->space[i];
		} else {
			int sp = space_take(db);
			KV_ASSERT(sp >= 0);
			nt->space[i] = (uint8_t)sp;
		}
	}
	for (int i = n; old && i < old->n; i++)
		space_give(db, old->space[i]); /* start-up: empty */
	/* relaxed: start-up, no other thread uses db yet */
	atomic_store_explicit(&db->table, nt, memory_order_relaxed);
	mem_free((void *)(uintptr_t)old);
	return 0;
}

int db_databases(const struct db *db)
{
	/* acquire: as table_now() */
	return atomic_load_explicit(&db->table, memory_order_acquire)->n;
}

void db_view_derive(const struct db_view *v, int index, struct db_view *out)
{
	KV_ASSERT(index >= 0 && index < db_databases(v->db));
	*out = *v;
	out->index = index;
}

int db_view_index(const struct db_view *v)
{
	return v->index;
}

long long db_size_of(struct db *db, int index)
{
	return kvmap_count_space(db->map, table_now(db)->space[index]);
}

long long db_expires_of(struct db *db, int index)
{
	return kvmap_expires_space(db->map, table_now(db)->space[index]);
}

/* Removes every entry of `space` now (the exclusive gate is held, so no
 * writer runs): FLUSHDB's fallback when no fresh space is free. */
struct purge_buf {
	const uint64_t *spaces; /* bitmap of the spaces to empty */
	const struct kv_entry **e;
	size_t n, cap;
};

static void purge_visit(const struct kv_entry *e, void *arg)
{
	struct purge_buf *b = arg;

	if (!(b->spaces[e->space / 64] & (1ULL << (e->space % 64))))
		return;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->e = mem_realloc(b->e, b->cap * sizeof(*b->e));
	}
	b->e[b->n++] = e;
}

static void purge_remove(struct db *db, struct purge_buf *b, bool bracket)
{
	for (size_t i = 0; i < b->n; i++) {
		bool ttl = kv_entry_expire(b->e[i]) != 0;

		if (bracket)
			db_write_enter(db);
		db_snap_touch_entry(db, b->e[i]);
		int rc = kvmap_remove(db->map, b->e[i]);
		if (bracket)
			db_write_exit(db);
		if (rc == 0 && ttl)
			db_count_expires(db, -1);
	}
	b->n = 0;
}

static void purge_now(struct db *db, unsigned space)
{
	uint64_t bits[KV_SPACES / 64] = {0};
	struct purge_buf b = {.spaces = bits};
	uint64_t cur = 0;

	bits[space / 64] = 1ULL << (space % 64);
	do {
		cur = kvmap_scan(db->map, cur, 1024, purge_visit, &b);
		purge_remove(db, &b, false);
	} while (cur != 0);
	mem_free(b.e);
}

/* Background purge (db_cron, or a flusher short of free spaces: one thread
 * at a time, whoever takes purge_busy): empties the spaces whose grace
 * period passed, a bounded number of map slots per call, then frees them. */
static void db_purge_step(struct db *db)
{
	bool any = false;
	struct purge_buf b;

	/* acquire: the previous holder's purge state (purging, cursor) */
	if (atomic_exchange_explicit(&db->purge_busy, 1, memory_order_acquire))
		return;
	for (int i = 0; i < KV_SPACES / 64; i++)
		any |= db->purging[i] != 0;
	if (!any) {
		for (int i = 0; i < KV_SPACES / 64; i++) {
			/* acquire: pairs with the release in purge_ready() */
			db->purging[i] =
			    atomic_exchange_explicit(&db->purge.w[i], 0, memory_order_acquire);
			any |= db->purging[i] != 0;
		}
		db->purge_cursor = 0;
	}
	if (any) {
		b = (struct purge_buf){.spaces = db->purging};
		for (int k = 0; k < 64; k++) {
			db->purge_cursor =
			    kvmap_scan(db->map, db->purge_cursor, 256, purge_visit, &b);
			purge_remove(db, &b, true);
			if (db->purge_cursor == 0)
				break;
		}
		mem_free(b.e);
		/* a whole pass: every entry present for all of it was removed, and
		 * no entry of these spaces can be added (out of the table for a
		 * grace period); give them back */
		for (int i = 0; db->purge_cursor == 0 && i < KV_SPACES / 64; i++) {
			for (uint64_t w = db->purging[i]; w; w &= w - 1)
				space_give(db, (unsigned)(i * 64 + __builtin_ctzll(w)));
			db->purging[i] = 0;
		}
	}
	/* release: our purge state to the next holder */
	atomic_store_explicit(&db->purge_busy, 0, memory_order_release);
}

void db_purge(struct db *db)
{
	db_purge_step(db);
}

static int spaces_free(struct db *db)
{
	int n = 0;

	for (int i = 0; i < KV_SPACES / 64; i++)
		/* relaxed: a hint; space_take() decides */
		n += __builtin_popcountll(
		    atomic_load_explicit(&db->free.w[i], memory_order_relaxed));
	return n;
}

/* Before a plain FLUSHDB/FLUSHALL takes the gate: waits (a bounded time)
 * until `need` spaces are free, helping the purge, so that the flush does
 * not fall back to emptying a database in place. The caller holds no entry. */
static void spaces_wait(struct db *db, int need)
{
	for (int i = 0; i < 2000 && spaces_free(db) < need; i++) {
		kvmap_quiescent();
		kvmap_maintain(db->map); /* collects garbage: grace periods end */
		db_purge_step(db);
		if (spaces_free(db) < need) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

/* Runs fn(db, v, arg, nt) on a copy of the table with the exclusive gate held
 * as v requires, then publishes the copy; see db.h (db_flush). */
static int table_change(const struct db_view *v, int need,
			size_t (*fn)(const struct db_view *v, void *arg, struct db_table *nt,
				     unsigned *dropped),
			void *arg, unsigned *dropped, size_t *ndropped)
{
	struct db *db = v->db;
	struct db_table *nt;
	size_t nd;

	if (v->txn && !v->exclusive) {
		v->owner->need_excl = true;
		return -EAGAIN;
	}
	if (v->owner && v->owner->stale)
		return 0; /* the attempt will answer -ESTALE: no effect */
	if (!v->exclusive) {
		if (need > 0)
			spaces_wait(db, need);
		excl_enter(db);
	}
	nt = mem_alloc(sizeof(*nt));
	memcpy(nt, table_now(db), sizeof(*nt));
	nd = fn(v, arg, nt, dropped);
	table_publish(db, nt, dropped, nd);
	*ndropped = nd;
	if (v->owner)
		v->owner->table = nt;
	if (!v->exclusive)
		excl_exit(db);
	return 0;
}

/* Gives database i a fresh space, or empties its own in place when none is
 * free (the gate is held: no writer runs; a transaction's own pending
 * writes there are dropped too). A database with no key (exact: no writer
 * runs) and, in a transaction, no pending key keeps its space. */
static size_t flush_index(const struct db_view *v, struct db_table *nt, int i, unsigned *dropped)
{
	struct db *db = v->db;
	unsigned old = nt->space[i];
	int sp;

	if (kvmap_count_space(db->map, old) == 0 &&
	    (!v->txn || kvtxn_count_delta_space(v->txn, old) == 0))
		return 0;
	sp = space_take(db);
	if (sp < 0) {
		if (v->txn)
			kvtxn_drop_space(v->txn, old);
		purge_now(db, old);
		return 0;
	}
	dropped[0] = old;
	nt->space[i] = (uint8_t)sp;
	return 1;
}

static size_t flush_one(const struct db_view *v, void *arg, struct db_table *nt, unsigned *dropped)
{
	return flush_index(v, nt, *(int *)arg, dropped);
}

static size_t flush_every(const struct db_view *v, void *arg, struct db_table *nt,
			  unsigned *dropped)
{
	size_t nd = 0;

	(void)arg;
	for (int i = 0; i < nt->n; i++)
		nd += flush_index(v, nt, i, dropped + nd);
	return nd;
}

struct swap_arg {
	int a, b;
};

static size_t swap_two(const struct db_view *v, void *arg, struct db_table *nt, unsigned *dropped)
{
	struct swap_arg *s = arg;
	uint8_t x = nt->space[s->a];

	(void)v;
	(void)dropped;
	nt->space[s->a] = nt->space[s->b];
	nt->space[s->b] = x;
	return 0;
}

static void flush_stats(struct db *db)
{
	/* avg_ttl described the keys just removed: the expiring thread restarts
	 * it (its only writer). Release: the table change happens before the
	 * flag; pairs with the acquire in expire.c's avg_ttl_restart() */
	atomic_store_explicit(&db->avg_ttl_stale, 1, memory_order_release);
}

/* SYNC: waits until the spaces a flush dropped were purged (their
 * generation moved), helping the purge; the caller holds no entry (a plain
 * view). The generations were read before this thread's next quiescent
 * state, so before the drops' grace periods could end. */
static void flush_wait(struct db *db, const unsigned *spaces, const uint32_t *gen0, size_t n)
{
	for (size_t k = 0; k < n;) {
		/* acquire: pairs with the release in space_give(): the purge's
		 * removals happen-before our return */
		if (atomic_load_explicit(&db->gen[spaces[k]], memory_order_acquire) != gen0[k]) {
			k++;
			continue;
		}
		kvmap_quiescent();
		kvmap_maintain(db->map); /* collects: grace periods end */
		db_purge_step(db);
		sched_yield();
	}
}

static long long flush_generic(const struct db_view *v, bool all, bool sync)
{
	struct db *db = v->db;
	int i = v->index, need = 0;
	unsigned dropped[DB_COUNT_MAX];
	uint32_t gen0[DB_COUNT_MAX];
	size_t nd = 0;

	for (int k = 0; k < db_databases(db); k++)
		need += (all || k == i) && db_size_of(db, k) > 0;
	if (table_change(v, need, all ? flush_every : flush_one, &i, dropped, &nd) != 0)
		return 0;
	flush_stats(db);
	if (!sync || v->txn)
		return 0;
	for (size_t k = 0; k < nd; k++)
		/* relaxed: only compared; see flush_wait() */
		gen0[k] = atomic_load_explicit(&db->gen[dropped[k]], memory_order_relaxed);
	flush_wait(db, dropped, gen0, nd);
	return 0;
}

long long db_flush(const struct db_view *v, bool sync)
{
	return flush_generic(v, false, sync);
}

long long db_flush_all(const struct db_view *v, bool sync)
{
	return flush_generic(v, true, sync);
}

int db_swap(const struct db_view *v, int a, int b)
{
	struct swap_arg s = {a, b};

	KV_ASSERT(a >= 0 && a < db_databases(v->db) && b >= 0 && b < db_databases(v->db));
	if (a == b)
		return 0;
	unsigned none[DB_COUNT_MAX];
	size_t nd;

	(void)table_change(v, 0, swap_two, &s, none, &nd);
	return 0;
}

struct db *db_create(enum kvmap_backend backend)
{
	struct db *db = mem_alloc_aligned(KV_CACHELINE, sizeof(*db));

	memset(db, 0, sizeof(*db));
	db->samples = 5;
	db->evict_limit_us = 50 * DB_TENACITY_DEFAULT;
	db->policy = DB_NOEVICTION;
	/* cds_lfht has no seek by hash: each SCAN call walks from the head, so
	 * active expiry takes fewer, larger steps there */
	db->scan_batch = backend == KVMAP_URCU ? 1024 : 0;
	db->map = kvmap_create(backend, 0);
	if (db->map == NULL) {
		mem_free(db);
		return NULL;
	}
	db->plain = (struct db_view){.db = db, .txn = NULL, .exclusive = false, .index = 0};
	db_spaces_init(db);
	if (db_set_databases(db, DB_COUNT_DEFAULT) != 0) {
		kvmap_destroy(&db->map);
		mem_free(db);
		return NULL;
	}
	return db;
}

void db_destroy(struct db **pdb)
{
	struct db *db = *pdb;

	if (db == NULL)
		return;
	/* run the pending purge callbacks and table frees while db lives */
	kvmap_teardown();
	mem_free((void *)(uintptr_t)atomic_load_explicit(&db->table, memory_order_relaxed));
	kvmap_destroy(&db->map);
	for (int i = 0; i < DB_EVPOOL; i++)
		mem_free(db->pool[i].key);
	mem_free(db->expire_scratch);
	{
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_relaxed);

		if (t) {
			t->older = db->retired_touch;
			db->retired_touch = t;
		}
		while (db->retired_touch) {
			t = db->retired_touch;
			db->retired_touch = t->older;
			mem_free(t);
		}
	}
	mem_free(db);
	*pdb = NULL;
}

struct kvmap *db_map(struct db *db)
{
	return db->map;
}

const struct db_view *db_plain(struct db *db)
{
	return &db->plain;
}

int db_in_txn(const struct db_view *v)
{
	return v->txn != NULL;
}

/* db_lookup, and db_lookup_notouch when touch is false. */
static KV_HOT const struct kv_entry *lookup(const struct db_view *v, const void *key, size_t klen,
					    int64_t now_ms, uint64_t *hashp, int count_stats,
					    bool touch)
{
	struct db *db = v->db;
	uint64_t h;
	const struct kv_entry *e;

	if (v->txn) {
		h = kvmap_key_hash(view_space(v), key, klen);
		e = kvtxn_get(v->txn, key, klen, h);
	} else {
		/* a read of one table's space: if a SWAPDB or FLUSHDB replaced the
		 * table meanwhile, read again, so the answer is the key's in the
		 * database the index named at the read (db.c, "Databases") */
		const struct db_table *tab = table_now(db);

		for (;;) {
			h = kvmap_key_hash(tab->space[v->index], key, klen);
			e = kvmap_get(db->map, key, klen, h);
			const struct db_table *again = table_now(db);
			if (kv_likely(again == tab))
				break;
			tab = again;
		}
	}
	if (hashp)
		*hashp = h;
	if (e && kv_entry_expire(e) && kv_entry_expire(e) <= now_ms) {
		struct db_drop d;

		if (!db_drop_claim(db, e, v->index, false, v->txn != NULL, &d)) {
			/* the hook could not order the removal now: leave it */
		} else if (v->txn) {
			bool gone = kvtxn_remove(v->txn, e) == 0;

			if (gone) /* TTL count: at commit */
				db_count(&db_my_slot(db)->expired, 1);
			db_drop_done(db, &d, gone);
		} else if (db_write_try(db)) { /* an exclusive run: leave it there */
			bool gone;

			db_snap_touch_entry(db, e);
			gone = kvmap_remove(db->map, e) == 0;
			if (gone) {
				db_count(&db_my_slot(db)->expired, 1);
				db_count_expires(db, -1);
			}
			db_write_exit(db);
			db_drop_done(db, &d, gone);
		} else {
			db_drop_done(db, &d, false);
		}
		e = NULL;
	}
	if (e && touch) {
		/* acquire: pairs with the release in db_set_memory_policy(); NULL
		 * only under an LFU-less, LRU-less build of the table (see db.h) */
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);

		if (kv_unlikely(t != NULL))
			db_touch_access(t, h, now_ms);
	}
	if (count_stats)
		db_count(e ? &db_my_slot(db)->hits : &db_my_slot(db)->misses, 1);
	return e;
}

const struct kv_entry *db_lookup(const struct db_view *v, const void *key, size_t klen,
				 int64_t now_ms, uint64_t *hashp, int count_stats)
{
	return lookup(v, key, klen, now_ms, hashp, count_stats, true);
}

const struct kv_entry *db_peek(struct db *db, int index, const void *key, size_t klen)
{
	/* no re-read after a SWAPDB or FLUSHDB as lookup() does: a hint may
	 * find the key of the database the index named a moment ago */
	const struct db_table *tab = table_now(db);

	return kvmap_get(db->map, key, klen, kvmap_key_hash(tab->space[index], key, klen));
}

const struct kv_entry *db_lookup_notouch(const struct db_view *v, const void *key, size_t klen,
					 int64_t now_ms, uint64_t *hashp, int count_stats)
{
	return lookup(v, key, klen, now_ms, hashp, count_stats, false);
}

/* One CAS step on the overlay: it cannot lose a race, but a stale `old`
 * (not the overlay's current entry) fails as on the map. */
static int txn_put(struct kvtxn *t, const struct kv_entry *old, struct kv_entry *e)
{
	if (old == NULL)
		return kvtxn_insert(t, e, NULL) == 0 ? 0 : -EAGAIN;
	if (e == NULL)
		return kvtxn_remove(t, old) == 0 ? 0 : -EAGAIN;
	return kvtxn_replace(t, old, e);
}

static KV_HOT int map_put(const struct db_view *v, const struct kv_entry *old, struct kv_entry *e)
{
	struct db *db = v->db;
	int rc;

	db_write_enter(db);
	/* inside the bracket the table cannot change (its writers hold the
	 * gate): write the space the index names now; an `old` read from a
	 * space the index no longer names is stale */
	unsigned space = table_now(db)->space[v->index];
	if (old && old->space != space) {
		db_write_exit(db);
		return -EAGAIN;
	}
	if (e)
		kv_entry_set_space(e, space);
	db_snap_touch_entry(db, old ? old : e);
	if (old == NULL) {
		rc = kvmap_insert(db->map, e, NULL);
		if (rc == -EEXIST)
			rc = -EAGAIN;
	} else if (e == NULL) {
		rc = kvmap_remove(db->map, old);
		if (rc == -ENOENT)
			rc = -EAGAIN;
	} else {
		rc = kvmap_replace(db->map, old, e);
	}
	db_write_exit(db);
	if (rc == 0)
		db_count_expires(db, (e && kv_entry_expire(e) ? 1 : 0) -
					 (old && kv_entry_expire(old) ? 1 : 0));
	return rc;
}

/*
 * Hot keys. A plain write is a CAS loop in its command (db_put's contract):
 * a failed CAS means another write of the key succeeded, so the loop is
 * lock-free, but one writer of a hot key may lose many races in a row and
 * rebuild its value each time (a large collection's edit, say). So after
 * DB_HOT_RETRIES failures in a row a writer takes the key's stripe lock
 * (DB_HOT_STRIPES mutexes chosen by hash) and keeps it until its write
 * succeeds or its command ends (db_coll_end). While a stripe is held, a
 * plain write of another thread to a key of that stripe does not try its
 * CAS: it fails at once and queues on the lock itself. So a held stripe's
 * writes run one at a time, each one's CAS contended only by writers that
 * had passed the check before the stripe was taken: retries are bounded,
 * and no writer starves while others keep winning.
 * The lock is taken outside the exclusive gate's write bracket, so a
 * waiter never holds up an exclusive transaction (whose thread takes no
 * stripe lock), and a thread holds at most one stripe, so there is no lock
 * order to get wrong. Cost when no key is hot: one relaxed load of
 * hot_held per plain write.
 */
#define DB_HOT_RETRIES 4
#define DB_HOT_STRIPES 256

static struct {
	pthread_mutex_t m;
	_Atomic int held; /* 1 while a thread holds m (a hint for the others) */
} hot[DB_HOT_STRIPES];
static pthread_once_t hot_once = PTHREAD_ONCE_INIT;
/* stripes held now: the fast path's only load (relaxed: a hint; the mutex
 * orders what matters) */
static _Atomic int hot_held;
static _Thread_local int hot_fails;	/* failed plain CASes in a row */
static _Thread_local int hot_mine = -1; /* the stripe this thread holds */

static void hot_init(void)
{
	for (int i = 0; i < DB_HOT_STRIPES; i++)
		pthread_mutex_init(&hot[i].m, NULL);
}

static int hot_stripe(const struct kv_entry *old, const struct kv_entry *e)
{
	const struct kv_entry *x = old ? old : e;

	/* the key's bytes alone: a new entry gets its key space stamped only
	 * inside map_put, and the stripe must be the same before and after */
	return (int)(kvmap_hash(kv_entry_key(x), x->klen) >> 24) & (DB_HOT_STRIPES - 1);
}

static void hot_release(void)
{
	if (hot_mine < 0)
		return;
	/* relaxed: hints; the unlock releases the write */
	atomic_store_explicit(&hot[hot_mine].held, 0, memory_order_relaxed);
	atomic_fetch_sub_explicit(&hot_held, 1, memory_order_relaxed);
	pthread_mutex_unlock(&hot[hot_mine].m);
	hot_mine = -1;
}

static void hot_acquire(struct db *db, int s)
{
	pthread_once(&hot_once, hot_init);
	pthread_mutex_lock(&hot[s].m);
	hot_mine = s;
	/* relaxed: hints (see hot_held) */
	atomic_store_explicit(&hot[s].held, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hot_held, 1, memory_order_relaxed);
	db_count(&db_my_slot(db)->hot_fallbacks, 1);
}

/* A plain write about to try its CAS: false if it must fail at once (its
 * stripe is held by another thread; it will queue on the lock). */
static bool hot_may_try(const struct kv_entry *old, const struct kv_entry *e)
{
	int s;

	/* relaxed: a hint; a writer that misses a just-taken stripe is one of
	 * the bounded stragglers (see "Hot keys") */
	if (hot_mine >= 0 || !atomic_load_explicit(&hot_held, memory_order_relaxed))
		return true;
	s = hot_stripe(old, e);
	if (!atomic_load_explicit(&hot[s].held, memory_order_relaxed))
		return true;
	hot_fails = DB_HOT_RETRIES; /* queue on the lock */
	return false;
}

static KV_HOT void hot_after(struct db *db, const struct kv_entry *old, const struct kv_entry *e,
			     int rc)
{
	if (rc == 0) {
		hot_fails = 0;
		hot_release();
		return;
	}
	db_count(&db_my_slot(db)->put_retries, 1);
	if (++hot_fails >= DB_HOT_RETRIES && hot_mine < 0)
		hot_acquire(db, hot_stripe(old, e));
}

/* Plain views' edits: the thread's (db.h). Created on first use and freed
 * when the thread ends (a pthread key's destructor, so threads that never
 * call db_coll_thread_exit leak nothing), or by db_coll_thread_exit. */
static _Thread_local struct coll_ctx *plain_ctx;
static pthread_key_t plain_key;
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;

static void plain_ctx_free(void *p)
{
	struct coll_ctx *c = p;

	coll_ctx_destroy(&c);
}

static void plain_key_init(void)
{
	int rc = pthread_key_create(&plain_key, plain_ctx_free);

	KV_ASSERT(rc == 0);
}

static KV_HOT struct coll_ctx *plain_coll(void)
{
	if (!plain_ctx) {
		pthread_once(&plain_once, plain_key_init);
		plain_ctx = coll_ctx_create();
		pthread_setspecific(plain_key, plain_ctx);
	}
	return plain_ctx;
}

struct coll_ctx *db_coll_ctx(const struct db_view *v)
{
	return v->txn ? v->owner->coll : plain_coll();
}

KV_HOT void db_coll_end(void)
{
	if (plain_ctx && coll_ctx_busy(plain_ctx))
		coll_ctx_abort(plain_ctx);
	hot_fails = 0;
	hot_release();
}

void db_coll_thread_exit(void)
{
	if (plain_ctx) {
		pthread_setspecific(plain_key, NULL);
		coll_ctx_destroy(&plain_ctx);
	}
}

static const struct db_table *txn_table(struct db_txn *t);

/* ---- the ready signal (db.h: db_set_ready_hook) */

/* set once at start-up, before any worker runs: plain globals */
static db_ready_fn ready_fn;
static const _Atomic long *ready_armed;

void db_set_ready_hook(db_ready_fn fn, const _Atomic long *armed)
{
	ready_fn = fn;
	ready_armed = armed;
}

/* e (published over old) creates a list or a sorted set under its key */
static inline bool ready_creation(const struct kv_entry *old, const struct kv_entry *e)
{
	enum kv_type t;

	if (e == NULL || e->enc != KV_ENC_TYPED || ready_fn == NULL)
		return false;
	t = kv_entry_type(e);
	return (t == KV_LIST || t == KV_ZSET) && (old == NULL || kv_entry_type(old) != t);
}

/* After a successful publish of a creation: tells the hook if armed. */
static void ready_signal(int index, const struct kv_entry *e)
{
	/* seq_cst fence: orders our publishing CAS before the load of the
	 * waiter count — the store-buffering pair of the fence a blocking
	 * client runs between raising that count and re-checking its keys
	 * (server/blocking.c, "No lost wakeup"): one of the two sees the other */
	atomic_thread_fence(memory_order_seq_cst);
	/* relaxed: ordered by the fence above */
	if (atomic_load_explicit(ready_armed, memory_order_relaxed) == 0)
		return;
	ready_fn(index, kv_entry_key(e), e->klen);
}

static void txn_published(void *arg, const struct kvmap_mw *items, size_t n)
{
	struct db_txn *t = arg;

	coll_ctx_commit(t->coll, items, n);
	for (size_t i = 0; i < n; i++) {
		const struct db_table *tab;

		if (!items[i].write || !ready_creation(items[i].old, items[i].neww))
			continue;
		tab = txn_table(t);
		for (int k = 0; k < tab->n; k++)
			if (tab->space[k] == items[i].neww->space) {
				ready_signal(k, items[i].neww);
				break;
			}
	}
}

/* A commit's MWCAS is about to write these items (inside the commit's write
 * bracket or its exclusive run): first touches for a snapshot (snap.h). */
static void txn_touch(void *arg, const struct kvmap_mw *items, size_t n)
{
	struct db *db = arg;

	/* relaxed: see `snap` in struct db */
	if (kv_likely(atomic_load_explicit(&db->snap, memory_order_relaxed) == NULL))
		return;
	for (size_t i = 0; i < n; i++)
		if (items[i].write)
			snap_touch(db, kv_hash_space(items[i].hash), items[i].key, items[i].klen,
				   items[i].hash);
}

KV_HOT int db_put(const struct db_view *v, const struct kv_entry *old, struct kv_entry *e)
{
	struct db *db = v->db;
	int rc;

	if (old == NULL && e == NULL)
		return 0;
	if (v->txn) {
		unsigned space = view_space(v);
		if (old && old->space != space)
			return -EAGAIN;
		if (e)
			kv_entry_set_space(e, space);
		rc = txn_put(v->txn, old, e);
	} else {
		rc = hot_may_try(old, e) ? map_put(v, old, e) : -EAGAIN;
		hot_after(db, old, e, rc);
		if ((old && old->enc == KV_ENC_TYPED) || (e && e->enc == KV_ENC_TYPED) ||
		    coll_ctx_busy(plain_coll())) {
			if (rc == 0)
				coll_ctx_publish(plain_coll(), old, e);
			else
				coll_ctx_fail(plain_coll());
		}
	}
	if (rc == 0)
		wctx_self()->db_writes++;
	if (rc == 0 && !v->txn && ready_creation(old, e))
		ready_signal(v->index, e);
	if (rc == 0 && old == NULL) {
		/* acquire: pairs with the release in db_set_memory_policy() */
		struct db_touch *t = atomic_load_explicit(&db->touch, memory_order_acquire);

		if (t)
			db_touch_new(t, kv_entry_hash(e), clock_wall_ms());
	}
	return rc;
}

int db_load_put(const struct db_view *v, struct kv_entry *e, uint64_t hash, int64_t now_ms)
{
	struct db *db = v->db;
	struct db_touch *t;
	int rc;

	KV_ASSERT(v->txn == NULL);
	/* db_put's insert without its per-key clock read and second hash;
	 * a load takes no hot-key lock (nothing else writes) */
	db_write_enter(db);
	unsigned space = table_now(db)->space[v->index];
	kv_entry_set_space(e, space);
	if (kv_hash_space(hash) != space) /* the view's space moved meanwhile */
		hash = kvmap_key_hash(space, kv_entry_key(e), e->klen);
	db_snap_touch_entry(db, e);
	rc = kvmap_insert_hashed(db->map, e, hash);
	db_write_exit(db);
	if (rc == -EEXIST)
		rc = -EAGAIN;
	if (rc == 0)
		db_count_expires(db, kv_entry_expire(e) ? 1 : 0);
	if (e->enc == KV_ENC_TYPED || coll_ctx_busy(plain_coll())) {
		if (rc == 0)
			coll_ctx_publish(plain_coll(), NULL, e);
		else
			coll_ctx_fail(plain_coll());
	}
	if (rc != 0)
		return rc;
	wctx_self()->db_writes++;
	if (ready_creation(NULL, e))
		ready_signal(v->index, e);
	/* acquire: pairs with the release in db_set_memory_policy() */
	t = atomic_load_explicit(&db->touch, memory_order_acquire);
	if (t)
		db_touch_new(t, hash, now_ms);
	return 0;
}

long long db_size(const struct db_view *v)
{
	unsigned space = view_space(v);
	long long n = kvmap_count_space(v->db->map, space);

	if (v->txn)
		n += kvtxn_count_delta_space(v->txn, space);
	return n > 0 ? n : 0;
}

long long db_expires(struct db *db)
{
	int64_t n = 0;

	for (int i = 0; i < DB_SLOTS; i++)
		n += atomic_load_explicit(&db->slots[i].expires, memory_order_relaxed);
	return n < 0 ? 0 : n;
}

struct scan_filter {
	unsigned space;
	kvmap_visit_fn fn;
	void *arg;
};

static void scan_filter_visit(const struct kv_entry *e, void *arg)
{
	struct scan_filter *f = arg;

	if (e->space == f->space)
		f->fn(e, f->arg);
}

uint64_t db_scan(const struct db_view *v, uint64_t cursor, size_t count, kvmap_visit_fn fn,
		 void *arg)
{
	struct scan_filter f = {.space = view_space(v), .fn = fn, .arg = arg};

	/* an empty database ends the scan at once, as Redis's dictScan does,
	 * whatever other databases hold */
	if (kvmap_count_space(v->db->map, f.space) == 0)
		return 0;
	return kvmap_scan(v->db->map, cursor, count, scan_filter_visit, &f);
}

struct scan_first {
	unsigned space;
	const struct kv_entry *e;
};

static void scan_first_visit(const struct kv_entry *e, void *arg)
{
	struct scan_first *f = arg;

	if (f->e == NULL && e->space == f->space)
		f->e = e;
}

const struct kv_entry *db_random(const struct db_view *v, uint64_t rnd)
{
	unsigned space = view_space(v);
	struct scan_first f = {.space = space, .e = NULL};
	uint64_t cur;

	if (kvmap_count_space(v->db->map, space) == 0)
		return NULL;
	/* draws first: cheap while the database is a fair share of the map */
	for (int i = 0; i < 32; i++) {
		const struct kv_entry *e = kvmap_random(v->db->map, rnd);

		if (e == NULL)
			return NULL;
		if (e->space == space)
			return e;
		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	/* a small database among large ones: walk from a random cursor */
	cur = rnd;
	for (int pass = 0; pass < 2 && f.e == NULL; pass++) {
		do
			cur = kvmap_scan(v->db->map, cur, 64, scan_first_visit, &f);
		while (cur != 0 && f.e == NULL);
	}
	return f.e;
}

uint64_t db_key_hash(const struct db_view *v, const void *key, size_t klen)
{
	return kvmap_key_hash(view_space(v), key, klen);
}

void db_watch(const struct db_view *v, const char *key, size_t klen, int64_t now_ms,
	      struct kvtxn_watch *w)
{
	uint64_t h;

	/* the entry first (lazy expiry removes a dead one), then the stripe:
	 * kvmap.h's order for an ABA-safe watch */
	w->ptr = db_lookup(v, key, klen, now_ms, &h, 0);
	w->index = v->index;
	w->key = key;
	w->klen = klen;
	w->hash = h;
	w->stripe = kvmap_stripe(v->db->map, h);
}

/* ---- transactions */

static const struct db_table *txn_table(struct db_txn *t);

/*
 * WATCH across SWAPDB/FLUSHDB/FLUSHALL (Redis's touchAllWatchedKeysInDb):
 * a watch names its database; if that database's space changed since the
 * WATCH, the key counts as touched when it existed when watched or exists
 * now. Called at commit, where the table cannot change (db.c, "Databases").
 */
static bool txn_watches_moved(struct db_txn *t)
{
	const struct db_table *tab = txn_table(t);

	for (size_t i = 0; i < t->nw; i++) {
		const struct kvtxn_watch *w = &t->w[i];
		unsigned now = tab->space[w->index];

		if (kv_hash_space(w->hash) == now)
			continue;
		if (w->ptr != NULL)
			return true;
		if (kvmap_get(t->view.db->map, w->key, w->klen,
			      kvmap_key_hash(now, w->key, w->klen)) != NULL)
			return true;
	}
	return false;
}

static const struct db_table *txn_table(struct db_txn *t)
{
	if (t->table == NULL)
		t->table = table_now(t->view.db);
	return t->table;
}

static unsigned view_space(const struct db_view *v)
{
	const struct db_table *tab = v->owner ? txn_table(v->owner) : table_now(v->db);

	return tab->space[v->index];
}

void db_txn_select(struct db_txn *t, int index)
{
	KV_ASSERT(index >= 0 && index < db_databases(t->view.db));
	t->view.index = index;
}

struct db_txn *db_txn_create(struct db *db)
{
	struct db_txn *t = mem_alloc(sizeof(*t));

	t->view = (struct db_view){
	    .db = db, .txn = kvtxn_create(db->map), .exclusive = false, .index = 0, .owner = t};
	t->failed = 0;
	t->table = NULL;
	t->need_excl = false;
	t->stale = false;
	t->w = NULL;
	t->nw = 0;
	t->coll = coll_ctx_create();
	kvtxn_set_publish_hook(t->view.txn, txn_published, t);
	kvtxn_set_touch_hook(t->view.txn, txn_touch, db);
	return t;
}

void db_txn_destroy(struct db_txn **pt)
{
	struct db_txn *t = *pt;

	if (!t)
		return;
	kvtxn_destroy(&t->view.txn);
	coll_ctx_destroy(&t->coll);
	mem_free(t);
	*pt = NULL;
}

const struct db_view *db_txn_begin(struct db_txn *t, const struct kvtxn_watch *w, size_t nw,
				   bool exclusive)
{
	if (t->failed > 0) {
		/* between attempts: nothing of the last one is held (db.h) */
		kvmap_quiescent();
		if (t->failed > 2)
			sched_yield(); /* let the conflicting writers finish */
	}
	coll_ctx_abort(t->coll); /* nothing of an earlier attempt survives */
	t->view.exclusive = exclusive || t->failed >= DB_TXN_OPTIMISTIC || t->need_excl;
	t->need_excl = false;
	t->table = NULL;
	t->w = w;
	t->nw = nw;
	t->stale = false;
	if (t->view.exclusive) {
		db_count(&db_my_slot(t->view.db)->txn_exclusive, 1);
		excl_enter(t->view.db);
		kvtxn_begin_exclusive(t->view.txn, w, nw);
		/* nothing can change the map or the table until the commit, so
		 * the watches can be checked now: a stale attempt must not apply
		 * its SWAPDB/FLUSHDB, which act on the table at once */
		t->stale = kvtxn_watches_stale(t->view.txn) || txn_watches_moved(t);
	} else {
		kvtxn_begin(t->view.txn, w, nw);
	}
	return &t->view;
}

int db_txn_commit(struct db_txn *t)
{
	struct db *db = t->view.db;
	int64_t ttl = 0;
	int rc;

	if (t->view.exclusive) {
		rc = t->stale || txn_watches_moved(t) ? -ESTALE : kvtxn_commit(t->view.txn, &ttl);
		excl_exit(db);
		t->view.exclusive = false;
	} else if (t->need_excl) {
		rc = -EAGAIN; /* its next attempt runs exclusively */
	} else {
		db_write_enter(db);
		/* the table cannot change inside the bracket: an attempt that
		 * resolved databases through a replaced table is stale */
		if (t->table && t->table != table_now(db))
			rc = -EAGAIN;
		else
			rc = txn_watches_moved(t) ? -ESTALE : kvtxn_commit(t->view.txn, &ttl);
		db_write_exit(db);
	}
	/* published edits were resolved by txn_published; the rest is garbage */
	coll_ctx_abort(t->coll);
	t->table = NULL;
	t->failed = rc == -EAGAIN ? t->failed + 1 : 0;
	if (rc == -EAGAIN)
		db_count(&db_my_slot(db)->txn_conflicts, 1);
	if (rc == 0)
		db_count_expires(db, ttl);
	return rc;
}

void db_txn_need_exclusive(struct db_txn *t)
{
	t->need_excl = true;
}

void db_txn_abort(struct db_txn *t)
{
	kvtxn_abort(t->view.txn);
	coll_ctx_abort(t->coll);
	t->table = NULL;
	t->need_excl = false;
}

size_t db_txn_key_hashes(const struct db_txn *t, size_t from, uint64_t *out, size_t cap)
{
	return kvtxn_key_hashes(t->view.txn, from, out, cap);
}

int db_txn_poll(struct db_txn *t)
{
	if (t->need_excl)
		return -EAGAIN;
	return kvtxn_poll(t->view.txn);
}

/* relaxed loads and stores below: statistics, they publish nothing */
void db_get_stats(struct db *db, struct db_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < DB_SLOTS; i++) {
		s->hits += atomic_load_explicit(&db->slots[i].hits, memory_order_relaxed);
		s->misses += atomic_load_explicit(&db->slots[i].misses, memory_order_relaxed);
		s->expired_keys +=
		    atomic_load_explicit(&db->slots[i].expired, memory_order_relaxed);
		s->evicted_keys +=
		    atomic_load_explicit(&db->slots[i].evicted, memory_order_relaxed);
		s->txn_conflicts +=
		    atomic_load_explicit(&db->slots[i].txn_conflicts, memory_order_relaxed);
		s->txn_exclusive +=
		    atomic_load_explicit(&db->slots[i].txn_exclusive, memory_order_relaxed);
		s->put_retries +=
		    atomic_load_explicit(&db->slots[i].put_retries, memory_order_relaxed);
		s->hot_fallbacks +=
		    atomic_load_explicit(&db->slots[i].hot_fallbacks, memory_order_relaxed);
	}
	s->expired_stale_perc =
	    (double)atomic_load_explicit(&db->stale_perc_x1e4, memory_order_relaxed) / 100.0;
	s->expired_time_cap_reached =
	    atomic_load_explicit(&db->time_cap_reached, memory_order_relaxed);
	s->expire_cycle_us = atomic_load_explicit(&db->cycle_us, memory_order_relaxed);
	s->expire_cycles = atomic_load_explicit(&db->cycles, memory_order_relaxed);
	/* acquire: pairs with the release in expire.c's avg_ttl_restart(), so a
	 * cleared flag is never read with the average from before the flush */
	if (atomic_load_explicit(&db->avg_ttl_stale, memory_order_acquire))
		s->avg_ttl_ms = 0;
	else
		s->avg_ttl_ms = atomic_load_explicit(&db->avg_ttl, memory_order_relaxed);
}

void db_reset_stats(struct db *db)
{
	for (int i = 0; i < DB_SLOTS; i++) {
		atomic_store_explicit(&db->slots[i].hits, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].misses, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].expired, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].evicted, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].txn_conflicts, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].txn_exclusive, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].put_retries, 0, memory_order_relaxed);
		atomic_store_explicit(&db->slots[i].hot_fallbacks, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&db->stale_perc_x1e4, 0, memory_order_relaxed);
	atomic_store_explicit(&db->time_cap_reached, 0, memory_order_relaxed);
	atomic_store_explicit(&db->cycle_us, 0, memory_order_relaxed);
	atomic_store_explicit(&db->cycles, 0, memory_order_relaxed);
}

long long db_key_memory(const struct db_view *v, const void *key, size_t klen, int64_t now_ms)
{
	/* no db_lookup: MEMORY USAGE neither touches the key nor counts a hit */
	uint64_t h = kvmap_key_hash(view_space(v), key, klen);
	const struct kv_entry *e =
	    v->txn ? kvtxn_get(v->txn, key, klen, h) : kvmap_get(v->db->map, key, klen, h);

	if (e == NULL || (kv_entry_expire(e) && kv_entry_expire(e) <= now_ms))
		return -1;
	/* the entry's allocation plus its slot word in the map's table */
	return (long long)(kv_entry_size(e) + sizeof(void *));
}
