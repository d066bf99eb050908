// Attack 5 (hrfid-sets-secure) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/05-hrfid-secure.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("hrfid never sets MSR[S]; entering the SVM that way is a machine check on its tables, and the SVM runs on", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /the hardware dropped S/,
    /machine check with SRR0 0x400000, SRR1 0x[0-9a-f]+ \(S=0\)/,
    /\(secure memory, MSR\[S\]=0\)/,
    /Control: hrfid into the normal VM .* powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
