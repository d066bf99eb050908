// Attack 20 (bounce-page-after-unshare) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/20-bounce-after-unshare.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('after the SVM unshares a bounce page, nothing the hypervisor still holds shows what it writes there', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /after UV_UNSHARE_PAGE \(U_SUCCESS\) the SVM wrote its attachment into the page \(read back intact\)/,
    /the old frame 0x[0-9a-f]+ \(host port\): no secret; DMA to it: no secret/,
    /the device window at 0x140000: DMA to guest address 0x140000 refused: page is secure, not shared by the secure guest/,
    /its secure frame 0x[0-9a-f]+: machine check \(secure memory, MSR\[S\]=0\); that frame without the secure bit: machine check/,
    /all memory: the secret in 0 normal frames and in secure frame 0x[0-9a-f]+/,
    /Control: while the page was shared \(UV_SHARE_PAGE U_SUCCESS\), host port: read it; the device window: read it and wrote its own data; the SVM read the device's data/,
  ]) assert.match(r.evidence, rx);
});
