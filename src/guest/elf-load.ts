// Loading a static ppc64le ELF executable (what `gcc -static` links) into a process, as Linux's
// binfmt_elf does for one without an interpreter: every PT_LOAD segment at its linked address,
// its file bytes copied and the rest (bss) zero. Effective addresses are guest physical
// addresses in this model, so those exact pages must be free guest memory; segments that share
// a page at their edges share it here too.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { PAGE_SIZE } from '../abi/pages.js';
import { EM_PPC64, parseElf, PT_LOAD, type Elf } from '../image/elf.js';
import * as mem from './mem.js';
import type { PageAllocator } from './pages.js';
import type { Process } from './process.js';
import { ENOENT, ENOEXEC, ENOMEM, FsError, type Vfs } from './fs/vfs.js';

const ET_EXEC = 2;
const PT_INTERP = 3;

export interface LoadedElf { entry: number; phdr: number; phent: number; phnum: number }

function check(file: Uint8Array, vfs: Vfs): Elf {
  let elf: Elf;
  try { elf = parseElf(file); } catch (e) { throw new FsError(ENOEXEC, `not an executable: ${(e as Error).message}`); }
  if (elf.machine !== EM_PPC64 || !elf.littleEndian) throw new FsError(ENOEXEC, 'not a ppc64le executable');
  const interp = elf.segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    // As Linux: a missing interpreter is ENOENT. There is no dynamic loading in the model.
    const path = Buffer.from(file.subarray(interp.offset, interp.offset + interp.filesz)).toString('latin1').replace(/\0.*$/s, '');
    if (!vfs.lookup(path)) throw new FsError(ENOENT, `program interpreter ${path} not found`);
    throw new FsError(ENOEXEC, `dynamically linked (${path}); the model kernel runs static executables`);
  }
  if (elf.type !== ET_EXEC) throw new FsError(ENOEXEC, 'not ET_EXEC: the model kernel loads executables at their linked addresses (no PIE)');
  return elf;
}

/** Page-aligned runs of the pages the PT_LOAD segments cover, merged where they touch. */
function pageRuns(elf: Elf): { gpa: number; n: number }[] {
  const spans = elf.segments
    .filter((s) => s.type === PT_LOAD && s.memsz > 0n)
    .map((s) => {
      const va = Number(s.vaddr);
      const lo = Math.floor(va / PAGE_SIZE) * PAGE_SIZE;
      return { lo, hi: Math.ceil((va + Number(s.memsz)) / PAGE_SIZE) * PAGE_SIZE };
    })
    .sort((a, b) => a.lo - b.lo);
  const runs: { lo: number; hi: number }[] = [];
  for (const s of spans) {
    const last = runs[runs.length - 1];
    if (last && s.lo <= last.hi) last.hi = Math.max(last.hi, s.hi);
    else runs.push({ ...s });
  }
  return runs.map((r) => ({ gpa: r.lo, n: (r.hi - r.lo) / PAGE_SIZE }));
}

/** Load `file` (the whole executable) into `p`; the pages it takes are added to `p.regions`. */
export function* loadElf(cpu: Cpu, pages: PageAllocator, vfs: Vfs, p: Process, file: Uint8Array): Generator<Op, LoadedElf, void> {
  const elf = check(file, vfs);
  for (const r of pageRuns(elf)) {
    if (pages.allocAt(r.gpa, r.n) === undefined) throw new FsError(ENOMEM, `segments at 0x${r.gpa.toString(16)} (${r.n} pages) do not fit in free guest memory`);
    p.regions.push(r);
    yield* mem.zero(cpu, r.gpa, r.n * PAGE_SIZE);
  }
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const phoff = Number(dv.getBigUint64(32, true));
  const phent = dv.getUint16(54, true);
  const phnum = elf.segments.length;
  let phdr = 0;
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || s.memsz === 0n) continue;
    yield* mem.write(cpu, Number(s.vaddr), file.subarray(s.offset, s.offset + s.filesz));
    if (phoff >= s.offset && phoff + phent * phnum <= s.offset + s.filesz) phdr = Number(s.vaddr) + (phoff - s.offset);
  }
  return { entry: Number(elf.entry), phdr, phent, phnum };
}
