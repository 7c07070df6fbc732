/*
 * conn.h — a client connection, shaped as a schedulable task.
 *
 * A connection is owned by one worker, whose event loop watches its socket.
 * Readiness does not run the connection directly: it schedules it
 * (conn_schedule), and running it (conn_run) reads what is available, parses
 * every complete command, hands each to the dispatch function the server
 * installed (net_setup), appends replies to the output buffer and writes
 * them in as few system calls as possible. Today the owner always runs its
 * own connections; the task state below is what lets the work-stealing issue
 * hand a connection to another worker without rewriting this module.
 *
 * Task state (atomic word): IDLE → SCHEDULED → RUNNING → IDLE, with a
 * NOTIFIED bit set when readiness arrives while RUNNING so the runner goes
 * round again instead of losing the event. At most one thread runs a
 * connection at a time; replies leave in request order.
 *
 * Threads: fields under "session" and the buffers are touched only by the
 * thread running the connection. `name` is also read by CLIENT LIST from
 * other threads: it changes only under the registry lock (conn_set_name).
 * Statistics fields are relaxed atomics (they publish nothing).
 * Ownership: the worker frees a connection when it closes; dispatch must not
 * keep the pointer past its return.
 */
#ifndef KVSD_CONN_H
#define KVSD_CONN_H

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
#define CONN_F_CLOSE_ASAP        0x02 /* close without flushing (limits, kill) */
#define CONN_F_UNIX              0x04 /* unix-domain socket */
#define CONN_F_WANT_WRITE        0x08 /* output pending: write interest armed */
#define CONN_F_STOP_READING      0x10 /* shutdown: finish what was read, read no more */

struct conn {
	_Atomic uint32_t task; /* enum conn_task_state; see conn.c for the transitions */
	int fd;
	uint64_t id;
	struct worker *owner;
	struct event *ev;
	unsigned flags;

	struct buf in;  /* query buffer */
	struct buf out; /* reply buffer */
	struct resp_req req;
	const char **argv; /* dispatch arguments, reused */
	size_t *argl;
	int argv_cap;

	/* session — read and written by the server through dispatch */
	int resp;          /* protocol version: 2 or 3 */
	int authenticated; /* AUTH/HELLO passed (or no password configured) */
	int db;            /* SELECTed database (always 0) */
	const char *last_cmd; /* static name of the last command, for CLIENT LIST */
	char *name;           /* CLIENT SETNAME; NULL if none; see conn_set_name */
	char addr[64];        /* peer "ip:port" or "/path:0" */
	char laddr[64];       /* local "ip:port" */
	int64_t ctime_ms;
	_Atomic int64_t last_ms; /* last interaction; read by the idle-timeout cron */
	_Atomic uint64_t ncmds;  /* commands run; statistic */

	struct conn *next, *prev;           /* owner's list */
	struct conn *next_run;              /* owner's run queue */
	struct conn *reg_next, *reg_prev;   /* global registry (CLIENT LIST) */
};

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
