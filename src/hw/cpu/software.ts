// How privileged software written in TypeScript runs on the model CPU (ARCHITECTURE.md,
// execution model). A piece of software is a set of flows: generators that run on a hardware
// thread and yield the architected instruction they end with (sc, rfid, hrfid, urfid,
// mtmsrd, ...). The CPU performs it with its real semantics; a flow suspended at `sc` is
// resumed when control comes back to the address after it, in the same mode, as on hardware.

import type { Cpu } from './cpu.js';
import type { HardwareInterrupt } from '../faults.js';

export type Op =
  /**
   * `errorOnly`: the call does not come back when it succeeds (UV_RETURN resumes a vCPU, not
   * its caller), so the flow is parked on this thread only until its next sc of the same kind
   * rather than kept among the flows that will be resumed.
   */
  | { op: 'sc'; lev: 0 | 1 | 2; errorOnly?: boolean }
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
  /**
   * For software whose every entry runs to completion and ends in one return instruction or a
   * stop (the ultravisor's handlers never wait inside an entry): that instruction, with no
   * flow to create and keep. When present the CPU calls it instead of `enter`.
   */
  enterOnce?(cpu: Cpu, pc: number): EntryOp;
}

/** How a run-to-completion entry ends. */
export type EntryOp = { op: 'rfid' } | { op: 'hrfid' } | { op: 'urfid' } | { op: 'stop'; reason: string };

/**
 * Guest code is found in guest memory, as on hardware: a model kernel or program starts with a
 * magic string that names the TypeScript implementation registered for it. Real ppc64le code
 * has no magic and runs on the interpreter.
 */
export interface CodeFactory {
  magic: string;
  create(cpu: Cpu, lpid: number, entry: number, image: Uint8Array): Software;
}
