/*
 * net_internal.h — the types net/'s files share: a connection, a worker, and
 * the one net state (state.h). Types only: each file's functions are declared
 * in its own header (state.h, registry.h, monitor.h, conn_io.h, task.h,
 * worker.h), so that headers never cycle (HAProxy's _types.h rule).
 *
 * Threads: a worker's deque's owner side is touched only by the worker's own
 * thread; its loop side (event_base, inbox consumer end, connection list) by
 * whoever holds its loop token — the worker itself, or a guest worker while
 * the owner is stuck in a long task (worker.c); its inbox's producer end by
 * any thread; `parked`, `loop` and the statistics are atomics.
 */
#ifndef KVSD_NET_INTERNAL_H
#define KVSD_NET_INTERNAL_H

#include "concurrency/mpscq.h"
#include "concurrency/util.h"
#include "concurrency/wsq.h"
#include "net/buf.h"
#include "net/net.h"
#include "net/resp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct event;
struct net_ring;

/* ---- a worker ------------------------------------------------------------ */

struct worker_stats {
	/* single writer (the worker), read by INFO: relaxed, publish nothing */
	_Atomic uint64_t commands;
	_Atomic uint64_t in_bytes;
	_Atomic uint64_t out_bytes;
	_Atomic uint64_t errors;
	_Atomic uint64_t tasks;		  /* connection runs */
	_Atomic uint64_t steals;	  /* tasks taken from another worker's deque */
	_Atomic uint64_t failed_steals;	  /* searches that found nothing to steal */
	_Atomic uint64_t handoffs;	  /* yielded floods given to a parked peer */
	_Atomic uint64_t flood_polls;	  /* own-loop polls before a flood's slice */
	_Atomic uint64_t parks;		  /* times the worker blocked in its loop */
	_Atomic uint64_t wakeups;	  /* parks ended by another thread's wake */
	_Atomic uint64_t naps;		  /* worker-nap-us sleeps before a park */
	_Atomic uint64_t lookaheads;	  /* net_opts.prefetch calls (conn_io.c) */
	_Atomic uint64_t peeked;	  /* requests those calls showed */
	_Atomic uint64_t lookaheads_used; /* those calls that returned true */
	/* written by guests (several may): how often another worker polled this
	 * worker's loop while it was stuck in a task */
	_Atomic uint64_t polled_by_guest;
	_Atomic uint64_t guest_polls;	/* stuck workers' loops this worker polled */
	_Atomic uint64_t defer_overdue; /* deferred tasks moved early (DEFER_MAX_NS) */
	/* system calls on client sockets and the loop, by kind (CPU per request,
	 * issue 19): read() calls and those that found nothing (EAGAIN), send()
	 * calls and those that found the socket full, and non-blocking polls of
	 * the own loop (one epoll_wait each; parks and guest_polls are the rest);
	 * reads_skipped: runs that made no read, no readable edge having come
	 * since the socket was found empty (conn.readable) */
	_Atomic uint64_t reads, reads_eagain, reads_skipped;
	_Atomic uint64_t writes, writes_eagain;
	_Atomic uint64_t polls;
	/* batched sends (net/uring.h): io_uring_enter calls, and the sends they
	 * made (counted in writes too: system calls on client sockets are
	 * reads + writes - ring_reads - ring_sends + ring_submits) */
	_Atomic uint64_t ring_submits, ring_sends;
	/* read-ahead (task.c: conn_task_read_ahead): reads made on the ring (counted in
	 * reads too), and their io_uring_enter calls (in ring_submits too) */
	_Atomic uint64_t ring_reads;
	_Atomic uint64_t ring_on; /* 1: the worker has a ring (io-uring yes, kernel allows) */
};

/* worker.parked */
enum { WORKER_RUNNING = 0, WORKER_PARKED = 1, WORKER_NOTIFIED = 2 };

/* worker.loop: the loop token (worker.c explains guest polling). Values at or
 * above LOOP_SINCE_BIAS mean "free: the owner has been running one task since
 * CLOCK_MONOTONIC time value - LOOP_SINCE_BIAS ns". */
#define LOOP_HELD	0 /* the owner's: between tasks, polling or parked */
#define LOOP_GUEST	1 /* a guest worker polls the loop */
#define LOOP_SINCE_BIAS 2

struct worker {
	int idx;
	pthread_t thread;
	struct event_base *base;
	struct event *wake_ev; /* event_active()d by other threads (inbox, unpark) */
	struct event *cron_ev;
	struct event *slice_ev; /* thread_slice again on the next pass */
	struct wsq dq;		/* scheduled connections: owner push/take, thieves steal */
	struct mpscq inbox;	/* from any thread: new, re-queued and to-close connections */
	struct conn *conns;	/* this worker's connections; loop side (token holder) */
	unsigned rng;		/* owner-only: victim selection */
	int searching;		/* owner-only: counted in the scheduler's searching count */
	int unparked;		/* owner-only: no task run since the last park */
	/* owner-only: connections run since the last park, a connection run
	 * twice in a row counted once, and the last one run (compared, never
	 * followed): worker-nap-us */
	long ran_since_park;
	const void *last_ran;
	/* owner-only: st.commands at the last park (worker-pipeline-nap-us) */
	uint64_t cmds_at_park;
	int nap_slack;	   /* owner-only: the thread's timer slack is set for naps */
	int64_t polled_ns; /* owner-only: when it last polled its own loop */
	/* this worker's thread only: the worker whose loop it is polling as a
	 * guest (sched_submit then queues onto this worker's deque), or NULL */
	struct worker *guest_of;
	/* this worker's thread only: it polls its loop with work still queued
	 * (sched_submit then queues behind that work: the inbox) */
	int poll_busy;
	/* owner-only: the length of a round (tasks one inbox drain queued; the
	 * longest lately) and the tasks run since the last mid-round poll
	 * (worker.c); mid_token: 1 when a drain queued work, taken by the one
	 * mid-round poll it allows (worker.c: mid_round) */
	long round_len, since_mid;
	int mid_token;
	/* PUBLISH's wake-ups of subscribers this worker runs (sched_submit_back
	 * with the owner running the publisher, or any worker with stealing on):
	 * pushed by this worker's own tasks, taken by whoever holds the loop
	 * token; run only when nothing else is queued (worker.c: defer_take) */
	struct mpscq defer;
	/* loop side (token holder): the deferred round being run, oldest first
	 * (linked through conn.qnode), its tasks run since the last poll, and
	 * how many run between two polls (worker.c: defer_take) */
	struct mpscq_node *defer_round;
	long defer_since_poll, defer_poll_every;
	/* owner's worker_main only: when it first saw deferred tasks waiting
	 * since it last served one (0: none seen), for the DEFER_MAX_NS bound
	 * (worker.c: defer_overdue) */
	int64_t defer_seen_ns;
	struct event *watch_ev; /* timer ending a watcher's park (worker.c) */
	/* ring: this worker's thread only (NULL: plain send(2), net/uring.h).
	 * The send queue, loop side (the holder of the loop token: the worker
	 * between tasks, or a guest): connections whose run ended with their
	 * last write still to make, RUNNING, linked through conn.sq_next in
	 * queue order, with their count and bytes (task.c: conn_task_flush);
	 * each send is prepared on the ring at the flush */
	struct net_ring *ring;
	struct conn *sq_head, **sq_tail;
	int sq_count;
	size_t sq_bytes;
	int64_t sq_since; /* CLOCK_MONOTONIC ns of the first send queued */
	/* WORKER_RUNNING / PARKED / NOTIFIED: exchanged by the worker, CAS
	 * PARKED → NOTIFIED by the one waker that then writes the eventfd */
	_Atomic int parked KV_ALIGNED;
	/* The loop token: whoever holds it may touch the loop side — the base,
	 * the inbox's consumer end, `conns`, closing. The owner stores a task's
	 * start time (release) when it starts one and takes the token back by CAS
	 * (acquire) after; a guest CASes a stale start time to LOOP_GUEST
	 * (acquire) and stores it back when done (release). */
	_Atomic uint64_t loop;
	_Atomic int stop; /* set by workers_stop(); relaxed, the wake orders it */
	/* one of this worker's connections set pause_wait since the cron last
	 * looked: the cron walks its connections only then or when an idle
	 * timeout is configured, so that idle connections (10,000 blocked
	 * clients) cost it nothing. Set (release, after pause_wait) by runners,
	 * exchanged to 0 (acquire) by the owner's cron before its walk */
	_Atomic int pause_hint;
	_Atomic long nconns; /* connections owned (least-loaded assignment) */
	/* when the worker last started running after a park (its first task),
	 * CLOCK_MONOTONIC ns: written by the worker, read by parking peers
	 * deciding whether to watch (worker.c); relaxed, a hint */
	_Atomic int64_t ran_ns;
	/* the thread's CPU-time clock (pthread_getcpuclockid), set by the
	 * thread itself before its first task; cpu_clock_ok publishes it (the
	 * thread's release store, lookers' acquire load) */
	clockid_t cpu_clock;
	_Atomic int cpu_clock_ok;
	/* Guest polling's "stuck" test (worker.c: stuck_on_cpu): the loop token
	 * value (task start) a looker last found STALL_NS old by the wall clock,
	 * and this thread's CPU time at that look. Lookers only; a hint: two
	 * lookers racing just record the same task twice */
	_Atomic uint64_t stall_task;
	_Atomic int64_t stall_cpu_ns;
	struct worker_stats st KV_ALIGNED;
};

/* ---- a connection ------------------------------------------------------- */

/* conn.task: task.c owns every transition */
enum conn_task_state {
	CONN_IDLE = 0,
	CONN_SCHEDULED = 1,
	CONN_RUNNING = 2,
	CONN_STATE_MASK = 3,
	CONN_NOTIFIED = 4,
};

/* A run that spent its budget in this long or longer is a flood's slice
 * (conn.yielded): pipelined GETs spend 64 commands in ~30-60 us, a flood of
 * slow commands its ~1 ms time budget (conn_io.c) */
#define FLOOD_RUN_NS (250 * 1000ll)

/* conn.inbox_op: why a connection is on a worker's inbox */
enum { CONN_Q_NEW = 1, CONN_Q_RUN = 2, CONN_Q_CLOSE = 3 };

/* conn.flags: each reason is its own bit so several combine */
#define CONN_F_CLOSE_AFTER_REPLY 0x01 /* QUIT, protocol error: flush then close */
#define CONN_F_CLOSE_ASAP	 0x02 /* close without flushing (limits, kill) */
#define CONN_F_UNIX		 0x04 /* unix-domain socket */
#define CONN_F_WANT_WRITE	 0x08 /* output pending: write interest armed */
#define CONN_F_STOP_READING	 0x10 /* shutdown: finish what was read, read no more */
#define CONN_F_MONITOR		 0x20 /* MONITOR: receives every command */
#define CONN_F_OUT_PAUSED	 0x40 /* replies over client-output-pause-limit: not reading */
#define CONN_F_HELD		 0x80 /* before_write held the replies: idle until conn_wake */

struct conn_bigarg;

/*
 * A client connection, shaped as a schedulable task (task.c). Only the
 * thread that moved the task word to RUNNING touches the buffers, the parser
 * and the attributes below "attributes" except where noted; only the owner's
 * loop closes. CLIENT LIST / CLIENT INFO (conn_describe) read some fields
 * from other threads: `name` changes only under the registry lock
 * (conn_set_name); `resp`, `db` and `last_cmd` are atomics (conn_attr.c);
 * buffer sizes and flags are published as relaxed mirrors after each run.
 */
struct conn {
	_Atomic uint32_t task; /* enum conn_task_state; see task.c for the transitions */
	int fd;
	uint64_t id;
	struct worker *owner;
	/* The worker other than the owner that ran the last run of c which
	 * spent its budget (NULL: the owner, or no such run): a flooding
	 * connection a peer took stays with the peer when its socket runs dry
	 * between batches (worker.c: sched_submit), for away_ttl readiness
	 * events after its last budget-spent run (then it is light again and
	 * goes back to its owner). Written by the runner (worker_yield_home,
	 * while RUNNING) and by whoever submits c (holding it SCHEDULED): each
	 * hand-off of the task word orders them (task.c), so plain fields. */
	struct worker *away;
	uint8_t away_ttl;
	/* yielded: its last run spent its budget and took FLOOD_RUN_NS or more
	 * (a flood's slice). Set by that runner at the run's end (task.c;
	 * timed there, not at the yield, which a queued send may delay), so
	 * before the yield's release; read and cleared by the next runner
	 * (worker.c: a poll and a send-queue flush before its next slice).
	 * run_ns: when the current run began (conn_io.c). Runner's fields, as
	 * the buffers. */
	bool yielded;
	int64_t run_ns;
	struct event *ev;
	unsigned flags;

	struct buf in;	/* query buffer */
	struct buf out; /* reply buffer */
	struct resp_req req;
	const char **argv; /* dispatch arguments, reused */
	size_t *argl;
	int argv_cap;
	/* runner only (conn_io.c): bulks of NET_BIG_ARG bytes or more of the
	 * request being read, each in an allocation of its own; the last one
	 * may still be filling */
	struct conn_bigarg *big;
	int nbig, big_cap;
	size_t big_bytes;   /* received into them so far */
	size_t held;	    /* parsed request waiting for CLIENT PAUSE: its bytes */
	size_t qb_alloc;    /* Redis's query buffer allocation, mirrored: sizes reads */
	unsigned nerrors;   /* runner: error replies not yet added to the worker's count */
	unsigned peek_idle; /* runner: look-aheads to skip, after one the server had no use for */

	/* attributes — read and written by the server through conn.h's
	 * accessors during dispatch. resp, db and last_cmd: written only by the
	 * runner, also read by CLIENT LIST on other threads */
	_Atomic int resp;		/* protocol version: 2 or 3 */
	bool authenticated;		/* the parser applies Redis's unauthenticated limits */
	_Atomic int db;			/* SELECTed database (always 0) */
	_Atomic(const char *) last_cmd; /* static name of the last command, for CLIENT LIST */
	char *name;			/* CLIENT SETNAME; NULL if none; see conn_set_name */
	void *session;			/* the server's: net_opts.conn_init's result */
	char addr[64];			/* peer "ip:port" or "/path:0" */
	char laddr[64];			/* local "ip:port" */
	int64_t ctime_ms;
	_Atomic int64_t last_ms; /* last interaction; read by the idle-timeout cron */
	_Atomic uint64_t ncmds;	 /* commands run; statistic */

	struct conn *next, *prev;	  /* owner's list */
	struct conn *reg_next, *reg_prev; /* global registry (CLIENT LIST) */

	/* scheduling: the node links the connection into one worker inbox at a
	 * time; inbox_op (CONN_Q_*) is written before the push, which releases it */
	struct mpscq_node qnode;
	int inbox_op;
	/* set by any thread (CLIENT KILL, shutdown), read by the runner: relaxed,
	 * the conn_schedule() that follows orders it */
	_Atomic int kill;
	/* the owner's loop saw the peer shut its side (EPOLLRDHUP): from then on
	 * runs read until EOF instead of stopping at a short read (conn_io.c).
	 * Set (relaxed) before the conn_schedule() whose CAS orders it, never
	 * cleared */
	_Atomic int rdhup;
	/* the owner's loop saw a readable edge (EPOLLET) since the run that last
	 * found the socket empty: a run started by anything else (a Pub/Sub
	 * delivery, a writable edge, an unblock) makes no read that could only
	 * say EAGAIN. Set by the loop's callback, exchanged to 0 by the runner
	 * before each read and set again when the read did not empty the socket.
	 * relaxed: both sides are RMWs or stores on this one flag, so the
	 * runner's exchange reads the newest value in its modification order;
	 * a store that lands after the exchange is followed by the callback's
	 * conn_schedule(), which runs us again (no edge is lost) */
	_Atomic int readable;
	_Atomic int pause_wait; /* runner: stopped for CLIENT PAUSE; cron re-schedules */
	/* conn_block(): the runner runs no command until net_opts.resume says
	 * the blocking command answered. Written by the runner only; read by
	 * the idle-timeout cron and CLIENT LIST on other threads: relaxed, a
	 * flag shown or a timeout skipped a moment late publishes nothing */
	_Atomic int blocked;
	int64_t soft_since_ms; /* runner: over the soft output limit since (0: not) */
	bool deliver_more;     /* runner: net_opts.deliver left messages queued */
	/* runner: on its send queue (worker.sq_head) while its last write is
	 * queued on the ring, and what the rest of the run needs (conn_sent) */
	struct conn *sq_next;
	int sq_res;
	bool sq_more, sq_draining;
	size_t sq_out_budget;
	/* read-ahead (task.c: conn_task_read_ahead; conn_io.c): the run's first read,
	 * made already on a worker's ring while the connection was SCHEDULED
	 * and held off every deque by that worker: its result (bytes, or
	 * -errno) for the run to take as its first read's, and the window it
	 * asked for. Written by the holder, then by the runner, each ordered
	 * by the deque push and take between them (concurrency/wsq.h) */
	bool ra_ready;
	int ra_res;
	size_t ra_want;
	/* mirrors for CLIENT LIST from other threads, updated by the runner after
	 * each run: relaxed statistics */
	_Atomic uint64_t st_qbuf, st_omem;
	/* bytes the server queued for the connection and not yet handed to
	 * net_opts.deliver (conn_set_queued, any thread under the server's
	 * lock): CLIENT LIST counts them in omem. relaxed: a statistic */
	_Atomic uint64_t st_queued;
	_Atomic int st_events;	/* 1 = waiting to write (events=rw) */
	_Atomic int st_monitor; /* 1 = MONITOR client (flags=O) */
	/* the server's part of the line (conn_set_described): queued MULTI
	 * commands (-1: none) and CONN_DESC_* flags */
	_Atomic int st_multi;
	_Atomic unsigned st_sflags;
	_Atomic int st_sub, st_psub, st_ssub; /* Pub/Sub counts (conn_set_pubsub) */
	/* client tracking (conn_set_tracking): CONN_TRK_* flags, redir= */
	_Atomic unsigned st_tflags;
	_Atomic long long st_redir;
	/* MONITOR: lines fed by other threads, under the monitor lock (monitor.c) */
	struct buf mon_pending;
	struct conn *mon_next;
};

/* ---- the net state (state.c) ------------------------------------------- */

enum net_assign { NET_ASSIGN_ROUND_ROBIN, NET_ASSIGN_LEAST_LOADED, NET_ASSIGN_SINGLE };

struct net_limits {
	/* written by CONFIG SET (any thread), read by workers: relaxed — a limit
	 * applied a moment late is harmless and publishes no other memory */
	_Atomic long maxclients;
	_Atomic long timeout_s;
	_Atomic long nap_ns;  /* worker-nap-us, in ns */
	_Atomic long pnap_ns; /* worker-pipeline-nap-us, in ns */
	_Atomic long keepalive_s;
	_Atomic long long query_limit;
	_Atomic long long max_bulk;
	_Atomic int protected_mode;
	_Atomic int stealing;
	_Atomic int assign; /* enum net_assign */
	_Atomic long run_budget;
	_Atomic long long out_hard, out_soft; /* client-output-buffer-limit normal; 0 = none */
	_Atomic long out_soft_secs;
	_Atomic long long ps_hard, ps_soft; /* the pubsub class; 0 = none */
	_Atomic long ps_soft_secs;
	_Atomic long long pause_limit; /* client-output-pause-limit; 0 = none */
	_Atomic int hz;		       /* cron frequency, NET_HZ_MIN..NET_HZ_MAX */
	_Atomic int draining;	       /* shutdown: read nothing more */
};

/* CLIENT PAUSE: relaxed — a deadline seen a moment late only delays a
 * command by that moment; publishes nothing */
struct net_pause {
	_Atomic int64_t until_ms; /* 0: not paused */
	_Atomic int all;
	_Atomic(net_cmd_class_fn) is_write;
};

struct net_counters {
	/* written by the listener thread only; read by INFO: relaxed statistics */
	_Atomic uint64_t accepted, rejected;
	/* base values subtracted by CONFIG RESETSTAT (stats.c) */
	_Atomic uint64_t base_cmds, base_in, base_out, base_errs;
	/* the TCP port bound: written by the listener's setup and CONFIG SET
	 * port, read by INFO from any thread (relaxed: a number that publishes
	 * nothing) */
	_Atomic int tcp_port;
};

struct net_state {
	/* the options and hooks net_setup() received; read-only after setup */
	struct net_opts opts;
	struct net_limits limits;
	struct net_pause pause;
	struct net_counters stats;
};

#endif
