// The block cache: the root disk in 64 KiB chunks held in guest pages. Below it, the raw
// device (virtio-blk through the DMA API) and, for an encrypted root, dm-crypt: chunks are
// read as ciphertext and decrypted in place, so plaintext exists only in the guest's own
// (for an SVM, secure) memory. The oldest chunks are dropped past a limit.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { PAGE_SIZE } from '../../abi/pages.js';
import * as mem from '../mem.js';
import type { PageAllocator } from '../pages.js';
import type { VirtioBlkDriver } from '../virtio/blk.js';

/** Sector-level decryption of a mapped device (dm-crypt). */
export interface CryptLayer {
  /** Byte offset of the encrypted payload on the raw device. */
  readonly dataOffset: number;
  readonly dataSize: number;
  readonly sectorSize: number;
  decryptSectors(sector: number, cipher: Uint8Array): Uint8Array;
}

export const CHUNK = PAGE_SIZE;

export class BlockCache {
  readonly #chunks = new Map<number, number>();
  /** Bytes read from the device and decrypted, for the report. */
  readBytes = 0;

  constructor(private readonly blk: VirtioBlkDriver, private readonly pages: PageAllocator, readonly crypt: CryptLayer | undefined, private readonly maxChunks = 256) {}

  /** Size of the (decrypted) volume in bytes. */
  get size(): number { return this.crypt ? this.crypt.dataSize : this.blk.bytes; }

  *#chunk(cpu: Cpu, i: number): Generator<Op, number, void> {
    const have = this.#chunks.get(i);
    if (have !== undefined) {
      this.#chunks.delete(i);
      this.#chunks.set(i, have);
      return have;
    }
    if (this.#chunks.size >= this.maxChunks) {
      const [old, g] = this.#chunks.entries().next().value as [number, number];
      this.#chunks.delete(old);
      this.pages.free(g);
    }
    const g = this.pages.alloc(1, 'block cache');
    const off = i * CHUNK;
    const len = Math.min(CHUNK, this.size - off);
    const raw = this.crypt ? this.crypt.dataOffset + off : off;
    const whole = Math.floor(len / 512) * 512;
    if (whole > 0) yield* this.blk.read(cpu, raw, g, whole);
    if (this.crypt && whole > 0) {
      const s = this.crypt.sectorSize;
      const n = Math.floor(whole / s) * s;
      const cipher = yield* mem.read(cpu, g, n);
      const plain = this.crypt.decryptSectors(off / s, cipher);
      yield* mem.write(cpu, g, plain);
      plain.fill(0);
    }
    this.readBytes += whole;
    this.#chunks.set(i, g);
    return g;
  }

  /** Copy volume bytes [off, off+len) into guest memory at `dst`. */
  *copyOut(cpu: Cpu, off: number, dst: number, len: number): Generator<Op, void, void> {
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const g = yield* this.#chunk(cpu, Math.floor(pos / CHUNK));
      const k = Math.min(len - done, CHUNK - (pos % CHUNK));
      yield* mem.copy(cpu, dst + done, g + (pos % CHUNK), k);
      done += k;
    }
  }

  /** Volume bytes as a small host copy (metadata only: tar headers). */
  *bytes(cpu: Cpu, off: number, len: number): Generator<Op, Uint8Array, void> {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const g = yield* this.#chunk(cpu, Math.floor(pos / CHUNK));
      const k = Math.min(len - done, CHUNK - (pos % CHUNK));
      out.set(yield* mem.read(cpu, g + (pos % CHUNK), k), done);
      done += k;
    }
    return out;
  }
}
