// The driver side of virtio-mmio (virtio 1.x): registers reached with H_LOGICAL_CI_LOAD/STORE,
// the status handshake and feature negotiation. A secure guest insists on
// VIRTIO_F_ACCESS_PLATFORM: without it the device would expect to reach guest memory directly,
// which it cannot in an SVM.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { HC } from '../../abi/hcalls.js';
import { hcall } from '../arch.js';

export const REG = {
  MAGIC_VALUE: 0x000, VERSION: 0x004, DEVICE_ID: 0x008, DEVICE_FEATURES: 0x010, DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020, DRIVER_FEATURES_SEL: 0x024, QUEUE_SEL: 0x030, QUEUE_NUM_MAX: 0x034, QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044, QUEUE_NOTIFY: 0x050, INTERRUPT_STATUS: 0x060, INTERRUPT_ACK: 0x064, STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080, QUEUE_DESC_HIGH: 0x084, QUEUE_DRIVER_LOW: 0x090, QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0, QUEUE_DEVICE_HIGH: 0x0a4, CONFIG: 0x100,
} as const;
export const STATUS = { ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, NEEDS_RESET: 64, FAILED: 128 } as const;
export const F_VERSION_1 = 32n;
export const F_ACCESS_PLATFORM = 33n;
export const VIRTIO_MAGIC = 0x74726976;

export class VirtioProbeError extends Error {
  constructor(message: string) { super(message); this.name = 'VirtioProbeError'; }
}

type G<T> = Generator<Op, T, void>;

export class MmioTransport {
  constructor(readonly base: number) {}

  *read(cpu: Cpu, off: number, size = 4): G<bigint> {
    const r = yield* hcall(cpu, HC.H_LOGICAL_CI_LOAD, size, this.base + off);
    if (r.rc !== 0) throw new VirtioProbeError(`H_LOGICAL_CI_LOAD 0x${(this.base + off).toString(16)} failed (${r.rc})`);
    return r.out[0]!;
  }

  *write(cpu: Cpu, off: number, v: number | bigint, size = 4): G<void> {
    const r = yield* hcall(cpu, HC.H_LOGICAL_CI_STORE, size, this.base + off, BigInt(v));
    if (r.rc !== 0) throw new VirtioProbeError(`H_LOGICAL_CI_STORE 0x${(this.base + off).toString(16)} failed (${r.rc})`);
  }

  *read32(cpu: Cpu, off: number): G<number> { return Number(yield* this.read(cpu, off)); }

  /** Reset, acknowledge, negotiate; returns the device id and the accepted features. */
  *init(cpu: Cpu, opts: { secure: boolean; want: bigint }): G<{ deviceId: number; features: bigint }> {
    if ((yield* this.read32(cpu, REG.MAGIC_VALUE)) !== VIRTIO_MAGIC) throw new VirtioProbeError('no virtio magic');
    const version = yield* this.read32(cpu, REG.VERSION);
    if (version !== 2) throw new VirtioProbeError(`virtio-mmio version ${version} (need 2, virtio 1.x)`);
    const deviceId = yield* this.read32(cpu, REG.DEVICE_ID);
    yield* this.write(cpu, REG.STATUS, 0);
    yield* this.write(cpu, REG.STATUS, STATUS.ACKNOWLEDGE);
    yield* this.write(cpu, REG.STATUS, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    yield* this.write(cpu, REG.DEVICE_FEATURES_SEL, 0);
    const lo = yield* this.read32(cpu, REG.DEVICE_FEATURES);
    yield* this.write(cpu, REG.DEVICE_FEATURES_SEL, 1);
    const hi = yield* this.read32(cpu, REG.DEVICE_FEATURES);
    const offered = (BigInt(hi) << 32n) | BigInt(lo);
    const need = 1n << F_VERSION_1;
    if (!(offered & need)) { yield* this.fail(cpu); throw new VirtioProbeError('device is not virtio 1.x (no VERSION_1)'); }
    const platform = (offered >> F_ACCESS_PLATFORM) & 1n;
    if (opts.secure && !platform) {
      yield* this.fail(cpu);
      throw new VirtioProbeError('device lacks VIRTIO_F_ACCESS_PLATFORM: refused in a secure guest');
    }
    const features = (offered & opts.want) | need | (platform << F_ACCESS_PLATFORM);
    yield* this.write(cpu, REG.DRIVER_FEATURES_SEL, 0);
    yield* this.write(cpu, REG.DRIVER_FEATURES, Number(features & 0xffffffffn));
    yield* this.write(cpu, REG.DRIVER_FEATURES_SEL, 1);
    yield* this.write(cpu, REG.DRIVER_FEATURES, Number(features >> 32n));
    yield* this.write(cpu, REG.STATUS, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
    if (!((yield* this.read32(cpu, REG.STATUS)) & STATUS.FEATURES_OK)) { yield* this.fail(cpu); throw new VirtioProbeError('device refused the features'); }
    return { deviceId, features };
  }

  *setupQueue(cpu: Cpu, index: number, num: number, desc: number, avail: number, used: number): G<void> {
    yield* this.write(cpu, REG.QUEUE_SEL, index);
    const max = yield* this.read32(cpu, REG.QUEUE_NUM_MAX);
    if (max < num) throw new VirtioProbeError(`queue ${index} holds ${max} entries, need ${num}`);
    yield* this.write(cpu, REG.QUEUE_NUM, num);
    for (const [lo, a] of [[REG.QUEUE_DESC_LOW, desc], [REG.QUEUE_DRIVER_LOW, avail], [REG.QUEUE_DEVICE_LOW, used]] as const) {
      yield* this.write(cpu, lo, a % 0x100000000);
      yield* this.write(cpu, lo + 4, Math.floor(a / 0x100000000));
    }
    yield* this.write(cpu, REG.QUEUE_READY, 1);
  }

  *ready(cpu: Cpu): G<void> {
    yield* this.write(cpu, REG.STATUS, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK);
  }

  *notify(cpu: Cpu, q: number): G<void> { yield* this.write(cpu, REG.QUEUE_NOTIFY, q); }

  *fail(cpu: Cpu): G<void> { yield* this.write(cpu, REG.STATUS, STATUS.FAILED); }
}
