// Response codes as errors a caller can act on: TpmError carries the TPM's code and the command
// that got it; describeRc() decodes format-1 codes (which handle, parameter or session).

import { CC_NAME, RC } from './constants.js';

const RC_NAME: Record<number, string> = Object.fromEntries(Object.entries(RC).map(([k, v]) => [v, `TPM_RC_${k}`]));

export interface DecodedRc {
  /** The base code without handle/parameter/session number (what RC holds). */
  base: number;
  name: string;
  kind?: 'handle' | 'parameter' | 'session';
  index?: number;
}

export function decodeRc(rc: number): DecodedRc {
  if (rc & 0x80) {
    const base = (rc & 0x3f) | 0x80;
    const n = (rc >> 8) & 0xf;
    const kind = rc & 0x40 ? 'parameter' : rc & 0x800 ? 'session' : 'handle';
    const idx = kind === 'parameter' ? n : n & 0x7;
    const name = RC_NAME[base] ?? `format-1 code 0x${base.toString(16)}`;
    return idx === 0 ? { base, name } : { base, name, kind, index: idx };
  }
  return { base: rc, name: RC_NAME[rc] ?? `0x${rc.toString(16)}` };
}

export function describeRc(rc: number): string {
  const d = decodeRc(rc);
  const where = d.kind ? `, ${d.kind} ${d.index}` : '';
  return `${d.name} (0x${rc.toString(16).toUpperCase()}${where})`;
}

const HINTS: Record<number, string> = {
  [RC.POLICY_FAIL]: 'the session does not satisfy the object\'s policy',
  [RC.BAD_AUTH]: 'authorization HMAC or password is wrong',
  [RC.AUTH_FAIL]: 'authorization HMAC or password is wrong',
  [RC.VALUE]: 'a value is out of range (for PolicyOR: the session digest matches no branch)',
  [RC.AUTH_UNAVAILABLE]: 'this object cannot be authorized that way (policy only?)',
  [RC.INITIALIZE]: 'the TPM needs TPM2_Startup',
  [RC.PCR_CHANGED]: 'a PCR changed after PolicyPCR',
  [RC.OBJECT_MEMORY]: 'out of transient object slots: flush something',
  [RC.SESSION_MEMORY]: 'out of session slots: flush a session',
  [RC.LOCKOUT]: 'the TPM is in dictionary-attack lockout',
};

export class TpmError extends Error {
  readonly decoded: DecodedRc;
  constructor(readonly rc: number, readonly command: number, detail?: string) {
    const d = decodeRc(rc);
    const hint = detail ?? HINTS[d.base];
    super(`TPM2_${CC_NAME[command] ?? `0x${command.toString(16)}`}: ${describeRc(rc)}${hint ? `: ${hint}` : ''}`);
    this.name = 'TpmError';
    this.decoded = d;
  }
  /** The base code (format-1 number stripped), comparable with RC.*. */
  get base(): number { return this.decoded.base; }
  /** A policy refusal: the session's policy does not match (at the command or at PolicyOR/PolicyPCR). */
  get isPolicyFailure(): boolean {
    return this.base === RC.POLICY_FAIL || this.base === RC.POLICY_CC || this.base === RC.PCR_CHANGED ||
      (this.base === RC.VALUE && (CC_NAME[this.command] ?? '').startsWith('Policy'));
  }
}

/** The TPM answered something a correct TPM would not (bad HMAC on a response, wrong name, short response). */
export class TpmProtocolError extends Error {
  constructor(message: string) { super(message); this.name = 'TpmProtocolError'; }
}

/** The transport failed (connection refused, closed, timed out). */
export class TpmTransportError extends Error {
  constructor(message: string) { super(message); this.name = 'TpmTransportError'; }
}
