// The probe kernel: the model guest kernel, built by the SVM's owner with one addition. At the
// first system call from user space (the secure transition is over by then, or never
// happened for a normal VM) it plants its canary: it writes the memory canary into a page of
// its own, reads the ESM attachment "canary" into the same page, then fills every register
// it can set (GPRs, FPRs/VSRs, CR, XER, FPSCR, VSCR, LR, CTR and the privileged SPRs the
// ultravisor must mask) with canaries and makes one hypercall, H_GET_TERM_CHAR (termno 0:
// the only argument it means the hypervisor to see). It records where it was and what came
// back changed, puts everything back, and goes on as the model kernel. Its marker differs
// from the model kernel's, so the machine runs it only for images built with it.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { CodeFactory, Flow, Software } from '../hw/cpu/software.js';
import { Kernel } from '../guest/index.js';
import { esmFile } from '../guest/luks.js';
import * as mem from '../guest/mem.js';
import { MSR } from '../abi/msr.js';
import { HC, HCALL_BY_NUM } from '../abi/hcalls.js';
import { rcOf } from '../abi/retcodes.js';

import { SPR } from '../abi/spr.js';
import { buildModelKernelImage, MODEL_KERNEL_MAGIC, readModelKernelConfig } from '../image/kernel.js';
import { PROBE_SPRS, type Canary } from './canary.js';

/** Same length and place as the model kernel's marker. */
export const PROBE_KERNEL_MAGIC = 'PEF-PROBE-KERNEL';
const SRR0 = SPR.SRR0!, SRR1 = SPR.SRR1!;
const PROBE_HCALL = HC.H_GET_TERM_CHAR;
const PROBE_OUT = HCALL_BY_NUM.get(PROBE_HCALL)!.outRegs;

/** The loadable image of a probe kernel that plants canary `id`. */
export function probeKernelImage(id: string, size: number): Uint8Array {
  const img = buildModelKernelImage({ size, config: { probe: id }, seed: `probe-${id}` });
  img.set(new TextEncoder().encode(PROBE_KERNEL_MAGIC), 4);
  return img;
}

function probeConfig(head: Uint8Array): Record<string, unknown> {
  const copy = head.slice();
  copy.set(new TextEncoder().encode(MODEL_KERNEL_MAGIC), 4);
  try { return readModelKernelConfig(copy); } catch { return {}; }
}

class ProbeKernel extends Kernel {
  #probed = false;
  constructor(entry: number, config: Record<string, unknown>, readonly canary: Canary | undefined) { super(entry, config); }

  override enter(cpu: Cpu, pc: number): Flow {
    if (pc === 0xC00 && !this.#probed && this.canary && this.pages && (cpu.mfspr(SRR1) & MSR.PR) !== 0n) {
      this.#probed = true;
      return this.#probe(cpu, pc, this.canary);
    }
    return super.enter(cpu, pc);
  }

  *#probe(cpu: Cpu, pc: number, c: Canary): Flow {
    const srr0 = cpu.mfspr(SRR0), srr1 = cpu.mfspr(SRR1);
    // The same fence the kernel's system-call path takes before its first access that may fault.
    yield { op: 'sc', lev: 0 };
    const saved = cpu.regs.snapshot();
    const savedSprs = new Map(PROBE_SPRS.map((n) => [n, cpu.mfspr(n)]));

    const page = this.pages!.alloc(1, 'canary');
    c.report.memoryGpa = page;
    yield* mem.write(cpu, page, c.memory);
    if (this.secure) {
      const a = yield* esmFile(cpu, 'canary');
      if (a) { yield* mem.write(cpu, page + c.memory.length, a); c.report.attachmentRead = true; }
    }

    const r = cpu.regs;
    const g = c.regs;
    g.gpr.forEach((v, i) => r.setGpr(i, v));
    r.setGpr(3, BigInt(PROBE_HCALL));
    r.setGpr(4, 0n);
    new Uint8Array(r.vsrBuf).set(g.vsr);
    r.cr = g.cr; r.xer = g.xer; r.fpscr = g.fpscr; r.vscr = g.vscr; r.lr = g.lr; r.ctr = g.ctr;
    for (const [n, v] of g.sprs) {
      cpu.mtspr(n, v);
      g.sprs.set(n, cpu.mfspr(n));
    }
    yield { op: 'sc', lev: 1 };
    c.report.pc = BigInt(r.pc);
    c.report.rc = rcOf(r.getGpr(3));
    const clobbered: string[] = [];
    for (let i = 0; i < 32; i++) if ((i < 3 || i >= 3 + PROBE_OUT) && r.getGpr(i) !== g.gpr[i]) clobbered.push(`R${i}`);
    if (!Buffer.from(r.vsrBuf).equals(Buffer.from(g.vsr))) clobbered.push('VSRs');
    if (r.cr !== g.cr) clobbered.push('CR');
    if (r.lr !== g.lr) clobbered.push('LR');
    if (r.ctr !== g.ctr) clobbered.push('CTR');
    for (const [n, v] of g.sprs) if (n !== 22 && cpu.mfspr(n) !== v) clobbered.push(`SPR ${n}`);
    c.report.clobbered = clobbered;

    r.restore(saved);
    for (const [n, v] of savedSprs) cpu.mtspr(n, v);
    cpu.mtspr(SRR0, srr0);
    cpu.mtspr(SRR1, srr1);
    yield* super.enter(cpu, pc);
  }
}

/** The code kind for probe kernels; each image names its canary by id. */
export function probeKernelCode(canaries: readonly Canary[]): CodeFactory {
  const byId = new Map(canaries.map((c) => [c.id, c]));
  return {
    magic: PROBE_KERNEL_MAGIC,
    create(_cpu: Cpu, _lpid: number, entry: number, image: Uint8Array): Software {
      const config = probeConfig(image);
      return new ProbeKernel(entry, config, typeof config.probe === 'string' ? byId.get(config.probe) : undefined);
    },
  };
}

