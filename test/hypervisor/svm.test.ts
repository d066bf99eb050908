// SVMs on a machine booted by firmware with its TPM and the real ultravisor: the guest asks
// for secure mode, the hypervisor answers the transition, the SVM runs from a LUKS2 root with
// the passphrase from its ESM blob; failures name their reason; a reset goes secure again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { H } from '../../src/abi/retcodes.js';
import { DmaRefused } from '../../src/hypervisor/virtio/queue.js';
import { generateRsaKeyPair } from '../../src/esm/index.js';
import { bootSystem, cleanup, createVm, makeMachine, modelImage, svmImage, type System } from './system.js';

let A: { dir: string; pem: Uint8Array; fingerprint: string };
before(async () => { A = await makeMachine({ cpus: 2 }); });
after(cleanup);

const secretFile = 'top secret, for the SVM only\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const base = () => modelImage({
  init: 'echo hello from the secure side\nstatus\nsha256 /etc/secret\nexit 0\n',
  files: [{ path: 'etc', type: 'dir' }, { path: 'etc/secret', data: secretFile }],
});

function withSystem(f: (s: System) => Promise<void>) {
  return async () => { const s = bootSystem(A.dir); try { await f(s); } finally { s.close(); } };
}

test('an SVM boots secure, says so with its machine key, and reads its LUKS2 root with the ESM passphrase', withSystem(async (sys) => {
  const hcalls: { name: string; rc?: number }[] = [];
  sys.machine.trace.subscribe((e) => { if (e.kind === 'hcall') hcalls.push(e as never); });
  const vm = createVm(sys, 'svm1', svmImage(base(), { pems: [A.pem] }));
  let states: string[] = [];
  const r = await sys.run({ until: () => { if (states.length === 0 && vm.console.some((l) => l.endsWith('/etc/secret'))) states = [...vm.pages.values()].map((p) => p.state); return false; } });
  assert.equal(r.reason, 'done');
  assert.deepEqual(vm.exit, { kind: 'power-off' });
  assert.equal(vm.secureEntries, 1);
  assert.ok(vm.console.includes(`svm: machine key fingerprint ${A.fingerprint}`), vm.console.join('\n'));
  assert.ok(vm.console.includes(`status: running secure (PEF SVM) under machine key ${A.fingerprint}`));
  assert.ok(vm.console.includes(`${sha(secretFile)}  /etc/secret`));
  assert.ok(vm.console.some((l) => l.startsWith('device-mapper: crypt: vda opened')));
  // The transition as the hypervisor answered it.
  const names = hcalls.map((h) => h.name);
  assert.ok(names.indexOf('H_SVM_INIT_START') < names.indexOf('H_SVM_INIT_DONE'));
  assert.ok(hcalls.filter((h) => h.name.startsWith('H_SVM')).every((h) => h.rc === H.H_SUCCESS));
  // While it ran, the hypervisor held no plaintext page of it: only shared ones (the SVM's choice) and secure ones.
  assert.ok(states.length > 0 && states.every((s) => s === 'shared' || s === 'secure'), states.join(','));
  assert.ok(states.includes('shared'));
}));

test('without the secure-guest capability, H_SVM_INIT_START answers H_AUTHORITY and the guest reports the failed UV_ESM', withSystem(async (sys) => {
  const rcs: number[] = [];
  sys.machine.trace.subscribe((e) => { if (e.kind === 'hcall' && e.name === 'H_SVM_INIT_START') rcs.push(e.rc as number); });
  const vm = createVm(sys, 'svm1', svmImage(base(), { pems: [A.pem] }), { secureGuest: false });
  await sys.run();
  assert.deepEqual(rcs, [H.H_AUTHORITY]);
  assert.deepEqual(vm.exit, { kind: 'os-term', message: 'UV_ESM failed: the hypervisor refused or failed the transition' });
  assert.equal(vm.secureEntries, 0);
}));

test('an SVM not authorized for this machine stays a normal VM and says why', withSystem(async (sys) => {
  const other = generateRsaKeyPair('').pub;
  const vm = createVm(sys, 'svm1', svmImage(base(), { pems: [other] }));
  await sys.run();
  assert.deepEqual(vm.exit, { kind: 'os-term', message: "UV_ESM failed: no lockbox for this machine's key" });
  assert.ok(vm.console.includes("UV_ESM failed: no lockbox for this machine's key"));
  assert.equal(vm.svm, 'normal');
}));

test('a tampered kernel fails the integrity check', withSystem(async (sys) => {
  const img = svmImage(base(), { pems: [A.pem] });
  const kernel = img.kernel.slice();
  kernel[kernel.length - 10]! ^= 0x40;
  const vm = createVm(sys, 'svm1', { ...img, kernel });
  await sys.run();
  assert.deepEqual(vm.exit, { kind: 'os-term', message: 'UV_ESM failed: kernel digest mismatch' });
}));

test('an SVM goes secure, is reset, and goes secure again', withSystem(async (sys) => {
  const vm = createVm(sys, 'svm1', svmImage(modelImage({ init: 'echo up\nstatus\nexit 0\n' }), { pems: [A.pem] }));
  let asked = false;
  await sys.run({
    until: () => {
      if (!asked && vm.secureEntries === 1 && vm.console.includes('up')) { asked = true; sys.hv.request(vm, 'reset'); }
      return false;
    },
  });
  assert.ok(asked);
  assert.equal(vm.resets, 1);
  assert.equal(vm.secureEntries, 2, 'the same VM went secure a second time');
  assert.deepEqual(vm.exit, { kind: 'power-off' });
  const secureLines = vm.console.filter((l) => l === `svm: machine key fingerprint ${A.fingerprint}`);
  assert.equal(secureLines.length, 2);
  assert.equal(sys.uv.svms.size, 0, 'and the ultravisor forgot it when it went away');
}));

test('the devices of an SVM reach only the pages it shared', withSystem(async (sys) => {
  const vm = createVm(sys, 'svm1', svmImage(base(), { pems: [A.pem] }));
  let checked = false;
  await sys.run({
    until: () => {
      if (checked || !vm.console.includes('hello from the secure side')) return false;
      checked = true;
      const dma = sys.hv.dmaFor(vm);
      const shared = [...vm.pages.entries()].find(([, p]) => p.state === 'shared')![0];
      assert.equal(dma.read(shared * 65536, 16).length, 16, 'a shared page (the SWIOTLB pool, the VPA) is reachable');
      assert.throws(() => dma.read(0x400000, 16), DmaRefused, 'the kernel image, secure, is not');
      assert.throws(() => dma.write(0x400000, new Uint8Array(1)), DmaRefused);
      return false;
    },
  });
  assert.ok(checked);
  assert.deepEqual(vm.exit, { kind: 'power-off' });
}));

test('a normal VM and an SVM side by side on one machine', withSystem(async (sys) => {
  const svm = createVm(sys, 'svm1', svmImage(base(), { pems: [A.pem] }));
  const vm = createVm(sys, 'vm1', modelImage({ init: 'status\nexit 0\n' }), { secureGuest: false });
  await sys.run();
  assert.deepEqual(svm.exit, { kind: 'power-off' });
  assert.deepEqual(vm.exit, { kind: 'power-off' });
  assert.ok(vm.console.includes('status: running as a normal VM (not secure)'));
  assert.ok(svm.console.includes(`status: running secure (PEF SVM) under machine key ${A.fingerprint}`));
}));
