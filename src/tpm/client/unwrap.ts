// The ultravisor's TPM client: unwrap a lockbox's symmetric key with the machine key
// (PEF.md section 9). It is written as steps so that every command can travel through the
// untrusted hypervisor (H_SVM_TPM_COMM) and the relay learns nothing:
//
//  1. ReadPublic(key): its Name must be the one firmware handed over (no substituted key).
//  2. StartAuthSession: a policy session salted with the storage key, AES-128-CFB.
//  3. PolicyCommandCode(RSA_Decrypt), PolicyPCR(ultravisor PCR), PolicyAuthValue, PolicyOR.
//  4. RSA_Decrypt with response encryption: the key crosses the relay encrypted under a key
//     derived from the session key and the key's auth value; the response HMAC proves the TPM
//     (holding that auth value) produced it. cpHash covers the key's Name from the handoff.
//  5. FlushContext(session), also when a step failed.

import { ALG, CC, RC } from '../constants.js';
import { TpmError, TpmProtocolError } from '../errors.js';
import type { UltravisorHandoff } from '../handoff.js';
import { SRK_HANDLE } from '../machine-key.js';
import { equalBytes, toHex } from '../marshal.js';
import type { TpmtPublic } from '../types.js';
import type { ClientSession } from './command.js';
import { runAsync, runSync, type TpmFlow } from './flow.js';
import {
  flushContext, parsePublic2B, policyAuthValue, policyCommandCode, policyOR, policyPCR, readPublic, rsaDecrypt, startAuthSession,
} from './ops.js';
import type { AsyncTpmTransport, TpmTransport } from '../transport/transport.js';

/** The key behind the handle is not the one firmware named. */
export class TpmNameMismatch extends TpmProtocolError {
  readonly code = 'name-mismatch';
  constructor(what: string, expected: Uint8Array, got: Uint8Array) {
    super(`${what}: name mismatch: the TPM's key is not the one firmware handed over (expected ${toHex(expected)}, got ${toHex(got)})`);
    this.name = 'TpmNameMismatch';
  }
}

export function* unwrapSteps(handoff: UltravisorHandoff, ciphertext: Uint8Array): Generator<Uint8Array, Uint8Array, Uint8Array> {
  const key = yield* readPublic(handoff.keyHandle);
  if (!equalBytes(key.name, handoff.keyName)) throw new TpmNameMismatch(`key 0x${handoff.keyHandle.toString(16)}`, handoff.keyName, key.name);

  const saltHandle = handoff.saltKeyHandle ?? SRK_HANDLE;
  let saltPub: TpmtPublic;
  if (handoff.saltKeyPublic) saltPub = parsePublic2B(handoff.saltKeyPublic).pub;
  else saltPub = (yield* readPublic(saltHandle)).public;

  const session = yield* startAuthSession({ type: 'policy', saltKey: { handle: saltHandle, public: saltPub } });
  try {
    const plain = yield* decryptWithPolicy(session, handoff, ciphertext);
    yield* flushContext(session.handle);
    return plain;
  } catch (e) {
    if (e instanceof TpmError || e instanceof TpmProtocolError) {
      try { yield* flushContext(session.handle); } catch { /* the first error is the one to report */ }
    }
    throw e;
  }
}

function* decryptWithPolicy(session: ClientSession, h: UltravisorHandoff, ciphertext: Uint8Array): TpmFlow<Uint8Array> {
  yield* policyCommandCode(session, CC.RSA_Decrypt);
  yield* policyPCR(session, [{ hashAlg: ALG.SHA256, pcrs: [h.pcrIndex] }]);
  yield* policyAuthValue(session);
  try {
    yield* policyOR(session, h.policyDigests);
  } catch (e) {
    if (e instanceof TpmError && e.base === RC.VALUE) {
      throw new TpmError(e.rc, e.command, `policy refused: the session's digest matches no branch of the key's policy (PCR ${h.pcrIndex} does not hold the measurement of the ultravisor the key is bound to)`);
    }
    throw e;
  }
  return yield* rsaDecrypt({ handle: h.keyHandle, name: h.keyName }, ciphertext, { kind: 'session', session, authValue: h.authValue, encrypt: true });
}

export function unwrapLockboxSync(t: TpmTransport, handoff: UltravisorHandoff, ciphertext: Uint8Array): Uint8Array {
  return runSync(unwrapSteps(handoff, ciphertext), t);
}

export async function unwrapLockbox(t: TpmTransport | AsyncTpmTransport, handoff: UltravisorHandoff, ciphertext: Uint8Array): Promise<Uint8Array> {
  return await runAsync(unwrapSteps(handoff, ciphertext), t);
}
