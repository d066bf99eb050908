// The device side of a virtio split virtqueue: descriptor table, available ring and used ring
// in guest memory, all reached through the device's DMA window (which, for a secure guest,
// covers only the pages it shared). Chains are bounded by the queue size, so a hostile ring
// cannot make the device loop.

import { VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE } from './constants.js';

/** Guest memory as a device reaches it; throws DmaRefused on memory the device may not touch. */
export interface GuestDma {
  read(gpa: number, len: number): Uint8Array;
  write(gpa: number, data: Uint8Array): void;
}

export class DmaRefused extends Error {
  constructor(readonly gpa: number, why: string) { super(`DMA to guest address 0x${gpa.toString(16)} refused: ${why}`); this.name = 'DmaRefused'; }
}

export class VirtqueueError extends Error {
  constructor(message: string) { super(message); this.name = 'VirtqueueError'; }
}

export interface Span { addr: number; len: number }
export interface Chain { head: number; readable: Span[]; writable: Span[] }

export const QUEUE_NUM_MAX = 256;

const u16 = (b: Uint8Array, o = 0) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o = 0) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

export class DeviceQueue {
  num = 0;
  ready = false;
  desc = 0;
  avail = 0;
  used = 0;
  lastAvail = 0;
  usedIdx = 0;

  reset(): void { this.num = 0; this.ready = false; this.desc = 0; this.avail = 0; this.used = 0; this.lastAvail = 0; this.usedIdx = 0; }

  /** The next available chain, or undefined when the driver has made none available. */
  pop(dma: GuestDma): Chain | undefined {
    if (!this.ready || this.num === 0) return undefined;
    const availIdx = u16(dma.read(this.avail + 2, 2));
    if (availIdx === this.lastAvail) return undefined;
    if (((availIdx - this.lastAvail) & 0xffff) > this.num) throw new VirtqueueError(`available index ${availIdx} is more than a queue ahead of ${this.lastAvail}`);
    const head = u16(dma.read(this.avail + 4 + 2 * (this.lastAvail % this.num), 2));
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    const chain: Chain = { head, readable: [], writable: [] };
    let i = head;
    for (let n = 0; ; n++) {
      if (i >= this.num) throw new VirtqueueError(`descriptor index ${i} outside a queue of ${this.num}`);
      if (n >= this.num) throw new VirtqueueError('descriptor chain loops');
      const d = dma.read(this.desc + 16 * i, 16);
      const addr = u32(d, 0) + u32(d, 4) * 0x100000000;
      const len = u32(d, 8);
      const flags = u16(d, 12);
      if (flags & VRING_DESC_F_INDIRECT) throw new VirtqueueError('indirect descriptors were not negotiated');
      if (flags & VRING_DESC_F_WRITE) chain.writable.push({ addr, len });
      else {
        if (chain.writable.length > 0) throw new VirtqueueError('a device-readable descriptor follows a writable one');
        chain.readable.push({ addr, len });
      }
      if (!(flags & VRING_DESC_F_NEXT)) break;
      i = u16(d, 14);
    }
    return chain;
  }

  /** Return a chain to the driver with the number of bytes written into it. */
  push(dma: GuestDma, head: number, written: number): void {
    const e = new Uint8Array(8);
    const dv = new DataView(e.buffer);
    dv.setUint32(0, head, true);
    dv.setUint32(4, written, true);
    dma.write(this.used + 4 + 8 * (this.usedIdx % this.num), e);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    const idx = new Uint8Array(2);
    new DataView(idx.buffer).setUint16(0, this.usedIdx, true);
    dma.write(this.used + 2, idx);
  }
}

/** Gather the device-readable bytes of a chain. */
export function gather(dma: GuestDma, spans: Span[], max = 1 << 26): Uint8Array {
  const total = spans.reduce((a, s) => a + s.len, 0);
  if (total > max) throw new VirtqueueError(`request of ${total} bytes is larger than ${max}`);
  const out = new Uint8Array(total);
  let o = 0;
  for (const s of spans) { out.set(dma.read(s.addr, s.len), o); o += s.len; }
  return out;
}

/** Scatter bytes into device-writable spans, in order; returns how many were written. */
export function scatter(dma: GuestDma, spans: Span[], data: Uint8Array): number {
  let o = 0;
  for (const s of spans) {
    if (o >= data.length) break;
    const n = Math.min(s.len, data.length - o);
    dma.write(s.addr, data.subarray(o, o + n));
    o += n;
  }
  return o;
}
