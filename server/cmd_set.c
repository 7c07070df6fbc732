/*
 * cmd_set.c — the set commands: SADD SREM SCARD SMEMBERS SISMEMBER
 * SMISMEMBER SRANDMEMBER SPOP SMOVE SINTER SINTERCARD SINTERSTORE SUNION
 * SUNIONSTORE SDIFF SDIFFSTORE SSCAN, with Redis 7.0.15's semantics, reply
 * bytes and encodings (t_set.c is the reference: which arguments are checked
 * before the key is looked up, which replies are sets (RESP3 '~') and which
 * arrays, the order Redis replies in where it is defined).
 *
 * Values are storage/tset.h's: an intset blob or a persistent tree, replaced
 * whole by db_put like strings. A write reads the current entry, builds the
 * new set with a tset_build (Redis's conversion rules), and publishes it with
 * one CAS, retrying from the read if another client won. Replies that come
 * from the value are copied (struct mlist) before the put, because a
 * published put may free the edit's private nodes, and are sent only once
 * the put succeeded, so a retry never doubles a reply.
 *
 * Multi-key commands (SMOVE, SINTER/SUNION/SDIFF of several keys, their
 * STORE forms, SINTERCARD) run in multi_atomic(): one isolated transaction,
 * so they read all their keys at one instant and write all at once.
 *
 * Where Redis's order is defined (an intset, and every result Redis builds
 * into a fresh intset: SUNION, SDIFF, SPOP of the whole set) kvsd replies
 * in the same order; a hashtable replies in its tree's order.
 */
#include "server/cmd.h"
#include "server/multi.h"
#include "server/strutil.h"
#include "net/reply.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/tset.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* SRANDMEMBER with a negative count repeats members: Redis would build a
 * reply of |count| elements whatever its size (and run out of memory on a
 * huge one); kvsd refuses counts past this (a reply of at least 1 GiB). */
#define SRAND_REPEAT_MAX (1LL << 26)
/* t_set.c's SPOP_MOVE_STRATEGY_MUL and SRANDMEMBER_SUB_STRATEGY_MUL */
#define SPOP_MOVE_MUL 5

/* ---- a copied list of members, replied after the put */

/* The first bytes of a list live in the struct: SPOP of one short member
 * (the usual call) then copies it without a heap allocation and free, ~200
 * of its ~6,000 instructions on a large set (docs/BENCHMARKS.md, branch
 * group13). Room for one length word and a 40-byte member. */
#define ML_LOCAL 48

/* buf is NULL, local or a heap block: do not copy a filled struct */
struct mlist {
	char *buf;
	size_t len, cap;
	size_t n;
	char local[ML_LOCAL];
};

static void ml_add(struct mlist *l, const char *m, size_t mlen)
{
	size_t need = l->len + sizeof(size_t) + mlen;

	if (need > l->cap) {
		if (l->buf == NULL && need <= ML_LOCAL) {
			l->buf = l->local;
			l->cap = ML_LOCAL;
		} else {
			size_t cap = need * 2 > 256 ? need * 2 : 256;
			char *nb = mem_alloc(cap);

			if (l->len)
				memcpy(nb, l->buf, l->len);
			if (l->buf != l->local)
				mem_free(l->buf);
			l->buf = nb;
			l->cap = cap;
		}
	}
	memcpy(l->buf + l->len, &mlen, sizeof(size_t));
	memcpy(l->buf + l->len + sizeof(size_t), m, mlen);
	l->len = need;
	l->n++;
}

/* The member stored at byte offset off. */
static const char *ml_at(const struct mlist *l, size_t off, size_t *mlen)
{
	memcpy(mlen, l->buf + off, sizeof(size_t));
	return l->buf + off + sizeof(size_t);
}

static void ml_reply(struct cmd_req *r, const struct mlist *l)
{
	for (size_t off = 0; off < l->len;) {
		size_t mlen;
		const char *m = ml_at(l, off, &mlen);

		reply_bulk(r->c, m, mlen);
		off += sizeof(size_t) + mlen;
	}
}

static void ml_reset(struct mlist *l)
{
	l->len = 0;
	l->n = 0;
}

static void ml_free(struct mlist *l)
{
	if (l->buf != l->local)
		mem_free(l->buf);
	memset(l, 0, sizeof(*l));
}

/* ---- lookups */

static bool same_arg(const struct cmd_req *r, int i, int j)
{
	return r->argl[i] == r->argl[j] && memcmp(r->argv[i], r->argv[j], r->argl[i]) == 0;
}

/* The set at argument i (NULL if absent), or false after replying
 * WRONGTYPE when the key holds another type. */
static bool get_set(struct cmd_req *r, int i, int count_stats, const struct kv_entry **out)
{
	const struct kv_entry *e =
	    db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, count_stats);

	if (e && kv_entry_type(e) != KV_SET) {
		cmd_reply_wrongtype(r);
		return false;
	}
	*out = e;
	return true;
}

static struct coll_ctx *ctx_of(struct cmd_req *r)
{
	return db_coll_ctx(r->view);
}

/* Publishes b's set (or, empty, deletes) over old at key argument ki with
 * the given expiry. 0 or -EAGAIN (the caller retries). */
static int put_build(struct cmd_req *r, int ki, const struct kv_entry *old, struct tset_build *b,
		     int64_t expire_ms)
{
	struct kv_entry *e = NULL;

	if (tset_build_count(b) > 0)
		e = tset_build_entry(b, r->argv[ki], r->argl[ki], expire_ms);
	if (!e && !old)
		return 0;
	if (db_put(r->view, old, e) == 0)
		return 0;
	if (e)
		kv_entry_free(e);
	return -1;
}

/* In a transaction's overlay a put cannot lose a race. */
static void put_build_txn(struct cmd_req *r, int ki, const struct kv_entry *old,
			  struct tset_build *b, int64_t expire_ms)
{
	if (put_build(r, ki, old, b, expire_ms) != 0)
		KV_PANIC("set: overlay write failed");
}

/* Removes a random member of b into l (copied first: deleting may move it). */
static void pick_remove(struct tset_build *b, uint64_t rnd, struct mlist *l)
{
	struct tset_src s;
	char buf[TSET_LL_MAX];
	const char *m;
	size_t mlen, off = l->len;

	tset_build_src(b, &s);
	tset_src_at(&s, tset_pick_pos(rnd, tset_src_count(&s)), buf, &m, &mlen);
	ml_add(l, m, mlen);
	m = ml_at(l, off, &mlen);
	tset_build_del_present(b, m, mlen);
}

/* Every member of s into l, in s's order. */
static void ml_add_all(struct mlist *l, const struct tset_src *s)
{
	struct tset_iter it;
	const char *m;
	size_t mlen;

	tset_iter_init(&it, s, 0);
	while (tset_iter_next(&it, &m, &mlen))
		ml_add(l, m, mlen);
}

/* ---- SADD SREM */

static void cmd_sadd(struct cmd_req *r)
{
	long long added;

	for (;;) {
		const struct kv_entry *old;
		struct tset_build b;

		if (!get_set(r, 1, 0, &old))
			return;
		tset_build_from(&b, ctx_of(r), old);
		added = 0;
		for (int i = 2; i < r->argc; i++)
			added += tset_build_add(&b, r->argv[i], r->argl[i]);
		if (added == 0) {
			tset_build_done(&b);
			break;
		}
		int rc = put_build(r, 1, old, &b, old ? kv_entry_expire(old) : 0);

		tset_build_done(&b);
		if (rc == 0)
			break;
	}
	reply_int(r->c, added);
}

static void cmd_srem(struct cmd_req *r)
{
	long long removed;

	for (;;) {
		const struct kv_entry *old;
		struct tset_build b;

		if (!get_set(r, 1, 0, &old))
			return;
		removed = 0;
		if (!old)
			break;
		tset_build_from(&b, ctx_of(r), old);
		for (int i = 2; i < r->argc; i++)
			removed += tset_build_del(&b, r->argv[i], r->argl[i]);
		if (removed == 0) {
			tset_build_done(&b);
			break;
		}
		int rc = put_build(r, 1, old, &b, kv_entry_expire(old));

		tset_build_done(&b);
		if (rc == 0)
			break;
	}
	reply_int(r->c, removed);
}

/* ---- SCARD SISMEMBER SMISMEMBER */

static void cmd_scard(struct cmd_req *r)
{
	const struct kv_entry *e;

	if (get_set(r, 1, 1, &e))
		reply_int(r->c, e ? (long long)tset_count(e) : 0);
}

static void cmd_sismember(struct cmd_req *r)
{
	const struct kv_entry *e;

	if (get_set(r, 1, 1, &e))
		reply_int(r->c, e && tset_ismember(e, r->argv[2], r->argl[2]));
}

static void cmd_smismember(struct cmd_req *r)
{
	const struct kv_entry *e;

	if (!get_set(r, 1, 1, &e))
		return;
	reply_array(r->c, r->argc - 2);
	for (int i = 2; i < r->argc; i++)
		reply_int(r->c, e && tset_ismember(e, r->argv[i], r->argl[i]));
}

/* ---- SINTER SMEMBERS SINTERCARD SINTERSTORE (sinterGenericCommand) */

struct sop {
	int first, nkeys; /* key arguments */
	int dst;	  /* STORE: the destination's argument, else 0 */
	bool card;	  /* SINTERCARD */
	long long limit;  /* SINTERCARD LIMIT (0: none) */
};

static void reply_empty_store(struct cmd_req *r, int dst)
{
	const struct kv_entry *old =
	    db_lookup(r->view, r->argv[dst], r->argl[dst], r->now_ms, NULL, 0);

	if (old && db_put(r->view, old, NULL) != 0)
		KV_PANIC("set: overlay write failed");
	reply_int(r->c, 0);
}

static void sinter_generic(struct cmd_req *r, const struct sop *op)
{
	const struct kv_entry **sets = mem_alloc(sizeof(*sets) * (size_t)op->nkeys);
	struct tset_src *src = mem_alloc(sizeof(*src) * (size_t)op->nkeys);
	int empty = 0;
	struct mlist out = {0};
	long long card = 0;

	for (int j = 0; j < op->nkeys; j++) {
		if (!get_set(r, op->first + j, 1, &sets[j]))
			goto out;
		empty += !sets[j];
	}
	if (empty) {
		if (op->dst)
			reply_empty_store(r, op->dst);
		else if (op->card)
			reply_int(r->c, 0);
		else
			reply_set(r->c, 0);
		goto out;
	}
	/* smallest first; a stable sort keeps argument order on ties, as glibc's
	 * qsort (a merge sort) does for Redis */
	for (int j = 1; j < op->nkeys; j++) {
		const struct kv_entry *e = sets[j];
		size_t n = tset_count(e);
		int k = j;

		while (k > 0 && tset_count(sets[k - 1]) > n) {
			sets[k] = sets[k - 1];
			k--;
		}
		sets[k] = e;
	}
	for (int j = 0; j < op->nkeys; j++)
		tset_src_of(sets[j], &src[j]);

	struct tset_build b;
	struct tset_iter it;
	const char *m;
	size_t mlen;

	if (op->dst)
		tset_build_init(&b, ctx_of(r));
	tset_iter_init(&it, &src[0], 0);
	while (tset_iter_next(&it, &m, &mlen)) {
		int j;

		for (j = 1; j < op->nkeys; j++) {
			if (sets[j] == sets[0])
				continue;
			if (!tset_src_has(&src[j], m, mlen))
				break;
		}
		if (j < op->nkeys)
			continue;
		card++;
		if (op->card) {
			if (op->limit && card >= op->limit)
				break;
		} else if (op->dst) {
			(void)tset_build_add(&b, m, mlen);
		} else {
			ml_add(&out, m, mlen);
		}
	}
	if (op->card) {
		reply_int(r->c, card);
	} else if (op->dst) {
		const struct kv_entry *old =
		    db_lookup(r->view, r->argv[op->dst], r->argl[op->dst], r->now_ms, NULL, 0);
		long long n = (long long)tset_build_count(&b);

		put_build_txn(r, op->dst, old, &b, 0);
		tset_build_done(&b);
		reply_int(r->c, n);
	} else {
		reply_set(r->c, (long long)out.n);
		ml_reply(r, &out);
	}
out:
	ml_free(&out);
	mem_free(src);
	mem_free(sets);
}

static void sinter_body(struct cmd_req *r)
{
	struct sop op = {.first = 1, .nkeys = r->argc - 1};

	sinter_generic(r, &op);
}

static void cmd_sinter(struct cmd_req *r)
{
	if (r->argc == 2)
		sinter_body(r);
	else
		multi_atomic(r, sinter_body);
}

static void sinterstore_body(struct cmd_req *r)
{
	struct sop op = {.first = 2, .nkeys = r->argc - 2, .dst = 1};

	sinter_generic(r, &op);
}

static void cmd_sinterstore(struct cmd_req *r)
{
	multi_atomic(r, sinterstore_body);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit]: arguments checked before
 * any key is read. */
static int sintercard_args(struct cmd_req *r, struct sop *op)
{
	long long numkeys;

	if (!resp_str2ll(r->argv[1], r->argl[1], &numkeys) || numkeys < 1) {
		reply_error(r->c, "ERR numkeys should be greater than 0");
		return 0;
	}
	if (numkeys > r->argc - 2) {
		reply_error(r->c, "ERR Number of keys can't be greater than number of args");
		return 0;
	}
	*op = (struct sop){.first = 2, .nkeys = (int)numkeys, .card = true};
	for (int j = 2 + (int)numkeys; j < r->argc; j++) {
		if (cmd_arg_is(r, j, "limit") && j + 1 < r->argc) {
			j++;
			if (!resp_str2ll(r->argv[j], r->argl[j], &op->limit) || op->limit < 0) {
				reply_error(r->c, "ERR LIMIT can't be negative");
				return 0;
			}
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	return 1;
}

static void sintercard_body(struct cmd_req *r)
{
	struct sop op;

	if (sintercard_args(r, &op))
		sinter_generic(r, &op);
}

static void cmd_sintercard(struct cmd_req *r)
{
	struct sop op;

	if (!sintercard_args(r, &op)) /* errors need no transaction */
		return;
	if (op.nkeys == 1)
		sinter_generic(r, &op);
	else
		multi_atomic(r, sintercard_body);
}

/* ---- SUNION SDIFF and their STORE forms (sunionDiffGenericCommand) */

enum { OP_UNION, OP_DIFF };

static void sunion_diff(struct cmd_req *r, int first, int nkeys, int dst, int opk)
{
	const struct kv_entry **sets = mem_alloc(sizeof(*sets) * (size_t)nkeys);
	bool sameset = false;
	int algo = 1;
	struct tset_build b;
	struct tset_src s;
	struct tset_iter it;
	const char *m;
	size_t mlen;

	for (int j = 0; j < nkeys; j++) {
		if (!get_set(r, first + j, 1, &sets[j])) {
			mem_free(sets);
			return;
		}
		if (j > 0 && sets[j] && sets[j] == sets[0])
			sameset = true;
	}
	/* Redis picks the diff algorithm by estimated work; it decides whether
	 * the temporary set holds all of the first set (algorithm 2, and so
	 * whether it converted to hashtable on the way) */
	if (opk == OP_DIFF && sets[0] && !sameset) {
		long long one = 0, two = 0;

		for (int j = 0; j < nkeys; j++) {
			if (!sets[j])
				continue;
			one += (long long)tset_count(sets[0]);
			two += (long long)tset_count(sets[j]);
		}
		one /= 2;
		algo = one <= two ? 1 : 2;
	}
	/* the result starts as an empty intset (createIntsetObject) */
	tset_build_init(&b, dst ? ctx_of(r) : NULL);
	if (opk == OP_UNION) {
		for (int j = 0; j < nkeys; j++) {
			if (!sets[j])
				continue;
			tset_src_of(sets[j], &s);
			tset_iter_init(&it, &s, 0);
			while (tset_iter_next(&it, &m, &mlen))
				(void)tset_build_add(&b, m, mlen);
		}
	} else if (sameset || !sets[0]) {
		/* empty */
	} else if (algo == 1) {
		struct tset_src *src = mem_alloc(sizeof(*src) * (size_t)nkeys);

		for (int j = 0; j < nkeys; j++)
			tset_src_of(sets[j], &src[j]);
		tset_iter_init(&it, &src[0], 0);
		while (tset_iter_next(&it, &m, &mlen)) {
			int j;

			for (j = 1; j < nkeys; j++)
				if (sets[j] && tset_src_has(&src[j], m, mlen))
					break;
			if (j == nkeys)
				(void)tset_build_add(&b, m, mlen);
		}
		mem_free(src);
	} else {
		for (int j = 0; j < nkeys; j++) {
			if (!sets[j])
				continue;
			tset_src_of(sets[j], &s);
			tset_iter_init(&it, &s, 0);
			while (tset_iter_next(&it, &m, &mlen)) {
				if (j == 0)
					(void)tset_build_add(&b, m, mlen);
				else
					(void)tset_build_del(&b, m, mlen);
			}
			if (tset_build_count(&b) == 0)
				break;
		}
	}
	if (!dst) {
		tset_build_src(&b, &s);
		reply_set(r->c, (long long)tset_src_count(&s));
		tset_iter_init(&it, &s, 0);
		while (tset_iter_next(&it, &m, &mlen))
			reply_bulk(r->c, m, mlen);
	} else {
		const struct kv_entry *old =
		    db_lookup(r->view, r->argv[dst], r->argl[dst], r->now_ms, NULL, 0);
		long long n = (long long)tset_build_count(&b);

		put_build_txn(r, dst, old, &b, 0);
		reply_int(r->c, n);
	}
	tset_build_done(&b);
	mem_free(sets);
}

static void sunion_body(struct cmd_req *r)
{
	sunion_diff(r, 1, r->argc - 1, 0, OP_UNION);
}
static void sdiff_body(struct cmd_req *r)
{
	sunion_diff(r, 1, r->argc - 1, 0, OP_DIFF);
}
static void sunionstore_body(struct cmd_req *r)
{
	sunion_diff(r, 2, r->argc - 2, 1, OP_UNION);
}
static void sdiffstore_body(struct cmd_req *r)
{
	sunion_diff(r, 2, r->argc - 2, 1, OP_DIFF);
}

static void cmd_sunion(struct cmd_req *r)
{
	if (r->argc == 2)
		sunion_body(r);
	else
		multi_atomic(r, sunion_body);
}
static void cmd_sdiff(struct cmd_req *r)
{
	if (r->argc == 2)
		sdiff_body(r);
	else
		multi_atomic(r, sdiff_body);
}
static void cmd_sunionstore(struct cmd_req *r)
{
	multi_atomic(r, sunionstore_body);
}
static void cmd_sdiffstore(struct cmd_req *r)
{
	multi_atomic(r, sdiffstore_body);
}

/* ---- SMOVE */

static void smove_body(struct cmd_req *r)
{
	const struct kv_entry *src, *dst;
	struct tset_build bs, bd;

	if (!get_set(r, 1, 0, &src))
		return;
	if (!src) {
		/* Redis answers 0 before it looks at dst's type */
		reply_int(r->c, 0);
		return;
	}
	if (!get_set(r, 2, 0, &dst))
		return;
	if (same_arg(r, 1, 2)) {
		reply_int(r->c, tset_ismember(src, r->argv[3], r->argl[3]));
		return;
	}
	tset_build_from(&bs, ctx_of(r), src);
	if (!tset_build_del(&bs, r->argv[3], r->argl[3])) {
		tset_build_done(&bs);
		reply_int(r->c, 0);
		return;
	}
	put_build_txn(r, 1, src, &bs, kv_entry_expire(src));
	tset_build_done(&bs);
	tset_build_from(&bd, ctx_of(r), dst);
	if (tset_build_add(&bd, r->argv[3], r->argl[3]))
		put_build_txn(r, 2, dst, &bd, dst ? kv_entry_expire(dst) : 0);
	tset_build_done(&bd);
	reply_int(r->c, 1);
}

static void cmd_smove(struct cmd_req *r)
{
	multi_atomic(r, smove_body);
}

/* ---- SPOP */

/* getPositiveLongFromObjectOrReply with Redis's default message */
static int positive_arg(struct cmd_req *r, int i, long long *out)
{
	if (!resp_str2ll(r->argv[i], r->argl[i], out) || *out < 0) {
		reply_error(r->c, "ERR value is out of range, must be positive");
		return 0;
	}
	return 1;
}

static void spop_one(struct cmd_req *r)
{
	struct mlist l = {0};

	for (;;) {
		const struct kv_entry *old;
		struct tset_build b;

		if (!get_set(r, 1, 0, &old))
			goto out;
		if (!old) {
			reply_null(r->c);
			goto out;
		}
		ml_reset(&l);
		tset_build_from(&b, ctx_of(r), old);
		pick_remove(&b, wctx_rand64(r->ctx), &l);
		int rc = put_build(r, 1, old, &b, kv_entry_expire(old));

		tset_build_done(&b);
		if (rc == 0)
			break;
	}
	ml_reply(r, &l);
out:
	ml_free(&l);
}

static void spop_count(struct cmd_req *r)
{
	long long count;
	struct mlist l = {0};

	if (!positive_arg(r, 2, &count))
		return;
	for (;;) {
		const struct kv_entry *old;
		struct tset_build b, nb;
		struct tset_src s;
		int rc;

		if (!get_set(r, 1, 0, &old))
			goto out;
		if (!old || count == 0) {
			reply_set(r->c, 0);
			goto out;
		}
		ml_reset(&l);
		size_t size = tset_count(old);

		if ((unsigned long long)count >= size) {
			/* case 1: the whole set, replied as SUNION of it replies */
			tset_src_of(old, &s);
			if (s.big && size > (size_t)coll_limit(COLL_SET_MAX_INTSET)) {
				ml_add_all(&l, &s); /* stays hashtable: tree order */
			} else {
				struct tset_iter it;
				const char *m;
				size_t mlen;

				tset_build_init(&nb, NULL);
				tset_iter_init(&it, &s, 0);
				while (tset_iter_next(&it, &m, &mlen))
					(void)tset_build_add(&nb, m, mlen);
				tset_build_src(&nb, &s);
				ml_add_all(&l, &s);
				tset_build_done(&nb);
			}
			rc = db_put(r->view, old, NULL);
		} else if ((size - (size_t)count) * SPOP_MOVE_MUL > (size_t)count) {
			/* case 2: pop count random members */
			tset_build_from(&b, ctx_of(r), old);
			for (long long i = 0; i < count; i++)
				pick_remove(&b, wctx_rand64(r->ctx), &l);
			rc = put_build(r, 1, old, &b, kv_entry_expire(old));
			tset_build_done(&b);
		} else {
			/* case 3: move the few that stay into a new set (which
			 * is how a hashtable of integers returns to intset) and
			 * reply the rest */
			size_t remaining = size - (size_t)count;
			struct mlist keep = {0};

			tset_build_from(&b, ctx_of(r), old);
			tset_build_init(&nb, ctx_of(r));
			for (size_t i = 0; i < remaining; i++) {
				size_t mlen;

				ml_reset(&keep);
				pick_remove(&b, wctx_rand64(r->ctx), &keep);
				const char *m = ml_at(&keep, 0, &mlen);

				(void)tset_build_add(&nb, m, mlen);
			}
			ml_free(&keep);
			tset_build_src(&b, &s);
			ml_add_all(&l, &s);
			rc = put_build(r, 1, old, &nb, kv_entry_expire(old));
			tset_build_done(&nb);
			tset_build_done(&b);
		}
		if (rc == 0)
			break;
	}
	reply_set(r->c, (long long)l.n);
	ml_reply(r, &l);
out:
	ml_free(&l);
}

static void cmd_spop(struct cmd_req *r)
{
	if (r->argc == 3)
		spop_count(r);
	else if (r->argc > 3)
		cmd_reply_syntax_error(r);
	else
		spop_one(r);
}

/* ---- SRANDMEMBER */

/* count distinct positions out of n (Floyd's sampling), in pos[]. */
static void sample_distinct(struct cmd_req *r, size_t n, size_t count, size_t *pos)
{
	size_t cap = 16, k = 0;
	size_t *tab;

	while (cap < count * 2)
		cap *= 2;
	tab = mem_alloc(cap * sizeof(*tab));
	memset(tab, 0xff, cap * sizeof(*tab)); /* SIZE_MAX: empty */
	for (size_t j = n - count; j < n; j++) {
		size_t t = (size_t)(wctx_rand64(r->ctx) % (j + 1));
		size_t h = (t * 0x9e3779b97f4a7c15ULL) & (cap - 1);
		bool found = false;

		while (tab[h] != SIZE_MAX) {
			if (tab[h] == t) {
				found = true;
				break;
			}
			h = (h + 1) & (cap - 1);
		}
		if (found) {
			t = j; /* j is new: every earlier pick is < j */
			h = (t * 0x9e3779b97f4a7c15ULL) & (cap - 1);
			while (tab[h] != SIZE_MAX)
				h = (h + 1) & (cap - 1);
		}
		tab[h] = t;
		pos[k++] = t;
	}
	mem_free(tab);
}

static void srandmember_count(struct cmd_req *r)
{
	long long l;
	const struct kv_entry *e;
	struct tset_src s;
	char buf[TSET_LL_MAX];
	const char *m;
	size_t mlen;

	if (!resp_str2ll(r->argv[2], r->argl[2], &l)) {
		cmd_reply_not_integer(r);
		return;
	}
	if (l == LLONG_MIN) {
		reply_error(r->c,
			    "ERR value is out of range, value must between -9223372036854775807 "
			    "and 9223372036854775807");
		return;
	}
	bool uniq = l >= 0;
	unsigned long long count = uniq ? (unsigned long long)l : (unsigned long long)-l;

	if (!get_set(r, 1, 1, &e))
		return;
	if (!e || count == 0) {
		reply_array(r->c, 0);
		return;
	}
	tset_src_of(e, &s);
	size_t size = tset_src_count(&s);

	if (!uniq || count == 1) {
		if (count > SRAND_REPEAT_MAX) {
			reply_errorf(r->c,
				     "ERR value is out of range, kvsd replies at most %lld "
				     "repeated members",
				     SRAND_REPEAT_MAX);
			return;
		}
		reply_array(r->c, (long long)count);
		while (count--) {
			tset_src_at(&s, (size_t)(wctx_rand64(r->ctx) % size), buf, &m, &mlen);
			reply_bulk(r->c, m, mlen);
		}
		return;
	}
	if (count >= size) {
		struct tset_iter it;

		reply_array(r->c, (long long)size);
		tset_iter_init(&it, &s, 0);
		while (tset_iter_next(&it, &m, &mlen))
			reply_bulk(r->c, m, mlen);
		return;
	}
	size_t *pos = mem_alloc((size_t)count * sizeof(*pos));

	sample_distinct(r, size, (size_t)count, pos);
	reply_array(r->c, (long long)count);
	for (size_t i = 0; i < count; i++) {
		tset_src_at(&s, pos[i], buf, &m, &mlen);
		reply_bulk(r->c, m, mlen);
	}
	mem_free(pos);
}

static void cmd_srandmember(struct cmd_req *r)
{
	const struct kv_entry *e;
	char buf[TSET_LL_MAX];
	const char *m;
	size_t mlen;

	if (r->argc == 3) {
		srandmember_count(r);
		return;
	}
	if (r->argc > 3) {
		cmd_reply_syntax_error(r);
		return;
	}
	if (!get_set(r, 1, 1, &e))
		return;
	if (!e) {
		reply_null(r->c);
		return;
	}
	tset_random(e, wctx_rand64(r->ctx), buf, &m, &mlen);
	reply_bulk(r->c, m, mlen);
}

/* ---- SSCAN */

/*
 * SSCAN key cursor [MATCH pattern] [COUNT count]. An intset answers every
 * member and cursor 0, as Redis. A hashtable's cursor is a position in hash
 * order: the hash of the next member to return (0: from the start), so it
 * survives writes between calls as Redis's reverse-binary cursor does: a
 * member present for the whole scan is returned; one added or removed
 * meanwhile may or may not be. A call returns COUNT members (more when
 * members share a hash, which are never split across calls).
 */
static void cmd_sscan(struct cmd_req *r)
{
	const struct kv_entry *e;
	uint64_t cursor, next = 0;
	long long count = 10;
	const char *pat = NULL;
	size_t plen = 0;
	struct mlist l = {0};
	char cbuf[24];

	if (!cmd_parse_cursor(r->argv[2], r->argl[2], &cursor)) {
		reply_error(r->c, "ERR invalid cursor");
		return;
	}
	if (!get_set(r, 1, 1, &e))
		return;
	if (!e) {
		static const char emptyscan[] = "*2\r\n$1\r\n0\r\n*0\r\n";

		reply_raw(r->c, emptyscan, sizeof(emptyscan) - 1);
		return;
	}
	if (!cmd_scan_options(r, 3, &pat, &plen, &count))
		return;
	struct tset_src s;
	struct tset_iter it;
	const char *m;
	size_t mlen;

	tset_src_of(e, &s);
	if (!s.big) {
		tset_iter_init(&it, &s, 0);
		while (tset_iter_next(&it, &m, &mlen))
			if (!pat || su_glob_match(pat, plen, m, mlen, 0))
				ml_add(&l, m, mlen);
	} else {
		size_t n = pt_count(s.root);
		size_t i = pt_rank(s.root, cursor, NULL, 0);
		size_t end = n - i > (unsigned long long)count ? i + (size_t)count : n;
		struct pt_iter pit;
		struct pt_elem el;
		uint64_t lastkey = 0;

		pt_iter_seek(&pit, s.root, i);
		for (; i < n && pt_iter_next(&pit, &el); i++) {
			if (i >= end && el.key != lastkey) {
				next = el.key;
				break;
			}
			lastkey = el.key;
			if (!pat || su_glob_match(pat, plen, el.a, el.alen, 0))
				ml_add(&l, el.a, el.alen);
		}
	}
	reply_array(r->c, 2);
	reply_bulk(r->c, cbuf,
		   (size_t)snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)next));
	reply_array(r->c, (long long)l.n);
	ml_reply(r, &l);
	ml_free(&l);
}

const struct cmd_def cmd_set_table[] = {
    {"sadd", cmd_sadd, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write set fast", "set",
     "Add one or more members to a set", "1.0.0", "O(1) for each element added", NULL},
    {"srem", cmd_srem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "write set fast", "set",
     "Remove one or more members from a set", "1.0.0", "O(N)", NULL},
    {"scard", cmd_scard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read set fast", "set",
     "Get the number of members in a set", "1.0.0", "O(1)", NULL},
    {"smembers", cmd_sinter, 2, CMD_READONLY, 1, 1, 1, "read set slow", "set",
     "Get all the members in a set", "1.0.0", "O(N)", NULL},
    {"sismember", cmd_sismember, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read set fast", "set",
     "Determine if a given value is a member of a set", "1.0.0", "O(1)", NULL},
    {"smismember", cmd_smismember, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read set fast", "set",
     "Returns the membership associated with the given elements for a set", "6.2.0", "O(N)", NULL},
    {"srandmember", cmd_srandmember, -2, CMD_READONLY | CMD_RANDOM, 1, 1, 1, "read set slow", "set",
     "Get one or multiple random members from a set", "1.0.0", "O(N)", NULL},
    {"spop", cmd_spop, -2, CMD_WRITE | CMD_FAST | CMD_RANDOM, 1, 1, 1, "write set fast", "set",
     "Remove and return one or multiple random members from a set", "1.0.0", "O(N)", NULL},
    {"smove", cmd_smove, 4, CMD_WRITE | CMD_FAST, 1, 2, 1, "write set fast", "set",
     "Move a member from one set to another", "1.0.0", "O(1)", NULL},
    {"sinter", cmd_sinter, -2, CMD_READONLY, 1, -1, 1, "read set slow", "set",
     "Intersect multiple sets", "1.0.0", "O(N*M)", NULL},
    {"sintercard", cmd_sintercard, -3, CMD_READONLY, 0, 0, 0, "read set slow", "set",
     "Intersect multiple sets and return the cardinality of the result", "7.0.0", "O(N*M)", NULL},
    {"sinterstore", cmd_sinterstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "write set slow", "set",
     "Intersect multiple sets and store the resulting set in a key", "1.0.0", "O(N*M)", NULL},
    {"sunion", cmd_sunion, -2, CMD_READONLY, 1, -1, 1, "read set slow", "set", "Add multiple sets",
     "1.0.0", "O(N)", NULL},
    {"sunionstore", cmd_sunionstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "write set slow", "set",
     "Add multiple sets and store the resulting set in a key", "1.0.0", "O(N)", NULL},
    {"sdiff", cmd_sdiff, -2, CMD_READONLY, 1, -1, 1, "read set slow", "set",
     "Subtract multiple sets", "1.0.0", "O(N)", NULL},
    {"sdiffstore", cmd_sdiffstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "write set slow", "set",
     "Subtract multiple sets and store the resulting set in a key", "1.0.0", "O(N)", NULL},
    {"sscan", cmd_sscan, -3, CMD_READONLY | CMD_RANDOM, 1, 1, 1, "read set slow", "set",
     "Incrementally iterate Set elements", "2.8.0", "O(1) for every call", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
