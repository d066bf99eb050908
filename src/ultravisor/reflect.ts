// Reflection (PEF.md section 7): what the hypervisor sees of an SVM. On the way out the
// ultravisor keeps the SVM's whole register state and gives the hypervisor a frame with only
// the hypercall's declared input registers; every other GPR random, CR random, FP/VMX/VSX
// cleared, the sensitive SPRs zeroed, and the SVM's PC replaced by a random cookie (SRR0,
// HSRR0, R31). On the way back only the declared outputs are taken from the hypervisor.

import { randomFillSync } from 'node:crypto';
import { MSR, SRR1_SC_LEV_SHIFT } from '../abi/msr.js';
import { REFLECT_MASKED_SPRS, SPR, SPR_BY_NUM, sprNum } from '../abi/spr.js';
import { HFSCR_TM, type Cpu } from '../hw/cpu/cpu.js';
import type { RegsSnapshot } from '../hw/cpu/regs.js';

/** SRR1 bits an interrupt sets itself (ISA bits 33:36 and 42:47): not part of the MSR. */
export const SRR1_INT_BITS = 0x783f0000n;
export const SC_LEV1 = 1n << SRR1_SC_LEV_SHIFT;
/** The MSR the hypervisor runs with. */
export const HV_MSR = MSR.SF | MSR.LE | MSR.ME | MSR.HV;
/** An SVM kernel's MSR when the ultravisor delivers an interrupt or enters it (EE off). */
export const SVM_KERNEL_MSR = MSR.SF | MSR.LE | MSR.ME | MSR.S;

/** The sensitive SPRs that can be masked (the time base cannot be written by anyone). */
const MASKED = REFLECT_MASKED_SPRS.map(sprNum).filter((n) => SPR_BY_NUM.get(n)!.write !== 'none');
const R = {
  USRR0: SPR.USRR0!, USRR1: SPR.USRR1!, SRR0: SPR.SRR0!, SRR1: SPR.SRR1!, HSRR0: SPR.HSRR0!, HSRR1: SPR.HSRR1!,
  HRMOR: SPR.HRMOR!, LPIDR: SPR.LPIDR!, HFSCR: SPR.HFSCR!, DAR: SPR.DAR!, DSISR: SPR.DSISR!,
} as const;

/** Everything of an interrupted vCPU the ultravisor keeps while the hypervisor runs. */
export interface SavedVcpu {
  regs: RegsSnapshot;
  /** Where it resumes (USRR0 at entry) and its MSR (USRR1 without the interrupt's own bits). */
  pc: bigint;
  msr: bigint;
  sprs: bigint[];
  lpid: number;
}

/** Saved states are recycled: a reflection per hypercall must not cost an allocation each. */
const spare: SavedVcpu[] = [];

export function saveVcpu(cpu: Cpu): SavedVcpu {
  const r = cpu.regs;
  let s = spare.pop();
  if (s) {
    s.regs.gpr.set(r.gpr); s.regs.lrctr.set(r.lrctr); s.regs.vsr.set(r.vsr32);
    s.regs.cr = r.cr; s.regs.xer = r.xer; s.regs.fpscr = r.fpscr; s.regs.vscr = r.vscr; s.regs.pc = r.pc;
  } else {
    s = { regs: r.snapshot(), pc: 0n, msr: 0n, sprs: new Array<bigint>(MASKED.length), lpid: 0 };
  }
  s.pc = cpu.mfspr(R.USRR0);
  s.msr = cpu.mfspr(R.USRR1) & ~SRR1_INT_BITS;
  for (let i = 0; i < MASKED.length; i++) s.sprs[i] = cpu.mfspr(MASKED[i]!);
  s.lpid = cpu.lpid;
  return s;
}

/**
 * A vCPU that never ran (RTAS start-cpu): every register zero but R3, entered at `pc` with the
 * SVM kernel's MSR (S=1, EE=0) when the hypervisor starts it with UV_RETURN.
 */
export function freshVcpu(pc: bigint, r3: bigint, lpid: number): SavedVcpu {
  const regs: RegsSnapshot = {
    gpr: new Uint32Array(64), lrctr: new Uint32Array(4), cr: 0, xer: 0, fpscr: 0, vscr: 0, vsr: new Uint32Array(256), pc: 0,
  };
  const s: SavedVcpu = { regs, pc, msr: SVM_KERNEL_MSR, sprs: new Array<bigint>(MASKED.length).fill(0n), lpid };
  regs.gpr[6] = Number(r3 & 0xffffffffn);
  regs.gpr[7] = Number(r3 >> 32n);
  return s;
}

/** Give a saved state back once nothing refers to it (its registers are wiped first). */
export function releaseVcpu(s: SavedVcpu): void {
  s.regs.gpr.fill(0); s.regs.vsr.fill(0); s.regs.lrctr.fill(0);
  s.sprs.fill(0n);
  if (spare.length < 64) spare.push(s);
}

/** Random words for scrubbing, refilled from the CSPRNG in bulk. */
const noise = new Uint32Array(16384);
let noiseAt = noise.length;
function randomWords(n: number): Uint32Array {
  if (noiseAt + n > noise.length) { randomFillSync(noise); noiseAt = 0; }
  const w = noise.subarray(noiseAt, noiseAt + n);
  noiseAt += n;
  return w;
}

/**
 * Build the hypervisor's view: `inputs` go to R3.., everything else is noise. `cookie` stands
 * for the PC in SRR0, HSRR0 and R31; `srr1` is the MSR the hypervisor is shown.
 */
/**
 * `mask`: the state the sensitive SPRs hold now: the vCPU's (those that are not zero are
 * cleared), unknown ('all': clear every one), or the hypervisor's own values, left by the
 * UV_RETURN that resumed a context ('none': nothing of an SVM is in them).
 */
export function buildFrame(cpu: Cpu, inputs: readonly bigint[], cookie: bigint, srr1: bigint, lpid: number, mask: SavedVcpu | 'all' | 'none'): void {
  const r = cpu.regs;
  const w = randomWords(65);
  r.gpr.set(w.subarray(0, 64));
  for (let k = 0; k < inputs.length; k++) r.setGpr(3 + k, inputs[k]!);
  r.setGpr(31, cookie);
  r.cr = w[64]! | 0;
  r.clearVector();
  // With the vCPU's values at hand, only the SPRs that hold something need clearing.
  if (mask !== 'none') for (let i = 0; i < MASKED.length; i++) if (mask === 'all' || mask.sprs[i] !== 0n) cpu.mtspr(MASKED[i]!, 0n);
  cpu.mtspr(R.SRR0, cookie);
  cpu.mtspr(R.SRR1, srr1);
  cpu.mtspr(R.HSRR0, cookie);
  cpu.mtspr(R.HSRR1, srr1);
  cpu.mtspr(R.LPIDR, BigInt(lpid));
}

/** Leave for the hypervisor's handler at `vector` (relative to its HRMOR). */
export function toHypervisor(cpu: Cpu, vector: number): void {
  cpu.mtspr(R.USRR0, cpu.mfspr(R.HRMOR) + BigInt(vector));
  cpu.mtspr(R.USRR1, HV_MSR);
}

/** Put an SVM vCPU back exactly as it was; the caller then sets outputs and does urfid. */
export function restoreVcpu(cpu: Cpu, s: SavedVcpu): void {
  cpu.regs.restore(s.regs);
  for (let i = 0; i < MASKED.length; i++) cpu.mtspr(MASKED[i]!, s.sprs[i]!);
  cpu.mtspr(R.LPIDR, BigInt(s.lpid));
  cpu.mtspr(R.USRR0, s.pc);
  cpu.mtspr(R.USRR1, s.msr);
  if ((s.msr & MSR.S) !== 0n) denyTm(cpu);
}

/** An SVM never gets transactional memory: with HFSCR[TM]=0 its tbegin. traps to us. */
export function denyTm(cpu: Cpu): void {
  const h = cpu.mfspr(R.HFSCR);
  if ((h & HFSCR_TM) !== 0n) cpu.mtspr(R.HFSCR, h & ~HFSCR_TM);
}

/**
 * After restoreVcpu: deliver `vector` into the SVM's kernel instead of resuming it, the way the
 * hardware would (SRR0/SRR1 = where it was; the kernel runs at the vector with S=1, EE=0).
 */
export function redirectToVector(cpu: Cpu, s: SavedVcpu, vector: number, srr1Bits: bigint, dar?: number, dsisr?: number): void {
  cpu.mtspr(R.SRR0, s.pc);
  cpu.mtspr(R.SRR1, s.msr | (srr1Bits & SRR1_INT_BITS));
  if (dar !== undefined) cpu.mtspr(R.DAR, BigInt(dar));
  if (dsisr !== undefined) cpu.mtspr(R.DSISR, BigInt(dsisr));
  cpu.mtspr(R.USRR0, BigInt(vector));
  cpu.mtspr(R.USRR1, SVM_KERNEL_MSR);
}
