// Descriptor and file-status system calls glibc's stdio and start-up make: fstat/newfstatat
// (stdio sizes its buffer from st_blksize and asks whether a stream is a character device),
// readlinkat (/proc/self/exe, which a static glibc reads to know its own path), dup, dup2,
// dup3 and fcntl (perror duplicates stderr). Each returns the result or -errno.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import * as mem from './mem.js';
import type { Process } from './process.js';
import { fdLimit } from './rlimit.js';
import { EBADF, EINVAL, EMFILE, ENOENT, ENOTDIR, normalizePath, type Inode, type Vfs } from './fs/vfs.js';

type G<T> = Generator<Op, T, void>;

export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
const AT_SYMLINK_NOFOLLOW = 0x100, AT_NO_AUTOMOUNT = 0x800;
export const O_CLOEXEC = 0o2000000;
const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, FD_CLOEXEC = 1;
/** Status flags F_SETFL may change (O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME); F_GETFL leaves out the creation flags. */
const SETFL_MASK = 0o2000 | 0o4000 | 0o20000 | 0o400000 | 0o1000000;
const CREATION_FLAGS = 0o100 | 0o200 | 0o400 | 0o1000 | O_CLOEXEC;
const S_IFCHR = 0o020000, S_IFDIR = 0o040000, S_IFREG = 0o100000;
/** st_dev: vda (virtio-blk, major 254) for the root disk, an anonymous device for the rest. */
const DEV_VDA = 254 << 8, DEV_ANON = 2;
/** /dev/console is character device 5:1. */
const RDEV_CONSOLE = (5 << 8) | 1;
const STAT_BLKSIZE = 4096;

/** A path for an *at call: absolute, or relative to the directory `dirfd` is open on. */
export function resolveAt(p: Process, dirfd: number, path: string): string | number {
  if (path.startsWith('/') || dirfd === AT_FDCWD) return normalizePath(path, '/');
  const d = p.fds[dirfd];
  if (!d) return -EBADF;
  if (d.inode.type !== 'dir') return -ENOTDIR;
  return normalizePath(path, d.path);
}

/** struct stat as powerpc64 lays it out (asm/stat.h): 144 bytes. */
function statBytes(n: Inode): Uint8Array {
  const b = new Uint8Array(144);
  const dv = new DataView(b.buffer);
  const u64 = (off: number, v: number) => dv.setBigUint64(off, BigInt(v), true);
  const type = n.type === 'dir' ? S_IFDIR : n.type === 'chr' ? S_IFCHR : S_IFREG;
  u64(0, n.backing.kind === 'bdev' ? DEV_VDA : DEV_ANON);
  u64(8, n.ino);
  u64(16, n.type === 'dir' ? 2 : 1);
  dv.setUint32(24, type | (n.mode & 0o7777), true);
  u64(40, n.backing.kind === 'console' ? RDEV_CONSOLE : 0);
  u64(48, n.size);
  u64(56, STAT_BLKSIZE);
  u64(64, Math.ceil(n.size / 512));
  return b;
}

/** fstat(fd, buf) is newfstatat(fd, "", buf, AT_EMPTY_PATH). */
export function* newfstatat(cpu: Cpu, vfs: Vfs, p: Process, dirfd: number, path: string, buf: number, flags: number): G<number> {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) return -EINVAL;
  let inode: Inode | undefined;
  if (path === '') {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    inode = dirfd === AT_FDCWD ? vfs.lookup('/') : p.fds[dirfd]?.inode;
    if (!inode) return -EBADF;
  } else {
    const at = resolveAt(p, dirfd, path);
    if (typeof at === 'number') return at;
    inode = vfs.lookup(at);
    if (!inode) return -ENOENT;
  }
  yield* mem.write(cpu, buf, statBytes(inode));
  return 0;
}

/** The file tree has no symbolic links; /proc/self/exe is the one the kernel makes up. */
export function* readlinkat(cpu: Cpu, vfs: Vfs, p: Process, dirfd: number, path: string, buf: number, size: number): G<number> {
  if (size <= 0) return -EINVAL;
  const at = resolveAt(p, dirfd, path);
  if (typeof at === 'number') return at;
  if (at !== '/proc/self/exe' && at !== `/proc/${p.pid}/exe`) return vfs.lookup(at) ? -EINVAL : -ENOENT;
  const target = new TextEncoder().encode(p.name).subarray(0, size);
  yield* mem.write(cpu, buf, target);
  return target.length;
}

function lowestFrom(p: Process, from: number): number {
  const max = fdLimit(p);
  for (let i = from; i < max; i++) if (!p.fds[i]) return i;
  return -EMFILE;
}

/** Close a descriptor (what close(2) does with one). */
export function closeFd(p: Process, fd: number): boolean {
  if (!p.fds[fd]) return false;
  p.fds[fd] = undefined;
  p.cloexec.delete(fd);
  return true;
}

/** The new descriptor shares the open file (its offset and status flags) with the old one. */
function dupTo(p: Process, fd: number, to: number, cloexec: boolean): number {
  closeFd(p, to);
  p.fds[to] = p.fds[fd];
  if (cloexec) p.cloexec.add(to);
  return to;
}

export function dup(p: Process, fd: number): number {
  if (!p.fds[fd]) return -EBADF;
  const to = lowestFrom(p, 0);
  return to < 0 ? to : dupTo(p, fd, to, false);
}

/** dup2 (flags undefined) and dup3. */
export function dup3(p: Process, fd: number, to: number, flags: number | undefined): number {
  if (flags !== undefined && (flags & ~O_CLOEXEC) !== 0) return -EINVAL;
  if (!p.fds[fd] || to < 0 || to >= fdLimit(p)) return -EBADF;
  if (fd === to) return flags === undefined ? to : -EINVAL;
  return dupTo(p, fd, to, ((flags ?? 0) & O_CLOEXEC) !== 0);
}

export function fcntl(p: Process, fd: number, cmd: number, arg: number): number {
  const f = p.fds[fd];
  if (!f) return -EBADF;
  switch (cmd) {
    case F_DUPFD: case F_DUPFD_CLOEXEC: {
      if (arg < 0 || arg >= fdLimit(p)) return -EINVAL;
      const to = lowestFrom(p, arg);
      return to < 0 ? to : dupTo(p, fd, to, cmd === F_DUPFD_CLOEXEC);
    }
    case F_GETFD: return p.cloexec.has(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      if (arg & FD_CLOEXEC) p.cloexec.add(fd); else p.cloexec.delete(fd);
      return 0;
    case F_GETFL: return f.flags & ~CREATION_FLAGS;
    case F_SETFL:
      f.flags = (f.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
      return 0;
    default: return -EINVAL;
  }
}
