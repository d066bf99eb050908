// How privileged software written in TypeScript runs on the model CPU (ARCHITECTURE.md,
// execution model). A piece of software is a set of flows: generators that run on a hardware
// thread and yield the architected instruction they end with (sc, rfid, hrfid, urfid,
// mtmsrd, ...). The CPU performs it with its real semantics; a flow suspended at `sc` is
// resumed when control comes back to the address after it, in the same mode, as on hardware.

import type { Cpu } from './cpu.js';
import type { HardwareInterrupt } from '../faults.js';

export type Op =
  | { op: 'sc'; lev: 0 | 1 | 2 }
  | { op: 'rfid' }
  | { op: 'hrfid' }
  | { op: 'urfid' }
  | { op: 'mtmsrd'; value: bigint; l?: 0 | 1 }
  /** Deliver this interrupt now; the flow is resumed (to retry) if control returns to it. */
  | { op: 'raise'; interrupt: HardwareInterrupt }
  /** Nap until an asynchronous interrupt; resumed after it (at the next instruction). */
  | { op: 'idle' }
  /** A transactional-memory instruction (tbegin.): checked against HFSCR and MSR[TM]. */
  | { op: 'tbegin' }
  /** Stop this hardware thread (the machine powers it off). */
  | { op: 'stop'; reason: string };

export type Flow = Generator<Op, void, void>;

export interface Software {
  /** Human-readable name for traces. */
  readonly name: string;
  /** Start a new flow at `pc`: an interrupt vector, or an entry point. */
  enter(cpu: Cpu, pc: number): Flow;
}

/**
 * Guest code is found in guest memory, as on hardware: a model kernel or program starts with a
 * magic string that names the TypeScript implementation registered for it. Real ppc64le code
 * has no magic and runs on the interpreter.
 */
export interface CodeFactory {
  magic: string;
  create(cpu: Cpu, lpid: number, entry: number, image: Uint8Array): Software;
}
