// The blob operations behind `pef esm` and the image tools: create, open with a secret key,
// authorize (one key or a million), revoke, attach, detach, digest, and a one-call builder.
import type { KeyObject } from 'node:crypto';
import { findLockboxEntry, lockboxes, newStats, parseEsmBlob, type EsmBlob, type Lockbox } from './blob.js';
import { checkFileName, computeDigests, digestsNode, encodeFilesFdt, filesTree, sealedNode, type DigestInputs, type Digests } from './content.js';
import { gcmSeal, newSymkey, unwrapSymkey, wrapSymkey } from './crypto.js';
import { applyEsmEdit, emptyEsmBlob, lockboxTable, type LockboxEntry } from './edit.js';
import { EsmCryptoError, EsmInputError, EsmRefused } from './errors.js';
import { candidateFingerprints, publicKeyObject, readPublicKeyPem, type PublicKeyInfo } from './keys.js';
import { FILES } from './names.js';
import { wrapForAll, type WrapOptions } from './wrap-pool.js';
import { findNode, type FdtNode } from '../fdt/index.js';

export interface Recipient {
  /** The public key PEM file's bytes. */
  pubPem: Uint8Array;
  comment?: string;
  /** Names the key in errors (its path). */
  subject?: string;
}

export interface FileInput { name: string; data: Uint8Array; comment?: string }

function checkComment(c: string, subject: string): void {
  if (c.includes('\n')) throw new EsmInputError(subject, 'a comment cannot contain a newline');
}

/** How many lockboxes a secret key is tried against when no fingerprint matches. */
const TRIAL_LIMIT = 64;

/**
 * The master key, unwrapped with an authorized secret key: the lockbox is found by the
 * fingerprint of the key's public PEM (as svm-tools derives it); failing that (a recipient
 * PEM spelled differently), by trying the first lockboxes with the key itself.
 */
export function openWithSecretKey(blob: EsmBlob, key: KeyObject, subject = 'secret key'): { symkey: Uint8Array; lockbox: Lockbox } {
  for (const fp of candidateFingerprints(key)) {
    const lb = findLockboxEntry(blob, fp);
    if (lb) return { symkey: unwrapSymkey(key, lb.encryptedSymkey), lockbox: lb };
  }
  let tried = 0;
  for (const lb of lockboxes(blob)) {
    if (tried++ >= TRIAL_LIMIT) break;
    try { return { symkey: unwrapSymkey(key, lb.encryptedSymkey), lockbox: lb }; } catch (e) { if (!(e instanceof EsmCryptoError)) throw e; }
  }
  throw new EsmRefused(`${subject}: not an authorized key for this blob`);
}

export interface CreateOptions { comment?: string; symkey?: Uint8Array; index?: boolean }

/** A new blob with its origin lockbox (svm-tools `esm create`). */
export function createEsmBlob(originPem: Uint8Array, opts: CreateOptions = {}): { bytes: Uint8Array; symkey: Uint8Array } {
  const info = readPublicKeyPem(originPem, 'origin public key');
  const symkey = opts.symkey ?? newSymkey();
  const comment = opts.comment ?? '';
  checkComment(comment, 'origin comment');
  const empty = parseEsmBlob(emptyEsmBlob());
  const bytes = applyEsmEdit(empty, {
    addLockboxes: [{ number: 0, comment, fingerprint: info.fingerprint, encryptedSymkey: wrapSymkey(publicKeyObject(info, 'origin public key'), symkey) }],
    index: opts.index,
  });
  return { bytes, symkey };
}

export interface AuthorizeOptions extends WrapOptions {
  /** Leave out keys that are already authorized instead of refusing. */
  skipAuthorized?: boolean;
  index?: boolean;
  /** Called once the keys are read, with how many will be encrypted. */
  onStart?: (count: number) => void;
}

export interface AuthorizeResult { bytes: Uint8Array; added: { name: string; fingerprint: Uint8Array; subject: string }[]; skipped: string[] }

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Authorize many recipients at once: each gets lockbox-(max+1), -(max+2), ... holding the
 * master key under its public key, encrypted on every core. The new lockboxes go first,
 * highest number first, as the same keys authorized one by one with svm-tools would be.
 */
export async function authorizeRecipients(blob: EsmBlob, symkey: Uint8Array, recipients: readonly Recipient[], opts: AuthorizeOptions = {}): Promise<AuthorizeResult> {
  const table = lockboxTable(blob, true);
  const have = new Set(table.fingerprints!.map(hex));
  let max = 0;
  for (const n of table.numbers!) if (n > max) max = n;
  const infos: (PublicKeyInfo & { subject: string; comment: string })[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  // Keys are read as the workers ask for them, so reading overlaps encrypting.
  function* pkcs1s(): Generator<Uint8Array> {
    for (let i = 0; i < recipients.length; i++) {
      const r = recipients[i]!;
      const subject = r.subject ?? `recipient ${i + 1}`;
      const comment = r.comment ?? '';
      checkComment(comment, subject);
      const info = readPublicKeyPem(r.pubPem, subject);
      const h = hex(info.fingerprint);
      if (have.has(h) || seen.has(h)) {
        if (opts.skipAuthorized) { skipped.push(subject); continue; }
        throw new EsmRefused(`${subject}: already authorized`);
      }
      seen.add(h);
      infos.push({ ...info, subject, comment });
      yield info.pkcs1;
    }
  }
  if (max + recipients.length > 999_999_999) throw new EsmRefused('lockbox numbers would pass 999999999');
  opts.onStart?.(recipients.length);
  const wrapped = await wrapForAll(symkey, pkcs1s(), { ...opts, subject: (i) => infos[i]!.subject });
  // Highest number first: the i-th key gets max+1+i and the list is reversed.
  const adds: LockboxEntry[] = infos.map((x, i) => ({ number: max + 1 + i, comment: x.comment, fingerprint: x.fingerprint, encryptedSymkey: wrapped[i]! })).reverse();
  const bytes = applyEsmEdit(blob, { addLockboxes: adds, index: opts.index }, table);
  return { bytes, added: infos.map((x, i) => ({ name: `lockbox-${max + 1 + i}`, fingerprint: x.fingerprint, subject: x.subject })), skipped };
}

/** Remove the lockboxes of these public keys; the origin can never be revoked. */
export function revokeRecipients(blob: EsmBlob, pubPems: readonly { pem: Uint8Array; subject: string }[], opts: { index?: boolean } = {}): { bytes: Uint8Array; removed: string[] } {
  const offsets: number[] = [];
  const removed: string[] = [];
  for (const { pem, subject } of pubPems) {
    const fp = readPublicKeyPem(pem, subject).fingerprint;
    const lb = findLockboxEntry(blob, fp, newStats());
    if (!lb) throw new EsmRefused(`${subject}: cannot revoke unauthorized key`);
    if (lb.number === 0) throw new EsmRefused(`${subject}: cannot revoke origin key`);
    if (!offsets.includes(lb.offset)) { offsets.push(lb.offset); removed.push(lb.name); }
  }
  return { bytes: applyEsmEdit(blob, { removeLockboxes: offsets, index: opts.index }), removed };
}

/** Seal a file into files-fdt as svm-tools' attach does (the newest attachment first). */
export function attachFile(blob: EsmBlob, symkey: Uint8Array, file: FileInput, opts: { index?: boolean } = {}): Uint8Array {
  checkFileName(file.name);
  const comment = file.comment ?? '';
  checkComment(comment, file.name);
  const tree = filesTree(blob);
  const files: FdtNode[] = tree ? [...findNode(tree, `/${FILES}`)!.children] : [];
  if (files.some((f) => f.name === file.name)) throw new EsmRefused(`${file.name}: already attached (detach it first)`);
  const legacy = blob.fileNode >= 0 && [...blob.view.children(blob.fileNode)].some((o) => blob.view.nodeName(o) === file.name);
  if (legacy) throw new EsmRefused(`${file.name}: already attached (detach it first)`);
  const node = sealedNode(file.name, gcmSeal(symkey, file.data), comment);
  return applyEsmEdit(blob, { filesFdt: encodeFilesFdt([node, ...files]), index: opts.index });
}

/** Remove an attachment, wherever it is kept. */
export function detachFile(blob: EsmBlob, name: string, opts: { index?: boolean } = {}): Uint8Array {
  const tree = filesTree(blob);
  const files = tree ? findNode(tree, `/${FILES}`)!.children : [];
  const kept = files.filter((f) => f.name !== name);
  const legacy = blob.fileNode >= 0 ? [...blob.view.children(blob.fileNode)].filter((o) => blob.view.nodeName(o) === name) : [];
  if (kept.length === files.length && legacy.length === 0) throw new EsmRefused(`${name}: not attached`);
  return applyEsmEdit(blob, {
    ...(kept.length !== files.length ? { filesFdt: encodeFilesFdt(kept) } : {}),
    removeFileNodes: legacy, index: opts.index,
  });
}

/** Seal the digests into /digest/digests-fdt, replacing any there. */
export function setDigests(blob: EsmBlob, symkey: Uint8Array, digests: Digests, comment = '', opts: { index?: boolean } = {}): Uint8Array {
  checkComment(comment, 'digest comment');
  return applyEsmEdit(blob, { digests: digestsNode(symkey, digests, comment), index: opts.index });
}

export interface BuildOptions {
  origin: Recipient;
  recipients?: readonly Recipient[];
  /** The digests, or what to compute them from; none leaves /digest empty. */
  digests?: Digests | DigestInputs;
  digestComment?: string;
  files?: readonly FileInput[];
  symkey?: Uint8Array;
  index?: boolean;
}

function isDigests(d: Digests | DigestInputs): d is Digests {
  return 'kernelSize' in d;
}

/**
 * A complete blob in one call, in memory and synchronously (the recipients are encrypted on
 * this thread: use authorizeRecipients for thousands). Returns the blob's bytes.
 */
export function buildEsmBlob(opts: BuildOptions): Uint8Array {
  return buildEsmBlobWithKey(opts).bytes;
}

export function buildEsmBlobWithKey(opts: BuildOptions): { bytes: Uint8Array; symkey: Uint8Array } {
  const { bytes: created, symkey } = createEsmBlob(opts.origin.pubPem, { comment: opts.origin.comment, symkey: opts.symkey, index: opts.index });
  let blob = parseEsmBlob(created);
  const recips = opts.recipients ?? [];
  if (recips.length) {
    const table = lockboxTable(blob, true);
    const seen = new Set(table.fingerprints!.map(hex));
    const adds: LockboxEntry[] = recips.map((r, i) => {
      const subject = r.subject ?? `recipient ${i + 1}`;
      const info = readPublicKeyPem(r.pubPem, subject);
      if (seen.has(hex(info.fingerprint))) throw new EsmRefused(`${subject}: already authorized`);
      seen.add(hex(info.fingerprint));
      checkComment(r.comment ?? '', subject);
      return { number: i + 1, comment: r.comment ?? '', fingerprint: info.fingerprint, encryptedSymkey: wrapSymkey(publicKeyObject(info, subject), symkey) };
    }).reverse();
    blob = parseEsmBlob(applyEsmEdit(blob, { addLockboxes: adds, index: opts.index }, table));
  }
  if (opts.digests) {
    const d = isDigests(opts.digests) ? opts.digests : computeDigests(opts.digests);
    blob = parseEsmBlob(setDigests(blob, symkey, d, opts.digestComment ?? '', { index: opts.index }));
  }
  for (const f of opts.files ?? []) blob = parseEsmBlob(attachFile(blob, symkey, f, { index: opts.index }));
  return { bytes: blob.bytes, symkey };
}
