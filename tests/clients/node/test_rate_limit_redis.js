'use strict';
// rate-limit-redis (the Redis store of express-rate-limit) against kvsd and redis-server, as an
// application uses it: a small express app on loopback with express-rate-limit and a RedisStore,
// once over node-redis 4 (sendCommand) and once over ioredis (call). The store loads two Lua
// scripts with SCRIPT LOAD and runs them with EVALSHA (reloading on NOSCRIPT): increment (PTTL,
// SET PX or INCR) and get (GET, PTTL); DECR and DEL for decrement and reset. Checked: requests
// until 429 with the standard headers, separate keys per user, the store's get / decrement /
// resetKey, skipFailedRequests (a failed response is decremented), SCRIPT FLUSH recovery and a
// short window running out. Every result is noted and must be the same on both servers
// (transcript.js).
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_rate_limit_redis.js
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const servers = require('./servers');
const { Transcript } = require('./transcript');

const Redis = servers.requireLib('ioredis');
const redis = servers.requireLib('redis');
const express = servers.requireLib('express');
const { rateLimit } = servers.requireLib('express-rate-limit');
const { RedisStore } = servers.requireLib('rate-limit-redis');

const T = { timeout: 20000 };
const transcript = new Transcript();

// Starts app on a free loopback port; resolves { url, close }.
function listen(app) {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (err) => {
      if (err) {
        reject(err);
        return;
      }
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

// One request as user; the status, the body and the RateLimit-Remaining header, and whether
// RateLimit-Reset (seconds) lies in [lo, hi].
async function request(url, user, lo = 50, hi = 60) {
  const r = await fetch(url, { headers: { 'x-user': user } });
  const reset = Number(r.headers.get('ratelimit-reset'));
  const remaining = r.headers.get('ratelimit-remaining');
  return [r.status, await r.text(), remaining, reset >= lo && reset <= hi];
}

for (const kind of servers.KINDS) {
  describe(`rate-limit-redis against ${kind}`, { timeout: 60000 }, () => {
    let srv;
    const closers = [];
    const note = transcript.recorder(kind);
    let admin;

    async function ioredis() {
      const c = new Redis({
        host: '127.0.0.1', port: srv.port, lazyConnect: true, maxRetriesPerRequest: 3,
      });
      c.on('error', () => {});
      closers.push(() => c.disconnect());
      await c.connect();
      return c;
    }

    // A RedisStore over a new connection of the flavor.
    async function store(flavor, prefix) {
      if (flavor === 'ioredis') {
        const c = await ioredis();
        return new RedisStore({
          prefix, sendCommand: (command, ...args) => c.call(command, ...args),
        });
      }
      const c = redis.createClient({
        socket: { host: '127.0.0.1', port: srv.port, connectTimeout: 5000 },
      });
      c.on('error', () => {});
      closers.push(() => c.quit().catch(() => c.disconnect()));
      await c.connect();
      return new RedisStore({ prefix, sendCommand: (...args) => c.sendCommand(args) });
    }

    // An app whose every route is limited to limit requests per windowMs by user (x-user).
    async function app(st, opts) {
      const a = express();
      const limiter = rateLimit({
        standardHeaders: 'draft-6',
        legacyHeaders: false,
        keyGenerator: (req) => req.get('x-user') || 'anon',
        store: st,
        ...opts,
      });
      a.use(limiter);
      a.get('/', (req, res) => res.send('ok'));
      a.get('/fail', (req, res) => res.status(500).send('failed'));
      const l = await listen(a);
      closers.push(l.close);
      // express-rate-limit initializes the store (SCRIPT LOAD) without waiting: wait for it.
      await Promise.all([st.incrementScriptSha, st.getScriptSha]);
      return l.url;
    }

    before(async () => {
      srv = await servers.start(kind);
      admin = await ioredis();
      await admin.flushall();
      await admin.script('FLUSH');
    });
    after(async () => {
      for (const close of closers) await close();
      const code = await srv.stop();
      assert.equal(code, 0, `${kind} exit status`);
    });

    for (const flavor of ['node-redis', 'ioredis']) {
      it(`express-rate-limit with RedisStore over ${flavor}`, T, async () => {
        const p = `rl-${flavor}:`;
        const st = await store(flavor, p);
        const url = await app(st, { windowMs: 60000, limit: 3 });
        note('script shas', [await st.incrementScriptSha, await st.getScriptSha]);
        const shas = [await st.incrementScriptSha, await st.getScriptSha];
        note('scripts exist', await admin.script('EXISTS', ...shas));

        for (let i = 0; i < 4; i++) note(`alice ${i}`, await request(url, 'alice'));
        note('bob', await request(url, 'bob'));
        const got = await st.get('alice');
        note('store get', [got.totalHits, got.resetTime instanceof Date]);
        note('raw value', await admin.get(`${p}alice`));
        const pttl = await admin.pttl(`${p}alice`);
        note('raw pttl in (50000,60000]', pttl > 50000 && pttl <= 60000);
        const missing = await st.get('nobody');
        note('store get missing',
          [String(missing.totalHits), missing.resetTime.getTime() <= Date.now()]);

        await st.decrement('alice');
        note('after decrement', (await st.get('alice')).totalHits);
        await st.resetKey('alice');
        note('after reset', await admin.exists(`${p}alice`));
        note('alice again', await request(url, 'alice'));
        const inc = await st.increment('carol');
        note('store increment', [inc.totalHits, inc.resetTime.getTime() > Date.now()]);

        // SCRIPT FLUSH: the next EVALSHA meets NOSCRIPT and the store reloads its script.
        assert.equal(await admin.script('FLUSH'), 'OK');
        note('after flush', await request(url, 'alice'));
        note('scripts after flush', await admin.script('EXISTS', ...shas));
        note('get after flush', (await st.get('alice')).totalHits);

        // skipFailedRequests: a 500 response is taken back with DECR.
        const st2 = await store(flavor, `${p}skip:`);
        const url2 = await app(st2, { windowMs: 60000, limit: 5, skipFailedRequests: true });
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`${url2}/fail`, { headers: { 'x-user': 'dave' } });
          note(`fail ${i}`, r.status);
        }
        const deadline = Date.now() + 5000;
        while ((await st2.get('dave')).totalHits !== 0 && Date.now() < deadline) {
          await servers.sleep(5);
        }
        note('after failed requests', (await st2.get('dave')).totalHits);
        note('ok after failures', await request(url2, 'dave'));

        // A one-second window runs out.
        const st3 = await store(flavor, `${p}short:`);
        const url3 = await app(st3, { windowMs: 1000, limit: 1 });
        note('short 1', await request(url3, 'erin', 0, 1));
        note('short 2', await request(url3, 'erin', 0, 1));
        const until = Date.now() + 5000;
        while ((await admin.exists(`${p}short:erin`)) && Date.now() < until) {
          await servers.sleep(10);
        }
        note('short after window', await request(url3, 'erin', 0, 1));
      });
    }
  });
}

transcript.sameOnBoth();
