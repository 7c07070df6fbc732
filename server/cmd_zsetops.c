/*
 * cmd_zsetops.c — the sorted-set algebra: ZUNION ZINTER ZDIFF (WITHSCORES),
 * ZUNIONSTORE ZINTERSTORE ZDIFFSTORE (WEIGHTS, AGGREGATE SUM|MIN|MAX) and
 * ZINTERCARD (LIMIT), with Redis 7.0.15's semantics and reply bytes
 * (t_zset.c's zunionInterDiffGenericCommand is the reference).
 *
 * Inputs are sorted sets or sets (a set's member scores 1.0); a missing key
 * is an empty input; any other type is WRONGTYPE. Redis checks, in this
 * order: numkeys (an integer, at least 1, at most the arguments left), the
 * input keys' types, then the options left to right; we do the same so the
 * same error wins.
 *
 * The algorithm is Redis's, because the order of the aggregation decides
 * the score wherever +inf meets -inf (their sum is NaN, which Redis turns
 * into 0) and where floating-point addition rounds:
 *  - ZUNION / ZINTER / ZINTERCARD sort the inputs by cardinality, smallest
 *    first, stably (glibc's qsort is a merge sort, so Redis's is stable);
 *  - union: every input in that order folds its elements into an
 *    accumulator; an element's weighted score (weight * score, NaN -> 0)
 *    starts it or is aggregated into it;
 *  - intersection: the smallest input's elements, each looked up in the
 *    others in order; the first input's weighted score has NaN -> 0, the
 *    others' weighted scores are aggregated as they are (a SUM that turns
 *    NaN becomes 0; MIN/MAX keep the target against NaN);
 *  - difference: the first input's elements found in no other input, with
 *    their own scores (no weights).
 * Results come out sorted by (score, member) as Redis's skiplist holds them.
 * A STORE replaces the destination whatever its type, without its TTL
 * (setKey), as listpack when the result has at most zset-max-listpack-
 * entries elements none longer than zset-max-listpack-value bytes (Redis's
 * zsetConvertToListpackIfNeeded), else as skiplist; an empty result deletes
 * the destination and answers 0.
 *
 * Concurrency: every command runs its body in multi_atomic (server/multi.h):
 * its inputs are read in one state and a STORE's write commits with that
 * state validated, so it is atomic and isolated like MSET and RENAME.
 * The body may be re-run after a conflict (its replies are discarded then).
 */
#include "server/cmd.h"
#include "server/multi.h"
#include "server/zsetops_src.h"
#include "net/conn.h"
#include "net/reply.h"
#include "net/resp.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "concurrency/mem.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum zo_op { ZO_UNION, ZO_INTER, ZO_DIFF };
enum zo_aggr { ZO_SUM, ZO_MIN, ZO_MAX };

struct zo_in {
	const struct kv_entry *e; /* NULL: a missing key (empty) */
	size_t card;
	double weight;
	size_t idx; /* position in the command: the sort's tie-break */
};

/* One result element; the member is at buf + off until zo_finish. */
struct zo_item {
	size_t off, mlen;
	double score;
};

/* The result under construction. */
struct zo_res {
	struct zo_item *it;
	size_t n, cap;
	char *buf;
	size_t blen, bcap;
	size_t *slot; /* union's index by member: item index + 1, 0 = empty */
	size_t nslot; /* a power of two, or 0 */
};

static void res_free(struct zo_res *res)
{
	mem_free(res->it);
	mem_free(res->buf);
	mem_free(res->slot);
}

static struct zo_item *res_append(struct zo_res *res, const char *m, size_t mlen, double score)
{
	if (res->n == res->cap) {
		res->cap = res->cap ? res->cap * 2 : 16;
		res->it = mem_realloc(res->it, res->cap * sizeof(*res->it));
	}
	/* >= : the buffer exists even when every member is empty, so member
	 * pointers are never NULL */
	if (res->blen + mlen >= res->bcap) {
		size_t c = res->bcap ? res->bcap * 2 : 256;
		while (c < res->blen + mlen)
			c *= 2;
		res->buf = mem_realloc(res->buf, c);
		res->bcap = c;
	}
	if (mlen)
		memcpy(res->buf + res->blen, m, mlen);
	struct zo_item *it = &res->it[res->n++];
	*it = (struct zo_item){.off = res->blen, .mlen = mlen, .score = score};
	res->blen += mlen;
	return it;
}

static void res_index_grow(struct zo_res *res)
{
	size_t n = res->nslot ? res->nslot * 2 : 64;
	size_t *s = mem_calloc(n, sizeof(*s));

	for (size_t i = 0; i < res->n; i++) {
		const struct zo_item *it = &res->it[i];
		size_t h = (size_t)kvmap_hash(res->buf + it->off, it->mlen);
		while (s[h & (n - 1)])
			h++;
		s[h & (n - 1)] = i + 1;
	}
	mem_free(res->slot);
	res->slot = s;
	res->nslot = n;
}

/* The union's accumulator: the item of member m, or NULL after adding it
 * with score (*added set). */
static struct zo_item *res_upsert(struct zo_res *res, const char *m, size_t mlen, double score)
{
	if ((res->n + 1) * 2 > res->nslot)
		res_index_grow(res);
	size_t h = (size_t)kvmap_hash(m, mlen);
	for (;; h++) {
		size_t *s = &res->slot[h & (res->nslot - 1)];
		if (!*s) {
			res_append(res, m, mlen, score);
			*s = res->n;
			return NULL;
		}
		struct zo_item *it = &res->it[*s - 1];
		if (it->mlen == mlen && (mlen == 0 || memcmp(res->buf + it->off, m, mlen) == 0))
			return it;
	}
}

/* zunionInterAggregate */
static void aggregate(double *target, double val, enum zo_aggr a)
{
	switch (a) {
	case ZO_SUM:
		*target = *target + val;
		/* +inf + -inf: Redis's convention is 0 */
		if (isnan(*target))
			*target = 0.0;
		break;
	case ZO_MIN:
		*target = val < *target ? val : *target;
		break;
	case ZO_MAX:
		*target = val > *target ? val : *target;
		break;
	}
}

static int in_cmp(const void *a, const void *b)
{
	const struct zo_in *x = a, *y = b;

	if (x->card != y->card)
		return x->card < y->card ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int elem_cmp(const void *a, const void *b)
{
	const struct zs_elem *x = a, *y = b;

	if (x->score < y->score)
		return -1;
	if (x->score > y->score)
		return 1;
	size_t n = x->mlen < y->mlen ? x->mlen : y->mlen;
	int c = n ? memcmp(x->m, y->m, n) : 0;
	if (c)
		return c;
	return (x->mlen > y->mlen) - (x->mlen < y->mlen);
}

/* The walk over one input, for the callbacks. */
struct zo_walk {
	struct zo_res *res;
	const struct zo_in *src;
	size_t nsrc;
	size_t i; /* the input being walked */
	enum zo_aggr aggr;
	bool card_only;
	unsigned long long count, limit;
};

static bool union_cb(void *arg, const char *m, size_t mlen, double score)
{
	struct zo_walk *w = arg;
	double s = w->src[w->i].weight * score;

	if (isnan(s))
		s = 0;
	struct zo_item *it = res_upsert(w->res, m, mlen, s);
	if (it)
		aggregate(&it->score, s, w->aggr);
	return true;
}

static bool inter_cb(void *arg, const char *m, size_t mlen, double score)
{
	struct zo_walk *w = arg;
	double s = w->src[0].weight * score, v;
	size_t j;

	if (isnan(s))
		s = 0;
	for (j = 1; j < w->nsrc; j++) {
		/* the same key again: its score is this one (Redis's
		 * subject == subject shortcut gives the same value) */
		if (w->src[j].e == w->src[0].e)
			v = score * w->src[j].weight;
		else if (w->src[j].e && zs_find(w->src[j].e, m, mlen, &v))
			v *= w->src[j].weight;
		else
			return true;
		aggregate(&s, v, w->aggr);
	}
	if (w->card_only) {
		w->count++;
		return !(w->limit && w->count >= w->limit);
	}
	res_append(w->res, m, mlen, s);
	return true;
}

static bool diff_cb(void *arg, const char *m, size_t mlen, double score)
{
	struct zo_walk *w = arg;
	double v;

	for (size_t j = 1; j < w->nsrc; j++)
		if (w->src[j].e && zs_find(w->src[j].e, m, mlen, &v))
			return true;
	res_append(w->res, m, mlen, score);
	return true;
}

static void compute(struct zo_walk *w, enum zo_op op)
{
	const struct zo_in *src = w->src;

	switch (op) {
	case ZO_UNION:
		for (w->i = 0; w->i < w->nsrc; w->i++)
			if (src[w->i].card)
				zs_each(src[w->i].e, union_cb, w);
		break;
	case ZO_INTER:
		/* sorted: an empty first input means an empty result */
		if (src[0].card)
			zs_each(src[0].e, inter_cb, w);
		break;
	case ZO_DIFF:
		if (!src[0].card)
			break;
		/* the first key again among the others: nothing is left
		 * (zsetChooseDiffAlgorithm's 0) */
		for (size_t j = 1; j < w->nsrc; j++)
			if (src[j].e == src[0].e)
				return;
		zs_each(src[0].e, diff_cb, w);
		break;
	}
}

/* The result as (member, score) pairs, pointing into res->buf; sorted like
 * Redis's skiplist when `sort`. */
static struct zs_elem *result_elems(const struct zo_res *res, bool sort)
{
	struct zs_elem *el = mem_alloc((res->n ? res->n : 1) * sizeof(*el));

	for (size_t i = 0; i < res->n; i++)
		el[i] = (struct zs_elem){.m = res->buf + res->it[i].off,
					 .mlen = res->it[i].mlen,
					 .score = res->it[i].score};
	if (sort)
		qsort(el, res->n, sizeof(*el), elem_cmp);
	return el;
}

static void reply_elems(struct cmd_req *r, const struct zs_elem *el, size_t n, bool withscores)
{
	bool resp3 = conn_resp(r->c) >= 3;

	reply_array(r->c, (long long)(withscores && !resp3 ? 2 * n : n));
	for (size_t i = 0; i < n; i++) {
		if (withscores && resp3)
			reply_array(r->c, 2);
		reply_bulk(r->c, el[i].m, el[i].mlen);
		if (withscores)
			reply_double(r->c, el[i].score);
	}
}

/* Writes the result into argument 1 (replaces any value, no TTL; an empty
 * result deletes it) and answers the count. zs_build picks the encoding. */
static void store(struct cmd_req *r, const struct zs_elem *el, size_t n)
{
	for (;;) {
		const struct kv_entry *old =
		    db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 0);
		struct kv_entry *e = NULL;

		if (n)
			e = zs_build(r->view, r->argv[1], r->argl[1], el, n, 0);
		else if (!old)
			break;
		if (db_put(r->view, old, e) == 0)
			break;
		if (e)
			kv_entry_free(e);
	}
	reply_int(r->c, (long long)n);
}

/*
 * zunionInterDiffGenericCommand: numkeys at argument ni (1, or 2 for the
 * STORE forms, whose destination is argument 1); `name` is the command's
 * name for the numkeys error.
 */
static void zo_generic(struct cmd_req *r, const char *name, enum zo_op op, bool dst, bool card_only)
{
	int ni = dst ? 2 : 1, j;
	long long setnum;
	enum zo_aggr aggr = ZO_SUM;
	bool withscores = false;
	long long limit = 0;

	if (!cmd_arg_ll(r, ni, &setnum))
		return;
	if (setnum < 1) {
		reply_errorf(r->c, "ERR at least 1 input key is needed for '%s' command", name);
		return;
	}
	if (setnum > r->argc - (ni + 1)) {
		cmd_reply_syntax_error(r);
		return;
	}
	size_t n = (size_t)setnum;
	struct zo_in *src = mem_alloc(n * sizeof(*src));
	for (size_t i = 0; i < n; i++) {
		j = ni + 1 + (int)i;
		const struct kv_entry *e =
		    db_lookup(r->view, r->argv[j], r->argl[j], r->now_ms, NULL, 1);
		if (e && kv_entry_type(e) != KV_ZSET && kv_entry_type(e) != KV_SET) {
			cmd_reply_wrongtype(r);
			goto out;
		}
		src[i] =
		    (struct zo_in){.e = e, .card = e ? zs_card(e) : 0, .weight = 1.0, .idx = i};
	}
	for (j = ni + 1 + (int)n; j < r->argc;) {
		int rem = r->argc - j;

		if (op != ZO_DIFF && !card_only && rem >= setnum + 1 &&
		    cmd_arg_is(r, j, "weights")) {
			j++;
			for (size_t i = 0; i < n; i++, j++)
				if (!zs_parse_double(r->argv[j], r->argl[j], &src[i].weight)) {
					reply_error(r->c, "ERR weight value is not a float");
					goto out;
				}
		} else if (op != ZO_DIFF && !card_only && rem >= 2 &&
			   cmd_arg_is(r, j, "aggregate")) {
			j++;
			if (cmd_arg_is(r, j, "sum"))
				aggr = ZO_SUM;
			else if (cmd_arg_is(r, j, "min"))
				aggr = ZO_MIN;
			else if (cmd_arg_is(r, j, "max"))
				aggr = ZO_MAX;
			else {
				cmd_reply_syntax_error(r);
				goto out;
			}
			j++;
		} else if (!dst && !card_only && cmd_arg_is(r, j, "withscores")) {
			j++;
			withscores = true;
		} else if (card_only && rem >= 2 && cmd_arg_is(r, j, "limit")) {
			j++;
			/* getPositiveLongFromObjectOrReply: one text for both */
			if (!resp_str2ll(r->argv[j], r->argl[j], &limit) || limit < 0) {
				reply_error(r->c, "ERR LIMIT can't be negative");
				goto out;
			}
			j++;
		} else {
			cmd_reply_syntax_error(r);
			goto out;
		}
	}
	if (op != ZO_DIFF)
		qsort(src, n, sizeof(*src), in_cmp);

	struct zo_res res = {0};
	struct zo_walk w = {.res = &res,
			    .src = src,
			    .nsrc = n,
			    .aggr = aggr,
			    .card_only = card_only,
			    .limit = (unsigned long long)limit};
	compute(&w, op);
	if (card_only) {
		reply_int(r->c, (long long)w.count);
	} else {
		struct zs_elem *el = result_elems(&res, !dst);
		if (dst)
			store(r, el, res.n);
		else
			reply_elems(r, el, res.n, withscores);
		mem_free(el);
	}
	res_free(&res);
out:
	mem_free(src);
}

static void zunion_body(struct cmd_req *r)
{
	zo_generic(r, "zunion", ZO_UNION, false, false);
}

static void zinter_body(struct cmd_req *r)
{
	zo_generic(r, "zinter", ZO_INTER, false, false);
}

static void zdiff_body(struct cmd_req *r)
{
	zo_generic(r, "zdiff", ZO_DIFF, false, false);
}

static void zunionstore_body(struct cmd_req *r)
{
	zo_generic(r, "zunionstore", ZO_UNION, true, false);
}

static void zinterstore_body(struct cmd_req *r)
{
	zo_generic(r, "zinterstore", ZO_INTER, true, false);
}

static void zdiffstore_body(struct cmd_req *r)
{
	zo_generic(r, "zdiffstore", ZO_DIFF, true, false);
}

static void zintercard_body(struct cmd_req *r)
{
	zo_generic(r, "zintercard", ZO_INTER, false, true);
}

static void cmd_zunion(struct cmd_req *r)
{
	multi_atomic(r, zunion_body);
}

static void cmd_zinter(struct cmd_req *r)
{
	multi_atomic(r, zinter_body);
}

static void cmd_zdiff(struct cmd_req *r)
{
	multi_atomic(r, zdiff_body);
}

static void cmd_zunionstore(struct cmd_req *r)
{
	multi_atomic(r, zunionstore_body);
}

static void cmd_zinterstore(struct cmd_req *r)
{
	multi_atomic(r, zinterstore_body);
}

static void cmd_zdiffstore(struct cmd_req *r)
{
	multi_atomic(r, zdiffstore_body);
}

static void cmd_zintercard(struct cmd_req *r)
{
	multi_atomic(r, zintercard_body);
}

/* Key positions as Redis's legacy triple (the key specs, in cmd_docs.c,
 * find the numkeys-counted inputs). */
/* clang-format off */
const struct cmd_def cmd_zsetops_table[] = {
	{"zunion", cmd_zunion, -3, CMD_READONLY, 0, 0, 0, "read sortedset slow", "sorted-set",
	 "Add multiple sorted sets", "6.2.0", "O(N)+O(M*log(M))", NULL},
	{"zinter", cmd_zinter, -3, CMD_READONLY, 0, 0, 0, "read sortedset slow", "sorted-set",
	 "Intersect multiple sorted sets", "6.2.0", "O(N*K)+O(M*log(M))", NULL},
	{"zdiff", cmd_zdiff, -3, CMD_READONLY, 0, 0, 0, "read sortedset slow", "sorted-set",
	 "Subtract multiple sorted sets", "6.2.0", "O(L + (N-K)log(N))", NULL},
	{"zintercard", cmd_zintercard, -3, CMD_READONLY, 0, 0, 0, "read sortedset slow",
	 "sorted-set", "Intersect multiple sorted sets and return the cardinality of the result",
	 "7.0.0", "O(N*K)", NULL},
	{"zunionstore", cmd_zunionstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
	 "write sortedset slow", "sorted-set", "Add multiple sorted sets and store the resulting "
	 "sorted set in a new key", "2.0.0", "O(N)+O(M*log(M))", NULL},
	{"zinterstore", cmd_zinterstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
	 "write sortedset slow", "sorted-set", "Intersect multiple sorted sets and store the "
	 "resulting sorted set in a new key", "2.0.0", "O(N*K)+O(M*log(M))", NULL},
	{"zdiffstore", cmd_zdiffstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
	 "write sortedset slow", "sorted-set", "Subtract multiple sorted sets and store the "
	 "resulting sorted set in a new key", "6.2.0", "O(L + (N-K)log(N))", NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
