// Fixed-point loads and stores of every width (update, indexed, byte-reversed), load-and-
// reserve / store-conditional, cache management and storage barriers.

import { TWO32, setCrField } from '../alu.js';
import type { St } from '../state.js';
import type { Dec, Exec, InsnDef } from '../types.js';
import { def } from './def.js';

/** EA of a D/DS-form access: (RA|0) + D. Exact for every address below 2^53. */
export function eaD(s: St, d: Dec): number {
  const a = d.a << 1;
  return d.a === 0 ? d.i : s.g[a + 1]! * TWO32 + s.g[a]! + d.i;
}

/** EA of an X-form access: (RA|0) + RB, modulo 2^64 (an index register may be negative). */
export function eaX(s: St, d: Dec): number {
  const g = s.g, b = d.b << 1;
  if (d.a === 0) return g[b + 1]! * TWO32 + g[b]!;
  const a = d.a << 1, l = g[a]! + g[b]!;
  return ((g[a + 1]! + g[b + 1]! + (l > 0xffffffff ? 1 : 0)) >>> 0) * TWO32 + (l >>> 0);
}

/** RA = EA for update forms. */
function setRa(s: St, d: Dec, ea: number): void {
  const a = d.a << 1;
  s.g[a] = ea; s.g[a + 1] = Math.floor(ea / TWO32);
}

type Width = 'b' | 'h' | 'ha' | 'w' | 'wa' | 'd' | 'hbr' | 'wbr' | 'dbr';

function bswap16(x: number): number { return ((x & 0xff) << 8) | ((x >>> 8) & 0xff); }
function bswap32(x: number): number { return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0; }

function loadInto(s: St, t: number, ea: number, w: Width): void {
  const g = s.g, m = s.m, r = t << 1;
  switch (w) {
    case 'b': g[r] = m.load8(ea); g[r + 1] = 0; return;
    case 'h': g[r] = m.load16(ea); g[r + 1] = 0; return;
    case 'ha': { const v = (m.load16(ea) << 16) >> 16; g[r] = v; g[r + 1] = v >> 31; return; }
    case 'w': g[r] = m.load32(ea); g[r + 1] = 0; return;
    case 'wa': { const v = m.load32(ea) | 0; g[r] = v; g[r + 1] = v >> 31; return; }
    case 'd': m.load64Into(ea, g, r); return;
    case 'hbr': g[r] = bswap16(m.load16(ea)); g[r + 1] = 0; return;
    case 'wbr': g[r] = bswap32(m.load32(ea)); g[r + 1] = 0; return;
    case 'dbr': {
      m.load64Into(ea, s.t32, 0);
      g[r] = bswap32(s.t32[1]!); g[r + 1] = bswap32(s.t32[0]!);
      return;
    }
  }
}

function storeFrom(s: St, t: number, ea: number, w: Width): void {
  const g = s.g, m = s.m, r = t << 1;
  switch (w) {
    case 'b': m.store8(ea, g[r]! & 0xff); return;
    case 'h': case 'ha': m.store16(ea, g[r]! & 0xffff); return;
    case 'w': case 'wa': m.store32(ea, g[r]!); return;
    case 'd': m.store64From(ea, g, r); return;
    case 'hbr': m.store16(ea, bswap16(g[r]!)); return;
    case 'wbr': m.store32(ea, bswap32(g[r]!)); return;
    case 'dbr': s.t32[0] = bswap32(g[r + 1]!); s.t32[1] = bswap32(g[r]!); m.store64From(ea, s.t32, 0); return;
  }
}

const lD = (w: Width): Exec => (s, d, pc) => { loadInto(s, d.t, eaD(s, d), w); return pc + 4; };
const lDU = (w: Width): Exec => (s, d, pc) => { const ea = eaD(s, d); loadInto(s, d.t, ea, w); setRa(s, d, ea); return pc + 4; };
const lX = (w: Width): Exec => (s, d, pc) => { loadInto(s, d.t, eaX(s, d), w); return pc + 4; };
const lXU = (w: Width): Exec => (s, d, pc) => { const ea = eaX(s, d); loadInto(s, d.t, ea, w); setRa(s, d, ea); return pc + 4; };
const sD = (w: Width): Exec => (s, d, pc) => { storeFrom(s, d.t, eaD(s, d), w); return pc + 4; };
const sDU = (w: Width): Exec => (s, d, pc) => { const ea = eaD(s, d); storeFrom(s, d.t, ea, w); setRa(s, d, ea); return pc + 4; };
const sX = (w: Width): Exec => (s, d, pc) => { storeFrom(s, d.t, eaX(s, d), w); return pc + 4; };
const sXU = (w: Width): Exec => (s, d, pc) => { const ea = eaX(s, d); storeFrom(s, d.t, ea, w); setRa(s, d, ea); return pc + 4; };

// Hot loads and stores written out (no width switch).
const lwz: Exec = (s, d, pc) => {
  const a = d.a << 1, t = d.t << 1, g = s.g;
  g[t] = s.m.load32(d.a === 0 ? d.i : g[a + 1]! * TWO32 + g[a]! + d.i); g[t + 1] = 0;
  return pc + 4;
};
const ld: Exec = (s, d, pc) => {
  const a = d.a << 1, g = s.g;
  s.m.load64Into(d.a === 0 ? d.i : g[a + 1]! * TWO32 + g[a]! + d.i, g, d.t << 1);
  return pc + 4;
};
const stw: Exec = (s, d, pc) => {
  const a = d.a << 1, g = s.g;
  s.m.store32(d.a === 0 ? d.i : g[a + 1]! * TWO32 + g[a]! + d.i, g[d.t << 1]!);
  return pc + 4;
};
const std: Exec = (s, d, pc) => {
  const a = d.a << 1, g = s.g;
  s.m.store64From(d.a === 0 ? d.i : g[a + 1]! * TWO32 + g[a]! + d.i, g, d.t << 1);
  return pc + 4;
};

const U = { rule: 'RA!=0,RA!=RT' };
const US = { rule: 'RA!=0' };
const L = { gen: 'load' as const };
const S = { gen: 'store' as const };

export const LOADS: InsnDef[] = [
  def('lbz', 'D', 34, undefined, 'RT,D(RA0)', lD('b'), L),
  def('lbzu', 'D', 35, undefined, 'RT,D(RA)', lDU('b'), { ...L, ...U }),
  def('lhz', 'D', 40, undefined, 'RT,D(RA0)', lD('h'), L),
  def('lhzu', 'D', 41, undefined, 'RT,D(RA)', lDU('h'), { ...L, ...U }),
  def('lha', 'D', 42, undefined, 'RT,D(RA0)', lD('ha'), L),
  def('lhau', 'D', 43, undefined, 'RT,D(RA)', lDU('ha'), { ...L, ...U }),
  def('lwz', 'D', 32, undefined, 'RT,D(RA0)', lwz, L),
  def('lwzu', 'D', 33, undefined, 'RT,D(RA)', lDU('w'), { ...L, ...U }),
  def('lwa', 'DS', 58, 2, 'RT,DS(RA0)', lD('wa'), L),
  def('ld', 'DS', 58, 0, 'RT,DS(RA0)', ld, L),
  def('ldu', 'DS', 58, 1, 'RT,DS(RA)', lDU('d'), { ...L, ...U }),
  def('lbzx', 'X', 31, 87, 'RT,RA0,RB', lX('b'), { ...L, rule: 'Rc=0' }),
  def('lbzux', 'X', 31, 119, 'RT,RA,RB', lXU('b'), { ...L, rule: 'Rc=0,RA!=0,RA!=RT' }),
  def('lhzx', 'X', 31, 279, 'RT,RA0,RB', lX('h'), { ...L, rule: 'Rc=0' }),
  def('lhzux', 'X', 31, 311, 'RT,RA,RB', lXU('h'), { ...L, rule: 'Rc=0,RA!=0,RA!=RT' }),
  def('lhax', 'X', 31, 343, 'RT,RA0,RB', lX('ha'), { ...L, rule: 'Rc=0' }),
  def('lhaux', 'X', 31, 375, 'RT,RA,RB', lXU('ha'), { ...L, rule: 'Rc=0,RA!=0,RA!=RT' }),
  def('lwzx', 'X', 31, 23, 'RT,RA0,RB', lX('w'), { ...L, rule: 'Rc=0' }),
  def('lwzux', 'X', 31, 55, 'RT,RA,RB', lXU('w'), { ...L, rule: 'Rc=0,RA!=0,RA!=RT' }),
  def('lwax', 'X', 31, 341, 'RT,RA0,RB', lX('wa'), { ...L, rule: 'Rc=0' }),
  def('lwaux', 'X', 31, 373, 'RT,RA,RB', lXU('wa'), { ...L, rule: 'Rc=0,RA!=0,RA!=RT' }),
  def('ldx', 'X', 31, 21, 'RT,RA0,RB', lX('d'), { ...L, rule: 'Rc=0' }),
  def('ldux', 'X', 31, 53, 'RT,RA,RB', lXU('d'), { ...L, rule: 'Rc=0,RA!=0,RA!=RT' }),
  def('lhbrx', 'X', 31, 790, 'RT,RA0,RB', lX('hbr'), { ...L, rule: 'Rc=0' }),
  def('lwbrx', 'X', 31, 534, 'RT,RA0,RB', lX('wbr'), { ...L, rule: 'Rc=0' }),
  def('ldbrx', 'X', 31, 532, 'RT,RA0,RB', lX('dbr'), { ...L, rule: 'Rc=0' }),
];

export const STORES: InsnDef[] = [
  def('stb', 'D', 38, undefined, 'RS,D(RA0)', sD('b'), S),
  def('stbu', 'D', 39, undefined, 'RS,D(RA)', sDU('b'), { ...S, ...US }),
  def('sth', 'D', 44, undefined, 'RS,D(RA0)', sD('h'), S),
  def('sthu', 'D', 45, undefined, 'RS,D(RA)', sDU('h'), { ...S, ...US }),
  def('stw', 'D', 36, undefined, 'RS,D(RA0)', stw, S),
  def('stwu', 'D', 37, undefined, 'RS,D(RA)', sDU('w'), { ...S, ...US }),
  def('std', 'DS', 62, 0, 'RS,DS(RA0)', std, S),
  def('stdu', 'DS', 62, 1, 'RS,DS(RA)', sDU('d'), { ...S, ...US }),
  def('stbx', 'X', 31, 215, 'RS,RA0,RB', sX('b'), { ...S, rule: 'Rc=0' }),
  def('stbux', 'X', 31, 247, 'RS,RA,RB', sXU('b'), { ...S, rule: 'Rc=0,RA!=0' }),
  def('sthx', 'X', 31, 407, 'RS,RA0,RB', sX('h'), { ...S, rule: 'Rc=0' }),
  def('sthux', 'X', 31, 439, 'RS,RA,RB', sXU('h'), { ...S, rule: 'Rc=0,RA!=0' }),
  def('stwx', 'X', 31, 151, 'RS,RA0,RB', sX('w'), { ...S, rule: 'Rc=0' }),
  def('stwux', 'X', 31, 183, 'RS,RA,RB', sXU('w'), { ...S, rule: 'Rc=0,RA!=0' }),
  def('stdx', 'X', 31, 149, 'RS,RA0,RB', sX('d'), { ...S, rule: 'Rc=0' }),
  def('stdux', 'X', 31, 181, 'RS,RA,RB', sXU('d'), { ...S, rule: 'Rc=0,RA!=0' }),
  def('sthbrx', 'X', 31, 918, 'RS,RA0,RB', sX('hbr'), { ...S, rule: 'Rc=0' }),
  def('stwbrx', 'X', 31, 662, 'RS,RA0,RB', sX('wbr'), { ...S, rule: 'Rc=0' }),
  def('stdbrx', 'X', 31, 660, 'RS,RA0,RB', sX('dbr'), { ...S, rule: 'Rc=0' }),
];

// ---- reservations -------------------------------------------------------------------------

const larx = (w: Width): Exec => (s, d, pc) => {
  const ea = eaX(s, d);
  loadInto(s, d.t, ea, w);
  s.sys.reserve(ea);
  return pc + 4;
};
const stcx = (w: Width): Exec => (s, d, pc) => {
  const ea = eaX(s, d);
  const ok = s.sys.storeConditional(ea);
  if (ok) storeFrom(s, d.t, ea, w);
  setCrField(s, 0, (ok ? 2 : 0) | (s.xer >>> 31));
  return pc + 4;
};

export const ATOMICS: InsnDef[] = [
  def('lbarx', 'X', 31, 52, 'RT,RA0,RB,EH', larx('b'), { ...L, rule: 'Rc=0' }),
  def('lharx', 'X', 31, 116, 'RT,RA0,RB,EH', larx('h'), { ...L, rule: 'Rc=0' }),
  def('lwarx', 'X', 31, 20, 'RT,RA0,RB,EH', larx('w'), { ...L, rule: 'Rc=0' }),
  def('ldarx', 'X', 31, 84, 'RT,RA0,RB,EH', larx('d'), { ...L, rule: 'Rc=0' }),
  def('stbcx.', 'X1', 31, 1389, 'RS,RA0,RB', stcx('b'), S),
  def('sthcx.', 'X1', 31, 1453, 'RS,RA0,RB', stcx('h'), S),
  def('stwcx.', 'X1', 31, 301, 'RS,RA0,RB', stcx('w'), S),
  def('stdcx.', 'X1', 31, 429, 'RS,RA0,RB', stcx('d'), S),
];

// ---- cache management and barriers --------------------------------------------------------

const nop: Exec = (_s, _d, pc) => pc + 4;

export const CACHE: InsnDef[] = [
  def('dcbt', 'X', 31, 278, 'RA0,RB,TH', nop, { rule: 'Rc=0', gen: 'load' }),
  def('dcbtst', 'X', 31, 246, 'RA0,RB,TH', nop, { rule: 'Rc=0', gen: 'load' }),
  def('dcbf', 'X', 31, 86, 'RA0,RB,L9', nop, { rule: 'Rc=0,j!=2', gen: 'load' }),
  def('dcbst', 'X', 31, 54, 'RA0,RB', nop, { rule: 'Rc=0', gen: 'load' }),
  // icbt is an embedded-category hint QEMU does not decode: executed here, never generated.
  def('icbt', 'X', 31, 22, 'CT,RA0,RB', nop, { rule: 'Rc=0', gen: 'none' }),
  def('icbi', 'X', 31, 982, 'RA0,RB', (s, d, pc) => { s.sys.codeChanged(eaX(s, d)); return pc + 4; }, { rule: 'Rc=0', gen: 'load' }),
  def('dcbz', 'X', 31, 1014, 'RA0,RB', (s, d, pc) => {
    // The 128-byte block holding EA (POWER's cache-line size) becomes zero.
    const ea = eaX(s, d), base = ea - (ea % 128);
    for (let k = 0; k < 128; k += 4) s.m.store32(base + k, 0);
    return pc + 4;
  }, { ...S, rule: 'Rc=0' }),
  def('sync', 'X', 31, 598, 'L9', nop, { rule: 'Rc=0' }),
  def('eieio', 'X', 31, 854, '', nop, { rule: 'Rc=0' }),
  // Stores to code and icbi already drop decoded copies, so isync has nothing left to do.
  def('isync', 'XL', 19, 150, '', nop, { rule: 'LK=0', term: true }),
  def('wait', 'X', 31, 30, 'L9', nop, { rule: 'Rc=0', gen: 'none' }),
];

export const LOADSTORE: InsnDef[] = [...LOADS, ...STORES, ...ATOMICS, ...CACHE];
