/*
 * conn.h — a client connection, shaped as a schedulable task.
 *
 * A connection is owned by one worker, whose event loop watches its socket.
 * Readiness does not run the connection directly: it schedules it
 * (conn_schedule), and running it (conn_run) reads what is available, parses
 * every complete command, hands each to the dispatch function the server
 * installed (net_setup), appends replies to the output buffer and writes
 * them in as few system calls as possible. Readiness events run in the
 * owner's loop (polled by the owner, or by a guest worker while the owner is
 * stuck in a long task), any worker may run the connection (work stealing,
 * worker.c), and closing is done by whoever holds the owner's loop token.
 *
 * Task state (atomic word): IDLE → SCHEDULED → RUNNING → IDLE, with a
 * NOTIFIED bit set when readiness arrives while RUNNING so the runner goes
 * round again instead of losing the event. At most one thread runs a
 * connection at a time; replies leave in request order.
 *
 * Only the thread that moved the task word to RUNNING touches the buffers
 * and the session; only the owner's loop closes (a runner on another worker
 * sends the connection to the owner's inbox with CONN_Q_CLOSE, still RUNNING,
 * so nobody else can schedule it meanwhile). Other threads ask for a close
 * through the atomic `kill` word and conn_schedule().
 *
 * Threads: fields under "session" and the buffers are touched only by the
 * thread running the connection. CLIENT LIST / CLIENT INFO (conn_describe)
 * read some of them from other threads: `name` changes only under the
 * registry lock (conn_set_name); `resp`, `db` and `last_cmd` are atomics
 * behind the accessors below; buffer sizes and flags are published as
 * relaxed mirrors after each run. Statistics fields are relaxed atomics
 * (they publish nothing).
 * Ownership: the worker frees a connection when it closes; dispatch must not
 * keep the pointer past its return.
 */
#ifndef KVSD_CONN_H
#define KVSD_CONN_H

#include "concurrency/mpscq.h"
#include "net/buf.h"
#include "net/resp.h"

#include <stdatomic.h>
#include <stdint.h>

struct worker;
struct event;

enum conn_task_state {
	CONN_IDLE = 0,
	CONN_SCHEDULED = 1,
	CONN_RUNNING = 2,
	CONN_STATE_MASK = 3,
	CONN_NOTIFIED = 4,
};

/* conn.flags: each reason is its own bit so several combine */
#define CONN_F_CLOSE_AFTER_REPLY 0x01 /* QUIT, protocol error: flush then close */
#define CONN_F_CLOSE_ASAP	 0x02 /* close without flushing (limits, kill) */
#define CONN_F_UNIX		 0x04 /* unix-domain socket */
#define CONN_F_WANT_WRITE	 0x08 /* output pending: write interest armed */
#define CONN_F_STOP_READING	 0x10 /* shutdown: finish what was read, read no more */
#define CONN_F_MONITOR		 0x20 /* MONITOR: receives every command */
#define CONN_F_OUT_PAUSED	 0x40 /* replies over client-output-pause-limit: not reading */

struct conn {
	_Atomic uint32_t task; /* enum conn_task_state; see conn.c for the transitions */
	int fd;
	uint64_t id;
	struct worker *owner;
	struct event *ev;
	unsigned flags;

	struct buf in;	/* query buffer */
	struct buf out; /* reply buffer */
	struct resp_req req;
	const char **argv; /* dispatch arguments, reused */
	size_t *argl;
	int argv_cap;
	/* runner only (conn.c): bulks of NET_BIG_ARG bytes or more of the
	 * request being read, each in an allocation of its own; the last one
	 * may still be filling */
	struct conn_bigarg *big;
	int nbig, big_cap;
	size_t big_bytes; /* received into them so far */
	size_t held;	  /* parsed request waiting for CLIENT PAUSE: its bytes */
	size_t qb_alloc;  /* Redis's query buffer allocation, mirrored: sizes reads */

	/* session — read and written by the server through dispatch. resp, db
	 * and last_cmd: written only by the runner, also read by CLIENT LIST on
	 * other threads; use the conn_resp() ... accessors below */
	_Atomic int resp;		/* protocol version: 2 or 3 */
	int authenticated;		/* AUTH/HELLO passed (or no password configured) */
	_Atomic int db;			/* SELECTed database (always 0) */
	_Atomic(const char *) last_cmd; /* static name of the last command, for CLIENT LIST */
	char *name;			/* CLIENT SETNAME; NULL if none; see conn_set_name */
	void *multi;	/* server/multi.c's MULTI/WATCH state; freed by net_opts.conn_close */
	char addr[64];	/* peer "ip:port" or "/path:0" */
	char laddr[64]; /* local "ip:port" */
	int64_t ctime_ms;
	_Atomic int64_t last_ms; /* last interaction; read by the idle-timeout cron */
	_Atomic uint64_t ncmds;	 /* commands run; statistic */

	struct conn *next, *prev;	  /* owner's list */
	struct conn *reg_next, *reg_prev; /* global registry (CLIENT LIST) */

	/* scheduling: the node links the connection into one worker inbox at a
	 * time; inbox_op (CONN_Q_*) is written before the push, which releases it */
	struct mpscq_node qnode;
	int inbox_op;
	/* set by any thread (CLIENT KILL, shutdown), read by the runner: relaxed,
	 * the conn_schedule() that follows orders it */
	_Atomic int kill;
	_Atomic int pause_wait; /* runner: stopped for CLIENT PAUSE; cron re-schedules */
	int64_t soft_since_ms;	/* runner: over the soft output limit since (0: not) */
	/* mirrors for CLIENT LIST from other threads, updated by the runner after
	 * each run: relaxed statistics */
	_Atomic uint64_t st_qbuf, st_omem;
	_Atomic int st_events;	/* 1 = waiting to write (events=rw) */
	_Atomic int st_monitor; /* 1 = MONITOR client (flags=O) */
	/* MONITOR: lines fed by other threads, under the monitor lock (control.c) */
	struct buf mon_pending;
	struct conn *mon_next;
};

/*
 * Session words CLIENT LIST reads while the connection runs elsewhere. The
 * runner is their only writer. Relaxed: each is one word read on its own —
 * a describer needs only some value the runner stored, not an order with
 * other fields — and none publishes other memory (last_cmd points to a
 * command's static name).
 */
static inline int conn_resp(const struct conn *c)
{
	return atomic_load_explicit(&c->resp, memory_order_relaxed);
}

static inline void conn_set_resp(struct conn *c, int resp)
{
	atomic_store_explicit(&c->resp, resp, memory_order_relaxed);
}

static inline int conn_db(const struct conn *c)
{
	return atomic_load_explicit(&c->db, memory_order_relaxed);
}

static inline void conn_set_db(struct conn *c, int db)
{
	atomic_store_explicit(&c->db, db, memory_order_relaxed);
}

/* NULL before the first command (and after an unknown one) */
static inline const char *conn_last_cmd(const struct conn *c)
{
	return atomic_load_explicit(&c->last_cmd, memory_order_relaxed);
}

static inline void conn_set_last_cmd(struct conn *c, const char *name)
{
	atomic_store_explicit(&c->last_cmd, name, memory_order_relaxed);
}

/* Sets or clears the client name (takes the registry lock). */
void conn_set_name(struct conn *c, const char *name, size_t len);

/* Calls fn for every open connection under the registry lock (CLIENT LIST, INFO).
 * fn must not block or call back into net/. */
void conn_foreach(void (*fn)(struct conn *c, void *arg), void *arg);

/* Number of open client connections. */
long conn_count(void);

/* Formats a CLIENT LIST / CLIENT INFO line for c into buf (NUL-terminated). */
size_t conn_describe(struct conn *c, char *buf, size_t size, int64_t now_ms);

#endif
