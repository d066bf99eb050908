// The machine: hardware threads, memory controllers with their secure share, the partition
// table walk, DMA, the RNG, SCOM, and the loop that runs software on the threads. Physical
// memory is reachable from above only through checked paths: a CPU (bound to its live MSR),
// DMA and the host port (never secure). There is no other reference to it.

import { randomFillSync } from 'node:crypto';
import { MSR } from '../abi/msr.js';
import { SMFCTRL_E } from '../abi/spr.js';
import { Checkstop, LockedError } from './faults.js';
import { FRAME_SIZE, PhysicalMemory, type ControllerConfig } from './memory.js';
import { decodePtcr, gfnIndex, GUEST_SPACE, LEVEL_BYTES, PATE_SIZE, readEntry } from './mmu.js';
import { Scom } from './scom.js';
import { Trace } from './trace.js';
import { Cpu, type Suspended } from './cpu/cpu.js';
import type { CodeFactory, Software } from './cpu/software.js';
import type { Mode } from '../abi/msr.js';

/** Flows waiting for a return, per address space, before the oldest is abandoned. */
export const MAX_SUSPENDED_PER_SPACE = 4096;

export interface MachineConfig {
  cpus: number;
  /** Per memory controller: its size and its secure share. */
  controllers: ControllerConfig[];
  /** Whether the Protected Execution Facility is enabled (SMFCTRL[E] at reset). */
  smf?: boolean;
}

/** Runs real machine code for guests (the ISA interpreter plugs in here). */
export interface Interpreter {
  /** Execute instructions from the CPU's PC until an interrupt or system call leaves the guest's code. */
  run(cpu: Cpu): void;
}

/** What a CPU needs from its machine; not reachable from software above hw/. */
export interface MachineCore {
  readonly trace: Trace;
  readonly memory: PhysicalMemory;
  readonly scom: Scom;
  readonly interpreter: Interpreter | undefined;
  timebase(): bigint;
  random64(): bigint;
  partitionWalk(ptcr: bigint, smfE: boolean, lpid: number, gpa: number, secure: boolean, write: boolean): number | string;
  takeSuspended(space: string, pc: number, mode: Mode): Suspended | undefined;
  suspend(space: string, pc: number, s: Suspended): void;
  softwareFor(cpu: Cpu, space: string, pc: number): Software | undefined;
}

/** A non-secure port onto physical memory: what devices (DMA) and host software get. */
export interface MemoryPort {
  read(ra: number, len: number): Uint8Array;
  write(ra: number, data: Uint8Array): void;
  fill(ra: number, len: number, v: number): void;
}

export class Machine {
  readonly trace = new Trace();
  readonly cpus: Cpu[];
  readonly #memory: PhysicalMemory;
  readonly #scom: Scom;
  #uv: Software | undefined;
  #hv: Software | undefined;
  readonly #factories = new Map<string, CodeFactory>();
  readonly #instances = new Map<string, Software>();
  readonly #suspended = new Map<string, Map<number, Suspended>>();
  #interpreter: Interpreter | undefined;
  #core!: MachineCore;
  #bootLocked = false;
  readonly #hdecPending: boolean[] = [];
  #steps = 0;
  readonly #rng = new BigUint64Array(512);
  #rngPos = 512;
  readonly smf: boolean;

  constructor(readonly config: MachineConfig) {
    if (!(config.cpus >= 1 && config.cpus <= 256)) throw new RangeError('cpus must be 1..256');
    this.smf = config.smf ?? true;
    this.#memory = new PhysicalMemory(config.controllers, this.trace);
    this.#scom = new Scom(() => this.#memory.locked, config.controllers.length);
    const core = this.#makeCore();
    this.#core = core;
    this.cpus = Array.from({ length: config.cpus }, (_, i) => new Cpu(i, core));
    this.#powerOn();
  }

  #makeCore(): MachineCore {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const m = this;
    return {
      trace: this.trace,
      memory: this.#memory,
      scom: this.#scom,
      get interpreter() { return m.#interpreter; },
      timebase: () => BigInt(this.#steps),
      random64: () => this.#random64(),
      partitionWalk: (ptcr, smfE, lpid, gpa, secure, write) => this.#walk(ptcr, smfE, lpid, gpa, secure, write),
      takeSuspended: (space, pc, mode) => {
        const sp = this.#suspended.get(space);
        const s = sp?.get(pc);
        if (!s || s.mode !== mode) return undefined;
        sp!.delete(pc);
        return s;
      },
      suspend: (space, pc, s) => {
        let sp = this.#suspended.get(space);
        if (!sp) { sp = new Map(); this.#suspended.set(space, sp); }
        sp.set(pc, s);
        // A flow nobody returns to (a hypervisor's UV_RETURN, say: the ultravisor resumes the SVM
        // instead) is abandoned code state, as on hardware; keep the newest, drop the oldest.
        if (sp.size > MAX_SUSPENDED_PER_SPACE) {
          const oldest = sp.keys().next().value as number;
          sp.get(oldest)!.flow.return();
          sp.delete(oldest);
        }
      },
      softwareFor: (cpu, space, pc) => this.#softwareFor(cpu, space, pc),
    };
  }

  /** Reset every thread: ultravisor mode at 0x100 with the facility on, hypervisor mode without. */
  #powerOn(): void {
    for (const c of this.cpus) {
      if (this.smf) {
        c.hwSetSpr(this.#core, 511, SMFCTRL_E);
        c.resetTo(this.#core, MSR.SF | MSR.LE | MSR.ME | MSR.HV | MSR.S, 0x100);
      } else {
        c.resetTo(this.#core, MSR.SF | MSR.LE | MSR.ME | MSR.HV, 0x100);
      }
    }
  }

  // ---- configuration and boot ---------------------------------------------------------

  get memorySize(): number { return this.#memory.size; }
  get secureSize(): number { return this.#memory.secureSize; }
  get controllers() { return this.#memory.controllers; }
  get bootLocked(): boolean { return this.#bootLocked; }
  secureRanges() { return this.#memory.secureRanges(); }
  normalRanges() { return this.#memory.normalRanges(); }
  /** Resident frames (bytes of host memory this machine uses, in 64 KiB units). */
  get residentFrames(): number { return this.#memory.resident; }

  /** Change the secure split (only before boot locks it). */
  configureSecureMemory(controllers: ControllerConfig[]): void {
    this.#memory.configure(controllers);
  }

  /**
   * Firmware installs the ultravisor and the hypervisor it loaded. The ultravisor slot and the
   * guest code registry are fixed once boot locks the machine; the hypervisor can be replaced.
   */
  installUltravisor(sw: Software): void {
    if (this.#bootLocked) throw new LockedError('the ultravisor can only be installed by firmware during boot');
    this.#uv = sw;
  }
  installHypervisor(sw: Software): void { this.#hv = sw; }
  registerCode(f: CodeFactory): void {
    if (this.#bootLocked) throw new LockedError('guest code kinds are fixed at boot');
    if (this.#factories.has(f.magic)) throw new LockedError(`code kind ${f.magic} is already registered`);
    this.#factories.set(f.magic, f);
  }
  setInterpreter(i: Interpreter): void {
    if (this.#bootLocked) throw new LockedError('the interpreter is part of the hardware: set it before boot');
    this.#interpreter = i;
  }
  get ultravisorInstalled(): boolean { return this.#uv !== undefined; }

  /** End of firmware boot: the secure split and the ultravisor can no longer change. */
  lockBoot(): void {
    this.#memory.lock();
    this.#bootLocked = true;
    this.trace.emit({ kind: 'boot-lock', secureBytes: this.#memory.secureSize });
  }

  // ---- hardware services --------------------------------------------------------------

  #random64(): bigint {
    if (this.#rngPos >= this.#rng.length) { randomFillSync(this.#rng); this.#rngPos = 0; }
    return this.#rng[this.#rngPos++]!;
  }

  /** Device DMA: real addresses, never secure memory (refused and traced). */
  readonly dma: MemoryPort = {
    read: (ra, len) => this.#memory.read(ra, len, false, 'dma'),
    write: (ra, data) => this.#memory.write(ra, data, false, 'dma'),
    fill: (ra, len, v) => this.#memory.fill(ra, len, v, false),
  };

  /** Host software's view of real memory (the hypervisor's, outside any CPU flow): never secure. */
  readonly host: MemoryPort = {
    read: (ra, len) => this.#memory.read(ra, len, false, 'load'),
    write: (ra, data) => this.#memory.write(ra, data, false, 'store'),
    fill: (ra, len, v) => this.#memory.fill(ra, len, v, false),
  };

  /** Every touched normal frame: what a compromised hypervisor could dump. */
  *scanNormalMemory(): Generator<{ ra: number; bytes: Uint8Array }> {
    for (const f of this.#memory.residentFrames()) if (!f.secure) yield { ra: f.ra, bytes: f.bytes };
  }

  /**
   * Test and forensic hook: search every resident frame, secure ones included, for a byte
   * pattern. Returns where it was found and whether that frame is secure; never the bytes.
   */
  findInAllMemory(needle: Uint8Array): { ra: number; secure: boolean }[] {
    const hits: { ra: number; secure: boolean }[] = [];
    const n = Buffer.from(needle);
    for (const f of this.#memory.residentFrames()) {
      const i = Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength).indexOf(n);
      if (i >= 0) hits.push({ ra: f.ra + i, secure: f.secure });
    }
    return hits;
  }

  /** tlbie is broadcast: every thread forgets cached translations. */
  tlbieAll(): void { for (const c of this.cpus) c.tlbie(); }

  #walk(ptcr: bigint, smfE: boolean, lpid: number, gpa: number, secure: boolean, write: boolean): number | string {
    if (!(gpa >= 0 && gpa < GUEST_SPACE)) return 'outside the guest address space';
    const { base, entries } = decodePtcr(ptcr);
    if (base === 0) return 'no partition table';
    if (lpid >= entries) return 'lpid beyond the partition table';
    // The partition table is the ultravisor's when the facility is on: the walker may read it there.
    const pateRa = base + lpid * PATE_SIZE;
    const pf = this.#memory.frame(pateRa - (pateRa % FRAME_SIZE), smfE, 'walk');
    const pate = readEntry(pf, pateRa % FRAME_SIZE);
    if (!pate.valid) return 'no partition-table entry';
    const { l1, l2 } = gfnIndex(gpa);
    const dirRa = pate.addr + l1 * 8;
    if (pate.addr % 4096 !== 0 || (dirRa % FRAME_SIZE) + 8 > FRAME_SIZE) return 'bad table address';
    const d = readEntry(this.#memory.frame(dirRa - (dirRa % FRAME_SIZE), secure, 'walk'), dirRa % FRAME_SIZE);
    if (!d.valid) return 'no translation';
    const pteRa = d.addr + l2 * 8;
    if (d.addr % 4096 !== 0 || (d.addr % FRAME_SIZE) + LEVEL_BYTES > FRAME_SIZE) return 'bad table address';
    const p = readEntry(this.#memory.frame(pteRa - (pteRa % FRAME_SIZE), secure, 'walk'), pteRa % FRAME_SIZE);
    if (!p.valid) return 'no translation';
    if (write && !p.write) return 'write to a read-only page';
    return p.addr - (p.addr % FRAME_SIZE) + (gpa % FRAME_SIZE);
  }

  #softwareFor(cpu: Cpu, space: string, pc: number): Software | undefined {
    if (space === 'uv') return this.#uv;
    if (space === 'hv') return this.#hv;
    const key = `${space}:${cpu.secure ? 1 : 0}:${cpu.problemState ? 1 : 0}`;
    if (!cpu.problemState && pc < 0x2000) {
      const inst = this.#instances.get(key);
      if (inst) return inst;
    }
    // Guest code lives in guest memory: look for a model-code magic at the PC (an instruction
    // fetch, so it faults like one: HISI, or a refused secure access).
    const head = cpu.read(pc, 64, 'fetch');
    const text = Buffer.from(head).toString('latin1');
    for (const f of this.#factories.values()) {
      if (text.includes(f.magic)) {
        const inst = f.create(cpu, cpu.lpid, pc, head);
        this.#instances.set(key, inst);
        // A fresh kernel for the partition replaces the other-security-state one.
        this.#instances.delete(`${space}:${cpu.secure ? 0 : 1}:${cpu.problemState ? 1 : 0}`);
        return inst;
      }
    }
    return undefined;
  }

  /** Forget everything running in a partition (the hypervisor destroyed or reset it). */
  forgetPartition(lpid: number): void {
    for (const k of [...this.#instances.keys()]) if (k.startsWith(`g${lpid}:`)) this.#instances.delete(k);
    this.#suspended.delete(`g${lpid}`);
  }

  // ---- running ------------------------------------------------------------------------

  get steps(): number { return this.#steps; }

  /**
   * Run the threads round-robin until `until()` is true, every thread is halted or idle, or
   * `maxSteps` steps have passed. HDEC counts down in guest mode and preempts the guest.
   */
  run(opts: { until?: () => boolean; maxSteps?: number } = {}): { steps: number; reason: 'until' | 'halted' | 'idle' | 'max-steps' } {
    const max = opts.maxSteps ?? Number.MAX_SAFE_INTEGER;
    const start = this.#steps;
    for (;;) {
      if (opts.until?.()) return { steps: this.#steps - start, reason: 'until' };
      if (this.#steps - start >= max) return { steps: this.#steps - start, reason: 'max-steps' };
      let progressed = false;
      for (const c of this.cpus) {
        if (c.halted || c.idle) continue;
        const guest = !c.hypervisorState;
        if (!c.step()) continue;
        progressed = true;
        this.#steps++;
        this.#tickHdec(c, guest);
      }
      if (!progressed) {
        const halted = this.cpus.every((c) => c.halted);
        return { steps: this.#steps - start, reason: halted ? 'halted' : 'idle' };
      }
    }
  }

  /**
   * HDEC counts down while a thread runs guest code. Once it reaches zero the interrupt stays
   * pending until the thread is next in a guest (HDEC is a hypervisor interrupt: it is never taken
   * in hypervisor state) or the hypervisor sets a new positive count.
   */
  #tickHdec(c: Cpu, wasGuest: boolean): void {
    let h = BigInt.asIntN(64, c.hwSpr(this.#core, 310));
    if (h > 0n) {
      this.#hdecPending[c.id] = false;
      if (wasGuest) {
        h -= 1n;
        c.hwSetSpr(this.#core, 310, BigInt.asUintN(64, h));
        if (h === 0n) this.#hdecPending[c.id] = true;
      }
    }
    if (this.#hdecPending[c.id] && !c.hypervisorState && !c.halted) {
      this.#hdecPending[c.id] = false;
      c.interrupt(0x980);
    }
  }


  /** Wake a thread with an external interrupt (a device finished, console input). */
  raiseExternal(cpuId: number): void {
    const c = this.cpus[cpuId];
    if (!c) throw new RangeError(`no cpu ${cpuId}`);
    if (c.idle) c.interrupt(0x500);
  }

  /** The thread stopped with a reason (power-off) or checkstopped. */
  assertRunnable(): void {
    if (this.cpus.every((c) => c.halted)) throw new Checkstop('every hardware thread is halted');
  }
}

export { Cpu };
