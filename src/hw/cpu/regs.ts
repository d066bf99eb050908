// The architected register file of one hardware thread. GPRs, LR and CTR are kept as 32-bit
// halves in typed arrays so the interpreter never allocates; software written in TypeScript
// uses the bigint accessors. FPRs overlay VSRs 0-31 (doubleword 0) as the ISA says.

export const NGPR = 32;

export class Regs {
  /** GPR n: low half at [2n], high half at [2n+1]. */
  readonly gpr = new Uint32Array(2 * NGPR);
  /** LR at [0..1], CTR at [2..3] (low, high). */
  readonly lrctr = new Uint32Array(4);
  cr = 0;
  /** XER as its low 32 bits: SO (bit 31), OV (30), CA (29), OV32 (19), CA32 (18), byte count (0-6). */
  xer = 0;
  fpscr = 0;
  vscr = 0;
  /** 64 VSRs of 16 bytes: VSR i at byte 16i; FPR i is VSR i doubleword 0. */
  readonly vsrBuf = new ArrayBuffer(64 * 16);
  readonly vsr32 = new Uint32Array(this.vsrBuf);
  readonly vsrF64 = new Float64Array(this.vsrBuf);
  /** Next instruction address. Addresses above 2^53 are not executed by the model. */
  pc = 0;

  getGpr(n: number): bigint {
    return (BigInt(this.gpr[2 * n + 1]!) << 32n) | BigInt(this.gpr[2 * n]!);
  }
  setGpr(n: number, v: bigint): void {
    this.gpr[2 * n] = Number(v & 0xffffffffn);
    this.gpr[2 * n + 1] = Number((v >> 32n) & 0xffffffffn);
  }
  /** A GPR as a JS number (exact below 2^53): addresses and small values. */
  gprNum(n: number): number { return this.gpr[2 * n + 1]! * 0x100000000 + this.gpr[2 * n]!; }
  setGprNum(n: number, v: number): void {
    this.gpr[2 * n] = v >>> 0;
    this.gpr[2 * n + 1] = Math.floor(v / 0x100000000) >>> 0;
  }

  get lr(): bigint { return (BigInt(this.lrctr[1]!) << 32n) | BigInt(this.lrctr[0]!); }
  set lr(v: bigint) { this.lrctr[0] = Number(v & 0xffffffffn); this.lrctr[1] = Number((v >> 32n) & 0xffffffffn); }
  get ctr(): bigint { return (BigInt(this.lrctr[3]!) << 32n) | BigInt(this.lrctr[2]!); }
  set ctr(v: bigint) { this.lrctr[2] = Number(v & 0xffffffffn); this.lrctr[3] = Number((v >> 32n) & 0xffffffffn); }

  fpr(n: number): number { return this.vsrF64[2 * n]!; }
  setFpr(n: number, v: number): void { this.vsrF64[2 * n] = v; }

  /** A copy of every register, for save/restore by privileged software. */
  snapshot(): RegsSnapshot {
    return {
      gpr: this.gpr.slice(), lrctr: this.lrctr.slice(), cr: this.cr, xer: this.xer, fpscr: this.fpscr,
      vscr: this.vscr, vsr: new Uint32Array(this.vsr32), pc: this.pc,
    };
  }
  restore(s: RegsSnapshot): void {
    this.gpr.set(s.gpr); this.lrctr.set(s.lrctr); this.cr = s.cr; this.xer = s.xer;
    this.fpscr = s.fpscr; this.vscr = s.vscr; this.vsr32.set(s.vsr); this.pc = s.pc;
  }
  /** Clear FP/VMX/VSX state (the ultravisor does this before the hypervisor sees a frame). */
  clearVector(): void { this.vsr32.fill(0); this.fpscr = 0; this.vscr = 0; }
}

export interface RegsSnapshot {
  gpr: Uint32Array; lrctr: Uint32Array; cr: number; xer: number; fpscr: number; vscr: number;
  vsr: Uint32Array; pc: number;
}
