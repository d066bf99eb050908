// 19. Unshare a shared page behind the SVM's back and read what it writes next. The SVM
// shares a page and writes into it. The compromised hypervisor, without being asked:
// invalidates the page (UV_PAGE_INVAL) and tries to turn it into a secure page holding bytes of
// its own (UV_PAGE_IN without the shared flag); when the SVM touches the page again it supplies
// a fresh shared frame. When the SVM then unshares the page, the hypervisor answers the
// ultravisor's request by trying to keep the page shared (UV_PAGE_IN with the shared flag and
// a frame of its choosing) before acknowledging. The SVM keeps its secret in the page it now
// believes private; the hypervisor reads every frame it ever gave for the page, its device
// window and all normal memory. Controls: while the page is shared the hypervisor reads what
// the SVM wrote, before and after the invalidation.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Flow, Op } from '../../hw/cpu/software.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { HC } from '../../abi/hcalls.js';
import { UV } from '../../abi/ultracalls.js';
import { U, retName } from '../../abi/retcodes.js';
import { PAGE_SIZE } from '../../abi/pages.js';
import { FRAME_SIZE } from '../../hw/memory.js';
import { verdict, type AttackScenario } from '../types.js';
import { preserving, sc2, ultracall, type Gen, type Tamper } from '../malicious.js';
import { attempt, ending, hex, poweredOff, shortWhy } from '../helpers.js';
import { scriptKernelCode, scriptKernelImage, type ScriptApi } from '../scripted-svm.js';

const enc = new TextEncoder();
const M1 = enc.encode('first shared write');
const M2 = enc.encode('second shared write, after the invalidation');
const GPA = 0x100000 + 6 * PAGE_SIZE;

function* svmSide(k: ScriptApi): Generator<Op, void, void> {
  const gfn = GPA / PAGE_SIZE;
  k.report.share = (yield* k.ucall(UV.UV_SHARE_PAGE, gfn, 1)).rc;
  yield* k.write(GPA, M1);
  yield* k.hcall(HC.H_GET_TERM_CHAR, 0); // the hypervisor's first moment
  k.report.wroteM2 = yield* k.write(GPA, M2);
  yield* k.hcall(HC.H_GET_TERM_CHAR, 0); // second
  k.report.unshare = (yield* k.ucall(UV.UV_UNSHARE_PAGE, gfn, 1)).rc;
  const secret = yield* k.file('canary');
  if (secret) {
    yield* k.write(GPA, secret);
    const back = yield* k.read(GPA, secret.length);
    k.report.privateOk = !!back && Buffer.from(back).equals(Buffer.from(secret));
  }
  yield* k.hcall(HC.H_GET_TERM_CHAR, 0); // third: the hypervisor looks for the secret
}

export const scenario: AttackScenario = {
  name: 'unshare-behind-back',
  number: 19,
  tried: 'invalidate a page the SVM shared and try to make it secure with its own bytes, try to keep it shared through the SVM\'s unshare, then read what the SVM writes next',
  async run(ctx) {
    const cs = ctx.canary('svm');
    const reports: Record<string, Record<string, unknown>> = {};
    let victim = -1;
    let moment = 0;
    const frames = new Set<number>();
    const log: string[] = [];
    const control: string[] = [];
    let accepted = 0;
    let secretSeen = 0;
    const secret = Buffer.from(cs.attachment.subarray(0, 32));
    const m = () => sys.machine;
    const isMoment = (cpu: Cpu, vector: number) =>
      vector === 0xC00 && cpu.lpid === victim && cpu.regs.getGpr(3) === BigInt(HC.H_GET_TERM_CHAR) && (cpu.mfspr(SPR.SRR1!) & MSR.S) !== 0n;
    const readFrame = (f: number, mark: Uint8Array) => { const r = attempt(() => m().host.read(f, mark.length)); return r.ok && Buffer.from(r.value).equals(Buffer.from(mark)); };
    const tamper: Tamper = {
      entry(cpu: Cpu, vector: number, honest: () => Flow): Flow | undefined {
        // The SVM touched the page we invalidated: the ultravisor reflects the fault; give it a fresh shared frame.
        if ((vector === 0xE00 || vector === 0xE20) && cpu.lpid === victim && (cpu.mfspr(SPR.HSRR1!) & (MSR.S | MSR.HV)) === MSR.S) {
          const cookie = cpu.regs.getGpr(31), gpa = Number(cpu.mfspr(SPR.HDAR!)) & ~(PAGE_SIZE - 1);
          return (function* (): Flow {
            const f = sys.hv.pool.alloc('refault');
            frames.add(f);
            const r = yield* ultracall(cpu, UV.UV_PAGE_IN, victim, f, gpa, 1, 16);
            log.push(`the SVM's next touch faulted; a fresh shared frame ${hex(f)} supplied (${retName(r.rc, 'U')})`);
            const vm = sys.hv.vmByLpid(victim)!;
            vm.pages.set(gpa / FRAME_SIZE, { state: 'shared', frame: f });
            cpu.regs.setGpr(31, cookie);
            cpu.mtspr(SPR.HSRR0!, cookie);
            cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
            yield* sc2(cpu);
            yield* honest();
          })();
        }
        if (!isMoment(cpu, vector)) return undefined;
        moment++;
        return (function* (): Flow {
          yield* preserving(cpu, (function* (): Gen {
            const vm = sys.hv.vmByLpid(victim)!;
            const cur = vm.pages.get(GPA / FRAME_SIZE)?.frame;
            if (cur !== undefined) frames.add(cur);
            if (moment === 1 && cur !== undefined) {
              control.push(`it read the SVM's first write from frame ${hex(cur)}: ${readFrame(cur, M1) ? 'yes' : 'NO'}`);
              const inval = yield* ultracall(cpu, UV.UV_PAGE_INVAL, victim, GPA, 16);
              const mine = sys.hv.pool.alloc('own bytes');
              m().host.write(mine, enc.encode('the hypervisor\'s own bytes'));
              frames.add(mine);
              const secure = yield* ultracall(cpu, UV.UV_PAGE_IN, victim, mine, GPA, 0, 16);
              if (secure.rc === U.U_SUCCESS) accepted++;
              log.push(`UV_PAGE_INVAL ${retName(inval.rc, 'U')}; UV_PAGE_IN of its own frame without the shared flag ${retName(secure.rc, 'U')}`);
            }
            if (moment === 2 && cur !== undefined) control.push(`after the refault it read the SVM's second write from frame ${hex(cur)}: ${readFrame(cur, M2) ? 'yes' : 'NO'}`);
            if (moment === 3) {
              for (const f of frames) {
                const r = attempt(() => m().host.read(f, FRAME_SIZE));
                if (r.ok && Buffer.from(r.value).includes(secret)) { secretSeen++; log.push(`THE SECRET in frame ${hex(f)}`); }
              }
              const d = attempt(() => sys.hv.dmaFor(vm).read(GPA, FRAME_SIZE));
              log.push(`${frames.size} frames it gave for the page read: ${secretSeen ? 'SECRET FOUND' : 'no secret'}; its device window at ${hex(GPA)}: ${d.ok ? (Buffer.from(d.value).includes(secret) ? 'THE SECRET' : 'read, no secret') : shortWhy(d.why)}`);
              if (d.ok && Buffer.from(d.value).includes(secret)) secretSeen++;
              const normal = m().findInAllMemory(secret).filter((h) => !h.secure).length;
              secretSeen += normal;
              log.push(`all normal memory: the secret in ${normal} frames`);
            }
          })());
          yield* honest();
        })();
      },
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        // The SVM's unshare: the ultravisor asks for the page (H_SVM_PAGE_IN, not shared); first try to keep it shared.
        if (nr !== UV.UV_PAGE_IN || moment !== 2 || cpu.regs.getGpr(4) !== BigInt(victim) || cpu.regs.getGpr(6) !== BigInt(GPA) || cpu.regs.getGpr(7) !== 0n) return undefined;
        return (function* (): Gen {
          const keep = yield* preserving(cpu, (function* (): Gen<number> {
            const f = sys.hv.pool.alloc('keep shared');
            frames.add(f);
            return (yield* ultracall(cpu, UV.UV_PAGE_IN, victim, f, GPA, 1, 16)).rc;
          })());
          if (keep === U.U_SUCCESS) accepted++;
          const ack = yield* sc2(cpu);
          log.push(`during the SVM's unshare: UV_PAGE_IN with the shared flag (keep it shared) ${retName(keep, 'U')}, then the acknowledgement ${retName(ack, 'U')}`);
        })();
      },
    };
    const sys = ctx.boot({ canaries: [cs], tampers: [tamper], code: [scriptKernelCode({ 'behind-back': svmSide }, reports)] });
    try {
      const vm = sys.createVm('svm', ctx.svm(cs, { kernel: scriptKernelImage('behind-back') }));
      victim = vm.lpid;
      await sys.runToEnd();
      const r = reports['behind-back'] ?? {};
      const leaked = accepted > 0 || secretSeen > 0 || sys.watch.of(cs.id).length > 0 || moment < 3;
      const controlOk = control.length === 2 && control.every((c) => c.endsWith('yes')) && r.share === 0 && r.wroteM2 === true && r.unshare === 0 && r.privateOk === true && poweredOff(vm);
      const evidence = `${log.join('; ')}; the SVM's unshare ${retName(Number(r.unshare), 'U')}, its secret written and read back ${r.privateOk ? 'intact' : 'CHANGED'}; the SVM ${ending(vm)}. ` +
        `Control: ${control.join('; ')}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};
