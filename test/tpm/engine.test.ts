// The embedded engine on its own: NV state that survives a restart (and nothing volatile does),
// state files checked field by field, Startup(STATE) resume, and malformed commands that must
// come back as response codes, never as exceptions or hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  EmbeddedTpm, NvStateError, RH, SRK_HANDLE, SRK_TEMPLATE, TpmEngine, TpmError, WRAPPING_KEY_HANDLE, ops, runSync, marshalPublic2B,
} from '../../src/tpm/index.js';
import { provisionWrappingKey } from '../../src/firmware/provision.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));

function started(state?: Uint8Array, save?: (s: Uint8Array) => void): EmbeddedTpm {
  const d = new EmbeddedTpm({ ...(state ? { state } : {}), ...(save ? { save } : {}) });
  runSync(ops.startup(), d);
  return d;
}

test('persistent objects and hierarchy state survive a restart; PCRs, sessions and transient objects do not', () => {
  const saved: Uint8Array[] = [];
  const a = started(undefined, (s) => saved.push(s));
  const p = runSync(provisionWrappingKey(rand(32)), a);
  runSync(ops.pcrExtend(7, rand(32)), a);
  const t = runSync(ops.createPrimary(RH.OWNER, SRK_TEMPLATE), a);
  assert.ok(saved.length > 0, 'autosave wrote the NV state');
  const b = started(saved.at(-1)!);
  assert.deepEqual(runSync(ops.readPublic(WRAPPING_KEY_HANDLE), b).name, p.key.name);
  assert.deepEqual(runSync(ops.readPublic(SRK_HANDLE), b).name, p.srk.name);
  assert.deepEqual(runSync(ops.pcrRead([7]), b).values.get(7), new Uint8Array(32));
  assert.throws(() => runSync(ops.readPublic(t.handle), b), (e) => e instanceof TpmError && e.rc === 0x910);
  // The same template under the same hierarchy gives the same primary key after the restart.
  assert.deepEqual(runSync(ops.createPrimary(RH.OWNER, SRK_TEMPLATE), b).name, t.name);
});

test('only NV changes mark the state dirty', () => {
  const e = new TpmEngine();
  e.nvDirty = false;
  const d = new EmbeddedTpm({ state: e.exportState(), autosave: false });
  d.engine.nvDirty = false;
  runSync(ops.startup(), d);
  runSync(ops.getRandom(8), d);
  runSync(ops.pcrExtend(1, rand(32)), d);
  assert.equal(d.engine.nvDirty, false);
  runSync(ops.hierarchyChangeAuth(RH.OWNER, rand(8)), d);
  assert.equal(d.engine.nvDirty, true);
});

test('Shutdown(STATE) then Startup(STATE) resumes the PCRs; Startup(CLEAR) resets them', () => {
  const d = started();
  const v = rand(32);
  runSync(ops.pcrExtend(2, v), d);
  const before = runSync(ops.pcrRead([2]), d).values.get(2)!;
  assert.deepEqual(before, new Uint8Array(createHash('sha256').update(new Uint8Array(32)).update(v).digest()));
  runSync(ops.shutdown(false), d);
  d.engine.powerCycle();
  runSync(ops.startup(false), d);
  assert.deepEqual(runSync(ops.pcrRead([2]), d).values.get(2), before);
  d.powerCycle();
  runSync(ops.startup(true), d);
  assert.deepEqual(runSync(ops.pcrRead([2]), d).values.get(2), new Uint8Array(32));
  // Without a saved state, Startup(STATE) is refused.
  d.engine.powerCycle();
  assert.throws(() => runSync(ops.startup(false), d), (e) => e instanceof TpmError && e.rc === 0x1c4);
});

test('framing errors: a size field that disagrees with the bytes, an unknown tag or command code', () => {
  const d = started();
  const rc = (b: number[]) => new DataView(d.transmit(new Uint8Array(b)).buffer).getUint32(6);
  assert.equal(rc([0x80, 0x01, 0, 0, 0, 13, 0, 0, 1, 0x7b, 0, 8]), 0x142);
  assert.equal(rc([0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8, 0]), 0x142);
  assert.equal(rc([0x80, 0x03, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8]), 0x01e);
  assert.equal(rc([0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x7f, 0xff]), 0x143);
  assert.equal(rc([0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 8]), 0);
});

test('a state file is checked field by field', () => {
  const good = new TpmEngine().exportState();
  assert.doesNotThrow(() => new TpmEngine({ state: good }));
  const j = JSON.parse(Buffer.from(good).toString());
  const bad = [
    'not json',
    JSON.stringify({ ...j, format: 'other' }),
    JSON.stringify({ ...j, seeds: { ...j.seeds, owner: 'zz' } }),
    JSON.stringify({ ...j, persistent: [{ handle: -1 }] }),
    JSON.stringify({ ...j, primaries: 3 }),
  ];
  for (const b of bad) assert.throws(() => new TpmEngine({ state: new TextEncoder().encode(b) }), NvStateError, b);
});

/** Response header invariants: a response is always at least 10 bytes with a valid tag and its own length. */
function checkResponse(r: Uint8Array): void {
  assert.ok(r.length >= 10);
  const dv = new DataView(r.buffer, r.byteOffset);
  assert.ok(dv.getUint16(0) === 0x8001 || dv.getUint16(0) === 0x8002);
  assert.equal(dv.getUint32(2), r.length);
}

test('random and mutated commands always get a well-formed response (fuzz)', () => {
  const d = started();
  const srk = runSync(ops.createPrimary(RH.OWNER, SRK_TEMPLATE), d);
  // Valid commands to mutate: a few with handles, sessions and structures.
  const samples: Uint8Array[] = [];
  const grab = (f: Generator<Uint8Array, unknown, Uint8Array>) => { samples.push(f.next().value as Uint8Array); };
  grab(ops.createPrimary(RH.OWNER, SRK_TEMPLATE));
  grab(ops.pcrExtend(3, rand(32)));
  grab(ops.pcrRead([0, 1, 2]));
  grab(ops.startAuthSession({ type: 'policy' }));
  grab(ops.loadExternal(marshalPublic2B(SRK_TEMPLATE).subarray(2)));
  grab(ops.importObject(srk, marshalPublic2B(SRK_TEMPLATE).subarray(2), { encryptionKey: rand(16), duplicate: rand(80), inSymSeed: rand(256) }));
  fc.assert(fc.property(
    fc.integer({ min: 0, max: samples.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.option(fc.nat(), { nil: undefined }),
    (i, flips, cut) => {
      const c = new Uint8Array(samples[i]!);
      for (const [at, v] of flips) c[at % c.length] = v;
      const cmd = cut === undefined ? c : c.subarray(0, cut % (c.length + 1));
      const r = d.transmit(cmd);
      checkResponse(r);
      // Flush whatever a lucky mutation created, so the slots stay free.
      for (const h of [...d.engine.objects.keys()]) if (h !== srk.handle) d.engine.objects.delete(h);
      d.engine.sessions.clear();
    },
  ), { numRuns: 1500 });
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (b) => checkResponse(d.transmit(b))), { numRuns: 500 });
});
