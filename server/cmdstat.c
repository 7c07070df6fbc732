/*
 * cmdstat.c — per-thread command counters summed for INFO commandstats.
 *
 * A thread's array hangs off its worker context (wctx.h); the first call
 * on a thread allocates it (zeroed) and links it on the registry list. Each
 * counter has exactly one writer, so an increment is a relaxed load and
 * store (no locked instruction on the hot path).
 */
#include "server/cmdstat.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "server/config.h"
#include "server/lathist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cmdstat_ctr {
	/* written by the owning thread only; read by cmdstat_foreach: relaxed */
	_Atomic uint64_t calls, usec, failed, rejected;
};

struct cmdstat_tls {
	struct cmdstat_tls *next; /* under lock */
	struct cmdstat_ctr c[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cmdstat_tls *threads;  /* under lock */
static const char *const *names;     /* set before workers start */
static size_t ncmds;		     /* set before workers start */
static struct cmdstat_row *baseline; /* under lock */

void cmdstat_setup(const char *const *n, size_t count)
{
	names = n;
	ncmds = count;
	baseline = mem_calloc(count, sizeof(*baseline));
}

void cmdstat_teardown(void)
{
	pthread_mutex_lock(&lock);
	while (threads) {
		struct cmdstat_tls *t = threads;

		threads = t->next;
		mem_free(t);
	}
	mem_free(baseline);
	baseline = NULL;
	pthread_mutex_unlock(&lock);
	wctx_self()->stats = NULL; /* the caller's; other threads have stopped */
	ncmds = 0;
}

static struct cmdstat_tls *mine(struct wctx *w)
{
	struct cmdstat_tls *t = w->stats;

	if (t == NULL) {
		t = mem_calloc(1, sizeof(*t) + ncmds * sizeof(t->c[0]));
		pthread_mutex_lock(&lock);
		t->next = threads;
		threads = t;
		pthread_mutex_unlock(&lock);
		w->stats = t;
	}
	return t;
}

static inline void bump(_Atomic uint64_t *c, uint64_t d)
{
	/* relaxed: single writer; a statistic that publishes nothing */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

void cmdstat_call(struct wctx *w, size_t idx, uint64_t usec, int failed)
{
	struct cmdstat_ctr *c;

	if (idx >= ncmds)
		return;
	c = &mine(w)->c[idx];
	bump(&c->calls, 1);
	bump(&c->usec, usec);
	if (failed)
		bump(&c->failed, 1);
	if (cfg_int(CFG_LATENCY_TRACKING))
		lathist_record(w, idx, usec); /* LATENCY HISTOGRAM, INFO latencystats */
}

void cmdstat_unblocked(struct wctx *w, size_t idx, uint64_t usec, int failed)
{
	struct cmdstat_ctr *c;

	if (idx >= ncmds)
		return;
	c = &mine(w)->c[idx];
	bump(&c->usec, usec);
	if (failed)
		bump(&c->failed, 1);
}

void cmdstat_reject(struct wctx *w, size_t idx)
{
	if (idx < ncmds)
		bump(&mine(w)->c[idx].rejected, 1);
}

/* Sums every thread's counters for command i. Called with lock held. */
static void sum(size_t i, struct cmdstat_row *r)
{
	memset(r, 0, sizeof(*r));
	for (struct cmdstat_tls *t = threads; t; t = t->next) {
		/* relaxed: statistics */
		r->calls += atomic_load_explicit(&t->c[i].calls, memory_order_relaxed);
		r->usec += atomic_load_explicit(&t->c[i].usec, memory_order_relaxed);
		r->failed += atomic_load_explicit(&t->c[i].failed, memory_order_relaxed);
		r->rejected += atomic_load_explicit(&t->c[i].rejected, memory_order_relaxed);
	}
}

void cmdstat_foreach(void (*fn)(const char *name, const struct cmdstat_row *r, void *arg),
		     void *arg)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ncmds; i++) {
		struct cmdstat_row r;

		sum(i, &r);
		r.calls -= baseline[i].calls;
		r.usec -= baseline[i].usec;
		r.failed -= baseline[i].failed;
		r.rejected -= baseline[i].rejected;
		if (r.calls || r.rejected || r.failed)
			fn(names[i], &r, arg);
	}
	pthread_mutex_unlock(&lock);
}

void cmdstat_reset(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ncmds; i++)
		sum(i, &baseline[i]);
	pthread_mutex_unlock(&lock);
	lathist_reset(); /* Redis's resetCommandTableStats frees the histograms too */
}
