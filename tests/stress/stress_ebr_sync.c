/*
 * stress_ebr_sync.c — ebr_synchronize as CONFIG SET appendonly yes uses it
 * (server/aof.h, "Switching"): a switcher flips a flag, waits for a grace
 * period of the workers' "command boundaries", then takes a "cut"; every
 * "command" that read the flag off must be complete by then.
 *
 * Workers loop: announce a quiescent state (between commands), read the
 * flag, and if it is off run a "command" that
 * yields a few times and then bumps the worker's own counter of off-commits
 * (a plain variable: only the owner writes it). Now and then a worker goes
 * offline for a while (the event loop's poll). The switcher: flag on,
 * ebr_synchronize, read every worker's counter (the cut: a plain read,
 * ordered only by the grace period — TSan reports a race if it is not),
 * wait a little, read them again: they must not have moved (a command that
 * read the flag off committed after the cut). Then the flag off again, and
 * the next round. Runs under TSan too.
 *
 * Usage: stress_ebr_sync [--seconds S] [--workers N]
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "concurrency/ebr.h"

#define MAX_WORKERS 16

static struct ebr *dom;
static _Atomic bool flag; /* relaxed, as aof_started_g */
static _Atomic bool stop;
/* a worker's commands that read the flag off: owner writes, the switcher
 * reads after a grace period (no atomics: the grace period orders them) */
static struct {
	long long off_commits;
	char pad[56];
} counts[MAX_WORKERS];
static double seconds = 3;
static int nworkers = 3;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct ebr_thread *t = ebr_register(dom);
	unsigned r = (unsigned)i * 2654435761u + 1;

	ebr_online(t);
	/* relaxed: the stop request */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		ebr_quiescent(t); /* between commands */
		r = r * 1103515245u + 12345u;
		/* acquire: pairs with the switcher's release of "off", so that
		 * its reads of the counters before it happen-before our next
		 * bump (the server's snapshot has its own locks for that); the
		 * "on" direction is left to the grace period alone, as the
		 * server's relaxed aof_started() */
		if (!atomic_load_explicit(&flag, memory_order_acquire)) {
			for (unsigned y = r >> 28; y > 0; y--) /* a long command */
				sched_yield();
			counts[i].off_commits++;
		}
		if ((r >> 20) % 64 == 0) { /* the event loop's poll */
			struct timespec ts = {0, 200 * 1000};

			ebr_offline(t);
			nanosleep(&ts, NULL);
			ebr_online(t);
		}
	}
	ebr_unregister(t);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_WORKERS];
	long long rounds = 0, fails = 0;
	double end;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--workers") == 0)
			nworkers = atoi(argv[i + 1]);
	}
	if (nworkers < 1 || nworkers > MAX_WORKERS)
		nworkers = 3;
	dom = ebr_create(0);
	for (int i = 0; i < nworkers; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
	end = now_s() + seconds;
	while (now_s() < end) {
		long long cut[MAX_WORKERS];
		struct timespec ts = {0, 2 * 1000 * 1000};

		/* relaxed: ebr_synchronize's first fence orders it */
		atomic_store_explicit(&flag, true, memory_order_relaxed);
		if (ebr_synchronize(dom, NULL, NULL) != 0) {
			fprintf(stderr, "stress_ebr_sync: FAIL: synchronize gave up\n");
			return 1;
		}
		for (int i = 0; i < nworkers; i++)
			cut[i] = counts[i].off_commits;
		nanosleep(&ts, NULL);
		/* a second grace period orders the re-read after any late commit */
		if (ebr_synchronize(dom, NULL, NULL) != 0)
			return 1;
		for (int i = 0; i < nworkers; i++)
			if (counts[i].off_commits != cut[i]) {
				fprintf(stderr,
					"stress_ebr_sync: FAIL: worker %d committed %lld "
					"command(s) that read the flag off after the cut\n",
					i, counts[i].off_commits - cut[i]);
				fails++;
			}
		/* release: our reads of the counters above happen-before the
		 * workers' bumps once they see it off (pairs with their acquire) */
		atomic_store_explicit(&flag, false, memory_order_release);
		nanosleep(&ts, NULL);
		rounds++;
	}
	/* relaxed: the stop request; the joins order the rest */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < nworkers; i++)
		pthread_join(th[i], NULL);
	ebr_destroy(&dom);
	printf("stress_ebr_sync: %lld rounds, %d workers, %lld failures\n", rounds, nworkers,
	       fails);
	return fails ? 1 : 0;
}
