// A whole system on a machine directory: secure and trusted boot with this project's
// ultravisor, a hypervisor (the honest one, or whatever runs in hypervisor mode in its place),
// the guest's code kinds and the machine's interpreter. What `pef run` does, opened up for the
// attack suite and for tests: the hypervisor can be wrapped (a compromised hypervisor is just
// another set of handlers at its level), extra guest code kinds can be registered before the
// boot lock, and the TPM relay the hypervisor holds can be wrapped (to record or alter traffic).

import { runMachine, type RunResult, type Vm } from '../hypervisor/index.js';
import type { Ultravisor } from '../ultravisor/index.js';
import { startSystem, type StartSystemOptions, type System as RunSystem } from '../cli/commands/run-system.js';
import type { SystemImage } from './images.js';

export type BootSystemOptions = StartSystemOptions;

export interface System extends RunSystem {
  /**
   * The ultravisor firmware installed. For assertions by tests only: nothing running on the
   * machine holds this reference, and an attack must never use it.
   */
  uv: Ultravisor;
  createVm(name: string, img: SystemImage, o?: { secureGuest?: boolean; memBytes?: number }): Vm;
  run(o?: { until?: () => boolean; maxSteps?: number }): Promise<RunResult>;
}

export function bootSystem(machineDir: string, opts: BootSystemOptions = {}): System {
  const sys = startSystem(machineDir, opts);
  const h = sys.hv;
  return {
    ...sys,
    createVm: (name, img, o = {}) => h.createVm({
      name, memBytes: o.memBytes ?? img.memBytes, vcpus: img.vcpus, secureGuest: o.secureGuest ?? true, image: img.image,
    }),
    run: (o = {}) => runMachine(sys.machine, h, { maxSteps: 50_000_000, ...o }),
  };
}
