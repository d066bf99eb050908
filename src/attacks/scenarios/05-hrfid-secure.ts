// 5. Enter the SVM with hrfid setting MSR[S]. At one of the SVM's reflected hypercalls the
// compromised hypervisor does not answer with UV_RETURN: it puts the SVM's MSR (S=1) in
// HSRR1 and the SVM's kernel entry in HSRR0, sets LPIDR to the SVM's partition and executes
// hrfid. The hardware never sets S on hrfid, so the fetch walks the SVM's partition-scoped
// table (in secure memory) with S=0. The hypervisor takes the machine check that follows,
// puts the frame back and answers the hypercall properly; the SVM must run on as if nothing
// happened. Control: the same hrfid with HSRR1[S]=1 into the normal VM (at the address the
// honest hypervisor was returning to) enters it and it runs on.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Flow, Op } from '../../hw/cpu/software.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { KERNEL_LOAD_ADDR } from '../../image/kernel.js';
import type { TraceEvent } from '../../hw/trace.js';
import { verdict, type AttackScenario } from '../types.js';
import { restoreHv, saveHv, type Gen, type Tamper } from '../malicious.js';
import { ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';

const SRR1_INT_BITS = 0x783f0000n;

export const scenario: AttackScenario = {
  name: 'hrfid-sets-secure',
  number: 5,
  tried: "enter the SVM with hrfid and HSRR1[S]=1 instead of asking the ultravisor (UV_RETURN)",
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const sys = ctx.boot({ canaries: [cs, cv] });
    const f: { target?: number; hsrr1?: bigint; mc?: { srr0: bigint; srr1: bigint }; refused?: TraceEvent; dropped: number; ctl?: { pc: bigint; msr: bigint }; ctlDropped: number } = { dropped: 0, ctlDropped: 0 };
    const st: { phase: 'wait' | 'pending' | 'done'; ctlAt?: number } = { phase: 'wait' };
    let saved: ReturnType<typeof saveHv> | undefined;
    const mark = sys.events.length;
    const attack: Tamper = {
      entry(cpu: Cpu, vector: number): Flow | undefined {
        if (st.phase === 'pending' && vector === 0x200) {
          // The machine check our hrfid caused: note it, put the frame back, answer honestly.
          st.phase = 'done';
          f.mc = { srr0: cpu.mfspr(SPR.SRR0!), srr1: cpu.mfspr(SPR.SRR1!) };
          f.refused = sys.events.slice(mark).find((e) => e.kind === 'refused' && e.access === 'walk');
          f.dropped = sys.events.slice(mark).filter((e) => e.kind === 'hrfid-s-dropped').length;
          restoreHv(cpu, saved!);
          return sys.malicious.honestAt(cpu, 0xC00);
        }
        if (st.phase !== 'wait' || vector !== 0xC00 || cs.report.pc === undefined) return undefined;
        const srr1 = cpu.mfspr(SPR.SRR1!);
        if ((srr1 & MSR.S) === 0n || (srr1 & MSR.HV) !== 0n) return undefined;
        st.phase = 'pending';
        saved = saveHv(cpu);
        f.target = KERNEL_LOAD_ADDR;
        f.hsrr1 = srr1 & ~SRR1_INT_BITS & ~MSR.PR;
        return (function* (): Flow {
          cpu.mtspr(SPR.HSRR0!, BigInt(KERNEL_LOAD_ADDR));
          cpu.mtspr(SPR.HSRR1!, f.hsrr1!);
          yield { op: 'hrfid' };
        })();
      },
    };
    // Control: the honest hypervisor's own hrfid back into the normal VM, with S added to HSRR1.
    let ctlDone = false;
    const control: Tamper = {
      instruction(cpu: Cpu, op: Op): Gen | undefined {
        if (ctlDone || op.op !== 'hrfid' || cv.report.pc === undefined) return undefined;
        const vm = sys.hv.vms.find((v) => v.name === 'vm');
        if (!vm || cpu.lpid !== vm.lpid) return undefined;
        ctlDone = true;
        st.ctlAt = sys.events.length;
        return (function* (): Gen {
          const pc = cpu.mfspr(SPR.HSRR0!);
          cpu.mtspr(SPR.HSRR1!, cpu.mfspr(SPR.HSRR1!) | MSR.S);
          f.ctl = { pc, msr: cpu.mfspr(SPR.HSRR1!) };
          yield { op: 'hrfid' };
        })();
      },
    };
    sys.malicious.tampers.push(attack, control);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      if (st.ctlAt !== undefined) f.ctlDropped = sys.events.slice(st.ctlAt).filter((e) => e.kind === 'hrfid-s-dropped' && e.cpu !== undefined).length;
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      // Blocked: the hrfid did not land in the SVM with S set; the hardware refused the walk instead.
      const ran = st.phase === 'done';
      // An hrfid that reached the SVM with S set would never have come back as a refused walk.
      const leaked = (st.phase === 'pending') || (ran && (!f.refused || (f.mc!.srr1 & MSR.S) !== 0n)) || sys.watch.of(cs.id).length > 0;
      const controlOk = ran && !!f.ctl && poweredOff(vm);
      const evidence = st.phase === 'wait'
        ? 'the attack never ran'
        : `hrfid to the SVM's kernel at ${hex(f.target!)} with HSRR1 ${hex(f.hsrr1!)} (S=1), LPIDR ${svm.lpid}: ` +
          `${f.dropped ? 'the hardware dropped S' : 'S was not reported dropped'}; ` +
          (f.mc ? `machine check with SRR0 ${hex(f.mc.srr0)}, SRR1 ${hex(f.mc.srr1)} (S=${(f.mc.srr1 & MSR.S) ? 1 : 0})` : 'no machine check') +
          (f.refused ? `: the partition-table walk read ${f.refused.address as string} (${f.refused.why as string})` : '') +
          `; the hypervisor then answered with UV_RETURN and the SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: hrfid into the normal VM at ${f.ctl ? hex(f.ctl.pc) : '?'} with HSRR1 ${f.ctl ? hex(f.ctl.msr) : '?'} (S=1): ${f.ctlDropped ? 'the hardware dropped S and ' : ''}the VM ran on, ${ending(vm)}`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
