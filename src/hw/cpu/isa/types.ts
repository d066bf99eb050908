// The shape of the instruction table and of a decoded instruction. One table (table/index.ts)
// lists every instruction the model executes: mnemonic, form, opcode, operands, semantics,
// facility and how tests may generate it. The decoder, the disassembler, the assembler, the
// interpreter and the random differential tester are all built from it.

import type { FieldName } from './fields.js';
import type { St } from './state.js';

/**
 * Instruction formats. Each names where its extended opcode lives and which flag bits it has
 * (Rc: record to CR, OE: record overflow, LK: link, AA: absolute).
 */
export const FORMS = {
  I: { xo: null, flags: { aa: 30, lk: 31 } },
  B: { xo: null, flags: { aa: 30, lk: 31 } },
  SC: { xo: [30, 30], flags: {} },
  D: { xo: null, flags: {} },
  DS: { xo: [30, 31], flags: {} },
  DQ: { xo: [29, 31], flags: {} },
  X: { xo: [21, 30], flags: { rc: 31 } },
  /** X-form whose bit 31 is part of the opcode (stwcx., tbegin., ...). */
  X1: { xo: [21, 31], flags: {} },
  XL: { xo: [21, 30], flags: { lk: 31 } },
  XFX: { xo: [21, 30], flags: {} },
  XFL: { xo: [21, 30], flags: { rc: 31 } },
  XO: { xo: [22, 30], flags: { oe: 21, rc: 31 } },
  /** XO-form without an OE bit (mulhw, ...): bit 21 is reserved. */
  XOn: { xo: [22, 30], flags: { rc: 31 } },
  XS: { xo: [21, 29], flags: { rc: 31 } },
  A: { xo: [26, 30], flags: { rc: 31 } },
  M: { xo: null, flags: { rc: 31 } },
  MD: { xo: [27, 29], flags: { rc: 31 } },
  MDS: { xo: [27, 30], flags: { rc: 31 } },
  VA: { xo: [26, 31], flags: {} },
  VX: { xo: [21, 31], flags: {} },
  VC: { xo: [22, 31], flags: { rc: 21 } },
  XX1: { xo: [21, 30], flags: {} },
  XX2: { xo: [21, 29], flags: {} },
  /** XX2 with a 10-bit extended opcode (xxspltw, ...). */
  XX2a: { xo: [21, 30], flags: {} },
  XX3: { xo: [21, 28], flags: {} },
  /** XX3 with an Rc bit at 21 (xvcmpeqdp.). */
  XX3r: { xo: [22, 28], flags: { rc: 21 } },
  /** XX3 whose 22:23 is an operand (xxpermdi, xxsldwi); bit 21 is fixed by the entry. */
  XX3i: { xo: [24, 28], flags: {} },
  XX4: { xo: [26, 27], flags: {} },
  Z23: { xo: [23, 30], flags: { rc: 31 } },
  DX: { xo: [26, 30], flags: {} },
} as const;

export type FormName = keyof typeof FORMS;

/** Architectural facility an instruction needs: its MSR enable bit, or privilege. */
export type Facility = 'int' | 'fp' | 'vec' | 'vsx' | 'priv' | 'hv' | 'tm';

/**
 * How the random differential tester may use an instruction:
 * 'alu' any operands; 'load'/'store' need a base register into the test's data area;
 * 'branch' needs a target inside the sequence; 'none' is never generated (system, traps,
 * instructions whose results the ISA leaves undefined or that leave the sequence).
 */
export type GenKind = 'alu' | 'load' | 'store' | 'branch' | 'none';

/** Semantics: execute one instruction at `pc`; return the next PC, or -1 when control left. */
export type Exec = (s: St, d: Dec, pc: number) => number;

export interface InsnDef {
  mnem: string;
  form: FormName;
  /** Primary opcode (bits 0:5). */
  op: number;
  /** Extended opcode in the form's XO bits (absent for forms without one). */
  xo?: number;
  /** Extra fixed bits: [from, to, value] in ISA numbering (a field used as more opcode). */
  fix?: readonly (readonly [number, number, number])[];
  /** Operands in assembler order; '(' marks D(RA) style: 'RT,D(RA)'. */
  ops: string;
  exec: Exec;
  fac: Facility;
  gen: GenKind;
  /** Operand constraints for generated tests, e.g. 'RA!=0,RA!=RT' for update forms. */
  rule?: string;
  /** ISA level that introduced it (informational, and for POWER8 vs POWER9 test generation). */
  isa?: '2.07' | '3.0';
  /**
   * Ends a basic block: the instruction may transfer control (branches, sc, rfid, mtmsrd, ...)
   * or is context synchronizing (isync). Every other instruction returns pc + 4 or throws.
   */
  term?: boolean;
  /**
   * The same semantics as JavaScript source for the block translator, with every field a
   * constant: statements for an ordinary instruction, statements ending in `return NEXT_PC;` for
   * a terminator. Null means "call exec" for this instance (e.g. an OE=1 form).
   */
  jit?: Jit;
  /** Precompute decoded values after field extraction (rotate masks, ...). */
  prep?: (d: Dec) => void;
}

/**
 * How a template names machine state in translated code: GPR halves and CR may live in JS
 * locals for the length of a block (see blocks.ts).
 */
export interface JitCtx {
  /** Expression reading the low / high 32 bits of GPR r, as an int32 (the bits, signed). */
  lo(r: number): string;
  hi(r: number): string;
  /** Statement setting GPR r from two expressions (evaluated before either half is written). */
  set(r: number, lo: string, hi: string): string;
  /** The CR as an assignable expression. */
  readonly cr: string;
}

/** A code template (see InsnDef.jit). */
export type Jit = (d: Dec, pc: number, c: JitCtx) => string | null;

/**
 * Semantics built from an expression (vector element-wise operations, fixed permutes) carry
 * their own template, derived from the same expression, so the translator needs no second copy.
 */
const EXEC_JIT = new WeakMap<Exec, Jit>();
export function withJit(exec: Exec, jit: Jit): Exec { EXEC_JIT.set(exec, jit); return exec; }
export function jitOf(exec: Exec): Jit | undefined { return EXEC_JIT.get(exec); }

/** Parsed operand list of a table entry. */
export interface Operand { field: FieldName; /** printed as disp(base) with the next operand */ paren?: boolean }

/**
 * A decoded instruction. One shape for every instruction (fast monomorphic access in the
 * interpreter); the slots t/a/b/c hold register numbers, i/j/k immediates, m0/m1 precomputed
 * 64-bit masks (low/high halves). VMX registers appear as VSR numbers (32..63).
 */
export class Dec {
  t = 0; a = 0; b = 0; c = 0;
  i = 0; j = 0; k = 0;
  rc = 0; oe = 0; lk = 0; aa = 0;
  m0 = 0; m1 = 0;
  /** Facility bits needed (FP 1, VEC 2, VSX 4): the machine raises the unavailable interrupt. */
  fm = 0;
  constructor(readonly w: number, readonly def: InsnDef, public x: Exec) {}
}
