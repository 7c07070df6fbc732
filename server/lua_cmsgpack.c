/*
 * lua_cmsgpack.c — MessagePack for Lua 5.1 scripts, with the behaviour of
 * Redis 7.0's lua-cmsgpack (see lua_cmsgpack.h for the API).
 *
 * Where Redis's choices are observable they are kept: integers are found by
 * the int64 test (a NaN, ±inf or 2^63 is not one), uint64 is decoded through
 * int64 (0xcf ff..ff is -1), the error texts print the 64-bit offset and the
 * input length truncated to int, and the Lua stack is checked with the same
 * luaL_checkstack calls and messages at the same points, so that scripts
 * that hit Lua's 8000-slot C stack limit fail where they fail under Redis.
 */
#include "server/lua_cmsgpack.h"

#include <float.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* pack's scratch buffer: a full userdata, upvalue 1 of the pack closure */
struct mp_buf {
	unsigned char *p; /* from the state's allocator; freed by __gc */
	size_t len;
	size_t cap;
};

/* a buffer grown past this is given back after each pack */
#define MP_BUF_KEEP 65536

static void mp_buf_release(lua_State *L, struct mp_buf *b)
{
	void *ud;
	lua_Alloc f = lua_getallocf(L, &ud);

	if (b->p != NULL)
		f(ud, b->p, b->cap, 0);
	b->p = NULL;
	b->cap = b->len = 0;
}

static int mp_buf_gc(lua_State *L)
{
	mp_buf_release(L, lua_touserdata(L, 1));
	return 0;
}

static void mp_buf_add(lua_State *L, struct mp_buf *b, const void *src, size_t n)
{
	if (b->cap - b->len < n) {
		size_t need = b->len + n, cap = b->cap ? b->cap : 64;
		void *ud;
		lua_Alloc f = lua_getallocf(L, &ud);
		unsigned char *np;

		if (need < b->len)
			luaL_error(L, "not enough memory");
		while (cap < need)
			cap = cap * 2 > cap ? cap * 2 : need;
		np = f(ud, b->p, b->cap, cap);
		if (np == NULL)
			luaL_error(L, "not enough memory");
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

/* type byte then n bytes of v, most significant first */
static void mp_put_be(lua_State *L, struct mp_buf *b, unsigned char type, uint64_t v, int n)
{
	unsigned char out[9];

	out[0] = type;
	for (int i = n; i >= 1; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	mp_buf_add(L, b, out, (size_t)n + 1);
}

static void mp_put_int(lua_State *L, struct mp_buf *b, int64_t n)
{
	if (n >= 0) {
		uint64_t u = (uint64_t)n;

		if (u <= 127) {
			unsigned char c = (unsigned char)u;
			mp_buf_add(L, b, &c, 1);
		} else if (u <= 0xff) {
			mp_put_be(L, b, 0xcc, u, 1);
		} else if (u <= 0xffff) {
			mp_put_be(L, b, 0xcd, u, 2);
		} else if (u <= 0xffffffffu) {
			mp_put_be(L, b, 0xce, u, 4);
		} else {
			mp_put_be(L, b, 0xcf, u, 8);
		}
	} else if (n >= -32) {
		unsigned char c = (unsigned char)(n & 0xff);
		mp_buf_add(L, b, &c, 1);
	} else if (n >= -128) {
		mp_put_be(L, b, 0xd0, (uint64_t)n, 1);
	} else if (n >= -32768) {
		mp_put_be(L, b, 0xd1, (uint64_t)n, 2);
	} else if (n >= INT32_MIN) {
		mp_put_be(L, b, 0xd2, (uint64_t)n, 4);
	} else {
		mp_put_be(L, b, 0xd3, (uint64_t)n, 8);
	}
}

static void mp_put_number(lua_State *L, struct mp_buf *b, lua_Number d)
{
	/* the int64 test: integral and inside [-2^63, 2^63) */
	if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == floor(d)) {
		mp_put_int(L, b, (int64_t)d);
		return;
	}
	/* float32 when exact; ±inf is exact, NaN never is */
	if (isinf(d) || (fabs(d) <= FLT_MAX && (double)(float)d == d)) {
		float f = (float)d;
		uint32_t u;

		memcpy(&u, &f, sizeof(u));
		mp_put_be(L, b, 0xca, u, 4);
	} else {
		uint64_t u;

		memcpy(&u, &d, sizeof(u));
		mp_put_be(L, b, 0xcb, u, 8);
	}
}

static void mp_put_string(lua_State *L, struct mp_buf *b, const char *s, size_t len)
{
	if (len < 32) {
		unsigned char c = (unsigned char)(0xa0 | len);
		mp_buf_add(L, b, &c, 1);
	} else if (len <= 0xff) {
		mp_put_be(L, b, 0xd9, len, 1);
	} else if (len <= 0xffff) {
		mp_put_be(L, b, 0xda, len, 2);
	} else {
		mp_put_be(L, b, 0xdb, len, 4);
	}
	mp_buf_add(L, b, s, len);
}

/* array or map header: fix form, then 16-bit, then 32-bit length */
static void mp_put_header(lua_State *L, struct mp_buf *b, size_t n, unsigned char fix,
			  unsigned char t16)
{
	if (n <= 15) {
		unsigned char c = (unsigned char)(fix | n);
		mp_buf_add(L, b, &c, 1);
	} else if (n <= 0xffff) {
		mp_put_be(L, b, t16, n, 2);
	} else {
		mp_put_be(L, b, (unsigned char)(t16 + 1), n, 4);
	}
}

/*
 * Whether the table on top has exactly the keys 1..n (n may be 0): every key
 * a positive number that is an int, and the largest equal to the count.
 */
static int mp_is_array(lua_State *L)
{
	int top = lua_gettop(L), count = 0, max = 0;

	luaL_checkstack(L, 2, "in function table_is_an_array");
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_Number k;

		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TNUMBER || (k = lua_tonumber(L, -1)) <= 0 ||
		    !(k <= INT_MAX && k == floor(k))) {
			lua_settop(L, top);
			return 0;
		}
		if ((int)k > max)
			max = (int)k;
		count++;
	}
	lua_settop(L, top);
	return max == count;
}

static void mp_put_value(lua_State *L, struct mp_buf *b, int level);

static void mp_put_table(lua_State *L, struct mp_buf *b, int level)
{
	if (mp_is_array(L)) {
		size_t n = lua_objlen(L, -1);

		mp_put_header(L, b, n, 0x90, 0xdc);
		luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, (int)i);
			mp_put_value(L, b, level + 1);
		}
		return;
	}
	size_t n = 0;

	luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		n++;
	}
	mp_put_header(L, b, n, 0x80, 0xde);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pushvalue(L, -2);
		mp_put_value(L, b, level + 1); /* the key's copy */
		mp_put_value(L, b, level + 1); /* the value */
	}
}

/* Encodes the value on top of the stack and pops it. */
static void mp_put_value(lua_State *L, struct mp_buf *b, int level)
{
	int t = lua_type(L, -1);

	if (t == LUA_TTABLE && level == LUACMSGPACK_MAX_NESTING)
		t = LUA_TNIL;
	switch (t) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);

		mp_put_string(L, b, s, len);
		break;
	}
	case LUA_TBOOLEAN: {
		unsigned char c = lua_toboolean(L, -1) ? 0xc3 : 0xc2;

		mp_buf_add(L, b, &c, 1);
		break;
	}
	case LUA_TNUMBER:
		mp_put_number(L, b, lua_tonumber(L, -1));
		break;
	case LUA_TTABLE:
		mp_put_table(L, b, level);
		break;
	default: {
		unsigned char c = 0xc0;

		mp_buf_add(L, b, &c, 1);
		break;
	}
	}
	lua_pop(L, 1);
}

static int mp_pack(lua_State *L)
{
	struct mp_buf *b = lua_touserdata(L, lua_upvalueindex(1));
	int nargs = lua_gettop(L);

	if (nargs == 0)
		return luaL_argerror(L, 0, "MessagePack pack needs input.");
	if (!lua_checkstack(L, nargs))
		return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
	for (int i = 1; i <= nargs; i++) {
		b->len = 0;
		luaL_checkstack(L, 1, "in function mp_check");
		lua_pushvalue(L, i);
		mp_put_value(L, b, 0);
		lua_pushlstring(L, b->p ? (const char *)b->p : "", b->len);
	}
	b->len = 0;
	if (b->cap > MP_BUF_KEEP)
		mp_buf_release(L, b);
	lua_concat(L, nargs);
	return 1;
}

/* decoding cursor over the input string */
struct mp_cur {
	const unsigned char *p;
	size_t left;
	int err;
};

enum { MP_OK, MP_EOF, MP_BADFMT };

/* big-endian unsigned of n bytes at p */
static uint64_t mp_get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void mp_get_value(lua_State *L, struct mp_cur *c);

static void mp_get_array(lua_State *L, struct mp_cur *c, size_t n)
{
	lua_newtable(L);
	luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
	for (size_t i = 1; i <= n; i++) {
		lua_pushnumber(L, (lua_Number)i);
		mp_get_value(L, c);
		if (c->err)
			return;
		lua_rawset(L, -3);
	}
}

static void mp_get_map(lua_State *L, struct mp_cur *c, size_t n)
{
	lua_newtable(L);
	while (n--) {
		mp_get_value(L, c);
		if (c->err)
			return;
		mp_get_value(L, c);
		if (c->err)
			return;
		lua_rawset(L, -3); /* a nil or NaN key is Lua's error */
	}
}

/* payload of a string whose length field is n bytes after the type byte */
static void mp_get_str(lua_State *L, struct mp_cur *c, int n)
{
	size_t hdr = 1 + (size_t)n, len;

	if (c->left < hdr) {
		c->err = MP_EOF;
		return;
	}
	len = n ? (size_t)mp_get_be(c->p + 1, n) : (size_t)(c->p[0] & 0x1f);
	if (c->left - hdr < len) {
		c->err = MP_EOF;
		return;
	}
	lua_pushlstring(L, (const char *)c->p + hdr, len);
	c->p += hdr + len;
	c->left -= hdr + len;
}

/*
 * Decodes one value at the cursor and pushes it; on truncated or unknown
 * input sets c->err (the caller raises) and pushes nothing more.
 */
static void mp_get_value(lua_State *L, struct mp_cur *c)
{
	/* fixed size of the type byte plus its payload, or 0 for the others */
	size_t need;
	unsigned char t;

	if (c->left < 1) {
		c->err = MP_EOF;
		return;
	}
	luaL_checkstack(L, 1,
			"too many return values at once; use unpack_one or unpack_limit instead.");
	t = c->p[0];
	switch (t) {
	case 0xcc:
	case 0xd0:
		need = 2;
		break;
	case 0xcd:
	case 0xd1:
	case 0xdc:
	case 0xde:
		need = 3;
		break;
	case 0xce:
	case 0xd2:
	case 0xca:
	case 0xdd:
	case 0xdf:
		need = 5;
		break;
	case 0xcf:
	case 0xd3:
	case 0xcb:
		need = 9;
		break;
	default:
		need = 1;
		break;
	}
	if (c->left < need) {
		c->err = MP_EOF;
		return;
	}
	const unsigned char *p = c->p;
	switch (t) {
	case 0xc0:
		lua_pushnil(L);
		break;
	case 0xc2:
		lua_pushboolean(L, 0);
		break;
	case 0xc3:
		lua_pushboolean(L, 1);
		break;
	case 0xcc:
		lua_pushnumber(L, p[1]);
		break;
	case 0xd0:
		lua_pushnumber(L, (int8_t)p[1]);
		break;
	case 0xcd:
		lua_pushnumber(L, (lua_Number)mp_get_be(p + 1, 2));
		break;
	case 0xd1:
		lua_pushnumber(L, (int16_t)mp_get_be(p + 1, 2));
		break;
	case 0xce:
		lua_pushnumber(L, (lua_Number)mp_get_be(p + 1, 4));
		break;
	case 0xd2:
		lua_pushnumber(L, (int32_t)mp_get_be(p + 1, 4));
		break;
	/* Redis reads uint64 as int64 too: 0xcf ff..ff is -1 */
	case 0xcf:
	case 0xd3:
		lua_pushnumber(L, (lua_Number)(int64_t)mp_get_be(p + 1, 8));
		break;
	case 0xca: {
		uint32_t u = (uint32_t)mp_get_be(p + 1, 4);
		float f;

		memcpy(&f, &u, sizeof(f));
		lua_pushnumber(L, f);
		break;
	}
	case 0xcb: {
		uint64_t u = mp_get_be(p + 1, 8);
		double d;

		memcpy(&d, &u, sizeof(d));
		lua_pushnumber(L, d);
		break;
	}
	case 0xd9:
		mp_get_str(L, c, 1);
		return;
	case 0xda:
		mp_get_str(L, c, 2);
		return;
	case 0xdb:
		mp_get_str(L, c, 4);
		return;
	case 0xdc:
	case 0xdd:
	case 0xde:
	case 0xdf: {
		size_t n = (size_t)mp_get_be(p + 1, (int)need - 1);

		c->p += need;
		c->left -= need;
		if (t <= 0xdd)
			mp_get_array(L, c, n);
		else
			mp_get_map(L, c, n);
		return;
	}
	default:
		if (t < 0x80) { /* positive fixint */
			lua_pushnumber(L, t);
		} else if (t >= 0xe0) { /* negative fixint */
			lua_pushnumber(L, (int8_t)t);
		} else if ((t & 0xe0) == 0xa0) { /* fixstr */
			mp_get_str(L, c, 0);
			return;
		} else if ((t & 0xf0) == 0x90 || (t & 0xf0) == 0x80) {
			c->p++;
			c->left--;
			if ((t & 0xf0) == 0x90)
				mp_get_array(L, c, t & 0x0f);
			else
				mp_get_map(L, c, t & 0x0f);
			return;
		} else { /* 0xc1, bin, ext */
			c->err = MP_BADFMT;
			return;
		}
		break;
	}
	c->p += need;
	c->left -= need;
}

/*
 * unpack, unpack_one and unpack_limit: decodes up to limit values of the
 * string at index 1 from offset (limit 0 and offset 0: all values, and no
 * offset returned).
 */
static int mp_unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	int all = limit == 0 && offset == 0;
	struct mp_cur c;
	lua_Integer cnt;

	/* Redis formats these with %d: the values appear truncated to int */
	if (offset < 0 || limit < 0)
		return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
				  (int)offset, (int)len);
	if ((uint64_t)offset > len)
		return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
				  (int)len);
	if (all)
		limit = INT_MAX;
	c.p = (const unsigned char *)s + offset;
	c.left = len - (size_t)offset;
	c.err = MP_OK;
	for (cnt = 0; c.left > 0 && cnt < limit; cnt++) {
		mp_get_value(L, &c);
		if (c.err == MP_EOF)
			return luaL_error(L, "Missing bytes in input.");
		if (c.err == MP_BADFMT)
			return luaL_error(L, "Bad data format in input.");
	}
	if (!all) {
		lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
		lua_insert(L, 2); /* the offset comes first */
		cnt++;
	}
	return (int)cnt;
}

static int mp_unpack(lua_State *L)
{
	return mp_unpack_full(L, 0, 0);
}

static int mp_unpack_one(lua_State *L)
{
	lua_Integer offset = luaL_optinteger(L, 2, 0);

	if (lua_gettop(L) > 1) /* no argument stays no argument, for the error */
		lua_settop(L, 1);
	return mp_unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L)
{
	lua_Integer limit = luaL_checkinteger(L, 2);
	lua_Integer offset = luaL_optinteger(L, 3, 0);

	if (lua_gettop(L) > 1)
		lua_settop(L, 1);
	return mp_unpack_full(L, limit, offset);
}

int luaopen_cmsgpack(lua_State *L)
{
	static const struct {
		const char *name;
		lua_CFunction fn;
	} fns[] = {
	    {"unpack", mp_unpack},
	    {"unpack_one", mp_unpack_one},
	    {"unpack_limit", mp_unpack_limit},
	};
	static const char *const meta[][2] = {
	    {"_NAME", "cmsgpack"},
	    {"_VERSION", "lua-cmsgpack 0.4.0"},
	    {"_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"},
	    {"_DESCRIPTION", "MessagePack C implementation for Lua"},
	};
	struct mp_buf *b;

	lua_newtable(L);
	b = lua_newuserdata(L, sizeof(*b));
	memset(b, 0, sizeof(*b));
	lua_newtable(L);
	lua_pushcfunction(L, mp_buf_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_pushcclosure(L, mp_pack, 1);
	lua_setfield(L, -2, "pack");
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		lua_pushcfunction(L, fns[i].fn);
		lua_setfield(L, -2, fns[i].name);
	}
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		lua_pushstring(L, meta[i][1]);
		lua_setfield(L, -2, meta[i][0]);
	}
	lua_pushvalue(L, -1);
	lua_setglobal(L, "cmsgpack");
	return 1;
}
