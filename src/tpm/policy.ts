// Policy digests computed offline, exactly as a TPM extends a policy session (Part 3, the
// Policy* commands; formulas checked against swtpm in TPM.md). Firmware uses these to build a
// key's authPolicy; tests compare them with what tpm2-tools and the TPMs compute.

import { ALG, CC } from './constants.js';
import { digestSize, hash } from './crypto.js';
import { concat, u32be } from './marshal.js';
import { marshalPcrSelection, type PcrSelection } from './types.js';

export class PolicyBuilder {
  digest: Uint8Array;
  constructor(readonly hashAlg: number = ALG.SHA256) { this.digest = new Uint8Array(digestSize(hashAlg)); }

  commandCode(cc: number): this {
    this.digest = hash(this.hashAlg, this.digest, u32be(CC.PolicyCommandCode), u32be(cc));
    return this;
  }

  /** `values` are the selected PCRs' values in selection order (bank by bank, ascending index). */
  pcr(selection: PcrSelection[], values: Uint8Array[]): this {
    return this.pcrDigest(selection, hash(this.hashAlg, ...values));
  }

  pcrDigest(selection: PcrSelection[], pcrDigest: Uint8Array): this {
    this.digest = hash(this.hashAlg, this.digest, u32be(CC.PolicyPCR), marshalPcrSelection(selection), pcrDigest);
    return this;
  }

  authValue(): this {
    this.digest = hash(this.hashAlg, this.digest, u32be(CC.PolicyAuthValue));
    return this;
  }

  /** PolicyPassword extends the digest exactly as PolicyAuthValue does. */
  password(): this { return this.authValue(); }

  or(branches: Uint8Array[]): this {
    this.digest = policyOr(branches, this.hashAlg);
    return this;
  }
}

export function policyOr(branches: Uint8Array[], hashAlg: number = ALG.SHA256): Uint8Array {
  if (branches.length < 2 || branches.length > 8) throw new RangeError('PolicyOR takes 2 to 8 branches');
  return hash(hashAlg, new Uint8Array(digestSize(hashAlg)), u32be(CC.PolicyOR), concat(...branches));
}

/** H(values of the selected PCRs), the pcrDigest of PolicyPCR. */
export const pcrCompositeDigest = (hashAlg: number, values: Uint8Array[]): Uint8Array => hash(hashAlg, ...values);

/** The value a PCR has after extending its reset value (zero) with each digest in turn. */
export function replayPcr(hashAlg: number, digests: Uint8Array[], initial?: Uint8Array): Uint8Array {
  let v = initial ?? new Uint8Array(digestSize(hashAlg));
  for (const d of digests) v = hash(hashAlg, v, d);
  return v;
}
