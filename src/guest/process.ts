// User processes: an image in guest memory (a model program found by its magic, or a real
// ppc64le ELF for the ISA interpreter), a stack with argc/argv/envp/auxv laid out as Linux's
// create_elf_tables does, a brk heap, and open files. Effective addresses are guest physical
// addresses in this model (no process-scoped translation), so segments are placed exactly
// where they are linked.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { PAGE_SIZE } from '../abi/pages.js';
import * as mem from './mem.js';
import type { PageAllocator } from './pages.js';
import type { RegsSnapshot } from '../hw/cpu/regs.js';
import { ENOEXEC, FsError, type Inode, type Vfs } from './fs/vfs.js';
import { loadElf } from './elf-load.js';
import { buildStack, type ImageInfo } from './stack.js';
import { defaultRlimits } from './rlimit.js';

export interface OpenFile { inode: Inode; pos: number; flags: number; path: string }

/** Compiled programs get a stack of 1 MiB (it cannot grow: RLIMIT_STACK says so); model programs barely use theirs. */
const MACHINE_STACK_PAGES = 16;
export const HEAP_PAGES = 32;
const stackPages = (kind: Process['kind']): number => (kind === 'machine' ? MACHINE_STACK_PAGES : 1);
export const MAX_ARGS = 256;

/** Where a process blocked in vfork resumes: registers, PC and MSR (SRR0/SRR1 for rfid). */
export interface ResumeContext { regs: RegsSnapshot; srr0: bigint; srr1: bigint }

export class Process {
  readonly fds: (OpenFile | undefined)[] = [];
  /** Descriptors closed by a successful execve (FD_CLOEXEC is a property of the descriptor, not of the open file). */
  readonly cloexec = new Set<number>();
  /** Resource limits [soft, hard], inherited by children and kept across execve. */
  rlimits: [bigint, bigint][] = defaultRlimits(MACHINE_STACK_PAGES * PAGE_SIZE);
  /** A model program (found by its magic) or machine code (ELF, for the interpreter). */
  kind: 'model' | 'machine' = 'model';
  parent: Process | undefined;
  /** Set while this process waits for its vfork child to exec or exit. */
  vforkChild: Process | undefined;
  /** Where this (parent) process resumes when its vfork child lets go. */
  resume: ResumeContext | undefined;
  /** Wait status once exited and not yet reaped (exit code << 8, or a signal number). */
  zombie: number | undefined;
  /** Whether a vfork child has its own image yet (it borrows the parent's until execve). */
  ownImage = true;
  /** Guest page ranges this process owns. */
  readonly regions: { gpa: number; n: number }[] = [];
  brkBase = 0;
  brk = 0;
  brkMax = 0;
  entry = 0;
  sp = 0;
  argc = 0;
  argv = 0;
  envp = 0;
  constructor(readonly pid: number, public name: string) {}

  release(pages: PageAllocator): void {
    for (const r of this.regions) pages.free(r.gpa, r.n);
    this.regions.length = 0;
  }
}

/**
 * Model programs start with "#!pef-" (like a binfmt_misc entry): the kernel loads them as they
 * are and the machine runs the code registered for their magic (`#!pef-init` is /init's).
 */
export const MODEL_PROGRAM_PREFIX = '#!pef-';

/** Lay a new image into `p`: its code, a heap and a stack with the arguments. */
export function* loadImage(cpu: Cpu, pages: PageAllocator, vfs: Vfs, p: Process, file: Inode, argv: string[], envp: string[], random: Uint8Array): Generator<Op, void, void> {
  const scratch = pages.alloc(1, 'exec');
  let img: ImageInfo;
  try {
    const headLen = Math.min(file.size, 64);
    yield* vfs.read(cpu, file, 0, scratch, headLen);
    const head = yield* mem.read(cpu, scratch, headLen);
    const text = Buffer.from(head).toString('latin1');
    if (text.startsWith(MODEL_PROGRAM_PREFIX)) {
      // A model program: its text in memory, NUL-terminated; the machine finds the magic at the entry.
      const n = Math.ceil((file.size + 1) / PAGE_SIZE);
      const at = pages.alloc(n, 'program image');
      p.regions.push({ gpa: at, n });
      yield* vfs.read(cpu, file, 0, at, file.size);
      yield* mem.zero(cpu, at + file.size, n * PAGE_SIZE - file.size);
      img = { entry: at, phdr: 0, phent: 0, phnum: 0, execfn: p.name };
      p.kind = 'model';
    } else if (text.startsWith('\x7fELF')) {
      const all = new Uint8Array(file.size);
      for (let o = 0; o < file.size; o += PAGE_SIZE) {
        const k = Math.min(PAGE_SIZE, file.size - o);
        yield* vfs.read(cpu, file, o, scratch, k);
        all.set(yield* mem.read(cpu, scratch, k), o);
      }
      img = { ...(yield* loadElf(cpu, pages, vfs, p, all)), execfn: p.name };
      p.kind = 'machine';
    } else {
      throw new FsError(ENOEXEC, 'exec format error');
    }
  } finally {
    pages.free(scratch);
  }
  p.entry = img.entry;
  const heap = pages.alloc(HEAP_PAGES, 'heap');
  p.regions.push({ gpa: heap, n: HEAP_PAGES });
  p.brkBase = p.brk = heap;
  p.brkMax = heap + HEAP_PAGES * PAGE_SIZE;
  const n = stackPages(p.kind);
  const stack = pages.alloc(n, 'stack');
  p.regions.push({ gpa: stack, n });
  Object.assign(p, yield* buildStack(cpu, stack, stack + n * PAGE_SIZE, argv, envp, random, img));
}
