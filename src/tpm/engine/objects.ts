// Objects inside the engine: an RSA public area, its sensitive area (absent when only the
// public part was loaded), the hierarchy it belongs to, and node:crypto keys built once and
// kept (re-parsing a key costs more than the private operation itself). Also the blob formats:
// a child's private area wrapped under its parent, and the duplication blob of Part 1 section 23.

import { randomBytes, type KeyObject } from 'node:crypto';
import { ALG, OA } from '../constants.js';
import {
  aesCfbDecrypt, aesCfbEncrypt, digestSize, generateRsaKey, hash, hmac, kdfa,
  rsaPrivateKeyFromPrime, rsaPublicKey,
} from '../crypto.js';
import { concat, equalBytes, Reader, u32be, Writer } from '../marshal.js';
import {
  marshalPublic, marshalSensitive2B, objectName, unmarshalSensitive2B, type Sensitive, type TpmtPublic,
} from '../types.js';

export class TpmObject {
  readonly publicBytes: Uint8Array;
  readonly name: Uint8Array;
  #pubKey: KeyObject | undefined;
  #privKey: KeyObject | undefined | null;

  constructor(
    readonly pub: TpmtPublic,
    readonly hierarchy: number,
    readonly qualifiedName: Uint8Array,
    readonly sensitive: Sensitive | undefined,
    publicBytes?: Uint8Array,
  ) {
    this.publicBytes = publicBytes ?? marshalPublic(pub);
    this.name = objectName(pub.nameAlg, this.publicBytes);
  }

  get attrs(): number { return this.pub.objectAttributes; }
  has(bit: number): boolean { return (this.pub.objectAttributes & bit) !== 0; }
  get publicOnly(): boolean { return this.sensitive === undefined; }
  /** A storage parent: restricted decryption key with a symmetric algorithm. */
  get isStorageKey(): boolean { return this.has(OA.restricted) && this.has(OA.decrypt) && !this.has(OA.sign) && this.pub.symmetric.alg !== ALG.NULL; }
  get authValue(): Uint8Array { return this.sensitive?.authValue ?? new Uint8Array(0); }

  get publicKey(): KeyObject {
    return (this.#pubKey ??= rsaPublicKey(this.pub.unique, this.pub.exponent));
  }
  /** The private key, or undefined if this is a public-only object or the prime does not fit. */
  get privateKey(): KeyObject | undefined {
    if (this.#privKey === undefined) {
      this.#privKey = this.sensitive ? (rsaPrivateKeyFromPrime(this.pub.unique, this.pub.exponent, this.sensitive.sensitive) ?? null) : null;
    }
    return this.#privKey ?? undefined;
  }
  /** Hand over an already-built private key (fresh keys), so it is not rebuilt from the prime. */
  adoptKeys(priv: KeyObject): void { this.#privKey = priv; }
}

/** QN = nameAlg || H(parentQN || name) (a primary's parent QN is its hierarchy handle). */
export function qualifiedName(nameAlg: number, parentQn: Uint8Array, name: Uint8Array): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, nameAlg);
  return concat(b, hash(nameAlg, parentQn, name));
}

export const hierarchyQn = (h: number): Uint8Array => u32be(h);

/** A fresh RSA key pair in the TPM's representation. */
export function generateRsa(keyBits: number, exponent: number): { modulus: Uint8Array; prime: Uint8Array; priv: KeyObject } {
  return generateRsaKey(keyBits, exponent);
}

export const randomSeed = (nameAlg: number): Uint8Array => new Uint8Array(randomBytes(digestSize(nameAlg)));

// ---- a child's private area under its parent -----------------------------------------

function storageKeys(parent: TpmObject, name: Uint8Array, seed: Uint8Array): { sym: Uint8Array; hmacKey: Uint8Array } {
  const alg = parent.pub.nameAlg;
  return {
    sym: kdfa(alg, seed, 'STORAGE', name, new Uint8Array(0), parent.pub.symmetric.keyBits),
    hmacKey: kdfa(alg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), digestSize(alg) * 8),
  };
}

/** TPM2B_PRIVATE content: TPM2B(integrity) || TPM2B(iv) || AES-CFB(TPM2B_SENSITIVE). */
export function wrapPrivate(parent: TpmObject, name: Uint8Array, s: Sensitive): Uint8Array {
  const { sym, hmacKey } = storageKeys(parent, name, parent.sensitive!.seedValue);
  const iv = new Uint8Array(randomBytes(16));
  const body = new Writer(300).tpm2b(iv).bytes(aesCfbEncrypt(sym, iv, marshalSensitive2B(s))).finish();
  const integrity = hmac(parent.pub.nameAlg, hmacKey, body, name);
  return new Writer(body.length + 40).tpm2b(integrity).bytes(body).finish();
}

export type UnwrapResult = { ok: true; sensitive: Sensitive } | { ok: false; why: 'integrity' | 'format' };

export function unwrapPrivate(parent: TpmObject, name: Uint8Array, blob: Uint8Array): UnwrapResult {
  try {
    const r = new Reader(blob);
    const integrity = r.tpm2b('integrity', 64);
    const body = blob.subarray(r.offset);
    const { sym, hmacKey } = storageKeys(parent, name, parent.sensitive!.seedValue);
    if (!equalBytes(integrity, hmac(parent.pub.nameAlg, hmacKey, body, name))) return { ok: false, why: 'integrity' };
    const iv = r.tpm2b('iv', 16);
    const plain = aesCfbDecrypt(sym, iv, r.rest());
    const pr = new Reader(plain);
    const sensitive = unmarshalSensitive2B(pr);
    pr.done();
    return { ok: true, sensitive };
  } catch {
    return { ok: false, why: 'format' };
  }
}

// ---- duplication (Part 1, 23.3): inner wrapper with a symmetric key, outer with a seed --

const ZERO_IV = new Uint8Array(16);

/** The inner wrapper: AES-CFB(key, IV 0, TPM2B(H(sensitive2B || name)) || sensitive2B). */
export function innerWrap(nameAlg: number, name: Uint8Array, s2b: Uint8Array, key: Uint8Array): Uint8Array {
  const integrity = hash(nameAlg, s2b, name);
  return aesCfbEncrypt(key, ZERO_IV, new Writer(s2b.length + 40).tpm2b(integrity).bytes(s2b).finish());
}

export function innerUnwrap(nameAlg: number, name: Uint8Array, data: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  try {
    const r = new Reader(aesCfbDecrypt(key, ZERO_IV, data));
    const integrity = r.tpm2b('innerIntegrity', 64);
    const s2b = r.rest();
    return equalBytes(integrity, hash(nameAlg, s2b, name)) ? s2b : undefined;
  } catch {
    return undefined;
  }
}

function outerKeys(newParent: TpmObject, name: Uint8Array, seed: Uint8Array): { sym: Uint8Array; hmacKey: Uint8Array } {
  return storageKeys(newParent, name, seed);
}

/** TPM2B(HMAC(enc || name)) || enc, with enc = AES-CFB(symKey(seed), IV 0, data). */
export function outerWrap(newParent: TpmObject, name: Uint8Array, seed: Uint8Array, data: Uint8Array): Uint8Array {
  const { sym, hmacKey } = outerKeys(newParent, name, seed);
  const enc = aesCfbEncrypt(sym, ZERO_IV, data);
  return new Writer(enc.length + 40).tpm2b(hmac(newParent.pub.nameAlg, hmacKey, enc, name)).bytes(enc).finish();
}

export type OuterResult = { ok: true; data: Uint8Array } | { ok: false };

export function outerUnwrap(parent: TpmObject, name: Uint8Array, seed: Uint8Array, blob: Uint8Array): OuterResult {
  try {
    const r = new Reader(blob);
    const mac = r.tpm2b('outerHMAC', 64);
    const enc = r.rest();
    const { sym, hmacKey } = outerKeys(parent, name, seed);
    if (!equalBytes(mac, hmac(parent.pub.nameAlg, hmacKey, enc, name))) return { ok: false };
    return { ok: true, data: aesCfbDecrypt(sym, ZERO_IV, enc) };
  } catch {
    return { ok: false };
  }
}

/** Parse a TPM2B_SENSITIVE that must be the whole buffer; undefined if malformed. */
export function parseSensitive2B(b: Uint8Array): Sensitive | undefined {
  try {
    const r = new Reader(b);
    const s = unmarshalSensitive2B(r);
    r.done();
    return s;
  } catch {
    return undefined;
  }
}
