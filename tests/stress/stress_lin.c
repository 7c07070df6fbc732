/*
 * stress_lin.c — linearizability check of recorded concurrent histories on
 * a few keys of a kvmap, in the style of Wing & Gong ("Testing and verifying
 * concurrent objects", 1993): a plain, time-boxed program (also under
 * ThreadSanitizer).
 *
 * Each round, --threads recorder threads (2..4) start together at a barrier
 * and each run OPS operations on KEYS keys, picked at random: GET, SET v,
 * INSERT v (if absent), DEL (get + kvmap_remove, retried on a lost race),
 * INCR (get + kvmap_replace CAS loop; absent counts as 0). Every operation
 * records an invocation and a response stamp from one shared atomic counter
 * (so "a responded before b was invoked" is exact) and its result. Values
 * written by SET / INSERT are unique per round, so results identify writes.
 * After the round, one thread checks each key's history (at most
 * threads * OPS operations): a depth-first search for an order that respects
 * real time (only an operation no pending one responded before may come
 * next) and that the sequential model — a register holding an integer or
 * "absent" — accepts with exactly the recorded results. Per-key checking is
 * sound because linearizability is local (Herlihy & Wing 1990). A failed
 * search prints the history and exits 1.
 *
 * With kvsd's map the rounds also mix multi-key operations on the same keys,
 * in two families. Through the map's primitive: MWSET v (both keys set to v
 * with one kvmap_mwcas, retried on conflict) and MWGET (both keys read, then
 * validated with a compare-only kvmap_mwcas). Through the db layer's views,
 * exactly as the server runs its commands (storage/db.h; server/multi.c's
 * multi_atomic): MSET v, MGET, EXISTS (how many of the two keys exist) and
 * RENAME (key -> the other key; an error if the source is absent), each one
 * transaction (db_txn_begin, the handler's db_lookup / db_put on the view,
 * db_txn_commit, re-run on -EAGAIN). One in eight of those transactions
 * asks to run exclusively from its first attempt, as EXEC does for commands
 * with outside effects, so the exclusive gate (db.h) meets the other
 * threads' writers, which bracket their direct map writes as the server's
 * do. The whole round is then checked against one model of both registers
 * together (multi-key operations make the keys dependent, so locality no
 * longer applies): a reader must never see half of an MSET or of a RENAME,
 * even with single-key GETs in real-time order.
 * Failed prefixes are memoised (done-set, state) so the search stays small.
 * The self-test checks that the checker rejects an MGET mixing two MSETs
 * and an EXISTS answering 0 during a RENAME. --plain-multi-reads runs only
 * MSET, MGET, EXISTS and RENAME, with MGET and EXISTS as kvsd ran them
 * before issue 10 (each key read through the plain view at its own
 * instant): the checker then finds a mix, usually within a few seconds
 * (meson expects that run to fail, and the first failure ends it).
 *
 * Typed values (issue 13) add three more keys, one per type, each with two
 * elements: HSET / HDEL of one or both fields and HGET (lin:h), SADD / SREM
 * of one or both members and SISMEMBER (lin:s), ZADD / ZREM and ZSCORE
 * (lin:z), run as the types' command handlers run them (a read through the
 * plain view, the type's writer, db_put, retried on a lost race). Each of
 * those keys' histories is checked on its own against its two elements'
 * states: a multi-element write is seen whole or not at all, its count of
 * added / removed elements agrees with the order found, and a read never
 * goes back in time. A type's ops are picked only when its runner is linked
 * in (typed_setup). The self-test checks that the checker rejects half an
 * HSET of two fields, two SADDs that both added one member, and a ZSCORE
 * that saw a score a completed ZREM had removed.
 *
 * Meanwhile a churn thread inserts and deletes thousands of unrelated keys,
 * so that kvsd's map (started at its default size) migrates constantly
 * under the recorded operations: histories then cross grows, shrinks and
 * purges.
 *
 * Usage: stress_lin [--seconds S] [--threads 2..4] [--map kvsd|urcu]
 *                   [--plain-multi-reads]
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/thash.h"
#include "storage/tset.h"
#include "storage/tzset.h"

#define MAX_THREADS 4
#define KEYS	    2
#define OPS	    4 /* per thread and round: <= 16 ops per round, ~8 per key */
#define MAX_HIST    (MAX_THREADS * OPS)
#define CHURN_KEYS  3000

enum op_kind {
	OP_GET,
	OP_SET,
	OP_INSERT,
	OP_DEL,
	OP_INCR,
	OP_MWSET,
	OP_MWGET,
	OP_MSET,
	OP_MGET,
	OP_EXISTS,
	OP_RENAME,
	/* typed values, each type on its own key with two elements (below) */
	OP_HSET,
	OP_HGET,
	OP_HDEL,
	OP_SADD,
	OP_SREM,
	OP_SISMEMBER,
	OP_ZADD,
	OP_ZREM,
	OP_ZSCORE,
	OP_KINDS
};
static const char *op_name[] = {"get",	"set",	"insert",    "del",    "incr", "mwset", "mwget",
				"mset", "mget", "exists",    "rename", "hset", "hget",	"hdel",
				"sadd", "srem", "sismember", "zadd",   "zrem", "zscore"};

struct op {
	enum op_kind kind;
	int key;
	int64_t arg;	   /* value written (set, insert) */
	int64_t res;	   /* value read / returned; -1 = absent */
	int64_t res2;	   /* mget: the second key's value */
	int rc;		   /* insert: 0 or -EEXIST; set: 0 inserted / 1 replaced;
			      rename: 0 or -ENOENT (no such key) */
	bool exclusive;	   /* db-layer op run exclusively from its first attempt */
	unsigned mask;	   /* typed writes: the elements written (bit i: element i) */
	uint64_t inv, rsp; /* stamps from `clock_` */
};

/*
 * The typed histories. Each type has one key (lin:h, lin:s, lin:z) with two
 * elements (fields f0 f1, members m0 m1); its model is the two elements'
 * states, -1 = absent (a hash field's value, a sorted-set member's score:
 * the op's unique arg; a set member: 1). Writes name a non-empty subset of
 * the elements (o->mask: HSET of two fields is one command, all or
 * nothing) and answer how many they added or removed (o->rc); reads name
 * one element (o->key) and answer its state (o->res). A key's history is
 * checked on its own (linearizability is local: Herlihy & Wing).
 * An op runs as the type's command handler runs it: read the entry through
 * the plain view, build the new one with the type's writer, db_put, retry
 * on a lost race (typed_run; NULL while the type is not linked in).
 */
enum op_group { G_STR, G_HASH, G_SET, G_ZSET, G_COUNT };
static const char *group_key[G_COUNT] = {"lin:0/lin:1", "lin:h", "lin:s", "lin:z"};
static enum op_group op_group(enum op_kind k)
{
	return k < OP_HSET ? G_STR : k < OP_SADD ? G_HASH : k < OP_ZADD ? G_SET : G_ZSET;
}
static void (*typed_run[OP_KINDS])(struct op *o);
/* The kinds rounds pick from (main: the string ones the map supports, the
 * typed ones whose runner exists). */
static enum op_kind kinds[OP_KINDS];
static int nkinds;

static struct db *db;
static struct kvmap *map; /* db's */
static struct db_txn *txns[MAX_THREADS];
static bool plain_multi_reads;
static int nthreads = 3;
static _Atomic uint64_t clock_; /* seq_cst: stamps must order with the map's own operations */
static atomic_bool stop, churn_stop;
static pthread_barrier_t round_start, round_end;
static struct op hist[MAX_THREADS][OPS];
static uint64_t rounds_checked;
static struct timespec deadline; /* written by main before the threads start */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "stress_lin: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int key_name(char *buf, int key)
{
	return sprintf(buf, "lin:%d", key);
}

static const struct kv_entry *lookup(int key)
{
	char k[16];
	int n = key_name(k, key);
	return kvmap_get(map, k, (size_t)n, kvmap_hash(k, (size_t)n));
}

/* db_lookup through a view (no entry has a TTL: now_ms does not matter). */
static const struct kv_entry *vlookup(const struct db_view *v, int key)
{
	char k[16];
	int n = key_name(k, key);
	return db_lookup(v, k, (size_t)n, 0, NULL, 0);
}

static int64_t value_of(const struct kv_entry *e)
{
	int64_t v;

	if (!e)
		return -1;
	if (e->vlen != sizeof(v))
		fail("entry with a %u-byte value", e->vlen);
	memcpy(&v, kv_entry_val(e), sizeof(v));
	return v;
}

static struct kv_entry *make(int key, int64_t v)
{
	char k[16];
	int n = key_name(k, key);
	return kv_entry_new(k, (size_t)n, &v, sizeof(v), 0);
}

/* ---- typed ops, as the type's command handlers run them (see above) */

static const char *const elem_name[KEYS] = {"e0", "e1"};

static const char *typed_key(enum op_group g)
{
	return group_key[g];
}

/* The entry of group g's key through the plain view; a value of another
 * type there is a broken test. */
static const struct kv_entry *typed_lookup(enum op_group g, enum kv_type t)
{
	const char *k = typed_key(g);
	const struct kv_entry *e = db_lookup(db_plain(db), k, strlen(k), 0, NULL, 0);

	if (e && kv_entry_type(e) != t)
		fail("%s holds type %d", k, (int)kv_entry_type(e));
	return e;
}

/* Deletes group g's key (between rounds). */
static void typed_clear(enum op_group g)
{
	const char *k = typed_key(g);
	const struct kv_entry *e;

	while ((e = db_lookup(db_plain(db), k, strlen(k), 0, NULL, 0)) &&
	       db_put(db_plain(db), e, NULL) != 0)
		;
	db_coll_end();
}

/* ZADD / ZREM of the masked members (cmd ZADD's and ZREM's loop): one
 * writer per attempt; a ZREM that removes nothing writes nothing. */
static void zset_write(struct op *o)
{
	const struct db_view *v = db_plain(db);
	const char *k = typed_key(G_ZSET);

	for (;;) {
		const struct kv_entry *old = typed_lookup(G_ZSET, KV_ZSET);
		struct tzset_w w;
		int n = 0;

		tzset_w_begin(&w, db_coll_ctx(v), old);
		for (int i = 0; i < KEYS; i++)
			if (o->mask >> i & 1)
				n += o->kind == OP_ZADD
					 ? tzset_w_put(&w, elem_name[i], 2, (double)o->arg)
					 : tzset_w_del(&w, elem_name[i], 2);
		if (n == 0 && o->kind == OP_ZREM) {
			tzset_w_end(&w);
			o->rc = 0;
			break;
		}
		struct kv_entry *e =
		    tzset_w_finish(&w, k, strlen(k), old ? kv_entry_expire(old) : 0);
		int rc = db_put(v, old, e);
		tzset_w_end(&w);
		if (rc == 0) {
			o->rc = n;
			break;
		}
		if (e)
			kv_entry_free(e);
	}
	db_coll_end();
}

static void zset_score(struct op *o)
{
	const struct kv_entry *e = typed_lookup(G_ZSET, KV_ZSET);
	double sc;

	o->res = e && tzset_score(e, elem_name[o->key], 2, &sc) ? (int64_t)sc : -1;
}

/* SADD / SREM of the masked members (the set commands' loop): an SREM
 * that removes nothing writes nothing; removing the last member deletes
 * the key. */
static void set_write(struct op *o)
{
	const struct db_view *v = db_plain(db);
	const char *k = typed_key(G_SET);

	for (;;) {
		const struct kv_entry *old = typed_lookup(G_SET, KV_SET);
		struct tset_build b;
		int n = 0;

		tset_build_from(&b, db_coll_ctx(v), old);
		for (int i = 0; i < KEYS; i++)
			if (o->mask >> i & 1)
				n += o->kind == OP_SADD ? tset_build_add(&b, elem_name[i], 2)
							: tset_build_del(&b, elem_name[i], 2);
		if (n == 0) {
			tset_build_done(&b);
			o->rc = 0;
			break;
		}
		struct kv_entry *e =
		    tset_build_count(&b)
			? tset_build_entry(&b, k, strlen(k), old ? kv_entry_expire(old) : 0)
			: NULL;
		int rc = db_put(v, old, e);
		tset_build_done(&b);
		if (rc == 0) {
			o->rc = n;
			break;
		}
		if (e)
			kv_entry_free(e);
	}
	db_coll_end();
}

static void set_ismember(struct op *o)
{
	const struct kv_entry *e = typed_lookup(G_SET, KV_SET);

	o->res = e && tset_ismember(e, elem_name[o->key], 2);
}

/* HSET / HDEL of the masked fields (cmd_hash.c's loop: thash_apply, then
 * db_put); an HDEL that finds none of its fields writes nothing. A field's
 * value is the op's arg, its 8 bytes. */
static void hash_write(struct op *o)
{
	const struct db_view *v = db_plain(db);
	const char *k = typed_key(G_HASH);
	struct thash_op ops[KEYS];
	size_t n = 0;

	for (int i = 0; i < KEYS; i++)
		if (o->mask >> i & 1)
			ops[n++] = (struct thash_op){elem_name[i], 2, (const char *)&o->arg,
						     sizeof(o->arg), o->kind == OP_HDEL};
	for (;;) {
		const struct kv_entry *old = typed_lookup(G_HASH, KV_HASH);
		size_t added = 0, removed = 0;
		bool any = o->kind == OP_HSET;
		const char *val;
		size_t vlen;

		for (size_t i = 0; old && !any && i < n; i++)
			any = thash_get(old, ops[i].f, ops[i].flen, &val, &vlen);
		if (!any) {
			o->rc = 0;
			break;
		}
		struct kv_entry *e =
		    thash_apply(db_coll_ctx(v), old, k, strlen(k), old ? kv_entry_expire(old) : 0,
				ops, n, &added, &removed);
		if (db_put(v, old, e) == 0) {
			o->rc = (int)(o->kind == OP_HSET ? added : removed);
			break;
		}
		if (e)
			kv_entry_free(e);
	}
	db_coll_end();
}

static void hash_get(struct op *o)
{
	const struct kv_entry *e = typed_lookup(G_HASH, KV_HASH);
	const char *val;
	size_t vlen;

	o->res = -1;
	if (e && thash_get(e, elem_name[o->key], 2, &val, &vlen)) {
		if (vlen != sizeof(o->res))
			fail("lin:h holds a %zu-byte value", vlen);
		memcpy(&o->res, val, sizeof(o->res));
	}
}

/* Starts the typed values' background freer (as server setup does) and
 * registers the runners. (The types' coll rows — TYPE, DEBUG DIGEST,
 * MEMORY USAGE, COPY — are not used here.) */
static void typed_setup(void)
{
	coll_setup();
	typed_run[OP_HSET] = hash_write;
	typed_run[OP_HDEL] = hash_write;
	typed_run[OP_HGET] = hash_get;
	typed_run[OP_SADD] = set_write;
	typed_run[OP_SREM] = set_write;
	typed_run[OP_SISMEMBER] = set_ismember;
	typed_run[OP_ZADD] = zset_write;
	typed_run[OP_ZREM] = zset_write;
	typed_run[OP_ZSCORE] = zset_score;
}

static void run_op_body(struct op *o, struct db_txn *tx)
{
	const struct kv_entry *e, *a2, *b2;
	struct kv_entry *n;

	switch (o->kind) {
	case OP_GET:
		o->res = value_of(lookup(o->key));
		break;
	case OP_SET:
		o->rc = kvmap_set(map, make(o->key, o->arg));
		break;
	case OP_INSERT:
		n = make(o->key, o->arg);
		o->rc = kvmap_insert(map, n, &e);
		if (o->rc) {
			o->res = value_of(e);
			kv_entry_free(n);
		}
		break;
	case OP_DEL:
		for (;;) {
			e = lookup(o->key);
			o->res = value_of(e);
			if (!e || kvmap_remove(map, e) == 0)
				break;
		}
		break;
	case OP_INCR:
		for (;;) {
			e = lookup(o->key);
			int64_t v = e ? value_of(e) + 1 : 1;
			n = make(o->key, v);
			o->res = v;
			if (e ? kvmap_replace(map, e, n) == 0 : kvmap_insert(map, n, NULL) == 0)
				break;
			kv_entry_free(n);
		}
		break;
	case OP_MWSET:
		for (;;) {
			const struct kv_entry *a = lookup(0), *b = lookup(1);
			struct kvmap_mw it[2];
			char k[2][16];
			for (int i = 0; i < 2; i++) {
				int n = key_name(k[i], i);
				it[i] = (struct kvmap_mw){.key = k[i],
							  .klen = (size_t)n,
							  .hash = kvmap_hash(k[i], (size_t)n),
							  .old = i ? b : a,
							  .neww = make(i, o->arg),
							  .write = 1};
			}
			if (kvmap_mwcas(map, it, 2, NULL, 0) == 0)
				break;
			kv_entry_free(it[0].neww);
			kv_entry_free(it[1].neww);
		}
		break;
	case OP_MWGET:
		for (;;) {
			const struct kv_entry *a = lookup(0), *b = lookup(1);
			struct kvmap_mw it[2];
			char k[2][16];
			for (int i = 0; i < 2; i++) {
				int n = key_name(k[i], i);
				it[i] = (struct kvmap_mw){.key = k[i],
							  .klen = (size_t)n,
							  .hash = kvmap_hash(k[i], (size_t)n),
							  .old = i ? b : a};
			}
			o->res = value_of(a);
			o->res2 = value_of(b);
			if (kvmap_mwcas(map, it, 2, NULL, 0) == 0)
				break;
		}
		break;
	case OP_MSET: /* server/cmd_string.c's mset_body in a transaction */
		do {
			const struct db_view *v = db_txn_begin(tx, NULL, 0, o->exclusive);
			for (int i = 0; i < KEYS; i++) {
				struct kv_entry *e2 = make(i, o->arg);
				while (db_put(v, vlookup(v, i), e2) != 0)
					;
			}
		} while (db_txn_commit(tx) == -EAGAIN);
		break;
	case OP_MGET:
	case OP_EXISTS:
		/* server/cmd_string.c's mget_body / cmd_keys.c's exists_body */
		if (plain_multi_reads) {
			a2 = vlookup(db_plain(db), 0);
			b2 = vlookup(db_plain(db), 1);
		} else {
			do {
				const struct db_view *v = db_txn_begin(tx, NULL, 0, o->exclusive);
				a2 = vlookup(v, 0);
				b2 = vlookup(v, 1);
			} while (db_txn_commit(tx) == -EAGAIN);
		}
		if (o->kind == OP_MGET) {
			o->res = value_of(a2);
			o->res2 = value_of(b2);
		} else {
			o->res = (a2 != NULL) + (b2 != NULL);
		}
		break;
	case OP_RENAME: /* server/cmd_keys.c's rename_generic, o->key -> the other */
		do {
			const struct db_view *v = db_txn_begin(tx, NULL, 0, o->exclusive);
			const struct kv_entry *src = vlookup(v, o->key);
			const struct kv_entry *dst = vlookup(v, 1 - o->key);
			o->rc = src ? 0 : -ENOENT;
			o->res = value_of(src);
			if (src && (db_put(v, src, NULL) != 0 ||
				    db_put(v, dst, make(1 - o->key, value_of(src))) != 0))
				fail("rename: overlay write failed");
		} while (db_txn_commit(tx) == -EAGAIN);
		break;
	default:
		typed_run[o->kind](o);
		break;
	}
}

/* Runs one operation against the map, filling res / rc. The operations that
 * write the map directly hold a write bracket (db.h), as every writer in
 * the server does, so that a transaction that goes exclusive after repeated
 * conflicts is never overlapped by them. */
static void run_op(struct op *o, struct db_txn *tx)
{
	bool raw = o->kind < OP_MSET && o->kind != OP_GET && o->kind != OP_MWGET;

	if (raw)
		db_write_enter(db);
	run_op_body(o, tx);
	if (raw)
		db_write_exit(db);
}

/* ---- the checker. */

struct history {
	const struct op *op[MAX_HIST];
	int n;
};

/* Applies o to the model state (both registers) if o's recorded result is
 * what the sequential model returns; returns whether it did. */
static bool model_step(const struct op *o, int64_t *regs)
{
	int64_t *s = &regs[o->key];
	int n = 0;

	switch (o->kind) {
	case OP_HSET: /* answers the fields it added */
	case OP_SADD:
	case OP_ZADD:
		for (int i = 0; i < KEYS; i++)
			n += (o->mask >> i & 1) && regs[i] == -1;
		if (o->rc != n)
			return false;
		for (int i = 0; i < KEYS; i++)
			if (o->mask >> i & 1)
				regs[i] = o->kind == OP_SADD ? 1 : o->arg;
		return true;
	case OP_HDEL: /* answers the fields it removed */
	case OP_SREM:
	case OP_ZREM:
		for (int i = 0; i < KEYS; i++)
			n += (o->mask >> i & 1) && regs[i] != -1;
		if (o->rc != n)
			return false;
		for (int i = 0; i < KEYS; i++)
			if (o->mask >> i & 1)
				regs[i] = -1;
		return true;
	case OP_HGET:
	case OP_ZSCORE:
		return o->res == *s;
	case OP_SISMEMBER:
		return o->res == (*s != -1);
	case OP_MWSET:
	case OP_MSET:
		regs[0] = regs[1] = o->arg;
		return true;
	case OP_MWGET:
	case OP_MGET:
		return o->res == regs[0] && o->res2 == regs[1];
	case OP_EXISTS:
		return o->res == (regs[0] != -1) + (regs[1] != -1);
	case OP_RENAME:
		if (o->res != *s || o->rc != (*s == -1 ? -ENOENT : 0))
			return false;
		if (*s != -1) {
			regs[1 - o->key] = *s;
			*s = -1;
		}
		return true;
	case OP_GET:
		return o->res == *s;
	case OP_SET:
		if (o->rc != (*s != -1))
			return false;
		*s = o->arg;
		return true;
	case OP_INSERT:
		if (*s == -1) {
			if (o->rc != 0)
				return false;
			*s = o->arg;
			return true;
		}
		return o->rc == -EEXIST && o->res == *s;
	case OP_DEL:
		if (o->res != *s)
			return false;
		*s = -1;
		return true;
	case OP_INCR:
		if (o->res != (*s == -1 ? 1 : *s + 1))
			return false;
		*s = o->res;
		return true;
	default:
		return false;
	}
}

/* Memo of explored (done, state) triples that failed, per search. */
#define MEMO_SIZE 65536
static struct memo {
	uint32_t done; /* 0 = empty (the root is never memoised) */
	int64_t s0, s1;
} memo[MEMO_SIZE];

static struct memo *memo_slot(uint32_t done, const int64_t *st, bool *hit)
{
	uint64_t h = (done * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)st[0] * 0xbf58476d1ce4e5b9ULL) ^
		     ((uint64_t)st[1] * 0x94d049bb133111ebULL);
	for (size_t i = 0; i < 64; i++) {
		struct memo *m = &memo[(h + i) & (MEMO_SIZE - 1)];
		if (m->done == 0 || (m->done == done && m->s0 == st[0] && m->s1 == st[1])) {
			*hit = m->done != 0;
			return m;
		}
	}
	*hit = false;
	return NULL; /* full neighbourhood: just do not memoise */
}

static bool search(const struct history *h, uint32_t done, const int64_t *state)
{
	if (done == (1u << h->n) - 1)
		return true;
	bool hit;
	struct memo *ms = done ? memo_slot(done, state, &hit) : NULL;
	if (ms && hit)
		return false;
	/* The earliest response among pending ops bounds who may go next. */
	uint64_t min_rsp = UINT64_MAX;
	for (int i = 0; i < h->n; i++)
		if (!(done & (1u << i)) && h->op[i]->rsp < min_rsp)
			min_rsp = h->op[i]->rsp;
	for (int i = 0; i < h->n; i++) {
		if ((done & (1u << i)) || h->op[i]->inv > min_rsp)
			continue;
		int64_t s[KEYS] = {state[0], state[1]};
		if (model_step(h->op[i], s) && search(h, done | (1u << i), s))
			return true;
	}
	if (ms)
		*ms = (struct memo){.done = done, .s0 = state[0], .s1 = state[1]};
	return false;
}

static bool search_root(const struct history *h)
{
	const int64_t absent[KEYS] = {-1, -1};

	memset(memo, 0, sizeof(memo));
	return search(h, 0, absent);
}

/* The whole round: the string ops against the two-register model
 * (locality does not hold once MSET/MGET tie the keys together; it is also
 * a stronger check), each typed key's ops against its two elements. */
static void check_round(void)
{
	for (int g = 0; g < G_COUNT; g++) {
		struct history h = {.n = 0};

		for (int t = 0; t < nthreads; t++)
			for (int i = 0; i < OPS; i++)
				if (op_group(hist[t][i].kind) == (enum op_group)g)
					h.op[h.n++] = &hist[t][i];
		if (h.n == 0 || search_root(&h))
			continue;
		fprintf(stderr, "non-linearizable history on %s:\n", group_key[g]);
		for (int i = 0; i < h.n; i++) {
			const struct op *o = h.op[i];
			fprintf(stderr,
				"  [%llu, %llu] %s(%d, mask %u, %lld) -> res %lld/%lld rc %d\n",
				(unsigned long long)o->inv, (unsigned long long)o->rsp,
				op_name[o->kind], o->key, o->mask, (long long)o->arg,
				(long long)o->res, (long long)o->res2, o->rc);
		}
		fail("round %llu", (unsigned long long)rounds_checked);
	}
	rounds_checked++;
}

/* A broken checker: exit 99, which meson counts as an error even for a test
 * that should fail (kvmap-lin-catches-plain-multi-reads must fail by
 * finding a violation, not by a broken self-test). */
static void self_fail(const char *what) __attribute__((noreturn));
static void self_fail(const char *what)
{
	fprintf(stderr, "stress_lin: self-test failed: %s\n", what);
	exit(99);
}

/* The checker rejects a stale read and accepts an overlapping one. */
static void self_test(void)
{
	struct op set = {.kind = OP_SET, .arg = 5, .rc = 0, .inv = 0, .rsp = 1};
	struct op get = {.kind = OP_GET, .res = -1, .inv = 2, .rsp = 3};
	struct history h = {.op = {&set, &get}, .n = 2};

	if (search_root(&h))
		self_fail("a read after a completed set returned absent and passed");
	get.inv = 0; /* overlapping the set: absent is a legal answer */
	if (!search_root(&h))
		self_fail("an overlapping read was rejected");
	/* half an MSET: a GET of lin:1 after a completed GET of lin:0 saw the new
	 * value there but the old one here */
	struct op ms = {.kind = OP_MSET, .arg = 7, .inv = 0, .rsp = 10};
	struct op g0 = {.kind = OP_GET, .key = 0, .res = 7, .inv = 1, .rsp = 2};
	struct op g1 = {.kind = OP_GET, .key = 1, .res = -1, .inv = 3, .rsp = 4};
	struct history hm = {.op = {&ms, &g0, &g1}, .n = 3};
	if (search_root(&hm))
		self_fail("half an MSET was accepted");
	g1.res = 7;
	if (!search_root(&hm))
		self_fail("a whole MSET was rejected");
	/* an MGET mixing two MSETs (defect 4 of issue 10) */
	struct op m1 = {.kind = OP_MSET, .arg = 1, .inv = 0, .rsp = 1};
	struct op m2 = {.kind = OP_MSET, .arg = 2, .inv = 2, .rsp = 5};
	struct op mg = {.kind = OP_MGET, .res = 1, .res2 = 2, .inv = 3, .rsp = 6};
	struct history hg = {.op = {&m1, &m2, &mg}, .n = 3};
	if (search_root(&hg))
		self_fail("an MGET mixing two MSETs was accepted");
	mg.res = 2;
	if (!search_root(&hg))
		self_fail("an MGET of one MSET was rejected");
	/* EXISTS of both keys answering 0 while one of them is renamed */
	struct op s0 = {.kind = OP_SET, .key = 0, .arg = 3, .rc = 0, .inv = 0, .rsp = 1};
	struct op rn = {.kind = OP_RENAME, .key = 0, .res = 3, .rc = 0, .inv = 2, .rsp = 5};
	struct op ex = {.kind = OP_EXISTS, .res = 0, .inv = 3, .rsp = 4};
	struct history he = {.op = {&s0, &rn, &ex}, .n = 3};
	if (search_root(&he))
		self_fail("EXISTS during a RENAME answered 0 and was accepted");
	ex.res = 1;
	if (!search_root(&he))
		self_fail("EXISTS during a RENAME answering 1 was rejected");
	/* half an HSET of two fields: HGET f0 saw it, a later HGET f1 did not */
	struct op hs = {.kind = OP_HSET, .mask = 3, .arg = 9, .rc = 2, .inv = 0, .rsp = 10};
	struct op hg0 = {.kind = OP_HGET, .key = 0, .res = 9, .inv = 1, .rsp = 2};
	struct op hg1 = {.kind = OP_HGET, .key = 1, .res = -1, .inv = 3, .rsp = 4};
	struct history hh = {.op = {&hs, &hg0, &hg1}, .n = 3};
	if (search_root(&hh))
		self_fail("half an HSET of two fields was accepted");
	hg1.res = 9;
	if (!search_root(&hh))
		self_fail("a whole HSET of two fields was rejected");
	/* two SADDs of the same member cannot both add it */
	struct op sa1 = {.kind = OP_SADD, .mask = 1, .rc = 1, .inv = 0, .rsp = 3};
	struct op sa2 = {.kind = OP_SADD, .mask = 1, .rc = 1, .inv = 1, .rsp = 2};
	struct history hs2 = {.op = {&sa1, &sa2}, .n = 2};
	if (search_root(&hs2))
		self_fail("two SADDs both adding one member were accepted");
	/* a ZSCORE after a completed ZREM still seeing the score */
	struct op za = {.kind = OP_ZADD, .mask = 2, .arg = 5, .rc = 1, .inv = 0, .rsp = 1};
	struct op zr = {.kind = OP_ZREM, .mask = 3, .rc = 1, .inv = 2, .rsp = 3};
	struct op zs = {.kind = OP_ZSCORE, .key = 1, .res = 5, .inv = 4, .rsp = 5};
	struct history hz = {.op = {&za, &zr, &zs}, .n = 3};
	if (search_root(&hz))
		self_fail("a ZSCORE after a completed ZREM saw the score and passed");
	zs.inv = 2; /* overlapping the ZREM: the score is a legal answer */
	if (!search_root(&hz))
		self_fail("a ZSCORE overlapping a ZREM was rejected");
}

/* ---- threads. */

static void *recorder(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = 0x12345u + (uint64_t)id * 7919;
	int64_t seq = 0;

	kvmap_thread_register();
	for (;;) {
		kvmap_thread_offline(); /* no thread blocks online */
		pthread_barrier_wait(&round_start);
		kvmap_thread_online();
		/* relaxed: thread 0 sets it only between round_end and round_start,
		 * when every recorder is between them; the barrier orders it */
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			break;
		for (int i = 0; i < OPS; i++) {
			struct op *o = &hist[id][i];
			uint64_t r = rng_next(&rng);
			memset(o, 0, sizeof(*o));
			o->kind = kinds[r % (uint64_t)nkinds];
			if (plain_multi_reads) /* only the db layer's multi-key ops */
				o->kind = (enum op_kind)(OP_MSET + r % (OP_HSET - OP_MSET));
			/* 1 in 8 db-layer transactions asks for an exclusive run, as
			 * EXEC does for outside effects (others get there after
			 * conflicts): the gate then meets the bracketed writers */
			o->exclusive = (r >> 40) % 8 == 0;
			o->key = (int)((r >> 8) % KEYS);
			o->mask = 1 + (unsigned)((r >> 16) % 3); /* typed writes: 1, 2 or both */
			o->arg = (int64_t)id << 40 | ++seq << 8; /* unique; far from incr values */
			o->res = -1;
			o->inv = atomic_fetch_add_explicit(&clock_, 1, memory_order_seq_cst);
			run_op(o, txns[id]);
			o->rsp = atomic_fetch_add_explicit(&clock_, 1, memory_order_seq_cst);
		}
		kvmap_quiescent();
		kvmap_thread_offline();
		pthread_barrier_wait(&round_end);
		kvmap_thread_online();
		if (id == 0) {
			check_round();
			for (int key = 0; key < KEYS; key++) {
				const struct kv_entry *e;
				while ((e = lookup(key)) && kvmap_remove(map, e) != 0)
					;
			}
			for (int g = G_HASH; g < G_COUNT; g++)
				typed_clear((enum op_group)g);
			kvmap_quiescent();
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				/* relaxed: see the load above */
				atomic_store_explicit(&stop, true, memory_order_relaxed);
		}
	}
	kvmap_thread_unregister();
	return NULL;
}

static void *churn(void *arg)
{
	uint64_t rng = 99;
	char k[32];
	(void)arg;

	kvmap_thread_register();
	/* relaxed: a stale read only delays the exit by one operation */
	while (!atomic_load_explicit(&churn_stop, memory_order_relaxed)) {
		int i = (int)(rng_next(&rng) % CHURN_KEYS);
		int n = snprintf(k, sizeof(k), "churn:%d", i);
		db_write_enter(db); /* a direct map writer, as run_op's */
		const struct kv_entry *e = kvmap_get(map, k, (size_t)n, kvmap_hash(k, (size_t)n));
		if (e)
			(void)kvmap_remove(map, e);
		else
			(void)kvmap_set(map, kv_entry_new(k, (size_t)n, "x", 1, 0));
		db_write_exit(db);
		if (i % 16 == 0)
			kvmap_quiescent();
		if (i % 512 == 0)
			kvmap_maintain(map);
	}
	kvmap_thread_unregister();
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress_lin [--seconds S] [--threads 2..4] [--map kvsd|urcu]"
			" [--plain-multi-reads]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	enum kvmap_backend backend = KVMAP_KVSD;
	pthread_t rec[MAX_THREADS], ch;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--plain-multi-reads") == 0) {
			plain_multi_reads = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--map") == 0) {
			i++;
			if (strcmp(argv[i], "kvsd") == 0)
				backend = KVMAP_KVSD;
			else if (strcmp(argv[i], "urcu") == 0)
				backend = KVMAP_URCU;
			else
				usage();
		} else
			usage();
	}
	if (nthreads < 2 || nthreads > MAX_THREADS || seconds <= 0)
		usage();
	/* MSET/MGET: the cds_lfht backend's MWCAS is not isolated (kvmap.h) */
	for (int k = 0; k < (backend == KVMAP_KVSD ? OP_HSET : OP_MWSET); k++)
		kinds[nkinds++] = (enum op_kind)k;

	self_test();
	kvmap_setup();
	typed_setup();
	for (int k = OP_HSET; k < OP_KINDS; k++)
		if (typed_run[k])
			kinds[nkinds++] = (enum op_kind)k;
	kvmap_thread_register();
	db = db_create(backend);
	if (!db)
		fail("db_create");
	map = db_map(db);
	for (int t = 0; t < nthreads; t++)
		txns[t] = db_txn_create(db);
	kvmap_thread_offline();
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)seconds;
	deadline.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_barrier_init(&round_start, NULL, (unsigned)nthreads);
	pthread_barrier_init(&round_end, NULL, (unsigned)nthreads);
	pthread_create(&ch, NULL, churn, NULL);
	for (int t = 0; t < nthreads; t++)
		pthread_create(&rec[t], NULL, recorder, (void *)(intptr_t)t);

	for (int t = 0; t < nthreads; t++)
		pthread_join(rec[t], NULL);
	atomic_store_explicit(&churn_stop, true, memory_order_relaxed);
	pthread_join(ch, NULL);

	kvmap_thread_online();
	for (int t = 0; t < nthreads; t++)
		db_txn_destroy(&txns[t]);
	db_destroy(&db);
	kvmap_thread_unregister();
	kvmap_teardown();
	coll_drain();
	coll_teardown();
	if (rounds_checked == 0)
		fail("no round completed");
	printf("stress_lin: ok: map=%s threads=%d rounds=%llu histories=%llu\n",
	       backend == KVMAP_KVSD ? "kvsd" : "urcu", nthreads,
	       (unsigned long long)rounds_checked, (unsigned long long)rounds_checked * KEYS);
	return 0;
}
