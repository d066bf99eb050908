// Shorthand for writing table entries.
import type { Exec, FormName, InsnDef } from '../types.js';

export type Extra = Partial<Omit<InsnDef, 'mnem' | 'form' | 'op' | 'xo' | 'ops' | 'exec'>>;

/** One table entry: mnemonic, form, primary opcode, extended opcode, operands, semantics. */
export function def(mnem: string, form: FormName, op: number, xo: number | undefined, ops: string, exec: Exec, extra: Extra = {}): InsnDef {
  return { mnem, form, op, ...(xo === undefined ? {} : { xo }), ops, exec, fac: 'int', gen: 'alu', ...extra };
}
