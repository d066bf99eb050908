// A hostile hypervisor's ultracalls: thousands of ultracalls with arguments drawn from the
// values that matter (the SVM's lpid, its guest addresses, secure and normal pages, unaligned
// and huge values, every shift and flag) must never stop the machine or throw out of the
// ultravisor, and must leave its records consistent. The SVM keeps running afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ULTRACALLS, UV } from '../../src/abi/ultracalls.js';
import { GPF, PAGE_SIZE } from '../../src/abi/pages.js';
import { HC } from '../../src/abi/hcalls.js';
import { call } from './guest.js';
import { LPID, makeRig } from './rig.js';

const HVWORK = 0xF0F0;

test('5,000 random ultracalls from the hypervisor: no checkstop, no escape, consistent records, the SVM runs on', () => {
  const r = makeRig({
    guest: {
      *secure(g) {
        const a = yield* call(g.cpu, 1, HVWORK);
        g.out.first = a[0];
        const b = yield* call(g.cpu, 1, HC.H_RANDOM);
        g.out.after = b[0];
      },
    },
  });
  const normal = r.hv.allocFrame();
  const secure = r.m.secureRanges()[0]!.start;
  const value = fc.oneof(
    fc.constantFrom(0n, 1n, 16n, 12n, 2n, 3n, BigInt(LPID), 99n, 4096n, 512n, 0xFFFFFFFFFFFFFFFFn),
    fc.constantFrom(BigInt(normal), BigInt(normal + 8), BigInt(secure), BigInt(secure + PAGE_SIZE * 3)),
    fc.integer({ min: 0, max: 255 }).map((g) => BigInt(g * PAGE_SIZE)),
    fc.integer({ min: 0, max: 255 }).map((g) => BigInt(g)),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  );
  // Ending the SVM or taking its memory away is the hypervisor's right: not what this test is about.
  const spare = new Set([UV.UV_SVM_TERMINATE, UV.UV_UNREGISTER_MEM_SLOT, UV.UV_RETURN]);
  const numbers = ULTRACALLS.map((u) => u.number).filter((n) => !spare.has(n));
  const all = fc.sample(fc.record({ nr: fc.oneof(fc.constantFrom(...numbers), fc.integer({ min: 0xF000, max: 0xF300 })), args: fc.array(value, { minLength: 6, maxLength: 6 }) }), { numRuns: 5000, seed: 0x5eed });
  const calls = all.filter((k) => !spare.has(k.nr));
  let done = 0;
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HVWORK) return undefined;
    for (const k of calls) {
      yield* r.hv.ucall(c.cpu, k.nr, ...k.args);
      done++;
    }
    return { rc: 0 };
  };
  const internal = r.m.trace.record((e) => e.kind === 'uv-internal-error');
  r.run(5_000_000);
  internal.stop();
  assert.equal(done, calls.length);
  assert.deepEqual(internal.events, [], 'no fault inside the ultravisor (the safety net never fired)');
  assert.ok(r.m.cpus.every((c) => !c.halted || c.stopReason === 'svm-done'), r.m.cpus.map((c) => c.stopReason).join());
  assert.equal(r.out.first, 0n);
  assert.equal(r.out.after, 0n, 'the SVM still runs (and still gets H_RANDOM from the ultravisor)');
  // Records: every secure page is a distinct frame the allocator counts as used.
  const seen = new Set<number>();
  for (const svm of r.uv.svms.values()) {
    for (const [gfn, e] of svm.pages) {
      if (e.state === GPF.PAGEDOUT) assert.ok(e.sealed && e.secure === undefined, `gfn ${gfn}`);
      if (e.state === GPF.SHARED) assert.ok(e.hv !== undefined && e.secure === undefined, `gfn ${gfn}`);
      if (e.secure !== undefined) {
        assert.ok(!seen.has(e.secure), 'no frame twice');
        assert.ok(r.uv.frames.owns(e.secure));
        seen.add(e.secure);
      }
    }
  }
  assert.ok(seen.size <= r.uv.frames.used);
});
