// A stand-in TPM for the ultravisor's mechanics tests: it holds the machine's private key and
// the per-boot auth value, and answers one command, "unwrap this lockbox key with this auth".
// It says nothing about TPM security (the tests with the TPM engine do); it lets the page,
// reflection and ESM tests run the ultravisor's relay path end to end.

import { privateDecrypt, constants, type KeyObject } from 'node:crypto';
import type { UltravisorHandoff } from '../../src/ultravisor/index.js';

const MAGIC = Buffer.from('FAKEUNWRAP', 'latin1');

export function fakeHandoff(authValue: Uint8Array): UltravisorHandoff {
  return { keyHandle: 0x81800001, keyName: new Uint8Array(34), authValue, policyDigests: [], pcrIndex: 16 };
}

export function* fakeUnwrap(handoff: UltravisorHandoff, encryptedSymkey: Uint8Array): Generator<Uint8Array, Uint8Array, Uint8Array> {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(handoff.keyHandle, 0);
  h.writeUInt8(handoff.authValue.length, 4);
  const rsp = yield new Uint8Array(Buffer.concat([MAGIC, h, handoff.authValue, encryptedSymkey]));
  const rc = Buffer.from(rsp).readUInt32BE(6);
  if (rc !== 0) throw new Error(`TPM error 0x${rc.toString(16)}`);
  return new Uint8Array(rsp.subarray(10));
}

export function fakeTpm(priv: KeyObject, authValue: Uint8Array): (cmd: Uint8Array) => Uint8Array {
  const answer = (rc: number, body: Uint8Array = new Uint8Array(0)) => {
    const b = Buffer.alloc(10 + body.length);
    b.writeUInt16BE(0x8001, 0); b.writeUInt32BE(b.length, 2); b.writeUInt32BE(rc, 6);
    b.set(body, 10);
    return new Uint8Array(b);
  };
  return (cmd) => {
    const c = Buffer.from(cmd);
    if (!c.subarray(0, 10).equals(MAGIC)) return answer(0x101);
    const n = c.readUInt8(14);
    const auth = c.subarray(15, 15 + n);
    if (!auth.equals(Buffer.from(authValue))) return answer(0x98e); // TPM_RC_AUTH_FAIL
    try {
      return answer(0, privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, c.subarray(15 + n)));
    } catch {
      return answer(0x3c4);
    }
  };
}
