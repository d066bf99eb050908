// The guest's root disk and devices in secure mode: the LUKS2 root opens only with the
// passphrase the ESM blob carries, and a secure guest refuses devices that would need to
// reach its memory directly (no VIRTIO_F_ACCESS_PLATFORM).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bootSystem, cleanup, createVm, luksDisk, makeMachine, modelImage, svmImage } from '../hypervisor/system.js';

let A: { dir: string; pem: Uint8Array };
before(async () => { A = await makeMachine({ cpus: 2 }); });
after(cleanup);

const img = () => modelImage({ init: 'echo root mounted\nexit 0\n' });
const panic = (vm: { exit?: unknown }) => (vm.exit as { message?: string } | undefined)?.message ?? '';

test('the root opens with the ESM passphrase; a wrong one or none ends in a kernel panic that says why', async () => {
  const sys = bootSystem(A.dir);
  try {
    const good = createVm(sys, 'good', svmImage(img(), { pems: [A.pem] }));
    const wrong = svmImage(img(), { pems: [A.pem], passphrase: 'right one' });
    const bad = createVm(sys, 'bad', { ...wrong, disk: luksDisk(wrong.tar, 'another one') });
    const none = createVm(sys, 'none', svmImage(img(), { pems: [A.pem], files: [] }));
    const plainVm = img();
    const normal = createVm(sys, 'normal', { ...plainVm, disk: luksDisk(plainVm.tar, 'x') }, { secureGuest: false });
    await sys.run();
    assert.deepEqual(good.exit, { kind: 'power-off' });
    assert.ok(good.console.includes('root mounted'));
    assert.match(panic(bad), /VFS: cannot open the encrypted root vda: .*no keyslot accepts the passphrase/);
    assert.match(panic(none), /LUKS2-encrypted and no passphrase is attached to the ESM blob \(rootd\)/);
    assert.match(panic(normal), /LUKS2-encrypted and no passphrase/, 'a normal VM has no ESM blob to ask');
    assert.ok(!normal.console.includes('root mounted'));
  } finally { sys.close(); }
});

test('a secure guest refuses virtio devices without VIRTIO_F_ACCESS_PLATFORM; a normal guest takes them (control)', async () => {
  const sys = bootSystem(A.dir);
  try {
    const svm = createVm(sys, 'svm', svmImage(img(), { pems: [A.pem] }), { iommuPlatform: false });
    const vm = createVm(sys, 'vm', img(), { secureGuest: false, iommuPlatform: false });
    await sys.run();
    assert.ok(svm.console.some((l) => l.endsWith('probe failed: device lacks VIRTIO_F_ACCESS_PLATFORM: refused in a secure guest')), svm.console.join('\n'));
    assert.match(panic(svm), /No working init found/, 'without its root disk the SVM finds no /init');
    assert.ok(!svm.console.includes('root mounted'));
    assert.deepEqual(vm.exit, { kind: 'power-off' });
    assert.ok(vm.console.includes('root mounted'));
  } finally { sys.close(); }
});
