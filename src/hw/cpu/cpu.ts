// One hardware thread: registers, MSR privilege (S, HV, PR), SPR access checks, the
// privilege-changing instructions with their real semantics, interrupt delivery with PEF's
// routing, and the checked memory path (partition-scoped translation, then the secure-memory
// rule). Privileged software runs here as flows (see software.ts).

import { MSR, MSR_TS_MASK, SRR1_PROGRAM_PRIV, SRR1_PROGRAM_ILLEGAL, SRR1_SC_LEV_SHIFT, modeOf, type Mode } from '../../abi/msr.js';
import { SPR_BY_NUM, SMFCTRL_E, SMFCTRL_D, type SprPriv } from '../../abi/spr.js';
import { VECTOR_BY_NUM } from '../../abi/interrupts.js';
import { Checkstop, HardwareInterrupt, MachineCheck } from '../faults.js';
import { FRAME_SIZE, forEachChunk, type AccessKind } from '../memory.js';
import type { MachineCore } from '../machine.js';
import { Regs } from './regs.js';
import type { EntryOp, Flow, Op } from './software.js';

/** SPR numbers used directly by the hardware. */
const S = {
  XER: 1, LR: 8, CTR: 9, DSISR: 18, DAR: 19, DEC: 22, SRR0: 26, SRR1: 27, PIDR: 48, HFSCR: 190,
  TB: 268, TBU: 269, TBL_W: 284, TBU_W: 285, PVR: 287, HDSISR: 306, HDAR: 307, HDEC: 310, HRMOR: 313,
  HSRR0: 314, HSRR1: 315, LPCR: 318, LPIDR: 319, PTCR: 464, URMOR: 505, USRR0: 506, USRR1: 507,
  SMFCTRL: 511, ASDR: 816, PIR: 1023,
} as const;

/** SRR1 bits that interrupts set themselves (ISA bits 33:36 and 42:47); the rest come from the MSR. */
const SRR1_INT_MASK = 0x783f0000n;
/** HFSCR[TM] (ISA bit 58): transactional memory allowed for the partition. */
export const HFSCR_TM = 1n << 5n;
/** The POWER9 DD2.3 processor version the model reports. */
export const PVR_POWER9 = 0x004e1203n;

export type Level = 'uv' | 'hv' | 'guest';

interface Suspended { flow: Flow; mode: Mode }

/** Where an interrupt lands, computed from the vector, the MSR and SMFCTRL[E] (PEF.md section 2). */
export interface Route { target: 'ultravisor' | 'hypervisor' | 'os'; save: 'SRR' | 'HSRR' | 'USRR' }

const PRIV_RANK: Record<SprPriv, number> = { user: 0, priv: 1, hv: 2, uv: 3, none: 4 };
const RANK_PRIV: readonly SprPriv[] = ['user', 'priv', 'hv', 'uv', 'none'];
const RESERVED_MODE = MSR.S | MSR.HV | MSR.PR;

// The SPR table flattened per number for the checks every mfspr/mtspr makes: the rank a read or
// write needs (-1: no such SPR) and the SMFCTRL bit that raises 'hv' to 'uv' (0 none, 1 E, 2 D).
const SPR_SPACE = 1024;
const NEED = [new Int8Array(SPR_SPACE).fill(-1), new Int8Array(SPR_SPACE).fill(-1)] as const;
const UV_BIT = [new Uint8Array(SPR_SPACE), new Uint8Array(SPR_SPACE)] as const;
for (const [num, d] of SPR_BY_NUM) {
  NEED[0][num] = PRIV_RANK[d.read]; NEED[1][num] = PRIV_RANK[d.write];
  const bit = d.uvWhen?.bit === 'E' ? 1 : 2;
  if (d.uvWhen?.read) UV_BIT[0][num] = bit;
  if (d.uvWhen?.write) UV_BIT[1][num] = bit;
}

/** The mode for MSR[S,HV,PR] as bits 4/2/1 (kept with the MSR: every step asks for it). */
const MODE_BY_BITS: readonly Mode[] = [0, 1, 2, 3, 4, 5, 6, 7].map((b) =>
  modeOf(((b & 4) !== 0 ? MSR.S : 0n) | ((b & 2) !== 0 ? MSR.HV : 0n) | ((b & 1) !== 0 ? MSR.PR : 0n)));

export class Cpu {
  readonly regs = new Regs();
  #msrValue = 0n;
  /** Cached privilege bits of the MSR, used on every access. */
  #s = false;
  #hv = false;
  #pr = false;
  #mode: Mode = 'privileged';
  readonly #spr = new BigUint64Array(1024);
  /** The flow running now (between two architected instructions). */
  #running: { flow: Flow; space: string; mode: Mode } | null = null;
  /** The flow after this thread's last errorOnly sc: resumed only if that call comes back. */
  #parked: { flow: Flow; space: string; mode: Mode; pc: number } | null = null;
  halted = false;
  stopReason = '';
  idle = false;
  /** Reservation for larx/stcx. */
  reserveAddr = -1;
  #tokenCounter = 0;

  // Translation cache: page number -> frame, per translation context.
  static readonly #TLB = 256;
  readonly #tlbTag = new Float64Array(Cpu.#TLB).fill(-1);
  readonly #tlbWrite = new Uint8Array(Cpu.#TLB);
  readonly #tlbDv: DataView[] = Array.from({ length: Cpu.#TLB }, () => new DataView(new ArrayBuffer(8)));
  readonly #tlbU32: Uint32Array[] = Array.from({ length: Cpu.#TLB }, () => new Uint32Array(2));

  readonly #core: MachineCore;
  readonly #mem: MachineCore['memory'];

  constructor(readonly id: number, core: MachineCore) {
    this.#core = core;
    this.#mem = core.memory;
    this.#mem.onDrop(() => this.#flushTlb());
    this.#spr[S.PIR] = BigInt(id);
    this.#spr[S.PVR] = PVR_POWER9;
  }

  // ---- MSR and modes ----------------------------------------------------------------

  get msr(): bigint { return this.#msrValue; }
  /** Set the MSR as the hardware does on interrupts and returns (no checks here). */
  #setMsr(v: bigint): void {
    this.#msrValue = BigInt.asUintN(64, v);
    this.#s = (v & MSR.S) !== 0n;
    this.#hv = (v & MSR.HV) !== 0n;
    this.#pr = (v & MSR.PR) !== 0n;
    this.#mode = MODE_BY_BITS[(this.#s ? 4 : 0) | (this.#hv ? 2 : 0) | (this.#pr ? 1 : 0)]!;
    this.#flushTlb();
  }
  /** Power-on state: the machine's reset MSR (ultravisor mode when the facility is enabled). */
  /** Hardware reset of this thread (only the machine holds the capability to do it). */
  resetTo(cap: MachineCore, msr: bigint, pc: number): void {
    this.#own(cap);
    this.#setMsr(msr); this.regs.pc = pc; this.halted = false; this.idle = false; this.#running = null; this.#parked = null; }

  get mode(): Mode { return this.#mode; }
  get secure(): boolean { return this.#s; }
  get hypervisorState(): boolean { return this.#hv; }
  get problemState(): boolean { return this.#pr; }
  get isUltravisor(): boolean { return this.#s && this.#hv && !this.#pr; }
  get lpid(): number { return Number(this.#spr[S.LPIDR]); }
  get smfctrl(): bigint { return this.#spr[S.SMFCTRL]!; }
  get smfEnabled(): boolean { return this.#smfE; }
  /** SMFCTRL[E] and [D], kept as booleans: every SPR check and interrupt route reads them. */
  #smfE = false;
  #smfD = false;

  /** Current privilege rank for SPR checks: 0 problem, 1 privileged, 2 hypervisor, 3 ultravisor. */
  private rank(): number {
    if (this.#pr) return 0;
    if (!this.#hv) return 1;
    return this.#s ? 3 : (this.smfEnabled ? 2 : 3);
  }

  // ---- SPRs ---------------------------------------------------------------------------

  /** The privilege an SPR access needs now (SMFCTRL can raise 'hv' to 'uv'). */
  sprNeed(num: number, write: boolean): SprPriv | undefined {
    const r = this.#needRank(num, write ? 1 : 0);
    return r < 0 ? undefined : RANK_PRIV[r];
  }

  private sprViolation(num: number, write: boolean, need: SprPriv | undefined): HardwareInterrupt {
    const what = `${write ? 'mtspr' : 'mfspr'} ${num}${need ? ` (needs ${need})` : ' (undefined SPR)'} in ${this.mode}`;
    if (this.#pr) return new HardwareInterrupt(0x700, `privileged SPR: ${what}`, need ? SRR1_PROGRAM_PRIV : SRR1_PROGRAM_ILLEGAL);
    return new HardwareInterrupt(0xE40, `hypervisor emulation assistance: ${what}`);
  }

  /** The rank an access needs now, from the flattened table (-1: no such SPR; 4: nobody). */
  #needRank(num: number, w: 0 | 1): number {
    if (!(num >= 0 && num < SPR_SPACE)) return -1;
    const need = NEED[w][num]!;
    const bit = UV_BIT[w][num]!;
    return need === 2 && bit !== 0 && (bit === 1 ? this.#smfE : this.#smfD) ? 3 : need;
  }

  /** mfspr with the architected privilege check; a violation throws the interrupt it raises. */
  mfspr(num: number): bigint {
    const need = this.#needRank(num, 0);
    const r = this.rank();
    if (need < 0 || need === 4) {
      if (r === 3) return 0n; // the ultravisor reading an undefined SPR: no-op
      throw this.sprViolation(num, false, this.sprNeed(num, false));
    }
    if (need > r) throw this.sprViolation(num, false, this.sprNeed(num, false));
    return this.#readSprRaw(num);
  }

  /** mtspr with the architected privilege check. Writes to read-only SPRs are no-ops above problem state. */
  mtspr(num: number, value: bigint): void {
    const need = this.#needRank(num, 1);
    const r = this.rank();
    if (need < 0) {
      if (r === 3) return;
      throw this.sprViolation(num, true, undefined);
    }
    if (need === 4) {
      if (this.#pr) throw this.sprViolation(num, true, 'none');
      return;
    }
    if (need > r) {
      this.#core.trace.emit({ kind: 'spr-refused', cpu: this.id, from: this.mode, spr: num, write: true });
      throw this.sprViolation(num, true, this.sprNeed(num, true));
    }
    this.#writeSprRaw(num, BigInt.asUintN(64, value));
  }

  #readSprRaw(num: number): bigint {
    switch (num) {
      case S.XER: return BigInt(this.regs.xer >>> 0);
      case S.LR: return this.regs.lr;
      case S.CTR: return this.regs.ctr;
      case S.TB: return this.#core.timebase();
      case S.TBU: return this.#core.timebase() >> 32n;
      case S.DEC: case S.HDEC: return BigInt.asUintN(64, this.#spr[num]!);
      default: return this.#spr[num]!;
    }
  }

  #writeSprRaw(num: number, v: bigint): void {
    switch (num) {
      case S.XER: this.regs.xer = Number(v & 0xffffffffn); return;
      case S.LR: this.regs.lr = v; return;
      case S.CTR: this.regs.ctr = v; return;
      case S.TBL_W: case S.TBU_W: return; // the model's time base is the machine's step count
      // The cached translations belong to one partition and one table: only a change drops them.
      case S.LPIDR: case S.PTCR: if (this.#spr[num] !== v) { this.#spr[num] = v; this.#flushTlb(); } return;
      case S.SMFCTRL: {
        // E cannot be turned off once set: the facility is a boot-time property of the machine.
        const keepE = this.#spr[S.SMFCTRL]! & SMFCTRL_E;
        this.#spr[num] = v | keepE;
        this.#smfE = ((v | keepE) & SMFCTRL_E) !== 0n;
        this.#smfD = ((v | keepE) & SMFCTRL_D) !== 0n;
        this.#core.trace.emit({ kind: 'spr', cpu: this.id, spr: 'SMFCTRL', value: '0x' + (v | keepE).toString(16) });
        this.#flushTlb();
        return;
      }
      default: this.#spr[num] = v;
    }
  }

  /** Hardware-internal SPR access (interrupt delivery, reset), no privilege check. */
  hwSpr(cap: MachineCore, num: number): bigint { this.#own(cap); return this.#readSprRaw(num); }
  hwSetSpr(cap: MachineCore, num: number, v: bigint): void { this.#own(cap); this.#writeSprRaw(num, BigInt.asUintN(64, v)); }

  /** Hardware-internal operations need the machine's own capability object: software has none. */
  #own(cap: MachineCore): void {
    if (cap !== this.#core) throw new Checkstop('hardware-internal operation without the machine capability');
  }

  // ---- Interrupts -----------------------------------------------------------------------

  /** PEF's routing: hypervisor-directed interrupts taken with MSR[S]=1 go to the ultravisor when SMFCTRL[E]=1. */
  static route(vector: number, msr: bigint, smfE: boolean, scLev = 0): Route {
    const secure = (msr & MSR.S) !== 0n;
    const hv = (msr & MSR.HV) !== 0n;
    const pr = (msr & MSR.PR) !== 0n;
    if (vector === 0xC00) {
      if (scLev === 2 && smfE) return { target: 'ultravisor', save: 'USRR' };
      if (scLev >= 1) return secure && smfE ? { target: 'ultravisor', save: 'USRR' } : { target: 'hypervisor', save: 'SRR' };
      return hv ? { target: 'hypervisor', save: 'SRR' } : { target: 'os', save: 'SRR' };
    }
    const def = VECTOR_BY_NUM.get(vector);
    const cls = def?.cls ?? 'hv';
    if (cls === 'os') {
      if (hv && !pr) return secure ? { target: 'ultravisor', save: 'USRR' } : { target: 'hypervisor', save: 'SRR' };
      if (hv && pr) return { target: 'hypervisor', save: 'SRR' };
      return { target: 'os', save: 'SRR' };
    }
    // 'hv' and 'machine' classes
    if (secure && smfE) return { target: 'ultravisor', save: 'USRR' };
    return { target: 'hypervisor', save: cls === 'machine' ? 'SRR' : 'HSRR' };
  }

  /**
   * Take an interrupt: save PC and MSR in the routed save/restore pair, compute the new MSR,
   * jump to the vector (relative to URMOR or HRMOR). An interrupt in ultravisor mode stops the machine.
   */
  deliver(vector: number, srr0: number, srr1Bits = 0n, scLev = 0): void {
    if (this.isUltravisor) {
      this.halted = true;
      throw new Checkstop(`interrupt 0x${vector.toString(16)} in ultravisor mode on cpu ${this.id}`);
    }
    const old = this.#msrValue;
    const from = this.#mode;
    const route = Cpu.route(vector, old, this.smfEnabled, scLev);
    const srr1 = (old & ~SRR1_INT_MASK) | srr1Bits;
    const pair = route.save === 'USRR' ? [S.USRR0, S.USRR1] : route.save === 'HSRR' ? [S.HSRR0, S.HSRR1] : [S.SRR0, S.SRR1];
    this.#spr[pair[0]!] = BigInt.asUintN(64, BigInt(srr0));
    this.#spr[pair[1]!] = BigInt.asUintN(64, srr1);
    // New MSR: 64-bit, little-endian, machine checks on; translation, EE, FP/VEC/VSX and TM state off.
    let msr = MSR.SF | MSR.LE | MSR.ME;
    let base = 0;
    if (route.target === 'ultravisor') { msr |= MSR.S | MSR.HV; base = Number(this.#spr[S.URMOR]!); }
    else if (route.target === 'hypervisor') { msr |= MSR.HV; base = Number(this.#spr[S.HRMOR]!); }
    else { msr |= old & MSR.S; }
    this.#setMsr(msr);
    this.regs.pc = base + vector;
    this.idle = false;
    const t = this.#core.trace;
    if (!t.active) { t.tally('interrupt'); return; }
    t.emit({
      kind: 'interrupt', cpu: this.id, from, to: this.mode, vector,
      regs: { save: route.save, srr1: '0x' + srr1.toString(16), ...(scLev ? { lev: scLev } : {}) },
    });
  }

  // ---- Privilege-changing instructions ------------------------------------------------

  /** sc LEV: the level is recorded in SRR1; the PC saved is the instruction after it. */
  sc(lev: 0 | 1 | 2, nextPc: number): void {
    const t = this.#core.trace;
    if (t.active) t.emit({ kind: 'sc', cpu: this.id, from: this.mode, lev, regs: { r3: '0x' + this.regs.getGpr(3).toString(16) } });
    else t.tally('sc');
    this.deliver(0xC00, nextPc, BigInt(lev) << SRR1_SC_LEV_SHIFT, lev);
  }

  #returnTo(kind: 'rfid' | 'hrfid' | 'urfid', pc: bigint, msr: bigint): void {
    const from = this.#mode;
    if ((msr & RESERVED_MODE) === RESERVED_MODE) msr &= ~MSR.PR;
    this.#setMsr(msr);
    this.regs.pc = Number(BigInt.asUintN(64, pc) & ~3n);
    const t = this.#core.trace;
    if (!t.active) { t.tally(kind); return; }
    t.emit({ kind, cpu: this.id, from, to: this.mode, regs: { pc: '0x' + this.regs.pc.toString(16), lpid: this.lpid } });
  }

  /** rfid: PC from SRR0, MSR from SRR1; it can clear HV and S but never set them. */
  rfid(): void {
    if (this.#pr) throw new HardwareInterrupt(0x700, 'rfid in problem state', SRR1_PROGRAM_PRIV);
    const srr1 = this.#spr[S.SRR1]!;
    let msr = srr1 & ~(MSR.HV | MSR.S);
    msr |= srr1 & this.#msrValue & (MSR.HV | MSR.S);
    this.#returnTo('rfid', this.#spr[S.SRR0]!, msr);
  }

  /** hrfid: hypervisor only; never sets MSR[S] (to enter an SVM the hypervisor asks the ultravisor). */
  hrfid(): void {
    if (this.#pr) throw new HardwareInterrupt(0x700, 'hrfid in problem state', SRR1_PROGRAM_PRIV);
    if (!this.#hv) throw new HardwareInterrupt(0xE40, 'hrfid outside hypervisor state');
    const hsrr1 = this.#spr[S.HSRR1]!;
    let msr = hsrr1 & ~MSR.S;
    msr |= hsrr1 & this.#msrValue & MSR.S;
    if ((hsrr1 & MSR.S) !== 0n && !this.#s) this.#core.trace.emit({ kind: 'hrfid-s-dropped', cpu: this.id, from: this.mode });
    this.#returnTo('hrfid', this.#spr[S.HSRR0]!, msr);
  }

  /** urfid: ultravisor only; PC and MSR from USRR0/USRR1, the only way MSR[S] is set. */
  urfid(): void {
    if (this.#pr) throw new HardwareInterrupt(0x700, 'urfid in problem state', SRR1_PROGRAM_PRIV);
    if (!this.isUltravisor || !this.smfEnabled) throw new HardwareInterrupt(0xE40, `urfid in ${this.mode}`);
    this.#returnTo('urfid', this.#spr[S.USRR0]!, this.#spr[S.USRR1]!);
  }

  /** mtmsrd: privileged; cannot change HV or S. L=1 moves only EE and RI. */
  mtmsrd(value: bigint, l: 0 | 1 = 0): void {
    if (this.#pr) throw new HardwareInterrupt(0x700, 'mtmsrd in problem state', SRR1_PROGRAM_PRIV);
    const keep = l === 1 ? ~(MSR.EE | MSR.RI) : (MSR.HV | MSR.S | (this.#hv ? 0n : MSR.ME));
    const msr = (this.#msrValue & keep) | (BigInt.asUintN(64, value) & ~keep);
    const from = this.mode;
    this.#setMsr(msr);
    this.#core.trace.emit({ kind: 'mtmsrd', cpu: this.id, from, to: this.mode });
  }

  /** tbegin.: transactional memory. An SVM's HFSCR[TM]=0 makes it a hypervisor facility interrupt. */
  tbegin(): void {
    if (!this.#hv && (this.#spr[S.HFSCR]! & HFSCR_TM) === 0n) throw new HardwareInterrupt(0xF80, 'transactional memory disabled by HFSCR');
    if ((this.#msrValue & MSR.TM) === 0n) throw new HardwareInterrupt(0xF60, 'transactional memory unavailable (MSR[TM]=0)');
    // The model implements no transactions: a transaction begins and fails at once (CR0 says so).
    this.regs.cr = (this.regs.cr & 0x0fffffff) | 0x20000000;
  }

  /** Whether a transaction is active or suspended (MSR[TS] != 0). */
  get tmActive(): boolean { return (this.#msrValue & MSR_TS_MASK) !== 0n; }

  /** darn: 64 bits from the hardware random number generator (the OS CSPRNG). */
  darn(): bigint { return this.#core.random64(); }

  // ---- Memory path --------------------------------------------------------------------

  #flushTlb(): void { this.#tlbTag.fill(-1); }
  /** tlbie/tlbiel: forget cached translations. */
  tlbie(): void { this.#flushTlb(); }

  /**
   * Translate an effective address to a real one for the current mode. Hypervisor and
   * ultravisor use real addresses; a guest's go through its partition-scoped table.
   */
  translate(ea: number, access: AccessKind): number {
    if (this.#hv) return ea;
    const gpa = ea;
    const r = this.#core.partitionWalk(this.#spr[S.PTCR]!, this.smfEnabled, this.lpid, gpa, this.#s, access === 'store');
    if (typeof r === 'number') return r;
    const isFetch = access === 'fetch';
    this.#spr[S.HDAR] = BigInt(gpa);
    this.#spr[S.ASDR] = BigInt(Math.floor(gpa / FRAME_SIZE)) << 16n;
    this.#spr[S.HDSISR] = access === 'store' ? 0x02000000n : 0x40000000n;
    throw new HardwareInterrupt(isFetch ? 0xE20 : 0xE00, `${isFetch ? 'HISI' : 'HDSI'}: ${r} at guest address 0x${gpa.toString(16)} (lpid ${this.lpid})`, 0n, gpa);
  }

  /** The frame holding `ea`, through the translation cache. Throws the architected fault. */
  #frameDv(ea: number, write: boolean, access: AccessKind): DataView {
    const page = Math.floor(ea / FRAME_SIZE);
    const i = page & (Cpu.#TLB - 1);
    if (this.#tlbTag[i] === page && (!write || this.#tlbWrite[i] === 1)) return this.#tlbDv[i]!;
    const sameWritable = this.#tlbTag[i] === page && this.#tlbWrite[i] === 1;
    const ra = this.translate(ea, access); // faults report the exact address
    const f = this.#mem.frame(ra - (ra % FRAME_SIZE), this.#s, access);
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    this.#tlbTag[i] = page;
    // A read fill only proves the page readable; it keeps a write permission proven for this page.
    this.#tlbWrite[i] = write || sameWritable ? 1 : 0;
    this.#tlbDv[i] = dv;
    this.#tlbU32[i] = new Uint32Array(f.buffer, f.byteOffset, f.byteLength >>> 2);
    return dv;
  }


  load8(ea: number): number { return this.#frameDv(ea, false, 'load').getUint8(ea % FRAME_SIZE); }
  load16(ea: number): number {
    const o = ea % FRAME_SIZE;
    if (o <= FRAME_SIZE - 2) return this.#frameDv(ea, false, 'load').getUint16(o, true);
    return this.load8(ea) | (this.load8(ea + 1) << 8);
  }
  load32(ea: number): number {
    const o = ea % FRAME_SIZE;
    if (o <= FRAME_SIZE - 4) return this.#frameDv(ea, false, 'load').getUint32(o, true);
    return (this.load16(ea) | (this.load16(ea + 2) << 16)) >>> 0;
  }
  /** Load 8 bytes (little-endian) into two 32-bit halves: dst[i] = low, dst[i+1] = high. */
  load64Into(ea: number, dst: Uint32Array, i: number): void {
    // Fast path: a cached translation for this page, the access inside one frame.
    if (ea < 0x80000000 && (ea & 7) === 0) {
      const page = ea >>> 16;
      const t = page & (Cpu.#TLB - 1);
      if (this.#tlbTag[t] === page) {
        // Aligned: read the frame's little-endian words directly (the host is little-endian too).
        const w = this.#tlbU32[t]!;
        const k = (ea & 0xffff) >>> 2;
        dst[i] = w[k]!;
        dst[i + 1] = w[k + 1]!;
        return;
      }
    }
    const o = ea % FRAME_SIZE;
    if (o <= FRAME_SIZE - 8) {
      const dv = this.#frameDv(ea, false, 'load');
      dst[i] = dv.getUint32(o, true);
      dst[i + 1] = dv.getUint32(o + 4, true);
      return;
    }
    dst[i] = this.load32(ea);
    dst[i + 1] = this.load32(ea + 4);
  }

  load64(ea: number): bigint {
    return (BigInt(this.load32(ea + 4)) << 32n) | BigInt(this.load32(ea));
  }
  store8(ea: number, v: number): void { this.#frameDv(ea, true, 'store').setUint8(ea % FRAME_SIZE, v); this.clearReservation(ea); }
  store16(ea: number, v: number): void {
    const o = ea % FRAME_SIZE;
    if (o <= FRAME_SIZE - 2) { this.#frameDv(ea, true, 'store').setUint16(o, v, true); this.clearReservation(ea); return; }
    this.store8(ea, v & 0xff); this.store8(ea + 1, (v >>> 8) & 0xff);
  }
  store32(ea: number, v: number): void {
    const o = ea % FRAME_SIZE;
    if (o <= FRAME_SIZE - 4) { this.#frameDv(ea, true, 'store').setUint32(o, v >>> 0, true); this.clearReservation(ea); return; }
    this.store16(ea, v & 0xffff); this.store16(ea + 2, (v >>> 16) & 0xffff);
  }
  store64From(ea: number, src: Uint32Array, i: number): void { this.store32(ea, src[i]!); this.store32(ea + 4, src[i + 1]!); }
  store64(ea: number, v: bigint): void { this.store32(ea, Number(v & 0xffffffffn)); this.store32(ea + 4, Number((v >> 32n) & 0xffffffffn)); }
  fetch32(ea: number): number {
    const o = ea % FRAME_SIZE;
    return this.#frameDv(ea, false, 'fetch').getUint32(o - (o % 4), true);
  }

  private clearReservation(ea: number): void {
    if (this.reserveAddr >= 0 && Math.floor(ea / 128) === Math.floor(this.reserveAddr / 128)) this.reserveAddr = -1;
  }

  /** Bulk copy out of memory at an effective address (checked page by page). */
  read(ea: number, len: number, access: 'load' | 'fetch' = 'load'): Uint8Array {
    const out = new Uint8Array(len);
    forEachChunk(ea, len, (a, off, n, done) => out.set(this.#bytes(a + off, false, access).subarray(off, off + n), done));
    return out;
  }
  write(ea: number, data: Uint8Array): void {
    forEachChunk(ea, data.length, (a, off, n, done) => this.#bytes(a + off, true, 'store').set(data.subarray(done, done + n), off));
    this.reserveAddr = -1;
  }
  /** memmove within this address space, frame by frame (each side checked), without a buffer. */
  copy(dst: number, src: number, len: number): void {
    let done = 0;
    while (done < len) {
      const s = src + done, d = dst + done;
      const n = Math.min(len - done, FRAME_SIZE - (s % FRAME_SIZE), FRAME_SIZE - (d % FRAME_SIZE));
      const from = this.#bytes(s, false, 'load');
      const to = this.#bytes(d, true, 'store');
      to.set(from.subarray(s % FRAME_SIZE, (s % FRAME_SIZE) + n), d % FRAME_SIZE);
      done += n;
    }
    this.reserveAddr = -1;
  }
  /** Copy out of memory into a caller's buffer (no allocation). */
  readInto(ea: number, out: Uint8Array): void {
    forEachChunk(ea, out.length, (a, off, n, done) => out.set(this.#bytes(a + off, false, 'load').subarray(off, off + n), done));
  }
  zero(ea: number, len: number): void {
    forEachChunk(ea, len, (a, off, n) => this.#bytes(a + off, true, 'store').fill(0, off, off + n));
  }
  #bytes(ea: number, write: boolean, access: AccessKind): Uint8Array {
    const dv = this.#frameDv(ea, write, access);
    return new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  }

  /** SCOM: reachable only from ultravisor mode (with the facility enabled) or before it is. */
  scomRead(chip: number, addr: number): bigint {
    this.checkScom(addr);
    return this.#core.scom.read(chip, addr);
  }
  scomWrite(chip: number, addr: number, v: bigint): void {
    this.checkScom(addr);
    this.#core.scom.write(chip, addr, v);
  }
  private checkScom(addr: number): void {
    if (this.smfEnabled ? !this.isUltravisor : (this.#pr || !this.#hv)) {
      this.#core.trace.emit({ kind: 'refused', cpu: this.id, access: 'scom', address: '0x' + addr.toString(16), why: `SCOM from ${this.mode}` });
      throw new MachineCheck(addr, `SCOM access from ${this.mode}`, 'load');
    }
  }

  // ---- Running software ---------------------------------------------------------------

  /** The software address space the current mode executes in. */
  space(): string {
    if (this.#hv) return this.#s ? 'uv' : 'hv';
    return `g${this.lpid}`;
  }

  private newToken(): number {
    // Distinct, 4-aligned code addresses for suspended flows (the "next instruction" of an sc).
    // 16 bytes apart, so a flow waiting after its `sc` (token + 4) never shares an address with
    // the next token handed out.
    this.#tokenCounter = (this.#tokenCounter + 1) % 0x400000;
    return 0x7f000000000 + this.id * 0x4000000 + this.#tokenCounter * 16;
  }

  /**
   * Run one step: resume or start the flow for the current PC and mode, advance it to its next
   * architected instruction and perform it. Returns false when the thread is halted or idle.
   */
  step(): boolean {
    if (this.halted || this.idle) return false;
    if (this.#running === null) {
      this.#running = this.#resolveFlow();
      if (this.#running === null) return true;
    }
    const cur = this.#running;
    let res: IteratorResult<Op, void>;
    try {
      res = cur.flow.next();
    } catch (e) {
      this.#running = null;
      if (e instanceof HardwareInterrupt) { this.deliver(e.vector, this.newToken(), e.srr1Bits); return true; }
      throw e;
    }
    if (res.done) {
      this.#running = null;
      this.halted = true;
      throw new Checkstop(`${cur.space} flow ended without a return instruction on cpu ${this.id}`);
    }
    this.#perform(res.value, cur);
    return true;
  }

  /**
   * Find what runs at the current PC: a suspended flow, privileged software, guest model code
   * named by its magic in memory, or real machine code for the interpreter. Returns null when
   * the step was spent otherwise (an interrupt delivered, or the interpreter ran a block).
   */
  #resolveFlow(): { flow: Flow; space: string; mode: Mode } | null {
    const space = this.space();
    const pc = this.regs.pc;
    const mode = this.mode;
    const parked = this.#parked;
    if (parked !== null && parked.pc === pc && parked.space === space && parked.mode === mode) {
      this.#parked = null;
      return parked;
    }
    const susp = this.#core.takeSuspended(space, pc, mode);
    if (susp) return { flow: susp.flow, space, mode };
    try {
      const sw = this.#core.softwareFor(this, space, pc);
      if (sw?.enterOnce) { this.#endEntry(sw.enterOnce(this, pc)); return null; }
      if (sw) return { flow: sw.enter(this, pc), space, mode };
      const interp = this.#core.interpreter;
      if (interp && !this.#hv) { interp.run(this); return null; }
      // No code at this address: the hardware raises an illegal-instruction interrupt there.
      throw new HardwareInterrupt(this.#hv ? 0xE40 : 0x700, `no code at 0x${pc.toString(16)} in ${space}`, SRR1_PROGRAM_ILLEGAL);
    } catch (e) {
      if (e instanceof HardwareInterrupt) { this.deliver(e.vector, pc, e.srr1Bits); return null; }
      throw e;
    }
  }

  /** The instruction a run-to-completion entry ends with; a fault in it is delivered by the caller. */
  #endEntry(op: EntryOp): void {
    if (op.op === 'stop') this.#halt(op.reason);
    else this[op.op]();
  }

  /** The `stop` op: this thread powers off. */
  #halt(reason: string): void {
    this.halted = true;
    this.stopReason = reason;
    this.#core.trace.emit({ kind: 'stop', cpu: this.id, from: this.mode, reason });
  }

  #suspend(cur: { flow: Flow; space: string; mode: Mode }, pc: number): void {
    this.#core.suspend(cur.space, pc, { flow: cur.flow, mode: cur.mode });
  }

  #perform(op: Op, cur: { flow: Flow; space: string; mode: Mode }): void {
    try {
      switch (op.op) {
        case 'sc': {
          const t = this.newToken();
          this.regs.pc = t;
          this.#running = null;
          // A parked flow that was not resumed by now never will be: its call succeeded.
          if (op.errorOnly) this.#parked = { flow: cur.flow, space: cur.space, mode: cur.mode, pc: t + 4 };
          else this.#suspend(cur, t + 4);
          this.sc(op.lev, t + 4);
          return;
        }
        case 'rfid': case 'hrfid': case 'urfid': {
          this.#running = null;
          this[op.op]();
          cur.flow.return();
          return;
        }
        case 'mtmsrd': this.mtmsrd(op.value, op.l ?? 0); return;
        case 'tbegin': this.tbegin(); return;
        case 'raise': {
          const t = this.newToken();
          this.#running = null;
          this.#suspend(cur, t);
          this.deliver(op.interrupt.vector, t, op.interrupt.srr1Bits);
          return;
        }
        case 'idle': {
          const t = this.newToken();
          this.regs.pc = t + 4;
          this.#running = null;
          this.#suspend(cur, t + 4);
          this.idle = true;
          this.#core.trace.emit({ kind: 'idle', cpu: this.id, from: this.mode });
          return;
        }
        case 'stop': {
          this.#running = null;
          cur.flow.return();
          this.#halt(op.reason);
          return;
        }
      }
    } catch (e) {
      // The instruction itself faulted (e.g. hrfid from a guest): deliver at the flow's address.
      if (e instanceof HardwareInterrupt) {
        const t = this.newToken();
        this.#running = null;
        this.#suspend(cur, t);
        this.deliver(e.vector, t, e.srr1Bits);
        return;
      }
      throw e;
    }
  }

  /** Wake an idle thread with an asynchronous interrupt (HDEC, external). */
  interrupt(vector: number): void {
    const wasIdle = this.idle;
    this.idle = false;
    if (this.#running) {
      // Between two instructions of a flow: it resumes when control comes back to this address.
      const t = this.newToken();
      this.#suspend(this.#running, t);
      this.#running = null;
      this.deliver(vector, t);
      return;
    }
    this.deliver(vector, this.regs.pc);
    if (wasIdle) this.#core.trace.emit({ kind: 'wake', cpu: this.id, vector });
  }

  /** Whether a flow is executing right now (between instructions). */
  get busy(): boolean { return this.#running !== null; }
}

export type { Suspended };
