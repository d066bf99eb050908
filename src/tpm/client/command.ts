// Building a command with its authorization area and reading the response back: password
// sessions, HMAC and policy sessions with cpHash/rpHash HMACs, AES-CFB parameter encryption
// both ways (Part 1, sections 18-21). A response whose HMAC does not verify is refused, so a
// relay in the middle cannot forge results.

import { RC, RH, SA, ST } from '../constants.js';
import { aesCfbDecrypt, aesCfbEncrypt, hash, hmac, kdfa, random, stripZeros } from '../crypto.js';
import { TpmError, TpmProtocolError } from '../errors.js';
import { concat, equalBytes, Reader, u32be, Writer } from '../marshal.js';
import type { SymDef } from '../types.js';
import type { TpmFlow } from './flow.js';

const EMPTY = new Uint8Array(0);

/** A session the client started (StartAuthSession), with its rolling nonces and key. */
export class ClientSession {
  nonceTPM: Uint8Array;
  /** PolicyAuthValue was run since the last use: the entity's authValue enters the HMAC key. */
  policyAuthValue = false;
  /** PolicyPassword was run: the authValue travels as a password. */
  policyPassword = false;
  closed = false;
  /** The entity an HMAC session is bound to: used on it, its authValue is already in the session key. */
  bound?: { name: Uint8Array; authValue: Uint8Array };

  constructor(
    readonly handle: number,
    readonly type: 'hmac' | 'policy' | 'trial',
    readonly hashAlg: number,
    readonly sessionKey: Uint8Array,
    readonly symmetric: SymDef,
    nonceTPM: Uint8Array,
    readonly nonceSize = 32,
  ) {
    this.nonceTPM = nonceTPM;
  }
}

export type Authorization =
  | { kind: 'password'; value: Uint8Array }
  | { kind: 'session'; session: ClientSession; authValue?: Uint8Array; decrypt?: boolean; encrypt?: boolean; continueSession?: boolean };

export const passwordAuth = (value: Uint8Array = EMPTY): Authorization => ({ kind: 'password', value });

export interface CommandSpec {
  cc: number;
  /** Handles with their Names (for cpHash); authorizations apply to the first ones, in order. */
  handles?: { handle: number; name: Uint8Array }[];
  auths?: Authorization[];
  /** Sessions used only for parameter encryption (no handle to authorize). */
  extra?: Authorization[];
  params?: Uint8Array;
  responseHandle?: boolean;
}

export interface CommandResult {
  handle?: number;
  /** Response parameters, with the first one decrypted if a session encrypted it. */
  params: Reader;
}

interface Prepared {
  a: Authorization;
  nonceCaller: Uint8Array;
  attrs: number;
  associated: boolean;
  includeAuth: boolean;
}

function sessionKeyFor(p: Prepared, s: ClientSession): Uint8Array {
  const auth = p.a.kind === 'session' && p.includeAuth ? stripZeros(p.a.authValue ?? EMPTY) : EMPTY;
  return concat(s.sessionKey, auth);
}

function cfbKey(s: ClientSession, extraKey: Uint8Array, newer: Uint8Array, older: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  const bits = s.symmetric.keyBits;
  const kiv = kdfa(s.hashAlg, concat(s.sessionKey, extraKey), 'CFB', newer, older, bits + 128);
  return { key: kiv.subarray(0, bits / 8), iv: kiv.subarray(bits / 8) };
}

function cryptFirst(params: Uint8Array, f: (d: Uint8Array) => Uint8Array): Uint8Array {
  if (params.length < 2) return params;
  const n = (params[0]! << 8) | params[1]!;
  if (n + 2 > params.length) throw new TpmProtocolError('first parameter is shorter than its size field');
  const out = new Uint8Array(params);
  out.set(f(params.subarray(2, 2 + n)), 2);
  return out;
}

/** One command as a flow step: yields the command bytes, returns the parsed response. */
export function* command(spec: CommandSpec): TpmFlow<CommandResult> {
  const handles = spec.handles ?? [];
  const all = [...(spec.auths ?? []), ...(spec.extra ?? [])];
  const prepared: Prepared[] = all.map((a, i) => {
    const associated = i < (spec.auths?.length ?? 0);
    if (a.kind === 'password') return { a, nonceCaller: EMPTY, attrs: SA.continueSession, associated, includeAuth: true };
    const s = a.session;
    if (s.closed) throw new TpmProtocolError(`session 0x${s.handle.toString(16)} is closed`);
    let attrs = a.continueSession === false ? 0 : SA.continueSession;
    if (a.decrypt) attrs |= SA.decrypt;
    if (a.encrypt) attrs |= SA.encrypt;
    const onBound = s.bound !== undefined && equalBytes(s.bound.name, handles[i]?.name ?? EMPTY) && equalBytes(stripZeros(s.bound.authValue), stripZeros(a.authValue ?? EMPTY));
    const includeAuth = associated && (s.type === 'hmac' ? !onBound : s.policyAuthValue || s.policyPassword);
    return { a, nonceCaller: random(s.nonceSize), attrs, associated, includeAuth };
  });

  let params = spec.params ?? EMPTY;
  const dec = prepared.find((p) => p.attrs & SA.decrypt);
  if (dec && dec.a.kind === 'session') {
    const s = dec.a.session;
    const extraKey = dec.associated ? stripZeros(dec.a.authValue ?? EMPTY) : EMPTY;
    const { key, iv } = cfbKey(s, extraKey, dec.nonceCaller, s.nonceTPM);
    params = cryptFirst(params, (d) => aesCfbEncrypt(key, iv, d));
  }

  const w = new Writer(64 + params.length + prepared.length * 80);
  w.u16(prepared.length ? ST.SESSIONS : ST.NO_SESSIONS).u32(0).u32(spec.cc);
  for (const h of handles) w.u32(h.handle);
  if (prepared.length) {
    const cpHashes = new Map<number, Uint8Array>();
    const cpHash = (alg: number) => {
      let v = cpHashes.get(alg);
      if (!v) { v = hash(alg, u32be(spec.cc), ...handles.map((h) => h.name), params); cpHashes.set(alg, v); }
      return v;
    };
    const area = new Writer(prepared.length * 80);
    prepared.forEach((p, i) => {
      if (p.a.kind === 'password') {
        area.u32(RH.PW).u16(0).u8(p.attrs).tpm2b(p.a.value);
        return;
      }
      const s = p.a.session;
      let mac: Uint8Array = EMPTY;
      if (s.policyPassword && p.associated) mac = p.a.authValue ?? EMPTY;
      else {
        const key = sessionKeyFor(p, s);
        if (key.length) {
          const extra: Uint8Array[] = [];
          if (i === 0 && p.associated) {
            const d = prepared.findIndex((o) => o.attrs & SA.decrypt);
            const e = prepared.findIndex((o) => o.attrs & SA.encrypt);
            const nonce = (k: number) => (prepared[k]!.a as { session: ClientSession }).session.nonceTPM;
            if (d > 0) extra.push(nonce(d));
            if (e > 0 && e !== d) extra.push(nonce(e));
          }
          mac = hmac(s.hashAlg, key, cpHash(s.hashAlg), p.nonceCaller, s.nonceTPM, ...extra, new Uint8Array([p.attrs]));
        }
      }
      area.u32(s.handle).tpm2b(p.nonceCaller).u8(p.attrs).tpm2b(mac);
    });
    const a = area.finish();
    w.u32(a.length).bytes(a);
  }
  w.bytes(params);
  const cmd = w.patchU32(2, w.length).finish();

  const rsp: Uint8Array = yield cmd;
  return parseResponse(spec, prepared, rsp);
}

function parseResponse(spec: CommandSpec, prepared: Prepared[], rsp: Uint8Array): CommandResult {
  if (rsp.length < 10) throw new TpmProtocolError(`response of ${rsp.length} bytes`);
  const r = new Reader(rsp);
  const tag = r.u16();
  const size = r.u32();
  const rc = r.u32();
  if (size !== rsp.length) throw new TpmProtocolError(`response size field ${size} but ${rsp.length} bytes`);
  if (rc !== RC.SUCCESS) throw new TpmError(rc, spec.cc);
  try {
    const handle = spec.responseHandle ? r.u32() : undefined;
    if (tag === ST.NO_SESSIONS) {
      if (prepared.length) throw new TpmProtocolError('response has no sessions but the command had some');
      return { handle, params: new Reader(rsp.slice(r.offset)) };
    }
    const paramSize = r.u32();
    let params: Uint8Array = rsp.slice(r.offset, r.offset + paramSize);
    r.bytes(paramSize);
    const rpHashes = new Map<number, Uint8Array>();
    const rpHash = (alg: number) => {
      let v = rpHashes.get(alg);
      if (!v) { v = hash(alg, u32be(0), u32be(spec.cc), params); rpHashes.set(alg, v); }
      return v;
    };
    for (const p of prepared) {
      const nonceTPM = r.tpm2b('nonceTPM', 64);
      const attrs = r.u8();
      const mac = r.tpm2b('hmac', 64);
      if (p.a.kind === 'password') continue;
      const s = p.a.session;
      if (!(s.policyPassword && p.associated)) {
        const key = sessionKeyFor(p, s);
        const expected = key.length ? hmac(s.hashAlg, key, rpHash(s.hashAlg), nonceTPM, p.nonceCaller, new Uint8Array([attrs])) : EMPTY;
        if (!equalBytes(expected, mac)) throw new TpmProtocolError(`response HMAC of session 0x${s.handle.toString(16)} does not verify: the response was altered or is not from the TPM`);
      }
      s.nonceTPM = new Uint8Array(nonceTPM);
      if (!(p.attrs & SA.continueSession)) s.closed = true;
      if (s.type !== 'hmac') { s.policyAuthValue = false; s.policyPassword = false; }
    }
    r.done('response');
    const enc = prepared.find((p) => p.attrs & SA.encrypt);
    if (enc && enc.a.kind === 'session') {
      const s = enc.a.session;
      const extraKey = enc.associated ? stripZeros(enc.a.authValue ?? EMPTY) : EMPTY;
      const { key, iv } = cfbKey(s, extraKey, s.nonceTPM, enc.nonceCaller);
      params = cryptFirst(params, (d) => aesCfbDecrypt(key, iv, d));
    }
    return { handle, params: new Reader(params) };
  } catch (e) {
    if (e instanceof TpmProtocolError) throw e;
    throw new TpmProtocolError(`malformed response to command 0x${spec.cc.toString(16)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}


