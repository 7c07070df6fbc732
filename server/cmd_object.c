/*
 * cmd_object.c — OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP with
 * Redis 7.0's replies, and the encoding rules (object.h) DEBUG OBJECT shares.
 *
 * Encoding. Redis stores a string as "int" (a long in the pointer), "embstr"
 * (header and bytes in one allocation, up to 44 bytes) or "raw" (a separate
 * sds). Which one depends on how the value was made, not only its bytes:
 * SET & co. run tryObjectEncoding (int when the bytes are a canonical long
 * of at most 20 characters, else embstr up to 44 bytes, else raw); APPEND to
 * an existing key and SETRANGE unshare the value into a raw sds whatever its
 * length; INCRBYFLOAT builds it with createStringObject (embstr or raw by
 * length, never int); INCR & co. store an int. The string commands record
 * the case in the entry's two spare bits (kv_entry.enc); this file applies
 * the rule.
 *
 * A hash, set or sorted set answers the encoding its value records
 * (storage/coll.h: listpack, intset, hashtable, skiplist).
 *
 * Reference count: Redis shares the objects of the integers 0..9999
 * (OBJ_SHARED_INTEGERS), whose refcount reads INT_MAX, unless maxmemory is
 * set with an LRU or LFU policy (each key then needs its own access clock).
 *
 * Access data (IDLETIME, FREQ) comes from storage's side table
 * (db_key_access); OBJECT itself looks the key up without touching it
 * (Redis's LOOKUP_NOTOUCH).
 */
#include "net/conn.h"
#include "net/reply.h"
#include "net/resp.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/object.h"
#include "storage/coll.h"
#include "storage/db.h"

#include <limits.h>

#define OBJ_EMBSTR_MAX	    44	  /* OBJ_ENCODING_EMBSTR_SIZE_LIMIT */
#define OBJ_SHARED_INTEGERS 10000 /* shared objects for 0..9999 */
#define OBJ_INT_CHARS_MAX   20	  /* tryObjectEncoding: len <= 20 */

/* Whether the value is an integer tryObjectEncoding would store as int:
 * string2l accepts it (canonical, within long) and it has <= 20 chars. */
static int value_is_int(const struct kv_entry *e, long long *v)
{
	return e->vlen <= OBJ_INT_CHARS_MAX && resp_str2ll(kv_entry_val(e), e->vlen, v);
}

const char *object_encoding(const struct kv_entry *e)
{
	long long v;

	if (e->enc == KV_ENC_TYPED)
		return coll_enc_name(coll_entry_enc(e));
	if (e->enc == KV_ENC_RAW)
		return "raw";
	if (e->enc == KV_ENC_AUTO && value_is_int(e, &v))
		return "int";
	return e->vlen <= OBJ_EMBSTR_MAX ? "embstr" : "raw";
}

long long object_refcount(const struct kv_entry *e)
{
	long long v;
	long long pol = cfg_int(CFG_MAXMEMORY_POLICY);
	/* MAXMEMORY_FLAG_NO_SHARED_INTEGERS: the LRU and LFU policies */
	int no_shared =
	    cfg_int(CFG_MAXMEMORY) != 0 && (pol == DB_VOLATILE_LRU || pol == DB_ALLKEYS_LRU ||
					    pol == DB_VOLATILE_LFU || pol == DB_ALLKEYS_LFU);

	if (e->enc == KV_ENC_AUTO && !no_shared && value_is_int(e, &v) && v >= 0 &&
	    v < OBJ_SHARED_INTEGERS)
		return INT_MAX;
	return 1;
}

static int policy_is_lfu(void)
{
	long long pol = cfg_int(CFG_MAXMEMORY_POLICY);

	return pol == DB_VOLATILE_LFU || pol == DB_ALLKEYS_LFU;
}

/* objectCommandLookupOrReply: the key without touching it, or a null reply. */
static const struct kv_entry *obj_lookup(struct cmd_req *r, uint64_t *hash)
{
	const struct kv_entry *e =
	    db_lookup_notouch(r->view, r->argv[2], r->argl[2], r->now_ms, hash, 1);

	if (e == NULL)
		reply_null(r->c);
	return e;
}

static void object_encoding_cmd(struct cmd_req *r)
{
	const struct kv_entry *e = obj_lookup(r, NULL);

	if (e)
		reply_bulk_cstr(r->c, object_encoding(e));
}

static void object_refcount_cmd(struct cmd_req *r)
{
	const struct kv_entry *e = obj_lookup(r, NULL);

	if (e)
		reply_int(r->c, object_refcount(e));
}

static void object_idletime_cmd(struct cmd_req *r)
{
	uint64_t h, idle = 0;
	unsigned freq = 0;
	const struct kv_entry *e = obj_lookup(r, &h);

	if (e == NULL)
		return;
	if (policy_is_lfu()) {
		reply_error(r->c, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
				  "Please note that when switching between policies at runtime LRU "
				  "and LFU data will take some time to adjust.");
		return;
	}
	if (db_key_access(r->db, h, r->now_ms, &idle, &freq) != 1)
		idle = 0; /* the table is being rebuilt for a new policy */
	reply_int(r->c, (long long)(idle / 1000));
}

static void object_freq_cmd(struct cmd_req *r)
{
	uint64_t h, idle = 0;
	unsigned freq = 0;
	const struct kv_entry *e = obj_lookup(r, &h);

	if (e == NULL)
		return;
	if (!policy_is_lfu()) {
		reply_error(r->c,
			    "ERR An LFU maxmemory policy is not selected, access frequency "
			    "not tracked. Please note that when switching between policies at "
			    "runtime LRU and LFU data will take some time to adjust.");
		return;
	}
	if (db_key_access(r->db, h, r->now_ms, &idle, &freq) != 2)
		freq = 0;
	reply_int(r->c, freq);
}

static void object_help_cmd(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "ENCODING <key>",
	    "    Return the kind of internal representation used in order to store the value",
	    "    associated with a <key>.",
	    "FREQ <key>",
	    "    Return the access frequency index of the <key>. The returned integer is",
	    "    proportional to the logarithm of the recent access frequency of the key.",
	    "IDLETIME <key>",
	    "    Return the idle time of the <key>, that is the approximated number of",
	    "    seconds elapsed since the last access to the key.",
	    "REFCOUNT <key>",
	    "    Return the number of references of the value associated with the specified",
	    "    <key>.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

static void object_cmd(struct cmd_req *r)
{
	cmd_reply_arity(r);
}

#define OBJ_FLAGS (CMD_READONLY)

static const struct cmd_def object_subcmds[] = {
    {"object|encoding", object_encoding_cmd, 3, OBJ_FLAGS, 2, 2, 1, "keyspace read slow", "generic",
     "Inspect the internal encoding of a Redis object", "2.2.3", "O(1)", NULL},
    {"object|freq", object_freq_cmd, 3, OBJ_FLAGS, 2, 2, 1, "keyspace read slow", "generic",
     "Get the logarithmic access frequency counter of a Redis object", "4.0.0", "O(1)", NULL},
    {"object|help", object_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "keyspace slow",
     "generic", "Show helpful text about the different subcommands", "6.2.0", "O(1)", NULL},
    {"object|idletime", object_idletime_cmd, 3, OBJ_FLAGS, 2, 2, 1, "keyspace read slow", "generic",
     "Get the time since a Redis object was last accessed", "2.2.3", "O(1)", NULL},
    {"object|refcount", object_refcount_cmd, 3, OBJ_FLAGS, 2, 2, 1, "keyspace read slow", "generic",
     "Get the number of references to the value of the key", "2.2.3", "O(1)", NULL},
    {NULL},
};

const struct cmd_def cmd_object_table[] = {
    {"object", object_cmd, -2, 0, 0, 0, 0, "slow", "generic",
     "A container for object introspection commands", "2.2.3", "Depends on subcommand.",
     object_subcmds},
    {NULL},
};
