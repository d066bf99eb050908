// The root disk's file system: a ustar archive on the (decrypted) volume, mounted read-only.
// Mounting reads only the headers; file contents stay on the disk until read, through the
// block cache.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { parseTarHeader, TAR_BLOCK } from '../../image/tar.js';
import type { BlockCache } from './bcache.js';
import type { Vfs } from './vfs.js';

/** A bound on entries, so a hostile disk cannot make the mount run forever. */
export const MAX_TAR_ENTRIES = 100_000;

export function* mountTar(cpu: Cpu, dev: BlockCache, vfs: Vfs, at = '/'): Generator<Op, number, void> {
  let off = 0;
  let n = 0;
  const prefix = at === '/' ? '' : at;
  while (off + TAR_BLOCK <= dev.size) {
    if (n >= MAX_TAR_ENTRIES) throw new Error(`more than ${MAX_TAR_ENTRIES} entries`);
    const block = yield* dev.bytes(cpu, off, TAR_BLOCK);
    const h = parseTarHeader(block, 0);
    if (h === null) return n;
    const path = `${prefix}/${h.path}`;
    if (h.type === 'dir') vfs.mkdirp(path);
    else if (h.type === 'file') {
      if (off + TAR_BLOCK + h.size > dev.size) throw new Error(`'${h.path}' runs past the end of the disk`);
      vfs.add(path, 'file', { kind: 'bdev', dev, offset: off + TAR_BLOCK }, h.size, { mode: h.mode, readonly: true });
    }
    n++;
    off += TAR_BLOCK + Math.ceil(h.size / TAR_BLOCK) * TAR_BLOCK;
  }
  return n;
}
