/*
 * uring.c — a worker's io_uring for batched sends and reads (uring.h has
 * the contract). A thin layer over liburing: one ring per worker thread,
 * sends and receives, each submit followed by the harvest of all its
 * completions.
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
	bool broken;	 /* a submit failed for a lasting reason (uring.h) */
};

/* Enter failures in a row, after the ring broke, before we give up on the
 * completions of sends the kernel had already taken. */
#define BROKEN_RETRIES 1000

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

int net_ring_recv(struct net_ring *r, int fd, void *p, size_t n, void *tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (sqe == NULL)
		return -EBUSY;
	/* MSG_DONTWAIT: an empty socket completes with -EAGAIN inline instead
	 * of arming a poll (the owner's loop reports the next readable edge) */
	io_uring_prep_recv(sqe, fd, p, n < INT32_MAX ? n : INT32_MAX, MSG_DONTWAIT);
	io_uring_sqe_set_data(sqe, tag);
	r->queued++;
	return 0;
}

unsigned net_ring_queued(const struct net_ring *r)
{
	return r->queued;
}

bool net_ring_ok(const struct net_ring *r)
{
	return !r->broken;
}

int net_ring_fd(const struct net_ring *r)
{
	return r->ring.ring_fd;
}

/* The kernel refused the submit for a lasting reason: the SQEs it did not
 * consume go back to the caller as unsent and become no-ops without a tag
 * (a later enter, if any, completes them harmlessly). Returns how many. */
static unsigned give_back(struct net_ring *r, void (*done)(void *tag, int res))
{
	struct io_uring_sq *sq = &r->ring.sq;
	unsigned left = io_uring_sq_ready(&r->ring);

	for (unsigned i = 0; i < left; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[(sq->sqe_tail - left + i) & sq->ring_mask];

		done((void *)(uintptr_t)sqe->user_data, NET_RING_UNSENT);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL);
	}
	r->broken = true;
	return left;
}

int net_ring_flush(struct net_ring *r, void (*done)(void *tag, int res))
{
	unsigned want = r->queued, got = 0, failures = 0;
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
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			if (!r->broken)
				want -= give_back(r, done);
			/* what the kernel took completes in the kernel whatever
			 * we do; its results are still owed to their senders */
			if (++failures > BROKEN_RETRIES && got < want)
				KV_PANIC("io_uring_enter keeps failing with sends in flight");
		}
		/* EAGAIN, EBUSY: the kernel is short of memory for a moment */
		if (rc < 0 && rc != -EINTR)
			sched_yield();
		io_uring_for_each_cqe(&r->ring, head, cqe)
		{
			void *tag = io_uring_cqe_get_data(cqe);

			/* a tagless completion is a give_back no-op, owed nobody */
			if (tag != NULL) {
				done(tag, cqe->res);
				got++;
			}
			n++;
		}
		io_uring_cq_advance(&r->ring, n);
		if (got >= want)
			return enters;
	}
}
