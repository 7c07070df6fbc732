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
#include "net/conn.h"
#include "net/reply.h"
#include "server/blocking.h"
#include "server/cmd.h"
#include "server/cmd_zset.h"
#include "server/strutil.h"
#include "storage/coll.h"
#include "storage/db.h"

#include <limits.h>
#include <string.h>

/* a blocking command may not block here: inside EXEC (or any transaction) */
static bool may_not_block(const struct cmd_req *r)
{
	return r->in_exec || db_in_txn(r->view);
}

/* getRangeLongFromObjectOrReply(1, LONG_MAX) with Redis's message */
static int arg_positive(struct cmd_req *r, int i, long long *out, const char *msg)
{
	if (!resp_str2ll(r->argv[i], r->argl[i], out) || *out < 1) {
		reply_errorf(r->c, "ERR %s", msg);
		return 0;
	}
	return 1;
}

/* The timeout reply of every blocking command (Redis 7.0's
 * replyToBlockedClientTimedOut: a null array, BLMOVE included). */
static void reply_timeout(struct conn *c, struct blk_waiter *w)
{
	(void)w;
	reply_null_array(c);
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
	zset_popped_free(&p);
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
	struct blk_waiter *w;

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
	if (may_not_block(r)) {
		reply_null_array(r->c);
		return;
	}
	w = blk_waiter_prepare(r, keys, n);
	w->serve = zset_serve;
	w->reply = zset_reply;
	w->where = max;
	w->count = count;
	w->deadline_us = deadline;
	blk_block(r, w);
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
	long long numkeys, count = -1;
	int wi;
	bool max;

	if (!arg_positive(r, 2, &numkeys, "numkeys should be greater than 0"))
		return;
	if (numkeys > r->argc - 4) {
		cmd_reply_syntax_error(r);
		return;
	}
	wi = 3 + (int)numkeys;
	if (cmd_arg_is(r, wi, "min")) {
		max = false;
	} else if (cmd_arg_is(r, wi, "max")) {
		max = true;
	} else {
		cmd_reply_syntax_error(r);
		return;
	}
	for (int j = wi + 1; j < r->argc; j++) {
		if (count == -1 && cmd_arg_is(r, j, "count") && r->argc - 1 - j > 0) {
			j++;
			if (!arg_positive(r, j, &count, "count should be greater than 0"))
				return;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	if (count == -1)
		count = 1;
	bzpop_generic(r, 3, (int)numkeys, 1, max, count);
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
    {NULL},
};
