// The ESM blob travels in front of the initramfs: `svm add` prepends a cpio newc archive whose
// first file is opt/ibm/pef/<name>, and the ultravisor finds it there, hashing only what
// follows the archive (which ends at its trailer, padded to a 512-byte block, as GNU cpio
// writes it and the ultravisor assumes).
import { CpioError, CpioWriter, S_IFDIR, S_IFREG, isCpioAt, readCpioEntry, CPIO_TRAILER } from '../image/cpio.js';
import { FDT_MAGIC } from '../fdt/index.js';
import { EsmInputError } from './errors.js';

export const PEF_CPIO_DIR = 'opt/ibm/pef';
const BLOCK = 512;

/** The archive `svm add` prepends: directories ., opt, opt/ibm, opt/ibm/pef, then the blob. */
export function esmCpio(blob: Uint8Array, name: string): Uint8Array {
  if (!/^[^/\0]+$/.test(name) || name === '.' || name === '..') throw new EsmInputError(name, 'not a plain file name');
  const chunks: Uint8Array[] = [];
  const w = new CpioWriter((c) => chunks.push(c));
  // nlink as GNU cpio records it: a directory's own two links plus one per subdirectory.
  w.add({ name: '.', mode: S_IFDIR | 0o755, data: new Uint8Array(0), nlink: 3 });
  w.add({ name: 'opt', mode: S_IFDIR | 0o755, data: new Uint8Array(0), nlink: 3 });
  w.add({ name: 'opt/ibm', mode: S_IFDIR | 0o755, data: new Uint8Array(0), nlink: 3 });
  w.add({ name: PEF_CPIO_DIR, mode: S_IFDIR | 0o755, data: new Uint8Array(0), nlink: 2 });
  w.add({ name: `${PEF_CPIO_DIR}/${name}`, mode: S_IFREG | 0o644, data: blob });
  const total = w.finish(BLOCK);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/** `svm add`: the ESM archive followed by the original initramfs. */
export function svmAdd(initramfs: Uint8Array, blob: Uint8Array, name: string): Uint8Array {
  const a = esmCpio(blob, name);
  const out = new Uint8Array(a.length + initramfs.length);
  out.set(a);
  out.set(initramfs, a.length);
  return out;
}

export interface SplitInitramfs {
  /** The blob: the file's bytes from the first FDT magic (4-byte aligned) on. */
  blob: Uint8Array;
  /** The file's path in the archive, e.g. opt/ibm/pef/esmb.dtb. */
  name: string;
  /** The original initramfs: everything after the first archive's 512-byte-padded trailer. */
  rest: Uint8Array;
}

/** The directories the ESM archive may hold besides the blob (with or without a leading ./). */
const ESM_DIRS = new Set(['.', 'opt', 'opt/ibm', PEF_CPIO_DIR]);
const plainName = (n: string) => (n === '.' ? n : n.replace(/^(\.\/)+/, '').replace(/\/+$/, ''));

/**
 * Find the ESM archive at the front of an initramfs as the ultravisor does. Undefined when
 * there is none (the first file with data is not under opt/ibm/pef, or no newc archive
 * starts the initramfs); a CpioError when it starts as one but is damaged, or holds anything
 * but the blob and its directories: the digest covers only what follows the archive, and the
 * kernel unpacks every archive, so any other entry would reach the SVM unmeasured.
 */
export function splitInitramfs(initramfs: Uint8Array): SplitInitramfs | undefined {
  if (!isCpioAt(initramfs, 0)) return undefined;
  let found: { blob: Uint8Array; name: string } | undefined;
  const unmeasured: string[] = [];
  for (let off = 0; ;) {
    const e = readCpioEntry(initramfs, off);
    if (e.name === CPIO_TRAILER) {
      if (!found) return undefined;
      if (unmeasured.length > 0) {
        throw new CpioError(0, `the ESM archive also holds ${unmeasured.slice(0, 3).join(', ')}${unmeasured.length > 3 ? ` and ${unmeasured.length - 3} more` : ''}, which would reach the SVM unmeasured`);
      }
      const end = Math.ceil(e.end / BLOCK) * BLOCK;
      if (end > initramfs.length) throw new CpioError(e.end, `archive padding to ${end} runs past the ${initramfs.length}-byte initramfs`);
      return { ...found, rest: initramfs.subarray(end) };
    }
    const isDir = (e.mode & 0o170000) === S_IFDIR;
    const isBlob = !found && e.data.length > 0 && (e.mode & 0o170000) === S_IFREG && plainName(e.name).startsWith(`${PEF_CPIO_DIR}/`);
    if (!isBlob && !(isDir && ESM_DIRS.has(plainName(e.name)))) {
      // Before the blob, a file with data means this is no ESM archive; anything else is smuggled.
      if (!found && e.data.length > 0) return undefined;
      unmeasured.push(e.name);
    }
    if (isBlob) {
      const dv = new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength);
      let at = -1;
      for (let i = 0; i + 4 <= e.data.length; i += 4) if (dv.getUint32(i) === FDT_MAGIC) { at = i; break; }
      if (at < 0) throw new CpioError(e.dataOffset, `${e.name} holds no device tree (no FDT magic)`);
      found = { blob: e.data.subarray(at), name: e.name };
    }
    off = e.end;
  }
}
