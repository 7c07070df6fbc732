/*
 * script_internal.h — what script.c (commands, cache, runs) and
 * script_lua.c (the Lua environment, conversions) share. Everything here
 * runs on the worker thread that owns the state.
 */
#ifndef KVSD_SCRIPT_INTERNAL_H
#define KVSD_SCRIPT_INTERNAL_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/buf.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/cmd.h"

struct wctx;

#define SCRIPT_REDIS_VERSION	 "7.0.15"
#define SCRIPT_REDIS_VERSION_NUM 0x0007000f
/* a state's memory cap: a script allocating without bound gets "not enough
 * memory" and the server survives */
#define SCRIPT_LUA_MEM_MAX ((size_t)256 << 20)
#define SCRIPT_ERRH_KEY	   "kvsd_err_handler" /* registry: the error handler */
#define SCRIPT_FNS_KEY	   "kvsd_fns"	      /* registry: sha -> compiled function */
#define SCRIPT_FENV_KEY	   "kvsd_fenv"	      /* registry: the functions' globals */
#define SCRIPT_FUNCS_KEY   "kvsd_funcs"	      /* registry: lower-case name -> function */

/* Function flags (Redis's scripts_flags_def, in its order). */
#define SCRIPT_FLAG_NO_WRITES	     0x01
#define SCRIPT_FLAG_ALLOW_OOM	     0x02
#define SCRIPT_FLAG_ALLOW_STALE	     0x04
#define SCRIPT_FLAG_NO_CLUSTER	     0x08
#define SCRIPT_FLAG_ALLOW_CROSS_SLOT 0x20

struct db_txn;
struct db_view;

/* One script run (attempt), seen by redis.call and the hook. */
struct script_run {
	struct cmd_req *r;	 /* the EVAL's request */
	const struct db_view *v; /* the transactional view it runs in */
	struct db_txn *txn;	 /* NULL inside EXEC's transaction */
	bool exclusive;		 /* this attempt cannot fail */
	bool ro;		 /* EVAL_RO / EVALSHA_RO */
	bool restart;		 /* abandon the attempt; re-run exclusively */
	bool killed;		 /* SCRIPT KILL reached it */
	bool shut;		 /* stopped by SHUTDOWN NOSAVE (script_stop_for_shutdown) */
	bool oom;		 /* over maxmemory when it began */
	bool dirty;		 /* this attempt wrote */
	int resp;		 /* redis.setresp */
	bool is_func;		 /* FCALL / FCALL_RO */
	int64_t start_us;
	const char *name; /* the sha or the function's name */
};

struct script_fload; /* script_func.c: a FUNCTION LOAD in progress */

struct script_worker {
	lua_State *L;
	uint64_t gen;		   /* cache generation its compiled functions belong to */
	uint64_t fgen;		   /* function registry generation its libraries belong to */
	struct script_fload *load; /* the library being loaded, or NULL */
	struct db_txn *txn;
	struct script_run *run; /* the running script, or NULL */
	size_t lua_mem;		/* bytes the state holds (its allocator) */
	int slot;		/* its busy/kill slot (script.c) */
	size_t published;	/* the attempt's keys in the slot's busy filter */
	char *scratch;		/* the last call's reply bytes, owned */
	size_t scratch_cap;	/* its size (kept between calls unless large) */
	struct buf mon;		/* the attempt's MONITOR lines (script.c) */
	/* Per-call costs avoided (all owned by the state's thread): the
	 * error handler and KEYS / ARGV live in the state's bottom stack slots
	 * (SCRIPT_SLOT_*); arr_named: KEYS / ARGV are globals yet (the first
	 * script_lua_set_array names them, as Redis's first EVAL does) */
	bool arr_named[2];
	/* the last EVAL / EVALSHA's compiled function (ref 0: none; dropped
	 * with the compiled functions at SCRIPT FLUSH) */
	int fn_ref;
	unsigned fn_flags;
	char fn_sha[41];
	/* redis.call's last command name, as sent, and its row (not for
	 * containers: their row depends on the subcommand) */
	const struct cmd_def *call_d;
	size_t call_idx, call_len;
	char call_name[24];
};

/* The bottom of every state's stack, set up by script_lua_create and kept
 * for the state's life (no one pops below them: scripts run above, and C
 * functions have frames of their own): the error handler that lua_pcall
 * names by index, and the KEYS and ARGV tables script_lua_set_array
 * refills. Reaching them is an index, not a registry lookup and a push. */
enum { SCRIPT_SLOT_ERRH = 1, SCRIPT_SLOT_KEYS = 2, SCRIPT_SLOT_ARGV = 3 };

static inline struct script_worker *script_worker_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

/* script_lua.c */
lua_State *script_lua_create(struct script_worker *w);
void script_lua_redis_lib(lua_State *L, int globals);
/* Sets global KEYS (which 0) or ARGV (1) to an array of the n strings v:
 * the same table every time, emptied of whatever the last script left in
 * it (extra fields, a metatable) and refilled. */
void script_lua_set_array(lua_State *L, int which, const char *const *v, const size_t *l, int n);
/* Pushes the RESP reply p[0, len) as Redis's redisProtocolToLuaType. */
bool script_lua_push_reply(lua_State *L, const char *p, size_t len);
/* Replies the Lua value at idx to c (luaReplyToRedisReply). */
void script_lua_reply(lua_State *L, struct conn *c, int idx, int depth);
/* Replies the error msg (without '-'); quiet: not counted in errorstats
 * (the command that produced it was). */
void script_reply_error(struct conn *c, const char *msg, bool quiet);
/* Pushes {err="CODE msg"} for err ("-CODE msg" or "msg"). */
void script_lua_push_error(lua_State *L, const char *err);

/* Switches the functions' environment (SCRIPT_FENV_KEY) to the load API
 * (load) or to the run-time globals. */
void script_lua_fenv_mode(lua_State *L, bool load);

/* script.c: redis.call / redis.pcall */
int script_lua_call(lua_State *L);
int script_lua_pcall(lua_State *L);

/* script.c: the calling worker's state (created on first use), or NULL. */
struct script_worker *script_worker_get(struct wctx *ctx);

/* What script_exec runs: the function at stack index fn of w->L. */
struct script_exec {
	const char *name; /* the sha (EVAL) or the function's name (FCALL) */
	bool ro;	  /* refuse write commands */
	bool oom;	  /* refuse deny-oom commands until the first write */
	bool is_func;	  /* FCALL: called with (keys, args) tables from r->argv + 3 */
	int nkeys;
};
/* Runs it atomically (script.h: the paths), replying to r->c. */
void script_exec(struct cmd_req *r, struct script_worker *w, int fn, const struct script_exec *x);
/* SCRIPT KILL (is_eval) / FUNCTION KILL. */
void script_kill(struct cmd_req *r, bool is_eval);
/* FUNCTION STATS' running_script: 1 and a busy function's name, command
 * and duration (mem_free name and each argv[i], then argv and argl); -1
 * when the busy script is an EVAL; 0 when none is busy. */
int script_busy_function(char **name, char ***argv, size_t **argl, int *argc, long long *ms);

/* script_func.c */
int script_lua_register_function(lua_State *L);
bool script_func_is_fcall(const struct cmd_def *d);

#endif
