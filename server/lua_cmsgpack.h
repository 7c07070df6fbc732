/*
 * lua_cmsgpack.h — the `cmsgpack` Lua 5.1 library that Redis gives scripts:
 * MessagePack encoding of Lua values and decoding back, written for kvsd to
 * behave byte for byte as Redis 7.0's embedded lua-cmsgpack 0.4.0 (Debian ships
 * no build of it for Lua 5.1). tests/unit/server/test_lua_mods.c holds the
 * outputs of redis-server 7.0.15 it is checked against.
 *
 * Lua API (all in the table `cmsgpack`, also set as the global of that name):
 *   pack(v1, ...)   one string: the encodings of the arguments, concatenated.
 *                   Numbers that are integers in [-2^63, 2^63) take the
 *                   smallest msgpack int form; other numbers are float32 when
 *                   that is exact (and for ±inf), else float64. Strings are
 *                   fixstr/str8/str16/str32; tables whose keys are exactly
 *                   1..n are arrays (an empty table is an empty array), other
 *                   tables maps (in lua_next order); booleans, nil; functions,
 *                   userdata, threads and any table nested deeper than
 *                   LUACMSGPACK_MAX_NESTING (16) levels become nil.
 *                   No argument: "bad argument #0 ... (MessagePack pack
 *                   needs input.)"; more than the stack allows: "Too many
 *                   arguments for MessagePack pack."
 *   unpack(s)       every value encoded in s, in order (none for "").
 *   unpack_one(s, [offset])          the next offset, then one value.
 *   unpack_limit(s, limit, [offset]) the next offset, then up to limit values.
 *                   The next offset is -1 once s is used up; offsets are
 *                   0-based. unpack_limit(s, 0) (offset 0) decodes all values
 *                   and returns no offset, as Redis does.
 *   Truncated input raises "Missing bytes in input.", an unknown type byte
 *   (bin, ext, 0xc1) "Bad data format in input.", a nil or NaN map key Lua's
 *   own table error; decoding needs one Lua stack slot per value and two per
 *   nesting level, so very many values or very deep nesting raise Lua's
 *   "stack overflow (...)" (at the same points as Redis).
 *
 * Threads: a lua_State is used by one thread at a time; the library keeps no
 * global state (pack's scratch buffer is an upvalue of its closure).
 * Ownership: all memory comes from the state's allocator (lua_getallocf) and
 * is released by the collector, also when an error unwinds a call.
 * Errors: every malformed input is a Lua error (lua_error / luaL_error); no
 * input reads outside the string or recurses without bound.
 */
#ifndef KVSD_LUA_CMSGPACK_H
#define KVSD_LUA_CMSGPACK_H

#include <lua.h>

/* nesting depth of tables pack encodes; a deeper table is encoded as nil */
#define LUACMSGPACK_MAX_NESTING 16

/*
 * Creates the cmsgpack table (pack, unpack, unpack_one, unpack_limit and the
 * _NAME, _VERSION, _COPYRIGHT, _DESCRIPTION strings Redis has), sets it as
 * the global `cmsgpack` and leaves it on the stack; returns 1. Call it like
 * any luaopen_* (lua_pushcfunction + lua_call, or directly on a fresh state).
 */
int luaopen_cmsgpack(lua_State *L);

#endif
