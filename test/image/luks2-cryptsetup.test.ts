// LUKS2 interoperability with cryptsetup, both ways: cryptsetup reads and unlocks the disks this
// project writes, and this project unlocks disks cryptsetup formatted, with the same volume key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, closeSync, openSync, ftruncateSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptDiskFile, openLuks2File, decryptDiskFile, readLuks2HeaderFile } from '../../src/image/luks2-file.js';
import { Luks2Error } from '../../src/image/luks2.js';
import { writeTar, readTar } from '../../src/image/tar.js';
import { needTool, run } from './tools.js';

function withTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pef-luks2-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The volume key cryptsetup prints with --dump-volume-key (hex pairs after the label). */
function dumpVolumeKey(disk: string, keyFile: string): string {
  const r = run('cryptsetup', ['luksDump', '--dump-volume-key', '-q', '--key-file', keyFile, disk]);
  assert.equal(r.status, 0, r.stderr);
  const m = /(?:MK dump|Volume key):\s*([0-9a-f\s]+)/i.exec(r.stdout);
  assert.ok(m, r.stdout);
  return m[1]!.replace(/\s+/g, '');
}

function plainDisk(path: string, size: number): Uint8Array {
  const disk = new Uint8Array(size);
  disk.set(writeTar([{ path: 'etc', type: 'dir' }, { path: 'etc/secret', data: 'top secret\n' }]));
  disk.set(randomBytes(4096), size - 4096);
  writeFileSync(path, disk);
  return disk;
}

test('cryptsetup reads the header we write, accepts the passphrase, refuses another, and dumps our volume key', async (t) => {
  if (!needTool(t, 'cryptsetup')) return;
  await withTmp(async (dir) => {
    const pass = new Uint8Array(randomBytes(32));
    writeFileSync(join(dir, 'key'), pass);
    writeFileSync(join(dir, 'wrong'), randomBytes(32));
    const plain = plainDisk(join(dir, 'plain.img'), 1 << 20);
    const created = await encryptDiskFile(join(dir, 'plain.img'), join(dir, 'disk.img'), { passphrase: pass });
    const dump = run('cryptsetup', ['luksDump', join(dir, 'disk.img')]);
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /Version:\s+2/);
    assert.match(dump.stdout, /cipher: aes-xts-plain64/);
    assert.match(dump.stdout, /sector: 512 \[bytes\]/);
    assert.match(dump.stdout, /Key:\s+512 bits/);
    assert.match(dump.stdout, /PBKDF:\s+pbkdf2/);
    assert.match(dump.stdout, /Hash:\s+sha256/);
    assert.match(dump.stdout, /AF stripes: 4000/);
    assert.match(dump.stdout, new RegExp(`UUID:\\s+${created.header.uuid}`));
    const ok = run('cryptsetup', ['open', '--test-passphrase', '--key-file', join(dir, 'key'), join(dir, 'disk.img')]);
    assert.equal(ok.status, 0, ok.stderr);
    const no = run('cryptsetup', ['open', '--test-passphrase', '--key-file', join(dir, 'wrong'), join(dir, 'disk.img')]);
    assert.notEqual(no.status, 0);
    assert.equal(dumpVolumeKey(join(dir, 'disk.img'), join(dir, 'key')), Buffer.from(created.volumeKey).toString('hex'));
    // And our own reader gets the tree back, on this thread (the disk was written by the worker pool).
    await decryptDiskFile(join(dir, 'disk.img'), pass, join(dir, 'back.img'), { jobs: 1 });
    const back = new Uint8Array(readFileSync(join(dir, 'back.img')));
    assert.deepEqual(back, plain);
    assert.equal(Buffer.from(readTar(back)[1]!.data).toString(), 'top secret\n');
  });
});

for (const sectorOpt of [[], ['--sector-size', '512'], ['--sector-size', '4096']]) {
  test(`we unlock a disk cryptsetup luksFormat made ${sectorOpt.join(' ') || '(default sector size)'}, with its volume key`, async (t) => {
    if (!needTool(t, 'cryptsetup')) return;
    await withTmp(async (dir) => {
      const img = join(dir, 'c.img');
      const fd = openSync(img, 'w'); ftruncateSync(fd, 20 << 20); closeSync(fd);
      const pass = randomBytes(32);
      writeFileSync(join(dir, 'key'), pass);
      const f = run('cryptsetup', ['luksFormat', '-q', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', ...sectorOpt, '--key-file', join(dir, 'key'), img]);
      assert.equal(f.status, 0, f.stderr);
      const opened = openLuks2File(img, pass);
      try {
        assert.equal(Buffer.from(opened.volume.volumeKey).toString('hex'), dumpVolumeKey(img, join(dir, 'key')));
        if (sectorOpt.length) assert.equal(opened.volume.sectorSize, Number(sectorOpt[1]));
        assert.equal(opened.volume.dataSize, (20 << 20) - opened.volume.dataOffset);
        // Write a payload with our code, read it back through the sector API.
        const payload = new Uint8Array(randomBytes(opened.volume.sectorSize * 3));
        const enc = opened.volume.encryptSectors(5, payload);
        assert.notDeepEqual(enc, payload);
        assert.deepEqual(opened.volume.decryptSectors(5, enc), payload);
      } finally { opened.close(); }
      assert.throws(() => openLuks2File(img, 'not the passphrase'), (e) => e instanceof Luks2Error && e.code === 'wrong-passphrase');
      assert.equal(readLuks2HeaderFile(img).metadata.keyslots['0']!.af.stripes, 4000);
    });
  });
}

test('a disk cryptsetup formatted with an argon2 keyslot is reported as unsupported, not as a wrong passphrase', async (t) => {
  if (!needTool(t, 'cryptsetup')) return;
  await withTmp(async (dir) => {
    const img = join(dir, 'a.img');
    const fd = openSync(img, 'w'); ftruncateSync(fd, 20 << 20); closeSync(fd);
    writeFileSync(join(dir, 'key'), 'pw');
    const f = run('cryptsetup', ['luksFormat', '-q', '--type', 'luks2', '--pbkdf', 'argon2id', '--pbkdf-force-iterations', '4', '--pbkdf-memory', '32', '--key-file', join(dir, 'key'), img]);
    assert.equal(f.status, 0, f.stderr);
    assert.throws(() => openLuks2File(img, 'pw'), (e) => e instanceof Luks2Error && e.code === 'unsupported');
  });
});
