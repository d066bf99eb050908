// A hostile hypervisor against a running SVM on a machine booted by firmware with its TPM and
// the real ultravisor (fast-check, model-based): every step is an ultracall with plausible or
// wild arguments, a forged UV_RETURN, or an SVM action whose requests the hypervisor answers
// honestly or not. After every step: no secure byte reachable from hypervisor mode, DMA or the
// host port; the ultravisor's page records agree with the translation the hardware does for the
// SVM; the SVM's memory and registers changed only by its own hand; the ultravisor never faulted.
// The controls first show that each of these checks fires when its protection is absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, makeMachine } from '../hypervisor/system.js';
import { bootFuzz, fuzzSequences, runStep, type FuzzRun } from './hv/run.js';
import { publicPattern, SECRET_MAGIC } from './hv/driver.js';
import { probeSecure, scanMemory } from './hv/checks.js';
import { AGENT_GFN, type Step } from './hv/spec.js';

const STEPS = Number(process.env.PEF_HVFUZZ_STEPS ?? 20_000);
const SEED = Number(process.env.PEF_FUZZ_SEED ?? 0x5eed);

let A: { dir: string; pem: Uint8Array };
before(async () => { A = await makeMachine({ cpus: 1 }); });
after(cleanup);

const svm = (op: Step['svm']): Step => ({ svm: op, answers: [], sample: 1 });
function withFuzz(f: (r: FuzzRun) => void) {
  return () => { const r = bootFuzz(A.dir, A.pem); try { f(r); } finally { r.sys.close(); } };
}

test('control: a page the SVM wrongly believes private, written by the hypervisor, is caught by the SVM\'s reads', withFuzz((r) => {
  runStep(r, svm({ op: 'share', i: 5, n: 1 }));
  const frame = r.hv.shared.get(AGENT_GFN + 5);
  assert.ok(frame !== undefined, 'the hypervisor supplied the shared page');
  runStep(r, svm({ op: 'verify', pages: [5] }));
  r.d.setPage(5, 'private', 0);
  r.sys.machine.host.write(frame, publicPattern(AGENT_GFN + 5, 1));
  assert.throws(() => runStep(r, svm({ op: 'verify', pages: [5] })), /agent page 5 \(gfn 261\) reads differently/);
}));

test('control: a private record, the passphrase or the key in normal memory is found by the memory search', withFuzz((r) => {
  scanMemory(r.d);
  assert.deepEqual(r.d.violations, [], 'nothing leaked after boot');
  const f = r.hv.real.pool.alloc('control');
  r.sys.machine.host.write(f + 100, SECRET_MAGIC);
  r.sys.machine.host.write(f + 300, r.d.passphrase);
  r.sys.machine.host.write(f + 600, r.d.symkey);
  scanMemory(r.d);
  assert.match(r.d.violations.join('\n'), /a private record of the SVM is in normal memory/);
  assert.match(r.d.violations.join('\n'), /the disk passphrase is at/);
  assert.match(r.d.violations.join('\n'), /symmetric key is in normal memory/);
}));

test('control: the probe reports an address the hardware lets through (a normal frame)', withFuzz((r) => {
  const normal = r.hv.real.pool.alloc('control');
  probeSecure(undefined, r.d, [normal]);
  assert.match(r.d.violations.join('\n'), /a DMA read of secure address 0x[0-9a-f]+ \(as 0x[0-9a-f]+\) was not refused/);
}));

test('control: ultravisor records that disagree with the hardware translation are reported', withFuzz((r) => {
  const rec = r.d.uv.svms.get(r.d.lpid)!;
  const a = rec.pages.get(AGENT_GFN + 1)!, b = rec.pages.get(AGENT_GFN + 2)!;
  assert.ok(a.secure !== undefined && b.secure !== undefined);
  [a.secure, b.secure] = [b.secure, a.secure]; // a test-only fault: the records now lie
  assert.throws(() => runStep(r, svm({ op: 'verify', pages: [0] })), /gfn 257 \(SECURE\) maps 0x[0-9a-f]+, its secure page is 0x/);
}));

// Todo while the findings of hv-findings.test.ts are open: the random walk reaches them.
test(`a hostile hypervisor: ${STEPS} random steps against a running SVM, checked after each`, () => {
  const t = fuzzSequences({ machineDir: A.dir, pem: A.pem, target: STEPS, maxCommands: 1000, seed: SEED });
  assert.ok(t.steps >= STEPS, `${t.steps} steps ran`);
  const n = (k: string) => t.stats.get(k) ?? 0;
  // The fuzz reached the interesting places: pages paged out and verified back, shares both ways, forged answers refused.
  assert.ok(n('UV_PAGE_OUT U_SUCCESS') > 0 && n('UV_PAGE_IN U_SUCCESS') > 0, 'pages went out and came back');
  assert.ok(n('UV_SHARE_PAGE U_SUCCESS') > 0 && n('UV_UNSHARE_PAGE U_SUCCESS') > 0, 'the SVM shared and unshared');
  assert.ok(n('UV_PAGE_IN U_P3') > 0, 'forged ciphertext was offered and refused');
  assert.ok(n('svm verify') > STEPS / 2, 'the SVM read its pages back');
  assert.ok(n('memory scans') >= t.sequences, 'all memory was searched at least once per sequence');
  console.log(`# ${t.steps} steps in ${t.sequences} sequences (seed ${SEED}); ${[...t.stats].sort((x, y) => y[1] - x[1]).slice(0, 12).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
});

