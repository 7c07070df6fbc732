/*
 * cmd_keys.c — the keyspace commands: DEL UNLINK EXISTS TOUCH TYPE KEYS SCAN
 * RANDOMKEY RENAME RENAMENX DBSIZE FLUSHDB FLUSHALL, and the TTL commands
 * EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST EXPIRETIME PEXPIRETIME,
 * with Redis 7.0's semantics and reply bytes (db.c and expire.c are the
 * reference: option parsing order, error texts, TTL rounding).
 *
 * A TTL lives in the entry, so changing it (EXPIRE*, PERSIST) publishes a copy
 * of the entry with the new expiry through the same CAS loop as any write.
 * Expired keys are removed lazily by db_lookup(); KEYS, SCAN and RANDOMKEY
 * skip entries whose time has passed.
 *
 * What holds under concurrent writers (copied into README):
 *  - EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT (with NX XX GT LT) and PERSIST are
 *    linearizable per key: the condition is checked against the entry that
 *    the CAS replaces, so a concurrent write is never lost or overwritten by
 *    a stale copy of the value.
 *  - DEL/UNLINK with several keys, RENAME and RENAMENX are atomic and
 *    isolated (server/multi.h, with kvsd's map): one transaction committed
 *    by a multi-word CAS, so a reader never sees some of the keys deleted and
 *    others not, nor a renamed value under both names or under neither.
 *    EXISTS/TOUCH with several keys read one state (a read-only transaction
 *    validated at its end, as MGET), so EXISTS x y during a RENAME loop
 *    between x and y always answers 1.
 *    (With `map urcu` the commit is serialised but not isolated from
 *    single-key readers: see storage/kvmap.h.)
 *  - KEYS and SCAN see each key at some instant during the call; SCAN
 *    returns every key present for the whole scan at least once (possibly
 *    twice). DBSIZE counts entries in the map, including ones that have
 *    expired but were not yet removed (as Redis does), approximate while
 *    others write.
 *  - FLUSHDB/FLUSHALL empty the database(s) in one step (a fresh key space,
 *    storage/db.h): a concurrent write lands before (and is flushed) or
 *    after; the old keys are freed in the background.
 *
 * Types: the commands here take any type. A copy of an entry under another
 * expiry or name (EXPIRE*, PERSIST, RENAME) is coll_clone(): the same value
 * (for a large collection the same lineage, storage/coll.h), not a copy of
 * its bytes. SCAN's TYPE compares with TYPE's names.
 */
#include "server/cmd.h"
#include "server/config.h"
#include "server/multi.h"
#include "server/strutil.h"
#include "net/reply.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "concurrency/wctx.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct kv_entry *lookup(struct cmd_req *r, int i, int count_stats)
{
	return db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, count_stats);
}

static int entry_expired(const struct kv_entry *e, int64_t now_ms)
{
	return kv_entry_expire(e) != 0 && kv_entry_expire(e) <= now_ms;
}

/* A copy of e (same key and value) with another expiry, unpublished. */
static struct kv_entry *entry_with_expire(const struct kv_entry *e, int64_t expire_ms)
{
	/* the same value object, as Redis keeps it (encoding included) */
	return coll_clone(e, kv_entry_key(e), e->klen, expire_ms);
}

/* ---- DEL UNLINK EXISTS TOUCH TYPE */

/* Deletes key argument i if present: 1 if this call removed it. */
static int delete_key(struct cmd_req *r, int i)
{
	for (;;) {
		const struct kv_entry *old = lookup(r, i, 0);

		if (!old)
			return 0;
		if (db_put(r->view, old, NULL) == 0)
			return 1;
	}
}

static void del_body(struct cmd_req *r)
{
	long long n = 0;

	for (int i = 1; i < r->argc; i++)
		n += delete_key(r, i);
	reply_int(r->c, n);
}

static void cmd_del(struct cmd_req *r)
{
	if (r->argc == 2)
		del_body(r); /* one key: a plain CAS is already atomic */
	else
		multi_atomic(r, del_body);
}

/* EXISTS and TOUCH: how many of the arguments name a key (repeats count). */
static void exists_body(struct cmd_req *r)
{
	long long n = 0;

	for (int i = 1; i < r->argc; i++)
		n += lookup(r, i, 1) != NULL;
	reply_int(r->c, n);
}

/* Several keys: a read-only transaction (one state, as MGET). */
static void cmd_exists(struct cmd_req *r)
{
	if (r->argc == 2)
		exists_body(r);
	else
		multi_atomic(r, exists_body);
}

static void cmd_type(struct cmd_req *r)
{
	const struct kv_entry *e = lookup(r, 1, 1);

	reply_simple(r->c, e ? coll_type_name(e) : "none");
}

/* ---- KEYS SCAN RANDOMKEY */

/* Entries collected during a map walk, then replied; pointers stay valid until
 * the worker's next quiescent state (after the reply is written). */
struct collect {
	const struct kv_entry **v;
	size_t n, cap;
	const struct kv_entry *stack[64];
	const char *pat; /* NULL: every key */
	size_t plen;
	const char *type; /* TYPE filter or NULL */
	size_t tlen;
	int64_t now_ms;
};

static void collect_init(struct collect *k, const char *pat, size_t plen, int64_t now_ms)
{
	k->v = k->stack;
	k->n = 0;
	k->cap = KV_ARRAY_LEN(k->stack);
	k->pat = (pat && !(plen == 1 && pat[0] == '*')) ? pat : NULL;
	k->plen = plen;
	k->type = NULL;
	k->now_ms = now_ms;
}

static void collect_visit(const struct kv_entry *e, void *arg)
{
	struct collect *k = arg;

	if (entry_expired(e, k->now_ms))
		return;
	/* Redis compares the names with strcasecmp: an unknown name matches
	 * nothing */
	if (k->type && !su_word_is(k->type, k->tlen, coll_type_name(e)))
		return;
	if (k->pat && !su_glob_match(k->pat, k->plen, kv_entry_key(e), e->klen, 0))
		return;
	if (k->n == k->cap) {
		size_t cap = k->cap * 2;
		const struct kv_entry **v = mem_alloc(cap * sizeof(*v));

		memcpy(v, k->v, k->n * sizeof(*v));
		if (k->v != k->stack)
			mem_free(k->v);
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = e;
}

static void collect_reply(struct cmd_req *r, struct collect *k)
{
	reply_array(r->c, (long long)k->n);
	for (size_t i = 0; i < k->n; i++)
		reply_bulk(r->c, kv_entry_key(k->v[i]), k->v[i]->klen);
	if (k->v != k->stack)
		mem_free(k->v);
}

static void cmd_keys(struct cmd_req *r)
{
	struct collect k;

	collect_init(&k, r->argv[1], r->argl[1], r->now_ms);
	/* one pass over the whole map: SIZE_MAX entries from the start */
	(void)db_scan(r->view, 0, SIZE_MAX, collect_visit, &k);
	collect_reply(r, &k);
}

/*
 * parseScanCursorOrReply: Redis reads the cursor with strtoul(), refusing a
 * leading space, trailing bytes and overflow. So "+5" is 5, "-1" wraps to
 * 2^64-1, and an empty argument is 0. 1 on success.
 */
static int parse_cursor(const char *s, size_t len, uint64_t *out)
{
	size_t i = 0, d0;
	uint64_t v = 0;
	int neg = 0, range = 0;

	if (len > 0 && isspace((unsigned char)s[0]))
		return 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (d0 = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			range = 1;
		else
			v = v * 10 + d;
	}
	if (i == d0) { /* no digits: strtoul stops at the very start */
		*out = 0;
		return len == 0 || s[0] == '\0';
	}
	if ((i < len && s[i] != '\0') || range)
		return 0;
	*out = neg ? (uint64_t)0 - v : v;
	return 1;
}

int cmd_parse_cursor(const char *s, size_t len, uint64_t *out)
{
	return parse_cursor(s, len, out);
}

int cmd_scan_options(struct cmd_req *r, int from, const char **pat, size_t *plen, long long *count)
{
	*pat = NULL;
	*plen = 0;
	*count = 10;
	for (int i = from; i < r->argc; i += 2) {
		int more = r->argc - i >= 2;

		if (more && cmd_arg_is(r, i, "count")) {
			if (!cmd_arg_ll(r, i + 1, count))
				return 0;
			if (*count < 1) {
				cmd_reply_syntax_error(r);
				return 0;
			}
		} else if (more && cmd_arg_is(r, i, "match")) {
			*pat = r->argv[i + 1];
			*plen = r->argl[i + 1];
			if (*plen == 1 && (*pat)[0] == '*')
				*pat = NULL; /* matches everything: no pattern to run */
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	return 1;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void cmd_scan(struct cmd_req *r)
{
	const char *pat = NULL;
	size_t plen = 0;
	long long count = 10;
	int type_i = 0;
	uint64_t cursor;
	struct collect k;
	char buf[24];

	if (!parse_cursor(r->argv[1], r->argl[1], &cursor)) {
		reply_error(r->c, "ERR invalid cursor");
		return;
	}
	for (int i = 2; i < r->argc; i += 2) {
		int more = r->argc - i >= 2;

		if (more && cmd_arg_is(r, i, "count")) {
			if (!cmd_arg_ll(r, i + 1, &count))
				return;
			if (count < 1) {
				cmd_reply_syntax_error(r);
				return;
			}
		} else if (more && cmd_arg_is(r, i, "match")) {
			pat = r->argv[i + 1];
			plen = r->argl[i + 1];
		} else if (more && cmd_arg_is(r, i, "type")) {
			type_i = i + 1;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	collect_init(&k, pat, plen, r->now_ms);
	if (type_i) {
		k.type = r->argv[type_i];
		k.tlen = r->argl[type_i];
	}
	cursor = db_scan(r->view, cursor, (size_t)count, collect_visit, &k);
	reply_array(r->c, 2);
	reply_bulk(r->c, buf,
		   (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cursor));
	collect_reply(r, &k);
}

/* dbRandomKey: an expired pick is removed and another drawn; each round
 * removes one entry, so the loop ends (the cap only guards against a map
 * that keeps refilling with expired keys). */
static void cmd_randomkey(struct cmd_req *r)
{
	for (int tries = 0; tries < 10000; tries++) {
		const struct kv_entry *e = db_random(r->view, wctx_rand64(r->ctx));

		if (!e)
			break;
		if (!entry_expired(e, r->now_ms)) {
			reply_bulk(r->c, kv_entry_key(e), e->klen);
			return;
		}
		(void)db_lookup(r->view, kv_entry_key(e), e->klen, r->now_ms, NULL, 0);
	}
	reply_null(r->c);
}

/* ---- RENAME RENAMENX */

/* Runs inside a transaction (multi_atomic): the steps commit together. */
static void rename_generic(struct cmd_req *r, int nx)
{
	int samekey = r->argl[1] == r->argl[2] && memcmp(r->argv[1], r->argv[2], r->argl[1]) == 0;
	const struct kv_entry *src = lookup(r, 1, 0), *dst;
	struct kv_entry *e;

	if (!src) {
		reply_error(r->c, "ERR no such key");
		return;
	}
	if (samekey) {
		if (nx)
			reply_int(r->c, 0);
		else
			reply_ok(r->c);
		return;
	}
	dst = lookup(r, 2, 0);
	if (nx && dst) {
		reply_int(r->c, 0);
		return;
	}
	e = coll_clone(src, r->argv[2], r->argl[2], kv_entry_expire(src)); /* the same lineage */
	/* in the overlay neither step can lose a race */
	if (db_put(r->view, src, NULL) != 0 || db_put(r->view, dst, e) != 0)
		KV_PANIC("rename: overlay write failed");
	if (nx)
		reply_int(r->c, 1);
	else
		reply_ok(r->c);
}

static void rename_body(struct cmd_req *r)
{
	rename_generic(r, 0);
}

static void renamenx_body(struct cmd_req *r)
{
	rename_generic(r, 1);
}

static void cmd_rename(struct cmd_req *r)
{
	multi_atomic(r, rename_body);
}

static void cmd_renamenx(struct cmd_req *r)
{
	multi_atomic(r, renamenx_body);
}

/* ---- DBSIZE FLUSHDB FLUSHALL */

static void cmd_dbsize(struct cmd_req *r)
{
	reply_int(r->c, db_size(r->view));
}

/* FLUSHDB / FLUSHALL [ASYNC|SYNC]: the database(s) get fresh key spaces in
 * one step; the old keys are freed in the background (ASYNC) or before the
 * reply (SYNC, the default) (storage/db.h, db_flush). */
static void cmd_flush(struct cmd_req *r)
{
	if (r->argc > 2 ||
	    (r->argc == 2 && !cmd_arg_is(r, 1, "sync") && !cmd_arg_is(r, 1, "async"))) {
		cmd_reply_syntax_error(r);
		return;
	}
	/* no option: lazyfree-lazy-user-flush decides (Redis's default no: SYNC) */
	bool sync =
	    r->argc == 1 ? !cfg_int(CFG_LAZYFREE_LAZY_USER_FLUSH) : cmd_arg_is(r, 1, "sync");

	if (r->argv[0][5] == 'a' || r->argv[0][5] == 'A') /* flushall */
		(void)db_flush_all(r->view, sync);
	else
		(void)db_flush(r->view, sync);
	reply_ok(r->c);
}

/* ---- EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST */

#define EXP_NX 1
#define EXP_XX 2
#define EXP_GT 4
#define EXP_LT 8

/* parseExtendedExpireArgumentsOrReply: NX XX GT LT from argument 3 on. */
static int parse_expire_flags(struct cmd_req *r, int *flags)
{
	int f = 0;

	for (int j = 3; j < r->argc; j++) {
		if (cmd_arg_is(r, j, "nx"))
			f |= EXP_NX;
		else if (cmd_arg_is(r, j, "xx"))
			f |= EXP_XX;
		else if (cmd_arg_is(r, j, "gt"))
			f |= EXP_GT;
		else if (cmd_arg_is(r, j, "lt"))
			f |= EXP_LT;
		else {
			reply_errorf(r->c, "ERR Unsupported option %.*s", (int)r->argl[j],
				     r->argv[j]);
			return 0;
		}
	}
	if ((f & EXP_NX) && (f & (EXP_XX | EXP_GT | EXP_LT))) {
		reply_error(r->c, "ERR NX and XX, GT or LT options at the same time are not "
				  "compatible");
		return 0;
	}
	if ((f & EXP_GT) && (f & EXP_LT)) {
		reply_error(r->c, "ERR GT and LT options at the same time are not compatible");
		return 0;
	}
	*flags = f;
	return 1;
}

/* 1 if the flags allow replacing expiry cur (-1: none) by when. */
static int expire_allowed(int flags, long long cur, long long when)
{
	if ((flags & EXP_NX) && cur != -1)
		return 0;
	if ((flags & EXP_XX) && cur == -1)
		return 0;
	/* no TTL counts as infinite: GT never beats it, LT always does */
	if ((flags & EXP_GT) && (cur == -1 || when <= cur))
		return 0;
	if ((flags & EXP_LT) && cur != -1 && when >= cur)
		return 0;
	return 1;
}

/*
 * expireGenericCommand: the time is relative to basetime (now, or 0 for the
 * *AT forms), in seconds when secs. A time not in the future deletes the key
 * (and still replies 1).
 */
static void expire_generic(struct cmd_req *r, long long basetime, int secs, const char *name)
{
	long long when;
	int flags;

	if (!parse_expire_flags(r, &flags) || !cmd_arg_ll(r, 2, &when))
		return;
	if (secs) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
			reply_errorf(r->c, "ERR invalid expire time in '%s' command", name);
			return;
		}
		when *= 1000;
	}
	if (when > LLONG_MAX - basetime) {
		reply_errorf(r->c, "ERR invalid expire time in '%s' command", name);
		return;
	}
	when += basetime;
	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);
		struct kv_entry *e;

		if (!old || !expire_allowed(flags, kv_entry_expire(old) ? kv_entry_expire(old) : -1,
					    when)) {
			reply_int(r->c, 0);
			return;
		}
		if (when <= r->now_ms) {
			if (db_put(r->view, old, NULL) == 0)
				break;
			continue;
		}
		e = entry_with_expire(old, when);
		if (db_put(r->view, old, e) == 0)
			break;
		kv_entry_free(e);
	}
	reply_int(r->c, 1);
}

static void cmd_expire(struct cmd_req *r)
{
	expire_generic(r, r->now_ms, 1, "expire");
}

static void cmd_pexpire(struct cmd_req *r)
{
	expire_generic(r, r->now_ms, 0, "pexpire");
}

static void cmd_expireat(struct cmd_req *r)
{
	expire_generic(r, 0, 1, "expireat");
}

static void cmd_pexpireat(struct cmd_req *r)
{
	expire_generic(r, 0, 0, "pexpireat");
}

static void cmd_persist(struct cmd_req *r)
{
	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);
		struct kv_entry *e;

		if (!old || kv_entry_expire(old) == 0) {
			reply_int(r->c, 0);
			return;
		}
		e = entry_with_expire(old, 0);
		if (db_put(r->view, old, e) == 0)
			break;
		kv_entry_free(e);
	}
	reply_int(r->c, 1);
}

/* ---- TTL PTTL EXPIRETIME PEXPIRETIME */

/* ttlGenericCommand: -2 no key, -1 no TTL; seconds are rounded to nearest. */
static void ttl_generic(struct cmd_req *r, int ms, int absolute)
{
	const struct kv_entry *e = lookup(r, 1, 1);
	long long t;

	if (!e) {
		reply_int(r->c, -2);
		return;
	}
	if (kv_entry_expire(e) == 0) {
		reply_int(r->c, -1);
		return;
	}
	t = absolute ? kv_entry_expire(e) : kv_entry_expire(e) - r->now_ms;
	if (t < 0)
		t = 0;
	/* t >= 0 here; rounded without forming t + 500, which overflows near LLONG_MAX */
	reply_int(r->c, ms ? t : t / 1000 + (t % 1000 >= 500));
}

static void cmd_ttl(struct cmd_req *r)
{
	ttl_generic(r, 0, 0);
}

static void cmd_pttl(struct cmd_req *r)
{
	ttl_generic(r, 1, 0);
}

static void cmd_expiretime(struct cmd_req *r)
{
	ttl_generic(r, 0, 1);
}

static void cmd_pexpiretime(struct cmd_req *r)
{
	ttl_generic(r, 1, 1);
}

/* clang-format off */
/* name, proc, arity, flags, first/last/step key, ACL categories, group, summary, since, complexity */
const struct cmd_def cmd_keys_table[] = {
	{"del", cmd_del, -2, CMD_WRITE, 1, -1, 1, "keyspace write slow", "generic",
	 "Delete a key", "1.0.0",
	 "O(N) where N is the number of keys that will be removed. When a key to remove holds a "
	 "value other than a string, the individual complexity for this key is O(M) where M is the "
	 "number of elements in the list, set, sorted set or hash. Removing a single key that holds "
	 "a string value is O(1).", NULL},
	{"unlink", cmd_del, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "keyspace write fast", "generic",
	 "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
	 "blocking.", "4.0.0",
	 "O(1) for each key removed regardless of its size. Then the command does O(N) work in a "
	 "different thread in order to reclaim memory, where N is the number of allocations the "
	 "deleted objects where composed of.", NULL},
	{"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "keyspace read fast", "generic",
	 "Determine if a key exists", "1.0.0", "O(N) where N is the number of keys to check.", NULL},
	{"touch", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "keyspace read fast", "generic",
	 "Alters the last access time of a key(s). Returns the number of existing keys specified.",
	 "3.2.1", "O(N) where N is the number of keys that will be touched.", NULL},
	{"type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic",
	 "Determine the type stored at key", "1.0.0", "O(1)", NULL},
	{"keys", cmd_keys, 2, CMD_READONLY, 0, 0, 0, "keyspace read slow dangerous", "generic",
	 "Find all keys matching the given pattern", "1.0.0",
	 "O(N) with N being the number of keys in the database, under the assumption that the key "
	 "names in the database and the given pattern have limited length.", NULL},
	{"scan", cmd_scan, -2, CMD_READONLY, 0, 0, 0, "keyspace read slow", "generic",
	 "Incrementally iterate the keys space", "2.8.0",
	 "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
	 "the cursor to return back to 0. N is the number of elements inside the collection.", NULL},
	{"randomkey", cmd_randomkey, 1, CMD_READONLY, 0, 0, 0, "keyspace read slow", "generic",
	 "Return a random key from the keyspace", "1.0.0", "O(1)", NULL},
	{"rename", cmd_rename, 3, CMD_WRITE, 1, 2, 1, "keyspace write slow", "generic",
	 "Rename a key", "1.0.0", "O(1)", NULL},
	{"renamenx", cmd_renamenx, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, "keyspace write fast", "generic",
	 "Rename a key, only if the new key does not exist", "1.0.0", "O(1)", NULL},
	{"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST, 0, 0, 0, "keyspace read fast", "server",
	 "Return the number of keys in the selected database", "1.0.0", "O(1)", NULL},
	{"flushdb", cmd_flush, -1, CMD_WRITE, 0, 0, 0, "keyspace write slow dangerous", "server",
	 "Remove all keys from the current database", "1.0.0",
	 "O(N) where N is the number of keys in the selected database", NULL},
	{"flushall", cmd_flush, -1, CMD_WRITE, 0, 0, 0, "keyspace write slow dangerous", "server",
	 "Remove all keys from all databases", "1.0.0",
	 "O(N) where N is the total number of keys in all databases", NULL},
	{"expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic",
	 "Set a key's time to live in seconds", "1.0.0", "O(1)", NULL},
	{"pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic",
	 "Set a key's time to live in milliseconds", "2.6.0", "O(1)", NULL},
	{"expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic",
	 "Set the expiration for a key as a UNIX timestamp", "1.2.0", "O(1)", NULL},
	{"pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast",
	 "generic", "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
	 "2.6.0", "O(1)", NULL},
	{"ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic",
	 "Get the time to live for a key in seconds", "1.0.0", "O(1)", NULL},
	{"pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic",
	 "Get the time to live for a key in milliseconds", "2.6.0", "O(1)", NULL},
	{"persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic",
	 "Remove the expiration from a key", "2.2.0", "O(1)", NULL},
	{"expiretime", cmd_expiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast",
	 "generic", "Get the expiration Unix timestamp for a key", "7.0.0", "O(1)", NULL},
	{"pexpiretime", cmd_pexpiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast",
	 "generic", "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", "O(1)",
	 NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
