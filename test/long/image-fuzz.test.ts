// Long soak of the image parsers (npm run test:long): ustar, LUKS2 headers, init scripts. New
// seeds each run unless PEF_FUZZ_SEED is set; a failure names its seed and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzInit, fuzzLuks2, fuzzTar } from '../image/fuzz-core.js';

const seed = Number(process.env.PEF_FUZZ_SEED ?? (Date.now() & 0x7fffffff));
const runs = Number(process.env.PEF_FUZZ_RUNS ?? 1_000_000);
const skip = process.env.PEF_LONG !== '1' && 'set PEF_LONG=1';

test(`tar fuzz soak: ${runs} archives, seed ${seed}`, { skip }, () => {
  assert.ok(Object.keys(fuzzTar(runs, seed)).length >= 3);
});

test(`LUKS2 header fuzz soak: ${runs / 4} headers, seed ${seed}`, { skip }, () => {
  assert.ok(Object.keys(fuzzLuks2(runs / 4, seed ^ 0x3c3c, 64)).length >= 3);
});

test(`init script fuzz soak: ${runs} scripts, seed ${seed}`, { skip }, () => {
  assert.ok(Object.keys(fuzzInit(runs, seed ^ 0x5a5a)).length >= 3);
});
