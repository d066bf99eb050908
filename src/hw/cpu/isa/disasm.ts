// The disassembler, built from the table: base mnemonics (no extended forms), operands in the
// style of binutils' raw PowerPC output so the two can be compared instruction by instruction.

import { FIELDS, readField, bits } from './fields.js';
import { lookup } from './decode.js';
import type { Encoding } from './encoding.js';

const CRBITS = ['lt', 'gt', 'eq', 'so'];

export function crbitName(n: number): string {
  const f = n >> 2, b = CRBITS[n & 3]!;
  return f === 0 ? b : `4*cr${f}+${b}`;
}

/** The printed mnemonic of a word for its entry (with o, ., l, a suffixes). */
export function mnemonicOf(e: Encoding, w: number): string {
  const f = e.flags;
  let m = e.def.mnem;
  if (f.lk !== undefined && bits(w, f.lk, f.lk)) m += 'l';
  if (f.aa !== undefined && bits(w, f.aa, f.aa)) m += 'a';
  if (f.oe !== undefined && bits(w, f.oe, f.oe)) m += 'o';
  if (f.rc !== undefined && bits(w, f.rc, f.rc)) m += '.';
  return m;
}

function hex(n: number): string { return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`; }

/** Disassemble one word; `pc` makes branch targets absolute. */
export function disasm(w: number, pc?: number): string {
  w >>>= 0;
  const e = lookup(w);
  if (!e) return `.long 0x${w.toString(16).padStart(8, '0')}`;
  const parts: string[] = [];
  const ops = e.operands;
  const aa = e.flags.aa !== undefined && bits(w, e.flags.aa, e.flags.aa) === 1;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    const fd = FIELDS[o.field];
    const v = readField(fd, w);
    let text: string;
    switch (fd.kind) {
      case 'gpr': text = `r${v}`; break;
      case 'gpr0': text = v === 0 ? '0' : `r${v}`; break;
      case 'fpr': text = `f${v}`; break;
      case 'vr': text = `v${v - 32}`; break;
      case 'vsr': text = `vs${v}`; break;
      case 'cr': text = `cr${v}`; break;
      case 'crbit': text = crbitName(v); break;
      case 'target': text = aa ? hex(v) : pc === undefined ? (v >= 0 ? `.+${v}` : `.${v}`) : hex(pc + v); break;
      default: text = String(v);
    }
    if (o.paren) {
      const base = ops[++i]!;
      const bv = readField(FIELDS[base.field], w);
      text = `${v}(${FIELDS[base.field].kind === 'gpr0' && bv === 0 ? '0' : `r${bv}`})`;
    }
    parts.push(text);
  }
  const m = mnemonicOf(e, w);
  return parts.length ? `${m.padEnd(7)} ${parts.join(',')}` : m;
}
