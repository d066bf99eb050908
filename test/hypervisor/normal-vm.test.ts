// A normal VM end to end on the real ultravisor: the model kernel boots from the image, /init
// runs in problem state with sc 0 system calls, and the VM's memory comes and goes with it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bareSystem, cleanup, createVm, modelImage } from './system.js';

after(cleanup);

const motd = 'Welcome to the PEF model\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('a normal VM boots, runs /init through system calls, and powers off', async () => {
  const sys = bareSystem();
  const vm = createVm(sys, 'vm1', modelImage({
    init: 'echo hello from init\nstatus\ncat /etc/motd\nsha256 /etc/motd\nwrite /tmp/note written at run time\ncat /tmp/note\nexit 0\n',
    files: [{ path: 'etc', type: 'dir' }, { path: 'etc/motd', data: motd }],
  }), { secureGuest: false });
  const r = await sys.run();
  assert.equal(r.reason, 'done');
  assert.deepEqual(vm.exit, { kind: 'power-off' });
  const user = vm.console.slice(vm.console.indexOf('Run /init as init process') + 1);
  assert.deepEqual(user, [
    'hello from init',
    'status: running as a normal VM (not secure)',
    'Welcome to the PEF model',
    `${sha(motd)}  /etc/motd`,
    'written at run time',
    'reboot: Power down',
  ]);
  assert.ok(vm.console.some((l) => /virtio_blk \[vda\]/.test(l)), 'the root disk came through virtio-blk');
});

test('init from the initramfs when there is no root disk', async () => {
  const sys = bareSystem();
  const vm = createVm(sys, 'vm1', modelImage({ init: 'echo from the initramfs\nexit 0\n', initInInitramfs: true, noDisk: true }), { secureGuest: false });
  await sys.run();
  assert.deepEqual(vm.exit, { kind: 'power-off' });
  assert.ok(vm.console.includes('from the initramfs'));
});

test('a non-zero exit of init is a kernel panic, reported with ibm,os-term', async () => {
  const sys = bareSystem();
  const vm = createVm(sys, 'vm1', modelImage({ init: 'echo about to fail\nexit 3\n' }), { secureGuest: false });
  await sys.run();
  assert.equal(vm.exit?.kind, 'os-term');
  assert.match((vm.exit as { message: string }).message, /Attempted to kill init! exitcode=0x00000300 .*exited with status 3/);
});

test('a failing command stops the script with status 1 and says why', async () => {
  const sys = bareSystem();
  const vm = createVm(sys, 'vm1', modelImage({ init: 'echo one\ncat /nope\necho never\n' }), { secureGuest: false });
  await sys.run();
  assert.ok(vm.console.includes('init: line 3: /nope: No such file or directory'), vm.console.join('\n'));
  assert.ok(!vm.console.includes('never'));
  assert.match((vm.exit as { message: string }).message, /exitcode=0x00000100/);
});

test('no init: the kernel panics naming the path', async () => {
  const sys = bareSystem();
  const img = modelImage({ files: [{ path: 'etc', type: 'dir' }] });
  img.disk = modelImage({ init: '', files: [{ path: 'bin', type: 'dir' }] }).disk; // a disk whose /init is empty
  const vm = createVm(sys, 'vm1', { ...img, bootargs: 'console=hvc0 init=/sbin/init' }, { secureGuest: false });
  await sys.run();
  assert.match((vm.exit as { message: string }).message, /No working init found \(\/sbin\/init: No such file or directory\)/);
});

test('guest memory is mapped on first touch and comes back zeroed when the VM is gone', async () => {
  const sys = bareSystem();
  const secret = 'NORMAL-VM-CANARY-7f3e9a';
  const before = sys.hv.pool.inUse;
  const vm = createVm(sys, 'vm1', modelImage({ init: 'sha256 /secret\nexit 0\n', files: [{ path: 'secret', data: secret }] }), { secureGuest: false });
  const needle = new TextEncoder().encode(secret);
  let seen = false;
  await sys.run({ until: () => { if (!seen && vm.console.some((l) => l.endsWith('/secret'))) { seen = sys.machine.findInAllMemory(needle).length > 0; } return false; } });
  assert.ok(seen, 'while it ran, the file was in the VM (normal) memory: the scan can find it');
  assert.ok(vm.tornDown, 'the run ends once the hypervisor has released the VM');
  assert.equal(sys.hv.pool.inUse, before, 'every frame went back');
  assert.deepEqual(sys.machine.findInAllMemory(needle), [], 'and nothing of it is left in memory');
  assert.ok(vm.pages.size === 0);
});
