// Sequential DTB writing (the shape of libfdt's fdt_sw): begin a node, add its properties,
// its subnodes, end it; finish() lays the blob out as libfdt's fdt_pack leaves it: header,
// memory reservation block at offset 40, structure block, strings block, nothing after.
// Property names are shared the libfdt way (a name that is already present, even as the tail
// of a longer one, is reused), and a caller may pre-seed the strings block so that its order
// matches a tree libfdt built property by property.

import {
  FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_HEADER_SIZE, FDT_LAST_COMP_VERSION, FDT_MAGIC, FDT_MAX_DEPTH, FDT_PROP, FDT_VERSION,
} from './constants.js';
import { FdtError } from './errors.js';
import type { FdtReservation } from './view.js';

export interface FdtWriterOptions {
  /** Names to place first in the strings block, in this order. */
  strings?: readonly string[];
  reservations?: readonly FdtReservation[];
  bootCpuidPhys?: number;
  /** Expected size of the structure block, to avoid regrowing a large buffer. */
  sizeHint?: number;
}

export type FdtValue = Uint8Array | string | number;

/** A property value: bytes as given, a string with its NUL, a number as a big-endian u32. */
export function encodeValue(v: FdtValue): Uint8Array {
  if (typeof v === 'string') return latin1Bytes(v, true);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new FdtError('bad-value', 0, `${v} is not a u32`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    return b;
  }
  return v;
}

/** Names and string values are byte strings: each char one byte, so any DTB round-trips. */
export function latin1Bytes(s: string, nul: boolean): Uint8Array {
  const b = new Uint8Array(s.length + (nul ? 1 : 0));
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || c === 0) throw new FdtError('bad-value', 0, `"${s}" has a character that is not a non-NUL byte`);
    b[i] = c;
  }
  return b;
}

export class FdtWriter {
  private buf: Uint8Array;
  private dv: DataView;
  private len = 0;
  private depth = 0;
  private finished = false;
  private readonly strOff = new Map<string, number>();
  private readonly strChunks: Uint8Array[] = [];
  private strLen = 0;

  constructor(private readonly opts: FdtWriterOptions = {}) {
    this.buf = new Uint8Array(Math.max(256, (opts.sizeHint ?? 0) + 64));
    this.dv = new DataView(this.buf.buffer);
    for (const s of opts.strings ?? []) this.nameOffset(s);
  }

  /** Bytes written to the structure block so far. */
  get structSize(): number { return this.len; }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }

  private put32(v: number): void { this.ensure(4); this.dv.setUint32(this.len, v); this.len += 4; }

  private putPadded(b: Uint8Array): void {
    const padded = (b.length + 3) & ~3;
    this.ensure(padded);
    this.buf.set(b, this.len);
    this.buf.fill(0, this.len + b.length, this.len + padded);
    this.len += padded;
  }

  private nameOffset(name: string): number {
    const known = this.strOff.get(name);
    if (known !== undefined) return known;
    const bytes = latin1Bytes(name, true);
    const off = this.strLen;
    this.strChunks.push(bytes);
    this.strLen += bytes.length;
    // Register every tail of the new name, as libfdt's string search would find it there.
    for (let i = 0; i < name.length; i++) {
      const tail = name.slice(i);
      if (!this.strOff.has(tail)) this.strOff.set(tail, off + i);
    }
    return off;
  }

  private check(): void { if (this.finished) throw new FdtError('bad-structure', this.len, 'writer already finished'); }

  beginNode(name: string): this {
    this.check();
    if (this.depth >= FDT_MAX_DEPTH) throw new FdtError('too-deep', this.len, `nesting deeper than ${FDT_MAX_DEPTH}`);
    this.put32(FDT_BEGIN_NODE);
    this.putPadded(latin1Bytes(name, true));
    this.depth++;
    return this;
  }

  property(name: string, value: FdtValue): this {
    const v = encodeValue(value);
    this.propertyHeader(name, v.length);
    this.putPadded(v);
    return this;
  }

  private propertyHeader(name: string, length: number): void {
    this.check();
    if (this.depth === 0) throw new FdtError('bad-structure', this.len, `property "${name}" outside any node`);
    this.put32(FDT_PROP);
    this.put32(length);
    this.put32(this.nameOffset(name));
  }

  /** Add a property of `length` zero bytes to fill in later with patch(); returns its value offset. */
  reserveProperty(name: string, length: number): number {
    this.propertyHeader(name, length);
    const at = this.len;
    this.putPadded(new Uint8Array(length));
    return at;
  }

  /** Overwrite bytes of a value reserved earlier (offset relative to the structure block). */
  patch(structOffset: number, bytes: Uint8Array): void {
    if (structOffset < 0 || structOffset + bytes.length > this.len) throw new FdtError('bad-value', structOffset, 'patch outside the structure written so far');
    this.buf.set(bytes, structOffset);
  }

  endNode(): this {
    this.check();
    if (this.depth === 0) throw new FdtError('bad-structure', this.len, 'endNode without a matching beginNode');
    this.put32(FDT_END_NODE);
    this.depth--;
    return this;
  }

  finish(): Uint8Array {
    this.check();
    if (this.depth !== 0) throw new FdtError('bad-structure', this.len, `${this.depth} node(s) still open`);
    this.put32(FDT_END);
    this.finished = true;
    const rsv = this.opts.reservations ?? [];
    const offRsv = FDT_HEADER_SIZE;
    const offStruct = offRsv + 16 * (rsv.length + 1);
    const offStrings = offStruct + this.len;
    const total = offStrings + this.strLen;
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    const header = [FDT_MAGIC, total, offStruct, offStrings, offRsv, FDT_VERSION, FDT_LAST_COMP_VERSION, this.opts.bootCpuidPhys ?? 0, this.strLen, this.len];
    header.forEach((v, i) => dv.setUint32(i * 4, v));
    rsv.forEach((r, i) => { dv.setBigUint64(offRsv + 16 * i, r.address); dv.setBigUint64(offRsv + 16 * i + 8, r.size); });
    out.set(this.buf.subarray(0, this.len), offStruct);
    let o = offStrings;
    for (const c of this.strChunks) { out.set(c, o); o += c.length; }
    return out;
  }
}
