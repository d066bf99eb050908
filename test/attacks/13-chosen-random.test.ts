// Attack 13 (chosen-h-random) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/13-chosen-random.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("the hypervisor cannot choose an SVM's random numbers; it can a normal VM's", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /the SVM.s kernel made [1-9]\d* H_RANDOM calls; 0 reached the hypervisor/,
    /the chosen value was in 0 secure and 0 normal frames/,
    /Control: [1-9]\d* of the normal VM.s H_RANDOM calls answered with the chosen value; while its \/init ran the value was in [1-9]\d* normal frames/,
  ]) assert.match(r.evidence, rx);
});
