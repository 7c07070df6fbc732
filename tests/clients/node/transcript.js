'use strict';
// What a library test observed on each server, for the library tests (test_redlock.js,
// test_rate_limiter_flexible.js, test_rate_limit_redis.js, test_bee_queue.js): each runs one
// scenario per server, asserting literal expectations as it goes and noting every observable
// result (replies, library results, error texts; timing-dependent values reduced to what does
// not depend on timing). sameOnBoth() then asserts that kvsd's notes equal redis-server's, so a
// difference the literal assertions did not anticipate still fails the test. KVSD_NOTES=1
// prints the notes.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const servers = require('./servers');

class Transcript {
  constructor() {
    this.notes = {};
    for (const kind of servers.KINDS) this.notes[kind] = [];
  }

  // A recorder for one server's scenario: note(label, value) stores [label, value] (a
  // JSON-able copy) and returns value.
  recorder(kind) {
    return (label, value) => {
      const copy = value === undefined ? '<undefined>' : JSON.parse(JSON.stringify(value));
      this.notes[kind].push([label, copy]);
      return value;
    };
  }

  // Registers the final test: every server noted the same results in the same order.
  sameOnBoth() {
    it('the same observations on kvsd and redis-server', () => {
      const [a, b] = servers.KINDS;
      if (process.env.KVSD_NOTES) console.log(JSON.stringify(this.notes[a], null, 1));
      assert.ok(this.notes[a].length > 0, `nothing noted against ${a}`);
      assert.deepEqual(this.notes[a], this.notes[b]);
    });
  }
}

module.exports = { Transcript };
