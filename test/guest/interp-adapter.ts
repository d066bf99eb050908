// A machine-mode adapter over the ISA interpreter's checked run loop, for the guest's tests
// until the machine's own interpreter is installed by the hardware layer: it runs a thread's
// problem-state machine code through the CPU's checked memory path and hands `sc`, rfid and
// faults to the CPU's architected operations.
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Interpreter } from '../../src/hw/machine.js';
import { runChecked, WordCache, type RunStop } from '../../src/hw/cpu/isa/interp.js';
import { St, type Sys } from '../../src/hw/cpu/isa/state.js';
import { MSR } from '../../src/abi/msr.js';

export function testInterpreter(): Interpreter & { retired: number } {
  const cache = new WordCache();
  const out: RunStop = { retired: 0, fault: null, pc: 0 };
  const self = {
    retired: 0,
    run(cpu: Cpu): void {
      const sys: Sys = {
        sc(lev, pc) { st.push(); cpu.sc(lev as 0 | 1 | 2, pc + 4); return -1; },
        mfspr: (n) => cpu.mfspr(n),
        mtspr: (n, v) => cpu.mtspr(n, v),
        mfmsr: () => cpu.msr,
        mtmsrd(v, l, pc) { st.push(); cpu.mtmsrd(v, l); return pc + 4; },
        rfi(kind) { st.push(); cpu[kind](); return -1; },
        tm(_k, pc) { cpu.tbegin(); return pc + 4; },
        darn: () => cpu.darn(),
        timebase: () => cpu.mfspr(268),
        reserve(ea) { cpu.reserveAddr = ea; },
        storeConditional(ea) { const ok = cpu.reserveAddr === ea; cpu.reserveAddr = -1; return ok; },
        codeChanged() { /* decodes are keyed by instruction word: nothing to drop */ },
      };
      const st = new St(cpu.regs, cpu, sys);
      const msr = cpu.msr;
      const disabled = ((msr & MSR.FP) ? 0 : 1) | ((msr & MSR.VEC) ? 0 : 2) | ((msr & MSR.VSX) ? 0 : 4);
      runChecked(st, cache, cpu.regs.pc, 10_000, disabled, out);
      self.retired += out.retired;
      if (out.pc >= 0) st.push();
      if (out.fault) cpu.deliver(out.fault.vector, out.pc, out.fault.srr1Bits);
      else if (out.pc >= 0) cpu.regs.pc = out.pc;
    },
  };
  return self;
}
