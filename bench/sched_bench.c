/*
 * sched_bench.c — what work stealing is worth: CPU-bound synthetic tasks
 * that all arrive at worker 0, run by N workers with stealing on or off.
 *
 * The workers use kvsd's primitives the way net/worker.c does: each has a
 * bounded Chase–Lev deque (concurrency/wsq), owners take LIFO and thieves
 * steal FIFO, idle workers park on the eventcount (concurrency/park; here
 * on its futex, since there is no event loop) and a producer wakes one only
 * when someone is parked. A producer thread (standing in for worker 0's
 * event loop) feeds worker 0's MPSC inbox in batches, keeping about
 * 4 x workers tasks in flight; worker 0 moves its inbox into its deque.
 * With stealing off only worker 0 ever runs tasks, so the ratio on N
 * otherwise idle cores approaches N.
 *
 * Usage: sched-bench [--workers N] [--steal yes|no|both] [--duration S]
 *                    [--work ITERS] [--json FILE]
 * Prints one line per mode and, with both, the ratio; --json writes
 * {"workers":N,"duration_s":S,"runs":[{"steal":true,"tasks_per_sec":X},...],
 *  "ratio":R}. A program, not a timed test: no assertion on the figures.
 */
#include "concurrency/mpscq.h"
#include "concurrency/park.h"
#include "concurrency/wsq.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_W 64

struct task {
	struct mpscq_node node;
	uint64_t seed;
};

struct bw {
	struct wsq dq;
	pthread_t th;
	int idx;
	uint64_t done;
	uint64_t steals;
	char pad[64];
};

static struct bw ws[MAX_W];
static int nw, steal_on;
static long work_iters = 20000;
static struct mpscq inbox0;
static struct park_ec ec;
static _Atomic int stop;
static _Atomic long inflight;
static _Atomic uint64_t sink;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(struct task *t)
{
	uint64_t x = t->seed;

	for (long i = 0; i < work_iters; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	/* relaxed: keeps the loop from being optimised away */
	atomic_fetch_add_explicit(&sink, x & 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&inflight, 1, memory_order_relaxed);
}

static struct task *find(struct bw *w)
{
	struct task *t = wsq_take(&w->dq);

	if (t)
		return t;
	if (w->idx == 0) {
		for (struct mpscq_node *n = mpscq_take_all(&inbox0); n;) {
			struct mpscq_node *next = n->next;

			if (wsq_push(&w->dq, n) != 0)
				run((struct task *)n), free(n); /* full: run inline */
			n = next;
		}
		if ((t = wsq_take(&w->dq)) != NULL) {
			if (steal_on && wsq_size_approx(&w->dq) > 0)
				park_notify(&ec, 1); /* more than we run: wake a thief */
			return t;
		}
	}
	if (steal_on && nw > 1) {
		for (int k = 1; k < nw; k++) {
			struct bw *v = &ws[(w->idx + k) % nw];
			void *x;
			int rc;

			do
				rc = wsq_steal(&v->dq, &x);
			while (rc == -EAGAIN);
			if (rc == 0) {
				w->steals++;
				return x;
			}
		}
	}
	return NULL;
}

static int has_work(struct bw *w)
{
	if (wsq_size_approx(&w->dq) > 0 || (w->idx == 0 && !mpscq_empty(&inbox0)))
		return 1;
	if (steal_on)
		for (int k = 0; k < nw; k++)
			if (wsq_size_approx(&ws[k].dq) > 0)
				return 1;
	return 0;
}

static void *worker(void *arg)
{
	struct bw *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct task *t = find(w);

		if (t) {
			run(t);
			free(t);
			w->done++;
			continue;
		}
		{
			uint32_t key = park_prepare(&ec);

			if (has_work(w) || atomic_load_explicit(&stop, memory_order_relaxed)) {
				park_cancel(&ec);
				continue;
			}
			park_wait(&ec, key);
		}
	}
	return NULL;
}

static double bench(int steal, double duration, uint64_t *steals)
{
	double t0, t1;
	uint64_t done = 0;
	long target = 4L * nw;
	uint64_t seq = 1;

	steal_on = steal;
	atomic_store(&stop, 0);
	atomic_store(&inflight, 0);
	mpscq_init(&inbox0);
	park_init(&ec);
	for (int i = 0; i < nw; i++) {
		memset(&ws[i].done, 0, sizeof(ws[i].done));
		ws[i].steals = 0;
		ws[i].idx = i;
		wsq_init(&ws[i].dq, 1024);
		pthread_create(&ws[i].th, NULL, worker, &ws[i]);
	}
	t0 = now_s();
	while ((t1 = now_s()) - t0 < duration) {
		long have = atomic_load_explicit(&inflight, memory_order_relaxed);

		if (have < target) {
			for (long k = have; k < target; k++) {
				struct task *t = malloc(sizeof(*t));

				t->seed = seq++;
				atomic_fetch_add_explicit(&inflight, 1, memory_order_relaxed);
				mpscq_push(&inbox0, &t->node);
			}
			/* the producer stands in for worker 0's event loop: wake it */
			park_notify(&ec, -1);
		} else {
			struct timespec ts = {0, 20000};

			nanosleep(&ts, NULL);
		}
	}
	atomic_store(&stop, 1);
	park_notify(&ec, -1);
	for (int i = 0; i < nw; i++) {
		/* wake stragglers until every worker has seen stop */
		while (pthread_tryjoin_np(ws[i].th, NULL) != 0)
			park_notify(&ec, -1);
	}
	*steals = 0;
	for (int i = 0; i < nw; i++) {
		done += ws[i].done;
		*steals += ws[i].steals;
		for (void *t; (t = wsq_take(&ws[i].dq)) != NULL;)
			free(t);
		wsq_deinit(&ws[i].dq);
	}
	for (struct mpscq_node *n = mpscq_take_all(&inbox0); n;) {
		struct mpscq_node *next = n->next;

		free(n);
		n = next;
	}
	return (double)done / (t1 - t0);
}

int main(int argc, char **argv)
{
	double duration = 2.0, rate[2] = {0, 0};
	const char *steal = "both", *json = NULL;
	uint64_t steals[2] = {0, 0};
	int modes[2], nm = 0;

	nw = 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--workers"))
			nw = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--steal"))
			steal = argv[i + 1];
		else if (!strcmp(argv[i], "--duration"))
			duration = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--work"))
			work_iters = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--json"))
			json = argv[i + 1];
		else {
			fprintf(stderr, "usage: sched-bench [--workers N] [--steal yes|no|both] "
					"[--duration S] [--work ITERS] [--json FILE]\n");
			return 2;
		}
	}
	if (nw < 1 || nw > MAX_W)
		nw = 2;
	if (strcmp(steal, "no"))
		modes[nm++] = 1;
	if (strcmp(steal, "yes"))
		modes[nm++] = 0;
	for (int i = 0; i < nm; i++) {
		rate[i] = bench(modes[i], duration, &steals[i]);
		printf("sched-bench: workers=%d steal=%s tasks_per_sec=%.0f steals=%llu\n", nw,
		       modes[i] ? "yes" : "no", rate[i], (unsigned long long)steals[i]);
	}
	if (nm == 2)
		printf("sched-bench: stealing on / off = %.2fx\n", rate[0] / rate[1]);
	if (json) {
		FILE *f = fopen(json, "w");

		if (!f) {
			perror(json);
			return 1;
		}
		fprintf(f, "{\"workers\":%d,\"duration_s\":%.3f,\"work_iters\":%ld,\"runs\":[", nw,
			duration, work_iters);
		for (int i = 0; i < nm; i++)
			fprintf(f, "%s{\"steal\":%s,\"tasks_per_sec\":%.1f,\"steals\":%llu}",
				i ? "," : "", modes[i] ? "true" : "false", rate[i],
				(unsigned long long)steals[i]);
		fprintf(f, "]");
		if (nm == 2)
			fprintf(f, ",\"ratio\":%.3f", rate[0] / rate[1]);
		else
			fprintf(f, ",\"tasks_per_sec\":%.1f", rate[0]);
		fprintf(f, "}\n");
		fclose(f);
	}
	return 0;
}
