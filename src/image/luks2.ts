// LUKS2 volumes: create a header (one pbkdf2 keyslot, a pbkdf2 digest, one aes-xts-plain64
// segment), unlock a keyslot with a passphrase, and encrypt or decrypt data sectors. Works on
// bytes from any source: an in-memory disk, a file, or sectors a guest reads from a virtio disk.
//
// Unlock, as cryptsetup does it: key = PBKDF2(passphrase, kdf.salt, kdf.iterations,
// area.key_size); decrypt the keyslot area (aes-xts-plain64, IV = 512-byte sector within the
// area); merge the AF stripes; accept the result only if PBKDF2(result, digest.salt,
// digest.iterations) equals the stored digest.

import { pbkdf2Sync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { afHashSupported, afMerge, afSplit, LUKS_STRIPES } from './af-split.js';
import { readLuks2Header, serializeLuks2Header, type ByteReader, type Luks2Header } from './luks2-header.js';
import { Luks2Error, serializeLuks2Metadata, type Luks2Digest, type Luks2Keyslot, type Luks2Metadata, type Luks2Pbkdf2, type Luks2Segment } from './luks2-metadata.js';
import { IV_SECTOR, XTS_KEY_BYTES, XtsKeyError, XtsPlain64 } from './xts.js';

export { Luks2Error } from './luks2-metadata.js';
export type { Luks2Header } from './luks2-header.js';

export const LUKS2_CIPHER = 'aes-xts-plain64';
export const LUKS2_DEFAULT_HDR_SIZE = 0x4000;
/** cryptsetup's default data offset: 16 MiB, the rest of the space before it is keyslots. */
export const LUKS2_DEFAULT_DATA_OFFSET = 16 * 1024 * 1024;
/**
 * PBKDF2 iterations for keyslot and digest. The passphrase an SVM's disk gets is 32 random
 * bytes, so stretching adds nothing; 1000 is the least cryptsetup accepts.
 */
export const LUKS2_MIN_ITERATIONS = 1000;
const SUPPORTED_HASHES = ['sha1', 'sha256', 'sha512'];

export type Passphrase = Uint8Array | string;
const passBytes = (p: Passphrase) => (typeof p === 'string' ? new TextEncoder().encode(p) : p);

export interface Luks2CreateOptions {
  passphrase: Passphrase;
  /** 64 bytes; random when absent. */
  volumeKey?: Uint8Array;
  iterations?: number;
  digestIterations?: number;
  sectorSize?: 512 | 1024 | 2048 | 4096;
  dataOffset?: number;
  hdrSize?: number;
  uuid?: string;
  label?: string;
  random?: (n: number) => Uint8Array;
}

export interface Luks2Created {
  header: Luks2Header;
  /** Both header copies: the bytes at [0, 2 * hdrSize). */
  headerBytes: Uint8Array;
  keyslotOffset: number;
  keyslotBytes: Uint8Array;
  dataOffset: number;
  volumeKey: Uint8Array;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** A fresh LUKS2 header with keyslot 0 holding the volume key under the passphrase. */
export function createLuks2(o: Luks2CreateOptions): Luks2Created {
  const random = o.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const hdrSize = o.hdrSize ?? LUKS2_DEFAULT_HDR_SIZE;
  const dataOffset = o.dataOffset ?? LUKS2_DEFAULT_DATA_OFFSET;
  const sectorSize = o.sectorSize ?? 512;
  const iterations = o.iterations ?? LUKS2_MIN_ITERATIONS;
  const digestIterations = o.digestIterations ?? LUKS2_MIN_ITERATIONS;
  const volumeKey = o.volumeKey ?? random(XTS_KEY_BYTES);
  if (volumeKey.length !== XTS_KEY_BYTES) throw new RangeError(`volume key is ${volumeKey.length} bytes, aes-xts-plain64 with a 512-bit key needs 64`);
  const keyslotOffset = 2 * hdrSize;
  const materialSize = XTS_KEY_BYTES * LUKS_STRIPES;
  const areaSize = roundUp(materialSize, 4096);
  const keyslotsSize = dataOffset - keyslotOffset;
  if (keyslotsSize < areaSize || keyslotsSize % 4096 !== 0) throw new RangeError(`data offset ${dataOffset} leaves no room for a ${areaSize}-byte keyslot after the headers`);

  const kdf: Luks2Pbkdf2 = { type: 'pbkdf2', hash: 'sha256', iterations, salt: random(32) };
  const slotKey = pbkdf2Sync(passBytes(o.passphrase), kdf.salt, iterations, XTS_KEY_BYTES, 'sha256');
  const material = new Uint8Array(areaSize);
  material.set(afSplit(volumeKey, LUKS_STRIPES, 'sha256', random));
  // The whole area is encrypted; its tail past the stripes is encrypted zeros, as cryptsetup leaves it.
  const keyslotBytes = new XtsPlain64(slotKey).encrypt(material, 0);

  const digestSalt = random(32);
  const keyslot: Luks2Keyslot = {
    type: 'luks2', keySize: XTS_KEY_BYTES,
    af: { type: 'luks1', stripes: LUKS_STRIPES, hash: 'sha256' },
    area: { type: 'raw', offset: keyslotOffset, size: areaSize, encryption: LUKS2_CIPHER, keySize: XTS_KEY_BYTES },
    kdf,
  };
  const segment: Luks2Segment = { type: 'crypt', offset: dataOffset, size: 'dynamic', ivTweak: 0, encryption: LUKS2_CIPHER, sectorSize };
  const digest: Luks2Digest = {
    type: 'pbkdf2', keyslots: ['0'], segments: ['0'], hash: 'sha256', iterations: digestIterations, salt: digestSalt,
    digest: new Uint8Array(pbkdf2Sync(volumeKey, digestSalt, digestIterations, 32, 'sha256')),
  };
  const metadata: Luks2Metadata = {
    keyslots: { 0: keyslot }, tokens: {}, segments: { 0: segment }, digests: { 0: digest },
    config: { jsonSize: hdrSize - 4096, keyslotsSize },
  };
  const json = serializeLuks2Metadata(metadata);
  const fields = { hdrSize, seqid: 1, label: o.label ?? '', checksumAlg: 'sha256', uuid: o.uuid ?? randomUUID(), subsystem: '' };
  const headerBytes = serializeLuks2Header(fields, json, [random(64), random(64)]);
  const header: Luks2Header = { ...fields, metadata, json, copies: { primary: { ok: true, seqid: 1 }, secondary: { ok: true, seqid: 1 } }, used: 'primary' };
  return { header, headerBytes, keyslotOffset, keyslotBytes, dataOffset, volumeKey };
}

/** The crypt segment the volume key unlocks (the lowest-numbered one a digest covers). */
export function dataSegment(h: Luks2Header): { id: string; segment: Luks2Segment; digest: Luks2Digest } {
  const ids = Object.keys(h.metadata.segments).sort((a, b) => Number(a) - Number(b));
  for (const id of ids) {
    const segment = h.metadata.segments[id]!;
    if (segment.type !== 'crypt') continue;
    const digest = Object.values(h.metadata.digests).find((d) => d.segments.includes(id));
    if (!digest) continue;
    if (segment.encryption !== LUKS2_CIPHER) throw new Luks2Error('unsupported', 0, `segment ${id} uses '${segment.encryption}' (only ${LUKS2_CIPHER} is supported)`);
    if (segment.integrity !== undefined) throw new Luks2Error('unsupported', 0, `segment ${id} has authenticated encryption (integrity), not supported`);
    if (digest.type !== 'pbkdf2' || !SUPPORTED_HASHES.includes(digest.hash)) throw new Luks2Error('unsupported', 0, `digest for segment ${id} is ${digest.type}/${digest.hash}`);
    return { id, segment, digest };
  }
  throw new Luks2Error('bad-metadata', 0, 'no crypt segment with a digest');
}

function checkDigest(key: Uint8Array, d: Luks2Digest): boolean {
  const got = pbkdf2Sync(key, d.salt, d.iterations, d.digest.length, d.hash);
  return got.length === d.digest.length && timingSafeEqual(got, d.digest);
}

/** Is this volume key the one the header's digest describes? */
export function verifyVolumeKey(h: Luks2Header, key: Uint8Array): boolean {
  return checkDigest(key, dataSegment(h).digest);
}

/**
 * Try the passphrase on every keyslot bound to the data segment's digest (higher priority
 * first) and return the volume key of the first that verifies.
 */
export function unlockLuks2(h: Luks2Header, passphrase: Passphrase, read: ByteReader): { volumeKey: Uint8Array; keyslot: string } {
  const { digest } = dataSegment(h);
  const pass = passBytes(passphrase);
  const ids = digest.keyslots.slice().sort((a, b) => (h.metadata.keyslots[b]!.priority ?? 1) - (h.metadata.keyslots[a]!.priority ?? 1) || Number(a) - Number(b));
  const skipped: string[] = [];
  for (const id of ids) {
    const ks = h.metadata.keyslots[id]!;
    if (ks.priority === 0) continue; // "ignore" priority: only used when named
    const kdf = ks.kdf;
    if (ks.type !== 'luks2' || kdf.type !== 'pbkdf2' || ks.af.type !== 'luks1' || ks.area.encryption !== LUKS2_CIPHER || ks.area.keySize !== XTS_KEY_BYTES
      || !SUPPORTED_HASHES.includes((kdf as Luks2Pbkdf2).hash) || !afHashSupported(ks.af.hash)) {
      skipped.push(`${id} (${ks.type}, kdf ${kdf.type}, ${ks.area.encryption})`);
      continue;
    }
    const p = kdf as Luks2Pbkdf2;
    const slotKey = pbkdf2Sync(pass, p.salt, p.iterations, ks.area.keySize, p.hash);
    const materialSize = roundUp(ks.keySize * ks.af.stripes, IV_SECTOR);
    const enc = read(ks.area.offset, materialSize);
    if (enc.length < materialSize) throw new Luks2Error('truncated', ks.area.offset + enc.length, `keyslot ${id} area cut short`);
    if (enc.every((b) => b === 0)) { skipped.push(`${id} (wiped)`); continue; }
    let material: Uint8Array;
    try { material = new XtsPlain64(slotKey).decrypt(enc, 0); } catch (e) {
      // A derived key with equal halves cannot be an XTS key: this passphrase cannot be the one.
      if (e instanceof XtsKeyError) continue;
      throw e;
    }
    const key = afMerge(material, ks.keySize, ks.af.stripes, ks.af.hash);
    if (checkDigest(key, digest)) return { volumeKey: key, keyslot: id };
  }
  if (skipped.length === ids.length) throw new Luks2Error('unsupported', 0, `no keyslot this reader can open: ${skipped.join(', ')}`);
  throw new Luks2Error('wrong-passphrase', 0, 'no keyslot accepts the passphrase');
}

/** Where a volume's bytes come from. LBAs count 512-byte sectors of the whole device. */
export type Luks2Source = Uint8Array | { readBytes: ByteReader; size?: number } | { readSectors: (lba: number, count: number) => Uint8Array; size?: number };

export function byteReaderOf(src: Luks2Source): { read: ByteReader; size: number | undefined } {
  if (src instanceof Uint8Array) return { read: (off, len) => src.subarray(Math.min(off, src.length), Math.min(off + len, src.length)), size: src.length };
  if ('readBytes' in src) return { read: src.readBytes, size: src.size };
  const rs = src.readSectors;
  return {
    size: src.size,
    read(off, len) {
      const first = Math.floor(off / IV_SECTOR);
      const last = Math.ceil((off + len) / IV_SECTOR);
      const got = rs(first, last - first);
      const start = off - first * IV_SECTOR;
      return got.subarray(Math.min(start, got.length), Math.min(start + len, got.length));
    },
  };
}

/** An unlocked volume: encrypt and decrypt sectors of its data segment. */
export class Luks2Volume {
  readonly segment: Luks2Segment;
  readonly sectorSize: number;
  /** Byte offset of the data segment on the device. */
  readonly dataOffset: number;
  private readonly xts: XtsPlain64;

  constructor(readonly header: Luks2Header, readonly volumeKey: Uint8Array, private readonly source?: { read: ByteReader; size: number | undefined }) {
    this.segment = dataSegment(header).segment;
    this.sectorSize = this.segment.sectorSize;
    this.dataOffset = this.segment.offset;
    this.xts = new XtsPlain64(volumeKey, this.sectorSize, this.sectorSize / IV_SECTOR);
  }

  /** Data segment size in bytes: the JSON's, or for "dynamic" the device's size past the offset. */
  get dataSize(): number | undefined {
    if (this.segment.size !== 'dynamic') return this.segment.size;
    if (this.source?.size === undefined) return undefined;
    const n = this.source.size - this.dataOffset;
    return n < 0 ? 0 : n - (n % this.sectorSize);
  }

  private ivOf(sector: number): number { return this.segment.ivTweak + sector * (this.sectorSize / IV_SECTOR); }

  /** Encrypt whole sectors; `sector` counts segment sectors (of sectorSize bytes) from the segment's start. */
  encryptSectors(sector: number, plain: Uint8Array, out?: Uint8Array): Uint8Array { return this.xts.encrypt(plain, this.ivOf(sector), out); }
  decryptSectors(sector: number, cipher: Uint8Array, out?: Uint8Array): Uint8Array { return this.xts.decrypt(cipher, this.ivOf(sector), out); }

  /** Read and decrypt `count` sectors through the source the volume was opened from. */
  readSectors(sector: number, count: number): Uint8Array {
    if (!this.source) throw new Error('volume has no source to read from');
    const len = count * this.sectorSize;
    const got = this.source.read(this.dataOffset + sector * this.sectorSize, len);
    if (got.length < len) throw new Luks2Error('truncated', this.dataOffset + sector * this.sectorSize + got.length, `data sectors ${sector}..${sector + count - 1} run past the end of the device`);
    return this.decryptSectors(sector, got);
  }

  /** Plaintext bytes [offset, offset + length) of the data segment, any alignment. */
  read(offset: number, length: number): Uint8Array {
    const s = this.sectorSize;
    const first = Math.floor(offset / s);
    const last = Math.ceil((offset + length) / s);
    const plain = this.readSectors(first, last - first);
    return plain.subarray(offset - first * s, offset - first * s + length);
  }
}

/** Read the header, unlock it with the passphrase, and return the volume. */
export function openLuks2(source: Luks2Source, passphrase: Passphrase): Luks2Volume {
  const src = byteReaderOf(source);
  const header = readLuks2Header(src.read);
  const { volumeKey } = unlockLuks2(header, passphrase, src.read);
  return new Luks2Volume(header, volumeKey, src);
}

export function isLuks2(first6: Uint8Array): boolean {
  return first6.length >= 6 && first6[0] === 0x4c && first6[1] === 0x55 && first6[2] === 0x4b && first6[3] === 0x53 && first6[4] === 0xba && first6[5] === 0xbe;
}
