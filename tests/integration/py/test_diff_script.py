#!/usr/bin/env python3
"""Differential test of Lua scripting (issue 16) against redis-server 7.0.

EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL/HELP:
valid scripts, compile errors, runtime errors (error(), redis.call errors,
redis.error_reply), every reply type conversion both ways in RESP2 and
RESP3 (redis.setresp), the sandbox (globals, library tables, rawset,
removed functions), the redis.* helpers, cjson and bit, math.random's
per-process sequence, the three CVE inputs of the issue, wrong numkeys,
NOSCRIPT, write commands from read-only scripts, commands scripts may not
call. Reply bytes are compared exactly. MONITOR's lines for scripts (the
EVAL / FCALL line, then "[<db> lua]" for each command the script ran) are
compared with the timestamps and the client's address masked.

Usage: test_diff_script.py   (environment: see harness.py)
"""

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_diff  # noqa: E402

# Scripts evaluated with no keys (EVAL s 0), in both protocols.
SCRIPTS = [
    # plain values
    "return 1", "return -3", "return 3.99", "return -3.99", "return 0.5",
    "return 'hello'", "return ''", "return true", "return false", "return nil",
    "return {}", "return {1,2,3}", "return {1,'a',{2,3},true,false}",
    "return {1,nil,3}", "return {1,2,{}}", "return 1e20", "return -1e20",
    "return 2^53", "return 'a\\0b'",
    # tables with fields
    "return {ok='fine'}", "return {err='bad thing'}", "return {err='-X y'}",
    "return {ok='a\\r\\nb'}", "return {err='a\\nb'}", "return {ok=1}",
    "return {err=1, 2}", "return {double=3.5}", "return {double=1/0}",
    "return {double=-1/0}", "return {double=0.1}", "return {double='x'}",
    "return {big_number='123456789012345678901234567890'}",
    "return {map={a=1}}", "return {set={a=true}}", "return {map={}}",
    "return {set={}}", "return {map={a={1,2}}}",
    # redis.* helpers
    "return redis.status_reply('OK')", "return redis.status_reply('PONG')",
    "return redis.error_reply('boom')", "return redis.error_reply('-CODE boom')",
    "return redis.error_reply('-CODEONLY')", "return redis.error_reply('')",
    "return redis.error_reply(1)", "return redis.status_reply()",
    "return redis.status_reply(1,2)",
    "return redis.sha1hex('')", "return redis.sha1hex('abc')",
    "return redis.sha1hex(123)", "return redis.sha1hex()",
    "return redis.REDIS_VERSION", "return redis.REDIS_VERSION_NUM",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA,"
    " redis.REPL_ALL}",
    "redis.log(redis.LOG_WARNING, 'from a script') return 1",
    "redis.log(redis.LOG_DEBUG, 'a', 'b', 3) return 1",
    "redis.log(99, 'x')", "redis.log('x', 'y')", "redis.log(1)",
    "return redis.replicate_commands()", "redis.set_repl(redis.REPL_ALL) return 1",
    "redis.set_repl(99)", "redis.set_repl()", "redis.setresp(4)", "redis.setresp()",
    "return redis.setresp(3)",
    # errors
    "error('boom')", "error('boom', 0)", "error({err='tbl'})", "error(1)", "local t = nil; return t.x", "return 1 + {}",
    "return nosuch", "return nosuch()", "x = 1", "x = 1 return 1",
    "function f() end", "local function f() return 5 end return f()",
    "return redis.call()", "return redis.pcall()",
    "return redis.call('nosuch')", "return redis.pcall('nosuch')",
    "return redis.call('get')", "return redis.pcall('get')",
    "return redis.call('get', {})", "return redis.call('get', nil)",
    "return redis.call('eval', 'return 1', 0)", "return redis.call('multi')",
    "return redis.call('script', 'load', 'return 1')",
    "return redis.call('watch', 'x')",
    "return redis.pcall('eval', 'return 1', 0)",
    "return redis.call('set', 'str', 'v')",
    "redis.call('set','str','v') return redis.call('incr', 'str')",
    "redis.call('set','str','v') return redis.pcall('incr', 'str')",
    "redis.call('set','str','v') local r = redis.pcall('incr', 'str') return r.err",
    "redis.call('set','str','v') local ok, e = pcall(redis.call, 'incr', 'str')"
    " return {tostring(ok), e.err}",
    "redis.call('set','str','v') local r = redis.pcall('lpush', 'str', 1) return {r}",
    "return pcall(error, 'x')", "return {pcall(error, 'x')}",
    "return {pcall(error, {err='y'})}",
    # the sandbox
    "redis.call = nil", "string.len = nil", "rawset(string, 'x', 1)",
    "rawset(_G, 'x', 1)", "_G.x = 1", "math.x = 1", "cjson.x = 1", "bit.x = 1",
    "redis.x = 1", "table.insert = nil", "setmetatable(_G, nil)",
    "setmetatable(string, {})", "return type(io)", "return type(os)",
    "return type(loadfile)", "return type(dofile)", "return io.open('/etc/passwd')",
    "return os.time()", "return loadfile('/etc/passwd')", "return dofile('/etc/passwd')",
    "return type(string.len)", "return string.len('abcd')", "return ('abc'):upper()",
    "return type(getfenv)", "return type(debug)", "return type(print)",
    "local t={} for k,v in pairs(_G) do if k ~= 'cmsgpack' and k ~= 'struct' then"
    " t[#t+1]=k end end table.sort(t) return t",
    "local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t",
    "local t={} for k,v in pairs(string) do t[#t+1]=k end table.sort(t) return t",
    "return {type(getmetatable(string)), type(getmetatable(_G))}",
    "return redis.acl_check_cmd('get')", "return redis.acl_check_cmd('nosuch')",
    "return loadstring('return 5')()", "return type(load)", "return type(gcinfo)", "return type(rawget)", "return type(pcall)",
    "local t = {} rawset(t, 'a', 1) return t.a", "local t = {} setmetatable(t, {}) return 1",
    "return #KEYS", "return #ARGV", "return type(KEYS)",
    "return {type(rawget(_G, 'redis')), type(rawget(redis, 'call')), type(rawget(string, 'len'))}",
    "return {tostring(rawget(_G, 'nosuch')), type(rawget(_G, 'KEYS'))}",
    "return {rawget(_G, 'redis') == redis, rawget(cjson, 'encode') == cjson.encode}",
    "return rawget(1, 2)", "return rawget({})", "local t = {a=1} return rawget(t, 'a')",
    # libraries
    "return cjson.encode({1,2,3})", "return cjson.encode({a=1})",
    "return cjson.encode('x\\ty')", "return cjson.decode('[1,2,3]')",
    "return cjson.decode('{\"a\":[1,2,{\"b\":true}]}').a[3].b",
    "return cjson.decode('bad json')", "return cjson.encode(cjson.decode('[1,\"a\",null]'))",
    "return bit.band(0xff, 0x0f)", "return bit.bor(1, 2, 4)", "return bit.bxor(5, 3)",
    "return bit.lshift(1, 10)", "return bit.rshift(-1, 28)", "return bit.arshift(-16, 2)",
    "return bit.tohex(255)", "return bit.tohex(255, -4)", "return bit.tohex(65535, 2)",
    "return bit.tobit(2^32 + 5)", "return bit.bnot(0)",
    "return string.format('%d-%s', 5, 'x')", "return string.rep('ab', 3)",
    "return table.concat({1,2,3}, ',')", "return math.floor(3.7)", "return math.huge",
    "return tostring(1/0)", "return tonumber('0x10')", "return select('#', 1, 2, 3)",
    "return unpack({1,2,3})", "return {unpack({1,2,3})}", "return {unpack({1,2,3}, 2)}",
    "return {unpack({1,2,3}, 2, 3)}", "return {unpack({}, 1, 0)}",
    # the CVE inputs: bad input, never a crash
    "return bit.tohex(65535, -2147483648)", "return unpack({1,2,3}, -2, 2147483647)",
    "return {unpack({1,2,3}, 2147483647, -2147483648)}",
    "return unpack({1,2,3}, -2147483648, 2147483647)",
    # math.random: one sequence per process
    "return math.random()", "return math.random(10)", "return math.random(5, 9)",
    "return math.random(0)", "return math.random(1, 2, 3)",
    "math.randomseed(42) return math.random(1000)", "return math.random(1000)",
    # compile errors
    "return 1 +", "retur 1", "if then", "return 'unterminated", "end",
    "return {", "local = 1", "\x00", "return [[a",
    # shebang lines (7.0): engine, flags, no-writes
    "#!lua\nreturn 1", "#!lua flags=no-writes\nreturn redis.call('set','x',1)",
    "#!lua flags=no-writes,allow-oom\nreturn 2", "#!lua flags=bad\nreturn 1",
    "#!python\nreturn 1", "#!lua bad=1\nreturn 1", "#!lua\nreturn 1 +",
    "#!lua flags=\nreturn 3", "#!lua name=x\nreturn 1", "#!lua  flags=no-writes \nreturn 4",
    "#!lua", "#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\n"
    "return redis.call('set','x',1)", "#!lua\nerror('x')", "#!", "#! lua\nreturn 1",
    "#!lua flags=no-writes\nreturn redis.call('get','x')",
]

# Scripts that run commands; run after keys are prepared.
CALLS = [
    "return redis.call('get', KEYS[1])",
    "return redis.call('get', 'missing')",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "return redis.call('incr', 'counter')",
    "return redis.call('incrbyfloat', 'fl', '1.5')",
    "return redis.call('del', 'counter')",
    "return redis.call('ping')",
    "return redis.call('echo', 'hi')",
    "return redis.call('lpush', 'l', 'a', 'b', 'c')",
    "return redis.call('lrange', 'l', 0, -1)",
    "return redis.call('hset', 'h', 'f1', 'v1', 'f2', 'v2')",
    "return redis.call('hgetall', 'h')",
    "return redis.call('hget', 'h', 'nosuch')",
    "return redis.call('sadd', 's', 'x')",
    "return redis.call('smembers', 's')",
    "return redis.call('zadd', 'z', 1.5, 'a', 2, 'b')",
    "return redis.call('zrange', 'z', 0, -1, 'withscores')",
    "return redis.call('zscore', 'z', 'a')",
    "return redis.call('type', 'z')",
    "return redis.call('exists', 'z', 'nosuch')",
    "return redis.call('mget', 'k1', 'missing', 'k2')",
    "return redis.call('set', 'k3', 3.7)",
    "redis.call('set', 'k4', 3.7) return redis.call('get', 'k4')",
    "redis.call('set', 'k5', 10) return redis.call('get', 'k5')",
    "return redis.call('lpop', 'nolist')",
    "return redis.call('blpop', 'nolist', 0)",
    "return redis.call('hello', '3')",
    "return type(redis.call('get', 'missing'))",
    "return {redis.call('get', 'missing')}",
    "return redis.call('set', 'k1', 'v', 'get')",
    "return redis.call('select', 1)",
    "redis.call('select', 1) return redis.call('set', 'indb1', 'x')",
    "return redis.call('get', 'indb1')",
    "return redis.call('dbsize')",
    "return redis.call('object', 'encoding', 'k1')",
    "return redis.call('config', 'get', 'maxmemory')",
    "return redis.call('client', 'setname', 'x')",
    "return redis.call('expire', 'k1', 1000)",
    "return redis.call('ttl', 'k1')",
    "return redis.call('SET', 'CaSe', 1)",
    "return redis.call('get', 1.5)",
    "return redis.call('get', 10)",
    "return redis.call('get', 0.1)",
    "return redis.call('get', -0)",
    "return redis.call('get', 1e20)",
    # RESP3 inside the script
    "redis.setresp(3) return redis.call('hgetall', 'h')",
    "redis.setresp(3) local r = redis.call('hgetall', 'h') return r.map.f1",
    "redis.setresp(3) return redis.call('smembers', 's')",
    "redis.setresp(3) local r = redis.call('smembers', 's') return type(r.set)",
    "redis.setresp(3) return redis.call('get', 'missing')",
    "redis.setresp(3) return type(redis.call('get', 'missing'))",
    "redis.setresp(3) return redis.call('zscore', 'z', 'a')",
    "redis.setresp(3) local r = redis.call('zscore', 'z', 'a') return r.double",
    "redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')",
    "redis.setresp(3) return redis.call('exists', 'z')",
    "redis.setresp(3) return redis.call('hget', 'h', 'nosuch')",
    "redis.setresp(3) return redis.call('lpop', 'nolist')",
    "redis.setresp(3) return redis.call('ping')",
    "redis.setresp(3) return redis.call('incrbyfloat', 'fl', '1')",
    "redis.setresp(3) return redis.call('config', 'get', 'maxmemory')",
    "redis.setresp(2) return redis.call('hgetall', 'h')",
]


def sec_scripts(d, p, resp):
    d.section = 'scripts resp%d' % resp
    for s in SCRIPTS:
        p.c('EVAL', s, '0')
    for s in SCRIPTS[:40]:
        p.c('EVAL_RO', s, '0')


def sec_calls(d, p, resp):
    d.section = 'calls resp%d' % resp
    p.c('FLUSHALL')
    p.c('SET', 'k1', 'v1')
    p.c('SET', 'k2', 'v2')
    for s in CALLS:
        p.c('EVAL', s, '1', 'k1', 'arg1')
    p.c('SELECT', '0')
    p.c('GET', 'k1')
    for s in CALLS:
        p.c('EVAL_RO', s, '1', 'k1', 'arg1')
    p.c('FLUSHALL')


def sec_keys_argv(d, p):
    d.section = 'keys argv'
    p.c('EVAL', 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}', '2', 'a', 'b',
        'c', 'd')
    p.c('EVAL', 'return KEYS', '3', 'a', 'b', 'c')
    p.c('EVAL', 'return ARGV', '0', 'a', 'b', 'c')
    p.c('EVAL', 'return ARGV', '0', '', 'a\x00b')
    p.c('EVAL', 'return 1', '1')
    p.c('EVAL', 'return 1', '-1')
    p.c('EVAL', 'return 1', 'x')
    p.c('EVAL', 'return 1', '2', 'a')
    p.c('EVAL', 'return 1', '99999999999999999999')
    p.c('EVAL', 'return 1')
    p.c('EVAL')
    p.c('EVALSHA', 'x')
    p.c('EVAL_RO', 'return 1')
    p.c('EVAL', 'return 1', '1.5')
    p.c('EVAL', 'return 1', ' 1')
    # what a script does to KEYS / ARGV is not seen by the next one (kvsd
    # refills the same tables)
    p.c('EVAL', 'table.insert(KEYS, "x") KEYS[7] = "y" rawset(KEYS, "z", 1) '
        'setmetatable(KEYS, {__index=function() return "meta" end}) return #KEYS', '1', 'a')
    p.c('EVAL', 'return {#KEYS, KEYS[2], KEYS[7], KEYS.z, KEYS[9], #ARGV, '
        'tostring(getmetatable(KEYS))}', '1', 'b')
    p.c('EVAL', 'ARGV[1] = nil ARGV.q = 1 ARGV[1.5] = 2 return #ARGV', '0', 'p', 'q')
    p.c('EVAL', 'return {ARGV[1], ARGV[2], ARGV.q, ARGV[1.5], #ARGV}', '0', 'r')
    p.c('EVAL', 'local n = 0 for k in pairs(ARGV) do n = n + 1 end return n', '0', 's', 't')
    p.c('EVAL', 'return nosuchglobal', '0')
    # numbers passed to redis.call: "%.17g" (kvsd prints integers itself)
    for v in ('-0.0', '0', '-5', '2^53', '2^53-1', '-(2^53)', '1e15', '1e16', '1e17',
              '123456789012345678', '0.1', '1/0', '-1/0', '3.0', '-7.5', '2^63', '1e300'):
        p.c('EVAL', "redis.call('set', 'n', %s) return redis.call('get', 'n')" % v, '0')
    p.c('EVAL', "return redis.call('mget', 'n', 'nosuch', 'n')", '0')


def sec_evalsha(d, p):
    d.section = 'evalsha / script'
    p.c('SCRIPT', 'FLUSH')
    body = "return {KEYS[1], ARGV[1], 'sha'}"
    p.c('SCRIPT', 'LOAD', body)
    sha = harness.parse(p.b.cmd('SCRIPT', 'LOAD', body)).decode()
    p.a.cmd('SCRIPT', 'LOAD', body)
    p.c('EVALSHA', sha, '1', 'k', 'a')
    p.c('EVALSHA', sha.upper(), '1', 'k', 'a')
    p.c('EVALSHA_RO', sha, '1', 'k', 'a')
    p.c('EVALSHA', sha[:39], '0')
    p.c('EVALSHA', sha + 'a', '0')
    p.c('EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0')
    p.c('EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '-1')
    p.c('EVALSHA', sha, '5')
    p.c('SCRIPT', 'EXISTS', sha, sha.upper(), 'nosuch', sha + 'a')
    p.c('SCRIPT', 'EXISTS')
    p.c('EVAL', 'return 42', '0')
    p.c('SCRIPT', 'EXISTS', 'b1cbc5d38a1cb1e2a5d5c3b1f8de5dc0e59ba0b5')
    p.c('EVALSHA', '1a6e2ff4fcd0d2dc1c23d5be7e62f58d4f7bcc80', '0')
    p.c('SCRIPT', 'LOAD', 'return 1 +')
    p.c('SCRIPT', 'LOAD', 'return 7')
    p.c('SCRIPT', 'LOAD')
    p.c('SCRIPT', 'LOAD', 'a', 'b')
    p.c('SCRIPT', 'FLUSH', 'ASYNC')
    p.c('SCRIPT', 'EXISTS', sha)
    p.c('EVALSHA', sha, '1', 'k', 'a')
    p.c('SCRIPT', 'LOAD', body)
    p.c('SCRIPT', 'FLUSH', 'SYNC')
    p.c('SCRIPT', 'FLUSH', 'sync')
    p.c('SCRIPT', 'FLUSH', 'bad')
    p.c('SCRIPT', 'FLUSH', 'sync', 'async')
    p.c('SCRIPT', 'KILL')
    p.c('SCRIPT', 'KILL', 'x')
    p.c('SCRIPT', 'NOSUCH')
    p.c('SCRIPT')
    p.c('SCRIPT', 'HELP')
    p.c('SCRIPT', 'EXISTS', sha)
    # SCRIPT DEBUG: NO as Redis, its checks and errors; YES / SYNC (Redis's
    # Lua debugger) are refused by kvsd and not compared
    p.c('SCRIPT', 'DEBUG', 'NO')
    p.c('SCRIPT', 'debug', 'no')
    p.c('SCRIPT', 'DEBUG', 'maybe')
    p.c('SCRIPT', 'DEBUG')
    p.c('SCRIPT', 'DEBUG', 'NO', 'x')
    p.raw(harness.encode('PING') + harness.encode('SCRIPT', 'DEBUG', 'NO'), n=2)
    p.c('MULTI')
    p.c('SCRIPT', 'DEBUG', 'NO')
    p.c('EXEC')
    p.c('EVAL', "return redis.pcall('script', 'debug', 'no')", '0')


def sec_multi(d, p):
    d.section = 'multi'
    p.c('MULTI')
    p.c('EVAL', "return redis.call('set', KEYS[1], 'm')", '1', 'mk')
    p.c('EVAL', "return redis.call('get', KEYS[1])", '1', 'mk')
    p.c('EVAL', "error('in multi')", '0')
    p.c('EXEC')
    p.c('DEL', 'mk')


def sec_ro(d, p):
    d.section = 'read-only'
    p.c('EVAL_RO', "return redis.call('set', 'x', 1)", '0')
    p.c('EVAL_RO', "return redis.pcall('set', 'x', 1)", '0')
    p.c('EVAL_RO', "return redis.call('del', 'x')", '0')
    p.c('EVAL_RO', "return redis.call('get', 'x')", '0')
    p.c('EVAL_RO', "return redis.call('incr', 'x')", '0')


def stats_lines(r, prefixes):
    """The lines of an INFO reply that start with one of prefixes, without
    the timing fields (usec, usec_per_call) that differ run to run."""
    import re
    out = []
    for line in harness.parse(r).decode().split('\r\n'):
        if line.startswith(prefixes):
            out.append(re.sub(r'usec=\d+,usec_per_call=[\d.]+,', '', line))
    return sorted(out)


def sec_stats(d, p):
    """errorstats and commandstats after scripts whose commands fail, are
    refused, or return error tables: counted once, where Redis counts them."""
    d.section = 'stats'
    p.c('CONFIG', 'RESETSTAT')
    p.c('SET', 's', 'v')
    for s in ("return redis.call('incr','s')", "return redis.pcall('incr','s')",
              "error('x')", "return redis.error_reply('MY err')", "return 1 +",
              "return redis.call('nosuch')", "return redis.call('config','get','x')",
              "return redis.call('get')", "return {err='OWN e'}",
              "return redis.call('get','s')"):
        p.c('EVAL', s, '0')
    p.c('EVAL_RO', "return redis.call('set','s','w')", '0')
    def same(prefixes):
        return lambda a, b: stats_lines(a, prefixes) == stats_lines(b, prefixes)
    p.c('INFO', 'errorstats', cmp=same(('errorstat_', 'total_error')))
    p.c('INFO', 'commandstats', cmp=same(('cmdstat_',)))
    p.c('INFO', 'stats', cmp=same(('total_error_replies',)))


MONITOR_SCRIPTS = [
    ('SELECT', '3'),
    ('EVAL', "redis.call('set', KEYS[1], ARGV[1]) redis.call('select', '5') "
     "redis.pcall('incr', 'k') return redis.call('get', KEYS[1])", '1', 'k', 'v'),
    ('EVAL', "return redis.call('incrbyfloat', 'fl', 1.5)", '0'),
    ('EVAL', "return redis.call('get', 'a', 'b')", '0'),           # arity: not run
    ('EVAL', "return redis.pcall('nosuch')", '0'),                # unknown: not run
    ('EVAL', "return redis.pcall('auth', 'x')", '0'),             # noscript: not run
    ('EVAL', "redis.call('set', 'a', 'b', 'ex', '0')", '0'),      # runs, fails
    ('EVAL', 'return 1', '5'),                                    # numkeys: shown
    ('EVAL', 'return +', '0'),                                    # syntax: shown
    ('EVALSHA', 'a' * 40, '0'),                                   # NOSCRIPT: shown
    ('EVAL_RO', "return redis.call('set', 'a', 'b')", '0'),
    ('EVAL', "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", '0'),
    ('EVAL', "return redis.call('set', 'x', '\\1\\r\\n\"')", '0'),  # quoting
    ('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=monlib\nredis.register_function("
     "'monf', function(k, a) return redis.call('set', k[1], a[1]) end)"),
    ('FCALL', 'monf', '1', 'fk', 'fv'),
    ('FCALL_RO', 'monf', '1', 'fk', 'fv'),                        # refused: shown
    ('FCALL', 'nosuch', '0'),
    ('MULTI',), ('EVAL', "return redis.call('ping')", '0'), ('EXEC',),
    ('FUNCTION', 'DELETE', 'monlib'),
    ('SELECT', '0'),
]
MON_HEAD = re.compile(rb'^\+\d+\.\d{6} \[(\d+) ([^\]]+)\]')


def monitor_lines(srv, cmds):
    """The MONITOR lines of cmds run by one client of srv, timestamps and
    the client's address masked."""
    m = srv.client(timeout=10)
    c = srv.client(timeout=10)
    m.cmd('MONITOR')
    for cmd in cmds:
        c.cmd(*cmd)
    c.cmd('ECHO', 'monitor-end')
    data = b''
    deadline = time.time() + 10
    while b'monitor-end' not in data and time.time() < deadline:
        chunk = m.sock.recv(65536)
        if not chunk:
            break
        data += chunk
    m.close()
    c.close()
    out = []
    for line in data.split(b'\r\n'):
        mm = MON_HEAD.match(line)
        if not mm:
            continue
        who = mm.group(2) if mm.group(2) == b'lua' else b'client'
        out.append(b'[%s %s]%s' % (mm.group(1), who, line[mm.end():]))
    return out


def sec_monitor(d, sa, sb):
    """MONITOR shows the EVAL / FCALL line first, then each command the
    script ran as "[<db> lua]" (not those refused before running)."""
    d.section = 'monitor'
    got, want = monitor_lines(sa, MONITOR_SCRIPTS), monitor_lines(sb, MONITOR_SCRIPTS)
    for i in range(max(len(got), len(want))):
        a = got[i] if i < len(got) else b'<none>'
        b = want[i] if i < len(want) else b'<none>'
        if a != b:
            d.report(('MONITOR', 'line', str(i)), a, b)
    if len(want) < len(MONITOR_SCRIPTS):
        d.report(('MONITOR', 'lines'), b'%d' % len(want), b'>= %d' % len(MONITOR_SCRIPTS))


def main():
    servers = test_diff.start_pair('diff-script')
    if servers is None:
        return 1
    sa, sb = servers
    d = test_diff.Differ(sa, sb)
    rc = 0
    try:
        p = d.pair()
        for resp in (2, 3):
            if resp == 3:
                p.close()
                p = d.pair()
                p.c('HELLO', '3', cmp=test_diff.hello_eq)
            sec_scripts(d, p, resp)
            sec_calls(d, p, resp)
            sec_keys_argv(d, p)
            sec_evalsha(d, p)
            sec_multi(d, p)
            sec_ro(d, p)
        sec_stats(d, p)
        p.close()
        sec_monitor(d, sa, sb)
        # inputs that crash redis-server 7.0.15 itself: kvsd answers an error
        d.section = 'kvsd only'
        a = sa.client(timeout=10)
        for s in ('error({})', 'error()', 'error(nil)', 'error({err=1})'):
            r = a.cmd('EVAL', s, '0')
            harness.log('diff-script: %s -> %s' % (s, harness.escape(r, 120)))
            if not r.startswith(b'-'):
                rc = 1
        # no Lua debugger: YES and SYNC are refused with a clear error
        for mode in ('YES', 'sync'):
            r = a.cmd('SCRIPT', 'DEBUG', mode)
            if r != b'-ERR SCRIPT DEBUG YES/SYNC is not supported by kvsd (it has no Lua ' \
                    b'debugger)\r\n':
                harness.log('diff-script: SCRIPT DEBUG %s -> %s' % (mode, harness.escape(r)))
                rc = 1
        a.close()
        # the CVE inputs that allocate: an error or a reply, never a crash
        d.section = 'cve'
        a = sa.client(timeout=60)
        r = a.cmd('EVAL', 'return cjson.encode(string.rep("a",358000000))', '0')
        harness.log('diff-script: cjson.encode(358 MB) -> %s' % harness.escape(r, 120))
        r = a.cmd('EVAL', 'local s = string.rep("a", 40000000) '
                  'return #cjson.encode({s,s,s,s,s,s,s,s,s,s})', '0')
        harness.log('diff-script: cjson.encode(10 x 40 MB) -> %s' % harness.escape(r, 120))
        if not r.startswith(b'-'):
            harness.log('diff-script: a 2.4 GB encode was not refused')
            rc = 1
        r = a.cmd('EVAL', 'local t = {} local s = "x" while true do s = s .. s '
                  't[#t+1] = s end', '0')
        harness.log('diff-script: unbounded allocation -> %s' % harness.escape(r, 120))
        if not r.startswith(b'-'):
            rc = 1
        if a.cmd('PING') != b'+PONG\r\n':
            rc = 1
        a.close()
    except (OSError, socket.timeout, harness.ProtocolError) as e:
        harness.log('diff-script: aborted in [%s]: %r' % (d.section, e))
        rc = 1
    return test_diff.finish('diff-script', d, sa, sb, rc)


if __name__ == '__main__':
    sys.exit(main())
