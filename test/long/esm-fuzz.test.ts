// Long soak of the DTB and ESM parsers (npm run test:long): millions of mutated inputs, new
// seeds each run unless PEF_FUZZ_SEED is set, each failure reported with its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzFdt } from '../fdt/fuzz-core.js';
import { fuzzEsm } from '../esm/fuzz-core.js';

const seed = Number(process.env.PEF_FUZZ_SEED ?? (Date.now() & 0x7fffffff));
const runs = Number(process.env.PEF_FUZZ_RUNS ?? 2_000_000);

test(`DTB fuzz soak: ${runs} inputs, seed ${seed}`, { skip: process.env.PEF_LONG !== '1' && 'set PEF_LONG=1' }, () => {
  const r = fuzzFdt(runs, seed);
  assert.equal(r.runs, runs);
});

test(`ESM fuzz soak: ${runs / 4} inputs, seed ${seed}`, { skip: process.env.PEF_LONG !== '1' && 'set PEF_LONG=1' }, () => {
  const r = fuzzEsm(runs / 4, seed ^ 0x55aa);
  assert.ok(r.opened > 0);
});
