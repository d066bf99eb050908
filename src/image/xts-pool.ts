// aes-xts-plain64 on several cores: this thread and jobs-1 worker threads run the WebAssembly
// engine (xts.ts) over one shared WebAssembly memory that also holds the caller's buffers
// (alloc), so data is transformed where it was read and written from there, never copied to
// or between threads. A run is cut into 64 KiB pieces that the threads take from a shared
// counter as they come free, so a thread the scheduler (or the event loop's I/O) holds back
// leaves its share to the others. This thread takes pieces too: a worker is a whole JavaScript
// heap, and memory is part of the aim. `XtsPool.single` is the same with no workers: the
// engine in place on this thread. The workers' code is the engine's own source plus a message
// loop, run with `eval`, so it needs no TypeScript loader and is the same from the sources and
// from the build. Only bulk disk work uses it; it is checked against node's aes-256-xts like
// the other paths.

import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import * as nodeCrypto from 'node:crypto';
import { maskModuleBytes, wasmApi, type WasmMemoryLike } from './xts-mask-wasm.js';
import { IV_SECTOR, wasmEngineFits, xtsLayout, xtsWasmEngine, XtsPlain64, type XtsLayout, type XtsRegionRun } from './xts.js';

const PAGE = 65536;
const ALIGN = 4096;

// ctrl: a BigInt64 word, (run << 32) | next piece, taken with compare-and-swap so that a thread
// still holding an old run's message can never take a piece of a newer run; then an Int32
// count of the run's pieces finished. The thread that finishes the last piece of a run lets
// this thread know (a worker by a message), so no thread ever waits for another that has
// nothing left to do.
const workerSource = (): string => `
const { parentPort, workerData: d } = require('node:worker_threads');
const __name = (f) => f; // esbuild's keepNames helper, should the engine's source mention it
const engine = (${xtsWasmEngine.toString()})(require('node:crypto'), WebAssembly, new Uint8Array(d.wasm), d.memory, d.scratch, d.layout, new Uint8Array(d.key), d.unit, d.ivStep);
const next = new BigInt64Array(d.ctrl, 0, 1);
const done = new Int32Array(d.ctrl, 8, 1);
parentPort.on('message', (m) => {
  try {
    for (;;) {
      const v = Atomics.load(next, 0);
      if (Number(v >> 32n) !== m.run) return;
      const k = Number(v & 0xffffffffn);
      if (k >= m.pieces) return;
      if (Atomics.compareExchange(next, 0, v, v + 1n) !== v) continue;
      const off = k * m.piece;
      engine(m.decrypt, m.p + off, Math.min(m.piece, m.n - off), m.firstIv + (off / d.unit) * d.ivStep);
      if (Atomics.add(done, 0, 1) + 1 === m.pieces) parentPort.postMessage({ run: m.run });
    }
  } catch (e) {
    parentPort.postMessage({ run: m.run, error: String(e && e.message || e) });
  }
});
`;

export class XtsPool {
  private readonly workers: Worker[] = [];
  /** The run this thread waits for, if a worker is finishing its last pieces. */
  private waiting: { run: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly errors = new Map<number, Error>();
  private runs = 0;
  private failed: Error | undefined;
  private closing = false;
  private readonly memory: WasmMemoryLike;
  private readonly bytes: Uint8Array;
  private readonly ctrlBuffer = new SharedArrayBuffer(64);
  private readonly next = new BigInt64Array(this.ctrlBuffer, 0, 1);
  private readonly done = new Int32Array(this.ctrlBuffer, 8, 1);
  private readonly local: XtsRegionRun;
  private readonly piece: number;
  private readonly bufferStart: number;
  private readonly bufferEnd: number;
  private allocated: number;

  /**
   * Null when a pool would not help (one core) or cannot run (no WebAssembly SIMD, odd unit).
   * `bufferBytes`: how much alloc() can hand out in all.
   */
  static create(key: Uint8Array, unit = IV_SECTOR, ivStep = unit / IV_SECTOR, jobs = availableParallelism(), bufferBytes = 16 * 1024 * 1024): XtsPool | null {
    return jobs < 2 ? null : XtsPool.make(key, unit, ivStep, jobs, bufferBytes);
  }

  /** The same engine on this thread alone, in place in its own memory (null where the pool could not run). */
  static single(key: Uint8Array, unit = IV_SECTOR, ivStep = unit / IV_SECTOR, bufferBytes = 16 * 1024 * 1024): XtsPool | null {
    return XtsPool.make(key, unit, ivStep, 1, bufferBytes);
  }

  private static make(key: Uint8Array, unit: number, ivStep: number, jobs: number, bufferBytes: number): XtsPool | null {
    if (!wasmApi() || !wasmEngineFits(unit)) return null;
    new XtsPlain64(key, unit, ivStep); // checks the key the way the single-thread path does
    return new XtsPool(key, unit, ivStep, jobs, bufferBytes);
  }

  private constructor(key: Uint8Array, readonly unit: number, readonly ivStep: number, readonly jobs: number, bufferBytes: number) {
    const wasm = wasmApi()!;
    const layout: XtsLayout = xtsLayout(unit);
    const scratchEach = Math.ceil(layout.scratchBytes / 64) * 64;
    this.piece = layout.batch;
    this.bufferStart = Math.ceil((jobs * scratchEach) / ALIGN) * ALIGN;
    this.allocated = this.bufferStart;
    this.bufferEnd = this.bufferStart + bufferBytes;
    const pages = Math.ceil((this.bufferStart + bufferBytes) / PAGE);
    this.memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
    this.bytes = new Uint8Array(this.memory.buffer);
    const wasmBytes = maskModuleBytes(pages);
    this.local = xtsWasmEngine(nodeCrypto, wasm, wasmBytes, this.memory, 0, layout, key, unit, ivStep);
    const src = workerSource();
    for (let i = 1; i < jobs; i++) {
      const w = new Worker(src, { eval: true, workerData: { wasm: wasmBytes, memory: this.memory, ctrl: this.ctrlBuffer, scratch: i * scratchEach, layout, key: new Uint8Array(key), unit, ivStep } });
      w.on('message', (m: { run: number; error?: string }) => {
        const e = m.error === undefined ? undefined : new Error(`aes-xts-plain64 worker: ${m.error}`);
        if (e) { this.failed ??= e; if (!this.errors.has(m.run)) this.errors.set(m.run, e); }
        const waiter = this.waiting;
        if (!waiter || waiter.run !== m.run) return;
        this.waiting = undefined;
        if (e) waiter.reject(e); else waiter.resolve();
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => { if (code !== 0 && !this.closing) this.fail(new Error(`aes-xts-plain64 worker exited with ${code}`)); });
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    const waiter = this.waiting;
    this.waiting = undefined;
    waiter?.reject(e);
  }

  /** n bytes of the pool's shared memory, which run() transforms in place (never freed before close). */
  alloc(n: number): Uint8Array {
    const at = this.allocated;
    if (at + n > this.bufferEnd) throw new RangeError(`XtsPool: ${n} more bytes do not fit its ${this.bufferEnd - this.bufferStart}-byte buffer space`);
    this.allocated = Math.ceil((at + n) / ALIGN) * ALIGN;
    return this.bytes.subarray(at, at + n);
  }

  /** Encrypt (or decrypt) `data`, a view of memory from alloc(), in place. One run at a time. */
  async run(decrypt: boolean, data: Uint8Array, firstIv: number): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.waiting) throw new Error('XtsPool: one run at a time');
    if (data.buffer !== this.memory.buffer) throw new TypeError('XtsPool works in place on its own memory (use alloc)');
    if (data.length % this.unit !== 0) throw new RangeError(`${data.length} bytes is not a whole number of ${this.unit}-byte sectors`);
    const n = data.length;
    const pieces = Math.ceil(n / this.piece);
    const run = this.runs = (this.runs + 1) & 0x7fffffff;
    this.errors.clear();
    Atomics.store(this.done, 0, 0);
    Atomics.store(this.next, 0, BigInt(run) << 32n);
    const job = { run, decrypt, p: data.byteOffset, n, piece: this.piece, pieces, firstIv };
    for (const w of this.workers) w.postMessage(job);
    let error: unknown;
    for (;;) {
      const k = Number(Atomics.add(this.next, 0, 1n) & 0xffffffffn);
      if (k >= pieces) break;
      const off = k * this.piece;
      try {
        this.local(decrypt, job.p + off, Math.min(this.piece, n - off), firstIv + (off / this.unit) * this.ivStep);
      } catch (e) {
        // Take every piece nobody has taken yet and count them, with this one, as finished,
        // so that the wait below ends when the workers' pieces are done.
        const v = Atomics.exchange(this.next, 0, (BigInt(run) << 32n) | BigInt(pieces));
        Atomics.add(this.done, 0, 1 + Math.max(0, pieces - Number(v & 0xffffffffn)));
        error = e;
        break;
      }
      Atomics.add(this.done, 0, 1);
    }
    // Never hand the buffer back while a worker still works on it.
    if (Atomics.load(this.done, 0) < pieces || this.errors.size) await this.finished(run);
    if (error !== undefined) throw error;
  }

  private finished(run: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const e = this.errors.get(run);
    if (e) return Promise.reject(e);
    return new Promise<void>((resolve, reject) => { this.waiting = { run, resolve, reject }; });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
