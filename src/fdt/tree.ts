// A DTB as plain objects, for trees small enough to hold whole (a guest's device tree, the
// digests and files trees of an ESM blob): parse with full validation, edit, write back.
// Order is kept: properties and subnodes come out in the order they went in.

import { FDT_BEGIN_NODE, FDT_END_NODE, FDT_MAX_DEPTH, FDT_NOP, FDT_PROP } from './constants.js';
import { FdtError } from './errors.js';
import { FdtView, type FdtReservation } from './view.js';
import { FdtWriter, encodeValue, type FdtValue } from './writer.js';

export interface FdtProperty { name: string; value: Uint8Array }
export interface FdtNode { name: string; properties: FdtProperty[]; children: FdtNode[] }
export interface Fdt { root: FdtNode; reservations: FdtReservation[]; bootCpuidPhys: number }

export function fdtNode(name: string, properties: Record<string, FdtValue> | [string, FdtValue][] = {}, children: FdtNode[] = []): FdtNode {
  const entries = Array.isArray(properties) ? properties : Object.entries(properties);
  return { name, properties: entries.map(([n, v]) => ({ name: n, value: encodeValue(v) })), children };
}

/** Parse and fully validate a DTB into a tree. Property values are copies. */
export function parseFdt(bytes: Uint8Array): Fdt {
  const view = new FdtView(bytes);
  view.validate();
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let off = view.root;
  for (;;) {
    const t = view.token(off);
    if (t.tag === FDT_BEGIN_NODE) {
      if (stack.length >= FDT_MAX_DEPTH) throw new FdtError('too-deep', off, `nesting deeper than ${FDT_MAX_DEPTH}`);
      const n: FdtNode = { name: t.name, properties: [], children: [] };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(n); else root = n;
      stack.push(n);
    } else if (t.tag === FDT_PROP) {
      stack[stack.length - 1]!.properties.push({ name: t.name, value: bytes.slice(t.valueOffset, t.valueOffset + t.length) });
    } else if (t.tag === FDT_END_NODE) {
      stack.pop();
      if (stack.length === 0) break;
    } else if (t.tag !== FDT_NOP) {
      throw new FdtError('bad-structure', off, 'unexpected token inside a node');
    }
    off = t.next;
  }
  return { root: root!, reservations: view.reservations, bootCpuidPhys: view.header.bootCpuidPhys };
}

export function writeFdt(fdt: Fdt | FdtNode, opts: { strings?: readonly string[] } = {}): Uint8Array {
  const f: Fdt = 'root' in fdt ? fdt : { root: fdt, reservations: [], bootCpuidPhys: 0 };
  const w = new FdtWriter({ strings: opts.strings, reservations: f.reservations, bootCpuidPhys: f.bootCpuidPhys });
  const emit = (n: FdtNode) => {
    w.beginNode(n.name);
    for (const p of n.properties) w.property(p.name, p.value);
    for (const c of n.children) emit(c);
    w.endNode();
  };
  emit(f.root);
  return w.finish();
}

export function getProperty(node: FdtNode, name: string): Uint8Array | undefined {
  return node.properties.find((p) => p.name === name)?.value;
}

/** Replace a property in place, or add it: first when `first` (libfdt's place for a new one), else last. */
export function setProperty(node: FdtNode, name: string, value: FdtValue, first = false): void {
  const v = encodeValue(value);
  const p = node.properties.find((q) => q.name === name);
  if (p) p.value = v;
  else if (first) node.properties.unshift({ name, value: v });
  else node.properties.push({ name, value: v });
}

export function removeProperty(node: FdtNode, name: string): boolean {
  const i = node.properties.findIndex((p) => p.name === name);
  if (i < 0) return false;
  node.properties.splice(i, 1);
  return true;
}

export function childNode(node: FdtNode, name: string): FdtNode | undefined {
  return node.children.find((c) => c.name === name);
}

export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let n: FdtNode | undefined = root;
  for (const part of path.split('/')) {
    if (part === '' || !n) continue;
    n = childNode(n, part);
  }
  return n;
}

const latin1 = new TextDecoder('latin1');

/** A string property's value: must end with its NUL and hold no other. */
export function propertyString(value: Uint8Array): string | undefined {
  if (value.length === 0 || value[value.length - 1] !== 0 || value.indexOf(0) !== value.length - 1) return undefined;
  return latin1.decode(value.subarray(0, value.length - 1));
}

export function propertyU32(value: Uint8Array): number | undefined {
  if (value.length !== 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
}
