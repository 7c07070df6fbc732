/*
 * worker.h — worker threads and the scheduler (worker.c explains stealing,
 * parking, guest polling and watching).
 *
 * Threads: per function below.
 */
#ifndef KVSD_NET_WORKER_H
#define KVSD_NET_WORKER_H

#include "net/net_internal.h"

/* Main thread, from net_setup / net_teardown. */
int workers_start(int n, char *err, size_t errlen);
void workers_stop(void);
/* The serving workers (INFO's workers:; worker_get(0 .. count-1)). */
int workers_count(void);
/* workers_count() plus the reserve guest, worker_get(1), that --threads 1
 * adds (worker.c): for sums of the workers' statistics. */
int workers_total(void);
struct worker *worker_get(int i);

/* Listener thread: picks c's owner (conn-assign) and sends it there as
 * CONN_Q_NEW. */
void worker_hand_off(struct conn *c);
/* Any thread: puts a SCHEDULED connection where a worker will run it. */
void sched_submit(struct conn *c);
/* As sched_submit, but to the back: the inbox of the worker whose deque
 * sched_submit would use, drained into the deque only when that runs dry. */
void sched_submit_back(struct conn *c);
/* Any thread: sends c to w's inbox with op (CONN_Q_*) and wakes w if it is
 * parked. */
void inbox_push(struct worker *w, struct conn *c, int op);
/* Runner w of c, c's run having spent its budget (c still RUNNING): the
 * worker whose inbox c queues on — w itself, except on the reserve guest
 * (which keeps nothing: c's owner, worker 0, or the reserve's next guest
 * poll of it takes it), and except on c's owner while a peer that owns no
 * connections is parked and the owner has other connections (with
 * stealing on): that peer, which keeps c — its readiness is sent there too
 * (c->away, sched_submit) — so a flood moves off the worker whose other
 * clients it holds up. */
struct worker *worker_yield_home(struct worker *w, struct conn *c);
/* Holder of w's loop token, on attaching a connection: starts w's cron if it
 * sleeps. Worker 0's cron (the server's thread_cron and thread_slice) always
 * runs; another worker's runs only while it owns connections, whose idle
 * timeouts and CLIENT PAUSE ends are all it does. */
void worker_cron_arm(struct worker *w);

#endif
