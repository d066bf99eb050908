// The engine's non-volatile memory: hierarchy seeds and authorizations, the primary keys
// derived so far, persistent objects, and the PCRs saved by Shutdown(STATE). This is what a
// TPM keeps across power cycles; everything else (PCRs, sessions, transient objects, the
// platform authorization) is volatile. Serialized as JSON; parsing checks every field.

import { randomBytes } from 'node:crypto';
import { fromHex, toHex } from '../marshal.js';

export const NV_FORMAT = 'pef-tpm-nv/1';

export interface PrimaryRecord {
  hierarchy: number;
  /** SHA-256 of (hierarchy seed, template, sensitive data): the derivation input. */
  key: string;
  modulus: string;
  prime: string;
  seedValue: string;
}

export interface PersistentRecord {
  handle: number;
  hierarchy: number;
  /** TPMT_PUBLIC and TPMT_SENSITIVE, hex. */
  public: string;
  sensitive: string;
  qualifiedName: string;
}

export interface NvState {
  format: typeof NV_FORMAT;
  seeds: { owner: string; platform: string; endorsement: string };
  auth: { owner: string; endorsement: string; lockout: string };
  primaries: PrimaryRecord[];
  persistent: PersistentRecord[];
  /** PCR values saved by Shutdown(STATE), restored by Startup(STATE). */
  savedPcrs?: string[];
}

export function freshNvState(): NvState {
  const seed = () => randomBytes(32).toString('hex');
  return {
    format: NV_FORMAT,
    seeds: { owner: seed(), platform: seed(), endorsement: seed() },
    auth: { owner: '', endorsement: '', lockout: '' },
    primaries: [],
    persistent: [],
  };
}

export class NvStateError extends Error {
  constructor(message: string) { super(message); this.name = 'NvStateError'; }
}

const isHex = (v: unknown, len?: number): v is string =>
  typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v) && (len === undefined || v.length === len * 2);
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

export function serializeNvState(s: NvState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(s) + '\n');
}

/** Parse and validate a state file; throws NvStateError naming the bad field. */
export function parseNvState(bytes: Uint8Array): NvState {
  let j: unknown;
  try { j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch (e) {
    throw new NvStateError(`not a TPM state file (${e instanceof Error ? e.message : String(e)})`);
  }
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.format !== NV_FORMAT) throw new NvStateError(`format is not ${NV_FORMAT}`);
  const seeds = o.seeds as Record<string, unknown> | undefined;
  const auth = o.auth as Record<string, unknown> | undefined;
  for (const k of ['owner', 'platform', 'endorsement']) if (!seeds || !isHex(seeds[k], 32)) throw new NvStateError(`seeds.${k} is not 32 hex bytes`);
  for (const k of ['owner', 'endorsement', 'lockout']) if (!auth || !isHex(auth[k]) || (auth[k] as string).length > 128) throw new NvStateError(`auth.${k} is not hex`);
  if (!Array.isArray(o.primaries)) throw new NvStateError('primaries is not a list');
  o.primaries.forEach((p: Record<string, unknown>, i: number) => {
    if (!p || !isU32(p.hierarchy) || !isHex(p.key, 32) || !isHex(p.modulus) || !isHex(p.prime) || !isHex(p.seedValue)) throw new NvStateError(`primaries[${i}] is malformed`);
  });
  if (!Array.isArray(o.persistent)) throw new NvStateError('persistent is not a list');
  o.persistent.forEach((p: Record<string, unknown>, i: number) => {
    if (!p || !isU32(p.handle) || !isU32(p.hierarchy) || !isHex(p.public) || !isHex(p.sensitive) || !isHex(p.qualifiedName)) throw new NvStateError(`persistent[${i}] is malformed`);
  });
  if (o.savedPcrs !== undefined && (!Array.isArray(o.savedPcrs) || !o.savedPcrs.every((v) => isHex(v, 32)))) throw new NvStateError('savedPcrs is malformed');
  return o as unknown as NvState;
}

export const hexOf = toHex;
export const bytesOf = fromHex;
