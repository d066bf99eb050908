// pef svm convert end to end: the SVM image holds a LUKS2 disk that cryptsetup opens with the
// passphrase only an authorized machine can take from the ESM blob, the digests the
// ultravisor will check, svm=on, and the original initramfs behind the ESM archive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decryptDigests, decryptFile, openWithSecretKey, parseEsmBlob, splitInitramfs, EsmRefused } from '../../src/esm/index.js';
import { decryptDiskFile } from '../../src/image/luks2-file.js';
import { readTar } from '../../src/image/tar.js';
import { SAMPLE_BOOTARGS, SAMPLE_SECRET } from '../../src/image/sample.js';
import { RTAS_TEXT } from '../../src/image/rtas.js';
import { keys, tmp, cleanup, pef, convertArgs, tempsOf } from './fixture.js';
import { needTool, run } from './tools.js';

const sha512 = (b: Uint8Array | string) => createHash('sha512').update(b).digest('hex');
const secKey = (path: string) => createPrivateKey(readFileSync(path, 'latin1'));

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle)) >= 0;
}

test('a sample VM becomes an SVM an authorized machine can open, with the digests of its files', async (t) => {
  const k = keys();
  const d = tmp('convert');
  try {
    assert.equal((await pef('image', 'sample', join(d, 'vm'))).code, 0);
    writeFileSync(join(d, 'app.key'), 'application key\n');
    const r = await pef(...convertArgs(join(d, 'vm'), join(d, 'svm'), k, '--attach', `app-key=${join(d, 'app.key')}`, '--json'));
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assert.deepEqual(readdirSync(join(d, 'svm')).sort(), ['bootargs', 'disk.img', 'esm.blob', 'initramfs', 'kernel', 'vm.json']);
    assert.equal(readFileSync(join(d, 'svm', 'bootargs'), 'utf8'), `${SAMPLE_BOOTARGS} svm=on`);
    assert.deepEqual(readFileSync(join(d, 'svm', 'kernel')), readFileSync(join(d, 'vm', 'kernel')));
    assert.deepEqual(readFileSync(join(d, 'svm', 'vm.json'), 'utf8'), readFileSync(join(d, 'vm', 'vm.json'), 'utf8'));

    // The ESM archive is in front of the original initramfs, and esm.blob is the same blob.
    const initramfs = new Uint8Array(readFileSync(join(d, 'svm', 'initramfs')));
    const split = splitInitramfs(initramfs)!;
    assert.equal(split.name, 'opt/ibm/pef/esmb.dtb');
    assert.deepEqual(split.rest, new Uint8Array(readFileSync(join(d, 'vm', 'initramfs'))));
    assert.deepEqual(split.blob, new Uint8Array(readFileSync(join(d, 'svm', 'esm.blob'))));

    // m1 (authorized) opens the blob; m3 (not authorized) does not.
    const blob = parseEsmBlob(split.blob);
    const { symkey, lockbox } = openWithSecretKey(blob, secKey(k.m[0]!.sec));
    assert.equal(lockbox.comment, 'm1');
    assert.throws(() => openWithSecretKey(blob, secKey(k.m[2]!.sec)), EsmRefused);
    assert.equal(Buffer.from(decryptFile(blob, symkey, 'app-key')).toString(), 'application key\n');

    // Digests: computed here from the files, independently of the conversion.
    const dg = decryptDigests(blob, symkey);
    let kernelImage: Uint8Array;
    if (needTool(t, 'powerpc64le-linux-gnu-objcopy')) {
      assert.equal(run('powerpc64le-linux-gnu-objcopy', ['-O', 'binary', join(d, 'svm', 'kernel'), join(d, 'kimage')]).status, 0);
      kernelImage = new Uint8Array(readFileSync(join(d, 'kimage')));
    } else {
      const elf = readFileSync(join(d, 'svm', 'kernel'));
      kernelImage = elf.subarray(0x10000, 0x10000 + 2 * 1024 * 1024);
    }
    assert.equal(Buffer.from(dg.kernel).toString('hex'), sha512(kernelImage));
    assert.equal(dg.kernelSize, kernelImage.length);
    assert.equal(Buffer.from(dg.initrd).toString('hex'), sha512(readFileSync(join(d, 'vm', 'initramfs'))));
    assert.equal(Buffer.from(dg.bootargs).toString('hex'), sha512(`${SAMPLE_BOOTARGS} svm=on`));
    assert.equal(Buffer.from(dg.rtas).toString('hex'), sha512(RTAS_TEXT));
    assert.equal(summary.digests.kernel, sha512(kernelImage));

    // The passphrase from the blob opens the disk; the secret is nowhere in the SVM image in clear.
    const rootd = decryptFile(blob, symkey, 'rootd');
    assert.match(Buffer.from(rootd).toString(), /^[0-9a-f]{64}$/);
    writeFileSync(join(d, 'rootd'), rootd);
    if (needTool(t, 'cryptsetup')) {
      const ok = run('cryptsetup', ['open', '--test-passphrase', '--key-file', join(d, 'rootd'), join(d, 'svm', 'disk.img')]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(run('cryptsetup', ['luksDump', join(d, 'svm', 'disk.img')]).stdout, /cipher: aes-xts-plain64/);
    }
    await decryptDiskFile(join(d, 'svm', 'disk.img'), rootd, join(d, 'plain.img'));
    const plain = new Uint8Array(readFileSync(join(d, 'plain.img')));
    assert.deepEqual(plain, new Uint8Array(readFileSync(join(d, 'vm', 'disk.img'))));
    assert.equal(Buffer.from(readTar(plain).find((e) => e.path === 'etc/secret')!.data).toString(), SAMPLE_SECRET);
    const secret = new TextEncoder().encode(SAMPLE_SECRET.trim());
    assert.ok(contains(new Uint8Array(readFileSync(join(d, 'vm', 'disk.img'))), secret), 'control: the VM disk holds it in clear');
    for (const f of readdirSync(join(d, 'svm'))) assert.ok(!contains(new Uint8Array(readFileSync(join(d, 'svm', f))), secret), f);
    for (const f of readdirSync(join(d, 'svm'))) assert.ok(!contains(new Uint8Array(readFileSync(join(d, 'svm', f))), rootd), `passphrase in clear in ${f}`);

    // inspect agrees, and with an authorized key the sealed digests match the files.
    const ins = await pef('svm', 'inspect', join(d, 'svm'), '--key', k.m[1]!.sec, '--json');
    assert.equal(ins.code, 0, ins.err);
    const rep = JSON.parse(ins.out);
    assert.equal(rep.kind, 'svm');
    assert.deepEqual(rep.lockboxes.map((l: { comment: string }) => l.comment).sort(), ['m1', 'm2', 'owner']);
    assert.deepEqual(Object.values(rep.sealedDigests.checks), ['match', 'match', 'match', 'match', 'match']);
    assert.equal(rep.disk.luks2.keyslots[0].kdf, 'pbkdf2');
    assert.equal(rep.disk.luks2.segment.cipher, 'aes-xts-plain64');
    assert.deepEqual(tempsOf(join(d, 'svm')), []);
  } finally { cleanup(d); }
});

test('inspect --key fails (exit 1) when a file was changed after conversion; it passes before', async () => {
  const k = keys();
  const d = tmp('tamper');
  try {
    await pef('image', 'sample', join(d, 'vm'), '--kernel-size', '64K');
    assert.equal((await pef(...convertArgs(join(d, 'vm'), join(d, 'svm'), k))).code, 0);
    assert.equal((await pef('svm', 'inspect', join(d, 'svm'), '--key', k.ownerSec)).code, 0);
    writeFileSync(join(d, 'svm', 'bootargs'), `${SAMPLE_BOOTARGS} svm=on init=/bin/sh`);
    const r = await pef('svm', 'inspect', join(d, 'svm'), '--key', k.ownerSec);
    assert.equal(r.code, 1);
    assert.match(r.err, /bootargs/);
    assert.doesNotMatch(r.err, /kernel,/);
  } finally { cleanup(d); }
});

test('a disk that is already LUKS2 is kept and its passphrase attached; a wrong one is refused', async () => {
  const k = keys();
  const d = tmp('luksin');
  try {
    await pef('image', 'sample', join(d, 'vm'), '--kernel-size', '64K');
    assert.equal((await pef(...convertArgs(join(d, 'vm'), join(d, 'svm'), k))).code, 0);
    const rootd = decryptFile(parseEsmBlob(readFileSync(join(d, 'svm', 'esm.blob'))), openWithSecretKey(parseEsmBlob(readFileSync(join(d, 'svm', 'esm.blob'))), secKey(k.ownerSec)).symkey, 'rootd');
    // A VM image whose disk is that LUKS2 disk, with bootargs saying svm=off.
    mkdirSync(join(d, 'vm2'));
    for (const f of ['kernel', 'vm.json']) copyFileSync(join(d, 'vm', f), join(d, 'vm2', f));
    copyFileSync(join(d, 'vm', 'initramfs'), join(d, 'vm2', 'initramfs'));
    copyFileSync(join(d, 'svm', 'disk.img'), join(d, 'vm2', 'disk.img'));
    writeFileSync(join(d, 'vm2', 'bootargs'), 'root=/dev/vda svm=off quiet');
    writeFileSync(join(d, 'wrong'), 'not it');
    const bad = await pef(...convertArgs(join(d, 'vm2'), join(d, 'svm2'), k, '--disk-passphrase-file', join(d, 'wrong')));
    assert.equal(bad.code, 2);
    assert.match(bad.err, /disk\.img: the passphrase given opens no keyslot/);
    assert.equal(existsSync(join(d, 'svm2')), false);
    const none = await pef(...convertArgs(join(d, 'vm2'), join(d, 'svm2'), k));
    assert.equal(none.code, 2);
    assert.match(none.err, /disk-passphrase-file/);
    writeFileSync(join(d, 'right'), rootd);
    const ok = await pef(...convertArgs(join(d, 'vm2'), join(d, 'svm2'), k, '--disk-passphrase-file', join(d, 'right'), '--json'));
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out).encryptedDisk, false);
    assert.deepEqual(readFileSync(join(d, 'svm2', 'disk.img')), readFileSync(join(d, 'vm2', 'disk.img')));
    assert.equal(readFileSync(join(d, 'svm2', 'bootargs'), 'utf8'), 'root=/dev/vda quiet svm=on');
    const blob2 = parseEsmBlob(readFileSync(join(d, 'svm2', 'esm.blob')));
    assert.deepEqual(decryptFile(blob2, openWithSecretKey(blob2, secKey(k.m[1]!.sec)).symkey, 'rootd'), rootd);
    // Converting an SVM image again is refused.
    const again = await pef(...convertArgs(join(d, 'svm2'), join(d, 'svm3'), k, '--disk-passphrase-file', join(d, 'right')));
    assert.equal(again.code, 2);
    assert.match(again.err, /initramfs: already carries an ESM blob/);
  } finally { cleanup(d); }
});
