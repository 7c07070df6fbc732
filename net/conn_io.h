/*
 * conn_io.h — a connection's life outside scheduling: creating it for an
 * accepted socket, one run (read what is available, parse, dispatch, write),
 * and freeing it. task.c decides when a run happens and who closes.
 *
 * Threads: conn_create on the listener thread; conn_run only on the thread
 * that moved the task word to RUNNING; conn_free by the closer (the holder of
 * the owner's loop token, or teardown).
 */
#ifndef KVSD_NET_CONN_IO_H
#define KVSD_NET_CONN_IO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct conn;
struct worker;

/* A connection for accepted socket fd, task word IDLE, in no list. */
struct conn *conn_create(int fd, int is_unix);
/* conn_run: the run's last write is to go through w's ring (task.c) */
#define CONN_RUN_SEND 2
/* Runs c once on worker w's thread. 1: more work (budget spent), 0: waiting
 * for readiness, -1: must close; CONN_RUN_SEND (only when w has a ring):
 * the run ended with replies pending and allowed to leave, and the rest of
 * it waits for them — the caller queues their send on w's ring, leaves c
 * RUNNING, and passes the send's result to conn_sent. */
int conn_run(struct conn *c, struct worker *w);
/* The send of a run that returned CONN_RUN_SEND completed with res (what
 * send(2) returns, or -errno): applies it as a send(2)'s result and ends the
 * run. Returns what conn_run would have. Runner w's thread. */
int conn_sent(struct conn *c, struct worker *w, int res);
/* conn_sent's res for a send not made: conn_sent makes it with send(2) */
#define CONN_SENT_PLAIN INT_MIN
/*
 * Read-ahead (task.c: conn_task_read_ahead): the first reads of several scheduled
 * connections made together on a worker's ring, each run then taking its
 * read's result as if it had made the read itself. The caller holds c
 * SCHEDULED and off every deque (nobody runs it meanwhile), then hands it
 * on through a deque push, which orders these writes for the runner.
 * conn_reads_first: whether c's run would start with a read of the query
 * buffer's window (a readable edge came, nothing left to parse, nothing
 * that stops the run first); no side effect. conn_read_ahead_begin (only
 * when conn_reads_first): takes the readable edge and reserves the window,
 * returning where to read (*p) and at most how much; c's buffers are the
 * kernel's until conn_read_ahead_end passes the result: bytes read, -errno,
 * or CONN_READ_AHEAD_UNMADE if no read was made (the run makes its own).
 */
bool conn_reads_first(struct conn *c);
size_t conn_read_ahead_begin(struct conn *c, void **p);
void conn_read_ahead_end(struct conn *c, int res);
#define CONN_READ_AHEAD_UNMADE INT_MIN
/* Closes the socket (during shutdown after sending FIN and discarding
 * unread input). */
void conn_shut(struct conn *c);
/* Frees c and its buffers; c is in no list any more. */
void conn_free(struct conn *c);

#endif
