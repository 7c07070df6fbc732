/*
 * cmd_debug.c — DEBUG, the operators' and test suites' subcommands kvsd
 * has, with Redis 7.0's replies: HELP, SLEEP, OBJECT, SET-ACTIVE-EXPIRE,
 * PROTOCOL, DIGEST and DIGEST-VALUE. One of kvsd's own, left out of HELP
 * (whose entries are a subset of Redis's): AOF-FSYNC, the AOF's byte
 * counts appended, written and covered by the last fdatasync, and the
 * number of fdatasyncs (server/aof.h), so a test can see appendfsync
 * everysec's loss bound, which a kill -9 cannot (the page cache survives).
 *
 * DEBUG is a protected command, as in Redis: refused (a rejection, before
 * it runs or is queued by MULTI) unless enable-debug-command, a start-up
 * setting, is "yes", or "local" and the client is on the loopback or the
 * unix socket (debug_allowed(), called by dispatch for CMD_PROTECTED).
 *
 * Differences from Redis, by design: DEBUG SLEEP stops the worker running
 * the client (its other clients wait; other workers go on), not the whole
 * server; DEBUG OBJECT's "Value at" is the entry's address, "lru" the LRU
 * clock value the side table implies, and "serializedlength" what RDB would
 * write without LZF compression (Redis compresses strings over 20 bytes when
 * rdbcompression is on, so long compressible values read shorter there).
 */
#include "net/conn.h"
#include "net/reply.h"
#include "net/resp.h"
#include "server/aof.h"
#include "server/cmd.h"
#include "server/cmd_debug.h"
#include "server/config.h"
#include "server/digest.h"
#include "server/object.h"
#include "server/strutil.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/tlist.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* printf("%.*s") of an argument as Redis's "%.128s" of its C string. */
static size_t arg_cstr_len(const char *p, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && n < max && p[n] != '\0')
		n++;
	return n;
}

/* DEBUG SET-ACTIVE-EXPIRE: read by the hz timer, written by DEBUG; relaxed:
 * a switch seen one cycle late is harmless, it publishes nothing. */
static _Atomic int active_expire = 1;

bool debug_active_expire_enabled(void)
{
	return atomic_load_explicit(&active_expire, memory_order_relaxed) != 0;
}

/* Redis's islocalClient: the unix socket, or 127.0.0.1 / ::1. */
static bool is_local(const struct conn *c)
{
	const char *a = conn_addr(c);

	return a && (a[0] == '/' || strncmp(a, "127.0.0.1:", 10) == 0 ||
		     strncmp(a, "::1:", 4) == 0 || strncmp(a, "[::1]:", 6) == 0);
}

bool debug_allowed(const struct conn *c)
{
	long long v = cfg_int(CFG_ENABLE_DEBUG_COMMAND);

	return v == CFG_PROTECTED_YES || (v == CFG_PROTECTED_LOCAL && is_local(c));
}

/* The key as Redis's dictFind sees it: no lazy expiry (now 0), no touch. */
static const struct kv_entry *find_raw(struct cmd_req *r, int i, uint64_t *hash)
{
	return db_lookup_notouch(r->view, r->argv[i], r->argl[i], 0, hash, 0);
}

static void reply_digest(struct cmd_req *r, const uint8_t d[DIGEST_LEN])
{
	char hex[2 * DIGEST_LEN + 1];

	digest_hex(d, hex);
	reply_simple(r->c, hex);
}

static void debug_digest(struct cmd_req *r)
{
	uint8_t d[DIGEST_LEN];

	digest_dataset(r->view, d);
	reply_digest(r, d);
}

static void debug_digest_value(struct cmd_req *r)
{
	reply_array(r->c, r->argc - 2);
	for (int i = 2; i < r->argc; i++) {
		uint8_t d[DIGEST_LEN] = {0};
		const struct kv_entry *e = find_raw(r, i, NULL);

		if (e)
			digest_value(e, d);
		reply_digest(r, d);
	}
}

/* rdbSaveLen's size for a length. */
static size_t rdb_len_size(size_t n)
{
	return n < (1u << 6) ? 1 : n < (1u << 14) ? 2 : n <= UINT32_MAX ? 5 : 9;
}

/* rdbEncodeInteger's size for v, or 0 when it needs more than 32 bits. */
static size_t rdb_int_size(long long v)
{
	if (v >= -(1 << 7) && v <= (1 << 7) - 1)
		return 2;
	if (v >= -(1 << 15) && v <= (1 << 15) - 1)
		return 3;
	if (v >= -(1LL << 31) && v <= (1LL << 31) - 1)
		return 5;
	return 0;
}

/* rdbSaveRawString's size for bytes p[0..len): an integer encoding for
 * short canonical integers, else length and bytes. */
static size_t rdb_str_size(const char *p, size_t len, int is_int)
{
	long long v;
	size_t n;

	if ((is_int || len <= 11) && resp_str2ll(p, len, &v) && (n = rdb_int_size(v)) != 0)
		return n;
	return rdb_len_size(len) + len;
}

/* A large collection's elements as RDB writes them: each string, and a
 * sorted set's scores as 8-byte binary doubles. */
static void rdb_elem_size(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	size_t *n = arg;

	(void)blen;
	*n += rdb_str_size(a, alen, 0);
	if (b) /* a sorted set's score */
		*n += 8;
}

static void rdb_hash_elem_size(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	size_t *n = arg;

	*n += rdb_str_size(a, alen, 0) + rdb_str_size(b, blen, 0);
}

/* rdbSavedObjectLen, without LZF (see the file comment). A compact hash,
 * set or sorted set is saved as its blob (a listpack / intset string: kvsd's
 * blob stands in for Redis's, an approximation of its size); a large one as
 * a length and its elements. */
static size_t serialized_len(const struct kv_entry *e)
{
	enum kv_type t = kv_entry_type(e);
	const struct coll_type_ops *ops = coll_ops(t);
	size_t n = 0, blen;

	if (t == KV_STRING)
		return rdb_str_size(kv_entry_val(e), e->vlen,
				    strcmp(object_encoding(e), "int") == 0);
	if (!coll_enc_is_big(coll_entry_enc(e))) {
		(void)coll_blob(e, &blen);
		return rdb_len_size(blen) + blen;
	}
	if (!ops)
		return 0;
	n = rdb_len_size(ops->count(e));
	ops->foreach (e, t == KV_HASH ? rdb_hash_elem_size : rdb_elem_size, &n);
	return n;
}

static void debug_object(struct cmd_req *r)
{
	uint64_t h, idle_ms = 0;
	unsigned freq = 0;
	const struct kv_entry *e = find_raw(r, 2, &h);
	unsigned long long lru = 0, idle_s = 0;
	char line[256];

	if (e == NULL) {
		reply_error(r->c, "ERR no such key");
		return;
	}
	switch (db_key_access(r->db, h, r->now_ms, &idle_ms, &freq)) {
	case 1: /* LRU_CLOCK(): seconds, 24 bits */
		idle_s = idle_ms / 1000;
		lru = ((unsigned long long)(r->now_ms / 1000) - idle_s) & ((1u << 24) - 1);
		break;
	case 2: /* the LFU counter in the lru field's low byte */
		lru = freq;
		break;
	default:
		break;
	}
	int n = snprintf(line, sizeof(line),
			 "Value at:%p refcount:%lld encoding:%s serializedlength:%zu lru:%llu "
			 "lru_seconds_idle:%llu",
			 (const void *)e, object_refcount(e), object_encoding(e), serialized_len(e),
			 lru, idle_s);
	if (kv_entry_type(e) == KV_LIST && n > 0 && (size_t)n < sizeof(line)) {
		/* Redis's quicklist fields: kvsd's blob is one node, a large
		 * list's chunks are its nodes; sizes as listpacks would take */
		size_t nodes, bytes, len = tlist_len(e);

		tlist_node_info(e, &nodes, &bytes);
		snprintf(line + n, sizeof(line) - (size_t)n,
			 " ql_nodes:%zu ql_avg_node:%.2f ql_listpack_max:%lld ql_compressed:%d "
			 "ql_uncompressed_size:%zu",
			 nodes, nodes ? (double)len / (double)nodes : 0.0,
			 cfg_int(CFG_LIST_MAX_LISTPACK_SIZE), cfg_int(CFG_LIST_COMPRESS_DEPTH) != 0,
			 bytes);
	}
	reply_simple(r->c, line);
}

static void debug_sleep(struct cmd_req *r)
{
	char buf[64];
	size_t n = r->argl[2] < sizeof(buf) - 1 ? r->argl[2] : sizeof(buf) - 1;
	double secs;
	long long us;
	struct timespec ts;

	memcpy(buf, r->argv[2], n);
	buf[n] = '\0';
	secs = strtod(buf, NULL); /* as Redis: garbage reads 0 */
	us = (long long)(secs * 1000000);
	if (us > 0) {
		ts.tv_sec = (time_t)(us / 1000000);
		ts.tv_nsec = (long)(us % 1000000) * 1000;
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	reply_ok(r->c);
}

static void debug_set_active_expire(struct cmd_req *r)
{
	char buf[32];
	size_t n = r->argl[2] < sizeof(buf) - 1 ? r->argl[2] : sizeof(buf) - 1;

	memcpy(buf, r->argv[2], n);
	buf[n] = '\0';
	/* relaxed: see active_expire */
	atomic_store_explicit(&active_expire, atoi(buf) != 0, memory_order_relaxed);
	reply_ok(r->c);
}

/* DEBUG PROTOCOL <type>: one test value of each RESP type, as Redis sends
 * it in RESP2 and RESP3. */
static void debug_protocol(struct cmd_req *r)
{
	struct conn *c = r->c;
	bool r3 = conn_resp(c) >= 3;

	if (cmd_arg_is(r, 2, "string")) {
		reply_bulk_cstr(c, "Hello World");
	} else if (cmd_arg_is(r, 2, "integer")) {
		reply_int(c, 12345);
	} else if (cmd_arg_is(r, 2, "double")) {
		if (r3)
			reply_raw(c, ",3.141\r\n", 8);
		else
			reply_bulk_cstr(c, "3.141");
	} else if (cmd_arg_is(r, 2, "bignum")) {
		static const char big[] = "1234567999999999999999999999999999999";

		if (r3)
			reply_raw(c, "(1234567999999999999999999999999999999\r\n", sizeof(big) + 2);
		else
			reply_bulk_cstr(c, big);
	} else if (cmd_arg_is(r, 2, "null")) {
		reply_null(c);
	} else if (cmd_arg_is(r, 2, "array") || cmd_arg_is(r, 2, "set")) {
		if (cmd_arg_is(r, 2, "set"))
			reply_set(c, 3);
		else
			reply_array(c, 3);
		for (int j = 0; j < 3; j++)
			reply_int(c, j);
	} else if (cmd_arg_is(r, 2, "map")) {
		reply_map(c, 3);
		for (int j = 0; j < 3; j++) {
			reply_int(c, j);
			if (r3)
				reply_raw(c, j == 1 ? "#t\r\n" : "#f\r\n", 4);
			else
				reply_int(c, j == 1);
		}
	} else if (cmd_arg_is(r, 2, "attrib")) {
		if (r3) {
			reply_raw(c, "|1\r\n", 4);
			reply_bulk_cstr(c, "key-popularity");
			reply_array(c, 2);
			reply_bulk_cstr(c, "key:123");
			reply_int(c, 90);
		}
		reply_bulk_cstr(c, "Some real reply following the attribute");
	} else if (cmd_arg_is(r, 2, "push")) {
		if (!r3) {
			reply_error(c, "ERR RESP2 is not supported by this command");
			return;
		}
		reply_raw(c, ">2\r\n", 4);
		reply_bulk_cstr(c, "server-cpu-usage");
		reply_int(c, 42);
		reply_bulk_cstr(c, "Some real reply following the push reply");
	} else if (cmd_arg_is(r, 2, "true") || cmd_arg_is(r, 2, "false")) {
		bool t = cmd_arg_is(r, 2, "true");

		if (r3)
			reply_raw(c, t ? "#t\r\n" : "#f\r\n", 4);
		else
			reply_int(c, t);
	} else if (cmd_arg_is(r, 2, "verbatim")) {
		reply_verbatim(c, "This is a verbatim\nstring", 25);
	} else {
		reply_error(c, "ERR Wrong protocol type name. Please use one of the following: "
			       "string|integer|double|bignum|null|array|set|map|attrib|push|"
			       "verbatim|true|false");
	}
}

static void debug_aof_fsync(struct cmd_req *r)
{
	struct aof_fsync_stats st;

	if (!aof_enabled()) {
		reply_error(r->c, "ERR appendonly is off");
		return;
	}
	aof_fsync_stats(&st);
	reply_array(r->c, 8);
	reply_bulk_cstr(r->c, "appended");
	reply_int(r->c, (long long)st.appended);
	reply_bulk_cstr(r->c, "written");
	reply_int(r->c, (long long)st.written);
	reply_bulk_cstr(r->c, "fsynced");
	reply_int(r->c, (long long)st.fsynced);
	reply_bulk_cstr(r->c, "fsyncs");
	reply_int(r->c, (long long)st.nfsync);
}

static void debug_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "DIGEST",
	    "    Output a hex signature representing the current DB content.",
	    "DIGEST-VALUE <key> [<key> ...]",
	    "    Output a hex signature of the values of all the specified keys.",
	    "OBJECT <key>",
	    "    Show low level info about `key` and associated value.",
	    "PROTOCOL <type>",
	    "    Reply with a test value of the specified type. <type> can be: string,",
	    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
	    "    true, false.",
	    "SET-ACTIVE-EXPIRE <0|1>",
	    "    Setting it to 0 disables expiring keys in background when they are not",
	    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
	    "    default.",
	    "SLEEP <seconds>",
	    "    Stop the server for <seconds>. Decimals allowed.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

/* debugCommand's dispatch: a subcommand is known with one argument count. */
static void debug_cmd(struct cmd_req *r)
{
	static const struct {
		const char *name;
		int argc; /* exact; -N: at least N */
		void (*fn)(struct cmd_req *r);
	} subs[] = {
	    {"help", 2, debug_help},
	    {"aof-fsync", 2, debug_aof_fsync},
	    {"digest", 2, debug_digest},
	    {"digest-value", -2, debug_digest_value},
	    {"object", 3, debug_object},
	    {"protocol", 3, debug_protocol},
	    {"set-active-expire", 3, debug_set_active_expire},
	    {"sleep", 3, debug_sleep},
	};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		int a = subs[i].argc;

		if (cmd_arg_is(r, 1, subs[i].name) && (a > 0 ? r->argc == a : r->argc >= -a)) {
			subs[i].fn(r);
			return;
		}
	}
	reply_errorf(r->c,
		     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
		     "DEBUG HELP.",
		     (int)arg_cstr_len(r->argv[1], r->argl[1], 128), r->argv[1]);
}

const struct cmd_def cmd_debug_table[] = {
    {"debug", debug_cmd, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_PROTECTED, 0,
     0, 0, "admin slow dangerous", "server", "A container for debugging commands", "1.0.0",
     "Depends on subcommand.", NULL},
    {NULL},
};
