// Fixed-point instructions: arithmetic, logical, compare, rotate and shift, counting, CR and
// XER moves, traps. Semantics follow Power ISA v3.0B Book I chapter 3.

import { HardwareInterrupt } from '../../../faults.js';
import { SRR1_PROGRAM_TRAP } from '../../../../abi/msr.js';
import {
  TWO32, XER_CA, XER_SO, XER_OV, XER_OV32, XER_CA32, cr0, cr0g, setCrField, setOv, setCa, mulhu32, mulhs32, mul128u, mul128s,
  mask64, rotl64, popcnt32, ctz32, cmp64s, cmp64u, gbig, setGbig,
} from '../alu.js';
import type { St } from '../state.js';
import type { Dec, InsnDef } from '../types.js';
import { def } from './def.js';

// ---- add / subtract ---------------------------------------------------------------------

/** RT = a + b + cin with every XER/CR side effect the instruction's flags ask for. */
function addFull(s: St, d: Dec, al: number, ah: number, bl: number, bh: number, cin: number, ca: boolean): void {
  const l = al + bl + cin;
  const c32 = l > 0xffffffff ? 1 : 0;
  const h = ah + bh + c32;
  const rl = l >>> 0, rh = h >>> 0;
  const g = s.g, t = d.t << 1;
  g[t] = rl; g[t + 1] = rh;
  if (ca) setCa(s, h > 0xffffffff ? 1 : 0, c32);
  if (d.oe) setOv(s, (~(ah ^ bh) & (ah ^ rh)) >>> 31, (~(al ^ bl) & (al ^ rl)) >>> 31);
  if (d.rc) cr0(s, rl, rh);
}

const ca = (s: St) => (s.xer >>> 29) & 1;

const add = (s: St, d: Dec, pc: number) => {
  const g = s.g, a = d.a << 1, b = d.b << 1;
  if (d.oe | d.rc) { addFull(s, d, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!, 0, false); return pc + 4; }
  const l = g[a]! + g[b]!;
  const t = d.t << 1;
  g[t + 1] = g[a + 1]! + g[b + 1]! + (l > 0xffffffff ? 1 : 0);
  g[t] = l;
  return pc + 4;
};
const subf = (s: St, d: Dec, pc: number) => {
  const g = s.g, a = d.a << 1, b = d.b << 1;
  if (d.oe | d.rc) { addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, g[b]!, g[b + 1]!, 1, false); return pc + 4; }
  const l = g[b]! - g[a]!;
  const t = d.t << 1;
  g[t + 1] = g[b + 1]! - g[a + 1]! - (l < 0 ? 1 : 0);
  g[t] = l;
  return pc + 4;
};
const addi = (s: St, d: Dec, pc: number) => {
  const g = s.g, t = d.t << 1;
  if (d.a === 0) { g[t] = d.i; g[t + 1] = d.i < 0 ? -1 : 0; return pc + 4; }
  const a = d.a << 1, l = g[a]! + (d.i >>> 0);
  g[t + 1] = g[a + 1]! + (d.i < 0 ? 0xffffffff : 0) + (l > 0xffffffff ? 1 : 0);
  g[t] = l;
  return pc + 4;
};
const addis = (s: St, d: Dec, pc: number) => {
  const g = s.g, t = d.t << 1, v = d.i << 16;
  if (d.a === 0) { g[t] = v; g[t + 1] = v >> 31; return pc + 4; }
  const a = d.a << 1, l = g[a]! + (v >>> 0);
  g[t + 1] = g[a + 1]! + (v >> 31) + (l > 0xffffffff ? 1 : 0);
  g[t] = l;
  return pc + 4;
};
const imm64 = (i: number): [number, number] => [i >>> 0, i < 0 ? 0xffffffff : 0];

export const FIXED_ARITH: InsnDef[] = [
  def('addi', 'D', 14, undefined, 'RT,RA0,SI', addi),
  def('addis', 'D', 15, undefined, 'RT,RA0,SI', addis),
  def('addic', 'D', 12, undefined, 'RT,RA,SI', (s, d, pc) => { const [il, ih] = imm64(d.i); const g = s.g, a = d.a << 1; addFull(s, d, g[a]!, g[a + 1]!, il, ih, 0, true); return pc + 4; }),
  def('addic.', 'D', 13, undefined, 'RT,RA,SI', (s, d, pc) => { const [il, ih] = imm64(d.i); const g = s.g, a = d.a << 1; addFull(s, d, g[a]!, g[a + 1]!, il, ih, 0, true); cr0g(s, d.t); return pc + 4; }),
  def('subfic', 'D', 8, undefined, 'RT,RA,SI', (s, d, pc) => { const [il, ih] = imm64(d.i); const g = s.g, a = d.a << 1; addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, il, ih, 1, true); return pc + 4; }),
  def('add', 'XO', 31, 266, 'RT,RA,RB', add),
  def('subf', 'XO', 31, 40, 'RT,RA,RB', subf),
  def('addc', 'XO', 31, 10, 'RT,RA,RB', (s, d, pc) => { const g = s.g, a = d.a << 1, b = d.b << 1; addFull(s, d, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!, 0, true); return pc + 4; }),
  def('subfc', 'XO', 31, 8, 'RT,RA,RB', (s, d, pc) => { const g = s.g, a = d.a << 1, b = d.b << 1; addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, g[b]!, g[b + 1]!, 1, true); return pc + 4; }),
  def('adde', 'XO', 31, 138, 'RT,RA,RB', (s, d, pc) => { const g = s.g, a = d.a << 1, b = d.b << 1; addFull(s, d, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!, ca(s), true); return pc + 4; }),
  def('subfe', 'XO', 31, 136, 'RT,RA,RB', (s, d, pc) => { const g = s.g, a = d.a << 1, b = d.b << 1; addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, g[b]!, g[b + 1]!, ca(s), true); return pc + 4; }),
  def('addme', 'XO', 31, 234, 'RT,RA', (s, d, pc) => { const g = s.g, a = d.a << 1; addFull(s, d, g[a]!, g[a + 1]!, 0xffffffff, 0xffffffff, ca(s), true); return pc + 4; }),
  def('subfme', 'XO', 31, 232, 'RT,RA', (s, d, pc) => { const g = s.g, a = d.a << 1; addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, 0xffffffff, 0xffffffff, ca(s), true); return pc + 4; }),
  def('addze', 'XO', 31, 202, 'RT,RA', (s, d, pc) => { const g = s.g, a = d.a << 1; addFull(s, d, g[a]!, g[a + 1]!, 0, 0, ca(s), true); return pc + 4; }),
  def('subfze', 'XO', 31, 200, 'RT,RA', (s, d, pc) => { const g = s.g, a = d.a << 1; addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, 0, 0, ca(s), true); return pc + 4; }),
  def('neg', 'XO', 31, 104, 'RT,RA', (s, d, pc) => { const g = s.g, a = d.a << 1; addFull(s, d, ~g[a]! >>> 0, ~g[a + 1]! >>> 0, 0, 0, 1, false); return pc + 4; }),
  def('addex', 'Z23', 31, 170, 'RT,RA,RB,CY', (s, d, pc) => {
    // CY=0: add with OV as the carry in and out (ISA 3.0); other CY values are reserved.
    const g = s.g, a = d.a << 1, b = d.b << 1;
    const cin = (s.xer >>> 30) & 1;
    const al = g[a]!, ah = g[a + 1]!, bl = g[b]!, bh = g[b + 1]!;
    const l = al + bl + cin, c32 = l > 0xffffffff ? 1 : 0, h = ah + bh + c32;
    const t = d.t << 1;
    g[t] = l; g[t + 1] = h;
    s.xer = ((s.xer & ~(XER_OV | XER_OV32)) | (h > 0xffffffff ? XER_OV : 0) | (c32 ? XER_OV32 : 0)) >>> 0;
    return pc + 4;
  }, { isa: '3.0', rule: 'Rc=0', gen: 'none' }),
  def('addpcis', 'DX', 19, 2, 'RT,DXD', (s, d, pc) => {
    const g = s.g, t = d.t << 1, v = pc + 4 + d.i * 65536;
    g[t] = v; g[t + 1] = Math.floor(v / TWO32);
    return pc + 4;
  }, { isa: '3.0', gen: 'none' }),
];

// ---- multiply / divide --------------------------------------------------------------------

function mulldImpl(s: St, d: Dec, pc: number): number {
  const g = s.g, a = d.a << 1, b = d.b << 1, t = d.t << 1;
  const al = g[a]!, ah = g[a + 1]!, bl = g[b]!, bh = g[b + 1]!;
  if (d.oe) {
    mul128s(s, al, ah, bl, bh);
    const w = s.t32, sign = (w[1]! | 0) < 0 ? 0xffffffff : 0;
    const ov = w[2] !== sign || w[3] !== sign ? 1 : 0;
    setOv(s, ov, ov);
    g[t] = w[0]!; g[t + 1] = w[1]!;
  } else {
    const lo = Math.imul(al, bl) >>> 0;
    g[t + 1] = mulhu32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl);
    g[t] = lo;
  }
  if (d.rc) cr0g(s, d.t);
  return pc + 4;
}

function mullwImpl(s: St, d: Dec, pc: number): number {
  const g = s.g, a = g[d.a << 1]!, b = g[d.b << 1]!, t = d.t << 1;
  const lo = Math.imul(a, b) >>> 0, hi = mulhs32(a, b);
  g[t] = lo; g[t + 1] = hi;
  if (d.oe) { const ov = hi !== ((lo | 0) < 0 ? 0xffffffff : 0) ? 1 : 0; setOv(s, ov, ov); }
  if (d.rc) cr0(s, lo, hi);
  return pc + 4;
}

/**
 * Results the ISA leaves undefined (divide by zero, overflow): the model gives what QEMU gives,
 * the dividend (divd, divdu) or its low word (divw, divwu); 0 for the extended forms.
 */
function divFail(s: St, d: Dec, pc: number, keep: 'none' | 'word' | 'dword' = 'none'): number {
  const g = s.g, t = d.t << 1, a = d.a << 1;
  const lo = keep === 'none' ? 0 : g[a]!, hi = keep === 'dword' ? g[a + 1]! : 0;
  g[t] = lo; g[t + 1] = hi;
  if (d.oe) setOv(s, 1, 1);
  if (d.rc) cr0(s, lo, hi);
  return pc + 4;
}

function divOk(s: St, d: Dec, pc: number): number {
  if (d.oe) setOv(s, 0, 0);
  if (d.rc) cr0g(s, d.t);
  return pc + 4;
}

const S64 = 2 ** 53;
function divd(s: St, d: Dec, pc: number, signed: boolean, mod: boolean): number {
  const g = s.g, a = d.a << 1, b = d.b << 1, t = d.t << 1;
  const ah = g[a + 1]!, al = g[a]!, bh = g[b + 1]!, bl = g[b]!;
  if ((bh | bl) === 0) return mod ? modFail(s, d, pc) : divFail(s, d, pc, 'dword');
  if (signed && ah === 0x80000000 && al === 0 && bh === 0xffffffff && bl === 0xffffffff) return mod ? modFail(s, d, pc) : divFail(s, d, pc, 'dword');
  const x = signed ? (ah | 0) * TWO32 + al : ah * TWO32 + al;
  const y = signed ? (bh | 0) * TWO32 + bl : bh * TWO32 + bl;
  if (Math.abs(x) < S64 && Math.abs(y) < S64) {
    const q = Math.trunc(x / y);
    const r = mod ? x - q * y : q;
    g[t] = r; g[t + 1] = Math.floor(r / TWO32);
  } else {
    let bx = (BigInt(ah) << 32n) | BigInt(al), by = (BigInt(bh) << 32n) | BigInt(bl);
    if (signed) { bx = BigInt.asIntN(64, bx); by = BigInt.asIntN(64, by); }
    const r = mod ? bx % by : bx / by;
    setGbig(s, d.t, BigInt.asUintN(64, r));
  }
  return mod ? pc + 4 : divOk(s, d, pc);
}

function divw(s: St, d: Dec, pc: number, signed: boolean, mod: boolean): number {
  const g = s.g, t = d.t << 1;
  const x = signed ? g[d.a << 1]! | 0 : g[d.a << 1]!;
  const y = signed ? g[d.b << 1]! | 0 : g[d.b << 1]!;
  if (y === 0 || (signed && x === -0x80000000 && y === -1)) return mod ? modFail(s, d, pc) : divFail(s, d, pc, 'word');
  const q = mod ? x % y : Math.trunc(x / y);
  // divw/divwu leave the high half undefined; the model clears it, as QEMU does (modsw sign-extends).
  g[t] = q; g[t + 1] = signed && mod ? q >> 31 : 0;
  return mod ? pc + 4 : divOk(s, d, pc);
}

function modFail(s: St, d: Dec, pc: number): number {
  const g = s.g, t = d.t << 1;
  g[t] = 0; g[t + 1] = 0;
  return pc + 4;
}

/** divwe/divweu/divde/divdeu: (RA || 0^64) / RB; undefined when the quotient does not fit. */
function divExt(s: St, d: Dec, pc: number, word: boolean, signed: boolean): number {
  const bits = word ? 32 : 64;
  const wrap = (v: bigint) => (signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
  const x = wrap(word ? BigInt(s.g[d.a << 1]!) : gbig(s, d.a)) << BigInt(bits);
  const y = wrap(word ? BigInt(s.g[d.b << 1]!) : gbig(s, d.b));
  if (y === 0n) return divFail(s, d, pc);
  const q = x / y;
  // Overflow leaves RT undefined. For divde the model does what QEMU does: a quotient whose
  // magnitude fits in 64 bits is kept (its low 64 bits) and not reported as an overflow.
  const fits = !word && signed ? (q < 0n ? -q : q) < 1n << 64n : q === wrap(q);
  if (!fits) return divFail(s, d, pc);
  // divwe/divweu: the high word is undefined; the model extends the quotient by its kind (as QEMU).
  if (word) { const lo = Number(BigInt.asUintN(32, q)); s.g[d.t << 1] = lo; s.g[(d.t << 1) + 1] = signed ? (lo | 0) >> 31 : 0; }
  else setGbig(s, d.t, BigInt.asUintN(64, q));
  return divOk(s, d, pc);
}

export const FIXED_MULDIV: InsnDef[] = [
  def('mulli', 'D', 7, undefined, 'RT,RA,SI', (s, d, pc) => {
    const g = s.g, a = d.a << 1, t = d.t << 1;
    const al = g[a]!, ah = g[a + 1]!, il = d.i >>> 0, ih = d.i < 0 ? 0xffffffff : 0;
    const lo = Math.imul(al, il) >>> 0;
    g[t + 1] = mulhu32(al, il) + Math.imul(al, ih) + Math.imul(ah, il);
    g[t] = lo;
    return pc + 4;
  }),
  def('mulld', 'XO', 31, 233, 'RT,RA,RB', mulldImpl),
  def('mullw', 'XO', 31, 235, 'RT,RA,RB', mullwImpl),
  def('mulhd', 'XOn', 31, 73, 'RT,RA,RB', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1;
    mul128s(s, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!);
    g[d.t << 1] = s.t32[2]!; g[(d.t << 1) + 1] = s.t32[3]!;
    if (d.rc) cr0g(s, d.t);
    return pc + 4;
  }),
  def('mulhdu', 'XOn', 31, 9, 'RT,RA,RB', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1;
    mul128u(s, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!);
    g[d.t << 1] = s.t32[2]!; g[(d.t << 1) + 1] = s.t32[3]!;
    if (d.rc) cr0g(s, d.t);
    return pc + 4;
  }),
  def('mulhw', 'XOn', 31, 75, 'RT,RA,RB', (s, d, pc) => {
    // The high half of RT is undefined by the ISA; the model clears it, as QEMU does.
    const g = s.g, h = mulhs32(g[d.a << 1]!, g[d.b << 1]!), t = d.t << 1;
    g[t] = h; g[t + 1] = 0;
    if (d.rc) cr0g(s, d.t);
    return pc + 4;
  }),
  def('mulhwu', 'XOn', 31, 11, 'RT,RA,RB', (s, d, pc) => {
    const g = s.g, h = mulhu32(g[d.a << 1]!, g[d.b << 1]!), t = d.t << 1;
    g[t] = h; g[t + 1] = 0;
    if (d.rc) cr0g(s, d.t);
    return pc + 4;
  }),
  def('maddld', 'VA', 4, 51, 'RT,RA,RB,RC', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1, c = d.c << 1, t = d.t << 1;
    const al = g[a]!, ah = g[a + 1]!, bl = g[b]!, bh = g[b + 1]!;
    const lo = Math.imul(al, bl) >>> 0;
    const hi = mulhu32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl);
    const l = lo + g[c]!;
    g[t + 1] = hi + g[c + 1]! + (l > 0xffffffff ? 1 : 0);
    g[t] = l;
    return pc + 4;
  }, { isa: '3.0' }),
  def('maddhd', 'VA', 4, 48, 'RT,RA,RB,RC', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1, c = d.c << 1;
    mul128s(s, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!);
    const ch = g[c + 1]!, w = s.t32;
    const l0 = w[0]! + g[c]!, c0 = l0 > 0xffffffff ? 1 : 0;
    const l1 = w[1]! + ch + c0, c1 = l1 > 0xffffffff ? 1 : 0;
    const ext = (ch | 0) < 0 ? 0xffffffff : 0;
    const l2 = w[2]! + ext + c1, c2 = l2 > 0xffffffff ? 1 : 0;
    g[d.t << 1] = l2; g[(d.t << 1) + 1] = w[3]! + ext + c2;
    return pc + 4;
  }, { isa: '3.0' }),
  def('maddhdu', 'VA', 4, 49, 'RT,RA,RB,RC', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1, c = d.c << 1;
    mul128u(s, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!);
    const w = s.t32;
    const l0 = w[0]! + g[c]!, c0 = l0 > 0xffffffff ? 1 : 0;
    const l1 = w[1]! + g[c + 1]! + c0, c1 = l1 > 0xffffffff ? 1 : 0;
    const l2 = w[2]! + c1, c2 = l2 > 0xffffffff ? 1 : 0;
    g[d.t << 1] = l2; g[(d.t << 1) + 1] = w[3]! + c2;
    return pc + 4;
  }, { isa: '3.0' }),
  def('divd', 'XO', 31, 489, 'RT,RA,RB', (s, d, pc) => divd(s, d, pc, true, false)),
  def('divdu', 'XO', 31, 457, 'RT,RA,RB', (s, d, pc) => divd(s, d, pc, false, false)),
  def('divw', 'XO', 31, 491, 'RT,RA,RB', (s, d, pc) => divw(s, d, pc, true, false)),
  def('divwu', 'XO', 31, 459, 'RT,RA,RB', (s, d, pc) => divw(s, d, pc, false, false)),
  def('divde', 'XO', 31, 425, 'RT,RA,RB', (s, d, pc) => divExt(s, d, pc, false, true)),
  def('divdeu', 'XO', 31, 393, 'RT,RA,RB', (s, d, pc) => divExt(s, d, pc, false, false)),
  def('divwe', 'XO', 31, 427, 'RT,RA,RB', (s, d, pc) => divExt(s, d, pc, true, true)),
  def('divweu', 'XO', 31, 395, 'RT,RA,RB', (s, d, pc) => divExt(s, d, pc, true, false)),
  def('modsd', 'X', 31, 777, 'RT,RA,RB', (s, d, pc) => divd(s, d, pc, true, true), { isa: '3.0', rule: 'Rc=0' }),
  def('modud', 'X', 31, 265, 'RT,RA,RB', (s, d, pc) => divd(s, d, pc, false, true), { isa: '3.0', rule: 'Rc=0' }),
  def('modsw', 'X', 31, 779, 'RT,RA,RB', (s, d, pc) => divw(s, d, pc, true, true), { isa: '3.0', rule: 'Rc=0' }),
  def('moduw', 'X', 31, 267, 'RT,RA,RB', (s, d, pc) => divw(s, d, pc, false, true), { isa: '3.0', rule: 'Rc=0' }),
];

// ---- compare ------------------------------------------------------------------------------

function cmpSet(s: St, bf: number, c: number): void { setCrField(s, bf, c | (s.xer >>> 31)); }

export const FIXED_CMP: InsnDef[] = [
  def('cmp', 'X', 31, 0, 'BF,L10,RA,RB', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1;
    if (d.j) cmpSet(s, d.t, cmp64s(g[a]!, g[a + 1]!, g[b]!, g[b + 1]!));
    else { const x = g[a]! | 0, y = g[b]! | 0; cmpSet(s, d.t, x < y ? 8 : x > y ? 4 : 2); }
    return pc + 4;
  }, { rule: 'Rc=0' }),
  def('cmpl', 'X', 31, 32, 'BF,L10,RA,RB', (s, d, pc) => {
    const g = s.g, a = d.a << 1, b = d.b << 1;
    if (d.j) cmpSet(s, d.t, cmp64u(g[a]!, g[a + 1]!, g[b]!, g[b + 1]!));
    else { const x = g[a]!, y = g[b]!; cmpSet(s, d.t, x < y ? 8 : x > y ? 4 : 2); }
    return pc + 4;
  }, { rule: 'Rc=0' }),
  def('cmpi', 'D', 11, undefined, 'BF,L10,RA,SI', (s, d, pc) => {
    const g = s.g, a = d.a << 1;
    if (d.j) cmpSet(s, d.t, cmp64s(g[a]!, g[a + 1]!, d.i >>> 0, d.i < 0 ? 0xffffffff : 0));
    else { const x = g[a]! | 0, y = d.i; cmpSet(s, d.t, x < y ? 8 : x > y ? 4 : 2); }
    return pc + 4;
  }),
  def('cmpli', 'D', 10, undefined, 'BF,L10,RA,UI', (s, d, pc) => {
    const g = s.g, a = d.a << 1;
    if (d.j) cmpSet(s, d.t, cmp64u(g[a]!, g[a + 1]!, d.i, 0));
    else { const x = g[a]!, y = d.i; cmpSet(s, d.t, x < y ? 8 : x > y ? 4 : 2); }
    return pc + 4;
  }),
  def('cmprb', 'X', 31, 192, 'BF,L10,RA,RB', (s, d, pc) => {
    const x = s.g[d.a << 1]! & 0xff, r = s.g[d.b << 1]!;
    const in1 = x >= (r & 0xff) && x <= ((r >>> 8) & 0xff);
    const in2 = d.j ? x >= ((r >>> 16) & 0xff) && x <= (r >>> 24) : false;
    setCrField(s, d.t, in1 || in2 ? 4 : 0);
    return pc + 4;
  }, { isa: '3.0', rule: 'Rc=0' }),
  def('cmpeqb', 'X', 31, 224, 'BF,RA,RB', (s, d, pc) => {
    const x = s.g[d.a << 1]! & 0xff, b = d.b << 1;
    let hit = false;
    for (let k = 0; k < 8; k++) if (((s.g[b + (k >> 2)]! >>> ((k & 3) * 8)) & 0xff) === x) hit = true;
    setCrField(s, d.t, hit ? 4 : 0);
    return pc + 4;
  }, { isa: '3.0', rule: 'Rc=0' }),
  def('setb', 'X', 31, 128, 'RT,BFA', (s, d, pc) => {
    const f = (s.cr >>> (28 - 4 * d.a)) & 0xf, t = d.t << 1;
    const v = f & 8 ? -1 : f & 4 ? 1 : 0;
    s.g[t] = v; s.g[t + 1] = v >> 31;
    return pc + 4;
  }, { isa: '3.0', rule: 'Rc=0' }),
];

// ---- logical --------------------------------------------------------------------------------

type Op2 = (x: number, y: number) => number;
function logicalX(op: Op2): (s: St, d: Dec, pc: number) => number {
  return (s, d, pc) => {
    const g = s.g, t = d.t << 1, b = d.b << 1, a = d.a << 1;
    const lo = op(g[t]!, g[b]!) >>> 0, hi = op(g[t + 1]!, g[b + 1]!) >>> 0;
    g[a] = lo; g[a + 1] = hi;
    if (d.rc) cr0(s, lo, hi);
    return pc + 4;
  };
}

const or = (s: St, d: Dec, pc: number) => {
  const g = s.g, t = d.t << 1, b = d.b << 1, a = d.a << 1;
  const lo = g[t]! | g[b]!, hi = g[t + 1]! | g[b + 1]!;
  g[a] = lo; g[a + 1] = hi;
  if (d.rc) cr0(s, lo, hi);
  return pc + 4;
};
const xor = (s: St, d: Dec, pc: number) => {
  const g = s.g, t = d.t << 1, b = d.b << 1, a = d.a << 1;
  const lo = g[t]! ^ g[b]!, hi = g[t + 1]! ^ g[b + 1]!;
  g[a] = lo; g[a + 1] = hi;
  if (d.rc) cr0(s, lo, hi);
  return pc + 4;
};
const and = (s: St, d: Dec, pc: number) => {
  const g = s.g, t = d.t << 1, b = d.b << 1, a = d.a << 1;
  const lo = g[t]! & g[b]!, hi = g[t + 1]! & g[b + 1]!;
  g[a] = lo; g[a + 1] = hi;
  if (d.rc) cr0(s, lo, hi);
  return pc + 4;
};

function ext(bitsN: 8 | 16 | 32): (s: St, d: Dec, pc: number) => number {
  return (s, d, pc) => {
    const g = s.g, x = g[d.t << 1]!, a = d.a << 1;
    const lo = bitsN === 8 ? (x << 24) >> 24 : bitsN === 16 ? (x << 16) >> 16 : x | 0;
    g[a] = lo; g[a + 1] = lo >> 31;
    if (d.rc) cr0g(s, d.a);
    return pc + 4;
  };
}

export const FIXED_LOGICAL: InsnDef[] = [
  def('andi.', 'D', 28, undefined, 'RA,RS,UI', (s, d, pc) => { const g = s.g, a = d.a << 1, v = g[d.t << 1]! & d.i; g[a] = v; g[a + 1] = 0; cr0(s, v, 0); return pc + 4; }),
  def('andis.', 'D', 29, undefined, 'RA,RS,UI', (s, d, pc) => { const g = s.g, a = d.a << 1, v = (g[d.t << 1]! & (d.i << 16)) >>> 0; g[a] = v; g[a + 1] = 0; cr0(s, v, 0); return pc + 4; }),
  def('ori', 'D', 24, undefined, 'RA,RS,UI', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1; g[a] = g[t]! | d.i; g[a + 1] = g[t + 1]!; return pc + 4; }),
  def('oris', 'D', 25, undefined, 'RA,RS,UI', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1; g[a] = g[t]! | (d.i << 16); g[a + 1] = g[t + 1]!; return pc + 4; }),
  def('xori', 'D', 26, undefined, 'RA,RS,UI', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1; g[a] = g[t]! ^ d.i; g[a + 1] = g[t + 1]!; return pc + 4; }),
  def('xoris', 'D', 27, undefined, 'RA,RS,UI', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1; g[a] = g[t]! ^ (d.i << 16); g[a + 1] = g[t + 1]!; return pc + 4; }),
  def('and', 'X', 31, 28, 'RA,RS,RB', and),
  def('or', 'X', 31, 444, 'RA,RS,RB', or),
  def('xor', 'X', 31, 316, 'RA,RS,RB', xor),
  def('nand', 'X', 31, 476, 'RA,RS,RB', logicalX((x, y) => ~(x & y))),
  def('nor', 'X', 31, 124, 'RA,RS,RB', logicalX((x, y) => ~(x | y))),
  def('eqv', 'X', 31, 284, 'RA,RS,RB', logicalX((x, y) => ~(x ^ y))),
  def('andc', 'X', 31, 60, 'RA,RS,RB', logicalX((x, y) => x & ~y)),
  def('orc', 'X', 31, 412, 'RA,RS,RB', logicalX((x, y) => x | ~y)),
  def('extsb', 'X', 31, 954, 'RA,RS', ext(8)),
  def('extsh', 'X', 31, 922, 'RA,RS', ext(16)),
  def('extsw', 'X', 31, 986, 'RA,RS', ext(32)),
  def('cntlzw', 'X', 31, 26, 'RA,RS', (s, d, pc) => { const g = s.g, a = d.a << 1, v = Math.clz32(g[d.t << 1]!); g[a] = v; g[a + 1] = 0; if (d.rc) cr0(s, v, 0); return pc + 4; }),
  def('cntlzd', 'X', 31, 58, 'RA,RS', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1, h = g[t + 1]!, v = h ? Math.clz32(h) : 32 + Math.clz32(g[t]!); g[a] = v; g[a + 1] = 0; if (d.rc) cr0(s, v, 0); return pc + 4; }),
  def('cnttzw', 'X', 31, 538, 'RA,RS', (s, d, pc) => { const g = s.g, a = d.a << 1, v = ctz32(g[d.t << 1]!); g[a] = v; g[a + 1] = 0; if (d.rc) cr0(s, v, 0); return pc + 4; }, { isa: '3.0' }),
  def('cnttzd', 'X', 31, 570, 'RA,RS', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1, l = g[t]!, v = l ? ctz32(l) : 32 + ctz32(g[t + 1]!); g[a] = v; g[a + 1] = 0; if (d.rc) cr0(s, v, 0); return pc + 4; }, { isa: '3.0' }),
  def('popcntb', 'X', 31, 122, 'RA,RS', (s, d, pc) => {
    const g = s.g, a = d.a << 1, t = d.t << 1;
    const pb = (x: number) => { x = x - ((x >>> 1) & 0x55555555); x = (x & 0x33333333) + ((x >>> 2) & 0x33333333); return (x + (x >>> 4)) & 0x0f0f0f0f; };
    g[a] = pb(g[t]!); g[a + 1] = pb(g[t + 1]!);
    return pc + 4;
  }, { rule: 'Rc=0' }),
  def('popcntw', 'X', 31, 378, 'RA,RS', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1; g[a] = popcnt32(g[t]!); g[a + 1] = popcnt32(g[t + 1]!); return pc + 4; }, { rule: 'Rc=0' }),
  def('popcntd', 'X', 31, 506, 'RA,RS', (s, d, pc) => { const g = s.g, a = d.a << 1, t = d.t << 1; g[a] = popcnt32(g[t]!) + popcnt32(g[t + 1]!); g[a + 1] = 0; return pc + 4; }, { rule: 'Rc=0' }),
  def('prtyw', 'X', 31, 154, 'RA,RS', (s, d, pc) => {
    const g = s.g, a = d.a << 1, t = d.t << 1;
    const p = (x: number) => (x ^ (x >>> 8) ^ (x >>> 16) ^ (x >>> 24)) & 1;
    g[a] = p(g[t]!); g[a + 1] = p(g[t + 1]!);
    return pc + 4;
  }, { rule: 'Rc=0' }),
  def('prtyd', 'X', 31, 186, 'RA,RS', (s, d, pc) => {
    const g = s.g, a = d.a << 1, t = d.t << 1;
    const x = g[t]! ^ g[t + 1]!;
    g[a] = (x ^ (x >>> 8) ^ (x >>> 16) ^ (x >>> 24)) & 1; g[a + 1] = 0;
    return pc + 4;
  }, { rule: 'Rc=0' }),
  def('cmpb', 'X', 31, 508, 'RA,RS,RB', (s, d, pc) => {
    const g = s.g, a = d.a << 1, t = d.t << 1, b = d.b << 1;
    const cb = (x: number, y: number) => {
      let r = 0;
      for (let k = 0; k < 32; k += 8) if (((x >>> k) & 0xff) === ((y >>> k) & 0xff)) r |= 0xff << k;
      return r >>> 0;
    };
    g[a] = cb(g[t]!, g[b]!); g[a + 1] = cb(g[t + 1]!, g[b + 1]!);
    return pc + 4;
  }, { rule: 'Rc=0' }),
  def('bpermd', 'X', 31, 252, 'RA,RS,RB', (s, d, pc) => {
    const g = s.g, a = d.a << 1, t = d.t << 1, b = d.b << 1;
    let r = 0;
    for (let k = 0; k < 8; k++) {
      const idx = (g[t + (k < 4 ? 1 : 0)]! >>> (24 - 8 * (k & 3))) & 0xff; // byte k of RS, MSB first
      if (idx < 64) {
        const bit = 63 - idx; // ISA bit idx of RB, counted from the most significant
        if ((g[b + (bit >= 32 ? 1 : 0)]! >>> (bit & 31)) & 1) r |= 0x80 >>> k;
      }
    }
    g[a] = r; g[a + 1] = 0;
    return pc + 4;
  }, { rule: 'Rc=0' }),
];

// ---- rotate and shift ---------------------------------------------------------------------

const rlwPrep = (d: Dec) => { [d.m0, d.m1] = mask64(d.j + 32, d.k + 32); };
const mdPrep = (kind: 'l' | 'r' | 'ic' | 'imi') => (d: Dec) => {
  const [l, h] = kind === 'l' ? mask64(d.j, 63) : kind === 'r' ? mask64(0, d.j) : mask64(d.j, 63 - d.b);
  d.m0 = l; d.m1 = h;
};

const rlwinm = (s: St, d: Dec, pc: number) => {
  const g = s.g, x = g[d.t << 1]!, n = d.b, a = d.a << 1;
  const r = (x << n) | (x >>> (32 - n));
  g[a] = r & d.m0; g[a + 1] = r & d.m1;
  if (d.rc) cr0g(s, d.a);
  return pc + 4;
};

function rotMask(s: St, d: Dec, pc: number, n: number, insert: boolean): number {
  const g = s.g, t = d.t << 1, a = d.a << 1;
  rotl64(s, g[t]!, g[t + 1]!, n);
  const r0 = s.t32[0]!, r1 = s.t32[1]!;
  if (insert) { g[a] = (r0 & d.m0) | (g[a]! & ~d.m0); g[a + 1] = (r1 & d.m1) | (g[a + 1]! & ~d.m1); }
  else { g[a] = r0 & d.m0; g[a + 1] = r1 & d.m1; }
  if (d.rc) cr0g(s, d.a);
  return pc + 4;
}

function shiftD(s: St, d: Dec, pc: number, n: number, kind: 'l' | 'r' | 'a'): number {
  const g = s.g, t = d.t << 1, a = d.a << 1;
  let lo = g[t]!, hi = g[t + 1]!;
  if (kind === 'a') {
    const sign = (hi | 0) >> 31;
    let out = 0; // bits shifted out
    let rl: number, rh: number;
    if (n === 0) { rl = lo; rh = hi; }
    else if (n < 32) { out = lo & ((1 << n) - 1); rl = (lo >>> n) | (hi << (32 - n)); rh = (hi | 0) >> n; }
    else if (n < 64) { out = lo | (hi & (n === 32 ? 0 : (1 << (n - 32)) - 1)); rl = (hi | 0) >> (n - 32); rh = sign; }
    else { out = lo | hi; rl = sign; rh = sign; }
    g[a] = rl; g[a + 1] = rh;
    const c = sign && out !== 0 ? 1 : 0;
    setCa(s, c, c);
  } else {
    if (n >= 64) { lo = 0; hi = 0; }
    else if (n >= 32) { if (kind === 'l') { hi = lo << (n - 32); lo = 0; } else { lo = hi >>> (n - 32); hi = 0; } }
    else if (n > 0) {
      if (kind === 'l') { hi = (hi << n) | (lo >>> (32 - n)); lo = lo << n; }
      else { lo = (lo >>> n) | (hi << (32 - n)); hi = hi >>> n; }
    }
    g[a] = lo; g[a + 1] = hi;
  }
  if (d.rc) cr0g(s, d.a);
  return pc + 4;
}

function shiftW(s: St, d: Dec, pc: number, n: number, kind: 'l' | 'r' | 'a'): number {
  const g = s.g, x = g[d.t << 1]!, a = d.a << 1;
  if (kind === 'a') {
    const v = x | 0;
    const r = n >= 32 ? v >> 31 : v >> n;
    const out = n >= 32 ? x : n === 0 ? 0 : x & ((1 << n) - 1);
    g[a] = r; g[a + 1] = r >> 31;
    const c = v < 0 && out !== 0 ? 1 : 0;
    setCa(s, c, c);
  } else {
    g[a] = n >= 32 ? 0 : kind === 'l' ? x << n : x >>> n;
    g[a + 1] = 0;
  }
  if (d.rc) cr0g(s, d.a);
  return pc + 4;
}

export const FIXED_ROTATE: InsnDef[] = [
  def('rlwinm', 'M', 21, undefined, 'RA,RS,SH,MB,ME', rlwinm, { prep: rlwPrep }),
  def('rlwnm', 'M', 23, undefined, 'RA,RS,RB,MB,ME', (s, d, pc) => {
    const g = s.g, x = g[d.t << 1]!, n = g[d.b << 1]! & 31, a = d.a << 1;
    const r = (x << n) | (x >>> (32 - n));
    g[a] = r & d.m0; g[a + 1] = r & d.m1;
    if (d.rc) cr0g(s, d.a);
    return pc + 4;
  }, { prep: rlwPrep }),
  def('rlwimi', 'M', 20, undefined, 'RA,RS,SH,MB,ME', (s, d, pc) => {
    const g = s.g, x = g[d.t << 1]!, n = d.b, a = d.a << 1;
    const r = (x << n) | (x >>> (32 - n));
    g[a] = (r & d.m0) | (g[a]! & ~d.m0); g[a + 1] = (r & d.m1) | (g[a + 1]! & ~d.m1);
    if (d.rc) cr0g(s, d.a);
    return pc + 4;
  }, { prep: rlwPrep }),
  def('rldicl', 'MD', 30, 0, 'RA,RS,SH6,MB6', (s, d, pc) => rotMask(s, d, pc, d.b, false), { prep: mdPrep('l') }),
  def('rldicr', 'MD', 30, 1, 'RA,RS,SH6,ME6', (s, d, pc) => rotMask(s, d, pc, d.b, false), { prep: mdPrep('r') }),
  def('rldic', 'MD', 30, 2, 'RA,RS,SH6,MB6', (s, d, pc) => rotMask(s, d, pc, d.b, false), { prep: mdPrep('ic') }),
  def('rldimi', 'MD', 30, 3, 'RA,RS,SH6,MB6', (s, d, pc) => rotMask(s, d, pc, d.b, true), { prep: mdPrep('imi') }),
  def('rldcl', 'MDS', 30, 8, 'RA,RS,RB,MB6', (s, d, pc) => rotMask(s, d, pc, s.g[d.b << 1]! & 63, false), { prep: mdPrep('l') }),
  def('rldcr', 'MDS', 30, 9, 'RA,RS,RB,ME6', (s, d, pc) => rotMask(s, d, pc, s.g[d.b << 1]! & 63, false), { prep: mdPrep('r') }),
  def('slw', 'X', 31, 24, 'RA,RS,RB', (s, d, pc) => shiftW(s, d, pc, s.g[d.b << 1]! & 63, 'l')),
  def('srw', 'X', 31, 536, 'RA,RS,RB', (s, d, pc) => shiftW(s, d, pc, s.g[d.b << 1]! & 63, 'r')),
  def('sraw', 'X', 31, 792, 'RA,RS,RB', (s, d, pc) => shiftW(s, d, pc, s.g[d.b << 1]! & 63, 'a')),
  def('srawi', 'X', 31, 824, 'RA,RS,SH', (s, d, pc) => shiftW(s, d, pc, d.b, 'a')),
  def('sld', 'X', 31, 27, 'RA,RS,RB', (s, d, pc) => shiftD(s, d, pc, s.g[d.b << 1]! & 127, 'l')),
  def('srd', 'X', 31, 539, 'RA,RS,RB', (s, d, pc) => shiftD(s, d, pc, s.g[d.b << 1]! & 127, 'r')),
  def('srad', 'X', 31, 794, 'RA,RS,RB', (s, d, pc) => shiftD(s, d, pc, s.g[d.b << 1]! & 127, 'a')),
  def('sradi', 'XS', 31, 413, 'RA,RS,SH6', (s, d, pc) => shiftD(s, d, pc, d.b, 'a')),
  def('extswsli', 'XS', 31, 445, 'RA,RS,SH6', (s, d, pc) => {
    const g = s.g, t = d.t << 1, a = d.a << 1, n = d.b;
    const lo = g[t]!, hi = (lo | 0) >> 31;
    rotl64(s, lo, hi, n);
    const [m0, m1] = n === 0 ? [0xffffffff, 0xffffffff] : mask64(0, 63 - n);
    g[a] = s.t32[0]! & m0; g[a + 1] = s.t32[1]! & m1;
    if (d.rc) cr0g(s, d.a);
    return pc + 4;
  }, { isa: '3.0' }),
];

// ---- CR and XER ---------------------------------------------------------------------------

function crOp(op: (a: number, b: number) => number): (s: St, d: Dec, pc: number) => number {
  return (s, d, pc) => {
    const x = (s.cr >>> (31 - d.a)) & 1, y = (s.cr >>> (31 - d.b)) & 1, bt = 31 - d.t;
    s.cr = (s.cr & ~(1 << bt)) | ((op(x, y) & 1) << bt);
    return pc + 4;
  };
}

export const FIXED_CR: InsnDef[] = [
  def('crand', 'XL', 19, 257, 'BT,BA,BB', crOp((a, b) => a & b), { rule: 'LK=0' }),
  def('cror', 'XL', 19, 449, 'BT,BA,BB', crOp((a, b) => a | b), { rule: 'LK=0' }),
  def('crxor', 'XL', 19, 193, 'BT,BA,BB', crOp((a, b) => a ^ b), { rule: 'LK=0' }),
  def('crnand', 'XL', 19, 225, 'BT,BA,BB', crOp((a, b) => ~(a & b)), { rule: 'LK=0' }),
  def('crnor', 'XL', 19, 33, 'BT,BA,BB', crOp((a, b) => ~(a | b)), { rule: 'LK=0' }),
  def('creqv', 'XL', 19, 289, 'BT,BA,BB', crOp((a, b) => ~(a ^ b)), { rule: 'LK=0' }),
  def('crandc', 'XL', 19, 129, 'BT,BA,BB', crOp((a, b) => a & ~b), { rule: 'LK=0' }),
  def('crorc', 'XL', 19, 417, 'BT,BA,BB', crOp((a, b) => a | ~b), { rule: 'LK=0' }),
  def('mcrf', 'XL', 19, 0, 'BF,BFA', (s, d, pc) => { setCrField(s, d.t, (s.cr >>> (28 - 4 * d.a)) & 0xf); return pc + 4; }, { rule: 'LK=0' }),
  def('mfcr', 'XFX', 31, 19, 'RT', (s, d, pc) => { const t = d.t << 1; s.g[t] = s.cr; s.g[t + 1] = 0; return pc + 4; }, { fix: [[11, 11, 0]] }),
  def('mfocrf', 'XFX', 31, 19, 'RT,FXM', (s, d, pc) => {
    // One field selected: that field, the rest zero (as POWER9 and QEMU do).
    let m = 0;
    for (let k = 0; k < 8; k++) if (d.i & (0x80 >> k)) m |= 0xf0000000 >>> (4 * k);
    const t = d.t << 1;
    s.g[t] = s.cr & m; s.g[t + 1] = 0;
    return pc + 4;
  }, { fix: [[11, 11, 1]], rule: 'FXM=onehot' }),
  def('mtcrf', 'XFX', 31, 144, 'FXM,RS', (s, d, pc) => {
    let m = 0;
    for (let k = 0; k < 8; k++) if (d.i & (0x80 >> k)) m |= 0xf0000000 >>> (4 * k);
    s.cr = (s.cr & ~m) | (s.g[d.t << 1]! & m);
    return pc + 4;
  }, { fix: [[11, 11, 0]] }),
  def('mtocrf', 'XFX', 31, 144, 'FXM,RS', (s, d, pc) => {
    let m = 0;
    for (let k = 0; k < 8; k++) if (d.i & (0x80 >> k)) m |= 0xf0000000 >>> (4 * k);
    s.cr = (s.cr & ~m) | (s.g[d.t << 1]! & m);
    return pc + 4;
  }, { fix: [[11, 11, 1]], rule: 'FXM=onehot' }),
  def('mcrxrx', 'X', 31, 576, 'BF', (s, d, pc) => {
    const x = s.xer;
    setCrField(s, d.t, (((x >>> 30) & 1) << 3) | (((x >>> 19) & 1) << 2) | (((x >>> 29) & 1) << 1) | ((x >>> 18) & 1));
    return pc + 4;
  }, { isa: '3.0', rule: 'Rc=0' }),
  def('isel', 'A', 31, 15, 'RT,RA0,RB,BC', (s, d, pc) => {
    const g = s.g, t = d.t << 1;
    if ((s.cr >>> (31 - d.c)) & 1) {
      if (d.a === 0) { g[t] = 0; g[t + 1] = 0; } else { const a = d.a << 1; g[t] = g[a]!; g[t + 1] = g[a + 1]!; }
    } else { const b = d.b << 1; g[t] = g[b]!; g[t + 1] = g[b + 1]!; }
    return pc + 4;
  }, { rule: 'Rc=0' }),
];

// ---- traps ----------------------------------------------------------------------------------

function trapIf(to: number, al: number, ah: number, bl: number, bh: number, pc: number): number {
  const sc = cmp64s(al, ah, bl, bh), uc = cmp64u(al, ah, bl, bh);
  if (((to & 16) && sc === 8) || ((to & 8) && sc === 4) || ((to & 4) && sc === 2) || ((to & 2) && uc === 8) || ((to & 1) && uc === 4)) {
    throw new HardwareInterrupt(0x700, `trap at 0x${pc.toString(16)}`, SRR1_PROGRAM_TRAP);
  }
  return pc + 4;
}
const w64 = (x: number): [number, number] => [x >>> 0, (x | 0) < 0 ? 0xffffffff : 0];

export const FIXED_TRAP: InsnDef[] = [
  def('tw', 'X', 31, 4, 'TO,RA,RB', (s, d, pc) => { const [al, ah] = w64(s.g[d.a << 1]!), [bl, bh] = w64(s.g[d.b << 1]!); return trapIf(d.t, al, ah, bl, bh, pc); }, { gen: 'none', rule: 'Rc=0' }),
  def('td', 'X', 31, 68, 'TO,RA,RB', (s, d, pc) => { const g = s.g, a = d.a << 1, b = d.b << 1; return trapIf(d.t, g[a]!, g[a + 1]!, g[b]!, g[b + 1]!, pc); }, { gen: 'none', rule: 'Rc=0' }),
  def('twi', 'D', 3, undefined, 'TO,RA,SI', (s, d, pc) => { const [al, ah] = w64(s.g[d.a << 1]!); return trapIf(d.t, al, ah, d.i >>> 0, d.i < 0 ? 0xffffffff : 0, pc); }, { gen: 'none' }),
  def('tdi', 'D', 2, undefined, 'TO,RA,SI', (s, d, pc) => { const g = s.g, a = d.a << 1; return trapIf(d.t, g[a]!, g[a + 1]!, d.i >>> 0, d.i < 0 ? 0xffffffff : 0, pc); }, { gen: 'none' }),
];

export const FIXED: InsnDef[] = [...FIXED_ARITH, ...FIXED_MULDIV, ...FIXED_CMP, ...FIXED_LOGICAL, ...FIXED_ROTATE, ...FIXED_CR, ...FIXED_TRAP];

/** XER bits the fixed-point unit owns (for tests and docs). */
export const XER_BITS = { SO: XER_SO, OV: XER_OV, CA: XER_CA, OV32: XER_OV32, CA32: XER_CA32 } as const;
