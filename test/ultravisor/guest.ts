// A minimal guest kernel for the ultravisor's tests, found in guest memory by its magic like any
// model kernel. It boots as a normal VM, asks for secure mode (UV_ESM) the way prom_init does,
// and once the ultravisor enters it secure, runs the test's script. Interrupts delivered into
// it are logged and, by default, returned from.

import { SPR } from '../../src/abi/spr.js';
import { UV } from '../../src/abi/ultracalls.js';
import { rcOf } from '../../src/abi/retcodes.js';
import { MSR } from '../../src/abi/msr.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op, Software } from '../../src/hw/cpu/software.js';

export const TEST_KERNEL_MAGIC = 'PEF-UVTEST-KERNEL';
export const TEST_USER_MAGIC = 'PEF-UVTEST-USER';
/** Where the kernel puts its user program when it drops to problem state. */
export const USER_GPA = 0x300000;

/** A kernel image: a branch over the magic, then deterministic filler. */
export function testKernelImage(size: number, seed = 1): Uint8Array {
  const img = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; img[i] = x & 0xff; }
  new DataView(img.buffer).setUint32(0, 0x48000040, true);
  img.set(new TextEncoder().encode(TEST_KERNEL_MAGIC), 4);
  return img;
}

export interface GuestCtx {
  cpu: Cpu;
  kbase: number;
  fdt: bigint;
  log: string[];
  /** Values a test wants to read afterwards. */
  out: Record<string, unknown>;
}

export interface GuestScripts {
  /** In the normal VM at kbase (default: UV_ESM(kbase, fdt), then record its result and stop). */
  normal?: (g: GuestCtx) => Generator<Op, void, void>;
  /** In the SVM, entered at kbase by the ultravisor (default: stop). */
  secure?: (g: GuestCtx) => Generator<Op, void, void>;
  /** An interrupt delivered into the SVM's kernel (default: log it and return to SRR0). */
  vector?: (g: GuestCtx, vector: number) => Generator<Op, void, void>;
  /** The program the kernel runs in problem state (toUser); the thread stops after it. */
  user?: (g: GuestCtx) => Generator<Op, void, void>;
}

/** Drop to problem state: place the user program's magic at USER_GPA and rfid there. */
export function* toUser(g: GuestCtx): Generator<Op, void, void> {
  const magic = new Uint8Array([0x40, 0, 0, 0x48, ...new TextEncoder().encode(TEST_USER_MAGIC)]);
  yield* retrying(() => g.cpu.write(USER_GPA, magic));
  g.cpu.mtspr(SPR.SRR0!, BigInt(USER_GPA));
  g.cpu.mtspr(SPR.SRR1!, g.cpu.msr | MSR.PR);
  yield { op: 'rfid' };
}

export function testUser(scripts: GuestScripts, log: string[], out: Record<string, unknown>): CodeFactory {
  return {
    magic: TEST_USER_MAGIC,
    create(): Software {
      return {
        name: 'test-user',
        *enter(cpu: Cpu): Flow {
          log.push(`user program in ${cpu.mode}`);
          if (scripts.user) yield* scripts.user({ cpu, kbase: 0, fdt: 0n, log, out });
          yield { op: 'stop', reason: 'user-done' };
        },
      };
    },
  };
}

/** `sc LEV` with R3 = nr and R4.. = args; returns R3..R12 afterwards. */
export function* call(cpu: Cpu, lev: 1 | 2, nr: number, ...args: (bigint | number)[]): Generator<Op, bigint[], void> {
  cpu.regs.setGpr(3, BigInt(nr));
  args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt.asUintN(64, BigInt(a))));
  yield { op: 'sc', lev };
  return Array.from({ length: 10 }, (_, i) => cpu.regs.getGpr(3 + i));
}

export function* defaultNormal(g: GuestCtx): Generator<Op, void, void> {
  const r = yield* call(g.cpu, 2, UV.UV_ESM, g.kbase, g.fdt);
  g.out.esmRc = rcOf(r[0]!);
  const why = yield* call(g.cpu, 2, UV.UV_ESM_REASON);
  g.out.reason = Number(why[1]!);
  g.log.push(`esm failed ${g.out.esmRc} reason ${g.out.reason}`);
  yield { op: 'stop', reason: 'esm-failed' };
}

export function testKernel(scripts: GuestScripts, log: string[], out: Record<string, unknown>): CodeFactory {
  return {
    magic: TEST_KERNEL_MAGIC,
    create(_cpu: Cpu, _lpid: number, entry: number): Software {
      return {
        name: 'test-kernel',
        *enter(cpu: Cpu, pc: number): Flow {
          const g: GuestCtx = { cpu, kbase: entry, fdt: cpu.regs.getGpr(3), log, out };
          if (pc < 0x2000) {
            log.push(`vector 0x${pc.toString(16)} srr1=0x${cpu.mfspr(SPR.SRR1!).toString(16)}`);
            if (scripts.vector) { yield* scripts.vector(g, pc); return; }
            yield { op: 'rfid' };
            return;
          }
          if (!cpu.secure) {
            log.push('normal boot');
            yield* (scripts.normal ?? defaultNormal)(g);
            return;
          }
          log.push(`secure boot r3=0x${cpu.regs.getGpr(3).toString(16)} r4=0x${cpu.regs.getGpr(4).toString(16)}`);
          out.secure = true;
          if (scripts.secure) yield* scripts.secure(g);
          yield { op: 'stop', reason: 'svm-done' };
        },
      };
    },
  };
}
