// In-place editing of a DTB the way libfdt's read-write functions do it: the structure
// block is copied with ranges replaced, the strings block is kept as it is and only grows at
// its end, so every untouched node keeps its bytes (and its name offsets stay valid). This is
// what lets a blob with a million lockboxes gain or lose one without being decoded.

import { FDT_BEGIN_NODE, FDT_END_NODE, FDT_HEADER_SIZE, FDT_LAST_COMP_VERSION, FDT_MAGIC, FDT_PROP, FDT_VERSION } from './constants.js';
import { FdtError } from './errors.js';
import type { FdtNode } from './tree.js';
import type { FdtView } from './view.js';
import { encodeValue, latin1Bytes, type FdtValue } from './writer.js';

interface Splice { start: number; end: number; bytes: Uint8Array[] }

/** A growable byte buffer for building structure-block fragments. */
export class StructBuilder {
  buf: Uint8Array;
  private dv: DataView;
  len = 0;

  constructor(capacity = 256) { this.buf = new Uint8Array(capacity); this.dv = new DataView(this.buf.buffer); }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  u32(v: number): void { this.ensure(4); this.dv.setUint32(this.len, v); this.len += 4; }

  padded(b: Uint8Array): void {
    const p = (b.length + 3) & ~3;
    this.ensure(p);
    this.buf.set(b, this.len);
    this.buf.fill(0, this.len + b.length, this.len + p);
    this.len += p;
  }

  beginNode(name: string): void { this.u32(FDT_BEGIN_NODE); this.padded(latin1Bytes(name, true)); }
  endNode(): void { this.u32(FDT_END_NODE); }
  property(nameoff: number, value: Uint8Array): void { this.u32(FDT_PROP); this.u32(value.length); this.u32(nameoff); this.padded(value); }

  bytes(): Uint8Array { return this.buf.subarray(0, this.len); }
}

export class FdtEditor {
  private readonly splices: Splice[] = [];
  private readonly added: Uint8Array[] = [];
  private addedLen = 0;
  private readonly known = new Map<string, number>();

  constructor(readonly view: FdtView) {}

  /** Offset of `name` in the strings block: found as libfdt finds it (also as a tail), else appended. */
  nameOffset(name: string): number {
    const k = this.known.get(name);
    if (k !== undefined) return k;
    const needle = latin1Bytes(name, true);
    const old = this.view.bytes.subarray(this.view.stringsStart, this.view.stringsEnd);
    let off = Buffer.from(old.buffer, old.byteOffset, old.byteLength).indexOf(needle);
    if (off < 0) {
      off = old.length + this.addedLen;
      this.added.push(needle);
      this.addedLen += needle.length;
    }
    this.known.set(name, off);
    return off;
  }

  encodeProperty(name: string, value: FdtValue): Uint8Array {
    const b = new StructBuilder();
    b.property(this.nameOffset(name), encodeValue(value));
    return b.bytes();
  }

  encodeNode(node: FdtNode): Uint8Array {
    const b = new StructBuilder();
    const emit = (n: FdtNode) => {
      b.beginNode(n.name);
      for (const p of n.properties) b.property(this.nameOffset(p.name), p.value);
      for (const c of n.children) emit(c);
      b.endNode();
    };
    emit(node);
    return b.bytes();
  }

  /** Replace the structure bytes [start, end) (absolute offsets, on token boundaries) with `bytes`. */
  replace(start: number, end: number, ...bytes: Uint8Array[]): void {
    if (start < this.view.structStart || end > this.view.structEnd || start > end || start % 4 || end % 4) {
      throw new FdtError('bad-value', start, `edit [${start}, ${end}) is not inside the structure block on token boundaries`);
    }
    for (const s of this.splices) {
      if (start < s.end && s.start < end) throw new FdtError('bad-value', start, 'edits overlap');
      if (start === end && s.start === s.end && s.start === start) throw new FdtError('bad-value', start, 'two insertions at one offset');
    }
    this.splices.push({ start, end, bytes });
  }

  insert(at: number, ...bytes: Uint8Array[]): void { this.replace(at, at, ...bytes); }

  /**
   * Where an old absolute structure offset lands in the new structure block (relative to its
   * start). Bytes inserted exactly at the offset come before what was there, unless
   * `insertionPoint` asks where those inserted bytes themselves begin.
   */
  relocate(oldOffset: number, insertionPoint = false): number {
    let delta = 0;
    for (const s of this.splices) {
      const insertedHere = s.start === s.end && s.start === oldOffset;
      if (s.end < oldOffset || (s.end === oldOffset && !(insertedHere && insertionPoint))) {
        delta += s.bytes.reduce((n, b) => n + b.length, 0) - (s.end - s.start);
      }
    }
    return oldOffset - this.view.structStart + delta;
  }

  finish(): Uint8Array {
    const v = this.view;
    const h = v.header;
    const rsvLen = 16 * (v.reservations.length + 1);
    const sorted = [...this.splices].sort((a, b) => a.start - b.start || a.end - b.end);
    let structLen = h.sizeDtStruct;
    for (const s of sorted) structLen += s.bytes.reduce((n, b) => n + b.length, 0) - (s.end - s.start);
    const stringsLen = h.sizeDtStrings + this.addedLen;
    const offStruct = FDT_HEADER_SIZE + rsvLen;
    const offStrings = offStruct + structLen;
    const total = offStrings + stringsLen;
    if (total > 0xffffffff) throw new FdtError('bad-value', 0, `edited blob of ${total} bytes exceeds the 32-bit totalsize`);
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    [FDT_MAGIC, total, offStruct, offStrings, FDT_HEADER_SIZE, FDT_VERSION, FDT_LAST_COMP_VERSION, h.bootCpuidPhys, stringsLen, structLen]
      .forEach((x, i) => dv.setUint32(i * 4, x));
    v.reservations.forEach((r, i) => { dv.setBigUint64(FDT_HEADER_SIZE + 16 * i, r.address); dv.setBigUint64(FDT_HEADER_SIZE + 16 * i + 8, r.size); });
    let o = offStruct;
    let from = v.structStart;
    for (const s of sorted) {
      out.set(v.bytes.subarray(from, s.start), o); o += s.start - from;
      for (const b of s.bytes) { out.set(b, o); o += b.length; }
      from = s.end;
    }
    out.set(v.bytes.subarray(from, v.structEnd), o);
    out.set(v.bytes.subarray(v.stringsStart, v.stringsEnd), offStrings);
    let so = offStrings + h.sizeDtStrings;
    for (const a of this.added) { out.set(a, so); so += a.length; }
    return out;
  }
}
