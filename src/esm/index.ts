// The ESM blob library (svm-tools format, PEF.md section 10): what the ultravisor uses to
// open a blob, and what the tools use to make and change one.
import { findLockboxEntry, newStats, type EsmBlob, type Lockbox, type LookupStats } from './blob.js';
import { decryptDigests, listFiles, type AttachedFile, type Digests } from './content.js';

export { parseEsmBlob, readLockbox, lockboxes, findLockboxEntry, newStats, type EsmBlob, type Lockbox, type LookupStats } from './blob.js';
export { EsmFormatError, EsmInputError, EsmKeyError, EsmCryptoError, EsmRefused } from './errors.js';
export {
  computeDigests, decryptDigests, encodeDigestsFdt, decodeDigestsFdt, digestsItem, listFiles, decryptFile, sha512,
  type Digests, type DigestInputs, type AttachedFile,
} from './content.js';
export {
  fingerprintOfPem, readPublicKeyPem, publicKeyObject, loadSecretKey, publicPemOf, generateRsaKeyPair, isEncryptedPem,
  type PublicKeyInfo,
} from './keys.js';
export { newSymkey, wrapSymkey, unwrapSymkey, gcmSeal, gcmOpen, SYMKEY_BYTES } from './crypto.js';
export {
  buildEsmBlob, buildEsmBlobWithKey, createEsmBlob, openWithSecretKey, authorizeRecipients, revokeRecipients, attachFile, detachFile,
  setDigests, type BuildOptions, type Recipient, type FileInput, type AuthorizeOptions,
} from './ops.js';
export { applyEsmEdit, emptyEsmBlob, type LockboxEntry, type EsmEdit } from './edit.js';
export { splitInitramfs, svmAdd, esmCpio, PEF_CPIO_DIR, type SplitInitramfs } from './initramfs.js';
export { wrapForAll } from './wrap-pool.js';
export * as names from './names.js';

/**
 * This machine's lockbox, by the SHA-256 fingerprint of its public key PEM: through the
 * lookup index in O(log n) when the blob has a consistent one, else by a scan. Pass `stats`
 * to learn how many lockboxes (and index entries) were read.
 */
export function findLockbox(blob: EsmBlob, fingerprint: Uint8Array, stats: LookupStats = newStats()): Lockbox | undefined {
  return findLockboxEntry(blob, fingerprint, stats);
}

export interface UnlockedEsm { lockbox: Lockbox; symkey: Uint8Array; digests: Digests; files: AttachedFile[] }

/**
 * The ultravisor's path in one call: find the machine's lockbox, unwrap the master key with
 * `unwrap` (the TPM, for the ultravisor), decrypt the digests. Undefined when the blob has
 * no lockbox for this key; EsmCryptoError when the digests do not authenticate.
 */
export function unlockEsmBlob(blob: EsmBlob, fingerprint: Uint8Array, unwrap: (encryptedSymkey: Uint8Array) => Uint8Array, stats?: LookupStats): UnlockedEsm | undefined {
  const lockbox = findLockbox(blob, fingerprint, stats);
  if (!lockbox) return undefined;
  const symkey = unwrap(lockbox.encryptedSymkey);
  return { lockbox, symkey, digests: decryptDigests(blob, symkey), files: listFiles(blob) };
}
