/*
 * net_internal.h — what conn.c, worker.c and listener.c share inside net/.
 *
 * Threads: a worker's run queue and connection list are touched only by the
 * worker's own thread; its inbox by the listener (producer) and the worker
 * (consumer) under inbox_lock; statistics are single-writer relaxed atomics
 * summed by INFO.
 */
#ifndef KVSD_NET_INTERNAL_H
#define KVSD_NET_INTERNAL_H

#include "concurrency/util.h"
#include "net/conn.h"
#include "net/net.h"

#include <pthread.h>
#include <stdatomic.h>

struct event_base;

struct worker_stats {
	/* single writer (the worker), read by INFO: relaxed, publish nothing */
	_Atomic uint64_t commands;
	_Atomic uint64_t in_bytes;
	_Atomic uint64_t out_bytes;
	_Atomic uint64_t errors;
};

struct worker {
	int idx;
	pthread_t thread;
	struct event_base *base;
	struct event *inbox_ev; /* activated by the listener after pushing to the inbox */
	struct event *run_ev;   /* activated when the run queue becomes non-empty */
	struct event *cron_ev;
	struct event *stop_ev;
	pthread_mutex_t inbox_lock;
	struct conn *inbox; /* under inbox_lock: accepted, not yet registered */
	struct conn *conns; /* owner-only list of this worker's connections */
	struct conn *runq_head, *runq_tail; /* owner-only FIFO of scheduled connections */
	int stopping;
	struct worker_stats st KV_ALIGNED;
};

/* Options and hooks net_setup() received; read-only after setup. */
extern struct net_opts net_opts_g;

struct net_limits {
	/* written by CONFIG SET (any thread), read by workers: relaxed — a limit
	 * applied a moment late is harmless and publishes no other memory */
	_Atomic long maxclients;
	_Atomic long timeout_s;
	_Atomic long keepalive_s;
	_Atomic long long query_limit;
	_Atomic long long max_bulk;
	_Atomic int protected_mode;
};
extern struct net_limits net_limits_g;

/* conn.c */
struct conn *conn_create(int fd, int is_unix);
void conn_attach(struct conn *c, struct worker *w); /* on the owner thread */
void conn_close(struct conn *c);                    /* on the owner thread; frees c */
void conn_schedule(struct conn *c);
void worker_run_queue(struct worker *w);
void net_count_error(struct conn *c);
void conn_registry_add(struct conn *c);
void conn_registry_del(struct conn *c);
struct worker *conn_worker(struct conn *c);

/* worker.c */
int workers_start(int n, char *err, size_t errlen);
void workers_stop(void);
void worker_hand_off(struct conn *c); /* listener thread: round-robin */
int workers_count(void);
struct worker *worker_get(int i);

#endif
