// Firmware's TPM work, as flows over any transport: provisioning the storage primary and the
// wrapping key (PEF.md section 9), rotating the wrapping key's auth value at each boot,
// closing the gate, and the duplicate/import halves of moving a key between machines.

import { createHash, randomBytes } from 'node:crypto';
import {
  ALG, CC, RH, SRK_HANDLE, SRK_TEMPLATE, TpmError, WRAPPING_KEY_HANDLE, concat, machineKeyPolicy, marshalPublic2B, ops,
  pemFingerprint, publicPem, u16be, uvPcrValueFor, wrappingKeyTemplate,
  type ClientSession, type MachineKeyPolicy, type TpmFlow, type TpmtPublic,
} from '../tpm/index.js';
import { PCR } from './pcrs.js';

/** What provisioning produced and the machine directory records. */
export interface KeyProvision {
  srk: { handle: number; name: Uint8Array; public: Uint8Array };
  key: { handle: number; name: Uint8Array; public: Uint8Array; pem: string; fingerprint: Uint8Array };
  policy: MachineKeyPolicy;
  uvPcrValue: Uint8Array;
}

const pub2b = (p: TpmtPublic): Uint8Array => marshalPublic2B(p);

function* exists(handle: number): TpmFlow<boolean> {
  try {
    yield* ops.readPublic(handle);
    return true;
  } catch (e) {
    if (e instanceof TpmError) return false;
    throw e;
  }
}

function* evictIfPresent(handle: number): TpmFlow<void> {
  if (yield* exists(handle)) yield* ops.evictControl(RH.PLATFORM, { handle, name: (yield* ops.readPublic(handle)).name }, handle);
}

/** The storage primary at 0x81800000 (created if absent; primaries are a function of the platform seed). */
export function* ensureSrk(): TpmFlow<{ handle: number; name: Uint8Array; public: Uint8Array; pub: TpmtPublic }> {
  if (!(yield* exists(SRK_HANDLE))) {
    const t = yield* ops.createPrimary(RH.PLATFORM, SRK_TEMPLATE);
    yield* ops.evictControl(RH.PLATFORM, t, SRK_HANDLE);
    yield* ops.flushContext(t.handle);
  }
  const r = yield* ops.readPublic(SRK_HANDLE);
  return { handle: SRK_HANDLE, name: r.name, public: concat(u16be(r.publicBytes.length), r.publicBytes), pub: r.public };
}

/**
 * A new wrapping key at 0x81800001 bound to the ultravisor measurement `uvDigest` (whatever key
 * was there is evicted). Needs the platform hierarchy: run it right after a platform reset.
 */
export function* provisionWrappingKey(uvDigest: Uint8Array): TpmFlow<KeyProvision> {
  const srk = yield* ensureSrk();
  const uvPcrValue = uvPcrValueFor(uvDigest);
  const policy = machineKeyPolicy({ uvPcr: PCR.ULTRAVISOR, uvPcrValue, gatePcr: PCR.GATE });
  const created = yield* ops.create({ handle: SRK_HANDLE, name: srk.name }, wrappingKeyTemplate(policy.digest), { userAuth: new Uint8Array(randomBytes(16)) });
  yield* evictIfPresent(WRAPPING_KEY_HANDLE);
  const t = yield* ops.load({ handle: SRK_HANDLE, name: srk.name }, created.private, created.public);
  yield* ops.evictControl(RH.PLATFORM, t, WRAPPING_KEY_HANDLE);
  yield* ops.flushContext(t.handle);
  const pem = publicPem(created.public);
  return {
    srk: { handle: SRK_HANDLE, name: srk.name, public: srk.public },
    key: { handle: WRAPPING_KEY_HANDLE, name: t.name, public: pub2b(created.public), pem, fingerprint: pemFingerprint(pem) },
    policy, uvPcrValue,
  };
}

/** A policy session with one of the key's gate branches (changeAuth or duplicate) satisfied. */
function* gateBranch(cc: number, branches: Uint8Array[]): TpmFlow<ClientSession> {
  const s = yield* ops.startAuthSession({ type: 'policy' });
  yield* ops.policyCommandCode(s, cc);
  yield* ops.policyPCR(s, [{ hashAlg: ALG.SHA256, pcrs: [PCR.GATE] }]);
  yield* ops.policyOR(s, branches);
  return s;
}

/** A salted HMAC session used only to encrypt a parameter (its key does not involve the object's auth value). */
function* encryptionSession(srkPub: TpmtPublic): TpmFlow<ClientSession> {
  return yield* ops.startAuthSession({ type: 'hmac', saltKey: { handle: SRK_HANDLE, public: srkPub } });
}

/**
 * The per-boot rotation: ObjectChangeAuth through branch B (gate PCR still at 0) with the new
 * auth value encrypted on the wire, then the re-wrapped key replaces the persistent one.
 */
export function* rotateAuth(keyName: Uint8Array, branches: Uint8Array[], newAuth: Uint8Array): TpmFlow<void> {
  const srk = yield* ops.readPublic(SRK_HANDLE);
  const keyPub = yield* ops.readPublic(WRAPPING_KEY_HANDLE);
  const pol = yield* gateBranch(CC.ObjectChangeAuth, branches);
  const enc = yield* encryptionSession(srk.public);
  let priv: Uint8Array;
  try {
    priv = yield* ops.objectChangeAuth(
      { handle: WRAPPING_KEY_HANDLE, name: keyName }, { handle: SRK_HANDLE, name: srk.name }, newAuth,
      { kind: 'session', session: pol, continueSession: false },
      { kind: 'session', session: enc, decrypt: true, continueSession: false },
    );
  } catch (e) {
    for (const s of [pol, enc]) if (!s.closed) { try { yield* ops.flushContext(s.handle); } catch { /* keep the first error */ } }
    throw e;
  }
  const t = yield* ops.load({ handle: SRK_HANDLE, name: srk.name }, priv, keyPub.publicBytes);
  yield* ops.evictControl(RH.PLATFORM, { handle: WRAPPING_KEY_HANDLE, name: keyName }, WRAPPING_KEY_HANDLE);
  yield* ops.evictControl(RH.PLATFORM, t, WRAPPING_KEY_HANDLE);
  yield* ops.flushContext(t.handle);
}

/** The TCG separator event's data: four zero bytes. */
export const SEPARATOR_DATA = new Uint8Array(4);
export const SEPARATOR_DIGEST = new Uint8Array(createHash('sha256').update(SEPARATOR_DATA).digest());

/** Give the platform hierarchy a random authorization nobody keeps, until the next reset. */
export function* lockPlatform(): TpmFlow<void> {
  yield* ops.hierarchyChangeAuth(RH.PLATFORM, new Uint8Array(randomBytes(32)));
}

/** Source side of duplicate-key: the key wrapped for the destination's storage key. */
export function* duplicateKeyOut(keyName: Uint8Array, branches: Uint8Array[], newParentPublic: Uint8Array): TpmFlow<ops.DuplicateBlob> {
  const srk = yield* ops.readPublic(SRK_HANDLE);
  const parent = yield* ops.loadExternal(newParentPublic.subarray(2), RH.OWNER);
  try {
    const pol = yield* gateBranch(CC.Duplicate, branches);
    const enc = yield* encryptionSession(srk.public);
    return yield* ops.duplicate({ handle: WRAPPING_KEY_HANDLE, name: keyName }, parent, { kind: 'session', session: pol, continueSession: false }, {
      extra: { kind: 'session', session: enc, encrypt: true, continueSession: false },
    });
  } finally {
    yield* ops.flushContext(parent.handle);
  }
}

/** Destination side: import under our storage key and make it the wrapping key. */
export function* importKeyIn(keyPublic: Uint8Array, blob: ops.DuplicateBlob): TpmFlow<{ name: Uint8Array }> {
  const srk = yield* ensureSrk();
  const parent = { handle: SRK_HANDLE, name: srk.name };
  const priv = yield* ops.importObject(parent, keyPublic.subarray(2), blob);
  yield* evictIfPresent(WRAPPING_KEY_HANDLE);
  const t = yield* ops.load(parent, priv, keyPublic.subarray(2));
  yield* ops.evictControl(RH.PLATFORM, t, WRAPPING_KEY_HANDLE);
  yield* ops.flushContext(t.handle);
  return { name: t.name };
}
