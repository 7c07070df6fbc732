/*
 * db.h — the keyspace as commands see it: a kvmap plus expiry policy, the
 * memory limit with eviction, and keyspace statistics.
 *
 * db_lookup() applies lazy expiry: an entry whose expire_ms has passed is
 * removed (if it is still current) and reported missing. Writes go through
 * db_put(), a single compare-and-swap step that commands loop on:
 *   for (;;) { old = db_lookup(..); new = build(old); if (db_put(.., old, new) == 0) break; }
 * so every write is linearizable per key and lock-free.
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
 * that collide on it), allocated only while an LRU/LFU policy is set, and
 * db_lookup() stores into it only when the value changes (LRU: once per
 * 100 ms clock tick per word; LFU: Redis's logarithmic counter, whose
 * increments become rare as a key gets hot, plus once per minute for decay).
 * With any other policy a lookup makes no store at all.
 *
 * Threads: any registered storage thread (kvmap_thread_register); returned
 * entries are valid until the caller's next quiescent state.
 * db_active_expire: one thread at a time (the hz timer of worker 0).
 * db_check_memory: any thread; one thread evicts at a time, the others go on.
 * Statistics are per-thread relaxed counters (they publish nothing).
 * Errors: 0 / -errno.
 */
#ifndef KVSD_DB_H
#define KVSD_DB_H

#include "storage/kvmap.h"

#include <limits.h>
#include <stdint.h>

/*
 * Limits storage owns; the config table (server/config_table.c) takes the
 * bounds of its rows from here, so nothing a client configures can ask
 * storage for more than it holds.
 */
/* The longest key or value, in bytes: proto-max-bulk-len's ceiling. */
#define DB_STRING_MAX ((long long)KV_LEN_MAX)
/* databases: one key space. maxmemory in bytes (0 = no limit). */
#define DB_COUNT	 1
#define DB_MAXMEMORY_MAX LLONG_MAX
/* maxmemory-samples: Redis's bounds are accepted; eviction samples at most
 * DB_SAMPLES_USED keys. */
#define DB_SAMPLES_MIN	1
#define DB_SAMPLES_MAX	INT_MAX
#define DB_SAMPLES_USED 64
/* active-expire-effort */
#define DB_EXPIRE_EFFORT_MIN 1
#define DB_EXPIRE_EFFORT_MAX 10

struct db;

struct db *db_create(enum kvmap_backend backend);
void db_destroy(struct db **db);
struct kvmap *db_map(struct db *db);

/* Current time in ms (CLOCK_REALTIME). */
int64_t db_now_ms(void);

/* Lookup with lazy expiry. *hash (if non-NULL) receives the key's hash.
 * Counts keyspace hits/misses only when count_stats is set (reads, not writes). */
const struct kv_entry *db_lookup(struct db *db, const void *key, size_t klen, int64_t now_ms,
				 uint64_t *hash, int count_stats);

/*
 * One CAS step: if `old` is NULL, inserts `e` when the key is absent; else
 * replaces `old` by `e` if old is still current. `e` NULL with `old` set
 * deletes old. On success the map owns e, old is retired, and 0 is returned.
 * On -EAGAIN (lost a race) e is still the caller's to retry with or free.
 */
int db_put(struct db *db, const struct kv_entry *old, struct kv_entry *e);

/* Number of keys (approximate under concurrent writes), and with a TTL. */
long long db_size(struct db *db);
long long db_expires(struct db *db);
/* Removes every key; returns how many were removed. */
long long db_flush(struct db *db);

struct db_stats {
	uint64_t hits, misses, expired_keys, evicted_keys;
	/* active expiry: running share of expired keys among sampled ones (Redis's
	 * expired_stale_perc), cycles that hit their time limit, CPU spent (us) */
	double expired_stale_perc;
	uint64_t expired_time_cap_reached, expire_cycle_us, expire_cycles;
	long long avg_ttl_ms; /* running average TTL of sampled keys with one */
};
void db_get_stats(struct db *db, struct db_stats *s);
void db_reset_stats(struct db *db);

/* ---- active expiry (expire.c) */

/*
 * One active-expiry cycle: removes expired keys found from the persistent
 * cursor on, for at most (25 + 2 * (effort - 1))% of a 1/hz period, and
 * repeats while more than (10 - (effort - 1))% of the keys with a TTL it
 * sampled had expired. effort 1..10 (active-expire-effort), hz 1..500.
 * Call from one thread at a time, online (inside a storage section).
 */
void db_active_expire(struct db *db, int hz, int effort);

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

/* The hz timer's upkeep for eviction data (ages the LRU/LFU side table so its
 * 16-bit clocks never wrap). Any one thread, online. */
void db_cron(struct db *db, int64_t now_ms);

/* Bytes a key accounts for (entry allocation plus its slot in the map), or -1
 * when it does not exist (MEMORY USAGE). */
long long db_key_memory(struct db *db, const void *key, size_t klen, int64_t now_ms);

#endif
