// aes-xts-plain64, the cipher of LUKS2 keyslots and data segments: each data unit (a sector)
// is one XTS message whose tweak is its IV, the sector number as a 64-bit little-endian
// integer padded to 16 bytes. Key: 64 bytes (AES-256 data key, then AES-256 tweak key).
//
// The paths give identical bytes (property tests hold them together):
// - `xtsNative`: one node:crypto aes-256-xts call per sector. Simple; the reference. A
//   createCipheriv costs about 4 us, more than the AES of a 4096-byte sector (under 1 us).
// - the WebAssembly engine (`xtsWasmEngine`), for bulk work: whole batches of sectors go
//   through node:crypto AES-256-ECB: E_K2 over all the IVs at once gives each sector's initial
//   tweak; the data goes through one E_K1 call per 16 KiB between two XORs with the tweak
//   sequence T*alpha^j. Every AES block is computed by node:crypto; only the tweak's GF(2^128)
//   doubling (IEEE 1619, as OpenSSL's XTS does it) and the XORs are done here, by a WebAssembly
//   SIMD kernel (xts-mask-wasm.ts). It works in place in a WebAssembly memory.
// - `XtsPlain64`: the engine behind an ordinary-buffer API (copying through its own memory),
//   or where WebAssembly SIMD is missing, the JavaScript loop below.
// - `XtsPool` (xts-pool.ts): the engine in place in a shared memory that holds the caller's
//   buffers, on this thread and worker threads.

import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { maskModuleBytes, wasmApi, type WasmApiLike, type WasmMemoryLike } from './xts-mask-wasm.js';

export const XTS_KEY_BYTES = 64;
export const IV_SECTOR = 512;
const SLICE_BYTES = 64 * 1024;

export class XtsKeyError extends Error {
  constructor(detail: string) { super(`aes-xts-plain64: ${detail}`); this.name = 'XtsKeyError'; }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== XTS_KEY_BYTES) throw new XtsKeyError(`key is ${key.length} bytes, want ${XTS_KEY_BYTES}`);
  // OpenSSL refuses equal halves; so must we, or the two paths would disagree.
  let same = true;
  for (let i = 0; i < 32; i++) if (key[i] !== key[i + 32]) { same = false; break; }
  if (same) throw new XtsKeyError('the data and tweak halves of the key are equal');
}

function plain64(iv: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(iv >>> 0, 0);
  b.writeUInt32LE(Math.floor(iv / 0x100000000), 4);
  return b;
}

function checkUnits(data: Uint8Array, unit: number): void {
  if (unit < 16 || unit % 16 !== 0) throw new RangeError(`data unit ${unit} is not a multiple of 16`);
  if (data.length % unit !== 0) throw new RangeError(`${data.length} bytes is not a whole number of ${unit}-byte sectors`);
}

/**
 * Encrypt or decrypt whole data units with one node:crypto aes-256-xts call each. Unit k gets
 * the IV `firstIv + k * ivStep` (LUKS2 counts IVs in 512-byte sectors whatever the unit size).
 */
export function xtsNative(decrypt: boolean, key: Uint8Array, data: Uint8Array, firstIv: number, unit = IV_SECTOR, ivStep = unit / IV_SECTOR): Uint8Array {
  checkKey(key);
  checkUnits(data, unit);
  const out = new Uint8Array(data.length);
  for (let off = 0, iv = firstIv; off < data.length; off += unit, iv += ivStep) {
    const c = decrypt ? createDecipheriv('aes-256-xts', key, plain64(iv)) : createCipheriv('aes-256-xts', key, plain64(iv));
    out.set(c.update(data.subarray(off, off + unit)), off);
    c.final();
  }
  return out;
}

/** Bytes per ECB call on the data: small enough for the slice and its tweaks to stay in cache,
 * and for node's output buffers (one per call) to be reused by malloc rather than faulted in. */
export const XTS_SLICE = 16 * 1024;
/** Data bytes whose initial tweaks one ECB call computes. */
export const XTS_BATCH = 64 * 1024;

export interface XtsLayout { slice: number; batch: number; scratchBytes: number }

/** How the WebAssembly engine cuts its work for a unit size, and the scratch memory it needs. */
export function xtsLayout(unit: number): XtsLayout {
  const slice = Math.max(unit, XTS_SLICE - (XTS_SLICE % unit));
  const batch = Math.max(slice, XTS_BATCH - (XTS_BATCH % slice));
  return { slice, batch, scratchBytes: 2 * (batch / unit) * 16 + slice };
}

export type XtsRegionRun = (decrypt: boolean, p: number, n: number, firstIv: number) => void;

/**
 * The WebAssembly engine over a region of a WebAssembly memory, in place: run(decrypt, p, n,
 * firstIv) transforms the n bytes at address p (whole units). It uses layout.scratchBytes at
 * `scratch` for the IVs, the initial tweaks (E_K2 of the IVs, one ECB call per batch) and one
 * slice's tweaks. Per slice: mask (whiten, keep the tweaks), one ECB call, xor with the kept
 * tweaks. Self-contained (it uses nothing but its arguments) so that worker threads can run its
 * source as it is.
 */
export function xtsWasmEngine(nodeCrypto: typeof import('node:crypto'), wasmApi: WasmApiLike, wasmBytes: Uint8Array, memory: WasmMemoryLike, scratch: number, layout: XtsLayout, key: Uint8Array, unit: number, ivStep: number): XtsRegionRun {
  const exports = new wasmApi.Instance(new wasmApi.Module(wasmBytes), { env: { memory } }).exports;
  const mask = exports.mask as (p: number, tw: number, units: number, bpu: number, out: number) => void;
  const xor = exports.xor as (p: number, q: number, n: number) => void;
  const m = new Uint8Array(memory.buffer);
  const dv = new DataView(memory.buffer);
  const k1e = nodeCrypto.createCipheriv('aes-256-ecb', key.subarray(0, 32), null).setAutoPadding(false);
  const k1d = nodeCrypto.createDecipheriv('aes-256-ecb', key.subarray(0, 32), null).setAutoPadding(false);
  const k2e = nodeCrypto.createCipheriv('aes-256-ecb', key.subarray(32, 64), null).setAutoPadding(false);
  const bpu = unit / 16;
  const { slice, batch } = layout;
  const W_IV = scratch;
  const W_TW0 = W_IV + (batch / unit) * 16;
  const W_TW = W_TW0 + (batch / unit) * 16;
  return (decrypt, p, n, firstIv) => {
    const k1 = decrypt ? k1d : k1e;
    for (let b = 0; b < n; b += batch) {
      const bn = Math.min(batch, n - b);
      const units = bn / unit;
      for (let k = 0, v = firstIv + (b / unit) * ivStep; k < units; k++, v += ivStep) {
        dv.setUint32(W_IV + k * 16, v >>> 0, true);
        dv.setUint32(W_IV + k * 16 + 4, Math.floor(v / 4294967296), true);
        dv.setUint32(W_IV + k * 16 + 8, 0, true);
        dv.setUint32(W_IV + k * 16 + 12, 0, true);
      }
      m.set(k2e.update(m.subarray(W_IV, W_IV + units * 16)), W_TW0);
      for (let s = 0; s < bn; s += slice) {
        const sn = Math.min(slice, bn - s);
        const at = p + b + s;
        mask(at, W_TW0 + (s / unit) * 16, sn / unit, bpu, W_TW);
        m.set(k1.update(m.subarray(at, at + sn)), at);
        xor(at, W_TW, sn);
      }
    }
  };
}

/** Can the WebAssembly engine handle this unit size (power of two, 64..65536 bytes)? */
export function wasmEngineFits(unit: number): boolean {
  return unit >= 64 && unit <= SLICE_BYTES && (unit & (unit - 1)) === 0;
}

/** The single-thread WebAssembly engine with its own memory: data is copied through it 64 KiB at a time. */
function privateWasmEngine(wasm: WasmApiLike, key: Uint8Array, unit: number, ivStep: number): (decrypt: boolean, data: Uint8Array, firstIv: number, out: Uint8Array) => void {
  const piece = Math.max(unit, SLICE_BYTES);
  const layout = xtsLayout(unit);
  const pages = Math.ceil((piece + layout.scratchBytes) / 65536);
  const memory = new wasm.Memory({ initial: pages, maximum: pages });
  const run = xtsWasmEngine(nodeCrypto, wasm, maskModuleBytes(), memory, piece, layout, key, unit, ivStep);
  const m = new Uint8Array(memory.buffer);
  return (decrypt, data, firstIv, out) => {
    for (let off = 0; off < data.length; off += piece) {
      const n = Math.min(piece, data.length - off);
      m.set(data.subarray(off, off + n), 0);
      run(decrypt, 0, n, firstIv + (off / unit) * ivStep);
      out.set(m.subarray(0, n), off);
    }
  };
}

/** Batched aes-xts-plain64 with reusable ECB contexts; see the file comment. */
export class XtsPlain64 {
  private readonly k1e: Cipher;
  private readonly k1d: Decipher;
  private readonly k2e: Cipher;
  private ivBuf = new Uint8Array(0);
  private tmp = new Uint8Array(0);
  private readonly engine: ((decrypt: boolean, data: Uint8Array, firstIv: number, out: Uint8Array) => void) | null;

  constructor(key: Uint8Array, readonly unit = IV_SECTOR, readonly ivStep = unit / IV_SECTOR, useWasm = true) {
    checkKey(key);
    if (unit < 16 || unit % 16 !== 0) throw new RangeError(`data unit ${unit} is not a multiple of 16`);
    this.k1e = createCipheriv('aes-256-ecb', key.subarray(0, 32), null).setAutoPadding(false);
    this.k1d = createDecipheriv('aes-256-ecb', key.subarray(0, 32), null).setAutoPadding(false);
    this.k2e = createCipheriv('aes-256-ecb', key.subarray(32, 64), null).setAutoPadding(false);
    const wasm = useWasm && wasmEngineFits(unit) ? wasmApi() : undefined;
    this.engine = wasm ? privateWasmEngine(wasm, key, unit, ivStep) : null;
  }

  /** Which path this instance takes. */
  get path(): 'wasm' | 'js' { return this.engine ? 'wasm' : 'js'; }

  encrypt(data: Uint8Array, firstIv: number, out?: Uint8Array): Uint8Array { return this.run(false, data, firstIv, out); }
  decrypt(data: Uint8Array, firstIv: number, out?: Uint8Array): Uint8Array { return this.run(true, data, firstIv, out); }

  private run(decrypt: boolean, data: Uint8Array, firstIv: number, out: Uint8Array = new Uint8Array(data.length)): Uint8Array {
    checkUnits(data, this.unit);
    if (out.length < data.length) throw new RangeError('output buffer too small');
    if (this.engine) { this.engine(decrypt, data, firstIv, out); return out; }
    if (data.byteOffset % 4 !== 0 || out.byteOffset % 4 !== 0) {
      // Word access needs aligned views; copy once rather than fall back to bytes.
      const a = new Uint8Array(data.length); a.set(data);
      const o = new Uint8Array(data.length);
      this.run(decrypt, a, firstIv, o);
      out.set(o);
      return out;
    }
    // Slices small enough to stay in cache: AES over 64 KiB runs about twice as fast as over 1 MiB.
    const slice = Math.max(this.unit, SLICE_BYTES - (SLICE_BYTES % this.unit));
    for (let off = 0; off < data.length; off += slice) {
      const end = Math.min(off + slice, data.length);
      this.runSlice(decrypt, data.subarray(off, end), firstIv + (off / this.unit) * this.ivStep, out.subarray(off, end));
    }
    return out;
  }

  private runSlice(decrypt: boolean, data: Uint8Array, firstIv: number, out: Uint8Array): void {
    const units = data.length / this.unit;
    const blocksPerUnit = this.unit / 16;
    const tweaks = this.initialTweaks(units, firstIv);
    if (this.tmp.length < data.length) this.tmp = new Uint8Array(data.length);
    const tmp = this.tmp.subarray(0, data.length);
    maskWithTweaks(data, tmp, tweaks, units, blocksPerUnit);
    const aes = aligned(decrypt ? this.k1d.update(tmp) : this.k1e.update(tmp));
    maskWithTweaks(aes, out, tweaks, units, blocksPerUnit);
  }

  private initialTweaks(units: number, firstIv: number): Uint32Array {
    const need = units * 16;
    if (this.ivBuf.length < need) this.ivBuf = new Uint8Array(need);
    const iv = new DataView(this.ivBuf.buffer, 0, need);
    for (let k = 0, v = firstIv; k < units; k++, v += this.ivStep) {
      iv.setUint32(k * 16, v >>> 0, true);
      iv.setUint32(k * 16 + 4, Math.floor(v / 0x100000000), true);
      iv.setUint32(k * 16 + 8, 0, true);
      iv.setUint32(k * 16 + 12, 0, true);
    }
    const t = aligned(this.k2e.update(this.ivBuf.subarray(0, need)));
    return new Uint32Array(t.buffer, t.byteOffset, need >>> 2);
  }
}

/** node:crypto may hand back a view at any offset; word views need a multiple of 4. */
function aligned(b: Uint8Array): Uint8Array {
  if (b.byteOffset % 4 === 0) return b;
  const c = new Uint8Array(b.length); c.set(b); return c;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * dst = src XOR T_j for every 16-byte block j of every unit, where T_0 is the unit's encrypted
 * IV and T_{j+1} = T_j * alpha in GF(2^128) (shift the little-endian 128-bit value left by one;
 * on carry out, XOR 0x87 into the low byte).
 */
function maskWithTweaks(src: Uint8Array, dst: Uint8Array, tw: Uint32Array, units: number, blocksPerUnit: number): void {
  if (!LITTLE_ENDIAN_HOST) throw new Error('aes-xts-plain64 batching assumes a little-endian host');
  const s = new Int32Array(src.buffer, src.byteOffset, src.length >>> 2);
  const d = new Int32Array(dst.buffer, dst.byteOffset, src.length >>> 2);
  const t = new Int32Array(tw.buffer, tw.byteOffset, tw.length);
  const wordsPerUnit = blocksPerUnit * 4;
  for (let u = 0; u < units; u++) {
    let w0 = t[u * 4]!, w1 = t[u * 4 + 1]!, w2 = t[u * 4 + 2]!, w3 = t[u * 4 + 3]!;
    let o = u * wordsPerUnit;
    const end = o + wordsPerUnit;
    for (; o < end; o += 4) {
      d[o] = s[o]! ^ w0; d[o + 1] = s[o + 1]! ^ w1; d[o + 2] = s[o + 2]! ^ w2; d[o + 3] = s[o + 3]! ^ w3;
      const carry = w3 >> 31;
      w3 = (w3 << 1) | (w2 >>> 31);
      w2 = (w2 << 1) | (w1 >>> 31);
      w1 = (w1 << 1) | (w0 >>> 31);
      w0 = (w0 << 1) ^ (carry & 0x87);
    }
  }
}
