/*
 * control.c — operations on other clients: MONITOR feeds, CLIENT KILL,
 * CLIENT PAUSE / UNPAUSE, and the shutdown drain.
 *
 * MONITOR: a monitor connection is on monitor.c's list. A worker that ran a
 * command (the server calls net_monitor_feed with what Redis would show)
 * formats Redis's monitor line once and, under the monitor lock
 * (monitor_each_locked), appends it to each monitor's mon_pending buffer and
 * schedules the monitor; the monitor's runner moves mon_pending into its
 * reply buffer (monitor_take).
 *
 * CLIENT KILL marks the target's atomic kill word and schedules it: its
 * runner (whoever it is) returns -1 and the owner closes it. A client marked
 * already is neither counted again nor listed (CLIENT LIST), as Redis has
 * freed it. The registry lock, held while matching, keeps every target alive
 * until it is marked and scheduled — a connection is freed only after leaving
 * the registry. The socket closes when the owner closes the connection, after
 * CLIENT KILL has answered (Redis closes it before): a running client's
 * command in flight must finish before its peer sees EOF.
 *
 * CLIENT PAUSE is a deadline in the net state (state.c); runners leave a blocked command
 * in the query buffer and set pause_wait; each worker's cron schedules its
 * waiting connections once the deadline passes, and UNPAUSE schedules all
 * of them at once.
 */
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/monitor.h"
#include "net/state.h"
#include "net/task.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- MONITOR ------------------------------------------------------------ */

void net_monitor_start(struct conn *c)
{
	monitor_add(c);
}

/* An argument as Redis's MONITOR shows it (sdscatrepr). */
static void append_repr(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, RESP_REPR_MAX(n));
	b->len += resp_repr(b->data + b->len, s, n);
}

static void feed_one(struct conn *m, void *arg)
{
	const struct buf *line = arg;

	buf_append(&m->mon_pending, line->data + line->rpos, buf_pending(line));
	conn_schedule(m);
}

int net_monitor_any(void)
{
	return monitor_any();
}

void net_monitor_format(struct buf *line, struct conn *c, const char *who, int argc,
			const char **argv, const size_t *argl)
{
	int64_t now_us = clock_wall_us();
	char head[160];
	int n;

	if (who)
		n = snprintf(head, sizeof(head), "+%lld.%06lld [%d %s]",
			     (long long)(now_us / 1000000), (long long)(now_us % 1000000),
			     conn_db(c), who);
	else if (c->flags & CONN_F_UNIX)
		n = snprintf(head, sizeof(head), "+%lld.%06lld [%d unix:%s]",
			     (long long)(now_us / 1000000), (long long)(now_us % 1000000),
			     conn_db(c), net_g.opts.unixsocket ? net_g.opts.unixsocket : "");
	else
		n = snprintf(head, sizeof(head), "+%lld.%06lld [%d %s]",
			     (long long)(now_us / 1000000), (long long)(now_us % 1000000),
			     conn_db(c), c->addr);
	buf_append(line, head, (size_t)n);
	for (int i = 0; i < argc; i++) {
		buf_append(line, " ", 1);
		append_repr(line, argv[i], argl[i]);
	}
	buf_append(line, "\r\n", 2);
}

void net_monitor_feed_lines(const struct buf *lines)
{
	if (buf_pending(lines) && monitor_any())
		monitor_each_locked(feed_one, (void *)lines);
}

void net_monitor_feed(struct conn *c, int argc, const char **argv, const size_t *argl)
{
	struct buf line;

	if (!monitor_any())
		return;
	buf_init(&line);
	net_monitor_format(&line, c, NULL, argc, argv, argl);
	monitor_each_locked(feed_one, &line);
	buf_deinit(&line);
}

/* ---- CLIENT KILL -------------------------------------------------------- */

struct kill_ctx {
	struct conn *self, *skip;
	int type; /* -1 any, 0 normal, 1 pubsub */
	uint64_t id;
	const char *addr, *laddr;
	long killed;
	int kill_self;
};

static void kill_one(struct conn *c, void *arg)
{
	struct kill_ctx *k = arg;

	if (c == k->skip || (k->id && c->id != k->id) || (k->addr && strcmp(c->addr, k->addr)) ||
	    (k->laddr && strcmp(c->laddr, k->laddr)) ||
	    (k->type >= 0 && (int)conn_is_pubsub(c) != k->type))
		return;
	/* relaxed: set and read only under the registry lock here; killed already,
	 * it is gone for Redis, which frees a killed client at once */
	if (atomic_load_explicit(&c->kill, memory_order_relaxed))
		return;
	k->killed++;
	if (c == k->self) {
		k->kill_self = 1; /* after the reply, by the caller's runner */
		return;
	}
	/* relaxed: conn_schedule's acq_rel CAS (or the runner's NOTIFIED round)
	 * publishes it to the runner */
	atomic_store_explicit(&c->kill, 1, memory_order_relaxed);
	conn_schedule(c);
}

long net_client_kill(struct conn *self, uint64_t id, const char *addr, const char *laddr,
		     struct conn *skip)
{
	struct kill_ctx k = {self, skip, -1, id, addr, laddr, 0, 0};

	conn_foreach(kill_one, &k);
	if (k.kill_self)
		self->flags |= CONN_F_CLOSE_AFTER_REPLY;
	return k.killed;
}

long net_client_kill_type(struct conn *self, uint64_t id, const char *addr, const char *laddr,
			  struct conn *skip, bool pubsub)
{
	struct kill_ctx k = {self, skip, pubsub, id, addr, laddr, 0, 0};

	conn_foreach(kill_one, &k);
	if (k.kill_self)
		self->flags |= CONN_F_CLOSE_AFTER_REPLY;
	return k.killed;
}

/* ---- CLIENT PAUSE ------------------------------------------------------- */

static void resume_one(struct conn *c, void *arg)
{
	(void)arg;
	if (atomic_load_explicit(&c->pause_wait, memory_order_relaxed))
		conn_schedule(c);
}

void net_client_unpause(void)
{
	/* relaxed: see struct net_pause */
	atomic_store_explicit(&net_g.pause.until_ms, 0, memory_order_relaxed);
	conn_foreach(resume_one, NULL);
}

/* ---- shutdown drain ----------------------------------------------------- */

static void sched_one(struct conn *c, void *arg)
{
	(void)arg;
	conn_schedule(c);
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

void net_drain(long timeout_ms, struct net_drain_stats *st)
{
	struct net_stats before, after;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct event_base *base = net_main_base();
	struct event *tick = event_new(base, -1, EV_PERSIST, drain_tick, NULL);
	struct timeval tv = {0, 10000};

	memset(st, 0, sizeof(*st));
	net_get_stats(&before);
	st->clients = conn_count();
	atomic_store_explicit(&net_g.limits.draining, 1, memory_order_relaxed);
	conn_foreach(sched_one, NULL);
	event_add(tick, &tv);
	/* Run the listener's loop (signal events: a second signal exits at once)
	 * until every client is gone or the time is up. */
	while (conn_count() > 0 && clock_mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	net_get_stats(&after);
	st->timed_out = conn_count() > 0;
	st->clients_flushed = st->clients - conn_count();
	st->commands = after.commands_processed - before.commands_processed;
	st->bytes = after.net_output_bytes - before.net_output_bytes;
}
