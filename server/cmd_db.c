/*
 * cmd_db.c — the commands between databases: MOVE, SWAPDB and COPY (COPY
 * within one database too), with Redis 7.0's semantics, argument order and
 * error texts (db.c's moveCommand, swapdbCommand, copyCommand).
 *
 * MOVE and COPY run as one transaction (multi_atomic): the source read and
 * the destination write (and MOVE's delete) commit together in one MWCAS,
 * through two views of the same transaction (db_view_derive), so no client
 * sees a moved key in both databases or in neither. SWAPDB exchanges the
 * two databases' key spaces in one step (storage/db.h, db_swap): every
 * command resolves a database once per key access, so it reads the keys of
 * one database or the other, never a mix.
 *
 * Types: MOVE moves the value itself (coll_clone: a large collection keeps
 * its lineage, storage/coll.h); COPY of a hash, set or sorted set is a deep
 * copy by the type's own row (coll_type_ops.copy: a new lineage), built in
 * the transaction's write context.
 */
#include "server/cmd.h"
#include "server/blocking.h"
#include "server/cluster.h"
#include "concurrency/util.h"
#include "net/reply.h"
#include "net/resp.h"
#include "server/config.h"
#include "server/multi.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"

#include <string.h>

/* Argument i as an int database index, as Redis's getIntFromObjectOrReply:
 * 1, or 0 after replying the error. Not a range check. */
static int arg_int(struct cmd_req *r, int i, long long *out)
{
	if (!resp_str2ll(r->argv[i], r->argl[i], out)) {
		cmd_reply_not_integer(r);
		return 0;
	}
	if (*out < -2147483648LL || *out > 2147483647LL) {
		reply_error(r->c, "ERR value is out of range, value must between -2147483648 and "
				  "2147483647");
		return 0;
	}
	return 1;
}

static int db_in_range(long long id)
{
	return id >= 0 && id < cfg_int(CFG_DATABASES);
}

static void reply_db_range(struct cmd_req *r)
{
	reply_error(r->c, "ERR DB index is out of range");
}

static void reply_same(struct cmd_req *r)
{
	reply_error(r->c, "ERR source and destination objects are the same");
}

/* ---- MOVE key db */

static void move_body(struct cmd_req *r)
{
	long long id;
	struct db_view dv;
	const struct kv_entry *src, *dst;
	struct kv_entry *e;

	if (!arg_int(r, 2, &id))
		return;
	if (!db_in_range(id)) {
		reply_db_range(r);
		return;
	}
	if (id == db_view_index(r->view)) {
		reply_same(r);
		return;
	}
	src = db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 0);
	if (src == NULL) {
		reply_int(r->c, 0);
		return;
	}
	db_view_derive(r->view, (int)id, &dv);
	dst = db_lookup(&dv, r->argv[1], r->argl[1], r->now_ms, NULL, 0);
	if (dst != NULL) {
		reply_int(r->c, 0);
		return;
	}
	e = coll_clone(src, r->argv[1], r->argl[1],
		       kv_entry_expire(src)); /* the same object moves */
	/* in the overlay neither step can lose a race */
	if (db_put(r->view, src, NULL) != 0 || db_put(&dv, NULL, e) != 0)
		KV_PANIC("move: overlay write failed");
	reply_int(r->c, 1);
}

static void cmd_move(struct cmd_req *r)
{
	if (kv_unlikely(cluster_on)) {
		reply_error(r->c, "ERR MOVE is not allowed in cluster mode");
		return;
	}
	multi_atomic(r, move_body);
}

/* ---- SWAPDB index1 index2 */

static void cmd_swapdb(struct cmd_req *r)
{
	long long a, b;

	if (kv_unlikely(cluster_on)) {
		reply_error(r->c, "ERR SWAPDB is not allowed in cluster mode");
		return;
	}
	if (!resp_str2ll(r->argv[1], r->argl[1], &a) || a < -2147483648LL || a > 2147483647LL) {
		reply_error(r->c, "ERR invalid first DB index");
		return;
	}
	if (!resp_str2ll(r->argv[2], r->argl[2], &b) || b < -2147483648LL || b > 2147483647LL) {
		reply_error(r->c, "ERR invalid second DB index");
		return;
	}
	if (!db_in_range(a) || !db_in_range(b)) {
		reply_db_range(r);
		return;
	}
	(void)db_swap(r->view, (int)a, (int)b);
	/* clients blocked in either database may have keys now */
	blk_note_db((int)a);
	blk_note_db((int)b);
	reply_ok(r->c);
}

/* ---- COPY source destination [DB destination-db] [REPLACE] */

static void copy_body(struct cmd_req *r)
{
	long long id = db_view_index(r->view);
	int replace = 0;
	struct db_view dv;
	const struct kv_entry *src, *dst;
	struct kv_entry *e;

	for (int j = 3; j < r->argc; j++) {
		if (cmd_arg_is(r, j, "replace")) {
			replace = 1;
		} else if (cmd_arg_is(r, j, "db") && j + 1 < r->argc) {
			if (!arg_int(r, j + 1, &id))
				return;
			if (!db_in_range(id)) {
				reply_db_range(r);
				return;
			}
			j++;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	if (kv_unlikely(cluster_on) && (id != 0 || db_view_index(r->view) != 0)) {
		reply_error(r->c, "ERR Copying to another database is not allowed in cluster mode");
		return;
	}
	if (id == db_view_index(r->view) && r->argl[1] == r->argl[2] &&
	    memcmp(r->argv[1], r->argv[2], r->argl[1]) == 0) {
		reply_same(r);
		return;
	}
	src = db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 0);
	if (src == NULL) {
		reply_int(r->c, 0);
		return;
	}
	db_view_derive(r->view, (int)id, &dv);
	dst = db_lookup(&dv, r->argv[2], r->argl[2], r->now_ms, NULL, 0);
	if (dst != NULL && !replace) {
		reply_int(r->c, 0);
		return;
	}
	if (kv_entry_type(src) == KV_STRING) {
		/* dupStringObject keeps the encoding */
		e = kv_entry_new(r->argv[2], r->argl[2], kv_entry_val(src), src->vlen,
				 kv_entry_expire(src));
		e->enc = src->enc;
	} else {
		e = coll_ops(kv_entry_type(src))
			->copy(db_coll_ctx(&dv), src, r->argv[2], r->argl[2], kv_entry_expire(src));
	}
	if (db_put(&dv, dst, e) != 0)
		KV_PANIC("copy: overlay write failed");
	reply_int(r->c, 1);
}

static void cmd_copy(struct cmd_req *r)
{
	multi_atomic(r, copy_body);
}

const struct cmd_def cmd_db_table[] = {
    {"copy", cmd_copy, -3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "keyspace write slow", "generic",
     "Copy a key", "6.2.0",
     "O(N) worst case for collections, where N is the number of nested items. O(1) for string "
     "values.",
     NULL},
    {"move", cmd_move, 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic",
     "Move a key to another database", "1.0.0", "O(1)", NULL},
    {"swapdb", cmd_swapdb, 3, CMD_WRITE | CMD_FAST, 0, 0, 0, "keyspace write fast dangerous",
     "server", "Swaps two Redis databases", "4.0.0",
     "O(N) where N is the count of clients watching or blocking on keys from both databases.",
     NULL},
    {NULL},
};
