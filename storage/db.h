/*
 * db.h — the keyspace as commands see it: a kvmap plus expiry policy and
 * keyspace statistics.
 *
 * db_lookup() applies lazy expiry: an entry whose expire_ms has passed is
 * removed (if it is still current) and reported missing. Writes go through
 * db_put(), a single compare-and-swap step that commands loop on:
 *   for (;;) { old = db_lookup(..); new = build(old); if (db_put(.., old, new) == 0) break; }
 * so every write is linearizable per key and lock-free.
 *
 * Threads: any registered storage thread (kvmap_thread_register); returned
 * entries are valid until the caller's next quiescent state.
 * Statistics are per-thread relaxed counters (they publish nothing).
 * Errors: 0 / -errno.
 */
#ifndef KVSD_DB_H
#define KVSD_DB_H

#include "storage/kvmap.h"

#include <stdint.h>

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
	uint64_t hits, misses, expired_keys;
};
void db_get_stats(struct db *db, struct db_stats *s);
void db_reset_stats(struct db *db);

#endif
