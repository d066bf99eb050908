// 13. Answer H_RANDOM with chosen values. The guest kernel seeds each program it starts
// (AT_RANDOM) from H_RANDOM. The compromised hypervisor answers every H_RANDOM it receives
// with a value of its choosing, and looks for that value in memory while each VM's /init
// runs. For an SVM the ultravisor answers H_RANDOM itself from the hardware RNG (darn): the
// calls never reach the hypervisor and the chosen value is nowhere. Control: the normal VM's
// calls reach the hypervisor, and its program's AT_RANDOM holds the chosen value.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Flow } from '../../hw/cpu/software.js';
import { MSR } from '../../abi/msr.js';
import { HC } from '../../abi/hcalls.js';
import { SPR } from '../../abi/spr.js';
import { UV } from '../../abi/ultracalls.js';
import type { Vm } from '../../hypervisor/index.js';
import { verdict, type AttackScenario } from '../types.js';
import type { Gen, Tamper } from '../malicious.js';
import { ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';

/** "CHOSEN!!" */
const CHOSEN = 0x43484f53454e2121n;
const chosenBytes = (() => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, CHOSEN); return b; })();

export const scenario: AttackScenario = {
  name: 'chosen-h-random',
  number: 13,
  tried: `answer every H_RANDOM with a chosen value (${hex(CHOSEN)}) to control the SVM's randomness`,
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const found = new Map<string, { secure: number; normal: number }>();
    const answered = new Map<number, number>();
    const sys = ctx.boot({
      canaries: [cs, cv],
      hv: {
        // While /init runs (it has just read its canary), look for the chosen value everywhere.
        onConsole: (vm: Vm, line: string) => {
          if (line !== 'canary read') return;
          const hits = sys.machine.findInAllMemory(chosenBytes);
          found.set(vm.name, { secure: hits.filter((h) => h.secure).length, normal: hits.filter((h) => !h.secure).length });
        },
      },
    });
    const asked: { secure: boolean }[] = [];
    const unsubscribe = sys.machine.trace.subscribe((e) => {
      if (e.kind === 'sc' && e.lev === 1 && e.regs?.r3 === hex(HC.H_RANDOM)) asked.push({ secure: String(e.from).startsWith('secure') });
    });
    let reflected = false;
    const tamper: Tamper = {
      entry(cpu: Cpu, vector: number): Flow | undefined {
        if (vector !== 0xC00 || cpu.regs.getGpr(3) !== BigInt(HC.H_RANDOM)) return undefined;
        const srr1 = cpu.mfspr(SPR.SRR1!);
        if ((srr1 & MSR.HV) !== 0n) return undefined;
        answered.set(cpu.lpid, (answered.get(cpu.lpid) ?? 0) + 1);
        if ((srr1 & MSR.S) !== 0n) { reflected = true; return undefined; } // the UV_RETURN below answers it
        // A normal guest: answer at once, as a fast path in the hypervisor would.
        return (function* (): Flow {
          cpu.regs.setGpr(3, 0n);
          cpu.regs.setGpr(4, CHOSEN);
          cpu.mtspr(SPR.HSRR0!, cpu.mfspr(SPR.SRR0!));
          cpu.mtspr(SPR.HSRR1!, srr1);
          yield { op: 'hrfid' };
        })();
      },
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_RETURN || !reflected) return undefined;
        reflected = false;
        cpu.regs.setGpr(0, 0n);
        cpu.regs.setGpr(4, CHOSEN);
        return undefined;
      },
    };
    sys.malicious.tampers.push(tamper);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      unsubscribe();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const svmAsked = asked.filter((a) => a.secure).length;
      const svmAnswered = answered.get(svm.lpid) ?? 0;
      const vmAnswered = answered.get(vm.lpid) ?? 0;
      const fs = found.get('svm'), fv = found.get('vm');
      const leaked = svmAnswered > 0 || (!!fs && fs.secure + fs.normal > 0) || sys.watch.of(cs.id).length > 0;
      const controlOk = !!fs && vmAnswered > 0 && !!fv && fv.normal > 0 && poweredOff(vm);
      const evidence = !fs
        ? `the SVM never reached its /init (${ending(svm)})`
        : `the SVM's kernel made ${svmAsked} H_RANDOM calls; ${svmAnswered} reached the hypervisor (the ultravisor answered from darn); ` +
          `while its /init ran the chosen value was in ${fs.secure} secure and ${fs.normal} normal frames; the SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: ${vmAnswered} of the normal VM's H_RANDOM calls answered with the chosen value; while its /init ran the value was in ${fv?.normal ?? 0} normal frames (its AT_RANDOM)`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
