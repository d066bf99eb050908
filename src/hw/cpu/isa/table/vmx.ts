// VMX (AltiVec) instructions the GCC and glibc of POWER8/POWER9 use: loads and stores, logical,
// modular and saturating arithmetic, compares, shifts and rotates, permutes, splats, merges,
// packs and unpacks, multiplies and sums, counts, bit gathers, and ISA 3.0's extracts and
// inserts. Elements are numbered from the left as in the ISA; see vec.ts for the layout.

import { TWO32, mulhu32, popcnt32, ctz32, setGnum, cmp64s, cmp64u } from '../alu.js';
import { bx, hx, wx, dx, fromScratch, loadQuadLE, storeQuadLE, cr6, pick, VSCR_SAT } from '../vec.js';
import type { St } from '../state.js';
import { withJit, type Dec, type Exec, type InsnDef } from '../types.js';
import { eaX } from './loadstore.js';
import { def, type Extra } from './def.js';

const V: Extra = { fac: 'vec' };
const VX = (mnem: string, xo: number, ops: string, exec: Exec, extra: Extra = {}) => def(mnem, 'VX', 4, xo, ops, exec, { ...V, ...extra });
const VA = (mnem: string, xo: number, ops: string, exec: Exec, extra: Extra = {}) => def(mnem, 'VA', 4, xo, ops, exec, { ...V, ...extra });
const VC = (mnem: string, xo: number, exec: Exec, extra: Extra = {}) => def(mnem, 'VC', 4, xo, 'VRT,VRA,VRB', exec, { ...V, ...extra });

const sat = (s: St) => { s.vscr |= VSCR_SAT; };

// ---- element-wise helpers ---------------------------------------------------------------------

/**
 * Element-wise semantics from an expression in a (VRA's element), b (VRB's element) and s, built
 * once per instruction so that each has its own monomorphic loop (lane order does not matter:
 * the same host index is used for every operand). Helpers in scope: sx, satU, satS, mulhu32.
 */
function ew(size: 1 | 2 | 4, expr: string): Exec {
  const arr = size === 1 ? 'v8' : size === 2 ? 'v16' : 'v32', n = 16 / size;
  const make = new Function('H', `const { sx, satU, satS } = H; return function ew(s, d, pc) {
    const x = s.${arr}, A = ${n} * d.a, B = ${n} * d.b, T = ${n} * d.t;
    for (let i = 0; i < ${n}; i++) { const a = x[A + i], b = x[B + i]; x[T + i] = ${expr}; }
    return pc + 4;
  };`) as (h: unknown) => Exec;
  // The template: the same expression, unrolled, with the registers as constants.
  const jexpr = helpersToH(expr), x = arr === 'v32' ? 'v' : arr;
  return withJit(make(EW_HELPERS), (d) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(`{ const a = ${x}[${n * d.a + i}], b = ${x}[${n * d.b + i}]; ${x}[${n * d.t + i}] = ${jexpr}; }`);
    return out.join(' ');
  });
}
/** Helper calls in an expression, as the translator names them (H.sx, ...). */
const helpersToH = (e: string) => e.replace(/\b(sx|satU|satS|cmp64s|cmp64u)\(/g, 'H.$1(');
/** Doubleword element-wise on 32-bit halves: expr computes [lo, hi] from al, ah, bl, bh. */
function ewd(body: string): Exec {
  const make = new Function('H', `const { cmp64s, cmp64u } = H; return function ewd(s, d, pc) {
    const V$ = s.v32;
    for (let k = 0; k < 2; k++) {
      const A = 4 * d.a + 2 * k, B = 4 * d.b + 2 * k, T = 4 * d.t + 2 * k;
      const al = V$[A], ah = V$[A + 1], bl = V$[B], bh = V$[B + 1];
      let rl = 0, rh = 0;
      ${body}
      V$[T] = rl; V$[T + 1] = rh;
    }
    return pc + 4;
  };`) as (h: unknown) => Exec;
  const jbody = helpersToH(body);
  return withJit(make(EW_HELPERS), (d) => [0, 1].map((k) => {
    const A = 4 * d.a + 2 * k, B = 4 * d.b + 2 * k, T = 4 * d.t + 2 * k;
    return `{ const al = v[${A}], ah = v[${A + 1}], bl = v[${B}], bh = v[${B + 1}]; let rl = 0, rh = 0; ${jbody} v[${T}] = rl; v[${T + 1}] = rh; }`;
  }).join(' '));
}
export const sx = (x: number, size: number) => (size === 1 ? (x << 24) >> 24 : size === 2 ? (x << 16) >> 16 : x | 0);

export function satU(v: number, size: number, s: St): number {
  const max = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  if (v > max) { sat(s); return max; }
  if (v < 0) { sat(s); return 0; }
  return v;
}
export function satS(v: number, size: number, s: St): number {
  const max = size === 1 ? 0x7f : size === 2 ? 0x7fff : 0x7fffffff;
  if (v > max) { sat(s); return max; }
  if (v < -max - 1) { sat(s); return -max - 1; }
  return v;
}

const EW_HELPERS = { sx, satU, satS, cmp64s, cmp64u };

/** Compares: all-ones where true; CR6 when Rc=1. */
function cmp(size: 1 | 2 | 4, expr: string): Exec {
  const arr = size === 1 ? 'v8' : size === 2 ? 'v16' : 'v32', n = 16 / size, ones = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  const make = new Function('H', `const { sx, cr6 } = H; return function vcmp(s, d, pc) {
    const x = s.${arr}, A = ${n} * d.a, B = ${n} * d.b, T = ${n} * d.t;
    let all = true, none = true;
    for (let i = 0; i < ${n}; i++) {
      const a = x[A + i], b = x[B + i];
      if (${expr}) { x[T + i] = ${ones}; none = false; } else { x[T + i] = 0; all = false; }
    }
    if (d.rc) cr6(s, all, none);
    return pc + 4;
  };`) as (h: unknown) => Exec;
  const jexpr = helpersToH(expr), x = arr === 'v32' ? 'v' : arr;
  return withJit(make({ sx, cr6 }), (d, _pc, c) => {
    const out: string[] = ['{ let all = true, none = true;'];
    for (let i = 0; i < n; i++) out.push(`{ const a = ${x}[${n * d.a + i}], b = ${x}[${n * d.b + i}]; if (${jexpr}) { ${x}[${n * d.t + i}] = ${ones}; none = false; } else { ${x}[${n * d.t + i}] = 0; all = false; } }`);
    if (d.rc) out.push(`${c.cr} = (${c.cr} & -241) | (((all ? 8 : 0) | (none ? 2 : 0)) << 4);`);
    out.push('}');
    return out.join(' ');
  });
}
/** Doubleword compares on halves: expr is true/false from al, ah, bl, bh. */
function cmpd(expr: string): Exec {
  const make = new Function('H', `const { cmp64s, cmp64u, cr6 } = H; return function vcmpd(s, d, pc) {
    const x = s.v32;
    let all = true, none = true;
    for (let k = 0; k < 2; k++) {
      const A = 4 * d.a + 2 * k, B = 4 * d.b + 2 * k, T = 4 * d.t + 2 * k;
      const al = x[A], ah = x[A + 1], bl = x[B], bh = x[B + 1];
      const r = ${expr};
      x[T] = r ? 0xffffffff : 0; x[T + 1] = r ? 0xffffffff : 0;
      if (r) none = false; else all = false;
    }
    if (d.rc) cr6(s, all, none);
    return pc + 4;
  };`) as (h: unknown) => Exec;
  return make({ cmp64s, cmp64u, cr6 });
}

// ---- loads and stores -------------------------------------------------------------------------

const lvx: Exec = (s, d, pc) => { const ea = eaX(s, d); loadQuadLE(s, d.t, ea - (ea % 16)); return pc + 4; };
const stvx: Exec = (s, d, pc) => { const ea = eaX(s, d); storeQuadLE(s, d.t, ea - (ea % 16)); return pc + 4; };
/** lve*x / stve*x: the element the address selects, in LE mode element (16 - size - EA mod 16) / size. */
function lve(size: 1 | 2 | 4, store: boolean): Exec {
  return (s, d, pc) => {
    const ea0 = eaX(s, d), ea = ea0 - (ea0 % size), eb = ea % 16;
    const byte = 15 - eb - (size - 1); // leftmost byte element of the selected element
    if (size === 1) { if (store) s.m.store8(ea, s.v8[bx(d.t, byte)]!); else s.v8[bx(d.t, byte)] = s.m.load8(ea); }
    else if (size === 2) { const k = byte >> 1; if (store) s.m.store16(ea, s.v16[hx(d.t, k)]!); else s.v16[hx(d.t, k)] = s.m.load16(ea); }
    else { const k = byte >> 2; if (store) s.m.store32(ea, s.v32[wx(d.t, k)]!); else s.v32[wx(d.t, k)] = s.m.load32(ea); }
    return pc + 4;
  };
}
const lvsl = (right: boolean): Exec => (s, d, pc) => {
  const sh = eaX(s, d) % 16;
  for (let i = 0; i < 16; i++) s.v8[bx(d.t, i)] = right ? 16 - sh + i : sh + i;
  return pc + 4;
};

export const VMX_LOADSTORE: InsnDef[] = [
  def('lvx', 'X', 31, 103, 'VRT,RA0,RB', lvx, { ...V, gen: 'load', rule: 'Rc=0' }),
  def('lvxl', 'X', 31, 359, 'VRT,RA0,RB', lvx, { ...V, gen: 'load', rule: 'Rc=0' }),
  def('stvx', 'X', 31, 231, 'VRS,RA0,RB', stvx, { ...V, gen: 'store', rule: 'Rc=0' }),
  def('stvxl', 'X', 31, 487, 'VRS,RA0,RB', stvx, { ...V, gen: 'store', rule: 'Rc=0' }),
  def('lvebx', 'X', 31, 7, 'VRT,RA0,RB', lve(1, false), { ...V, gen: 'none', rule: 'Rc=0' }),
  def('lvehx', 'X', 31, 39, 'VRT,RA0,RB', lve(2, false), { ...V, gen: 'none', rule: 'Rc=0' }),
  def('lvewx', 'X', 31, 71, 'VRT,RA0,RB', lve(4, false), { ...V, gen: 'none', rule: 'Rc=0' }),
  def('stvebx', 'X', 31, 135, 'VRS,RA0,RB', lve(1, true), { ...V, gen: 'store', rule: 'Rc=0' }),
  def('stvehx', 'X', 31, 167, 'VRS,RA0,RB', lve(2, true), { ...V, gen: 'store', rule: 'Rc=0' }),
  def('stvewx', 'X', 31, 199, 'VRS,RA0,RB', lve(4, true), { ...V, gen: 'store', rule: 'Rc=0' }),
  def('lvsl', 'X', 31, 6, 'VRT,RA0,RB', lvsl(false), { ...V, gen: 'load', rule: 'Rc=0' }),
  def('lvsr', 'X', 31, 38, 'VRT,RA0,RB', lvsl(true), { ...V, gen: 'load', rule: 'Rc=0' }),
];

// ---- logical and arithmetic ---------------------------------------------------------------------

const clz = (size: number) => (x: number) => (size === 4 ? Math.clz32(x) : Math.clz32(x) - (32 - 8 * size));
const ctz = (size: number) => (x: number) => Math.min(ctz32(x), 8 * size);

/** Unary element-wise op on VRB (vclz*, vpopcnt*, ...). */
function un(size: 1 | 2 | 4, f: (x: number) => number): Exec {
  return (s, d, pc) => {
    const arr = size === 1 ? s.v8 : size === 2 ? s.v16 : s.v32;
    const n = 16 / size, b = n * d.b, t = n * d.t;
    for (let i = 0; i < n; i++) arr[t + i] = f(arr[b + i]!);
    return pc + 4;
  };
}
function und(f: (lo: number, hi: number) => [number, number]): Exec {
  return (s, d, pc) => {
    for (let k = 0; k < 2; k++) { const ib = dx(d.b, k), it = dx(d.t, k); const [l, h] = f(s.v32[ib]!, s.v32[ib + 1]!); s.v32[it] = l; s.v32[it + 1] = h; }
    return pc + 4;
  };
}

const vadduqm = (sub: boolean): Exec => (s, d, pc) => {
  const v = s.v32, a = 4 * d.a, b = 4 * d.b, t = 4 * d.t;
  // Words in significance order: dw1 low (4r+2), dw1 high (4r+3), dw0 low (4r), dw0 high (4r+1).
  const order = [2, 3, 0, 1];
  let carry = sub ? 1 : 0;
  const res = [0, 0, 0, 0];
  for (const o of order) {
    const x = v[a + o]!, y = sub ? ~v[b + o]! >>> 0 : v[b + o]!;
    const r = x + y + carry;
    res[o] = r >>> 0; carry = r > 0xffffffff ? 1 : 0;
  }
  for (let o = 0; o < 4; o++) v[t + o] = res[o]!;
  return pc + 4;
};

export const VMX_ARITH: InsnDef[] = [
  VX('vand', 1028, 'VRT,VRA,VRB', ew(4, 'a & b')),
  VX('vandc', 1092, 'VRT,VRA,VRB', ew(4, 'a & ~b')),
  VX('vor', 1156, 'VRT,VRA,VRB', ew(4, 'a | b')),
  VX('vxor', 1220, 'VRT,VRA,VRB', ew(4, 'a ^ b')),
  VX('vnor', 1284, 'VRT,VRA,VRB', ew(4, '~(a | b)')),
  VX('vorc', 1348, 'VRT,VRA,VRB', ew(4, 'a | ~b')),
  VX('vnand', 1412, 'VRT,VRA,VRB', ew(4, '~(a & b)')),
  VX('veqv', 1668, 'VRT,VRA,VRB', ew(4, '~(a ^ b)')),
  VX('vaddubm', 0, 'VRT,VRA,VRB', ew(1, 'a + b')),
  VX('vadduhm', 64, 'VRT,VRA,VRB', ew(2, 'a + b')),
  VX('vadduwm', 128, 'VRT,VRA,VRB', ew(4, 'a + b')),
  VX('vaddudm', 192, 'VRT,VRA,VRB', ewd('const l = al + bl; rl = l; rh = ah + bh + (l > 0xffffffff ? 1 : 0);')),
  VX('vadduqm', 256, 'VRT,VRA,VRB', vadduqm(false)),
  VX('vsububm', 1024, 'VRT,VRA,VRB', ew(1, 'a - b')),
  VX('vsubuhm', 1088, 'VRT,VRA,VRB', ew(2, 'a - b')),
  VX('vsubuwm', 1152, 'VRT,VRA,VRB', ew(4, 'a - b')),
  VX('vsubudm', 1216, 'VRT,VRA,VRB', ewd('const l = al - bl; rl = l; rh = ah - bh - (l < 0 ? 1 : 0);')),
  VX('vsubuqm', 1280, 'VRT,VRA,VRB', vadduqm(true)),
  VX('vaddcuw', 384, 'VRT,VRA,VRB', ew(4, '(a + b > 0xffffffff ? 1 : 0)')),
  VX('vsubcuw', 1408, 'VRT,VRA,VRB', ew(4, '(a >= b ? 1 : 0)')),
  VX('vaddubs', 512, 'VRT,VRA,VRB', ew(1, 'satU(a + b, 1, s)')),
  VX('vadduhs', 576, 'VRT,VRA,VRB', ew(2, 'satU(a + b, 2, s)')),
  VX('vadduws', 640, 'VRT,VRA,VRB', ew(4, 'satU(a + b, 4, s)')),
  VX('vaddsbs', 768, 'VRT,VRA,VRB', ew(1, 'satS(sx(a, 1) + sx(b, 1), 1, s)')),
  VX('vaddshs', 832, 'VRT,VRA,VRB', ew(2, 'satS(sx(a, 2) + sx(b, 2), 2, s)')),
  VX('vaddsws', 896, 'VRT,VRA,VRB', ew(4, 'satS(sx(a, 4) + sx(b, 4), 4, s)')),
  VX('vsububs', 1536, 'VRT,VRA,VRB', ew(1, 'satU(a - b, 1, s)')),
  VX('vsubuhs', 1600, 'VRT,VRA,VRB', ew(2, 'satU(a - b, 2, s)')),
  VX('vsubuws', 1664, 'VRT,VRA,VRB', ew(4, 'satU(a - b, 4, s)')),
  VX('vsubsbs', 1792, 'VRT,VRA,VRB', ew(1, 'satS(sx(a, 1) - sx(b, 1), 1, s)')),
  VX('vsubshs', 1856, 'VRT,VRA,VRB', ew(2, 'satS(sx(a, 2) - sx(b, 2), 2, s)')),
  VX('vsubsws', 1920, 'VRT,VRA,VRB', ew(4, 'satS(sx(a, 4) - sx(b, 4), 4, s)')),
  VX('vmaxub', 2, 'VRT,VRA,VRB', ew(1, 'Math.max(a, b)')),
  VX('vmaxuh', 66, 'VRT,VRA,VRB', ew(2, 'Math.max(a, b)')),
  VX('vmaxuw', 130, 'VRT,VRA,VRB', ew(4, 'Math.max(a, b)')),
  VX('vmaxud', 194, 'VRT,VRA,VRB', ewd('const m = cmp64u(al, ah, bl, bh) === 4; rl = m ? al : bl; rh = m ? ah : bh;')),
  VX('vmaxsb', 258, 'VRT,VRA,VRB', ew(1, '(sx(a, 1) > sx(b, 1) ? a : b)')),
  VX('vmaxsh', 322, 'VRT,VRA,VRB', ew(2, '(sx(a, 2) > sx(b, 2) ? a : b)')),
  VX('vmaxsw', 386, 'VRT,VRA,VRB', ew(4, '((a | 0) > (b | 0) ? a : b)')),
  VX('vmaxsd', 450, 'VRT,VRA,VRB', ewd('const m = cmp64s(al, ah, bl, bh) === 4; rl = m ? al : bl; rh = m ? ah : bh;')),
  VX('vminub', 514, 'VRT,VRA,VRB', ew(1, 'Math.min(a, b)')),
  VX('vminuh', 578, 'VRT,VRA,VRB', ew(2, 'Math.min(a, b)')),
  VX('vminuw', 642, 'VRT,VRA,VRB', ew(4, 'Math.min(a, b)')),
  VX('vminud', 706, 'VRT,VRA,VRB', ewd('const m = cmp64u(al, ah, bl, bh) === 8; rl = m ? al : bl; rh = m ? ah : bh;')),
  VX('vminsb', 770, 'VRT,VRA,VRB', ew(1, '(sx(a, 1) < sx(b, 1) ? a : b)')),
  VX('vminsh', 834, 'VRT,VRA,VRB', ew(2, '(sx(a, 2) < sx(b, 2) ? a : b)')),
  VX('vminsw', 898, 'VRT,VRA,VRB', ew(4, '((a | 0) < (b | 0) ? a : b)')),
  VX('vminsd', 962, 'VRT,VRA,VRB', ewd('const m = cmp64s(al, ah, bl, bh) === 8; rl = m ? al : bl; rh = m ? ah : bh;')),
  VX('vavgub', 1026, 'VRT,VRA,VRB', ew(1, '(a + b + 1) >>> 1')),
  VX('vavguh', 1090, 'VRT,VRA,VRB', ew(2, '(a + b + 1) >>> 1')),
  VX('vavguw', 1154, 'VRT,VRA,VRB', ew(4, 'Math.floor((a + b + 1) / 2)')),
  VX('vavgsb', 1282, 'VRT,VRA,VRB', ew(1, '(sx(a, 1) + sx(b, 1) + 1) >> 1')),
  VX('vavgsh', 1346, 'VRT,VRA,VRB', ew(2, '(sx(a, 2) + sx(b, 2) + 1) >> 1')),
  VX('vavgsw', 1410, 'VRT,VRA,VRB', ew(4, 'Math.floor(((a | 0) + (b | 0) + 1) / 2)')),
  VX('vabsdub', 1027, 'VRT,VRA,VRB', ew(1, 'Math.abs(a - b)'), { isa: '3.0' }),
  VX('vabsduh', 1091, 'VRT,VRA,VRB', ew(2, 'Math.abs(a - b)'), { isa: '3.0' }),
  VX('vabsduw', 1155, 'VRT,VRA,VRB', ew(4, 'Math.abs(a - b)'), { isa: '3.0' }),
  VX('vmuluwm', 137, 'VRT,VRA,VRB', ew(4, 'Math.imul(a, b)')),
  VX('vslb', 260, 'VRT,VRA,VRB', ew(1, 'a << (b & 7)')),
  VX('vslh', 324, 'VRT,VRA,VRB', ew(2, 'a << (b & 15)')),
  VX('vslw', 388, 'VRT,VRA,VRB', ew(4, 'a << (b & 31)')),
  VX('vsld', 1476, 'VRT,VRA,VRB', ewd('const n = bl & 63; if (n === 0) { rl = al; rh = ah; } else if (n < 32) { rl = al << n; rh = (ah << n) | (al >>> (32 - n)); } else { rl = 0; rh = al << (n - 32); }')),
  VX('vsrb', 516, 'VRT,VRA,VRB', ew(1, 'a >>> (b & 7)')),
  VX('vsrh', 580, 'VRT,VRA,VRB', ew(2, 'a >>> (b & 15)')),
  VX('vsrw', 644, 'VRT,VRA,VRB', ew(4, 'a >>> (b & 31)')),
  VX('vsrd', 1732, 'VRT,VRA,VRB', ewd('const n = bl & 63; if (n === 0) { rl = al; rh = ah; } else if (n < 32) { rh = ah >>> n; rl = (al >>> n) | (ah << (32 - n)); } else { rh = 0; rl = ah >>> (n - 32); }')),
  VX('vsrab', 772, 'VRT,VRA,VRB', ew(1, 'sx(a, 1) >> (b & 7)')),
  VX('vsrah', 836, 'VRT,VRA,VRB', ew(2, 'sx(a, 2) >> (b & 15)')),
  VX('vsraw', 900, 'VRT,VRA,VRB', ew(4, '(a | 0) >> (b & 31)')),
  VX('vsrad', 964, 'VRT,VRA,VRB', ewd('const n = bl & 63; if (n === 0) { rl = al; rh = ah; } else if (n < 32) { rh = (ah | 0) >> n; rl = (al >>> n) | (ah << (32 - n)); } else { rh = (ah | 0) >> 31; rl = (ah | 0) >> (n - 32); }')),
  VX('vrlb', 4, 'VRT,VRA,VRB', ew(1, '(a << (b & 7)) | (a >>> ((8 - (b & 7)) & 7))')),
  VX('vrlh', 68, 'VRT,VRA,VRB', ew(2, '(a << (b & 15)) | (a >>> ((16 - (b & 15)) & 15))')),
  VX('vrlw', 132, 'VRT,VRA,VRB', ew(4, '(a << (b & 31)) | (a >>> (32 - (b & 31)))')),
  VX('vrld', 196, 'VRT,VRA,VRB', ewd('let n = bl & 63, x = al, y = ah; if (n & 32) { x = ah; y = al; } n &= 31; if (n === 0) { rl = x; rh = y; } else { rl = (x << n) | (y >>> (32 - n)); rh = (y << n) | (x >>> (32 - n)); }')),
];

// ---- compares -----------------------------------------------------------------------------------

export const VMX_CMP: InsnDef[] = [
  VC('vcmpequb', 6, cmp(1, 'a === b')),
  VC('vcmpequh', 70, cmp(2, 'a === b')),
  VC('vcmpequw', 134, cmp(4, 'a === b')),
  VC('vcmpequd', 199, cmpd('al === bl && ah === bh')),
  VC('vcmpneb', 7, cmp(1, 'a !== b'), { isa: '3.0' }),
  VC('vcmpneh', 71, cmp(2, 'a !== b'), { isa: '3.0' }),
  VC('vcmpnew', 135, cmp(4, 'a !== b'), { isa: '3.0' }),
  VC('vcmpnezb', 263, cmp(1, 'a === 0 || b === 0 || a !== b'), { isa: '3.0' }),
  VC('vcmpnezh', 327, cmp(2, 'a === 0 || b === 0 || a !== b'), { isa: '3.0' }),
  VC('vcmpnezw', 391, cmp(4, 'a === 0 || b === 0 || a !== b'), { isa: '3.0' }),
  VC('vcmpgtub', 518, cmp(1, 'a > b')),
  VC('vcmpgtuh', 582, cmp(2, 'a > b')),
  VC('vcmpgtuw', 646, cmp(4, 'a > b')),
  VC('vcmpgtud', 711, cmpd('cmp64u(al, ah, bl, bh) === 4')),
  VC('vcmpgtsb', 774, cmp(1, 'sx(a, 1) > sx(b, 1)')),
  VC('vcmpgtsh', 838, cmp(2, 'sx(a, 2) > sx(b, 2)')),
  VC('vcmpgtsw', 902, cmp(4, '(a | 0) > (b | 0)')),
  VC('vcmpgtsd', 967, cmpd('cmp64s(al, ah, bl, bh) === 4')),
];

// ---- permutes, shifts of the whole register, splats, merges -------------------------------------

/** Build the result in the scratch vector from a byte function of the sources, then copy. */
function bytes(f: (s: St, d: Dec, i: number) => number): Exec {
  return (s, d, pc) => {
    for (let i = 0; i < 16; i++) s.t8[bx(2, i)] = f(s, d, i);
    fromScratch(s, d.t);
    return pc + 4;
  };
}
const byteOf = (s: St, r: number, k: number) => s.v8[bx(r, k)]!;

const wordOf = (s: St, r: number, k: number) => s.v32[wx(r, k)]!;
const halfOf = (s: St, r: number, k: number) => s.v16[hx(r, k)]!;

/** vsl/vsr: shift the whole register left/right by VRB's low 3 bits (byte 15). */
function shiftBits(left: boolean): Exec {
  return (s, d, pc) => {
    const n = byteOf(s, d.b, 15) & 7;
    for (let i = 0; i < 16; i++) {
      const x = byteOf(s, d.a, i);
      s.t8[bx(2, i)] = left
        ? ((x << n) | (i < 15 ? byteOf(s, d.a, i + 1) >>> (8 - n) : 0)) & 0xff
        : ((x >>> n) | (i > 0 ? (byteOf(s, d.a, i - 1) << (8 - n)) & 0xff : 0)) & 0xff;
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

/** vmrg[hl][bhw]: interleave the high (or low) halves of VRA and VRB. */
function merge(size: 1 | 2 | 4, high: boolean) { const n = 16 / size; return pick(size, `(i & 1 ? ${n} : 0) + (i >> 1) + ${high ? 0 : n / 2}`); }

export const VMX_PERMUTE: InsnDef[] = [
  VA('vperm', 43, 'VRT,VRA,VRB,VRC', pick(1, 'x8[C + (i ^ 7)] & 31')),
  VA('vpermr', 59, 'VRT,VRA,VRB,VRC', pick(1, '31 - (x8[C + (i ^ 7)] & 31)'), { isa: '3.0' }),
  VA('vsel', 42, 'VRT,VRA,VRB,VRC', (s, d, pc) => {
    const v = s.v32;
    for (let i = 0; i < 4; i++) { const c = v[4 * d.c + i]!; v[4 * d.t + i] = (v[4 * d.a + i]! & ~c) | (v[4 * d.b + i]! & c); }
    return pc + 4;
  }),
  VA('vsldoi', 44, 'VRT,VRA,VRB,SHB', pick(1, 'i + d.j'), { fix: [[21, 21, 0]] }),
  VX('vslo', 1036, 'VRT,VRA,VRB', pick(1, 'i + sh < 16 ? i + sh : -1', { pre: 'const sh = (x8[B + 8] >>> 3) & 15;' })),
  VX('vsro', 1100, 'VRT,VRA,VRB', pick(1, 'i - sh', { pre: 'const sh = (x8[B + 8] >>> 3) & 15;' })),
  VX('vsl', 452, 'VRT,VRA,VRB', shiftBits(true)),
  VX('vsr', 708, 'VRT,VRA,VRB', shiftBits(false)),
  VX('vslv', 1860, 'VRT,VRA,VRB', bytes((s, d, i) => {
    const n = byteOf(s, d.b, i) & 7, x = (byteOf(s, d.a, i) << 8) | (i < 15 ? byteOf(s, d.a, i + 1) : 0);
    return ((x << n) >>> 8) & 0xff;
  }), { isa: '3.0' }),
  VX('vsrv', 1796, 'VRT,VRA,VRB', bytes((s, d, i) => {
    const n = byteOf(s, d.b, i) & 7, x = ((i > 0 ? byteOf(s, d.a, i - 1) : 0) << 8) | byteOf(s, d.a, i);
    return (x >>> n) & 0xff;
  }), { isa: '3.0' }),
  VX('vspltb', 524, 'VRT,VRB,UIM4V', pick(1, '16 + d.a')),
  VX('vsplth', 588, 'VRT,VRB,UIM3V', pick(2, '8 + d.a')),
  VX('vspltw', 652, 'VRT,VRB,UIM2V', pick(4, '4 + d.a')),
  VX('vspltisb', 780, 'VRT,SIM', (s, d, pc) => { s.v8.fill(d.a & 0xff, 16 * d.t, 16 * d.t + 16); return pc + 4; }),
  VX('vspltish', 844, 'VRT,SIM', (s, d, pc) => { s.v16.fill(d.a & 0xffff, 8 * d.t, 8 * d.t + 8); return pc + 4; }),
  VX('vspltisw', 908, 'VRT,SIM', (s, d, pc) => { s.v32.fill(d.a >>> 0, 4 * d.t, 4 * d.t + 4); return pc + 4; }),
  VX('vmrghb', 12, 'VRT,VRA,VRB', merge(1, true)),
  VX('vmrghh', 76, 'VRT,VRA,VRB', merge(2, true)),
  VX('vmrghw', 140, 'VRT,VRA,VRB', merge(4, true)),
  VX('vmrglb', 268, 'VRT,VRA,VRB', merge(1, false)),
  VX('vmrglh', 332, 'VRT,VRA,VRB', merge(2, false)),
  VX('vmrglw', 396, 'VRT,VRA,VRB', merge(4, false)),
  VX('vmrgew', 1932, 'VRT,VRA,VRB', pick(4, '(i & 1 ? 4 : 0) + (i & 2)')),
  VX('vmrgow', 1676, 'VRT,VRA,VRB', pick(4, '(i & 1 ? 4 : 0) + (i & 2) + 1')),
];

// ---- pack, unpack, multiply, sums ----------------------------------------------------------------

type Sat = 'mod' | 'us' | 'ss' | 'su'; // modulo, unsigned->unsigned sat, signed->signed sat, signed->unsigned sat
function pack(from: 2 | 4 | 8, kind: Sat): Exec {
  return (s, d, pc) => {
    const n = 16 / from, to = from / 2;
    const out: number[] = [];
    for (const r of [d.a, d.b]) {
      for (let k = 0; k < n; k++) {
        let v: number;
        if (from === 2) v = kind === 'ss' || kind === 'su' ? sx(halfOf(s, r, k), 2) : halfOf(s, r, k);
        else if (from === 4) v = kind === 'ss' || kind === 'su' ? wordOf(s, r, k) | 0 : wordOf(s, r, k);
        else {
          const i = dx(r, k), lo = s.v32[i]!, hi = s.v32[i + 1]!;
          v = kind === 'ss' || kind === 'su' ? (hi | 0) * TWO32 + lo : hi * TWO32 + lo;
          if (kind === 'mod') v = lo;
        }
        if (kind === 'us' || kind === 'su') v = satU(v, to as 1 | 2 | 4, s);
        else if (kind === 'ss') v = satS(v, to as 1 | 2 | 4, s);
        out.push(v);
      }
    }
    if (to === 1) out.forEach((v, i) => { s.t8[bx(2, i)] = v; });
    else if (to === 2) out.forEach((v, i) => { s.t16[hx(2, i)] = v; });
    else out.forEach((v, i) => { s.t32[wx(2, i)] = v; });
    fromScratch(s, d.t);
    return pc + 4;
  };
}

function unpack(from: 1 | 2 | 4, high: boolean): Exec {
  return (s, d, pc) => {
    const n = 8 / from, base = high ? 0 : n;
    for (let k = 0; k < n; k++) {
      if (from === 1) s.t16[hx(2, k)] = sx(byteOf(s, d.b, base + k), 1);
      else if (from === 2) s.t32[wx(2, k)] = sx(halfOf(s, d.b, base + k), 2);
      else { const v = wordOf(s, d.b, base + k) | 0; s.t32[8 + 2 * k] = v; s.t32[8 + 2 * k + 1] = v >> 31; }
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

/** vmule[bhw] and vmulo[bhw]: even (0, 2, ...) or odd elements, double-width products. */
function mulEO(size: 1 | 2 | 4, signed: boolean, odd: boolean): Exec {
  return (s, d, pc) => {
    const n = 8 / size;
    for (let k = 0; k < n; k++) {
      const e = 2 * k + (odd ? 1 : 0);
      if (size === 4) {
        const a = wordOf(s, d.a, e), b = wordOf(s, d.b, e);
        let hi = mulhu32(a, b);
        if (signed) { if ((a | 0) < 0) hi -= b; if ((b | 0) < 0) hi -= a; }
        s.t32[8 + 2 * k] = Math.imul(a, b); s.t32[8 + 2 * k + 1] = hi;
      } else if (size === 2) {
        const a = halfOf(s, d.a, e), b = halfOf(s, d.b, e);
        s.t32[wx(2, k)] = signed ? sx(a, 2) * sx(b, 2) : a * b;
      } else {
        const a = byteOf(s, d.a, e), b = byteOf(s, d.b, e);
        s.t16[hx(2, k)] = signed ? sx(a, 1) * sx(b, 1) : a * b;
      }
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

/** vmsum*: per word, the sum of products of its bytes or halfwords plus VRC's word. */
function msum(size: 1 | 2, aSigned: boolean, bSigned: boolean, saturate: boolean): Exec {
  return (s, d, pc) => {
    for (let k = 0; k < 4; k++) {
      let sum = saturate && (aSigned || bSigned) ? wordOf(s, d.c, k) | 0 : saturate ? wordOf(s, d.c, k) : wordOf(s, d.c, k) | 0;
      for (let j = 0; j < 4 / size; j++) {
        const e = k * (4 / size) + j;
        const a = size === 1 ? byteOf(s, d.a, e) : halfOf(s, d.a, e), b = size === 1 ? byteOf(s, d.b, e) : halfOf(s, d.b, e);
        sum += (aSigned ? sx(a, size) : a) * (bSigned ? sx(b, size) : b);
      }
      s.t32[wx(2, k)] = saturate ? (aSigned || bSigned ? satS(sum, 4, s) : satU(sum, 4, s)) : sum;
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

const sumsws: Exec = (s, d, pc) => {
  let sum = wordOf(s, d.b, 3) | 0;
  for (let k = 0; k < 4; k++) sum += wordOf(s, d.a, k) | 0;
  s.t32.fill(0, 8, 12);
  s.t32[wx(2, 3)] = satS(sum, 4, s);
  fromScratch(s, d.t);
  return pc + 4;
};
const sum2sws: Exec = (s, d, pc) => {
  s.t32.fill(0, 8, 12);
  for (const k of [1, 3]) s.t32[wx(2, k)] = satS((wordOf(s, d.a, k - 1) | 0) + (wordOf(s, d.a, k) | 0) + (wordOf(s, d.b, k) | 0), 4, s);
  fromScratch(s, d.t);
  return pc + 4;
};
function sum4(size: 1 | 2, signed: boolean): Exec {
  return (s, d, pc) => {
    for (let k = 0; k < 4; k++) {
      let sum = signed ? wordOf(s, d.b, k) | 0 : wordOf(s, d.b, k);
      for (let j = 0; j < 4 / size; j++) {
        const e = k * (4 / size) + j;
        const x = size === 1 ? byteOf(s, d.a, e) : halfOf(s, d.a, e);
        sum += signed ? sx(x, size) : x;
      }
      s.t32[wx(2, k)] = signed ? satS(sum, 4, s) : satU(sum, 4, s);
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

export const VMX_WIDE: InsnDef[] = [
  VX('vpkuhum', 14, 'VRT,VRA,VRB', pack(2, 'mod')),
  VX('vpkuwum', 78, 'VRT,VRA,VRB', pack(4, 'mod')),
  VX('vpkudum', 1102, 'VRT,VRA,VRB', pack(8, 'mod')),
  VX('vpkuhus', 142, 'VRT,VRA,VRB', pack(2, 'us')),
  VX('vpkuwus', 206, 'VRT,VRA,VRB', pack(4, 'us')),
  VX('vpkudus', 1230, 'VRT,VRA,VRB', pack(8, 'us'), { gen: 'none' }),
  VX('vpkshus', 270, 'VRT,VRA,VRB', pack(2, 'su')),
  VX('vpkswus', 334, 'VRT,VRA,VRB', pack(4, 'su')),
  VX('vpksdus', 1358, 'VRT,VRA,VRB', pack(8, 'su'), { gen: 'none' }),
  VX('vpkshss', 398, 'VRT,VRA,VRB', pack(2, 'ss')),
  VX('vpkswss', 462, 'VRT,VRA,VRB', pack(4, 'ss')),
  VX('vpksdss', 1486, 'VRT,VRA,VRB', pack(8, 'ss'), { gen: 'none' }),
  VX('vupkhsb', 526, 'VRT,VRB', unpack(1, true)),
  VX('vupkhsh', 590, 'VRT,VRB', unpack(2, true)),
  VX('vupkhsw', 1614, 'VRT,VRB', unpack(4, true)),
  VX('vupklsb', 654, 'VRT,VRB', unpack(1, false)),
  VX('vupklsh', 718, 'VRT,VRB', unpack(2, false)),
  VX('vupklsw', 1742, 'VRT,VRB', unpack(4, false)),
  VX('vmuleub', 520, 'VRT,VRA,VRB', mulEO(1, false, false)),
  VX('vmuleuh', 584, 'VRT,VRA,VRB', mulEO(2, false, false)),
  VX('vmuleuw', 648, 'VRT,VRA,VRB', mulEO(4, false, false)),
  VX('vmulesb', 776, 'VRT,VRA,VRB', mulEO(1, true, false)),
  VX('vmulesh', 840, 'VRT,VRA,VRB', mulEO(2, true, false)),
  VX('vmulesw', 904, 'VRT,VRA,VRB', mulEO(4, true, false)),
  VX('vmuloub', 8, 'VRT,VRA,VRB', mulEO(1, false, true)),
  VX('vmulouh', 72, 'VRT,VRA,VRB', mulEO(2, false, true)),
  VX('vmulouw', 136, 'VRT,VRA,VRB', mulEO(4, false, true)),
  VX('vmulosb', 264, 'VRT,VRA,VRB', mulEO(1, true, true)),
  VX('vmulosh', 328, 'VRT,VRA,VRB', mulEO(2, true, true)),
  VX('vmulosw', 392, 'VRT,VRA,VRB', mulEO(4, true, true)),
  VA('vmsumubm', 36, 'VRT,VRA,VRB,VRC', msum(1, false, false, false)),
  VA('vmsummbm', 37, 'VRT,VRA,VRB,VRC', msum(1, true, false, false)),
  VA('vmsumuhm', 38, 'VRT,VRA,VRB,VRC', msum(2, false, false, false)),
  VA('vmsumuhs', 39, 'VRT,VRA,VRB,VRC', msum(2, false, false, true)),
  VA('vmsumshm', 40, 'VRT,VRA,VRB,VRC', msum(2, true, true, false)),
  VA('vmsumshs', 41, 'VRT,VRA,VRB,VRC', msum(2, true, true, true)),
  VA('vmladduhm', 34, 'VRT,VRA,VRB,VRC', (s, d, pc) => {
    const v = s.v16;
    for (let i = 0; i < 8; i++) v[8 * d.t + i] = v[8 * d.a + i]! * v[8 * d.b + i]! + v[8 * d.c + i]!;
    return pc + 4;
  }),
  VX('vsumsws', 1928, 'VRT,VRA,VRB', sumsws),
  VX('vsum2sws', 1672, 'VRT,VRA,VRB', sum2sws),
  VX('vsum4ubs', 1544, 'VRT,VRA,VRB', sum4(1, false)),
  VX('vsum4sbs', 1800, 'VRT,VRA,VRB', sum4(1, true)),
  VX('vsum4shs', 1608, 'VRT,VRA,VRB', sum4(2, true)),
];

// ---- counts, bit gathers, extracts and inserts --------------------------------------------------

const clzd = (lo: number, hi: number): [number, number] => [hi ? Math.clz32(hi) : 32 + Math.clz32(lo), 0];
const ctzd = (lo: number, hi: number): [number, number] => [lo ? ctz32(lo) : 32 + ctz32(hi), 0];
const popd = (lo: number, hi: number): [number, number] => [popcnt32(lo) + popcnt32(hi), 0];

const vgbbd: Exec = (s, d, pc) => {
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < 8; i++) {
      let r = 0;
      for (let j = 0; j < 8; j++) {
        // result byte i, bit j (from the left) = source byte j, bit i
        const bit = (byteOf(s, d.b, 8 * k + j) >>> (7 - i)) & 1;
        r |= bit << (7 - j);
      }
      s.t8[bx(2, 8 * k + i)] = r;
    }
  }
  fromScratch(s, d.t);
  return pc + 4;
};

const vbpermq: Exec = (s, d, pc) => {
  let r = 0;
  for (let i = 0; i < 16; i++) {
    const idx = byteOf(s, d.b, i);
    const bit = idx < 128 ? (byteOf(s, d.a, idx >> 3) >>> (7 - (idx & 7))) & 1 : 0;
    r |= bit << (15 - i);
  }
  const t = 4 * d.t;
  s.v32[t] = r; s.v32[t + 1] = 0; s.v32[t + 2] = 0; s.v32[t + 3] = 0;
  return pc + 4;
};

const vbpermd: Exec = (s, d, pc) => {
  const out = [0, 0];
  for (let k = 0; k < 2; k++) {
    let r = 0;
    for (let i = 0; i < 8; i++) {
      const idx = byteOf(s, d.b, 8 * k + i);
      const bit = idx < 64 ? (byteOf(s, d.a, 8 * k + (idx >> 3)) >>> (7 - (idx & 7))) & 1 : 0;
      r |= bit << (7 - i);
    }
    out[k] = r;
  }
  const t = 4 * d.t;
  s.v32[t] = out[0]!; s.v32[t + 1] = 0; s.v32[t + 2] = out[1]!; s.v32[t + 3] = 0;
  return pc + 4;
};

/** vclzlsbb / vctzlsbb: count byte elements whose least significant bit is 0, from the left / right. */
const lsbb = (fromLeft: boolean): Exec => (s, d, pc) => {
  let n = 0;
  for (let i = 0; i < 16; i++) {
    const k = fromLeft ? i : 15 - i;
    if (byteOf(s, d.b, k) & 1) break;
    n++;
  }
  s.g[d.t << 1] = n; s.g[(d.t << 1) + 1] = 0;
  return pc + 4;
};

/** vextu[bhw][lr]x RT, RA, VRB: the element at byte index RA[60:63] from the left or the right. */
function vextx(size: 1 | 2 | 4, right: boolean): Exec {
  return (s, d, pc) => {
    const idx = s.g[d.a << 1]! & 15;
    const start = right ? 16 - idx - size : idx;
    let v = 0;
    for (let j = 0; j < size; j++) v = v * 256 + (start + j < 16 && start + j >= 0 ? byteOf(s, d.b, start + j) : 0);
    setGnum(s, d.t, v);
    return pc + 4;
  };
}

/** vextractu[bhw]/vextractd: the element at byte UIM, zero-extended into doubleword 0; dw1 = 0. */
function vextract(size: 1 | 2 | 4 | 8): Exec {
  return (s, d, pc) => {
    const u = d.a;
    const t = 4 * d.t;
    let lo = 0, hi = 0;
    for (let j = 0; j < size; j++) {
      const b = u + j < 16 ? byteOf(s, d.b, u + j) : 0;
      hi = ((hi << 8) | (lo >>> 24)) >>> 0; lo = ((lo << 8) | b) >>> 0;
    }
    s.v32[t] = lo; s.v32[t + 1] = hi; s.v32[t + 2] = 0; s.v32[t + 3] = 0;
    return pc + 4;
  };
}
/** vinsert[bhw]/vinsertd: VRB's element at the right of doubleword 0 goes to byte UIM of VRT. */
function vinsert(size: 1 | 2 | 4 | 8): Exec {
  return (s, d, pc) => {
    const src: number[] = [];
    for (let j = 0; j < size; j++) src.push(byteOf(s, d.b, 8 - size + j));
    for (let j = 0; j < size; j++) if (d.a + j < 16) s.v8[bx(d.t, d.a + j)] = src[j]!;
    return pc + 4;
  };
}

/** vexts[bh]2[wd], vextsw2d: sign-extend the rightmost part of each element. */
function vexts(from: 1 | 2 | 4, to: 4 | 8): Exec {
  return (s, d, pc) => {
    const n = 16 / to;
    for (let k = 0; k < n; k++) {
      const last = (k + 1) * to - from; // byte offset of the source part
      let v = 0;
      for (let j = 0; j < from; j++) v = v * 256 + byteOf(s, d.b, last + j);
      v = sx(v, from);
      if (to === 4) s.t32[wx(2, k)] = v;
      else { s.t32[8 + 2 * k] = v; s.t32[8 + 2 * k + 1] = v >> 31; }
    }
    fromScratch(s, d.t);
    return pc + 4;
  };
}

const VXR = (mnem: string, ra: number, ops: string, exec: Exec, extra: Extra = {}) =>
  def(mnem, 'VX', 4, 1538, ops, exec, { ...V, fix: [[11, 15, ra]], isa: '3.0', ...extra });

export const VMX_BITS: InsnDef[] = [
  VX('vclzb', 1794, 'VRT,VRB', un(1, clz(1))),
  VX('vclzh', 1858, 'VRT,VRB', un(2, clz(2))),
  VX('vclzw', 1922, 'VRT,VRB', un(4, clz(4))),
  VX('vclzd', 1986, 'VRT,VRB', und(clzd)),
  VX('vpopcntb', 1795, 'VRT,VRB', un(1, popcnt32)),
  VX('vpopcnth', 1859, 'VRT,VRB', un(2, popcnt32)),
  VX('vpopcntw', 1923, 'VRT,VRB', un(4, popcnt32)),
  VX('vpopcntd', 1987, 'VRT,VRB', und(popd)),
  VXR('vctzb', 28, 'VRT,VRB', un(1, ctz(1))),
  VXR('vctzh', 29, 'VRT,VRB', un(2, ctz(2))),
  VXR('vctzw', 30, 'VRT,VRB', un(4, ctz(4))),
  VXR('vctzd', 31, 'VRT,VRB', und(ctzd)),
  VXR('vclzlsbb', 0, 'RT,VRB', lsbb(true)),
  VXR('vctzlsbb', 1, 'RT,VRB', lsbb(false)),
  VXR('vnegw', 6, 'VRT,VRB', un(4, (x) => -x)),
  VXR('vnegd', 7, 'VRT,VRB', und((lo, hi) => [-lo >>> 0, (~hi + (lo === 0 ? 1 : 0)) >>> 0])),
  VXR('vextsb2w', 16, 'VRT,VRB', vexts(1, 4)),
  VXR('vextsh2w', 17, 'VRT,VRB', vexts(2, 4)),
  VXR('vextsb2d', 24, 'VRT,VRB', vexts(1, 8)),
  VXR('vextsh2d', 25, 'VRT,VRB', vexts(2, 8)),
  VXR('vextsw2d', 26, 'VRT,VRB', vexts(4, 8)),
  VXR('vprtybw', 8, 'VRT,VRB', un(4, (x) => (x ^ (x >>> 8) ^ (x >>> 16) ^ (x >>> 24)) & 1)),
  VXR('vprtybd', 9, 'VRT,VRB', und((lo, hi) => { const x = lo ^ hi; return [(x ^ (x >>> 8) ^ (x >>> 16) ^ (x >>> 24)) & 1, 0]; })),
  VX('vgbbd', 1292, 'VRT,VRB', vgbbd),
  VX('vbpermq', 1356, 'VRT,VRA,VRB', vbpermq),
  VX('vbpermd', 1484, 'VRT,VRA,VRB', vbpermd, { isa: '3.0' }),
  VX('vextublx', 1549, 'RT,RA,VRB', vextx(1, false), { isa: '3.0' }),
  VX('vextuhlx', 1613, 'RT,RA,VRB', vextx(2, false), { isa: '3.0' }),
  VX('vextuwlx', 1677, 'RT,RA,VRB', vextx(4, false), { isa: '3.0' }),
  VX('vextubrx', 1805, 'RT,RA,VRB', vextx(1, true), { isa: '3.0' }),
  VX('vextuhrx', 1869, 'RT,RA,VRB', vextx(2, true), { isa: '3.0' }),
  VX('vextuwrx', 1933, 'RT,RA,VRB', vextx(4, true), { isa: '3.0' }),
  VX('vextractub', 525, 'VRT,VRB,UIM4V', vextract(1), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vextractuh', 589, 'VRT,VRB,UIM4V', vextract(2), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vextractuw', 653, 'VRT,VRB,UIM4V', vextract(4), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vextractd', 717, 'VRT,VRB,UIM4V', vextract(8), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vinsertb', 781, 'VRT,VRB,UIM4V', vinsert(1), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vinserth', 845, 'VRT,VRB,UIM4V', vinsert(2), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vinsertw', 909, 'VRT,VRB,UIM4V', vinsert(4), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('vinsertd', 973, 'VRT,VRB,UIM4V', vinsert(8), { isa: '3.0', fix: [[11, 11, 0]] }),
  VX('mfvscr', 1540, 'VRT', (s, d, pc) => { const t = 4 * d.t; s.v32[t] = 0; s.v32[t + 1] = 0; s.v32[t + 2] = s.vscr; s.v32[t + 3] = 0; return pc + 4; }),
  // Only NJ and SAT are defined; the reserved bits are kept as written (as QEMU does).
  VX('mtvscr', 1604, 'VRB', (s, d, pc) => { s.vscr = wordOf(s, d.b, 3); return pc + 4; }),
];

export const VMX: InsnDef[] = [...VMX_LOADSTORE, ...VMX_ARITH, ...VMX_CMP, ...VMX_PERMUTE, ...VMX_WIDE, ...VMX_BITS];
