/*
 * snap.c — point-in-time snapshots of a db without fork (snap.h).
 *
 * The design is snap.h's; here, what each piece is and why it is enough.
 *
 * State. s->cut is the database table at the cut and s->space_db its
 * inverse (key space -> database, -1 for a space no database named then).
 * 2^SNAP_STRIPE_BITS stripes by kvmap_stripe_of (2^SNAP_STRIPE_BITS_LINEAR
 * on a backend whose stripe walk costs O(N): cds_lfht, see below); each
 * stripe has a spin lock, the list of its records (one per key first
 * touched while its (database, stripe) was unvisited: the key's entry at
 * the cut, or NULL for "absent"), and per database a `visited` byte.
 *
 * Why a record is the key's entry at the cut. Every map write after the
 * cut runs inside a write bracket or an exclusive run (db.c) and calls
 * snap_touch() for its key before it changes it; the cut itself closes the
 * gate, so no write straddles it. The first touch of a key reads the map
 * under the stripe lock: no post-cut write of that key can have happened
 * yet (each is preceded by its own touch, which comes after this first
 * one's critical section), so it reads the cut's entry.
 *
 * Why the saver's stripe walk is right. Under the stripe lock, no key of
 * the (database, stripe) that has no record can be written: its writer
 * would have to touch first, and that touch waits for the lock (or, once
 * the saver released it, finds the pair visited and writes after the walk:
 * the walk's loads happen-before the visited byte's release store, which
 * the writer acquires). So every key without a record holds its cut entry
 * for the whole walk, and kvmap_walk_stripe visits it exactly once (its
 * contract); a key with a record may be visited zero, one or two times,
 * and whatever the walk found for it is replaced by its record. A recorded
 * key that the walk no longer finds (deleted after the cut) is added from
 * its record; an "absent" record (created after the cut) is dropped.
 * Keys of spaces not in the cut (FLUSHDB's fresh spaces) are never walked.
 *
 * Dropped spaces. A FLUSHDB/FLUSHALL after the cut drops a space from the
 * table, and its keys are purged after a grace period; the saver stays
 * online from begin to end, so no grace period that began after the cut
 * ends before db_snap_end: that purge simply waits for the snapshot to end
 * (its keys stay as they were at the cut, untouched). A purge already
 * running at the cut empties a space no cut database names. The in-place
 * fallback (no free space: purge_now with the gate held) touches each key
 * it removes, as any writer. FLUSHALL SYNC during a save therefore waits
 * for the save's end.
 *
 * Memory. The records (32 bytes per key first touched, plus the key for
 * one created after the cut)
 * are counted in db->snap_bytes, and maxmemory leaves them out during the
 * save together with the garbage the saver holds back (evict.c), as Redis
 * does not count a fork child's copied pages in used_memory.
 *
 * Stripes: 4096, or more for a large map (stripe_bits: about 128 keys per
 * stripe, at most 2^17 stripes). The saver holds a stripe's lock while it
 * walks the stripe's buckets (with a fixed 4096: about 2,400 keys at 10M
 * keys, a few hundred microseconds with the cache misses; with 2^17
 * stripes about 80 keys) and a writer of an unvisited stripe waits for at
 * most that; so the stripes are the saver's small batches, with the lock
 * dropped between them. A touch searches its stripe's records (touched
 * keys / stripes of them on average); and the fixed cost of a walk, one
 * lock and one pass over the stripe's home buckets per (database,
 * stripe), stays small for 16 mostly empty databases (databases with no
 * key at the cut are marked visited at the cut and never walked). More
 * stripes multiply that fixed cost and the per-snapshot arrays (16 bytes
 * per stripe plus a byte per database and stripe: 4 MB at 2^17 stripes and
 * 16 databases, for a map of more than 8M keys). A writer that finds the
 * stripe held spins briefly and then sleeps on a futex (stripe_lock: the
 * saver may be a SCHED_IDLE thread preempted inside its walk). On the URCU
 * map a stripe walk reads the list from its head (kvmap_walk_stripe_linear), so there
 * 16 stripes: a save reads each database's share of the list ~8 times
 * over, and a writer of an unvisited stripe may wait for a 1/16 walk.
 */
#include "storage/snap.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "storage/db_internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SNAP_STRIPE_BITS	12 /* at least; more for large databases (stripe_bits) */
#define SNAP_STRIPE_BITS_MAX	17
#define SNAP_STRIPE_KEYS	128  /* keys per stripe the bits aim at (stripe_bits) */
#define SNAP_SPINS		100  /* a stripe lock's waiter spins this often, then sleeps */
#define SNAP_STRIPE_BITS_LINEAR 4    /* a backend whose stripe walk is O(N) */
#define SNAP_BATCH		1024 /* db_snap_next yields at least this many, or the rest */

/* A key's entry at the cut. The key is copied only for an absent one: a
 * present one's key is its entry's, which the saver keeps alive (it is
 * online until db_snap_end), so a record is 32 bytes, not 32 + the key
 * rounded up (48 or 64 for the 16-byte keys of bench/persist.py). */
struct snap_rec {
	struct snap_rec *next;
	uint64_t hash;
	const struct kv_entry *e; /* at the cut; NULL = absent */
	uint32_t klen;
	char key[]; /* e == NULL only */
};

static inline const char *rec_key(const struct snap_rec *r)
{
	return r->e ? kv_entry_key(r->e) : r->key;
}

struct snap_stripe {
	/* 1 while held: by a touch (short) or the saver (one stripe walk).
	 * acquire exchange to take, release store to give back: they order
	 * the records list and the visited bytes of the stripe */
	_Atomic int lock;      /* 0, 1, 2: see stripe_lock */
	struct snap_rec *recs; /* under lock */
};

/* a walked entry and its hash */
struct snap_item {
	const struct kv_entry *e;
	uint64_t hash;
};

struct db_snap {
	struct db *db;
	struct db_table cut;
	int8_t space_db[KV_SPACES]; /* key space -> database at the cut, or -1 */
	long long keys[DB_COUNT_MAX], expires[DB_COUNT_MAX];
	unsigned bits, nstripes;     /* stripes: kvmap_stripe_of(hash, bits) */
	struct snap_stripe *stripes; /* nstripes */
	/* [database * nstripes + stripe]: 1 once walked (release store by
	 * the saver under the stripe lock; acquire load by touches) */
	_Atomic uint8_t *visited;
	/* the saver's walk position (saver only) */
	int index;
	unsigned next_stripe;
	struct snap_item *buf;
	size_t cap;
	struct snap_rec **recs;
	size_t rcap;
	/* statistics: records by any toucher (relaxed: counts only), the rest
	 * by the saver */
	_Atomic uint64_t records, absent;
	uint64_t stripes_walked, yielded;
};

/* Stripe bits for a map of about n keys (all databases): 12, or more so that
 * a stripe holds about SNAP_STRIPE_KEYS keys (the saver's critical section:
 * a few microseconds whatever the size), at most SNAP_STRIPE_BITS_MAX. */
static _Atomic unsigned forced_bits; /* db_snap_force_bits; relaxed: a test knob set before use */

static unsigned stripe_bits(size_t n)
{
	unsigned bits = SNAP_STRIPE_BITS;
	unsigned f = atomic_load_explicit(&forced_bits, memory_order_relaxed);

	if (f)
		return f;
	while (bits < SNAP_STRIPE_BITS_MAX && (n >> bits) > SNAP_STRIPE_KEYS)
		bits++;
	return bits;
}

void db_snap_force_bits(unsigned bits)
{
	/* relaxed: set by a test before it takes snapshots */
	atomic_store_explicit(&forced_bits,
			      bits > SNAP_STRIPE_BITS_MAX ? SNAP_STRIPE_BITS_MAX : bits,
			      memory_order_relaxed);
}

struct db_snap *db_snap_begin(struct db *db, int *err)
{
	struct db_snap *s;
	int free_ = 0;

	/* acq_rel: the previous snapshot's end happens-before this one */
	if (!atomic_compare_exchange_strong_explicit(&db->snap_busy, &free_, 1,
						     memory_order_acq_rel, memory_order_relaxed)) {
		*err = -EBUSY;
		return NULL;
	}
	s = mem_calloc(1, sizeof(*s));
	if (s) {
		s->bits = kvmap_walk_stripe_linear(db_map(db))
			      ? SNAP_STRIPE_BITS_LINEAR
			      : stripe_bits(kvmap_count(db_map(db)));
		s->nstripes = 1u << s->bits;
		s->stripes = mem_calloc(s->nstripes, sizeof(*s->stripes));
		/* `databases` is fixed at start-up: the cut's table has as many */
		s->visited = mem_calloc((size_t)db_databases(db) * s->nstripes, 1);
	}
	if (!s || !s->stripes || !s->visited) {
		if (s) {
			mem_free(s->stripes);
			mem_free((void *)s->visited);
			mem_free(s);
		}
		/* release: gives the claim back */
		atomic_store_explicit(&db->snap_busy, 0, memory_order_release);
		*err = -ENOMEM;
		return NULL;
	}
	s->db = db;
	db_excl_enter(db); /* the cut: no write is in progress or can begin */
	s->cut = *db_table_now(db);
	KV_ASSERT(s->cut.n == db_databases(db)); /* visited's size */
	memset(s->space_db, -1, sizeof(s->space_db));
	for (int i = 0; i < s->cut.n; i++) {
		s->space_db[s->cut.space[i]] = (int8_t)i;
		/* exact: no write is in progress */
		s->keys[i] = kvmap_count_space(db_map(db), s->cut.space[i]);
		s->expires[i] = kvmap_expires_space(db_map(db), s->cut.space[i]);
		if (s->keys[i] == 0)
			/* nothing to save, nothing to record: walked already.
			 * Plain stores: published with s by the gate's opening */
			memset((void *)&s->visited[(size_t)i * s->nstripes], 1, s->nstripes);
	}
	/* relaxed: the gate is held; its opening publishes s (db_internal.h) */
	atomic_store_explicit(&db->snap, s, memory_order_relaxed);
	db_excl_exit(db);
	*err = 0;
	return s;
}

int db_snap_databases(const struct db_snap *s)
{
	return s->cut.n;
}

long long db_snap_keys(const struct db_snap *s, int index)
{
	return index >= 0 && index < s->cut.n ? s->keys[index] : 0;
}

long long db_snap_expires(const struct db_snap *s, int index)
{
	return index >= 0 && index < s->cut.n ? s->expires[index] : 0;
}

void db_snap_stats(const struct db_snap *s, struct db_snap_stats *out)
{
	/* relaxed: statistics */
	out->records = atomic_load_explicit(&s->records, memory_order_relaxed);
	out->absent = atomic_load_explicit(&s->absent, memory_order_relaxed);
	out->stripes_walked = s->stripes_walked;
	out->yielded = s->yielded;
}

static void futex_op(_Atomic int *w, int op, int val)
{
	/* the kernel reads the int itself; _Atomic int has int's layout */
	syscall(SYS_futex, (int *)w, op, val, NULL, NULL, 0);
}

/* 0 free, 1 held, 2 held and someone may sleep on it (Drepper's "Futexes
 * are tricky", mutex 3). A waiter spins briefly, then sleeps in the kernel
 * rather than yielding in a loop: the saver runs under SCHED_IDLE
 * (psrv_background_prio), and a worker that yields to a preempted idle
 * thread gets the CPU straight back (the idle class runs only when nothing
 * else wants the core), so spinning would keep the holder off the core;
 * sleeping hands the core to the holder at once, which ends its short
 * critical section and wakes the worker. */
static void stripe_lock(struct snap_stripe *st)
{
	int c = 0;

	/* acquire: the previous holder's records and visited bytes */
	if (atomic_compare_exchange_strong_explicit(&st->lock, &c, 1, memory_order_acquire,
						    memory_order_relaxed))
		return;
	for (unsigned spins = 0; spins < SNAP_SPINS; spins++) {
		c = 0;
		/* relaxed: a hint; the CAS below orders (acquire, as above) */
		if (atomic_load_explicit(&st->lock, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong_explicit(&st->lock, &c, 1, memory_order_acquire,
							    memory_order_relaxed))
			return;
	}
	/* acquire: as above; 2 tells the holder to wake a sleeper */
	while (atomic_exchange_explicit(&st->lock, 2, memory_order_acquire) != 0)
		futex_op(&st->lock, FUTEX_WAIT_PRIVATE, 2);
}

static void stripe_unlock(struct snap_stripe *st)
{
	/* release: our records and visited bytes to the next holder */
	if (atomic_exchange_explicit(&st->lock, 0, memory_order_release) == 2)
		futex_op(&st->lock, FUTEX_WAKE_PRIVATE, 1);
}

static struct snap_rec *rec_find(struct snap_rec *r, uint64_t hash, const void *key, size_t klen)
{
	for (; r; r = r->next)
		if (r->hash == hash && r->klen == klen && memcmp(rec_key(r), key, klen) == 0)
			return r;
	return NULL;
}

void snap_touch(struct db *db, unsigned space, const void *key, size_t klen, uint64_t hash)
{
	/* relaxed: written only with the gate held, read inside a write
	 * bracket or an exclusive run (db_internal.h) */
	struct db_snap *s = atomic_load_explicit(&db->snap, memory_order_relaxed);

	if (kv_likely(s == NULL))
		return;
	int d = s->space_db[space & (KV_SPACES - 1)];
	if (d < 0)
		return; /* a space created after the cut */
	unsigned si = (unsigned)kvmap_stripe_of(hash, s->bits);
	_Atomic uint8_t *vis = &s->visited[(size_t)d * s->nstripes + si];
	/* acquire: the saver's walk of the stripe happens-before our write */
	if (atomic_load_explicit(vis, memory_order_acquire))
		return;
	struct snap_stripe *st = &s->stripes[si];
	stripe_lock(st);
	/* relaxed: under the stripe lock, which orders the saver's store */
	if (!atomic_load_explicit(vis, memory_order_relaxed) &&
	    !rec_find(st->recs, hash, key, klen)) {
		/* the cut's entry: see the top of the file */
		const struct kv_entry *e = kvmap_get(db_map(db), key, klen, hash);
		struct snap_rec *r = mem_alloc(sizeof(*r) + (e ? 0 : klen));

		r->hash = hash;
		r->klen = (uint32_t)klen;
		r->e = e;
		if (!e)
			memcpy(r->key, key, klen);
		r->next = st->recs;
		st->recs = r;
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&s->records, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&db->snap_bytes, (int64_t)mem_usable(r),
					  memory_order_relaxed);
		if (!r->e)
			atomic_fetch_add_explicit(&s->absent, 1, memory_order_relaxed);
	}
	stripe_unlock(st);
}

struct walk_arg {
	struct db_snap *s;
	size_t n;
};

static void walk_fn(const struct kv_entry *e, uint64_t hash, void *arg)
{
	struct walk_arg *w = arg;
	struct db_snap *s = w->s;

	if (w->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->buf = mem_realloc(s->buf, s->cap * sizeof(*s->buf));
	}
	s->buf[w->n++] = (struct snap_item){e, hash};
}

static int rec_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct snap_rec *const *)a)->hash;
	uint64_t y = (*(struct snap_rec *const *)b)->hash;

	return x < y ? -1 : x > y;
}

/* Whether the walked entry e (hash h) has a record among r[0..n) (sorted by hash). */
static bool recorded(struct snap_rec **r, size_t n, const struct kv_entry *e, uint64_t h)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid]->hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && r[lo]->hash == h; lo++)
		if (r[lo]->klen == e->klen && memcmp(rec_key(r[lo]), kv_entry_key(e), e->klen) == 0)
			return true;
	return false;
}

/* Walks stripe si of database d (see the top of the file) and yields its
 * entries at the cut; returns how many. */
static size_t walk_stripe(struct db_snap *s, int d, unsigned si, db_snap_fn fn, void *arg)
{
	struct snap_stripe *st = &s->stripes[si];
	_Atomic uint8_t *vis = &s->visited[(size_t)d * s->nstripes + si];
	unsigned space = s->cut.space[d];
	struct walk_arg w = {s, 0};
	struct snap_rec **pp, *mine = NULL;
	size_t nr = 0, out = 0;

	/* relaxed: only the saver stores it, and this is the saver */
	if (atomic_load_explicit(vis, memory_order_relaxed))
		return 0; /* an empty database */
	stripe_lock(st);
	kvmap_walk_stripe(db_map(s->db), space, si, s->bits, walk_fn, &w);
	/* take this space's records out of the stripe's list */
	for (pp = &st->recs; *pp;) {
		struct snap_rec *r = *pp;
		if (kv_hash_space(r->hash) == space) {
			*pp = r->next;
			r->next = mine;
			mine = r;
			nr++;
		} else {
			pp = &r->next;
		}
	}
	/* release: the walk's loads happen-before any write a touch that
	 * sees the byte lets through */
	atomic_store_explicit(vis, 1, memory_order_release);
	stripe_unlock(st);
	s->stripes_walked++;

	if (nr > s->rcap) {
		s->rcap = nr * 2;
		s->recs = mem_realloc(s->recs, s->rcap * sizeof(*s->recs));
	}
	nr = 0;
	for (struct snap_rec *r = mine; r; r = r->next)
		s->recs[nr++] = r;
	if (nr > 1)
		qsort(s->recs, nr, sizeof(*s->recs), rec_cmp);
	for (size_t i = 0; i < w.n; i++) {
		if (nr && recorded(s->recs, nr, s->buf[i].e, s->buf[i].hash))
			continue;
		fn(arg, s->buf[i].e);
		out++;
	}
	for (size_t i = 0; i < nr; i++) {
		if (s->recs[i]->e) {
			fn(arg, s->recs[i]->e);
			out++;
		}
		mem_free(s->recs[i]);
	}
	s->yielded += out;
	return out;
}

bool db_snap_next(struct db_snap *s, int index, db_snap_fn fn, void *arg)
{
	size_t n = 0;

	if (index < 0 || index >= s->cut.n || index < s->index)
		return false;
	if (index > s->index) { /* databases are walked in turn */
		s->index = index;
		s->next_stripe = 0;
	}
	while (s->next_stripe < s->nstripes && n < SNAP_BATCH)
		n += walk_stripe(s, index, s->next_stripe++, fn, arg);
	return s->next_stripe < s->nstripes;
}

void db_snap_end(struct db_snap **ps)
{
	struct db_snap *s = *ps;
	struct db *db;

	if (!s)
		return;
	db = s->db;
	/* no writer may still be inside snap_touch with s: close the gate
	 * (it waits for every write bracket) before s goes */
	db_excl_enter(db);
	/* relaxed: the gate is held (db_internal.h) */
	atomic_store_explicit(&db->snap, NULL, memory_order_relaxed);
	/* relaxed: a statistic; no touch runs (the gate is held) */
	atomic_store_explicit(&db->snap_bytes, 0, memory_order_relaxed);
	db_excl_exit(db);
	for (unsigned i = 0; i < s->nstripes; i++)
		for (struct snap_rec *r = s->stripes[i].recs, *next; r; r = next) {
			next = r->next;
			mem_free(r);
		}
	mem_free(s->stripes);
	mem_free((void *)s->visited);
	mem_free(s->buf);
	mem_free(s->recs);
	mem_free(s);
	*ps = NULL;
	/* release: this snapshot's end before the next begin's claim */
	atomic_store_explicit(&db->snap_busy, 0, memory_order_release);
}
