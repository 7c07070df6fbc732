/*
 * worker.c — worker threads and the scheduler: work stealing and parking.
 *
 * Each worker runs its own libevent event_base. A worker owns the
 * connections handed to it (their sockets are registered, edge-triggered,
 * on its base); readiness does not run a connection but schedules it onto
 * the worker's deque (conn_schedule → sched_submit). Any worker may run a
 * scheduled connection: the task word in struct conn guarantees one runner
 * (task.c owns its transitions and the hand-offs).
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
 * So does readiness found by a poll made while work is still queued (the
 * POLL_EVERY_NS polls of a busy worker), and a PUBLISH's wake-ups of its
 * subscribers (conn_schedule_back) on other workers without stealing:
 * each ready connection then runs about once per round, as Redis serves
 * each ready client once per loop, instead of a client seen at every poll
 * running ahead of those queued before it. A worker's wake-ups of its own
 * subscribers (of any subscriber with stealing on) are deferred instead
 * (defer_take): run when nothing else is queued, with polls between, so
 * each write carries every batch published meanwhile; with stealing on they
 * reach the deque a slice at a time, stealable (defer_share). Unserved for
 * DEFER_MAX_NS (a load that never lets the worker run dry), they all go
 * onto the deque at once (defer_overdue).
 * One exception (mid_round()): in a long round, a poll half-way through
 * puts what it finds ahead of the round's other half, so a publisher's next
 * batch reaches that half before it is written (two batches per write).
 *
 * One loop iteration of a worker:
 *   take from own deque; else drain own inbox; else poll own event loop
 *   without blocking (readiness → deque; a worker alone skips this: its park
 *   below polls the same loop and returns at once when anything is ready, so
 *   an idle moment costs one epoll_wait, not two); else poll the loop of any worker
 *   stuck in a long task (guest polling, below); else, if stealing is on and
 *   fewer than half the workers are searching, search: steal from random
 *   victims; else park. Whenever it goes offline (ran dry, polls, lends its
 *   core: worker_offline) a worker first sends the replies its runs left
 *   on its send queue with one io_uring submit (task.c, net/uring.h; also
 *   when SENDQ_NS passed since the first was queued, or the queue is
 *   full), as Redis writes its clients in beforeSleep; a guest polling a
 *   stuck worker sends them too.
 *
 * Parking: the worker marks itself PARKED and registers with the eventcount
 * (sched.ec: seq_cst), then re-checks its inbox and deque — and every
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
 * Hand-off of a flood (worker_yield_home). Stealing moves queued tasks, but
 * a connection that keeps spending its run budget is queued only for the
 * moment between its owner's inbox drain and its owner's next take, so a
 * thief found it by chance (a watcher's timer now and then: tens to hundreds
 * of milliseconds) while the owner's other clients waited behind each of its
 * slices. So an owner that yields such a connection while a peer that owns
 * no connections is parked pushes it to that peer's inbox (waking it)
 * instead of its own; the peer keeps it (a non-owner's yields stay home),
 * and the owner's loop forwards its readiness there (conn.away) until it has
 * been light for AWAY_TTL readiness events. Only owners give away, so it
 * does not travel back and forth; and only to a peer without clients, whose
 * own would wait behind it otherwise (with connections spread over the
 * workers, handing it over made it travel by steals: docs/BENCHMARKS.md).
 * INFO kvsd counts `handoffs`.
 *
 * Before a flood's next slice (a connection whose last run spent its budget
 * in FLOOD_RUN_NS or more: conn.yielded), its runner polls its own loop if
 * it has not for FLOOD_POLL_NS, and what that finds runs first (the flood
 * waits on the inbox behind it); and the replies on its send queue leave
 * before the slice, not after it. Otherwise the clients a worker owns
 * besides a flood it runs were seen only at its POLL_EVERY_NS polls, their
 * replies then held for one more slice: a p90 of ~4 ms for them whatever
 * stealing did (docs/BENCHMARKS.md). Pipelines of fast commands spend the
 * same budget in tens of microseconds and are not floods. INFO kvsd counts
 * `flood_polls`.
 *
 * Write interest of a stolen connection: the socket stays registered on the
 * owner's base for EV_READ|EV_WRITE, persistent and edge-triggered, from
 * attach to close. A runner on any worker that gets EAGAIN on write just
 * returns; when the socket drains, the owner's loop sees the edge and
 * schedules the connection again (or sets NOTIFIED if it is still running).
 * Nothing is re-armed, so only the owner's loop touches the event (run by
 * the owner, or by a guest holding its token). Closing is the owner's: a
 * runner elsewhere sends the connection (still RUNNING) to the owner's inbox
 * with CONN_Q_CLOSE, and whoever holds the owner's loop token closes it.
 *
 * Guest polling — readiness while the owner is stuck. Readiness is seen only
 * by the loop it is registered on, and a worker polls its loop only between
 * tasks. One long task (MSET of 100k keys, a pipeline of KEYS, a big EXEC)
 * would leave every other connection of that worker unanswered until it ends,
 * while other workers sit idle: stealing moves queued tasks, not readiness.
 * So each loop has a token (worker.loop) that says who may touch the loop
 * side: the base, the inbox's consumer end, the connection list, closing.
 * The owner holds it (LOOP_HELD) whenever it is not inside a task — while it
 * polls, drains its inbox, runs the cron, closes, and while it is parked in
 * event_base_loop(ONCE), so a parked owner is never disturbed. Starting a
 * task it stores the task's start time instead (release): the loop is free
 * and says since when. A worker with nothing to do (or a busy one every
 * POLL_EVERY_NS) looks at its peers' tokens; one whose task has run for
 * STALL_NS or more (for the reserve guest, below, also on a CPU for STALL_NS of
 * it: stuck_on_cpu), is stuck, and the looker takes its token by CAS (start
 * time → LOOP_GUEST, acquire) and, as a guest: drains the owner's inbox
 * (attaching new connections to the owner, closing those sent to close), runs
 * the owner's loop once without blocking (readiness, the owner's cron), and
 * moves the owner's queued tasks to itself; then stores the start time back
 * (release). Everything the guest's callbacks schedule lands on the guest's own
 * deque — sched_submit sees worker.guest_of — because only the owner may push
 * onto the owner's deque. The owner, leaving its task, takes the token back by
 * CAS (acquire), yielding while a guest holds it (a guest never blocks: its
 * poll is non-blocking). The connections stay the owner's: whoever holds the
 * owner's token closes them. libevent's own base lock (evthread) covers
 * cross-thread event_active/event_add as before; the token keeps the
 * one-loop-runner rule and the owner-only structures exclusive. We chose this
 * over moving connections between loops (deregistering and re-registering each
 * socket costs system calls and makes ownership mobile) and over one shared
 * loop (readiness of every connection would then cross threads on every
 * request, not only while a worker is stuck).
 *
 * Watching — someone must be awake to notice a stuck worker. A worker that
 * starts running tasks after a park (its first task; ensure_watcher) makes
 * sure a watcher exists: if none does, it wakes one parked worker. A worker
 * that parks while another is running becomes the watcher (at most one,
 * sched.watchers) and parks with a WATCH_NS timer instead of
 * indefinitely; each time the timer fires it gives up the role, looks for
 * stuck loops, and parks again (as the watcher while anyone runs). The Dekker
 * pair here is the parked words against the watcher count, both seq_cst:
 * either the parker sees the runner RUNNING and watches, or the runner sees
 * no watcher and wakes the parker. A parker also watches while a peer that
 * is parked itself started running within the last WATCH_NS (worker.ran_ns):
 * at pipeline 1 a worker parks and unparks about every other request, and a
 * watcher that stopped watching whenever its timer found the runner parked
 * was woken again by the runner's next first task — an eventfd write and a
 * context switch every few requests (with --threads 1 the reserve guest, on
 * the same core: a quarter to a third of kvsd's sleeps in a redis-benchmark
 * GET run). That only adds watching, so the pair above still holds. When
 * everybody has been parked for WATCH_NS nobody watches, so an idle server
 * makes no extra wake-ups; under load the cost is one timer wake-up per
 * WATCH_NS on one worker. A busy worker that never runs dry also polls its
 * own loop (and looks for stuck peers) every POLL_EVERY_NS, so
 * its own quiet connections do not wait behind its deque. The PING of a
 * client whose worker is stuck is therefore answered after at most about
 * STALL_NS + 2 WATCH_NS (the second look confirms the CPU time) plus the
 * guest's own scheduling delay.
 * With work-stealing no, guests still poll stuck loops and run what they
 * find: "no stealing" keeps busy workers' queues to themselves for balance,
 * but a stuck worker's clients must not wait for it. With one worker nothing
 * can help by itself, so workers_start() adds the reserve guest below.
 *
 * The reserve guest (--threads 1 only). A lone worker stuck in one task (a
 * Lua script past busy-reply-threshold) would leave every other client
 * unanswered, SCRIPT KILL and SHUTDOWN NOSAVE included: nobody could receive
 * them. So with one serving worker an extra thread runs workers[1], a worker
 * that owns no connections (the listener never hands it any: hand-off picks
 * among the nworkers serving ones), never steals (stealing needs two serving
 * workers) and never polls its own loop, which has nothing on it. It only
 * watches and guests: it parks like any worker, and becomes the watcher
 * while worker 0 runs (worker 0's first task after a park wakes it when no
 * watcher exists, ensure_watcher, as a second worker would be woken); every
 * WATCH_NS it looks whether worker 0 has been in one task for STALL_NS and,
 * if so, polls worker 0's loop as a guest and runs what it finds (oldest
 * first: reserve_take), exactly as a second worker with work-stealing no
 * would: -BUSY answers, SCRIPT KILL, SHUTDOWN NOSAVE. It keeps nothing: a
 * connection whose run spent its budget queues on worker 0's inbox, not the
 * reserve's (worker_yield_home). With worker 0 parked it parks without
 * a timer, so an idle server costs nothing more; under load it is one timer wake-up per
 * WATCH_NS. It registers with the upper layers as a worker (thread_start
 * with index 1) but is not counted in workers_count() (INFO's workers:); its
 * command counts are in the totals (workers_total()). We chose a thread
 * over a timer signal that would interrupt worker 0 (a signal handler can
 * run none of this) and over making worker 0 poll from inside its task
 * (net/ cannot reach into a running command).
 *
 * Storage sections: a worker is online while it runs connections and
 * announces a quiescent state after each command (conn_io.c) and after each
 * task, and is offline whenever it calls into an event loop — its own or a
 * stuck peer's, polling or parked — so a parked worker never holds up
 * reclamation and a series of long commands lets the epoch advance between
 * them. One command is one section: while a single long command runs, its
 * worker holds the epoch back (nothing retired meanwhile is freed) until the
 * command returns; net/ cannot split it.
 */
#include "net/worker.h"
#include "net/conn.h"
#include "concurrency/clock.h"
#include "concurrency/lend.h"
#include "concurrency/mem.h"
#include "concurrency/park.h"
#include "concurrency/wctx.h"
#include "net/state.h"
#include "net/task.h"
#include "net/uring.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEQUE_SLOTS 4096
/* A task running this long makes its loop fair game for a guest. */
#define STALL_NS (2 * 1000000ll)
/* A task this old by the wall clock makes its loop fair game even if its
 * thread has not had STALL_NS of CPU time in it (stuck_on_cpu): a worker
 * starved of CPU that long leaves its clients waiting all the same. */
#define STALL_WALL_CAP_NS (50 * 1000000ll)
/* The watcher's park timeout while some worker runs. */
#define WATCH_NS (5 * 1000000ll)
/* A worker that always has work still polls its own loop this often. */
#define POLL_EVERY_NS WATCH_NS
/* A flood given to a peer (worker_yield_home) goes back to its owner after
 * this many readiness events in which it never spent its budget (conn.away) */
#define AWAY_TTL 16
/* A worker about to run a flood's next slice polls its loop first if it
 * has not for this long (worker_main) */
#define FLOOD_POLL_NS (1000 * 1000ll)
/* A send queued on the ring (task.c) waits at most this long for the deque
 * to run dry; checked between tasks. */
#define SENDQ_NS (200 * 1000ll)
/* Rounds (what one drain of the inbox queued) of at least this many tasks
 * get a poll half-way through (worker_main). */
#define MID_POLL_MIN 16
/* A deferred round (defer_take) polls the loop before every this many of
 * its tasks, or fewer times for a long round: at most DEFER_ROUND_POLLS
 * polls per round. */
#define DEFER_POLL_EVERY  8
#define DEFER_ROUND_POLLS 8
/* Deferred wake-ups wait for a dry deque, but never longer than this: under
 * a load that never lets the worker run dry (many pipelining clients coming
 * back through the inbox) they go onto the deque at once (defer_overdue), as
 * Redis writes its subscribers once per loop however busy the loop is.
 * Without it a subscriber waited up to seconds behind such a load
 * (bench/pubsub-busy.py). */
#define DEFER_MAX_NS (2 * 1000000ll)

/* Scheduler state shared by all workers. */
static struct {
	struct park_ec ec;		  /* workers parked (or about to) in their loops */
	_Atomic int searching KV_ALIGNED; /* workers looking for work to steal */
	/* parked workers with a watch timer, 0 or 1: seq_cst, it pairs with the
	 * parked words (see watching above) */
	_Atomic int watchers;
} sched;

static struct worker *workers;
static int nworkers; /* serving workers: workers[0 .. nworkers-1] */
/* nworkers, plus the reserve guest (workers[1], see above) when nworkers is 1 */
static int nthreads;
/* the listener thread, and the loading thread adopting its loader connection */
static _Atomic unsigned rr_next;

/* The worker the calling thread runs, from its context (wctx.h), or NULL. */
static struct worker *self_worker(void)
{
	int i = wctx_self()->index;

	return i >= 0 && i < nthreads ? &workers[i] : NULL;
}

int workers_count(void)
{
	return nworkers;
}

int workers_total(void)
{
	return nthreads;
}

struct worker *worker_get(int i)
{
	return &workers[i];
}

static int stealing_on(void)
{
	return nworkers > 1 && atomic_load_explicit(&net_g.limits.stealing, memory_order_relaxed);
}

bool net_worker_has_tasks(int idx)
{
	struct worker *w;

	if (idx < 0 || idx >= nthreads || workers == NULL)
		return false;
	w = &workers[idx];
	return wsq_size_approx(&w->dq) > 0 || !mpscq_empty(&w->inbox) || !mpscq_empty(&w->defer);
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
	if (park_has_waiters(&sched.ec) == 0)
		return;
	/* relaxed: ordered by the fence above */
	if (atomic_load_explicit(&sched.searching, memory_order_relaxed) > 0)
		return;
	start = from ? (int)(from->rng % (unsigned)nworkers) : 0;
	for (int k = 0; k < nworkers; k++) {
		struct worker *w = &workers[(start + k) % nworkers];

		if (w != from && wake_worker(w))
			return;
	}
}

void inbox_push(struct worker *w, struct conn *c, int op)
{
	c->inbox_op = op;
	mpscq_push(&w->inbox, &c->qnode); /* release: publishes inbox_op and c */
	/* seq_cst: the push is ordered before reading `parked`; pairs with the
	 * fence after the worker's exchange to PARKED (Dekker) */
	atomic_thread_fence(memory_order_seq_cst);
	if (w != self_worker())
		wake_worker(w);
}

/* Whether v owns no connections: a peer a flood may be handed to and stay
 * on (worker_yield_home). relaxed: a hint (nconns is a load estimate). */
static bool owns_none(struct worker *v)
{
	return atomic_load_explicit(&v->nconns, memory_order_relaxed) == 0;
}

struct worker *worker_yield_home(struct worker *w, struct conn *c)
{
	/* the reserve is workers[nworkers] with one serving worker: a connection
	 * it ran goes home, so that a guest poll made while worker 0 was stuck
	 * does not keep a publisher on the reserve and its subscribers on worker
	 * 0, each thread then running at its own pace */
	if (nworkers == 1)
		return w != c->owner ? c->owner : w;
	if (w == c->owner && stealing_on() && (w->conns != c || c->next != NULL)) {
		/* The owner of other connections yields a connection that spent
		 * its budget (a flood) while a peer that owns none is parked: to
		 * the peer, whose inbox push wakes it. Left on our inbox it comes
		 * back to our deque and to us at once, and a peer could only steal
		 * it in the moment it sits there, found by a watcher's timer now
		 * and then (tens to hundreds of milliseconds, bench/steal-e2e.py),
		 * while our other connections wait behind each slice of it. Only
		 * the owner gives it away and the peer keeps it (below). A peer
		 * with connections of its own is left alone: they would wait
		 * behind the flood instead of ours, and with conn-assign
		 * round-robin handing it over made it travel between the two by
		 * steals in 7 runs of 11 (p99 6.7-6.9 ms; 2 of 12 without the
		 * hand-off: docs/BENCHMARKS.md). */
		for (int k = 1; k < nworkers; k++) {
			struct worker *v = &workers[(w->idx + k) % nworkers];

			/* relaxed: a hint; inbox_push's wake-up is the real check */
			if (atomic_load_explicit(&v->parked, memory_order_relaxed) ==
				WORKER_PARKED &&
			    owns_none(v)) {
				c->away = v;
				c->away_ttl = AWAY_TTL;
				/* relaxed: statistics */
				atomic_fetch_add_explicit(&w->st.handoffs, 1, memory_order_relaxed);
				return v;
			}
		}
	}
	/* A flood handed to this peer stays here while it keeps spending its
	 * budget here and this peer still owns no connection: its readiness
	 * is forwarded (sched_submit). One a peer stole, one back on its
	 * owner, or one on a peer that has clients of its own now, is not
	 * forwarded: with connections spread over the workers that made it
	 * travel (see above). */
	if (c->away == w && owns_none(w))
		c->away_ttl = AWAY_TTL;
	else
		c->away = NULL;
	return w;
}

void sched_submit(struct conn *c)
{
	struct worker *me = self_worker();

	/* Our own deque for our connections, for anyone's when stealing is on, and
	 * for those a guest poll of a stuck owner's loop found (only the owner may
	 * push onto the owner's deque). */
	if (me && me == c->owner && c->away && stealing_on() && !me->guest_of) {
		/* Readiness of a connection that spent its budget on a peer
		 * lately: to the peer, which ran it last and would otherwise
		 * have to steal it back from our deque while its flood holds
		 * this loop's other connections up (bench/steal-e2e.py) */
		/* a peer that took connections since keeps the flood only
		 * until it runs dry */
		if (--c->away_ttl > 0 && owns_none(c->away)) {
			inbox_push(c->away, c, CONN_Q_RUN);
			return;
		}
		c->away = NULL; /* light for AWAY_TTL readiness events, or the
				 * peer has clients now: home */
	}
	if (me && (me == c->owner || stealing_on() || me->guest_of)) {
		if (me->poll_busy) {
			/* readiness found while work is queued runs after that work, as
			 * Redis serves each ready client once per loop: on the LIFO deque
			 * a publisher seen at every poll ran ahead of the subscribers it
			 * had woken before (seconds of lag for some of 1,000) */
			inbox_push(me, c, CONN_Q_RUN);
			return;
		}
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

void sched_submit_back(struct conn *c)
{
	struct worker *me = self_worker();

	/* a connection woken by our own task (a PUBLISH): deferred, see
	 * defer_take(). Without stealing only our own connections (the others'
	 * owners run theirs); with stealing on any, as any worker may run any
	 * connection: defer_take then moves the round onto our deque a slice at
	 * a time, where idle peers can steal it. */
	if (me && !me->guest_of && (me == c->owner || stealing_on())) {
		mpscq_push(&me->defer, &c->qnode); /* release: as inbox_push */
		return;
	}
	if (me && (me == c->owner || stealing_on() || me->guest_of))
		inbox_push(me, c, CONN_Q_RUN);
	else
		inbox_push(c->owner, c, CONN_Q_RUN);
}

/*
 * Whether a poll of w's loop made now, with work queued, puts the readiness
 * it finds ahead of that work (the deque's top) rather than behind it (the
 * inbox): true once 1/part of a long round (MID_POLL_MIN tasks or more) has
 * run since the last such poll, and then the count starts again. The one
 * exception to "readiness found while busy queues behind": a publisher whose
 * next batch arrived while its subscribers were being written publishes it
 * before the round's other half is written, so those get two batches in one
 * write(2) — twice the messages per system call of Redis, which writes each
 * client once per loop — and a client's command waits half a round of
 * deliveries, not all of it. At most once per inbox drain (mid_token):
 * what such a poll puts on top runs, then the rest of the drained round,
 * and only the next drain allows another. Without that bound, a closed loop
 * of clients kept the deque from ever running dry: every half round a poll
 * put the clients just answered on top again, and the tasks underneath
 * waited up to a second (p99.9 of 50 GET/SET clients 51 ms, max 516 ms).
 */
static bool mid_round(struct worker *w, long part)
{
	if (!w->mid_token || w->round_len < MID_POLL_MIN || w->since_mid < w->round_len / part)
		return false;
	w->mid_token = 0;
	w->since_mid = 0;
	return true;
}

/* Takes w's loop token back after a task that started at `since` (the value
 * stored in w->loop), waiting while a guest polls the loop. Owner only. */
static void loop_take_back(struct worker *w, uint64_t since)
{
	uint64_t seen = since;

	/* acquire: a guest's changes to our loop side (connection list, inbox,
	 * base) happen before ours; pairs with its release store in poll_stuck() */
	while (!atomic_compare_exchange_weak_explicit(&w->loop, &seen, LOOP_HELD,
						      memory_order_acquire, memory_order_relaxed)) {
		if (seen == LOOP_GUEST)
			sched_yield(); /* a guest's poll never blocks: it ends soon */
		seen = since;
	}
}

/* Runs one scheduled connection to completion of this run; `now` is the
 * task's start time. Called online, holding our own loop token, which is free
 * for a guest while the connection runs. */
static KV_HOT void run_task(struct worker *w, struct conn *c, int64_t now)
{
	uint64_t since = (uint64_t)now + LOOP_SINCE_BIAS;
	int r;

	/* release: what we did to our loop side is visible to a guest that takes
	 * the token; pairs with the acquire CAS in poll_stuck() */
	atomic_store_explicit(&w->loop, since, memory_order_release);
	r = conn_task_run(w, c);
	loop_take_back(w, since);
	conn_task_after(w, c, r); /* close or yield: needs our loop token */
}

/* Moves o's inbox into w's deque (or acts on it). Called offline by the
 * holder of o's loop token: o itself (w == o) or a guest w. Returns the
 * tasks it queued. */
static long drain_inbox(struct worker *w, struct worker *o)
{
	struct mpscq_node *n = mpscq_take_all(&o->inbox);
	long queued = 0;

	while (n) {
		struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, qnode));

		n = n->next;
		switch (c->inbox_op) {
		case CONN_Q_NEW:
			conn_attach(c, o); /* schedules it (onto w's deque) */
			break;
		case CONN_Q_CLOSE:
			conn_close(c);
			break;
		default:
			if (wsq_push(&w->dq, c) == 0) {
				queued++;
				break;
			}
			if (w != o) {
				/* a guest's deque is full: its own inbox takes it */
				inbox_push(w, c, CONN_Q_RUN);
				break;
			}
			/* full: run it now rather than lose it */
			net_g.opts.online();
			run_task(w, c, clock_mono_ns());
			net_g.opts.offline();
			break;
		}
	}
	return queued;
}

/* Called by each worker thread before its first task: its CPU-time clock,
 * for stuck_on_cpu(). */
static void cpu_clock_init(struct worker *w)
{
	if (pthread_getcpuclockid(pthread_self(), &w->cpu_clock) != 0)
		return; /* stays unknown: lookers judge by the wall clock alone */
	/* release: cpu_clock is set before lookers may read it; pairs with the
	 * acquire load in stuck_on_cpu() */
	atomic_store_explicit(&w->cpu_clock_ok, 1, memory_order_release);
}

/*
 * Whether v, found by the wall clock inside one task (loop token value t)
 * for STALL_NS or more, is stuck in it: it has run on a CPU for STALL_NS
 * since a look first found this task that old. A worker that was merely
 * preempted (a loaded machine: its thread waits for a core) is not stuck:
 * a guest taking its loop then gains nothing — the guest waits for a core
 * as well — and splits its clients over two threads that run unequally
 * (the suspected cause of loadgen-pubsub's fairness case once finding every
 * subscriber ~950 messages behind at once: a publisher the reserve guest
 * took kept publishing while the subscribers it woke waited on a preempted
 * worker 0; on a shared 2-core machine that case's runs saw 115-228 guest
 * polls of worker 0 in 4 s, all of short tasks, and none with this). The first
 * such look records v's CPU time and says no; a later look at the same
 * task compares. So a stuck worker is polled one look later than by the
 * wall clock alone (about WATCH_NS: the reserve looks once per watch). A
 * task `age` ns old by the wall clock counts as stuck from
 * STALL_WALL_CAP_NS on whatever its CPU time: under heavy load the loop is
 * then taken as before, only 50 ms into a task rather than 2 ms.
 * Reading another thread's CPU clock is a system call, made only by looks
 * that found a task STALL_NS old. Called offline by any looker.
 */
static bool stuck_on_cpu(struct worker *v, uint64_t t, int64_t age)
{
	struct timespec ts;
	int64_t cpu;

	if (age >= STALL_WALL_CAP_NS)
		return true;
	/* acquire: cpu_clock as v's thread set it (cpu_clock_init) */
	if (!atomic_load_explicit(&v->cpu_clock_ok, memory_order_acquire) ||
	    clock_gettime(v->cpu_clock, &ts) != 0)
		return true; /* no CPU clock: the wall clock alone, as before */
	cpu = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
	/* acquire: the stall_cpu_ns recorded with this task (below) */
	if (atomic_load_explicit(&v->stall_task, memory_order_acquire) != t) {
		/* relaxed: published by the release store of stall_task below */
		atomic_store_explicit(&v->stall_cpu_ns, cpu, memory_order_relaxed);
		/* release: the CPU time recorded is read with the task that owns
		 * it; pairs with the acquire load above */
		atomic_store_explicit(&v->stall_task, t, memory_order_release);
		return false;
	}
	/* relaxed: ordered by the acquire load of stall_task above */
	return cpu - atomic_load_explicit(&v->stall_cpu_ns, memory_order_relaxed) >= STALL_NS;
}

/* Starts w's next deferred round: its length sets how many tasks run
 * between two polls. Returns the round's first node, or NULL. Token holder. */
static struct mpscq_node *defer_round_start(struct worker *w)
{
	struct mpscq_node *n = mpscq_take_all(&w->defer);
	long len = 0;

	for (struct mpscq_node *m = n; m; m = m->next)
		len++;
	w->defer_since_poll = 0;
	w->defer_poll_every =
	    len / DEFER_ROUND_POLLS > DEFER_POLL_EVERY ? len / DEFER_ROUND_POLLS : DEFER_POLL_EVERY;
	return n;
}

/*
 * defer_take with stealing on: the round goes onto w's deque a slice
 * (defer_poll_every tasks) at a time, so an idle peer can steal any task of
 * the slice, and w polls its loop after pushing every slice but the round's
 * first: what the poll finds (the publisher's next batch) lands on top and
 * runs first, so the slice's subscribers carry it in the same write, as in
 * defer_take. The rest of the round stays on w's private list; it is w's to
 * run next time its deque and inbox are dry (w checks the list before it
 * parks), or a guest's (take_deferred) if w is stuck in a task. Returns the
 * deque's next task, or NULL with nothing deferred.
 */
static struct conn *defer_share(struct worker *w, int64_t now)
{
	struct mpscq_node *n = w->defer_round;
	bool poll = n != NULL;

	if (n == NULL && (n = defer_round_start(w)) == NULL)
		return NULL;
	for (long k = 0; n && k < w->defer_poll_every; k++) {
		struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, qnode));

		n = n->next;
		if (wsq_push(&w->dq, c) != 0)
			inbox_push(w, c, CONN_Q_RUN); /* full: behind, in our inbox */
	}
	w->defer_round = n;
	if (poll) {
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.polls, 1, memory_order_relaxed);
		event_base_loop(w->base, EVLOOP_NONBLOCK);
		w->polled_ns = now;
	}
	return wsq_take(&w->dq);
}

/*
 * The next deferred task (PUBLISH's wake-ups, sched_submit_back), called by
 * the holder of w's loop token, offline, when w has nothing else queued:
 * subscribers are written only once every connection with readiness has
 * run, as Redis writes its clients in beforeSleep. A round is what was
 * deferred when the last one ended, run oldest first; every
 * DEFER_POLL_EVERY of its tasks the loop is polled without blocking, and
 * what that finds (the publisher's next batch) runs first, onto the deque:
 * so the round's remaining subscribers carry every batch published while
 * the round runs in one write(2) each (one write per pass over the
 * subscribers, not one per publisher batch). The round itself still
 * advances DEFER_POLL_EVERY tasks per poll, whatever the polls find, and
 * what they find runs once each (a poll never finds a connection twice
 * before it has run), so neither side waits behind the other for long.
 * Returns a task, or NULL with nothing deferred.
 */
static struct conn *defer_take(struct worker *w, int64_t now)
{
	struct mpscq_node *n = w->defer_round;

	if (stealing_on())
		return defer_share(w, now);
	if (n == NULL) {
		if ((n = defer_round_start(w)) == NULL)
			return NULL;
	} else if (++w->defer_since_poll >= w->defer_poll_every) {
		struct conn *c;

		w->defer_since_poll = 0;
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.polls, 1, memory_order_relaxed);
		event_base_loop(w->base, EVLOOP_NONBLOCK);
		w->polled_ns = now;
		c = wsq_take(&w->dq);
		if (c)
			return c;
	}
	w->defer_round = n->next;
	return (struct conn *)((char *)n - offsetof(struct conn, qnode));
}

/* A guest's share of stuck v's deferred tasks: all of them, onto w's deque
 * (its inbox when full), as drain_inbox moves v's inbox. Holder of v's loop
 * token. */
static void take_deferred(struct worker *w, struct worker *v)
{
	struct mpscq_node *lists[2] = {v->defer_round, mpscq_take_all(&v->defer)};

	v->defer_round = NULL;
	for (int i = 0; i < 2; i++) {
		for (struct mpscq_node *n = lists[i]; n;) {
			struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, qnode));

			n = n->next;
			if (wsq_push(&w->dq, c) != 0)
				inbox_push(w, c, CONN_Q_RUN);
		}
	}
}

/*
 * Whether w's deferred wake-ups have waited DEFER_MAX_NS since w first saw
 * them (at a dry deque or a busy poll) without serving any of them (a
 * deferred round in progress, with its polls, is not overdue): then the
 * caller moves them all onto w's deque (take_deferred(w, w)), where they
 * run next and stay stealable. Owner, in worker_main, holding its loop token.
 */
static bool defer_overdue(struct worker *w, int64_t now)
{
	if (w->defer_round == NULL && mpscq_empty(&w->defer)) {
		w->defer_seen_ns = 0;
		return false;
	}
	if (w->defer_seen_ns == 0) {
		w->defer_seen_ns = now;
		return false;
	}
	if (now - w->defer_seen_ns < DEFER_MAX_NS)
		return false;
	w->defer_seen_ns = 0;
	/* relaxed: statistics */
	atomic_fetch_add_explicit(&w->st.defer_overdue, 1, memory_order_relaxed);
	return true;
}

/*
 * Polls, as a guest, the loop of every other worker that has been inside one
 * task for STALL_NS or more (and has run on a CPU for STALL_NS of it:
 * stuck_on_cpu): drains its inbox, runs its loop once without
 * blocking and moves its queued tasks here. Called offline. Returns the number
 * of loops polled.
 */
static int poll_stuck(struct worker *w, int64_t now)
{
	int polled = 0;

	/* the serving workers other than w, starting after w (the reserve,
	 * index nworkers, starts at worker 0) */
	for (int k = 1; k <= nworkers; k++) {
		struct worker *v = &workers[(w->idx + k) % nworkers];
		uint64_t t;
		void *x;

		if (v == w)
			continue;
		/* relaxed: a hint; the CAS below is what takes the loop */
		t = atomic_load_explicit(&v->loop, memory_order_relaxed);
		/* the CPU-time test for the reserve guest only (w->idx == nworkers):
		 * between serving workers it lengthened long-command-latency's
		 * keys_single PINGs under load (worst 417-480 ms against 24-194 ms) */
		if (t < LOOP_SINCE_BIAS || now - (int64_t)(t - LOOP_SINCE_BIAS) < STALL_NS ||
		    (w->idx >= nworkers &&
		     !stuck_on_cpu(v, t, now - (int64_t)(t - LOOP_SINCE_BIAS))))
			continue;
		/* acquire: v's loop side as v left it when its task began; pairs
		 * with the release store in run_task() */
		if (!atomic_compare_exchange_strong_explicit(
			&v->loop, &t, LOOP_GUEST, memory_order_acquire, memory_order_relaxed))
			continue;
		w->guest_of = v;
		drain_inbox(w, v);
		take_deferred(w, v);
		conn_task_flush_guest(w, v);
		event_base_loop(v->base, EVLOOP_NONBLOCK);
		/* v cannot run what it queued either; a failed push goes to our inbox */
		for (;;) {
			int rc = wsq_steal(&v->dq, &x);

			if (rc == -ENOENT)
				break;
			if (rc == 0 && wsq_push(&w->dq, x) != 0)
				inbox_push(w, x, CONN_Q_RUN);
		}
		w->guest_of = NULL;
		/* release: our changes to v's loop side happen before v's next use;
		 * pairs with the acquire CAS in loop_take_back() */
		atomic_store_explicit(&v->loop, t, memory_order_release);
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&v->st.polled_by_guest, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->st.guest_polls, 1, memory_order_relaxed);
		polled++;
	}
	if (polled && wsq_size_approx(&w->dq) > 1)
		notify_work(w);
	return polled;
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
	if (atomic_fetch_sub_explicit(&sched.searching, 1, memory_order_seq_cst) == 1 && found &&
	    any_deque_nonempty())
		notify_work(w); /* last searcher found work: wake one more */
}

/* Tries to become a searcher: at most half the workers search at once. */
static int start_searching(struct worker *w)
{
	int n = atomic_load_explicit(&sched.searching, memory_order_relaxed);

	if (w->searching)
		return 1;
	do {
		if (2 * (n + 1) > nworkers)
			return 0;
		/* seq_cst: see stop_searching() */
	} while (!atomic_compare_exchange_weak_explicit(
	    &sched.searching, &n, n + 1, memory_order_seq_cst, memory_order_relaxed));
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

/* Called after the seq_cst fence that follows our exchange to PARKED: if
 * another worker is running, or started running within the last WATCH_NS,
 * and nobody watches, we watch (park with a timer). */
static int become_watcher(struct worker *w)
{
	int none = 0;
	int64_t now = 0;

	/* the serving workers other than w (see poll_stuck) */
	for (int k = 1; k <= nworkers; k++) {
		struct worker *v = &workers[(w->idx + k) % nworkers];

		if (v == w)
			continue;
		/* relaxed: ordered by the fence in park_worker() (Dekker with the
		 * runner's fence in ensure_watcher()) */
		if (atomic_load_explicit(&v->parked, memory_order_relaxed) != WORKER_RUNNING) {
			if (now == 0)
				now = clock_mono_ns();
			/* relaxed: a hint that only makes us watch more */
			if (now - atomic_load_explicit(&v->ran_ns, memory_order_relaxed) >=
			    WATCH_NS)
				continue;
		}
		/* seq_cst: one watcher; ordered with ensure_watcher()'s load */
		return atomic_compare_exchange_strong_explicit(
		    &sched.watchers, &none, 1, memory_order_seq_cst, memory_order_relaxed);
	}
	return 0;
}

/* First task after a park: make sure someone will notice if we get stuck in
 * it. Wakes one parked worker (which then sees us running and watches) unless
 * a watcher exists. */
static void ensure_watcher(struct worker *w, int64_t now)
{
	w->unparked = 0;
	/* relaxed: read by parking peers as a hint (become_watcher) */
	atomic_store_explicit(&w->ran_ns, now, memory_order_relaxed);
	if (nthreads < 2)
		return;
	/* seq_cst: our exchange to RUNNING (park_worker) is ordered before reading
	 * the watcher count; pairs with the fence a parker runs between its
	 * exchange to PARKED and its look at our parked word (become_watcher):
	 * either it sees us running and watches, or we see no watcher and wake it */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&sched.watchers, memory_order_relaxed) > 0)
		return;
	/* with the reserve guest, the one to wake is the reserve */
	for (int k = 1; k < nthreads; k++)
		if (wake_worker(&workers[(w->idx + k) % nthreads]))
			return;
}

/*
 * Goes offline (net_opts.offline) from worker_main: first sends what the
 * runs left on w's send queue (task.c). Offline is where the server may
 * block for a moment (the AOF's inline fdatasync under appendfsync always,
 * an idle-class loan) and where the loop is polled: replies already made,
 * by runs that need no fsync, must not wait for either.
 */
static void worker_offline(struct worker *w)
{
	conn_task_flush(w);
	net_g.opts.offline();
}

/* Blocks in the event loop until readiness, a timer or a wake-up. Called
 * online; returns online. */
static void park_worker(struct worker *w)
{
	static const struct timeval watch_tv = {0, WATCH_NS / 1000};
	int may_steal = w->searching;
	int work;

	stop_searching(w, 0);
	net_g.opts.offline();
	/* worker-nap-us: after a pass that ran two or more connections, sleep
	 * before the wait below, so that it finds more of them ready (one wake-up
	 * and one submit for several requests at pipeline 1, not one each). Not
	 * after a lone connection's runs (one connection run again and again, as
	 * a slow worker meets a fast client's next request before it parks,
	 * counts once): a single client's round trip keeps its latency. Still RUNNING meanwhile:
	 * wakers do not write our eventfd, and the re-check below sees what they published.
	 * worker-pipeline-nap-us (on by default): the same, only after a pass
	 * whose connections pipelined (NET_PIPELINED_CMDS commands per run on
	 * average). Pipelining clients wait for many replies per round trip and
	 * trade a few microseconds of it for throughput; a worker faster than
	 * such clients otherwise parks after every run or two, one epoll_wait, one
	 * read and one send per run, where the nap lets the next pass take
	 * several at once (read-ahead, the send queue: one submit each).
	 * Clients at pipeline 1 never make it nap (docs/BENCHMARKS.md, issue 14). */
	{
		/* relaxed: see net_limits */
		long nap = atomic_load_explicit(&net_g.limits.nap_ns, memory_order_relaxed);
		/* relaxed: our own counter (conn_io.c counts the runs we made) */
		uint64_t cmds = atomic_load_explicit(&w->st.commands, memory_order_relaxed);
		uint64_t ran_cmds = cmds - w->cmds_at_park;

		w->cmds_at_park = cmds;
		if (nap == 0 &&
		    ran_cmds >= (uint64_t)NET_PIPELINED_CMDS * (uint64_t)w->ran_since_park)
			/* relaxed: see net_limits */
			nap = atomic_load_explicit(&net_g.limits.pnap_ns, memory_order_relaxed);
		if (nap > 0 && w->ran_since_park >= 2) {
			struct timespec ts = {0, nap};

			/* the default 50 us timer slack would make a 20 us nap 70:
			 * only this thread's timers get precise (its cron: harmless) */
			if (!w->nap_slack) {
				(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
				w->nap_slack = 1;
			}
			/* relaxed: statistics */
			atomic_fetch_add_explicit(&w->st.naps, 1, memory_order_relaxed);
			nanosleep(&ts, NULL);
		}
	}
	w->ran_since_park = 0;
	w->last_ran = NULL;
	/* seq_cst: PARKED is visible before we re-check the queues; pairs with
	 * the fence in inbox_push() */
	atomic_exchange_explicit(&w->parked, WORKER_PARKED, memory_order_seq_cst);
	(void)park_prepare(&sched.ec); /* seq_cst: pairs with notify_work() */
	atomic_thread_fence(memory_order_seq_cst);
	work = !mpscq_empty(&w->inbox) || wsq_size_approx(&w->dq) > 0 || !mpscq_empty(&w->defer) ||
	       w->defer_round != NULL || (may_steal && any_deque_nonempty()) ||
	       atomic_load_explicit(&w->stop, memory_order_relaxed);
	if (!work) {
		int watch = become_watcher(w);

		if (watch)
			event_add(w->watch_ev, &watch_tv);
		/* relaxed: statistics */
		atomic_fetch_add_explicit(&w->st.parks, 1, memory_order_relaxed);
		/* NO_EXIT_ON_EMPTY: a worker with no connections has no event
		 * pending (its cron sleeps too) until a waker activates wake_ev */
		event_base_loop(w->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
		if (watch) {
			event_del(w->watch_ev);
			/* seq_cst: the role is given up before we look at the others'
			 * parked words again (next park) or they look at the count */
			atomic_fetch_sub_explicit(&sched.watchers, 1, memory_order_seq_cst);
		}
	}
	park_cancel(&sched.ec);
	/* acquire: pairs with the waker's CAS, so its published work is seen */
	if (atomic_exchange_explicit(&w->parked, WORKER_RUNNING, memory_order_acquire) ==
	    WORKER_NOTIFIED)
		atomic_fetch_add_explicit(&w->st.wakeups, 1, memory_order_relaxed);
	w->unparked = 1;
	net_g.opts.online();
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg; /* the loop returning is the point; the main loop drains */
}

/* One slice of the server's background work; while it has more, a zero
 * timeout brings it back on the loop's next pass (after that pass's
 * readiness), whether the loop then polls or parks. */
static void slice_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now = {0, 0};
	struct worker *w = arg;
	bool more;

	(void)fd;
	(void)what;
	net_g.opts.online();
	more = net_g.opts.thread_slice(w->idx);
	net_g.opts.offline();
	if (more)
		event_add(w->slice_ev, &now);
}

static void cron_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	long timeout = atomic_load_explicit(&net_g.limits.timeout_s, memory_order_relaxed);
	int paused = pause_active();
	int64_t now = clock_wall_ms();
	struct conn *c, *next;

	(void)fd;
	(void)what;
	/* acquire: pairs with the runners' release of the hint, so the walk
	 * below sees their pause_wait; cleared before the walk, so a flag set
	 * after it is seen next time */
	if (atomic_exchange_explicit(&w->pause_hint, 0, memory_order_acquire) == 0 && timeout <= 0)
		c = NULL; /* nothing to resume, no idle timeout: no walk */
	else
		c = w->conns;
	for (; c; c = next) {
		next = c->next;
		/* relaxed: the pause flag is a hint; conn_schedule orders the run */
		if (atomic_load_explicit(&c->pause_wait, memory_order_relaxed)) {
			if (paused) /* look again at the next tick */
				atomic_store_explicit(&w->pause_hint, 1, memory_order_relaxed);
			else
				conn_schedule(c);
			continue;
		}
		/* as Redis, a blocked client is never idle-timed-out */
		if (timeout > 0 && !conn_blocked(c)) {
			/* relaxed: the idle clock; the claim below orders the close */
			int64_t last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);

			if (now - last > (int64_t)timeout * 1000 && conn_task_claim_idle(c))
				conn_close(c);
		}
	}
	if (w->idx == 0 && net_g.opts.thread_cron) {
		net_g.opts.online();
		net_g.opts.thread_cron(w->idx);
		net_g.opts.offline();
	}
	/* the tick's first slice now, unless one is due on the next pass anyway */
	if (w->idx == 0 && net_g.opts.thread_slice && !event_pending(w->slice_ev, EV_TIMEOUT, NULL))
		slice_cb(-1, 0, w);
	/* Another worker's tick only walks its own connections: with none, it
	 * sleeps until conn_attach gives it one (an idle server wakes once per
	 * tick, not once per worker per tick). */
	if (w->idx != 0 && w->conns == NULL)
		event_del(w->cron_ev);
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

	/* the thread's one registration; thread_start joins the upper layers */
	wctx_register(w->idx);
	cpu_clock_init(w);
	if (net_g.opts.thread_start)
		net_g.opts.thread_start(w->idx);
	w->polled_ns = clock_mono_ns();
	/* Batched sends (net/uring.h, task.c): without a ring, send(2) as before */
	if (net_g.opts.io_uring && (w->ring = net_ring_create()) != NULL)
		/* relaxed: shown by INFO (worker<i>_io ring=1) */
		atomic_store_explicit(&w->st.ring_on, 1, memory_order_relaxed);
	/* Online while running connections; offline inside any event loop. */
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		int64_t now = clock_mono_ns();
		struct conn *c;

		if (lend_due(now)) {
			/* between two tasks: a starving idle-class saver gets
			 * this core for a moment (concurrency/lend.h) */
			worker_offline(w);
			lend_run(now);
			net_g.opts.online();
			now = clock_mono_ns();
		}
		c = wsq_take(&w->dq);
		/* the send queue waits no longer than SENDQ_NS for a dry deque */
		if (w->sq_head && now - w->sq_since >= SENDQ_NS)
			conn_task_flush(w);

		if (c == NULL) {
			long queued;

			worker_offline(w);
			queued = drain_inbox(w, w);
			/* the longest round lately: a mid-round poll splits the next
			 * drain's round in two, and that must not halve the interval */
			if (queued > w->round_len)
				w->round_len = queued;
			else if (queued > 0)
				w->round_len -= w->round_len / 16;
			if (queued > 0)
				w->mid_token = 1; /* one mid-round poll per drain: mid_round() */
			if (defer_overdue(w, now))
				take_deferred(w, w);
			c = wsq_take(&w->dq);
			/* With stealing on, deferred wake-ups come before the poll of a
			 * dry deque, as they do with one worker (which does not poll
			 * here): a poll that always finds something (many busy
			 * clients) would otherwise keep them waiting. */
			if (c == NULL && stealing_on() && (c = defer_take(w, now)) != NULL)
				w->defer_seen_ns = 0; /* being served: not overdue */
			/* Poll when dry, and also when the inbox alone kept us busy for
			 * POLL_EVERY_NS: a pipelining client that yields its budget
			 * comes back through the inbox every time, and without this
			 * the readiness of every other client waits for it to finish. */
			/* With one worker a dry deque goes straight to park, whose
			 * blocking poll returns at once if anything is ready: the
			 * non-blocking poll before it would be a second epoll_wait
			 * per idle moment (nobody to steal from, no peer to watch). */
			if (c != NULL && c->yielded && now - w->polled_ns >= FLOOD_POLL_NS) {
				/* The round is a flood's next slice: look at our
				 * loop first, and what it finds runs before that
				 * slice (on the deque, where idle peers may take
				 * it; the flood waits on the inbox behind it).
				 * Else the clients sharing a worker with a flood
				 * wait for the POLL_EVERY_NS polls below. */
				/* relaxed: statistics */
				atomic_fetch_add_explicit(&w->st.polls, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&w->st.flood_polls, 1,
							  memory_order_relaxed);
				event_base_loop(w->base, EVLOOP_NONBLOCK);
				w->polled_ns = now;
				if (wsq_size_approx(&w->dq) > 0) {
					inbox_push(w, c, CONN_Q_RUN);
					c = wsq_take(&w->dq);
				}
			} else if ((c == NULL && nworkers > 1) ||
				   now - w->polled_ns >= POLL_EVERY_NS) {
				/* relaxed: statistics */
				atomic_fetch_add_explicit(&w->st.polls, 1, memory_order_relaxed);
				w->poll_busy = c != NULL && !mid_round(w, 4);
				event_base_loop(w->base, EVLOOP_NONBLOCK);
				w->poll_busy = 0;
				w->polled_ns = now;
				if (c == NULL)
					c = wsq_take(&w->dq);
			}
			if (c == NULL && nworkers > 1 && poll_stuck(w, now) > 0)
				c = wsq_take(&w->dq);
			if (c == NULL && (c = defer_take(w, now)) != NULL)
				w->defer_seen_ns = 0; /* being served: not overdue */
			net_g.opts.online();
		} else if (now - w->polled_ns >= POLL_EVERY_NS) {
			/* never dry: our own loop and stuck peers get a look anyway */
			worker_offline(w);
			atomic_fetch_add_explicit(&w->st.polls, 1, memory_order_relaxed);
			w->poll_busy = !mid_round(w, 4);
			event_base_loop(w->base, EVLOOP_NONBLOCK);
			w->poll_busy = 0;
			w->polled_ns = now;
			if (nworkers > 1)
				(void)poll_stuck(w, now);
			if (defer_overdue(w, now))
				take_deferred(w, w);
			net_g.opts.online();
		} else if (mid_round(w, 2)) {
			/* Half-way through a long round: see mid_round() */
			worker_offline(w);
			atomic_fetch_add_explicit(&w->st.polls, 1, memory_order_relaxed);
			event_base_loop(w->base, EVLOOP_NONBLOCK);
			w->polled_ns = now;
			net_g.opts.online();
		}
		if (c == NULL && w->sq_head) {
			/* runs made inline by drain_inbox (a full deque) since
			 * worker_offline flushed: before we steal or park */
			conn_task_flush(w);
			c = wsq_take(&w->dq);
		}
		if (c == NULL && stealing_on())
			c = steal_task(w);
		if (c == NULL) {
			park_worker(w);
			continue;
		}
		stop_searching(w, 1);
		if (w->unparked)
			ensure_watcher(w, now);
		w->since_mid++;
		if (c != w->last_ran) {
			w->ran_since_park++;
			w->last_ran = c;
		}
		if (c->yielded) {
			/* a flood's slice (~1 ms) is next: the replies queued
			 * meanwhile leave first, not after it */
			c->yielded = false;
			if (w->sq_head)
				conn_task_flush(w);
		}
		conn_task_read_ahead(w, c);
		run_task(w, c, now);
	}
	stop_searching(w, 0);
	conn_task_flush(w);
	net_ring_destroy(&w->ring);
	if (net_g.opts.thread_stop)
		net_g.opts.thread_stop(w->idx);
	return NULL;
}

/*
 * The reserve's next task: the oldest on its deque (a steal from its own
 * top), not the newest. Each guest poll of a stuck worker 0 moves what that
 * loop found (a publisher's freshly woken subscribers) onto this deque; taken
 * LIFO, every poll's tasks ran ahead of all that earlier polls had queued,
 * and while a publisher kept worker 0 busy the bottom of the deque waited for
 * seconds (1,000 never-reading subscribers: a third of them not written for
 * 3,000 messages, so their backlog sat in kvsd, not in their socket, and
 * passed the output limit first). Nobody else steals from the reserve; the
 * loop only retries a lost race.
 */
static struct conn *reserve_take(struct worker *w)
{
	for (;;) {
		void *x;
		int rc = wsq_steal(&w->dq, &x);

		if (rc == 0)
			return x;
		if (rc == -ENOENT)
			return NULL;
	}
}

/*
 * The reserve guest's thread (--threads 1; see the header comment): runs what
 * its guest polls of worker 0 found, and parks otherwise — as the watcher
 * with a WATCH_NS timer while worker 0 runs, without one while it is parked.
 * Online while running connections, offline while polling or parked, as
 * worker_main.
 */
static void *reserve_main(void *arg)
{
	struct worker *w = arg;

	wctx_register(w->idx);
	cpu_clock_init(w);
	if (net_g.opts.thread_start)
		net_g.opts.thread_start(w->idx);
	w->polled_ns = clock_mono_ns();
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		int64_t now = clock_mono_ns();
		struct conn *c = reserve_take(w);

		if (c == NULL || now - w->polled_ns >= POLL_EVERY_NS) {
			net_g.opts.offline();
			/* our inbox: a guest poll's overflow (drain_inbox, poll_stuck) */
			drain_inbox(w, w);
			if (c == NULL)
				c = reserve_take(w);
			if (poll_stuck(w, now) > 0 && c == NULL)
				c = reserve_take(w);
			w->polled_ns = now;
			net_g.opts.online();
		}
		if (c == NULL) {
			park_worker(w);
			continue;
		}
		run_task(w, c, now);
	}
	if (net_g.opts.thread_stop)
		net_g.opts.thread_stop(w->idx);
	return NULL;
}

/* The cron interval for the current hz (net_set_hz; 10 before it is set). */
static struct timeval cron_interval(void)
{
	/* relaxed: a frequency; publishes nothing */
	int hz = atomic_load_explicit(&net_g.limits.hz, memory_order_relaxed);

	if (hz < NET_HZ_MIN)
		hz = hz <= 0 ? 10 : NET_HZ_MIN;
	if (hz > NET_HZ_MAX)
		hz = NET_HZ_MAX;
	if (hz == 1)
		return (struct timeval){1, 0};
	return (struct timeval){0, 1000000 / hz};
}

void worker_cron_arm(struct worker *w)
{
	struct timeval tv;

	if (w->idx == 0 || event_pending(w->cron_ev, EV_TIMEOUT, NULL))
		return;
	tv = cron_interval();
	event_add(w->cron_ev, &tv);
}

void net_set_hz(int hz)
{
	struct timeval tv;

	hz = hz < NET_HZ_MIN ? NET_HZ_MIN : hz > NET_HZ_MAX ? NET_HZ_MAX : hz;
	atomic_store_explicit(&net_g.limits.hz, hz, memory_order_relaxed); /* see net_limits */
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
	int all = n == 1 ? 2 : n; /* one worker gets the reserve guest */

	park_init(&sched.ec);
	atomic_init(&sched.searching, 0);
	atomic_init(&sched.watchers, 0);
	workers = mem_calloc((size_t)all, sizeof(*workers));
	for (int i = 0; i < all; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		w->rng = 0x9e3779b9u * (unsigned)(i + 1);
		mpscq_init(&w->inbox);
		mpscq_init(&w->defer);
		atomic_init(&w->parked, WORKER_RUNNING);
		atomic_init(&w->loop, LOOP_HELD);
		w->unparked = 1;
		atomic_init(&w->stop, 0);
		atomic_init(&w->pause_hint, 0);
		atomic_init(&w->nconns, 0);
		atomic_init(&w->ran_ns, INT64_MIN / 2);
		atomic_init(&w->cpu_clock_ok, 0);
		atomic_init(&w->stall_task, LOOP_HELD); /* no task: never a start time */
		atomic_init(&w->stall_cpu_ns, 0);
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
		w->watch_ev = event_new(w->base, -1, 0, wake_cb, w);
		w->slice_ev = event_new(w->base, -1, 0, slice_cb, w);
		/* the reserve's cron never runs: it has no connections */
		if (!w->wake_ev || !w->cron_ev || !w->watch_ev || !w->slice_ev ||
		    (i < n && event_add(w->cron_ev, &tv) != 0)) {
			snprintf(err, errlen, "cannot create events for worker %d", i);
			return -ENOMEM;
		}
	}
	nworkers = n;
	nthreads = all;
	for (int i = 0; i < all; i++) {
		int rc = pthread_create(&workers[i].thread, NULL,
					i < n ? worker_main : reserve_main, &workers[i]);

		if (rc == 0) {
			char name[16];

			/* best effort: labels the thread for top -H, perf and ftrace
			 * (bench/save-trace.py tells the reserve from a worker) */
			snprintf(name, sizeof name, i < n ? "kvsd-w%d" : "kvsd-reserve", i);
			(void)pthread_setname_np(workers[i].thread, name);
		}
		if (rc != 0) {
			snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
			nworkers = i < n ? i : n;
			nthreads = i;
			return -rc;
		}
	}
	return 0;
}

void worker_hand_off(struct conn *c)
{
	int policy = atomic_load_explicit(&net_g.limits.assign, memory_order_relaxed);
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
		/* relaxed: only spreads connections; any order is fine */
		w = &workers[atomic_fetch_add_explicit(&rr_next, 1, memory_order_relaxed) %
			     (unsigned)nworkers];
	}
	c->owner = w;
	atomic_fetch_add_explicit(&w->nconns, 1, memory_order_relaxed);
	inbox_push(w, c, CONN_Q_NEW);
}

void workers_stop(void)
{
	/* the reserve guest (if any) too: it may be running a task of worker 0's */
	for (int i = 0; i < nthreads; i++) {
		atomic_store_explicit(&workers[i].stop, 1, memory_order_relaxed);
		/* seq_cst: stop is visible before we look at `parked` (as inbox_push) */
		atomic_thread_fence(memory_order_seq_cst);
		wake_worker(&workers[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(workers[i].thread, NULL);
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		close_all(w);
	}
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		event_free(w->wake_ev);
		event_free(w->cron_ev);
		event_free(w->watch_ev);
		event_free(w->slice_ev);
		event_base_free(w->base);
		wsq_deinit(&w->dq);
	}
	mem_free(workers);
	workers = NULL;
	nworkers = 0;
	nthreads = 0;
}
