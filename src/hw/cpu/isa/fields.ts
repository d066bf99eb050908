// Instruction fields, named and numbered as in the Power ISA (bit 0 is the most significant bit
// of the 32-bit word). Each field knows where it lives in the word, how its value is formed
// (sign, scaling, split encodings) and which slot of a decoded instruction receives it. The
// decoder, the disassembler and the assembler all read this one catalogue.

/** The slots of a decoded instruction that operand fields fill (see Dec). */
export type Slot = 't' | 'a' | 'b' | 'c' | 'i' | 'j' | 'k';

/** How the disassembler prints a field. */
export type FieldKind = 'gpr' | 'gpr0' | 'fpr' | 'vr' | 'vsr' | 'cr' | 'crbit' | 'imm' | 'uimm' | 'disp' | 'target' | 'spr';

export interface FieldDef {
  /** Pieces of the value, most significant first: [from, to] bit ranges in ISA numbering. */
  parts: readonly (readonly [number, number])[];
  slot: Slot;
  kind: FieldKind;
  signed?: boolean;
  /** The value is the encoded field shifted left by this many bits (DS, DQ, BD, LI). */
  shift?: number;
  /** Added after decoding (VSX register numbers of VMX-form operands: 32). */
  add?: number;
}

const f = (parts: [number, number][], slot: Slot, kind: FieldKind, extra: Partial<FieldDef> = {}): FieldDef => ({ parts, slot, kind, ...extra });

export const FIELDS = {
  RT: f([[6, 10]], 't', 'gpr'),
  RS: f([[6, 10]], 't', 'gpr'),
  RA: f([[11, 15]], 'a', 'gpr'),
  /** RA where the value 0 means the number 0 rather than GPR 0 (base of an effective address). */
  RA0: f([[11, 15]], 'a', 'gpr0'),
  RB: f([[16, 20]], 'b', 'gpr'),
  RC: f([[21, 25]], 'c', 'gpr'),
  SI: f([[16, 31]], 'i', 'imm', { signed: true }),
  UI: f([[16, 31]], 'i', 'uimm'),
  D: f([[16, 31]], 'i', 'disp', { signed: true }),
  DS: f([[16, 29]], 'i', 'disp', { signed: true, shift: 2 }),
  DQ: f([[16, 27]], 'i', 'disp', { signed: true, shift: 4 }),
  BF: f([[6, 8]], 't', 'cr'),
  BFA: f([[11, 13]], 'a', 'cr'),
  L10: f([[10, 10]], 'j', 'uimm'),
  L15: f([[15, 15]], 'j', 'uimm'),
  L9: f([[9, 10]], 'j', 'uimm'),
  /** darn's L (14:15). */
  L14: f([[14, 15]], 'j', 'uimm'),
  L6: f([[6, 6]], 'k', 'uimm'),
  TO: f([[6, 10]], 't', 'uimm'),
  BO: f([[6, 10]], 't', 'uimm'),
  BI: f([[11, 15]], 'a', 'crbit'),
  BD: f([[16, 29]], 'i', 'target', { signed: true, shift: 2 }),
  LI: f([[6, 29]], 'i', 'target', { signed: true, shift: 2 }),
  BH: f([[19, 20]], 'j', 'uimm'),
  BC: f([[21, 25]], 'c', 'crbit'),
  /** DX-form (addpcis) displacement: d0 16:25, d1 11:15, d2 31. */
  DXD: f([[16, 25], [11, 15], [31, 31]], 'i', 'imm', { signed: true }),
  BT: f([[6, 10]], 't', 'crbit'),
  BA: f([[11, 15]], 'a', 'crbit'),
  BB: f([[16, 20]], 'b', 'crbit'),
  SH: f([[16, 20]], 'b', 'uimm'),
  MB: f([[21, 25]], 'j', 'uimm'),
  ME: f([[26, 30]], 'k', 'uimm'),
  /** MD/XS-form shift: sh[0:4] in 16:20, sh[5] in bit 30. */
  SH6: f([[30, 30], [16, 20]], 'b', 'uimm'),
  /** MD-form mask bound: mb[0:4] in 21:25, mb[5] in bit 26. */
  MB6: f([[26, 26], [21, 25]], 'j', 'uimm'),
  ME6: f([[26, 26], [21, 25]], 'j', 'uimm'),
  SPR: f([[16, 20], [11, 15]], 'i', 'spr'),
  TBR: f([[16, 20], [11, 15]], 'i', 'spr'),
  FXM: f([[12, 19]], 'i', 'uimm'),
  FLM: f([[7, 14]], 'i', 'uimm'),
  W15: f([[15, 15]], 'j', 'uimm'),
  U16: f([[16, 19]], 'i', 'uimm'),
  LEV: f([[20, 26]], 'i', 'uimm'),
  NB: f([[16, 20]], 'b', 'uimm'),
  TH: f([[6, 10]], 't', 'uimm'),
  FRT: f([[6, 10]], 't', 'fpr'),
  FRS: f([[6, 10]], 't', 'fpr'),
  FRA: f([[11, 15]], 'a', 'fpr'),
  FRB: f([[16, 20]], 'b', 'fpr'),
  FRC: f([[21, 25]], 'c', 'fpr'),
  BFB: f([[16, 18]], 'b', 'cr'),
  RMC: f([[21, 22]], 'j', 'uimm'),
  R15: f([[15, 15]], 'k', 'uimm'),
  DRM: f([[18, 20]], 'i', 'uimm'),
  RM: f([[19, 20]], 'i', 'uimm'),
  // VMX registers are VSRs 32..63 in the decoded slots, so VMX and VSX code index the same way.
  VRT: f([[6, 10]], 't', 'vr', { add: 32 }),
  VRS: f([[6, 10]], 't', 'vr', { add: 32 }),
  VRA: f([[11, 15]], 'a', 'vr', { add: 32 }),
  VRB: f([[16, 20]], 'b', 'vr', { add: 32 }),
  VRC: f([[21, 25]], 'c', 'vr', { add: 32 }),
  SHB: f([[22, 25]], 'j', 'uimm'),
  UIM5: f([[11, 15]], 'a', 'uimm'),
  UIM4V: f([[12, 15]], 'a', 'uimm'),
  UIM3V: f([[13, 15]], 'a', 'uimm'),
  UIM2V: f([[14, 15]], 'a', 'uimm'),
  SIM: f([[11, 15]], 'a', 'imm', { signed: true }),
  /** tabort[wd]ci.: SI in 16:20. */
  SI5: f([[16, 20]], 'b', 'imm', { signed: true }),
  /** A CR field or bit number printed as a plain number (mtfsfi, mtfsb0/1 name FPSCR fields and bits). */
  BFN: f([[6, 8]], 't', 'uimm'),
  BTN: f([[6, 10]], 't', 'uimm'),
  PS: f([[22, 22]], 'j', 'uimm'),
  SIX: f([[17, 20]], 'j', 'uimm'),
  ST: f([[16, 16]], 'a', 'uimm'),
  // VSX registers: a 5-bit field plus a high bit elsewhere in the word.
  XT: f([[31, 31], [6, 10]], 't', 'vsr'),
  XS: f([[31, 31], [6, 10]], 't', 'vsr'),
  XTQ: f([[28, 28], [6, 10]], 't', 'vsr'),
  XSQ: f([[28, 28], [6, 10]], 't', 'vsr'),
  XA: f([[29, 29], [11, 15]], 'a', 'vsr'),
  XB: f([[30, 30], [16, 20]], 'b', 'vsr'),
  XC: f([[28, 28], [21, 25]], 'c', 'vsr'),
  /** VRT of a DS-form VSX scalar load (lxsd): VSR 32+VRT, written as a VMX register. */
  VSRT: f([[6, 10]], 't', 'vr', { add: 32 }),
  DM: f([[22, 23]], 'j', 'uimm'),
  SHW: f([[22, 23]], 'j', 'uimm'),
  UIM2: f([[14, 15]], 'j', 'uimm'),
  UIM4: f([[12, 15]], 'j', 'uimm'),
  IMM8: f([[13, 20]], 'j', 'uimm'),
  DCMX: f([[9, 15]], 'j', 'uimm'),
  CY: f([[21, 22]], 'j', 'uimm'),
  EH: f([[31, 31]], 'j', 'uimm'),
  A6: f([[6, 6]], 'j', 'uimm'),
  R10: f([[10, 10]], 'j', 'uimm'),
  CT: f([[7, 10]], 't', 'uimm'),
} as const satisfies Record<string, FieldDef>;

export type FieldName = keyof typeof FIELDS;

/** Extract bits [from, to] (ISA numbering) of a word as an unsigned number. */
export function bits(w: number, from: number, to: number): number {
  const n = to - from + 1;
  return n === 32 ? w >>> 0 : (w >>> (31 - to)) & ((1 << n) - 1);
}

/** Put `v` into bits [from, to] of a word. */
export function place(v: number, from: number, to: number): number {
  const n = to - from + 1;
  return ((v & ((n === 32 ? 0 : 1 << n) - 1)) << (31 - to)) >>> 0;
}

export function fieldWidth(fd: FieldDef): number {
  return fd.parts.reduce((a, [x, y]) => a + (y - x + 1), 0);
}

/** The field's value from an instruction word. */
export function readField(fd: FieldDef, w: number): number {
  let v = 0;
  for (const [x, y] of fd.parts) v = v * (1 << (y - x + 1)) + bits(w, x, y);
  const width = fieldWidth(fd);
  if (fd.signed && v >= 2 ** (width - 1)) v -= 2 ** width;
  if (fd.shift) v *= 1 << fd.shift;
  if (fd.add) v += fd.add;
  return v;
}

/** The word bits encoding `value` in this field (inverse of readField). */
export function writeField(fd: FieldDef, value: number): number {
  let v = value;
  if (fd.add) v -= fd.add;
  if (fd.shift) v = Math.trunc(v / (1 << fd.shift));
  const width = fieldWidth(fd);
  if (v < 0) v += 2 ** width;
  let out = 0;
  for (let p = fd.parts.length - 1; p >= 0; p--) {
    const [x, y] = fd.parts[p]!;
    const n = y - x + 1;
    out |= place(v % (1 << n), x, y);
    v = Math.floor(v / (1 << n));
  }
  return out >>> 0;
}

/** The range of values a field can take (after scaling), for assemblers and generators. */
export function fieldRange(fd: FieldDef): { min: number; max: number; step: number } {
  const width = fieldWidth(fd);
  const step = fd.shift ? 1 << fd.shift : 1;
  const add = fd.add ?? 0;
  if (fd.signed) return { min: -(2 ** (width - 1)) * step + add, max: (2 ** (width - 1) - 1) * step + add, step };
  return { min: add, max: (2 ** width - 1) * step + add, step };
}
