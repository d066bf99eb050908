// Long run of the hostile-hypervisor fuzz (npm run test:long): PEF_HVFUZZ_STEPS steps (default
// 1,000,000) in sequences of up to 2,000, a new seed each run unless PEF_FUZZ_SEED is set. The
// first failing sequence is reported with its seed and fast-check path, without shrinking.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, makeMachine } from '../hypervisor/system.js';
import { fuzzSequences } from '../fuzz/hv/run.js';

const steps = Number(process.env.PEF_HVFUZZ_STEPS ?? 1_000_000);
const seed = Number(process.env.PEF_FUZZ_SEED ?? (Date.now() & 0x7fffffff));
const skip = process.env.PEF_LONG !== '1' && 'set PEF_LONG=1';

let A: { dir: string; pem: Uint8Array };
before(async () => { if (!skip) A = await makeMachine({ cpus: 1 }); });
after(cleanup);

test(`hostile-hypervisor soak: ${steps} steps, seed ${seed}`, { skip }, () => {
  const t0 = performance.now();
  const t = fuzzSequences({
    machineDir: A.dir, pem: A.pem, target: steps, maxCommands: 2000, seed, endOnFailure: true,
    log: (s) => { if (/^sequence \d*0 /.test(s)) console.log(`# ${s} (${((performance.now() - t0) / 1000).toFixed(0)} s)`); },
  });
  assert.ok(t.steps >= steps);
  console.log(`# ${t.steps} steps in ${t.sequences} sequences, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
});
