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

struct conn;
struct worker;

/* A connection for accepted socket fd, task word IDLE, in no list. */
struct conn *conn_create(int fd, int is_unix);
/* Runs c once on worker w's thread. 1: more work (budget spent), 0: waiting
 * for readiness, -1: must close. */
int conn_run(struct conn *c, struct worker *w);
/* Closes the socket (during shutdown after sending FIN and discarding
 * unread input). */
void conn_shut(struct conn *c);
/* Frees c and its buffers; c is in no list any more. */
void conn_free(struct conn *c);

#endif
