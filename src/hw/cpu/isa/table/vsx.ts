// VSX instructions (Book I chapter 7) used by GCC and glibc for POWER8 and POWER9: loads and
// stores of every shape, moves between GPRs and VSRs, logical operations and permutes, scalar
// double and single arithmetic (which set FPRF/FR/FI like the FP unit), vector arithmetic (which
// only set exception bits), compares and conversions.

import { setCrField, gnum } from '../alu.js';
import { FPCC, VXSNAN, VXVC, stage, stageSingle, resultSingleBits, raise, slotIsSnan, setResultBits, setFprf, fprfOfSingle, doubleBitsToSingle, deliver } from '../fpu.js';
import { kBin, kSqrt, kFma, kRsp, kEstimate, kRoundInt, kToInt, kFromInt, kCmp, type BinOp } from '../fpops.js';
import { bx, hx, wx, dx, fromScratch, loadQuadLE, storeQuadLE, cr6, pick } from '../vec.js';
import type { St } from '../state.js';
import type { Dec, Exec, InsnDef } from '../types.js';
import { eaD, eaX } from './loadstore.js';
import { def, type Extra } from './def.js';

const X: Extra = { fac: 'vsx' };
const XX3 = (mnem: string, xo: number, ops: string, exec: Exec, extra: Extra = {}) => def(mnem, 'XX3', 60, xo, ops, exec, { ...X, ...extra });
const XX2 = (mnem: string, xo: number, ops: string, exec: Exec, extra: Extra = {}) => def(mnem, 'XX2', 60, xo, ops, exec, { ...X, ...extra });

const byteOf = (s: St, r: number, k: number) => s.v8[bx(r, k)]!;
const wordOf = (s: St, r: number, k: number) => s.v32[wx(r, k)]!;

/** Doubleword 1 of a scalar result: zero (as POWER9 and QEMU leave it). */
const zeroDw1 = (s: St, t: number) => { s.v32[4 * t + 2] = 0; s.v32[4 * t + 3] = 0; };
/** Store the result slot into doubleword 0 of XT and clear doubleword 1. */
const putScalar = (s: St, t: number) => { s.v32[4 * t] = s.fou[6]!; s.v32[4 * t + 1] = s.fou[7]!; zeroDw1(s, t); };

// ---- loads and stores ---------------------------------------------------------------------------

const L: Extra = { ...X, gen: 'load' };
const S: Extra = { ...X, gen: 'store' };
const XL = (mnem: string, xo: number, ops: string, exec: Exec, extra: Extra = L) => def(mnem, 'XX1', 31, xo, ops, exec, extra);

function ldx(kind: 'd2' | 'w4' | 'h8' | 'b16' | 'q' | 'dsplat' | 'wsplat'): Exec {
  return (s, d, pc) => {
    const ea = eaX(s, d), t = d.t, m = s.m, v = s.v32;
    switch (kind) {
      case 'd2': m.load64Into(ea, v, 4 * t); m.load64Into(ea + 8, v, 4 * t + 2); break;
      case 'q': loadQuadLE(s, t, ea); break;
      case 'w4': { const w = [m.load32(ea), m.load32(ea + 4), m.load32(ea + 8), m.load32(ea + 12)]; for (let k = 0; k < 4; k++) v[wx(t, k)] = w[k]!; break; }
      case 'h8': { const h: number[] = []; for (let k = 0; k < 8; k++) h.push(m.load16(ea + 2 * k)); for (let k = 0; k < 8; k++) s.v16[hx(t, k)] = h[k]!; break; }
      case 'b16': { const b: number[] = []; for (let k = 0; k < 16; k++) b.push(m.load8(ea + k)); for (let k = 0; k < 16; k++) s.v8[bx(t, k)] = b[k]!; break; }
      case 'dsplat': m.load64Into(ea, v, 4 * t); v[4 * t + 2] = v[4 * t]!; v[4 * t + 3] = v[4 * t + 1]!; break;
      case 'wsplat': v.fill(m.load32(ea), 4 * t, 4 * t + 4); break;
    }
    return pc + 4;
  };
}
function stx(kind: 'd2' | 'w4' | 'h8' | 'b16' | 'q'): Exec {
  return (s, d, pc) => {
    const ea = eaX(s, d), t = d.t, m = s.m, v = s.v32;
    switch (kind) {
      case 'd2': m.store64From(ea, v, 4 * t); m.store64From(ea + 8, v, 4 * t + 2); break;
      case 'q': storeQuadLE(s, t, ea); break;
      case 'w4': for (let k = 0; k < 4; k++) m.store32(ea + 4 * k, v[wx(t, k)]!); break;
      case 'h8': for (let k = 0; k < 8; k++) m.store16(ea + 2 * k, s.v16[hx(t, k)]!); break;
      case 'b16': for (let k = 0; k < 16; k++) m.store8(ea + k, s.v8[bx(t, k)]!); break;
    }
    return pc + 4;
  };
}

type SK = 'd' | 'iwa' | 'iwz' | 'sp' | 'b' | 'h';
/**
 * Scalar loads into doubleword 0. Doubleword 1 is undefined for the X forms (left as it is, as
 * QEMU does) and cleared by ISA 3.0's DS forms (lxsd, lxssp).
 */
function lscalar(kind: SK, dform: boolean): Exec {
  return (s, d, pc) => {
    const ea = dform ? eaD(s, d) : eaX(s, d), t = d.t, v = s.v32, m = s.m;
    switch (kind) {
      case 'd': m.load64Into(ea, v, 4 * t); break;
      case 'iwa': { const x = m.load32(ea); v[4 * t] = x; v[4 * t + 1] = (x | 0) >> 31; break; }
      case 'iwz': v[4 * t] = m.load32(ea); v[4 * t + 1] = 0; break;
      case 'b': v[4 * t] = m.load8(ea); v[4 * t + 1] = 0; break;
      case 'h': v[4 * t] = m.load16(ea); v[4 * t + 1] = 0; break;
      case 'sp': stageSingle(s, 3, m.load32(ea)); v[4 * t] = s.fou[6]!; v[4 * t + 1] = s.fou[7]!; break;
    }
    if (dform) zeroDw1(s, t);
    return pc + 4;
  };
}
function sscalar(kind: SK, dform: boolean): Exec {
  return (s, d, pc) => {
    const ea = dform ? eaD(s, d) : eaX(s, d), t = d.t, v = s.v32, m = s.m;
    switch (kind) {
      case 'd': m.store64From(ea, v, 4 * t); break;
      case 'iwa': case 'iwz': m.store32(ea, v[4 * t]!); break;
      case 'b': m.store8(ea, v[4 * t]! & 0xff); break;
      case 'h': m.store16(ea, v[4 * t]! & 0xffff); break;
      case 'sp': m.store32(ea, doubleBitsToSingle(v[4 * t + 1]!, v[4 * t]!)); break;
    }
    return pc + 4;
  };
}

/** lxvl/lxvll/stxvl/stxvll: RB[0:7] bytes (at most 16); `left`: no byte reversal. */
function withLength(store: boolean, left: boolean): Exec {
  return (s, d, pc) => {
    const ea = d.a === 0 ? 0 : gnum(s, d.a);
    const nb = Math.min(16, s.g[(d.b << 1) + 1]! >>> 24);
    if (store) {
      for (let i = 0; i < nb; i++) s.m.store8(ea + i, byteOf(s, d.t, left ? i : 15 - i));
    } else {
      const b: number[] = [];
      for (let i = 0; i < nb; i++) b.push(s.m.load8(ea + i));
      s.v32.fill(0, 4 * d.t, 4 * d.t + 4);
      for (let i = 0; i < nb; i++) s.v8[bx(d.t, left ? i : 15 - i)] = b[i]!;
    }
    return pc + 4;
  };
}

export const VSX_LOADSTORE: InsnDef[] = [
  XL('lxvd2x', 844, 'XT,RA0,RB', ldx('d2')),
  XL('lxvw4x', 780, 'XT,RA0,RB', ldx('w4')),
  XL('lxvh8x', 812, 'XT,RA0,RB', ldx('h8'), { ...L, isa: '3.0' }),
  XL('lxvb16x', 876, 'XT,RA0,RB', ldx('b16'), { ...L, isa: '3.0' }),
  XL('lxvx', 268, 'XT,RA0,RB', ldx('q'), { ...L, isa: '3.0', fix: [[25, 25, 0]] }),
  XL('lxvdsx', 332, 'XT,RA0,RB', ldx('dsplat')),
  XL('lxvwsx', 364, 'XT,RA0,RB', ldx('wsplat'), { ...L, isa: '3.0' }),
  XL('lxsdx', 588, 'XT,RA0,RB', lscalar('d', false)),
  XL('lxsiwax', 76, 'XT,RA0,RB', lscalar('iwa', false)),
  XL('lxsiwzx', 12, 'XT,RA0,RB', lscalar('iwz', false)),
  XL('lxsspx', 524, 'XT,RA0,RB', lscalar('sp', false)),
  XL('lxsibzx', 781, 'XT,RA0,RB', lscalar('b', false), { ...L, isa: '3.0' }),
  XL('lxsihzx', 813, 'XT,RA0,RB', lscalar('h', false), { ...L, isa: '3.0' }),
  XL('lxvl', 269, 'XT,RA0,RB', withLength(false, false), { ...L, isa: '3.0' }),
  XL('lxvll', 301, 'XT,RA0,RB', withLength(false, true), { ...L, isa: '3.0' }),
  XL('stxvd2x', 972, 'XS,RA0,RB', stx('d2'), S),
  XL('stxvw4x', 908, 'XS,RA0,RB', stx('w4'), S),
  XL('stxvh8x', 940, 'XS,RA0,RB', stx('h8'), { ...S, isa: '3.0' }),
  XL('stxvb16x', 1004, 'XS,RA0,RB', stx('b16'), { ...S, isa: '3.0' }),
  XL('stxvx', 396, 'XS,RA0,RB', stx('q'), { ...S, isa: '3.0', fix: [[25, 25, 0]] }),
  XL('stxsdx', 716, 'XS,RA0,RB', sscalar('d', false), S),
  XL('stxsiwx', 140, 'XS,RA0,RB', sscalar('iwz', false), S),
  XL('stxsspx', 652, 'XS,RA0,RB', sscalar('sp', false), S),
  XL('stxsibx', 909, 'XS,RA0,RB', sscalar('b', false), { ...S, isa: '3.0' }),
  XL('stxsihx', 941, 'XS,RA0,RB', sscalar('h', false), { ...S, isa: '3.0' }),
  XL('stxvl', 397, 'XS,RA0,RB', withLength(true, false), { ...S, isa: '3.0' }),
  XL('stxvll', 429, 'XS,RA0,RB', withLength(true, true), { ...S, isa: '3.0' }),
  def('lxv', 'DQ', 61, 1, 'XTQ,DQ(RA0)', (s, d, pc) => { loadQuadLE(s, d.t, eaD(s, d)); return pc + 4; }, { ...L, isa: '3.0' }),
  def('stxv', 'DQ', 61, 5, 'XSQ,DQ(RA0)', (s, d, pc) => { storeQuadLE(s, d.t, eaD(s, d)); return pc + 4; }, { ...S, isa: '3.0' }),
  def('lxsd', 'DS', 57, 2, 'VSRT,DS(RA0)', lscalar('d', true), { ...L, isa: '3.0' }),
  def('lxssp', 'DS', 57, 3, 'VSRT,DS(RA0)', lscalar('sp', true), { ...L, isa: '3.0' }),
  def('stxsd', 'DS', 61, 2, 'VSRT,DS(RA0)', sscalar('d', true), { ...S, isa: '3.0' }),
  def('stxssp', 'DS', 61, 3, 'VSRT,DS(RA0)', sscalar('sp', true), { ...S, isa: '3.0' }),
];

// ---- moves between GPRs and VSRs ---------------------------------------------------------------
// mtvsrd/mtvsrwa/mtvsrwz leave doubleword 1 as it is (the ISA leaves it undefined; QEMU keeps it).

export const VSX_MOVES: InsnDef[] = [
  XL('mfvsrd', 51, 'RA,XS', (s, d, pc) => { const a = d.a << 1; s.g[a] = s.v32[4 * d.t]!; s.g[a + 1] = s.v32[4 * d.t + 1]!; return pc + 4; }, X),
  XL('mfvsrwz', 115, 'RA,XS', (s, d, pc) => { const a = d.a << 1; s.g[a] = s.v32[4 * d.t]!; s.g[a + 1] = 0; return pc + 4; }, X),
  XL('mfvsrld', 307, 'RA,XS', (s, d, pc) => { const a = d.a << 1; s.g[a] = s.v32[4 * d.t + 2]!; s.g[a + 1] = s.v32[4 * d.t + 3]!; return pc + 4; }, { ...X, isa: '3.0' }),
  XL('mtvsrd', 179, 'XT,RA', (s, d, pc) => { const a = d.a << 1; s.v32[4 * d.t] = s.g[a]!; s.v32[4 * d.t + 1] = s.g[a + 1]!; return pc + 4; }, X),
  XL('mtvsrwa', 211, 'XT,RA', (s, d, pc) => { const x = s.g[d.a << 1]!; s.v32[4 * d.t] = x; s.v32[4 * d.t + 1] = (x | 0) >> 31; return pc + 4; }, X),
  XL('mtvsrwz', 243, 'XT,RA', (s, d, pc) => { s.v32[4 * d.t] = s.g[d.a << 1]!; s.v32[4 * d.t + 1] = 0; return pc + 4; }, X),
  XL('mtvsrws', 403, 'XT,RA', (s, d, pc) => { s.v32.fill(s.g[d.a << 1]!, 4 * d.t, 4 * d.t + 4); return pc + 4; }, { ...X, isa: '3.0' }),
  XL('mtvsrdd', 435, 'XT,RA0,RB', (s, d, pc) => {
    const a = d.a << 1, b = d.b << 1, t = 4 * d.t, g = s.g;
    const al = d.a ? g[a]! : 0, ah = d.a ? g[a + 1]! : 0, bl = g[b]!, bh = g[b + 1]!;
    s.v32[t] = al; s.v32[t + 1] = ah; s.v32[t + 2] = bl; s.v32[t + 3] = bh;
    return pc + 4;
  }, { ...X, isa: '3.0' }),
];

// ---- logical and permute --------------------------------------------------------------------------

function lg(f: (a: number, b: number) => number): Exec {
  return (s, d, pc) => {
    const v = s.v32, a = 4 * d.a, b = 4 * d.b, t = 4 * d.t;
    for (let i = 0; i < 4; i++) v[t + i] = f(v[a + i]!, v[b + i]!);
    return pc + 4;
  };
}
function bytesOut(f: (s: St, d: Dec, i: number) => number): Exec {
  return (s, d, pc) => {
    for (let i = 0; i < 16; i++) s.t8[bx(2, i)] = f(s, d, i);
    fromScratch(s, d.t);
    return pc + 4;
  };
}

/** xxbr[hwdq]: reverse the bytes of each element. */
function xxbr(size: 2 | 4 | 8 | 16): Exec {
  return bytesOut((s, d, i) => { const base = i - (i % size); return byteOf(s, d.b, base + size - 1 - (i % size)); });
}

export const VSX_PERMUTE: InsnDef[] = [
  XX3('xxland', 130, 'XT,XA,XB', lg((a, b) => a & b)),
  XX3('xxlandc', 138, 'XT,XA,XB', lg((a, b) => a & ~b)),
  XX3('xxlor', 146, 'XT,XA,XB', lg((a, b) => a | b)),
  XX3('xxlxor', 154, 'XT,XA,XB', lg((a, b) => a ^ b)),
  XX3('xxlnor', 162, 'XT,XA,XB', lg((a, b) => ~(a | b))),
  XX3('xxlorc', 170, 'XT,XA,XB', lg((a, b) => a | ~b)),
  XX3('xxlnand', 178, 'XT,XA,XB', lg((a, b) => ~(a & b))),
  XX3('xxleqv', 186, 'XT,XA,XB', lg((a, b) => ~(a ^ b))),
  def('xxsel', 'XX4', 60, 3, 'XT,XA,XB,XC', (s, d, pc) => {
    const v = s.v32;
    for (let i = 0; i < 4; i++) { const c = v[4 * d.c + i]!; v[4 * d.t + i] = (v[4 * d.a + i]! & ~c) | (v[4 * d.b + i]! & c); }
    return pc + 4;
  }, X),
  def('xxpermdi', 'XX3i', 60, 10, 'XT,XA,XB,DM', (s, d, pc) => {
    const v = s.v32, a = dx(d.a, (d.j >> 1) & 1), b = dx(d.b, d.j & 1), t = 4 * d.t;
    const x0 = v[a]!, x1 = v[a + 1]!, y0 = v[b]!, y1 = v[b + 1]!;
    v[t] = x0; v[t + 1] = x1; v[t + 2] = y0; v[t + 3] = y1;
    return pc + 4;
  }, { ...X, fix: [[21, 21, 0]] }),
  def('xxsldwi', 'XX3i', 60, 2, 'XT,XA,XB,SHW', pick(4, 'i + d.j'), { ...X, fix: [[21, 21, 0]] }),
  XX3('xxmrghw', 18, 'XT,XA,XB', pick(4, '(i & 1 ? 4 : 0) + (i >> 1)')),
  XX3('xxmrglw', 50, 'XT,XA,XB', pick(4, '(i & 1 ? 4 : 0) + (i >> 1) + 2')),
  XX3('xxperm', 26, 'XT,XA,XB', pick(1, 'x8[16 * d.b + (i ^ 7)] & 31', { second: 't' }), { isa: '3.0' }),
  XX3('xxpermr', 58, 'XT,XA,XB', pick(1, '31 - (x8[16 * d.b + (i ^ 7)] & 31)', { second: 't' }), { isa: '3.0' }),
  XX2('xxspltw', 164, 'XT,XB,UIM2', pick(4, '4 + d.j'), { fix: [[11, 13, 0]] }),
  def('xxspltib', 'X', 60, 360, 'XT,IMM8', (s, d, pc) => { s.v8.fill(d.j, 16 * d.t, 16 * d.t + 16); return pc + 4; }, { ...X, isa: '3.0', fix: [[11, 12, 0]], rule: 'Rc=0' }),
  def('xxextractuw', 'XX2', 60, 165, 'XT,XB,UIM4', (s, d, pc) => {
    let w = 0;
    for (let j = 0; j < 4; j++) w = w * 256 + (d.j + j < 16 ? byteOf(s, d.b, d.j + j) : 0);
    const t = 4 * d.t;
    s.v32[t] = w; s.v32[t + 1] = 0; s.v32[t + 2] = 0; s.v32[t + 3] = 0;
    return pc + 4;
  }, { ...X, isa: '3.0', fix: [[11, 11, 0]] }),
  def('xxinsertw', 'XX2', 60, 181, 'XT,XB,UIM4', (s, d, pc) => {
    const src = [byteOf(s, d.b, 4), byteOf(s, d.b, 5), byteOf(s, d.b, 6), byteOf(s, d.b, 7)];
    for (let j = 0; j < 4; j++) if (d.j + j < 16) s.v8[bx(d.t, d.j + j)] = src[j]!;
    return pc + 4;
  }, { ...X, isa: '3.0', fix: [[11, 11, 0]] }),
  XX2('xxbrh', 475, 'XT,XB', xxbr(2), { isa: '3.0', fix: [[11, 15, 7]] }),
  XX2('xxbrw', 475, 'XT,XB', xxbr(4), { isa: '3.0', fix: [[11, 15, 15]] }),
  XX2('xxbrd', 475, 'XT,XB', xxbr(8), { isa: '3.0', fix: [[11, 15, 23]] }),
  XX2('xxbrq', 475, 'XT,XB', xxbr(16), { isa: '3.0', fix: [[11, 15, 31]] }),
];

// ---- scalar floating point ---------------------------------------------------------------------

/** Scalar binary op on doubleword 0: XT = XA op XB. */
const sbin = (op: BinOp, single: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a); stage(s, 1, 2 * d.b); kBin(s, op, single, true); putScalar(s, d.t); return pc + 4;
};
/** xsmadd[am]: 'a' form XT = XA*XB + XT, 'm' form XT = XA*XT + XB; NaN precedence XA, addend, multiplier. */
const sfma = (form: 'a' | 'm', neg: boolean, sub: boolean, single: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a);
  stage(s, 1, 2 * (form === 'a' ? d.t : d.b));
  stage(s, 2, 2 * (form === 'a' ? d.b : d.t));
  kFma(s, neg, sub, single, true);
  putScalar(s, d.t);
  return pc + 4;
};
const sun = (k: (s: St) => void): Exec => (s, d, pc) => { stage(s, 0, 2 * d.b); k(s); putScalar(s, d.t); return pc + 4; };

function sSign(f: (hi: number, hiA: number) => number): Exec {
  return (s, d, pc) => {
    const v = s.v32, lo = v[4 * d.b]!, hi = f(v[4 * d.b + 1]!, v[4 * d.a + 1]!);
    v[4 * d.t] = lo; v[4 * d.t + 1] = hi; zeroDw1(s, d.t);
    return pc + 4;
  };
}

const xscmp = (ordered: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a); stage(s, 1, 2 * d.b);
  const c = kCmp(s, ordered);
  setCrField(s, d.t, c);
  s.fpscr = ((s.fpscr & ~FPCC) | (c << 12)) >>> 0;
  return pc + 4;
};

/** xscmp{eq,gt,ge}dp (ISA 3.0): a mask in doubleword 0. */
const xscmpMask = (kind: 'eq' | 'gt' | 'ge'): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a); stage(s, 1, 2 * d.b);
  const a = s.fo[0]!, b = s.fo[1]!;
  if (a !== a || b !== b) {
    const snan = slotIsSnan(s, 0) || slotIsSnan(s, 1);
    raise(s, (snan ? VXSNAN : 0) | (kind !== 'eq' ? VXVC : 0));
  }
  const r = kind === 'eq' ? a === b : kind === 'gt' ? a > b : a >= b;
  const t = 4 * d.t;
  s.v32[t] = r ? 0xffffffff : 0; s.v32[t + 1] = r ? 0xffffffff : 0; zeroDw1(s, d.t);
  return pc + 4;
};

/**
 * Maximum/minimum of slots 0 and 1 into slot 3: 'dp' IEEE maxNum-like (a quiet NaN loses to a
 * number, a signalling NaN is the quieted result), 'cdp' C-like (a NaN gives the second).
 */
function kMinMax(s: St, max: boolean, c: boolean): void {
  const a = s.fo[0]!, b = s.fo[1]!, f = s.fou;
  let pick: 0 | 1 | -1; // operand slot, or -1 for a quieted NaN
  const snan = slotIsSnan(s, 0) || slotIsSnan(s, 1);
  if (snan) raise(s, VXSNAN);
  if (c) {
    // Type-C: a NaN gives XB; of two equal values (+0 and -0) max gives XA and min XB, as QEMU does.
    if (a !== a || b !== b) pick = 1;
    else pick = max ? (a < b ? 1 : 0) : (a < b ? 0 : 1);
  } else if (a !== a || b !== b) {
    if (snan) pick = -1;
    else pick = a !== a ? (b !== b ? 0 : 1) : 0;
  } else if (a === b && a === 0) pick = max ? (1 / a > 0 ? 0 : 1) : (1 / a < 0 ? 0 : 1);
  else pick = max ? (a > b ? 0 : 1) : (a < b ? 0 : 1);
  if (pick === -1) {
    const k = slotIsSnan(s, 0) || a !== a ? 0 : 1;
    f[6] = f[2 * k]!; f[7] = f[2 * k + 1]! | 0x80000;
  } else { f[6] = f[2 * pick]!; f[7] = f[2 * pick + 1]!; }
}
const xsminmax = (max: boolean, c: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a); stage(s, 1, 2 * d.b);
  kMinMax(s, max, c);
  putScalar(s, d.t);
  return pc + 4;
};

/** xscvdpsp: round to single; the single goes to word 0 (and word 1, as QEMU does). FPRF classifies it as a single. */
const xscvdpsp: Exec = (s, d, pc) => {
  stage(s, 0, 2 * d.b); kRsp(s, true);
  setFprf(s, fprfOfSingle(s.fo[3]!));
  const w = resultSingleBits(s), t = 4 * d.t;
  s.v32[t + 1] = w; s.v32[t] = w; zeroDw1(s, d.t);
  return pc + 4;
};
/**
 * xscvdpspn: the non-signalling conversion selects bits as stfs does (no rounding, no FPSCR
 * change); the single goes to words 0 and 1, as QEMU leaves it.
 */
const xscvdpspn: Exec = (s, d, pc) => {
  const w = doubleBitsToSingle(s.v32[4 * d.b + 1]!, s.v32[4 * d.b]!), t = 4 * d.t;
  s.v32[t + 1] = w; s.v32[t] = w; zeroDw1(s, d.t);
  return pc + 4;
};
/** xscvspdp: word 0 as single to double (a signalling NaN is quieted and signals). */
const xscvspdp = (signal: boolean): Exec => (s, d, pc) => {
  const w = wordOf(s, d.b, 0);
  stageSingle(s, 0, w);
  const t = 4 * d.t;
  if (signal) {
    const isNan = (w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0;
    if (isNan && (w & 0x400000) === 0) { raise(s, VXSNAN); s.fou[1] = s.fou[1]! | 0x80000; }
    setResultBits(s, s.fo[0]!, false, false);
  }
  s.v32[t] = s.fou[0]!; s.v32[t + 1] = s.fou[1]!; zeroDw1(s, d.t);
  return pc + 4;
};

/** xscvdp[su]x[dw]s: to an integer toward zero. Word results go to word 1 (bits 32:63 of dw0). */
const xscvToInt = (width: 32 | 64, signed: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.b);
  kToInt(s, width, signed, true, true);
  const t = 4 * d.t;
  // A word result goes to word 1; QEMU also leaves it in word 0 (the ISA leaves word 0 undefined).
  if (width === 64) { s.v32[t] = s.fou[6]!; s.v32[t + 1] = s.fou[7]!; }
  else { s.v32[t] = s.fou[6]!; s.v32[t + 1] = s.fou[6]!; }
  zeroDw1(s, d.t);
  return pc + 4;
};
const xscvFromInt = (signed: boolean, single: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.b); kFromInt(s, signed, single, true); putScalar(s, d.t); return pc + 4;
};

export const VSX_SCALAR: InsnDef[] = [
  XX3('xsadddp', 32, 'XT,XA,XB', sbin('add', false)),
  XX3('xssubdp', 40, 'XT,XA,XB', sbin('sub', false)),
  XX3('xsmuldp', 48, 'XT,XA,XB', sbin('mul', false)),
  XX3('xsdivdp', 56, 'XT,XA,XB', sbin('div', false)),
  XX3('xsaddsp', 0, 'XT,XA,XB', sbin('add', true)),
  XX3('xssubsp', 8, 'XT,XA,XB', sbin('sub', true)),
  XX3('xsmulsp', 16, 'XT,XA,XB', sbin('mul', true)),
  XX3('xsdivsp', 24, 'XT,XA,XB', sbin('div', true)),
  XX3('xsmaddadp', 33, 'XT,XA,XB', sfma('a', false, false, false)),
  XX3('xsmaddmdp', 41, 'XT,XA,XB', sfma('m', false, false, false)),
  XX3('xsmsubadp', 49, 'XT,XA,XB', sfma('a', false, true, false)),
  XX3('xsmsubmdp', 57, 'XT,XA,XB', sfma('m', false, true, false)),
  XX3('xsnmaddadp', 161, 'XT,XA,XB', sfma('a', true, false, false)),
  XX3('xsnmaddmdp', 169, 'XT,XA,XB', sfma('m', true, false, false)),
  XX3('xsnmsubadp', 177, 'XT,XA,XB', sfma('a', true, true, false)),
  XX3('xsnmsubmdp', 185, 'XT,XA,XB', sfma('m', true, true, false)),
  XX3('xsmaddasp', 1, 'XT,XA,XB', sfma('a', false, false, true)),
  XX3('xsmaddmsp', 9, 'XT,XA,XB', sfma('m', false, false, true)),
  XX3('xsmsubasp', 17, 'XT,XA,XB', sfma('a', false, true, true)),
  XX3('xsmsubmsp', 25, 'XT,XA,XB', sfma('m', false, true, true)),
  XX3('xsnmaddasp', 129, 'XT,XA,XB', sfma('a', true, false, true)),
  XX3('xsnmaddmsp', 137, 'XT,XA,XB', sfma('m', true, false, true)),
  XX3('xsnmsubasp', 145, 'XT,XA,XB', sfma('a', true, true, true)),
  XX3('xsnmsubmsp', 153, 'XT,XA,XB', sfma('m', true, true, true)),
  XX3('xscmpudp', 35, 'BF,XA,XB', xscmp(false), { fix: [[9, 10, 0], [31, 31, 0]] }),
  XX3('xscmpodp', 43, 'BF,XA,XB', xscmp(true), { fix: [[9, 10, 0], [31, 31, 0]] }),
  XX3('xscmpeqdp', 3, 'XT,XA,XB', xscmpMask('eq'), { isa: '3.0' }),
  XX3('xscmpgtdp', 11, 'XT,XA,XB', xscmpMask('gt'), { isa: '3.0' }),
  XX3('xscmpgedp', 19, 'XT,XA,XB', xscmpMask('ge'), { isa: '3.0' }),
  XX3('xsmaxdp', 160, 'XT,XA,XB', xsminmax(true, false)),
  XX3('xsmindp', 168, 'XT,XA,XB', xsminmax(false, false)),
  XX3('xsmaxcdp', 128, 'XT,XA,XB', xsminmax(true, true), { isa: '3.0' }),
  XX3('xsmincdp', 136, 'XT,XA,XB', xsminmax(false, true), { isa: '3.0' }),
  XX3('xscpsgndp', 176, 'XT,XA,XB', sSign((b, a) => (b & 0x7fffffff) | (a & 0x80000000))),
  XX2('xsabsdp', 345, 'XT,XB', sSign((b) => b & 0x7fffffff), { fix: [[11, 15, 0]] }),
  XX2('xsnabsdp', 361, 'XT,XB', sSign((b) => b | 0x80000000), { fix: [[11, 15, 0]] }),
  XX2('xsnegdp', 377, 'XT,XB', sSign((b) => b ^ 0x80000000), { fix: [[11, 15, 0]] }),
  XX2('xssqrtdp', 75, 'XT,XB', sun((s) => kSqrt(s, false, true)), { fix: [[11, 15, 0]] }),
  XX2('xssqrtsp', 11, 'XT,XB', sun((s) => kSqrt(s, true, true)), { fix: [[11, 15, 0]] }),
  XX2('xsredp', 90, 'XT,XB', sun((s) => kEstimate(s, false, false, true)), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xsrsqrtedp', 74, 'XT,XB', sun((s) => kEstimate(s, true, false, true)), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xsresp', 26, 'XT,XB', sun((s) => kEstimate(s, false, true, true)), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xsrsqrtesp', 10, 'XT,XB', sun((s) => kEstimate(s, true, true, true)), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xsrdpi', 73, 'XT,XB', sun((s) => kRoundInt(s, 'n', true, false)), { fix: [[11, 15, 0]] }),
  XX2('xsrdpiz', 89, 'XT,XB', sun((s) => kRoundInt(s, 'z', true, false)), { fix: [[11, 15, 0]] }),
  XX2('xsrdpip', 105, 'XT,XB', sun((s) => kRoundInt(s, 'p', true, false)), { fix: [[11, 15, 0]] }),
  XX2('xsrdpim', 121, 'XT,XB', sun((s) => kRoundInt(s, 'm', true, false)), { fix: [[11, 15, 0]] }),
  XX2('xsrdpic', 107, 'XT,XB', sun((s) => kRoundInt(s, 'c', true, true)), { fix: [[11, 15, 0]] }),
  XX2('xsrsp', 281, 'XT,XB', sun((s) => kRsp(s, true)), { fix: [[11, 15, 0]] }),
  XX2('xscvdpsp', 265, 'XT,XB', xscvdpsp, { fix: [[11, 15, 0]] }),
  XX2('xscvdpspn', 267, 'XT,XB', xscvdpspn, { fix: [[11, 15, 0]] }),
  XX2('xscvspdp', 329, 'XT,XB', xscvspdp(true), { fix: [[11, 15, 0]] }),
  XX2('xscvspdpn', 331, 'XT,XB', xscvspdp(false), { fix: [[11, 15, 0]] }),
  XX2('xscvdpsxds', 344, 'XT,XB', xscvToInt(64, true), { fix: [[11, 15, 0]] }),
  XX2('xscvdpsxws', 88, 'XT,XB', xscvToInt(32, true), { fix: [[11, 15, 0]] }),
  XX2('xscvdpuxds', 328, 'XT,XB', xscvToInt(64, false), { fix: [[11, 15, 0]] }),
  XX2('xscvdpuxws', 72, 'XT,XB', xscvToInt(32, false), { fix: [[11, 15, 0]] }),
  XX2('xscvsxddp', 376, 'XT,XB', xscvFromInt(true, false), { fix: [[11, 15, 0]] }),
  XX2('xscvuxddp', 360, 'XT,XB', xscvFromInt(false, false), { fix: [[11, 15, 0]] }),
  XX2('xscvsxdsp', 312, 'XT,XB', xscvFromInt(true, true), { fix: [[11, 15, 0]] }),
  XX2('xscvuxdsp', 296, 'XT,XB', xscvFromInt(false, true), { fix: [[11, 15, 0]] }),
];

// ---- vector floating point ---------------------------------------------------------------------

/** Apply a kernel to each lane: 2 doubleword lanes, or 4 single-precision word lanes. */
function lanes(sp: boolean, nops: 1 | 2 | 3, srcs: (d: Dec) => number[], k: (s: St) => void): Exec {
  return (s, d, pc) => {
    const regs = srcs(d);
    if (!sp) {
      for (let l = 0; l < 2; l++) {
        for (let o = 0; o < nops; o++) stage(s, o, 2 * regs[o]! + l);
        k(s);
        s.t32[8 + 2 * l] = s.fou[6]!; s.t32[8 + 2 * l + 1] = s.fou[7]!;
      }
    } else {
      for (let l = 0; l < 4; l++) {
        for (let o = 0; o < nops; o++) stageSingle(s, o, wordOf(s, regs[o]!, l));
        k(s);
        s.t32[wx(2, l)] = resultSingleBits(s);
      }
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}
const AB = (d: Dec) => [d.a, d.b];
const B = (d: Dec) => [d.b];
const vbin = (op: BinOp, sp: boolean) => lanes(sp, 2, AB, (s) => kBin(s, op, sp, false));
const vfma = (form: 'a' | 'm', neg: boolean, sub: boolean, sp: boolean) =>
  lanes(sp, 3, (d) => (form === 'a' ? [d.a, d.t, d.b] : [d.a, d.b, d.t]), (s) => kFma(s, neg, sub, sp, false));

/** Vector compares: all-ones lanes where true; CR6 when Rc=1. */
function vcmp(sp: boolean, kind: 'eq' | 'gt' | 'ge'): Exec {
  return (s, d, pc) => {
    const n = sp ? 4 : 2;
    let all = true, none = true;
    for (let l = 0; l < n; l++) {
      if (sp) { stageSingle(s, 0, wordOf(s, d.a, l)); stageSingle(s, 1, wordOf(s, d.b, l)); }
      else { stage(s, 0, 2 * d.a + l); stage(s, 1, 2 * d.b + l); }
      const a = s.fo[0]!, b = s.fo[1]!;
      if (a !== a || b !== b) {
        const snan = slotIsSnan(s, 0) || slotIsSnan(s, 1);
        if (snan || kind !== 'eq') raise(s, (snan ? VXSNAN : 0) | (kind !== 'eq' ? VXVC : 0));
      }
      const r = kind === 'eq' ? a === b : kind === 'gt' ? a > b : a >= b;
      if (r) none = false; else all = false;
      if (sp) s.t32[wx(2, l)] = r ? 0xffffffff : 0;
      else { s.t32[8 + 2 * l] = r ? 0xffffffff : 0; s.t32[8 + 2 * l + 1] = r ? 0xffffffff : 0; }
    }
    fromScratch(s, d.t);
    if (d.rc) cr6(s, all, none);
    return pc + 4;
  };
}

function vsign(sp: boolean, f: (w: number, wa: number) => number): Exec {
  return (s, d, pc) => {
    const v = s.v32;
    for (let i = 0; i < 4; i++) {
      const isSign = sp || (i & 1) === 1; // the word holding the sign: each word (sp) or each high word (dp)
      const x = v[4 * d.b + i]!, y = v[4 * d.a + i]!;
      s.t32[8 + i] = isSign ? f(x, y) : x;
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

/** Conversions between lanes of different widths. */
const xvcvspdp: Exec = (s, d, pc) => {
  for (let l = 0; l < 2; l++) {
    const w = wordOf(s, d.b, 2 * l);
    stageSingle(s, 0, w);
    if ((w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0 && (w & 0x400000) === 0) { raise(s, VXSNAN); s.fou[1] = s.fou[1]! | 0x80000; }
    s.t32[8 + 2 * l] = s.fou[0]!; s.t32[8 + 2 * l + 1] = s.fou[1]!;
  }
  fromScratch(s, d.t);
  return pc + 4;
};
const xvcvdpsp: Exec = (s, d, pc) => {
  for (let l = 0; l < 2; l++) {
    stage(s, 0, 2 * d.b + l); kRsp(s, false);
    const w = resultSingleBits(s);
    s.t32[wx(2, 2 * l)] = w; s.t32[wx(2, 2 * l + 1)] = w;
  }
  fromScratch(s, d.t);
  return pc + 4;
};
/** Word integers (lanes 0 and 2) to doubles. */
const xvcvxwdp = (signed: boolean): Exec => (s, d, pc) => {
  for (let l = 0; l < 2; l++) {
    const w = wordOf(s, d.b, 2 * l);
    const x = signed ? w | 0 : w;
    s.fo[3] = x;
    s.t32[8 + 2 * l] = s.fou[6]!; s.t32[8 + 2 * l + 1] = s.fou[7]!;
  }
  fromScratch(s, d.t);
  return pc + 4;
};
/*
 * The vector float-to-integer conversions below are not drawn by the random tester: QEMU 7.2
 * lets an invalid lane's result leak into the following lanes, which the ISA does not.
 */
/** Doubles to word integers toward zero (in both words of each doubleword lane). */
const xvcvdpxws = (signed: boolean): Exec => (s, d, pc) => {
  for (let l = 0; l < 2; l++) {
    stage(s, 0, 2 * d.b + l); kToInt(s, 32, signed, true, false);
    s.t32[wx(2, 2 * l)] = s.fou[6]!; s.t32[wx(2, 2 * l + 1)] = s.fou[6]!;
  }
  fromScratch(s, d.t);
  return pc + 4;
};
const xvcvdpxds = (signed: boolean) => lanes(false, 1, B, (s) => kToInt(s, 64, signed, true, false));
const xvcvxddp = (signed: boolean) => lanes(false, 1, B, (s) => kFromInt(s, signed, false, false));
/** Single lanes to word integers toward zero. */
const xvcvspxws = (signed: boolean): Exec => (s, d, pc) => {
  for (let l = 0; l < 4; l++) {
    stageSingle(s, 0, wordOf(s, d.b, l)); kToInt(s, 32, signed, true, false);
    s.t32[wx(2, l)] = s.fou[6]!;
  }
  fromScratch(s, d.t);
  return pc + 4;
};
/** Word integers to single lanes, rounded by FPSCR[RN]. */
const xvcvxwsp = (signed: boolean): Exec => (s, d, pc) => {
  for (let l = 0; l < 4; l++) {
    const w = wordOf(s, d.b, l);
    const x = signed ? w | 0 : w;
    deliver(s, x, 0, true, false);
    s.t32[wx(2, l)] = resultSingleBits(s);
  }
  fromScratch(s, d.t);
  return pc + 4;
};

export const VSX_VECTOR: InsnDef[] = [
  XX3('xvadddp', 96, 'XT,XA,XB', vbin('add', false)),
  XX3('xvsubdp', 104, 'XT,XA,XB', vbin('sub', false)),
  XX3('xvmuldp', 112, 'XT,XA,XB', vbin('mul', false)),
  XX3('xvdivdp', 120, 'XT,XA,XB', vbin('div', false)),
  XX3('xvaddsp', 64, 'XT,XA,XB', vbin('add', true)),
  XX3('xvsubsp', 72, 'XT,XA,XB', vbin('sub', true)),
  XX3('xvmulsp', 80, 'XT,XA,XB', vbin('mul', true)),
  XX3('xvdivsp', 88, 'XT,XA,XB', vbin('div', true)),
  XX3('xvmaddadp', 97, 'XT,XA,XB', vfma('a', false, false, false)),
  XX3('xvmaddmdp', 105, 'XT,XA,XB', vfma('m', false, false, false)),
  XX3('xvmsubadp', 113, 'XT,XA,XB', vfma('a', false, true, false)),
  XX3('xvmsubmdp', 121, 'XT,XA,XB', vfma('m', false, true, false)),
  XX3('xvnmaddadp', 225, 'XT,XA,XB', vfma('a', true, false, false)),
  XX3('xvnmaddmdp', 233, 'XT,XA,XB', vfma('m', true, false, false)),
  XX3('xvnmsubadp', 241, 'XT,XA,XB', vfma('a', true, true, false)),
  XX3('xvnmsubmdp', 249, 'XT,XA,XB', vfma('m', true, true, false)),
  XX3('xvmaddasp', 65, 'XT,XA,XB', vfma('a', false, false, true)),
  XX3('xvmaddmsp', 73, 'XT,XA,XB', vfma('m', false, false, true)),
  XX3('xvmsubasp', 81, 'XT,XA,XB', vfma('a', false, true, true)),
  XX3('xvmsubmsp', 89, 'XT,XA,XB', vfma('m', false, true, true)),
  XX3('xvnmaddasp', 193, 'XT,XA,XB', vfma('a', true, false, true)),
  XX3('xvnmaddmsp', 201, 'XT,XA,XB', vfma('m', true, false, true)),
  XX3('xvnmsubasp', 209, 'XT,XA,XB', vfma('a', true, true, true)),
  XX3('xvnmsubmsp', 217, 'XT,XA,XB', vfma('m', true, true, true)),
  def('xvcmpeqdp', 'XX3r', 60, 99, 'XT,XA,XB', vcmp(false, 'eq'), X),
  def('xvcmpgtdp', 'XX3r', 60, 107, 'XT,XA,XB', vcmp(false, 'gt'), X),
  def('xvcmpgedp', 'XX3r', 60, 115, 'XT,XA,XB', vcmp(false, 'ge'), X),
  def('xvcmpeqsp', 'XX3r', 60, 67, 'XT,XA,XB', vcmp(true, 'eq'), X),
  def('xvcmpgtsp', 'XX3r', 60, 75, 'XT,XA,XB', vcmp(true, 'gt'), X),
  def('xvcmpgesp', 'XX3r', 60, 83, 'XT,XA,XB', vcmp(true, 'ge'), X),
  XX3('xvcpsgndp', 240, 'XT,XA,XB', vsign(false, (b, a) => (b & 0x7fffffff) | (a & 0x80000000))),
  XX3('xvcpsgnsp', 208, 'XT,XA,XB', vsign(true, (b, a) => (b & 0x7fffffff) | (a & 0x80000000))),
  XX2('xvabsdp', 473, 'XT,XB', vsign(false, (b) => b & 0x7fffffff), { fix: [[11, 15, 0]] }),
  XX2('xvabssp', 409, 'XT,XB', vsign(true, (b) => b & 0x7fffffff), { fix: [[11, 15, 0]] }),
  XX2('xvnabsdp', 489, 'XT,XB', vsign(false, (b) => b | 0x80000000), { fix: [[11, 15, 0]] }),
  XX2('xvnabssp', 425, 'XT,XB', vsign(true, (b) => b | 0x80000000), { fix: [[11, 15, 0]] }),
  XX2('xvnegdp', 505, 'XT,XB', vsign(false, (b) => b ^ 0x80000000), { fix: [[11, 15, 0]] }),
  XX2('xvnegsp', 441, 'XT,XB', vsign(true, (b) => b ^ 0x80000000), { fix: [[11, 15, 0]] }),
  XX2('xvsqrtdp', 203, 'XT,XB', lanes(false, 1, B, (s) => kSqrt(s, false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvsqrtsp', 139, 'XT,XB', lanes(true, 1, B, (s) => kSqrt(s, true, false)), { fix: [[11, 15, 0]] }),
  XX3('xvmaxdp', 224, 'XT,XA,XB', lanes(false, 2, AB, (s) => kMinMax(s, true, false))),
  XX3('xvmindp', 232, 'XT,XA,XB', lanes(false, 2, AB, (s) => kMinMax(s, false, false))),
  XX3('xvmaxsp', 192, 'XT,XA,XB', lanes(true, 2, AB, (s) => kMinMax(s, true, false))),
  XX3('xvminsp', 200, 'XT,XA,XB', lanes(true, 2, AB, (s) => kMinMax(s, false, false))),
  XX2('xvrspi', 137, 'XT,XB', lanes(true, 1, B, (s) => kRoundInt(s, 'n', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrspiz', 153, 'XT,XB', lanes(true, 1, B, (s) => kRoundInt(s, 'z', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrspip', 169, 'XT,XB', lanes(true, 1, B, (s) => kRoundInt(s, 'p', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrspim', 185, 'XT,XB', lanes(true, 1, B, (s) => kRoundInt(s, 'm', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrdpi', 201, 'XT,XB', lanes(false, 1, B, (s) => kRoundInt(s, 'n', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrdpiz', 217, 'XT,XB', lanes(false, 1, B, (s) => kRoundInt(s, 'z', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrdpip', 233, 'XT,XB', lanes(false, 1, B, (s) => kRoundInt(s, 'p', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvrdpim', 249, 'XT,XB', lanes(false, 1, B, (s) => kRoundInt(s, 'm', false, false)), { fix: [[11, 15, 0]] }),
  XX2('xvcvspdp', 457, 'XT,XB', xvcvspdp, { fix: [[11, 15, 0]] }),
  XX2('xvcvdpsp', 393, 'XT,XB', xvcvdpsp, { fix: [[11, 15, 0]] }),
  XX2('xvcvsxwdp', 248, 'XT,XB', xvcvxwdp(true), { fix: [[11, 15, 0]] }),
  XX2('xvcvuxwdp', 232, 'XT,XB', xvcvxwdp(false), { fix: [[11, 15, 0]] }),
  XX2('xvcvdpsxws', 216, 'XT,XB', xvcvdpxws(true), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xvcvdpuxws', 200, 'XT,XB', xvcvdpxws(false), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xvcvdpsxds', 472, 'XT,XB', xvcvdpxds(true), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xvcvdpuxds', 456, 'XT,XB', xvcvdpxds(false), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xvcvsxddp', 504, 'XT,XB', xvcvxddp(true), { fix: [[11, 15, 0]] }),
  XX2('xvcvuxddp', 488, 'XT,XB', xvcvxddp(false), { fix: [[11, 15, 0]] }),
  XX2('xvcvspsxws', 152, 'XT,XB', xvcvspxws(true), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xvcvspuxws', 136, 'XT,XB', xvcvspxws(false), { fix: [[11, 15, 0]], gen: 'none' }),
  XX2('xvcvsxwsp', 184, 'XT,XB', xvcvxwsp(true), { fix: [[11, 15, 0]] }),
  XX2('xvcvuxwsp', 168, 'XT,XB', xvcvxwsp(false), { fix: [[11, 15, 0]] }),
];

export const VSX: InsnDef[] = [...VSX_LOADSTORE, ...VSX_MOVES, ...VSX_PERMUTE, ...VSX_SCALAR, ...VSX_VECTOR];
