// Offset-based reading of a DTB in place, in the manner of libfdt: the header and block
// layout are checked once, then each token is checked as it is read, so a caller can walk
// to one node of a huge tree without touching the rest. Every failure is an FdtError with
// the absolute offset; every loop advances by at least four bytes, so nothing can hang.

import {
  FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_HEADER_SIZE, FDT_MAGIC, FDT_MAX_DEPTH, FDT_NOP, FDT_PROP, FDT_VERSION,
} from './constants.js';
import { FdtError } from './errors.js';

export interface FdtHeader {
  magic: number;
  totalsize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeDtStrings: number;
  sizeDtStruct: number;
}

export interface FdtReservation { address: bigint; size: bigint }

/** One structure-block token, decoded and bounds-checked. */
export type FdtToken =
  | { tag: typeof FDT_BEGIN_NODE; offset: number; next: number; name: string }
  | { tag: typeof FDT_PROP; offset: number; next: number; name: string; valueOffset: number; length: number }
  | { tag: typeof FDT_END_NODE | typeof FDT_NOP | typeof FDT_END; offset: number; next: number };

export interface FdtPropertyRef { offset: number; name: string; value: Uint8Array }

const latin1 = new TextDecoder('latin1');

export function readHeader(bytes: Uint8Array): FdtHeader {
  if (bytes.length < FDT_HEADER_SIZE) throw new FdtError('truncated', bytes.length, `blob of ${bytes.length} bytes is shorter than the ${FDT_HEADER_SIZE}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = (i: number) => dv.getUint32(i * 4);
  const h: FdtHeader = {
    magic: f(0), totalsize: f(1), offDtStruct: f(2), offDtStrings: f(3), offMemRsvmap: f(4),
    version: f(5), lastCompVersion: f(6), bootCpuidPhys: f(7), sizeDtStrings: f(8), sizeDtStruct: f(9),
  };
  if (h.magic !== FDT_MAGIC) throw new FdtError('bad-magic', 0, `magic 0x${h.magic.toString(16)} is not 0x${FDT_MAGIC.toString(16)}`);
  if (h.version < FDT_VERSION || h.lastCompVersion > FDT_VERSION) throw new FdtError('bad-version', 20, `version ${h.version} (compatible with ${h.lastCompVersion}) is not readable as version ${FDT_VERSION}`);
  if (h.totalsize < FDT_HEADER_SIZE) throw new FdtError('bad-layout', 4, `totalsize ${h.totalsize} is smaller than the header`);
  if (h.totalsize > bytes.length) throw new FdtError('truncated', bytes.length, `totalsize ${h.totalsize} exceeds the ${bytes.length} bytes given`);
  const block = (what: string, field: number, off: number, size: number, align: number) => {
    if (off < FDT_HEADER_SIZE || off % align !== 0) throw new FdtError('bad-layout', field, `${what} offset ${off} is inside the header or not ${align}-byte aligned`);
    if (off + size > h.totalsize) throw new FdtError('bad-layout', field, `${what} [${off}, ${off + size}) runs past totalsize ${h.totalsize}`);
  };
  block('structure block', 8, h.offDtStruct, h.sizeDtStruct, 4);
  block('strings block', 12, h.offDtStrings, h.sizeDtStrings, 1);
  block('memory reservation block', 16, h.offMemRsvmap, 16, 8);
  if (overlaps(h.offDtStruct, h.sizeDtStruct, h.offDtStrings, h.sizeDtStrings)) {
    throw new FdtError('bad-layout', 12, `strings block [${h.offDtStrings}, ${h.offDtStrings + h.sizeDtStrings}) overlaps the structure block [${h.offDtStruct}, ${h.offDtStruct + h.sizeDtStruct})`);
  }
  return h;
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

export class FdtView {
  readonly header: FdtHeader;
  readonly structStart: number;
  readonly structEnd: number;
  readonly stringsStart: number;
  readonly stringsEnd: number;
  readonly reservations: FdtReservation[];
  /** Offset of the root node's FDT_BEGIN_NODE. */
  readonly root: number;
  private readonly dv: DataView;
  private readonly nameCache = new Map<number, string>();

  constructor(readonly bytes: Uint8Array) {
    this.header = readHeader(bytes);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const h = this.header;
    this.structStart = h.offDtStruct;
    this.structEnd = h.offDtStruct + h.sizeDtStruct;
    this.stringsStart = h.offDtStrings;
    this.stringsEnd = h.offDtStrings + h.sizeDtStrings;
    this.reservations = this.readReservations();
    let off = this.structStart;
    for (;;) {
      const t = this.token(off);
      if (t.tag === FDT_NOP) { off = t.next; continue; }
      if (t.tag !== FDT_BEGIN_NODE) throw new FdtError('bad-structure', off, `structure block starts with token ${t.tag}, not FDT_BEGIN_NODE`);
      this.root = off;
      break;
    }
  }

  private readReservations(): FdtReservation[] {
    const h = this.header;
    const out: FdtReservation[] = [];
    for (let off = h.offMemRsvmap; ; off += 16) {
      if (off + 16 > h.totalsize) throw new FdtError('truncated', off, 'memory reservation block has no terminating entry before totalsize');
      if (overlaps(off, 16, this.structStart, h.sizeDtStruct) || overlaps(off, 16, this.stringsStart, h.sizeDtStrings)) {
        throw new FdtError('bad-layout', off, 'memory reservation block overlaps the structure or strings block');
      }
      const address = this.dv.getBigUint64(off);
      const size = this.dv.getBigUint64(off + 8);
      if (address === 0n && size === 0n) return out;
      out.push({ address, size });
    }
  }

  u32(off: number): number {
    if (off < 0 || off + 4 > this.bytes.length) throw new FdtError('truncated', off, 'read past the end of the blob');
    return this.dv.getUint32(off);
  }

  /** Decode the token at `off` (absolute, inside the structure block). */
  token(off: number): FdtToken {
    if (off % 4 !== 0) throw new FdtError('bad-structure', off, 'token is not 4-byte aligned');
    if (off < this.structStart || off + 4 > this.structEnd) throw new FdtError('truncated', off, 'token outside the structure block');
    const tag = this.dv.getUint32(off);
    switch (tag) {
      case FDT_BEGIN_NODE: {
        const nameStart = off + 4;
        const rel = this.bytes.subarray(nameStart, this.structEnd).indexOf(0);
        const nul = rel < 0 ? -1 : nameStart + rel;
        if (nul < 0) throw new FdtError('bad-name', nameStart, 'node name is not terminated inside the structure block');
        const next = (nul + 4) & ~3;
        if (next > this.structEnd) throw new FdtError('truncated', nul, 'node name padding runs past the structure block');
        return { tag, offset: off, next, name: latin1.decode(this.bytes.subarray(nameStart, nul)) };
      }
      case FDT_PROP: {
        if (off + 12 > this.structEnd) throw new FdtError('truncated', off, 'property header runs past the structure block');
        const length = this.dv.getUint32(off + 4);
        const nameoff = this.dv.getUint32(off + 8);
        const valueOffset = off + 12;
        if (length > this.structEnd - valueOffset) throw new FdtError('truncated', off + 4, `property value of ${length} bytes runs past the structure block`);
        const next = (valueOffset + length + 3) & ~3;
        if (next > this.structEnd) throw new FdtError('truncated', valueOffset + length, 'property padding runs past the structure block');
        return { tag, offset: off, next, name: this.string(nameoff, off + 8), valueOffset, length };
      }
      case FDT_END_NODE: case FDT_NOP: case FDT_END:
        return { tag, offset: off, next: off + 4 };
      default:
        throw new FdtError('bad-tag', off, `unknown structure token 0x${tag.toString(16)}`);
    }
  }

  /** The NUL-terminated string at `nameoff` in the strings block; `at` is where the reference was. */
  string(nameoff: number, at: number): string {
    const cached = this.nameCache.get(nameoff);
    if (cached !== undefined) return cached;
    const start = this.stringsStart + nameoff;
    if (nameoff >= this.header.sizeDtStrings) throw new FdtError('bad-name', at, `name offset ${nameoff} is outside the ${this.header.sizeDtStrings}-byte strings block`);
    const rel = this.bytes.subarray(start, this.stringsEnd).indexOf(0);
    const nul = rel < 0 ? -1 : start + rel;
    if (nul < 0) throw new FdtError('bad-name', start, 'property name is not terminated inside the strings block');
    const s = latin1.decode(this.bytes.subarray(start, nul));
    this.nameCache.set(nameoff, s);
    return s;
  }

  /** Name of the node whose FDT_BEGIN_NODE is at `node`. */
  nodeName(node: number): string {
    const t = this.token(node);
    if (t.tag !== FDT_BEGIN_NODE) throw new FdtError('bad-structure', node, 'not the start of a node');
    return t.name;
  }

  /** The node's properties in order; stops at its first subnode or its end. */
  *properties(node: number): Generator<FdtPropertyRef> {
    const first = this.token(node);
    if (first.tag !== FDT_BEGIN_NODE) throw new FdtError('bad-structure', node, 'not the start of a node');
    for (let off = first.next; ;) {
      const t = this.token(off);
      if (t.tag === FDT_NOP) { off = t.next; continue; }
      if (t.tag !== FDT_PROP) return;
      yield { offset: off, name: t.name, value: this.bytes.subarray(t.valueOffset, t.valueOffset + t.length) };
      off = t.next;
    }
  }

  property(node: number, name: string): Uint8Array | undefined {
    for (const p of this.properties(node)) if (p.name === name) return p.value;
    return undefined;
  }

  /** Offset just past the node's properties: its first subnode, its FDT_END_NODE, or a NOP. */
  private afterProperties(node: number): number {
    const first = this.token(node);
    if (first.tag !== FDT_BEGIN_NODE) throw new FdtError('bad-structure', node, 'not the start of a node');
    let off = first.next;
    for (;;) {
      const t = this.token(off);
      if (t.tag !== FDT_PROP && t.tag !== FDT_NOP) return off;
      off = t.next;
    }
  }

  /** First subnode of `node`, or -1. */
  firstChild(node: number): number {
    return this.childFrom(this.afterProperties(node), node);
  }

  /** The next subnode at or after `off` (which is inside `parent`, at its nesting level), or -1. */
  private childFrom(off: number, parent: number): number {
    for (;;) {
      const t = this.token(off);
      if (t.tag === FDT_NOP) { off = t.next; continue; }
      if (t.tag === FDT_BEGIN_NODE) return off;
      if (t.tag === FDT_END_NODE) return -1;
      if (t.tag === FDT_PROP) throw new FdtError('bad-structure', off, `property after a subnode of the node at ${parent}`);
      throw new FdtError('bad-structure', off, `FDT_END inside the node at ${parent}`);
    }
  }

  /** Offset just past the FDT_END_NODE closing `node`. O(size of the subtree). */
  nodeEnd(node: number, depth0 = 0): number {
    let depth = 0;
    let off = node;
    for (;;) {
      const t = this.token(off);
      if (t.tag === FDT_BEGIN_NODE) {
        depth++;
        if (depth0 + depth > FDT_MAX_DEPTH) throw new FdtError('too-deep', off, `nesting deeper than ${FDT_MAX_DEPTH}`);
      } else if (t.tag === FDT_END_NODE) {
        depth--;
        if (depth === 0) return t.next;
      } else if (t.tag === FDT_END) {
        throw new FdtError('bad-structure', off, `FDT_END before the node at ${node} is closed`);
      }
      off = t.next;
    }
  }

  /** Next sibling of the node at `node` inside `parent`, or -1. */
  nextSibling(node: number, parent: number): number {
    return this.childFrom(this.nodeEnd(node), parent);
  }

  *children(node: number): Generator<number> {
    for (let c = this.firstChild(node); c >= 0; c = this.nextSibling(c, node)) yield c;
  }

  subnode(node: number, name: string): number {
    for (const c of this.children(node)) if (this.nodeName(c) === name) return c;
    return -1;
  }

  /** Offset of the node at an absolute path such as "/lockboxes/origin-lockbox", or -1. */
  pathOffset(path: string): number {
    if (!path.startsWith('/')) throw new FdtError('not-found', 0, `path "${path}" is not absolute`);
    let node = this.root;
    for (const part of path.split('/')) {
      if (part === '') continue;
      node = this.subnode(node, part);
      if (node < 0) return -1;
    }
    return node;
  }

  /**
   * Walk the whole structure block once: balanced nodes, properties before subnodes, depth
   * bounded, FDT_END right after the root closes. Returns the offset after FDT_END.
   */
  validate(): number {
    const end = this.nodeEnd(this.root);
    let off = end;
    for (;;) {
      const t = this.token(off);
      if (t.tag === FDT_NOP) { off = t.next; continue; }
      if (t.tag !== FDT_END) throw new FdtError('bad-structure', off, 'expected FDT_END after the root node');
      this.checkPropertyOrder();
      return t.next;
    }
  }

  private checkPropertyOrder(): void {
    let off = this.root;
    let sawChild = false;
    const stack: boolean[] = [];
    for (;;) {
      const t = this.token(off);
      if (t.tag === FDT_BEGIN_NODE) { stack.push(true); sawChild = false; }
      else if (t.tag === FDT_END_NODE) { stack.pop(); sawChild = true; if (stack.length === 0) return; }
      else if (t.tag === FDT_PROP && sawChild) throw new FdtError('bad-structure', off, 'property after a subnode');
      off = t.next;
    }
  }
}
