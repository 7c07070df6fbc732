/*
 * notify.c — keyspace notifications (notify.h explains the model): the
 * flags, the per-command rules that turn a command into Redis 7.0.15's
 * events, and the buffer that holds them until the command completed.
 *
 * The rules mirror the notifyKeyspaceEvent() calls of Redis 7.0's t_*.c
 * and db.c; tests/integration/py/test_notify.py compares the event streams
 * of both servers command by command.
 */
#include "server/notify.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/pubsub.h"
#include "server/tracking.h"
#include "storage/db.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- publishing */

static void publish(int flags, int db, const char *ev, size_t evlen, const char *key, size_t klen)
{
	char small[256], *ch = small;
	size_t cap = klen + evlen + 40, n;

	if (cap > sizeof(small))
		ch = mem_alloc(cap);
	if (flags & NTF_KEYSPACE) {
		n = (size_t)snprintf(ch, cap, "__keyspace@%d__:", db);
		memcpy(ch + n, key, klen);
		(void)pubsub_publish(ch, n + klen, ev, evlen, false);
	}
	if (flags & NTF_KEYEVENT) {
		n = (size_t)snprintf(ch, cap, "__keyevent@%d__:", db);
		memcpy(ch + n, ev, evlen);
		(void)pubsub_publish(ch, n + evlen, key, klen, false);
	}
	if (ch != small)
		mem_free(ch);
}

/* An entry in a buffer: int db, uint32 evlen, uint32 klen, event, key.
 * evlen TRK_EV: a key for client tracking to invalidate (no event bytes;
 * db -1: a flush). */
#define TRK_EV UINT32_MAX
struct ent {
	int db;
	uint32_t evlen, klen;
};

/* Appends an entry to b. */
static void buf_put(struct ntf_buf *b, const struct ent *e, const char *ev, const char *key)
{
	size_t need = sizeof(*e) + (e->evlen == TRK_EV ? 0 : e->evlen) + e->klen;

	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *p;

		while (cap < b->len + need)
			cap *= 2;
		p = mem_alloc(cap);
		if (b->len)
			memcpy(p, b->p, b->len);
		mem_free(b->p);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, e, sizeof(*e));
	b->len += sizeof(*e);
	if (e->evlen != TRK_EV) {
		memcpy(b->p + b->len, ev, e->evlen);
		b->len += e->evlen;
	}
	if (e->klen) {
		memcpy(b->p + b->len, key, e->klen);
		b->len += e->klen;
	}
}

static void emit(struct wctx *ctx, int flags, int cls, int db, const char *ev, const char *key,
		 size_t klen)
{
	struct ntf_buf *b = ctx ? ctx->ntf : NULL;
	size_t evlen = strlen(ev);
	struct ent e = {db, (uint32_t)evlen, (uint32_t)klen};

	if (!(flags & cls) || !(flags & (NTF_KEYSPACE | NTF_KEYEVENT)))
		return;
	if (b == NULL) {
		publish(flags, db, ev, evlen, key, klen);
		return;
	}
	buf_put(b, &e, ev, key);
}

void ntf_track(struct wctx *ctx, const char *key, size_t klen)
{
	struct ntf_buf *b = ctx ? ctx->ntf : NULL;
	struct ent e = {key ? 0 : -1, TRK_EV, (uint32_t)klen};

	if (b == NULL) {
		if (key)
			trk_invalidate(0, &key, &klen, 1);
		else
			trk_flush();
		return;
	}
	buf_put(b, &e, "", key);
}

/* The tracking entries of b: invalidated after the events are out. */
static void end_tracking(struct ntf_buf *b)
{
	const char *small_k[16], **keys = small_k;
	size_t small_l[16], *lens = small_l, n = 0, cap = 16;
	bool flush = false;

	for (size_t off = 0; off < b->len;) {
		struct ent e;

		memcpy(&e, b->p + off, sizeof(e));
		off += sizeof(e);
		if (e.evlen != TRK_EV) {
			off += e.evlen + e.klen;
			continue;
		}
		if (e.db < 0) {
			flush = true;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			if (keys == small_k) {
				keys = mem_alloc(cap * sizeof(*keys));
				lens = mem_alloc(cap * sizeof(*lens));
				memcpy(keys, small_k, sizeof(small_k));
				memcpy(lens, small_l, sizeof(small_l));
			} else {
				keys = mem_realloc(keys, cap * sizeof(*keys));
				lens = mem_realloc(lens, cap * sizeof(*lens));
			}
		}
		keys[n] = b->p + off;
		lens[n++] = e.klen;
		off += e.klen;
	}
	if (n)
		trk_invalidate(b->writer, keys, lens, n);
	if (flush)
		trk_flush();
	if (keys != small_k) {
		mem_free(keys);
		mem_free(lens);
	}
}

void ntf_begin(struct wctx *ctx, struct ntf_buf *b)
{
	ctx->ntf = b;
}

void ntf_end(struct wctx *ctx, struct ntf_buf *b)
{
	/* events collected under old flags are published under the new ones
	 * (K/E decide only the channels) */
	int flags;
	bool tracked = false;

	ctx->ntf = NULL;
	if (b->len == 0) {
		/* nothing to publish (none collected, or a dropped attempt's
		 * only): no load, so a disabled config costs none here */
		if (b->p != NULL) {
			mem_free(b->p);
			b->p = NULL;
			b->cap = 0;
		}
		return;
	}
	flags = ntf_flags();
	for (size_t off = 0; off < b->len;) {
		struct ent e;

		memcpy(&e, b->p + off, sizeof(e));
		off += sizeof(e);
		if (e.evlen == TRK_EV) {
			tracked = true;
			off += e.klen;
			continue;
		}
		publish(flags, e.db, b->p + off, e.evlen, b->p + off + e.evlen, e.klen);
		off += e.evlen + e.klen;
	}
	if (tracked)
		end_tracking(b);
	if (b->p)
		mem_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

size_t ntf_mark(const struct wctx *ctx)
{
	return ctx->ntf ? ctx->ntf->len : 0;
}

void ntf_reset(struct wctx *ctx, size_t mark)
{
	if (ctx->ntf && ctx->ntf->len > mark)
		ctx->ntf->len = mark;
}

void ntf_drop(struct db *db, const struct db_drop *d)
{
	int flags = ntf_flags();
	int index;

	/* client tracking: expired or evicted keys change (Redis's
	 * signalModifiedKey in deleteExpiredKeyAndPropagate / performEvictions) */
	if (kv_unlikely(trk_after_write()))
		ntf_track(wctx_self(), d->key, d->klen);
	if (flags == 0)
		return;
	/* a key of a database flushed meanwhile has none: no event */
	index = d->index >= 0 ? d->index : db_space_index(db, d->space);
	if (index < 0)
		return;
	emit(wctx_self(), flags, d->evicted ? NTF_EVICTED : NTF_EXPIRED, index,
	     d->evicted ? "evicted" : "expired", d->key, d->klen);
}

void ntf_event(int flags, int cls, const char *ev, int db, const char *key, size_t klen)
{
	emit(wctx_self(), flags, cls, db, ev, key, klen);
}

/* ---- the rules */

enum kind {
	K_NONE,
	K_ONE,	    /* ev on argv[1]; new before, del after */
	K_SET,	    /* SET: set, then expire with an expiry option */
	K_SETEX,    /* SETEX PSETEX: set, expire */
	K_MSET,	    /* new?, set per pair */
	K_DEL,	    /* del on each key that was removed */
	K_EXPIRE,   /* expire, or del when the time was past */
	K_GETEX,    /* expire or persist, by option */
	K_GETDEL,   /* del */
	K_RENAME,   /* new(dst), rename_from(src), rename_to(dst) */
	K_COPY,	    /* new(dst), copy_to(dst) (DB option) */
	K_MOVE,	    /* new@dst, move_from@src, move_to@dst */
	K_RESTORE,  /* new, restore */
	K_STORE,    /* destination argv[di]: new?, ev, or del when emptied */
	K_SORT,	    /* SORT ... STORE dst */
	K_LMOVE,    /* new(dst), push(dst), pop(src), del(src) */
	K_SMOVE,    /* srem(src), del(src), new(dst), sadd(dst) */
	K_REPLYKEY, /* pop from the key the reply names: ev, del */
	K_ZADD,	    /* zadd, or zincr with INCR */
};

struct rule {
	const char *name;
	enum kind kind;
	int cls;
	const char *ev, *ev2; /* ev2: the second event (LMOVE's push, SMOVE's add) */
	int arg;	      /* K_STORE: destination index; K_REPLYKEY: direction arg */
};

#define G NTF_GENERIC
#define S NTF_STRING
#define L NTF_LIST
#define T NTF_SET
#define H NTF_HASH
#define Z NTF_ZSET

static const struct rule rules[] = {
    /* generic */
    {"del", K_DEL, G, "del", NULL, 0},
    {"unlink", K_DEL, G, "del", NULL, 0},
    {"expire", K_EXPIRE, G, "expire", NULL, 0},
    {"pexpire", K_EXPIRE, G, "expire", NULL, 0},
    {"expireat", K_EXPIRE, G, "expire", NULL, 0},
    {"pexpireat", K_EXPIRE, G, "expire", NULL, 0},
    {"persist", K_ONE, G, "persist", NULL, 0},
    {"rename", K_RENAME, G, NULL, NULL, 0},
    {"renamenx", K_RENAME, G, NULL, NULL, 0},
    {"copy", K_COPY, G, "copy_to", NULL, 0},
    {"move", K_MOVE, G, NULL, NULL, 0},
    {"restore", K_RESTORE, G, "restore", NULL, 0},
    {"sort", K_SORT, L, "sortstore", NULL, 0},
    /* strings */
    {"set", K_SET, S, "set", NULL, 0},
    {"setnx", K_ONE, S, "set", NULL, 0},
    {"setex", K_SETEX, S, "set", NULL, 0},
    {"psetex", K_SETEX, S, "set", NULL, 0},
    {"getset", K_ONE, S, "set", NULL, 0},
    {"mset", K_MSET, S, "set", NULL, 0},
    {"msetnx", K_MSET, S, "set", NULL, 0},
    {"getex", K_GETEX, G, NULL, NULL, 0},
    {"getdel", K_GETDEL, G, "del", NULL, 0},
    {"setrange", K_ONE, S, "setrange", NULL, 0},
    {"append", K_ONE, S, "append", NULL, 0},
    {"incr", K_ONE, S, "incrby", NULL, 0},
    {"decr", K_ONE, S, "incrby", NULL, 0},
    {"incrby", K_ONE, S, "incrby", NULL, 0},
    {"decrby", K_ONE, S, "incrby", NULL, 0},
    {"incrbyfloat", K_ONE, S, "incrbyfloat", NULL, 0},
    {"setbit", K_ONE, S, "setbit", NULL, 0},
    {"bitfield", K_ONE, S, "setbit", NULL, 0},
    {"bitop", K_STORE, S, "set", NULL, 2},
    {"pfadd", K_ONE, S, "pfadd", NULL, 0},
    {"pfmerge", K_ONE, S, "pfadd", NULL, 0},
    /* lists */
    {"lpush", K_ONE, L, "lpush", NULL, 0},
    {"rpush", K_ONE, L, "rpush", NULL, 0},
    {"lpushx", K_ONE, L, "lpush", NULL, 0},
    {"rpushx", K_ONE, L, "rpush", NULL, 0},
    {"linsert", K_ONE, L, "linsert", NULL, 0},
    {"lset", K_ONE, L, "lset", NULL, 0},
    {"lrem", K_ONE, L, "lrem", NULL, 0},
    {"ltrim", K_ONE, L, "ltrim", NULL, 0},
    {"lpop", K_ONE, L, "lpop", NULL, 0},
    {"rpop", K_ONE, L, "rpop", NULL, 0},
    {"blpop", K_REPLYKEY, L, "lpop", NULL, 0},
    {"brpop", K_REPLYKEY, L, "rpop", NULL, 0},
    {"lmpop", K_REPLYKEY, L, "lpop", "rpop", -1},
    {"blmpop", K_REPLYKEY, L, "lpop", "rpop", -2},
    {"rpoplpush", K_LMOVE, L, "rpop", "lpush", 0},
    {"brpoplpush", K_LMOVE, L, "rpop", "lpush", 0},
    {"lmove", K_LMOVE, L, NULL, NULL, 3},
    {"blmove", K_LMOVE, L, NULL, NULL, 3},
    /* sets */
    {"sadd", K_ONE, T, "sadd", NULL, 0},
    {"srem", K_ONE, T, "srem", NULL, 0},
    {"spop", K_ONE, T, "spop", NULL, 0},
    {"smove", K_SMOVE, T, "srem", "sadd", 0},
    {"sinterstore", K_STORE, T, "sinterstore", NULL, 1},
    {"sunionstore", K_STORE, T, "sunionstore", NULL, 1},
    {"sdiffstore", K_STORE, T, "sdiffstore", NULL, 1},
    /* hashes */
    {"hset", K_ONE, H, "hset", NULL, 0},
    {"hmset", K_ONE, H, "hset", NULL, 0},
    {"hsetnx", K_ONE, H, "hset", NULL, 0},
    {"hdel", K_ONE, H, "hdel", NULL, 0},
    {"hincrby", K_ONE, H, "hincrby", NULL, 0},
    {"hincrbyfloat", K_ONE, H, "hincrbyfloat", NULL, 0},
    /* sorted sets */
    {"zadd", K_ZADD, Z, "zadd", "zincr", 0},
    {"zincrby", K_ONE, Z, "zincr", NULL, 0},
    {"zrem", K_ONE, Z, "zrem", NULL, 0},
    {"zremrangebyscore", K_ONE, Z, "zremrangebyscore", NULL, 0},
    {"zremrangebyrank", K_ONE, Z, "zremrangebyrank", NULL, 0},
    {"zremrangebylex", K_ONE, Z, "zremrangebylex", NULL, 0},
    {"zpopmin", K_ONE, Z, "zpopmin", NULL, 0},
    {"zpopmax", K_ONE, Z, "zpopmax", NULL, 0},
    {"bzpopmin", K_REPLYKEY, Z, "zpopmin", NULL, 0},
    {"bzpopmax", K_REPLYKEY, Z, "zpopmax", NULL, 0},
    {"zmpop", K_REPLYKEY, Z, "zpopmin", "zpopmax", -1},
    {"bzmpop", K_REPLYKEY, Z, "zpopmin", "zpopmax", -2},
    {"zunionstore", K_STORE, Z, "zunionstore", NULL, 1},
    {"zinterstore", K_STORE, Z, "zinterstore", NULL, 1},
    {"zdiffstore", K_STORE, Z, "zdiffstore", NULL, 1},
    {"zrangestore", K_STORE, Z, "zrangestore", NULL, 1},
};

#undef G
#undef S
#undef L
#undef T
#undef H
#undef Z

static const struct rule *rule_of(const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

struct nctx {
	struct cmd_req *r;
	struct wctx *ctx;
	int flags, db;
};

static void ev(struct nctx *n, int cls, const char *e, const char *key, size_t klen)
{
	emit(n->ctx, n->flags, cls, n->db, e, key, klen);
}

static void ev_arg(struct nctx *n, int cls, const char *e, int i)
{
	ev(n, cls, e, n->r->argv[i], n->r->argl[i]);
}

static bool exists_in(const struct db_view *v, struct cmd_req *r, const char *key, size_t klen)
{
	return db_lookup_notouch(v, key, klen, r->now_ms, NULL, 0) != NULL;
}

static bool exists(struct cmd_req *r, int i)
{
	return exists_in(r->view, r, r->argv[i], r->argl[i]);
}

static int find_opt(struct cmd_req *r, int from, const char *opt)
{
	for (int i = from; i < r->argc; i++)
		if (cmd_arg_is(r, i, opt))
			return i;
	return -1;
}

/* The key a pop's reply names: "*N\r\n$L\r\n<key>\r\n..." (RESP2 or 3). */
static bool reply_key(struct cmd_req *r, size_t mark, const char **key, size_t *klen)
{
	size_t len;
	const char *p = conn_reply_since(r->c, mark, &len), *e, *q;
	long long n = 0;

	if (p == NULL || len < 4 || (p[0] != '*' && p[0] != '>'))
		return false;
	e = p + len;
	q = memchr(p, '\n', len);
	if (!q || q + 1 >= e || q[1] != '$')
		return false;
	for (q += 2; q < e && *q >= '0' && *q <= '9'; q++)
		n = n * 10 + (*q - '0');
	if (q + 2 > e || q[0] != '\r')
		return false;
	q += 2;
	if (n < 0 || q + n > e)
		return false;
	*key = q;
	*klen = (size_t)n;
	return true;
}

/* Commands whose event Redis sends whenever the key exists and the command
 * succeeds, even when nothing changed (LTRIM 0 -1, HSET of the same value,
 * SETBIT of the same bit, APPEND of "", INCRBY 0...). */
static bool always(const char *name)
{
	static const char *const names[] = {
	    "ltrim",  "lset",	 "hset", "hmset", "hincrby", "hincrbyfloat", "setbit",
	    "append", "pfmerge", "incr", "decr",  "incrby",  "decrby",	     "incrbyfloat"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* SETBIT that left an existing key's bit as it was: Redis 7.0 sends no
 * event (unless the string grew, which kvsd does not tell apart here). */
static bool same_bit(struct cmd_req *r, const struct cmd_def *d, size_t mark)
{
	size_t len;
	const char *p;

	if (strcmp(d->name, "setbit") != 0 || r->argc != 4 || r->argl[3] != 1)
		return false;
	p = conn_reply_since(r->c, mark, &len);
	return p && len >= 2 && p[0] == ':' && p[1] == r->argv[3][0];
}

/* Whether argument i names a key already named by an earlier argument
 * 1, 1 + step, ... (DEL a a deletes once; MSET a 1 a 2 creates once). */
static bool seen_before(struct cmd_req *r, int i, int step)
{
	for (int j = 1; j < i; j += step)
		if (r->argl[j] == r->argl[i] && memcmp(r->argv[j], r->argv[i], r->argl[i]) == 0)
			return true;
	return false;
}

/* Whether argument i's key existed before the handler ran (pre[]). */
#define PRE(i) ((i) < npre && pre[i])

static void after(struct nctx *n, const struct rule *ru, const bool *pre, int npre, size_t mark)
{
	struct cmd_req *r = n->r;
	int argc = r->argc;

	switch (ru->kind) {
	case K_NONE:
		break;
	case K_ONE:
		if (!PRE(1) && exists(r, 1))
			ev_arg(n, NTF_NEW, "new", 1);
		ev_arg(n, ru->cls, ru->ev, 1);
		if (PRE(1) && !exists(r, 1))
			ev_arg(n, NTF_GENERIC, "del", 1);
		break;
	case K_ZADD:
		if (!PRE(1) && exists(r, 1))
			ev_arg(n, NTF_NEW, "new", 1);
		ev_arg(n, ru->cls, find_opt(r, 2, "incr") > 0 ? ru->ev2 : ru->ev, 1);
		break;
	case K_SET:
	case K_SETEX:
		if (!PRE(1) && exists(r, 1))
			ev_arg(n, NTF_NEW, "new", 1);
		ev_arg(n, ru->cls, ru->ev, 1);
		if (ru->kind == K_SETEX || find_opt(r, 3, "ex") > 0 || find_opt(r, 3, "px") > 0 ||
		    find_opt(r, 3, "exat") > 0 || find_opt(r, 3, "pxat") > 0)
			ev_arg(n, NTF_GENERIC, "expire", 1);
		break;
	case K_MSET:
		for (int i = 1; i + 1 < argc; i += 2) {
			if (!PRE(i) && !seen_before(r, i, 2))
				ev_arg(n, NTF_NEW, "new", i);
			ev_arg(n, ru->cls, ru->ev, i);
		}
		break;
	case K_DEL:
		for (int i = 1; i < argc; i++)
			if (PRE(i) && !seen_before(r, i, 1) && !exists(r, i))
				ev_arg(n, NTF_GENERIC, "del", i);
		break;
	case K_EXPIRE:
		ev_arg(n, NTF_GENERIC, exists(r, 1) ? "expire" : "del", 1);
		break;
	case K_GETEX:
		if (find_opt(r, 2, "persist") > 0)
			ev_arg(n, NTF_GENERIC, "persist", 1);
		else
			ev_arg(n, NTF_GENERIC, exists(r, 1) ? "expire" : "del", 1);
		break;
	case K_GETDEL:
		ev_arg(n, NTF_GENERIC, "del", 1);
		break;
	case K_RENAME:
		ev_arg(n, NTF_NEW, "new", 2);
		ev_arg(n, NTF_GENERIC, "rename_from", 1);
		ev_arg(n, NTF_GENERIC, "rename_to", 2);
		break;
	case K_COPY: {
		int di = find_opt(r, 3, "db");

		if (di > 0 && di + 1 < argc) {
			/* the destination database: its number as COPY parsed it */
			int old = n->db;

			n->db = atoi(r->argv[di + 1]);
			ev_arg(n, NTF_NEW, "new", 2);
			ev_arg(n, NTF_GENERIC, "copy_to", 2);
			n->db = old;
		} else {
			ev_arg(n, NTF_NEW, "new", 2);
			ev_arg(n, NTF_GENERIC, "copy_to", 2);
		}
		break;
	}
	case K_MOVE: {
		int src = n->db, dst = atoi(r->argv[2]);

		n->db = dst;
		ev_arg(n, NTF_NEW, "new", 1);
		n->db = src;
		ev_arg(n, NTF_GENERIC, "move_from", 1);
		n->db = dst;
		ev_arg(n, NTF_GENERIC, "move_to", 1);
		n->db = src;
		break;
	}
	case K_RESTORE:
		ev_arg(n, NTF_NEW, "new", 1);
		ev_arg(n, NTF_GENERIC, "restore", 1);
		break;
	case K_SORT: {
		int si = find_opt(r, 2, "store");

		if (si < 0 || si + 1 >= argc)
			break;
		if (exists(r, si + 1)) {
			if (!PRE(si + 1))
				ev_arg(n, NTF_NEW, "new", si + 1);
			ev_arg(n, NTF_LIST, "sortstore", si + 1);
		} else if (PRE(si + 1)) {
			ev_arg(n, NTF_GENERIC, "del", si + 1);
		}
		break;
	}
	case K_STORE: {
		int di = ru->arg;

		if (exists(r, di)) {
			if (!PRE(di))
				ev_arg(n, NTF_NEW, "new", di);
			ev_arg(n, ru->cls, ru->ev, di);
		} else if (PRE(di)) {
			ev_arg(n, NTF_GENERIC, "del", di);
		}
		break;
	}
	case K_LMOVE: {
		const char *pop = ru->ev, *push = ru->ev2;
		bool same =
		    r->argl[1] == r->argl[2] && memcmp(r->argv[1], r->argv[2], r->argl[1]) == 0;

		if (ru->arg) {
			pop = cmd_arg_is(r, ru->arg, "left") ? "lpop" : "rpop";
			push = cmd_arg_is(r, ru->arg + 1, "left") ? "lpush" : "rpush";
		}
		if (!same && !PRE(2))
			ev_arg(n, NTF_NEW, "new", 2);
		ev_arg(n, NTF_LIST, push, 2);
		ev_arg(n, NTF_LIST, pop, 1);
		if (!exists(r, 1))
			ev_arg(n, NTF_GENERIC, "del", 1);
		break;
	}
	case K_SMOVE:
		ev_arg(n, NTF_SET, "srem", 1);
		if (!exists(r, 1))
			ev_arg(n, NTF_GENERIC, "del", 1);
		if (!PRE(2))
			ev_arg(n, NTF_NEW, "new", 2);
		ev_arg(n, NTF_SET, "sadd", 2);
		break;
	case K_REPLYKEY: {
		const char *key, *e = ru->ev;
		size_t klen;

		if (!reply_key(r, mark, &key, &klen))
			break;
		if (ru->arg) {
			/* LMPOP numkeys k.. LEFT|RIGHT; BLMPOP timeout numkeys ..;
			 * ZMPOP MIN|MAX */
			int ni = ru->arg == -1 ? 1 : 2;
			long long nk = atoll(r->argv[ni]);
			int wi = ni + 1 + (int)nk;

			if (wi < argc && (cmd_arg_is(r, wi, "right") || cmd_arg_is(r, wi, "max")))
				e = ru->ev2;
		}
		ev(n, ru->cls, e, key, klen);
		if (!exists_in(r->view, r, key, klen))
			ev(n, NTF_GENERIC, "del", key, klen);
		break;
	}
	}
}

static bool name_in(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/* The keys a command looks up for reading (Redis's lookupKeyRead, which
 * sends keymiss on a miss) beyond a read-only command's key positions: the
 * sources of the store commands, the numkeys forms, PFMERGE's every key,
 * COPY's, GETDEL's and GETEX's key. Arguments [*from, *to). */
static bool read_keys(struct cmd_req *r, const struct cmd_def *d, int *from, int *to)
{
	static const char *const store[] = {"sunionstore", "sinterstore", "sdiffstore", NULL};
	static const char *const zstore[] = {"zunionstore", "zinterstore", "zdiffstore", NULL};
	static const char *const numkeys[] = {"zunion", "zinter", "zdiff", "sintercard", NULL};
	static const char *const first[] = {"sort",  "sort_ro",	 "copy",	"getdel",
					    "getex", "bitfield", "zrangestore", NULL};
	const char *name = d->name;
	int argc = r->argc;

	*to = argc;
	if (name_in(name, store)) {
		*from = 2;
	} else if (strcmp(name, "bitop") == 0) {
		*from = 3;
	} else if (strcmp(name, "pfmerge") == 0) {
		*from = 1;
	} else if (name_in(name, zstore) || name_in(name, numkeys)) {
		int ni = name_in(name, zstore) ? 2 : 1;
		long long nk = argc > ni ? atoll(r->argv[ni]) : 0;

		*from = ni + 1;
		if (nk >= 0 && nk < argc - *from)
			*to = *from + (int)nk;
	} else if (name_in(name, first)) {
		/* ZRANGESTORE dst src: its source; BITFIELD: only GET-only */
		*from = strcmp(name, "zrangestore") == 0 ? 2 : 1;
		*to = *from + 1;
		if (strcmp(name, "bitfield") == 0 &&
		    (find_opt(r, 2, "set") > 0 || find_opt(r, 2, "incrby") > 0))
			return false;
	} else if ((d->flags & CMD_READONLY) && d->first_key > 0 && d->key_step > 0) {
		*from = d->first_key;
		*to = (d->last_key < 0 ? argc + d->last_key : d->last_key) + 1;
	} else {
		return false;
	}
	if (*to > argc)
		*to = argc;
	return *from < *to;
}

/* Marks in miss[] each key the command reads that is absent now (before
 * it runs, where Redis's lookups send keymiss). */
static void keymiss_scan(struct nctx *n, const struct cmd_def *d, bool *miss)
{
	struct cmd_req *r = n->r;
	int from, to, step = 1;

	if (!read_keys(r, d, &from, &to))
		return;
	if ((d->flags & CMD_READONLY) && d->first_key > 0 && from == d->first_key)
		step = d->key_step;
	for (int i = from; i < to; i += step)
		miss[i] = !exists(r, i);
}

static void keymiss_emit(struct nctx *n, const bool *miss, int nargs)
{
	for (int i = 1; i < nargs; i++)
		if (miss[i])
			ev_arg(n, NTF_KEY_MISS, "keymiss", i);
}

/* Whether argument i is a key whose existence before the command a rule
 * needs. */
static bool is_key(struct cmd_req *r, const struct rule *ru, int i)
{
	if (ru == NULL)
		return false;
	switch (ru->kind) {
	case K_DEL:
		return true;
	case K_MSET:
		return i & 1;
	case K_SORT:
		return i > 1 && cmd_arg_is(r, i - 1, "store");
	case K_RENAME:
	case K_COPY:
	case K_MOVE:
	case K_LMOVE:
	case K_SMOVE:
		return i == 1 || i == 2;
	case K_STORE:
		return i == ru->arg;
	case K_REPLYKEY:
		return false;
	default:
		return i == 1;
	}
}

static __attribute__((noinline)) void call_inner(struct cmd_req *r, const struct cmd_def *d,
						 int flags);

KV_HOT void ntf_call(struct cmd_req *r, const struct cmd_def *d)
{
	uint64_t writes0 = r->ctx->db_writes;
	size_t mark = conn_reply_mark(r->c);
	int flags;

	/* client tracking (tracking.h): a read registers before the handler,
	 * a write collects its invalidations after it committed */
	if (kv_unlikely(trk_active()))
		trk_before_read(r, d);
	/* without notify-keyspace-events (the only cost of a disabled config):
	 * the handler straight from here, not from call_inner's frame (its
	 * argument arrays and saved registers cost ~15 instructions a command) */
	flags = ntf_flags();
	if (kv_likely(flags == 0))
		d->proc(r);
	else
		call_inner(r, d, flags);
	if ((d->flags & CMD_WRITE) && kv_unlikely(trk_after_write()))
		trk_written(r, d, writes0, mark);
}

static __attribute__((noinline)) void call_inner(struct cmd_req *r, const struct cmd_def *d,
						 int flags)
{
	const struct rule *ru;
	bool small[128], *pre = small, *miss = NULL;
	int npre = r->argc;
	size_t mark;
	uint64_t writes0;
	struct nctx n;

	/* only top-level commands (CONFIG SET is not SET) */
	if (cmd_lookup(d->name, strlen(d->name)) != d) {
		d->proc(r);
		return;
	}
	ru = rule_of(d->name);
	if (ru == NULL && !((flags & NTF_KEY_MISS) && (d->flags & CMD_READONLY))) {
		d->proc(r);
		return;
	}
	if (2 * npre > (int)(sizeof(small) / sizeof(small[0])))
		pre = mem_alloc(2 * (size_t)npre * sizeof(bool)); /* pre[], then miss[] */
	/* which arguments name existing keys (lazy expiry happens here, so
	 * "expired" precedes the command's events, as in Redis's lookups) */
	for (int i = 0; i < npre; i++)
		pre[i] = i > 0 && is_key(r, ru, i) && exists(r, i);
	n = (struct nctx){.r = r, .ctx = r->ctx, .flags = flags, .db = db_view_index(r->view)};
	if (flags & NTF_KEY_MISS) {
		/* after pre[]: its lookups' lazy expiry comes first, as in Redis */
		miss = pre + npre;
		memset(miss, 0, (size_t)npre * sizeof(bool));
		keymiss_scan(&n, d, miss);
		if (ru == NULL)
			keymiss_emit(&n, miss, npre);
	}
	mark = conn_reply_mark(r->c);
	writes0 = r->ctx->db_writes;
	d->proc(r);
	/* a write command's misses: unless it failed (Redis stops at the
	 * error, e.g. PFMERGE's WRONGTYPE on its destination) */
	if (ru && miss && !cmd_reply_failed(r->c, mark))
		keymiss_emit(&n, miss, npre);
	if (ru && ru->kind == K_ONE && npre > 1 && pre[1] && same_bit(r, d, mark))
		ru = NULL;
	if (ru && (r->ctx->db_writes != writes0 ||
		   (npre > 1 && pre[1] && always(d->name) && !cmd_reply_failed(r->c, mark))))
		after(&n, ru, pre, npre, mark);
	if (pre != small)
		mem_free(pre);
}
