// Mutated blobs through parseEsmBlob and the lookup path give results or typed errors only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzEsm } from './fuzz-core.js';

test('20,000 mutated ESM blobs open, or fail with EsmFormatError / EsmCryptoError, nothing else', () => {
  const r = fuzzEsm(20_000, 0xe5e5);
  assert.ok(r.opened > 1000 && r.failed > 1000 && r.found > 500, JSON.stringify(r));
});
