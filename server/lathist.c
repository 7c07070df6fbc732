/*
 * lathist.c — per-thread, per-command latency histograms (lathist.h).
 *
 * A thread's block hangs off its worker context (w->lathist): a generation
 * and one pointer per command index to a histogram the owner allocates on
 * the command's first recording, whose runs of 128 buckets (one power of
 * two) are allocated when a sample first falls in them. Each counter has one writer, so an
 * increment is a relaxed load and store. Readers walk the registry under
 * its lock and merge the blocks whose generation is current.
 *
 * Reset without writing other threads' memory: lathist_reset() bumps `gen`.
 * Before recording, an owner whose block generation differs zeroes all its
 * histograms, then publishes the new generation (release); a reader loads a
 * block's generation (acquire) and skips stale blocks, so it never adds
 * counts from before the reset, and sees the zeroes of a block it merges.
 * Counts recorded concurrently with a reset may land on either side of it,
 * as in any statistic read while it changes.
 */
#include "server/lathist.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "server/config.h"
#include "server/strutil.h"

#include <stdio.h>
#include <stdlib.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* One power of two's run of buckets (the exact range below 256 is two runs). */
#define CHUNK	(LOGHIST_SUB_COUNT)
#define NCHUNKS (LATHIST_BUCKETS / CHUNK)
_Static_assert(LATHIST_BUCKETS % CHUNK == 0, "runs tile the buckets");

struct lathist_chunk {
	/* written by the owning thread only; read by lathist_get: relaxed */
	_Atomic uint64_t counts[CHUNK];
};

/* A command's histogram on one thread: the runs its samples fell in are
 * allocated on first use (a command's latencies usually span a few powers
 * of two, so a thread keeps a few KB per command, not all 24 KB). */
struct lathist_one {
	/* written by the owning thread only; read by lathist_get: relaxed */
	_Atomic uint64_t total;
	/* owner stores a new run with release; readers acquire */
	_Atomic(struct lathist_chunk *) chunk[NCHUNKS];
};

struct lathist_tls {
	struct lathist_tls *next; /* under lock */
	/* owner writes (release, after zeroing); readers acquire */
	_Atomic uint64_t gen;
	/* owner stores a new histogram with release; readers acquire */
	_Atomic(struct lathist_one *) cmd[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lathist_tls *threads; /* under lock */
static const char *const *names;    /* set before workers start */
static size_t ncmds;		    /* set before workers start */
/* bumped by lathist_reset; relaxed: each block orders its own zeroing */
static _Atomic uint64_t gen;

void lathist_setup(const char *const *n, size_t count)
{
	names = n;
	ncmds = count;
}

void lathist_teardown(void)
{
	pthread_mutex_lock(&lock);
	while (threads) {
		struct lathist_tls *t = threads;

		threads = t->next;
		for (size_t i = 0; i < ncmds; i++) {
			struct lathist_one *h =
			    atomic_load_explicit(&t->cmd[i], memory_order_relaxed);

			for (size_t k = 0; h && k < NCHUNKS; k++)
				mem_free(atomic_load_explicit(&h->chunk[k], memory_order_relaxed));
			mem_free(h);
		}
		mem_free(t);
	}
	pthread_mutex_unlock(&lock);
	wctx_self()->lathist = NULL; /* the caller's; other threads have stopped */
	ncmds = 0;
}

static struct lathist_tls *mine(struct wctx *w)
{
	struct lathist_tls *t = w->lathist;

	if (t == NULL) {
		t = mem_calloc(1, sizeof(*t) + ncmds * sizeof(t->cmd[0]));
		/* relaxed: a reset seen late attributes the first calls to the old period */
		uint64_t g = atomic_load_explicit(&gen, memory_order_relaxed);

		/* relaxed: not yet visible to readers (published by the lock) */
		atomic_store_explicit(&t->gen, g, memory_order_relaxed);
		w->lathist_gen = g;
		pthread_mutex_lock(&lock);
		t->next = threads;
		threads = t;
		pthread_mutex_unlock(&lock);
		w->lathist = t;
	}
	return t;
}

static inline void bump(_Atomic uint64_t *c)
{
	/* relaxed: single writer; a statistic that publishes nothing */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Owner only: forget this block's counts after a reset. */
static void zero_block(struct lathist_tls *t, uint64_t g)
{
	for (size_t i = 0; i < ncmds; i++) {
		struct lathist_one *h = atomic_load_explicit(&t->cmd[i], memory_order_relaxed);

		if (h == NULL)
			continue;
		/* relaxed: ordered before the generation's release store below */
		atomic_store_explicit(&h->total, 0, memory_order_relaxed);
		for (size_t k = 0; k < NCHUNKS; k++) {
			struct lathist_chunk *ch =
			    atomic_load_explicit(&h->chunk[k], memory_order_relaxed);

			for (size_t b = 0; ch && b < CHUNK; b++)
				atomic_store_explicit(&ch->counts[b], 0, memory_order_relaxed);
		}
	}
	/* release: the zeroes above before the generation; pairs with the acquire in lathist_get */
	atomic_store_explicit(&t->gen, g, memory_order_release);
}

KV_HOT void lathist_record(struct wctx *w, size_t idx, uint64_t usec)
{
	struct lathist_tls *t;
	struct lathist_one *h;
	struct lathist_chunk *ch;
	uint64_t ns, g;
	unsigned b;

	if (idx >= ncmds)
		return;
	t = mine(w);
	/* relaxed: a reset seen late only attributes this call to the old period */
	g = atomic_load_explicit(&gen, memory_order_relaxed);
	if (kv_unlikely(w->lathist_gen != g)) { /* the block's own gen, without its line */
		zero_block(t, g);
		w->lathist_gen = g;
	}
	h = atomic_load_explicit(&t->cmd[idx], memory_order_relaxed); /* own pointer */
	if (kv_unlikely(h == NULL)) {
		h = mem_calloc(1, sizeof(*h));
		/* release: the zeroed histogram before its pointer; pairs with lathist_get's
		 * acquire */
		atomic_store_explicit(&t->cmd[idx], h, memory_order_release);
	}
	ns = usec * 1000;
	if (ns < LATHIST_MIN_NS)
		ns = LATHIST_MIN_NS;
	if (ns > LATHIST_MAX_NS)
		ns = LATHIST_MAX_NS;
	b = loghist_index(ns);
	ch = atomic_load_explicit(&h->chunk[b / CHUNK], memory_order_relaxed); /* own pointer */
	if (kv_unlikely(ch == NULL)) {
		ch = mem_calloc(1, sizeof(*ch));
		/* release: the zeroed run before its pointer; pairs with lathist_get's acquire */
		atomic_store_explicit(&h->chunk[b / CHUNK], ch, memory_order_release);
	}
	bump(&ch->counts[b % CHUNK]);
	bump(&h->total);
}

void lathist_reset(void)
{
	/* relaxed: owners and readers compare generations; see the file comment */
	atomic_fetch_add_explicit(&gen, 1, memory_order_relaxed);
}

size_t lathist_count(void)
{
	return ncmds;
}

const char *lathist_name(size_t idx)
{
	return idx < ncmds ? names[idx] : NULL;
}

long lathist_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < ncmds; i++)
		if (su_eqi(name, len, names[i]))
			return (long)i;
	return -1;
}

uint64_t lathist_get(size_t idx, struct lathist_snap *s)
{
	uint64_t g;

	memset(s, 0, sizeof(*s));
	if (idx >= ncmds)
		return 0;
	pthread_mutex_lock(&lock);
	/* relaxed: blocks compare themselves with it */
	g = atomic_load_explicit(&gen, memory_order_relaxed);
	for (struct lathist_tls *t = threads; t; t = t->next) {
		struct lathist_one *h;

		/* acquire: pairs with zero_block's release; a stale block is skipped */
		if (atomic_load_explicit(&t->gen, memory_order_acquire) != g)
			continue;
		/* acquire: pairs with the release that published the histogram */
		h = atomic_load_explicit(&t->cmd[idx], memory_order_acquire);
		if (h == NULL)
			continue;
		/* relaxed: statistics */
		s->total += atomic_load_explicit(&h->total, memory_order_relaxed);
		for (size_t k = 0; k < NCHUNKS; k++) {
			/* acquire: pairs with the release that published the run */
			struct lathist_chunk *ch =
			    atomic_load_explicit(&h->chunk[k], memory_order_acquire);

			for (size_t b = 0; ch && b < CHUNK; b++)
				s->counts[k * CHUNK + b] +=
				    atomic_load_explicit(&ch->counts[b], memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&lock);
	return s->total;
}

uint64_t lathist_percentile(const struct lathist_snap *s, double p)
{
	double want = p < 100.0 ? p : 100.0;
	uint64_t at = (uint64_t)(want / 100.0 * (double)s->total + 0.5), seen = 0;

	if (s->total == 0)
		return 0;
	if (at < 1)
		at = 1;
	for (unsigned i = 0; i < LATHIST_BUCKETS; i++) {
		seen += s->counts[i];
		if (seen >= at)
			return p == 0.0 ? loghist_low(i) : loghist_high(i);
	}
	return 0;
}

int lathist_cdf(const struct lathist_snap *s, void (*fn)(long long usec, long long cum, void *arg),
		void *arg)
{
	uint64_t cum = 0, prev = 0;
	unsigned next = 0; /* first bucket not yet added to cum */
	int n = 0;

	/* HdrHistogram's log iteration: reporting levels 1024 ns * 2^k; each step
	 * adds buckets up to and including the one holding the level and reports
	 * that bucket's highest equivalent value; past the last bucket, the last
	 * step reports the last bucket. It stops once every sample was counted. */
	for (uint64_t level = 1024; cum < s->total || next == 0; level *= 2) {
		unsigned upto = loghist_index(level);
		uint64_t key;

		if (upto >= LATHIST_BUCKETS)
			upto = LATHIST_BUCKETS - 1;
		while (next <= upto)
			cum += s->counts[next++];
		key = loghist_high(upto) / 1000;
		if (cum > prev) {
			if (fn)
				fn((long long)key, (long long)cum, arg);
			n++;
		}
		prev = cum;
		if (upto == LATHIST_BUCKETS - 1)
			break;
	}
	return n;
}

/* A growing output string for lathist_info(). */
static void cat(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*out = mem_realloc(*out, *cap);
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

char *lathist_info(size_t *len)
{
	size_t cap = 256;
	char *out = mem_alloc(cap), *pct = cfg_str_dup(CFG_LATENCY_TRACKING_INFO_PERCENTILES);
	struct lathist_snap *s = mem_alloc(sizeof(*s));
	char *words[128];
	double vals[128];
	int nw = 0;

	*len = 0;
	out[0] = '\0';
	/* the stored value is normalised: words separated by single spaces */
	for (char *p = pct, *save = NULL, *w; pct && (w = strtok_r(p, " ", &save)) && nw < 128;
	     p = NULL) {
		words[nw] = w;
		vals[nw++] = strtod(w, NULL);
	}
	for (size_t i = 0; cfg_int(CFG_LATENCY_TRACKING) && i < ncmds; i++) {
		char buf[128];
		int n;

		if (lathist_get(i, s) == 0)
			continue;
		n = snprintf(buf, sizeof(buf), "latency_percentiles_usec_%s:", names[i]);
		cat(&out, len, &cap, buf, (size_t)n);
		for (int k = 0; k < nw; k++) {
			n = snprintf(buf, sizeof(buf), "%sp%s=%.3f", k ? "," : "", words[k],
				     (double)lathist_percentile(s, vals[k]) / 1000.0);
			cat(&out, len, &cap, buf, (size_t)n);
		}
		cat(&out, len, &cap, "\r\n", 2);
	}
	mem_free(s);
	free(pct);
	return out;
}
