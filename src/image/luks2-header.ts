// The LUKS2 on-disk header: two copies (primary at 0, secondary at hdr_size), each a 4096-byte
// binary header followed by a JSON area, checksummed together. Big-endian binary fields:
//
//   0 magic[6] "LUKS\xba\xbe" (secondary "SKUL\xba\xbe")   6 version u16 = 2
//   8 hdr_size u64 (binary + JSON)   16 seqid u64   24 label[48]   72 checksum_alg[32]
//   104 salt[64]   168 uuid[40]   208 subsystem[48]   256 hdr_offset u64   448 csum[64]
//
// csum = checksum_alg over all hdr_size bytes with the csum field zeroed. A reader uses the
// valid copy with the higher seqid, so a torn or damaged copy does not lose the volume.

import { createHash } from 'node:crypto';
import { Luks2Error, parseLuks2Metadata, type Luks2Metadata } from './luks2-metadata.js';

export { Luks2Error } from './luks2-metadata.js';

export const LUKS2_MAGIC_PRIMARY = [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe];
export const LUKS2_MAGIC_SECONDARY = [0x53, 0x4b, 0x55, 0x4c, 0xba, 0xbe];
export const LUKS2_BINARY_SIZE = 4096;
/** The header sizes LUKS2 allows (binary + JSON area), smallest first. */
export const LUKS2_HDR_SIZES = [0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000];
const CSUM_ALGS: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64 };

export interface Luks2BinaryFields {
  hdrSize: number;
  seqid: number;
  label: string;
  checksumAlg: string;
  uuid: string;
  subsystem: string;
}

export type CopyState = { ok: true; seqid: number } | { ok: false; problem: string; offset: number; code: Luks2Error['code'] };

export interface Luks2Header extends Luks2BinaryFields {
  metadata: Luks2Metadata;
  /** The JSON text as stored (without the NUL padding). */
  json: string;
  copies: { primary: CopyState; secondary: CopyState };
  used: 'primary' | 'secondary';
}

/** Reads `length` bytes at `offset` of the device; returns fewer at its end. */
export type ByteReader = (offset: number, length: number) => Uint8Array;

const dec = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

function cstring(b: Uint8Array, off: number, len: number, what: string, at: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  try { return dec.decode(b.subarray(off, end)); } catch { throw new Luks2Error('bad-header', at + off, `${what} is not UTF-8`); }
}

function hasMagic(b: Uint8Array, magic: number[]): boolean {
  return b.length >= 6 && magic.every((m, i) => b[i] === m);
}

interface ParsedCopy extends Luks2BinaryFields { metadata: Luks2Metadata; json: string }

function parseCopy(read: ByteReader, at: number, secondary: boolean): ParsedCopy {
  const bin = read(at, LUKS2_BINARY_SIZE);
  if (bin.length < LUKS2_BINARY_SIZE) throw new Luks2Error('truncated', at + bin.length, `${secondary ? 'secondary' : 'primary'} binary header cut short`);
  if (!hasMagic(bin, secondary ? LUKS2_MAGIC_SECONDARY : LUKS2_MAGIC_PRIMARY)) throw new Luks2Error('not-luks2', at, `no LUKS2 ${secondary ? 'secondary' : 'primary'} magic`);
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const version = dv.getUint16(6, false);
  if (version !== 2) throw new Luks2Error(version === 1 ? 'unsupported' : 'bad-header', at + 6, version === 1 ? 'LUKS1 header (only LUKS2 is supported)' : `header version ${version}`);
  const hdrSize = Number(dv.getBigUint64(8, false));
  if (!LUKS2_HDR_SIZES.includes(hdrSize)) throw new Luks2Error('bad-header', at + 8, `header size ${hdrSize} is not one LUKS2 allows`);
  const hdrOffset = Number(dv.getBigUint64(256, false));
  if (hdrOffset !== at) throw new Luks2Error('bad-header', at + 256, `header says it is at offset ${hdrOffset}, found at ${at}`);
  const seqid = dv.getBigUint64(16, false);
  if (seqid > BigInt(Number.MAX_SAFE_INTEGER)) throw new Luks2Error('bad-header', at + 16, 'seqid out of range');
  const checksumAlg = cstring(bin, 72, 32, 'checksum algorithm', at);
  const csumLen = CSUM_ALGS[checksumAlg];
  if (csumLen === undefined) throw new Luks2Error('unsupported', at + 72, `checksum algorithm '${checksumAlg}'`);
  const whole = read(at, hdrSize);
  if (whole.length < hdrSize) throw new Luks2Error('truncated', at + whole.length, `${secondary ? 'secondary' : 'primary'} JSON area cut short`);
  const h = createHash(checksumAlg);
  h.update(whole.subarray(0, 448));
  h.update(new Uint8Array(64));
  h.update(whole.subarray(512));
  const want = h.digest();
  for (let i = 0; i < csumLen; i++) if (whole[448 + i] !== want[i]) throw new Luks2Error('checksum', at + 448, `${secondary ? 'secondary' : 'primary'} header checksum does not match`);
  const area = whole.subarray(LUKS2_BINARY_SIZE, hdrSize);
  let end = area.indexOf(0);
  if (end < 0) end = area.length;
  for (let i = end; i < area.length; i++) if (area[i] !== 0) throw new Luks2Error('bad-json', at + LUKS2_BINARY_SIZE + i, 'bytes after the JSON text are not zero');
  let json: string;
  try { json = dec.decode(area.subarray(0, end)); } catch { throw new Luks2Error('bad-json', at + LUKS2_BINARY_SIZE, 'JSON area is not UTF-8'); }
  const metadata = parseLuks2Metadata(json, at + LUKS2_BINARY_SIZE, hdrSize);
  return {
    hdrSize, seqid: Number(seqid), checksumAlg, metadata, json,
    label: cstring(bin, 24, 48, 'label', at),
    uuid: cstring(bin, 168, 40, 'uuid', at),
    subsystem: cstring(bin, 208, 48, 'subsystem', at),
  };
}

function stateOf(f: () => ParsedCopy): { copy?: ParsedCopy; state: CopyState } {
  try {
    const copy = f();
    return { copy, state: { ok: true, seqid: copy.seqid } };
  } catch (e) {
    if (!(e instanceof Luks2Error)) throw e;
    return { state: { ok: false, problem: e.detail, offset: e.offset, code: e.code } };
  }
}

/**
 * Read and check both header copies and return the valid one with the higher seqid. Throws a
 * Luks2Error (the primary copy's problem) when neither is valid.
 */
export function readLuks2Header(read: ByteReader): Luks2Header {
  const p = stateOf(() => parseCopy(read, 0, false));
  let s: ReturnType<typeof stateOf>;
  if (p.copy) s = stateOf(() => parseCopy(read, p.copy!.hdrSize, true));
  else {
    // The primary cannot say where the secondary is: try every size LUKS2 allows.
    s = { state: { ok: false, problem: 'no secondary header found', offset: 0, code: 'not-luks2' } };
    for (const size of LUKS2_HDR_SIZES) {
      const probe = read(size, 6);
      if (!hasMagic(probe, LUKS2_MAGIC_SECONDARY)) continue;
      s = stateOf(() => parseCopy(read, size, true));
      if (s.copy) break;
    }
  }
  const copies = { primary: p.state, secondary: s.state };
  const pick = p.copy && (!s.copy || p.copy.seqid >= s.copy.seqid) ? { c: p.copy, used: 'primary' as const } : s.copy ? { c: s.copy, used: 'secondary' as const } : null;
  if (!pick) {
    const st = p.state as Extract<CopyState, { ok: false }>;
    const sst = s.state as Extract<CopyState, { ok: false }>;
    // A volume whose primary magic is gone but whose secondary is damaged says more through the secondary.
    const use = st.code === 'not-luks2' && sst.code !== 'not-luks2' ? sst : st;
    throw new Luks2Error(use.code, use.offset, use.problem);
  }
  return { ...pick.c, copies, used: pick.used };
}

/** Both header copies (2 * hdrSize bytes) for the given fields and JSON text. */
export function serializeLuks2Header(f: Luks2BinaryFields, json: string, salts: [Uint8Array, Uint8Array]): Uint8Array {
  const csumLen = CSUM_ALGS[f.checksumAlg];
  if (csumLen === undefined) throw new RangeError(`checksum algorithm '${f.checksumAlg}'`);
  const jsonBytes = enc.encode(json);
  if (jsonBytes.length >= f.hdrSize - LUKS2_BINARY_SIZE) throw new RangeError(`JSON metadata (${jsonBytes.length} bytes) does not fit the ${f.hdrSize - LUKS2_BINARY_SIZE}-byte area`);
  const out = new Uint8Array(2 * f.hdrSize);
  for (const [i, at] of [0, f.hdrSize].entries()) {
    const h = out.subarray(at, at + f.hdrSize);
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    h.set(i === 0 ? LUKS2_MAGIC_PRIMARY : LUKS2_MAGIC_SECONDARY, 0);
    dv.setUint16(6, 2, false);
    dv.setBigUint64(8, BigInt(f.hdrSize), false);
    dv.setBigUint64(16, BigInt(f.seqid), false);
    putString(h, 24, 48, f.label, 'label');
    putString(h, 72, 32, f.checksumAlg, 'checksum algorithm');
    h.set(salts[i]!.subarray(0, 64), 104);
    putString(h, 168, 40, f.uuid, 'uuid');
    putString(h, 208, 48, f.subsystem, 'subsystem');
    dv.setBigUint64(256, BigInt(at), false);
    h.set(jsonBytes, LUKS2_BINARY_SIZE);
    const csum = createHash(f.checksumAlg).update(h).digest();
    h.set(csum.subarray(0, csumLen), 448);
  }
  return out;
}

function putString(b: Uint8Array, off: number, len: number, s: string, what: string): void {
  const e = enc.encode(s);
  if (e.length >= len) throw new RangeError(`${what} '${s}' is longer than ${len - 1} bytes`);
  b.set(e, off);
}
