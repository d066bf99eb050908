// An encrypted root (LUKS2, aes-xts-plain64): the passphrase comes from the ESM blob through
// UV_ESMB_GET_FILE("rootd") (as svm-password-agent does), the header and keyslots are read
// through the block device, and the volume key then decrypts each chunk the block cache reads.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { UV } from '../abi/ultracalls.js';
import { Luks2Volume, unlockLuks2 } from '../image/luks2.js';
import { readLuks2Header, type ByteReader } from '../image/luks2-header.js';
import { packBE, ucall, unpackBE } from './arch.js';
import * as mem from './mem.js';
import type { CryptLayer } from './fs/bcache.js';
import type { PageAllocator } from './pages.js';
import type { VirtioBlkDriver } from './virtio/blk.js';

/** The ESM file names svm-password-agent tries for the root disk's passphrase. */
export const ROOT_PASSPHRASE_FILES = ['rootd', 'crypttab'];
const MAX_FILE = 1 << 20;
const MAX_HEADER = 64 * 1024 * 1024;

/** An attachment of the SVM's ESM blob, 64 bytes per UV_ESMB_GET_FILE; undefined if there is none. */
export function* esmFile(cpu: Cpu, name: string): Generator<Op, Uint8Array | undefined, void> {
  const nameBytes = new Uint8Array(32);
  nameBytes.set(new TextEncoder().encode(name).subarray(0, 31));
  const n = packBE(nameBytes, 4);
  const parts: Uint8Array[] = [];
  let off = 0;
  for (;;) {
    const r = yield* ucall(cpu, UV.UV_ESMB_GET_FILE, off, ...n);
    if (r.rc < 0) return off === 0 ? undefined : Buffer.concat(parts);
    parts.push(unpackBE(r.out.slice(0, 8), r.rc));
    off += r.rc;
    if (r.rc < 64 || off >= MAX_FILE) return Buffer.concat(parts);
  }
}

/** Raw bytes [0, len) of the disk, through a scratch buffer in guest memory. */
export function* rawPrefix(cpu: Cpu, blk: VirtioBlkDriver, pages: PageAllocator, len: number): Generator<Op, Uint8Array, void> {
  const n = Math.min(Math.ceil(len / 512) * 512, blk.bytes);
  const npages = Math.ceil(n / 65536);
  const buf = pages.alloc(npages, 'LUKS2 header');
  yield* blk.read(cpu, 0, buf, n);
  const out = yield* mem.read(cpu, buf, n);
  yield* mem.zero(cpu, buf, npages * 65536);
  pages.free(buf, npages);
  return out;
}

export class LuksOpenError extends Error {
  constructor(message: string) { super(message); this.name = 'LuksOpenError'; }
}

export function* openLuksRoot(cpu: Cpu, blk: VirtioBlkDriver, pages: PageAllocator, passphrase: Uint8Array): Generator<Op, CryptLayer, void> {
  const first = yield* rawPrefix(cpu, blk, pages, 4096);
  const hdrSize = Number(new DataView(first.buffer, first.byteOffset).getBigUint64(8));
  if (!(hdrSize >= 0x4000 && hdrSize <= 0x400000)) throw new LuksOpenError(`LUKS2 header size ${hdrSize} out of range`);
  let area = yield* rawPrefix(cpu, blk, pages, 2 * hdrSize);
  const reader = (): ByteReader => (o, l) => area.subarray(Math.min(o, area.length), Math.min(o + l, area.length));
  const header = readLuks2Header(reader());
  const end = 2 * hdrSize + header.metadata.config.keyslotsSize;
  if (end > MAX_HEADER) throw new LuksOpenError(`LUKS2 keyslots area of ${end} bytes is too large`);
  area = yield* rawPrefix(cpu, blk, pages, end);
  const { volumeKey } = unlockLuks2(header, passphrase, reader());
  area.fill(0);
  const vol = new Luks2Volume(header, volumeKey, { read: () => new Uint8Array(0), size: blk.bytes });
  volumeKey.fill(0);
  const dataSize = vol.dataSize;
  if (dataSize === undefined) throw new LuksOpenError('LUKS2 data segment has no size');
  return {
    dataOffset: vol.dataOffset,
    dataSize,
    sectorSize: vol.sectorSize,
    decryptSectors: (s, c) => vol.decryptSectors(s, c),
  };
}
