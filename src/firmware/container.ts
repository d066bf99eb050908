// Signed firmware containers, after POWER's secure boot container (magic 0x17082011): a header
// naming the stage, the payload's size and SHA-512, the signing public key, and an ECDSA
// P-521/SHA-512 signature over all of that; then the payload. Secure boot (verifyContainer)
// refuses an unsigned image, a key whose hash is not in the SEEPROM, a bad signature, an image
// built for another stage, and a payload that does not match the signed hash.
//
//   0  u32  magic 0x17082011          24  u64  payload size
//   4  u16  version (1)               32  u8[64] payload SHA-512
//   6  u16  header size               96  u16 key size | key (SPKI DER, 0 when unsigned)
//   8  u8[16] stage, NUL-padded           u16 signature size | signature (r||s, over bytes 0..end of key)
//                                         payload (at `header size`)

import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { CheckFailed } from '../util/errors.js';
import { keyHash, publicKeyDer } from './vendor-key.js';

export const CONTAINER_MAGIC = 0x17082011;
export const CONTAINER_VERSION = 1;
const FIXED = 96;
/** ECDSA P-521 signature as r || s (IEEE P1363), 2 x 66 bytes. */
const SIG_SIZE = 132;

export class ContainerFormatError extends Error {
  constructor(readonly offset: number, what: string) {
    super(`${what} (offset ${offset})`);
    this.name = 'ContainerFormatError';
  }
}

/** Secure boot stopped: names the stage and why. A check failure (exit code 1). */
export class SecureBootError extends CheckFailed {
  constructor(readonly stage: string, readonly reason: string) {
    super(`secure boot stopped at stage ${stage}: ${reason}`);
    this.name = 'SecureBootError';
  }
}

export interface Container {
  stage: string;
  payload: Uint8Array;
  payloadHash: Uint8Array;
  /** SPKI DER of the signing key, empty when unsigned. */
  key: Uint8Array;
  signature: Uint8Array;
  /** The bytes the signature covers. */
  signed: Uint8Array;
}

export function buildContainer(stage: string, payload: Uint8Array, signer: KeyObject | undefined): Uint8Array {
  const stageBytes = new TextEncoder().encode(stage);
  if (stageBytes.length === 0 || stageBytes.length > 16) throw new RangeError(`stage name '${stage}' must be 1..16 bytes`);
  const key = signer ? publicKeyDer(signer) : new Uint8Array(0);
  const signedLen = FIXED + 2 + key.length;
  const headerSize = signedLen + 2 + (signer ? SIG_SIZE : 0);
  const out = new Uint8Array(headerSize + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CONTAINER_MAGIC);
  dv.setUint16(4, CONTAINER_VERSION);
  dv.setUint16(6, headerSize);
  out.set(stageBytes, 8);
  dv.setBigUint64(24, BigInt(payload.length));
  out.set(createHash('sha512').update(payload).digest(), 32);
  dv.setUint16(FIXED, key.length);
  out.set(key, FIXED + 2);
  if (signer) {
    const sig = sign('sha512', out.subarray(0, signedLen), { key: signer, dsaEncoding: 'ieee-p1363' });
    dv.setUint16(signedLen, sig.length);
    out.set(sig, signedLen + 2);
  }
  out.set(payload, headerSize);
  return out;
}

export function parseContainer(b: Uint8Array): Container {
  if (b.length < FIXED + 4) throw new ContainerFormatError(0, `not a firmware container: ${b.length} bytes`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0) !== CONTAINER_MAGIC) throw new ContainerFormatError(0, 'not a firmware container: bad magic');
  if (dv.getUint16(4) !== CONTAINER_VERSION) throw new ContainerFormatError(4, `unsupported container version ${dv.getUint16(4)}`);
  const headerSize = dv.getUint16(6);
  const rawStage = b.subarray(8, 24);
  const nul = rawStage.indexOf(0);
  const stage = new TextDecoder().decode(rawStage.subarray(0, nul < 0 ? 16 : nul));
  const payloadSize = dv.getBigUint64(24);
  const keyLen = dv.getUint16(FIXED);
  const keyEnd = FIXED + 2 + keyLen;
  if (keyEnd + 2 > b.length) throw new ContainerFormatError(FIXED, 'key runs past the end');
  const sigLen = dv.getUint16(keyEnd);
  if (keyEnd + 2 + sigLen !== headerSize) throw new ContainerFormatError(6, 'header size does not match the key and signature sizes');
  if (BigInt(b.length - headerSize) !== payloadSize) throw new ContainerFormatError(24, `payload size ${payloadSize} but ${b.length - headerSize} bytes follow the header`);
  return {
    stage,
    payload: b.subarray(headerSize),
    payloadHash: b.subarray(32, 96),
    key: b.subarray(FIXED + 2, keyEnd),
    signature: b.subarray(keyEnd + 2, headerSize),
    signed: b.subarray(0, keyEnd),
  };
}

/**
 * Secure boot's check of one stage. `trustedKeyHash` is the SEEPROM's SHA-512 of the
 * firmware-signing key. Returns the verified payload; throws SecureBootError otherwise.
 */
export function verifyContainer(bytes: Uint8Array, stage: string, trustedKeyHash: Uint8Array): Uint8Array {
  let c: Container;
  try {
    c = parseContainer(bytes);
  } catch (e) {
    throw new SecureBootError(stage, e instanceof Error ? e.message : String(e));
  }
  if (c.stage !== stage) throw new SecureBootError(stage, `the image is built for stage '${c.stage}'`);
  if (c.key.length === 0 || c.signature.length === 0) throw new SecureBootError(stage, 'the image is not signed');
  const kh = keyHash(c.key);
  if (Buffer.compare(Buffer.from(kh), Buffer.from(trustedKeyHash)) !== 0) {
    throw new SecureBootError(stage, `signed with an unknown key (SHA-512 ${Buffer.from(kh).toString('hex').slice(0, 16)}..., not the SEEPROM's)`);
  }
  let ok: boolean;
  try {
    ok = verify('sha512', c.signed, { key: createPublicKey({ key: Buffer.from(c.key), format: 'der', type: 'spki' }), dsaEncoding: 'ieee-p1363' }, c.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new SecureBootError(stage, 'the signature does not verify');
  const h = createHash('sha512').update(c.payload).digest();
  if (Buffer.compare(h, Buffer.from(c.payloadHash)) !== 0) throw new SecureBootError(stage, 'the image was modified: its payload does not match the signed hash');
  return c.payload;
}
