// What the kernel learns from the flattened device tree it is entered with (R3): boot
// arguments, memory, the initramfs, RTAS, devices, and the memory reservations (the
// ultravisor adds its bounce buffers there during UV_ESM).

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { FDT_HEADER_SIZE, findNode, getProperty, parseFdt, propertyString, type FdtNode } from '../fdt/index.js';
import * as mem from './mem.js';

export interface BootInfo {
  fdt: { gpa: number; size: number };
  bootargs: string;
  params: Map<string, string>;
  memBytes: number;
  initrd?: { start: number; end: number };
  rtas?: { base: number; size: number; tokens: Map<string, number> };
  virtio: number[];
  reservations: { start: number; size: number }[];
}

export class BadDeviceTree extends Error {
  constructor(message: string) { super(`device tree: ${message}`); this.name = 'BadDeviceTree'; }
}

function num(v: Uint8Array | undefined): number | undefined {
  if (!v) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  if (v.length === 4) return dv.getUint32(0);
  if (v.length === 8) return Number(dv.getBigUint64(0));
  return undefined;
}

/** `reg` of a node with 2 address and 2 size cells (the root's). */
function reg2(v: Uint8Array | undefined): { addr: number; size: number } | undefined {
  if (!v || v.length < 16) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return { addr: Number(dv.getBigUint64(0)), size: Number(dv.getBigUint64(8)) };
}

/** Linux-style command line: words, `key=value` or bare flags. */
export function parseBootargs(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of s.split(/\s+/)) {
    if (!w) continue;
    const i = w.indexOf('=');
    if (i < 0) m.set(w, '');
    else m.set(w.slice(0, i), w.slice(i + 1));
  }
  return m;
}

export const MAX_FDT = 1 << 20;

export function* readBootInfo(cpu: Cpu, fdtGpa: number): Generator<Op, BootInfo, void> {
  const head = yield* mem.read(cpu, fdtGpa, FDT_HEADER_SIZE);
  const size = new DataView(head.buffer).getUint32(4);
  if (size < FDT_HEADER_SIZE || size > MAX_FDT) throw new BadDeviceTree(`total size ${size} out of range`);
  const fdt = parseFdt(yield* mem.read(cpu, fdtGpa, size));
  const root = fdt.root;
  const chosen = findNode(root, '/chosen');
  const bootProp = chosen ? getProperty(chosen, 'bootargs') : undefined;
  const bootargs = bootProp ? (propertyString(bootProp) ?? '') : '';
  const memNode = root.children.find((c) => c.name === 'memory' || c.name.startsWith('memory@'));
  const m = memNode ? reg2(getProperty(memNode, 'reg')) : undefined;
  if (!m || m.size <= 0) throw new BadDeviceTree('no /memory');
  const is = chosen ? num(getProperty(chosen, 'linux,initrd-start')) : undefined;
  const ie = chosen ? num(getProperty(chosen, 'linux,initrd-end')) : undefined;
  const rtasNode = findNode(root, '/rtas');
  let rtas: BootInfo['rtas'];
  if (rtasNode) {
    const base = num(getProperty(rtasNode, 'linux,rtas-base'));
    const rsize = num(getProperty(rtasNode, 'rtas-size'));
    const tokens = new Map<string, number>();
    for (const p of rtasNode.properties) {
      if (p.value.length === 4 && !p.name.startsWith('linux,') && p.name !== 'rtas-size') tokens.set(p.name, num(p.value)!);
    }
    if (base !== undefined && rsize !== undefined) rtas = { base, size: rsize, tokens };
  }
  const virtio = root.children.filter((c: FdtNode) => {
    const compat = getProperty(c, 'compatible');
    return compat !== undefined && propertyString(compat) === 'virtio,mmio';
  }).map((c) => reg2(getProperty(c, 'reg'))?.addr).filter((a): a is number => a !== undefined);
  return {
    fdt: { gpa: fdtGpa, size },
    bootargs,
    params: parseBootargs(bootargs),
    memBytes: m.size,
    initrd: is !== undefined && ie !== undefined && ie > is ? { start: is, end: ie } : undefined,
    rtas,
    virtio,
    reservations: fdt.reservations.map((r) => ({ start: Number(r.address), size: Number(r.size) })),
  };
}
