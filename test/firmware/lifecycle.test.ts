// A machine's life with the embedded TPM: created and provisioned, its PEM used by openssl the
// way an SVM owner's tools use it, rekeyed, its key duplicated to another machine, and the
// directory's own checks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  bootMachine, buildImage, duplicateKey, loadMachineConfig, machinePublicKey, openMachine, parseSize, rekeyMachine, selftest, vendorKeyHash,
} from '../../src/firmware/index.js';
import { TpmError, unwrapLockboxSync } from '../../src/tpm/index.js';
import { InputError } from '../../src/util/errors.js';
import { rand, Scratch, wrapTo } from './helpers.js';
import { requireTool } from '../tpm/helpers.js';

const scratch = new Scratch();
let base = '';
let other = '';
let n = 0;
before(async () => { base = await scratch.machine('a'); other = await scratch.machine('b'); });
after(() => scratch.dispose());

test('create writes configuration, SEEPROM, signed firmware and a TPM that holds the recorded key', () => {
  const dir = scratch.clone(base, `c${n++}`);
  const c = loadMachineConfig(dir);
  assert.deepEqual([c.memory, c.secureMemory, c.cpus, c.tpm.kind], [2 ** 30, 2 ** 28, 2, 'embedded']);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'seeprom.bin'))), vendorKeyHash());
  assert.deepEqual(readdirSync(join(dir, 'firmware')).sort(), ['hostboot.img', 'hypervisor.img', 'opal.img', 'ultravisor.img']);
  const k = machinePublicKey(dir);
  assert.equal(k.pem, c.machineKey.pem);
  assert.equal(k.fingerprint, createHash('sha256').update(k.pem).digest('hex'));
  assert.equal(c.machineKey.fingerprint, k.fingerprint);
});

test('32 bytes encrypted to the machine\'s PEM with openssl pkeyutl (OAEP, SHA-256) come back through the ultravisor\'s client', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const dir = scratch.clone(base, `c${n++}`);
  const pemFile = scratch.path(`key${n}.pem`);
  writeFileSync(pemFile, machinePublicKey(dir).pem);
  const secret = rand(32);
  const inFile = scratch.path(`secret${n}`);
  writeFileSync(inFile, secret);
  const r = spawnSync('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pemFile, '-in', inFile,
    '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256']);
  assert.equal(r.status, 0, r.stderr?.toString());
  const b = bootMachine(dir);
  try { assert.deepEqual(unwrapLockboxSync(b.tpm, b.handoff, new Uint8Array(r.stdout)), secret); } finally { b.close(); }
});

test('selftest: ok on a genuine machine, the TPM\'s refusal on a rogue ultravisor, and the relay never sees the key', () => {
  const dir = scratch.clone(base, `c${n++}`);
  const ok = selftest(dir);
  assert.equal(ok.ok, true);
  assert.equal(ok.relay.keyInClear, false);
  assert.equal(ok.relay.authValueInClear, false);
  openMachine(dir).replaceFirmware('ultravisor', buildImage('ultravisor', { variant: 'rogue' }));
  const bad = selftest(dir);
  assert.equal(bad.ok, false);
  assert.equal(bad.refusal?.policy, true);
  assert.equal(bad.refusal?.rc, 0x1c4);
});

test('rekey: a new key; what was wrapped to the old one no longer opens', () => {
  const dir = scratch.clone(base, `c${n++}`);
  const before = loadMachineConfig(dir).machineKey;
  const ct = wrapTo(before.pem, rand(32));
  const after = rekeyMachine(dir).machineKey;
  assert.notEqual(after.fingerprint, before.fingerprint);
  assert.equal(after.generation, before.generation + 1);
  assert.equal(machinePublicKey(dir).fingerprint, after.fingerprint);
  const b = bootMachine(dir);
  try {
    assert.throws(() => unwrapLockboxSync(b.tpm, b.handoff, ct), (e) => e instanceof TpmError && e.rc === 0x1c4);
    const s = rand(32);
    assert.deepEqual(unwrapLockboxSync(b.tpm, b.handoff, wrapTo(after.pem, s)), s);
  } finally { b.close(); }
  // Only the state file machine.json names is left.
  assert.deepEqual(readdirSync(join(dir, 'tpm')), [loadMachineConfig(dir).tpm.kind === 'embedded' ? (loadMachineConfig(dir).tpm as { state: string }).state.slice(4) : '']);
});

test('duplicate-key: B holds A\'s key (same fingerprint); a blob for A opens on B, and only with B\'s genuine ultravisor', () => {
  const a = scratch.clone(base, `c${n++}`);
  const b = scratch.clone(other, `c${n++}`);
  const ka = loadMachineConfig(a).machineKey;
  const secret = rand(32);
  const blob = wrapTo(ka.pem, secret);
  duplicateKey(a, b);
  assert.equal(machinePublicKey(b).fingerprint, ka.fingerprint);
  const boot = bootMachine(b);
  try { assert.deepEqual(unwrapLockboxSync(boot.tpm, boot.handoff, blob), secret); } finally { boot.close(); }
  // A keeps working.
  const bootA = bootMachine(a);
  try { assert.deepEqual(unwrapLockboxSync(bootA.tpm, bootA.handoff, blob), secret); } finally { bootA.close(); }
  // B's policy binds the key to the measured ultravisor: a rogue one on B gets nothing.
  openMachine(b).replaceFirmware('ultravisor', buildImage('ultravisor', { variant: 'rogue' }));
  const rogue = bootMachine(b);
  try { assert.throws(() => unwrapLockboxSync(rogue.tpm, rogue.handoff, blob), (e) => e instanceof TpmError && e.isPolicyFailure); } finally { rogue.close(); }
});

test('duplicate-key refuses a machine whose genuine ultravisor is another one', async () => {
  const a = scratch.clone(base, `c${n++}`);
  const b = await scratch.machine(`c${n++}`, { images: { ultravisor: buildImage('ultravisor', { version: '2.0.0' }) } });
  const before = loadMachineConfig(b).machineKey.fingerprint;
  assert.throws(() => duplicateKey(a, b), (e) => e instanceof InputError && /is not the one/.test(e.message));
  assert.equal(loadMachineConfig(b).machineKey.fingerprint, before);
});

test('the machine directory: sizes, missing or malformed files named, stale files cleaned', () => {
  assert.equal(parseSize('16G', 'x'), 16 * 2 ** 30);
  assert.equal(parseSize('512M', 'x'), 512 * 2 ** 20);
  assert.throws(() => parseSize('12Q', '--memory'), (e) => e instanceof InputError && /--memory/.test(e.message));
  assert.throws(() => loadMachineConfig(scratch.path('nope')), (e) => e instanceof InputError && /no such machine/.test(e.message));
  const dir = scratch.clone(base, `c${n++}`);
  const j = JSON.parse(readFileSync(join(dir, 'machine.json'), 'utf8'));
  for (const [field, bad] of [['cpus', 0], ['tpm', { kind: 'floppy' }], ['machineKey', { ...j.machineKey, pem: 'x' }], ['secureMemory', j.memory]] as const) {
    writeFileSync(join(dir, 'machine.json'), JSON.stringify({ ...j, [field]: bad }));
    assert.throws(() => loadMachineConfig(dir), InputError, field);
  }
  writeFileSync(join(dir, 'machine.json'), JSON.stringify(j));
  writeFileSync(join(dir, 'tpm', 'state-99.json'), '{}');
  writeFileSync(join(dir, '.machine.json.tmp-1-abcd'), '');
  const md = openMachine(dir);
  md.commit(md.config);
  assert.equal(existsSync(join(dir, 'tpm', 'state-99.json')), false);
  assert.equal(existsSync(join(dir, '.machine.json.tmp-1-abcd')), false);
  assert.ok(existsSync(join(dir, j.tpm.state)));
});
