// The system-call layer: `sc 0` from problem state with R0 = number and R3..R8 = arguments, as
// Linux on ppc64le. On return R3 holds the result; on error CR0[SO] is set and R3 holds the
// positive errno. Numbers are Linux's (arch/powerpc/kernel/syscalls/syscall.tbl).

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { HC } from '../abi/hcalls.js';
import { hcall } from './arch.js';
import * as mem from './mem.js';
import { E2BIG, EBADF, ECHILD, EFAULT, EINVAL, EISDIR, EMFILE, ENAMETOOLONG, ENOENT, ENOSYS, FsError, normalizePath } from './fs/vfs.js';
import type { Kernel } from './kernel.js';
import { MAX_ARGS, type Process } from './process.js';
import { brk, mmap, mprotect, munmap } from './mm.js';
import { AT_EMPTY_PATH, AT_FDCWD, closeFd, dup, dup3, fcntl, newfstatat, O_CLOEXEC, readlinkat } from './file-calls.js';
import { fdLimit, prlimit } from './rlimit.js';

export const NR = {
  exit: 1, read: 3, write: 4, open: 5, close: 6, execve: 11, lseek: 19, getpid: 20, getuid: 24, dup: 41, brk: 45,
  getgid: 47, geteuid: 49, getegid: 50, ioctl: 54, fcntl: 55, dup2: 63, getppid: 64, readlink: 85, reboot: 88,
  mmap: 90, munmap: 91, fstat: 108, uname: 122, mprotect: 125, writev: 146, ugetrlimit: 190, gettid: 207,
  set_tid_address: 232, exit_group: 234, openat: 286, newfstatat: 291, readlinkat: 296, set_robust_list: 300,
  dup3: 316, prlimit64: 325, getrandom: 359, rseq: 387, vfork: 189, wait4: 114,
} as const;

export const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_TRUNC = 0o1000, O_APPEND = 0o2000;
export { AT_FDCWD };
const ENOTTY = 25;
const PATH_MAX = 4096;
const IO_MAX = 1 << 20;
/** reboot(2) magic numbers and commands. */
const LINUX_REBOOT_MAGIC1 = 0xfee1dead;
const LINUX_REBOOT_CMD_RESTART = 0x01234567;
const LINUX_REBOOT_CMD_POWER_OFF = 0x4321fedc;

export type SysResult =
  | { kind: 'ret'; value: number }
  | { kind: 'err'; errno: number }
  | { kind: 'exit'; code: number }
  | { kind: 'exec' }
  | { kind: 'vfork' }
  | { kind: 'reboot'; how: 'restart' | 'power-off' };

const ok = (value: number): SysResult => ({ kind: 'ret', value });
const err = (errno: number): SysResult => ({ kind: 'err', errno });
/** A result or -errno. */
const res = (v: number): SysResult => (v < 0 ? err(-v) : ok(v));
/** sizeof(struct robust_list_head) on 64-bit. */
const ROBUST_LIST_HEAD_SIZE = 24;

/** A path argument as the program gave it. */
function* rawPath(cpu: Cpu, addr: number): Generator<Op, string, void> {
  if (addr === 0) throw new FsError(EFAULT, 'NULL path');
  const s = yield* mem.readCString(cpu, addr, PATH_MAX);
  if (s === undefined) throw new FsError(ENAMETOOLONG, 'path too long');
  return s;
}

function* path(cpu: Cpu, p: Process, addr: number): Generator<Op, string, void> {
  return normalizePath(yield* rawPath(cpu, addr), '/');
  void p;
}

function* strings(cpu: Cpu, addr: number): Generator<Op, string[], void> {
  const out: string[] = [];
  if (addr === 0) return out;
  for (let i = 0; ; i++) {
    if (i >= MAX_ARGS) throw new FsError(E2BIG, 'too many arguments');
    const lo = yield* mem.load32(cpu, addr + 8 * i);
    const hi = yield* mem.load32(cpu, addr + 8 * i + 4);
    const a = hi * 0x100000000 + lo;
    if (a === 0) return out;
    const s = yield* mem.readCString(cpu, a, PATH_MAX);
    if (s === undefined) throw new FsError(E2BIG, 'argument too long');
    out.push(s);
  }
}

export function* syscall(k: Kernel, cpu: Cpu, p: Process, nr: number, a: bigint[]): Generator<Op, SysResult, void> {
  const n = (i: number) => Number(BigInt.asIntN(64, a[i]!));
  switch (nr) {
    case NR.exit: case NR.exit_group: return { kind: 'exit', code: n(0) & 0xff };
    case NR.getpid: case NR.gettid: return ok(p.pid);
    case NR.getppid: return ok(p.parent?.pid ?? 0);
    case NR.getuid: case NR.geteuid: case NR.getgid: case NR.getegid: return ok(0);
    // One thread per process: nobody waits on the child-tid word or on robust futexes.
    case NR.set_tid_address: return ok(p.pid);
    case NR.set_robust_list: return n(1) === ROBUST_LIST_HEAD_SIZE ? ok(0) : err(EINVAL);
    // As a kernel built without CONFIG_RSEQ: glibc then runs without restartable sequences.
    case NR.rseq: return err(ENOSYS);
    case NR.prlimit64: return res(yield* prlimit(cpu, p, n(0), n(1), n(2), n(3)));
    case NR.ugetrlimit: return res(yield* prlimit(cpu, p, 0, n(0), 0, n(1)));
    case NR.brk: return ok(yield* brk(cpu, p, n(0)));
    case NR.mmap: return res(yield* mmap(cpu, k.pages!, k.vfs!, p, { addr: n(0), len: n(1), prot: n(2), flags: n(3), fd: n(4) | 0, off: n(5) }));
    case NR.munmap: return res(munmap(k.pages!, p, n(0), n(1)));
    case NR.mprotect: return res(mprotect(k.pages!, p, n(0), n(1), n(2)));
    case NR.fstat: return res(yield* newfstatat(cpu, k.vfs!, p, n(0) | 0, '', n(1), AT_EMPTY_PATH));
    case NR.newfstatat: return res(yield* newfstatat(cpu, k.vfs!, p, n(0) | 0, yield* rawPath(cpu, n(1)), n(2), n(3)));
    case NR.readlink: return res(yield* readlinkat(cpu, k.vfs!, p, AT_FDCWD, yield* rawPath(cpu, n(0)), n(1), n(2)));
    case NR.readlinkat: return res(yield* readlinkat(cpu, k.vfs!, p, n(0) | 0, yield* rawPath(cpu, n(1)), n(2), n(3)));
    case NR.dup: return res(dup(p, n(0)));
    case NR.dup2: return res(dup3(p, n(0), n(1), undefined));
    case NR.dup3: return res(dup3(p, n(0), n(1), n(2)));
    case NR.fcntl: return res(fcntl(p, n(0), n(1) | 0, n(2)));
    case NR.open: return yield* openat(k, cpu, p, AT_FDCWD, n(0), n(1));
    case NR.openat: return yield* openat(k, cpu, p, n(0), n(1), n(2));
    case NR.close: return closeFd(p, n(0)) ? ok(0) : err(EBADF);
    case NR.read: {
      const f = p.fds[n(0)];
      if (!f || (f.flags & 3) === O_WRONLY) return err(EBADF);
      const len = Math.min(Math.max(0, n(2)), IO_MAX);
      const got = yield* k.vfs!.read(cpu, f.inode, f.pos, n(1), len);
      f.pos += got;
      return ok(got);
    }
    case NR.write: {
      const f = p.fds[n(0)];
      if (!f || (f.flags & 3) === O_RDONLY) return err(EBADF);
      return ok(yield* writeTo(k, cpu, f, n(1), Math.min(Math.max(0, n(2)), IO_MAX)));
    }
    case NR.writev: {
      const f = p.fds[n(0)];
      if (!f || (f.flags & 3) === O_RDONLY) return err(EBADF);
      let total = 0;
      for (let i = 0; i < Math.min(n(2), 1024); i++) {
        const base = Number(yield* mem.load32(cpu, n(1) + 16 * i)) + (yield* mem.load32(cpu, n(1) + 16 * i + 4)) * 0x100000000;
        const len = yield* mem.load32(cpu, n(1) + 16 * i + 8);
        total += yield* writeTo(k, cpu, f, base, Math.min(len, IO_MAX));
      }
      return ok(total);
    }
    case NR.lseek: {
      const f = p.fds[n(0)];
      if (!f) return err(EBADF);
      const whence = n(2);
      const to = whence === 0 ? n(1) : whence === 1 ? f.pos + n(1) : whence === 2 ? f.inode.size + n(1) : -1;
      if (to < 0) return err(EINVAL);
      f.pos = to;
      return ok(to);
    }
    case NR.ioctl: return err(ENOTTY);
    case NR.uname: {
      const fields = ['Linux', k.hostname, k.release, k.version, 'ppc64le', '(none)'];
      const b = new Uint8Array(6 * 65);
      fields.forEach((f, i) => b.set(new TextEncoder().encode(f).subarray(0, 64), 65 * i));
      yield* mem.write(cpu, n(0), b);
      return ok(0);
    }
    case NR.getrandom: {
      const len = Math.min(Math.max(0, n(1)), 256);
      const b = new Uint8Array(Math.ceil(len / 8) * 8);
      const dv = new DataView(b.buffer);
      for (let i = 0; i < b.length; i += 8) {
        // H_RANDOM: an SVM's is answered by the ultravisor from the hardware RNG.
        const r = yield* hcall(cpu, HC.H_RANDOM);
        if (r.rc !== 0) return err(ENOSYS);
        dv.setBigUint64(i, r.out[0]!);
      }
      yield* mem.write(cpu, n(0), b.subarray(0, len));
      return ok(len);
    }
    case NR.execve: {
      const file = yield* path(cpu, p, n(0));
      const argv = yield* strings(cpu, n(1));
      const envp = yield* strings(cpu, n(2));
      yield* k.exec(cpu, p, file, argv.length ? argv : [file], envp);
      return { kind: 'exec' };
    }
    case NR.vfork: return { kind: 'vfork' };
    case NR.wait4: {
      const want = n(0);
      const child = k.children(p).find((c) => c.zombie !== undefined && (want === -1 || c.pid === want));
      if (!child) return err(k.children(p).some((c) => want === -1 || c.pid === want) ? EINVAL : ECHILD);
      if (n(1) !== 0) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, child.zombie!, true);
        yield* mem.write(cpu, n(1), b);
      }
      k.reap(child);
      return ok(child.pid);
    }
    case NR.reboot: {
      if ((n(0) >>> 0) !== LINUX_REBOOT_MAGIC1) return err(EINVAL);
      const cmd = n(2) >>> 0;
      if (cmd === LINUX_REBOOT_CMD_POWER_OFF) return { kind: 'reboot', how: 'power-off' };
      if (cmd === LINUX_REBOOT_CMD_RESTART) return { kind: 'reboot', how: 'restart' };
      return err(EINVAL);
    }
    default: return err(ENOSYS);
  }
}

function* writeTo(k: Kernel, cpu: Cpu, f: NonNullable<Process['fds'][number]>, buf: number, len: number): Generator<Op, number, void> {
  if (f.inode.backing.kind === 'console') {
    yield* k.console.write(cpu, yield* mem.read(cpu, buf, len));
    return len;
  }
  if (f.flags & O_APPEND) f.pos = f.inode.size;
  const w = yield* k.vfs!.write(cpu, f.inode, f.pos, buf, len);
  f.pos += w;
  return w;
}

function* openat(k: Kernel, cpu: Cpu, p: Process, dirfd: number, pathAddr: number, flags: number): Generator<Op, SysResult, void> {
  const name = yield* path(cpu, p, pathAddr);
  if (dirfd !== AT_FDCWD && !p.fds[dirfd]) return err(EBADF);
  const vfs = k.vfs!;
  let inode = vfs.lookup(name);
  if (flags & O_TRUNC && (flags & 3) !== O_RDONLY) inode = vfs.truncate(name);
  else if (!inode && flags & O_CREAT) inode = vfs.add(name, 'file', { kind: 'ram', pages: [] }, 0);
  if (!inode) return err(ENOENT);
  if (inode.type === 'dir' && (flags & 3) !== O_RDONLY) return err(EISDIR);
  const fd = lowestFd(p);
  if (fd < 0) return err(EMFILE);
  p.fds[fd] = { inode, pos: 0, flags, path: name };
  if (flags & O_CLOEXEC) p.cloexec.add(fd);
  return ok(fd);
}

function lowestFd(p: Process): number {
  const max = fdLimit(p);
  for (let i = 0; i < max; i++) if (!p.fds[i]) return i;
  return -1;
}
