// A VM's partition-scoped page table, kept by the hypervisor in normal memory in the format
// of src/hw/mmu.ts: a root of 1024 entries, each pointing to a directory of 1024 page entries
// (64 KiB pages). The table is registered with the ultravisor through UV_WRITE_PATE; an SVM's
// table is the ultravisor's own, in secure memory, and this one is then unused.

import type { MemoryPort } from '../hw/machine.js';
import { FRAME_SIZE } from '../hw/memory.js';
import { encodeDir, encodePate0, encodePte, entryBytes, gfnIndex, LEVEL_BYTES } from '../hw/mmu.js';
import type { FramePool } from './frames.js';

const ZERO = new Uint8Array(8);

export class PartitionPageTable {
  /** 8 KiB tables carved from whole frames. */
  readonly #frames: number[] = [];
  #carve = FRAME_SIZE;
  readonly root: number;
  readonly #dirs = new Map<number, number>();

  constructor(private readonly pool: FramePool, private readonly mem: MemoryPort) {
    this.root = this.#table();
  }

  #table(): number {
    if (this.#carve >= FRAME_SIZE) { this.#frames.push(this.pool.alloc('page tables')); this.#carve = 0; }
    const t = this.#frames[this.#frames.length - 1]! + this.#carve;
    this.#carve += LEVEL_BYTES;
    return t;
  }

  /** The partition-table entry's first doubleword for UV_WRITE_PATE. */
  get pate0(): bigint { return encodePate0(this.root); }

  map(gpa: number, ra: number, writable = true): void {
    const { l1, l2 } = gfnIndex(gpa);
    let dir = this.#dirs.get(l1);
    if (dir === undefined) {
      dir = this.#table();
      this.#dirs.set(l1, dir);
      this.mem.write(this.root + l1 * 8, entryBytes(encodeDir(dir)));
    }
    this.mem.write(dir + l2 * 8, entryBytes(encodePte(ra, writable)));
  }

  unmap(gpa: number): void {
    const { l1, l2 } = gfnIndex(gpa);
    const dir = this.#dirs.get(l1);
    if (dir !== undefined) this.mem.write(dir + l2 * 8, ZERO);
  }

  /** Give every table frame back (the VM is gone). */
  release(): void {
    for (const f of this.#frames) this.pool.free(f);
    this.#frames.length = 0;
    this.#dirs.clear();
  }
}
