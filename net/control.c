/*
 * control.c — operations on other clients: MONITOR feeds, CLIENT KILL,
 * CLIENT PAUSE / UNPAUSE, and the shutdown drain.
 *
 * MONITOR: a monitor connection is on a list under monitor_lock. A worker
 * that ran a command (the server calls net_monitor_feed with what Redis
 * would show) formats Redis's monitor line once and appends it to
 * each monitor's mon_pending buffer under the lock, then schedules the
 * monitor; the monitor's runner moves mon_pending into its reply buffer
 * (monitor_take). So a monitor's reply buffer is still written only by its
 * runner. A monitor is unlinked under the lock when it closes, so a feeder
 * holding the lock never sees a freed one.
 *
 * CLIENT KILL marks the target's atomic kill word and schedules it: its
 * runner (whoever it is) returns -1 and the owner closes it. The registry
 * lock, held while matching, keeps every target alive until it is marked
 * and scheduled — a connection is freed only after leaving the registry.
 *
 * CLIENT PAUSE is a deadline in an atomic; runners leave a blocked command
 * in the query buffer and set pause_wait; each worker's cron schedules its
 * waiting connections once the deadline passes, and UNPAUSE schedules all
 * of them at once.
 */
#include "concurrency/mem.h"
#include "net/net_internal.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

_Atomic int net_monitors;

static pthread_mutex_t monitor_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *monitors; /* under monitor_lock */

/* CLIENT PAUSE: relaxed — a deadline seen a moment late only delays a
 * command by that moment; publishes nothing */
static _Atomic int64_t pause_until;
static _Atomic int pause_all;
static _Atomic(net_cmd_class_fn) pause_is_write;

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- MONITOR ------------------------------------------------------------ */

void net_monitor_start(struct conn *c)
{
	if (c->flags & CONN_F_MONITOR)
		return;
	c->flags |= CONN_F_MONITOR;
	atomic_store_explicit(&c->st_monitor, 1, memory_order_relaxed);
	pthread_mutex_lock(&monitor_lock);
	c->mon_next = monitors;
	monitors = c;
	/* relaxed: a hint for feeders; the list itself is under the lock */
	atomic_fetch_add_explicit(&net_monitors, 1, memory_order_relaxed);
	pthread_mutex_unlock(&monitor_lock);
}

void monitor_detach(struct conn *c)
{
	pthread_mutex_lock(&monitor_lock);
	for (struct conn **p = &monitors; *p; p = &(*p)->mon_next)
		if (*p == c) {
			*p = c->mon_next;
			atomic_fetch_sub_explicit(&net_monitors, 1, memory_order_relaxed);
			break;
		}
	pthread_mutex_unlock(&monitor_lock);
}

void monitor_take(struct conn *c)
{
	pthread_mutex_lock(&monitor_lock);
	if (buf_pending(&c->mon_pending)) {
		buf_append(&c->out, c->mon_pending.data + c->mon_pending.rpos,
			   buf_pending(&c->mon_pending));
		buf_consume(&c->mon_pending, buf_pending(&c->mon_pending));
	}
	pthread_mutex_unlock(&monitor_lock);
}

/* An argument as Redis's MONITOR shows it (sdscatrepr). */
static void append_repr(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, RESP_REPR_MAX(n));
	b->len += resp_repr(b->data + b->len, s, n);
}

void net_monitor_feed(struct conn *c, int argc, const char **argv, const size_t *argl)
{
	struct buf line;
	struct timeval tv;
	char head[160];
	int n;

	/* relaxed: a hint that saves formatting; the list is under the lock */
	if (atomic_load_explicit(&net_monitors, memory_order_relaxed) == 0)
		return;
	gettimeofday(&tv, NULL);
	if (c->flags & CONN_F_UNIX)
		n = snprintf(head, sizeof(head), "+%ld.%06ld [%d unix:%s]", (long)tv.tv_sec,
			     (long)tv.tv_usec, conn_db(c),
			     net_opts_g.unixsocket ? net_opts_g.unixsocket : "");
	else
		n = snprintf(head, sizeof(head), "+%ld.%06ld [%d %s]", (long)tv.tv_sec,
			     (long)tv.tv_usec, conn_db(c), c->addr);
	buf_init(&line);
	buf_append(&line, head, (size_t)n);
	for (int i = 0; i < argc; i++) {
		buf_append(&line, " ", 1);
		append_repr(&line, argv[i], argl[i]);
	}
	buf_append(&line, "\r\n", 2);
	pthread_mutex_lock(&monitor_lock);
	for (struct conn *m = monitors; m; m = m->mon_next) {
		buf_append(&m->mon_pending, line.data, buf_pending(&line));
		conn_schedule(m);
	}
	pthread_mutex_unlock(&monitor_lock);
	buf_deinit(&line);
}

/* ---- CLIENT KILL -------------------------------------------------------- */

struct kill_ctx {
	struct conn *self, *skip;
	uint64_t id;
	const char *addr, *laddr;
	long killed;
	int kill_self;
};

static void kill_one(struct conn *c, void *arg)
{
	struct kill_ctx *k = arg;

	if (c == k->skip || (k->id && c->id != k->id) || (k->addr && strcmp(c->addr, k->addr)) ||
	    (k->laddr && strcmp(c->laddr, k->laddr)))
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
	struct kill_ctx k = {self, skip, id, addr, laddr, 0, 0};

	conn_foreach(kill_one, &k);
	if (k.kill_self)
		self->flags |= CONN_F_CLOSE_AFTER_REPLY;
	return k.killed;
}

/* ---- CLIENT PAUSE ------------------------------------------------------- */

void net_client_pause(int64_t until_ms, int all, net_cmd_class_fn is_write)
{
	atomic_store_explicit(&pause_is_write, is_write, memory_order_relaxed);
	atomic_store_explicit(&pause_all, all, memory_order_relaxed);
	atomic_store_explicit(&pause_until, until_ms, memory_order_relaxed);
}

int pause_active(void)
{
	int64_t until = atomic_load_explicit(&pause_until, memory_order_relaxed);

	return until != 0 && wall_ms() < until;
}

int pause_blocks(int argc, const char **argv, const size_t *argl)
{
	net_cmd_class_fn w;

	if (atomic_load_explicit(&pause_until, memory_order_relaxed) == 0 || !pause_active())
		return 0;
	if (atomic_load_explicit(&pause_all, memory_order_relaxed))
		return 1;
	w = atomic_load_explicit(&pause_is_write, memory_order_relaxed);
	return w && w(argc, argv, argl);
}

static void resume_one(struct conn *c, void *arg)
{
	(void)arg;
	if (atomic_load_explicit(&c->pause_wait, memory_order_relaxed))
		conn_schedule(c);
}

void net_client_unpause(void)
{
	atomic_store_explicit(&pause_until, 0, memory_order_relaxed);
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
	int64_t deadline = wall_ms() + timeout_ms;
	struct event_base *base = net_main_base();
	struct event *tick = event_new(base, -1, EV_PERSIST, drain_tick, NULL);
	struct timeval tv = {0, 10000};

	memset(st, 0, sizeof(*st));
	net_get_stats(&before);
	st->clients = conn_count();
	atomic_store_explicit(&net_limits_g.draining, 1, memory_order_relaxed);
	conn_foreach(sched_one, NULL);
	event_add(tick, &tv);
	/* Run the listener's loop (signal events: a second signal exits at once)
	 * until every client is gone or the time is up. */
	while (conn_count() > 0 && wall_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	net_get_stats(&after);
	st->timed_out = conn_count() > 0;
	st->clients_flushed = st->clients - conn_count();
	st->commands = after.commands_processed - before.commands_processed;
	st->bytes = after.net_output_bytes - before.net_output_bytes;
}
