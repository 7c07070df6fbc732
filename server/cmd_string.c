/*
 * cmd_string.c — the string commands: GET SET SETNX SETEX PSETEX GETSET
 * GETDEL GETEX MGET MSET MSETNX APPEND STRLEN INCR DECR INCRBY DECRBY
 * INCRBYFLOAT GETRANGE SETRANGE, with Redis 7.0's semantics and reply bytes
 * (t_string.c is the reference for every error text and every edge case:
 * option parsing order, which arguments are validated before the key is
 * looked up, how negative GETRANGE indexes clamp, which commands keep the TTL).
 *
 * Every write is a compare-and-swap loop on the db (db.h):
 *   old = db_lookup(key); new = build(old); db_put(old, new); on -EAGAIN retry.
 * Entries are immutable once published, so a new entry is built for every
 * write; it is built once and reused across retries when its size still fits.
 * Replies are written straight from entries (valid until the worker's next
 * quiescent state); the only allocation per request is the new entry.
 *
 * What holds under concurrent writers (copied into README):
 *  - Single-key commands (GET, SET with any options, GETSET, GETDEL, GETEX,
 *    SETNX, SETEX, PSETEX, APPEND, INCR*, DECR*, INCRBYFLOAT, SETRANGE,
 *    STRLEN, GETRANGE) are linearizable per key: a read-modify-write command
 *    publishes its result only if the value it read is still current, and
 *    retries otherwise. No client ever sees a torn value.
 *  - MGET of several keys reads one state: it runs as a read-only
 *    transaction whose reads are validated at its end (each key looked up
 *    again, no store; storage/txn.h), and re-runs if one of them changed, so
 *    it never mixes two MSETs. GET and MGET of one key are plain lock-free
 *    reads.
 *  - MSET and MSETNX are atomic and isolated (server/multi.h, with kvsd's
 *    map): they run as one transaction committed by a multi-word CAS, so no
 *    reader ever sees some of their pairs without the others, and MSETNX's
 *    check that every key is absent holds at the instant its pairs appear.
 *    (With `map urcu` the commit is serialised but not isolated from
 *    single-key readers: see storage/kvmap.h.)
 *
 * Types: a command that reads a value answers WRONGTYPE for a hash, set or
 * sorted set (is_string(), Redis's checkType) exactly where Redis does —
 * SET's GET before anything is written, INCRBYFLOAT before it parses the
 * increment, GETEX before the expire — while MGET answers nil for them and
 * SET, MSET, SETNX & co. replace a value of any type.
 */
#include "server/cmd.h"
#include "server/config.h"
#include "server/multi.h"
#include "server/strutil.h"
#include "net/net.h"
#include "net/reply.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Redis's MAX_LONG_DOUBLE_CHARS: room for any long double in "%.17Lf". */
#define LD_STR_MAX (5 * 1024)

/* SET / GETEX option flags (t_string.c's OBJ_SET_* / OBJ_* bits). */
#define XF_NX	   0x001
#define XF_XX	   0x002
#define XF_GET	   0x004
#define XF_KEEPTTL 0x008
#define XF_PERSIST 0x010
#define XF_EX	   0x020
#define XF_PX	   0x040
#define XF_EXAT	   0x080
#define XF_PXAT	   0x100
#define XF_EXPIRE  (XF_EX | XF_PX | XF_EXAT | XF_PXAT)

static const struct kv_entry *lookup(struct cmd_req *r, int i, int count_stats)
{
	return db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, count_stats);
}

/*
 * An unpublished entry for key argument ki with room for vlen value bytes
 * (left for the caller to fill) and the given expiry. A retry passes the
 * entry it built before: reused when its size still fits, else freed.
 */
static struct kv_entry *entry_sized(struct cmd_req *r, int ki, struct kv_entry *e, size_t vlen,
				    int64_t expire_ms)
{
	if (e && e->vlen == vlen)
		return kv_entry_with_expire(e, expire_ms);
	if (e)
		kv_entry_free(e);
	return kv_entry_new(r->argv[ki], r->argl[ki], NULL, vlen, expire_ms);
}

/* checkType(c, o, OBJ_STRING): 1 if e is absent or a string, else 0 after
 * replying WRONGTYPE. */
static int is_string(struct cmd_req *r, const struct kv_entry *e)
{
	if (!e || kv_entry_type(e) == KV_STRING)
		return 1;
	cmd_reply_wrongtype(r);
	return 0;
}

static void reply_value(struct cmd_req *r, const struct kv_entry *e)
{
	if (e)
		reply_bulk(r->c, kv_entry_val(e), e->vlen);
	else
		reply_null(r->c);
}

static void reply_expire_error(struct cmd_req *r, const char *name)
{
	reply_errorf(r->c, "ERR invalid expire time in '%s' command", name);
}

/*
 * getExpireMillisecondsOrReply: argument xi as an absolute unix time in ms
 * according to the unit flag. 1 on success; 0 after replying the error.
 * EXAT/PXAT may yield a time already past; EX/PX never do.
 */
static int parse_expire(struct cmd_req *r, int xi, unsigned flags, const char *name, int64_t *out)
{
	long long v;
	int secs = (flags & (XF_EX | XF_EXAT)) != 0;

	if (!cmd_arg_ll(r, xi, &v))
		return 0;
	if (v <= 0 || (secs && v > LLONG_MAX / 1000)) {
		reply_expire_error(r, name);
		return 0;
	}
	if (secs)
		v *= 1000;
	if (flags & (XF_EX | XF_PX)) {
		/* Redis adds and sees the wrapped sum go negative; same outcome. */
		if (v > LLONG_MAX - r->now_ms) {
			reply_expire_error(r, name);
			return 0;
		}
		v += r->now_ms;
	}
	*out = v;
	return 1;
}

/*
 * parseExtendedStringArgumentsOrReply: the options of SET (from argument 3;
 * NX XX GET KEEPTTL EX PX EXAT PXAT) or GETEX (from argument 2; PERSIST EX PX
 * EXAT PXAT). Conflicting or unknown options are a syntax error; repeating
 * one is allowed (the last expire wins). *xi receives the index of the expire
 * argument (0 if none). 1 on success; 0 after replying the error.
 */
static int parse_ext_args(struct cmd_req *r, int is_set, unsigned *flags, int *xi)
{
	unsigned f = 0;

	*xi = 0;
	for (int j = is_set ? 3 : 2; j < r->argc; j++) {
		int has_next = j + 1 < r->argc;
		unsigned others;

		if (is_set && cmd_arg_is(r, j, "nx") && !(f & XF_XX)) {
			f |= XF_NX;
			continue;
		}
		if (is_set && cmd_arg_is(r, j, "xx") && !(f & XF_NX)) {
			f |= XF_XX;
			continue;
		}
		if (is_set && cmd_arg_is(r, j, "get")) {
			f |= XF_GET;
			continue;
		}
		if (is_set && cmd_arg_is(r, j, "keepttl") && !(f & (XF_PERSIST | XF_EXPIRE))) {
			f |= XF_KEEPTTL;
			continue;
		}
		if (!is_set && cmd_arg_is(r, j, "persist") && !(f & (XF_EXPIRE | XF_KEEPTTL))) {
			f |= XF_PERSIST;
			continue;
		}
		unsigned unit = cmd_arg_is(r, j, "ex")	   ? XF_EX
				: cmd_arg_is(r, j, "px")   ? XF_PX
				: cmd_arg_is(r, j, "exat") ? XF_EXAT
				: cmd_arg_is(r, j, "pxat") ? XF_PXAT
							   : 0;
		others = (XF_EXPIRE & ~unit) | XF_KEEPTTL | XF_PERSIST;
		if (unit && has_next && !(f & others)) {
			f |= unit;
			*xi = ++j;
			continue;
		}
		cmd_reply_syntax_error(r);
		return 0;
	}
	*flags = f;
	return 1;
}

/*
 * The entry SET & co. publish for argument vi: built around the value's own
 * allocation when net read it into one (a large bulk: no copy; *adopt says
 * so, and net_arg_adopt() must follow once it is published), else a copy.
 */
static struct kv_entry *set_entry(struct cmd_req *r, int vi, int64_t expire_ms, bool *adopt)
{
	*adopt = net_arg_adoptable(r->c, r->argv[vi]);
	if (*adopt)
		return kv_entry_new_adopt(r->argv[1], r->argl[1], (char *)(uintptr_t)r->argv[vi],
					  r->argl[vi], expire_ms);
	return kv_entry_new(r->argv[1], r->argl[1], r->argv[vi], r->argl[vi], expire_ms);
}

/*
 * setGenericCommand: SET, SETNX, SETEX, PSETEX, GETSET. vi is the value's
 * argument, xi the expire's (0: none). int_reply selects SETNX's :1/:0
 * instead of +OK/nil. With XF_GET the old value (or nil) is the reply
 * whether or not the write happened.
 */
static void set_generic(struct cmd_req *r, unsigned flags, int vi, int xi, const char *name,
			int int_reply)
{
	const struct kv_entry *old;
	struct kv_entry *e = NULL;
	int64_t when = 0;
	bool adopt = false;

	/* EXAT/PXAT in the past: as Redis does, the entry is stored anyway (it is
	 * logically gone at once; DBSIZE counts it until a lookup removes it). */
	if (xi && !parse_expire(r, xi, flags, name, &when))
		return;
	for (;;) {
		old = lookup(r, 1, (flags & XF_GET) != 0);
		if ((flags & XF_GET) && !is_string(r, old)) {
			/* getGenericCommand fails before anything is written */
			if (e && adopt)
				kv_entry_free_shell(e);
			else if (e)
				kv_entry_free(e);
			return;
		}
		if (((flags & XF_NX) && old) || ((flags & XF_XX) && !old)) {
			if (e && adopt)
				kv_entry_free_shell(e); /* the value stays net's */
			else if (e)
				kv_entry_free(e);
			if (flags & XF_GET)
				reply_value(r, old);
			else if (int_reply)
				reply_int(r->c, 0);
			else
				reply_null(r->c);
			return;
		}
		int64_t x = xi ? when : ((flags & XF_KEEPTTL) && old ? kv_entry_expire(old) : 0);
		if (!e)
			e = set_entry(r, vi, x, &adopt);
		else
			e = kv_entry_with_expire(e, x); /* an ext copy keeps the adopted value */
		if (db_put(r->view, old, e) == 0)
			break;
	}
	if (adopt)
		net_arg_adopt(r->c, r->argv[vi]); /* the published entry owns it now */
	if (flags & XF_GET)
		reply_value(r, old); /* retired, still readable until quiescent */
	else if (int_reply)
		reply_int(r->c, 1);
	else
		reply_ok(r->c);
}

static void cmd_set(struct cmd_req *r)
{
	unsigned flags;
	int xi;

	if (!parse_ext_args(r, 1, &flags, &xi))
		return;
	set_generic(r, flags, 2, xi, "set", 0);
}

static void cmd_setnx(struct cmd_req *r)
{
	set_generic(r, XF_NX, 2, 0, "setnx", 1);
}

static void cmd_setex(struct cmd_req *r)
{
	set_generic(r, XF_EX, 3, 2, "setex", 0);
}

static void cmd_psetex(struct cmd_req *r)
{
	set_generic(r, XF_PX, 3, 2, "psetex", 0);
}

static void cmd_getset(struct cmd_req *r)
{
	set_generic(r, XF_GET, 2, 0, "getset", 0);
}

static void cmd_get(struct cmd_req *r)
{
	const struct kv_entry *e = lookup(r, 1, 1);

	if (is_string(r, e))
		reply_value(r, e);
}

static void cmd_getdel(struct cmd_req *r)
{
	const struct kv_entry *old;

	do {
		old = lookup(r, 1, 1);
		if (!old) {
			reply_null(r->c);
			return;
		}
		if (!is_string(r, old))
			return;
	} while (db_put(r->view, old, NULL) != 0);
	reply_value(r, old);
}

/*
 * GETEX: options are parsed first, the expire value only once the key is
 * known to exist (a missing key answers nil even for a bad expire).
 */
static void cmd_getex(struct cmd_req *r)
{
	const struct kv_entry *old;
	struct kv_entry *e = NULL;
	unsigned flags;
	int xi, checked = 0;
	int64_t when = 0;

	if (!parse_ext_args(r, 0, &flags, &xi))
		return;
	for (;;) {
		old = lookup(r, 1, 1);
		if (!old)
			break;
		if (!is_string(r, old)) {
			if (e)
				kv_entry_free(e);
			return;
		}
		if (xi && !checked) {
			if (!parse_expire(r, xi, flags, "getex", &when))
				return;
			checked = 1;
		}
		if (xi && when <= r->now_ms) {
			/* EXAT/PXAT already past: reply the value and delete the key */
			if (db_put(r->view, old, NULL) == 0)
				break;
			continue;
		}
		if (!xi && (!(flags & XF_PERSIST) || kv_entry_expire(old) == 0))
			break; /* nothing to change */
		if (e)
			kv_entry_free(e);
		e = kv_entry_new(kv_entry_key(old), old->klen, kv_entry_val(old), old->vlen,
				 xi ? when : 0);
		e->enc = old->enc;
		if (db_put(r->view, old, e) == 0) {
			e = NULL;
			break;
		}
	}
	if (e)
		kv_entry_free(e);
	reply_value(r, old);
}

static void mget_body(struct cmd_req *r)
{
	reply_array(r->c, r->argc - 1);
	for (int i = 1; i < r->argc; i++) {
		const struct kv_entry *e = lookup(r, i, 1);

		/* not an error: a value of another type reads as nil */
		reply_value(r, e && kv_entry_type(e) == KV_STRING ? e : NULL);
	}
}

/* Several keys: a read-only transaction, so the values come from one state
 * (validated without a store, storage/txn.h); one key: a plain read. */
static void cmd_mget(struct cmd_req *r)
{
	if (r->argc == 2)
		mget_body(r);
	else
		multi_atomic(r, mget_body);
}

/* Sets key argument ki to value argument ki + 1, replacing any entry, no TTL. */
static void set_pair(struct cmd_req *r, int ki)
{
	struct kv_entry *e =
	    kv_entry_new(r->argv[ki], r->argl[ki], r->argv[ki + 1], r->argl[ki + 1], 0);

	while (db_put(r->view, lookup(r, ki, 0), e) != 0)
		;
}

static void mset_body(struct cmd_req *r)
{
	for (int i = 1; i < r->argc; i += 2)
		set_pair(r, i);
	reply_ok(r->c);
}

static void cmd_mset(struct cmd_req *r)
{
	if (r->argc % 2 == 0) {
		cmd_reply_arity(r);
		return;
	}
	if (r->argc == 3)
		mset_body(r); /* one key: a plain CAS is already atomic */
	else
		multi_atomic(r, mset_body);
}

/*
 * MSETNX runs as one transaction (multi_atomic): the absence check and the
 * inserts commit together. A key repeated in the arguments is absent at the
 * check, so (as in Redis) its last value wins.
 */
static void msetnx_body(struct cmd_req *r)
{
	for (int i = 1; i < r->argc; i += 2) {
		if (lookup(r, i, 0)) {
			reply_int(r->c, 0);
			return;
		}
	}
	for (int i = 1; i < r->argc; i += 2)
		set_pair(r, i);
	reply_int(r->c, 1);
}

static void cmd_msetnx(struct cmd_req *r)
{
	if (r->argc % 2 == 0) {
		cmd_reply_arity(r);
		return;
	}
	multi_atomic(r, msetnx_body);
}

static void cmd_append(struct cmd_req *r)
{
	const char *add = r->argv[2];
	size_t alen = r->argl[2];
	struct kv_entry *e = NULL;
	size_t total;

	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);

		if (!is_string(r, old)) {
			if (e)
				kv_entry_free(e);
			return;
		}
		if (!old) {
			total = alen;
			e = entry_sized(r, 1, e, total, 0);
			e->enc = KV_ENC_AUTO; /* tryObjectEncoding of the argument */
			memcpy(kv_entry_mutval(e), add, alen);
		} else {
			total = (size_t)old->vlen + alen;
			/* nothing changes but the encoding: Redis unshares the
			 * value into a raw string (dbUnshareStringValue) */
			if (alen == 0 && old->enc == KV_ENC_RAW)
				break;
			if ((long long)total > cfg_int(CFG_PROTO_MAX_BULK_LEN)) {
				if (e)
					kv_entry_free(e);
				reply_error(r->c, "ERR string exceeds maximum allowed size "
						  "(proto-max-bulk-len)");
				return;
			}
			e = entry_sized(r, 1, e, total, kv_entry_expire(old));
			e->enc = KV_ENC_RAW;
			memcpy(kv_entry_mutval(e), kv_entry_val(old), old->vlen);
			memcpy(kv_entry_mutval(e) + old->vlen, add, alen);
		}
		if (db_put(r->view, old, e) == 0) {
			e = NULL;
			break;
		}
	}
	if (e)
		kv_entry_free(e);
	reply_int(r->c, (long long)total);
}

static void cmd_strlen(struct cmd_req *r)
{
	const struct kv_entry *e = lookup(r, 1, 1);

	if (is_string(r, e))
		reply_int(r->c, e ? (long long)e->vlen : 0);
}

/* incrDecrCommand: the value must be a canonical 64-bit integer (string2ll). */
static void incr_generic(struct cmd_req *r, long long incr)
{
	struct kv_entry *e = NULL;
	char buf[32];
	long long v;

	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);

		if (!is_string(r, old)) {
			if (e)
				kv_entry_free(e);
			return;
		}
		v = 0;
		if (old && !resp_str2ll(kv_entry_val(old), old->vlen, &v)) {
			if (e)
				kv_entry_free(e);
			cmd_reply_not_integer(r);
			return;
		}
		if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
		    (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
			if (e)
				kv_entry_free(e);
			reply_error(r->c, "ERR increment or decrement would overflow");
			return;
		}
		v += incr;
		int len = (int)resp_ll2str(buf, v);
		e = entry_sized(r, 1, e, (size_t)len, old ? kv_entry_expire(old) : 0);
		memcpy(kv_entry_mutval(e), buf, (size_t)len);
		if (db_put(r->view, old, e) == 0)
			break;
	}
	reply_int(r->c, v);
}

static void cmd_incr(struct cmd_req *r)
{
	incr_generic(r, 1);
}

static void cmd_decr(struct cmd_req *r)
{
	incr_generic(r, -1);
}

static void cmd_incrby(struct cmd_req *r)
{
	long long incr;

	if (cmd_arg_ll(r, 2, &incr))
		incr_generic(r, incr);
}

static void cmd_decrby(struct cmd_req *r)
{
	long long incr;

	if (!cmd_arg_ll(r, 2, &incr))
		return;
	if (incr == LLONG_MIN) {
		reply_error(r->c, "ERR decrement would overflow");
		return;
	}
	incr_generic(r, -incr);
}

/* incrbyfloatCommand: long double arithmetic, result stored and replied in
 * Redis's human-friendly form (no exponent, trailing zeros trimmed). */
static void cmd_incrbyfloat(struct cmd_req *r)
{
	struct kv_entry *e = NULL;
	long double incr, v;
	char buf[LD_STR_MAX];
	int len;

	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);
		const char *err = NULL;

		/* Redis checks the type, then the value, then the increment */
		if (!is_string(r, old)) {
			if (e)
				kv_entry_free(e);
			return;
		}
		v = 0;
		len = 0;
		if ((old && !su_str2ld(kv_entry_val(old), old->vlen, &v)) ||
		    !su_str2ld(r->argv[2], r->argl[2], &incr)) {
			err = "ERR value is not a valid float";
		} else {
			v += incr;
			if (isnan(v) || isinf(v))
				err = "ERR increment would produce NaN or Infinity";
			else if ((len = su_ld2str_human(buf, sizeof(buf), v)) == 0)
				err = "ERR value is not a valid float";
		}
		if (err) {
			if (e)
				kv_entry_free(e);
			reply_error(r->c, err);
			return;
		}
		e = entry_sized(r, 1, e, (size_t)len, old ? kv_entry_expire(old) : 0);
		e->enc = KV_ENC_NOINT; /* createStringObjectFromLongDouble: never int */
		memcpy(kv_entry_mutval(e), buf, (size_t)len);
		if (db_put(r->view, old, e) == 0)
			break;
	}
	reply_bulk(r->c, buf, (size_t)len);
}

static void cmd_getrange(struct cmd_req *r)
{
	long long start, end, len;
	const struct kv_entry *e;

	if (!cmd_arg_ll(r, 2, &start) || !cmd_arg_ll(r, 3, &end))
		return;
	e = lookup(r, 1, 1);
	if (!is_string(r, e))
		return;
	len = e ? (long long)e->vlen : 0;
	if (!e || (start < 0 && end < 0 && start > end)) {
		reply_bulk(r->c, "", 0);
		return;
	}
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		reply_bulk(r->c, "", 0);
	else
		reply_bulk(r->c, kv_entry_val(e) + start, (size_t)(end - start + 1));
}

static void cmd_setrange(struct cmd_req *r)
{
	const char *val = r->argv[3];
	size_t vlen = r->argl[3];
	struct kv_entry *e = NULL;
	long long offset, newlen;

	if (!cmd_arg_ll(r, 2, &offset))
		return;
	if (offset < 0) {
		reply_error(r->c, "ERR offset is out of range");
		return;
	}
	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);
		long long olen = old ? (long long)old->vlen : 0;

		if (!is_string(r, old)) {
			if (e)
				kv_entry_free(e);
			return;
		}
		if (vlen == 0) { /* nothing to write: 0 or the current length */
			newlen = olen;
			break;
		}
		if (offset > cfg_int(CFG_PROTO_MAX_BULK_LEN) - (long long)vlen) {
			if (e)
				kv_entry_free(e);
			reply_error(r->c,
				    "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
			return;
		}
		newlen = offset + (long long)vlen > olen ? offset + (long long)vlen : olen;
		e = entry_sized(r, 1, e, (size_t)newlen, old ? kv_entry_expire(old) : 0);
		e->enc = KV_ENC_RAW; /* a new sds, or the old one unshared */
		char *p = kv_entry_mutval(e);
		if (olen)
			memcpy(p, kv_entry_val(old), (size_t)olen);
		if (offset > olen)
			memset(p + olen, 0, (size_t)(offset - olen));
		memcpy(p + offset, val, vlen);
		if (db_put(r->view, old, e) == 0) {
			e = NULL;
			break;
		}
	}
	if (e)
		kv_entry_free(e);
	reply_int(r->c, newlen);
}

/* clang-format off */
/* name, proc, arity, flags, first/last/step key, ACL categories, group, summary, since, complexity */
const struct cmd_def cmd_string_table[] = {
	{"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read string fast", "string",
	 "Get the value of a key", "1.0.0", "O(1)", NULL},
	{"set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string",
	 "Set the string value of a key", "1.0.0", "O(1)", NULL},
	{"setnx", cmd_setnx, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Set the value of a key, only if the key does not exist", "1.0.0", "O(1)", NULL},
	{"setex", cmd_setex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string",
	 "Set the value and expiration of a key", "2.0.0", "O(1)", NULL},
	{"psetex", cmd_psetex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string",
	 "Set the value and expiration in milliseconds of a key", "2.6.0", "O(1)", NULL},
	{"getset", cmd_getset, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Set the string value of a key and return its old value", "1.0.0", "O(1)", NULL},
	{"getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write string fast", "string",
	 "Get the value of a key and delete the key", "6.2.0", "O(1)", NULL},
	{"getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write string fast", "string",
	 "Get the value of a key and optionally set its expiration", "6.2.0", "O(1)", NULL},
	{"mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "read string fast", "string",
	 "Get the values of all the given keys", "1.0.0",
	 "O(N) where N is the number of keys to retrieve.", NULL},
	{"mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "write string slow", "string",
	 "Set multiple keys to multiple values", "1.0.1",
	 "O(N) where N is the number of keys to set.", NULL},
	{"msetnx", cmd_msetnx, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "write string slow", "string",
	 "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1",
	 "O(N) where N is the number of keys to set.", NULL},
	{"append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Append a value to a key", "2.0.0",
	 "O(1). The amortized time complexity is O(1) assuming the appended value is small and the "
	 "already present value is of any size, since the dynamic string library used by Redis "
	 "will double the free space available on every reallocation.", NULL},
	{"strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read string fast", "string",
	 "Get the length of the value stored in a key", "2.2.0", "O(1)", NULL},
	{"incr", cmd_incr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Increment the integer value of a key by one", "1.0.0", "O(1)", NULL},
	{"decr", cmd_decr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Decrement the integer value of a key by one", "1.0.0", "O(1)", NULL},
	{"incrby", cmd_incrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Increment the integer value of a key by the given amount", "1.0.0", "O(1)",
	 NULL},
	{"decrby", cmd_decrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast",
	 "string", "Decrement the integer value of a key by the given number", "1.0.0", "O(1)",
	 NULL},
	{"incrbyfloat", cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1,
	 "write string fast", "string", "Increment the float value of a key by the given amount",
	 "2.6.0", "O(1)", NULL},
	{"getrange", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "read string slow", "string",
	 "Get a substring of the string stored at a key", "2.4.0",
	 "O(N) where N is the length of the returned string. The complexity is ultimately "
	 "determined by the returned length, but because creating a substring from an existing "
	 "string is very cheap, it can be considered O(1) for small strings.", NULL},
	{"substr", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "read string slow", "string", "Get a substring of the string stored at a key", "1.0.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", NULL},
	{"setrange", cmd_setrange, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string",
	 "Overwrite part of a string at key starting at the specified offset", "2.2.0",
	 "O(1), not counting the time taken to copy the new string in place. Usually, this string "
	 "is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M "
	 "being the length of the value argument.", NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
