// The driver side of a split virtqueue in coherent DMA memory (for a secure guest, memory it
// shared). One request in flight at a time is all the model kernel needs; completion is found
// by polling the used ring, with H_CEDE while the device has not answered yet.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { HC } from '../../abi/hcalls.js';
import { hcall } from '../arch.js';
import type { DmaApi } from '../dma.js';
import * as mem from '../mem.js';
import type { MmioTransport } from './transport.js';

export const DESC_F_NEXT = 1;
export const DESC_F_WRITE = 2;

export interface Buf { addr: number; len: number; write: boolean }

export class VirtqueueTimeout extends Error {
  constructor(what: string) { super(what); this.name = 'VirtqueueTimeout'; }
}

type G<T> = Generator<Op, T, void>;

export class Virtqueue {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  #availIdx = 0;
  #lastUsed = 0;

  constructor(readonly index: number, readonly num: number, dma: DmaApi, what: string) {
    const availOff = 16 * num;
    const usedOff = Math.ceil((availOff + 6 + 2 * num) / 4) * 4;
    const base = dma.allocCoherent(usedOff + 6 + 8 * num, `${what} ring`);
    this.desc = base; this.avail = base + availOff; this.used = base + usedOff;
  }

  *setup(cpu: Cpu, t: MmioTransport): G<void> {
    yield* mem.zero(cpu, this.desc, this.used + 6 + 8 * this.num - this.desc);
    yield* t.setupQueue(cpu, this.index, this.num, this.desc, this.avail, this.used);
  }

  /** Post one chain and notify; returns its head. */
  *submit(cpu: Cpu, t: MmioTransport, bufs: Buf[]): G<number> {
    if (bufs.length === 0 || bufs.length > this.num) throw new RangeError('bad chain length');
    const d = new Uint8Array(16 * bufs.length);
    const dv = new DataView(d.buffer);
    bufs.forEach((b, i) => {
      dv.setBigUint64(16 * i, BigInt(b.addr), true);
      dv.setUint32(16 * i + 8, b.len, true);
      dv.setUint16(16 * i + 12, (b.write ? DESC_F_WRITE : 0) | (i + 1 < bufs.length ? DESC_F_NEXT : 0), true);
      dv.setUint16(16 * i + 14, i + 1 < bufs.length ? i + 1 : 0, true);
    });
    yield* mem.write(cpu, this.desc, d);
    yield* mem.store16(cpu, this.avail + 4 + 2 * (this.#availIdx % this.num), 0);
    this.#availIdx = (this.#availIdx + 1) & 0xffff;
    yield* mem.store16(cpu, this.avail + 2, this.#availIdx);
    yield* t.notify(cpu, this.index);
    return 0;
  }

  /** Wait for the next used entry; returns the bytes the device wrote. */
  *wait(cpu: Cpu, maxCedes = 1_000_000): G<number> {
    for (let i = 0; ; i++) {
      const idx = yield* mem.load16(cpu, this.used + 2);
      if (idx !== this.#lastUsed) {
        const len = yield* mem.load32(cpu, this.used + 4 + 8 * (this.#lastUsed % this.num) + 4);
        this.#lastUsed = (this.#lastUsed + 1) & 0xffff;
        return len;
      }
      if (i >= maxCedes) throw new VirtqueueTimeout(`virtqueue ${this.index}: the device never answered`);
      yield* hcall(cpu, HC.H_CEDE);
    }
  }
}
