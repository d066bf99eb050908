// VM image -> SVM image (`pef svm convert`):
//  1. check everything first: the image's files, the keys, the attachments, the output name;
//  2. root disk: a plain disk is encrypted into LUKS2 (aes-xts-plain64, 512-bit key, pbkdf2
//     keyslot, 4096-byte sectors when the size allows) under a fresh passphrase; a LUKS2 disk
//     is kept, and the passphrase the user gives must open it;
//  3. bootargs get svm=on; the digests cover the kernel's loadable image, the initramfs as it
//     was, the new bootargs and RTAS;
//  4. the ESM blob: origin lockbox for the owner, one per authorized machine, the digests, and
//     the passphrase attached as "rootd";
//  5. the blob goes in front of the initramfs (svm add), and the image is written under a
//     temporary name and renamed into place only when complete.
// The disk streams in constant memory; everything else is small.

import { randomBytes, createPublicKey, type KeyObject } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { buildDirAtomic } from '../util/atomic.js';
import { InputError } from '../util/errors.js';
import {
  buildEsmBlobWithKey, computeDigests, decryptDigests, decryptFile, EsmInputError, loadSecretKey, openWithSecretKey, parseEsmBlob,
  readPublicKeyPem, svmAdd, type Digests, type PublicKeyInfo,
} from '../esm/index.js';
import { FILE_NAME_RE } from '../esm/names.js';
import { removeStaleTemps, syncFile, writeFileSynced } from './fsutil.js';
import { ESM_CPIO_NAME, IMAGE_FILES, readImageDir, readInputFile, withSvmOn, type ImageDir } from './image-dir.js';
import { encryptDiskFile, openLuks2File } from './luks2-file.js';
import { Luks2Error, type Luks2CreateOptions } from './luks2.js';
import { formatVmConfig } from './vm-config.js';

/** The attachment name svm-password-agent reads the root disk's passphrase from. */
export const ROOTD = 'rootd';
/** Largest attachment accepted: the guest reads attachments 64 bytes per ultracall. */
export const MAX_ATTACHMENT = 1024 * 1024;

export interface ConvertOptions {
  vmDir: string;
  outDir: string;
  ownerPub: string;
  ownerSec: string;
  ownerComment?: string;
  /** Public key PEM files of the machines the SVM may run on. */
  authorize: string[];
  /** Files to attach to the blob (besides rootd). */
  attach?: { name: string; path: string }[];
  /** For a disk that is already LUKS2: the passphrase that opens it. */
  diskPassphrase?: Uint8Array;
  /** Asked only when the owner's secret key is encrypted. */
  keyPassphrase?: () => Promise<string>;
  /** LUKS2 knobs (tests and benchmarks). */
  luks?: Pick<Luks2CreateOptions, 'iterations' | 'sectorSize' | 'dataOffset'>;
  onProgress?: (done: number, total: number) => void;
  /** Threads for the disk cipher, this one included (default: one per core but one). */
  jobs?: number;
  /** Called once the inputs are checked, with the number of disk bytes to process. */
  onStart?: (diskBytes: number) => void;
}

export interface ConvertResult {
  outDir: string;
  /** True when the plain disk was encrypted here; false when a LUKS2 disk was kept. */
  encryptedDisk: boolean;
  diskUuid: string;
  bootargs: string;
  lockboxes: { name: string; comment: string; fingerprint: string; file: string }[];
  attachments: string[];
  digests: { kernel: string; kernelSize: number; initrd: string; bootargs: string; rtas: string };
  blobBytes: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function keyInput<T>(fn: () => T): T {
  try { return fn(); } catch (e) {
    if (e instanceof EsmInputError) throw new InputError(e.subject, e.message.slice(e.subject.length + 2));
    throw e;
  }
}

function readPub(path: string): PublicKeyInfo {
  const bytes = readInputFile(path, 'public key');
  return keyInput(() => readPublicKeyPem(bytes, path));
}

function sameKey(sec: KeyObject, pub: PublicKeyInfo): boolean {
  const der = createPublicKey(sec).export({ type: 'pkcs1', format: 'der' });
  return Buffer.compare(der, Buffer.from(pub.pkcs1)) === 0;
}

function checkOutput(outDir: string): void {
  let exists = true;
  try { statSync(outDir); } catch { exists = false; }
  if (exists) throw new InputError(outDir, 'already exists (the output directory must be new)');
  const parent = dirname(resolve(outDir));
  let st;
  try { st = statSync(parent); } catch { throw new InputError(outDir, `parent directory ${parent} does not exist`); }
  if (!st.isDirectory()) throw new InputError(outDir, `parent ${parent} is not a directory`);
}

interface Checked {
  image: ImageDir;
  owner: PublicKeyInfo;
  ownerKey: KeyObject;
  recipients: { info: PublicKeyInfo; path: string; comment: string }[];
  files: { name: string; data: Uint8Array; comment: string }[];
  passphrase: Uint8Array;
  generated: boolean;
}

async function checkInputs(o: ConvertOptions): Promise<Checked> {
  checkOutput(o.outDir);
  const image = readImageDir(o.vmDir);
  if (image.initramfs.esm) throw new InputError(image.initramfs.path, `already carries an ESM blob (${image.initramfs.esm.name}): this is an SVM image`);
  const owner = readPub(o.ownerPub);
  const ownerKey = await keyInput(() => loadSecretKey(readInputFile(o.ownerSec, 'secret key'), o.ownerSec, o.keyPassphrase ?? (async () => {
    throw new InputError(o.ownerSec, 'is encrypted and no passphrase was given');
  })));
  if (!sameKey(ownerKey, owner)) throw new InputError(o.ownerSec, `is not the secret key of ${o.ownerPub}`);
  if (o.authorize.length === 0) throw new InputError('--authorize', 'give at least one machine public key the SVM may run on');
  const seen = new Map<string, string>([[hex(owner.fingerprint), o.ownerPub]]);
  const recipients = o.authorize.map((path) => {
    const info = readPub(path);
    const prev = seen.get(hex(info.fingerprint));
    if (prev) throw new InputError(path, `is the same key file as ${prev}`);
    seen.set(hex(info.fingerprint), path);
    return { info, path, comment: basename(path).replace(/\.pem$/i, '') };
  });
  const names = new Set<string>([ROOTD]);
  const files = (o.attach ?? []).map(({ name, path }) => {
    if (name === ROOTD) throw new InputError(`--attach ${name}=${path}`, `"${ROOTD}" is the root disk's passphrase, which convert attaches itself`);
    if (!FILE_NAME_RE.test(name)) throw new InputError(`--attach ${name}=${path}`, `attachment name must match ${FILE_NAME_RE.source}`);
    if (names.has(name)) throw new InputError(`--attach ${name}=${path}`, `"${name}" is attached twice`);
    names.add(name);
    const data = readInputFile(path, 'attachment');
    if (data.length > MAX_ATTACHMENT) throw new InputError(path, `is ${data.length} bytes; attachments are at most ${MAX_ATTACHMENT}`);
    return { name, data, comment: basename(path) };
  });
  let passphrase: Uint8Array;
  let generated = false;
  if (image.disk.kind === 'luks2') {
    if (!o.diskPassphrase) throw new InputError(image.disk.path, 'is LUKS2-encrypted already: give the passphrase that opens it (--disk-passphrase-file FILE or PEF_DISK_PASSPHRASE)');
    try {
      openLuks2File(image.disk.path, o.diskPassphrase).close();
    } catch (e) {
      if (e instanceof Luks2Error) throw new InputError(image.disk.path, e.code === 'wrong-passphrase' ? 'the passphrase given opens no keyslot of this LUKS2 disk' : e.detail);
      throw e;
    }
    passphrase = o.diskPassphrase;
  } else {
    // 32 random bytes, spelled as 64 hex digits: every password agent passes text through unchanged.
    passphrase = new TextEncoder().encode(randomBytes(32).toString('hex'));
    generated = true;
  }
  return { image, owner, ownerKey, recipients, files, passphrase, generated };
}

function digestHex(d: Digests): ConvertResult['digests'] {
  return { kernel: hex(d.kernel), kernelSize: d.kernelSize, initrd: hex(d.initrd), bootargs: hex(d.bootargs), rtas: hex(d.rtas) };
}

export async function convertToSvm(o: ConvertOptions): Promise<ConvertResult> {
  const c = await checkInputs(o);
  const { image } = c;
  const bootargs = withSvmOn(image.bootargs);
  const digests = computeDigests({ kernelElf: image.kernel.bytes, initramfs: image.initramfs.bytes, bootargs });
  const files = [{ name: ROOTD, data: c.passphrase, comment: 'root disk passphrase (LUKS2)' }, ...c.files];
  const { bytes: blob } = keyInput(() => buildEsmBlobWithKey({
    origin: { pubPem: c.owner.pem, comment: o.ownerComment ?? 'owner', subject: o.ownerPub },
    recipients: c.recipients.map((r) => ({ pubPem: r.info.pem, comment: r.comment, subject: r.path })),
    digests,
    files,
  }));
  // Check the blob as the owner would read it before writing anything.
  const parsed = parseEsmBlob(blob);
  const { symkey } = openWithSecretKey(parsed, c.ownerKey, o.ownerSec);
  if (hex(decryptDigests(parsed, symkey).kernel) !== hex(digests.kernel) || hex(decryptFile(parsed, symkey, ROOTD)) !== hex(c.passphrase)) {
    throw new Error('the ESM blob just built does not read back');
  }
  const initramfs = svmAdd(image.initramfs.bytes, blob, ESM_CPIO_NAME);
  const diskBytes = image.disk.size;
  o.onStart?.(diskBytes);
  removeStaleTemps(o.outDir);
  let diskUuid = image.disk.kind === 'luks2' ? image.disk.header.uuid : '';
  await buildDirAtomic(o.outDir, async (tmp) => {
    const out = (k: keyof typeof IMAGE_FILES) => join(tmp, IMAGE_FILES[k]);
    if (image.disk.kind === 'plain') {
      // 4096-byte sectors (as cryptsetup luksFormat --sector-size 4096; dm-crypt since Linux
      // 4.12) whenever the disk is a whole number of them: an eighth of the per-sector work.
      const sectorSize = diskBytes % 4096 === 0 ? 4096 : 512;
      const created = await encryptDiskFile(image.disk.path, out('disk'), { passphrase: c.passphrase, sectorSize, ...o.luks, onProgress: o.onProgress, jobs: o.jobs });
      diskUuid = created.header.uuid;
    } else {
      await copyFile(image.disk.path, out('disk'));
      await syncFile(out('disk'));
      o.onProgress?.(diskBytes, diskBytes);
    }
    await writeFileSynced(out('kernel'), image.kernel.bytes);
    await writeFileSynced(out('initramfs'), initramfs);
    await writeFileSynced(out('bootargs'), bootargs);
    await writeFileSynced(out('vm'), formatVmConfig(image.config));
    await writeFileSynced(out('esm'), blob);
  });
  return {
    outDir: o.outDir,
    encryptedDisk: c.generated,
    diskUuid,
    bootargs,
    lockboxes: [
      { name: 'origin-lockbox', comment: o.ownerComment ?? 'owner', fingerprint: hex(c.owner.fingerprint), file: o.ownerPub },
      ...c.recipients.map((r, i) => ({ name: `lockbox-${i + 1}`, comment: r.comment, fingerprint: hex(r.info.fingerprint), file: r.path })),
    ],
    attachments: files.map((f) => f.name),
    digests: digestHex(digests),
    blobBytes: blob.length,
  };
}
