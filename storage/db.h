/*
 * db.h — the keyspace as commands see it: a kvmap plus expiry policy, the
 * memory limit with eviction, keyspace statistics, and the views through
 * which commands read and write keys.
 *
 * Views. Every read or write of a key goes through a view (struct db_view),
 * which the command request carries (server/cmd.h: r->view):
 *  - the plain view (db_plain) acts on the shared map: each call is one
 *    lock-free step, visible to every other client at once;
 *  - a transactional view (db_txn_begin) acts on a private overlay
 *    (storage/txn.h) above the same map: reads record what they saw, writes
 *    stay private until db_txn_commit() publishes all of them at once — or
 *    reports a conflict, after which the caller discards what the attempt
 *    produced (its replies) and runs it again in a new attempt.
 * The db_* calls behave the same in both (same results, same ownership), so
 * a command handler is written once and is atomic and isolated when run in
 * a transactional view.
 *
 * Databases (SELECT). A view also names a database index; handlers pass
 * plain keys and never see databases. The map holds every database: a key
 * is (key space, bytes) — kvmap.h, "Key spaces": 8 bits in the entry
 * header (no byte per key) and in the hash — and an immutable table maps
 * database index -> key space. Views resolve the index through the table
 * at each call (plain: the current table, re-read if it changed during the
 * lookup, and inside db_put's write bracket, where it cannot change;
 * transactional: the table the attempt first saw, validated at commit, so
 * a transaction is serialisable against SWAPDB and FLUSHDB). SWAPDB swaps
 * two entries of a new table, FLUSHDB points the index at a fresh, empty
 * space: both publish the table in one pointer store, with the exclusive
 * gate held (below), so every command sees the databases before or after,
 * never a mix; readers never wait. A dropped space is emptied in the
 * background (db_cron) after an epoch grace period — when no command can
 * still hold the old table — and only then becomes free again, so a space
 * is never reused with keys in it. KEYS, SCAN, RANDOMKEY and DBSIZE act on
 * the view's database (SCAN and RANDOMKEY walk the shared map and skip
 * other databases' keys; DBSIZE reads per-space counters). No thread-local state changes what a
 * call means: only the view argument does. The calls that read the map itself whatever the view
 * (their results are not validated at commit): db_scan and db_random (KEYS, SCAN, RANDOMKEY).
 * Collections, scripts and snapshots are meant to add their views here, behind the same calls.
 *
 * db_lookup() applies lazy expiry: an entry whose expire_ms has passed is
 * removed (if it is still current) and reported missing. Writes go through
 * db_put(), a single compare-and-swap step that commands loop on:
 *   for (;;) { old = db_lookup(v, ..); new = build(old); if (db_put(v, old, new) == 0) break; }
 * so every write is linearizable per key and lock-free (in a transactional
 * view the step acts on the overlay and cannot lose a race), except that a
 * plain write waits while an exclusive transaction runs (see below).
 *
 * Active expiry (db_active_expire, from one thread's hz timer) walks the map
 * with a persistent SCAN cursor in bounded, adaptive cycles, as Redis's
 * activeExpireCycle() does over its expires dict (see expire.c).
 *
 * maxmemory (db_set_memory_policy, db_check_memory, in evict.c) compares
 * used_memory (mem_used(), refreshed at most once per millisecond) with the
 * limit and
 * evicts sampled keys by the configured policy. LRU/LFU need per-key access
 * data that the 16-byte entry header has no room for: it lives in a side
 * table of 16-bit words indexed by hash (a key shares its word with the keys
 * that collide on it), LFU counters under an LFU policy and LRU clocks
 * otherwise, and
 * db_lookup() stores into it only when the value changes (LRU: once per
 * 100 ms clock tick per word; LFU: Redis's logarithmic counter, whose
 * increments become rare as a key gets hot, plus once per minute for decay).
 * With any other policy the table holds LRU clocks all the same (OBJECT
 * IDLETIME reports them, as Redis keeps an access clock in every object):
 * its fixed size (128 KB for up to 64k keys present when the policy was
 * set), no byte per key, and a store per word at most once per 100 ms.
 *
 * Threads: any registered storage thread (kvmap_thread_register); returned
 * entries are valid until the caller's next quiescent state. db_plain's
 * view is shared by every thread; a plain view from db_view_init belongs to
 * its command; a transaction (struct db_txn) and its view belong to one
 * thread at a time.
 * db_swap / db_flush / db_flush_all in a plain view: any thread holding no
 * entry (they may announce quiescent states while they wait for the gate,
 * for free key spaces, or — SYNC — for the purge); never inside an
 * exclusive attempt's plain view.
 * db_cron (and its purge): any one thread at a time; a flusher may help the
 * purge (a try-lock).
 * db_active_expire, db_active_expire_more: one thread at a time (worker 0's
 * loop: its hz timer, then its slice events).
 * db_check_memory: any thread; one thread evicts at a time, the others go on.
 * Statistics are per-thread relaxed counters (they publish nothing).
 * Errors: 0 / -errno.
 */
#ifndef KVSD_DB_H
#define KVSD_DB_H

#include "storage/kvmap.h"
#include "storage/txn.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Limits storage owns; the config table (server/config_table.c) takes the
 * bounds of its rows from here, so nothing a client configures can ask
 * storage for more than it holds.
 */
/* The longest key or value, in bytes: proto-max-bulk-len's ceiling. */
#define DB_STRING_MAX ((long long)KV_LEN_MAX)
/* databases (Redis's default 16; at most DB_COUNT_MAX: each needs a key
 * space of the 256, and FLUSHDB borrows fresh ones). maxmemory in bytes
 * (0 = no limit). */
#define DB_COUNT_DEFAULT 16
#define DB_COUNT_MAX	 128
#define DB_MAXMEMORY_MAX LLONG_MAX
/* maxmemory-samples: Redis's bounds are accepted; eviction samples at most
 * DB_SAMPLES_USED keys. */
#define DB_SAMPLES_MIN	1
#define DB_SAMPLES_MAX	INT_MAX
#define DB_SAMPLES_USED 64
/* maxmemory-eviction-tenacity (Redis 7's range and default) */
#define DB_TENACITY_MIN	    0
#define DB_TENACITY_MAX	    100
#define DB_TENACITY_DEFAULT 10
/* active-expire-effort */
#define DB_EXPIRE_EFFORT_MIN 1
#define DB_EXPIRE_EFFORT_MAX 10

struct db;
struct db_txn;

/* A view: what a command reads and writes keys through. Plain views are
 * built per command (db_view_init) on the caller's stack; a transaction's
 * lives in its struct db_txn. Fields are the db layer's. */
struct db_view {
	struct db *db;
	struct kvtxn *txn; /* NULL: the plain keyspace */
	/* the transaction holds the exclusive gate (db.c): its writes, which
	 * are the only ones, need no write bracket */
	bool exclusive;
	int index;	      /* the database (SELECT) */
	struct db_txn *owner; /* transactional views: the transaction */
};

/* databases: DB_COUNT_DEFAULT of them (db_set_databases changes it). */
struct db *db_create(enum kvmap_backend backend);
void db_destroy(struct db **db);
struct kvmap *db_map(struct db *db);
/* Sets the number of databases, 1..DB_COUNT_MAX: at start-up, before any
 * other thread uses db (the `databases` setting is immutable). 0 / -EINVAL. */
int db_set_databases(struct db *db, int n);
/* The number of databases (DEBUG DIGEST, INFO keyspace iterate 0..n-1). */
int db_databases(const struct db *db);

/* ---- views */

/* The plain view of database 0. Valid until db_destroy. */
const struct db_view *db_plain(struct db *db);
/* Fills *out with the plain view of database `index` (0 <= index <
 * db_databases: the caller's check, as SELECT's). A command builds one per
 * run, so it is inline. */
static inline void db_view_init(struct db *db, int index, struct db_view *out)
{
	*out = (struct db_view){.db = db, .txn = NULL, .exclusive = false, .index = index};
}
/* *out: the view v with database `index` instead (same transaction, if
 * any): MOVE and COPY ... DB read and write two databases in one attempt. */
void db_view_derive(const struct db_view *v, int index, struct db_view *out);
int db_view_index(const struct db_view *v);
/* Whether v is a transactional view (a command running inside one needs no
 * transaction of its own). */
int db_in_txn(const struct db_view *v);

/* Lookup with lazy expiry. *hash (if non-NULL) receives the key's hash.
 * Counts keyspace hits/misses only when count_stats is set (reads, not writes). */
const struct kv_entry *db_lookup(const struct db_view *v, const void *key, size_t klen,
				 int64_t now_ms, uint64_t *hash, int count_stats);

/* The entry of key in database `index` as it stands, with no effect at
 * all: no lazy expiry (an expired entry is returned), no access record, no
 * statistics, no transaction. For hints (server/prefetch.c); inside an
 * epoch section, the pointer valid until the caller's next quiescent state. */
const struct kv_entry *db_peek(struct db *db, int index, const void *key, size_t klen);

/* db_lookup without recording an access (Redis's LOOKUP_NOTOUCH: OBJECT,
 * DEBUG OBJECT). */
const struct kv_entry *db_lookup_notouch(const struct db_view *v, const void *key, size_t klen,
					 int64_t now_ms, uint64_t *hash, int count_stats);

/*
 * A key's access data, from the side table (evict.c), by the key's hash
 * (db_lookup's *hash): *idle_ms the time since its last access (LRU table;
 * 100 ms units, saturating at ~54 minutes; a key shares its word with the
 * keys whose hashes collide on it, so it reads the latest access of any of
 * them), *freq the decayed logarithmic counter (LFU table). Returns 1 for
 * an LRU table, 2 for an LFU table, 0 while there is none (during a policy
 * change). Any storage thread.
 */
int db_key_access(struct db *db, uint64_t hash, int64_t now_ms, uint64_t *idle_ms, unsigned *freq);
/* RESTORE's IDLETIME / FREQ (Redis's objectSetLRUOrLFU): with an LFU
 * table and freq >= 0 the key's counter becomes freq; with an LRU table and
 * idle_s >= 0 its last access is idle_s seconds ago (saturating where
 * the LRU word does). Otherwise nothing. Any storage thread. */
void db_key_set_access(struct db *db, uint64_t hash, int64_t now_ms, long long idle_s,
		       long long freq);

/*
 * One CAS step: if `old` is NULL, inserts `e` when the key is absent; else
 * replaces `old` by `e` if old is still current. `e` NULL with `old` set
 * deletes old. On success the view owns e, old is retired, and 0 is returned.
 * On -EAGAIN (lost a race) e is still the caller's to retry with or free.
 */
int db_put(const struct db_view *v, const struct kv_entry *old, struct kv_entry *e);
/* A loader's db_put(v, NULL, e) (RDB load at start-up, in a plain view):
 * `hash` is db_key_hash of e's key (computed once, by the caller, who
 * also prefetched with it: kvmap_prefetch), now_ms the access time a new
 * key gets. 0, or -EAGAIN when the key exists (e stays the caller's). */
int db_load_put(const struct db_view *v, struct kv_entry *e, uint64_t hash, int64_t now_ms);

/*
 * The write context collection edits in this view go to (storage/coll.h):
 * a transactional view's own (resolved at its commit or abort), or, for a
 * plain view, the calling thread's (resolved by the db_put that publishes or
 * fails to publish the edited lineage; an edit never put is dropped when the
 * command ends: db_coll_end). Any storage thread, for its own views.
 */
struct coll_ctx *db_coll_ctx(const struct db_view *v);
/* End of a command in a plain view: drops edits the command did not put. */
void db_coll_end(void);
/* A storage thread that made plain edits frees its context before it ends. */
void db_coll_thread_exit(void);

/* Number of keys of the view's database as it sees them (approximate
 * under concurrent writes). */
long long db_size(const struct db_view *v);
/* Keys, and keys with a TTL, of database `index` (INFO keyspace). */
long long db_size_of(struct db *db, int index);
long long db_expires_of(struct db *db, int index);
/*
 * FLUSHDB: empties the view's database; FLUSHALL (db_flush_all): every
 * database. The database gets a fresh key space in one step (readers see
 * all of the old keys or none), and the old space's keys are removed after
 * a grace period: in the background (db_cron), or, with `sync` in a plain
 * view, before the call returns (it helps the purge and waits for it, as
 * Redis's FLUSHALL SYNC frees before it replies; others go on). Returns 0.
 * SWAPDB (db_swap): databases a and b exchange their key spaces in one
 * step. All three change the database table, which needs the exclusive
 * gate: a plain view takes it (waiting for the writes in progress, one CAS
 * each, to end; readers are not stopped); an exclusive transaction holds
 * it; an optimistic transaction's attempt is marked to run again
 * exclusively (db_txn_poll reports -EAGAIN) and the call does nothing.
 */
long long db_flush(const struct db_view *v, bool sync);
long long db_flush_all(const struct db_view *v, bool sync);
int db_swap(const struct db_view *v, int a, int b);
/* Keys with a TTL (all databases). */
long long db_expires(struct db *db);

/* SCAN over the map (kvmap_scan), whatever the view, visiting the entries
 * of the view's database only: a transaction's own writes are not seen and
 * what is visited is not validated at commit. COUNT counts slots of the
 * whole map (all databases). */
uint64_t db_scan(const struct db_view *v, uint64_t cursor, size_t count, kvmap_visit_fn fn,
		 void *arg);
/* A random entry of the view's database (kvmap_random, then a scan when
 * the database is a small share of the map), whatever the view; NULL if
 * empty. */
const struct kv_entry *db_random(const struct db_view *v, uint64_t rnd);

/* The hash of key in the view's database (what db_watch records). */
uint64_t db_key_hash(const struct db_view *v, const void *key, size_t klen);

/* WATCH: records key's current entry (after lazy expiry) and its stripe, in
 * that order (kvmap.h), into *w (w->key is set to key: the caller keeps the
 * bytes alive until the transaction ends). Plain view. */
void db_watch(const struct db_view *v, const char *key, size_t klen, int64_t now_ms,
	      struct kvtxn_watch *w);

/*
 * The ready signal, for blocking commands (server/blocking.c): fn(index,
 * key, klen) runs on the writing thread after a write published a list or
 * a sorted set under a key that held no value of that type — a creation:
 * a plain db_put, or a transaction's commit (once per created key, with its
 * final state: a key created and deleted in one transaction is not
 * signalled) — but only while *armed is non-zero. Between the publishing
 * CAS and the load of *armed runs a seq_cst fence; a blocked client raises
 * *armed and runs a seq_cst fence before it re-checks its keys, so either
 * the writer calls fn or the client sees the key (store buffering).
 * Writes that create nothing pay one type check. Set once at start-up,
 * before any worker runs.
 */
typedef void (*db_ready_fn)(int index, const char *key, size_t klen);
void db_set_ready_hook(db_ready_fn fn, const _Atomic long *armed);

/* ---- transactions: a reusable transactional view (one thread at a time)
 *
 *   t = db_txn_create(db);
 *   do {
 *           v = db_txn_begin(t, watches, n, exclusive);  // an empty overlay
 *           ... run the commands against v ...  (db_txn_poll after each)
 *           rc = db_txn_commit(t);           // 0, -EAGAIN (run again), -ESTALE
 *   } while (rc == -EAGAIN);
 *
 * Attempts are optimistic (lock-free; a conflict makes the commit answer
 * -EAGAIN) until DB_TXN_OPTIMISTIC of them failed in a row; the next one
 * runs exclusively: no other thread writes to the map until its commit,
 * which therefore cannot fail (db.c, "Exclusive transactions"). Pass
 * exclusive = true to run exclusively from the first attempt: for a
 * transaction that must run exactly once (commands with effects outside the
 * map). So the loop above ends after at most DB_TXN_OPTIMISTIC + 1
 * attempts; waiting exclusive transactions are served in FIFO order.
 * db_txn_begin may announce a quiescent state and wait: call it holding no
 * entry pointer. Between begin and commit the thread stays inside its epoch
 * section, and an exclusive attempt must not use the plain view (its own
 * writes would wait for itself).
 */
#define DB_TXN_OPTIMISTIC 8

/* Write brackets: code that writes db_map(db) directly, not through a view
 * (the db layer's expiry and eviction do; tests may), brackets each write
 * with these, so that it waits while an exclusive transaction runs and that
 * transaction never overlaps it (db.c, "Exclusive transactions"). The
 * caller may hold entries while it waits. Never inside an exclusive attempt. */
void db_write_enter(struct db *db);
void db_write_exit(struct db *db);

struct db_txn *db_txn_create(struct db *db);
void db_txn_destroy(struct db_txn **t);
/* The database the transaction's view acts on (before begin: where the
 * attempt starts; during an attempt: SELECT inside EXEC). */
void db_txn_select(struct db_txn *t, int index);
const struct db_view *db_txn_begin(struct db_txn *t, const struct kvtxn_watch *w, size_t nw,
				   bool exclusive);
/* kvtxn_commit(): 0, -EAGAIN or -ESTALE; an exclusive attempt never
 * answers -EAGAIN. */
int db_txn_commit(struct db_txn *t);
/* kvtxn_poll(): after each command, 1 if a flush committed the attempt so
 * far, a negative commit code if that failed, else 0. */
int db_txn_poll(struct db_txn *t);
/* Drops the running optimistic attempt: nothing of it is published, and
 * it does not count as a conflict (the next begin starts as if it had not
 * run: a killed script, server/script.h). Never on an exclusive attempt. */
void db_txn_abort(struct db_txn *t);
/* kvtxn_key_hashes(): the db_key_hash of each key the running attempt read
 * or wrote, from the from-th on (at most cap; returns how many). What a
 * busy script publishes so that other clients' commands on other keys go
 * on (server/script.h). The transaction's thread only. */
size_t db_txn_key_hashes(const struct db_txn *t, size_t from, uint64_t *out, size_t cap);
/* Abandons the running optimistic attempt: its commit publishes nothing and
 * answers -EAGAIN, and the next attempt runs exclusively (a script about to
 * run a command with effects outside the map, server/script.h). */
void db_txn_need_exclusive(struct db_txn *t);

struct db_stats {
	uint64_t hits, misses, expired_keys, evicted_keys;
	/* active expiry: running share of expired keys among sampled ones (Redis's
	 * expired_stale_perc), cycles that hit their time limit, CPU spent (us) */
	double expired_stale_perc;
	uint64_t expired_time_cap_reached, expire_cycle_us, expire_cycles;
	long long avg_ttl_ms; /* running average TTL of sampled keys with one */
	/* transactions: optimistic attempts that failed on a conflict, and
	 * attempts run exclusively (db.c, "Exclusive transactions") */
	uint64_t txn_conflicts, txn_exclusive;
	/* plain writes whose CAS lost a race, and writes that fell back to a
	 * hot key's stripe lock (db.c, "Hot keys") */
	uint64_t put_retries, hot_fallbacks;
};
void db_get_stats(struct db *db, struct db_stats *s);
void db_reset_stats(struct db *db);

/* ---- active expiry (expire.c) */

/*
 * Active expiry, one cycle per hz tick: removes expired keys found from the
 * persistent cursor on, for at most (25 + 2 * (effort - 1))% of a 1/hz period
 * of run time, and repeats while more than (10 - (effort - 1))% of the keys
 * with a TTL it sampled had expired. effort 1..10 (active-expire-effort), hz
 * 1..500. A cycle runs in slices of about slice_us (checked after each scan
 * batch of ~20 keys), so that its caller can serve clients between them:
 * db_active_expire begins a cycle (ending one still in progress) and runs its
 * first slice; db_active_expire_more runs the next. Both return true while
 * the cycle has work left. Both announce quiescent states between batches
 * (kvmap_quiescent): the caller holds no entry across the call.
 * Call from one thread at a time, online (inside a storage section).
 */
bool db_active_expire(struct db *db, int hz, int effort, int64_t slice_us);
bool db_active_expire_more(struct db *db, int64_t slice_us);

/* ---- keys the db layer removes by itself */

/*
 * Lazy expiry (db_lookup), active expiry and eviction remove keys without a
 * command asking: the drop hooks let server/ log each removal (the AOF's
 * DEL / UNLINK) in the order it takes effect. For each removal the db layer
 * fills a struct db_drop and calls claim() before the compare-and-swap that
 * removes the entry: false leaves the key where it is (a lookup still
 * reports it missing; the cycle tries again later). After the attempt it
 * calls done() with whether the removal won — only after a true claim.
 * claim() must not wait for anything (it runs holding an entry, inside the
 * epoch section, possibly inside the db write bracket): try-locks only.
 * Any thread; the hooks are set once, before workers serve clients
 * (db_set_drop_hooks, release; read with acquire at each removal).
 */
struct db_drop {
	const char *key;
	size_t klen;
	unsigned space; /* the entry's key space */
	int index;	/* the view's database, or -1: the hook finds it (db_space_index) */
	bool evicted;	/* eviction (lazyfree-lazy-eviction), else expiry */
	bool txn;	/* inside a transaction's view (the removal lands at commit) */
	int state;	/* the hook's own, from claim() to done() */
};
struct db_drop_hooks {
	bool (*claim)(struct db *db, struct db_drop *d);
	void (*done)(struct db *db, struct db_drop *d, bool removed);
};
void db_set_drop_hooks(struct db *db, const struct db_drop_hooks *h);
/* The database index whose table names key space `space` now, -1 if none
 * (a flushed database's keys). Stable while SWAPDB/FLUSH* cannot run. */
int db_space_index(struct db *db, unsigned space);

/* ---- maxmemory and eviction (evict.c) */

/* Values of maxmemory-policy, in config order (Redis's). */
enum db_policy {
	DB_VOLATILE_LRU,
	DB_VOLATILE_LFU,
	DB_VOLATILE_RANDOM,
	DB_VOLATILE_TTL,
	DB_ALLKEYS_LRU,
	DB_ALLKEYS_LFU,
	DB_ALLKEYS_RANDOM,
	DB_NOEVICTION,
};

/* maxmemory in bytes (0 = no limit), the policy and maxmemory-samples
 * (clamped to DB_SAMPLES_MIN..DB_SAMPLES_USED).
 * Any thread; takes effect for commands that start afterwards. */
void db_set_memory_policy(struct db *db, long long maxmemory, enum db_policy policy, int samples);

/*
 * Before running a command (only if maxmemory is set): when used memory is
 * over the limit, evicts keys by the policy until it is under it (bounded
 * work per call; the thread that wins the eviction flag does it, others go
 * on). Returns 0, or -ENOMEM when memory is over the limit and nothing can be
 * evicted (noeviction, or a volatile policy without keys with a TTL): the
 * caller refuses commands that may grow memory with Redis's -OOM error.
 * When over the limit it announces a quiescent state (kvmap_quiescent), so
 * call it only while holding no entry pointer — before a command.
 */
int db_check_memory(struct db *db, int64_t now_ms);

/* maxmemory-eviction-tenacity, DB_TENACITY_MIN..DB_TENACITY_MAX: how long one
 * db_check_memory pass may evict before the command goes on over the limit
 * (the next write evicts more). Redis's scale: 50 us per step up to 10
 * (500 us, the default), 15% more per step above it, no limit at 100. With a
 * limit a writer that outpaces eviction can leave used memory over maxmemory
 * for a while; with none every pass ends under the limit or with nothing left
 * to evict. Any thread; takes effect for passes that start afterwards. */
void db_set_eviction_tenacity(struct db *db, int tenacity);

/* The hz timer's share of eviction: when the last db_check_memory pass was
 * cut short by its time limit, runs another, so used memory comes back under
 * maxmemory even if no write follows (Redis's eviction time proc). Any
 * thread holding no entry pointer. */
void db_evict_cron(struct db *db, int64_t now_ms);

/* The hz timer's upkeep for eviction data (ages the LRU/LFU side table so its
 * 16-bit clocks never wrap). Any one thread, online. */
void db_cron(struct db *db, int64_t now_ms);

/* Bytes a key accounts for (entry allocation plus its slot in the map), or -1
 * when it does not exist in the view (MEMORY USAGE; no lazy expiry, no
 * statistics). */
long long db_key_memory(const struct db_view *v, const void *key, size_t klen, int64_t now_ms);

#endif
