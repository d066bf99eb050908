// Guest memory as kernel code touches it: every access may fault (a first touch the
// hypervisor has not backed yet, a secure page the ultravisor paged out) and is then retried
// when control comes back, exactly as the faulting instruction would be. Bulk copies go frame
// by frame so that each fault retries only its own frame.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { retrying } from '../hw/cpu/retry.js';
import { PAGE_SIZE } from '../abi/pages.js';

type G<T> = Generator<Op, T, void>;

export function* read(cpu: Cpu, ea: number, len: number): G<Uint8Array> {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = ea + done;
    const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
    out.set(yield* retrying(() => cpu.read(a, n)), done);
    done += n;
  }
  return out;
}

export function* write(cpu: Cpu, ea: number, data: Uint8Array): G<void> {
  let done = 0;
  while (done < data.length) {
    const a = ea + done;
    const n = Math.min(data.length - done, PAGE_SIZE - (a % PAGE_SIZE));
    const part = data.subarray(done, done + n);
    yield* retrying(() => cpu.write(a, part));
    done += n;
  }
}

export function* zero(cpu: Cpu, ea: number, len: number): G<void> {
  let done = 0;
  while (done < len) {
    const a = ea + done;
    const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
    yield* retrying(() => cpu.zero(a, n));
    done += n;
  }
}

/** Bytes copied per step: a fault retries only this much. */
const COPY_SPAN = 16 * 1024;

/** memcpy within guest memory. */
export function* copy(cpu: Cpu, dst: number, src: number, len: number): G<void> {
  // One buffer per copy, never shared: a fault yields, and other flows run before the retry.
  const scratch = new Uint8Array(Math.min(len, COPY_SPAN));
  let done = 0;
  while (done < len) {
    const n = Math.min(len - done, COPY_SPAN);
    const s = src + done, d = dst + done;
    // Read the whole span before writing any of it: a fault on either side retries only its own half.
    const chunk = scratch.subarray(0, n);
    yield* retrying(() => cpu.readInto(s, chunk));
    yield* retrying(() => cpu.write(d, chunk));
    done += n;
  }
}

export const load16 = (cpu: Cpu, ea: number) => retrying(() => cpu.load16(ea));
export const load32 = (cpu: Cpu, ea: number) => retrying(() => cpu.load32(ea));
export const store16 = (cpu: Cpu, ea: number, v: number) => retrying(() => cpu.store16(ea, v));
export const store32 = (cpu: Cpu, ea: number, v: number) => retrying(() => cpu.store32(ea, v));
export const store64 = (cpu: Cpu, ea: number, v: bigint) => retrying(() => cpu.store64(ea, v));

/** A NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond). */
export function* readCString(cpu: Cpu, ea: number, max: number): G<string | undefined> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < max) {
    const n = Math.min(256, max - total, PAGE_SIZE - ((ea + total) % PAGE_SIZE));
    const b = yield* read(cpu, ea + total, n);
    const z = b.indexOf(0);
    if (z >= 0) { parts.push(b.subarray(0, z)); return Buffer.concat(parts).toString('utf8'); }
    parts.push(b);
    total += n;
  }
  return undefined;
}
