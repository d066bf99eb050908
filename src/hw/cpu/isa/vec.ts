// Element addressing in the VSR file (layout in state.ts): element k counted from the left as
// the ISA does. The scratch vector (St.t32 words 8..11, bytes 32..47) uses the same layout, so
// results that read their own sources can be built there and copied.

import type { St } from './state.js';
import { withJit, type Dec, type Exec } from './types.js';

/** v8 index of byte element k of VSR r. */
export const bx = (r: number, k: number) => 16 * r + (k ^ 7);
/** v16 index of halfword element k of VSR r. */
export const hx = (r: number, k: number) => 8 * r + (k ^ 3);
/** v32 index of word element k of VSR r. */
export const wx = (r: number, k: number) => 4 * r + (k ^ 1);
/** v32 index of the low word of doubleword k of VSR r (high word is +1). */
export const dx = (r: number, k: number) => 4 * r + 2 * k;

/** The scratch vector's "register number" relative to the scratch arrays (t8/t16/t32). */
export const SCR = 2; // t32[8..11] = 16 bytes at byte offset 32 = "VSR 2" of the scratch buffer

/** Copy the scratch vector into VSR t. */
export function fromScratch(s: St, t: number): void {
  const v = s.v32, x = s.t32, o = 4 * t;
  v[o] = x[8]!; v[o + 1] = x[9]!; v[o + 2] = x[10]!; v[o + 3] = x[11]!;
}
/** Copy VSR r into the scratch vector. */
export function toScratch(s: St, r: number): void {
  const v = s.v32, x = s.t32, o = 4 * r;
  x[8] = v[o]!; x[9] = v[o + 1]!; x[10] = v[o + 2]!; x[11] = v[o + 3]!;
}

/** Load 16 bytes as a little-endian quadword (lvx, lxvx, lxv in LE mode): byte element 15 = MEM(EA). */
export function loadQuadLE(s: St, t: number, ea: number): void {
  s.m.load64Into(ea, s.v32, 4 * t + 2);
  s.m.load64Into(ea + 8, s.v32, 4 * t);
}
export function storeQuadLE(s: St, t: number, ea: number): void {
  s.m.store64From(ea, s.v32, 4 * t + 2);
  s.m.store64From(ea + 8, s.v32, 4 * t);
}

/** CR6 for vector compares with Rc=1: 8 when every element is true, 2 when none is. */
export function cr6(s: St, allTrue: boolean, allFalse: boolean): void {
  s.cr = (s.cr & ~0x000000f0) | ((allTrue ? 8 : 0) | (allFalse ? 2 : 0)) << 4;
}

export const VSCR_SAT = 1;

/**
 * A permute built once per instruction: result element i (of `size` bytes, counted from the
 * left) is element SEL of the concatenation VRA || second (second = VRB, or XT for xxperm), or
 * zero when SEL is outside it. `sel` is an expression in i, d, x8 (the byte view) and whatever
 * `pre` declares.
 */
export function pick(size: 1 | 2 | 4, sel: string, opts: { pre?: string; second?: 'b' | 't' } = {}): Exec {
  const arr = size === 1 ? '8' : size === 2 ? '16' : '32', n = 16 / size, X = 8 / size - 1, base = 32 / size;
  const make = new Function(`return function pick(s, d, pc) {
    const x = s.v${arr}, x8 = s.v8, t = s.t${arr}, A = ${n} * d.a, B = ${n} * d.${opts.second ?? 'b'}, C = 16 * d.c;
    ${opts.pre ?? ''}
    for (let i = 0; i < ${n}; i++) {
      const k = ${sel};
      t[${base} + (i ^ ${X})] = k >= 0 && k < ${n} ? x[A + (k ^ ${X})] : k >= ${n} && k < ${2 * n} ? x[B + ((k - ${n}) ^ ${X})] : 0;
    }
    const w = s.t32, v = s.v32, o = 4 * d.t;
    v[o] = w[8]; v[o + 1] = w[9]; v[o + 2] = w[10]; v[o + 3] = w[11];
    return pc + 4;
  };`) as () => Exec;
  const exec = make();
  const dataDependent = opts.pre !== undefined || sel.includes('x8');
  const selAt = new Function('i', 'd', `return ${sel};`) as (i: number, d: Dec) => number;
  return withJit(exec, (d) => {
    const A = n * d.a, B = n * (opts.second === 't' ? d.t : d.b), T = n * d.t, x = `v${arr === '32' ? '' : arr}`;
    if (dataDependent) {
      // Selection from data (vperm, vslo, ...): the same loop with the registers as constants.
      // The loop of the semantics, with v8 for x8 and the decoded fields as constants.
      const konst = (e: string) => e.replace(/\bx8\b/g, 'v8').replace(/\bd\.([tabcijk])\b/g, (_m, f: 't') => String(d[f]));
      return `{ const A = ${A}, B = ${B}, C = ${16 * d.c}; ${konst(opts.pre ?? '')}
        for (let i = 0; i < ${n}; i++) { const k = ${konst(sel)};
          t${arr}[${base} + (i ^ ${X})] = k >= 0 && k < ${n} ? ${x}[A + (k ^ ${X})] : k >= ${n} && k < ${2 * n} ? ${x}[B + ((k - ${n}) ^ ${X})] : 0; }
        v[${4 * d.t}] = t32[8]; v[${4 * d.t + 1}] = t32[9]; v[${4 * d.t + 2}] = t32[10]; v[${4 * d.t + 3}] = t32[11]; }`;
    }
    // A fixed permutation: read every source element, then write the target (aliasing is safe).
    const reads: string[] = [], writes: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = selAt(i, d);
      const src = k >= 0 && k < n ? `${x}[${A + (k ^ X)}]` : k >= n && k < 2 * n ? `${x}[${B + ((k - n) ^ X)}]` : '0';
      reads.push(`e${i} = ${src}`);
      writes.push(`${x}[${T + (i ^ X)}] = e${i};`);
    }
    return `{ const ${reads.join(', ')}; ${writes.join(' ')} }`;
  });
}
