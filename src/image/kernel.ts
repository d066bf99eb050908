// The model kernel: a real ppc64le ELF (readelf, objcopy and the ESM digest treat it like a
// vmlinux) whose loadable image starts with a branch over a marker the hardware model looks for
// at the entry point. When the marker is there, the machine hands control to the TypeScript
// guest kernel instead of decoding instructions. The rest of the image is deterministic filler,
// so hashing and loading it costs what a real kernel of that size costs.
//
// Loadable image (what `objcopy -O binary` gives), little-endian:
//   0..3     0x48000040            b .+0x40
//   4..19    "PEF-MODEL-KERNEL"
//   20..23   u32 L
//   24..24+L UTF-8 JSON config, e.g. {"kernel":"pef-linux","version":"1"}
//   ...      filler up to the image size

import { createHash } from 'node:crypto';

export const MODEL_KERNEL_MAGIC = 'PEF-MODEL-KERNEL';
export const MODEL_KERNEL_BRANCH = 0x48000040;
/** Guest-physical load address (kbase), the ELF's p_paddr. */
export const KERNEL_LOAD_ADDR = 0x400000;
/** Link address (p_vaddr) and entry point, as a 64-bit kernel links at 0xc000000000000000 + kbase. */
export const KERNEL_VADDR = 0xc000000000400000n;
export const KERNEL_ENTRY = KERNEL_VADDR;
export const DEFAULT_KERNEL_SIZE = 2 * 1024 * 1024;
export const DEFAULT_KERNEL_CONFIG = { kernel: 'pef-linux', version: '1' } as const;

export const EM_PPC64 = 21;
export const ET_EXEC = 2;
export const PT_LOAD = 1;
/** e_flags 2: the ELFv2 ABI that little-endian ppc64 uses. */
export const EF_PPC64_ABI_V2 = 2;
/** File offset of the loadable image: 64 KiB, the page size, so offset and address agree modulo p_align. */
const IMAGE_OFFSET = 0x10000;

export interface ModelKernelOptions {
  /** Size of the loadable image in bytes (default 2 MiB). */
  size?: number;
  /** The JSON config the guest kernel reads (default {"kernel":"pef-linux","version":"1"}). */
  config?: Record<string, unknown>;
  /** Seed of the filler, so two different kernels can be built on purpose. */
  seed?: string;
}

const MARKER_HEADER = 24;

/** The loadable image alone (what objcopy -O binary would extract from the ELF). */
export function buildModelKernelImage(opts: ModelKernelOptions = {}): Uint8Array {
  const size = opts.size ?? DEFAULT_KERNEL_SIZE;
  const json = new TextEncoder().encode(JSON.stringify(opts.config ?? DEFAULT_KERNEL_CONFIG));
  if (!Number.isSafeInteger(size) || size < MARKER_HEADER + json.length) throw new RangeError(`kernel size ${size} cannot hold the ${MARKER_HEADER + json.length}-byte marker`);
  const img = new Uint8Array(size);
  const dv = new DataView(img.buffer);
  dv.setUint32(0, MODEL_KERNEL_BRANCH, true);
  img.set(new TextEncoder().encode(MODEL_KERNEL_MAGIC), 4);
  dv.setUint32(20, json.length, true);
  img.set(json, MARKER_HEADER);
  fillDeterministic(img, MARKER_HEADER + json.length, opts.seed ?? 'pef-linux');
  return img;
}

/** xorshift32 seeded from SHA-256 of the seed: reproducible, fast, not meant to be secret. */
function fillDeterministic(img: Uint8Array, from: number, seed: string): void {
  let x = createHash('sha256').update(seed).digest().readUInt32LE(0) || 0x9e3779b9;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  let i = from;
  for (; i + 4 <= img.length; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    dv.setUint32(i, x, true);
  }
  for (; i < img.length; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; img[i] = x & 0xff; }
}

/**
 * A complete ELF64 little-endian executable for EM_PPC64: one PT_LOAD segment at p_paddr
 * KERNEL_LOAD_ADDR / p_vaddr KERNEL_VADDR holding the model image, a .text section over it
 * and a section-name table, so binutils show it like a small vmlinux.
 */
export function buildModelKernel(opts: ModelKernelOptions = {}): Uint8Array {
  return wrapElf(buildModelKernelImage(opts), { paddr: BigInt(KERNEL_LOAD_ADDR), vaddr: KERNEL_VADDR, entry: KERNEL_ENTRY });
}

/** Put one loadable image into a minimal ppc64le ET_EXEC ELF. */
export function wrapElf(image: Uint8Array, at: { paddr: bigint; vaddr: bigint; entry: bigint; flags?: number }): Uint8Array {
  const shstr = new TextEncoder().encode('\0.text\0.shstrtab\0');
  const strOff = IMAGE_OFFSET + image.length;
  const shOff = (strOff + shstr.length + 7) & ~7;
  const total = shOff + 3 * 64;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* ELFOSABI_NONE */]);
  dv.setUint16(16, ET_EXEC, true);
  dv.setUint16(18, EM_PPC64, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, at.entry, true);
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setBigUint64(40, BigInt(shOff), true);
  dv.setUint32(48, EF_PPC64_ABI_V2, true);
  dv.setUint16(52, 64, true); // e_ehsize
  dv.setUint16(54, 56, true); // e_phentsize
  dv.setUint16(56, 1, true); // e_phnum
  dv.setUint16(58, 64, true); // e_shentsize
  dv.setUint16(60, 3, true); // e_shnum
  dv.setUint16(62, 2, true); // e_shstrndx
  // Program header: PT_LOAD, RWX like a kernel's single text+data segment.
  const ph = 64;
  dv.setUint32(ph, PT_LOAD, true);
  dv.setUint32(ph + 4, at.flags ?? 7, true);
  dv.setBigUint64(ph + 8, BigInt(IMAGE_OFFSET), true);
  dv.setBigUint64(ph + 16, at.vaddr, true);
  dv.setBigUint64(ph + 24, at.paddr, true);
  dv.setBigUint64(ph + 32, BigInt(image.length), true);
  dv.setBigUint64(ph + 40, BigInt(image.length), true);
  dv.setBigUint64(ph + 48, BigInt(IMAGE_OFFSET), true);
  out.set(image, IMAGE_OFFSET);
  out.set(shstr, strOff);
  // Section headers: [0] null, [1] .text (PROGBITS, ALLOC|EXECINSTR|WRITE), [2] .shstrtab.
  const sh1 = shOff + 64;
  dv.setUint32(sh1, 1, true);
  dv.setUint32(sh1 + 4, 1, true); // SHT_PROGBITS
  dv.setBigUint64(sh1 + 8, 0x7n, true); // SHF_WRITE | SHF_ALLOC | SHF_EXECINSTR
  dv.setBigUint64(sh1 + 16, at.vaddr, true);
  dv.setBigUint64(sh1 + 24, BigInt(IMAGE_OFFSET), true);
  dv.setBigUint64(sh1 + 32, BigInt(image.length), true);
  dv.setBigUint64(sh1 + 48, 4n, true);
  const sh2 = shOff + 128;
  dv.setUint32(sh2, 7, true);
  dv.setUint32(sh2 + 4, 3, true); // SHT_STRTAB
  dv.setBigUint64(sh2 + 24, BigInt(strOff), true);
  dv.setBigUint64(sh2 + 32, BigInt(shstr.length), true);
  dv.setBigUint64(sh2 + 48, 1n, true);
  return out;
}

export type ModelKernelErrorCode = 'not-model' | 'truncated' | 'bad-config';

export class ModelKernelError extends Error {
  constructor(readonly code: ModelKernelErrorCode, readonly offset: number, detail: string) {
    super(`model kernel: ${detail} (at offset ${offset})`);
    this.name = 'ModelKernelError';
  }
}

/** True when `image` (guest memory at the entry point, or a loadable image) carries the marker. */
export function isModelKernel(image: Uint8Array): boolean {
  if (image.length < MARKER_HEADER) return false;
  if (new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(0, true) !== MODEL_KERNEL_BRANCH) return false;
  for (let i = 0; i < MODEL_KERNEL_MAGIC.length; i++) if (image[4 + i] !== MODEL_KERNEL_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** The JSON config of a model kernel image; a ModelKernelError says why it is not one. */
export function readModelKernelConfig(image: Uint8Array): Record<string, unknown> {
  if (!isModelKernel(image)) throw new ModelKernelError('not-model', 0, `no '${MODEL_KERNEL_MAGIC}' marker after the branch`);
  const len = new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(20, true);
  if (len > image.length - MARKER_HEADER) throw new ModelKernelError('truncated', 20, `config length ${len} runs past the image`);
  let v: unknown;
  try { v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(image.subarray(MARKER_HEADER, MARKER_HEADER + len))); } catch (e) {
    throw new ModelKernelError('bad-config', MARKER_HEADER, `config is not UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ModelKernelError('bad-config', MARKER_HEADER, 'config is not a JSON object');
  return v as Record<string, unknown>;
}
