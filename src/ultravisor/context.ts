// Long ultravisor work (UV_ESM, a share, an unshare, bringing a paged-out page back) runs on a
// context of its own: a generator that yields each hypercall it needs the hypervisor to make,
// as if the VM had made it, and is resumed with the answer when the hypervisor comes back with
// UV_RETURN and the right cookie. When it ends, it says how the interrupted caller continues.

import type { SavedVcpu } from './reflect.js';

export interface HcallRequest {
  nr: number;
  args: bigint[];
  /** The partition the hypercall concerns, when not the context's own (overcommit victims). */
  lpid?: number;
}

export interface HcallAnswer {
  /** The hypervisor's status (R0 at UV_RETURN). */
  rc: number;
  /** R4.. at UV_RETURN. */
  out: bigint[];
}

export type ContextEnd =
  /** Resume the caller with a status and outputs (an ultracall from an SVM). */
  | { kind: 'return'; rc: number; out?: bigint[] }
  /** Resume the caller exactly where it was: the faulting access is retried. */
  | { kind: 'retry' }
  /** The faulting instruction was done for the SVM (MMIO): resume after it, a load's value in GPR `gpr`. */
  | { kind: 'emulated'; gpr?: number; value?: bigint }
  /** Deliver an interrupt into the SVM's kernel. */
  | { kind: 'inject'; vector: number; srr1Bits: bigint; dar?: number; dsisr?: number }
  /** UV_ESM succeeded: enter the now secure guest, kexec style. */
  | { kind: 'enter'; pc: number; r3: bigint; r4: bigint; r5: bigint }
  /** UV_ESM failed after H_SVM_INIT_START: hand the VM back through H_SVM_INIT_ABORT. */
  | { kind: 'abort' };

export type ContextFlow = Generator<HcallRequest, ContextEnd, HcallAnswer>;

export interface UvContext {
  readonly name: string;
  readonly lpid: number;
  readonly flow: ContextFlow;
  /** The interrupted caller: the SVM's vCPU, or the VM that issued UV_ESM. */
  readonly caller: SavedVcpu;
  /** SRR1 shown to the hypervisor for this context's hypercalls (MSR[S] set, sc level 1). */
  readonly srr1: bigint;
  /** Hypercalls made so far: after the first, the thread holds the hypervisor's state, not the caller's. */
  hcalls: number;
}
