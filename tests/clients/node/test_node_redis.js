'use strict';
// node-redis (the `redis` package, 4.x, pinned in package-lock.json) against kvsd and
// redis-server: every test runs once against each server with the same literal expected
// results, so a test that passes on one server only fails. node-redis 4 speaks RESP2 only
// (RESP3 arrived in 5.x). It sends CLIENT SETINFO LIB-VER/LIB-NAME on connect, which Redis
// 7.0 rejects and node-redis ignores: the errorstats test checks both servers count them.
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_node_redis.js
// (node_modules from scripts/setup.sh).
const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const servers = require('./servers');

const redis = servers.requireLib('redis');
const { ErrorReply, WatchError } = redis;

const T = { timeout: 15000 };

for (const kind of servers.KINDS) {
  describe(`node-redis against ${kind}`, { timeout: 60000 }, () => {
    let srv;
    let clients = [];
    let admin;

    // A connected client; closed after the test.
    async function client(opts = {}) {
      const c = redis.createClient({
        ...opts,
        socket: { host: '127.0.0.1', port: srv.port, connectTimeout: 5000, ...(opts.socket || {}) },
      });
      c.on('error', () => {}); // socket errors surface as rejected commands / reconnects
      clients.push(c);
      await c.connect();
      return c;
    }

    const rejects = (promise, text) => servers.rejectsWith(assert, ErrorReply, promise, text);
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
      await admin.flushAll();
      await admin.configResetStat();
    });
    afterEach(async () => {
      for (const c of clients) if (c.isOpen) await c.quit().catch(() => c.disconnect());
      clients = [];
    });

    it('strings, counters and expiry', T, async () => {
      const c = await client();
      assert.equal(await c.ping(), 'PONG');
      assert.equal(await c.set('s', 'hello'), 'OK');
      assert.equal(await c.get('s'), 'hello');
      assert.equal(await c.get('missing'), null);
      assert.equal(await c.set('s', 'x', { NX: true }), null);
      assert.equal(await c.set('s', 'world', { XX: true, GET: true }), 'hello');
      assert.equal(await c.append('s', '!'), 6);
      assert.equal(await c.getRange('s', 0, 2), 'wor');
      assert.equal(await c.incr('n'), 1);
      assert.equal(await c.incrBy('n', 41), 42);
      assert.equal(await c.decrBy('n', 2), 40);
      assert.equal(await c.incrByFloat('f', 2.5), '2.5');
      assert.equal(await c.mSet({ a: '1', b: '2' }), 'OK');
      assert.equal(await c.mSet([['c', '3']]), 'OK');
      assert.deepEqual(await c.mGet(['a', 'b', 'nope', 'c']), ['1', '2', null, '3']);
      assert.equal(await c.mSetNX({ a: 'x', z: 'y' }), false);
      assert.equal(await c.exists(['a', 'b', 'nope']), 2);
      assert.equal(await c.type('a'), 'string');
      assert.equal(await c.getDel('c'), '3');
      assert.equal(await c.del(['a', 'b', 'nope']), 2);
      assert.equal(await c.ttl('s'), -1);
      assert.equal(await c.ttl('nope'), -2);
      assert.equal(await c.expire('s', 100), true);
      const ttl = await c.ttl('s');
      assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
      assert.equal(await c.persist('s'), true);
      assert.equal(await c.set('e', 'v', { EX: 50 }), 'OK');
      assert.equal(await c.getEx('e', { PERSIST: true }), 'v');
      assert.equal(await c.ttl('e'), -1);
      const blob = Buffer.alloc(1024, 0);
      for (let i = 0; i < blob.length; i++) blob[i] = i % 256;
      assert.equal(await c.set('bin', blob), 'OK');
      const back = await c.get(redis.commandOptions({ returnBuffers: true }), 'bin');
      assert.ok(blob.equals(back));
    });

    it('lists: pushes, pops, ranges, LPOS, LMOVE, LMPOP, SORT STORE', T, async () => {
      const c = await client();
      assert.equal(await c.rPush('q', ['a', 'b', 'c']), 3);
      assert.equal(await c.lPush('q', 'z'), 4);
      assert.equal(await c.lPushX('nope', 'x'), 0);
      assert.deepEqual(await c.lRange('q', 0, -1), ['z', 'a', 'b', 'c']);
      assert.equal(await c.lLen('q'), 4);
      assert.equal(await c.lIndex('q', -1), 'c');
      assert.equal(await c.lIndex('q', 99), null);
      assert.equal(await c.lSet('q', 1, 'A'), 'OK');
      assert.equal(await c.lInsert('q', 'BEFORE', 'b', 'ins'), 5);
      assert.equal(await c.lPos('q', 'b'), 3);
      assert.deepEqual(await c.lPosCount('q', 'b', 0), [3]);
      assert.equal(await c.lRem('q', 0, 'ins'), 1);
      assert.equal(await c.lTrim('q', 1, -1), 'OK');
      assert.deepEqual(await c.lRange('q', 0, -1), ['A', 'b', 'c']);
      assert.equal(await c.lPop('q'), 'A');
      assert.equal(await c.rPop('nope'), null);
      assert.deepEqual(await c.rPopCount('q', 5), ['c', 'b']);
      assert.equal(await c.exists('q'), 0);
      assert.equal(await c.rPush('m', ['1', '2', '3', '4']), 4);
      assert.equal(await c.lMove('m', 'm2', 'LEFT', 'RIGHT'), '1');
      assert.equal(await c.rPopLPush('m', 'm2'), '4');
      assert.deepEqual(await c.lmPop(['nope', 'm'], 'LEFT', { COUNT: 5 }), ['m', ['2', '3']]);
      assert.equal(await c.lmPop('nope', 'LEFT'), null);
      assert.equal(await c.sendCommand(['SORT', 'm2', 'DESC', 'STORE', 'st']), 2);
      assert.deepEqual(await c.lRange('st', 0, -1), ['4', '1']);
      assert.equal(await c.type('st'), 'list');
      assert.equal(await c.set('s', 'v'), 'OK');
      await rejects(c.lPush('s', 'x'),
        'WRONGTYPE Operation against a key holding the wrong kind of value');
      await rejects(c.lSet('st', 9, 'x'), 'ERR index out of range');
      // a queue through automatic pipelining: everything pushed comes back in order
      const pushes = [];
      for (let i = 0; i < 300; i++) pushes.push(c.lPush('jobs', `job-${i}`));
      assert.deepEqual(await Promise.all(pushes), Array.from({ length: 300 }, (_, i) => i + 1));
      const got = [];
      for (;;) {
        const j = await c.rPopCount('jobs', 50);
        if (j === null) break;
        got.push(...j);
      }
      assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => `job-${i}`));
    });

    it('pipelines and automatic pipelining', T, async () => {
      const c = await client();
      const res = await c.multi().set('k', 'v').get('k').incr('cnt').incr('cnt')
        .mGet(['k', 'cnt']).execAsPipeline();
      assert.deepEqual(res, ['OK', 'v', 1, 2, ['v', '2']]);
      // Commands issued together are pipelined; an error rejects its own promise only.
      await c.set('x', 'abc');
      const [a, b, d] = await Promise.allSettled([c.incr('x'), c.get('x'), c.incr('cnt')]);
      assert.equal(a.status, 'rejected');
      assert.equal(a.reason.message, 'ERR value is not an integer or out of range');
      assert.deepEqual([b.value, d.value], ['abc', 3]);
      const many = [];
      for (let i = 0; i < 1000; i++) many.push(c.set(`p:${i}`, String(i)));
      for (let i = 0; i < 1000; i++) many.push(c.get(`p:${i}`));
      const out = await Promise.all(many);
      assert.deepEqual(out.slice(1000), Array.from({ length: 1000 }, (_, i) => String(i)));
      assert.equal(await c.dbSize(), 1003);
    });

    it('MULTI/EXEC and WATCH', T, async () => {
      const c = await client();
      const other = await client();
      assert.deepEqual(await c.multi().set('a', '1').incr('a').get('a').exec(), ['OK', 2, '2']);
      await c.watch('a');
      await other.set('a', '100');
      await assert.rejects(c.multi().set('a', '3').exec(), (e) => {
        assert.ok(e instanceof WatchError, String(e));
        return true;
      });
      assert.equal(await c.get('a'), '100');
      await c.watch('a');
      assert.deepEqual(await c.multi().incr('a').exec(), [101]);
      // A command rejected while queued: EXEC fails with EXECABORT.
      await assert.rejects(c.multi().set('b', '1').addCommand(['GET']).exec(), (e) => {
        assert.equal(e.message,
          'EXECABORT Transaction discarded because of previous errors.');
        return true;
      });
      assert.equal(await c.exists('b'), 0);
      // A run-time error inside EXEC: the other commands ran.
      const r = await c.multi().set('t', 'str').incr('t').set('u', '1').exec()
        .then((x) => x, (e) => e);
      assert.equal(r.constructor.name, 'MultiErrorReply', String(r));
      assert.deepEqual(r.errorIndexes, [1]);
      assert.equal(r.replies[1].message, 'ERR value is not an integer or out of range');
      assert.equal(await c.get('u'), '1');
    });

    it('databases 1..15 through the database option', T, async () => {
      const conns = [];
      for (let db = 0; db < 16; db++) conns.push(await client({ database: db }));
      for (let db = 1; db < 16; db++) {
        assert.equal(await conns[db].set('k', `v${db}`), 'OK');
        assert.equal(await conns[db].set(`only${db}`, String(db)), 'OK');
      }
      assert.equal(await conns[0].get('k'), null);
      for (let db = 1; db < 16; db++) {
        assert.equal(await conns[db].get('k'), `v${db}`);
        assert.equal(await conns[db].dbSize(), 2);
        assert.equal((await conns[db].clientInfo()).db, db);
      }
      const ks = servers.parseInfo(await conns[0].info('keyspace')).keyspace;
      const want = {};
      for (let db = 1; db < 16; db++) want[`db${db}`] = 'keys=2,expires=0,avg_ttl=0';
      assert.deepEqual(ks, want);
      assert.equal(await conns[3].flushDb(), 'OK');
      assert.equal(await conns[3].dbSize(), 0);
      assert.equal(await conns[4].get('k'), 'v4');
      assert.equal(await conns[0].swapDb(1, 2), 'OK');
      assert.equal(await conns[1].get('k'), 'v2');
      assert.equal(await conns[2].get('k'), 'v1');
      assert.equal(await conns[5].move('only5', 6), true);
      assert.equal(await conns[6].get('only5'), '5');
      assert.equal(await conns[5].move('k', 6), false);
      assert.equal(await conns[7].copy('k', 'k', { destinationDb: 8 }), false);
      assert.equal(await conns[7].copy('k', 'k', { destinationDb: 8, replace: true }), true);
      assert.equal(await conns[8].get('k'), 'v7');
      // A URL naming the database, as applications configure it.
      const u = redis.createClient({ url: `redis://127.0.0.1:${srv.port}/11` });
      u.on('error', () => {});
      clients.push(u);
      await u.connect();
      assert.equal(await u.get('k'), 'v11');
      assert.equal((await u.clientInfo()).db, 11);
      // SELECT on a connected client, and out of range.
      const c = await client();
      assert.equal(await c.select(9), undefined);
      assert.equal(await c.get('k'), 'v9');
      await rejects(c.select(16), 'ERR DB index is out of range');
      assert.equal(await c.get('k'), 'v9');
      // The database option out of range: connecting fails with Redis's error.
      const bad = redis.createClient({
        database: 16,
        socket: { host: '127.0.0.1', port: srv.port, reconnectStrategy: false },
      });
      bad.on('error', () => {});
      await rejects(bad.connect(), 'ERR DB index is out of range');
      if (bad.isOpen) await bad.disconnect();
      assert.equal(await conns[0].flushAll(), 'OK');
      for (let db = 0; db < 16; db++) assert.equal(await conns[db].dbSize(), 0);
    });

    it('bitmaps', T, async () => {
      const c = await client();
      assert.equal(await c.setBit('b', 7, 1), 0);
      assert.equal(await c.setBit('b', 7, 1), 1);
      assert.equal(await c.getBit('b', 7), 1);
      assert.equal(await c.getBit('b', 100), 0);
      await c.set('bc', 'foobar');
      assert.equal(await c.bitCount('bc'), 26);
      assert.equal(await c.bitCount('bc', { start: 1, end: 1 }), 6);
      assert.equal(await c.bitCount('bc', { start: 5, end: 30, mode: 'BIT' }), 17);
      assert.equal(await c.bitPos('bc', 1), 1);
      await c.mSet({ x1: 'abc', x2: 'ABC' });
      assert.equal(await c.bitOp('XOR', 'dst', ['x1', 'x2']), 3);
      assert.equal(await c.get('dst'), '   ');
      assert.deepEqual(await c.bitField('f', [
        { operation: 'SET', encoding: 'u8', offset: 0, value: 255 },
        { operation: 'GET', encoding: 'u8', offset: 0 },
        { operation: 'INCRBY', encoding: 'u8', offset: 0, increment: 10 },
      ]), [0, 255, 9]);
      assert.deepEqual(await c.bitField('f', [
        { operation: 'OVERFLOW', behavior: 'SAT' },
        { operation: 'INCRBY', encoding: 'u8', offset: 0, increment: 300 },
        { operation: 'INCRBY', encoding: 'i8', offset: '#1', increment: -200 },
        { operation: 'OVERFLOW', behavior: 'FAIL' },
        { operation: 'INCRBY', encoding: 'u8', offset: 0, increment: 1 },
      ]), [255, -128, null]);
      assert.deepEqual(await c.bitFieldRo('f', [{ encoding: 'u4', offset: 0 }]), [15]);
      await rejects(c.setBit('b', 2 ** 32, 1), 'ERR bit offset is not an integer or out of range');
    });

    it('HyperLogLog', T, async () => {
      const c = await client();
      assert.equal(await c.pfAdd('h1', ['a', 'b', 'c']), true);
      assert.equal(await c.pfAdd('h1', 'a'), false);
      assert.equal(await c.pfCount('h1'), 3);
      assert.equal(await c.pfAdd('h2', ['c', 'd']), true);
      assert.equal(await c.pfCount(['h1', 'h2']), 4);
      assert.equal(await c.pfMerge('hm', ['h1', 'h2']), 'OK');
      assert.equal(await c.pfCount('hm'), 4);
      const adds = [];
      for (let i = 0; i < 5000; i += 500) {
        adds.push(c.pfAdd('big', Array.from({ length: 500 }, (_, j) => `e${i + j}`)));
      }
      await Promise.all(adds);
      assert.equal(await c.pfCount('big'), 4968);
      await c.set('notll', 'plain');
      await rejects(c.pfAdd('notll', 'x'),
        'WRONGTYPE Key is not a valid HyperLogLog string value.');
    });

    it('OBJECT ENCODING', T, async () => {
      const c = await client();
      await c.mSet({ int: '12345', emb: 'x'.repeat(44), raw: 'x'.repeat(45) });
      assert.equal(await c.objectEncoding('int'), 'int');
      assert.equal(await c.objectEncoding('emb'), 'embstr');
      assert.equal(await c.objectEncoding('raw'), 'raw');
      assert.equal(await c.objectEncoding('missing'), null);
      assert.equal(await c.objectRefCount('raw'), 1);
      assert.equal(typeof await c.objectIdleTime('int'), 'number');
    });

    it('CLIENT SETNAME/GETNAME/INFO/LIST parsing', T, async () => {
      const c = await client({ name: 'app-one', database: 3 });
      assert.equal(await c.clientGetName(), 'app-one');
      assert.equal(await c.clientSetName('app-two'), 'OK');
      assert.equal(await c.clientGetName(), 'app-two');
      const id = await c.clientId();
      const raw = await c.sendCommand(['CLIENT', 'INFO']);
      assert.deepEqual(raw.trim().split(' ').map((f) => f.split('=')[0]), servers.CLIENT_FIELDS);
      const info = await c.clientInfo();
      assert.equal(info.id, id);
      assert.equal(info.name, 'app-two');
      assert.equal(info.db, 3);
      assert.equal(info.flags, 'N');
      assert.equal(info.cmd, 'client|info');
      assert.equal(info.resp, 2);
      assert.equal(info.user, 'default');
      assert.equal(info.laddr, `127.0.0.1:${srv.port}`);
      assert.equal(info.multi, -1);
      await settle(2);
      const list = await c.clientList();
      assert.equal(list.length, 2);
      const mine = list.filter((x) => x.id === id);
      assert.equal(mine.length, 1);
      assert.equal(mine[0].name, 'app-two');
      assert.equal(mine[0].cmd, 'client|list');
      assert.deepEqual((await c.clientList({ ID: [String(id)] })).map((x) => x.id), [id]);
      assert.equal((await c.clientList({ TYPE: 'NORMAL' })).length, 2);
      await rejects(c.clientSetName('has space'),
        'ERR Client names cannot contain spaces, newlines or special characters.');
    });

    it('connect-time CLIENT SETINFO rejected as Redis 7.0 does (errorstats)', T, async () => {
      await admin.configResetStat();
      const c = await client();
      const errs = servers.parseInfo(await c.info('errorstats')).errorstats;
      assert.deepEqual(errs, { errorstat_ERR: 'count=2' });
      await rejects(c.sendCommand(['CLIENT', 'SETINFO', 'LIB-NAME', 'x']),
        "ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.");
      // Unknown subcommands are counted in errorstats only, not under cmdstat_client.
      const cmds = servers.parseInfo(await c.info('commandstats')).commandstats;
      assert.deepEqual(Object.keys(cmds).sort(), ['cmdstat_config|resetstat', 'cmdstat_info']);
      assert.deepEqual(servers.parseInfo(await c.info('errorstats')).errorstats,
        { errorstat_ERR: 'count=3' });
    });

    it('reconnect after CLIENT KILL keeps the database and name', T, async () => {
      const victim = await client({ database: 5, name: 'victim' });
      assert.equal(await victim.set('k', 'five'), 'OK');
      const oldId = await victim.clientId();
      const ready = new Promise((resolve) => victim.once('ready', resolve));
      assert.equal(await admin.clientKill({ filter: 'ID', id: oldId }), 1);
      assert.equal(await admin.clientKill({ filter: 'ID', id: oldId }), 0);
      await ready;
      assert.equal(await victim.get('k'), 'five');
      assert.notEqual(await victim.clientId(), oldId);
      assert.equal(await victim.clientGetName(), 'victim');
      await rejects(admin.sendCommand(['CLIENT', 'KILL', '127.0.0.1:1']), 'ERR No such client');
    });

    it('INFO and CONFIG GET', T, async () => {
      const c = await client();
      const c2 = await client({ database: 2 });
      await c.set('a', '1');
      await c.set('b', '2', { EX: 100 });
      await c2.set('x', '1');
      await rejects(c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command");
      const info = servers.parseInfo(await c.info());
      for (const [sec, keys] of Object.entries({
        server: ['redis_version', 'redis_mode', 'tcp_port', 'uptime_in_seconds'],
        clients: ['connected_clients', 'blocked_clients'],
        memory: ['used_memory', 'maxmemory', 'maxmemory_policy'],
        stats: ['total_commands_processed', 'keyspace_hits', 'expired_keys'],
        replication: ['role'],
        keyspace: ['db0', 'db2'],
      })) {
        for (const k of keys) assert.ok(k in (info[sec] || {}), `INFO ${sec} has no ${k}`);
      }
      assert.equal(info.server.redis_version, '7.0.15');
      assert.equal(info.server.tcp_port, String(srv.port));
      assert.equal(info.replication.role, 'master');
      assert.equal(info.keyspace.db0.replace(/avg_ttl=\d+/, 'avg_ttl=N'), 'keys=2,expires=1,avg_ttl=N');
      assert.equal(info.keyspace.db2, 'keys=1,expires=0,avg_ttl=0');
      assert.deepEqual({ ...await c.configGet('databases') }, { databases: '16' });
      assert.deepEqual({ ...await c.configGet('maxmemory') }, { maxmemory: '0' });
      assert.deepEqual({ ...await c.configGet('nosuchparameter') }, {});
      assert.equal(await c.configSet('maxmemory', '100mb'), 'OK');
      assert.deepEqual({ ...await c.configGet('maxmemory') }, { maxmemory: '104857600' });
      assert.equal(await c.configSet({ maxmemory: '0' }), 'OK');
      await rejects(c.configSet('databases', '4'),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config");
    });

    it('scanIterator', T, async () => {
      const c = await client();
      const c2 = await client({ database: 2 });
      const all = [];
      for (let i = 0; i < 300; i++) all.push(c.set(`user:${i}`, String(i)));
      for (let i = 0; i < 50; i++) all.push(c.set(`other:${i}`, String(i)));
      for (let i = 0; i < 20; i++) all.push(c2.set(`db2:${i}`, String(i)));
      await Promise.all(all);
      const collect = async (cl, opts) => {
        const out = [];
        for await (const k of cl.scanIterator(opts)) out.push(k);
        return out.sort();
      };
      const users = Array.from({ length: 300 }, (_, i) => `user:${i}`).sort();
      assert.equal((await collect(c, {})).length, 350);
      assert.deepEqual(await collect(c, { MATCH: 'user:*', COUNT: 7 }), users);
      assert.equal((await collect(c, { TYPE: 'string' })).length, 350);
      assert.deepEqual(await collect(c, { TYPE: 'list' }), []);
      assert.deepEqual(await collect(c2, {}),
        Array.from({ length: 20 }, (_, i) => `db2:${i}`).sort());
      assert.match(await c2.randomKey(), /^db2:/);
      await rejects(c.sendCommand(['SCAN', 'x']), 'ERR invalid cursor');
    });

    it('error replies', T, async () => {
      const c = await client();
      await rejects(c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command");
      await rejects(c.sendCommand(['SET', 'k', 'v', 'NX', 'XX']), 'ERR syntax error');
      await rejects(c.sendCommand(['SET', 'k', 'v', 'EX', '0']),
        "ERR invalid expire time in 'set' command");
      await c.set('str', 'abc');
      await rejects(c.incr('str'), 'ERR value is not an integer or out of range');
      await rejects(c.sendCommand(['FOO', 'a']),
        "ERR unknown command 'FOO', with args beginning with: 'a' ");
      await rejects(c.rename('nokey', 'x'), 'ERR no such key');
      await rejects(c.sendCommand(['HELLO', '4']), 'NOPROTO unsupported protocol version');
      const bad = redis.createClient({
        password: 'secret',
        socket: { host: '127.0.0.1', port: srv.port, reconnectStrategy: false },
      });
      bad.on('error', () => {});
      await rejects(bad.connect(),
        'ERR AUTH <password> called without any password configured for the default user. ' +
        'Are you sure your configuration is correct?');
      if (bad.isOpen) await bad.disconnect();
      // The client goes on after errors.
      assert.equal(await c.ping(), 'PONG');
    });

    it('HELLO 2 and RESET', T, async () => {
      const c = await client({ database: 4 });
      const hello = await c.hello();
      assert.equal(hello.server, 'redis');
      assert.equal(hello.version, '7.0.15');
      assert.equal(hello.proto, 2);
      assert.equal(hello.id, await c.clientId());
      assert.equal(hello.mode, 'standalone');
      assert.equal(hello.role, 'master');
      assert.deepEqual(hello.modules, []);
      assert.equal(await c.sendCommand(['RESET']), 'RESET');
      assert.equal((await c.clientInfo()).db, 0);
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
      const t0 = Date.now();
      assert.equal(await c.blPop('q', 0.2), null);
      assert.ok(Date.now() - t0 >= 190, 'answered before its timeout');
      assert.equal(await c.brPop(['q1', 'q2'], 0.1), null);
      const w1 = (await client()).brPop(['q1', 'q2'], 0);
      await blocked(1);
      const w2 = (await client()).blPop('q2', 5);
      await blocked(2);
      assert.equal(await c.lPush('q2', ['a', 'b']), 2);
      assert.deepEqual(await w1, { key: 'q2', element: 'a' });
      assert.deepEqual(await w2, { key: 'q2', element: 'b' });
      const w3 = (await client()).bzPopMin('z', 5);
      await blocked(1);
      await c.zAdd('z', { score: 2.5, value: 'm' });
      assert.deepEqual(await w3, { key: 'z', value: 'm', score: 2.5 });
      const w4 = (await client()).blMove('s', 'd', 'RIGHT', 'LEFT', 5);
      await blocked(1);
      await c.rPush('s', ['x', 'y']);
      assert.equal(await w4, 'y');
    });
  });
}
