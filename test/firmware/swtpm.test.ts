// The acceptance criteria with swtpm as the machine's TPM (private instances on loopback, so
// this file never competes with the conformance suite for PEF_SWTPM): a genuine machine passes
// selftest and unwraps what openssl wrapped to it, a signed rogue ultravisor gets the TPM's
// policy refusal, an unsigned one stops secure boot, and keys move between an embedded machine
// and a swtpm one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import {
  bootMachine, buildImage, duplicateKey, loadMachineConfig, machinePublicKey, openMachine, SecureBootError, selftest,
} from '../../src/firmware/index.js';
import { startPrivateSwtpm, swtpmAvailable, TpmError, unwrapLockboxSync, type PrivateSwtpm } from '../../src/tpm/index.js';
import { CI, toolAvailable } from '../tpm/helpers.js';
import { G, rand, Scratch, wrapTo } from './helpers.js';

const have = swtpmAvailable();
if (!have && CI) throw new Error('swtpm is required in CI');
const scratch = new Scratch();
const instances: PrivateSwtpm[] = [];
let m = '';

before(async () => {
  if (!have) return;
  instances.push(await startPrivateSwtpm());
  m = await scratch.machine('sw', { memory: G, secureMemory: G / 4, cpus: 2, tpm: { kind: 'swtpm', endpoint: instances[0]!.endpoint } });
});
after(async () => { for (const i of instances) await i.stop(); scratch.dispose(); });

const skip = { skip: have ? false : 'swtpm is not installed' };

test('a genuine machine on swtpm passes selftest and unwraps what openssl wrapped to its PEM', skip, () => {
  const r = selftest(m);
  assert.equal(r.ok, true, r.refusal?.message);
  assert.equal(r.relay.keyInClear, false);
  const pem = machinePublicKey(m).pem;
  assert.equal(pem, loadMachineConfig(m).machineKey.pem);
  const secret = rand(32);
  let ct = wrapTo(pem, secret);
  if (toolAvailable('openssl')) {
    const kf = scratch.path('sw.pem'); writeFileSync(kf, pem);
    const sf = scratch.path('secret'); writeFileSync(sf, secret);
    const o = spawnSync('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', kf, '-in', sf, '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256']);
    assert.equal(o.status, 0);
    ct = new Uint8Array(o.stdout);
  } else if (CI) {
    assert.fail('openssl is required in CI');
  }
  const b = bootMachine(m);
  try { assert.deepEqual(unwrapLockboxSync(b.tpm, b.handoff, ct), secret); } finally { b.close(); }
});

test('on swtpm too: a new auth value each boot, the old one refused', skip, () => {
  const ct = wrapTo(loadMachineConfig(m).machineKey.pem, rand(32));
  const b1 = bootMachine(m);
  const old = b1.handoff;
  b1.close();
  const b2 = bootMachine(m);
  try {
    assert.notDeepEqual(b2.handoff.authValue, old.authValue);
    assert.throws(() => unwrapLockboxSync(b2.tpm, old, ct), (e) => e instanceof TpmError && e.rc === 0x9a2);
    assert.equal(unwrapLockboxSync(b2.tpm, b2.handoff, ct).length, 32);
  } finally { b2.close(); }
});

test('a signed rogue ultravisor boots and gets the policy refusal; an unsigned one stops secure boot', skip, () => {
  const md = openMachine(m);
  const genuine = md.readFirmware('ultravisor');
  try {
    md.replaceFirmware('ultravisor', buildImage('ultravisor', { variant: 'rogue' }));
    const r = selftest(m);
    assert.equal(r.ok, false);
    assert.equal(r.refusal?.policy, true, r.refusal?.message);
    md.replaceFirmware('ultravisor', buildImage('ultravisor', { key: null }));
    assert.throws(() => bootMachine(m), (e) => e instanceof SecureBootError && e.stage === 'ultravisor');
  } finally {
    md.replaceFirmware('ultravisor', genuine);
  }
  assert.equal(selftest(m).ok, true);
});

test('duplicate-key from an embedded machine to a swtpm machine and back', skip, async () => {
  const emb = await scratch.machine('emb');
  const fpEmb = loadMachineConfig(emb).machineKey.fingerprint;
  const secret = rand(32);
  const blob = wrapTo(loadMachineConfig(emb).machineKey.pem, secret);
  duplicateKey(emb, m);
  assert.equal(machinePublicKey(m).fingerprint, fpEmb);
  let b = bootMachine(m);
  try { assert.deepEqual(unwrapLockboxSync(b.tpm, b.handoff, blob), secret); } finally { b.close(); }
  const emb2 = await scratch.machine('emb2');
  duplicateKey(m, emb2);
  assert.equal(machinePublicKey(emb2).fingerprint, fpEmb);
  b = bootMachine(emb2);
  try { assert.deepEqual(unwrapLockboxSync(b.tpm, b.handoff, blob), secret); } finally { b.close(); }
});
