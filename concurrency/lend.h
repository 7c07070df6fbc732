/*
 * lend.h — workers lend their core, a little at a time, to an idle-class
 * background thread that is starving (issue 15: a BGSAVE that never ended
 * under a load that kept its only core busy).
 *
 * The background threads of a save (BGSAVE, the AOF rewrite's base file)
 * run SCHED_IDLE (server/persist_srv.h: psrv_background_prio): a worker that
 * wakes on their core preempts them at once, so they cost the workers
 * nothing and use only the core's idle time. When the workers never idle
 * (a closed loop of clients that saturates the core) that idle time is
 * zero and the thread gets the kernel's sliver for the idle class (about
 * 0.3% of a core), so a 1M-key save that needs 0.7 s of CPU did not end in
 * 10 s. A nicer normal-class level (nice 10) gave the saver CFS slices of
 * milliseconds in the middle of the workers' rounds and doubled p99 (2.71x
 * quiet, docs/BENCHMARKS.md); and leaving SCHED_IDLE again needs
 * CAP_SYS_NICE, so an unprivileged server cannot switch back and forth.
 *
 * Lending instead keeps the thread idle-class and gives it idle time on
 * purpose, as a share of the core's time: the thread is owed `share` percent
 * of the wall time it wants lending (lend_set_share; INFO and CONFIG
 * bgsave-cpu-percent), less the CPU time it got on its own (idle time),
 * measured on its own CPU clock (pthread_getcpuclockid) by the worker that
 * checks, and less each loan's whole length: the worker pays the switches
 * in and out and a timer that fires late too, so a saturated worker lends
 * `share` of its wall time and the thread's CPU time is less (66-74% of
 * 100 us loans' time, 82-87% of 400 us loans', under a saturating load on
 * a shared machine, docs/BENCHMARKS.md save15d; counting only its CPU, a
 * quiet machine's worker lent 28% of a 60 s window at 25). A worker at its
 * loop boundary (between two tasks, replies sent, offline) that finds it
 * owed a loan's worth (a slice: LEND_NS unless set) sleeps what it is
 * owed (lend_run): its core idles, the idle-class thread runs there, and
 * the worker's timer preempts
 * it again when the loan ends. So under a saturating load the worker lends
 * `share` of the core, in pieces of a slice when the worker reaches its
 * loop boundary often (short requests), longer when each task holds it
 * longer (a pipelining client's run, a slow command: a worker that reaches
 * its boundary late lends what was owed meanwhile), but never longer than
 * LEND_OWED_MAX, which bounds what a request waiting behind a loan pays
 * (a loan that long follows a task that held the worker 3 ms at 25%);
 * with idle time to spare the thread gets its share on its own and nobody
 * lends. What it got beyond its share counts as credit up to
 * LEND_CREDIT_NS (a stretch of idle time does not postpone the loans of a
 * saturated stretch after it by more than that), and loans are at least
 * half the nominal interval apart. One check and at most one loan at a
 * time, server-wide (the first worker to see the check due does it).
 *
 * Why CPU time and not progress seen: an earlier version lent 100 us when
 * the thread had not beaten since the last check (one loan per 800 us at
 * most: 1/8) and doubled the wait after a loan without a beat (to 128x at
 * once if it also overran 4x). About 9% of loans had no beat although the
 * thread ran: it spent them inside a system call (write, a 4 MB
 * sync_file_range, fadvise; on a kernel without preemption the worker's
 * timer cannot take the core back before it returns, so some overran
 * too). On a shared machine under a saturating load of slow commands their
 * backoffs scheduled 23.5 s of waiting in a 33.7 s save of 1M keys, and
 * the thread got 2.3-3.3% of the core; at 10M keys on a quiet machine
 * it got 1.6 s of loans in 30 s. Counted in CPU time, a loan spent in a
 * system call is used, and idle time the thread used counts for what it is
 * (where any beat had cancelled a whole period's loan).
 *
 * What it does not cover: a core shared with other busy processes (a
 * worker that sleeps hands the core to them, not to the idle-class thread,
 * and gets it back late: on a machine loaded 3x over, 100 us loans lasted
 * 4.3 ms on average). A loan during which the thread got less than a
 * quarter of it in CPU and did not beat is unused: it doubles the interval
 * before the next loan (up to LEND_BACKOFF_MAX doublings, at once if the
 * loan also overran 4x: other processes kept the core); a used loan resets
 * it. With several workers, the one that lends may not share the thread's
 * core (the kernel's idle balancing usually pulls the runnable thread to
 * the core that went idle; if not, the loan is unused and backs off), and
 * with more workers than cores a sleeping worker's core goes to another
 * worker, not to the thread (two workers pinned to one core under a
 * saturating load: a 300k-key save took 42 s, 82 s before this version).
 * Workers that run chunks of the save themselves would progress under any
 * load, but the save's state lives on the thread's stack
 * (persist/rdb_file.c's rdb_save), and an idle-class thread preempted
 * while holding that state would stall every helper: not done.
 *
 * Threads: lend_begin / lend_beat / lend_end on the background thread (at
 * most one kind at a time is expected: the db has one snapshot at a time;
 * several work, counted under the last kind begun, whose CPU clock is the
 * one watched); lend_due / lend_run on workers, lend_due on every loop
 * iteration (one relaxed load while no background thread wants lending);
 * lend_set_share and lend_stats anywhere. A check that races with
 * lend_begin or lend_io_wait may count a little of the time around them
 * as owed or not (the cap on what is owed bounds the error to one loan),
 * and as they restart the period a second worker may lend while a loan
 * runs.
 * Ordering: none promised; the flags, counters and clocks publish nothing.
 * Progress: the beat is wait-free; lend_due is one relaxed load, and one
 * clock_gettime of the thread's CPU clock when a check is due (at most
 * twice per loan interval); lend_run sleeps the loan (LEND_OWED_MAX at most).
 * Errors: none. Where the thread's CPU clock cannot be read it is taken to
 * get nothing on its own: it is lent its share whenever it wants lending.
 */
#ifndef KVSD_LEND_H
#define KVSD_LEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum lend_kind { LEND_RDB, LEND_AOF, LEND_KINDS };

#define LEND_NS		 100000LL  /* a loan, when the worker checks on time: the default slice */
#define LEND_OWED_MAX	 1000000LL /* the longest loan: what a request may wait behind it */
#define LEND_CREDIT_NS	 1000000LL /* CPU beyond its share the thread may bank */
#define LEND_BACKOFF_MAX 7	   /* unused loans double the interval, up to 128x */

/* The share of a saturated worker's core lent to the thread, in percent
 * (CONFIG bgsave-cpu-percent): the default, and the bounds (above half,
 * the workers would spend more time lending than serving). */
#define LEND_SHARE_DEFAULT 25
#define LEND_SHARE_MIN	   1
#define LEND_SHARE_MAX	   50

/* Any thread: the share from now on (clamped to the bounds). */
void lend_set_share(int percent);

/* A loan's length when the worker reaches its loop boundary on time (the
 * slice; CONFIG bgsave-cpu-slice-us), default LEND_NS, and its bounds (at
 * most what a late boundary may lend). Each loan costs both threads about
 * the same fixed time whatever its length (the switches, a timer, caches
 * refilled): longer slices give the thread more of its share in useful
 * work, and hold a request that arrives during one longer. */
#define LEND_SLICE_MIN_US 50
#define LEND_SLICE_MAX_US (LEND_OWED_MAX / 1000)
/* Any thread: the slice from now on, in microseconds (clamped to the bounds). */
void lend_set_slice_us(int us);
/* Any thread: the slice in microseconds. */
int lend_slice_us(void);

/* Background thread: from now on lend when it starves; its work is `kind`'s. */
void lend_begin(enum lend_kind kind);
/* Background thread: a batch done (progress). */
void lend_beat(void);
/* Background thread: no more lending for it (before an fsync or a wait:
 * time with no beat that lending would not shorten). */
void lend_end(void);
/* Background thread, between lend_begin and lend_end, around a blocking
 * wait in the middle of its work (begin: true before, false after; an
 * incremental sync of the file being written, persist/autosync.h): no
 * lending while it waits on the disk, and the period restarts after it, so
 * the time blocked does not look like starving. The backoff is kept. */
void lend_io_wait(bool begin);

/* Background threads that want lending now (lend_begin - lend_end); read
 * by lend_due's fast path. Written by lend_begin / lend_end only. */
extern _Atomic int lend_active;
bool lend_due_slow(int64_t now_ns);
/* Worker, now_ns its loop's monotonic clock: whether this worker should
 * lend now (it takes the period's check: at most one worker per period).
 * One relaxed load while no background thread wants lending. */
static inline bool lend_due(int64_t now_ns)
{
	/* relaxed: a hint; a worker that misses a begin lends a period later */
	if (atomic_load_explicit(&lend_active, memory_order_relaxed) == 0)
		return false;
	return lend_due_slow(now_ns);
}
/* Worker, after lend_due said so: the loan's length (what the thread is
 * owed, a slice to LEND_OWED_MAX). */
int64_t lend_loan_ns(void);
/* Worker, after lend_due said so, offline (holding no epoch section, no
 * lock): sleeps lend_loan_ns(), so an idle-class thread gets the core,
 * then lend_ran(now_ns, the time it woke). */
void lend_run(int64_t now_ns);
/* The loan that lend_due granted at start_ns ended at end_ns: its
 * accounting and the next check's time (lend_run's second half; tests call
 * it with synthetic times, the worker through lend_run). */
void lend_ran(int64_t start_ns, int64_t end_ns);

/* lends: loans; lent_ns: their total length (oversleeps included: the
 * worker's cost); used: loans the thread used (a beat, or a quarter of the
 * loan in CPU); overrun: loans that lasted more than twice their length;
 * lent_cpu_ns: the thread's CPU time during loans (against lent_ns: whose
 * the overruns were, the thread's inside a system call or other
 * processes'); cpu_ns: its CPU time while it wanted lending, loans and
 * idle time (against the wall time: the share it got). */
struct lend_stats {
	uint64_t lends, lent_ns, used, overrun, lent_cpu_ns, cpu_ns;
	/* asked_ns: the loans' lengths as granted (against lent_ns: the
	 * oversleeps); want_ns: the wall time the thread wanted lending
	 * (lend_begin to lend_end, less its blocking waits: lent_ns over it is
	 * the share of a saturated worker's core it cost); sys_ns, preempted:
	 * the thread's system CPU time and involuntary context switches over
	 * the same spans (getrusage RUSAGE_THREAD: where its CPU went) */
	uint64_t asked_ns, want_ns, sys_ns, preempted;
};
void lend_stats(enum lend_kind kind, struct lend_stats *out);

#endif
