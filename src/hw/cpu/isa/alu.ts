// Fixed-point helpers on 64-bit values kept as two 32-bit halves (never BigInt in the hot
// path): CR0 and XER updates, 64x64 products, rotates and masks. Carries are found by
// comparing sums held exactly in doubles.

import type { St } from './state.js';

export const XER_SO = 0x80000000;
export const XER_OV = 0x40000000;
export const XER_CA = 0x20000000;
export const XER_OV32 = 0x00080000;
export const XER_CA32 = 0x00040000;
export const TWO32 = 4294967296;

/** CR0 from a 64-bit result (signed compare with zero) and XER[SO]. */
export function cr0(s: St, lo: number, hi: number): void {
  const c = (hi | 0) < 0 ? 8 : (hi | lo) !== 0 ? 4 : 2;
  s.cr = (s.cr & 0x0fffffff) | ((c | (s.xer >>> 31)) << 28);
}

/** CR0 from the GPR just written. */
export function cr0g(s: St, r: number): void { cr0(s, s.g[2 * r]!, s.g[2 * r + 1]!); }

/** Write a CR field (0 = CR0, the most significant) with a 4-bit value. */
export function setCrField(s: St, bf: number, v: number): void {
  const sh = 28 - 4 * bf;
  s.cr = (s.cr & ~(0xf << sh)) | (v << sh);
}

/** XER[OV] and XER[OV32]; OV also sets SO (which only mtspr/mcrxrx clear). */
export function setOv(s: St, ov: number, ov32: number): void {
  let x = s.xer & ~(XER_OV | XER_OV32);
  if (ov) x |= XER_OV | XER_SO;
  if (ov32) x |= XER_OV32;
  s.xer = x >>> 0;
}

export function setCa(s: St, ca: number, ca32: number): void {
  s.xer = ((s.xer & ~(XER_CA | XER_CA32)) | (ca ? XER_CA : 0) | (ca32 ? XER_CA32 : 0)) >>> 0;
}

/** A GPR as a JS number (exact below 2^53; addresses). */
export function gnum(s: St, r: number): number { return s.g[2 * r + 1]! * TWO32 + s.g[2 * r]!; }

/** A GPR as a signed JS number, exact when |value| < 2^53. */
export function gsnum(s: St, r: number): number { return (s.g[2 * r + 1]! | 0) * TWO32 + s.g[2 * r]!; }

/** Write an integral JS number (any sign, |v| < 2^53) to a GPR as two's complement. */
export function setGnum(s: St, r: number, v: number): void {
  s.g[2 * r] = v;
  s.g[2 * r + 1] = Math.floor(v / TWO32);
}

export function gbig(s: St, r: number): bigint {
  return (BigInt(s.g[2 * r + 1]!) << 32n) | BigInt(s.g[2 * r]!);
}
export function setGbig(s: St, r: number, v: bigint): void {
  s.g[2 * r] = Number(v & 0xffffffffn);
  s.g[2 * r + 1] = Number((v >> 32n) & 0xffffffffn);
}

/** High 32 bits of the unsigned 64-bit product of two 32-bit values. */
export function mulhu32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/** High 32 bits of the signed 64-bit product of two 32-bit values. */
export function mulhs32(a: number, b: number): number {
  let h = mulhu32(a >>> 0, b >>> 0);
  if ((a | 0) < 0) h -= b >>> 0;
  if ((b | 0) < 0) h -= a >>> 0;
  return h >>> 0;
}

/**
 * Unsigned 128-bit product of (al,ah) x (bl,bh) into s.t32[0..3] (least significant first).
 */
export function mul128u(s: St, al: number, ah: number, bl: number, bh: number): void {
  const t = s.t32;
  const p00l = Math.imul(al, bl) >>> 0, p00h = mulhu32(al, bl);
  const p01l = Math.imul(al, bh) >>> 0, p01h = mulhu32(al, bh);
  const p10l = Math.imul(ah, bl) >>> 0, p10h = mulhu32(ah, bl);
  const p11l = Math.imul(ah, bh) >>> 0, p11h = mulhu32(ah, bh);
  const r1 = p00h + p01l + p10l;
  const c1 = Math.floor(r1 / TWO32);
  const r2 = p01h + p10h + p11l + c1;
  const c2 = Math.floor(r2 / TWO32);
  t[0] = p00l; t[1] = r1; t[2] = r2; t[3] = p11h + c2;
}

/** Signed 128-bit product into s.t32[0..3]. */
export function mul128s(s: St, al: number, ah: number, bl: number, bh: number): void {
  mul128u(s, al, ah, bl, bh);
  const t = s.t32;
  // Subtract b << 64 when a < 0 and a << 64 when b < 0 (two's complement correction).
  if ((ah | 0) < 0) { const lo = t[2]! - bl; t[2] = lo; t[3] = t[3]! - bh - (lo < 0 ? 1 : 0); }
  if ((bh | 0) < 0) { const lo = t[2]! - al; t[2] = lo; t[3] = t[3]! - ah - (lo < 0 ? 1 : 0); }
}

/** 64-bit mask with ones from ISA bit mb to me (wrapping when mb > me), as [low, high]. */
export function mask64(mb: number, me: number): [number, number] {
  let m = 0n;
  const one = (i: number) => { m |= 1n << BigInt(63 - i); };
  if (mb <= me) for (let i = mb; i <= me; i++) one(i);
  else { for (let i = mb; i < 64; i++) one(i); for (let i = 0; i <= me; i++) one(i); }
  return [Number(m & 0xffffffffn), Number(m >> 32n)];
}

/** Rotate (lo,hi) left by n (0..63) into s.t32[0] (low) and s.t32[1] (high). */
export function rotl64(s: St, lo: number, hi: number, n: number): void {
  if (n & 32) { const x = lo; lo = hi; hi = x; }
  n &= 31;
  if (n === 0) { s.t32[0] = lo; s.t32[1] = hi; return; }
  s.t32[0] = (lo << n) | (hi >>> (32 - n));
  s.t32[1] = (hi << n) | (lo >>> (32 - n));
}

export function rotl32(x: number, n: number): number { return ((x << n) | (x >>> (32 - n))) >>> 0; }

export function popcnt32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

export function ctz32(x: number): number { return x === 0 ? 32 : 31 - Math.clz32(x & -x); }

/** Signed comparison of two 64-bit values: 8 (lt), 4 (gt) or 2 (eq). */
export function cmp64s(al: number, ah: number, bl: number, bh: number): number {
  if (ah !== bh) return (ah | 0) < (bh | 0) ? 8 : 4;
  return al === bl ? 2 : al < bl ? 8 : 4;
}
export function cmp64u(al: number, ah: number, bl: number, bh: number): number {
  if (ah !== bh) return ah < bh ? 8 : 4;
  return al === bl ? 2 : al < bl ? 8 : 4;
}
