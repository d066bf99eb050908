// An operator's check before scheduling SVMs on a machine: boot it, wrap a test key to the
// machine's own public key (as an SVM owner's tools do: RSA-OAEP SHA-256, empty label), and
// have the booted ultravisor's TPM client unwrap it through a relay standing for the
// hypervisor's H_SVM_TPM_COMM. The relay's view is checked too: the key never crosses it in
// clear. A rogue ultravisor, or any other state the key's policy refuses, reports the TPM's
// refusal.

import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { TpmError, TpmProtocolError, equalBytes, runSync, toHex, unwrapSteps, type TpmTransport } from '../tpm/index.js';
import { bootMachine, type BootOptions, type StageMeasurement } from './boot.js';
import type { ImageDescriptor } from './images.js';

export interface SelftestResult {
  ok: boolean;
  fingerprint: string;
  ultravisor: ImageDescriptor;
  /** The ultravisor the machine key is bound to. */
  keyBoundTo: { digest: string; variant: string; version: string };
  refusal?: { rc?: number; code?: string; message: string; policy: boolean };
  relay: { commands: number; bytes: number; keyInClear: boolean; authValueInClear: boolean };
  measurements: StageMeasurement[];
  pcrs: Record<number, string>;
}

/** Every byte the hypervisor would see on H_SVM_TPM_COMM. */
class RecordingRelay implements TpmTransport {
  readonly seen: Uint8Array[] = [];
  constructor(private readonly inner: TpmTransport) {}
  transmit(c: Uint8Array): Uint8Array {
    this.seen.push(new Uint8Array(c));
    const r = this.inner.transmit(c);
    this.seen.push(new Uint8Array(r));
    return r;
  }
  contains(needle: Uint8Array): boolean {
    const n = Buffer.from(needle);
    return this.seen.some((b) => Buffer.from(b).indexOf(n) >= 0);
  }
}

export function selftest(dir: string, opts: Pick<BootOptions, 'loaders' | 'log'> = {}): SelftestResult {
  const boot = bootMachine(dir, { ...opts, lockBoot: true });
  try {
    const key = boot.config.machineKey;
    const secret = new Uint8Array(randomBytes(32));
    const ct = new Uint8Array(publicEncrypt({ key: key.pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));
    const relay = new RecordingRelay(boot.tpm);
    const uv = boot.measurements.find((m) => m.stage === 'ultravisor')!;
    let ok = false;
    let refusal: SelftestResult['refusal'];
    try {
      const plain = runSync(unwrapSteps(boot.handoff, ct), relay);
      ok = equalBytes(plain, secret);
      if (!ok) refusal = { message: 'the TPM returned a different key', policy: false };
    } catch (e) {
      if (e instanceof TpmError) refusal = { rc: e.rc, message: e.message, policy: e.isPolicyFailure };
      else if (e instanceof TpmProtocolError) refusal = { code: (e as { code?: string }).code, message: e.message, policy: false };
      else throw e;
    }
    const keyInClear = relay.contains(secret);
    const authValueInClear = relay.contains(boot.handoff.authValue);
    if (keyInClear || authValueInClear) ok = false;
    return {
      ok, fingerprint: key.fingerprint, ultravisor: uv.descriptor,
      keyBoundTo: { digest: key.ultravisor.digest, variant: key.ultravisor.variant, version: key.ultravisor.version },
      ...(refusal ? { refusal } : {}),
      relay: { commands: relay.seen.length / 2, bytes: relay.seen.reduce((n, b) => n + b.length, 0), keyInClear, authValueInClear },
      measurements: boot.measurements,
      pcrs: Object.fromEntries([...boot.pcrs].map(([k, v]) => [k, toHex(v)])),
    };
  } finally {
    boot.close();
  }
}

