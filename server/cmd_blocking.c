/*
 * cmd_blocking.c — the blocking commands: BZPOPMIN BZPOPMAX BZMPOP (sorted
 * sets) and BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP (lists), with Redis 7.0.15's
 * argument checks, error texts and reply bytes (t_zset.c, t_list.c,
 * blocked.c).
 *
 * Each command first acts as its non-blocking form would on the first of its
 * keys that holds something (the same pop functions: zset_pop, tlist_*), and
 * answers at once. Otherwise, inside MULTI/EXEC it answers as on a timeout
 * (Redis's CLIENT_DENY_BLOCKING), else it blocks (server/blocking.h): its
 * waiter's serve callback pops for it when a key becomes ready, and its
 * reply callback formats the result on its own runner.
 */
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/blocking.h"
#include "server/aof.h"
#include "server/cmd.h"
#include "server/cmd_list.h"
#include "server/cmd_zset.h"
#include "server/multi.h"
#include "server/notify.h"
#include "server/strutil.h"
#include "server/tracking.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/tlist.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* a blocking command may not block here: inside EXEC (or any transaction) */
static bool may_not_block(const struct cmd_req *r)
{
	return r->in_exec || db_in_txn(r->view);
}

/* BZPOP*, BLPOP, BRPOP, BLMPOP found nothing: inside a transaction they
 * answer a null array at once (Redis's rule), else the connection blocks on
 * keys[0..n) with these callbacks. */
static void block_or_null(struct cmd_req *r, const int *keys, int n, blk_serve_fn serve,
			  blk_reply_fn reply, int where, long long count, int64_t deadline)
{
	struct blk_waiter *w;

	if (may_not_block(r)) {
		reply_null_array(r->c);
		return;
	}
	w = blk_waiter_prepare(r, keys, n);
	w->serve = serve;
	w->reply = reply;
	w->where = where;
	w->count = count;
	w->deadline_us = deadline;
	blk_block(r, w);
}

/* The timeout reply of every blocking command (Redis 7.0's
 * replyToBlockedClientTimedOut: a null array, BLMOVE included). */
static void reply_timeout(struct conn *c, struct blk_waiter *w)
{
	(void)w;
	reply_null_array(c);
}

/* The AOF record of a served pop (Redis's serveClientBlockedOn*): cmd key
 * [count] (count 0: none). */
static void log_pop(struct blk_waiter *w, int k, const char *cmd, long long count)
{
	char num[24];
	const char *argv[3] = {cmd, w->keys[k].p, num};
	size_t argl[3] = {strlen(cmd), w->keys[k].len, 0};

	argl[2] = (size_t)snprintf(num, sizeof(num), "%lld", count);
	w->res.aof_lsn = aof_log_served(w->db, count ? 3 : 2, argv, argl);
}

/* Keyspace notifications of a served pop (Redis's serveClientBlockedOn*):
 * the pop's event, then "del" when it emptied the key. */
static void served_events(struct blk_waiter *w, const struct db_view *v, int k, int cls,
			  const char *ev, int64_t now_ms)
{
	int flags = ntf_flags();

	/* client tracking: the served pop changed the key (signalModifiedKey) */
	if (kv_unlikely(trk_after_write()))
		ntf_track(wctx_self(), w->keys[k].p, w->keys[k].len);
	if (flags == 0)
		return;
	ntf_event(flags, cls, ev, w->db, w->keys[k].p, w->keys[k].len);
	if (!db_lookup_notouch(v, w->keys[k].p, w->keys[k].len, now_ms, NULL, 0))
		ntf_event(flags, NTF_GENERIC, "del", w->db, w->keys[k].p, w->keys[k].len);
}

/* ------------------------------------------------------------ sorted sets */

/* w->where: 1 = MAX; w->count: -1 for BZPOPMIN/BZPOPMAX (one element, flat
 * reply), else BZMPOP's count (nested reply) */
static enum blk_serve_rc zset_serve(struct blk_waiter *w, const struct db_view *v, int k,
				    int64_t now_ms)
{
	struct zset_popped p = {0};
	int rc = zset_pop(v, w->keys[k].p, w->keys[k].len, now_ms, w->where != 0,
			  w->count < 0 ? 1 : w->count, &p);

	if (rc < 0)
		return BLK_SKIP; /* another type now: not for a sorted-set waiter */
	if (rc == 0)
		return BLK_EMPTY;
	for (size_t i = 0; i < p.n; i++)
		blk_result_add(&w->res, p.items[i].m, p.items[i].mlen, p.items[i].score);
	log_pop(w, k, w->where ? "ZPOPMAX" : "ZPOPMIN", w->count < 0 ? 0 : (long long)p.n);
	zset_popped_free(&p);
	served_events(w, v, k, NTF_ZSET, w->where ? "zpopmax" : "zpopmin", now_ms);
	return BLK_SERVED;
}

static void zset_reply_items(struct conn *c, const char *key, size_t klen,
			     const struct blk_item *it, size_t n, bool nested)
{
	if (!nested) {
		reply_array(c, 3);
		reply_bulk(c, key, klen);
		reply_bulk(c, it[0].p, it[0].len);
		reply_double(c, it[0].score);
		return;
	}
	reply_array(c, 2);
	reply_bulk(c, key, klen);
	reply_array(c, (long long)n);
	for (size_t i = 0; i < n; i++) {
		reply_array(c, 2);
		reply_bulk(c, it[i].p, it[i].len);
		reply_double(c, it[i].score);
	}
}

static void zset_reply(struct conn *c, struct blk_waiter *w)
{
	const struct blk_key *k;

	if (atomic_load_explicit(&w->state, memory_order_relaxed) != BLK_DONE) {
		reply_timeout(c, w);
		return;
	}
	k = &w->keys[w->res.key];
	zset_reply_items(c, k->p, k->len, w->res.items, w->res.n, w->count >= 0);
}

/* blockingGenericZpopCommand: keys at argv[first .. first + n - 1] */
static void bzpop_generic(struct cmd_req *r, int first, int n, int timeout_i, bool max,
			  long long count)
{
	int64_t deadline;
	int keys[n > 0 ? n : 1];

	if (!blk_parse_timeout(r, timeout_i, &deadline))
		return;
	for (int j = 0; j < n; j++) {
		const char *key = r->argv[first + j];
		size_t klen = r->argl[first + j];
		struct zset_popped p = {0};
		int rc = zset_pop(r->view, key, klen, r->now_ms, max, count < 0 ? 1 : count, &p);

		keys[j] = first + j;
		if (rc < 0) {
			cmd_reply_wrongtype(r);
			return;
		}
		if (rc == 0)
			continue;
		{
			struct blk_item *it = mem_alloc(p.n * sizeof(*it));

			for (size_t i = 0; i < p.n; i++)
				it[i] = (struct blk_item){p.items[i].m, p.items[i].mlen,
							  p.items[i].score};
			zset_reply_items(r->c, key, klen, it, p.n, count >= 0);
			mem_free(it);
		}
		zset_popped_free(&p);
		return;
	}
	block_or_null(r, keys, n, zset_serve, zset_reply, max, count, deadline);
}

static void cmd_bzpopmin(struct cmd_req *r)
{
	bzpop_generic(r, 1, r->argc - 2, r->argc - 1, false, -1);
}

static void cmd_bzpopmax(struct cmd_req *r)
{
	bzpop_generic(r, 1, r->argc - 2, r->argc - 1, true, -1);
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
 * (zmpopGenericCommand with numkeys at argument 2) */
static void cmd_bzmpop(struct cmd_req *r)
{
	long long numkeys, count;
	int first;
	bool max;

	if (!zset_mpop_parse(r, 2, &first, &numkeys, &max, &count))
		return;
	bzpop_generic(r, first, (int)numkeys, 1, max, count);
}

/* ------------------------------------------------------------ lists */

/* w->where: the end to pop; w->count: -1 for BLPOP/BRPOP (one element,
 * [key, element]), else BLMPOP's count ([key, [elements]]) */
static enum blk_serve_rc list_serve(struct blk_waiter *w, const struct db_view *v, int k,
				    int64_t now_ms)
{
	struct tlist_popped p;
	int rc = tlist_pop(v, w->keys[k].p, w->keys[k].len, (enum tlist_end)w->where,
			   w->count < 0 ? 1 : w->count, now_ms, &p);

	if (rc < 0)
		return BLK_SKIP; /* another type now: not for a list waiter */
	if (rc == 0)
		return BLK_EMPTY;
	for (size_t i = 0; i < p.n; i++)
		blk_result_add(&w->res, p.elem[i], p.len[i], 0);
	log_pop(w, k, w->where == TLIST_HEAD ? "LPOP" : "RPOP", w->count < 0 ? 0 : (long long)p.n);
	tlist_popped_free(&p);
	served_events(w, v, k, NTF_LIST, w->where == TLIST_HEAD ? "lpop" : "rpop", now_ms);
	return BLK_SERVED;
}

static void list_reply_items(struct conn *c, const char *key, size_t klen,
			     const struct blk_item *it, size_t n, bool nested)
{
	reply_array(c, 2);
	reply_bulk(c, key, klen);
	if (!nested) {
		reply_bulk(c, it[0].p, it[0].len);
		return;
	}
	reply_array(c, (long long)n);
	for (size_t i = 0; i < n; i++)
		reply_bulk(c, it[i].p, it[i].len);
}

static void list_reply(struct conn *c, struct blk_waiter *w)
{
	const struct blk_key *k;

	if (atomic_load_explicit(&w->state, memory_order_relaxed) != BLK_DONE) {
		reply_timeout(c, w);
		return;
	}
	k = &w->keys[w->res.key];
	list_reply_items(c, k->p, k->len, w->res.items, w->res.n, w->count >= 0);
}

/* blockingPopGenericCommand: keys at argv[first .. first + n - 1] */
static void blpop_generic(struct cmd_req *r, int first, int n, int timeout_i, enum tlist_end end,
			  long long count)
{
	int64_t deadline;
	int keys[n > 0 ? n : 1];

	if (!blk_parse_timeout(r, timeout_i, &deadline))
		return;
	for (int j = 0; j < n; j++) {
		const char *key = r->argv[first + j];
		size_t klen = r->argl[first + j];
		struct tlist_popped p;
		int rc = tlist_pop(r->view, key, klen, end, count < 0 ? 1 : count, r->now_ms, &p);

		keys[j] = first + j;
		if (rc < 0) {
			cmd_reply_wrongtype(r);
			return;
		}
		if (rc == 0)
			continue;
		if (count < 0) {
			reply_array(r->c, 2);
			reply_bulk(r->c, key, klen);
			reply_bulk(r->c, p.elem[0], p.len[0]);
		} else {
			cmd_list_reply_mpop(r->c, key, klen, &p); /* as LMPOP */
		}
		tlist_popped_free(&p);
		return;
	}
	block_or_null(r, keys, n, list_serve, list_reply, end, count, deadline);
}

static void cmd_blpop(struct cmd_req *r)
{
	blpop_generic(r, 1, r->argc - 2, r->argc - 1, TLIST_HEAD, -1);
}

static void cmd_brpop(struct cmd_req *r)
{
	blpop_generic(r, 1, r->argc - 2, r->argc - 1, TLIST_TAIL, -1);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
 * (lmpopGenericCommand with numkeys at argument 2) */
static void cmd_blmpop(struct cmd_req *r)
{
	struct list_mpop_args a;

	if (cmd_list_mpop_parse(r, 2, &a))
		blpop_generic(r, a.first_key, a.numkeys, 1, a.end, a.count);
}

/* ---- BLMOVE / BRPOPLPUSH */

/* the serving thread's transaction for BLMOVE's two keys (blk_thread_exit
 * frees it) */
static _Thread_local struct db_txn *move_txn;
static struct db *move_db;

/* w->where / w->whereto: the ends; w->dst: the destination */
static enum blk_serve_rc move_serve(struct blk_waiter *w, const struct db_view *plain, int k,
				    int64_t now_ms)
{
	int rc, cr;
	char *elem = NULL;
	size_t len = 0;
	int flags = ntf_flags();
	bool dst_new = flags && !db_lookup_notouch(plain, w->dst.p, w->dst.len, now_ms, NULL, 0);

	if (move_txn == NULL)
		move_txn = db_txn_create(move_db);
	do {
		const struct db_view *v;

		mem_free(elem);
		elem = NULL;
		db_txn_select(move_txn, w->db);
		v = db_txn_begin(move_txn, NULL, 0, false);
		rc = tlist_move(v, w->keys[k].p, w->keys[k].len, w->dst.p, w->dst.len,
				(enum tlist_end)w->where, (enum tlist_end)w->whereto, now_ms, &elem,
				&len);
		cr = db_txn_commit(move_txn);
	} while (cr == -EAGAIN);
	if (rc == -1 || cr != 0) {
		mem_free(elem);
		return BLK_SKIP; /* another type now: not for a list waiter */
	}
	if (rc == 0)
		return BLK_EMPTY;
	if (rc == -2) {
		/* Redis 7.0: the waiter gets WRONGTYPE, the element stays */
		w->res.err = 1;
		return BLK_SERVED;
	}
	blk_result_add(&w->res, elem, len, 0);
	mem_free(elem);
	{
		/* as Redis 7.0's serveClientBlockedOnList: a served BRPOPLPUSH
		 * (count -2) is logged as RPOPLPUSH, a BLMOVE as LMOVE */
		const char *wf = w->where == TLIST_HEAD ? "left" : "right";
		const char *wt = w->whereto == TLIST_HEAD ? "left" : "right";
		bool rpl = w->count == -2;
		const char *argv[5] = {rpl ? "RPOPLPUSH" : "LMOVE", w->keys[k].p, w->dst.p, wf, wt};
		size_t argl[5] = {rpl ? 9 : 5, w->keys[k].len, w->dst.len, strlen(wf), strlen(wt)};

		w->res.aof_lsn = aof_log_served(w->db, rpl ? 3 : 5, argv, argl);
	}
	if (kv_unlikely(trk_after_write())) { /* client tracking: both keys changed */
		ntf_track(wctx_self(), w->keys[k].p, w->keys[k].len);
		ntf_track(wctx_self(), w->dst.p, w->dst.len);
	}
	if (flags) { /* keyspace notifications: as LMOVE (notify.c) */
		bool same =
		    w->dst.len == w->keys[k].len && memcmp(w->dst.p, w->keys[k].p, w->dst.len) == 0;

		if (dst_new && !same)
			ntf_event(flags, NTF_NEW, "new", w->db, w->dst.p, w->dst.len);
		ntf_event(flags, NTF_LIST, w->whereto == TLIST_HEAD ? "lpush" : "rpush", w->db,
			  w->dst.p, w->dst.len);
		ntf_event(flags, NTF_LIST, w->where == TLIST_HEAD ? "lpop" : "rpop", w->db,
			  w->keys[k].p, w->keys[k].len);
		if (!db_lookup_notouch(plain, w->keys[k].p, w->keys[k].len, now_ms, NULL, 0))
			ntf_event(flags, NTF_GENERIC, "del", w->db, w->keys[k].p, w->keys[k].len);
	}
	return BLK_SERVED;
}

static void move_reply(struct conn *c, struct blk_waiter *w)
{
	if (atomic_load_explicit(&w->state, memory_order_relaxed) != BLK_DONE) {
		reply_timeout(c, w);
		return;
	}
	if (w->res.err) {
		reply_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
		return;
	}
	reply_bulk(c, w->res.items[0].p, w->res.items[0].len);
}

/* lmoveGenericCommand in one transaction (multi_atomic): replies the moved
 * element or an error; replies nothing when the source is missing */
static void blmove_body(struct cmd_req *r)
{
	enum tlist_end from = r->argc == 6 && cmd_arg_is(r, 3, "left") ? TLIST_HEAD : TLIST_TAIL;
	enum tlist_end to = r->argc == 6 && !cmd_arg_is(r, 4, "right") ? TLIST_HEAD : TLIST_TAIL;
	char *elem;
	size_t len;
	int rc;

	if (r->argc == 4) /* BRPOPLPUSH */
		from = TLIST_TAIL, to = TLIST_HEAD;
	rc = tlist_move(r->view, r->argv[1], r->argl[1], r->argv[2], r->argl[2], from, to,
			r->now_ms, &elem, &len);
	if (rc < 0) {
		cmd_reply_wrongtype(r);
		return;
	}
	if (rc == 0)
		return;
	reply_bulk(r->c, elem, len);
	mem_free(elem);
}

/* blmoveGenericCommand: the ends are parsed, timeout at argument ti */
static void blmove_generic(struct cmd_req *r, enum tlist_end from, enum tlist_end to, int ti)
{
	int64_t deadline;
	size_t mark;
	int key = 1;
	struct blk_waiter *w;

	if (!blk_parse_timeout(r, ti, &deadline))
		return;
	mark = conn_reply_mark(r->c);
	multi_atomic(r, blmove_body);
	if (conn_reply_mark(r->c) != mark)
		return; /* moved, or an error */
	if (may_not_block(r)) {
		reply_null(r->c); /* Redis: addReplyNull, not a null array */
		return;
	}
	w = blk_waiter_prepare(r, &key, 1);
	blk_set_dst(w, r->argv[2], r->argl[2]);
	w->serve = move_serve;
	w->reply = move_reply;
	w->where = from;
	w->whereto = to;
	w->count = ti == 3 ? -2 : -1; /* -2: BRPOPLPUSH (move_serve logs RPOPLPUSH) */
	w->deadline_us = deadline;
	blk_block(r, w);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
static void cmd_blmove(struct cmd_req *r)
{
	enum tlist_end from, to;

	if (!cmd_list_end_arg(r, 3, &from) || !cmd_list_end_arg(r, 4, &to))
		return;
	blmove_generic(r, from, to, 5);
}

/* BRPOPLPUSH source destination timeout */
static void cmd_brpoplpush(struct cmd_req *r)
{
	blmove_generic(r, TLIST_TAIL, TLIST_HEAD, 3);
}

void blk_cmd_setup(struct db *db)
{
	move_db = db;
}

void blk_cmd_thread_exit(void)
{
	if (move_txn)
		db_txn_destroy(&move_txn);
}

/* ------------------------------------------------------------ the table */

#define BLK_FLAGS (CMD_WRITE | CMD_NOSCRIPT)

const struct cmd_def cmd_blocking_table[] = {
    {"bzpopmin", cmd_bzpopmin, -3, BLK_FLAGS | CMD_FAST, 1, -2, 1, "write sortedset fast blocking",
     "sorted-set",
     "Remove and return the member with the lowest score from one or more sorted sets, or block "
     "until one is available",
     "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", NULL},
    {"bzpopmax", cmd_bzpopmax, -3, BLK_FLAGS | CMD_FAST, 1, -2, 1, "write sortedset fast blocking",
     "sorted-set",
     "Remove and return the member with the highest score from one or more sorted sets, or "
     "block until one is available",
     "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", NULL},
    {"bzmpop", cmd_bzmpop, -5, CMD_WRITE, 0, 0, 0, "write sortedset slow blocking", "sorted-set",
     "Remove and return members with scores in a sorted set or block until one is available",
     "7.0.0",
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements "
     "in the sorted set, and M being the number of elements popped.",
     NULL},
    {"blpop", cmd_blpop, -3, BLK_FLAGS, 1, -2, 1, "write list slow blocking", "list",
     "Remove and get the first element in a list, or block until one is available", "2.0.0",
     "O(N) where N is the number of provided keys.", NULL},
    {"brpop", cmd_brpop, -3, BLK_FLAGS, 1, -2, 1, "write list slow blocking", "list",
     "Remove and get the last element in a list, or block until one is available", "2.0.0",
     "O(N) where N is the number of provided keys.", NULL},
    {"blmpop", cmd_blmpop, -5, CMD_WRITE, 0, 0, 0, "write list slow blocking", "list",
     "Pop elements from a list, or block until one is available", "7.0.0",
     "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
     NULL},
    {"blmove", cmd_blmove, 6, BLK_FLAGS | CMD_DENYOOM, 1, 2, 1, "write list slow blocking", "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available",
     "6.2.0", "O(1)", NULL},
    {"brpoplpush", cmd_brpoplpush, 4, BLK_FLAGS | CMD_DENYOOM, 1, 2, 1, "write list slow blocking",
     "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available",
     "2.2.0", "O(1)", NULL},
    {NULL},
};
