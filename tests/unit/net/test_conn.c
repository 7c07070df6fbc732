/*
 * test_conn.c — net/ driven on its own, without server/ or storage/: a tiny
 * dispatch function behind a real listener on a free port, talked to over
 * a socket. Checks request/reply round trips (pipelined), the reply marks
 * (conn_reply_mark / truncate / first_byte) that server/ uses instead of
 * editing net/'s buffer, the server session's life cycle (conn_init /
 * conn_close), connection attributes, and error counting.
 *
 * Each Criterion test runs in its own process, so each starts net/ afresh
 * (net_teardown shuts libevent down for the process).
 */
#include "net/conn.h"
#include "net/net.h"
#include "net/reply.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the server side: a dispatch function and a session ----------------- */

struct session {
	long cmds; /* commands this connection ran */
};

/* sessions created / freed: the hooks run on workers, the test reads them */
static _Atomic int sessions_made, sessions_freed;

static void *t_conn_init(struct conn *c)
{
	struct session *s = calloc(1, sizeof(*s));

	conn_set_authenticated(c, true);
	/* relaxed: a count the test polls; publishes nothing */
	atomic_fetch_add_explicit(&sessions_made, 1, memory_order_relaxed);
	return s;
}

static void t_conn_close(struct conn *c, void *session)
{
	(void)c;
	if (session == NULL)
		return;
	free(session);
	/* relaxed: see sessions_made */
	atomic_fetch_add_explicit(&sessions_freed, 1, memory_order_relaxed);
}

static int is(const char *arg, size_t len, const char *lit)
{
	return len == strlen(lit) && strncasecmp(arg, lit, len) == 0;
}

static void t_dispatch(struct conn *c, int argc, const char **argv, const size_t *argl)
{
	struct session *s = conn_session(c);

	s->cmds++;
	if (is(argv[0], argl[0], "ping")) {
		reply_simple(c, "PONG");
	} else if (is(argv[0], argl[0], "echo") && argc == 2) {
		reply_bulk(c, argv[1], argl[1]);
	} else if (is(argv[0], argl[0], "count")) {
		reply_int(c, s->cmds);
	} else if (is(argv[0], argl[0], "takeback")) {
		/* appends, takes it all back, answers +OK */
		size_t m = conn_reply_mark(c);

		reply_simple(c, "junk");
		reply_bulk(c, "more junk", 9);
		conn_reply_truncate(c, m);
		reply_ok(c);
	} else if (is(argv[0], argl[0], "first")) {
		/* the first byte of an error since a mark, and of nothing */
		size_t m = conn_reply_mark(c);
		int err, none;

		reply_error(c, "ERR boom");
		err = conn_reply_first_byte(c, m);
		conn_reply_truncate(c, m);
		none = conn_reply_first_byte(c, conn_reply_mark(c));
		reply_array(c, 2);
		reply_int(c, err);
		reply_int(c, none);
	} else if (is(argv[0], argl[0], "resp3")) {
		conn_set_resp(c, 3);
		reply_null(c);
	} else if (is(argv[0], argl[0], "bye")) {
		reply_ok(c);
		conn_close_after_reply(c);
	} else {
		reply_errorf(c, "ERR unknown command '%.*s'", (int)argl[0], argv[0]);
	}
}

static void t_nothing(void)
{
}

static pthread_t listener;

static void *run_listener(void *arg)
{
	(void)arg;
	net_run();
	return NULL;
}

static void start_net(void)
{
	struct net_opts o = {
	    .bind = "127.0.0.1",
	    .port = 0,
	    .tcp_backlog = 128,
	    .threads = 2,
	    .dispatch = t_dispatch,
	    .quiescent = t_nothing,
	    .offline = t_nothing,
	    .online = t_nothing,
	    .conn_init = t_conn_init,
	    .conn_close = t_conn_close,
	};
	char err[256] = "";

	net_set_maxclients(64);
	net_set_query_limit(1LL << 30);
	net_set_max_bulk(512LL * 1024 * 1024);
	net_set_hz(10);
	net_set_work_stealing(1);
	cr_assert_eq(net_setup(&o, err, sizeof(err)), 0, "net_setup: %s", err);
	cr_assert_gt(net_tcp_port(), 0);
	cr_assert_eq(pthread_create(&listener, NULL, run_listener, NULL), 0);
}

static void stop_net(void)
{
	net_stop();
	pthread_join(listener, NULL);
	net_teardown();
}

TestSuite(net_conn, .init = start_net, .fini = stop_net, .timeout = 60);

/* ---- the client side ----------------------------------------------------- */

static int connect_net(void)
{
	struct sockaddr_in sa = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)net_tcp_port());
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);

		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		off += (size_t)w;
	}
}

/* Reads exactly strlen(want) bytes (or until EOF / 10 s without a byte)
 * and compares them with want. */
static void expect(int fd, const char *want)
{
	size_t n = strlen(want), got = 0;
	char *buf = calloc(1, n + 1);

	while (got < n) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		cr_assert_gt(poll(&p, 1, 10000), 0, "no reply; have \"%.*s\"", (int)got, buf);
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	cr_assert(got == n && memcmp(buf, want, n) == 0, "got \"%.*s\", want \"%s\"", (int)got, buf,
		  want);
	free(buf);
}

/* The peer closed: read returns 0 (within 10 s). */
static void expect_eof(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	char b;

	cr_assert_gt(poll(&p, 1, 10000), 0);
	cr_assert_eq(read(fd, &b, 1), 0);
}

/* Waits (up to 10 s) until the counter reaches want. */
static void wait_count(_Atomic int *v, int want)
{
	for (int i = 0; i < 1000; i++) {
		/* relaxed: see sessions_made */
		if (atomic_load_explicit(v, memory_order_relaxed) >= want)
			break;
		usleep(10000);
	}
	cr_assert_eq(atomic_load_explicit(v, memory_order_relaxed), want);
}

/* ---- tests ------------------------------------------------------------- */

Test(net_conn, replies_in_request_order)
{
	int fd = connect_net();

	send_all(fd, "PING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nCOUNT\r\n");
	expect(fd, "+PONG\r\n$5\r\nhello\r\n:3\r\n");
	close(fd);
}

Test(net_conn, truncate_takes_back_only_what_followed_the_mark)
{
	int fd = connect_net();

	/* pipelined: replies before TAKEBACK are pending in the same buffer
	 * when it truncates, and must stay */
	send_all(fd, "PING\r\nTAKEBACK\r\nPING\r\n");
	expect(fd, "+PONG\r\n+OK\r\n+PONG\r\n");
	close(fd);
}

Test(net_conn, first_byte_since_mark)
{
	int fd = connect_net();

	send_all(fd, "PING\r\nFIRST\r\n");
	expect(fd, "+PONG\r\n*2\r\n:45\r\n:-1\r\n"); /* '-' is 45 */
	close(fd);
}

Test(net_conn, errors_are_counted_even_when_taken_back)
{
	struct net_stats st;
	int fd = connect_net();

	send_all(fd, "FIRST\r\nNOSUCH\r\n");
	expect(fd, "*2\r\n:45\r\n:-1\r\n-ERR unknown command 'NOSUCH'\r\n");
	/* counted after each command, before its reply is written */
	net_get_stats(&st);
	cr_assert_eq(st.error_replies, 2);
	cr_assert_eq(st.commands_processed, 2);
	close(fd);
}

Test(net_conn, session_lives_as_long_as_the_connection)
{
	int a = connect_net(), b = connect_net();

	send_all(a, "PING\r\nCOUNT\r\n");
	expect(a, "+PONG\r\n:2\r\n");
	send_all(b, "COUNT\r\n");
	expect(b, ":1\r\n"); /* a session of its own */
	wait_count(&sessions_made, 2);
	send_all(a, "BYE\r\n");
	expect(a, "+OK\r\n");
	expect_eof(a);
	wait_count(&sessions_freed, 1);
	close(a);
	close(b);
	wait_count(&sessions_freed, 2);
}

Test(net_conn, attributes_change_the_encoding)
{
	int fd = connect_net();

	send_all(fd, "RESP3\r\n");
	expect(fd, "_\r\n");
	close(fd);
}

Test(net_conn, protocol_error_closes_after_the_reply)
{
	int fd = connect_net();

	send_all(fd, "*1\r\n$x\r\n");
	expect(fd, "-ERR Protocol error: invalid bulk length\r\n");
	expect_eof(fd);
	close(fd);
}
