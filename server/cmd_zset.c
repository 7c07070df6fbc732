/*
 * cmd_zset.c — the sorted-set commands on one key (and ZMPOP, ZRANGESTORE),
 * with Redis 7.0.15's semantics, error texts and reply bytes (t_zset.c):
 * ZADD ZINCRBY ZREM ZCARD ZCOUNT ZLEXCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK
 * ZRANGE ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX
 * ZREVRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN
 * ZPOPMAX ZMPOP ZRANDMEMBER ZSCAN. (ZUNION, ZINTER, ZDIFF and their STORE
 * forms live with the set operations, on tzset_build.)
 *
 * Writes follow coll.h's pattern: read the entry, build the next version
 * with a tzset writer (storage/tzset.h), swap it in with db_put, and on a
 * lost race read again (each loss means another write to the key won: no
 * livelock; the db layer takes the key's stripe lock after a few losses).
 * Arguments are all checked before the first write. Replies are sent after
 * the swap succeeded, so a re-run never answers twice. Scores print as
 * Redis's addReplyDouble ("%.17g", inf, -inf; RESP3 doubles).
 */
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/cmd_zset.h"
#include "server/multi.h"
#include "server/strutil.h"
#include "storage/db.h"
#include "storage/tzset.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

/* The zset at argument i: 1 with *e (NULL when missing), 0 after a
 * WRONGTYPE reply. */
static int lookup_zset(struct cmd_req *r, int i, const struct kv_entry **e)
{
	*e = db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, 0);
	if (*e && kv_entry_type(*e) != KV_ZSET) {
		cmd_reply_wrongtype(r);
		return 0;
	}
	return 1;
}

static void reply_item(struct cmd_req *r, const struct tz_item *it, bool withscores)
{
	if (withscores && conn_resp(r->c) == 3)
		reply_array(r->c, 2);
	reply_bulk(r->c, it->m, it->mlen);
	if (withscores)
		reply_double(r->c, it->score);
}

/* n elements: RESP2 flat (2n with scores), RESP3 [member, score] pairs */
static void reply_items_header(struct cmd_req *r, unsigned long long n, bool withscores)
{
	reply_array(r->c, (long long)(withscores && conn_resp(r->c) == 2 ? 2 * n : n));
}

/* A lost db_put race: counted, then the caller reads again. */
static void lost_race(struct kv_entry *e)
{
	if (e)
		kv_entry_free(e);
	tzset_count_retry();
}

/* Publishes the writer's result over old (deleting the key when empty).
 * 0 when published. */
static int publish(struct cmd_req *r, struct tzset_w *w, const struct kv_entry *old, int ki)
{
	struct kv_entry *e =
	    tzset_w_finish(w, r->argv[ki], r->argl[ki], old ? kv_entry_expire(old) : 0);
	int rc = db_put(r->view, old, e);

	tzset_w_end(w);
	if (rc != 0)
		lost_race(e);
	return rc;
}

/* ---------------------------------------------------------- ZADD ZINCRBY */

#define ZADD_NX	  1
#define ZADD_XX	  2
#define ZADD_GT	  4
#define ZADD_LT	  8
#define ZADD_INCR 16

/* zaddGenericCommand after parsing: pairs at argv[si], argv[si + 1], ... */
static void zadd_apply(struct cmd_req *r, int flags, bool ch, int si, const double *scores,
		       size_t n)
{
	bool incr = flags & ZADD_INCR, nx = flags & ZADD_NX, xx = flags & ZADD_XX;
	bool gt = flags & ZADD_GT, lt = flags & ZADD_LT;
	long long added, updated, processed;
	double score = 0;

	for (;;) {
		const struct kv_entry *old;
		struct tzset_w w;

		if (!lookup_zset(r, 1, &old))
			return;
		added = updated = processed = 0;
		if (!old && xx)
			break;
		tzset_w_begin(&w, db_coll_ctx(r->view), old);
		for (size_t j = 0; j < n; j++) {
			const char *m = r->argv[si + 1 + 2 * (int)j];
			size_t mlen = r->argl[si + 1 + 2 * (int)j];
			double s = scores[j], cur;

			if (tzset_w_score(&w, m, mlen, &cur)) {
				if (nx)
					continue;
				if (incr) {
					s += cur;
					if (isnan(s)) {
						tzset_w_end(&w);
						reply_error(
						    r->c,
						    "ERR resulting score is not a number (NaN)");
						return;
					}
				}
				if ((lt && s >= cur) || (gt && s <= cur))
					continue;
				score = s;
				processed++;
				/* as doubles: -0 over 0 changes nothing */
				if (s != cur) {
					tzset_w_update(&w, m, mlen, cur, s);
					updated++;
				}
			} else if (!xx) {
				tzset_w_put(&w, m, mlen, s);
				score = s;
				added++;
				processed++;
			}
		}
		if (added + updated == 0) {
			tzset_w_end(&w);
			break;
		}
		if (publish(r, &w, old, 1) == 0)
			break;
	}
	if (incr) {
		if (processed)
			reply_double(r->c, score);
		else
			reply_null(r->c);
	} else {
		reply_int(r->c, ch ? added + updated : added);
	}
}

static void cmd_zadd(struct cmd_req *r)
{
	int flags = 0, si = 2;
	bool ch = false;
	size_t n;
	double local[8], *scores = local;

	for (; si < r->argc; si++) {
		if (cmd_arg_is(r, si, "nx"))
			flags |= ZADD_NX;
		else if (cmd_arg_is(r, si, "xx"))
			flags |= ZADD_XX;
		else if (cmd_arg_is(r, si, "ch"))
			ch = true;
		else if (cmd_arg_is(r, si, "incr"))
			flags |= ZADD_INCR;
		else if (cmd_arg_is(r, si, "gt"))
			flags |= ZADD_GT;
		else if (cmd_arg_is(r, si, "lt"))
			flags |= ZADD_LT;
		else
			break;
	}
	if ((r->argc - si) % 2 || r->argc == si) {
		cmd_reply_syntax_error(r);
		return;
	}
	n = (size_t)(r->argc - si) / 2;
	if ((flags & ZADD_NX) && (flags & ZADD_XX)) {
		reply_error(r->c, "ERR XX and NX options at the same time are not compatible");
		return;
	}
	if (((flags & ZADD_GT) && (flags & ZADD_NX)) || ((flags & ZADD_LT) && (flags & ZADD_NX)) ||
	    ((flags & ZADD_GT) && (flags & ZADD_LT))) {
		reply_error(r->c,
			    "ERR GT, LT, and/or NX options at the same time are not compatible");
		return;
	}
	if ((flags & ZADD_INCR) && n > 1) {
		reply_error(r->c, "ERR INCR option supports a single increment-element pair");
		return;
	}
	/* a few scores on the stack (the usual ZADD): no heap array to free */
	if (n > sizeof(local) / sizeof(local[0]))
		scores = mem_alloc(n * sizeof(*scores));
	for (size_t j = 0; j < n; j++) {
		int i = si + 2 * (int)j;

		if (!su_str2d(r->argv[i], r->argl[i], &scores[j])) {
			reply_error(r->c, "ERR value is not a valid float");
			if (scores != local)
				mem_free(scores);
			return;
		}
	}
	zadd_apply(r, flags, ch, si, scores, n);
	if (scores != local)
		mem_free(scores);
}

/* ZINCRBY key increment member: ZADD key INCR increment member, parsed by
 * ZADD's parser in Redis: an increment that is an option word leaves one
 * argument where pairs are expected (a syntax error). */
static void cmd_zincrby(struct cmd_req *r)
{
	static const char *const opts[] = {"nx", "xx", "ch", "incr", "gt", "lt"};
	double incr;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (cmd_arg_is(r, 2, opts[i])) {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	if (!su_str2d(r->argv[2], r->argl[2], &incr)) {
		reply_error(r->c, "ERR value is not a valid float");
		return;
	}
	zadd_apply(r, ZADD_INCR, false, 2, &incr, 1);
}

/* ------------------------------------------------------------- ZREM */

static void cmd_zrem(struct cmd_req *r)
{
	long long deleted;

	for (;;) {
		const struct kv_entry *old;
		struct tzset_w w;

		if (!lookup_zset(r, 1, &old))
			return;
		deleted = 0;
		if (!old)
			break;
		tzset_w_begin(&w, db_coll_ctx(r->view), old);
		for (int i = 2; i < r->argc; i++)
			deleted += tzset_w_del(&w, r->argv[i], r->argl[i]);
		if (deleted == 0) {
			tzset_w_end(&w);
			break;
		}
		if (publish(r, &w, old, 1) == 0)
			break;
	}
	reply_int(r->c, deleted);
}

/* ------------------------------------------------- ZCARD ZSCORE ZRANK */

static void cmd_zcard(struct cmd_req *r)
{
	const struct kv_entry *e;

	if (lookup_zset(r, 1, &e))
		reply_int(r->c, e ? (long long)tzset_count(e) : 0);
}

static void cmd_zscore(struct cmd_req *r)
{
	const struct kv_entry *e;
	double s;

	if (!lookup_zset(r, 1, &e))
		return;
	if (e && tzset_score(e, r->argv[2], r->argl[2], &s))
		reply_double(r->c, s);
	else
		reply_null(r->c);
}

static void cmd_zmscore(struct cmd_req *r)
{
	const struct kv_entry *e;
	double s;

	if (!lookup_zset(r, 1, &e))
		return;
	reply_array(r->c, r->argc - 2);
	for (int i = 2; i < r->argc; i++) {
		if (e && tzset_score(e, r->argv[i], r->argl[i], &s))
			reply_double(r->c, s);
		else
			reply_null(r->c);
	}
}

static void zrank_generic(struct cmd_req *r, bool reverse)
{
	const struct kv_entry *e;
	long long rank;

	if (!lookup_zset(r, 1, &e))
		return;
	if (!e || (rank = tzset_rank(e, r->argv[2], r->argl[2])) < 0) {
		reply_null(r->c);
		return;
	}
	reply_int(r->c, reverse ? (long long)tzset_count(e) - 1 - rank : rank);
}

static void cmd_zrank(struct cmd_req *r)
{
	zrank_generic(r, false);
}

static void cmd_zrevrank(struct cmd_req *r)
{
	zrank_generic(r, true);
}

/* ---------------------------------------------------- ZCOUNT ZLEXCOUNT */

/* Score range [min, max] as ascending ranks [*lo, *hi). */
static void score_ranks(const struct kv_entry *e, const struct tz_range *rg, size_t *lo, size_t *hi)
{
	*lo = rg->minex ? tzset_count_le(e, rg->min) : tzset_count_lt(e, rg->min);
	*hi = rg->maxex ? tzset_count_lt(e, rg->max) : tzset_count_le(e, rg->max);
	if (*hi < *lo)
		*hi = *lo;
}

static void cmd_zcount(struct cmd_req *r)
{
	const struct kv_entry *e;
	struct tz_range rg;
	size_t lo, hi;

	if (!tz_range_parse(r->argv[2], r->argl[2], r->argv[3], r->argl[3], &rg)) {
		reply_error(r->c, "ERR min or max is not a float");
		return;
	}
	if (!lookup_zset(r, 1, &e))
		return;
	if (!e) {
		reply_int(r->c, 0);
		return;
	}
	score_ranks(e, &rg, &lo, &hi);
	reply_int(r->c, (long long)(hi - lo));
}

static int lex_parse2(struct cmd_req *r, int imin, int imax, struct tz_lex *min, struct tz_lex *max)
{
	if (!tz_lex_parse(r->argv[imin], r->argl[imin], min) ||
	    !tz_lex_parse(r->argv[imax], r->argl[imax], max)) {
		reply_error(r->c, "ERR min or max not valid string range item");
		return 0;
	}
	return 1;
}

/* Elements from ascending rank `first` walked forward while <= max (or,
 * reverse, backward while >= min), at most limit: how Redis visits a lex
 * range. */
static size_t lex_walk(const struct kv_entry *e, size_t first, bool reverse,
		       const struct tz_lex *min, const struct tz_lex *max, size_t limit)
{
	struct tzset_iter it;
	struct tz_item x;
	size_t n = 0;

	tzset_iter_init(&it, e, first, reverse);
	while (n < limit && tzset_iter_next(&it, &x)) {
		if (reverse ? !tz_lex_gte_min(x.m, x.mlen, min) : !tz_lex_lte_max(x.m, x.mlen, max))
			break;
		n++;
	}
	return n;
}

static void cmd_zlexcount(struct cmd_req *r)
{
	const struct kv_entry *e;
	struct tz_lex min, max;
	long long first;

	if (!lex_parse2(r, 2, 3, &min, &max) || !lookup_zset(r, 1, &e))
		return;
	if (!e || (first = tzset_lex_first(e, &min, &max)) < 0) {
		reply_int(r->c, 0);
		return;
	}
	if (coll_entry_enc(e) == COLL_SKIPLIST) {
		long long last = tzset_lex_last(e, &min, &max);

		reply_int(r->c, last < first ? 0 : last - first + 1);
		return;
	}
	reply_int(r->c, (long long)lex_walk(e, (size_t)first, false, &min, &max, SIZE_MAX));
}

/* ------------------------------------------------------- the ZRANGE family */

enum zr_type { ZR_AUTO, ZR_RANK, ZR_SCORE, ZR_LEX };
enum zr_dir { ZR_DIR_AUTO, ZR_FORWARD, ZR_REVERSE };

struct zr_args {
	enum zr_type type;
	bool reverse, withscores;
	long long start, end, offset, limit;
	struct tz_range score;
	struct tz_lex lmin, lmax;
};

/* zrangeGenericCommand's parsing: argv[ki] is the source key, then min,
 * max, options. 1 on success, 0 after the error reply. */
static int zrange_parse(struct cmd_req *r, int ki, bool store, enum zr_type type, enum zr_dir dir,
			struct zr_args *a)
{
	int minidx = ki + 1, maxidx = ki + 2;

	memset(a, 0, sizeof(*a));
	a->limit = -1;
	for (int j = ki + 3; j < r->argc; j++) {
		int left = r->argc - j - 1;

		if (!store && cmd_arg_is(r, j, "withscores")) {
			a->withscores = true;
		} else if (cmd_arg_is(r, j, "limit") && left >= 2) {
			if (!cmd_arg_ll(r, j + 1, &a->offset) || !cmd_arg_ll(r, j + 2, &a->limit))
				return 0;
			j += 2;
		} else if (dir == ZR_DIR_AUTO && cmd_arg_is(r, j, "rev")) {
			dir = ZR_REVERSE;
		} else if (type == ZR_AUTO && cmd_arg_is(r, j, "bylex")) {
			type = ZR_LEX;
		} else if (type == ZR_AUTO && cmd_arg_is(r, j, "byscore")) {
			type = ZR_SCORE;
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	if (dir == ZR_DIR_AUTO)
		dir = ZR_FORWARD;
	if (type == ZR_AUTO)
		type = ZR_RANK;
	if (a->limit != -1 && type == ZR_RANK) {
		reply_error(r->c, "ERR syntax error, LIMIT is only supported in combination with "
				  "either BYSCORE or BYLEX");
		return 0;
	}
	if (a->withscores && type == ZR_LEX) {
		reply_error(r->c,
			    "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
		return 0;
	}
	a->type = type;
	a->reverse = dir == ZR_REVERSE;
	if (a->reverse && type != ZR_RANK) {
		int t = minidx;

		minidx = maxidx;
		maxidx = t;
	}
	switch (type) {
	case ZR_RANK:
		return cmd_arg_ll(r, minidx, &a->start) && cmd_arg_ll(r, maxidx, &a->end);
	case ZR_SCORE:
		if (!tz_range_parse(r->argv[minidx], r->argl[minidx], r->argv[maxidx],
				    r->argl[maxidx], &a->score)) {
			reply_error(r->c, "ERR min or max is not a float");
			return 0;
		}
		return 1;
	default:
		return lex_parse2(r, minidx, maxidx, &a->lmin, &a->lmax);
	}
}

/* The elements a range selects in e: *first is the ascending rank of the
 * first one emitted; returns how many, walked forward or (a->reverse)
 * backward. */
static size_t zrange_resolve(const struct kv_entry *e, const struct zr_args *a, size_t *first)
{
	long long llen = (long long)tzset_count(e);

	if (a->type == ZR_RANK) {
		long long start = a->start, end = a->end;

		if (start < 0)
			start = llen + start;
		if (end < 0)
			end = llen + end;
		if (start < 0)
			start = 0;
		if (start > end || start >= llen)
			return 0;
		if (end >= llen)
			end = llen - 1;
		*first = (size_t)(a->reverse ? llen - 1 - start : start);
		return (size_t)(end - start + 1);
	}
	/* BYSCORE / BYLEX: skip `offset` elements from the first in range (a
	 * negative offset skips them all), then up to `limit` (negative: no
	 * limit) while in range */
	if (a->offset < 0 || (a->offset > 0 && a->offset >= llen))
		return 0;
	size_t limit = a->limit < 0 ? SIZE_MAX : (size_t)a->limit;
	size_t off = (size_t)a->offset;

	if (a->type == ZR_SCORE) {
		size_t lo, hi, n;

		score_ranks(e, &a->score, &lo, &hi);
		if (hi - lo <= off)
			return 0;
		n = hi - lo - off;
		*first = a->reverse ? hi - 1 - off : lo + off;
		return n < limit ? n : limit;
	}
	long long f = a->reverse ? tzset_lex_last(e, &a->lmin, &a->lmax)
				 : tzset_lex_first(e, &a->lmin, &a->lmax);

	if (f < 0)
		return 0;
	if (a->reverse) {
		if ((long long)off > f)
			return 0;
		*first = (size_t)f - off;
	} else {
		if ((long long)off >= llen - f)
			return 0;
		*first = (size_t)f + off;
	}
	return lex_walk(e, *first, a->reverse, &a->lmin, &a->lmax, limit);
}

static void zrange_reply(struct cmd_req *r, enum zr_type type, enum zr_dir dir)
{
	const struct kv_entry *e;
	struct zr_args a;
	struct tzset_iter it;
	struct tz_item x;
	size_t first = 0, n;

	if (!zrange_parse(r, 1, false, type, dir, &a) || !lookup_zset(r, 1, &e))
		return;
	if (!e) {
		reply_array(r->c, 0);
		return;
	}
	n = zrange_resolve(e, &a, &first);
	reply_items_header(r, n, a.withscores);
	if (n == 0)
		return;
	tzset_iter_init(&it, e, first, a.reverse);
	for (size_t i = 0; i < n && tzset_iter_next(&it, &x); i++)
		reply_item(r, &x, a.withscores);
}

static void cmd_zrange(struct cmd_req *r)
{
	zrange_reply(r, ZR_AUTO, ZR_DIR_AUTO);
}

static void cmd_zrevrange(struct cmd_req *r)
{
	zrange_reply(r, ZR_RANK, ZR_REVERSE);
}

static void cmd_zrangebyscore(struct cmd_req *r)
{
	zrange_reply(r, ZR_SCORE, ZR_FORWARD);
}

static void cmd_zrevrangebyscore(struct cmd_req *r)
{
	zrange_reply(r, ZR_SCORE, ZR_REVERSE);
}

static void cmd_zrangebylex(struct cmd_req *r)
{
	zrange_reply(r, ZR_LEX, ZR_FORWARD);
}

static void cmd_zrevrangebylex(struct cmd_req *r)
{
	zrange_reply(r, ZR_LEX, ZR_REVERSE);
}

/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]:
 * in a transaction (multi_atomic), so reading src and replacing dst commit
 * together. dst loses its TTL (setKey); an empty result deletes it. */
static void zrangestore_body(struct cmd_req *r)
{
	const struct kv_entry *src, *dst;
	struct zr_args a;
	struct tzset_iter it;
	struct tz_item *items = NULL;
	size_t first = 0, n = 0;
	struct kv_entry *e;

	if (!zrange_parse(r, 2, true, ZR_AUTO, ZR_DIR_AUTO, &a) || !lookup_zset(r, 2, &src))
		return;
	if (src)
		n = zrange_resolve(src, &a, &first);
	if (n) {
		/* zsetTypeCreate(length known for a rank range, else 0, 0) */
		bool lp = a.type != ZR_RANK || (long long)n <= coll_limit(COLL_ZSET_MAX_ENTRIES);

		items = mem_alloc(n * sizeof(*items));
		tzset_iter_init(&it, src, first, a.reverse);
		for (size_t i = 0; i < n; i++) {
			tzset_iter_next(&it, &items[i]);
			/* Redis adds them one by one to the new set: while it is
			 * a listpack (which stores -0 as 0) until one makes it
			 * convert; those keep 0 when the result is a skiplist */
			if (lp && ((long long)i + 1 > coll_limit(COLL_ZSET_MAX_ENTRIES) ||
				   (long long)items[i].mlen > coll_limit(COLL_ZSET_MAX_VALUE)))
				lp = false;
			if (lp && items[i].score == 0)
				items[i].score = 0.0;
		}
	}
	for (;;) {
		dst = db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 0);
		e = tzset_build(db_coll_ctx(r->view), r->argv[1], r->argl[1], items, n, 0);
		if ((!dst && !e) || db_put(r->view, dst, e) == 0)
			break;
		lost_race(e);
	}
	mem_free(items);
	reply_int(r->c, (long long)n);
}

static void cmd_zrangestore(struct cmd_req *r)
{
	multi_atomic(r, zrangestore_body);
}

/* ------------------------------------------------------ ZREMRANGEBY* */

static void zremrange_generic(struct cmd_req *r, enum zr_type type)
{
	struct zr_args a = {.type = type, .limit = -1};
	long long removed = 0;

	if (type == ZR_RANK) {
		if (!cmd_arg_ll(r, 2, &a.start) || !cmd_arg_ll(r, 3, &a.end))
			return;
	} else if (type == ZR_SCORE) {
		if (!tz_range_parse(r->argv[2], r->argl[2], r->argv[3], r->argl[3], &a.score)) {
			reply_error(r->c, "ERR min or max is not a float");
			return;
		}
	} else if (!lex_parse2(r, 2, 3, &a.lmin, &a.lmax)) {
		return;
	}
	for (;;) {
		const struct kv_entry *old;
		struct tzset_w w;
		size_t first = 0, n;

		if (!lookup_zset(r, 1, &old))
			return;
		removed = 0;
		if (!old)
			break;
		n = zrange_resolve(old, &a, &first);
		if (n == 0)
			break;
		tzset_w_begin(&w, db_coll_ctx(r->view), old);
		removed = (long long)tzset_w_del_ranks(&w, first, first + n);
		if (publish(r, &w, old, 1) == 0)
			break;
	}
	reply_int(r->c, removed);
}

static void cmd_zremrangebyrank(struct cmd_req *r)
{
	zremrange_generic(r, ZR_RANK);
}

static void cmd_zremrangebyscore(struct cmd_req *r)
{
	zremrange_generic(r, ZR_SCORE);
}

static void cmd_zremrangebylex(struct cmd_req *r)
{
	zremrange_generic(r, ZR_LEX);
}

/* ---------------------------------------------------- ZPOPMIN ZPOPMAX ZMPOP */

/* Pops up to count elements of the zset at key in view v (from the low end
 * unless max) into *p (copies). 1 when popped, 0 when the key is missing
 * (or count is 0), -1 when it holds another type. Any worker thread (the
 * blocking commands' serves run it for other clients). */
int zset_pop(const struct db_view *v, const char *key, size_t klen, int64_t now_ms, bool max,
	     long long count, struct zset_popped *p)
{
	for (;;) {
		const struct kv_entry *old = db_lookup(v, key, klen, now_ms, NULL, 0);
		struct tzset_w w;
		struct tzset_iter it;
		struct tz_item x;
		size_t total, n, bytes = 0;
		struct kv_entry *e;
		char *q;
		int rc;

		if (old && kv_entry_type(old) != KV_ZSET)
			return -1;
		if (!old || count == 0)
			return 0;
		total = tzset_count(old);
		n = (unsigned long long)count < total ? (size_t)count : total;
		/* copy what goes before editing: the edit may rewrite old's nodes
		 * (one element, ZPOPMIN's usual case, in one pass: each pass is a
		 * seek from the root) */
		tzset_iter_init(&it, old, max ? total - 1 : 0, max);
		if (n == 1) {
			tzset_iter_next(&it, &x);
			bytes = x.mlen;
		} else {
			for (size_t i = 0; i < n && tzset_iter_next(&it, &x); i++)
				bytes += x.mlen;
			tzset_iter_init(&it, old, max ? total - 1 : 0, max);
		}
		if (n == 1 && bytes <= ZSET_POPPED_LOCAL) {
			p->items = &p->one;
			p->buf = q = p->local;
		} else {
			p->items = mem_alloc(n * sizeof(*p->items));
			p->buf = q = mem_alloc(bytes ? bytes : 1);
		}
		for (size_t i = 0; i < n && (n == 1 || tzset_iter_next(&it, &x)); i++) {
			memcpy(q, x.m, x.mlen);
			p->items[i] = (struct tz_item){.m = q, .mlen = x.mlen, .score = x.score};
			q += x.mlen;
		}
		p->n = n;
		tzset_w_begin(&w, db_coll_ctx(v), old);
		tzset_w_del_ranks(&w, max ? total - n : 0, max ? total : n);
		e = tzset_w_finish(&w, key, klen, kv_entry_expire(old));
		rc = db_put(v, old, e);
		tzset_w_end(&w);
		if (rc == 0)
			return 1;
		lost_race(e);
		zset_popped_free(p);
	}
}

void zset_popped_free(struct zset_popped *p)
{
	if (p->items != &p->one)
		mem_free(p->items);
	if (p->buf != p->local)
		mem_free(p->buf);
	p->items = NULL;
	p->buf = NULL;
	p->n = 0;
}

/* zset_pop for argument ki of r: 0 after a WRONGTYPE reply; *found tells
 * whether the key held a zset. */
static int zpop(struct cmd_req *r, int ki, bool max, long long count, struct zset_popped *p,
		bool *found)
{
	int rc = zset_pop(r->view, r->argv[ki], r->argl[ki], r->now_ms, max, count, p);

	if (rc < 0) {
		cmd_reply_wrongtype(r);
		return 0;
	}
	/* a key that exists holds at least one element (count 0: unused) */
	*found = rc > 0;
	return 1;
}

static void reply_popped(struct cmd_req *r, const struct zset_popped *p, bool nested)
{
	for (size_t i = 0; i < p->n; i++) {
		if (nested)
			reply_array(r->c, 2);
		reply_bulk(r->c, p->items[i].m, p->items[i].mlen);
		reply_double(r->c, p->items[i].score);
	}
}

static void zpop_minmax(struct cmd_req *r, bool max)
{
	long long count = -1;
	struct zset_popped p = {0};
	bool found, nested;

	if (r->argc > 3) {
		cmd_reply_syntax_error(r);
		return;
	}
	if (r->argc == 3 &&
	    !cmd_arg_range(r, 2, 0, LLONG_MAX, &count, "value is out of range, must be positive"))
		return;
	/* RESP3 with a count: [member, score] pairs; else flat */
	nested = conn_resp(r->c) > 2 && count != -1;
	if (!zpop(r, 1, max, count == -1 ? 1 : count, &p, &found))
		return;
	reply_array(r->c, (long long)(nested ? p.n : 2 * p.n));
	reply_popped(r, &p, nested);
	zset_popped_free(&p);
}

static void cmd_zpopmin(struct cmd_req *r)
{
	zpop_minmax(r, false);
}

static void cmd_zpopmax(struct cmd_req *r)
{
	zpop_minmax(r, true);
}

int zset_mpop_parse(struct cmd_req *r, int numkeys_idx, int *first_key, long long *numkeys,
		    bool *max, long long *count)
{
	int wi;

	*count = -1;
	if (!cmd_arg_range(r, numkeys_idx, 1, LLONG_MAX, numkeys,
			   "numkeys should be greater than 0"))
		return 0;
	if (*numkeys > r->argc - numkeys_idx - 2) {
		cmd_reply_syntax_error(r);
		return 0;
	}
	wi = numkeys_idx + 1 + (int)*numkeys;
	if (cmd_arg_is(r, wi, "min")) {
		*max = false;
	} else if (cmd_arg_is(r, wi, "max")) {
		*max = true;
	} else {
		cmd_reply_syntax_error(r);
		return 0;
	}
	for (int j = wi + 1; j < r->argc; j++) {
		if (*count == -1 && cmd_arg_is(r, j, "count") && r->argc - 1 - j > 0) {
			j++;
			if (!cmd_arg_range(r, j, 1, LLONG_MAX, count,
					   "count should be greater than 0"))
				return 0;
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	if (*count == -1)
		*count = 1;
	*first_key = numkeys_idx + 1;
	return 1;
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], in a transaction
 * (multi_atomic): the first existing key is popped if it holds a sorted
 * set, an error if it holds another type. */
static void zmpop_body(struct cmd_req *r)
{
	long long numkeys, count;
	int first, wi;
	bool max;

	if (!zset_mpop_parse(r, 1, &first, &numkeys, &max, &count))
		return;
	wi = first + (int)numkeys;
	for (int k = 2; k < wi; k++) {
		struct zset_popped p = {0};
		bool found;

		if (!zpop(r, k, max, count, &p, &found))
			return;
		if (!found)
			continue;
		reply_array(r->c, 2);
		reply_bulk(r->c, r->argv[k], r->argl[k]);
		reply_array(r->c, (long long)p.n);
		reply_popped(r, &p, true);
		zset_popped_free(&p);
		return;
	}
	reply_null_array(r->c);
}

static void cmd_zmpop(struct cmd_req *r)
{
	multi_atomic(r, zmpop_body);
}

/* ---------------------------------------------------------- ZRANDMEMBER */

static int cmp_size(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return a < b ? -1 : a > b;
}

static void zrandmember_count(struct cmd_req *r, long long l, bool withscores)
{
	const struct kv_entry *e;
	unsigned long long count;
	size_t size;
	struct tz_item x;
	struct tzset_iter it;

	if (!lookup_zset(r, 1, &e))
		return;
	if (!e) {
		reply_array(r->c, 0);
		return;
	}
	size = tzset_count(e);
	count = l >= 0 ? (unsigned long long)l : (unsigned long long)-l;
	if (count == 0) {
		reply_array(r->c, 0);
		return;
	}
	/* with repetitions (negative count), or just one */
	if (l < 0 || count == 1) {
		reply_items_header(r, count, withscores);
		for (unsigned long long i = 0; i < count; i++) {
			tzset_random(e, wctx_rand64(r->ctx), &x);
			reply_item(r, &x, withscores);
		}
		return;
	}
	/* the whole set, from the highest (Redis's zuiNext walks backward) */
	if (count >= size) {
		reply_items_header(r, size, withscores);
		tzset_iter_init(&it, e, size - 1, true);
		while (tzset_iter_next(&it, &x))
			reply_item(r, &x, withscores);
		return;
	}
	/* count distinct ranks (Floyd's sampling), emitted in order as a
	 * listpack's lpRandomPairsUnique does */
	size_t *ranks = mem_alloc(count * sizeof(*ranks)), k = 0;

	for (size_t j = size - count; j < size; j++) {
		size_t t = (size_t)(wctx_rand64(r->ctx) % (j + 1));
		bool dup = false;

		for (size_t i = 0; i < k && !dup; i++)
			dup = ranks[i] == t;
		ranks[k++] = dup ? j : t;
	}
	qsort(ranks, k, sizeof(*ranks), cmp_size);
	reply_items_header(r, k, withscores);
	for (size_t i = 0; i < k; i++) {
		tzset_at(e, ranks[i], &x);
		reply_item(r, &x, withscores);
	}
	mem_free(ranks);
}

static void cmd_zrandmember(struct cmd_req *r)
{
	const struct kv_entry *e;
	struct tz_item x;
	long long l;

	if (r->argc >= 3) {
		if (!cmd_arg_range(r, 2, -LLONG_MAX, LLONG_MAX, &l, NULL))
			return;
		if (r->argc > 4 || (r->argc == 4 && !cmd_arg_is(r, 3, "withscores"))) {
			cmd_reply_syntax_error(r);
			return;
		}
		if (r->argc == 4 && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
			reply_error(r->c, "ERR value is out of range");
			return;
		}
		zrandmember_count(r, l, r->argc == 4);
		return;
	}
	if (!lookup_zset(r, 1, &e))
		return;
	if (!e) {
		reply_null(r->c);
		return;
	}
	tzset_random(e, wctx_rand64(r->ctx), &x);
	reply_bulk(r->c, x.m, x.mlen);
}

/* ---------------------------------------------------------------- ZSCAN */

/* ZSCAN key cursor [MATCH pattern] [COUNT count]. A listpack answers whole
 * with cursor 0 (scores as the listpack holds them: d2string); a skiplist
 * walks the by-member tree in hash order from the cursor (a hash value),
 * about COUNT elements and never half of one hash value's, so an element
 * present for the whole scan is returned at least once. */
static void cmd_zscan(struct cmd_req *r)
{
	const struct kv_entry *e;
	uint64_t cursor, next = 0;
	long long count = 10;
	const char *pat = NULL;
	size_t plen = 0, cap = 16, k = 0;
	struct tz_item *v, x;
	char buf[SU_D2STR_MAX];
	bool big;

	if (!cmd_parse_cursor(r->argv[2], r->argl[2], &cursor)) {
		reply_error(r->c, "ERR invalid cursor");
		return;
	}
	if (!lookup_zset(r, 1, &e))
		return;
	if (!e) {
		reply_array(r->c, 2);
		reply_bulk(r->c, "0", 1);
		reply_array(r->c, 0);
		return;
	}
	if (!cmd_scan_options(r, 3, &pat, &plen, &count))
		return;
	v = mem_alloc(cap * sizeof(*v));
	big = coll_entry_enc(e) == COLL_SKIPLIST;
	if (!big) {
		struct tzset_iter it;

		tzset_iter_init(&it, e, 0, false);
		while (tzset_iter_next(&it, &x)) {
			if (pat && !su_glob_match(pat, plen, x.m, x.mlen, 0))
				continue;
			if (k == cap)
				v = mem_realloc(v, (cap *= 2) * sizeof(*v));
			v[k++] = x;
		}
	} else {
		const struct pt_node *root = coll_big_of(e)->root[1];
		struct pt_iter it;
		struct pt_elem el;
		size_t seen = 0;
		uint64_t last = 0;

		pt_iter_seek(&it, root, pt_rank(root, cursor, NULL, 0));
		while (pt_iter_next(&it, &el)) {
			if (seen >= (size_t)count && el.key != last) {
				next = el.key;
				break;
			}
			seen++;
			last = el.key;
			if (pat && !su_glob_match(pat, plen, el.a, el.alen, 0))
				continue;
			if (k == cap)
				v = mem_realloc(v, (cap *= 2) * sizeof(*v));
			v[k] = (struct tz_item){.m = el.a, .mlen = el.alen};
			memcpy(&v[k].score, el.b, 8);
			/* a popped member's record, not yet swept */
			if (tzset_stale(e, el.a, el.alen, v[k].score))
				continue;
			k++;
		}
	}
	reply_array(r->c, 2);
	reply_bulk(r->c, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)next));
	reply_array(r->c, (long long)(2 * k));
	for (size_t i = 0; i < k; i++) {
		reply_bulk(r->c, v[i].m, v[i].mlen);
		/* a listpack's score as stored (d2string), a skiplist's as
		 * ld2string prints it ("%.17Lg" of the double: "%.17g") */
		if (big)
			reply_bulk(r->c, buf,
				   (size_t)snprintf(buf, sizeof(buf), "%.17g", v[i].score));
		else
			reply_bulk(r->c, buf, (size_t)su_d2str(buf, sizeof(buf), v[i].score));
	}
	mem_free(v);
}

/* ---------------------------------------------------------------- table */

#define ZO(s) "O(log(N)+M) with N being the number of elements in the sorted set and M " s
#define ZLIMIT                                                                                     \
	" If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can "    \
	"consider it O(log(N))."
const struct cmd_def cmd_zset_table[] = {
    {"zadd", cmd_zadd, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write sortedset fast",
     "sorted-set",
     "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0",
     "O(log(N)) for each item added, where N is the number of elements in the sorted set.", NULL},
    {"zincrby", cmd_zincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write sortedset fast",
     "sorted-set", "Increment the score of a member in a sorted set", "1.2.0",
     "O(log(N)) where N is the number of elements in the sorted set.", NULL},
    {"zrem", cmd_zrem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "write sortedset fast", "sorted-set",
     "Remove one or more members from a sorted set", "1.2.0",
     "O(M*log(N)) with N being the number of elements in the sorted set and M the number of "
     "elements to be removed.",
     NULL},
    {"zcard", cmd_zcard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast", "sorted-set",
     "Get the number of members in a sorted set", "1.2.0", "O(1)", NULL},
    {"zcount", cmd_zcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast", "sorted-set",
     "Count the members in a sorted set with scores within the given values", "2.0.0",
     "O(log(N)) with N being the number of elements in the sorted set.", NULL},
    {"zlexcount", cmd_zlexcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast",
     "sorted-set",
     "Count the number of members in a sorted set between a given lexicographical range", "2.8.9",
     "O(log(N)) with N being the number of elements in the sorted set.", NULL},
    {"zscore", cmd_zscore, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast", "sorted-set",
     "Get the score associated with the given member in a sorted set", "1.2.0", "O(1)", NULL},
    {"zmscore", cmd_zmscore, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast",
     "sorted-set", "Get the score associated with the given members in a sorted set", "6.2.0",
     "O(N) where N is the number of members being requested.", NULL},
    {"zrank", cmd_zrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast", "sorted-set",
     "Determine the index of a member in a sorted set", "2.0.0", "O(log(N))", NULL},
    {"zrevrank", cmd_zrevrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read sortedset fast",
     "sorted-set",
     "Determine the index of a member in a sorted set, with scores ordered from high to low",
     "2.0.0", "O(log(N))", NULL},
    {"zrange", cmd_zrange, -4, CMD_READONLY, 1, 1, 1, "read sortedset slow", "sorted-set",
     "Return a range of members in a sorted set", "1.2.0", ZO("the number of elements returned."),
     NULL},
    {"zrangestore", cmd_zrangestore, -5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "write sortedset slow",
     "sorted-set", "Store a range of members from sorted set into another key", "6.2.0",
     ZO("the number of elements stored into the destination key."), NULL},
    {"zrevrange", cmd_zrevrange, -4, CMD_READONLY, 1, 1, 1, "read sortedset slow", "sorted-set",
     "Return a range of members in a sorted set, by index, with scores ordered from high to low",
     "1.2.0", ZO("the number of elements returned."), NULL},
    {"zrangebyscore", cmd_zrangebyscore, -4, CMD_READONLY, 1, 1, 1, "read sortedset slow",
     "sorted-set", "Return a range of members in a sorted set, by score", "1.0.5",
     ZO("the number of elements being returned." ZLIMIT), NULL},
    {"zrevrangebyscore", cmd_zrevrangebyscore, -4, CMD_READONLY, 1, 1, 1, "read sortedset slow",
     "sorted-set",
     "Return a range of members in a sorted set, by score, with scores ordered from high to low",
     "2.2.0", ZO("the number of elements being returned." ZLIMIT), NULL},
    {"zrangebylex", cmd_zrangebylex, -4, CMD_READONLY, 1, 1, 1, "read sortedset slow", "sorted-set",
     "Return a range of members in a sorted set, by lexicographical range", "2.8.9",
     ZO("the number of elements being returned." ZLIMIT), NULL},
    {"zrevrangebylex", cmd_zrevrangebylex, -4, CMD_READONLY, 1, 1, 1, "read sortedset slow",
     "sorted-set",
     "Return a range of members in a sorted set, by lexicographical range, ordered from higher to "
     "lower strings.",
     "2.8.9", ZO("the number of elements being returned." ZLIMIT), NULL},
    {"zremrangebyrank", cmd_zremrangebyrank, 4, CMD_WRITE, 1, 1, 1, "write sortedset slow",
     "sorted-set", "Remove all members in a sorted set within the given indexes", "2.0.0",
     ZO("the number of elements removed by the operation."), NULL},
    {"zremrangebyscore", cmd_zremrangebyscore, 4, CMD_WRITE, 1, 1, 1, "write sortedset slow",
     "sorted-set", "Remove all members in a sorted set within the given scores", "1.2.0",
     ZO("the number of elements removed by the operation."), NULL},
    {"zremrangebylex", cmd_zremrangebylex, 4, CMD_WRITE, 1, 1, 1, "write sortedset slow",
     "sorted-set", "Remove all members in a sorted set between the given lexicographical range",
     "2.8.9", ZO("the number of elements removed by the operation."), NULL},
    {"zpopmin", cmd_zpopmin, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write sortedset fast",
     "sorted-set", "Remove and return members with the lowest scores in a sorted set", "5.0.0",
     "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of "
     "elements popped.",
     NULL},
    {"zpopmax", cmd_zpopmax, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write sortedset fast",
     "sorted-set", "Remove and return members with the highest scores in a sorted set", "5.0.0",
     "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of "
     "elements popped.",
     NULL},
    {"zmpop", cmd_zmpop, -4, CMD_WRITE, 0, 0, 0, "write sortedset slow", "sorted-set",
     "Remove and return members with scores in a sorted set", "7.0.0",
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in "
     "the sorted set, and M being the number of elements popped.",
     NULL},
    {"zrandmember", cmd_zrandmember, -2, CMD_READONLY, 1, 1, 1, "read sortedset slow", "sorted-set",
     "Get one or multiple random elements from a sorted set", "6.2.0",
     "O(N) where N is the number of elements returned", NULL},
    {"zscan", cmd_zscan, -3, CMD_READONLY, 1, 1, 1, "read sortedset slow", "sorted-set",
     "Incrementally iterate sorted sets elements and associated scores", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
     "cursor to return back to 0. N is the number of elements inside the collection.",
     NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
