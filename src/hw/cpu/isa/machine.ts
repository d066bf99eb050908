// The ISA interpreter inside the machine: Machine.setInterpreter(createMachineInterpreter())
// makes guest hardware threads execute real Power ISA code whenever their PC holds no model
// code. Every fetch, load and store goes through the CPU's checked path (partition-scoped
// translation, the secure-memory rule), every privileged instruction through the CPU's own
// architected operation (mfspr/mtspr with their privilege checks, sc, rfid/hrfid/urfid,
// mtmsrd, tbegin., darn), and every interrupt is delivered by the CPU at the instruction that
// raised it. A run call is bounded (`budget` instructions) so that the machine can interleave
// threads and count time; it returns when control leaves the interpreted code or the budget ends.

import { MSR, SRR1_PROGRAM_PRIV } from '../../../abi/msr.js';
import { HardwareInterrupt } from '../../faults.js';
import type { Interpreter } from '../../machine.js';
import type { Cpu } from '../cpu.js';
import { runChecked, WordCache, type RunStop } from './interp.js';
import { St, type Sys } from './state.js';

/** The Sys of one hardware thread: each call syncs the scalar registers with the CPU's Regs. */
class CpuSys implements Sys {
  st!: St;
  constructor(private readonly cpu: Cpu) {}
  /** Run a CPU operation with Regs up to date before and the interpreter's copy after. */
  private on<T>(f: () => T): T {
    this.st.push();
    try { return f(); } finally { this.st.pull(); }
  }
  sc(lev: number, pc: number): number {
    this.on(() => this.cpu.sc(lev as 0 | 1 | 2, pc + 4));
    return -1;
  }
  mfspr(spr: number): bigint { return this.on(() => this.cpu.mfspr(spr)); }
  mtspr(spr: number, v: bigint): void { this.on(() => this.cpu.mtspr(spr, v)); }
  mfmsr(): bigint {
    if (this.cpu.problemState) throw new HardwareInterrupt(0x700, 'mfmsr in problem state', SRR1_PROGRAM_PRIV);
    return this.cpu.msr;
  }
  mtmsrd(v: bigint, l: 0 | 1, pc: number): number {
    // The MSR decides privilege, translation and facilities: leave the loop so they are re-read.
    this.on(() => this.cpu.mtmsrd(v, l));
    this.cpu.regs.pc = pc + 4;
    return -1;
  }
  rfi(kind: 'rfid' | 'hrfid' | 'urfid'): number {
    this.on(() => this.cpu[kind]());
    return -1;
  }
  tm(kind: string, pc: number): number {
    // tbegin. checks HFSCR[TM] and MSR[TM] (raising the facility interrupts); the model has no
    // transactions, so tbegin. reports failure and the other TM instructions find none active.
    this.on(() => {
      this.cpu.tbegin();
      if (kind !== 'tbegin.') this.cpu.regs.cr = (this.cpu.regs.cr & 0x0fffffff) >>> 0;
    });
    return pc + 4;
  }
  darn(): bigint { return this.cpu.darn(); }
  timebase(): bigint { return this.on(() => this.cpu.mfspr(268)); }
  reserve(ea: number): void { this.cpu.reserveAddr = ea; }
  storeConditional(ea: number): boolean {
    const ok = this.cpu.reserveAddr === ea;
    this.cpu.reserveAddr = -1;
    return ok;
  }
  /** Decodes are keyed by instruction word: nothing can be stale. */
  codeChanged(): void {}
}

export interface MachineInterpreter extends Interpreter {
  /** Instructions retired by every thread so far. */
  readonly retired: number;
}

/**
 * An Interpreter for Machine.setInterpreter. `budget`: instructions per run call (per scheduler
 * step of a thread).
 */
export function createMachineInterpreter(budget = 10_000): MachineInterpreter {
  const cache = new WordCache();
  const threads = new WeakMap<Cpu, St>();
  const out: RunStop = { retired: 0, fault: null, pc: 0 };
  let retired = 0;
  return {
    get retired() { return retired; },
    run(cpu: Cpu): void {
      let st = threads.get(cpu);
      if (!st) {
        const sys = new CpuSys(cpu);
        st = new St(cpu.regs, cpu, sys);
        sys.st = st;
        threads.set(cpu, st);
      }
      st.pull();
      const msr = cpu.msr;
      const disabled = ((msr & MSR.FP) ? 0 : 1) | ((msr & MSR.VEC) ? 0 : 2) | ((msr & MSR.VSX) ? 0 : 4);
      runChecked(st, cache, cpu.regs.pc, budget, disabled, out);
      retired += out.retired;
      st.push();
      if (out.fault) cpu.deliver(out.fault.vector, out.pc, out.fault.srr1Bits);
      else if (out.pc >= 0) cpu.regs.pc = out.pc;
    },
  };
}
