/*
 * cmd.c — the command table, dispatch, and the COMMAND command.
 *
 * cmd_setup() gathers the per-file tables into one array sorted by name;
 * lookup is a binary search on a lower-cased copy of the name (commands are
 * case-insensitive). Dispatch follows Redis's processCommand() order:
 * existence, arity, then authentication — so error texts come out the same.
 * COMMAND INFO and COMMAND DOCS re-emit, field for field and type for type,
 * what Redis 7.0 sends, from the rows tools/gen_cmd_docs.py generated into
 * cmd_docs.c; a command without a row falls back to its cmd_def fields.
 *
 * Around each handler, dispatch keeps Redis's per-command statistics
 * (cmdstat.h: calls, usec, failed and rejected calls), feeds the slow log,
 * and applies maxmemory: evict first, then refuse CMD_DENYOOM commands with
 * -OOM if memory is still over the limit. The added hot-path cost is one
 * clock read after the handler and a few stores to this thread's own
 * counters; the limit check is one relaxed load when maxmemory is 0.
 * A call failed when its reply starts with an error ('-'); commands are
 * indexed (top-level in name order, then each container's subcommands) so
 * the counters are arrays.
 *
 * MONITOR sees what Redis's call() feeds it: a command after it ran (never
 * one refused by the checks above, nor one queued by MULTI: EXEC shows those
 * when they run, then itself), not admin or skip-monitor ones, with the
 * arguments its handler redacted replaced by "(redacted)".
 */
#include "server/cmd.h"
#include "server/aof.h"
#include "server/persist_srv.h"
#include "server/blocking.h"
#include "server/pubsub.h"
#include "server/tracking.h"
#include "server/notify.h"
#include "server/bitpool.h"
#include "concurrency/clock.h"
#include "concurrency/wctx.h"
#include "server/cmd_docs.h"
#include "server/loading.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "net/conn.h"
#include "net/monitor.h"
#include "net/net.h"
#include "net/reply.h"
#include "server/cmd_debug.h"
#include "server/cluster.h"
#include "server/cmdstat.h"
#include "server/multi.h"
#include "server/script.h"
#include "server/session.h"
#include "server/config.h"
#include "server/keyspec.h"
#include "server/latency.h"
#include "server/slowlog.h"
#include "server/strutil.h"
#include "storage/db.h"

#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CMDS 256

static const struct cmd_def *cmds[MAX_CMDS];
static size_t ncmds;
/* find_in's index over cmds' names (name_index_build) */
#define NAME_SLOTS 1024		    /* a power of two, > 3 * MAX_CMDS */
static short name_slot[NAME_SLOTS]; /* index + 1 in cmds; 0: empty */
static unsigned char name_len[MAX_CMDS];
static void name_index_build(void);
/* cmd_setup's count: names cached by find_cached belong to that setup */
static unsigned cmd_gen;
/* statistics index of cmds[i] is i; of cmds[i]->subcmds[j], sub_base[i] + j */
static size_t sub_base[MAX_CMDS];
static const char **stat_names;
/* per statistics index: whether the command runs while the dataset loads
 * (Redis's `loading` flag, from its cmd_docs.c row when it has one) */
static bool *runs_loading;
extern const struct cmd_def cmd_command_def;
static struct db *cmd_db;

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct cmd_def *const *)a)->name,
		      (*(const struct cmd_def *const *)b)->name);
}

/* Whether d carries Redis's `loading` flag: its docs row's flags (what
 * COMMAND INFO shows), or CMD_LOADING for a command Redis lacks. */
static bool loading_flag(const struct cmd_def *d)
{
	const struct cmd_doc *doc = cmd_docs_find(d->name);
	const char *f;

	if (doc == NULL || doc->flags == NULL)
		return (d->flags & CMD_LOADING) != 0;
	for (f = doc->flags; (f = strstr(f, "loading")) != NULL; f += 7)
		if ((f == doc->flags || f[-1] == ' ') && (f[7] == ' ' || f[7] == '\0'))
			return true;
	return false;
}

void cmd_setup(struct db *db)
{
	const struct cmd_def *tables[] = {
	    cmd_string_table, cmd_keys_table,	  cmd_conn_table,   cmd_server_table,
	    cmd_multi_table,  cmd_bits_table,	  cmd_hll_table,    cmd_obs_table,
	    cmd_object_table, cmd_debug_table,	  cmd_db_table,	    cmd_zsetops_table,
	    cmd_zset_table,   cmd_sort_table,	  cmd_set_table,    cmd_hash_table,
	    cmd_list_table,   cmd_blocking_table, cmd_dump_table,   cmd_persist_table,
	    cmd_aof_table,    cmd_pubsub_table,	  cmd_script_table, cmd_function_table,
	    cmd_cluster_table};

	cmd_db = db;
	bitpool_setup();
	ncmds = 0;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct cmd_def *d = tables[t]; d->name; d++)
			if (ncmds < MAX_CMDS)
				cmds[ncmds++] = d;
	cmds[ncmds++] = &cmd_command_def;
	qsort(cmds, ncmds, sizeof(cmds[0]), by_name);
	name_index_build();
	cmd_gen++; /* before the workers start: they read it plainly */
	{
		size_t n = ncmds;

		for (size_t i = 0; i < ncmds; i++) {
			sub_base[i] = n;
			for (const struct cmd_def *s = cmds[i]->subcmds; s && s->name; s++)
				n++;
		}
		stat_names = mem_calloc(n, sizeof(*stat_names));
		for (size_t i = 0; i < ncmds; i++) {
			size_t j = 0;

			stat_names[i] = cmds[i]->name;
			for (const struct cmd_def *s = cmds[i]->subcmds; s && s->name; s++)
				stat_names[sub_base[i] + j++] = s->name;
		}
		cmdstat_setup(stat_names, n);
		obs_setup(stat_names, n);
		runs_loading = mem_calloc(n, sizeof(*runs_loading));
		for (size_t i = 0; i < ncmds; i++) {
			size_t j = 0;

			runs_loading[i] = loading_flag(cmds[i]);
			for (const struct cmd_def *s = cmds[i]->subcmds; s && s->name; s++)
				runs_loading[sub_base[i] + j++] = loading_flag(s);
		}
	}
}

void cmd_teardown(void)
{
	obs_teardown();
	cmdstat_teardown();
	slowlog_teardown();
	mem_free(stat_names);
	stat_names = NULL;
	mem_free(runs_loading);
	runs_loading = NULL;
	ncmds = 0;
	memset(name_slot, 0, sizeof(name_slot));
	cmd_db = NULL;
}

/* Index of the command named name[0..len) (any case) in cmds, or -1. A name
 * is compared whole, as Redis's command dict hashes all of it: "get\0x" is
 * no command (Redis finds GET only when its seeded hash happens to put the
 * longer name in GET's bucket, about once in 256 starts). An open-addressing
 * table over the lower-case names (built by cmd_setup) finds it with one
 * hash and usually one compare: the binary search's eight strcmp calls were
 * ~370 instructions per command. */

static inline unsigned char lower_ascii(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + 32) : ch;
}

static unsigned name_hash(const char *name, size_t len)
{
	unsigned h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ lower_ascii((unsigned char)name[i])) * 16777619u;
	return h;
}

static void name_index_build(void)
{
	memset(name_slot, 0, sizeof(name_slot));
	for (size_t i = 0; i < ncmds; i++) {
		size_t len = strlen(cmds[i]->name);
		unsigned h = name_hash(cmds[i]->name, len) & (NAME_SLOTS - 1);

		name_len[i] = (unsigned char)len;
		while (name_slot[h])
			h = (h + 1) & (NAME_SLOTS - 1);
		name_slot[h] = (short)(i + 1);
	}
}

static long find_in(const char *name, size_t len)
{
	char low[256];
	unsigned h = 2166136261u;

	if (len == 0 || len > 255)
		return -1;
	for (size_t i = 0; i < len; i++) { /* name_hash, keeping the lower case */
		low[i] = (char)lower_ascii((unsigned char)name[i]);
		h = (h ^ (unsigned char)low[i]) * 16777619u;
	}
	for (h &= NAME_SLOTS - 1;; h = (h + 1) & (NAME_SLOTS - 1)) {
		int i = name_slot[h] - 1;

		if (i < 0)
			return -1;
		/* lower case; a NUL in name never matches */
		if (name_len[i] == len && memcmp(low, cmds[i]->name, len) == 0)
			return i;
	}
}

/* find_in with the last name this thread dispatched remembered (its exact
 * bytes): a pipeline of one command looks its name up once. */
static _Thread_local struct {
	unsigned gen; /* cmd_gen when cached; 0: empty */
	unsigned len;
	long idx;
	char name[24];
} last_cmd;

static inline long find_cached(const char *name, size_t len)
{
	long i;

	if (len == last_cmd.len && last_cmd.gen == cmd_gen && kv_bytes_eq(name, last_cmd.name, len))
		return last_cmd.idx;
	i = find_in(name, len);
	if (i >= 0 && len <= sizeof(last_cmd.name)) {
		memcpy(last_cmd.name, name, len);
		last_cmd.len = (unsigned)len;
		last_cmd.idx = i;
		last_cmd.gen = cmd_gen;
	}
	return i;
}

const struct cmd_def *cmd_lookup(const char *name, size_t len)
{
	long i = find_in(name, len);

	return i < 0 ? NULL : cmds[i];
}

static const struct cmd_def *sub_lookup(const struct cmd_def *parent, const char *name, size_t len)
{
	for (const struct cmd_def *s = parent->subcmds; s && s->name; s++) {
		const char *bar = strchr(s->name, '|');
		const char *sn = bar ? bar + 1 : s->name;

		if (su_eqi(name, len, sn))
			return s;
	}
	return NULL;
}

const struct cmd_def *cmd_lookup_argv(int argc, const char *const *argv, const size_t *argl,
				      size_t *idx)
{
	long top = find_in(argv[0], argl[0]);
	const struct cmd_def *d, *s;

	if (top < 0)
		return NULL;
	d = cmds[top];
	*idx = (size_t)top;
	if (!d->subcmds || argc < 2)
		return d;
	s = sub_lookup(d, argv[1], argl[1]);
	if (s)
		*idx = sub_base[top] + (size_t)(s - d->subcmds);
	return s;
}

void cmd_foreach(void (*fn)(const struct cmd_def *d, void *arg), void *arg)
{
	for (size_t i = 0; i < ncmds; i++)
		fn(cmds[i], arg);
}

/* Appends printf("%.*s") of a possibly NUL-containing argument: stops at NUL as C does. */
static size_t cstr_len(const char *p, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && n < max && p[n] != '\0')
		n++;
	return n;
}

static void reply_unknown_command(struct conn *c, int argc, const char **argv, const size_t *argl)
{
	char msg[512];
	size_t n;

	n = (size_t)snprintf(msg, sizeof(msg),
			     "ERR unknown command '%.*s', with args beginning with: ",
			     (int)cstr_len(argv[0], argl[0], 128), argv[0]);
	{
		size_t args = 0;

		for (int i = 1; i < argc && args < 128; i++) {
			int k = snprintf(msg + n, sizeof(msg) - n, "'%.*s' ",
					 (int)cstr_len(argv[i], argl[i], 128 - args), argv[i]);
			if (k < 0 || (size_t)k >= sizeof(msg) - n)
				break;
			n += (size_t)k;
			args += (size_t)k;
		}
	}
	reply_error(c, msg);
}

static void reply_wrong_arity(struct conn *c, const char *fullname)
{
	reply_errorf(c, "ERR wrong number of arguments for '%s' command", fullname);
}

static int arity_ok(const struct cmd_def *d, int argc)
{
	return d->arity > 0 ? argc == d->arity : argc >= -d->arity;
}

/* Whether a key argument is longer than storage holds (KV_KEY_MAX: the key
 * length shares its header word with the key space, storage/kvmap.h). */
_Static_assert(KV_KEY_MAX == 2097151, "the key-too-long error text names KV_KEY_MAX");
static int key_too_long(const struct cmd_def *d, int argc, const size_t *argl)
{
	int last, step = d->key_step > 0 ? d->key_step : 1;

	if (d->first_key <= 0)
		return 0;
	if (d->last_key == d->first_key) /* one key (arity checked: present) */
		return argl[d->first_key] > KV_KEY_MAX;
	last = d->last_key < 0 ? argc + d->last_key : d->last_key;
	for (int i = d->first_key; i <= last && i < argc; i += step)
		if (argl[i] > KV_KEY_MAX)
			return 1;
	return 0;
}

/*
 * The arguments of a command as MONITOR and the slow log show them, Redis's
 * original_argv after redactClientCommandArgument(): an argument its handler
 * redacted (cmd_redact) reads "(redacted)". Up to 16 arguments live in the
 * struct itself.
 */
struct shown_args {
	const char **argv;
	const size_t *argl;
	const char *sv[16];
	size_t sl[16];
	const char **hv; /* heap copies for more arguments, else NULL */
	size_t *hl;
};

static void shown_args_init(struct shown_args *v, const struct cmd_req *r)
{
	static const char redacted[] = "(redacted)";
	const char **av = v->sv;
	size_t *al = v->sl;

	v->argv = r->argv;
	v->argl = r->argl;
	v->hv = NULL;
	v->hl = NULL;
	if (!r->redact && !r->redact_rest)
		return;
	if (r->argc > 16) {
		av = v->hv = mem_alloc(sizeof(*av) * (size_t)r->argc);
		al = v->hl = mem_alloc(sizeof(*al) * (size_t)r->argc);
	}
	for (int i = 0; i < r->argc; i++) {
		int hide = i < 64 ? (r->redact >> i) & 1 : r->redact_rest;

		av[i] = hide ? redacted : r->argv[i];
		al[i] = hide ? sizeof(redacted) - 1 : r->argl[i];
	}
	v->argv = av;
	v->argl = al;
}

static void shown_args_deinit(struct shown_args *v)
{
	mem_free(v->hv);
	mem_free(v->hl);
}

/* After the handler: statistics and the slow log. `before` is the reply
 * mark taken before it ran, where its reply starts. */
static void account(struct cmd_req *r, const struct cmd_def *d, size_t idx, int64_t start_us,
		    size_t before)
{
	struct conn *c = r->c;
	int64_t end_us = clock_mono_us();
	uint64_t us = end_us > start_us ? (uint64_t)(end_us - start_us) : 0;
	int failed = cmd_reply_failed(c, before);
	long long slower = cfg_int(CFG_SLOWLOG_LOG_SLOWER_THAN);

	cmdstat_call(r->ctx, idx, us, failed);
	if ((d->flags & CMD_WRITE) && !failed)
		psrv_dirty(r->ctx); /* rdb_changes_since_last_save, the save rules */
	/* the latency monitor's command events, as Redis's call() */
	latency_sample_if_needed(d->flags & CMD_FAST ? "fast-command" : "command", us / 1000);
	if (kv_unlikely(slower >= 0 && us >= (uint64_t)slower)) {
		struct shown_args v;

		shown_args_init(&v, r);
		slowlog_push(r->argc, v.argv, v.argl, r->now_ms, us, conn_addr(c), conn_name(c),
			     cfg_int(CFG_SLOWLOG_MAX_LEN));
		shown_args_deinit(&v);
	}
}

void cmd_redact(struct cmd_req *r, int i)
{
	if (i < 64)
		r->redact |= (uint64_t)1 << i;
	else
		r->redact_rest = true;
}

void cmd_monitor_format(struct buf *line, const struct cmd_req *r, const struct cmd_def *d,
			const char *who)
{
	struct shown_args v;

	if (d->flags & (CMD_ADMIN | CMD_SKIP_MONITOR))
		return;
	shown_args_init(&v, r);
	net_monitor_format(line, r->c, who, r->argc, v.argv, v.argl);
	shown_args_deinit(&v);
}

void cmd_feed_monitors(const struct cmd_req *r, const struct cmd_def *d)
{
	struct shown_args v;

	/* one relaxed load when nobody monitors (the common case) */
	if (!monitor_any() || (d->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)))
		return;
	shown_args_init(&v, r);
	net_monitor_feed(r->c, r->argc, v.argv, v.argl);
	shown_args_deinit(&v);
}

/*
 * A command refused before it ran (Redis's rejectCommand): counted as
 * rejected, and a transaction being queued fails at EXEC. EXEC itself answers
 * -EXECABORT naming the reason (why: the error text without "ERR "; err: the
 * reply other commands get), drops the transaction, and is shown to MONITOR
 * (execCommandAbort).
 */
static void reject(struct cmd_req *r, const struct cmd_def *d, size_t idx, const char *why,
		   const char *err)
{
	cmdstat_reject(r->ctx, idx);
	multi_flag_error(r->c);
	if (multi_is_exec(d)) {
		multi_exec_abort(r->c, why);
		cmd_feed_monitors(r, d);
		return;
	}
	reply_error(r->c, err);
}

/*
 * The wall clock in ms at monotonic time mono_us: the monotonic reading plus
 * the wall-minus-monotonic offset, read again once a millisecond has passed
 * since this thread last read it. A command thus reads one clock, not two;
 * the answer is the wall clock's to within the microsecond the offset's two
 * reads take (or a step of the wall clock, for at most a millisecond).
 */
static _Thread_local struct {
	int64_t at_us;	/* monotonic time of the last offset read; 0: none */
	int64_t off_us; /* wall - monotonic then */
} wall_off;

static inline int64_t wall_ms_at(int64_t mono_us)
{
	if (kv_unlikely(wall_off.at_us == 0 || mono_us - wall_off.at_us >= 1000 ||
			mono_us < wall_off.at_us)) {
		wall_off.off_us = clock_wall_us() - clock_mono_us();
		wall_off.at_us = mono_us;
	}
	return (mono_us + wall_off.off_us) / 1000;
}

static KV_HOT void dispatch(struct conn *c, int argc, const char **argv, const size_t *argl)
{
	long top = find_cached(argv[0], argl[0]);
	const struct cmd_def *d;
	struct cmd_req r = {.c = c,
			    .db = cmd_db,
			    .view = db_plain(cmd_db),
			    .argc = argc,
			    .argv = argv,
			    .argl = argl,
			    .ctx = wctx_self()};
	size_t idx, before;
	int64_t start_us;
	struct db_view view;
	struct aof_prop prop = {0};
	struct aof_locks locks;
	struct blk_guard guard = {0};
	struct ntf_buf events = {0};
	uint64_t writes0;
	bool loading;

	if (top < 0) {
		conn_set_last_cmd(c, NULL);
		multi_flag_error(c); /* queue-time errors abort EXEC */
		reply_unknown_command(c, argc, argv, argl);
		return;
	}
	d = cmds[top];
	idx = (size_t)top;
	if (d->subcmds && argc >= 2) {
		const struct cmd_def *s = sub_lookup(d, argv[1], argl[1]);

		if (s == NULL) {
			char up[32];
			size_t i;

			for (i = 0; d->name[i] && i < sizeof(up) - 1; i++)
				up[i] = (char)toupper((unsigned char)d->name[i]);
			up[i] = '\0';
			conn_set_last_cmd(c, d->name);
			multi_flag_error(c);
			reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
				     (int)cstr_len(argv[1], argl[1], 128), argv[1], up);
			return;
		}
		idx = sub_base[top] + (size_t)(s - d->subcmds);
		d = s;
	}
	conn_set_last_cmd(c, d->name);
	if (!arity_ok(d, argc)) {
		char why[128], err[136];

		snprintf(why, sizeof(why), "wrong number of arguments for '%s' command", d->name);
		snprintf(err, sizeof(err), "ERR %s", why);
		reject(&r, d, idx, why, err);
		return;
	}
	if (kv_unlikely(d->flags & CMD_PROTECTED) && !debug_allowed(c)) {
		static const char why[] =
		    "DEBUG command not allowed. If the enable-debug-command option is set to "
		    "\"local\", you can run it from a local connection, otherwise you need to set "
		    "this option in the configuration file, and then restart the server.";

		reject(&r, d, idx, why,
		       "ERR DEBUG command not allowed. If the enable-debug-command "
		       "option is set to \"local\", you can run it from a local "
		       "connection, otherwise you need to set this option in the "
		       "configuration file, and then restart the server.");
		return;
	}
	if (kv_unlikely(key_too_long(d, argc, argl))) {
		reject(&r, d, idx, "key is too long (at most 2097151 bytes)",
		       "ERR key is too long (at most 2097151 bytes)");
		return;
	}
	if (!conn_authenticated(c) && !(d->flags & CMD_NOAUTH)) {
		if (cfg_str_equal(CFG_REQUIREPASS, "", 0)) {
			/* the password was removed by CONFIG SET */
			conn_set_authenticated(c, true);
		} else {
			reject(&r, d, idx, "NOAUTH Authentication required.",
			       "NOAUTH Authentication required.");
			return;
		}
	}
	/* cluster mode (server/cluster.h): Redis's processCommand redirects
	 * after authentication, before anything else; EXEC checks the keys of
	 * every queued command and drops the transaction when they span slots
	 * or live elsewhere */
	if (kv_unlikely(cluster_on) && !aof_is_loader(c)) { /* the AOF replays everything */
		char err[128];

		if (cluster_refuse(c, d, argc, argv, argl, err, sizeof(err))) {
			cmdstat_reject(r.ctx, idx);
			if (multi_is_exec(d))
				multi_discard(c);
			else
				multi_flag_error(c);
			reply_error(c, err);
			return;
		}
	}
	/* the dataset is loading (server/loading.h): as Redis's processCommand,
	 * after authentication, before maxmemory (nothing is evicted while
	 * loading); the AOF's own replay connection runs everything */
	loading = kv_unlikely(loading_active());
	if (loading && !runs_loading[idx] && !aof_is_loader(c)) {
		reject(&r, d, idx, "LOADING Redis is loading the dataset in memory",
		       "LOADING Redis is loading the dataset in memory");
		return;
	}
	start_us = clock_mono_us();	 /* the duration: commandstats, SLOWLOG */
	r.now_ms = wall_ms_at(start_us); /* expiry times and SLOWLOG's timestamp */
	/* maxmemory: evict, then refuse what may grow memory (Redis's processCommand) */
	if (!loading && db_check_memory(cmd_db, r.now_ms) == -ENOMEM && (d->flags & CMD_DENYOOM)) {
		reject(&r, d, idx, "OOM command not allowed when used memory > 'maxmemory'.",
		       "OOM command not allowed when used memory > 'maxmemory'.");
		return;
	}
	/* stop-writes-on-bgsave-error (Redis's writeCommandsDeniedByDiskError) */
	if (kv_unlikely(psrv_write_denied()) &&
	    ((d->flags & CMD_WRITE) || strcmp(d->name, "ping") == 0)) {
		static const char misconf[] =
		    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
		    "to persist to disk. Commands that may modify the data set are disabled, "
		    "because this instance is configured to report errors during writes if RDB "
		    "snapshotting fails (stop-writes-on-bgsave-error option). Please check the "
		    "Redis logs for details about the RDB error.";

		reject(&r, d, idx, misconf, misconf);
		return;
	}
	/* RESP2 subscribed mode (Redis's processCommand, after the MISCONF check):
	 * only the (un)subscribe commands, PING, QUIT and RESET */
	if (kv_unlikely(session_of(c)->ps != NULL) && conn_resp(c) == 2 && pubsub_active(c) &&
	    !pubsub_cmd_allowed(d)) {
		char why[224], err[232];

		snprintf(why, sizeof(why),
			 "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
			 "/ RESET are allowed in this context",
			 d->name);
		snprintf(err, sizeof(err), "ERR %s", why);
		reject(&r, d, idx, why, err);
		return;
	}
	/* a script past busy-reply-threshold (script.h): Redis's processCommand */
	if (kv_unlikely(script_busy_reject(d, cmd_db, conn_db(c), argc, argv, argl))) {
		const char *busy = script_busy_is_function()
				       ? "BUSY Redis is busy running a script. You can only call "
					 "FUNCTION KILL or SHUTDOWN NOSAVE."
				       : "BUSY Redis is busy running a script. You can only call "
					 "SCRIPT KILL or SHUTDOWN NOSAVE.";

		reject(&r, d, idx, busy, busy);
		return;
	}
	/* MULTI: queue (+QUEUED) instead of running, except the control commands */
	if (session_of(c)->multi && multi_intercept(c, d, idx, argc, argv, argl))
		return;
	before = conn_reply_mark(c);
	db_view_init(cmd_db, conn_db(c), &view); /* the selected database */
	r.view = &view;
	/* the AOF: the keys' stripes, then what the command logs (aof.h) */
	aof_before_cmd(&r, d, &prop, &locks);
	/* Redis's order for keys with blocked clients (server/blocking.h, the
	 * guard): one relaxed load when nobody is blocked */
	if (kv_unlikely(blk_guard_armed()))
		blk_guard_enter(&guard, c, d, argc, argv, argl, locks.n || locks.all);
	writes0 = r.ctx->db_writes;
	events.writer = conn_id(c);
	ntf_begin(r.ctx, &events);
	ntf_call(&r, d);
	db_coll_end(); /* an edit the handler did not put is dropped */
	if (r.prop) {
		aof_after_cmd(&r, d, before, writes0);
		aof_finish_cmd(&r, &prop, &locks);
		aof_prop_free(&prop);
	}
	/* keyspace events: after the command (and its AOF record) completed */
	ntf_end(r.ctx, &events);
	if (kv_unlikely(guard.mask != 0))
		blk_guard_exit(&guard);
	account(&r, d, idx, start_us, before);
	if (kv_unlikely(conn_blocked(c))) {
		/* as Redis 7.0, counted now (a call) and when answered (cmd_resume:
		 * its time, and a failure if the answer is an error) */
		session_of(c)->blk_stat = true;
		session_of(c)->blk_stat_idx = idx;
	}
	cmd_feed_monitors(&r, d);
}

/* Runs one command; then applies CLIENT REPLY as Redis does (replies are
 * not written while off or skip is set, and resetClient() turns skip_next
 * into skip after each command, refused ones included). */
KV_HOT void cmd_dispatch(struct conn *c, int argc, const char **argv, const size_t *argl)
{
	struct session *s = session_of(c);
	size_t mark;

	/* a subscriber's messages queued so far precede this command's reply
	 * (and CLIENT REPLY OFF does not swallow them) */
	if (kv_unlikely(s->ps != NULL))
		pubsub_deliver(c, SIZE_MAX);
	/* so are invalidations (Redis writes them at once) */
	if (kv_unlikely(trk_active()))
		trk_deliver(c, SIZE_MAX);
	mark = conn_reply_mark(c);
	s->ps_keep = 0;
	dispatch(c, argc, argv, argl);
	if (kv_unlikely(s->reply_off || s->reply_skip) && !s->ps_pushed)
		conn_reply_truncate(c, s->ps_keep > mark ? s->ps_keep : mark);
	s->ps_pushed = false;
	if (kv_unlikely(conn_blocked(c)))
		s->blk_quiet = s->reply_off || s->reply_skip;
	s->reply_skip = s->reply_skip_next;
	s->reply_skip_next = false;
	conn_set_described(c, s->multi ? multi_queued(c) : -1,
			   s->no_evict ? CONN_DESC_NO_EVICT : 0);
	/* CLIENT CACHING lasts one command (or transaction); the client's own
	 * invalidations follow this reply (Redis's tracking_pending_keys) */
	if (kv_unlikely(trk_active()))
		trk_after_command(c, argl[0] == 6 && strncasecmp(argv[0], "client", 6) == 0,
				  s->multi && multi_queued(c) >= 0);
	/* keys this command created for blocked clients: served now that the
	 * command (a whole EXEC, a multi-element push) is complete */
	if (kv_unlikely(blk_have_ready()))
		blk_serve_ready();
}

bool cmd_resume(struct conn *c)
{
	struct session *s = session_of(c);
	size_t mark = conn_reply_mark(c);
	int64_t t0 = clock_mono_us(), t1;

	if (!blk_resume(c))
		return false;
	if (s->blk_stat) {
		t1 = clock_mono_us();
		cmdstat_unblocked(wctx_self(), s->blk_stat_idx, (uint64_t)(t1 > t0 ? t1 - t0 : 0),
				  cmd_reply_failed(c, mark));
		s->blk_stat = false;
	}
	if (kv_unlikely(s->blk_quiet)) {
		conn_reply_truncate(c, mark);
		s->blk_quiet = false;
	}
	return true;
}

int cmd_reply_failed(struct conn *c, size_t before)
{
	return conn_reply_first_byte(c, before) == '-';
}

void cmd_reply_syntax_error(struct cmd_req *r)
{
	reply_error(r->c, "ERR syntax error");
}

void cmd_reply_not_integer(struct cmd_req *r)
{
	reply_error(r->c, "ERR value is not an integer or out of range");
}

void cmd_reply_wrongtype(struct cmd_req *r)
{
	reply_error(r->c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void cmd_reply_arity(struct cmd_req *r)
{
	reply_wrong_arity(r->c, conn_last_cmd(r->c) ? conn_last_cmd(r->c) : "");
}

int cmd_arg_ll(struct cmd_req *r, int i, long long *out)
{
	if (!resp_str2ll(r->argv[i], r->argl[i], out)) {
		cmd_reply_not_integer(r);
		return 0;
	}
	return 1;
}

int cmd_arg_range(struct cmd_req *r, int i, long long min, long long max, long long *out,
		  const char *msg)
{
	if (!resp_str2ll(r->argv[i], r->argl[i], out)) {
		if (msg)
			reply_errorf(r->c, "ERR %s", msg);
		else
			cmd_reply_not_integer(r);
		return 0;
	}
	if (*out < min || *out > max) {
		if (msg)
			reply_errorf(r->c, "ERR %s", msg);
		else
			reply_errorf(r->c,
				     "ERR value is out of range, value must between %lld and %lld",
				     min, max);
		return 0;
	}
	return 1;
}

int cmd_arg_is(const struct cmd_req *r, int i, const char *lit)
{
	return su_word_is(r->argv[i], r->argl[i], lit);
}

void cmd_reply_help(struct cmd_req *r, const char *const *lines)
{
	char head[128];
	size_t n = 0, len = r->argl[0] < 64 ? r->argl[0] : 64;

	while (lines[n])
		n++;
	snprintf(head, sizeof(head),
		 "%.*s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", (int)len,
		 r->argv[0]);
	for (size_t i = 0; i < len; i++)
		head[i] = (char)toupper((unsigned char)head[i]);
	reply_array(r->c, (long long)n + 3);
	reply_simple(r->c, head);
	for (size_t i = 0; i < n; i++)
		reply_simple(r->c, lines[i]);
	reply_simple(r->c, "HELP");
	reply_simple(r->c, "    Prints this help.");
}

/* ---- COMMAND ------------------------------------------------------------ */

/* cmd_def.flags bit i is printed as flag_names[i]; used only for commands with no cmd_docs.c row.
 */
static const char *const flag_names[] = {
    [0] = "write",    [1] = "readonly",	     [2] = "denyoom",	[3] = "admin",
    [4] = "fast",     [5] = "no_auth",	     [6] = "loading",	[7] = "stale",
    [8] = "noscript", [10] = "skip_monitor", [11] = "no_multi", [12] = "allow_busy",
};

static int count_words(const char *s)
{
	int n = 0;

	while (s && *s) {
		while (*s == ' ')
			s++;
		if (*s)
			n++;
		while (*s && *s != ' ')
			s++;
	}
	return n;
}

/* A set of the space-separated words in s, each as a simple string with
 * prefix before it, or as a bulk string when bulk is set. */
static void reply_words(struct conn *c, const char *s, const char *prefix, int bulk)
{
	reply_set(c, count_words(s));
	while (s && *s) {
		const char *e;
		char w[128];

		while (*s == ' ')
			s++;
		e = s;
		while (*e && *e != ' ')
			e++;
		if (e > s) {
			snprintf(w, sizeof(w), "%s%.*s", prefix, (int)(e - s), s);
			if (bulk)
				reply_bulk_cstr(c, w);
			else
				reply_simple(c, w);
		}
		s = e;
	}
}

static int count_subcmds(const struct cmd_def *d)
{
	int n = 0;

	for (const struct cmd_def *s = d->subcmds; s && s->name; s++)
		n++;
	return n;
}

/* One key spec as Redis's addReplyCommandKeySpecs() writes it. */
static void reply_keyspec(struct conn *c, const struct cmd_doc_keyspec *k)
{
	static const char *const fk_names[][3] = {
	    [CMD_DOC_FK_RANGE] = {"lastkey", "keystep", "limit"},
	    [CMD_DOC_FK_KEYNUM] = {"keynumidx", "firstkey", "keystep"},
	};

	reply_map(c, k->notes ? 4 : 3);
	if (k->notes) {
		reply_bulk_cstr(c, "notes");
		reply_bulk_cstr(c, k->notes);
	}
	reply_bulk_cstr(c, "flags");
	reply_words(c, k->flags, "", 0);
	reply_bulk_cstr(c, "begin_search");
	reply_map(c, 2);
	reply_bulk_cstr(c, "type");
	switch (k->bs_type) {
	case CMD_DOC_BS_INDEX:
		reply_bulk_cstr(c, "index");
		reply_bulk_cstr(c, "spec");
		reply_map(c, 1);
		reply_bulk_cstr(c, "index");
		reply_int(c, k->bs_index);
		break;
	case CMD_DOC_BS_KEYWORD:
		reply_bulk_cstr(c, "keyword");
		reply_bulk_cstr(c, "spec");
		reply_map(c, 2);
		reply_bulk_cstr(c, "keyword");
		reply_bulk_cstr(c, k->bs_keyword);
		reply_bulk_cstr(c, "startfrom");
		reply_int(c, k->bs_startfrom);
		break;
	default:
		reply_bulk_cstr(c, "unknown");
		reply_bulk_cstr(c, "spec");
		reply_map(c, 0);
		break;
	}
	reply_bulk_cstr(c, "find_keys");
	reply_map(c, 2);
	reply_bulk_cstr(c, "type");
	if (k->fk_type == CMD_DOC_FK_RANGE || k->fk_type == CMD_DOC_FK_KEYNUM) {
		reply_bulk_cstr(c, k->fk_type == CMD_DOC_FK_RANGE ? "range" : "keynum");
		reply_bulk_cstr(c, "spec");
		reply_map(c, 3);
		for (int i = 0; i < 3; i++) {
			reply_bulk_cstr(c, fk_names[k->fk_type][i]);
			reply_int(c, k->fk[i]);
		}
	} else {
		reply_bulk_cstr(c, "unknown");
		reply_bulk_cstr(c, "spec");
		reply_map(c, 0);
	}
}

/* Key specs kvsd derives from its own first/last/step when no Redis row exists. */
static void reply_legacy_keyspec(struct conn *c, const struct cmd_def *d)
{
	reply_set(c, 1);
	reply_map(c, 3);
	reply_bulk_cstr(c, "flags");
	reply_set(c, 0);
	reply_bulk_cstr(c, "begin_search");
	reply_map(c, 2);
	reply_bulk_cstr(c, "type");
	reply_bulk_cstr(c, "index");
	reply_bulk_cstr(c, "spec");
	reply_map(c, 1);
	reply_bulk_cstr(c, "index");
	reply_int(c, d->first_key);
	reply_bulk_cstr(c, "find_keys");
	reply_map(c, 2);
	reply_bulk_cstr(c, "type");
	reply_bulk_cstr(c, "range");
	reply_bulk_cstr(c, "spec");
	reply_map(c, 3);
	reply_bulk_cstr(c, "lastkey");
	reply_int(c, d->last_key < 0 ? d->last_key : d->last_key - d->first_key);
	reply_bulk_cstr(c, "keystep");
	reply_int(c, d->key_step);
	reply_bulk_cstr(c, "limit");
	reply_int(c, 0);
}

/*
 * COMMAND INFO's ten fields, as Redis 7.0's addReplyCommandInfo() writes them.
 * Name, arity and the legacy key range are kvsd's own (what it enforces);
 * flags, ACL categories, tips and key specs are Redis's documented ones from
 * cmd_docs.c, falling back to the row's fields for a command Redis lacks.
 */
static void reply_command_info(struct conn *c, const struct cmd_def *d)
{
	const struct cmd_doc *doc = cmd_docs_find(d->name);
	int nsub = count_subcmds(d);

	reply_array(c, 10);
	reply_bulk_cstr(c, d->name);
	reply_int(c, d->arity);
	if (doc) {
		reply_words(c, doc->flags, "", 0);
	} else {
		int nflags = 0;

		for (size_t i = 0; i < KV_ARRAY_LEN(flag_names); i++)
			if (flag_names[i] && (d->flags & (1u << i)))
				nflags++;
		reply_set(c, nflags);
		for (size_t i = 0; i < KV_ARRAY_LEN(flag_names); i++)
			if (flag_names[i] && (d->flags & (1u << i)))
				reply_simple(c, flag_names[i]);
	}
	reply_int(c, d->first_key);
	reply_int(c, d->last_key);
	reply_int(c, d->key_step);
	if (doc) {
		reply_words(c, doc->acl, "", 0);
		reply_words(c, doc->tips, "", 1);
		reply_set(c, doc->nkeyspecs);
		for (int i = 0; i < doc->nkeyspecs; i++)
			reply_keyspec(c, &doc->keyspecs[i]);
	} else {
		reply_words(c, d->acl, "@", 0);
		reply_set(c, 0); /* tips */
		if (d->first_key > 0)
			reply_legacy_keyspec(c, d);
		else
			reply_set(c, 0);
	}
	if (nsub == 0) {
		reply_set(c, 0);
		return;
	}
	reply_array(c, nsub);
	for (const struct cmd_def *s = d->subcmds; s && s->name; s++)
		reply_command_info(c, s);
}

/* The map entry k => v, when v is set (the optional fields of the docs). */
static void reply_kv(struct conn *c, const char *k, const char *v)
{
	if (v) {
		reply_bulk_cstr(c, k);
		reply_bulk_cstr(c, v);
	}
}

/* An argument list as Redis 7.0's addReplyCommandArgList() writes it. */
static void reply_doc_args(struct conn *c, const struct cmd_doc_arg *a, int n)
{
	static const char *const arg_flags[] = {"optional", "multiple", "multiple_token"};

	reply_array(c, n);
	for (int i = 0; i < n; i++, a++) {
		int nested = strcmp(a->type, "oneof") == 0 || strcmp(a->type, "block") == 0;
		int nflags = 0;

		for (size_t f = 0; f < KV_ARRAY_LEN(arg_flags); f++)
			nflags += !!(a->flags & (1u << f));
		reply_map(c, 2 + !!(a->flags & CMD_DOC_ARG_KEY_SPEC) + !!a->token + !!a->summary +
				 !!a->since + !!a->deprecated_since + !!nflags + nested);
		reply_bulk_cstr(c, "name");
		reply_bulk_cstr(c, a->name);
		reply_bulk_cstr(c, "type");
		reply_bulk_cstr(c, a->type);
		if (a->flags & CMD_DOC_ARG_KEY_SPEC) {
			reply_bulk_cstr(c, "key_spec_index");
			reply_int(c, a->key_spec_index);
		}
		reply_kv(c, "token", a->token);
		reply_kv(c, "summary", a->summary);
		reply_kv(c, "since", a->since);
		reply_kv(c, "deprecated_since", a->deprecated_since);
		if (nflags) {
			reply_bulk_cstr(c, "flags");
			reply_set(c, nflags);
			for (size_t f = 0; f < KV_ARRAY_LEN(arg_flags); f++)
				if (a->flags & (1u << f))
					reply_simple(c, arg_flags[f]);
		}
		if (nested) {
			reply_bulk_cstr(c, "arguments");
			reply_doc_args(c, a->args, a->nargs);
		}
	}
}

/*
 * The name and the documentation map of one command, as Redis 7.0's
 * addReplyCommandDocs() writes them; the subcommands are kvsd's own.
 */
static void reply_command_docs(struct conn *c, const struct cmd_def *d)
{
	const struct cmd_doc *doc = cmd_docs_find(d->name);
	int nsub = count_subcmds(d);
	int has_flags = doc && doc->doc_flags && doc->doc_flags[0];

	reply_bulk_cstr(c, d->name);
	if (doc == NULL) {
		reply_map(c, nsub ? 5 : 4);
		reply_kv(c, "summary", d->summary ? d->summary : "");
		reply_kv(c, "since", d->since ? d->since : "1.0.0");
		reply_kv(c, "group", d->group ? d->group : "generic");
		reply_kv(c, "complexity", d->complexity ? d->complexity : "O(1)");
	} else {
		reply_map(c, 1 + !!doc->summary + !!doc->since + !!doc->complexity + has_flags +
				 !!doc->deprecated_since + !!doc->replaced_by + !!doc->nhistory +
				 !!doc->nargs + !!nsub);
		reply_kv(c, "summary", doc->summary);
		reply_kv(c, "since", doc->since);
		reply_kv(c, "group", doc->group);
		reply_kv(c, "complexity", doc->complexity);
		if (has_flags) {
			reply_bulk_cstr(c, "doc_flags");
			reply_words(c, doc->doc_flags, "", 0);
		}
		reply_kv(c, "deprecated_since", doc->deprecated_since);
		reply_kv(c, "replaced_by", doc->replaced_by);
		if (doc->nhistory) {
			reply_bulk_cstr(c, "history");
			reply_set(c, doc->nhistory);
			for (int i = 0; i < doc->nhistory; i++) {
				reply_array(c, 2);
				reply_bulk_cstr(c, doc->history[i].version);
				reply_bulk_cstr(c, doc->history[i].changes);
			}
		}
		if (doc->nargs) {
			reply_bulk_cstr(c, "arguments");
			reply_doc_args(c, doc->args, doc->nargs);
		}
	}
	if (nsub) {
		reply_bulk_cstr(c, "subcommands");
		reply_map(c, nsub);
		for (const struct cmd_def *s = d->subcmds; s && s->name; s++)
			reply_command_docs(c, s);
	}
}

static void info_each(const struct cmd_def *d, void *arg)
{
	reply_command_info(arg, d);
}

static void docs_each(const struct cmd_def *d, void *arg)
{
	reply_command_docs(arg, d);
}

static void command_all(struct cmd_req *r)
{
	reply_array(r->c, (long long)ncmds);
	cmd_foreach(info_each, r->c);
}

static void command_count(struct cmd_req *r)
{
	reply_int(r->c, (long long)ncmds);
}

/* COMMAND LIST's FILTERBY (Redis's shouldFilterFromCommandList): 1 to list d. */
struct list_filter {
	int type; /* 0 none, 1 module, 2 aclcat, 3 pattern */
	const char *arg;
	size_t len;
};

static int acl_has(const struct cmd_def *d, const char *cat, size_t len)
{
	static const char *const cats[] = {
	    "keyspace",	  "read",	 "write",     "set",	     "sortedset", "list",
	    "hash",	  "string",	 "bitmap",    "hyperloglog", "geo",	  "stream",
	    "pubsub",	  "admin",	 "fast",      "slow",	     "blocking",  "dangerous",
	    "connection", "transaction", "scripting", NULL};
	const struct cmd_doc *doc = cmd_docs_find(d->name);
	const char *acl = doc ? doc->acl : d->acl;
	const char *canon = NULL;

	for (int i = 0; cats[i]; i++)
		if (su_eqi(cat, len, cats[i]))
			canon = cats[i];
	if (canon == NULL || acl == NULL)
		return 0; /* an unknown category lists nothing */
	for (const char *p = acl; *p;) {
		const char *e;

		while (*p == ' ' || *p == '@')
			p++;
		e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == strlen(canon) && memcmp(p, canon, (size_t)(e - p)) == 0)
			return 1;
		p = e;
	}
	return 0;
}

static int list_keep(const struct cmd_def *d, const struct list_filter *f)
{
	switch (f->type) {
	case 1:
		return 0; /* kvsd loads no modules */
	case 2:
		return acl_has(d, f->arg, f->len);
	case 3:
		return su_glob_match(f->arg, f->len, d->name, strlen(d->name), 1);
	default:
		return 1;
	}
}

/* commandListWith(out)Filter: every command and subcommand by full name. */
static void command_list(struct cmd_req *r)
{
	struct list_filter f = {0};
	long long n = 0;

	for (int i = 2; i < r->argc; i++) {
		if (cmd_arg_is(r, i, "filterby") && r->argc - 1 - i == 2) {
			if (cmd_arg_is(r, i + 1, "module"))
				f.type = 1;
			else if (cmd_arg_is(r, i + 1, "aclcat"))
				f.type = 2;
			else if (cmd_arg_is(r, i + 1, "pattern"))
				f.type = 3;
			else {
				cmd_reply_syntax_error(r);
				return;
			}
			f.arg = r->argv[i + 2];
			/* a pattern is matched whole (sdslen), a category as a C string */
			f.len = f.type == 3
				    ? r->argl[i + 2]
				    : cstr_len(r->argv[i + 2], r->argl[i + 2], r->argl[i + 2]);
			i += 2;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	for (size_t i = 0; i < ncmds; i++) {
		n += list_keep(cmds[i], &f);
		for (const struct cmd_def *s = cmds[i]->subcmds; s && s->name; s++)
			n += list_keep(s, &f);
	}
	reply_array(r->c, n);
	for (size_t i = 0; i < ncmds; i++) {
		if (list_keep(cmds[i], &f))
			reply_bulk_cstr(r->c, cmds[i]->name);
		for (const struct cmd_def *s = cmds[i]->subcmds; s && s->name; s++)
			if (list_keep(s, &f))
				reply_bulk_cstr(r->c, s->name);
	}
}

static const struct cmd_def *lookup_full(const char *name, size_t len)
{
	const char *bar = memchr(name, '|', len);
	const struct cmd_def *d;

	if (bar == NULL)
		return cmd_lookup(name, len);
	d = cmd_lookup(name, (size_t)(bar - name));
	if (d == NULL || d->subcmds == NULL)
		return NULL;
	return sub_lookup(d, bar + 1, len - (size_t)(bar - name) - 1);
}

static void command_info(struct cmd_req *r)
{
	if (r->argc == 2) {
		command_all(r);
		return;
	}
	reply_array(r->c, r->argc - 2);
	for (int i = 2; i < r->argc; i++) {
		const struct cmd_def *d = lookup_full(r->argv[i], r->argl[i]);

		if (d)
			reply_command_info(r->c, d);
		else
			reply_null(r->c);
	}
}

static void command_docs(struct cmd_req *r)
{
	if (r->argc == 2) {
		reply_map(r->c, (long long)ncmds);
		cmd_foreach(docs_each, r->c);
		return;
	}
	{
		int n = 0;

		for (int i = 2; i < r->argc; i++)
			if (lookup_full(r->argv[i], r->argl[i]))
				n++;
		reply_map(r->c, n);
		for (int i = 2; i < r->argc; i++) {
			const struct cmd_def *d = lookup_full(r->argv[i], r->argl[i]);

			if (d)
				reply_command_docs(r->c, d);
		}
	}
}

/* Redis's getKeysSubcommandImpl: the keys of the command in argv[2..], by
 * its key specs (keyspec.h), with their flags when with_flags is set. */
static void getkeys(struct cmd_req *r, int with_flags)
{
	const struct cmd_def *d = cmd_lookup(r->argv[2], r->argl[2]);
	int argc = r->argc - 2, n;
	const struct cmd_doc *doc;
	struct keyspec_key *keys;

	if (d && d->subcmds && argc >= 2)
		d = sub_lookup(d, r->argv[3], r->argl[3]);
	if (d == NULL) {
		reply_error(r->c, "ERR Invalid command specified");
		return;
	}
	doc = cmd_docs_find(d->name);
	if (!keyspec_has_keys(doc)) {
		reply_error(r->c, "ERR The command has no key arguments");
		return;
	}
	if (!arity_ok(d, argc)) {
		reply_error(r->c, "ERR Invalid number of arguments specified for command");
		return;
	}
	keys = mem_alloc(sizeof(*keys) * (size_t)argc * (size_t)(doc->nkeyspecs + 1));
	n = keyspec_find(doc, argc, r->argv + 2, r->argl + 2, keys, argc * (doc->nkeyspecs + 1));
	if (n <= 0) {
		if (doc->flags && strstr(doc->flags, "no_mandatory_keys"))
			reply_array(r->c, 0);
		else
			reply_error(r->c, "ERR Invalid arguments specified for command");
		mem_free(keys);
		return;
	}
	reply_array(r->c, n);
	for (int i = 0; i < n; i++) {
		int p = keys[i].pos + 2, nf = 0;

		if (!with_flags) {
			reply_bulk(r->c, r->argv[p], r->argl[p]);
			continue;
		}
		reply_array(r->c, 2);
		reply_bulk(r->c, r->argv[p], r->argl[p]);
		for (int f = 0; f < KS_NFLAGS; f++)
			nf += !!(keys[i].flags & (1u << f));
		reply_set(r->c, nf);
		for (int f = 0; f < KS_NFLAGS; f++)
			if (keys[i].flags & (1u << f))
				reply_simple(r->c, keyspec_flag_names[f]);
	}
	mem_free(keys);
}

static void command_getkeys(struct cmd_req *r)
{
	getkeys(r, 0);
}

static void command_getkeysandflags(struct cmd_req *r)
{
	getkeys(r, 1);
}

static void command_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "(no subcommand)",
	    "    Return details about all Redis commands.",
	    "COUNT",
	    "    Return the total number of commands in this Redis server.",
	    "LIST",
	    "    Return a list of all commands in this Redis server.",
	    "INFO [<command-name> ...]",
	    "    Return details about multiple Redis commands.",
	    "    If no command names are given, documentation details for all",
	    "    commands are returned.",
	    "DOCS [<command-name> ...]",
	    "    Return documentation details about multiple Redis commands.",
	    "    If no command names are given, documentation details for all",
	    "    commands are returned.",
	    "GETKEYS <full-command>",
	    "    Return the keys from a full Redis command.",
	    "GETKEYSANDFLAGS <full-command>",
	    "    Return the keys and the access flags from a full Redis command.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

static const struct cmd_def command_subcmds[] = {
    {"command|count", command_count, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection",
     "server", "Get total number of Redis commands", "2.8.13", "O(1)", NULL},
    {"command|docs", command_docs, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection",
     "server", "Get array of specific Redis command documentation", "7.0.0",
     "O(N) where N is the number of commands to look up", NULL},
    {"command|getkeys", command_getkeys, -4, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection",
     "server", "Extract keys given a full Redis command", "2.8.13",
     "O(N) where N is the number of arguments to the command", NULL},
    {"command|getkeysandflags", command_getkeysandflags, -4, CMD_LOADING | CMD_STALE, 0, 0, 0,
     "slow connection", "server", "Extract keys and access flags given a full Redis command",
     "7.0.0", "O(N) where N is the number of arguments to the command", NULL},
    {"command|help", command_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server",
     "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL},
    {"command|info", command_info, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection",
     "server", "Get array of specific Redis command details, or all when no argument is given.",
     "2.8.13", "O(N) where N is the number of commands to look up", NULL},
    {"command|list", command_list, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection",
     "server", "Get an array of Redis command names", "7.0.0",
     "O(N) where N is the total number of Redis commands", NULL},
    {.name = NULL},
};

static void command_cmd(struct cmd_req *r)
{
	command_all(r);
}

/* The COMMAND row lives here, beside the table it describes. */
const struct cmd_def cmd_command_def = {"command",
					command_cmd,
					-1,
					CMD_LOADING | CMD_STALE,
					0,
					0,
					0,
					"slow connection",
					"server",
					"Get array of Redis command details",
					"2.8.13",
					"O(N) where N is the total number of Redis commands",
					command_subcmds};
