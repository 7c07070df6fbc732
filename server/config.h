/*
 * config.h — kvsd's configuration: one table drives everything.
 *
 * Each parameter is one row of the table in config_table.c (name as in
 * redis.conf, type, default, bounds, flags, description, and the function
 * that applies a new value). That table is the single source for: the config
 * file (`kvsd [conf-file]`), `--name value` overrides on the command line,
 * CONFIG GET (glob patterns) / SET / RESETSTAT / REWRITE, `kvsd --help`, and
 * conf/kvsd.conf (a unit test checks that the file documents exactly the
 * table's keys with their defaults, bounds and mutability).
 *
 * Bounds come from the module that owns the limit (net/net.h, storage/db.h,
 * server/slowlog.h), so a value storage cannot hold is refused when it is set,
 * not found later by an assertion. Every row that CONFIG SET may change has
 * an apply function, run after the value is stored; one that fails (maxclients
 * beyond the descriptor limit, a port that cannot be bound) makes CONFIG SET
 * restore every value it changed, as Redis does. Rows without one are
 * immutable (or protected) at run time.
 *
 * Syntax follows redis.conf: one directive per line, `name arg...`, arguments
 * split with Redis's quoting rules ("..." with \n \xHH escapes, '...'),
 * '#' comments, memory units (1k = 1000, 1kb = 1024, m/mb, g/gb), bools
 * yes/no. A bad line is fatal at start-up: a message naming the file, the
 * line, the key and the reason, and exit status 1.
 *
 * Threads: cfg_load_* run on the main thread before any other starts. After
 * that, cfg_int() may be called from any thread (values are atomics, read
 * relaxed: a config change publishes nothing else and readers tolerate
 * seeing it a moment late). cfg_set*() are serialised with each other and
 * run the apply functions on the calling thread; string reads take a lock.
 * Ownership: strings returned by cfg_str_dup() belong to the caller (free()).
 * Errors: cfg_set() and the loaders fill an error buffer with Redis's text.
 */
#ifndef KVSD_CONFIG_H
#define KVSD_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

struct db;

enum cfg_id {
	CFG_BIND,
	CFG_PORT,
	CFG_UNIXSOCKET,
	CFG_UNIXSOCKETPERM,
	CFG_PROTECTED_MODE,
	CFG_TCP_BACKLOG,
	CFG_TCP_KEEPALIVE,
	CFG_TIMEOUT,
	CFG_THREADS,
	CFG_MAXCLIENTS,
	CFG_REQUIREPASS,
	CFG_LOGLEVEL,
	CFG_LOGFILE,
	CFG_PROTO_MAX_BULK_LEN,
	CFG_CLIENT_QUERY_BUFFER_LIMIT,
	CFG_HZ,
	CFG_DATABASES,
	CFG_MAP,
	CFG_DIR,
	CFG_DBFILENAME, /* server/persist_srv.h */
	CFG_RDBCOMPRESSION,
	CFG_RDBCHECKSUM,
	CFG_STOP_WRITES_ON_BGSAVE_ERROR,
	CFG_PIDFILE,
	CFG_SAVE,
	CFG_APPENDONLY,
	CFG_MAXMEMORY,
	CFG_MAXMEMORY_POLICY,
	CFG_MAXMEMORY_SAMPLES,
	CFG_MAXMEMORY_EVICTION_TENACITY,
	CFG_ACTIVE_EXPIRE_EFFORT,
	CFG_SLOWLOG_LOG_SLOWER_THAN,
	CFG_SLOWLOG_MAX_LEN,
	CFG_WORK_STEALING,
	CFG_IO_URING,
	CFG_WORKER_NAP_US,
	CFG_WORKER_PIPELINE_NAP_US,
	CFG_CONN_ASSIGN,
	CFG_RUN_BUDGET_COMMANDS,
	CFG_CLIENT_OUTPUT_BUFFER_LIMIT,
	CFG_CLIENT_OUTPUT_PAUSE_LIMIT,
	CFG_SHUTDOWN_TIMEOUT,
	CFG_HLL_SPARSE_MAX_BYTES,
	CFG_LATENCY_MONITOR_THRESHOLD, /* latency.h */
	CFG_LATENCY_TRACKING,
	CFG_LATENCY_TRACKING_INFO_PERCENTILES,
	CFG_ENABLE_DEBUG_COMMAND,
	CFG_HASH_MAX_LISTPACK_ENTRIES, /* storage/coll.h thresholds */
	CFG_HASH_MAX_LISTPACK_VALUE,
	CFG_SET_MAX_INTSET_ENTRIES,
	CFG_ZSET_MAX_LISTPACK_ENTRIES,
	CFG_ZSET_MAX_LISTPACK_VALUE,
	CFG_LIST_MAX_LISTPACK_SIZE, /* storage/tlist.h */
	CFG_LIST_COMPRESS_DEPTH,
	CFG_APPENDFILENAME, /* server/aof.h */
	CFG_APPENDDIRNAME,
	CFG_APPENDFSYNC,
	CFG_AOF_GROUP_WAIT_US,
	CFG_AOF_LOAD_TRUNCATED,
	CFG_AOF_USE_RDB_PREAMBLE,
	CFG_RDB_SAVE_INCREMENTAL_FSYNC,	   /* persist/autosync.h: BGSAVE, SAVE */
	CFG_AOF_REWRITE_INCREMENTAL_FSYNC, /* ... and the AOF rewrite's base file */
	CFG_BGSAVE_CPU_PERCENT,		   /* concurrency/lend.h: BGSAVE, AOF rewrite */
	CFG_BGSAVE_CPU_SLICE_US,	   /* concurrency/lend.h: a loan's length */
	CFG_AUTO_AOF_REWRITE_PERCENTAGE,
	CFG_AUTO_AOF_REWRITE_MIN_SIZE,
	CFG_KEY_LOAD_DELAY,	/* server/loading.h: the start-up load */
	CFG_RDB_KEY_SAVE_DELAY, /* persist/rdb_file.h: BGSAVE, SAVE, the AOF's RDB base */
	CFG_LOADING_PROCESS_EVENTS_INTERVAL_BYTES,
	CFG_LAZYFREE_LAZY_EVICTION, /* server/aof_drop.c: DEL or UNLINK in the AOF */
	CFG_LAZYFREE_LAZY_EXPIRE,
	CFG_LAZYFREE_LAZY_SERVER_DEL,
	CFG_LAZYFREE_LAZY_USER_DEL,
	CFG_LAZYFREE_LAZY_USER_FLUSH, /* server/cmd_keys.c: FLUSH* without an option */
	CFG_BUSY_REPLY_THRESHOLD,     /* server/script.h */
	CFG_NOTIFY_KEYSPACE_EVENTS,   /* server/notify.h */
	CFG_CLUSTER_ENABLED,	      /* server/cluster.h */
	CFG_CLUSTER_CONFIG_FILE,
	CFG_CLUSTER_ANNOUNCE_IP,
	CFG_CLUSTER_ANNOUNCE_PORT,
	CFG_TRACKING_TABLE_MAX_KEYS, /* server/tracking.h */
	CFG_COUNT_
};

enum cfg_type {
	CFG_T_BOOL,   /* yes|no, stored 0/1 */
	CFG_T_INT,    /* integer within [min,max] */
	CFG_T_MEMORY, /* integer with units, within [min,max] */
	CFG_T_STRING, /* text: checked by the row's parser, or CFG_FREE_TEXT */
	CFG_T_ENUM,   /* one of a fixed list, stored as its index */
};

/* cfg flags */
#define CFG_IMMUTABLE 0x1 /* CONFIG SET refuses it: "can't set immutable config" */
#define CFG_MULTIARG  0x2 /* several words (bind, client-output-buffer-limit) */
#define CFG_SENSITIVE 0x4 /* not printed in logs */
#define CFG_OCTAL     0x8 /* CFG_T_INT written and printed in octal (unixsocketperm) */
/* CONFIG SET refuses it with "can't set protected config", as Redis 7.0 does by
 * default (enable-protected-configs no) for dir. */
#define CFG_PROTECTED 0x10
/* CFG_T_STRING whose every value is valid (a password, a path): its bound. */
#define CFG_FREE_TEXT 0x20
/* CONFIG SET refuses it with -LOADING while the dataset loads (Redis's
 * DENY_LOADING_CONFIG: appendonly; dir is protected anyway). */
#define CFG_DENY_LOADING 0x40

/* Values of enable-debug-command (Redis's protected_action_enum). */
enum cfg_protected {
	CFG_PROTECTED_NO,
	CFG_PROTECTED_YES,
	CFG_PROTECTED_LOCAL,
};

/* Values of CFG_LOGLEVEL (cfg_int), in the table's order. */
enum cfg_loglevel {
	CFG_LOG_DEBUG,
	CFG_LOG_VERBOSE,
	CFG_LOG_NOTICE,
	CFG_LOG_WARNING,
};

/*
 * A string row's parser: checks the words of a value and returns the value to
 * store (malloc'd, NUL-terminated, length in *outlen), normalised as CONFIG
 * GET shows it; `cur` is the current value (NULL at initialisation) for rows
 * where a value changes only part of it (client-output-buffer-limit). NULL
 * with Redis's reason in why.
 */
typedef char *(*cfg_parse_fn)(char *const *argv, const size_t *lens, int argc, const char *cur,
			      size_t *outlen, char *why, size_t whylen);
/* A number row's extra rule, after the bounds: adjusts *v (hz is clamped, as
 * Redis does) or refuses it (-1 with why). 0 otherwise. */
typedef int (*cfg_check_fn)(long long *v, char *why, size_t whylen);
/*
 * Applies a row's current value to the module that owns it. Returns 0, or -1
 * with Redis's reason in why (CONFIG SET then restores the previous values
 * and applies them again). Runs on the thread that called cfg_set*, once per
 * CONFIG SET even when several changed rows share it (maxmemory and its
 * policy). CONFIG SETs are serialised, so apply functions never run
 * concurrently; they may read values (cfg_int, cfg_str_*) but not set any.
 */
typedef int (*cfg_apply_fn)(char *why, size_t whylen);

struct cfg_def {
	const char *name;
	enum cfg_type type;
	const char *def;	  /* default, as it would be written in the file */
	long long min, max;	  /* CFG_T_INT / CFG_T_MEMORY bounds, from the owning module */
	const char *const *enums; /* NULL-terminated, for CFG_T_ENUM */
	unsigned flags;
	const char *desc;
	cfg_parse_fn parse; /* CFG_T_STRING without CFG_FREE_TEXT */
	cfg_check_fn check; /* optional, numbers */
	cfg_apply_fn apply; /* NULL exactly when CFG_IMMUTABLE or CFG_PROTECTED */
	/* an older name for the same parameter (Redis's alias: the *-ziplist-*
	 * names), accepted wherever the name is, or NULL. CONFIG GET answers
	 * under the name asked, and a pattern matches aliases too, as Redis 7.0
	 * (CONFIG GET * lists both names). */
	const char *alias;
};

/* The table, CFG_COUNT_ rows, indexed by enum cfg_id. */
const struct cfg_def *cfg_table(void);
/* Row for a name (case-insensitive), or -1. */
int cfg_lookup(const char *name);

/* Sets every parameter to its default (THREADS 0 = online CPUs). Call first;
 * cfg_deinit() then cfg_init() resets everything (tests). */
void cfg_init(void);
/* Frees strings. */
void cfg_deinit(void);

/*
 * Parses argv as redis-server does: [conf-file] [--name value ...]. Loads the
 * file (if given) then applies overrides. --help and --version are handled
 * by the caller before this. Returns 0, or -1 with a message in err
 * ("kvsd: conf/kvsd.conf:12: 'port': argument couldn't be parsed into an
 * integer").
 */
int cfg_load_args(int argc, char **argv, char *err, size_t errlen);
/* Loads directives from text (used by the loader and the fuzz target).
 * `origin` names the source in messages. Returns 0 or -1 with err. */
int cfg_load_string(const char *text, size_t len, const char *origin, char *err, size_t errlen);
/* Path of the loaded config file, or NULL. */
const char *cfg_file(void);

/* The values behind cfg_int (config.c owns them; read only through it). */
extern _Atomic long long cfg_ival[CFG_COUNT_];
/* Online CPUs, as CFG_THREADS 0 resolves. */
long long cfg_ncpu(void);
/* Value of a bool / int / memory / enum parameter (enum: index into def->enums).
 * CFG_THREADS reports the resolved count (0 in the file means online CPUs).
 * Any thread; lock-free (relaxed load). */
static inline long long cfg_int(enum cfg_id id)
{
	/* relaxed: see the definition of cfg_ival (config.c) */
	long long v = atomic_load_explicit(&cfg_ival[id], memory_order_relaxed);

	if (id == CFG_THREADS && v == 0)
		return cfg_ncpu();
	return v;
}
/* Name of an enum parameter's current value (static storage), e.g. "notice";
 * NULL for other types. Any thread. */
const char *cfg_enum_name(enum cfg_id id);
/* Copy of a string parameter (for BIND, the space-separated list; for DIR, the
 * current working directory). Caller frees with free(). */
char *cfg_str_dup(enum cfg_id id);
/* Compares a string parameter with s[0..len) in constant time (requirepass). */
int cfg_str_equal(enum cfg_id id, const char *s, size_t len);
/* Text of a parameter's current value as CONFIG GET prints it: bools yes/no,
 * memory as plain bytes, enums by name, unixsocketperm in octal ("700"),
 * threads resolved, dir = getcwd(). Caller frees with free(). */
char *cfg_format(enum cfg_id id);

/*
 * CONFIG SET name value: 0, or -1 with Redis's error text in err, e.g.
 * "ERR CONFIG SET failed (possibly related to argument 'port') - can't set
 * immutable config" / "- argument couldn't be parsed into an integer".
 */
int cfg_set(const char *name, const char *value, size_t vlen, char *err, size_t errlen);

/*
 * CONFIG SET name value [name value ...] (Redis 7.0), all or nothing: argv
 * holds argc words (name, value, name, value...; lengths in lens; not
 * necessarily NUL-terminated), i.e. the command's argv + 2. Checks, as
 * Redis does and in its order: unknown names ("ERR Unknown option or number
 * of arguments for CONFIG SET - 'x'"), immutable / protected, duplicates
 * ("- duplicate parameter"), then parses every value; the first failure is
 * reported and nothing is changed. Otherwise all values are stored and the
 * apply function of each changed row runs (once per function); if one fails,
 * every value is restored, applied again, and its reason reported
 * ("- The operating system is not able to handle the specified number of
 * clients, try with 216"). A multi-word value (bind, client-output-buffer-limit)
 * is split at each space, as Redis does. argc odd or 0:
 * "ERR syntax error" (the command table rejects argc < 4 with the usual arity
 * error before this). Errors carry the "ERR " prefix and never contain CR/LF.
 * Other threads may observe the new values of a multi-set one by one.
 */
int cfg_set_many(const char *const *argv, const size_t *lens, int argc, char *err, size_t errlen);

/*
 * From now on CONFIG SET runs the rows' apply functions. Called once at
 * start-up, after storage and before net_setup(): applies every mutable row
 * once, so start-up values reach the modules the way CONFIG SET's do; `db`
 * is the key space maxmemory applies to. 0, or -1 with a message in err.
 */
int cfg_apply_start(struct db *db, char *err, size_t errlen);

/* Unit tests: replaces the rows' apply functions (and enables applying) with
 * fn, called with the first changed row of each distinct apply function; NULL
 * restores them. */
typedef int (*cfg_apply_hook_fn)(enum cfg_id id, char *why, size_t whylen);
void cfg_set_apply_hook(cfg_apply_hook_fn fn);

/* Calls fn(id) for each parameter whose name matches the glob pattern
 * (Redis's stringmatch rules, case-insensitive), in table order. */
void cfg_match(const char *pattern, size_t plen, void (*fn)(enum cfg_id id, void *arg), void *arg);

/* CONFIG REWRITE: rewrites the loaded file in place, keeping comments and
 * unknown lines, updating changed directives and appending new ones.
 * 0, or -1 with err ("ERR The server is running without a config file"). */
int cfg_rewrite(char *err, size_t errlen);

/* Writes `kvsd --help`'s list of parameters (name, default, description). */
void cfg_print_help(FILE *out);

#endif
