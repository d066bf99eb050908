// What the hostile-hypervisor fuzz found, each as the shortest sequence that shows it (fast-check
// shrank them to these). Each test asserts the safe outcome: all three failed on the ultravisor
// the fuzz found them in, and pass since the fixes (slot unregister refused while secure; share
// re-checks its frames before moving them to HV_SHARING and again before committing).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, makeMachine } from '../hypervisor/system.js';
import { bootFuzz, runStep } from './hv/run.js';
import type { Step } from './hv/spec.js';

let A: { dir: string; pem: Uint8Array };
before(async () => { A = await makeMachine({ cpus: 1 }); });
after(cleanup);

/** Run the steps; return the violations the checks reported (the first failing step ends the run). */
function violations(steps: Step[]): string[] {
  const r = bootFuzz(A.dir, A.pem);
  try {
    for (const s of steps) runStep(r, s);
    return [];
  } catch (e) {
    return (e as Error).message.split('\n');
  } finally {
    r.sys.close();
  }
}

test('the hypervisor unregisters and re-registers the memory slot of a running SVM: the SVM must not silently read zeros', () => {
  const v = violations([
    { svm: { op: 'write', i: 3 }, answers: [], sample: 5 },
    { hv: { op: 'unreg-slot', lpid: 'svm', slot: 0n }, answers: [], sample: 5 },
    { hv: { op: 'reg-slot', lpid: 'svm', start: 'zero', size: 'vm', flags: 0n, slot: 0n }, answers: [], sample: 5 },
    { svm: { op: 'verify', pages: [3] }, answers: [], sample: 5 },
  ]);
  assert.deepEqual(v, []);
});

test('the hypervisor pages out a frame of a pending UV_SHARE_PAGE, then refuses the share: the frame must keep its data', () => {
  const v = violations([
    { svm: { op: 'write', i: 3 }, answers: [], sample: 5 },
    // The share of gfns 258-259: while answering 258's H_SVM_PAGE_IN, page 259 out; then refuse 259's.
    { svm: { op: 'share', i: 2, n: 2 }, answers: [{ chaos: [{ op: 'page-out', page: { k: 'agent', i: 3 }, frame: 'fresh', lpid: 'svm', flags: 0n, shift: 16n }] }, 'refuse'], sample: 5 },
    { svm: { op: 'verify', pages: [3] }, answers: [], sample: 5 },
  ]);
  assert.deepEqual(v, []);
});

test('the hypervisor invalidates one frame of a pending UV_SHARE_PAGE while answering the next: no fault inside the ultravisor, no frame left half-shared', () => {
  const v = violations([
    { svm: { op: 'share', i: 0, n: 2 }, answers: ['honest', { chaos: [{ op: 'page-inval', page: { k: 'agent', i: 0 }, lpid: 'svm', shift: 16n }] }], sample: 0 },
    { svm: { op: 'verify', pages: [0, 1] }, answers: [], sample: 0 },
  ]);
  assert.deepEqual(v, []);
});
