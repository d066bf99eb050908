// A VM as the hypervisor sees it: memory slots backed by normal frames it maps lazily in the
// partition-scoped table, the per-page uvmem state once the VM asks to go secure, vCPUs, the
// registered VPAs, virtio devices and the console. The hypervisor is untrusted: nothing here
// is ever given plaintext of a secure page (the hardware refuses it, and the ultravisor only
// hands pages back through UV_PAGE_OUT, encrypted).

import type { RegsSnapshot } from '../hw/cpu/regs.js';
import { FRAME_SIZE } from '../hw/memory.js';
import type { UvmemState } from '../abi/pages.js';
import type { FramePool } from './frames.js';
import type { PartitionPageTable } from './pagetable.js';
import type { MmioDevice } from './virtio/mmio.js';

export interface Slot { id: number; start: number; size: number }

/** One guest frame in the hypervisor's view (KVM's uvmem). Absent from the map: normal, never touched. */
export interface GuestPage { state: UvmemState; /** Normal frame: plaintext (normal, shared) or ciphertext (paged-out). */ frame?: number }

/** The secure-guest transition as KVM tracks it. */
export type SvmState = 'normal' | 'init-started' | 'secure';

export type VmExit =
  | { kind: 'power-off' }
  | { kind: 'os-term'; message: string }
  | { kind: 'crash'; layer: string; message: string };

/** Where a vCPU resumes: the PC and MSR the hypervisor got (a cookie and S=1 for an SVM). */
export interface GuestContext { pc: bigint; msr: bigint }

export type VcpuState = 'new' | 'runnable' | 'running' | 'ceded' | 'stopped';

export class Vcpu {
  state: VcpuState = 'new';
  /** The register frame saved when the vCPU left the hardware thread. */
  saved: RegsSnapshot;
  /** Guest privileged SPRs (normal VMs only: an SVM's are the ultravisor's to keep). */
  readonly sprs = new Map<number, bigint>();
  ctx: GuestContext = { pc: 0n, msr: 0n };
  /** The status to give back in R0 on UV_RETURN (an SVM's pending hypercall). */
  pendingRc = 0;
  /** An interrupt is pending (device completion, prod): H_CEDE returns at once. */
  prodded = false;
  vpa: number | undefined;

  constructor(readonly vm: Vm, readonly id: number, readonly thread: number) {
    this.saved = emptySnapshot();
  }

  /** Whether the frame came from the ultravisor (MSR[S] in SRR1/HSRR1): resume with UV_RETURN. */
  get viaUltravisor(): boolean { return (this.ctx.msr & (1n << 22n)) !== 0n; }

  setGpr(n: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.saved.gpr[2 * n] = Number(u & 0xffffffffn);
    this.saved.gpr[2 * n + 1] = Number(u >> 32n);
  }
  gpr(n: number): bigint { return (BigInt(this.saved.gpr[2 * n + 1]!) << 32n) | BigInt(this.saved.gpr[2 * n]!); }
}

export function emptySnapshot(): RegsSnapshot {
  return { gpr: new Uint32Array(64), lrctr: new Uint32Array(4), cr: 0, xer: 0, fpscr: 0, vscr: 0, vsr: new Uint32Array(256), pc: 0 };
}

export interface VmImage {
  /** The kernel's loadable image and where it goes (its PT_LOAD p_paddr: kbase). */
  kernel: { paddr: number; bytes: Uint8Array; entry: number };
  initramfs?: Uint8Array;
  bootargs: string;
  /** RTAS text placed in guest memory and described in /rtas. */
  rtas: Uint8Array;
  /** The root disk (virtio-blk); absent: no block device. */
  disk?: Uint8Array;
}

export interface VmConfig {
  name: string;
  memBytes: number;
  vcpus?: number;
  /** KVM_CAP_PPC_SECURE_GUEST for this VM: off makes H_SVM_INIT_START answer H_AUTHORITY. */
  secureGuest: boolean;
  image: VmImage;
  /** Offer VIRTIO_F_ACCESS_PLATFORM on the virtio devices (QEMU's iommu_platform=on); default true. */
  iommuPlatform?: boolean;
}

export class Vm {
  readonly slots: Slot[];
  readonly pages = new Map<number, GuestPage>();
  svm: SvmState = 'normal';
  readonly vcpus: Vcpu[] = [];
  readonly devices: MmioDevice[] = [];
  exit: VmExit | undefined;
  /** A reset or destroy asked from outside, done by the hypervisor on the VM's thread. */
  request: 'reset' | 'destroy' | undefined;
  /** How many times the VM went secure (tests and the trace). */
  secureEntries = 0;
  resets = 0;
  fdtGpa = 0;
  /** UV_WRITE_PATE done for the current page table. */
  pateRegistered = false;
  /** Memory released and vCPUs gone (after an exit or a destroy). */
  tornDown = false;
  consoleBuf = '';
  readonly console: string[] = [];
  /** Wall-clock ms of the first console line, relative to VM start. */
  firstLineAt: number | undefined;
  startedAt = 0;

  constructor(readonly config: VmConfig, readonly lpid: number, public table: PartitionPageTable, private readonly pool: FramePool) {
    if (config.memBytes % FRAME_SIZE !== 0 || config.memBytes <= 0) throw new RangeError(`${config.name}: memory size must be a positive multiple of 64 KiB`);
    this.slots = [{ id: 0, start: 0, size: config.memBytes }];
  }

  get name(): string { return this.config.name; }
  get secure(): boolean { return this.svm === 'secure'; }
  get done(): boolean { return this.exit !== undefined; }

  slotOf(gpa: number): Slot | undefined {
    return this.slots.find((s) => gpa >= s.start && gpa < s.start + s.size);
  }

  pageState(gpa: number): UvmemState { return this.pages.get(Math.floor(gpa / FRAME_SIZE))?.state ?? 'normal'; }

  /**
   * The normal frame backing a guest page the hypervisor may touch in plaintext: a normal
   * page (allocated and mapped on first touch while the VM is not secure) or a shared one.
   * Secure and paged-out pages have none: undefined.
   */
  hostFrame(gpa: number, allocate = true): number | undefined {
    if (!this.slotOf(gpa)) return undefined;
    const gfn = Math.floor(gpa / FRAME_SIZE);
    const p = this.pages.get(gfn);
    if (p) return p.state === 'normal' || p.state === 'shared' ? p.frame : undefined;
    if (!allocate || this.svm !== 'normal') return undefined;
    const f = this.pool.alloc(`${this.name} memory`);
    this.pages.set(gfn, { state: 'normal', frame: f });
    this.table.map(gfn * FRAME_SIZE, f);
    return f;
  }

  /** Release every frame the VM holds (its pages and its page table). */
  releaseMemory(): void {
    for (const p of this.pages.values()) if (p.frame !== undefined) this.pool.free(p.frame);
    this.pages.clear();
    this.table.release();
  }
}
