/*
 * cmd.h — the command table and dispatch.
 *
 * Every command is one row (struct cmd_def): name, handler, arity (Redis's
 * convention: N = exactly N arguments including the name, -N = at least N),
 * flags, key positions, and the documentation COMMAND INFO/DOCS print.
 * cmd_dispatch() is the function net/ calls for each parsed command: it finds
 * the row (case-insensitive), checks arity and authentication, runs the
 * handler with the current time, and counts statistics.
 *
 * Threads: handlers run on worker threads, many at once, each for its own
 * connection; they share only the db (lock-free) and atomics. A handler runs
 * inside the worker's storage section: entry pointers it gets are valid until
 * it returns; replies copy what they need.
 * Errors: handlers answer with Redis's exact error texts via reply_error().
 */
#ifndef KVSD_CMD_H
#define KVSD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct db;
struct db_view;
struct aof_prop;

struct cmd_req {
	struct conn *c;
	struct db *db; /* server-wide state (INFO, statistics); never for keys */
	/* What the command reads and writes keys through (storage/db.h): the
	 * plain keyspace, or the overlay of the transaction it runs in. Every
	 * db_lookup / db_put / db_size / db_flush takes it. */
	const struct db_view *view;
	int argc;
	const char **argv; /* argv[0] is the command name as sent */
	const size_t *argl;
	int64_t now_ms;
	/* the running thread's worker context (concurrency/wctx.h): its RNG and
	 * statistics slot */
	struct wctx *ctx;
	/* set by the handler through cmd_redact(): arguments MONITOR shows as
	 * "(redacted)" — bit i for argument i, redact_rest for all from 64 on */
	uint64_t redact;
	bool redact_rest;
	/* run by EXEC: the client waits for one reply per queued command, so the
	 * command may not turn the connection into something else (MONITOR) */
	bool in_exec;
	/* run by a script's redis.call (in_exec is set too): its replies are
	 * the script's, so a subscriber's own messages wait for the script's
	 * reply (pubsub_deliver_before) */
	bool in_script;
	/* what the command logs to the AOF (server/aof.h); NULL when nothing
	 * is logged (no AOF, or the start-up loader) */
	struct aof_prop *prop;
};

typedef void (*cmd_proc)(struct cmd_req *r);

/* cmd_def.flags — names as COMMAND INFO prints them */
#define CMD_WRITE	 0x0001
#define CMD_READONLY	 0x0002
#define CMD_DENYOOM	 0x0004
#define CMD_ADMIN	 0x0008
#define CMD_FAST	 0x0010
#define CMD_NOAUTH	 0x0020 /* allowed before AUTH (AUTH, HELLO, QUIT) */
#define CMD_LOADING	 0x0040
#define CMD_STALE	 0x0080
#define CMD_NOSCRIPT	 0x0100
#define CMD_RANDOM	 0x0200 /* output differs run to run (not a 7.0 flag; docs only) */
#define CMD_SKIP_MONITOR 0x0400
#define CMD_NO_MULTI	 0x0800
#define CMD_ALLOW_BUSY	 0x1000
/* refused unless enable-debug-command allows it (Redis's CMD_PROTECTED) */
#define CMD_PROTECTED 0x2000

struct cmd_def {
	const char *name; /* lower case */
	cmd_proc proc;
	int arity;
	unsigned flags;
	int first_key, last_key, key_step; /* 0,0,0 = no keys; last -1 = to the end */
	const char *acl;		   /* space-separated ACL categories without '@' */
	const char *group;		   /* "string", "generic", "connection", "server" */
	const char *summary;
	const char *since;
	const char *complexity;
	const struct cmd_def *subcmds; /* NULL-terminated (name == NULL) table, or NULL */
};

/* Handlers, grouped by file. Each file exports its table slice. */
extern const struct cmd_def cmd_string_table[]; /* cmd_string.c, terminated by name == NULL */
extern const struct cmd_def cmd_keys_table[];	/* cmd_keys.c */
extern const struct cmd_def cmd_conn_table[];	/* cmd_conn.c */
extern const struct cmd_def cmd_server_table[]; /* cmd_server.c */
extern const struct cmd_def cmd_bits_table[];	/* cmd_bits.c */
extern const struct cmd_def cmd_hll_table[];	/* cmd_hll.c */
extern const struct cmd_def cmd_obs_table[];	/* cmd_obs.c: LATENCY MEMORY WAIT ROLE LOLWUT */
/* cmd_obs.c: latency histograms, error statistics, MEMORY's start-up figure,
 * over the statistics index's names (cmd.c). */
void obs_setup(const char *const *names, size_t n);
void obs_teardown(void);
extern const struct cmd_def cmd_object_table[]; /* cmd_object.c */
extern const struct cmd_def cmd_debug_table[];	/* cmd_debug.c */
extern const struct cmd_def cmd_db_table[];	/* cmd_db.c */
extern const struct cmd_def
    cmd_zsetops_table[]; /* cmd_zsetops.c: ZUNION ZINTER ZDIFF Z*STORE ZINTERCARD */
extern const struct cmd_def cmd_sort_table[];	 /* cmd_sort.c: SORT SORT_RO */
extern const struct cmd_def cmd_zset_table[];	 /* cmd_zset.c */
extern const struct cmd_def cmd_set_table[];	 /* cmd_set.c */
extern const struct cmd_def cmd_hash_table[];	 /* cmd_hash.c */
extern const struct cmd_def cmd_list_table[];	 /* cmd_list.c */
extern const struct cmd_def cmd_dump_table[];	 /* cmd_dump.c: DUMP RESTORE */
extern const struct cmd_def cmd_persist_table[]; /* cmd_persist.c: SAVE BGSAVE LASTSAVE */
/* cmd_blocking.c: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP */
extern const struct cmd_def cmd_blocking_table[];

extern const struct cmd_def cmd_aof_table[]; /* cmd_aof.c: BGREWRITEAOF */
/* pubsub.c: (P|S)SUBSCRIBE (P|S)UNSUBSCRIBE PUBLISH SPUBLISH PUBSUB */
extern const struct cmd_def cmd_pubsub_table[];

/* Builds the lookup table. Call once at start-up. */
void cmd_setup(struct db *db);
void cmd_teardown(void);

/* The net/ dispatch entry point. */
void cmd_dispatch(struct conn *c, int argc, const char **argv, const size_t *argl);
/* net's resume hook for blocked connections (blk_resume), counting the
 * blocked command in commandstats once it is answered. */
bool cmd_resume(struct conn *c);

/* A handler's propagation override (Redis's alsoPropagate / rewriting of
 * its argv): the AOF logs this command, in the client's database, instead
 * of the command as received; may be called several times. Nothing when
 * no AOF is written. */
void cmd_propagate(struct cmd_req *r, int argc, const char *const *argv, const size_t *argl);

/* Looks up a command (case-insensitive) or NULL. */
const struct cmd_def *cmd_lookup(const char *name, size_t len);
/* Looks up the command argv names as dispatch does (a container's
 * subcommand from argv[1] when argc >= 2): the row and its commandstats
 * index (*idx), or NULL. For commands run by scripts. */
const struct cmd_def *cmd_lookup_argv(int argc, const char *const *argv, const size_t *argl,
				      size_t *idx);
/* Iterates every top-level command. */
void cmd_foreach(void (*fn)(const struct cmd_def *d, void *arg), void *arg);

/* Marks argument i as a secret MONITOR must not show (Redis's
 * redactClientCommandArgument: AUTH's password, HELLO AUTH's user and
 * password). */
void cmd_redact(struct cmd_req *r, int i);
/* Shows a command that ran to MONITOR clients as Redis's call() does: not at
 * all for admin and skip-monitor commands, and with redacted arguments
 * replaced by "(redacted)". Cheap when no client monitors. */
void cmd_feed_monitors(const struct cmd_req *r, const struct cmd_def *d);
/* The line cmd_feed_monitors would send, appended to *line, with who (if
 * not NULL) in place of the client's address: a script's commands ("lua"),
 * sent later with net_monitor_feed_lines (net/net.h). */
struct buf;
void cmd_monitor_format(struct buf *line, const struct cmd_req *r, const struct cmd_def *d,
			const char *who);
/* Whether the reply that starts `before` bytes after c's pending replies
 * is an error (commandstats' failed_calls). */
int cmd_reply_failed(struct conn *c, size_t before);

/* Shared replies with Redis's exact texts. */
void cmd_reply_syntax_error(struct cmd_req *r); /* ERR syntax error */
void cmd_reply_not_integer(struct cmd_req *r);	/* ERR value is not an integer or out of range */
void cmd_reply_arity(struct cmd_req *r);	/* ERR wrong number of arguments for '%s' command */
/* WRONGTYPE Operation against a key holding the wrong kind of value */
void cmd_reply_wrongtype(struct cmd_req *r);

/* Argument helpers: 1 on success; on failure they reply with the error. */
int cmd_arg_ll(struct cmd_req *r, int i, long long *out);
/* An integer in [min, max], as Redis's getRangeLongFromObjectOrReply: msg
 * (when set) is the error for both a non-integer and an out-of-range
 * value ("ERR " is prefixed), else Redis's two generic texts. */
int cmd_arg_range(struct cmd_req *r, int i, long long min, long long max, long long *out,
		  const char *msg);
/* Whether argument i is the option word lit (lower case): case-insensitive,
 * and, as Redis's strcasecmp on the NUL-terminated argument, the argument
 * ends at its first NUL byte (su_word_is). For every option and keyword. */
int cmd_arg_is(const struct cmd_req *r, int i, const char *lit);
/* SCAN's cursor rules (strtoul: cmd_keys.c), for ZSCAN/HSCAN/SSCAN. 1 on success. */
int cmd_parse_cursor(const char *s, size_t len, uint64_t *out);
/* HSCAN/SSCAN/ZSCAN's [MATCH pattern] [COUNT count] from argument `from`
 * on, as Redis's scanGenericCommand reads them: *pat NULL for none or "*",
 * *count 10 by default. 1 on success; 0 after replying the error. */
int cmd_scan_options(struct cmd_req *r, int from, const char **pat, size_t *plen, long long *count);
/* A container's HELP reply as Redis's addReplyHelp(): a header naming the
 * command as sent (upper-cased), the NULL-terminated lines, then the HELP
 * entry itself. */
void cmd_reply_help(struct cmd_req *r, const char *const *lines);

#endif
