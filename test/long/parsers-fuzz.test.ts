// Long soak of every input format under the one rule (npm run test:long): the parser fuzz's
// targets, PEF_FUZZ_SCALE times their quick rounds (default 100), a new seed each run unless
// PEF_FUZZ_SEED is set. Counterexamples name their seed, run and input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS } from '../fuzz/parsers/targets.js';
import { describe, fuzzTarget } from '../fuzz/parsers/run.js';

const seed = Number(process.env.PEF_FUZZ_SEED ?? (Date.now() & 0x7fffffff));
const scale = Number(process.env.PEF_FUZZ_SCALE ?? 100);
const skip = process.env.PEF_LONG !== '1' && 'set PEF_LONG=1';

for (const t of TARGETS) {
  const runs = Math.round(t.runs * scale);
  test(`${t.name}: ${runs} cases, seed ${seed}`, { skip }, async () => {
    const r = await fuzzTarget(t.name, { seed, runs });
    assert.deepEqual(r.bad, [], `counterexamples:\n${describe(t.name, r.bad)}`);
    assert.equal(r.runs, runs);
  });
}
