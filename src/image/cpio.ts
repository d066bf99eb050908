// cpio "newc" archives (the initramfs format; magic 070701, or 070702 with a checksum):
// reading with bounds checks and typed errors, writing whole or streamed to a sink. The
// layout is the kernel's: a 110-byte ASCII-hex header, the NUL-terminated name padded to a
// multiple of four, the data padded to a multiple of four, and a "TRAILER!!!" entry.

export class CpioError extends Error {
  constructor(readonly offset: number, detail: string) {
    super(`cpio offset ${offset} (0x${offset.toString(16)}): ${detail}`);
    this.name = 'CpioError';
  }
}

export const CPIO_NEWC_MAGIC = '070701';
export const CPIO_CRC_MAGIC = '070702';
export const CPIO_HEADER_SIZE = 110;
export const CPIO_TRAILER = 'TRAILER!!!';
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
/** The longest name accepted; PATH_MAX on Linux. */
const MAX_NAME = 4096;

export interface CpioEntry {
  name: string;
  mode: number;
  data: Uint8Array;
  ino?: number;
  uid?: number;
  gid?: number;
  nlink?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  rdevmajor?: number;
  rdevminor?: number;
  check?: number;
}

export interface CpioRecord extends Required<CpioEntry> {
  /** Offset of the header in the bytes read. */
  offset: number;
  /** Offset of the file data. */
  dataOffset: number;
  /** Offset just past this entry's padded data. */
  end: number;
}

const align4 = (n: number) => (n + 3) & ~3;
const FIELDS = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'filesize', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'namesize', 'check'] as const;

function hexField(bytes: Uint8Array, off: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = bytes[off + i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) throw new CpioError(off + i, `header field has a non-hex character 0x${c.toString(16)}`);
    v = v * 16 + d;
  }
  return v;
}

/** True when a newc (or crc) header starts at `off`. */
export function isCpioAt(bytes: Uint8Array, off = 0): boolean {
  if (off + 6 > bytes.length) return false;
  const m = String.fromCharCode(...bytes.subarray(off, off + 6));
  return m === CPIO_NEWC_MAGIC || m === CPIO_CRC_MAGIC;
}

/** Read the entry whose header is at `off` (which must be 4-byte aligned relative to the archive start). */
export function readCpioEntry(bytes: Uint8Array, off: number): CpioRecord {
  if (off + CPIO_HEADER_SIZE > bytes.length) throw new CpioError(off, `header needs ${CPIO_HEADER_SIZE} bytes, ${Math.max(0, bytes.length - off)} left`);
  if (!isCpioAt(bytes, off)) throw new CpioError(off, 'no newc magic 070701/070702');
  const f: Record<string, number> = {};
  FIELDS.forEach((name, i) => { f[name] = hexField(bytes, off + 6 + i * 8); });
  const namesize = f.namesize!;
  if (namesize < 1 || namesize > MAX_NAME) throw new CpioError(off + 94, `name size ${namesize} is not in 1..${MAX_NAME}`);
  const nameStart = off + CPIO_HEADER_SIZE;
  if (nameStart + namesize > bytes.length) throw new CpioError(nameStart, 'name runs past the end of the archive');
  if (bytes[nameStart + namesize - 1] !== 0) throw new CpioError(nameStart + namesize - 1, 'name is not NUL-terminated');
  const name = new TextDecoder('utf-8').decode(bytes.subarray(nameStart, nameStart + namesize - 1));
  if (name.includes('\0')) throw new CpioError(nameStart, 'name has an embedded NUL');
  const dataOffset = off + align4(CPIO_HEADER_SIZE + namesize);
  const filesize = f.filesize!;
  if (dataOffset + filesize > bytes.length) throw new CpioError(off + 54, `file data of ${filesize} bytes runs past the end of the archive`);
  return {
    name, mode: f.mode!, data: bytes.subarray(dataOffset, dataOffset + filesize),
    ino: f.ino!, uid: f.uid!, gid: f.gid!, nlink: f.nlink!, mtime: f.mtime!, devmajor: f.devmajor!, devminor: f.devminor!,
    rdevmajor: f.rdevmajor!, rdevminor: f.rdevminor!, check: f.check!,
    offset: off, dataOffset, end: Math.min(bytes.length, off + align4(dataOffset - off + filesize)),
  };
}

export interface CpioArchive {
  entries: CpioRecord[];
  /** Offset just past the trailer entry. */
  end: number;
}

/** Read one archive from `start` up to and including its trailer. */
export function parseCpio(bytes: Uint8Array, start = 0): CpioArchive {
  const entries: CpioRecord[] = [];
  for (let off = start; ;) {
    const e = readCpioEntry(bytes, off);
    if (e.name === CPIO_TRAILER) return { entries, end: e.end };
    entries.push(e);
    off = e.end;
  }
}

function header(e: CpioEntry, ino: number): Uint8Array {
  const name = new TextEncoder().encode(e.name);
  if (name.length + 1 > MAX_NAME || e.name.includes('\0')) throw new CpioError(0, `name "${e.name}" is empty, too long or has a NUL`);
  const vals: Record<(typeof FIELDS)[number], number> = {
    ino: e.ino ?? ino, mode: e.mode, uid: e.uid ?? 0, gid: e.gid ?? 0, nlink: e.nlink ?? ((e.mode & 0o170000) === S_IFDIR ? 2 : 1),
    mtime: e.mtime ?? 0, filesize: e.data.length, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0,
    rdevmajor: e.rdevmajor ?? 0, rdevminor: e.rdevminor ?? 0, namesize: name.length + 1, check: e.check ?? 0,
  };
  let s = CPIO_NEWC_MAGIC;
  for (const k of FIELDS) {
    const v = vals[k];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new CpioError(0, `${e.name}: ${k} ${v} does not fit 32 bits`);
    s += v.toString(16).padStart(8, '0');
  }
  const out = new Uint8Array(align4(CPIO_HEADER_SIZE + name.length + 1));
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  out.set(name, CPIO_HEADER_SIZE);
  return out;
}

/**
 * Streamed writing: each entry goes to `sink` as soon as it is added, so an archive of any
 * size needs memory for one entry only. finish() writes the trailer and pads the archive to
 * `blockSize` bytes (GNU cpio's 512-byte blocks, which the ultravisor also assumes).
 */
export class CpioWriter {
  private written = 0;
  private nextIno = 1;
  private done = false;

  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  get size(): number { return this.written; }

  private emit(b: Uint8Array): void { if (b.length) { this.sink(b); this.written += b.length; } }

  add(e: CpioEntry): void {
    if (this.done) throw new CpioError(this.written, 'archive already finished');
    if (e.name === CPIO_TRAILER) throw new CpioError(this.written, `an entry may not be named ${CPIO_TRAILER}`);
    this.emit(header(e, this.nextIno++));
    this.emit(e.data);
    this.emit(new Uint8Array(align4(e.data.length) - e.data.length));
  }

  finish(blockSize = 512): number {
    if (this.done) throw new CpioError(this.written, 'archive already finished');
    this.emit(header({ name: CPIO_TRAILER, mode: 0, data: new Uint8Array(0), ino: 0, nlink: 1 }, 0));
    this.done = true;
    if (blockSize > 0 && this.written % blockSize !== 0) this.emit(new Uint8Array(blockSize - (this.written % blockSize)));
    return this.written;
  }
}

/** A whole archive in memory. */
export function writeCpio(entries: readonly CpioEntry[], blockSize = 512): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new CpioWriter((c) => chunks.push(c));
  for (const e of entries) w.add(e);
  const total = w.finish(blockSize);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}
