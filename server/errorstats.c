/*
 * errorstats.c — per-code error reply counters (errorstats.h).
 *
 * The code table only grows: a code is written into codes[n] under the lock
 * and then published by storing ncodes with release; lookups scan the
 * published prefix after an acquire load, without the lock. Each thread's
 * counters hang off its worker context; the first error on a thread
 * allocates them and links them on the registry list.
 */
#include "server/errorstats.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/reply.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_MAX 32 /* Redis looks for the space in the first 32 bytes of "-CODE ..." */

struct errstat_tls {
	struct errstat_tls *next; /* under lock */
	/* written by the owning thread only; summed by readers: relaxed */
	_Atomic uint64_t c[ERRSTAT_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct errstat_tls *threads; /* under lock */
static char codes[ERRSTAT_MAX][CODE_MAX];
static size_t code_len[ERRSTAT_MAX];
/* release after codes[n] is written; pairs with the acquire in find() */
static _Atomic unsigned ncodes;
static uint64_t baseline[ERRSTAT_MAX]; /* under lock */

void errorstats_setup(void)
{
	reply_set_error_observer(errorstats_count);
}

void errorstats_teardown(void)
{
	reply_set_error_observer(NULL);
	pthread_mutex_lock(&lock);
	while (threads) {
		struct errstat_tls *t = threads;

		threads = t->next;
		mem_free(t);
	}
	memset(baseline, 0, sizeof(baseline));
	/* relaxed: no other thread runs now */
	atomic_store_explicit(&ncodes, 0, memory_order_relaxed);
	pthread_mutex_unlock(&lock);
	wctx_self()->errstat = NULL; /* the caller's; other threads have stopped */
}

static long find(const char *code, size_t len)
{
	/* acquire: the codes below ncodes are written; pairs with the release in add() */
	unsigned n = atomic_load_explicit(&ncodes, memory_order_acquire);

	for (unsigned i = 0; i < n; i++)
		if (code_len[i] == len && memcmp(codes[i], code, len) == 0)
			return i;
	return -1;
}

static long add(const char *code, size_t len)
{
	long i;

	pthread_mutex_lock(&lock);
	i = find(code, len);
	if (i < 0) {
		/* relaxed: only add() stores it, under the lock */
		unsigned n = atomic_load_explicit(&ncodes, memory_order_relaxed);

		if (n < ERRSTAT_MAX) {
			memcpy(codes[n], code, len);
			codes[n][len] = '\0';
			code_len[n] = len;
			/* release: the code's text before it is visible; pairs with find() */
			atomic_store_explicit(&ncodes, n + 1, memory_order_release);
			i = n;
		}
	}
	pthread_mutex_unlock(&lock);
	return i;
}

void errorstats_count(const char *s, size_t n)
{
	/* Redis: memchr(s, ' ', min(len, 32)) on "-CODE ...": a space within
	 * the text's first 31 bytes ends the code; otherwise the code is ERR */
	const char *sp = memchr(s, ' ', n < CODE_MAX - 1 ? n : CODE_MAX - 1);
	const char *code = sp ? s : "ERR";
	size_t len = sp ? (size_t)(sp - s) : 3;
	struct wctx *w = wctx_self();
	struct errstat_tls *t;
	long i = find(code, len);

	if (i < 0 && (i = add(code, len)) < 0)
		return; /* table full: counted in total_error_replies only */
	t = w->errstat;
	if (t == NULL) {
		t = mem_calloc(1, sizeof(*t));
		pthread_mutex_lock(&lock);
		t->next = threads;
		threads = t;
		pthread_mutex_unlock(&lock);
		w->errstat = t;
	}
	/* relaxed: single writer; a statistic that publishes nothing */
	atomic_store_explicit(&t->c[i], atomic_load_explicit(&t->c[i], memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Sums every thread's count of code i. Called with lock held. */
static uint64_t sum(unsigned i)
{
	uint64_t s = 0;

	for (struct errstat_tls *t = threads; t; t = t->next)
		s += atomic_load_explicit(&t->c[i], memory_order_relaxed); /* relaxed: statistic */
	return s;
}

static int by_code(const void *a, const void *b)
{
	return strcmp(codes[*(const unsigned *)a], codes[*(const unsigned *)b]);
}

char *errorstats_info(size_t *len)
{
	unsigned order[ERRSTAT_MAX], n;
	size_t cap = 64, off = 0;
	char *out = mem_alloc(cap);

	pthread_mutex_lock(&lock);
	n = atomic_load_explicit(&ncodes, memory_order_relaxed); /* relaxed: under the lock */
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	qsort(order, n, sizeof(order[0]), by_code);
	for (unsigned k = 0; k < n; k++) {
		uint64_t v = sum(order[k]) - baseline[order[k]];
		char line[96];
		int l;

		if (v == 0)
			continue;
		l = snprintf(line, sizeof(line), "errorstat_%s:count=%llu\r\n", codes[order[k]],
			     (unsigned long long)v);
		if (off + (size_t)l + 1 > cap) {
			cap = (cap + (size_t)l) * 2;
			out = mem_realloc(out, cap);
		}
		memcpy(out + off, line, (size_t)l);
		off += (size_t)l;
	}
	pthread_mutex_unlock(&lock);
	out[off] = '\0';
	*len = off;
	return out;
}

void errorstats_reset(void)
{
	pthread_mutex_lock(&lock);
	/* relaxed: under the lock, as add() stores it */
	for (unsigned i = 0; i < atomic_load_explicit(&ncodes, memory_order_relaxed); i++)
		baseline[i] = sum(i);
	pthread_mutex_unlock(&lock);
}
