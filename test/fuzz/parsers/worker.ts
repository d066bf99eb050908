// One target's fuzz loop, in a worker thread so that the test can stop a reader that never
// returns. Before each call the case's input is copied into shared memory, so whoever watches
// can report the input even when the worker has to be killed.
import { parentPort, workerData } from 'node:worker_threads';
import { CONTROLS, FINDINGS, TARGETS } from './targets.js';
import { caseSeed, type Counterexample, type Job, INPUT_MAX } from './protocol.js';
import { rng } from './mutate.js';

const job = workerData as Job;
const t = [...TARGETS, ...CONTROLS, ...FINDINGS].find((x) => x.name === job.target);
if (!t) throw new Error(`no fuzz target ${job.target}`);
const hdr = new Int32Array(job.sab, 0, 4);
const data = new Uint8Array(job.sab, 16, INPUT_MAX);
const record = (b: Uint8Array) => { data.set(b.subarray(0, INPUT_MAX)); Atomics.store(hdr, 1, b.length); };
const b64 = (b: Uint8Array) => Buffer.from(b.subarray(0, 4096)).toString('base64');

const make = await t.setup();
const outcomes: Record<string, number> = {};
const bad: Counterexample[] = [];
let runs = 0;
for (let i = 0; i < job.runs && bad.length < 5; i++) {
  const c = make(rng(caseSeed(job.seed, i)));
  let input = c.input;
  const rec = (b: Uint8Array) => { input = b; record(b); };
  rec(c.input);
  Atomics.store(hdr, 0, i);
  const t0 = performance.now();
  let outcome = 'ok';
  try {
    await c.exec(rec);
  } catch (e) {
    if (t.typed(e)) {
      const code = (e as { code?: unknown }).code;
      outcome = `${(e as Error).name}${typeof code === 'string' ? ` ${code}` : ''}`;
    } else {
      outcome = 'untyped';
      bad.push({ kind: 'untyped', run: i, seed: job.seed, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), input: b64(input), length: input.length });
    }
  }
  const ms = performance.now() - t0;
  if (ms > job.slowMs) bad.push({ kind: 'slow', run: i, seed: job.seed, error: `took ${ms.toFixed(0)} ms`, input: b64(input), length: input.length });
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  runs++;
}
t.teardown?.();
Atomics.store(hdr, 2, 1);
parentPort!.postMessage({ outcomes, bad, runs });
