// Attack 1 (read-secure-page) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/01-read-secure-page.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("reads of the SVM's secure page are machine checks; the normal VM's page reads back", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /hypervisor load: machine check \(secure memory, MSR\[S\]=0\)/,
    /alias 0x[0-9a-f]+: machine check \(secure frame addressed without the secure bit\)/,
    /guest load in partition \d+ mapping it: interrupt 0x200 at 0x[0-9a-f]+ \(machine check: secure memory, MSR\[S\]=0\)/,
    /, 0 readable/,
    /Control: .*bulk copy: read 16384 bytes/,
    /Control: .*guest load: read 0x[0-9a-f]+ \(the canary\)/,
  ]) assert.match(r.evidence, rx);
});
