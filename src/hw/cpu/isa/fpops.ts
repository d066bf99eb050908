// Floating-point kernels: each reads its operands from St.fo slots 0..2 and leaves the result in
// slot 3 (see fpu.ts). `single` rounds to single precision; `bits` sets FPRF/FR/FI (scalar
// instructions do, VSX vector instructions do not).

import {
  VXSNAN, VXISI, VXIDI, VXZDZ, VXIMZ, VXVC, VXSQRT, VXCVI, VE, ZX, XX, FR, FI,
  addErrSign, mulErrSign, divErrSign, sqrtErrSign, exactMul, exactDiv, exactSqrt, exactFma, roundExact, deliver,
  propagateNan, invalidResult, raise, setResultBits, slotIsSnan, roundInt, fprfOf, setFprf,
} from './fpu.js';
import type { St } from './state.js';

const TWO32 = 4294967296;

export type BinOp = 'add' | 'sub' | 'mul' | 'div';

/** slot3 = slot0 op slot1. */
export function kBin(s: St, op: BinOp, single: boolean, bits: boolean): void {
  const a = s.fo[0]!, bRaw = s.fo[1]!;
  const b = op === 'sub' ? -bRaw : bRaw;
  const r = op === 'mul' ? a * b : op === 'div' ? a / b : a + b;
  if (r !== r) {
    if (!propagateNan(s, 2, single, bits)) invalidResult(s, op === 'mul' ? VXIMZ : op === 'div' ? (a === 0 ? VXZDZ : VXIDI) : VXISI, bits);
    return;
  }
  const aInf = a === Infinity || a === -Infinity, bInf = b === Infinity || b === -Infinity;
  if (op === 'div' && b === 0 && !aInf) {
    raise(s, ZX);
    s.fo[3] = r;
    if (bits) setResultBits(s, r, false, false);
    return;
  }
  let es: number | null;
  let rr = r;
  if (r === Infinity || r === -Infinity) es = aInf || (bInf && op !== 'div') ? 0 : r > 0 ? -1 : 1;
  else if (aInf || bInf || a === 0 || b === 0) es = 0;
  else if (op === 'add' || op === 'sub') es = addErrSign(a, b, r);
  else {
    es = op === 'mul' ? mulErrSign(a, b, r) : divErrSign(a, b, r);
    if (es === null) { const x = op === 'mul' ? exactMul(a, b) : exactDiv(a, b); rr = x.r; es = x.es; }
  }
  // An exact zero sum is -0 when rounding toward -infinity, unless both operands are +0.
  if (rr === 0 && es === 0 && (op === 'add' || op === 'sub') && (s.fpscr & 3) === 3 && !(Object.is(a, 0) && Object.is(b, 0))) rr = -0;
  deliver(s, rr, es, single, bits);
}

export function kSqrt(s: St, single: boolean, bits: boolean): void {
  const x = s.fo[0]!;
  if (x !== x) { propagateNan(s, 1, single, bits); return; }
  if (x < 0) { invalidResult(s, VXSQRT, bits); return; }
  let r = Math.sqrt(x), es: number | null = 0;
  if (x !== 0 && x !== Infinity) {
    es = sqrtErrSign(x, r);
    if (es === null) { const e = exactSqrt(x); r = e.r; es = e.es; }
  }
  deliver(s, r, es, single, bits);
}

/**
 * Fused multiply-add: slot3 = +-(slot0 * slot2 +- slot1), rounded once; NaN precedence is
 * slot 0, 1, 2 (multiplicand, addend, multiplier), as the ISA gives for FRA, FRB, FRC.
 */
export function kFma(s: St, negResult: boolean, subAddend: boolean, single: boolean, bits: boolean): void {
  const a = s.fo[0]!, c = s.fo[2]!, bRaw = s.fo[1]!;
  const b = subAddend ? -bRaw : bRaw;
  const nan = a !== a || bRaw !== bRaw || c !== c;
  const infZero = ((a === Infinity || a === -Infinity) && c === 0) || (a === 0 && (c === Infinity || c === -Infinity));
  if (nan) {
    // An invalid product with a NaN addend still signals VXIMZ; the NaN is the result.
    if (infZero && bRaw !== bRaw) raise(s, VXIMZ);
    propagateNan(s, 3, single, bits);
    return;
  }
  if (infZero) { invalidResult(s, VXIMZ, bits); return; }
  const p = a * c;
  const bInf = b === Infinity || b === -Infinity;
  const factorInf = a === Infinity || a === -Infinity || c === Infinity || c === -Infinity;
  if (factorInf && bInf && (p > 0) !== (b > 0)) { invalidResult(s, VXISI, bits); return; }
  // An infinite product comes only from an infinite factor (a finite one may overflow: exact path).
  if (factorInf) deliver(s, p, 0, single, bits);
  else if (bInf) deliver(s, b, 0, single, bits);
  else { const x = exactFma(a, c, b, s.fpscr & 3); deliver(s, x.r, x.es, single, bits); }
  if (negResult) {
    s.fo[3] = -s.fo[3]!;
    if (bits) setFprf(s, fprfOf(s.fo[3]!));
  }
}

/** Round to single precision (frsp, xsrsp, xscvdpsp). */
export function kRsp(s: St, bits: boolean): void {
  const x = s.fo[0]!;
  if (x !== x) { propagateNan(s, 1, true, bits); return; }
  deliver(s, x, 0, true, bits);
}

/** Reciprocal and reciprocal square root estimates: the model gives the correctly rounded value. */
export function kEstimate(s: St, rsqrt: boolean, single: boolean, bits: boolean): void {
  const x = s.fo[0]!;
  if (x !== x) { propagateNan(s, 1, single, bits); return; }
  if (rsqrt && x < 0) { invalidResult(s, VXSQRT, bits); return; }
  if (x === 0) { raise(s, ZX); s.fo[3] = 1 / x; if (bits) setResultBits(s, s.fo[3]!, false, false); return; }
  const r = rsqrt ? 1 / Math.sqrt(x) : 1 / x;
  s.fo[3] = single ? Math.fround(r) : r;
  if (bits) setFprf(s, fprfOf(s.fo[3]!));
}

/** Round to an integral value: 'n' nearest away from zero (frin), 'e' nearest even, 'z', 'p', 'm'; 'c' current mode. */
export function kRoundInt(s: St, kind: 'n' | 'e' | 'z' | 'p' | 'm' | 'c', bits: boolean, inexactFlags: boolean): void {
  const x = s.fo[0]!;
  if (x !== x) { propagateNan(s, 1, false, bits); return; }
  let r: number;
  switch (kind) {
    case 'n': { const tr = Math.trunc(x); r = Math.abs(x - tr) >= 0.5 ? tr + Math.sign(x) : tr; break; }
    case 'e': r = roundInt(x, 0); break;
    case 'z': r = Math.trunc(x); break;
    case 'p': r = Math.ceil(x); break;
    case 'm': r = Math.floor(x); break;
    default: r = roundInt(x, s.fpscr & 3);
  }
  s.fo[3] = r;
  const inexact = inexactFlags && r !== x;
  if (inexact) raise(s, XX);
  if (bits) setResultBits(s, r, inexact && Math.abs(r) > Math.abs(x), inexact);
}

/**
 * To a 32/64-bit signed/unsigned integer (fcti*, xscvdp*x*): by FPSCR[RN], or toward zero when
 * `z`. Saturates with VXCVI. The integer's bits are left in slot 3 (64-bit two's complement;
 * 32-bit results in the low word, the high word as `hi32` says).
 */
export function kToInt(s: St, width: 32 | 64, signed: boolean, z: boolean, bits: boolean, hi32: 'zero' | 'sign' = 'zero', nanClass = false): void {
  const x = s.fo[0]!;
  // Bounds as exact doubles: the range is [min, lim) (2^63 - 1 is not a double).
  const min = signed ? -(2 ** (width - 1)) : 0, lim = signed ? 2 ** (width - 1) : 2 ** width;
  let r: number;
  let bad = false;
  if (x !== x) { bad = true; r = min; if (slotIsSnan(s, 0)) raise(s, VXSNAN); }
  else {
    r = roundInt(x, z ? 1 : s.fpscr & 3);
    if (r === 0) r = 0; // -0 rounds to the integer 0
    if (r >= lim) { r = lim - 1; bad = true; } else if (r < min) { r = min; bad = true; }
  }
  if (bad) {
    raise(s, VXCVI);
    if (bits) s.fpscr = (s.fpscr & ~(FR | FI)) >>> 0;
    // FPRF is undefined for fcti*; the model reports an invalid result as the QNaN class, as QEMU does.
    if (nanClass) s.fpscr = ((s.fpscr & ~0x1f000) | (0x11 << 12)) >>> 0;
  } else {
    const inexact = r !== x;
    if (inexact) raise(s, XX);
    if (bits) s.fpscr = ((s.fpscr & ~(FR | FI)) | (inexact ? FI : 0) | (inexact && Math.abs(r) > Math.abs(x) ? FR : 0)) >>> 0;
  }
  const f = s.fou;
  if (width === 64) {
    if (Math.abs(r) >= 2 ** 53) {
      const big = BigInt.asUintN(64, r >= lim - 1 && bad ? (signed ? (1n << 63n) - 1n : (1n << 64n) - 1n) : BigInt(r));
      f[6] = Number(big & 0xffffffffn); f[7] = Number(big >> 32n);
    } else { f[6] = r; f[7] = Math.floor(r / TWO32); }
  } else {
    f[6] = r;
    // The high word is undefined: the model sign-extends fctiw's result, except for a NaN's (as QEMU).
    f[7] = hi32 === 'sign' && r < 0 && x === x ? 0xffffffff : 0;
  }
}

/** From a 64-bit integer in slot 0's bits to double or single, rounded by FPSCR[RN]. */
export function kFromInt(s: St, signed: boolean, single: boolean, bits: boolean): void {
  const lo = s.fou[0]!, hi = s.fou[1]!;
  const neg = signed && (hi | 0) < 0;
  let r: number, es = 0;
  if (signed ? (hi < 0x200000 || hi >= 0xffe00000) : hi < 0x200000) r = signed ? (hi | 0) * TWO32 + lo : hi * TWO32 + lo;
  else {
    let m = (BigInt(hi) << 32n) | BigInt(lo);
    if (neg) m = (1n << 64n) - m;
    const x = roundExact(neg, m, 0, false);
    r = x.r; es = x.es;
  }
  deliver(s, r, es, single, bits);
}

/** Compare slot 0 with slot 1: the 4-bit condition (FL FG FE FU); sets VXSNAN/VXVC as the ISA says. */
export function kCmp(s: St, ordered: boolean): number {
  const a = s.fo[0]!, b = s.fo[1]!;
  if (a !== a || b !== b) {
    const snan = slotIsSnan(s, 0) || slotIsSnan(s, 1);
    let exc = snan ? VXSNAN : 0;
    if (ordered && (!snan || (s.fpscr & VE) === 0)) exc |= VXVC;
    if (exc) raise(s, exc);
    return 1;
  }
  return a < b ? 8 : a > b ? 4 : 2;
}
