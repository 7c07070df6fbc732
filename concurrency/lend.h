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
 * purpose: the thread beats (lend_beat) per key it writes; a
 * worker at its loop boundary (between two tasks, replies sent, offline)
 * that finds the thread without a beat for LEND_PERIOD_NS sleeps for
 * LEND_NS (lend_run). Its core idles, the idle-class thread runs there, and
 * the worker's timer preempts it again when the loan ends. So under a
 * saturating load the thread gets LEND_NS / (LEND_PERIOD_NS + LEND_NS) of
 * the core (100 us in every 800: 1/8), in pieces no longer than LEND_NS,
 * which bounds what a request waiting behind a loan pays; with idle time
 * to spare it beats on its own and nobody lends. One check and at most one
 * loan per period, server-wide (the first worker to see the period end
 * does it). What it does not cover: a core shared with other busy
 * processes (a worker that sleeps hands the core to them, not to the
 * idle-class thread, and gets it back late: on a machine loaded 3x over,
 * 100 us loans lasted 4.3 ms on average). A loan during which the thread
 * made no progress therefore doubles the wait before the next one (up to
 * LEND_BACKOFF_MAX doublings, at once if the loan also overran 4x: other
 * processes kept the core); a used loan resets it. With several
 * workers, the one that lends may not share the thread's core (the
 * kernel's idle balancing usually pulls the runnable thread to the core
 * that went idle; if not, the loan is unused and backs off). Workers that
 * run chunks of the save themselves would progress under any load, but
 * the save's state lives on the thread's stack (persist/rdb_file.c's
 * rdb_save), and an idle-class thread preempted while holding that state
 * would stall every helper: not done.
 *
 * Threads: lend_begin / lend_beat / lend_end on the background thread (at
 * most one kind at a time is expected: the db has one snapshot at a time;
 * several work, counted under the last kind begun); lend_due / lend_run on
 * workers, lend_due on every loop iteration (one relaxed load while no
 * background thread wants lending); lend_stats anywhere.
 * Ordering: none promised; the flags and counters publish nothing.
 * Progress: lend_due and the beat are wait-free; lend_run sleeps LEND_NS.
 * Errors: none.
 */
#ifndef KVSD_LEND_H
#define KVSD_LEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum lend_kind { LEND_RDB, LEND_AOF, LEND_KINDS };

#define LEND_NS		 100000LL /* one loan: what a request may wait behind it */
#define LEND_PERIOD_NS	 700000LL /* no beat in this long after a check: starving */
#define LEND_BACKOFF_MAX 7	  /* unused loans double the period, up to 128x (90 ms) */

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
/* Worker, after lend_due said so, offline (holding no epoch section, no
 * lock): sleeps LEND_NS, so an idle-class thread gets the core. */
void lend_run(int64_t now_ns);

/* lends: loans; lent_ns: their total length (oversleeps included: the
 * worker's cost); used: loans during which the thread beat. */
struct lend_stats {
	uint64_t lends, lent_ns, used;
};
void lend_stats(enum lend_kind kind, struct lend_stats *out);

#endif
