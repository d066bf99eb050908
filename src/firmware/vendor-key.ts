// The model's firmware vendor key (ECDSA P-521, as POWER's secure boot uses). Like the
// development keys published with open firmware builds, it is public on purpose: anyone can
// build firmware the model's machines accept. A machine trusts whatever key hash its SEEPROM
// holds (`pef machine create --firmware-key`), so a real deployment would use its own key.

import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

const VENDOR_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBvByn8GqAs/64aw78
oQl9u/aco3rRhq8lBS+an9GWy6DX7cMmBDXHNeL7Nej97qWJ1Rtz3J0j8FfaNs7T
8DXM6OihgYkDgYYABAH158BkBbQVRfo/18tI3DPoXxYGfUrFrSja1p1pYpiw6DQG
Iq7sUcSRAoZal5gEOKQe2kXTTiDSZ9Vlgmi/Fzl94wG8yMT0io2pQ6A8uKuyggrR
MLNBDLPSGPWokWKYYedjYzDinJYLUfpy/soEmfIAmlGA1aRXN/uSSj7AHooPejda
xQ==
-----END PRIVATE KEY-----
`;

let cached: KeyObject | undefined;

export function vendorSigningKey(): KeyObject {
  return (cached ??= createPrivateKey(VENDOR_KEY_PEM));
}

/** The public key as the container carries it (SubjectPublicKeyInfo DER). */
export function publicKeyDer(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
}

/** What the SEEPROM holds: SHA-512 of the firmware-signing public key (DER). */
export function keyHash(publicDer: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(publicDer).digest());
}

export function vendorKeyHash(): Uint8Array {
  return keyHash(publicKeyDer(vendorSigningKey()));
}
