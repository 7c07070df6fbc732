/*
 * ebr_bench.c — read-side cost of kvsd's epoch reclamation against the
 * reclamation schemes we could have used instead: liburcu's QSBR and memb
 * (membarrier) flavours and Concurrency Kit's ck_epoch.
 *
 * One "operation" is a reader's pointer load and one dependent load of the
 * object, wrapped in what each scheme requires for it:
 *   none      bare loads (the floor)
 *   ebr       load + ebr_quiescent per op
 *   ebr-q64   load per op, ebr_quiescent every 64 ops (kvsd's workers
 *             announce once per task batch)
 *   qsbr      urcu_qsbr_read_lock/unlock around the load + quiescent_state
 *   qsbr-q64  read_lock/unlock per op, quiescent_state every 64 ops
 *   memb      urcu_memb_read_lock/unlock around the load
 *   ck        ck_epoch_begin/end around the load
 * A writer thread replaces the object every --writer-us microseconds and
 * reclaims the old one through the same scheme, so epochs and grace periods
 * do move (slow paths are exercised as in a server with writes); 0 disables
 * it. Each scheme runs with every listed reader thread count for --duration
 * seconds. The table gives ns per op (mean of the readers' time per op), the
 * total Mops/s and the ratio to QSBR at the same thread count: ebr-q64 is
 * compared with qsbr-q64, every other scheme with qsbr.
 *
 * Sub-nanosecond figures are at the noise floor of a shared machine: use
 * --repeat R (median of R interleaved rounds) for figures worth recording.
 *
 * Usage: ebr-bench [--duration S] [--threads 1,2] [--schemes a,b,...]
 *                  [--writer-us N] [--repeat R] [--json FILE]
 */
#define _LGPL_SOURCE /* liburcu's inline read-side fast paths, as its users get */
#include "concurrency/ebr.h"

#include <ck_epoch.h>
#include <urcu/urcu-memb.h>
#include <urcu/urcu-qsbr.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum scheme { S_NONE, S_EBR, S_EBR64, S_QSBR, S_QSBR64, S_MEMB, S_CK, S_COUNT };

static const char *const scheme_name[S_COUNT] = {"none",     "ebr",  "ebr-q64", "qsbr",
						 "qsbr-q64", "memb", "ck"};

struct obj {
	uint64_t v;
};

#define BATCH	   1024 /* ops between looks at the stop flag; a multiple of 64 */
#define REPEAT_MAX 15

static struct obj *_Atomic shared;
static atomic_bool stop;
static struct ebr *dom;
static ck_epoch_t ck;
static pthread_barrier_t start_barrier;

struct reader {
	pthread_t tid;
	enum scheme s;
	uint64_t ops;
	double secs;
	uint64_t sink;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the pointer load every scheme wraps: acquire (a plain load on x86, as
 * rcu_dereference and ck_pr_load_ptr are) */
static inline uint64_t deref(void)
{
	/* acquire: pairs with the writer's release exchange */
	return atomic_load_explicit(&shared, memory_order_acquire)->v;
}

static bool stopped(void)
{
	/* relaxed: a flag polled every BATCH ops */
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct ebr_thread *et = NULL;
	ck_epoch_record_t *cr = NULL;
	uint64_t ops = 0, sink = 0;
	double t0;

	switch (r->s) {
	case S_EBR:
	case S_EBR64:
		et = ebr_register(dom);
		ebr_online(et);
		break;
	case S_QSBR:
	case S_QSBR64:
		urcu_qsbr_register_thread();
		break;
	case S_MEMB:
		urcu_memb_register_thread();
		break;
	case S_CK:
		cr = aligned_alloc(64, (sizeof(*cr) + 63) / 64 * 64);
		ck_epoch_register(&ck, cr, NULL);
		break;
	default:
		break;
	}
	pthread_barrier_wait(&start_barrier);
	t0 = now_s();
	while (!stopped()) {
		switch (r->s) {
		case S_NONE:
			for (int i = 0; i < BATCH; i++)
				sink += deref();
			break;
		case S_EBR:
			for (int i = 0; i < BATCH; i++) {
				sink += deref();
				ebr_quiescent(et);
			}
			break;
		case S_EBR64:
			for (int i = 0; i < BATCH; i += 64) {
				for (int j = 0; j < 64; j++)
					sink += deref();
				ebr_quiescent(et);
			}
			break;
		case S_QSBR:
			for (int i = 0; i < BATCH; i++) {
				urcu_qsbr_read_lock();
				sink += deref();
				urcu_qsbr_read_unlock();
				urcu_qsbr_quiescent_state();
			}
			break;
		case S_QSBR64:
			for (int i = 0; i < BATCH; i += 64) {
				for (int j = 0; j < 64; j++) {
					urcu_qsbr_read_lock();
					sink += deref();
					urcu_qsbr_read_unlock();
				}
				urcu_qsbr_quiescent_state();
			}
			break;
		case S_MEMB:
			for (int i = 0; i < BATCH; i++) {
				urcu_memb_read_lock();
				sink += deref();
				urcu_memb_read_unlock();
			}
			break;
		case S_CK:
			for (int i = 0; i < BATCH; i++) {
				ck_epoch_begin(cr, NULL);
				sink += deref();
				ck_epoch_end(cr, NULL);
			}
			break;
		default:
			break;
		}
		ops += BATCH;
	}
	r->secs = now_s() - t0;
	r->ops = ops;
	r->sink = sink;
	switch (r->s) {
	case S_EBR:
	case S_EBR64:
		ebr_offline(et);
		ebr_unregister(et);
		break;
	case S_QSBR:
	case S_QSBR64:
		urcu_qsbr_unregister_thread();
		break;
	case S_MEMB:
		urcu_memb_unregister_thread();
		break;
	case S_CK:
		ck_epoch_unregister(cr); /* ck keeps the record for recycling */
		break;
	default:
		break;
	}
	return NULL;
}

struct writer {
	pthread_t tid;
	enum scheme s;
	long us;
	uint64_t updates;
};

static void ebr_free_obj(void *p)
{
	free(p);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct ebr_thread *et = NULL;
	ck_epoch_record_t *cr = NULL;
	uint64_t v = 1;

	if (w->s == S_EBR || w->s == S_EBR64)
		et = ebr_register(dom);
	if (w->s == S_CK) {
		cr = aligned_alloc(64, (sizeof(*cr) + 63) / 64 * 64);
		ck_epoch_register(&ck, cr, NULL);
	}
	if (w->s == S_QSBR || w->s == S_QSBR64) {
		urcu_qsbr_register_thread();
		urcu_qsbr_thread_offline(); /* a writer that only synchronizes */
	}
	if (w->s == S_MEMB)
		urcu_memb_register_thread();
	while (!stopped()) {
		struct obj *o = malloc(sizeof(*o)), *old;

		o->v = v++;
		if (et != NULL)
			ebr_online(et);
		/* acq_rel: publishes o; takes the old object's contents */
		old = atomic_exchange_explicit(&shared, o, memory_order_acq_rel);
		switch (w->s) {
		case S_EBR:
		case S_EBR64:
			ebr_retire(et, old, sizeof(*old), ebr_free_obj);
			ebr_collect(et);
			ebr_offline(et);
			break;
		case S_QSBR:
		case S_QSBR64:
			urcu_qsbr_synchronize_rcu();
			free(old);
			break;
		case S_MEMB:
			urcu_memb_synchronize_rcu();
			free(old);
			break;
		case S_CK:
			ck_epoch_synchronize(cr);
			free(old);
			break;
		default:
			free(old); /* "none" never runs with a writer */
			break;
		}
		w->updates++;
		usleep((useconds_t)w->us);
	}
	if (et != NULL)
		ebr_unregister(et);
	if (w->s == S_QSBR || w->s == S_QSBR64) {
		urcu_qsbr_thread_online();
		urcu_qsbr_unregister_thread();
	}
	if (w->s == S_MEMB)
		urcu_memb_unregister_thread();
	if (cr != NULL)
		ck_epoch_unregister(cr);
	return NULL;
}

struct result {
	enum scheme s;
	int threads;
	double ns_per_op, mops;
};

static struct result run(enum scheme s, int threads, double duration, long writer_us)
{
	struct reader r[threads];
	struct writer w = {.s = s, .us = writer_us};
	struct result res = {.s = s, .threads = threads};
	double ns = 0, secs = 0;
	uint64_t ops = 0;

	memset(r, 0, sizeof(r));
	atomic_store_explicit(&stop, false, memory_order_relaxed);
	pthread_barrier_init(&start_barrier, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		r[i].s = s;
		pthread_create(&r[i].tid, NULL, reader_main, &r[i]);
	}
	pthread_barrier_wait(&start_barrier);
	if (writer_us > 0 && s != S_NONE)
		pthread_create(&w.tid, NULL, writer_main, &w);
	usleep((useconds_t)(duration * 1e6));
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < threads; i++) {
		pthread_join(r[i].tid, NULL);
		ns += r[i].secs * 1e9 / (double)r[i].ops;
		ops += r[i].ops;
		if (r[i].secs > secs)
			secs = r[i].secs;
	}
	if (writer_us > 0 && s != S_NONE)
		pthread_join(w.tid, NULL);
	pthread_barrier_destroy(&start_barrier);
	res.ns_per_op = ns / threads;
	res.mops = (double)ops / secs / 1e6;
	return res;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_list(const char *arg, int *out, int max)
{
	int n = 0;
	char *dup = strdup(arg), *save = NULL;

	for (char *tok = strtok_r(dup, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		out[n++] = atoi(tok);
	free(dup);
	return n;
}

static int parse_schemes(const char *arg, bool *on)
{
	char *dup = strdup(arg), *save = NULL;
	int n = 0;

	memset(on, 0, sizeof(bool) * S_COUNT);
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k < S_COUNT && strcmp(tok, scheme_name[k]); k++)
			;
		if (k == S_COUNT) {
			fprintf(stderr, "ebr-bench: unknown scheme %s\n", tok);
			free(dup);
			return -1;
		}
		on[k] = true;
		n++;
	}
	free(dup);
	return n;
}

int main(int argc, char **argv)
{
	double duration = 1.0;
	long writer_us = 1000;
	int repeat = 1;
	int threads[8] = {1, 2}, nthreads = 2;
	bool on[S_COUNT];
	const char *json = NULL;
	struct result res[S_COUNT * 8];
	int nres = 0;
	FILE *jf = NULL;

	for (int k = 0; k < S_COUNT; k++)
		on[k] = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
			duration = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			nthreads = parse_list(argv[++i], threads, 8);
		} else if (!strcmp(argv[i], "--schemes") && i + 1 < argc) {
			if (parse_schemes(argv[++i], on) < 0)
				return 2;
		} else if (!strcmp(argv[i], "--writer-us") && i + 1 < argc) {
			writer_us = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			repeat = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json = argv[++i];
		} else {
			fprintf(stderr,
				"usage: %s [--duration S] [--threads 1,2] [--schemes "
				"none,ebr,ebr-q64,qsbr,qsbr-q64,memb,ck] [--writer-us N] "
				"[--repeat R] [--json FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads <= 0 || duration <= 0 || repeat < 1 || repeat > REPEAT_MAX)
		return 2;
	dom = ebr_create(0);
	ck_epoch_init(&ck);
	struct obj *first = malloc(sizeof(*first));
	first->v = 0;
	atomic_init(&shared, first);

	printf("ebr-bench: %.2fs per run, median of %d round(s), writer every %ld us\n", duration,
	       repeat, writer_us);
	printf("%-10s %7s %10s %10s %12s\n", "scheme", "threads", "ns/op", "Mops/s", "vs qsbr");
	for (int ti = 0; ti < nthreads; ti++) {
		int base = nres;

		double ns[S_COUNT][REPEAT_MAX], mops[S_COUNT][REPEAT_MAX];

		/* rounds interleave the schemes so that drift in the machine's load
		 * spreads over all of them; each reports its median round */
		for (int rep = 0; rep < repeat; rep++) {
			for (int k = 0; k < S_COUNT; k++) {
				/* the QSBR baselines always run: every ratio needs them */
				if (on[k] || k == S_QSBR || k == S_QSBR64) {
					struct result x =
					    run((enum scheme)k, threads[ti], duration, writer_us);

					ns[k][rep] = x.ns_per_op;
					mops[k][rep] = x.mops;
				}
			}
		}
		for (int k = 0; k < S_COUNT; k++) {
			if (on[k] || k == S_QSBR || k == S_QSBR64)
				res[nres++] =
				    (struct result){(enum scheme)k, threads[ti],
						    median(ns[k], repeat), median(mops[k], repeat)};
		}
		for (int i = base; i < nres; i++) {
			enum scheme ref =
			    res[i].s == S_EBR64 || res[i].s == S_QSBR64 ? S_QSBR64 : S_QSBR;
			double refns = 0;

			for (int j = base; j < nres; j++)
				if (res[j].s == ref)
					refns = res[j].ns_per_op;
			if (!on[res[i].s])
				continue;
			printf("%-10s %7d %10.2f %10.1f %11.2fx\n", scheme_name[res[i].s],
			       res[i].threads, res[i].ns_per_op, res[i].mops,
			       res[i].ns_per_op / refns);
		}
	}
	if (json != NULL) {
		jf = fopen(json, "w");
		if (jf == NULL) {
			perror(json);
			return 1;
		}
		fprintf(jf, "[\n");
		for (int i = 0, first_out = 1; i < nres; i++) {
			enum scheme ref =
			    res[i].s == S_EBR64 || res[i].s == S_QSBR64 ? S_QSBR64 : S_QSBR;
			double refns = 0;

			if (!on[res[i].s])
				continue;
			for (int j = 0; j < nres; j++)
				if (res[j].s == ref && res[j].threads == res[i].threads)
					refns = res[j].ns_per_op;
			fprintf(jf,
				"%s  {\"scheme\": \"%s\", \"threads\": %d, \"ns_per_op\": %.3f, "
				"\"mops\": %.2f, \"ratio_vs_qsbr\": %.3f}",
				first_out ? "" : ",\n", scheme_name[res[i].s], res[i].threads,
				res[i].ns_per_op, res[i].mops, res[i].ns_per_op / refns);
			first_out = 0;
		}
		fprintf(jf, "\n]\n");
		fclose(jf);
	}
	free(atomic_load_explicit(&shared, memory_order_relaxed));
	ebr_destroy(&dom);
	return 0;
}
