// The ultravisor's secure memory: whole 64 KiB frames for SVM pages and the partition table,
// and 8 KiB blocks carved from frames for the partition-scoped tables (one level of the model's
// radix tree is 1024 entries of 8 bytes). Frames are handed out once and taken back once;
// whoever gives a frame back has already zeroed it, so a fresh allocation never carries another
// SVM's data.

import { FRAME_SIZE } from '../hw/memory.js';
import { LEVEL_BYTES } from '../hw/mmu.js';

export class SecureFrameAllocator {
  readonly #ranges: { start: number; size: number }[];
  #range = 0;
  #next: number;
  readonly #freed: number[] = [];
  readonly #inUse = new Set<number>();
  readonly total: number;

  constructor(ranges: { start: number; size: number }[]) {
    this.#ranges = ranges.filter((r) => r.size >= FRAME_SIZE).map((r) => ({ ...r }));
    this.#next = this.#ranges[0]?.start ?? 0;
    this.total = this.#ranges.reduce((a, r) => a + Math.floor(r.size / FRAME_SIZE), 0);
  }

  get used(): number { return this.#inUse.size; }
  get free(): number { return this.total - this.#inUse.size; }

  /** A frame's real address, or undefined when secure memory is exhausted. */
  alloc(): number | undefined {
    let f = this.#freed.pop();
    if (f === undefined) {
      for (;;) {
        const r = this.#ranges[this.#range];
        if (!r) return undefined;
        if (this.#next + FRAME_SIZE <= r.start + r.size) break;
        this.#range++;
        this.#next = this.#ranges[this.#range]?.start ?? 0;
      }
      f = this.#next;
      this.#next += FRAME_SIZE;
    }
    this.#inUse.add(f);
    return f;
  }

  /** Take a frame back (already zeroed by the caller). A frame never allocated is a bug. */
  release(ra: number): void {
    if (!this.#inUse.delete(ra)) throw new Error(`secure frame 0x${ra.toString(16)} released twice or never allocated`);
    this.#freed.push(ra);
  }

  owns(ra: number): boolean { return this.#inUse.has(ra); }
}

/** 8 KiB table blocks carved from secure frames; a frame goes back when all its blocks are free. */
export class TableBlockAllocator {
  static readonly PER_FRAME = FRAME_SIZE / LEVEL_BYTES;
  readonly #free: number[] = [];
  readonly #usedPerFrame = new Map<number, number>();

  constructor(private readonly frames: SecureFrameAllocator) {}

  alloc(): number | undefined {
    let b = this.#free.pop();
    if (b === undefined) {
      const f = this.frames.alloc();
      if (f === undefined) return undefined;
      for (let i = TableBlockAllocator.PER_FRAME - 1; i >= 1; i--) this.#free.push(f + i * LEVEL_BYTES);
      this.#usedPerFrame.set(f, 0);
      b = f;
    }
    const frame = b - (b % FRAME_SIZE);
    this.#usedPerFrame.set(frame, (this.#usedPerFrame.get(frame) ?? 0) + 1);
    return b;
  }

  /** Give a block back (already zeroed). Returns the frame to release when it became empty. */
  release(block: number): number | undefined {
    const frame = block - (block % FRAME_SIZE);
    const n = (this.#usedPerFrame.get(frame) ?? 0) - 1;
    if (n < 0) throw new Error(`table block 0x${block.toString(16)} released twice`);
    if (n > 0) { this.#usedPerFrame.set(frame, n); this.#free.push(block); return undefined; }
    this.#usedPerFrame.delete(frame);
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const b = this.#free[i]!;
      if (b - (b % FRAME_SIZE) === frame) this.#free.splice(i, 1);
    }
    this.frames.release(frame);
    return frame;
  }
}
