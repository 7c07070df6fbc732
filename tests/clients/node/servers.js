'use strict';
// Starts the servers the node client-library tests run against, each on a free loopback
// port (never 6379): the built kvsd (KVSD_BIN, plus KVSD_EXTRA_ARGS) and redis-server 7.0
// from PATH (REDIS_BIN overrides) with --save '' --appendonly no, in a private directory.
// start() resolves once the server answers PING; stop() sends SIGTERM and waits (SIGKILL
// after 10 s). Servers still running when the process exits are killed.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch (e) {
      /* gone already */
    }
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => (port === 6379 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });
}

// One raw RESP PING; resolves true on +PONG.
function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function start(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvsd-client-test-'));
  let lastErr = 'not started';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let bin;
    let args;
    bin = kind === 'kvsd'
      ? process.env.KVSD_BIN || path.join(__dirname, '..', '..', '..', 'build', 'server', 'kvsd')
      : process.env.REDIS_BIN || 'redis-server';
    if (bin.includes('/')) bin = path.resolve(bin); // the server runs in its own directory
    // KVSD_BIN=/usr/bin/redis-server checks the tests against Redis on both sides.
    if (!path.basename(bin).includes('redis-server')) {
      args = ['--port', String(port), '--bind', '127.0.0.1', '--threads', '2',
        '--loglevel', 'warning'];
      const extra = (process.env.KVSD_EXTRA_ARGS || '').split(' ').filter((a) => a);
      args = args.concat(extra);
    } else {
      args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir];
    }
    const proc = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    live.add(proc);
    let exited = null;
    proc.on('exit', (code, sig) => {
      exited = sig || code;
      live.delete(proc);
    });
    proc.on('error', (e) => {
      exited = e.message;
    });
    const deadline = Date.now() + 10000;
    while (exited === null && Date.now() < deadline) {
      if (await ping(port)) {
        return {
          kind,
          port,
          proc,
          stop: () => stop(proc, dir),
        };
      }
      await sleep(50);
    }
    lastErr = exited === null ? 'no PONG within 10 s' : `exited: ${exited}`;
    await stop(proc, null);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`${kind} did not start: ${lastErr}`);
}

function stop(proc, dir) {
  return new Promise((resolve) => {
    const finish = () => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      resolve(proc.exitCode);
    };
    if (proc.exitCode !== null || proc.signalCode !== null) {
      finish();
      return;
    }
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', () => {
      clearTimeout(t);
      finish();
    });
    proc.kill('SIGTERM');
  });
}

// require() of a client library, or a failure that says how to install it.
function requireLib(name) {
  try {
    return require(name);
  } catch (e) {
    console.error(`FAIL: the node package '${name}' is not installed in ${__dirname}/node_modules: ` +
      `run scripts/setup.sh (npm ci from package-lock.json). (${e.message})`);
    process.exit(1);
  }
}

// CLIENT LIST / CLIENT INFO fields of Redis 7.0, in order.
const CLIENT_FIELDS = ['id', 'addr', 'laddr', 'fd', 'name', 'age', 'idle', 'flags', 'db', 'sub',
  'psub', 'ssub', 'multi', 'qbuf', 'qbuf-free', 'argv-mem', 'multi-mem', 'rbs', 'rbp', 'obl',
  'oll', 'omem', 'tot-mem', 'events', 'cmd', 'user', 'redir', 'resp'];

// INFO text into { section: { key: value } } (values as text).
function parseInfo(text) {
  const out = {};
  let sec = null;
  for (const line of text.split('\r\n')) {
    if (line.startsWith('# ')) {
      sec = line.slice(2).toLowerCase();
      out[sec] = {};
    } else if (line && sec) {
      const i = line.indexOf(':');
      out[sec][line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return out;
}

// Asserts that promise rejects with an ErrorClass (the library's error-reply class) whose
// message is exactly text (Redis's error reply).
async function rejectsWith(assert, ErrorClass, promise, text) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ErrorClass, `expected a ${ErrorClass.name}, got ${e}`);
    assert.equal(e.message, text);
    return true;
  });
}

// Waits (at most 5 s) until INFO clients, fetched by infoClients(), shows n connected
// clients: a killed or quit connection is gone from the server a moment after the reply.
async function settleClients(infoClients, n) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const info = parseInfo(await infoClients());
    if (Number(info.clients.connected_clients) === n) return;
    await sleep(5);
  }
}

module.exports = {
  start,
  requireLib,
  sleep,
  CLIENT_FIELDS,
  parseInfo,
  rejectsWith,
  settleClients,
  KINDS: ['kvsd', 'redis'],
};
