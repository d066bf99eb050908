// Floating-point instructions (Book I chapter 4): loads and stores with the ISA's single-format
// conversions, arithmetic and fused multiply-add in double and single precision, rounding and
// conversions, compares, moves and FPSCR access. FPR n is doubleword 0 of VSR n (f64 index 2n).

import { TWO32, setCrField } from '../alu.js';
import {
  FPCC, FX, FEX, VX, OX, UX, ZX, XX, VX_ALL, cr1, summarize, stage, unstage, stageSingle, doubleBitsToSingle,
} from '../fpu.js';
import { kBin, kSqrt, kFma, kRsp, kEstimate, kRoundInt, kToInt, kFromInt, kCmp, type BinOp } from '../fpops.js';
import type { St } from '../state.js';
import type { Dec, Exec, InsnDef } from '../types.js';
import { eaD, eaX } from './loadstore.js';
import { def, type Extra } from './def.js';

const FP: Extra = { fac: 'fp' };

/**
 * Writing an FPR clears doubleword 1 of its VSR: ISA 3.1 defines it so, POWER8/POWER9 do it
 * (the earlier ISAs left it undefined), and QEMU does the same.
 */
const dw1 = (s: St, t: number) => { s.v32[4 * t + 2] = 0; s.v32[4 * t + 3] = 0; };
const done = (s: St, d: Dec, pc: number) => { unstage(s, 2 * d.t); dw1(s, d.t); if (d.rc) cr1(s); return pc + 4; };

const bin = (op: BinOp, single: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a); stage(s, 1, 2 * (op === 'mul' ? d.c : d.b));
  kBin(s, op, single, true);
  return done(s, d, pc);
};
const sqrt = (single: boolean): Exec => (s, d, pc) => { stage(s, 0, 2 * d.b); kSqrt(s, single, true); return done(s, d, pc); };
const fma = (neg: boolean, sub: boolean, single: boolean): Exec => (s, d, pc) => {
  stage(s, 0, 2 * d.a); stage(s, 1, 2 * d.b); stage(s, 2, 2 * d.c);
  kFma(s, neg, sub, single, true);
  return done(s, d, pc);
};
const est = (rsqrt: boolean, single: boolean): Exec => (s, d, pc) => { stage(s, 0, 2 * d.b); kEstimate(s, rsqrt, single, true); return done(s, d, pc); };
const rsp: Exec = (s, d, pc) => { stage(s, 0, 2 * d.b); kRsp(s, true); return done(s, d, pc); };
const rnd = (kind: 'n' | 'z' | 'p' | 'm'): Exec => (s, d, pc) => { stage(s, 0, 2 * d.b); kRoundInt(s, kind, true, false); return done(s, d, pc); };
/** fcti*: the 32-bit forms leave the integer sign-extended (signed) or zero-extended in doubleword 0. */
const toInt = (width: 32 | 64, signed: boolean, z: boolean): Exec => (s, d, pc) => { stage(s, 0, 2 * d.b); kToInt(s, width, signed, z, true, signed ? 'sign' : 'zero', true); return done(s, d, pc); };
const fromInt = (signed: boolean, single: boolean): Exec => (s, d, pc) => { stage(s, 0, 2 * d.b); kFromInt(s, signed, single, true); return done(s, d, pc); };

function signOp(f: (hiB: number, hiA: number) => number): Exec {
  return (s, d, pc) => {
    const v = s.v32, t = 4 * d.t, b = 4 * d.b;
    const hi = f(v[b + 1]!, v[4 * d.a + 1]!);
    v[t] = v[b]!; v[t + 1] = hi; dw1(s, d.t);
    if (d.rc) cr1(s);
    return pc + 4;
  };
}

const fsel: Exec = (s, d, pc) => {
  const a = s.f64[2 * d.a]!, v = s.v32, t = 4 * d.t;
  const src = 4 * (a >= 0 ? d.c : d.b); // a NaN selects FRB
  const lo = v[src]!, hi = v[src + 1]!;
  v[t] = lo; v[t + 1] = hi; dw1(s, d.t);
  if (d.rc) cr1(s);
  return pc + 4;
};

function fcmp(ordered: boolean): Exec {
  return (s, d, pc) => {
    stage(s, 0, 2 * d.a); stage(s, 1, 2 * d.b);
    const c = kCmp(s, ordered);
    setCrField(s, d.t, c);
    s.fpscr = ((s.fpscr & ~FPCC) | (c << 12)) >>> 0;
    return pc + 4;
  };
}

// ---- FPSCR ------------------------------------------------------------------------------------

const CONTROL = 0x000000ff; // VE OE UE ZE XE NI RN

function mffsFamily(variant: number): Exec {
  return (s, d, pc) => {
    const old = s.fpscr;
    let val = old;
    switch (variant) {
      case 1: s.fpscr = (old & ~0xf8) >>> 0; break; // mffsce: clear the enables
      case 20: case 21: val = old & CONTROL; break; // decimal rounding mode: not modelled
      case 22: val = old & CONTROL; s.fpscr = ((old & ~3) | (s.v32[4 * d.b]! & 3)) >>> 0; break;
      case 23: val = old & CONTROL; s.fpscr = ((old & ~3) | (d.i & 3)) >>> 0; break;
      case 24: val = old & (CONTROL | 0x0007f000); break; // mffsl: controls, FR, FI and FPRF
    }
    const t = 4 * d.t;
    s.v32[t] = val >>> 0; s.v32[t + 1] = 0; dw1(s, d.t);
    if (d.rc) cr1(s);
    return pc + 4;
  };
}

/** Write FPSCR bits under a mask (mtfsf, mtfsfi): FEX and VX stay summaries. */
function writeFpscr(s: St, value: number, mask: number): void {
  mask &= ~RESERVED;
  s.fpscr = summarize(((s.fpscr & ~mask) | (value & mask)) >>> 0);
}
/** FPSCR bit 52 is reserved: writes never set it. */
const RESERVED = 0x800;

const mtfsf: Exec = (s, d, pc) => {
  if (d.k || !d.j) {
    let mask = 0;
    if (d.k) mask = 0xffffffff;
    else for (let k = 0; k < 8; k++) if (d.i & (0x80 >> k)) mask |= 0xf0000000 >>> (4 * k);
    writeFpscr(s, s.v32[4 * d.b]!, mask >>> 0);
  }
  if (d.rc) cr1(s);
  return pc + 4;
};

const mtfsfi: Exec = (s, d, pc) => {
  if (!d.j) {
    const sh = 28 - 4 * d.t;
    writeFpscr(s, d.i << sh, (0xf << sh) >>> 0);
  }
  if (d.rc) cr1(s);
  return pc + 4;
};

const mtfsb = (one: boolean): Exec => (s, d, pc) => {
  const bit = (0x80000000 >>> d.t) >>> 0;
  // FEX and VX are summaries: mtfsb cannot change them directly; FX is not set implicitly.
  if (bit !== FEX && bit !== VX && bit !== RESERVED) s.fpscr = summarize((one ? s.fpscr | bit : s.fpscr & ~bit) >>> 0);
  if (d.rc) cr1(s);
  return pc + 4;
};

const mcrfs: Exec = (s, d, pc) => {
  const sh = 28 - 4 * d.a;
  setCrField(s, d.t, (s.fpscr >>> sh) & 0xf);
  const clear = ((0xf << sh) & (FX | OX | UX | ZX | XX | VX_ALL)) >>> 0;
  s.fpscr = summarize((s.fpscr & ~clear) >>> 0);
  return pc + 4;
};

// ---- loads and stores -----------------------------------------------------------------------

type FW = 's' | 'd' | 'iwa' | 'iwz';
function fload(s: St, t: number, ea: number, w: FW): void {
  const v = s.v32;
  switch (w) {
    case 's': stageSingle(s, 3, s.m.load32(ea)); unstage(s, 2 * t); break;
    case 'd': s.m.load64Into(ea, v, 4 * t); break;
    case 'iwa': { const x = s.m.load32(ea); v[4 * t] = x; v[4 * t + 1] = (x | 0) >> 31; break; }
    case 'iwz': v[4 * t] = s.m.load32(ea); v[4 * t + 1] = 0; break;
  }
  dw1(s, t);
}
function fstore(s: St, t: number, ea: number, w: FW): void {
  const v = s.v32;
  switch (w) {
    case 's': s.m.store32(ea, doubleBitsToSingle(v[4 * t + 1]!, v[4 * t]!)); return;
    case 'd': s.m.store64From(ea, v, 4 * t); return;
    case 'iwa': case 'iwz': s.m.store32(ea, v[4 * t]!); return;
  }
}
const setRa = (s: St, d: Dec, ea: number) => { s.g[d.a << 1] = ea; s.g[(d.a << 1) + 1] = Math.floor(ea / TWO32); };
const fl = (w: FW, x: boolean, u: boolean): Exec => (s, d, pc) => { const ea = x ? eaX(s, d) : eaD(s, d); fload(s, d.t, ea, w); if (u) setRa(s, d, ea); return pc + 4; };
const fs = (w: FW, x: boolean, u: boolean): Exec => (s, d, pc) => { const ea = x ? eaX(s, d) : eaD(s, d); fstore(s, d.t, ea, w); if (u) setRa(s, d, ea); return pc + 4; };

const LD: Extra = { fac: 'fp', gen: 'load' };
const ST: Extra = { fac: 'fp', gen: 'store' };
const LDU: Extra = { ...LD, rule: 'RA!=0' };
const STU: Extra = { ...ST, rule: 'RA!=0' };

export const FP_LOADSTORE: InsnDef[] = [
  def('lfs', 'D', 48, undefined, 'FRT,D(RA0)', fl('s', false, false), LD),
  def('lfsu', 'D', 49, undefined, 'FRT,D(RA)', fl('s', false, true), LDU),
  def('lfd', 'D', 50, undefined, 'FRT,D(RA0)', fl('d', false, false), LD),
  def('lfdu', 'D', 51, undefined, 'FRT,D(RA)', fl('d', false, true), LDU),
  def('stfs', 'D', 52, undefined, 'FRS,D(RA0)', fs('s', false, false), ST),
  def('stfsu', 'D', 53, undefined, 'FRS,D(RA)', fs('s', false, true), STU),
  def('stfd', 'D', 54, undefined, 'FRS,D(RA0)', fs('d', false, false), ST),
  def('stfdu', 'D', 55, undefined, 'FRS,D(RA)', fs('d', false, true), STU),
  def('lfsx', 'X', 31, 535, 'FRT,RA0,RB', fl('s', true, false), { ...LD, rule: 'Rc=0' }),
  def('lfsux', 'X', 31, 567, 'FRT,RA,RB', fl('s', true, true), { ...LD, rule: 'Rc=0,RA!=0' }),
  def('lfdx', 'X', 31, 599, 'FRT,RA0,RB', fl('d', true, false), { ...LD, rule: 'Rc=0' }),
  def('lfdux', 'X', 31, 631, 'FRT,RA,RB', fl('d', true, true), { ...LD, rule: 'Rc=0,RA!=0' }),
  def('lfiwax', 'X', 31, 855, 'FRT,RA0,RB', fl('iwa', true, false), { ...LD, rule: 'Rc=0' }),
  def('lfiwzx', 'X', 31, 887, 'FRT,RA0,RB', fl('iwz', true, false), { ...LD, rule: 'Rc=0' }),
  def('stfsx', 'X', 31, 663, 'FRS,RA0,RB', fs('s', true, false), { ...ST, rule: 'Rc=0' }),
  def('stfsux', 'X', 31, 695, 'FRS,RA,RB', fs('s', true, true), { ...ST, rule: 'Rc=0,RA!=0' }),
  def('stfdx', 'X', 31, 727, 'FRS,RA0,RB', fs('d', true, false), { ...ST, rule: 'Rc=0' }),
  def('stfdux', 'X', 31, 759, 'FRS,RA,RB', fs('d', true, true), { ...ST, rule: 'Rc=0,RA!=0' }),
  def('stfiwx', 'X', 31, 983, 'FRS,RA0,RB', fs('iwz', true, false), { ...ST, rule: 'Rc=0' }),
];

export const FP_ARITH: InsnDef[] = [
  def('fadd', 'A', 63, 21, 'FRT,FRA,FRB', bin('add', false), FP),
  def('fsub', 'A', 63, 20, 'FRT,FRA,FRB', bin('sub', false), FP),
  def('fmul', 'A', 63, 25, 'FRT,FRA,FRC', bin('mul', false), FP),
  def('fdiv', 'A', 63, 18, 'FRT,FRA,FRB', bin('div', false), FP),
  def('fsqrt', 'A', 63, 22, 'FRT,FRB', sqrt(false), FP),
  def('fadds', 'A', 59, 21, 'FRT,FRA,FRB', bin('add', true), FP),
  def('fsubs', 'A', 59, 20, 'FRT,FRA,FRB', bin('sub', true), FP),
  def('fmuls', 'A', 59, 25, 'FRT,FRA,FRC', bin('mul', true), FP),
  def('fdivs', 'A', 59, 18, 'FRT,FRA,FRB', bin('div', true), FP),
  def('fsqrts', 'A', 59, 22, 'FRT,FRB', sqrt(true), FP),
  def('fmadd', 'A', 63, 29, 'FRT,FRA,FRC,FRB', fma(false, false, false), FP),
  def('fmsub', 'A', 63, 28, 'FRT,FRA,FRC,FRB', fma(false, true, false), FP),
  def('fnmadd', 'A', 63, 31, 'FRT,FRA,FRC,FRB', fma(true, false, false), FP),
  def('fnmsub', 'A', 63, 30, 'FRT,FRA,FRC,FRB', fma(true, true, false), FP),
  def('fmadds', 'A', 59, 29, 'FRT,FRA,FRC,FRB', fma(false, false, true), FP),
  def('fmsubs', 'A', 59, 28, 'FRT,FRA,FRC,FRB', fma(false, true, true), FP),
  def('fnmadds', 'A', 59, 31, 'FRT,FRA,FRC,FRB', fma(true, false, true), FP),
  def('fnmsubs', 'A', 59, 30, 'FRT,FRA,FRC,FRB', fma(true, true, true), FP),
  def('fre', 'A', 63, 24, 'FRT,FRB', est(false, false), { ...FP, gen: 'none' }),
  def('fres', 'A', 59, 24, 'FRT,FRB', est(false, true), { ...FP, gen: 'none' }),
  def('frsqrte', 'A', 63, 26, 'FRT,FRB', est(true, false), { ...FP, gen: 'none' }),
  def('frsqrtes', 'A', 59, 26, 'FRT,FRB', est(true, true), { ...FP, gen: 'none' }),
  def('fsel', 'A', 63, 23, 'FRT,FRA,FRC,FRB', fsel, FP),
];

export const FP_MISC: InsnDef[] = [
  def('fmr', 'X', 63, 72, 'FRT,FRB', signOp((b) => b), FP),
  def('fneg', 'X', 63, 40, 'FRT,FRB', signOp((b) => b ^ 0x80000000), FP),
  def('fabs', 'X', 63, 264, 'FRT,FRB', signOp((b) => b & 0x7fffffff), FP),
  def('fnabs', 'X', 63, 136, 'FRT,FRB', signOp((b) => b | 0x80000000), FP),
  def('fcpsgn', 'X', 63, 8, 'FRT,FRA,FRB', signOp((b, a) => (b & 0x7fffffff) | (a & 0x80000000)), FP),
  def('fmrgew', 'X', 63, 966, 'FRT,FRA,FRB', (s, d, pc) => { const v = s.v32, hiA = v[4 * d.a + 1]!, hiB = v[4 * d.b + 1]!; v[4 * d.t + 1] = hiA; v[4 * d.t] = hiB; dw1(s, d.t); return pc + 4; }, { ...FP, rule: 'Rc=0' }),
  def('fmrgow', 'X', 63, 838, 'FRT,FRA,FRB', (s, d, pc) => { const v = s.v32, loA = v[4 * d.a]!, loB = v[4 * d.b]!; v[4 * d.t + 1] = loA; v[4 * d.t] = loB; dw1(s, d.t); return pc + 4; }, { ...FP, rule: 'Rc=0' }),
  def('frsp', 'X', 63, 12, 'FRT,FRB', rsp, FP),
  def('fctiw', 'X', 63, 14, 'FRT,FRB', toInt(32, true, false), FP),
  def('fctiwz', 'X', 63, 15, 'FRT,FRB', toInt(32, true, true), FP),
  def('fctiwu', 'X', 63, 142, 'FRT,FRB', toInt(32, false, false), FP),
  def('fctiwuz', 'X', 63, 143, 'FRT,FRB', toInt(32, false, true), FP),
  def('fctid', 'X', 63, 814, 'FRT,FRB', toInt(64, true, false), FP),
  def('fctidz', 'X', 63, 815, 'FRT,FRB', toInt(64, true, true), FP),
  def('fctidu', 'X', 63, 942, 'FRT,FRB', toInt(64, false, false), FP),
  def('fctiduz', 'X', 63, 943, 'FRT,FRB', toInt(64, false, true), FP),
  def('fcfid', 'X', 63, 846, 'FRT,FRB', fromInt(true, false), FP),
  def('fcfidu', 'X', 63, 974, 'FRT,FRB', fromInt(false, false), FP),
  def('fcfids', 'X', 59, 846, 'FRT,FRB', fromInt(true, true), FP),
  def('fcfidus', 'X', 59, 974, 'FRT,FRB', fromInt(false, true), FP),
  def('frin', 'X', 63, 392, 'FRT,FRB', rnd('n'), FP),
  def('friz', 'X', 63, 424, 'FRT,FRB', rnd('z'), FP),
  def('frip', 'X', 63, 456, 'FRT,FRB', rnd('p'), FP),
  def('frim', 'X', 63, 488, 'FRT,FRB', rnd('m'), FP),
  def('fcmpu', 'X', 63, 0, 'BF,FRA,FRB', fcmp(false), { ...FP, rule: 'Rc=0' }),
  def('fcmpo', 'X', 63, 32, 'BF,FRA,FRB', fcmp(true), { ...FP, rule: 'Rc=0' }),
  def('mffs', 'X', 63, 583, 'FRT', mffsFamily(0), { ...FP, fix: [[11, 15, 0]] }),
  def('mffsce', 'X', 63, 583, 'FRT', mffsFamily(1), { ...FP, fix: [[11, 15, 1]], isa: '3.0', rule: 'Rc=0' }),
  def('mffscdrn', 'X', 63, 583, 'FRT,FRB', mffsFamily(20), { ...FP, fix: [[11, 15, 20]], isa: '3.0', rule: 'Rc=0', gen: 'none' }),
  def('mffscdrni', 'X', 63, 583, 'FRT,DRM', mffsFamily(21), { ...FP, fix: [[11, 15, 21]], isa: '3.0', rule: 'Rc=0', gen: 'none' }),
  def('mffscrn', 'X', 63, 583, 'FRT,FRB', mffsFamily(22), { ...FP, fix: [[11, 15, 22]], isa: '3.0', rule: 'Rc=0' }),
  def('mffscrni', 'X', 63, 583, 'FRT,RM', mffsFamily(23), { ...FP, fix: [[11, 15, 23]], isa: '3.0', rule: 'Rc=0' }),
  def('mffsl', 'X', 63, 583, 'FRT', mffsFamily(24), { ...FP, fix: [[11, 15, 24]], isa: '3.0', rule: 'Rc=0' }),
  def('mtfsf', 'XFL', 63, 711, 'FLM,FRB,L6,W15', mtfsf, FP),
  def('mtfsfi', 'X', 63, 134, 'BFN,U16,W15', mtfsfi, FP),
  def('mtfsb0', 'X', 63, 70, 'BTN', mtfsb(false), FP),
  def('mtfsb1', 'X', 63, 38, 'BTN', mtfsb(true), FP),
  def('mcrfs', 'X', 63, 64, 'BF,BFA', mcrfs, { ...FP, rule: 'Rc=0' }),
];

export const FLOAT: InsnDef[] = [...FP_LOADSTORE, ...FP_ARITH, ...FP_MISC];
