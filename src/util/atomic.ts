// Atomic file and directory writes: write to a temporary name in the same directory, fsync,
// rename over the target, fsync the directory. A crash leaves the old content or the new one.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync, existsSync } from 'node:fs';
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function fsyncDir(dir: string): void {
  try { const fd = openSync(dir, 'r'); try { fsyncSync(fd); } finally { closeSync(fd); } } catch { /* not supported everywhere */ }
}

export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd); rmSync(tmp, { force: true }); throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export async function writeFileAtomicAsync(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const tmp = tempNameFor(path);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(typeof data === 'string' ? Buffer.from(data) : data);
    await fh.sync();
  } catch (e) {
    await fh.close(); await rm(tmp, { force: true }); throw e;
  }
  await fh.close();
  await rename(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * Build a whole directory under a temporary name and rename it into place when `build`
 * succeeds; on failure (or a kill) nothing exists under the final name. The target must not exist.
 */
export async function buildDirAtomic<T>(target: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  if (existsSync(target)) throw new Error(`${target}: already exists`);
  const tmp = tempNameFor(target);
  await mkdir(tmp, { recursive: true });
  try {
    const r = await build(tmp);
    fsyncDir(tmp);
    await rename(tmp, target);
    fsyncDir(dirname(target));
    return r;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Replace an existing directory's content atomically: build the new one beside it, then swap
 * with two renames. Between them a reader sees either the old name, the new, or (for an
 * instant) the old one moved aside under a `.old` name that recovery puts back.
 */
export async function replaceDirAtomic<T>(target: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  const tmp = tempNameFor(target);
  await mkdir(tmp, { recursive: true });
  let r: T;
  try { r = await build(tmp); fsyncDir(tmp); } catch (e) { await rm(tmp, { recursive: true, force: true }); throw e; }
  const old = `${target}.old-${process.pid}`;
  renameSync(target, old);
  renameSync(tmp, target);
  fsyncDir(dirname(target));
  rmSync(old, { recursive: true, force: true });
  return r;
}

export function ensureDir(dir: string): void { mkdirSync(dir, { recursive: true }); }
