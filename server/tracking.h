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
 *    handler reads them (trk_call), and
 *  - a write forgets and invalidates them AFTER it committed (the keys are
 *    collected in the command's keyspace-event buffer, notify.h, and sent by
 *    ntf_end, so EXEC and script attempts that are dropped send nothing).
 * Both touch the key's record under the same table-shard mutex, so either
 * the write's invalidation finds the reader's registration, or the write
 * committed before the registration and the read sees the written value:
 * no write after a tracked read goes unannounced (a read that raced with a
 * write may get one invalidation too many, which costs the client a fetch).
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
 * Threads: the command handlers, trk_call's read side and trk_deliver on
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
 * Ordering to clients: a write's invalidations for the writer itself follow
 * that command's reply (Redis's tracking_pending_keys); BCAST keys are sent
 * one message per prefix per command (Redis batches per event-loop turn).
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

/* Some client ever enabled tracking: until then the command path costs one
 * relaxed load (trk_active). Set once, never cleared. */
extern _Atomic bool trk_used_g;

static inline bool trk_active(void)
{
	/* relaxed: a client enables tracking on its own runner before the
	 * reads it wants tracked; a writer that misses the flag had no table
	 * entry to find (the registration takes a shard mutex after the store) */
	return atomic_load_explicit(&trk_used_g, memory_order_relaxed);
}

void trk_setup(void);
/* After every connection is closed. */
void trk_teardown(void);

/* net's conn_init / conn_close hooks (server.c): link / unlink c. */
void trk_conn_init(struct conn *c, struct session *s);
void trk_conn_close(struct conn *c, struct session *s);

/* Runs d->proc(r) (through run) remembering r's keys first when r's client
 * tracks them (a read-only command, not BCAST, per OPTIN/OPTOUT/CACHING);
 * after a write that changed something, collects the keys it wrote (key
 * specs marked RW/OW/RM), or a flush for FLUSHDB/FLUSHALL, into the
 * command's buffer. Only when trk_active(). */
void trk_call(struct cmd_req *r, const struct cmd_def *d,
	      void (*run)(struct cmd_req *, const struct cmd_def *));

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
