// The blob's two ciphers, both from node:crypto: RSA-OAEP (SHA-256, MGF1-SHA-256, empty
// label) wraps the 32-byte master key per lockbox; AES-256-GCM with a 16-byte random IV and a
// 16-byte tag, no associated data, seals the digests and each attached file (svm-tools uses
// PyCryptodome's GCM defaults; the ultravisor decrypts with mbedTLS).
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { EsmCryptoError } from './errors.js';

export const SYMKEY_BYTES = 32;
export const GCM_IV_BYTES = 16;
export const GCM_TAG_BYTES = 16;

export function newSymkey(): Uint8Array { return new Uint8Array(randomBytes(SYMKEY_BYTES)); }

export function wrapSymkey(pub: KeyObject, symkey: Uint8Array): Uint8Array {
  return new Uint8Array(publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, symkey));
}

export function unwrapSymkey(priv: KeyObject, encrypted: Uint8Array): Uint8Array {
  let k: Buffer;
  try {
    k = privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encrypted);
  } catch {
    throw new EsmCryptoError('the lockbox does not open with this key (wrong key or a damaged lockbox)');
  }
  if (k.length !== SYMKEY_BYTES) throw new EsmCryptoError(`the lockbox holds ${k.length} bytes, not a ${SYMKEY_BYTES}-byte master key`);
  return new Uint8Array(k);
}

export interface Sealed { iv: Uint8Array; mac: Uint8Array; ciphertext: Uint8Array }

export function gcmSeal(symkey: Uint8Array, plaintext: Uint8Array): Sealed {
  const iv = randomBytes(GCM_IV_BYTES);
  const c = createCipheriv('aes-256-gcm', symkey, iv, { authTagLength: GCM_TAG_BYTES });
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  return { iv: new Uint8Array(iv), mac: new Uint8Array(c.getAuthTag()), ciphertext: new Uint8Array(ciphertext) };
}

/** Decrypt and authenticate; any failure (wrong key, changed byte) is an EsmCryptoError. */
export function gcmOpen(symkey: Uint8Array, s: Sealed, what: string): Uint8Array {
  if (symkey.length !== SYMKEY_BYTES) throw new EsmCryptoError(`${what}: master key must be ${SYMKEY_BYTES} bytes, got ${symkey.length}`);
  if (s.mac.length !== GCM_TAG_BYTES) throw new EsmCryptoError(`${what}: mac of ${s.mac.length} bytes, expected ${GCM_TAG_BYTES}`);
  if (s.iv.length < 1 || s.iv.length > 1024) throw new EsmCryptoError(`${what}: iv of ${s.iv.length} bytes`);
  try {
    const d = createDecipheriv('aes-256-gcm', symkey, s.iv, { authTagLength: GCM_TAG_BYTES });
    d.setAuthTag(s.mac);
    return new Uint8Array(Buffer.concat([d.update(s.ciphertext), d.final()]));
  } catch {
    throw new EsmCryptoError(`${what}: does not authenticate (wrong key, or the blob was changed)`);
  }
}
