// The swtpm transports against a scripted fake swtpm (in a worker thread, so the synchronous
// client can block while it answers): one write per command, "try again" warnings retried,
// responses that arrive in pieces, the Shutdown-then-CMD_INIT reset, and failures that end in
// an error instead of a hang.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import net from 'node:net';
import { SwtpmAsync, SwtpmDevice, TpmTransportError, parseEndpoint } from '../../src/tpm/index.js';
import { InputError } from '../../src/util/errors.js';

const FAKE = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const log = [];
let script = { retries: 0, split: false, hangup: false };
function answer(rc, body) {
  const b = Buffer.alloc(10 + body.length);
  b.writeUInt16BE(0x8001, 0); b.writeUInt32BE(b.length, 2); b.writeUInt32BE(rc, 6); body.copy(b, 10);
  return b;
}
const data = net.createServer((s) => {
  s.on('data', (d) => {
    log.push({ port: 'data', hex: d.toString('hex') });
    if (script.hangup) { s.destroy(); return; }
    if (script.retries > 0) { script.retries--; s.write(answer(0x922, Buffer.alloc(0))); return; }
    const r = answer(0, Buffer.from('000401020304', 'hex'));
    if (script.split) { s.write(r.subarray(0, 7)); setTimeout(() => s.write(r.subarray(7)), 20); } else s.write(r);
  });
});
const ctrl = net.createServer((s) => {
  s.on('data', (d) => { log.push({ port: 'ctrl', hex: d.toString('hex') }); s.write(Buffer.alloc(4)); });
});
let ready = 0;
const up = () => { if (++ready === 2) parentPort.postMessage({ ports: [data.address().port, ctrl.address().port] }); };
data.listen(0, '127.0.0.1', up);
ctrl.listen(0, '127.0.0.1', up);
parentPort.on('message', (m) => {
  if (m.script) { script = m.script; log.length = 0; parentPort.postMessage({ ok: true }); }
  if (m.log) parentPort.postMessage({ log });
  if (m.stop) { data.close(); ctrl.close(); parentPort.close(); }
});
`;

let worker: Worker;
let ports: [number, number];
const ask = (m: object) => new Promise<Record<string, unknown>>((r) => { worker.once('message', r); worker.postMessage(m); });
const GETRANDOM = new Uint8Array([0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 4]);

before(async () => {
  worker = new Worker(FAKE, { eval: true });
  ports = ((await new Promise((r) => worker.once('message', r))) as { ports: [number, number] }).ports;
});
after(async () => { worker.postMessage({ stop: true }); await worker.terminate(); });

const endpoint = () => ({ host: '127.0.0.1', port: ports[0], ctrlPort: ports[1] });

test('sync device: one write per command, 0x922 retried, a response in two pieces reassembled', async () => {
  await ask({ script: { retries: 2, split: true } });
  const d = new SwtpmDevice(endpoint());
  try {
    const r = d.transmit(GETRANDOM);
    assert.equal(Buffer.from(r).toString('hex'), '80010000001000000000000401020304');
  } finally { d.close(); }
  const { log } = (await ask({ log: true })) as { log: { port: string; hex: string }[] };
  assert.deepEqual(log.map((l) => l.hex), Array(3).fill(Buffer.from(GETRANDOM).toString('hex')));
});

test('sync device: powerCycle sends TPM2_Shutdown(CLEAR) on the data port, then CMD_INIT on the control port', async () => {
  await ask({ script: { retries: 0 } });
  const d = new SwtpmDevice(endpoint());
  try { d.powerCycle(); } finally { d.close(); }
  const { log } = (await ask({ log: true })) as { log: { port: string; hex: string }[] };
  assert.deepEqual(log, [
    { port: 'data', hex: '80010000000c000001450000' },
    { port: 'ctrl', hex: '0000000200000000' },
  ]);
});

test('shutdown: TPM2_Shutdown(CLEAR), then CMD_SHUTDOWN on the control port', async () => {
  await ask({ script: { retries: 0 } });
  const d = new SwtpmDevice(endpoint());
  d.shutdown();
  const { log } = (await ask({ log: true })) as { log: { port: string; hex: string }[] };
  assert.deepEqual(log, [{ port: 'data', hex: '80010000000c000001450000' }, { port: 'ctrl', hex: '00000003' }]);
});

test('async transport: retries and reassembly too', async () => {
  await ask({ script: { retries: 1, split: true } });
  const t = new SwtpmAsync(endpoint());
  try {
    const r = await t.transmitAsync(GETRANDOM);
    assert.equal(r.length, 16);
    await t.powerCycle();
  } finally { t.close(); }
  const { log } = (await ask({ log: true })) as { log: { port: string; hex: string }[] };
  assert.equal(log.filter((l) => l.port === 'data').length, 3);
  assert.equal(log.at(-1)!.hex, '0000000200000000');
});

test('a TPM that hangs up or is not there gives TpmTransportError, not a hang', async () => {
  await ask({ script: { hangup: true } });
  const d = new SwtpmDevice(endpoint(), { timeoutMs: 5000 });
  try { assert.throws(() => d.transmit(GETRANDOM), TpmTransportError); } finally { d.close(); }
  const closed = await new Promise<number>((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
  const e = new SwtpmDevice({ host: '127.0.0.1', port: closed, ctrlPort: closed });
  try { assert.throws(() => e.transmit(GETRANDOM), (x) => x instanceof TpmTransportError && /ECONNREFUSED/.test(x.message)); } finally { e.close(); }
  const a = new SwtpmAsync({ host: '127.0.0.1', port: closed, ctrlPort: closed });
  await assert.rejects(a.transmitAsync(GETRANDOM), TpmTransportError);
  a.close();
});

test('endpoints parse as HOST:PORT[:CTRLPORT]', () => {
  assert.deepEqual(parseEndpoint('127.0.0.1:2321:2322'), { host: '127.0.0.1', port: 2321, ctrlPort: 2322 });
  assert.deepEqual(parseEndpoint('localhost:2321'), { host: 'localhost', port: 2321, ctrlPort: 2322 });
  for (const bad of ['127.0.0.1', ':1', 'h:0', 'h:70000', 'h:1:2:3']) assert.throws(() => parseEndpoint(bad), InputError, bad);
});
