// Derived facts about each table entry: its opcode mask and match value, its parsed operand
// list and the flag bits its form carries. Shared by the decoder, disassembler and assembler.

import { FIELDS, place, type FieldName } from './fields.js';
import { FORMS, type InsnDef, type Operand } from './types.js';
import { TABLE } from './table/index.js';

export interface Encoding {
  def: InsnDef;
  mask: number;
  match: number;
  operands: Operand[];
  /** Flag bit positions (ISA numbering) the instruction really has: Rc, OE, LK, AA. */
  flags: { rc?: number; oe?: number; lk?: number; aa?: number };
  /** Constraints for generators and invalid-form checks. */
  rules: Set<string>;
}

export function parseOperands(ops: string): Operand[] {
  if (ops === '') return [];
  const out: Operand[] = [];
  for (const part of ops.split(',')) {
    const m = /^(\w+)\((\w+)\)$/.exec(part);
    if (m) { out.push({ field: m[1] as FieldName, paren: true }, { field: m[2] as FieldName }); continue; }
    if (!(part in FIELDS)) throw new Error(`unknown field ${part}`);
    out.push({ field: part as FieldName });
  }
  for (const o of out) if (!(o.field in FIELDS)) throw new Error(`unknown field ${o.field}`);
  return out;
}

function build(def: InsnDef): Encoding {
  const form = FORMS[def.form];
  let mask = place(0x3f, 0, 5), match = place(def.op, 0, 5);
  if (form.xo) {
    const [a, b] = form.xo as readonly [number, number];
    if (def.xo === undefined) throw new Error(`${def.mnem}: form ${def.form} needs an extended opcode`);
    mask |= place(0xffffffff, a, b); match |= place(def.xo, a, b);
  }
  for (const [a, b, v] of def.fix ?? []) { mask |= place(0xffffffff, a, b); match |= place(v, a, b); }
  const rules = new Set((def.rule ?? '').split(',').filter((r) => r !== ''));
  const flags: Encoding['flags'] = {};
  const ff = form.flags as { rc?: number; oe?: number; lk?: number; aa?: number };
  if (ff.rc !== undefined && !rules.has('Rc=0')) flags.rc = ff.rc;
  if (ff.oe !== undefined) flags.oe = ff.oe;
  if (ff.lk !== undefined && !rules.has('LK=0')) flags.lk = ff.lk;
  if (ff.aa !== undefined) flags.aa = ff.aa;
  return { def, mask: mask >>> 0, match: match >>> 0, operands: parseOperands(def.ops), flags, rules };
}

export const ENCODINGS: readonly Encoding[] = TABLE.map(build);
export const BY_MNEM: ReadonlyMap<string, Encoding> = new Map(ENCODINGS.map((e) => [e.def.mnem, e]));
