// Secure and trusted boot of a machine directory (PEF.md sections 9 and 12, docs/tpm-policy.md):
//
//   self-boot engine   verifies and measures hostboot (PCR 0)
//   hostboot           records secure-boot state (PCR 7) and configuration (PCR 1), verifies and
//                      measures OPAL (PCR 2) and the ultravisor (PCR 3)
//   OPAL               checks the TPM holds this machine's keys, rotates the wrapping key's auth
//                      value, closes the gate (PCR 11), locks the platform hierarchy, hands the
//                      ultravisor its handoff and wipes its own copy; verifies and measures the
//                      hypervisor kernel (PCR 4) and starts it
//
// Each stage is verified before it runs: a failure stops the boot (SecureBootError naming the
// stage). Loading a stage into the Machine is the caller's (loaders), since the ultravisor and
// hypervisor are separate layers.

import { createHash, randomBytes } from 'node:crypto';
import { Machine } from '../hw/machine.js';
import type { Software } from '../hw/cpu/software.js';
import {
  SRK_HANDLE, TpmError, WRAPPING_KEY_HANDLE, commandsOnly, equalBytes, fromHex, handoffSummary, ops, runSync, toHex, wipeHandoff,
  type TpmDevice, type TpmFlow, type TpmTransport, type UltravisorHandoff,
} from '../tpm/index.js';
import { CheckFailed } from '../util/errors.js';
import { SecureBootError, verifyContainer } from './container.js';
import { EV, EventLog } from './eventlog.js';
import { parsePayload, type ImageDescriptor, type Stage } from './images.js';
import { openMachine, MachineDir, type MachineConfig } from './machine-dir.js';
import { PCR, MEASURED_PCRS, STAGE_PCR } from './pcrs.js';
import { lockPlatform, rotateAuth, SEPARATOR_DATA } from './provision.js';

export interface LoadedImage {
  stage: Stage;
  descriptor: ImageDescriptor;
  /** The verified payload (what was measured). */
  payload: Uint8Array;
  /** SHA-256 of the payload: the measurement extended into the stage's PCR. */
  digest: Uint8Array;
}

/**
 * How stages become software on the Machine. A loader may install the software itself (e.g.
 * `createUltravisor(init).install(machine)`) or return it for firmware to install.
 */
export interface Loaders {
  ultravisor?(image: LoadedImage, handoff: UltravisorHandoff, machine: Machine): Software | void;
  /** `tpm` forwards commands only: what the hypervisor relays for the ultravisor (H_SVM_TPM_COMM). */
  hypervisor?(image: LoadedImage, machine: Machine, tpm: TpmTransport): Software | void;
}

export interface BootOptions {
  loaders?: Loaders;
  /** Runs after the stages are installed and before the boot lock (register guest code kinds here). */
  beforeLock?(machine: Machine): void;
  /** Lock the machine's boot configuration at the end (default true). */
  lockBoot?: boolean;
  /** An already-open TPM device for this machine (default: the directory's). */
  device?: TpmDevice;
  /** Progress, one line per step (stage verified, measured, key rotated). */
  log?(line: string): void;
}

export interface StageMeasurement {
  stage: Stage;
  pcr: number;
  digest: string;
  descriptor: ImageDescriptor;
}

export interface BootResult {
  machine: Machine;
  /** Commands only: what the hypervisor relays for the ultravisor (H_SVM_TPM_COMM). */
  tpm: TpmTransport;
  /** The TPM with its power line: for the machine's owner, not for software on it. */
  device: TpmDevice;
  /** What the ultravisor was given (the firmware's own copy is wiped). */
  handoff: UltravisorHandoff;
  measurements: StageMeasurement[];
  /** SHA-256 PCR values after boot, for the PCRs firmware uses. */
  pcrs: Map<number, Uint8Array>;
  eventLog: EventLog;
  config: MachineConfig;
  /** The ultravisor measured is the one the machine key is bound to. */
  ultravisorMatchesKey: boolean;
  /** Save the TPM state and close the device. */
  close(): void;
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** The hardware a machine directory describes. */
export function buildHardware(c: MachineConfig): Machine {
  const n = c.controllers;
  return new Machine({ cpus: c.cpus, controllers: Array.from({ length: n }, () => ({ size: c.memory / n, secure: c.secureMemory / n })) });
}

export function bootMachine(target: string | MachineDir, opts: BootOptions = {}): BootResult {
  const md = typeof target === 'string' ? openMachine(target) : target;
  const cfg = md.config;
  const say = opts.log ?? (() => {});
  const device = opts.device ?? md.openTpm({ autosave: true });
  const run = <T>(f: TpmFlow<T>): T => runSync(f, device);
  try {
    const machine = buildHardware(cfg);
    const seeprom = md.seepromHash;
    const log = new EventLog();
    const measurements: StageMeasurement[] = [];
    device.powerCycle();
    run(ops.startup(true));

    const extend = (pcr: number, type: number, digest: Uint8Array, data: Uint8Array | string) => {
      log.add(pcr, type, digest, data);
      run(ops.pcrExtend(pcr, digest));
    };
    const extendData = (pcr: number, type: number, data: string | Uint8Array) => {
      const e = log.addData(pcr, type, data);
      run(ops.pcrExtend(pcr, e.digest));
    };
    const stage = (s: Stage, type: number): LoadedImage => {
      const payload = verifyContainer(md.readFirmware(s), s, seeprom);
      let d: ImageDescriptor;
      try { d = parsePayload(payload); } catch (e) { throw new SecureBootError(s, e instanceof Error ? e.message : String(e)); }
      if (d.stage !== s) throw new SecureBootError(s, `the payload says it is ${d.stage}`);
      const digest = sha256(payload);
      extend(STAGE_PCR[s], type, digest, `${s} ${d.implementation} ${d.variant} ${d.version}`);
      measurements.push({ stage: s, pcr: STAGE_PCR[s], digest: toHex(digest), descriptor: d });
      machine.trace.emit({ kind: 'firmware', stage: s, pcr: STAGE_PCR[s], digest: toHex(digest), variant: d.variant });
      say(`${s.padEnd(10)} verified, measured into PCR ${STAGE_PCR[s]}: ${toHex(digest)} (${d.implementation} ${d.variant} ${d.version})`);
      return { stage: s, descriptor: d, payload, digest };
    };

    stage('hostboot', EV.S_CRTM_CONTENTS);
    extendData(PCR.SECURE_BOOT, EV.PLATFORM_CONFIG_FLAGS, `secure-boot=enforcing firmware-key-sha512=${toHex(seeprom)}`);
    extendData(PCR.CONFIG, EV.PLATFORM_CONFIG_FLAGS, `memory=${cfg.memory} secure-memory=${cfg.secureMemory} cpus=${cfg.cpus} controllers=${cfg.controllers}`);
    stage('opal', EV.POST_CODE);
    const uv = stage('ultravisor', EV.POST_CODE);
    const key = cfg.machineKey;
    const ultravisorMatchesKey = toHex(uv.digest) === key.ultravisor.digest;
    if (!ultravisorMatchesKey) say(`ultravisor measurement differs from the one the machine key is bound to (${key.ultravisor.variant} ${key.ultravisor.version}): the TPM will refuse to unwrap`);

    // OPAL: the TPM must hold this machine's keys, as provisioned.
    const keyName = fromHex(key.name);
    const found = readName(run, WRAPPING_KEY_HANDLE);
    if (!found || !equalBytes(found, keyName)) throw new CheckFailed(`TPM (${device.description}) does not hold this machine's wrapping key at 0x${WRAPPING_KEY_HANDLE.toString(16)}${found ? ` (found ${toHex(found)})` : ''}: run pef machine rekey`);
    const srkName = readName(run, SRK_HANDLE);
    if (!srkName || toHex(srkName) !== key.srk.name) throw new CheckFailed(`TPM (${device.description}) does not hold this machine's storage key at 0x${SRK_HANDLE.toString(16)}`);
    const branches = key.policy.branches.map(fromHex);
    const authValue = new Uint8Array(randomBytes(16));
    run(rotateAuth(keyName, branches, authValue));
    extend(PCR.GATE, EV.SEPARATOR, sha256(SEPARATOR_DATA), SEPARATOR_DATA);
    run(lockPlatform());
    say(`opal       rotated the machine key's auth value, closed the gate (PCR ${PCR.GATE}), locked the platform hierarchy`);

    const handoff: UltravisorHandoff = {
      keyHandle: key.handle, keyName, authValue: new Uint8Array(authValue), policyDigests: branches, pcrIndex: key.uvPcr,
      saltKeyHandle: key.srk.handle, saltKeyPublic: fromHex(key.srk.public), keyPem: key.pem, keyFingerprint: fromHex(key.fingerprint),
    };
    const uvSoftware = opts.loaders?.ultravisor?.(uv, handoff, machine);
    if (uvSoftware) machine.installUltravisor(uvSoftware);
    // Firmware's copy of the node is wiped once the ultravisor has it.
    wipeHandoff({ ...handoff, authValue });
    machine.trace.emit({ kind: 'firmware', stage: 'handoff', ...handoffSummary(handoff) });

    const hv = stage('hypervisor', EV.POST_CODE);
    const relay = commandsOnly(device);
    const hvSoftware = opts.loaders?.hypervisor?.(hv, machine, relay);
    if (hvSoftware) machine.installHypervisor(hvSoftware);
    opts.beforeLock?.(machine);
    if (opts.lockBoot ?? true) machine.lockBoot();

    const pcrs = run(ops.pcrRead(MEASURED_PCRS)).values;
    device.saveState();
    return {
      machine, tpm: relay, device, handoff, measurements, pcrs, eventLog: log, config: cfg, ultravisorMatchesKey,
      close: () => { device.saveState(); if (!opts.device) device.close(); },
    };
  } catch (e) {
    if (!opts.device) device.close();
    throw e;
  }
}

function readName(run: <T>(f: TpmFlow<T>) => T, handle: number): Uint8Array | undefined {
  try {
    return run(ops.readPublic(handle)).name;
  } catch (e) {
    if (e instanceof TpmError) return undefined;
    throw e;
  }
}
