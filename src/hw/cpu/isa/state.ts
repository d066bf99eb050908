// The interpreter's view of one hardware thread: the architected registers (sharing the typed
// arrays of Regs, so nothing is copied between the machine and the interpreter except a few
// scalars), and the two narrow interfaces it executes against: memory (which Cpu satisfies as
// it is) and the system (privileged instructions, sc, SPRs), which the machine and the
// user-mode Linux runner each implement.
//
// Vector register layout (VSR i at bytes 16i..16i+15 of Regs.vsrBuf): doubleword 0 (the
// architecturally leftmost, most significant half, which is also FPR i) is stored first as a
// host little-endian 64-bit value, doubleword 1 second. Element k of size e bytes (k counted
// from the left, as the ISA does) therefore sits at host index (VSR*16/e) + (k ^ (8/e - 1)):
// words at v32[4i + (k ^ 1)], halfwords at v16[8i + (k ^ 3)], bytes at v8[16i + (k ^ 7)],
// doublewords at v32[4i + 2k] (low) and v32[4i + 2k + 1] (high).

import type { Regs } from '../regs.js';

/** The memory path. Cpu implements it (checked: translation, secure memory); so does user memory. */
export interface Mem {
  load8(ea: number): number;
  load16(ea: number): number;
  load32(ea: number): number;
  /** Little-endian 8 bytes into dst[i] (low word) and dst[i+1] (high word). */
  load64Into(ea: number, dst: Uint32Array, i: number): void;
  store8(ea: number, v: number): void;
  store16(ea: number, v: number): void;
  store32(ea: number, v: number): void;
  store64From(ea: number, src: Uint32Array, i: number): void;
  fetch32(ea: number): number;
}

/**
 * Everything an instruction does beyond registers and memory. Methods that may move control
 * elsewhere (sc, rfid, mtmsrd) take the instruction's address and return the next PC, or -1
 * when control has left the interpreted code (the machine then holds the new PC and MSR).
 * Violations throw HardwareInterrupt, which the run loop delivers at the instruction.
 */
export interface Sys {
  sc(lev: number, pc: number): number;
  /** SPRs other than XER, LR and CTR (which the interpreter keeps itself). */
  mfspr(spr: number): bigint;
  mtspr(spr: number, v: bigint): void;
  mfmsr(): bigint;
  mtmsrd(v: bigint, l: 0 | 1, pc: number): number;
  rfi(kind: 'rfid' | 'hrfid' | 'urfid', pc: number): number;
  /** tbegin.: the machine checks HFSCR and MSR[TM]; other TM instructions follow the same rule. */
  tm(kind: string, pc: number): number;
  darn(): bigint;
  timebase(): bigint;
  /** larx: take a reservation; stcx.: whether it still holds (it is cleared either way). */
  reserve(ea: number): void;
  storeConditional(ea: number): boolean;
  /** icbi / stores to code: decoded copies of this address are stale. */
  codeChanged(ea: number): void;
}

export class St {
  /** GPR n: g[2n] low half, g[2n+1] high half. */
  readonly g: Uint32Array;
  /** LR (0,1) and CTR (2,3), low half first. */
  readonly lc: Uint32Array;
  cr = 0;
  xer = 0;
  fpscr = 0;
  vscr = 0;
  readonly v32: Uint32Array;
  readonly v16: Uint16Array;
  readonly v8: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  /** Scratch for bit casts and wide arithmetic (never escapes an instruction). */
  readonly t32 = new Uint32Array(16);
  readonly tf64 = new Float64Array(this.t32.buffer);
  readonly tf32 = new Float32Array(this.t32.buffer);
  readonly t8 = new Uint8Array(this.t32.buffer);
  readonly t16 = new Uint16Array(this.t32.buffer);
  /**
   * Floating-point staging: operands in slots 0..2 (first, second, third in the ISA's NaN
   * precedence), the result in slot 3, as doubles (fo) and their bits (fou: [2k] low, [2k+1] high).
   */
  readonly fo = new Float64Array(4);
  readonly fou = new Uint32Array(this.fo.buffer);
  /** Index, within its block, of the instruction that raised an interrupt (block engine). */
  fk = 0;
  /** Extra iterations a self-looping translated block made before returning (block engine). */
  loops = 0;
  /** Instructions retired (a double: exact for 2^53 instructions). */
  icount = 0;

  constructor(readonly regs: Regs, public m: Mem, public sys: Sys) {
    this.g = regs.gpr;
    this.lc = regs.lrctr;
    const buf = regs.vsrBuf;
    this.v32 = new Uint32Array(buf);
    this.v16 = new Uint16Array(buf);
    this.v8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    this.f32 = new Float32Array(buf);
    this.pull();
  }

  /** Take the scalar registers from Regs (before running). */
  pull(): void {
    const r = this.regs;
    this.cr = r.cr | 0; this.xer = r.xer >>> 0; this.fpscr = r.fpscr >>> 0; this.vscr = r.vscr >>> 0;
  }
  /** Give them back (after running, and before a system method reads or writes them). */
  push(): void {
    const r = this.regs;
    r.cr = this.cr >>> 0; r.xer = this.xer >>> 0; r.fpscr = this.fpscr >>> 0; r.vscr = this.vscr >>> 0;
  }
}
