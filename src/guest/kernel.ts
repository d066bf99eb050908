// The guest kernel: a TypeScript model of Linux on pseries built with CONFIG_PPC_SVM. The
// machine runs it when it finds PEF-MODEL-KERNEL at the entry point (kbase). It boots from
// the device tree in R3; with `svm=on` and not yet secure it asks the ultravisor to enter
// secure mode (prom_init's UV_ESM) and, if that fails, prints the reason and calls
// ibm,os-term. Once secure it shares only what the hypervisor must see (VPA, SWIOTLB pool,
// RTAS page), drives virtio through the bounce pool, and opens a LUKS2 root with the
// passphrase attached to its ESM blob. User programs enter it with `sc 0`.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op, Software } from '../hw/cpu/software.js';
import { HardwareInterrupt } from '../hw/faults.js';
import { MSR, SRR1_SC_LEV_MASK } from '../abi/msr.js';
import { HC } from '../abi/hcalls.js';
import { UV, esmReasonText } from '../abi/ultracalls.js';
import { retName } from '../abi/retcodes.js';
import { PAGE_SIZE } from '../abi/pages.js';
import { isLuks2 } from '../image/luks2.js';
import { MODEL_KERNEL_MAGIC, readModelKernelConfig } from '../image/kernel.js';
import { H_CONFER, hcall, SPR_SRR0, SPR_SRR1, ucall } from './arch.js';
import { readBootInfo, type BootInfo } from './boot-info.js';
import { Console } from './console.js';
import { DirectDma, Swiotlb, type DmaApi } from './dma.js';
import * as mem from './mem.js';
import { OutOfMemory, PageAllocator } from './pages.js';
import { Rtas } from './rtas.js';
import { keyFingerprint, sharePages } from './svm.js';
import { BlockCache } from './fs/bcache.js';
import { unpackInitramfs } from './fs/initramfs.js';
import { mountTar } from './fs/tarfs.js';
import { ENOENT, ENOMEM, FsError, Vfs } from './fs/vfs.js';
import { esmFile, openLuksRoot, rawPrefix, ROOT_PASSPHRASE_FILES } from './luks.js';
import { loadImage, Process, type ResumeContext } from './process.js';
import { syscall, type SysResult } from './syscalls.js';
import { closeFd } from './file-calls.js';
import { strerror } from './errno.js';
import { MmioTransport, REG, VirtioProbeError } from './virtio/transport.js';
import { VirtioBlkDriver } from './virtio/blk.js';
import { VirtioConsoleDriver } from './virtio/console.js';

type G<T = void> = Generator<Op, T, void>;

/** lppaca: eye catcher "\xD3\x97\xD7\x81" (EBCDIC "LpPa") and the size the kernel allocates. */
const LPPACA_DESC = 0xd397d781;
const LPPACA_SIZE = 0x400;
const H_VPA_REG_VPA = 1n << 45n;
/** SWIOTLB default: 2048 slabs of 2 KiB (swiotlb= counts slabs, as Linux's). */
const SWIOTLB_DEFAULT_SLABS = 2048;
/** The first page holds the interrupt vectors (and, before the allocator exists, RTAS scratch). */
const LOW_SCRATCH = 0x8000;
const CR0_SO = 0x10000000;
const SIGILL = 4;
const SIGBUS = 7;
const SIGSEGV = 11;

export class Kernel implements Software {
  readonly name: string;
  readonly console = new Console();
  readonly release: string;
  readonly version = '#1 SMP pef model';
  readonly hostname = 'pef';
  secure = false;
  fingerprint: string | undefined;
  boot: BootInfo | undefined;
  pages: PageAllocator | undefined;
  vfs: Vfs | undefined;
  rtas: Rtas | undefined;
  dma: DmaApi | undefined;
  swiotlb: Swiotlb | undefined;
  blk: VirtioBlkDriver | undefined;
  bcache: BlockCache | undefined;
  current: Process | undefined;
  readonly #procs = new Map<number, Process>();
  #nextPid = 2;

  constructor(readonly entry: number, readonly config: Record<string, unknown>) {
    const kname = typeof config.kernel === 'string' ? config.kernel : 'pef-linux';
    this.name = kname;
    this.release = `${typeof config.version === 'string' ? config.version : '1'}-${kname}`;
  }

  enter(cpu: Cpu, pc: number): Flow {
    if (pc === this.entry) return this.#guard(cpu, this.#boot(cpu));
    switch (pc) {
      case 0xC00: return this.#guard(cpu, this.#syscall(cpu));
      case 0x700: return this.#guard(cpu, this.#programCheck(cpu));
      case 0x200: case 0x300: case 0x400: return this.#guard(cpu, this.#storageFault(cpu, pc));
      default: return this.#guard(cpu, this.#unexpected(cpu, pc));
    }
  }

  /** Run a kernel flow; an error that is not the hardware's becomes a kernel panic. */
  *#guard(cpu: Cpu, body: G): Flow {
    try {
      yield* body;
    } catch (e) {
      if (e instanceof HardwareInterrupt) throw e;
      yield* this.panic(cpu, e instanceof Error ? e.message : String(e));
    }
  }

  *printk(cpu: Cpu, line: string): G { yield* this.console.printk(cpu, line); }

  /** A voluntary preemption point in long kernel loops (cond_resched): let other vCPUs run. */
  *condResched(cpu: Cpu): G { yield* hcall(cpu, H_CONFER, -1, 0); }

  /** Kernel panic: say why on the console and ask RTAS to terminate the partition. */
  *panic(cpu: Cpu, why: string): G {
    const msg = `Kernel panic - not syncing: ${why}`;
    yield* this.printk(cpu, msg);
    const rtas = this.rtas ?? (this.boot?.rtas && !this.secure ? new Rtas(this.boot.rtas.tokens, LOW_SCRATCH) : undefined);
    if (rtas) yield* rtas.osTerm(cpu, why);
    for (;;) yield* hcall(cpu, HC.H_CEDE);
  }

  // ---- boot -------------------------------------------------------------------------------

  *#boot(cpu: Cpu): G {
    this.secure = cpu.secure;
    const bi = yield* readBootInfo(cpu, Number(cpu.regs.getGpr(3)));
    this.boot = bi;
    if (!this.secure && bi.params.get('svm') === 'on') yield* this.#promInitEsm(cpu, bi);
    yield* this.printk(cpu, `Linux version ${this.release} (${this.name}) ${this.version}`);
    yield* this.printk(cpu, `Kernel command line: ${bi.bootargs}`);
    const reserved = [
      { start: 0, size: PAGE_SIZE },
      { start: this.entry, size: this.#kernelSize(bi) },
      { start: bi.fdt.gpa, size: bi.fdt.size },
      ...(bi.initrd ? [{ start: bi.initrd.start, size: bi.initrd.end - bi.initrd.start }] : []),
      ...(bi.rtas ? [{ start: bi.rtas.base, size: bi.rtas.size }] : []),
      ...bi.reservations,
    ];
    const pages = new PageAllocator(bi.memBytes, reserved);
    this.pages = pages;
    this.vfs = new Vfs(pages);
    yield* this.printk(cpu, `Memory: ${Math.floor(pages.freePages * PAGE_SIZE / 1024)}K/${bi.memBytes / 1024}K available`);

    let scratch: number;
    let vpa: number;
    if (this.secure) {
      this.fingerprint = yield* keyFingerprint(cpu);
      yield* this.printk(cpu, 'svm: running secure (PEF): memory encrypted and integrity-protected by the ultravisor');
      yield* this.printk(cpu, `svm: machine key fingerprint ${this.fingerprint ?? 'unknown'}`);
      scratch = pages.alloc(1, 'RTAS page');
      yield* sharePages(cpu, scratch, 1, 'the RTAS page');
      vpa = pages.alloc(1, 'lppaca');
      yield* sharePages(cpu, vpa, 1, 'the VPA block');
      const slabs = Number(bi.params.get('swiotlb') ?? SWIOTLB_DEFAULT_SLABS) || SWIOTLB_DEFAULT_SLABS;
      const n = Math.max(1, Math.ceil(slabs * 2048 / PAGE_SIZE));
      const pool = pages.alloc(n, 'SWIOTLB');
      yield* sharePages(cpu, pool, n, 'the SWIOTLB pool');
      this.swiotlb = new Swiotlb(pool, n * PAGE_SIZE);
      this.dma = this.swiotlb;
      yield* this.printk(cpu, `software IO TLB: mapped [mem 0x${pool.toString(16)}-0x${(pool + n * PAGE_SIZE - 1).toString(16)}] (${n * PAGE_SIZE >> 20}MB), shared with the hypervisor`);
    } else {
      scratch = pages.alloc(1, 'RTAS page');
      vpa = pages.alloc(1, 'lppaca');
      this.dma = new DirectDma(pages);
    }
    if (bi.rtas) this.rtas = new Rtas(bi.rtas.tokens, scratch);
    yield* this.#registerVpa(cpu, vpa);
    yield* this.#probeVirtio(cpu, bi);
    yield* this.#mountRoot(cpu, bi);
    this.#pseudoFiles(bi);
    const memtest = bi.params.get('pef.memtest');
    if (memtest) yield* this.#memtest(cpu, Number(memtest));
    const bench = bi.params.get('pef.blkbench');
    if (bench) yield* this.#blkbench(cpu, Number(bench));
    const init = bi.params.get('init') ?? '/init';
    const p = new Process(1, init);
    this.#procs.set(1, p);
    const con = this.vfs.lookup('/dev/console')!;
    for (let fd = 0; fd < 3; fd++) p.fds[fd] = { inode: con, pos: 0, flags: fd === 0 ? 0 : 1, path: '/dev/console' };
    try {
      yield* this.exec(cpu, p, init, [init], ['HOME=/', 'TERM=linux']);
    } catch (e) {
      if (e instanceof FsError) throw new Error(`No working init found (${init}: ${strerror(e.errno)})`, { cause: e });
      throw e;
    }
    yield* this.printk(cpu, `Run ${init} as init process`);
    yield* this.#enterUser(cpu, p);
  }

  /** The kernel image runs from kbase up to whatever the loader put next (_end, as far as the model can tell). */
  #kernelSize(bi: BootInfo): number {
    const after = [bi.initrd?.start, bi.rtas?.base, bi.fdt.gpa].filter((a): a is number => a !== undefined && a > this.entry);
    return after.length ? Math.min(...after) - this.entry : 2 * 1024 * 1024;
  }

  /** prom_init with svm=on: UV_ESM never returns on success; it returns here only on failure. */
  *#promInitEsm(cpu: Cpu, bi: BootInfo): G {
    const r = yield* ucall(cpu, UV.UV_ESM, this.entry, bi.fdt.gpa);
    const why = yield* ucall(cpu, UV.UV_ESM_REASON);
    const reason = why.rc === 0 ? Number(why.out[0]) : 0;
    const text = reason !== 0 ? esmReasonText(reason) : `UV_ESM returned ${retName(r.rc, 'U')}`;
    const msg = `UV_ESM failed: ${text}`;
    yield* this.printk(cpu, msg);
    if (bi.rtas) yield* new Rtas(bi.rtas.tokens, LOW_SCRATCH).osTerm(cpu, msg);
    for (;;) yield* hcall(cpu, HC.H_CEDE);
  }

  *#registerVpa(cpu: Cpu, page: number): G {
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, LPPACA_DESC);
    dv.setUint16(4, LPPACA_SIZE);
    yield* mem.zero(cpu, page, LPPACA_SIZE);
    yield* mem.write(cpu, page, head);
    const r = yield* hcall(cpu, HC.H_REGISTER_VPA, H_VPA_REG_VPA, 0, page);
    if (r.rc !== 0) yield* this.printk(cpu, `VPA registration for cpu 0 failed (${retName(r.rc)})`);
  }

  *#probeVirtio(cpu: Cpu, bi: BootInfo): G {
    for (const base of bi.virtio) {
      const t = new MmioTransport(base);
      const where = `virtio_mmio@${base.toString(16)}`;
      try {
        const id = Number(yield* t.read(cpu, REG.DEVICE_ID));
        if (id === 3 && !this.console.virtio) {
          const d = new VirtioConsoleDriver(t, this.dma!);
          yield* d.init(cpu, this.secure);
          this.console.virtio = d;
          yield* this.printk(cpu, `${where}: virtio_console port 0 (${this.secure ? 'through SWIOTLB' : 'direct DMA'})`);
        } else if (id === 2 && !this.blk) {
          const d = new VirtioBlkDriver('vda', t, this.dma!);
          yield* d.init(cpu, this.secure);
          this.blk = d;
          yield* this.printk(cpu, `${where}: virtio_blk [vda] ${d.capacity} 512-byte logical blocks (${(d.bytes / 1e6).toFixed(1)} MB)`);
        }
      } catch (e) {
        if (!(e instanceof VirtioProbeError)) throw e;
        yield* this.printk(cpu, `${where}: probe failed: ${e.message}`);
      }
    }
  }

  *#mountRoot(cpu: Cpu, bi: BootInfo): G {
    const vfs = this.vfs!;
    const pages = this.pages!;
    if (bi.initrd) {
      const n = yield* unpackInitramfs(cpu, vfs, bi.initrd.start, bi.initrd.end);
      pages.free(Math.ceil(bi.initrd.start / PAGE_SIZE) * PAGE_SIZE, Math.floor((bi.initrd.end - Math.ceil(bi.initrd.start / PAGE_SIZE) * PAGE_SIZE) / PAGE_SIZE));
      yield* this.printk(cpu, `Unpacked initramfs: ${n} files`);
    }
    if (!this.blk) {
      if (!bi.initrd) throw new Error('VFS: Unable to mount root fs: no root disk and no initramfs');
      return;
    }
    const head = yield* rawPrefix(cpu, this.blk, pages, 512);
    let crypt;
    if (isLuks2(head)) {
      let pass: Uint8Array | undefined;
      if (this.secure) for (const f of ROOT_PASSPHRASE_FILES) { pass ??= yield* esmFile(cpu, f); }
      if (!pass) throw new Error('VFS: root disk vda is LUKS2-encrypted and no passphrase is attached to the ESM blob (rootd)');
      const end = pass[pass.length - 1] === 0x0a ? pass.length - 1 : pass.length;
      try {
        crypt = yield* openLuksRoot(cpu, this.blk, pages, pass.subarray(0, end));
      } catch (e) {
        if (e instanceof HardwareInterrupt) throw e;
        throw new Error(`VFS: cannot open the encrypted root vda: ${(e as Error).message}`, { cause: e });
      } finally { pass.fill(0); }
      yield* this.printk(cpu, `device-mapper: crypt: vda opened with the ESM passphrase (aes-xts-plain64, ${crypt.sectorSize}-byte sectors)`);
    }
    this.bcache = new BlockCache(this.blk, pages, crypt);
    let n: number;
    try {
      n = yield* mountTar(cpu, this.bcache, vfs);
    } catch (e) {
      if (e instanceof HardwareInterrupt) throw e;
      throw new Error(`VFS: Unable to mount root fs on vda: ${(e as Error).message}`, { cause: e });
    }
    yield* this.printk(cpu, `VFS: Mounted root (tarfs filesystem${crypt ? ' on dm-crypt' : ''}) readonly on device vda: ${n} entries`);
  }

  #pseudoFiles(bi: BootInfo): void {
    const vfs = this.vfs!;
    const enc = (s: string) => () => new TextEncoder().encode(s);
    vfs.add('/proc/cmdline', 'file', { kind: 'gen', produce: enc(bi.bootargs + '\n') }, bi.bootargs.length + 1, { readonly: true, mode: 0o444 });
    vfs.add('/sys/devices/system/cpu/svm', 'file', { kind: 'gen', produce: enc(this.secure ? '1\n' : '0\n') }, 2, { readonly: true, mode: 0o444 });
    if (this.secure && this.fingerprint) {
      vfs.add('/sys/firmware/pef/key-fingerprint', 'file', { kind: 'gen', produce: enc(this.fingerprint + '\n') }, 65, { readonly: true, mode: 0o444 });
    }
    vfs.add('/dev/console', 'chr', { kind: 'console' }, 0, { mode: 0o600 });
  }

  /** pef.memtest=MiB: write a pattern over that much memory, then check it (touches every page). */
  *#memtest(cpu: Cpu, mib: number): G {
    const pages = this.pages!;
    const n = Math.min(Math.floor(mib * 16), pages.freePages - 64);
    const got: number[] = [];
    const pattern = (g: number) => {
      const w = new Uint32Array(PAGE_SIZE / 4);
      for (let i = 0; i < w.length; i++) w[i] = (Math.imul(g + 1, 0x9e3779b1) ^ Math.imul(i, 0x85ebca6b)) >>> 0;
      return new Uint8Array(w.buffer);
    };
    for (let i = 0; i < n; i++) {
      const g = pages.alloc(1, 'memtest');
      got.push(g);
      yield* mem.write(cpu, g, pattern(g));
      if (i % 16 === 15) yield* this.condResched(cpu);
    }
    for (const [i, g] of got.entries()) {
      if (i % 16 === 15) yield* this.condResched(cpu);
      const b = yield* mem.read(cpu, g, PAGE_SIZE);
      if (!Buffer.from(b).equals(Buffer.from(pattern(g)))) throw new Error(`memtest: bad memory at 0x${g.toString(16)}`);
    }
    for (const g of got) { yield* mem.zero(cpu, g, PAGE_SIZE); pages.free(g); }
    yield* this.printk(cpu, `memtest: ${(n * PAGE_SIZE) >> 20} MiB written and verified`);
  }

  /** pef.blkbench=MiB: read that much of the raw root disk, in the largest requests the driver makes. */
  *#blkbench(cpu: Cpu, mib: number): G {
    const blk = this.blk;
    if (!blk) { yield* this.printk(cpu, 'blkbench: no block device'); return; }
    const req = 256 * 1024;
    const buf = this.pages!.alloc(req / PAGE_SIZE, 'blkbench');
    const total = Math.floor(mib * 1024 * 1024);
    const span = Math.floor(blk.bytes / req) * req;
    if (span === 0) { yield* this.printk(cpu, 'blkbench: disk smaller than one request'); return; }
    for (let done = 0; done < total; done += req) yield* blk.read(cpu, done % span, buf, req);
    this.pages!.free(buf, req / PAGE_SIZE);
    yield* this.printk(cpu, `blkbench: read ${mib} MiB from vda`);
  }

  // ---- processes ---------------------------------------------------------------------------

  /** Replace `p`'s image with the program at `path` (execve). */
  *exec(cpu: Cpu, p: Process, path: string, argv: string[], envp: string[]): G {
    const vfs = this.vfs!;
    const inode = vfs.lookup(path);
    if (!inode) throw new FsError(ENOENT, `${path}: not found`);
    const random = new Uint8Array(16);
    for (let i = 0; i < 16; i += 8) {
      const r = yield* hcall(cpu, HC.H_RANDOM);
      new DataView(random.buffer).setBigUint64(i, r.out[0]!);
    }
    const np = new Process(p.pid, path);
    try {
      yield* loadImage(cpu, this.pages!, vfs, np, inode, argv, envp, random);
    } catch (e) {
      np.release(this.pages!);
      if (e instanceof OutOfMemory) throw new FsError(ENOMEM, e.message);
      throw e;
    }
    if (p.ownImage) p.release(this.pages!);
    p.ownImage = true;
    p.name = path;
    p.kind = np.kind;
    p.regions.push(...np.regions);
    Object.assign(p, { entry: np.entry, sp: np.sp, argc: np.argc, argv: np.argv, envp: np.envp, brkBase: np.brkBase, brk: np.brk, brkMax: np.brkMax });
    for (const fd of p.cloexec) closeFd(p, fd);
    this.current = p;
  }

  children(p: Process): Process[] { return [...this.#procs.values()].filter((c) => c.parent === p); }
  reap(c: Process): void { this.#procs.delete(c.pid); }

  /**
   * vfork: the child runs in the parent's memory until it execs or exits; the parent waits.
   * The model kernel then runs the child to its end before the parent goes on (one CPU, no
   * process scheduler), so the parent's wait4 finds it done. A machine-code parent resumes at
   * its vfork with the child's pid, as on Linux. A model program cannot be resumed twice at one
   * place (it is a single flow), so it resumes where its child's last system call returned:
   * its execve, or its _exit if the exec failed.
   */
  #vfork(p: Process, ctx: ResumeContext): Process {
    const c = new Process(this.#nextPid++, p.name);
    c.parent = p;
    c.kind = p.kind;
    c.ownImage = false;
    c.fds.push(...p.fds.map((f) => (f ? { ...f } : undefined)));
    for (const fd of p.cloexec) c.cloexec.add(fd);
    c.rlimits = p.rlimits.map(([cur, max]) => [cur, max]);
    Object.assign(c, { entry: p.entry, sp: p.sp, brkBase: p.brkBase, brk: p.brk, brkMax: p.brkMax });
    p.vforkChild = c;
    p.resume = ctx;
    this.#procs.set(c.pid, c);
    this.current = c;
    return c;
  }

  /** Enter a freshly loaded image in problem state (rfid; S stays as it is). */
  *#enterUser(cpu: Cpu, p: Process): G {
    for (let i = 0; i < 32; i++) cpu.regs.setGpr(i, 0n);
    cpu.regs.setGpr(1, BigInt(p.sp));
    cpu.regs.setGpr(3, BigInt(p.argc));
    cpu.regs.setGpr(4, BigInt(p.argv));
    cpu.regs.setGpr(5, BigInt(p.envp));
    cpu.regs.setGpr(12, BigInt(p.entry));
    cpu.regs.cr = 0; cpu.regs.lr = 0n; cpu.regs.ctr = 0n;
    cpu.mtspr(SPR_SRR0, BigInt(p.entry));
    cpu.mtspr(SPR_SRR1, cpu.msr | MSR.PR | MSR.FP | MSR.VEC | MSR.VSX);
    yield { op: 'rfid' };
  }

  *#syscall(cpu: Cpu): G {
    const srr0 = cpu.mfspr(SPR_SRR0);
    const srr1 = cpu.mfspr(SPR_SRR1);
    if ((srr1 & MSR.PR) === 0n) {
      // The kernel's own `sc 0` (the fence below): nothing to do but return.
      yield { op: 'rfid' };
      return;
    }
    const p = this.current;
    if (!p) throw new Error('system call with no current process');
    // Fence: the hardware model suspends the caller at the address of the next token it hands
    // out, so this flow's first fault would be filed under the caller's return address and
    // replace it. Taking that token with a harmless `sc 0` to ourselves keeps them apart.
    yield { op: 'sc', lev: 0 };
    const saved = cpu.regs.snapshot();
    let r: SysResult;
    if ((srr1 & SRR1_SC_LEV_MASK) !== 0n) r = { kind: 'err', errno: 38 };
    else {
      const nr = Number(cpu.regs.getGpr(0));
      const args = [3, 4, 5, 6, 7, 8].map((i) => cpu.regs.getGpr(i));
      try {
        r = yield* syscall(this, cpu, p, nr, args);
      } catch (e) {
        if (e instanceof FsError) r = { kind: 'err', errno: e.errno };
        else if (e instanceof OutOfMemory) r = { kind: 'err', errno: ENOMEM };
        else throw e;
      }
    }
    switch (r.kind) {
      case 'ret': case 'err':
        cpu.regs.restore(saved);
        if (r.kind === 'err') { cpu.regs.setGpr(3, BigInt(r.errno)); cpu.regs.cr |= CR0_SO; }
        else { cpu.regs.setGpr(3, BigInt.asUintN(64, BigInt(r.value))); cpu.regs.cr &= ~CR0_SO; }
        cpu.mtspr(SPR_SRR0, srr0);
        cpu.mtspr(SPR_SRR1, srr1);
        yield { op: 'rfid' };
        return;
      case 'vfork': {
        this.#vfork(p, { regs: saved, srr0, srr1 });
        cpu.regs.restore(saved);
        cpu.regs.setGpr(3, 0n);
        cpu.regs.cr &= ~CR0_SO;
        cpu.mtspr(SPR_SRR0, srr0);
        cpu.mtspr(SPR_SRR1, srr1);
        yield { op: 'rfid' };
        return;
      }
      case 'exec': {
        const parent = p.parent;
        if (parent?.vforkChild === p && parent.kind === 'model') parent.resume = { regs: saved, srr0, srr1 };
        yield* this.#enterUser(cpu, p);
        return;
      }
      case 'exit': {
        const parent = p.parent;
        if (parent?.vforkChild === p && !p.ownImage && parent.kind === 'model') parent.resume = { regs: saved, srr0, srr1 };
        yield* this.#exit(cpu, p, r.code << 8);
        return;
      }
      case 'reboot':
        if (r.how === 'restart' && this.rtas) { yield* this.printk(cpu, 'reboot: Restarting system'); yield* this.rtas.reboot(cpu); }
        yield* this.#exit(cpu, p, 0);
        return;
    }
  }

  /** The process ended with a wait status (exit code << 8, or a signal number). */
  *#exit(cpu: Cpu, p: Process, status: number): G {
    if (p.ownImage) p.release(this.pages!);
    this.current = undefined;
    const parent = p.parent;
    if (parent) {
      p.zombie = status;
      if (parent.vforkChild === p) parent.vforkChild = undefined;
      const at = parent.resume;
      parent.resume = undefined;
      if (!at) throw new Error(`${parent.name}[${parent.pid}] has nowhere to resume`);
      this.current = parent;
      cpu.regs.restore(at.regs);
      cpu.regs.setGpr(3, BigInt(p.pid));
      cpu.regs.cr &= ~CR0_SO;
      cpu.mtspr(SPR_SRR0, at.srr0);
      cpu.mtspr(SPR_SRR1, at.srr1);
      yield { op: 'rfid' };
      return;
    }
    if (status === 0) {
      yield* this.printk(cpu, 'reboot: Power down');
      if (this.rtas) yield* this.rtas.powerOff(cpu);
      for (;;) yield* hcall(cpu, HC.H_CEDE);
    }
    const how = status & 0x7f ? `killed by signal ${status & 0x7f}` : `exited with status ${status >> 8}`;
    yield* this.panic(cpu, `Attempted to kill init! exitcode=0x${status.toString(16).padStart(8, '0')} (${p.name} ${how})`);
  }

  *#programCheck(cpu: Cpu): G {
    const srr0 = cpu.mfspr(SPR_SRR0);
    const srr1 = cpu.mfspr(SPR_SRR1);
    const p = this.current;
    if ((srr1 & MSR.PR) !== 0n && p) {
      yield* this.printk(cpu, `${p.name}[${p.pid}]: illegal instruction at 0x${srr0.toString(16)} (SIGILL)`);
      yield* this.#exit(cpu, p, SIGILL);
      return;
    }
    throw new Error(`Oops: program check in kernel mode at 0x${srr0.toString(16)}`);
  }

  /** DSI/ISI (no memory at that address) or a machine check: the process gets SIGSEGV/SIGBUS; in the kernel, a panic. */
  *#storageFault(cpu: Cpu, vector: number): G {
    const srr0 = cpu.mfspr(SPR_SRR0);
    const srr1 = cpu.mfspr(SPR_SRR1);
    const dar = vector === 0x300 ? cpu.mfspr(19) : srr0;
    const what = vector === 0x200 ? 'machine check' : `${vector === 0x400 ? 'instruction fetch' : 'access'} at 0x${dar.toString(16)}`;
    const p = this.current;
    if ((srr1 & MSR.PR) !== 0n && p) {
      yield* this.printk(cpu, `${p.name}[${p.pid}]: ${what} (${vector === 0x200 ? 'SIGBUS' : 'SIGSEGV'})`);
      yield* this.#exit(cpu, p, vector === 0x200 ? SIGBUS : SIGSEGV);
      return;
    }
    throw new Error(vector === 0x200 ? `Machine check in kernel mode at 0x${srr0.toString(16)}` : `Unable to handle kernel paging request: ${what}`);
  }

  // eslint-disable-next-line require-yield
  *#unexpected(_cpu: Cpu, pc: number): G {
    throw new Error(`unexpected interrupt at 0x${pc.toString(16)}`);
  }
}

/** The code factory the machine uses when it finds the model kernel's marker at an entry point. */
export const modelKernel: CodeFactory = {
  magic: MODEL_KERNEL_MAGIC,
  create(_cpu: Cpu, _lpid: number, entry: number, image: Uint8Array): Software {
    let config: Record<string, unknown> = {};
    try { config = readModelKernelConfig(image); } catch { /* a short read at the entry: the defaults */ }
    return new Kernel(entry, config);
  },
};
