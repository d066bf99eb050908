// Reading a 64-bit little-endian PowerPC ELF executable: the header and program headers a
// loader needs. Every malformed input gives an ElfError naming the offset; nothing here throws
// anything else or reads past the buffer.

export const EM_PPC64 = 21;
export const PT_LOAD = 1, PT_INTERP = 3, PT_PHDR = 6, PT_TLS = 7;
export const PF_X = 1, PF_W = 2, PF_R = 4;

/** Limits a loader applies (a 4 GiB segment, the 47-bit user address space of ppc64 Linux). */
export const MAX_SEGMENT = 2 ** 32;
export const USER_TOP = 2 ** 47;

export class ElfError extends Error {
  constructor(readonly offset: number, message: string) { super(`${message} (at offset ${offset})`); this.name = 'ElfError'; }
}

export interface Phdr { type: number; flags: number; offset: number; vaddr: number; filesz: number; memsz: number; align: number }

export interface ElfImage {
  type: 'exec' | 'dyn';
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  phdrs: Phdr[];
  /** ELFv2 (e_flags & 3 == 2) or ELFv1 (function descriptors). */
  abi: 1 | 2;
  interp: string | null;
}

function u64(dv: DataView, off: number): number {
  const lo = dv.getUint32(off, true), hi = dv.getUint32(off + 4, true);
  if (hi >= 0x200000) throw new ElfError(off, 'value beyond 2^53');
  return hi * 0x100000000 + lo;
}

export function parseElf(buf: Uint8Array): ElfImage {
  if (buf.length < 64) throw new ElfError(0, 'file too short for an ELF header');
  if (buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) throw new ElfError(0, 'not an ELF file');
  if (buf[4] !== 2) throw new ElfError(4, 'not a 64-bit ELF file');
  if (buf[5] !== 1) throw new ElfError(5, 'not little-endian (ppc64le expected)');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const etype = dv.getUint16(16, true);
  if (etype !== 2 && etype !== 3) throw new ElfError(16, `ELF type ${etype} is not an executable`);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_PPC64) throw new ElfError(18, `machine ${machine} is not PowerPC64`);
  const entry = u64(dv, 24);
  const phoff = u64(dv, 32);
  const flags = dv.getUint32(48, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56) throw new ElfError(54, `program header size ${phentsize} too small`);
  if (phnum === 0 || phnum > 256) throw new ElfError(56, `${phnum} program headers`);
  if (phoff + phentsize * phnum > buf.length) throw new ElfError(32, 'program headers beyond the end of the file');
  const phdrs: Phdr[] = [];
  let interp: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const p: Phdr = {
      type: dv.getUint32(o, true), flags: dv.getUint32(o + 4, true), offset: u64(dv, o + 8), vaddr: u64(dv, o + 16),
      filesz: u64(dv, o + 32), memsz: u64(dv, o + 40), align: u64(dv, o + 48),
    };
    if (p.type === PT_LOAD || p.type === PT_INTERP) {
      if (p.offset + p.filesz > buf.length) throw new ElfError(o + 8, `segment ${i} extends beyond the end of the file`);
      if (p.filesz > p.memsz) throw new ElfError(o + 32, `segment ${i} file size exceeds its memory size`);
    }
    if (p.type === PT_LOAD) {
      if (p.memsz > MAX_SEGMENT) throw new ElfError(o + 40, `segment ${i} is larger than ${MAX_SEGMENT} bytes`);
      if (p.vaddr + p.memsz > USER_TOP) throw new ElfError(o + 16, `segment ${i} lies outside the user address space`);
    }
    if (p.type === PT_INTERP) interp = Buffer.from(buf.subarray(p.offset, p.offset + p.filesz)).toString('latin1').replace(/\0.*$/s, '');
    phdrs.push(p);
  }
  if (!phdrs.some((p) => p.type === PT_LOAD)) throw new ElfError(phoff, 'no loadable segment');
  if (entry >= USER_TOP) throw new ElfError(24, 'entry point outside the user address space');
  return { type: etype === 2 ? 'exec' : 'dyn', entry, phoff, phentsize, phnum, phdrs, abi: (flags & 3) === 1 ? 1 : 2, interp };
}
