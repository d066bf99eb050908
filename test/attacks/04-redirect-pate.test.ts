// Attack 4 (redirect-pate) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/04-redirect-pate.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("the SVM's partition-table entry cannot be redirected; the normal VM's can be rewritten", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /UV_WRITE_PATE\(lpid \d+, [^)]*\) -> U_PERMISSION/,
    /mtspr PTCR -> hypervisor emulation assistance/,
    /write into the partition table at 0x[0-9a-f]+ -> machine check \(secure memory, MSR\[S\]=0\)/,
    /Control: UV_WRITE_PATE\(lpid \d+, the normal VM's table\) -> U_SUCCESS/,
  ]) assert.match(r.evidence, rx);
});
