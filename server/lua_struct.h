/*
 * lua_struct.h — the `struct` Lua 5.1 library that Redis gives scripts: packing
 * Lua numbers and strings into binary strings and back, in the format
 * language of Roberto Ierusalimschy's struct library (0.2) with the bounds
 * checks Redis added. Written for kvsd (Debian has no build of it for Lua
 * 5.1) to behave as Redis 7.0.15 does; tests/unit/server/test_lua_mods.c holds
 * redis-server's outputs it is checked against.
 *
 * Lua API (table `struct`, also the global of that name):
 *   struct.pack(fmt, v1, ...)      -> string
 *   struct.unpack(fmt, s, [pos])   -> v1, ..., next position (1-based pos)
 *   struct.size(fmt)               -> size in bytes of a fixed-size format
 * Format (read up to the first NUL byte):
 *   > big endian   < little endian   ! [n] align to n (power of 2; default 8)
 *   space ignored  x one zero byte
 *   b/B signed/unsigned char   h/H short   l/L long   T size_t   (host sizes)
 *   i/I [n] signed/unsigned int of n bytes (default 4, at most 32; sizes
 *           past 8 keep the low 8 bytes' value, as Redis does)
 *   f float   d double   s zero-terminated string
 *   c [n] n bytes of a string (default 1). For pack, c0 is the whole string;
 *         for unpack, c0 takes its length from the value unpacked just before.
 *   Anything else (including '=') is "invalid format option 'x'"; struct.size
 *   skips unknown letters and digits as Redis's does.
 * Numbers outside an integer field's range convert as Redis's build does on
 * x86-64 (truncated towards zero; the out-of-range and NaN cases give
 * 0 or 0x8000000000000000), with no undefined behaviour here.
 *
 * Threads: a lua_State is used by one thread at a time; no global state.
 * Ownership: strings are Lua's. Errors: malformed formats, sizes over the
 * limits, short data and wrong argument types are Lua errors with Redis's
 * texts; nothing is read outside the data string.
 */
#ifndef KVSD_LUA_STRUCT_H
#define KVSD_LUA_STRUCT_H

#include <lua.h>

/* largest i/I size, in bytes */
#define LUASTRUCT_MAXINTSIZE 32

/*
 * Registers the struct table (pack, unpack, size) as the global `struct`
 * (luaL_register) and leaves it on the stack; returns 1.
 */
int luaopen_struct(lua_State *L);

#endif
