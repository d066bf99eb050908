// UV_ESM end to end on a small VM image built here: success enters the guest secure at kbase;
// each tampered input, an unauthorized machine, a corrupted blob and the other failures end in
// H_SVM_INIT_ABORT, with the guest back as a normal VM seeing UV_ESM return -4 and a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESM_REASON } from '../../src/abi/ultracalls.js';
import { H } from '../../src/abi/retcodes.js';
import { randomBytes } from 'node:crypto';
import { parseEsmBlob, lockboxes, setDigests, newSymkey, computeDigests, applyEsmEdit } from '../../src/esm/index.js';
import { fingerprintOfPem } from '../../src/esm/index.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import { LAYOUT, LPID, makeRig, testKey, type RigOptions } from './rig.js';

function boot(o: RigOptions = {}) {
  const r = makeRig(o);
  const res = r.run();
  return { ...r, res };
}

/** The VM came back as a normal VM with UV_ESM = -4 and this reason, and its memory is its own again. */
function assertAborted(r: ReturnType<typeof boot>, reason: number): void {
  const diag = [...r.log, ...r.hv.log].join('\n');
  assert.equal(r.out.secure, undefined, diag);
  assert.equal(r.out.esmRc, H.H_PARAMETER, diag);
  assert.equal(r.out.reason, reason, diag);
  assert.equal(r.uv.lastEsmReason(LPID), reason);
  assert.equal(r.uv.svms.has(LPID), false, 'the ultravisor forgot the SVM');
  assert.ok(r.hv.log.includes('init-abort terminate 0'), diag);
  const back = r.hv.readGuest(r.vm, LAYOUT.kbase, r.image.kernel.length);
  const loaded = r.image.loads.find((l) => l.gpa === LAYOUT.kbase)!.bytes;
  assert.deepEqual(back, loaded, 'the VM has its kernel pages back, unchanged');
}

test('an honest VM image becomes an SVM and is entered at kbase with R3 = fdt, R4 = kbase', () => {
  const r = boot();
  assert.equal(r.out.secure, true, r.log.join('\n') + '\n' + r.hv.log.join('\n'));
  assert.equal(r.res.reason, 'halted');
  assert.ok(r.log.includes(`secure boot r3=0x${LAYOUT.fdt.toString(16)} r4=0x${LAYOUT.kbase.toString(16)}`), r.log.join('\n'));
  assert.equal(r.uv.svms.get(LPID)?.state, 'secure');
  assert.equal(r.uv.lastEsmReason(LPID), ESM_REASON.NONE);
  // Every guest page is now in secure memory: the hypervisor's view says so for all of them
  // except the two bounce buffers, which it shares.
  assert.equal(r.vm.uvmem.filter((s) => s === 'shared').length, 2);
  assert.equal(r.vm.uvmem.filter((s) => s === 'normal').length, 0);
});

test('the blob may travel in front of the initramfs instead of /chosen', () => {
  const r = boot({ blobIn: 'initramfs' });
  assert.equal(r.out.secure, true, r.log.join('\n'));
});

test('the device tree the guest gets reserves the bounce buffers', async () => {
  const { parseFdt } = await import('../../src/fdt/index.js');
  let fdt: Uint8Array | undefined;
  const r = boot({
    guest: {
      *secure(g) {
        // Read the device tree the ultravisor left at R3, through the SVM's own (secure) view.
        const head = yield* retrying(() => g.cpu.read(Number(g.fdt), 8));
        const size = new DataView(head.buffer).getUint32(4);
        fdt = yield* retrying(() => g.cpu.read(Number(g.fdt), size));
      },
    },
  });
  assert.equal(r.out.secure, true);
  const tree = parseFdt(fdt!);
  const bounce = [...r.uv.svms.get(LPID)!.pages].filter(([, e]) => e.implicit).map(([g]) => BigInt(g * 65536)).sort();
  assert.equal(bounce.length, 2);
  assert.deepEqual(tree.reservations.map((x) => x.address).sort(), bounce);
});

for (const [tamper, reason] of [
  ['kernel', ESM_REASON.KERNEL_MISMATCH], ['initramfs', ESM_REASON.INITRD_MISMATCH],
  ['bootargs', ESM_REASON.BOOTARGS_MISMATCH], ['rtas', ESM_REASON.RTAS_MISMATCH], ['blob', ESM_REASON.MALFORMED_BLOB],
] as const) {
  test(`a tampered ${tamper} fails UV_ESM with reason ${reason}; the untampered image is the control`, () => {
    assertAborted(boot({ tamper }), reason!);
  });
}

test('the initramfs digest is enforced when the blob travels in the initramfs too', () => {
  assertAborted(boot({ blobIn: 'initramfs', tamper: 'initramfs' }), ESM_REASON.INITRD_MISMATCH!);
});

test('a file slipped into the ESM archive (outside the initramfs digest) fails UV_ESM as a malformed blob; without it the same image boots', () => {
  const smuggle = [{ name: 'etc/ld.so.preload', data: new TextEncoder().encode('/tmp/evil.so\n') }];
  assert.equal(boot({ blobIn: 'initramfs' }).out.secure, true);
  assert.equal(boot({ blobIn: 'initramfs', smuggle: [] }).out.secure, true);
  assertAborted(boot({ blobIn: 'initramfs', smuggle }), ESM_REASON.MALFORMED_BLOB!);
});

test('a machine whose key is not authorized finds no lockbox', () => {
  assertAborted(boot({ keys: [0, 2], machineKey: 1 }), ESM_REASON.NO_LOCKBOX!);
});

test('a blob authorized for three machines boots on each of them', () => {
  const keys = [0, 1, 2, 3];
  for (const machineKey of [1, 2, 3]) {
    const r = boot({ keys, machineKey });
    assert.equal(r.out.secure, true, `machine ${machineKey}: ${r.log.join('\n')}`);
    assert.deepEqual(r.uv.svms.get(LPID)!.fingerprint, fingerprintOfPem(testKey(machineKey).pub));
  }
  // Control: opening a fixed "lockbox-1", as the public ultravisor does, serves one of them only.
  const r = makeRig({ keys });
  const lb1 = [...lockboxes(parseEsmBlob(r.image.blob))].find((l) => l.name === 'lockbox-1')!;
  const served = [1, 2, 3].filter((k) => Buffer.from(lb1.fingerprint).equals(Buffer.from(fingerprintOfPem(testKey(k).pub))));
  assert.equal(served.length, 1);
});

test('digests sealed under another key fail as DIGESTS_CORRUPT', () => {
  const r = boot({
    mutateBlob: (b) => setDigests(parseEsmBlob(b), newSymkey(), computeDigests({ kernelImage: new Uint8Array(1), initramfs: new Uint8Array(0), bootargs: '' })),
  });
  assertAborted(r, ESM_REASON.DIGESTS_CORRUPT!);
});

test('the TPM refusing to unwrap fails as TPM_REFUSED', () => {
  assertAborted(boot({ wrongAuth: true }), ESM_REASON.TPM_REFUSED!);
});

test('no blob anywhere fails as NO_BLOB', () => {
  assertAborted(boot({ noBlob: true }), ESM_REASON.NO_BLOB!);
});

test('a hypervisor refusing H_SVM_INIT_START fails as HV_REFUSED', () => {
  const r = makeRig();
  r.hv.hooks.refuseInitStart = true;
  r.run();
  assert.equal(r.out.esmRc, H.H_PARAMETER);
  assert.equal(r.out.reason, ESM_REASON.HV_REFUSED);
});

test('not enough secure memory for the VM fails as NO_SECURE_MEMORY', () => {
  assertAborted(boot({ secure: 8 << 20 }), ESM_REASON.NO_SECURE_MEMORY!);
});

test('a device tree address with no device tree fails as BAD_FDT', () => {
  const r = makeRig();
  r.vm.spec.r3 = BigInt(LAYOUT.kbase + 0x10000);
  r.run();
  assert.equal(r.out.esmRc, H.H_PARAMETER);
  assert.equal(r.out.reason, ESM_REASON.BAD_FDT);
});

test('the failure reason names no secret: the trace event carries only the code and its text', () => {
  const r = makeRig({ tamper: 'kernel' });
  const rec = r.m.trace.record((e) => e.kind === 'uv-esm');
  r.run();
  rec.stop();
  const failed = rec.events.find((e) => e.result === 'failed')!;
  assert.equal(failed.reason, ESM_REASON.KERNEL_MISMATCH);
  assert.equal(failed.text, 'kernel digest mismatch');
  const json = JSON.stringify(rec.events);
  assert.equal(/[0-9a-f]{64}/i.test(json), false, 'no digest or key material in the trace');
});

test('H_SVM_INIT_ABORT is made in the VM\'s own non-secure context', () => {
  const r = boot({ tamper: 'bootargs' });
  assert.equal(r.hv.aborts.length, 1);
  const { srr1 } = r.hv.aborts[0]!;
  assert.equal(srr1 & (1n << 22n), 0n, 'SRR1 without MSR[S]');
  assert.equal((srr1 >> 20n) & 3n, 1n, 'a hypercall (sc 1) as far as the hypervisor can tell');
  assert.equal(r.out.esmRc, H.H_PARAMETER, 'the VM resumed at that SRR0 with H_PARAMETER');
});

function manyLockboxes(n: number, index = true) {
  return (b: Uint8Array) => applyEsmEdit(parseEsmBlob(b), {
    addLockboxes: Array.from({ length: n }, (_, i) => ({ number: 1000 + n - i, comment: `machine ${i}`, fingerprint: new Uint8Array(randomBytes(32)), encryptedSymkey: new Uint8Array(randomBytes(256)) })),
    index,
  });
}

function esmPageIns(o: RigOptions) {
  const r = makeRig({ vmMem: 32 << 20, ...o });
  const rec = r.m.trace.record((e) => e.kind === 'uv-hcall' && e.context === 'UV_ESM' && e.name === 'H_SVM_PAGE_IN');
  r.run();
  rec.stop();
  return { r, pageIns: rec.events.length };
}

test('a blob for 15,000 machines: with its index only a few of its pages are read before H_SVM_INIT_DONE; without, all (control)', () => {
  const withIndex = esmPageIns({ keys: [1, 0], mutateBlob: manyLockboxes(15000) });
  assert.equal(withIndex.r.out.secure, true, withIndex.r.log.join('\n'));
  const blobPages = Math.ceil(withIndex.r.image.blob.length / 65536);
  assert.ok(blobPages >= 80, `${blobPages} pages of blob`);
  const noIndex = esmPageIns({ keys: [1, 0], mutateBlob: manyLockboxes(15000, false) });
  assert.equal(noIndex.r.out.secure, true, noIndex.r.log.join('\n'));
  assert.ok(noIndex.pageIns >= blobPages, `${noIndex.pageIns} page-ins without the index`);
  assert.ok(withIndex.pageIns < noIndex.pageIns - blobPages / 2, `${withIndex.pageIns} page-ins with the index`);
});

test('a large blob whose index points at the wrong lockbox is still read safely: this machine is found, or the ESM fails closed', () => {
  const { r } = esmPageIns({
    keys: [1, 0],
    mutateBlob: (b) => {
      const big = manyLockboxes(15000)(b);
      // Scribble over the index entries (the property's value is in the struct block after its name).
      const out = big.slice();
      const at = Buffer.from(out).indexOf(Buffer.from('PLBX'));
      for (let i = at + 40; i < at + 40 + 12 * 2000; i++) out[i] = out[i]! ^ 0x5a;
      return out;
    },
  });
  assert.ok(r.out.secure === true || r.out.reason === ESM_REASON.NO_LOCKBOX || r.out.reason === ESM_REASON.MALFORMED_BLOB, r.log.join('\n'));
});
