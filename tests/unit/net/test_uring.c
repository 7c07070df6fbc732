/*
 * test_uring.c — net/uring.c on real sockets: a flush delivers every queued
 * send and reports each result once, as send(2) would have returned it
 * (bytes, or -EAGAIN from a full socket); each queued receive as read(2)
 * would have (bytes, a short count, 0 at EOF, -EAGAIN); and a ring whose submit the
 * kernel refuses for good hands every send back as NET_RING_UNSENT and is
 * not used again, instead of stopping the server (uring.h, Errors).
 */
#include "net/uring.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NSOCK 8

struct result {
	int res;
	int calls;
};

static void record(void *tag, int res)
{
	struct result *r = tag;

	r->res = res;
	r->calls++;
}

static struct net_ring *ring_or_skip(void)
{
	struct net_ring *r = net_ring_create();

	/* a kernel with io_uring disabled is a configuration the server
	 * handles by sending with send(2); nothing to test here then */
	if (r == NULL)
		cr_skip_test("io_uring unavailable: %s", strerror(errno));
	return r;
}

static void pairs(int sv[NSOCK][2])
{
	for (int i = 0; i < NSOCK; i++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		cr_assert_eq(fcntl(sv[i][0], F_SETFL, O_NONBLOCK), 0);
		cr_assert_eq(fcntl(sv[i][1], F_SETFL, O_NONBLOCK), 0);
	}
}

static void close_pairs(int sv[NSOCK][2])
{
	for (int i = 0; i < NSOCK; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

Test(uring, flush_delivers_each_send_and_reports_it_once)
{
	struct net_ring *r = ring_or_skip();
	int sv[NSOCK][2];
	struct result res[NSOCK] = {{0}};
	char msg[NSOCK][32];

	pairs(sv);
	for (int i = 0; i < NSOCK; i++) {
		snprintf(msg[i], sizeof(msg[i]), "+reply %d\r\n", i);
		cr_assert_eq(net_ring_send(r, sv[i][0], msg[i], strlen(msg[i]), &res[i]), 0);
	}
	cr_assert_eq(net_ring_queued(r), NSOCK);
	cr_assert_geq(net_ring_flush(r, record), 1);
	cr_assert_eq(net_ring_queued(r), 0);
	cr_assert(net_ring_ok(r));
	for (int i = 0; i < NSOCK; i++) {
		char got[64];
		ssize_t n = read(sv[i][1], got, sizeof(got));

		cr_assert_eq(res[i].calls, 1, "send %d reported %d times", i, res[i].calls);
		cr_assert_eq(res[i].res, (int)strlen(msg[i]));
		cr_assert_eq(n, (ssize_t)strlen(msg[i]));
		cr_assert_eq(memcmp(got, msg[i], (size_t)n), 0);
	}
	/* an empty flush makes no system call */
	cr_assert_eq(net_ring_flush(r, record), 0);
	close_pairs(sv);
	net_ring_destroy(&r);
	cr_assert_null(r);
}

Test(uring, full_socket_reports_eagain_like_send)
{
	struct net_ring *r = ring_or_skip();
	int sv[NSOCK][2];
	static char big[1 << 16];
	struct result full = {0}, other = {0};
	ssize_t n;

	pairs(sv);
	/* fill sv[0]'s send buffer until send(2) itself says EAGAIN */
	do
		n = send(sv[0][0], big, sizeof(big), MSG_DONTWAIT);
	while (n > 0);
	cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	cr_assert_eq(net_ring_send(r, sv[0][0], "+x\r\n", 4, &full), 0);
	cr_assert_eq(net_ring_send(r, sv[1][0], "+y\r\n", 4, &other), 0);
	(void)net_ring_flush(r, record);
	cr_assert_eq(full.calls, 1);
	cr_assert(full.res == -EAGAIN || full.res == -EWOULDBLOCK, "res %d", full.res);
	cr_assert_eq(other.calls, 1);
	cr_assert_eq(other.res, 4);
	close_pairs(sv);
	net_ring_destroy(&r);
}

/* net_ring_recv (read-ahead): each receive reports what read(2) would have
 * returned — the bytes waiting, a short count when fewer wait than asked,
 * 0 at EOF, and -EAGAIN at once from an empty socket (MSG_DONTWAIT: no poll
 * armed, the flush does not wait for data) — once, in one flush. */
Test(uring, recv_reports_what_read_would)
{
	struct net_ring *r = ring_or_skip();
	int sv[NSOCK][2];
	struct result res[4] = {{0}};
	char buf[4][64];

	pairs(sv);
	cr_assert_eq(write(sv[0][1], "*1\r\n$4\r\nPING\r\n", 14), 14);
	cr_assert_eq(write(sv[1][1], "hello", 5), 5);
	shutdown(sv[2][1], SHUT_WR);
	/* sv[3]: nothing sent */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(
		    net_ring_recv(r, sv[i][0], buf[i], i == 1 ? 3 : sizeof(buf[i]), &res[i]), 0);
	cr_assert_eq(net_ring_queued(r), 4);
	cr_assert_geq(net_ring_flush(r, record), 1);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(res[i].calls, 1, "recv %d reported %d times", i, res[i].calls);
	cr_assert_eq(res[0].res, 14);
	cr_assert_eq(memcmp(buf[0], "*1\r\n$4\r\nPING\r\n", 14), 0);
	cr_assert_eq(res[1].res, 3); /* what was asked; the rest stays queued */
	cr_assert_eq(memcmp(buf[1], "hel", 3), 0);
	cr_assert_eq(read(sv[1][0], buf[1], sizeof(buf[1])), 2);
	cr_assert_eq(res[2].res, 0);
	cr_assert(res[3].res == -EAGAIN || res[3].res == -EWOULDBLOCK, "res %d", res[3].res);
	close_pairs(sv);
	net_ring_destroy(&r);
}

Test(uring, refused_submit_hands_every_send_back_unsent)
{
	struct net_ring *r = ring_or_skip();
	int sv[NSOCK][2];
	struct result res[NSOCK] = {{0}};
	int null = open("/dev/null", O_RDONLY);

	pairs(sv);
	for (int i = 0; i < NSOCK; i++)
		cr_assert_eq(net_ring_send(r, sv[i][0], "+z\r\n", 4, &res[i]), 0);
	/* the ring's descriptor now names /dev/null: io_uring_enter fails with
	 * EOPNOTSUPP, a lasting reason, before the kernel takes any SQE */
	cr_assert_geq(null, 0);
	cr_assert_geq(dup2(null, net_ring_fd(r)), 0);
	close(null);
	(void)net_ring_flush(r, record);
	cr_assert_not(net_ring_ok(r));
	for (int i = 0; i < NSOCK; i++) {
		char got[8];

		cr_assert_eq(res[i].calls, 1, "send %d reported %d times", i, res[i].calls);
		cr_assert_eq(res[i].res, NET_RING_UNSENT);
		/* and nothing was sent: the caller makes it with send(2) */
		cr_assert_eq(read(sv[i][1], got, sizeof(got)), -1);
		cr_assert_eq(errno, EAGAIN);
	}
	close_pairs(sv);
	net_ring_destroy(&r);
}
