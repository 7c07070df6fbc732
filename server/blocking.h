/*
 * blocking.h — clients blocked on keys (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP
 * BZPOPMIN BZPOPMAX BZMPOP): the waiter registry, the ready-key serving, the
 * timeout timer and CLIENT UNBLOCK.
 *
 * A blocked client is a waiter record (struct blk_waiter, one per
 * connection, in its session) queued first-come first-served on each of its
 * keys, per (database, key), in mutex-protected sharded tables. Its
 * connection runs nothing more (net: conn_block) but is still read, so a
 * disconnect is seen; it costs no CPU.
 *
 * Serving (Redis's handleClientsBlockedOnKeys). A write that creates a list
 * or a sorted set (storage: db_set_ready_hook — only while some client is
 * blocked) appends the key to the writing thread's ready list; at the end of
 * the command (cmd_dispatch; after EXEC for a transaction, so a multi-element
 * push or a transaction wakes waiters only once it is complete)
 * blk_serve_ready() serves each ready key: under the key's shard lock, for
 * each waiter in FIFO order, it claims the waiter (WAITING → SERVING), pops
 * for it through its serve callback (a normal write in a plain view of the
 * waiter's database), stores the result in the record, marks it DONE and
 * wakes its connection, whose runner formats the reply (blk_resume). A
 * waiter cancelled first (timeout, disconnect, CLIENT UNBLOCK, kill) is
 * never served: the element stays for the next one. A serve that pushes
 * (BLMOVE's destination) creates a key in turn and so chains.
 *
 * Waiter states (w->state, atomic): IDLE → WAITING (blk_block) → SERVING
 * (a server claimed it) → DONE, or back to WAITING if there was nothing for
 * it; WAITING → TIMEDOUT (timer) / UNBLOCKED / UNBLOCKED_ERROR (CLIENT
 * UNBLOCK) / CANCELLED (disconnect); the runner takes a finished waiter back
 * to IDLE (blk_resume). Only a CAS from WAITING claims a waiter, so exactly
 * one of these outcomes happens.
 *
 * Threads: blk_block, blk_resume on the connection's runner (dispatch / the
 * resume hook); blk_serve_ready at the end of a command on any worker,
 * outside any transaction; blk_conn_close on the closing thread;
 * blk_unblock any worker; blk_note_ready from the db layer's hook (the
 * writing thread). One timer thread of its own.
 * Lock order: the timer's lock and the id table's lock are never held
 * together, and no shard lock is taken under either (a guard's command may
 * take them under its shard locks: blk_block, CLIENT UNBLOCK); waiter
 * states are atomics (no lock). A serve holds
 * its key's shard lock across the pop: it may wait for the db layer's
 * exclusive gate, which is safe because no thread holding the gate (an
 * exclusive transaction) ever takes a shard lock: blocking commands inside
 * a transaction do not block, and serving runs after the transaction
 * (an EXEC's guard locks its shards before the transaction begins).
 *
 * Redis's order: the guard. In Redis the clients blocked on a key are
 * served right after the command (or transaction) that pushed, before any
 * other command runs. Here a push's serve runs at the end of its command on
 * its own worker, so a command on another worker could come between: a pop
 * taking the element that the longest-waiting client is owed, a read (LLEN,
 * LRANGE, EXISTS, TYPE, DEL...) seeing it, a later push or a new blocking
 * command reordering what the waiters get. So every command whose keys (key
 * specs; for EXEC those of every queued command, following queued SELECTs)
 * may have waiters runs guarded (blk_guard_enter / _exit, from cmd_dispatch
 * around the handler): it holds the shard locks of its keys that have
 * waiters (of all its keys for a blocking command, which links and re-
 * checks each of them; of every shard for an EXEC queueing SWAPDB), in
 * shard order, from before its handler until after it, and first serves
 * those keys itself. A push's serve (or a guard's) and the other commands
 * on the key are thus serialised by the shard lock, and each command runs
 * as if after the serves of every push before it: a pop, a read, MULTI/EXEC
 * or a later blocking command on that key never gets or sees an element a
 * waiter is owed, and the waiters get elements in the order they blocked
 * (first blocked, first served, on whatever worker), as in Redis. A waiter
 * on several keys that another server is deciding on is waited for, never
 * passed by (claim_for_serve). Cost: when nobody is blocked, one relaxed
 * load (blk_guard_armed); otherwise the command's keys are hashed and their
 * buckets' queue counts loaded (relaxed); a key whose bucket has a queue is
 * looked up under its shard lock, and only a command with a key that has
 * waiters holds locks across its handler. Not covered: commands without key
 * arguments that read the keyspace (KEYS, SCAN, RANDOMKEY, DBSIZE, INFO
 * keyspace) may see a pushed element not yet served; a key moved between
 * databases by a queued SWAPDB inside EXEC is guarded by its database
 * before the swap. The races a guard cannot order are the ones no client
 * can order either: a command whose guard check runs before a waiter links
 * (the waiter blocked concurrently with it, not before it).
 *
 * Lock order, with the guard: the AOF's stripes (or its exclusive gate:
 * aof_serve_lock) → shard locks in increasing order → the db's exclusive
 * gate; a thread holding the db's gate never takes a shard lock (an
 * exclusive EXEC's guard is taken before its transaction begins).
 *
 * Lifetime: a waker (serve, timer, CLIENT UNBLOCK) calls conn_wake only while
 * holding the lock of a structure the waiter is linked in; blk_conn_close
 * cancels the waiter, then unlinks it from every structure under those
 * locks, so no conn_wake follows its return (net/conn.h's rule).
 */
#ifndef KVSD_BLOCKING_H
#define KVSD_BLOCKING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct db;
struct db_view;
struct cmd_req;

enum blk_state {
	BLK_IDLE = 0,
	BLK_WAITING,
	BLK_SERVING,
	BLK_DONE,
	BLK_TIMEDOUT,
	BLK_UNBLOCKED,
	BLK_UNBLOCKED_ERROR,
	BLK_CANCELLED,
};

/* what a serve callback did for a waiter */
enum blk_serve_rc {
	BLK_SERVED, /* popped: the result is in w->res */
	BLK_EMPTY,  /* the key holds nothing: no waiter on it can be served */
	BLK_SKIP,   /* nothing for this waiter (another type): try the next */
};

struct blk_item {
	const char *p;
	size_t len;
	double score;
};

/* What a serve produced; the runner formats it (blk_reply_fn). */
struct blk_result {
	int key;		/* index of the served key in w->keys */
	struct blk_item *items; /* mem_alloc'd; NULL when n == 0 */
	size_t n;
	char *buf;		      /* the items' bytes (mem_alloc'd) */
	int err;		      /* a serve that answers an error (BLMOVE's WRONGTYPE) */
	size_t cap, bytes, bytes_cap; /* blk_result_add's: grown by doubling */
	/* the end of the serve's AOF record (server/aof.h); the runner's
	 * replies wait for it (appendfsync always). 0: none */
	uint64_t aof_lsn;
};

struct blk_waiter;
struct blk_node;

/* Pops for w from its key number k in view v (plain view of w->db), on the
 * serving thread, under the key's shard lock. */
typedef enum blk_serve_rc (*blk_serve_fn)(struct blk_waiter *w, const struct db_view *v, int k,
					  int64_t now_ms);
/* Formats the reply for a finished waiter on its runner: w->state is DONE
 * (w->res filled) or TIMEDOUT / UNBLOCKED (the timeout reply). */
typedef void (*blk_reply_fn)(struct conn *c, struct blk_waiter *w);

struct blk_key {
	char *p;
	size_t len;
};

struct blk_waiter {
	/* enum blk_state; transitions above. Claims are CASes from WAITING
	 * (acq_rel); the final store of DONE releases w->res to the runner's
	 * acquire load in blk_resume */
	_Atomic int state;
	struct conn *c;
	uint64_t id; /* the connection's id (CLIENT UNBLOCK) */
	int db;
	/* the command's, set by blk_waiter_prepare and its caller, read-only
	 * while blocked */
	struct blk_key *keys;
	int nkeys;
	blk_serve_fn serve;
	blk_reply_fn reply;
	int where, whereto; /* list end(s) / MIN-MAX, as the command defines */
	long long count;
	struct blk_key dst;  /* BLMOVE's destination */
	int64_t deadline_us; /* CLOCK_MONOTONIC; 0 = forever */
	struct blk_result res;
	/* registry links: the serving thread's or the owner's, under the
	 * corresponding locks (blocking.c) */
	struct blk_node *nodes; /* one per key */
	long heap_idx;		/* timer heap slot, -1 if none */
	struct blk_waiter *id_next;
	bool in_ids;
};

void blk_setup(struct db *db);
/* Stops the timer thread (no timeout fires after it): before net/ stops
 * its workers and closes the connections, so that no conn_wake reaches a
 * stopped worker. */
void blk_stop(void);
/* After every connection is closed. */
void blk_teardown(void);

/*
 * Parses a blocking command's timeout as Redis 7.0's
 * getTimeoutFromObjectOrReply (seconds, fractional allowed, 0 = forever):
 * *deadline_us is 0 (forever) or a CLOCK_MONOTONIC deadline. 1 on success;
 * 0 after replying Redis's error.
 */
int blk_parse_timeout(struct cmd_req *r, int i, int64_t *deadline_us);

/* The connection's waiter, prepared for a new block: keys copied from
 * argv[first], argv[first + step], ... (n of them); callbacks, where,
 * count, dst and the deadline are the caller's to set before blk_block. */
struct blk_waiter *blk_waiter_prepare(struct cmd_req *r, const int *key_args, int n);
void blk_set_dst(struct blk_waiter *w, const char *p, size_t len);

/* Blocks r's connection on w's keys (runner, inside dispatch, never in a
 * transaction), then serves those keys once (closing the lost-wakeup
 * window). The reply comes from blk_resume. */
void blk_block(struct cmd_req *r, struct blk_waiter *w);

/* net_opts.resume: true once the blocked command's reply is appended. */
bool blk_resume(struct conn *c);

/* net's close hook: cancels and unlinks c's waiter, frees it. */
void blk_conn_close(struct conn *c, void *session);

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if a blocked client was unblocked.
 * A serve deciding on that client (SERVING) is waited for, holding no lock,
 * except with in_txn — the caller runs inside a transaction, perhaps an
 * exclusive one that the serve waits for: it answers 0 then (as if the
 * serve had come first; if that serve finds nothing, the client stays
 * blocked — the one inexact case, inside MULTI only). */
int blk_unblock(uint64_t id, bool error, bool in_txn);

/* End of a command (cmd_dispatch), outside any transaction: serves the keys
 * this thread's writes made ready, chains included. */
void blk_serve_ready(void);
/* SWAPDB (Redis's scanDatabaseForReadyKeys): every key of database db that
 * clients wait on is ready (served at the end of the command if it holds
 * something now). Cheap when nobody is blocked. */
void blk_note_db(int db);
/*
 * The guard ("Redis's order" above). blk_guard_armed: whether any client is
 * blocked (relaxed: a command racing with a client that blocks is not
 * ordered after it; one that the blocking happened before, as a client can
 * see it, reads the raised count). When armed, cmd_dispatch calls
 * blk_guard_enter before the handler (after the AOF's stripes; have_stripes:
 * the command holds its keys' stripes or the AOF's exclusive gate) and
 * blk_guard_exit after it (and after its AOF record), on the same thread,
 * holding no shard lock; inside the pair the thread holds the guarded keys'
 * shard locks, which blk_block, blk_note_db and the serves then do not take
 * again. Blocking: waits for a serve in progress on the same shards.
 */
struct blk_guard {
	uint64_t mask; /* shards held */
	bool aof;      /* aof_serve_lock taken */
};
struct cmd_def;
extern _Atomic long blk_waiters;
static inline bool blk_guard_armed(void)
{
	/* relaxed: see above */
	return atomic_load_explicit(&blk_waiters, memory_order_relaxed) != 0;
}
void blk_guard_enter(struct blk_guard *g, struct conn *c, const struct cmd_def *d, int argc,
		     const char *const *argv, const size_t *argl, bool have_stripes);
void blk_guard_exit(struct blk_guard *g);

/* True when this thread has ready keys (cheap). */
bool blk_have_ready(void);
/* A worker thread stops: frees its ready list (net's thread_stop hook). */
void blk_thread_exit(void);

/* Items building for serve callbacks: appends one item (bytes copied). */
void blk_result_add(struct blk_result *res, const char *p, size_t len, double score);
void blk_result_free(struct blk_result *res);

/* cmd_blocking.c: BLMOVE's serves run a transaction of the serving thread's
 * own (created on first use): set-up, and its freeing when a worker thread
 * stops (net's thread_stop hook). */
void blk_cmd_setup(struct db *db);
void blk_cmd_thread_exit(void);

/* INFO: blocked_clients, clients_in_timeout_table. */
long blk_blocked_clients(void);
long blk_timeout_clients(void);

#endif
