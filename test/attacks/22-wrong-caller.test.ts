// Attack 22 (wrong-caller-ultracalls) against an SVM on a freshly provisioned machine, beside its controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/22-wrong-caller.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('ultracalls from the wrong caller are refused both ways; from the right caller they work', async () => {
  const r = await expectBlocked(scenario, ctx);
  assert.match(r.evidence, /from the hypervisor \(LPIDR = the SVM's\): UV_ESMB_GET_FILE U_PERMISSION, UV_SVM_KEY_FINGERPRINT U_PERMISSION, UV_SHARE_PAGE U_PERMISSION, UV_UNSHARE_PAGE U_PERMISSION, UV_UNSHARE_ALL_PAGES U_PERMISSION, UV_ESM U_PERMISSION, UV_ESM_REASON U_PERMISSION\./);
  const svm = /From the SVM's kernel: ([^;]*);/.exec(r.evidence)![1]!.split(', ');
  assert.equal(svm.length, 17);
  assert.ok(svm.every((c) => c.endsWith(' U_PERMISSION')), svm.join(', '));
  assert.match(r.evidence, /Control: the SVM's own calls: UV_ESMB_GET_FILE returned its 256-byte attachment intact, UV_SVM_KEY_FINGERPRINT U_SUCCESS, UV_SHARE_PAGE U_SUCCESS; the hypervisor's: UV_READ_SCOM U_SUCCESS, UV_RESTRICTED_SPR_READ U_SUCCESS/);
});
