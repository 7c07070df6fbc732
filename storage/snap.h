/*
 * snap.h — point-in-time snapshots of a db without fork and without copying
 * the keyspace (issue 15: BGSAVE, SAVE, the AOF base file).
 *
 * What a snapshot is. db_snap_begin() takes a cut: it holds the exclusive
 * gate (db.c, "Exclusive transactions") for an instant, so every write that
 * was acknowledged before it returns is in the snapshot and no write that
 * begins after it is; a MULTI/EXEC or multi-key command (one MWCAS, or an
 * exclusive run) is entirely in or entirely out. The database index -> key
 * space table of the cut is kept, so SWAPDB/FLUSHDB after the cut change
 * nothing that the snapshot yields. Writers keep running during the save.
 *
 * How (first touch hands over the old entry). The key hash space is cut into
 * stripes by the hash's low bits, so each stripe is a run of
 * home buckets in SCAN's reverse-bit order, whatever the table size. The
 * saver takes the cut's databases in turn (RDB groups keys by database) and
 * each one's stripes in order; each stripe has a lock, and each (database,
 * stripe) pair a `visited` flag (a key's database is the cut's for its key
 * space; a space created after the cut is in no database of the snapshot). Every map write made
 * while a snapshot is active (db_put, lazy and active expiry, eviction, the purge of a dropped key
 * space, transaction commits and MWCAS) first calls snap_touch() for each key it may change, inside
 * its write bracket: if the key's stripe is not visited yet and the key has no record, it records
 * the key's entry *as it is in the map now* — which is still the entry of the cut, because every
 * earlier post-cut write of that key recorded first — or "absent" (a key created after the cut).
 * The saver, stripe by stripe, under the stripe's lock: collects the stripe's
 * entries from the map, replaces each recorded key's entry by its record
 * (skipping "absent" ones), adds recorded keys the walk no longer finds (a
 * key deleted after the cut), marks the stripe visited; then, after the
 * lock, hands the collected entries to the caller. Memory: the records of
 * keys written during the save (no byte per key otherwise), and the garbage
 * retired during the save, which is not freed until it ends (below).
 *
 * Lifetimes. Entries yielded by db_snap_next stay valid until db_snap_end:
 * the saving thread stays online (in its epoch section) from db_snap_begin
 * to db_snap_end and must not announce quiescent states in between, so
 * nothing retired meanwhile — the cut's entries that writers replace, and
 * the nodes of large collections that they path-copy — is freed before the
 * save ends. That is the "copy-on-write" of this design: the old entry that
 * already exists, kept, and nothing copied.
 *
 * Decisions (snap.c tells why). 4096 stripes (by 12 hash bits: kvmap_stripe_of),
 * more for a map of more than 512k keys (about 128 keys per stripe, at most
 * 2^17 stripes, fixed at db_snap_begin); a database with no key at the cut is marked visited at
 * once. The stripe walk is kvmap_walk_stripe (kvmap.h). A key space dropped after the cut (FLUSHDB,
 * FLUSHALL) is not purged while the snapshot runs: its purge waits for a grace period, which cannot
 * end while the saver is online, so the dropped keys stay as they were at the cut (FLUSHALL SYNC
 * waits for the save's end; the in-place fallback when no space is free touches as any writer).
 * db_snap_end closes the gate for an instant too, so that no writer is still inside snap_touch when
 * the snapshot's memory goes. Backends: kvsd's map walks a stripe in O(N / stripes); on the URCU
 * map a stripe walk costs O(N) (kvmap_walk_stripe_linear), so there a snapshot uses 16 stripes: a
 * save reads the whole list 16 times per non-empty database (the reference backend), and writers may
 * wait for a 1/16 walk.
 *
 * Threads: db_snap_begin/next/end on one registered storage thread holding
 * no entry at begin and end (both may wait for the gate, announcing
 * quiescent states); at most one snapshot per db at a time (a second begin
 * fails with -EBUSY, also on the same thread). snap_touch: any writing
 * thread, inside its write bracket (or its exclusive run); it may wait for
 * the saver's walk of the key's stripe (one stripe: microseconds).
 * Cost when no snapshot is active: one relaxed load per write.
 */
#ifndef KVSD_STORAGE_SNAP_H
#define KVSD_STORAGE_SNAP_H

#include "storage/db.h"
#include "storage/kvmap.h"

#include <stdbool.h>
#include <stdint.h>

struct db_snap;

/* Takes the cut. Returns NULL and sets *err to -EBUSY if a snapshot of db is
 * active already (or -ENOMEM). */
struct db_snap *db_snap_begin(struct db *db, int *err);
/* The number of databases, and each one's key and volatile-key counts at
 * the cut (RDB RESIZEDB; approximate only by keys that expire meanwhile). */
int db_snap_databases(const struct db_snap *s);
long long db_snap_keys(const struct db_snap *s, int index);
long long db_snap_expires(const struct db_snap *s, int index);
/* Yields the next batch (one or more stripes) of database `index`'s entries
 * at the cut: fn(arg, e) once per key, in no particular order. Returns true
 * while batches remain after this one, false once the database is complete
 * (the call that returns false may have yielded the last batch, so loop
 * `while (db_snap_next(s, i, fn, arg)) ;`). Call with index = 0, 1, ... in
 * turn; each database is walked once. Expired entries are yielded too (the
 * caller decides). fn must not write the map nor announce a quiescent state. */
typedef void (*db_snap_fn)(void *arg, const struct kv_entry *e);
bool db_snap_next(struct db_snap *s, int index, db_snap_fn fn, void *arg);
/* For INFO and tests: records made by first touches (absent: of keys created
 * after the cut), (database, stripe) pairs walked, entries yielded so far.
 * The saving thread. */
struct db_snap_stats {
	uint64_t records, absent, stripes_walked, yielded;
};
void db_snap_stats(const struct db_snap *s, struct db_snap_stats *out);
/* Tests: kvsd's map uses 2^bits stripes in the snapshots begun from now
 * on (at most 2^17), whatever the map's size; 0 restores the automatic
 * choice. Lets a small map run the many-stripes path (more stripes than
 * buckets). Any thread. */
void db_snap_force_bits(unsigned bits);
/* Ends the snapshot (complete or abandoned) and frees its records. */
void db_snap_end(struct db_snap **s);

/* Writers: before changing the key (space, key, hash) in the map while a
 * snapshot may be active. */
void snap_touch(struct db *db, unsigned space, const void *key, size_t klen, uint64_t hash);

#endif
