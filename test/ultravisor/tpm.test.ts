// UV_ESM with the real chain: a machine made and booted by firmware (embedded TPM engine, the
// wrapping key bound to the genuine ultravisor's measurement, a fresh auth value handed over),
// the TPM layer's unwrap client driven through the hypervisor's H_SVM_TPM_COMM relay. The relay
// never sees the SVM's key or the auth value; a rogue ultravisor, signed but measured
// differently, gets nothing from the TPM (and the control shows what it would do with a key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootMachine, createMachine, buildImage as buildFirmwareImage, openMachine } from '../../src/firmware/index.js';
import { ESM_REASON } from '../../src/abi/ultracalls.js';
import { PAGE_SIZE } from '../../src/abi/pages.js';
import { createUltravisor, type Ultravisor } from '../../src/ultravisor/index.js';
import { LPID, makeRig, type Rig, type RigOptions } from './rig.js';

async function machineDir(variant: 'genuine' | 'rogue'): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'pef-uv-')), 'm');
  await createMachine(dir, { memory: 128 << 20, secureMemory: 48 << 20, cpus: 1, controllers: 1, tpm: { kind: 'embedded' } });
  if (variant === 'rogue') openMachine(dir).replaceFirmware('ultravisor', buildFirmwareImage('ultravisor', { variant: 'rogue' }));
  return dir;
}

/** Boot the machine directory with this ultravisor and the test hypervisor, run an SVM authorized for it. */
function bootSvm(dir: string, o: RigOptions = {}): { r: Rig; uv: Ultravisor; auth: Uint8Array } {
  const pem = new TextEncoder().encode(openMachine(dir).config.machineKey.pem);
  let uv: Ultravisor | undefined;
  let r: Rig | undefined;
  const tpm: { relay?: (c: Uint8Array) => Uint8Array } = {};
  const boot = bootMachine(dir, {
    loaders: {
      ultravisor(image, handoff, machine) {
        uv = createUltravisor({ variant: image.descriptor.variant === 'rogue' ? 'rogue' : 'genuine', handoff: { ...handoff, authValue: new Uint8Array(handoff.authValue) } });
        uv.install(machine);
      },
    },
    beforeLock(machine) {
      r = makeRig({ ...o, recipientPems: [pem], booted: { machine, uv: uv!, tpm: (c) => tpm.relay!(c) } });
    },
  });
  tpm.relay = (c) => boot.tpm.transmit(c);
  r!.run();
  const auth = new Uint8Array(uv!.init.handoff!.authValue);
  boot.close();
  return { r: r!, uv: uv!, auth };
}

const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;

test('on a machine booted by firmware, UV_ESM unwraps through the TPM; the relay sees neither the key nor the auth value', async () => {
  const dir = await machineDir('genuine');
  try {
    const { r, uv, auth } = bootSvm(dir);
    assert.equal(r.out.secure, true, [...r.log, ...r.hv.log].join('\n'));
    assert.ok(r.hv.tpmTraffic.length >= 5, 'ReadPublic, StartAuthSession, policies, RSA_Decrypt, FlushContext');
    for (const t of r.hv.tpmTraffic) {
      assert.equal(contains(t.cmd, r.image.symkey) || contains(t.rsp, r.image.symkey), false, 'the SVM key never crosses the relay in clear');
      assert.equal(contains(t.cmd, auth) || contains(t.rsp, auth), false, 'nor the key\'s auth value');
    }
    // The machine key this SVM runs under is this machine's.
    assert.equal(Buffer.from(uv.svms.get(LPID)!.fingerprint!).toString('hex'), openMachine(dir).config.machineKey.fingerprint);
    // The symmetric key is gone from everything the ultravisor keeps.
    assert.deepEqual(r.m.findInAllMemory(r.image.symkey), []);
  } finally { rmSync(join(dir, '..'), { recursive: true, force: true }); }
});

test('a rogue ultravisor (signed, but not the one the key is bound to) gets nothing: TPM_REFUSED, nothing leaked', async () => {
  const dir = await machineDir('rogue');
  try {
    const { r, uv } = bootSvm(dir);
    assert.equal(uv.variant, 'rogue');
    assert.equal(r.out.secure, undefined);
    assert.equal(r.out.reason, ESM_REASON.TPM_REFUSED, [...r.log, ...r.hv.log].join('\n'));
    assert.deepEqual(uv.leaked, []);
    for (const t of r.hv.tpmTraffic) assert.equal(contains(t.rsp, r.image.symkey), false);
  } finally { rmSync(join(dir, '..'), { recursive: true, force: true }); }
});

test('control: a TPM that did not refuse would hand the rogue ultravisor the key, and it would leak it to the hypervisor', () => {
  const r = makeRig({ uv: { variant: 'rogue' } });
  r.run();
  assert.equal(r.uv.leaked.length, 1);
  assert.deepEqual(r.uv.leaked[0], r.image.symkey);
  const tpmBounce = r.uv.svms.get(LPID)!.bounce.tpm!;
  assert.deepEqual(r.hv.readGuest(r.vm, tpmBounce * PAGE_SIZE, 32), r.image.symkey, 'readable by the hypervisor');
});

test('the genuine ultravisor with the same permissive TPM keeps the key to itself and wipes it', () => {
  const r = makeRig();
  r.run();
  assert.equal(r.out.secure, true);
  assert.deepEqual(r.uv.leaked, []);
  assert.deepEqual(r.m.findInAllMemory(r.image.symkey), []);
});
