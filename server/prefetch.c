/*
 * prefetch.c — group prefetching for a pipelined batch: see prefetch.h.
 */
#include "server/prefetch.h"
#include "net/conn.h"
#include "net/resp.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/ptree.h"
#include "storage/tset.h"
#include "concurrency/wctx.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct db *pf_db;

/* Trees smaller than this are not walked: their nodes mostly sit in the
 * caches, where a walk's instructions (~800 per request, and the batch's
 * parse) cost more than the overlap saves. Measured at P16 (CPU per
 * request, kvsd against kvsd): 1,000 members SADD -14%, ZADD -10%; 20,000
 * -4..0%; 100,000 0..+9%; 2,000,000 +31..+48% (docs/BENCHMARKS.md). */
#define PF_MIN_ELEMS 32768

void prefetch_setup(struct db *db)
{
	pf_db = db;
}

/* What a command reads by member: the type its key must have and the
 * argument holding the member (ZADD also inserts by score). SPOP and
 * ZPOPMAX name no member: pf_spop and pf_pop foresee theirs (ZPOPMIN's
 * by-member delete is deferred: nothing to foresee). */
struct pf_cmd {
	const char *name;
	unsigned char len;
	unsigned char type; /* enum kv_type */
	unsigned char arg;
	unsigned char score; /* ZADD: the argument holding the score, else 0 */
};

static const struct pf_cmd pf_cmds[] = {
    {"sadd", 4, KV_SET, 2, 0},	    {"srem", 4, KV_SET, 2, 0},
    {"sismember", 9, KV_SET, 2, 0}, {"smismember", 10, KV_SET, 2, 0},
    {"hset", 4, KV_HASH, 2, 0},	    {"hsetnx", 6, KV_HASH, 2, 0},
    {"hmset", 5, KV_HASH, 2, 0},    {"hget", 4, KV_HASH, 2, 0},
    {"hmget", 5, KV_HASH, 2, 0},    {"hdel", 4, KV_HASH, 2, 0},
    {"hexists", 7, KV_HASH, 2, 0},  {"hstrlen", 7, KV_HASH, 2, 0},
    {"hincrby", 7, KV_HASH, 2, 0},  {"hincrbyfloat", 12, KV_HASH, 2, 0},
    {"zscore", 6, KV_ZSET, 2, 0},   {"zmscore", 7, KV_ZSET, 2, 0},
    {"zrem", 4, KV_ZSET, 2, 0},	    {"zrank", 5, KV_ZSET, 2, 0},
    {"zrevrank", 8, KV_ZSET, 2, 0}, {"zincrby", 7, KV_ZSET, 3, 0},
    {"zadd", 4, KV_ZSET, 3, 2},
};

static const struct pf_cmd *pf_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(pf_cmds) / sizeof(pf_cmds[0]); i++)
		if (pf_cmds[i].len == len && strncasecmp(pf_cmds[i].name, name, len) == 0)
			return &pf_cmds[i];
	return NULL;
}

/* One lookup being walked down: by (key, a), or by rank (byrank: the rank
 * in alen). */
struct pf_walk {
	const struct pt_node *n;
	uint64_t key;
	const char *a;
	size_t alen;
	bool byrank;
};

/* A run of pops of one key, one member each (SPOP, or ZPOPMAX): the run's
 * j-th pop is the j-th of the batch on that key, if nothing else writes the
 * key meanwhile (a hint may be wrong). */
struct pf_pops {
	const char *key;
	size_t klen;
	int kind; /* 1 SPOP, 3 ZPOPMAX */
	size_t next;
};

/* What the walks of one batch share. */
struct pf_batch {
	struct conn *c;
	const char *key; /* the last key looked up, and its entry (or NULL): */
	size_t klen;	 /* a batch's requests mostly name one key */
	const struct kv_entry *e;
	struct pf_pops run;
	uint64_t rng; /* a copy of the worker's generator: nothing is drawn */
};

/* The entry of request q's key (its second argument), looked up once for a
 * run of requests on the same key. */
static const struct kv_entry *pf_entry(struct pf_batch *b, const struct resp_peek *q)
{
	if (!(b->key && b->klen == q->argl[1] && memcmp(b->key, q->argv[1], q->argl[1]) == 0)) {
		b->key = q->argv[1];
		b->klen = q->argl[1];
		b->e = db_peek(pf_db, conn_db(b->c), q->argv[1], q->argl[1]);
	}
	return b->e;
}

/* The index of this pop in its run (a new run when the kind or key changes). */
static size_t pf_run_next(struct pf_pops *run, int kind, const struct resp_peek *q)
{
	if (!(run->kind == kind && run->klen == q->argl[1] &&
	      memcmp(run->key, q->argv[1], q->argl[1]) == 0))
		*run = (struct pf_pops){q->argv[1], q->argl[1], kind, 0};
	return run->next++;
}

/* SPOP key of a large set: the pick is tset_pick_pos of the worker's next
 * random value (spop_one: one wctx_rand64 per SPOP), over the count less
 * the pops before it in the run; the walk goes down by rank. Seen from a
 * copy of the generator's state, so the picks themselves stay as random.
 * The rank is taken in the tree as it is now, before the run's earlier pops
 * shift it by a few: the leaf is the same but near a leaf's edge. */
static int pf_spop(struct pf_batch *b, const struct resp_peek *q, struct pf_walk *w)
{
	size_t j = pf_run_next(&b->run, 1, q);
	uint64_t rnd = wctx_rand64_step(&b->rng);
	const struct kv_entry *e = pf_entry(b, q);
	if (!e || kv_entry_type(e) != KV_SET || coll_entry_enc(e) != COLL_HASHTABLE)
		return 0;
	const struct pt_node *r = coll_big_of(e)->root[0];
	size_t n = pt_count(r);

	if (!r || n < PF_MIN_ELEMS || j >= n)
		return 0;
	w[0] = (struct pf_walk){r, 0, NULL, tset_pick_pos(rnd, n - j), true};
	pt_prefetch(r);
	return 1;
}

/* ZPOPMAX key: its member's walk in the by-member tree (the by-score
 * tree's end it pops from is the path every pop takes: cached). ZPOPMIN
 * mostly leaves its by-member record for a later sweep (storage/tzset.h,
 * "Deferred deletes"): no walk to foresee. */
static int pf_pop(struct pf_batch *b, const struct resp_peek *q, struct pf_walk *w)
{
	if (q->argl[0] != 7 || strncasecmp(q->argv[0], "zpopmax", 7) != 0)
		return 0;
	size_t j = pf_run_next(&b->run, 3, q);
	const struct kv_entry *e = pf_entry(b, q);
	if (!e || kv_entry_type(e) != KV_ZSET || coll_entry_enc(e) != COLL_SKIPLIST)
		return 0;
	const struct coll_big *big = coll_big_of(e);
	size_t n = pt_count(big->root[0]);
	struct pt_elem el;

	if (n < PF_MIN_ELEMS || j >= n || !big->root[1] || !pt_at(big->root[0], n - 1 - j, &el))
		return 0;
	w[0] = (struct pf_walk){big->root[1], kvmap_hash(el.a, el.alen), el.a, el.alen, false};
	pt_prefetch(big->root[1]);
	return 1;
}

/* Adds the walks request q needs (at most two: a sorted set's ZADD looks up
 * the member, then inserts by score) to w; returns how many. */
static int pf_add(struct pf_batch *b, const struct resp_peek *q, struct pf_walk *w)
{
	if (q->argc == 2 && q->argl[0] == 4 && strncasecmp(q->argv[0], "spop", 4) == 0)
		return pf_spop(b, q, w);
	if (q->argc == 2)
		return pf_pop(b, q, w);
	if (q->argc < 3)
		return 0;
	const struct pf_cmd *d = pf_find(q->argv[0], q->argl[0]);
	if (!d || d->arg >= q->argc || d->arg >= RESP_PEEK_ARGS)
		return 0;
	/* ZADD with options (NX, XX, GT, LT, CH, INCR) or several members:
	 * its member is elsewhere; only the plain one-member form is walked */
	if (d->score && q->argc != 4)
		return 0;
	const struct kv_entry *e = pf_entry(b, q);
	if (!e || kv_entry_type(e) != d->type || !coll_enc_is_big(coll_entry_enc(e)))
		return 0;
	const struct coll_big *big = coll_big_of(e);
	const char *m = q->argv[d->arg];
	size_t ml = q->argl[d->arg];
	/* hashes and sets: root[0] by field; sorted sets: root[1] by member */
	const struct pt_node *r = big->root[d->type == KV_ZSET ? 1 : 0];
	int k = 0;

	if (!r || pt_count(r) < PF_MIN_ELEMS)
		return 0;
	w[k++] = (struct pf_walk){r, kvmap_hash(m, ml), m, ml, false};
	pt_prefetch(r);
	if (d->score && big->root[0] && q->argl[d->score] < 64) {
		/* ZADD key score member: where the member goes by score */
		char s[64], *end;
		double score;

		memcpy(s, q->argv[d->score], q->argl[d->score]);
		s[q->argl[d->score]] = '\0';
		score = strtod(s, &end);
		if (end != s && *end == '\0' && score == score) {
			w[k++] = (struct pf_walk){big->root[0], pt_score_key(score), m, ml, false};
			pt_prefetch(big->root[0]);
		}
	}
	return k;
}

bool prefetch_batch(struct conn *c, int n, const struct resp_peek *reqs)
{
	struct pf_walk w[2 * NET_PEEK_MAX];
	struct pf_batch b = {.c = c, .rng = wctx_self()->rng};
	int nw = 0, live;

	for (int i = 0; i < n; i++)
		nw += pf_add(&b, &reqs[i], w + nw);
	if (nw < 2)
		return nw > 0; /* one walk alone gains nothing over the command's own */
	/* level by level: every walk's next node is asked for before any is
	 * waited for */
	do {
		live = 0;
		for (int i = 0; i < nw; i++) {
			if (!w[i].n)
				continue;
			w[i].n = w[i].byrank ? pt_descend_at(w[i].n, &w[i].alen)
					     : pt_descend(w[i].n, w[i].key, w[i].a, w[i].alen);
			live += w[i].n != NULL;
		}
	} while (live);
	return true;
}
