// Marshaling: structures round-trip, malformed bytes fail with typed errors at an offset, and
// response codes decode to what the specification's tables say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ALG, Reader, TpmParseError, Writer, decodeRc, describeRc, marshalPublic, marshalPcrSelection, unmarshalPcrSelection,
  unmarshalPublic, AES128CFB, SYM_NULL, type TpmtPublic,
} from '../../src/tpm/index.js';

const arbPublic: fc.Arbitrary<TpmtPublic> = fc.record({
  type: fc.constant(ALG.RSA as typeof ALG.RSA),
  nameAlg: fc.constantFrom(ALG.SHA1, ALG.SHA256, ALG.SHA384, ALG.SHA512),
  objectAttributes: fc.integer({ min: 0, max: 0xffffffff }),
  authPolicy: fc.constant(new Uint8Array(0)),
  symmetric: fc.constantFrom(AES128CFB, SYM_NULL),
  scheme: fc.constantFrom({ scheme: ALG.NULL, hashAlg: ALG.NULL }, { scheme: ALG.OAEP, hashAlg: ALG.SHA256 }),
  keyBits: fc.constantFrom(1024, 2048, 3072, 4096),
  exponent: fc.constantFrom(0, 65537),
  unique: fc.uint8Array({ maxLength: 512 }),
}, { noNullPrototype: true });

test('TPMT_PUBLIC round-trips', () => {
  fc.assert(fc.property(arbPublic, (p) => {
    const b = marshalPublic(p);
    const r = new Reader(b);
    assert.deepEqual(unmarshalPublic(r), p);
    assert.equal(r.remaining, 0);
  }), { numRuns: 300 });
});

test('a mutated or truncated TPMT_PUBLIC fails only with TpmParseError', () => {
  fc.assert(fc.property(arbPublic, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (p, at, v, cut) => {
    const b = marshalPublic(p);
    b[at % b.length] = v;
    try {
      unmarshalPublic(new Reader(b.subarray(0, cut % (b.length + 1))));
    } catch (e) {
      assert.ok(e instanceof TpmParseError, String(e));
      assert.ok(e.offset >= 0 && e.offset <= b.length);
    }
  }), { numRuns: 2000 });
});

test('PCR selections round-trip (3-byte bitmaps)', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { maxLength: 24 }), (pcrs) => {
    const sorted = [...pcrs].sort((a, b) => a - b);
    const b = marshalPcrSelection([{ hashAlg: ALG.SHA256, pcrs: sorted }]);
    assert.equal(b.length, 4 + 2 + 1 + 3);
    assert.deepEqual(unmarshalPcrSelection(new Reader(b)), [{ hashAlg: ALG.SHA256, pcrs: sorted }]);
  }));
});

test('Reader reports where input ran short', () => {
  const r = new Reader(new Uint8Array([0, 5, 1, 2]));
  assert.throws(() => r.tpm2b('x'), (e) => e instanceof TpmParseError && e.offset === 2 && e.kind === 'short');
  assert.throws(() => new Reader(new Uint8Array([0, 9])).tpm2b('y', 4), (e) => e instanceof TpmParseError && e.kind === 'size');
  const w = new Writer(1).u32(0xdeadbeef).tpm2b(new Uint8Array([7]));
  assert.deepEqual(w.finish(), new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1, 7]));
});

test('response codes decode as Part 2 defines them', () => {
  assert.deepEqual(decodeRc(0x9a2), { base: 0x0a2, name: 'TPM_RC_BAD_AUTH', kind: 'session', index: 1 });
  assert.deepEqual(decodeRc(0x1c4), { base: 0x084, name: 'TPM_RC_VALUE', kind: 'parameter', index: 1 });
  assert.deepEqual(decodeRc(0x3c4), { base: 0x084, name: 'TPM_RC_VALUE', kind: 'parameter', index: 3 });
  assert.deepEqual(decodeRc(0x18b), { base: 0x08b, name: 'TPM_RC_HANDLE', kind: 'handle', index: 1 });
  assert.deepEqual(decodeRc(0x99d), { base: 0x09d, name: 'TPM_RC_POLICY_FAIL', kind: 'session', index: 1 });
  assert.equal(decodeRc(0x902).name, 'TPM_RC_OBJECT_MEMORY');
  assert.equal(decodeRc(0x12f).name, 'TPM_RC_AUTH_UNAVAILABLE');
  assert.match(describeRc(0x2c2), /TPM_RC_ATTRIBUTES \(0x2C2, parameter 2\)/);
});
