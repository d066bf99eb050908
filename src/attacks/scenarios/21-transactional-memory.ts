// 21. Use a transactional-memory instruction in the SVM. PEF forbids transactional memory in
// SVMs (a transaction's checkpointed state would survive across the ultravisor's save and
// restore). The compromised hypervisor grants it: HFSCR[TM] set before every return into the
// guest. The SVM's kernel enables MSR[TM] and runs tbegin.; the ultravisor clears HFSCR[TM] on
// every entry into the SVM, so the instruction traps to it (hypervisor facility unavailable)
// and comes back to the SVM as an illegal-instruction program interrupt. The hypervisor also
// makes an ultracall with a transaction active (MSR[TS] set): U_BAD_MODE. Control: the same
// kernel in a normal VM, under the same hypervisor granting TM, runs tbegin. (the transaction
// begins, and the model's implementation fails it at once, which CR0 reports).

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { HFSCR_TM } from '../../hw/cpu/cpu.js';
import { MSR, MSR_TS_MASK, SRR1_PROGRAM_ILLEGAL } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { UV } from '../../abi/ultracalls.js';
import { retName } from '../../abi/retcodes.js';
import { verdict, type AttackScenario } from '../types.js';
import { preserving, ultracall, type Gen, type Tamper } from '../malicious.js';
import { ending, hex, poweredOff } from '../helpers.js';
import { scriptKernelCode, scriptKernelImage, type ScriptApi } from '../scripted-svm.js';

function* tryTm(k: ScriptApi): Generator<Op, void, void> {
  const before = k.interrupts.length;
  yield { op: 'mtmsrd', value: k.cpu.msr | MSR.TM };
  yield { op: 'tbegin' };
  const got = k.interrupts.slice(before).find((i) => i.vector === 0x700);
  k.report.tm = got ? `a program interrupt (SRR1 ${hex(got.srr1)}${(got.srr1 & SRR1_PROGRAM_ILLEGAL) !== 0n ? ', illegal instruction' : ''})` : `tbegin. ran (CR0 ${hex(k.cpu.regs.cr >>> 28)})`;
  k.report.trapped = !!got && (got.srr1 & SRR1_PROGRAM_ILLEGAL) !== 0n;
}

export const scenario: AttackScenario = {
  name: 'transactional-memory',
  number: 21,
  tried: 'grant transactional memory to the SVM (HFSCR[TM]) and run tbegin. in it; make an ultracall with a transaction active',
  async run(ctx) {
    const cs = ctx.canary('svm');
    const reports: Record<string, Record<string, unknown>> = {};
    const granted = { svm: 0, vm: 0 };
    let badMode: string | undefined;
    const grant = (cpu: Cpu) => cpu.mtspr(SPR.HFSCR!, cpu.mfspr(SPR.HFSCR!) | HFSCR_TM);
    const tamper: Tamper = {
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_RETURN) return undefined;
        // Every return into the SVM: TM granted first.
        grant(cpu); granted.svm++;
        if (badMode !== undefined) return undefined;
        return (function* (): Gen {
          yield* preserving(cpu, (function* (): Gen {
            yield { op: 'mtmsrd', value: cpu.msr | MSR.TS1 }; // transactional state
            const r = yield* ultracall(cpu, UV.UV_READ_SCOM, 0, 0x00010000);
            badMode = `${retName(r.rc, 'U')} (MSR[TS] ${hex(cpu.msr & MSR_TS_MASK)})`;
            yield { op: 'mtmsrd', value: cpu.msr & ~MSR_TS_MASK };
          })());
          grant(cpu);
          yield { op: 'sc', lev: 2 };
        })();
      },
      instruction(cpu: Cpu, op: Op): Gen | undefined {
        if (op.op === 'hrfid') { grant(cpu); granted.vm++; }
        return undefined;
      },
    };
    const sys = ctx.boot({ canaries: [cs], tampers: [tamper], code: [scriptKernelCode({ tm: tryTm }, reports)] });
    try {
      const svm = sys.createVm('svm', ctx.svm(cs, { kernel: scriptKernelImage('tm') }));
      await sys.runToEnd();
      const s = { ...reports.tm };
      delete reports.tm;
      const vm = sys.createVm('vm', ctx.vm(cs, { kernel: scriptKernelImage('tm') }), { secureGuest: false });
      await sys.runToEnd();
      const v = reports.tm ?? {};
      const leaked = s.trapped !== true || s.ranSecure !== true || !/^U_BAD_MODE/.test(badMode ?? '');
      const controlOk = v.ranSecure === false && v.trapped === false && /^tbegin\. ran/.test(String(v.tm)) && poweredOff(vm) && poweredOff(svm);
      const evidence = `with HFSCR[TM] granted on ${granted.svm} returns into the SVM, its tbegin. (MSR[S]=${s.ranSecure ? 1 : 0}) got ${s.tm ?? 'nothing'}; the SVM ${ending(svm)}. ` +
        `A hypervisor ultracall with a transaction active: ${badMode ?? 'never made'}. ` +
        `Control: the same kernel in a normal VM, with HFSCR[TM] granted on ${granted.vm} returns: ${v.tm ?? 'did not run'}; it ${ending(vm)}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};
