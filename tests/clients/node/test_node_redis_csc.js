'use strict';
// node-redis 5's client-side cache (`createClient({ RESP: 3, clientSideCache: {...} })`,
// installed as `redis5`) against kvsd and redis-server, as an application uses it: the client
// enables CLIENT TRACKING on connect, answers cacheable reads (GET, MGET, HGETALL, SMEMBERS...)
// from its cache after the first, and drops an entry when the server's invalidation push
// arrives. Checked: hits and misses; a write by another client, by the caching client itself,
// in a MULTI, and by expiry drops the entry so the next read sees the new value (never a stale
// one); FLUSHALL empties the cache; fifty keys written at once; a cache bounded by maxEntries;
// CLIENT TRACKINGINFO and INFO's tracking fields; clients coming and going. Every result is
// noted and must be the same on both servers (transcript.js). issue 17 (node-redis 5's cache
// hung on kvsd without CLIENT TRACKING).
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_node_redis_csc.js
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const servers = require('./servers');
const { Transcript } = require('./transcript');

const redis = servers.requireLib('redis5');

const T = { timeout: 20000 };
const transcript = new Transcript();
const sleep = servers.sleep;

// Polls (at most 5 s) until cond() holds; returns its last value.
async function until(cond) {
  const deadline = Date.now() + 5000;
  let v = await cond();
  while (!v && Date.now() < deadline) {
    await sleep(5);
    v = await cond();
  }
  return v;
}

for (const kind of servers.KINDS) {
  describe(`node-redis 5 client-side cache against ${kind}`, { timeout: 90000 }, () => {
    let srv;
    let clients = [];
    const note = transcript.recorder(kind);

    async function client(opts = {}) {
      const c = redis.createClient({
        ...opts,
        socket: { host: '127.0.0.1', port: srv.port, connectTimeout: 5000 },
      });
      c.on('error', () => {});
      clients.push(c);
      await c.connect();
      return c;
    }
    const cached = (opts = {}) => client({ RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0, ...opts } });
    const stats = (c) => {
      const s = c.clientSideCache.stats();
      return { hits: s.hitCount, misses: s.missCount, size: c.clientSideCache.size() };
    };
    async function trackingInfo(admin) {
      const info = servers.parseInfo(await admin.info('everything'));
      return {
        tracking_clients: info.clients.tracking_clients,
        tracking_total_keys: info.stats.tracking_total_keys,
        tracking_total_items: info.stats.tracking_total_items,
        tracking_total_prefixes: info.stats.tracking_total_prefixes,
      };
    }

    before(async () => {
      srv = await servers.start(kind);
    });
    after(async () => {
      for (const c of clients) if (c.isOpen) await c.quit().catch(() => c.destroy());
      clients = [];
      const code = await srv.stop();
      assert.equal(code, 0, `${kind} exit status`);
    });

    it('reads are cached and invalidated by writes of other clients', T, async () => {
      const w = await client();
      await w.flushAll();
      const c = await cached();
      note('tracking info', await c.sendCommand(['CLIENT', 'TRACKINGINFO']));
      note('get missing', await c.get('k'));
      note('get missing again', await c.get('k'));
      note('stats', stats(c));
      assert.deepEqual(stats(c), { hits: 1, misses: 1, size: 1 });
      await w.set('k', 'v1');
      note('dropped after SET', await until(() => c.clientSideCache.size() === 0));
      assert.equal(await c.get('k'), 'v1');
      assert.equal(await c.get('k'), 'v1');
      note('stats after', stats(c));

      // several types and multi-key reads
      await w.hSet('h', { a: '1', b: '2' });
      await w.sAdd('s', ['x', 'y']);
      await w.mSet({ m1: 'a', m2: 'b' });
      note('hgetall', await c.hGetAll('h'));
      note('smembers', (await c.sMembers('s')).sort());
      note('mget', await c.mGet(['m1', 'm2', 'nope']));
      note('strlen', await c.strLen('k'));
      await c.hGetAll('h');
      await c.mGet(['m1', 'm2', 'nope']);
      note('stats cached', stats(c));
      await w.hSet('h', 'c', '3');
      await w.set('m2', 'B');
      await until(() => c.clientSideCache.size() === 3);
      note('hgetall after HSET', await c.hGetAll('h'));
      note('mget after SET', await c.mGet(['m1', 'm2', 'nope']));
      note('smembers still cached', (await c.sMembers('s')).sort());
      note('stats invalidated', stats(c));

      // INFO and CLIENT LIST as the server sees the caching client
      note('info', await trackingInfo(w));
      const line = await c.sendCommand(['CLIENT', 'INFO']);
      note('client info flags', /flags=(\S+)/.exec(line)[1]);
    });

    it('own writes, MULTI, expiry and FLUSHALL never leave a stale entry', T, async () => {
      const w = await client();
      await w.flushAll();
      const c = await cached();
      assert.equal(await c.get('own'), null);
      note('own SET', await c.set('own', 'mine'));
      note('own GET right after', await c.get('own'));
      note('own INCR', await c.incr('n'));
      note('GET n', await c.get('n'));
      note('own INCR again', await c.incr('n'));
      note('GET n again', await c.get('n'));
      note('MULTI', await c.multi().set('t', '1').get('t').exec());
      note('GET t', await c.get('t'));
      note('MULTI by the other client', await w.multi().set('t', '2').incr('n').exec());
      await until(async () => (await c.get('t')) === '2');
      note('GET t after', await c.get('t'));
      note('GET n after', await c.get('n'));

      await w.set('e', 'soon', { PX: 100 });
      note('GET e', await c.get('e'));
      await sleep(300);
      await w.get('e'); // lazy expiry, if active expiry has not run yet
      note('GET e expired', await until(async () => (await c.get('e')) === null));

      await c.get('own');
      await c.get('n');
      assert.ok(c.clientSideCache.size() > 0);
      note('FLUSHALL', await w.flushAll());
      note('emptied', await until(() => c.clientSideCache.size() === 0));
      note('GET own after flush', await c.get('own'));
    });

    it('fifty keys written at once; a bounded cache', T, async () => {
      const w = await client();
      await w.flushAll();
      const keys = Array.from({ length: 50 }, (_, i) => `many:${i}`);
      const c = await cached();
      for (const k of keys) await c.get(k);
      note('size', c.clientSideCache.size());
      await w.mSet(keys.map((k) => [k, 'x']));
      note('all dropped', await until(() => c.clientSideCache.size() === 0));
      const vals = [];
      for (const k of keys) vals.push(await c.get(k));
      note('values', vals.every((v) => v === 'x'));

      const b = await cached({ maxEntries: 5 });
      for (const k of keys.slice(0, 10)) await b.get(k);
      note('bounded size', b.clientSideCache.size());
      await w.set('many:9', 'y');
      note('bounded GET after SET', await until(async () => (await b.get('many:9')) === 'y'));
    });

    it('clients coming and going', T, async () => {
      const w = await client();
      await w.flushAll();
      const cs = [];
      for (let i = 0; i < 5; i++) cs.push(await cached());
      for (const c of cs) await c.get('shared');
      note('info with five', await trackingInfo(w));
      const before = Number(servers.parseInfo(await w.info('clients')).clients.connected_clients);
      for (const c of cs.slice(0, 3)) await c.quit();
      await servers.settleClients(async () => w.info('clients'), before - 3);
      await w.set('shared', 'v');
      for (const c of cs.slice(3)) await until(() => c.clientSideCache.size() === 0);
      note('survivors read', await Promise.all(cs.slice(3).map((c) => c.get('shared'))));
      note('info after', await trackingInfo(w));
    });
  });
}

transcript.sameOnBoth();
