// 100,000 mutated DTBs: every one either parses (and then writes back to the same tree) or
// fails with an FdtError carrying an offset inside the input; nothing else escapes, nothing
// hangs. The lazy view is driven over the same inputs. test/long runs many more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzFdt } from './fuzz-core.js';

test('100,000 mutated DTBs give a tree or a typed error, never anything else', () => {
  const r = fuzzFdt(100_000, 0x5eed);
  assert.equal(r.runs, 100_000);
  // The mutator must reach both outcomes and many kinds of error, or it is not testing much.
  assert.ok(r.parsed > 1000, `only ${r.parsed} inputs parsed`);
  assert.ok(r.errors > 50_000, `only ${r.errors} inputs failed`);
  for (const code of ['truncated', 'bad-magic', 'bad-version', 'bad-layout', 'bad-tag', 'bad-name', 'bad-structure']) {
    assert.ok((r.codes.get(code) ?? 0) > 0, `no input produced ${code}`);
  }
});
