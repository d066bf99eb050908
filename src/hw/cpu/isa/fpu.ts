// Binary floating point as the Power ISA defines it (Book I chapter 4; VSX in chapter 7), on
// JS doubles with exact error terms: every arithmetic result is first computed round-to-nearest
// by the host, the sign of (exact - rounded) is found with error-free transformations (TwoSum,
// Dekker's product) or, outside their safe range, with exact BigInt arithmetic; then FPSCR[RN]
// and the single-precision target are applied and FPSCR's FPRF, FR, FI and sticky exception bits
// set. NaNs are moved as bit patterns, never through host arithmetic (which changes payloads).
//
// Kernels work on St.fo: operands staged in slots 0..2 in the ISA's NaN precedence order, the
// result left in slot 3. The instruction wrappers (table/fp.ts, table/vsx.ts) stage and store,
// so one kernel serves FPRs, VSX scalars and every lane of a VSX vector.

import type { St } from './state.js';

// FPSCR bits (the low word; ISA bit 32+n is LSB-0 bit 31-n).
export const FX = 0x80000000, FEX = 0x40000000, VX = 0x20000000, OX = 0x10000000, UX = 0x08000000;
export const ZX = 0x04000000, XX = 0x02000000, VXSNAN = 0x01000000, VXISI = 0x00800000, VXIDI = 0x00400000;
export const VXZDZ = 0x00200000, VXIMZ = 0x00100000, VXVC = 0x00080000, FR = 0x00040000, FI = 0x00020000;
export const FPRF = 0x0001f000, FPCC = 0x0000f000, VXSOFT = 0x400, VXSQRT = 0x200, VXCVI = 0x100;
export const VE = 0x80, OE = 0x40, UE = 0x20, ZE = 0x10, XE = 0x08;
export const VX_ALL = VXSNAN | VXISI | VXIDI | VXZDZ | VXIMZ | VXVC | VXSOFT | VXSQRT | VXCVI;
const EXC_ALL = OX | UX | ZX | XX | VX_ALL;

export const DEFAULT_NAN_HI = 0x7ff80000;
const MIN_NORMAL = 2 ** -1022;
const MIN_NORMAL32 = 2 ** -126;
const MAX32 = 3.4028234663852886e38;
const MAX64 = Number.MAX_VALUE;
const TOP = 2 ** 128;

const cvt = new Float64Array(1);
const cvtU = new Uint32Array(cvt.buffer);
const cvt32 = new Float32Array(1);
const cvt32U = new Uint32Array(cvt32.buffer);

export function hiWord(x: number): number { cvt[0] = x; return cvtU[1]!; }
export function loWord(x: number): number { cvt[0] = x; return cvtU[0]!; }
export function fromWords(lo: number, hi: number): number { cvtU[0] = lo; cvtU[1] = hi; return cvt[0]!; }

// ---- FPSCR bookkeeping --------------------------------------------------------------------

/** Set sticky exception bits; FX when any of them goes from 0 to 1; recompute VX and FEX. */
export function raise(s: St, bits: number): void {
  const old = s.fpscr;
  let f = old | bits;
  if ((bits & EXC_ALL & ~old) !== 0) f |= FX;
  s.fpscr = summarize(f);
}

/** VX and FEX are summaries of the other bits. */
export function summarize(f: number): number {
  f = (f & ~(VX | FEX)) >>> 0;
  if (f & VX_ALL) f |= VX;
  const en = ((f & VX) && (f & VE)) || ((f & OX) && (f & OE)) || ((f & UX) && (f & UE)) || ((f & ZX) && (f & ZE)) || ((f & XX) && (f & XE));
  if (en) f |= FEX;
  return f >>> 0;
}

/** The FPRF class code of a double. */
export function fprfOf(v: number): number {
  if (v !== v) return 0x11;
  if (v === Infinity) return 0x05;
  if (v === -Infinity) return 0x09;
  if (v === 0) return 1 / v < 0 ? 0x12 : 0x02;
  const neg = v < 0, a = neg ? -v : v;
  if (a < MIN_NORMAL) return neg ? 0x18 : 0x14;
  return neg ? 0x08 : 0x04;
}

/** The FPRF class code of a value as it is represented in single format (xscvdpsp). */
export function fprfOfSingle(v: number): number {
  const a = Math.abs(v);
  if (v === v && a !== 0 && a !== Infinity && a < MIN_NORMAL32) return v < 0 ? 0x18 : 0x14;
  return fprfOf(v);
}

export function setFprf(s: St, code: number): void {
  s.fpscr = ((s.fpscr & ~FPRF) | (code << 12)) >>> 0;
}

/** Set FPRF, FR and FI together (arithmetic results). */
export function setResultBits(s: St, v: number, fr: boolean, fi: boolean): void {
  s.fpscr = ((s.fpscr & ~(FPRF | FR | FI)) | (fprfOf(v) << 12) | (fr ? FR : 0) | (fi ? FI : 0)) >>> 0;
}

/** CR1 from FPSCR[FX FEX VX OX] (the Rc=1 forms). */
export function cr1(s: St): void {
  s.cr = (s.cr & ~0x0f000000) | (((s.fpscr >>> 28) & 0xf) << 24);
}

// ---- staging and NaNs -------------------------------------------------------------------------

export function isSnanBits(hi: number, lo: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && (hi & 0x80000) === 0 && ((hi & 0xfffff) | lo) !== 0;
}
export function isNanBits(hi: number, lo: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0;
}

/** Stage doubleword `ix` of the VSR file (FPR n is ix = 2n; VSR n dw k is 2n + k) into slot k. */
export function stage(s: St, k: number, ix: number): void {
  s.fou[2 * k] = s.v32[2 * ix]!; s.fou[2 * k + 1] = s.v32[2 * ix + 1]!;
}
/** Store the result slot into doubleword `ix` of the VSR file. */
export function unstage(s: St, ix: number): void {
  s.v32[2 * ix] = s.fou[6]!; s.v32[2 * ix + 1] = s.fou[7]!;
}
/** Stage a single-precision word (VSX vector lanes, lfs): converted exactly, NaN bits kept. */
export function stageSingle(s: St, k: number, w: number): void {
  if ((w & 0x7f800000) === 0x7f800000) {
    const frac = w & 0x7fffff;
    s.fou[2 * k + 1] = ((w & 0x80000000) | 0x7ff00000 | (frac >>> 3)) >>> 0;
    s.fou[2 * k] = (frac << 29) >>> 0;
    return;
  }
  cvt32U[0] = w;
  s.fo[k] = cvt32[0]!;
}
/** The result slot as single-precision bits (its value is already representable, or a NaN). */
export function resultSingleBits(s: St): number {
  const hi = s.fou[7]!, lo = s.fou[6]!;
  if ((hi & 0x7ff00000) === 0x7ff00000) return ((hi & 0x80000000) | 0x7f800000 | ((hi & 0xfffff) << 3) | (lo >>> 29)) >>> 0;
  cvt32[0] = s.fo[3]!;
  return cvt32U[0]!;
}

function slotNan(s: St, k: number): boolean { return isNanBits(s.fou[2 * k + 1]!, s.fou[2 * k]!); }
function slotSnan(s: St, k: number): boolean { return isSnanBits(s.fou[2 * k + 1]!, s.fou[2 * k]!); }
export function slotIsSnan(s: St, k: number): boolean { return slotSnan(s, k); }

/**
 * NaN operands (slots 0..n-1, in precedence order): the first NaN, quieted, is the result.
 * Sets VXSNAN when any operand is a signalling NaN. Returns false when there is no NaN.
 */
export function propagateNan(s: St, n: number, single: boolean, bits: boolean): boolean {
  let first = -1, snan = false;
  for (let k = 0; k < n; k++) {
    if (slotNan(s, k)) { if (first < 0) first = k; if (slotSnan(s, k)) snan = true; }
  }
  if (first < 0) return false;
  if (snan) raise(s, VXSNAN);
  s.fou[7] = s.fou[2 * first + 1]! | 0x80000;
  s.fou[6] = single ? s.fou[2 * first]! & 0xe0000000 : s.fou[2 * first]!;
  if (bits) setResultBits(s, NaN, false, false);
  return true;
}

/** An invalid operation with no NaN operand: default QNaN, the VX bit given, FR/FI cleared. */
export function invalidResult(s: St, vxBit: number, bits: boolean): void {
  raise(s, vxBit);
  s.fou[6] = 0; s.fou[7] = DEFAULT_NAN_HI;
  if (bits) setResultBits(s, NaN, false, false);
}

// ---- exact error signs -------------------------------------------------------------------

const SPLIT = 134217729; // 2^27 + 1
const SAFE_HI = 2 ** 990;
const SAFE_LO = 2 ** -960;

/** Sign of (a + b) - r where r = RN(a + b) is finite (TwoSum; always exact). */
export function addErrSign(a: number, b: number, r: number): number {
  const bb = r - a;
  const e = (a - (r - bb)) + (b - bb);
  return e > 0 ? 1 : e < 0 ? -1 : 0;
}

/** Error of p = RN(a*b) (Dekker); exact when a, b, p are well inside the range. */
function prodErr(a: number, b: number, p: number): number {
  const ca = SPLIT * a, ah = ca - (ca - a), al = a - ah;
  const cb = SPLIT * b, bh = cb - (cb - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

const inSafe = (x: number) => { const a = Math.abs(x); return a > SAFE_LO && a < SAFE_HI; };

/** Sign of a*b - r; null when outside the range Dekker's product is exact in. */
export function mulErrSign(a: number, b: number, r: number): number | null {
  if (!inSafe(a) || !inSafe(b) || !inSafe(r)) return null;
  const e = prodErr(a, b, r); // exactly a*b - r
  return e > 0 ? 1 : e < 0 ? -1 : 0;
}

/** Sign of a/b - r. */
export function divErrSign(a: number, b: number, r: number): number | null {
  if (!inSafe(a) || !inSafe(b) || !inSafe(r)) return null;
  const p = r * b;
  if (!inSafe(p)) return null;
  const e = prodErr(r, b, p);
  const rem = a - p; // exact (Sterbenz): p is within a factor 2 of a
  const sRem = rem > e ? 1 : rem < e ? -1 : 0; // sign of a - r*b
  return b > 0 ? sRem : -sRem;
}

/** Sign of sqrt(a) - r. */
export function sqrtErrSign(a: number, r: number): number | null {
  if (!inSafe(a) || !inSafe(r)) return null;
  const p = r * r;
  if (!inSafe(p)) return null;
  const e = prodErr(r, r, p);
  const rem = a - p;
  return rem > e ? 1 : rem < e ? -1 : 0;
}

// ---- exact arithmetic (slow path) ---------------------------------------------------------

/** A finite double as (negative, integer mantissa, exponent): value = m * 2^e. */
export interface Exact { neg: boolean; m: bigint; e: number }

export function decompose(x: number): Exact {
  cvt[0] = x;
  const hi = cvtU[1]!, lo = cvtU[0]!;
  const neg = hi >>> 31 === 1;
  const ex = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (ex === 0) return { neg, m: frac, e: -1074 };
  return { neg, m: frac | (1n << 52n), e: ex - 1075 };
}

function bitLength(m: bigint): number { return m === 0n ? 0 : m.toString(2).length; }

/** x * 2^e for an integral x < 2^54 whose product is representable (or overflows to Infinity). */
export function scale2(x: number, e: number): number {
  while (e > 1000) { x *= 2 ** 1000; e -= 1000; }
  while (e < -1000) { x *= 2 ** -1000; e += 1000; }
  return x * 2 ** e;
}

/**
 * Round (m + sticky) * 2^e (m >= 0; `sticky`: nonzero bits below) to the nearest double, ties to
 * even, and give the sign of (exact - rounded) for a value of sign `neg`. Callers with sticky
 * bits pass at least 55 significant bits in m.
 */
export function roundExact(neg: boolean, m: bigint, e: number, sticky: boolean): { r: number; es: number } {
  if (m === 0n) return { r: neg ? -0 : 0, es: sticky ? (neg ? -1 : 1) : 0 };
  const n = bitLength(m);
  const lsb = Math.max(e + n - 53, -1074);
  const shift = lsb - e;
  let q: bigint, mag: number; // mag: sign of |exact| - |rounded|
  if (shift <= 0) { q = m << BigInt(-shift); mag = sticky ? 1 : 0; }
  else {
    const sh = BigInt(shift);
    q = m >> sh;
    const rem = m & ((1n << sh) - 1n), half = 1n << (sh - 1n);
    const up = rem > half || (rem === half && (sticky || (q & 1n) === 1n));
    if (up) { q += 1n; mag = -1; } else mag = rem !== 0n || sticky ? 1 : 0;
  }
  const r = scale2(Number(q), lsb);
  // Beyond the largest double the exact value is finite: r = +-Infinity means overflow.
  if (r === Infinity) return { r: neg ? -r : r, es: neg ? 1 : -1 };
  return { r: neg ? -r : r, es: neg ? -mag : mag };
}

export function exactMul(a: number, b: number): { r: number; es: number } {
  const x = decompose(a), y = decompose(b);
  return roundExact(x.neg !== y.neg, x.m * y.m, x.e + y.e, false);
}

export function exactDiv(a: number, b: number): { r: number; es: number } {
  const x = decompose(a), y = decompose(b);
  const k = Math.max(0, 60 + bitLength(y.m) - bitLength(x.m));
  const num = x.m << BigInt(k);
  return roundExact(x.neg !== y.neg, num / y.m, x.e - y.e - k, num % y.m !== 0n);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) { const y = (x + n / x) >> 1n; if (y >= x) return x; x = y; }
}

export function exactSqrt(a: number): { r: number; es: number } {
  const x = decompose(a);
  let m = x.m, e = x.e;
  if (e & 1) { m <<= 1n; e -= 1; }
  const k = 2 * Math.max(0, Math.ceil((120 - bitLength(m)) / 2));
  m <<= BigInt(k); e -= k;
  const r = isqrt(m);
  return roundExact(false, r, e / 2, r * r !== m);
}

/** a*c + b exactly, rounded to nearest (zero results signed as IEEE says for rounding `mode`). */
export function exactFma(a: number, c: number, b: number, mode: number): { r: number; es: number } {
  const x = decompose(a), y = decompose(c), z = decompose(b);
  const pe = x.e + y.e, pneg = x.neg !== y.neg;
  let pm = x.m * y.m, bm = z.m;
  const e = Math.min(pe, z.e);
  pm <<= BigInt(pe - e); bm <<= BigInt(z.e - e);
  const sum = (pneg ? -pm : pm) + (z.neg ? -bm : bm);
  if (sum === 0n) {
    const bothZero = pm === 0n && bm === 0n;
    const neg = bothZero ? (pneg && z.neg) || (pneg !== z.neg && mode === 3) : mode === 3;
    return { r: neg ? -0 : 0, es: 0 };
  }
  return roundExact(sum < 0n, sum < 0n ? -sum : sum, e, false);
}

// ---- rounding to the target and the FPSCR result bits --------------------------------------

function nextUp64(x: number): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return 5e-324;
  cvt[0] = x;
  let lo = cvtU[0]!, hi = cvtU[1]!;
  if (x > 0) { lo = (lo + 1) >>> 0; if (lo === 0) hi++; }
  else { if (lo === 0) hi--; lo = (lo - 1) >>> 0; }
  cvtU[0] = lo; cvtU[1] = hi;
  return cvt[0]!;
}
function nextDown64(x: number): number { return -nextUp64(-x); }

function nextUp32(x: number): number {
  if (x === Infinity) return x;
  if (x === 0) return 2 ** -149;
  cvt32[0] = x;
  cvt32U[0] = x > 0 ? cvt32U[0]! + 1 : cvt32U[0]! - 1;
  return cvt32[0]!;
}
function nextDown32(x: number): number { return -nextUp32(-x); }
/** Neighbours of a non-negative single on the grid extended by TOP = 2^128. */
function up32(x: number): number { return x === MAX32 ? TOP : nextUp32(x); }
function down32(x: number): number { return x === TOP ? MAX32 : x === 0 ? 0 : nextDown32(x); }

/**
 * Round an arithmetic result into slot 3: r is the round-to-nearest double of the exact value
 * and es the sign of (exact - r) (an infinite r with es != 0 means the exact value overflowed).
 * Applies FPSCR[RN] and single precision; sets OX, UX, XX (and FX) and, when `bits`, FPRF, FR, FI.
 */
export function deliver(s: St, r: number, es: number, single: boolean, bits: boolean): void {
  const mode = s.fpscr & 3;
  let v: number;
  let away = false; // |result| > |exact|
  let inexact = false;
  let ovf = false, tiny = false;
  const rInf = r === Infinity || r === -Infinity;
  if (rInf && es === 0) { v = r; }
  else if (!single) {
    if (rInf) {
      ovf = true; inexact = true;
      const pos = r > 0;
      v = mode === 0 || (mode === 2 && pos) || (mode === 3 && !pos) ? r : pos ? MAX64 : -MAX64;
      away = v === r;
    } else {
      v = r;
      inexact = es !== 0;
      if (inexact) {
        const rPos = r > 0 || (r === 0 && 1 / r > 0);
        const towardZero = rPos ? es < 0 : es > 0; // the exact value is nearer zero than r
        if (mode === 1 && towardZero) v = rPos ? nextDown64(r) : nextUp64(r);
        else if (mode === 2 && es > 0) v = nextUp64(r);
        else if (mode === 3 && es < 0) v = nextDown64(r);
        away = v === r ? towardZero : !towardZero;
        if (v === Infinity || v === -Infinity) ovf = true;
        const ar = Math.abs(r);
        tiny = ar < MIN_NORMAL || (ar === MIN_NORMAL && towardZero);
      }
    }
  } else {
    // Round the exact value (r + es*epsilon) to single precision, on magnitudes; the single grid
    // is extended by TOP = 2^128 so that overflow means "rounds to TOP or beyond".
    const rPos = r > 0 || (r === 0 && 1 / r > 0);
    const ar = Math.abs(r);
    const esm = rPos ? es : -es; // sign of |exact| - |r|
    let lo: number, hi: number;
    if (ar > TOP || (ar === TOP && esm >= 0)) { lo = TOP; hi = Infinity; }
    else {
      const x0 = Math.fround(ar);
      const x = x0 === Infinity ? TOP : x0;
      if (x === ar) {
        if (esm === 0) { lo = hi = ar; }
        else if (esm > 0) { lo = ar; hi = up32(ar); }
        else { hi = ar; lo = down32(ar); }
      } else if (x < ar) { lo = x; hi = up32(x); }
      else { hi = x; lo = down32(x); }
    }
    let mag: number;
    if (lo === hi) mag = lo;
    else {
      inexact = true;
      if (hi === Infinity) mag = mode === 1 || (mode === 2 && !rPos) || (mode === 3 && rPos) ? MAX32 : TOP;
      else if (mode === 0) {
        const mid = lo / 2 + hi / 2;
        if (ar < mid || (ar === mid && esm < 0)) mag = lo;
        else if (ar > mid || (ar === mid && esm > 0)) mag = hi;
        else { const e = Math.fround(mid); mag = e === Infinity ? TOP : e; }
      } else if (mode === 1) mag = lo;
      else if (mode === 2) mag = rPos ? hi : lo;
      else mag = rPos ? lo : hi;
      away = mag > ar || (mag === ar && esm < 0);
      if (mag >= TOP) { ovf = true; mag = Infinity; }
      tiny = ar < MIN_NORMAL32 || (ar === MIN_NORMAL32 && esm < 0);
    }
    if (lo >= TOP) ovf = true;
    v = rPos ? mag : -mag;
  }
  let exc = 0;
  if (inexact) exc |= XX;
  if (ovf) exc |= OX | XX;
  if (tiny && inexact) exc |= UX;
  if (exc) raise(s, exc);
  s.fo[3] = v;
  if (bits) setResultBits(s, v, inexact && away, inexact || ovf);
}

// ---- conversions ------------------------------------------------------------------------------

/** The ISA's store-single conversion (stfs): bit selection, denormalisation without rounding. */
export function doubleBitsToSingle(hi: number, lo: number): number {
  const ex = (hi >>> 20) & 0x7ff;
  if (ex > 896 || ((hi & 0x7fffffff) | lo) === 0) {
    return ((hi & 0xc0000000) | ((hi & 0x07ffffff) << 3) | (lo >>> 29)) >>> 0;
  }
  if (ex >= 874) {
    const sh = 897 - ex; // 1..23
    const frac = ((hi & 0xfffff) | 0x100000) * 8 + (lo >>> 29); // 24 bits: 1.f
    return ((hi & 0x80000000) | Math.floor(frac / 2 ** sh)) >>> 0;
  }
  // Too small even for a single denormal: the ISA leaves it undefined; zero of the same sign.
  return (hi & 0x80000000) >>> 0;
}

/** Round a double to an integral double by mode (0 nearest-even, 1 zero, 2 +inf, 3 -inf). */
export function roundInt(x: number, mode: number): number {
  switch (mode) {
    case 0: {
      const a = Math.abs(x);
      if (a >= 4503599627370496) return x;
      const r = (a + 4503599627370496) - 4503599627370496;
      return x < 0 || (x === 0 && 1 / x < 0) ? -r : r;
    }
    case 1: return Math.trunc(x);
    case 2: return Math.ceil(x);
    default: return Math.floor(x);
  }
}
