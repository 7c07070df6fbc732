/*
 * tracking.h — client-side caching (Redis 7.0.15's tracking.c): CLIENT
 * TRACKING / CACHING / GETREDIR / TRACKINGINFO, the table of keys clients
 * may have cached, and the invalidation messages sent when those keys
 * change, as RESP3 pushes (>2 invalidate [keys]) or, redirected to a RESP2
 * client in Pub/Sub mode, as messages on __redis__:invalidate.
 *
 * Model. Redis is single-threaded: it remembers a key after a read and, at
 * each write, sends and forgets. In kvsd a reader and a writer of a key may
 * run on different workers at the same moment, so:
 *  - a read-only command of a tracking client remembers its keys BEFORE its
 *    handler reads them (trk_before_read), and
 *  - a write forgets and invalidates them AFTER it committed (the keys are
 *    collected in the command's keyspace-event buffer, notify.h, and sent by
 *    ntf_end, so EXEC and script attempts that are dropped send nothing).
 * Both touch the key's record under the same table-shard mutex, so either
 * the write's invalidation finds the reader's registration, or the write
 * committed before the registration and the read sees the written value:
 * no write after a tracked read goes unannounced (a read that raced with a
 * write may get one invalidation too many, which costs the client a fetch).
 * Two flags are read without a lock by every write — whether any client
 * ever enabled tracking (trk_after_write) and whether any BCAST prefix
 * exists (nprefixes) — so a write loads them after it committed, behind a
 * seq_cst fence that pairs with one after the enabling store: either the
 * write sees the flag, or the client's later reads see the write.
 *
 * Structures:
 *  - the table: TRK_SHARDS mutex-protected hash shards of key -> ids of the
 *    clients that read it (Redis's TrackingTable; keys are names, not
 *    per-database, as in Redis). A write detaches the key's record under its
 *    shard lock and sends to the ids after releasing it. Bounded by
 *    tracking-table-max-keys (0: unlimited): past it, the read that grew it
 *    evicts keys, each with an invalidation, as Redis's trackingLimitUsedSlots;
 *  - the clients: every connection's struct trk_client (in its session),
 *    linked at connect into TRK_SHARDS id-hash shards (Redis's
 *    lookupClientByID), each with a mailbox (a FIFO of formatted payloads
 *    under the client's mutex) that other threads append to and the
 *    client's runner formats into its reply buffer (net's deliver hook);
 *  - the BCAST prefixes: one array under a read-write lock, each prefix with
 *    the ids of its clients.
 *
 * Threads: the command handlers, trk_before_read and trk_deliver on
 * the connection's runner; trk_invalidate / trk_flush from any worker
 * thread (inside ntf_end, or wherever the db layer drops a key outside a
 * command); trk_conn_close on the closing thread; statistics anywhere.
 * Lock order: prefix lock, then a client shard lock, then a mailbox lock.
 * Table shard locks are never held with any other lock.
 * Lifetime: a sender calls conn_wake only under the client shard lock the
 * target is linked under; trk_conn_close unlinks it under that lock first
 * (net/conn.h's rule). Client ids are never reused, so a table entry of a
 * closed client is skipped when its key changes (as Redis's, it stays counted
 * in tracking_total_items until then).
 * Ownership: a detached table record belongs to the write that detached it
 * (freed once announced); a queued message to the mailbox, freed by the
 * runner that formats it or by trk_conn_close.
 * Ordering to clients: a write's invalidations for the writer itself follow
 * that command's reply (Redis's tracking_pending_keys); whatever is queued
 * for a client is written before its next command's reply; BCAST keys are
 * sent one message per prefix per command (Redis batches per event-loop
 * turn). Errors: Redis's error replies; nothing else fails.
 * Progress: blocking, short critical sections; a writer never waits for a
 * reader.
 */
#ifndef KVSD_TRACKING_H
#define KVSD_TRACKING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct cmd_req;
struct cmd_def;
struct session;
struct trk_client;

/* Some client ever enabled tracking: until then a read costs one relaxed
 * load (trk_active) and a write one seq_cst fence and a load (trk_after_write).
 * Set once, never cleared. */
extern _Atomic bool trk_used_g;

static inline bool trk_active(void)
{
	/* relaxed: a hint for the read side (a reader that enables tracking
	 * stores it on its own thread before the reads it wants tracked); the
	 * write side orders its load with trk_after_write's fence */
	return atomic_load_explicit(&trk_used_g, memory_order_relaxed);
}

/* After a write committed: whether its invalidations must be collected.
 * The seq_cst fence orders the commit before the load, and pairs with the
 * fence after the first enabling store (trk_cmd_tracking): either this load
 * sees the flag, or the enabling client's later reads see this write (the
 * store-buffering pattern: both sides fence). Any thread. */
static inline bool trk_after_write(void)
{
	if (atomic_load_explicit(&trk_used_g, memory_order_relaxed))
		return true; /* relaxed: set once, and this thread saw it */
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&trk_used_g, memory_order_relaxed);
}

void trk_setup(void);
/* After every connection is closed. */
void trk_teardown(void);

/* net's conn_init / conn_close hooks (server.c): link / unlink c. */
void trk_conn_init(struct conn *c, struct session *s);
void trk_conn_close(struct conn *c, struct session *s);

/* Around a command's handler (ntf_call). trk_before_read, before it runs
 * (when trk_active()): remembers r's keys when r's client tracks them (a
 * read-only command, not BCAST, per OPTIN/OPTOUT/CACHING). trk_written,
 * after a write command ran (when trk_after_write()): if it changed
 * something (db_writes moved since writes0; FLUSHDB/FLUSHALL unless their
 * reply since mark is an error), collects the keys it wrote (key specs
 * marked RW/OW/RM), or a flush, into the command's buffer (ntf_track). */
void trk_before_read(struct cmd_req *r, const struct cmd_def *d);
void trk_written(struct cmd_req *r, const struct cmd_def *d, uint64_t writes0, size_t mark);

/* Invalidates keys (n of them, written by the client with id writer, 0 for
 * none) / everything (FLUSHDB, FLUSHALL). Any worker thread. */
void trk_invalidate(uint64_t writer, const char *const *keys, const size_t *lens, size_t n);
void trk_flush(void);

/* cmd_dispatch, after each command: the CLIENT CACHING flag lasts one
 * command (or one transaction), and the writer's own invalidations are
 * appended after its reply. client_cmd: the command was CLIENT. Runner. */
void trk_after_command(struct conn *c, bool client_cmd, bool in_multi);

/* net's deliver hook (with pubsub_deliver): formats c's queued
 * invalidations into its reply buffer. True if some remain. Runner. */
bool trk_deliver(struct conn *c, size_t max_bytes);

/* RESET: tracking off (Redis's clearClientConnectionState). Runner. */
void trk_reset(struct conn *c);

/* CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO handlers. */
void trk_cmd_tracking(struct cmd_req *r);
void trk_cmd_caching(struct cmd_req *r);
void trk_cmd_getredir(struct cmd_req *r);
void trk_cmd_trackinginfo(struct cmd_req *r);

/* INFO: tracking_clients; tracking_total_keys / _items / _prefixes. */
long trk_nclients(void);
long trk_nkeys(void);
long trk_nitems(void);
long trk_nprefixes(void);

/* tracking-table-max-keys (0: unlimited), set by its apply function
 * (config_table.c, tracking_cfg.c). Relaxed: a limit read at use; a read
 * just after CONFIG SET may still see the old one. */
extern _Atomic long long trk_max_keys_g;
/* tracking-table-max-keys' apply function (config_table.c). */
int trk_apply_max_keys(char *why, size_t whylen);

#endif
