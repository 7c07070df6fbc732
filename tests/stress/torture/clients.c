/*
 * clients.c — slow, never-reading and short-lived clients.
 *
 * slow: one of, per round, on a fresh raw connection named torture-slow (so the killer may cut
 *  it: an early EOF is counted, never a failure, but every byte that does arrive must be right):
 *  - a pipeline written one byte at a time with pauses (SETNAME, SET, inline GET, SET, INCR,
 *    PING), whose replies must be exactly right;
 *  - a slow reader: 8 pipelined GETs of a 256 KB value, read 4 KB at a time with pauses,
 *    through a small receive buffer, for at most 2 s; every byte that arrives is compared;
 *  - a slow MONITOR, read a little at a time for half a second;
 *  - a 100 KB value sent 1 KB at a time and abandoned half-way.
 * neverread: up to two connections at a time that pipeline 128 GETs of a 256 KB value (32 MB
 *  of replies) or 100,000 INCRs and never read a byte, held for 0.3 to 2 s, then dropped (FIN or
 *  RST).
 * churn: connections opened and dropped in every state: at once, after half a command, after
 *  PING (+PONG checked), QUIT (+OK then EOF checked), HELLO 3 (RESP3 map checked), inside MULTI,
 *  after WATCH, with an RST, and registered with the killer (CLIENT ID) then held briefly.
 * Keys: sl:*, nr:*, ch:*.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "torture.h"

#define BIG_LEN	    (256 * 1024)
#define SLOW_GETS   8
#define RAW_TIMEOUT 5000

static void fill_big(char *b)
{
	for (size_t i = 0; i < BIG_LEN; i++)
		b[i] = (char)('A' + (i * 7 + i / 1000) % 26);
}

/* SET key <256 KB> on a short-lived unnamed connection; 0 on +OK. */
static int set_big(struct tt_thread *self, const char *key, const char *big)
{
	redisContext *c = tt_connect(self, RAW_TIMEOUT);
	redisReply *r;
	int rc = -1;

	if (!c)
		return -1;
	r = redisCommand(c, "SET %s %b", key, big, (size_t)BIG_LEN);
	if (tt_reply_is(r, REDIS_REPLY_STATUS, "OK"))
		rc = 0;
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return rc;
}

/* Compare what arrived against what should have: a prefix is fine, a wrong byte is not. */
static void expect_prefix(const char *who, const char *got, size_t n, const char *want,
			  size_t wantlen, int closed)
{
	size_t i;

	for (i = 0; i < n && i < wantlen && got[i] == want[i]; i++)
		;
	if (i < n)
		tt_fail(
		    "%s: byte %zu of the replies is 0x%02x, want 0x%02x (\"%.40s\" vs \"%.40s\")",
		    who, i, (unsigned char)got[i], i < wantlen ? (unsigned char)want[i] : 0,
		    got + i, i < wantlen ? want + i : "(nothing more)");
	else if (n < wantlen && !closed && tt_running())
		tt_fail("%s: only %zu of %zu reply bytes within %d ms", who, n, wantlen,
			RAW_TIMEOUT);
}

static void slow_writer(struct tt_thread *self)
{
	char req[512], want[256], got[256], val[32];
	size_t rl, wl, n;
	int fd = tt_raw(RAW_TIMEOUT), closed = 0, one = 1;

	if (fd < 0) {
		self->errs++;
		return;
	}
	self->conns++;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	snprintf(val, sizeof(val), "%ld", self->ops * 1000003L);
	rl = (size_t)snprintf(
	    req, sizeof(req),
	    "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$12\r\ntorture-slow\r\n"
	    "*3\r\n$3\r\nSET\r\n$4\r\nsl:k\r\n$%zu\r\n%s\r\n"
	    "GET sl:k\r\nSET sl:n 41\r\n*2\r\n$4\r\nINCR\r\n$4\r\nsl:n\r\nPING\r\n",
	    strlen(val), val);
	wl = (size_t)snprintf(want, sizeof(want),
			      "+OK\r\n+OK\r\n$%zu\r\n%s\r\n+OK\r\n:42\r\n+PONG\r\n", strlen(val),
			      val);
	tt_act(self, "slowloris: %zu bytes one at a time", rl);
	for (size_t i = 0; i < rl && tt_running(); i++) {
		if (kvsd_raw_send(fd, req + i, 1) != 0) {
			closed = 1;
			break;
		}
		if (tt_below(self, 3) == 0)
			kvsd_sleep_ms(1 + (long)tt_below(self, 3));
	}
	if (!closed && tt_running()) {
		n = kvsd_raw_recv(fd, got, sizeof(got), wl, RAW_TIMEOUT, &closed);
		expect_prefix("slow: slowloris pipeline", got, n, want, wl, closed);
	}
	self->closed_by_server += closed;
	tt_close_rst(fd);
}

static void slow_reader(struct tt_thread *self, const char *expect, size_t explen)
{
	static const char hello[] = "CLIENT SETNAME torture-slow\r\n";
	char req[SLOW_GETS * 16 + sizeof(hello)], buf[4096];
	size_t off = 0, rl = 0;
	int fd = tt_raw(RAW_TIMEOUT), rcv = 4096, closed = 0;
	long long until;

	if (fd < 0) {
		self->errs++;
		return;
	}
	self->conns++;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	memcpy(req, hello, sizeof(hello) - 1);
	rl = sizeof(hello) - 1;
	for (int i = 0; i < SLOW_GETS; i++)
		rl += (size_t)sprintf(req + rl, "GET sl:big\r\n");
	tt_act(self, "slow reader: %d x GET of 256 KB, read 4 KB at a time", SLOW_GETS);
	if (kvsd_raw_send(fd, req, rl) != 0)
		goto out;
	until = kvsd_now_ms() + 2000;
	while (off < explen && tt_running() && kvsd_now_ms() < until) {
		size_t want = explen - off < sizeof(buf) ? explen - off : sizeof(buf);
		size_t n = kvsd_raw_recv(fd, buf, sizeof(buf), want, 500, &closed);

		if (n && memcmp(buf, expect + off, n) != 0) {
			expect_prefix("slow: slow reader", buf, n, expect + off, explen - off, 1);
			goto out;
		}
		off += n;
		if (closed)
			break;
		kvsd_sleep_ms(1);
	}
	self->closed_by_server += closed;
out:
	tt_close_rst(fd);
}

static void slow_monitor(struct tt_thread *self)
{
	static const char req[] = "CLIENT SETNAME torture-slow\r\nMONITOR\r\n";
	char buf[1024];
	int fd = tt_raw(RAW_TIMEOUT), closed = 0;
	size_t n;

	if (fd < 0) {
		self->errs++;
		return;
	}
	self->conns++;
	tt_act(self, "slow MONITOR for 0.5 s");
	if (kvsd_raw_send(fd, req, sizeof(req) - 1) == 0) {
		n = kvsd_raw_recv(fd, buf, sizeof(buf), 10, RAW_TIMEOUT, &closed);
		expect_prefix("slow: MONITOR", buf, n, "+OK\r\n+OK\r\n", 10, closed);
		for (int i = 0; i < 25 && !closed && tt_running(); i++) {
			kvsd_raw_recv(fd, buf, sizeof(buf), sizeof(buf) - 1, 1, &closed);
			kvsd_sleep_ms(20);
		}
	}
	self->closed_by_server += closed;
	tt_close_rst(fd);
}

static void slow_partial_value(struct tt_thread *self, const char *big)
{
	static const char hdr[] = "*3\r\n$3\r\nSET\r\n$5\r\nsl:hv\r\n$100000\r\n";
	int fd = tt_raw(RAW_TIMEOUT);

	if (fd < 0) {
		self->errs++;
		return;
	}
	self->conns++;
	tt_act(self, "100 KB value sent 1 KB at a time, abandoned at 50 KB");
	if (kvsd_raw_send(fd, hdr, sizeof(hdr) - 1) == 0)
		for (int i = 0; i < 50 && tt_running(); i++) {
			if (kvsd_raw_send(fd, big + i * 1024, 1024) != 0)
				break;
			kvsd_sleep_ms(2);
		}
	if (tt_below(self, 2))
		tt_close_rst(fd);
	else
		close(fd);
}

void *tt_slow_main(void *arg)
{
	struct tt_thread *self = arg;
	char *big = malloc(BIG_LEN), *expect = NULL;
	size_t hdr, one, explen;
	int have_big;

	tt_lower_priority();
	if (!big)
		return NULL;
	fill_big(big);
	have_big = set_big(self, "sl:big", big) == 0;
	/* "+OK" for SETNAME, then SLOW_GETS times "$262144\r\n<value>\r\n" */
	hdr = (size_t)snprintf(NULL, 0, "$%d\r\n", BIG_LEN);
	one = hdr + BIG_LEN + 2;
	explen = 5 + SLOW_GETS * one;
	expect = malloc(explen);
	if (expect) {
		memcpy(expect, "+OK\r\n", 5);
		for (int i = 0; i < SLOW_GETS; i++) {
			char *p = expect + 5 + (size_t)i * one;

			sprintf(p, "$%d\r\n", BIG_LEN);
			memcpy(p + hdr, big, BIG_LEN);
			memcpy(p + hdr + BIG_LEN, "\r\n", 2);
		}
	}
	while (tt_running()) {
		switch (tt_below(self, 4)) {
		case 0:
			slow_writer(self);
			break;
		case 1:
			if (have_big && expect)
				slow_reader(self, expect, explen);
			break;
		case 2:
			slow_monitor(self);
			break;
		default:
			slow_partial_value(self, big);
		}
		self->ops++;
		tt_nap(2);
	}
	free(expect);
	free(big);
	return NULL;
}

/* ---- neverread ---- */

struct nr_conn {
	int fd;
	long long drop_at;
};

static void nr_open(struct tt_thread *self, struct nr_conn *nc, int have_big)
{
	static const char hello[] = "CLIENT SETNAME torture-neverread\r\n";
	char *req;
	size_t rl = 0, cap = 1200000;
	int flood = !have_big || tt_below(self, 3) == 0;

	nc->fd = tt_raw(1000);
	if (nc->fd < 0) {
		self->errs++;
		nc->fd = -1;
		return;
	}
	self->conns++;
	req = malloc(cap);
	if (!req)
		return;
	memcpy(req, hello, sizeof(hello) - 1);
	rl = sizeof(hello) - 1;
	if (flood) {
		for (int i = 0; i < 100000 && rl + 16 < cap; i++)
			rl += (size_t)sprintf(req + rl, "INCR nr:c\r\n");
	} else {
		for (int i = 0; i < 128; i++)
			rl += (size_t)sprintf(req + rl, "GET nr:big\r\n");
	}
	tt_act(self, "never reads: %s", flood ? "100000 INCRs" : "128 GETs of 256 KB");
	/* with SO_SNDTIMEO of 1 s: once the server stops reading us, this gives up */
	tt_send_chunked(nc->fd, req, rl);
	free(req);
	nc->drop_at = kvsd_now_ms() + 300 + tt_below(self, 1700);
}

void *tt_neverread_main(void *arg)
{
	struct tt_thread *self = arg;
	struct nr_conn conns[2] = {{-1, 0}, {-1, 0}};
	char *big = malloc(BIG_LEN);
	int have_big = 0;

	tt_lower_priority();
	if (big) {
		fill_big(big);
		have_big = set_big(self, "nr:big", big) == 0;
		free(big);
	}
	while (tt_running()) {
		for (int i = 0; i < 2 && tt_running(); i++) {
			if (conns[i].fd < 0) {
				nr_open(self, &conns[i], have_big);
				self->ops++;
			} else if (kvsd_now_ms() >= conns[i].drop_at) {
				if (tt_below(self, 2))
					tt_close_rst(conns[i].fd);
				else
					close(conns[i].fd);
				conns[i].fd = -1;
			}
		}
		tt_nap(20);
	}
	for (int i = 0; i < 2; i++)
		if (conns[i].fd >= 0)
			tt_close_rst(conns[i].fd);
	return NULL;
}

/* ---- churn ---- */

static void churn_one(struct tt_thread *self)
{
	char buf[256];
	int closed = 0, fd;
	uint32_t kind = tt_below(self, 10);
	size_t n;

	if (kind == 9) { /* registered victim, held for a moment (in MULTI half the time) */
		redisContext *c = tt_connect(self, RAW_TIMEOUT);

		if (!c)
			return;
		tt_act(self, "registered victim");
		if (tt_announce(c, "churn") == 0 && tt_below(self, 2)) {
			redisReply *r = redisCommand(c, "MULTI");

			if (r)
				freeReplyObject(r);
			r = redisCommand(c, "SET ch:m 1");
			if (r)
				freeReplyObject(r);
		}
		kvsd_sleep_ms(5 + tt_below(self, 45));
		redisFree(c);
		return;
	}
	fd = tt_raw(RAW_TIMEOUT);
	if (fd < 0) {
		self->errs++;
		return;
	}
	self->conns++;
	switch (kind) {
	case 0:
		tt_act(self, "connect, close");
		close(fd);
		return;
	case 1:
		tt_act(self, "connect, RST");
		break;
	case 2:
		tt_act(self, "half a command, close");
		TT_SEND_LIT(fd, "*3\r\n$3\r\nSET\r\n$4\r\nch:h\r\n$10\r\nabc");
		close(fd);
		return;
	case 3:
		tt_act(self, "PING");
		if (TT_SEND_LIT(fd, "PING\r\n") == 0) {
			n = kvsd_raw_recv(fd, buf, sizeof(buf), 7, RAW_TIMEOUT, &closed);
			expect_prefix("churn: PING", buf, n, "+PONG\r\n", 7, 0);
		}
		break;
	case 4:
		tt_act(self, "QUIT");
		if (TT_SEND_LIT(fd, "QUIT\r\n") == 0) {
			n = kvsd_raw_recv(fd, buf, sizeof(buf), 5, RAW_TIMEOUT, &closed);
			expect_prefix("churn: QUIT", buf, n, "+OK\r\n", 5, 0);
			n = kvsd_raw_recv(fd, buf, sizeof(buf), 1, RAW_TIMEOUT, &closed);
			if ((n || !closed) && tt_running())
				tt_fail("churn: QUIT: connection still open after +OK (%zu more "
					"bytes)",
					n);
		}
		close(fd);
		return;
	case 5:
		tt_act(self, "HELLO 3");
		if (TT_SEND_LIT(fd, "HELLO 3\r\n") == 0) {
			n = kvsd_raw_recv(fd, buf, sizeof(buf), 16, RAW_TIMEOUT, &closed);
			expect_prefix("churn: HELLO 3", buf, n, "%7\r\n$6\r\nserver\r\n", 16, 0);
		}
		break;
	case 6:
		tt_act(self, "MULTI, SET, drop");
		TT_SEND_LIT(fd, "MULTI\r\nSET ch:m 1\r\n");
		break;
	case 7:
		tt_act(self, "WATCH, drop");
		TT_SEND_LIT(fd, "WATCH ch:w ch:m\r\n");
		kvsd_raw_recv(fd, buf, sizeof(buf), 5, 50, &closed);
		close(fd);
		return;
	default:
		tt_act(self, "SETNAME torture-churn, INCR, drop");
		TT_SEND_LIT(fd, "CLIENT SETNAME torture-churn\r\nINCR ch:n\r\n");
		kvsd_raw_recv(fd, buf, sizeof(buf), 1, 5, &closed);
		break;
	}
	self->closed_by_server += closed;
	tt_close_rst(fd);
}

void *tt_churn_main(void *arg)
{
	struct tt_thread *self = arg;

	tt_lower_priority();
	while (tt_running()) {
		churn_one(self);
		self->ops++;
		tt_nap(1);
	}
	return NULL;
}
