// Command parameters as a handler reads them: each read names the parameter's number, so a
// short or malformed parameter becomes the response code a TPM gives (RC | P | n).

import { RC, RC_P, rcN } from '../constants.js';
import { Reader, TpmParseError } from '../marshal.js';
import {
  readSymDef, TpmValueError, unmarshalPcrSelection, unmarshalPublic2B, unmarshalSensitiveCreate,
  type PcrSelection, type SensitiveCreate, type SymDef, type TpmtPublic,
} from '../types.js';

/** A response code thrown through a handler (not an Error: no stack is needed). */
export class RcError {
  constructor(readonly rc: number) {}
}
export const fail = (rc: number): never => { throw new RcError(rc); };
export const P = (rc: number, n: number): number => rc | RC_P | rcN(n);

export class Params {
  constructor(readonly r: Reader) {}

  private at<T>(n: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof TpmValueError) throw new RcError(P(e.rc, n));
      if (e instanceof TpmParseError) throw new RcError(P(e.kind === 'short' ? RC.INSUFFICIENT : e.kind === 'value' ? RC.VALUE : RC.SIZE, n));
      throw e;
    }
  }

  u8(n: number): number { return this.at(n, () => this.r.u8()); }
  u16(n: number): number { return this.at(n, () => this.r.u16()); }
  u32(n: number): number { return this.at(n, () => this.r.u32()); }
  tpm2b(n: number, max = 0xffff): Uint8Array { return this.at(n, () => this.r.tpm2b('parameter', max)); }
  public2B(n: number): { pub: TpmtPublic; bytes: Uint8Array } { return this.at(n, () => unmarshalPublic2B(this.r)); }
  sensitiveCreate(n: number): SensitiveCreate { return this.at(n, () => unmarshalSensitiveCreate(this.r)); }
  pcrSelection(n: number): PcrSelection[] { return this.at(n, () => unmarshalPcrSelection(this.r)); }
  symDef(n: number): SymDef { return this.at(n, () => readSymDef(this.r, 'symmetric', RC.SYMMETRIC)); }
  /** TPML_DIGEST (count, then TPM2B digests). */
  digestList(n: number, min: number, max: number): Uint8Array[] {
    return this.at(n, () => {
      const count = this.r.u32();
      if (count < min || count > max) throw new TpmParseError(this.r.offset, 'TPML_DIGEST.count', 'size');
      const out: Uint8Array[] = [];
      for (let i = 0; i < count; i++) out.push(this.r.tpm2b('digest', 64));
      return out;
    });
  }
  /** TPML_DIGEST_VALUES (count, then hashAlg-tagged digests); unknown algorithms give HASH. */
  digestValues(n: number, sizeOf: (alg: number) => number): { alg: number; digest: Uint8Array }[] {
    return this.at(n, () => {
      const count = this.r.u32();
      if (count > 16) throw new TpmParseError(this.r.offset, 'TPML_DIGEST_VALUES.count', 'size');
      const out: { alg: number; digest: Uint8Array }[] = [];
      for (let i = 0; i < count; i++) {
        const at = this.r.offset;
        const alg = this.r.u16();
        const size = sizeOf(alg);
        if (size === 0) throw new TpmValueError(at, 'digest algorithm', RC.HASH);
        out.push({ alg, digest: this.r.bytes(size) });
      }
      return out;
    });
  }
  /** No bytes may be left after the last parameter. */
  end(): void { if (this.r.remaining !== 0) throw new RcError(RC.SIZE); }
}
