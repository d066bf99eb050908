// Secret keys in every form svm-tools and OpenSSL write them, public keys as TPM tools and
// svm-tools write them, and the refusals (wrong passphrase, a private key given as public).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import * as esm from '../../src/esm/index.js';
import { keys, toolSkip } from './helpers.js';

const bytes = (s: string | Buffer) => new Uint8Array(Buffer.from(s));
const pass = async () => 'correct horse';

test('secret keys: traditional encrypted (AES and 3DES), PKCS#8 encrypted and plain, traditional plain', async () => {
  const [k] = keys(1);
  const forms = {
    'traditional aes-256-cbc': k!.sec.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }),
    'traditional des-ede3-cbc': k!.sec.export({ type: 'pkcs1', format: 'pem', cipher: 'des-ede3-cbc', passphrase: 'correct horse' }),
    'pkcs8 encrypted': k!.sec.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }),
    'pkcs8 plain': k!.sec.export({ type: 'pkcs8', format: 'pem' }),
    'traditional plain': k!.sec.export({ type: 'pkcs1', format: 'pem' }),
  };
  const want = createPublicKey(k!.sec).export({ type: 'spki', format: 'der' });
  for (const [form, pem] of Object.entries(forms)) {
    let asked = 0;
    const got = await esm.loadSecretKey(bytes(pem as string), form, async () => { asked++; return 'correct horse'; });
    assert.deepEqual(createPublicKey(got).export({ type: 'spki', format: 'der' }), want, form);
    assert.equal(asked, form.includes('plain') ? 0 : 1, `${form}: passphrase asked ${asked} times`);
    if (!form.includes('plain')) await assert.rejects(esm.loadSecretKey(bytes(pem as string), form, async () => 'wrong'), esm.EsmKeyError);
  }
  await assert.rejects(esm.loadSecretKey(k!.pub, 'pub', pass), /is a public key/);
});

test('keys written by the openssl command line load (genrsa -traditional -aes256, pkcs8 -v2)', async (t) => {
  const skip = toolSkip('openssl');
  if (skip) { t.skip(skip); return; }
  const dir = mkdtempSync(join(tmpdir(), 'keys-'));
  const run = (...a: string[]) => { const r = spawnSync('openssl', a); assert.equal(r.status, 0, r.stderr.toString()); };
  run('genrsa', '-traditional', '-aes256', '-passout', 'pass:correct horse', '-out', join(dir, 'trad.pem'), '2048');
  run('pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', join(dir, 'trad.pem'), '-passin', 'pass:correct horse', '-passout', 'pass:correct horse', '-out', join(dir, 'p8.pem'));
  run('rsa', '-in', join(dir, 'trad.pem'), '-passin', 'pass:correct horse', '-pubout', '-out', join(dir, 'pub.pem'));
  const trad = readFileSync(join(dir, 'trad.pem'), 'latin1');
  assert.match(trad, /BEGIN RSA PRIVATE KEY[\s\S]*Proc-Type: 4,ENCRYPTED/);
  const pub = new Uint8Array(readFileSync(join(dir, 'pub.pem')));
  for (const f of ['trad.pem', 'p8.pem']) {
    const key = await esm.loadSecretKey(new Uint8Array(readFileSync(join(dir, f))), f, pass);
    // the PEM svm-tools derives from the secret key is the file OpenSSL wrote: same fingerprint
    assert.deepEqual(esm.fingerprintOfPem(esm.publicPemOf(key)), esm.fingerprintOfPem(pub), f);
  }
});

test('generated keys: RSA-2048, the secret key traditional PEM encrypted unless the passphrase is empty', async () => {
  const g = esm.generateRsaKeyPair('pw');
  assert.match(Buffer.from(g.sec).toString(), /^-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,/);
  assert.match(Buffer.from(g.pub).toString(), /^-----BEGIN PUBLIC KEY-----\n[\s\S]*-----END PUBLIC KEY-----\n$/);
  const key = await esm.loadSecretKey(g.sec, 'g', async () => 'pw');
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  assert.deepEqual(esm.publicPemOf(key), g.pub);
  assert.doesNotMatch(Buffer.from(esm.generateRsaKeyPair('').sec).toString(), /ENCRYPTED/);
});

test('public keys: SubjectPublicKeyInfo and RSA PUBLIC KEY read without node\'s decoder, the same key; bad ones refused', () => {
  const [k] = keys(1);
  const spki = esm.readPublicKeyPem(k!.pub, 'spki');
  const pkcs1Pem = bytes(createPublicKey(k!.sec).export({ type: 'pkcs1', format: 'pem' }) as string);
  const pkcs1 = esm.readPublicKeyPem(pkcs1Pem, 'pkcs1');
  const want = createPublicKey(k!.sec).export({ type: 'pkcs1', format: 'der' });
  assert.deepEqual(Buffer.from(spki.pkcs1), want);
  assert.deepEqual(Buffer.from(pkcs1.pkcs1), want);
  assert.equal(spki.bits, 2048);
  assert.throws(() => esm.readPublicKeyPem(bytes(k!.secPem), 'sec'), /is a private key/);
  assert.throws(() => esm.readPublicKeyPem(bytes('hello'), 'junk'), esm.EsmKeyError);
  const mangled = Buffer.from(k!.pub); mangled[40] = 0x21; // '!' inside the base64
  assert.throws(() => esm.readPublicKeyPem(new Uint8Array(mangled), 'mangled'), esm.EsmKeyError);
  const ec = bytes(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
  assert.throws(() => esm.readPublicKeyPem(ec, 'ec'), /not an RSA public key/);
});

test('PEM blocks: the earliest BEGIN line an END of its label closes; boundaries are whole lines; headers; the same one-line refusals', async () => {
  const { decodePem } = await import('../../src/esm/keys.js');
  const pem = (s: string) => decodePem(bytes(s), 'key.pem');
  const der = (s: string) => Buffer.from(pem(s).der).toString();
  // QUJD is "ABC", REVG is "DEF".
  assert.equal(der('junk\n-----BEGIN A-----\nQUJD\n-----END A-----\n-----BEGIN A-----\nREVG\n-----END A-----\n'), 'ABC');
  assert.equal(der('-----BEGIN A-----\r\nQU\r\nJD\r\n-----END A-----\r\n'), 'ABC');
  // BEGIN lines no END closes are skipped, however many.
  assert.equal(der(`${'-----BEGIN PUBLIC KEY-----\n'.repeat(1000)}-----BEGIN B-----\nQUJD\n-----END B-----`), 'ABC');
  assert.deepEqual(pem('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: X\n\nQUJD\n-----END RSA PRIVATE KEY-----\n').headers, ['Proc-Type: 4,ENCRYPTED', 'DEK-Info: X']);
  // An END of another label does not close a block: the earlier BEGIN's block runs to its own END.
  assert.throws(() => pem('-----BEGIN A-----\n-----BEGIN B-----\nQUJD\n-----END B-----\n-----END A-----\n'), { message: 'key.pem: PEM body is not well-formed base64' });
  for (const s of ['', 'QUJD', '-----BEGIN A-----\nQUJD\n', '-----BEGIN A-----\nQUJD\n-----END B-----\n', 'x-----BEGIN A-----\nQUJD\n-----END A-----\n', '-----BEGIN A-----']) {
    assert.throws(() => pem(s), (e: Error) => e instanceof esm.EsmKeyError && e.message === 'key.pem: no PEM block (-----BEGIN ...-----)', JSON.stringify(s));
  }
  assert.throws(() => esm.readPublicKeyPem(bytes('-----BEGIN PUBLIC KEY-----\n'.repeat(5000)), 'key.pem'), { message: 'key.pem: no PEM block (-----BEGIN ...-----)' });
});
