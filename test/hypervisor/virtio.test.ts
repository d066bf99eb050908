// The virtio devices' side of the split ring and the MMIO transport, against guest memory
// modelled as a byte array (a gpa is an offset; anything else is a refused DMA).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeviceQueue, DmaRefused, VirtqueueError, type GuestDma } from '../../src/hypervisor/virtio/queue.js';
import { VirtioBlk } from '../../src/hypervisor/virtio/blk.js';
import { VirtioConsole } from '../../src/hypervisor/virtio/console.js';
import { STATUS, VIRTIO_MMIO } from '../../src/hypervisor/virtio/constants.js';

class Mem implements GuestDma {
  constructor(readonly b = new Uint8Array(1 << 16)) {}
  read(gpa: number, len: number): Uint8Array {
    if (gpa < 0 || gpa + len > this.b.length) throw new DmaRefused(gpa, 'outside guest memory');
    return this.b.slice(gpa, gpa + len);
  }
  write(gpa: number, d: Uint8Array): void {
    if (gpa < 0 || gpa + d.length > this.b.length) throw new DmaRefused(gpa, 'outside guest memory');
    this.b.set(d, gpa);
  }
  dv() { return new DataView(this.b.buffer); }
}

const DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000, NUM = 8;

/** Lay a chain of descriptors from `at` and make it available. */
function post(m: Mem, avail: number, head: number, bufs: { addr: number; len: number; write?: boolean; next?: number; flags?: number }[]) {
  const dv = m.dv();
  bufs.forEach((b, i) => {
    const d = DESC + 16 * (head + i);
    dv.setBigUint64(d, BigInt(b.addr), true);
    dv.setUint32(d + 8, b.len, true);
    const more = i + 1 < bufs.length;
    dv.setUint16(d + 12, b.flags ?? ((b.write ? 2 : 0) | (more ? 1 : 0)), true);
    dv.setUint16(d + 14, b.next ?? (more ? head + i + 1 : 0), true);
  });
  dv.setUint16(AVAIL + 4 + 2 * (avail % NUM), head, true);
  dv.setUint16(AVAIL + 2, avail + 1, true);
}

function queue(): DeviceQueue {
  const q = new DeviceQueue();
  Object.assign(q, { num: NUM, ready: true, desc: DESC, avail: AVAIL, used: USED });
  return q;
}

test('chains come off the available ring in order, and go back on the used ring with their length', () => {
  const m = new Mem();
  const q = queue();
  post(m, 0, 0, [{ addr: 0x4000, len: 16 }, { addr: 0x5000, len: 512, write: true }, { addr: 0x6000, len: 1, write: true }]);
  post(m, 1, 3, [{ addr: 0x7000, len: 8 }]);
  const a = q.pop(m)!, b = q.pop(m)!;
  assert.deepEqual(a, { head: 0, readable: [{ addr: 0x4000, len: 16 }], writable: [{ addr: 0x5000, len: 512 }, { addr: 0x6000, len: 1 }] });
  assert.equal(b.head, 3);
  assert.equal(q.pop(m), undefined, 'nothing more available');
  q.push(m, 0, 513);
  assert.equal(m.dv().getUint16(USED + 2, true), 1);
  assert.deepEqual([m.dv().getUint32(USED + 4, true), m.dv().getUint32(USED + 8, true)], [0, 513]);
});

test('hostile rings are refused with a typed error, never followed forever', () => {
  const cases: [string, (m: Mem) => void][] = [
    ['a loop', (m) => post(m, 0, 0, [{ addr: 0x4000, len: 4, flags: 1, next: 0 }])],
    ['an index past the queue', (m) => post(m, 0, 0, [{ addr: 0x4000, len: 4, flags: 1, next: 200 }])],
    ['indirect descriptors, never negotiated', (m) => post(m, 0, 0, [{ addr: 0x4000, len: 16, flags: 4 }])],
    ['a readable descriptor after a writable one', (m) => post(m, 0, 0, [{ addr: 0x4000, len: 4, write: true }, { addr: 0x5000, len: 4 }])],
    ['an available index far ahead', (m) => m.dv().setUint16(AVAIL + 2, 100, true)],
  ];
  for (const [what, make] of cases) {
    const m = new Mem();
    make(m);
    assert.throws(() => queue().pop(m), VirtqueueError, what);
  }
  const m = new Mem();
  const q = queue();
  q.desc = 0x10000;
  post(m, 0, 0, []);
  assert.throws(() => q.pop(m), DmaRefused, 'a ring outside guest memory');
});

const host = () => ({ kicks: 0, events: [] as unknown[], kick() { this.kicks++; }, trace(e: unknown) { this.events.push(e); } });

function negotiate(d: VirtioBlk | VirtioConsole, features: bigint): number {
  d.write(VIRTIO_MMIO.STATUS, 4, BigInt(STATUS.ACKNOWLEDGE | STATUS.DRIVER));
  d.write(VIRTIO_MMIO.DRIVER_FEATURES_SEL, 4, 0n);
  d.write(VIRTIO_MMIO.DRIVER_FEATURES, 4, features & 0xffffffffn);
  d.write(VIRTIO_MMIO.DRIVER_FEATURES_SEL, 4, 1n);
  d.write(VIRTIO_MMIO.DRIVER_FEATURES, 4, features >> 32n);
  d.write(VIRTIO_MMIO.STATUS, 4, BigInt(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK));
  return Number(d.read(VIRTIO_MMIO.STATUS, 4));
}

test('feature negotiation: VERSION_1 and ACCESS_PLATFORM offered; anything not offered is refused', () => {
  const d = new VirtioBlk('vda', 0, host(), new Uint8Array(4096));
  d.write(VIRTIO_MMIO.DEVICE_FEATURES_SEL, 4, 1n);
  assert.equal(d.read(VIRTIO_MMIO.DEVICE_FEATURES, 4) & 3n, 3n, 'bits 32 and 33');
  assert.ok(negotiate(d, 3n << 32n) & STATUS.FEATURES_OK);
  const e = new VirtioBlk('vda', 0, host(), new Uint8Array(4096));
  assert.equal(negotiate(e, (3n << 32n) | (1n << 28n)) & STATUS.FEATURES_OK, 0, 'indirect descriptors are not offered');
  const f = new VirtioBlk('vda', 0, host(), new Uint8Array(4096));
  assert.equal(negotiate(f, 1n << 33n) & STATUS.FEATURES_OK, 0, 'a 1.x device needs VERSION_1');
});

function readyBlk(disk: Uint8Array) {
  const h = host();
  const d = new VirtioBlk('vda', 0, h, disk);
  negotiate(d, 3n << 32n);
  d.write(VIRTIO_MMIO.QUEUE_SEL, 4, 0n);
  d.write(VIRTIO_MMIO.QUEUE_NUM, 4, BigInt(NUM));
  for (const [reg, v] of [[VIRTIO_MMIO.QUEUE_DESC_LOW, DESC], [VIRTIO_MMIO.QUEUE_DRIVER_LOW, AVAIL], [VIRTIO_MMIO.QUEUE_DEVICE_LOW, USED]] as const) d.write(reg, 4, BigInt(v));
  d.write(VIRTIO_MMIO.QUEUE_READY, 4, 1n);
  d.write(VIRTIO_MMIO.STATUS, 4, BigInt(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK));
  return { d, h };
}

function header(m: Mem, at: number, type: number, sector: number) {
  m.dv().setUint32(at, type, true);
  m.dv().setBigUint64(at + 8, BigInt(sector), true);
}

test('virtio-blk reads and writes sectors, reports I/O errors and unsupported requests in the status byte', () => {
  const disk = new Uint8Array(8 * 512).map((_, i) => (i * 7) & 0xff);
  const { d, h } = readyBlk(disk);
  const m = new Mem();
  header(m, 0x4000, 0, 2);
  post(m, 0, 0, [{ addr: 0x4000, len: 16 }, { addr: 0x5000, len: 1024, write: true }, { addr: 0x6000, len: 1, write: true }]);
  d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 0n);
  assert.equal(h.kicks, 1, 'the notify only queues the work');
  assert.equal(m.b[0x6000], 0, 'nothing happened yet');
  m.b[0x6000] = 0xff;
  assert.equal(d.service(m), true);
  assert.deepEqual(m.b.subarray(0x5000, 0x5400), disk.subarray(1024, 2048));
  assert.equal(m.b[0x6000], 0, 'VIRTIO_BLK_S_OK');
  header(m, 0x4100, 0, 7);
  post(m, 1, 3, [{ addr: 0x4100, len: 16 }, { addr: 0x5000, len: 1024, write: true }, { addr: 0x6001, len: 1, write: true }]);
  header(m, 0x4200, 99, 0);
  post(m, 2, 6, [{ addr: 0x4200, len: 16 }, { addr: 0x6002, len: 1, write: true }]);
  d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 0n);
  d.service(m);
  assert.deepEqual([m.b[0x6001], m.b[0x6002]], [1, 2], 'IOERR past the end, UNSUPP for an unknown type');
  m.b.fill(0x5a, 0x7000, 0x7200);
  header(m, 0x4300, 1, 1);
  post(m, 3, 0, [{ addr: 0x4300, len: 16 }, { addr: 0x7000, len: 512 }, { addr: 0x6003, len: 1, write: true }]);
  d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 0n);
  d.service(m);
  assert.equal(m.b[0x6003], 0);
  assert.ok(disk.subarray(512, 1024).every((b) => b === 0x5a), 'the write reached the disk');
});

test('a device pointed at memory it may not reach stops and asks for a reset', () => {
  const { d, h } = readyBlk(new Uint8Array(4096));
  const m = new Mem();
  header(m, 0x4000, 0, 0);
  post(m, 0, 0, [{ addr: 0x4000, len: 16 }, { addr: 0xfff00, len: 512, write: true }, { addr: 0x6000, len: 1, write: true }]);
  d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 0n);
  d.service(m);
  assert.ok(Number(d.read(VIRTIO_MMIO.STATUS, 4)) & STATUS.DEVICE_NEEDS_RESET);
  assert.match(d.broken!, /refused/);
  assert.equal(h.events.length, 1);
  d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 0n);
  assert.equal(h.kicks, 1, 'a broken device takes no more work');
});

test('property: any ring contents end in completed requests or a typed stop, never a hang or a stray exception', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0x100, maxLength: 0x100 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.integer({ min: 0, max: 0xffff }), (descs, avail, idx) => {
    const { d } = readyBlk(new Uint8Array(4096));
    const m = new Mem();
    m.b.set(descs, DESC);
    m.b.set(avail, AVAIL);
    m.dv().setUint16(AVAIL + 2, idx, true);
    d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 0n);
    d.service(m);
    return d.broken === undefined || /refused|queue|descriptor|chain|header|status|negotiated|writable|larger/.test(d.broken);
  }), { numRuns: 500 });
});

test('virtio-console sends what the guest transmits to the console stream', () => {
  const out: string[] = [];
  const h = host();
  const d = new VirtioConsole('hvc', 0, h, (b) => out.push(Buffer.from(b).toString()));
  negotiate(d, 3n << 32n);
  d.write(VIRTIO_MMIO.QUEUE_SEL, 4, 1n);
  d.write(VIRTIO_MMIO.QUEUE_NUM, 4, BigInt(NUM));
  for (const [reg, v] of [[VIRTIO_MMIO.QUEUE_DESC_LOW, DESC], [VIRTIO_MMIO.QUEUE_DRIVER_LOW, AVAIL], [VIRTIO_MMIO.QUEUE_DEVICE_LOW, USED]] as const) d.write(reg, 4, BigInt(v));
  d.write(VIRTIO_MMIO.QUEUE_READY, 4, 1n);
  d.write(VIRTIO_MMIO.STATUS, 4, BigInt(15));
  const m = new Mem();
  m.b.set(new TextEncoder().encode('hello\n'), 0x4000);
  post(m, 0, 0, [{ addr: 0x4000, len: 6 }]);
  d.write(VIRTIO_MMIO.QUEUE_NOTIFY, 4, 1n);
  d.service(m);
  assert.deepEqual(out, ['hello\n']);
});
