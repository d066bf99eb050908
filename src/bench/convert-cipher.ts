// What `pef bench convert` measures besides the conversion (in its child process, see
// convert-child.ts): the cipher alone in memory, and the disk streamed with no cipher.
import { rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { XtsPlain64 } from '../image/xts.js';
import { XtsPool } from '../image/xts-pool.js';
import { DISK_CHUNK, streamTransform } from '../image/luks2-file.js';

const GiB = 1024 * 1024 * 1024;

/** aes-xts-plain64 (4096-byte sectors, as convert uses) over 512 MiB in memory on this thread: bytes per second. */
export function xtsInMemory(): number {
  const x = new XtsPlain64(new Uint8Array(randomBytes(64)), 4096, 8);
  const buf = new Uint8Array(randomBytes(1024 * 1024));
  const out = new Uint8Array(buf.length);
  for (let i = 0; i < 128; i++) x.encrypt(buf, i * 2048, out); // warm up the JIT
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 512; i++) x.encrypt(buf, i * 2048, out);
  return (512 * buf.length) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * The same over 1 GiB in place in the worker pool's memory, on every thread, one disk chunk
 * at a time as convert streams it: bytes per second (null without a pool) and the threads.
 */
export async function xtsPoolInMemory(): Promise<{ allThreads: number | null; threads: number }> {
  const threads = availableParallelism();
  const pool = XtsPool.create(new Uint8Array(randomBytes(64)), 4096, 8, threads, DISK_CHUNK);
  if (!pool) return { allThreads: null, threads: 1 };
  try {
    const buf = pool.alloc(DISK_CHUNK);
    buf.set(randomBytes(buf.length));
    const rounds = GiB / buf.length;
    for (let i = 0; i < rounds / 8; i++) await pool.run(false, buf, i * 2048);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) await pool.run(false, buf, i * 2048);
    return { allThreads: GiB / (Number(process.hrtime.bigint() - t0) / 1e9), threads };
  } finally { await pool.close(); }
}

/** Stream `path` into a new file beside it as convert streams the disk, with no cipher (read, write, fsync): bytes per second. */
export async function copyFloor(path: string): Promise<number> {
  const out = `${path}.copy`;
  const src = await open(path, 'r');
  try {
    const size = (await src.stat()).size;
    const dst = await open(out, 'wx', 0o600);
    try {
      const t0 = process.hrtime.bigint();
      await dst.truncate(size);
      await streamTransform(src, 0, dst, 0, size, () => undefined, path);
      await dst.sync();
      return size / (Number(process.hrtime.bigint() - t0) / 1e9);
    } finally { await dst.close(); }
  } finally {
    await src.close();
    rmSync(out, { force: true });
  }
}
