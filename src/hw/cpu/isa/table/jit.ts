// Compiled forms of the hottest instructions' semantics, for the block translator (blocks.ts).
// Each template returns JavaScript with the instruction's fields as constants, computing exactly
// what the entry's `exec` computes; the differential tests run every instruction through both
// the interpreter and the translator and compare both with QEMU, so the two cannot drift apart.
//
// Templates read and write GPRs and CR only through the JitCtx (c.lo, c.hi, c.set, c.cr), since
// the translator keeps them in locals. Other names in scope: s (St), lc (LR/CTR), v (VSR words),
// m (memory), t32 (scratch words), H (helpers: mulhu32, mulhs32). Temporaries are declared
// inside { } so that instructions never clash. Only a terminator returns (the next PC).

import { TWO32 } from '../alu.js';
import type { Dec, Jit, JitCtx } from '../types.js';

const U = (x: number) => String(x >>> 0);
const num = (v: number) => [U(v % TWO32 < 0 ? v % TWO32 + TWO32 : v % TWO32), U(Math.floor(v / TWO32))];

/** CR0 from a 64-bit value held in two uint32 expressions (already evaluated into x/y). */
const cr0 = (c: JitCtx, l: string, h: string) => `${c.cr} = (${c.cr} & 268435455) | ((((${h}) | 0) < 0 ? 8 : ((${h}) | (${l})) !== 0 ? 4 : 2) | (s.xer >>> 31)) << 28;`;
const rc0 = (d: Dec, c: JitCtx, r: number) => (d.rc ? ' ' + cr0(c, c.lo(r), c.hi(r)) : '');

const u = (e: string) => `(${e} >>> 0)`;

/** The effective address of a D/DS-form access, as an expression. */
function eaD(d: Dec, c: JitCtx): string {
  if (d.a === 0) return String(d.i);
  // Below 2^31 (code, data, heap and stack of most programs) the address stays a small integer.
  const lo = c.lo(d.a), hi = c.hi(d.a);
  return `(${hi} === 0 && ${lo} >= 0 ? ${lo} + ${d.i} : ${u(hi)} * 4294967296 + ${u(lo)} + ${d.i})`;
}
/** An X-form access: declares `ea` (modulo 2^64, the index may be negative). */
function eaX(d: Dec, c: JitCtx): string {
  if (d.a === 0) return `const ea = ${u(c.hi(d.b))} * 4294967296 + ${u(c.lo(d.b))};`;
  const la = c.lo(d.a), ha = c.hi(d.a), lb = c.lo(d.b), hb = c.hi(d.b);
  // Base and index both small non-negative integers: a small-integer address (the usual case).
  return `let ea; if ((${ha} | ${hb}) === 0 && (${la} | ${lb}) >= 0) ea = ${la} + ${lb}; else { const l_ = ${u(la)} + ${u(lb)}; ea = ((${ha} + ${hb} + (l_ > 4294967295 ? 1 : 0)) >>> 0) * 4294967296 + (l_ >>> 0); }`;
}
const setRa = (d: Dec, c: JitCtx) => c.set(d.a, 'ea', 'Math.floor(ea / 4294967296)');

function logical(op: string, neg: boolean, notB = false): Jit {
  return (d, _pc, c) => {
    if (op === '|' && !neg && !notB && d.t === d.b) return c.set(d.a, c.lo(d.t), c.hi(d.t)) + rc0(d, c, d.a);
    const b = (x: string) => (notB ? `~${x}` : x);
    const e = (x: string, y: string) => (neg ? `~(${x} ${op} ${b(y)})` : `(${x} ${op} ${b(y)})`);
    return c.set(d.a, e(c.lo(d.t), c.lo(d.b)), e(c.hi(d.t), c.hi(d.b))) + rc0(d, c, d.a);
  };
}

/** Rotate GPR r left by a constant n: expressions for the rotated halves. */
function rot64(c: JitCtx, r: number, n: number): [string, string] {
  let L = c.lo(r), Hh = c.hi(r);
  if (n & 32) [L, Hh] = [Hh, L];
  const k = n & 31;
  if (k === 0) return [L, Hh];
  return [`((${L} << ${k}) | (${Hh} >>> ${32 - k}))`, `((${Hh} << ${k}) | (${L} >>> ${32 - k}))`];
}
function rotMask(d: Dec, c: JitCtx, insert: boolean): string {
  const [r0, r1] = rot64(c, d.t, d.b);
  const part = (r: string, m: number, dst: string) => {
    if (insert) return m === 0 ? dst : m === 0xffffffff ? r : `((${r} & ${m | 0}) | (${dst} & ${~m}))`;
    return m === 0 ? '0' : m === 0xffffffff ? r : `(${r} & ${m | 0})`;
  };
  return c.set(d.a, part(r0, d.m0 >>> 0, c.lo(d.a)), part(r1, d.m1 >>> 0, c.hi(d.a))) + rc0(d, c, d.a);
}

function cmpTemplate(d: Dec, c: JitCtx, signed: boolean, imm: boolean): string {
  const sh = 28 - 4 * d.t;
  let e: string;
  if (!d.j) {
    const x = signed ? c.lo(d.a) : u(c.lo(d.a));
    const y = imm ? String(signed ? d.i : d.i >>> 0) : signed ? c.lo(d.b) : u(c.lo(d.b));
    e = `const x = ${x}, y = ${y}; const cc = x < y ? 8 : x > y ? 4 : 2;`;
  } else {
    const [il, ih] = imm ? [U(d.i), signed ? (d.i < 0 ? '-1' : '0') : '0'] : [u(c.lo(d.b)), signed ? c.hi(d.b) : u(c.hi(d.b))];
    const ah = signed ? c.hi(d.a) : u(c.hi(d.a));
    e = `const xh = ${ah}, yh = ${ih}, xl = ${u(c.lo(d.a))}, yl = ${il}; const cc = xh !== yh ? (xh < yh ? 8 : 4) : xl === yl ? 2 : xl < yl ? 8 : 4;`;
  }
  return `{ ${e} ${c.cr} = (${c.cr} & ${~(0xf << sh)}) | ((cc | (s.xer >>> 31)) << ${sh}); }`;
}

/**
 * The condition of a bc-family branch as statements declaring `ok` (CTR decremented first).
 * `ctr` names locals holding CTR's halves (a looping block keeps CTR in them) instead of lc[].
 */
export function bcCond(d: Dec, c: JitCtx, ctr?: [string, string]): string {
  const bo = d.t;
  let out = '';
  const parts: string[] = [];
  if ((bo & 4) === 0) {
    if (ctr) {
      out += `if (${ctr[0]} === 0) ${ctr[1]} = (${ctr[1]} - 1) | 0; ${ctr[0]} = (${ctr[0]} - 1) | 0; `;
      parts.push(`((${ctr[0]} | ${ctr[1]}) ${bo & 2 ? '===' : '!=='} 0)`);
    } else {
      out += '{ const c_ = lc[2]; if (c_ === 0) lc[3] = lc[3] - 1; lc[2] = c_ - 1; } ';
      parts.push(`((lc[2] | lc[3]) ${bo & 2 ? '===' : '!=='} 0)`);
    }
  }
  if ((bo & 16) === 0) parts.push(`((${c.cr} >>> ${31 - d.a}) & 1) === ${(bo >>> 3) & 1}`);
  return out + `const ok = ${parts.length ? parts.join(' && ') : 'true'};`;
}
const setLr = (pc: number) => { const [l, h] = num(pc + 4); return `lc[0] = ${l}; lc[1] = ${h};`; };

type Width = 'b' | 'h' | 'ha' | 'w' | 'wa' | 'd';
function loadTo(c: JitCtx, t: number, w: Width, ea: string): string {
  switch (w) {
    case 'b': return c.set(t, `m.load8(${ea})`, '0');
    case 'h': return c.set(t, `m.load16(${ea})`, '0');
    case 'ha': return `{ const x = (m.load16(${ea}) << 16) >> 16; ${c.set(t, 'x', 'x >> 31')} }`;
    case 'w': return c.set(t, `m.load32(${ea})`, '0');
    case 'wa': return `{ const x = m.load32(${ea}) | 0; ${c.set(t, 'x', 'x >> 31')} }`;
    case 'd': return `m.load64Into(${ea}, t32, 0); ${c.set(t, 't32[0]', 't32[1]')}`;
  }
}
function storeFrom(c: JitCtx, t: number, w: Width, ea: string): string {
  switch (w) {
    case 'b': return `m.store8(${ea}, ${c.lo(t)} & 255);`;
    case 'h': case 'ha': return `m.store16(${ea}, ${c.lo(t)} & 65535);`;
    case 'w': case 'wa': return `m.store32(${ea}, ${c.lo(t)});`;
    case 'd': return `t32[0] = ${c.lo(t)}; t32[1] = ${c.hi(t)}; m.store64From(${ea}, t32, 0);`;
  }
}
const ldD = (w: Width): Jit => (d, _pc, c) => loadTo(c, d.t, w, eaD(d, c));
const ldDU = (w: Width): Jit => (d, _pc, c) => `{ const ea = ${eaD(d, c)}; ${loadTo(c, d.t, w, 'ea')} ${setRa(d, c)} }`;
const ldX = (w: Width): Jit => (d, _pc, c) => `{ ${eaX(d, c)} ${loadTo(c, d.t, w, 'ea')} }`;
const stD = (w: Width): Jit => (d, _pc, c) => storeFrom(c, d.t, w, eaD(d, c));
const stDU = (w: Width): Jit => (d, _pc, c) => `{ const ea = ${eaD(d, c)}; ${storeFrom(c, d.t, w, 'ea')} ${setRa(d, c)} }`;
const stX = (w: Width): Jit => (d, _pc, c) => `{ ${eaX(d, c)} ${storeFrom(c, d.t, w, 'ea')} }`;

/** RT = (RA|0) + a sign-extended immediate; the carry out of the low word by unsigned comparison. */
const addImm = (d: Dec, c: JitCtx, v: number) => {
  const ih = v < 0 ? '-1' : '0';
  if (d.a === 0) return c.set(d.t, String(v | 0), ih);
  return `{ const a_ = ${c.lo(d.a)}, l = (a_ + ${v | 0}) | 0; ${c.set(d.t, 'l', `${c.hi(d.a)} + ${ih} + ((l >>> 0) < (a_ >>> 0) ? 1 : 0)`)} }`;
};

/** Quadword loads and stores: `dw0` is the doubleword at the lower address (lxvd2x) or the higher one (lxv, lvx). */
function vq(d: Dec, c: JitCtx, store: boolean, form: 'D' | 'X', lowFirst: boolean, align = false): string {
  const ea = form === 'D' ? `const ea = ${eaD(d, c)};` : eaX(d, c);
  const q = align ? 'const q = ea - (ea % 16);' : 'const q = ea;';
  const [first, second] = lowFirst ? [4 * d.t, 4 * d.t + 2] : [4 * d.t + 2, 4 * d.t];
  const op = store ? 'm.store64From' : 'm.load64Into';
  return `{ ${ea} ${q} ${op}(q, v, ${first}); ${op}(q + 8, v, ${second}); }`;
}
const splat = (d: Dec, word: number) => [0, 1, 2, 3].map((i) => `v[${4 * d.t + i}] = ${word | 0};`).join(' ');

export const JIT: Record<string, Jit> = {
  lxv: (d, _p, c) => vq(d, c, false, 'D', false), stxv: (d, _p, c) => vq(d, c, true, 'D', false),
  lxvx: (d, _p, c) => vq(d, c, false, 'X', false), stxvx: (d, _p, c) => vq(d, c, true, 'X', false),
  lxvd2x: (d, _p, c) => vq(d, c, false, 'X', true), stxvd2x: (d, _p, c) => vq(d, c, true, 'X', true),
  lvx: (d, _p, c) => vq(d, c, false, 'X', false, true), stvx: (d, _p, c) => vq(d, c, true, 'X', false, true),
  xxspltib: (d) => splat(d, d.j * 0x01010101),
  vspltisw: (d) => splat(d, d.a), vspltish: (d) => splat(d, (d.a & 0xffff) * 0x10001), vspltisb: (d) => splat(d, (d.a & 0xff) * 0x01010101),
  add: (d, _p, c) => (d.oe ? null : `{ const a_ = ${c.lo(d.a)}, l = (a_ + ${c.lo(d.b)}) | 0; ${c.set(d.t, 'l', `${c.hi(d.a)} + ${c.hi(d.b)} + ((l >>> 0) < (a_ >>> 0) ? 1 : 0)`)} }${rc0(d, c, d.t)}`),
  subf: (d, _p, c) => (d.oe ? null : `{ const a_ = ${c.lo(d.a)}, b_ = ${c.lo(d.b)}; ${c.set(d.t, '(b_ - a_) | 0', `${c.hi(d.b)} - ${c.hi(d.a)} - ((b_ >>> 0) < (a_ >>> 0) ? 1 : 0)`)} }${rc0(d, c, d.t)}`),
  neg: (d, _p, c) => (d.oe ? null : `{ const a_ = ${c.lo(d.a)}; ${c.set(d.t, '-a_ | 0', `~${c.hi(d.a)} + (a_ === 0 ? 1 : 0)`)} }${rc0(d, c, d.t)}`),
  addi: (d, _p, c) => addImm(d, c, d.i),
  addis: (d, _p, c) => addImm(d, c, d.i << 16),
  mulli: (d, _p, c) => `{ const al = ${c.lo(d.a)}, ah = ${c.hi(d.a)}; ${c.set(d.t, `Math.imul(al, ${d.i})`, `H.mulhu32(al >>> 0, ${U(d.i)}) + Math.imul(al, ${d.i < 0 ? -1 : 0}) + Math.imul(ah, ${d.i})`)} }`,
  mulld: (d, _p, c) => (d.oe ? null : `{ const al = ${c.lo(d.a)}, ah = ${c.hi(d.a)}, bl = ${c.lo(d.b)}, bh = ${c.hi(d.b)}; ${c.set(d.t, 'Math.imul(al, bl)', 'H.mulhu32(al >>> 0, bl >>> 0) + Math.imul(al, bh) + Math.imul(ah, bl)')} }${rc0(d, c, d.t)}`),
  mullw: (d, _p, c) => (d.oe ? null : `{ const a = ${c.lo(d.a)}, b = ${c.lo(d.b)}; ${c.set(d.t, 'Math.imul(a, b)', 'H.mulhs32(a, b)')} }${rc0(d, c, d.t)}`),
  and: logical('&', false), or: logical('|', false), xor: logical('^', false),
  nand: logical('&', true), nor: logical('|', true), eqv: logical('^', true),
  andc: logical('&', false, true), orc: logical('|', false, true),
  ori: (d, _p, c) => c.set(d.a, `${c.lo(d.t)} | ${d.i}`, c.hi(d.t)),
  oris: (d, _p, c) => c.set(d.a, `${c.lo(d.t)} | ${d.i << 16}`, c.hi(d.t)),
  xori: (d, _p, c) => c.set(d.a, `${c.lo(d.t)} ^ ${d.i}`, c.hi(d.t)),
  xoris: (d, _p, c) => c.set(d.a, `${c.lo(d.t)} ^ ${d.i << 16}`, c.hi(d.t)),
  'andi.': (d, _p, c) => `{ const x = ${c.lo(d.t)} & ${d.i}; ${c.set(d.a, 'x', '0')} ${cr0(c, 'x', '0')} }`,
  'andis.': (d, _p, c) => `{ const x = ${c.lo(d.t)} & ${d.i << 16}; ${c.set(d.a, 'x', '0')} ${cr0(c, 'x', '0')} }`,
  extsb: (d, _p, c) => `{ const x = (${c.lo(d.t)} << 24) >> 24; ${c.set(d.a, 'x', 'x >> 31')} }${rc0(d, c, d.a)}`,
  extsh: (d, _p, c) => `{ const x = (${c.lo(d.t)} << 16) >> 16; ${c.set(d.a, 'x', 'x >> 31')} }${rc0(d, c, d.a)}`,
  extsw: (d, _p, c) => `{ const x = ${c.lo(d.t)} | 0; ${c.set(d.a, 'x', 'x >> 31')} }${rc0(d, c, d.a)}`,
  cntlzw: (d, _p, c) => c.set(d.a, `Math.clz32(${c.lo(d.t)})`, '0') + rc0(d, c, d.a),
  cntlzd: (d, _p, c) => `{ const h = ${c.hi(d.t)}; ${c.set(d.a, `h ? Math.clz32(h) : 32 + Math.clz32(${c.lo(d.t)})`, '0')} }${rc0(d, c, d.a)}`,
  rlwinm: (d, _p, c) => {
    const n = d.b;
    const r = n === 0 ? 'x' : `((x << ${n}) | (x >>> ${32 - n}))`;
    const p = (m: number) => (m === 0 ? '0' : m === 0xffffffff ? r : `(${r} & ${m | 0})`);
    return `{ const x = ${c.lo(d.t)}; ${c.set(d.a, p(d.m0 >>> 0), p(d.m1 >>> 0))} }${rc0(d, c, d.a)}`;
  },
  rldicl: (d, _p, c) => rotMask(d, c, false),
  rldicr: (d, _p, c) => rotMask(d, c, false),
  rldic: (d, _p, c) => rotMask(d, c, false),
  rldimi: (d, _p, c) => rotMask(d, c, true),
  cmp: (d, _p, c) => cmpTemplate(d, c, true, false),
  cmpl: (d, _p, c) => cmpTemplate(d, c, false, false),
  cmpi: (d, _p, c) => cmpTemplate(d, c, true, true),
  cmpli: (d, _p, c) => cmpTemplate(d, c, false, true),
  isel: (d, _p, c) => {
    const a = d.a === 0 ? ['0', '0'] : [c.lo(d.a), c.hi(d.a)];
    return `{ const c_ = (${c.cr} >>> ${31 - d.c}) & 1; ${c.set(d.t, `c_ ? ${a[0]} : ${c.lo(d.b)}`, `c_ ? ${a[1]} : ${c.hi(d.b)}`)} }`;
  },
  lbz: ldD('b'), lhz: ldD('h'), lha: ldD('ha'), lwz: ldD('w'), lwa: ldD('wa'), ld: ldD('d'),
  lbzu: ldDU('b'), lhzu: ldDU('h'), lhau: ldDU('ha'), lwzu: ldDU('w'), ldu: ldDU('d'),
  lbzx: ldX('b'), lhzx: ldX('h'), lhax: ldX('ha'), lwzx: ldX('w'), lwax: ldX('wa'), ldx: ldX('d'),
  stb: stD('b'), sth: stD('h'), stw: stD('w'), std: stD('d'),
  stbu: stDU('b'), sthu: stDU('h'), stwu: stDU('w'), stdu: stDU('d'),
  stbx: stX('b'), sthx: stX('h'), stwx: stX('w'), stdx: stX('d'),
  mfspr: (d, _p, c) => (d.i === 8 ? c.set(d.t, 'lc[0]', 'lc[1]') : d.i === 9 ? c.set(d.t, 'lc[2]', 'lc[3]') : null),
  mtspr: (d, _p, c) => (d.i === 8 ? `lc[0] = ${c.lo(d.t)}; lc[1] = ${c.hi(d.t)};` : d.i === 9 ? `lc[2] = ${c.lo(d.t)}; lc[3] = ${c.hi(d.t)};` : null),
  mfvsrd: (d, _p, c) => c.set(d.a, `v[${4 * d.t}]`, `v[${4 * d.t + 1}]`),
  mfvsrwz: (d, _p, c) => c.set(d.a, `v[${4 * d.t}]`, '0'),
  mtvsrd: (d, _p, c) => `v[${4 * d.t}] = ${c.lo(d.a)}; v[${4 * d.t + 1}] = ${c.hi(d.a)};`,
  mtvsrwz: (d, _p, c) => `v[${4 * d.t}] = ${c.lo(d.a)}; v[${4 * d.t + 1}] = 0;`,
  xxlor: (d) => [0, 1, 2, 3].map((i) => `v[${4 * d.t + i}] = v[${4 * d.a + i}] | v[${4 * d.b + i}];`).join(' '),
  xxlxor: (d) => [0, 1, 2, 3].map((i) => `v[${4 * d.t + i}] = v[${4 * d.a + i}] ^ v[${4 * d.b + i}];`).join(' '),
  b: (d, pc) => `${d.lk ? setLr(pc) + ' ' : ''}return ${d.aa ? d.i : pc + d.i};`,
  bc: (d, pc, c) => `${bcCond(d, c)} ${d.lk ? setLr(pc) + ' ' : ''}return ok ? ${d.aa ? d.i : pc + d.i} : ${pc + 4};`,
  bclr: (d, pc, c) => `const t_ = lc[1] * 4294967296 + ((lc[0] & -4) >>> 0); ${bcCond(d, c)} ${d.lk ? setLr(pc) + ' ' : ''}return ok ? t_ : ${pc + 4};`,
  bcctr: (d, pc, c) => `const t_ = lc[3] * 4294967296 + ((lc[2] & -4) >>> 0); const ok = ${(d.t & 16) ? 'true' : `((${c.cr} >>> ${31 - d.a}) & 1) === ${(d.t >>> 3) & 1}`}; ${d.lk ? setLr(pc) + ' ' : ''}return ok ? t_ : ${pc + 4};`,
};

/** Instructions whose template can raise an interrupt (memory accesses): the translator records
 * the instruction index before them so a fault is reported at the right address. */
export const JIT_MAY_FAULT = new Set(Object.keys(JIT).filter((m) => /^(l|st)/.test(m)));
