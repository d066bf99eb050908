// A VM or SVM image: a directory of ordinary files that standard tools read.
//
//   kernel      ppc64le ELF (vmlinux; the model kernel for this project's guest)
//   initramfs   cpio newc; for an SVM the ESM archive (opt/ibm/pef/esmb.dtb) comes first
//   bootargs    the kernel command line, UTF-8, no trailing newline; an SVM's has svm=on
//   disk.img    the root disk: a ustar archive at offset 0, or LUKS2 whose payload is one
//   vm.json     {"name", "memory", "vcpus"}
//   esm.blob    (SVM only) a copy of the ESM blob, for inspection
//
// readImageDir checks every file and reports the first problem as an InputError naming it.

import { closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { openInputFile, readInputFile } from '../util/input-file.js';
import { CpioError, isCpioAt } from './cpio.js';
import { ElfError, EM_PPC64, loadableImage, parseElf, type Elf } from './elf.js';
import { isModelKernel, readModelKernelConfig } from './kernel.js';
import { fdByteReader } from './luks2-file.js';
import { readLuks2Header } from './luks2-header.js';
import { dataSegment, isLuks2, Luks2Error, type Luks2Header } from './luks2.js';
import { scanTar, TarError } from './tar.js';
import { parseVmConfig, type VmConfig } from './vm-config.js';
import { splitInitramfs } from '../esm/initramfs.js';
import { EsmFormatError, parseEsmBlob, type EsmBlob } from '../esm/index.js';

export const IMAGE_FILES = {
  kernel: 'kernel',
  initramfs: 'initramfs',
  bootargs: 'bootargs',
  disk: 'disk.img',
  vm: 'vm.json',
  esm: 'esm.blob',
} as const;

/** The name `svm add` and `pef svm convert` give the blob inside the initramfs. */
export const ESM_CPIO_NAME = 'esmb.dtb';
export const SECTOR = 512;
export const MIN_DISK = 1024 * 1024;
/** Linux's COMMAND_LINE_SIZE on powerpc, counting the NUL. */
export const MAX_BOOTARGS = 2048;

/** Read a whole file; a missing, unreadable or not regular file is an InputError naming it. */
export { readInputFile };

/** The command line as a string: UTF-8, one line, shorter than COMMAND_LINE_SIZE. */
export function checkBootargs(bytes: Uint8Array, subject: string): string {
  let s: string;
  try { s = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { throw new InputError(subject, 'is not UTF-8 text'); }
  if (s.endsWith('\n')) throw new InputError(subject, 'ends with a newline; the boot arguments are hashed byte for byte, so write them without one (printf, not echo)');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new InputError(subject, 'contains a control character (boot arguments are one line of text)');
  if (bytes.length >= MAX_BOOTARGS) throw new InputError(subject, `is ${bytes.length} bytes; the kernel takes fewer than ${MAX_BOOTARGS}`);
  return s;
}

export function hasSvmOn(bootargs: string): boolean {
  return bootargs.split(/\s+/).includes('svm=on');
}

/** The command line with svm=on: any other svm= value is replaced, an existing svm=on kept. */
export function withSvmOn(bootargs: string): string {
  if (hasSvmOn(bootargs)) return bootargs;
  const words = bootargs.split(' ').filter((w) => w !== '' && !w.startsWith('svm='));
  return [...words, 'svm=on'].join(' ');
}

export interface KernelInfo {
  path: string;
  bytes: Uint8Array;
  elf: Elf;
  /** objcopy -O binary of the ELF: what the ESM digest covers. */
  imageSize: number;
  entry: bigint;
  loadAddress: bigint;
  /** The model kernel's JSON config, when it is one. */
  model: Record<string, unknown> | undefined;
}

/** Read a kernel and check it is a little-endian ppc64 ELF with something to load. */
export function readKernel(path: string): KernelInfo {
  const bytes = readInputFile(path, 'kernel');
  let elf: Elf;
  let image: Uint8Array;
  let lma: bigint;
  try {
    elf = parseElf(bytes);
    ({ image, lma } = loadableImage(elf));
  } catch (e) {
    if (e instanceof ElfError) throw new InputError(path, `not a usable kernel ELF: ${e.message}`);
    throw e;
  }
  if (elf.machine !== EM_PPC64) throw new InputError(path, `ELF machine ${elf.machine} is not EM_PPC64 (21)`);
  if (!elf.littleEndian) throw new InputError(path, 'is a big-endian ELF; PEF guests here are ppc64le');
  if (image.length === 0) throw new InputError(path, 'ELF has nothing to load');
  let model: Record<string, unknown> | undefined;
  if (isModelKernel(image)) {
    try { model = readModelKernelConfig(image); } catch (e) { throw new InputError(path, (e as Error).message); }
  }
  return { path, bytes, elf, imageSize: image.length, entry: elf.entry, loadAddress: lma, model };
}

export interface InitramfsInfo {
  path: string;
  bytes: Uint8Array;
  /** The ESM archive at the front, for an SVM image. */
  esm: { name: string; blob: EsmBlob; blobBytes: Uint8Array; rest: Uint8Array } | undefined;
}

export function readInitramfs(path: string): InitramfsInfo {
  const bytes = readInputFile(path, 'initramfs');
  if (!isCpioAt(bytes, 0)) throw new InputError(path, 'is not a cpio newc archive (no 070701 magic at offset 0)');
  let split;
  try { split = splitInitramfs(bytes); } catch (e) {
    if (e instanceof CpioError) throw new InputError(path, e.message);
    throw e;
  }
  if (!split) return { path, bytes, esm: undefined };
  let blob: EsmBlob;
  try { blob = parseEsmBlob(split.blob); } catch (e) {
    if (e instanceof EsmFormatError) throw new InputError(path, `ESM blob ${split.name}: ${e.message}`);
    throw e;
  }
  return { path, bytes, esm: { name: split.name, blob, blobBytes: split.blob, rest: split.rest } };
}

export type DiskInfo =
  | { path: string; size: number; kind: 'plain'; entries: number; treeBytes: number }
  | { path: string; size: number; kind: 'luks2'; header: Luks2Header; dataOffset: number; dataSize: number; sectorSize: number };

/** Check a root disk without reading its content: sizes, the tar headers, or the LUKS2 header. */
export function inspectDisk(path: string): DiskInfo {
  const { fd, size } = openInputFile(path, 'root disk');
  try {
    const read = fdByteReader(fd);
    if (size % SECTOR !== 0) throw new InputError(path, `size ${size} is not a whole number of 512-byte sectors (truncated?)`);
    if (isLuks2(read(0, 6))) {
      let header: Luks2Header;
      try { header = readLuks2Header(read); } catch (e) {
        if (e instanceof Luks2Error) throw new InputError(path, `${e.detail} (at offset ${e.offset})`);
        throw e;
      }
      let seg;
      try { seg = dataSegment(header).segment; } catch (e) {
        if (e instanceof Luks2Error) throw new InputError(path, e.detail);
        throw e;
      }
      const dataSize = seg.size === 'dynamic' ? size - seg.offset : seg.size;
      if (size < seg.offset + Math.max(dataSize, seg.sectorSize) || (size - seg.offset) % seg.sectorSize !== 0) {
        throw new InputError(path, `LUKS2 data segment at ${seg.offset} (${seg.sectorSize}-byte sectors) does not fit the ${size}-byte disk (truncated?)`);
      }
      return { path, size, kind: 'luks2', header, dataOffset: seg.offset, dataSize, sectorSize: seg.sectorSize };
    }
    if (size < MIN_DISK) throw new InputError(path, `size ${size} is below the 1 MiB minimum of a root disk (truncated?)`);
    try {
      const { entries, end } = scanTar(read, size);
      return { path, size, kind: 'plain', entries, treeBytes: end };
    } catch (e) {
      if (e instanceof TarError) throw new InputError(path, `no readable file tree (ustar) at offset 0: ${e.message.replace(/^tar: /, '')}`);
      throw e;
    }
  } finally {
    closeSync(fd);
  }
}

export interface ImageDir {
  dir: string;
  config: VmConfig;
  bootargs: string;
  kernel: KernelInfo;
  initramfs: InitramfsInfo;
  disk: DiskInfo;
  /** An SVM image: svm=on, an ESM archive in the initramfs, a LUKS2 disk. */
  svm: boolean;
}

/** Read and check every file of an image directory. */
export function readImageDir(dir: string): ImageDir {
  let st;
  try { st = statSync(dir); } catch { throw new InputError(dir, 'no such image directory'); }
  if (!st.isDirectory()) throw new InputError(dir, 'is not a directory (an image is a directory of files)');
  const p = (k: keyof typeof IMAGE_FILES) => join(dir, IMAGE_FILES[k]);
  const config = parseVmConfig(Buffer.from(readInputFile(p('vm'), 'vm.json')).toString('utf8'), p('vm'));
  const bootargs = checkBootargs(readInputFile(p('bootargs'), 'bootargs file'), p('bootargs'));
  const kernel = readKernel(p('kernel'));
  const initramfs = readInitramfs(p('initramfs'));
  const disk = inspectDisk(p('disk'));
  return { dir, config, bootargs, kernel, initramfs, disk, svm: hasSvmOn(bootargs) && initramfs.esm !== undefined };
}
