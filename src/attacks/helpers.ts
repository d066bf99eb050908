// Small pieces the scenarios share: a tamper that strikes once at the right moment, trying an
// access the hardware may refuse, and reading the outcome of a run.

import { createHash } from 'node:crypto';
import type { Cpu } from '../hw/cpu/cpu.js';
import type { Flow } from '../hw/cpu/software.js';
import { HardwareInterrupt } from '../hw/faults.js';
import type { Vm } from '../hypervisor/index.js';
import type { TraceEvent } from '../hw/trace.js';
import { preserving, type Gen, type Tamper } from './malicious.js';
import type { Canary } from './canary.js';

export const hex = (v: number | bigint): string => '0x' + v.toString(16);
export const sha256hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/**
 * A tamper that runs `attack` once, at the first entry into hypervisor mode where `when()`
 * holds (and `where`, if given, accepts the vector), with the hypervisor's registers kept
 * around it; then the honest handler goes on.
 */
export function strikeOnce(when: () => boolean, attack: (cpu: Cpu, vector: number) => Gen | void, where?: (cpu: Cpu, vector: number) => boolean): Tamper & { fired: boolean } {
  const t = {
    fired: false,
    entry(cpu: Cpu, vector: number, honest: () => Flow): Flow | undefined {
      if (t.fired || !when() || (where && !where(cpu, vector))) return undefined;
      t.fired = true;
      return (function* (): Flow {
        const g = attack(cpu, vector);
        if (g) yield* preserving(cpu, g);
        yield* honest();
      })();
    },
  };
  return t;
}

export type Tried<T> = { ok: true; value: T } | { ok: false; why: string };

/** Make an access the hardware may refuse; a refusal (machine check, interrupt) is caught and named. */
export function attempt<T>(access: () => T): Tried<T> {
  try {
    return { ok: true, value: access() };
  } catch (e) {
    if (e instanceof HardwareInterrupt || (e instanceof Error && e.name === 'DmaRefused')) return { ok: false, why: e.message };
    throw e;
  }
}

/** "machine check: load of 0x.. refused (why)" -> "machine check (why)". */
export function shortWhy(why: string): string {
  const m = /^machine check: \w+ of 0x[0-9a-f]+ refused \((.*)\)$/.exec(why);
  return m ? `machine check (${m[1]})` : why;
}

export const poweredOff = (vm: Vm): boolean => vm.exit?.kind === 'power-off';

/** How a VM ended, in a few words. */
export function ending(vm: Vm): string {
  const e = vm.exit;
  if (!e) return 'still running';
  if (e.kind === 'power-off') return 'powered off cleanly';
  return `${e.kind}: ${e.message}`;
}

/** The SVM hashed its canary file and got the right digest: its data reached it intact. */
export function readCanaryIntact(vm: Vm, c: Canary): boolean {
  return vm.console.includes(`${sha256hex(c.file)}  /etc/canary`);
}

export function countEvents(events: readonly TraceEvent[], kind: string, pred: (e: TraceEvent) => boolean = () => true): number {
  return events.filter((e) => e.kind === kind && pred(e)).length;
}

/** Where the canary's first bytes lie in physical memory (a forensic oracle: aims attacks at the real target). */
export function locate(findInAllMemory: (n: Uint8Array) => { ra: number; secure: boolean }[], bytes: Uint8Array): { ra: number; secure: boolean } | undefined {
  return findInAllMemory(bytes.subarray(0, 32))[0];
}
