// Node and property names of the svm-tools ESM blob format (PEF.md section 10), and the order
// in which svm-tools' libfdt calls first add each name to a strings block, so that blobs
// written here lay their strings out as svm-tools' do.

export const ESM_COMPATIBLE = 'ibm,esm';
export const ESM_FILE_COMPATIBLE = 'ibm,esm-file';
export const LOCKBOXES = 'lockboxes';
export const ORIGIN_LOCKBOX = 'origin-lockbox';
export const LOCKBOX_PREFIX = 'lockbox-';
export const DIGEST = 'digest';
export const DIGESTS_FDT = 'digests-fdt';
export const FILE = 'file';
export const FILES_FDT = 'files-fdt';
export const FILES = 'files';
export const DIGESTS = 'digests';
export const PUBKEY_FINGERPRINT = 'pubkey-fingerprint';
export const GCM_ALGORITHM = 'AES256-GCM';
export const FINGERPRINT_ALGORITHM = 'SHA256';
export const DIGEST_ALGORITHM = 'SHA512';
/** The lookup index this project adds; svm-tools validates only the subnodes of /lockboxes. */
export const LOCKBOX_INDEX = 'pef,lockbox-index';

/** svm-tools `create` then `authorize`: the order its setprop calls meet each name. */
export const ESM_STRINGS = ['compatible', 'untrusted-comment', 'encrypted-symkey', 'algorithm', 'hash'];
/** svm-tools `attach`: the files tree. */
export const FILES_STRINGS = ['compatible', 'algorithm', 'untrusted-comment', 'ciphertext', 'iv', 'mac'];
/** esm_digest: the digests tree. */
export const DIGEST_STRINGS = ['compatible', 'algorithm', 'rtas', 'kernel', 'kernel-size', 'initrd', 'bootargs'];

/** Attachment names svm-tools accepts (a devicetree node name without unit address). */
export const FILE_NAME_RE = /^[A-Za-z][0-9A-Za-z,._+-]{0,30}$/;
export const LOCKBOX_NAME_RE = /^lockbox-([0-9]{1,9})$/;

/** Lockbox number from its node name: 0 for the origin, n for lockbox-n, undefined otherwise. */
export function lockboxNumber(name: string): number | undefined {
  if (name === ORIGIN_LOCKBOX) return 0;
  const m = LOCKBOX_NAME_RE.exec(name);
  return m && Number(m[1]) >= 1 ? Number(m[1]) : undefined;
}

export function lockboxName(n: number): string { return n === 0 ? ORIGIN_LOCKBOX : `${LOCKBOX_PREFIX}${n}`; }
