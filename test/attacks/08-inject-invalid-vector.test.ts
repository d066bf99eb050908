// Attack 8 (inject-invalid-vector) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/08-inject-invalid-vector.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("the ultravisor injects no vector the SVM does not own; a valid one it delivers", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /the ultravisor injected none/,
    /booted 1 time/,
    /Control: HSRR0 = 0x500 .* the ultravisor injected it/,
  ]) assert.match(r.evidence, rx);
});
