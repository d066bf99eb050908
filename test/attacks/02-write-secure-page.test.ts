// Attack 2 (write-secure-page) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/02-write-secure-page.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("writes into the SVM's secure page are machine checks and change nothing; the normal VM's page takes them", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /host port: machine check \(secure memory, MSR\[S\]=0\)/,
    /0 accepted/,
    /still holds the canary/,
    /Control: .*now holds the pattern/,
  ]) assert.match(r.evidence, rx);
});
