// StartAuthSession and the policy commands (Part 3, sections 11 and 23).

import { CC, CC_NAME, OA, RC, RC_H, RH, SE, rcN } from '../constants.js';
import { digestSize, hash, isHashAlg, kdfa, label, oaepDecrypt, random, stripZeros } from '../crypto.js';
import { concat, equalBytes, u32be, Writer } from '../marshal.js';
import { marshalPcrSelection } from '../types.js';
import { selectPcrs } from './commands-basic.js';
import { defineCommand, resetPolicy, type Session, type TpmEngine } from './engine.js';
import { fail, P } from './params.js';

const EMPTY = new Uint8Array(0);

defineCommand(CC.StartAuthSession, {
  handles: [{ kind: 'objectOrNull', role: 'none' }, { kind: 'entityOrNull', role: 'none' }],
  sessions: false, decrypt: false, encrypt: false, responseHandle: true,
  run(e, c) {
    const nonceCaller = c.params.tpm2b(1, 64);
    const encryptedSalt = c.params.tpm2b(2, 512);
    const type = c.params.u8(3);
    const symmetric = c.params.symDef(4);
    const authHash = c.params.u16(5);
    c.params.end();
    if (nonceCaller.length < 16) fail(P(RC.SIZE, 1));
    if (type !== SE.HMAC && type !== SE.POLICY && type !== SE.TRIAL) fail(P(RC.VALUE, 3));
    if (!isHashAlg(authHash)) fail(P(RC.HASH, 5));
    const [tpmKey, bind] = c.handles as [number, number];
    let salt: Uint8Array = EMPTY;
    if (tpmKey !== RH.NULL) {
      const k = e.object(tpmKey)!;
      if (!k.has(OA.decrypt) || k.publicOnly) fail(RC.KEY | RC_H | rcN(1));
      if (encryptedSalt.length === 0) fail(P(RC.VALUE, 2));
      const key = k.privateKey;
      const s = key && oaepDecrypt(key, k.pub.nameAlg, label('SECRET'), encryptedSalt);
      if (!s) return fail(P(RC.VALUE, 2));
      salt = s;
    } else if (encryptedSalt.length !== 0) {
      fail(P(RC.VALUE, 2));
    }
    let bindAuth: Uint8Array = EMPTY;
    let boundEntity: Uint8Array | undefined;
    if (bind !== RH.NULL) {
      const ent = e.entity(bind)!;
      bindAuth = stripZeros(ent.authValue);
      if (type === SE.HMAC) boundEntity = concat(ent.name, bindAuth);
    }
    const handle = e.allocSessionHandle(type);
    const nonceTPM = random(nonceCaller.length);
    const sessionKey = bind !== RH.NULL || salt.length
      ? kdfa(authHash, concat(bindAuth, salt), 'ATH', nonceTPM, nonceCaller, digestSize(authHash) * 8)
      : EMPTY;
    const s: Session = {
      handle, type, hashAlg: authHash, nonceTPM, sessionKey, symmetric, boundEntity,
      policyDigest: new Uint8Array(digestSize(authHash)), commandCode: 0, isAuthValueNeeded: false, isPasswordNeeded: false,
    };
    e.sessions.set(handle, s);
    return { handle, params: new Writer(70).tpm2b(nonceTPM).finish() };
  },
});

const POLICY = { sessions: true, decrypt: false, encrypt: false, responseHandle: false, handles: [{ kind: 'policySession' as const, role: 'none' as const }] };
const session = (e: TpmEngine, h: number): Session => e.sessions.get(h)!;
const extend = (s: Session, ...parts: Uint8Array[]) => { s.policyDigest = hash(s.hashAlg, s.policyDigest, ...parts); };

defineCommand(CC.PolicyPCR, {
  ...POLICY, decrypt: true,
  run(e, c) {
    const pcrDigest = c.params.tpm2b(1, 64);
    const sel = c.params.pcrSelection(2);
    c.params.end();
    const s = session(e, c.handles[0]!);
    const { pcrs } = selectPcrs(sel);
    const current = hash(s.hashAlg, ...pcrs.map((p) => e.pcrs[p]!));
    let digest = current;
    if (s.type === SE.TRIAL) {
      if (pcrDigest.length) digest = pcrDigest;
    } else {
      if (pcrDigest.length && !equalBytes(pcrDigest, current)) fail(P(RC.VALUE, 1));
      s.pcrCounter = e.pcrUpdateCounter;
    }
    extend(s, u32be(CC.PolicyPCR), marshalPcrSelection(sel), digest);
    return { params: EMPTY };
  },
});

defineCommand(CC.PolicyCommandCode, {
  ...POLICY,
  run(e, c) {
    const code = c.params.u32(1);
    c.params.end();
    const s = session(e, c.handles[0]!);
    if (s.commandCode !== 0 && s.commandCode !== code) fail(P(RC.VALUE, 1));
    if (CC_NAME[code] === undefined) fail(P(RC.POLICY_CC, 1));
    extend(s, u32be(CC.PolicyCommandCode), u32be(code));
    s.commandCode = code;
    return { params: EMPTY };
  },
});

defineCommand(CC.PolicyAuthValue, {
  ...POLICY,
  run(e, c) {
    c.params.end();
    const s = session(e, c.handles[0]!);
    extend(s, u32be(CC.PolicyAuthValue));
    s.isAuthValueNeeded = true;
    s.isPasswordNeeded = false;
    return { params: EMPTY };
  },
});

defineCommand(CC.PolicyPassword, {
  ...POLICY,
  run(e, c) {
    c.params.end();
    const s = session(e, c.handles[0]!);
    extend(s, u32be(CC.PolicyAuthValue));
    s.isPasswordNeeded = true;
    s.isAuthValueNeeded = false;
    return { params: EMPTY };
  },
});

defineCommand(CC.PolicyOR, {
  ...POLICY,
  run(e, c) {
    const list = c.params.digestList(1, 2, 8);
    c.params.end();
    const s = session(e, c.handles[0]!);
    const size = digestSize(s.hashAlg);
    if (list.some((d) => d.length !== size)) fail(P(RC.SIZE, 1));
    if (s.type !== SE.TRIAL && !list.some((d) => equalBytes(d, s.policyDigest))) fail(P(RC.VALUE, 1));
    s.policyDigest = hash(s.hashAlg, new Uint8Array(size), u32be(CC.PolicyOR), ...list);
    return { params: EMPTY };
  },
});

defineCommand(CC.PolicyGetDigest, {
  ...POLICY, encrypt: true,
  run(e, c) {
    c.params.end();
    return { params: new Writer(66).tpm2b(session(e, c.handles[0]!).policyDigest).finish() };
  },
});

defineCommand(CC.PolicyRestart, {
  ...POLICY,
  run(e, c) {
    c.params.end();
    resetPolicy(session(e, c.handles[0]!));
    return { params: EMPTY };
  },
});
