// Attack 24 (kill-mid-esm) against SVMs on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/24-kill-mid-esm.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('an SVM killed anywhere in UV_ESM leaves nothing in memory; a running one is found where it is', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const point of ['halfway through the TPM conversation', 'right after the master key was unwrapped \\(hashing the kernel\\)', 'at H_SVM_INIT_DONE \\(every check passed\\)']) {
    assert.match(r.evidence, new RegExp(`killed ${point} \\(UV_SVM_TERMINATE U_SUCCESS\\): UV_ESM never completed; [^;]*; then in all memory \\(normal/secure frames\\): master key 0/0, passphrase 0/0, attachment 0/0, kernel 0/0, initramfs 0/0`));
  }
  assert.match(r.evidence, /Control: the same search while an SVM left alone ran \(it read its canary and powered off cleanly\): master key 0\/0, passphrase 0\/0, attachment 0\/[1-9]\d*, kernel 0\/[1-9]\d*, initramfs 0\/[1-9]\d*, memory canary 0\/[1-9]\d*/);
});
