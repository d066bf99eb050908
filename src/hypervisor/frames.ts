// The hypervisor's normal memory: a free list of 64 KiB frames over the ranges firmware left
// it. Every frame goes back zeroed, so nothing a VM wrote (nor an SVM's ciphertext) survives
// into the next owner: a VM never reads another's data, and a scan of free memory finds none.

import type { MemoryPort } from '../hw/machine.js';
import { FRAME_SIZE } from '../hw/memory.js';

export class OutOfFrames extends Error {
  constructor(what: string) { super(`out of normal memory (${what})`); this.name = 'OutOfFrames'; }
}

export class FramePool {
  readonly #free: number[] = [];
  #next: number;
  #end: number;
  #range = 0;
  #inUse = 0;
  readonly total: number;

  constructor(private readonly ranges: readonly { start: number; size: number }[], private readonly mem: MemoryPort) {
    const r = ranges.map((x) => ({ start: Math.ceil(x.start / FRAME_SIZE) * FRAME_SIZE, end: Math.floor((x.start + x.size) / FRAME_SIZE) * FRAME_SIZE }));
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

  free(ra: number): void {
    this.mem.fill(ra, FRAME_SIZE, 0);
    this.#free.push(ra);
    this.#inUse--;
  }
}
