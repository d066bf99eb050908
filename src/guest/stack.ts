// A new image's initial stack, laid out as Linux's create_elf_tables does: AT_RANDOM's bytes
// and the strings at the top, then (16-byte aligned) argc, argv[], NULL, envp[], NULL and the
// auxiliary vector. glibc's static start-up reads the auxiliary vector before anything else:
// the page size, where its program headers are (for its TLS block and RELRO), AT_RANDOM for
// the stack protector, and AT_HWCAP/AT_HWCAP2/AT_PLATFORM to pick its string and memory
// routines for the processor.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { PAGE_SIZE } from '../abi/pages.js';
import * as mem from './mem.js';
import { E2BIG, FsError } from './fs/vfs.js';

// Auxiliary vector types (linux/auxvec.h, asm/auxvec.h).
const AT = {
  NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9, UID: 11, EUID: 12, GID: 13, EGID: 14,
  PLATFORM: 15, HWCAP: 16, CLKTCK: 17, DCACHEBSIZE: 19, ICACHEBSIZE: 20, UCACHEBSIZE: 21, SECURE: 23,
  BASE_PLATFORM: 24, RANDOM: 25, HWCAP2: 26, EXECFN: 31,
} as const;

/**
 * The machine is a POWER9 (its PVR says so), and the interpreter implements what `pef exec`
 * advertises for one (docs/isa.md): AT_HWCAP without DFP, AT_HWCAP2 without HTM, EBB,
 * VEC_CRYPTO, IEEE128 and SCV, which the model does not implement.
 */
export const POWER9 = { hwcap: 0xdc0061c2, hwcap2: 0xaca00000, platform: 'power9', cacheLine: 128 } as const;
/** USER_HZ. */
const CLOCK_TICKS = 100;

export interface ImageInfo {
  entry: number;
  /** Where the program headers are in memory (ELF only; 0 when they are not loaded). */
  phdr: number;
  phent: number;
  phnum: number;
  /** The path execve was given (AT_EXECFN). */
  execfn: string;
}

export interface StackLayout { sp: number; argc: number; argv: number; envp: number }

export function* buildStack(cpu: Cpu, base: number, top: number, argv: string[], envp: string[], random: Uint8Array, img: ImageInfo): Generator<Op, StackLayout, void> {
  const enc = new TextEncoder();
  let sp = top;
  const put = function* (b: Uint8Array): Generator<Op, number, void> {
    if (sp - b.length < base + PAGE_SIZE / 4) throw new FsError(E2BIG, 'argument list too long');
    sp -= b.length;
    yield* mem.write(cpu, sp, b);
    return sp;
  };
  const rnd = yield* put(random.subarray(0, 16));
  const execfn = yield* put(enc.encode(img.execfn + '\0'));
  const platform = yield* put(enc.encode(POWER9.platform + '\0'));
  const envAddrs: number[] = [];
  for (const s of envp) envAddrs.push(yield* put(enc.encode(s + '\0')));
  const argAddrs: number[] = [];
  for (const s of argv) argAddrs.push(yield* put(enc.encode(s + '\0')));
  const aux: [number, number][] = [
    [AT.DCACHEBSIZE, POWER9.cacheLine], [AT.ICACHEBSIZE, POWER9.cacheLine], [AT.UCACHEBSIZE, 0],
    [AT.HWCAP, POWER9.hwcap], [AT.PAGESZ, PAGE_SIZE], [AT.CLKTCK, CLOCK_TICKS],
  ];
  if (img.phdr) aux.push([AT.PHDR, img.phdr], [AT.PHENT, img.phent], [AT.PHNUM, img.phnum]);
  aux.push(
    [AT.BASE, 0], [AT.FLAGS, 0], [AT.ENTRY, img.entry], [AT.UID, 0], [AT.EUID, 0], [AT.GID, 0], [AT.EGID, 0],
    [AT.SECURE, 0], [AT.RANDOM, rnd], [AT.HWCAP2, POWER9.hwcap2], [AT.EXECFN, execfn],
    [AT.PLATFORM, platform], [AT.BASE_PLATFORM, platform], [AT.NULL, 0],
  );
  const words = [argv.length, ...argAddrs, 0, ...envAddrs, 0, ...aux.flat()];
  sp = Math.floor((sp - 8 * words.length) / 16) * 16;
  if (sp < base + PAGE_SIZE / 4) throw new FsError(E2BIG, 'argument list too long');
  const b = new Uint8Array(8 * words.length);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setBigUint64(8 * i, BigInt(w), true));
  yield* mem.write(cpu, sp, b);
  return { sp, argc: argv.length, argv: sp + 8, envp: sp + 8 * (argv.length + 2) };
}
