/*
 * multi.c — transactions (multi.h): the per-connection queue and watch
 * list, the dispatch hook that queues commands, EXEC's optimistic run with
 * re-runs, and multi_atomic() for multi-key commands.
 *
 * EXEC: the array header goes out first; each attempt runs the queued
 * handlers inside a kvtxn overlay, then commits. A failed commit truncates
 * the reply buffer back to the header (pending bytes are measured from the
 * read cursor, which buffer compaction preserves) and runs the queue again;
 * a watch failure replaces the header by a null array. An attempt runs
 * inside the worker's epoch section (one dispatch call), so the entries it
 * recorded stay valid until it commits. MONITOR is shown the queued
 * commands once, after the commit (re-runs would otherwise repeat them);
 * dispatch then shows EXEC, Redis's order.
 */
#include "server/multi.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/session.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/txn.h"

struct multi_cmd {
	const struct cmd_def *d;
	int argc;
	const char **argv; /* argv, argl and the bytes: one allocation */
	size_t *argl;
	uint64_t redact; /* what its last run redacted (cmd_req.redact) */
	bool redact_rest;
};

struct multi_watch {
	int64_t expire_ms; /* of the entry when watched (0: none or absent) */
};

struct multi_state {
	bool active; /* between MULTI and EXEC/DISCARD */
	bool failed; /* a command was rejected while queueing: EXECABORT */
	struct multi_cmd *q;
	size_t n, cap;
	struct kvtxn_watch *w; /* keys are owned copies */
	struct multi_watch *wx;
	size_t nw, capw;
	struct kvtxn *txn; /* created on first EXEC */
};

/* Per-thread transaction for multi_atomic() (its map is the server's only db). */
static _Thread_local struct kvtxn *atomic_txn;

static struct multi_state *state(struct conn *c)
{
	if (!session_of(c)->multi)
		session_of(c)->multi = mem_calloc(1, sizeof(struct multi_state));
	return session_of(c)->multi;
}

static void discard_queue(struct multi_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		mem_free(st->q[i].argv);
	st->n = 0;
	st->active = false;
	st->failed = false;
}

static void unwatch(struct multi_state *st)
{
	for (size_t i = 0; i < st->nw; i++)
		mem_free((void *)st->w[i].key);
	st->nw = 0;
}

void multi_conn_close(struct conn *c)
{
	struct multi_state *st = session_of(c)->multi;

	if (!st)
		return;
	discard_queue(st);
	unwatch(st);
	mem_free(st->q);
	mem_free(st->w);
	mem_free(st->wx);
	kvtxn_destroy(&st->txn);
	mem_free(st);
	session_of(c)->multi = NULL;
}

void multi_flag_error(struct conn *c)
{
	struct multi_state *st = session_of(c)->multi;

	if (st && st->active)
		st->failed = true;
}

static void multi_cmd(struct cmd_req *r);
static void exec_cmd(struct cmd_req *r);
static void discard_cmd(struct cmd_req *r);
static void watch_cmd(struct cmd_req *r);

static void queue(struct multi_state *st, const struct cmd_def *d, int argc, const char **argv,
		  const size_t *argl)
{
	size_t bytes = 0;
	char *p;

	for (int i = 0; i < argc; i++)
		bytes += argl[i] + 1;
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 8;
		st->q = mem_realloc(st->q, st->cap * sizeof(*st->q));
	}
	struct multi_cmd *m = &st->q[st->n++];
	m->d = d;
	m->argc = argc;
	m->redact = 0;
	m->redact_rest = false;
	m->argv = mem_alloc((size_t)argc * (sizeof(char *) + sizeof(size_t)) + bytes);
	m->argl = (size_t *)(void *)(m->argv + argc);
	p = (char *)(m->argl + argc);
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i], argl[i]);
		p[argl[i]] = '\0';
		m->argv[i] = p;
		m->argl[i] = argl[i];
		p += argl[i] + 1;
	}
}

int multi_intercept(struct conn *c, const struct cmd_def *d, int argc, const char **argv,
		    const size_t *argl)
{
	struct multi_state *st = session_of(c)->multi;

	if (strcmp(d->name, "reset") == 0) { /* RESET discards and unwatches, then runs */
		discard_queue(st);
		unwatch(st);
		return 0;
	}
	if (!st->active || d->proc == exec_cmd || d->proc == discard_cmd || d->proc == multi_cmd ||
	    d->proc == watch_cmd || strcmp(d->name, "quit") == 0)
		return 0;
	if (d->flags & CMD_NO_MULTI) {
		reply_error(c, "ERR Command not allowed inside a transaction");
		st->failed = true;
		return 1;
	}
	queue(st, d, argc, argv, argl);
	reply_simple(c, "QUEUED");
	return 1;
}

static void multi_cmd(struct cmd_req *r)
{
	struct multi_state *st = state(r->c);

	if (st->active) {
		reply_error(r->c, "ERR MULTI calls can not be nested");
		return;
	}
	st->active = true;
	st->failed = false;
	reply_ok(r->c);
}

static void discard_cmd(struct cmd_req *r)
{
	struct multi_state *st = session_of(r->c)->multi;

	if (!st || !st->active) {
		reply_error(r->c, "ERR DISCARD without MULTI");
		return;
	}
	discard_queue(st);
	unwatch(st);
	reply_ok(r->c);
}

static void watch_cmd(struct cmd_req *r)
{
	struct multi_state *st = state(r->c);
	struct kvmap *m = db_map(r->db);

	if (st->active) {
		reply_error(r->c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (int i = 1; i < r->argc; i++) {
		uint64_t h = kvmap_hash(r->argv[i], r->argl[i]);
		bool dup = false;

		for (size_t j = 0; j < st->nw && !dup; j++)
			dup = st->w[j].hash == h && st->w[j].klen == r->argl[i] &&
			      memcmp(st->w[j].key, r->argv[i], r->argl[i]) == 0;
		if (dup)
			continue;
		if (st->nw == st->capw) {
			st->capw = st->capw ? 2 * st->capw : 8;
			st->w = mem_realloc(st->w, st->capw * sizeof(*st->w));
			st->wx = mem_realloc(st->wx, st->capw * sizeof(*st->wx));
		}
		/* the entry first (lazy expiry removes a dead one), then the
		 * stripe: kvmap.h's order for an ABA-safe watch */
		const struct kv_entry *e =
		    db_lookup(r->db, r->argv[i], r->argl[i], r->now_ms, NULL, 0);
		char *key = mem_alloc(r->argl[i] ? r->argl[i] : 1);
		memcpy(key, r->argv[i], r->argl[i]);
		st->w[st->nw] = (struct kvtxn_watch){.key = key,
						     .klen = r->argl[i],
						     .hash = h,
						     .ptr = e,
						     .stripe = kvmap_stripe(m, h)};
		st->wx[st->nw].expire_ms = e ? e->expire_ms : 0;
		st->nw++;
	}
	reply_ok(r->c);
}

static void unwatch_cmd(struct cmd_req *r)
{
	if (session_of(r->c)->multi)
		unwatch(session_of(r->c)->multi);
	reply_ok(r->c);
}

static struct cmd_req queued_req(const struct cmd_req *r, const struct multi_cmd *q)
{
	struct cmd_req sub = *r;

	sub.argc = q->argc;
	sub.argv = q->argv;
	sub.argl = q->argl;
	sub.redact = q->redact;
	sub.redact_rest = q->redact_rest;
	sub.in_exec = true;
	return sub;
}

static void run_queued(struct cmd_req *r, struct multi_cmd *q)
{
	struct cmd_req sub = queued_req(r, q);

	sub.redact = 0;
	sub.redact_rest = false;
	conn_set_last_cmd(r->c, q->d->name);
	q->d->proc(&sub);
	q->redact = sub.redact;
	q->redact_rest = sub.redact_rest;
}

bool multi_is_exec(const struct cmd_def *d)
{
	return d->proc == exec_cmd;
}

void multi_exec_abort(struct conn *c, const char *why)
{
	struct multi_state *st = session_of(c)->multi;

	if (st) {
		discard_queue(st);
		unwatch(st);
	}
	reply_errorf(c, "EXECABORT Transaction discarded because of: %s", why);
}

static void exec_cmd(struct cmd_req *r)
{
	struct conn *c = r->c;
	struct multi_state *st = session_of(c)->multi;
	size_t head, mark, from = 0;
	const struct kvtxn_watch *w;
	size_t nw;
	unsigned attempts = 0;

	if (!st || !st->active) {
		reply_error(c, "ERR EXEC without MULTI");
		return;
	}
	if (st->failed) {
		discard_queue(st);
		unwatch(st);
		reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
		return;
	}
	for (size_t i = 0; i < st->nw; i++) {
		/* a watched key that expired since counts as touched (Redis 7.0) */
		if (st->wx[i].expire_ms && st->wx[i].expire_ms <= r->now_ms) {
			discard_queue(st);
			unwatch(st);
			reply_null_array(c);
			return;
		}
	}
	if (!st->txn)
		st->txn = kvtxn_create(db_map(r->db));
	w = st->w;
	nw = st->nw;
	head = conn_reply_mark(c);
	reply_array(c, (long long)st->n);
	mark = conn_reply_mark(c);
	for (;;) {
		int rc;

		kvtxn_begin(st->txn, w, nw);
		for (size_t i = from; i < st->n; i++) {
			run_queued(r, &st->q[i]);
			int p = kvtxn_poll(st->txn);
			if (p > 0) { /* a flush committed everything so far */
				from = i + 1;
				mark = conn_reply_mark(c);
				w = NULL;
				nw = 0;
			} else if (p < 0) {
				break;
			}
		}
		rc = kvtxn_commit(st->txn);
		if (rc == 0) {
			for (size_t i = 0; i < st->n; i++) {
				struct cmd_req sub = queued_req(r, &st->q[i]);

				cmd_feed_monitors(&sub, st->q[i].d);
			}
			break;
		}
		if (rc == -ESTALE) {
			conn_reply_truncate(c, head);
			reply_null_array(c);
			break;
		}
		conn_reply_truncate(c, mark);
		if (++attempts > 16)
			sched_yield(); /* heavy contention: let the others finish */
	}
	conn_set_last_cmd(c, "exec");
	discard_queue(st);
	unwatch(st);
}

void multi_thread_stop(void)
{
	if (atomic_txn)
		kvtxn_destroy(&atomic_txn);
}

void multi_atomic(struct cmd_req *r, cmd_proc fn)
{
	size_t mark;
	unsigned attempts = 0;

	if (kvmap_in_txn()) {
		fn(r);
		return;
	}
	if (!atomic_txn)
		atomic_txn = kvtxn_create(db_map(r->db));
	mark = conn_reply_mark(r->c);
	for (;;) {
		kvtxn_begin(atomic_txn, NULL, 0);
		fn(r);
		if (kvtxn_commit(atomic_txn) == 0)
			return;
		conn_reply_truncate(r->c, mark);
		if (++attempts > 16)
			sched_yield();
	}
}

const struct cmd_def cmd_multi_table[] = {
    {"discard", discard_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY,
     0, 0, 0, "fast transaction", "transactions", "Discard all commands issued after MULTI",
     "2.0.0", "O(N), when N is the number of queued commands", NULL},
    {"exec", exec_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "slow transaction",
     "transactions", "Execute all commands issued after MULTI", "1.2.0",
     "Depends on commands in the transaction", NULL},
    {"multi", multi_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, 0,
     0, 0, "fast transaction", "transactions", "Mark the start of a transaction block", "1.2.0",
     "O(1)", NULL},
    {"unwatch", unwatch_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY,
     0, 0, 0, "fast transaction", "transactions", "Forget about all watched keys", "2.2.0", "O(1)",
     NULL},
    {"watch", watch_cmd, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, 1,
     -1, 1, "fast transaction", "transactions",
     "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0",
     "O(1) for every key.", NULL},
    {NULL},
};
