'use strict';
// ioredis (5.x, pinned in package-lock.json) against kvsd and redis-server: every test runs
// once against each server with the same literal expected results. ioredis speaks RESP2
// only. On connect it sends CLIENT SETINFO LIB-VER/LIB-NAME (rejected by Redis 7.0, errors
// ignored), CLIENT SETNAME for connectionName, SELECT for db, and its ready check (INFO,
// parsed for `loading`); after a disconnect it reconnects and replays SELECT and the name.
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_ioredis.js
// (node_modules from scripts/setup.sh).
const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const servers = require('./servers');

const Redis = servers.requireLib('ioredis');
const { ReplyError } = Redis;

const T = { timeout: 15000 };

for (const kind of servers.KINDS) {
  describe(`ioredis against ${kind}`, { timeout: 60000 }, () => {
    let srv;
    let clients = [];
    let admin;

    // A ready client; closed after the test.
    async function client(opts = {}) {
      const c = new Redis({
        host: '127.0.0.1',
        port: srv.port,
        connectTimeout: 5000,
        maxRetriesPerRequest: 3,
        lazyConnect: true,
        ...opts,
      });
      c.on('error', () => {}); // reconnects are what the tests look at
      clients.push(c);
      await c.connect();
      return c;
    }

    const rejects = (promise, text) => servers.rejectsWith(assert, ReplyError, promise, text);
    const settle = (n) => servers.settleClients(() => admin.info('clients'), n);

    before(async () => {
      srv = await servers.start(kind);
    });
    after(async () => {
      const code = await srv.stop();
      assert.equal(code, 0, `${kind} exit status`);
    });
    beforeEach(async () => {
      admin = await client();
      await admin.flushall();
      await admin.config('RESETSTAT');
    });
    afterEach(async () => {
      for (const c of clients) c.disconnect();
      clients = [];
    });

    it('strings, counters and expiry', T, async () => {
      const c = await client();
      assert.equal(await c.ping(), 'PONG');
      assert.equal(await c.set('s', 'hello'), 'OK');
      assert.equal(await c.get('s'), 'hello');
      assert.equal(await c.get('missing'), null);
      assert.equal(await c.set('s', 'x', 'NX'), null);
      assert.equal(await c.set('s', 'world', 'XX', 'GET'), 'hello');
      assert.equal(await c.append('s', '!'), 6);
      assert.equal(await c.incr('n'), 1);
      assert.equal(await c.incrby('n', 41), 42);
      assert.equal(await c.incrbyfloat('f', 2.5), '2.5');
      assert.equal(await c.mset({ a: '1', b: '2' }), 'OK');
      assert.equal(await c.mset('c', '3'), 'OK');
      assert.deepEqual(await c.mget('a', 'b', 'nope', 'c'), ['1', '2', null, '3']);
      assert.deepEqual(await c.mget(['a', 'c']), ['1', '3']);
      assert.equal(await c.msetnx('a', 'x', 'z', 'y'), 0);
      assert.equal(await c.exists('a', 'b', 'nope'), 2);
      assert.equal(await c.del('a', 'b', 'nope'), 2);
      assert.equal(await c.ttl('s'), -1);
      assert.equal(await c.ttl('nope'), -2);
      assert.equal(await c.expire('s', 100), 1);
      const ttl = await c.ttl('s');
      assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
      assert.equal(await c.set('e', 'v', 'EX', 50), 'OK');
      assert.equal(await c.getex('e', 'PERSIST'), 'v');
      assert.equal(await c.ttl('e'), -1);
      assert.equal(await c.set('px', 'v', 'PX', 1), 'OK');
      const deadline = Date.now() + 2000;
      while ((await c.get('px')) !== null && Date.now() < deadline) await servers.sleep(5);
      assert.equal(await c.get('px'), null);
      const blob = Buffer.alloc(1024);
      for (let i = 0; i < blob.length; i++) blob[i] = i % 256;
      assert.equal(await c.set('bin', blob), 'OK');
      assert.ok(blob.equals(await c.getBuffer('bin')));
    });

    it('lists: pushes, pops, ranges, LPOS, LMOVE, LMPOP, SORT STORE', T, async () => {
      const c = await client();
      assert.equal(await c.rpush('q', 'a', 'b', 'c'), 3);
      assert.equal(await c.lpush('q', 'z'), 4);
      assert.deepEqual(await c.lrange('q', 0, -1), ['z', 'a', 'b', 'c']);
      assert.equal(await c.lindex('q', 99), null);
      assert.equal(await c.lset('q', 1, 'A'), 'OK');
      assert.equal(await c.linsert('q', 'AFTER', 'A', 'ins'), 5);
      assert.equal(await c.lpos('q', 'b'), 3);
      assert.deepEqual(await c.lpos('q', 'c', 'COUNT', 0), [4]);
      assert.equal(await c.lrem('q', -1, 'ins'), 1);
      assert.equal(await c.ltrim('q', 0, 2), 'OK');
      assert.deepEqual(await c.lpop('q', 2), ['z', 'A']);
      assert.equal(await c.rpop('q'), 'b');
      assert.equal(await c.lpop('q', 1), null);
      assert.equal(await c.rpush('m', '3', '1', '2'), 3);
      assert.equal(await c.lmove('m', 'm', 'RIGHT', 'LEFT'), '2');
      assert.deepEqual(await c.lrange('m', 0, -1), ['2', '3', '1']);
      assert.deepEqual(await c.lmpop(2, 'nope', 'm', 'RIGHT', 'COUNT', 2), ['m', ['1', '3']]);
      assert.equal(await c.rpush('n', '10', '9', '8'), 3);
      assert.equal(await c.sort('n', 'STORE', 'sorted'), 3);
      assert.deepEqual(await c.lrange('sorted', 0, -1), ['8', '9', '10']);
      await c.set('s', 'v');
      await rejects(c.rpush('s', 'x'),
        'WRONGTYPE Operation against a key holding the wrong kind of value');
      await rejects(c.lset('nope', 0, 'x'), 'ERR no such key');
      const p = c.pipeline();
      for (let i = 0; i < 200; i++) p.rpush('jobs', `job-${i}`);
      p.lpop('jobs', 1000);
      const res = await p.exec();
      assert.deepEqual(res[200], [null, Array.from({ length: 200 }, (_, i) => `job-${i}`)]);
    });

    it('pipelines and auto-pipelining', T, async () => {
      const c = await client();
      await c.set('x', 'abc');
      const res = await c.pipeline().set('k', 'v').get('k').incr('x').incr('cnt')
        .mget('k', 'cnt').exec();
      assert.equal(res.length, 5);
      assert.deepEqual(res[0], [null, 'OK']);
      assert.deepEqual(res[1], [null, 'v']);
      assert.ok(res[2][0] instanceof ReplyError);
      assert.equal(res[2][0].message, 'ERR value is not an integer or out of range');
      assert.deepEqual(res.slice(3), [[null, 1], [null, ['v', '1']]]);
      const big = c.pipeline();
      for (let i = 0; i < 1000; i++) big.set(`p:${i}`, i);
      for (let i = 0; i < 1000; i++) big.get(`p:${i}`);
      const out = await big.exec();
      assert.deepEqual(out.slice(1000).map((r) => r[1]),
        Array.from({ length: 1000 }, (_, i) => String(i)));
      const auto = await client({ enableAutoPipelining: true });
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => auto.incr('auto')));
      assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i + 1));
      assert.equal(await c.dbsize(), 1004);
    });

    it('MULTI/EXEC and WATCH', T, async () => {
      const c = await client();
      const other = await client();
      assert.deepEqual(await c.multi().set('a', '1').incr('a').get('a').exec(),
        [[null, 'OK'], [null, 2], [null, '2']]);
      assert.equal(await c.watch('a'), 'OK');
      await other.set('a', '100');
      assert.equal(await c.multi().set('a', '3').exec(), null); // the WATCH conflict
      assert.equal(await c.get('a'), '100');
      await c.watch('a');
      assert.deepEqual(await c.multi().incr('a').exec(), [[null, 101]]);
      // A command rejected while queued: EXEC fails with EXECABORT.
      await assert.rejects(c.multi().set('b', '1').call('GET').exec(), (e) => {
        assert.equal(e.message, 'EXECABORT Transaction discarded because of previous errors.');
        assert.equal(e.previousErrors[0].message,
          "ERR wrong number of arguments for 'get' command");
        return true;
      });
      assert.equal(await c.exists('b'), 0);
      // A run-time error inside EXEC: the other commands ran.
      const r = await c.multi().set('t', 'str').incr('t').set('u', '1').exec();
      assert.deepEqual(r[0], [null, 'OK']);
      assert.equal(r[1][0].message, 'ERR value is not an integer or out of range');
      assert.deepEqual(r[2], [null, 'OK']);
      // multi({ pipeline: false }): MULTI, commands and EXEC sent one by one.
      assert.equal(await c.multi({ pipeline: false }), 'OK');
      assert.equal(await c.set('q', '1'), 'QUEUED');
      assert.equal(await c.incr('q'), 'QUEUED');
      assert.deepEqual(await c.exec(), [[null, 'OK'], [null, 2]]);
    });

    it('databases 1..15 through the db option', T, async () => {
      const conns = [];
      for (let db = 0; db < 16; db++) conns.push(await client({ db }));
      for (let db = 1; db < 16; db++) {
        assert.equal(await conns[db].set('k', `v${db}`), 'OK');
        assert.equal(await conns[db].set(`only${db}`, db), 'OK');
      }
      assert.equal(await conns[0].get('k'), null);
      for (let db = 1; db < 16; db++) {
        assert.equal(await conns[db].get('k'), `v${db}`);
        assert.equal(await conns[db].dbsize(), 2);
        assert.match(await conns[db].client('INFO'), new RegExp(` db=${db} `));
      }
      const ks = servers.parseInfo(await conns[0].info('keyspace')).keyspace;
      const want = {};
      for (let db = 1; db < 16; db++) want[`db${db}`] = 'keys=2,expires=0,avg_ttl=0';
      assert.deepEqual(ks, want);
      assert.equal(await conns[3].flushdb(), 'OK');
      assert.equal(await conns[3].dbsize(), 0);
      assert.equal(await conns[4].get('k'), 'v4');
      assert.equal(await conns[0].swapdb(1, 2), 'OK');
      assert.equal(await conns[1].get('k'), 'v2');
      assert.equal(await conns[2].get('k'), 'v1');
      assert.equal(await conns[5].move('only5', 6), 1);
      assert.equal(await conns[6].get('only5'), '5');
      assert.equal(await conns[5].move('k', 6), 0);
      assert.equal(await conns[7].copy('k', 'k', 'DB', 8), 0);
      assert.equal(await conns[7].copy('k', 'k', 'DB', 8, 'REPLACE'), 1);
      assert.equal(await conns[8].get('k'), 'v7');
      await rejects(conns[7].copy('k', 'k'), 'ERR source and destination objects are the same');
      // A URL naming the database, as applications configure it.
      const u = new Redis(`redis://127.0.0.1:${srv.port}/11`, { lazyConnect: true });
      u.on('error', () => {});
      clients.push(u);
      await u.connect();
      assert.equal(await u.get('k'), 'v11');
      assert.match(await u.client('INFO'), / db=11 /);
      const c = await client();
      assert.equal(await c.select(9), 'OK');
      assert.equal(await c.get('k'), 'v9');
      await rejects(c.select(16), 'ERR DB index is out of range');
      assert.equal(await c.get('k'), 'v9');
      // The db option out of range: ioredis reports the SELECT error and stays usable in db 0.
      const errs = [];
      const bad = new Redis({ host: '127.0.0.1', port: srv.port, db: 16, lazyConnect: true });
      bad.on('error', (e) => errs.push(e.message));
      clients.push(bad);
      await bad.connect();
      assert.equal(await bad.ping(), 'PONG');
      assert.deepEqual(errs, ['ERR DB index is out of range']);
      assert.match(await bad.client('INFO'), / db=0 /);
      assert.equal(await conns[0].flushall(), 'OK');
      for (let db = 0; db < 16; db++) assert.equal(await conns[db].dbsize(), 0);
    });

    it('bitmaps', T, async () => {
      const c = await client();
      assert.equal(await c.setbit('b', 7, 1), 0);
      assert.equal(await c.setbit('b', 7, 1), 1);
      assert.equal(await c.getbit('b', 7), 1);
      assert.equal(await c.set('bc', 'foobar'), 'OK');
      assert.equal(await c.bitcount('bc'), 26);
      assert.equal(await c.bitcount('bc', 1, 1), 6);
      assert.equal(await c.bitcount('bc', 5, 30, 'BIT'), 17);
      assert.equal(await c.bitpos('bc', 1), 1);
      await c.mset('x1', 'abc', 'x2', 'ABC');
      assert.equal(await c.bitop('XOR', 'dst', 'x1', 'x2'), 3);
      assert.equal(await c.get('dst'), '   ');
      assert.deepEqual(await c.bitfield('f', 'SET', 'u8', 0, 255, 'GET', 'u8', 0,
        'INCRBY', 'u8', 0, 10), [0, 255, 9]);
      assert.deepEqual(await c.bitfield('f', 'OVERFLOW', 'SAT', 'INCRBY', 'u8', 0, 300,
        'INCRBY', 'i8', '#1', -200, 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', 0, 1), [255, -128, null]);
      assert.deepEqual(await c.bitfield_ro('f', 'GET', 'u4', 0), [15]);
      await rejects(c.setbit('b', 2 ** 32, 1), 'ERR bit offset is not an integer or out of range');
      await rejects(c.bitfield('f', 'GET', 'u64', 0),
        'ERR Invalid bitfield type. Use something like i16 u8. ' +
        'Note that u64 is not supported but i64 is.');
    });

    it('HyperLogLog', T, async () => {
      const c = await client();
      assert.equal(await c.pfadd('h1', 'a', 'b', 'c'), 1);
      assert.equal(await c.pfadd('h1', 'a'), 0);
      assert.equal(await c.pfcount('h1'), 3);
      assert.equal(await c.pfadd('h2', 'c', 'd'), 1);
      assert.equal(await c.pfcount('h1', 'h2'), 4);
      assert.equal(await c.pfmerge('hm', 'h1', 'h2'), 'OK');
      assert.equal(await c.pfcount('hm'), 4);
      const p = c.pipeline();
      for (let i = 0; i < 5000; i += 500) {
        p.pfadd('big', ...Array.from({ length: 500 }, (_, j) => `e${i + j}`));
      }
      await p.exec();
      assert.equal(await c.pfcount('big'), 4968);
      // The stored bytes are Redis's: GET and SET of an HLL keep it working.
      const raw = await c.getBuffer('hm');
      assert.equal(raw.toString('hex'),
        '48594c4c0100000004000000000000005c7b8044768050b1844bfb80425a');
      assert.equal(await c.set('copy', raw), 'OK');
      assert.equal(await c.pfcount('copy'), 4);
      await c.set('notll', 'plain');
      await rejects(c.pfadd('notll', 'x'),
        'WRONGTYPE Key is not a valid HyperLogLog string value.');
    });

    it('OBJECT ENCODING', T, async () => {
      const c = await client();
      await c.mset('int', 12345, 'emb', 'x'.repeat(44), 'raw', 'x'.repeat(45));
      assert.equal(await c.object('ENCODING', 'int'), 'int');
      assert.equal(await c.object('ENCODING', 'emb'), 'embstr');
      assert.equal(await c.object('ENCODING', 'raw'), 'raw');
      assert.equal(await c.object('ENCODING', 'missing'), null);
      assert.equal(await c.object('REFCOUNT', 'raw'), 1);
      await c.append('emb', 'y');
      assert.equal(await c.object('ENCODING', 'emb'), 'raw');
      await rejects(c.object('FREQ', 'int'),
        'ERR An LFU maxmemory policy is not selected, access frequency not tracked. ' +
        'Please note that when switching between policies at runtime LRU and LFU data ' +
        'will take some time to adjust.');
    });

    it('CLIENT SETNAME/GETNAME/INFO/LIST and connectionName', T, async () => {
      const c = await client({ connectionName: 'app-one', db: 3 });
      assert.equal(await c.client('GETNAME'), 'app-one');
      assert.equal(await c.client('SETNAME', 'app-two'), 'OK');
      assert.equal(await c.client('GETNAME'), 'app-two');
      const id = await c.client('ID');
      const line = await c.client('INFO');
      assert.ok(line.endsWith('\n'));
      const fields = Object.fromEntries(line.trim().split(' ').map((f) => {
        const i = f.indexOf('=');
        return [f.slice(0, i), f.slice(i + 1)];
      }));
      assert.deepEqual(Object.keys(fields), servers.CLIENT_FIELDS);
      assert.equal(fields.id, String(id));
      assert.equal(fields.name, 'app-two');
      assert.equal(fields.db, '3');
      assert.equal(fields.cmd, 'client|info');
      assert.equal(fields.laddr, `127.0.0.1:${srv.port}`);
      await settle(2);
      const list = (await c.client('LIST')).trim().split('\n');
      assert.equal(list.length, 2);
      assert.equal(list.filter((l) => l.startsWith(`id=${id} `)).length, 1);
      assert.equal((await c.client('LIST', 'ID', id)).split('\n').length, 2);
      await rejects(c.client('SETNAME', 'has space'),
        'ERR Client names cannot contain spaces, newlines or special characters.');
      await rejects(c.client('SETINFO', 'LIB-NAME', 'x'),
        "ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.");
    });

    it('connect-time CLIENT SETINFO rejected as Redis 7.0 does (errorstats)', T, async () => {
      await admin.config('RESETSTAT');
      const c = await client();
      assert.deepEqual(servers.parseInfo(await c.info('errorstats')).errorstats,
        { errorstat_ERR: 'count=2' });
      // the ready check's INFO ran too
      const cmds = servers.parseInfo(await c.info('commandstats')).commandstats;
      assert.match(cmds.cmdstat_info, /^calls=2,/);
    });

    it('reconnect after CLIENT KILL replays db and connectionName', T, async () => {
      const victim = await client({ db: 5, connectionName: 'victim' });
      assert.equal(await victim.set('k', 'five'), 'OK');
      const oldId = await victim.client('ID');
      const ready = new Promise((resolve) => victim.once('ready', resolve));
      assert.equal(await admin.client('KILL', 'ID', oldId), 1);
      assert.equal(await admin.client('KILL', 'ID', oldId), 0);
      await ready;
      assert.equal(await victim.get('k'), 'five');
      assert.notEqual(await victim.client('ID'), oldId);
      assert.equal(await victim.client('GETNAME'), 'victim');
      // A command sent while the connection is being killed is retried after reconnecting.
      const id2 = await victim.client('ID');
      const [killed, got] = await Promise.all([
        admin.client('KILL', 'ID', id2), victim.get('k')]);
      assert.equal(killed, 1);
      assert.equal(got, 'five');
      await rejects(admin.client('KILL', '127.0.0.1:1'), 'ERR No such client');
    });

    it('INFO and CONFIG', T, async () => {
      const c = await client();
      const c2 = await client({ db: 2 });
      await c.set('a', '1');
      await c.set('b', '2', 'EX', 100);
      await c2.set('x', '1');
      await rejects(c.call('GET'), "ERR wrong number of arguments for 'get' command");
      const info = servers.parseInfo(await c.info());
      assert.equal(info.server.redis_version, '7.0.15');
      assert.equal(info.server.redis_mode, 'standalone');
      assert.equal(info.server.tcp_port, String(srv.port));
      assert.equal(info.replication.role, 'master');
      assert.equal(info.persistence.loading, '0'); // what ioredis's ready check reads
      assert.equal(info.keyspace.db0.replace(/avg_ttl=\d+/, 'avg_ttl=N'),
        'keys=2,expires=1,avg_ttl=N');
      assert.equal(info.keyspace.db2, 'keys=1,expires=0,avg_ttl=0');
      assert.deepEqual(await c.config('GET', 'databases'), ['databases', '16']);
      assert.deepEqual(await c.config('GET', 'maxmemory'), ['maxmemory', '0']);
      assert.deepEqual(await c.config('GET', 'nosuchparameter'), []);
      assert.equal(await c.config('SET', 'maxmemory', '100mb'), 'OK');
      assert.deepEqual(await c.config('GET', 'maxmemory'), ['maxmemory', '104857600']);
      assert.equal(await c.config('SET', 'maxmemory', 0), 'OK');
      await rejects(c.config('SET', 'maxmemory', 'lots'),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - " +
        'argument must be a memory value');
    });

    it('scanStream', T, async () => {
      const c = await client();
      const c2 = await client({ db: 2 });
      const p = c.pipeline();
      for (let i = 0; i < 300; i++) p.set(`user:${i}`, i);
      for (let i = 0; i < 50; i++) p.set(`other:${i}`, i);
      await p.exec();
      for (let i = 0; i < 20; i++) await c2.set(`db2:${i}`, i);
      const collect = (cl, opts) => new Promise((resolve, reject) => {
        const out = [];
        const s = cl.scanStream(opts);
        s.on('data', (keys) => out.push(...keys));
        s.on('end', () => resolve(out.sort()));
        s.on('error', reject);
      });
      const users = Array.from({ length: 300 }, (_, i) => `user:${i}`).sort();
      assert.equal((await collect(c, {})).length, 350);
      assert.deepEqual(await collect(c, { match: 'user:*', count: 7 }), users);
      assert.equal((await collect(c, { type: 'string' })).length, 350);
      assert.deepEqual(await collect(c, { type: 'list' }), []);
      assert.deepEqual(await collect(c2, {}),
        Array.from({ length: 20 }, (_, i) => `db2:${i}`).sort());
      assert.deepEqual((await c.keys('other:1*')).sort(),
        ['other:1', ...Array.from({ length: 10 }, (_, i) => `other:1${i}`)].sort());
      await rejects(c.scan('x'), 'ERR invalid cursor');
    });

    it('error replies', T, async () => {
      const c = await client();
      await rejects(c.call('GET'), "ERR wrong number of arguments for 'get' command");
      await rejects(c.set('k', 'v', 'NX', 'XX'), 'ERR syntax error');
      await rejects(c.set('k', 'v', 'EX', 0), "ERR invalid expire time in 'set' command");
      await c.set('str', 'abc');
      await rejects(c.incr('str'), 'ERR value is not an integer or out of range');
      await rejects(c.call('FOO', 'a', 'b'),
        "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ");
      await rejects(c.rename('nokey', 'x'), 'ERR no such key');
      await rejects(c.call('HELLO', '4'), 'NOPROTO unsupported protocol version');
      await rejects(c.call('EXEC'), 'ERR EXEC without MULTI');
      // AUTH without a password configured: ioredis reports it and goes on.
      const errs = [];
      const bad = new Redis({ host: '127.0.0.1', port: srv.port, password: 'secret', lazyConnect: true });
      bad.on('error', (e) => errs.push(e.message));
      clients.push(bad);
      await bad.connect();
      assert.equal(await bad.ping(), 'PONG');
      assert.deepEqual(errs, []); // ioredis ignores this particular AUTH error (warns)
      assert.equal(await c.ping(), 'PONG');
    });

    it('HELLO 2 and RESET', T, async () => {
      const c = await client({ db: 4 });
      const hello = await c.call('HELLO', '2');
      const h = {};
      for (let i = 0; i < hello.length; i += 2) h[hello[i]] = hello[i + 1];
      assert.deepEqual(Object.keys(h), ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
      assert.equal(h.server, 'redis');
      assert.equal(h.version, '7.0.15');
      assert.equal(h.proto, 2);
      assert.equal(h.id, await c.client('ID'));
      assert.deepEqual([h.mode, h.role, h.modules], ['standalone', 'master', []]);
      assert.equal(await c.call('RESET'), 'RESET');
      assert.match(await c.client('INFO'), / db=0 /);
      assert.deepEqual(await c.call('ROLE'), ['master', 0, []]);
    });

    // wait until the server counts n blocked clients
    async function blocked(n) {
      for (let i = 0; i < 1000; i++) {
        if ((await admin.info('clients')).includes(`blocked_clients:${n}\r\n`)) return;
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.fail(`never ${n} blocked clients`);
    }

    it('BLPOP / BRPOP / BZPOPMIN: timeouts and wake-ups', T, async () => {
      const c = await client();
      let t0 = Date.now();
      assert.equal(await c.blpop('q', 0.2), null);
      assert.ok(Date.now() - t0 >= 190, 'answered before its timeout');
      t0 = Date.now();
      assert.equal(await c.brpop('q1', 'q2', 0.1), null);
      assert.ok(Date.now() - t0 >= 90, 'answered before its timeout');
      assert.equal(await c.brpoplpush('src', 'dst', 0.05), null);
      const w1 = (await client()).brpop('q1', 'q2', 0);
      await blocked(1);
      const w2 = (await client()).blpop('q2', 5);
      await blocked(2);
      assert.equal(await c.lpush('q2', 'a', 'b'), 2);
      assert.deepEqual(await w1, ['q2', 'a']);
      assert.deepEqual(await w2, ['q2', 'b']);
      assert.equal(await c.exists('q2'), 0);
      const w3 = (await client()).bzpopmin('z', 5);
      await blocked(1);
      await c.zadd('z', 2.5, 'm');
      assert.deepEqual(await w3, ['z', 'm', '2.5']);
      const w4 = (await client()).blmove('s', 'd', 'RIGHT', 'LEFT', 5);
      await blocked(1);
      await c.rpush('s', 'x', 'y');
      assert.equal(await w4, 'y');
      assert.deepEqual(await c.lrange('d', 0, -1), ['y']);
    });

    it('subscriber: message, pmessage, order, unsubscribe', T, async () => {
      const sub = await client();
      const pub = await client();
      const got = [];
      sub.on('message', (ch, m) => got.push(['message', ch, m]));
      sub.on('pmessage', (pat, ch, m) => got.push(['pmessage', pat, ch, m]));
      assert.equal(await sub.subscribe('news', 'sport'), 2);
      assert.equal(await sub.psubscribe('n*'), 3);
      assert.equal(await pub.publish('news', 'hello'), 2);
      for (let i = 0; i < 100; i++) await pub.publish('sport', `m${i}`);
      const deadline = Date.now() + 5000;
      while (got.length < 102 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.deepEqual(got.slice(0, 2), [
        ['message', 'news', 'hello'],
        ['pmessage', 'n*', 'news', 'hello'],
      ]);
      assert.deepEqual(
        got.slice(2).map((x) => x[2]),
        Array.from({ length: 100 }, (_, i) => `m${i}`),
      );
      assert.deepEqual(await pub.pubsub('NUMSUB', 'news', 'none'), ['news', 1, 'none', 0]);
      assert.equal(await pub.pubsub('NUMPAT'), 1);
      assert.equal(await sub.unsubscribe('news', 'sport'), 1);
      assert.equal(await sub.punsubscribe('n*'), 0);
      assert.equal(await pub.publish('news', 'gone'), 0);
      assert.equal(await sub.get('k'), null); // back to normal commands
    });
  });
}
