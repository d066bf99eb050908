// virtio-console, port 0 only: the transmit queue carries the guest's console output to the
// VM's console stream; the receive queue gets nothing unless input is queued.

import { DEVICE_ID } from './constants.js';
import { VirtioMmioDevice, type DeviceHost } from './mmio.js';
import { gather, scatter, type GuestDma } from './queue.js';

const RECEIVEQ = 0;
const TRANSMITQ = 1;

export class VirtioConsole extends VirtioMmioDevice {
  readonly input: number[] = [];

  constructor(name: string, base: number, host: DeviceHost, private readonly output: (bytes: Uint8Array) => void) {
    super(name, base, DEVICE_ID.CONSOLE, 2, host);
  }

  protected readConfig(): bigint { return 0n; }

  protected process(q: number, dma: GuestDma): boolean {
    const vq = this.queues[q]!;
    let any = false;
    if (q === TRANSMITQ) {
      for (let c = vq.pop(dma); c; c = vq.pop(dma)) {
        this.output(gather(dma, c.readable, 1 << 20));
        vq.push(dma, c.head, 0);
        any = true;
      }
    } else if (q === RECEIVEQ) {
      while (this.input.length > 0) {
        const c = vq.pop(dma);
        if (!c) break;
        const n = scatter(dma, c.writable, Uint8Array.from(this.input));
        this.input.splice(0, n);
        vq.push(dma, c.head, n);
        any = true;
      }
    }
    return any;
  }
}
