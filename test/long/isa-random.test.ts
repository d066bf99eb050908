// Long differential runs of the ISA against QEMU (npm run test:long): 200,000 random sequences
// of up to 8 instructions and 50,000 of up to 32, through both engines, on seeds of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needTools } from '../isa/toolchain.js';
import { runBatches } from '../isa/batches.js';

const ENGINES = [{ engine: 'interp' as const }, { engine: 'blocks' as const, hot: 0 }];

test('200,000 random sequences (up to 8 instructions) agree with QEMU', { timeout: 3_600_000 }, (t) => {
  if (!needTools(t)) return;
  const failures = runBatches(200_000, 0x10000, ENGINES, { batch: 5_000 });
  assert.deepEqual(failures, [], failures.join('\n\n'));
});

test('50,000 random sequences of up to 32 instructions agree with QEMU', { timeout: 3_600_000 }, (t) => {
  if (!needTools(t)) return;
  const failures = runBatches(50_000, 0x20000, ENGINES, { batch: 2_500, maxLen: 32 });
  assert.deepEqual(failures, [], failures.join('\n\n'));
});
