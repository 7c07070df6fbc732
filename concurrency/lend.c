/*
 * lend.c — workers lend their core to a starving idle-class background
 * thread (lend.h tells why and what it bounds).
 *
 * The account: owed_ns is the time the thread is owed, share percent of
 * the wall time since it began (or came back from a blocking wait) less
 * the CPU time its clock shows outside loans and the loans' whole lengths
 * (what they cost the worker, of which the thread's CPU time is only a
 * part: 66-87% under a saturating load, docs/BENCHMARKS.md save15d;
 * counting only the thread's CPU made the worker lend more than the
 * share), clamped to [-LEND_CREDIT_NS, LEND_OWED_MAX]. It is brought up
 * to date at each check and at each loan's end, by the worker doing the
 * check or the loan, against acct_ns / acct_cpu (the wall time and the
 * thread's CPU time at the last update; the thread itself moves acct_cpu on
 * when it stops wanting lending, to count its last CPU time in the
 * statistics).
 *
 * The check: next_ns is when the next one is due; the worker whose CAS
 * moves it forward (to a far hold) does the check, and the loan if the
 * thread is owed one (of what it is owed: a slice when the worker came on
 * time, up to LEND_OWED_MAX when its last task held it past the check's
 * time), then sets next_ns: so workers never lend in parallel
 * (one sleeping worker is enough to give the thread a core; a second would
 * only idle its own core) and only that worker writes the account. The
 * next check is due when, getting nothing meanwhile, the thread would be
 * owed a loan: (slice - owed) / share, but at least half the nominal
 * interval slice * (100 - share) / share after a check or a loan (a check
 * costs a system call; loans come in no bursts), and after an unused loan
 * that interval doubled per unused loan in a row.
 */
#include "concurrency/lend.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "concurrency/clock.h"

/* a check's hold on next_ns while it runs (lend_ran or the check sets it):
 * longer than any loan, oversleeps on a loaded machine included */
#define LEND_HOLD_NS 1000000000LL

/* written by lend_begin / lend_end (the background threads); read by
 * every worker's loop (relaxed: a hint, see lend_due) */
_Atomic int lend_active;

static struct {
	/* the background thread's progress counter: written by it (relaxed
	 * adds: a count, publishes nothing), read by the lending worker */
	_Atomic uint64_t beat;
	/* the beat when the current loan began: the lending worker's */
	_Atomic uint64_t seen;
	/* when the next check is due: CAS by workers (relaxed: it elects the
	 * checker, and publishes nothing); also reset by lend_begin and
	 * lend_io_wait (a period starts) */
	_Atomic int64_t next_ns;
	/* whose work the loans help now (lend_begin; relaxed: a statistic's key) */
	_Atomic int kind;
	/* the thread's CPU clock (a clockid_t) and whether it has one: written
	 * by lend_begin, read by the checking worker (relaxed: a clock id, and
	 * a stale one reads an ended thread's clock, EINVAL: no CPU seen) */
	_Atomic int cpu_clock, has_clock;
	/* the account (file comment): the checking worker's (relaxed: only the
	 * CAS winner of next_ns writes them, besides lend_begin / lend_io_wait
	 * starting a period and settle_self, lend.h's race note) */
	_Atomic int64_t owed_ns, acct_ns, acct_cpu;
	/* the length of the loan granted by the last check: the checking
	 * worker's (relaxed: see the account) */
	_Atomic int64_t loan_ns;
	/* consecutive loans the thread did not use: the next check waits the
	 * nominal interval << backoff. The checking worker's (relaxed: see
	 * the account) */
	_Atomic int backoff;
	/* the share in percent and a loan's length on time (the slice, ns):
	 * lend_set_share's and lend_set_slice_us's (relaxed: settings read at
	 * each check, publish nothing) */
	_Atomic int share;
	_Atomic int64_t slice_ns;
	/* when the thread last began wanting lending, and its system CPU time
	 * and involuntary switches then: the background thread's own (relaxed:
	 * statistics' bases, read only by that thread) */
	_Atomic int64_t want_t0, sys0_ns, nivcsw0;
	/* per kind (relaxed: statistics) */
	_Atomic uint64_t lends[LEND_KINDS], lent_ns[LEND_KINDS], used[LEND_KINDS],
	    overrun[LEND_KINDS], lent_cpu_ns[LEND_KINDS], cpu_ns[LEND_KINDS], asked_ns[LEND_KINDS],
	    want_ns[LEND_KINDS], sys_ns[LEND_KINDS], preempted[LEND_KINDS];
} ld = {.share = LEND_SHARE_DEFAULT, .slice_ns = LEND_NS, .loan_ns = LEND_NS};

void lend_set_share(int percent)
{
	if (percent < LEND_SHARE_MIN)
		percent = LEND_SHARE_MIN;
	if (percent > LEND_SHARE_MAX)
		percent = LEND_SHARE_MAX;
	/* relaxed: see ld.share */
	atomic_store_explicit(&ld.share, percent, memory_order_relaxed);
}

void lend_set_slice_us(int us)
{
	if (us < LEND_SLICE_MIN_US)
		us = LEND_SLICE_MIN_US;
	if (us > LEND_SLICE_MAX_US)
		us = LEND_SLICE_MAX_US;
	/* relaxed: see ld.slice_ns */
	atomic_store_explicit(&ld.slice_ns, (int64_t)us * 1000, memory_order_relaxed);
}

int lend_slice_us(void)
{
	/* relaxed: see ld.slice_ns */
	return (int)(atomic_load_explicit(&ld.slice_ns, memory_order_relaxed) / 1000);
}

/* A loan's length when the worker checks on time. */
static int64_t slice(void)
{
	return atomic_load_explicit(&ld.slice_ns, memory_order_relaxed); /* see ld.slice_ns */
}

/* The watched thread's CPU time, or -1 where it has no readable clock. */
static int64_t thread_cpu(void)
{
	struct timespec ts;

	/* relaxed: see ld.cpu_clock */
	if (!atomic_load_explicit(&ld.has_clock, memory_order_relaxed) ||
	    clock_gettime((clockid_t)atomic_load_explicit(&ld.cpu_clock, memory_order_relaxed),
			  &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The wait between loans at share s with nothing else: a slice per s% */
static int64_t interval_ns(int s)
{
	return slice() * (100 - s) / s;
}

/* A period starts at now (lend_begin, the end of a blocking wait): the
 * account's clocks restart; the next check is due when a loan would be owed. */
static void restart(int64_t now)
{
	/* relaxed throughout: see the fields */
	int s = atomic_load_explicit(&ld.share, memory_order_relaxed);
	int64_t owed = atomic_load_explicit(&ld.owed_ns, memory_order_relaxed);

	atomic_store_explicit(&ld.acct_ns, now, memory_order_relaxed);
	atomic_store_explicit(&ld.acct_cpu, thread_cpu(), memory_order_relaxed);
	atomic_store_explicit(&ld.next_ns, now + (owed < slice() ? (slice() - owed) * 100 / s : 0),
			      memory_order_relaxed);
}

/* The background thread's system CPU time (ns) and involuntary switches so far. */
static void self_usage(int64_t *sys_ns, int64_t *nivcsw)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0) {
		*sys_ns = *nivcsw = 0;
		return;
	}
	*sys_ns = (int64_t)ru.ru_stime.tv_sec * 1000000000 + (int64_t)ru.ru_stime.tv_usec * 1000;
	*nivcsw = ru.ru_nivcsw;
}

/* The background thread, as it starts wanting lending at now: the bases of
 * its wall time wanting, system CPU time and preemptions (statistics). */
static void want_start(int64_t now)
{
	int64_t sys, niv;

	self_usage(&sys, &niv);
	/* relaxed throughout: statistics' bases, this thread's only */
	atomic_store_explicit(&ld.want_t0, now, memory_order_relaxed);
	atomic_store_explicit(&ld.sys0_ns, sys, memory_order_relaxed);
	atomic_store_explicit(&ld.nivcsw0, niv, memory_order_relaxed);
}

void lend_begin(enum lend_kind kind)
{
	clockid_t c;
	bool ok = pthread_getcpuclockid(pthread_self(), &c) == 0;

	/* relaxed throughout: statistics key, clock id, and a period that
	 * starts from now with nothing owed (see the fields) */
	atomic_store_explicit(&ld.kind, (int)kind, memory_order_relaxed);
	atomic_store_explicit(&ld.cpu_clock, ok ? (int)c : 0, memory_order_relaxed);
	atomic_store_explicit(&ld.has_clock, ok, memory_order_relaxed);
	atomic_store_explicit(&ld.owed_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&ld.backoff, 0, memory_order_relaxed);
	restart(clock_mono_ns());
	want_start(clock_mono_ns());
	/* relaxed: see lend_active */
	atomic_fetch_add_explicit(&lend_active, 1, memory_order_relaxed);
}

void lend_beat(void)
{
	/* relaxed: a progress count; see ld.beat */
	atomic_fetch_add_explicit(&ld.beat, 1, memory_order_relaxed);
}

/* The background thread, as it stops wanting lending: its CPU time since
 * the account's last update goes to the statistics (a check racing with
 * this may count a few microseconds twice: a statistic only). */
static void settle_self(void)
{
	/* relaxed throughout: statistics, and see the account */
	int64_t cpu = clock_ns_(CLOCK_THREAD_CPUTIME_ID);
	int64_t cpu0 = atomic_exchange_explicit(&ld.acct_cpu, cpu, memory_order_relaxed);
	int k = atomic_load_explicit(&ld.kind, memory_order_relaxed);
	int64_t now = clock_mono_ns(), sys, niv;
	int64_t t0 = atomic_load_explicit(&ld.want_t0, memory_order_relaxed);
	int64_t sys0 = atomic_load_explicit(&ld.sys0_ns, memory_order_relaxed);
	int64_t niv0 = atomic_load_explicit(&ld.nivcsw0, memory_order_relaxed);

	if (cpu0 >= 0 && cpu > cpu0)
		atomic_fetch_add_explicit(&ld.cpu_ns[k], (uint64_t)(cpu - cpu0),
					  memory_order_relaxed);
	self_usage(&sys, &niv);
	if (now > t0)
		atomic_fetch_add_explicit(&ld.want_ns[k], (uint64_t)(now - t0),
					  memory_order_relaxed);
	if (sys > sys0)
		atomic_fetch_add_explicit(&ld.sys_ns[k], (uint64_t)(sys - sys0),
					  memory_order_relaxed);
	if (niv > niv0)
		atomic_fetch_add_explicit(&ld.preempted[k], (uint64_t)(niv - niv0),
					  memory_order_relaxed);
}

void lend_end(void)
{
	/* relaxed: see lend_active */
	atomic_fetch_sub_explicit(&lend_active, 1, memory_order_relaxed);
	settle_self();
}

void lend_io_wait(bool begin)
{
	/* relaxed: see lend_active */
	if (begin) {
		atomic_fetch_sub_explicit(&lend_active, 1, memory_order_relaxed);
		settle_self();
		return;
	}
	restart(clock_mono_ns()); /* the time blocked is not owed; what was owed is kept */
	want_start(clock_mono_ns());
	atomic_fetch_add_explicit(&lend_active, 1, memory_order_relaxed); /* see lend_active */
}

/* Brings the account up to now; returns what the thread is owed and, in
 * *gained, the CPU time it got since the last update (0 without a clock).
 * The checking worker only. */
static int64_t account(int64_t now, int64_t *gained)
{
	/* relaxed throughout: see the fields */
	int s = atomic_load_explicit(&ld.share, memory_order_relaxed);
	int64_t last = atomic_load_explicit(&ld.acct_ns, memory_order_relaxed);
	int64_t cpu0 = atomic_load_explicit(&ld.acct_cpu, memory_order_relaxed);
	int64_t owed = atomic_load_explicit(&ld.owed_ns, memory_order_relaxed);
	int64_t cpu = thread_cpu(), g = cpu >= 0 && cpu0 >= 0 && cpu > cpu0 ? cpu - cpu0 : 0;
	int k = atomic_load_explicit(&ld.kind, memory_order_relaxed);

	if (now > last)
		owed += (now - last) * s / 100;
	owed -= g;
	if (owed > LEND_OWED_MAX)
		owed = LEND_OWED_MAX;
	if (owed < -LEND_CREDIT_NS)
		owed = -LEND_CREDIT_NS;
	atomic_store_explicit(&ld.owed_ns, owed, memory_order_relaxed);
	atomic_store_explicit(&ld.acct_ns, now, memory_order_relaxed);
	atomic_store_explicit(&ld.acct_cpu, cpu, memory_order_relaxed);
	atomic_fetch_add_explicit(&ld.cpu_ns[k], (uint64_t)g, memory_order_relaxed);
	*gained = g;
	return owed;
}

bool lend_due_slow(int64_t now_ns)
{
	/* relaxed throughout: see the fields */
	int64_t due = atomic_load_explicit(&ld.next_ns, memory_order_relaxed), owed, g, wait;
	int s;

	if (now_ns < due)
		return false;
	/* this worker checks; nobody else until it (or its loan) is done */
	if (!atomic_compare_exchange_strong_explicit(&ld.next_ns, &due, now_ns + LEND_HOLD_NS,
						     memory_order_relaxed, memory_order_relaxed))
		return false;
	owed = account(now_ns, &g);
	if (owed >= slice()) { /* a loan of what is owed (late boundary: longer) */
		atomic_store_explicit(&ld.loan_ns, owed, memory_order_relaxed);
		atomic_fetch_add_explicit(
		    &ld.asked_ns[atomic_load_explicit(&ld.kind, memory_order_relaxed)],
		    (uint64_t)owed, memory_order_relaxed);
		atomic_store_explicit(&ld.seen,
				      atomic_load_explicit(&ld.beat, memory_order_relaxed),
				      memory_order_relaxed);
		return true;
	}
	/* it got its share (idle time): look again when a loan would be owed,
	 * and not sooner than half the interval (a check reads the thread's
	 * CPU clock: a system call; what is owed meanwhile is kept) */
	s = atomic_load_explicit(&ld.share, memory_order_relaxed);
	wait = (slice() - owed) * 100 / s;
	if (wait < interval_ns(s) / 2)
		wait = interval_ns(s) / 2;
	atomic_store_explicit(&ld.next_ns, now_ns + wait, memory_order_relaxed);
	return false;
}

void lend_ran(int64_t start_ns, int64_t end_ns)
{
	/* relaxed throughout: see the fields */
	int k = atomic_load_explicit(&ld.kind, memory_order_relaxed);
	int s = atomic_load_explicit(&ld.share, memory_order_relaxed);
	int bo = atomic_load_explicit(&ld.backoff, memory_order_relaxed);
	bool beat = atomic_load_explicit(&ld.beat, memory_order_relaxed) !=
		    atomic_load_explicit(&ld.seen, memory_order_relaxed);
	int64_t loan = atomic_load_explicit(&ld.loan_ns, memory_order_relaxed);
	int64_t len = end_ns - start_ns, g, owed = account(end_ns, &g), wait, min;

	/* The loan cost the worker its whole length, whatever the thread got
	 * of it (the switches in and out, a timer that fired late, another
	 * process): paid in full, so the worker lends the share and no more */
	if (len > g) {
		owed -= len - g;
		if (owed < -LEND_CREDIT_NS)
			owed = -LEND_CREDIT_NS;
		atomic_store_explicit(&ld.owed_ns, owed, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&ld.lends[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ld.lent_ns[k], (uint64_t)len, memory_order_relaxed);
	atomic_fetch_add_explicit(&ld.lent_cpu_ns[k], (uint64_t)g, memory_order_relaxed);
	if (len > 2 * loan)
		atomic_fetch_add_explicit(&ld.overrun[k], 1, memory_order_relaxed);
	/* A loan the thread did not use went to another process on this core
	 * (or the thread waits for something): the worker paid for it and
	 * nobody gained, so lend more rarely until one is used again. Time the
	 * thread spent inside a system call during the loan counts as used:
	 * it is the save's work. */
	if (beat || g >= loan / 4) {
		atomic_fetch_add_explicit(&ld.used[k], 1, memory_order_relaxed);
		bo = 0;
	} else if (len > 4 * loan) {
		bo = LEND_BACKOFF_MAX; /* others ran and kept the core: contested */
	} else if (bo < LEND_BACKOFF_MAX) {
		bo++;
	}
	atomic_store_explicit(&ld.backoff, bo, memory_order_relaxed);
	wait = owed < slice() ? (slice() - owed) * 100 / s : 0;
	/* no bursts (half the interval at least); unused loans back off */
	min = bo ? interval_ns(s) << bo : interval_ns(s) / 2;
	if (wait < min)
		wait = min;
	atomic_store_explicit(&ld.next_ns, end_ns + wait, memory_order_relaxed);
}

int64_t lend_loan_ns(void)
{
	return atomic_load_explicit(&ld.loan_ns, memory_order_relaxed); /* see ld.loan_ns */
}

void lend_run(int64_t now_ns)
{
	struct timespec ts = {0, (long)lend_loan_ns()};

	/* the default 50 us timer slack would make a 100 us loan up to 150;
	 * only this worker's timers get precise (its cron: harmless) */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	while (nanosleep(&ts, &ts) != 0 && ts.tv_nsec > 0)
		;
	lend_ran(now_ns, clock_mono_ns());
}

void lend_stats(enum lend_kind kind, struct lend_stats *out)
{
	/* relaxed: statistics */
	out->lends = atomic_load_explicit(&ld.lends[kind], memory_order_relaxed);
	out->lent_ns = atomic_load_explicit(&ld.lent_ns[kind], memory_order_relaxed);
	out->used = atomic_load_explicit(&ld.used[kind], memory_order_relaxed);
	out->overrun = atomic_load_explicit(&ld.overrun[kind], memory_order_relaxed);
	out->lent_cpu_ns = atomic_load_explicit(&ld.lent_cpu_ns[kind], memory_order_relaxed);
	out->cpu_ns = atomic_load_explicit(&ld.cpu_ns[kind], memory_order_relaxed);
	out->asked_ns = atomic_load_explicit(&ld.asked_ns[kind], memory_order_relaxed);
	out->want_ns = atomic_load_explicit(&ld.want_ns[kind], memory_order_relaxed);
	out->sys_ns = atomic_load_explicit(&ld.sys_ns[kind], memory_order_relaxed);
	out->preempted = atomic_load_explicit(&ld.preempted[kind], memory_order_relaxed);
}
