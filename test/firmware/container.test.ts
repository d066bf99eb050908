// Signed firmware containers and secure boot's verdict on each way an image can be wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { foreignSigningKey } from './helpers.js';
import fc from 'fast-check';
import {
  buildImage, ContainerFormatError, ImageFormatError, keyHash, parseContainer, parsePayload, publicKeyDer, SecureBootError, vendorKeyHash, verifyContainer,
} from '../../src/firmware/index.js';

const seeprom = vendorKeyHash();
const reason = (re: RegExp, stage = 'ultravisor') => (e: unknown) => e instanceof SecureBootError && e.stage === stage && re.test(e.reason) && e.message.includes(stage);

test('a vendor-signed image verifies and yields its payload; its descriptor names the implementation', () => {
  const img = buildImage('ultravisor');
  const payload = verifyContainer(img, 'ultravisor', seeprom);
  assert.deepEqual(parsePayload(payload), { stage: 'ultravisor', implementation: 'pef-model-ultravisor', variant: 'genuine', version: '1.0.0' });
  assert.deepEqual(new Uint8Array(createHash('sha512').update(payload).digest()), new Uint8Array(parseContainer(img).payloadHash));
});

test('variants are different bytes, so they measure differently', () => {
  const a = parseContainer(buildImage('ultravisor')).payload;
  const b = parseContainer(buildImage('ultravisor', { variant: 'rogue' })).payload;
  assert.notDeepEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
  assert.equal(parsePayload(b).variant, 'rogue');
  // Building twice gives the same image payload (measurements are reproducible).
  assert.deepEqual(parseContainer(buildImage('ultravisor')).payload, a);
});

test('secure boot stops an unsigned image, an unknown key, a bad signature, a modified payload, another stage\'s image', () => {
  assert.throws(() => verifyContainer(buildImage('ultravisor', { key: null }), 'ultravisor', seeprom), reason(/not signed/));
  const privateKey = foreignSigningKey();
  const foreign = buildImage('ultravisor', { key: privateKey });
  assert.throws(() => verifyContainer(foreign, 'ultravisor', seeprom), reason(/unknown key/));
  // Control: a machine whose SEEPROM holds that key's hash accepts the same image.
  assert.ok(verifyContainer(foreign, 'ultravisor', keyHash(publicKeyDer(privateKey))).length > 0);

  const img = buildImage('ultravisor');
  const c = parseContainer(img);
  const sigAt = img.length - c.payload.length - 1;
  const badSig = new Uint8Array(img); badSig[sigAt]! ^= 1;
  assert.throws(() => verifyContainer(badSig, 'ultravisor', seeprom), reason(/signature does not verify/));
  const badPayload = new Uint8Array(img); badPayload[img.length - 5]! ^= 1;
  assert.throws(() => verifyContainer(badPayload, 'ultravisor', seeprom), reason(/modified/));
  const badHash = new Uint8Array(img); badHash[40]! ^= 1;
  assert.throws(() => verifyContainer(badHash, 'ultravisor', seeprom), reason(/signature does not verify/));
  assert.throws(() => verifyContainer(buildImage('opal'), 'ultravisor', seeprom), reason(/built for stage 'opal'/));
  assert.throws(() => verifyContainer(new Uint8Array(50), 'hostboot', seeprom), reason(/not a firmware container/, 'hostboot'));
});

test('malformed containers fail with typed errors only (fuzz)', () => {
  const img = buildImage('hostboot');
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(399), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(img.length), (flips, cut) => {
    const b = new Uint8Array(img);
    for (const [at, v] of flips) b[at] = v;
    const x = b.subarray(0, Math.max(cut, 0));
    try { parseContainer(x); } catch (e) { assert.ok(e instanceof ContainerFormatError, String(e)); }
    try { verifyContainer(x, 'hostboot', seeprom); } catch (e) { assert.ok(e instanceof SecureBootError, String(e)); }
  }), { numRuns: 400 });
  // The descriptor line of a payload: any bytes give a descriptor or ImageFormatError.
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string().map((t) => new TextEncoder().encode(t + '\n')), fc.jsonValue().map((j) => new TextEncoder().encode(JSON.stringify(j) + '\n'))), (b) => {
    try { parsePayload(b); } catch (e) { assert.ok(e instanceof ImageFormatError, String(e)); }
  }), { numRuns: 500 });
});
