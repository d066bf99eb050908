// Bringing in only the parts of a large ESM blob that UV_ESM reads. With its lookup index, a
// blob authorized for a million machines is some 400 MiB, of which the ultravisor needs the
// header, the strings and reservation blocks, the top of the structure block, the index, the
// lockboxes the index names for this machine (and the first one, which the index is checked
// against) and everything after /lockboxes (digests, files). Those 64 KiB chunks are paged in
// and copied into a buffer of the blob's size; the rest stays zero and is paged in later with
// the rest of the VM (H_SVM_INIT_DONE). Reading a zero where the blob has data can only make
// the format library refuse the blob: the key and the digests are authenticated (GCM), so a
// blob read partly cannot pass for a valid one.

import type { HcallAnswer, HcallRequest } from './context.js';

type Gen<T> = Generator<HcallRequest, T, HcallAnswer>;

const CHUNK = 1 << 16;
const FDT_MAGIC = 0xd00dfeed;
const BEGIN_NODE = 1, END_NODE = 2, PROP = 3, NOP = 4, END = 9;
const INDEX_NAME = 'pef,lockbox-index';
const INDEX_MAGIC = 0x504c4258, INDEX_HEADER = 40, INDEX_PREFIX = 8, INDEX_ENTRY = 12;
/** Below this size the whole blob is read: there is nothing to gain. */
export const SPARSE_MIN = 4 << 20;

class Inconsistent extends Error {}

export class SparseBlob {
  readonly bytes: Uint8Array;
  readonly #have = new Set<number>();
  readonly #dv: DataView;
  #strings = { off: 0, size: 0 };
  #struct = { start: 0, end: 0 };

  /** `read(off, n)` pages in and returns [off, off+n) of the blob. */
  constructor(readonly length: number, private readonly read: (off: number, n: number) => Gen<Uint8Array>) {
    this.bytes = new Uint8Array(length);
    this.#dv = new DataView(this.bytes.buffer);
  }

  /** How many 64 KiB chunks were read. */
  get chunksRead(): number { return this.#have.size; }

  *need(off: number, n: number): Gen<void> {
    if (!(off >= 0 && n >= 0 && off + n <= this.length)) throw new Inconsistent(`offset ${off}+${n} outside the blob`);
    for (let c = Math.floor(off / CHUNK); n > 0 && c <= Math.floor((off + n - 1) / CHUNK); c++) {
      if (this.#have.has(c)) continue;
      const start = c * CHUNK, len = Math.min(CHUNK, this.length - start);
      this.bytes.set(yield* this.read(start, len), start);
      this.#have.add(c);
    }
  }

  *all(): Gen<void> { yield* this.need(0, this.length); }

  #u32(off: number): number { return this.#dv.getUint32(off); }

  /** Read what the format library will read to find `fingerprint`'s lockbox; the whole blob when unsure. */
  *fetchFor(fingerprint: Uint8Array): Gen<void> {
    try {
      yield* this.#walk(fingerprint);
    } catch (e) {
      if (!(e instanceof Inconsistent)) throw e;
      yield* this.all();
    }
  }

  *#walk(fp: Uint8Array): Gen<void> {
    yield* this.need(0, 40);
    const h = (i: number) => this.#u32(i * 4);
    if (h(0) !== FDT_MAGIC || h(1) !== this.length) throw new Inconsistent('not a DTB of this size');
    const offStruct = h(2), offStrings = h(3), offRsv = h(4), sizeStrings = h(8), sizeStruct = h(9);
    this.#struct = { start: offStruct, end: offStruct + sizeStruct };
    this.#strings = { off: offStrings, size: sizeStrings };
    yield* this.need(offStrings, sizeStrings);
    for (let o = offRsv, k = 0; ; o += 16, k++) {
      if (k > 4096) throw new Inconsistent('reservation block');
      yield* this.need(o, 16);
      if (this.#dv.getBigUint64(o) === 0n && this.#dv.getBigUint64(o + 8) === 0n) break;
    }
    let off = yield* this.#skipNops(this.#struct.start);
    if (this.#tag(off) !== BEGIN_NODE) throw new Inconsistent('no root node');
    off = yield* this.#beginNext(off);
    off = yield* this.#props(off, () => false);
    let sawLockboxes = false;
    for (;;) {
      off = yield* this.#skipNops(off);
      const t = this.#tag(off);
      if (t === END_NODE) { yield* this.need(off, 8); return; }
      if (t !== BEGIN_NODE) throw new Inconsistent('root child');
      const name = yield* this.#name(off);
      if (name === 'lockboxes' && !sawLockboxes) {
        sawLockboxes = true;
        off = yield* this.#lockboxes(off, fp);
      } else {
        off = yield* this.#node(off);
      }
    }
  }

  *#skipNops(off: number): Gen<number> {
    for (;;) {
      if (off < this.#struct.start || off + 4 > this.#struct.end) throw new Inconsistent('token outside the structure block');
      yield* this.need(off, 4);
      if (this.#u32(off) !== NOP) return off;
      off += 4;
    }
  }
  #tag(off: number): number { return this.#u32(off); }

  *#name(off: number): Gen<string> {
    const end = Math.min(this.#struct.end, off + 4 + 4096);
    yield* this.need(off + 4, end - off - 4);
    const nul = this.bytes.subarray(off + 4, end).indexOf(0);
    if (nul < 0) throw new Inconsistent('node name');
    return String.fromCharCode(...this.bytes.subarray(off + 4, off + 4 + nul));
  }
  *#beginNext(off: number): Gen<number> {
    const name = yield* this.#name(off);
    return (off + 4 + name.length + 1 + 3) & ~3;
  }

  /** The properties at `off`, each value read unless `skip(name)`; returns the offset after them. */
  *#props(off: number, skip: (name: string, valueOff: number, len: number) => boolean): Gen<number> {
    for (;;) {
      off = yield* this.#skipNops(off);
      if (this.#tag(off) !== PROP) return off;
      yield* this.need(off, 12);
      const len = this.#u32(off + 4), nameoff = this.#u32(off + 8);
      const valueOff = off + 12;
      if (valueOff + len > this.#struct.end) throw new Inconsistent('property value');
      const name = this.#string(nameoff);
      if (!skip(name, valueOff, len)) yield* this.need(valueOff, len);
      off = (valueOff + len + 3) & ~3;
    }
  }

  #string(nameoff: number): string {
    const s = this.#strings.off + nameoff;
    const nul = this.bytes.subarray(s, this.#strings.off + this.#strings.size).indexOf(0);
    if (nameoff >= this.#strings.size || nul < 0) throw new Inconsistent('property name');
    return String.fromCharCode(...this.bytes.subarray(s, s + nul));
  }

  /** A whole node, read; returns the offset after its FDT_END_NODE. */
  *#node(off: number): Gen<number> {
    let depth = 0;
    for (let steps = 0; ; steps++) {
      if (steps > 1 << 24) throw new Inconsistent('node too long');
      off = yield* this.#skipNops(off);
      const t = this.#tag(off);
      if (t === BEGIN_NODE) { depth++; off = yield* this.#beginNext(off); off = yield* this.#props(off, () => false); continue; }
      if (t === END_NODE) { depth--; off += 4; if (depth === 0) return off; continue; }
      if (t === END || depth <= 0) throw new Inconsistent('unbalanced node');
      throw new Inconsistent(`token ${t}`);
    }
  }

  /** /lockboxes: through its index when there is one that fits this blob, else all of it. */
  *#lockboxes(off: number, fp: Uint8Array): Gen<number> {
    const start = off;
    let index: { off: number; len: number } | undefined;
    off = yield* this.#beginNext(off);
    off = yield* this.#props(off, (name, valueOff, len) => {
      if (name === INDEX_NAME) index = { off: valueOff, len };
      return false;
    });
    if (!index) return yield* this.#node(start);
    const iv = (k: number) => this.#u32(index!.off + k);
    const count = iv(8);
    const s = this.#struct.start;
    if (index.len < INDEX_HEADER || iv(0) !== INDEX_MAGIC || iv(24) !== INDEX_PREFIX || index.len !== INDEX_HEADER + count * INDEX_ENTRY
      || iv(12) !== this.#struct.end - s || iv(16) !== start - s) return yield* this.#node(start);
    const end = s + iv(20);
    if (end <= off || end > this.#struct.end) return yield* this.#node(start);
    if (count > 0) yield* this.#node(s + iv(28));
    // The same binary search the format library makes, over the index now in memory.
    const cmp = (i: number) => {
      const o = index!.off + INDEX_HEADER + i * INDEX_ENTRY;
      for (let k = 0; k < INDEX_PREFIX; k++) { const d = this.bytes[o + k]! - fp[k]!; if (d !== 0) return d; }
      return 0;
    };
    let lo = 0, hi = count;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (cmp(mid) < 0) lo = mid + 1; else hi = mid; }
    for (let i = lo, n = 0; i < count && n < 64 && cmp(i) === 0; i++, n++) {
      const at = s + this.#u32(index.off + INDEX_HEADER + i * INDEX_ENTRY + INDEX_PREFIX);
      if (at <= start || at >= end) break;
      yield* this.#node(at);
    }
    yield* this.need(end - 4, 4);
    return end;
  }
}
