// Attack 3 (dma-secure-page) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/03-dma-secure-page.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("DMA into the SVM's secure page is refused by the hardware; DMA into the normal VM's page lands", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /DMA write: machine check \(secure memory, MSR\[S\]=0\)/,
    /DMA read: machine check/,
    /not shared by the secure guest/,
    /Control: .*now holds the pattern/,
  ]) assert.match(r.evidence, rx);
});
