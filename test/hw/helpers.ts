// Put a fresh machine's thread 0 into a given mode the architected way: from the reset state
// (ultravisor mode with the facility on, hypervisor mode without) with urfid or hrfid.
import { Machine } from '../../src/hw/machine.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import { MSR, type Mode } from '../../src/abi/msr.js';
import { SPR, SMFCTRL_E, SMFCTRL_D } from '../../src/abi/spr.js';
import { enterMode } from '../../src/hw/testing.js';

export const MODE_MSR: Record<Exclude<Mode, 'reserved'>, bigint> = {
  ultravisor: MSR.S | MSR.HV,
  'secure-privileged': MSR.S,
  'secure-problem': MSR.S | MSR.PR,
  hypervisor: MSR.HV,
  'host-problem': MSR.HV | MSR.PR,
  privileged: 0n,
  problem: MSR.PR,
};
export const ALL_MODES = Object.keys(MODE_MSR) as Exclude<Mode, 'reserved'>[];
export const BASE_MSR = MSR.SF | MSR.LE | MSR.ME;

export function smallMachine(opts: { smf?: boolean; cpus?: number } = {}): Machine {
  return new Machine({ cpus: opts.cpus ?? 1, smf: opts.smf ?? true, controllers: [{ size: 32 << 20, secure: 8 << 20 }, { size: 32 << 20, secure: 8 << 20 }] });
}

/** A thread in `mode`; with debug, SMFCTRL[D] is set first. Returns null if the mode is unreachable. */
export function inMode(mode: Exclude<Mode, 'reserved'>, opts: { smf?: boolean; debug?: boolean } = {}): { m: Machine; cpu: Cpu } | null {
  const m = smallMachine({ smf: opts.smf });
  const cpu = m.cpus[0]!;
  if (opts.debug) cpu.mtspr(SPR.SMFCTRL!, SMFCTRL_E | SMFCTRL_D);
  const msr = BASE_MSR | MODE_MSR[mode];
  if (mode === 'ultravisor') return cpu.mode === 'ultravisor' ? { m, cpu } : null;
  enterMode(cpu, msr, 0x1000);
  return cpu.mode === mode ? { m, cpu } : null;
}

export { SMFCTRL_E, SMFCTRL_D };
