// What became of a VM's request for secure mode, read from what the ultravisor reported on the
// trace (its UV_ESM events carry a reason code and text, never a secret), and where a secret's
// bytes lie in all of memory. Shared by the scenarios that attack the secure transition.

import type { TraceEvent } from '../hw/trace.js';
import type { Vm } from '../hypervisor/index.js';
import type { Machine } from '../hw/machine.js';
import { hex } from './helpers.js';

export interface EsmOutcome {
  /** The ultravisor reported the VM secure (and entered it with MSR[S]=1); not the hypervisor's own count, which an attacker keeps. */
  secure: boolean;
  /** The failure's reason text, when UV_ESM failed. */
  failed?: string;
}

export function esmOutcome(events: readonly TraceEvent[], vm: Vm): EsmOutcome {
  const mine = events.filter((e) => e.kind === 'uv-esm' && e.lpid === vm.lpid);
  const failed = mine.filter((e) => e.result === 'failed').map((e) => String(e.text)).pop();
  return { secure: mine.some((e) => e.result === 'secure'), ...(failed ? { failed } : {}) };
}

/** "refused: <reason>" or "WENT SECURE", for evidence. */
export function describeEsm(o: EsmOutcome): string {
  return o.secure ? 'WENT SECURE' : o.failed ? `UV_ESM refused: ${o.failed}` : 'UV_ESM never completed';
}

/** Where `needle` is in physical memory, by kind of frame (a forensic search: positions only). */
export function whereIs(m: Machine, needle: Uint8Array): { secure: number; normal: number; first?: string } {
  if (needle.length === 0) return { secure: 0, normal: 0 };
  const hits = m.findInAllMemory(needle);
  const normal = hits.filter((h) => !h.secure);
  return { secure: hits.length - normal.length, normal: normal.length, ...(normal[0] ? { first: hex(normal[0].ra) } : {}) };
}
