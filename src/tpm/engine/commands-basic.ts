// Startup, Shutdown, GetRandom, the PCR commands, HierarchyChangeAuth and FlushContext.

import { ALG, CC, HT, PCR_COUNT, RC, RH, SU, handleType } from '../constants.js';
import { digestSize, hash, random, stripZeros } from '../crypto.js';
import { Writer } from '../marshal.js';
import { marshalPcrSelection, type PcrSelection } from '../types.js';
import { defineCommand, type TpmEngine } from './engine.js';
import { fail, P } from './params.js';
import { bytesOf, hexOf } from './state.js';

const NONE = { sessions: false, decrypt: false, encrypt: false, responseHandle: false } as const;

defineCommand(CC.Startup, {
  ...NONE, handles: [],
  run(e, c) {
    const su = c.params.u16(1);
    c.params.end();
    if (su === SU.STATE) {
      if (!e.nv.savedPcrs) fail(P(RC.VALUE, 1));
      e.resetPcrs();
      e.pcrs = e.nv.savedPcrs!.map((h) => bytesOf(h));
    } else if (su === SU.CLEAR) {
      e.resetPcrs();
    } else {
      fail(P(RC.VALUE, 1));
    }
    if (e.nv.savedPcrs) { delete e.nv.savedPcrs; e.markDirty(); }
    e.started = true;
    return { params: new Uint8Array(0) };
  },
});

defineCommand(CC.Shutdown, {
  ...NONE, sessions: true, handles: [],
  run(e, c) {
    const su = c.params.u16(1);
    c.params.end();
    if (su === SU.STATE) {
      e.nv.savedPcrs = e.pcrs.map((p) => hexOf(p));
      e.markDirty();
    } else if (su !== SU.CLEAR) {
      fail(P(RC.VALUE, 1));
    } else if (e.nv.savedPcrs) {
      delete e.nv.savedPcrs;
      e.markDirty();
    }
    return { params: new Uint8Array(0) };
  },
});

defineCommand(CC.GetRandom, {
  ...NONE, sessions: true, encrypt: true, handles: [],
  run(_e, c) {
    const n = Math.min(c.params.u16(1), 64);
    c.params.end();
    return { params: new Writer(n + 2).tpm2b(random(n)).finish() };
  },
});

/** PCRs 17-22 belong to the dynamic root of trust (locality 2 and up); 16 and 23 are resettable. */
function canExtend(e: TpmEngine, pcr: number): boolean { return pcr < 17 || pcr === 23 || e.locality >= 2; }
function canReset(e: TpmEngine, pcr: number): boolean { return pcr === 16 || pcr === 23 || (pcr >= 17 && pcr <= 22 && e.locality === 4); }

defineCommand(CC.PCR_Extend, {
  ...NONE, sessions: true, handles: [{ kind: 'pcrOrNull', role: 'user' }],
  run(e, c) {
    const values = c.params.digestValues(1, digestSize);
    c.params.end();
    const pcr = c.handles[0]!;
    if (pcr === RH.NULL) return { params: new Uint8Array(0) };
    if (!canExtend(e, pcr)) fail(RC.LOCALITY);
    for (const v of values) {
      // Only the SHA-256 bank is allocated; digests for other implemented banks are ignored.
      if (v.alg === ALG.SHA256) e.pcrs[pcr] = hash(ALG.SHA256, e.pcrs[pcr]!, v.digest);
    }
    e.pcrUpdateCounter++;
    return { params: new Uint8Array(0) };
  },
});

defineCommand(CC.PCR_Reset, {
  ...NONE, sessions: true, handles: [{ kind: 'pcr', role: 'user' }],
  run(e, c) {
    c.params.end();
    const pcr = c.handles[0]!;
    if (!canReset(e, pcr)) fail(RC.LOCALITY);
    e.pcrs[pcr] = pcr >= 17 && pcr <= 22 ? new Uint8Array(32).fill(0xff) : new Uint8Array(32);
    e.pcrUpdateCounter++;
    return { params: new Uint8Array(0) };
  },
});

/** The allocated PCRs a selection names, in order (bank by bank, ascending), at most 8. */
export function selectPcrs(sel: PcrSelection[], max = Infinity): { sel: PcrSelection[]; pcrs: number[] } {
  const out: PcrSelection[] = [];
  const pcrs: number[] = [];
  for (const s of sel) {
    if (s.hashAlg !== ALG.SHA256) { out.push({ hashAlg: s.hashAlg, pcrs: [] }); continue; }
    const chosen: number[] = [];
    for (const p of s.pcrs) if (p < PCR_COUNT && pcrs.length < max) { chosen.push(p); pcrs.push(p); }
    out.push({ hashAlg: s.hashAlg, pcrs: chosen });
  }
  return { sel: out, pcrs };
}

defineCommand(CC.PCR_Read, {
  ...NONE, handles: [],
  run(e, c) {
    const sel = c.params.pcrSelection(1);
    c.params.end();
    const { sel: out, pcrs } = selectPcrs(sel, 8);
    const w = new Writer(64 + pcrs.length * 34).u32(e.pcrUpdateCounter).bytes(marshalPcrSelection(out)).u32(pcrs.length);
    for (const p of pcrs) w.tpm2b(e.pcrs[p]!);
    return { params: w.finish() };
  },
});

defineCommand(CC.HierarchyChangeAuth, {
  ...NONE, sessions: true, decrypt: true, handles: [{ kind: 'hierarchyAuth', role: 'user' }],
  run(e, c) {
    const auth = stripZeros(c.params.tpm2b(1, 64));
    c.params.end();
    if (auth.length > 32) fail(P(RC.SIZE, 1));
    const h = c.handles[0]!;
    const v = new Uint8Array(auth);
    if (h === RH.PLATFORM) e.platformAuth = v;
    else {
      if (h === RH.OWNER) e.nv.auth.owner = hexOf(v);
      else if (h === RH.ENDORSEMENT) e.nv.auth.endorsement = hexOf(v);
      else e.nv.auth.lockout = hexOf(v);
      e.markDirty();
    }
    return { params: new Uint8Array(0) };
  },
});

defineCommand(CC.FlushContext, {
  ...NONE, handles: [],
  run(e, c) {
    const h = c.params.u32(1);
    c.params.end();
    const t = handleType(h);
    if (t === HT.TRANSIENT && e.objects.delete(h)) return { params: new Uint8Array(0) };
    if ((t === HT.HMAC_SESSION || t === HT.POLICY_SESSION) && e.sessions.delete(h)) return { params: new Uint8Array(0) };
    return fail(P(RC.HANDLE, 1));
  },
});
