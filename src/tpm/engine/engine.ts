// The in-process TPM 2.0: takes command bytes, returns response bytes, synchronously, with
// the real wire format, authorization (password, HMAC and policy sessions), parameter
// encryption and response codes of the TCG specification (Part 1 sections 18-21, Part 3).
// Its non-volatile state (state.ts) is exported for the machine directory; a caller saves it
// when `nvDirty` is set. Command handlers live in commands-*.ts.

import { randomBytes } from 'node:crypto';
import { ALG, CC, HT, MAX_COMMAND_SIZE, OA, PCR_COUNT, RC, RC_H, RC_S, RH, SA, SE, ST, handleType, rcN } from '../constants.js';
import { aesCfbDecrypt, aesCfbEncrypt, digestSize, hash, hmac, kdfa, random, stripZeros } from '../crypto.js';
import { concat, equalBytes, Reader, u32be, Writer } from '../marshal.js';
import { unmarshalPublic, unmarshalSensitive, type SymDef } from '../types.js';
import { TpmObject } from './objects.js';
import { fail, Params, RcError } from './params.js';
import { bytesOf, freshNvState, hexOf, parseNvState, serializeNvState, type NvState } from './state.js';

export type Role = 'none' | 'user' | 'admin' | 'dup';
export type HandleKind =
  | 'object' | 'objectOrNull' | 'hierarchy' | 'hierarchyAuth' | 'provision' | 'pcr' | 'pcrOrNull'
  | 'policySession' | 'entityOrNull';

export interface CommandDef {
  handles: { kind: HandleKind; role: Role }[];
  /** Sessions may appear (authorization, or audit/encrypt only). */
  sessions: boolean;
  /** The first command / response parameter is a TPM2B that a session may encrypt. */
  decrypt: boolean;
  encrypt: boolean;
  responseHandle: boolean;
  /** The command needs a free object slot while it runs (as in the reference TPM: creating or loading). */
  needsSlot?: boolean;
  run(e: TpmEngine, c: CommandContext): CommandResult;
}

export interface CommandContext {
  cc: number;
  handles: number[];
  params: Params;
}

export interface CommandResult { handle?: number; params: Uint8Array }

export interface Session {
  handle: number;
  type: number;
  hashAlg: number;
  nonceTPM: Uint8Array;
  sessionKey: Uint8Array;
  symmetric: SymDef;
  /** name || authValue of the bind entity, for bound HMAC sessions. */
  boundEntity?: Uint8Array;
  policyDigest: Uint8Array;
  commandCode: number;
  isAuthValueNeeded: boolean;
  isPasswordNeeded: boolean;
  pcrCounter?: number;
}

interface CommandSession {
  handle: number;
  nonceCaller: Uint8Array;
  attrs: number;
  hmac: Uint8Array;
  session?: Session;
  /** The handle this session authorizes (undefined for audit/encrypt-only sessions). */
  associated?: number;
  includeAuth: boolean;
}

export interface Entity {
  handle: number;
  name: Uint8Array;
  authValue: Uint8Array;
  authPolicy: Uint8Array;
  policyAlg: number;
  object?: TpmObject;
  /** Dictionary-attack protection applies (a wrong authorization answers AUTH_FAIL). */
  daProtected: boolean;
}

const MAX_OBJECTS = 3;
const MAX_SESSIONS = 3;
const MAX_PERSISTENT = 32;
const EMPTY = new Uint8Array(0);

const COMMANDS = new Map<number, CommandDef>();
export function defineCommand(cc: number, def: CommandDef): void { COMMANDS.set(cc, def); }

export interface EngineOptions {
  /** NV state to start from (a state file's bytes); a fresh TPM is manufactured otherwise. */
  state?: Uint8Array;
}

export class TpmEngine {
  nv: NvState;
  /** Set when the NV state changed; whoever persists it clears it. */
  nvDirty = false;
  started = false;
  locality = 0;
  pcrs: Uint8Array[] = [];
  pcrUpdateCounter = 0;
  platformAuth: Uint8Array = EMPTY;
  nullSeed: Uint8Array = new Uint8Array(randomBytes(32));
  readonly objects = new Map<number, TpmObject>();
  readonly sessions = new Map<number, Session>();
  readonly persistentCache = new Map<number, TpmObject>();
  /** Primaries of the null hierarchy (volatile, like its seed). */
  readonly nullPrimaries = new Map<string, { modulus: Uint8Array; prime: Uint8Array; seedValue: Uint8Array }>();

  constructor(opts: EngineOptions = {}) {
    if (opts.state) {
      this.nv = parseNvState(opts.state);
    } else {
      this.nv = freshNvState();
      this.nvDirty = true;
    }
    this.resetPcrs();
  }

  /** TPM_Init: a power cycle. Volatile state is gone; the TPM answers INITIALIZE until Startup. */
  powerCycle(): void {
    this.started = false;
    this.objects.clear();
    this.sessions.clear();
    this.platformAuth = EMPTY;
    this.nullSeed = new Uint8Array(randomBytes(32));
    this.nullPrimaries.clear();
    this.resetPcrs();
  }

  exportState(): Uint8Array { return serializeNvState(this.nv); }

  resetPcrs(): void {
    this.pcrs = Array.from({ length: PCR_COUNT }, (_, i) => (i >= 17 && i <= 22 ? new Uint8Array(32).fill(0xff) : new Uint8Array(32)));
    this.pcrUpdateCounter = 0;
  }

  markDirty(): void { this.nvDirty = true; }

  // ---- entities ------------------------------------------------------------------------

  hierarchySeed(h: number): Uint8Array {
    switch (h) {
      case RH.OWNER: return bytesOf(this.nv.seeds.owner);
      case RH.PLATFORM: return bytesOf(this.nv.seeds.platform);
      case RH.ENDORSEMENT: return bytesOf(this.nv.seeds.endorsement);
      default: return this.nullSeed;
    }
  }

  hierarchyAuth(h: number): Uint8Array {
    switch (h) {
      case RH.OWNER: return bytesOf(this.nv.auth.owner);
      case RH.ENDORSEMENT: return bytesOf(this.nv.auth.endorsement);
      case RH.LOCKOUT: return bytesOf(this.nv.auth.lockout);
      case RH.PLATFORM: return this.platformAuth;
      default: return EMPTY;
    }
  }

  /** A loaded object (transient or persistent), or undefined. */
  object(h: number): TpmObject | undefined {
    const t = handleType(h);
    if (t === HT.TRANSIENT) return this.objects.get(h);
    if (t !== HT.PERSISTENT) return undefined;
    let o = this.persistentCache.get(h);
    if (o) return o;
    const rec = this.nv.persistent.find((p) => p.handle === h);
    if (!rec) return undefined;
    const pubBytes = bytesOf(rec.public);
    const pub = unmarshalPublic(new Reader(pubBytes));
    const sens = unmarshalSensitive(new Reader(bytesOf(rec.sensitive)));
    o = new TpmObject(pub, rec.hierarchy, bytesOf(rec.qualifiedName), sens, pubBytes);
    this.persistentCache.set(h, o);
    return o;
  }

  persist(handle: number, o: TpmObject): void {
    if (this.nv.persistent.length >= MAX_PERSISTENT) fail(RC.NV_DEFINED);
    this.nv.persistent.push({
      handle, hierarchy: o.hierarchy, public: hexOf(o.publicBytes),
      sensitive: hexOf(new Writer(300).u16(o.sensitive!.type).tpm2b(o.sensitive!.authValue).tpm2b(o.sensitive!.seedValue).tpm2b(o.sensitive!.sensitive).finish()),
      qualifiedName: hexOf(o.qualifiedName),
    });
    this.nv.persistent.sort((a, b) => a.handle - b.handle);
    this.persistentCache.delete(handle);
    this.markDirty();
  }

  evict(handle: number): void {
    this.nv.persistent = this.nv.persistent.filter((p) => p.handle !== handle);
    this.persistentCache.delete(handle);
    this.markDirty();
  }

  /** A free transient handle, or OBJECT_MEMORY. */
  allocObjectHandle(): number {
    if (this.objects.size >= MAX_OBJECTS) fail(RC.OBJECT_MEMORY);
    for (let i = 0; ; i++) if (!this.objects.has(0x80000000 + i)) return 0x80000000 + i;
  }

  allocSessionHandle(type: number): number {
    if (this.sessions.size >= MAX_SESSIONS) fail(RC.SESSION_MEMORY);
    const base = type === SE.HMAC ? 0x02000000 : 0x03000000;
    for (let i = 0; ; i++) {
      if (!this.sessions.has(0x02000000 + i) && !this.sessions.has(0x03000000 + i)) return base + i;
    }
  }

  entity(h: number): Entity | undefined {
    const t = handleType(h);
    if (t === HT.TRANSIENT || t === HT.PERSISTENT) {
      const o = this.object(h);
      if (!o) return undefined;
      return { handle: h, name: o.name, authValue: o.authValue, authPolicy: o.pub.authPolicy, policyAlg: o.pub.nameAlg, object: o, daProtected: !o.has(OA.noDA) };
    }
    if (t === HT.PCR && h < PCR_COUNT) return { handle: h, name: u32be(h), authValue: EMPTY, authPolicy: EMPTY, policyAlg: ALG.NULL, daProtected: false };
    if (h === RH.OWNER || h === RH.PLATFORM || h === RH.ENDORSEMENT || h === RH.LOCKOUT || h === RH.NULL) {
      return { handle: h, name: u32be(h), authValue: this.hierarchyAuth(h), authPolicy: EMPTY, policyAlg: ALG.NULL, daProtected: h === RH.LOCKOUT };
    }
    return undefined;
  }

  /** The Name of any handle as it enters cpHash: objects by their Name, the rest by the handle. */
  handleName(h: number): Uint8Array {
    const t = handleType(h);
    if (t === HT.TRANSIENT || t === HT.PERSISTENT) return this.object(h)?.name ?? u32be(h);
    return u32be(h);
  }

  // ---- the command pipeline --------------------------------------------------------------

  /** Execute one command. Never throws: every failure is a response code. */
  execute(cmd: Uint8Array): Uint8Array {
    try {
      return this.run(cmd);
    } catch (e) {
      if (e instanceof RcError) return errorResponse(e.rc);
      return errorResponse(RC.FAILURE);
    }
  }

  private run(cmd: Uint8Array): Uint8Array {
    if (cmd.length < 10) return errorResponse(RC.COMMAND_SIZE);
    const r = new Reader(cmd);
    const tag = r.u16();
    const size = r.u32();
    const cc = r.u32();
    if (tag !== ST.NO_SESSIONS && tag !== ST.SESSIONS) return errorResponse(RC.BAD_TAG);
    if (size !== cmd.length || size > MAX_COMMAND_SIZE) return errorResponse(RC.COMMAND_SIZE);
    const def = COMMANDS.get(cc);
    if (!def) return errorResponse(RC.COMMAND_CODE);
    if (!this.started && cc !== CC.Startup) return errorResponse(RC.INITIALIZE);
    if (this.started && cc === CC.Startup) return errorResponse(RC.INITIALIZE);

    const handles: number[] = [];
    for (let i = 0; i < def.handles.length; i++) {
      if (r.remaining < 4) return errorResponse(RC.INSUFFICIENT);
      const h = r.u32();
      this.checkHandle(h, def.handles[i]!.kind, i + 1);
      handles.push(h);
    }
    // Persistent objects occupy an object slot while a command uses them (as in the reference TPM).
    const persistentInUse = new Set(handles.filter((h) => handleType(h) === HT.PERSISTENT)).size;
    if (this.objects.size + persistentInUse + (def.needsSlot ? 1 : 0) > MAX_OBJECTS) return errorResponse(RC.OBJECT_MEMORY);

    const authCount = def.handles.filter((h) => h.role !== 'none').length;
    let sessions: CommandSession[] = [];
    if (tag === ST.SESSIONS) {
      if (!def.sessions) return errorResponse(RC.AUTH_CONTEXT);
      if (r.remaining < 4) return errorResponse(RC.AUTHSIZE);
      const authSize = r.u32();
      if (authSize < 9 || authSize > r.remaining) return errorResponse(RC.AUTHSIZE);
      sessions = this.parseSessions(r.sub(authSize), def);
    } else if (authCount > 0) {
      return errorResponse(RC.AUTH_MISSING);
    }
    const paramStart = r.offset;
    const sentParams = cmd.subarray(paramStart);

    if (sessions.length > 0) {
      if (sessions.length < authCount) return errorResponse(RC.AUTH_MISSING);
      for (let i = 0; i < sessions.length; i++) if (i < authCount) sessions[i]!.associated = handles[i];
      const cpHashes = new Map<number, Uint8Array>();
      const cpHash = (alg: number) => {
        let v = cpHashes.get(alg);
        if (!v) { v = hash(alg, u32be(cc), ...handles.map((h) => this.handleName(h)), sentParams); cpHashes.set(alg, v); }
        return v;
      };
      for (let i = 0; i < sessions.length; i++) this.authorize(def, cc, sessions, i, cpHash);
    }

    let params = sentParams;
    const dec = sessions.findIndex((s) => s.attrs & SA.decrypt);
    if (dec >= 0) params = this.cryptFirstParam(sessions[dec]!, params, 'command');

    const result = def.run(this, { cc, handles, params: new Params(new Reader(params)) });
    return this.buildResponse(cc, def, sessions, result);
  }

  private checkHandle(h: number, kind: HandleKind, n: number): void {
    const bad = RC.HANDLE | RC_H | rcN(n);
    const t = handleType(h);
    switch (kind) {
      case 'object':
      case 'objectOrNull':
        if (kind === 'objectOrNull' && h === RH.NULL) return;
        if (t === HT.TRANSIENT) { if (!this.objects.has(h)) fail(RC.REFERENCE_H0 + n - 1); return; }
        if (t === HT.PERSISTENT) { if (!this.object(h)) fail(bad); return; }
        return fail(bad);
      case 'hierarchy':
        if (h === RH.OWNER || h === RH.PLATFORM || h === RH.ENDORSEMENT || h === RH.NULL) return;
        return fail(RC.VALUE | rcN(n));
      case 'hierarchyAuth':
        if (h === RH.OWNER || h === RH.PLATFORM || h === RH.ENDORSEMENT || h === RH.LOCKOUT) return;
        return fail(RC.VALUE | rcN(n));
      case 'provision':
        if (h === RH.OWNER || h === RH.PLATFORM) return;
        return fail(RC.VALUE | rcN(n));
      case 'pcr':
      case 'pcrOrNull':
        if (kind === 'pcrOrNull' && h === RH.NULL) return;
        if (t === HT.PCR && h < PCR_COUNT) return;
        return fail(RC.VALUE | rcN(n));
      case 'policySession':
        if (t !== HT.POLICY_SESSION) return fail(RC.VALUE | rcN(n));
        if (!this.sessions.has(h)) fail(RC.REFERENCE_H0 + n - 1);
        return;
      case 'entityOrNull':
        if (h === RH.NULL || this.entity(h)) return;
        if (t === HT.TRANSIENT) fail(RC.REFERENCE_H0 + n - 1);
        return fail(bad);
    }
  }

  private parseSessions(r: Reader, def: CommandDef): CommandSession[] {
    const out: CommandSession[] = [];
    let decrypt = -1;
    let encrypt = -1;
    while (r.remaining > 0) {
      const i = out.length;
      const errIdx = RC_S | rcN(i + 1);
      if (i === 3) fail(RC.SIZE | errIdx);
      let handle: number, nonceCaller: Uint8Array, attrs: number, mac: Uint8Array;
      try {
        handle = r.u32();
        nonceCaller = r.tpm2b('nonce', 64);
        attrs = r.u8();
        mac = r.tpm2b('hmac', 64);
      } catch {
        return fail(RC.AUTHSIZE);
      }
      const s: CommandSession = { handle, nonceCaller, attrs, hmac: mac, includeAuth: false };
      if (handle === RH.PW) {
        if (attrs & (SA.encrypt | SA.decrypt | SA.audit | SA.auditExclusive | SA.auditReset)) fail(RC.ATTRIBUTES | errIdx);
        if (nonceCaller.length !== 0) fail(RC.NONCE | errIdx);
      } else {
        const t = handleType(handle);
        if (t !== HT.HMAC_SESSION && t !== HT.POLICY_SESSION) fail(RC.HANDLE | errIdx);
        const sess = this.sessions.get(handle);
        if (!sess) fail(RC.REFERENCE_S0 + i);
        s.session = sess;
        if (out.some((o) => o.handle === handle)) fail(RC.HANDLE | errIdx);
        if (sess!.type === SE.TRIAL) fail(RC.ATTRIBUTES | errIdx);
        if (attrs & SA.audit) fail(RC.ATTRIBUTES | errIdx);
        if (attrs & SA.decrypt) {
          if (!def.decrypt || decrypt >= 0) fail(RC.ATTRIBUTES | errIdx);
          if (sess!.symmetric.alg === ALG.NULL) fail(RC.SYMMETRIC | errIdx);
          decrypt = i;
        }
        if (attrs & SA.encrypt) {
          if (!def.encrypt || encrypt >= 0) fail(RC.ATTRIBUTES | errIdx);
          if (sess!.symmetric.alg === ALG.NULL) fail(RC.SYMMETRIC | errIdx);
          encrypt = i;
        }
      }
      out.push(s);
    }
    return out;
  }

  /** Check session i: password, HMAC or policy (Part 1, 19.6 and 19.7). */
  private authorize(def: CommandDef, cc: number, all: CommandSession[], i: number, cpHash: (alg: number) => Uint8Array): void {
    const s = all[i]!;
    const errIdx = RC_S | rcN(i + 1);
    if (s.associated === undefined) {
      if (s.handle === RH.PW) fail(RC.HANDLE | errIdx);
      if (!(s.attrs & (SA.encrypt | SA.decrypt))) fail(RC.ATTRIBUTES | errIdx);
      s.includeAuth = false;
      this.checkHmac(s, all, i, cpHash, undefined, errIdx);
      return;
    }
    const role = def.handles[i]!.role;
    const ent = this.entity(s.associated)!;
    const o = ent.object;
    const policyRequired = role === 'dup' || (role === 'admin' && !!o && o.has(OA.adminWithPolicy));
    const authValueAvailable = o
      ? !o.publicOnly && (role === 'user' ? o.has(OA.userWithAuth) : role === 'admin' ? !o.has(OA.adminWithPolicy) : false)
      : true;
    const sess = s.session;
    if (!sess || sess.type === SE.HMAC) {
      if (policyRequired) fail(RC.AUTH_TYPE);
      if (!authValueAvailable) fail(RC.AUTH_UNAVAILABLE);
      if (!sess) {
        if (!equalBytes(stripZeros(s.hmac), stripZeros(ent.authValue))) fail((ent.daProtected ? RC.AUTH_FAIL : RC.BAD_AUTH) | errIdx);
        return;
      }
      s.includeAuth = !(sess.boundEntity && equalBytes(sess.boundEntity, concat(ent.name, stripZeros(ent.authValue))));
      this.checkHmac(s, all, i, cpHash, ent, errIdx);
      return;
    }
    // A policy session.
    if (!o || o.publicOnly) fail(RC.AUTH_UNAVAILABLE);
    if (sess.pcrCounter !== undefined && sess.pcrCounter !== this.pcrUpdateCounter) fail(RC.PCR_CHANGED | errIdx);
    if (!equalBytes(sess.policyDigest, ent.authPolicy) || ent.policyAlg !== sess.hashAlg) fail(RC.POLICY_FAIL | errIdx);
    if (sess.commandCode !== 0) {
      if (sess.commandCode !== cc) fail(RC.POLICY_CC | errIdx);
    } else if (role === 'admin' || role === 'dup') {
      fail(RC.POLICY_FAIL | errIdx);
    }
    s.includeAuth = sess.isAuthValueNeeded || sess.isPasswordNeeded;
    if (sess.isPasswordNeeded) {
      if (!equalBytes(stripZeros(s.hmac), stripZeros(ent.authValue))) fail((ent.daProtected ? RC.AUTH_FAIL : RC.BAD_AUTH) | errIdx);
      return;
    }
    this.checkHmac(s, all, i, cpHash, ent, errIdx);
  }

  private checkHmac(s: CommandSession, all: CommandSession[], i: number, cpHash: (alg: number) => Uint8Array, ent: Entity | undefined, errIdx: number): void {
    const sess = s.session!;
    const key = s.includeAuth && ent ? concat(sess.sessionKey, stripZeros(ent.authValue)) : sess.sessionKey;
    let expected: Uint8Array;
    if (key.length === 0 && s.hmac.length === 0) {
      expected = EMPTY;
    } else {
      const extra: Uint8Array[] = [];
      // The first authorization session also covers the nonces of separate decrypt/encrypt sessions.
      if (i === 0 && s.associated !== undefined) {
        const d = all.findIndex((o) => o.attrs & SA.decrypt);
        const e = all.findIndex((o) => o.attrs & SA.encrypt);
        if (d > 0) extra.push(all[d]!.session!.nonceTPM);
        if (e > 0 && e !== d) extra.push(all[e]!.session!.nonceTPM);
      }
      expected = hmac(sess.hashAlg, key, cpHash(sess.hashAlg), s.nonceCaller, sess.nonceTPM, ...extra, new Uint8Array([s.attrs]));
    }
    if (!equalBytes(expected, s.hmac)) fail(((ent?.daProtected ?? false) ? RC.AUTH_FAIL : RC.BAD_AUTH) | errIdx);
  }

  /** AES-CFB over the data of the first TPM2B parameter (Part 1, 21.3). */
  private cryptFirstParam(s: CommandSession, params: Uint8Array, dir: 'command' | 'response'): Uint8Array {
    const sess = s.session!;
    if (params.length < 2) return params;
    const n = (params[0]! << 8) | params[1]!;
    if (n + 2 > params.length) fail(dir === 'command' ? RC.SIZE | 0x40 | rcN(1) : RC.FAILURE);
    const extra = s.associated !== undefined ? stripZeros(this.entity(s.associated)?.authValue ?? EMPTY) : EMPTY;
    const bits = sess.symmetric.keyBits;
    const [newer, older] = dir === 'command' ? [s.nonceCaller, sess.nonceTPM] : [sess.nonceTPM, s.nonceCaller];
    const kiv = kdfa(sess.hashAlg, concat(sess.sessionKey, extra), 'CFB', newer, older, bits + 128);
    const key = kiv.subarray(0, bits / 8);
    const iv = kiv.subarray(bits / 8);
    const data = params.subarray(2, 2 + n);
    const out = new Uint8Array(params);
    out.set(dir === 'command' ? aesCfbDecrypt(key, iv, data) : aesCfbEncrypt(key, iv, data), 2);
    return out;
  }

  private buildResponse(cc: number, def: CommandDef, sessions: CommandSession[], res: CommandResult): Uint8Array {
    let params = res.params;
    const w = new Writer(params.length + 64 + sessions.length * 80);
    if (sessions.length === 0) {
      w.u16(ST.NO_SESSIONS).u32(0).u32(RC.SUCCESS);
      if (def.responseHandle) w.u32(res.handle!);
      w.bytes(params);
      return w.patchU32(2, w.length).finish();
    }
    for (const s of sessions) if (s.session) s.session.nonceTPM = random(s.session.nonceTPM.length);
    const enc = sessions.findIndex((s) => s.attrs & SA.encrypt);
    if (enc >= 0) params = this.cryptFirstParam(sessions[enc]!, params, 'response');
    w.u16(ST.SESSIONS).u32(0).u32(RC.SUCCESS);
    if (def.responseHandle) w.u32(res.handle!);
    w.u32(params.length).bytes(params);
    const rpHashes = new Map<number, Uint8Array>();
    for (const s of sessions) {
      const sess = s.session;
      if (!sess) {
        w.u16(0).u8(s.attrs | SA.continueSession).u16(0);
        continue;
      }
      let mac: Uint8Array = EMPTY;
      if (!(sess.type !== SE.HMAC && sess.isPasswordNeeded)) {
        const authValue = s.includeAuth && s.associated !== undefined ? stripZeros(this.entity(s.associated)?.authValue ?? EMPTY) : EMPTY;
        const key = concat(sess.sessionKey, authValue);
        if (key.length > 0 || s.hmac.length > 0) {
          let rp = rpHashes.get(sess.hashAlg);
          if (!rp) { rp = hash(sess.hashAlg, u32be(0), u32be(cc), params); rpHashes.set(sess.hashAlg, rp); }
          mac = hmac(sess.hashAlg, key, rp, sess.nonceTPM, s.nonceCaller, new Uint8Array([s.attrs]));
        }
      }
      w.tpm2b(sess.nonceTPM).u8(s.attrs).tpm2b(mac);
      if (sess.type !== SE.HMAC && s.attrs & SA.continueSession) resetPolicy(sess);
      if (!(s.attrs & SA.continueSession)) this.sessions.delete(sess.handle);
    }
    return w.patchU32(2, w.length).finish();
  }
}

export function resetPolicy(s: Session): void {
  s.policyDigest = new Uint8Array(digestSize(s.hashAlg));
  s.commandCode = 0;
  s.isAuthValueNeeded = false;
  s.isPasswordNeeded = false;
  s.pcrCounter = undefined;
}

export function errorResponse(rc: number): Uint8Array {
  const b = new Uint8Array(10);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, ST.NO_SESSIONS);
  dv.setUint32(2, 10);
  dv.setUint32(6, rc);
  return b;
}
