/*
 * conn.c — running a connection: read, parse, dispatch, write.
 *
 * A connection is a task. Its socket's readiness (edge-triggered) calls
 * conn_schedule(), which moves the task word IDLE → SCHEDULED and queues the
 * connection on its owner's run queue; if the connection is RUNNING at that
 * moment the NOTIFIED bit is set instead, and the runner goes round once
 * more before it returns to IDLE, so readiness is never lost. The owner
 * drains its run queue from one libevent callback per loop iteration, inside
 * a storage section (online), announcing a quiescent state between tasks.
 *
 * Running a connection reads until EAGAIN (or a per-run byte budget, after
 * which it re-queues itself — edge-triggered events will not fire again for
 * bytes already waiting), executes every complete command in order, and
 * writes all replies of the batch with as few write() calls as possible.
 * Replies that do not fit in the socket arm write interest.
 */
#include "net/conn.h"
#include "concurrency/mem.h"
#include "net/net_internal.h"
#include "net/reply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK      (16 * 1024)
#define RUN_BYTE_BUDGET (1024 * 1024)
#define OUT_FLUSH_AT    (64 * 1024)

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *registry;
static long registry_count;
static _Atomic uint64_t next_id = 1;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
	}
	snprintf(out, size, "%s:%d", ip, port);
}

struct conn *conn_create(int fd, int is_unix)
{
	struct conn *c = mem_calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	c->fd = fd;
	/* relaxed: ids only need to be unique; they order nothing */
	c->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	atomic_init(&c->task, CONN_IDLE);
	buf_init(&c->in);
	buf_init(&c->out);
	resp_req_init(&c->req);
	c->resp = 2;
	c->ctime_ms = now_ms();
	atomic_init(&c->last_ms, c->ctime_ms);
	if (is_unix) {
		c->flags |= CONN_F_UNIX;
		snprintf(c->addr, sizeof(c->addr), "%s:0",
			 net_opts_g.unixsocket ? net_opts_g.unixsocket : "");
		snprintf(c->laddr, sizeof(c->laddr), "%s:0",
			 net_opts_g.unixsocket ? net_opts_g.unixsocket : "");
	} else {
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
			fmt_addr(&ss, c->addr, sizeof(c->addr));
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			fmt_addr(&ss, c->laddr, sizeof(c->laddr));
	}
	return c;
}

void conn_registry_add(struct conn *c)
{
	pthread_mutex_lock(&registry_lock);
	c->reg_prev = NULL;
	c->reg_next = registry;
	if (registry)
		registry->reg_prev = c;
	registry = c;
	registry_count++;
	pthread_mutex_unlock(&registry_lock);
}

void conn_registry_del(struct conn *c)
{
	pthread_mutex_lock(&registry_lock);
	if (c->reg_prev)
		c->reg_prev->reg_next = c->reg_next;
	else
		registry = c->reg_next;
	if (c->reg_next)
		c->reg_next->reg_prev = c->reg_prev;
	registry_count--;
	pthread_mutex_unlock(&registry_lock);
}

long conn_count(void)
{
	long n;

	pthread_mutex_lock(&registry_lock);
	n = registry_count;
	pthread_mutex_unlock(&registry_lock);
	return n;
}

void conn_foreach(void (*fn)(struct conn *c, void *arg), void *arg)
{
	pthread_mutex_lock(&registry_lock);
	for (struct conn *c = registry; c; c = c->reg_next)
		fn(c, arg);
	pthread_mutex_unlock(&registry_lock);
}

void conn_set_name(struct conn *c, const char *name, size_t len)
{
	char *n = len ? mem_strndup(name, len) : NULL;
	char *old;

	pthread_mutex_lock(&registry_lock);
	old = c->name;
	c->name = n;
	pthread_mutex_unlock(&registry_lock);
	mem_free(old);
}

/* Called with the registry lock held (conn_foreach) or by the owner thread. */
size_t conn_describe(struct conn *c, char *buf, size_t size, int64_t now)
{
	int64_t last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);
	const char *cmd = c->last_cmd ? c->last_cmd : "NULL";
	int n;

	n = snprintf(buf, size,
		     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=N db=%d "
		     "sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 "
		     "rbs=%zu rbp=0 obl=%zu oll=0 omem=0 tot-mem=%zu events=r cmd=%s user=default "
		     "redir=-1 resp=%d",
		     (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
		     (long long)((now - c->ctime_ms) / 1000), (long long)((now - last) / 1000),
		     c->db, buf_pending(&c->in), c->in.cap - c->in.len, c->out.cap,
		     buf_pending(&c->out), sizeof(*c) + c->in.cap + c->out.cap, cmd, c->resp);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

struct worker *conn_worker(struct conn *c)
{
	return c->owner;
}

void net_count_error(struct conn *c)
{
	struct worker *w = c->owner;

	if (w)
		/* relaxed: statistic; single writer (the running thread) */
		atomic_fetch_add_explicit(&w->st.errors, 1, memory_order_relaxed);
}

static void conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_schedule(arg);
}

void conn_attach(struct conn *c, struct worker *w)
{
	c->owner = w;
	c->next = w->conns;
	c->prev = NULL;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	c->ev = event_new(w->base, c->fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET, conn_event_cb,
			  c);
	if (c->ev == NULL || event_add(c->ev, NULL) != 0)
		KV_PANIC("cannot register connection with the event loop");
	if (net_opts_g.conn_init)
		net_opts_g.conn_init(c);
	/* Bytes may already be waiting: edge-triggered events report only new ones. */
	conn_schedule(c);
}

void conn_close(struct conn *c)
{
	struct worker *w = c->owner;

	if (w) {
		if (c->prev)
			c->prev->next = c->next;
		else
			w->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	if (c->ev)
		event_free(c->ev);
	close(c->fd);
	conn_registry_del(c);
	resp_req_deinit(&c->req);
	buf_deinit(&c->in);
	buf_deinit(&c->out);
	mem_free(c->argv);
	mem_free(c->argl);
	mem_free(c->name);
	mem_free(c);
}

/*
 * IDLE → SCHEDULED queues the connection; SCHEDULED stays; RUNNING gets the
 * NOTIFIED bit. Only the owner thread calls this today (readiness and
 * attach), but the word is atomic so the stealing issue can add thieves.
 */
void conn_schedule(struct conn *c)
{
	struct worker *w = c->owner;
	uint32_t s = atomic_load_explicit(&c->task, memory_order_relaxed);

	for (;;) {
		uint32_t n;

		if ((s & CONN_STATE_MASK) == CONN_SCHEDULED || (s & CONN_NOTIFIED))
			return;
		n = (s & CONN_STATE_MASK) == CONN_IDLE ? CONN_SCHEDULED : (s | CONN_NOTIFIED);
		/* acq_rel: the winner of IDLE→SCHEDULED publishes the queue link it writes
		 * next to the runner; pairs with the acquire in task_finish(). */
		if (atomic_compare_exchange_weak_explicit(&c->task, &s, n, memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	if ((s & CONN_STATE_MASK) != CONN_IDLE)
		return; /* runner will go round again */
	c->next_run = NULL;
	if (w->runq_tail)
		w->runq_tail->next_run = c;
	else
		w->runq_head = c;
	w->runq_tail = c;
	if (w->runq_head == c)
		event_active(w->run_ev, EV_READ, 0);
}

/* Writes pending replies. Returns 0, or -1 if the connection must close. */
static int conn_flush(struct conn *c)
{
	struct worker *w = c->owner;

	while (buf_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, c->out.data + c->out.rpos, buf_pending(&c->out),
				 MSG_NOSIGNAL);

		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			/* relaxed: statistic */
			atomic_fetch_add_explicit(&w->st.out_bytes, (uint64_t)n,
						  memory_order_relaxed);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* EV_WRITE is registered edge-triggered: the socket draining
			 * schedules us again. */
			c->flags |= CONN_F_WANT_WRITE;
			return 0;
		}
		return -1;
	}
	c->flags &= ~CONN_F_WANT_WRITE;
	buf_shrink_idle(&c->out, 64 * 1024);
	return 0;
}

static void ensure_argv(struct conn *c, int argc)
{
	if (argc <= c->argv_cap)
		return;
	c->argv_cap = argc < 16 ? 16 : argc;
	c->argv = mem_realloc(c->argv, sizeof(*c->argv) * (size_t)c->argv_cap);
	c->argl = mem_realloc(c->argl, sizeof(*c->argl) * (size_t)c->argv_cap);
}

/* Parses and runs every complete command in the query buffer. */
static void conn_process(struct conn *c)
{
	struct worker *w = c->owner;
	uint64_t ncmd = 0;

	c->req.max_bulk_len = atomic_load_explicit(&net_limits_g.max_bulk, memory_order_relaxed);
	c->req.auth_required = !c->authenticated;
	while (buf_pending(&c->in) > 0 && !(c->flags & (CONN_F_CLOSE_AFTER_REPLY |
							  CONN_F_CLOSE_ASAP))) {
		const char *base = c->in.data + c->in.rpos;
		size_t used = 0;
		enum resp_status st = resp_req_parse(&c->req, base, buf_pending(&c->in), &used);

		if (st == RESP_INCOMPLETE)
			break;
		if (st != RESP_OK) {
			reply_error(c, c->req.err);
			c->flags |= CONN_F_CLOSE_AFTER_REPLY;
			break;
		}
		if (c->req.argc > 0) {
			ensure_argv(c, c->req.argc);
			for (int i = 0; i < c->req.argc; i++) {
				c->argv[i] = resp_req_argp(&c->req, base, i);
				c->argl[i] = c->req.argv[i].len;
			}
			net_opts_g.dispatch(c, c->req.argc, c->argv, c->argl);
			ncmd++;
			c->req.auth_required = !c->authenticated;
		}
		buf_consume(&c->in, used);
		if (buf_pending(&c->out) >= OUT_FLUSH_AT && conn_flush(c) < 0) {
			c->flags |= CONN_F_CLOSE_ASAP;
			break;
		}
	}
	if (ncmd) {
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.commands, ncmd, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->ncmds, ncmd, memory_order_relaxed);
	}
}

/*
 * Runs the connection once. Returns 1 if it still has work (budget spent),
 * 0 if it is waiting for readiness, -1 if it must close.
 */
static int conn_run(struct conn *c)
{
	struct worker *w = c->owner;
	size_t budget = RUN_BYTE_BUDGET;
	int more = 0;

	for (;;) {
		ssize_t n;
		size_t want = READ_CHUNK;
		long long qlimit;

		if (c->flags & (CONN_F_CLOSE_AFTER_REPLY | CONN_F_CLOSE_ASAP | CONN_F_STOP_READING))
			break;
		if (budget == 0) {
			more = 1;
			break;
		}
		/* A large bulk announced by its header: make room for it at once. */
		if (c->req.bulk > READ_CHUNK)
			want = (size_t)c->req.bulk + 2;
		buf_reserve(&c->in, want);
		n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
			/* relaxed: statistics / idle clock read by the cron only */
			atomic_fetch_add_explicit(&w->st.in_bytes, (uint64_t)n,
						  memory_order_relaxed);
			atomic_store_explicit(&c->last_ms, now_ms(), memory_order_relaxed);
			qlimit = atomic_load_explicit(&net_limits_g.query_limit,
						      memory_order_relaxed);
			/* As Redis: checked after each read, before running anything in
			 * it; the client is closed without a reply. */
			if ((long long)buf_pending(&c->in) > qlimit)
				return -1;
			conn_process(c);
			continue;
		}
		if (n == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return -1;
	}
	if (c->flags & CONN_F_CLOSE_ASAP)
		return -1;
	if (conn_flush(c) < 0)
		return -1;
	if ((c->flags & CONN_F_CLOSE_AFTER_REPLY) && buf_pending(&c->out) == 0)
		return -1;
	if (buf_pending(&c->in) == 0)
		buf_shrink_idle(&c->in, 64 * 1024);
	return more;
}

/*
 * RUNNING → IDLE unless NOTIFIED arrived meanwhile. Returns 1 if the
 * connection must run again.
 */
static int task_finish(struct conn *c)
{
	uint32_t s = CONN_RUNNING;

	/* acquire on failure: a notifier's writes before setting NOTIFIED are seen
	 * by the next round; release on success: this run's writes are visible to
	 * whoever schedules the connection next (pairs with conn_schedule()). */
	if (atomic_compare_exchange_strong_explicit(&c->task, &s, CONN_IDLE, memory_order_acq_rel,
						    memory_order_acquire))
		return 0;
	/* NOTIFIED was set: clear it and run again. */
	atomic_store_explicit(&c->task, CONN_RUNNING, memory_order_relaxed);
	return 1;
}

void worker_run_queue(struct worker *w)
{
	struct conn *c;
	int rounds = 0;

	net_opts_g.online();
	while ((c = w->runq_head) != NULL) {
		int r;

		w->runq_head = c->next_run;
		if (w->runq_head == NULL)
			w->runq_tail = NULL;
		/* acquire: the scheduler's CAS (acq_rel) released what it wrote before
		 * queueing the connection; SCHEDULED → RUNNING observes it */
		atomic_exchange_explicit(&c->task, CONN_RUNNING, memory_order_acquire);
		do {
			r = conn_run(c);
			net_opts_g.quiescent();
		} while (r == 0 && task_finish(c));
		if (r < 0) {
			conn_close(c);
			continue;
		}
		if (r > 0) {
			/* budget spent: back of the queue, behind the others */
			atomic_store_explicit(&c->task, CONN_IDLE, memory_order_relaxed);
			conn_schedule(c);
		}
		if (++rounds >= 1024 && w->runq_head) {
			/* let the loop poll for new I/O before going on */
			event_active(w->run_ev, EV_READ, 0);
			break;
		}
	}
	net_opts_g.offline();
}
