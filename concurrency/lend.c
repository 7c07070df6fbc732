/*
 * lend.c — workers lend their core to a starving idle-class background
 * thread (lend.h tells why and what it bounds).
 *
 * The period's check: next_ns is when the next check is due; the worker
 * whose CAS moves it forward does the check, so workers never lend in
 * parallel (one sleeping worker is enough to give the thread a core; a
 * second would only idle its own core). The check compares the beat with
 * the one seen at the end of the last check or loan: a thread that beat
 * meanwhile made progress on its own (idle time, or a core of its own) and
 * needs nothing; progress made during a loan does not count, it is
 * re-sampled when the loan ends.
 */
#include "concurrency/lend.h"

#include <stddef.h>
#include <sys/prctl.h>
#include <time.h>

#include "concurrency/clock.h"

/* written by lend_begin / lend_end (the background threads); read by
 * every worker's loop (relaxed: a hint, see lend_due) */
_Atomic int lend_active;

static struct {
	/* the background thread's progress counter: written by it (relaxed
	 * adds: a count, publishes nothing), read by the checking worker */
	_Atomic uint64_t beat;
	/* the beat at the last check or loan's end: the checking worker's */
	_Atomic uint64_t seen;
	/* when the next check is due: CAS by workers (relaxed: it elects the
	 * checker, and publishes nothing) */
	_Atomic int64_t next_ns;
	/* whose work the loans help now (lend_begin; relaxed: a statistic's key) */
	_Atomic int kind;
	/* consecutive loans the thread did not use (no beat during them): the
	 * next check waits LEND_PERIOD_NS << backoff. The checking worker's
	 * (relaxed: only the CAS winner of next_ns touches it) */
	_Atomic int backoff;
	/* per kind: loans, their length, loans the thread used (relaxed:
	 * statistics) */
	_Atomic uint64_t lends[LEND_KINDS], lent_ns[LEND_KINDS], used[LEND_KINDS];
} ld;

void lend_begin(enum lend_kind kind)
{
	/* relaxed: statistics key, and a period starts from now */
	atomic_store_explicit(&ld.kind, (int)kind, memory_order_relaxed);
	atomic_store_explicit(&ld.seen, atomic_load_explicit(&ld.beat, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&ld.next_ns, clock_mono_ns() + LEND_PERIOD_NS, memory_order_relaxed);
	atomic_store_explicit(&ld.backoff, 0, memory_order_relaxed);
	/* relaxed: see lend_active */
	atomic_fetch_add_explicit(&lend_active, 1, memory_order_relaxed);
}

void lend_beat(void)
{
	/* relaxed: a progress count; see ld.beat */
	atomic_fetch_add_explicit(&ld.beat, 1, memory_order_relaxed);
}

void lend_end(void)
{
	/* relaxed: see lend_active */
	atomic_fetch_sub_explicit(&lend_active, 1, memory_order_relaxed);
}

void lend_io_wait(bool begin)
{
	/* relaxed: see lend_active */
	if (begin) {
		atomic_fetch_sub_explicit(&lend_active, 1, memory_order_relaxed);
		return;
	}
	/* relaxed: a period starts from now, as in lend_begin */
	atomic_store_explicit(&ld.seen, atomic_load_explicit(&ld.beat, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&ld.next_ns, clock_mono_ns() + LEND_PERIOD_NS, memory_order_relaxed);
	atomic_fetch_add_explicit(&lend_active, 1, memory_order_relaxed); /* see lend_active */
}

bool lend_due_slow(int64_t now_ns)
{
	/* relaxed throughout: see the fields */
	int64_t due = atomic_load_explicit(&ld.next_ns, memory_order_relaxed);
	uint64_t b;

	if (now_ns < due)
		return false;
	/* this worker checks; nobody else until the loan (if any) has ended */
	if (!atomic_compare_exchange_strong_explicit(&ld.next_ns, &due,
						     now_ns + LEND_PERIOD_NS + LEND_NS,
						     memory_order_relaxed, memory_order_relaxed))
		return false;
	b = atomic_load_explicit(&ld.beat, memory_order_relaxed);
	if (b != atomic_load_explicit(&ld.seen, memory_order_relaxed)) {
		atomic_store_explicit(&ld.seen, b, memory_order_relaxed);
		atomic_store_explicit(&ld.next_ns, now_ns + LEND_PERIOD_NS, memory_order_relaxed);
		return false; /* it progressed on its own */
	}
	return true;
}

void lend_run(int64_t now_ns)
{
	struct timespec ts = {0, LEND_NS};
	/* relaxed: see the fields */
	uint64_t before = atomic_load_explicit(&ld.seen, memory_order_relaxed), after;
	int64_t end;
	int k, bo;

	/* the default 50 us timer slack would make a 100 us loan up to 150;
	 * only this worker's timers get precise (its cron: harmless) */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	while (nanosleep(&ts, &ts) != 0 && ts.tv_nsec > 0)
		;
	end = clock_mono_ns();
	/* relaxed: see the fields */
	k = atomic_load_explicit(&ld.kind, memory_order_relaxed);
	atomic_fetch_add_explicit(&ld.lends[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ld.lent_ns[k], (uint64_t)(end - now_ns), memory_order_relaxed);
	after = atomic_load_explicit(&ld.beat, memory_order_relaxed);
	atomic_store_explicit(&ld.seen, after, memory_order_relaxed);
	/* A loan the thread did not use went to another process on this core
	 * (or the thread waits for I/O): the worker paid for it and nobody
	 * gained, so lend more rarely until one is used again. */
	bo = atomic_load_explicit(&ld.backoff, memory_order_relaxed);
	if (after != before) {
		atomic_fetch_add_explicit(&ld.used[k], 1, memory_order_relaxed);
		bo = 0;
	} else if (end - now_ns > 4 * LEND_NS) {
		bo = LEND_BACKOFF_MAX; /* others ran and kept the core: contested */
	} else if (bo < LEND_BACKOFF_MAX) {
		bo++;
	}
	atomic_store_explicit(&ld.backoff, bo, memory_order_relaxed);
	atomic_store_explicit(&ld.next_ns, end + (LEND_PERIOD_NS << bo), memory_order_relaxed);
}

void lend_stats(enum lend_kind kind, struct lend_stats *out)
{
	/* relaxed: statistics */
	out->lends = atomic_load_explicit(&ld.lends[kind], memory_order_relaxed);
	out->lent_ns = atomic_load_explicit(&ld.lent_ns[kind], memory_order_relaxed);
	out->used = atomic_load_explicit(&ld.used[kind], memory_order_relaxed);
}
