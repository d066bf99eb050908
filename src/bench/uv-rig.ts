// What `pef bench uv` runs on: a machine with this project's ultravisor, a lean hypervisor made
// of handlers (slots at H_SVM_INIT_START, UV_PAGE_IN for H_SVM_PAGE_IN, the rest at
// H_SVM_INIT_DONE, a TPM relay, UV_RETURN with the frame it was given), and a guest kernel that
// asks for secure mode and then runs the benchmark's loop. The same hypervisor serves the
// normal VM the SVM is compared with, so the difference measured is the ultravisor's.

import { MSR, SRR1_SC_LEV_MASK } from '../abi/msr.js';
import { SPR } from '../abi/spr.js';
import { HC } from '../abi/hcalls.js';
import { H, rc64, rcOf } from '../abi/retcodes.js';
import { UV } from '../abi/ultracalls.js';
import { H_PAGE_IN_SHARED, PAGE_SIZE, TPM_COMM_EXECUTE } from '../abi/pages.js';
import type { Cpu } from '../hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op, Software } from '../hw/cpu/software.js';
import type { Machine } from '../hw/machine.js';
import { encodeDir, encodePate0, encodePte, entryBytes, gfnIndex } from '../hw/mmu.js';
import { FrameAllocator } from '../hw/testing.js';

const S = (n: string): number => SPR[n]!;
const GUEST_MSR = MSR.SF | MSR.LE | MSR.ME;
const INT_BITS = 0x783f0000n | SRR1_SC_LEV_MASK;
export const BENCH_KERNEL_MAGIC = 'PEF-BENCH-UV-KERNEL';
/** Hypercall the guest makes to ask the bench hypervisor to run its side of a benchmark. */
export const HV_WORK = 0xF0F0;

export interface BenchVm {
  lpid: number;
  memSize: number;
  entry: number;
  fdt: number;
  frames: number[];
  root: number;
  inSecure: Uint8Array;
  shared: Uint8Array;
}

/** One `sc LEV` with R3 = nr, R4.. = args; R3 back as a signed status. */
export function* sc(cpu: Cpu, lev: 1 | 2, nr: number, ...args: (number | bigint)[]): Generator<Op, number, void> {
  cpu.regs.setGpr(3, BigInt(nr));
  for (let i = 0; i < args.length; i++) cpu.regs.setGpr(4 + i, BigInt.asUintN(64, BigInt(args[i]!)));
  yield { op: 'sc', lev };
  return rcOf(cpu.regs.getGpr(3));
}

export class BenchHv implements Software {
  readonly name = 'bench-hv';
  readonly vms = new Map<number, BenchVm>();
  tpm: ((cmd: Uint8Array) => Uint8Array) | undefined;
  /** The hypervisor's side of a benchmark, run when the guest makes HV_WORK. */
  work: ((cpu: Cpu, vm: BenchVm) => Generator<Op, void, void>) | undefined;
  boot: number | undefined;
  readonly #frames: FrameAllocator;

  constructor(readonly m: Machine) {
    this.#frames = new FrameAllocator(m.normalRanges());
    m.installHypervisor(this);
  }

  allocFrame(): number { return this.#frames.alloc(); }

  /**
   * A VM with its memory, images loaded. `prefault` backs every frame now, as a hypervisor that
   * preallocates guest RAM does (the model's memory is otherwise allocated on first touch).
   */
  addVm(lpid: number, memSize: number, entry: number, fdt: number, loads: { gpa: number; bytes: Uint8Array }[], prefault = false): BenchVm {
    const n = memSize / PAGE_SIZE;
    const vm: BenchVm = { lpid, memSize, entry, fdt, frames: [], root: this.allocFrame(), inSecure: new Uint8Array(n), shared: new Uint8Array(n) };
    const dirs = new Map<number, number>();
    for (let gpa = 0; gpa < memSize; gpa += PAGE_SIZE) {
      const f = this.allocFrame();
      vm.frames.push(f);
      if (prefault) this.m.host.fill(f, PAGE_SIZE, 0);
      const { l1, l2 } = gfnIndex(gpa);
      let d = dirs.get(l1);
      if (d === undefined) { d = this.allocFrame(); dirs.set(l1, d); this.m.host.write(vm.root + l1 * 8, entryBytes(encodeDir(d))); }
      this.m.host.write(d + l2 * 8, entryBytes(encodePte(f)));
    }
    for (const l of loads) {
      for (let done = 0; done < l.bytes.length;) {
        const gpa = l.gpa + done;
        const k = Math.min(l.bytes.length - done, PAGE_SIZE - (gpa % PAGE_SIZE));
        this.m.host.write(vm.frames[Math.floor(gpa / PAGE_SIZE)]! + (gpa % PAGE_SIZE), l.bytes.subarray(done, done + k));
        done += k;
      }
    }
    this.vms.set(lpid, vm);
    return vm;
  }

  /** Set the thread up to start a normal VM at its entry; the caller then does hrfid. */
  startVm(cpu: Cpu, vm: BenchVm): void {
    cpu.mtspr(S('LPIDR'), BigInt(vm.lpid));
    cpu.regs.setGpr(3, BigInt(vm.fdt));
    cpu.regs.setGpr(4, BigInt(vm.entry));
    cpu.mtspr(S('HSRR0'), BigInt(vm.entry));
    cpu.mtspr(S('HSRR1'), GUEST_MSR);
  }

  *enter(cpu: Cpu, pc: number): Flow {
    const vector = pc - Number(cpu.mfspr(S('HRMOR')));
    if (vector === 0x100) {
      if (cpu.id !== 0) { yield { op: 'stop', reason: 'secondary' }; return; }
      for (const vm of this.vms.values()) yield* sc(cpu, 2, UV.UV_WRITE_PATE, vm.lpid, encodePate0(vm.root), 0n);
      const vm = this.boot === undefined ? undefined : this.vms.get(this.boot);
      if (!vm) { yield { op: 'stop', reason: 'no VM' }; return; }
      this.startVm(cpu, vm);
      yield { op: 'hrfid' };
      return;
    }
    if (vector !== 0xC00) {
      // An interrupt reflected from an SVM: resume it at once with the frame given.
      if ((cpu.mfspr(S('HSRR1')) & MSR.S) === 0n) { yield { op: 'hrfid' }; return; }
      yield* this.#uvReturn(cpu, cpu.regs.getGpr(31), 0);
      return;
    }
    const srr0 = cpu.mfspr(S('SRR0')), srr1 = cpu.mfspr(S('SRR1'));
    const vm = this.vms.get(cpu.lpid);
    if (!vm) { yield { op: 'stop', reason: `hypercall from lpid ${cpu.lpid}` }; return; }
    const nr = Number(cpu.regs.getGpr(3));
    const a = (i: number) => cpu.regs.getGpr(4 + i);
    if ((srr1 & MSR.S) !== 0n) {
      const cookie = cpu.regs.getGpr(31);
      const r = yield* this.#svmHcall(cpu, vm, nr, [a(0), a(1), a(2), a(3), a(4)]);
      if (r.out !== undefined) cpu.regs.setGpr(4, r.out);
      yield* this.#uvReturn(cpu, cookie, r.rc);
      return;
    }
    let rc: number = H.H_SUCCESS;
    if (nr === HC.H_SVM_INIT_ABORT) {
      for (let g = 0; g < vm.frames.length; g++) {
        if (vm.inSecure[g] && (yield* sc(cpu, 2, UV.UV_PAGE_OUT, vm.lpid, vm.frames[g]!, g * PAGE_SIZE, 0, 16)) === 0) vm.inSecure[g] = 0;
      }
      yield* sc(cpu, 2, UV.UV_SVM_TERMINATE, vm.lpid);
      rc = H.H_PARAMETER;
    } else if (nr === HV_WORK && this.work) {
      yield* this.work(cpu, vm);
    } else if (nr === HC.H_GET_TERM_CHAR) {
      cpu.regs.setGpr(4, 0n);
    }
    cpu.regs.setGpr(3, rc64(rc));
    cpu.mtspr(S('HSRR0'), srr0);
    cpu.mtspr(S('HSRR1'), srr1 & ~INT_BITS);
    yield { op: 'hrfid' };
  }

  *#uvReturn(cpu: Cpu, cookie: bigint, rc: number): Flow {
    cpu.regs.setGpr(0, rc64(rc));
    cpu.regs.setGpr(31, cookie);
    cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
    yield { op: 'sc', lev: 2, errorOnly: true };
    yield { op: 'stop', reason: `UV_RETURN refused (${rcOf(cpu.regs.getGpr(3))})` };
  }

  *#svmHcall(cpu: Cpu, vm: BenchVm, nr: number, a: bigint[]): Generator<Op, { rc: number; out?: bigint }, void> {
    switch (nr) {
      case HC.H_SVM_INIT_START: {
        const rc = yield* sc(cpu, 2, UV.UV_REGISTER_MEM_SLOT, vm.lpid, 0, vm.memSize, 0, 0);
        return { rc: rc === 0 ? H.H_SUCCESS : H.H_PARAMETER };
      }
      case HC.H_SVM_PAGE_IN: {
        const gpa = Number(a[0]!), flags = Number(a[1]!), g = Math.floor(gpa / PAGE_SIZE);
        const rc = yield* sc(cpu, 2, UV.UV_PAGE_IN, vm.lpid, vm.frames[g]!, gpa, flags, 16);
        if (rc === 0) { if (flags === H_PAGE_IN_SHARED) vm.shared[g] = 1; else { vm.inSecure[g] = 1; vm.shared[g] = 0; } }
        return { rc: rc === 0 ? H.H_SUCCESS : H.H_PARAMETER };
      }
      case HC.H_SVM_PAGE_OUT: {
        const gpa = Number(a[0]!), g = Math.floor(gpa / PAGE_SIZE);
        const rc = yield* sc(cpu, 2, UV.UV_PAGE_OUT, vm.lpid, vm.frames[g]!, gpa, 0, 16);
        if (rc === 0) vm.inSecure[g] = 0;
        return { rc: rc === 0 ? H.H_SUCCESS : H.H_PARAMETER };
      }
      case HC.H_SVM_INIT_DONE: {
        for (let g = 0; g < vm.frames.length; g++) {
          if (vm.inSecure[g] || vm.shared[g]) continue;
          if ((yield* sc(cpu, 2, UV.UV_PAGE_IN, vm.lpid, vm.frames[g]!, g * PAGE_SIZE, 0, 16)) !== 0) return { rc: H.H_PARAMETER };
          vm.inSecure[g] = 1;
        }
        return { rc: H.H_SUCCESS };
      }
      case HC.H_SVM_TPM_COMM: {
        if (Number(a[0]!) !== TPM_COMM_EXECUTE) return { rc: H.H_SUCCESS, out: 0n };
        if (!this.tpm) return { rc: H.H_HARDWARE };
        const ra = (gpa: number) => vm.frames[Math.floor(gpa / PAGE_SIZE)]! + (gpa % PAGE_SIZE);
        const rsp = this.tpm(this.m.host.read(ra(Number(a[1]!)), Number(a[2]!)));
        this.m.host.write(ra(Number(a[3]!)), rsp);
        return { rc: H.H_SUCCESS, out: BigInt(rsp.length) };
      }
      case HV_WORK:
        if (this.work) yield* this.work(cpu, vm);
        return { rc: H.H_SUCCESS };
      case HC.H_GET_TERM_CHAR:
        return { rc: H.H_SUCCESS, out: 0n };
      default:
        return { rc: H.H_FUNCTION };
    }
  }
}

export interface GuestPlan {
  /** In the normal VM at kbase. Default: UV_ESM(kbase, fdt). */
  normal?: (cpu: Cpu, kbase: number, fdt: bigint) => Generator<Op, void, void>;
  /** In the SVM once the ultravisor entered it. */
  secure?: (cpu: Cpu) => Generator<Op, void, void>;
}

/** A guest kernel found by its magic: boots, asks for secure mode, then runs the plan. */
export function benchKernel(plan: GuestPlan): CodeFactory {
  return {
    magic: BENCH_KERNEL_MAGIC,
    create(_c: Cpu, _lpid: number, entry: number): Software {
      return {
        name: 'bench-kernel',
        *enter(cpu: Cpu, pc: number): Flow {
          if (pc < 0x2000) { yield { op: 'rfid' }; return; }
          if (!cpu.secure) {
            if (plan.normal) yield* plan.normal(cpu, entry, cpu.regs.getGpr(3));
            else yield* sc(cpu, 2, UV.UV_ESM, entry, cpu.regs.getGpr(3));
            yield { op: 'stop', reason: 'normal VM done' };
            return;
          }
          if (plan.secure) yield* plan.secure(cpu);
          yield { op: 'stop', reason: 'svm done' };
        },
      };
    },
  };
}

/** A kernel image of `size` bytes that starts with the bench kernel's magic. */
export function benchKernelImage(size: number): Uint8Array {
  const img = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; img[i] = x & 0xff; img[i + 1] = (x >>> 8) & 0xff; }
  new DataView(img.buffer).setUint32(0, 0x48000040, true);
  img.set(new TextEncoder().encode(BENCH_KERNEL_MAGIC), 4);
  return img;
}
