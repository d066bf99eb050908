// Random instruction sequences drawn from the instruction table, run under QEMU and under the
// model (both engines: one instruction at a time, and translated blocks), with random initial
// registers; every architected register and the data area must agree after each sequence.
// Longer runs: test/long/isa-random.test.ts. PEF_ISA_CASES and PEF_ISA_SEED override.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needTools } from './toolchain.js';
import { runBatches } from './batches.js';

const CASES = Number(process.env.PEF_ISA_CASES ?? 10_000);
const SEED = Number(process.env.PEF_ISA_SEED ?? 0x5eed);

test(`${CASES} random instruction sequences agree with QEMU (interpreter and block translator)`, { timeout: 600_000 }, (t) => {
  if (!needTools(t)) return;
  const failures = runBatches(CASES, SEED, [{ engine: 'interp' }, { engine: 'blocks', hot: 0 }]);
  assert.deepEqual(failures, [], failures.join('\n\n'));
});
