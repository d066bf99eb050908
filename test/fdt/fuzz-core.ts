// The DTB mutation fuzzer shared by the unit fuzz test and the long soak. Mutations aim at
// what parsers get wrong: header fields set to boundary values, tokens rewritten, lengths
// and name offsets bent, truncation, extension, spliced and repeated regions.
import assert from 'node:assert/strict';
import { FdtError, FdtView, parseFdt, writeFdt } from '../../src/fdt/index.js';
import { seedCorpus } from './helpers.js';

/** xorshift32: deterministic, so a failure can be replayed from its seed and run number. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

const INTERESTING = [0, 1, 2, 3, 4, 9, 0x28, 0x38, 0x7f, 0x80, 0xff, 0xfff, 0x1000, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 0xd00dfeed, 16, 17];

export function mutate(seed: Uint8Array, next: () => number): Uint8Array {
  let b = Buffer.from(seed);
  const count = 1 + (next() % 4);
  for (let m = 0; m < count; m++) {
    const pos = b.length ? next() % b.length : 0;
    const aligned = pos & ~3;
    switch (next() % 11) {
      case 0: if (b.length) b[pos] ^= 1 << (next() % 8); break;
      case 1: if (b.length) b[pos] = next() & 0xff; break;
      case 2: if (aligned + 4 <= b.length) b.writeUInt32BE(INTERESTING[next() % INTERESTING.length]!, aligned); break;
      case 3: { const f = (next() % 10) * 4; if (f + 4 <= b.length) b.writeUInt32BE(INTERESTING[next() % INTERESTING.length]!, f); break; }
      case 4: { const f = (next() % 10) * 4; if (f + 4 <= b.length) b.writeUInt32BE((b.readUInt32BE(f) + (next() % 9) - 4) >>> 0, f); break; }
      case 5: b = b.subarray(0, next() % (b.length + 1)); break;
      case 6: b = Buffer.concat([b, Buffer.alloc(1 + (next() % 64), next() & 0xff)]); break;
      case 7: { // repeat a region in place
        const len = 1 + (next() % 32); const from = next() % Math.max(1, b.length);
        b = Buffer.concat([b.subarray(0, pos), b.subarray(from, from + len), b.subarray(pos)]); break;
      }
      case 8: { const len = 1 + (next() % 16); b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + len)]); break; }
      case 9: if (aligned + 4 <= b.length) b.writeUInt32BE([1, 2, 3, 4, 9][next() % 5]!, aligned); break;
      default: { const t = next() % 6; if (aligned + 8 <= b.length) { b.writeUInt32BE(3, aligned); b.writeUInt32BE(t < 3 ? t * 4 : 0xffff_fff0 + t, aligned + 4); } }
    }
  }
  return b;
}

export interface FuzzResult { runs: number; parsed: number; errors: number; codes: Map<string, number> }

/** Exercise the lazy view the way the ESM reader does, on an input that opened. */
function walk(v: FdtView): void {
  let budget = 10_000;
  const visit = (node: number, depth: number) => {
    for (const p of v.properties(node)) { if (budget-- <= 0) return; void p.value.length; }
    for (const c of v.children(node)) { if (budget-- <= 0 || depth > 80) return; visit(c, depth + 1); }
  };
  visit(v.root, 0);
  v.pathOffset('/lockboxes/origin-lockbox/pubkey-fingerprint');
}

export function fuzzFdt(runs: number, seed: number): FuzzResult {
  const corpus = seedCorpus();
  const next = rng(seed);
  const r: FuzzResult = { runs: 0, parsed: 0, errors: 0, codes: new Map() };
  for (let i = 0; i < runs; i++) {
    const input = mutate(corpus[next() % corpus.length]!, next);
    r.runs++;
    try {
      const t = parseFdt(input);
      r.parsed++;
      const again = parseFdt(writeFdt(t));
      assert.equal(again.root.children.length, t.root.children.length, `run ${i}: rewrite changed the tree`);
    } catch (e) {
      if (!(e instanceof FdtError)) throw new Error(`run ${i} (seed ${seed}): ${String(e)}`, { cause: e });
      if (!(e.offset >= 0 && e.offset <= input.length)) throw new Error(`run ${i}: offset ${e.offset} outside the ${input.length}-byte input`, { cause: e });
      r.errors++;
      r.codes.set(e.code, (r.codes.get(e.code) ?? 0) + 1);
    }
    try { walk(new FdtView(input)); } catch (e) {
      if (!(e instanceof FdtError)) throw new Error(`run ${i} (seed ${seed}) view: ${String(e)}`, { cause: e });
    }
  }
  return r;
}
