// The attack suite's contract. Each scenario is one thing a compromised hypervisor (or a rogue
// administrator) tries against a freshly booted SVM, run end to end on a booted machine, plus
// its control: the same attempt where the protection does not apply (a normal VM, an honest
// page, a valid cookie...), which must succeed so that "blocked" cannot be vacuous.

import type { AttackContext } from './context.js';

export type Outcome = 'blocked' | 'leaked';
export type ControlOutcome = 'succeeded' | 'failed';

export interface AttackResult {
  outcome: Outcome;
  control: ControlOutcome;
  /** What the hardware or the ultravisor did, in a sentence or two (addresses, return codes, events). */
  evidence: string;
}

export interface AttackScenario {
  /** Kebab-case, unique: what `--only` takes. */
  name: string;
  /** Its number in the list. */
  number: number;
  /** What the attacker tried, in one line. */
  tried: string;
  run(ctx: AttackContext): Promise<AttackResult>;
}

export interface AttackReport extends AttackResult {
  name: string;
  number: number;
  tried: string;
  seconds: number;
}

/** A scenario result from its two halves: blocked when nothing leaked, the control by its own verdict. */
export function verdict(leaked: boolean, controlOk: boolean, evidence: string): AttackResult {
  return { outcome: leaked ? 'leaked' : 'blocked', control: controlOk ? 'succeeded' : 'failed', evidence };
}
