/*
 * sched_bench.c — what work stealing is worth: CPU-bound synthetic tasks
 * that all arrive at worker 0, run by N workers with stealing on or off.
 *
 * The workers use kvsd's primitives the way net/worker.c does: each has a
 * bounded Chase–Lev deque (concurrency/wsq), owners take LIFO and thieves
 * steal FIFO, idle workers park on the eventcount (concurrency/park; here
 * on its futex, since there is no event loop) and whoever publishes
 * stealable work wakes one only when someone is parked. About 4 x workers
 * tasks are kept in flight. With stealing off only worker 0 ever runs tasks,
 * so the ratio on N otherwise idle cores approaches N.
 *
 * Arrivals (--arrivals):
 *   self   (default) worker 0 generates the arrivals itself, the way a
 *          worker's event loop turns readiness into tasks on its own deque:
 *          before each take it tops the tasks in flight up to the target and
 *          pushes the new ones onto its deque. Only N threads are runnable,
 *          so on N idle cores the ideal ratio is N.
 *   thread   the older mode: a separate producer thread feeds worker 0's MPSC
 *          inbox in batches and sleeps 20 us between checks; worker 0 moves
 *          the inbox into its deque. Three runnable threads on two cores cap
 *          the ideal below 2.
 *
 * Every task is counted: created, run, and freed unrun at the end. If
 * created != run + unrun the bench prints LOST and exits 3 (a scheduler that
 * drops work must not show up as a fast one).
 *
 * Usage: sched-bench [--workers N] [--steal yes|no|both] [--duration S]
 *                    [--work ITERS] [--arrivals self|thread] [--runs R]
 *                    [--json FILE] [--inject-loss]
 * Prints one line per mode and run with tasks/s and, per task, steals,
 * failed steal searches (a search that visited every victim and found
 * nothing), steal CAS retries (-EAGAIN) and parks; with both modes, the
 * ratio of each run and the median ratio of the R runs (modes alternate).
 * --json writes {"workers":N,"duration_s":S,"arrivals":"self","runs":[{"steal":
 * true,"tasks_per_sec":X,...},...],"ratio":R} (ratio: the median).
 * A program, not a timed test: no assertion on the figures, only on the
 * task count.
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

#define MAX_W	 64
#define MAX_RUNS 64

struct task {
	struct mpscq_node node;
	uint64_t seed;
};

struct bw {
	struct wsq dq;
	pthread_t th;
	int idx;
	/* per worker, written by its own thread only; read after the join */
	uint64_t done, steals, failed, retries, parks, created;
	char pad[64];
};

struct result {
	int steal;
	double rate;
	uint64_t done, steals, failed, retries, parks;
};

static struct bw ws[MAX_W];
static int nw, steal_on, self_arrivals = 1;
/* --inject-loss: drop the first task unrun and uncounted, to show that the
 * count check fails (the bench-loss test expects exit 3) */
static int inject_loss;
static long work_iters = 20000;
static long target;
static uint64_t seq_next = 1; /* worker 0 or the producer thread only */
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
	/* relaxed: a count that only paces the arrivals */
	atomic_fetch_sub_explicit(&inflight, 1, memory_order_relaxed);
}

static struct task *new_task(uint64_t *created)
{
	struct task *t = malloc(sizeof(*t));

	if (t == NULL) {
		perror("malloc");
		exit(1);
	}
	t->seed = seq_next++;
	(*created)++;
	if (inject_loss && t->seed == 1) {
		free(t); /* lost on purpose: created but never queued */
		return NULL;
	}
	/* relaxed: see run() */
	atomic_fetch_add_explicit(&inflight, 1, memory_order_relaxed);
	return t;
}

/* Worker 0, self arrivals: top the tasks in flight up to the target, on our
 * own deque, as an event loop pass would; wake a thief when there is more
 * than we are about to run. */
static void arrive(struct bw *w)
{
	/* relaxed: a pacing count */
	long have = atomic_load_explicit(&inflight, memory_order_relaxed);
	int pushed = 0;

	for (long k = have; k < target; k++) {
		struct task *t = new_task(&w->created);

		if (t == NULL)
			continue;
		if (wsq_push(&w->dq, t) != 0) {
			run(t), free(t), w->done++; /* full: run inline */
			continue;
		}
		pushed++;
	}
	if (pushed && steal_on && wsq_size_approx(&w->dq) > 1)
		park_notify(&ec, 1); /* seq_cst fence inside: the pushes come first */
}

static struct task *find(struct bw *w)
{
	struct task *t;

	if (w->idx == 0 && self_arrivals)
		arrive(w);
	if ((t = wsq_take(&w->dq)) != NULL)
		return t;
	if (w->idx == 0 && !self_arrivals) {
		for (struct mpscq_node *n = mpscq_take_all(&inbox0); n;) {
			struct mpscq_node *next = n->next;

			if (wsq_push(&w->dq, n) != 0)
				run((struct task *)n), free(n), w->done++; /* full: run inline */
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

			while ((rc = wsq_steal(&v->dq, &x)) == -EAGAIN)
				w->retries++;
			if (rc == 0) {
				w->steals++;
				return x;
			}
		}
		w->failed++;
	}
	return NULL;
}

static int has_work(struct bw *w)
{
	if (wsq_size_approx(&w->dq) > 0 || (w->idx == 0 && !mpscq_empty(&inbox0)))
		return 1;
	if (w->idx == 0 && self_arrivals)
		return 1; /* worker 0 makes its own work: it never parks */
	if (steal_on)
		for (int k = 0; k < nw; k++)
			if (wsq_size_approx(&ws[k].dq) > 0)
				return 1;
	return 0;
}

static void *worker(void *arg)
{
	struct bw *w = arg;

	/* relaxed: the flag publishes nothing; the join orders the counts */
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
			w->parks++;
			park_wait(&ec, key);
		}
	}
	return NULL;
}

static void bench(int steal, double duration, struct result *r)
{
	double t0, t1;
	uint64_t created = 0, unrun = 0;

	memset(r, 0, sizeof(*r));
	r->steal = steal;
	steal_on = steal;
	target = 4L * nw;
	atomic_store(&stop, 0);
	atomic_store(&inflight, 0);
	mpscq_init(&inbox0);
	park_init(&ec);
	for (int i = 0; i < nw; i++) {
		ws[i].done = ws[i].steals = ws[i].failed = ws[i].retries = 0;
		ws[i].parks = ws[i].created = 0;
		ws[i].idx = i;
		wsq_init(&ws[i].dq, 1024);
	}
	t0 = now_s();
	for (int i = 0; i < nw; i++)
		pthread_create(&ws[i].th, NULL, worker, &ws[i]);
	while ((t1 = now_s()) - t0 < duration) {
		/* relaxed: a pacing count */
		long have = atomic_load_explicit(&inflight, memory_order_relaxed);
		struct timespec ts = {0, 20000};

		if (self_arrivals) {
			ts.tv_nsec = 1000000; /* only the clock: sleep 1 ms */
		} else if (have < target) {
			for (long k = have; k < target; k++) {
				struct task *t = new_task(&created);

				if (t)
					mpscq_push(&inbox0, &t->node);
			}
			/* the producer stands in for worker 0's event loop: wake it */
			park_notify(&ec, -1);
			continue;
		}
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	park_notify(&ec, -1);
	for (int i = 0; i < nw; i++) {
		/* wake stragglers until every worker has seen stop */
		while (pthread_tryjoin_np(ws[i].th, NULL) != 0)
			park_notify(&ec, -1);
	}
	for (int i = 0; i < nw; i++) {
		r->done += ws[i].done;
		r->steals += ws[i].steals;
		r->failed += ws[i].failed;
		r->retries += ws[i].retries;
		r->parks += ws[i].parks;
		created += ws[i].created;
		for (void *t; (t = wsq_take(&ws[i].dq)) != NULL;)
			free(t), unrun++;
		wsq_deinit(&ws[i].dq);
	}
	for (struct mpscq_node *n = mpscq_take_all(&inbox0); n;) {
		struct mpscq_node *next = n->next;

		free(n), unrun++;
		n = next;
	}
	if (created != r->done + unrun) {
		fprintf(stderr,
			"sched-bench: LOST tasks: created %llu, run %llu, unrun %llu (steal=%s)\n",
			(unsigned long long)created, (unsigned long long)r->done,
			(unsigned long long)unrun, steal ? "yes" : "no");
		exit(3);
	}
	r->rate = (double)r->done / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void per_task(const struct result *r)
{
	double d = r->done ? (double)r->done : 1.0;

	printf("sched-bench: workers=%d arrivals=%s steal=%s tasks_per_sec=%.0f tasks=%llu "
	       "steals=%llu steals_per_task=%.3f failed_steals_per_task=%.3f "
	       "steal_retries_per_task=%.4f parks_per_task=%.3f\n",
	       nw, self_arrivals ? "self" : "thread", r->steal ? "yes" : "no", r->rate,
	       (unsigned long long)r->done, (unsigned long long)r->steals, r->steals / d,
	       r->failed / d, r->retries / d, r->parks / d);
}

int main(int argc, char **argv)
{
	double duration = 2.0, ratios[MAX_RUNS];
	const char *steal = "both", *json = NULL;
	static struct result res[MAX_RUNS][2];
	int modes[2], nm = 0, runs = 1;

	nw = 2;
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v && !strcmp(argv[i], "--workers"))
			nw = atoi(v);
		else if (v && !strcmp(argv[i], "--steal"))
			steal = v;
		else if (v && !strcmp(argv[i], "--duration"))
			duration = atof(v);
		else if (v && !strcmp(argv[i], "--work"))
			work_iters = atol(v);
		else if (v && !strcmp(argv[i], "--runs"))
			runs = atoi(v);
		else if (v && !strcmp(argv[i], "--arrivals") &&
			 (!strcmp(v, "self") || !strcmp(v, "thread")))
			self_arrivals = !strcmp(v, "self");
		else if (!strcmp(argv[i], "--inject-loss"))
			inject_loss = 1, i--; /* a flag without a value */
		else if (v && !strcmp(argv[i], "--json"))
			json = v;
		else {
			fprintf(stderr, "usage: sched-bench [--workers N] [--steal yes|no|both] "
					"[--duration S] [--work ITERS] [--arrivals self|thread] "
					"[--runs R] [--json FILE]\n");
			return 2;
		}
	}
	if (nw < 1 || nw > MAX_W)
		nw = 2;
	if (runs < 1 || runs > MAX_RUNS)
		runs = 1;
	if (strcmp(steal, "no"))
		modes[nm++] = 1;
	if (strcmp(steal, "yes"))
		modes[nm++] = 0;
	for (int k = 0; k < runs; k++) {
		for (int i = 0; i < nm; i++) {
			/* alternate which mode goes first, so drift hits both alike */
			int m = (k & 1) ? nm - 1 - i : i;

			bench(modes[m], duration, &res[k][m]);
			per_task(&res[k][m]);
		}
		if (nm == 2) {
			ratios[k] = res[k][0].rate / res[k][1].rate;
			printf("sched-bench: run %d stealing on / off = %.2fx\n", k + 1, ratios[k]);
		}
	}
	if (nm == 2) {
		double sorted[MAX_RUNS];

		memcpy(sorted, ratios, sizeof(double) * (size_t)runs);
		qsort(sorted, (size_t)runs, sizeof(double), cmp_double);
		ratios[0] =
		    runs & 1 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
		printf("sched-bench: stealing on / off = %.2fx (median of %d, arrivals=%s, "
		       "issue goal >= 1.6x on 2 cores)\n",
		       ratios[0], runs, self_arrivals ? "self" : "thread");
	}
	if (json) {
		FILE *f = fopen(json, "w");

		if (!f) {
			perror(json);
			return 1;
		}
		fprintf(
		    f,
		    "{\"workers\":%d,\"duration_s\":%.3f,\"work_iters\":%ld,\"arrivals\":\"%s\","
		    "\"runs\":[",
		    nw, duration, work_iters, self_arrivals ? "self" : "thread");
		for (int k = 0; k < runs; k++)
			for (int i = 0; i < nm; i++) {
				const struct result *r = &res[k][i];

				fprintf(
				    f,
				    "%s{\"steal\":%s,\"tasks_per_sec\":%.1f,\"tasks\":%llu,"
				    "\"steals\":%llu,\"failed_steals\":%llu,\"steal_retries\":%llu,"
				    "\"parks\":%llu}",
				    k + i ? "," : "", r->steal ? "true" : "false", r->rate,
				    (unsigned long long)r->done, (unsigned long long)r->steals,
				    (unsigned long long)r->failed, (unsigned long long)r->retries,
				    (unsigned long long)r->parks);
			}
		fprintf(f, "]");
		if (nm == 2)
			fprintf(f, ",\"ratio\":%.3f", ratios[0]);
		else
			fprintf(f, ",\"tasks_per_sec\":%.1f", res[0][0].rate);
		fprintf(f, "}\n");
		fclose(f);
	}
	return 0;
}
