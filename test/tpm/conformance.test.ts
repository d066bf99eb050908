// One TPM conformance suite, run against the embedded engine and against swtpm (PEF_SWTPM, or a
// private instance). Expected values are computed independently here (node:crypto over the
// bytes the TPM returned, or tpm2-tools), never taken from the code under test. In CI swtpm and
// tpm2-tools are required: these tests fail rather than skip without them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, publicEncrypt, constants } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALG, CC, OA, RC, RH, SRK_HANDLE, SRK_TEMPLATE, TpmError, TpmProtocolError, WRAPPING_KEY_HANDLE, machineKeyPolicy,
  marshalPublic2B, ops, passwordAuth, runSync, unwrapLockboxSync, wrappingKeyTemplate, SYM_NULL,
  type ClientSession, type TpmFlow, type TpmtPublic, type TpmTransport, type UltravisorHandoff,
} from '../../src/tpm/index.js';
import { duplicateKeyOut, ensureSrk, importKeyIn, provisionWrappingKey, rotateAuth } from '../../src/firmware/provision.js';
import { CI, embeddedTarget, freshStart, requireTool, swtpmTarget, tpm2, type Target } from './helpers.js';

const sha256 = (...p: Uint8Array[]) => { const h = createHash('sha256'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };
const nameOf = (publicBytes: Uint8Array) => new Uint8Array([0x00, 0x0b, ...sha256(publicBytes)]);
const rand = (n: number) => new Uint8Array(randomBytes(n));
const rcIs = (rc: number) => (e: unknown) => e instanceof TpmError && e.rc === rc;
const UV_PCR = 3;
const GATE = 11;

/** A plain decryption key (TPM.md template 0x00020072 + noDA) under a fresh SRK. */
const PLAIN_KEY: TpmtPublic = {
  ...SRK_TEMPLATE, objectAttributes: 0x00020072 | OA.noDA, symmetric: SYM_NULL, scheme: { scheme: ALG.OAEP, hashAlg: ALG.SHA256 },
};

function oaep(pem: string | TpmtPublic, data: Uint8Array): Uint8Array {
  const key = typeof pem === 'string' ? pem : createPublicKey({ key: { kty: 'RSA', n: Buffer.from(pem.unique).toString('base64url'), e: 'AQAB' }, format: 'jwk' });
  return new Uint8Array(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, data));
}

/** Provision the machine key bound to `uvDigest`, measure it, rotate to a known auth: a booted machine. */
function bootedKey(t: Target): { handoff: UltravisorHandoff; pem: string; uvDigest: Uint8Array } {
  freshStart(t);
  const uvDigest = rand(32);
  const p = t.run(provisionWrappingKey(uvDigest));
  t.run(ops.pcrExtend(UV_PCR, uvDigest));
  const authValue = rand(16);
  t.run(rotateAuth(p.key.name, p.policy.branches, authValue));
  return {
    handoff: { keyHandle: WRAPPING_KEY_HANDLE, keyName: p.key.name, authValue, policyDigests: p.policy.branches, pcrIndex: UV_PCR, saltKeyHandle: SRK_HANDLE, saltKeyPublic: p.srk.public },
    pem: p.key.pem, uvDigest,
  };
}

function* trialDigest(steps: (s: ClientSession) => TpmFlow<void>): TpmFlow<Uint8Array> {
  const s = yield* ops.startAuthSession({ type: 'trial' });
  yield* steps(s);
  const d = yield* ops.policyGetDigest(s);
  yield* ops.flushContext(s.handle);
  return d;
}

const targets: Target[] = [embeddedTarget()];
const swA = swtpmTarget('PEF_SWTPM');
if (swA) targets.push(swA);

for (const tg of targets) {
  describe(`TPM conformance: ${tg.name}`, () => {
    before(() => tg.setup());
    after(() => tg.teardown());

    it('answers TPM_RC_INITIALIZE before Startup and to a second Startup', () => {
      tg.device().powerCycle();
      assert.throws(() => tg.run(ops.getRandom(8)), rcIs(RC.INITIALIZE));
      tg.run(ops.startup());
      assert.throws(() => tg.run(ops.startup()), rcIs(RC.INITIALIZE));
      const r = tg.run(ops.getRandom(16));
      assert.equal(r.length, 16);
    });

    it('extends a PCR as SHA-256(old || digest) and resets it only where the platform allows', () => {
      freshStart(tg);
      const d = rand(32);
      const before = tg.run(ops.pcrRead([5, 16])).values;
      assert.deepEqual(before.get(5), new Uint8Array(32));
      tg.run(ops.pcrExtend(5, d));
      tg.run(ops.pcrExtend(16, d));
      const after = tg.run(ops.pcrRead([5, 16])).values;
      assert.deepEqual(after.get(5), sha256(new Uint8Array(32), d));
      // PCR 16 (debug) can be reset from locality 0: why the gate is not PCR 16 ...
      tg.run(ops.pcrReset(16));
      assert.deepEqual(tg.run(ops.pcrRead([16])).values.get(16), new Uint8Array(32));
      // ... while PCR 11, the gate, cannot.
      assert.throws(() => tg.run(ops.pcrReset(GATE)), rcIs(RC.LOCALITY));
    });

    it('names objects nameAlg || SHA-256(TPMT_PUBLIC)', () => {
      freshStart(tg);
      const srk = tg.run(ops.createPrimary(RH.OWNER, SRK_TEMPLATE));
      assert.deepEqual(srk.name, nameOf(srk.publicBytes));
      const pol = machineKeyPolicy({ uvPcr: UV_PCR, uvPcrValue: rand(32), gatePcr: GATE });
      const k = tg.run(ops.create(srk, wrappingKeyTemplate(pol.digest)));
      const kh = tg.run(ops.load(srk, k.private, k.public));
      assert.deepEqual(kh.name, nameOf(k.publicBytes));
      const rp = tg.run(ops.readPublic(kh.handle));
      assert.deepEqual(rp.name, kh.name);
      // qualified name = 000b || H(parent QN || name), the parent QN of a primary being its QN over the hierarchy
      const srkQn = new Uint8Array([0, 0x0b, ...sha256(new Uint8Array([0x40, 0, 0, 1]), srk.name)]);
      assert.deepEqual(rp.qualifiedName, new Uint8Array([0, 0x0b, ...sha256(srkQn, kh.name)]));
      tg.run(ops.flushContext(kh.handle));
      tg.run(ops.flushContext(srk.handle));
    });

    it('computes trial policy digests as the machine-key policy says (PolicyCommandCode, PolicyPCR, PolicyAuthValue, PolicyOR)', () => {
      freshStart(tg);
      const v = rand(32);
      const pol = machineKeyPolicy({ uvPcr: UV_PCR, uvPcrValue: v, gatePcr: GATE });
      const a = tg.run(trialDigest(function* (s) {
        yield* ops.policyCommandCode(s, CC.RSA_Decrypt);
        yield* ops.policyPCR(s, [{ hashAlg: ALG.SHA256, pcrs: [UV_PCR] }], sha256(v));
        yield* ops.policyAuthValue(s);
      }));
      assert.deepEqual(a, pol.decrypt);
      const b = tg.run(trialDigest(function* (s) {
        yield* ops.policyCommandCode(s, CC.ObjectChangeAuth);
        yield* ops.policyPCR(s, [{ hashAlg: ALG.SHA256, pcrs: [GATE] }]);
      }));
      assert.deepEqual(b, pol.changeAuth);
      const or = tg.run(trialDigest(function* (s) { yield* ops.policyOR(s, pol.branches); }));
      assert.deepEqual(or, pol.digest);
    });

    it('a salted policy session with response encryption returns the right plaintext, which never crosses the relay in clear', () => {
      const { handoff, pem } = bootedKey(tg);
      const secret = rand(32);
      const seen: Uint8Array[] = [];
      const relay: TpmTransport = { transmit: (c) => { seen.push(c); const r = tg.device().transmit(c); seen.push(r); return r; } };
      assert.deepEqual(unwrapLockboxSync(relay, handoff, oaep(pem, secret)), secret);
      const all = Buffer.concat(seen);
      assert.equal(all.indexOf(Buffer.from(secret)), -1, 'the key crossed the relay in clear');
      assert.equal(all.indexOf(Buffer.from(handoff.authValue)), -1, 'the auth value crossed the relay');
      // Control: without response encryption the same key is visible to the relay.
      const s = tg.run(ops.startAuthSession({ type: 'policy' }));
      tg.run(ops.policyCommandCode(s, CC.RSA_Decrypt));
      tg.run(ops.policyPCR(s, [{ hashAlg: ALG.SHA256, pcrs: [UV_PCR] }]));
      tg.run(ops.policyAuthValue(s));
      tg.run(ops.policyOR(s, handoff.policyDigests));
      const clear: Uint8Array[] = [];
      const spy: TpmTransport = { transmit: (c) => { const r = tg.device().transmit(c); clear.push(r); return r; } };
      const pt = runSync(ops.rsaDecrypt({ handle: handoff.keyHandle, name: handoff.keyName }, oaep(pem, secret), { kind: 'session', session: s, authValue: handoff.authValue, continueSession: false }), spy);
      assert.deepEqual(pt, secret);
      assert.notEqual(Buffer.concat(clear).indexOf(Buffer.from(secret)), -1);
    });

    it('refuses a tampered command HMAC with TPM_RC_BAD_AUTH for session 1 (0x9A2), and the client refuses a tampered response', () => {
      const { handoff, pem } = bootedKey(tg);
      const s = tg.run(ops.startAuthSession({ type: 'policy', saltKey: { handle: SRK_HANDLE, public: ops.parsePublic2B(handoff.saltKeyPublic!).pub } }));
      tg.run(ops.policyCommandCode(s, CC.RSA_Decrypt));
      tg.run(ops.policyPCR(s, [{ hashAlg: ALG.SHA256, pcrs: [UV_PCR] }]));
      tg.run(ops.policyAuthValue(s));
      tg.run(ops.policyOR(s, handoff.policyDigests));
      const ct = oaep(pem, rand(32));
      const flow = ops.rsaDecrypt({ handle: handoff.keyHandle, name: handoff.keyName }, ct, { kind: 'session', session: s, authValue: handoff.authValue, encrypt: true });
      const cmd = new Uint8Array(flow.next().value as Uint8Array);
      // header 10, key handle 4, authSize 4, session handle 4, nonce 2+32, attrs 1, hmac size 2: the HMAC's first byte
      const at = 10 + 4 + 4 + 4 + 34 + 1 + 2;
      assert.equal((cmd[at - 2]! << 8) | cmd[at - 1]!, 32);
      cmd[at]! ^= 1;
      const rsp = tg.device().transmit(cmd);
      assert.equal(new DataView(rsp.buffer, rsp.byteOffset).getUint32(6), 0x9a2);
      tg.run(ops.flushContext(s.handle));
      // The relay alters the encrypted key in the response: the response HMAC catches it.
      const tamper: TpmTransport = {
        transmit: (c) => {
          const r = new Uint8Array(tg.device().transmit(c));
          if (new DataView(c.buffer, c.byteOffset).getUint32(6) === CC.RSA_Decrypt && r.length > 30) r[20]! ^= 0x80;
          return r;
        },
      };
      assert.throws(() => unwrapLockboxSync(tamper, handoff, ct), (e) => e instanceof TpmProtocolError && /HMAC/.test(e.message));
    });

    it('refuses a password on a policy-only key (0x12F) and the previous auth value after a rotation (0x9A2)', () => {
      const { handoff, pem, uvDigest } = bootedKey(tg);
      const ct = oaep(pem, rand(32));
      assert.throws(() => tg.run(ops.rsaDecrypt({ handle: handoff.keyHandle, name: handoff.keyName }, ct, passwordAuth(handoff.authValue))), rcIs(RC.AUTH_UNAVAILABLE));
      // A new boot: the gate is open again, firmware rotates.
      tg.device().powerCycle();
      tg.run(ops.startup());
      tg.run(ops.pcrExtend(UV_PCR, uvDigest));
      const fresh = rand(16);
      tg.run(rotateAuth(handoff.keyName, handoff.policyDigests, fresh));
      assert.throws(() => unwrapLockboxSync(tg.device(), handoff, ct), rcIs(0x9a2));
      // Control: the new one works.
      assert.equal(unwrapLockboxSync(tg.device(), { ...handoff, authValue: fresh }, ct).length, 32);
    });

    it('refuses PolicyOR when the session matches no branch (0x1C4): a wrong ultravisor measurement', () => {
      const { handoff, pem } = bootedKey(tg);
      tg.run(ops.pcrExtend(UV_PCR, rand(32)));
      assert.throws(() => unwrapLockboxSync(tg.device(), handoff, oaep(pem, rand(32))), (e) => e instanceof TpmError && e.rc === 0x1c4 && e.command === CC.PolicyOR && e.isPolicyFailure);
    });

    it('checks the key policy at use: a session that satisfies another branch is refused with TPM_RC_POLICY_FAIL (0x99D)', () => {
      const { handoff, pem } = bootedKey(tg);
      tg.run(ops.pcrExtend(UV_PCR, rand(32)));
      const s = tg.run(ops.startAuthSession({ type: 'policy' }));
      tg.run(ops.policyCommandCode(s, CC.RSA_Decrypt));
      tg.run(ops.policyPCR(s, [{ hashAlg: ALG.SHA256, pcrs: [UV_PCR] }]));
      tg.run(ops.policyAuthValue(s));
      const mine = tg.run(ops.policyGetDigest(s));
      // A rogue puts its own digest in the OR list: PolicyOR accepts, the key's authPolicy does not.
      tg.run(ops.policyOR(s, [mine, handoff.policyDigests[1]!, handoff.policyDigests[2]!]));
      assert.throws(() => tg.run(ops.rsaDecrypt({ handle: handoff.keyHandle, name: handoff.keyName }, oaep(pem, rand(32)), { kind: 'session', session: s, authValue: handoff.authValue })),
        (e) => e instanceof TpmError && e.rc === 0x99d);
      tg.run(ops.flushContext(s.handle));
    });

    it('closes the rotation gate once PCR 11 is extended', () => {
      const { handoff } = bootedKey(tg);
      tg.run(ops.pcrExtend(GATE, sha256(new Uint8Array(4))));
      assert.throws(() => tg.run(rotateAuth(handoff.keyName, handoff.policyDigests, rand(16))), (e) => e instanceof TpmError && e.command === CC.PolicyOR && e.rc === 0x1c4);
    });

    it('HMAC sessions, bound and unbound, authorize a key with an auth value (and refuse a wrong one)', () => {
      freshStart(tg);
      const srk = tg.run(ops.createPrimary(RH.OWNER, SRK_TEMPLATE));
      const auth = new Uint8Array([...rand(15), 0]);
      const k = tg.run(ops.create(srk, PLAIN_KEY, { userAuth: auth }));
      const kh = tg.run(ops.load(srk, k.private, k.public));
      const msg = rand(32);
      const ct = oaep(k.public, msg);
      const unbound = tg.run(ops.startAuthSession({ type: 'hmac', saltKey: { handle: srk.handle, public: srk.public } }));
      assert.deepEqual(tg.run(ops.rsaDecrypt(kh, ct, { kind: 'session', session: unbound, authValue: auth, encrypt: true })), msg);
      const bound = tg.run(ops.startAuthSession({ type: 'hmac', bind: { ...kh, authValue: auth } }));
      assert.deepEqual(tg.run(ops.rsaDecrypt(kh, ct, { kind: 'session', session: bound, authValue: auth })), msg);
      assert.throws(() => tg.run(ops.rsaDecrypt(kh, ct, { kind: 'session', session: unbound, authValue: rand(16) })), rcIs(0x9a2));
      for (const h of [unbound.handle, bound.handle, kh.handle, srk.handle]) tg.run(ops.flushContext(h));
    });

    it('refuses a nonceCaller shorter than 16 bytes (0x1D5)', () => {
      freshStart(tg);
      assert.throws(() => tg.run(ops.startAuthSession({ type: 'hmac', nonceSize: 8 })), rcIs(0x1d5));
    });

    it('has three transient object slots (0x902 for a fourth)', () => {
      freshStart(tg);
      const hs = [0, 1, 2].map(() => tg.run(ops.createPrimary(RH.NULL, SRK_TEMPLATE)).handle);
      assert.throws(() => tg.run(ops.createPrimary(RH.NULL, SRK_TEMPLATE)), rcIs(RC.OBJECT_MEMORY));
      for (const h of hs) tg.run(ops.flushContext(h));
    });

    it('counts a persistent object in use, and an object being created, against the three slots', () => {
      freshStart(tg);
      tg.run(ensureSrk());
      const srk = { handle: SRK_HANDLE, name: tg.run(ops.readPublic(SRK_HANDLE)).name };
      const hs = [0, 1].map(() => tg.run(ops.createPrimary(RH.NULL, SRK_TEMPLATE)).handle);
      tg.run(ops.readPublic(SRK_HANDLE));
      assert.throws(() => tg.run(ops.create(srk, PLAIN_KEY)), rcIs(RC.OBJECT_MEMORY));
      hs.push(tg.run(ops.createPrimary(RH.NULL, SRK_TEMPLATE)).handle);
      assert.throws(() => tg.run(ops.readPublic(SRK_HANDLE)), rcIs(RC.OBJECT_MEMORY));
      tg.run(ops.flushContext(hs.pop()!));
      tg.run(ops.flushContext(hs.pop()!));
      const k = tg.run(ops.create(srk, PLAIN_KEY));
      assert.equal(k.public.unique.length, 256);
      for (const h of hs) tg.run(ops.flushContext(h));
    });

    it('refuses to import a fixedTPM object (0x2C2)', () => {
      freshStart(tg);
      const srk = tg.run(ops.createPrimary(RH.OWNER, SRK_TEMPLATE));
      assert.throws(() => tg.run(ops.importObject(srk, marshalPublic2B(SRK_TEMPLATE).subarray(2), { encryptionKey: rand(16), duplicate: rand(64), inSymSeed: rand(256) })), rcIs(0x2c2));
      tg.run(ops.flushContext(srk.handle));
    });

    it('refuses an OAEP label without its terminating zero (0x3C4; libtpms 0.9.2 answers 0x101)', () => {
      freshStart(tg);
      const srk = tg.run(ops.createPrimary(RH.OWNER, SRK_TEMPLATE));
      const k = tg.run(ops.create(srk, PLAIN_KEY));
      const kh = tg.run(ops.load(srk, k.private, k.public));
      const msg = rand(32);
      // The label the TPM uses includes its zero byte.
      const lbl = new Uint8Array([...Buffer.from('pef'), 0]);
      const ct = new Uint8Array(publicEncrypt({ key: { kty: 'RSA', n: Buffer.from(k.public.unique).toString('base64url'), e: 'AQAB' } as never, format: 'jwk', padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: lbl } as never, msg));
      assert.deepEqual(tg.run(ops.rsaDecrypt(kh, ct, passwordAuth(), { label: lbl })), msg);
      assert.throws(() => tg.run(ops.rsaDecrypt(kh, ct, passwordAuth(), { label: lbl.subarray(0, 3) })),
        (e) => e instanceof TpmError && (e.rc === 0x3c4 || (tg.kind === 'swtpm' && e.rc === 0x101)));
      tg.run(ops.flushContext(kh.handle));
      tg.run(ops.flushContext(srk.handle));
    });
  });
}

describe('tpm2-tools computes the same Names and policy digests', () => {
  const tools = swA;
  let dir = '';
  before(async () => { dir = mkdtempSync(join(tmpdir(), 'pef-tpm2-')); if (tools) await tools.setup(); });
  after(async () => { rmSync(dir, { recursive: true, force: true }); if (tools) await tools.teardown(); });

  it('policy digests of the machine key (trial sessions in tpm2-tools)', (t) => {
    if (!tools) { if (CI) assert.fail('swtpm is required in CI'); t.skip('no swtpm'); return; }
    if (!requireTool(t, 'tpm2_startauthsession')) return;
    const v = rand(32);
    const pol = machineKeyPolicy({ uvPcr: UV_PCR, uvPcrValue: v, gatePcr: GATE });
    writeFileSync(join(dir, 'uv.bin'), v);
    writeFileSync(join(dir, 'zero.bin'), new Uint8Array(32));
    const trial = (steps: string[][], out: string) => {
      tpm2(tools, ['tpm2_startauthsession', '-S', 's.ctx'], { cwd: dir });
      for (const s of steps) tpm2(tools, s, { cwd: dir });
      tpm2(tools, ['tpm2_flushcontext', 's.ctx'], { cwd: dir });
      return new Uint8Array(readFileSync(join(dir, out)));
    };
    const a = trial([['tpm2_policycommandcode', '-S', 's.ctx', 'TPM2_CC_RSA_Decrypt'], ['tpm2_policypcr', '-S', 's.ctx', '-l', `sha256:${UV_PCR}`, '-f', 'uv.bin'], ['tpm2_policyauthvalue', '-S', 's.ctx', '-L', 'a.dig']], 'a.dig');
    const b = trial([['tpm2_policycommandcode', '-S', 's.ctx', 'TPM2_CC_ObjectChangeAuth'], ['tpm2_policypcr', '-S', 's.ctx', '-l', `sha256:${GATE}`, '-f', 'zero.bin', '-L', 'b.dig']], 'b.dig');
    const c = trial([['tpm2_policycommandcode', '-S', 's.ctx', 'TPM2_CC_Duplicate'], ['tpm2_policypcr', '-S', 's.ctx', '-l', `sha256:${GATE}`, '-f', 'zero.bin', '-L', 'c.dig']], 'c.dig');
    const or = trial([['tpm2_policyor', '-S', 's.ctx', '-L', 'or.dig', 'sha256:a.dig,b.dig,c.dig']], 'or.dig');
    assert.deepEqual([a, b, c, or], [pol.decrypt, pol.changeAuth, pol.duplicate, pol.digest]);
  });

  it('Names of the storage key and the wrapping key, from either TPM (tpm2_loadexternal, tpm2_readpublic)', (t) => {
    if (!tools) { if (CI) assert.fail('swtpm is required in CI'); t.skip('no swtpm'); return; }
    if (!requireTool(t, 'tpm2_loadexternal')) return;
    const emb = embeddedTarget();
    freshStart(emb);
    const p = emb.run(provisionWrappingKey(rand(32)));
    for (const [what, pub, name] of [['srk', p.srk.public, p.srk.name], ['wrapping key', p.key.public, p.key.name]] as const) {
      writeFileSync(join(dir, 'k.pub'), pub);
      const out = tpm2(tools, ['tpm2_loadexternal', '-C', 'o', '-u', 'k.pub', '-c', 'k.ctx'], { cwd: dir });
      tpm2(tools, ['tpm2_flushcontext', '-t'], { cwd: dir });
      assert.match(out, new RegExp(`name: ${Buffer.from(name).toString('hex')}`), `${what} from the embedded TPM`);
    }
    // And what swtpm itself provisioned, read back by tpm2-tools.
    freshStart(tools);
    const q = tools.run(provisionWrappingKey(rand(32)));
    tpm2(tools, ['tpm2_readpublic', '-c', `0x${WRAPPING_KEY_HANDLE.toString(16)}`, '-n', 'key.name'], { cwd: dir });
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'key.name'))), q.key.name);
  });
});

describe('duplicate-key across TPMs (Duplicate on one, Import on the other, decrypt there)', () => {
  const emb = embeddedTarget();
  const swB = swtpmTarget('PEF_SWTPM_B');
  before(async () => { if (swA) await swA.setup(); if (swB) await swB.setup(); });
  after(async () => { await emb.teardown(); if (swA) await swA.teardown(); if (swB) await swB.teardown(); });

  function across(src: Target, dst: Target): void {
    freshStart(src);
    freshStart(dst);
    const uvDigest = rand(32);
    const p = src.run(provisionWrappingKey(uvDigest));
    const dstSrk = dst.run(ensureSrk());
    const blob = src.run(duplicateKeyOut(p.key.name, p.policy.branches, dstSrk.public));
    assert.equal(Buffer.from(blob.duplicate).indexOf(Buffer.from(p.key.public.subarray(-64))), -1);
    const imported = dst.run(importKeyIn(p.key.public, blob));
    assert.deepEqual(imported.name, p.key.name);
    // The destination boots the same genuine ultravisor: measure, rotate, unwrap.
    dst.run(ops.pcrExtend(UV_PCR, uvDigest));
    const authValue = rand(16);
    dst.run(rotateAuth(p.key.name, p.policy.branches, authValue));
    const secret = rand(32);
    const handoff: UltravisorHandoff = { keyHandle: WRAPPING_KEY_HANDLE, keyName: p.key.name, authValue, policyDigests: p.policy.branches, pcrIndex: UV_PCR };
    assert.deepEqual(unwrapLockboxSync(dst.device(), handoff, oaep(p.key.pem, secret)), secret);
  }

  it('embedded -> swtpm', (t) => {
    if (!swA) { if (CI) assert.fail('swtpm is required in CI'); t.skip('no swtpm'); return; }
    across(emb, swA);
  });
  it('swtpm -> embedded', (t) => {
    if (!swA) { if (CI) assert.fail('swtpm is required in CI'); t.skip('no swtpm'); return; }
    across(swA, emb);
  });
  it('swtpm -> another swtpm', (t) => {
    if (!swA || !swB) { if (CI) assert.fail('two swtpm instances are required in CI'); t.skip('no second swtpm'); return; }
    across(swA, swB);
  });
  it('embedded -> embedded, and a blob for another TPM does not import', () => {
    const other = embeddedTarget();
    across(emb, other);
    const third = embeddedTarget();
    freshStart(third);
    freshStart(emb);
    const p = emb.run(provisionWrappingKey(rand(32)));
    const srkOther = other.run(ensureSrk());
    const blob = emb.run(duplicateKeyOut(p.key.name, p.policy.branches, srkOther.public));
    third.run(provisionWrappingKey(rand(32)));
    // third's storage key has another seed (another TPM): the outer wrapper does not open.
    assert.throws(() => third.run(importKeyIn(p.key.public, blob)), (e) => e instanceof TpmError && (e.base === RC.VALUE || e.base === RC.INTEGRITY));
  });
});
