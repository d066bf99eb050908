// What is inside an image (`pef svm inspect`): the VM's settings, the kernel, the ESM blob's
// lockboxes (fingerprints and comments) and attachments, the digests of the files as they are
// now (and, given an authorized secret key, whether the sealed digests match them), and a
// summary of the root disk's LUKS2 header.

import type { KeyObject } from 'node:crypto';
import { computeDigests, decryptDigests, listFiles, lockboxes, openWithSecretKey, type Digests } from '../esm/index.js';
import { readImageDir, readInputFile, IMAGE_FILES, type DiskInfo } from './image-dir.js';
import type { Luks2Header } from './luks2-header.js';
import type { Luks2Pbkdf2 } from './luks2-metadata.js';
import { join } from 'node:path';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface Luks2Summary {
  version: 2;
  uuid: string;
  label: string;
  epoch: number;
  headerSize: number;
  keyslotsSize: number;
  headerCopies: { primary: string; secondary: string; used: 'primary' | 'secondary' };
  segment: { offset: number; size: number | 'dynamic'; cipher: string; sectorSize: number; ivTweak: number };
  keyslots: { id: string; type: string; keyBits: number; cipher: string; kdf: string; hash?: string; iterations?: number; stripes: number; afHash: string; areaOffset: number; areaSize: number }[];
  digests: { id: string; type: string; hash: string; iterations: number; keyslots: string[]; segments: string[] }[];
  tokens: number;
}

export function luks2Summary(h: Luks2Header): Luks2Summary {
  const m = h.metadata;
  const seg = Object.entries(m.segments).sort(([a], [b]) => Number(a) - Number(b))[0]![1];
  const state = (s: Luks2Header['copies']['primary']) => (s.ok ? `ok (epoch ${s.seqid})` : `damaged: ${s.problem}`);
  return {
    version: 2, uuid: h.uuid, label: h.label, epoch: h.seqid, headerSize: h.hdrSize, keyslotsSize: m.config.keyslotsSize,
    headerCopies: { primary: state(h.copies.primary), secondary: state(h.copies.secondary), used: h.used },
    segment: { offset: seg.offset, size: seg.size, cipher: seg.encryption, sectorSize: seg.sectorSize, ivTweak: seg.ivTweak },
    keyslots: Object.entries(m.keyslots).map(([id, k]) => ({
      id, type: k.type, keyBits: k.keySize * 8, cipher: k.area.encryption, kdf: k.kdf.type,
      ...(k.kdf.type === 'pbkdf2' ? { hash: (k.kdf as Luks2Pbkdf2).hash, iterations: (k.kdf as Luks2Pbkdf2).iterations } : {}),
      stripes: k.af.stripes, afHash: k.af.hash, areaOffset: k.area.offset, areaSize: k.area.size,
    })),
    digests: Object.entries(m.digests).map(([id, d]) => ({ id, type: d.type, hash: d.hash, iterations: d.iterations, keyslots: d.keyslots, segments: d.segments })),
    tokens: Object.keys(m.tokens).length,
  };
}

export type DigestCheck = 'match' | 'MISMATCH';

export interface ImageReport {
  dir: string;
  kind: 'svm' | 'vm';
  vm: { name: string; memory: number; vcpus: number };
  bootargs: string;
  svmOn: boolean;
  kernel: { fileBytes: number; imageBytes: number; entry: string; loadAddress: string; model: Record<string, unknown> | null };
  initramfs: { bytes: number; esm: { path: string; blobBytes: number; esmBlobFile: 'same' | 'differs' | 'absent' } | null };
  lockboxes: { name: string; comment: string; fingerprint: string }[];
  attachments: { name: string; comment: string; bytes: number }[];
  /** SHA-512 of the files as they are now, as the ultravisor will compute them. */
  digests: { kernel: string; kernelSize: number; initrd: string; bootargs: string; rtas: string };
  /** The sealed digests compared with those, when a secret key that opens the blob was given. */
  sealedDigests: { opened: false; present: boolean } | { opened: true; lockbox: string; checks: Record<'kernel' | 'kernelSize' | 'initrd' | 'bootargs' | 'rtas', DigestCheck> };
  disk: { bytes: number; kind: 'plain'; entries: number } | { bytes: number; kind: 'luks2'; dataOffset: number; dataBytes: number; luks2: Luks2Summary };
}

function diskReport(d: DiskInfo): ImageReport['disk'] {
  if (d.kind === 'plain') return { bytes: d.size, kind: 'plain', entries: d.entries };
  return { bytes: d.size, kind: 'luks2', dataOffset: d.dataOffset, dataBytes: d.dataSize, luks2: luks2Summary(d.header) };
}

export function inspectImage(dir: string, secretKey?: { key: KeyObject; subject: string }): ImageReport {
  const img = readImageDir(dir);
  const esm = img.initramfs.esm;
  const initrd = esm ? esm.rest : img.initramfs.bytes;
  const now = computeDigests({ kernelElf: img.kernel.bytes, initramfs: initrd, bootargs: img.bootargs });
  let esmBlobFile: 'same' | 'differs' | 'absent' = 'absent';
  if (esm) {
    try { esmBlobFile = Buffer.compare(Buffer.from(readInputFile(join(dir, IMAGE_FILES.esm), 'blob')), Buffer.from(esm.blobBytes)) === 0 ? 'same' : 'differs'; } catch { esmBlobFile = 'absent'; }
  }
  let sealed: ImageReport['sealedDigests'] = { opened: false, present: !!esm && esm.blob.digestNode >= 0 };
  if (esm && secretKey) {
    const { symkey, lockbox } = openWithSecretKey(esm.blob, secretKey.key, secretKey.subject);
    const d: Digests = decryptDigests(esm.blob, symkey);
    const eq = (a: Uint8Array, b: Uint8Array): DigestCheck => (hex(a) === hex(b) ? 'match' : 'MISMATCH');
    sealed = {
      opened: true, lockbox: lockbox.name,
      checks: { kernel: eq(d.kernel, now.kernel), kernelSize: d.kernelSize === now.kernelSize ? 'match' : 'MISMATCH', initrd: eq(d.initrd, now.initrd), bootargs: eq(d.bootargs, now.bootargs), rtas: eq(d.rtas, now.rtas) },
    };
  }
  return {
    dir,
    kind: img.svm ? 'svm' : 'vm',
    vm: { name: img.config.name, memory: img.config.memory, vcpus: img.config.vcpus },
    bootargs: img.bootargs,
    svmOn: img.bootargs.split(/\s+/).includes('svm=on'),
    kernel: {
      fileBytes: img.kernel.bytes.length, imageBytes: img.kernel.imageSize,
      entry: `0x${img.kernel.entry.toString(16)}`, loadAddress: `0x${img.kernel.loadAddress.toString(16)}`, model: img.kernel.model ?? null,
    },
    initramfs: { bytes: img.initramfs.bytes.length, esm: esm ? { path: esm.name, blobBytes: esm.blobBytes.length, esmBlobFile } : null },
    lockboxes: esm ? [...lockboxes(esm.blob)].map((l) => ({ name: l.name, comment: l.comment, fingerprint: hex(l.fingerprint) })) : [],
    attachments: esm ? listFiles(esm.blob).map((f) => ({ name: f.name, comment: f.comment, bytes: f.size })) : [],
    digests: { kernel: hex(now.kernel), kernelSize: now.kernelSize, initrd: hex(now.initrd), bootargs: hex(now.bootargs), rtas: hex(now.rtas) },
    sealedDigests: sealed,
    disk: diskReport(img.disk),
  };
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;

/** The report as text for a terminal. */
export function formatImageReport(r: ImageReport): string {
  const L: string[] = [];
  L.push(`${r.kind === 'svm' ? 'SVM' : 'VM'} image ${r.dir}`);
  L.push(`  vm.json     name ${r.vm.name}, memory ${mib(r.vm.memory)}, ${r.vm.vcpus} vCPU${r.vm.vcpus === 1 ? '' : 's'}`);
  L.push(`  bootargs    ${r.bootargs}${r.svmOn ? '' : '   (no svm=on: boots as a normal VM)'}`);
  L.push(`  kernel      ${r.kernel.fileBytes} bytes, loadable image ${r.kernel.imageBytes} bytes at ${r.kernel.loadAddress}, entry ${r.kernel.entry}${r.kernel.model ? `, model kernel ${JSON.stringify(r.kernel.model)}` : ''}`);
  if (r.initramfs.esm) L.push(`  initramfs   ${r.initramfs.bytes} bytes, ESM blob ${r.initramfs.esm.path} (${r.initramfs.esm.blobBytes} bytes; esm.blob ${r.initramfs.esm.esmBlobFile})`);
  else L.push(`  initramfs   ${r.initramfs.bytes} bytes, no ESM blob`);
  if (r.lockboxes.length) {
    L.push(`  authorized for ${r.lockboxes.length} key${r.lockboxes.length === 1 ? '' : 's'} (SHA-256 of the public key PEM):`);
    for (const l of r.lockboxes) L.push(`    ${l.name.padEnd(15)} ${l.fingerprint}  ${l.comment}`);
  }
  if (r.attachments.length) L.push(`  attachments ${r.attachments.map((a) => `${a.name} (${a.bytes} bytes${a.comment ? `, ${a.comment}` : ''})`).join(', ')}`);
  L.push('  digests (SHA-512 of the files as they are now):');
  L.push(`    kernel    ${r.digests.kernel}  (${r.digests.kernelSize} bytes)`);
  L.push(`    initrd    ${r.digests.initrd}`);
  L.push(`    bootargs  ${r.digests.bootargs}`);
  L.push(`    rtas      ${r.digests.rtas}`);
  if (r.sealedDigests.opened) {
    const c = r.sealedDigests.checks;
    L.push(`  sealed digests (opened through ${r.sealedDigests.lockbox}): ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  } else if (r.initramfs.esm) {
    L.push(`  sealed digests: ${r.sealedDigests.present ? 'present (give --key with an authorized secret key to compare)' : 'none in the blob'}`);
  }
  const d = r.disk;
  if (d.kind === 'plain') L.push(`  disk.img    ${mib(d.bytes)}, plain, ustar file tree of ${d.entries} entries`);
  else {
    const s = d.luks2;
    L.push(`  disk.img    ${mib(d.bytes)}, LUKS2 ${s.uuid}${s.label ? ` "${s.label}"` : ''}, epoch ${s.epoch}`);
    L.push(`    header    ${s.headerSize} bytes x 2 (primary ${s.headerCopies.primary}; secondary ${s.headerCopies.secondary}), keyslots area ${s.keyslotsSize} bytes`);
    L.push(`    data      offset ${s.segment.offset}, ${d.dataBytes} bytes, ${s.segment.cipher}, ${s.segment.sectorSize}-byte sectors`);
    for (const k of s.keyslots) L.push(`    keyslot ${k.id} ${k.type}, ${k.keyBits}-bit key, ${k.cipher}, ${k.kdf}${k.hash ? `/${k.hash}` : ''}${k.iterations ? ` ${k.iterations} iterations` : ''}, AF ${k.stripes} stripes ${k.afHash}, area ${k.areaOffset}+${k.areaSize}`);
    for (const g of s.digests) L.push(`    digest ${g.id}  ${g.type}/${g.hash} ${g.iterations} iterations, keyslots ${g.keyslots.join(',')}, segments ${g.segments.join(',')}`);
  }
  return L.join('\n') + '\n';
}
