'use strict';
// redlock against kvsd and redis-server, used as an application uses it: redlock 4.2.0 (the
// `latest` release) and 5.0.0-beta.2 (installed as `redlock5`, the TypeScript rewrite most
// ioredis users run), both over ioredis. Redlock keeps its state in Lua scripts it sends with
// EVALSHA, falling back to EVAL on NOSCRIPT: acquire (EXISTS on every key, then SET PX each),
// extend (GET compare, SET PX) and release (GET compare-and-DEL). Checked: acquire, extend and
// release; a second locker refused while the lock is held (its retries exhausted); multi-
// resource locks all-or-nothing; expiry (an expired lock cannot be extended, and its release
// leaves the next owner's lock alone); twenty lockers on two connections incrementing a counter
// under the lock (no overlap, no lost update); redlock 5's `using` with automatic extension.
// Every result is noted and must be the same on both servers (transcript.js).
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_redlock.js
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const servers = require('./servers');
const { Transcript } = require('./transcript');

const Redis = servers.requireLib('ioredis');
const Redlock = servers.requireLib('redlock');
const Redlock5 = servers.requireLib('redlock5').default;
const { ExecutionError, ResourceLockedError } = servers.requireLib('redlock5');

const T = { timeout: 20000 };
const transcript = new Transcript();
const sleep = servers.sleep;

// Polls (at most 5 s) until GET key is null on c.
async function waitGone(c, key) {
  const deadline = Date.now() + 5000;
  while ((await c.get(key)) !== null && Date.now() < deadline) await sleep(5);
  return c.get(key);
}

for (const kind of servers.KINDS) {
  describe(`redlock against ${kind}`, { timeout: 60000 }, () => {
    let srv;
    let clients = [];
    const note = transcript.recorder(kind);

    async function client() {
      const c = new Redis({
        host: '127.0.0.1',
        port: srv.port,
        connectTimeout: 5000,
        maxRetriesPerRequest: 3,
        lazyConnect: true,
      });
      c.on('error', () => {});
      clients.push(c);
      await c.connect();
      return c;
    }

    before(async () => {
      srv = await servers.start(kind);
    });
    after(async () => {
      for (const c of clients) c.disconnect();
      clients = [];
      const code = await srv.stop();
      assert.equal(code, 0, `${kind} exit status`);
    });

    it('redlock 4: acquire, contention, extend, release, multi-resource, expiry', T, async () => {
      const admin = await client();
      await admin.flushall();
      assert.equal(await admin.script('FLUSH'), 'OK');
      const clientErrors = [];
      const opts = { retryCount: 2, retryDelay: 10, retryJitter: 0 };
      const a = new Redlock([await client()], opts);
      const b = new Redlock([await client()], opts);
      for (const r of [a, b]) r.on('clientError', (e) => clientErrors.push(e.message));
      const hashes = ['lockScript', 'extendScript', 'unlockScript'].map((n) => a.scripts[n].hash);
      note('scripts before', await admin.script('EXISTS', ...hashes));

      // Acquire: the first EVALSHA meets NOSCRIPT and redlock falls back to EVAL.
      const lock = await a.lock('res', 10000);
      assert.match(lock.value, /^[0-9a-f]{32}$/);
      assert.equal(await admin.get('res'), lock.value);
      const pttl = await admin.pttl('res');
      note('pttl after lock in (0,10000]', pttl > 0 && pttl <= 10000);
      note('scripts after lock', await admin.script('EXISTS', ...hashes));

      // The other locker is refused while the lock is held.
      await assert.rejects(b.lock('res', 10000), (e) => {
        assert.ok(e instanceof Redlock.LockError);
        note('contended lock', [e.name, e.message, e.attempts]);
        return true;
      });
      assert.equal(await admin.get('res'), lock.value);

      // Extend: same value, longer PTTL.
      const extended = await lock.extend(30000);
      assert.equal(extended.value, lock.value);
      const pttl2 = await admin.pttl('res');
      note('pttl after extend in (10000,30000]', pttl2 > 10000 && pttl2 <= 30000);
      note('scripts after extend', await admin.script('EXISTS', ...hashes));

      // Release deletes the key; a second release fails (the compare finds nothing).
      await lock.unlock();
      note('after unlock', await admin.exists('res'));
      await assert.rejects(lock.unlock(), (e) => {
        note('second unlock', [e.name, e.message]);
        return true;
      });
      note('scripts after unlock', await admin.script('EXISTS', ...hashes));

      // Multi-resource: all or nothing, checked atomically by the script.
      const held = await b.lock('m2', 10000);
      await assert.rejects(a.lock(['m1', 'm2', 'm3'], 10000), (e) => {
        note('multi-resource refused', e.message);
        return true;
      });
      note('m1 m3 untouched', await admin.exists('m1', 'm3'));
      await held.unlock();
      const multi = await a.lock(['m1', 'm2', 'm3'], 10000);
      const values = await admin.mget('m1', 'm2', 'm3');
      note('multi-resource values', values.map((v) => v === multi.value));
      await multi.unlock();
      note('multi-resource released', await admin.exists('m1', 'm2', 'm3'));

      // Expiry: the lock's key vanishes after its TTL; redlock refuses to extend it; the next
      // owner's lock survives the first owner's late release (compare-and-delete).
      const short = await a.lock('exp', 100);
      note('expired key', await waitGone(admin, 'exp'));
      await sleep(10); // past redlock's own drift-adjusted expiration
      await assert.rejects(short.extend(1000), (e) => {
        note('extend expired', e.message);
        return true;
      });
      const next = await b.lock('exp', 10000);
      await assert.rejects(short.unlock(), (e) => {
        note('late unlock', e.message);
        return true;
      });
      note('next owner kept', (await admin.get('exp')) === next.value);
      await next.unlock();

      // An extend by a stale owner (value no longer in Redis) is refused and writes nothing.
      const mine = await a.lock('stale', 10000);
      await admin.set('stale', 'someone-else', 'PX', 10000);
      await assert.rejects(mine.extend(10000), (e) => {
        note('stale extend', e.message);
        return true;
      });
      note('stale value kept', await admin.get('stale'));
      note('client errors', clientErrors);
    });

    it('redlock 4: twenty lockers on two connections never overlap', T, async () => {
      const admin = await client();
      await admin.del('counter', 'hot');
      const opts = { retryCount: 1000, retryDelay: 2, retryJitter: 2 };
      const conns = [await client(), await client()];
      const lockers = conns.map((c) => new Redlock([c], opts));
      let inside = 0;
      let maxInside = 0;
      const worker = async (i) => {
        const l = await lockers[i % 2].lock('hot', 10000);
        inside++;
        maxInside = Math.max(maxInside, inside);
        const c = conns[i % 2];
        const n = Number((await c.get('counter')) || '0');
        await new Promise((r) => setImmediate(r));
        await c.set('counter', String(n + 1));
        inside--;
        await l.unlock();
      };
      await Promise.all(Array.from({ length: 20 }, (_, i) => worker(i)));
      note('max inside', maxInside);
      note('counter', await admin.get('counter'));
      note('lock left', await admin.exists('hot'));
    });

    it('redlock 5: acquire, extend, release, refusal, using with auto-extension', T, async () => {
      const admin = await client();
      await admin.flushall();
      const errors = [];
      const settings = { retryCount: 2, retryDelay: 10, retryJitter: 0 };
      const r1 = new Redlock5([await client()], settings);
      const r2 = new Redlock5([await client()], settings);
      for (const r of [r1, r2]) {
        r.on('error', (e) => errors.push(`${e.constructor.name}: ${e.message}`));
      }
      const sha = r1.scripts.releaseScript.hash;
      const body = r1.scripts.releaseScript.value;
      assert.equal(sha, crypto.createHash('sha1').update(body).digest('hex'));

      const lock = await r1.acquire(['r5'], 10000);
      assert.equal(await admin.get('r5'), lock.value);
      await assert.rejects(r2.acquire(['r5'], 10000), (e) => {
        assert.ok(e instanceof ExecutionError);
        note('redlock5 refused', [e.message, e.attempts.length]);
        return true;
      });
      note('redlock5 errors', errors.splice(0));
      const lock2 = await lock.extend(40000);
      const pttl = await admin.pttl('r5');
      note('redlock5 pttl after extend in (10000,40000]', pttl > 10000 && pttl <= 40000);
      note('redlock5 old lock invalidated', lock.expiration);
      const rel = await lock2.release();
      note('redlock5 release attempts', rel.attempts.length);
      note('redlock5 key after release', await admin.exists('r5'));
      // A release of a lock no longer held: the script removes 0 of 1.
      await assert.rejects(r1.release(lock2), (e) => {
        assert.ok(e instanceof ExecutionError);
        return true;
      });
      note('redlock5 release errors', errors.splice(0).map((m) => m.replace(/^(\w+):.*/, '$1')));
      assert.ok(new ResourceLockedError('x') instanceof Error);
      note('redlock5 scripts cached', await admin.script('EXISTS',
        r1.scripts.acquireScript.hash, r1.scripts.extendScript.hash, sha));

      // using(): the routine outlives the lock's 1000 ms; redlock extends it automatically
      // (700 ms before it would expire: every ~300 ms).
      const out = await r1.using(['u5'], 1000, { automaticExtensionThreshold: 700 },
        async (signal) => {
          const value = await admin.get('u5');
          await sleep(1500);
          return [signal.aborted, value !== null, (await admin.get('u5')) === value];
        });
      note('using: aborted, held, still held after 1500 ms', out);
      note('using released', await admin.exists('u5'));
      note('redlock5 final errors', errors);
      await Promise.all([r1.quit(), r2.quit()]);
    });
  });
}

transcript.sameOnBoth();
