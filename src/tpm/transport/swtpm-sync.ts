// swtpm as a synchronous device, for the synchronous machine model: a worker thread owns the
// sockets and the caller blocks on Atomics.wait until the answer is in a shared buffer. The
// worker only moves bytes (plain JavaScript, no imports of ours); framing rules are those of
// swtpm-protocol.ts, retries and the reset sequence are done here.

import { Worker } from 'node:worker_threads';
import { RETRY_CODES } from '../constants.js';
import { TpmTransportError } from '../errors.js';
import { rcOf, SHUTDOWN_CLEAR_CMD } from './swtpm.js';
import { CTRL, CTRL_ANSWER_SIZE, ctrlCommand, formatEndpoint, type SwtpmEndpoint } from './swtpm-protocol.js';
import type { TpmDevice } from './transport.js';

const BUF = 16384;
const MAX_RETRIES = 100;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { host, port, ctrlPort, sab, timeoutMs } = workerData;
const st = new Int32Array(sab, 0, 4);
const buf = new Uint8Array(sab, 16);
const socks = {};
function conn(which) {
  const cur = socks[which];
  if (cur && !cur.dead) return Promise.resolve(cur);
  const p = which === 'data' ? port : ctrlPort;
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: p });
    const c = { s, chunks: [], have: 0, waiter: null, dead: false, err: '' };
    s.once('connect', () => { s.setNoDelay(true); s.off('error', reject); socks[which] = c; resolve(c); });
    s.once('error', (e) => reject(new Error(which + ' port ' + host + ':' + p + ': ' + e.message)));
    s.on('data', (d) => { c.chunks.push(d); c.have += d.length; if (c.waiter) c.waiter(); });
    const end = (e) => { c.dead = true; c.err = e ? e.message : 'connection closed'; if (c.waiter) c.waiter(); };
    s.on('error', end);
    s.on('close', () => end());
  });
}
function take(c, n) {
  const all = Buffer.concat(c.chunks);
  c.chunks = [all.subarray(n)];
  c.have -= n;
  return all.subarray(0, n);
}
async function exchange(which, bytes, fixed) {
  const c = await conn(which);
  c.s.write(bytes);
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { c.waiter = null; reject(new Error(which + ' port: no answer in ' + timeoutMs + ' ms')); }, timeoutMs);
    c.waiter = () => {
      let n = fixed;
      if (!n && c.have >= 10) n = Buffer.concat(c.chunks).readUInt32BE(2);
      if (n && c.have >= n) { clearTimeout(timer); c.waiter = null; resolve(take(c, n)); return; }
      if (c.dead) { clearTimeout(timer); c.waiter = null; reject(new Error(which + ' port: ' + c.err)); }
    };
    c.waiter();
  });
}
parentPort.on('message', async (m) => {
  if (m.op === 'close') { for (const k of Object.keys(socks)) socks[k].s.destroy(); parentPort.close(); return; }
  try {
    const out = await exchange(m.op, Buffer.from(buf.subarray(0, m.len)), m.fixed || 0);
    if (out.length > buf.length) throw new Error('answer of ' + out.length + ' bytes');
    buf.set(out, 0); st[1] = out.length; st[2] = 0;
  } catch (e) {
    const msg = Buffer.from(String((e && e.message) || e)).subarray(0, 1000);
    buf.set(msg, 0); st[1] = msg.length; st[2] = 1;
  }
  Atomics.store(st, 0, 2);
  Atomics.notify(st, 0);
});
`;

export class SwtpmDevice implements TpmDevice {
  readonly kind = 'swtpm' as const;
  readonly description: string;
  readonly #worker: Worker;
  readonly #st: Int32Array;
  readonly #buf: Uint8Array;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(readonly endpoint: SwtpmEndpoint, opts: { timeoutMs?: number } = {}) {
    this.description = `swtpm ${formatEndpoint(endpoint)}`;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    const sab = new SharedArrayBuffer(16 + BUF);
    this.#st = new Int32Array(sab, 0, 4);
    this.#buf = new Uint8Array(sab, 16);
    this.#worker = new Worker(WORKER, { eval: true, workerData: { ...endpoint, sab, timeoutMs: this.#timeoutMs } });
    this.#worker.unref();
  }

  private call(op: 'data' | 'ctrl', bytes: Uint8Array, fixed = 0): Uint8Array {
    if (this.#closed) throw new TpmTransportError(`${this.description}: closed`);
    if (bytes.length > BUF) throw new TpmTransportError(`${this.description}: command of ${bytes.length} bytes`);
    this.#buf.set(bytes, 0);
    Atomics.store(this.#st, 0, 1);
    this.#worker.postMessage({ op, len: bytes.length, fixed });
    // The worker has its own deadline; this one only guards against a dead worker.
    if (Atomics.wait(this.#st, 0, 1, this.#timeoutMs + 5000) === 'timed-out') throw new TpmTransportError(`${this.description}: no answer`);
    const n = this.#st[1]!;
    if (this.#st[2]) throw new TpmTransportError(`${this.description}: ${Buffer.from(this.#buf.subarray(0, n)).toString()}`);
    return this.#buf.slice(0, n);
  }

  transmit(command: Uint8Array): Uint8Array {
    for (let i = 0; ; i++) {
      const rsp = this.call('data', command);
      if (rsp.length < 10) throw new TpmTransportError(`${this.description}: short response`);
      if (!RETRY_CODES.has(rcOf(rsp)) || i >= MAX_RETRIES) return rsp;
    }
  }

  control(cmd: number, payload?: Uint8Array): { result: number; payload: Uint8Array } {
    const n = CTRL_ANSWER_SIZE[cmd];
    if (n === undefined) throw new RangeError(`control command ${cmd} has no fixed answer size`);
    const a = this.call('ctrl', ctrlCommand(cmd, payload), n);
    return { result: new DataView(a.buffer, a.byteOffset).getUint32(0), payload: a.subarray(4) };
  }

  powerCycle(): void {
    this.transmit(SHUTDOWN_CLEAR_CMD);
    const r = this.control(CTRL.INIT, new Uint8Array(4));
    if (r.result !== 0) throw new TpmTransportError(`${this.description}: CMD_INIT answered ${r.result}`);
  }

  setLocality(locality: number): void {
    const r = this.control(CTRL.SET_LOCALITY, new Uint8Array([locality]));
    if (r.result !== 0) throw new TpmTransportError(`${this.description}: CMD_SET_LOCALITY answered ${r.result}`);
  }

  /** An orderly end: TPM2_Shutdown(CLEAR), then CMD_SHUTDOWN (swtpm saves its state and exits). */
  shutdown(): void {
    this.transmit(SHUTDOWN_CLEAR_CMD);
    const r = this.control(CTRL.SHUTDOWN);
    if (r.result !== 0) throw new TpmTransportError(`${this.description}: CMD_SHUTDOWN answered ${r.result}`);
    this.close();
  }

  saveState(): void { /* swtpm keeps its own state */ }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.postMessage({ op: 'close' });
    void this.#worker.terminate();
  }
}
