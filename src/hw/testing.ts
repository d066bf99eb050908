// Helpers that drive a bare machine the way boot firmware would, through architected
// operations only (used by hw tests and the machine benchmark, never by the layers above).

import { MSR } from '../abi/msr.js';
import { SPR } from '../abi/spr.js';
import type { Cpu } from './cpu/cpu.js';
import type { Machine } from './machine.js';
import { encodeDir, encodePate0, encodePte, encodePtcr, entryBytes, gfnIndex, PATE_SIZE } from './mmu.js';
import { FRAME_SIZE } from './memory.js';

/** A bump allocator over real address ranges (64 KiB frames). */
export class FrameAllocator {
  private next: number;
  private end: number;
  private i = 0;
  constructor(private readonly ranges: { start: number; size: number }[]) {
    this.next = ranges[0]?.start ?? 0;
    this.end = (ranges[0]?.start ?? 0) + (ranges[0]?.size ?? 0);
  }
  alloc(): number {
    while (this.next + FRAME_SIZE > this.end) {
      this.i++;
      const r = this.ranges[this.i];
      if (!r) throw new RangeError('out of frames');
      this.next = r.start; this.end = r.start + r.size;
    }
    const f = this.next;
    this.next += FRAME_SIZE;
    return f;
  }
}

/**
 * From ultravisor (or pre-PEF hypervisor) mode on `cpu`: create a partition table, give `lpid`
 * a partition-scoped table mapping guest [0, size) to fresh normal frames, and return the
 * mapping. The CPU is left in its current mode.
 */
export function buildIdentityPartition(m: Machine, cpu: Cpu, lpid: number, size: number, opts: { tableInSecure?: boolean } = {}): { frames: number[]; tables: FrameAllocator; ptab: number } {
  const secure = opts.tableInSecure ?? m.smf;
  // The partition table is the ultravisor's (secure memory); a normal partition's own tables
  // and frames are normal memory, which the walk for an S=0 access may read.
  const upper = m.normalRanges().map((r) => ({ start: r.start + r.size / 2, size: r.size / 2 }));
  const ptab = new FrameAllocator(secure ? m.secureRanges() : upper).alloc();
  const tables = new FrameAllocator(secure ? upper : upper.map((r) => ({ start: r.start + FRAME_SIZE, size: r.size - FRAME_SIZE })));
  const data = new FrameAllocator(m.normalRanges());
  cpu.mtspr(SPR.PTCR!, encodePtcr(ptab, 4));
  const root = tables.alloc();
  cpu.write(ptab + lpid * PATE_SIZE, entryBytes(encodePate0(root)));
  const dirs = new Map<number, number>();
  const frames: number[] = [];
  for (let gpa = 0; gpa < size; gpa += FRAME_SIZE) {
    const { l1, l2 } = gfnIndex(gpa);
    let dir = dirs.get(l1);
    if (dir === undefined) {
      dir = tables.alloc();
      dirs.set(l1, dir);
      cpu.write(root + l1 * 8, entryBytes(encodeDir(dir)));
    }
    const f = data.alloc();
    frames.push(f);
    cpu.write(dir + l2 * 8, entryBytes(encodePte(f)));
  }
  cpu.mtspr(SPR.LPIDR!, BigInt(lpid));
  // Enter the guest's privileged state at address 0 the architected way.
  enterMode(cpu, MSR.SF | MSR.LE | MSR.ME, 0);
  return { frames, tables, ptab };
}

/** Leave ultravisor or hypervisor mode for `msr` at `pc` with urfid (or hrfid before PEF). */
export function enterMode(cpu: Cpu, msr: bigint, pc: number): void {
  if (cpu.isUltravisor) {
    cpu.mtspr(SPR.USRR0!, BigInt(pc));
    cpu.mtspr(SPR.USRR1!, msr);
    cpu.urfid();
  } else {
    cpu.mtspr(SPR.HSRR0!, BigInt(pc));
    cpu.mtspr(SPR.HSRR1!, msr);
    cpu.hrfid();
  }
}
