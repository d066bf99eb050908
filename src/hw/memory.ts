// Physical memory: sparse 64 KiB frames allocated on first touch, split per memory controller
// into normal and secure memory. The split is fixed at boot (lock()); afterwards any attempt to
// change it throws. A real address is secure when its IBM bit 15 (2^48) is set, as on POWER9:
// the same physical frame is reachable only under its secure address, and only by an access
// made with MSR[S]=1. That rule lives here and in nothing above hw/.

import { LockedError, MachineCheck } from './faults.js';
import type { Trace } from './trace.js';

export const FRAME_SHIFT = 16;
export const FRAME_SIZE = 1 << FRAME_SHIFT;
/** IBM bit 15 of a 64-bit real address. */
export const SECURE_BIT = 2 ** 48;

export interface ControllerConfig {
  /** Bytes of memory behind this controller (a multiple of 64 KiB). */
  size: number;
  /** How many of them are secure (the top of the controller's range). */
  secure: number;
}

export interface ControllerInfo extends ControllerConfig {
  index: number;
  /** Physical offset of the controller's first byte. */
  base: number;
  /** Real address of its first normal and first secure byte. */
  normalBase: number;
  secureBase: number;
}

export type AccessKind = 'load' | 'store' | 'dma' | 'fetch' | 'walk';

export class PhysicalMemory {
  readonly size: number;
  readonly nFrames: number;
  /** Sparse: undefined until first touch. */
  private readonly frames: (Uint8Array | undefined)[];
  /** 1 where the physical frame is secure. */
  private readonly secureFrame: Uint8Array;
  private ctrls: ControllerInfo[] = [];
  private lockedAt = false;
  /** Bumped whenever a frame is dropped, so translation caches above can tell. */
  generation = 0;
  /** Translation caches to flush when a frame's storage goes away. */
  private readonly dropListeners: (() => void)[] = [];
  onDrop(fn: () => void): void { this.dropListeners.push(fn); }
  resident = 0;

  constructor(controllers: ControllerConfig[], private readonly trace?: Trace) {
    if (controllers.length === 0) throw new RangeError('memory needs at least one controller');
    let base = 0;
    for (const c of controllers) {
      if (c.size <= 0 || c.size % FRAME_SIZE !== 0) throw new RangeError(`controller size ${c.size} is not a positive multiple of 64 KiB`);
      base += c.size;
    }
    if (base >= SECURE_BIT) throw new RangeError('memory larger than 256 TiB');
    this.size = base;
    this.nFrames = base / FRAME_SIZE;
    this.frames = new Array(this.nFrames);
    this.secureFrame = new Uint8Array(this.nFrames);
    this.configure(controllers);
  }

  get locked(): boolean { return this.lockedAt; }
  get controllers(): readonly ControllerInfo[] { return this.ctrls; }
  get secureSize(): number { return this.ctrls.reduce((a, c) => a + c.secure, 0); }

  /** Set each controller's secure share. Only before lock(); after it, fails loudly. */
  configure(controllers: ControllerConfig[]): void {
    if (this.lockedAt) throw new LockedError('secure memory configuration is locked after boot');
    if (controllers.reduce((a, c) => a + c.size, 0) !== this.size) throw new RangeError('controller sizes do not add up to the memory size');
    this.secureFrame.fill(0);
    this.ctrls = [];
    let base = 0;
    controllers.forEach((c, index) => {
      if (c.secure < 0 || c.secure > c.size || c.secure % FRAME_SIZE !== 0) {
        throw new RangeError(`controller ${index}: secure share ${c.secure} must be a multiple of 64 KiB within ${c.size}`);
      }
      const normal = c.size - c.secure;
      for (let f = (base + normal) / FRAME_SIZE; f < (base + c.size) / FRAME_SIZE; f++) this.secureFrame[f] = 1;
      this.ctrls.push({ ...c, index, base, normalBase: base, secureBase: SECURE_BIT + base + normal });
      base += c.size;
    });
  }

  lock(): void { this.lockedAt = true; }

  /** Whether a real address names secure memory (bit 15 set). */
  static isSecureAddress(ra: number): boolean { return ra >= SECURE_BIT; }

  /** Frames of secure memory in address order, as real addresses: what the ultravisor may allocate. */
  secureRanges(): { start: number; size: number }[] {
    return this.ctrls.filter((c) => c.secure > 0).map((c) => ({ start: c.secureBase, size: c.secure }));
  }
  normalRanges(): { start: number; size: number }[] {
    return this.ctrls.filter((c) => c.size > c.secure).map((c) => ({ start: c.normalBase, size: c.size - c.secure }));
  }

  /**
   * The frame holding a real address, checked: a secure frame only under its secure address and
   * only when `secureMode`; a normal frame only under its normal address. Anything else is a
   * refused access: traced, and thrown as a machine check with no data.
   */
  frame(ra: number, secureMode: boolean, access: AccessKind): Uint8Array {
    const secureAddr = ra >= SECURE_BIT;
    const phys = secureAddr ? ra - SECURE_BIT : ra;
    const pf = Math.floor(phys / FRAME_SIZE);
    if (!(phys >= 0 && pf < this.nFrames) || !Number.isInteger(ra)) this.refuse(ra, 'no memory at this address', access, secureMode);
    const isSecure = this.secureFrame[pf] === 1;
    if (isSecure !== secureAddr) this.refuse(ra, isSecure ? 'secure frame addressed without the secure bit' : 'no secure memory at this address', access, secureMode);
    if (isSecure && !secureMode) this.refuse(ra, 'secure memory, MSR[S]=0', access, secureMode);
    let f = this.frames[pf];
    if (f === undefined) { f = new Uint8Array(FRAME_SIZE); this.frames[pf] = f; this.resident++; }
    return f;
  }

  /** Whether the frame at this real address has ever been touched (no allocation). */
  isResident(ra: number): boolean {
    const phys = ra >= SECURE_BIT ? ra - SECURE_BIT : ra;
    return this.frames[Math.floor(phys / FRAME_SIZE)] !== undefined;
  }

  private refuse(ra: number, why: string, access: AccessKind, secureMode: boolean): never {
    this.trace?.emit({ kind: 'refused', address: '0x' + ra.toString(16), access, why, secureMode });
    throw new MachineCheck(ra, why, access);
  }

  read(ra: number, len: number, secureMode: boolean, access: AccessKind = 'load'): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(ra, out, secureMode, access);
    return out;
  }

  readInto(ra: number, out: Uint8Array, secureMode: boolean, access: AccessKind = 'load'): void {
    forEachChunk(ra, out.length, (a, off, n, done) => out.set(this.frame(a, secureMode, access).subarray(off, off + n), done));
  }

  write(ra: number, data: Uint8Array, secureMode: boolean, access: AccessKind = 'store'): void {
    forEachChunk(ra, data.length, (a, off, n, done) => this.frame(a, secureMode, access).set(data.subarray(done, done + n), off));
  }

  fill(ra: number, len: number, value: number, secureMode: boolean): void {
    forEachChunk(ra, len, (a, off, n) => this.frame(a, secureMode, 'store').fill(value, off, off + n));
  }

  /** Give a whole frame's storage back (reads as zero afterwards). Checked like a store. */
  drop(ra: number, secureMode: boolean): void {
    this.frame(ra - (ra % FRAME_SIZE), secureMode, 'store');
    const phys = ra >= SECURE_BIT ? ra - SECURE_BIT : ra;
    const pf = Math.floor(phys / FRAME_SIZE);
    if (this.frames[pf] !== undefined) {
      this.frames[pf] = undefined; this.resident--; this.generation++;
      for (const fn of this.dropListeners) fn();
    }
  }

  /**
   * Every touched frame, for whole-memory scans by tests and the attack suite's canary search.
   * Yields the address under which the frame is reachable and whether it is secure.
   */
  *residentFrames(): Generator<{ ra: number; secure: boolean; bytes: Uint8Array }> {
    for (let pf = 0; pf < this.nFrames; pf++) {
      const f = this.frames[pf];
      if (f === undefined) continue;
      const secure = this.secureFrame[pf] === 1;
      yield { ra: (secure ? SECURE_BIT : 0) + pf * FRAME_SIZE, secure, bytes: f };
    }
  }
}

/**
 * Split [addr, addr+len) at 64 KiB frame boundaries: `visit(frameAddr, offsetInFrame, count, doneSoFar)`.
 * Every bulk access (memory, CPU) goes frame by frame so each frame is checked on its own.
 */
export function forEachChunk(addr: number, len: number, visit: (frameAddr: number, off: number, n: number, done: number) => void): void {
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const off = a % FRAME_SIZE;
    const n = Math.min(len - done, FRAME_SIZE - off);
    visit(a - off, off, n, done);
    done += n;
  }
}
