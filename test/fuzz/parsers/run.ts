// Running one fuzz target in a worker under a watchdog: a case that makes no progress for
// `hangMs` gets the worker terminated and is reported as hung, with its input.
import { Worker } from 'node:worker_threads';
import { INPUT_MAX, type Counterexample, type FuzzOutcome, type Job } from './protocol.js';

const WORKER = new URL('./worker.ts', import.meta.url).href;
/** Workers load TypeScript through the same loader the test runner uses. */
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER)}); })`;

export interface FuzzOptions { seed: number; runs: number; slowMs?: number; hangMs?: number; setupMs?: number }

export function fuzzTarget(target: string, o: FuzzOptions): Promise<FuzzOutcome> {
  const sab = new SharedArrayBuffer(16 + INPUT_MAX);
  const hdr = new Int32Array(sab, 0, 4);
  hdr[0] = -1;
  const job: Job = { target, seed: o.seed, runs: o.runs, sab, slowMs: o.slowMs ?? 10_000 }; // generous: a loaded 2-core CI machine stalls single calls for seconds; the hang watchdog is the real guard
  const w = new Worker(BOOT, { eval: true, workerData: job });
  return new Promise((resolve, reject) => {
    let last = -1;
    let since = Date.now();
    const timer = setInterval(() => {
      const run = Atomics.load(hdr, 0);
      if (run !== last) { last = run; since = Date.now(); return; }
      if (Atomics.load(hdr, 2) === 1) return;
      const limit = run < 0 ? o.setupMs ?? 120_000 : o.hangMs ?? 10_000;
      if (Date.now() - since < limit) return;
      clearInterval(timer);
      const len = Atomics.load(hdr, 1);
      const input = new Uint8Array(sab, 16, Math.min(len, 4096)).slice();
      const hung: Counterexample = { kind: 'hung', run, seed: o.seed, error: `no return after ${limit} ms`, input: Buffer.from(input).toString('base64'), length: len };
      void w.terminate().then(() => resolve({ outcomes: {}, bad: [hung], runs: run }));
    }, 200);
    w.on('message', (m: FuzzOutcome) => { clearInterval(timer); void w.terminate(); resolve(m); });
    w.on('error', (e) => { clearInterval(timer); reject(e); });
  });
}

/** Counterexamples as lines a person can act on. */
export function describe(target: string, bad: Counterexample[]): string {
  return bad.map((b) => `${target}: ${b.kind} at run ${b.run} (seed ${b.seed}): ${b.error}; input ${b.length} bytes, base64 (first 4 KiB): ${b.input.slice(0, 400)}${b.input.length > 400 ? '...' : ''}`).join('\n');
}
