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

void prefetch_setup(struct db *db)
{
	pf_db = db;
}

/* What a command reads by member: the type its key must have and the
 * argument holding the member (ZADD also inserts by score). SPOP, ZPOPMIN
 * and ZPOPMAX name no member: pf_spop and pf_pop foresee theirs. */
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

/* A run of pops of one key, one member each (SPOP, or ZPOPMIN, or
 * ZPOPMAX): the run's j-th pop is the j-th of the batch on that key, if
 * nothing else writes the key meanwhile (a hint may be wrong). */
struct pf_pops {
	const char *key;
	size_t klen;
	int kind; /* 1 SPOP, 2 ZPOPMIN, 3 ZPOPMAX */
	size_t next;
};

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
static int pf_spop(struct conn *c, const struct resp_peek *q, struct pf_pops *run, uint64_t *rng,
		   struct pf_walk *w)
{
	size_t j = pf_run_next(run, 1, q);
	uint64_t rnd = wctx_rand64_step(rng);
	const struct kv_entry *e = db_peek(pf_db, conn_db(c), q->argv[1], q->argl[1]);
	if (!e || kv_entry_type(e) != KV_SET || coll_entry_enc(e) != COLL_HASHTABLE)
		return 0;
	const struct pt_node *r = coll_big_of(e)->root[0];
	size_t n = pt_count(r);

	if (!r || j >= n)
		return 0;
	w[0] = (struct pf_walk){r, 0, NULL, tset_pick_pos(rnd, n - j), true};
	pt_prefetch(r);
	return 1;
}

/* ZPOPMIN / ZPOPMAX key: its member's walk in the by-member tree (the
 * by-score tree's end it pops from is the path every pop takes: cached). */
static int pf_pop(struct conn *c, const struct resp_peek *q, struct pf_pops *run, struct pf_walk *w)
{
	bool max = q->argl[0] == 7 && strncasecmp(q->argv[0], "zpopmax", 7) == 0;

	if (!max && !(q->argl[0] == 7 && strncasecmp(q->argv[0], "zpopmin", 7) == 0))
		return 0;
	size_t j = pf_run_next(run, max ? 3 : 2, q);
	const struct kv_entry *e = db_peek(pf_db, conn_db(c), q->argv[1], q->argl[1]);
	if (!e || kv_entry_type(e) != KV_ZSET || coll_entry_enc(e) != COLL_SKIPLIST)
		return 0;
	const struct coll_big *big = coll_big_of(e);
	size_t n = pt_count(big->root[0]);
	struct pt_elem el;

	if (j >= n || !big->root[1] || !pt_at(big->root[0], max ? n - 1 - j : j, &el))
		return 0;
	w[0] = (struct pf_walk){big->root[1], kvmap_hash(el.a, el.alen), el.a, el.alen, false};
	pt_prefetch(big->root[1]);
	return 1;
}

/* Adds the walks request q needs (at most two: a sorted set's ZADD looks up
 * the member, then inserts by score) to w; returns how many. */
static int pf_add(struct conn *c, const struct resp_peek *q, struct pf_pops *run, uint64_t *rng,
		  struct pf_walk *w)
{
	if (q->argc == 2 && q->argl[0] == 4 && strncasecmp(q->argv[0], "spop", 4) == 0)
		return pf_spop(c, q, run, rng, w);
	if (q->argc == 2)
		return pf_pop(c, q, run, w);
	if (q->argc < 3)
		return 0;
	const struct pf_cmd *d = pf_find(q->argv[0], q->argl[0]);
	if (!d || d->arg >= q->argc || d->arg >= RESP_PEEK_ARGS)
		return 0;
	/* ZADD with options (NX, XX, GT, LT, CH, INCR) or several members:
	 * its member is elsewhere; only the plain one-member form is walked */
	if (d->score && q->argc != 4)
		return 0;
	const struct kv_entry *e = db_peek(pf_db, conn_db(c), q->argv[1], q->argl[1]);
	if (!e || kv_entry_type(e) != d->type || !coll_enc_is_big(coll_entry_enc(e)))
		return 0;
	const struct coll_big *big = coll_big_of(e);
	const char *m = q->argv[d->arg];
	size_t ml = q->argl[d->arg];
	/* hashes and sets: root[0] by field; sorted sets: root[1] by member */
	const struct pt_node *r = big->root[d->type == KV_ZSET ? 1 : 0];
	int k = 0;

	if (r) {
		w[k++] = (struct pf_walk){r, kvmap_hash(m, ml), m, ml, false};
		pt_prefetch(r);
	}
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
	struct pf_pops run = {0};
	uint64_t rng = wctx_self()->rng; /* a copy: nothing is drawn */
	int nw = 0, live;

	for (int i = 0; i < n; i++)
		nw += pf_add(c, &reqs[i], &run, &rng, w + nw);
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
