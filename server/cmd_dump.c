/*
 * cmd_dump.c — DUMP and RESTORE with Redis 7.0.15's payload, arguments and
 * error texts (cluster.c's dumpCommand, restoreCommand, verifyDumpPayload).
 *
 * The payload is one RDB value (persist/rdb_value.h: the type byte and
 * payload Redis writes for the same value, LZF-compressed as Redis does),
 * the RDB version (10) in two little-endian bytes and the CRC-64 of all of
 * that in eight, so a payload from redis-server restores here and one from
 * here restores into redis-server.
 *
 * RESTORE checks in Redis's order: options (syntax, IDLETIME / FREQ range;
 * IDLETIME and FREQ exclude each other), the key's absence unless REPLACE
 * (BUSYKEY), the TTL (integer, >= 0), the footer (version, checksum), the
 * value (any malformation: "Bad data format"). The value is always checked
 * as deeply as Redis does with sanitize-dump-payload yes (listpack entries,
 * intset order, duplicates): a forged payload never becomes a key that
 * crashes a later command. A TTL that is already past
 * (ABSTTL, or ttl + now overflowing into the past) creates nothing and, with
 * REPLACE, deletes the key it would have replaced, as Redis does. The write
 * is one db_put over the version it read (retried when another write won),
 * so a blocked client waiting for the key is woken as for any creation.
 * IDLETIME / FREQ are validated as Redis does and set the key's access word
 * (storage/evict.c: under an LFU policy FREQ, else IDLETIME, as Redis's
 * objectSetLRUOrLFU); that word is kvsd's 16-bit one, so an IDLETIME past
 * its range saturates.
 */
#include "server/cmd.h"

#include <errno.h>
#include <string.h>

#include "net/reply.h"
#include "net/resp.h"
#include "persist/rdb_value.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"

/* ---- DUMP key */

static void cmd_dump(struct cmd_req *r)
{
	const struct kv_entry *e = db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 1);
	struct rdb_buf b;

	if (e == NULL) {
		reply_null(r->c);
		return;
	}
	rdb_buf_init(&b);
	rdb_dump_payload(&b, e);
	reply_bulk(r->c, b.p, b.len);
	rdb_buf_free(&b);
}

/* ---- RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] */

struct restore_opts {
	bool replace, absttl;
	long long idle, freq; /* -1: not given */
};

/* Options as restoreCommand parses them: 1, or 0 after replying. */
static int restore_parse(struct cmd_req *r, struct restore_opts *o)
{
	o->replace = o->absttl = false;
	o->idle = o->freq = -1;
	for (int j = 4; j < r->argc; j++) {
		int additional = r->argc - j - 1;

		if (cmd_arg_is(r, j, "replace")) {
			o->replace = true;
		} else if (cmd_arg_is(r, j, "absttl")) {
			o->absttl = true;
		} else if (cmd_arg_is(r, j, "idletime") && additional >= 1 && o->freq == -1) {
			if (!cmd_arg_ll(r, j + 1, &o->idle))
				return 0;
			if (o->idle < 0) {
				reply_error(r->c, "ERR Invalid IDLETIME value, must be >= 0");
				return 0;
			}
			j++;
		} else if (cmd_arg_is(r, j, "freq") && additional >= 1 && o->idle == -1) {
			if (!cmd_arg_ll(r, j + 1, &o->freq))
				return 0;
			if (o->freq < 0 || o->freq > 255) {
				reply_error(r->c,
					    "ERR Invalid FREQ value, must be >= 0 and <= 255");
				return 0;
			}
			j++;
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	return 1;
}

static void cmd_restore(struct cmd_req *r)
{
	struct restore_opts o;
	long long ttl;
	size_t vlen, used;

	if (!restore_parse(r, &o))
		return;
	for (;;) {
		const struct kv_entry *old =
		    db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 0);
		struct kv_entry *e = NULL;
		int64_t when;
		int rc;

		if (old && !o.replace) {
			reply_error(r->c, "BUSYKEY Target key name already exists.");
			return;
		}
		if (!cmd_arg_ll(r, 2, &ttl))
			return;
		if (ttl < 0) {
			reply_error(r->c, "ERR Invalid TTL value, must be >= 0");
			return;
		}
		if (!rdb_dump_verify(r->argv[3], r->argl[3], &vlen)) {
			reply_error(r->c, "ERR DUMP payload version or checksum are wrong");
			return;
		}
		/* ttl + now as Redis adds them (long long); 0 = no expiry */
		when = ttl && !o.absttl ? (int64_t)((uint64_t)ttl + (uint64_t)r->now_ms) : ttl;
		/* Redis reads the value from the whole argument, footer included
		 * (a value cut short may take the version bytes as its own) */
		if (rdb_value_decode(db_coll_ctx(r->view), r->argv[3], r->argl[3], r->argv[1], r->argl[1],
				     when, &e, &used) != RDB_OK) {
			reply_error(r->c, "ERR Bad data format");
			return;
		}
		if (when != 0 && when <= r->now_ms) {
			/* already expired: nothing is created; REPLACE still
			 * deletes the key it would have replaced */
			kv_entry_free(e);
			e = NULL;
			if (old == NULL)
				break;
		}
		rc = db_put(r->view, old, e);
		if (rc == 0) {
			if (e && (o.idle >= 0 || o.freq >= 0))
				db_key_set_access(r->db,
						  db_key_hash(r->view, r->argv[1], r->argl[1]),
						  r->now_ms, o.idle, o.freq);
			break;
		}
		if (e)
			kv_entry_free(e);
		if (rc != -EAGAIN) {
			reply_error(r->c, "ERR restore failed");
			return;
		}
	}
	reply_ok(r->c);
}

const struct cmd_def cmd_dump_table[] = {
    {"dump", cmd_dump, 2, CMD_READONLY, 1, 1, 1, "keyspace read slow", "generic",
     "Return a serialized version of the value stored at the specified key.", "2.6.0",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of "
     "Redis objects composing the value and M their average size. For small string values the "
     "time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
     NULL},
    {"restore", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "keyspace write slow dangerous",
     "generic", "Create a key using the provided serialized value, previously obtained using DUMP.",
     "2.6.0",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
     "where N is the number of Redis objects composing the value and M their average size. For "
     "small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
     "O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting "
     "values into sorted sets is O(log(N)).",
     NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
