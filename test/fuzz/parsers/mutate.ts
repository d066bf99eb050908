// Inputs for the parser fuzz: valid samples mutated (generic byte mutations, plus mutations
// that know where a format keeps its numbers), or random bytes, sometimes behind the format's
// magic so the parser gets past its first check. Everything derives from one xorshift stream,
// so a case is reproducible from its seed and run number.

import { mutate as mutateBytes, rng } from '../../fdt/fuzz-core.js';

export { rng };
export type Next = () => number;

/** 64-bit values parsers get wrong: zero, small, sign bits, the 32-bit edge, all ones, a gigabyte. */
export const INTERESTING64 = [0n, 1n, 2n, 7n, 8n, 0x40n, 0xffn, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 30n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

export function pick<T>(next: Next, xs: readonly T[]): T { return xs[next() % xs.length]!; }

/** A random 64-bit value biased towards the interesting ones and towards `near` (a size, an offset). */
export function value64(next: Next, near = 0): bigint {
  switch (next() % 4) {
    case 0: return pick(next, INTERESTING64);
    case 1: return BigInt(Math.max(0, near + (next() % 17) - 8));
    case 2: return BigInt(next()) << 32n | BigInt(next());
    default: return BigInt(next() % 0x20000);
  }
}

/** Random bytes, half the time behind `magic`. */
export function randomBytes(next: Next, magic?: Uint8Array, max = 2048): Uint8Array {
  const n = next() % max;
  const b = new Uint8Array(n + (magic?.length ?? 0));
  for (let i = 0; i < b.length; i++) b[i] = next() & 0xff;
  if (magic && next() % 2 === 0) b.set(magic);
  return b;
}

/** One to three rounds of the generic mutator (bit flips, boundary words, truncation, splices). */
export function mutateGeneric(seed: Uint8Array, next: Next): Uint8Array {
  let b: Uint8Array = seed;
  const rounds = 1 + (next() % 3);
  for (let r = 0; r < rounds; r++) b = mutateBytes(b, next);
  return new Uint8Array(b);
}

/** Write `v` as an unsigned integer of `size` bytes at `at` (within bounds). */
export function putUint(b: Uint8Array, at: number, size: number, v: bigint, le: boolean): void {
  if (at < 0 || at + size > b.length) return;
  for (let i = 0; i < size; i++) {
    const byte = Number((v >> BigInt(8 * i)) & 0xffn);
    b[le ? at + i : at + size - 1 - i] = byte;
  }
}

/** Text: drop, duplicate or swap lines, or replace a token with one from `tokens`. */
export function mutateLines(text: string, next: Next, tokens: readonly string[]): string {
  const lines = text.split('\n');
  const n = 1 + (next() % 3);
  for (let k = 0; k < n; k++) {
    const i = next() % Math.max(1, lines.length);
    switch (next() % 5) {
      case 0: lines.splice(i, 1); break;
      case 1: lines.splice(i, 0, lines[i] ?? ''); break;
      case 2: { const j = next() % Math.max(1, lines.length); [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? '']; break; }
      case 3: {
        const words = (lines[i] ?? '').split(/(\s+|:)/);
        words[next() % Math.max(1, words.length)] = pick(next, tokens);
        lines[i] = words.join('');
        break;
      }
      default: lines.splice(i, 0, pick(next, tokens));
    }
  }
  return lines.join('\n');
}
