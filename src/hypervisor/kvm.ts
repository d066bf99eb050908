// The hypervisor: a KVM-like, untrusted layer paravirtualized for PEF as Linux KVM is. It is a
// set of flows for the interrupts directed to hypervisor mode (0x100 thread start, 0xC00
// hypercalls, 0x980 HDEC, 0xE00/0xE20 storage, 0x500 external, the rest). It runs VMs on the
// machine's hardware threads, time-sliced with HDEC; it registers normal partitions with
// UV_WRITE_PATE; it resumes normal VMs with hrfid and secure ones with UV_RETURN (hrfid can
// never set MSR[S]). It talks to the ultravisor only through ultracalls and by answering the
// hypercalls the ultravisor reflects.

import type { Machine } from '../hw/machine.js';
import type { Cpu } from '../hw/cpu/cpu.js';
import type { Flow, Op, Software } from '../hw/cpu/software.js';
import { FRAME_SIZE } from '../hw/memory.js';
import { MSR, SRR1_PROGRAM_ILLEGAL } from '../abi/msr.js';
import { H, rc64, rcOf, retName } from '../abi/retcodes.js';
import { UV } from '../abi/ultracalls.js';
import { HCALL_BY_NUM } from '../abi/hcalls.js';
import { VECTOR_BY_NUM } from '../abi/interrupts.js';
import { FramePool } from './frames.js';
import { PartitionPageTable } from './pagetable.js';
import { Vcpu, Vm, emptySnapshot, type VmConfig, type VmExit } from './vm.js';
import { buildGuestFdt, layoutImage, VTY_REG } from './loader.js';
import { ucall } from './ucall.js';
import { bumpYieldCount, guestHcall, H_CONFER } from './hcalls.js';

const hcallName = (n: number) => HCALL_BY_NUM.get(n)?.name ?? (n === H_CONFER ? 'H_CONFER' : `0x${n.toString(16)}`);
import { svmOff, SecureAccounting } from './uvmem.js';
import { VirtioMmioDevice, type DeviceHost } from './virtio/mmio.js';
import { VirtioBlk } from './virtio/blk.js';
import { VirtioConsole } from './virtio/console.js';
import { DmaRefused, type GuestDma } from './virtio/queue.js';

const R = {
  SRR0: 26, SRR1: 27, DSISR: 18, DAR: 19, HDEC: 310, HRMOR: 313, HSRR0: 314, HSRR1: 315, LPIDR: 319, HDAR: 307,
} as const;
/** Guest privileged SPRs the hypervisor keeps per vCPU of a normal VM across switches. */
const GUEST_SPRS = [26, 27, 18, 19, 272, 273, 274, 275, 48, 29, 61, 157, 17, 153];
const GUEST_MSR = MSR.SF | MSR.LE | MSR.ME;

/** Where virtio-mmio devices sit in guest real space (above any RAM a VM can have). */
export const MMIO_BASE = 0xf00000000;

/** The machine's TPM as the hypervisor reaches it (H_SVM_TPM_COMM): bytes in, bytes out. */
export interface TpmRelay {
  transmit(cmd: Uint8Array): Uint8Array | Promise<Uint8Array>;
  close?(): void | Promise<void>;
}

/** What a compromised hypervisor could keep: tests record it to prove it holds no SVM plaintext. */
export interface HypervisorSpy {
  /** Every register frame the hypervisor received from a guest or the ultravisor (GPRs, as LE bytes). */
  frame?(vm: Vm | undefined, vector: number, gprs: Uint8Array): void;
  /** Every buffer UV_PAGE_OUT filled. */
  pageOut?(vm: Vm, gpa: number, bytes: Uint8Array): void;
}

export interface HypervisorOptions {
  /** Guest steps per time slice (HDEC). */
  quantum?: number;
  /** Normal memory the hypervisor may use (default: all of it). */
  ranges?: readonly { start: number; size: number }[];
  /** Secure frames the hypervisor lets SVMs hold before it reclaims with UV_PAGE_OUT. */
  secureBudget?: number;
  tpm?: TpmRelay;
  /** Each console line of each VM, as it is completed. */
  onConsole?: (vm: Vm, line: string) => void;
  /** A VM stopped (power-off, os-term, crash). */
  onExit?: (vm: Vm) => void;
  spy?: HypervisorSpy;
  now?: () => number;
}

export class Hypervisor implements Software {
  readonly name = 'hypervisor';
  readonly vms: Vm[] = [];
  readonly pool: FramePool;
  readonly quantum: number;
  readonly secure: SecureAccounting;
  readonly #byLpid = new Map<number, Vm>();
  readonly #current: (Vcpu | undefined)[];
  readonly #runq: Vcpu[][];
  readonly #kicked = new Map<VirtioMmioDevice, Vm>();
  readonly #deviceHost = new Map<Vm, DeviceHost>();
  #nextLpid = 1;
  #nextThread = 0;
  /** Asynchronous operations (TPM over a socket) threads are napping for. */
  readonly pending = new Set<Promise<unknown>>();
  readonly now: () => number;

  constructor(readonly machine: Machine, readonly opts: HypervisorOptions = {}) {
    this.pool = new FramePool(opts.ranges ?? machine.normalRanges(), machine.host);
    this.quantum = opts.quantum ?? 2000;
    const secureFrames = Math.floor(machine.secureSize / FRAME_SIZE);
    this.secure = new SecureAccounting(opts.secureBudget ?? Math.floor(secureFrames * 3 / 4));
    this.#current = machine.cpus.map(() => undefined);
    this.#runq = machine.cpus.map(() => []);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Every VM has stopped and the hypervisor has released it. */
  get allDone(): boolean { return this.vms.length > 0 && this.vms.every((v) => v.done && v.tornDown); }
  vmByLpid(lpid: number): Vm | undefined { return this.#byLpid.get(lpid); }

  trace(e: Record<string, unknown> & { kind: string }): void { this.machine.trace.emit(e); }

  // ---- VMs ----------------------------------------------------------------------------

  /** Create a VM and queue its boot vCPU; a thread picks it up (and registers it) on its next schedule. */
  createVm(config: VmConfig): Vm {
    const lpid = this.#nextLpid++;
    const vm = new Vm(config, lpid, new PartitionPageTable(this.pool, this.machine.host), this.pool);
    this.#byLpid.set(lpid, vm);
    this.vms.push(vm);
    const host: DeviceHost = { kick: (d) => this.#kicked.set(d, vm), trace: (e) => this.trace({ kind: 'virtio', vm: vm.name, ...e }) };
    this.#deviceHost.set(vm, host);
    vm.devices.push(new VirtioConsole(`${config.name}:virtio-console`, MMIO_BASE, host, (b) => this.consoleWrite(vm, b)));
    if (config.image.disk) vm.devices.push(new VirtioBlk(`${config.name}:virtio-blk`, MMIO_BASE + 0x1000, host, config.image.disk));
    for (const d of vm.devices) if (d instanceof VirtioMmioDevice) d.accessPlatform = config.iommuPlatform ?? true;
    const n = Math.max(1, config.vcpus ?? 1);
    for (let i = 0; i < n; i++) {
      const thread = this.#nextThread++ % this.machine.cpus.length;
      const v = new Vcpu(vm, i, thread);
      vm.vcpus.push(v);
      this.#runq[thread]!.push(v);
    }
    this.#boot(vm);
    vm.startedAt = this.now();
    this.trace({ kind: 'vm', event: 'create', vm: vm.name, lpid, memBytes: config.memBytes, secureGuest: config.secureGuest });
    this.#wake(vm.vcpus[0]!.thread);
    return vm;
  }

  /** Load the image and make vCPU 0 enter the kernel (R3 = device tree, R4 = kbase); others stay stopped. */
  #boot(vm: Vm): void {
    const { image } = vm.config;
    const layout = layoutImage(vm.config.memBytes, image);
    const fdt = buildGuestFdt({ memBytes: vm.config.memBytes, bootargs: image.bootargs, layout, devices: vm.devices, vcpus: vm.vcpus.length, hasInitrd: !!image.initramfs });
    this.writeGuest(vm, layout.kbase, image.kernel.bytes);
    if (image.initramfs) this.writeGuest(vm, layout.initrdStart, image.initramfs);
    this.writeGuest(vm, layout.rtasBase, image.rtas);
    this.writeGuest(vm, layout.fdt, fdt);
    vm.fdtGpa = layout.fdt;
    vm.pateRegistered = false;
    vm.vcpus.forEach((v, i) => {
      v.saved = emptySnapshot();
      v.sprs.clear();
      v.prodded = false;
      v.vpa = undefined;
      v.state = i === 0 ? 'new' : 'stopped';
      if (i === 0) {
        v.setGpr(3, BigInt(layout.fdt));
        v.setGpr(4, BigInt(layout.kbase));
        v.ctx = { pc: BigInt(layout.entry), msr: GUEST_MSR };
      }
    });
  }

  /**
   * RTAS start-cpu: a stopped vCPU of `vm` becomes runnable. A normal VM's enters the kernel at
   * `start` with R3 = `r3`; a secure VM's `start` is the ultravisor's cookie for the frame it made
   * (the SVM's real start address and registers stay with it), resumed with UV_RETURN.
   */
  startVcpu(v: Vcpu, start: number, r3: number): void {
    v.saved = emptySnapshot();
    v.sprs.clear();
    v.prodded = false;
    v.pendingRc = H.H_SUCCESS;
    if (v.vm.secure) {
      v.setGpr(31, BigInt(start));
      v.ctx = { pc: BigInt(start), msr: GUEST_MSR | MSR.S };
    } else {
      v.setGpr(3, BigInt(r3));
      v.ctx = { pc: BigInt(start), msr: GUEST_MSR };
    }
    v.state = 'new';
    this.trace({ kind: 'vm', event: 'start-cpu', vm: v.vm.name, lpid: v.vm.lpid, vcpu: v.id, secure: v.vm.secure });
    this.#wake(v.thread);
  }

  /** Copy bytes into a not-yet-secure VM's memory (allocating and mapping frames). */
  writeGuest(vm: Vm, gpa: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = gpa + done;
      const off = a % FRAME_SIZE;
      const n = Math.min(data.length - done, FRAME_SIZE - off);
      const f = vm.hostFrame(a);
      if (f === undefined) throw new RangeError(`${vm.name}: guest address 0x${a.toString(16)} is not writable by the hypervisor`);
      this.machine.host.write(f + off, data.subarray(done, done + n));
      done += n;
    }
  }

  /** Ask for a reset (as QEMU's system_reset) or a destroy; done on the VM's thread at its next exit. */
  request(vm: Vm, what: 'reset' | 'destroy'): void {
    vm.request = what;
    for (const v of vm.vcpus) this.#wake(v.thread);
  }

  #wake(thread: number): void {
    const c = this.machine.cpus[thread];
    if (c?.idle) this.machine.raiseExternal(thread);
  }

  /** The VM stops; its memory is released by the thread that runs its last vCPU. */
  stopVm(vm: Vm, exit: VmExit): void {
    if (vm.exit) return;
    vm.exit = exit;
    for (const v of vm.vcpus) if (v.state !== 'running') v.state = 'stopped';
    this.trace({ kind: 'vm', event: 'exit', vm: vm.name, lpid: vm.lpid, exit: exit.kind, ...(exit.kind === 'power-off' ? {} : { message: exit.message }) });
    if (vm.consoleBuf) this.#emitLine(vm, vm.consoleBuf);
    vm.consoleBuf = '';
    this.opts.onExit?.(vm);
  }

  // ---- console ------------------------------------------------------------------------

  consoleWrite(vm: Vm, bytes: Uint8Array): void {
    const s = vm.consoleBuf + Buffer.from(bytes).toString('utf8');
    const lines = s.split('\n');
    vm.consoleBuf = lines.pop()!;
    for (const l of lines) this.#emitLine(vm, l.replace(/\r$/, ''));
  }

  #emitLine(vm: Vm, line: string): void {
    if (vm.firstLineAt === undefined) vm.firstLineAt = this.now() - vm.startedAt;
    vm.console.push(line);
    this.trace({ kind: 'console', vm: vm.name, line });
    this.opts.onConsole?.(vm, line);
  }

  // ---- devices ------------------------------------------------------------------------

  readonly #dma = new WeakMap<Vm, GuestDma>();

  /** The device DMA window of a VM: all its memory while normal, only its shared pages once it asked to be secure. */
  dmaFor(vm: Vm): GuestDma {
    let d = this.#dma.get(vm);
    if (!d) { d = this.#makeDma(vm); this.#dma.set(vm, d); }
    return d;
  }

  #makeDma(vm: Vm): GuestDma {
    const frameOf = (gpa: number): number => {
      if (!vm.slotOf(gpa)) throw new DmaRefused(gpa, 'outside guest memory');
      if (vm.svm === 'normal') return vm.hostFrame(gpa)!;
      const f = vm.pageState(gpa) === 'shared' ? vm.hostFrame(gpa, false) : undefined;
      if (f === undefined) throw new DmaRefused(gpa, `page is ${vm.pageState(gpa)}, not shared by the secure guest`);
      return f;
    };
    const walk = (gpa: number, len: number, fn: (ra: number, done: number, n: number) => void) => {
      let done = 0;
      while (done < len) {
        const a = gpa + done;
        const off = a % FRAME_SIZE;
        const n = Math.min(len - done, FRAME_SIZE - off);
        fn(frameOf(a) + off, done, n);
        done += n;
      }
    };
    const dma = this.machine.dma;
    return {
      read: (gpa, len) => { const out = new Uint8Array(len); walk(gpa, len, (ra, d, n) => out.set(dma.read(ra, n), d)); return out; },
      write: (gpa, data) => walk(gpa, data.length, (ra, d, n) => dma.write(ra, data.subarray(d, d + n))),
    };
  }

  #serviceDevices(): void {
    while (this.#kicked.size > 0) {
      const [dev, vm] = this.#kicked.entries().next().value as [VirtioMmioDevice, Vm];
      this.#kicked.delete(dev);
      if (vm.done) continue;
      if (dev.service(this.dmaFor(vm))) this.prod(vm);
    }
  }

  /** An interrupt is pending for the VM: a ceded vCPU becomes runnable. */
  prod(vm: Vm): void {
    for (const v of vm.vcpus) {
      // A ceded vCPU takes the interrupt by waking; a running one finds it pending at its next cede.
      if (v.state === 'ceded') { v.state = 'runnable'; this.#wake(v.thread); } else v.prodded = true;
    }
  }

  mmioDevice(vm: Vm, addr: number): VirtioMmioDevice | undefined {
    return vm.devices.find((d) => addr >= d.base && addr < d.base + d.size) as VirtioMmioDevice | undefined;
  }

  // ---- asynchronous operations ----------------------------------------------------------

  /** Nap this thread until `p` settles (an external interrupt wakes it), then return its value. */
  *awaitAsync<T>(cpu: Cpu, p: T | Promise<T>): Generator<Op, T, void> {
    if (!(p instanceof Promise)) return p;
    let state: { ok: true; v: T } | { ok: false; e: unknown } | undefined;
    const tracked: Promise<void> = p.then((v) => { state = { ok: true, v }; }, (e) => { state = { ok: false, e }; })
      .finally(() => { this.pending.delete(tracked); this.#wake(cpu.id); });
    this.pending.add(tracked);
    while (state === undefined) yield { op: 'idle' };
    if (!state.ok) throw state.e;
    return state.v;
  }

  // ---- the flows ------------------------------------------------------------------------

  enter(cpu: Cpu, pc: number): Flow {
    return this.#flow(cpu, pc - Number(cpu.mfspr(R.HRMOR)));
  }

  *#flow(cpu: Cpu, vector: number): Flow {
    switch (vector) {
      case 0x100: yield* this.#dispatch(cpu); return;
      case 0xC00: yield* this.#onHcall(cpu); return;
      case 0x980: yield* this.#onHdec(cpu); return;
      case 0xE00: case 0xE20: yield* this.#onStorage(cpu, vector); return;
      case 0x500: yield* this.#onExternal(cpu); return;
      default: yield* this.#onOther(cpu, vector); return;
    }
  }

  /** Take the interrupted guest's context off the thread. Undefined when it came from hypervisor mode. */
  #arrive(cpu: Cpu, pair: 'SRR' | 'HSRR', vector: number): Vcpu | undefined {
    const pc = cpu.mfspr(pair === 'SRR' ? R.SRR0 : R.HSRR0);
    const msr = cpu.mfspr(pair === 'SRR' ? R.SRR1 : R.HSRR1);
    if ((msr & MSR.HV) !== 0n) return undefined;
    const v = this.#current[cpu.id];
    const vm = this.#byLpid.get(cpu.lpid);
    const spy = this.opts.spy?.frame;
    if (spy) spy(vm, vector, new Uint8Array(cpu.regs.gpr.buffer.slice(0)));
    if (!v || v.vm.lpid !== cpu.lpid) return undefined;
    v.ctx = { pc, msr };
    const s = v.saved;
    s.gpr.set(cpu.regs.gpr); s.lrctr.set(cpu.regs.lrctr); s.cr = cpu.regs.cr; s.xer = cpu.regs.xer;
    s.fpscr = cpu.regs.fpscr; s.vscr = cpu.regs.vscr; s.vsr.set(cpu.regs.vsr32);
    if ((msr & MSR.S) === 0n) for (const n of GUEST_SPRS) v.sprs.set(n, cpu.mfspr(n));
    bumpYieldCount(this, v);
    return v;
  }

  *#onHcall(cpu: Cpu): Flow {
    const v = this.#arrive(cpu, 'SRR', 0xC00);
    if (!v) {
      // The ultravisor may ask on behalf of an SVM not running on this thread (taking pages
      // back from one SVM to make room for another): answer it and return at once.
      const vm = this.#byLpid.get(cpu.lpid);
      if (vm && (cpu.mfspr(R.SRR1) & (MSR.S | MSR.HV)) === MSR.S) { yield* this.#onBehalf(cpu, vm); return; }
      yield* this.#lost(cpu, 'hypercall');
      return;
    }
    const num = Number(cpu.regs.getGpr(3));
    const viaUv = v.viaUltravisor;
    let outcome;
    // A normal guest's user space may not make hypercalls. A frame from the ultravisor carries the
    // SVM's MSR at the time (a page fault taken in user space, say): its PR says nothing about the caller.
    if ((v.ctx.msr & MSR.PR) !== 0n && !viaUv) outcome = { kind: 'return', rc: H.H_PRIVILEGE } as const;
    else outcome = yield* guestHcall(this, cpu, v, num);
    this.trace({ kind: 'hcall', cpu: cpu.id, vm: v.vm.name, lpid: v.vm.lpid, name: hcallName(num), secure: viaUv, ...(outcome.kind === 'return' ? { rc: outcome.rc } : { outcome: outcome.kind }) });
    switch (outcome.kind) {
      case 'return':
        if (viaUv) v.pendingRc = outcome.rc;
        else v.setGpr(3, rc64(outcome.rc));
        outcome.out?.forEach((o, i) => v.setGpr(4 + i, o));
        v.state = 'runnable';
        yield* this.#dispatch(cpu, v);
        return;
      case 'cede':
        v.pendingRc = H.H_SUCCESS;
        if (!viaUv) v.setGpr(3, 0n);
        v.state = v.prodded ? 'runnable' : 'ceded';
        v.prodded = false;
        yield* this.#dispatch(cpu, v.state === 'runnable' ? v : undefined);
        return;
      case 'confer':
        v.pendingRc = H.H_SUCCESS;
        if (!viaUv) v.setGpr(3, 0n);
        v.state = 'runnable';
        yield* this.#dispatch(cpu);
        return;
      case 'stopped':
        v.state = 'stopped';
        yield* this.#dispatch(cpu);
        return;
    }
  }

  /** A reflected hypercall for a VM with no vCPU here: a stand-in vCPU carries the frame, UV_RETURN ends it. */
  *#onBehalf(cpu: Cpu, vm: Vm): Flow {
    const tmp = new Vcpu(vm, -1, cpu.id);
    tmp.ctx = { pc: cpu.mfspr(R.SRR0), msr: cpu.mfspr(R.SRR1) };
    const s = tmp.saved;
    s.gpr.set(cpu.regs.gpr); s.lrctr.set(cpu.regs.lrctr); s.cr = cpu.regs.cr; s.xer = cpu.regs.xer;
    const num = Number(cpu.regs.getGpr(3));
    const outcome = yield* guestHcall(this, cpu, tmp, num);
    const rc = outcome.kind === 'return' ? outcome.rc : H.H_SUCCESS;
    this.trace({ kind: 'hcall', cpu: cpu.id, vm: vm.name, lpid: vm.lpid, name: hcallName(num), secure: true, onBehalf: true, rc });
    cpu.regs.restore(s);
    if (outcome.kind === 'return') outcome.out?.forEach((o, i) => cpu.regs.setGpr(4 + i, o));
    cpu.regs.setGpr(0, rc64(rc));
    cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
    cpu.mtspr(R.HSRR0, tmp.ctx.pc);
    cpu.mtspr(R.HSRR1, tmp.ctx.msr);
    yield { op: 'sc', lev: 2, errorOnly: true };
    this.trace({ kind: 'hv-lost', cpu: cpu.id, what: `UV_RETURN refused (${retName(rcOf(cpu.regs.getGpr(3)), 'U')})`, lpid: vm.lpid });
    yield* this.#dispatch(cpu);
  }

  *#onHdec(cpu: Cpu): Flow {
    const v = this.#arrive(cpu, 'HSRR', 0x980);
    if (v) {
      v.pendingRc = H.H_SUCCESS;
      v.state = 'runnable';
    }
    yield* this.#dispatch(cpu);
  }

  *#onStorage(cpu: Cpu, vector: number): Flow {
    const v = this.#arrive(cpu, 'HSRR', vector);
    if (!v) { yield* this.#lost(cpu, `storage interrupt 0x${vector.toString(16)}`); return; }
    const gpa = Number(cpu.mfspr(R.HDAR));
    const vm = v.vm;
    this.trace({ kind: 'hv-fault', vm: vm.name, lpid: vm.lpid, vector, gpa: '0x' + gpa.toString(16) });
    if (!v.viaUltravisor && vm.svm === 'normal' && vm.slotOf(gpa)) {
      // First touch of guest memory: back it with a normal frame and retry the access.
      vm.hostFrame(gpa);
      v.state = 'runnable';
      yield* this.#dispatch(cpu, v);
      return;
    }
    if (!v.viaUltravisor) {
      // No memory there (and no MMIO decoding in the model): the guest gets a DSI or ISI, as
      // KVM gives an access it cannot emulate.
      const fetch = vector === 0xE20;
      v.sprs.set(R.SRR0, v.ctx.pc);
      v.sprs.set(R.SRR1, v.ctx.msr & ~0x783f0000n);
      if (!fetch) { v.sprs.set(R.DAR, BigInt(gpa)); v.sprs.set(R.DSISR, 0x40000000n); }
      v.ctx = { pc: fetch ? 0x400n : 0x300n, msr: GUEST_MSR };
      v.state = 'runnable';
      yield* this.#dispatch(cpu, v);
      return;
    }
    this.stopVm(vm, { kind: 'crash', layer: 'hypervisor', message: `unexpected storage interrupt at guest address 0x${gpa.toString(16)} from the ultravisor` });
    v.state = 'stopped';
    yield* this.#dispatch(cpu);
  }

  *#onExternal(cpu: Cpu): Flow {
    // Only napping hypervisor flows are woken by external interrupts: go back to the nap.
    const hsrr1 = cpu.mfspr(R.HSRR1);
    if ((hsrr1 & MSR.HV) !== 0n) { yield { op: 'hrfid' }; return; }
    const v = this.#arrive(cpu, 'HSRR', 0x500);
    if (v) v.state = 'runnable';
    yield* this.#dispatch(cpu, v);
  }

  *#onOther(cpu: Cpu, vector: number): Flow {
    const pair = VECTOR_BY_NUM.get(vector)?.cls === 'hv' ? 'HSRR' : 'SRR';
    const v = this.#arrive(cpu, pair, vector);
    if (!v) {
      yield { op: 'stop', reason: `hypervisor: interrupt 0x${vector.toString(16)} in hypervisor mode` };
      return;
    }
    const vm = v.vm;
    if ((vector === 0xE40 || vector === 0xF80) && !v.viaUltravisor) {
      // Emulation assistance or a disabled facility: the guest kernel gets a program interrupt.
      v.sprs.set(R.SRR0, v.ctx.pc);
      v.sprs.set(R.SRR1, (v.ctx.msr & ~0x783f0000n) | SRR1_PROGRAM_ILLEGAL);
      v.ctx = { pc: 0x700n, msr: GUEST_MSR };
      v.state = 'runnable';
      yield* this.#dispatch(cpu, v);
      return;
    }
    const what = vector === 0x200 ? 'machine check (a refused memory access)' : `unexpected interrupt 0x${vector.toString(16)}`;
    this.stopVm(vm, { kind: 'crash', layer: 'hypervisor', message: what });
    v.state = 'stopped';
    yield* this.#dispatch(cpu);
  }

  /** Control arrived with no vCPU of ours on the thread: schedule again. */
  *#lost(cpu: Cpu, what: string): Flow {
    this.trace({ kind: 'hv-lost', cpu: cpu.id, what, lpid: cpu.lpid });
    yield* this.#dispatch(cpu);
  }

  // ---- scheduling -----------------------------------------------------------------------

  /** Run housekeeping, then enter `prefer` if it can run, else the next runnable vCPU of this thread; nap when none. */
  *#dispatch(cpu: Cpu, prefer?: Vcpu): Generator<Op, void, void> {
    for (;;) {
      this.#serviceDevices();
      let v = prefer && prefer.state === 'runnable' && !prefer.vm.request && !prefer.vm.done ? prefer : undefined;
      prefer = undefined;
      if (!v) v = yield* this.#pick(cpu);
      if (v) {
        yield* this.#enter(cpu, v);
        continue; // only when the ultravisor refused UV_RETURN
      }
      this.#current[cpu.id] = undefined;
      yield { op: 'idle' };
    }
  }

  *#pick(cpu: Cpu): Generator<Op, Vcpu | undefined, void> {
    const q = this.#runq[cpu.id]!;
    for (let i = 0; i < q.length; i++) {
      const v = q.shift()!;
      q.push(v);
      const vm = v.vm;
      if (vm.request || (vm.done && !vm.tornDown)) {
        if (vm.vcpus.some((x) => x.state === 'running' && x !== this.#current[cpu.id])) continue;
        yield* this.#housekeep(cpu, vm);
        i = -1; // the queue may have changed
        continue;
      }
      if (v.state === 'new') {
        if (!vm.pateRegistered) {
          const r = yield* ucall(cpu, UV.UV_WRITE_PATE, vm.lpid, vm.table.pate0, 0);
          if (r.rc !== 0) { this.stopVm(vm, { kind: 'crash', layer: 'ultravisor', message: `UV_WRITE_PATE failed: ${retName(r.rc, 'U')}` }); continue; }
          vm.pateRegistered = true;
        }
        v.state = 'runnable';
        this.trace({ kind: 'vm', event: 'start', vm: vm.name, lpid: vm.lpid, cpu: cpu.id });
      }
      if (v.state === 'ceded' && v.prodded) { v.prodded = false; v.state = 'runnable'; }
      if (v.state === 'runnable') return v;
    }
    return undefined;
  }

  /** Enter a vCPU: hrfid for a normal guest, UV_RETURN for a frame the ultravisor gave us. Returns only if UV_RETURN failed. */
  *#enter(cpu: Cpu, v: Vcpu): Generator<Op, void, void> {
    this.#current[cpu.id] = v;
    v.state = 'running';
    bumpYieldCount(this, v);
    cpu.mtspr(R.LPIDR, BigInt(v.vm.lpid));
    cpu.regs.restore(v.saved);
    cpu.mtspr(R.HDEC, BigInt(this.quantum));
    cpu.mtspr(R.HSRR0, v.ctx.pc);
    cpu.mtspr(R.HSRR1, v.ctx.msr);
    if (v.viaUltravisor) {
      cpu.regs.setGpr(0, rc64(v.pendingRc));
      cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
      yield { op: 'sc', lev: 2, errorOnly: true };
      const rc = rcOf(cpu.regs.getGpr(3));
      this.#current[cpu.id] = undefined;
      v.state = 'stopped';
      this.stopVm(v.vm, { kind: 'crash', layer: 'ultravisor', message: `UV_RETURN refused: ${retName(rc, 'U')}` });
      return;
    }
    for (const n of GUEST_SPRS) { const x = v.sprs.get(n); if (x !== undefined) cpu.mtspr(n, x); }
    yield { op: 'hrfid' };
  }

  /** A reset, destroy or release of a VM, on a thread in hypervisor mode (ultracalls need one). */
  *#housekeep(cpu: Cpu, vm: Vm): Generator<Op, void, void> {
    const req = vm.request;
    vm.request = undefined;
    for (const v of vm.vcpus) if (this.#current[cpu.id] === v) this.#current[cpu.id] = undefined;
    if (vm.svm !== 'normal') yield* svmOff(this, cpu, vm);
    if (vm.pateRegistered) {
      yield* ucall(cpu, UV.UV_WRITE_PATE, vm.lpid, 0, 0);
      vm.pateRegistered = false;
    }
    vm.releaseMemory();
    this.machine.forgetPartition(vm.lpid);
    this.machine.tlbieAll();
    for (const d of vm.devices) if (d instanceof VirtioMmioDevice) d.reset();
    if (req === 'reset' && !vm.done) {
      vm.table = new PartitionPageTable(this.pool, this.machine.host);
      vm.resets++;
      this.#boot(vm);
      this.trace({ kind: 'vm', event: 'reset', vm: vm.name, lpid: vm.lpid });
      return;
    }
    if (!vm.done) this.stopVm(vm, { kind: 'crash', layer: 'hypervisor', message: 'destroyed' });
    vm.tornDown = true;
    for (const v of vm.vcpus) {
      v.state = 'stopped';
      const q = this.#runq[v.thread]!;
      const i = q.indexOf(v);
      if (i >= 0) q.splice(i, 1);
    }
    this.trace({ kind: 'vm', event: 'destroy', vm: vm.name, lpid: vm.lpid });
  }
}

export { VTY_REG };
