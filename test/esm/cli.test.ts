// `pef esm` and `pef svm add` end to end, in-process: svm-tools' flags, exit codes 0/1/2,
// one-line errors, many-key authorize, make from svm-tools' YAML, and nothing half-written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../src/cli/main.js';
import * as esm from '../../src/esm/index.js';
import { keys } from './helpers.js';

async function pef(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'pef-esm-'));
const p = (n: string) => join(dir, n);
process.env.PEF_PASSPHRASE = 'owner pass';

test('generate, create, authorize many, digest, attach, extract with a machine key, display, revoke', async () => {
  assert.equal((await pef('esm', 'generate', '-p', p('owner.pem'), '-s', p('owner.sec'))).code, 0);
  assert.match(readFileSync(p('owner.sec'), 'latin1'), /Proc-Type: 4,ENCRYPTED/);
  assert.equal((await pef('esm', 'create', '-b', p('b.esm'), '-p', p('owner.pem'), '-c', 'owner')).code, 0);
  const ms = keys(4);
  mkdirSync(p('machines'));
  ms.forEach((m, i) => writeFileSync(p(`machines/m${i}.pem`), m.pub));
  writeFileSync(p('m0.sec'), ms[0]!.secPem);
  const auth = await pef('esm', 'authorize', '-b', p('b.esm'), '-s', p('owner.sec'), '--pubkeys-from', p('machines'), '--name-comments', '--json');
  assert.equal(auth.code, 0, auth.err);
  assert.deepEqual(JSON.parse(auth.out).added.map((a: { name: string }) => a.name), ['lockbox-1', 'lockbox-2', 'lockbox-3', 'lockbox-4']);
  writeFileSync(p('initrd'), 'initramfs bytes');
  writeFileSync(p('kernel'), Buffer.alloc(100)); // not an ELF
  const badKernel = await pef('esm', 'digest', '-b', p('b.esm'), '-s', p('owner.sec'), '-a', 'svm=on', '-i', p('initrd'), '-k', p('kernel'));
  assert.equal(badKernel.code, 2);
  assert.match(badKernel.err, /^pef: kernel: ELF offset 0 .*no ELF magic/);
  writeFileSync(p('secret'), 'luks passphrase');
  assert.equal((await pef('esm', 'attach', '-b', p('b.esm'), '-s', p('owner.sec'), '-f', p('secret'), '-r', 'rootd', '-c', 'root disk')).code, 0);
  const ex = await pef('esm', 'extract', '-b', p('b.esm'), '-s', p('m0.sec'), '-f', 'rootd', '-o', p('out'));
  assert.equal(ex.code, 0, ex.err);
  assert.equal(readFileSync(p('out'), 'utf8'), 'luks passphrase');
  const disp = JSON.parse((await pef('esm', 'display', '-b', p('b.esm'), '--json')).out);
  assert.deepEqual(disp.lockboxes.map((l: { name: string; comment: string }) => [l.name, l.comment]),
    [['origin-lockbox', 'owner'], ['lockbox-1', 'm0.pem'], ['lockbox-2', 'm1.pem'], ['lockbox-3', 'm2.pem'], ['lockbox-4', 'm3.pem']]);
  assert.deepEqual(disp.files.map((f: { name: string }) => f.name), ['rootd']);
  const text = (await pef('esm', 'display', '-b', p('b.esm'))).out.split('\n');
  assert.match(text[0]!, /^origin [0-9a-f]{64} untrusted-comment owner$/);
  assert.ok(text.includes('file rootd untrusted-comment root disk'));
  assert.equal((await pef('esm', 'revoke', '-b', p('b.esm'), '-p', p('machines/m0.pem'))).code, 0);
  const denied = await pef('esm', 'extract', '-b', p('b.esm'), '-s', p('m0.sec'), '-f', 'rootd');
  assert.equal(denied.code, 1);
  assert.match(denied.err, /not an authorized key/);
  const origin = await pef('esm', 'revoke', '-b', p('b.esm'), '-p', p('owner.pem'));
  assert.equal(origin.code, 1);
  assert.match(origin.err, /cannot revoke origin key/);
});

test('a failed command leaves the blob as it was and no temporary file behind', async () => {
  const before = readFileSync(p('b.esm'));
  writeFileSync(p('junk.pem'), 'not a key');
  writeFileSync(p('fresh.pem'), keys(5)[4]!.pub);
  const r = await pef('esm', 'authorize', '-b', p('b.esm'), '-s', p('owner.sec'), '-p', p('fresh.pem'), '-p', p('junk.pem'));
  assert.notEqual(r.code, 0);
  assert.match(r.err, /junk.pem/);
  assert.deepEqual(readFileSync(p('b.esm')), before);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  const wrong = await pef('esm', 'attach', '-b', p('b.esm'), '-s', p('owner.sec'), '-f', p('secret'), '-r', 'x');
  assert.equal(wrong.code, 0); // control: the passphrase from the environment works
  process.env.PEF_PASSPHRASE = 'wrong';
  try {
    const bad = await pef('esm', 'detach', '-b', p('b.esm'), '-f', 'x');
    assert.equal(bad.code, 0); // detach needs no key
    const noKey = await pef('esm', 'attach', '-b', p('b.esm'), '-s', p('owner.sec'), '-f', p('secret'), '-r', 'y');
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /wrong passphrase/);
  } finally { process.env.PEF_PASSPHRASE = 'owner pass'; }
  const missing = await pef('esm', 'display', '-b', p('nope.esm'));
  assert.equal(missing.code, 2);
  assert.equal(missing.err, `pef: ${p('nope.esm')}: no such ESM blob\n`);
});

test('make builds a blob from svm-tools\' YAML; svm add prepends it to an initramfs', async (t) => {
  const [m] = keys(1);
  writeFileSync(p('tpm.pem'), m!.pub);
  writeFileSync(p('svm.yml'), `# Create a ESM Blob
- origin:
    pubkey: "${p('owner.pem')}"
    seckey: "${p('owner.sec')}"
- recipient:
    comment: "ultra_tpm"
    pubkey: "${p('tpm.pem')}"
- digest:
    args: "init=/bin/sh svm=1"
    initramfs: "${p('initrd')}"
    kernel: "${p('kernel')}"
- file:
    name: "file-1"
    path: "${p('secret')}"
`);
  const bad = await pef('esm', 'make', '-b', p('made.esm'), '-y', p('svm.yml'));
  assert.equal(bad.code, 2, 'the kernel is not an ELF');
  const { image, digests } = await import('./fixtures.js').then((f) => f.tinyKernel(t));
  if (!image) return;
  writeFileSync(p('kernel'), image);
  const r = await pef('esm', 'make', '-b', p('made.esm'), '-y', p('svm.yml'), '--json');
  assert.equal(r.code, 0, r.err);
  const blob = esm.parseEsmBlob(new Uint8Array(readFileSync(p('made.esm'))));
  const lb = esm.findLockbox(blob, esm.fingerprintOfPem(m!.pub))!;
  assert.equal(lb.comment, 'ultra_tpm');
  const symkey = esm.unwrapSymkey(m!.sec, lb.encryptedSymkey);
  const d = esm.decryptDigests(blob, symkey);
  assert.equal(d.kernelSize, digests.kernelSize);
  assert.deepEqual(d.bootargs, esm.sha512('init=/bin/sh svm=1'));
  assert.equal(Buffer.from(esm.decryptFile(blob, symkey, 'file-1')).toString(), 'luks passphrase');
  const add = await pef('svm', 'add', '-i', p('initrd'), '-b', p('made.esm'), '-f', p('esmb-initrd'));
  assert.equal(add.code, 0, add.err);
  const split = esm.splitInitramfs(new Uint8Array(readFileSync(p('esmb-initrd'))))!;
  assert.equal(split.name, 'opt/ibm/pef/made.esm');
  assert.equal(Buffer.from(split.rest).toString(), 'initramfs bytes');
  assert.deepEqual(esm.decryptDigests(esm.parseEsmBlob(split.blob), symkey).initrd, esm.sha512(split.rest));
});
