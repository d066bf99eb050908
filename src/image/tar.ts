// POSIX ustar archives: the file tree of a root disk. The archive sits at offset 0 of a plain
// disk (so `tar tf disk.img` lists it) or is the decrypted payload of a LUKS2 data segment.
// Only what a root disk needs: regular files, directories and symbolic links with ustar
// names (prefix + name). The reader never throws anything but TarError, and stops at the
// end-of-archive marker so that the rest of the disk (zero padding) is ignored.

export const TAR_BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink';

export interface TarEntryInput {
  /** Absolute or relative path; stored relative ("etc/secret"), directories without a trailing slash. */
  path: string;
  type?: TarEntryType;
  /** File content (type 'file'). A string is stored as UTF-8. */
  data?: Uint8Array | string;
  /** Link target (type 'symlink'). */
  linkname?: string;
  mode?: number;
  /** Seconds since the epoch; 0 by default so archives are reproducible. */
  mtime?: number;
}

export interface TarEntry {
  /** Normalized path without a leading "./" or "/" and without a trailing slash. */
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  /** Offset of the entry's header block in the archive. */
  headerOffset: number;
  /** Offset of the content in the archive. */
  dataOffset: number;
  /** The content (a view into the input, not a copy); empty for directories and links. */
  data: Uint8Array;
}

export type TarErrorCode = 'truncated' | 'checksum' | 'bad-number' | 'bad-magic' | 'unsupported-type' | 'bad-name' | 'too-large';

export class TarError extends Error {
  constructor(readonly code: TarErrorCode, readonly offset: number, detail: string) {
    super(`tar: ${detail} (at offset ${offset})`);
    this.name = 'TarError';
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** ustar limits the size field to 11 octal digits. */
const MAX_SIZE = 0o77777777777;

function normalize(path: string): string {
  let p = path.replace(/^(\.\/|\/)+/, '');
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

function checkName(path: string, offset: number): void {
  if (path === '' || path.includes('\0')) throw new TarError('bad-name', offset, `bad path '${path.replace(/\0/g, '\\0')}'`);
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new TarError('bad-name', offset, `path '${path}' has an empty, '.' or '..' component`);
  }
}

function putString(block: Uint8Array, off: number, len: number, s: string, what: string, path: string): void {
  const b = enc.encode(s);
  if (b.length > len) throw new TarError('bad-name', 0, `${what} of '${path}' is longer than ${len} bytes`);
  block.set(b, off);
}

function putOctal(block: Uint8Array, off: number, len: number, v: number): void {
  // len-1 octal digits, zero padded, then NUL.
  const s = v.toString(8).padStart(len - 1, '0');
  block.set(enc.encode(s), off);
  block[off + len - 1] = 0;
}

/** Split a long path into ustar prefix (<=155) and name (<=100) at a slash. */
function splitName(path: string): { prefix: string; name: string } {
  if (enc.encode(path).length <= 100) return { prefix: '', name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100 && name !== '') return { prefix, name };
  }
  throw new TarError('bad-name', 0, `path '${path}' does not fit a ustar header`);
}

function headerFor(e: TarEntryInput, path: string, size: number): Uint8Array {
  const type = e.type ?? 'file';
  const h = new Uint8Array(TAR_BLOCK);
  const stored = type === 'dir' ? `${path}/` : path;
  const { prefix, name } = splitName(stored);
  putString(h, 0, 100, name, 'name', path);
  putOctal(h, 100, 8, e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644));
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, e.mtime ?? 0);
  h[156] = type === 'dir' ? 0x35 : type === 'symlink' ? 0x32 : 0x30;
  if (type === 'symlink') putString(h, 157, 100, e.linkname ?? '', 'link target', path);
  h.set(enc.encode('ustar\0'), 257);
  h.set(enc.encode('00'), 263);
  putString(h, 265, 32, 'root', 'user name', path);
  putString(h, 297, 32, 'root', 'group name', path);
  putOctal(h, 329, 8, 0);
  putOctal(h, 337, 8, 0);
  putString(h, 345, 155, prefix, 'prefix', path);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  putOctal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

/**
 * An archive of `entries` in the order given, with the two zero blocks that end it. Parent
 * directories are not added implicitly: list them if the tree needs them.
 */
export function writeTar(entries: TarEntryInput[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    const path = normalize(e.path);
    checkName(path, total);
    if (seen.has(path)) throw new TarError('bad-name', total, `duplicate path '${path}'`);
    seen.add(path);
    const type = e.type ?? 'file';
    const data = type === 'file' ? (typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0))) : new Uint8Array(0);
    if (data.length > MAX_SIZE) throw new TarError('too-large', total, `'${path}' is larger than ustar allows`);
    const h = headerFor(e, path, data.length);
    parts.push(h, data);
    const pad = (TAR_BLOCK - (data.length % TAR_BLOCK)) % TAR_BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
    total += TAR_BLOCK + data.length + pad;
  }
  parts.push(new Uint8Array(2 * TAR_BLOCK));
  total += 2 * TAR_BLOCK;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function field(h: Uint8Array, off: number, len: number, at: number, what: string): string {
  let end = off;
  while (end < off + len && h[end] !== 0) end++;
  try { return dec.decode(h.subarray(off, end)); } catch { throw new TarError('bad-name', at + off, `${what} is not UTF-8`); }
}

function octal(h: Uint8Array, off: number, len: number, at: number, what: string): number {
  let i = off;
  const end = off + len;
  while (i < end && h[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw new TarError('bad-number', at + off, `${what} field is not octal`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (h[i] !== 0 && h[i] !== 0x20) throw new TarError('bad-number', at + off, `${what} field has trailing garbage`);
  if (digits === 0 && what !== 'mtime') throw new TarError('bad-number', at + off, `${what} field is empty`);
  return v;
}

function isZeroBlock(b: Uint8Array, off: number): boolean {
  for (let i = off; i < off + TAR_BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Parse the header block at the start of `block`, which sits at offset `off` of the archive
 * (errors carry archive offsets); null for a zero block (end of archive).
 */
export function parseTarHeader(block: Uint8Array, off: number): Omit<TarEntry, 'data'> | null {
  if (block.length < TAR_BLOCK) throw new TarError('truncated', off + block.length, 'header block cut short');
  if (isZeroBlock(block, 0)) return null;
  const h = block.subarray(0, TAR_BLOCK);
  const magic = field(h, 257, 6, off, 'magic');
  if (magic !== 'ustar' && magic !== 'ustar ') throw new TarError('bad-magic', off + 257, 'not a ustar header');
  const stored = octal(h, 148, 8, off, 'checksum');
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw new TarError('checksum', off + 148, `header checksum ${stored.toString(8)} does not match ${sum.toString(8)}`);
  const name = field(h, 0, 100, off, 'name');
  const prefix = magic === 'ustar' ? field(h, 345, 155, off, 'prefix') : '';
  const flag = h[156]!;
  let type: TarEntryType;
  if (flag === 0x30 || flag === 0) type = 'file';
  else if (flag === 0x35) type = 'dir';
  else if (flag === 0x32) type = 'symlink';
  else throw new TarError('unsupported-type', off + 156, `entry type '${String.fromCharCode(flag)}' is not supported (regular files, directories and symlinks only)`);
  const path = normalize(prefix ? `${prefix}/${name}` : name);
  checkName(path, off);
  const size = octal(h, 124, 12, off, 'size');
  return {
    path, type,
    mode: octal(h, 100, 8, off, 'mode'),
    uid: octal(h, 108, 8, off, 'uid'),
    gid: octal(h, 116, 8, off, 'gid'),
    mtime: octal(h, 136, 12, off, 'mtime'),
    size: type === 'file' ? size : 0,
    linkname: type === 'symlink' ? field(h, 157, 100, off, 'link target') : '',
    headerOffset: off,
    dataOffset: off + TAR_BLOCK,
  };
}

/** Reads `length` bytes at `offset`; returns fewer at the end of the source. */
export type TarByteReader = (offset: number, length: number) => Uint8Array;

/**
 * Walk the headers of the archive in a source of `size` bytes without reading content (so a
 * whole disk can be checked in constant memory). Stops at the end-of-archive marker.
 */
export function scanTar(read: TarByteReader, size: number, visit: (e: Omit<TarEntry, 'data'>) => void = () => {}): { entries: number; end: number } {
  let off = 0;
  let n = 0;
  for (;;) {
    if (off >= size) throw new TarError('truncated', off, 'archive ends without the end-of-archive marker');
    const block = read(off, TAR_BLOCK);
    if (block.length < TAR_BLOCK) throw new TarError('truncated', off + block.length, 'header block cut short');
    const e = parseTarHeader(block, off);
    if (e === null) return { entries: n, end: Math.min(size, off + 2 * TAR_BLOCK) };
    if (e.dataOffset + e.size > size) throw new TarError('truncated', e.dataOffset, `content of '${e.path}' (${e.size} bytes) runs past the end`);
    visit(e);
    n++;
    off = e.dataOffset + Math.ceil(e.size / TAR_BLOCK) * TAR_BLOCK;
  }
}

/**
 * Every entry of the archive at the start of `bytes`. Content is a view into `bytes`. Bytes
 * after the end-of-archive marker (or after a single zero block, as GNU tar tolerates) are
 * not looked at.
 */
export function readTar(bytes: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  scanTar((o, l) => bytes.subarray(o, o + l), bytes.length, (e) => out.push({ ...e, data: bytes.subarray(e.dataOffset, e.dataOffset + e.size) }));
  return out;
}

/** The archive's length up to and including its end-of-archive marker. */
export function tarLength(bytes: Uint8Array): number {
  return scanTar((o, l) => bytes.subarray(o, o + l), bytes.length).end;
}
