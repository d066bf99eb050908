// The ultravisor's unwrap client against a relay that lies (the hypervisor of H_SVM_TPM_COMM):
// it cannot substitute the key, cannot forge a result, and learns nothing even when it chooses
// the salt key itself. The client runs step by step, over sync and async transports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import {
  ALG, CC, EmbeddedTpm, RH, SRK_HANDLE, TpmError, TpmNameMismatch, TpmParseError, TpmProtocolError, WRAPPING_KEY_HANDLE, handoffFromNode,
  handoffToNode, ops, runAsync, runSync, unwrapLockboxSync, unwrapSteps, wipeHandoff,
  type TpmTransport, type UltravisorHandoff,
} from '../../src/tpm/index.js';
import { aesCfbDecrypt, generateRsaKey, kdfa } from '../../src/tpm/crypto.js';
import { provisionWrappingKey, rotateAuth } from '../../src/firmware/provision.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at);
const setU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v);

function booted(): { tpm: EmbeddedTpm; handoff: UltravisorHandoff; pem: string } {
  const tpm = new EmbeddedTpm();
  runSync(ops.startup(), tpm);
  const uv = rand(32);
  const p = runSync(provisionWrappingKey(uv), tpm);
  runSync(ops.pcrExtend(3, uv), tpm);
  const authValue = rand(16);
  runSync(rotateAuth(p.key.name, p.policy.branches, authValue), tpm);
  return {
    tpm, pem: p.key.pem,
    handoff: { keyHandle: WRAPPING_KEY_HANDLE, keyName: p.key.name, authValue, policyDigests: p.policy.branches, pcrIndex: 3, saltKeyHandle: SRK_HANDLE, saltKeyPublic: p.srk.public },
  };
}

const wrap = (pem: string, secret: Uint8Array) => new Uint8Array(publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));

test('the client is step-wise: ReadPublic, StartAuthSession, four policy commands, RSA_Decrypt, FlushContext', async () => {
  const { tpm, handoff, pem } = booted();
  const secret = rand(32);
  const ccs: number[] = [];
  const steps = unwrapSteps(handoff, wrap(pem, secret));
  let s = steps.next();
  while (!s.done) { ccs.push(u32(s.value, 6)); s = steps.next(tpm.transmit(s.value)); }
  assert.deepEqual(s.value, secret);
  assert.deepEqual(ccs, [CC.ReadPublic, CC.StartAuthSession, CC.PolicyCommandCode, CC.PolicyPCR, CC.PolicyAuthValue, CC.PolicyOR, CC.RSA_Decrypt, CC.FlushContext]);
  assert.equal(tpm.engine.sessions.size, 0);
  // The same flow over an asynchronous transport.
  const asyncT = { transmitAsync: async (c: Uint8Array) => tpm.transmit(c) };
  assert.deepEqual(await runAsync(unwrapSteps(handoff, wrap(pem, secret)), asyncT), secret);
});

test('a key that is not the one firmware named is refused after ReadPublic (name-mismatch)', () => {
  const { tpm, handoff, pem } = booted();
  const sent: number[] = [];
  const relay: TpmTransport = { transmit: (c) => { sent.push(u32(c, 6)); return tpm.transmit(c); } };
  const other = { ...handoff, keyName: new Uint8Array(handoff.keyName).map((b, i) => (i === 5 ? b ^ 1 : b)) };
  assert.throws(() => unwrapLockboxSync(relay, other, wrap(pem, rand(32))), (e) => e instanceof TpmNameMismatch && e.code === 'name-mismatch');
  assert.deepEqual(sent, [CC.ReadPublic]);
});

test('a relay that points RSA_Decrypt at another key gets TPM_RC_BAD_AUTH: the Name is in every HMAC', () => {
  const { tpm, handoff, pem } = booted();
  // The relay's own key: same template and policy, an auth value it knows.
  const srkName = runSync(ops.readPublic(SRK_HANDLE), tpm).name;
  const pub = runSync(ops.readPublic(WRAPPING_KEY_HANDLE), tpm).public;
  const mine = runSync(ops.create({ handle: SRK_HANDLE, name: srkName }, { ...pub, unique: new Uint8Array(0) }, { userAuth: rand(16) }), tpm);
  const h = runSync(ops.load({ handle: SRK_HANDLE, name: srkName }, mine.private, mine.public), tpm);
  const relay: TpmTransport = {
    transmit: (c) => {
      const x = new Uint8Array(c);
      if (u32(x, 6) === CC.RSA_Decrypt) setU32(x, 10, h.handle);
      return tpm.transmit(x);
    },
  };
  assert.throws(() => unwrapLockboxSync(relay, handoff, wrap(pem, rand(32))), (e) => e instanceof TpmError && e.rc === 0x9a2);
  assert.equal(tpm.engine.sessions.size, 0, 'the session was flushed after the failure');
});

test('even with a salt key of its choosing the relay cannot read the unwrapped key: the auth value keys the response', () => {
  const { tpm, handoff, pem } = booted();
  const { modulus: n, prime: p, priv: privateKey } = generateRsaKey(2048, 0);
  const decryptTemplate = { type: ALG.RSA as typeof ALG.RSA, nameAlg: ALG.SHA256, objectAttributes: 0x00020460, authPolicy: new Uint8Array(0), symmetric: { alg: ALG.NULL, keyBits: 0, mode: 0 }, scheme: { scheme: ALG.NULL, hashAlg: ALG.NULL }, keyBits: 2048, exponent: 0, unique: n };
  const evil = runSync(ops.loadExternal(decryptTemplate, RH.NULL, { type: ALG.RSA, authValue: new Uint8Array(0), seedValue: new Uint8Array(0), sensitive: p }), tpm);
  let salt: Uint8Array | undefined;
  let nonceCaller: Uint8Array | undefined;
  let nonceTpm: Uint8Array | undefined;
  let rsaCmdNonce: Uint8Array | undefined;
  let rsaRsp: Uint8Array | undefined;
  const relay: TpmTransport = {
    transmit: (c) => {
      const x = new Uint8Array(c);
      const cc = u32(x, 6);
      if (cc === CC.ReadPublic && u32(x, 10) === SRK_HANDLE) setU32(x, 10, evil.handle);
      if (cc === CC.StartAuthSession) {
        setU32(x, 10, evil.handle);
        const nc = (x[18]! << 8) | x[19]!;
        nonceCaller = x.slice(20, 20 + nc);
        const es = (x[20 + nc]! << 8) | x[21 + nc]!;
        salt = new Uint8Array(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('SECRET\0') }, x.subarray(22 + nc, 22 + nc + es)));
      }
      const r = tpm.transmit(x);
      if (cc === CC.StartAuthSession) nonceTpm = r.slice(16, 16 + ((r[14]! << 8) | r[15]!));
      if (cc === CC.RSA_Decrypt) { rsaCmdNonce = x.slice(10 + 4 + 4 + 4 + 2, 10 + 4 + 4 + 4 + 2 + 32); rsaRsp = r; }
      return r;
    },
  };
  const secret = rand(32);
  const { saltKeyPublic: _drop, ...noPin } = handoff;
  assert.deepEqual(unwrapLockboxSync(relay, noPin, wrap(pem, secret)), secret, 'the ultravisor still gets its key');
  assert.ok(salt && nonceCaller && nonceTpm && rsaCmdNonce && rsaRsp, 'the relay saw the salt and the traffic');
  // The relay derives the session key, then the response key without the auth value: no luck.
  const sessionKey = kdfa(ALG.SHA256, salt, 'ATH', nonceTpm, nonceCaller, 256);
  const paramSize = u32(rsaRsp, 10);
  const params = rsaRsp.subarray(14, 14 + paramSize);
  const rspNonce = rsaRsp.subarray(14 + paramSize + 2, 14 + paramSize + 2 + 32);
  const guess = (extra: Uint8Array) => {
    const kiv = kdfa(ALG.SHA256, new Uint8Array([...sessionKey, ...extra]), 'CFB', rspNonce, rsaCmdNonce!, 256);
    return aesCfbDecrypt(kiv.subarray(0, 16), kiv.subarray(16), params.subarray(2, 2 + ((params[0]! << 8) | params[1]!)));
  };
  assert.notDeepEqual(guess(new Uint8Array(0)), secret);
  // Control: had it the auth value, the same computation would have given it the key.
  assert.deepEqual(guess(handoff.authValue), secret);
});

test('the handoff as its device-tree node, and the wipe', () => {
  const { handoff } = booted();
  const node = handoffToNode(handoff);
  assert.equal(node.properties.compatible, 'ibm,uv-tpm');
  assert.deepEqual(handoffFromNode(node), handoff);
  const copy = { ...handoff, authValue: new Uint8Array(handoff.authValue) };
  wipeHandoff(copy);
  assert.deepEqual(copy.authValue, new Uint8Array(16));
  assert.notDeepEqual(handoff.authValue, new Uint8Array(16));
});

test('responses mangled by the relay end in a typed error, never a crash or a wrong key (fuzz)', () => {
  const { tpm, handoff, pem } = booted();
  const secret = rand(32);
  const ct = wrap(pem, secret);
  const { saltKeyPublic: _pin, ...unpinned } = handoff;
  let refused = 0;
  fc.assert(fc.property(fc.nat(7), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.boolean(), (which, flips, pinned) => {
    let i = 0;
    const relay: TpmTransport = {
      transmit: (c) => {
        const r = new Uint8Array(tpm.transmit(c));
        if (i++ !== which) return r;
        for (const [at, v] of flips) r[at % r.length] = v;
        return r;
      },
    };
    try {
      const out = unwrapLockboxSync(relay, pinned ? handoff : unpinned, ct);
      assert.deepEqual(out, secret, 'a mangled exchange must never produce another key');
    } catch (e) {
      refused++;
      assert.ok(e instanceof TpmError || e instanceof TpmProtocolError || e instanceof TpmParseError, `untyped: ${String(e)}`);
    }
    tpm.engine.sessions.clear();
  }), { numRuns: Number(process.env.PEF_FUZZ_RUNS ?? 400) });
  assert.ok(refused > 0);
});
