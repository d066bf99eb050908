// The decoder: instruction word -> decoded instruction (Dec), built from the table. Decoding is
// done once per word or address; the interpreter then calls Dec.x directly.

import { FIELDS, bits, readField } from './fields.js';
import { ENCODINGS, type Encoding } from './encoding.js';
import { Dec, type Exec, type InsnDef } from './types.js';
import { HardwareInterrupt } from '../../faults.js';
import { SRR1_PROGRAM_ILLEGAL } from '../../../abi/msr.js';

/** Per primary opcode: groups of entries sharing a mask, most specific mask first. */
const groups: { mask: number; byMatch: Map<number, Encoding> }[][] = Array.from({ length: 64 }, () => []);
for (const e of ENCODINGS) {
  const g = groups[e.def.op]!;
  let grp = g.find((x) => x.mask === e.mask);
  if (!grp) { grp = { mask: e.mask, byMatch: new Map() }; g.push(grp); }
  const clash = grp.byMatch.get(e.match);
  if (clash) throw new Error(`instruction table: ${e.def.mnem} and ${clash.def.mnem} have the same encoding`);
  grp.byMatch.set(e.match, e);
}
const popcount = (x: number) => { let n = 0; for (let v = x >>> 0; v; v &= v - 1) n++; return n; };
for (const g of groups) g.sort((a, b) => popcount(b.mask) - popcount(a.mask));

/** The table entry for a word, or undefined. */
export function lookup(w: number): Encoding | undefined {
  for (const grp of groups[w >>> 26]!) {
    const e = grp.byMatch.get((w & grp.mask) >>> 0);
    if (e) return e;
  }
  return undefined;
}

/** Facility bits (Dec.fm) the machine's run loop checks against MSR. */
export const FAC = { int: 0, fp: 1, vec: 2, vsx: 4, priv: 0, hv: 0, tm: 0 } as const;

const illegalDef: InsnDef = {
  mnem: '.long', form: 'D', op: 0, ops: '', fac: 'int', gen: 'none', term: true,
  exec: (_s, d, pc) => { throw new HardwareInterrupt(0xE40, `illegal instruction 0x${(d.w >>> 0).toString(16).padStart(8, '0')} at 0x${pc.toString(16)}`, SRR1_PROGRAM_ILLEGAL); },
};

/** Whether the word breaks one of the entry's invalid-form rules (RA=0 or RA=RT for updates). */
function invalidForm(e: Encoding, d: Dec): boolean {
  if (e.rules.size === 0) return false;
  if (e.rules.has('RA!=0') && d.a === 0) return true;
  if (e.rules.has('RA!=RT') && d.a === d.t) return true;
  for (const r of e.rules) {
    // "<slot>!=<n>": a reserved value of a field (dcbf L=2, ...).
    const m = /^([tabcijk])!=(\d+)$/.exec(r);
    if (m && d[m[1] as 't'] === Number(m[2])) return true;
  }
  return false;
}

/** Decode a word. Unknown words and invalid forms decode to an illegal-instruction entry. */
export function decode(w: number): Dec {
  w >>>= 0;
  const e = lookup(w);
  if (!e) return new Dec(w, illegalDef, illegalDef.exec);
  const d = new Dec(w, e.def, e.def.exec);
  for (const o of e.operands) {
    const fd = FIELDS[o.field];
    d[fd.slot] = readField(fd, w);
  }
  const f = e.flags;
  if (f.rc !== undefined) d.rc = bits(w, f.rc, f.rc);
  if (f.oe !== undefined) d.oe = bits(w, f.oe, f.oe);
  if (f.lk !== undefined) d.lk = bits(w, f.lk, f.lk);
  if (f.aa !== undefined) d.aa = bits(w, f.aa, f.aa);
  if (invalidForm(e, d)) return new Dec(w, illegalDef, illegalDef.exec);
  d.fm = FAC[e.def.fac];
  e.def.prep?.(d);
  return d;
}

export type { Exec };
