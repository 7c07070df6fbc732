/*
 * cmd_hash.c — the hash commands: HSET HSETNX HMSET HGET HMGET HDEL HLEN
 * HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN,
 * with Redis 7.0.15's semantics, errors and reply bytes (t_hash.c; the
 * value itself and its encodings are storage/thash.h's).
 *
 * Every write is the CAS loop of storage/coll.h: read the current entry,
 * validate, build the new entry (thash_apply: a new listpack blob, or an
 * edit of the tree), db_put; on a lost race read again and rebuild. So each
 * command is atomic and linearizable per key, MULTI/EXEC stages it like
 * any write, and a write keeps the key's TTL as Redis does.
 *
 * Where Redis's result is random (HRANDFIELD) kvsd follows its algorithm
 * choices where they show: a count >= the size replies the whole hash in
 * iteration order (byte-identical for a listpack), a count of 1 or a
 * negative count picks with replacement, a smaller positive count gives
 * distinct fields (Redis 7.0.15 collects those in a dict, so its order is
 * the dict's; kvsd's is the iteration order of the sample).
 * HSCAN of a listpack replies everything with cursor 0; of a hashtable,
 * the cursor is a position in the tree's key order (the hash of the next
 * field to return), so a field present for a whole scan is returned at
 * least once whatever is written meanwhile.
 */
#include "server/cmd.h"
#include "server/strutil.h"
#include "net/conn.h"
#include "net/reply.h"
#include "storage/db.h"
#include "storage/thash.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Redis's MAX_LONG_DOUBLE_CHARS. */
#define LD_STR_MAX (5 * 1024)

/* A negative HRANDFIELD count repeats picks without bound (-9e18 is a valid
 * count); Redis runs out of memory building such a reply. kvsd closes the
 * client once one reply passes this size, as Redis's output-buffer limit
 * would (CLIENT_CLOSE_ASAP ends Redis's loop too). */
#define RANDFIELD_REPLY_MAX ((size_t)512 << 20)

static const struct kv_entry *lookup(struct cmd_req *r, int count_stats)
{
	return db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, count_stats);
}

/* A read's key: NULL when absent; *wrong set (and WRONGTYPE replied) when
 * the key holds another type. */
static const struct kv_entry *lookup_read(struct cmd_req *r, bool *wrong)
{
	const struct kv_entry *e = lookup(r, 1);

	*wrong = e && kv_entry_type(e) != KV_HASH;
	if (*wrong) {
		cmd_reply_wrongtype(r);
		return NULL;
	}
	return e;
}

/* One CAS step of a write: 0 when published, -1 when the race was lost
 * (read again and rebuild). */
static int put_ops(struct cmd_req *r, const struct kv_entry *old, const struct thash_op *ops,
		   size_t n, size_t *added, size_t *removed)
{
	struct kv_entry *e = thash_apply(db_coll_ctx(r->view), old, r->argv[1], r->argl[1],
					 old ? kv_entry_expire(old) : 0, ops, n, added, removed);

	if (db_put(r->view, old, e) == 0)
		return 0;
	if (e)
		kv_entry_free(e);
	return -1;
}

/* ---- HSET HMSET HSETNX */

/* HSET pairs / HDEL fields kept on the stack (more: one heap array) */
#define HSET_LOCAL_OPS 8

static void hset_generic(struct cmd_req *r, bool hmset)
{
	size_t n = (size_t)(r->argc - 2) / 2, added = 0;
	/* a few pairs (the usual HSET) on the stack: the heap copy and its free
	 * were ~170 of HSET's ~5,700 instructions on a large hash
	 * (docs/BENCHMARKS.md, branch group13) */
	struct thash_op local[HSET_LOCAL_OPS], *ops = local;

	if (r->argc % 2 == 1) {
		cmd_reply_arity(r);
		return;
	}
	if (n > HSET_LOCAL_OPS)
		ops = mem_alloc(n * sizeof(*ops));
	for (size_t i = 0; i < n; i++) {
		int a = 2 + 2 * (int)i;

		ops[i] = (struct thash_op){r->argv[a], r->argl[a], r->argv[a + 1], r->argl[a + 1],
					   false};
	}
	for (;;) {
		const struct kv_entry *old = lookup(r, 0);

		if (old && kv_entry_type(old) != KV_HASH) {
			cmd_reply_wrongtype(r);
			if (ops != local)
				mem_free(ops);
			return;
		}
		if (put_ops(r, old, ops, n, &added, NULL) == 0)
			break;
	}
	if (ops != local)
		mem_free(ops);
	if (hmset)
		reply_ok(r->c);
	else
		reply_int(r->c, (long long)added);
}

static void cmd_hset(struct cmd_req *r)
{
	hset_generic(r, false);
}

static void cmd_hmset(struct cmd_req *r)
{
	hset_generic(r, true);
}

static void cmd_hsetnx(struct cmd_req *r)
{
	struct thash_op op = {r->argv[2], r->argl[2], r->argv[3], r->argl[3], false};

	for (;;) {
		const struct kv_entry *old = lookup(r, 0);
		const char *v;
		size_t vlen;

		if (old && kv_entry_type(old) != KV_HASH) {
			cmd_reply_wrongtype(r);
			return;
		}
		if (old && thash_get(old, op.f, op.flen, &v, &vlen)) {
			reply_int(r->c, 0);
			return;
		}
		if (put_ops(r, old, &op, 1, NULL, NULL) == 0)
			break;
	}
	reply_int(r->c, 1);
}

/* ---- HINCRBY HINCRBYFLOAT */

static void cmd_hincrby(struct cmd_req *r)
{
	long long incr, v;
	char buf[32];
	struct thash_op op = {r->argv[2], r->argl[2], buf, 0, false};

	if (!cmd_arg_ll(r, 3, &incr))
		return;
	for (;;) {
		const struct kv_entry *old = lookup(r, 0);
		const char *cur;
		size_t clen;

		if (old && kv_entry_type(old) != KV_HASH) {
			cmd_reply_wrongtype(r);
			return;
		}
		v = 0;
		if (old && thash_get(old, op.f, op.flen, &cur, &clen) &&
		    !resp_str2ll(cur, clen, &v)) {
			reply_error(r->c, "ERR hash value is not an integer");
			return;
		}
		if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
		    (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
			reply_error(r->c, "ERR increment or decrement would overflow");
			return;
		}
		v += incr;
		op.vlen = resp_ll2str(buf, v);
		if (put_ops(r, old, &op, 1, NULL, NULL) == 0)
			break;
	}
	reply_int(r->c, v);
}

static void cmd_hincrbyfloat(struct cmd_req *r)
{
	long double incr, v;
	char buf[LD_STR_MAX];
	struct thash_op op = {r->argv[2], r->argl[2], buf, 0, false};

	if (!su_str2ld(r->argv[3], r->argl[3], &incr)) {
		reply_error(r->c, "ERR value is not a valid float");
		return;
	}
	if (isnan(incr) || isinf(incr)) {
		reply_error(r->c, "ERR value is NaN or Infinity");
		return;
	}
	for (;;) {
		const struct kv_entry *old = lookup(r, 0);
		const char *cur;
		size_t clen;
		int len;

		if (old && kv_entry_type(old) != KV_HASH) {
			cmd_reply_wrongtype(r);
			return;
		}
		v = 0;
		if (old && thash_get(old, op.f, op.flen, &cur, &clen) &&
		    !su_str2ld(cur, clen, &v)) {
			reply_error(r->c, "ERR hash value is not a float");
			return;
		}
		v += incr;
		if (isnan(v) || isinf(v)) {
			reply_error(r->c, "ERR increment would produce NaN or Infinity");
			return;
		}
		len = su_ld2str_human(buf, sizeof(buf), v);
		if (len <= 0) { /* cannot happen for a finite value; Redis asserts */
			reply_error(r->c, "ERR value is not a valid float");
			return;
		}
		op.vlen = (size_t)len;
		if (put_ops(r, old, &op, 1, NULL, NULL) == 0)
			break;
	}
	reply_bulk(r->c, buf, op.vlen);
}

/* ---- HDEL */

static void cmd_hdel(struct cmd_req *r)
{
	size_t n = (size_t)(r->argc - 2), removed = 0;
	struct thash_op local[HSET_LOCAL_OPS], *ops = local;

	if (n > HSET_LOCAL_OPS)
		ops = mem_alloc(n * sizeof(*ops));
	for (size_t i = 0; i < n; i++)
		ops[i] = (struct thash_op){r->argv[2 + i], r->argl[2 + i], NULL, 0, true};
	for (;;) {
		const struct kv_entry *old = lookup(r, 0);
		bool any = false;
		const char *v;
		size_t vlen;

		if (old && kv_entry_type(old) != KV_HASH) {
			if (ops != local)
				mem_free(ops);
			cmd_reply_wrongtype(r);
			return;
		}
		/* nothing to delete: no write (and no edit begun) */
		for (size_t i = 0; old && !any && i < n; i++)
			any = thash_get(old, ops[i].f, ops[i].flen, &v, &vlen);
		if (!any) {
			removed = 0;
			break;
		}
		if (put_ops(r, old, ops, n, NULL, &removed) == 0)
			break;
	}
	if (ops != local)
		mem_free(ops);
	reply_int(r->c, (long long)removed);
}

/* ---- reads of one field or the count */

static void cmd_hget(struct cmd_req *r)
{
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);
	const char *v;
	size_t vlen;

	if (wrong)
		return;
	if (e && thash_get(e, r->argv[2], r->argl[2], &v, &vlen))
		reply_bulk(r->c, v, vlen);
	else
		reply_null(r->c);
}

static void cmd_hmget(struct cmd_req *r)
{
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);
	const char *v;
	size_t vlen;

	if (wrong)
		return;
	reply_array(r->c, r->argc - 2);
	for (int i = 2; i < r->argc; i++) {
		if (e && thash_get(e, r->argv[i], r->argl[i], &v, &vlen))
			reply_bulk(r->c, v, vlen);
		else
			reply_null(r->c);
	}
}

static void cmd_hlen(struct cmd_req *r)
{
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);

	if (!wrong)
		reply_int(r->c, e ? (long long)thash_count(e) : 0);
}

static void cmd_hstrlen(struct cmd_req *r)
{
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);
	const char *v;
	size_t vlen;

	if (wrong)
		return;
	if (e && thash_get(e, r->argv[2], r->argl[2], &v, &vlen))
		reply_int(r->c, (long long)vlen);
	else
		reply_int(r->c, 0);
}

static void cmd_hexists(struct cmd_req *r)
{
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);
	const char *v;
	size_t vlen;

	if (!wrong)
		reply_int(r->c, e && thash_get(e, r->argv[2], r->argl[2], &v, &vlen));
}

/* ---- HKEYS HVALS HGETALL */

#define WANT_FIELD 1
#define WANT_VALUE 2

static void getall_generic(struct cmd_req *r, int want)
{
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);
	struct thash_iter it;
	struct pt_elem el;
	size_t n;

	if (wrong)
		return;
	n = e ? thash_count(e) : 0;
	if (want == (WANT_FIELD | WANT_VALUE))
		reply_map(r->c, (long long)n);
	else
		reply_array(r->c, (long long)n);
	if (!e)
		return;
	thash_iter_init(&it, e);
	while (thash_iter_next(&it, &el)) {
		if (want & WANT_FIELD)
			reply_bulk(r->c, el.a, el.alen);
		if (want & WANT_VALUE)
			reply_bulk(r->c, el.b, el.blen);
	}
}

static void cmd_hkeys(struct cmd_req *r)
{
	getall_generic(r, WANT_FIELD);
}

static void cmd_hvals(struct cmd_req *r)
{
	getall_generic(r, WANT_VALUE);
}

static void cmd_hgetall(struct cmd_req *r)
{
	getall_generic(r, WANT_FIELD | WANT_VALUE);
}

/* ---- HRANDFIELD */

static void reply_pick(struct cmd_req *r, const struct pt_elem *el, bool withvalues)
{
	if (withvalues && conn_resp(r->c) > 2)
		reply_array(r->c, 2);
	reply_bulk(r->c, el->a, el->alen);
	if (withvalues)
		reply_bulk(r->c, el->b, el->blen);
}

static void reply_picks_header(struct cmd_req *r, size_t count, bool withvalues)
{
	reply_array(r->c, (long long)(withvalues && conn_resp(r->c) == 2 ? count * 2 : count));
}

static uint64_t rand_below(struct cmd_req *r, uint64_t n)
{
	return wctx_rand64(r->ctx) % n;
}

/* Every pair of a listpack, for picks by position. */
static struct pt_elem *lp_pairs(const struct kv_entry *e, size_t size)
{
	struct pt_elem *a = mem_alloc(size * sizeof(*a));
	struct thash_iter it;

	thash_iter_init(&it, e);
	for (size_t i = 0; i < size && thash_iter_next(&it, &a[i]); i++)
		;
	return a;
}

/* Knuth's selection sampling (algorithm S): `count` distinct positions out
 * of `size`, in iteration order — lpRandomPairsUnique's result order. */
static void pick_ordered(struct cmd_req *r, const struct kv_entry *e, size_t size, size_t count,
			 bool withvalues)
{
	struct thash_iter it;
	struct pt_elem el;
	size_t need = count;

	thash_iter_init(&it, e);
	for (size_t seen = 0; need && thash_iter_next(&it, &el); seen++) {
		if (rand_below(r, size - seen) < need) {
			reply_pick(r, &el, withvalues);
			need--;
		}
	}
}

/* Robert Floyd's sampling of `count` distinct ranks below `size` (count
 * well below size), replied in the order drawn. */
static void pick_floyd(struct cmd_req *r, const struct kv_entry *e, size_t size, size_t count,
		       bool withvalues)
{
	size_t cap = 16;

	while (cap < 2 * count)
		cap <<= 1;
	size_t *set = mem_alloc(cap * sizeof(*set)), mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		set[i] = SIZE_MAX;
	for (size_t j = size - count; j < size; j++) {
		size_t t = (size_t)rand_below(r, j + 1), h;
		struct pt_elem el;

		for (h = (t * 0x9E3779B97F4A7C15ull) & mask; set[h] != SIZE_MAX && set[h] != t;
		     h = (h + 1) & mask)
			;
		if (set[h] == t) { /* taken: j cannot be, it was never drawable */
			t = j;
			for (h = (t * 0x9E3779B97F4A7C15ull) & mask; set[h] != SIZE_MAX;
			     h = (h + 1) & mask)
				;
		}
		set[h] = t;
		thash_at(e, t, &el);
		reply_pick(r, &el, withvalues);
	}
	mem_free(set);
}

static void hrandfield_count(struct cmd_req *r, long long l, bool withvalues)
{
	bool wrong, big;
	const struct kv_entry *e = lookup_read(r, &wrong);
	size_t count, size;
	bool uniq = true;

	if (wrong)
		return;
	if (!e) {
		reply_array(r->c, 0);
		return;
	}
	if (l >= 0) {
		count = (size_t)l;
	} else {
		count = (size_t)-l;
		uniq = false;
	}
	if (count == 0) {
		reply_array(r->c, 0);
		return;
	}
	size = thash_count(e);
	big = coll_enc_is_big(coll_entry_enc(e));
	/* CASE 1: repeats allowed (negative count), or a single pick */
	if (!uniq || count == 1) {
		struct pt_elem *pairs = big ? NULL : lp_pairs(e, size);
		size_t mark = conn_reply_mark(r->c);

		reply_picks_header(r, count, withvalues);
		while (count--) {
			struct pt_elem el;
			size_t i = (size_t)rand_below(r, size);

			if ((count & 1023) == 0 &&
			    conn_reply_mark(r->c) - mark > RANDFIELD_REPLY_MAX) {
				conn_close_asap(r->c);
				break;
			}

			if (big)
				thash_at(e, i, &el);
			else
				el = pairs[i];
			reply_pick(r, &el, withvalues);
		}
		mem_free(pairs);
		return;
	}
	/* CASE 2: the whole hash */
	if (count >= size) {
		struct thash_iter it;
		struct pt_elem el;

		reply_picks_header(r, size, withvalues);
		thash_iter_init(&it, e);
		while (thash_iter_next(&it, &el))
			reply_pick(r, &el, withvalues);
		return;
	}
	reply_picks_header(r, count, withvalues);
	/* CASE 2.5 (listpack) and CASE 3 (a large share of a hashtable): one
	 * ordered pass; CASE 4 (a small share): random ranks */
	if (!big || count * 3 > size)
		pick_ordered(r, e, size, count, withvalues);
	else
		pick_floyd(r, e, size, count, withvalues);
}

static void cmd_hrandfield(struct cmd_req *r)
{
	if (r->argc >= 3) {
		long long l;
		bool withvalues = false;

		if (!cmd_arg_ll(r, 2, &l))
			return;
		if (l < -LONG_MAX) {
			reply_errorf(r->c,
				     "ERR value is out of range, value must between %ld and %ld",
				     -LONG_MAX, LONG_MAX);
			return;
		}
		if (r->argc > 4 || (r->argc == 4 && !cmd_arg_is(r, 3, "withvalues"))) {
			cmd_reply_syntax_error(r);
			return;
		}
		if (r->argc == 4) {
			withvalues = true;
			if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
				reply_error(r->c, "ERR value is out of range");
				return;
			}
		}
		hrandfield_count(r, l, withvalues);
		return;
	}
	bool wrong;
	const struct kv_entry *e = lookup_read(r, &wrong);
	struct pt_elem el;

	if (wrong)
		return;
	if (!e) {
		reply_null(r->c);
		return;
	}
	thash_at(e, (size_t)rand_below(r, thash_count(e)), &el);
	reply_bulk(r->c, el.a, el.alen);
}

/* ---- HSCAN */

static bool scan_match(const char *pat, size_t plen, const struct pt_elem *el)
{
	return !pat || su_glob_match(pat, plen, el->a, el->alen, 0);
}

static void cmd_hscan(struct cmd_req *r)
{
	const char *pat = NULL;
	size_t plen = 0;
	long long count = 10;
	uint64_t cursor, next = 0;
	bool wrong;
	const struct kv_entry *e;
	char buf[24];

	if (!cmd_parse_cursor(r->argv[2], r->argl[2], &cursor)) {
		reply_error(r->c, "ERR invalid cursor");
		return;
	}
	e = lookup_read(r, &wrong);
	if (wrong)
		return;
	if (!e) { /* shared.emptyscan */
		reply_array(r->c, 2);
		reply_bulk(r->c, "0", 1);
		reply_array(r->c, 0);
		return;
	}
	if (!cmd_scan_options(r, 3, &pat, &plen, &count))
		return;

	struct pt_elem *out;
	size_t n = 0, cap;
	struct pt_elem el;

	if (!coll_enc_is_big(coll_entry_enc(e))) {
		/* a listpack is returned whole in one call (cursor 0) */
		struct thash_iter it;

		cap = thash_count(e);
		out = mem_alloc((cap ? cap : 1) * sizeof(*out));
		thash_iter_init(&it, e);
		while (thash_iter_next(&it, &el))
			if (scan_match(pat, plen, &el))
				out[n++] = el;
	} else {
		const struct pt_node *root = coll_big_of(e)->root[0];
		struct pt_iter it;
		size_t taken = 0;
		bool have_last = false;
		uint64_t last = 0;

		cap = 16;
		out = mem_alloc(cap * sizeof(*out));
		pt_iter_seek(&it, root, pt_rank(root, cursor, NULL, 0));
		while (pt_iter_next(&it, &el)) {
			/* stop after `count` elements, but never between two
			 * elements of one key: the next cursor is a key */
			if (taken >= (size_t)count && (!have_last || el.key != last)) {
				next = el.key;
				break;
			}
			taken++;
			have_last = true;
			last = el.key;
			if (!scan_match(pat, plen, &el))
				continue;
			if (n == cap) {
				cap *= 2;
				out = mem_realloc(out, cap * sizeof(*out));
			}
			out[n++] = el;
		}
	}
	reply_array(r->c, 2);
	reply_bulk(r->c, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)next));
	reply_array(r->c, (long long)(2 * n));
	for (size_t i = 0; i < n; i++) {
		reply_bulk(r->c, out[i].a, out[i].alen);
		reply_bulk(r->c, out[i].b, out[i].blen);
	}
	mem_free(out);
}

/* clang-format off */
/* name, proc, arity, flags, first/last/step key, ACL categories, group, summary, since, complexity */
const struct cmd_def cmd_hash_table[] = {
	{"hset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write hash fast", "hash",
	 "Set the string value of a hash field", "2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", NULL},
	{"hsetnx", cmd_hsetnx, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write hash fast", "hash",
	 "Set the value of a hash field, only if the field does not exist", "2.0.0", "O(1)", NULL},
	{"hmset", cmd_hmset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write hash fast", "hash",
	 "Set multiple hash fields to multiple values", "2.0.0", "O(N) where N is the number of fields being set.", NULL},
	{"hget", cmd_hget, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read hash fast", "hash",
	 "Get the value of a hash field", "2.0.0", "O(1)", NULL},
	{"hmget", cmd_hmget, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read hash fast", "hash",
	 "Get the values of all the given hash fields", "2.0.0", "O(N) where N is the number of fields being requested.", NULL},
	{"hdel", cmd_hdel, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "write hash fast", "hash",
	 "Delete one or more hash fields", "2.0.0", "O(N) where N is the number of fields to be removed.", NULL},
	{"hlen", cmd_hlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read hash fast", "hash",
	 "Get the number of fields in a hash", "2.0.0", "O(1)", NULL},
	{"hstrlen", cmd_hstrlen, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read hash fast", "hash",
	 "Get the length of the value of a hash field", "3.2.0", "O(1)", NULL},
	{"hexists", cmd_hexists, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read hash fast", "hash",
	 "Determine if a hash field exists", "2.0.0", "O(1)", NULL},
	{"hkeys", cmd_hkeys, 2, CMD_READONLY, 1, 1, 1, "read hash slow", "hash",
	 "Get all the fields in a hash", "2.0.0", "O(N) where N is the size of the hash.", NULL},
	{"hvals", cmd_hvals, 2, CMD_READONLY, 1, 1, 1, "read hash slow", "hash",
	 "Get all the values in a hash", "2.0.0", "O(N) where N is the size of the hash.", NULL},
	{"hgetall", cmd_hgetall, 2, CMD_READONLY, 1, 1, 1, "read hash slow", "hash",
	 "Get all the fields and values in a hash", "2.0.0", "O(N) where N is the size of the hash.", NULL},
	{"hincrby", cmd_hincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write hash fast", "hash",
	 "Increment the integer value of a hash field by the given number", "2.0.0", "O(1)", NULL},
	{"hincrbyfloat", cmd_hincrbyfloat, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write hash fast", "hash",
	 "Increment the float value of a hash field by the given amount", "2.6.0", "O(1)", NULL},
	{"hrandfield", cmd_hrandfield, -2, CMD_READONLY, 1, 1, 1, "read hash slow", "hash",
	 "Get one or multiple random fields from a hash", "6.2.0", "O(N) where N is the number of fields returned", NULL},
	{"hscan", cmd_hscan, -3, CMD_READONLY, 1, 1, 1, "read hash slow", "hash",
	 "Incrementally iterate hash fields and associated values", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
