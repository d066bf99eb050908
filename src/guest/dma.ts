// The guest's DMA API. A normal VM gives devices its own guest-physical addresses. A secure
// VM cannot: devices (and the hypervisor behind them) never reach secure memory, so every
// DMA goes through SWIOTLB, a pool of pages the kernel shared with UV_SHARE_PAGE at boot, and
// buffers are copied in and out of it (Linux: swiotlb + set_memory_decrypted).

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import * as mem from './mem.js';
import type { PageAllocator } from './pages.js';
import { PAGE_SIZE } from '../abi/pages.js';

export type DmaDirection = 'to-device' | 'from-device';

export interface DmaApi {
  readonly bounce: boolean;
  /** Memory the driver and the device both use in place (rings, request headers). */
  allocCoherent(bytes: number, what: string): number;
  mapSingle(cpu: Cpu, gpa: number, len: number, dir: DmaDirection): Generator<Op, number, void>;
  unmapSingle(cpu: Cpu, dma: number, gpa: number, len: number, dir: DmaDirection): Generator<Op, void, void>;
}

/** A flow step that completes at once (no instruction to perform). */
// eslint-disable-next-line require-yield
function* done<T>(v: T): Generator<Op, T, void> { return v; }

export class DirectDma implements DmaApi {
  readonly bounce = false;
  constructor(private readonly pages: PageAllocator) {}
  allocCoherent(bytes: number, what: string): number { return this.pages.alloc(Math.ceil(bytes / PAGE_SIZE), what); }
  mapSingle(_cpu: Cpu, gpa: number): Generator<Op, number, void> { return done(gpa); }
  unmapSingle(): Generator<Op, void, void> { return done(undefined); }
}

/** IO_TLB_SIZE: the pool is managed in 2 KiB slabs, as Linux's swiotlb. */
export const IO_TLB_SIZE = 2048;

export class SwiotlbFull extends Error {
  constructor(len: number) { super(`swiotlb: no room for ${len} bytes`); this.name = 'SwiotlbFull'; }
}

export class Swiotlb implements DmaApi {
  readonly bounce = true;
  readonly #used: Uint8Array;
  /** Bytes bounced, for the benchmark and the report. */
  bounced = 0;

  constructor(readonly base: number, readonly size: number) {
    this.#used = new Uint8Array(Math.floor(size / IO_TLB_SIZE));
  }

  get slabs(): number { return this.#used.length; }

  #take(len: number, align = 1): number {
    const n = Math.ceil(len / IO_TLB_SIZE);
    const step = Math.max(1, Math.ceil(align / IO_TLB_SIZE));
    for (let i = 0; i + n <= this.#used.length; i += step) {
      let ok = true;
      for (let j = i; j < i + n; j++) if (this.#used[j]) { ok = false; break; }
      if (ok) { this.#used.fill(1, i, i + n); return this.base + i * IO_TLB_SIZE; }
    }
    throw new SwiotlbFull(len);
  }

  #release(addr: number, len: number): void {
    const i = Math.floor((addr - this.base) / IO_TLB_SIZE);
    this.#used.fill(0, i, i + Math.ceil(len / IO_TLB_SIZE));
  }

  allocCoherent(bytes: number): number { return this.#take(bytes, 4096); }

  *mapSingle(cpu: Cpu, gpa: number, len: number, dir: DmaDirection): Generator<Op, number, void> {
    const slot = this.#take(len);
    if (dir === 'to-device') { yield* mem.copy(cpu, slot, gpa, len); this.bounced += len; }
    return slot;
  }

  *unmapSingle(cpu: Cpu, dma: number, gpa: number, len: number, dir: DmaDirection): Generator<Op, void, void> {
    if (dir === 'from-device') { yield* mem.copy(cpu, gpa, dma, len); this.bounced += len; }
    this.#release(dma, len);
  }
}
