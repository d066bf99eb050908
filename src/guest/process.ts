// User processes: an image in guest memory (a model program found by its magic, or a real
// ppc64le ELF for the ISA interpreter), a stack with argc/argv/envp/auxv laid out as Linux's
// create_elf_tables does, a brk heap, and open files. Effective addresses are guest physical
// addresses in this model (no process-scoped translation), so segments are placed exactly
// where they are linked.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { PAGE_SIZE } from '../abi/pages.js';
import { parseElf, PT_LOAD } from '../image/elf.js';
import * as mem from './mem.js';
import type { PageAllocator } from './pages.js';
import type { RegsSnapshot } from '../hw/cpu/regs.js';
import { ENOEXEC, ENOMEM, FsError, type Inode, type Vfs } from './fs/vfs.js';

export interface OpenFile { inode: Inode; pos: number; flags: number; path: string }

export const STACK_PAGES = 1;
export const HEAP_PAGES = 32;
export const MAX_ARGS = 256;

const AT = { NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, ENTRY: 9, RANDOM: 25 } as const;

/** Where a process blocked in vfork resumes: registers, PC and MSR (SRR0/SRR1 for rfid). */
export interface ResumeContext { regs: RegsSnapshot; srr0: bigint; srr1: bigint }

export class Process {
  readonly fds: (OpenFile | undefined)[] = [];
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
  try {
    const headLen = Math.min(file.size, 64);
    yield* vfs.read(cpu, file, 0, scratch, headLen);
    const head = yield* mem.read(cpu, scratch, headLen);
    const text = Buffer.from(head).toString('latin1');
    let phdr = 0, phnum = 0;
    if (text.startsWith(MODEL_PROGRAM_PREFIX)) {
      // A model program: its text in memory, NUL-terminated; the machine finds the magic at the entry.
      const n = Math.ceil((file.size + 1) / PAGE_SIZE);
      const at = pages.alloc(n, 'program image');
      p.regions.push({ gpa: at, n });
      yield* vfs.read(cpu, file, 0, at, file.size);
      yield* mem.zero(cpu, at + file.size, n * PAGE_SIZE - file.size);
      p.entry = at;
      p.kind = 'model';
    } else if (head[0] === 0x7f && text.startsWith('\x7fELF')) {
      const all = new Uint8Array(file.size);
      for (let o = 0; o < file.size; o += PAGE_SIZE) {
        const k = Math.min(PAGE_SIZE, file.size - o);
        yield* vfs.read(cpu, file, o, scratch, k);
        all.set(yield* mem.read(cpu, scratch, k), o);
      }
      let elf;
      try { elf = parseElf(all); } catch (e) { throw new FsError(ENOEXEC, `not an executable: ${(e as Error).message}`); }
      if (elf.machine !== 21 || !elf.littleEndian) throw new FsError(ENOEXEC, 'not a ppc64le executable');
      for (const s of elf.segments) {
        if (s.type !== PT_LOAD || s.memsz === 0n) continue;
        const va = Number(s.vaddr);
        const first = Math.floor(va / PAGE_SIZE) * PAGE_SIZE;
        const n = Math.ceil((va + Number(s.memsz) - first) / PAGE_SIZE);
        const got = pages.allocAt(first, n);
        if (got === undefined) throw new FsError(ENOMEM, `segment at 0x${va.toString(16)} does not fit in guest memory`);
        p.regions.push({ gpa: first, n });
        yield* mem.zero(cpu, first, n * PAGE_SIZE);
        yield* mem.write(cpu, va, all.subarray(s.offset, s.offset + Number(s.filesz)));
        if (s.offset === 0) phdr = va + 64;
      }
      phnum = elf.segments.length;
      p.entry = Number(elf.entry);
      p.kind = 'machine';
    } else {
      throw new FsError(ENOEXEC, 'exec format error');
    }
    const heap = pages.alloc(HEAP_PAGES, 'heap');
    p.regions.push({ gpa: heap, n: HEAP_PAGES });
    p.brkBase = p.brk = heap;
    p.brkMax = heap + HEAP_PAGES * PAGE_SIZE;
    const stack = pages.alloc(STACK_PAGES, 'stack');
    p.regions.push({ gpa: stack, n: STACK_PAGES });
    yield* buildStack(cpu, p, stack, stack + STACK_PAGES * PAGE_SIZE, argv, envp, random, { phdr, phnum });
  } finally {
    pages.free(scratch);
  }
}

function* buildStack(cpu: Cpu, p: Process, base: number, top: number, argv: string[], envp: string[], random: Uint8Array, elf: { phdr: number; phnum: number }): Generator<Op, void, void> {
  const enc = new TextEncoder();
  let sp = top;
  const put = function* (b: Uint8Array): Generator<Op, number, void> { sp -= b.length; yield* mem.write(cpu, sp, b); return sp; };
  const rnd = yield* put(random.subarray(0, 16));
  const envAddrs: number[] = [];
  for (const s of envp) envAddrs.push(yield* put(enc.encode(s + '\0')));
  const argAddrs: number[] = [];
  for (const s of argv) argAddrs.push(yield* put(enc.encode(s + '\0')));
  const aux: [number, number][] = [[AT.PAGESZ, PAGE_SIZE], [AT.ENTRY, p.entry], [AT.RANDOM, rnd]];
  if (elf.phdr) aux.push([AT.PHDR, elf.phdr], [AT.PHENT, 56], [AT.PHNUM, elf.phnum]);
  aux.push([AT.NULL, 0]);
  const words = [argv.length, ...argAddrs, 0, ...envAddrs, 0, ...aux.flat()];
  sp = Math.floor((sp - 8 * words.length) / 16) * 16;
  if (sp - 256 < base) throw new FsError(7, 'argument list too long');
  const b = new Uint8Array(8 * words.length);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setBigUint64(8 * i, BigInt(w), true));
  yield* mem.write(cpu, sp, b);
  p.sp = sp;
  p.argc = argv.length;
  p.argv = sp + 8;
  p.envp = sp + 8 * (argv.length + 2);
}
