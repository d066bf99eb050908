// 2. Write an SVM page in secure memory. The compromised hypervisor aims at the frame holding
// the SVM's memory canary and writes its own pattern there every way hypervisor-mode software
// can (a fill, a store in hypervisor mode, a bulk copy, the host port, the frame's address
// without the secure bit), then writes into every secure frame. Afterwards the pattern must be
// in no secure frame and the canary page must hold the canary still. Control: the same writes
// into the normal VM's canary page land.

import { randomBytes } from 'node:crypto';
import { FRAME_SIZE, SECURE_BIT } from '../../hw/memory.js';
import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Machine } from '../../hw/machine.js';
import { verdict, type AttackScenario } from '../types.js';
import { attempt, ending, hex, locate, poweredOff, readCanaryIntact, shortWhy, strikeOnce } from '../helpers.js';

export function writeEveryWay(cpu: Cpu, m: Machine, ra: number, pattern: Uint8Array): { lines: string[]; landed: number } {
  const tries: [string, () => void][] = [
    ['fill', () => m.host.fill(ra, pattern.length, 0x41)],
    ['hypervisor store', () => cpu.store64(ra, new DataView(pattern.buffer, pattern.byteOffset).getBigUint64(0, true))],
    ['bulk copy', () => cpu.write(ra, pattern)],
    ['host port', () => m.host.write(ra, pattern)],
    ...(ra >= SECURE_BIT ? [[`alias ${hex(ra - SECURE_BIT)}`, () => m.host.write(ra - SECURE_BIT, pattern)] as [string, () => void]] : []),
  ];
  let landed = 0;
  const lines = tries.map(([what, f]) => {
    const r = attempt(f);
    if (r.ok) landed++;
    return `${what}: ${r.ok ? 'written' : shortWhy(r.why)}`;
  });
  return { lines, landed };
}

export const scenario: AttackScenario = {
  name: 'write-secure-page',
  number: 2,
  tried: "write the SVM's page in secure memory directly (store, bulk copy, host port, fill, address without the secure bit, every secure frame)",
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const pattern = new Uint8Array(randomBytes(64));
    const sys = ctx.boot({ canaries: [cs, cv] });
    const m = sys.machine;
    const find = (n: Uint8Array) => m.findInAllMemory(n);
    const f: { svm?: { lines: string[]; landed: number }; vm?: { lines: string[]; landed: number }; svmRa?: number; vmRa?: number; swept: number; sweptLanded: number; intact?: boolean; inSecure?: number; vmHolds?: boolean } = { swept: 0, sweptLanded: 0 };
    const strike = strikeOnce(() => cs.report.pc !== undefined, (cpu) => {
      const s = locate(find, cs.memory);
      f.svmRa = s?.ra;
      if (!s) return;
      f.svm = writeEveryWay(cpu, m, s.ra, pattern);
      for (const r of m.secureRanges()) {
        for (let a = r.start; a < r.start + r.size; a += FRAME_SIZE) {
          f.swept++;
          if (attempt(() => m.host.write(a, pattern)).ok) f.sweptLanded++;
        }
      }
      f.intact = find(cs.memory).some((h) => h.ra === s.ra);
      f.inSecure = find(pattern).filter((h) => h.secure).length;
    });
    const control = strikeOnce(() => cv.report.pc !== undefined, (cpu) => {
      const v = locate(find, cv.memory);
      f.vmRa = v?.ra;
      if (!v) return;
      f.vm = writeEveryWay(cpu, m, v.ra, pattern.subarray(0, 32));
      f.vmHolds = find(pattern.subarray(0, 32)).some((h) => !h.secure && h.ra === v.ra);
    });
    sys.malicious.tampers.push(strike, control);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const ran = !!f.svm;
      const leaked = ran && (f.svm!.landed > 0 || f.sweptLanded > 0 || f.intact !== true || (f.inSecure ?? 1) > 0 || sys.watch.of(cs.id).length > 0);
      const controlOk = ran && !!f.vm && f.vm.landed > 0 && f.vmHolds === true && poweredOff(vm);
      const evidence = !f.svm
        ? `the attack never found its target (fired: ${strike.fired})`
        : `SVM canary page at ${hex(f.svmRa!)}: ${f.svm.lines.join('; ')}; ${f.swept} secure frames written to, ${f.sweptLanded} accepted; ` +
          `the pattern is in ${f.inSecure} secure frames and the canary page ${f.intact ? 'still holds the canary' : 'CHANGED'}; SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: the normal VM's canary page at ${f.vmRa === undefined ? '?' : hex(f.vmRa)}: ${f.vm?.lines.join('; ') ?? 'not found'}; it ${f.vmHolds ? 'now holds the pattern' : 'does not hold the pattern'}`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
