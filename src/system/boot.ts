// A whole system on a machine directory: secure and trusted boot with this project's
// ultravisor, a hypervisor (the honest one, or whatever runs in hypervisor mode in its place),
// the guest's code kinds and the machine's interpreter. What `pef run` does, opened up for the
// attack suite and for tests: the hypervisor can be wrapped (a compromised hypervisor is just
// another set of handlers at its level), extra guest code kinds can be registered before the
// boot lock, and the TPM relay the hypervisor holds can be wrapped (to record or alter traffic).

import { bootMachine, type BootResult } from '../firmware/index.js';
import { createUltravisor, type Ultravisor } from '../ultravisor/index.js';
import { Hypervisor, runMachine, type HypervisorOptions, type RunResult, type TpmRelay, type Vm } from '../hypervisor/index.js';
import { GUEST_CODE } from '../guest/index.js';
import type { Machine } from '../hw/machine.js';
import type { CodeFactory, Software } from '../hw/cpu/software.js';
import type { TraceEvent } from '../hw/trace.js';
import { machineInterpreter } from '../cli/commands/run-system.js';
import type { SystemImage } from './images.js';

export interface BootSystemOptions {
  /** Options of the honest hypervisor (spy, secure budget, console callback...). */
  hv?: HypervisorOptions;
  /** What runs in hypervisor mode, given the honest hypervisor (default: the honest one itself). */
  hypervisor?: (honest: Hypervisor, machine: Machine) => Software;
  /** Wrap the TPM relay the hypervisor gets (H_SVM_TPM_COMM goes through it). */
  tpmRelay?: (relay: TpmRelay) => TpmRelay;
  /** Guest code kinds registered before the standard ones (so their magic is matched first). */
  code?: readonly CodeFactory[];
  /** Every trace event from the moment the ultravisor is installed. */
  trace?: (e: TraceEvent) => void;
  /** Boot-progress lines from firmware. */
  log?: (line: string) => void;
}

export interface System {
  boot: BootResult;
  machine: Machine;
  /** The honest hypervisor (its VMs, its bookkeeping), even when something else runs in its place. */
  hv: Hypervisor;
  /** What runs in hypervisor mode. */
  hypervisor: Software;
  /**
   * The ultravisor firmware installed. For assertions by tests only: nothing running on the
   * machine holds this reference, and an attack must never use it.
   */
  uv: Ultravisor;
  /** SHA-256 fingerprint of the machine key (hex). */
  fingerprint: string;
  createVm(name: string, img: SystemImage, o?: { secureGuest?: boolean; memBytes?: number }): Vm;
  run(o?: { until?: () => boolean; maxSteps?: number }): Promise<RunResult>;
  close(): void;
}

export function bootSystem(machineDir: string, opts: BootSystemOptions = {}): System {
  let hv: Hypervisor | undefined;
  let hypervisor: Software | undefined;
  let uv: Ultravisor | undefined;
  const boot = bootMachine(machineDir, {
    log: opts.log,
    loaders: {
      ultravisor: (image, handoff, machine) => {
        if (opts.trace) machine.trace.subscribe(opts.trace);
        uv = createUltravisor({ variant: image.descriptor.variant === 'rogue' ? 'rogue' : 'genuine', handoff, machineKey: { pem: handoff.keyPem! } });
        uv.install(machine);
      },
      hypervisor: (_image, machine, tpm) => {
        const relay: TpmRelay = { transmit: (c) => tpm.transmit(c) };
        hv = new Hypervisor(machine, { ...opts.hv, tpm: opts.tpmRelay ? opts.tpmRelay(relay) : relay });
        hypervisor = opts.hypervisor ? opts.hypervisor(hv, machine) : hv;
        return hypervisor;
      },
    },
    beforeLock: (m) => {
      for (const c of [...(opts.code ?? []), ...GUEST_CODE]) m.registerCode(c);
      m.setInterpreter(machineInterpreter());
    },
  });
  const h = hv!;
  return {
    boot, machine: boot.machine, hv: h, hypervisor: hypervisor!, uv: uv!, fingerprint: boot.config.machineKey.fingerprint,
    createVm: (name, img, o = {}) => h.createVm({
      name, memBytes: o.memBytes ?? img.memBytes, vcpus: img.vcpus, secureGuest: o.secureGuest ?? true, image: img.image,
    }),
    run: (o = {}) => runMachine(boot.machine, h, { maxSteps: 50_000_000, ...o }),
    close: () => boot.close(),
  };
}
