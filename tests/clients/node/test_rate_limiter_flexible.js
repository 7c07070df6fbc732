'use strict';
// rate-limiter-flexible's RateLimiterRedis against kvsd and redis-server, used as an
// application uses it, once over ioredis (its defineCommand: EVALSHA, EVAL on NOSCRIPT) and
// once over node-redis 4 (EVAL each time). The limiter consumes points with a Lua script (SET NX
// EX, INCRBY, PTTL, EXPIRE when no TTL); blocks with MULTI SET EX + PTTL; reads with MULTI GET +
// PTTL; deletes with DEL. Checked: consume until refused (consumed and remaining points, first
// in duration), get, penalty, reward, delete, block, set, blockDuration, a limiter without
// expiry (duration 0: MULTI INCRBY + PTTL), fifty concurrent consumes against twenty points
// (exactly twenty pass), and a one-second window running out. Every result is noted and must
// be the same on both servers (transcript.js).
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_rate_limiter_flexible.js
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const servers = require('./servers');
const { Transcript } = require('./transcript');

const Redis = servers.requireLib('ioredis');
const redis = servers.requireLib('redis');
const { RateLimiterRedis, RateLimiterRes } = servers.requireLib('rate-limiter-flexible');

const T = { timeout: 20000 };
const transcript = new Transcript();

// The parts of a RateLimiterRes that do not depend on timing: msBeforeNext as whether it lies
// in (lo, hi] (or its exact value when negative: no expiry).
function res(r, lo, hi) {
  assert.ok(r instanceof RateLimiterRes, `expected a RateLimiterRes, got ${r}`);
  const ms = r.msBeforeNext < 0 ? r.msBeforeNext : r.msBeforeNext > lo && r.msBeforeNext <= hi;
  return [r.consumedPoints, r.remainingPoints, r.isFirstInDuration, ms];
}

// What a rejected consume gave: the RateLimiterRes (over the limit) or an Error's message.
async function refused(promise, lo, hi) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof RateLimiterRes) return ['refused', res(e, lo, hi)];
    return ['error', e.message];
  }
  return ['passed'];
}

for (const kind of servers.KINDS) {
  describe(`rate-limiter-flexible against ${kind}`, { timeout: 60000 }, () => {
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

    async function nodeRedis() {
      const c = redis.createClient({
        socket: { host: '127.0.0.1', port: srv.port, connectTimeout: 5000 },
      });
      c.on('error', () => {});
      closers.push(() => c.quit().catch(() => c.disconnect()));
      await c.connect();
      return c;
    }

    before(async () => {
      srv = await servers.start(kind);
      admin = await ioredis();
      await admin.flushall();
    });
    after(async () => {
      for (const close of closers) await close();
      const code = await srv.stop();
      assert.equal(code, 0, `${kind} exit status`);
    });

    for (const flavor of ['ioredis', 'node-redis']) {
      it(`RateLimiterRedis over ${flavor}`, T, async () => {
        const storeClient = flavor === 'ioredis' ? await ioredis() : await nodeRedis();
        const extra = flavor === 'ioredis' ? {} : { useRedisPackage: true };
        const p = `rl-${flavor}`;
        const limiter = new RateLimiterRedis({
          storeClient, keyPrefix: p, points: 5, duration: 60, ...extra,
        });

        for (let i = 0; i < 5; i++) {
          note(`consume ${i}`, res(await limiter.consume('u1'), 50000, 60000));
        }
        note('consume over', await refused(limiter.consume('u1'), 50000, 60000));
        note('consume 2 over', await refused(limiter.consume('u1', 2), 50000, 60000));
        note('get u1', res(await limiter.get('u1'), 50000, 60000));
        note('get nobody', await limiter.get('nobody'));
        note('raw value', await admin.get(`${p}:u1`));
        const ttl = await admin.ttl(`${p}:u1`);
        note('raw ttl in [50,60]', ttl >= 50 && ttl <= 60);

        note('penalty', res(await limiter.penalty('u2', 3), 50000, 60000));
        note('reward', res(await limiter.reward('u2', 2), 50000, 60000));
        note('consume 2', res(await limiter.consume('u2', 2), 50000, 60000));
        note('consume "2"', res(await limiter.consume('u2', '2'), 50000, 60000));
        note('consume 1.5', await refused(limiter.consume('u2', 1.5), 0, 0));
        note('consume "x"', await refused(limiter.consume('u2', 'x'), 0, 0));

        note('delete', await limiter.delete('u1'));
        note('delete again', await limiter.delete('u1'));
        note('consume after delete', res(await limiter.consume('u1'), 50000, 60000));

        // block(): the key at points + 1 for the block's duration.
        note('block', res(await limiter.block('u3', 100), 90000, 100000));
        note('consume blocked', await refused(limiter.consume('u3'), 90000, 100000));
        const bttl = await admin.ttl(`${p}:u3`);
        note('block ttl in [90,100]', bttl >= 90 && bttl <= 100);
        note('set', res(await limiter.set('u4', 3, 200), 190000, 200000));
        note('get after set', res(await limiter.get('u4'), 190000, 200000));

        // blockDuration: the refusal that crosses the limit blocks the key for 300 s.
        const blocking = new RateLimiterRedis({
          storeClient, keyPrefix: `${p}-b`, points: 2, duration: 60, blockDuration: 300, ...extra,
        });
        note('b1', res(await blocking.consume('k'), 50000, 60000));
        note('b2', res(await blocking.consume('k'), 50000, 60000));
        note('b3 blocks', await refused(blocking.consume('k'), 290000, 300000));
        note('b4 blocked', await refused(blocking.consume('k'), 290000, 300000));
        const kttl = await admin.ttl(`${p}-b:k`);
        note('blocked ttl in [290,300]', kttl >= 290 && kttl <= 300);

        // duration 0: no expiry (MULTI INCRBY + PTTL).
        const forever = new RateLimiterRedis({
          storeClient, keyPrefix: `${p}-f`, points: 2, duration: 0, ...extra,
        });
        note('f1', res(await forever.consume('k'), 0, 0));
        note('f2', res(await forever.consume('k'), 0, 0));
        note('f3', await refused(forever.consume('k'), 0, 0));
        note('forever ttl', await admin.ttl(`${p}-f:k`));

        // Fifty concurrent consumes against twenty points: the script is atomic.
        const many = new RateLimiterRedis({
          storeClient, keyPrefix: `${p}-c`, points: 20, duration: 60, ...extra,
        });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 50 }, () => many.consume('k')));
        note('concurrent passed', outcomes.filter((o) => o.status === 'fulfilled').length);
        note('concurrent consumed', outcomes.map((o) => (o.value || o.reason).consumedPoints)
          .sort((x, y) => x - y));
        note('concurrent total', (await many.get('k')).consumedPoints);
      });
    }

    it('a one-second window runs out', T, async () => {
      const limiter = new RateLimiterRedis({
        storeClient: await ioredis(), keyPrefix: 'rl-exp', points: 1, duration: 1,
      });
      note('first', res(await limiter.consume('k'), 0, 1000));
      note('second', await refused(limiter.consume('k'), 0, 1000));
      const deadline = Date.now() + 5000;
      while ((await limiter.get('k')) !== null && Date.now() < deadline) await servers.sleep(20);
      note('gone', await limiter.get('k'));
      note('after window', res(await limiter.consume('k'), 0, 1000));
    });
  });
}

transcript.sameOnBoth();
