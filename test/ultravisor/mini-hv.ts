// A minimal hypervisor for the ultravisor's tests: handlers at the hypervisor's vectors that
// follow docs/execution-model.md and PEF.md section 6 (slots at H_SVM_INIT_START, UV_PAGE_IN for
// H_SVM_PAGE_IN, every remaining page at H_SVM_INIT_DONE, page-out and UV_SVM_TERMINATE at
// H_SVM_INIT_ABORT, a TPM relay, UV_RETURN with the frame it was given). Every step a test may
// want to subvert goes through a hook, so the same code plays the honest hypervisor and the
// compromised one.

import { MSR, SRR1_SC_LEV_MASK } from '../../src/abi/msr.js';
import { SPR, REFLECT_MASKED_SPRS, sprNum } from '../../src/abi/spr.js';
import { HC } from '../../src/abi/hcalls.js';
import { H, U, rc64, rcOf } from '../../src/abi/retcodes.js';
import { UV } from '../../src/abi/ultracalls.js';
import { H_PAGE_IN_SHARED, PAGE_SIZE, TPM_COMM_EXECUTE, type UvmemState } from '../../src/abi/pages.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Flow, Op, Software } from '../../src/hw/cpu/software.js';
import type { Machine } from '../../src/hw/machine.js';
import { encodeDir, encodePate0, encodePte, entryBytes, gfnIndex } from '../../src/hw/mmu.js';
import { FrameAllocator } from '../../src/hw/testing.js';

const S = (n: string) => SPR[n]!;
export const GUEST_MSR = MSR.SF | MSR.LE | MSR.ME;
const INT_BITS = 0x783f0000n;

export interface VmSpec {
  lpid: number;
  /** Guest memory in bytes (64 KiB multiple), one slot from 0. */
  memSize: number;
  /** Where the VM starts (kbase); R3 = r3, R4 = entry at start, like kexec. */
  entry: number;
  r3?: bigint;
  load?: { gpa: number; bytes: Uint8Array }[];
}

export class HvVm {
  readonly frames: number[] = [];
  readonly uvmem: UvmemState[] = [];
  root = 0;
  state: 'normal' | 'transient' | 'secure' = 'normal';
  constructor(readonly spec: VmSpec) {}
  get lpid(): number { return this.spec.lpid; }
  frameOf(gpa: number): number { return this.frames[Math.floor(gpa / PAGE_SIZE)]!; }
  raOf(gpa: number): number { return this.frameOf(gpa) + (gpa % PAGE_SIZE); }
}

/** What the hypervisor saw when an SVM's interrupt or hypercall reached it. */
export interface SeenFrame {
  vector: number;
  gprs: bigint[];
  vsr: Uint32Array;
  fpscr: number;
  cr: number;
  sprs: Map<string, bigint>;
  srr0: bigint; srr1: bigint; hsrr0: bigint; hsrr1: bigint;
  lpid: number;
}

export interface HcallContext {
  cpu: Cpu;
  vm: HvVm;
  nr: number;
  args: bigint[];
  fromSvm: boolean;
}

export interface Hooks {
  /** Answer a guest hypercall, possibly making ultracalls (return undefined for the default). */
  hcall?: (c: HcallContext) => Generator<Op, { rc: number; out?: bigint[] } | undefined, void>;
  /** Runs in the host's problem state (entered with hrfid, HV=1 PR=1); the thread stops after it. */
  hostUser?: (cpu: Cpu) => Generator<Op, void, void>;
  /** Run in hypervisor mode at boot, before the VM is entered. */
  boot?: (cpu: Cpu) => Generator<Op, void, void>;
  /** Which hypervisor page to hand the ultravisor for a page-in (default: the VM's own frame). */
  pageInSource?: (vm: HvVm, gpa: number, flags: number) => number;
  /** After a UV_PAGE_OUT wrote ciphertext into the hypervisor's page. */
  afterPageOut?: (vm: HvVm, gpa: number, ra: number) => void;
  /** Just before UV_RETURN: may change the cookie, HSRR0 (inject), R2, R0 and outputs. */
  beforeReturn?: (cpu: Cpu, vm: HvVm, vector: number) => void;
  /** Refuse H_SVM_INIT_START (like a VM without the secure-guest capability). */
  refuseInitStart?: boolean;
  /** Pages INIT_DONE leaves out (a hypervisor that skips some). */
  skipAtInitDone?: (gpa: number) => boolean;
  /** After a refused UV_RETURN, try once more with the frame as it was given (no beforeReturn). */
  retryRefused?: boolean;
  /** An asynchronous interrupt from an SVM reached the hypervisor. */
  onAsync?: (cpu: Cpu, vm: HvVm, vector: number) => void;
}

export class MiniHv implements Software {
  readonly name = 'mini-hv';
  readonly vms = new Map<number, HvVm>();
  readonly log: string[] = [];
  readonly seen: SeenFrame[] = [];
  readonly ucalls: { nr: number; rc: number }[] = [];
  console = '';
  hooks: Hooks = {};
  /** The TPM the relay talks to (H_SVM_TPM_COMM). */
  tpm: ((cmd: Uint8Array) => Uint8Array) | undefined;
  /** The VM to enter on cpu 0 after boot. */
  bootVm: number | undefined;
  readonly tpmTraffic: { cmd: Uint8Array; rsp: Uint8Array }[] = [];
  /** SRR0/SRR1 of each H_SVM_INIT_ABORT (it must come in the VM's own non-secure context). */
  readonly aborts: { srr0: bigint; srr1: bigint }[] = [];
  readonly #frames: FrameAllocator;

  constructor(readonly m: Machine) {
    this.#frames = new FrameAllocator(m.normalRanges());
    m.installHypervisor(this);
  }

  allocFrame(): number { return this.#frames.alloc(); }

  /** Create a VM: normal frames, a partition-scoped table in normal memory, its images loaded. */
  addVm(spec: VmSpec): HvVm {
    const vm = new HvVm(spec);
    vm.root = this.allocFrame();
    const dirs = new Map<number, number>();
    for (let gpa = 0; gpa < spec.memSize; gpa += PAGE_SIZE) {
      const f = this.allocFrame();
      vm.frames.push(f);
      vm.uvmem.push('normal');
      const { l1, l2 } = gfnIndex(gpa);
      let d = dirs.get(l1);
      if (d === undefined) {
        d = this.allocFrame();
        dirs.set(l1, d);
        this.m.host.write(vm.root + l1 * 8, entryBytes(encodeDir(d)));
      }
      this.m.host.write(d + l2 * 8, entryBytes(encodePte(f)));
    }
    for (const l of spec.load ?? []) {
      for (let done = 0; done < l.bytes.length;) {
        const gpa = l.gpa + done;
        const n = Math.min(l.bytes.length - done, PAGE_SIZE - (gpa % PAGE_SIZE));
        this.m.host.write(vm.raOf(gpa), l.bytes.subarray(done, done + n));
        done += n;
      }
    }
    this.vms.set(spec.lpid, vm);
    return vm;
  }

  /** Read guest memory through the hypervisor's own view (normal frames only). */
  readGuest(vm: HvVm, gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const a = gpa + done;
      const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
      out.set(this.m.host.read(vm.raOf(a), n), done);
      done += n;
    }
    return out;
  }

  *enter(cpu: Cpu, pc: number): Flow {
    if (cpu.problemState) {
      if (this.hooks.hostUser) yield* this.hooks.hostUser(cpu);
      yield { op: 'stop', reason: 'host-user-done' };
      return;
    }
    const vector = pc - Number(cpu.mfspr(S('HRMOR')));
    if (vector === 0x100) { yield* this.#boot(cpu); return; }
    if (vector === 0xC00) { yield* this.#hcall(cpu); return; }
    yield* this.#async(cpu, vector);
  }

  /** An ultracall from the hypervisor: returns R3 as a status. */
  *ucall(cpu: Cpu, nr: number, ...args: (bigint | number)[]): Generator<Op, number, void> {
    cpu.regs.setGpr(3, BigInt(nr));
    args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt(a)));
    yield { op: 'sc', lev: 2 };
    const rc = rcOf(cpu.regs.getGpr(3));
    this.ucalls.push({ nr, rc });
    return rc;
  }

  *#boot(cpu: Cpu): Flow {
    if (cpu.id !== 0) { yield { op: 'stop', reason: 'secondary thread not used' }; return; }
    for (const vm of this.vms.values()) {
      const rc = yield* this.ucall(cpu, UV.UV_WRITE_PATE, vm.lpid, encodePate0(vm.root), 0n);
      this.log.push(`pate ${vm.lpid} ${rc}`);
    }
    if (this.hooks.boot) yield* this.hooks.boot(cpu);
    const vm = this.bootVm === undefined ? undefined : this.vms.get(this.bootVm);
    if (!vm) { yield { op: 'stop', reason: 'no VM to run' }; return; }
    this.enterVm(cpu, vm);
    yield { op: 'hrfid' };
  }

  /** Set up the thread to start a normal VM at its entry (the caller then does hrfid). */
  enterVm(cpu: Cpu, vm: HvVm): void {
    cpu.mtspr(S('LPIDR'), BigInt(vm.lpid));
    cpu.regs.setGpr(3, vm.spec.r3 ?? 0n);
    cpu.regs.setGpr(4, BigInt(vm.spec.entry));
    cpu.mtspr(S('HSRR0'), BigInt(vm.spec.entry));
    cpu.mtspr(S('HSRR1'), GUEST_MSR);
  }

  #record(cpu: Cpu, vector: number): void {
    const sprs = new Map<string, bigint>();
    for (const n of REFLECT_MASKED_SPRS) {
      try { sprs.set(n, cpu.mfspr(sprNum(n))); } catch { /* not readable by the hypervisor */ }
    }
    this.seen.push({
      vector, gprs: Array.from({ length: 32 }, (_, i) => cpu.regs.getGpr(i)), vsr: new Uint32Array(cpu.regs.vsr32),
      fpscr: cpu.regs.fpscr, cr: cpu.regs.cr, sprs,
      srr0: cpu.mfspr(S('SRR0')), srr1: cpu.mfspr(S('SRR1')), hsrr0: cpu.mfspr(S('HSRR0')), hsrr1: cpu.mfspr(S('HSRR1')), lpid: cpu.lpid,
    });
  }

  /** Answer an SVM (or the ultravisor on its behalf) with UV_RETURN and the frame it gave. */
  *#uvReturn(cpu: Cpu, vm: HvVm, cookie: bigint, rc: number, out: readonly bigint[], vector: number): Flow {
    cpu.regs.setGpr(0, rc64(rc));
    out.forEach((v, i) => cpu.regs.setGpr(4 + i, v));
    cpu.regs.setGpr(31, cookie);
    this.hooks.beforeReturn?.(cpu, vm, vector);
    const r = yield* this.ucall(cpu, UV.UV_RETURN);
    // Only a refused UV_RETURN comes back here.
    this.log.push(`uv-return refused ${r}`);
    if (this.hooks.retryRefused) {
      cpu.regs.setGpr(0, rc64(rc));
      out.forEach((v, i) => cpu.regs.setGpr(4 + i, v));
      cpu.regs.setGpr(31, cookie);
      cpu.mtspr(S('HSRR0'), cookie);
      const again = yield* this.ucall(cpu, UV.UV_RETURN);
      this.log.push(`uv-return refused again ${again}`);
    }
    yield { op: 'stop', reason: `UV_RETURN refused (${r})` };
  }

  *#hcall(cpu: Cpu): Flow {
    const srr0 = cpu.mfspr(S('SRR0'));
    const srr1 = cpu.mfspr(S('SRR1'));
    const vm = this.vms.get(cpu.lpid);
    if (!vm) { yield { op: 'stop', reason: `hypercall from unknown lpid ${cpu.lpid}` }; return; }
    const nr = Number(cpu.regs.getGpr(3));
    const args = Array.from({ length: 9 }, (_, i) => cpu.regs.getGpr(4 + i));
    const fromSvm = (srr1 & MSR.S) !== 0n;
    this.#record(cpu, 0xC00);
    if (fromSvm) {
      const cookie = cpu.regs.getGpr(31);
      const r = yield* this.#svmHcall(cpu, vm, nr, args);
      yield* this.#uvReturn(cpu, vm, cookie, r.rc, r.out ?? [], 0xC00);
      return;
    }
    let r: { rc: number; out?: bigint[] };
    const custom = this.hooks.hcall ? yield* this.hooks.hcall({ cpu, vm, nr, args, fromSvm }) : undefined;
    if (custom) {
      r = custom;
    } else if (nr === HC.H_SVM_INIT_ABORT) {
      this.aborts.push({ srr0, srr1 });
      // The transition failed: take every page back, forget the SVM, fail the VM's UV_ESM.
      for (let g = 0; g < vm.frames.length; g++) {
        if (vm.uvmem[g] !== 'secure') continue;
        const rc = yield* this.ucall(cpu, UV.UV_PAGE_OUT, vm.lpid, vm.frames[g]!, g * PAGE_SIZE, 0, 16);
        if (rc === 0) vm.uvmem[g] = 'normal';
      }
      const rc = yield* this.ucall(cpu, UV.UV_SVM_TERMINATE, vm.lpid);
      this.log.push(`init-abort terminate ${rc}`);
      vm.state = 'normal';
      for (let g = 0; g < vm.frames.length; g++) if (vm.uvmem[g] === 'shared') vm.uvmem[g] = 'normal';
      r = { rc: H.H_PARAMETER };
    } else {
      r = this.#plainHcall(vm, nr, args);
    }
    cpu.regs.setGpr(3, rc64(r.rc));
    (r.out ?? []).forEach((v, i) => cpu.regs.setGpr(4 + i, v));
    cpu.mtspr(S('HSRR0'), srr0);
    cpu.mtspr(S('HSRR1'), srr1 & ~(INT_BITS | SRR1_SC_LEV_MASK));
    yield { op: 'hrfid' };
  }

  /** Hypercalls any VM makes. */
  #plainHcall(vm: HvVm, nr: number, args: bigint[]): { rc: number; out?: bigint[] } {
    switch (nr) {
      case HC.H_PUT_TERM_CHAR: {
        const len = Number(args[1]! & 0xffn);
        const b = Buffer.alloc(16);
        b.writeBigUInt64BE(args[2]!, 0); b.writeBigUInt64BE(args[3]!, 8);
        this.console += b.subarray(0, Math.min(16, len)).toString('latin1');
        return { rc: H.H_SUCCESS };
      }
      case HC.H_RANDOM: return { rc: H.H_SUCCESS, out: [0x1234567890abcdefn] };
      case HC.H_CEDE: case HC.H_REGISTER_VPA: return { rc: H.H_SUCCESS };
      case HC.H_LOGICAL_CI_LOAD: return { rc: H.H_SUCCESS, out: [0xfeedn] };
      case HC.H_RTAS: {
        // rtas_args: token, nargs, nret, args..., rets... (big-endian); set every return cell to 0.
        const gpa = Number(args[0]!);
        const head = this.readGuest(vm, gpa, 12);
        const dv = new DataView(head.buffer);
        const token = dv.getUint32(0), nargs = dv.getUint32(4), nret = dv.getUint32(8);
        this.log.push(`rtas token ${token} nargs ${nargs} nret ${nret}`);
        const rets = new Uint8Array(4 * nret);
        for (let i = 0; i < nret; i++) new DataView(rets.buffer).setUint32(4 * i, 0x77000000 + i);
        this.m.host.write(vm.raOf(gpa + 12 + 4 * nargs), rets);
        return { rc: H.H_SUCCESS };
      }
      default: return { rc: H.H_FUNCTION };
    }
  }

  *#svmHcall(cpu: Cpu, vm: HvVm, nr: number, args: bigint[]): Generator<Op, { rc: number; out?: bigint[] }, void> {
    const custom = this.hooks.hcall ? yield* this.hooks.hcall({ cpu, vm, nr, args, fromSvm: true }) : undefined;
    if (custom) return custom;
    switch (nr) {
      case HC.H_SVM_INIT_START: {
        if (this.hooks.refuseInitStart) return { rc: H.H_AUTHORITY };
        vm.state = 'transient';
        const rc = yield* this.ucall(cpu, UV.UV_REGISTER_MEM_SLOT, vm.lpid, 0, vm.spec.memSize, 0, 0);
        return { rc: rc === 0 ? H.H_SUCCESS : H.H_PARAMETER };
      }
      case HC.H_SVM_PAGE_IN: {
        const gpa = Number(args[0]!), flags = Number(args[1]!);
        const g = Math.floor(gpa / PAGE_SIZE);
        const src = this.hooks.pageInSource?.(vm, gpa, flags) ?? vm.frames[g]!;
        const rc = yield* this.ucall(cpu, UV.UV_PAGE_IN, vm.lpid, src, gpa, flags, Number(args[2]!));
        if (rc === 0) vm.uvmem[g] = flags === H_PAGE_IN_SHARED ? 'shared' : 'secure';
        return { rc: rc === 0 ? H.H_SUCCESS : H.H_PARAMETER };
      }
      case HC.H_SVM_PAGE_OUT: {
        const gpa = Number(args[0]!);
        const g = Math.floor(gpa / PAGE_SIZE);
        const rc = yield* this.ucall(cpu, UV.UV_PAGE_OUT, vm.lpid, vm.frames[g]!, gpa, 0, Number(args[2]!));
        if (rc === 0) { vm.uvmem[g] = 'paged-out'; this.hooks.afterPageOut?.(vm, gpa, vm.frames[g]!); }
        return { rc: rc === 0 ? H.H_SUCCESS : H.H_PARAMETER };
      }
      case HC.H_SVM_INIT_DONE: {
        for (let g = 0; g < vm.frames.length; g++) {
          if (vm.uvmem[g] !== 'normal' || this.hooks.skipAtInitDone?.(g * PAGE_SIZE)) continue;
          const rc = yield* this.ucall(cpu, UV.UV_PAGE_IN, vm.lpid, vm.frames[g]!, g * PAGE_SIZE, 0, 16);
          if (rc !== 0) return { rc: H.H_PARAMETER };
          vm.uvmem[g] = 'secure';
        }
        vm.state = 'secure';
        return { rc: H.H_SUCCESS };
      }
      case HC.H_SVM_TPM_COMM: {
        const op = Number(args[0]!);
        if (op !== TPM_COMM_EXECUTE) return { rc: H.H_SUCCESS, out: [0n] };
        if (!this.tpm) return { rc: H.H_HARDWARE };
        const cmd = this.readGuest(vm, Number(args[1]!), Number(args[2]!));
        const rsp = this.tpm(cmd);
        this.tpmTraffic.push({ cmd, rsp });
        if (rsp.length > Number(args[4]!)) return { rc: H.H_P5 };
        this.m.host.write(vm.raOf(Number(args[3]!)), rsp);
        return { rc: H.H_SUCCESS, out: [BigInt(rsp.length)] };
      }
      default:
        return this.#plainHcall(vm, nr, args);
    }
  }

  *#async(cpu: Cpu, vector: number): Flow {
    const hsrr1 = cpu.mfspr(S('HSRR1'));
    const vm = this.vms.get(cpu.lpid);
    if (!vm) { yield { op: 'stop', reason: `interrupt 0x${vector.toString(16)} from unknown lpid ${cpu.lpid}` }; return; }
    if ((hsrr1 & MSR.S) === 0n) {
      this.log.push(`async 0x${vector.toString(16)} from normal VM`);
      yield { op: 'hrfid' };
      return;
    }
    this.#record(cpu, vector);
    const cookie = cpu.regs.getGpr(31);
    this.log.push(`async 0x${vector.toString(16)} from SVM`);
    this.hooks.onAsync?.(cpu, vm, vector);
    if (vector === 0xE00 || vector === 0xE20) {
      // An SVM touched a shared page whose mapping we dropped: map it again.
      const gpa = Number(cpu.mfspr(S('HDAR')));
      const g = Math.floor(gpa / PAGE_SIZE);
      const rc = yield* this.ucall(cpu, UV.UV_PAGE_IN, vm.lpid, vm.frames[g]!, g * PAGE_SIZE, H_PAGE_IN_SHARED, 16);
      this.log.push(`re-share ${g} ${rc}`);
    }
    yield* this.#uvReturn(cpu, vm, cookie, 0, [], vector);
  }
}

export { U };
