/*
 * stress_lend.c — time-boxed torture test of concurrency/lend (issue 15):
 * workers check and lend while background threads begin, beat, wait on
 * "I/O" and end, and the share changes under them (run under TSan too:
 * every shared field is atomic, so a report is a bug).
 *
 * Workers: lend_due on every iteration and lend_run when due, as
 * net/worker.c does, with a little spinning in between (their tasks).
 * Savers: two threads that by turns lend_begin (RDB or AOF), spin and beat
 * for a few milliseconds with short blocking waits bracketed by
 * lend_io_wait, then lend_end. A setter changes bgsave-cpu-percent
 * (out-of-range values included) and reads the statistics. Checked at the
 * end: loans happened and some were used (the savers spin, so they get the
 * loans' CPU time); no loan longer than the sleep bound plus slack was
 * asked for; statistics are consistent (used <= lends).
 *
 * Usage: stress_lend [--seconds S] [--workers N]
 */
#include "concurrency/clock.h"
#include "concurrency/lend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int stop, failed;
static _Atomic uint64_t loans, bad_loans;

static void spin_ns(int64_t ns)
{
	int64_t end = clock_mono_ns() + ns;

	while (clock_mono_ns() < end)
		;
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int64_t now = clock_mono_ns();

		if (lend_due(now)) {
			int64_t loan = lend_loan_ns();

			if (loan < LEND_NS || loan > LEND_OWED_MAX)
				atomic_fetch_add_explicit(&bad_loans, 1, memory_order_relaxed);
			lend_run(now);
			atomic_fetch_add_explicit(&loans, 1, memory_order_relaxed);
		}
		spin_ns(5000 + rand_r(&seed) % 50000); /* a task: 5-55 us */
	}
	return NULL;
}

static void *saver(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 104729u + 3;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int64_t end = clock_mono_ns() + 2000000 + rand_r(&seed) % 8000000;

		lend_begin(rand_r(&seed) % 2 ? LEND_RDB : LEND_AOF);
		while (clock_mono_ns() < end) {
			for (int i = 0; i < 64; i++)
				lend_beat();
			spin_ns(2000);
			if (rand_r(&seed) % 200 == 0) { /* a blocking wait on the disk */
				struct timespec ts = {0, 200000};

				lend_io_wait(true);
				nanosleep(&ts, NULL);
				lend_io_wait(false);
			}
		}
		lend_end();
	}
	return NULL;
}

static void *setter(void *arg)
{
	unsigned seed = 17;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct timespec ts = {0, 3000000};
		struct lend_stats s;

		lend_set_share((int)(rand_r(&seed) % 70) - 5);
		for (int k = 0; k < LEND_KINDS; k++) {
			lend_stats((enum lend_kind)k, &s);
			if (s.used > s.lends)
				atomic_store_explicit(&failed, 1, memory_order_relaxed);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int nworkers = 3;
	pthread_t w[16], sv[2], st;
	struct timespec ts;
	struct lend_stats s, total = {0};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			nworkers = atoi(argv[++i]);
	}
	if (nworkers < 1 || nworkers > 16)
		nworkers = 3;
	for (int i = 0; i < nworkers; i++)
		pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_create(&sv[i], NULL, saver, (void *)(uintptr_t)i);
	pthread_create(&st, NULL, setter, NULL);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (int i = 0; i < nworkers; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(sv[i], NULL);
	pthread_join(st, NULL);
	for (int k = 0; k < LEND_KINDS; k++) {
		lend_stats((enum lend_kind)k, &s);
		total.lends += s.lends;
		total.used += s.used;
		total.lent_ns += s.lent_ns;
		total.lent_cpu_ns += s.lent_cpu_ns;
		total.cpu_ns += s.cpu_ns;
	}
	printf("stress_lend: %.1f s, %d workers: %llu loans (%llu counted), %llu used, %.1f ms "
	       "lent, %.1f ms of it in the savers' CPU, savers' CPU %.1f ms; %llu loans out of "
	       "bounds\n",
	       seconds, nworkers, (unsigned long long)total.lends,
	       (unsigned long long)atomic_load(&loans), (unsigned long long)total.used,
	       total.lent_ns / 1e6, total.lent_cpu_ns / 1e6, total.cpu_ns / 1e6,
	       (unsigned long long)atomic_load(&bad_loans));
	if (atomic_load(&failed) || atomic_load(&bad_loans) || total.lends == 0 ||
	    total.lends != atomic_load(&loans) || total.used == 0) {
		printf("stress_lend: FAILED\n");
		return 1;
	}
	printf("stress_lend: ok\n");
	return 0;
}
