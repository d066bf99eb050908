// The virtio-mmio transport (virtio 1.x, version 2 registers). Guests reach it with
// H_LOGICAL_CI_LOAD/STORE; the hypervisor routes each access by address. A device's work is
// queued by QUEUE_NOTIFY and done later by the hypervisor (as a real device thread would);
// completion sets the interrupt status and prods the VM's vCPUs.

import { DEVICE_ID, STATUS, VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_VERSION_1, VIRTIO_MAGIC, VIRTIO_MMIO, VIRTIO_MMIO_SIZE } from './constants.js';
import { DeviceQueue, DmaRefused, QUEUE_NUM_MAX, VirtqueueError, type GuestDma } from './queue.js';

/** Anything reachable by H_LOGICAL_CI_LOAD/STORE. */
export interface MmioDevice {
  readonly base: number;
  readonly size: number;
  readonly name: string;
  read(off: number, size: number): bigint;
  write(off: number, size: number, value: bigint): void;
}

export interface DeviceHost {
  /** The device has queued work: process it at the next opportunity. */
  kick(dev: VirtioMmioDevice): void;
  trace(e: Record<string, unknown>): void;
}

export abstract class VirtioMmioDevice implements MmioDevice {
  readonly size = VIRTIO_MMIO_SIZE;
  status = 0;
  #devFeatSel = 0;
  #drvFeatSel = 0;
  driverFeatures = 0n;
  #queueSel = 0;
  interruptStatus = 0;
  readonly queues: DeviceQueue[];
  /** Queues notified and not yet processed. */
  readonly pending = new Set<number>();
  /** Why the device stopped (it then sets DEVICE_NEEDS_RESET). */
  broken: string | undefined;

  /** Whether VIRTIO_F_ACCESS_PLATFORM is offered (QEMU's iommu_platform property); a secure guest refuses a device without it. */
  accessPlatform = true;

  constructor(readonly name: string, readonly base: number, readonly deviceId: number, nqueues: number, protected readonly host: DeviceHost, readonly extraFeatures = 0n) {
    this.queues = Array.from({ length: nqueues }, () => new DeviceQueue());
  }

  get features(): bigint { return (1n << VIRTIO_F_VERSION_1) | (this.accessPlatform ? 1n << VIRTIO_F_ACCESS_PLATFORM : 0n) | this.extraFeatures; }
  get driverOk(): boolean { return (this.status & STATUS.DRIVER_OK) !== 0 && this.broken === undefined; }

  protected abstract readConfig(off: number, size: number): bigint;
  /** Process every available chain of queue `q`; returns whether any chain completed. */
  protected abstract process(q: number, dma: GuestDma): boolean;

  read(off: number, size: number): bigint {
    if (off >= VIRTIO_MMIO.CONFIG) return this.readConfig(off - VIRTIO_MMIO.CONFIG, size);
    if (size !== 4) return 0n;
    const q = this.queues[this.#queueSel];
    switch (off) {
      case VIRTIO_MMIO.MAGIC_VALUE: return BigInt(VIRTIO_MAGIC);
      case VIRTIO_MMIO.VERSION: return 2n;
      case VIRTIO_MMIO.DEVICE_ID: return BigInt(this.deviceId);
      case VIRTIO_MMIO.VENDOR_ID: return 0x554d4551n; // "QEMU", as QEMU's devices report
      case VIRTIO_MMIO.DEVICE_FEATURES: return (this.features >> BigInt(32 * this.#devFeatSel)) & 0xffffffffn;
      case VIRTIO_MMIO.QUEUE_NUM_MAX: return q ? BigInt(QUEUE_NUM_MAX) : 0n;
      case VIRTIO_MMIO.QUEUE_READY: return q?.ready ? 1n : 0n;
      case VIRTIO_MMIO.INTERRUPT_STATUS: return BigInt(this.interruptStatus);
      case VIRTIO_MMIO.STATUS: return BigInt(this.status);
      case VIRTIO_MMIO.CONFIG_GENERATION: return 0n;
      default: return 0n;
    }
  }

  write(off: number, size: number, value: bigint): void {
    if (off >= VIRTIO_MMIO.CONFIG || size !== 4) return;
    const v = Number(value & 0xffffffffn);
    const q = this.queues[this.#queueSel];
    const lo = (old: number) => old - (old % 0x100000000) + v;
    const hi = (old: number) => (old % 0x100000000) + v * 0x100000000;
    switch (off) {
      case VIRTIO_MMIO.DEVICE_FEATURES_SEL: this.#devFeatSel = v; return;
      case VIRTIO_MMIO.DRIVER_FEATURES_SEL: this.#drvFeatSel = v; return;
      case VIRTIO_MMIO.DRIVER_FEATURES: {
        const shift = BigInt(32 * this.#drvFeatSel);
        if (this.#drvFeatSel > 1) return;
        this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(v) << shift);
        return;
      }
      case VIRTIO_MMIO.QUEUE_SEL: this.#queueSel = v; return;
      case VIRTIO_MMIO.QUEUE_NUM: if (q && v > 0 && v <= QUEUE_NUM_MAX && (v & (v - 1)) === 0) q.num = v; return;
      case VIRTIO_MMIO.QUEUE_READY: if (q) q.ready = v === 1; return;
      case VIRTIO_MMIO.QUEUE_NOTIFY:
        if (v < this.queues.length && this.driverOk) { this.pending.add(v); this.host.kick(this); }
        return;
      case VIRTIO_MMIO.INTERRUPT_ACK: this.interruptStatus &= ~v; return;
      case VIRTIO_MMIO.STATUS: this.setStatus(v); return;
      case VIRTIO_MMIO.QUEUE_DESC_LOW: if (q) q.desc = lo(q.desc); return;
      case VIRTIO_MMIO.QUEUE_DESC_HIGH: if (q) q.desc = hi(q.desc); return;
      case VIRTIO_MMIO.QUEUE_DRIVER_LOW: if (q) q.avail = lo(q.avail); return;
      case VIRTIO_MMIO.QUEUE_DRIVER_HIGH: if (q) q.avail = hi(q.avail); return;
      case VIRTIO_MMIO.QUEUE_DEVICE_LOW: if (q) q.used = lo(q.used); return;
      case VIRTIO_MMIO.QUEUE_DEVICE_HIGH: if (q) q.used = hi(q.used); return;
      default: return;
    }
  }

  private setStatus(v: number): void {
    if (v === 0) { this.reset(); return; }
    if ((v & STATUS.FEATURES_OK) && !(this.status & STATUS.FEATURES_OK)) {
      // Only features we offered may be accepted, and a 1.x driver must take VERSION_1.
      const ok = (this.driverFeatures & ~this.features) === 0n && (this.driverFeatures & (1n << VIRTIO_F_VERSION_1)) !== 0n;
      if (!ok) v &= ~STATUS.FEATURES_OK;
    }
    this.status = v;
  }

  reset(): void {
    this.status = 0; this.driverFeatures = 0n; this.interruptStatus = 0; this.broken = undefined;
    this.pending.clear();
    for (const q of this.queues) q.reset();
  }

  /** Run the queued work; returns whether the driver should be interrupted. */
  service(dma: GuestDma): boolean {
    let done = false;
    for (const q of [...this.pending]) {
      this.pending.delete(q);
      if (!this.driverOk) continue;
      try {
        if (this.process(q, dma)) done = true;
      } catch (e) {
        if (!(e instanceof DmaRefused || e instanceof VirtqueueError)) throw e;
        // The guest pointed the device at memory it may not use (or a broken ring): stop.
        this.broken = e.message;
        this.status |= STATUS.DEVICE_NEEDS_RESET;
        this.host.trace({ kind: 'virtio-error', device: this.name, why: e.message });
        done = true;
      }
    }
    if (done) this.interruptStatus |= 1;
    return done;
  }
}

export { DEVICE_ID };
