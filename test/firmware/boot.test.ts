// Secure and trusted boot of a machine directory with the embedded TPM: what is measured where,
// the event log, the handoff and the loaders, the per-boot auth value, and what stays closed to
// the software that runs after firmware.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  bootMachine, buildImage, openMachine, parseContainer, PCR, SecureBootError, type LoadedImage,
} from '../../src/firmware/index.js';
import { CC, RC, RH, TpmError, WRAPPING_KEY_HANDLE, ops, runSync, unwrapLockboxSync, type UltravisorHandoff } from '../../src/tpm/index.js';
import { duplicateKeyOut, rotateAuth } from '../../src/firmware/provision.js';
import type { Software } from '../../src/hw/cpu/software.js';
import { foreignSigningKey, rand, Scratch, wrapTo } from './helpers.js';
import { requireTool } from '../tpm/helpers.js';

const sha256 = (...p: Uint8Array[]) => { const h = createHash('sha256'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };
const scratch = new Scratch();
let base = '';
let n = 0;
const fresh = () => scratch.clone(base, `m${n++}`);

before(async () => { base = await scratch.machine('base'); });
after(() => scratch.dispose());

test('each stage is measured into its PCR, the event log replays to the PCRs, the Machine is the configured one', () => {
  const dir = fresh();
  const md = openMachine(dir);
  const b = bootMachine(dir);
  try {
    const expect = (stage: 'hostboot' | 'opal' | 'ultravisor' | 'hypervisor') => sha256(parseContainer(md.readFirmware(stage)).payload);
    for (const [stage, pcr] of [['hostboot', 0], ['opal', 2], ['ultravisor', 3], ['hypervisor', 4]] as const) {
      assert.deepEqual(b.pcrs.get(pcr), sha256(new Uint8Array(32), expect(stage)), stage);
      assert.equal(b.measurements.find((m) => m.stage === stage)!.pcr, pcr);
    }
    // The gate: one separator (the digest of four zero bytes).
    assert.deepEqual(b.pcrs.get(PCR.GATE), sha256(new Uint8Array(32), sha256(new Uint8Array(4))));
    for (const [pcr, v] of b.eventLog.replay()) assert.deepEqual(b.pcrs.get(pcr), v, `PCR ${pcr}`);
    assert.equal(b.machine.cpus.length, 2);
    assert.equal(b.machine.memorySize, 2 ** 30);
    assert.equal(b.machine.secureSize, 2 ** 28);
    assert.ok(b.machine.bootLocked);
    assert.ok(b.ultravisorMatchesKey);
    assert.equal(b.handoff.keyHandle, WRAPPING_KEY_HANDLE);
    assert.equal(Buffer.from(b.handoff.keyName).toString('hex'), md.config.machineKey.name);
    assert.equal(b.handoff.pcrIndex, PCR.ULTRAVISOR);
    assert.equal(b.handoff.authValue.length, 16);
  } finally { b.close(); }
});

test('the TCG event log reads back in tpm2_eventlog with the same PCR values', (t) => {
  if (!requireTool(t, 'tpm2_eventlog')) return;
  const dir = fresh();
  const b = bootMachine(dir);
  try {
    const f = scratch.path(`log-${n}`);
    writeFileSync(f, b.eventLog.toTcg());
    const r = spawnSync('tpm2_eventlog', [f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const [pcr, v] of b.pcrs) {
      if (b.eventLog.events.some((e) => e.pcr === pcr)) assert.match(r.stdout, new RegExp(`\\b${pcr}\\s*: 0x${Buffer.from(v).toString('hex')}`, 'i'), `PCR ${pcr}`);
    }
  } finally { b.close(); }
});

test('loaders get the verified image and the handoff, in order, before the boot lock', () => {
  const dir = fresh();
  const calls: string[] = [];
  let got: { image?: LoadedImage; handoff?: UltravisorHandoff } = {};
  const sw = (name: string): Software => ({ name, *enter() { yield { op: 'stop', reason: name }; } });
  const b = bootMachine(dir, {
    loaders: {
      ultravisor(image, handoff, m) { calls.push('uv'); got = { image, handoff }; assert.equal(m.bootLocked, false); return sw('uv'); },
      hypervisor(image) { calls.push(`hv:${image.descriptor.implementation}`); return sw('hv'); },
    },
    beforeLock(m) { calls.push('beforeLock'); assert.equal(m.bootLocked, false); },
  });
  try {
    assert.deepEqual(calls, ['uv', 'hv:pef-model-kvm', 'beforeLock']);
    assert.equal(got.image!.descriptor.variant, 'genuine');
    assert.deepEqual(got.image!.digest, sha256(got.image!.payload));
    assert.ok(b.machine.ultravisorInstalled);
    // What the ultravisor received works; firmware kept no usable copy.
    const secret = rand(32);
    assert.deepEqual(unwrapLockboxSync(b.tpm, got.handoff!, wrapTo(b.config.machineKey.pem, secret)), secret);
  } finally { b.close(); }
});

test('the auth value differs at every boot and the previous one no longer works', () => {
  const dir = fresh();
  const pem = openMachine(dir).config.machineKey.pem;
  const secret = rand(32);
  const ct = wrapTo(pem, secret);
  const b1 = bootMachine(dir);
  const first = b1.handoff;
  assert.deepEqual(unwrapLockboxSync(b1.tpm, first, ct), secret);
  b1.close();
  const b2 = bootMachine(dir);
  try {
    assert.notDeepEqual(b2.handoff.authValue, first.authValue);
    assert.throws(() => unwrapLockboxSync(b2.tpm, first, ct), (e) => e instanceof TpmError && e.rc === 0x9a2);
    assert.deepEqual(unwrapLockboxSync(b2.tpm, b2.handoff, ct), secret);
  } finally { b2.close(); }
});

test('a signed rogue ultravisor boots, and the TPM refuses it the key (policy)', () => {
  const dir = fresh();
  const md = openMachine(dir);
  md.replaceFirmware('ultravisor', buildImage('ultravisor', { variant: 'rogue' }));
  const b = bootMachine(dir);
  try {
    assert.equal(b.ultravisorMatchesKey, false);
    assert.equal(b.measurements.find((m) => m.stage === 'ultravisor')!.descriptor.variant, 'rogue');
    assert.throws(() => unwrapLockboxSync(b.tpm, b.handoff, wrapTo(md.config.machineKey.pem, rand(32))),
      (e) => e instanceof TpmError && e.isPolicyFailure && e.command === CC.PolicyOR && e.rc === 0x1c4);
  } finally { b.close(); }
});

test('secure boot stops at the stage that is unsigned, modified, foreign-signed or misplaced', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['ultravisor', (d) => openMachine(d).replaceFirmware('ultravisor', buildImage('ultravisor', { key: null })), /not signed/],
    ['hostboot', (d) => openMachine(d).replaceFirmware('hostboot', buildImage('hostboot', { key: null })), /not signed/],
    ['opal', (d) => { const p = openMachine(d).firmwarePath('opal'); const b = readFileSync(p); b[b.length - 1]! ^= 1; writeFileSync(p, b); }, /modified/],
    ['hypervisor', (d) => openMachine(d).replaceFirmware('hypervisor', buildImage('hypervisor', { key: foreignSigningKey() })), /unknown key/],
    ['ultravisor', (d) => openMachine(d).replaceFirmware('ultravisor', buildImage('opal')), /built for stage 'opal'/],
  ];
  for (const [stage, spoil, why] of cases) {
    const dir = fresh();
    spoil(dir);
    assert.throws(() => bootMachine(dir), (e) => e instanceof SecureBootError && e.stage === stage && why.test(e.reason), `${stage} ${why}`);
  }
});

test('after boot, software cannot rotate, duplicate or evict the key, nor reopen the gate (controls: firmware could, before)', () => {
  const dir = fresh();
  const b = bootMachine(dir);
  try {
    const k = b.config.machineKey;
    const keyName = b.handoff.keyName;
    const branches = b.handoff.policyDigests;
    const run = <T>(f: Generator<Uint8Array, T, Uint8Array>) => runSync(f, b.tpm);
    assert.equal('powerCycle' in b.tpm, false, 'the relay transport has no reset line');
    assert.throws(() => run(rotateAuth(keyName, branches, rand(16))), (e) => e instanceof TpmError && e.command === CC.PolicyOR);
    assert.throws(() => run(duplicateKeyOut(keyName, branches, Buffer.from(k.srk.public, 'hex'))), (e) => e instanceof TpmError && e.command === CC.PolicyOR);
    assert.throws(() => run(ops.evictControl(RH.PLATFORM, { handle: WRAPPING_KEY_HANDLE, name: keyName }, WRAPPING_KEY_HANDLE)), (e) => e instanceof TpmError && e.base === RC.BAD_AUTH);
    assert.throws(() => run(ops.pcrReset(PCR.GATE)), (e) => e instanceof TpmError && e.rc === RC.LOCALITY);
    // Controls: after a platform reset (firmware's moment) the same rotation and eviction go through.
    b.device.powerCycle();
    runSync(ops.startup(), b.device);
    runSync(rotateAuth(keyName, branches, rand(16)), b.device);
    runSync(ops.evictControl(RH.PLATFORM, { handle: WRAPPING_KEY_HANDLE, name: keyName }, WRAPPING_KEY_HANDLE), b.device);
  } finally { b.close(); }
});
