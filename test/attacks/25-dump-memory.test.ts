// Attack 25 (dump-all-memory) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/25-dump-memory.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("a dump of all memory after boot holds neither the master key nor the SVM's secrets; it holds the normal VM's", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /[1-9]\d* normal frames dumped: master key 0, passphrase 0, canary file 0, attachment 0; [1-9]\d* secure frames tried, 0 readable/,
    /Everywhere \(normal\/secure frames\): master key 0\/0, passphrase 0\/\d+, canary file 0\/[1-9]\d*, attachment 0\/\d+/,
    /Control: the normal VM's canary file in [1-9]\d* of [1-9]\d* normal frames dumped; it powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
