/*
 * txn.h — optimistic transactions over a kvmap: a private overlay that the
 * db layer's transactional view (db.h) reads and writes, committed with one
 * kvmap_mwcas() that also validates everything the attempt read.
 *
 * An overlay is an explicit object, not a mode of the thread: the kvtxn_*
 * calls below act on it, and kvmap_* calls always act on the map. Use (the
 * db layer does this for MULTI/EXEC, MSET, RENAME, ...):
 *   kvtxn_begin(t, watches, n);       an empty overlay over t's map
 *   e = kvtxn_get(t, ...); kvtxn_insert/set/replace/remove(t, ...); ...
 *   rc = kvtxn_commit(t);             0 | -EAGAIN (re-run) | -ESTALE (WATCH)
 * Reads go through the overlay to the map; the first read of each key
 * records the entry seen (or its absence) and later reads of that key
 * return the same entry or the attempt's own pending write, so an attempt
 * reads one snapshot as long as it is valid. Commit publishes every pending
 * write and checks every recorded read in the same MWCAS: if any key moved,
 * nothing is published and the caller re-runs the attempt (its replies are
 * discarded). An attempt that wrote nothing and watches nothing (MGET,
 * EXISTS) commits without an MWCAS and without a store: every key is looked
 * up again and must give the answer it gave (kvmap_unchanged), which proves
 * that all of them held those answers together at the last first read. A transaction is therefore
 * serialisable and isolated on kvsd's map: no other client sees part of it, and its replies come
 * from the state at its commit point. (cds_lfht backend: see kvmap.h.) The calls mirror kvmap's
 * (same arguments, results and ownership of e: on success the overlay owns e until the commit
 * publishes or frees it). Costs: O(1) expected per call (a hash index over the overlay's keys);
 * commit O(n log n) for n keys (the MWCAS sorts its slots).
 *
 * WATCH: a watch is the entry a key had (never dereferenced later) and the
 * key's stripe (kvmap_stripe) read after it. The first commit of the attempt
 * fails with -ESTALE if a watched key's recorded read differs from its
 * watch, or a watched stripe moved (kvmap.h: false positives from keys
 * sharing a stripe are possible, 1 in KVMAP_STRIPES per written key).
 *
 * FLUSHALL/FLUSHDB inside an attempt (kvtxn_clear): the overlay so far is
 * committed first (a "segment"); then the map is cleared and the attempt
 * continues with an empty overlay; kvtxn_poll() tells the caller, which must
 * not re-run commands before that point. A transaction containing a flush
 * is therefore isolated only between flushes. SCAN, KEYS and RANDOMKEY read
 * the map, not the overlay, and are not validated.
 *
 * Threads: a kvtxn belongs to one thread at a time; an attempt runs inside
 * one epoch section (between begin and commit the thread must not announce
 * a quiescent state: the recorded entries must stay valid). Key bytes passed
 * in are copied; watches stay the caller's until the commit.
 * Progress: an attempt is lock-free (kvmap_mwcas); when to re-run after a
 * conflict is the caller's policy (db.h).
 */
#ifndef KVSD_TXN_H
#define KVSD_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "storage/kvmap.h"

struct kvtxn;

struct kvtxn_watch {
	const char *key; /* owned by the caller, valid during the attempt */
	size_t klen;
	uint64_t hash;
	const struct kv_entry *ptr; /* entry when watched (NULL: absent); compared only */
	uint64_t stripe;	    /* kvmap_stripe(hash), read after ptr */
	int index;		    /* the database it was watched in (db.h) */
};

struct kvtxn *kvtxn_create(struct kvmap *m);
void kvtxn_destroy(struct kvtxn **t);

/* Starts an attempt with an empty overlay; watches (may be NULL) stay the
 * caller's until the commit. */
void kvtxn_begin(struct kvtxn *t, const struct kvtxn_watch *w, size_t nw);
/* The same for an attempt that no other writer of the map can overlap (the
 * caller guarantees it: db.h's exclusive transactions). Its commit checks
 * the watches, publishes the writes and never answers -EAGAIN. */
void kvtxn_begin_exclusive(struct kvtxn *t, const struct kvtxn_watch *w, size_t nw);

/* kvmap_get / kvmap_insert / kvmap_set / kvmap_replace / kvmap_remove on
 * the overlay (kvmap.h for each call's results). */
const struct kv_entry *kvtxn_get(struct kvtxn *t, const void *key, size_t klen, uint64_t hash);
int kvtxn_insert(struct kvtxn *t, struct kv_entry *e, const struct kv_entry **existing);
int kvtxn_set(struct kvtxn *t, struct kv_entry *e);
int kvtxn_replace(struct kvtxn *t, const struct kv_entry *expected, struct kv_entry *e);
int kvtxn_remove(struct kvtxn *t, const struct kv_entry *expected);

/* Called after each successful publish (a commit, or a segment before a
 * flush) with the items of the MWCAS: those with .write set replaced .old
 * by .neww. Inside the publishing epoch section, on the transaction's
 * thread. The db layer resolves typed values' edits here (storage/coll.h). */
typedef void (*kvtxn_publish_fn)(void *arg, const struct kvmap_mw *items, size_t n);
void kvtxn_set_publish_hook(struct kvtxn *t, kvtxn_publish_fn fn, void *arg);
/* fn(arg, items, n) runs before each MWCAS a commit tries (an exclusive
 * commit may try more than once), inside the commit's calling context (the
 * db's write bracket or exclusive run), with the items it is about to
 * write or compare (items[i].write): snapshots' first touches (snap.h). */
typedef void (*kvtxn_touch_fn)(void *arg, const struct kvmap_mw *items, size_t n);
void kvtxn_set_touch_hook(struct kvtxn *t, kvtxn_touch_fn fn, void *arg);

/* FLUSHALL inside the attempt: commits the overlay so far (a segment), then
 * clears the map. Returns the number of entries removed (0 if the segment
 * failed: kvtxn_poll() then reports it). */
size_t kvtxn_clear(struct kvtxn *t);

/* Ends an optimistic attempt without publishing anything (its pending
 * writes are freed); the next kvtxn_begin starts afresh. */
void kvtxn_abort(struct kvtxn *t);
/* The hashes of the keys the attempt has read or written, in the order it
 * first touched them, from the from-th on: up to cap into out; returns how
 * many (0 once from reaches the count). The owner's thread only. */
size_t kvtxn_key_hashes(const struct kvtxn *t, size_t from, uint64_t *out, size_t cap);
/* Entries the overlay adds to the map minus those it removes (DBSIZE);
 * _space: of one key space only (O(keys in the overlay)). */
int64_t kvtxn_count_delta(const struct kvtxn *t);
int64_t kvtxn_count_delta_space(const struct kvtxn *t, unsigned space);
/* Makes every key of `space` absent in the overlay (deletes pending for
 * the ones present): FLUSHDB of an exclusive attempt that empties the
 * space in place (db.c). */
void kvtxn_drop_space(struct kvtxn *t, unsigned space);

/* Whether a watch of the attempt no longer holds in the map (its key's
 * entry or stripe moved): what an exclusive commit would answer -ESTALE
 * for, checked before the attempt runs. */
int kvtxn_watches_stale(struct kvtxn *t);

/* Ends the attempt. 0: published atomically; -EAGAIN: a read or written key
 * moved (re-run); -ESTALE: a watched key was touched (the transaction must
 * not run). On error nothing was published (since the last segment).
 * *ttl_delta (if non-NULL) receives the change in keys with a TTL that the
 * commit published (0 on error). */
int kvtxn_commit(struct kvtxn *t, int64_t *ttl_delta);

/* After each command of an attempt: 1 if it committed a segment (a flush),
 * 0 if nothing special, or a negative kvtxn_commit() code if such a segment
 * commit failed (the attempt must be re-run from its last segment). Clears
 * the segment flag. */
int kvtxn_poll(struct kvtxn *t);

#endif
