// 18. Lie in H_SVM_PAGE_IN. While UV_ESM brings the VM's pages into secure memory it asks the
// hypervisor for each (H_SVM_PAGE_IN), and the hypervisor answers with UV_PAGE_IN. The
// compromised hypervisor, one SVM at a time: hands over a wrong page (another kernel page's
// bytes where the first kernel page belongs); pages in a different page than the one asked for
// and claims success; never answers at all (the vCPU is left waiting; a normal VM runs on
// beside it; the stuck VM is destroyed afterwards); answers twice (a second UV_PAGE_IN of the
// same page with other bytes). The ultravisor must fail the transition (digests, a page still
// missing), refuse to replace a page it holds, keep the machine running, and leave nothing of
// the SVM behind. Control: honest answers let an SVM boot and read its canary.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Flow } from '../../hw/cpu/software.js';
import { FRAME_SIZE } from '../../hw/memory.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { HC } from '../../abi/hcalls.js';
import { UV } from '../../abi/ultracalls.js';
import { retName } from '../../abi/retcodes.js';
import { KERNEL_LOAD_ADDR } from '../../image/kernel.js';
import { verdict, type AttackScenario } from '../types.js';
import { sc2, ultracall, type Gen, type Tamper } from '../malicious.js';
import { countEvents, ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';
import { describeEsm, esmOutcome, whereIs } from '../esm-outcome.js';

type Mode = 'honest' | 'wrong-page' | 'other-address' | 'no-answer' | 'twice';

export const scenario: AttackScenario = {
  name: 'lie-in-page-in',
  number: 18,
  tried: 'answer H_SVM_PAGE_IN during UV_ESM with a wrong page, with a different page than asked, not at all, and twice',
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    let mode: Mode = 'honest';
    let victim = -1;
    const did: Partial<Record<Mode, string>> = {};
    const sys = ctx.boot({ canaries: [cs, cv] });
    const m = sys.machine;
    const lied = () => did[mode] !== undefined;
    const tamper: Tamper = {
      entry(cpu: Cpu, vector: number): Flow | undefined {
        if (vector !== 0xC00 || cpu.lpid !== victim || lied() || cpu.regs.getGpr(3) !== BigInt(HC.H_SVM_PAGE_IN)) return undefined;
        if ((cpu.mfspr(SPR.SRR1!) & (MSR.S | MSR.HV)) !== MSR.S) return undefined;
        const gpa = cpu.regs.getGpr(4), cookie = cpu.regs.getGpr(31);
        if (mode === 'other-address') {
          return (function* (): Flow {
            const other = gpa + 16n * BigInt(FRAME_SIZE);
            const r = yield* ultracall(cpu, UV.UV_PAGE_IN, cpu.lpid, sys.hv.pool.alloc('lie'), other, 0, 16);
            did[mode] = `asked for ${hex(gpa)}, paged in ${hex(other)} instead (${retName(r.rc, 'U')}) and answered H_SUCCESS`;
            cpu.regs.setGpr(0, 0n);
            cpu.regs.setGpr(31, cookie);
            cpu.mtspr(SPR.HSRR0!, cookie);
            cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
            yield* sc2(cpu);
            yield* sys.malicious.honestAt(cpu, 0x980);
          })();
        }
        if (mode === 'no-answer') {
          did[mode] = `H_SVM_PAGE_IN(${hex(gpa)}) never answered`;
          // Back to scheduling as if nothing had come in: the vCPU stays in the ultravisor's hands.
          return (function* (): Flow {
            for (const v of sys.hv.vmByLpid(cpu.lpid)?.vcpus ?? []) v.state = 'stopped';
            cpu.mtspr(SPR.HSRR1!, MSR.SF | MSR.LE | MSR.ME | MSR.HV);
            yield* sys.malicious.honestAt(cpu, 0x980);
          })();
        }
        return undefined;
      },
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_PAGE_IN || (mode !== 'wrong-page' && mode !== 'twice') || lied()) return undefined;
        const lpid = Number(cpu.regs.getGpr(4)), ra = Number(cpu.regs.getGpr(5)), gpa = Number(cpu.regs.getGpr(6));
        if (lpid !== victim || gpa !== KERNEL_LOAD_ADDR || cpu.regs.getGpr(7) !== 0n) return undefined;
        const other = m.host.read(ra + 0, FRAME_SIZE);
        const next = sys.hv.vmByLpid(lpid);
        const second = next?.pages.get(gpa / FRAME_SIZE + 1)?.frame;
        const wrong = second !== undefined ? m.host.read(second, FRAME_SIZE) : other.map((b) => b ^ 0x5a);
        if (mode === 'wrong-page') {
          m.host.write(ra, wrong);
          did[mode] = `the kernel's first page (${hex(gpa)}) handed over with its second page's bytes`;
          return undefined;
        }
        return (function* (): Gen {
          const rc = yield* sc2(cpu);
          const regs = cpu.regs.snapshot();
          const f = sys.hv.pool.alloc('second answer');
          m.host.write(f, wrong);
          const again = yield* ultracall(cpu, UV.UV_PAGE_IN, lpid, f, gpa, 0, 16);
          did.twice = `the kernel's first page (${hex(gpa)}) paged in (${retName(rc, 'U')}), then again with other bytes (${retName(again.rc, 'U')})`;
          cpu.regs.restore({ ...regs, pc: cpu.regs.pc });
        })();
      },
    };
    sys.malicious.tampers.push(tamper);
    const runs: { mode: Mode; vm: ReturnType<typeof sys.createVm>; esm?: string }[] = [];
    let normal: ReturnType<typeof sys.createVm> | undefined;
    let stuckAfter = '';
    try {
      for (const md of ['honest', 'wrong-page', 'other-address', 'twice', 'no-answer'] as Mode[]) {
        mode = md;
        const img = ctx.svm(cs);
        const vm = sys.createVm(md, img);
        victim = vm.lpid;
        if (md === 'no-answer') normal = sys.createVm('normal', ctx.vm(cv), { secureGuest: false });
        runs.push({ mode: md, vm });
        await sys.runToEnd();
        if (md === 'no-answer') {
          const r = runs[runs.length - 1]!;
          r.esm = `${describeEsm(esmOutcome(sys.events, vm))}; the VM ${ending(vm)} while the normal VM beside it ${ending(normal!)}`;
          const before = countEvents(sys.events, 'uv-svm-terminated');
          sys.hv.request(vm, 'destroy');
          await sys.runToEnd();
          stuckAfter = `destroyed, the ultravisor terminated it (${countEvents(sys.events, 'uv-svm-terminated') - before} terminate${countEvents(sys.events, 'uv-svm-terminated') - before === 1 ? '' : 's'}); ` +
            `its attachment is in ${whereIs(m, cs.attachment).normal} normal and ${whereIs(m, cs.attachment).secure} secure frames, its master key in ${whereIs(m, img.secrets!.symkey).normal + whereIs(m, img.secrets!.symkey).secure} frames`;
        }
      }
    } finally {
      sys.close();
    }
    const res = runs.map((r) => ({ ...r, o: esmOutcome(sys.events, r.vm) }));
    const attacks = res.slice(1);
    const twice = attacks.find((a) => a.mode === 'twice')!;
    const leaked = attacks.some((a) => (a.mode !== 'twice' && a.o.secure) || readCanaryIntact(a.vm, cs) && a.mode !== 'twice') ||
      !/again with other bytes \(U_P2\)/.test(did.twice ?? '') || sys.watch.of(cs.id).length > 0 || /in [1-9]/.test(stuckAfter);
    const control = res[0]!;
    const controlOk = control.o.secure && poweredOff(control.vm) && readCanaryIntact(control.vm, cs) && !!normal && poweredOff(normal) &&
      twice.o.secure && readCanaryIntact(twice.vm, cs) && attacks.every((a) => did[a.mode] !== undefined);
    const outcome = (a: (typeof attacks)[number]) => a.esm ?? (a.mode === 'twice' && a.o.secure
      ? `the second answer changed nothing: the SVM went secure with the page first handed over, ${readCanaryIntact(a.vm, cs) ? 'read its canary' : 'did not read its canary'} and ${ending(a.vm)}`
      : `${describeEsm(a.o)}; the VM ${ending(a.vm)}`);
    const evidence = `${attacks.map((a) => `${did[a.mode] ?? `${a.mode}: NEVER APPLIED`}: ${outcome(a)}`).join('. ')}. ` +
      `The stuck VM, ${stuckAfter}. ` +
      `Control: honest answers: ${describeEsm(control.o).replace('WENT SECURE', 'went secure')}, the SVM ${readCanaryIntact(control.vm, cs) ? 'read its canary' : 'did not read its canary'} and ${ending(control.vm)}`;
    return verdict(leaked, controlOk, evidence);
  },
};
