// Mutation fuzzing of the image parsers, shared by the quick tests and the long soak
// (test/long/image-fuzz.test.ts): the ustar reader, the LUKS2 header reader and unlock, and the
// init script parser must return or throw their own typed error, whatever the bytes. Header
// checksums are fixed up after mutating, so the parsers behind them are what gets exercised.
import { createHash, randomBytes } from 'node:crypto';
import { readTar, writeTar, TarError } from '../../src/image/tar.js';
import { createLuks2, Luks2Error, unlockLuks2 } from '../../src/image/luks2.js';
import { readLuks2Header } from '../../src/image/luks2-header.js';
import { parseInitScript, InitScriptError } from '../../src/image/init-script.js';
import { SAMPLE_INIT, sampleTree } from '../../src/image/sample.js';

/** xorshift32: reproducible from a seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

function mutate(b: Uint8Array, r: () => number, from: number, to: number): void {
  const n = 1 + (r() % 6);
  for (let i = 0; i < n; i++) {
    const at = from + (r() % (to - from));
    const kind = r() % 4;
    b[at] = kind === 0 ? b[at]! ^ (1 << (r() % 8)) : kind === 1 ? 0 : kind === 2 ? 0xff : r() & 0xff;
  }
}

export function fuzzTar(runs: number, seed: number): Record<string, number> {
  const good = writeTar(sampleTree());
  const headers = readTar(good).map((e) => e.headerOffset);
  const r = rng(seed);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    const b = good.slice(0, r() % 8 === 0 ? r() % good.length : good.length);
    const at = headers[r() % headers.length]!;
    if (at + 512 <= b.length) {
      mutate(b, r, at, at + 512);
      b.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (let j = 0; j < 512; j++) sum += b[at + j]!;
      b.set(new TextEncoder().encode(sum.toString(8).padStart(6, '0') + '\0 '), at + 148);
    }
    let k = 'ok';
    try { readTar(b); } catch (e) { if (!(e instanceof TarError)) throw new Error(`seed ${seed} run ${i}: ${String(e)}`, { cause: e }); k = e.code; }
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  return outcomes;
}

export function fuzzLuks2(runs: number, seed: number, unlockEvery = 50): Record<string, number> {
  const pass = new Uint8Array(randomBytes(32));
  const c = createLuks2({ passphrase: pass, dataOffset: 1 << 20 });
  const disk = new Uint8Array(c.dataOffset + 4096);
  disk.set(c.headerBytes);
  disk.set(c.keyslotBytes, c.keyslotOffset);
  const jsonLen = c.header.json.length;
  const r = rng(seed);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    const d = disk.slice(0, 0x8000 + 4096);
    const reseal = (at: number) => {
      d.fill(0, at + 448, at + 512);
      d.set(createHash('sha256').update(d.subarray(at, at + 0x4000)).digest(), at + 448);
    };
    // Mostly the JSON text (where the parser's work is), sometimes the binary header. Both
    // copies carry the same change, as a consistent hostile header would; else the reader
    // would just use the intact copy.
    if (r() % 4 === 0) {
      mutate(d, r, 0, 512);
      if (r() % 2 === 0) d.fill(0, 0x4000, 0x4006); // no secondary to fall back to
    } else {
      mutate(d, r, 4096, 4096 + jsonLen + 4);
      d.copyWithin(0x4000 + 4096, 4096, 0x4000);
    }
    if (r() % 8 !== 0) { reseal(0); reseal(0x4000); }
    const read = (o: number, l: number) => (o >= d.length ? disk.subarray(Math.min(o, disk.length), Math.min(o + l, disk.length)) : d.subarray(o, Math.min(o + l, d.length)));
    let k = 'ok';
    try {
      const h = readLuks2Header(read);
      if (i % unlockEvery === 0) unlockLuks2(h, pass, (o, l) => disk.subarray(o, o + l));
    } catch (e) { if (!(e instanceof Luks2Error)) throw new Error(`seed ${seed} run ${i}: ${String(e)}`, { cause: e }); k = e.code; }
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  return outcomes;
}

export function fuzzInit(runs: number, seed: number): Record<string, number> {
  const good = new TextEncoder().encode(SAMPLE_INIT);
  const dec = new TextDecoder();
  const r = rng(seed);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    const b = good.slice();
    mutate(b, r, 0, b.length);
    let k = 'ok';
    try { parseInitScript(dec.decode(b)); } catch (e) { if (!(e instanceof InitScriptError)) throw new Error(`seed ${seed} run ${i}: ${String(e)}`, { cause: e }); k = e.code; }
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  return outcomes;
}
