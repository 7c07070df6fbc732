/*
 * script_lua.c — the Lua environment a script sees (script_internal.h):
 * state creation with Redis 7.0's libraries and sandbox, the guarded
 * entry points for stock Lua's known crashers, Lua <-> RESP conversions,
 * and the redis.* functions that do not run commands.
 *
 * Sandbox. Debian's Lua lacks Redis's readonly-table patch, so protection
 * is built from metatables: the globals table holds nothing itself (its
 * contents live in a hidden table that __index reads; reading a missing
 * name raises "Script attempted to access nonexistent global variable",
 * assigning raises "Attempt to modify a readonly table"), and each library
 * table is replaced by such an empty proxy. rawset and setmetatable are
 * wrapped to refuse proxies, and unpack, bit.tohex and cjson.encode are
 * wrapped against CVE-2025-46817, CVE-2024-31449 and CVE-2022-24834. io,
 * os, loadfile, dofile, load, loadstring, require and module are absent.
 *
 * Functions (script_func.c) run in their own globals table (fenv_create):
 * the load API while FUNCTION LOAD runs a library's code, the scripts'
 * globals without KEYS and ARGV when a function runs.
 *
 * Libraries: base, table, string, math, debug (read only), cjson, bit, and
 * the hook script_lua_extra_libs() where cmsgpack and struct register.
 */
#include "server/script_internal.h"

#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency/mem.h"
#include "server/log.h"
#include "server/lua_cmsgpack.h"
#include "server/lua_struct.h"
#include "server/sha1.h"

int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);

static const char READONLY_KEY[] = "kvsd_readonly"; /* registry: set of proxies */
static const char HIDDEN_KEY[] = "kvsd_globals";    /* registry: the real globals */
#define FENV_LOAD_KEY "kvsd_fenv_load"		    /* registry: F's __index during FUNCTION LOAD */
#define FENV_RUN_KEY  "kvsd_fenv_run"		    /* registry: F's __index when a function runs */

/* ---- math.random as Redis 7.0 (rand.c's rand48, one sequence per process) */

static pthread_mutex_t rand_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rand_x = 0x1234ABCD330Eull; /* under rand_lock */

static int32_t lrand48_shared(void)
{
	int32_t v;

	pthread_mutex_lock(&rand_lock);
	rand_x = (rand_x * 0x5DEECE66Dull + 0xB) & 0xFFFFFFFFFFFFull;
	v = (int32_t)(rand_x >> 17);
	pthread_mutex_unlock(&rand_lock);
	return v;
}

static int math_random(lua_State *L)
{
	lua_Number r = (lua_Number)(lrand48_shared() % INT32_MAX) / (lua_Number)INT32_MAX;

	switch (lua_gettop(L)) {
	case 0:
		lua_pushnumber(L, r);
		break;
	case 1: {
		int u = luaL_checkint(L, 1);
		luaL_argcheck(L, 1 <= u, 1, "interval is empty");
		lua_pushnumber(L, floor(r * u) + 1);
		break;
	}
	case 2: {
		int l = luaL_checkint(L, 1);
		int u = luaL_checkint(L, 2);
		luaL_argcheck(L, l <= u, 2, "interval is empty");
		lua_pushnumber(L, floor(r * (u - l + 1)) + l);
		break;
	}
	default:
		return luaL_error(L, "wrong number of arguments");
	}
	return 1;
}

static int math_randomseed(lua_State *L)
{
	int32_t seed = (int32_t)luaL_checkint(L, 1);

	pthread_mutex_lock(&rand_lock);
	rand_x = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
	pthread_mutex_unlock(&rand_lock);
	return 0;
}

/* ---- guarded entry points */

/* unpack with the CVE-2025-46817 fix: the count computed unsigned. */
static int guarded_unpack(lua_State *L)
{
	int i, e;
	unsigned n;

	luaL_checktype(L, 1, LUA_TTABLE);
	i = luaL_optint(L, 2, 1);
	e = luaL_opt(L, luaL_checkint, 3, (int)lua_objlen(L, 1));
	if (i > e)
		return 0;
	n = (unsigned)e - (unsigned)i;
	if (n >= INT_MAX || !lua_checkstack(L, (int)++n))
		return luaL_error(L, "too many results to unpack");
	lua_rawgeti(L, 1, i);
	while (i++ < e)
		lua_rawgeti(L, 1, i);
	return (int)n;
}

/* bit.tohex(x, n) with the CVE-2024-31449 fix: -INT_MIN overflowed. */
static int guarded_tohex(lua_State *L)
{
	int n = lua_isnone(L, 2) ? 8 : (int)luaL_checknumber(L, 2);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	if (n == INT_MIN)
		n = INT_MIN + 1;
	lua_pushinteger(L, n);
	lua_call(L, 2, 1);
	return 1;
}

/* A bound on what cjson.encode may write for v: 6 bytes per string byte
 * (\u00XX escapes) plus punctuation; stops early past `cap`. */
static double json_bound(lua_State *L, int idx, int depth, double cap)
{
	double n = 0;

	if (depth > 1000)
		return 0; /* cjson refuses deep nesting itself */
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		return 6.0 * (double)lua_objlen(L, idx) + 2;
	case LUA_TTABLE:
		lua_pushnil(L);
		while (n <= cap && lua_next(L, idx) != 0) {
			n += json_bound(L, lua_gettop(L) - 1, depth + 1, cap) +
			     json_bound(L, lua_gettop(L), depth + 1, cap) + 2;
			lua_pop(L, 1);
		}
		if (n > cap)
			lua_pop(L, 1); /* the key left by the early stop */
		return n + 2;
	default:
		return 32;
	}
}

/* cjson.encode with CVE-2022-24834 guarded: its buffer size is an int. */
static int guarded_json_encode(lua_State *L)
{
	double cap = (double)(INT_MAX / 2);

	luaL_checkany(L, 1);
	if (json_bound(L, 1, 0, cap) > cap)
		return luaL_error(L, "Cannot serialise: output too large");
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* ---- the sandbox */

static bool is_readonly(lua_State *L, int idx)
{
	bool ro;

	if (!lua_istable(L, idx))
		return false;
	lua_pushvalue(L, idx);
	lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
	lua_insert(L, -2);
	lua_rawget(L, -2);
	ro = lua_toboolean(L, -1);
	lua_pop(L, 2);
	return ro;
}

/* The position prefix ("user_script:1: ") of the script line that ran the
 * faulting statement, as luaG_runerror gives Redis's patched Lua. */
static int readonly_error(lua_State *L, int level)
{
	luaL_where(L, level);
	lua_pushstring(L, "Attempt to modify a readonly table");
	lua_concat(L, 2);
	return lua_error(L);
}

static int proxy_newindex(lua_State *L)
{
	return readonly_error(L, 1);
}

static int globals_index(lua_State *L)
{
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	if (!lua_isnil(L, -1))
		return 1;
	if (!lua_isstring(L, 2))
		return luaL_error(L, "Script attempted to access nonexistent global variable");
	return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
			  lua_tostring(L, 2));
}

static int guarded_rawset(lua_State *L)
{
	if (is_readonly(L, 1)) {
		lua_pushstring(L, "Attempt to modify a readonly table");
		return lua_error(L);
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 1;
}

static int guarded_setmetatable(lua_State *L)
{
	if (is_readonly(L, 1)) {
		lua_pushstring(L, "Attempt to modify a readonly table");
		return lua_error(L);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* Redis 7.0's pcall: an error table is caught as its err string. */
static int redis_pcall(lua_State *L)
{
	int argc = lua_gettop(L);

	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
		lua_remove(L, 1);
		if (lua_istable(L, -1)) {
			lua_getfield(L, -1, "err");
			if (lua_isstring(L, -1))
				lua_replace(L, -2);
			else
				lua_pop(L, 1);
		}
		lua_pushboolean(L, 0);
		lua_insert(L, 1);
	}
	return lua_gettop(L);
}

/* The table a proxy stands for (itself when not a proxy). */
static void push_real(lua_State *L, int idx)
{
	lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
	lua_pushvalue(L, idx);
	lua_rawget(L, -2);
	lua_remove(L, -2);
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_pushvalue(L, idx);
	}
}

/* next() and pairs() see through proxies, as through Redis's readonly
 * tables. */
static int proxy_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	push_real(L, 1);
	lua_replace(L, 1);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

/* rawget() reads through proxies too: Redis's readonly tables hold their
 * fields, so rawget(_G, 'redis') is the redis table there, not nil. */
static int proxy_rawget(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	lua_settop(L, 2);
	push_real(L, 1);
	lua_replace(L, 1);
	lua_rawget(L, 1);
	return 1;
}

static int proxy_pairs(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushcfunction(L, proxy_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

static int guarded_getmetatable(lua_State *L)
{
	if (is_readonly(L, 1)) {
		if (lua_rawequal(L, 1, LUA_GLOBALSINDEX))
			lua_newtable(L);
		else
			lua_pushnil(L);
		return 1;
	}
	luaL_checkany(L, 1);
	if (!lua_getmetatable(L, 1)) {
		lua_pushnil(L);
		return 1;
	}
	luaL_getmetafield(L, 1, "__metatable");
	return 1;
}

static int redis_acl_check_cmd(lua_State *L)
{
	size_t n;
	const char *name;

	if (lua_gettop(L) < 1 || !(name = lua_tolstring(L, 1, &n))) {
		script_lua_push_error(
		    L, "Please specify at least one argument for this redis lib call");
		return lua_error(L);
	}
	if (!cmd_lookup(name, n)) {
		script_lua_push_error(L, "Invalid command passed to redis.acl_check_cmd()");
		return lua_error(L);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* Pushes a readonly proxy of the table at stack index real: reads go to
 * it (through index, a closure over it, when not NULL), writes raise, and
 * the READONLY_KEY registry maps the proxy to it. */
static void push_proxy(lua_State *L, int real, lua_CFunction index)
{
	lua_newtable(L); /* the proxy */
	lua_newtable(L); /* its metatable */
	lua_pushvalue(L, real);
	if (index)
		lua_pushcclosure(L, index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, proxy_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
	lua_pushvalue(L, -2);
	lua_pushvalue(L, real);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* Replaces the table at the top of the stack by a readonly proxy of it. */
static void make_proxy(lua_State *L)
{
	int real = lua_gettop(L);

	push_proxy(L, real, NULL);
	lua_replace(L, real);
}

/* Redis 7.0's error handler: string errors become {err='ERR ...'}, and the
 * source and line of the script's faulting frame are added. */
static const char err_handler_src[] = "local dbg = debug\n"
				      "return function(err)\n"
				      "  local i = dbg.getinfo(2,'nSl')\n"
				      "  if i and i.what == 'C' then\n"
				      "    i = dbg.getinfo(3,'nSl')\n"
				      "  end\n"
				      "  if type(err) ~= 'table' then\n"
				      "    err = {err='ERR ' .. tostring(err)}\n"
				      "  end\n"
				      "  if i then\n"
				      "    err['source'] = i.source\n"
				      "    err['line'] = i.currentline\n"
				      "  end\n"
				      "  return err\n"
				      "end\n";

static void *lua_alloc_capped(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct script_worker *w = ud;

	if (nsize == 0) {
		w->lua_mem -= osize;
		mem_free(ptr);
		return NULL;
	}
	/* the cap applies while a script runs (its errors are caught there); the
	 * set-up around it (KEYS, ARGV: the client's arguments) runs unprotected */
	if (nsize > osize && w->run && w->lua_mem + (nsize - osize) > SCRIPT_LUA_MEM_MAX)
		return NULL; /* Lua raises "not enough memory" */
	void *p = mem_realloc(ptr, nsize);
	if (p)
		w->lua_mem += nsize - osize;
	return p;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction fn)
{
	lua_pushcfunction(L, fn);
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	/* some (Debian's cjson) return their table without setting a global */
	if (name[0] && lua_istable(L, -1))
		lua_setfield(L, LUA_GLOBALSINDEX, name);
	else
		lua_pop(L, 1);
}

/* sets G[name] = fn wrapping G[name] (as its upvalue) */
static void wrap_field(lua_State *L, int tab, const char *name, lua_CFunction fn)
{
	lua_getfield(L, tab, name);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, tab, name);
}

static int lua_panic_log(lua_State *L)
{
	LOG(3, "Lua panic: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
	return 0;
}

/*
 * The functions' environment (Redis 7.0's function engine): one table F,
 * the environment of every library's code, empty itself; its metatable's
 * __index is switched between the load API (only redis.register_function,
 * redis.log and its levels, REDIS_VERSION and REDIS_VERSION_NUM, as Redis's
 * LIBRARY_API) while FUNCTION LOAD runs the code, and the globals scripts
 * see (without KEYS and ARGV: functions get theirs as arguments) when a
 * function runs. Assigning a global fails in both.
 */
static int fenv_run_index(lua_State *L)
{
	const char *k = lua_tostring(L, 2);

	if (k && (strcmp(k, "KEYS") == 0 || strcmp(k, "ARGV") == 0))
		return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
				  k);
	return globals_index(L);
}

static void fenv_create(lua_State *L, int h)
{
	/* the load API's redis table, as a readonly proxy that raises on a
	 * missing name (redis.call during load) */
	lua_newtable(L);
	int real = lua_gettop(L);
	lua_pushcfunction(L, script_lua_register_function);
	lua_setfield(L, real, "register_function");
	lua_getfield(L, h, "redis");
	lua_getfield(L, -1, "log");
	lua_setfield(L, real, "log");
	static const char *const copied[] = {"LOG_DEBUG",   "LOG_VERBOSE",   "LOG_NOTICE",
					     "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"};
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		lua_getfield(L, -1, copied[i]);
		lua_setfield(L, real, copied[i]);
	}
	lua_pop(L, 1);
	push_proxy(L, real, globals_index);
	/* the load globals: redis only */
	lua_newtable(L);
	lua_insert(L, -2);
	lua_setfield(L, -2, "redis");
	lua_pushcclosure(L, globals_index, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, FENV_LOAD_KEY);
	lua_pop(L, 1); /* real */
	lua_pushvalue(L, h);
	lua_pushcclosure(L, fenv_run_index, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, FENV_RUN_KEY);
	/* F and its metatable */
	lua_newtable(L);
	lua_newtable(L);
	lua_getfield(L, LUA_REGISTRYINDEX, FENV_RUN_KEY);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, proxy_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
	lua_pushvalue(L, -2);
	lua_pushvalue(L, h);
	lua_rawset(L, -3);
	lua_pop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_FENV_KEY);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_FUNCS_KEY);
}

lua_State *script_lua_create(struct script_worker *w)
{
	lua_State *L = lua_newstate(lua_alloc_capped, w);
	static const char *const removed[] = {"loadfile", "dofile", "require", "module",
					      "newproxy", "print",  "getfenv", "setfenv"};
	static const char *const libs[] = {"string", "table", "math",	  "coroutine", "redis",
					   "cjson",  "bit",   "cmsgpack", "struct"};

	if (!L)
		return NULL;
	lua_atpanic(L, lua_panic_log);
	open_lib(L, "", luaopen_base);
	open_lib(L, LUA_TABLIBNAME, luaopen_table);
	open_lib(L, LUA_STRLIBNAME, luaopen_string);
	open_lib(L, LUA_MATHLIBNAME, luaopen_math);
	open_lib(L, LUA_DBLIBNAME, luaopen_debug);
	open_lib(L, "cjson", luaopen_cjson);
	open_lib(L, "bit", luaopen_bit);
	open_lib(L, "cmsgpack", luaopen_cmsgpack);
	open_lib(L, "struct", luaopen_struct);
	lua_settop(L, 0);

	lua_pushvalue(L, LUA_GLOBALSINDEX);
	int g = lua_gettop(L);
	for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
		lua_pushnil(L);
		lua_setfield(L, g, removed[i]);
	}
	lua_pushcfunction(L, guarded_unpack);
	lua_setfield(L, g, "unpack");
	lua_pushcfunction(L, guarded_rawset);
	lua_setfield(L, g, "rawset");
	wrap_field(L, g, "setmetatable", guarded_setmetatable);
	lua_pushcfunction(L, guarded_getmetatable);
	lua_setfield(L, g, "getmetatable");
	lua_pushcfunction(L, redis_pcall);
	lua_setfield(L, g, "pcall");
	lua_pushcfunction(L, proxy_next);
	lua_setfield(L, g, "next");
	lua_pushcfunction(L, proxy_pairs);
	lua_setfield(L, g, "pairs");
	lua_pushcfunction(L, proxy_rawget);
	lua_setfield(L, g, "rawget");
	lua_getfield(L, g, "math");
	lua_pushcfunction(L, math_random);
	lua_setfield(L, -2, "random");
	lua_pushcfunction(L, math_randomseed);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
	lua_getfield(L, g, "bit");
	wrap_field(L, lua_gettop(L), "tohex", guarded_tohex);
	lua_pop(L, 1);
	lua_getfield(L, g, "cjson");
	wrap_field(L, lua_gettop(L), "encode", guarded_json_encode);
	lua_pop(L, 1);
	script_lua_redis_lib(L, g);

	/* the error handler, kept in the registry */
	if (luaL_loadbuffer(L, err_handler_src, sizeof(err_handler_src) - 1, "=err_handler") ||
	    lua_pcall(L, 0, 1, 0)) {
		lua_close(L);
		return NULL;
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, g, "__redis__err__handler");
	lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_ERRH_KEY);
	lua_pushnil(L);
	lua_setfield(L, g, "debug"); /* the handler keeps its own reference */
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_FNS_KEY);

	/* the sandbox: proxies for the libraries, then an empty globals table */
	lua_newtable(L);
	lua_newtable(L);
	lua_pushstring(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		lua_getfield(L, g, libs[i]);
		if (!lua_istable(L, -1)) {
			lua_pop(L, 1);
			continue;
		}
		make_proxy(L);
		lua_setfield(L, g, libs[i]);
	}
	/* move everything into the hidden table H; G keeps nothing itself */
	lua_newtable(L);
	int h = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, g) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, h);
	}
	for (;;) {
		lua_pushnil(L);
		if (lua_next(L, g) == 0)
			break;
		lua_pop(L, 1);
		lua_pushnil(L);
		lua_rawset(L, g);
	}
	lua_pushvalue(L, g);
	lua_setfield(L, h, "_G");
	lua_pushvalue(L, h);
	lua_setfield(L, LUA_REGISTRYINDEX, HIDDEN_KEY);
	/* a missing name raises from H's own metatable, so that G's __index
	 * can be H itself: a script's global reads (redis, KEYS, ...) are the
	 * VM's table lookups, not a C call each. Nothing reads H with a
	 * non-raw get of a name it may lack. */
	lua_newtable(L);
	lua_pushvalue(L, h);
	lua_pushcclosure(L, globals_index, 1);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, h);
	lua_newtable(L); /* G's metatable */
	lua_pushvalue(L, h);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, proxy_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, g);
	lua_getfield(L, LUA_REGISTRYINDEX, READONLY_KEY);
	lua_pushvalue(L, g);
	lua_pushvalue(L, h);
	lua_rawset(L, -3);
	lua_settop(L, h);
	fenv_create(L, h);
	lua_settop(L, 0);
	/* the permanent slots (SCRIPT_SLOT_*) */
	lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_ERRH_KEY);
	lua_newtable(L);
	lua_newtable(L);
	w->arr_named[0] = w->arr_named[1] = false;
	return L;
}

void script_lua_fenv_mode(lua_State *L, bool load)
{
	lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_FENV_KEY);
	lua_getmetatable(L, -1);
	lua_getfield(L, LUA_REGISTRYINDEX, load ? FENV_LOAD_KEY : FENV_RUN_KEY);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 2);
}

void script_lua_set_array(lua_State *L, int which, const char *const *v, const size_t *l, int n)
{
	static const char *const names[2] = {"KEYS", "ARGV"};
	struct script_worker *w = script_worker_of(L);
	int t = SCRIPT_SLOT_KEYS + which;

	/* a new table per EVAL (as Redis) cost two allocations and their
	 * collection; globals are readonly, so no script can keep this one
	 * past its run, and what it changed in it is undone here */
	if (!w->arr_named[which]) {
		lua_getfield(L, LUA_REGISTRYINDEX, HIDDEN_KEY);
		lua_pushvalue(L, t);
		lua_setfield(L, -2, names[which]);
		lua_pop(L, 1);
		w->arr_named[which] = true;
	}
	if (lua_getmetatable(L, t)) {
		lua_pop(L, 1);
		lua_pushnil(L);
		lua_setmetatable(L, t);
	}
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_Number k;

		lua_pop(L, 1);
		/* clearing an existing field while traversing is allowed */
		if (lua_type(L, -1) != LUA_TNUMBER || (k = lua_tonumber(L, -1)) < 1 || k > n ||
		    k != (lua_Number)(int)k) {
			lua_pushvalue(L, -1);
			lua_pushnil(L);
			lua_rawset(L, t);
		}
	}
	for (int i = 0; i < n; i++) {
		lua_pushlstring(L, v[i], l[i]);
		lua_rawseti(L, t, i + 1);
	}
}

/* ---- RESP -> Lua (redisProtocolToLuaType) */

struct rp {
	const char *p, *e;
};

static bool rp_line(struct rp *x, const char **s, size_t *n)
{
	const char *q = memchr(x->p, '\r', (size_t)(x->e - x->p));

	if (!q || q + 1 >= x->e)
		return false;
	*s = x->p;
	*n = (size_t)(q - x->p);
	x->p = q + 2;
	return true;
}

static long long rp_ll(const char *s, size_t n)
{
	char buf[32];

	/* the usual case: a short run of digits (bulk and array lengths) */
	if (n > 0 && n < 10) {
		long long v = 0;
		size_t i = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			v = v * 10 + (s[i++] - '0');
		if (i == n)
			return v;
	}

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

static void push_field_table(lua_State *L, const char *field, const char *s, size_t n)
{
	lua_newtable(L);
	lua_pushstring(L, field);
	lua_pushlstring(L, s, n);
	lua_settable(L, -3);
}

/* Pushes one reply; false when the bytes are malformed (never, for
 * replies kvsd wrote). */
static bool rp_value(lua_State *L, struct rp *x, int depth)
{
	const char *s;
	size_t n;
	char t;

	if (x->p >= x->e || depth > 100 || !lua_checkstack(L, 8))
		return false;
	t = *x->p++;
	if (!rp_line(x, &s, &n))
		return false;
	switch (t) {
	case ':':
		lua_pushnumber(L, (lua_Number)rp_ll(s, n));
		return true;
	case '+':
		push_field_table(L, "ok", s, n);
		return true;
	case '-':
		push_field_table(L, "err", s, n);
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "ignore_error_stats_update");
		return true;
	case '$':
	case '=': {
		long long len = rp_ll(s, n);

		if (len < 0) {
			lua_pushboolean(L, 0);
			return true;
		}
		if (len + 2 > x->e - x->p)
			return false;
		if (t == '$') {
			lua_pushlstring(L, x->p, (size_t)len);
		} else {
			lua_newtable(L);
			lua_newtable(L);
			lua_pushlstring(L, x->p, len >= 3 ? 3 : (size_t)len);
			lua_setfield(L, -2, "format");
			lua_pushlstring(L, x->p + (len >= 4 ? 4 : len),
					len >= 4 ? (size_t)len - 4 : 0);
			lua_setfield(L, -2, "string");
			lua_setfield(L, -2, "verbatim_string");
		}
		x->p += len + 2;
		return true;
	}
	case '*':
	case '~':
	case '%': {
		long long cnt = rp_ll(s, n);

		if (cnt < 0) {
			lua_pushboolean(L, 0);
			return true;
		}
		/* sized up front (a table grown one element at a time is
		 * rehashed at each power of two) */
		int pre = cnt < 4096 ? (int)cnt : 4096;

		if (t == '*') {
			lua_createtable(L, pre, 0);
		} else {
			lua_newtable(L);
			lua_createtable(L, 0, pre);
		}
		for (long long i = 0; i < cnt; i++) {
			if (t == '*') {
				if (!rp_value(L, x, depth + 1))
					return false;
				/* a fresh table: no metamethod to skip */
				lua_rawseti(L, -2, (int)(i + 1));
			} else if (t == '~') {
				if (!rp_value(L, x, depth + 1))
					return false;
				lua_pushboolean(L, 1);
				lua_settable(L, -3);
			} else {
				if (!rp_value(L, x, depth + 1) || !rp_value(L, x, depth + 1))
					return false;
				lua_settable(L, -3);
			}
		}
		if (t != '*')
			lua_setfield(L, -2, t == '~' ? "set" : "map");
		return true;
	}
	case '_':
		lua_pushnil(L);
		return true;
	case '#':
		lua_pushboolean(L, n > 0 && s[0] == 't');
		return true;
	case ',': {
		char buf[64];

		if (n >= sizeof(buf))
			return false;
		memcpy(buf, s, n);
		buf[n] = '\0';
		lua_newtable(L);
		lua_pushnumber(L, strtod(buf, NULL));
		lua_setfield(L, -2, "double");
		return true;
	}
	case '(':
		push_field_table(L, "big_number", s, n);
		return true;
	default:
		return false;
	}
}

bool script_lua_push_reply(lua_State *L, const char *p, size_t len)
{
	struct rp x = {p, p + len};
	int top = lua_gettop(L);

	/* attributes (|) precede the value they describe: skip them */
	while (x.p < x.e && *x.p == '|') {
		if (!rp_value(L, &x, 0))
			break;
		lua_settop(L, top);
	}
	if (!rp_value(L, &x, 0)) {
		lua_settop(L, top);
		return false;
	}
	return true;
}

/* ---- Lua -> RESP (luaReplyToRedisReply) */

static void reply_sanitized(struct conn *c, char kind, const char *s, size_t n)
{
	char *b = mem_alloc(n + 1);

	for (size_t i = 0; i < n; i++)
		b[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
	b[n] = '\0';
	if (kind == '+') {
		reply_raw(c, "+", 1);
		reply_raw(c, b, n);
		reply_raw(c, "\r\n", 2);
	} else {
		reply_raw(c, "-", 1);
		reply_raw(c, b, n);
		reply_raw(c, "\r\n", 2);
	}
	mem_free(b);
}

void script_reply_error(struct conn *c, const char *msg, bool quiet)
{
	if (quiet)
		reply_sanitized(c, '-', msg, strlen(msg));
	else
		reply_error(c, msg);
}

/* the string field `name` of the table at idx, or NULL */
static const char *str_field(lua_State *L, int idx, const char *name, size_t *n)
{
	const char *s = NULL;

	lua_pushstring(L, name);
	lua_rawget(L, idx);
	if (lua_type(L, -1) == LUA_TSTRING)
		s = lua_tolstring(L, -1, n);
	lua_pop(L, 1); /* the string stays referenced by the table */
	return s;
}

void script_lua_reply(lua_State *L, struct conn *c, int idx, int depth)
{
	int resp = conn_resp(c);
	const char *s;
	size_t n;

	if (idx < 0)
		idx = lua_gettop(L) + idx + 1;
	if (!lua_checkstack(L, 4) || depth > 1000) {
		reply_error(c, "ERR reached lua stack limit");
		return;
	}
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		reply_bulk(c, s, n);
		return;
	case LUA_TBOOLEAN: /* 7.0.15: :1 or the null of the client's protocol */
		if (lua_toboolean(L, idx))
			reply_int(c, 1);
		else
			reply_null(c);
		return;
	case LUA_TNUMBER:
		reply_int(c, (long long)lua_tonumber(L, idx));
		return;
	case LUA_TTABLE:
		break;
	default:
		reply_null(c);
		return;
	}
	if ((s = str_field(L, idx, "err", &n)) != NULL) {
		lua_getfield(L, idx, "ignore_error_stats_update");
		bool quiet = lua_toboolean(L, -1);
		lua_pop(L, 1);
		char *b = mem_alloc(n + 1);
		memcpy(b, s, n);
		b[n] = '\0';
		script_reply_error(c, b, quiet);
		mem_free(b);
		return;
	}
	if ((s = str_field(L, idx, "ok", &n)) != NULL) {
		reply_sanitized(c, '+', s, n);
		return;
	}
	lua_pushstring(L, "double");
	lua_rawget(L, idx);
	if (lua_type(L, -1) == LUA_TNUMBER) {
		reply_double(c, lua_tonumber(L, -1));
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	if ((s = str_field(L, idx, "big_number", &n)) != NULL) {
		if (resp == 2) {
			reply_bulk(c, s, n);
		} else {
			char *b = mem_alloc(n + 1);

			for (size_t i = 0; i < n; i++)
				b[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
			reply_raw(c, "(", 1);
			reply_raw(c, b, n);
			reply_raw(c, "\r\n", 2);
			mem_free(b);
		}
		return;
	}
	for (int kind = 0; kind < 2; kind++) {
		lua_pushstring(L, kind == 0 ? "map" : "set");
		lua_rawget(L, idx);
		if (lua_type(L, -1) == LUA_TTABLE) {
			int t = lua_gettop(L);
			long long cnt = 0;

			lua_pushnil(L);
			while (lua_next(L, t) != 0) {
				cnt++;
				lua_pop(L, 1);
			}
			if (kind == 0)
				reply_map(c, cnt);
			else
				reply_set(c, cnt);
			lua_pushnil(L);
			while (lua_next(L, t) != 0) {
				script_lua_reply(L, c, -2, depth + 1);
				if (kind == 0)
					script_lua_reply(L, c, -1, depth + 1);
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
			return;
		}
		lua_pop(L, 1);
	}
	long long cnt = 0;

	for (;;) {
		lua_rawgeti(L, idx, (int)(cnt + 1));
		bool nil = lua_isnil(L, -1);
		lua_pop(L, 1);
		if (nil)
			break;
		cnt++;
	}
	reply_array(c, cnt);
	for (long long j = 1; j <= cnt; j++) {
		lua_rawgeti(L, idx, (int)j);
		script_lua_reply(L, c, -1, depth + 1);
		lua_pop(L, 1);
	}
}

/* ---- redis.* helpers that run no command */

/* Pushes Redis's error table for err_buffer (luaPushErrorBuff): "-CODE msg"
 * keeps CODE, anything else gets ERR. */
void script_lua_push_error(lua_State *L, const char *err)
{
	const char *msg, *code;
	size_t codelen;
	char *final;
	size_t ml;

	if (err[0] == '-') {
		const char *sp = strchr(err, ' ');
		if (!sp) {
			msg = err + 1;
			code = "ERR";
			codelen = 3;
		} else {
			msg = sp + 1;
			code = err + 1;
			codelen = (size_t)(sp - err - 1);
		}
	} else {
		msg = err;
		code = "ERR";
		codelen = 3;
	}
	ml = strlen(msg);
	while (ml && (msg[ml - 1] == '\r' || msg[ml - 1] == '\n'))
		ml--;
	while (ml && (msg[0] == '\r' || msg[0] == '\n')) {
		msg++;
		ml--;
	}
	final = mem_alloc(codelen + ml + 2);
	memcpy(final, code, codelen);
	final[codelen] = ' ';
	memcpy(final + codelen + 1, msg, ml);
	final[codelen + 1 + ml] = '\0';
	lua_newtable(L);
	lua_pushstring(L, "err");
	lua_pushstring(L, final);
	lua_settable(L, -3);
	mem_free(final);
}

static int single_field(lua_State *L, const char *field)
{
	if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
		script_lua_push_error(L, "wrong number or type of arguments");
		return 1;
	}
	lua_newtable(L);
	lua_pushstring(L, field);
	lua_pushvalue(L, -3);
	lua_settable(L, -3);
	return 1;
}

static int redis_status_reply(lua_State *L)
{
	return single_field(L, "ok");
}

static int redis_error_reply(lua_State *L)
{
	if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
		script_lua_push_error(L, "wrong number or type of arguments");
		return 1;
	}
	const char *e = lua_tostring(L, -1);
	if (e[0] == '-') {
		script_lua_push_error(L, e);
	} else {
		size_t n = strlen(e);
		char *b = mem_alloc(n + 2);
		b[0] = '-';
		memcpy(b + 1, e, n + 1);
		script_lua_push_error(L, b);
		mem_free(b);
	}
	return 1;
}

static int redis_sha1hex(lua_State *L)
{
	size_t n;
	const char *s;
	uint8_t d[SHA1_DIGEST_LEN];
	char hex[2 * SHA1_DIGEST_LEN + 1];

	if (lua_gettop(L) != 1) {
		lua_pushstring(L, "wrong number of arguments");
		return lua_error(L);
	}
	s = lua_tolstring(L, 1, &n);
	sha1(s ? s : "", s ? n : 0, d);
	sha1_hex(d, hex);
	lua_pushstring(L, hex);
	return 1;
}

static int redis_log(lua_State *L)
{
	int j, argc = lua_gettop(L), level;
	luaL_Buffer b;

	if (argc < 2) {
		script_lua_push_error(L, "redis.log() requires two arguments or more.");
		return lua_error(L);
	}
	if (!lua_isnumber(L, -argc)) {
		script_lua_push_error(L, "First argument must be a number (log level).");
		return lua_error(L);
	}
	level = (int)lua_tonumber(L, -argc);
	if (level < 0 || level > 3) {
		script_lua_push_error(L, "Invalid debug level.");
		return lua_error(L);
	}
	luaL_buffinit(L, &b);
	for (j = 1; j < argc; j++) {
		size_t len;
		const char *s = lua_tolstring(L, -argc + j, &len);
		if (s) {
			if (j != 1)
				luaL_addchar(&b, ' ');
			luaL_addlstring(&b, s, len);
		}
	}
	luaL_pushresult(&b);
	LOG(level, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	return 0;
}

static int redis_setresp(lua_State *L)
{
	struct script_worker *w = script_worker_of(L);

	if (lua_gettop(L) != 1) {
		script_lua_push_error(L, "redis.setresp() requires one argument.");
		return lua_error(L);
	}
	int resp = (int)lua_tonumber(L, -1);
	if (resp != 2 && resp != 3) {
		script_lua_push_error(L, "RESP version must be 2 or 3.");
		return lua_error(L);
	}
	if (w->run)
		w->run->resp = resp;
	return 0;
}

static int redis_set_repl(lua_State *L)
{
	if (lua_gettop(L) != 1) {
		script_lua_push_error(L, "redis.set_repl() requires two arguments.");
		return lua_error(L);
	}
	int flags = (int)lua_tonumber(L, -1);
	if ((flags & ~3) != 0) {
		script_lua_push_error(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
					 "REPL_ALL or REPL_NONE.");
		return lua_error(L);
	}
	return 0;
}

static int redis_replicate_commands(lua_State *L)
{
	lua_pushboolean(L, 1);
	return 1;
}

static int redis_breakpoint(lua_State *L)
{
	lua_pushboolean(L, 0);
	return 1;
}

static int redis_debug(lua_State *L)
{
	(void)L;
	return 0;
}

void script_lua_redis_lib(lua_State *L, int g)
{
	static const struct {
		const char *name;
		int v;
	} consts[] = {{"LOG_DEBUG", 0},	  {"LOG_VERBOSE", 1},  {"LOG_NOTICE", 2},
		      {"LOG_WARNING", 3}, {"REPL_NONE", 0},    {"REPL_AOF", 1},
		      {"REPL_SLAVE", 2},  {"REPL_REPLICA", 2}, {"REPL_ALL", 3}};

	lua_newtable(L);
	lua_pushcfunction(L, script_lua_call);
	lua_setfield(L, -2, "call");
	lua_pushcfunction(L, script_lua_pcall);
	lua_setfield(L, -2, "pcall");
	lua_pushcfunction(L, redis_log);
	lua_setfield(L, -2, "log");
	lua_pushcfunction(L, redis_status_reply);
	lua_setfield(L, -2, "status_reply");
	lua_pushcfunction(L, redis_error_reply);
	lua_setfield(L, -2, "error_reply");
	lua_pushcfunction(L, redis_sha1hex);
	lua_setfield(L, -2, "sha1hex");
	lua_pushcfunction(L, redis_setresp);
	lua_setfield(L, -2, "setresp");
	lua_pushcfunction(L, redis_set_repl);
	lua_setfield(L, -2, "set_repl");
	lua_pushcfunction(L, redis_replicate_commands);
	lua_setfield(L, -2, "replicate_commands");
	lua_pushcfunction(L, redis_breakpoint);
	lua_setfield(L, -2, "breakpoint");
	lua_pushcfunction(L, redis_debug);
	lua_setfield(L, -2, "debug");
	lua_pushcfunction(L, redis_acl_check_cmd);
	lua_setfield(L, -2, "acl_check_cmd");
	for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
		lua_pushnumber(L, consts[i].v);
		lua_setfield(L, -2, consts[i].name);
	}
	lua_pushstring(L, SCRIPT_REDIS_VERSION);
	lua_setfield(L, -2, "REDIS_VERSION");
	lua_pushnumber(L, SCRIPT_REDIS_VERSION_NUM);
	lua_setfield(L, -2, "REDIS_VERSION_NUM");
	lua_setfield(L, g, "redis");
}
