// The assembler, built from the table: encode an entry with field values (used by the tests'
// generators and the differential harness), or parse the disassembler's own text back.

import { FIELDS, fieldRange, place, writeField } from './fields.js';
import { BY_MNEM, type Encoding } from './encoding.js';

export interface AsmFlags { rc?: boolean; oe?: boolean; lk?: boolean; aa?: boolean }

/**
 * Encode an instruction from the values of its operands in table order (VMX register fields
 * take VSR numbers 32..63, as in decoded instructions). Throws on out-of-range values.
 */
export function encode(mnem: string, values: readonly number[], flags: AsmFlags = {}): number {
  const e = BY_MNEM.get(mnem);
  if (!e) throw new Error(`no instruction ${mnem}`);
  return encodeWith(e, values, flags);
}

export function encodeWith(e: Encoding, values: readonly number[], flags: AsmFlags = {}): number {
  if (values.length !== e.operands.length) throw new Error(`${e.def.mnem}: ${e.operands.length} operands expected, got ${values.length}`);
  let w = e.match;
  e.operands.forEach((o, i) => {
    const fd = FIELDS[o.field];
    const v = values[i]!;
    const r = fieldRange(fd);
    if (!Number.isInteger(v) || v < r.min || v > r.max || (v - (fd.add ?? 0)) % r.step !== 0) {
      throw new Error(`${e.def.mnem}: operand ${o.field}=${v} out of range ${r.min}..${r.max}`);
    }
    w |= writeField(fd, v);
  });
  const f = e.flags;
  const flag = (want: boolean | undefined, pos: number | undefined, name: string) => {
    if (!want) return;
    if (pos === undefined) throw new Error(`${e.def.mnem} has no ${name} form`);
    w |= place(1, pos, pos);
  };
  flag(flags.rc, f.rc, 'record (.)');
  flag(flags.oe, f.oe, 'overflow (o)');
  flag(flags.lk, f.lk, 'link (l)');
  flag(flags.aa, f.aa, 'absolute (a)');
  return w >>> 0;
}

const CRBIT_NAMES: Record<string, number> = { lt: 0, gt: 1, eq: 2, so: 3, un: 3 };

function parseValue(text: string, kind: string, pc: number): number {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if ((m = /^r(\d+)$/.exec(t)) && (kind === 'gpr' || kind === 'gpr0')) return Number(m[1]);
  if ((m = /^f(\d+)$/.exec(t)) && kind === 'fpr') return Number(m[1]);
  if ((m = /^vs(\d+)$/.exec(t)) && kind === 'vsr') return Number(m[1]);
  if ((m = /^v(\d+)$/.exec(t)) && kind === 'vr') return Number(m[1]) + 32;
  if ((m = /^cr(\d)$/.exec(t)) && kind === 'cr') return Number(m[1]);
  if (kind === 'crbit') {
    if ((m = /^4\*cr(\d)\+(lt|gt|eq|so|un)$/.exec(t))) return 4 * Number(m[1]) + CRBIT_NAMES[m[2]!]!;
    if (Object.hasOwn(CRBIT_NAMES, t)) return CRBIT_NAMES[t]!;
  }
  if (kind === 'target') {
    if (t === '.') return 0;
    if ((m = /^\.([+-]\d+)$/.exec(t))) return Number(m[1]);
    return Number(t) - pc;
  }
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`cannot read operand '${t}'`);
  return n;
}

/** Assemble one line in the disassembler's syntax ("addi r3,r1,-16", "bc 12,eq,.+8"). */
export function assemble(line: string, pc = 0): number {
  const m = /^\s*(\S+)\s*(.*)$/.exec(line);
  if (!m) throw new Error(`empty line`);
  let name = m[1]!;
  const flags: AsmFlags = {};
  let e = BY_MNEM.get(name);
  if (!e && name.endsWith('.')) { name = name.slice(0, -1); flags.rc = true; e = BY_MNEM.get(name); }
  if (!e && name.endsWith('o')) { const n = name.slice(0, -1); if (BY_MNEM.has(n)) { name = n; flags.oe = true; e = BY_MNEM.get(n); } }
  if (!e && name.endsWith('a')) { const n = name.slice(0, -1); if (BY_MNEM.has(n) || BY_MNEM.has(n.slice(0, -1))) { name = n; flags.aa = true; e = BY_MNEM.get(n); } }
  if (!e && name.endsWith('l')) { const n = name.slice(0, -1); if (BY_MNEM.has(n)) { flags.lk = true; e = BY_MNEM.get(n); } }
  if (!e) throw new Error(`unknown mnemonic ${m[1]}`);
  const args = m[2]!.trim() === '' ? [] : m[2]!.split(',').flatMap((a) => {
    const p = /^(.*)\((.*)\)$/.exec(a.trim());
    return p ? [p[1]!, p[2]!] : [a];
  });
  const values = e.operands.map((o, i) => {
    const a = args[i];
    if (a === undefined) throw new Error(`${e!.def.mnem}: missing operand ${o.field}`);
    return parseValue(a, FIELDS[o.field].kind, pc);
  });
  if (args.length !== e.operands.length) throw new Error(`${e.def.mnem}: too many operands`);
  return encodeWith(e, values, flags);
}
