// Attack 19 (unshare-behind-back) against an SVM on a freshly provisioned machine, beside its controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/19-unshare-behind-back.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('the hypervisor cannot turn a shared page secure with its bytes nor keep it shared through an unshare; it sees nothing written afterwards', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /UV_PAGE_INVAL U_SUCCESS; UV_PAGE_IN of its own frame without the shared flag U_P2/,
    /the SVM's next touch faulted; a fresh shared frame 0x[0-9a-f]+ supplied \(U_SUCCESS\)/,
    /during the SVM's unshare: UV_PAGE_IN with the shared flag \(keep it shared\) U_P2, then the acknowledgement U_SUCCESS/,
    /[1-9]\d* frames it gave for the page read: no secret; its device window at 0x160000: DMA to guest address 0x160000 refused/,
    /all normal memory: the secret in 0 frames; the SVM's unshare U_SUCCESS, its secret written and read back intact/,
    /Control: it read the SVM's first write from frame 0x[0-9a-f]+: yes; after the refault it read the SVM's second write from frame 0x[0-9a-f]+: yes/,
  ]) assert.match(r.evidence, rx);
});
