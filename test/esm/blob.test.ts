// ESM blobs against svm-tools' rules: the layout its libfdt calls produce and its validator
// accepts, a blob assembled here the way svm-tools writes one (read by the library), and the
// library's blobs opened with plain node:crypto and OpenSSL (as svm-tools would open them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { FdtView, parseFdt, propertyString, getProperty, childNode, fdtNode, writeFdt } from '../../src/fdt/index.js';
import * as esm from '../../src/esm/index.js';
import { keys, toolSkip } from './helpers.js';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const sha512 = (b: Uint8Array) => new Uint8Array(createHash('sha512').update(b).digest());
const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };

/** svm-tools' validate_esm, restated from its documented rules (README.ESM and its validator). */
function svmToolsValid(bytes: Uint8Array): void {
  const { root } = parseFdt(bytes);
  assert.deepEqual(root.properties.map((p) => p.name), ['compatible']);
  assert.equal(propertyString(getProperty(root, 'compatible')!), 'ibm,esm');
  assert.deepEqual(root.children.map((c) => c.name).sort(), ['digest', 'file', 'lockboxes']);
  const lbs = childNode(root, 'lockboxes')!;
  assert.ok(lbs.children.some((c) => c.name === 'origin-lockbox'));
  for (const lb of lbs.children) {
    if (lb.name !== 'origin-lockbox') assert.match(lb.name, /^lockbox-[0-9]+$/);
    assert.deepEqual(lb.properties.map((p) => p.name).sort(), ['encrypted-symkey', 'untrusted-comment']);
    assert.deepEqual(lb.children.map((c) => c.name), ['pubkey-fingerprint']);
    const fp = lb.children[0]!;
    assert.deepEqual(fp.properties.map((p) => p.name).sort(), ['algorithm', 'hash']);
    assert.equal(propertyString(getProperty(fp, 'algorithm')!), 'SHA256');
  }
}

test('blobs written here pass svm-tools validation and have its layout, with or without the index', () => {
  const [owner, m1, m2] = keys(3);
  for (const index of [true, false]) {
    const bytes = esm.buildEsmBlob({
      origin: { pubPem: owner!.pub, comment: 'owner' }, recipients: [{ pubPem: m1!.pub, comment: 'm1' }, { pubPem: m2!.pub }],
      digests: { kernelImage: new Uint8Array(10), initramfs: new Uint8Array(3), bootargs: 'svm=on' }, files: [{ name: 'rootd', data: new Uint8Array([1, 2]) }], index,
    });
    svmToolsValid(bytes);
    const { root } = parseFdt(bytes);
    // libfdt adds a subnode before its siblings and a property before the others.
    assert.deepEqual(root.children.map((c) => c.name), ['lockboxes', 'digest', 'file']);
    const lbs = childNode(root, 'lockboxes')!;
    assert.deepEqual(lbs.children.map((c) => c.name), ['lockbox-2', 'lockbox-1', 'origin-lockbox']);
    assert.deepEqual(lbs.properties.map((p) => p.name), index ? ['pef,lockbox-index'] : []);
    assert.deepEqual(lbs.children[2]!.properties.map((p) => p.name), ['encrypted-symkey', 'untrusted-comment']);
    assert.deepEqual(lbs.children[2]!.children[0]!.properties.map((p) => p.name), ['hash', 'algorithm']);
    const dg = childNode(childNode(root, 'digest')!, 'digests-fdt')!;
    assert.deepEqual(dg.properties.map((p) => p.name), ['mac', 'iv', 'ciphertext', 'untrusted-comment', 'algorithm']);
    assert.equal(getProperty(dg, 'iv')!.length, 16);
    assert.equal(getProperty(dg, 'mac')!.length, 16);
    const v = new FdtView(bytes);
    assert.equal(v.header.offMemRsvmap, 40);
    assert.equal(v.header.totalsize, v.stringsEnd);
  }
});

test('the library\'s lockboxes, digests and files open with plain node:crypto as svm-tools opens them', () => {
  const [owner, m1] = keys(2);
  const initramfs = randomBytes(1000);
  const { bytes, symkey } = esm.buildEsmBlobWithKey({
    origin: { pubPem: owner!.pub }, recipients: [{ pubPem: m1!.pub }],
    digests: { kernelImage: new Uint8Array(4096).fill(7), initramfs, bootargs: 'root=/dev/vda svm=on' },
    files: [{ name: 'rootd', data: Buffer.from('luks passphrase'), comment: 'root disk' }],
  });
  const { root } = parseFdt(bytes);
  const lb1 = childNode(childNode(root, 'lockboxes')!, 'lockbox-1')!;
  assert.deepEqual(getProperty(childNode(lb1, 'pubkey-fingerprint')!, 'hash'), sha256(m1!.pub));
  const k = new Uint8Array(privateDecrypt({ key: m1!.sec, ...oaep }, getProperty(lb1, 'encrypted-symkey')!));
  assert.deepEqual(k, symkey);
  const open = (n: ReturnType<typeof childNode>) => {
    const d = createDecipheriv('aes-256-gcm', k, getProperty(n!, 'iv')!);
    d.setAuthTag(getProperty(n!, 'mac')!);
    return Buffer.concat([d.update(getProperty(n!, 'ciphertext')!), d.final()]);
  };
  const digests = childNode(parseFdt(open(childNode(childNode(root, 'digest')!, 'digests-fdt'))).root, 'digests')!;
  assert.deepEqual(new Uint8Array(getProperty(digests, 'initrd')!), sha512(initramfs));
  assert.deepEqual(new Uint8Array(getProperty(digests, 'bootargs')!), sha512(Buffer.from('root=/dev/vda svm=on')));
  assert.deepEqual([...getProperty(digests, 'kernel-size')!], [0, 0, 0x10, 0]);
  const files = parseFdt(getProperty(childNode(root, 'file')!, 'files-fdt')!).root;
  assert.equal(propertyString(getProperty(files, 'compatible')!), 'ibm,esm-file');
  assert.equal(open(childNode(childNode(files, 'files')!, 'rootd')).toString(), 'luks passphrase');
});

test('OpenSSL unwraps a lockbox (RSA-OAEP SHA-256, MGF1-SHA-256, as PyCryptodome does)', (t) => {
  const skip = toolSkip('openssl');
  if (skip) { t.skip(skip); return; }
  const [owner] = keys(1);
  const { bytes, symkey } = esm.buildEsmBlobWithKey({ origin: { pubPem: owner!.pub } });
  const lb = esm.findLockbox(esm.parseEsmBlob(bytes), sha256(owner!.pub))!;
  const dir = mkdtempSync(join(tmpdir(), 'esm-'));
  writeFileSync(join(dir, 'k.pem'), owner!.secPem);
  writeFileSync(join(dir, 'c.bin'), lb.encryptedSymkey);
  const r = spawnSync('openssl', ['pkeyutl', '-decrypt', '-inkey', join(dir, 'k.pem'), '-in', join(dir, 'c.bin'), '-out', join(dir, 'p.bin'),
    '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256']);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'p.bin'))), symkey);
});

/** A blob put together the way svm-tools' create/authorize/digest/attach leave it, without the library. */
function svmToolsStyleBlob(owner: Uint8Array, machine: Uint8Array, sym: Uint8Array, digestsDtb: Uint8Array, secret: Uint8Array, legacy: boolean) {
  const seal = (pt: Uint8Array) => {
    const iv = randomBytes(16);
    const c = createCipheriv('aes-256-gcm', sym, iv);
    const ct = Buffer.concat([c.update(pt), c.final()]);
    return [['mac', c.getAuthTag()], ['iv', iv], ['ciphertext', ct]] as [string, Uint8Array][];
  };
  const lockbox = (name: string, pem: Uint8Array, comment: string) => fdtNode(name, [
    ['encrypted-symkey', publicEncrypt({ key: Buffer.from(pem), ...oaep }, sym)], ['untrusted-comment', comment],
  ], [fdtNode('pubkey-fingerprint', [['hash', sha256(pem)], ['algorithm', 'SHA256']])]);
  const fileNode = fdtNode('rootd', [...seal(secret), ['untrusted-comment', 'disk'], ['algorithm', 'AES256-GCM']]);
  const filesFdt = writeFdt(fdtNode('', { compatible: 'ibm,esm-file' }, [fdtNode('files', {}, [fileNode])]));
  return writeFdt(fdtNode('', { compatible: 'ibm,esm' }, [
    fdtNode('lockboxes', {}, [lockbox('lockbox-1', machine, 'tpm'), lockbox('origin-lockbox', owner, 'owner')]),
    fdtNode('digest', {}, [fdtNode('digests-fdt', [...seal(digestsDtb), ['untrusted-comment', ''], ['algorithm', 'AES256-GCM']])]),
    legacy ? fdtNode('file', {}, [fileNode]) : fdtNode('file', [['files-fdt', filesFdt]]),
  ]), { strings: ['compatible', 'untrusted-comment', 'encrypted-symkey', 'algorithm', 'hash'] });
}

test('a blob as svm-tools writes it is read here: lockbox by fingerprint, digests, files-fdt and per-node files', () => {
  const [owner, m1] = keys(2);
  const sym = randomBytes(32);
  const d = { rtas: sha512(Buffer.from('r')), kernel: sha512(Buffer.from('k')), initrd: sha512(Buffer.from('i')), bootargs: sha512(Buffer.from('b')) };
  const digestsDtb = writeFdt(fdtNode('', { compatible: 'ibm,esm' }, [fdtNode('digests', [
    ['bootargs', d.bootargs], ['initrd', d.initrd], ['kernel-size', 1234], ['kernel', d.kernel], ['rtas', d.rtas], ['algorithm', 'SHA512']])]));
  for (const legacy of [false, true]) {
    const blob = esm.parseEsmBlob(svmToolsStyleBlob(owner!.pub, m1!.pub, sym, digestsDtb, Buffer.from('s3cret'), legacy));
    assert.equal(blob.index, undefined);
    const stats = esm.newStats();
    const lb = esm.findLockbox(blob, esm.fingerprintOfPem(m1!.pub), stats)!;
    assert.equal(lb.name, 'lockbox-1');
    assert.ok(stats.scanned && stats.lockboxesTouched === 1);
    const symkey = esm.unwrapSymkey(m1!.sec, lb.encryptedSymkey);
    const got = esm.decryptDigests(blob, symkey);
    assert.equal(got.kernelSize, 1234);
    assert.deepEqual(got.kernel, d.kernel);
    assert.deepEqual(esm.listFiles(blob).map((f) => [f.name, f.comment, f.source]), [['rootd', 'disk', legacy ? 'node' : 'files-fdt']]);
    assert.equal(Buffer.from(esm.decryptFile(blob, symkey, 'rootd')).toString(), 's3cret');
    // and the library edits it without losing anything
    const withIndex = esm.parseEsmBlob(esm.detachFile(blob, 'rootd'));
    assert.ok(withIndex.index);
    assert.deepEqual(esm.listFiles(withIndex), []);
    assert.equal(esm.decryptDigests(withIndex, symkey).kernelSize, 1234);
  }
});

test('a changed byte in the digests or a file, or the wrong master key, fails authentication', () => {
  const [owner] = keys(1);
  const { bytes, symkey } = esm.buildEsmBlobWithKey({
    origin: { pubPem: owner!.pub }, digests: { kernelImage: new Uint8Array(8), initramfs: new Uint8Array(8), bootargs: 'x' }, files: [{ name: 'f', data: new Uint8Array(64) }],
  });
  const blob = esm.parseEsmBlob(bytes);
  assert.equal(esm.decryptDigests(blob, symkey).kernelSize, 8); // control
  const dg = esm.digestsItem(blob)!;
  const ctOff = dg.sealed.ciphertext.byteOffset - bytes.byteOffset;
  const tampered = Uint8Array.from(bytes);
  tampered[ctOff + 5] ^= 1;
  assert.throws(() => esm.decryptDigests(esm.parseEsmBlob(tampered), symkey), esm.EsmCryptoError);
  assert.throws(() => esm.decryptDigests(blob, randomBytes(32)), esm.EsmCryptoError);
  assert.throws(() => esm.decryptFile(blob, randomBytes(32), 'f'), esm.EsmCryptoError);
  assert.equal(esm.decryptFile(blob, symkey, 'f').length, 64);
});

test('revoking the origin, authorizing twice and odd attachment names are refused', async () => {
  const [owner, m1] = keys(2);
  const { bytes, symkey } = esm.createEsmBlob(owner!.pub);
  const blob = esm.parseEsmBlob(bytes);
  await assert.rejects(esm.authorizeRecipients(blob, symkey, [{ pubPem: owner!.pub }]), esm.EsmRefused);
  await assert.rejects(esm.authorizeRecipients(blob, symkey, [{ pubPem: m1!.pub }, { pubPem: m1!.pub }]), esm.EsmRefused);
  const r = await esm.authorizeRecipients(blob, symkey, [{ pubPem: m1!.pub }, { pubPem: owner!.pub }], { skipAuthorized: true, jobs: 1 });
  assert.equal(r.added.length, 1);
  assert.throws(() => esm.revokeRecipients(blob, [{ pem: owner!.pub, subject: 'owner' }]), /cannot revoke origin/);
  const after = esm.parseEsmBlob(esm.revokeRecipients(esm.parseEsmBlob(r.bytes), [{ pem: m1!.pub, subject: 'm1' }]).bytes);
  assert.equal(esm.findLockbox(after, sha256(m1!.pub)), undefined);
  assert.throws(() => esm.attachFile(blob, symkey, { name: '1bad', data: new Uint8Array(1) }), esm.EsmInputError);
  assert.throws(() => esm.attachFile(blob, symkey, { name: 'a'.repeat(32), data: new Uint8Array(1) }), esm.EsmInputError);
});

test('a secret key opens the blob whichever PEM spelling its recipient file used', async () => {
  const [owner, m1] = keys(2);
  const { createPublicKey } = await import('node:crypto');
  const rsaPublic = new Uint8Array(Buffer.from(createPublicKey(m1!.sec).export({ type: 'pkcs1', format: 'pem' }) as string));
  const { bytes, symkey } = esm.buildEsmBlobWithKey({ origin: { pubPem: owner!.pub }, recipients: [{ pubPem: rsaPublic }] });
  const got = esm.openWithSecretKey(esm.parseEsmBlob(bytes), m1!.sec);
  assert.equal(got.lockbox.name, 'lockbox-1');
  assert.deepEqual(got.symkey, symkey);
  const [other] = [(await import('./helpers.js')).testKey()];
  assert.throws(() => esm.openWithSecretKey(esm.parseEsmBlob(bytes), other.sec), esm.EsmRefused);
});

test('a key the worker threads cannot use is reported by its name, and nothing is written', async () => {
  const [owner, m1] = keys(2);
  const { bytes, symkey } = esm.createEsmBlob(owner!.pub);
  // RSAPublicKey with a 2048-bit modulus but no exponent: it reads here, OpenSSL refuses it
  const n = Buffer.concat([Buffer.from([0x02, 0x82, 0x01, 0x01, 0x00, 0xc0]), randomBytes(255)]);
  const der = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x05]), n]);
  const pem = `-----BEGIN RSA PUBLIC KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END RSA PUBLIC KEY-----\n`;
  await assert.rejects(
    esm.authorizeRecipients(esm.parseEsmBlob(bytes), symkey, [{ pubPem: m1!.pub, subject: 'good.pem' }, { pubPem: new Uint8Array(Buffer.from(pem)), subject: 'broken.pem' }], { jobs: 2, batch: 1 }),
    (e: Error) => e instanceof esm.EsmKeyError && /^broken\.pem: cannot encrypt/.test(e.message));
});
