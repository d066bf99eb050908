// 16. Substitute another TPM key, or alter the TPM traffic the hypervisor relays. The
// ultravisor unwraps the SVM's master key with the machine's TPM through the hypervisor
// (H_SVM_TPM_COMM). The relay, one SVM at a time: answers ReadPublic of the machine key with
// the storage key's (another key of the same TPM); points RSA_Decrypt at the storage key;
// flips a bit of RSA_Decrypt's encrypted answer; clears the session's "encrypt" attribute so
// the TPM would answer in clear; starts the session unsalted; and replays the answer another
// SVM's unwrap got. The Name check, the command and response HMACs and parameter encryption
// must each refuse, and the master key must never cross the relay in clear. Control: the
// same relay passing everything unchanged lets an SVM boot and read its canary.

import { CC, RH, ST } from '../../tpm/constants.js';
import { SRK_HANDLE } from '../../tpm/machine-key.js';
import { describeRc } from '../../tpm/errors.js';
import { verdict, type AttackScenario } from '../types.js';
import { ending, hex, poweredOff, readCanaryIntact } from '../helpers.js';
import { describeEsm, esmOutcome } from '../esm-outcome.js';

type Mode = 'honest' | 'substitute-key' | 'decrypt-with-other-key' | 'flip-answer' | 'strip-encryption' | 'unsalted' | 'replay-answer';

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
const setU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v);
const u16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at);
const ccOf = (cmd: Uint8Array) => u32(cmd, 6);

/** Clear TPMA_SESSION.encrypt (0x40) in every session of a command with `handles` handles. */
function stripEncrypt(cmd: Uint8Array, handles: number): Uint8Array {
  const c = cmd.slice();
  if (u16(c, 0) !== ST.SESSIONS) return c;
  let at = 10 + 4 * handles + 4;
  const end = at + u32(c, 10 + 4 * handles);
  while (at < end) {
    at += 4;
    at += 2 + u16(c, at);
    c[at]! &= ~0x40;
    at += 1;
    at += 2 + u16(c, at);
  }
  return c;
}

/** StartAuthSession with no salt key and no encrypted salt (TPM_RH_NULL, empty TPM2B). */
function unsalted(cmd: Uint8Array): Uint8Array {
  const nonceLen = u16(cmd, 18);
  const saltAt = 20 + nonceLen;
  const saltLen = u16(cmd, saltAt);
  const out = new Uint8Array(cmd.length - saltLen);
  out.set(cmd.subarray(0, saltAt));
  out.set(cmd.subarray(saltAt + 2 + saltLen), saltAt + 2);
  setU32(out, 2, out.length);
  setU32(out, 10, RH.NULL);
  out[saltAt] = 0; out[saltAt + 1] = 0;
  return out;
}

export const scenario: AttackScenario = {
  name: 'tpm-key-substitution',
  number: 16,
  tried: 'substitute another TPM key for the machine key (Name check), and alter the TPM traffic it relays: a flipped bit, encryption stripped, an unsalted session, a replayed answer',
  async run(ctx) {
    const cs = ctx.canary('svm');
    let mode: Mode = 'honest';
    const seen: { mode: Mode; what: string; rc?: number }[] = [];
    let recordedAnswer: Uint8Array | undefined;
    const relayed: Uint8Array[] = [];
    const sys = ctx.boot({
      canaries: [cs],
      tpmRelay: (inner) => ({
        transmit: (command: Uint8Array) => {
          let cmd = command;
          const cc = ccOf(cmd);
          if (mode === 'substitute-key' && cc === CC.ReadPublic && u32(cmd, 10) !== SRK_HANDLE) { cmd = cmd.slice(); setU32(cmd, 10, SRK_HANDLE); seen.push({ mode, what: `ReadPublic(${hex(u32(command, 10))}) sent as ReadPublic(${hex(SRK_HANDLE)})` }); }
          if (mode === 'decrypt-with-other-key' && cc === CC.RSA_Decrypt) { cmd = cmd.slice(); setU32(cmd, 10, SRK_HANDLE); seen.push({ mode, what: `RSA_Decrypt pointed at ${hex(SRK_HANDLE)}` }); }
          if (mode === 'strip-encryption' && cc === CC.RSA_Decrypt) { cmd = stripEncrypt(cmd, 1); seen.push({ mode, what: 'RSA_Decrypt with the encrypt attribute cleared' }); }
          if (mode === 'unsalted' && cc === CC.StartAuthSession) { cmd = unsalted(cmd); seen.push({ mode, what: 'StartAuthSession without its salt' }); }
          const r = inner.transmit(cmd);
          const answer = (rsp: Uint8Array): Uint8Array => {
            relayed.push(rsp);
            const last = seen[seen.length - 1];
            if (last && last.mode === mode && last.rc === undefined && (cc === CC.RSA_Decrypt || cc === CC.ReadPublic || cc === CC.StartAuthSession)) last.rc = u32(rsp, 6);
            if (cc !== CC.RSA_Decrypt) return rsp;
            if (mode === 'honest' && u32(rsp, 6) === 0) recordedAnswer ??= rsp.slice();
            if (mode === 'flip-answer') { const f = rsp.slice(); f[f.length - 40]! ^= 0x10; seen.push({ mode, what: 'a bit of the RSA_Decrypt answer flipped', rc: u32(rsp, 6) }); return f; }
            if (mode === 'replay-answer' && recordedAnswer) { seen.push({ mode, what: "the RSA_Decrypt answer of an earlier SVM's unwrap replayed", rc: u32(rsp, 6) }); return recordedAnswer; }
            return rsp;
          };
          return r instanceof Promise ? r.then(answer) : answer(r);
        },
        close: inner.close?.bind(inner),
      }),
    });
    const modes: Mode[] = ['honest', 'substitute-key', 'decrypt-with-other-key', 'flip-answer', 'strip-encryption', 'unsalted', 'replay-answer'];
    const runs: { mode: Mode; vm: ReturnType<typeof sys.createVm>; symkey: Uint8Array }[] = [];
    try {
      for (const m of modes) {
        mode = m;
        const img = ctx.svm(cs);
        runs.push({ mode: m, vm: sys.createVm(m, img), symkey: img.secrets!.symkey });
        await sys.runToEnd();
      }
    } finally {
      sys.close();
    }
    const inClear = (k: Uint8Array) => relayed.some((b) => Buffer.from(b).includes(Buffer.from(k)));
    const attacks = runs.slice(1).map((r) => {
      const esm = esmOutcome(sys.events, r.vm);
      const did = seen.filter((s) => s.mode === r.mode);
      return { ...r, esm, did, clear: inClear(r.symkey), canary: readCanaryIntact(r.vm, cs) };
    });
    const control = runs[0]!;
    const leaked = attacks.some((a) => a.esm.secure || a.canary || a.clear) || sys.watch.of(cs.id).length > 0;
    const applied = attacks.every((a) => a.did.length > 0);
    const controlOk = applied && esmOutcome(sys.events, control.vm).secure && poweredOff(control.vm) && readCanaryIntact(control.vm, cs) && !inClear(control.symkey);
    const evidence = `${attacks.map((a) => `${a.did.length ? a.did.map((d) => `${d.what}${d.rc !== undefined ? ` (the TPM answered ${d.rc === 0 ? 'success' : describeRc(d.rc)})` : ''}`).join(', ') : `${a.mode}: NEVER APPLIED`}: ${describeEsm(a.esm)}${a.clear ? '; THE MASTER KEY CROSSED THE RELAY IN CLEAR' : ''}; the VM ${a.canary ? 'READ THE CANARY' : ending(a.vm)}`).join('. ')}. ` +
      `${relayed.length} TPM answers relayed, none holding a master key in clear. ` +
      `Control: the relay passing everything unchanged: ${describeEsm(esmOutcome(sys.events, control.vm)).replace('WENT SECURE', 'went secure')}, the SVM ${readCanaryIntact(control.vm, cs) ? 'read its canary' : 'did not read its canary'} and ${ending(control.vm)}`;
    return verdict(leaked, controlOk, evidence);
  },
};
