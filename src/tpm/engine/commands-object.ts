// Object commands: CreatePrimary, Create, Load, LoadExternal, ReadPublic, EvictControl,
// ObjectChangeAuth, RSA_Decrypt, RSA_Encrypt.

import { createHash, privateDecrypt, publicEncrypt, constants as C } from 'node:crypto';
import {
  ALG, CC, HT, OA, PERSISTENT_OWNER, PERSISTENT_PLATFORM, RC, RC_H, RH, ST, handleType, rcN,
} from '../constants.js';
import { digestSize, hash, hmac, oaepDecrypt, oaepEncrypt, stripZeros } from '../crypto.js';
import { equalBytes, Writer } from '../marshal.js';
import { marshalPcrSelection, marshalPublic2B, type PcrSelection, type Sensitive, type TpmtPublic } from '../types.js';
import { selectPcrs } from './commands-basic.js';
import { defineCommand, type TpmEngine } from './engine.js';
import { generateRsa, hierarchyQn, parseSensitive2B, qualifiedName, randomSeed, TpmObject, unwrapPrivate, wrapPrivate } from './objects.js';
import { fail, P } from './params.js';
import { bytesOf, hexOf } from './state.js';

const EMPTY = new Uint8Array(0);

/** The attribute and parameter rules of Part 1 section 27 that the model's objects need. */
export function checkPublic(pub: TpmtPublic, n: number, opts: { parent?: TpmObject; create?: boolean } = {}): void {
  const a = pub.objectAttributes;
  const has = (b: number) => (a & b) !== 0;
  if (has(OA.fixedTPM) && !has(OA.fixedParent)) fail(P(RC.ATTRIBUTES, n));
  if (!has(OA.sign) && !has(OA.decrypt)) fail(P(RC.ATTRIBUTES, n));
  if (has(OA.restricted) && has(OA.sign) && has(OA.decrypt)) fail(P(RC.ATTRIBUTES, n));
  const storage = has(OA.restricted) && has(OA.decrypt);
  if (storage) {
    if (pub.symmetric.alg === ALG.NULL) fail(P(RC.SYMMETRIC, n));
    if (pub.scheme.scheme !== ALG.NULL) fail(P(RC.SCHEME, n));
  } else if (pub.symmetric.alg !== ALG.NULL) {
    fail(P(RC.SYMMETRIC, n));
  }
  if (has(OA.decrypt) && !has(OA.sign) && pub.scheme.scheme !== ALG.NULL && pub.scheme.scheme !== ALG.OAEP && pub.scheme.scheme !== ALG.RSAES) fail(P(RC.SCHEME, n));
  if (opts.create && !has(OA.sensitiveDataOrigin)) fail(P(RC.ATTRIBUTES, n));
  const parent = opts.parent;
  if (parent && has(OA.fixedTPM) && !parent.has(OA.fixedTPM)) fail(P(RC.ATTRIBUTES, n));
}

function requireStorageParent(o: TpmObject | undefined, handleIndex: number): TpmObject {
  if (!o || !o.isStorageKey || o.publicOnly) return fail(RC.TYPE | RC_H | rcN(handleIndex));
  return o;
}

function creationData(e: TpmEngine, nameAlg: number, sel: PcrSelection[], parentNameAlg: number, parentName: Uint8Array, parentQn: Uint8Array, outsideInfo: Uint8Array): Uint8Array {
  const { sel: chosen, pcrs } = selectPcrs(sel);
  const pcrDigest = pcrs.length ? hash(nameAlg, ...pcrs.map((p) => e.pcrs[p]!)) : EMPTY;
  return new Writer(200).bytes(marshalPcrSelection(chosen)).tpm2b(pcrDigest).u8(1 << e.locality)
    .u16(parentNameAlg).tpm2b(parentName).tpm2b(parentQn).tpm2b(outsideInfo).finish();
}

/** creationData, creationHash and creationTicket as the creation commands return them. */
function creationOutputs(e: TpmEngine, hierarchy: number, name: Uint8Array, nameAlg: number, cd: Uint8Array, w: Writer): void {
  const creationHash = hash(nameAlg, cd);
  w.tpm2b(cd).tpm2b(creationHash);
  w.u16(ST.CREATION).u32(hierarchy === RH.NULL ? RH.NULL : hierarchy);
  if (hierarchy === RH.NULL) w.u16(0);
  else {
    const proof = hash(ALG.SHA256, e.hierarchySeed(hierarchy), new TextEncoder().encode('proof'));
    const st = new Uint8Array([ST.CREATION >> 8, ST.CREATION & 0xff]);
    w.tpm2b(hmac(nameAlg, proof, st, name, creationHash));
  }
}

defineCommand(CC.CreatePrimary, {
  needsSlot: true,
  handles: [{ kind: 'hierarchy', role: 'user' }], sessions: true, decrypt: true, encrypt: true, responseHandle: true,
  run(e, c) {
    const sens = c.params.sensitiveCreate(1);
    const { pub: tmpl, bytes: tmplBytes } = c.params.public2B(2);
    const outsideInfo = c.params.tpm2b(3, 64);
    const creationPcr = c.params.pcrSelection(4);
    c.params.end();
    checkPublic(tmpl, 2, { create: true });
    if (sens.data.length) fail(P(RC.VALUE, 1));
    if (sens.userAuth.length > digestSize(tmpl.nameAlg)) fail(P(RC.SIZE, 1));
    const hierarchy = c.handles[0]!;
    const handle = e.allocObjectHandle();
    // A primary key is a function of the hierarchy seed and the template: derive it once, keep it.
    const key = createHash('sha256').update(e.hierarchySeed(hierarchy)).update(tmplBytes).update(sens.data).digest('hex');
    let rec: { modulus: Uint8Array; prime: Uint8Array; seedValue: Uint8Array } | undefined;
    if (hierarchy === RH.NULL) rec = e.nullPrimaries.get(key);
    else {
      const r = e.nv.primaries.find((p) => p.hierarchy === hierarchy && p.key === key);
      if (r) rec = { modulus: bytesOf(r.modulus), prime: bytesOf(r.prime), seedValue: bytesOf(r.seedValue) };
    }
    let fresh;
    if (!rec) {
      fresh = generateRsa(tmpl.keyBits, tmpl.exponent);
      rec = { modulus: fresh.modulus, prime: fresh.prime, seedValue: randomSeed(tmpl.nameAlg) };
      if (hierarchy === RH.NULL) e.nullPrimaries.set(key, rec);
      else {
        e.nv.primaries.push({ hierarchy, key, modulus: hexOf(rec.modulus), prime: hexOf(rec.prime), seedValue: hexOf(rec.seedValue) });
        e.markDirty();
      }
    }
    const pub: TpmtPublic = { ...tmpl, unique: rec.modulus };
    const sensitive: Sensitive = { type: ALG.RSA, authValue: stripZeros(sens.userAuth), seedValue: rec.seedValue, sensitive: rec.prime };
    const nameOnly = new TpmObject(pub, hierarchy, EMPTY, undefined);
    const o = new TpmObject(pub, hierarchy, qualifiedName(pub.nameAlg, hierarchyQn(hierarchy), nameOnly.name), sensitive, nameOnly.publicBytes);
    if (fresh) o.adoptKeys(fresh.priv);
    e.objects.set(handle, o);
    const w = new Writer(1200).bytes(marshalPublic2B(pub));
    const hq = hierarchyQn(hierarchy);
    creationOutputs(e, hierarchy, o.name, pub.nameAlg, creationData(e, pub.nameAlg, creationPcr, ALG.NULL, hq, hq, outsideInfo), w);
    w.tpm2b(o.name);
    return { handle, params: w.finish() };
  },
});

defineCommand(CC.Create, {
  needsSlot: true,
  handles: [{ kind: 'object', role: 'user' }], sessions: true, decrypt: true, encrypt: true, responseHandle: false,
  run(e, c) {
    const sens = c.params.sensitiveCreate(1);
    const { pub: tmpl } = c.params.public2B(2);
    const outsideInfo = c.params.tpm2b(3, 64);
    const creationPcr = c.params.pcrSelection(4);
    c.params.end();
    const parent = requireStorageParent(e.object(c.handles[0]!), 1);
    checkPublic(tmpl, 2, { parent, create: true });
    if (sens.data.length) fail(P(RC.VALUE, 1));
    if (sens.userAuth.length > digestSize(tmpl.nameAlg)) fail(P(RC.SIZE, 1));
    const fresh = generateRsa(tmpl.keyBits, tmpl.exponent);
    const pub: TpmtPublic = { ...tmpl, unique: fresh.modulus };
    const sensitive: Sensitive = { type: ALG.RSA, authValue: stripZeros(sens.userAuth), seedValue: randomSeed(pub.nameAlg), sensitive: fresh.prime };
    const o = new TpmObject(pub, parent.hierarchy, EMPTY, undefined);
    const w = new Writer(1600).tpm2b(wrapPrivate(parent, o.name, sensitive)).bytes(marshalPublic2B(pub));
    const cd = creationData(e, pub.nameAlg, creationPcr, parent.pub.nameAlg, parent.name, parent.qualifiedName, outsideInfo);
    creationOutputs(e, parent.hierarchy, o.name, pub.nameAlg, cd, w);
    return { params: w.finish() };
  },
});

defineCommand(CC.Load, {
  needsSlot: true,
  handles: [{ kind: 'object', role: 'user' }], sessions: true, decrypt: true, encrypt: true, responseHandle: true,
  run(e, c) {
    const blob = c.params.tpm2b(1, 1024);
    const { pub, bytes } = c.params.public2B(2);
    c.params.end();
    const parentHandle = c.handles[0]!;
    const parent = requireStorageParent(e.object(parentHandle), 1);
    checkPublic(pub, 2, { parent });
    const handle = e.allocObjectHandle();
    const probe = new TpmObject(pub, parent.hierarchy, EMPTY, undefined, bytes);
    const un = unwrapPrivate(parent, probe.name, blob);
    if (!un.ok) return fail(P(un.why === 'integrity' ? RC.INTEGRITY : RC.SIZE, 1));
    const o = new TpmObject(pub, parent.hierarchy, qualifiedName(pub.nameAlg, parent.qualifiedName, probe.name), un.sensitive, bytes);
    if (un.sensitive.type !== pub.type || !o.privateKey) fail(P(RC.BINDING, 1));
    e.objects.set(handle, o);
    return { handle, params: new Writer(40).tpm2b(o.name).finish() };
  },
});

defineCommand(CC.LoadExternal, {
  needsSlot: true,
  handles: [], sessions: true, decrypt: true, encrypt: true, responseHandle: true,
  run(e, c) {
    const priv = c.params.tpm2b(1, 1024);
    const { pub, bytes } = c.params.public2B(2);
    const hierarchy = c.params.u32(3);
    c.params.end();
    if (![RH.OWNER, RH.PLATFORM, RH.ENDORSEMENT, RH.NULL].includes(hierarchy as 0x40000001)) fail(P(RC.VALUE, 3));
    let sensitive: Sensitive | undefined;
    if (priv.length) {
      if (hierarchy !== RH.NULL) fail(P(RC.HIERARCHY, 3));
      if (pub.objectAttributes & (OA.fixedTPM | OA.fixedParent | OA.restricted)) fail(P(RC.ATTRIBUTES, 2));
      const withSize = new Uint8Array(priv.length + 2);
      withSize[0] = priv.length >> 8; withSize[1] = priv.length & 0xff; withSize.set(priv, 2);
      sensitive = parseSensitive2B(withSize);
      if (!sensitive) fail(P(RC.SIZE, 1));
    } else if (pub.objectAttributes & OA.fixedTPM && !(pub.objectAttributes & OA.fixedParent)) {
      fail(P(RC.ATTRIBUTES, 2));
    }
    const handle = e.allocObjectHandle();
    const probe = new TpmObject(pub, hierarchy, EMPTY, undefined, bytes);
    const o = new TpmObject(pub, hierarchy, qualifiedName(pub.nameAlg, hierarchyQn(hierarchy), probe.name), sensitive, bytes);
    if (sensitive && (sensitive.type !== pub.type || !o.privateKey)) fail(P(RC.BINDING, 1));
    e.objects.set(handle, o);
    return { handle, params: new Writer(40).tpm2b(o.name).finish() };
  },
});

defineCommand(CC.ReadPublic, {
  handles: [{ kind: 'object', role: 'none' }], sessions: true, decrypt: false, encrypt: true, responseHandle: false,
  run(e, c) {
    c.params.end();
    const o = e.object(c.handles[0]!)!;
    return { params: new Writer(400).bytes(marshalPublic2B(o.pub)).tpm2b(o.name).tpm2b(o.qualifiedName).finish() };
  },
});

defineCommand(CC.EvictControl, {
  handles: [{ kind: 'provision', role: 'user' }, { kind: 'object', role: 'none' }], sessions: true, decrypt: false, encrypt: false, responseHandle: false,
  run(e, c) {
    const persistentHandle = c.params.u32(1);
    c.params.end();
    const [auth, objectHandle] = c.handles as [number, number];
    const range = auth === RH.PLATFORM ? PERSISTENT_PLATFORM : PERSISTENT_OWNER;
    if (persistentHandle < range.first || persistentHandle > range.last) fail(P(RC.RANGE, 1));
    const o = e.object(objectHandle)!;
    if (handleType(objectHandle) === HT.PERSISTENT) {
      if (persistentHandle !== objectHandle) fail(P(RC.HANDLE, 1));
      if (auth === RH.OWNER && o.hierarchy === RH.PLATFORM) fail(RC.HIERARCHY | RC_H | rcN(2));
      e.evict(objectHandle);
      return { params: EMPTY };
    }
    if (o.publicOnly || o.has(OA.stClear)) fail(RC.ATTRIBUTES | RC_H | rcN(2));
    if (o.hierarchy === RH.NULL || (auth === RH.OWNER && o.hierarchy === RH.PLATFORM)) fail(RC.HIERARCHY | RC_H | rcN(2));
    if (e.object(persistentHandle)) fail(RC.NV_DEFINED);
    e.persist(persistentHandle, o);
    return { params: EMPTY };
  },
});

defineCommand(CC.ObjectChangeAuth, {
  handles: [{ kind: 'object', role: 'admin' }, { kind: 'object', role: 'none' }], sessions: true, decrypt: true, encrypt: true, responseHandle: false,
  run(e, c) {
    const newAuth = stripZeros(c.params.tpm2b(1, 64));
    c.params.end();
    const o = e.object(c.handles[0]!)!;
    const parent = e.object(c.handles[1]!)!;
    if (newAuth.length > digestSize(o.pub.nameAlg)) fail(P(RC.SIZE, 1));
    if (!parent.isStorageKey || parent.publicOnly || !equalBytes(o.qualifiedName, qualifiedName(o.pub.nameAlg, parent.qualifiedName, o.name))) fail(RC.TYPE | RC_H | rcN(2));
    const s = { ...o.sensitive!, authValue: new Uint8Array(newAuth) };
    return { params: new Writer(400).tpm2b(wrapPrivate(parent, o.name, s)).finish() };
  },
});

/** TPMT_RSA_DECRYPT: the scheme to use, resolved against the key's own scheme. */
function rsaScheme(e: { params: { u16(n: number): number } }, key: TpmObject, n: number): { scheme: number; hashAlg: number } {
  const scheme = e.params.u16(n);
  let hashAlg: number = ALG.NULL;
  if (scheme === ALG.OAEP) hashAlg = e.params.u16(n);
  else if (scheme !== ALG.NULL && scheme !== ALG.RSAES) fail(P(RC.SCHEME, n));
  const keyScheme = key.pub.scheme;
  if (keyScheme.scheme !== ALG.NULL) {
    if (scheme !== ALG.NULL && (scheme !== keyScheme.scheme || hashAlg !== keyScheme.hashAlg)) fail(P(RC.SCHEME, n));
    return keyScheme;
  }
  if (scheme === ALG.OAEP && digestSize(hashAlg) === 0) fail(P(RC.HASH, n));
  return { scheme, hashAlg };
}

function checkDecryptKey(o: TpmObject): void {
  if (!o.has(OA.decrypt) || o.has(OA.restricted)) fail(RC.ATTRIBUTES | RC_H | rcN(1));
}

function checkLabel(lbl: Uint8Array, n: number): void {
  if (lbl.length && lbl[lbl.length - 1] !== 0) fail(P(RC.VALUE, n));
}

defineCommand(CC.RSA_Decrypt, {
  handles: [{ kind: 'object', role: 'user' }], sessions: true, decrypt: true, encrypt: true, responseHandle: false,
  run(e, c) {
    const o = e.object(c.handles[0]!)!;
    const ct = c.params.tpm2b(1, 512);
    const scheme = rsaScheme(c, o, 2);
    const lbl = c.params.tpm2b(3, 256);
    c.params.end();
    checkDecryptKey(o);
    checkLabel(lbl, 3);
    const key = o.privateKey;
    if (!key) return fail(RC.KEY | RC_H | rcN(1));
    if (ct.length !== o.pub.keyBits / 8) fail(P(RC.SIZE, 1));
    let msg: Uint8Array | undefined;
    if (scheme.scheme === ALG.OAEP) msg = oaepDecrypt(key, scheme.hashAlg, lbl, ct);
    else {
      try {
        msg = new Uint8Array(privateDecrypt({ key, padding: scheme.scheme === ALG.RSAES ? C.RSA_PKCS1_PADDING : C.RSA_NO_PADDING }, ct));
      } catch { msg = undefined; }
    }
    if (!msg) return fail(P(RC.VALUE, 1));
    const w = new Writer(msg.length + 2).tpm2b(msg);
    return { params: w.finish() };
  },
});

defineCommand(CC.RSA_Encrypt, {
  handles: [{ kind: 'object', role: 'none' }], sessions: true, decrypt: true, encrypt: true, responseHandle: false,
  run(e, c) {
    const o = e.object(c.handles[0]!)!;
    const msg = c.params.tpm2b(1, 512);
    const scheme = rsaScheme(c, o, 2);
    const lbl = c.params.tpm2b(3, 256);
    c.params.end();
    checkDecryptKey(o);
    checkLabel(lbl, 3);
    let out: Uint8Array;
    try {
      if (scheme.scheme === ALG.OAEP) out = oaepEncrypt(o.publicKey, scheme.hashAlg, lbl, msg);
      else out = new Uint8Array(publicEncrypt({ key: o.publicKey, padding: scheme.scheme === ALG.RSAES ? C.RSA_PKCS1_PADDING : C.RSA_NO_PADDING }, msg));
    } catch { return fail(P(RC.VALUE, 1)); }
    return { params: new Writer(out.length + 2).tpm2b(out).finish() };
  },
});
