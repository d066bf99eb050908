// Images to run on a booted system, in memory: the sample VM (its tree, with changes a test
// or an attack needs), the same converted into an SVM as `pef svm convert` does (LUKS2 root
// under a fresh passphrase, svm=on, the digests, the ESM blob in front of the initramfs,
// authorized for the given machine keys), or an image directory read as `pef run` reads it.

import { randomBytes } from 'node:crypto';
import type { VmImage } from '../hypervisor/index.js';
import { buildEsmBlobWithKey, computeDigests, svmAdd, type FileInput } from '../esm/index.js';
import { buildModelKernelImage, KERNEL_LOAD_ADDR, type ModelKernelOptions } from '../image/kernel.js';
import { RTAS_TEXT } from '../image/rtas.js';
import { writeTar, type TarEntryInput } from '../image/tar.js';
import { createLuks2, Luks2Volume } from '../image/luks2.js';
import { SAMPLE_BOOTARGS, SAMPLE_INIT, sampleInitramfs, sampleTree } from '../image/sample.js';
import { withSvmOn } from '../image/image-dir.js';
import { loadRunImage } from '../cli/commands/run-system.js';

export interface SystemImage {
  name: string;
  image: VmImage;
  memBytes: number;
  vcpus: number;
  /** The root disk's plain content (a ustar tree), before any encryption. */
  tree?: Uint8Array;
  /** What the SVM's owner put in it: for tests that search memory for secrets. */
  secrets?: { passphrase: string; symkey: Uint8Array; attachments: FileInput[] };
}

export interface SampleSpec {
  name?: string;
  /** The kernel's loadable image (default: the model kernel, `kernelSize` bytes). */
  kernel?: Uint8Array;
  kernelSize?: number;
  kernelOptions?: ModelKernelOptions;
  /** Replaces the sample's boot arguments. */
  bootargs?: string;
  /** Appended to the boot arguments (e.g. "pef.memtest=4"). */
  extraBootargs?: string;
  /** Replaces the sample's /init script. */
  init?: string;
  /** Added to the sample's root tree. */
  files?: TarEntryInput[];
  memBytes?: number;
  vcpus?: number;
}

/** Small by default: the attack suite boots many of these. */
export const SMALL_KERNEL = 256 * 1024;
export const SMALL_MEMORY = 64 * 1024 * 1024;

/** Whole sectors, at least 1 MiB: the disk an image tool makes for a tree. */
export function padDisk(b: Uint8Array, min = 1 << 20): Uint8Array {
  const out = new Uint8Array(Math.max(min, Math.ceil(b.length / 512) * 512));
  out.set(b);
  return out;
}

/** The sample VM image (a normal VM), with the changes `spec` asks for. */
export function sampleImage(spec: SampleSpec = {}): SystemImage {
  const tree = sampleTree().filter((e) => !(spec.init !== undefined && e.path === 'init'));
  if (spec.init !== undefined) tree.unshift({ path: 'init', data: spec.init.startsWith('#!') ? spec.init : `#!pef-init\n${spec.init}`, mode: 0o755 });
  const tar = writeTar([...tree, ...(spec.files ?? [])]);
  const kernel = spec.kernel ?? buildModelKernelImage({ size: spec.kernelSize ?? SMALL_KERNEL, ...spec.kernelOptions });
  const bootargs = [spec.bootargs ?? SAMPLE_BOOTARGS, spec.extraBootargs].filter(Boolean).join(' ');
  return {
    name: spec.name ?? 'sample',
    memBytes: spec.memBytes ?? SMALL_MEMORY,
    vcpus: spec.vcpus ?? 1,
    tree: tar,
    image: { kernel: { paddr: KERNEL_LOAD_ADDR, bytes: kernel, entry: KERNEL_LOAD_ADDR }, initramfs: sampleInitramfs(), bootargs, rtas: RTAS_TEXT, disk: padDisk(tar) },
  };
}

export { SAMPLE_INIT };

export interface ConvertSpec {
  /** The owner's public key PEM (the origin lockbox). */
  ownerPub: Uint8Array;
  /** Public key PEMs of the machines the SVM may run on. */
  authorize: Uint8Array[];
  /** Extra files attached to the ESM blob (rootd, the disk passphrase, is always attached). */
  attachments?: FileInput[];
  passphrase?: string;
}

/** The root disk as LUKS2 (aes-xts-plain64) holding `payload`. */
export function luksDisk(payload: Uint8Array, passphrase: string): Uint8Array {
  const luks = createLuks2({ passphrase, dataOffset: 1 << 20 });
  const data = padDisk(payload, 512);
  const vol = new Luks2Volume(luks.header, luks.volumeKey);
  const disk = new Uint8Array(luks.dataOffset + data.length);
  disk.set(luks.headerBytes);
  disk.set(luks.keyslotBytes, luks.keyslotOffset);
  disk.set(vol.encryptSectors(0, data), luks.dataOffset);
  return disk;
}

/** Convert a VM image into an SVM image, as `pef svm convert` does. */
export function convertImage(img: SystemImage, s: ConvertSpec): SystemImage {
  if (!img.tree) throw new RangeError(`${img.name}: only an image built here (with its plain tree) can be converted in memory`);
  const passphrase = s.passphrase ?? randomBytes(24).toString('base64');
  const bootargs = withSvmOn(img.image.bootargs);
  const initramfs = img.image.initramfs ?? new Uint8Array(0);
  const attachments: FileInput[] = [{ name: 'rootd', data: new TextEncoder().encode(passphrase) }, ...(s.attachments ?? [])];
  const { bytes: blob, symkey } = buildEsmBlobWithKey({
    origin: { pubPem: s.ownerPub, comment: 'owner' },
    recipients: s.authorize.map((p, i) => ({ pubPem: p, comment: `machine ${i + 1}` })),
    digests: computeDigests({ kernelImage: img.image.kernel.bytes, initramfs, bootargs, rtas: img.image.rtas }),
    files: attachments,
  });
  return {
    ...img,
    image: { ...img.image, bootargs, initramfs: svmAdd(initramfs, blob, 'esmb.dtb'), disk: luksDisk(img.tree, passphrase) },
    secrets: { passphrase, symkey, attachments },
  };
}

/** An image directory (kernel ELF, initramfs, bootargs, disk.img, vm.json), read as `pef run` reads it. */
export function loadImageDir(dir: string): SystemImage {
  const r = loadRunImage(dir);
  return { name: r.name, image: r.image, memBytes: r.memBytes, vcpus: r.vcpus };
}
