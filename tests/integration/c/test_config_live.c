/*
 * test_config_live.c — defect 7: `CONFIG SET hz` was accepted but the worker cron kept the
 * start-up interval. Every parameter CONFIG SET accepts must take effect at once: each test
 * here changes parameters on a running kvsd and observes the effect from outside (INFO
 * counters, what clients receive, the log, the sockets).
 *
 * defect7_every_settable_key_is_covered keeps the list honest: it asks the server which
 * parameters CONFIG SET accepts and fails for one that no test here (or the one named in
 * `elsewhere`) observes, so a new settable parameter needs a test of its effect.
 *
 * Tests that read kvsd's own INFO fields (expire_cycles, worker<N>:tasks/steals) or rely on
 * kvsd-only parameters skip their kvsd-only part when KVSD_BIN is a redis-server.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hr_test.h"

static struct kvsd_proc srv;

static void live_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	srv.pid = 0;
}

static void live_fini(void)
{
	if (srv.pid > 0) {
		int st = kvsd_stop(&srv, 20000);

		cr_expect(st == 0, "server exit status after SIGTERM: %d (want 0)", st);
	} else {
		kvsd_kill(&srv);
	}
}

TestSuite(live, .init = live_init, .fini = live_fini, .timeout = 120);

static void start_with(const char *const *args)
{
	int rc = kvsd_start(&srv, args);

	cr_assert(rc == 0, "kvsd_start: %s", strerror(-rc));
}

/* ------------------------------------------------------------------ helpers */

/* An integer after "name:" (or "name=" inside a worker line) in INFO, or -1. */
static long long info_ll(redisContext *c, const char *name)
{
	redisReply *r = HR_CMD(c, "INFO everything");
	long long v = -1;
	size_t n = strlen(name);

	HR_EXPECT_TYPE(r, REDIS_REPLY_STRING, "INFO");
	for (const char *p = r->str; (p = strstr(p, name)) != NULL; p += n) {
		if ((p == r->str || p[-1] == '\n' || p[-1] == ',' || p[-1] == ':') &&
		    (p[n] == ':' || p[n] == '=')) {
			v = atoll(p + n + 1);
			break;
		}
	}
	freeReplyObject(r);
	return v;
}

/* worker<idx>:tasks=N or steals=N from INFO kvsd. */
static long long worker_stat(redisContext *c, int idx, const char *what)
{
	redisReply *r = HR_CMD(c, "INFO kvsd");
	char key[32];
	const char *p;
	long long v = -1;

	HR_EXPECT_TYPE(r, REDIS_REPLY_STRING, "INFO kvsd");
	snprintf(key, sizeof(key), "worker%d:", idx);
	p = strstr(r->str, key);
	if (p) {
		const char *eol = strstr(p, "\r\n"), *f;
		char want[32];

		snprintf(want, sizeof(want), "%s=", what);
		f = strstr(p, want);
		if (f && (!eol || f < eol))
			v = atoll(f + strlen(want));
	}
	freeReplyObject(r);
	return v;
}

/* Worker idx's task count once it has stopped changing (unchanged over 50 ms, waiting at most
 * 2 s): a connection it owned that the test just closed is one more task on it, run when its
 * EOF arrives, which on a loaded machine can be after the caller's next sample. */
static long long settled_tasks(redisContext *c, int idx)
{
	long long a = worker_stat(c, idx, "tasks"), b;

	for (int i = 0; i < 40; i++) {
		usleep(50 * 1000);
		b = worker_stat(c, idx, "tasks");
		if (b == a)
			break;
		a = b;
	}
	return a;
}

/* The value CONFIG GET name returns (static buffer). */
static const char *config_get(redisContext *c, const char *name)
{
	static char buf[512];
	redisReply *r = HR_CMD(c, "CONFIG GET %s", name);

	HR_EXPECT_TYPE(r, REDIS_REPLY_ARRAY, "CONFIG GET");
	cr_assert(r->elements == 2, "CONFIG GET %s: %zu elements", name, r->elements);
	snprintf(buf, sizeof(buf), "%s", r->element[1]->str);
	freeReplyObject(r);
	return buf;
}

/* A raw connection to 127.0.0.1:port (or [::1] when v6), or -errno. rcvbuf > 0 shrinks the
 * client's receive buffer before connecting (a client that reads slowly). */
static int connect_to(int port, int v6, int rcvbuf)
{
	struct sockaddr_in sa4 = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -errno;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	rc = v6 ? connect(fd, (struct sockaddr *)&sa6, sizeof(sa6))
		: connect(fd, (struct sockaddr *)&sa4, sizeof(sa4));
	if (rc != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* 1 if a PING on a fresh connection to port answers +PONG. */
static int pong_on(int port, int v6)
{
	char buf[16];
	int closed, fd = connect_to(port, v6, 0), ok;

	if (fd < 0)
		return 0;
	ok = kvsd_raw_send(fd, "PING\r\n", 6) == 0 &&
	     kvsd_raw_recv(fd, buf, sizeof(buf), 7, 5000, &closed) == 7 &&
	     memcmp(buf, "+PONG\r\n", 7) == 0;
	close(fd);
	return ok;
}

/* Sends n copies of cmd on fd in one write. */
static void send_pipeline(int fd, const char *cmd, int n)
{
	size_t l = strlen(cmd);
	char *b = malloc(l * (size_t)n);

	cr_assert_not_null(b);
	for (int i = 0; i < n; i++)
		memcpy(b + l * (size_t)i, cmd, l);
	cr_assert(kvsd_raw_send(fd, b, l * (size_t)n) == 0);
	free(b);
}

/* omem of the client whose CLIENT LIST line has addr=...:lport, or -1. */
static long long client_omem(redisContext *c, int lport)
{
	redisReply *r = HR_CMD(c, "CLIENT LIST");
	char want[32];
	const char *p;
	long long v = -1;

	HR_EXPECT_TYPE(r, REDIS_REPLY_STRING, "CLIENT LIST");
	snprintf(want, sizeof(want), ":%d ", lport);
	p = strstr(r->str, want);
	if (p) {
		const char *o = strstr(p, " omem=");

		if (o)
			v = atoll(o + 6);
	}
	freeReplyObject(r);
	return v;
}

static int local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);

	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &l) == 0);
	return ntohs(sa.sin_port);
}

/* A client that asks for n GETs of `key` and never reads: its replies pile up in kvsd
 * (a small receive buffer keeps the kernel from absorbing them). Returns the socket. */
static int unread_client(const char *key, int n)
{
	char cmd[64];
	int fd = connect_to(srv.port, 0, 4096);

	cr_assert(fd >= 0, "connect: %s", strerror(-fd));
	snprintf(cmd, sizeof(cmd), "GET %s\r\n", key);
	send_pipeline(fd, cmd, n);
	return fd;
}

/* Waits (at most timeout_ms) until the client on lport has more than `over` bytes of
 * replies pending in kvsd; returns its omem. */
static long long wait_omem_over(redisContext *c, int lport, long long over, int timeout_ms)
{
	long long t0 = kvsd_now_ms(), v = -1;

	while (kvsd_now_ms() - t0 < timeout_ms) {
		v = client_omem(c, lport);
		if (v > over)
			break;
		kvsd_sleep_ms(50);
	}
	return v;
}

/* A value of n bytes stored at key. */
static void set_value(redisContext *c, const char *key, size_t n)
{
	char *v = malloc(n);

	cr_assert_not_null(v);
	memset(v, 'v', n);
	HR_OK(HR_CMD(c, "SET %s %b", key, v, n));
	free(v);
}

/* ------------------------------------------------------------ the coverage list */

/* Parameters whose effect a test in this file observes. */
static const char *const covered[] = {
    "hz",			 /* defect7_hz */
    "requirepass",		 /* defect7_requirepass */
    "tcp-keepalive",		 /* defect7_tcp_keepalive */
    "loglevel",			 /* defect7_loglevel */
    "proto-max-bulk-len",	 /* defect7_request_limits */
    "client-query-buffer-limit", /* defect7_request_limits */
    "maxmemory",		 /* defect7_maxmemory */
    "maxmemory-policy",		 /* defect7_maxmemory */
    "maxmemory-samples",	 /* defect7_maxmemory_samples */
    "active-expire-effort",	 /* defect7_active_expire_effort */
    "slowlog-log-slower-than",	 /* defect7_slowlog */
    "slowlog-max-len",		 /* defect7_slowlog */
    "work-stealing",		 /* defect7_scheduling */
    "conn-assign",		 /* defect7_scheduling */
    "run-budget-commands",	 /* defect7_scheduling */
    "client-output-pause-limit", /* defect7_output_pause_limit */
    "shutdown-timeout",		 /* defect7_shutdown_timeout */
    "bind",			 /* defect7_bind_and_port */
    "port",			 /* defect7_bind_and_port */
};

/* Settable parameters whose effect is observed elsewhere, or that cannot change. */
static const struct {
	const char *name, *where;
} elsewhere[] = {
    {"maxmemory-eviction-tenacity", "test_ops.py: check_eviction_policies (100: every "
				    "sample under the limit; 10: under it again once writes stop)"},
    {"timeout", "hiredis-config: config_set_timeout_runtime"},
    {"maxclients", "hiredis-config: config_set_maxclients_runtime, "
		   "defect11_maxclients_beyond_descriptors_refused"},
    {"client-output-buffer-limit", "hiredis-config: defect11_reply_over_hard_limit_is_not_"
				   "delivered"},
    {"save", "test_diff_rdb.py: a rule fires a BGSAVE; CONFIG SET/GET vs redis"},
    {"rdbcompression", "test_diff_rdb.py: kvsd's files with it yes and no load in redis"},
    {"stop-writes-on-bgsave-error", "test_diff_rdb.py: -MISCONF after a failed BGSAVE vs redis"},
    {"appendonly", "test_aof_switch.py: switched on and off under writes, then reloaded"},
    {"appendfsync", "test_aof.py: runtime (CONFIG SET always, then kill -9 loses nothing)"},
    {"aof-group-wait-us", "test_aof.py group-wait: CONFIG SET 0 at run time, no batch waits"},
    {"aof-load-truncated", "read at each start-up's load: test_aof.py truncated (yes / no)"},
    {"key-load-delay", "read at each start-up's load: test_loading.py (-LOADING while it lasts)"},
    {"rdb-key-save-delay", "read at each save: test_aof_switch.py (a rewrite in progress)"},
    {"loading-process-events-interval-bytes",
     "read at each start-up's load: test_loading.py (loading_loaded_bytes advances)"},
    {"auto-aof-rewrite-percentage", "test_aof.py auto-rewrite: set at run time, a rewrite follows"},
    {"auto-aof-rewrite-min-size", "test_aof.py auto-rewrite: set at run time, a rewrite follows"},
    {"aof-use-rdb-preamble", "test_aof.py preamble: a command-form base, loaded both ways"},
    {"rdb-save-incremental-fsync", "test_diff_rdb.py incremental fsync: chunks synced yes/no"},
    {"aof-rewrite-incremental-fsync", "test_diff_rdb.py incremental fsync: the AOF base's chunks"},
    {"lazyfree-lazy-eviction", "DEL or UNLINK for an evicted key: test_diff_aof.py eviction"},
    {"lazyfree-lazy-expire", "DEL or UNLINK for an expired key: test_diff_aof.py expiry"},
    {"lazyfree-lazy-server-del", "accepted: kvsd frees in the background either way"},
    {"lazyfree-lazy-user-del", "accepted; DEL still logged as DEL: test_diff_aof.py expiry"},
    {"lazyfree-lazy-user-flush", "FLUSH* without an option frees in the background: "
				 "not visible in replies"},
    /* Protected mode refuses non-loopback peers; the tests use loopback addresses only,
     * which it never refuses. Its apply function is the one requirepass shares. */
    {"protected-mode", "needs a non-loopback client (tests use loopback only)"},
    /* issue 12: the differential tests observe each against redis-server */
    {"hll-sparse-max-bytes", "test_diff_hll.py: sec_config (encodings and bytes vs redis)"},
    {"latency-monitor-threshold", "diff-obs: sec_latency (a KEYS spike in LATENCY LATEST)"},
    {"latency-tracking", "diff-obs: sec_latency (INFO latencystats empty when no)"},
    {"latency-tracking-info-percentiles", "diff-obs: sec_latency (INFO latencystats fields)"},
    /* issue 13: OBJECT ENCODING right after CONFIG SET, against redis-server */
    {"hash-max-listpack-entries", "diff-keyspace-types: sec_config (OBJECT ENCODING at once)"},
    {"hash-max-listpack-value", "diff-keyspace-types: sec_config (OBJECT ENCODING at once)"},
    {"set-max-intset-entries", "diff-keyspace-types: sec_config (OBJECT ENCODING at once)"},
    {"zset-max-listpack-entries", "diff-keyspace-types: sec_config (OBJECT ENCODING at once)"},
    {"zset-max-listpack-value", "diff-keyspace-types: sec_config (OBJECT ENCODING at once)"},
    {"hash-max-ziplist-entries", "alias of hash-max-listpack-entries (diff-keyspace-types)"},
    {"hash-max-ziplist-value", "alias of hash-max-listpack-value (diff-keyspace-types)"},
    {"zset-max-ziplist-entries", "alias of zset-max-listpack-entries (diff-keyspace-types)"},
    {"zset-max-ziplist-value", "alias of zset-max-listpack-value (diff-keyspace-types)"},
    /* issue 14: every Redis 7.0 list answers OBJECT ENCODING quicklist, so the node size
     * shows in kvsd's MEMORY USAGE (packed blob vs tree) and the depth in DEBUG OBJECT */
    {"list-max-listpack-size", "diff-list: sec_config_effects (MEMORY USAGE at once)"},
    {"list-max-ziplist-size", "alias of list-max-listpack-size (diff-list)"},
    {"list-compress-depth", "diff-list: sec_config_effects (DEBUG OBJECT ql_compressed vs redis)"},
    /* issue 16: -BUSY after the threshold, SCRIPT KILL, against redis-server */
    {"busy-reply-threshold", "script-busy: CONFIG SET 100, then -BUSY (test_script_busy.py)"},
    {"lua-time-limit", "alias of busy-reply-threshold (script-busy reads it back)"},
    /* issue 17: keyspace notifications, event streams compared with redis-server */
    {"notify-keyspace-events", "notify: CONFIG SET flag sets, events vs redis (test_notify.py)"},
    {"tracking-table-max-keys", "diff-tracking: sec_max_keys (CONFIG SET 2, then evictions)"},
    /* issue 15: the share of a saturated core lent to a BGSAVE / AOF rewrite thread */
    {"bgsave-cpu-percent", "saver-starved: CONFIG SET 25, then 50 for the AOF rewrite, each "
			   "save's CPU share checked (test_saver_starved.py)"},
    {"bgsave-cpu-slice-us", "saver-starved: CONFIG SET 1000 for the AOF rewrite, its loans' "
			    "asked lengths checked (test_saver_starved.py)"},
    /* issue 19: a worker's nap before it waits, at pipeline 1 */
    {"worker-nap-us", "uring: nap_checks (CONFIG SET 0 stops INFO kvsd worker0 naps; many "
		      "clients nap, a lone one never does: test_uring.py)"},
    /* issue 14: the nap, after passes of pipelining connections only */
    {"worker-pipeline-nap-us", "uring: pipeline_nap_checks (a pass of pipelining clients "
			       "naps, one of pipeline-1 clients does not, CONFIG SET 0 stops "
			       "it: test_uring.py)"},
};

static int listed(const char *name)
{
	for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++)
		if (strcasecmp(covered[i], name) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
		if (strcasecmp(elsewhere[i].name, name) == 0)
			return 1;
	return 0;
}

Test(live, defect7_every_settable_key_is_covered)
{
	redisContext *c;
	redisReply *all;
	int settable = 0;

	start_with(NULL);
	if (srv.is_redis)
		cr_skip_test("kvsd's parameter list");
	c = HR_CONNECT(&srv);
	all = HR_CMD(c, "CONFIG GET *");
	HR_EXPECT_TYPE(all, REDIS_REPLY_ARRAY, "CONFIG GET *");
	for (size_t i = 0; i + 1 < all->elements; i += 2) {
		const char *name = all->element[i]->str, *val = all->element[i + 1]->str;
		/* Setting the value it has: accepted exactly when the parameter is settable. */
		redisReply *r = HR_CMD(c, "CONFIG SET %s %s", name, val);

		if (r->type == REDIS_REPLY_STATUS) {
			settable++;
			cr_expect(listed(name),
				  "'%s' can be set at run time but no test observes its effect",
				  name);
		} else {
			cr_expect(r->type == REDIS_REPLY_ERROR &&
				      (strstr(r->str, "can't set immutable config") ||
				       strstr(r->str, "can't set protected config")),
				  "CONFIG SET %s '%s' (its own value): %s", name, val, hr_show(r));
			cr_expect(!listed(name), "'%s' is listed as settable but is not", name);
		}
		freeReplyObject(r);
	}
	freeReplyObject(all);
	cr_expect(settable == (int)(sizeof(covered) / sizeof(covered[0]) +
				    sizeof(elsewhere) / sizeof(elsewhere[0])),
		  "%d settable parameters; the lists name %zu", settable,
		  sizeof(covered) / sizeof(covered[0]) + sizeof(elsewhere) / sizeof(elsewhere[0]));
	redisFree(c);
}

/* ------------------------------------------------------------------ the tests */

/* The defect itself: the cron's interval follows hz at once (expire_cycles counts worker 0's
 * cron runs while a key has a TTL). */
Test(live, defect7_hz)
{
	redisContext *c;
	long long a, b;

	start_with((const char *[]){"--hz", "1", NULL});
	c = HR_CONNECT(&srv);
	HR_OK(HR_CMD(c, "SET ttl v EX 100000"));
	if (srv.is_redis) { /* no cron counter in Redis's INFO: its hz field at least */
		HR_OK(HR_CMD(c, "CONFIG SET hz 100"));
		cr_expect_eq(info_ll(c, "hz"), 100);
		redisFree(c);
		return;
	}
	a = info_ll(c, "expire_cycles");
	kvsd_sleep_ms(2000);
	b = info_ll(c, "expire_cycles");
	cr_expect(b - a <= 4, "hz 1: %lld cron runs in 2 s", b - a);
	HR_OK(HR_CMD(c, "CONFIG SET hz 100"));
	cr_expect_eq(info_ll(c, "hz"), 100);
	a = info_ll(c, "expire_cycles");
	kvsd_sleep_ms(1000);
	b = info_ll(c, "expire_cycles");
	cr_expect(b - a >= 20, "hz 100: only %lld cron runs in 1 s (the start-up interval?)",
		  b - a);
	HR_OK(HR_CMD(c, "CONFIG SET hz 1"));
	kvsd_sleep_ms(100);
	a = info_ll(c, "expire_cycles");
	kvsd_sleep_ms(2000);
	b = info_ll(c, "expire_cycles");
	cr_expect(b - a <= 4, "back to hz 1: %lld cron runs in 2 s", b - a);
	redisFree(c);
}

Test(live, defect7_requirepass)
{
	redisContext *c, *d;

	start_with(NULL);
	c = HR_CONNECT(&srv);
	HR_OK(HR_CMD(c, "CONFIG SET requirepass s3cret"));
	HR_STATUS(HR_CMD(c, "PING"), "PONG"); /* connections already in keep their access */
	d = HR_CONNECT(&srv);
	HR_ERR(HR_CMD(d, "PING"), "NOAUTH Authentication required.");
	HR_OK(HR_CMD(d, "AUTH s3cret"));
	HR_STATUS(HR_CMD(d, "PING"), "PONG");
	redisFree(d);
	HR_OK(HR_CMD(c, "CONFIG SET requirepass %s", ""));
	d = HR_CONNECT(&srv);
	HR_STATUS(HR_CMD(d, "PING"), "PONG");
	redisFree(d);
	redisFree(c);
}

/* Whether the server's side of the connection from lport has a keepalive timer (ss -o). */
static int server_keepalive(int lport, int *known)
{
	char cmd[256], line[512];
	int ka = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "ss -tnoH state established '( sport = :%d and dport = :%d )' 2>/dev/null",
		 srv.port, lport);
	p = popen(cmd, "r");
	*known = 0;
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		*known = 1;
		ka |= strstr(line, "keepalive") != NULL;
	}
	pclose(p);
	return ka;
}

Test(live, defect7_tcp_keepalive)
{
	redisContext *c;
	int fd, known, ka;

	start_with(NULL);
	c = HR_CONNECT(&srv);
	HR_OK(HR_CMD(c, "CONFIG SET tcp-keepalive 0"));
	fd = connect_to(srv.port, 0, 0);
	cr_assert(fd >= 0);
	cr_assert(pong_on(srv.port, 0));
	ka = server_keepalive(local_port(fd), &known);
	if (!known) {
		close(fd);
		redisFree(c);
		cr_skip_test("ss(8) cannot show the server's sockets here");
	}
	cr_expect(!ka, "tcp-keepalive 0: the new connection has a keepalive timer");
	close(fd);
	HR_OK(HR_CMD(c, "CONFIG SET tcp-keepalive 120"));
	fd = connect_to(srv.port, 0, 0);
	cr_assert(fd >= 0);
	cr_assert(kvsd_raw_send(fd, "PING\r\n", 6) == 0);
	{
		char buf[16];
		int closed;

		kvsd_raw_recv(fd, buf, sizeof(buf), 7, 5000, &closed);
	}
	ka = server_keepalive(local_port(fd), &known);
	cr_expect(known && ka, "tcp-keepalive 120: the new connection has no keepalive timer");
	close(fd);
	redisFree(c);
}

/* loglevel: SHUTDOWN's request is logged at verbose; kvsd_proc starts servers at warning. */
static int shutdown_logs_request(const char *level)
{
	static char out[1 << 16];
	redisContext *c;
	redisReply *r;

	start_with(NULL);
	c = HR_CONNECT(&srv);
	if (level)
		HR_OK(HR_CMD(c, "CONFIG SET loglevel %s", level));
	r = redisCommand(c, "SHUTDOWN NOSAVE"); /* no reply: the server exits */
	if (r)
		freeReplyObject(r);
	redisFree(c);
	cr_assert(kvsd_wait(&srv, 15000) == 0, "SHUTDOWN: exit status %d", srv.status);
	kvsd_log(&srv, out, sizeof(out));
	kvsd_kill(&srv); /* reaped already: removes the log */
	return strstr(out, "shutdown requested") != NULL;
}

Test(live, defect7_loglevel)
{
	if (kvsd_bin_is_redis())
		cr_skip_test("kvsd's log lines");
	cr_expect(!shutdown_logs_request(NULL), "at loglevel warning a verbose line was logged");
	cr_expect(shutdown_logs_request("verbose"), "CONFIG SET loglevel verbose: not applied");
}

Test(live, defect7_request_limits)
{
	static const char hdr[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2097152\r\n";
	redisContext *c;
	char buf[256];
	int fd, closed;

	start_with(NULL);
	c = HR_CONNECT(&srv);
	/* proto-max-bulk-len: a 2 MB bulk is refused under 1mb, accepted under 4mb. */
	HR_OK(HR_CMD(c, "CONFIG SET proto-max-bulk-len 1mb"));
	fd = connect_to(srv.port, 0, 0);
	cr_assert(kvsd_raw_send(fd, hdr, strlen(hdr)) == 0);
	kvsd_raw_recv(fd, buf, sizeof(buf), 42, 5000, &closed);
	cr_expect_str_eq(buf, "-ERR Protocol error: invalid bulk length\r\n");
	close(fd);
	HR_OK(HR_CMD(c, "CONFIG SET proto-max-bulk-len 4mb"));
	set_value(c, "k", 2u << 20);
	HR_INT(HR_CMD(c, "STRLEN k"), 2 << 20);

	/* client-query-buffer-limit: 3 MB of unterminated input closes the client under 1mb. */
	HR_OK(HR_CMD(c, "CONFIG SET client-query-buffer-limit 1mb"));
	fd = connect_to(srv.port, 0, 0);
	{
		static char chunk[65536];
		long long t0 = kvsd_now_ms();

		memset(chunk, 'a', sizeof(chunk));
		for (int i = 0; i < 48 && kvsd_raw_send(fd, chunk, sizeof(chunk)) == 0; i++)
			;
		closed = 0;
		while (!closed && kvsd_now_ms() - t0 < 5000)
			kvsd_raw_recv(fd, buf, sizeof(buf), sizeof(buf) - 1, 500, &closed);
		cr_expect(closed, "3 MB of input over a 1mb client-query-buffer-limit: not closed");
	}
	close(fd);
	HR_STATUS(HR_CMD(c, "PING"), "PONG");
	redisFree(c);
}

Test(live, defect7_maxmemory)
{
	redisContext *c;
	redisReply *r;
	int oom = 0, ok = 0;

	start_with(NULL);
	c = HR_CONNECT(&srv);
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory 1"));
	HR_ERR(HR_CMD(c, "SET k x"), "OOM command not allowed when used memory > 'maxmemory'.");
	/* 1 MB of room, then 2 MB of writes: refused under noeviction, evicted under
	 * allkeys-random */
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory %lld", info_ll(c, "used_memory") + (1 << 20)));
	for (int i = 0; i < 2000; i++) {
		r = HR_CMD(c, "SET a%d %b", i, (char[1024]){0}, (size_t)1024);
		oom += r->type == REDIS_REPLY_ERROR;
		freeReplyObject(r);
	}
	cr_expect(oom > 0, "maxmemory with noeviction: 2 MB of writes into 1 MB all accepted");
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory-policy allkeys-random"));
	for (int i = 0; i < 2000; i++) {
		r = HR_CMD(c, "SET b%d %b", i, (char[1024]){0}, (size_t)1024);
		ok += r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	cr_expect(ok == 2000, "allkeys-random: %d of 2000 writes accepted", ok);
	cr_expect(info_ll(c, "evicted_keys") > 0, "allkeys-random evicted nothing");
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory 0"));
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory-policy noeviction"));
	redisFree(c);
}

/*
 * maxmemory-samples: under volatile-lru kvsd samples random keys (ten tries each for one
 * with a TTL) `samples` times per round, 8 rounds. With 40 keys with a TTL among 40,000,
 * one sample per round finds none 92% of the time (the write is refused with -OOM), 64 find
 * one 99% of the time. Twenty writes at 1 (a handful succeed), then at 64 (one of three
 * must): failures by chance are below 1e-4.
 */
Test(live, defect7_maxmemory_samples)
{
	enum { KEYS = 40000, VOLATILE = 40 };
	redisContext *c;
	redisReply *r;
	int ok1 = 0, ok64 = 0;

	start_with((const char *[]){"--maxmemory-policy", "volatile-lru", NULL});
	if (srv.is_redis)
		cr_skip_test("Redis samples its expires dictionary: always finds one");
	c = HR_CONNECT(&srv);
	r = HR_CMD(c, "INFO kvsd");
	if (strstr(r->str, "map:urcu")) {
		freeReplyObject(r);
		redisFree(c);
		cr_skip_test("the urcu map samples only its first entries");
	}
	freeReplyObject(r);
	for (int i = 0; i < KEYS; i++) {
		if (i % (KEYS / VOLATILE) == 0)
			redisAppendCommand(c, "SET k%d v EX 100000", i);
		else
			redisAppendCommand(c, "SET k%d v", i);
	}
	for (int i = 0; i < KEYS; i++) {
		cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
		freeReplyObject(r);
	}
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory-samples 1"));
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory 1"));
	for (int i = 0; i < 20; i++) {
		r = HR_CMD(c, "SET new%d v", i);
		ok1 += r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory-samples 64"));
	for (int i = 0; i < 3 && !ok64; i++) {
		r = HR_CMD(c, "SET big%d v", i);
		ok64 += r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	cr_log_info("writes that found a volatile key: %d/20 with 1 sample, %d with 64", ok1, ok64);
	cr_expect(ok1 <= 8, "maxmemory-samples 1 found a volatile key %d times of 20", ok1);
	cr_expect(ok64 == 1, "maxmemory-samples 64 found no volatile key in 3 writes");
	HR_OK(HR_CMD(c, "CONFIG SET maxmemory 0"));
	redisFree(c);
}

/*
 * active-expire-effort: with 2,300 expired keys among 32,300 with a TTL (7%), effort 1 stops
 * a cycle after a loop (about 20 keys) that found at most 10% expired: about two keys per
 * cycle; effort 10 goes on while a loop (65 keys) finds more than 1%, that is any: many
 * loops per cycle. Counted per cycle, so the machine's speed does not matter; hz 2 gives
 * each cycle a CPU budget (215 ms at effort 10) that even a loaded machine does not exhaust.
 */
static double expired_per_cycle(redisContext *c, int cycles)
{
	long long c0 = info_ll(c, "expire_cycles"), e0 = info_ll(c, "expired_keys"), c1, e1;
	long long t0 = kvsd_now_ms();

	do {
		kvsd_sleep_ms(50);
		c1 = info_ll(c, "expire_cycles");
	} while (c1 - c0 < cycles && kvsd_now_ms() - t0 < 20000);
	e1 = info_ll(c, "expired_keys");
	cr_assert(c1 > c0, "no expiry cycle ran");
	return (double)(e1 - e0) / (double)(c1 - c0);
}

Test(live, defect7_active_expire_effort)
{
	enum { LONG = 30000, SHORT = 2300 };
	redisContext *c;
	redisReply *r;
	double r1, r10;

	start_with((const char *[]){"--hz", "2", NULL});
	if (srv.is_redis)
		cr_skip_test("kvsd's expire_cycles");
	c = HR_CONNECT(&srv);
	for (int i = 0; i < LONG + SHORT; i++) {
		if (i % ((LONG + SHORT) / SHORT) == 0)
			redisAppendCommand(c, "SET s%d v PX 1", i);
		else
			redisAppendCommand(c, "SET l%d v EX 100000", i);
	}
	for (int i = 0; i < LONG + SHORT; i++) {
		cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK);
		freeReplyObject(r);
	}
	kvsd_sleep_ms(20); /* the PX 1 keys are expired now; nothing reads them */
	r1 = expired_per_cycle(c, 4);
	HR_OK(HR_CMD(c, "CONFIG SET active-expire-effort 10"));
	r10 = expired_per_cycle(c, 3);
	cr_log_info("expired keys per cycle: effort 1 %.1f, effort 10 %.1f", r1, r10);
	cr_expect(r1 < 10, "effort 1: %.1f keys expired per cycle", r1);
	cr_expect(r10 > 10 && r10 > 4 * r1, "effort 10: %.1f keys per cycle (effort 1: %.1f)", r10,
		  r1);
	redisFree(c);
}

Test(live, defect7_slowlog)
{
	redisContext *c;

	start_with(NULL);
	c = HR_CONNECT(&srv);
	HR_OK(HR_CMD(c, "CONFIG SET slowlog-log-slower-than 0"));
	HR_OK(HR_CMD(c, "SLOWLOG RESET"));
	for (int i = 0; i < 5; i++)
		HR_STATUS(HR_CMD(c, "PING"), "PONG");
	{
		redisReply *r = HR_CMD(c, "SLOWLOG LEN");

		HR_EXPECT_TYPE(r, REDIS_REPLY_INTEGER, "SLOWLOG LEN");
		cr_expect(r->integer >= 5, "slowlog-log-slower-than 0: %lld entries", r->integer);
		freeReplyObject(r);
	}
	HR_OK(HR_CMD(c, "CONFIG SET slowlog-max-len 2"));
	HR_STATUS(HR_CMD(c, "PING"), "PONG");
	HR_INT(HR_CMD(c, "SLOWLOG LEN"), 2);
	HR_OK(HR_CMD(c, "CONFIG SET slowlog-log-slower-than -1"));
	HR_OK(HR_CMD(c, "SLOWLOG RESET"));
	HR_STATUS(HR_CMD(c, "PING"), "PONG");
	HR_INT(HR_CMD(c, "SLOWLOG LEN"), 0);
	redisFree(c);
}

/*
 * The scheduler's parameters, through INFO's per-worker task counts (two workers, stealing
 * off unless said): conn-assign decides which worker runs a new connection, work-stealing
 * whether the other runs it too, run-budget-commands how many commands one run takes.
 */
/* Load for the scheduler checks: four new connections (all on worker 0 under conn-assign
 * single) each pipeline 500 PINGs; returns when every reply arrived. */
static void load_worker0(void)
{
	int fds[4];

	for (int k = 0; k < 4; k++) {
		fds[k] = connect_to(srv.port, 0, 0);
		send_pipeline(fds[k], "PING\r\n", 500);
	}
	for (int k = 0; k < 4; k++) {
		static char buf[3100];
		int closed;

		kvsd_raw_recv(fds[k], buf, sizeof(buf), 3000, 5000, &closed);
		close(fds[k]);
	}
}

Test(live, defect7_scheduling)
{
	redisContext *ctl, *d, *e;
	long long w1, w0, steals, guest;
	int fd;

	if (kvsd_bin_is_redis())
		cr_skip_test("kvsd's scheduler");
	start_with((const char *[]){"--threads", "2", NULL});
	ctl = HR_CONNECT(&srv);
	HR_OK(HR_CMD(ctl, "CONFIG SET work-stealing no"));
	HR_OK(HR_CMD(ctl, "CONFIG SET conn-assign single"));
	redisFree(ctl);
	ctl = HR_CONNECT(&srv); /* on worker 0 now, like every new connection */
	/* the old connections' last runs (their close) are done once only ctl is left */
	for (long long t0 = kvsd_now_ms(); kvsd_now_ms() - t0 < 10000; kvsd_sleep_ms(20))
		if (info_ll(ctl, "connected_clients") == 1)
			break;
	cr_assert_eq(info_ll(ctl, "connected_clients"), 1);

	/* single: a new connection's commands all run on worker 0 */
	w1 = worker_stat(ctl, 1, "tasks");
	d = HR_CONNECT(&srv);
	for (int i = 0; i < 20; i++)
		HR_STATUS(HR_CMD(d, "PING"), "PONG");
	cr_expect_eq(worker_stat(ctl, 1, "tasks"), w1, "conn-assign single: worker 1 ran tasks");

	/* round-robin: of two new connections, one is worker 1's */
	HR_OK(HR_CMD(ctl, "CONFIG SET conn-assign round-robin"));
	e = HR_CONNECT(&srv);
	redisFree(d);
	d = HR_CONNECT(&srv);
	HR_STATUS(HR_CMD(d, "PING"), "PONG");
	HR_STATUS(HR_CMD(e, "PING"), "PONG");
	cr_expect(worker_stat(ctl, 1, "tasks") > w1, "conn-assign round-robin: worker 1 idle");
	redisFree(d);
	redisFree(e);

	/* run-budget-commands: 200 pipelined PINGs take >= 150 runs at 1, a few at 1000 */
	HR_OK(HR_CMD(ctl, "CONFIG SET conn-assign single"));
	for (int budget = 1; budget <= 1000; budget *= 1000) {
		char buf[1500];
		int closed;

		HR_OK(HR_CMD(ctl, "CONFIG SET run-budget-commands %d", budget));
		w0 = worker_stat(ctl, 0, "tasks");
		fd = connect_to(srv.port, 0, 0);
		send_pipeline(fd, "PING\r\n", 200);
		cr_assert(kvsd_raw_recv(fd, buf, sizeof(buf), 1400, 5000, &closed) == 1400);
		close(fd);
		w0 = worker_stat(ctl, 0, "tasks") - w0;
		if (budget == 1)
			cr_expect(w0 >= 150, "run-budget-commands 1: 200 commands in %lld runs",
				  w0);
		else
			cr_expect(w0 <= 50, "run-budget-commands 1000: 200 commands in %lld runs",
				  w0);
	}
	HR_OK(HR_CMD(ctl, "CONFIG SET run-budget-commands 64"));

	/* work-stealing: off, worker 1 takes nothing from worker 0 under load; on, it steals
	 * (whether it does within a round depends on timing: up to 30 rounds) */
	steals = worker_stat(ctl, 1, "steals");
	w1 = settled_tasks(ctl, 1); /* the close of d or e (round-robin above) may be on its way */
	guest = worker_stat(ctl, 1, "guest_polls");
	for (int round = 0; round < 3; round++)
		load_worker0();
	cr_expect_eq(worker_stat(ctl, 1, "steals"), steals, "work-stealing no: worker 1 stole");
	/* Without stealing, worker 1 runs worker 0's tasks only by guest-polling its loop when
	 * worker 0 was inside one task for a while (net/worker.c; slow builds get there) */
	cr_expect(worker_stat(ctl, 1, "tasks") == w1 || worker_stat(ctl, 1, "guest_polls") > guest,
		  "work-stealing no: worker 1 ran tasks without stealing or guest-polling");
	HR_OK(HR_CMD(ctl, "CONFIG SET work-stealing yes"));
	for (int round = 0; round < 30 && worker_stat(ctl, 1, "steals") == steals; round++)
		load_worker0();
	cr_expect(worker_stat(ctl, 1, "steals") > steals,
		  "work-stealing yes: worker 1 never stole");
	redisFree(ctl);
}

/* client-output-pause-limit: a client that never reads its replies has them pile up in kvsd
 * without the limit, and at most the limit plus one reply with it. */
Test(live, defect7_output_pause_limit)
{
	redisContext *c;
	long long omem;
	int fd;

	start_with(NULL);
	if (srv.is_redis)
		cr_skip_test("kvsd's client-output-pause-limit");
	c = HR_CONNECT(&srv);
	set_value(c, "v", 100000);
	HR_OK(HR_CMD(c, "CONFIG SET client-output-pause-limit 0"));
	fd = unread_client("v", 400); /* 40 MB of replies */
	omem = wait_omem_over(c, local_port(fd), 8 << 20, 10000);
	cr_expect(omem > 8 << 20, "no pause limit: only %lld bytes pending", omem);
	close(fd);
	HR_OK(HR_CMD(c, "CONFIG SET client-output-pause-limit 256kb"));
	fd = unread_client("v", 400);
	kvsd_sleep_ms(500);
	omem = wait_omem_over(c, local_port(fd), 400000, 1000);
	cr_expect(omem >= 0 && omem <= 262144 + 100000 + 64,
		  "client-output-pause-limit 256kb: %lld bytes pending", omem);
	close(fd);
	redisFree(c);
}

/* shutdown-timeout: SIGTERM waits at most this long for a client that does not read. */
Test(live, defect7_shutdown_timeout)
{
	redisContext *c;
	long long t0, ms;
	int fd, st;

	start_with(NULL);
	if (srv.is_redis)
		cr_skip_test("kvsd's shutdown drain");
	c = HR_CONNECT(&srv);
	set_value(c, "v", 100000);
	HR_OK(HR_CMD(c, "CONFIG SET client-output-pause-limit 0"));
	fd = unread_client("v", 400);
	cr_assert(wait_omem_over(c, local_port(fd), 8 << 20, 10000) > 8 << 20);
	HR_OK(HR_CMD(c, "CONFIG SET shutdown-timeout 1")); /* the default is 10 */
	redisFree(c);
	t0 = kvsd_now_ms();
	kill(srv.pid, SIGTERM);
	st = kvsd_wait(&srv, 8000);
	ms = kvsd_now_ms() - t0;
	close(fd);
	cr_expect(st == 0, "exit status %d after %lld ms (shutdown-timeout 1)", st, ms);
	cr_expect(ms >= 900 && ms < 6000, "shutdown-timeout 1: exited after %lld ms", ms);
}

/* bind and port (mutable in Redis 7.0): the server listens where it is told, at once. */
Test(live, defect7_bind_and_port)
{
	redisContext *c;
	int old = 0, p2, held, v6;
	char want[512];

	start_with(NULL);
	c = HR_CONNECT(&srv);
	old = srv.port;
	p2 = kvsd_free_port();
	cr_assert(p2 > 0);
	HR_OK(HR_CMD(c, "CONFIG SET port %d", p2));
	cr_expect(pong_on(p2, 0), "CONFIG SET port %d: nothing answers there", p2);
	cr_expect(!pong_on(old, 0), "CONFIG SET port: the old port %d still answers", old);
	cr_expect_eq(info_ll(c, "tcp_port"), p2);
	srv.port = p2;			      /* for kvsd_connect and friends */
	HR_STATUS(HR_CMD(c, "PING"), "PONG"); /* connections already in stay */

	/* A port someone else holds: refused, and the server keeps listening where it was. */
	held = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t l = sizeof(sa);

		cr_assert(bind(held, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			  listen(held, 1) == 0);
		cr_assert(getsockname(held, (struct sockaddr *)&sa, &l) == 0);
		HR_ERR(HR_CMD(c, "CONFIG SET port %d", ntohs(sa.sin_port)),
		       "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to "
		       "listen "
		       "on this port. Check server logs.");
	}
	close(held);
	snprintf(want, sizeof(want), "%d", p2);
	cr_expect_str_eq(config_get(c, "port"), want);
	cr_expect(pong_on(p2, 0), "after a refused port the server stopped listening");

	/* bind: an address that is not ours is refused, the old addresses keep working */
	HR_ERR(HR_CMD(c, "CONFIG SET bind 192.0.2.1"),
	       "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to "
	       "specified addresses.");
	cr_expect_str_eq(config_get(c, "bind"), "127.0.0.1");
	cr_expect(pong_on(p2, 0), "after a refused bind the server stopped listening");
	v6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v6 >= 0) {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT};

		if (bind(v6, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(v6);
			v6 = -1;
		} else {
			close(v6);
		}
	}
	if (v6 >= 0) { /* ::1 exists here */
		cr_expect(!pong_on(p2, 1), "::1 answers before it is bound");
		HR_OK(HR_CMD(c, "CONFIG SET bind %s", "127.0.0.1 ::1"));
		cr_expect(pong_on(p2, 1), "CONFIG SET bind '127.0.0.1 ::1': ::1 does not answer");
		cr_expect(pong_on(p2, 0), "CONFIG SET bind '127.0.0.1 ::1': 127.0.0.1 does not");
		HR_OK(HR_CMD(c, "CONFIG SET bind 127.0.0.1"));
		cr_expect(!pong_on(p2, 1), "CONFIG SET bind 127.0.0.1: ::1 still answers");
	}
	cr_expect(pong_on(p2, 0), "CONFIG SET bind 127.0.0.1: nothing answers");
	redisFree(c);
}
