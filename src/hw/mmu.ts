// Partition-scoped translation: PTCR -> partition table -> per-LPID table that maps guest real
// addresses to real addresses in 64 KiB pages. The layout is a simplified radix tree (two
// levels of 1024 big-endian 8-byte entries, guest real space up to 64 GiB); docs/model-vs-real.md
// says how it differs from POWER9's four-level radix.

export const PATE_SIZE = 16;
export const ENTRY_VALID = 1n << 63n;
export const PTE_WRITE = 1n << 62n;
export const LEVEL_ENTRIES = 1024;
export const LEVEL_BYTES = LEVEL_ENTRIES * 8;
/** Guest real addresses the table can map (2^36 = 64 GiB). */
export const GUEST_SPACE = 2 ** 36;

/** PTCR: partition-table base (4 KiB aligned) | PATS; the table has 2^(12+PATS) bytes. */
export function encodePtcr(base: number, pats: number): bigint {
  if (base % 4096 !== 0) throw new RangeError('partition table base must be 4 KiB aligned');
  return BigInt(base) | BigInt(pats & 0x1f);
}
export function decodePtcr(ptcr: bigint): { base: number; entries: number } {
  const base = Number(ptcr & ~0xfffn);
  const pats = Number(ptcr & 0x1fn);
  return { base, entries: 2 ** (12 + pats) / PATE_SIZE };
}

/** Partition-table entry dw0: valid | root of the partition-scoped table. */
export function encodePate0(root: number): bigint { return ENTRY_VALID | BigInt(root); }
export function encodeDir(table: number): bigint { return ENTRY_VALID | BigInt(table); }
export function encodePte(frame: number, writable = true): bigint {
  return ENTRY_VALID | (writable ? PTE_WRITE : 0n) | BigInt(frame);
}
export const ADDR_MASK = (1n << 56n) - 1n;

export function gfnIndex(gpa: number): { l1: number; l2: number } {
  const gfn = Math.floor(gpa / 65536);
  return { l1: Math.floor(gfn / LEVEL_ENTRIES), l2: gfn % LEVEL_ENTRIES };
}

/** Read a big-endian 8-byte entry as [valid, writable, address]. */
export function readEntry(b: Uint8Array, off: number): { valid: boolean; write: boolean; addr: number } {
  const hi = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  const lo = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
  return { valid: (hi & 0x80000000) !== 0, write: (hi & 0x40000000) !== 0, addr: (hi & 0x00ffffff) * 0x100000000 + lo };
}

export function entryBytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), false);
  return b;
}
