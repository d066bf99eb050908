// Unwrapping a lockbox's symmetric key with this machine's TPM, through the hypervisor. The
// TPM client (the TPM layer's step-wise unwrap: ReadPublic and the Name check, a policy session
// with parameter encryption, PolicyCommandCode/PolicyAuthValue/PolicyOR, RSA_Decrypt with an
// encrypted response, FlushContext) yields each command; the ultravisor puts it in its
// implicitly shared TPM bounce page and asks the hypervisor to relay it (H_SVM_TPM_COMM). The
// hypervisor sees the commands and responses, and the key only encrypted.

import { GPF, H_PAGE_IN_SHARED, PAGE_SIZE, TPM_COMM_CLOSE, TPM_COMM_EXECUTE } from '../abi/pages.js';
import { HC } from '../abi/hcalls.js';
import type { HcallAnswer, HcallRequest } from './context.js';
import type { UvMemory } from './memory.js';
import type { Svm } from './svm.js';
import { unwrapSteps, type UltravisorHandoff } from '../tpm/index.js';

export type { UltravisorHandoff };

/** The TPM layer's client: yields each command, is resumed with each response, returns the key. */
export type TpmUnwrap = (handoff: UltravisorHandoff, encryptedSymkey: Uint8Array) => Generator<Uint8Array, Uint8Array, Uint8Array>;

/** The TPM layer's unwrap client (ReadPublic + Name check, salted policy session, RSA_Decrypt with response encryption). */
export const DEFAULT_TPM_UNWRAP: TpmUnwrap = unwrapSteps;

export class TpmRefused extends Error {
  constructor(readonly keyMismatch: boolean, message: string) { super(message); this.name = 'TpmRefused'; }
}

/** Half the bounce page for the command, half for the response. */
const HALF = PAGE_SIZE / 2;

/** Whether an error from the client means the key behind the handle is not the one firmware named. */
function isNameMismatch(e: unknown): boolean {
  const o = e as { code?: unknown; message?: unknown };
  return o?.code === 'name-mismatch' || o?.code === 'NAME_MISMATCH' || (typeof o?.message === 'string' && /\bname\b.*(mismatch|differ|not the)/i.test(o.message));
}

export function* relayUnwrap(
  mem: UvMemory, svm: Svm, unwrap: TpmUnwrap, handoff: UltravisorHandoff, encryptedSymkey: Uint8Array,
): Generator<HcallRequest, Uint8Array, HcallAnswer> {
  const gfn = svm.bounce.tpm;
  if (gfn === undefined) throw new TpmRefused(false, 'no TPM bounce buffer');
  const gpa = gfn * PAGE_SIZE;
  /** The hypervisor's page behind the bounce buffer; asked for again if it was invalidated. */
  const page = function* (): Generator<HcallRequest, number, HcallAnswer> {
    let e = svm.pages.get(gfn);
    if (e?.state === GPF.SHARED_IMPLICIT_INV) {
      yield { nr: HC.H_SVM_PAGE_IN, args: [BigInt(gpa), BigInt(H_PAGE_IN_SHARED), 16n] };
      e = svm.pages.get(gfn);
    }
    if (e?.state !== GPF.SHARED_IMPLICIT || e.hv === undefined) throw new TpmRefused(false, 'TPM bounce buffer lost');
    return e.hv;
  };
  let client: Generator<Uint8Array, Uint8Array, Uint8Array>;
  let step: IteratorResult<Uint8Array, Uint8Array>;
  try {
    client = unwrap(handoff, encryptedSymkey);
    step = client.next();
  } catch (e) {
    throw new TpmRefused(isNameMismatch(e), (e as Error).message);
  }
  let hv = 0;
  while (!step.done) {
    const cmd = step.value;
    if (cmd.length > HALF) throw new TpmRefused(false, 'TPM command larger than the bounce buffer');
    hv = yield* page();
    mem.write(hv, cmd);
    const r = yield {
      nr: HC.H_SVM_TPM_COMM,
      args: [BigInt(TPM_COMM_EXECUTE), BigInt(gpa), BigInt(cmd.length), BigInt(gpa + HALF), BigInt(HALF)],
    };
    if (r.rc !== 0) throw new TpmRefused(false, `the hypervisor failed to relay the TPM command (${r.rc})`);
    const len = Number(r.out[0] ?? 0n);
    if (!(len >= 10 && len <= HALF)) throw new TpmRefused(false, `TPM response length ${len} out of range`);
    hv = yield* page();
    const rsp = mem.read(hv + HALF, len);
    try {
      step = client.next(rsp);
    } catch (e) {
      throw new TpmRefused(isNameMismatch(e), (e as Error).message);
    }
  }
  if (hv !== 0) mem.zero(hv, PAGE_SIZE);
  yield { nr: HC.H_SVM_TPM_COMM, args: [BigInt(TPM_COMM_CLOSE), 0n, 0n, 0n, 0n] };
  return step.value;
}
