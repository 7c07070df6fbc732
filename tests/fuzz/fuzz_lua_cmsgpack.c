/*
 * fuzz_lua_cmsgpack.c — libFuzzer target for server/lua_cmsgpack.c: the
 * decoder reads bytes any script can hand it, and the encoder walks any Lua
 * value. Byte 0 picks the mode, the rest is the input:
 *   mode 0: cmsgpack.unpack(input); when it succeeds, every value must
 *           survive pack then unpack unchanged (deep compare).
 *   mode 1: unpack_limit walks the input from offset 0 with the limit in
 *           byte 1; each call must advance the offset or end it (-1).
 *   mode 2: the input is a little program that builds a Lua value (numbers
 *           from raw double bits, strings, nested and self-referencing
 *           tables, deeper than the nesting limit); it is packed, unpacked
 *           and compared, and the packing must be deterministic.
 * All calls run under lua_pcall in a fresh state whose allocator refuses
 * more than 64 MiB, so Lua errors (and memory errors) are expected outcomes;
 * ASan checks the reads and LeakSanitizer that errors free everything.
 */
#include "server/lua_cmsgpack.h"
#include "tests/fuzz/fuzz_util.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LUA_MEM (64u << 20)

static void *fuzz_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
	size_t *used = ud;

	if (nsize == 0) {
		*used -= p ? osize : 0;
		free(p);
		return NULL;
	}
	if (nsize > (p ? osize : 0) && *used - (p ? osize : 0) + nsize > FUZZ_LUA_MEM)
		return NULL;
	void *np = realloc(p, nsize);

	if (np != NULL)
		*used = *used - (p ? osize : 0) + nsize;
	return np;
}

/* whether pack writes the value at index i, found at this level, as nil */
static int packs_as_nil(lua_State *L, int i, int level)
{
	switch (lua_type(L, i)) {
	case LUA_TNIL:
	case LUA_TFUNCTION:
	case LUA_TUSERDATA:
	case LUA_TLIGHTUSERDATA:
	case LUA_TTHREAD:
		return 1;
	case LUA_TTABLE:
		return level >= LUACMSGPACK_MAX_NESTING;
	default:
		return 0;
	}
}

/*
 * Whether b (decoded) is what pack then unpack must give for a (original),
 * both absolute indices, a found at this nesting level. A table used as a
 * key comes back as another table: such entries are only counted.
 */
static int deep_eq(lua_State *L, int a, int b, int level)
{
	if (packs_as_nil(L, a, level))
		return lua_isnil(L, b);
	if (lua_type(L, a) != lua_type(L, b))
		return 0;
	if (lua_type(L, a) == LUA_TNUMBER) {
		lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);

		return x == y || (isnan(x) && isnan(y));
	}
	if (lua_type(L, a) != LUA_TTABLE)
		return lua_rawequal(L, a, b);

	size_t na = 0, nb = 0;
	int ok = 1;

	lua_checkstack(L, 8);
	lua_pushnil(L);
	while (ok && lua_next(L, a)) {
		int v = lua_gettop(L);

		if (!packs_as_nil(L, v, level + 1)) {
			na++;
			if (lua_type(L, v - 1) != LUA_TTABLE) {
				lua_pushvalue(L, v - 1);
				lua_rawget(L, b);
				ok = deep_eq(L, v, v + 1, level + 1);
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 1);
	}
	if (!ok) {
		lua_pop(L, 1); /* the key lua_next left */
		return 0;
	}
	lua_pushnil(L);
	while (lua_next(L, b)) {
		nb++;
		lua_pop(L, 1);
	}
	return na == nb;
}

/* calls cmsgpack.<fn> with the n values from index first; results on top */
static void call_cmsgpack(lua_State *L, const char *fn, int first, int n, int nres)
{
	lua_checkstack(L, n + 2);
	lua_getglobal(L, "cmsgpack");
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	for (int i = 0; i < n; i++)
		lua_pushvalue(L, first + i);
	lua_call(L, n, nres);
}

/* the values at 1..top survive pack then unpack, and pack is deterministic */
static int round_trip(lua_State *L)
{
	int n = lua_gettop(L);
	size_t len1, len2;

	if (n == 0)
		return 0;
	call_cmsgpack(L, "pack", 1, n, 1);
	call_cmsgpack(L, "pack", 1, n, 1);
	const char *s1 = lua_tolstring(L, n + 1, &len1), *s2 = lua_tolstring(L, n + 2, &len2);

	FUZZ_CHECK(len1 == len2 && memcmp(s1, s2, len1) == 0);
	lua_pop(L, 1);
	call_cmsgpack(L, "unpack", n + 1, 1, LUA_MULTRET);
	FUZZ_CHECK(lua_gettop(L) == 2 * n + 1);
	for (int i = 1; i <= n; i++)
		FUZZ_CHECK(deep_eq(L, i, n + 1 + i, 0));
	return 0;
}

static int mode_unpack(lua_State *L)
{
	lua_settop(L, 1);
	call_cmsgpack(L, "unpack", 1, 1, LUA_MULTRET);
	lua_remove(L, 1);
	return round_trip(L);
}

static int mode_walk(lua_State *L)
{
	size_t len;
	const char *s = lua_tolstring(L, 1, &len);
	lua_Integer limit = lua_tointeger(L, 2), off = 0;

	for (int steps = 0; off != -1; steps++) {
		FUZZ_CHECK(steps <= (int)len + 1);
		lua_settop(L, 2);
		lua_getglobal(L, "cmsgpack");
		lua_getfield(L, -1, "unpack_limit");
		lua_pushlstring(L, s, len);
		lua_pushinteger(L, limit);
		lua_pushinteger(L, off);
		lua_call(L, 3, LUA_MULTRET);
		if (limit == 0) /* with offset 0: all values and no offset */
			break;
		lua_Integer next = lua_tointeger(L, 4);

		FUZZ_CHECK(lua_gettop(L) >= 4 && lua_gettop(L) <= 4 + limit);
		FUZZ_CHECK(next == -1 || (next > off && (size_t)next < len));
		if (limit > 0 && next != -1)
			FUZZ_CHECK(lua_gettop(L) == 4 + limit);
		off = next;
	}
	return 0;
}

/* builds one value from the program at *p; tables stay in slot 1's list */
static void build(lua_State *L, const uint8_t **p, const uint8_t *end, int depth)
{
	uint8_t op;

	lua_checkstack(L, 4);
	if (*p >= end || depth > 24) {
		lua_pushnil(L);
		return;
	}
	op = *(*p)++;
	switch (op % 10) {
	case 0:
		lua_pushnil(L);
		break;
	case 1:
		lua_pushboolean(L, op & 0x10);
		break;
	case 2: { /* small integer */
		lua_pushnumber(L, (int8_t)(*p < end ? *(*p)++ : 0) * (double)(1 + (op >> 4)));
		break;
	}
	case 3: { /* +-2^k plus a little: the int and float size boundaries */
		int o = *p < end ? (int8_t) * (*p)++ : 0;
		double v = ldexp(1.0, op >> 2);

		lua_pushnumber(L, (o & 1 ? -v : v) + (o >> 1));
		break;
	}
	case 4: { /* any double */
		uint8_t b[8] = {0};
		double d;

		for (int i = 0; i < 8 && *p < end; i++)
			b[i] = *(*p)++;
		memcpy(&d, b, sizeof(d));
		lua_pushnumber(L, d);
		break;
	}
	case 5: { /* a string: short ones from the input, long ones at the str8/16/32 edges */
		static const size_t edges[] = {31, 32, 255, 256, 65535, 65536};
		static char fill[65536];
		size_t n = op >> 4;

		if (n >= 10) { /* 64 KiB ones rarely: op 225 and 235 only */
			n = n == 14 ? edges[4 + ((op >> 3) & 1)] : edges[(n - 10) & 3];
			memset(fill, 'a' + (op & 7), n);
			lua_pushlstring(L, fill, n);
			break;
		}
		if (n > (size_t)(end - *p))
			n = (size_t)(end - *p);
		lua_pushlstring(L, (const char *)*p, n);
		*p += n;
		break;
	}
	case 6:
	case 7: { /* array of n values */
		int n = op >> 3;

		lua_newtable(L);
		for (int i = 1; i <= n; i++) {
			build(L, p, end, depth + 1);
			lua_rawseti(L, -2, i);
		}
		break;
	}
	case 8: { /* map of n pairs (a nil or NaN key is left out) */
		int n = op >> 4;

		lua_newtable(L);
		for (int i = 0; i < n; i++) {
			build(L, p, end, depth + 1);
			build(L, p, end, depth + 1);
			if (lua_isnil(L, -2) || (lua_isnumber(L, -2) && isnan(lua_tonumber(L, -2))))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
		}
		break;
	}
	default: /* a function: packed as nil */
		lua_pushcfunction(L, mode_walk);
		break;
	}
}

static int mode_build(lua_State *L)
{
	size_t len;
	const uint8_t *s = (const uint8_t *)lua_tolstring(L, 1, &len), *p = s;
	int n = 0;

	lua_settop(L, 1);
	while (p < s + len && n < 8) {
		build(L, &p, s + len, 0);
		n++;
	}
	lua_remove(L, 1);
	if (n == 0)
		return 0;
	/* a self-reference, cut off by the nesting limit (small inputs only:
	 * the table is then encoded 16 times) */
	if (lua_istable(L, 1) && len < 64) {
		lua_pushvalue(L, 1);
		lua_rawseti(L, 1, (int)lua_objlen(L, 1) + 2);
	}
	return round_trip(L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const lua_CFunction modes[] = {mode_unpack, mode_walk, mode_build};
	size_t used = 0;
	lua_State *L;

	if (size < 1)
		return 0;
	L = lua_newstate(fuzz_alloc, &used);
	FUZZ_CHECK(L != NULL);
	lua_pushcfunction(L, luaopen_base);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, luaopen_cmsgpack);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, modes[data[0] % 3]);
	lua_pushlstring(L, (const char *)data + 1, size - 1);
	lua_pushinteger(L, size > 1 ? (lua_Integer)(data[1] % 5) : 1);
	/* a Lua error (bad input, stack or memory limit) is a fine outcome; a
	 * FUZZ_CHECK failure aborts */
	(void)lua_pcall(L, 2, 0, 0);
	lua_close(L);
	FUZZ_CHECK(used == 0);
	return 0;
}
