/*
 * task.h — a connection as a schedulable task: the task word's state machine
 * and every hand-off between threads (task.c explains the contract).
 *
 * Threads: per function below. task.c and worker.c call each other (the
 * connection task and the worker loop that runs it); nothing else in net/
 * below them does.
 */
#ifndef KVSD_NET_TASK_H
#define KVSD_NET_TASK_H

#include <stdint.h>

struct conn;
struct worker;

/* Listener thread: a connection for accepted socket fd, registered and
 * handed to a worker (conn-assign), SCHEDULED until it is attached. */
void conn_accept(int fd, int is_unix);
/* Holder of w's loop token: c (CONN_Q_NEW) joins w's loop and runs. */
void conn_attach(struct conn *c, struct worker *w);
/* Any thread: IDLE → SCHEDULED (queued), or NOTIFIED while RUNNING. */
void conn_schedule(struct conn *c);
/* As conn_schedule, but queued behind the work the scheduling worker already
 * has (its inbox, as a yield), not on top of its LIFO deque: for fan-outs,
 * where one waker keeps scheduling many connections and those pushed first
 * would otherwise wait until the deque runs dry (sched_submit_back). */
void conn_schedule_back(struct conn *c);
/* Worker w's thread, holding no loop token: runs scheduled c until it waits
 * (0), spent its budget (1) or must close (-1). */
int conn_task_run(struct worker *w, struct conn *c);
/* Worker w's thread, holding its own loop token again: what conn_task_run's
 * result r asks for — nothing (0), queue behind the others (1), close (-1),
 * or (CONN_RUN_SEND, conn_io.h) its last write onto w's send queue, which
 * this flushes when full. */
void conn_task_after(struct worker *w, struct conn *c, int r);
/* Worker w's thread, online, holding its own loop token: sends everything on
 * w's send queue with one submit and ends each of those runs (task.c). */
void conn_task_flush(struct worker *w);
/* Worker w's thread, online, holding its own loop token, about to run c
 * (taken from a deque, still SCHEDULED): when c's run starts with a read and
 * so do others on w's deque, makes all those reads with one submit on w's
 * ring, and puts the others back in their order (task.c: read-ahead). */
void conn_task_read_ahead(struct worker *w, struct conn *c);
/* Guest w holding stuck v's loop token, offline: ends the runs on v's send
 * queue with send(2)s made by w (v's ring is v's own), so replies queued
 * before v's long task do not wait for its end (task.c). */
void conn_task_flush_guest(struct worker *w, struct worker *v);
/* Holder of the owner's loop token (idle-timeout cron): claims an IDLE
 * connection so that it may be closed. 1 if claimed. */
int conn_task_claim_idle(struct conn *c);
/* Holder of the owner's loop token (or teardown, every worker stopped):
 * closes c and frees it. c is RUNNING (claimed), or SCHEDULED and never
 * attached. */
void conn_close(struct conn *c);

#endif
