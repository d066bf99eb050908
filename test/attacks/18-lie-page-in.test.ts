// Attack 18 (lie-in-page-in) against SVMs on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/18-lie-page-in.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('lies in answering H_SVM_PAGE_IN fail the transition, a second answer changes nothing, no answer leaves nothing behind', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /the kernel's first page \(0x400000\) handed over with its second page's bytes: UV_ESM refused: kernel digest mismatch/,
    /asked for 0x[0-9a-f]+, paged in 0x[0-9a-f]+ instead \(U_SUCCESS\) and answered H_SUCCESS: UV_ESM refused: the hypervisor refused or failed the transition/,
    /then again with other bytes \(U_P2\): the second answer changed nothing: the SVM went secure with the page first handed over, read its canary and powered off cleanly/,
    /never answered: UV_ESM never completed; the VM still running while the normal VM beside it powered off cleanly/,
    /The stuck VM, destroyed, the ultravisor terminated it \(1 terminate\); its attachment is in 0 normal and 0 secure frames, its master key in 0 frames/,
    /Control: honest answers: went secure, the SVM read its canary and powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
