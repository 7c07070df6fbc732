/*
 * cmd_bits.c — the bitmap commands SETBIT GETBIT BITCOUNT BITPOS BITOP
 * BITFIELD BITFIELD_RO, and the string command LCS, with Redis 7.0's
 * semantics and reply bytes (bitops.c and t_string.c's lcsCommand are the
 * reference for every error text and the order in which arguments, keys and
 * types are checked). The arithmetic lives in bits.c (pure, unit-tested and
 * fuzzed); this file is lookups, CAS loops and replies.
 *
 * Writes follow the db's discipline (storage/db.h): entries are immutable
 * once published, so SETBIT and BITFIELD build a new entry from the current
 * one and publish it with db_put(), retrying if another writer got there
 * first. Each write is linearizable per key. A SETBIT that changes nothing
 * (the bit already has that value, inside the string) publishes nothing:
 * unlike Redis, which signals the key as modified anyway, it does not abort
 * a transaction WATCHing the key (the value it watched is still the value).
 * Building the new value is a copy of the old one (O(n) for an n-byte value,
 * where Redis updates in place), except for SETBIT on bitmaps of
 * BITPOOL_MIN bytes or more outside transactions: server/bitpool.h builds
 * it from a retired buffer of the same key that no reader can hold any
 * more, replaying the few byte changes since — O(1) amortised, as long as
 * buffers come back from their grace period (docs/BENCHMARKS.md).
 *
 * Several keys: BITOP reads its sources and writes its destination in one
 * transaction (multi_atomic, server/multi.h), so the result comes from one
 * state of the sources and appears at once; LCS reads its two keys in one
 * read-only transaction (re-run if either changed meanwhile), as MGET does.
 *
 * Types: every key these commands read or write goes through is_string(),
 * the one place that answers Redis's WRONGTYPE error for a hash, set or
 * sorted set (BITOP's destination is replaced whatever its type, as in
 * Redis); LCS answers its own error for them, as Redis does.
 */
#include "server/bitpool.h"
#include "server/bits.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/multi.h"
#include "net/reply.h"
#include "net/resp.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "concurrency/mem.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

static const char ERR_BIT_VALUE[] = "ERR bit is not an integer or out of range";
static const char ERR_OFFSET[] = "ERR bit offset is not an integer or out of range";

static const struct kv_entry *lookup(struct cmd_req *r, int i, int count_stats)
{
	return db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, count_stats);
}

/*
 * Redis's checkType(c, o, OBJ_STRING): 1 if e is absent or a string; else
 * replies "-WRONGTYPE Operation against a key holding the wrong kind of
 * value" and returns 0.
 */
static int is_string(struct cmd_req *r, const struct kv_entry *e)
{
	if (!e || kv_entry_type(e) == KV_STRING)
		return 1;
	cmd_reply_wrongtype(r);
	return 0;
}

/* An unpublished entry for key argument ki holding old's bytes zero-padded
 * to len (len >= old's length). */
static struct kv_entry *entry_grown(struct cmd_req *r, int ki, const struct kv_entry *old,
				    size_t len)
{
	size_t olen = old ? old->vlen : 0;
	struct kv_entry *e =
	    kv_entry_new(r->argv[ki], r->argl[ki], NULL, len, old ? kv_entry_expire(old) : 0);
	char *p = kv_entry_mutval(e);

	e->enc = KV_ENC_RAW; /* Redis unshares the value into a raw string */
	if (olen)
		memcpy(p, kv_entry_val(old), olen);
	memset(p + olen, 0, len - olen); /* the padding */
	return e;
}

static long long max_bulk(void)
{
	return cfg_int(CFG_PROTO_MAX_BULK_LEN);
}

/* ---- SETBIT GETBIT */

static void cmd_setbit(struct cmd_req *r)
{
	uint64_t off;
	long long on;
	int oldbit;

	if (!bits_parse_offset(r->argv[2], r->argl[2], 0, max_bulk(), &off)) {
		reply_error(r->c, ERR_OFFSET);
		return;
	}
	if (!resp_str2ll(r->argv[3], r->argl[3], &on) || (on & ~1LL)) {
		reply_error(r->c, ERR_BIT_VALUE);
		return;
	}
	size_t byte = (size_t)(off >> 3);
	unsigned shift = 7 - (unsigned)(off & 7);
	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);

		if (!is_string(r, old))
			return;
		size_t olen = old ? old->vlen : 0;
		oldbit = byte < olen ? (kv_entry_val(old)[byte] >> shift) & 1 : 0;
		if (old && byte < olen && oldbit == on)
			break; /* nothing changes */
		if (byte < olen && olen >= BITPOOL_MIN && !db_in_txn(r->view)) {
			/* a large bitmap: a recycled buffer instead of a copy */
			unsigned char ob = (unsigned char)kv_entry_val(old)[byte];
			unsigned char nb =
			    (unsigned char)((ob & ~(1u << shift)) | ((unsigned)on << shift));
			struct bitpool_tx tx;
			struct kv_entry *e =
			    bitpool_build(r->argv[1], r->argl[1], old, byte, nb, &tx);

			if (db_put(r->view, old, e) == 0) {
				bitpool_published(&tx);
				break;
			}
			bitpool_abort(e, &tx);
			continue;
		}
		struct kv_entry *e = entry_grown(r, 1, old, byte + 1 > olen ? byte + 1 : olen);
		unsigned char *b = (unsigned char *)kv_entry_mutval(e) + byte;
		*b = (unsigned char)((*b & ~(1u << shift)) | ((unsigned)on << shift));
		if (db_put(r->view, old, e) == 0)
			break;
		kv_entry_free(e);
	}
	reply_int(r->c, oldbit);
}

static void cmd_getbit(struct cmd_req *r)
{
	const struct kv_entry *e;
	uint64_t off;
	int bit = 0;

	if (!bits_parse_offset(r->argv[2], r->argl[2], 0, max_bulk(), &off)) {
		reply_error(r->c, ERR_OFFSET);
		return;
	}
	e = lookup(r, 1, 1);
	if (!is_string(r, e))
		return;
	if (e && (off >> 3) < e->vlen)
		bit = (kv_entry_val(e)[off >> 3] >> (7 - (off & 7))) & 1;
	reply_int(r->c, bit);
}

/* ---- BITCOUNT BITPOS */

/*
 * The start/end arguments of BITCOUNT/BITPOS as Redis converts them: negative
 * indexes count from the end, the range is clamped to the string (len bytes,
 * or len * 8 bits with isbit), and in BIT mode start/end become byte indexes
 * plus masks of the bits outside the range in the first and last byte.
 */
struct range {
	long long start, end;
	unsigned char first_neg, last_neg;
};

static void range_clamp(struct range *g, long long len, int isbit)
{
	long long tot = isbit ? len << 3 : len;

	if (g->start < 0)
		g->start += tot;
	if (g->end < 0)
		g->end += tot;
	if (g->start < 0)
		g->start = 0;
	if (g->end < 0)
		g->end = 0;
	if (g->end >= tot)
		g->end = tot - 1;
	g->first_neg = g->last_neg = 0;
	if (isbit && g->start <= g->end) {
		g->first_neg = (unsigned char)(~((1u << (8 - (g->start & 7))) - 1) & 0xff);
		g->last_neg = (unsigned char)((1u << (7 - (g->end & 7))) - 1);
		g->start >>= 3;
		g->end >>= 3;
	}
}

/* BYTE or BIT (argument i): 1 and *isbit, or 0 after a syntax error. */
static int parse_unit(struct cmd_req *r, int i, int *isbit)
{
	if (cmd_arg_is(r, i, "bit"))
		*isbit = 1;
	else if (cmd_arg_is(r, i, "byte"))
		*isbit = 0;
	else {
		cmd_reply_syntax_error(r);
		return 0;
	}
	return 1;
}

static void cmd_bitcount(struct cmd_req *r)
{
	const struct kv_entry *e = lookup(r, 1, 1);
	struct range g = {0, 0, 0, 0};
	int isbit = 0;

	/* Redis looks the key up before it reads the range */
	if (!e) {
		reply_int(r->c, 0);
		return;
	}
	if (!is_string(r, e))
		return;
	const unsigned char *p = (const unsigned char *)kv_entry_val(e);
	long long len = e->vlen;
	if (r->argc == 4 || r->argc == 5) {
		if (!cmd_arg_ll(r, 2, &g.start) || !cmd_arg_ll(r, 3, &g.end))
			return;
		if (g.start < 0 && g.end < 0 && g.start > g.end) {
			reply_int(r->c, 0);
			return;
		}
		if (r->argc == 5 && !parse_unit(r, 4, &isbit))
			return;
		range_clamp(&g, len, isbit);
	} else if (r->argc == 2) {
		g.end = len - 1;
	} else {
		cmd_reply_syntax_error(r);
		return;
	}
	if (g.start > g.end) {
		reply_int(r->c, 0);
		return;
	}
	long long n = (long long)bits_popcount(p + g.start, (size_t)(g.end - g.start + 1));
	unsigned char edges[2] = {(unsigned char)(p[g.start] & g.first_neg),
				  (unsigned char)(p[g.end] & g.last_neg)};
	n -= (long long)bits_popcount(edges, 2);
	reply_int(r->c, n);
}

static void cmd_bitpos(struct cmd_req *r)
{
	const struct kv_entry *e;
	struct range g = {0, 0, 0, 0};
	long long bit;
	int isbit = 0, end_given = 0;

	if (!cmd_arg_ll(r, 2, &bit))
		return;
	if (bit != 0 && bit != 1) {
		reply_error(r->c, "ERR The bit argument must be 1 or 0.");
		return;
	}
	e = lookup(r, 1, 1);
	if (!e) { /* an endless run of zeros */
		reply_int(r->c, bit ? -1 : 0);
		return;
	}
	if (!is_string(r, e))
		return;
	const unsigned char *p = (const unsigned char *)kv_entry_val(e);
	long long len = e->vlen;
	if (r->argc >= 4 && r->argc <= 6) {
		if (!cmd_arg_ll(r, 3, &g.start))
			return;
		if (r->argc == 6 && !parse_unit(r, 5, &isbit))
			return;
		if (r->argc >= 5) {
			if (!cmd_arg_ll(r, 4, &g.end))
				return;
			end_given = 1;
		} else {
			g.end = len - 1;
		}
		range_clamp(&g, len, isbit);
	} else if (r->argc == 3) {
		g.end = len - 1;
	} else {
		cmd_reply_syntax_error(r);
		return;
	}
	if (g.start > g.end) {
		reply_int(r->c, -1);
		return;
	}
	/* Search the bytes with the bits outside the range forced to the
	 * opposite of what is looked for, so they never match. */
	long long bytes = g.end - g.start + 1, pos;
	unsigned char t;
	if (g.first_neg) {
		t = bit ? (unsigned char)(p[g.start] & ~g.first_neg)
			: (unsigned char)(p[g.start] | g.first_neg);
		if (g.last_neg && bytes == 1)
			t = bit ? (unsigned char)(t & ~g.last_neg)
				: (unsigned char)(t | g.last_neg);
		pos = bits_pos(&t, 1, (int)bit);
		if (bytes == 1 || (pos != -1 && pos != 8))
			goto result;
		g.start++;
		bytes--;
	}
	long long cur = bytes - (g.last_neg ? 1 : 0);
	if (cur > 0) {
		pos = bits_pos(p + g.start, (size_t)cur, (int)bit);
		if (bytes == cur || (pos != -1 && pos != cur << 3))
			goto result;
		g.start += cur;
		bytes -= cur;
	}
	t = bit ? (unsigned char)(p[g.end] & ~g.last_neg) : (unsigned char)(p[g.end] | g.last_neg);
	pos = bits_pos(&t, 1, (int)bit);
result:
	/* With an explicit end the string is not zero-padded past it. */
	if (end_given && bit == 0 && pos == bytes << 3) {
		reply_int(r->c, -1);
		return;
	}
	if (pos != -1)
		pos += g.start << 3;
	reply_int(r->c, pos);
}

/* ---- BITOP */

enum bitop { OP_AND, OP_OR, OP_XOR, OP_NOT };

static void bitop_body(struct cmd_req *r)
{
	int n = r->argc - 3;
	enum bitop op = cmd_arg_is(r, 1, "and")	  ? OP_AND
			: cmd_arg_is(r, 1, "or")  ? OP_OR
			: cmd_arg_is(r, 1, "xor") ? OP_XOR
						  : OP_NOT;
	const unsigned char **src = mem_alloc((size_t)n * sizeof(*src));
	size_t *len = mem_alloc((size_t)n * sizeof(*len));
	size_t maxlen = 0, minlen = 0;
	struct kv_entry *e = NULL;

	for (int j = 0; j < n; j++) {
		const struct kv_entry *s = lookup(r, 3 + j, 1);

		if (!is_string(r, s))
			goto out;
		src[j] = s ? (const unsigned char *)kv_entry_val(s) : NULL;
		len[j] = s ? s->vlen : 0;
		if (len[j] > maxlen)
			maxlen = len[j];
		if (j == 0 || len[j] < minlen)
			minlen = len[j];
	}
	if (maxlen) {
		e = kv_entry_new(r->argv[2], r->argl[2], NULL, maxlen, 0);
		e->enc = KV_ENC_RAW; /* createObject(OBJ_STRING, res): raw */
		unsigned char *res = (unsigned char *)kv_entry_mutval(e);
		size_t i = 0;

		/* where every source has bytes: word at a time */
		for (; i + 8 <= minlen; i += 8) {
			uint64_t w, x;

			memcpy(&w, src[0] + i, 8);
			if (op == OP_NOT)
				w = ~w;
			for (int j = 1; j < n; j++) {
				memcpy(&x, src[j] + i, 8);
				w = op == OP_AND ? w & x : op == OP_OR ? w | x : w ^ x;
			}
			memcpy(res + i, &w, 8);
		}
		/* missing bytes of shorter sources are zeros */
		for (; i < maxlen; i++) {
			unsigned char o = len[0] > i ? src[0][i] : 0;

			if (op == OP_NOT)
				o = (unsigned char)~o;
			for (int j = 1; j < n; j++) {
				unsigned char b = len[j] > i ? src[j][i] : 0;

				o = op == OP_AND ? o & b : op == OP_OR ? o | b : o ^ b;
			}
			res[i] = o;
		}
	}
	/* the destination takes the result (no TTL), or is deleted when empty */
	for (;;) {
		const struct kv_entry *old = lookup(r, 2, 0);

		if (!e && !old)
			break;
		if (db_put(r->view, old, e) == 0) {
			e = NULL;
			break;
		}
	}
	reply_int(r->c, (long long)maxlen);
out:
	if (e)
		kv_entry_free(e);
	mem_free(src);
	mem_free(len);
}

static void cmd_bitop(struct cmd_req *r)
{
	if (!cmd_arg_is(r, 1, "and") && !cmd_arg_is(r, 1, "or") && !cmd_arg_is(r, 1, "xor") &&
	    !cmd_arg_is(r, 1, "not")) {
		cmd_reply_syntax_error(r);
		return;
	}
	if (cmd_arg_is(r, 1, "not") && r->argc != 4) {
		reply_error(r->c, "ERR BITOP NOT must be called with a single source key.");
		return;
	}
	multi_atomic(r, bitop_body);
}

/* ---- BITFIELD BITFIELD_RO */

/* A GET: up to 9 bytes from the field's first byte copied into a
 * zero-padded buffer, so fields past the end of the string read zeros. */
static long long field_get(const unsigned char *p, size_t len, const struct bits_op *op)
{
	unsigned char buf[9] = {0};
	uint64_t byte = op->offset >> 3;

	for (uint64_t i = 0; i < 9 && byte + i < len; i++)
		buf[i] = p[byte + i];
	if (op->sign)
		return bits_get_signed(buf, op->offset - byte * 8, op->bits);
	return (long long)bits_get_unsigned(buf, op->offset - byte * 8, op->bits);
}

/* A SET or INCRBY on p (which holds the field): 1 and *ret (the old value
 * for SET, the new one for INCRBY), or 0 when OVERFLOW FAIL refused it. */
static int field_write(unsigned char *p, const struct bits_op *op, long long *ret)
{
	int ov;

	if (op->sign) {
		int64_t oldv = bits_get_signed(p, op->offset, op->bits), newv, lim = 0;

		if (op->opcode == BITS_INCRBY) {
			ov = bits_overflow_signed(oldv, op->arg, op->bits, op->overflow, &lim);
			newv = ov ? lim : (int64_t)((uint64_t)oldv + (uint64_t)op->arg);
			*ret = newv;
		} else {
			newv = op->arg;
			ov = bits_overflow_signed(newv, 0, op->bits, op->overflow, &lim);
			if (ov)
				newv = lim;
			*ret = oldv;
		}
		if (ov && op->overflow == BITS_FAIL)
			return 0;
		bits_set(p, op->offset, op->bits, (uint64_t)newv);
	} else {
		uint64_t oldv = bits_get_unsigned(p, op->offset, op->bits), newv, lim = 0;

		if (op->opcode == BITS_INCRBY) {
			ov = bits_overflow_unsigned(oldv, op->arg, op->bits, op->overflow, &lim);
			newv = ov ? lim : oldv + (uint64_t)op->arg;
			*ret = (long long)newv;
		} else {
			newv = (uint64_t)op->arg;
			ov = bits_overflow_unsigned(newv, 0, op->bits, op->overflow, &lim);
			if (ov)
				newv = lim;
			*ret = (long long)oldv;
		}
		if (ov && op->overflow == BITS_FAIL)
			return 0;
		bits_set(p, op->offset, op->bits, newv);
	}
	return 1;
}

static void bitfield_generic(struct cmd_req *r, int ro)
{
	struct bits_cmd cmd;
	const char *err = bits_parse_bitfield(r->argc, r->argv, r->argl, max_bulk(), &cmd);
	struct kv_entry *e = NULL;
	const struct kv_entry *old;
	long long *vals = NULL;
	unsigned char *ok = NULL;

	if (err) {
		reply_error(r->c, err);
		return;
	}
	if (cmd.readonly) {
		old = lookup(r, 1, 1);
		if (!is_string(r, old))
			goto out;
		const unsigned char *p = old ? (const unsigned char *)kv_entry_val(old) : NULL;
		reply_array(r->c, (long long)cmd.nops);
		for (size_t i = 0; i < cmd.nops; i++)
			reply_int(r->c, field_get(p, old ? old->vlen : 0, &cmd.ops[i]));
		goto out;
	}
	if (ro) {
		reply_error(r->c, "ERR BITFIELD_RO only supports the GET subcommand");
		goto out;
	}
	/* A field may end up to 8 bytes past proto-max-bulk-len (Redis checks
	 * only its first bit); with the limit at storage's own maximum that is
	 * more than an entry holds. */
	if ((cmd.highest_write_offset >> 3) + 1 > (uint64_t)DB_STRING_MAX) {
		reply_error(r->c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		goto out;
	}
	vals = mem_alloc(cmd.nops * sizeof(*vals));
	ok = mem_alloc(cmd.nops);
	for (;;) {
		old = lookup(r, 1, 0);
		if (!is_string(r, old))
			goto out;
		size_t olen = old ? old->vlen : 0;
		size_t need = (size_t)(cmd.highest_write_offset >> 3) + 1;
		e = entry_grown(r, 1, old, need > olen ? need : olen);
		unsigned char *p = (unsigned char *)kv_entry_mutval(e);
		for (size_t i = 0; i < cmd.nops; i++) {
			if (cmd.ops[i].opcode == BITS_GET) {
				vals[i] = field_get(p, e->vlen, &cmd.ops[i]);
				ok[i] = 1;
			} else {
				ok[i] = (unsigned char)field_write(p, &cmd.ops[i], &vals[i]);
			}
		}
		if (db_put(r->view, old, e) == 0) {
			e = NULL;
			break;
		}
		kv_entry_free(e);
		e = NULL;
	}
	reply_array(r->c, (long long)cmd.nops);
	for (size_t i = 0; i < cmd.nops; i++) {
		if (ok[i])
			reply_int(r->c, vals[i]);
		else
			reply_null(r->c);
	}
out:
	mem_free(vals);
	mem_free(ok);
	bits_cmd_free(&cmd);
}

static void cmd_bitfield(struct cmd_req *r)
{
	bitfield_generic(r, 0);
}

static void cmd_bitfield_ro(struct cmd_req *r)
{
	bitfield_generic(r, 1);
}

/* ---- LCS */

struct lcs_range {
	uint32_t a0, a1, b0, b1;
};

/*
 * lcsCommand: the classic dynamic programme over a table of
 * (alen + 1) * (blen + 1) lengths, walked back from the end to produce the
 * string or the matching ranges (ties go the way Redis's do, so the same
 * LCS and the same ranges come out). LEN alone needs only the length: two
 * rows of the table. The table's size is checked against proto-max-bulk-len
 * as Redis does whatever the options.
 */
static void lcs_body(struct cmd_req *r)
{
	const struct kv_entry *ea = lookup(r, 1, 1), *eb = lookup(r, 2, 1);
	int getlen = 0, getidx = 0, withlen = 0;
	long long minlen = 0;

	/* checked before the options, with lcsCommand's own text */
	if ((ea && kv_entry_type(ea) != KV_STRING) || (eb && kv_entry_type(eb) != KV_STRING)) {
		reply_error(r->c, "ERR The specified keys must contain string values");
		return;
	}
	for (int j = 3; j < r->argc; j++) {
		int more = r->argc - 1 - j;

		if (cmd_arg_is(r, j, "idx")) {
			getidx = 1;
		} else if (cmd_arg_is(r, j, "len")) {
			getlen = 1;
		} else if (cmd_arg_is(r, j, "withmatchlen")) {
			withlen = 1;
		} else if (cmd_arg_is(r, j, "minmatchlen") && more) {
			if (!cmd_arg_ll(r, j + 1, &minlen))
				return;
			if (minlen < 0)
				minlen = 0;
			j++;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	if (getidx && getlen) {
		reply_error(r->c,
			    "ERR If you want both the length and indexes, please just use IDX.");
		return;
	}
	const unsigned char *a = ea ? (const unsigned char *)kv_entry_val(ea) : NULL;
	const unsigned char *b = eb ? (const unsigned char *)kv_entry_val(eb) : NULL;
	uint32_t alen = ea ? ea->vlen : 0, blen = eb ? eb->vlen : 0;
	unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
	if (cells * sizeof(uint32_t) > (unsigned long long)max_bulk()) {
		reply_error(r->c, "ERR Insufficient memory, transient memory for LCS exceeds "
				  "proto-max-bulk-len");
		return;
	}
	if (getlen && !getidx) {
		uint32_t *prev = mem_calloc((size_t)blen + 1, sizeof(uint32_t));
		uint32_t *row = mem_calloc((size_t)blen + 1, sizeof(uint32_t));

		for (uint32_t i = 1; i <= alen; i++) {
			for (uint32_t j = 1; j <= blen; j++) {
				if (a[i - 1] == b[j - 1])
					row[j] = prev[j - 1] + 1;
				else
					row[j] = prev[j] > row[j - 1] ? prev[j] : row[j - 1];
			}
			uint32_t *t = prev;
			prev = row;
			row = t;
		}
		reply_int(r->c, prev[blen]);
		mem_free(prev);
		mem_free(row);
		return;
	}
	uint32_t *t = mem_alloc((size_t)cells * sizeof(uint32_t));
#define LCS(i, j) t[(size_t)(j) + (size_t)(i) * ((size_t)blen + 1)]
	for (uint32_t j = 0; j <= blen; j++)
		LCS(0, j) = 0;
	for (uint32_t i = 1; i <= alen; i++) {
		LCS(i, 0) = 0;
		for (uint32_t j = 1; j <= blen; j++) {
			if (a[i - 1] == b[j - 1]) {
				LCS(i, j) = LCS(i - 1, j - 1) + 1;
			} else {
				uint32_t l1 = LCS(i - 1, j), l2 = LCS(i, j - 1);
				LCS(i, j) = l1 > l2 ? l1 : l2;
			}
		}
	}
	uint32_t total = LCS(alen, blen), idx = total;
	char *res = getidx ? NULL : mem_alloc((size_t)total + 1);
	struct lcs_range *rg = NULL;
	size_t nrg = 0, caprg = 0;
	uint32_t a0 = alen, a1 = 0, b0 = 0, b1 = 0; /* a0 == alen: no open range */
	uint32_t i = alen, j = blen;
	while (i > 0 && j > 0) {
		int emit = 0;

		if (a[i - 1] == b[j - 1]) {
			if (res)
				res[idx - 1] = (char)a[i - 1];
			if (a0 == alen) {
				a0 = a1 = i - 1;
				b0 = b1 = j - 1;
			} else if (a0 == i && b0 == j) {
				a0--;
				b0--;
			} else {
				emit = 1;
			}
			if (a0 == 0 || b0 == 0)
				emit = 1;
			idx--;
			i--;
			j--;
		} else {
			if (LCS(i - 1, j) > LCS(i, j - 1))
				i--;
			else
				j--;
			if (a0 != alen)
				emit = 1;
		}
		if (emit) {
			uint32_t mlen = a1 - a0 + 1;

			if (getidx && (minlen == 0 || mlen >= minlen)) {
				if (nrg == caprg) {
					caprg = caprg ? caprg * 2 : 16;
					rg = mem_realloc(rg, caprg * sizeof(*rg));
				}
				rg[nrg++] = (struct lcs_range){a0, a1, b0, b1};
			}
			a0 = alen;
		}
	}
#undef LCS
	mem_free(t);
	if (!getidx) {
		reply_bulk(r->c, res, total);
		mem_free(res);
		return;
	}
	reply_map(r->c, 2);
	reply_bulk_cstr(r->c, "matches");
	reply_array(r->c, (long long)nrg);
	for (size_t k = 0; k < nrg; k++) {
		reply_array(r->c, 2 + withlen);
		reply_array(r->c, 2);
		reply_int(r->c, rg[k].a0);
		reply_int(r->c, rg[k].a1);
		reply_array(r->c, 2);
		reply_int(r->c, rg[k].b0);
		reply_int(r->c, rg[k].b1);
		if (withlen)
			reply_int(r->c, rg[k].a1 - rg[k].a0 + 1);
	}
	reply_bulk_cstr(r->c, "len");
	reply_int(r->c, total);
	mem_free(rg);
}

/* Two different keys: read in one state (a read-only transaction). */
static void cmd_lcs(struct cmd_req *r)
{
	if (r->argl[1] == r->argl[2] && memcmp(r->argv[1], r->argv[2], r->argl[1]) == 0)
		lcs_body(r);
	else
		multi_atomic(r, lcs_body);
}

/* clang-format off */
/* name, proc, arity, flags, first/last/step key, ACL categories, group, summary, since, complexity */
const struct cmd_def cmd_bits_table[] = {
	{"setbit", cmd_setbit, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write bitmap slow", "bitmap",
	 "Sets or clears the bit at offset in the string value stored at key", "2.2.0", "O(1)",
	 NULL},
	{"getbit", cmd_getbit, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read bitmap fast", "bitmap",
	 "Returns the bit value at offset in the string value stored at key", "2.2.0", "O(1)",
	 NULL},
	{"bitcount", cmd_bitcount, -2, CMD_READONLY, 1, 1, 1, "read bitmap slow", "bitmap",
	 "Count set bits in a string", "2.6.0", "O(N)", NULL},
	{"bitpos", cmd_bitpos, -3, CMD_READONLY, 1, 1, 1, "read bitmap slow", "bitmap",
	 "Find first bit set or clear in a string", "2.8.7", "O(N)", NULL},
	{"bitop", cmd_bitop, -4, CMD_WRITE | CMD_DENYOOM, 2, -1, 1, "write bitmap slow", "bitmap",
	 "Perform bitwise operations between strings", "2.6.0", "O(N)", NULL},
	{"bitfield", cmd_bitfield, -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write bitmap slow",
	 "bitmap", "Perform arbitrary bitfield integer operations on strings", "3.2.0",
	 "O(1) for each subcommand specified", NULL},
	{"bitfield_ro", cmd_bitfield_ro, -2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read bitmap fast",
	 "bitmap", "Perform arbitrary bitfield integer operations on strings. Read-only variant of "
	 "BITFIELD", "6.0.0", "O(1) for each subcommand specified", NULL},
	{"lcs", cmd_lcs, -3, CMD_READONLY, 1, 2, 1, "read string slow", "string",
	 "Find longest common substring", "7.0.0", "O(N*M) where N and M are the lengths of s1 and s2, "
	 "respectively", NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
