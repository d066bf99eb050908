// What firmware hands the ultravisor about the machine key (PEF.md section 9). In the model it
// is an object given to the ultravisor when firmware installs it; on the real machine it is a
// private device-tree node, "ibm,uv-tpm", that firmware writes in secure memory and wipes once
// the ultravisor has taken it (docs/tpm-policy.md, section "Handoff").

import { toHex } from './marshal.js';

export interface UltravisorHandoff {
  /** Persistent handle of the wrapping key (0x81800001). */
  keyHandle: number;
  /** Its TPM Name (0x000B || SHA-256 of the public area): compared with ReadPublic and bound into every HMAC. */
  keyName: Uint8Array;
  /** This boot's auth value of the key (16 random bytes; the previous boot's no longer works). */
  authValue: Uint8Array;
  /** The key's PolicyOR branches, in order: [decrypt, changeAuth, duplicate]. */
  policyDigests: Uint8Array[];
  /** The PCR holding the ultravisor's measurement (SHA-256 bank), selected by the decrypt branch's PolicyPCR. */
  pcrIndex: number;
  /** The storage key that salts the unwrap session (0x81800000) and its TPM2B_PUBLIC, read by firmware. */
  saltKeyHandle?: number;
  saltKeyPublic?: Uint8Array;
  /** The wrapping key's public part as PEM, and SHA-256 of it (names this machine's lockbox). */
  keyPem?: string;
  keyFingerprint?: Uint8Array;
}

/** The handoff as the properties of the device-tree node firmware writes (values as FDT bytes). */
export interface HandoffNode {
  name: 'ibm,uv-tpm';
  properties: Record<string, Uint8Array | string | number>;
}

export function handoffToNode(h: UltravisorHandoff): HandoffNode {
  const props: HandoffNode['properties'] = {
    compatible: 'ibm,uv-tpm',
    'key-handle': h.keyHandle,
    'key-name': h.keyName,
    'auth-value': h.authValue,
    'pcr-index': h.pcrIndex,
  };
  h.policyDigests.forEach((d, i) => { props[`policy-digest-${i}`] = d; });
  if (h.saltKeyHandle !== undefined) props['salt-key-handle'] = h.saltKeyHandle;
  if (h.saltKeyPublic) props['salt-key-public'] = h.saltKeyPublic;
  if (h.keyPem) props['key-pem'] = h.keyPem;
  if (h.keyFingerprint) props['key-fingerprint'] = h.keyFingerprint;
  return { name: 'ibm,uv-tpm', properties: props };
}

export function handoffFromNode(n: HandoffNode): UltravisorHandoff {
  const p = n.properties;
  const bytes = (k: string): Uint8Array => {
    const v = p[k];
    if (!(v instanceof Uint8Array)) throw new Error(`ibm,uv-tpm: property ${k} missing`);
    return v;
  };
  const num = (k: string): number => {
    const v = p[k];
    if (typeof v !== 'number') throw new Error(`ibm,uv-tpm: property ${k} missing`);
    return v;
  };
  const policyDigests: Uint8Array[] = [];
  for (let i = 0; p[`policy-digest-${i}`] !== undefined; i++) policyDigests.push(bytes(`policy-digest-${i}`));
  return {
    keyHandle: num('key-handle'), keyName: bytes('key-name'), authValue: bytes('auth-value'), pcrIndex: num('pcr-index'), policyDigests,
    ...(p['salt-key-handle'] !== undefined ? { saltKeyHandle: num('salt-key-handle') } : {}),
    ...(p['salt-key-public'] !== undefined ? { saltKeyPublic: bytes('salt-key-public') } : {}),
    ...(typeof p['key-pem'] === 'string' ? { keyPem: p['key-pem'] } : {}),
    ...(p['key-fingerprint'] !== undefined ? { keyFingerprint: bytes('key-fingerprint') } : {}),
  };
}

/** Overwrite the secret in place: what firmware does to its own copy after the handoff. */
export function wipeHandoff(h: UltravisorHandoff): void {
  h.authValue.fill(0);
}

/** A JSON-safe summary without the secret (for traces and `pef machine boot --json`). */
export function handoffSummary(h: UltravisorHandoff): Record<string, unknown> {
  return {
    keyHandle: `0x${h.keyHandle.toString(16)}`, keyName: toHex(h.keyName), pcrIndex: h.pcrIndex,
    policyDigests: h.policyDigests.map(toHex), authValue: `<${h.authValue.length} bytes, not shown>`,
  };
}
