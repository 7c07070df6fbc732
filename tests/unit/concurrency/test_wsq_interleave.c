/*
 * test_wsq_interleave.c — exhaustive interleavings of the Chase–Lev deque.
 *
 * A step-level model of wsq.c: each shared-memory access of push / take /
 * steal (load of top or bottom, slot read or write, store of bottom, CAS on
 * top) is one step, and a depth-first search runs every interleaving of a
 * small owner program against one or two thieves. At every end state it
 * checks the deque's contract: each successfully pushed element is removed
 * at most once, and every element is either removed exactly once or still
 * between top and bottom; nothing that was never pushed is returned.
 *
 * This explores sequentially consistent executions only: it checks the
 * algorithm (the index protocol, the last-element race, the fixed-array
 * wrap), not the weak-memory orderings, which follow the published proof
 * and are exercised on hardware and under TSan by tests/stress/stress_wsq.c.
 * The model must be kept in step with wsq.c.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#define CAP	2 /* small, so wrap-around and -ENOSPC are reached */
#define MAXOPS	6
#define MAXTHR	3
#define MAXVALS 8

enum op { PUSH, TAKE, STEAL };

struct thr {
	int nops;
	enum op ops[MAXOPS];
	int arg[MAXOPS];
	int pc, step;
	int64_t b, t;
	int x;
};

struct state {
	int64_t top, bottom;
	int slot[CAP];
	struct thr th[MAXTHR];
	int nthr;
	int removed[MAXVALS + 1]; /* times each value was returned */
	int pushed[MAXVALS + 1];  /* 1 if its push succeeded */
};

static long leaves;

static void finish_op(struct thr *t)
{
	t->pc++;
	t->step = 0;
}

static void got(struct state *s, int x)
{
	cr_assert(x >= 1 && x <= MAXVALS && s->pushed[x], "returned a value never pushed: %d", x);
	s->removed[x]++;
	cr_assert_leq(s->removed[x], 1, "value %d removed twice", x);
}

/* Executes one shared-memory step of thread i. */
static void step(struct state *s, int i)
{
	struct thr *t = &s->th[i];
	enum op op = t->ops[t->pc];

	switch (op) {
	case PUSH:
		switch (t->step++) {
		case 0:
			t->b = s->bottom;
			return;
		case 1:
			t->t = s->top;
			if (t->b - t->t > CAP - 1)
				finish_op(t); /* -ENOSPC */
			return;
		case 2:
			s->slot[t->b & (CAP - 1)] = t->arg[t->pc];
			return;
		default:
			s->bottom = t->b + 1;
			s->pushed[t->arg[t->pc]] = 1;
			finish_op(t);
			return;
		}
	case TAKE:
		switch (t->step++) {
		case 0:
			t->b = s->bottom - 1;
			return;
		case 1:
			s->bottom = t->b;
			return;
		case 2:
			t->t = s->top;
			if (t->t > t->b)
				t->step = 5; /* empty: restore bottom */
			return;
		case 3:
			t->x = s->slot[t->b & (CAP - 1)];
			if (t->t < t->b) {
				got(s, t->x);
				finish_op(t);
			}
			return;
		case 4:
			/* last element: CAS top */
			if (s->top == t->t) {
				s->top = t->t + 1;
				got(s, t->x);
			}
			return;
		default:
			s->bottom = t->b + 1;
			finish_op(t);
			return;
		}
	case STEAL:
		switch (t->step++) {
		case 0:
			t->t = s->top;
			return;
		case 1:
			t->b = s->bottom;
			if (t->t >= t->b)
				finish_op(t); /* -ENOENT */
			return;
		case 2:
			t->x = s->slot[t->t & (CAP - 1)];
			return;
		default:
			if (s->top == t->t) {
				s->top = t->t + 1;
				got(s, t->x);
			} /* else -EAGAIN */
			finish_op(t);
			return;
		}
	}
}

static void check_end(const struct state *s)
{
	cr_assert_geq(s->bottom, s->top);
	for (int v = 1; v <= MAXVALS; v++) {
		int inside = 0;

		for (int64_t k = s->top; k < s->bottom; k++)
			if (s->slot[k & (CAP - 1)] == v)
				inside++;
		if (s->pushed[v])
			cr_assert_eq(s->removed[v] + inside, 1, "value %d lost or duplicated", v);
		else
			cr_assert_eq(s->removed[v] + inside, 0);
	}
	leaves++;
}

static void explore(const struct state *s)
{
	int any = 0;

	for (int i = 0; i < s->nthr; i++) {
		struct state n;

		if (s->th[i].pc >= s->th[i].nops)
			continue;
		any = 1;
		n = *s;
		step(&n, i);
		explore(&n);
	}
	if (!any)
		check_end(s);
}

static void add(struct state *s, int thr, enum op op, int arg)
{
	struct thr *t = &s->th[thr];

	t->ops[t->nops] = op;
	t->arg[t->nops] = arg;
	t->nops++;
	if (thr + 1 > s->nthr)
		s->nthr = thr + 1;
}

Test(wsq_interleave, push_push_take_vs_two_thieves)
{
	struct state s;

	memset(&s, 0, sizeof(s));
	add(&s, 0, PUSH, 1);
	add(&s, 0, PUSH, 2);
	add(&s, 0, TAKE, 0);
	add(&s, 1, STEAL, 0);
	add(&s, 2, STEAL, 0);
	leaves = 0;
	explore(&s);
	cr_log_info("%ld interleavings", leaves);
	cr_expect_gt(leaves, 100000);
}

Test(wsq_interleave, last_element_race_and_wrap)
{
	struct state s;

	memset(&s, 0, sizeof(s));
	add(&s, 0, PUSH, 1);
	add(&s, 0, TAKE, 0);
	add(&s, 0, PUSH, 2);
	add(&s, 0, PUSH, 3);
	add(&s, 0, PUSH, 4); /* may find the array full */
	add(&s, 0, TAKE, 0);
	add(&s, 1, STEAL, 0);
	add(&s, 1, STEAL, 0);
	leaves = 0;
	explore(&s);
	cr_log_info("%ld interleavings", leaves);
	cr_expect_gt(leaves, 100000);
}
