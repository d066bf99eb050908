// Streaming disk encryption, checked sector by sector against node's own aes-256-xts (one call
// per sector, the LUKS2 IV: the sector's number in 512-byte units): on this thread and on a
// pool of three, 512- and 4096-byte sectors, several chunks with a short last one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptDiskFile, decryptDiskFile } from '../../src/image/luks2-file.js';
import { xtsNative } from '../../src/image/xts.js';
import { cleanup, tmp } from './fixture.js';

const DATA_OFFSET = 1 << 20;

for (const sectorSize of [512, 4096] as const) {
  for (const jobs of [1, 3]) {
    test(`encryptDiskFile, ${sectorSize}-byte sectors, ${jobs} thread${jobs > 1 ? 's' : ''}: every sector is node's aes-256-xts with the LUKS2 IV`, async () => {
      const dir = tmp('luks2-file');
      try {
        const plain = new Uint8Array(randomBytes(1024 * 1024 + 3 * 4096));
        writeFileSync(join(dir, 'plain.img'), plain);
        const pass = new Uint8Array(randomBytes(32));
        const created = await encryptDiskFile(join(dir, 'plain.img'), join(dir, 'disk.img'), { passphrase: pass, sectorSize, dataOffset: DATA_OFFSET, jobs, chunkSize: 192 * 1024 });
        const disk = new Uint8Array(readFileSync(join(dir, 'disk.img')));
        assert.equal(disk.length, DATA_OFFSET + plain.length);
        const data = disk.subarray(DATA_OFFSET);
        assert.deepEqual(xtsNative(true, created.volumeKey, data, 0, sectorSize, sectorSize / 512), plain);
        // And back, through the other thread count.
        await decryptDiskFile(join(dir, 'disk.img'), pass, join(dir, 'back.img'), { jobs: jobs === 1 ? 3 : 1, chunkSize: 64 * 1024 });
        assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'back.img'))), plain);
      } finally { cleanup(dir); }
    });
  }
}

test('a chunk size that would split a sector is refused before anything is written; a whole number of sectors works', async () => {
  const dir = tmp('luks2-file');
  try {
    writeFileSync(join(dir, 'plain.img'), new Uint8Array(randomBytes(64 * 1024)));
    const pass = new Uint8Array(randomBytes(32));
    const o = { passphrase: pass, sectorSize: 4096, dataOffset: DATA_OFFSET, jobs: 1 } as const;
    await assert.rejects(encryptDiskFile(join(dir, 'plain.img'), join(dir, 'bad.img'), { ...o, chunkSize: 6144 }), /chunkSize 6144 is not a positive multiple of the 4096-byte sector/);
    assert.equal(existsSync(join(dir, 'bad.img')), false);
    await encryptDiskFile(join(dir, 'plain.img'), join(dir, 'good.img'), { ...o, chunkSize: 8192 });
  } finally { cleanup(dir); }
});
