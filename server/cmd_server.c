/*
 * cmd_server.c — server commands: INFO, CONFIG GET/SET/RESETSTAT/REWRITE/HELP,
 * TIME, SHUTDOWN, SLOWLOG GET/LEN/RESET/HELP and MEMORY USAGE/DOCTOR/PURGE/
 * MALLOC-STATS/HELP.
 *
 * SHUTDOWN saves first (SAVE, or by default when save rules exist; NOSAVE
 * never): when that save fails the server answers Redis's error and keeps
 * running (persist_srv.h), so data is never silently dropped.
 */
#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/net.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/aof.h"
#include "server/cmdstat.h"
#include "server/config.h"
#include "server/errorstats.h"
#include "server/info.h"
#include "server/loading.h"
#include "server/log.h"
#include "server/persist_srv.h"
#include "server/script.h"
#include "server/server.h"
#include "server/slowlog.h"
#include "server/strutil.h"
#include "storage/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void info_cmd(struct cmd_req *r)
{
	size_t len;
	char *text = info_generate(r->db, r->argv + 1, r->argl + 1, r->argc - 1, &len);

	reply_verbatim(r->c, text, len);
	mem_free(text);
}

static void time_cmd(struct cmd_req *r)
{
	int64_t now_us = clock_wall_us();

	reply_array(r->c, 2);
	reply_bulk_ll(r->c, (long long)(now_us / 1000000));
	reply_bulk_ll(r->c, (long long)(now_us % 1000000));
}

static void shutdown_cmd(struct cmd_req *r)
{
	int save = 0, nosave = 0, abort_ = 0, force = 0;

	for (int i = 1; i < r->argc; i++) {
		if (cmd_arg_is(r, i, "nosave"))
			nosave = 1;
		else if (cmd_arg_is(r, i, "save"))
			save = 1;
		else if (cmd_arg_is(r, i, "now"))
			;
		else if (cmd_arg_is(r, i, "force"))
			force = 1;
		else if (cmd_arg_is(r, i, "abort"))
			abort_ = 1;
		else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	if ((save && nosave) || (abort_ && r->argc != 2)) {
		cmd_reply_syntax_error(r);
		return;
	}
	if (abort_) {
		reply_error(r->c, "ERR No shutdown in progress.");
		return;
	}
	/* As Redis's shutdownCommand: past busy-reply-threshold only SHUTDOWN
	 * NOSAVE goes on, and it stops the script (script.h) */
	if (script_busy_any()) {
		if (!nosave) {
			reply_error(r->c, script_busy_is_function()
					      ? "BUSY Redis is busy running a script. You can only "
						"call FUNCTION KILL or SHUTDOWN NOSAVE."
					      : "BUSY Redis is busy running a script. You can only "
						"call SCRIPT KILL or SHUTDOWN NOSAVE.");
			return;
		}
		script_stop_for_shutdown();
	}
	if (aof_shutdown_prepare(force != 0) != 0) {
		reply_error(r->c, "ERR Errors trying to SHUTDOWN. Check logs.");
		return;
	}
	if (psrv_shutdown_prepare(save ? 1 : nosave ? 2 : 0) != 0) {
		aof_shutdown_cancelled();
		reply_error(r->c, "ERR Errors trying to SHUTDOWN. Check logs.");
		return;
	}
	/* As Redis: no reply; the client sees the connection close. */
	conn_close_asap(r->c);
	server_request_shutdown("User requested shutdown...");
}

/* ---- CONFIG -------------------------------------------------------------- */

struct get_ctx {
	/* per parameter: 0 = not matched; else 1 + index of the argument that named it
	 * exactly (Redis echoes a glob-free name as the client typed it), or -1 when
	 * only a glob matched */
	int seen[CFG_COUNT_];
	int n;
	int arg;
};

static void mark(enum cfg_id id, void *arg)
{
	struct get_ctx *x = arg;

	if (!x->seen[id]) {
		x->seen[id] = x->arg;
		x->n++;
	}
}

static int has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return 1;
	return 0;
}

/* The aliases (cfg_def.alias) argument i names: an alias is one more name
 * CONFIG GET answers under, as in Redis 7.0 (where CONFIG GET * lists
 * hash-max-ziplist-entries as well as hash-max-listpack-entries). */
static void mark_aliases(struct cmd_req *r, int i, struct get_ctx *x, int *seen_alias)
{
	const struct cfg_def *t = cfg_table();
	int glob = has_glob(r->argv[i], r->argl[i]);

	for (int id = 0; id < CFG_COUNT_; id++) {
		const char *a = t[id].alias;

		if (!a || seen_alias[id])
			continue;
		if (glob ? su_glob_match(r->argv[i], r->argl[i], a, strlen(a), 1)
			 : su_eqi(r->argv[i], r->argl[i], a)) {
			seen_alias[id] = glob ? -1 : i + 1;
			x->n++;
		}
	}
}

static void config_get(struct cmd_req *r)
{
	struct get_ctx x = {{0}, 0, 0};
	int seen_alias[CFG_COUNT_] = {0};
	const struct cfg_def *t = cfg_table();

	for (int i = 2; i < r->argc; i++) {
		x.arg = has_glob(r->argv[i], r->argl[i]) ? -1 : i + 1;
		cfg_match(r->argv[i], r->argl[i], mark, &x);
		mark_aliases(r, i, &x, seen_alias);
	}
	reply_map(r->c, x.n);
	for (int id = 0; id < CFG_COUNT_; id++) {
		char *v;
		int a = seen_alias[id];

		if (!a)
			continue;
		v = cfg_format((enum cfg_id)id);
		if (a > 0)
			reply_bulk(r->c, r->argv[a - 1], r->argl[a - 1]);
		else
			reply_bulk_cstr(r->c, t[id].alias);
		reply_bulk_cstr(r->c, v ? v : "");
		free(v);
	}
	for (int id = 0; id < CFG_COUNT_; id++) {
		char *v;
		int a = x.seen[id];

		if (!a)
			continue;
		v = cfg_format((enum cfg_id)id);
		if (a > 0)
			reply_bulk(r->c, r->argv[a - 1], r->argl[a - 1]);
		else
			reply_bulk_cstr(r->c, t[id].name);
		reply_bulk_cstr(r->c, v ? v : "");
		free(v);
	}
}

/* Whether CONFIG SET names a row Redis refuses while loading
 * (DENY_LOADING_CONFIG: appendonly); Redis gives that error precedence. */
static bool denied_while_loading(const struct cmd_req *r)
{
	char name[128];

	if (!loading_active() || r->argc % 2)
		return false;
	for (int i = 2; i + 1 < r->argc; i += 2) {
		int id;

		if (r->argl[i] >= sizeof(name))
			continue;
		memcpy(name, r->argv[i], r->argl[i]);
		name[r->argl[i]] = '\0';
		id = cfg_lookup(name);
		if (id >= 0 && (cfg_table()[id].flags & CFG_DENY_LOADING))
			return true;
	}
	return false;
}

static void config_set(struct cmd_req *r)
{
	char err[512];

	if (denied_while_loading(r)) {
		reply_error(r->c, "LOADING Redis is loading the dataset in memory");
		return;
	}

	/* all-or-nothing, with Redis's error order (unknown, immutable, duplicate, value) */
	if (cfg_set_many(r->argv + 2, r->argl + 2, r->argc - 2, err, sizeof(err)) != 0) {
		reply_error(r->c, err);
		return;
	}
	reply_ok(r->c);
}

static void config_resetstat(struct cmd_req *r)
{
	net_reset_stats();
	db_reset_stats(r->db);
	cmdstat_reset();
	errorstats_reset();
	reply_ok(r->c);
}

static void config_rewrite(struct cmd_req *r)
{
	char err[512];

	if (cfg_rewrite(err, sizeof(err)) != 0) {
		reply_error(r->c, err);
		return;
	}
	LOG(LOG_NOTICE, "CONFIG REWRITE executed with success.");
	reply_ok(r->c);
}

static void config_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "GET <pattern>",
	    "    Return parameters matching the glob-like <pattern> and their values.",
	    "SET <directive> <value>",
	    "    Set the configuration <directive> to <value>.",
	    "RESETSTAT",
	    "    Reset statistics reported by the INFO command.",
	    "REWRITE",
	    "    Rewrite the configuration file.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

static void config_cmd(struct cmd_req *r)
{
	cmd_reply_arity(r);
}

#define ADM (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

/* ---- SLOWLOG ------------------------------------------------------------- */

static void slowlog_get(struct cmd_req *r)
{
	long long count = 10;

	if (r->argc > 3) {
		reply_errorf(r->c,
			     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
			     "SLOWLOG HELP.",
			     (int)(r->argl[1] > 128 ? 128 : r->argl[1]), r->argv[1]);
		return;
	}
	if (r->argc == 3 && (!resp_str2ll(r->argv[2], r->argl[2], &count) || count < -1)) {
		reply_error(r->c, "ERR count should be greater than or equal to -1");
		return;
	}
	slowlog_reply(r->c, count);
}

static void slowlog_len_cmd(struct cmd_req *r)
{
	reply_int(r->c, slowlog_len());
}

static void slowlog_reset_cmd(struct cmd_req *r)
{
	slowlog_reset();
	reply_ok(r->c);
}

static void slowlog_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "GET [<count>]",
	    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
	    "    Entries are made of:",
	    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
	    "    client name",
	    "LEN",
	    "    Return the length of the slowlog.",
	    "RESET",
	    "    Reset the slowlog.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

static void container_cmd(struct cmd_req *r)
{
	cmd_reply_arity(r);
}

static const struct cmd_def slowlog_subcmds[] = {
    {"slowlog|get", slowlog_get, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0,
     "admin slow dangerous", "server", "Get the slow log's entries", "2.2.12",
     "O(N) where N is the number of entries returned", NULL},
    {"slowlog|help", slowlog_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "server",
     "Show helpful text about the different subcommands", "6.2.0", "O(1)", NULL},
    {"slowlog|len", slowlog_len_cmd, 2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0,
     "admin slow dangerous", "server", "Get the slow log's length", "2.2.12", "O(1)", NULL},
    {"slowlog|reset", slowlog_reset_cmd, 2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0,
     "admin slow dangerous", "server", "Clear all entries from the slow log", "2.2.12",
     "O(N) where N is the number of entries in the slowlog", NULL},
    {NULL},
};

static const struct cmd_def config_subcmds[] = {
    {"config|get", config_get, -3, ADM, 0, 0, 0, "admin slow dangerous", "server",
     "Get the values of configuration parameters", "2.0.0",
     "O(N) when N is the number of configuration parameters provided", NULL},
    {"config|help", config_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "server",
     "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL},
    {"config|resetstat", config_resetstat, 2, ADM, 0, 0, 0, "admin slow dangerous", "server",
     "Reset the stats returned by INFO", "2.0.0", "O(1)", NULL},
    {"config|rewrite", config_rewrite, 2, ADM, 0, 0, 0, "admin slow dangerous", "server",
     "Rewrite the configuration file with the in memory configuration", "2.8.0", "O(1)", NULL},
    {"config|set", config_set, -4, ADM, 0, 0, 0, "admin slow dangerous", "server",
     "Set configuration parameters to the given values", "2.0.0",
     "O(N) when N is the number of configuration parameters provided", NULL},
    {NULL},
};

const struct cmd_def cmd_server_table[] = {
    {"config", config_cmd, -2, 0, 0, 0, 0, "slow", "server",
     "A container for server configuration commands", "2.0.0", "Depends on subcommand.",
     config_subcmds},
    {"info", info_cmd, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow dangerous", "server",
     "Get information and statistics about the server", "1.0.0", "O(1)", NULL},
    {"shutdown", shutdown_cmd, -1,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY, 0, 0, 0,
     "admin slow dangerous", "server",
     "Synchronously save the dataset to disk and then shut down the server", "1.0.0",
     "O(N) when saving, where N is the total number of keys in all databases", NULL},
    {"slowlog", container_cmd, -2, 0, 0, 0, 0, "slow", "server",
     "A container for slow log commands", "2.2.12", "Depends on subcommand.", slowlog_subcmds},
    {"time", time_cmd, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "fast", "server",
     "Return the current server time", "2.6.0", "O(1)", NULL},
    {NULL},
};
