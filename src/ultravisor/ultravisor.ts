// The ultravisor: the only trusted software of the machine, running in ultravisor mode (S=1,
// HV=1). Firmware installs it; from then on every ultracall, every hypercall of an SVM and every
// hypervisor-class interrupt taken in an SVM enters here (PEF.md sections 2, 4, 7). It talks to
// the hypervisor and to SVMs only through registers, memory and the ABI: each entry is one flow
// that ends with `urfid`. Long work (UV_ESM, shares, bringing pages back) runs on contexts
// (context.ts) resumed by UV_RETURN.

import { MSR, MSR_TS_MASK, SRR1_PROGRAM_ILLEGAL, SRR1_SC_LEV_MASK, SRR1_SC_LEV_SHIFT } from '../abi/msr.js';
import { SPR } from '../abi/spr.js';
import { HC, HCALL_BY_NUM, UNKNOWN_HCALL } from '../abi/hcalls.js';
import { H, U, rc64, rcOf } from '../abi/retcodes.js';
import { UCALL_BY_NUM, UV, type UcallCaller } from '../abi/ultracalls.js';
import { GPF, PAGE_SIZE } from '../abi/pages.js';
import { VECTOR_BY_NUM } from '../abi/interrupts.js';
import { HardwareInterrupt } from '../hw/faults.js';
import type { Cpu } from '../hw/cpu/cpu.js';
import type { EntryOp, Flow, Software } from '../hw/cpu/software.js';
import type { Machine } from '../hw/machine.js';
import type { Trace } from '../hw/trace.js';
import { SecureFrameAllocator, TableBlockAllocator } from './alloc.js';
import type { ContextEnd, ContextFlow, HcallAnswer, UvContext } from './context.js';
import { UvMemory } from './memory.js';
import { bringIn, type PageEnv } from './pages.js';
import {
  buildFrame, denyTm, freshVcpu, redirectToVector, releaseVcpu, restoreVcpu, saveVcpu, toHypervisor, SC_LEV1, SRR1_INT_BITS, SVM_KERNEL_MSR,
  type SavedVcpu,
} from './reflect.js';
import { PartitionTable } from './tables.js';
import type { Svm } from './svm.js';
import { HANDLERS, type Outcome } from './ultracalls.js';
import type { UltravisorConfig, UltravisorInit } from './config.js';
import { RtasBounce, rtasStatusToSvm, type RtasArgs } from './rtas-bounce.js';
import { guestRa } from './guest-mem.js';
import { decodeMmio, loadedValue, storedValue } from './mmio.js';
import { fingerprintOfPem } from './esm-format.js';
import { DEFAULT_TPM_UNWRAP, type TpmUnwrap } from './tpm-relay.js';

const R = {
  USRR0: SPR.USRR0!, USRR1: SPR.USRR1!, URMOR: SPR.URMOR!, PTCR: SPR.PTCR!, LPIDR: SPR.LPIDR!, HDAR: SPR.HDAR!,
  HDSISR: SPR.HDSISR!, ASDR: SPR.ASDR!, HSRR0: SPR.HSRR0!, SRR0: SPR.SRR0!, SRR1: SPR.SRR1!,
} as const;

/** Who made an ultracall, from the MSR it was made with (USRR1) and LPIDR. */
export type CallerKind = 'hv' | 'vm-kernel' | 'vm-user' | 'svm-kernel' | 'svm-user' | 'host-user';

export function callerKind(msr: bigint, lpid: number): CallerKind {
  const s = (msr & MSR.S) !== 0n, hv = (msr & MSR.HV) !== 0n, pr = (msr & MSR.PR) !== 0n;
  if (hv) return pr ? 'host-user' : 'hv';
  if (s) return pr ? 'svm-user' : 'svm-kernel';
  return pr || lpid === 0 ? 'vm-user' : 'vm-kernel';
}

export function callerAllowed(need: UcallCaller, who: CallerKind): boolean {
  switch (need) {
    case 'hv': return who === 'hv';
    case 'vm-kernel': return who === 'vm-kernel';
    case 'svm-kernel': return who === 'svm-kernel';
    case 'svm': return who === 'svm-kernel' || who === 'svm-user';
  }
}

/** Vectors the hypervisor may inject into an SVM through HSRR0 at UV_RETURN. */
/** Scratch for a hypercall's outputs on their way from the hypervisor's frame into the SVM's. */
const RETURN_OUTS: bigint[] = new Array<bigint>(16).fill(0n);

export function injectable(v: bigint): boolean {
  if (v > 0x2000n) return false;
  const d = VECTOR_BY_NUM.get(Number(v));
  return d !== undefined && (d.cls === 'os' || d.vector === 0x100 || d.vector === 0x200 || d.vector === 0x500);
}

/** RTAS status words the ultravisor answers a start-cpu with itself. */
const RTAS_HARDWARE_ERROR = -1;
const RTAS_PARAMETER_ERROR = -3;

/** HDSISR: the access was a store. */
const HDSISR_STORE = 0x02000000n;

type Pending =
  /** `start`: the frame this hypercall (RTAS start-cpu) made for a new vCPU, dropped if the call fails. */
  | { kind: 'svm'; lpid: number; saved: SavedVcpu; outRegs: number; rtas?: RtasBounce; start?: { cookie: bigint; frame: SavedVcpu } }
  | { kind: 'ctx'; ctx: UvContext };

/** What an entry ends with: urfid to wherever USRR0/USRR1 now point, or stopping the thread. */
type EntryEnd = { stop?: string };
const URFID: EntryOp = { op: 'urfid' };

export class Ultravisor implements Software {
  readonly name: string;
  readonly variant: 'genuine' | 'rogue';
  readonly config: UltravisorConfig;
  readonly init: UltravisorInit;
  readonly mem = new UvMemory();
  #machine: Machine | undefined;
  frames!: SecureFrameAllocator;
  blocks!: TableBlockAllocator;
  ptab!: PartitionTable;
  readonly svms = new Map<number, Svm>();
  /** Why each partition's last UV_ESM failed (ESM_REASONS code), kept past UV_SVM_TERMINATE. */
  readonly esmReasons = new Map<number, number>();
  readonly #pending = new Map<bigint, Pending>();
  #clock = 0;
  readonly #urmor = new Map<number, number>();
  readonly pageEnv: PageEnv;
  /** SHA-256 of the machine key's public PEM: names our lockbox in every ESM blob. */
  readonly fingerprint: Uint8Array;
  /** What a rogue build exfiltrated (tests read it to show the TPM gave it nothing). */
  readonly leaked: Uint8Array[] = [];

  constructor(init: UltravisorInit) {
    this.init = init;
    const h = init.handoff;
    const k = init.machineKey ?? (h?.keyFingerprint ? { fingerprint: h.keyFingerprint } : h?.keyPem ? { pem: h.keyPem } : undefined);
    if (!k) throw new RangeError('the ultravisor needs the machine key (its public PEM or fingerprint), from the handoff or given');
    this.fingerprint = 'pem' in k
      ? fingerprintOfPem(typeof k.pem === 'string' ? new TextEncoder().encode(k.pem) : k.pem)
      : new Uint8Array(k.fingerprint);
    if (this.fingerprint.length !== 32) throw new RangeError('a machine key fingerprint has 32 bytes');
    this.variant = init.variant ?? 'genuine';
    this.config = init.config ?? {};
    this.name = this.variant === 'rogue' ? 'ultravisor (rogue)' : 'ultravisor';
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const uv = this;
    this.pageEnv = {
      mem: this.mem,
      get frames() { return uv.frames; },
      tlbie: () => this.#machine?.tlbieAll(),
      event: (e) => this.event(e),
      *secureSvms() { for (const s of uv.svms.values()) if (s.state === 'secure') yield s; },
      tick: () => ++this.#clock,
    };
  }

  /**
   * Firmware installs the ultravisor during boot: it takes the machine's secure memory and puts
   * the partition table there. Every thread then enters at 0x100 (reset) in ultravisor mode.
   */
  install(machine: Machine): void {
    machine.installUltravisor(this);
    this.#machine = machine;
    this.mem.setRanges(machine.normalRanges(), machine.secureRanges());
    this.frames = new SecureFrameAllocator(machine.secureRanges());
    this.blocks = new TableBlockAllocator(this.frames);
    this.ptab = PartitionTable.alloc(this.frames);
  }

  get tpmUnwrap(): TpmUnwrap { return this.init.tpmUnwrap ?? DEFAULT_TPM_UNWRAP; }

  /**
   * The rogue build's purpose: it keeps the SVM's key and puts it where the hypervisor can read
   * it (the TPM bounce page). It only ever has a key if the TPM gave it one.
   */
  rogueLeak(svm: Svm, key: Uint8Array): void {
    if (this.variant !== 'rogue') return;
    this.leaked.push(new Uint8Array(key));
    const g = svm.bounce.tpm;
    const hv = g === undefined ? undefined : svm.pages.get(g)?.hv;
    if (hv !== undefined) this.mem.write(hv, key);
    this.event({ kind: 'rogue-leak', lpid: svm.lpid });
  }

  get trace(): Trace | undefined { return this.#machine?.trace; }
  /** One event on the machine's trace, its kind prefixed 'uv-'. Never carries secret data. */
  event(e: Record<string, unknown>): void {
    const t = this.#machine?.trace;
    if (!t) return;
    e.kind = `uv-${e.kind as string}`;
    t.emit(e as { kind: string });
  }

  /** Pending reflections (for tests and the operator: how many vCPUs wait on the hypervisor). */
  get pendingCount(): number { return this.#pending.size; }
  /** Operator's view of the last UV_ESM failure of a partition: the ESM_REASONS code, 0 if none. */
  lastEsmReason(lpid: number): number { return this.esmReasons.get(lpid) ?? 0; }

  // ---- entry -----------------------------------------------------------------------------

  /** Every entry runs to completion: the CPU takes its last instruction from enterOnce. */
  *enter(cpu: Cpu, pc: number): Flow {
    yield this.enterOnce(cpu, pc);
  }

  enterOnce(cpu: Cpu, pc: number): EntryOp {
    const end = this.#handle(cpu, pc);
    return end.stop !== undefined ? { op: 'stop', reason: end.stop } : URFID;
  }

  #handle(cpu: Cpu, pc: number): EntryEnd {
    this.mem.bind(cpu);
    // PTCR and URMOR are the ultravisor's alone (nothing else can write them): set and read once per thread.
    let urmor = this.#urmor.get(cpu.id);
    if (urmor === undefined) {
      if (cpu.mfspr(R.PTCR) !== this.ptab.ptcr) cpu.mtspr(R.PTCR, this.ptab.ptcr);
      urmor = Number(cpu.mfspr(R.URMOR));
      this.#urmor.set(cpu.id, urmor);
    }
    const vector = pc - urmor;
    const usrr0 = cpu.mfspr(R.USRR0);
    const msr = cpu.mfspr(R.USRR1);
    const fromSvm = (msr & MSR.S) !== 0n && (msr & MSR.HV) === 0n;
    try {
      if (vector === 0xC00) {
        const lev = Number((msr & SRR1_SC_LEV_MASK) >> SRR1_SC_LEV_SHIFT);
        if (lev === 2) return this.#ultracall(cpu, msr);
        if (fromSvm) return this.#svmHcall(cpu, msr);
        return { stop: `system call level ${lev} from ${callerKind(msr, cpu.lpid)} routed to the ultravisor` };
      }
      if (vector === 0x100 && !fromSvm) return this.#boot(cpu);
      if (!fromSvm) return { stop: `interrupt 0x${vector.toString(16)} from outside any SVM` };
      const svm = this.svms.get(cpu.lpid);
      if (!svm || svm.state !== 'secure') return { stop: `interrupt 0x${vector.toString(16)} in secure mode for lpid ${cpu.lpid}, which is no running SVM` };
      switch (vector) {
        case 0xE00: case 0xE20: return this.#svmFault(cpu, svm, vector);
        case 0xF80: return this.#injectNow(cpu, 0x700, SRR1_PROGRAM_ILLEGAL); // transactional memory
        case 0xE40: return this.#injectNow(cpu, 0x700, SRR1_PROGRAM_ILLEGAL);
        case 0x200: case 0x100: return this.#injectNow(cpu, vector, 0n);
        default: return this.#reflectAsync(cpu, vector);
      }
    } catch (e) {
      // A fault inside the ultravisor's own work must not stop the machine: the caller gets an
      // error (or, for an SVM, a machine check), and the operator a trace event.
      if (!(e instanceof HardwareInterrupt) && !(e instanceof Error)) throw e;
      this.event({ kind: 'internal-error', vector, why: (e as Error).message });
      cpu.mtspr(R.USRR0, usrr0);
      cpu.mtspr(R.USRR1, msr & ~SRR1_INT_BITS);
      if (vector === 0xC00 && (msr & SRR1_SC_LEV_MASK) >> SRR1_SC_LEV_SHIFT === 2n) { cpu.regs.setGpr(3, rc64(U.U_PARAMETER)); return {}; }
      if (fromSvm) return this.#injectNow(cpu, 0x200, 0n);
      return { stop: `ultravisor internal error: ${(e as Error).message}` };
    }
  }

  /** Reset: point this thread at the partition table and hand it to the hypervisor. */
  #boot(cpu: Cpu): EntryEnd {
    cpu.mtspr(R.PTCR, this.ptab.ptcr);
    toHypervisor(cpu, this.config.hypervisorEntry ?? 0x100);
    this.event({ kind: 'boot', cpu: cpu.id });
    return {};
  }

  // ---- ultracalls ------------------------------------------------------------------------

  #ultracall(cpu: Cpu, msr: bigint): EntryEnd {
    const nr = cpu.regs.getGpr(3);
    const def = nr < 0x10000n ? UCALL_BY_NUM.get(Number(nr)) : undefined;
    const who = callerKind(msr, cpu.lpid);
    const ret = (rc: number, out: readonly bigint[] = []): EntryEnd => {
      cpu.regs.setGpr(3, rc64(rc));
      for (let i = 0; i < out.length; i++) cpu.regs.setGpr(4 + i, out[i]!);
      cpu.mtspr(R.USRR1, msr & ~SRR1_INT_BITS);
      this.event({ kind: 'ucall', name: def?.name ?? `0x${nr.toString(16)}`, caller: who, rc });
      return {};
    };
    if (!def) return ret(U.U_FUNCTION);
    if (!callerAllowed(def.caller, who)) return ret(U.U_PERMISSION);
    if (def.caller === 'svm' || def.caller === 'svm-kernel') {
      if (this.svms.get(cpu.lpid)?.state !== 'secure') return ret(U.U_PERMISSION);
    }
    if ((msr & MSR_TS_MASK) !== 0n) return ret(U.U_BAD_MODE);
    if (def.number === UV.UV_RETURN) return this.#uvReturn(cpu, msr);
    const args = Array.from({ length: def.args.length }, (_, i) => cpu.regs.getGpr(4 + i));
    const o: Outcome = HANDLERS[def.name]!(this, cpu, args, msr);
    if ('rc' in o) return ret(o.rc, o.out);
    if ('uvReturn' in o) return this.#uvReturn(cpu, msr);
    this.event({ kind: 'ucall', name: def.name, caller: who, context: o.context.name });
    const caller = saveVcpu(cpu);
    const ctx: UvContext = {
      name: o.context.name, lpid: cpu.lpid, flow: o.context.flow, caller,
      srr1: (o.context.srr1 ?? caller.msr) | MSR.S | SC_LEV1, hcalls: 0,
    };
    return this.#runContext(cpu, ctx, undefined);
  }

  /** Start or resume a context; it either asks the hypervisor for something or ends. */
  #runContext(cpu: Cpu, ctx: UvContext, answer: HcallAnswer | undefined): EntryEnd {
    let r: IteratorResult<{ nr: number; args: bigint[]; lpid?: number }, ContextEnd>;
    try {
      r = answer === undefined ? ctx.flow.next() : ctx.flow.next(answer);
    } catch (e) {
      this.event({ kind: 'internal-error', context: ctx.name, why: (e as Error).message });
      r = { done: true, value: ctx.name === 'UV_ESM' ? { kind: 'abort' } : { kind: 'return', rc: U.U_P2 } };
    }
    if (!r.done) {
      const req = r.value;
      const cookie = this.#newCookie(cpu);
      this.#pending.set(cookie, { kind: 'ctx', ctx });
      const lpid = req.lpid ?? ctx.lpid;
      const srr1 = req.lpid !== undefined && req.lpid !== ctx.lpid ? SVM_KERNEL_MSR | SC_LEV1 : ctx.srr1;
      const def = HCALL_BY_NUM.get(req.nr);
      const inputs = [BigInt(req.nr), ...req.args].slice(0, def?.inRegs ?? UNKNOWN_HCALL.inRegs);
      buildFrame(cpu, inputs, cookie, srr1, lpid, ctx.hcalls++ === 0 ? ctx.caller : 'none');
      toHypervisor(cpu, 0xC00);
      this.event({ kind: 'hcall', name: def?.name ?? req.nr, lpid, context: ctx.name });
      return {};
    }
    return this.#finish(cpu, ctx, r.value);
  }

  #finish(cpu: Cpu, ctx: UvContext, end: ContextEnd): EntryEnd {
    const c = ctx.caller;
    switch (end.kind) {
      case 'return':
        restoreVcpu(cpu, c);
        cpu.regs.setGpr(3, rc64(end.rc));
        (end.out ?? []).forEach((v, i) => cpu.regs.setGpr(4 + i, v));
        return {};
      case 'retry':
        restoreVcpu(cpu, c);
        return {};
      case 'emulated':
        restoreVcpu(cpu, c);
        if (end.gpr !== undefined) cpu.regs.setGpr(end.gpr, end.value ?? 0n);
        cpu.mtspr(R.USRR0, c.pc + 4n);
        return {};
      case 'inject':
        restoreVcpu(cpu, c);
        redirectToVector(cpu, c, end.vector, end.srr1Bits, end.dar, end.dsisr);
        return {};
      case 'enter': {
        for (let i = 0; i < 32; i++) cpu.regs.setGpr(i, 0n);
        cpu.regs.clearVector();
        cpu.regs.cr = 0; cpu.regs.xer = 0; cpu.regs.lr = 0n; cpu.regs.ctr = 0n;
        cpu.regs.setGpr(3, end.r3); cpu.regs.setGpr(4, end.r4); cpu.regs.setGpr(5, end.r5);
        cpu.mtspr(R.SRR0, 0n); cpu.mtspr(R.SRR1, 0n);
        cpu.mtspr(R.LPIDR, BigInt(ctx.lpid));
        cpu.mtspr(R.USRR0, BigInt(end.pc));
        cpu.mtspr(R.USRR1, SVM_KERNEL_MSR);
        denyTm(cpu);
        this.#machine?.tlbieAll();
        return {};
      }
      case 'abort':
        // The VM's own state (it is a normal VM again), with H_SVM_INIT_ABORT in R3 and its PC
        // after the `sc 2` in SRR0: the hypervisor answers by returning H_PARAMETER there.
        restoreVcpu(cpu, c);
        cpu.regs.setGpr(3, BigInt(HC.H_SVM_INIT_ABORT));
        cpu.mtspr(R.SRR0, c.pc);
        cpu.mtspr(R.SRR1, (c.msr & ~MSR.S) | SC_LEV1);
        toHypervisor(cpu, 0xC00);
        return {};
    }
  }

  /** Start a context for an SVM vCPU interrupted by a fault (not an ultracall). */
  startContext(cpu: Cpu, name: string, flow: ContextFlow): EntryEnd {
    const caller = saveVcpu(cpu);
    return this.#runContext(cpu, { name, lpid: cpu.lpid, flow, caller, srr1: caller.msr | MSR.S | SC_LEV1, hcalls: 0 }, undefined);
  }

  #newCookie(cpu: Cpu): bigint {
    for (;;) {
      const c = cpu.darn() & ~3n;
      if (c > 0x10000n && !this.#pending.has(c)) return c;
    }
  }

  /** A cookie that fits an RTAS argument cell (32 bits): it stands for a start-cpu's start address. */
  #newCookie32(cpu: Cpu): bigint {
    for (;;) {
      const c = cpu.darn() & 0xfffffffcn;
      if (c > 0x10000n && !this.#pending.has(c)) return c;
    }
  }

  /** UV_RETURN: the hypervisor resumes what it was given, named by the cookie in R31. */
  #refuseReturn(cpu: Cpu, msr: bigint, rc: number, why: string): EntryEnd {
    this.event({ kind: 'return-refused', why });
    cpu.regs.setGpr(3, rc64(rc));
    cpu.mtspr(R.USRR1, msr & ~SRR1_INT_BITS);
    return {};
  }

  #uvReturn(cpu: Cpu, msr: bigint): EntryEnd {
    const cookie = cpu.regs.getGpr(31);
    const p = this.#pending.get(cookie);
    if (!p) return this.#refuseReturn(cpu, msr, U.U_PARAMETER, 'no vCPU waits for this cookie');
    this.#pending.delete(cookie);
    if (p.kind === 'ctx') {
      const out: bigint[] = [];
      for (let i = 0; i < 9; i++) out.push(cpu.regs.getGpr(4 + i));
      return this.#runContext(cpu, p.ctx, { rc: rcOf(cpu.regs.getGpr(0)), out });
    }
    const svm = this.svms.get(p.lpid);
    if (!svm || svm.state !== 'secure') return this.#refuseReturn(cpu, msr, U.U_STATE, 'the SVM is gone');
    const r0 = cpu.regs.getGpr(0);
    const r2 = cpu.regs.getGpr(2);
    const hsrr0 = cpu.mfspr(R.HSRR0);
    // The declared outputs (R4..) are taken before the SVM's registers come back over them.
    const nOut = Math.max(0, p.outRegs - 1);
    for (let i = 0; i < nOut; i++) RETURN_OUTS[i] = cpu.regs.getGpr(4 + i);
    restoreVcpu(cpu, p.saved);
    if (p.outRegs > 0) {
      cpu.regs.setGpr(3, r0);
      for (let i = 0; i < nOut; i++) { cpu.regs.setGpr(4 + i, RETURN_OUTS[i]!); RETURN_OUTS[i] = 0n; }
    }
    const status = p.rtas?.copyBack(this, svm);
    if (p.start && (rcOf(r0) !== H.H_SUCCESS || status !== 0)) this.#dropStart(p.start, p.lpid);
    if (hsrr0 !== cookie && injectable(hsrr0)) {
      redirectToVector(cpu, p.saved, Number(hsrr0), r2);
      this.event({ kind: 'inject', lpid: p.lpid, vector: Number(hsrr0) });
    }
    releaseVcpu(p.saved);
    return {};
  }

  // ---- from an SVM -----------------------------------------------------------------------

  /** `sc 1` from an SVM: H_RANDOM answered here, everything else reflected with only its inputs. */
  #svmHcall(cpu: Cpu, msr: bigint): EntryEnd {
    const svm = this.svms.get(cpu.lpid);
    if (!svm || svm.state !== 'secure') return { stop: `hypercall in secure mode for lpid ${cpu.lpid}, which is no running SVM` };
    if ((msr & MSR.PR) !== 0n) return this.#injectNow(cpu, 0xC00, SC_LEV1); // user space: the kernel's business
    const nr = cpu.regs.getGpr(3);
    if (nr === BigInt(HC.H_RANDOM)) {
      cpu.regs.setGpr(3, rc64(H.H_SUCCESS));
      cpu.regs.setGpr(4, cpu.darn());
      cpu.mtspr(R.USRR1, msr & ~SRR1_INT_BITS);
      return {};
    }
    const def = nr < 0x10000n ? HCALL_BY_NUM.get(Number(nr)) : undefined;
    if (def?.source === 'uv') {
      // Only the ultravisor speaks H_SVM_* for a VM.
      cpu.regs.setGpr(3, rc64(H.H_FUNCTION));
      cpu.mtspr(R.USRR1, msr & ~SRR1_INT_BITS);
      return {};
    }
    const inRegs = def?.inRegs ?? UNKNOWN_HCALL.inRegs;
    const outRegs = def?.outRegs ?? UNKNOWN_HCALL.outRegs;
    const saved = saveVcpu(cpu);
    const inputs = Array.from({ length: inRegs }, (_, i) => cpu.regs.getGpr(3 + i));
    let rtas: RtasBounce | undefined;
    let start: { cookie: bigint; frame: SavedVcpu } | undefined;
    if (def?.number === HC.H_RTAS) {
      const argsGpa = Number(inputs[1]);
      const a = svm.rtasStartCpu !== undefined ? RtasBounce.peek(this, svm, argsGpa) : undefined;
      if (a && a.token === svm.rtasStartCpu) {
        const r = this.#startCpu(cpu, svm, argsGpa, a);
        if (typeof r === 'number') {
          // Answered here: the hypervisor never hears of it.
          releaseVcpu(saved);
          rtasStatusToSvm(this, svm, argsGpa, a, r);
          cpu.regs.setGpr(3, rc64(H.H_SUCCESS));
          cpu.mtspr(R.USRR1, msr & ~SRR1_INT_BITS);
          return {};
        }
        ({ rtas, start } = r);
      } else {
        rtas = RtasBounce.prepare(this, svm, argsGpa);
      }
      if (rtas) inputs[1] = BigInt(rtas.bounceGpa);
    }
    const cookie = this.#newCookie(cpu);
    this.#pending.set(cookie, { kind: 'svm', lpid: svm.lpid, saved, outRegs, rtas, start });
    buildFrame(cpu, inputs, cookie, saved.msr | SC_LEV1, svm.lpid, saved);
    toHypervisor(cpu, 0xC00);
    this.event({ kind: 'reflect', lpid: svm.lpid, hcall: def?.name ?? 'unknown' });
    return {};
  }

  /**
   * RTAS start-cpu(cpu, start, r3) from an SVM: the new vCPU's frame is made here (zeroed
   * registers, R3 = r3, entered at `start` with the SVM kernel's MSR) and waits under a cookie,
   * which takes the start address's place in the arguments the hypervisor gets. It can only
   * start that vCPU with UV_RETURN and the cookie: never elsewhere, and it never learns where.
   * A status instead of a bounce: the call is answered without the hypervisor.
   */
  #startCpu(cpu: Cpu, svm: Svm, argsGpa: number, a: RtasArgs): { rtas: RtasBounce; start: { cookie: bigint; frame: SavedVcpu } } | number {
    const start = a.args[1] ?? 0;
    if (a.nargs !== 3 || a.nret < 1 || start % 4 !== 0 || !svm.inSlots(Math.floor(start / PAGE_SIZE))) {
      this.event({ kind: 'start-cpu', lpid: svm.lpid, result: 'refused' });
      return RTAS_PARAMETER_ERROR;
    }
    const cookie = this.#newCookie32(cpu);
    const rtas = RtasBounce.prepare(this, svm, argsGpa, { force: true, replace: { index: 1, value: Number(cookie) } });
    if (!rtas) {
      this.event({ kind: 'start-cpu', lpid: svm.lpid, result: 'no bounce page' });
      return RTAS_HARDWARE_ERROR;
    }
    const frame = freshVcpu(BigInt(start), BigInt(a.args[2]!), svm.lpid);
    this.#pending.set(cookie, { kind: 'svm', lpid: svm.lpid, saved: frame, outRegs: 0 });
    this.event({ kind: 'start-cpu', lpid: svm.lpid, result: 'pending' });
    return { rtas, start: { cookie, frame } };
  }

  /** The hypervisor failed a start-cpu: the new vCPU's frame goes (its cookie names nothing any more). */
  #dropStart(start: { cookie: bigint; frame: SavedVcpu }, lpid: number): void {
    const f = this.#pending.get(start.cookie);
    if (!f || f.kind !== 'svm' || f.saved !== start.frame) return; // started after all, or gone
    this.#pending.delete(start.cookie);
    releaseVcpu(f.saved);
    this.event({ kind: 'start-cpu', lpid, result: 'dropped' });
  }

  /** An asynchronous interrupt (HDEC, external, HMI...): the hypervisor gets nothing of the SVM. */
  #reflectAsync(cpu: Cpu, vector: number, pass?: { hdar: bigint; hdsisr: bigint; asdr: bigint }): EntryEnd {
    const saved = saveVcpu(cpu);
    const cookie = this.#newCookie(cpu);
    this.#pending.set(cookie, { kind: 'svm', lpid: saved.lpid, saved, outRegs: 0 });
    buildFrame(cpu, [], cookie, saved.msr, saved.lpid, saved);
    if (pass) {
      cpu.mtspr(R.HDAR, pass.hdar);
      cpu.mtspr(R.HDSISR, pass.hdsisr);
      cpu.mtspr(R.ASDR, pass.asdr);
    }
    toHypervisor(cpu, vector);
    this.event({ kind: 'reflect', lpid: saved.lpid, vector });
    return {};
  }

  /** Deliver an interrupt into the SVM's own kernel, from where it was. */
  #injectNow(cpu: Cpu, vector: number, srr1Bits: bigint, dar?: number, dsisr?: number): EntryEnd {
    const s = { pc: cpu.mfspr(R.USRR0), msr: cpu.mfspr(R.USRR1) & ~SRR1_INT_BITS } as SavedVcpu;
    redirectToVector(cpu, s, vector, srr1Bits, dar, dsisr);
    this.event({ kind: 'inject', lpid: cpu.lpid, vector });
    return {};
  }

  /** HDSI/HISI in an SVM: a page to bring back, a shared page to ask for again, or the SVM's own fault. */
  #svmFault(cpu: Cpu, svm: Svm, vector: number): EntryEnd {
    const hdar = cpu.mfspr(R.HDAR);
    const hdsisr = cpu.mfspr(R.HDSISR);
    const gpa = Number(hdar);
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const os = vector === 0xE00 ? 0x300 : 0x400;
    const dsi = () => this.#injectNow(cpu, os, 0n, gpa, Number(hdsisr));
    // Outside every slot: no memory there, a device register (a load or store is emulated).
    if (!svm.inSlots(gfn)) return vector === 0xE00 ? this.#emulateMmio(cpu, svm, hdar, hdsisr, dsi) : dsi();
    const e = svm.pages.get(gfn);
    const st = e?.state ?? GPF.SECURE;
    if (st === GPF.PAGEDOUT || (st === GPF.SECURE && e?.secure === undefined)) {
      const env = this.pageEnv;
      return this.startContext(cpu, 'page-fault', (function* (): ContextFlow {
        const ok = yield* bringIn(env, svm, gfn);
        return ok ? { kind: 'retry' } : { kind: 'inject', vector: 0x200, srr1Bits: 0n };
      })());
    }
    if (st === GPF.SHARED_INV) return this.#reflectAsync(cpu, vector, { hdar, hdsisr, asdr: cpu.mfspr(R.ASDR) });
    if (st === GPF.SECURE && e?.secure !== undefined) {
      svm.tables.map(this.mem, gfn, e.secure, true);
      return {};
    }
    if (st === GPF.SHARED && e?.hv !== undefined) {
      svm.tables.map(this.mem, gfn, e.hv, true);
      return {};
    }
    return dsi();
  }

  /**
   * A data access outside every slot (PEF.md section 7): decode the instruction at the SVM's PC
   * from its own secure memory and, if it is a plain integer load or store whose address is the
   * one the hardware reported, do it through H_LOGICAL_CI_LOAD/STORE. The hypervisor is told the
   * size, the address and a store's value; the rest of the frame is the usual scrubbed one.
   * Anything else (a flow's token PC, code in a shared page, FP/vector, update forms, user
   * space, a misaligned or mismatched address, a failed hypercall) is a DSI in the SVM.
   */
  #emulateMmio(cpu: Cpu, svm: Svm, hdar: bigint, hdsisr: bigint, dsi: () => EntryEnd): EntryEnd {
    const msr = cpu.mfspr(R.USRR1);
    // The kernel's drivers own the devices; the model has no process-scoped tables to say otherwise.
    if ((msr & MSR.PR) !== 0n) return dsi();
    const pc = cpu.mfspr(R.USRR0);
    if (pc % 4n !== 0n || pc >= BigInt(Number.MAX_SAFE_INTEGER)) return dsi();
    const pcGfn = Math.floor(Number(pc) / PAGE_SIZE);
    if (!svm.inSlots(pcGfn)) return dsi(); // a flow's token address: no instruction to decode
    const ra = guestRa(svm, Number(pc), false);
    if (ra === undefined) {
      // The code page went out (overcommit) since it was fetched: run the instruction again,
      // its fetch brings the page back. Code in a shared page is not trusted to decode.
      return svm.stateOf(pcGfn) === GPF.PAGEDOUT ? {} : dsi();
    }
    const b = this.mem.read(ra, 4);
    const word = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const a = decodeMmio(word, (n) => cpu.regs.getGpr(n));
    // The access must be the one the hardware reported: same address, same direction, aligned.
    if (!a || a.ea !== hdar || a.ea % BigInt(a.size) !== 0n || a.store !== ((hdsisr & HDSISR_STORE) !== 0n)) return dsi();
    const size = BigInt(a.size);
    const value = a.store ? storedValue(a, cpu.regs.getGpr(a.reg)) : 0n;
    const gpa = Number(hdar);
    this.event({ kind: 'mmio', lpid: svm.lpid, op: a.store ? 'store' : 'load', size: a.size });
    return this.startContext(cpu, 'mmio', (function* (): ContextFlow {
      const r = a.store
        ? yield { nr: HC.H_LOGICAL_CI_STORE, args: [size, a.ea, value] }
        : yield { nr: HC.H_LOGICAL_CI_LOAD, args: [size, a.ea] };
      if (r.rc !== H.H_SUCCESS) return { kind: 'inject', vector: 0x300, srr1Bits: 0n, dar: gpa, dsisr: Number(hdsisr) };
      return a.store ? { kind: 'emulated' } : { kind: 'emulated', gpr: a.reg, value: loadedValue(a, r.out[0] ?? 0n) };
    })());
  }

  // ---- SVM lifecycle (used by the ultracall handlers) ------------------------------------

  /** Forget every reflection still pending for a partition (it is being torn down). */
  dropPending(lpid: number): void {
    for (const [c, p] of this.#pending) {
      if ((p.kind === 'svm' ? p.lpid : p.ctx.lpid) === lpid) this.#pending.delete(c);
    }
  }
}

export { UV };
