// A small guest kernel for attacks that need the SVM itself to act step by step: share and
// unshare a page, write into it afterwards, run a transactional-memory instruction, make
// ultracalls it may not make. It is found in guest memory by its magic like any model kernel
// and reaches the machine only through `sc` and memory. As a normal VM with `svm=on` it asks
// for secure mode (UV_ESM) as prom_init does; entered secure (or as a normal VM without
// svm=on) it runs the script its image names, then powers off through RTAS. Interrupts
// delivered into it are recorded and returned from. Its image is built with the scenario's
// canary attachment through AttackContext.svm, like the probe kernel's.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op, Software } from '../hw/cpu/software.js';
import { HardwareInterrupt, MachineCheck } from '../hw/faults.js';
import { SPR } from '../abi/spr.js';
import { HC } from '../abi/hcalls.js';
import { UV } from '../abi/ultracalls.js';
import { rcOf } from '../abi/retcodes.js';
import { PAGE_SIZE } from '../abi/pages.js';
import { RTAS_TOKENS } from '../hypervisor/index.js';
import { buildModelKernelImage, MODEL_KERNEL_MAGIC, readModelKernelConfig } from '../image/kernel.js';
import { FDT_HEADER_SIZE, FdtError, findNode, getProperty, parseFdt, propertyString } from '../fdt/index.js';

/** Same length and place as the model kernel's marker. */
export const SCRIPT_KERNEL_MAGIC = 'PEF-SCRIPT-KERNL';
/** Pages of guest memory the script may use: 1 MiB up, below the kernel (which loads at 4 MiB). */
const SCRIPT_PAGES = 0x100000;
const RTAS_SCRATCH = 0x3f0000;

type G<T = void> = Generator<Op, T, void>;

export interface Interrupt { vector: number; srr0: bigint; srr1: bigint }

export interface ScriptApi {
  readonly cpu: Cpu;
  /** Whether it runs secure (MSR[S]=1). */
  readonly secure: boolean;
  /** Results for the scenario (a harness channel, as the probe kernel's report). */
  readonly report: Record<string, unknown>;
  /** Interrupts delivered into the kernel so far. */
  readonly interrupts: Interrupt[];
  /** The guest address of script page `i` (0..31). */
  page(i: number): number;
  ucall(nr: number, ...args: (number | bigint)[]): G<{ rc: number; out: bigint[] }>;
  hcall(nr: number, ...args: (number | bigint)[]): G<{ rc: number; out: bigint[] }>;
  /** A load or store the hardware may fault; undefined / false when it ended in an interrupt into the kernel. */
  read(gpa: number, len: number): G<Uint8Array | undefined>;
  write(gpa: number, data: Uint8Array): G<boolean>;
  /** An attachment of the ESM blob (UV_ESMB_GET_FILE). */
  file(name: string): G<Uint8Array | undefined>;
}

export type Script = (k: ScriptApi) => G;

/** The loadable image of a scripted kernel that runs script `id`. */
export function scriptKernelImage(id: string, size = 64 * 1024): Uint8Array {
  const img = buildModelKernelImage({ size, config: { script: id }, seed: `script-${id}` });
  img.set(new TextEncoder().encode(SCRIPT_KERNEL_MAGIC), 4);
  return img;
}

function scriptOf(head: Uint8Array): string | undefined {
  const copy = head.slice();
  copy.set(new TextEncoder().encode(MODEL_KERNEL_MAGIC), 4);
  try { const c = readModelKernelConfig(copy); return typeof c.script === 'string' ? c.script : undefined; } catch { return undefined; }
}

/** A name packed big-endian into four registers, NUL-padded (UV_ESMB_GET_FILE's convention). */
export function packName(name: string): bigint[] {
  const b = new Uint8Array(32);
  b.set(new TextEncoder().encode(name).subarray(0, 32));
  const dv = new DataView(b.buffer);
  return [0, 1, 2, 3].map((i) => dv.getBigUint64(8 * i));
}

function* call(cpu: Cpu, lev: 1 | 2, nr: number, args: (number | bigint)[]): G<{ rc: number; out: bigint[] }> {
  cpu.regs.setGpr(3, BigInt(nr));
  args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt.asUintN(64, BigInt(a))));
  yield { op: 'sc', lev };
  return { rc: rcOf(cpu.regs.getGpr(3)), out: Array.from({ length: 8 }, (_, i) => cpu.regs.getGpr(4 + i)) };
}

class ScriptKernel implements Software {
  readonly name = 'scripted kernel';
  readonly interrupts: Interrupt[] = [];
  #failed = false;
  constructor(private readonly entry: number, private readonly script: Script | undefined, private readonly report: Record<string, unknown>) {}

  enter(cpu: Cpu, pc: number): Flow {
    if (pc < 0x2000) return this.#vector(cpu, pc);
    return this.#boot(cpu);
  }

  *#vector(cpu: Cpu, pc: number): Flow {
    this.interrupts.push({ vector: pc, srr0: cpu.mfspr(SPR.SRR0!), srr1: cpu.mfspr(SPR.SRR1!) });
    if (pc === 0x200 || pc === 0x300 || pc === 0x400) this.#failed = true;
    yield { op: 'rfid' };
  }

  *#boot(cpu: Cpu): Flow {
    const fdt = cpu.regs.getGpr(3);
    if (!cpu.secure) this.report.svm = /\bsvm=on\b/.test((yield* this.#bootargs(cpu, Number(fdt))) ?? '');
    if (!cpu.secure && this.report.svm === true) {
      const r = yield* call(cpu, 2, UV.UV_ESM, [this.entry, fdt]);
      this.report.esm = r.rc;
    } else if (this.script) {
      this.report.ranSecure = cpu.secure;
      yield* this.script(this.#api(cpu));
      this.report.done = true;
    }
    yield* this.#powerOff(cpu);
  }

  #api(cpu: Cpu): ScriptApi {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const k = this;
    return {
      cpu, secure: cpu.secure, report: this.report, interrupts: this.interrupts,
      page: (i) => SCRIPT_PAGES + i * PAGE_SIZE,
      ucall: (nr, ...args) => call(cpu, 2, nr, args),
      hcall: (nr, ...args) => call(cpu, 1, nr, args),
      read: (gpa, len) => k.#access(() => cpu.read(gpa, len)),
      *write(gpa, data) { return (yield* k.#access(() => { cpu.write(gpa, data); return true; })) ?? false; },
      *file(name) {
        const regs = packName(name);
        const out: number[] = [];
        for (let off = 0; ; off += 64) {
          const r = yield* call(cpu, 2, UV.UV_ESMB_GET_FILE, [off, ...regs]);
          if (r.rc < 0) return undefined;
          for (const v of r.out) for (let b = 7; b >= 0; b--) out.push(Number((v >> BigInt(8 * b)) & 0xffn));
          out.length -= 64 - r.rc;
          if (r.rc < 64) return new Uint8Array(out);
        }
      },
    };
  }

  /** An access retried after faults the ultravisor resolves; undefined when it ended in an interrupt into the kernel. */
  *#access<T>(f: () => T): G<T | undefined> {
    for (let tries = 0; tries < 16; tries++) {
      try {
        return f();
      } catch (e) {
        if (e instanceof MachineCheck || !(e instanceof HardwareInterrupt)) throw e;
        this.#failed = false;
        yield { op: 'raise', interrupt: e };
        if (this.#failed) return undefined;
      }
    }
    return undefined;
  }

  /** The boot arguments in the device tree the VM was entered with (R3), as early boot code reads them. */
  *#bootargs(cpu: Cpu, fdt: number): G<string | undefined> {
    const head = yield* this.#access(() => cpu.read(fdt, FDT_HEADER_SIZE));
    if (!head) return undefined;
    const total = new DataView(head.buffer).getUint32(4);
    const bytes = total <= 1 << 20 ? yield* this.#access(() => cpu.read(fdt, total)) : undefined;
    if (!bytes) return undefined;
    try {
      const chosen = findNode(parseFdt(bytes).root, '/chosen');
      const p = chosen ? getProperty(chosen, 'bootargs') : undefined;
      return p ? propertyString(p) : undefined;
    } catch (e) {
      if (e instanceof FdtError) return undefined;
      throw e;
    }
  }

  /** RTAS power-off (an SVM's argument block goes through the ultravisor's RTAS bounce page). */
  *#powerOff(cpu: Cpu): G {
    const b = new Uint8Array(12 + 8 + 4);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, RTAS_TOKENS['power-off']!); dv.setUint32(4, 2); dv.setUint32(8, 1);
    dv.setUint32(12, 0xffffffff); dv.setUint32(16, 0xffffffff);
    yield* this.#access(() => cpu.write(RTAS_SCRATCH, b));
    yield* call(cpu, 1, HC.H_RTAS, [RTAS_SCRATCH]);
    for (;;) yield* call(cpu, 1, HC.H_CEDE, []);
  }
}

/**
 * The code kind for scripted kernels. `reports` collects each script's results by id; a
 * normal VM whose boot arguments say svm=on asks for secure mode first, as the model Linux does.
 */
export function scriptKernelCode(scripts: Record<string, Script>, reports: Record<string, Record<string, unknown>>): CodeFactory {
  return {
    magic: SCRIPT_KERNEL_MAGIC,
    create(_cpu: Cpu, _lpid: number, entry: number, image: Uint8Array): Software {
      const id = scriptOf(image) ?? '';
      return new ScriptKernel(entry, scripts[id], (reports[id] ??= {}));
    },
  };
}
