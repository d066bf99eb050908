// The kernel's file tree: one namespace of absolute paths. File data lives in guest memory,
// never in the kernel's own (host) heap: RAM files (the unpacked initramfs, files written at
// run time) in pages of their own, root-disk files in the block cache, generated files
// (sysfs) produced on read. So an SVM's files are in secure memory like the rest of it.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { PAGE_SIZE } from '../../abi/pages.js';
import * as mem from '../mem.js';
import type { PageAllocator } from '../pages.js';
import type { BlockCache } from './bcache.js';

export type Backing =
  | { kind: 'ram'; pages: number[] }
  | { kind: 'bdev'; dev: BlockCache; offset: number }
  | { kind: 'gen'; produce: () => Uint8Array }
  | { kind: 'console' };

export interface Inode {
  ino: number;
  type: 'file' | 'dir' | 'chr';
  mode: number;
  size: number;
  backing: Backing;
  readonly: boolean;
}

export class FsError extends Error {
  constructor(readonly errno: number, message: string) { super(message); this.name = 'FsError'; }
}

export const ENOENT = 2, EIO = 5, EBADF = 9, ENOMEM = 12, EFAULT = 14, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
  EMFILE = 24, EFBIG = 27, EROFS = 30, ENAMETOOLONG = 36, ENOSYS = 38, ENOEXEC = 8, ECHILD = 10, E2BIG = 7;

/** Normalize an absolute path: collapse slashes, resolve "." and "..". */
export function normalizePath(p: string, cwd = '/'): string {
  const parts: string[] = [];
  for (const seg of (p.startsWith('/') ? p : `${cwd}/${p}`).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop(); else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** Files bigger than this cannot be written at run time (a RAM file's page list is in the kernel's heap). */
export const MAX_RAM_FILE = 64 * 1024 * 1024;

export class Vfs {
  readonly #nodes = new Map<string, Inode>();
  #ino = 1;

  constructor(private readonly pages: PageAllocator) {
    this.#nodes.set('/', this.#make('dir', 0o755, { kind: 'ram', pages: [] }, true));
  }

  #make(type: Inode['type'], mode: number, backing: Backing, readonly: boolean, size = 0): Inode {
    return { ino: this.#ino++, type, mode, size, backing, readonly };
  }

  get count(): number { return this.#nodes.size; }
  lookup(path: string): Inode | undefined { return this.#nodes.get(normalizePath(path)); }
  list(): string[] { return [...this.#nodes.keys()]; }

  mkdirp(path: string): void {
    const p = normalizePath(path);
    if (p === '/') return;
    const parts = p.slice(1).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const q = '/' + parts.slice(0, i).join('/');
      const n = this.#nodes.get(q);
      if (!n) this.#nodes.set(q, this.#make('dir', 0o755, { kind: 'ram', pages: [] }, false));
    }
  }

  /** Add a node, creating its parent directories. */
  add(path: string, type: Inode['type'], backing: Backing, size: number, opts: { mode?: number; readonly?: boolean } = {}): Inode {
    const p = normalizePath(path);
    const parent = p.slice(0, p.lastIndexOf('/')) || '/';
    this.mkdirp(parent);
    const old = this.#nodes.get(p);
    if (old && old.backing.kind === 'ram') this.#release(old);
    const n = this.#make(type, opts.mode ?? (type === 'dir' ? 0o755 : 0o644), backing, opts.readonly ?? false, size);
    this.#nodes.set(p, n);
    return n;
  }

  #release(n: Inode): void {
    if (n.backing.kind === 'ram') { for (const g of n.backing.pages) this.pages.free(g); n.backing.pages.length = 0; }
  }

  /** A RAM file whose content is copied from guest memory at `src` (or zero-length). */
  *addRamFile(cpu: Cpu, path: string, src: number, len: number, mode = 0o644): Generator<Op, Inode, void> {
    const pages: number[] = [];
    for (let o = 0; o < len; o += PAGE_SIZE) {
      const g = this.pages.alloc(1, `file ${path}`);
      pages.push(g);
      yield* mem.copy(cpu, g, src + o, Math.min(PAGE_SIZE, len - o));
    }
    return this.add(path, 'file', { kind: 'ram', pages }, len, { mode });
  }

  /** Empty a writable file (O_TRUNC), creating it if needed. */
  truncate(path: string): Inode {
    const n = this.lookup(path);
    if (n && n.type === 'dir') throw new FsError(EISDIR, `${path} is a directory`);
    if (n && (n.readonly || n.backing.kind !== 'ram')) return this.add(path, 'file', { kind: 'ram', pages: [] }, 0);
    if (n) { this.#release(n); n.size = 0; return n; }
    return this.add(path, 'file', { kind: 'ram', pages: [] }, 0);
  }

  /** Copy file bytes [off, off+len) into guest memory at `dst`; returns the count copied. */
  *read(cpu: Cpu, n: Inode, off: number, dst: number, len: number): Generator<Op, number, void> {
    if (n.type === 'dir') throw new FsError(EISDIR, 'is a directory');
    const b = n.backing;
    if (b.kind === 'gen') {
      const all = b.produce();
      const part = all.subarray(Math.min(off, all.length), Math.min(off + len, all.length));
      yield* mem.write(cpu, dst, part);
      return part.length;
    }
    if (b.kind === 'console') return 0;
    const count = Math.max(0, Math.min(len, n.size - off));
    if (count === 0) return 0;
    if (b.kind === 'bdev') { yield* b.dev.copyOut(cpu, b.offset + off, dst, count); return count; }
    let done = 0;
    while (done < count) {
      const pos = off + done;
      const page = b.pages[Math.floor(pos / PAGE_SIZE)]!;
      const k = Math.min(count - done, PAGE_SIZE - (pos % PAGE_SIZE));
      yield* mem.copy(cpu, dst + done, page + (pos % PAGE_SIZE), k);
      done += k;
    }
    return count;
  }

  /** Copy guest memory at `src` into a RAM file at `off`, growing it. */
  *write(cpu: Cpu, n: Inode, off: number, src: number, len: number): Generator<Op, number, void> {
    const b = n.backing;
    if (n.readonly || b.kind !== 'ram') throw new FsError(EROFS, 'read-only file');
    if (off + len > MAX_RAM_FILE) throw new FsError(EFBIG, 'file too large');
    while (b.pages.length * PAGE_SIZE < off + len) b.pages.push(this.pages.alloc(1, 'file data'));
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const page = b.pages[Math.floor(pos / PAGE_SIZE)]!;
      const k = Math.min(len - done, PAGE_SIZE - (pos % PAGE_SIZE));
      yield* mem.copy(cpu, page + (pos % PAGE_SIZE), src + done, k);
      done += k;
    }
    n.size = Math.max(n.size, off + len);
    return len;
  }
}
