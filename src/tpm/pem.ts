// A TPM RSA public area as the PEM file `tssreadpublic -ho 81800001 -opem` writes (an X.509
// SubjectPublicKeyInfo, 64-column base64): what an SVM owner authorizes. Its fingerprint is
// SHA-256 of the file's bytes (svm-tools' lockbox `pubkey-fingerprint`).

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { rsaPublicKey } from './crypto.js';
import type { TpmtPublic } from './types.js';

export function publicKeyObject(pub: TpmtPublic): KeyObject {
  return rsaPublicKey(pub.unique, pub.exponent);
}

export function publicPem(pub: TpmtPublic): string {
  return publicKeyObject(pub).export({ type: 'spki', format: 'pem' }) as string;
}

export function pemFingerprint(pem: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(pem).digest());
}

/** The RSA modulus and exponent of a PEM public key (to compare keys whatever their encoding). */
export function pemModulus(pem: string): { n: string; e: string } {
  const jwk = createPublicKey(pem).export({ format: 'jwk' });
  return { n: jwk.n!, e: jwk.e! };
}
