// Step-wise TPM conversations. A flow is a generator that yields each command's bytes and is
// resumed with the response's bytes, so the same client code runs over a synchronous engine,
// an asynchronous socket, or a relay through the hypervisor (H_SVM_TPM_COMM) where each step
// is a hypercall.

import type { AsyncTpmTransport, TpmTransport } from '../transport/transport.js';

export type TpmFlow<T> = Generator<Uint8Array, T, Uint8Array>;

export function runSync<T>(flow: TpmFlow<T>, t: TpmTransport): T {
  let step = flow.next();
  while (!step.done) step = flow.next(t.transmit(step.value));
  return step.value;
}

export async function runAsync<T>(flow: TpmFlow<T>, t: AsyncTpmTransport | TpmTransport): Promise<T> {
  let step = flow.next();
  while (!step.done) {
    const rsp = 'transmitAsync' in t ? await t.transmitAsync(step.value) : (t as TpmTransport).transmit(step.value);
    step = flow.next(rsp);
  }
  return step.value;
}
