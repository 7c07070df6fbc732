/*
 * script_func.c — Redis 7.0 functions (script.h): FUNCTION LOAD / LIST /
 * DELETE / FLUSH / DUMP / RESTORE / STATS / KILL / HELP, FCALL, FCALL_RO and
 * redis.register_function, over script.c's per-worker Lua states and runs.
 *
 * The registry. Libraries (name, code, and the functions their code
 * registered: name, description, flags) live in one list shared by every
 * worker, under fn_lock, with a generation counter bumped by every change.
 * FUNCTION LOAD compiles and runs the library's code in the caller's Lua
 * state first (the load API only: redis.register_function, redis.log,
 * the versions; globals readonly; 500 ms at most), then links it under the
 * lock, so what it replies is what every worker sees from then on. A
 * worker meeting a new generation at its next FCALL re-runs every
 * library's code in its own state (the codes copied under the lock in the
 * same critical section as the function's lookup, so the function it runs
 * is the one it looked up) and keeps the registered Lua functions in its
 * registry (SCRIPT_FUNCS_KEY, by lower-case name: function names are
 * case-insensitive as in Redis).
 *
 * A function runs as an EVAL does (script_exec: one transaction, re-run
 * only while its effects stayed private; busy/kill; the AOF gets its
 * writes). Its flags: no-writes makes it read-only (and FCALL_RO refuses a
 * function without it), allow-oom lets it run and write over maxmemory;
 * no-cluster refuses to run in cluster mode (server/cluster.h); allow-stale
 * and allow-cross-slot-keys are kept and listed (kvsd has no replication,
 * and its cluster lets scripts use local keys of any slot, as Redis 7.0).
 *
 * Persistence: script_func_codes() gives the libraries' code to the RDB
 * writer (FUNCTION2 records, Redis's opcode 245), script_func_rdb_load()
 * takes them back; FUNCTION DUMP's payload is the same records followed by
 * the RDB version and a CRC-64, as Redis's.
 */
#include "server/cluster.h"
#include "server/script.h"
#include "server/script_internal.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/net.h"
#include "net/resp.h"
#include "persist/crc64.h"
#include "persist/rdb_value.h"
#include "server/config.h"
#include "server/persist_srv.h"
#include "server/strutil.h"
#include "storage/db.h"

#define FLOAD_KEY	     "kvsd_fload" /* registry: functions registered by the load */
#define LOAD_TIMEOUT_US	     (500 * 1000)
#define RDB_OPCODE_FUNCTION2 245
#define RDB_OPCODE_FUNCTION  246

static const struct {
	const char *name;
	unsigned flag;
} flag_names[] = {{"no-writes", SCRIPT_FLAG_NO_WRITES},
		  {"allow-oom", SCRIPT_FLAG_ALLOW_OOM},
		  {"allow-stale", SCRIPT_FLAG_ALLOW_STALE},
		  {"no-cluster", SCRIPT_FLAG_NO_CLUSTER},
		  {"allow-cross-slot-keys", SCRIPT_FLAG_ALLOW_CROSS_SLOT}};
#define NFLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

struct ffunc {
	char *name;
	char *desc; /* NULL: none */
	unsigned flags;
};

struct flib {
	char *name;
	char *code;
	size_t len;
	int n, cap;
	struct ffunc *fns;
	struct flib *next;
};

struct script_fload {
	struct flib *lib;
	int64_t start_us;
};

static pthread_mutex_t fn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct flib *libs; /* under fn_lock, in load order */
/* Bumped under fn_lock by every change; read under it by FCALL (the
 * lookup and the generation belong together) and relaxed by nobody else. */
static uint64_t fn_gen = 1;

static char *dup_n(const char *s, size_t n)
{
	char *d = mem_alloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void lib_free(struct flib *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++) {
		mem_free(l->fns[i].name);
		mem_free(l->fns[i].desc);
	}
	mem_free(l->fns);
	mem_free(l->name);
	mem_free(l->code);
	mem_free(l);
}

static void libs_free(struct flib *l)
{
	while (l) {
		struct flib *n = l->next;
		lib_free(l);
		l = n;
	}
}

/* Redis's functionsVerifyName. */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* A lower-case copy of s (mem_free it): the functions' key in a state. */
static char *lower_dup(const char *s)
{
	size_t n = strlen(s);
	char *d = mem_alloc(n + 1);

	for (size_t i = 0; i <= n; i++)
		d[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	return d;
}

/* ---- redis.register_function (the load API) */

static int reg_error(lua_State *L, const char *msg)
{
	script_lua_push_error(L, msg);
	return lua_error(L);
}

/* A string argument (lua_isstring: numbers too) as a new string, or NULL. */
static char *lua_dup(lua_State *L, int idx)
{
	size_t n;
	const char *s;

	if (!lua_isstring(L, idx))
		return NULL;
	s = lua_tolstring(L, idx, &n);
	return dup_n(s, n);
}

/* The flags table at the top of the stack: 0, or -1 on an unknown flag. */
static int read_flags(lua_State *L, unsigned *out)
{
	unsigned f = 0;

	for (int j = 1;; j++) {
		lua_rawgeti(L, -1, j);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			break;
		}
		if (!lua_isstring(L, -1)) {
			lua_pop(L, 1);
			return -1;
		}
		const char *s = lua_tostring(L, -1);
		size_t k;

		for (k = 0; k < NFLAGS; k++)
			if (strcasecmp(flag_names[k].name, s) == 0)
				break;
		lua_pop(L, 1);
		if (k == NFLAGS)
			return -1;
		f |= flag_names[k].flag;
	}
	*out = f;
	return 0;
}

int script_lua_register_function(lua_State *L)
{
	struct script_worker *w = script_worker_of(L);
	struct script_fload *ld = w->load;
	char *name = NULL, *desc = NULL;
	const char *err = NULL;
	unsigned flags = 0;
	int argc = lua_gettop(L), fn = 0;

	if (!ld)
		return reg_error(L, "redis.register_function can only be called on FUNCTION LOAD "
				    "command");
	if (argc < 1 || argc > 2)
		return reg_error(L, "wrong number of arguments to redis.register_function");
	if (argc == 2) {
		if (!(name = lua_dup(L, 1)))
			err = "first argument to redis.register_function must be a string";
		else if (!lua_isfunction(L, 2))
			err = "second argument to redis.register_function must be a function";
		fn = 2;
	} else if (!lua_istable(L, 1)) {
		err = "calling redis.register_function with a single argument is only applicable "
		      "to Lua table (representing named arguments).";
	} else {
		lua_pushnil(L);
		while (!err && lua_next(L, 1)) {
			const char *k;

			if (!lua_isstring(L, -2)) {
				err = "named argument key given to redis.register_function is not "
				      "a string";
				break;
			}
			k = lua_tostring(L, -2);
			if (strcasecmp(k, "function_name") == 0) {
				mem_free(name);
				if (!(name = lua_dup(L, -1)))
					err = "function_name argument given to "
					      "redis.register_function must be a string";
			} else if (strcasecmp(k, "description") == 0) {
				mem_free(desc);
				if (!(desc = lua_dup(L, -1)))
					err = "description argument given to "
					      "redis.register_function must be a string";
			} else if (strcasecmp(k, "callback") == 0) {
				if (!lua_isfunction(L, -1)) {
					err = "callback argument given to redis.register_function "
					      "must be a function";
				} else {
					lua_pushvalue(L, -1);
					lua_insert(L, 2); /* keep it below the iteration */
					fn = 2;
				}
			} else if (strcasecmp(k, "flags") == 0) {
				if (!lua_istable(L, -1))
					err = "flags argument to redis.register_function must be a "
					      "table representing function flags";
				else if (read_flags(L, &flags) != 0)
					err = "unknown flag given";
			} else {
				err = "unknown argument given to redis.register_function";
			}
			lua_pop(L, 1);
		}
		if (!err && !name)
			err = "redis.register_function must get a function name argument";
		if (!err && !fn)
			err = "redis.register_function must get a callback argument";
	}
	/* Redis's functionLibCreateFunction says "Library" here too */
	if (!err && !name_ok(name, strlen(name)))
		err = "Library names can only contain letters, numbers, or underscores(_) and "
		      "must be at least one character long";
	for (int i = 0; !err && i < ld->lib->n; i++)
		if (strcmp(ld->lib->fns[i].name, name) == 0)
			err = "Function already exists in the library";
	if (err) {
		mem_free(name);
		mem_free(desc);
		return reg_error(L, err);
	}
	struct flib *lib = ld->lib;
	char *key;

	if (lib->n == lib->cap) {
		lib->cap = lib->cap ? 2 * lib->cap : 4;
		lib->fns = mem_realloc(lib->fns, (size_t)lib->cap * sizeof(*lib->fns));
	}
	lib->fns[lib->n++] = (struct ffunc){name, desc, flags};
	key = lower_dup(name);
	lua_getfield(L, LUA_REGISTRYINDEX, FLOAD_KEY);
	lua_pushstring(L, key);
	mem_free(key);
	lua_pushvalue(L, fn);
	lua_rawset(L, -3);
	lua_pop(L, 1);
	return 0;
}

/* ---- loading a library's code */

/* Redis's functionExtractLibMetaData: *name (mem_free it) and *skip, the
 * offset of the code after the first line (its newline kept, so line
 * numbers stay). 0, or -1 with err. */
static int lib_meta(const char *code, size_t len, char **name, size_t *skip, char *err,
		    size_t errlen)
{
	const char *end;
	char **parts;
	size_t *lens;
	int n = 0, rc = -1;

	*name = NULL;
	if (len < 2 || code[0] != '#' || code[1] != '!') {
		snprintf(err, errlen, "Missing library metadata");
		return -1;
	}
	end = memchr(code, '\n', len);
	if (!end) {
		snprintf(err, errlen, "Invalid library metadata");
		return -1;
	}
	*skip = (size_t)(end - code);
	parts = su_split_args(code, *skip, &n, &lens);
	if (!parts || n == 0) {
		snprintf(err, errlen, "Invalid library metadata");
		goto out;
	}
	for (int i = 1; i < n; i++) {
		if (lens[i] >= 5 && strncasecmp(parts[i], "name=", 5) == 0) {
			if (*name) {
				snprintf(err, errlen,
					 "Invalid metadata value, name argument was "
					 "given multiple times");
				goto out;
			}
			*name = dup_n(parts[i] + 5, lens[i] - 5);
			continue;
		}
		snprintf(err, errlen, "Invalid metadata value given: %s", parts[i]);
		goto out;
	}
	if (!*name) {
		snprintf(err, errlen, "Library name was not given");
		goto out;
	}
	if (!name_ok(*name, strlen(*name))) {
		snprintf(err, errlen,
			 "Library names can only contain letters, numbers, or underscores(_) and "
			 "must be at least one character long");
		goto out;
	}
	/* the engine: the first word after "#!" (engines are case-insensitive) */
	if (strcasecmp(parts[0] + (lens[0] >= 2 ? 2 : lens[0]), "lua") != 0) {
		snprintf(err, errlen, "Engine '%s' not found",
			 parts[0] + (lens[0] >= 2 ? 2 : lens[0]));
		goto out;
	}
	rc = 0;
out:
	if (parts)
		su_free_args(parts, lens, n);
	if (rc != 0) {
		mem_free(*name);
		*name = NULL;
	}
	return rc;
}

static void load_hook(lua_State *L, lua_Debug *ar)
{
	struct script_worker *w = script_worker_of(L);

	(void)ar;
	if (w->load && clock_mono_us() - w->load->start_us > LOAD_TIMEOUT_US) {
		lua_sethook(L, load_hook, LUA_MASKLINE, 0);
		script_lua_push_error(L, "FUNCTION LOAD timeout");
		lua_error(L);
	}
}

/* Compiles and runs lib's code (from skip) in w's state with the load
 * API; the functions it registers are added to lib and to the registry
 * table FLOAD_KEY (made anew). 0, or -1 with err (Redis's texts). */
static int lib_run(struct script_worker *w, struct flib *lib, size_t skip, char *err, size_t errlen)
{
	lua_State *L = w->L;
	struct script_fload ld = {.lib = lib, .start_us = clock_mono_us()};
	struct script_run dummy = {0}; /* the memory cap applies while it runs */
	int top = lua_gettop(L), rc = -1;

	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, FLOAD_KEY);
	if (luaL_loadbuffer(L, lib->code + skip, lib->len - skip, "@user_function")) {
		snprintf(err, errlen, "Error compiling function: %s", lua_tostring(L, -1));
		goto out;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_FENV_KEY);
	lua_setfenv(L, -2);
	script_lua_fenv_mode(L, true);
	w->load = &ld;
	w->run = &dummy;
	lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
	int prc = lua_pcall(L, 0, 0, 0);
	lua_sethook(L, NULL, 0, 0);
	w->run = NULL;
	w->load = NULL;
	script_lua_fenv_mode(L, false);
	if (prc) {
		/* luaExtractErrorInformation: a string error gets "ERR " */
		if (lua_isstring(L, -1)) {
			snprintf(err, errlen, "Error registering functions: ERR %s",
				 lua_tostring(L, -1));
		} else {
			const char *msg = NULL;

			if (lua_istable(L, -1)) {
				lua_getfield(L, -1, "err");
				msg = lua_tostring(L, -1);
			}
			snprintf(err, errlen, "Error registering functions: %s",
				 msg ? msg : "(null)");
		}
		goto out;
	}
	if (lib->n == 0) {
		snprintf(err, errlen, "No functions registered");
		goto out;
	}
	rc = 0;
out:
	lua_settop(L, top);
	return rc;
}

/* A library from its code, checked and run in w's state: 0 and *out, or
 * -1 with err. */
static int lib_build(struct script_worker *w, const char *code, size_t len, struct flib **out,
		     char *err, size_t errlen)
{
	struct flib *lib = mem_calloc(1, sizeof(*lib));
	size_t skip;

	*out = NULL;
	if (lib_meta(code, len, &lib->name, &skip, err, errlen) != 0) {
		mem_free(lib);
		return -1;
	}
	lib->code = dup_n(code, len);
	lib->len = len;
	if (lib_run(w, lib, skip, err, errlen) != 0) {
		lib_free(lib);
		return -1;
	}
	*out = lib;
	return 0;
}

/* ---- the registry (callers hold fn_lock) */

static struct flib *find_lib_locked(struct flib *list, const char *name)
{
	for (struct flib *l = list; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static const struct ffunc *find_fn_locked(struct flib *list, const char *name, size_t n,
					  const struct flib *skip)
{
	for (struct flib *l = list; l; l = l->next) {
		if (l == skip)
			continue;
		for (int i = 0; i < l->n; i++)
			if (strlen(l->fns[i].name) == n &&
			    strncasecmp(l->fns[i].name, name, n) == 0)
				return &l->fns[i];
	}
	return NULL;
}

static void unlink_lib_locked(struct flib **list, struct flib *lib)
{
	for (struct flib **pp = list; *pp; pp = &(*pp)->next)
		if (*pp == lib) {
			*pp = lib->next;
			lib->next = NULL;
			return;
		}
}

static void append_locked(struct flib **list, struct flib *lib)
{
	struct flib **pp = list;

	while (*pp)
		pp = &(*pp)->next;
	lib->next = NULL;
	*pp = lib;
}

/* Links lib into *list (replacing one of its name when replace): 0, or -1
 * with err and nothing changed. lib_fmt: the "already exists" text. */
static int link_locked(struct flib **list, struct flib *lib, bool replace, const char *lib_fmt,
		       char *err, size_t errlen)
{
	struct flib *old = find_lib_locked(*list, lib->name);

	if (old && !replace) {
		snprintf(err, errlen, lib_fmt, lib->name);
		return -1;
	}
	for (int i = 0; i < lib->n; i++)
		if (find_fn_locked(*list, lib->fns[i].name, strlen(lib->fns[i].name), old)) {
			snprintf(err, errlen, "Function %s already exists", lib->fns[i].name);
			return -1;
		}
	if (old) {
		unlink_lib_locked(list, old);
		lib_free(old);
	}
	append_locked(list, lib);
	return 0;
}

/* ---- worker states: the libraries' Lua functions */

/* Re-runs every library's code in w's state (generation g). false when one
 * fails there (out of memory): the state keeps no functions then. */
static bool worker_sync(struct script_worker *w, char **codes, size_t *lens, int n, uint64_t g)
{
	lua_State *L = w->L;
	char err[512];
	bool ok = true;

	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_FUNCS_KEY);
	for (int i = 0; i < n && ok; i++) {
		struct flib *lib = NULL;

		if (lib_build(w, codes[i], lens[i], &lib, err, sizeof(err)) != 0) {
			ok = false;
			break;
		}
		lib_free(lib);
		lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_FUNCS_KEY);
		lua_getfield(L, LUA_REGISTRYINDEX, FLOAD_KEY);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_settable(L, -5);
		}
		lua_pop(L, 2);
	}
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, FLOAD_KEY);
	w->fgen = ok ? g : 0;
	if (!ok) {
		lua_newtable(L);
		lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_FUNCS_KEY);
	}
	lua_gc(L, LUA_GCCOLLECT, 0);
	return ok;
}

static void codes_free(char **codes, size_t *lens, int n)
{
	for (int i = 0; i < n; i++)
		mem_free(codes[i]);
	mem_free(codes);
	mem_free(lens);
}

/* Copies every library's code (caller holds fn_lock). */
static int codes_locked(char ***codes, size_t **lens)
{
	int n = 0, i = 0;

	for (struct flib *l = libs; l; l = l->next)
		n++;
	*codes = mem_alloc((size_t)(n ? n : 1) * sizeof(**codes));
	*lens = mem_alloc((size_t)(n ? n : 1) * sizeof(**lens));
	for (struct flib *l = libs; l; l = l->next, i++) {
		(*codes)[i] = dup_n(l->code, l->len);
		(*lens)[i] = l->len;
	}
	return n;
}

/* ---- FCALL / FCALL_RO */

static void fcall_generic(struct cmd_req *r, bool ro)
{
	struct conn *c = r->c;
	struct script_worker *w;

	/* MONITOR: shown when it starts, as EVAL (script.c) */
	net_monitor_feed(c, r->argc, r->argv, r->argl);
	w = script_worker_get(r->ctx);
	char **codes = NULL, *fname = NULL, *key;
	size_t *lens = NULL;
	int ncodes = 0;
	unsigned flags = 0;
	uint64_t g = 0;
	long long numkeys;

	if (!w) {
		reply_error(c, "ERR could not create the Lua state");
		return;
	}
	pthread_mutex_lock(&fn_lock);
	const struct ffunc *f = find_fn_locked(libs, r->argv[1], r->argl[1], NULL);
	if (f) {
		flags = f->flags;
		fname = dup_n(f->name, strlen(f->name));
		g = fn_gen;
		if (w->fgen != g)
			ncodes = codes_locked(&codes, &lens);
	}
	pthread_mutex_unlock(&fn_lock);
	if (!fname) {
		reply_error(c, "ERR Function not found");
		return;
	}
	if (!resp_str2ll(r->argv[2], r->argl[2], &numkeys)) {
		reply_error(c, "ERR Bad number of keys provided");
		goto out;
	}
	if (numkeys > r->argc - 3) {
		reply_error(c, "ERR Number of keys can't be greater than number of args");
		goto out;
	}
	if (numkeys < 0) {
		reply_error(c, "ERR Number of keys can't be negative");
		goto out;
	}
	if ((flags & SCRIPT_FLAG_NO_CLUSTER) && cluster_on) { /* Redis's scriptPrepareForRun */
		reply_error(c, "ERR Can not run script on cluster, 'no-cluster' flag is set.");
		goto out;
	}
	if (!(flags & SCRIPT_FLAG_NO_WRITES) && ro) {
		reply_error(c, "ERR Can not execute a script with write flag using *_ro command.");
		goto out;
	}
	bool over = cfg_int(CFG_MAXMEMORY) > 0 && db_check_memory(r->db, r->now_ms) == -ENOMEM;
	if (over && !(flags & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES))) {
		reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
		goto out;
	}
	if (codes && !worker_sync(w, codes, lens, ncodes, g)) {
		reply_error(c, "ERR could not load the function libraries (out of memory)");
		goto out;
	}
	key = lower_dup(fname);
	lua_getfield(w->L, LUA_REGISTRYINDEX, SCRIPT_FUNCS_KEY);
	lua_getfield(w->L, -1, key);
	lua_remove(w->L, -2);
	mem_free(key);
	if (!lua_isfunction(w->L, -1)) {
		lua_pop(w->L, 1);
		reply_error(c, "ERR Function not found");
		goto out;
	}
	struct script_exec x = {.name = fname,
				.ro = ro || (flags & SCRIPT_FLAG_NO_WRITES),
				.oom = over && !(flags & SCRIPT_FLAG_ALLOW_OOM),
				.is_func = true,
				.nkeys = (int)numkeys};
	script_exec(r, w, lua_gettop(w->L), &x);
out:
	if (codes)
		codes_free(codes, lens, ncodes);
	mem_free(fname);
}

static void fcall_cmd(struct cmd_req *r)
{
	fcall_generic(r, false);
}

static void fcall_ro_cmd(struct cmd_req *r)
{
	fcall_generic(r, true);
}

bool script_func_is_fcall(const struct cmd_def *d)
{
	return d->proc == fcall_cmd || d->proc == fcall_ro_cmd;
}

/* ---- FUNCTION */

static void subcmd_syntax_error(struct cmd_req *r)
{
	reply_errorf(r->c,
		     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
		     "FUNCTION HELP.",
		     (int)(r->argl[1] > 128 ? 128 : r->argl[1]), r->argv[1]);
}

static void changed_locked(void)
{
	fn_gen++;
}

static void function_load_cmd(struct cmd_req *r)
{
	struct script_worker *w;
	struct flib *lib = NULL;
	bool replace = false;
	int i = 2;
	char err[1024];

	for (; i < r->argc - 1; i++) {
		if (cmd_arg_is(r, i, "replace")) {
			replace = true;
			continue;
		}
		reply_errorf(r->c, "ERR Unknown option given: %.*s", (int)r->argl[i], r->argv[i]);
		return;
	}
	if (i >= r->argc) {
		reply_error(r->c, "ERR Function code is missing");
		return;
	}
	{
		char *name = NULL;
		size_t skip;

		if (lib_meta(r->argv[i], r->argl[i], &name, &skip, err, sizeof(err)) != 0)
			goto fail;
		pthread_mutex_lock(&fn_lock);
		bool exists = find_lib_locked(libs, name) != NULL;
		pthread_mutex_unlock(&fn_lock);
		if (exists && !replace) {
			snprintf(err, sizeof(err), "Library '%s' already exists", name);
			mem_free(name);
			goto fail;
		}
		mem_free(name);
	}
	w = script_worker_get(r->ctx);
	if (!w) {
		reply_error(r->c, "ERR could not create the Lua state");
		return;
	}
	if (lib_build(w, r->argv[i], r->argl[i], &lib, err, sizeof(err)) != 0)
		goto fail;
	char *name = dup_n(lib->name, strlen(lib->name));
	pthread_mutex_lock(&fn_lock);
	int rc = link_locked(&libs, lib, replace, "Library '%s' already exists", err, sizeof(err));
	if (rc == 0)
		changed_locked();
	pthread_mutex_unlock(&fn_lock);
	if (rc != 0) {
		lib_free(lib);
		mem_free(name);
		goto fail;
	}
	psrv_dirty(r->ctx);
	reply_bulk(r->c, name, strlen(name));
	mem_free(name);
	return;
fail:
	reply_errorf(r->c, "ERR %s", err);
}

static void function_delete_cmd(struct cmd_req *r)
{
	char *name = dup_n(r->argv[2], r->argl[2]);

	pthread_mutex_lock(&fn_lock);
	struct flib *l = find_lib_locked(libs, name);
	if (l) {
		unlink_lib_locked(&libs, l);
		changed_locked();
	}
	pthread_mutex_unlock(&fn_lock);
	mem_free(name);
	if (!l) {
		reply_error(r->c, "ERR Library not found");
		return;
	}
	lib_free(l);
	psrv_dirty(r->ctx);
	reply_ok(r->c);
}

void script_func_flush(void)
{
	pthread_mutex_lock(&fn_lock);
	struct flib *old = libs;
	libs = NULL;
	changed_locked();
	pthread_mutex_unlock(&fn_lock);
	libs_free(old);
}

static void function_flush_cmd(struct cmd_req *r)
{
	if (r->argc > 3) {
		subcmd_syntax_error(r);
		return;
	}
	if (r->argc == 3 && !cmd_arg_is(r, 2, "sync") && !cmd_arg_is(r, 2, "async")) {
		reply_error(r->c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
		return;
	}
	script_func_flush();
	psrv_dirty(r->ctx);
	reply_ok(r->c);
}

static void function_list_cmd(struct cmd_req *r)
{
	bool with_code = false;
	const char *pat = NULL;
	size_t plen = 0;
	struct conn *c = r->c;

	for (int i = 2; i < r->argc; i++) {
		if (!with_code && cmd_arg_is(r, i, "withcode")) {
			with_code = true;
			continue;
		}
		if (!pat && cmd_arg_is(r, i, "libraryname")) {
			if (i >= r->argc - 1) {
				reply_error(c, "ERR library name argument was not given");
				return;
			}
			i++;
			pat = r->argv[i];
			plen = r->argl[i];
			continue;
		}
		reply_errorf(c, "ERR Unknown argument %.*s", (int)r->argl[i], r->argv[i]);
		return;
	}
	pthread_mutex_lock(&fn_lock);
	long long n = 0;
	for (struct flib *l = libs; l; l = l->next)
		if (!pat || su_glob_match(pat, plen, l->name, strlen(l->name), 1))
			n++;
	reply_array(c, n);
	for (struct flib *l = libs; l; l = l->next) {
		if (pat && !su_glob_match(pat, plen, l->name, strlen(l->name), 1))
			continue;
		reply_map(c, with_code ? 4 : 3);
		reply_bulk_cstr(c, "library_name");
		reply_bulk_cstr(c, l->name);
		reply_bulk_cstr(c, "engine");
		reply_bulk_cstr(c, "LUA");
		reply_bulk_cstr(c, "functions");
		reply_array(c, l->n);
		for (int i = 0; i < l->n; i++) {
			const struct ffunc *f = &l->fns[i];
			int nf = 0;

			reply_map(c, 3);
			reply_bulk_cstr(c, "name");
			reply_bulk_cstr(c, f->name);
			reply_bulk_cstr(c, "description");
			if (f->desc)
				reply_bulk_cstr(c, f->desc);
			else
				reply_null(c);
			reply_bulk_cstr(c, "flags");
			for (size_t k = 0; k < NFLAGS; k++)
				nf += (f->flags & flag_names[k].flag) != 0;
			reply_set(c, nf);
			for (size_t k = 0; k < NFLAGS; k++)
				if (f->flags & flag_names[k].flag)
					reply_simple(c, flag_names[k].name);
		}
		if (with_code) {
			reply_bulk_cstr(c, "library_code");
			reply_bulk(c, l->code, l->len);
		}
	}
	pthread_mutex_unlock(&fn_lock);
}

static void function_dump_cmd(struct cmd_req *r)
{
	struct rdb_buf b = {0};
	unsigned char tail[10];
	uint64_t crc;

	pthread_mutex_lock(&fn_lock);
	for (struct flib *l = libs; l; l = l->next) {
		unsigned char op = RDB_OPCODE_FUNCTION2;

		rdb_buf_put(&b, &op, 1);
		rdb_put_string(&b, l->code, l->len, cfg_int(CFG_RDBCOMPRESSION) != 0);
	}
	pthread_mutex_unlock(&fn_lock);
	tail[0] = RDB_VERSION & 0xff;
	tail[1] = (RDB_VERSION >> 8) & 0xff;
	rdb_buf_put(&b, tail, 2);
	crc = crc64(0, b.p, b.len);
	for (int i = 0; i < 8; i++)
		tail[i] = (unsigned char)(crc >> (8 * i));
	rdb_buf_put(&b, tail, 8);
	reply_bulk(r->c, b.p, b.len);
	rdb_buf_free(&b);
}

enum { POLICY_APPEND, POLICY_REPLACE, POLICY_FLUSH };

static void function_restore_cmd(struct cmd_req *r)
{
	int policy = POLICY_APPEND;
	const unsigned char *p = (const unsigned char *)r->argv[2];
	size_t n = r->argl[2], vlen, pos = 0;
	struct flib *fresh = NULL;
	struct rdb_buf code = {0};
	char err[1024];
	struct script_worker *w;

	if (r->argc > 4) {
		subcmd_syntax_error(r);
		return;
	}
	if (r->argc == 4) {
		if (cmd_arg_is(r, 3, "append"))
			policy = POLICY_APPEND;
		else if (cmd_arg_is(r, 3, "replace"))
			policy = POLICY_REPLACE;
		else if (cmd_arg_is(r, 3, "flush"))
			policy = POLICY_FLUSH;
		else {
			reply_error(r->c, "ERR Wrong restore policy given, value should be either "
					  "FLUSH, APPEND or REPLACE.");
			return;
		}
	}
	if (!rdb_dump_verify(p, n, &vlen)) {
		reply_error(r->c, "ERR DUMP payload version or checksum are wrong");
		return;
	}
	w = script_worker_get(r->ctx);
	if (!w) {
		reply_error(r->c, "ERR could not create the Lua state");
		return;
	}
	while (pos < vlen) {
		struct flib *lib;
		size_t used;

		if (p[pos] == RDB_OPCODE_FUNCTION) {
			snprintf(err, sizeof(err), "Pre-GA function format not supported");
			goto fail;
		}
		if (p[pos] != RDB_OPCODE_FUNCTION2) {
			snprintf(err, sizeof(err), "given type is not a function");
			goto fail;
		}
		pos++;
		used = rdb_get_string(p + pos, vlen - pos, &code);
		if (used == 0) {
			snprintf(err, sizeof(err), "Failed loading library payload");
			goto fail;
		}
		pos += used;
		if (lib_build(w, (const char *)code.p, code.len, &lib, err, sizeof(err)) != 0)
			goto fail;
		if (link_locked(&fresh, lib, false, "Library '%s' already exists", err,
				sizeof(err)) != 0) {
			lib_free(lib);
			goto fail;
		}
	}
	pthread_mutex_lock(&fn_lock);
	if (policy == POLICY_FLUSH) {
		struct flib *old = libs;
		libs = fresh;
		fresh = old;
	} else {
		/* check everything first: on an error nothing changes */
		for (struct flib *l = fresh; l; l = l->next) {
			struct flib *old = find_lib_locked(libs, l->name);

			if (old && policy == POLICY_APPEND) {
				snprintf(err, sizeof(err), "Library %s already exists", l->name);
				pthread_mutex_unlock(&fn_lock);
				goto fail;
			}
		}
		for (struct flib *l = fresh; l; l = l->next)
			for (int i = 0; i < l->n; i++) {
				const struct ffunc *f = find_fn_locked(
				    libs, l->fns[i].name, strlen(l->fns[i].name), NULL);
				struct flib *owner = NULL;

				for (struct flib *o = libs; f && o; o = o->next)
					if (f >= o->fns && f < o->fns + o->n)
						owner = o;
				/* a function of a library being replaced does not collide */
				if (f && !(owner && find_lib_locked(fresh, owner->name))) {
					snprintf(err, sizeof(err), "Function %s already exists",
						 l->fns[i].name);
					pthread_mutex_unlock(&fn_lock);
					goto fail;
				}
			}
		while (fresh) {
			struct flib *l = fresh;
			fresh = l->next;
			struct flib *old = find_lib_locked(libs, l->name);
			if (old) {
				unlink_lib_locked(&libs, old);
				lib_free(old);
			}
			append_locked(&libs, l);
		}
	}
	changed_locked();
	pthread_mutex_unlock(&fn_lock);
	libs_free(fresh);
	rdb_buf_free(&code);
	psrv_dirty(r->ctx);
	reply_ok(r->c);
	return;
fail:
	libs_free(fresh);
	rdb_buf_free(&code);
	reply_errorf(r->c, "ERR %s", err);
}

static void function_stats_cmd(struct cmd_req *r)
{
	struct conn *c = r->c;
	char *name = NULL, **argv = NULL;
	size_t *argl = NULL;
	int argc = 0;
	long long ms = 0;
	int busy = script_busy_function(&name, &argv, &argl, &argc, &ms);
	long long nl = 0, nf = 0;

	if (busy < 0) {
		reply_error(c, "BUSY Redis is busy running a script. You can only call SCRIPT KILL "
			       "or SHUTDOWN NOSAVE.");
		return;
	}
	reply_map(c, 2);
	reply_bulk_cstr(c, "running_script");
	if (busy == 0) {
		reply_null(c);
	} else {
		reply_map(c, 3);
		reply_bulk_cstr(c, "name");
		reply_bulk_cstr(c, name);
		reply_bulk_cstr(c, "command");
		reply_array(c, argc);
		for (int i = 0; i < argc; i++) {
			reply_bulk(c, argv[i], argl[i]);
			mem_free(argv[i]);
		}
		reply_bulk_cstr(c, "duration_ms");
		reply_int(c, ms);
		mem_free(argv);
		mem_free(argl);
		mem_free(name);
	}
	pthread_mutex_lock(&fn_lock);
	for (struct flib *l = libs; l; l = l->next) {
		nl++;
		nf += l->n;
	}
	pthread_mutex_unlock(&fn_lock);
	reply_bulk_cstr(c, "engines");
	reply_map(c, 1);
	reply_bulk_cstr(c, "LUA");
	reply_map(c, 2);
	reply_bulk_cstr(c, "libraries_count");
	reply_int(c, nl);
	reply_bulk_cstr(c, "functions_count");
	reply_int(c, nf);
}

static void function_kill_cmd(struct cmd_req *r)
{
	script_kill(r, false);
}

static void function_help_cmd(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "LOAD [REPLACE] <FUNCTION CODE>",
	    "    Create a new library with the given library name and code.",
	    "DELETE <LIBRARY NAME>",
	    "    Delete the given library.",
	    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	    "    Return general information on all the libraries:",
	    "    * Library name",
	    "    * The engine used to run the Library",
	    "    * Library description",
	    "    * Functions list",
	    "    * Library code (if WITHCODE is given)",
	    "    It also possible to get only function that matches a pattern using LIBRARYNAME "
	    "argument.",
	    "STATS",
	    "    Return information about the current function running:",
	    "    * Function name",
	    "    * Command used to run the function",
	    "    * Duration in MS that the function is running",
	    "    If no function is running, return nil",
	    "    In addition, returns a list of available engines.",
	    "KILL",
	    "    Kill the current running function.",
	    "FLUSH [ASYNC|SYNC]",
	    "    Delete all the libraries.",
	    "    When called without the optional mode argument, the behavior is determined by the",
	    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	    "    * ASYNC: Asynchronously flush the libraries.",
	    "    * SYNC: Synchronously flush the libraries.",
	    "DUMP",
	    "    Return a serialized payload representing the current libraries, can be restored "
	    "using FUNCTION RESTORE command",
	    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	    "    Restore the libraries represented by the given payload, it is possible to give a "
	    "restore policy to",
	    "    control how to handle existing libraries (default APPEND):",
	    "    * FLUSH: delete all existing libraries.",
	    "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
	    "abort.",
	    "    * REPLACE: appends the restored libraries to the existing libraries, On "
	    "collision, "
	    "replace the old",
	    "      libraries with the new libraries (notice that even on this option there is a "
	    "chance of failure",
	    "      in case of functions name collision with another library).",
	    NULL};

	cmd_reply_help(r, lines);
}

/* ---- persistence */

int script_func_codes(char ***codes, size_t **lens)
{
	int n;

	pthread_mutex_lock(&fn_lock);
	n = codes_locked(codes, lens);
	pthread_mutex_unlock(&fn_lock);
	return n;
}

void script_func_codes_free(char **codes, size_t *lens, int n)
{
	codes_free(codes, lens, n);
}

int script_func_rdb_load(void *arg, const char *code, size_t len, char *err, size_t errlen)
{
	struct script_worker tmp = {.slot = -1};
	struct flib *lib = NULL;
	int rc = -1;

	(void)arg;
	tmp.L = script_lua_create(&tmp);
	if (!tmp.L) {
		snprintf(err, errlen, "could not create a Lua state");
		return -1;
	}
	if (lib_build(&tmp, code, len, &lib, err, errlen) == 0) {
		pthread_mutex_lock(&fn_lock);
		rc = link_locked(&libs, lib, true, "Library '%s' already exists", err, errlen);
		if (rc == 0)
			changed_locked();
		pthread_mutex_unlock(&fn_lock);
		if (rc != 0)
			lib_free(lib);
	}
	lua_close(tmp.L);
	return rc;
}

long long script_func_count(bool libraries)
{
	long long n = 0;

	pthread_mutex_lock(&fn_lock);
	for (struct flib *l = libs; l; l = l->next)
		n += libraries ? 1 : l->n;
	pthread_mutex_unlock(&fn_lock);
	return n;
}

/* ---- the table */

static const struct cmd_def function_subcmds[] = {
    {"function|delete", function_delete_cmd, 3, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0,
     "write slow scripting", "scripting", "Delete a function by name", "7.0.0", "O(1)", NULL},
    {"function|dump", function_dump_cmd, 2, CMD_NOSCRIPT, 0, 0, 0, "slow scripting", "scripting",
     "Dump all functions into a serialized binary payload", "7.0.0",
     "O(N) where N is the number of functions", NULL},
    {"function|flush", function_flush_cmd, -2, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0,
     "write slow scripting", "scripting", "Deleting all functions", "7.0.0",
     "O(N) where N is the number of functions deleted", NULL},
    {"function|help", function_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow scripting",
     "scripting", "Show helpful text about the different subcommands", "7.0.0", "O(1)", NULL},
    {"function|kill", function_kill_cmd, 2, CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0,
     "slow scripting", "scripting", "Kill the function currently in execution.", "7.0.0", "O(1)",
     NULL},
    {"function|list", function_list_cmd, -2, CMD_NOSCRIPT, 0, 0, 0, "slow scripting", "scripting",
     "List information about all the functions", "7.0.0", "O(N) where N is the number of functions",
     NULL},
    {"function|load", function_load_cmd, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0,
     "write slow scripting", "scripting",
     "Create a function with the given arguments (name, code, description)", "7.0.0",
     "O(1) (considering compilation time is redundant)", NULL},
    {"function|restore", function_restore_cmd, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0,
     "write slow scripting", "scripting", "Restore all the functions on the given payload", "7.0.0",
     "O(N) where N is the number of functions on the payload", NULL},
    {"function|stats", function_stats_cmd, 2, CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0,
     "slow scripting", "scripting",
     "Return information about the function currently running (name, description, duration)",
     "7.0.0", "O(1)", NULL},
    {NULL},
};

const struct cmd_def cmd_function_table[] = {
    {"fcall", fcall_cmd, -3, CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE, 0, 0, 0, "slow scripting",
     "scripting", "Invoke a function", "7.0.0", "Depends on the function that is executed.", NULL},
    {"fcall_ro", fcall_ro_cmd, -3, CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE | CMD_READONLY, 0, 0,
     0, "slow scripting", "scripting", "Invoke a read-only function", "7.0.0",
     "Depends on the function that is executed.", NULL},
    {"function", NULL, -2, 0, 0, 0, 0, "slow", "scripting", "A container for function commands",
     "7.0.0", "Depends on subcommand.", function_subcmds},
    {NULL},
};

void script_func_teardown(void)
{
	pthread_mutex_lock(&fn_lock);
	struct flib *old = libs;
	libs = NULL;
	pthread_mutex_unlock(&fn_lock);
	libs_free(old);
}
