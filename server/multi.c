/*
 * multi.c — transactions (multi.h): the per-connection queue and watch
 * list, the dispatch hook that queues commands, EXEC's optimistic run with
 * re-runs, and multi_atomic() for multi-key commands.
 *
 * EXEC: the array header goes out first; each attempt runs the queued
 * handlers against the connection's transactional view (storage/db.h:
 * db_txn_begin), then commits. Attempts are optimistic until a few failed,
 * then one runs exclusively and cannot fail; a queue holding a command with
 * effects outside the map (map_only) runs exclusively at once, so that
 * command runs exactly once. A failed commit truncates
 * the reply buffer back to the header (pending bytes are measured from the
 * read cursor, which buffer compaction preserves) and runs the queue again;
 * a watch failure replaces the header by a null array. An attempt runs
 * inside the worker's epoch section (one dispatch call), so the entries it
 * recorded stay valid until it commits. MONITOR is shown the queued
 * commands once, after the commit (re-runs would otherwise repeat them);
 * dispatch then shows EXEC, Redis's order.
 */
#include "server/multi.h"
#include "server/aof.h"
#include "concurrency/wctx.h"
#include "server/persist_srv.h"
#include "concurrency/clock.h"
#include "server/cmdstat.h"
#include "server/notify.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/session.h"
#include "storage/db.h"

struct multi_cmd {
	const struct cmd_def *d;
	size_t idx;    /* commandstats index */
	uint64_t usec; /* its last run, for commandstats */
	bool failed;   /* its last reply was an error */
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
	/* WATCH's duplicate check: open addressing over w[], 2 * capw slots of
	 * index + 1 (0 = empty), keyed by the key's hash */
	uint32_t *widx;
	/* the connection's transactional view, created on first use (EXEC or
	 * a multi-key command); reused by every later attempt */
	struct db_txn *txn;
};

static struct multi_state *state(struct conn *c)
{
	if (!session_of(c)->multi)
		session_of(c)->multi = mem_calloc(1, sizeof(struct multi_state));
	return session_of(c)->multi;
}

int multi_queued(const struct conn *c)
{
	const struct multi_state *st = session_of(c)->multi;

	return st && st->active ? (int)st->n : -1;
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
	if (st->nw)
		memset(st->widx, 0, 2 * st->capw * sizeof(*st->widx));
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
	mem_free(st->widx);
	db_txn_destroy(&st->txn);
	mem_free(st);
	session_of(c)->multi = NULL;
}

void multi_discard(struct conn *c)
{
	struct multi_state *st = session_of(c)->multi;

	if (st) {
		discard_queue(st);
		unwatch(st);
	}
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

static struct db_txn *txn_of(struct cmd_req *r)
{
	struct multi_state *st = state(r->c);

	if (!st->txn)
		st->txn = db_txn_create(r->db);
	return st->txn;
}

/*
 * Whether a queued command acts only on the keyspace: it names keys, or it
 * is one of Redis's @keyspace commands without keys (FLUSHALL, DBSIZE, KEYS,
 * SCAN, RANDOMKEY). Such a command can run again in a new attempt without
 * anyone noticing. Any other (CONFIG SET, CLIENT KILL, SLOWLOG RESET, ...)
 * may have effects outside the map, so a transaction holding one runs
 * exactly once: exclusively from its first attempt. (Harmless ones such as
 * PING are treated the same.) The data types' commands whose keys follow a
 * numkeys argument (SINTERCARD, ZUNION, ZMPOP, ...) have no legacy key
 * range (first_key 0, as in Redis) but act only on the map all the same.
 */
bool multi_map_only(const struct cmd_def *d)
{
	static const char *const data_groups[] = {"string", "hash",   "set",	    "sorted-set",
						  "list",   "bitmap", "hyperloglog"};

	if (d->first_key > 0 || (d->acl && strstr(d->acl, "keyspace")))
		return true;
	for (size_t i = 0; d->group && i < sizeof(data_groups) / sizeof(data_groups[0]); i++)
		if (strcmp(d->group, data_groups[i]) == 0)
			return true;
	return false;
}

static void queue(struct multi_state *st, const struct cmd_def *d, size_t idx, int argc,
		  const char **argv, const size_t *argl)
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
	m->idx = idx;
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

int multi_intercept(struct conn *c, const struct cmd_def *d, size_t idx, int argc,
		    const char **argv, const size_t *argl)
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
	queue(st, d, idx, argc, argv, argl);
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

	if (st->active) {
		reply_error(r->c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (int i = 1; i < r->argc; i++) {
		uint64_t h = db_key_hash(r->view, r->argv[i], r->argl[i]);
		size_t mask = 2 * st->capw - 1, at;

		if (st->nw == st->capw) {
			st->capw = st->capw ? 2 * st->capw : 8;
			st->w = mem_realloc(st->w, st->capw * sizeof(*st->w));
			st->wx = mem_realloc(st->wx, st->capw * sizeof(*st->wx));
			mem_free(st->widx);
			st->widx = mem_calloc(2 * st->capw, sizeof(*st->widx));
			mask = 2 * st->capw - 1;
			for (size_t j = 0; j < st->nw; j++) {
				for (at = st->w[j].hash & mask; st->widx[at]; at = (at + 1) & mask)
					;
				st->widx[at] = (uint32_t)(j + 1);
			}
		}
		for (at = h & mask; st->widx[at]; at = (at + 1) & mask) {
			const struct kvtxn_watch *x = &st->w[st->widx[at] - 1];
			if (x->hash == h && x->klen == r->argl[i] &&
			    memcmp(x->key, r->argv[i], r->argl[i]) == 0)
				break;
		}
		if (st->widx[at])
			continue; /* watched already */
		char *key = mem_alloc(r->argl[i] ? r->argl[i] : 1);
		memcpy(key, r->argv[i], r->argl[i]);
		db_watch(r->view, key, r->argl[i], r->now_ms, &st->w[st->nw]);
		st->wx[st->nw].expire_ms =
		    st->w[st->nw].ptr ? kv_entry_expire(st->w[st->nw].ptr) : 0;
		st->widx[at] = (uint32_t)(++st->nw);
	}
	reply_ok(r->c);
}

static void unwatch_cmd(struct cmd_req *r)
{
	if (session_of(r->c)->multi)
		unwatch(session_of(r->c)->multi);
	reply_ok(r->c);
}

static struct cmd_req queued_req(const struct cmd_req *r, const struct db_view *v,
				 const struct multi_cmd *q)
{
	struct cmd_req sub = *r;

	sub.view = v;
	sub.argc = q->argc;
	sub.argv = q->argv;
	sub.argl = q->argl;
	sub.redact = q->redact;
	sub.redact_rest = q->redact_rest;
	sub.in_exec = true;
	return sub;
}

/* Runs a queued command in view v. A command with effects outside the map
 * is counted in commandstats at once (it runs exactly once); a map-only one
 * when its attempt commits (count_committed), since it may run again. */
static void run_queued(struct cmd_req *r, const struct db_view *v, struct multi_cmd *q)
{
	struct cmd_req sub = queued_req(r, v, q);
	int64_t start = clock_mono_us();
	size_t before = conn_reply_mark(r->c);

	sub.redact = 0;
	sub.redact_rest = false;
	conn_set_last_cmd(r->c, q->d->name);
	uint64_t writes0 = r->ctx->db_writes;
	ntf_call(&sub, q->d);
	aof_after_cmd(&sub, q->d, before, writes0);
	q->redact = sub.redact;
	q->redact_rest = sub.redact_rest;
	int64_t end = clock_mono_us();
	q->usec = end > start ? (uint64_t)(end - start) : 0;
	q->failed = cmd_reply_failed(r->c, before);
	if (!multi_map_only(q->d)) {
		cmdstat_call(r->ctx, q->idx, q->usec, q->failed);
		if ((q->d->flags & CMD_WRITE) && !q->failed)
			psrv_dirty(r->ctx);
	}
}

/* Commandstats of the map-only commands q[from, to) of a committed attempt. */
static void count_committed(struct wctx *w, const struct multi_cmd *q, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (multi_map_only(q[i].d)) {
			cmdstat_call(w, q[i].idx, q[i].usec, q[i].failed);
			if ((q[i].d->flags & CMD_WRITE) && !q[i].failed)
				psrv_dirty(w); /* rdb_changes_since_last_save */
		}
}

void multi_each_queued(struct conn *c,
		       void (*fn)(void *arg, const struct cmd_def *d, int argc,
				  const char *const *argv, const size_t *argl),
		       void *arg)
{
	struct multi_state *st = session_of(c)->multi;

	if (st == NULL || !st->active || st->failed)
		return;
	for (size_t i = 0; i < st->n; i++)
		fn(arg, st->q[i].d, st->q[i].argc, st->q[i].argv, st->q[i].argl);
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
	bool once = false;
	int start_db;
	size_t prop_len = 0, prop_n = 0;
	size_t ntf_at = ntf_mark(r->ctx); /* keyspace events of the committed part */

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
	txn_of(r);
	start_db = conn_db(c);
	for (size_t i = 0; i < st->n && !once; i++)
		once = !multi_map_only(st->q[i].d);
	w = st->w;
	nw = st->nw;
	head = conn_reply_mark(c);
	reply_array(c, (long long)st->n);
	mark = conn_reply_mark(c);
	for (;;) {
		int rc;

		/* the AOF record: what the committed part logged, no more */
		if (r->prop)
			aof_prop_reset(r->prop, prop_len, prop_n);
		ntf_reset(r->ctx, ntf_at);

		/* every attempt starts in the database EXEC was called in; a
		 * queued SELECT moves the rest of the attempt (and the client) */
		conn_set_db(c, start_db);
		db_txn_select(st->txn, start_db);
		/* exclusive from the start when a command must run exactly once;
		 * else after a few conflicts (storage/db.h), so this loop ends */
		const struct db_view *v = db_txn_begin(st->txn, w, nw, once);

		for (size_t i = from; i < st->n; i++) {
			run_queued(r, v, &st->q[i]);
			if (conn_db(c) != db_view_index(v))
				db_txn_select(st->txn, conn_db(c));
			int p = db_txn_poll(st->txn);
			if (p > 0) { /* a flush committed everything so far */
				count_committed(r->ctx, st->q, from, i + 1);
				from = i + 1;
				if (r->prop) {
					prop_len = r->prop->len;
					prop_n = r->prop->n;
				}
				ntf_at = ntf_mark(r->ctx);
				mark = conn_reply_mark(c);
				w = NULL;
				nw = 0;
			} else if (p < 0) {
				break;
			}
		}
		rc = db_txn_commit(st->txn);
		if (rc == 0) {
			count_committed(r->ctx, st->q, from, st->n);
			for (size_t i = 0; i < st->n; i++) {
				struct cmd_req sub = queued_req(r, r->view, &st->q[i]);

				cmd_feed_monitors(&sub, st->q[i].d);
			}
			break;
		}
		if (rc == -ESTALE) {
			if (r->prop)
				aof_prop_reset(r->prop, prop_len, prop_n);
			ntf_reset(r->ctx, ntf_at);
			conn_set_db(c, start_db);
			conn_reply_truncate(c, head);
			reply_null_array(c);
			break;
		}
		conn_reply_truncate(c, mark);
	}
	conn_set_last_cmd(c, "exec");
	discard_queue(st);
	unwatch(st);
}

void multi_atomic(struct cmd_req *r, cmd_proc fn)
{
	struct cmd_req sub = *r;
	struct db_txn *t;
	size_t mark;

	if (db_in_txn(r->view)) { /* queued in MULTI: EXEC's transaction */
		fn(r);
		return;
	}
	t = txn_of(r);
	mark = conn_reply_mark(r->c);
	for (;;) {
		/* optimistic, then exclusive after a few conflicts (storage/db.h):
		 * at most DB_TXN_OPTIMISTIC + 1 attempts */
		db_txn_select(t, db_view_index(r->view));
		sub.view = db_txn_begin(t, NULL, 0, false);
		fn(&sub);
		if (db_txn_commit(t) == 0)
			return;
		conn_reply_truncate(r->c, mark);
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
