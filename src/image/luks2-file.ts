// LUKS2 disks as files, streamed in constant memory: encrypt a plain disk into a new LUKS2 disk,
// read a header, open a volume. Reads of the next chunk and writes of the previous one overlap
// the encryption of the current one.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { readLuks2Header, type ByteReader } from './luks2-header.js';
import { createLuks2, Luks2Volume, unlockLuks2, type Luks2CreateOptions, type Luks2Created, type Luks2Header, type Passphrase } from './luks2.js';
import { InputError } from '../util/errors.js';
import { XtsPool } from './xts-pool.js';

export const DISK_CHUNK = 1024 * 1024;
/** Buffers streamTransform keeps in rotation: one being read, one transformed, one written. */
const STREAM_BUFFERS = 3;

/** A ByteReader over an open file descriptor (short at the end of the file). */
export function fdByteReader(fd: number): ByteReader {
  return (offset, length) => {
    const b = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, b, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  };
}

/** The header of a LUKS2 disk file (Luks2Error when it has none or a damaged one). */
export function readLuks2HeaderFile(path: string): Luks2Header {
  const fd = openSync(path, 'r');
  try { return readLuks2Header(fdByteReader(fd)); } finally { closeSync(fd); }
}

export interface OpenedFile { volume: Luks2Volume; keyslot: string; close(): void }

/** Open a LUKS2 disk file with a passphrase; the volume reads through the file until close(). */
export function openLuks2File(path: string, passphrase: Passphrase): OpenedFile {
  const fd = openSync(path, 'r');
  try {
    const read = fdByteReader(fd);
    const header = readLuks2Header(read);
    const { volumeKey, keyslot } = unlockLuks2(header, passphrase, read);
    const volume = new Luks2Volume(header, volumeKey, { read, size: fstatSync(fd).size });
    return { volume, keyslot, close: () => closeSync(fd) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

async function writeAll(fh: FileHandle, buf: Uint8Array, length: number, position: number): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesWritten } = await fh.write(buf, off, length - off, position + off);
    off += bytesWritten;
  }
}

async function readFull(fh: FileHandle, buf: Uint8Array, length: number, position: number): Promise<number> {
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

export interface StreamOptions {
  chunkSize?: number;
  /** Called after each chunk with the bytes done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Threads for the cipher, this one included (default: one per core but one; 1 keeps it on this thread). */
  jobs?: number;
}

/**
 * Transform `length` bytes of `src` (from `srcOffset`) into `dst` (at `dstOffset`), chunk by
 * chunk and in place, with three buffers in rotation: while one chunk is transformed, the next
 * is being read and the previous written. Memory: three chunks, whatever the size.
 */
export async function streamTransform(
  src: FileHandle, srcOffset: number, dst: FileHandle, dstOffset: number, length: number,
  transform: (chunk: Uint8Array, pos: number) => void | Promise<void>, what: string,
  o: StreamOptions & { alloc?: (n: number) => Uint8Array } = {},
): Promise<void> {
  const chunk = o.chunkSize ?? DISK_CHUNK;
  const alloc = o.alloc ?? ((n: number) => new Uint8Array(n));
  const bufs = Array.from({ length: STREAM_BUFFERS }, () => alloc(chunk));
  const want = (pos: number) => Math.min(chunk, length - pos);
  const reads: (Promise<number> | null)[] = [null, null, null];
  const writes: (Promise<void> | null)[] = [null, null, null];
  if (length > 0) reads[0] = readFull(src, bufs[0]!, want(0), srcOffset);
  try {
    for (let pos = 0, i = 0; pos < length; pos += chunk, i = (i + 1) % 3) {
      const n = want(pos);
      const got = await reads[i]!;
      reads[i] = null;
      if (got !== n) throw new InputError(what, `ended at byte ${srcOffset + pos + got} while reading ${length} bytes (truncated or changed during the conversion)`);
      const next = (i + 1) % 3;
      if (pos + n < length) {
        if (writes[next]) { await writes[next]; writes[next] = null; }
        reads[next] = readFull(src, bufs[next]!, want(pos + n), srcOffset + pos + n);
      }
      const buf = bufs[i]!.subarray(0, n);
      await transform(buf, pos);
      writes[i] = writeAll(dst, buf, n, dstOffset + pos);
      o.onProgress?.(pos + n, length);
    }
    for (const w of writes) if (w) await w;
  } finally {
    // Never leave a read or write running on a buffer or handle the caller is about to drop.
    await Promise.allSettled([...reads, ...writes].filter((p) => p !== null));
  }
}

/**
 * Threads for the cipher by default: one per core but one. The page-cache copies of the reads
 * and writes run in libuv's threads and need a core too; on two CPUs (measured on virtual ones
 * whose AES throughput together was one core's, docs/image-format.md) one cipher thread
 * converts faster than two.
 */
export const defaultCipherJobs = (): number => Math.max(1, availableParallelism() - 1);

/**
 * The cipher for bulk work: the WebAssembly engine in place in memory that also holds the
 * stream's buffers, on a pool of threads or on this one; or, where it cannot run, the
 * volume's own path on ordinary buffers.
 */
/** Each chunk is ciphered from its first sector: a chunk that split a sector would shift every IV after it. */
function checkChunkSize(chunkSize: number | undefined, unit: number): void {
  if (chunkSize !== undefined && !(Number.isSafeInteger(chunkSize) && chunkSize > 0 && chunkSize % unit === 0)) {
    throw new RangeError(`chunkSize ${chunkSize} is not a positive multiple of the ${unit}-byte sector`);
  }
}

async function withCipher<T>(volume: Luks2Volume, o: StreamOptions, body: (run: (chunk: Uint8Array, sector: number) => void | Promise<void>, alloc: (n: number) => Uint8Array) => Promise<T>, decrypt: boolean): Promise<T> {
  const key = volume.volumeKey, unit = volume.sectorSize, step = unit / 512;
  checkChunkSize(o.chunkSize, unit);
  const bufferBytes = STREAM_BUFFERS * (o.chunkSize ?? DISK_CHUNK);
  const jobs = o.jobs ?? defaultCipherJobs();
  const pool = jobs > 1 ? XtsPool.create(key, unit, step, jobs, bufferBytes) : XtsPool.single(key, unit, step, bufferBytes);
  if (!pool) {
    return body((chunk, sector) => { if (decrypt) volume.decryptSectors(sector, chunk, chunk); else volume.encryptSectors(sector, chunk, chunk); }, (n) => new Uint8Array(n));
  }
  try {
    return await body((chunk, sector) => pool.run(decrypt, chunk, volume.segment.ivTweak + sector * step), (n) => pool.alloc(n));
  } finally {
    await pool.close();
  }
}

export interface EncryptDiskOptions extends Luks2CreateOptions, StreamOptions {}

/**
 * Write a new LUKS2 disk at `outPath` (which must not exist) whose data segment holds the
 * encrypted bytes of the plain disk at `plainPath`. The file is synced before returning.
 */
export async function encryptDiskFile(plainPath: string, outPath: string, o: EncryptDiskOptions): Promise<Luks2Created> {
  const src = await open(plainPath, 'r');
  try {
    const size = (await src.stat()).size;
    const sectorSize = o.sectorSize ?? 512;
    if (size % sectorSize !== 0) throw new InputError(plainPath, `size ${size} is not a multiple of the ${sectorSize}-byte sector`);
    checkChunkSize(o.chunkSize, sectorSize);
    const created = createLuks2(o);
    const volume = new Luks2Volume(created.header, created.volumeKey);
    const dst = await open(outPath, 'wx', 0o600);
    try {
      // Holes read as zeros: the unused keyslots area stays sparse, as a wiped area would read.
      await dst.truncate(created.dataOffset + size);
      await writeAll(dst, created.headerBytes, created.headerBytes.length, 0);
      await writeAll(dst, created.keyslotBytes, created.keyslotBytes.length, created.keyslotOffset);
      await withCipher(volume, o, (run, alloc) => streamTransform(src, 0, dst, created.dataOffset, size, (chunk, pos) => run(chunk, pos / sectorSize), plainPath, { ...o, alloc }), false);
      await dst.sync();
    } finally {
      await dst.close();
    }
    return created;
  } finally {
    await src.close();
  }
}

/** Decrypt a LUKS2 disk's whole data segment into a plain file (tests and recovery). */
export async function decryptDiskFile(luksPath: string, passphrase: Passphrase, outPath: string, o: StreamOptions = {}): Promise<void> {
  const opened = openLuks2File(luksPath, passphrase);
  const { volume } = opened;
  opened.close();
  const size = volume.dataSize ?? 0;
  const src = await open(luksPath, 'r');
  try {
    const dst = await open(outPath, 'wx', 0o600);
    try {
      await dst.truncate(size);
      await withCipher(volume, o, (run, alloc) => streamTransform(src, volume.dataOffset, dst, 0, size, (chunk, pos) => run(chunk, pos / volume.sectorSize), luksPath, { ...o, alloc }), true);
      await dst.sync();
    } finally { await dst.close(); }
  } finally { await src.close(); }
}
