// Running scenarios against one machine directory: each boots the machine afresh (and its
// control beside it), one after the other. A scenario that cannot run reports its control as
// failed, so the suite fails rather than claim a block it did not show.

import { AttackContext } from './context.js';
import type { AttackReport, AttackScenario } from './types.js';

export interface RunOptions {
  /** Called as each scenario finishes (progress for the command line). */
  onReport?: (r: AttackReport) => void;
  onStart?: (s: AttackScenario) => void;
}

export async function runScenario(s: AttackScenario, ctx: AttackContext): Promise<AttackReport> {
  const t0 = process.hrtime.bigint();
  let r;
  try {
    r = await s.run(ctx);
  } catch (e) {
    if (process.env.PEF_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    r = { outcome: 'blocked' as const, control: 'failed' as const, evidence: `the scenario could not run: ${e instanceof Error ? e.message : String(e)}` };
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name: s.name, number: s.number, tried: s.tried, outcome: r.outcome, control: r.control, evidence: r.evidence, seconds };
}

export async function runAttacks(machineDir: string, scenarios: readonly AttackScenario[], o: RunOptions = {}): Promise<AttackReport[]> {
  const ctx = new AttackContext(machineDir);
  const out: AttackReport[] = [];
  for (const s of scenarios) {
    o.onStart?.(s);
    const r = await runScenario(s, ctx);
    out.push(r);
    o.onReport?.(r);
  }
  return out;
}

/** Whether a suite run passed: nothing leaked and every control succeeded. */
export function suitePassed(rs: readonly AttackReport[]): boolean {
  return rs.every((r) => r.outcome === 'blocked' && r.control === 'succeeded');
}
