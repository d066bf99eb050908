// virtio-blk driver: reads and writes sectors through the DMA API, so a secure guest's data
// crosses only its SWIOTLB pool. Large transfers are split into requests of at most MAX_REQ.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import type { DmaApi } from '../dma.js';
import * as mem from '../mem.js';
import { MmioTransport, REG } from './transport.js';
import { Virtqueue } from './virtqueue.js';

export const SECTOR = 512;
export const MAX_REQ = 256 * 1024;
const T_IN = 0;
const T_OUT = 1;

export class BlockIoError extends Error {
  constructor(message: string) { super(message); this.name = 'BlockIoError'; }
}

type G<T> = Generator<Op, T, void>;

export class VirtioBlkDriver {
  capacity = 0;
  readonly #vq: Virtqueue;
  readonly #hdr: number;
  requests = 0;

  constructor(readonly name: string, readonly t: MmioTransport, private readonly dma: DmaApi) {
    this.#vq = new Virtqueue(0, 64, dma, name);
    this.#hdr = dma.allocCoherent(32, `${name} request header`);
  }

  get bytes(): number { return this.capacity * SECTOR; }

  *init(cpu: Cpu, secure: boolean): G<void> {
    yield* this.t.init(cpu, { secure, want: 0n });
    yield* this.#vq.setup(cpu, this.t);
    yield* this.t.ready(cpu);
    this.capacity = Number(yield* this.t.read(cpu, REG.CONFIG, 8));
  }

  /** Read `len` bytes (whole sectors) at byte `offset` of the disk into guest memory at `gpa`. */
  *read(cpu: Cpu, offset: number, gpa: number, len: number): G<void> { yield* this.#io(cpu, T_IN, offset, gpa, len); }
  *write(cpu: Cpu, offset: number, gpa: number, len: number): G<void> { yield* this.#io(cpu, T_OUT, offset, gpa, len); }

  *#io(cpu: Cpu, type: number, offset: number, gpa: number, len: number): G<void> {
    if (offset % SECTOR || len % SECTOR) throw new BlockIoError(`${this.name}: unaligned request at ${offset}+${len}`);
    if (offset + len > this.bytes) throw new BlockIoError(`${this.name}: request at ${offset}+${len} beyond the disk's ${this.bytes} bytes`);
    for (let done = 0; done < len; done += MAX_REQ) {
      const n = Math.min(MAX_REQ, len - done);
      const h = new Uint8Array(17);
      const dv = new DataView(h.buffer);
      dv.setUint32(0, type, true);
      dv.setBigUint64(8, BigInt((offset + done) / SECTOR), true);
      h[16] = 0xff;
      yield* mem.write(cpu, this.#hdr, h);
      const dir = type === T_IN ? 'from-device' : 'to-device';
      const d = yield* this.dma.mapSingle(cpu, gpa + done, n, dir);
      yield* this.#vq.submit(cpu, this.t, [
        { addr: this.#hdr, len: 16, write: false },
        { addr: d, len: n, write: type === T_IN },
        { addr: this.#hdr + 16, len: 1, write: true },
      ]);
      yield* this.#vq.wait(cpu);
      yield* this.dma.unmapSingle(cpu, d, gpa + done, n, dir);
      this.requests++;
      const status = (yield* mem.read(cpu, this.#hdr + 16, 1))[0];
      if (status !== 0) throw new BlockIoError(`${this.name}: ${type === T_IN ? 'read' : 'write'} at sector ${(offset + done) / SECTOR} failed (status ${status})`);
    }
  }
}
