// Unpacking the initramfs into RAM files, as Linux's unpack_to_rootfs: one or more cpio
// "newc" archives back to back (with zero padding between), the first of which may be the
// ESM archive svm-tools prepends (its files land under /opt/ibm/pef like any other).

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { isCpioAt, parseCpio, S_IFDIR, S_IFREG } from '../../image/cpio.js';
import * as mem from '../mem.js';
import type { Vfs } from './vfs.js';

export function* unpackInitramfs(cpu: Cpu, vfs: Vfs, start: number, end: number): Generator<Op, number, void> {
  const bytes = yield* mem.read(cpu, start, end - start);
  let off = 0;
  let files = 0;
  for (;;) {
    while (off < bytes.length && bytes[off] === 0) off++;
    off = (off + 3) & ~3;
    if (off >= bytes.length || !isCpioAt(bytes, off)) break;
    const a = parseCpio(bytes, off);
    for (const e of a.entries) {
      const path = '/' + e.name.replace(/^\.?\/+/, '');
      if (path === '/') continue;
      const type = e.mode & 0o170000;
      if (type === S_IFDIR) vfs.mkdirp(path);
      else if (type === S_IFREG) {
        yield* vfs.addRamFile(cpu, path, start + (e.dataOffset), e.data.length, e.mode & 0o7777);
        files++;
      }
    }
    off = a.end;
  }
  return files;
}
