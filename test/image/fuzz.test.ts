// Quick rounds of the image parser fuzzers (the long soak runs the same cores far longer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzInit, fuzzLuks2, fuzzTar } from './fuzz-core.js';

test('tar fuzz: 5000 mutated archives', () => {
  const o = fuzzTar(5000, 1234);
  assert.ok(Object.keys(o).length >= 3, JSON.stringify(o));
  assert.equal(o.checksum, undefined, 'checksums are fixed up, so the fields behind them are fuzzed');
});

test('LUKS2 fuzz: 3000 mutated headers', () => {
  const o = fuzzLuks2(3000, 4321);
  assert.ok((o['bad-json'] ?? 0) > 0 && (o['bad-metadata'] ?? 0) > 0 && (o.ok ?? 0) > 0, JSON.stringify(o));
});

test('init script fuzz: 5000 mutated scripts', () => {
  const o = fuzzInit(5000, 99);
  assert.ok(Object.keys(o).length >= 3, JSON.stringify(o));
});
