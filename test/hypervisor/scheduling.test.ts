// vCPUs of several VMs on one hardware thread: the hypervisor switches between them at
// H_CONFER (the guest's voluntary preemption points) and at HDEC, saving and restoring each
// one's registers and SPRs, so their work interleaves and each still computes correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareSystem, createVm, modelImage } from './system.js';

test('two VMs on one hardware thread interleave and both finish correctly', async () => {
  const order: string[] = [];
  const sys = bareSystem({ cpus: 1, hv: { onConsole: (vm, line) => order.push(`${vm.name}: ${line}`) } });
  const lpids: number[] = [];
  sys.machine.trace.subscribe((e) => { if (e.kind === 'hrfid' && e.to !== 'hypervisor') lpids.push(Number((e.regs as { lpid: number }).lpid)); });
  const mk = (n: string) => createVm(sys, n, modelImage({ init: `echo ${n} done\nexit 0\n`, bootargs: 'console=hvc0 pef.memtest=8' }), { secureGuest: false });
  const a = mk('a');
  const b = mk('b');
  await sys.run();
  for (const v of [a, b]) {
    assert.deepEqual(v.exit, { kind: 'power-off' });
    assert.ok(v.console.includes('memtest: 8 MiB written and verified'), `${v.name}'s memory test passed with the other VM switching in and out`);
  }
  const first = (s: string) => order.indexOf(s);
  assert.ok(first('b: Linux version 1-pef-linux (pef-linux) #1 SMP pef model') < first('a: memtest: 8 MiB written and verified'), 'b booted while a was still in its memory test');
  let switches = 0;
  for (let i = 1; i < lpids.length; i++) if (lpids[i] !== lpids[i - 1]) switches++;
  assert.ok(switches >= 10, `the thread switched between the VMs ${switches} times`);
});
