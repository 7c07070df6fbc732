/*
 * test_lua_mods.c — server/lua_cmsgpack.c and server/lua_struct.c in a plain
 * Lua 5.1 state (base, string, table, math libraries and the two modules).
 *
 * redis_cases: every case of lua_mods_cases.h, whose expected strings
 * tools/gen_lua_mods_cases.py took from redis-server 7.0.15 running the same
 * Lua (encodings in hex, decoded values dumped, error texts with their
 * "user_script:N:" positions: the chunk is named as Redis names it).
 * The other tests: random pack/unpack and struct round trips, the scratch
 * buffer after errors and large packs, and the global tables.
 */
#include "server/lua_cmsgpack.h"
#include "server/lua_struct.h"

#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_mods_cases.h"

static lua_State *new_state(void)
{
	static const lua_CFunction libs[] = {luaopen_base, luaopen_table,    luaopen_string,
					     luaopen_math, luaopen_cmsgpack, luaopen_struct};
	lua_State *L = luaL_newstate();

	cr_assert_not_null(L);
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		lua_pushcfunction(L, libs[i]);
		lua_call(L, 0, 0);
	}
	return L;
}

/*
 * Runs src as the chunk "user_script" and returns its one string result in a
 * malloc'd copy, or "load error: ..." / "run error: ...".
 */
static char *run(lua_State *L, const char *src, size_t len)
{
	const char *what = "";
	char *out;

	if (luaL_loadbuffer(L, src, len, "@user_script") != 0)
		what = "load error: ";
	else if (lua_pcall(L, 0, 1, 0) != 0)
		what = "run error: ";
	size_t n;
	const char *r = lua_tolstring(L, -1, &n);

	if (r == NULL) {
		r = "(not a string)";
		n = strlen(r);
	}
	out = malloc(strlen(what) + n + 1);
	cr_assert_not_null(out);
	memcpy(out, what, strlen(what));
	memcpy(out + strlen(what), r, n);
	out[strlen(what) + n] = '\0';
	lua_settop(L, 0);
	return out;
}

/* prelude + the pcall wrapper around body, as the generator sent it */
static char *run_case(lua_State *L, const char *body)
{
	const char *hole = strstr(lua_mods_wrap, "%s");
	size_t np = strlen(lua_mods_prelude), nb = strlen(body);
	size_t nw1 = (size_t)(hole - lua_mods_wrap), nw2 = strlen(hole + 2);
	char *src = malloc(np + nw1 + nb + nw2 + 1), *r;

	cr_assert_not_null(src);
	memcpy(src, lua_mods_prelude, np);
	memcpy(src + np, lua_mods_wrap, nw1);
	memcpy(src + np + nw1, body, nb);
	memcpy(src + np + nw1 + nb, hole + 2, nw2);
	r = run(L, src, np + nw1 + nb + nw2);
	free(src);
	return r;
}

Test(lua_mods, redis_cases)
{
	size_t n = sizeof(lua_mods_cases) / sizeof(lua_mods_cases[0]), bad = 0;

	cr_assert(n > 400);
	for (size_t i = 0; i < n; i++) {
		lua_State *L = new_state();
		char *got = run_case(L, lua_mods_cases[i].body);

		if (strcmp(got, lua_mods_cases[i].want) != 0) {
			bad++;
			cr_log_error("case %zu: %s\n  want %.400s\n  got  %.400s", i,
				     lua_mods_cases[i].body, lua_mods_cases[i].want, got);
		}
		free(got);
		lua_close(L);
	}
	cr_expect_eq(bad, 0, "%zu of %zu cases differ from redis-server", bad, n);
}

/* Lua that checks a condition and returns "ok" or what failed */
static void expect_ok(const char *src)
{
	lua_State *L = new_state();
	char *got = run(L, src, strlen(src));

	cr_expect_str_eq(got, "ok", "got: %s\nfrom: %.200s", got, src);
	free(got);
	lua_close(L);
}

Test(lua_mods, globals_and_tables)
{
	expect_ok("assert(type(cmsgpack.pack) == 'function' and type(cmsgpack.unpack_limit) == "
		  "'function')\n"
		  "assert(cmsgpack._VERSION == 'lua-cmsgpack 0.4.0' and cmsgpack._NAME == "
		  "'cmsgpack')\n"
		  "assert(type(struct.pack) == 'function' and type(struct.size) == 'function')\n"
		  "assert(struct._VERSION == nil)\n"
		  "return 'ok'");
}

/* random values, deep compare after pack and unpack (seeded: the same every run) */
Test(lua_mods, cmsgpack_random_round_trips)
{
	expect_ok("math.randomseed(7)\n"
		  "local function key()\n"
		  "  local k = math.random(1, 4)\n"
		  "  if k == 1 then return math.random(-100, 100) end\n"
		  "  if k == 2 then return 'k' .. math.random(1, 50) end\n"
		  "  if k == 3 then return math.random(1, 3) == 1 end\n"
		  "  return math.random()\n"
		  "end\n"
		  "local rnd\n"
		  "rnd = function(d)\n"
		  "  local k = math.random(1, d < 4 and 9 or 6)\n"
		  "  if k == 1 then return math.random(-2^31, 2^31) * math.random(1, 2^20) end\n"
		  "  if k == 2 then return (math.random() - 0.5) * 10 ^ math.random(-40, 40) end\n"
		  "  if k == 3 then local n = math.random(0, 300) local t = {} for i = 1, n do\n"
		  "    t[i] = string.char(math.random(0, 255)) end return table.concat(t) end\n"
		  "  if k == 4 then return math.random(0, 1) == 1 end\n"
		  "  if k == 5 then return math.random(-40, 300) end\n"
		  "  if k == 6 then return math.random(-70000, 70000) end\n"
		  "  local t = {}\n"
		  "  if k == 7 then for i = 1, math.random(0, 20) do t[i] = rnd(d + 1) end\n"
		  "  else for i = 1, math.random(0, 20) do t[key()] = rnd(d + 1) end end\n"
		  "  return t\n"
		  "end\n"
		  "local function eq(a, b)\n"
		  "  if type(a) ~= type(b) then return false end\n"
		  "  if type(a) == 'number' then\n"
		  "    -- float32 only when exact, so every number survives\n"
		  "    return a == b or (a ~= a and b ~= b)\n"
		  "  end\n"
		  "  if type(a) ~= 'table' then return a == b end\n"
		  "  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end\n"
		  "  for k in pairs(b) do if a[k] == nil then return false end end\n"
		  "  return true\n"
		  "end\n"
		  "for i = 1, 1000 do\n"
		  "  local v = rnd(0)\n"
		  "  if type(v) == 'table' and next(v) == nil then v = {} end\n"
		  "  local s = cmsgpack.pack(v, i)\n"
		  "  local a, b = cmsgpack.unpack(s)\n"
		  "  if not eq(a, v) or b ~= i then return 'mismatch at ' .. i end\n"
		  "  local off, one = cmsgpack.unpack_one(s)\n"
		  "  if not eq(one, v) then return 'unpack_one mismatch at ' .. i end\n"
		  "  local off2, two = cmsgpack.unpack_one(s, off)\n"
		  "  if off2 ~= -1 or two ~= i then return 'second value at ' .. i end\n"
		  "  for cut = 0, #s - 1, math.max(1, math.floor(#s / 7)) do\n"
		  "    local ok, e = pcall(cmsgpack.unpack, string.sub(s, 1, cut))\n"
		  "    if cut > 0 and cut < #s and ok and select('#', "
		  "cmsgpack.unpack(string.sub(s, 1, cut))) == 2\n"
		  "    then return 'cut ' .. cut .. ' decoded both at ' .. i end\n"
		  "  end\n"
		  "end\n"
		  "return 'ok'");
}

Test(lua_mods, struct_random_round_trips)
{
	expect_ok(
	    "math.randomseed(11)\n"
	    "-- (5.1's math.random(m, n) needs n - m + 1 to fit in an int)\n"
	    "local opts = {'b', 'B', 'h', 'H', 'l', 'L', 'i', 'I', 'i3', 'I5', 'i8', 'f', 'd', "
	    "'s',\n"
	    "  'c4', 'x', '<', '>', '!', '!2', '!4', ' '}\n"
	    "local function val(o)\n"
	    "  local c = o:sub(1, 1)\n"
	    "  if c == 'b' then return math.random(-128, 127) end\n"
	    "  if c == 'B' then return math.random(0, 255) end\n"
	    "  if c == 'h' then return math.random(-32768, 32767) end\n"
	    "  if c == 'H' then return math.random(0, 65535) end\n"
	    "  if o == 'i3' then return math.random(-2^23, 2^23 - 1) end\n"
	    "  if o == 'I5' then return math.random(0, 2^30) * 1024 end\n"
	    "  if c == 'l' or c == 'i' then return math.random(-2^29, 2^29) * 4 + 1 end\n"
	    "  if c == 'L' or c == 'I' then return math.random(0, 2^29) * 7 + 3 end\n"
	    "  if c == 'f' then return math.random(-1000, 1000) / 4 end\n"
	    "  if c == 'd' then return math.random() * 1e10 end\n"
	    "  if c == 's' then return string.rep('z', math.random(0, 5)) end\n"
	    "  if c == 'c' then return 'wxyz' end\n"
	    "end\n"
	    "for i = 1, 2000 do\n"
	    "  local f, vals = {}, {}\n"
	    "  for j = 1, math.random(1, 12) do\n"
	    "    local o = opts[math.random(#opts)]\n"
	    "    f[#f + 1] = o\n"
	    "    local v = val(o)\n"
	    "    if v ~= nil then vals[#vals + 1] = v end\n"
	    "  end\n"
	    "  local fmt = table.concat(f)\n"
	    "  local s = struct.pack(fmt, unpack(vals))\n"
	    "  local out = {struct.unpack(fmt, s)}\n"
	    "  if #out ~= #vals + 1 or out[#out] ~= #s + 1 then return 'count/pos ' .. fmt end\n"
	    "  for j = 1, #vals do if out[j] ~= vals[j] then return 'value ' .. j .. ' of ' .. fmt "
	    "end end\n"
	    "  if not fmt:find('s') and struct.size(fmt) ~= #s then return 'size ' .. fmt end\n"
	    "end\n"
	    "return 'ok'");
}

/* errors unwind through pack's scratch buffer; big packs give it back */
Test(lua_mods, pack_buffer_after_errors)
{
	expect_ok("local big = string.rep('a', 1000000)\n"
		  "for i = 1, 50 do\n"
		  "  local t = {} for j = 1, 3999 do t[j] = {j} end\n"
		  "  local ok = pcall(cmsgpack.pack, big, unpack(t))\n"
		  "  assert(not ok)\n"
		  "  assert(#cmsgpack.pack(big) == 1000005)\n"
		  "end\n"
		  "collectgarbage()\n"
		  "assert(collectgarbage('count') < 4096, collectgarbage('count'))\n"
		  "assert(cmsgpack.pack(1, 'x') == '\\1\\161x')\n"
		  "return 'ok'");
}
