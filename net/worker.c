/*
 * worker.c — worker threads and the scheduler: work stealing and parking.
 *
 * Each worker runs its own libevent event_base. A worker owns the
 * connections handed to it (their sockets are registered, edge-triggered,
 * on its base); readiness does not run a connection but schedules it onto
 * the worker's deque (conn_schedule → sched_submit). Any worker may run a
 * scheduled connection: the task word in struct conn guarantees one runner.
 *
 * The deque (concurrency/wsq) is a bounded Chase–Lev deque: the owner
 * pushes and takes at the bottom (LIFO, cache-warm), thieves steal the
 * oldest at the top. We chose the bounded Chase–Lev over Tokio's ring with
 * overflow to a global queue because the published C11 orderings come with
 * a proof, take/steal of one element is all connection tasks need (each runs
 * up to run-budget-commands), and fixing the size removes the resize and
 * with it the only part that needs memory reclamation. A full deque, a
 * connection that spent its budget, and anything scheduled from a thread
 * that is not a worker go to a worker's MPSC inbox instead, which is drained
 * into the deque whenever the deque runs dry — so yielded connections queue
 * behind everyone else (fairness) and the deque stays a batch of one poll.
 *
 * One loop iteration of a worker:
 *   take from own deque; else drain own inbox; else poll own event loop
 *   without blocking (readiness → deque); else, if stealing is on and fewer
 *   than half the workers are searching, search: steal from random victims;
 *   else park.
 *
 * Parking: the worker marks itself PARKED and registers with the eventcount
 * (net_sched_g.ec: seq_cst), then re-checks its inbox and deque — and every
 * deque if it may steal — and only then blocks in event_base_loop(ONCE): the
 * blocking epoll_wait. A producer publishes work first, then asks the
 * eventcount (seq_cst fence + one load) whether anyone is parked: when
 * nobody is, nothing else happens (no system call). Otherwise, and only if
 * no worker is already searching, it wakes one parked worker by CAS PARKED →
 * NOTIFIED and event_active() on that worker's wake event, which writes the
 * base's eventfd once. The two seq_cst sides form a Dekker pair: either the
 * parker's re-check sees the work or the producer sees the parker.
 *
 * Searching (Tokio's rules): at most half the workers search at once; a new
 * task wakes a worker only if none is searching; a searcher that finds work
 * stops searching and, if it was the last searcher and work remains, wakes
 * one more (a chain, not a herd). A searcher that gives up re-checks every
 * deque after registering as parked, so a producer that saw it searching
 * and did not wake anyone loses nothing.
 *
 * Write interest of a stolen connection: the socket stays registered on the
 * owner's base for EV_READ|EV_WRITE, persistent and edge-triggered, from
 * attach to close. A runner on any worker that gets EAGAIN on write just
 * returns; when the socket drains, the owner's loop sees the edge and
 * schedules the connection again (or sets NOTIFIED if it is still running).
 * Nothing is re-armed, so no loop other than the owner's ever touches the
 * event. Closing is the owner's: a runner elsewhere sends the connection
 * (still RUNNING) to the owner's inbox with CONN_Q_CLOSE.
 *
 * Storage sections: a worker is online while it runs connections, announces
 * a quiescent state after each, and is offline whenever it calls into its
 * event loop (polling or parked) — so a parked worker never holds up
 * reclamation.
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

#define DEQUE_SLOTS 4096

struct net_sched net_sched_g;

static struct worker *workers;
static int nworkers;
static unsigned rr_next; /* listener thread only */
static __thread struct worker *self_w;

int workers_count(void)
{
	return nworkers;
}

struct worker *worker_get(int i)
{
	return &workers[i];
}

struct worker *worker_self(void)
{
	return self_w;
}

static int stealing_on(void)
{
	return nworkers > 1 && atomic_load_explicit(&net_limits_g.stealing, memory_order_relaxed);
}

/* Wakes w if it is parked; the CAS makes the eventfd write happen once per park. */
static int wake_worker(struct worker *w)
{
	int s = WORKER_PARKED;

	/* acq_rel: pairs with the worker's seq_cst exchange to PARKED; the work
	 * published before the caller's fence is visible to the woken worker */
	if (atomic_compare_exchange_strong_explicit(&w->parked, &s, WORKER_NOTIFIED,
						    memory_order_acq_rel, memory_order_relaxed)) {
		event_active(w->wake_ev, EV_READ, 0);
		return 1;
	}
	return 0;
}

/* New stealable work was published by the caller: wake one parked worker
 * if nobody is searching already. No system call when nobody is parked. */
static void notify_work(struct worker *from)
{
	int start;

	if (!stealing_on())
		return;
	/* park_has_waiters: seq_cst fence (orders the push before the loads
	 * below; pairs with park_prepare in park_worker) + load of the count */
	if (park_has_waiters(&net_sched_g.ec) == 0)
		return;
	/* relaxed: ordered by the fence above */
	if (atomic_load_explicit(&net_sched_g.searching, memory_order_relaxed) > 0)
		return;
	start = from ? (int)(from->rng % (unsigned)nworkers) : 0;
	for (int k = 0; k < nworkers; k++) {
		struct worker *w = &workers[(start + k) % nworkers];

		if (w != from && wake_worker(w))
			return;
	}
}

/* Sends c to w's inbox and wakes w if it is parked. Any thread. */
static void inbox_push(struct worker *w, struct conn *c, int op)
{
	c->inbox_op = op;
	mpscq_push(&w->inbox, &c->qnode); /* release: publishes inbox_op and c */
	/* seq_cst: the push is ordered before reading `parked`; pairs with the
	 * fence after the worker's exchange to PARKED (Dekker) */
	atomic_thread_fence(memory_order_seq_cst);
	if (w != self_w)
		wake_worker(w);
}

void sched_submit(struct conn *c)
{
	struct worker *me = self_w;

	if (me && (me == c->owner || stealing_on())) {
		if (wsq_push(&me->dq, c) == 0) {
			if (wsq_size_approx(&me->dq) > 1)
				notify_work(me); /* more than we are about to run */
			return;
		}
		inbox_push(me, c, CONN_Q_RUN); /* deque full: overflow to the inbox */
		return;
	}
	inbox_push(c->owner, c, CONN_Q_RUN);
}

/* Runs one scheduled connection to completion of this run. */
static void run_task(struct worker *w, struct conn *c)
{
	int r;

	/* acquire: the scheduler's CAS (acq_rel) released what it wrote before
	 * queueing the connection; SCHEDULED → RUNNING observes it */
	atomic_exchange_explicit(&c->task, CONN_RUNNING, memory_order_acquire);
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&w->st.tasks, 1, memory_order_relaxed);
	for (;;) {
		uint32_t s = CONN_RUNNING;

		r = conn_run(c);
		net_opts_g.quiescent();
		if (r != 0)
			break;
		/* RUNNING → IDLE unless NOTIFIED arrived meanwhile.
		 * release on success: this run's writes are visible to whoever
		 * schedules the connection next (pairs with conn_schedule()'s CAS);
		 * acquire on failure: the notifier's writes are seen by the next round */
		if (atomic_compare_exchange_strong_explicit(
			&c->task, &s, CONN_IDLE, memory_order_acq_rel, memory_order_acquire))
			return;
		/* NOTIFIED was set: clear it and run again */
		atomic_store_explicit(&c->task, CONN_RUNNING, memory_order_relaxed);
	}
	if (r < 0) {
		if (c->owner == w)
			conn_close(c);
		else
			inbox_push(c->owner, c, CONN_Q_CLOSE); /* stays RUNNING until closed */
		return;
	}
	/* Budget spent: queue behind everyone else. A NOTIFIED bit is dropped:
	 * the next run reads and writes until EAGAIN anyway. release: this run's
	 * writes are visible to the next runner (its exchange acquires). */
	atomic_store_explicit(&c->task, CONN_SCHEDULED, memory_order_release);
	inbox_push(w, c, CONN_Q_RUN);
}

/* Moves the inbox into the deque (or acts on it). Owner only. */
static void drain_inbox(struct worker *w)
{
	struct mpscq_node *n = mpscq_take_all(&w->inbox);

	while (n) {
		struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, qnode));

		n = n->next;
		switch (c->inbox_op) {
		case CONN_Q_NEW:
			conn_attach(c, w); /* schedules it */
			break;
		case CONN_Q_CLOSE:
			conn_close(c);
			break;
		default:
			if (wsq_push(&w->dq, c) != 0) {
				/* full: run it now rather than lose it */
				net_opts_g.online();
				run_task(w, c);
				net_opts_g.offline();
			}
			break;
		}
	}
}

static int any_deque_nonempty(void)
{
	for (int i = 0; i < nworkers; i++)
		if (wsq_size_approx(&workers[i].dq) > 0)
			return 1;
	return 0;
}

static void stop_searching(struct worker *w, int found)
{
	if (!w->searching)
		return;
	w->searching = 0;
	/* seq_cst: ordered with producers' fence before they read the count */
	if (atomic_fetch_sub_explicit(&net_sched_g.searching, 1, memory_order_seq_cst) == 1 &&
	    found && any_deque_nonempty())
		notify_work(w); /* last searcher found work: wake one more */
}

/* Tries to become a searcher: at most half the workers search at once. */
static int start_searching(struct worker *w)
{
	int n = atomic_load_explicit(&net_sched_g.searching, memory_order_relaxed);

	if (w->searching)
		return 1;
	do {
		if (2 * (n + 1) > nworkers)
			return 0;
		/* seq_cst: see stop_searching() */
	} while (!atomic_compare_exchange_weak_explicit(
	    &net_sched_g.searching, &n, n + 1, memory_order_seq_cst, memory_order_relaxed));
	w->searching = 1;
	return 1;
}

static struct conn *steal_task(struct worker *w)
{
	if (!start_searching(w))
		return NULL;
	for (int round = 0; round < 2; round++) {
		int start;

		w->rng = w->rng * 1103515245u + 12345u;
		start = (int)((w->rng >> 16) % (unsigned)nworkers);
		for (int k = 0; k < nworkers; k++) {
			struct worker *v = &workers[(start + k) % nworkers];
			void *x;
			int rc;

			if (v == w)
				continue;
			do
				rc = wsq_steal(&v->dq, &x);
			while (rc == -EAGAIN);
			if (rc == 0) {
				/* relaxed: statistics */
				atomic_fetch_add_explicit(&w->st.steals, 1, memory_order_relaxed);
				stop_searching(w, 1);
				return x;
			}
		}
	}
	atomic_fetch_add_explicit(&w->st.failed_steals, 1, memory_order_relaxed);
	return NULL;
}

/* Blocks in the event loop until readiness, a timer or a wake-up. Called
 * online; returns online. */
static void park_worker(struct worker *w)
{
	int may_steal = w->searching;
	int work;

	stop_searching(w, 0);
	net_opts_g.offline();
	/* seq_cst: PARKED is visible before we re-check the queues; pairs with
	 * the fence in inbox_push() */
	atomic_exchange_explicit(&w->parked, WORKER_PARKED, memory_order_seq_cst);
	(void)park_prepare(&net_sched_g.ec); /* seq_cst: pairs with notify_work() */
	atomic_thread_fence(memory_order_seq_cst);
	work = !mpscq_empty(&w->inbox) || wsq_size_approx(&w->dq) > 0 ||
	       (may_steal && any_deque_nonempty()) ||
	       atomic_load_explicit(&w->stop, memory_order_relaxed);
	if (!work) {
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.parks, 1, memory_order_relaxed);
		event_base_loop(w->base, EVLOOP_ONCE);
	}
	park_cancel(&net_sched_g.ec);
	/* acquire: pairs with the waker's CAS, so its published work is seen */
	if (atomic_exchange_explicit(&w->parked, WORKER_RUNNING, memory_order_acquire) ==
	    WORKER_NOTIFIED)
		atomic_fetch_add_explicit(&w->st.wakeups, 1, memory_order_relaxed);
	net_opts_g.online();
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg; /* the loop returning is the point; the main loop drains */
}

static void cron_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	long timeout = atomic_load_explicit(&net_limits_g.timeout_s, memory_order_relaxed);
	int paused = pause_active();
	struct timespec ts;
	int64_t now;
	struct conn *c, *next;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (c = w->conns; c; c = next) {
		next = c->next;
		/* relaxed: the pause flag is a hint; conn_schedule orders the run */
		if (!paused && atomic_load_explicit(&c->pause_wait, memory_order_relaxed)) {
			conn_schedule(c);
			continue;
		}
		if (timeout > 0) {
			int64_t last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);
			uint32_t idle = CONN_IDLE;

			/* claim the idle connection (IDLE → RUNNING) before closing:
			 * acquire, so the last runner's writes are complete */
			if (now - last > (int64_t)timeout * 1000 &&
			    atomic_compare_exchange_strong_explicit(&c->task, &idle, CONN_RUNNING,
								    memory_order_acquire,
								    memory_order_relaxed))
				conn_close(c);
		}
	}
	if (net_opts_g.thread_cron) {
		net_opts_g.online();
		net_opts_g.thread_cron(w->idx);
		net_opts_g.offline();
	}
}

static void close_all(struct worker *w)
{
	/* Every worker has left its run loop (joined by workers_stop before this
	 * runs): nothing else touches these connections. Queued ones are on the
	 * owner's list already, except new ones never attached. */
	struct mpscq_node *n = mpscq_take_all(&w->inbox);

	while (n) {
		struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, qnode));

		n = n->next;
		if (c->inbox_op == CONN_Q_NEW)
			conn_close(c);
	}
	while (w->conns) {
		struct conn *c = w->conns;

		/* best effort: send what is already queued */
		if (buf_pending(&c->out))
			(void)!write(c->fd, c->out.data + c->out.rpos, buf_pending(&c->out));
		conn_close(c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	self_w = w;
	if (net_opts_g.thread_start)
		net_opts_g.thread_start(w->idx);
	/* Online while running connections; offline inside the event loop. */
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		struct conn *c = wsq_take(&w->dq);

		if (c == NULL) {
			net_opts_g.offline();
			drain_inbox(w);
			c = wsq_take(&w->dq);
			if (c == NULL) {
				event_base_loop(w->base, EVLOOP_NONBLOCK);
				c = wsq_take(&w->dq);
			}
			net_opts_g.online();
		}
		if (c == NULL && stealing_on())
			c = steal_task(w);
		if (c == NULL) {
			park_worker(w);
			continue;
		}
		stop_searching(w, 1);
		run_task(w, c);
	}
	stop_searching(w, 0);
	if (net_opts_g.thread_stop)
		net_opts_g.thread_stop(w->idx);
	return NULL;
}

/* The cron interval for the current hz (net_set_hz; 10 before it is set). */
static struct timeval cron_interval(void)
{
	/* relaxed: a frequency; publishes nothing */
	int hz = atomic_load_explicit(&net_limits_g.hz, memory_order_relaxed);

	if (hz < NET_HZ_MIN)
		hz = hz <= 0 ? 10 : NET_HZ_MIN;
	if (hz > NET_HZ_MAX)
		hz = NET_HZ_MAX;
	if (hz == 1)
		return (struct timeval){1, 0};
	return (struct timeval){0, 1000000 / hz};
}

void net_set_hz(int hz)
{
	struct timeval tv;

	hz = hz < NET_HZ_MIN ? NET_HZ_MIN : hz > NET_HZ_MAX ? NET_HZ_MAX : hz;
	atomic_store_explicit(&net_limits_g.hz, hz, memory_order_relaxed); /* see net_limits */
	tv = cron_interval();
	/* Re-adding a pending persistent timer reschedules it with the new
	 * interval, from now on; event_add on another worker's base is safe
	 * (evthread locking). The workers exist until workers_stop(), which
	 * runs after every worker, and so every CONFIG SET, has finished. */
	for (int i = 0; i < nworkers; i++)
		event_add(workers[i].cron_ev, &tv);
}

int workers_start(int n, char *err, size_t errlen)
{
	struct timeval tv = cron_interval();

	park_init(&net_sched_g.ec);
	atomic_init(&net_sched_g.searching, 0);
	workers = mem_calloc((size_t)n, sizeof(*workers));
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		w->rng = 0x9e3779b9u * (unsigned)(i + 1);
		mpscq_init(&w->inbox);
		atomic_init(&w->parked, WORKER_RUNNING);
		atomic_init(&w->stop, 0);
		atomic_init(&w->nconns, 0);
		if (wsq_init(&w->dq, DEQUE_SLOTS) != 0) {
			snprintf(err, errlen, "cannot allocate worker %d's deque", i);
			return -ENOMEM;
		}
		w->base = event_base_new();
		if (w->base == NULL) {
			snprintf(err, errlen, "cannot create an event loop for worker %d", i);
			return -ENOMEM;
		}
		w->wake_ev = event_new(w->base, -1, 0, wake_cb, w);
		w->cron_ev = event_new(w->base, -1, EV_PERSIST, cron_cb, w);
		if (!w->wake_ev || !w->cron_ev || event_add(w->cron_ev, &tv) != 0) {
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
	int policy = atomic_load_explicit(&net_limits_g.assign, memory_order_relaxed);
	struct worker *w;

	if (policy == NET_ASSIGN_SINGLE) {
		w = &workers[0];
	} else if (policy == NET_ASSIGN_LEAST_LOADED) {
		w = &workers[0];
		for (int i = 1; i < nworkers; i++)
			/* relaxed: a load estimate */
			if (atomic_load_explicit(&workers[i].nconns, memory_order_relaxed) <
			    atomic_load_explicit(&w->nconns, memory_order_relaxed))
				w = &workers[i];
	} else {
		w = &workers[rr_next++ % (unsigned)nworkers];
	}
	c->owner = w;
	atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed);
	inbox_push(w, c, CONN_Q_NEW);
}

void workers_stop(void)
{
	for (int i = 0; i < nworkers; i++) {
		atomic_store_explicit(&workers[i].stop, 1, memory_order_relaxed);
		/* seq_cst: stop is visible before we look at `parked` (as inbox_push) */
		atomic_thread_fence(memory_order_seq_cst);
		wake_worker(&workers[i]);
	}
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		close_all(w);
	}
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		event_free(w->wake_ev);
		event_free(w->cron_ev);
		event_base_free(w->base);
		wsq_deinit(&w->dq);
	}
	mem_free(workers);
	workers = NULL;
	nworkers = 0;
}

int net_workers(void)
{
	return nworkers;
}

int net_worker_stats(int idx, struct net_worker_stats *out)
{
	struct worker *w;

	if (idx < 0 || idx >= nworkers)
		return -ENOENT;
	w = &workers[idx];
	/* relaxed: statistics */
	out->tasks = atomic_load_explicit(&w->st.tasks, memory_order_relaxed);
	out->steals = atomic_load_explicit(&w->st.steals, memory_order_relaxed);
	out->failed_steals = atomic_load_explicit(&w->st.failed_steals, memory_order_relaxed);
	out->parks = atomic_load_explicit(&w->st.parks, memory_order_relaxed);
	out->wakeups = atomic_load_explicit(&w->st.wakeups, memory_order_relaxed);
	return 0;
}
