/*
 * task.c — the connection task: its state machine and every hand-off of a
 * connection between threads.
 *
 * The task word (conn.task) says who may touch a connection:
 *
 *   IDLE ──conn_schedule──▶ SCHEDULED ──conn_task_run──▶ RUNNING ──▶ IDLE
 *                                                          │  ▲
 *                                        conn_schedule: NOTIFIED (go round)
 *
 *  - accept (conn_accept, listener): a new connection starts SCHEDULED — it
 *    is already queued, in its worker's inbox (CONN_Q_NEW), so a
 *    conn_schedule() from others (shutdown drain, CLIENT KILL, MONITOR)
 *    cannot queue it a second time before it has an owner; conn_attach()
 *    on the owner's loop submits it.
 *  - schedule (conn_schedule, any thread: the owner's readiness callback,
 *    CLIENT KILL / UNPAUSE / MONITOR feeds, the cron, the drain): IDLE →
 *    SCHEDULED and the connection goes to a deque or inbox (sched_submit);
 *    SCHEDULED stays; RUNNING gets the NOTIFIED bit, so the runner goes round
 *    once more before it returns to IDLE and readiness is never lost.
 *  - run (conn_task_run, any worker): SCHEDULED → RUNNING; only the thread
 *    that did this touches the buffers, the parser and the attributes. At the
 *    end RUNNING → IDLE by CAS, or, if NOTIFIED arrived, RUNNING again.
 *  - yield (conn_task_after, r = 1: budget spent): RUNNING → SCHEDULED and
 *    to the back of the runner's inbox (fairness); the reserve guest's
 *    runs to the owner's, and an owner's to a parked peer's, which keeps
 *    the connection from then on (worker_yield_home).
 *  - close (conn_task_after, r = -1): closing is the owner loop's — the
 *    runner closes if it owns the connection, else sends it to the owner's
 *    inbox (CONN_Q_CLOSE) still RUNNING, so nobody can schedule it meanwhile.
 *    The idle-timeout cron claims IDLE → RUNNING (conn_task_claim_idle)
 *    before it closes. Other threads only ask: the kill word, then
 *    conn_schedule().
 *
 *  - send (conn_task_after, r = CONN_RUN_SEND): a run that ended with
 *    replies to write, on a worker with a ring (net/uring.h), is not over:
 *    the connection goes on the runner's send queue, still RUNNING — so
 *    nobody else runs, steals or closes it, and a conn_schedule()
 *    meanwhile sets NOTIFIED as during any run. When the worker goes
 *    offline (its deque ran dry, or it polls or lends its core: Redis's
 *    beforeSleep; worker.c: worker_offline), SENDQ_NS after the first was
 *    queued,
 *    or when the queue reaches SENDQ_MAX connections or SENDQ_BYTES,
 *    conn_task_flush() prepares a send for each on the ring and submits
 *    them with one io_uring_enter (a queue of one: send(2), cheaper than a
 *    submit of one) and, in queue order, ends each run: conn_sent()
 *    applies the result as a send(2)'s and runs what the run had left
 *    (conn_io.c), then the end-of-run CAS to IDLE as conn_task_run does —
 *    and if NOTIFIED came meanwhile, RUNNING → SCHEDULED (release) and
 *    sched_submit, where conn_task_run would have gone round at once.
 *    A worker stuck in one long task after queueing sends would hold those
 *    replies for the task's length, so a guest that takes its loop token
 *    (worker.c: poll_stuck) also ends the runs on its send queue, with
 *    send(2)s of its own (conn_task_flush_guest): the send queue is loop
 *    side, touched only by the holder of its worker's token (the worker
 *    queues and flushes only between tasks, holding it).
 *    Only a run's last write is queued; writes in the middle of a run
 *    (large replies, held AOF replies, deliveries past the first window)
 *    are send(2)s as before.
 *
 *  - read-ahead (conn_task_read_ahead): a worker with a ring, about to run
 *    a connection whose run would start with a read (conn_io.h:
 *    conn_reads_first), takes up to READ_AHEAD_MAX - 1 more from the
 *    bottom of its own deque — still SCHEDULED, now held by it and in no
 *    deque, so nobody else runs, steals or touches them, and a
 *    conn_schedule() meanwhile finds SCHEDULED and does nothing, as for any
 *    queued task. If two or more of them would start with a read, those
 *    reads go out with one io_uring_enter and each result is stored in its
 *    connection; the others are pushed back in the order they were taken,
 *    so the worker's next takes return them as before, and the push
 *    releases the reads' results to whichever worker takes or steals them
 *    (concurrency/wsq.h). The run takes the stored result as its first
 *    read's (conn_io.c). A read costs here about 3 us as read(2) and 1.5-2 us
 *    in a submit of 4-8 (docs/BENCHMARKS.md, issue 14): at pipeline 16 that
 *    is ~5% of a request. Only on the worker's own deque, so a thief's
 *    view of the deque changes for the length of one submit.
 *
 * Orderings: each hand-off publishes the previous holder's writes to the
 * next — the schedule CAS (acq_rel) and the run's exchange (acquire), the
 * end-of-run CAS (release) and the next schedule CAS (acquire), the yield's
 * store (release) and the next run's exchange (acquire); an inbox push
 * releases, its consumer acquires (mpscq).
 */
#include "net/task.h"
#include "concurrency/clock.h"
#include "net/conn_io.h"
#include "net/monitor.h"
#include "net/registry.h"
#include "net/state.h"
#include "net/uring.h"
#include "net/worker.h"

#include <event2/event.h>

/* The send queue's bounds: connections (below NET_RING_ENTRIES) and bytes.
 * A reply queued waits for the sends queued after it, up to these, or until
 * the worker's deque runs dry. */
#define SENDQ_MAX   32
#define SENDQ_BYTES (256 * 1024)

void conn_accept(int fd, int is_unix)
{
	struct conn *c = conn_create(fd, is_unix);

	/* not shared yet: the registry (and so every other thread) sees it
	 * SCHEDULED; worker_hand_off's inbox push releases it to the owner */
	atomic_store_explicit(&c->task, CONN_SCHEDULED, memory_order_relaxed);
	conn_registry_add(c);
	worker_hand_off(c);
}

void net_adopt(int fd, _Atomic uint64_t *id)
{
	struct conn *c = conn_create(fd, 1);

	/* relaxed: worker_hand_off's inbox push below releases it */
	atomic_store_explicit(id, c->id, memory_order_relaxed);
	atomic_store_explicit(&c->task, CONN_SCHEDULED, memory_order_relaxed);
	conn_registry_add(c);
	worker_hand_off(c);
}

static void conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	/* the peer shut its side: runs read to EOF from now on (conn_io.c);
	 * relaxed: the schedule's CAS below orders it for the runner */
	if ((what & EV_CLOSED) && !atomic_load_explicit(&c->rdhup, memory_order_relaxed))
		atomic_store_explicit(&c->rdhup, 1, memory_order_relaxed);
	/* bytes (or the FIN) arrived: the next run reads (net_internal.h);
	 * relaxed: see there */
	if (what & (EV_READ | EV_CLOSED))
		atomic_store_explicit(&c->readable, 1, memory_order_relaxed);
	conn_schedule(c);
}

void conn_attach(struct conn *c, struct worker *w)
{
	c->owner = w;
	c->next = w->conns;
	c->prev = NULL;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	worker_cron_arm(w);
	/* Read and write interest for the connection's whole life, edge-
	 * triggered: whichever worker runs it, the owner's loop reports the
	 * socket becoming readable or writable again; nothing is ever re-armed.
	 * EV_CLOSED (EPOLLRDHUP) tells a run to read to EOF: runs stop at a
	 * short read, and a FIN that came with the last data raises no edge. */
	c->ev = event_new(w->base, c->fd, EV_READ | EV_WRITE | EV_CLOSED | EV_PERSIST | EV_ET,
			  conn_event_cb, c);
	if (c->ev == NULL || event_add(c->ev, NULL) != 0)
		KV_PANIC("cannot register connection with the event loop");
	if (net_g.opts.conn_init)
		c->session = net_g.opts.conn_init(c);
	/* Bytes may already be waiting: edge-triggered events report only new
	 * ones. The task word is SCHEDULED since conn_accept(): submit it. */
	sched_submit(c);
}

/* IDLE → SCHEDULED (true: the caller queues it) or NOTIFIED while RUNNING. */
static bool schedule_claim(struct conn *c)
{
	uint32_t s = atomic_load_explicit(&c->task, memory_order_relaxed);

	for (;;) {
		uint32_t n;

		if ((s & CONN_STATE_MASK) == CONN_SCHEDULED || (s & CONN_NOTIFIED))
			return false;
		n = (s & CONN_STATE_MASK) == CONN_IDLE ? CONN_SCHEDULED : (s | CONN_NOTIFIED);
		/* acq_rel: acquire — the last runner's writes (its release CAS to
		 * IDLE) happen before we queue it; release — what we wrote before
		 * (kill, monitor lines) is seen by the runner that acquires the word */
		if (atomic_compare_exchange_weak_explicit(&c->task, &s, n, memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	/* else the runner will go round again */
	return (s & CONN_STATE_MASK) == CONN_IDLE;
}

void conn_schedule(struct conn *c)
{
	if (schedule_claim(c))
		sched_submit(c);
}

void conn_schedule_back(struct conn *c)
{
	if (schedule_claim(c))
		sched_submit_back(c);
}

KV_HOT int conn_task_run(struct worker *w, struct conn *c)
{
	/* acquire: the scheduler's CAS (acq_rel) released what it wrote before
	 * queueing the connection; SCHEDULED → RUNNING observes it */
	atomic_exchange_explicit(&c->task, CONN_RUNNING, memory_order_acquire);
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&w->st.tasks, 1, memory_order_relaxed);
	for (;;) {
		uint32_t s = CONN_RUNNING;
		int r = conn_run(c, w);

		net_g.opts.quiescent();
		if (r == 1 || (r == CONN_RUN_SEND && c->sq_more))
			/* it spent its budget: how long it took tells a flood's
			 * slice from a pipeline's (conn.yielded) */
			c->yielded = clock_mono_ns() - c->run_ns >= FLOOD_RUN_NS;
		if (r != 0)
			return r;
		/* RUNNING → IDLE unless NOTIFIED arrived meanwhile.
		 * release on success: this run's writes are visible to whoever
		 * schedules the connection next (pairs with conn_schedule()'s CAS);
		 * acquire on failure: the notifier's writes are seen by the next round */
		if (atomic_compare_exchange_strong_explicit(
			&c->task, &s, CONN_IDLE, memory_order_acq_rel, memory_order_acquire))
			return 0;
		/* NOTIFIED was set: clear it and run again (relaxed: we hold it) */
		atomic_store_explicit(&c->task, CONN_RUNNING, memory_order_relaxed);
	}
}

/* c's run returned CONN_RUN_SEND: c onto w's send queue (still RUNNING). */
static void sendq_add(struct worker *w, struct conn *c)
{
	c->sq_next = NULL;
	if (w->sq_head == NULL) {
		w->sq_tail = &w->sq_head;
		w->sq_since = clock_mono_ns();
	}
	*w->sq_tail = c;
	w->sq_tail = &c->sq_next;
	w->sq_count++;
	w->sq_bytes += buf_pending(&c->out);
	if (w->sq_count >= SENDQ_MAX || w->sq_bytes >= SENDQ_BYTES)
		conn_task_flush(w);
}

static void sendq_done(void *tag, int res)
{
	struct conn *c = tag;

	/* a send the ring could not take goes out with send(2) */
	c->sq_res = res == NET_RING_UNSENT ? CONN_SENT_PLAIN : res;
}

/* Ends the runs of the connections on send queue c (each conn_sent with its
 * sq_res) on runner w, which holds its own loop token. */
static void sendq_finish(struct worker *w, struct conn *c)
{
	while (c) {
		struct conn *next = c->sq_next;
		uint32_t s = CONN_RUNNING;
		int r = conn_sent(c, w, c->sq_res);

		c->sq_next = NULL;
		net_g.opts.quiescent();
		if (r != 0) {
			/* close or yield (conn_sent never asks for another send) */
			conn_task_after(w, c, r);
		} else if (!atomic_compare_exchange_strong_explicit(&c->task, &s, CONN_IDLE,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
			/* NOTIFIED came while the send was queued: run again, soon.
			 * The CAS as conn_task_run's (release on success, acquire of
			 * the notifier's writes on failure); release: this run's
			 * writes before the next runner's exchange acquires them */
			atomic_store_explicit(&c->task, CONN_SCHEDULED, memory_order_release);
			sched_submit(c);
		}
		c = next;
	}
}

/* Takes v's send queue (its holder of v's loop token). */
static struct conn *sendq_take(struct worker *v)
{
	struct conn *c = v->sq_head;

	v->sq_head = NULL;
	v->sq_count = 0;
	v->sq_bytes = 0;
	return c;
}

/* Tasks one read-ahead takes at most (below NET_RING_ENTRIES), the one
 * about to run included. */
#define READ_AHEAD_MAX 16

static void read_ahead_done(void *tag, int res)
{
	conn_read_ahead_end(tag, res == NET_RING_UNSENT ? CONN_READ_AHEAD_UNMADE : res);
}

void conn_task_read_ahead(struct worker *w, struct conn *c)
{
	struct conn *held[READ_AHEAD_MAX - 1];
	bool reads[READ_AHEAD_MAX - 1];
	int nheld = 0, nread = 1;

	if (w->ring == NULL || !net_ring_ok(w->ring) || !conn_reads_first(c))
		return;
	while (nheld < READ_AHEAD_MAX - 1 && (held[nheld] = wsq_take(&w->dq)) != NULL) {
		/* decided once: a flag that changes meanwhile (a kill, an edge)
		 * is the run's to see, as for any queued task */
		reads[nheld] = conn_reads_first(held[nheld]);
		nread += reads[nheld];
		nheld++;
	}
	if (nread >= 2) {
		/* a submit of one read costs more than read(2): only two or more */
		for (int i = -1; i < nheld; i++) {
			struct conn *x = i < 0 ? c : held[i];
			void *p;
			size_t n;

			if (i >= 0 && !reads[i])
				continue;
			n = conn_read_ahead_begin(x, &p);
			KV_ASSERT(net_ring_recv(w->ring, x->fd, p, n, x) == 0);
		}
		/* relaxed: statistics (each read-ahead is a read, as read(2)'s) */
		atomic_fetch_add_explicit(&w->st.ring_submits,
					  (uint64_t)net_ring_flush(w->ring, read_ahead_done),
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&w->st.ring_reads, (uint64_t)nread, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->st.reads, (uint64_t)nread, memory_order_relaxed);
	}
	/* back in the order taken: the next take returns held[0] */
	while (nheld > 0)
		KV_ASSERT(wsq_push(&w->dq, held[--nheld]) == 0);
}

void conn_task_flush_guest(struct worker *w, struct worker *v)
{
	struct conn *c = sendq_take(v);

	if (c == NULL)
		return;
	for (struct conn *x = c; x; x = x->sq_next)
		x->sq_res = CONN_SENT_PLAIN;
	net_g.opts.online();
	sendq_finish(w, c);
	net_g.opts.offline();
}

void conn_task_flush(struct worker *w)
{
	int n = w->sq_count;
	struct conn *c = sendq_take(w);

	if (c == NULL)
		return;
	if (n == 1) {
		/* one send: send(2) costs less than a ring's submit of one (a
		 * ring that broke queues nothing: conn_io.c stops returning
		 * CONN_RUN_SEND, and a flush takes the whole queue) */
		c->sq_res = CONN_SENT_PLAIN;
	} else {
		for (struct conn *x = c; x; x = x->sq_next)
			KV_ASSERT(net_ring_send(w->ring, x->fd, x->out.data + x->out.rpos,
						buf_pending(&x->out), x) == 0);
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.ring_submits,
					  (uint64_t)net_ring_flush(w->ring, sendq_done),
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&w->st.ring_sends, (uint64_t)n, memory_order_relaxed);
	}
	sendq_finish(w, c);
}

void conn_task_after(struct worker *w, struct conn *c, int r)
{
	if (r == 0)
		return;
	if (r == CONN_RUN_SEND) {
		sendq_add(w, c);
		return;
	}
	if (r < 0) {
		if (c->owner == w)
			conn_close(c);
		else
			inbox_push(c->owner, c, CONN_Q_CLOSE); /* stays RUNNING until closed */
		return;
	}
	/* Budget spent: queue behind everyone else. A NOTIFIED bit is dropped:
	 * the next run reads (until a short read or EAGAIN) and writes anyway. release: this run's
	 * writes are visible to the next runner (its exchange acquires). */
	struct worker *to = worker_yield_home(w, c); /* writes c->away: before the release */

	atomic_store_explicit(&c->task, CONN_SCHEDULED, memory_order_release);
	inbox_push(to, c, CONN_Q_RUN);
}

int conn_task_claim_idle(struct conn *c)
{
	uint32_t idle = CONN_IDLE;

	/* acquire: the last runner's writes (its release CAS to IDLE) are
	 * complete before we close */
	return atomic_compare_exchange_strong_explicit(&c->task, &idle, CONN_RUNNING,
						       memory_order_acquire, memory_order_relaxed);
}

void conn_close(struct conn *c)
{
	struct worker *w = c->owner;

	if (net_g.opts.conn_close)
		net_g.opts.conn_close(c, c->session);
	c->session = NULL;
	if (c->ev) {
		/* attached: on the owner's list */
		if (c->prev)
			c->prev->next = c->next;
		else
			w->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		event_free(c->ev);
	}
	if (w)
		/* relaxed: a load estimate for least-loaded assignment */
		atomic_fetch_sub_explicit(&w->nconns, 1, memory_order_relaxed);
	if (c->flags & CONN_F_MONITOR)
		monitor_detach(c);
	conn_shut(c);
	conn_registry_del(c);
	conn_free(c);
}
