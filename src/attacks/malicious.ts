// A compromised hypervisor is just another set of handlers at the hypervisor's level. This one
// runs the honest hypervisor's flows and lets an attack step in at two places, using only what
// hypervisor-mode software has: its registers and SPRs, the host memory port, DMA and the
// ultracall ABI (`sc 2`).
//   - entry: every interrupt that enters hypervisor mode (a reflected hypercall at 0xC00, HDEC,
//     a machine check...). The attack may run first and then continue with the honest handler,
//     or do something else entirely (and end with its own return instruction).
//   - ucall: every ultracall the honest hypervisor makes (UV_PAGE_IN, UV_RETURN, ...). The
//     attack performs it in its place: change the arguments or the page it hands over, make
//     other calls before or after, or not make it at all, and leave results in the registers.
// The honest hypervisor's own bookkeeping is the attacker's to read and change too.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Flow, Op, Software } from '../hw/cpu/software.js';
import type { Hypervisor } from '../hypervisor/index.js';
import type { RegsSnapshot } from '../hw/cpu/regs.js';
import { SPR } from '../abi/spr.js';
import { rcOf } from '../abi/retcodes.js';

export type Gen<T = void> = Generator<Op, T, void>;

export interface Tamper {
  /**
   * Control entered hypervisor mode at `vector` (relative to HRMOR). Return a flow to run
   * instead of the honest handler (it may `yield* honest()` to continue with it), or undefined
   * to leave it to the honest hypervisor.
   */
  entry?(cpu: Cpu, vector: number, honest: () => Flow): Flow | undefined;
  /**
   * The honest hypervisor is about to make ultracall `nr` (R3, arguments in R4..). Return a
   * generator that does it in its place (`yield* sc2(cpu)` performs it) and leaves the
   * results in R3.., or undefined to let it go as it is.
   */
  ucall?(cpu: Cpu, nr: number): Gen | undefined;
  /**
   * The honest hypervisor is about to perform `op` (hrfid into a guest, say; ultracalls go to
   * `ucall` first). Return a generator to run in its place, or undefined.
   */
  instruction?(cpu: Cpu, op: Op): Gen | undefined;
}

/** The registers a hypervisor flow keeps across work of its own. */
export interface HvState { regs: RegsSnapshot; sprs: Map<number, bigint> }
const KEPT_SPRS = ['SRR0', 'SRR1', 'HSRR0', 'HSRR1', 'HDAR', 'HDSISR', 'ASDR', 'LPIDR', 'DAR', 'DSISR'].map((n) => SPR[n]!);

export function saveHv(cpu: Cpu): HvState {
  return { regs: cpu.regs.snapshot(), sprs: new Map(KEPT_SPRS.map((n) => [n, cpu.mfspr(n)])) };
}
export function restoreHv(cpu: Cpu, s: HvState): void {
  const pc = cpu.regs.pc;
  cpu.regs.restore(s.regs);
  cpu.regs.pc = pc;
  for (const [n, v] of s.sprs) cpu.mtspr(n, v);
}

/** Perform the ultracall the registers describe; the status is in R3 afterwards (also returned). */
export function* sc2(cpu: Cpu): Gen<number> {
  yield { op: 'sc', lev: 2 };
  return rcOf(cpu.regs.getGpr(3));
}

/** An ultracall of the attacker's own: R3 = nr, R4.. = args; returns status and R4..R11. */
export function* ultracall(cpu: Cpu, nr: number, ...args: (number | bigint)[]): Gen<{ rc: number; out: bigint[] }> {
  cpu.regs.setGpr(3, BigInt(nr));
  args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt.asUintN(64, BigInt(a))));
  const rc = yield* sc2(cpu);
  return { rc, out: Array.from({ length: 8 }, (_, i) => cpu.regs.getGpr(4 + i)) };
}

/** Run `work` and put the hypervisor's registers back as they were before it. */
export function* preserving<T>(cpu: Cpu, work: Gen<T>): Gen<T> {
  const s = saveHv(cpu);
  try { return yield* work; } finally { restoreHv(cpu, s); }
}

export class MaliciousHypervisor implements Software {
  readonly name = 'hypervisor (compromised)';
  readonly tampers: Tamper[] = [];

  constructor(readonly honest: Hypervisor, ...tampers: Tamper[]) { this.tampers.push(...tampers); }

  enter(cpu: Cpu, pc: number): Flow {
    const vector = pc - Number(cpu.mfspr(SPR.HRMOR!));
    const honest = () => this.honestAt(cpu, vector);
    for (const t of this.tampers) {
      const f = t.entry?.(cpu, vector, honest);
      if (f) return f;
    }
    return honest();
  }

  /** The honest hypervisor's handler for `vector`, as if control had just arrived there (tampers still see its ultracalls). */
  honestAt(cpu: Cpu, vector: number): Flow {
    return this.#intercept(cpu, this.honest.enter(cpu, Number(cpu.mfspr(SPR.HRMOR!)) + vector));
  }

  /** The honest flow, with every ultracall and instruction it performs offered to the tampers first. */
  *#intercept(cpu: Cpu, inner: Flow): Flow {
    try {
      for (;;) {
        const r = inner.next();
        if (r.done) return;
        const op = r.value;
        if (op.op === 'sc' && op.lev === 2) {
          const nr = Number(cpu.regs.getGpr(3));
          const g = this.tampers.map((t) => t.ucall?.(cpu, nr)).find((x) => x !== undefined);
          if (g) { yield* g; continue; }
        } else {
          const g = this.tampers.map((t) => t.instruction?.(cpu, op)).find((x) => x !== undefined);
          if (g) { yield* g; continue; }
        }
        yield op;
      }
    } finally {
      inner.return(undefined);
    }
  }
}
