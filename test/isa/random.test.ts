// Random instruction sequences drawn from the instruction table, run under QEMU and under the
// model (both engines: one instruction at a time, and translated blocks), with random initial
// registers; every architected register and the data area must agree after each sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build, needTools, runQemu, runPef } from './toolchain.js';
import { Rng, randomCase, encodeCases, diffResult, RESULT_BYTES, candidates, type Case } from './diff.js';

const HARNESS = join(import.meta.dirname, 'harness.c');
const CASES = Number(process.env.PEF_ISA_CASES ?? 10_000);
const BATCH = 2_500;
const SEED = Number(process.env.PEF_ISA_SEED ?? 0x5eed);

export function runBatches(total: number, seed: number, engines: { engine: 'interp' | 'blocks'; hot?: number }[]): string[] {
  const bin = build([HARNESS], 'power9');
  const failures: string[] = [];
  const pool = candidates('power9');
  for (let b = 0; b * BATCH < total; b++) {
    const r = new Rng(seed + b);
    const cases: Case[] = [];
    for (let i = 0; i < Math.min(BATCH, total - b * BATCH); i++) cases.push(randomCase(r, 'power9', pool));
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

test(`${CASES} random instruction sequences agree with QEMU (interpreter and block translator)`, { timeout: 600_000 }, (t) => {
  if (!needTools(t)) return;
  const failures = runBatches(CASES, SEED, [{ engine: 'interp' }, { engine: 'blocks', hot: 0 }]);
  assert.deepEqual(failures, [], failures.join('\n\n'));
});
