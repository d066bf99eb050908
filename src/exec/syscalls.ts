// The Linux system calls a static glibc program needs, with powerpc64 numbers and structure
// layouts (asm/unistd_64.h, asm/stat.h). Each handler returns the result or a negative errno.
// Calls that make no sense for a single-threaded emulated process but that glibc makes anyway
// (set_robust_list, rt_sigaction, ...) succeed as no-ops; anything unknown is ENOSYS.

import * as fs from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { E, errnoOf, type Fd } from './files.js';
import type { LinuxProcess } from './process.js';
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from './memory.js';

export const NR = {
  exit: 1, read: 3, write: 4, close: 6, unlink: 10, time: 13, lseek: 19, getpid: 20, getuid: 24, access: 33, kill: 37,
  rename: 38, dup: 41, times: 43, brk: 45, getgid: 47, geteuid: 49, getegid: 50, ioctl: 54, fcntl: 55, umask: 60,
  dup2: 63, getppid: 64, getrusage: 77, gettimeofday: 78, readlink: 85, mmap: 90, munmap: 91, ftruncate: 93,
  fstat: 108, sysinfo: 116, _llseek: 140, fsync: 118, uname: 122, mprotect: 125, readv: 145, writev: 146, sched_yield: 158,
  nanosleep: 162, mremap: 163, prctl: 171, rt_sigaction: 173, rt_sigprocmask: 174, pread64: 179, pwrite64: 180,
  getcwd: 182, sigaltstack: 185, ugetrlimit: 190, getdents64: 202, madvise: 205, gettid: 207, futex: 221,
  sched_getaffinity: 223, set_tid_address: 232, exit_group: 234, clock_gettime: 246, clock_getres: 247,
  clock_nanosleep: 248, tgkill: 250, openat: 286, mkdirat: 287, newfstatat: 291, unlinkat: 292, renameat: 293,
  readlinkat: 296, faccessat: 298, set_robust_list: 300, dup3: 316, pipe2: 317, prlimit64: 325, getrandom: 359,
  statx: 383, rseq: 387, faccessat2: 439,
} as const;

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_REMOVEDIR = 0x200;
// open flags (asm-generic/fcntl.h with powerpc's own O_DIRECTORY/O_NOFOLLOW).
const O_ACCMODE = 3, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000, O_APPEND = 0o2000, O_DIRECTORY = 0o40000;
const MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;

export type Args = [number, number, number, number, number, number];

const fdArg = (v: number) => (v | 0); // int arguments arrive sign-extended in 64-bit registers

function statBytes(st: fs.Stats): Uint8Array {
  const b = new Uint8Array(144);
  const dv = new DataView(b.buffer);
  const put = (off: number, v: number) => { dv.setUint32(off, v >>> 0, true); dv.setUint32(off + 4, Math.floor(v / 2 ** 32) >>> 0, true); };
  put(0, st.dev); put(8, st.ino); put(16, st.nlink);
  dv.setUint32(24, st.mode, true); dv.setUint32(28, st.uid, true); dv.setUint32(32, st.gid, true);
  put(40, st.rdev); put(48, st.size); put(56, st.blksize || 4096); put(64, st.blocks);
  const ts = (off: number, ms: number) => { const sec = Math.floor(ms / 1000); put(off, sec); put(off + 8, Math.round((ms - sec * 1000) * 1e6)); };
  ts(72, st.atimeMs); ts(88, st.mtimeMs); ts(104, st.ctimeMs);
  return b;
}

/** What fstat reports for the standard streams: a pipe, 4 KiB blocks (as under QEMU with pipes). */
function stdStat(): Uint8Array {
  const b = new Uint8Array(144);
  const dv = new DataView(b.buffer);
  dv.setUint32(16, 1, true);
  dv.setUint32(24, 0o010600, true); // S_IFIFO | 0600
  dv.setUint32(56, 4096, true);
  return b;
}

function hostPath(p: LinuxProcess, dirfd: number, path: string): string {
  if (path.startsWith('/') || dirfd === AT_FDCWD) return path;
  const f = p.fds.get(dirfd);
  if (!f || f.kind !== 'file') throw Object.assign(new Error('bad dirfd'), { code: 'EBADF' });
  return `${f.path}/${path}`;
}

function readFd(p: LinuxProcess, f: Fd, len: number, pos?: number): Uint8Array | number {
  if (f.kind === 'std') return f.which === 0 ? p.fds.io.stdin(len) : -E.BADF;
  if (f.dir) return -E.ISDIR;
  const buf = new Uint8Array(len);
  const n = fs.readSync(f.hostFd, buf, 0, len, pos ?? f.pos);
  if (pos === undefined) f.pos += n;
  return buf.subarray(0, n);
}

function writeFd(p: LinuxProcess, f: Fd, data: Uint8Array, pos?: number): number {
  if (f.kind === 'std') {
    if (f.which === 0) return -E.BADF;
    (f.which === 1 ? p.fds.io.stdout : p.fds.io.stderr)(data);
    return data.length;
  }
  let at = pos ?? f.pos;
  if (f.append && pos === undefined) at = fs.fstatSync(f.hostFd).size;
  const n = fs.writeSync(f.hostFd, data, 0, data.length, at);
  if (pos === undefined) f.pos = at + n;
  return n;
}

function timespec(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, ns / 1_000_000_000n, true);
  dv.setBigInt64(8, ns % 1_000_000_000n, true);
  return b;
}

/**
 * Perform system call `nr` with arguments `a` (unsigned) and `sa` (the same registers read as
 * signed 64-bit numbers); returns the result (>= 0) or -errno.
 */
export function syscall(p: LinuxProcess, nr: number, a: Args, sa: Args): number {
  const m = p.mem;
  try {
    switch (nr) {
      case NR.exit: case NR.exit_group: p.exit(a[0] & 0xff); return 0;
      case NR.read: {
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        const r = readFd(p, f, Math.min(a[2], 1 << 24));
        if (typeof r === 'number') return r;
        m.write(a[1], r);
        return r.length;
      }
      case NR.pread64: {
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        if (f.kind !== 'file') return -E.SPIPE;
        const r = readFd(p, f, Math.min(a[2], 1 << 24), a[3]);
        if (typeof r === 'number') return r;
        m.write(a[1], r);
        return r.length;
      }
      case NR.write: case NR.pwrite64: {
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        if (nr === NR.pwrite64 && f.kind !== 'file') return -E.SPIPE;
        return writeFd(p, f, m.read(a[1], Math.min(a[2], 1 << 24)), nr === NR.pwrite64 ? a[3] : undefined);
      }
      case NR.readv: case NR.writev: {
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        let total = 0;
        for (let i = 0; i < Math.min(a[2], 1024); i++) {
          const iov = m.read(a[1] + 16 * i, 16);
          const dv = new DataView(iov.buffer);
          const base = Number(dv.getBigUint64(0, true)), len = Number(dv.getBigUint64(8, true));
          if (nr === NR.writev) { const n = writeFd(p, f, m.read(base, len)); if (n < 0) return total || n; total += n; }
          else {
            const r = readFd(p, f, len);
            if (typeof r === 'number') return total || r;
            m.write(base, r); total += r.length;
            if (r.length < len) break;
          }
        }
        return total;
      }
      case NR.openat: {
        const path = m.readCString(a[1]);
        const flags = a[2];
        const acc = flags & O_ACCMODE;
        let nodeFlags = acc === 0 ? fs.constants.O_RDONLY : acc === 1 ? fs.constants.O_WRONLY : fs.constants.O_RDWR;
        if (flags & O_CREAT) nodeFlags |= fs.constants.O_CREAT;
        if (flags & O_EXCL) nodeFlags |= fs.constants.O_EXCL;
        if (flags & O_TRUNC) nodeFlags |= fs.constants.O_TRUNC;
        const hp = hostPath(p, fdArg(a[0]), path);
        const st = fs.existsSync(hp) ? fs.statSync(hp) : null;
        if ((flags & O_DIRECTORY) && st && !st.isDirectory()) return -E.NOTDIR;
        const hostFd = fs.openSync(hp, nodeFlags, a[3] & 0o7777);
        return p.fds.add({ kind: 'file', hostFd, pos: 0, path: hp, append: (flags & O_APPEND) !== 0, dir: st?.isDirectory() ?? false });
      }
      case NR.close: return p.fds.close(fdArg(a[0])) ? 0 : -E.BADF;
      case NR.lseek: case NR._llseek: {
        // _llseek(fd, offset_high, offset_low, loff_t *result, whence) is what glibc uses on powerpc.
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        if (f.kind !== 'file') return -E.SPIPE;
        const off = nr === NR.lseek ? sa[1] : (a[1] | 0) * 2 ** 32 + (a[2] >>> 0);
        const whence = nr === NR.lseek ? a[2] : a[4];
        const base = whence === 0 ? 0 : whence === 1 ? f.pos : whence === 2 ? fs.fstatSync(f.hostFd).size : NaN;
        if (Number.isNaN(base) || base + off < 0) return -E.INVAL;
        f.pos = base + off;
        if (nr === NR._llseek) {
          const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt(f.pos), true);
          m.write(a[3], b);
          return 0;
        }
        return f.pos;
      }
      case NR.fstat: case NR.newfstatat: {
        const [fd, pathPtr, buf, flags] = nr === NR.fstat ? [fdArg(a[0]), 0, a[1], AT_EMPTY_PATH] : [fdArg(a[0]), a[1], a[2], a[3]];
        const path = pathPtr ? m.readCString(pathPtr) : '';
        let bytes: Uint8Array;
        if (path === '' && (flags & AT_EMPTY_PATH)) {
          const f = p.fds.get(fd); if (!f) return -E.BADF;
          bytes = f.kind === 'std' ? stdStat() : statBytes(fs.fstatSync(f.hostFd));
        } else bytes = statBytes((flags & 0x100 ? fs.lstatSync : fs.statSync)(hostPath(p, fd, path)));
        m.write(buf, bytes);
        return 0;
      }
      case NR.ftruncate: {
        const f = p.fds.get(fdArg(a[0])); if (!f || f.kind !== 'file') return -E.BADF;
        fs.ftruncateSync(f.hostFd, a[1]); return 0;
      }
      case NR.fsync: return p.fds.get(fdArg(a[0])) ? 0 : -E.BADF;
      case NR.unlinkat: {
        const hp = hostPath(p, fdArg(a[0]), m.readCString(a[1]));
        if (a[2] & AT_REMOVEDIR) fs.rmdirSync(hp); else fs.unlinkSync(hp);
        return 0;
      }
      case NR.unlink: fs.unlinkSync(m.readCString(a[0])); return 0;
      case NR.mkdirat: fs.mkdirSync(hostPath(p, fdArg(a[0]), m.readCString(a[1])), { mode: a[2] & 0o7777 }); return 0;
      case NR.renameat: fs.renameSync(hostPath(p, fdArg(a[0]), m.readCString(a[1])), hostPath(p, fdArg(a[2]), m.readCString(a[3]))); return 0;
      case NR.rename: fs.renameSync(m.readCString(a[0]), m.readCString(a[1])); return 0;
      case NR.faccessat: case NR.faccessat2: case NR.access: {
        const [fd, path, mode] = nr === NR.access ? [AT_FDCWD, m.readCString(a[0]), a[1]] : [fdArg(a[0]), m.readCString(a[1]), a[2]];
        fs.accessSync(hostPath(p, fd, path), mode & 7); return 0;
      }
      case NR.getcwd: {
        const cwd = Buffer.from(process.cwd() + '\0');
        if (cwd.length > a[1]) return -E.RANGE;
        m.write(a[0], cwd); return cwd.length;
      }
      case NR.readlink: case NR.readlinkat: {
        const [path, buf, size] = nr === NR.readlink ? [m.readCString(a[0]), a[1], a[2]] : [m.readCString(a[1]), a[2], a[3]];
        // glibc asks for /proc/self/exe to find the program: answer with the host path.
        const target = path === '/proc/self/exe' ? p.exePath : fs.readlinkSync(path);
        const b = Buffer.from(target).subarray(0, size);
        m.write(buf, b); return b.length;
      }
      case NR.dup: { const f = p.fds.get(fdArg(a[0])); return f ? p.fds.add({ ...f }) : -E.BADF; }
      case NR.dup2: case NR.dup3: {
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        if (a[0] === a[1]) return nr === NR.dup3 ? -E.INVAL : a[1];
        p.fds.close(fdArg(a[1])); p.fds.set(fdArg(a[1]), { ...f }); return a[1];
      }
      case NR.fcntl: {
        const f = p.fds.get(fdArg(a[0])); if (!f) return -E.BADF;
        switch (a[1]) {
          case 0: case 1030: return p.fds.add({ ...f }, a[2]); // F_DUPFD, F_DUPFD_CLOEXEC
          case 1: case 2: return 0; // F_GETFD / F_SETFD
          case 3: return f.kind === 'std' ? (f.which === 0 ? 0 : 1) : 2; // F_GETFL
          default: return 0;
        }
      }
      case NR.ioctl: return p.fds.get(fdArg(a[0])) ? -E.NOTTY : -E.BADF;
      case NR.getdents64: return -E.NOSYS;
      case NR.brk: return p.brk(a[0]);
      case NR.mmap: {
        const [addr, len, prot, flags, fd, off] = a;
        if (len === 0) return -E.INVAL;
        const size = Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
        let at: number;
        if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
          if (addr % PAGE_SIZE !== 0) return -E.INVAL;
          if ((flags & MAP_FIXED_NOREPLACE) && !m.isFree(addr, size)) return -E.EXIST;
          at = addr;
        } else at = p.findFree(addr, size);
        if (at < 0) return -E.NOMEM;
        const pr = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
        m.map(at, size, pr | PROT_WRITE);
        if (!(flags & MAP_ANONYMOUS)) {
          if ((flags & MAP_SHARED) && (prot & PROT_WRITE)) { m.unmap(at, size); return -E.NOSYS; }
          const f = p.fds.get(fdArg(fd));
          if (!f || f.kind !== 'file') { m.unmap(at, size); return -E.BADF; }
          const buf = new Uint8Array(len);
          const n = fs.readSync(f.hostFd, buf, 0, len, off);
          m.write(at, buf.subarray(0, n), true);
        } else if (!(flags & MAP_PRIVATE) && !(flags & MAP_SHARED)) { m.unmap(at, size); return -E.INVAL; }
        m.protect(at, size, pr);
        p.codeChanged(at, size);
        return at;
      }
      case NR.munmap: {
        if (a[0] % PAGE_SIZE !== 0) return -E.INVAL;
        const size = Math.ceil(a[1] / PAGE_SIZE) * PAGE_SIZE;
        p.codeChanged(a[0], size); m.unmap(a[0], size); return 0;
      }
      case NR.mprotect: {
        if (a[0] % PAGE_SIZE !== 0) return -E.INVAL;
        const size = Math.ceil(a[1] / PAGE_SIZE) * PAGE_SIZE;
        return m.protect(a[0], size, a[2] & 7) ? 0 : -E.NOMEM;
      }
      case NR.madvise: if (a[2] === 4) m.zeroRange(a[0], Math.ceil(a[1] / PAGE_SIZE) * PAGE_SIZE); return 0; // MADV_DONTNEED
      case NR.mremap: return -E.NOMEM; // glibc falls back to malloc + copy
      case NR.uname: {
        const b = new Uint8Array(65 * 6);
        ['Linux', 'pef', '6.1.0-pef', '#1 SMP', 'ppc64le', '(none)'].forEach((v, i) => b.set(Buffer.from(v), 65 * i));
        m.write(a[0], b); return 0;
      }
      case NR.clock_gettime: case NR.clock_getres: {
        if (a[1] === 0) return 0;
        m.write(a[1], timespec(nr === NR.clock_getres ? 1n : p.clock(a[0]))); return 0;
      }
      case NR.gettimeofday: {
        if (a[0]) {
          const ns = p.clock(0);
          const b = new Uint8Array(16), dv = new DataView(b.buffer);
          dv.setBigInt64(0, ns / 1_000_000_000n, true); dv.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
          m.write(a[0], b);
        }
        return 0;
      }
      case NR.time: { const t = Number(p.clock(0) / 1_000_000_000n); if (a[0]) { const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt(t), true); m.write(a[0], b); } return t; }
      case NR.nanosleep: case NR.clock_nanosleep: return 0;
      case NR.getrandom: {
        const len = Math.min(a[1], 1 << 25);
        const b = new Uint8Array(len); randomFillSync(b); m.write(a[0], b); return len;
      }
      case NR.set_tid_address: return p.pid;
      case NR.getpid: case NR.gettid: return p.pid;
      case NR.getppid: return 1;
      case NR.getuid: case NR.geteuid: case NR.getgid: case NR.getegid: return 0;
      case NR.umask: return 0o022;
      case NR.sched_yield: return 0;
      case NR.set_robust_list: case NR.rt_sigaction: case NR.rt_sigprocmask: case NR.sigaltstack: case NR.prctl: return 0;
      case NR.rseq: return -E.NOSYS;
      case NR.prlimit64: case NR.ugetrlimit: {
        const out = nr === NR.prlimit64 ? a[3] : a[1];
        const res = nr === NR.prlimit64 ? a[1] : a[0];
        if (out) {
          const b = new Uint8Array(16), dv = new DataView(b.buffer);
          const inf = 0xffffffffffffffffn;
          const cur = res === 3 ? 8n << 20n : inf; // RLIMIT_STACK 8 MiB
          dv.setBigUint64(0, cur, true); dv.setBigUint64(8, inf, true);
          m.write(out, b);
        }
        return 0;
      }
      case NR.sched_getaffinity: { if (a[1] < 8) return -E.INVAL; const b = new Uint8Array(8); b[0] = 1; m.write(a[2], b); return 8; }
      case NR.kill: case NR.tgkill: return p.signalSelf(a[nr === NR.kill ? 1 : 2]);
      case NR.futex: return 0;
      case NR.times: case NR.getrusage: case NR.sysinfo: return -E.NOSYS;
      case NR.statx: case NR.pipe2: return -E.NOSYS;
      default:
        p.unknownSyscall(nr);
        return -E.NOSYS;
    }
  } catch (e) {
    if (e instanceof Error && (e as { code?: string }).code) return -errnoOf(e);
    if (e instanceof Error && e.name === 'HardwareInterrupt') return -E.FAULT;
    throw e;
  }
}
