// 8. Inject an interrupt at an invalid vector. The hypervisor injects an interrupt into an SVM
// by putting a vector in HSRR0 (and the SRR1 to give in R2) at UV_RETURN; the ultravisor
// delivers only the vectors a guest kernel owns. The compromised hypervisor tries, on
// successive UV_RETURNs, vectors that are not the guest's (hypervisor-class HDSI, HDEC and
// HV facility unavailable; a misaligned vector; one past the vector area) and plain
// addresses in the SVM's kernel, to make the SVM jump where it chooses. Each must be ignored:
// the SVM resumes where it was, nothing is injected, and it runs on. Control: a second SVM on
// the same machine gets a valid vector (0x500, external) the same way, and the ultravisor
// delivers it into its kernel.

import type { Cpu } from '../../hw/cpu/cpu.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { UV } from '../../abi/ultracalls.js';
import { KERNEL_LOAD_ADDR } from '../../image/kernel.js';
import { verdict, type AttackScenario } from '../types.js';
import type { Gen, Tamper } from '../malicious.js';
import { ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';

const INVALID = [0xE00, 0x980, 0xF80, 0x504, 0x2100, KERNEL_LOAD_ADDR, KERNEL_LOAD_ADDR + 0x40];
const VALID = 0x500;

export const scenario: AttackScenario = {
  name: 'inject-invalid-vector',
  number: 8,
  tried: `inject interrupts into the SVM at vectors it does not own (${INVALID.map((v) => hex(v)).join(', ')}) through HSRR0 at UV_RETURN`,
  async run(ctx) {
    const cs = ctx.canary('svm'), cc = ctx.canary('ctl');
    const sys = ctx.boot({ canaries: [cs, cc] });
    const lpidOf = (n: string) => sys.hv.vms.find((v) => v.name === n)?.lpid;
    const tried: { vector: number; at: number }[] = [];
    let ctl: { at: number } | undefined;
    const tamper: Tamper = {
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_RETURN || (cpu.mfspr(SPR.HSRR1!) & MSR.S) === 0n) return undefined;
        let vector: number | undefined;
        if (cpu.lpid === lpidOf('svm') && cs.report.pc !== undefined && tried.length < INVALID.length) {
          vector = INVALID[tried.length]!;
          tried.push({ vector, at: sys.events.length });
        } else if (cpu.lpid === lpidOf('ctl') && cc.report.pc !== undefined && !ctl) {
          vector = VALID;
          ctl = { at: sys.events.length };
        }
        if (vector === undefined) return undefined;
        cpu.mtspr(SPR.HSRR0!, BigInt(vector));
        cpu.regs.setGpr(2, cpu.mfspr(SPR.HSRR1!));
        return (function* (): Gen { yield { op: 'sc', lev: 2 }; })();
      },
    };
    sys.malicious.tampers.push(tamper);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const c = sys.createVm('ctl', ctx.svm(cc));
      await sys.runToEnd();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const injected = tried.length ? sys.events.slice(tried[0]!.at).filter((e) => e.kind === 'uv-inject' && e.lpid === svm.lpid) : [];
      const boots = svm.console.filter((l) => l.startsWith('Linux version')).length;
      const ran = tried.length === INVALID.length;
      const leaked = injected.length > 0 || boots > 1 || sys.watch.of(cs.id).length > 0;
      const ctlInjected = ctl ? sys.events.slice(ctl.at).find((e) => e.kind === 'uv-inject' && e.lpid === c.lpid && e.vector === VALID) : undefined;
      const ctlSaw = c.console.find((l) => l.includes(`unexpected interrupt at ${hex(VALID)}`));
      const controlOk = ran && !!ctlInjected && !!ctlSaw;
      const evidence = tried.length === 0
        ? 'the attack never ran'
        : `${tried.length} UV_RETURNs with HSRR0 = ${tried.map((t) => hex(t.vector)).join(', ')}: ` +
          `${injected.length ? `INJECTED: ${injected.map((e) => hex(e.vector as number)).join(', ')}` : 'the ultravisor injected none (no inject event) and resumed the SVM where it was'}; ` +
          `the SVM booted ${boots} time${boots === 1 ? '' : 's'} and ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: HSRR0 = ${hex(VALID)} at a UV_RETURN of the second SVM: ${ctlInjected ? 'the ultravisor injected it' : 'not injected'}, its kernel said "${ctlSaw ?? 'nothing'}"`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
