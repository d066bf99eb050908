// The AF splitter: merge inverts split, and every stripe matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afMerge, afSplit } from '../../src/image/af-split.js';

test('property: merge(split(key)) = key for sha1, sha256 and sha512 and any key length', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom('sha1', 'sha256', 'sha512'), (key, stripes, hash) => {
    const m = afSplit(key, stripes, hash);
    assert.equal(m.length, key.length * stripes);
    assert.deepEqual(afMerge(m, key.length, stripes, hash), key);
  }), { numRuns: 200 });
});

test('changing any one stripe destroys the key', () => {
  const key = new Uint8Array(randomBytes(64));
  const m = afSplit(key, 50, 'sha256');
  for (const stripe of [0, 1, 25, 48, 49]) {
    const bad = m.slice();
    bad[stripe * 64 + 17]! ^= 0x80;
    assert.notDeepEqual(afMerge(bad, 64, 50, 'sha256'), key, `stripe ${stripe}`);
  }
  assert.throws(() => afMerge(m.subarray(0, 100), 64, 50, 'sha256'), RangeError);
});
