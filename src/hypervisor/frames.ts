// The hypervisor's normal memory: a free list of 64 KiB frames over the ranges firmware left
// it. Every frame goes back zeroed, so nothing a VM wrote (nor an SVM's ciphertext) survives
// into the next owner: a VM never reads another's data, and a scan of free memory finds none.
// Real address 0 is never handed out, as Linux never gives physical page 0 to a guest: the
// ultravisor refuses a hypervisor page at address 0 (UV_PAGE_IN/UV_PAGE_OUT: U_P2), so a VM page
// or a shared page there would fail. The first frame of a range that starts at 0 is left out.

import type { MemoryPort } from '../hw/machine.js';
import { FRAME_SIZE } from '../hw/memory.js';

export class OutOfFrames extends Error {
  constructor(what: string) { super(`out of normal memory (${what})`); this.name = 'OutOfFrames'; }
}

/** The lowest real address the pool hands out. */
const FIRST_FRAME = FRAME_SIZE;

export class FramePool {
  readonly #free: number[] = [];
  #next: number;
  #end: number;
  #range = 0;
  #inUse = 0;
  readonly total: number;

  constructor(private readonly ranges: readonly { start: number; size: number }[], private readonly mem: MemoryPort) {
    const r = ranges.map((x) => ({ start: Math.max(FIRST_FRAME, Math.ceil(x.start / FRAME_SIZE) * FRAME_SIZE), end: Math.floor((x.start + x.size) / FRAME_SIZE) * FRAME_SIZE }));
    this.ranges = r.map((x) => ({ start: x.start, size: Math.max(0, x.end - x.start) }));
    this.total = this.ranges.reduce((a, x) => a + x.size / FRAME_SIZE, 0);
    this.#next = this.ranges[0]?.start ?? 0;
    this.#end = this.#next + (this.ranges[0]?.size ?? 0);
  }

  get inUse(): number { return this.#inUse; }
  get available(): number { return this.total - this.#inUse; }

  /** A zeroed frame (fresh frames are zero; returned ones were zeroed on free). */
  alloc(what = 'guest memory'): number {
    let f = this.#free.pop();
    if (f === undefined) {
      while (this.#next + FRAME_SIZE > this.#end) {
        const r = this.ranges[++this.#range];
        if (!r) throw new OutOfFrames(what);
        this.#next = r.start; this.#end = r.start + r.size;
      }
      f = this.#next;
      this.#next += FRAME_SIZE;
    }
    this.#inUse++;
    return f;
  }

  /** Give a frame back (zeroed here). Only frames of the pool's ranges are taken: never address 0. */
  free(ra: number): void {
    if (ra % FRAME_SIZE !== 0 || !this.ranges.some((x) => ra >= x.start && ra < x.start + x.size)) {
      throw new RangeError(`frame 0x${ra.toString(16)} is not a frame of the pool`);
    }
    this.mem.fill(ra, FRAME_SIZE, 0);
    this.#free.push(ra);
    this.#inUse--;
  }
}
