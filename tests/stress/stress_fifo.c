/*
 * stress_fifo.c — Redis's serving order for blocking pops across workers, against a real
 * kvsd ($KVSD_BIN), or a redis-server (the expected results are Redis's own).
 *
 * A plain executable (also run in the ThreadSanitizer build, where the server is
 * instrumented and a race report makes it fail). LANES lanes run side by side for
 * --seconds S (default 3), each on keys of its own, in rounds:
 *  1. 1..NCONS consumer connections block on the lane's key one after the other (the next
 *     one is sent only once CLIENT LIST ID shows the previous one blocked: flags=b), with
 *     BLPOP, BRPOP, BLPOP on the key and fifo:side (a multi-key waiter; fifo:side is never
 *     pushed, and one more client waits on it for the whole run), BLMPOP
 *     ... COUNT 1..2, BLMOVE and BRPOPLPUSH (to keys of their own);
 *  2. a producer connection pipelines LPUSH / RPUSH commands of 1..3 sequence-numbered
 *     elements (some pairs inside MULTI/EXEC) until every consumer is served, while the
 *     lane's racer thread hammers the key from another connection with non-blocking pops
 *     (LPOP, RPOP, LMPOP, RPOPLPUSH, LMOVE, MULTI LPOP EXEC) and reads (LLEN, LRANGE,
 *     EXISTS, TYPE).
 * Redis serves the blocked clients of a key, first blocked first, right after the command
 * (or transaction) that pushed, before any other command runs. So a model (a deque served
 * after each push command) predicts exactly: each push's reply (the length before
 * serving), each consumer's reply, and what is left for others — only the surplus of the
 * last push. The checks: every consumer gets the model's element(s) (a lost wakeup, a
 * wrong order or an element taken by the racer fails); the racer pops and sees only the
 * surplus (none at all when the last push left nothing); no element is lost or
 * duplicated (consumers + racer + what the key holds at the end = what was pushed).
 * Prints one summary line; exits 1 with a message on the first violation.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvsd_proc.h"

#define LANES	 2
#define NCONS	 4
#define MAXEL	 64 /* elements per round (bounded by the generator) */
#define EL_LEN	 32
#define BLK_WAIT 5000 /* ms a consumer may take to block, or to be served */

static struct kvsd_proc srv;
static atomic_int failed;
static atomic_llong rounds_n, elements_n, racer_ops_n, surplus_n;

static void fail(int lane, const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&failed, 1))
		return;
	fprintf(stderr, "stress_fifo: FAIL (lane %d): ", lane);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct strs {
	char v[MAXEL * 2][EL_LEN];
	int n;
};

static void strs_add(struct strs *s, const char *p, size_t len)
{
	if (s->n < (int)(sizeof(s->v) / sizeof(s->v[0]))) {
		if (len >= EL_LEN)
			len = EL_LEN - 1;
		memcpy(s->v[s->n], p, len);
		s->v[s->n][len] = '\0';
		s->n++;
	}
}

/* removes one occurrence of e from s; false when absent */
static bool strs_take(struct strs *s, const char *e)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], e) == 0) {
			memmove(s->v[i], s->v[i + 1], (size_t)(s->n - i - 1) * EL_LEN);
			s->n--;
			return true;
		}
	return false;
}

enum ckind { C_BLPOP, C_BRPOP, C_BLPOP2, C_BLMPOP, C_BLMOVE, C_BRPOPLPUSH, C_NKINDS };

struct lane {
	int idx;
	unsigned seed;
	redisContext *ctl, *prod, *cons[NCONS];
	long long cons_id[NCONS];
	char key[32];
	/* the racer's side: go = round it may race in, stop = round to stop, done = round it
	 * finished; what it saw is read by the lane after done == round */
	pthread_t racer;
	redisContext *rc;
	atomic_int go, stop, done;
	atomic_int quit;
	struct strs popped, seen;
	long max_len;
};

/* ---- the model */

struct model {
	char d[MAXEL * 2][EL_LEN];
	int head, n; /* deque in d[head .. head + n) with room at both ends */
};

static void m_init(struct model *m)
{
	m->head = MAXEL;
	m->n = 0;
}

static void m_push(struct model *m, bool left, const char *e)
{
	if (left) {
		m->head--;
		strcpy(m->d[m->head], e);
	} else {
		strcpy(m->d[m->head + m->n], e);
	}
	m->n++;
}

static const char *m_pop(struct model *m, bool left)
{
	const char *e;

	if (left) {
		e = m->d[m->head++];
	} else {
		e = m->d[m->head + m->n - 1];
	}
	m->n--;
	return e;
}

struct consumer {
	enum ckind kind;
	bool left; /* the end it pops from */
	int count;
	bool served;
	struct strs want;
};

/* serves waiters in blocking order while the list holds something (Redis's
 * handleClientsBlockedOnKeys for one key) */
static void m_serve(struct model *m, struct consumer *c, int nc)
{
	for (int i = 0; i < nc && m->n > 0; i++) {
		if (c[i].served)
			continue;
		for (int k = 0; k < c[i].count && m->n > 0; k++) {
			const char *e = m_pop(m, c[i].left);

			strs_add(&c[i].want, e, strlen(e));
		}
		c[i].served = true;
	}
}

/* ---- helpers */

static redisReply *cmd(int lane, redisContext *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		fail(lane, "connection lost: %s", c->errstr);
	return r;
}

static long long client_id(int lane, redisContext *c)
{
	redisReply *r = cmd(lane, c, "CLIENT ID");
	long long id = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;

	if (r)
		freeReplyObject(r);
	return id;
}

static bool flush_out(redisContext *c)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return false;
	return true;
}

/* waits (bounded) until connection id shows as blocked */
static bool wait_blocked(struct lane *l, long long id)
{
	long long until = kvsd_now_ms() + BLK_WAIT;

	while (kvsd_now_ms() < until && !atomic_load(&failed)) {
		redisReply *r = cmd(l->idx, l->ctl, "CLIENT LIST ID %lld", id);
		bool b = r && r->type == REDIS_REPLY_STRING && strstr(r->str, " flags=b ");

		if (r)
			freeReplyObject(r);
		if (b)
			return true;
		usleep(200);
	}
	return false;
}

/* ---- the racer */

static void racer_note_str(struct lane *l, const redisReply *e, bool popped)
{
	if (e->type == REDIS_REPLY_STRING)
		strs_add(popped ? &l->popped : &l->seen, e->str, e->len);
	else if (e->type != REDIS_REPLY_NIL)
		fail(l->idx, "racer: unexpected reply type %d", e->type);
}

static void racer_op(struct lane *l, unsigned *seed)
{
	int op = (int)(rand_r(seed) % 12);
	redisReply *r = NULL;
	const char *k = l->key;

	switch (op) {
	case 0:
		r = cmd(l->idx, l->rc, "LPOP %s", k);
		if (r)
			racer_note_str(l, r, true);
		break;
	case 1:
		r = cmd(l->idx, l->rc, "RPOP %s", k);
		if (r)
			racer_note_str(l, r, true);
		break;
	case 2:
		r = cmd(l->idx, l->rc, "LMPOP 1 %s LEFT COUNT 2", k);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[1]->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i < r->element[1]->elements; i++)
				racer_note_str(l, r->element[1]->element[i], true);
		else if (r && r->type != REDIS_REPLY_NIL)
			fail(l->idx, "racer: LMPOP reply");
		break;
	case 3:
		r = cmd(l->idx, l->rc, "RPOPLPUSH %s %s:racer", k, k);
		if (r)
			racer_note_str(l, r, true);
		break;
	case 4:
		r = cmd(l->idx, l->rc, "LMOVE %s %s:racer LEFT RIGHT", k, k);
		if (r)
			racer_note_str(l, r, true);
		break;
	case 5:
		redisAppendCommand(l->rc, "MULTI");
		redisAppendCommand(l->rc, "LPOP %s", k);
		redisAppendCommand(l->rc, "EXEC");
		for (int i = 0; i < 3; i++) {
			if (redisGetReply(l->rc, (void **)&r) != REDIS_OK) {
				fail(l->idx, "racer: connection lost");
				return;
			}
			if (i == 2 && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
				racer_note_str(l, r->element[0], true);
			else if (i == 2)
				fail(l->idx, "racer: EXEC reply");
			freeReplyObject(r);
		}
		r = NULL;
		break;
	case 6:
	case 7:
		r = cmd(l->idx, l->rc, "LLEN %s", k);
		if (r && r->type == REDIS_REPLY_INTEGER && r->integer > l->max_len)
			l->max_len = (long)r->integer;
		break;
	case 8:
	case 9:
		r = cmd(l->idx, l->rc, "LRANGE %s 0 -1", k);
		if (r && r->type == REDIS_REPLY_ARRAY) {
			if ((long)r->elements > l->max_len)
				l->max_len = (long)r->elements;
			for (size_t i = 0; i < r->elements; i++)
				racer_note_str(l, r->element[i], false);
		}
		break;
	case 10:
		r = cmd(l->idx, l->rc, "EXISTS %s", k);
		if (r && r->type == REDIS_REPLY_INTEGER && r->integer > l->max_len)
			l->max_len = (long)r->integer;
		break;
	default:
		r = cmd(l->idx, l->rc, "TYPE %s", k);
		if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "none") != 0 &&
		    l->max_len < 1)
			l->max_len = 1;
		break;
	}
	if (r)
		freeReplyObject(r);
	atomic_fetch_add(&racer_ops_n, 1);
}

static void *racer_main(void *arg)
{
	struct lane *l = arg;
	unsigned seed = 7000u + (unsigned)l->idx;
	int last = 0;

	while (!atomic_load(&l->quit) && !atomic_load(&failed)) {
		int go = atomic_load(&l->go);

		if (go == last) {
			usleep(50);
			continue;
		}
		l->popped.n = l->seen.n = 0;
		l->max_len = 0;
		while (atomic_load(&l->stop) != go && !atomic_load(&failed))
			racer_op(l, &seed);
		/* one more op after the lane is done: it must see the final state too */
		racer_op(l, &seed);
		last = go;
		atomic_store(&l->done, go);
	}
	return NULL;
}

/* ---- one round */

static void send_consumer(struct lane *l, int i, struct consumer *c)
{
	redisContext *x = l->cons[i];
	const char *k = l->key;

	switch (c->kind) {
	case C_BLPOP:
		redisAppendCommand(x, "BLPOP %s 10", k);
		break;
	case C_BRPOP:
		redisAppendCommand(x, "BRPOP %s 10", k);
		break;
	case C_BLPOP2:
		/* fifo:side has a waiter for the whole run: this one's guard
		 * spans two shards with queues */
		if (i % 2)
			redisAppendCommand(x, "BLPOP fifo:side %s 10", k);
		else
			redisAppendCommand(x, "BLPOP %s fifo:side 10", k);
		break;
	case C_BLMPOP:
		redisAppendCommand(x, "BLMPOP 10 1 %s %s COUNT %d", k, c->left ? "LEFT" : "RIGHT",
				   c->count);
		break;
	case C_BLMOVE:
		redisAppendCommand(x, "BLMOVE %s %s:dst%d RIGHT LEFT 10", k, k, i);
		break;
	default:
		redisAppendCommand(x, "BRPOPLPUSH %s %s:dst%d 10", k, k, i);
		break;
	}
}

/* checks consumer i's reply against the model */
static void check_consumer(struct lane *l, int i, struct consumer *c)
{
	redisReply *r = NULL;
	struct strs got = {.n = 0};

	if (redisGetReply(l->cons[i], (void **)&r) != REDIS_OK || !r) {
		fail(l->idx, "consumer %d: connection lost", i);
		return;
	}
	if (c->kind == C_BLMOVE || c->kind == C_BRPOPLPUSH) {
		if (r->type == REDIS_REPLY_STRING)
			strs_add(&got, r->str, r->len);
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		   r->element[0]->type == REDIS_REPLY_STRING &&
		   strcmp(r->element[0]->str, l->key) == 0) {
		if (c->kind == C_BLMPOP && r->element[1]->type == REDIS_REPLY_ARRAY)
			for (size_t j = 0; j < r->element[1]->elements; j++)
				strs_add(&got, r->element[1]->element[j]->str,
					 r->element[1]->element[j]->len);
		else if (r->element[1]->type == REDIS_REPLY_STRING)
			strs_add(&got, r->element[1]->str, r->element[1]->len);
	}
	if (got.n != c->want.n || got.n == 0) {
		fail(l->idx,
		     "consumer %d (kind %d, blocked #%d) got %d element(s) (first %s), "
		     "Redis's order gives %d (first %s)",
		     i, c->kind, i + 1, got.n, got.n ? got.v[0] : "-", c->want.n,
		     c->want.n ? c->want.v[0] : "-");
	} else {
		for (int j = 0; j < got.n; j++)
			if (strcmp(got.v[j], c->want.v[j]) != 0)
				fail(l->idx,
				     "consumer %d (kind %d, blocked #%d) got %s, Redis's order "
				     "gives %s",
				     i, c->kind, i + 1, got.v[j], c->want.v[j]);
	}
	freeReplyObject(r);
}

static void round_run(struct lane *l, int round)
{
	struct consumer c[NCONS];
	int nc = 1 + (int)(rand_r(&l->seed) % NCONS), ncmd = 0, nel = 0;
	struct model m;
	struct strs pushed = {.n = 0}, surplus = {.n = 0};
	/* the producer's pipeline: per command, its expected reply (-1: a MULTI/EXEC pair) */
	long long want_len[32][2];
	int cmd_kind[32]; /* 1: a single push, 2: MULTI + 2 pushes + EXEC */
	redisReply *r;

	m_init(&m);
	snprintf(l->key, sizeof(l->key), "fifo%d", l->idx);
	memset(c, 0, sizeof(c));
	for (int i = 0; i < nc; i++) {
		c[i].kind = (enum ckind)(rand_r(&l->seed) % C_NKINDS);
		c[i].left = c[i].kind == C_BLPOP || c[i].kind == C_BLPOP2 ||
			    (c[i].kind == C_BLMPOP && rand_r(&l->seed) % 2);
		c[i].count = c[i].kind == C_BLMPOP ? 1 + (int)(rand_r(&l->seed) % 2) : 1;
	}
	/* 1. block them one by one */
	for (int i = 0; i < nc && !atomic_load(&failed); i++) {
		send_consumer(l, i, &c[i]);
		if (!flush_out(l->cons[i]))
			fail(l->idx, "consumer %d: send", i);
		else if (!wait_blocked(l, l->cons_id[i]))
			fail(l->idx, "consumer %d did not block within %d ms", i, BLK_WAIT);
	}
	if (atomic_load(&failed))
		return;
	/* 2. the producer's commands, from the model, until every consumer is served */
	atomic_store(&l->go, round);
	while (ncmd < 32 && !c[nc - 1].served && nel + 6 < MAXEL) {
		int pair = rand_r(&l->seed) % 5 == 0 ? 2 : 1;

		cmd_kind[ncmd] = pair;
		if (pair == 2)
			redisAppendCommand(l->prod, "MULTI");
		for (int p = 0; p < pair; p++) {
			bool left = rand_r(&l->seed) % 2;
			int n = 1 + (int)(rand_r(&l->seed) % 3);
			const char *argv[5];
			size_t argl[5];
			char el[3][EL_LEN];

			argv[0] = left ? "LPUSH" : "RPUSH";
			argv[1] = l->key;
			for (int e = 0; e < n; e++) {
				snprintf(el[e], EL_LEN, "e%d.%d.%d", l->idx, round, nel++);
				argv[2 + e] = el[e];
				m_push(&m, left, el[e]);
				strs_add(&pushed, el[e], strlen(el[e]));
			}
			for (int a = 0; a < 2 + n; a++)
				argl[a] = strlen(argv[a]);
			redisAppendCommandArgv(l->prod, 2 + n, argv, argl);
			want_len[ncmd][p] = m.n;
		}
		if (pair == 2)
			redisAppendCommand(l->prod, "EXEC");
		m_serve(&m, c, nc); /* after the command, or after EXEC */
		ncmd++;
	}
	for (int i = 0; i < m.n; i++)
		strs_add(&surplus, m.d[m.head + i], strlen(m.d[m.head + i]));
	if (!c[nc - 1].served) {
		fail(l->idx, "generator: consumers left unserved");
		return;
	}
	if (!flush_out(l->prod)) {
		fail(l->idx, "producer: send");
		return;
	}
	for (int i = 0; i < ncmd && !atomic_load(&failed); i++) {
		int nrep = cmd_kind[i] == 2 ? 4 : 1;

		for (int j = 0; j < nrep; j++) {
			if (redisGetReply(l->prod, (void **)&r) != REDIS_OK || !r) {
				fail(l->idx, "producer: connection lost");
				return;
			}
			if (cmd_kind[i] == 1 &&
			    (r->type != REDIS_REPLY_INTEGER || r->integer != want_len[i][0]))
				fail(l->idx, "push #%d: reply %lld, Redis's gives %lld", i,
				     r->type == REDIS_REPLY_INTEGER ? r->integer : -1,
				     want_len[i][0]);
			if (cmd_kind[i] == 2 && j == 3 &&
			    (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			     r->element[0]->integer != want_len[i][0] ||
			     r->element[1]->integer != want_len[i][1]))
				fail(l->idx, "push #%d (MULTI/EXEC): not [%lld, %lld]", i,
				     want_len[i][0], want_len[i][1]);
			freeReplyObject(r);
		}
	}
	/* 3. every consumer, in blocking order */
	for (int i = 0; i < nc && !atomic_load(&failed); i++)
		check_consumer(l, i, &c[i]);
	atomic_store(&l->stop, round);
	while (atomic_load(&l->done) != round && !atomic_load(&failed))
		usleep(50);
	if (atomic_load(&failed))
		return;
	/* 4. the racer took and saw only the surplus; nothing lost or duplicated */
	if (l->max_len > surplus.n)
		fail(l->idx, "racer saw %ld element(s) in the key, the surplus is %d", l->max_len,
		     surplus.n);
	for (int i = 0; i < l->seen.n; i++) {
		bool in = false;

		for (int j = 0; j < surplus.n && !in; j++)
			in = strcmp(l->seen.v[i], surplus.v[j]) == 0;
		if (!in)
			fail(l->idx, "racer's LRANGE saw %s, not surplus (a waiter's)",
			     l->seen.v[i]);
	}
	{
		struct strs left = surplus;

		for (int i = 0; i < l->popped.n; i++)
			if (!strs_take(&left, l->popped.v[i]))
				fail(l->idx,
				     "racer popped %s, which Redis gives a waiter (or twice)",
				     l->popped.v[i]);
		r = cmd(l->idx, l->ctl, "LRANGE %s 0 -1", l->key);
		if (r && r->type == REDIS_REPLY_ARRAY) {
			for (size_t i = 0; i < r->elements; i++)
				if (!strs_take(&left, r->element[i]->str))
					fail(l->idx, "the key holds %s: not surplus, or twice",
					     r->element[i]->str);
		} else {
			fail(l->idx, "final LRANGE");
		}
		if (r)
			freeReplyObject(r);
		if (left.n)
			fail(l->idx, "%d element(s) lost, e.g. %s", left.n, left.v[0]);
	}
	r = cmd(l->idx, l->ctl, "DEL %s %s:racer", l->key, l->key);
	if (r)
		freeReplyObject(r);
	atomic_fetch_add(&rounds_n, 1);
	atomic_fetch_add(&elements_n, pushed.n);
	atomic_fetch_add(&surplus_n, surplus.n);
}

struct lane_arg {
	struct lane l;
	long long deadline;
};

static void *lane_main(void *arg)
{
	struct lane_arg *a = arg;
	int round = 0;

	while (kvsd_now_ms() < a->deadline && !atomic_load(&failed))
		round_run(&a->l, ++round);
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	static struct lane_arg lanes[LANES];
	pthread_t th[LANES];
	redisContext *side;
	long long side_id;
	int rc, bad = 0;

	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
	/* kvsd: four workers, so the connections are spread over them (a redis-server,
	 * $KVSD_BIN, the reference, takes no --threads) */
	rc = kvsd_start(&srv, getenv("KVSD_BIN") && strstr(getenv("KVSD_BIN"), "redis-server")
				  ? NULL
				  : (const char *const[]){"--threads", "4", NULL});
	if (rc != 0) {
		fprintf(stderr, "stress_fifo: cannot start the server (%d)\n", rc);
		return 1;
	}
	for (int i = 0; i < LANES && !bad; i++) {
		struct lane *l = &lanes[i].l;

		l->idx = i;
		l->seed = 100u + (unsigned)i;
		lanes[i].deadline = kvsd_now_ms() + (long long)(seconds * 1000);
		l->ctl = kvsd_connect(&srv);
		l->prod = kvsd_connect(&srv);
		l->rc = kvsd_connect(&srv);
		bad |= !l->ctl || !l->prod || !l->rc;
		for (int j = 0; j < NCONS && !bad; j++) {
			l->cons[j] = kvsd_connect(&srv);
			bad |= !l->cons[j];
			if (!bad)
				l->cons_id[j] = client_id(i, l->cons[j]);
		}
	}
	if (bad) {
		fprintf(stderr, "stress_fifo: cannot connect\n");
		kvsd_kill(&srv);
		return 1;
	}
	/* the waiter on fifo:side, for the whole run (dropped at the end) */
	side = kvsd_connect(&srv);
	side_id = side ? client_id(0, side) : 0;
	if (!side || redisAppendCommand(side, "BLPOP fifo:side 0") != REDIS_OK ||
	    !flush_out(side) || !wait_blocked(&lanes[0].l, side_id)) {
		fprintf(stderr, "stress_fifo: the fifo:side waiter did not block\n");
		kvsd_kill(&srv);
		return 1;
	}
	for (int i = 0; i < LANES; i++) {
		pthread_create(&lanes[i].l.racer, NULL, racer_main, &lanes[i].l);
		pthread_create(&th[i], NULL, lane_main, &lanes[i]);
	}
	for (int i = 0; i < LANES; i++) {
		pthread_join(th[i], NULL);
		atomic_store(&lanes[i].l.quit, 1);
		pthread_join(lanes[i].l.racer, NULL);
	}
	for (int i = 0; i < LANES; i++) {
		struct lane *l = &lanes[i].l;

		redisFree(l->ctl);
		redisFree(l->prod);
		redisFree(l->rc);
		for (int j = 0; j < NCONS; j++)
			redisFree(l->cons[j]);
	}
	redisFree(side);
	rc = kvsd_stop(&srv, 20000);
	printf("stress_fifo: %lld rounds, %lld elements (%lld surplus), %lld racing ops: %s\n",
	       atomic_load(&rounds_n), atomic_load(&elements_n), atomic_load(&surplus_n),
	       atomic_load(&racer_ops_n), atomic_load(&failed) ? "FAIL" : "ok");
	if (rc != 0 && !srv.is_redis) {
		fprintf(stderr, "stress_fifo: the server exited with %d\n", rc);
		return 1;
	}
	return atomic_load(&failed) || atomic_load(&rounds_n) == 0 ? 1 : 0;
}
