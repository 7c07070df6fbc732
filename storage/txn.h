/*
 * txn.h — optimistic transactions over a kvmap: a private overlay that a
 * thread's kvmap calls go through while an attempt runs, committed with one
 * kvmap_mwcas() that also validates everything the attempt read.
 *
 * Use (MULTI/EXEC, MSET, RENAME, ...):
 *   kvtxn_begin(t, watches, n);      this thread's kvmap_* calls now act on t
 *   ... run commands: db_lookup / db_put as usual ...
 *   rc = kvtxn_commit(t);            0 | -EAGAIN (re-run) | -ESTALE (WATCH)
 * Reads go through the overlay to the map; the first read of each key
 * records the entry seen (or its absence) and later reads of that key
 * return the same entry or the attempt's own pending write, so an attempt
 * reads one snapshot as long as it is valid. Commit publishes every pending
 * write and checks every recorded read in the same MWCAS: if any key moved,
 * nothing is published and the caller re-runs the attempt (its replies are
 * discarded). A transaction is therefore serialisable and isolated on
 * kvsd's map: no other client sees part of it, and its replies come from
 * the state at its commit point. (cds_lfht backend: see kvmap.h.)
 *
 * WATCH: a watch is the entry a key had (never dereferenced later) and the
 * key's stripe (kvmap_stripe) read after it. The first commit of the attempt
 * fails with -ESTALE if a watched key's recorded read differs from its
 * watch, or a watched stripe moved (kvmap.h: false positives from keys
 * sharing a stripe are possible, 1 in KVMAP_STRIPES per written key).
 *
 * FLUSHALL/FLUSHDB inside an attempt (kvmap_clear): the overlay so far is
 * committed first (a "segment"); then the map is cleared and the attempt
 * continues with an empty overlay; kvtxn_poll() tells the caller, which must
 * not re-run commands before that point. A transaction containing a flush
 * is therefore isolated only between flushes. SCAN, KEYS and RANDOMKEY read
 * the map, not the overlay, and are not validated.
 *
 * Threads: a kvtxn belongs to one thread at a time; an attempt runs inside
 * one epoch section (between begin and commit the thread must not announce
 * a quiescent state: the recorded entries must stay valid).
 * Progress: an attempt is lock-free (kvmap_mwcas); re-runs after conflicts
 * are unbounded in theory (optimistic concurrency), as in any OCC.
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
};

struct kvtxn *kvtxn_create(struct kvmap *m);
void kvtxn_destroy(struct kvtxn **t);

/* Starts an attempt on the calling thread; watches (may be NULL) stay the
 * caller's until the commit. Not nested: call kvmap_in_txn() first. */
void kvtxn_begin(struct kvtxn *t, const struct kvtxn_watch *w, size_t nw);

/* Ends the attempt and detaches the overlay. 0: published atomically;
 * -EAGAIN: a read or written key moved (re-run); -ESTALE: a watched key was
 * touched (the transaction must not run). On error nothing was published. */
int kvtxn_commit(struct kvtxn *t);

/* Ends the attempt without publishing anything. */
void kvtxn_abort(struct kvtxn *t);

/* After each command of an attempt: 1 if it committed a segment (a flush),
 * 0 if nothing special, or a negative kvtxn_commit() code if such a segment
 * commit failed (the attempt must be re-run from its last segment). Clears
 * the segment flag. */
int kvtxn_poll(struct kvtxn *t);

#endif
