// Attack 7 (read-svm-registers) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/07-read-registers.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("the hypervisor sees none of the SVM's register canaries nor its PC, and cannot change its registers; it sees a normal VM's", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /no register canary and not the SVM's PC/,
    /the probe got every register back unchanged/,
    /Control: .* 30 GPR, 128 VSR doubleword/,
  ]) assert.match(r.evidence, rx);
});
