// A process's memory system calls: brk, mmap, munmap, mprotect. Effective addresses are guest
// physical addresses in this model, so a mapping is a run of the kernel's pages the process
// owns (`Process.regions`), zero-filled as Linux's anonymous memory is (glibc's calloc counts
// on that for memory fresh from brk or mmap). There is no process-scoped translation to hold
// access rights: mprotect checks its arguments and that the range is mapped, as Linux does,
// but the rights are not enforced. Each function returns the result or -errno.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { PAGE_SIZE } from '../abi/pages.js';
import * as mem from './mem.js';
import type { PageAllocator } from './pages.js';
import type { Process } from './process.js';
import { EBADF, EEXIST, EINVAL, ENOMEM, type Vfs } from './fs/vfs.js';

type G<T> = Generator<Op, T, void>;

const EACCES = 13, ENODEV = 19;
const PROT_MASK = 0x7, PROT_GROWSDOWN = 0x01000000, PROT_GROWSUP = 0x02000000;
const MAP_TYPE = 0xf, MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03;
const MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
const O_WRONLY = 1;

/** A vfork child runs in its parent's memory until it execs: what it maps is the parent's. */
function owner(p: Process): Process {
  let o = p;
  while (!o.ownImage && o.parent) o = o.parent;
  return o;
}

const owns = (o: Process, page: number) => o.regions.some((r) => page >= r.gpa && page < r.gpa + r.n * PAGE_SIZE);

/** Give back the pages of [start, start + n pages) that `o` owns, splitting its regions. */
function unmap(o: Process, pages: PageAllocator, start: number, n: number): void {
  const end = start + n * PAGE_SIZE;
  const keep: { gpa: number; n: number }[] = [];
  for (const r of o.regions) {
    const rEnd = r.gpa + r.n * PAGE_SIZE;
    const lo = Math.max(r.gpa, start), hi = Math.min(rEnd, end);
    if (lo >= hi) { keep.push(r); continue; }
    pages.free(lo, (hi - lo) / PAGE_SIZE);
    if (r.gpa < lo) keep.push({ gpa: r.gpa, n: (lo - r.gpa) / PAGE_SIZE });
    if (hi < rEnd) keep.push({ gpa: hi, n: (rEnd - hi) / PAGE_SIZE });
  }
  o.regions.splice(0, o.regions.length, ...keep);
}

/** Page count of a length, or undefined when it is zero or absurd. */
function pageCount(len: number, pages: PageAllocator): number | undefined {
  if (!(len > 0)) return undefined;
  const n = Math.ceil(len / PAGE_SIZE);
  return n <= pages.totalPages ? n : undefined;
}

export function* brk(cpu: Cpu, p: Process, want: number): G<number> {
  if (want < p.brkBase || want > p.brkMax) return p.brk;
  if (want > p.brk) yield* mem.zero(cpu, p.brk, want - p.brk);
  p.brk = want;
  return p.brk;
}

export interface MmapArgs { addr: number; len: number; prot: number; flags: number; fd: number; off: number }

export function* mmap(cpu: Cpu, pages: PageAllocator, vfs: Vfs, p: Process, a: MmapArgs): G<number> {
  const type = a.flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return -EINVAL;
  if (a.off < 0 || a.off % PAGE_SIZE !== 0) return -EINVAL;
  if (!(a.len > 0)) return -EINVAL;
  const n = pageCount(a.len, pages);
  if (n === undefined) return -ENOMEM;
  const anon = (a.flags & MAP_ANONYMOUS) !== 0;
  const file = anon ? undefined : p.fds[a.fd];
  if (!anon) {
    if (!file) return -EBADF;
    if (file.inode.type !== 'file') return -ENODEV;
    if ((file.flags & 3) === O_WRONLY) return -EACCES;
    // A shared file mapping would need the page cache mapped into the process: not modelled.
    if (type !== MAP_PRIVATE) return -ENODEV;
  }
  const o = owner(p);
  let at: number;
  if (a.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (a.addr % PAGE_SIZE !== 0) return -EINVAL;
    let mine = false;
    for (let i = 0; i < n; i++) {
      const page = a.addr + i * PAGE_SIZE;
      if (owns(o, page)) mine = true;
      else if (!pages.isFree(page, 1)) return -ENOMEM; // another owner's page: one address space for all in this model
    }
    if (mine && a.flags & MAP_FIXED_NOREPLACE) return -EEXIST;
    unmap(o, pages, a.addr, n);
    at = pages.allocAt(a.addr, n)!;
  } else {
    // The address is a hint, as on Linux: used when it is free, else the mapping goes anywhere.
    const hint = a.addr !== 0 && a.addr % PAGE_SIZE === 0 ? pages.allocAt(a.addr, n) : undefined;
    at = hint ?? pages.alloc(n, 'mmap');
  }
  o.regions.push({ gpa: at, n });
  yield* mem.zero(cpu, at, n * PAGE_SIZE);
  if (file && a.off < file.inode.size) yield* vfs.read(cpu, file.inode, a.off, at, Math.min(a.len, file.inode.size - a.off));
  return at;
}

export function munmap(pages: PageAllocator, p: Process, addr: number, len: number): number {
  if (addr % PAGE_SIZE !== 0) return -EINVAL;
  const n = pageCount(len, pages);
  if (n === undefined) return -EINVAL;
  unmap(owner(p), pages, addr, n);
  return 0;
}

export function mprotect(pages: PageAllocator, p: Process, addr: number, len: number, prot: number): number {
  if (addr % PAGE_SIZE !== 0) return -EINVAL;
  if ((prot & ~(PROT_MASK | PROT_GROWSDOWN | PROT_GROWSUP)) !== 0) return -EINVAL;
  if (len === 0) return 0;
  const n = pageCount(len, pages);
  if (n === undefined) return -ENOMEM;
  const o = owner(p);
  for (let i = 0; i < n; i++) if (!owns(o, addr + i * PAGE_SIZE)) return -ENOMEM;
  return 0;
}
