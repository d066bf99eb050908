// What the master key protects: the digests (an AES-256-GCM sealed DTB at
// /digest/digests-fdt) and the attached files (a DTB in /file's files-fdt property, one
// sealed node per file). Encoders lay the inner trees out as svm-tools' libfdt calls do:
// newest node first, properties in the reverse of the order they were set.
import { createHash } from 'node:crypto';
import { FdtError, fdtNode, parseFdt, writeFdt, getProperty, propertyString, propertyU32, childNode, findNode, type FdtNode } from '../fdt/index.js';
import { parseElf, loadableImage, ElfError } from '../image/elf.js';
import { RTAS_TEXT } from '../image/rtas.js';
import { guard, stringProp, bytesProp, type EsmBlob } from './blob.js';
import { gcmOpen, gcmSeal, type Sealed } from './crypto.js';
import { EsmFormatError, EsmInputError } from './errors.js';
import {
  DIGESTS, DIGESTS_FDT, DIGEST_ALGORITHM, DIGEST_STRINGS, ESM_COMPATIBLE, ESM_FILE_COMPATIBLE, FILES, FILES_FDT, FILES_STRINGS,
  FILE_NAME_RE, GCM_ALGORITHM,
} from './names.js';

export interface Digests {
  algorithm: string;
  rtas: Uint8Array;
  kernel: Uint8Array;
  kernelSize: number;
  initrd: Uint8Array;
  bootargs: Uint8Array;
}

export function sha512(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha512').update(data).digest());
}

export interface DigestInputs {
  /** The kernel ELF (vmlinux, either endianness); its objcopy -O binary image is hashed. */
  kernelElf?: Uint8Array;
  /** Or the loadable image itself, when it was made elsewhere. */
  kernelImage?: Uint8Array;
  /** The initramfs as the SVM will boot it, without the ESM archive `svm add` prepends. */
  initramfs: Uint8Array;
  /** The kernel command line, as /chosen/bootargs holds it without its NUL. */
  bootargs: string | Uint8Array;
  /** The RTAS image; the model's RTAS_TEXT when absent. */
  rtas?: Uint8Array;
}

/** SHA-512 of each boot component, as the ultravisor recomputes them at UV_ESM. */
export function computeDigests(inp: DigestInputs): Digests {
  let image = inp.kernelImage;
  if (!image) {
    if (!inp.kernelElf) throw new EsmInputError('kernel', 'give kernelElf or kernelImage');
    try { image = loadableImage(parseElf(inp.kernelElf)).image; } catch (e) {
      if (e instanceof ElfError) throw new EsmInputError('kernel', e.message);
      throw e;
    }
  }
  if (image.length > 0xffffffff) throw new EsmInputError('kernel', `loadable image of ${image.length} bytes does not fit kernel-size (u32)`);
  const bootargs = typeof inp.bootargs === 'string' ? new TextEncoder().encode(inp.bootargs) : inp.bootargs;
  return {
    algorithm: DIGEST_ALGORITHM,
    rtas: sha512(inp.rtas ?? RTAS_TEXT),
    kernel: sha512(image),
    kernelSize: image.length,
    initrd: sha512(inp.initramfs),
    bootargs: sha512(bootargs),
  };
}

/** The digests DTB svm-tools' esm_digest writes (before it is sealed). */
export function encodeDigestsFdt(d: Digests): Uint8Array {
  return writeFdt(fdtNode('', { compatible: ESM_COMPATIBLE }, [fdtNode(DIGESTS, [
    ['bootargs', d.bootargs], ['initrd', d.initrd], ['kernel-size', d.kernelSize], ['kernel', d.kernel], ['rtas', d.rtas], ['algorithm', d.algorithm],
  ])]), { strings: DIGEST_STRINGS });
}

function innerError(e: unknown, what: string): never {
  if (e instanceof FdtError) throw new EsmFormatError(e.offset, `${what}: ${e.message}`);
  throw e;
}

export function decodeDigestsFdt(bytes: Uint8Array): Digests {
  let root: FdtNode;
  try { root = parseFdt(bytes).root; } catch (e) { innerError(e, 'decrypted digests'); }
  const compatible = getProperty(root, 'compatible');
  if (!compatible || propertyString(compatible) !== ESM_COMPATIBLE) throw new EsmFormatError(0, `decrypted digests: compatible is not "${ESM_COMPATIBLE}"`);
  const n = childNode(root, DIGESTS);
  if (!n) throw new EsmFormatError(0, 'decrypted digests: no /digests node');
  const get = (name: string, len?: number) => {
    const v = getProperty(n, name);
    if (!v || (len !== undefined && v.length !== len)) throw new EsmFormatError(0, `decrypted digests: ${name} is ${v ? `${v.length} bytes, expected ${len}` : 'missing'}`);
    return v;
  };
  const algorithm = propertyString(get('algorithm'));
  if (algorithm !== DIGEST_ALGORITHM) throw new EsmFormatError(0, `decrypted digests: algorithm "${algorithm}" is not ${DIGEST_ALGORITHM}`);
  return {
    algorithm, rtas: get('rtas', 64), kernel: get('kernel', 64), kernelSize: propertyU32(get('kernel-size', 4))!,
    initrd: get('initrd', 64), bootargs: get('bootargs', 64),
  };
}

export interface SealedItem { name: string; comment: string; algorithm: string; sealed: Sealed; offset: number }

/** A sealed node's properties (digests-fdt, or a file). */
function readSealed(blob: { view: EsmBlob['view'] }, node: number): SealedItem {
  const { view } = blob;
  const algorithm = stringProp(view, node, 'algorithm', true);
  if (algorithm !== GCM_ALGORITHM) throw new EsmFormatError(node, `${view.nodeName(node)}: algorithm "${algorithm}" is not ${GCM_ALGORITHM}`);
  return {
    name: view.nodeName(node), algorithm, offset: node,
    comment: stringProp(view, node, 'untrusted-comment', false) ?? '',
    sealed: { iv: bytesProp(view, node, 'iv'), mac: bytesProp(view, node, 'mac'), ciphertext: bytesProp(view, node, 'ciphertext') },
  };
}

/** The sealed digests node, if `esm digest` has run on this blob. */
export function digestsItem(blob: EsmBlob): SealedItem | undefined {
  return guard(() => {
    if (blob.digestNode < 0) return undefined;
    const n = blob.view.subnode(blob.digestNode, DIGESTS_FDT);
    return n < 0 ? undefined : readSealed(blob, n);
  });
}

/** Open and decode the digests; EsmCryptoError on a wrong key or any change to them. */
export function decryptDigests(blob: EsmBlob, symkey: Uint8Array): Digests {
  const item = digestsItem(blob);
  if (!item) throw new EsmFormatError(blob.digestNode < 0 ? blob.view.root : blob.digestNode, `no /digest/${DIGESTS_FDT}: run esm digest`);
  return decodeDigestsFdt(gcmOpen(symkey, item.sealed, `/digest/${DIGESTS_FDT}`));
}

/** The sealed digests node svm-tools' attach_digests adds under /digest. */
export function digestsNode(symkey: Uint8Array, d: Digests, comment = ''): FdtNode {
  return sealedNode(DIGESTS_FDT, gcmSeal(symkey, encodeDigestsFdt(d)), comment);
}

export function sealedNode(name: string, s: Sealed, comment: string): FdtNode {
  return fdtNode(name, [['mac', s.mac], ['iv', s.iv], ['ciphertext', s.ciphertext], ['untrusted-comment', comment], ['algorithm', GCM_ALGORITHM]]);
}

export interface AttachedFile {
  name: string;
  comment: string;
  /** Ciphertext length, which is the file's length. */
  size: number;
  /** Where it lives: the files-fdt tree (svm-tools attach), or a node under /file (older layout). */
  source: 'files-fdt' | 'node';
}

/** The files-fdt tree, parsed; undefined when nothing was ever attached. */
export function filesTree(blob: EsmBlob): FdtNode | undefined {
  return guard(() => {
    if (blob.fileNode < 0) return undefined;
    let at = -1;
    let value: Uint8Array | undefined;
    for (const p of blob.view.properties(blob.fileNode)) if (p.name === FILES_FDT) { value = p.value; at = p.offset + 12; }
    if (!value) return undefined;
    let root: FdtNode;
    try { root = parseFdt(value).root; } catch (e) {
      if (e instanceof FdtError) throw new EsmFormatError(at + e.offset, `${FILES_FDT}: ${e.message}`);
      throw e;
    }
    const c = getProperty(root, 'compatible');
    if (!c || propertyString(c) !== ESM_FILE_COMPATIBLE) throw new EsmFormatError(at, `${FILES_FDT}: compatible is not "${ESM_FILE_COMPATIBLE}"`);
    if (!childNode(root, FILES)) throw new EsmFormatError(at, `${FILES_FDT}: no /${FILES} node`);
    return root;
  });
}

function treeSealed(n: FdtNode): SealedItem {
  const str = (k: string) => { const v = getProperty(n, k); const s = v && propertyString(v); if (s === undefined) throw new EsmFormatError(0, `${FILES_FDT}/${n.name}: ${k} missing or not a string`); return s; };
  const bin = (k: string) => { const v = getProperty(n, k); if (!v) throw new EsmFormatError(0, `${FILES_FDT}/${n.name}: no ${k}`); return v; };
  const algorithm = str('algorithm');
  if (algorithm !== GCM_ALGORITHM) throw new EsmFormatError(0, `${FILES_FDT}/${n.name}: algorithm "${algorithm}" is not ${GCM_ALGORITHM}`);
  const comment = getProperty(n, 'untrusted-comment') ? str('untrusted-comment') : '';
  return { name: n.name, comment, algorithm, sealed: { iv: bin('iv'), mac: bin('mac'), ciphertext: bin('ciphertext') }, offset: 0 };
}

function allSealedFiles(blob: EsmBlob): (SealedItem & { source: AttachedFile['source'] })[] {
  const out: (SealedItem & { source: AttachedFile['source'] })[] = [];
  const tree = filesTree(blob);
  if (tree) for (const n of findNode(tree, `/${FILES}`)!.children) out.push({ ...treeSealed(n), source: 'files-fdt' });
  guard(() => {
    if (blob.fileNode >= 0) for (const c of blob.view.children(blob.fileNode)) out.push({ ...readSealed(blob, c), source: 'node' });
  });
  return out;
}

/** Every attachment: svm-tools' display and extract miss the files-fdt ones; these do not. */
export function listFiles(blob: EsmBlob): AttachedFile[] {
  return allSealedFiles(blob).map((f) => ({ name: f.name, comment: f.comment, size: f.sealed.ciphertext.length, source: f.source }));
}

export function decryptFile(blob: EsmBlob, symkey: Uint8Array, name: string): Uint8Array {
  const f = allSealedFiles(blob).find((x) => x.name === name);
  if (!f) throw new EsmFormatError(blob.fileNode < 0 ? blob.view.root : blob.fileNode, `no attachment named "${name}"`);
  return gcmOpen(symkey, f.sealed, `attachment ${name}`);
}

export function checkFileName(name: string): void {
  if (!FILE_NAME_RE.test(name)) throw new EsmInputError(name, `attachment name must match ${FILE_NAME_RE.source}`);
}

/** A files-fdt value with `files` (newest first, as libfdt adds subnodes). */
export function encodeFilesFdt(files: FdtNode[]): Uint8Array {
  return writeFdt(fdtNode('', { compatible: ESM_FILE_COMPATIBLE }, [fdtNode(FILES, {}, files)]), { strings: FILES_STRINGS });
}
