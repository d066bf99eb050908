// The LUKS2 JSON area: keyslots, tokens, segments, digests, config. Sizes and offsets are
// decimal strings (u64 in JSON), binary values base64. Parsing checks what this reader relies
// on and reports the first problem as a Luks2Error with the JSON area's offset.

export type Luks2ErrorCode =
  | 'truncated' | 'not-luks2' | 'bad-header' | 'checksum' | 'bad-json' | 'bad-metadata' | 'unsupported'
  | 'wrong-passphrase' | 'bad-size';

export class Luks2Error extends Error {
  constructor(readonly code: Luks2ErrorCode, readonly offset: number, readonly detail: string) {
    super(`LUKS2: ${detail} (at offset ${offset})`);
    this.name = 'Luks2Error';
  }
}

export interface Luks2Pbkdf2 { type: 'pbkdf2'; hash: string; iterations: number; salt: Uint8Array }
export interface Luks2OtherKdf { type: string }

export interface Luks2Keyslot {
  type: string;
  keySize: number;
  area: { type: string; offset: number; size: number; encryption: string; keySize: number };
  af: { type: string; stripes: number; hash: string };
  kdf: Luks2Pbkdf2 | Luks2OtherKdf;
  priority?: number;
}

export interface Luks2Segment {
  type: string;
  offset: number;
  size: number | 'dynamic';
  ivTweak: number;
  encryption: string;
  sectorSize: number;
  integrity?: unknown;
  flags?: string[];
}

export interface Luks2Digest {
  type: string;
  keyslots: string[];
  segments: string[];
  hash: string;
  iterations: number;
  salt: Uint8Array;
  digest: Uint8Array;
}

export interface Luks2Metadata {
  keyslots: Record<string, Luks2Keyslot>;
  tokens: Record<string, unknown>;
  segments: Record<string, Luks2Segment>;
  digests: Record<string, Luks2Digest>;
  config: { jsonSize: number; keyslotsSize: number; flags?: string[]; requirements?: unknown };
}

type Obj = Record<string, unknown>;

class Ctx {
  constructor(readonly at: number) {}
  fail(path: string, detail: string): never { throw new Luks2Error('bad-metadata', this.at, `${path}: ${detail}`); }
  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'not an object');
    return v as Obj;
  }
  str(o: Obj, k: string, path: string): string {
    const v = o[k];
    if (typeof v !== 'string') this.fail(`${path}.${k}`, 'missing or not a string');
    return v;
  }
  int(o: Obj, k: string, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(`${path}.${k}`, `missing or not an integer in ${min}..${max}`);
    return v;
  }
  /** A u64 stored as a decimal string; must fit a safe integer. */
  u64(o: Obj, k: string, path: string): number {
    const s = this.str(o, k, path);
    if (!/^(0|[1-9][0-9]{0,19})$/.test(s)) this.fail(`${path}.${k}`, `'${s.slice(0, 24)}' is not a decimal u64 string`);
    const n = Number(s);
    if (!Number.isSafeInteger(n)) this.fail(`${path}.${k}`, `${s} is too large`);
    return n;
  }
  b64(o: Obj, k: string, path: string): Uint8Array {
    const s = this.str(o, k, path);
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) this.fail(`${path}.${k}`, 'not base64');
    return new Uint8Array(Buffer.from(s, 'base64'));
  }
  strArray(o: Obj, k: string, path: string): string[] {
    const v = o[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(`${path}.${k}`, 'missing or not an array of strings');
    return v as string[];
  }
}

const ID = /^(0|[1-9][0-9]{0,2})$/;
/**
 * Most PBKDF2 iterations a reader accepts: a hostile header could otherwise ask for 2^32 and
 * stall whoever opens it. cryptsetup's 2-second benchmark gives a few million on fast machines.
 */
export const LUKS2_MAX_ITERATIONS = 50_000_000;
/** AF stripes are 4000 in every LUKS volume; more only makes a hostile header slow to merge. */
export const LUKS2_MAX_STRIPES = 16_000;
const SECTOR_SIZES = [512, 1024, 2048, 4096];

function entries(c: Ctx, top: Obj, k: string, required: boolean): [string, Obj][] {
  const v = top[k];
  if (v === undefined && !required) return [];
  const o = c.obj(v, k);
  return Object.entries(o).map(([id, x]) => {
    if (!ID.test(id)) c.fail(`${k}.${id}`, 'id is not a small decimal number');
    return [id, c.obj(x, `${k}.${id}`)];
  });
}

export function parseLuks2Metadata(text: string, at: number, hdrSize: number): Luks2Metadata {
  let root: unknown;
  try { root = JSON.parse(text); } catch (e) { throw new Luks2Error('bad-json', at, `JSON area does not parse (${e instanceof Error ? e.message : String(e)})`); }
  const c = new Ctx(at);
  const top = c.obj(root, 'metadata');
  const cfg = c.obj(top.config, 'config');
  const config: Luks2Metadata['config'] = { jsonSize: c.u64(cfg, 'json_size', 'config'), keyslotsSize: c.u64(cfg, 'keyslots_size', 'config') };
  if (cfg.flags !== undefined) config.flags = c.strArray(cfg, 'flags', 'config');
  if (cfg.requirements !== undefined) config.requirements = cfg.requirements;
  if (config.jsonSize !== hdrSize - 4096) c.fail('config.json_size', `${config.jsonSize} does not match the header size ${hdrSize} - 4096`);
  if (config.keyslotsSize % 4096 !== 0) c.fail('config.keyslots_size', 'not a multiple of 4096');
  const areaStart = 2 * hdrSize;
  const areaEnd = areaStart + config.keyslotsSize;

  // Records without a prototype: ids come from the JSON ("__proto__", "valueOf" are ids like any other).
  const keyslots: Record<string, Luks2Keyslot> = Object.create(null) as Record<string, Luks2Keyslot>;
  for (const [id, ks] of entries(c, top, 'keyslots', true)) {
    const p = `keyslots.${id}`;
    const area = c.obj(ks.area, `${p}.area`);
    const af = c.obj(ks.af, `${p}.af`);
    const kdfO = c.obj(ks.kdf, `${p}.kdf`);
    const kdfType = c.str(kdfO, 'type', `${p}.kdf`);
    const kdf: Luks2Keyslot['kdf'] = kdfType === 'pbkdf2'
      ? { type: 'pbkdf2', hash: c.str(kdfO, 'hash', `${p}.kdf`), iterations: c.int(kdfO, 'iterations', `${p}.kdf`, 1, LUKS2_MAX_ITERATIONS), salt: c.b64(kdfO, 'salt', `${p}.kdf`) }
      : { type: kdfType };
    const slot: Luks2Keyslot = {
      type: c.str(ks, 'type', p),
      keySize: c.int(ks, 'key_size', p, 1, 512),
      area: { type: c.str(area, 'type', `${p}.area`), offset: c.u64(area, 'offset', `${p}.area`), size: c.u64(area, 'size', `${p}.area`), encryption: c.str(area, 'encryption', `${p}.area`), keySize: c.int(area, 'key_size', `${p}.area`, 1, 512) },
      af: { type: c.str(af, 'type', `${p}.af`), stripes: c.int(af, 'stripes', `${p}.af`, 1, LUKS2_MAX_STRIPES), hash: c.str(af, 'hash', `${p}.af`) },
      kdf,
    };
    if (ks.priority !== undefined) slot.priority = c.int(ks, 'priority', p, 0, 2);
    if (slot.area.offset < areaStart || slot.area.offset + slot.area.size > areaEnd) c.fail(`${p}.area`, `[${slot.area.offset}, +${slot.area.size}) is outside the keyslots area [${areaStart}, ${areaEnd})`);
    if (slot.af.type === 'luks1' && slot.keySize * slot.af.stripes > slot.area.size) c.fail(`${p}.area`, `size ${slot.area.size} cannot hold ${slot.af.stripes} stripes of ${slot.keySize} bytes`);
    keyslots[id] = slot;
  }

  const tokens: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [id, t] of entries(c, top, 'tokens', false)) tokens[id] = t;

  const segments: Record<string, Luks2Segment> = Object.create(null) as Record<string, Luks2Segment>;
  for (const [id, sg] of entries(c, top, 'segments', true)) {
    const p = `segments.${id}`;
    const type = c.str(sg, 'type', p);
    const sizeS = c.str(sg, 'size', p);
    const seg: Luks2Segment = {
      type,
      offset: c.u64(sg, 'offset', p),
      size: sizeS === 'dynamic' ? 'dynamic' : c.u64(sg, 'size', p),
      ivTweak: type === 'crypt' ? c.u64(sg, 'iv_tweak', p) : 0,
      encryption: type === 'crypt' ? c.str(sg, 'encryption', p) : 'none',
      sectorSize: type === 'crypt' ? c.int(sg, 'sector_size', p, 512, 4096) : 512,
    };
    if (!SECTOR_SIZES.includes(seg.sectorSize)) c.fail(`${p}.sector_size`, `${seg.sectorSize} is not 512, 1024, 2048 or 4096`);
    if (seg.offset % seg.sectorSize !== 0) c.fail(`${p}.offset`, `${seg.offset} is not a multiple of the sector size`);
    if (seg.offset < areaEnd && seg.offset !== 0) c.fail(`${p}.offset`, `${seg.offset} overlaps the keyslots area ending at ${areaEnd}`);
    if (typeof seg.size === 'number' && seg.size % seg.sectorSize !== 0) c.fail(`${p}.size`, 'not a multiple of the sector size');
    if (sg.integrity !== undefined) seg.integrity = sg.integrity;
    if (sg.flags !== undefined) seg.flags = c.strArray(sg, 'flags', p);
    segments[id] = seg;
  }
  if (Object.keys(segments).length === 0) c.fail('segments', 'no segment');

  const digests: Record<string, Luks2Digest> = Object.create(null) as Record<string, Luks2Digest>;
  for (const [id, dg] of entries(c, top, 'digests', true)) {
    const p = `digests.${id}`;
    const d: Luks2Digest = {
      type: c.str(dg, 'type', p),
      keyslots: c.strArray(dg, 'keyslots', p),
      segments: c.strArray(dg, 'segments', p),
      hash: dg.type === 'pbkdf2' ? c.str(dg, 'hash', p) : '',
      iterations: dg.type === 'pbkdf2' ? c.int(dg, 'iterations', p, 1, LUKS2_MAX_ITERATIONS) : 0,
      salt: dg.type === 'pbkdf2' ? c.b64(dg, 'salt', p) : new Uint8Array(0),
      digest: c.b64(dg, 'digest', p),
    };
    for (const k of d.keyslots) if (!Object.hasOwn(keyslots, k)) c.fail(`${p}.keyslots`, `refers to missing keyslot ${k}`);
    for (const s of d.segments) if (!Object.hasOwn(segments, s)) c.fail(`${p}.segments`, `refers to missing segment ${s}`);
    digests[id] = d;
  }
  return { keyslots, tokens, segments, digests, config };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The JSON text, with members in the order cryptsetup writes them. */
export function serializeLuks2Metadata(m: Luks2Metadata): string {
  const keyslots: Obj = {};
  for (const [id, k] of Object.entries(m.keyslots)) {
    const kdf = k.kdf.type === 'pbkdf2'
      ? { type: 'pbkdf2', hash: (k.kdf as Luks2Pbkdf2).hash, iterations: (k.kdf as Luks2Pbkdf2).iterations, salt: b64((k.kdf as Luks2Pbkdf2).salt) }
      : k.kdf;
    keyslots[id] = {
      type: k.type, key_size: k.keySize,
      af: { type: k.af.type, stripes: k.af.stripes, hash: k.af.hash },
      area: { type: k.area.type, offset: String(k.area.offset), size: String(k.area.size), encryption: k.area.encryption, key_size: k.area.keySize },
      kdf,
      ...(k.priority !== undefined ? { priority: k.priority } : {}),
    };
  }
  const segments: Obj = {};
  for (const [id, s] of Object.entries(m.segments)) {
    segments[id] = {
      type: s.type, offset: String(s.offset), size: s.size === 'dynamic' ? 'dynamic' : String(s.size),
      iv_tweak: String(s.ivTweak), encryption: s.encryption, sector_size: s.sectorSize,
      ...(s.integrity !== undefined ? { integrity: s.integrity } : {}),
      ...(s.flags !== undefined ? { flags: s.flags } : {}),
    };
  }
  const digests: Obj = {};
  for (const [id, d] of Object.entries(m.digests)) {
    digests[id] = { type: d.type, keyslots: d.keyslots, segments: d.segments, hash: d.hash, iterations: d.iterations, salt: b64(d.salt), digest: b64(d.digest) };
  }
  const config: Obj = { json_size: String(m.config.jsonSize), keyslots_size: String(m.config.keyslotsSize) };
  if (m.config.flags) config.flags = m.config.flags;
  if (m.config.requirements !== undefined) config.requirements = m.config.requirements;
  return JSON.stringify({ keyslots, tokens: m.tokens, segments, digests, config });
}
