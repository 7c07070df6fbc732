/*
 * worker.c — worker threads, each running its own libevent loop.
 *
 * A worker owns the connections handed to it: the listener pushes each new
 * connection onto the worker's inbox and activates the worker's inbox event
 * (libevent with pthreads support makes event_active() safe from another
 * thread and wakes the loop). The worker's loop then watches the sockets,
 * runs its run queue (conn.c), and every 1000/hz ms runs its cron: idle
 * timeouts and the server's per-thread housekeeping.
 *
 * Storage sections: a worker is offline (holds no map pointer) while its
 * loop blocks; worker_run_queue() goes online for the batch and announces a
 * quiescent state after each connection.
 */
#include "concurrency/mem.h"
#include "net/net_internal.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct worker *workers;
static int nworkers;
static unsigned rr_next; /* listener thread only */

int workers_count(void)
{
	return nworkers;
}

struct worker *worker_get(int i)
{
	return &workers[i];
}

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct conn *list, *c;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->inbox_lock);
	list = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	while ((c = list) != NULL) {
		list = c->next;
		conn_attach(c, w);
	}
}

static void run_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_run_queue(arg);
}

static void cron_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	long timeout = atomic_load_explicit(&net_limits_g.timeout_s, memory_order_relaxed);

	(void)fd;
	(void)what;
	if (timeout > 0) {
		struct timespec ts;
		int64_t now;
		struct conn *c, *next;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		for (c = w->conns; c; c = next) {
			int64_t last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);

			next = c->next;
			if (now - last > (int64_t)timeout * 1000 &&
			    (atomic_load_explicit(&c->task, memory_order_relaxed) &
			     CONN_STATE_MASK) == CONN_IDLE)
				conn_close(c);
		}
	}
	if (net_opts_g.thread_cron) {
		net_opts_g.online();
		net_opts_g.thread_cron(w->idx);
		net_opts_g.offline();
	}
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (net_opts_g.thread_start)
		net_opts_g.thread_start(w->idx);
	net_opts_g.offline();
	event_base_dispatch(w->base);
	net_opts_g.online();
	/* Close what is still open: the loop has stopped, nothing else touches them. */
	while (w->conns) {
		struct conn *c = w->conns;

		/* best effort: send what is already queued */
		if (buf_pending(&c->out))
			(void)!write(c->fd, c->out.data + c->out.rpos, buf_pending(&c->out));
		conn_close(c);
	}
	inbox_cb(-1, 0, w); /* connections handed over but never attached */
	while (w->conns)
		conn_close(w->conns);
	if (net_opts_g.thread_stop)
		net_opts_g.thread_stop(w->idx);
	return NULL;
}

int workers_start(int n, char *err, size_t errlen)
{
	int hz = net_opts_g.hz > 0 ? net_opts_g.hz : 10;
	struct timeval tv = {0, 1000000 / hz};

	if (hz == 1)
		tv = (struct timeval){1, 0};
	workers = mem_calloc((size_t)n, sizeof(*workers));
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		pthread_mutex_init(&w->inbox_lock, NULL);
		w->base = event_base_new();
		if (w->base == NULL) {
			snprintf(err, errlen, "cannot create an event loop for worker %d", i);
			return -ENOMEM;
		}
		w->inbox_ev = event_new(w->base, -1, 0, inbox_cb, w);
		w->run_ev = event_new(w->base, -1, 0, run_cb, w);
		w->stop_ev = event_new(w->base, -1, 0, stop_cb, w);
		w->cron_ev = event_new(w->base, -1, EV_PERSIST, cron_cb, w);
		if (!w->inbox_ev || !w->run_ev || !w->stop_ev || !w->cron_ev ||
		    event_add(w->cron_ev, &tv) != 0) {
			snprintf(err, errlen, "cannot create events for worker %d", i);
			return -ENOMEM;
		}
	}
	nworkers = n;
	for (int i = 0; i < n; i++) {
		int rc = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);

		if (rc != 0) {
			snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
			nworkers = i;
			return -rc;
		}
	}
	return 0;
}

void worker_hand_off(struct conn *c)
{
	struct worker *w = &workers[rr_next++ % (unsigned)nworkers];

	pthread_mutex_lock(&w->inbox_lock);
	c->next = w->inbox;
	w->inbox = c;
	pthread_mutex_unlock(&w->inbox_lock);
	event_active(w->inbox_ev, EV_READ, 0);
}

void workers_stop(void)
{
	for (int i = 0; i < nworkers; i++)
		event_active(workers[i].stop_ev, EV_READ, 0);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		event_free(w->inbox_ev);
		event_free(w->run_ev);
		event_free(w->stop_ev);
		event_free(w->cron_ev);
		event_base_free(w->base);
		pthread_mutex_destroy(&w->inbox_lock);
	}
	mem_free(workers);
	workers = NULL;
	nworkers = 0;
}

void net_get_stats(struct net_stats *s);
