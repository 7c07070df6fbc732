/*
 * session.h — the server's per-connection state, behind net/'s one opaque
 * pointer (conn_session()). server.c creates it in net's conn_init hook and
 * frees it in conn_close; what net/ itself reads (protocol version,
 * authentication, name, db) stays in net/ behind conn.h's accessors.
 *
 * Threads: touched only by the thread running the connection (dispatch), and
 * by the closing thread in conn_close; aof_hold also by the AOF thread,
 * under aof.lock.
 */
#ifndef KVSD_SESSION_H
#define KVSD_SESSION_H

#include "net/conn.h"

#include <stdbool.h>
#include <stdint.h>

struct multi_state;
struct blk_waiter;
struct ps_client;
struct trk_client;

/* aof_writer.c: a connection whose replies wait for the AOF's fsync (appendfsync
 * always), on the AOF thread's held list. Every field is under aof.lock. */
struct aof_hold {
	struct aof_hold *prev, *next;
	struct conn *c;
	uint64_t lsn; /* woken once the synced offset reaches it */
	/* the wake pass (aof.rel_gen) that released this connection, whose
	 * next write the group wait expects back; 0: none expected */
	uint64_t exp_gen;
	bool linked; /* on the list */
};

struct session {
	struct multi_state *multi; /* multi.c: MULTI/WATCH state; NULL until used */
	/* CLIENT REPLY (Redis's CLIENT_REPLY_OFF / _SKIP / _SKIP_NEXT): dispatch
	 * drops the replies of a command run while off or skip is set; skip
	 * lasts one command, skip_next becomes skip after the current one */
	bool reply_off, reply_skip, reply_skip_next;
	bool no_evict; /* CLIENT NO-EVICT on: the 'e' flag (kvsd evicts no client) */
	/* blocking.c: the blocking command's waiter; NULL until one blocks.
	 * Its state is read by other threads (blocking.h); freed at close */
	struct blk_waiter *blk;
	/* cmd.c: a blocked command's commandstats row, updated again when it
	 * is answered (Redis's updateStatsOnUnblock) */
	bool blk_stat;
	size_t blk_stat_idx;
	/* cmd.c: the blocked command ran under CLIENT REPLY OFF or SKIP, so
	 * its answer is dropped too (Redis keeps the flags of a blocked client
	 * until it is answered) */
	bool blk_quiet;
	/* aof_writer.c: the end of this connection's last AOF record; its replies
	 * wait until the AOF is durable that far (appendfsync always) */
	uint64_t aof_lsn;
	/* aof_writer.c: before_write held the replies (runner only: the hold may be
	 * linked still, so the next call or the close takes aof.lock) */
	bool aof_held;
	/* aof_writer.c: its replies were held and have left: its next record
	 * may be one the group wait expects back (aof_hold.exp_gen; runner
	 * only, so the next append or the close takes aof.lock) */
	bool aof_expect;
	struct aof_hold aof_hold;
	/* pubsub.c: subscriptions and the mailbox; NULL until the first
	 * subscribe. Publishers on other threads reach it through the registry
	 * (pubsub.h); freed at close */
	struct ps_client *ps;
	/* pubsub.c: this command's replies were (un)subscribe confirmations,
	 * which CLIENT REPLY OFF / SKIP do not swallow (Redis's CLIENT_PUSHING) */
	bool ps_pushed;
	/* tracking.c: client tracking's state and invalidation mailbox, linked
	 * at connect (any client may be a REDIRECT target); senders on other
	 * threads reach it through tracking's client registry; freed at close */
	struct trk_client *trk;
	/* pubsub.c: the reply bytes pending up to the end of this command's
	 * own messages (a subscriber's PUBLISH to itself), which CLIENT REPLY
	 * OFF / SKIP do not swallow either; 0: none. Reset by cmd_dispatch */
	size_t ps_keep;
};

static inline struct session *session_of(const struct conn *c)
{
	return conn_session(c);
}

#endif
