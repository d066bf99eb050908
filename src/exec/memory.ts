// The user address space of a Linux process run by `pef exec`: sparse 64 KiB pages (the page
// size of ppc64le Linux) with read/write/execute permissions, a direct-mapped translation cache
// in front of them (with an integer fast path below 4 GiB, where the loader puts everything),
// and watched code pages so that stores into code reach the decode cache.
// It implements the interpreter's Mem interface; a refused access throws the architected
// storage interrupt (DSI 0x300, ISI 0x400), which the runner turns into SIGSEGV.

import { HardwareInterrupt } from '../hw/faults.js';
import type { Mem } from '../hw/cpu/isa/state.js';

export const PAGE_SHIFT = 16;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;

interface Page { bytes: Uint8Array; dv: DataView; prot: number; code: boolean }

const TLB = 256;

export class UserMemory implements Mem {
  private readonly pages = new Map<number, Page>();
  // Separate read and write caches: a page is in the write cache only if writable and not code.
  private readonly rTag = new Float64Array(TLB).fill(-1);
  private readonly rDv: DataView[] = new Array<DataView>(TLB);
  private readonly wTag = new Float64Array(TLB).fill(-1);
  private readonly wDv: DataView[] = new Array<DataView>(TLB);
  /** Called with the address of a store into a page holding decoded code. */
  onCodeWrite: (ea: number) => void = () => {};
  /** The reservation of lwarx/ldarx (-1: none). */
  reservation = -1;

  // ---- mapping ----------------------------------------------------------------------------

  isMapped(ea: number): boolean { return this.pages.has(Math.floor(ea / PAGE_SIZE)); }
  protOf(ea: number): number { return this.pages.get(Math.floor(ea / PAGE_SIZE))?.prot ?? 0; }

  /** Map [start, start+len) (page aligned) as fresh zero pages with `prot`, replacing anything there. */
  map(start: number, len: number, prot: number): void {
    for (let p = start / PAGE_SIZE; p < (start + len) / PAGE_SIZE; p++) {
      const bytes = new Uint8Array(PAGE_SIZE);
      this.pages.set(p, { bytes, dv: new DataView(bytes.buffer), prot, code: false });
    }
    this.flush();
  }
  unmap(start: number, len: number): void {
    for (let p = start / PAGE_SIZE; p < (start + len) / PAGE_SIZE; p++) {
      const pg = this.pages.get(p);
      if (pg?.code) this.onCodeWrite(p * PAGE_SIZE);
      this.pages.delete(p);
    }
    this.flush();
  }
  /** Change permissions; false if part of the range is not mapped (ENOMEM). */
  protect(start: number, len: number, prot: number): boolean {
    for (let p = start / PAGE_SIZE; p < (start + len) / PAGE_SIZE; p++) if (!this.pages.has(p)) return false;
    for (let p = start / PAGE_SIZE; p < (start + len) / PAGE_SIZE; p++) {
      const pg = this.pages.get(p)!;
      if (pg.code && !(prot & PROT_EXEC)) this.onCodeWrite(p * PAGE_SIZE);
      pg.prot = prot;
    }
    this.flush();
    return true;
  }
  /** Zero mapped pages in a range (madvise DONTNEED). */
  zeroRange(start: number, len: number): void {
    for (let p = start / PAGE_SIZE; p < (start + len) / PAGE_SIZE; p++) this.pages.get(p)?.bytes.fill(0);
  }
  /** Whether [start, start+len) is entirely unmapped. */
  isFree(start: number, len: number): boolean {
    for (let p = start / PAGE_SIZE; p < (start + len) / PAGE_SIZE; p++) if (this.pages.has(p)) return false;
    return true;
  }
  private flush(): void { this.rTag.fill(-1); this.wTag.fill(-1); }

  /** The decode cache now holds code from the page containing ea: send stores there to onCodeWrite. */
  watchCode(ea: number): void {
    const pg = this.pages.get(Math.floor(ea / PAGE_SIZE));
    if (pg && !pg.code) { pg.code = true; this.flush(); }
  }

  // ---- bulk access (loader and syscalls; no permission checks beyond mapping) ---------------

  /** Copy bytes out; throws DSI on an unmapped page. */
  read(ea: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = ea + done, off = a % PAGE_SIZE, n = Math.min(len - done, PAGE_SIZE - off);
      out.set(this.page(a, 0, 0x300).bytes.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }
  /** Copy bytes in (syscalls write user buffers: needs PROT_WRITE unless `force`). */
  write(ea: number, data: Uint8Array, force = false): void {
    let done = 0;
    while (done < data.length) {
      const a = ea + done, off = a % PAGE_SIZE, n = Math.min(data.length - done, PAGE_SIZE - off);
      const pg = this.page(a, force ? 0 : PROT_WRITE, 0x300);
      pg.bytes.set(data.subarray(done, done + n), off);
      if (pg.code) this.onCodeWrite(a);
      done += n;
    }
    this.reservation = -1;
  }
  /** A NUL-terminated string (at most `max` bytes). */
  readCString(ea: number, max = 4096): string {
    const bytes: number[] = [];
    for (let i = 0; i < max; i++) {
      const b = this.load8(ea + i);
      if (b === 0) return Buffer.from(bytes).toString('utf8');
      bytes.push(b);
    }
    throw new HardwareInterrupt(0x300, 'string too long', 0n, ea);
  }

  private page(ea: number, need: number, vector: number): Page {
    const pg = this.pages.get(Math.floor(ea / PAGE_SIZE));
    if (!pg || (pg.prot & need) !== need) {
      throw new HardwareInterrupt(vector, `${pg ? 'permission' : 'no mapping'} at 0x${ea.toString(16)}`, 0n, ea, pg ? 0x08000000 : 0x40000000);
    }
    return pg;
  }

  // ---- the interpreter's path ----------------------------------------------------------------

  private rdv(ea: number): DataView {
    const pn = Math.floor(ea / PAGE_SIZE), i = pn & (TLB - 1);
    if (this.rTag[i] === pn) return this.rDv[i]!;
    const pg = this.page(ea, PROT_READ, 0x300);
    this.rTag[i] = pn; this.rDv[i] = pg.dv;
    return pg.dv;
  }
  private wdv(ea: number): DataView {
    const pn = Math.floor(ea / PAGE_SIZE), i = pn & (TLB - 1);
    if (this.wTag[i] === pn) return this.wDv[i]!;
    const pg = this.page(ea, PROT_WRITE, 0x300);
    if (pg.code) this.onCodeWrite(ea);
    else { this.wTag[i] = pn; this.wDv[i] = pg.dv; }
    return pg.dv;
  }

  load8(ea: number): number {
    if (ea >= 0 && ea < 4294967296) {
      const pn = ea >>> PAGE_SHIFT, i = pn & (TLB - 1);
      if (this.rTag[i] === pn) return this.rDv[i]!.getUint8(ea & (PAGE_SIZE - 1));
    }
    return this.rdv(ea).getUint8(ea % PAGE_SIZE);
  }
  load16(ea: number): number {
    const o = ea % PAGE_SIZE;
    if (o <= PAGE_SIZE - 2) return this.rdv(ea).getUint16(o, true);
    return this.load8(ea) | (this.load8(ea + 1) << 8);
  }
  load32(ea: number): number {
    if (ea >= 0 && ea < 4294967296) {
      const pn = ea >>> PAGE_SHIFT, i = pn & (TLB - 1), o = ea & (PAGE_SIZE - 1);
      if (this.rTag[i] === pn && o <= PAGE_SIZE - 4) return this.rDv[i]!.getUint32(o, true);
    }
    const pn = Math.floor(ea / PAGE_SIZE), i = pn & (TLB - 1), o = ea - pn * PAGE_SIZE;
    if (this.rTag[i] === pn && o <= PAGE_SIZE - 4) return this.rDv[i]!.getUint32(o, true);
    if (o <= PAGE_SIZE - 4) return this.rdv(ea).getUint32(o, true);
    return (this.load16(ea) | (this.load16(ea + 2) << 16)) >>> 0;
  }
  load64Into(ea: number, dst: Uint32Array, k: number): void {
    if (ea >= 0 && ea < 4294967296) {
      const pn = ea >>> PAGE_SHIFT, i = pn & (TLB - 1), o = ea & (PAGE_SIZE - 1);
      if (this.rTag[i] === pn && o <= PAGE_SIZE - 8) {
        const dv = this.rDv[i]!;
        dst[k] = dv.getUint32(o, true); dst[k + 1] = dv.getUint32(o + 4, true);
        return;
      }
    }
    const pn = Math.floor(ea / PAGE_SIZE), i = pn & (TLB - 1), o = ea - pn * PAGE_SIZE;
    if (o <= PAGE_SIZE - 8) {
      const dv = this.rTag[i] === pn ? this.rDv[i]! : this.rdv(ea);
      dst[k] = dv.getUint32(o, true); dst[k + 1] = dv.getUint32(o + 4, true);
      return;
    }
    dst[k] = this.load32(ea); dst[k + 1] = this.load32(ea + 4);
  }
  store8(ea: number, v: number): void {
    if (ea >= 0 && ea < 4294967296) {
      const pn = ea >>> PAGE_SHIFT, i = pn & (TLB - 1);
      if (this.wTag[i] === pn) { this.wDv[i]!.setUint8(ea & (PAGE_SIZE - 1), v); this.reservation = -1; return; }
    }
    this.wdv(ea).setUint8(ea % PAGE_SIZE, v); this.reservation = -1;
  }
  store16(ea: number, v: number): void {
    const o = ea % PAGE_SIZE;
    if (o <= PAGE_SIZE - 2) { this.wdv(ea).setUint16(o, v, true); this.reservation = -1; return; }
    this.store8(ea, v & 0xff); this.store8(ea + 1, (v >>> 8) & 0xff);
  }
  store32(ea: number, v: number): void {
    if (ea >= 0 && ea < 4294967296) {
      const pn = ea >>> PAGE_SHIFT, i = pn & (TLB - 1), o = ea & (PAGE_SIZE - 1);
      if (this.wTag[i] === pn && o <= PAGE_SIZE - 4) { this.wDv[i]!.setUint32(o, v, true); this.reservation = -1; return; }
    }
    const pn = Math.floor(ea / PAGE_SIZE), i = pn & (TLB - 1), o = ea - pn * PAGE_SIZE;
    if (o <= PAGE_SIZE - 4) {
      (this.wTag[i] === pn ? this.wDv[i]! : this.wdv(ea)).setUint32(o, v, true);
      this.reservation = -1;
      return;
    }
    this.store16(ea, v & 0xffff); this.store16(ea + 2, v >>> 16);
  }
  store64From(ea: number, src: Uint32Array, k: number): void {
    if (ea >= 0 && ea < 4294967296) {
      const pn = ea >>> PAGE_SHIFT, i = pn & (TLB - 1), o = ea & (PAGE_SIZE - 1);
      if (this.wTag[i] === pn && o <= PAGE_SIZE - 8) {
        const dv = this.wDv[i]!;
        dv.setUint32(o, src[k]!, true); dv.setUint32(o + 4, src[k + 1]!, true);
        this.reservation = -1;
        return;
      }
    }
    const pn = Math.floor(ea / PAGE_SIZE), i = pn & (TLB - 1), o = ea - pn * PAGE_SIZE;
    if (o <= PAGE_SIZE - 8) {
      const dv = this.wTag[i] === pn ? this.wDv[i]! : this.wdv(ea);
      dv.setUint32(o, src[k]!, true); dv.setUint32(o + 4, src[k + 1]!, true);
      this.reservation = -1;
      return;
    }
    this.store32(ea, src[k]!); this.store32(ea + 4, src[k + 1]!);
  }
  fetch32(ea: number): number {
    return this.page(ea, PROT_EXEC, 0x400).dv.getUint32(ea % PAGE_SIZE, true);
  }
}
