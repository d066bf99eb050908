// 3. DMA into an SVM page. A device under the compromised hypervisor's control writes into the
// frame holding the SVM's memory canary (and its address without the secure bit, and every
// secure frame) and reads it back; the hypervisor also points the SVM's own virtio device at
// a page the SVM did not share. Control: the same DMA into the normal VM's canary page lands.

import { randomBytes } from 'node:crypto';
import { FRAME_SIZE, SECURE_BIT } from '../../hw/memory.js';
import type { Machine } from '../../hw/machine.js';
import { verdict, type AttackScenario } from '../types.js';
import { attempt, ending, hex, locate, poweredOff, readCanaryIntact, shortWhy, strikeOnce } from '../helpers.js';

function dmaEveryWay(m: Machine, ra: number, pattern: Uint8Array): { lines: string[]; landed: number; read: number } {
  let landed = 0, read = 0;
  const tries: [string, () => unknown, boolean][] = [
    ['DMA write', () => m.dma.write(ra, pattern), true],
    ['DMA read', () => m.dma.read(ra, pattern.length), false],
    ...(ra >= SECURE_BIT ? [[`DMA write to alias ${hex(ra - SECURE_BIT)}`, () => m.dma.write(ra - SECURE_BIT, pattern), true] as [string, () => unknown, boolean]] : []),
  ];
  const lines = tries.map(([what, f, write]) => {
    const r = attempt(f);
    if (r.ok) { if (write) landed++; else read++; }
    return `${what}: ${r.ok ? 'done' : shortWhy(r.why)}`;
  });
  return { lines, landed, read };
}

export const scenario: AttackScenario = {
  name: 'dma-secure-page',
  number: 3,
  tried: "DMA into the SVM's page in secure memory (and out of it, through its address without the secure bit, into every secure frame, and through the SVM's own virtio device)",
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const pattern = new Uint8Array(randomBytes(64));
    const sys = ctx.boot({ canaries: [cs, cv] });
    const m = sys.machine;
    const find = (n: Uint8Array) => m.findInAllMemory(n);
    const f: { svm?: ReturnType<typeof dmaEveryWay>; vm?: ReturnType<typeof dmaEveryWay>; svmRa?: number; vmRa?: number; device?: string; swept: number; sweptLanded: number; intact?: boolean; inSecure?: number; vmHolds?: boolean } = { swept: 0, sweptLanded: 0 };
    const strike = strikeOnce(() => cs.report.pc !== undefined, (cpu) => {
      const s = locate(find, cs.memory);
      f.svmRa = s?.ra;
      if (!s) return;
      f.svm = dmaEveryWay(m, s.ra, pattern);
      for (const r of m.secureRanges()) {
        for (let a = r.start; a < r.start + r.size; a += FRAME_SIZE) {
          f.swept++;
          if (attempt(() => m.dma.write(a, pattern)).ok) f.sweptLanded++;
        }
      }
      // The SVM's own device, told to write where the canary page is in the guest's space.
      const vm = sys.hv.vmByLpid(cpu.lpid) ?? sys.hv.vms.find((v) => v.name === 'svm');
      if (vm && cs.report.memoryGpa !== undefined) {
        const r = attempt(() => sys.hv.dmaFor(vm).write(cs.report.memoryGpa!, pattern));
        f.device = r.ok ? 'written' : r.why;
      }
      f.intact = find(cs.memory).some((h) => h.ra === s.ra);
      f.inSecure = find(pattern).filter((h) => h.secure).length;
    });
    const control = strikeOnce(() => cv.report.pc !== undefined, () => {
      const v = locate(find, cv.memory);
      f.vmRa = v?.ra;
      if (!v) return;
      f.vm = dmaEveryWay(m, v.ra, pattern.subarray(0, 32));
      f.vmHolds = find(pattern.subarray(0, 32)).some((h) => !h.secure && h.ra === v.ra);
    });
    sys.malicious.tampers.push(strike, control);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const ran = !!f.svm;
      const leaked = ran && (f.svm!.landed > 0 || f.svm!.read > 0 || f.sweptLanded > 0 || f.device === 'written' || f.intact !== true || (f.inSecure ?? 1) > 0 || sys.watch.of(cs.id).length > 0);
      const controlOk = ran && !!f.vm && f.vm.landed > 0 && f.vm.read > 0 && f.vmHolds === true && poweredOff(vm);
      const evidence = !f.svm
        ? `the attack never found its target (fired: ${strike.fired})`
        : `SVM canary page at ${hex(f.svmRa!)}: ${f.svm.lines.join('; ')}; ${f.swept} secure frames DMA-written, ${f.sweptLanded} accepted; ` +
          `its virtio device at guest ${hex(cs.report.memoryGpa ?? 0)}: ${f.device ?? 'not tried'}; the pattern is in ${f.inSecure} secure frames and the canary page ${f.intact ? 'still holds the canary' : 'CHANGED'}; ` +
          `SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: the normal VM's canary page at ${f.vmRa === undefined ? '?' : hex(f.vmRa)}: ${f.vm?.lines.join('; ') ?? 'not found'}; it ${f.vmHolds ? 'now holds the pattern' : 'does not hold the pattern'}`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
