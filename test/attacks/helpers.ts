// One small machine directory per test file (firmware-provisioned, embedded TPM), the attack
// context on it, and the check every scenario test makes: the control succeeded and the
// attack was blocked, with the evidence in the failure message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createMachine } from '../../src/firmware/index.js';
import { AttackContext, runScenario, type AttackReport, type AttackScenario } from '../../src/attacks/index.js';

const dirs: string[] = [];
export function cleanup(): void { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); }

export async function attackMachine(spec: { memory?: number; secureMemory?: number; cpus?: number } = {}): Promise<{ dir: string; ctx: AttackContext }> {
  const root = mkdtempSync(join(tmpdir(), 'pef-attack-'));
  dirs.push(root);
  const dir = join(root, 'machine');
  await createMachine(dir, { memory: spec.memory ?? 256 << 20, secureMemory: spec.secureMemory ?? 128 << 20, cpus: spec.cpus ?? 2, tpm: { kind: 'embedded' } });
  return { dir, ctx: new AttackContext(dir) };
}

/** Run a scenario; its control must succeed and the attack must be blocked. */
export async function expectBlocked(s: AttackScenario, ctx: AttackContext): Promise<AttackReport> {
  const r = await runScenario(s, ctx);
  assert.equal(r.control, 'succeeded', `control failed: ${r.evidence}`);
  assert.equal(r.outcome, 'blocked', `LEAKED: ${r.evidence}`);
  return r;
}
