// Acceptance: the hypervisor never sees an SVM page in plaintext, and SVMs overcommit secure
// memory correctly. Two SVMs whose touched memory together exceeds the machine's free secure
// memory run on one hardware thread (HDEC time-slicing them) beside a normal VM, with the
// hypervisor's own reclaim budget set low. Every frame and UV_PAGE_OUT buffer the hypervisor
// receives is recorded; while all three VMs hold their canary in memory, normal memory, those
// buffers and those frames are scanned for it. The normal VM's canary is found (control); the
// SVMs' never are; and both SVMs' memory tests verify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { bootSystem, cleanup, createVm, makeMachine, modelImage, svmImage } from '../hypervisor/system.js';
import type { Vm } from '../../src/hypervisor/index.js';

let A: { dir: string; pem: Uint8Array; fingerprint: string };
before(async () => { A = await makeMachine({ memory: 256 << 20, secureMemory: 40 << 20, cpus: 1 }); });
after(cleanup);

/** Every 8-byte window of the canary: how it would look in registers. */
function windows(c: Uint8Array): Buffer[] { const out: Buffer[] = []; for (let i = 0; i + 8 <= c.length; i++) out.push(Buffer.from(c.subarray(i, i + 8))); return out; }
const has = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle)) >= 0;

test('SVM plaintext never reaches the hypervisor, and two SVMs overcommitting secure memory both run correctly', async () => {
  const frames: { vm: string | undefined; gprs: Uint8Array }[] = [];
  const pageOuts: { vm: string; bytes: Uint8Array }[] = [];
  const sys = bootSystem(A.dir, {
    quantum: 50,
    secureBudget: 16,
    spy: { frame: (vm, _v, gprs) => frames.push({ vm: vm?.name, gprs }), pageOut: (vm, _gpa, bytes) => pageOuts.push({ vm: vm.name, bytes }) },
  });
  try {
    const freeSecure = sys.uv.frames.free * 65536;
    const canary = (who: string) => `CANARY-${who}-${randomBytes(12).toString('hex')}`;
    const canaries = { svm1: canary('svm1'), svm2: canary('svm2'), vm: canary('vm') };
    const MEMTEST_MIB = 22;
    const image = (c: string) => modelImage({
      // The canary first on the disk: it lands in the first block-cache chunk the kernel reads at mount.
      files: [{ path: 'canary', data: c }],
      init: 'sha256 /canary\necho canary read\nexit 0\n',
      bootargs: `console=hvc0 pef.memtest=${MEMTEST_MIB}`,
      kernelSize: 256 * 1024,
    });
    const svm1 = createVm(sys, 'svm1', svmImage(image(canaries.svm1), { pems: [A.pem] }), { memBytes: 32 << 20 });
    const svm2 = createVm(sys, 'svm2', svmImage(image(canaries.svm2), { pems: [A.pem] }), { memBytes: 32 << 20 });
    const vm = createVm(sys, 'vm', modelImage({ files: [{ path: 'canary', data: canaries.vm }], init: 'sha256 /canary\necho canary read\nexit 0\n' }), { secureGuest: false });
    assert.ok(2 * MEMTEST_MIB * (1 << 20) > freeSecure, `the SVMs touch more (${2 * MEMTEST_MIB} MiB) than the free secure memory (${freeSecure >> 20} MiB)`);

    const trace: string[] = [];
    sys.machine.trace.subscribe((e) => { if (e.kind !== 'console') trace.push(JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))); });
    // Normal memory is scanned for each canary while its VM is alive (right after it read it);
    // the page-out buffers and frames the hypervisor received are scanned at the end, all of them.
    const normal: Record<string, boolean> = {};
    const vms: Record<string, Vm> = { svm1, svm2, vm };
    await sys.run({
      until: () => {
        for (const [k, v] of Object.entries(vms)) {
          if (k in normal || !v.console.includes('canary read')) continue;
          const n = new TextEncoder().encode(canaries[k as keyof typeof canaries]);
          normal[k] = false;
          for (const f of sys.machine.scanNormalMemory()) if (has(f.bytes, n)) { normal[k] = true; break; }
        }
        return false;
      },
    });
    const pageOut: Record<string, boolean> = {}, inFrames: Record<string, boolean> = {};
    for (const [k, c] of Object.entries(canaries)) {
      const n = new TextEncoder().encode(c);
      pageOut[k] = pageOuts.some((p) => has(p.bytes, n));
      const w = windows(n);
      inFrames[k] = frames.some((f) => w.some((x) => has(f.gprs, x)));
    }
    const scanned = { normal, pageOut, frames: inFrames };
    assert.deepEqual(Object.keys(normal).sort(), ['svm1', 'svm2', 'vm'], 'each VM was scanned while it held its canary');
    assert.equal(scanned.normal.vm, true, 'control: the normal VM\'s canary is in normal memory, and the scan finds it');
    assert.deepEqual([scanned.normal.svm1, scanned.normal.svm2], [false, false], 'no SVM canary in normal memory');
    assert.deepEqual([scanned.pageOut.svm1, scanned.pageOut.svm2], [false, false], 'nor in any UV_PAGE_OUT buffer');
    assert.deepEqual([scanned.frames.svm1, scanned.frames.svm2], [false, false], 'nor in any register frame the hypervisor received');
    assert.ok(!trace.some((l) => l.includes(canaries.svm1) || l.includes(canaries.svm2)), 'nor in the trace');

    // Overcommit worked: pages went out (encrypted) and came back (verified), and the memory tests passed.
    for (const v of [svm1, svm2]) {
      assert.deepEqual(v.exit, { kind: 'power-off' }, `${v.name}: ${v.console.slice(-3).join(' | ')}`);
      assert.ok(v.console.includes(`memtest: ${MEMTEST_MIB} MiB written and verified`), v.console.join('\n'));
      const sum = createHash('sha256').update(canaries[v.name as 'svm1' | 'svm2']).digest('hex');
      assert.ok(v.console.includes(`${sum}  /canary`), 'and the SVM read its canary back intact');
    }
    assert.ok(pageOuts.filter((p) => p.vm.startsWith('svm')).length > 0, 'SVM pages were paged out to the hypervisor');
    assert.ok(sys.hv.secure.reclaimed > 0, 'the hypervisor reclaimed secure pages itself (UV_PAGE_OUT)');
    assert.ok(trace.some((l) => l.includes('"kind":"page"') && l.includes('"from":"paged-out"') && l.includes('"to":"secure"')), 'paged-out pages came back through H_SVM_PAGE_IN');
    assert.deepEqual(vm.exit, { kind: 'power-off' });
  } finally {
    sys.close();
  }
});
