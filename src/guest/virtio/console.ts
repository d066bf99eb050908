// virtio-console driver (port 0): the console user programs write to. Output is copied into
// a coherent buffer (shared memory in a secure guest) and sent on the transmit queue.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import type { DmaApi } from '../dma.js';
import * as mem from '../mem.js';
import type { MmioTransport } from './transport.js';
import { Virtqueue } from './virtqueue.js';

const CHUNK = 4096;

export class VirtioConsoleDriver {
  readonly #rx: Virtqueue;
  readonly #tx: Virtqueue;
  readonly #buf: number;

  constructor(readonly t: MmioTransport, dma: DmaApi) {
    this.#rx = new Virtqueue(0, 16, dma, 'virtio-console rx');
    this.#tx = new Virtqueue(1, 16, dma, 'virtio-console tx');
    this.#buf = dma.allocCoherent(CHUNK, 'virtio-console buffer');
  }

  *init(cpu: Cpu, secure: boolean): Generator<Op, void, void> {
    yield* this.t.init(cpu, { secure, want: 0n });
    yield* this.#rx.setup(cpu, this.t);
    yield* this.#tx.setup(cpu, this.t);
    yield* this.t.ready(cpu);
  }

  *write(cpu: Cpu, data: Uint8Array): Generator<Op, void, void> {
    for (let o = 0; o < data.length; o += CHUNK) {
      const part = data.subarray(o, o + CHUNK);
      yield* mem.write(cpu, this.#buf, part);
      yield* this.#tx.submit(cpu, this.t, [{ addr: this.#buf, len: part.length, write: false }]);
      yield* this.#tx.wait(cpu);
    }
  }
}
