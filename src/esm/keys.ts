// Keys as svm-tools and the machines' TPMs hand them over. A recipient is an RSA public key
// PEM file ("PUBLIC KEY", as tssreadpublic -opem and svm-tools write it, or "RSA PUBLIC
// KEY"); its fingerprint is SHA-256 of the file's bytes. A secret key is traditional
// "RSA PRIVATE KEY" PEM (encrypted with Proc-Type/DEK-Info, as svm-tools and OpenSSL write
// it, or plain), or PKCS#8, encrypted or not. All cryptography is node:crypto; only the
// PEM armour and the two ASN.1 wrappers around an RSA public key are unpacked here, because
// node's SubjectPublicKeyInfo decoder costs ~100 µs a key and a million keys must be cheap.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EsmKeyError } from './errors.js';

/** The smallest RSA modulus authorized: what the machines' TPM wrapping keys use. */
export const MIN_RSA_BITS = 2048;

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** SHA-256 of the public key PEM file's bytes: the lockbox's pubkey-fingerprint hash. */
export function fingerprintOfPem(pem: Uint8Array): Uint8Array {
  return sha256(pem);
}

export interface PublicKeyInfo {
  /** The PEM file's bytes as given (the fingerprint covers exactly these). */
  pem: Uint8Array;
  fingerprint: Uint8Array;
  /** The RSAPublicKey (PKCS#1) DER inside it. */
  pkcs1: Uint8Array;
  bits: number;
}

interface Tlv { tag: number; start: number; end: number; next: number }

function tlv(der: Uint8Array, off: number, end: number, subject: string): Tlv {
  if (off + 2 > end) throw new EsmKeyError(subject, 'truncated DER');
  const tag = der[off]!;
  let len = der[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || start + n > end) throw new EsmKeyError(subject, 'bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > end) throw new EsmKeyError(subject, 'DER value runs past its container');
  return { tag, start, end: start + len, next: start + len };
}

const RSA_OID = Uint8Array.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);

/** The RSAPublicKey inside a SubjectPublicKeyInfo, checking that the algorithm is rsaEncryption. */
export function spkiToPkcs1(spki: Uint8Array, subject: string): Uint8Array {
  const outer = tlv(spki, 0, spki.length, subject);
  if (outer.tag !== 0x30) throw new EsmKeyError(subject, 'SubjectPublicKeyInfo is not a SEQUENCE');
  const alg = tlv(spki, outer.start, outer.end, subject);
  if (alg.tag !== 0x30) throw new EsmKeyError(subject, 'AlgorithmIdentifier is not a SEQUENCE');
  const oid = tlv(spki, alg.start, alg.end, subject);
  const oidBytes = spki.subarray(oid.start, oid.end);
  if (oid.tag !== 0x06 || oidBytes.length !== RSA_OID.length || !oidBytes.every((b, i) => b === RSA_OID[i])) {
    throw new EsmKeyError(subject, 'not an RSA public key');
  }
  const bits = tlv(spki, alg.next, outer.end, subject);
  if (bits.tag !== 0x03 || bits.end - bits.start < 2 || spki[bits.start] !== 0) throw new EsmKeyError(subject, 'subjectPublicKey is not a BIT STRING');
  return spki.subarray(bits.start + 1, bits.end);
}

function modulusBits(pkcs1: Uint8Array, subject: string): number {
  const seq = tlv(pkcs1, 0, pkcs1.length, subject);
  if (seq.tag !== 0x30) throw new EsmKeyError(subject, 'RSAPublicKey is not a SEQUENCE');
  const n = tlv(pkcs1, seq.start, seq.end, subject);
  if (n.tag !== 0x02) throw new EsmKeyError(subject, 'RSA modulus is not an INTEGER');
  let s = n.start;
  while (s < n.end && pkcs1[s] === 0) s++;
  if (s === n.end) return 0;
  return (n.end - s - 1) * 8 + (32 - Math.clz32(pkcs1[s]!));
}

export interface PemBlock { label: string; headers: string[]; der: Uint8Array }

const BASE64_BODY = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Encapsulation boundaries are whole lines (RFC 7468); trailing blanks and a CR are allowed. */
const BEGIN_LINE = /^-----BEGIN ([A-Z0-9 ]+)-----[ \t\r]*$/;
const END_LINE = /^-----END ([A-Z0-9 ]+)-----[ \t\r]*$/;

/**
 * The first PEM block in the bytes, strictly decoded (no stray characters in the base64). The
 * block is the earliest BEGIN line that an END line of the same label follows, up to the first
 * such END line. One pass over the lines: for each label only its earliest unclosed BEGIN line is
 * remembered, so many BEGIN lines without an END cost no more than any other lines.
 */
export function decodePem(bytes: Uint8Array, subject: string): PemBlock {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const open = new Map<string, number>(); // label -> where the body of its earliest unclosed BEGIN starts
  let found: { label: string; start: number; end: number } | undefined;
  for (let pos = 0; pos < text.length;) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl < 0 ? text.length : nl;
    if (text.startsWith('-----', pos)) {
      const line = text.slice(pos, lineEnd);
      const begin = nl >= 0 ? BEGIN_LINE.exec(line) : null; // a BEGIN line ends with a newline
      const end = begin ? null : END_LINE.exec(line);
      // Once a block is found, a later BEGIN cannot come before it.
      if (begin && !found && !open.has(begin[1]!)) open.set(begin[1]!, nl + 1);
      else if (end && open.has(end[1]!)) {
        const start = open.get(end[1]!)!;
        open.delete(end[1]!);
        if (!found || start < found.start) found = { label: end[1]!, start, end: pos };
      }
    }
    pos = lineEnd + 1;
  }
  if (!found) throw new EsmKeyError(subject, 'no PEM block (-----BEGIN ...-----)');
  let body = text.slice(found.start, found.end);
  const headers: string[] = [];
  if (body.includes(':')) {
    const lines = body.split(/\r?\n/);
    let i = 0;
    while (i < lines.length && lines[i]!.includes(':')) headers.push(lines[i++]!);
    body = lines.slice(i).join('\n');
  }
  body = body.replace(/\s+/g, '');
  if (body.length % 4 !== 0 || !BASE64_BODY.test(body)) throw new EsmKeyError(subject, 'PEM body is not well-formed base64');
  return { label: found.label, headers, der: new Uint8Array(Buffer.from(body, 'base64')) };
}

/** Read a recipient's public key PEM file without node's slow decoder. */
export function readPublicKeyPem(pem: Uint8Array, subject: string): PublicKeyInfo {
  const block = decodePem(pem, subject);
  let pkcs1: Uint8Array;
  if (block.label === 'PUBLIC KEY') pkcs1 = spkiToPkcs1(block.der, subject);
  else if (block.label === 'RSA PUBLIC KEY') pkcs1 = block.der;
  else if (block.label.includes('PRIVATE')) throw new EsmKeyError(subject, 'is a private key; give the public key');
  else throw new EsmKeyError(subject, `PEM "${block.label}" is not a public key`);
  const bits = modulusBits(pkcs1, subject);
  if (bits < MIN_RSA_BITS) throw new EsmKeyError(subject, `RSA modulus of ${bits} bits is below ${MIN_RSA_BITS}`);
  return { pem, fingerprint: fingerprintOfPem(pem), pkcs1, bits };
}

export function publicKeyObject(info: PublicKeyInfo, subject: string): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(info.pkcs1), format: 'der', type: 'pkcs1' });
  } catch (e) {
    throw new EsmKeyError(subject, `not a usable RSA public key (${(e as Error).message})`);
  }
}

export function isEncryptedPem(pem: Uint8Array): boolean {
  const t = Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength).toString('latin1');
  return t.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,\s*ENCRYPTED/.test(t);
}

/** Load a secret key; the passphrase is asked for only when the file is encrypted. */
export async function loadSecretKey(pem: Uint8Array, subject: string, passphrase: () => Promise<string>): Promise<KeyObject> {
  const text = Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength).toString('latin1');
  if (!/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(text)) {
    throw new EsmKeyError(subject, text.includes('PUBLIC KEY') ? 'is a public key; give the secret key' : 'not a PEM private key');
  }
  const encrypted = isEncryptedPem(pem);
  let key: KeyObject;
  try {
    key = encrypted ? createPrivateKey({ key: text, format: 'pem', passphrase: await passphrase() }) : createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    if (e instanceof EsmKeyError) throw e;
    const msg = (e as Error).message;
    throw new EsmKeyError(subject, encrypted ? `cannot decrypt the key: wrong passphrase? (${msg})` : `cannot read the key (${msg})`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new EsmKeyError(subject, `is a ${key.asymmetricKeyType} key, not RSA`);
  return key;
}

/** The public key PEM svm-tools derives from a secret key (SubjectPublicKeyInfo, 64-column base64, final newline). */
export function publicPemOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(Buffer.from(pub.export({ type: 'spki', format: 'pem' }) as string, 'latin1'));
}

/** Fingerprints a lockbox made for this key is likely to carry: the key's PEM in the common spellings. */
export function candidateFingerprints(key: KeyObject): Uint8Array[] {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const spki = Buffer.from(pub.export({ type: 'spki', format: 'pem' }) as string, 'latin1');
  const pkcs1 = Buffer.from(pub.export({ type: 'pkcs1', format: 'pem' }) as string, 'latin1');
  const trim = (b: Buffer) => b.subarray(0, b.length - 1);
  return [spki, trim(spki), pkcs1, trim(pkcs1)].map((b) => fingerprintOfPem(b));
}

export interface GeneratedKeys { pub: Uint8Array; sec: Uint8Array }

/**
 * A new RSA-2048 owner key. The secret key is traditional "RSA PRIVATE KEY" PEM, encrypted
 * with AES-256-CBC under the passphrase (DEK-Info), which svm-tools, OpenSSL and node read;
 * an empty passphrase leaves it unencrypted, as svm-tools does.
 */
export function generateRsaKeyPair(passphrase: string, bits = 2048): GeneratedKeys {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const sec = passphrase === ''
    ? privateKey.export({ type: 'pkcs1', format: 'pem' })
    : privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase });
  return { pub: publicPemOf(publicKey), sec: new Uint8Array(Buffer.from(sec as string, 'latin1')) };
}
