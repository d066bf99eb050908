// Running random-sequence batches through QEMU and the model and collecting differences.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build, runQemu, runPef } from './toolchain.js';
import { Rng, randomCase, encodeCases, diffResult, RESULT_BYTES, candidates, type Case } from './diff.js';

export const HARNESS = join(import.meta.dirname, 'harness.c');

export interface Engine { engine: 'interp' | 'blocks'; hot?: number }

/**
 * Run `total` random cases (batches of `batch`, seeds seed, seed+1, ...) under QEMU and each
 * engine; return up to 20 readable differences.
 */
export function runBatches(total: number, seed: number, engines: Engine[], opts: { batch?: number; maxLen?: number } = {}): string[] {
  const bin = build([HARNESS], 'power9');
  const batch = opts.batch ?? 2_500;
  const failures: string[] = [];
  const pool = candidates('power9');
  for (let b = 0; b * batch < total; b++) {
    const r = new Rng(seed + b);
    const cases: Case[] = [];
    for (let i = 0; i < Math.min(batch, total - b * batch); i++) cases.push(randomCase(r, 'power9', pool, opts.maxLen));
    const input = encodeCases(cases);
    const q = runQemu(bin, [], { input });
    assert.equal(q.status, 0, `qemu harness failed: ${q.stderr}`);
    assert.equal(q.stdout.length, cases.length * RESULT_BYTES, 'qemu harness output size');
    for (const eng of engines) {
      const m = runPef(bin, [], { input, engine: eng.engine, hot: eng.hot });
      assert.equal(m.status, 0, `model harness failed (${eng.engine}): ${m.stderr}`);
      assert.equal(m.stdout.length, q.stdout.length, `model harness output size (${eng.engine})`);
      for (let i = 0; i < cases.length; i++) {
        const o = i * RESULT_BYTES;
        const d = diffResult(q.stdout.subarray(o, o + RESULT_BYTES), m.stdout.subarray(o, o + RESULT_BYTES), cases[i]!.seq.lines);
        if (d.length && failures.length < 20) failures.push(`seed ${seed + b} case ${i} (${eng.engine}):\n  ${cases[i]!.seq.lines.join('\n  ')}\n  => ${d.slice(0, 8).join('\n     ')}`);
      }
    }
  }
  return failures;
}
