/*
 * uring.h — a worker's io_uring for batched sends and reads: the replies of
 * every connection run in one pass of the worker leave with one
 * io_uring_enter(2) instead of one send(2) each, as Redis's beforeSleep
 * writes all its clients once per loop, and the first reads of the
 * connections a poll found ready are made together the same way (worker.c:
 * read_ahead) instead of one read(2) each (docs/BENCHMARKS.md, issues 14 and
 * 19: on the machines kvsd is measured on a system call's fixed cost is a
 * large part of a request's CPU time).
 *
 * Each send is queued as an IORING_OP_SEND with MSG_DONTWAIT: the kernel
 * then tries it inline during the submit and posts -EAGAIN (or a short
 * count) instead of arming a poll, so every completion is there when the
 * submit returns and the result is applied exactly as a send(2)'s
 * (conn_io.c: conn_sent). net_ring_flush waits for every completion anyway,
 * so a kernel that punts one to its workers only costs a wait.
 *
 * Threads: a ring belongs to the one worker thread that created it
 * (IORING_SETUP_SINGLE_ISSUER where the kernel has it); nothing here is
 * shared. Ownership: the buffer a queued send points at must stay unchanged
 * until net_ring_flush returns (the connection stays RUNNING on its runner's
 * send queue meanwhile: task.c). Errors: net_ring_create returns NULL (errno
 * set: ENOSYS, EPERM with io_uring_disabled, ENOMEM) and the caller sends
 * with send(2) as before. A submit the kernel refuses for a lasting reason
 * (anything but EINTR, EAGAIN, EBUSY: the ring's file gone bad, a kernel
 * bug) retires the ring: the sends it did not take are handed back as
 * NET_RING_UNSENT for the caller to make with send(2), and net_ring_ok is
 * false from then on, so the worker goes on without it instead of
 * stopping the server.
 */
#ifndef KVSD_NET_URING_H
#define KVSD_NET_URING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct net_ring;

/* Sends queued at most between two flushes (the submission queue's size). */
#define NET_RING_ENTRIES 64

/* The calling thread's ring, or NULL (errno) if io_uring is unavailable. */
struct net_ring *net_ring_create(void);
void net_ring_destroy(struct net_ring **r);
/* Queues a send of n bytes at p on fd, tagged tag. 0, or -EBUSY when
 * NET_RING_ENTRIES sends are queued already (flush first). */
int net_ring_send(struct net_ring *r, int fd, const void *p, size_t n, void *tag);
/* Queues a receive of at most n bytes into p from fd, tagged tag, with
 * MSG_DONTWAIT: an empty socket completes with -EAGAIN inline, as a
 * non-blocking read(2) returns (task.c: conn_task_read_ahead). 0, or -EBUSY as
 * net_ring_send. The buffer must stay allocated and untouched until
 * net_ring_flush returns. */
int net_ring_recv(struct net_ring *r, int fd, void *p, size_t n, void *tag);
/* Sends (and receives) queued and not yet flushed. */
unsigned net_ring_queued(const struct net_ring *r);
/* done()'s res for a send the kernel never took (see Errors above) */
#define NET_RING_UNSENT INT_MIN
/* Submits every queued send with one io_uring_enter and waits for all their
 * completions, calling done(tag, res) once per queued send: res is what
 * send(2) would have returned, -errno, or NET_RING_UNSENT. Returns the
 * number of io_uring_enter calls made (1 unless interrupted or the kernel
 * completed some late). */
int net_ring_flush(struct net_ring *r, void (*done)(void *tag, int res));
/* False once a submit failed for a lasting reason: queue nothing more. */
bool net_ring_ok(const struct net_ring *r);
/* Tests only: the ring's file descriptor (a test replaces it to make the
 * kernel refuse the next submit). */
int net_ring_fd(const struct net_ring *r);

#endif
