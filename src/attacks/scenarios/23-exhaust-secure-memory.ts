// 23. Exhaust secure memory to make UV_ESM fail open. The compromised hypervisor makes the
// ultravisor run out of secure memory in the middle of an SVM's transition: it gives an SVM
// more memory than the machine has secure memory; it registers the SVM's memory slot as the
// whole 64 GiB guest space (tables to reserve, frames to find); and, while another SVM holds
// most of secure memory, it refuses every page the ultravisor asks to give back (H_SVM_PAGE_OUT)
// and reclaims nothing itself. Each transition must fail closed: the VM never runs secure, is
// told UV_ESM failed, and none of its secrets (its ESM attachment, the disk passphrase) is
// anywhere the hypervisor can read. Control: the same crowded machine with the hypervisor
// answering the page-outs honestly: the second SVM boots (overcommit) and reads its canary.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Flow, Op } from '../../hw/cpu/software.js';
import { FRAME_SIZE } from '../../hw/memory.js';
import { GUEST_SPACE } from '../../hw/mmu.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { HC } from '../../abi/hcalls.js';
import { UV } from '../../abi/ultracalls.js';
import { H, U, rc64, retName } from '../../abi/retcodes.js';
import type { Vm } from '../../hypervisor/index.js';
import type { SystemImage } from '../../system/index.js';
import { verdict, type AttackScenario } from '../types.js';
import { sc2, type Gen, type Tamper } from '../malicious.js';
import { countEvents, ending, poweredOff, readCanaryIntact } from '../helpers.js';
import type { AttackContext, AttackSystem } from '../context.js';
import type { Canary } from '../canary.js';
import { describeEsm, esmOutcome, whereIs } from '../esm-outcome.js';
import { scriptKernelCode, scriptKernelImage, type ScriptApi } from '../scripted-svm.js';

const MIB = 1 << 20;

/** The holder: an SVM that touches its memory above 16 MiB (so the ultravisor holds it), then stays up until released. */
function holder(release: { now: boolean }) {
  return function* (k: ScriptApi): Generator<Op, void, void> {
    const one = new Uint8Array([1]);
    for (let a = 16 * MIB; a < Number(k.report.touchTo ?? 0); a += FRAME_SIZE) yield* k.write(a, one);
    k.report.up = true;
    while (!release.now) yield* k.hcall(HC.H_GET_TERM_CHAR, 0);
  };
}

interface Secrets { attachment: ReturnType<typeof whereIs>; passphrase: ReturnType<typeof whereIs> }
function secretsOf(sys: AttackSystem, cs: Canary, img: SystemImage): Secrets {
  return { attachment: whereIs(sys.machine, cs.attachment.subarray(0, 32)), passphrase: whereIs(sys.machine, new TextEncoder().encode(img.secrets!.passphrase)) };
}
const exposed = (s: Secrets) => s.attachment.normal + s.passphrase.normal;

/** A crowded machine: a holder SVM takes most of secure memory, then a second SVM starts. */
async function crowded(ctx: AttackContext, cs: Canary, honestPageOut: boolean) {
  const release = { now: false };
  const reports: Record<string, Record<string, unknown>> = {};
  let refused = 0;
  const tamper: Tamper = {
    entry(cpu: Cpu, vector: number): Flow | undefined {
      if (honestPageOut || vector !== 0xC00 || cpu.regs.getGpr(3) !== BigInt(HC.H_SVM_PAGE_OUT) || (cpu.mfspr(SPR.SRR1!) & (MSR.S | MSR.HV)) !== MSR.S) return undefined;
      refused++;
      const cookie = cpu.regs.getGpr(31);
      return (function* (): Flow {
        cpu.regs.setGpr(0, rc64(H.H_PARAMETER));
        cpu.regs.setGpr(31, cookie);
        cpu.mtspr(SPR.HSRR0!, cookie);
        cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
        yield* sc2(cpu);
      })();
    },
    // Nor does it reclaim on its own (UV_PAGE_OUT of another VM's pages to make room).
    ucall(cpu: Cpu, nr: number): Gen | undefined {
      if (honestPageOut || nr !== UV.UV_PAGE_OUT) return undefined;
      // eslint-disable-next-line require-yield
      return (function* (): Gen { refused++; cpu.regs.setGpr(3, rc64(U.U_BUSY)); })();
    },
  };
  const sys = ctx.boot({ canaries: [cs], tampers: [tamper], code: [scriptKernelCode({ hold: holder(release) }, reports)] });
  // The hypervisor never reclaims of its own accord: it leaves the ultravisor to ask.
  if (!honestPageOut) sys.hv.secure.budget = Number.POSITIVE_INFINITY;
  try {
    const secureMib = Math.floor(sys.machine.secureSize / MIB);
    const holdBytes = (secureMib - 8) * MIB;
    (reports.hold ??= {}).touchTo = holdBytes - MIB;
    const hold = sys.createVm('holder', ctx.svm(cs, { kernel: scriptKernelImage('hold') }), { memBytes: holdBytes });
    await sys.run({ until: () => reports.hold?.up === true });
    const img = ctx.svm(cs);
    const second = sys.createVm('second', img);
    await sys.run({ until: () => second.done || second.console.includes('canary read') });
    const s = secretsOf(sys, cs, img);
    release.now = true;
    await sys.runToEnd();
    return {
      esm: esmOutcome(sys.events, second), second, hold, secrets: s, refused, pageOuts: countEvents(sys.events, 'uv-overcommit'),
      holderOk: poweredOff(hold) && reports.hold?.done === true, secureMib,
    };
  } finally {
    sys.close();
  }
}

export const scenario: AttackScenario = {
  name: 'exhaust-secure-memory',
  number: 23,
  tried: 'run the ultravisor out of secure memory during UV_ESM (an SVM larger than secure memory, a 64 GiB memory slot, a crowded machine with every page-out refused) to make it fail open',
  async run(ctx) {
    const cs = ctx.canary('svm');
    const lines: string[] = [];
    let leaked = false;
    // One: more guest memory than the machine has secure memory; two: the slot inflated to the whole guest space.
    let inflated: string | undefined;
    const inflate: Tamper = {
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_REGISTER_MEM_SLOT || inflated !== undefined) return undefined;
        const vm = sys.hv.vmByLpid(Number(cpu.regs.getGpr(4)));
        if (vm?.name !== 'slot') return undefined;
        cpu.regs.setGpr(6, BigInt(GUEST_SPACE) - cpu.regs.getGpr(5));
        return (function* (): Gen { const rc = yield* sc2(cpu); inflated = `UV_REGISTER_MEM_SLOT of ${GUEST_SPACE / 2 ** 30} GiB: ${retName(rc, 'U')}`; })();
      },
    };
    const sys = ctx.boot({ canaries: [cs], tampers: [inflate] });
    let big: Vm, slot: Vm;
    const imgs: SystemImage[] = [ctx.svm(cs), ctx.svm(cs)];
    try {
      const secureMib = Math.floor(sys.machine.secureSize / MIB);
      big = sys.createVm('big', imgs[0]!, { memBytes: (secureMib + 64) * MIB });
      await sys.runToEnd();
      slot = sys.createVm('slot', imgs[1]!);
      await sys.runToEnd();
      for (const [what, vm, img] of [[`an SVM of ${secureMib + 64} MiB on ${secureMib} MiB of secure memory`, big, imgs[0]!], [inflated ?? 'the inflated slot (never registered)', slot, imgs[1]!]] as [string, Vm, SystemImage][]) {
        const o = esmOutcome(sys.events, vm);
        const s = secretsOf(sys, cs, img);
        if (o.secure || exposed(s) > 0 || readCanaryIntact(vm, cs)) leaked = true;
        lines.push(`${what}: ${describeEsm(o)}; the VM ${ending(vm)}; its attachment in ${s.attachment.normal} normal frames, its passphrase in ${s.passphrase.normal}`);
      }
    } finally {
      sys.close();
    }
    const refused = await crowded(ctx, cs, false);
    if (refused.esm.secure || exposed(refused.secrets) > 0 || readCanaryIntact(refused.second, cs)) leaked = true;
    lines.push(`a holder SVM of ${refused.secureMib - 8} MiB running, ${refused.refused} page-outs refused: the second SVM ${describeEsm(refused.esm)}; it ${ending(refused.second)}; ` +
      `its attachment in ${refused.secrets.attachment.normal} normal frames, its passphrase in ${refused.secrets.passphrase.normal}; the holder ${refused.holderOk ? 'ran on and powered off cleanly' : ending(refused.hold)}`);
    const honest = await crowded(ctx, cs, true);
    const controlOk = honest.esm.secure && readCanaryIntact(honest.second, cs) && poweredOff(honest.second) && honest.holderOk && refused.holderOk && honest.pageOuts > 0;
    const evidence = `${lines.join('. ')}. Control: the same crowded machine with the page-outs answered: the ultravisor gave ${honest.pageOuts} of the holder's pages back encrypted, ` +
      `the second SVM ${describeEsm(honest.esm).replace('WENT SECURE', 'went secure')}, ${readCanaryIntact(honest.second, cs) ? 'read its canary' : 'did not read its canary'} and ${ending(honest.second)}; the holder ${honest.holderOk ? 'ran on and powered off cleanly' : ending(honest.hold)}`;
    return verdict(leaked, controlOk, evidence);
  },
};
