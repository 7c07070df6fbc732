/*
 * fuzz_lua_struct.c — libFuzzer target for server/lua_struct.c: a script
 * controls both the format string and the data. The input is a format, a
 * '|' byte, then the data (no '|': all format, empty data); byte 0 of the
 * data, when there is one, also gives unpack's start position (1..4).
 *
 * Calls, each under lua_pcall in a fresh state (64 MiB allocator cap):
 * struct.size(fmt); struct.unpack(fmt, data, pos); and, when the unpack
 * worked and the format has no 'c0' (its pack and unpack take different
 * arguments), struct.pack(fmt, <the unpacked values>). Checks: when size and
 * pack both succeed, the packed string is size bytes long and unpacks again
 * to the end (next position #s + 1); nothing reads outside the data (ASan);
 * errors leak nothing (the allocator's count is zero after lua_close).
 */
#include "server/lua_struct.h"
#include "tests/fuzz/fuzz_util.h"

#include <lauxlib.h>
#include <lualib.h>
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

/* pushes struct.<fn> */
static void get_fn(lua_State *L, const char *fn)
{
	lua_getglobal(L, "struct");
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
}

/* struct.size(fmt) -> size, or -1 on a Lua error; leaves the stack as it was */
static lua_Integer try_size(lua_State *L, int fmt)
{
	lua_Integer n = -1;

	get_fn(L, "size");
	lua_pushvalue(L, fmt);
	if (lua_pcall(L, 1, 1, 0) == 0)
		n = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return n;
}

/* the format contains a c0, whose pack and unpack arguments differ */
static int has_c0(const char *f, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (f[i] == 'c' && f[i + 1] == '0') {
			size_t j = i + 1;

			while (j < n && f[j] == '0')
				j++;
			if (j == n || f[j] < '0' || f[j] > '9')
				return 1;
		}
	}
	return 0;
}

static int run(lua_State *L)
{
	size_t flen, dlen;
	const char *fmt = lua_tolstring(L, 1, &flen);

	(void)lua_tolstring(L, 2, &dlen);
	lua_Integer size = try_size(L, 1);

	/* unpack(fmt, data, pos) -> values..., next position */
	int base = lua_gettop(L);

	get_fn(L, "unpack");
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	if (lua_pcall(L, 3, LUA_MULTRET, 0) != 0)
		return 0;
	int nvals = lua_gettop(L) - base - 1;
	lua_Integer next = lua_tointeger(L, -1);

	lua_Integer pos = lua_tointeger(L, 3);

	/* positions only grow, and past the data only when nothing was read */
	FUZZ_CHECK(nvals >= 0 && next >= pos && ((size_t)next <= dlen + 1 || next == pos));
	lua_pop(L, 1);
	if (has_c0(fmt, strlen(fmt)) || !lua_checkstack(L, nvals + 4))
		return 0;

	/* pack(fmt, values...) */
	get_fn(L, "pack");
	lua_pushvalue(L, 1);
	for (int i = 1; i <= nvals; i++)
		lua_pushvalue(L, base + i);
	if (lua_pcall(L, nvals + 1, 1, 0) != 0)
		return 0;
	size_t plen;
	(void)lua_tolstring(L, -1, &plen);
	if (size >= 0) {
		FUZZ_CHECK((size_t)size == plen);
		/* a fixed-size format unpacks its own packing to the end */
		int top = lua_gettop(L);

		get_fn(L, "unpack");
		lua_pushvalue(L, 1);
		lua_pushvalue(L, top);
		FUZZ_CHECK(lua_pcall(L, 2, LUA_MULTRET, 0) == 0);
		FUZZ_CHECK(lua_tointeger(L, -1) == (lua_Integer)plen + 1);
		FUZZ_CHECK(lua_gettop(L) - top - 1 == nvals);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *bar = memchr(data, '|', size);
	size_t flen = bar ? (size_t)(bar - data) : size;
	const char *d = bar ? (const char *)bar + 1 : "";
	size_t dlen = bar ? size - flen - 1 : 0;
	size_t used = 0;
	lua_State *L = lua_newstate(fuzz_alloc, &used);

	FUZZ_CHECK(L != NULL);
	lua_pushcfunction(L, luaopen_base);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, luaopen_struct);
	lua_call(L, 0, 0);
	lua_pushcfunction(L, run);
	lua_pushlstring(L, (const char *)data, flen);
	lua_pushlstring(L, d, dlen);
	lua_pushinteger(L, dlen > 0 ? 1 + (d[0] & 3) : 1);
	(void)lua_pcall(L, 3, 0, 0);
	lua_close(L);
	FUZZ_CHECK(used == 0);
	return 0;
}
