// 6. Forge, replay or guess a UV_RETURN cookie. The compromised hypervisor keeps every cookie
// the ultravisor gave it. When it is about to resume the SVM after a reflected hypercall, it
// first tries UV_RETURN with a forged cookie, with an old one it already used (a replay), and
// with the real cookie's neighbours (a guess), each also in HSRR0; then it resumes the SVM with
// the real cookie. A refused UV_RETURN comes back to the hypervisor; an accepted one would
// resume the SVM and never come back. Control: the same UV_RETURN with the valid cookie resumes
// the SVM.

import { randomBytes } from 'node:crypto';
import type { Cpu } from '../../hw/cpu/cpu.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { UV } from '../../abi/ultracalls.js';
import { retName } from '../../abi/retcodes.js';
import { verdict, type AttackScenario } from '../types.js';
import { restoreHv, saveHv, sc2, type Gen, type Tamper } from '../malicious.js';
import { countEvents, ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';

interface Try { what: string; cookie: bigint; rc?: number }

export const scenario: AttackScenario = {
  name: 'forge-uv-return-cookie',
  number: 6,
  tried: 'resume the SVM with UV_RETURN and a forged cookie, a replayed old cookie, and guesses next to the real one',
  async run(ctx) {
    const cs = ctx.canary('svm');
    const sys = ctx.boot({ canaries: [cs] });
    const used: bigint[] = [];
    const tries: Try[] = [];
    const st: { real?: bigint; honestReturned?: boolean; honestRc?: number; done: boolean } = { done: false };
    const tamper: Tamper = {
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_RETURN || (cpu.mfspr(SPR.HSRR1!) & MSR.S) === 0n) return undefined;
        const cookie = cpu.regs.getGpr(31);
        if (st.done || cs.report.pc === undefined || used.length === 0) { used.push(cookie); return undefined; }
        st.done = true;
        st.real = cookie;
        return (function* (): Gen {
          const honest = saveHv(cpu);
          const forged = randomBytes(8).readBigUInt64LE() & ~3n;
          const list: Try[] = [
            { what: 'forged', cookie: forged },
            ...used.slice(-2).map((c) => ({ what: 'replayed', cookie: c })),
            { what: 'guessed', cookie: cookie + 4n },
            { what: 'guessed', cookie: cookie - 4n },
            { what: 'guessed', cookie: cookie ^ (1n << 40n) },
          ];
          for (const t of list) {
            tries.push(t);
            restoreHv(cpu, honest);
            cpu.regs.setGpr(31, t.cookie);
            cpu.mtspr(SPR.HSRR0!, t.cookie);
            t.rc = yield* sc2(cpu);
          }
          // The valid cookie (the control): the SVM resumes and this flow never comes back.
          restoreHv(cpu, honest);
          st.honestRc = yield* sc2(cpu);
          st.honestReturned = true;
          restoreHv(cpu, honest);
          cpu.regs.setGpr(3, BigInt(st.honestRc));
        })();
      },
    };
    sys.malicious.tampers.push(tamper);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      await sys.runToEnd();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const accepted = tries.filter((t) => t.rc === undefined || t.rc === 0);
      const refusedEvents = countEvents(sys.events, 'uv-return-refused');
      const leaked = accepted.length > 0 || sys.watch.of(cs.id).length > 0;
      const controlOk = tries.length > 0 && st.real !== undefined && !st.honestReturned && svmOk;
      const evidence = tries.length === 0
        ? 'the attack never ran'
        : `${tries.map((t) => `UV_RETURN with ${t.what} cookie ${hex(t.cookie)} -> ${t.rc === undefined ? 'ACCEPTED (the SVM resumed)' : retName(t.rc, 'U')}`).join('; ')} ` +
          `(${refusedEvents} return-refused events); the SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: UV_RETURN with the valid cookie ${st.real === undefined ? '?' : hex(st.real)} ${st.honestReturned ? `was refused (${retName(st.honestRc!, 'U')})` : 'resumed the SVM'}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};
