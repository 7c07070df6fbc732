/*
 * conn_io.c — one run of a connection: read, parse, dispatch, write; and the
 * limits that apply to one connection. When a connection runs, and who may
 * run or close it, is task.c's.
 *
 * One run executes the complete commands already in the query buffer, then
 * reads (until a read comes back short, which emptied the socket, or EAGAIN)
 * and executes more, and writes the replies with as few system calls as
 * possible: at pipeline 1 a request costs one read and one send — or, on a
 * worker with an io_uring (io-uring yes), one read and a share of one
 * io_uring_enter: the run's last write is left to the worker, which sends
 * the last writes of all the runs of one pass together (task.c: the send
 * queue; conn_run returns CONN_RUN_SEND, conn_sent ends the run). It stops
 * early, leaving the task re-queued, when it has run run-budget-commands
 * commands, run for RUN_TIME_BUDGET_NS, read RUN_BYTE_BUDGET bytes or made
 * RUN_BYTE_BUDGET bytes of replies (a pipeline of large GETs from a
 * client that does not read, with the pause limit off, would otherwise
 * copy 64 large values per turn while the worker's other clients wait)
 * (edge-triggered events do not fire again for bytes already waiting, so
 * the run itself must come back). Backpressure, checked after every command:
 *  - client-output-pause-limit: with more reply bytes pending than this, the
 *    connection runs and reads nothing more until a write drains them (the
 *    owner's loop reports writability; the run then resumes reading), so a
 *    client that pipelines without reading meets TCP backpressure instead of
 *    growing kvsd's memory;
 *  - client-output-buffer-limit (normal class): over hard → close at once;
 *    over soft for soft-seconds → close;
 *  - client-query-buffer-limit after each read (close, as Redis);
 *  - CLIENT PAUSE: the command waits, parsed, until the pause ends.
 * Held replies (net_opts.before_write said false: appendfsync always, the
 * fsync covering them has not happened yet): nothing is written, no further
 * command runs and nothing is read (CONN_F_HELD) until the server's
 * conn_wake() runs the connection again, which asks before_write once more;
 * the worker meanwhile serves its other connections.
 * Blocking commands (conn_block): once dispatch blocked the connection, its
 * runs execute nothing more (the pipeline waits in the query buffer) until
 * net_opts.resume reports that the server answered, but it is still read —
 * EOF closes it, the query-buffer limit applies, CLIENT KILL works — so a
 * blocked client costs no CPU and no worker, and a disconnect is seen.
 * During shutdown a blocked connection is closed unanswered, as Redis does.
 * Messages other threads queue for a connection (Pub/Sub: net_opts.deliver)
 * are formatted into its reply buffer by its own runner, at the start of a
 * run and again whenever the buffer was written out, DELIVER_WINDOW bytes at
 * a time: the rest stays queued (shared with other receivers) while the
 * client does not read.
 * During shutdown (net_drain) nothing more is read: the buffered commands run,
 * the replies are flushed, and the run reports -1 to close — except that a
 * command CLIENT PAUSE holds back never runs (Redis exits without running
 * it): the connection closes at it.
 *
 * Reads are sized as Redis 7.0's readQueryFromClient() sizes them: whether an
 * over-long inline request is refused depends on how many bytes one read
 * returns (resp.h), so kvsd reads, at each step, what Redis would. It mirrors
 * the allocation of Redis's query buffer (qb_alloc) as sds grows it under
 * jemalloc: 16 KB per read while that allocation is under 16 KB, then
 * whatever the greedily grown allocation has room for (kvsd's own buffer
 * grows its own way; the mirror only bounds the read). The mirror restarts
 * from nothing when kvsd frees an idle buffer, where Redis's cron would trim
 * its own.
 *
 * Large bulks: once the header of a bulk of NET_BIG_ARG bytes or more is
 * parsed and its payload is still arriving, the payload goes to an
 * allocation of its own and is read straight into it (no more than it needs,
 * as Redis does for such arguments), then handed to the parser
 * (resp_req_put_bulk). The server may adopt that allocation as the stored
 * value (net_arg_adopt): a 512 MB SET then holds 512 MB, not a query buffer
 * copy beside the value. Allocations nobody adopted are freed after the
 * command.
 */
#include "net/conn_io.h"
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "net/monitor.h"
#include "net/reply.h"
#include "net/state.h"
#include "net/uring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define REDIS_IOBUF_LEN	 (16 * 1024)   /* PROTO_IOBUF_LEN: Redis's read size */
#define SDS_MAX_PREALLOC (1024 * 1024) /* sds greedy growth stops doubling here */
#define RUN_BYTE_BUDGET	 (1024 * 1024)
/* A run also ends after this long (checked every RUN_TIME_EVERY commands):
 * with run-budget-commands set high, two clients pipelining cheap commands
 * kept both workers of the torture test in one run each for 100-200 ms (up to
 * RUN_BYTE_BUDGET of requests), and with every worker inside a run nobody
 * polls, so every other client waited that long. */
#define RUN_TIME_BUDGET_NS (1000 * 1000ll)
#define RUN_TIME_EVERY	   8
#define OUT_FLUSH_AT	   (64 * 1024)
/* formatted queued messages (net_opts.deliver) a reply buffer holds at most:
 * what a subscriber whose socket is full keeps formatted beside its queued
 * references (16 KB: 1,000 such subscribers held 64 MB at 64 KB) */
#define DELIVER_WINDOW (16 * 1024)

struct conn_bigarg {
	char *p;      /* mem_alloc(need) */
	size_t need;  /* the bulk's bytes and its CRLF */
	size_t got;   /* received so far */
	bool adopted; /* the server owns p now */
};

static void big_release(struct conn *c);
static int run_tail(struct conn *c, struct worker *w, int more, size_t out_bytes, int draining);

/* relaxed: ids only need to be unique; they order nothing */
static _Atomic uint64_t next_id = 1;

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
	/* relaxed: see next_id */
	c->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	atomic_init(&c->task, CONN_IDLE); /* task.c sets where it starts */
	buf_init(&c->in);
	buf_init(&c->out);
	buf_init(&c->mon_pending);
	atomic_init(&c->kill, 0);
	atomic_init(&c->rdhup, 0);
	atomic_init(&c->readable, 1); /* bytes may precede the registration */
	atomic_init(&c->pause_wait, 0);
	atomic_init(&c->blocked, 0);
	atomic_init(&c->st_qbuf, 0);
	atomic_init(&c->st_omem, 0);
	atomic_init(&c->st_queued, 0);
	atomic_init(&c->st_events, 0);
	atomic_init(&c->st_monitor, 0);
	atomic_init(&c->st_multi, -1);
	atomic_init(&c->st_sflags, 0);
	atomic_init(&c->st_sub, 0);
	atomic_init(&c->st_psub, 0);
	atomic_init(&c->st_ssub, 0);
	atomic_init(&c->st_tflags, 0);
	atomic_init(&c->st_redir, -1);
	resp_req_init(&c->req);
	atomic_init(&c->resp, 2);
	atomic_init(&c->db, 0);
	atomic_init(&c->last_cmd, NULL);
	c->ctime_ms = clock_wall_ms();
	atomic_init(&c->last_ms, c->ctime_ms);
	if (is_unix) {
		c->flags |= CONN_F_UNIX;
		snprintf(c->addr, sizeof(c->addr), "%s:0",
			 net_g.opts.unixsocket ? net_g.opts.unixsocket : "");
		snprintf(c->laddr, sizeof(c->laddr), "%s:0",
			 net_g.opts.unixsocket ? net_g.opts.unixsocket : "");
	} else {
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
			fmt_addr(&ss, c->addr, sizeof(c->addr));
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			fmt_addr(&ss, c->laddr, sizeof(c->laddr));
	}
	return c;
}

void conn_shut(struct conn *c)
{
	if (atomic_load_explicit(&net_g.limits.draining, memory_order_relaxed)) {
		/* Shutdown: the client may have sent more than we ran. Closing with
		 * unread bytes makes the kernel send RST, which can destroy replies
		 * the client has not read yet; send FIN after the replies and
		 * discard what is queued (bounded) so close() ends cleanly. */
		char sink[16384];

		shutdown(c->fd, SHUT_WR);
		for (int i = 0; i < 1024 && read(c->fd, sink, sizeof(sink)) > 0; i++)
			;
	}
	close(c->fd);
}

void conn_free(struct conn *c)
{
	resp_req_deinit(&c->req);
	buf_deinit(&c->in);
	buf_deinit(&c->out);
	buf_deinit(&c->mon_pending);
	big_release(c);
	mem_free(c->big);
	mem_free(c->argv);
	mem_free(c->argl);
	mem_free(c->name);
	mem_free(c);
}

/* Whether pending replies must wait (net_opts.before_write said no:
 * appendfsync always): sets or clears CONN_F_HELD. */
static bool flush_held(struct conn *c)
{
	if (buf_pending(&c->out) > 0 && net_g.opts.before_write && !net_g.opts.before_write(c)) {
		/* held (appendfsync always): the server's conn_wake brings us back */
		c->flags |= CONN_F_HELD;
		return true;
	}
	c->flags &= ~CONN_F_HELD;
	return false;
}

/* Counts n bytes sent and consumes them (a send(2)'s or a ring send's). */
static void flush_sent(struct conn *c, struct worker *w, size_t n)
{
	buf_consume(&c->out, n);
	/* relaxed: statistic */
	atomic_fetch_add_explicit(&w->st.out_bytes, (uint64_t)n, memory_order_relaxed);
	/* relaxed: the idle clock, read by the cron only. As Redis, a reply
	 * written is an interaction: a client whose command ran longer than
	 * `timeout` is not idle when its reply leaves. */
	atomic_store_explicit(&c->last_ms, clock_wall_ms(), memory_order_relaxed);
}

/* The socket is full: EV_WRITE is registered edge-triggered on the owner's
 * loop, so the socket draining schedules us again. */
static void flush_full(struct conn *c, struct worker *w)
{
	c->flags |= CONN_F_WANT_WRITE;
	/* relaxed: statistic */
	atomic_fetch_add_explicit(&w->st.writes_eagain, 1, memory_order_relaxed);
}

/* Writes pending replies with send(2), not asking before_write. Returns 0,
 * or -1 if the connection must close. */
static int flush_send(struct conn *c, struct worker *w)
{
	while (buf_pending(&c->out) > 0) {
		ssize_t n =
		    send(c->fd, c->out.data + c->out.rpos, buf_pending(&c->out), MSG_NOSIGNAL);

		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.writes, 1, memory_order_relaxed);
		if (n > 0) {
			flush_sent(c, w, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			flush_full(c, w);
			return 0;
		}
		return -1;
	}
	c->flags &= ~CONN_F_WANT_WRITE;
	buf_shrink_idle(&c->out, 64 * 1024);
	return 0;
}

/* Writes pending replies. Returns 0, or -1 if the connection must close. */
static int conn_flush(struct conn *c, struct worker *w)
{
	if (flush_held(c))
		return 0;
	return flush_send(c, w);
}

/* ---- read sizes: Redis 7.0's query buffer, mirrored ------------------- */

/* jemalloc's size class for n bytes: four classes per doubling above 128 */
static size_t je_size_class(size_t n)
{
	size_t x, delta;
	int p;

	if (n <= 8)
		return 8;
	if (n <= 128)
		return (n + 15) & ~(size_t)15;
	x = n - 1;
	p = 63 - __builtin_clzll((unsigned long long)x);
	delta = (size_t)1 << (p - 2);
	return (x / delta + 1) * delta;
}

/* sdsalloc() of an sds grown to hold len bytes: the allocator's usable size
 * less the header (whose size depends on len, sdsReqType) and the NUL,
 * capped at what that header can record */
static size_t sds_alloc_for(size_t len)
{
	size_t hdr, max, usable;

	if (len < 256) {
		hdr = 3, max = 255; /* type 8 (type 5 is never used for growth) */
	} else if (len < 65536) {
		hdr = 5, max = 65535;
	} else if ((unsigned long long)len < (1ULL << 32)) {
		hdr = 9, max = (size_t)UINT32_MAX;
	} else {
		hdr = 17, max = SIZE_MAX;
	}
	usable = je_size_class(len + hdr + 1) - hdr - 1;
	return usable < max ? usable : max;
}

/*
 * How many bytes the next read may take: readQueryFromClient()'s readlen.
 * While Redis's buffer is under PROTO_IOBUF_LEN it grows by exactly 16 KB
 * (sdsMakeRoomForNonGreedy) and reads 16 KB; after that it grows greedily
 * (sdsMakeRoomFor: the needed size doubled, or plus 1 MB past 1 MB) and reads
 * all the room it has. `len` is what is still unparsed, as Redis trims the
 * parsed prefix before reading again.
 */
static size_t read_window(struct conn *c)
{
	size_t len = buf_pending(&c->in);

	if (c->qb_alloc < REDIS_IOBUF_LEN) {
		if (c->qb_alloc < len + REDIS_IOBUF_LEN)
			c->qb_alloc = sds_alloc_for(len + REDIS_IOBUF_LEN);
		return REDIS_IOBUF_LEN;
	}
	if (c->qb_alloc < len + REDIS_IOBUF_LEN) {
		size_t want = len + REDIS_IOBUF_LEN;

		want = want < SDS_MAX_PREALLOC ? want * 2 : want + SDS_MAX_PREALLOC;
		c->qb_alloc = sds_alloc_for(want);
	}
	return c->qb_alloc - len;
}

/* ---- large bulks in allocations of their own --------------------------- */

static struct conn_bigarg *big_filling(struct conn *c)
{
	struct conn_bigarg *b = c->nbig ? &c->big[c->nbig - 1] : NULL;

	return b && b->got < b->need ? b : NULL;
}

/*
 * After RESP_INCOMPLETE: if a bulk of NET_BIG_ARG bytes or more has its
 * header parsed, move what arrived of its payload (everything after its
 * start: the parse is incomplete) to an allocation of its own; the reads
 * that follow go there until it is complete.
 */
static void big_divert(struct conn *c)
{
	long long bulk = resp_req_bulk_pending(&c->req);
	size_t start = resp_req_bulk_start(&c->req), have;
	struct conn_bigarg *b;

	if (bulk < NET_BIG_ARG || big_filling(c))
		return;
	have = buf_pending(&c->in) - start;
	if (c->nbig == c->big_cap) {
		c->big_cap = c->big_cap ? 2 * c->big_cap : 2;
		c->big = mem_realloc(c->big, sizeof(*c->big) * (size_t)c->big_cap);
	}
	b = &c->big[c->nbig++];
	b->need = (size_t)bulk + 2;
	b->p = mem_alloc(b->need);
	b->got = have;
	b->adopted = false;
	memcpy(b->p, c->in.data + c->in.rpos + start, have);
	c->in.len -= have;
	c->big_bytes += have;
}

/* The request these bulks belonged to is done (or the connection closes). */
static void big_release(struct conn *c)
{
	for (int i = 0; i < c->nbig; i++)
		if (!c->big[i].adopted)
			mem_free(c->big[i].p);
	c->nbig = 0;
	c->big_bytes = 0;
}

static struct conn_bigarg *big_find(struct conn *c, const char *arg)
{
	for (int i = 0; i < c->nbig; i++)
		if (c->big[i].p == arg && !c->big[i].adopted && c->big[i].got == c->big[i].need)
			return &c->big[i];
	return NULL;
}

bool net_arg_adoptable(struct conn *c, const char *arg)
{
	return big_find(c, arg) != NULL;
}

void net_arg_adopt(struct conn *c, const char *arg)
{
	struct conn_bigarg *b = big_find(c, arg);

	KV_ASSERT(b != NULL);
	b->adopted = true;
}

static void ensure_argv(struct conn *c, int argc)
{
	if (argc <= c->argv_cap)
		return;
	c->argv_cap = argc < 16 ? 16 : argc;
	c->argv = mem_realloc(c->argv, sizeof(*c->argv) * (size_t)c->argv_cap);
	c->argl = mem_realloc(c->argl, sizeof(*c->argl) * (size_t)c->argv_cap);
}

/*
 * client-output-buffer-limit (normal class) after a command; sets CLOSE_ASAP,
 * and then nothing more is sent (Redis frees such a client without writing).
 * The bytes counted are Redis's reply-list bytes: what lies beyond the first
 * NET_REPLY_STATIC_BYTES (its static buffer), counted at least as one list
 * node of that size. Soft: over it for more than soft-seconds whole seconds.
 */
static void check_output_limit(struct conn *c)
{
	long long hard = atomic_load_explicit(&net_g.limits.out_hard, memory_order_relaxed);
	long long soft = atomic_load_explicit(&net_g.limits.out_soft, memory_order_relaxed);
	long long pend = (long long)buf_pending(&c->out), used = 0;

	if (hard <= 0 && soft <= 0) {
		c->soft_since_ms = 0;
		return;
	}
	if (pend > NET_REPLY_STATIC_BYTES) {
		used = pend - NET_REPLY_STATIC_BYTES;
		if (used < NET_REPLY_STATIC_BYTES)
			used = NET_REPLY_STATIC_BYTES;
	}
	if (hard > 0 && used > hard) {
		c->flags |= CONN_F_CLOSE_ASAP;
		return;
	}
	if (soft > 0 && used > soft) {
		int64_t now = clock_wall_ms();
		long secs = atomic_load_explicit(&net_g.limits.out_soft_secs, memory_order_relaxed);

		if (c->soft_since_ms == 0)
			c->soft_since_ms = now;
		else if ((now - c->soft_since_ms) / 1000 > (int64_t)secs)
			c->flags |= CONN_F_CLOSE_ASAP;
	} else {
		c->soft_since_ms = 0;
	}
}

/* Over client-output-pause-limit: stop running and reading until drained. */
static int output_paused(struct conn *c)
{
	long long lim = atomic_load_explicit(&net_g.limits.pause_limit, memory_order_relaxed);

	if (lim > 0 && (long long)buf_pending(&c->out) > lim) {
		c->flags |= CONN_F_OUT_PAUSED;
		return 1;
	}
	c->flags &= ~CONN_F_OUT_PAUSED;
	return 0;
}

enum proc_stop { PROC_NEED_INPUT, PROC_BUDGET, PROC_PAUSED, PROC_BLOCKED, PROC_HELD, PROC_CLOSE };

/* A blocked connection: asks the server whether its blocking command has
 * answered (net_opts.resume). true: it runs its pipeline again. */
static bool still_blocked(struct conn *c)
{
	/* relaxed: only this runner writes the flag */
	if (!atomic_load_explicit(&c->blocked, memory_order_relaxed))
		return false;
	if (!net_g.opts.resume(c))
		return true;
	atomic_store_explicit(&c->blocked, 0, memory_order_relaxed);
	return false;
}

/* Adds the error replies reply.c counted on c to w's statistics: after each
 * command, so INFO later in the same pipeline counts them. */
static void count_errors(struct conn *c, struct worker *w)
{
	if (c->nerrors) {
		/* relaxed: statistic */
		atomic_fetch_add_explicit(&w->st.errors, c->nerrors, memory_order_relaxed);
		c->nerrors = 0;
	}
}

/* Shows the server (net_opts.prefetch) the complete requests that follow in
 * c's query buffer, up to NET_PEEK_MAX, if there are two or more. Returns
 * how many bytes of the buffer that look-ahead covers: the loop looks again
 * once it has run them (and when it covers nothing, all that is pending, so
 * it is not tried again at every command of the run). */
static size_t look_ahead(struct conn *c, struct worker *w)
{
	struct resp_peek pk[NET_PEEK_MAX];
	size_t left = buf_pending(&c->in), off;

	if (c->peek_idle) {
		c->peek_idle--;
		return left;
	}
	int n = resp_req_peek(c->in.data + c->in.rpos, left, c->req.max_bulk_len, pk, NET_PEEK_MAX,
			      &off);

	if (n >= 2) {
		if (net_g.opts.prefetch(c, n, pk))
			/* relaxed: statistics */
			atomic_fetch_add_explicit(&w->st.lookaheads_used, 1, memory_order_relaxed);
		else
			c->peek_idle = NET_PEEK_BACKOFF;
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.lookaheads, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->st.peeked, (uint64_t)n, memory_order_relaxed);
	}
	return off ? off : left;
}

/* Parses and runs complete commands in the query buffer, at most *budget
 * commands, until their replies add up to *out_budget bytes and until the
 * monotonic clock passes deadline_ns. */
static enum proc_stop conn_process(struct conn *c, struct worker *w, long *budget,
				   size_t *out_budget, int64_t deadline_ns)
{
	uint64_t ncmd = 0;
	size_t ahead = 0; /* bytes from rpos the last look-ahead covered */
	enum proc_stop why = PROC_NEED_INPUT;

	c->req.max_bulk_len = atomic_load_explicit(&net_g.limits.max_bulk, memory_order_relaxed);
	c->req.auth_required = !c->authenticated;
	if (still_blocked(c))
		return PROC_BLOCKED;
	while (buf_pending(&c->in) > 0) {
		const char *base = c->in.data + c->in.rpos;
		size_t used = 0;
		enum resp_status st;

		if (c->flags & (CONN_F_CLOSE_AFTER_REPLY | CONN_F_CLOSE_ASAP)) {
			why = PROC_CLOSE;
			break;
		}
		/* CLIENT KILL from another worker while this run goes on: run nothing more,
		 * as Redis. relaxed: the killer's reply and the client's next request are
		 * system calls after the store and before this load; a command that races
		 * with the kill itself may still run. */
		if (atomic_load_explicit(&c->kill, memory_order_relaxed)) {
			c->flags |= CONN_F_CLOSE_ASAP;
			why = PROC_CLOSE;
			break;
		}
		if (*budget <= 0 || *out_budget == 0 ||
		    (ncmd % RUN_TIME_EVERY == 0 && clock_mono_ns() >= deadline_ns)) {
			why = PROC_BUDGET;
			break;
		}
		if (output_paused(c)) {
			why = PROC_PAUSED;
			break;
		}
		if (c->held) {
			/* parsed before CLIENT PAUSE held it back: run it now */
			used = c->held;
			c->held = 0;
			st = RESP_OK;
		} else {
			st = resp_req_parse(&c->req, base, buf_pending(&c->in), &used);
		}
		if (st == RESP_INCOMPLETE) {
			big_divert(c);
			break;
		}
		if (st != RESP_OK) {
			reply_error(c, c->req.err);
			c->flags |= CONN_F_CLOSE_AFTER_REPLY;
			why = PROC_CLOSE;
			break;
		}
		if (c->req.argc > 0) {
			ensure_argv(c, c->req.argc);
			for (int i = 0; i < c->req.argc; i++) {
				c->argv[i] = resp_req_argp(&c->req, base, i);
				c->argl[i] = c->req.argv[i].len;
			}
			if (pause_blocks(c->req.argc, c->argv, c->argl)) {
				if (atomic_load_explicit(&net_g.limits.draining,
							 memory_order_relaxed)) {
					/* shutdown while paused: as Redis, the paused
					 * command never runs (nor what follows it); the
					 * replies made before it are flushed, then the
					 * connection closes */
					c->flags |= CONN_F_CLOSE_AFTER_REPLY;
					why = PROC_CLOSE;
					break;
				}
				/* keep it parsed (its large bulks may live outside
				 * the buffer): the next run starts with it */
				c->held = used;
				atomic_store_explicit(&c->pause_wait, 1, memory_order_relaxed);
				/* release: pause_wait before the hint; pairs with the
				 * acquire exchange in the owner's cron (worker.c) */
				atomic_store_explicit(&c->owner->pause_hint, 1,
						      memory_order_release);
				why = PROC_PAUSED;
				break;
			}
			{
				size_t out0 = buf_pending(&c->out), made;

				net_g.opts.dispatch(c, c->req.argc, c->argv, c->argl);
				made = buf_pending(&c->out);
				made = made > out0 ? made - out0 : 0;
				*out_budget = made >= *out_budget ? 0 : *out_budget - made;
			}
			count_errors(c, w);
			if (c->nbig)
				big_release(c);
			/* The reply is copied out and dispatch keeps no map pointer:
			 * a quiescent state, so a run of many long commands never holds
			 * reclamation back for longer than one of them. */
			net_g.opts.quiescent();
			ncmd++;
			(*budget)--;
			c->req.auth_required = !c->authenticated;
			check_output_limit(c);
		}
		buf_consume(&c->in, used);
		if (c->flags & CONN_F_CLOSE_ASAP) {
			why = PROC_CLOSE; /* over a limit: send nothing more */
			break;
		}
		/* A pipeline: from its second command on, let the server see the
		 * next ones before they run (a lone request never pays for it). */
		ahead = ahead > used ? ahead - used : 0;
		if (ahead == 0 && net_g.opts.prefetch && buf_pending(&c->in) > 0 &&
		    c->authenticated && !c->held)
			ahead = look_ahead(c, w);
		/* relaxed: this runner's own flag (conn_block in dispatch) */
		if (atomic_load_explicit(&c->blocked, memory_order_relaxed)) {
			why = PROC_BLOCKED; /* the rest of the pipeline waits */
			break;
		}
		if (buf_pending(&c->out) >= OUT_FLUSH_AT && conn_flush(c, w) < 0) {
			c->flags |= CONN_F_CLOSE_ASAP;
			why = PROC_CLOSE;
			break;
		}
		if (c->flags & CONN_F_HELD) {
			why = PROC_HELD; /* run nothing more until the replies leave */
			break;
		}
	}
	count_errors(c, w); /* a protocol error's reply */
	if (ncmd) {
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.commands, ncmd, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->ncmds, ncmd, memory_order_relaxed);
	}
	return why;
}

static void publish_mirrors(struct conn *c)
{
	/* relaxed: statistics for CLIENT LIST on other threads */
	atomic_store_explicit(&c->st_qbuf, buf_pending(&c->in) + c->big_bytes,
			      memory_order_relaxed);
	atomic_store_explicit(&c->st_omem, buf_pending(&c->out), memory_order_relaxed);
	atomic_store_explicit(&c->st_events, (c->flags & CONN_F_WANT_WRITE) != 0,
			      memory_order_relaxed);
}

/*
 * Queued messages (net_opts.deliver) beyond what the run started with: more
 * each time the reply buffer was written out, a window at a time, so that a
 * subscriber that does not read keeps its backlog queued (shared) rather
 * than formatted in its buffer. Returns -1 to close, 1 when the run's
 * output budget is spent with messages left (the task is re-queued), else 0
 * (nothing left, or the socket is full and its writable edge brings the
 * connection back).
 */
static int deliver_more(struct conn *c, struct worker *w, size_t *out_budget)
{
	while (c->deliver_more) {
		size_t before;

		if (buf_pending(&c->out) > 0)
			return 0;
		if (*out_budget == 0)
			return 1;
		before = buf_pending(&c->out);
		c->deliver_more = net_g.opts.deliver(c, DELIVER_WINDOW);
		before = buf_pending(&c->out) - before;
		*out_budget = before >= *out_budget ? 0 : *out_budget - before;
		if (conn_flush(c, w) < 0)
			return -1;
	}
	return 0;
}

/* What a read does to the run (took): go on, read no more, or close. */
enum took { TOOK_MORE, TOOK_STOP, TOOK_CLOSE };

/*
 * A read of `want` bytes (into the large bulk b, or the query buffer) that
 * returned n, errno err when n < 0 — a read(2)'s, or the read-ahead's made
 * on a ring (conn_read_ahead_*): the bytes counted in, the socket's state
 * noted (*drained, conn.readable), the query buffer's limit checked, *bytes
 * (the run's read budget) charged.
 */
static enum took took(struct conn *c, struct worker *w, struct conn_bigarg *b, size_t want,
		      ssize_t n, int err, int *drained, size_t *bytes)
{
	long long qlimit;

	if (n > 0) {
		/* A read that returned less than it asked for emptied the
		 * socket's receive queue (stream sockets: epoll(7), Q9): run
		 * what it brought, then stop without the read that would
		 * only say EAGAIN — one read per request at pipeline 1, as
		 * Redis. Bytes arriving after it raise a new edge on the
		 * owner's loop (EPOLLET), which schedules us again. A FIN
		 * that arrived with the data raises none: the loop's
		 * EPOLLRDHUP sets rdhup, and then we read to EOF.
		 * relaxed: conn_schedule()'s CAS ordered the flag. */
		if ((size_t)n < want && !atomic_load_explicit(&c->rdhup, memory_order_relaxed))
			*drained = 1;
		else
			atomic_store_explicit(&c->readable, 1, memory_order_relaxed);
		if (b) {
			b->got += (size_t)n;
			c->big_bytes += (size_t)n;
			if (b->got == b->need)
				resp_req_put_bulk(&c->req, b->p);
		} else {
			c->in.len += (size_t)n;
		}
		*bytes = (size_t)n >= *bytes ? 0 : *bytes - (size_t)n;
		/* relaxed: statistics / idle clock read by the cron only */
		atomic_fetch_add_explicit(&w->st.in_bytes, (uint64_t)n, memory_order_relaxed);
		atomic_store_explicit(&c->last_ms, clock_wall_ms(), memory_order_relaxed);
		qlimit = atomic_load_explicit(&net_g.limits.query_limit, memory_order_relaxed);
		/* As Redis: checked after each read, before running anything
		 * in it; the client is closed without a reply. */
		if ((long long)(buf_pending(&c->in) + c->big_bytes) > qlimit)
			return TOOK_CLOSE;
		return TOOK_MORE;
	}
	if (n == 0) {
		/* EOF (the peer shut its side): what the commands read
		 * before it replied still goes out, best effort, as Redis
		 * writes them before its next read sees the EOF */
		if (!(c->flags & CONN_F_CLOSE_ASAP))
			(void)conn_flush(c, w);
		return TOOK_CLOSE;
	}
	if (err == EINTR) {
		atomic_store_explicit(&c->readable, 1, memory_order_relaxed);
		return TOOK_MORE;
	}
	if (err == EAGAIN || err == EWOULDBLOCK) {
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.reads_eagain, 1, memory_order_relaxed);
		return TOOK_STOP;
	}
	return TOOK_CLOSE;
}

/* Whether c's next run starts with a read of the query buffer's window that
 * a read-ahead may make for it: a readable edge came since the last empty
 * read, nothing is left unparsed (so the run would parse nothing before
 * reading), no large bulk is filling, and nothing stops the run before its
 * first read or keeps it from reading (a kill, held or paused replies or
 * commands, a blocked command, closing, shutdown's drain, MONITOR). Called
 * by the holder of the SCHEDULED connection (task.c: conn_task_read_ahead). */
bool conn_reads_first(struct conn *c)
{
	/* relaxed: each flag is ordered for the holder as for a runner (the
	 * schedule's CAS, the deque's hand-off); a late change is followed by
	 * a conn_schedule(), and the run sees it then */
	return !c->ra_ready && buf_pending(&c->in) == 0 && c->nbig == 0 &&
	       !(c->flags & (CONN_F_HELD | CONN_F_STOP_READING | CONN_F_CLOSE_ASAP |
			     CONN_F_CLOSE_AFTER_REPLY | CONN_F_OUT_PAUSED | CONN_F_MONITOR)) &&
	       atomic_load_explicit(&c->readable, memory_order_relaxed) &&
	       !atomic_load_explicit(&c->kill, memory_order_relaxed) &&
	       !atomic_load_explicit(&c->blocked, memory_order_relaxed) &&
	       !atomic_load_explicit(&c->pause_wait, memory_order_relaxed) &&
	       !atomic_load_explicit(&net_g.limits.draining, memory_order_relaxed);
}

size_t conn_read_ahead_begin(struct conn *c, void **p)
{
	size_t want = read_window(c);

	/* relaxed: as the run's exchange before each read; an edge that comes
	 * after this store stays set for the run (its bytes may or may not be
	 * in this read: either way the run reads again) */
	atomic_store_explicit(&c->readable, 0, memory_order_relaxed);
	buf_reserve(&c->in, want);
	c->ra_want = want;
	*p = c->in.data + c->in.len;
	return want;
}

void conn_read_ahead_end(struct conn *c, int res)
{
	if (res == CONN_READ_AHEAD_UNMADE) {
		/* the ring made no read: the run makes its own (relaxed: as the
		 * run's store after a read that left bytes) */
		atomic_store_explicit(&c->readable, 1, memory_order_relaxed);
		return;
	}
	c->ra_res = res;
	c->ra_ready = true;
}

/*
 * Runs the connection once. Returns 1 if it still has work (budget spent),
 * 0 if it is waiting for readiness, -1 if it must close.
 */
static int conn_run_once(struct conn *c, struct worker *w)
{
	long budget = atomic_load_explicit(&net_g.limits.run_budget, memory_order_relaxed);
	int draining = atomic_load_explicit(&net_g.limits.draining, memory_order_relaxed);
	size_t bytes = RUN_BYTE_BUDGET, out_bytes = RUN_BYTE_BUDGET;
	int64_t deadline = clock_mono_ns() + RUN_TIME_BUDGET_NS;
	int more = 0, drained = 0;

	c->run_ns = deadline - RUN_TIME_BUDGET_NS; /* task.c: conn.yielded */

	if (budget <= 0)
		budget = LONG_MAX;
	/* relaxed: the conn_schedule() that follows a kill request orders it */
	if (atomic_load_explicit(&c->kill, memory_order_relaxed))
		return -1;
	atomic_store_explicit(&c->pause_wait, 0, memory_order_relaxed);
	if (c->flags & CONN_F_MONITOR)
		monitor_take(c);
	if (c->flags & CONN_F_HELD) {
		/* held replies (before_write): this run is the server's conn_wake,
		 * or readiness meanwhile — go on only once they may leave */
		if (conn_flush(c, w) < 0)
			return -1;
		if (c->flags & CONN_F_HELD)
			return 0;
	}
	if (c->ra_ready) {
		/* the read-ahead made this run's first read (conn_reads_first:
		 * nothing was left to parse before it) */
		enum took t;

		c->ra_ready = false;
		t = took(c, w, NULL, c->ra_want, c->ra_res >= 0 ? c->ra_res : -1,
			 c->ra_res >= 0 ? 0 : -c->ra_res, &drained, &bytes);
		if (t == TOOK_CLOSE)
			return -1;
		if (t == TOOK_STOP)
			drained = 1; /* EAGAIN: nothing to read in this run */
		/* Bytes that came after the read-ahead raised an edge while the
		 * task waited SCHEDULED, and that edge's conn_schedule() did
		 * nothing: they are this run's to read, as a run that reads
		 * first would have. relaxed RMW: reads the flag's newest value,
		 * as the exchange before each read does (net_internal.h) */
		if (drained && atomic_fetch_or_explicit(&c->readable, 0, memory_order_relaxed))
			drained = 0;
	}
	if (net_g.opts.deliver && buf_pending(&c->out) < DELIVER_WINDOW)
		c->deliver_more = net_g.opts.deliver(c, DELIVER_WINDOW - buf_pending(&c->out));
	for (;;) {
		enum proc_stop why = conn_process(c, w, &budget, &out_bytes, deadline);

		if (why == PROC_CLOSE || why == PROC_HELD)
			break;
		if (why == PROC_BLOCKED && draining) {
			/* shutdown: as Redis, a blocked client is closed unanswered
			 * (what earlier commands replied is flushed first) */
			(void)conn_flush(c, w);
			return -1;
		}
		if (why == PROC_BUDGET) {
			more = 1;
			break;
		}
		if (why == PROC_PAUSED) {
			/* output over the pause limit (or CLIENT PAUSE): try to drain
			 * it now and go on if that brought it under — each round runs
			 * at least one command, so the budget bounds this loop. Else
			 * the writable edge (or the pause's end) brings us back. */
			if (conn_flush(c, w) < 0)
				return -1;
			if ((c->flags & CONN_F_OUT_PAUSED) && !output_paused(c))
				continue;
			break;
		}
		if (draining || (c->flags & CONN_F_STOP_READING))
			break;
		if (drained)
			break; /* the last read emptied the socket: nothing more to read */
		if (bytes == 0) {
			more = 1;
			break;
		}
		{
			struct conn_bigarg *b = big_filling(c);
			enum took t;
			size_t want;
			ssize_t n;

			/* nothing arrived since a read found the socket empty: the
			 * read would only say EAGAIN (net_internal.h, readable) */
			if (!atomic_exchange_explicit(&c->readable, 0, memory_order_relaxed)) {
				atomic_fetch_add_explicit(&w->st.reads_skipped, 1,
							  memory_order_relaxed);
				break;
			}
			if (b) {
				/* exactly what the large bulk still lacks */
				want = b->need - b->got;
				n = read(c->fd, b->p + b->got, want);
			} else {
				want = read_window(c);
				buf_reserve(&c->in, want);
				n = read(c->fd, c->in.data + c->in.len, want);
			}
			/* relaxed: statistics */
			atomic_fetch_add_explicit(&w->st.reads, 1, memory_order_relaxed);
			t = took(c, w, b, want, n, n < 0 ? errno : 0, &drained, &bytes);
			if (t == TOOK_CLOSE)
				return -1;
			if (t == TOOK_STOP)
				break;
		}
	}
	if (c->flags & CONN_F_CLOSE_ASAP)
		return -1;
	if (!flush_held(c)) {
		if (w->ring && net_ring_ok(w->ring) && buf_pending(&c->out) > 0) {
			/* the run's last write goes out with the worker's other
			 * connections' (task.c: the send queue); run_tail follows
			 * in conn_sent */
			c->sq_more = more != 0;
			c->sq_draining = draining != 0;
			c->sq_out_budget = out_bytes;
			return CONN_RUN_SEND;
		}
		if (flush_send(c, w) < 0)
			return -1;
	}
	return run_tail(c, w, more, out_bytes, draining);
}

/* The end of a run, after its last write: deliveries beyond the first
 * window, close after the reply, shutdown's close, trimming the idle query
 * buffer. Returns conn_run's result. */
static int run_tail(struct conn *c, struct worker *w, int more, size_t out_bytes, int draining)
{
	if (c->flags & CONN_F_HELD)
		return 0; /* the server's conn_wake runs it again */
	if (c->deliver_more) {
		int r = deliver_more(c, w, &out_bytes);

		if (r < 0)
			return -1;
		more |= r;
	}
	if ((c->flags & CONN_F_CLOSE_AFTER_REPLY) && buf_pending(&c->out) == 0)
		return -1;
	if (draining && !more && buf_pending(&c->out) == 0 && !(c->flags & CONN_F_OUT_PAUSED) &&
	    !atomic_load_explicit(&c->pause_wait, memory_order_relaxed))
		return -1; /* shutdown: everything read has run and been written */
	if (buf_pending(&c->in) == 0 && c->in.cap > 64 * 1024) {
		buf_shrink_idle(&c->in, 64 * 1024);
		c->qb_alloc = 0; /* as Redis's cron trims an idle query buffer */
	}
	return more;
}

KV_HOT int conn_run(struct conn *c, struct worker *w)
{
	int r = conn_run_once(c, w);

	publish_mirrors(c);
	return r;
}

int conn_sent(struct conn *c, struct worker *w, int res)
{
	int r;

	if (res == CONN_SENT_PLAIN) {
		r = flush_send(c, w);
		goto tail;
	}
	/* relaxed: statistics (a ring send is a write, as a send(2) is) */
	atomic_fetch_add_explicit(&w->st.writes, 1, memory_order_relaxed);
	if (res > 0)
		flush_sent(c, w, (size_t)res);
	if (res == -EAGAIN || res == -EWOULDBLOCK) {
		flush_full(c, w);
		r = 0;
	} else if (res >= 0 || res == -EINTR) {
		/* sent (the rest, after a short count, with send(2): it then
		 * finds the socket full, as conn_flush's loop would), or
		 * interrupted: as conn_flush goes on */
		r = flush_send(c, w);
	} else {
		r = -1;
	}
tail:
	if (r == 0)
		r = run_tail(c, w, c->sq_more, c->sq_out_budget, c->sq_draining);
	publish_mirrors(c);
	return r;
}
