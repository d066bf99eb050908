// The TPM's cryptographic building blocks on node:crypto: hashes by TPM algorithm id, KDFa,
// AES-CFB parameter and blob encryption, RSA-OAEP with TPM labels, and RSA keys rebuilt from
// the TPM's representation (modulus, exponent, one prime).

import {
  createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync,
  privateDecrypt, publicEncrypt, randomFillSync, constants as C, type KeyObject,
} from 'node:crypto';
import { ALG } from './constants.js';
import { concat, u32be } from './marshal.js';

const HASHES: Record<number, { name: string; size: number }> = {
  [ALG.SHA1]: { name: 'sha1', size: 20 },
  [ALG.SHA256]: { name: 'sha256', size: 32 },
  [ALG.SHA384]: { name: 'sha384', size: 48 },
  [ALG.SHA512]: { name: 'sha512', size: 64 },
};

export const isHashAlg = (alg: number): boolean => alg in HASHES;
export function hashName(alg: number): string {
  const h = HASHES[alg];
  if (!h) throw new RangeError(`not a hash algorithm: 0x${alg.toString(16)}`);
  return h.name;
}
export const digestSize = (alg: number): number => HASHES[alg]?.size ?? 0;

export function hash(alg: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(hashName(alg));
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmac(alg: number, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(hashName(alg), key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

// Nonces are drawn for every command and response: take them from a refilled CSPRNG pool
// rather than one system call each.
const POOL = new Uint8Array(8192);
let poolPos = POOL.length;

/** `n` fresh random bytes (a copy the caller owns). */
export function random(n: number): Uint8Array {
  if (n > 1024) return new Uint8Array(randomFillSync(new Uint8Array(n)));
  if (poolPos + n > POOL.length) { randomFillSync(POOL); poolPos = 0; }
  const out = POOL.slice(poolPos, poolPos + n);
  POOL.fill(0, poolPos, poolPos + n);
  poolPos += n;
  return out;
}

const te = new TextEncoder();

/** A KDF label as the TPM uses it: the string followed by one zero byte (unless it ends in one). */
export function label(s: string): Uint8Array {
  const b = te.encode(s);
  return b.length > 0 && b[b.length - 1] === 0 ? b : concat(b, new Uint8Array(1));
}

/** KDFa (SP800-108 counter mode with HMAC), Part 1 section 11.4.10.2. */
export function kdfa(alg: number, key: Uint8Array, lbl: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Uint8Array {
  const bytes = (bits + 7) >> 3;
  const out = new Uint8Array(bytes);
  const L = label(lbl);
  const B = u32be(bits);
  let off = 0;
  for (let i = 1; off < bytes; i++) {
    const block = hmac(alg, key, u32be(i), L, contextU, contextV, B);
    out.set(block.subarray(0, Math.min(block.length, bytes - off)), off);
    off += block.length;
  }
  if (bits % 8) out[0]! &= (1 << (bits % 8)) - 1;
  return out;
}

function cfbName(keyBits: number): string {
  if (keyBits !== 128 && keyBits !== 192 && keyBits !== 256) throw new RangeError(`AES key size ${keyBits}`);
  return `aes-${keyBits}-cfb`;
}

export function aesCfbEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(cfbName(key.length * 8), key, iv);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

export function aesCfbDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createDecipheriv(cfbName(key.length * 8), key, iv);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/** Remove trailing zero bytes from an authValue, as the TPM does before using it in an HMAC key. */
export function stripZeros(b: Uint8Array): Uint8Array {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return b.subarray(0, n);
}

export function oaepEncrypt(key: KeyObject, hashAlg: number, lbl: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(publicEncrypt({ key, padding: C.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName(hashAlg), oaepLabel: lbl }, data));
}

/** Returns undefined when the padding does not check (the TPM answers TPM_RC_VALUE). */
export function oaepDecrypt(key: KeyObject, hashAlg: number, lbl: Uint8Array, data: Uint8Array): Uint8Array | undefined {
  try {
    const opts = { key, padding: C.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName(hashAlg), ...(lbl.length ? { oaepLabel: lbl } : {}) };
    return new Uint8Array(privateDecrypt(opts, data));
  } catch {
    return undefined;
  }
}

// ---- RSA keys in the TPM's representation ----------------------------------------------

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

export function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

export function bigToBytes(v: bigint, len?: number): Uint8Array {
  let h = v.toString(16);
  if (h.length % 2) h = '0' + h;
  const b = new Uint8Array(Buffer.from(h, 'hex'));
  if (len === undefined || b.length === len) return b;
  if (b.length > len) throw new RangeError('integer too large');
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

/** The exponent as stored in TPMS_RSA_PARMS: 0 means 65537. */
export const rsaExponent = (e: number): number => (e === 0 ? 65537 : e);

// Importing a key costs more than using it: keep the last few public keys built.
const publicKeys = new Map<string, KeyObject>();

export function rsaPublicKey(modulus: Uint8Array, exponent: number): KeyObject {
  const id = `${exponent}:${b64u(modulus)}`;
  let k = publicKeys.get(id);
  if (!k) {
    k = createPublicKey({ key: { kty: 'RSA', n: b64u(modulus), e: b64u(bigToBytes(BigInt(rsaExponent(exponent)))) }, format: 'jwk' });
    if (publicKeys.size >= 32) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, k);
  }
  return k;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('not invertible');
  return ((oldS % m) + m) % m;
}

/**
 * Rebuild the private key from what a TPM keeps (TPM2B_PRIVATE_KEY_RSA holds one prime).
 * Returns undefined when the prime does not divide the modulus (a binding error).
 */
export function rsaPrivateKeyFromPrime(modulus: Uint8Array, exponent: number, prime: Uint8Array): KeyObject | undefined {
  const n = bytesToBig(modulus);
  const p = bytesToBig(prime);
  if (p <= 1n || n % p !== 0n) return undefined;
  const q = n / p;
  const e = BigInt(rsaExponent(exponent));
  const phi = (p - 1n) * (q - 1n);
  let d: bigint;
  try { d = modInverse(e, phi); } catch { return undefined; }
  const half = modulus.length / 2;
  const jwk = {
    kty: 'RSA', n: b64u(modulus), e: b64u(bigToBytes(e)), d: b64u(bigToBytes(d, modulus.length)),
    p: b64u(bigToBytes(p, half)), q: b64u(bigToBytes(q, half)),
    dp: b64u(bigToBytes(d % (p - 1n), half)), dq: b64u(bigToBytes(d % (q - 1n), half)), qi: b64u(bigToBytes(modInverse(q, p), half)),
  };
  try { return createPrivateKey({ key: jwk, format: 'jwk' }); } catch { return undefined; }
}

/** The INTEGERs of a DER SEQUENCE (an RSAPrivateKey); throws RangeError on malformed input. */
function derIntegers(der: Uint8Array): Uint8Array[] {
  let pos = 0;
  const len = (): number => {
    const b = der[pos++];
    if (b === undefined) throw new RangeError('DER: truncated');
    if (b < 0x80) return b;
    const n = b & 0x7f;
    if (n === 0 || n > 3) throw new RangeError('DER: bad length');
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 8) | der[pos++]!;
    return v;
  };
  if (der[pos++] !== 0x30) throw new RangeError('DER: not a SEQUENCE');
  const end = len() + pos;
  const out: Uint8Array[] = [];
  while (pos < end) {
    if (der[pos++] !== 0x02) throw new RangeError('DER: not an INTEGER');
    const n = len();
    let v = der.subarray(pos, pos + n);
    pos += n;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    out.push(v);
  }
  return out;
}

/**
 * A fresh RSA key in the TPM's representation (modulus, one prime) and as a KeyObject.
 * The key comes out of generation already encoded: exporting a just-generated KeyObject can
 * deadlock Node 20 (a garbage collection during the export runs the generation job's destructor,
 * which takes the lock the export holds).
 */
export function generateRsaKey(keyBits: number, exponent: number): { modulus: Uint8Array; prime: Uint8Array; priv: KeyObject } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: keyBits, publicExponent: rsaExponent(exponent),
    privateKeyEncoding: { type: 'pkcs1', format: 'der' }, publicKeyEncoding: { type: 'pkcs1', format: 'der' },
  });
  const der = new Uint8Array(privateKey);
  // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qinv }
  const [, n, , , p] = derIntegers(der);
  const half = keyBits / 16;
  const modulus = n!.length === keyBits / 8 ? n! : bigToBytes(bytesToBig(n!), keyBits / 8);
  const prime = p!.length === half ? p! : bigToBytes(bytesToBig(p!), half);
  return { modulus: new Uint8Array(modulus), prime: new Uint8Array(prime), priv: createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }) };
}
