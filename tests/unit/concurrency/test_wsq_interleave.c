/*
 * test_wsq_interleave.c — every interleaving of concurrency/wsq.c itself, with delayed stores.
 *
 * This target compiles concurrency/wsq.c with model/ first on its include path, so wsq.c's
 * atomics (concurrency/wsq_atomic.h) become calls into the checker below: the test runs the
 * deque's real code, and any edit to wsq.c changes what it checks.
 *
 * The checker. A small program gives the owner a list of push / take operations and one or
 * two thieves a list of steals. Each atomic operation of wsq.c is one step; a state holds the
 * model's memory (top, bottom and the slots of a deque of CAP slots), each thread's position
 * and each thread's store buffer. A thread's step re-runs its current wsq_* call from the
 * start: the atomics it already executed return their recorded results (no effect), the next
 * one is performed on the model and recorded, and a longjmp ends the step — so a state is
 * plain data that can be copied and compared, and the search is a depth-first search over
 * states with a visited set (every reachable state, not every path, is explored).
 *
 * Memory model: stores go to a per-thread buffer and reach memory later, at any step, in any
 * order except that a thread's stores to one location stay in order and a release store
 * waits for every earlier store of its thread (so push's slot store precedes its bottom).
 * A seq_cst fence or store, and a CAS with release (or stronger) order, first drains the
 * whole buffer; a weaker CAS drains the stores to its own location. Loads read the thread's
 * own newest buffered store to the location, else memory. This is store buffering with
 * release ordering (like SPARC PSO, with C11's release rule): it allows no execution C11
 * forbids for these orders, and it finds bugs that need a store to be delayed past a later
 * load or store — a missing fence between take's bottom store and its top load, a relaxed
 * bottom store in push. It does not reorder loads, so an acquire weakened to relaxed (the
 * CDSChecker fix in wsq_steal) is outside it; the TSan stress test and the proof cover that.
 *
 * Checked: every value is removed at most once, only values whose push succeeded are
 * removed, and at the end (buffers drained) every pushed value was removed exactly once or
 * is still between top and bottom.
 */
#include "concurrency/wsq.h"

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP	2 /* small, so wrap-around and -ENOSPC are reached */
#define MAXTHR	3
#define MAXOPS	8
#define MAXREC	8 /* atomics in one wsq_* call (take has 7 at most) */
#define MAXBUF	8
#define MAXVALS 8
#define NLOC	(2 + CAP)

enum op { PUSH, TAKE, STEAL };
enum { L_TOP, L_BOTTOM, L_SLOT };

struct bentry {
	int8_t loc;
	int8_t rel; /* release store: drains after every earlier store */
	int16_t val;
};

struct mthread {
	int8_t pc;   /* next operation */
	int8_t nrec; /* atomics of the current operation executed so far */
	int8_t nbuf; /* buffered stores, oldest first */
	int8_t pad;
	int16_t rec[MAXREC]; /* what each returned (value read; 0 for stores, fences) */
	struct bentry buf[MAXBUF];
};

struct mstate {
	int16_t mem[NLOC];
	int8_t removed[MAXVALS + 1];
	int8_t pushed[MAXVALS + 1]; /* 1: push returned 0; -1: it returned -ENOSPC */
	struct mthread th[MAXTHR];
};

struct prog {
	int nthr;
	int nops[MAXTHR];
	enum op op[MAXTHR][MAXOPS];
	int arg[MAXTHR][MAXOPS];
};

static struct wsq q; /* real: its fields' addresses name the model's locations */
static const struct prog *P;

/* the step being run */
static struct mstate *S;
static int cur, replay;
static jmp_buf step_env;
static char step_what[64]; /* what the step did, for traces */
static long model_calls;   /* atomics of wsq.c that reached the model */

/* the search */
static struct mstate *seen;
static size_t seen_cap, seen_n;
static long end_states;
static char trace[256][128];
static int depth;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "wsq model: %s\nafter these steps:\n", msg);
	for (int i = 0; i < depth; i++)
		fprintf(stderr, "  %s\n", trace[i]);
	cr_assert_fail("%s", msg);
}

/* ---- the model's memory and store buffers */

static int loc_of(const void *p)
{
	if (p == (const void *)&q.top)
		return L_TOP;
	if (p == (const void *)&q.bottom)
		return L_BOTTOM;
	for (int i = 0; i < CAP; i++)
		if (p == (const void *)&q.slots[i])
			return L_SLOT + i;
	cr_assert_fail("wsq model: an atomic outside the deque");
	return -1;
}

static const char *loc_name(int loc)
{
	static const char *const names[] = {"top",     "bottom",  "slot[0]",
					    "slot[1]", "slot[2]", "slot[3]"};

	return loc < (int)(sizeof(names) / sizeof(names[0])) ? names[loc] : "slot";
}

static int16_t narrow(int64_t v)
{
	cr_assert(v >= INT16_MIN && v <= INT16_MAX, "wsq model: value %lld too large",
		  (long long)v);
	return (int16_t)v;
}

static void drain_at(struct mstate *s, int t, int e)
{
	struct mthread *th = &s->th[t];

	s->mem[th->buf[e].loc] = th->buf[e].val;
	memmove(&th->buf[e], &th->buf[e + 1], sizeof(th->buf[0]) * (size_t)(th->nbuf - e - 1));
	th->nbuf--;
	memset(&th->buf[th->nbuf], 0, sizeof(th->buf[0]));
}

/* May buffered store e of thread t reach memory now? */
static int drainable(const struct mthread *th, int e)
{
	for (int k = 0; k < e; k++)
		if (th->buf[k].loc == th->buf[e].loc || th->buf[e].rel)
			return 0;
	return 1;
}

static void drain_all(struct mstate *s, int t)
{
	while (s->th[t].nbuf)
		drain_at(s, t, 0);
}

/* Drains, oldest first, up to the newest buffered store to loc. */
static void drain_loc(struct mstate *s, int t, int loc)
{
	int last = -1;

	for (int e = 0; e < s->th[t].nbuf; e++)
		if (s->th[t].buf[e].loc == loc)
			last = e;
	for (; last >= 0; last--)
		drain_at(s, t, 0);
}

static int releases(memory_order mo)
{
	return mo == memory_order_release || mo == memory_order_acq_rel ||
	       mo == memory_order_seq_cst;
}

/* ---- the operations wsq.c calls (model/concurrency/wsq_atomic.h) */

/* An atomic already executed in an earlier step: its recorded result. */
static int replayed(int64_t *r)
{
	struct mthread *th = &S->th[cur];

	model_calls++;
	if (replay < th->nrec) {
		*r = th->rec[replay++];
		return 1;
	}
	return 0;
}

/* The new atomic of this step was performed: record it and end the step. */
static _Noreturn void executed(int64_t r)
{
	struct mthread *th = &S->th[cur];

	cr_assert(th->nrec < MAXREC, "wsq model: too many atomics in one call");
	th->rec[th->nrec++] = narrow(r);
	longjmp(step_env, 1);
}

int64_t mc_load(const void *p, memory_order mo)
{
	struct mthread *th = &S->th[cur];
	int64_t r;
	int loc;

	(void)mo; /* loads are never reordered in this model */
	if (replayed(&r))
		return r;
	loc = loc_of(p);
	r = S->mem[loc];
	for (int e = th->nbuf - 1; e >= 0; e--)
		if (th->buf[e].loc == loc) {
			r = th->buf[e].val;
			break;
		}
	snprintf(step_what, sizeof(step_what), "load %s = %lld", loc_name(loc), (long long)r);
	executed(r);
}

void mc_store(const void *p, int64_t v, memory_order mo)
{
	struct mthread *th = &S->th[cur];
	int64_t r;
	int loc;

	if (replayed(&r))
		return;
	loc = loc_of(p);
	if (mo == memory_order_seq_cst) {
		drain_all(S, cur);
		S->mem[loc] = narrow(v);
	} else {
		cr_assert(th->nbuf < MAXBUF, "wsq model: store buffer full");
		th->buf[th->nbuf++] = (struct bentry){
		    .loc = (int8_t)loc, .rel = mo == memory_order_release, .val = narrow(v)};
	}
	snprintf(step_what, sizeof(step_what), "store %s := %lld%s", loc_name(loc), (long long)v,
		 mo == memory_order_seq_cst ? "" : " (buffered)");
	executed(0);
}

int mc_cas(const void *p, int64_t *expected, int64_t desired, memory_order ok, memory_order bad)
{
	int64_t r;

	(void)bad;
	if (!replayed(&r)) {
		int loc = loc_of(p);

		if (releases(ok))
			drain_all(S, cur);
		else
			drain_loc(S, cur, loc);
		r = S->mem[loc];
		if (r == *expected)
			S->mem[loc] = narrow(desired);
		snprintf(step_what, sizeof(step_what), "CAS %s %lld -> %lld: %s", loc_name(loc),
			 (long long)*expected, (long long)desired,
			 r == *expected ? "ok" : "failed");
		executed(r);
	}
	if (r == *expected)
		return 1;
	*expected = r;
	return 0;
}

void mc_fence(memory_order mo)
{
	int64_t r;

	if (replayed(&r))
		return;
	if (releases(mo))
		drain_all(S, cur);
	snprintf(step_what, sizeof(step_what), "fence");
	executed(0);
}

/* ---- threads */

/* Runs thread i's current call; 1 if it returned (result in *r, a steal's element in *x),
 * 0 if it performed one new atomic and the step ended there. */
static int run_call(struct mstate *s, int i, int64_t *r, void **x)
{
	enum op op = P->op[i][s->th[i].pc];
	int arg = P->arg[i][s->th[i].pc];

	S = s;
	cur = i;
	replay = 0;
	if (setjmp(step_env))
		return 0;
	switch (op) {
	case PUSH:
		*r = wsq_push(&q, (void *)(intptr_t)arg);
		break;
	case TAKE:
		*r = (intptr_t)wsq_take(&q);
		break;
	case STEAL:
		*x = NULL;
		*r = wsq_steal(&q, x);
		break;
	}
	return 1;
}

static void removed(struct mstate *s, intptr_t v)
{
	if (v < 1 || v > MAXVALS)
		fail("returned %ld, which was never pushed", (long)v);
	if (s->pushed[v] < 0)
		fail("returned %ld, whose push failed (-ENOSPC)", (long)v);
	if (++s->removed[v] > 1)
		fail("value %ld removed twice", (long)v);
}

/* One step of thread i: its next atomic (finishing calls that need no more). Describes
 * what it did in `out`. */
static void step(struct mstate *s, int i, char *out, size_t size)
{
	static const char *const names[] = {"push", "take", "steal"};
	struct mthread *th = &s->th[i];
	int n = snprintf(out, size, "thread %d:", i);

	for (;;) {
		int64_t r;
		void *x;
		int pc = th->pc;

		step_what[0] = 0;
		if (!run_call(s, i, &r, &x)) {
			snprintf(out + n, size - (size_t)n, " %s: %s", names[P->op[i][pc]],
				 step_what);
			return;
		}
		if (P->op[i][pc] == PUSH)
			n += snprintf(out + n, size - (size_t)n, " push(%d) returns %lld;",
				      P->arg[i][pc], (long long)r);
		else if (P->op[i][pc] == TAKE)
			n += snprintf(out + n, size - (size_t)n, " take() returns %lld;",
				      (long long)r);
		else
			n += snprintf(out + n, size - (size_t)n, " steal() returns %lld (%ld);",
				      (long long)r, (long)(intptr_t)x);
		if (n >= (int)size)
			n = (int)size - 1;
		if (P->op[i][pc] == PUSH)
			s->pushed[P->arg[i][pc]] = r == 0 ? 1 : -1;
		else if (P->op[i][pc] == TAKE && r != 0)
			removed(s, (intptr_t)r);
		else if (P->op[i][pc] == STEAL && r == 0)
			removed(s, (intptr_t)x);
		th->pc++;
		th->nrec = 0;
		memset(th->rec, 0, sizeof(th->rec));
		if (th->pc == P->nops[i])
			return;
	}
}

/* ---- the search */

static uint64_t hash_state(const struct mstate *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*s); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int is_empty_slot(const struct mstate *s)
{
	static const struct mstate zero;

	return memcmp(s, &zero, sizeof(zero)) == 0;
}

/* 1 if s had not been seen (and records it). An all-zero entry marks a free slot of the
 * table, so stored states carry a non-zero sentinel (thread 0's pad byte). */
static int visit(const struct mstate *s)
{
	struct mstate k = *s;
	size_t i;

	k.th[0].pad = 1;
	if (2 * (seen_n + 1) > seen_cap) {
		struct mstate *old = seen;
		size_t oc = seen_cap;

		seen_cap = seen_cap ? 2 * seen_cap : 1 << 16;
		seen = calloc(seen_cap, sizeof(*seen));
		cr_assert_not_null(seen);
		for (size_t j = 0; j < oc; j++) {
			if (is_empty_slot(&old[j]))
				continue;
			for (i = hash_state(&old[j]) & (seen_cap - 1); !is_empty_slot(&seen[i]);
			     i = (i + 1) & (seen_cap - 1))
				;
			seen[i] = old[j];
		}
		free(old);
	}
	for (i = hash_state(&k) & (seen_cap - 1); !is_empty_slot(&seen[i]);
	     i = (i + 1) & (seen_cap - 1))
		if (memcmp(&seen[i], &k, sizeof(k)) == 0)
			return 0;
	seen[i] = k;
	seen_n++;
	return 1;
}

static void check_end(const struct mstate *s0)
{
	struct mstate s = *s0;
	int64_t top, bottom;

	for (int t = 0; t < P->nthr; t++)
		drain_all(&s, t);
	top = s.mem[L_TOP];
	bottom = s.mem[L_BOTTOM];
	if (top > bottom || bottom - top > CAP)
		fail("end: top %lld, bottom %lld", (long long)top, (long long)bottom);
	for (int v = 1; v <= MAXVALS; v++) {
		int inside = 0;

		for (int64_t k = top; k < bottom; k++)
			inside += s.mem[L_SLOT + (k & (CAP - 1))] == v;
		if (s.removed[v] + inside != (s.pushed[v] == 1))
			fail("end: value %d %s (removed %d times, %d copies in the deque)", v,
			     s.pushed[v] == 1 ? "lost or duplicated" : "appeared", s.removed[v],
			     inside);
	}
	end_states++;
}

static void explore(const struct mstate *s)
{
	int running = 0;

	if (!visit(s))
		return;
	cr_assert_lt(depth, 256);
	for (int i = 0; i < P->nthr; i++) {
		struct mstate n;

		if (s->th[i].pc >= P->nops[i])
			continue;
		running = 1;
		n = *s;
		depth++;
		step(&n, i, trace[depth - 1], sizeof(trace[0]));
		explore(&n);
		depth--;
	}
	if (!running) {
		check_end(s); /* the order of the final drains does not matter */
		return;
	}
	for (int i = 0; i < P->nthr; i++)
		for (int e = 0; e < s->th[i].nbuf; e++) {
			struct mstate n;

			if (!drainable(&s->th[i], e))
				continue;
			n = *s;
			snprintf(trace[depth], sizeof(trace[0]),
				 "thread %d: its store %s := %d reaches memory", i,
				 loc_name(s->th[i].buf[e].loc), s->th[i].buf[e].val);
			depth++;
			drain_at(&n, i, e);
			explore(&n);
			depth--;
		}
}

static void add(struct prog *p, int thr, enum op op, int arg)
{
	p->op[thr][p->nops[thr]] = op;
	p->arg[thr][p->nops[thr]] = arg;
	p->nops[thr]++;
	if (thr + 1 > p->nthr)
		p->nthr = thr + 1;
}

/* Explores every execution of p; returns the number of distinct states. */
static size_t run(const struct prog *p)
{
	struct mstate s;

	memset(&s, 0, sizeof(s));
	cr_assert_eq(wsq_init(&q, CAP), 0);
	P = p;
	free(seen);
	seen = NULL;
	seen_cap = seen_n = 0;
	end_states = 0;
	model_calls = 0;
	depth = 0;
	explore(&s);
	wsq_deinit(&q);
	free(seen);
	seen = NULL;
	/* the atomics went through the model: this is wsq.c's code being checked */
	cr_assert_gt(model_calls, 0);
	cr_assert_gt(end_states, 0);
	cr_log_info("%zu states, %ld end states", seen_n, end_states);
	return seen_n;
}

/* Two elements, the owner takes one while two thieves steal: needs take's fence. */
Test(wsq_interleave, push_push_take_vs_two_thieves)
{
	struct prog p = {0};

	add(&p, 0, PUSH, 1);
	add(&p, 0, PUSH, 2);
	add(&p, 0, TAKE, 0);
	add(&p, 1, STEAL, 0);
	add(&p, 2, STEAL, 0);
	cr_expect_gt(run(&p), 1000);
}

/* The last-element race, reuse of a slot after wrapping, and a full deque. */
Test(wsq_interleave, last_element_race_and_wrap)
{
	struct prog p = {0};

	add(&p, 0, PUSH, 1);
	add(&p, 0, TAKE, 0);
	add(&p, 0, PUSH, 2);
	add(&p, 0, PUSH, 3);
	add(&p, 0, PUSH, 4); /* may find the deque full */
	add(&p, 0, TAKE, 0);
	add(&p, 1, STEAL, 0);
	add(&p, 1, STEAL, 0);
	cr_expect_gt(run(&p), 1000);
}

/* One element, taken by the owner and stolen by a thief at once, twice over. */
Test(wsq_interleave, take_vs_steal_of_the_last_element)
{
	struct prog p = {0};

	add(&p, 0, PUSH, 1);
	add(&p, 0, TAKE, 0);
	add(&p, 0, PUSH, 2);
	add(&p, 0, TAKE, 0);
	add(&p, 0, TAKE, 0);
	add(&p, 1, STEAL, 0);
	add(&p, 1, STEAL, 0);
	add(&p, 2, STEAL, 0);
	cr_expect_gt(run(&p), 1000);
}

/* Two thieves across a wrap: slots are reused while both may still read them. */
Test(wsq_interleave, two_thieves_across_a_wrap)
{
	struct prog p = {0};

	add(&p, 0, PUSH, 1);
	add(&p, 0, PUSH, 2);
	add(&p, 0, TAKE, 0);
	add(&p, 0, PUSH, 3);
	add(&p, 0, TAKE, 0);
	add(&p, 1, STEAL, 0);
	add(&p, 1, STEAL, 0);
	add(&p, 2, STEAL, 0);
	cr_expect_gt(run(&p), 1000);
}
