// Each TPM command the model uses, as a flow with typed inputs and outputs. Handles are
// passed with their Names where the Name enters an HMAC (objects); permanent handles name
// themselves.

import { ALG, CC, RH, SE } from '../constants.js';
import { digestSize, kdfa, label, oaepEncrypt, random, rsaPublicKey, stripZeros } from '../crypto.js';
import { concat, Reader, u32be, Writer } from '../marshal.js';
import {
  AES128CFB, marshalPcrSelection, marshalPublic2B, marshalSensitive2B, marshalSensitiveCreate, unmarshalPcrSelection,
  unmarshalPublic2B, writeSymDef, type PcrSelection, type Sensitive, type SymDef, type TpmtPublic,
} from '../types.js';
import { ClientSession, command, passwordAuth, type Authorization } from './command.js';
import { TpmProtocolError } from '../errors.js';
import type { TpmFlow } from './flow.js';

const EMPTY = new Uint8Array(0);

export interface Handle { handle: number; name: Uint8Array }
/** A permanent handle (hierarchy, PCR) names itself. */
export const permanent = (h: number): Handle => ({ handle: h, name: u32be(h) });

export function* startup(clear = true): TpmFlow<void> {
  yield* command({ cc: CC.Startup, params: new Writer(2).u16(clear ? 0 : 1).finish() });
}

export function* shutdown(clear = true): TpmFlow<void> {
  yield* command({ cc: CC.Shutdown, params: new Writer(2).u16(clear ? 0 : 1).finish() });
}

export function* getRandom(n: number): TpmFlow<Uint8Array> {
  const r = yield* command({ cc: CC.GetRandom, params: new Writer(2).u16(n).finish() });
  return r.params.tpm2b();
}

export function* pcrExtend(pcr: number, digest: Uint8Array, auth: Authorization = passwordAuth()): TpmFlow<void> {
  const params = new Writer(40).u32(1).u16(ALG.SHA256).bytes(digest).finish();
  yield* command({ cc: CC.PCR_Extend, handles: [permanent(pcr)], auths: [auth], params });
}

export function* pcrReset(pcr: number): TpmFlow<void> {
  yield* command({ cc: CC.PCR_Reset, handles: [permanent(pcr)], auths: [passwordAuth()] });
}

/** Read SHA-256 PCRs (in chunks of 8, the most one PCR_Read returns). */
export function* pcrRead(pcrs: number[]): TpmFlow<{ updateCounter: number; values: Map<number, Uint8Array> }> {
  const values = new Map<number, Uint8Array>();
  let updateCounter = 0;
  let todo = [...pcrs];
  while (todo.length) {
    const params = marshalPcrSelection([{ hashAlg: ALG.SHA256, pcrs: todo }]);
    const r = yield* command({ cc: CC.PCR_Read, params });
    updateCounter = r.params.u32();
    const sel = unmarshalPcrSelection(r.params);
    const n = r.params.u32();
    const got = sel.find((s) => s.hashAlg === ALG.SHA256)?.pcrs ?? [];
    if (got.length !== n) throw new Error('PCR_Read: selection and digest count differ');
    for (const p of got) values.set(p, r.params.tpm2b());
    if (got.length === 0) break;
    todo = todo.filter((p) => !values.has(p));
  }
  return { updateCounter, values };
}

export interface Created { handle: number; public: TpmtPublic; publicBytes: Uint8Array; name: Uint8Array }

export function* createPrimary(hierarchy: number, template: TpmtPublic, opts: { userAuth?: Uint8Array; auth?: Authorization } = {}): TpmFlow<Created> {
  const params = new Writer(600).bytes(marshalSensitiveCreate({ userAuth: opts.userAuth ?? EMPTY, data: EMPTY }))
    .bytes(marshalPublic2B(template)).u16(0).u32(0).finish();
  const r = yield* command({ cc: CC.CreatePrimary, handles: [permanent(hierarchy)], auths: [opts.auth ?? passwordAuth()], params, responseHandle: true });
  const { pub, bytes } = unmarshalPublic2B(r.params);
  r.params.tpm2b(); r.params.tpm2b(); r.params.u16(); r.params.u32(); r.params.tpm2b();
  const name = r.params.tpm2b();
  return { handle: r.handle!, public: pub, publicBytes: bytes, name };
}

export function* create(parent: Handle, template: TpmtPublic, opts: { userAuth?: Uint8Array; auth?: Authorization } = {}): TpmFlow<{ private: Uint8Array; public: TpmtPublic; publicBytes: Uint8Array }> {
  const params = new Writer(600).bytes(marshalSensitiveCreate({ userAuth: opts.userAuth ?? EMPTY, data: EMPTY }))
    .bytes(marshalPublic2B(template)).u16(0).u32(0).finish();
  const r = yield* command({ cc: CC.Create, handles: [parent], auths: [opts.auth ?? passwordAuth()], params });
  const priv = r.params.tpm2b();
  const { pub, bytes } = unmarshalPublic2B(r.params);
  return { private: priv, public: pub, publicBytes: bytes };
}

export function* load(parent: Handle, priv: Uint8Array, pub: TpmtPublic | Uint8Array, auth: Authorization = passwordAuth()): TpmFlow<Handle> {
  const pubBytes = pub instanceof Uint8Array ? concat(new Writer(2).u16(pub.length).finish(), pub) : marshalPublic2B(pub);
  const params = new Writer(1200).tpm2b(priv).bytes(pubBytes).finish();
  const r = yield* command({ cc: CC.Load, handles: [parent], auths: [auth], params, responseHandle: true });
  return { handle: r.handle!, name: r.params.tpm2b() };
}

export function* loadExternal(pub: TpmtPublic | Uint8Array, hierarchy: number = RH.OWNER, sensitive?: Sensitive): TpmFlow<Handle> {
  const pubBytes = pub instanceof Uint8Array ? concat(new Writer(2).u16(pub.length).finish(), pub) : marshalPublic2B(pub);
  const params = new Writer(1200).bytes(sensitive ? marshalSensitive2B(sensitive) : new Uint8Array(2)).bytes(pubBytes).u32(hierarchy).finish();
  const r = yield* command({ cc: CC.LoadExternal, params, responseHandle: true });
  return { handle: r.handle!, name: r.params.tpm2b() };
}

export interface PublicInfo { public: TpmtPublic; publicBytes: Uint8Array; name: Uint8Array; qualifiedName: Uint8Array }

export function* readPublic(handle: number): TpmFlow<PublicInfo> {
  const r = yield* command({ cc: CC.ReadPublic, handles: [{ handle, name: u32be(handle) }] });
  const { pub, bytes } = unmarshalPublic2B(r.params);
  return { public: pub, publicBytes: bytes, name: r.params.tpm2b(), qualifiedName: r.params.tpm2b() };
}

export function* evictControl(authHandle: number, object: Handle, persistentHandle: number, auth: Authorization = passwordAuth()): TpmFlow<void> {
  yield* command({ cc: CC.EvictControl, handles: [permanent(authHandle), object], auths: [auth], params: u32be(persistentHandle) });
}

export function* flushContext(handle: number): TpmFlow<void> {
  yield* command({ cc: CC.FlushContext, params: u32be(handle) });
}

export function* hierarchyChangeAuth(hierarchy: number, newAuth: Uint8Array, auth: Authorization = passwordAuth()): TpmFlow<void> {
  yield* command({ cc: CC.HierarchyChangeAuth, handles: [permanent(hierarchy)], auths: [auth], params: new Writer(40).tpm2b(newAuth).finish() });
}

export function* objectChangeAuth(object: Handle, parent: Handle, newAuth: Uint8Array, auth: Authorization, extra?: Authorization): TpmFlow<Uint8Array> {
  const r = yield* command({ cc: CC.ObjectChangeAuth, handles: [object, parent], auths: [auth], extra: extra ? [extra] : [], params: new Writer(40).tpm2b(newAuth).finish() });
  return r.params.tpm2b();
}

export interface SessionOptions {
  type?: 'hmac' | 'policy' | 'trial';
  /** Salt the session: the salt is encrypted to this RSA decryption key (handle + public area). */
  saltKey?: { handle: number; public: TpmtPublic };
  bind?: Handle & { authValue: Uint8Array };
  symmetric?: SymDef;
  hashAlg?: number;
  nonceSize?: number;
}

export function* startAuthSession(o: SessionOptions = {}): TpmFlow<ClientSession> {
  const hashAlg = o.hashAlg ?? ALG.SHA256;
  const type = o.type ?? 'hmac';
  const nonceCaller = random(o.nonceSize ?? digestSize(hashAlg));
  let salt: Uint8Array = EMPTY;
  let encryptedSalt: Uint8Array = EMPTY;
  if (o.saltKey) {
    salt = random(digestSize(o.saltKey.public.nameAlg));
    try {
      encryptedSalt = oaepEncrypt(rsaPublicKey(o.saltKey.public.unique, o.saltKey.public.exponent), o.saltKey.public.nameAlg, label('SECRET'), salt);
    } catch (e) {
      throw new TpmProtocolError(`the salt key's public area is not a usable RSA key (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const symmetric = o.symmetric ?? AES128CFB;
  const w = new Writer(400).tpm2b(nonceCaller).tpm2b(encryptedSalt).u8(type === 'hmac' ? SE.HMAC : type === 'policy' ? SE.POLICY : SE.TRIAL);
  writeSymDef(w, symmetric);
  w.u16(hashAlg);
  const tpmKey = o.saltKey ? { handle: o.saltKey.handle, name: u32be(o.saltKey.handle) } : permanent(RH.NULL);
  const r = yield* command({ cc: CC.StartAuthSession, handles: [tpmKey, o.bind ?? permanent(RH.NULL)], params: w.finish(), responseHandle: true });
  const nonceTPM = r.params.tpm2b();
  const bindAuth = o.bind ? stripZeros(o.bind.authValue) : EMPTY;
  const sessionKey = o.bind || salt.length ? kdfa(hashAlg, concat(bindAuth, salt), 'ATH', nonceTPM, nonceCaller, digestSize(hashAlg) * 8) : EMPTY;
  const s = new ClientSession(r.handle!, type, hashAlg, sessionKey, symmetric, nonceTPM, nonceCaller.length);
  if (o.bind && type === 'hmac') s.bound = { name: o.bind.name, authValue: o.bind.authValue };
  return s;
}

const policyHandle = (s: ClientSession): Handle => ({ handle: s.handle, name: u32be(s.handle) });

export function* policyPCR(s: ClientSession, selection: PcrSelection[], pcrDigest: Uint8Array = EMPTY): TpmFlow<void> {
  yield* command({ cc: CC.PolicyPCR, handles: [policyHandle(s)], params: concat(new Writer(66).tpm2b(pcrDigest).finish(), marshalPcrSelection(selection)) });
}

export function* policyCommandCode(s: ClientSession, cc: number): TpmFlow<void> {
  yield* command({ cc: CC.PolicyCommandCode, handles: [policyHandle(s)], params: u32be(cc) });
}

export function* policyAuthValue(s: ClientSession): TpmFlow<void> {
  yield* command({ cc: CC.PolicyAuthValue, handles: [policyHandle(s)] });
  s.policyAuthValue = true;
  s.policyPassword = false;
}

export function* policyPassword(s: ClientSession): TpmFlow<void> {
  yield* command({ cc: CC.PolicyPassword, handles: [policyHandle(s)] });
  s.policyPassword = true;
  s.policyAuthValue = false;
}

export function* policyOR(s: ClientSession, branches: Uint8Array[]): TpmFlow<void> {
  const w = new Writer(300).u32(branches.length);
  for (const b of branches) w.tpm2b(b);
  yield* command({ cc: CC.PolicyOR, handles: [policyHandle(s)], params: w.finish() });
}

export function* policyGetDigest(s: ClientSession): TpmFlow<Uint8Array> {
  const r = yield* command({ cc: CC.PolicyGetDigest, handles: [policyHandle(s)] });
  return r.params.tpm2b();
}

export function* policyRestart(s: ClientSession): TpmFlow<void> {
  yield* command({ cc: CC.PolicyRestart, handles: [policyHandle(s)] });
  s.policyAuthValue = false;
  s.policyPassword = false;
}

/** TPMT_RSA_DECRYPT: NULL means "the key's own scheme". */
function rsaSchemeBytes(scheme: { scheme: number; hashAlg?: number } | undefined): Uint8Array {
  if (!scheme || scheme.scheme === ALG.NULL) return new Writer(2).u16(ALG.NULL).finish();
  const w = new Writer(4).u16(scheme.scheme);
  if (scheme.scheme === ALG.OAEP) w.u16(scheme.hashAlg ?? ALG.SHA256);
  return w.finish();
}

export function* rsaDecrypt(key: Handle, ciphertext: Uint8Array, auth: Authorization, opts: { label?: Uint8Array; scheme?: { scheme: number; hashAlg?: number } } = {}): TpmFlow<Uint8Array> {
  const params = new Writer(600).tpm2b(ciphertext).bytes(rsaSchemeBytes(opts.scheme)).tpm2b(opts.label ?? EMPTY).finish();
  const r = yield* command({ cc: CC.RSA_Decrypt, handles: [key], auths: [auth], params });
  return r.params.tpm2b();
}

export function* rsaEncrypt(key: Handle, message: Uint8Array, opts: { label?: Uint8Array; scheme?: { scheme: number; hashAlg?: number } } = {}): TpmFlow<Uint8Array> {
  const params = new Writer(600).tpm2b(message).bytes(rsaSchemeBytes(opts.scheme)).tpm2b(opts.label ?? EMPTY).finish();
  const r = yield* command({ cc: CC.RSA_Encrypt, handles: [key], params });
  return r.params.tpm2b();
}

export interface DuplicateBlob { encryptionKey: Uint8Array; duplicate: Uint8Array; inSymSeed: Uint8Array }

export function* duplicate(object: Handle, newParent: Handle, auth: Authorization, opts: { symmetric?: SymDef; encryptionKeyIn?: Uint8Array; extra?: Authorization } = {}): TpmFlow<DuplicateBlob> {
  const w = new Writer(64).tpm2b(opts.encryptionKeyIn ?? EMPTY);
  writeSymDef(w, opts.symmetric ?? AES128CFB);
  const r = yield* command({ cc: CC.Duplicate, handles: [object, newParent], auths: [auth], extra: opts.extra ? [opts.extra] : [], params: w.finish() });
  const encryptionKeyOut = r.params.tpm2b();
  return { encryptionKey: opts.encryptionKeyIn ?? encryptionKeyOut, duplicate: r.params.tpm2b(), inSymSeed: r.params.tpm2b() };
}

export function* importObject(parent: Handle, pub: TpmtPublic | Uint8Array, blob: DuplicateBlob, auth: Authorization = passwordAuth(), symmetric: SymDef = AES128CFB): TpmFlow<Uint8Array> {
  const pubBytes = pub instanceof Uint8Array ? concat(new Writer(2).u16(pub.length).finish(), pub) : marshalPublic2B(pub);
  const w = new Writer(1600).tpm2b(blob.encryptionKey).bytes(pubBytes).tpm2b(blob.duplicate).tpm2b(blob.inSymSeed);
  writeSymDef(w, symmetric);
  const r = yield* command({ cc: CC.Import, handles: [parent], auths: [auth], params: w.finish() });
  return r.params.tpm2b();
}

/** Parse a TPM2B_PUBLIC held in a buffer (a file or a handoff). */
export function parsePublic2B(b: Uint8Array): { pub: TpmtPublic; bytes: Uint8Array } {
  const r = new Reader(b);
  const out = unmarshalPublic2B(r);
  r.done('TPM2B_PUBLIC');
  return out;
}
