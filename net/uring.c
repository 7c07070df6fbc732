/*
 * uring.c — a worker's io_uring for batched sends (uring.h has the
 * contract). A thin layer over liburing: one ring per worker thread, sends
 * only, each submit followed by the harvest of all its completions.
 */
#include "net/uring.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"

#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_ring {
	struct io_uring ring;
	unsigned queued; /* SQEs prepared since the last flush */
};

struct net_ring *net_ring_create(void)
{
	struct net_ring *r = mem_calloc(1, sizeof(*r));
	struct io_uring_params p = {0};
	int rc;

	/* one thread submits and it reaps its own completions at once:
	 * SINGLE_ISSUER and COOP_TASKRUN spare the kernel locking and IPIs
	 * (6.0+, 5.19+); an older kernel refuses them (EINVAL): plain ring */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
	rc = io_uring_queue_init_params(NET_RING_ENTRIES, &r->ring, &p);
	if (rc == -EINVAL) {
		struct io_uring_params q = {0};

		rc = io_uring_queue_init_params(NET_RING_ENTRIES, &r->ring, &q);
	}
	if (rc < 0) {
		mem_free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

void net_ring_destroy(struct net_ring **rp)
{
	struct net_ring *r = *rp;

	if (r == NULL)
		return;
	io_uring_queue_exit(&r->ring);
	mem_free(r);
	*rp = NULL;
}

int net_ring_send(struct net_ring *r, int fd, const void *p, size_t n, void *tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (sqe == NULL)
		return -EBUSY;
	/* MSG_DONTWAIT: a full socket completes with -EAGAIN inline instead of
	 * waiting in the kernel for room (the owner's loop reports the writable
	 * edge, as after a send(2) that found it full). A send takes at most
	 * what an int result can report. */
	io_uring_prep_send(sqe, fd, p, n < INT32_MAX ? n : INT32_MAX, MSG_NOSIGNAL | MSG_DONTWAIT);
	io_uring_sqe_set_data(sqe, tag);
	r->queued++;
	return 0;
}

unsigned net_ring_queued(const struct net_ring *r)
{
	return r->queued;
}

int net_ring_flush(struct net_ring *r, void (*done)(void *tag, int res, void *arg), void *arg)
{
	unsigned want = r->queued, got = 0;
	int enters = 0;

	if (want == 0)
		return 0;
	r->queued = 0;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int rc;

		/* first round: submit everything and wait for all of it in one
		 * enter; later rounds (a signal, or completions the kernel posts
		 * late) submit what is left and wait for the rest */
		rc = io_uring_submit_and_wait(&r->ring, want - got);
		enters++;
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
			KV_PANIC("io_uring_enter failed");
		if (rc == -EAGAIN || rc == -EBUSY)
			sched_yield(); /* the kernel is short of memory for a moment */
		io_uring_for_each_cqe(&r->ring, head, cqe)
		{
			done(io_uring_cqe_get_data(cqe), cqe->res, arg);
			n++;
		}
		io_uring_cq_advance(&r->ring, n);
		got += n;
		if (got >= want)
			return enters;
	}
}
