// What the parser-fuzz worker and its watchdog share.

/** Bytes of a case's input kept in shared memory (larger inputs are reported by their start). */
export const INPUT_MAX = 1 << 20;

export interface Job { target: string; seed: number; runs: number; sab: SharedArrayBuffer; slowMs: number }

export interface Counterexample {
  kind: 'untyped' | 'slow' | 'hung';
  run: number;
  seed: number;
  error: string;
  /** The input's first 4 KiB, base64. */
  input: string;
  length: number;
}

export interface FuzzOutcome { outcomes: Record<string, number>; bad: Counterexample[]; runs: number }

/** Each case gets its own stream, so run `i` of a seed can be made again on its own. */
export function caseSeed(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0 || 1;
}
