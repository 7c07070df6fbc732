/*
 * net_internal.h — what conn.c, worker.c, control.c and listener.c share
 * inside net/.
 *
 * Threads: a worker's deque's owner side is touched only by the worker's own
 * thread; its loop side (event_base, inbox consumer end, connection list) by
 * whoever holds its loop token — the worker itself, or a guest worker while
 * the owner is stuck in a long task (worker.c); its inbox's producer end by
 * any thread; `parked`, `loop` and the statistics are atomics. The scheduler
 * state (struct net_sched) is read by every worker.
 */
#ifndef KVSD_NET_INTERNAL_H
#define KVSD_NET_INTERNAL_H

#include "concurrency/mpscq.h"
#include "concurrency/park.h"
#include "concurrency/util.h"
#include "concurrency/wsq.h"
#include "net/conn.h"
#include "net/net.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct event_base;

struct worker_stats {
	/* single writer (the worker), read by INFO: relaxed, publish nothing */
	_Atomic uint64_t commands;
	_Atomic uint64_t in_bytes;
	_Atomic uint64_t out_bytes;
	_Atomic uint64_t errors;
	_Atomic uint64_t tasks;		/* connection runs */
	_Atomic uint64_t steals;	/* tasks taken from another worker's deque */
	_Atomic uint64_t failed_steals; /* searches that found nothing to steal */
	_Atomic uint64_t parks;		/* times the worker blocked in its loop */
	_Atomic uint64_t wakeups;	/* parks ended by another thread's wake */
	/* written by guests (several may): how often another worker polled this
	 * worker's loop while it was stuck in a task */
	_Atomic uint64_t polled_by_guest;
	_Atomic uint64_t guest_polls; /* stuck workers' loops this worker polled */
};

/* worker.parked */
enum { WORKER_RUNNING = 0, WORKER_PARKED = 1, WORKER_NOTIFIED = 2 };

/* worker.loop: the loop token (worker.c explains guest polling). Values at or
 * above LOOP_SINCE_BIAS mean "free: the owner has been running one task since
 * CLOCK_MONOTONIC time value - LOOP_SINCE_BIAS ns". */
#define LOOP_HELD	0 /* the owner's: between tasks, polling or parked */
#define LOOP_GUEST	1 /* a guest worker polls the loop */
#define LOOP_SINCE_BIAS 2

struct worker {
	int idx;
	pthread_t thread;
	struct event_base *base;
	struct event *wake_ev; /* event_active()d by other threads (inbox, unpark) */
	struct event *cron_ev;
	struct wsq dq;	    /* scheduled connections: owner push/take, thieves steal */
	struct mpscq inbox; /* from any thread: new, re-queued and to-close connections */
	struct conn *conns; /* this worker's connections; loop side (token holder) */
	unsigned rng;	    /* owner-only: victim selection */
	int searching;	    /* owner-only: counted in net_sched.searching */
	int unparked;	    /* owner-only: no task run since the last park */
	int64_t polled_ns;  /* owner-only: when it last polled its own loop */
	/* this worker's thread only: the worker whose loop it is polling as a
	 * guest (sched_submit then queues onto this worker's deque), or NULL */
	struct worker *guest_of;
	struct event *watch_ev; /* timer ending a watcher's park (worker.c) */
	/* WORKER_RUNNING / PARKED / NOTIFIED: exchanged by the worker, CAS
	 * PARKED → NOTIFIED by the one waker that then writes the eventfd */
	_Atomic int parked KV_ALIGNED;
	/* The loop token: whoever holds it may touch the loop side — the base,
	 * the inbox's consumer end, `conns`, closing. The owner stores a task's
	 * start time (release) when it starts one and takes the token back by CAS
	 * (acquire) after; a guest CASes a stale start time to LOOP_GUEST
	 * (acquire) and stores it back when done (release). */
	_Atomic uint64_t loop;
	_Atomic int stop;    /* set by workers_stop(); relaxed, the wake orders it */
	_Atomic long nconns; /* connections owned (least-loaded assignment) */
	struct worker_stats st KV_ALIGNED;
};

/* Options and hooks net_setup() received; read-only after setup. */
extern struct net_opts net_opts_g;

enum net_assign { NET_ASSIGN_ROUND_ROBIN, NET_ASSIGN_LEAST_LOADED, NET_ASSIGN_SINGLE };

struct net_limits {
	/* written by CONFIG SET (any thread), read by workers: relaxed — a limit
	 * applied a moment late is harmless and publishes no other memory */
	_Atomic long maxclients;
	_Atomic long timeout_s;
	_Atomic long keepalive_s;
	_Atomic long long query_limit;
	_Atomic long long max_bulk;
	_Atomic int protected_mode;
	_Atomic int stealing;
	_Atomic int assign; /* enum net_assign */
	_Atomic long run_budget;
	_Atomic long long out_hard, out_soft; /* client-output-buffer-limit normal; 0 = none */
	_Atomic long out_soft_secs;
	_Atomic long long pause_limit; /* client-output-pause-limit; 0 = none */
	_Atomic int hz;		       /* cron frequency, NET_HZ_MIN..NET_HZ_MAX */
	_Atomic int draining;	       /* shutdown: read nothing more */
};
extern struct net_limits net_limits_g;

/* Scheduler state shared by all workers. */
struct net_sched {
	struct park_ec ec;		  /* workers parked (or about to) in their loops */
	_Atomic int searching KV_ALIGNED; /* workers looking for work to steal */
	/* parked workers with a watch timer, 0 or 1: seq_cst, it pairs with the
	 * parked words (worker.c: watching) */
	_Atomic int watchers;
};
extern struct net_sched net_sched_g;

/* conn.inbox_op: why a connection is on a worker's inbox */
enum { CONN_Q_NEW = 1, CONN_Q_RUN = 2, CONN_Q_CLOSE = 3 };

/* conn.c */
struct conn *conn_create(int fd, int is_unix);
void conn_attach(struct conn *c, struct worker *w); /* holding w's loop token */
void conn_close(struct conn *c);		    /* holding the owner's loop token; frees c */
/* IDLE → SCHEDULED (or NOTIFIED while RUNNING). Any thread. */
void conn_schedule(struct conn *c);
/* Runs c once (caller set RUNNING). 1: more work (budget), 0: waiting, -1: close. */
int conn_run(struct conn *c);
void net_count_error(struct conn *c);
void conn_registry_add(struct conn *c);
void conn_registry_del(struct conn *c);
struct worker *conn_worker(struct conn *c);

/* worker.c */
int workers_start(int n, char *err, size_t errlen);
void workers_stop(void);
void worker_hand_off(struct conn *c); /* listener thread: conn-assign policy */
int workers_count(void);
struct worker *worker_get(int i);
/* The worker running on this thread, or NULL. */
struct worker *worker_self(void);
/* Puts a SCHEDULED connection where a worker will run it (any thread). */
void sched_submit(struct conn *c);

/* control.c: MONITOR feed, CLIENT PAUSE */
void monitor_detach(struct conn *c);
void monitor_take(struct conn *c); /* runner: moves fed lines to c->out */
/* 1 if the command must wait for CLIENT PAUSE to end. */
int pause_blocks(int argc, const char **argv, const size_t *argl);
int pause_active(void);
extern _Atomic int net_monitors; /* number of MONITOR clients; relaxed hint */

#endif
