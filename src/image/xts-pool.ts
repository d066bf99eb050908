// aes-xts-plain64 on every core: this thread and jobs-1 worker threads run the WebAssembly
// engine (xts.ts) over parts of a buffer that lives in shared memory, in place. (This thread
// takes a part itself: a worker is a whole JavaScript heap, and memory is part of the aim.) The workers' code is the engine's own
// source plus a message loop, run with `eval`, so it needs no TypeScript loader and is the
// same from the sources and from the build. Only bulk disk work uses it; it is checked
// against node's aes-256-xts like the single-thread path.

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { maskModuleBytes, wasmApi } from './xts-mask-wasm.js';
import { IV_SECTOR, wasmEngineFits, xtsWasmEngine, XtsPlain64 } from './xts.js';

const workerSource = (): string => `
const { parentPort, workerData } = require('node:worker_threads');
const __name = (f) => f; // esbuild's keepNames helper, should the engine's source mention it
const engine = (${xtsWasmEngine.toString()})(require('node:crypto'), WebAssembly, new Uint8Array(workerData.wasm), new Uint8Array(workerData.key), workerData.unit, workerData.ivStep);
parentPort.on('message', (m) => {
  try {
    const view = new Uint8Array(m.buffer, m.offset, m.length);
    engine(m.decrypt, view, m.firstIv, view);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

/** A Uint8Array over shared memory, which workers can read and write in place. */
export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

export class XtsPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;

  /** Null when a pool would not help (one core) or cannot run (no WebAssembly SIMD, odd unit). */
  static create(key: Uint8Array, unit = IV_SECTOR, ivStep = unit / IV_SECTOR, jobs = availableParallelism()): XtsPool | null {
    if (jobs < 2 || !wasmApi() || !wasmEngineFits(unit)) return null;
    new XtsPlain64(key, unit, ivStep); // checks the key the way the single-thread path does
    return new XtsPool(key, unit, ivStep, jobs);
  }

  private readonly local: XtsPlain64;

  private constructor(key: Uint8Array, readonly unit: number, readonly ivStep: number, readonly jobs: number) {
    this.local = new XtsPlain64(key, unit, ivStep);
    const src = workerSource();
    const wasm = maskModuleBytes();
    for (let i = 0; i < jobs - 1; i++) {
      const w = new Worker(src, { eval: true, workerData: { wasm, key: new Uint8Array(key), unit, ivStep } });
      w.on('message', (m: { id: number; error?: string }) => {
        const p = this.waiting.get(m.id);
        if (!p) return;
        this.waiting.delete(m.id);
        if (m.error) p.reject(new Error(`aes-xts-plain64 worker: ${m.error}`)); else p.resolve();
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => { if (code !== 0 && !this.closing) this.fail(new Error(`aes-xts-plain64 worker exited with ${code}`)); });
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  /** Encrypt (or decrypt) `data`, which must be a view of a SharedArrayBuffer, in place. */
  async run(decrypt: boolean, data: Uint8Array, firstIv: number): Promise<void> {
    if (this.failed) throw this.failed;
    if (!(data.buffer instanceof SharedArrayBuffer)) throw new TypeError('XtsPool works in place on shared memory (use sharedBytes)');
    if (data.length % this.unit !== 0) throw new RangeError(`${data.length} bytes is not a whole number of ${this.unit}-byte sectors`);
    const units = data.length / this.unit;
    const per = Math.ceil(units / this.jobs);
    const parts: Promise<void>[] = [];
    // Part 0 is this thread's; parts 1.. go to the workers, posted first so they start at once.
    for (let w = 0, u = per; u < units; w++, u += per) {
      const n = Math.min(per, units - u);
      const id = this.nextId++;
      parts.push(new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve, reject })));
      this.workers[w]!.postMessage({ id, decrypt, buffer: data.buffer, offset: data.byteOffset + u * this.unit, length: n * this.unit, firstIv: firstIv + u * this.ivStep });
    }
    const mine = data.subarray(0, Math.min(per, units) * this.unit);
    if (decrypt) this.local.decrypt(mine, firstIv, mine); else this.local.encrypt(mine, firstIv, mine);
    await Promise.all(parts);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
