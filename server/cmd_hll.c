/*
 * cmd_hll.c — PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST with Redis 7.0's
 * semantics and reply bytes (hyperloglog.c's commands; the representation
 * and algorithms are server/hll.c's).
 *
 * An HLL is a plain string value, so every change is the usual
 * compare-and-swap on the db (db.h): read the entry, build a new one with
 * the change, publish it if the old one is still current, else retry.
 * Redis changes the string in place; here a change copies it (at most
 * HLL_DENSE_SIZE bytes). PFADD first checks, reading only, whether any of
 * its elements would raise a register: once an HLL has seen many elements
 * most PFADDs change nothing, and those copy nothing and write nothing (as
 * Redis, which then does not touch the cache either).
 *
 * Like Redis, PFCOUNT of one key writes the estimate it computed back into
 * the key's cached cardinality (a new entry; the TTL is kept).
 *
 * Atomicity: PFCOUNT of several keys and PFMERGE read their keys and (for
 * PFMERGE) write the destination in one transaction (multi_atomic), so the
 * union is of one state of all of them and the merge publishes as one step.
 *
 * Errors, as Redis: a string that is not an HLL answers -WRONGTYPE Key is
 * not a valid HyperLogLog string value., a sparse payload that does not
 * describe 16384 registers -INVALIDOBJ Corrupted HLL object detected.
 */
#include "server/cmd.h"
#include "server/config.h"
#include "server/hll.h"
#include "server/multi.h"
#include "net/reply.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"

#include <string.h>

static const char err_wrongtype[] = "WRONGTYPE Key is not a valid HyperLogLog string value.";
static const char err_invalid[] = "INVALIDOBJ Corrupted HLL object detected";

static const struct kv_entry *lookup(struct cmd_req *r, int i, int count_stats)
{
	return db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, count_stats);
}

static const uint8_t *val(const struct kv_entry *e)
{
	return (const uint8_t *)kv_entry_val(e);
}

/* isHLLObjectOrReply: 1 if e holds an HLL, else 0 after replying (a value
 * that is not a string: the generic WRONGTYPE text, as checkType). */
static int check_hll(struct cmd_req *r, const struct kv_entry *e)
{
	if (kv_entry_type(e) != KV_STRING) {
		cmd_reply_wrongtype(r);
		return 0;
	}
	if (hll_is_valid(kv_entry_val(e), e->vlen))
		return 1;
	reply_error(r->c, err_wrongtype);
	return 0;
}

static long long sparse_max(void)
{
	return cfg_int(CFG_HLL_SPARSE_MAX_BYTES);
}

/* An unpublished entry for key argument ki holding b's bytes. */
static struct kv_entry *entry_of(struct cmd_req *r, int ki, const struct hll_buf *b,
				 int64_t expire_ms)
{
	struct kv_entry *e = kv_entry_new(r->argv[ki], r->argl[ki], b->p, b->len, expire_ms);

	e->enc = KV_ENC_RAW; /* Redis's HLLs are raw strings (createHLLObject, unshared) */
	return e;
}

/*
 * PFADD on an existing HLL: 1 / 0 as Redis, or -1 for a corrupt payload.
 * Adds to a copy and hands it back in *e_out (else NULL) only if a register
 * changed — even when a corrupt payload stopped it halfway (Redis keeps the
 * elements it added before the error). Replies nothing: a lost race runs it
 * again.
 */
static int pfadd_existing(struct cmd_req *r, const struct kv_entry *old, struct kv_entry **e_out)
{
	const uint8_t *v = val(old);
	int updated = 0, err = 0;
	bool change = false;

	*e_out = NULL;
	for (int j = 2; j < r->argc && !change; j++) {
		int rc = hll_would_change(v, old->vlen, r->argv[j], r->argl[j]);

		if (rc < 0)
			return -1;
		change = rc > 0;
	}
	if (!change)
		return 0;

	if (v[4] == HLL_ENC_DENSE) {
		/* stays dense: add straight into the new entry's bytes */
		struct kv_entry *e =
		    kv_entry_new(r->argv[1], r->argl[1], v, old->vlen, kv_entry_expire(old));
		e->enc = KV_ENC_RAW;
		struct hll_buf b = {(uint8_t *)kv_entry_mutval(e), old->vlen, old->vlen};

		for (int j = 2; j < r->argc; j++)
			hll_add(&b, r->argv[j], r->argl[j], sparse_max());
		hll_cache_invalidate(b.p);
		*e_out = e;
		return 1;
	}

	struct hll_buf b;

	hll_buf_init(&b, v, old->vlen);
	for (int j = 2; j < r->argc; j++) {
		int rc = hll_add(&b, r->argv[j], r->argl[j], sparse_max());

		if (rc < 0) {
			err = 1;
			break;
		}
		updated |= rc;
	}
	if (updated) {
		if (!err)
			hll_cache_invalidate(b.p);
		*e_out = entry_of(r, 1, &b, kv_entry_expire(old));
	}
	hll_buf_free(&b);
	return err ? -1 : updated;
}

static void cmd_pfadd(struct cmd_req *r)
{
	int updated;

	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 0);
		struct kv_entry *e;

		if (!old) {
			struct hll_buf b;

			/* a new key counts as an update even with no element */
			hll_buf_init(&b, NULL, 0);
			for (int j = 2; j < r->argc; j++)
				hll_add(&b, r->argv[j], r->argl[j], sparse_max());
			hll_cache_invalidate(b.p);
			e = entry_of(r, 1, &b, 0);
			hll_buf_free(&b);
			updated = 1;
		} else {
			if (!check_hll(r, old))
				return;
			updated = pfadd_existing(r, old, &e);
			if (!e)
				break;
		}
		if (db_put(r->view, old, e) == 0)
			break;
		kv_entry_free(e);
	}
	if (updated < 0)
		reply_error(r->c, err_invalid);
	else
		reply_int(r->c, updated);
}

/* PFCOUNT of one key: the cached value, or the estimate written back. */
static void pfcount_one(struct cmd_req *r)
{
	for (;;) {
		const struct kv_entry *old = lookup(r, 1, 1);

		if (!old) {
			reply_int(r->c, 0);
			return;
		}
		if (!check_hll(r, old))
			return;
		const uint8_t *v = val(old);
		if (hll_cache_valid(v)) {
			reply_int(r->c, (long long)hll_cache_get(v));
			return;
		}
		bool invalid = false;
		uint64_t card = hll_count(v, old->vlen, &invalid);
		if (invalid) {
			reply_error(r->c, err_invalid);
			return;
		}
		struct kv_entry *e =
		    kv_entry_new(r->argv[1], r->argl[1], v, old->vlen, kv_entry_expire(old));
		e->enc = KV_ENC_RAW;
		hll_cache_set((uint8_t *)kv_entry_mutval(e), card);
		if (db_put(r->view, old, e) == 0) {
			reply_int(r->c, (long long)card);
			return;
		}
		kv_entry_free(e);
	}
}

/* Registers of the union of keys argv[from..argc) into max: 1, -1 corrupt
 * (replied), 0 not an HLL (replied). *dense: one of them is dense. */
static int union_of(struct cmd_req *r, int from, uint8_t *max, bool *dense)
{
	memset(max, 0, HLL_REGISTERS);
	*dense = false;
	for (int j = from; j < r->argc; j++) {
		const struct kv_entry *e = lookup(r, j, 1);

		if (!e)
			continue; /* a missing key is an empty HLL */
		if (!check_hll(r, e))
			return 0;
		if (val(e)[4] == HLL_ENC_DENSE)
			*dense = true;
		if (hll_merge(max, val(e), e->vlen) != 0) {
			reply_error(r->c, err_invalid);
			return -1;
		}
	}
	return 1;
}

static void pfcount_many(struct cmd_req *r)
{
	uint8_t *max = mem_alloc(HLL_REGISTERS);
	bool dense;

	if (union_of(r, 1, max, &dense) == 1)
		reply_int(r->c, (long long)hll_count_raw(max));
	mem_free(max);
}

static void cmd_pfcount(struct cmd_req *r)
{
	if (r->argc == 2)
		pfcount_one(r);
	else
		multi_atomic(r, pfcount_many);
}

/*
 * PFMERGE: the union of every key (the destination included) written into
 * the destination — created sparse if missing, made dense first if any
 * input is dense — register by register as Redis does, so the encoding and
 * bytes come out as Redis's. Runs in a transaction with several keys; one
 * key is a plain read-modify-write that retries on a lost race.
 */
static void pfmerge_body(struct cmd_req *r)
{
	uint8_t *max = mem_alloc(HLL_REGISTERS);

	for (;;) {
		bool dense;

		if (union_of(r, 1, max, &dense) != 1)
			break;
		const struct kv_entry *old = lookup(r, 1, 0);
		struct hll_buf b;

		hll_buf_init(&b, old ? kv_entry_val(old) : NULL, old ? old->vlen : 0);
		if (dense && hll_to_dense(&b) != 0) {
			hll_buf_free(&b);
			reply_error(r->c, err_invalid);
			break;
		}
		for (unsigned j = 0; j < HLL_REGISTERS; j++)
			if (max[j])
				hll_set(&b, j, max[j], sparse_max());
		hll_cache_invalidate(b.p);
		struct kv_entry *e = entry_of(r, 1, &b, old ? kv_entry_expire(old) : 0);
		hll_buf_free(&b);
		if (db_put(r->view, old, e) == 0) {
			reply_ok(r->c);
			break;
		}
		kv_entry_free(e);
	}
	mem_free(max);
}

static void cmd_pfmerge(struct cmd_req *r)
{
	if (r->argc == 2)
		pfmerge_body(r);
	else
		multi_atomic(r, pfmerge_body);
}

/* PFDEBUG TODENSE / GETREG on a sparse HLL: publishes the dense form.
 * 1 on success (*b: a copy of it, for the caller to free), 0 if it lost a
 * race (retry), -1 corrupt (replied). */
static int pfdebug_todense(struct cmd_req *r, const struct kv_entry *old, struct hll_buf *b)
{
	hll_buf_init(b, kv_entry_val(old), old->vlen);
	if (hll_to_dense(b) != 0) {
		hll_buf_free(b);
		reply_error(r->c, err_invalid);
		return -1;
	}
	struct kv_entry *e = entry_of(r, 2, b, kv_entry_expire(old));
	if (db_put(r->view, old, e) == 0)
		return 1;
	kv_entry_free(e);
	hll_buf_free(b);
	return 0;
}

static void cmd_pfdebug(struct cmd_req *r)
{
	for (;;) {
		const struct kv_entry *old = lookup(r, 2, 0);

		if (!old) {
			reply_error(r->c, "ERR The specified key does not exist");
			return;
		}
		if (!check_hll(r, old))
			return;
		const uint8_t *v = val(old);
		bool sparse = v[4] == HLL_ENC_SPARSE;

		if (cmd_arg_is(r, 1, "getreg")) {
			struct hll_buf b = {0};
			const uint8_t *regs = v + HLL_HDR_SIZE;

			if (sparse) {
				int rc = pfdebug_todense(r, old, &b);
				if (rc < 0)
					return;
				if (rc == 0)
					continue;
				regs = b.p + HLL_HDR_SIZE;
			}
			reply_array(r->c, HLL_REGISTERS);
			for (unsigned j = 0; j < HLL_REGISTERS; j++)
				reply_int(r->c, hll_dense_get(regs, j));
			if (b.p)
				hll_buf_free(&b);
		} else if (cmd_arg_is(r, 1, "decode")) {
			if (!sparse) {
				reply_error(r->c, "ERR HLL encoding is not sparse");
				return;
			}
			size_t n;
			char *s = hll_decode(v, old->vlen, &n);
			reply_bulk(r->c, s, n);
			mem_free(s);
		} else if (cmd_arg_is(r, 1, "encoding")) {
			reply_simple(r->c, sparse ? "sparse" : "dense");
		} else if (cmd_arg_is(r, 1, "todense")) {
			if (sparse) {
				struct hll_buf b;
				int rc = pfdebug_todense(r, old, &b);
				if (rc < 0)
					return;
				if (rc == 0)
					continue;
				hll_buf_free(&b);
			}
			reply_int(r->c, sparse);
		} else {
			/* Redis prints the argument as a C string: up to a NUL */
			reply_errorf(r->c, "ERR Unknown PFDEBUG subcommand '%.*s'",
				     (int)strnlen(r->argv[1], r->argl[1]), r->argv[1]);
		}
		return;
	}
}

static uint64_t selftest_rand(void *arg)
{
	return wctx_rand64(arg);
}

/* Redis's PFSELFTEST: some seconds of CPU on one worker; the others' clients
 * are served meanwhile (guest polling, net/worker.c). */
static void cmd_pfselftest(struct cmd_req *r)
{
	char buf[128];
	const char *err = hll_selftest(selftest_rand, r->ctx, sparse_max(), buf, sizeof(buf));

	if (err)
		reply_error(r->c, err);
	else
		reply_ok(r->c);
}

/* clang-format off */
/* name, proc, arity, flags, first/last/step key, ACL categories, group, summary, since, complexity */
const struct cmd_def cmd_hll_table[] = {
	{"pfadd", cmd_pfadd, -2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1,
	 "write hyperloglog fast", "hyperloglog",
	 "Adds the specified elements to the specified HyperLogLog.", "2.8.9",
	 "O(1) to add every element.", NULL},
	{"pfcount", cmd_pfcount, -2, CMD_READONLY, 1, -1, 1, "read hyperloglog slow", "hyperloglog",
	 "Return the approximated cardinality of the set(s) observed by the HyperLogLog at "
	 "key(s).", "2.8.9",
	 "O(1) with a very small average constant time when called with a single key. O(N) "
	 "with N being the number of keys, and much bigger constant times, when called with "
	 "multiple keys.", NULL},
	{"pfmerge", cmd_pfmerge, -2, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "write hyperloglog slow",
	 "hyperloglog", "Merge N different HyperLogLogs into a single one.", "2.8.9",
	 "O(N) to merge N HyperLogLogs, but with high constant times.", NULL},
	{"pfdebug", cmd_pfdebug, 3, CMD_WRITE | CMD_DENYOOM | CMD_ADMIN, 2, 2, 1,
	 "write hyperloglog admin slow dangerous", "hyperloglog",
	 "Internal commands for debugging HyperLogLog values", "2.8.9", "N/A", NULL},
	{"pfselftest", cmd_pfselftest, 1, CMD_ADMIN, 0, 0, 0, "hyperloglog admin slow dangerous",
	 "hyperloglog", "An internal command for testing HyperLogLog values", "2.8.9", "N/A",
	 NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
