// Duplicate and Import (Part 3, section 13; blob format Part 1, section 23.3): how a key
// leaves one TPM wrapped for another TPM's storage key, never in clear.

import { randomBytes } from 'node:crypto';
import { ALG, CC, OA, RC, RC_H, RH, rcN } from '../constants.js';
import { digestSize, label, oaepDecrypt, oaepEncrypt } from '../crypto.js';
import { Writer } from '../marshal.js';
import { marshalSensitive2B, type Sensitive } from '../types.js';
import { checkPublic } from './commands-object.js';
import { defineCommand } from './engine.js';
import { innerUnwrap, innerWrap, outerUnwrap, outerWrap, parseSensitive2B, TpmObject, wrapPrivate } from './objects.js';
import { fail, P } from './params.js';

const EMPTY = new Uint8Array(0);

defineCommand(CC.Duplicate, {
  handles: [{ kind: 'object', role: 'dup' }, { kind: 'objectOrNull', role: 'none' }],
  sessions: true, decrypt: true, encrypt: true, responseHandle: false,
  run(e, c) {
    const keyIn = c.params.tpm2b(1, 32);
    const sym = c.params.symDef(2);
    c.params.end();
    const [objH, parentH] = c.handles as [number, number];
    const o = e.object(objH)!;
    if (o.has(OA.fixedParent) || o.publicOnly) fail(RC.ATTRIBUTES | RC_H | rcN(1));
    let newParent: TpmObject | undefined;
    if (parentH !== RH.NULL) {
      newParent = e.object(parentH)!;
      if (!newParent.has(OA.restricted) || !newParent.has(OA.decrypt) || newParent.pub.symmetric.alg === ALG.NULL) fail(RC.TYPE | RC_H | rcN(2));
    }
    if (o.has(OA.encryptedDuplication)) {
      if (sym.alg === ALG.NULL) fail(P(RC.SYMMETRIC, 2));
      if (!newParent) fail(RC.HIERARCHY | RC_H | rcN(2));
    }
    let data = marshalSensitive2B(o.sensitive!);
    let keyOut: Uint8Array = EMPTY;
    if (sym.alg !== ALG.NULL) {
      let key = keyIn;
      if (key.length === 0) { key = new Uint8Array(randomBytes(sym.keyBits / 8)); keyOut = key; }
      else if (key.length !== sym.keyBits / 8) fail(P(RC.SIZE, 1));
      data = innerWrap(o.pub.nameAlg, o.name, data, key);
    } else if (keyIn.length) {
      fail(P(RC.VALUE, 1));
    }
    let seedOut: Uint8Array = EMPTY;
    let duplicate = data;
    if (newParent) {
      const seed = new Uint8Array(randomBytes(digestSize(newParent.pub.nameAlg)));
      seedOut = oaepEncrypt(newParent.publicKey, newParent.pub.nameAlg, label('DUPLICATE'), seed);
      duplicate = outerWrap(newParent, o.name, seed, data);
    }
    return { params: new Writer(duplicate.length + seedOut.length + 64).tpm2b(keyOut).tpm2b(duplicate).tpm2b(seedOut).finish() };
  },
});

defineCommand(CC.Import, {
  handles: [{ kind: 'object', role: 'user' }], sessions: true, decrypt: true, encrypt: true, responseHandle: false,
  run(e, c) {
    const encKey = c.params.tpm2b(1, 32);
    const { pub, bytes } = c.params.public2B(2);
    const dup = c.params.tpm2b(3, 1024);
    const inSymSeed = c.params.tpm2b(4, 512);
    const sym = c.params.symDef(5);
    c.params.end();
    const parent = e.object(c.handles[0]!)!;
    if (!parent.isStorageKey || parent.publicOnly) fail(RC.TYPE | RC_H | rcN(1));
    if (pub.objectAttributes & (OA.fixedTPM | OA.fixedParent)) fail(P(RC.ATTRIBUTES, 2));
    checkPublic(pub, 2);
    if (pub.objectAttributes & OA.encryptedDuplication && (sym.alg === ALG.NULL || inSymSeed.length === 0)) fail(P(RC.ATTRIBUTES, 2));
    const probe = new TpmObject(pub, parent.hierarchy, EMPTY, undefined, bytes);
    let data = dup;
    if (inSymSeed.length) {
      const seed = oaepDecrypt(parent.privateKey!, parent.pub.nameAlg, label('DUPLICATE'), inSymSeed);
      if (!seed) return fail(P(RC.VALUE, 4));
      const outer = outerUnwrap(parent, probe.name, seed, dup);
      if (!outer.ok) return fail(P(RC.INTEGRITY, 3));
      data = outer.data;
    }
    if (sym.alg !== ALG.NULL) {
      if (encKey.length !== sym.keyBits / 8) fail(P(RC.SIZE, 1));
      const inner = innerUnwrap(pub.nameAlg, probe.name, data, encKey);
      if (!inner) return fail(P(RC.INTEGRITY, 3));
      data = inner;
    }
    const s: Sensitive | undefined = parseSensitive2B(data);
    if (!s) return fail(P(RC.INTEGRITY, 3));
    if (s.type !== pub.type || s.authValue.length > digestSize(pub.nameAlg)) fail(P(RC.BINDING, 3));
    const check = new TpmObject(pub, parent.hierarchy, EMPTY, s, bytes);
    if (!check.privateKey) fail(P(RC.BINDING, 3));
    return { params: new Writer(400).tpm2b(wrapPrivate(parent, probe.name, s)).finish() };
  },
});
