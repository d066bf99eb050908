// Wrapping one master key for many recipients on every core. Each worker thread takes a
// batch of RSAPublicKey DERs (transferred, not copied) and RSA-OAEP-encrypts
// the master key under each with node:crypto, and hands the ciphertexts back in one buffer.
// The worker body is plain JavaScript run with `eval`, so it needs no TypeScript loader and
// behaves the same from the sources and from the build.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { EsmKeyError } from './errors.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { publicEncrypt, constants } = require('node:crypto');
const symkey = Buffer.from(workerData.symkey);
parentPort.on('message', (m) => {
  const ders = Buffer.from(m.ders);
  const out = [];
  let at = 0;
  for (let i = 0; i < m.lens.length; i++) {
    const der = ders.subarray(at, at + m.lens[i]);
    at += m.lens[i];
    try {
      out.push(publicEncrypt({ key: der, format: 'der', type: 'pkcs1', padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, symkey));
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: { index: i, message: String(e && e.message || e) } });
      return;
    }
  }
  const buf = Buffer.concat(out);
  const lens = new Uint32Array(out.map((b) => b.length));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  parentPort.postMessage({ id: m.id, out: ab, lens }, [ab, lens.buffer]);
});
`;

export interface WrapOptions {
  /** Worker threads; every core by default. */
  jobs?: number;
  /** Keys per message to a worker. */
  batch?: number;
  /** Called with the number of keys just finished. */
  onProgress?: (n: number) => void;
  /** Names the key at index i in errors (its file, usually). */
  subject?: (i: number) => string;
}

interface Job { id: number; start: number; count: number }
type Reply = { id: number; out: ArrayBuffer; lens: Uint32Array } | { id: number; error: { index: number; message: string } };

/**
 * Encrypt `symkey` under each RSAPublicKey DER that `keys` yields (pulled lazily, so the
 * keys can be produced as the workers go), returning the ciphertexts in the same order.
 */
export async function wrapForAll(symkey: Uint8Array, keys: Iterable<Uint8Array>, opts: WrapOptions = {}): Promise<Uint8Array[]> {
  const jobs = Math.max(1, opts.jobs ?? availableParallelism());
  const batch = Math.max(1, opts.batch ?? 256);
  const it = keys[Symbol.iterator]();
  const results: Uint8Array[] = [];
  let nextIndex = 0;
  let exhausted = false;
  let jobId = 0;
  const pending = new Map<number, Job>();
  const workers = Array.from({ length: jobs }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { symkey: Uint8Array.from(symkey) } }));

  const take = (): { job: Job; ders: ArrayBuffer; lens: Uint32Array } | undefined => {
    if (exhausted) return undefined;
    const chunk: Uint8Array[] = [];
    while (chunk.length < batch) {
      const r = it.next();
      if (r.done) { exhausted = true; break; }
      chunk.push(r.value);
    }
    if (chunk.length === 0) return undefined;
    const total = chunk.reduce((n, c) => n + c.length, 0);
    const ders = new Uint8Array(new ArrayBuffer(total));
    const lens = new Uint32Array(new ArrayBuffer(chunk.length * 4));
    let o = 0;
    chunk.forEach((c, i) => { ders.set(c, o); o += c.length; lens[i] = c.length; });
    const job: Job = { id: jobId++, start: nextIndex, count: chunk.length };
    nextIndex += chunk.length;
    return { job, ders: ders.buffer as ArrayBuffer, lens };
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const feed = (w: Worker) => {
        let t: ReturnType<typeof take>;
        try { t = take(); } catch (e) { if (!failed) { failed = true; reject(e); } return; }
        if (!t) { if (pending.size === 0) resolve(); return; }
        pending.set(t.job.id, t.job);
        w.postMessage({ id: t.job.id, ders: t.ders, lens: t.lens }, [t.ders, t.lens.buffer as ArrayBuffer]);
      };
      for (const w of workers) {
        w.on('message', (m: Reply) => {
          if (failed) return;
          const job = pending.get(m.id)!;
          pending.delete(m.id);
          if ('error' in m) {
            failed = true;
            const i = job.start + m.error.index;
            reject(new EsmKeyError(opts.subject ? opts.subject(i) : `key ${i}`, `cannot encrypt to this key (${m.error.message})`));
            return;
          }
          const out = new Uint8Array(m.out);
          let o = 0;
          for (let k = 0; k < m.lens.length; k++) { results[job.start + k] = out.subarray(o, o + m.lens[k]!); o += m.lens[k]!; }
          opts.onProgress?.(job.count);
          feed(w);
        });
        w.on('error', (e) => { if (!failed) { failed = true; reject(e); } });
      }
      // Two batches in flight per worker keep it busy while the next reply travels.
      for (const w of workers) { feed(w); feed(w); }
      if (pending.size === 0) resolve();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
