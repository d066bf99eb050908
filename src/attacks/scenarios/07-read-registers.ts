// 7. Read the SVM's registers during a reflected hypercall. The probe kernel fills every
// register it can set with canaries (GPRs, FPRs/VSRs, CR, XER, FPSCR, VSCR, LR, CTR and the
// privileged SPRs) and makes one hypercall, H_GET_TERM_CHAR(0). At every entry into hypervisor
// mode the compromised hypervisor reads everything hypervisor-mode software can: all GPRs and
// VSRs, CR, XER, FPSCR, VSCR, LR, CTR, every SPR it may read, SRR0/HSRR0 (the PC). Then, before
// UV_RETURN, it writes its own values into every register it can, to change the SVM's state.
// The SVM's canaries, and its PC, must appear nowhere; the probe must get back exactly what it
// had, outputs aside. Control: the same probe in a normal VM, whose canaries the hypervisor sees.

import { randomBytes } from 'node:crypto';
import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Flow } from '../../hw/cpu/software.js';
import { MSR } from '../../abi/msr.js';
import { HC } from '../../abi/hcalls.js';
import { SPRS, SPR } from '../../abi/spr.js';
import { UV } from '../../abi/ultracalls.js';
import { verdict, type AttackScenario } from '../types.js';
import type { Canary } from '../canary.js';
import type { Gen, Tamper } from '../malicious.js';
import { ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';

/** Everything of a frame hypervisor-mode software can read: name -> value. */
interface View { words: Map<string, bigint>; small: Map<string, number>; secure: boolean }

const READABLE = SPRS.filter((d) => d.read === 'user' || d.read === 'priv' || d.read === 'hv').map((d) => d.num);
/** Privileged and hypervisor SPRs the attacker scribbles before resuming (not its own control registers). */
const SCRIBBLE = SPRS.filter((d) => (d.write === 'priv' || d.write === 'user') && !['XER', 'LR', 'CTR', 'SRR0', 'SRR1', 'DEC'].includes(d.name)).map((d) => d.num);

function look(cpu: Cpu): View {
  const r = cpu.regs;
  const words = new Map<string, bigint>();
  for (let i = 0; i < 32; i++) words.set(`R${i}`, r.getGpr(i));
  const dv = new DataView(r.vsrBuf);
  for (let i = 0; i < 128; i++) words.set(`VSR${i >> 1}.${i & 1}`, dv.getBigUint64(8 * i, true));
  words.set('LR', r.lr);
  words.set('CTR', r.ctr);
  for (const n of READABLE) {
    try { words.set(`SPR ${SPRS.find((d) => d.num === n)!.name}`, cpu.mfspr(n)); } catch { /* not readable here */ }
  }
  return { words, small: new Map([['CR', r.cr], ['XER', r.xer], ['FPSCR', r.fpscr], ['VSCR', r.vscr]]), secure: (cpu.mfspr(SPR.SRR1!) & MSR.S) !== 0n };
}

/** Which of canary c's registers (and its PC) a view shows. */
function matches(v: View, c: Canary): string[] {
  const canon = c.registerWords();
  const out: string[] = [];
  for (const [name, val] of v.words) {
    const w = canon.get(val);
    if (w) out.push(`${w} in ${name}`);
    if (c.report.pc !== undefined && val === c.report.pc) out.push(`PC in ${name}`);
  }
  const g = c.regs;
  for (const [name, val] of v.small) if (val === ({ CR: g.cr, XER: g.xer, FPSCR: g.fpscr, VSCR: g.vscr } as Record<string, number>)[name]) out.push(name);
  return out;
}

export const scenario: AttackScenario = {
  name: 'read-svm-registers',
  number: 7,
  tried: "read the SVM's GPRs, FP/VSX registers, SPRs and PC at every reflected interrupt (canaries in every register), and change them before UV_RETURN",
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const sys = ctx.boot({ canaries: [cs, cv] });
    const svmViews: View[] = [];
    let probeView: View | undefined, ctlView: View | undefined;
    let scribbled = 0;
    const isProbe = (cpu: Cpu) => cpu.regs.getGpr(3) === BigInt(HC.H_GET_TERM_CHAR) && cpu.regs.getGpr(4) === 0n;
    const svmLpid = () => sys.hv.vms.find((x) => x.name === 'svm')?.lpid;
    const tamper: Tamper = {
      entry(cpu: Cpu, vector: number): Flow | undefined {
        const srr1 = cpu.mfspr(vector === 0xC00 ? SPR.SRR1! : SPR.HSRR1!);
        if ((srr1 & MSR.HV) !== 0n) return undefined;
        const v = look(cpu);
        if (cpu.lpid === svmLpid()) { svmViews.push(v); if (vector === 0xC00 && isProbe(cpu)) probeView = v; }
        else if (vector === 0xC00 && isProbe(cpu)) ctlView = v;
        return undefined;
      },
      ucall(cpu: Cpu, nr: number): Gen | undefined {
        if (nr !== UV.UV_RETURN || cpu.lpid !== svmLpid()) return undefined;
        return (function* (): Gen {
          // Everything but the hypercall's status (R0), R3 (UV_RETURN), its outputs and the cookie (R31).
          const junk = new Uint8Array(randomBytes(8 * 32 + 64 * 16));
          const dj = new DataView(junk.buffer);
          for (let i = 1; i < 31; i++) if (i < 3 || i > 6) cpu.regs.setGpr(i, dj.getBigUint64(8 * i, true));
          new Uint8Array(cpu.regs.vsrBuf).set(junk.subarray(256));
          cpu.regs.cr = 0x5a5a5a5a; cpu.regs.xer = 0x20000000; cpu.regs.lr = 0x4141414141414141n; cpu.regs.ctr = 0x4242424242424242n;
          for (const n of SCRIBBLE) { try { cpu.mtspr(n, 0x4343434343434343n); } catch { /* not writable here */ } }
          scribbled++;
          yield { op: 'sc', lev: 2 };
        })();
      },
    };
    sys.malicious.tampers.push(tamper);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const seen = [...new Set(svmViews.flatMap((v) => matches(v, cs)))];
      const spied = sys.watch.of(cs.id);
      const clobbered = cs.report.clobbered ?? ['(the probe did not run)'];
      const ctlSeen = ctlView ? matches(ctlView, cv) : [];
      const leaked = seen.length > 0 || spied.length > 0 || (!!probeView && clobbered.length > 0);
      const ctlGprs = ctlSeen.filter((s) => /^R\d+ in /.test(s)).length;
      const ctlVsrs = ctlSeen.filter((s) => s.startsWith('VSR')).length;
      const ctlSprs = ctlSeen.filter((s) => s.startsWith('SPR')).length;
      const controlOk = !!probeView && ctlGprs >= 20 && ctlVsrs >= 64 && ctlSprs >= 5 && ctlSeen.some((s) => s.startsWith('PC')) && poweredOff(vm);
      const n = probeView ? probeView.words.size + probeView.small.size : 0;
      const evidence = !probeView
        ? 'the probe hypercall never reached the hypervisor'
        : `${svmViews.length} SVM frames read (${n} registers each, the probe's H_GET_TERM_CHAR among them): ` +
          `${seen.length ? `CANARIES SEEN: ${seen.slice(0, 8).join(', ')}` : `no register canary and not the SVM's PC (${hex(cs.report.pc ?? 0)}); the probe frame's PC was cookie ${hex(probeView.words.get('SPR SRR0') ?? 0n)}`}` +
          `${spied.length ? `; spy saw ${spied[0]!.where}` : ''}; ${scribbled} UV_RETURNs after scribbling every writable register: ` +
          `${clobbered.length ? `SVM REGISTERS CHANGED: ${clobbered.join(', ')}` : 'the probe got every register back unchanged'}; the SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: the same probe in a normal VM showed the hypervisor ${ctlGprs} GPR, ${ctlVsrs} VSR doubleword and ${ctlSprs} SPR canaries, ${ctlSeen.filter((s) => ['CR', 'XER', 'FPSCR', 'VSCR'].includes(s)).join('/') || 'no CR/XER/FPSCR/VSCR'} and ${ctlSeen.some((s) => s.startsWith('PC')) ? 'its PC' : 'not its PC'}`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
