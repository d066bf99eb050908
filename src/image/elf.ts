// ELF64 reading (either byte order) for kernels and guest programs, and the kernel's
// "loadable image" exactly as `objcopy -O binary` writes it, which is what svm-tools hashes
// for the ESM kernel digest and what the ultravisor compares against kernel-size bytes at
// kbase. Every malformed input is an ElfError with the byte offset; nothing is trusted.

export class ElfError extends Error {
  constructor(readonly offset: number, detail: string) {
    super(`ELF offset ${offset} (0x${offset.toString(16)}): ${detail}`);
    this.name = 'ElfError';
  }
}

export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EM_PPC64 = 21;
export const PT_LOAD = 1;
export const PT_TLS = 7;
export const SHT_NULL = 0;
export const SHT_NOBITS = 8;
export const SHF_ALLOC = 0x2;
export const SHF_TLS = 0x400;
const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;

export interface ElfSegment {
  index: number;
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: bigint;
  align: bigint;
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
}

export interface Elf {
  bytes: Uint8Array;
  littleEndian: boolean;
  type: number;
  machine: number;
  entry: bigint;
  flags: number;
  segments: ElfSegment[];
  sections: ElfSection[];
}

const MAX_TABLE_ENTRIES = 1 << 16;

/** Parse an ELF64 file's header, program headers and section headers. */
export function parseElf(bytes: Uint8Array): Elf {
  if (bytes.length < 64) throw new ElfError(bytes.length, `file of ${bytes.length} bytes is shorter than the 64-byte ELF64 header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new ElfError(0, 'no ELF magic (\\x7fELF)');
  if (bytes[4] !== ELFCLASS64) throw new ElfError(4, `class ${bytes[4]} is not ELFCLASS64`);
  if (bytes[5] !== ELFDATA2LSB && bytes[5] !== ELFDATA2MSB) throw new ElfError(5, `data encoding ${bytes[5]} is neither little nor big endian`);
  if (bytes[6] !== 1) throw new ElfError(6, `ident version ${bytes[6]} is not 1`);
  const le = bytes[5] === ELFDATA2LSB;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const u64 = (o: number) => dv.getBigUint64(o, le);
  /** A 64-bit file offset or size, which must fit the file (so also a safe JS number). */
  const fileNum = (o: number, what: string) => {
    const v = u64(o);
    if (v > BigInt(bytes.length)) throw new ElfError(o, `${what} ${v} is beyond the ${bytes.length}-byte file`);
    return Number(v);
  };
  const type = u16(16);
  const machine = u16(18);
  const entry = u64(24);
  const phoff = fileNum(32, 'program header offset');
  const shoff = fileNum(40, 'section header offset');
  const flags = u32(48);
  const phentsize = u16(54);
  let phnum = u16(56);
  const shentsize = u16(58);
  let shnum = u16(60);
  let shstrndx = u16(62);

  // Extended numbering: counts too large for the header live in section header 0.
  if (shoff !== 0 && (shnum === 0 || phnum === PN_XNUM || shstrndx === SHN_XINDEX)) {
    if (shentsize < 64) throw new ElfError(58, `section header size ${shentsize} is smaller than 64`);
    if (shoff + 64 > bytes.length) throw new ElfError(40, 'section header 0 runs past the end of the file');
    if (shnum === 0) shnum = Number(u64(shoff + 32) > BigInt(MAX_TABLE_ENTRIES) ? MAX_TABLE_ENTRIES + 1 : u64(shoff + 32));
    if (phnum === PN_XNUM) phnum = u32(shoff + 44);
    if (shstrndx === SHN_XINDEX) shstrndx = u32(shoff + 40);
  }

  const table = (off: number, num: number, entsize: number, min: number, what: string, field: number) => {
    if (num === 0) return;
    if (entsize < min) throw new ElfError(field, `${what} entry size ${entsize} is smaller than ${min}`);
    if (num > MAX_TABLE_ENTRIES) throw new ElfError(field, `${num} ${what} entries is absurd`);
    if (off === 0 || off + num * entsize > bytes.length) throw new ElfError(field, `${what} table [${off}, ${off + num * entsize}) runs past the end of the file`);
  };
  table(phoff, phnum, phentsize, 56, 'program header', 54);
  table(shoff, shnum, shentsize, 64, 'section header', 58);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const s: ElfSegment = {
      index: i, type: u32(o), flags: u32(o + 4), offset: fileNum(o + 8, 'segment offset'),
      vaddr: u64(o + 16), paddr: u64(o + 24), filesz: fileNum(o + 32, 'segment file size'), memsz: u64(o + 40), align: u64(o + 48),
    };
    if (s.type === PT_LOAD && s.offset + s.filesz > bytes.length) throw new ElfError(o + 32, `segment ${i} [${s.offset}, ${s.offset + s.filesz}) runs past the end of the file`);
    if (s.type === PT_LOAD && BigInt(s.filesz) > s.memsz) throw new ElfError(o + 40, `segment ${i} has filesz ${s.filesz} > memsz ${s.memsz}`);
    segments.push(s);
  }

  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    const t = u32(o + 4);
    const offset = u64(o + 24);
    const size = u64(o + 32);
    const inFile = t !== SHT_NOBITS && t !== SHT_NULL;
    if (inFile && offset + size > BigInt(bytes.length)) throw new ElfError(o + 24, `section ${i} [${offset}, ${offset + size}) runs past the end of the file`);
    sections.push({
      index: i, name: '', type: t, flags: u64(o + 8), addr: u64(o + 16),
      offset: inFile ? Number(offset) : Number(offset > BigInt(bytes.length) ? BigInt(bytes.length) : offset),
      size: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size),
      link: u32(o + 40), info: u32(o + 44),
    });
  }
  if (shnum > 0 && shstrndx !== 0) {
    const strtab = sections[shstrndx];
    if (!strtab || strtab.type === SHT_NOBITS) throw new ElfError(62, `section name table index ${shstrndx} is not a section with contents`);
    const base = strtab.offset;
    const end = base + strtab.size;
    for (const s of sections) {
      const nameOff = u32(shoff + s.index * shentsize);
      if (nameOff >= strtab.size) throw new ElfError(shoff + s.index * shentsize, `section ${s.index} name offset ${nameOff} is outside the name table`);
      const nul = bytes.subarray(base + nameOff, end).indexOf(0);
      if (nul < 0) throw new ElfError(base + nameOff, `section ${s.index} name is not terminated`);
      s.name = new TextDecoder('latin1').decode(bytes.subarray(base + nameOff, base + nameOff + nul));
    }
  }
  return { bytes, littleEndian: le, type, machine, entry, flags, segments, sections };
}

export interface LoadableImage {
  /** The memory dump: from the lowest load address to the end of the last loaded content. */
  image: Uint8Array;
  /** Load address (LMA) of image[0]. */
  lma: bigint;
}

/** The largest image built here: a real ppc64 kernel is tens of MiB; anything past this is a gap gone wrong. */
export const MAX_LOADABLE_IMAGE = 1 << 30;

interface Piece { lma: bigint; offset: number; size: number }

/**
 * `objcopy -O binary`: every allocated section with contents (SHF_ALLOC, not SHT_NOBITS,
 * non-empty) placed at its load address, the gaps between them zero-filled, starting at the
 * lowest load address. A section's load address follows BFD: the physical address of the
 * PT_LOAD (PT_TLS for TLS sections) that holds it, plus its offset inside that segment; the
 * virtual address when no segment holds it, or when every p_paddr is zero and there are
 * several loads. A file without section headers is dumped by its PT_LOAD segments instead.
 */
export function loadableImage(elf: Elf): LoadableImage {
  const pieces: Piece[] = [];
  if (elf.sections.length === 0) {
    for (const s of elf.segments) if (s.type === PT_LOAD && s.filesz > 0) pieces.push({ lma: s.paddr, offset: s.offset, size: s.filesz });
  } else {
    const loads = elf.segments.filter((p) => p.type === PT_LOAD && p.memsz !== 0n).length;
    const allPaddrZero = elf.segments.every((p) => p.paddr === 0n);
    const useVma = allPaddrZero && loads > 1;
    for (const sec of elf.sections) {
      if ((sec.flags & BigInt(SHF_ALLOC)) === 0n || sec.type === SHT_NOBITS || sec.type === SHT_NULL || sec.size === 0) continue;
      let lma = sec.addr;
      if (!useVma) {
        const tls = (sec.flags & BigInt(SHF_TLS)) !== 0n;
        for (const p of elf.segments) {
          if (tls ? p.type !== PT_TLS : p.type !== PT_LOAD) continue;
          const size = BigInt(sec.size);
          const inFile = sec.offset >= p.offset && sec.offset - p.offset + sec.size <= p.filesz;
          const inMem = sec.addr >= p.vaddr && sec.addr - p.vaddr + size <= p.memsz;
          if (inFile && inMem) { lma = p.paddr + BigInt(sec.offset - p.offset); break; }
        }
      }
      pieces.push({ lma: BigInt.asUintN(64, lma), offset: sec.offset, size: sec.size });
    }
  }
  if (pieces.length === 0) return { image: new Uint8Array(0), lma: 0n };
  const low = pieces.reduce((m, p) => (p.lma < m ? p.lma : m), pieces[0]!.lma);
  let end = 0n;
  for (const p of pieces) { const e = p.lma - low + BigInt(p.size); if (e > end) end = e; }
  if (end > BigInt(MAX_LOADABLE_IMAGE)) throw new ElfError(0, `loadable image of ${end} bytes (sections spread from 0x${low.toString(16)}) is larger than ${MAX_LOADABLE_IMAGE}`);
  const image = new Uint8Array(Number(end));
  // Later sections overwrite earlier ones where they overlap, in section-header order, as BFD writes them.
  for (const p of pieces) image.set(elf.bytes.subarray(p.offset, p.offset + p.size), Number(p.lma - low));
  return { image, lma: low };
}
