#!/usr/bin/env python3
"""gen_lua_mods_cases.py — expected outputs of kvsd's cmsgpack and struct Lua
libraries, taken from a running redis-server (the oracle).

usage: tools/gen_lua_mods_cases.py PORT > tests/unit/server/lua_mods_cases.h

Each case is a Lua function body run inside pcall by EVAL on redis-server; its
result ('ok <value>' or 'err <message>') becomes the expected string that
tests/unit/server/test_lua_mods.c checks against the same body run in a plain
lua_State with server/lua_cmsgpack.c and server/lua_struct.c opened. The helper
functions (hex, head, dump, all) are in PRELUDE, shared with the test.
"""
import socket
import sys

PRELUDE = r"""
local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end
local function head(s, n) return #s .. ':' .. hex(string.sub(s, 1, n)) .. '..' .. hex(string.sub(s, -n)) end
local function kless(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == 'boolean' then return (not a) and b end
  return a < b
end
local dump
dump = function(v)
  local t = type(v)
  if t == 'string' then return '"' .. hex(v) .. '"'
  elseif t == 'number' then return string.format('%.17g', v)
  elseif t == 'table' then
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks, kless)
    local out = {}
    for _, k in ipairs(ks) do out[#out + 1] = dump(k) .. '=' .. dump(v[k]) end
    return '{' .. table.concat(out, ',') .. '}'
  end
  return tostring(v)
end
local function all(...)
  local out = {}
  for i = 1, select('#', ...) do out[i] = dump((select(i, ...))) end
  return select('#', ...) .. '[' .. table.concat(out, ' ') .. ']'
end
local function nest(d) local t = {} for i = 2, d do t = {t} end return t end
local function depth(v) local d = 0 while type(v) == 'table' do d = d + 1 v = v[1] end return d end
"""

# the prelude exactly as the test has it: the same line numbers in error messages
PRELUDE = PRELUDE.strip("\n") + "\n"
WRAP = "local ok, r = pcall(function() %s end)\nif ok then return 'ok ' .. tostring(r) end\nreturn 'err ' .. tostring(r)\n"

P = "return hex(cmsgpack.pack(%s))"
CASES = []
# integers: every msgpack int width on both sides of each boundary
for v in ["0", "1", "127", "128", "255", "256", "65535", "65536", "4294967295", "4294967296",
          "2^53", "2^62", "-1", "-32", "-33", "-128", "-129", "-32768", "-32769", "-2^31",
          "-2^31-1", "-2^53", "-2^63", "2^63", "2^64", "1e20", "-1e20", "9007199254740993"]:
    CASES.append(P % v)
# floats: float32 when exact, else float64; -0 is the integer 0
for v in ["1.5", "-1.5", "0.1", "-0.0", "1/0", "-1/0", "0/0", "-(0/0)", "3.4028234663852886e38",
          "3.4028235677973366e38", "1e39", "1e-45", "1e-46", "2^-149", "0.5", "2^70", "-2^70",
          "123456.789"]:
    CASES.append(P % v)
# strings: fixstr, str8, str16, str32 around each boundary
CASES += [P % "''", P % "'a'", P % "'\\0\\1\\255'", P % "string.rep('x', 31)",
          P % "string.rep('x', 32)"]
for n in [255, 256, 65535, 65536, 70000]:
    CASES.append("return head(cmsgpack.pack(string.rep('y', %d)), 6)" % n)
# other types
CASES += [P % "true", P % "false", P % "nil", P % "function() end", P % "coroutine.create(function() end)",
          P % "1, 'a', true, nil, {}", P % "nil, nil", "return hex(cmsgpack.pack())",
          P % "{}", P % "{1, 2, 3}", P % "{1, nil, 3}", P % "{nil, 2}", P % "{a = 1}",
          P % "{[0] = 1}", P % "{[-1] = 'x'}", P % "{[1.5] = 1}", P % "{[2^31] = 1}",
          P % "{[2^31 - 1] = 1}", P % "{[true] = false}", P % "{['1'] = 1}", P % "{{}, {{}}}",
          P % "{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}",
          P % "{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}",
          P % "{1.5, -1, 'z', false}",
          "local t = {} for i = 1, 65535 do t[i] = i % 2 end return head(cmsgpack.pack(t), 4)",
          "local t = {} for i = 1, 65536 do t[i] = true end return head(cmsgpack.pack(t), 4)",
          "local t = {} for i = 1, 15 do t['k' .. i] = 1 end return head(cmsgpack.pack(t), 1)",
          "local t = {} for i = 1, 16 do t['k' .. i] = 1 end return head(cmsgpack.pack(t), 3)",
          "local t = {} for i = 1, 65536 do t['k' .. i] = 1 end return head(cmsgpack.pack(t), 5)",
          "local t = {1, 2, x = 3} return all(cmsgpack.unpack(cmsgpack.pack(t)))",
          "local t = {} t[1] = 1 t[2] = 2 t[4] = 4 return hex(string.sub(cmsgpack.pack(t), 1, 1))",
          ]
# nesting: 16 levels are encoded, the 17th table becomes nil
for d in [1, 2, 15, 16, 17, 18, 40]:
    CASES.append(P % ("nest(%d)" % d))
CASES.append("local t = {} t[1] = t return hex(cmsgpack.pack(t))")
CASES.append("local t = {} t.a = t return hex(cmsgpack.pack(t))")
# unpack: every first byte, with a payload after it
for lo in range(0, 256, 16):
    CASES.append("local o = {} for b = %d, %d do o[#o + 1] = all(pcall(function() return cmsgpack.unpack_one(string.char(b) .. '\\1\\2\\3\\4\\5\\6\\7\\8\\9') end)) end return table.concat(o, ';')" % (lo, lo + 15))
# the same bytes cut short
for lo in range(0, 256, 32):
    CASES.append("local o = {} for b = %d, %d do o[#o + 1] = all(pcall(function() return cmsgpack.unpack(string.char(b, 2)) end)) end return table.concat(o, ';')" % (lo, lo + 31))
U = "return all(cmsgpack.unpack(%s))"
CASES += [U % "''", U % "'\\192\\192'", U % "'\\1\\2\\3'", U % "cmsgpack.pack(1, 'a', {1, 2}, {x = false})",
          U % "'\\205\\1'", U % "'\\193'", U % "'\\129\\192\\1'", U % "'\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1'",
          U % "'\\129\\1\\192'", U % "'\\147\\1\\192\\3'", U % "'\\145'", U % "'\\129\\1'", U % "'\\220\\0\\1\\2'",
          U % "'\\221\\255\\255\\255\\255\\1'", U % "'\\223\\255\\255\\255\\255\\1\\2'",
          U % "'\\219\\255\\255\\255\\255ab'", U % "'\\218\\0\\3abc'", U % "'\\217\\2ab\\217\\3ab'",
          U % "'\\196\\1a'", U % "'\\207\\255\\255\\255\\255\\255\\255\\255\\255'",
          U % "'\\211\\128\\0\\0\\0\\0\\0\\0\\0'", U % "'\\202\\127\\192\\0\\0'",
          U % "'\\128', 5", U % "5", U % "{}", "return all(cmsgpack.unpack())",
          "return all(pcall(cmsgpack.unpack, string.rep('\\192', 7000)))",
          "return #{cmsgpack.unpack(string.rep('\\192', 7000) .. '\\1')}",
          "return all(pcall(function() return cmsgpack.unpack(string.rep('\\192', 9000)) end))",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 5000) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 3000) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\129\\1', 3000) .. '\\1') if ok then return depth(e) end return e",
          ]
CASES += [U % "'\\206\\255\\255\\255\\255'", U % "'\\210\\128\\0\\0\\0'", U % "'\\209\\128\\0'",
          U % "'\\208\\128'", U % "'\\205\\255\\255'", U % "'\\204\\255'", U % "'\\207\\128\\0\\0\\0\\0\\0\\0\\1'",
          U % "'\\203\\63\\240\\0\\0\\0\\0\\0\\0'", U % "'\\202\\63\\192\\0\\0'",
          U % "'\\222\\0\\1\\1\\2'", U % "'\\130\\1\\2\\1\\3'", U % "'\\129\\145\\1\\2'",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\129\\1', 5000) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\129\\145\\1', 3000) .. '\\1') if ok then return 'ok' end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 3999) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 4000) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\129\\1', 3999) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\129\\1', 4000) .. '\\1') if ok then return depth(e) end return e",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\192', 7998)) return tostring(ok) .. ' ' .. tostring(e)",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\192', 7999)) return tostring(ok) .. ' ' .. tostring(e)",
          "local ok, e = pcall(cmsgpack.unpack_limit, string.rep('\\192', 8000), 7997) return tostring(ok) .. ' ' .. tostring(e)",
          "local ok, e = pcall(cmsgpack.unpack_limit, string.rep('\\192', 8000), 7998) return tostring(ok) .. ' ' .. tostring(e)",
          ]
for n in [3997, 3998, 3999, 4000, 4001, 5000, 7998]:
    for v in ["1", "{1}", "{a = 1}", "{{a = 1}}"]:
        CASES.append("local t = {} for i = 1, %d do t[i] = %s end local ok, e = pcall(cmsgpack.pack, unpack(t)) if ok then return #e end return e" % (n, v))
for n in [3991, 3992, 3993]:
    for d in [15, 16, 17]:
        CASES.append("local t = {} for i = 1, %d do t[i] = nest(%d) end local ok, e = pcall(cmsgpack.pack, unpack(t)) if ok then return #e end return e" % (n, d))
CASES += ["local ok, e = pcall(cmsgpack.unpack, string.rep('\\129\\1', 3999) .. '\\129') return tostring(ok) .. ' ' .. tostring(e)",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 3999) .. '\\145') return tostring(ok) .. ' ' .. tostring(e)",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 3998) .. '\\129') return tostring(ok) .. ' ' .. tostring(e)",
          "local ok, e = pcall(cmsgpack.unpack, string.rep('\\192', 7999) .. '\\205') return tostring(ok) .. ' ' .. tostring(e)",
          "return all(cmsgpack.unpack_limit('\\1\\2\\3', 2^32))", "return all(cmsgpack.unpack_limit('\\1\\2\\3', 2^32 + 1))",
          "return all(cmsgpack.unpack_limit('\\1\\2\\3', 2^31))", "return all(cmsgpack.unpack_limit('\\1\\2\\3', 2^32, 2^32))",
          "return all(cmsgpack.unpack_limit('\\1\\2\\3', 1, 2^32))", "return all(cmsgpack.unpack_one('\\1\\2\\3', 2^32))",
          "return all(cmsgpack.unpack_one('\\1\\2\\3', -2^32))", "return all(cmsgpack.unpack_limit('\\1\\2\\3', -2^32 + 1))",
          ]
# unpack_one / unpack_limit: offsets and limits
S = "cmsgpack.pack(1, 'ab', {3}, nil)"
CASES += ["return all(cmsgpack.unpack_one(%s))" % S,
          "return all(cmsgpack.unpack_one(%s, 1))" % S,
          "return all(cmsgpack.unpack_one(%s, 4))" % S,
          "return all(cmsgpack.unpack_one(%s, 6))" % S,
          "return all(cmsgpack.unpack_one(%s, 7))" % S,
          "return all(cmsgpack.unpack_one(%s, 8))" % S,
          "return all(cmsgpack.unpack_one(%s, -1))" % S,
          "return all(cmsgpack.unpack_one(%s, 2))" % S,
          "return all(cmsgpack.unpack_one(%s, '1'))" % S,
          "return all(cmsgpack.unpack_one(%s, 1.9))" % S,
          "return all(cmsgpack.unpack_one(%s, 2^32 + 1))" % S,
          "return all(cmsgpack.unpack_one(%s, 'x'))" % S,
          "return all(cmsgpack.unpack_one(%s, 0, 'extra'))" % S,
          "return all(cmsgpack.unpack_one(''))",
          "return all(cmsgpack.unpack_one('', 0))",
          "return all(cmsgpack.unpack_one('\\205'))",
          "return all(cmsgpack.unpack_one())",
          "return all(cmsgpack.unpack_limit(%s, 2))" % S,
          "return all(cmsgpack.unpack_limit(%s, 2, 2))" % S,
          "return all(cmsgpack.unpack_limit(%s, 10))" % S,
          "return all(cmsgpack.unpack_limit(%s, 10, 3))" % S,
          "return all(cmsgpack.unpack_limit(%s, 0))" % S,
          "return all(cmsgpack.unpack_limit(%s, 0, 0))" % S,
          "return all(cmsgpack.unpack_limit(%s, 0, 1))" % S,
          "return all(cmsgpack.unpack_limit(%s, -1))" % S,
          "return all(cmsgpack.unpack_limit(%s, 1, -3))" % S,
          "return all(cmsgpack.unpack_limit(%s))" % S,
          "return all(cmsgpack.unpack_limit(%s, 1, 100))" % S,
          "return all(cmsgpack.unpack_limit(%s, 4, 0))" % S,
          "return all(cmsgpack.unpack_limit('\\1\\2', 1, 2))",
          ]
# round trips
for v in ["{1, 2, {3, {4, 'five'}}, {a = {b = {c = true}}}}", "-2^63", "2^64", "1.25", "0/0",
          "string.rep('q', 300)", "{[1] = 'a', [3] = 'c'}", "{[1.5] = 2.5, [-3] = -4}"]:
    CASES.append("return all(cmsgpack.unpack(cmsgpack.pack(%s)))" % v)

SP = "return hex(struct.pack(%s))"
# struct.pack: every option, both byte orders, bounds
for f, v in [("'b'", "-1"), ("'B'", "255"), ("'b'", "200"), ("'B'", "-1"), ("'h'", "-2"), ("'H'", "65535"),
             ("'>h'", "-2"), ("'<H'", "258"), ("'l'", "-3"), ("'L'", "2^40"), ("'>l'", "-3"), ("'T'", "7"),
             ("'i'", "-4"), ("'I'", "2^32 - 1"), ("'i'", "2^31"), ("'>i'", "1"), ("'<i3'", "-2"),
             ("'>I3'", "70000"), ("'i1'", "300"), ("'i8'", "-1"), ("'>i8'", "2^62"), ("'i16'", "-1"),
             ("'>I16'", "1"), ("'<i32'", "-2"), ("'i0'", "5"), ("'i33'", "1"), ("'I32'", "2^63"),
             ("'L'", "2^64"), ("'L'", "2^63"), ("'l'", "2^63"), ("'l'", "-2^63"), ("'l'", "-1e30"),
             ("'L'", "1e30"), ("'L'", "1/0"), ("'l'", "-1/0"), ("'l'", "0/0"), ("'L'", "-(0/0)"),
             ("'L'", "-0.5"), ("'l'", "-1.5"), ("'L'", "2.9"), ("'b'", "'12'"), ("'b'", "'x'"),
             ("'b'", ""), ("'f'", "1.5"), ("'>f'", "1.5"), ("'f'", "0.1"), ("'f'", "1e39"), ("'>d'", "0.1"),
             ("'<d'", "-2"), ("'d'", "0/0"), ("'s'", "'abc'"), ("'s'", "''"), ("'s'", "'a\\0b'"),
             ("'c'", "'xyz'"), ("'c0'", "'xyz'"), ("'c2'", "'xyz'"), ("'c3'", "'xyz'"), ("'c5'", "'xyz'"),
             ("'c'", "''"), ("'bc5'", "1, 'x'"), ("'c'", "5"), ("'x'", ""), ("'xxb'", "1"),
             ("' b b '", "1, 2"), ("'=i'", "1"), ("'z'", ""), ("'5'", ""), ("'!'", ""), ("'!4bi'", "1, 2"),
             ("'!bd'", "1, 2"), ("'!2bd'", "1, 2"), ("'!8bi3'", "1, 2"), ("'!8bbi3'", "1, 2, 3"),
             ("'!8bbbi3'", "1, 2, 3, 4"), ("'!8bbbbi3'", "1, 2, 3, 4, 5"), ("'!8bbi6'", "1, 2, 3"),
             ("'!16bi16'", "1, 2"), ("'!3b'", "1"), ("'!0b'", "1"), ("'!bh'", "1, 2"), ("'!bc3'", "1, 'abc'"),
             ("'!bs'", "1, 'a'"), ("'!bx'", "1"), ("'!bT'", "1, 2"), ("'i99999999999'", "1"),
             ("'c2147483647'", "'a'"), ("'c2147483648'", "'a'"), ("'>b<h>i<l'", "1, 2, 3, 4"),
             ("'b\\0b'", "1, 2"), ("''", ""), ("'bb'", "1"), ("'b'", "1, 2"), ("", "")]:
    CASES.append(SP % (f + (", " + v if v else "")))
SU = "return all(struct.unpack(%s))"
for a in ["'b', '\\255'", "'B', '\\255'", "'h', '\\254\\255'", "'>h', '\\254\\255'", "'H', '\\254\\255'",
          "'l', string.rep('\\255', 8)", "'L', string.rep('\\255', 8)", "'T', '\\1\\0\\0\\0\\0\\0\\0\\0'",
          "'i', '\\255\\255\\255\\127'", "'>i', '\\255\\255\\255\\127'", "'I', '\\255\\255\\255\\255'",
          "'i3', '\\255\\255\\255'", "'I3', '\\255\\255\\255'", "'i1', '\\128'",
          "'i16', string.rep('\\255', 16)", "'I16', string.rep('\\255', 16)",
          "'<i16', string.rep('\\255', 8) .. string.rep('\\0', 8)",
          "'>i16', string.rep('\\0', 8) .. string.rep('\\255', 8)",
          "'>i16', string.rep('\\0', 15) .. '\\128'", "'>i16', '\\128' .. string.rep('\\0', 15)",
          "'>i12', string.rep('\\255', 12)", "'i9', string.rep('\\1', 9)", "'i0', 'abc'", "'I0', 'abc'",
          "'i33', string.rep('a', 40)", "'f', '\\0\\0\\192\\63'", "'>f', '\\63\\192\\0\\0'",
          "'d', '\\0\\0\\0\\0\\0\\0\\240\\63'", "'>d', '\\63\\240\\0\\0\\0\\0\\0\\0'",
          "'d', '\\0\\0\\0\\0\\0\\0\\248\\127'", "'s', 'abc\\0def'", "'ss', 'abc\\0def\\0'", "'s', 'abc'",
          "'s', ''", "'c', 'xyz'", "'c2', 'xyz'", "'c3', 'xyz'", "'c4', 'xyz'", "'c0', 'xyz'",
          "'bc0', '\\2xyz'", "'bc0', '\\5xyz'", "'bc0', '\\0xyz'", "'c1c0', '2xyz'", "'c1c0', 'axyz'",
          "'bc0b', '\\1xyz'", "'i1c0', '\\255xyz'", "'hc0', '\\0\\128xyz'", "'xb', '\\1\\2'", "'xxx', 'ab'",
          "'b', 'abc', 2", "'b', 'abc', 3", "'b', 'abc', 4", "'b', 'abc', 0", "'b', 'abc', -1",
          "'b', 'abc', 2^32 + 2", "'', 'abc', 100", "' ', 'abc', 100", "'<', 'abc', 100", "'<', 'abc', 4",
          "'b', 'abc', '2'", "'b', 'abc', 'x'", "'b', 'abc', 1.5", "'!4bi', '\\1\\0\\0\\0\\2\\0\\0\\0'",
          "'!4bi', '\\1\\0\\0\\0\\2\\0\\0'", "'!bd', string.rep('\\0', 16)", "'!8bi3', string.rep('\\1', 12)",
          "'!8bbbbi3', string.rep('\\1', 12)", "'!3b', 'a'", "'=b', 'a'", "'z', 'a'", "'5', 'a'", "'b'",
          "'b', nil", "nil, 'a'", "'b', 12", "12, 'a'", "'i99999999999', 'a'", "'c2147483647', 'a'",
          "'c99999999999', 'a'", "'!bc3', '\\1abc'", "'!bs', '\\1a\\0'", "'b\\0b', '\\1\\2'",
          "'>b<h>i<l', string.rep('\\1', 20)"]:
    CASES.append(SU % a)
for a in ["'c4c0', '1e30xyz'", "'c4c0', '-0.5xyz'", "'c2c0', '-1xyz'", "'c3c0', 'nanxyz'", "'c3c0', '1.9xyz'",
          "'c4c0', '0x02xyz'", "'dc0', struct.pack('d', 2^64) .. 'xyz'", "'dc0', struct.pack('d', 1/0) .. 'xyz'",
          "'dc0', struct.pack('d', -1/0) .. 'xyz'", "'dc0', struct.pack('d', 0/0) .. 'xyz'"]:
    CASES.append(SU % a)
CASES += ["return all(pcall(struct.unpack, string.rep('b', 10000), string.rep('a', 10000)))",
          "return select('#', struct.unpack(string.rep('b', 7000), string.rep('a', 7000)))",
          "return all(pcall(function() return struct.unpack(string.rep('b', 7990), string.rep('a', 7990)) end))"]
SZ = "return all(struct.size(%s))"
for f in ["'b'", "'B'", "'h'", "'H'", "'l'", "'L'", "'T'", "'i'", "'I'", "'i3'", "'i32'", "'i33'", "'f'",
          "'d'", "'x'", "'c'", "'c7'", "'c0'", "'s'", "'z'", "'5'", "'='", "' '", "'<>'", "'!bd'", "'!4bd'",
          "'!3'", "'bhlTifd'", "'!bhlTifd'", "''", "12", "nil", "'i99999999999'", "'c2147483647c2147483647'",
          "'b\\0s'", "'bs'", "'!8bi3'", "'!8bbbbi3'", "'!16bi16'"]:
    CASES.append(SZ % f)
# round trips
for f, v in [("'>bBhHlLTiIi3I5fds'", "-1, 2, -3, 4, -5, 6, 7, -8, 9, -10, 11, 1.5, 0.1, 'str'"),
             ("'<!8bdhi7c3'", "1, 2.25, -3, -4, 'abc'")]:
    CASES.append("return all(struct.unpack(%s, struct.pack(%s, %s)))" % (f, f, v))


def resp_cmd(sock, rf, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    line = rf.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        data = rf.read(n + 2)[:-2]
        return data.decode("latin-1")
    raise RuntimeError("unexpected reply %r" % line)


def c_str(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= o < 127:
            out.append(ch)
        else:
            out.append("\\%03o" % o)
    return '"' + "".join(out) + '"'


def main():
    port = int(sys.argv[1])
    sock = socket.create_connection(("127.0.0.1", port))
    rf = sock.makefile("rb")
    print("/* Generated by tools/gen_lua_mods_cases.py from redis-server %s: do not edit. */"
          % resp_cmd(sock, rf, "EVAL", "return redis.REDIS_VERSION", "0"))
    print("static const char lua_mods_prelude[] =")
    for line in PRELUDE.split("\n")[:-1]:
        print("    %s" % c_str(line + "\n"))
    print("    ;")
    print("static const char lua_mods_wrap[] = %s;" % c_str(WRAP))
    print("static const struct lua_mods_case {")
    print("\tconst char *body;")
    print("\tconst char *want;")
    print("} lua_mods_cases[] = {")
    for body in CASES:
        got = resp_cmd(sock, rf, "EVAL", PRELUDE + (WRAP % body), "0")
        print("    {%s,\n     %s}," % (c_str(body), c_str(got)))
    print("};")


if __name__ == "__main__":
    main()
