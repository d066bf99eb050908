// virtio-blk: the root disk, held in host memory. Requests come as chains of a 16-byte header
// (type, reserved, sector), the data, and a status byte. The backend touches only the buffers
// the chain names, through the VM's DMA window.

import { DEVICE_ID, SECTOR_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from './constants.js';
import { VirtioMmioDevice, type DeviceHost } from './mmio.js';
import { gather, VirtqueueError, type GuestDma, type Span } from './queue.js';

export class VirtioBlk extends VirtioMmioDevice {
  /** Bytes moved, for the throughput benchmark. */
  bytesRead = 0;
  bytesWritten = 0;
  requests = 0;

  constructor(name: string, base: number, host: DeviceHost, private readonly disk: Uint8Array, private readonly serial = 'pef-root') {
    super(name, base, DEVICE_ID.BLOCK, 1, host, 1n << VIRTIO_BLK_F_FLUSH);
  }

  get sectors(): number { return Math.floor(this.disk.length / SECTOR_SIZE); }

  protected readConfig(off: number, size: number): bigint {
    // capacity: u64 at 0, in 512-byte sectors.
    if (off === 0 && size === 8) return BigInt(this.sectors);
    if (off === 0 && size === 4) return BigInt(this.sectors >>> 0);
    if (off === 4 && size === 4) return BigInt(Math.floor(this.sectors / 0x100000000));
    return 0n;
  }

  protected process(q: number, dma: GuestDma): boolean {
    const vq = this.queues[q]!;
    let any = false;
    for (let c = vq.pop(dma); c; c = vq.pop(dma)) {
      const written = this.request(dma, c.readable, c.writable);
      vq.push(dma, c.head, written);
      any = true;
    }
    return any;
  }

  private request(dma: GuestDma, readable: Span[], writable: Span[]): number {
    const input = gather(dma, readable);
    if (input.length < 16) throw new VirtqueueError('virtio-blk request without its 16-byte header');
    const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const type = dv.getUint32(0, true);
    const sector = Number(dv.getBigUint64(8, true));
    const wtotal = writable.reduce((a, s) => a + s.len, 0);
    if (wtotal < 1) throw new VirtqueueError('virtio-blk request without a status byte');
    // The status byte is the last writable byte; data spans are everything before it.
    const dataSpans = trimLast(writable);
    const statusAddr = lastByte(writable);
    this.requests++;
    let status = VIRTIO_BLK_S_OK;
    let written = 0;
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        const len = wtotal - 1;
        const off = sector * SECTOR_SIZE;
        if (len % SECTOR_SIZE !== 0 || off + len > this.disk.length) { status = VIRTIO_BLK_S_IOERR; break; }
        let o = off;
        for (const s of dataSpans) { dma.write(s.addr, this.disk.subarray(o, o + s.len)); o += s.len; }
        written = len;
        this.bytesRead += len;
        break;
      }
      case VIRTIO_BLK_T_OUT: {
        const data = input.subarray(16);
        const off = sector * SECTOR_SIZE;
        if (data.length % SECTOR_SIZE !== 0 || off + data.length > this.disk.length) { status = VIRTIO_BLK_S_IOERR; break; }
        this.disk.set(data, off);
        this.bytesWritten += data.length;
        break;
      }
      case VIRTIO_BLK_T_FLUSH: break;
      case VIRTIO_BLK_T_GET_ID: {
        const id = new Uint8Array(20);
        id.set(new TextEncoder().encode(this.serial.slice(0, 20)));
        let o = 0;
        for (const s of dataSpans) { const n = Math.min(s.len, 20 - o); if (n <= 0) break; dma.write(s.addr, id.subarray(o, o + n)); o += n; }
        written = o;
        break;
      }
      default: status = VIRTIO_BLK_S_UNSUPP;
    }
    dma.write(statusAddr, Uint8Array.of(status));
    return written + 1;
  }
}

function trimLast(spans: Span[]): Span[] {
  const out = spans.map((s) => ({ ...s }));
  const last = out[out.length - 1]!;
  last.len -= 1;
  if (last.len === 0) out.pop();
  return out;
}

function lastByte(spans: Span[]): number {
  const last = spans[spans.length - 1]!;
  return last.addr + last.len - 1;
}
