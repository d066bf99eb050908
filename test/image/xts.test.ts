// The batched aes-xts-plain64 gives the same bytes as node:crypto's aes-256-xts called once per
// sector, for every sector size LUKS2 allows and any IV.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { XtsPlain64, xtsNative, XtsKeyError } from '../../src/image/xts.js';
import { XtsPool } from '../../src/image/xts-pool.js';

const keyArb = fc.uint8Array({ minLength: 64, maxLength: 64 }).filter((k) => !k.subarray(0, 32).every((b, i) => b === k[32 + i]));

for (const useWasm of [true, false]) {
  test(`property: batched encryption (${useWasm ? 'WebAssembly' : 'JavaScript'} mask) equals one native aes-256-xts call per sector`, () => {
    assert.equal(new XtsPlain64(new Uint8Array(randomBytes(64)), 512, 1, useWasm).path, useWasm ? 'wasm' : 'js');
    fc.assert(fc.property(keyArb, fc.constantFrom(512, 1024, 4096), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.boolean(), (key, unit, units, firstIv, large) => {
      const data = new Uint8Array(randomBytes(unit * units));
      const step = large ? 1 : unit / 512;
      const batched = new XtsPlain64(key, unit, step, useWasm).encrypt(data, firstIv);
      assert.deepEqual(batched, xtsNative(false, key, data, firstIv, unit, step));
      assert.deepEqual(new XtsPlain64(key, unit, step, useWasm).decrypt(batched, firstIv), data);
      assert.deepEqual(xtsNative(true, key, batched, firstIv, unit, step), data);
    }), { numRuns: 100 });
  });
}

test('IVs above 2^32 use the high word of plain64', () => {
  const key = new Uint8Array(randomBytes(64));
  const data = new Uint8Array(randomBytes(1024));
  const low = new XtsPlain64(key).encrypt(data, 5);
  const high = new XtsPlain64(key).encrypt(data, 2 ** 32 + 5);
  assert.notDeepEqual(low, high);
  assert.deepEqual(high, xtsNative(false, key, data, 2 ** 32 + 5));
});

test('unaligned views, in-place use and a reused context give the same bytes', () => {
  const key = new Uint8Array(randomBytes(64));
  for (const useWasm of [true, false]) {
  const x = new XtsPlain64(key, 512, 1, useWasm);
  const backing = new Uint8Array(4096 + 3);
  backing.set(randomBytes(4096), 3);
  const view = backing.subarray(3);
  const want = xtsNative(false, key, view, 77);
  assert.deepEqual(x.encrypt(view, 77), want);
  const copy = view.slice();
  x.encrypt(copy, 77, copy);
  assert.deepEqual(copy, want);
  assert.deepEqual(x.encrypt(view.slice(0, 512), 1000), xtsNative(false, key, view.slice(0, 512), 1000));
  }
});

test('bad keys and partial sectors are refused', () => {
  const same = new Uint8Array(64).fill(9);
  assert.throws(() => new XtsPlain64(same), XtsKeyError);
  assert.throws(() => xtsNative(false, same, new Uint8Array(512), 0), XtsKeyError);
  assert.throws(() => new XtsPlain64(new Uint8Array(32)), XtsKeyError);
  assert.throws(() => new XtsPlain64(new Uint8Array(randomBytes(64))).encrypt(new Uint8Array(500), 0), RangeError);
});

test('buffers spanning several internal slices match the native path', () => {
  const key = new Uint8Array(randomBytes(64));
  for (const unit of [512, 4096]) for (const useWasm of [true, false]) {
    const data = new Uint8Array(randomBytes(200 * 1024 + unit));
    assert.deepEqual(new XtsPlain64(key, unit, unit / 512, useWasm).encrypt(data, 3), xtsNative(false, key, data, 3, unit), `unit ${unit}`);
  }
});

test('the worker pool, and the same engine on this thread alone, give the same bytes as node\'s aes-256-xts, in place in their memory', async () => {
  const key = new Uint8Array(randomBytes(64));
  for (const [unit, single] of [[512, false], [4096, false], [512, true], [4096, true]] as const) {
    const pool = single ? XtsPool.single(key, unit, unit / 512) : XtsPool.create(key, unit, unit / 512, 2);
    assert.ok(pool, 'WebAssembly SIMD gives a pool (of two jobs, or of this thread alone)');
    try {
      for (const units of [1, 3, 130]) {
        const plain = new Uint8Array(randomBytes(unit * units));
        const buf = pool.alloc(plain.length + 1024).subarray(512, 512 + plain.length);
        buf.set(plain);
        await pool.run(false, buf, 2 ** 33 + 7);
        assert.deepEqual(new Uint8Array(buf), xtsNative(false, key, plain, 2 ** 33 + 7, unit), `unit ${unit} x ${units}`);
        await pool.run(true, buf, 2 ** 33 + 7);
        assert.deepEqual(new Uint8Array(buf), plain);
      }
      await assert.rejects(pool.run(false, new Uint8Array(unit), 0), TypeError);
    } finally { await pool.close(); }
  }
  assert.equal(XtsPool.create(key, 512, 1, 1), null, 'one job: no pool');
});

test('the worker pool shares many pieces between three threads and runs back to back', async () => {
  const key = new Uint8Array(randomBytes(64));
  const pool = XtsPool.create(key, 4096, 8, 3, 4 * 1024 * 1024)!;
  try {
    const buf = pool.alloc(4 * 1024 * 1024);
    const plain = new Uint8Array(randomBytes(buf.length));
    const single = new XtsPlain64(key, 4096, 8);
    for (let i = 0; i < 8; i++) {
      const view = buf.subarray(0, buf.length - i * 4096);
      view.set(plain.subarray(0, view.length));
      await pool.run(false, view, i * 1000);
      assert.deepEqual(new Uint8Array(view), single.encrypt(plain.subarray(0, view.length), i * 1000), `run ${i}`);
    }
    assert.throws(() => pool.alloc(1), RangeError);
  } finally { await pool.close(); }
});
