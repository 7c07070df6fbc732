/*
 * stress_client_list.c — CLIENT LIST / CLIENT INFO while the connections they describe run
 * commands on other workers (issue 10, defect 6: conn_describe() read another worker's
 * connection fields — last command, protocol, db, name, buffer sizes — without
 * synchronisation).
 *
 * A plain executable (Criterion aborts under TSan) that starts a real kvsd ($KVSD_BIN) with
 * three workers, so that the connections below land on different workers, and runs for
 * --seconds S (default 3):
 *  - listers: CLIENT LIST, CLIENT LIST ID <ids>, CLIENT INFO in a loop; every line must
 *    have Redis 7.0's fields in Redis's order with sane values (a known command name, resp 2
 *    or 3, db 0, a name that some client set, whole);
 *  - sessions: CLIENT SETNAME with names of changing length, HELLO 3, HELLO 2 SETNAME,
 *    SELECT 0, RESET, MULTI/EXEC, CLIENT INFO on themselves — every field CLIENT LIST shows
 *    changes under the listers' feet;
 *  - loaders: pipelines of SET/GET/APPEND/MGET/INCR with values from 10 bytes to 200 KB, so
 *    the query and reply buffer sizes and the last command keep changing;
 *  - churn: connect, PING, close, so the registry changes while it is walked.
 * RESP3 replies (HELLO 3) are read with net/'s reply parser, over plain sockets.
 * Under ThreadSanitizer the server is instrumented too: it runs with exitcode=66, and its
 * output is searched for reports. At the end: SIGTERM, exit status 0. Prints one summary line;
 * exits 1 with a message on the first violation.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvsd_proc.h"
#include "net/resp.h"

#define CL_LISTERS  2
#define CL_SESSIONS 3
#define CL_LOADERS  2
#define CL_BIG	    (200 * 1024)

static struct kvsd_proc cl_srv;
static long long cl_deadline_ms;
/* listers, sessions and loaders keep their connections until all of them have stopped, so
 * every listing taken while running shows them all */
static pthread_barrier_t cl_done;

static atomic_int cl_failed;
/* sessions and loaders whose connection the server has answered once (so it is registered and
 * every listing must show it); relaxed: main only counts them, nothing is published */
static atomic_int cl_ready;
static pthread_mutex_t cl_fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char cl_fail_msg[2048]; /* under cl_fail_lock */

static void cl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void cl_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&cl_fail_lock);
	if (!cl_fail_msg[0]) {
		va_start(ap, fmt);
		vsnprintf(cl_fail_msg, sizeof(cl_fail_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&cl_fail_lock);
	/* relaxed: a stop flag; the message is published by cl_fail_lock */
	atomic_store_explicit(&cl_failed, 1, memory_order_relaxed);
}

static int cl_running(void)
{
	/* relaxed: see cl_fail() */
	return !atomic_load_explicit(&cl_failed, memory_order_relaxed) &&
	       kvsd_now_ms() < cl_deadline_ms;
}

/* ---- a minimal RESP2/RESP3 client over a blocking socket ---------------- */

struct cl_conn {
	int fd;
	char *in;
	size_t len, cap;
	struct resp_reply rp;
	char *out;
	size_t olen, ocap;
};

static int cl_open(struct cl_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = kvsd_raw_connect(&cl_srv);
	if (c->fd < 0) {
		cl_fail("connect: %s", strerror(-c->fd));
		return -1;
	}
	resp_reply_init(&c->rp);
	return 0;
}

static void cl_close(struct cl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	c->fd = -1;
	c->in = c->out = NULL;
}

static void cl_put(struct cl_conn *c, const void *p, size_t n)
{
	if (c->olen + n > c->ocap) {
		c->ocap = (c->olen + n) * 2;
		c->out = realloc(c->out, c->ocap);
		if (c->out == NULL)
			abort();
	}
	memcpy(c->out + c->olen, p, n);
	c->olen += n;
}

/* Appends one command; arguments are NUL-terminated strings except a NULL, which stands
 * for `biglen` bytes of filler. */
static void cl_append(struct cl_conn *c, size_t biglen, int argc, const char *const *argv)
{
	char hdr[32];

	cl_put(c, hdr, (size_t)snprintf(hdr, sizeof(hdr), "*%d\r\n", argc));
	for (int i = 0; i < argc; i++) {
		size_t n = argv[i] ? strlen(argv[i]) : biglen;

		cl_put(c, hdr, (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", n));
		if (argv[i]) {
			cl_put(c, argv[i], n);
		} else {
			while (c->olen + n > c->ocap) {
				c->ocap = (c->olen + n) * 2;
				c->out = realloc(c->out, c->ocap);
				if (c->out == NULL)
					abort();
			}
			memset(c->out + c->olen, 'b', n);
			c->olen += n;
		}
		cl_put(c, "\r\n", 2);
	}
}

static int cl_flush(struct cl_conn *c)
{
	int rc = kvsd_raw_send(c->fd, c->out, c->olen);

	c->olen = 0;
	if (rc != 0)
		cl_fail("send: %s", strerror(-rc));
	return rc;
}

/*
 * Reads one complete reply; *p and *n get its bytes (valid until the next call) and
 * c->rp.top describes it. Returns 0, or -1 (failure recorded).
 */
static int cl_read(struct cl_conn *c, const char **p, size_t *n)
{
	for (;;) {
		size_t used = 0;
		enum resp_status st =
		    c->len ? resp_reply_parse(&c->rp, c->in, c->len, &used) : RESP_INCOMPLETE;
		struct pollfd pfd = {c->fd, POLLIN, 0};
		ssize_t r;

		if (st == RESP_OK) {
			*p = c->in;
			*n = used;
			return 0;
		}
		if (st != RESP_INCOMPLETE) {
			cl_fail("unparsable reply: %s", c->rp.err);
			return -1;
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 17;
			c->in = realloc(c->in, c->cap);
			if (c->in == NULL)
				abort();
		}
		if (poll(&pfd, 1, 10000) <= 0) {
			cl_fail("no reply within 10 s");
			return -1;
		}
		r = read(c->fd, c->in + c->len, c->cap - c->len);
		if (r <= 0) {
			cl_fail("connection closed by the server (%s)",
				r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		c->len += (size_t)r;
	}
}

/* Drops the reply cl_read() returned. */
static void cl_consume(struct cl_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
}

/* One command, one reply; the reply must not be an error. */
static int cl_cmd(struct cl_conn *c, const char **p, size_t *n, int argc, const char *const *argv)
{
	cl_append(c, 0, argc, argv);
	if (cl_flush(c) != 0 || cl_read(c, p, n) != 0)
		return -1;
	if (c->rp.top.type == RESP_T_ERROR || c->rp.top.type == RESP_T_BLOBERR) {
		cl_fail("%s: error reply %.*s", argv[0], (int)*n, *p);
		return -1;
	}
	return 0;
}

#define CL_CMD(c, ...)                                                                             \
	cl_cmd_simple((c), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),    \
		      (const char *[]){__VA_ARGS__})

static int cl_cmd_simple(struct cl_conn *c, int argc, const char *const *argv)
{
	const char *p;
	size_t n;

	if (cl_cmd(c, &p, &n, argc, argv) != 0)
		return -1;
	cl_consume(c, n);
	return 0;
}

/* One PING round trip: the server has accepted and registered the connection. */
static int cl_open_ready(struct cl_conn *c)
{
	const char *p;
	size_t n;

	if (cl_open(c) != 0 || cl_cmd(c, &p, &n, 1, (const char *[]){"PING"}) != 0)
		return -1;
	cl_consume(c, n);
	atomic_fetch_add_explicit(&cl_ready, 1, memory_order_relaxed);
	return 0;
}

/* ---- checking CLIENT LIST lines ---------------------------------------- */

/* Redis 7.0's CLIENT LIST fields, in order. */
static const char *const cl_fields[] = {
    "id",	 "addr",     "laddr",	  "fd",	  "name", "age",   "idle",
    "flags",	 "db",	     "sub",	  "psub", "ssub", "multi", "qbuf",
    "qbuf-free", "argv-mem", "multi-mem", "rbs",  "rbp",  "obl",   "oll",
    "omem",	 "tot-mem",  "events",	  "cmd",  "user", "redir", "resp",
};

/* Command names a client of this test can have run last (CLIENT LIST's cmd=). */
static const char *const cl_cmds[] = {
    "NULL",  "ping", "client|setname", "client|list", "client|info", "hello", "select", "reset",
    "multi", "set",  "exec",	       "get",	      "append",	     "mget",  "incr",	"strlen",
    "del",   "echo", "client|id",
};

static int cl_is_num(const char *s, size_t n, int neg_ok)
{
	size_t i = 0;

	if (n && neg_ok && s[0] == '-')
		i = 1;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A name a session sets: "s<digits>" followed by 0..63 'x' (or empty: no name). */
static int cl_name_ok(const char *s, size_t n)
{
	size_t i = 1;

	if (n == 0)
		return 1;
	if (s[0] != 's')
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 1)
		return 0;
	while (i < n && s[i] == 'x')
		i++;
	return i == n;
}

/* Checks one line (no newline). Returns 0, or -1 with the failure recorded. */
static int cl_check_line(const char *line, size_t len)
{
	const char *p = line, *end = line + len;

	for (size_t f = 0; f < sizeof(cl_fields) / sizeof(cl_fields[0]); f++) {
		size_t fl = strlen(cl_fields[f]);
		const char *v, *ve;
		size_t vn;

		if ((size_t)(end - p) < fl + 1 || memcmp(p, cl_fields[f], fl) != 0 ||
		    p[fl] != '=') {
			cl_fail("CLIENT LIST line: field %s expected at offset %zu: %.*s",
				cl_fields[f], (size_t)(p - line), (int)len, line);
			return -1;
		}
		v = p + fl + 1;
		ve = memchr(v, ' ', (size_t)(end - v));
		if (ve == NULL)
			ve = end;
		vn = (size_t)(ve - v);
		if (!strcmp(cl_fields[f], "name") && !cl_name_ok(v, vn))
			goto bad;
		if (!strcmp(cl_fields[f], "db") && !(vn == 1 && v[0] == '0'))
			goto bad;
		if (!strcmp(cl_fields[f], "resp") && !(vn == 1 && (v[0] == '2' || v[0] == '3')))
			goto bad;
		if (!strcmp(cl_fields[f], "cmd")) {
			size_t k;

			for (k = 0; k < sizeof(cl_cmds) / sizeof(cl_cmds[0]); k++)
				if (strlen(cl_cmds[k]) == vn && !memcmp(cl_cmds[k], v, vn))
					break;
			if (k == sizeof(cl_cmds) / sizeof(cl_cmds[0]))
				goto bad;
		}
		if ((!strcmp(cl_fields[f], "id") || !strcmp(cl_fields[f], "fd") ||
		     !strcmp(cl_fields[f], "age") || !strcmp(cl_fields[f], "idle") ||
		     !strcmp(cl_fields[f], "qbuf") || !strcmp(cl_fields[f], "omem") ||
		     !strcmp(cl_fields[f], "tot-mem") || !strcmp(cl_fields[f], "multi")) &&
		    !cl_is_num(v, vn, !strcmp(cl_fields[f], "multi")))
			goto bad;
		if (!strcmp(cl_fields[f], "flags") && !(vn == 1 && (v[0] == 'N' || v[0] == 'x')))
			goto bad;
		if (!strcmp(cl_fields[f], "events") &&
		    !((vn == 1 && v[0] == 'r') || (vn == 2 && !memcmp(v, "rw", 2))))
			goto bad;
		p = ve == end ? end : ve + 1;
		continue;
	bad:
		cl_fail("CLIENT LIST line: bad %s=%.*s in: %.*s", cl_fields[f], (int)vn, v,
			(int)len, line);
		return -1;
	}
	if (p != end) {
		cl_fail("CLIENT LIST line: trailing bytes: %.*s", (int)len, line);
		return -1;
	}
	return 0;
}

/* Checks a CLIENT LIST / INFO reply (RESP2 bulk or RESP3 verbatim "txt:"). Returns the number
 * of lines, or -1. */
static long cl_check_list(struct cl_conn *c, const char *p)
{
	const char *s = p + c->rp.top.str_off, *e = s + c->rp.top.str_len;
	long lines = 0;

	if (c->rp.top.type == RESP_T_VERBATIM)
		s += 4; /* "txt:" */
	else if (c->rp.top.type != RESP_T_BULK) {
		cl_fail("CLIENT LIST: reply type %c", c->rp.top.type);
		return -1;
	}
	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));

		if (nl == NULL) {
			cl_fail("CLIENT LIST: last line without a newline");
			return -1;
		}
		if (cl_check_line(s, (size_t)(nl - s)) != 0)
			return -1;
		lines++;
		s = nl + 1;
	}
	return lines;
}

/* ---- roles -------------------------------------------------------------- */

struct cl_worker {
	pthread_t th;
	int id;
	long ops, lines;
};

static void *lister_main(void *arg)
{
	struct cl_worker *w = arg;
	struct cl_conn c;
	const char *p;
	size_t n;

	if (cl_open(&c) != 0)
		goto out;
	while (cl_running()) {
		long got;

		switch (w->ops % 3) {
		case 0:
			if (cl_cmd(&c, &p, &n, 2, (const char *[]){"CLIENT", "LIST"}) != 0)
				goto out;
			break;
		case 1:
			if (cl_cmd(&c, &p, &n, 7,
				   (const char *[]){"CLIENT", "LIST", "ID", "1", "2", "3", "4"}) !=
			    0)
				goto out;
			break;
		default:
			if (cl_cmd(&c, &p, &n, 2, (const char *[]){"CLIENT", "INFO"}) != 0)
				goto out;
			break;
		}
		got = cl_check_list(&c, p);
		if (got < 0)
			goto out;
		if (w->ops % 3 == 0 && got < 1 + CL_SESSIONS + CL_LOADERS) {
			cl_fail("CLIENT LIST shows %ld clients, want at least %d: %.*s", got,
				1 + CL_SESSIONS + CL_LOADERS, (int)n, p);
			goto out;
		}
		w->lines += got;
		cl_consume(&c, n);
		w->ops++;
	}
out:
	pthread_barrier_wait(&cl_done);
	cl_close(&c);
	return NULL;
}

static void *session_main(void *arg)
{
	struct cl_worker *w = arg;
	struct cl_conn c;
	char name[96];
	const char *p;
	size_t n;

	if (cl_open_ready(&c) != 0)
		goto out;
	while (cl_running()) {
		int pad = (int)((w->ops * 7 + (unsigned)w->id * 13) % 64);

		snprintf(name, sizeof(name), "s%d%.*s", w->id * 1000000 + (int)(w->ops % 1000000),
			 pad, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		switch (w->ops % 9) {
		case 0:
			if (CL_CMD(&c, "CLIENT", "SETNAME", name) != 0)
				goto out;
			break;
		case 1:
			if (CL_CMD(&c, "HELLO", "3") != 0)
				goto out;
			break;
		case 2:
			if (CL_CMD(&c, "HELLO", "2", "SETNAME", name) != 0)
				goto out;
			break;
		case 3:
			if (CL_CMD(&c, "SELECT", "0") != 0)
				goto out;
			break;
		case 4:
			if (CL_CMD(&c, "CLIENT", "SETNAME", "") != 0)
				goto out;
			break;
		case 5:
			if (CL_CMD(&c, "HELLO", "3", "SETNAME", name) != 0)
				goto out;
			break;
		case 6:
			if (CL_CMD(&c, "MULTI") != 0 || CL_CMD(&c, "SET", name, "v") != 0 ||
			    CL_CMD(&c, "EXEC") != 0)
				goto out;
			break;
		case 7:
			if (cl_cmd(&c, &p, &n, 2, (const char *[]){"CLIENT", "INFO"}) != 0 ||
			    cl_check_list(&c, p) != 1)
				goto out;
			cl_consume(&c, n);
			break;
		default:
			if (CL_CMD(&c, "RESET") != 0)
				goto out;
			break;
		}
		w->ops++;
	}
out:
	pthread_barrier_wait(&cl_done);
	cl_close(&c);
	return NULL;
}

static void *loader_main(void *arg)
{
	struct cl_worker *w = arg;
	struct cl_conn c;
	char key[32];
	const char *p;
	size_t n;

	if (cl_open_ready(&c) != 0)
		goto out;
	snprintf(key, sizeof(key), "ld:%d", w->id);
	while (cl_running()) {
		size_t big = w->ops % 5 == 0 ? CL_BIG : 10 + (size_t)(w->ops % 100) * 97;
		int cmds = 0;

		/* a pipeline: the query and reply buffers grow and drain while listed */
		cl_append(&c, big, 3, (const char *[]){"SET", key, NULL});
		cl_append(&c, 0, 2, (const char *[]){"GET", key});
		cl_append(&c, 0, 3, (const char *[]){"APPEND", key, "tail"});
		cl_append(&c, 0, 4, (const char *[]){"MGET", key, key, key});
		cl_append(&c, 0, 2, (const char *[]){"INCR", "ld:ctr"});
		cl_append(&c, 0, 2, (const char *[]){"STRLEN", key});
		cmds = 6;
		if (cl_flush(&c) != 0)
			break;
		for (int i = 0; i < cmds; i++) {
			if (cl_read(&c, &p, &n) != 0)
				goto out;
			if (c.rp.top.type == RESP_T_ERROR) {
				cl_fail("loader: error reply %.*s", (int)n, p);
				goto out;
			}
			cl_consume(&c, n);
		}
		w->ops++;
	}
out:
	pthread_barrier_wait(&cl_done);
	cl_close(&c);
	return NULL;
}

static void *churn_main(void *arg)
{
	struct cl_worker *w = arg;

	while (cl_running()) {
		struct cl_conn c;

		if (cl_open(&c) != 0)
			break;
		if (w->ops % 2 == 0 && CL_CMD(&c, "PING") != 0) {
			cl_close(&c);
			break;
		}
		cl_close(&c);
		w->ops++;
	}
	return NULL;
}

/* ---- main --------------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--seconds S]\n  KVSD_BIN: server binary\n", prog);
	exit(2);
}

/* exitcode=66 in the child's TSAN_OPTIONS (this process read its own at start-up). */
static void cl_child_sanitizer_env(void)
{
	const char *old = getenv("TSAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%sexitcode=66", old ? old : "", old && *old ? ":" : "");
	setenv("TSAN_OPTIONS", buf, 1);
}

int main(int argc, char **argv)
{
	struct cl_worker ls[CL_LISTERS], ss[CL_SESSIONS], ld[CL_LOADERS], ch = {0};
	long long t0, lines = 0, ops = 0;
	static char log[1 << 17];
	int seconds = 3, st, rc, san;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[++i]);
		else
			usage(argv[0]);
	}
	if (seconds < 1)
		usage(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	cl_child_sanitizer_env();
	cl_srv.keep_log = 1;
	rc = kvsd_start(&cl_srv,
			kvsd_bin_is_redis() ? NULL : (const char *[]){"--threads", "3", NULL});
	if (rc != 0) {
		fprintf(stderr, "stress_client_list: FAIL: kvsd did not start: %s\n",
			strerror(-rc));
		return 1;
	}
	pthread_barrier_init(&cl_done, NULL, CL_LISTERS + CL_SESSIONS + CL_LOADERS);
	t0 = kvsd_now_ms();
	cl_deadline_ms = t0 + seconds * 1000LL;
	/* sessions and loaders first, so every listing has them */
	for (int i = 0; i < CL_SESSIONS; i++) {
		ss[i] = (struct cl_worker){.id = i + 1};
		pthread_create(&ss[i].th, NULL, session_main, &ss[i]);
	}
	for (int i = 0; i < CL_LOADERS; i++) {
		ld[i] = (struct cl_worker){.id = i};
		pthread_create(&ld[i].th, NULL, loader_main, &ld[i]);
	}
	/* listers start once every session and loader is registered (bounded: 30 s) */
	for (int i = 0;
	     i < 3000 &&
	     atomic_load_explicit(&cl_ready, memory_order_relaxed) < CL_SESSIONS + CL_LOADERS &&
	     !atomic_load_explicit(&cl_failed, memory_order_relaxed);
	     i++)
		kvsd_sleep_ms(10);
	if (atomic_load_explicit(&cl_ready, memory_order_relaxed) < CL_SESSIONS + CL_LOADERS)
		cl_fail("sessions and loaders not all connected after 30 s");
	for (int i = 0; i < CL_LISTERS; i++) {
		ls[i] = (struct cl_worker){.id = i};
		pthread_create(&ls[i].th, NULL, lister_main, &ls[i]);
	}
	pthread_create(&ch.th, NULL, churn_main, &ch);
	for (int i = 0; i < CL_LISTERS; i++) {
		pthread_join(ls[i].th, NULL);
		lines += ls[i].lines;
		ops += ls[i].ops;
	}
	for (int i = 0; i < CL_SESSIONS; i++) {
		pthread_join(ss[i].th, NULL);
		ops += ss[i].ops;
	}
	for (int i = 0; i < CL_LOADERS; i++) {
		pthread_join(ld[i].th, NULL);
		ops += ld[i].ops;
	}
	pthread_join(ch.th, NULL);
	pthread_barrier_destroy(&cl_done);

	st = kvsd_stop(&cl_srv, 30000);
	kvsd_log(&cl_srv, log, sizeof(log));
	kvsd_kill(&cl_srv);
	san = strstr(log, "WARNING: ThreadSanitizer") || strstr(log, "ERROR: AddressSanitizer") ||
	      strstr(log, "runtime error:");
	if (st != 0 || san) {
		fprintf(
		    stderr,
		    "stress_client_list: FAIL: server exit status %d after SIGTERM (want 0; 66 = "
		    "ThreadSanitizer report)%s\n",
		    st, san ? "; sanitizer report in its output" : "");
		if (cl_fail_msg[0])
			fprintf(stderr, "stress_client_list: first client-side error: %s\n",
				cl_fail_msg);
		fprintf(stderr, "---- server output (tail) ----\n%s\n", log);
		return 1;
	}
	if (atomic_load_explicit(&cl_failed, memory_order_relaxed)) {
		fprintf(stderr, "stress_client_list: FAIL: %s\n", cl_fail_msg);
		return 1;
	}
	if (lines == 0) {
		fprintf(stderr, "stress_client_list: FAIL: no CLIENT LIST line was checked\n");
		return 1;
	}
	printf("stress_client_list: OK %.1f s, %lld commands, %lld CLIENT LIST/INFO lines checked, "
	       "%ld connections churned, exit 0\n",
	       (kvsd_now_ms() - t0) / 1000.0, ops, lines, ch.ops);
	return 0;
}
