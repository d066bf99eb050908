// The machine key of PEF.md section 9: the storage primary at 0x81800000 and the wrapping key
// at 0x81800001, their templates, and the wrapping key's policy (docs/tpm-policy.md):
//
//   A (decrypt)    = PolicyCommandCode(RSA_Decrypt) . PolicyPCR(uv PCR = genuine value) . PolicyAuthValue
//   B (change auth)= PolicyCommandCode(ObjectChangeAuth) . PolicyPCR(gate PCR = 0)
//   C (duplicate)  = PolicyCommandCode(Duplicate) . PolicyPCR(gate PCR = 0)
//   authPolicy     = PolicyOR(A, B, C)
//
// Firmware extends the gate PCR right after it rotates the auth value, so B and C are open
// only to firmware, before anything else runs; A needs both the genuine ultravisor's
// measurement and the auth value only that ultravisor was handed.

import { ALG, CC, OA } from './constants.js';
import { PolicyBuilder, policyOr, replayPcr } from './policy.js';
import { AES128CFB, SYM_NULL, type TpmtPublic } from './types.js';

export const SRK_HANDLE = 0x81800000;
export const WRAPPING_KEY_HANDLE = 0x81800001;

const EMPTY = new Uint8Array(0);

/** RSA-2048 restricted decryption storage key, AES-128-CFB (TPM.md: attributes 0x00030472). */
export const SRK_TEMPLATE: TpmtPublic = {
  type: ALG.RSA, nameAlg: ALG.SHA256,
  objectAttributes: OA.fixedTPM | OA.fixedParent | OA.sensitiveDataOrigin | OA.userWithAuth | OA.noDA | OA.restricted | OA.decrypt,
  authPolicy: EMPTY, symmetric: AES128CFB, scheme: { scheme: ALG.NULL, hashAlg: ALG.NULL }, keyBits: 2048, exponent: 0, unique: EMPTY,
};

/** encryptedDuplication | sensitiveDataOrigin | decrypt | noDA, no userWithAuth (PEF.md section 9). */
export const WRAPPING_KEY_ATTRIBUTES = OA.encryptedDuplication | OA.sensitiveDataOrigin | OA.decrypt | OA.noDA;

export function wrappingKeyTemplate(authPolicy: Uint8Array): TpmtPublic {
  return {
    type: ALG.RSA, nameAlg: ALG.SHA256, objectAttributes: WRAPPING_KEY_ATTRIBUTES, authPolicy,
    symmetric: SYM_NULL, scheme: { scheme: ALG.OAEP, hashAlg: ALG.SHA256 }, keyBits: 2048, exponent: 0, unique: EMPTY,
  };
}

export interface MachineKeyPolicyInput {
  /** PCR holding the ultravisor's measurement, and its value when the genuine ultravisor booted. */
  uvPcr: number;
  uvPcrValue: Uint8Array;
  /** PCR that firmware extends after rotating the auth value; B and C need it at its reset value. */
  gatePcr: number;
}

export interface MachineKeyPolicy {
  decrypt: Uint8Array;
  changeAuth: Uint8Array;
  duplicate: Uint8Array;
  /** The PolicyOR list, in order: [decrypt, changeAuth, duplicate]. */
  branches: Uint8Array[];
  /** The key's authPolicy. */
  digest: Uint8Array;
}

const sel = (pcr: number) => [{ hashAlg: ALG.SHA256, pcrs: [pcr] }];

export function machineKeyPolicy(p: MachineKeyPolicyInput): MachineKeyPolicy {
  const zero = new Uint8Array(32);
  const decrypt = new PolicyBuilder().commandCode(CC.RSA_Decrypt).pcr(sel(p.uvPcr), [p.uvPcrValue]).authValue().digest;
  const changeAuth = new PolicyBuilder().commandCode(CC.ObjectChangeAuth).pcr(sel(p.gatePcr), [zero]).digest;
  const duplicate = new PolicyBuilder().commandCode(CC.Duplicate).pcr(sel(p.gatePcr), [zero]).digest;
  const branches = [decrypt, changeAuth, duplicate];
  return { decrypt, changeAuth, duplicate, branches, digest: policyOr(branches) };
}

/** The ultravisor PCR's value when only the ultravisor with this measurement was extended into it. */
export const uvPcrValueFor = (uvDigest: Uint8Array): Uint8Array => replayPcr(ALG.SHA256, [uvDigest]);
