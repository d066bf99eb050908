// Attack 14 (tamper-image-at-rest) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/14-tamper-at-rest.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('every change to the image at rest fails UV_ESM with its own reason; the untouched image boots', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /kernel byte: UV_ESM refused: kernel digest mismatch/,
    /initramfs byte: UV_ESM refused: initramfs digest mismatch/,
    /boot arguments: UV_ESM refused: boot arguments digest mismatch/,
    /sealed digests: UV_ESM refused: the digests do not decrypt with the unwrapped key/,
    /a file in the ESM archive \(\/sbin\/injected-by-admin\): UV_ESM refused: the ESM blob is malformed/,
    /Control: the untouched image went secure, read its canary intact and powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
