'use strict';
// ioredis's Cluster client against a three-node kvsd cluster (issue 18), started by
// scripts/cluster.sh on free loopback ports. The client discovers the nodes (CLUSTER SLOTS)
// from one seed, writes and reads CLUSTER_KEYS keys (default 20000; half untagged, half with
// hash tags) with auto-pipelining, runs MGET on one tag and a MULTI on one slot; then each
// node is scanned directly: zero errors, every key on the node its slot names (the slot from
// cluster-key-slot, ioredis's own), each node 33 +- 2 % of the untagged keys. A command whose
// keys span slots gets kvsd's -CROSSSLOT.
//
// Run: KVSD_BIN=build/server/kvsd node tests/clients/node/test_ioredis_cluster.js
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const servers = require('./servers');

const Redis = servers.requireLib('ioredis');
const calculateSlot = servers.requireLib('cluster-key-slot');

const REPO = path.resolve(__dirname, '..', '..', '..');
const KVSD_BIN = path.resolve(process.env.KVSD_BIN || path.join(REPO, 'build/server/kvsd'));
const RANGES = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];
let N = parseInt(process.env.CLUSTER_KEYS || '20000', 10);
if (fs.readFileSync(KVSD_BIN).includes('__asan_init')) N = Math.max(1000, Math.floor(N / 4));

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freeBase() {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + Math.floor(Math.random() * 35000);
    const ok = await Promise.all([base, base + 1, base + 2].map(portFree));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

function clusterSh(action, base, dir) {
  const r = spawnSync('bash', [path.join(REPO, 'scripts/cluster.sh'), action, String(base)], {
    env: { ...process.env, KVSD_BIN, KVSD_CLUSTER_DIR: dir },
    encoding: 'utf8',
    timeout: 120000,
  });
  if (r.status !== 0) {
    const e = new Error(`cluster.sh ${action}: ${r.stdout}${r.stderr}`);
    e.status = r.status;
    throw e;
  }
}

// cluster.sh start on fresh free ports while it exits 3 (a port was taken between freeBase()
// and a node's bind; its nodes are stopped again), at most 5 times; returns the base.
async function startOnFreePorts(dir) {
  const why = [];
  for (let i = 0; i < 5; i++) {
    const base = await freeBase();
    try {
      clusterSh('start', base, dir);
      return base;
    } catch (e) {
      if (e.status !== 3) throw e;
      why.push(e.message);
    }
  }
  throw new Error(`ports taken on 5 tries in a row: ${why.join('; ')}`);
}

function ownerOf(slot) {
  return RANGES.findIndex(([a, b]) => slot >= a && slot <= b);
}

describe('ioredis Cluster against three kvsd nodes', { timeout: 300000 }, () => {
  let base;
  let dir;
  let cluster;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvsd-cluster-'));
    base = await startOnFreePorts(dir);
    cluster = new Redis.Cluster([{ host: '127.0.0.1', port: base + 2 }], {
      enableAutoPipelining: true,
      redisOptions: { connectTimeout: 5000 },
    });
    cluster.on('error', () => {});
  });

  after(() => {
    if (cluster) cluster.disconnect();
    try {
      clusterSh('stop', base, dir);
      // the nodes' stderr: a sanitizer report there fails the test
      for (const p of [base, base + 1, base + 2]) {
        const f = path.join(dir, `${p}.out`);
        const out = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
        assert.ok(!/Sanitizer|runtime error:/.test(out), `node ${p}: ${out.slice(-4000)}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes and reads keys on the nodes their slots name', async () => {
    const half = Math.floor(N / 2);
    const keys = [];
    for (let i = 0; i < half; i++) keys.push(`io:${i}`);
    for (let i = half; i < N; i++) keys.push(`{tag${i % 13}}io:${i}`);
    let errors = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const r = await Promise.allSettled(keys.slice(i, i + 1000).map((k) => cluster.set(k, `v${k}`)));
      errors += r.filter((x) => x.status !== 'fulfilled' || x.value !== 'OK').length;
    }
    assert.equal(errors, 0, 'SET errors');
    let mismatches = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const r = await Promise.all(chunk.map((k) => cluster.get(k)));
      mismatches += r.filter((v, j) => v !== `v${chunk[j]}`).length;
    }
    assert.equal(mismatches, 0, 'values read back');
    const nodes = cluster.nodes('master');
    assert.equal(nodes.length, 3);
    const counts = [0, 0, 0];
    let misplaced = 0;
    let total = 0;
    for (const node of nodes) {
      const idx = node.options.port - base;
      const seen = new Set();
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const k of batch) {
          if (seen.has(k)) continue;
          seen.add(k);
          if (ownerOf(calculateSlot(k)) !== idx) misplaced++;
          if (k.startsWith('io:')) counts[idx]++;
        }
      } while (cursor !== '0');
      total += seen.size;
    }
    assert.equal(total, keys.length, 'keys on the nodes');
    assert.equal(misplaced, 0, 'keys on a node their slot does not name');
    for (const n of counts) {
      const share = (100 * n) / half;
      assert.ok(Math.abs(share - 100 / 3) <= 2, `untagged shares ${counts}`);
    }
    console.log(`ioredis Cluster: ${keys.length} keys, untagged per node ${counts}, 0 mismatches`);
  });

  it('runs multi-key commands and transactions on one slot, refuses spanning ones', async () => {
    const tag = [];
    for (let i = 3; i < 300; i += 13) tag.push(`{tag3}io:${i}`);
    await cluster.mset(...tag.flatMap((k) => [k, `w${k}`]));
    assert.deepEqual(await cluster.mget(...tag), tag.map((k) => `w${k}`));
    const res = await cluster.multi().incr('{t}n').incr('{t}n').get('{t}n').exec();
    assert.deepEqual(res, [
      [null, 1],
      [null, 2],
      [null, '2'],
    ]);
    // ioredis refuses spanning keys itself; a node asked directly answers -CROSSSLOT
    const direct = cluster.nodes('master')[0];
    await assert.rejects(direct.mget('io:1', 'io:2'), /^ReplyError: CROSSSLOT Keys in request don't hash to the same slot$/);
    assert.equal(await cluster.cluster('KEYSLOT', '{user}a'), 5474);
  });
});
