// The partition table (in secure memory, PTCR is the ultravisor's) and each SVM's
// partition-scoped table, also in secure memory: the hypervisor can neither read nor redirect
// an SVM's translation. Formats are those of src/hw/mmu.ts.

import { FRAME_SIZE } from '../hw/memory.js';
import { encodeDir, encodePate0, encodePte, encodePtcr, gfnIndex, LEVEL_BYTES, LEVEL_ENTRIES, PATE_SIZE } from '../hw/mmu.js';
import type { SecureFrameAllocator, TableBlockAllocator } from './alloc.js';
import type { UvMemory } from './memory.js';

/** 64 KiB of partition table: 4096 entries of 16 bytes. */
export const PATS = 4;
export const PARTITION_ENTRIES = FRAME_SIZE / PATE_SIZE;

export class PartitionTable {
  constructor(readonly base: number) {}
  get ptcr(): bigint { return encodePtcr(this.base, PATS); }
  write(mem: UvMemory, lpid: number, dw0: bigint, dw1: bigint): void {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt.asUintN(64, dw0), false);
    dv.setBigUint64(8, BigInt.asUintN(64, dw1), false);
    mem.write(this.base + lpid * PATE_SIZE, b);
  }
  static alloc(frames: SecureFrameAllocator): PartitionTable {
    const f = frames.alloc();
    if (f === undefined) throw new Error('no secure memory for the partition table');
    return new PartitionTable(f);
  }
}

/** One SVM's guest-real to real translation. Directories cover 64 MiB of guest space each. */
export class SvmTables {
  readonly #dirs = new Map<number, number>();
  private constructor(readonly root: number, private readonly blocks: TableBlockAllocator) {}

  static create(blocks: TableBlockAllocator): SvmTables | undefined {
    const root = blocks.alloc();
    return root === undefined ? undefined : new SvmTables(root, blocks);
  }

  get pate0(): bigint { return encodePate0(this.root); }

  /** Make sure directories exist for guest frames [gfn, gfn+n): false when secure memory ran out. */
  reserve(mem: UvMemory, gfn: number, n: number): boolean {
    const first = Math.floor(gfn / LEVEL_ENTRIES);
    const last = Math.floor((gfn + n - 1) / LEVEL_ENTRIES);
    for (let l1 = first; l1 <= last; l1++) {
      if (this.#dirs.has(l1)) continue;
      const d = this.blocks.alloc();
      if (d === undefined) return false;
      this.#dirs.set(l1, d);
      mem.writeEntry(this.root + l1 * 8, encodeDir(d));
    }
    return true;
  }

  map(mem: UvMemory, gfn: number, ra: number, writable = true): void {
    const { l1, l2 } = gfnIndex(gfn * FRAME_SIZE);
    const d = this.#dirs.get(l1);
    if (d === undefined) throw new Error(`no directory reserved for guest frame ${gfn}`);
    mem.writeEntry(d + l2 * 8, encodePte(ra, writable));
  }

  unmap(mem: UvMemory, gfn: number): void {
    const { l1, l2 } = gfnIndex(gfn * FRAME_SIZE);
    const d = this.#dirs.get(l1);
    if (d !== undefined) mem.writeEntry(d + l2 * 8, 0n);
  }

  /** Zero every block and give it back. */
  release(mem: UvMemory): void {
    for (const d of this.#dirs.values()) { mem.zero(d, LEVEL_BYTES); this.blocks.release(d); }
    this.#dirs.clear();
    mem.zero(this.root, LEVEL_BYTES);
    this.blocks.release(this.root);
  }
}
