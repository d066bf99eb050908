// How the ultravisor touches memory: through the hardware thread it is running on, in
// ultravisor mode, with real addresses. Every address that came from the hypervisor is checked
// against the machine's normal ranges before use: a refused access in ultravisor mode would
// stop the machine, and the hypervisor must never be able to make that happen.

import type { Cpu } from '../hw/cpu/cpu.js';
import { FRAME_SIZE, SECURE_BIT } from '../hw/memory.js';
import { entryBytes } from '../hw/mmu.js';

export class UvMemory {
  #cpu: Cpu | undefined;
  #normal: { start: number; size: number }[] = [];
  #secure: { start: number; size: number }[] = [];

  setRanges(normal: { start: number; size: number }[], secure: { start: number; size: number }[]): void {
    this.#normal = normal.map((r) => ({ ...r }));
    this.#secure = secure.map((r) => ({ ...r }));
  }

  /** Bind to the thread the ultravisor runs on now (every entry does this first). */
  bind(cpu: Cpu): void {
    if (!cpu.isUltravisor) throw new Error('ultravisor memory used outside ultravisor mode');
    this.#cpu = cpu;
  }
  get cpu(): Cpu {
    if (!this.#cpu) throw new Error('ultravisor memory used before any entry');
    return this.#cpu;
  }

  /** A whole 64 KiB page of normal memory: what the hypervisor may hand over. */
  isNormalPage(ra: number): boolean {
    if (!Number.isSafeInteger(ra) || ra <= 0 || ra % FRAME_SIZE !== 0 || ra >= SECURE_BIT) return false;
    return this.#normal.some((r) => ra >= r.start && ra + FRAME_SIZE <= r.start + r.size);
  }
  isNormalRange(ra: number, len: number): boolean {
    if (!Number.isSafeInteger(ra) || !Number.isSafeInteger(len) || ra < 0 || len < 0 || ra >= SECURE_BIT) return false;
    return this.#normal.some((r) => ra >= r.start && ra + len <= r.start + r.size);
  }
  isSecure(ra: number): boolean {
    return this.#secure.some((r) => ra >= r.start && ra < r.start + r.size);
  }

  read(ra: number, len: number): Uint8Array { return this.cpu.read(ra, len); }
  readInto(ra: number, out: Uint8Array): void { this.cpu.readInto(ra, out); }
  write(ra: number, data: Uint8Array): void { this.cpu.write(ra, data); }
  zero(ra: number, len = FRAME_SIZE): void { this.cpu.zero(ra, len); }
  copy(to: number, from: number, len: number): void { this.cpu.copy(to, from, len); }
  copyPage(from: number, to: number): void { this.cpu.copy(to, from, FRAME_SIZE); }
  /** A big-endian 8-byte table entry. */
  writeEntry(ra: number, v: bigint): void { this.cpu.write(ra, entryBytes(v)); }
}
