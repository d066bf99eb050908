// A machine's life: create (firmware flashed, SEEPROM set, TPM provisioned), rekey (a new
// wrapping key when the machine changes hands) and duplicate-key (B takes A's key through
// TPM2_Duplicate/Import, still bound by its policy to the genuine ultravisor). Each change is
// one commit of the machine directory (machine-dir.ts): old state or new, never half.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, type KeyObject } from 'node:crypto';
import {
  EmbeddedTpm, RC, SwtpmDevice, TpmError, equalBytes, formatEndpoint, fromHex, machineKeyPolicy, ops, pemFingerprint, publicPem, runSync, toHex,
  type SwtpmEndpoint, type TpmDevice, type TpmFlow,
} from '../tpm/index.js';
import { buildDirAtomic, writeFileAtomic } from '../util/atomic.js';
import { CheckFailed, InputError } from '../util/errors.js';
import { verifyContainer } from './container.js';
import { buildImage, parsePayload, STAGES, type ImageDescriptor, type Stage } from './images.js';
import {
  checkGeometry, firmwareFile, MACHINE_FORMAT, MACHINE_JSON, openMachine, SEEPROM_FILE, serializeMachineConfig,
  type MachineConfig, type MachineKeyRecord,
} from './machine-dir.js';
import { PCR } from './pcrs.js';
import { duplicateKeyOut, ensureSrk, importKeyIn, provisionWrappingKey, type KeyProvision } from './provision.js';
import { keyHash, publicKeyDer, vendorSigningKey } from './vendor-key.js';

export interface CreateOptions {
  memory: number;
  secureMemory: number;
  cpus: number;
  controllers?: number;
  tpm: { kind: 'embedded' } | { kind: 'swtpm'; endpoint: SwtpmEndpoint };
  /** The firmware-signing public key the SEEPROM trusts (default: the model's vendor key). */
  firmwareKey?: KeyObject;
  /** Firmware images to flash (default: genuine images signed with the vendor key). */
  images?: Partial<Record<Stage, Uint8Array>>;
  log?(line: string): void;
}

function startTpm(d: TpmDevice): void {
  d.powerCycle();
  runSync(ops.startup(true), d);
}

function keyRecord(p: KeyProvision, uv: MachineKeyRecord['ultravisor'], generation: number, origin: string): MachineKeyRecord {
  return {
    handle: p.key.handle, name: toHex(p.key.name), public: toHex(p.key.public), pem: p.key.pem, fingerprint: toHex(p.key.fingerprint),
    srk: { handle: p.srk.handle, name: toHex(p.srk.name), public: toHex(p.srk.public) },
    ultravisor: uv, uvPcr: PCR.ULTRAVISOR, gatePcr: PCR.GATE, uvPcrValue: toHex(p.uvPcrValue),
    policy: { branches: p.policy.branches.map(toHex), digest: toHex(p.policy.digest) }, generation, origin,
  };
}

function defaultControllers(memory: number, secure: number): number {
  const frame = 64 * 1024;
  return memory % (2 * frame) === 0 && secure % (2 * frame) === 0 ? 2 : 1;
}

export async function createMachine(dir: string, o: CreateOptions): Promise<MachineConfig> {
  const say = o.log ?? (() => {});
  const controllers = o.controllers ?? defaultControllers(o.memory, o.secureMemory);
  checkGeometry({ memory: o.memory, secureMemory: o.secureMemory, cpus: o.cpus, controllers }, dir);
  const seeprom = keyHash(publicKeyDer(o.firmwareKey ?? vendorSigningKey()));
  const images = {} as Record<Stage, Uint8Array>;
  for (const s of STAGES) images[s] = o.images?.[s] ?? buildImage(s);
  // The key is bound to the ultravisor flashed now: it must pass secure boot.
  const uvPayload = verifyContainer(images.ultravisor, 'ultravisor', seeprom);
  const uvDesc = parsePayload(uvPayload);
  const uvDigest = new Uint8Array(createHash('sha256').update(uvPayload).digest());
  return await buildDirAtomic(dir, async (tmp) => {
    mkdirSync(join(tmp, 'firmware'));
    mkdirSync(join(tmp, 'tpm'));
    for (const s of STAGES) writeFileAtomic(join(tmp, firmwareFile(s)), images[s]);
    writeFileAtomic(join(tmp, SEEPROM_FILE), seeprom);
    const device: TpmDevice = o.tpm.kind === 'embedded' ? new EmbeddedTpm({ autosave: false }) : new SwtpmDevice(o.tpm.endpoint);
    let prov: KeyProvision;
    let state: Uint8Array | undefined;
    try {
      startTpm(device);
      say(`provisioning the machine key in the TPM (${device.description})`);
      prov = runSync(provisionWrappingKey(uvDigest), device);
      state = device.exportState?.();
    } finally {
      device.close();
    }
    if (state) writeFileAtomic(join(tmp, 'tpm/state-1.json'), state, 0o600);
    const config: MachineConfig = {
      format: MACHINE_FORMAT, memory: o.memory, secureMemory: o.secureMemory, cpus: o.cpus, controllers,
      tpm: o.tpm.kind === 'embedded' ? { kind: 'embedded', state: 'tpm/state-1.json' } : { kind: 'swtpm', endpoint: formatEndpoint(o.tpm.endpoint) },
      machineKey: keyRecord(prov, { digest: toHex(uvDigest), ...pick(uvDesc) }, 1, 'created'),
    };
    writeFileAtomic(join(tmp, MACHINE_JSON), serializeMachineConfig(config));
    return config;
  });
}

const pick = (d: { implementation: string; variant: string; version: string }) => ({ implementation: d.implementation, variant: d.variant, version: d.version });

/** A new wrapping key, bound to the same genuine ultravisor; the old key is gone for good. */
export function rekeyMachine(dir: string): MachineConfig {
  const md = openMachine(dir);
  const cfg = md.config;
  const device = md.openTpm({ autosave: false });
  try {
    startTpm(device);
    const prov = runSync(provisionWrappingKey(fromHex(cfg.machineKey.ultravisor.digest)), device);
    const next: MachineConfig = { ...cfg, machineKey: keyRecord(prov, cfg.machineKey.ultravisor, cfg.machineKey.generation + 1, 'rekeyed') };
    md.commit(next, device.exportState?.());
    return md.config;
  } finally {
    device.close();
  }
}

function* readName(handle: number): TpmFlow<Uint8Array | undefined> {
  try { return (yield* ops.readPublic(handle)).name; } catch { return undefined; }
}

/**
 * B takes A's wrapping key: A's TPM duplicates it (policy branch C, gate still open after a
 * platform reset) wrapped for B's storage key; B's TPM imports it. The key's policy is part of
 * its public area: it must be the policy B's own genuine ultravisor satisfies.
 */
export function duplicateKey(fromDir: string, toDir: string): MachineConfig {
  const a = openMachine(fromDir);
  const b = openMachine(toDir);
  const ka = a.config.machineKey;
  const kb = b.config.machineKey;
  const expectedOnB = machineKeyPolicy({ uvPcr: kb.uvPcr, uvPcrValue: fromHex(kb.uvPcrValue), gatePcr: kb.gatePcr });
  let aPub: { pub: { authPolicy: Uint8Array } } | undefined;
  try { aPub = ops.parsePublic2B(fromHex(ka.public)); } catch { aPub = undefined; }
  if (!aPub || !equalBytes(aPub.pub.authPolicy, expectedOnB.digest)) {
    throw new InputError(toDir, `its genuine ultravisor (${kb.ultravisor.variant} ${kb.ultravisor.version}, ${kb.ultravisor.digest.slice(0, 16)}...) is not the one ${fromDir}'s key is bound to (${ka.ultravisor.digest.slice(0, 16)}...): on this machine the key could never decrypt`);
  }
  if (a.config.tpm.kind === 'swtpm' && b.config.tpm.kind === 'swtpm' && a.config.tpm.endpoint === b.config.tpm.endpoint) {
    throw new InputError(toDir, 'both machines use the same TPM');
  }
  const da = a.openTpm({ autosave: false });
  let db: TpmDevice | undefined;
  try {
    db = b.openTpm({ autosave: false });
    startTpm(da);
    startTpm(db);
    const nameA = runSync(readName(ka.handle), da);
    if (!nameA || toHex(nameA) !== ka.name) throw new CheckFailed(`${fromDir}: its TPM does not hold the key machine.json records`);
    const srkB = runSync(ensureSrk(), db);
    if (toHex(srkB.name) !== kb.srk.name) throw new CheckFailed(`${toDir}: its TPM's storage key is not the one machine.json records`);
    const blob = runSync(duplicateKeyOut(fromHex(ka.name), ka.policy.branches.map(fromHex), srkB.public), da);
    const imported = runSync(importKeyIn(fromHex(ka.public), blob), db);
    if (toHex(imported.name) !== ka.name) throw new CheckFailed(`${toDir}: the imported key has another Name`);
    const next: MachineConfig = {
      ...b.config,
      machineKey: { ...ka, srk: kb.srk, generation: kb.generation + 1, origin: `duplicated from the machine whose key fingerprint is ${ka.fingerprint}` },
    };
    b.commit(next, db.exportState?.());
    return b.config;
  } finally {
    da.close();
    db?.close();
  }
}

/** The wrapping key's public part as the TPM reports it (ReadPublic 0x81800001), checked against machine.json. */
export function machinePublicKey(dir: string): { pem: string; fingerprint: string; name: string } {
  const md = openMachine(dir);
  const device = md.openTpm({ autosave: true });
  try {
    const info = runSync(readPublicStarted(md.config.machineKey.handle), device);
    if (toHex(info.name) !== md.config.machineKey.name) {
      throw new CheckFailed(`${dir}: the TPM (${device.description}) holds another key at 0x${md.config.machineKey.handle.toString(16)} than machine.json records`);
    }
    const pem = publicPem(info.public);
    return { pem, fingerprint: toHex(pemFingerprint(pem)), name: toHex(info.name) };
  } finally {
    device.close();
  }
}

function* readPublicStarted(handle: number): TpmFlow<ops.PublicInfo> {
  try {
    return yield* ops.readPublic(handle);
  } catch (e) {
    if (!(e instanceof TpmError && e.rc === RC.INITIALIZE)) throw e;
    yield* ops.startup(true);
    return yield* ops.readPublic(handle);
  }
}

/** Firmware images of a machine with what secure boot would say about each. */
export function listFirmware(dir: string): { stage: Stage; file: string; size: number; descriptor?: ImageDescriptor; digest?: string; secureBoot: string; boundToKey?: boolean }[] {
  const md = openMachine(dir);
  const seeprom = md.seepromHash;
  return STAGES.map((s) => {
    const file = md.firmwarePath(s);
    const bytes = md.readFirmware(s);
    try {
      const payload = verifyContainer(bytes, s, seeprom);
      const digest = toHex(new Uint8Array(createHash('sha256').update(payload).digest()));
      return {
        stage: s, file, size: bytes.length, descriptor: parsePayload(payload), digest, secureBoot: 'ok',
        ...(s === 'ultravisor' ? { boundToKey: digest === md.config.machineKey.ultravisor.digest } : {}),
      };
    } catch (e) {
      return { stage: s, file, size: bytes.length, secureBoot: e instanceof Error ? e.message : String(e) };
    }
  });
}
