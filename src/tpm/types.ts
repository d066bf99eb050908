// TPM 2.0 structures the model uses, with their wire form: TPMT_PUBLIC (RSA), TPMT_SENSITIVE,
// TPML_PCR_SELECTION, TPMT_SYM_DEF, TPMS_SENSITIVE_CREATE. Unmarshal functions throw only
// TpmParseError or TpmValueError (a well-formed but unsupported value, with the field named).

import { ALG } from './constants.js';
import { digestSize, hash, isHashAlg } from './crypto.js';
import { concat, Reader, TpmParseError, u16be, Writer } from './marshal.js';

/** A field has a value the model does not support or the spec forbids (maps to a TPM_RC_* code). */
export class TpmValueError extends TpmParseError {
  constructor(offset: number, what: string, readonly rc: number) { super(offset, what, 'value'); this.name = 'TpmValueError'; }
}

export interface SymDef { alg: number; keyBits: number; mode: number }
export const AES128CFB: SymDef = { alg: ALG.AES, keyBits: 128, mode: ALG.CFB };
export const SYM_NULL: SymDef = { alg: ALG.NULL, keyBits: 0, mode: 0 };

export interface RsaScheme { scheme: number; hashAlg: number }

export interface RsaPublic {
  type: typeof ALG.RSA;
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Uint8Array;
  symmetric: SymDef;
  scheme: RsaScheme;
  keyBits: number;
  exponent: number;
  /** The modulus (empty in a template). */
  unique: Uint8Array;
}

export type TpmtPublic = RsaPublic;

export function writeSymDef(w: Writer, s: SymDef): void {
  w.u16(s.alg);
  if (s.alg !== ALG.NULL) w.u16(s.keyBits).u16(s.mode);
}

export function readSymDef(r: Reader, what: string, rc: number): SymDef {
  const at = r.offset;
  const alg = r.u16(what);
  if (alg === ALG.NULL) return SYM_NULL;
  if (alg !== ALG.AES) throw new TpmValueError(at, `${what}: symmetric algorithm 0x${alg.toString(16)} not supported`, rc);
  const keyBits = r.u16(what);
  const mode = r.u16(what);
  if (keyBits !== 128 && keyBits !== 256) throw new TpmValueError(at, `${what}: AES-${keyBits} not supported`, rc);
  if (mode !== ALG.CFB) throw new TpmValueError(at, `${what}: mode 0x${mode.toString(16)} not supported (CFB only)`, rc);
  return { alg, keyBits, mode };
}

export function marshalPublic(p: TpmtPublic): Uint8Array {
  const w = new Writer(64 + p.unique.length + p.authPolicy.length);
  w.u16(p.type).u16(p.nameAlg).u32(p.objectAttributes).tpm2b(p.authPolicy);
  writeSymDef(w, p.symmetric);
  w.u16(p.scheme.scheme);
  if (p.scheme.scheme !== ALG.NULL) w.u16(p.scheme.hashAlg);
  w.u16(p.keyBits).u32(p.exponent).tpm2b(p.unique);
  return w.finish();
}

/** TPM2B_PUBLIC: the size-prefixed form used in commands and responses. */
export const marshalPublic2B = (p: TpmtPublic): Uint8Array => { const b = marshalPublic(p); return concat(u16be(b.length), b); };

/** Value-check codes by field, so callers can add the parameter number. */
export interface PublicRcs { type: number; hash: number; symmetric: number; scheme: number; keySize: number; size: number }
const DEFAULT_RCS: PublicRcs = { type: 0x08a, hash: 0x083, symmetric: 0x096, scheme: 0x092, keySize: 0x087, size: 0x095 };

export function unmarshalPublic(r: Reader, rcs: PublicRcs = DEFAULT_RCS): TpmtPublic {
  const at = r.offset;
  const type = r.u16('TPMT_PUBLIC.type');
  if (type !== ALG.RSA) throw new TpmValueError(at, `TPMT_PUBLIC.type 0x${type.toString(16)} not supported (RSA only)`, rcs.type);
  const nameAt = r.offset;
  const nameAlg = r.u16('TPMT_PUBLIC.nameAlg');
  if (!isHashAlg(nameAlg)) throw new TpmValueError(nameAt, `TPMT_PUBLIC.nameAlg 0x${nameAlg.toString(16)} not supported`, rcs.hash);
  const objectAttributes = r.u32('TPMT_PUBLIC.objectAttributes');
  const polAt = r.offset;
  const authPolicy = r.tpm2b('TPMT_PUBLIC.authPolicy', 64);
  if (authPolicy.length !== 0 && authPolicy.length !== digestSize(nameAlg)) throw new TpmValueError(polAt, 'TPMT_PUBLIC.authPolicy has the wrong size', rcs.size);
  const symmetric = readSymDef(r, 'TPMS_RSA_PARMS.symmetric', rcs.symmetric);
  const schAt = r.offset;
  const scheme = r.u16('TPMS_RSA_PARMS.scheme');
  let hashAlg: number = ALG.NULL;
  if (scheme !== ALG.NULL) {
    if (![ALG.OAEP, ALG.RSAES, ALG.RSASSA, ALG.RSAPSS].includes(scheme as 0x17)) throw new TpmValueError(schAt, `RSA scheme 0x${scheme.toString(16)} not supported`, rcs.scheme);
    if (scheme !== ALG.RSAES) {
      hashAlg = r.u16('TPMS_RSA_PARMS.scheme.hashAlg');
      if (!isHashAlg(hashAlg)) throw new TpmValueError(schAt, 'RSA scheme hash not supported', rcs.hash);
    }
  }
  const kbAt = r.offset;
  const keyBits = r.u16('TPMS_RSA_PARMS.keyBits');
  if (keyBits !== 1024 && keyBits !== 2048 && keyBits !== 3072 && keyBits !== 4096) throw new TpmValueError(kbAt, `RSA key size ${keyBits} not supported`, rcs.keySize);
  const exponent = r.u32('TPMS_RSA_PARMS.exponent');
  const unique = r.tpm2b('TPMT_PUBLIC.unique', 512);
  return { type: ALG.RSA, nameAlg, objectAttributes, authPolicy, symmetric, scheme: { scheme, hashAlg }, keyBits, exponent, unique };
}

/** Parse a TPM2B_PUBLIC; returns the structure and the exact bytes inside the size field. */
export function unmarshalPublic2B(r: Reader, rcs?: PublicRcs): { pub: TpmtPublic; bytes: Uint8Array } {
  const at = r.offset;
  const n = r.u16('TPM2B_PUBLIC.size');
  if (n === 0) throw new TpmValueError(at, 'TPM2B_PUBLIC is empty', (rcs ?? DEFAULT_RCS).size);
  const sub = r.sub(n, 'TPM2B_PUBLIC');
  const start = sub.offset;
  const pub = unmarshalPublic(sub, rcs);
  sub.done('TPM2B_PUBLIC');
  return { pub, bytes: sub.buf.subarray(start, start + n) };
}

/** Name = nameAlg || H_nameAlg(TPMT_PUBLIC). */
export function objectName(nameAlg: number, publicBytes: Uint8Array): Uint8Array {
  return concat(u16be(nameAlg), hash(nameAlg, publicBytes));
}

export const publicName = (p: TpmtPublic): Uint8Array => objectName(p.nameAlg, marshalPublic(p));

// ---- sensitive areas --------------------------------------------------------------------

export interface Sensitive {
  type: number;
  authValue: Uint8Array;
  seedValue: Uint8Array;
  /** For RSA: one prime factor. */
  sensitive: Uint8Array;
}

export function marshalSensitive(s: Sensitive): Uint8Array {
  return new Writer(200).u16(s.type).tpm2b(s.authValue).tpm2b(s.seedValue).tpm2b(s.sensitive).finish();
}

/** TPM2B_SENSITIVE (size-prefixed TPMT_SENSITIVE). */
export const marshalSensitive2B = (s: Sensitive): Uint8Array => { const b = marshalSensitive(s); return concat(u16be(b.length), b); };

export function unmarshalSensitive(r: Reader): Sensitive {
  const type = r.u16('TPMT_SENSITIVE.sensitiveType');
  const authValue = r.tpm2b('TPMT_SENSITIVE.authValue', 64);
  const seedValue = r.tpm2b('TPMT_SENSITIVE.seedValue', 64);
  const sensitive = r.tpm2b('TPMT_SENSITIVE.sensitive', 512);
  return { type, authValue, seedValue, sensitive };
}

export function unmarshalSensitive2B(r: Reader): Sensitive {
  const n = r.u16('TPM2B_SENSITIVE.size');
  const sub = r.sub(n, 'TPM2B_SENSITIVE');
  const s = unmarshalSensitive(sub);
  sub.done('TPM2B_SENSITIVE');
  return s;
}

export interface SensitiveCreate { userAuth: Uint8Array; data: Uint8Array }

export function marshalSensitiveCreate(s: SensitiveCreate): Uint8Array {
  return new Writer(80).sized((w) => w.tpm2b(s.userAuth).tpm2b(s.data)).finish();
}

export function unmarshalSensitiveCreate(r: Reader): SensitiveCreate {
  const n = r.u16('TPM2B_SENSITIVE_CREATE.size');
  const sub = r.sub(n, 'TPM2B_SENSITIVE_CREATE');
  const userAuth = sub.tpm2b('userAuth', 64);
  const data = sub.tpm2b('data', 256);
  sub.done('TPM2B_SENSITIVE_CREATE');
  return { userAuth, data };
}

// ---- PCR selections ---------------------------------------------------------------------

export interface PcrSelection { hashAlg: number; pcrs: number[] }

export function marshalPcrSelection(sel: PcrSelection[]): Uint8Array {
  const w = new Writer(16);
  w.u32(sel.length);
  for (const s of sel) {
    const bits = new Uint8Array(3);
    for (const p of s.pcrs) bits[p >> 3]! |= 1 << (p & 7);
    w.u16(s.hashAlg).u8(3).bytes(bits);
  }
  return w.finish();
}

export function unmarshalPcrSelection(r: Reader): PcrSelection[] {
  const count = r.u32('TPML_PCR_SELECTION.count');
  if (count > 16) throw new TpmParseError(r.offset - 4, `TPML_PCR_SELECTION.count ${count} too large`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16('TPMS_PCR_SELECTION.hash');
    const at = r.offset;
    const size = r.u8('TPMS_PCR_SELECTION.sizeofSelect');
    if (size < 3 || size > 4) throw new TpmValueError(at, `sizeofSelect ${size}`, 0x084);
    const bits = r.bytes(size, 'pcrSelect');
    const pcrs: number[] = [];
    for (let p = 0; p < size * 8; p++) if (bits[p >> 3]! & (1 << (p & 7))) pcrs.push(p);
    out.push({ hashAlg, pcrs });
  }
  return out;
}

export const isTemplate = (p: TpmtPublic): boolean => p.unique.length === 0;
export const SHA256_ZERO = new Uint8Array(32);
