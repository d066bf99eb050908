// MMIO for SVMs (PEF.md section 7): an SVM's kernel that loads or stores at a guest address
// outside every memory slot is talking to a device register. The ultravisor decodes the
// faulting instruction itself (with the ISA table's decoder), and asks the hypervisor for
// exactly that access with H_LOGICAL_CI_LOAD/STORE: the size, the address and, for a store,
// the value; nothing else of the SVM. Only plain integer loads and stores of 1, 2, 4 and 8
// bytes are emulated (D/DS-form and X-form, zero- or sign-extending, byte-reversed); update
// forms, floating point, vector, load-and-reserve and anything else get a DSI in the SVM.

import { decode } from '../hw/cpu/isa/decode.js';
import { LOADS, STORES } from '../hw/cpu/isa/table/loadstore.js';
import type { InsnDef } from '../hw/cpu/isa/types.js';

export type MmioSize = 1 | 2 | 4 | 8;

/** One access the instruction makes: the hypervisor sees size, ea and (store) value only. */
export interface MmioAccess {
  mnem: string;
  store: boolean;
  size: MmioSize;
  /** RT of a load, RS of a store. */
  reg: number;
  /** The effective address, from the SVM's own registers. */
  ea: bigint;
  /** Byte-reversed form (lhbrx, stwbrx, ...). */
  reverse: boolean;
  /** Sign-extending load (lha, lwa, ...). */
  signed: boolean;
}

interface Kind { store: boolean; size: MmioSize; indexed: boolean; reverse?: boolean; signed?: boolean }

const KINDS: Record<string, Kind> = {
  lbz: { store: false, size: 1, indexed: false },
  lhz: { store: false, size: 2, indexed: false },
  lha: { store: false, size: 2, indexed: false, signed: true },
  lwz: { store: false, size: 4, indexed: false },
  lwa: { store: false, size: 4, indexed: false, signed: true },
  ld: { store: false, size: 8, indexed: false },
  lbzx: { store: false, size: 1, indexed: true },
  lhzx: { store: false, size: 2, indexed: true },
  lhax: { store: false, size: 2, indexed: true, signed: true },
  lwzx: { store: false, size: 4, indexed: true },
  lwax: { store: false, size: 4, indexed: true, signed: true },
  ldx: { store: false, size: 8, indexed: true },
  lhbrx: { store: false, size: 2, indexed: true, reverse: true },
  lwbrx: { store: false, size: 4, indexed: true, reverse: true },
  ldbrx: { store: false, size: 8, indexed: true, reverse: true },
  stb: { store: true, size: 1, indexed: false },
  sth: { store: true, size: 2, indexed: false },
  stw: { store: true, size: 4, indexed: false },
  std: { store: true, size: 8, indexed: false },
  stbx: { store: true, size: 1, indexed: true },
  sthx: { store: true, size: 2, indexed: true },
  stwx: { store: true, size: 4, indexed: true },
  stdx: { store: true, size: 8, indexed: true },
  sthbrx: { store: true, size: 2, indexed: true, reverse: true },
  stwbrx: { store: true, size: 4, indexed: true, reverse: true },
  stdbrx: { store: true, size: 8, indexed: true, reverse: true },
};

/** The emulated entries of the ISA table, by identity (the decoder hands out the same objects). */
const BY_DEF = new Map<InsnDef, Kind>();
for (const [mnem, k] of Object.entries(KINDS)) {
  const def = [...LOADS, ...STORES].find((d) => d.mnem === mnem);
  if (!def) throw new Error(`MMIO emulation: ${mnem} is not in the instruction table`);
  BY_DEF.set(def, k);
}

/**
 * Decode `word` (the instruction at the SVM's PC) as an emulable device access, computing its
 * effective address from the SVM's registers. Undefined for anything else.
 */
export function decodeMmio(word: number, gpr: (n: number) => bigint): MmioAccess | undefined {
  const d = decode(word);
  const k = BY_DEF.get(d.def);
  if (!k) return undefined;
  const base = d.a === 0 ? 0n : gpr(d.a);
  const ea = BigInt.asUintN(64, base + (k.indexed ? gpr(d.b) : BigInt(d.i)));
  return { mnem: d.def.mnem, store: k.store, size: k.size, reg: d.t, ea, reverse: k.reverse === true, signed: k.signed === true };
}

function byteReverse(v: bigint, size: number): bigint {
  let out = 0n;
  for (let i = 0; i < size; i++) { out = (out << 8n) | (v & 0xffn); v >>= 8n; }
  return out;
}

/**
 * The register value of a load, from what the hypervisor returned (the device register's
 * value): truncated to the access size, reversed for a byte-reversed form, then zero- or
 * sign-extended. The model's memory is little-endian, as the interpreter's loads are.
 */
export function loadedValue(a: MmioAccess, raw: bigint): bigint {
  const bits = BigInt(a.size * 8);
  let v = BigInt.asUintN(Number(bits), raw);
  if (a.reverse) v = byteReverse(v, a.size);
  return a.signed ? BigInt.asUintN(64, BigInt.asIntN(Number(bits), v)) : v;
}

/** The value a store gives the device: the low bytes of RS, reversed for a byte-reversed form. */
export function storedValue(a: MmioAccess, rs: bigint): bigint {
  const v = BigInt.asUintN(a.size * 8, rs);
  return a.reverse ? byteReverse(v, a.size) : v;
}
