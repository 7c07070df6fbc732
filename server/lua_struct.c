/*
 * lua_struct.c — the struct library's format language for Lua 5.1 scripts,
 * with Redis 7.0's behaviour (see lua_struct.h for the API).
 *
 * Each format option is handled in three steps, in this order, by pack,
 * unpack and size alike: its size (which may raise the size errors), the
 * padding that aligns it, then the option itself. Alignment follows the
 * original formula even for sizes that are not powers of two (i3 under !8
 * pads to a multiple of 2), since Redis's outputs do.
 */
#include "server/lua_struct.h"

#include <ctype.h>
#include <float.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define ST_BIG	  0
#define ST_LITTLE 1
/* the default of '!': the strictest alignment a double needs */
#define ST_MAXALIGN 8

struct st_header {
	int endian;
	int align;
};

static int st_native(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1 ? ST_LITTLE : ST_BIG;
}

static void st_defaults(struct st_header *h)
{
	h->endian = st_native();
	h->align = 1;
}

/* the decimal number at *fmt, or df when there is none */
static int st_getnum(lua_State *L, const char **fmt, int df)
{
	int a = 0;

	if (!isdigit((unsigned char)**fmt))
		return df;
	do {
		int d = *(*fmt)++ - '0';

		if (a > (INT_MAX - d) / 10)
			luaL_error(L, "integral size overflow");
		a = a * 10 + d;
	} while (isdigit((unsigned char)**fmt));
	return a;
}

/* bytes option opt occupies (0 for s, c0 and the control options) */
static size_t st_optsize(lua_State *L, int opt, const char **fmt)
{
	switch (opt) {
	case 'B':
	case 'b':
		return sizeof(char);
	case 'H':
	case 'h':
		return sizeof(short);
	case 'L':
	case 'l':
		return sizeof(long);
	case 'T':
		return sizeof(size_t);
	case 'f':
		return sizeof(float);
	case 'd':
		return sizeof(double);
	case 'x':
		return 1;
	case 'c':
		return (size_t)st_getnum(L, fmt, 1);
	case 'i':
	case 'I': {
		int sz = st_getnum(L, fmt, sizeof(int));

		if (sz > LUASTRUCT_MAXINTSIZE)
			luaL_error(L, "integral size %d is larger than limit of %d", sz,
				   LUASTRUCT_MAXINTSIZE);
		return (size_t)sz;
	}
	default:
		return 0;
	}
}

/* padding before an item of this size at offset len */
static size_t st_toalign(size_t len, const struct st_header *h, int opt, size_t size)
{
	if (size == 0 || opt == 'c')
		return 0;
	if (size > (size_t)h->align)
		size = (size_t)h->align;
	return (size - (len & (size - 1))) & (size - 1);
}

/* the options that are not items: byte order, alignment, space */
static void st_control(lua_State *L, int opt, const char **fmt, struct st_header *h)
{
	switch (opt) {
	case ' ':
		return;
	case '>':
		h->endian = ST_BIG;
		return;
	case '<':
		h->endian = ST_LITTLE;
		return;
	case '!': {
		int a = st_getnum(L, fmt, ST_MAXALIGN);

		if (a <= 0 || (a & (a - 1)) != 0)
			luaL_error(L, "alignment %d is not a power of 2", a);
		h->align = a;
		return;
	}
	default:
		luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
	}
}

/*
 * A double converted to 64 bits as the x86-64 code of C's (unsigned long)d
 * and (unsigned long)(long)d conversions does, without their undefined
 * behaviour: negatives truncate through int64 (below -2^63: 2^63), values
 * past 2^64 and +inf give 0, NaN 2^63.
 */
static uint64_t st_to_u64(double d)
{
	if (d < 0)
		return d >= -9223372036854775808.0 ? (uint64_t)(int64_t)d : UINT64_C(1) << 63;
	if (d < 9223372036854775808.0)
		return (uint64_t)(int64_t)d;
	if (d >= 9223372036854775808.0 && d < 18446744073709551616.0)
		return (uint64_t)d;
	return isnan(d) ? UINT64_C(1) << 63 : 0;
}

/* writes the low size bytes of v (zeros past 8) in the given order */
static void st_put_bytes(luaL_Buffer *b, uint64_t v, int endian, size_t size)
{
	char buf[LUASTRUCT_MAXINTSIZE];

	for (size_t i = 0; i < size; i++) {
		buf[endian == ST_LITTLE ? i : size - 1 - i] = (char)(v & 0xff);
		v >>= 8;
	}
	luaL_addlstring(b, buf, size);
}

/* reads size bytes as an integer; past 8 bytes only the last 8 read count */
static lua_Number st_get_int(const unsigned char *p, int endian, int issigned, size_t size)
{
	uint64_t v = 0;

	for (size_t i = 0; i < size; i++)
		v = (v << 8) | p[endian == ST_BIG ? i : size - 1 - i];
	if (!issigned)
		return (lua_Number)v;
	/* the sign bit of a size-byte integer; the shift count is taken
	 * modulo 64 as x86 does in Redis's build (i0: bit 63, i9: bit 7) */
	uint64_t mask = ~UINT64_C(0) << ((size * 8 - 1) & 63);

	if (v & mask)
		v |= mask;
	return (lua_Number)(int64_t)v;
}

/* float rounding of d; out of float's range is ±inf, as x86 converts */
static float st_to_float(double d)
{
	const double inf_from = (double)FLT_MAX + 0x1p103; /* half an ulp above */

	if (d >= inf_from)
		return INFINITY;
	if (d <= -inf_from)
		return -INFINITY;
	return (float)d;
}

static int st_pack(lua_State *L)
{
	const char *fmt = luaL_checkstring(L, 1);
	struct st_header h;
	luaL_Buffer b;
	int arg = 2;
	size_t total = 0;

	st_defaults(&h);
	lua_pushnil(L); /* separates the arguments from the buffer's slots */
	luaL_buffinit(L, &b);
	while (*fmt != '\0') {
		int opt = *fmt++;
		size_t size = st_optsize(L, opt, &fmt);
		size_t pad = st_toalign(total, &h, opt, size);

		total += pad;
		while (pad-- > 0)
			luaL_addchar(&b, '\0');
		switch (opt) {
		case 'b':
		case 'B':
		case 'h':
		case 'H':
		case 'l':
		case 'L':
		case 'T':
		case 'i':
		case 'I':
			st_put_bytes(&b, st_to_u64(luaL_checknumber(L, arg++)), h.endian, size);
			break;
		case 'x':
			luaL_addchar(&b, '\0');
			break;
		case 'f': {
			float f = st_to_float(luaL_checknumber(L, arg++));
			uint32_t u;

			memcpy(&u, &f, sizeof(u));
			st_put_bytes(&b, u, h.endian, sizeof(u));
			break;
		}
		case 'd': {
			double d = luaL_checknumber(L, arg++);
			uint64_t u;

			memcpy(&u, &d, sizeof(u));
			st_put_bytes(&b, u, h.endian, sizeof(u));
			break;
		}
		case 'c':
		case 's': {
			size_t l;
			const char *s = luaL_checklstring(L, arg++, &l);

			if (size == 0)
				size = l;
			/* Redis reports the argument after the string */
			luaL_argcheck(L, l >= size, arg, "string too short");
			luaL_addlstring(&b, s, size);
			if (opt == 's') {
				luaL_addchar(&b, '\0');
				size++;
			}
			break;
		}
		default:
			st_control(L, opt, &fmt, &h);
		}
		total += size;
	}
	luaL_pushresult(&b);
	return 1;
}

static int st_unpack(lua_State *L)
{
	const char *fmt = luaL_checkstring(L, 1);
	size_t ld;
	const char *data = luaL_checklstring(L, 2, &ld);
	size_t pos = (size_t)luaL_optinteger(L, 3, 1);
	struct st_header h;
	int n = 0;

	luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
	pos--;
	st_defaults(&h);
	while (*fmt != '\0') {
		int opt = *fmt++;
		size_t size = st_optsize(L, opt, &fmt);

		pos += st_toalign(pos, &h, opt, size);
		luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
		luaL_checkstack(L, 2, "too many results");
		switch (opt) {
		case 'b':
		case 'B':
		case 'h':
		case 'H':
		case 'l':
		case 'L':
		case 'T':
		case 'i':
		case 'I':
			lua_pushnumber(L, st_get_int((const unsigned char *)data + pos, h.endian,
						     islower(opt), size));
			n++;
			break;
		case 'x':
			break;
		case 'f': {
			uint32_t u = (uint32_t)st_get_int((const unsigned char *)data + pos,
							  h.endian, 0, sizeof(u));
			float f;

			memcpy(&f, &u, sizeof(f));
			lua_pushnumber(L, f);
			n++;
			break;
		}
		case 'd': {
			uint64_t u = 0;
			double d;

			for (size_t i = 0; i < sizeof(u); i++)
				u = (u << 8) |
				    (unsigned char)
					data[pos + (h.endian == ST_BIG ? i : sizeof(u) - 1 - i)];
			memcpy(&d, &u, sizeof(d));
			lua_pushnumber(L, d);
			n++;
			break;
		}
		case 'c':
			if (size == 0) {
				if (n == 0 || !lua_isnumber(L, -1))
					luaL_error(L, "format 'c0' needs a previous size");
				size = (size_t)st_to_u64(lua_tonumber(L, -1));
				lua_pop(L, 1);
				n--;
				luaL_argcheck(L, size <= ld && pos <= ld - size, 2,
					      "data string too short");
			}
			lua_pushlstring(L, data + pos, size);
			n++;
			break;
		case 's': {
			const char *e = memchr(data + pos, '\0', ld - pos);

			if (e == NULL)
				luaL_error(L, "unfinished string in data");
			size = (size_t)(e - (data + pos)) + 1;
			lua_pushlstring(L, data + pos, size - 1);
			n++;
			break;
		}
		default:
			st_control(L, opt, &fmt, &h);
		}
		pos += size;
	}
	lua_pushinteger(L, (lua_Integer)(pos + 1));
	return n + 1;
}

static int st_size(lua_State *L)
{
	const char *fmt = luaL_checkstring(L, 1);
	struct st_header h;
	size_t pos = 0;

	st_defaults(&h);
	while (*fmt != '\0') {
		int opt = *fmt++;
		size_t size = st_optsize(L, opt, &fmt);

		pos += st_toalign(pos, &h, opt, size);
		if (opt == 's')
			luaL_argerror(L, 1, "option 's' has no fixed size");
		else if (opt == 'c' && size == 0)
			luaL_argerror(L, 1, "option 'c0' has no fixed size");
		if (!isalnum((unsigned char)opt))
			st_control(L, opt, &fmt, &h);
		pos += size;
	}
	lua_pushinteger(L, (lua_Integer)pos);
	return 1;
}

int luaopen_struct(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"pack", st_pack},
	    {"unpack", st_unpack},
	    {"size", st_size},
	    {NULL, NULL},
	};

	luaL_register(L, "struct", fns);
	return 1;
}
