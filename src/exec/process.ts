// A static ppc64le Linux program run in user mode by the ISA interpreter: ELF loading, the
// initial stack (argc, argv, envp, auxiliary vector), the system call convention (sc 0: r0 is
// the number, r3..r8 the arguments, r3 the result with CR0[SO] set on error), the program
// break and anonymous mappings, and signals for faults.

import { randomFillSync } from 'node:crypto';
import { Regs } from '../hw/cpu/regs.js';
import { HardwareInterrupt } from '../hw/faults.js';
import { SRR1_PROGRAM_TRAP, SRR1_PROGRAM_PRIV } from '../abi/msr.js';
import { St, type Sys } from '../hw/cpu/isa/state.js';
import { CodeCache, runUser, type RunStop } from '../hw/cpu/isa/interp.js';
import { BlockCache, runBlocks } from '../hw/cpu/isa/blocks.js';
import { disasm } from '../hw/cpu/isa/disasm.js';
import { parseElf, PT_LOAD, PF_R, PF_W, PF_X, type ElfImage } from './elf.js';
import { UserMemory, PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_EXEC } from './memory.js';
import { FdTable, type StdIo } from './files.js';
import { syscall, NR, type Args } from './syscalls.js';

const SYSCALL_NAMES = new Map(Object.entries(NR).map(([k, v]) => [v as number, k]));

/** The processors `pef exec` can present: what the auxiliary vector advertises. */
export const CPUS = {
  // AT_HWCAP: 32 | 64 | ALTIVEC | FPU | MMU | SMT | ICACHE_SNOOP | ARCH_2_06 | VSX | PERFMON_COMPAT | TRUE_LE.
  // Real POWER8/POWER9 also set HAS_DFP; the model has no decimal floating point, so it does not.
  // AT_HWCAP2: ARCH_2_07 | DSCR | ISEL | TAR (+ ARCH_3_00 | DARN on POWER9). Not advertised because
  // the model does not implement them: HTM (transactions), EBB, VEC_CRYPTO, IEEE128, SCV.
  power8: { hwcap: 0xdc0061c2, hwcap2: 0xac000000, platform: 'power8' },
  power9: { hwcap: 0xdc0061c2, hwcap2: 0xaca00000, platform: 'power9' },
} as const;
export type CpuName = keyof typeof CPUS;

// Auxiliary vector types (linux/auxvec.h, asm/auxvec.h).
const AT = {
  NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9, UID: 11, EUID: 12, GID: 13, EGID: 14,
  PLATFORM: 15, HWCAP: 16, CLKTCK: 17, DCACHEBSIZE: 19, ICACHEBSIZE: 20, UCACHEBSIZE: 21, SECURE: 23,
  BASE_PLATFORM: 24, RANDOM: 25, HWCAP2: 26, EXECFN: 31,
} as const;

const STACK_TOP = 0x7fff0000;
const STACK_SIZE = 8 << 20;
const MMAP_TOP = 0x7f000000;
const PIE_BASE = 0x10000000;

export const SIGNALS: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

export interface ExecOptions {
  argv: string[];
  env?: string[];
  cpu?: CpuName;
  io: StdIo;
  /** Host path reported for /proc/self/exe. */
  exePath?: string;
  /** 'blocks' (default): basic blocks translated to JS functions once hot; 'interp': one instruction at a time. */
  engine?: 'blocks' | 'interp';
  /** Block engine: runs of a block before it is translated (0: translate at once; tests use it). */
  hot?: number;
  /** Called with one line per system call (number, arguments, result), like strace. */
  strace?: (line: string) => void;
  /** Stop after this many instructions (a runaway program); undefined = no limit. */
  maxInstructions?: number;
}

export interface ExecResult {
  /** Exit status as a shell sees it: the exit code, or 128 + signal. */
  status: number;
  signal: number | null;
  /** One-line description of a fatal signal (fault address, instruction). */
  reason: string | null;
  instructions: number;
  unknownSyscalls: number[];
}

export class ProgramError extends Error {
  constructor(message: string) { super(message); this.name = 'ProgramError'; }
}

export class LinuxProcess implements Sys {
  readonly regs = new Regs();
  readonly mem = new UserMemory();
  readonly st: St;
  readonly cache: CodeCache;
  readonly blocks: BlockCache;
  readonly fds: FdTable;
  readonly pid = 4242;
  readonly exePath: string;
  private exited: number | null = null;
  private killed: { sig: number; reason: string } | null = null;
  private brkStart = 0;
  private brkCur = 0;
  private readonly t0 = process.hrtime.bigint();
  private readonly sprs = new Map<number, bigint>();
  private readonly unknown = new Set<number>();
  private readonly cpu: CpuName;

  constructor(readonly image: Uint8Array, private readonly opts: ExecOptions) {
    this.st = new St(this.regs, this.mem, this);
    this.cache = new CodeCache(this.mem);
    this.blocks = new BlockCache(this.mem, opts.hot);
    this.mem.onCodeWrite = (ea) => { this.cache.invalidate(ea); this.blocks.invalidate(ea); };
    this.fds = new FdTable(opts.io);
    this.exePath = opts.exePath ?? opts.argv[0] ?? 'a.out';
    this.cpu = opts.cpu ?? 'power9';
    this.load(parseElf(image));
  }

  // ---- loading ------------------------------------------------------------------------------

  private load(elf: ElfImage): void {
    if (elf.interp !== null) throw new ProgramError(`dynamically linked (interpreter ${elf.interp}); pef exec runs static executables`);
    if (elf.abi !== 2) throw new ProgramError('ELFv1 (big-endian style function descriptors) is not supported; ppc64le uses ELFv2');
    const bias = elf.type === 'dyn' ? PIE_BASE : 0;
    let end = 0;
    let phdrAddr = 0;
    const pageProt = new Map<number, number>();
    for (const p of elf.phdrs) {
      if (p.type !== PT_LOAD || p.memsz === 0) continue;
      const start = bias + p.vaddr;
      const lo = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
      const hi = Math.ceil((start + p.memsz) / PAGE_SIZE) * PAGE_SIZE;
      const prot = (p.flags & PF_R ? PROT_READ : 0) | (p.flags & PF_W ? PROT_WRITE : 0) | (p.flags & PF_X ? PROT_EXEC : 0);
      // Segments may share a page at their edges: map each page once, with the union of rights.
      for (let a = lo; a < hi; a += PAGE_SIZE) {
        if (!pageProt.has(a)) this.mem.map(a, PAGE_SIZE, PROT_READ | PROT_WRITE);
        pageProt.set(a, (pageProt.get(a) ?? 0) | prot);
      }
      this.mem.write(start, this.image.subarray(p.offset, p.offset + p.filesz), true);
      if (elf.phoff >= p.offset && elf.phoff < p.offset + p.filesz) phdrAddr = start + (elf.phoff - p.offset);
      end = Math.max(end, start + p.memsz);
    }
    for (const [a, prot] of pageProt) this.mem.protect(a, PAGE_SIZE, prot);
    this.brkStart = this.brkCur = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
    this.buildStack(elf, bias, phdrAddr);
    this.regs.pc = bias + elf.entry;
    this.regs.setGprNum(12, bias + elf.entry); // ELFv2: r12 holds the entry address
  }

  private buildStack(elf: ElfImage, bias: number, phdrAddr: number): void {
    const m = this.mem;
    m.map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE);
    let sp = STACK_TOP;
    const push = (bytes: Uint8Array, align = 1) => { sp -= bytes.length; sp -= sp % align; m.write(sp, bytes); return sp; };
    const cstr = (s: string) => push(Buffer.from(s + '\0'));
    const execfn = cstr(this.exePath);
    const env = this.opts.env ?? [];
    const envp = env.map(cstr);
    const argvp = this.opts.argv.map(cstr);
    const platform = cstr(CPUS[this.cpu].platform);
    const rnd = new Uint8Array(16); randomFillSync(rnd);
    const random = push(rnd, 16);
    const c = CPUS[this.cpu];
    const aux: [number, number][] = [
      [AT.DCACHEBSIZE, 128], [AT.ICACHEBSIZE, 128], [AT.UCACHEBSIZE, 0],
      [AT.HWCAP, c.hwcap], [AT.PAGESZ, PAGE_SIZE], [AT.CLKTCK, 100],
      [AT.PHDR, phdrAddr], [AT.PHENT, elf.phentsize], [AT.PHNUM, elf.phnum], [AT.BASE, 0], [AT.FLAGS, 0],
      [AT.ENTRY, bias + elf.entry], [AT.UID, 0], [AT.EUID, 0], [AT.GID, 0], [AT.EGID, 0], [AT.SECURE, 0],
      [AT.RANDOM, random], [AT.HWCAP2, c.hwcap2], [AT.EXECFN, execfn], [AT.PLATFORM, platform],
      [AT.BASE_PLATFORM, platform], [AT.NULL, 0],
    ];
    const words: number[] = [argvp.length, ...argvp, 0, ...envp, 0, ...aux.flat()];
    const block = new Uint8Array(words.length * 8);
    const dv = new DataView(block.buffer);
    words.forEach((w, i) => dv.setBigUint64(8 * i, BigInt(w), true));
    sp -= block.length;
    sp -= sp % 16;
    m.write(sp, block);
    this.regs.setGprNum(1, sp);
  }

  // ---- running --------------------------------------------------------------------------------

  run(): ExecResult {
    const stop: RunStop = { retired: 0, fault: null, pc: 0 };
    let pc = this.regs.pc;
    const limit = this.opts.maxInstructions ?? Infinity;
    while (this.exited === null && this.killed === null) {
      const budget = Math.min(1 << 22, limit - this.st.icount);
      if (budget <= 0) { this.killed = { sig: 9, reason: `instruction limit ${limit} reached at 0x${pc.toString(16)}` }; break; }
      if (this.opts.engine === 'interp') runUser(this.st, this.cache, pc, budget, stop);
      else runBlocks(this.st, this.blocks, pc, budget, stop);
      if (stop.fault) { this.fault(stop.fault, stop.pc); break; }
      pc = stop.pc;
    }
    this.st.push();
    this.fds.closeAll();
    const sig = this.killed?.sig ?? null;
    return {
      status: sig !== null ? 128 + sig : this.exited!, signal: sig, reason: this.killed?.reason ?? null,
      instructions: this.st.icount, unknownSyscalls: [...this.unknown],
    };
  }

  private fault(e: HardwareInterrupt, pc: number): void {
    let sig = 11;
    if (e.vector === 0x700) sig = (e.srr1Bits & SRR1_PROGRAM_TRAP) !== 0n ? 5 : 4;
    else if (e.vector === 0xE40 || e.vector === 0xF60 || e.vector === 0xF80) sig = 4;
    else if (e.vector === 0x600) sig = 7;
    let insn = '';
    try { insn = ` (${disasm(this.mem.fetch32(pc), pc).replace(/\s+/, ' ')})`; } catch { /* unmapped pc */ }
    this.killed = { sig, reason: `${SIGNALS[sig]} at pc 0x${pc.toString(16)}${insn}: ${e.message}` };
  }

  exit(code: number): void { this.exited = code; }

  signalSelf(sig: number): number {
    if (sig === 0) return 0;
    this.killed = { sig, reason: `${SIGNALS[sig] ?? `signal ${sig}`} sent by the program` };
    return 0;
  }

  unknownSyscall(nr: number): void { this.unknown.add(nr); }

  brk(want: number): number {
    if (want === 0 || want < this.brkStart) return this.brkCur;
    const oldTop = Math.ceil(this.brkCur / PAGE_SIZE) * PAGE_SIZE;
    const newTop = Math.ceil(want / PAGE_SIZE) * PAGE_SIZE;
    if (newTop > oldTop) {
      if (!this.mem.isFree(oldTop, newTop - oldTop)) return this.brkCur;
      this.mem.map(oldTop, newTop - oldTop, PROT_READ | PROT_WRITE);
    } else if (newTop < oldTop) this.mem.unmap(newTop, oldTop - newTop);
    this.brkCur = want;
    return want;
  }

  /** A free range for mmap, searched downwards from below the stack (the hint is honoured if free). */
  findFree(hint: number, size: number): number {
    if (hint && hint % PAGE_SIZE === 0 && this.mem.isFree(hint, size)) return hint;
    for (let a = MMAP_TOP - size; a > this.brkCur; a -= PAGE_SIZE) {
      if (this.mem.isFree(a, size)) return a;
    }
    return -1;
  }

  codeChanged(ea: number, len = 1): void { this.cache.invalidateRange(ea, len); this.blocks.invalidateRange(ea, len); }

  /** Nanoseconds on a clock: 0 realtime, the others monotonic from process start. */
  clock(id: number): bigint {
    if (id === 0 || id === 5) return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    return process.hrtime.bigint() - this.t0;
  }

  // ---- Sys: what the interpreter asks of the "kernel" ---------------------------------------

  sc(lev: number, pc: number): number {
    if (lev !== 0) throw new HardwareInterrupt(0x700, `sc ${lev} in problem state`, SRR1_PROGRAM_PRIV);
    const g = this.regs;
    const nr = g.gpr[0]!;
    const a: Args = [g.gprNum(3), g.gprNum(4), g.gprNum(5), g.gprNum(6), g.gprNum(7), g.gprNum(8)];
    const sn = (n: number) => (g.gpr[2 * n + 1]! | 0) * 0x100000000 + g.gpr[2 * n]!;
    const sa: Args = [sn(3), sn(4), sn(5), sn(6), sn(7), sn(8)];
    const r = syscall(this, nr, a, sa);
    if (this.opts.strace) this.opts.strace(`${SYSCALL_NAMES.get(nr) ?? `syscall_${nr}`}(${sa.slice(0, 4).map((x) => (Math.abs(x) > 4096 ? '0x' + a[sa.indexOf(x)]!.toString(16) : String(x))).join(', ')}) = ${r < 0 ? `-1 errno ${-r}` : r}`);
    if (r < 0) { g.setGprNum(3, -r); this.st.cr |= 0x10000000; }
    else { g.setGprNum(3, r); this.st.cr &= ~0x10000000; }
    return this.exited !== null || this.killed !== null ? -1 : pc + 4;
  }
  mfspr(spr: number): bigint {
    if (spr === 268 || spr === 269) { const tb = this.timebase(); return spr === 269 ? tb >> 32n : tb; }
    if (USER_SPRS.has(spr)) return this.sprs.get(spr) ?? 0n;
    throw new HardwareInterrupt(0x700, `mfspr ${spr} in problem state`, SRR1_PROGRAM_PRIV);
  }
  mtspr(spr: number, v: bigint): void {
    if (USER_SPRS.has(spr)) { this.sprs.set(spr, spr === 256 ? v & 0xffffffffn : v); return; }
    throw new HardwareInterrupt(0x700, `mtspr ${spr} in problem state`, SRR1_PROGRAM_PRIV);
  }
  mfmsr(): bigint { throw new HardwareInterrupt(0x700, 'mfmsr in problem state', SRR1_PROGRAM_PRIV); }
  mtmsrd(): number { throw new HardwareInterrupt(0x700, 'mtmsrd in problem state', SRR1_PROGRAM_PRIV); }
  rfi(kind: string): number { throw new HardwareInterrupt(0x700, `${kind} in problem state`, SRR1_PROGRAM_PRIV); }
  tm(kind: string): number { throw new HardwareInterrupt(0xF60, `${kind}: transactional memory is not available`); }
  darn(): bigint { const b = new BigUint64Array(1); randomFillSync(b); return b[0]!; }
  /** The time base ticks at 512 MHz, as on POWER9. */
  timebase(): bigint { return ((process.hrtime.bigint() - this.t0) * 512n) / 1000n; }
  reserve(ea: number): void { this.mem.reservation = ea; }
  storeConditional(ea: number): boolean { const ok = this.mem.reservation === ea; this.mem.reservation = -1; return ok; }
}

/** SPRs a Linux program may use directly: DSCR (3), VRSAVE (256), TAR (815), PPR (896), PPR32 (898). */
const USER_SPRS = new Set([3, 256, 815, 896, 898]);

/** Load and run a program to completion. */
export function runProgram(image: Uint8Array, opts: ExecOptions): ExecResult {
  return new LinuxProcess(image, opts).run();
}
